/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <time.h>

#include "reap.h"

/* The last HISTORY_MAX actions, oldest dropped first: bounded whatever the
 * host does. */
#define HISTORY_MAX 1024u

struct history_entry {
        time_t time;
        struct reap_record record; /* owns its strings */
};

struct history {
        struct history_entry entries[HISTORY_MAX];
        size_t start, n;
};

/* Copies REC in; returns -ENOMEM and keeps the history as it was on failure. */
int history_add(struct history *h, time_t when, const struct reap_record *rec);
/* The I-th newest entry (0: newest), or NULL. */
const struct history_entry *history_get(const struct history *h, size_t i);
void history_clear(struct history *h);
