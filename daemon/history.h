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

/*
 * Kept across restarts in DIR/history (StateDir=): a line "ipcgc-history 1",
 * then one JSON object per entry, oldest first, as GetHistory gives it
 * (report_record() and "time"), then "end N", N the number of entries.
 * Mode 0600: it names other users' objects, which GetHistory shows only to
 * admins and their owners.
 */
#define HISTORY_FILE_NAME "history"
#define HISTORY_MAX_LINE (64u << 10)
#define HISTORY_MAX_FILE_BYTES ((size_t) HISTORY_MAX * HISTORY_MAX_LINE)

/* Writes H to DIR/history atomically: a temporary file in DIR, fsync,
 * rename, fsync of DIR.  0 or a negative errno. */
int history_save(const struct history *h, const char *dir);
/* Reads DIR/history into H (emptied first).  A missing file is an empty
 * history.  An unreadable, oversized or corrupt one is an empty history
 * too, renamed DIR/history.bad, and one sentence in *RET_WARNING
 * (malloc'd).  Only -ENOMEM is an error. */
int history_load(struct history *h, const char *dir, char **ret_warning);
