/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "audit.h"

struct audit *audit_free(struct audit *a) {
        if (!a)
                return NULL;
        free(a->usage);
        free(a);
        return NULL;
}

static int cmp_usage(const void *a, const void *b) {
        const struct audit_usage *x = a, *y = b;
        if (x->uid != y->uid)
                return x->uid < y->uid ? -1 : 1;
        return (x->type > y->type) - (x->type < y->type);
}

/* Reads the N-th whitespace-separated number of a /proc/sys file. */
static int read_sys_number(const char *proc_root, const char *rel, unsigned nth, uint64_t *ret) {
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        unsigned long long v = 0;

        if (asprintf(&path, "%s/%s", proc_root, rel) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        for (unsigned i = 0; i <= nth; i++)
                if (fscanf(f, "%llu", &v) != 1)
                        return -EBADMSG;
        *ret = v;
        return 0;
}

static const struct {
        const char *name, *rel;
        unsigned nth;
} limit_sources[_LIMIT_MAX] = {
        [LIMIT_SHMMNI] = { "shmmni", "sys/kernel/shmmni", 0 },
        [LIMIT_SHMALL] = { "shmall", "sys/kernel/shmall", 0 },
        [LIMIT_MSGMNI] = { "msgmni", "sys/kernel/msgmni", 0 },
        /* kernel.sem is "semmsl semmns semopm semmni" */
        [LIMIT_SEMMNI] = { "semmni", "sys/kernel/sem", 3 },
        [LIMIT_SEMMNS] = { "semmns", "sys/kernel/sem", 1 },
        [LIMIT_MQ_QUEUES_MAX] = { "queues_max", "sys/fs/mqueue/queues_max", 0 },
};

void audit_read_limits(const char *proc_root, uint64_t max[static _LIMIT_MAX], int err[static _LIMIT_MAX]) {
        for (int l = 0; l < _LIMIT_MAX; l++) {
                max[l] = 0;
                err[l] = read_sys_number(proc_root, limit_sources[l].rel, limit_sources[l].nth, &max[l]);
        }
}

int audit_build(const struct inventory *inv, const char *proc_root, struct audit **ret) {
        _cleanup_(audit_freep) struct audit *a = calloc(1, sizeof(*a));
        uint64_t page = (uint64_t) sysconf(_SC_PAGESIZE);
        size_t n_alloc = 0;

        if (!a)
                return -ENOMEM;

        for (size_t i = 0; i < inv->n_objects; i++) {
                const struct ipc_object *o = &inv->objects[i];
                struct audit_usage *u = NULL;

                /* Few users own IPC; a linear search per object is cheaper
                 * than a table until there are hundreds of them. */
                for (size_t j = 0; j < a->n_usage; j++)
                        if (a->usage[j].uid == o->uid && a->usage[j].type == o->type) {
                                u = &a->usage[j];
                                break;
                        }
                if (!u) {
                        if (a->n_usage == n_alloc) {
                                size_t n = n_alloc ? n_alloc * 2 : 16;
                                struct audit_usage *p = reallocarray(a->usage, n, sizeof(*p));
                                if (!p)
                                        return -ENOMEM;
                                a->usage = p;
                                n_alloc = n;
                        }
                        u = &a->usage[a->n_usage++];
                        *u = (struct audit_usage) { .uid = o->uid, .type = o->type };
                }
                u->count++;
                u->bytes += o->size;
                u->units += o->type == IPC_TYPE_SEM ? o->nsems : 1;

                switch (o->type) {
                case IPC_TYPE_SHM:
                        a->limits[LIMIT_SHMMNI].used++;
                        a->limits[LIMIT_SHMALL].used += (o->size + page - 1) / page;
                        break;
                case IPC_TYPE_MSG:
                        a->limits[LIMIT_MSGMNI].used++;
                        break;
                case IPC_TYPE_SEM:
                        a->limits[LIMIT_SEMMNI].used++;
                        a->limits[LIMIT_SEMMNS].used += o->nsems;
                        break;
                case IPC_TYPE_MQ:
                        a->limits[LIMIT_MQ_QUEUES_MAX].used++;
                        break;
                default:
                        break;
                }
        }
        if (a->n_usage > 1)
                qsort(a->usage, a->n_usage, sizeof(*a->usage), cmp_usage);

        uint64_t max[_LIMIT_MAX];
        int err[_LIMIT_MAX];
        if (!inv->limits_read)
                audit_read_limits(proc_root, max, err);
        for (int l = 0; l < _LIMIT_MAX; l++) {
                a->limits[l].name = limit_sources[l].name;
                a->limits[l].source = limit_sources[l].rel;
                a->limits[l].max = inv->limits_read ? inv->limits[l] : max[l];
                a->limits[l].error = inv->limits_read ? inv->limit_errors[l] : err[l];
        }

        *ret = TAKE_PTR(a);
        return 0;
}
