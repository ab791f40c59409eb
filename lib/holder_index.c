/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "holder_index.h"
#include "macro.h"

struct slot {
        dev_t dev;
        ino_t ino;
        bool used;
        pid_t *pids;
        size_t n_pids, n_alloc;
};

/* Open addressing, linear probing, kept at most half full.  Sized once from
 * the number of wanted keys, so lookups during the /proc scan never resize. */
struct holder_index {
        struct slot *slots;
        size_t mask;
        size_t n_used;
        size_t n_recorded; /* pids recorded, over all keys */
};

/* Holders per key are capped: evidence of life needs one live holder, and a
 * report needs a handful; a million pids on one object must not cost a
 * million entries. */
#define MAX_PIDS_PER_KEY 4096u

static uint64_t hash_key(dev_t dev, ino_t ino) {
        uint64_t h = (uint64_t) ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t) dev * 0xc2b2ae3d27d4eb4fULL;
        return h ^ (h >> 29);
}

int holder_index_new(size_t expected, struct holder_index **ret) {
        struct holder_index *idx;
        size_t n = 16;

        while (n < expected * 2) {
                if (n > SIZE_MAX / 4)
                        return -E2BIG;
                n *= 2;
        }

        idx = calloc(1, sizeof(*idx));
        if (!idx)
                return -ENOMEM;
        idx->slots = calloc(n, sizeof(*idx->slots));
        if (!idx->slots) {
                free(idx);
                return -ENOMEM;
        }
        idx->mask = n - 1;
        *ret = idx;
        return 0;
}

struct holder_index *holder_index_free(struct holder_index *idx) {
        if (!idx)
                return NULL;
        for (size_t i = 0; i <= idx->mask; i++)
                free(idx->slots[i].pids);
        free(idx->slots);
        free(idx);
        return NULL;
}

static struct slot *find(const struct holder_index *idx, dev_t dev, ino_t ino) {
        for (size_t i = hash_key(dev, ino) & idx->mask;; i = (i + 1) & idx->mask) {
                struct slot *s = &idx->slots[i];
                if (!s->used || (s->dev == dev && s->ino == ino))
                        return s;
        }
}

static int grow(struct holder_index *idx) {
        size_t n = (idx->mask + 1) * 2;
        struct slot *old = idx->slots;
        size_t old_n = idx->mask + 1;

        idx->slots = calloc(n, sizeof(*idx->slots));
        if (!idx->slots) {
                idx->slots = old;
                return -ENOMEM;
        }
        idx->mask = n - 1;
        for (size_t i = 0; i < old_n; i++)
                if (old[i].used)
                        *find(idx, old[i].dev, old[i].ino) = old[i];
        free(old);
        return 0;
}

int holder_index_want(struct holder_index *idx, dev_t dev, ino_t ino) {
        if ((idx->n_used + 1) * 2 > idx->mask + 1) {
                int r = grow(idx);
                if (r < 0)
                        return r;
        }
        struct slot *s = find(idx, dev, ino);
        if (!s->used) {
                *s = (struct slot) { .dev = dev, .ino = ino, .used = true };
                idx->n_used++;
        }
        return 0;
}

bool holder_index_wants(const struct holder_index *idx, dev_t dev, ino_t ino) {
        return find(idx, dev, ino)->used;
}

size_t holder_index_size(const struct holder_index *idx) {
        return idx->n_used;
}

int holder_index_add(struct holder_index *idx, dev_t dev, ino_t ino, pid_t pid) {
        struct slot *s = find(idx, dev, ino);

        if (!s->used)
                return 0;
        /* A process is scanned start to end before the next one, so a repeat
         * (several fds or mappings of one object) is always the last entry. */
        if (s->n_pids > 0 && s->pids[s->n_pids - 1] == pid)
                return 0;
        if (s->n_pids >= MAX_PIDS_PER_KEY)
                return 0;
        if (s->n_pids == s->n_alloc) {
                size_t n = s->n_alloc ? s->n_alloc * 2 : 4;
                pid_t *p = reallocarray(s->pids, n, sizeof(pid_t));
                if (!p)
                        return -ENOMEM;
                s->pids = p;
                s->n_alloc = n;
        }
        s->pids[s->n_pids++] = pid;
        idx->n_recorded++;
        return 0;
}

size_t holder_index_recorded(const struct holder_index *idx) {
        return idx->n_recorded;
}

const pid_t *holder_index_get(const struct holder_index *idx, dev_t dev, ino_t ino, size_t *ret_n) {
        const struct slot *s = find(idx, dev, ino);
        *ret_n = s->used ? s->n_pids : 0;
        return s->used ? s->pids : NULL;
}

bool holder_index_wants_ino(const struct holder_index *idx, ino_t ino) {
        for (size_t i = 0; i <= idx->mask; i++)
                if (idx->slots[i].used && idx->slots[i].ino == ino && idx->slots[i].dev != HOLDER_DEV_SYSV_SHM)
                        return true;
        return false;
}
