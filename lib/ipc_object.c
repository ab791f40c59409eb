/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ipc_object.h"

static const char *const type_names[_IPC_TYPE_MAX] = {
        [IPC_TYPE_SHM] = "shm",   [IPC_TYPE_MSG] = "msg",   [IPC_TYPE_SEM] = "sem",   [IPC_TYPE_MQ] = "mq",
        [IPC_TYPE_PSHM] = "pshm", [IPC_TYPE_PSEM] = "psem", [IPC_TYPE_FIFO] = "fifo",
};

const char *ipc_type_to_string(enum ipc_type t) {
        if ((unsigned) t >= _IPC_TYPE_MAX)
                return NULL;
        return type_names[t];
}

int ipc_type_from_string(const char *s) {
        for (unsigned t = 0; t < _IPC_TYPE_MAX; t++)
                if (strcmp(s, type_names[t]) == 0)
                        return (int) t;
        return -EINVAL;
}

int ipc_type_mask_parse(const char *list, unsigned *ret_mask) {
        unsigned mask = 0;
        const char *p = list;

        for (;;) {
                char word[16];
                size_t n;

                p += strspn(p, " \t,");
                if (!*p)
                        break;
                n = strcspn(p, " \t,");
                if (n >= sizeof(word))
                        return -EINVAL;
                memcpy(word, p, n);
                word[n] = 0;
                p += n;

                if (strcmp(word, "all") == 0) {
                        mask |= IPC_TYPE_MASK_ALL;
                        continue;
                }
                int t = ipc_type_from_string(word);
                if (t < 0)
                        return t;
                mask |= IPC_TYPE_BIT(t);
        }

        if (mask == 0)
                return -EINVAL;
        *ret_mask = mask;
        return 0;
}

/* How many bytes at S make one character that may go out as it is:
 * printable, and valid UTF-8 (no overlong form, no surrogate, nothing past
 * U+10FFFF).  0 when the byte at S must be escaped.  Never reads past the
 * NUL that ends S: a NUL is no continuation byte. */
static size_t plain_char(const unsigned char *s) {
        unsigned char c = s[0], lo = 0x80, hi = 0xbf;
        size_t n;

        if (c >= 0x20 && c < 0x7f)
                return 1;
        if (c < 0xc2 || c > 0xf4)
                return 0; /* C0, DEL, a continuation byte, an overlong lead, past U+10FFFF */
        n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (c == 0xc2)
                lo = 0xa0; /* U+0080-U+009F, the C1 controls */
        else if (c == 0xe0)
                lo = 0xa0;
        else if (c == 0xed)
                hi = 0x9f; /* surrogates */
        else if (c == 0xf0)
                lo = 0x90;
        else if (c == 0xf4)
                hi = 0x8f;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        return n;
}

size_t ipc_escape(char *buf, size_t size, const char *s, unsigned flags) {
        static const char hex[] = "0123456789abcdef";
        const unsigned char *p = (const unsigned char *) s;
        size_t len = 0, written = 0; /* WRITTEN: what fits in BUF, whole escapes only */

        while (*p) {
                char piece[4];
                const char *from = piece;
                size_t k = plain_char(p), m;

                if (k == 1 && *p == '\\' && !(flags & IPC_ESCAPE_TEXT)) {
                        piece[0] = piece[1] = '\\';
                        m = 2;
                } else if (k == 0) {
                        piece[0] = '\\';
                        piece[1] = 'x';
                        piece[2] = hex[*p >> 4];
                        piece[3] = hex[*p & 15];
                        m = 4;
                        k = 1;
                } else {
                        from = (const char *) p;
                        m = k;
                }
                if (written == len && len + m < size) {
                        memcpy(buf + len, from, m);
                        written += m;
                }
                len += m;
                p += k;
        }
        if (size > 0)
                buf[written] = 0;
        return len;
}

char *ipc_escape_alloc(const char *s, unsigned flags) {
        size_t n = ipc_escape(NULL, 0, s, flags);
        char *b = malloc(n + 1);
        if (b)
                (void) ipc_escape(b, n + 1, s, flags);
        return b;
}

static int unhex(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int ipc_name_unescape(const char *s, char **ret) {
        char *b = malloc(strlen(s) + 1), *w = b;

        if (!b)
                return -ENOMEM;
        while (*s) {
                if (*s != '\\') {
                        *w++ = *s++;
                        continue;
                }
                if (s[1] == '\\') {
                        *w++ = '\\';
                        s += 2;
                        continue;
                }
                int h = s[1] == 'x' ? unhex(s[2]) : -1, l = h >= 0 ? unhex(s[3]) : -1;
                if (l < 0 || (h == 0 && l == 0)) {
                        free(b);
                        return -EINVAL;
                }
                *w++ = (char) (h << 4 | l);
                s += 4;
        }
        *w = 0;
        *ret = b;
        return 0;
}

char *ipc_object_id(const struct ipc_object *o) {
        char *s;
        int r;

        if (ipc_type_is_sysv(o->type))
                r = asprintf(&s, "%s:%d", ipc_type_to_string(o->type), o->id);
        else {
                _cleanup_free_ char *name = ipc_escape_alloc(strempty(o->name), IPC_ESCAPE_NAME);
                if (!name)
                        return NULL;
                r = asprintf(&s, "%s:%s", ipc_type_to_string(o->type), name);
        }
        return r < 0 ? NULL : s;
}

void ipc_object_done(struct ipc_object *o) {
        free(o->name);
        if (!(o->flags & IPC_OBJECT_SEMS_LENT))
                free(o->sems);
        free(o->holders);
}

const char *ipc_object_changed(const struct ipc_object *a, const struct ipc_object *b) {
        bool sysv = ipc_type_is_sysv(a->type);

        if (a->type != b->type || a->id != b->id || a->key != b->key || a->cuid != b->cuid || a->cgid != b->cgid ||
            a->dev != b->dev || a->ino != b->ino || (a->type == IPC_TYPE_SHM && a->size != b->size) ||
            a->nsems != b->nsems)
                return sysv ? "a different object now has this id" : "replaced by another file since judged";
        if ((a->name || b->name) && (!a->name || !b->name || strcmp(a->name, b->name) != 0))
                return "renamed since judged";
        if (a->uid != b->uid || a->gid != b->gid || a->mode != b->mode)
                return sysv ? "changed (ctime, owner or mode)" : "owner or mode changed since judged";
        if (a->type != IPC_TYPE_MQ && a->ctime != b->ctime)
                return sysv ? "changed (ctime, owner or mode)" : "modified since judged";
        switch (a->type) {
        case IPC_TYPE_SHM:
                if (a->nattch != b->nattch || a->atime != b->atime || a->dtime != b->dtime || a->lpid != b->lpid ||
                    a->cpid != b->cpid)
                        return "attached or detached since judged";
                break;
        case IPC_TYPE_MSG:
                if (a->lpid != b->lpid || a->lrpid != b->lrpid || a->mtime != b->mtime || a->atime != b->atime ||
                    a->size != b->size || a->qnum != b->qnum)
                        return "messages sent or received since judged";
                break;
        case IPC_TYPE_SEM:
                if (a->mtime != b->mtime)
                        return "operated on since judged";
                if (!a->sems != !b->sems || (a->nsems && !a->sems))
                        return "semaphore state could not be compared";
                if (a->nsems && memcmp(a->sems, b->sems, a->nsems * sizeof(*a->sems)) != 0)
                        return "operated on or waited on since judged";
                break;
        case IPC_TYPE_MQ:
                if (a->atime != b->atime)
                        return "received from since judged";
                if (a->mtime != b->mtime || a->size != b->size)
                        return "modified since judged";
                if (a->notify_pid != b->notify_pid)
                        return "a process registered for its notification since judged";
                break;
        default:
                if (a->mtime != b->mtime || a->size != b->size)
                        return "modified since judged";
                if (a->atime != b->atime)
                        return "read since judged";
                break;
        }
        /* What could not be read the first time and can now, or the other
         * way round: not the same evidence. */
        if ((a->flags ^ b->flags) & ~IPC_OBJECT_SEMS_LENT)
                return "readable then, not now (or the other way round)";
        return NULL;
}

void ipc_object_set_stat(struct ipc_object *o, const struct stat *st) {
        o->uid = o->cuid = st->st_uid;
        o->gid = o->cgid = st->st_gid;
        o->mode = st->st_mode & 07777;
        o->size = (uint64_t) st->st_size;
        o->dev = st->st_dev;
        o->ino = st->st_ino;
        o->atime = st->st_atim.tv_sec;
        o->mtime = st->st_mtim.tv_sec;
        o->ctime = st->st_ctim.tv_sec;
}

int inventory_new(struct inventory **ret) {
        struct inventory *inv = calloc(1, sizeof(*inv));
        if (!inv)
                return -ENOMEM;
        *ret = inv;
        return 0;
}

struct inventory *inventory_free(struct inventory *inv) {
        if (!inv)
                return NULL;
        for (size_t i = 0; i < inv->n_objects; i++)
                ipc_object_done(&inv->objects[i]);
        free(inv->objects);
        for (size_t i = 0; i < inv->n_warnings; i++)
                free(inv->warnings[i]);
        free(inv->warnings);
        for (size_t i = 0; i < inv->n_dirs; i++)
                free(inv->dirs[i].path);
        free(inv->dirs);
        free(inv->uid_counts);
        free(inv->container);
        free(inv);
        return NULL;
}

void inventory_trim(struct inventory *inv) {
        if (inv->n_allocated > inv->n_objects && inv->n_objects > 0) {
                struct ipc_object *a = reallocarray(inv->objects, inv->n_objects, sizeof(*a));
                if (a) {
                        inv->objects = a;
                        inv->n_allocated = inv->n_objects;
                }
        }
}

static int add_dir(struct inventory *inv, const char *path, int dfd) {
        struct stat st;

        if (fstat(dfd, &st) < 0)
                return negative_errno();
        /* Bounded by the walk: FifoMaxDepth levels below each root. */
        struct inventory_dir *a = reallocarray(inv->dirs, inv->n_dirs + 1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        inv->dirs = a;
        char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        inv->dirs[inv->n_dirs++] = (struct inventory_dir) { .path = p, .dev = st.st_dev, .ino = st.st_ino };
        return 0;
}

int inventory_open_dir(struct inventory *inv, const char *path, int dfd, DIR **ret) {
        int r = add_dir(inv, path, dfd);
        if (r < 0) {
                (void) close(dfd);
                return r;
        }
        DIR *d = fdopendir(dfd);
        if (!d) {
                r = negative_errno();
                (void) close(dfd);
                return r;
        }
        *ret = d;
        return 0;
}

int inventory_reserve(struct inventory *inv, size_t more) {
        if (more > INVENTORY_MAX_OBJECTS - inv->n_objects)
                more = INVENTORY_MAX_OBJECTS - inv->n_objects;
        size_t want = inv->n_objects + more;
        if (want <= inv->n_allocated)
                return 0;
        struct ipc_object *a = reallocarray(inv->objects, want, sizeof(*a));
        if (!a)
                return -ENOMEM;
        inv->objects = a;
        inv->n_allocated = want;
        return 0;
}

void inventory_left_out(struct inventory *inv, enum ipc_type type) {
        inv->truncated |= IPC_TYPE_BIT(type);
        inv->n_left_out[type]++;
}

struct ipc_object *inventory_append(struct inventory *inv, enum ipc_type type) {
        size_t max = inv->max_objects && inv->max_objects < INVENTORY_MAX_OBJECTS ? inv->max_objects
                                                                                  : INVENTORY_MAX_OBJECTS;
        if (inv->n_objects >= max) {
                inventory_left_out(inv, type);
                inv->n_over_max++;
                errno = E2BIG;
                return NULL;
        }
        if (inv->n_objects == inv->n_allocated) {
                size_t n = inv->n_allocated ? inv->n_allocated * 2 : 64;
                struct ipc_object *a = reallocarray(inv->objects, n, sizeof(*a));
                if (!a)
                        return NULL;
                inv->objects = a;
                inv->n_allocated = n;
        }

        struct ipc_object *o = &inv->objects[inv->n_objects++];
        *o = (struct ipc_object) {
                .type = type,
                .id = -1,
                .cpid = PID_NONE,
                .lpid = PID_NONE,
                .lrpid = PID_NONE,
        };
        return o;
}

static struct inventory_uid_count *uid_slot(struct inventory_uid_count *t, size_t n_slots, uid_t uid) {
        size_t i = ((size_t) uid * 0x9e3779b97f4a7c15ull) & (n_slots - 1);
        while (t[i].n && t[i].uid != uid)
                i = (i + 1) & (n_slots - 1);
        return &t[i];
}

int inventory_admit(struct inventory *inv) {
        if (!inv->max_per_user || inv->n_objects == 0)
                return 1;
        const struct ipc_object *o = &inv->objects[inv->n_objects - 1];

        /* At most half full: grow before the uid might need a new slot. */
        if ((inv->n_uids + 1) * 2 > inv->n_uid_slots) {
                size_t n = inv->n_uid_slots ? inv->n_uid_slots * 2 : 64;
                struct inventory_uid_count *t = calloc(n, sizeof(*t));
                if (!t)
                        return -ENOMEM;
                for (size_t i = 0; i < inv->n_uid_slots; i++)
                        if (inv->uid_counts[i].n)
                                *uid_slot(t, n, inv->uid_counts[i].uid) = inv->uid_counts[i];
                free(inv->uid_counts);
                inv->uid_counts = t;
                inv->n_uid_slots = n;
        }
        struct inventory_uid_count *c = uid_slot(inv->uid_counts, inv->n_uid_slots, o->uid);
        if (c->n == 0) {
                c->uid = o->uid;
                inv->n_uids++;
        }
        if (c->n < inv->max_per_user) {
                c->n++;
                return 1;
        }
        enum ipc_type type = o->type;
        uid_t uid = o->uid;
        inventory_drop_last(inv);
        inventory_left_out(inv, type);
        if (c->n == inv->max_per_user) {
                c->n++; /* said once per uid */
                int r = inventory_warn(inv, "uid %u owns more than MaxObjectsPerUser=%zu file objects: the rest of "
                                            "theirs are left out, neither judged nor removed",
                                       (unsigned) uid, inv->max_per_user);
                if (r < 0)
                        return r;
        }
        return 0;
}

int inventory_dir_count(struct inventory *inv, size_t dir_index, size_t *count, enum ipc_type type) {
        if (!inv->max_per_dir || *count < inv->max_per_dir) {
                (*count)++;
                return 1;
        }
        struct inventory_dir *d = &inv->dirs[dir_index];
        inventory_left_out(inv, type);
        d->n_left_out++;
        if (d->truncated)
                return 0;
        d->truncated = true;
        int r = inventory_warn(inv, "%s holds more than MaxObjectsPerDir=%zu objects: the rest are left out, "
                                    "neither judged nor removed",
                               d->path, inv->max_per_dir);
        return r < 0 ? r : 0;
}

void inventory_drop_last(struct inventory *inv) {
        if (inv->n_objects == 0)
                return;
        ipc_object_done(&inv->objects[--inv->n_objects]);
}

int inventory_warn(struct inventory *inv, const char *fmt, ...) {
        va_list ap;
        char *s, *raw;
        int r;

        /* A garbage file could produce a warning per line; keep a bounded few
         * and count the rest. */
        if (inv->n_warnings >= INVENTORY_MAX_WARNINGS) {
                inv->n_warnings_dropped++;
                return 0;
        }

        va_start(ap, fmt);
        r = vasprintf(&raw, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        /* Warnings name paths, and a path may hold a newline or a byte that
         * is no UTF-8: they are said in a log line, on a terminal, in JSON. */
        s = ipc_escape_alloc(raw, IPC_ESCAPE_TEXT);
        free(raw);
        if (!s)
                return -ENOMEM;

        char **a = reallocarray(inv->warnings, inv->n_warnings + 1, sizeof(char *));
        if (!a) {
                free(s);
                return -ENOMEM;
        }
        inv->warnings = a;
        inv->warnings[inv->n_warnings++] = s;
        return 0;
}

struct index_entry {
        enum ipc_type type;
        uint64_t a, b;
        const struct ipc_object *o;
};

struct inventory_index {
        struct index_entry *entries;
        size_t n;
        bool sem_counts;
};

static void index_key(const struct ipc_object *o, struct index_entry *e) {
        e->type = o->type;
        if (ipc_type_is_sysv(o->type)) {
                e->a = (uint64_t) (uint32_t) o->id;
                e->b = 0;
        } else {
                e->a = (uint64_t) o->dev;
                e->b = (uint64_t) o->ino;
        }
}

static int cmp_entry(const void *x, const void *y) {
        const struct index_entry *p = x, *q = y;
        if (p->type != q->type)
                return p->type < q->type ? -1 : 1;
        if (p->a != q->a)
                return p->a < q->a ? -1 : 1;
        return (p->b > q->b) - (p->b < q->b);
}

int inventory_index_new(const struct inventory *inv, struct inventory_index **ret) {
        struct inventory_index *x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        x->entries = calloc(inv->n_objects ? inv->n_objects : 1, sizeof(*x->entries));
        if (!x->entries) {
                free(x);
                return -ENOMEM;
        }
        for (size_t i = 0; i < inv->n_objects; i++) {
                index_key(&inv->objects[i], &x->entries[i]);
                x->entries[i].o = &inv->objects[i];
        }
        x->n = inv->n_objects;
        qsort(x->entries, x->n, sizeof(*x->entries), cmp_entry);
        *ret = x;
        return 0;
}

struct inventory_index *inventory_index_free(struct inventory_index *x) {
        if (x) {
                free(x->entries);
                free(x);
        }
        return NULL;
}

const struct ipc_object *inventory_index_find(const struct inventory_index *x, const struct ipc_object *like) {
        struct index_entry key;
        const struct index_entry *e;

        if (!x)
                return NULL;
        index_key(like, &key);
        e = bsearch(&key, x->entries, x->n, sizeof(key), cmp_entry);
        return e ? e->o : NULL;
}

void inventory_index_lend_sem_counts(struct inventory_index *x, bool yes) {
        x->sem_counts = yes;
}

bool inventory_index_lends_sem_counts(const struct inventory_index *x) {
        return x && x->sem_counts;
}
