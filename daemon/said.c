/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "said.h"

static int cmp_entry(const void *a, const void *b) {
        const struct said_entry *x = a, *y = b;
        return x->key < y->key ? -1 : x->key > y->key;
}

static struct said_entry *find(const struct said *s, uint64_t key) {
        struct said_entry k = { .key = key };
        return s->n_sorted ? bsearch(&k, s->entries, s->n_sorted, sizeof(k), cmp_entry) : NULL;
}

void said_forget_changed(struct said *s, const struct inventory *inv, const struct judgement *judgements) {
        size_t kept = 0;

        said_seal(s);
        if (s->n == 0)
                return;
        /* Marked first (verdict _VERDICT_MAX: seen as said), then swept
         * together, so the entries stay sorted. */
        for (size_t i = 0; inv && i < inv->n_objects; i++) {
                struct said_entry *e = find(s, memory_key(&inv->objects[i]));
                if (e && e->verdict == judgements[i].verdict)
                        e->verdict |= 0x80;
        }
        for (size_t i = 0; i < s->n; i++)
                if (s->entries[i].verdict & 0x80) {
                        s->entries[kept] = s->entries[i];
                        s->entries[kept++].verdict &= 0x7f;
                }
        s->n = s->n_sorted = kept;
        if (kept < SAID_MAX)
                s->full = false;
}

bool said_first(struct said *s, uint64_t key, enum verdict verdict) {
        struct said_entry *e = find(s, key);

        if (e) {
                if (e->verdict == verdict)
                        return false;
                e->verdict = (uint8_t) verdict;
                return true;
        }
        if (s->n >= SAID_MAX) {
                s->full = true;
                return true;
        }
        if (s->n == s->n_allocated) {
                size_t n = s->n_allocated ? s->n_allocated * 2 : 64;
                struct said_entry *p = realloc(s->entries, n * sizeof(*p));
                if (!p)
                        return true; /* said again next time: no worse than before */
                s->entries = p;
                s->n_allocated = n;
        }
        s->entries[s->n++] = (struct said_entry) { .key = key, .verdict = (uint8_t) verdict };
        return true;
}

void said_seal(struct said *s) {
        if (s->n_sorted == s->n)
                return;
        qsort(s->entries, s->n, sizeof(*s->entries), cmp_entry);
        s->n_sorted = s->n;
}

void said_clear(struct said *s) {
        free(s->entries);
        *s = (struct said) {};
}
