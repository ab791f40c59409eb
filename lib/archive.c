/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "io.h"
#include "macro.h"


static inline void json_object_putp(json_object **p) {
        json_object_put(*p);
}

int archive_open_dir(const char *path, unsigned flags, int *ret_fd) {
        struct stat st;
        int fd;

        if ((flags & ARCHIVE_CREATE) && mkdir(path, 0700) < 0 && errno == ENOENT) {
                /* Its parents too, as StateDir= is made when missing
                 * (0755: the archive itself is what is closed). */
                _cleanup_free_ char *p = strdup(path);
                if (!p)
                        return -ENOMEM;
                for (char *slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                        *slash = 0;
                        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                                return negative_errno();
                        *slash = '/';
                }
                if (mkdir(path, 0700) < 0 && errno != EEXIST)
                        return negative_errno();
        }
        /* Any other failure of mkdir (EEXIST, EACCES on a parent we may
         * not write) is for open to tell. */
        fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOTDIR ? -ELOOP : negative_errno(); /* O_NOFOLLOW on a symlink */
        if (fstat(fd, &st) < 0) {
                int r = negative_errno();
                (void) close(fd);
                return r;
        }
        /* Another user's directory, or one others may enter, could be
         * read or swapped under us: the archive holds everyone's data. */
        if (st.st_uid != geteuid() || (st.st_mode & 077)) {
                (void) close(fd);
                return -EPERM;
        }
        *ret_fd = fd;
        return 0;
}

/* json-c's adders fail only on allocation; collect that into one result. */
static int put(json_object *obj, const char *key, json_object *val) {
        return json_object_object_add(obj, key, val) < 0 ? -ENOMEM : 0;
}

static json_object *pid_or_null(pid_t pid) {
        return pid == PID_NONE ? NULL : json_object_new_int(pid);
}

int archive_manifest_write(struct archive_entry *e, const struct ipc_object *o, const struct archive_removal *why,
                           const struct archive_contents *c) {
        _cleanup_(json_object_putp) json_object *m = json_object_new_object();
        json_object *rm = json_object_new_object(), *ct = json_object_new_object();
        char mode[16];
        int r = 0;

        if (!m || !rm || !ct) {
                json_object_put(rm);
                json_object_put(ct);
                return -ENOMEM;
        }
        snprintf(mode, sizeof(mode), "%o", (unsigned) o->mode);
        r |= put(m, "format", json_object_new_string(ARCHIVE_FORMAT));
        r |= put(m, "type", json_object_new_string(ipc_type_to_string(o->type)));
        r |= put(m, "id", json_object_new_int(o->id));
        r |= put(m, "key", json_object_new_int(o->key));
        r |= put(m, "name", o->name ? json_object_new_string(o->name) : NULL);
        r |= put(m, "uid", json_object_new_int64(o->uid));
        r |= put(m, "gid", json_object_new_int64(o->gid));
        r |= put(m, "cuid", json_object_new_int64(o->cuid));
        r |= put(m, "cgid", json_object_new_int64(o->cgid));
        r |= put(m, "mode", json_object_new_string(mode));
        r |= put(m, "size", json_object_new_uint64(o->size));
        r |= put(m, "nattch", json_object_new_uint64(o->nattch));
        r |= put(m, "qnum", json_object_new_uint64(o->qnum));
        r |= put(m, "nsems", json_object_new_int64(o->nsems));
        r |= put(m, "cpid", pid_or_null(o->cpid));
        r |= put(m, "lpid", pid_or_null(o->lpid));
        r |= put(m, "lrpid", pid_or_null(o->lrpid));
        r |= put(m, "ctime", json_object_new_int64(o->ctime));
        r |= put(m, "atime", json_object_new_int64(o->atime));
        r |= put(m, "mtime", json_object_new_int64(o->mtime));
        r |= put(m, "dtime", json_object_new_int64(o->dtime));
        r |= put(m, "dev", json_object_new_uint64(o->dev));
        r |= put(m, "ino", json_object_new_uint64(o->ino));
        r |= put(m, "removed", rm);
        r |= put(rm, "time", json_object_new_int64(why->time));
        r |= put(rm, "verdict", json_object_new_string(why->verdict));
        r |= put(rm, "reason", json_object_new_string(strempty(why->reason)));
        r |= put(rm, "rule", why->rule ? json_object_new_string(why->rule) : NULL);
        r |= put(rm, "by_uid", json_object_new_int64(why->by_uid));
        r |= put(rm, "by_pid", json_object_new_int(why->by_pid));
        r |= put(m, "contents", ct);
        r |= put(ct, "bytes", json_object_new_uint64(c->bytes));
        r |= put(ct, "messages", json_object_new_uint64(c->messages));
        r |= put(ct, "values", json_object_new_int64(c->values));
        r |= put(ct, "mq_maxmsg", json_object_new_int64(c->mq_maxmsg));
        r |= put(ct, "mq_msgsize", json_object_new_int64(c->mq_msgsize));
        r |= put(ct, "hugetlb", json_object_new_boolean(c->hugetlb));
        r |= put(ct, "locked", json_object_new_boolean(c->locked));
        r |= put(ct, "sparse", json_object_new_boolean(c->sparse));
        if (r < 0)
                return -ENOMEM;

        const char *text = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        return archive_entry_write_manifest_text(e, text, strlen(text));
}

bool archive_name_ok(const char *name) {
        return name && name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) < ARCHIVE_NAME_MAX;
}

void archive_removal_done(struct archive_removal *why) {
        free(why->reason);
        free(why->rule);
        why->reason = why->rule = NULL;
}

/* Field readers for a manifest: each one's type and range checked. */
static int get_i64(json_object *o, const char *key, int64_t min, int64_t max, int64_t *ret) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return -EBADMSG;
        errno = 0;
        int64_t x = json_object_get_int64(v);
        if (errno || x < min || x > max)
                return -EBADMSG;
        *ret = x;
        return 0;
}

static int get_u64(json_object *o, const char *key, uint64_t *ret) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return -EBADMSG;
        if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) <= INT64_MAX)
                return -EBADMSG;
        *ret = json_object_get_uint64(v);
        return 0;
}

static int get_pid(json_object *o, const char *key, pid_t *ret) {
        json_object *v;
        int64_t x;
        if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_null)) {
                *ret = PID_NONE;
                return 0;
        }
        int r = get_i64(o, key, 0, INT32_MAX, &x);
        if (r == 0)
                *ret = (pid_t) x;
        return r;
}

static int get_bool(json_object *o, const char *key, bool *ret) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_boolean))
                return -EBADMSG;
        *ret = json_object_get_boolean(v);
        return 0;
}

/* A string of at most MAX bytes, or (NULLABLE) null: *RET malloc'd or NULL. */
static int get_str(json_object *o, const char *key, bool nullable, size_t max, char **ret) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v))
                return -EBADMSG;
        if (json_object_is_type(v, json_type_null) && nullable) {
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string) || (size_t) json_object_get_string_len(v) > max)
                return -EBADMSG;
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

/* The manifest's text of the entry F, whole, into BUF (ARCHIVE_MANIFEST_MAX
 * bytes). */
static int read_manifest_text(const struct archive_found *f, char *buf, size_t *ret_len) {
        size_t got = 0;

        if (f->manifest_length == 0 || f->manifest_length >= ARCHIVE_MANIFEST_MAX)
                return -EBADMSG;
        while (got < f->manifest_length) {
                ssize_t n = pread(f->fd, buf + got, f->manifest_length - got, f->manifest_offset + (off_t) got);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -EBADMSG; /* the pack is shorter than its index says */
                got += (size_t) n;
        }
        if (memchr(buf, 0, got))
                return -EBADMSG;
        *ret_len = got;
        return 0;
}

static int parse_manifest(json_object *m, struct ipc_object *o, struct archive_removal *why,
                          struct archive_contents *c) {
        json_object *rm, *ct, *v;
        int64_t x;
        uint64_t u;
        char *s = NULL;
        int r;

        if (!json_object_object_get_ex(m, "format", &v) || !json_object_is_type(v, json_type_string) ||
            strcmp(json_object_get_string(v), ARCHIVE_FORMAT) != 0)
                return -EBADMSG;
        if (!json_object_object_get_ex(m, "type", &v) || !json_object_is_type(v, json_type_string))
                return -EBADMSG;
        int t = ipc_type_from_string(json_object_get_string(v));
        if (t < 0)
                return -EBADMSG;
        *o = (struct ipc_object) { .type = (enum ipc_type) t };
#define I64(key, min, max, dst)                                   \
        do {                                                      \
                if ((r = get_i64(m, key, min, max, &x)) < 0)      \
                        return r;                                 \
                dst = x;                                          \
        } while (0)
        I64("id", ipc_type_is_sysv(o->type) ? 0 : -1, INT32_MAX, o->id);
        I64("key", INT32_MIN, INT32_MAX, o->key);
        I64("uid", 0, UINT32_MAX - 1, o->uid);
        I64("gid", 0, UINT32_MAX - 1, o->gid);
        I64("cuid", 0, UINT32_MAX - 1, o->cuid);
        I64("cgid", 0, UINT32_MAX - 1, o->cgid);
        I64("nsems", 0, 65536, o->nsems);
        I64("ctime", INT64_MIN, INT64_MAX, o->ctime);
        I64("atime", INT64_MIN, INT64_MAX, o->atime);
        I64("mtime", INT64_MIN, INT64_MAX, o->mtime);
        I64("dtime", INT64_MIN, INT64_MAX, o->dtime);
#undef I64
        if ((r = get_u64(m, "size", &o->size)) < 0 || (r = get_u64(m, "nattch", &o->nattch)) < 0 ||
            (r = get_u64(m, "qnum", &o->qnum)) < 0 || (r = get_u64(m, "dev", &u)) < 0)
                return r;
        o->dev = (dev_t) u;
        if ((r = get_u64(m, "ino", &u)) < 0)
                return r;
        o->ino = (ino_t) u;
        if ((r = get_pid(m, "cpid", &o->cpid)) < 0 || (r = get_pid(m, "lpid", &o->lpid)) < 0 ||
            (r = get_pid(m, "lrpid", &o->lrpid)) < 0)
                return r;
        if ((r = get_str(m, "mode", false, 8, &s)) < 0)
                return r;
        char *end;
        unsigned long mode = strtoul(s, &end, 8);
        bool bad_mode = !*s || *end || mode > 077777;
        free(s);
        if (bad_mode)
                return -EBADMSG;
        o->mode = (mode_t) mode;
        /* a name only for named objects, and one that makes sense as one */
        if ((r = get_str(m, "name", ipc_type_is_sysv(o->type), 4096, &o->name)) < 0)
                return r;
        if (ipc_type_is_sysv(o->type) ? o->name != NULL : !o->name || o->name[0] != '/')
                return -EBADMSG;

        if (!json_object_object_get_ex(m, "removed", &rm) || !json_object_is_type(rm, json_type_object))
                return -EBADMSG;
        if ((r = get_i64(rm, "time", INT64_MIN, INT64_MAX, &x)) < 0)
                return r;
        why->time = x;
        if ((r = get_str(rm, "verdict", false, sizeof(why->verdict) - 1, &s)) < 0)
                return r;
        strcpy(why->verdict, s);
        free(s);
        if ((r = get_str(rm, "reason", false, 2048, &why->reason)) < 0 ||
            (r = get_str(rm, "rule", true, 256, &why->rule)) < 0)
                return r;
        if ((r = get_i64(rm, "by_uid", 0, UINT32_MAX - 1, &x)) < 0)
                return r;
        why->by_uid = (uid_t) x;
        if ((r = get_i64(rm, "by_pid", 0, INT32_MAX, &x)) < 0)
                return r;
        why->by_pid = (pid_t) x;

        if (!json_object_object_get_ex(m, "contents", &ct) || !json_object_is_type(ct, json_type_object))
                return -EBADMSG;
        *c = (struct archive_contents) {};
        if ((r = get_u64(ct, "bytes", &c->bytes)) < 0 || (r = get_u64(ct, "messages", &c->messages)) < 0)
                return r;
        if ((r = get_i64(ct, "values", 0, 65536, &x)) < 0)
                return r;
        c->values = (unsigned) x;
        if ((r = get_i64(ct, "mq_maxmsg", 0, 1 << 20, &x)) < 0)
                return r;
        c->mq_maxmsg = (long) x;
        if ((r = get_i64(ct, "mq_msgsize", 0, 1 << 24, &x)) < 0)
                return r;
        c->mq_msgsize = (long) x;
        if ((r = get_bool(ct, "hugetlb", &c->hugetlb)) < 0 || (r = get_bool(ct, "locked", &c->locked)) < 0 ||
            (r = get_bool(ct, "sparse", &c->sparse)) < 0)
                return r;
        return 0;
}

int archive_manifest_read(const struct archive_found *f, struct ipc_object *ret_o, struct archive_removal *ret_why,
                          struct archive_contents *ret_c) {
        _cleanup_free_ char *buf = malloc(ARCHIVE_MANIFEST_MAX);
        size_t len = 0;
        int r;

        if (!buf)
                return -ENOMEM;
        r = read_manifest_text(f, buf, &len);
        if (r < 0)
                return r;
        buf[len] = 0;

        struct json_tokener *tok = json_tokener_new_ex(16);
        if (!tok)
                return -ENOMEM;
        json_object *m = json_tokener_parse_ex(tok, buf, (int) len);
        bool whole = json_tokener_get_error(tok) == json_tokener_success;
        json_tokener_free(tok);
        if (!m || !whole || !json_object_is_type(m, json_type_object)) {
                json_object_put(m);
                return -EBADMSG;
        }
        struct ipc_object o = {};
        struct archive_removal why = {};
        r = parse_manifest(m, &o, &why, ret_c);
        json_object_put(m);
        if (r < 0) {
                ipc_object_done(&o);
                archive_removal_done(&why);
                return r;
        }
        *ret_o = o;
        *ret_why = why;
        return 0;
}

struct archive_listing *archive_listing_free(struct archive_listing *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_items; i++) {
                ipc_object_done(&l->items[i].object);
                archive_removal_done(&l->items[i].why);
        }
        free(l->items);
        free(l);
        return NULL;
}

static int cmp_newest_first(const void *a, const void *b) {
        const struct archive_item *x = a, *y = b;
        if (x->why.time != y->why.time)
                return x->why.time > y->why.time ? -1 : 1;
        return -strcmp(x->name, y->name);
}

/* The archive ARCHIVE_FD's names, from the first, on a fd of their own. */
int archive_names_open(int archive_fd, DIR **ret) {
        int dup_fd = fcntl(archive_fd, F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0)
                return negative_errno();
        DIR *d = fdopendir(dup_fd);
        if (!d) {
                int r = negative_errno();
                (void) close(dup_fd);
                return r;
        }
        rewinddir(d);
        *ret = d;
        return 0;
}

/* Adds the entries of the pack NAME to L: a pack or manifest that cannot be
 * read is counted bad, never removed. */
static int list_pack(int archive_fd, const char *name, struct archive_listing *l, size_t *cap) {
        _cleanup_free_ struct archive_found *fs = NULL;
        size_t n = 0;
        int r = archive_pack_entries(archive_fd, name, &fs, &n);

        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                l->n_bad++;
                return 0;
        }
        for (size_t i = 0; r == 0 && i < n; i++) {
                if (l->n_items == ARCHIVE_MAX_ENTRIES) {
                        r = -E2BIG;
                        break;
                }
                if (l->n_items == *cap) {
                        size_t nc = *cap ? *cap * 2 : 64;
                        struct archive_item *a = reallocarray(l->items, nc, sizeof(*a));
                        if (!a) {
                                r = -ENOMEM;
                                break;
                        }
                        l->items = a;
                        *cap = nc;
                }
                struct archive_item *it = &l->items[l->n_items];
                *it = (struct archive_item) {};
                int k = archive_manifest_read(&fs[i], &it->object, &it->why, &it->contents);
                if (k == -ENOMEM)
                        r = k;
                else if (k < 0)
                        l->n_bad++;
                else {
                        snprintf(it->name, sizeof(it->name), "%s", fs[i].name);
                        snprintf(it->pack, sizeof(it->pack), "%.*s", (int) sizeof(it->pack) - 1, name);
                        it->disk_bytes = fs[i].contents.length + fs[i].manifest_length;
                        l->n_items++;
                }
        }
        if (n > 0)
                (void) close(fs[0].fd);
        return r;
}

int archive_list(int archive_fd, struct archive_listing **ret) {
        _cleanup_free_ struct archive_listing *l = calloc(1, sizeof(*l));
        DIR *d;
        int r;
        size_t cap = 0;

        if (!l)
                return -ENOMEM;
        r = archive_names_open(archive_fd, &d);
        if (r < 0)
                return r;
        for (struct dirent *de; r == 0 && (de = readdir(d));)
                /* ".", "..", and packs not yet committed are skipped */
                if (archive_name_ok(de->d_name))
                        r = list_pack(archive_fd, de->d_name, l, &cap);
        (void) closedir(d);
        if (r < 0) {
                archive_listing_free(TAKE_PTR(l));
                return r;
        }
        if (l->n_items)
                qsort(l->items, l->n_items, sizeof(*l->items), cmp_newest_first);
        *ret = TAKE_PTR(l);
        return 0;
}

int archive_evict(int archive_fd, uint64_t max_bytes, time_t now, uint64_t keep_seconds, size_t *ret_evicted) {
        struct archive_space s;
        int r = archive_space_open(archive_fd, max_bytes, keep_seconds, &s);

        if (r < 0)
                return r;
        r = archive_space_reserve(archive_fd, &s, 0, now);
        *ret_evicted = s.evicted;
        archive_space_done(&s);
        return r;
}

static int cmp_space_newest_first(const void *a, const void *b) {
        const struct archive_space_item *x = a, *y = b;
        if (x->time != y->time)
                return x->time > y->time ? -1 : 1;
        return -strcmp(x->name, y->name); /* names sort as made, within a second too */
}

int archive_space_open(int archive_fd, uint64_t max_bytes, uint64_t keep_seconds, struct archive_space *ret) {
        struct archive_space s = { .max_bytes = max_bytes, .keep_seconds = keep_seconds };
        size_t cap = 0;
        DIR *d;
        int r;

        r = archive_names_open(archive_fd, &d);
        if (r < 0)
                return r;
        for (struct dirent *de; r == 0 && (de = readdir(d));) {
                struct stat st;
                size_t entries;
                /* Only packs, by their trailers (anything else is neither
                 * counted nor evicted), never followed. */
                if (!archive_name_ok(de->d_name))
                        continue;
                int k = archive_pack_count(archive_fd, de->d_name, &st, &entries);
                if (k == -ENOMEM) {
                        r = k;
                        break;
                }
                if (k < 0)
                        continue;
                if (s.count + entries > ARCHIVE_MAX_ENTRIES) {
                        r = -E2BIG;
                        break;
                }
                if (s.n_items == cap) {
                        size_t nc = cap ? cap * 2 : 64;
                        struct archive_space_item *a = reallocarray(s.items, nc, sizeof(*a));
                        if (!a) {
                                r = -ENOMEM;
                                break;
                        }
                        s.items = a;
                        cap = nc;
                }
                struct archive_space_item *it = &s.items[s.n_items++];
                snprintf(it->name, sizeof(it->name), "%.*s", (int) sizeof(it->name) - 1, de->d_name); /* fits: archive_name_ok */
                /* Written when the object was removed, and only root
                 * could have touched it since. */
                it->time = st.st_mtime;
                it->disk_bytes = (uint64_t) st.st_blocks * 512u;
                it->entries = entries;
                s.total += it->disk_bytes;
                s.count += entries;
        }
        (void) closedir(d);
        if (r < 0) {
                free(s.items);
                return r;
        }
        if (s.n_items)
                qsort(s.items, s.n_items, sizeof(*s.items), cmp_space_newest_first);
        s.next_oldest = s.n_items;
        *ret = s;
        return 0;
}

int archive_space_reserve(int archive_fd, struct archive_space *s, uint64_t need, time_t now) {
        if (need > s->max_bytes)
                return -EFBIG;
        while (s->total + need > s->max_bytes || s->count + 1 >= ARCHIVE_MAX_ENTRIES) {
                if (s->next_oldest == 0)
                        return -EDQUOT; /* what is left was made by this sweep */
                const struct archive_space_item *it = &s->items[s->next_oldest - 1];
                if (now - it->time < (time_t) s->keep_seconds)
                        return -EDQUOT; /* this one and all newer stay */
                if (unlinkat(archive_fd, it->name, 0) < 0 && errno != ENOENT)
                        return negative_errno();
                s->total = s->total >= it->disk_bytes ? s->total - it->disk_bytes : 0;
                s->count = s->count >= it->entries ? s->count - it->entries : 0;
                s->next_oldest--;
                s->evicted += it->entries;
        }
        s->total += need;
        s->count++;
        return 0;
}

void archive_space_done(struct archive_space *s) {
        free(s->items);
        s->items = NULL;
        s->n_items = 0;
}
