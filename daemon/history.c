/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

static void record_free(struct reap_record *r) {
        free(r->id);
        free(r->reason);
        free(r->rule);
        free(r->archive);
        *r = (struct reap_record) {};
}

static char *dup_or_null(const char *s, int *failed) {
        char *d;
        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                *failed = 1;
        return d;
}

int history_add(struct history *h, time_t when, const struct reap_record *rec) {
        int failed = 0;
        struct reap_record copy = *rec;

        copy.id = dup_or_null(rec->id, &failed);
        copy.reason = dup_or_null(rec->reason, &failed);
        copy.rule = dup_or_null(rec->rule, &failed);
        copy.archive = dup_or_null(rec->archive, &failed);
        if (failed) {
                record_free(&copy);
                return -ENOMEM;
        }

        size_t slot;
        if (h->n == HISTORY_MAX) {
                slot = h->start;
                record_free(&h->entries[slot].record);
                h->start = (h->start + 1) % HISTORY_MAX;
        } else
                slot = (h->start + h->n++) % HISTORY_MAX;
        h->entries[slot] = (struct history_entry) { .time = when, .record = copy };
        return 0;
}

const struct history_entry *history_get(const struct history *h, size_t i) {
        if (i >= h->n)
                return NULL;
        return &h->entries[(h->start + h->n - 1 - i) % HISTORY_MAX];
}

void history_clear(struct history *h) {
        for (size_t i = 0; i < h->n; i++)
                record_free(&h->entries[(h->start + i) % HISTORY_MAX].record);
        h->start = h->n = 0;
}
