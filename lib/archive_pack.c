/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Packs (archive.h): the entries of one batch of removals in one file,
 * their index and trailer; writing them, committing them, finding one,
 * dropping one.
 */
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

#define TMP_PREFIX ".new-"
#define TRAILER_MAGIC "ipcgc-pack 1\n\0\0"

/* The last bytes of a pack: where its index is. */
struct archive_pack_trailer {
        char magic[16];
        uint64_t index_offset;
        uint64_t index_length;
        uint64_t entries;
};

static off_t align_up(off_t x, off_t a) {
        return (x + a - 1) / a * a;
}

int archive_contents_open(const struct archive_at *at, uint64_t *ret_size) {
        struct stat st;

        if (!at || at->fd < 0 || at->offset < 0)
                return -EINVAL;
        if (ret_size) {
                if (at->length != ARCHIVE_TO_END)
                        *ret_size = at->length;
                else if (fstat(at->fd, &st) < 0)
                        return negative_errno();
                else
                        *ret_size = st.st_size > at->offset ? (uint64_t) (st.st_size - at->offset) : 0;
        }
        int fd = fcntl(at->fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negative_errno();
        if (lseek(fd, at->offset, SEEK_SET) < 0) {
                int r = negative_errno();
                (void) close(fd);
                return r;
        }
        return fd;
}

/* The UTC time to the microsecond, then "-": names sort as made, within a
 * second too (eviction takes the oldest first). */
static int name_time(char when[static 32]) {
        struct timespec ts;
        struct tm tm;
        char sec[24];

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || !gmtime_r(&ts.tv_sec, &tm) ||
            strftime(sec, sizeof(sec), "%Y%m%dT%H%M%S", &tm) == 0)
                return -EINVAL;
        snprintf(when, 32, "%.15s.%06uZ", sec, (unsigned) (ts.tv_nsec / 1000) % 1000000u);
        return 0;
}

static int name_tag(char tag[static 8]) {
        uint8_t rnd[3];
        if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd))
                return -EAGAIN;
        snprintf(tag, 8, "%02x%02x%02x", rnd[0], rnd[1], rnd[2]);
        return 0;
}

/* NAME: the time, the type, the id or name made safe, a random tag. */
static int entry_name(const struct ipc_object *o, char name[static ARCHIVE_NAME_MAX]) {
        char when[32], what[72], tag[8];
        size_t w = 0;
        int r;

        if ((r = name_time(when)) < 0 || (r = name_tag(tag)) < 0)
                return r;
        if (ipc_type_is_sysv(o->type))
                snprintf(what, sizeof(what), "%d", o->id);
        else {
                for (const char *p = strempty(o->name); *p && w < 64; p++) {
                        char c = *p;
                        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                    c == '.' || c == '_' || c == '-';
                        if (w == 0 && c == '/')
                                continue; /* the name's leading slash says nothing */
                        what[w++] = safe ? c : '_';
                }
                what[w] = 0;
        }
        snprintf(name, ARCHIVE_NAME_MAX, "%s-%s-%s-%s", when, ipc_type_to_string(o->type), what, tag);
        return 0;
}

/* The pack's file, at its first entry: nameless until committed, so a
 * crash before leaves nothing to clean up. */
static int pack_begin(int archive_fd, struct archive_pack *p) {
        char when[32], tag[8];
        int r;

        if ((r = name_time(when)) < 0 || (r = name_tag(tag)) < 0)
                return r;
        snprintf(p->name, sizeof(p->name), "%s-pack-%s", when, tag);
        p->tmp[0] = 0;
        p->fd = openat(archive_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (p->fd >= 0)
                return 0;
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
                return negative_errno();
        /* A file system without O_TMPFILE: a hidden name, renamed. */
        snprintf(p->tmp, sizeof(p->tmp), TMP_PREFIX "%s", p->name);
        p->fd = openat(archive_fd, p->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        return p->fd < 0 ? negative_errno() : 0;
}

int archive_entry_begin(int archive_fd, struct archive_pack *p, const struct ipc_object *o, time_t now,
                        struct archive_entry *e) {
        int r;

        (void) now;
        *e = (struct archive_entry) { .contents.fd = -1 };
        if (p->sealed)
                return -EBUSY;
        r = entry_name(o, e->name);
        if (r < 0)
                return r;
        if (p->n_entries == p->n_allocated) {
                size_t n = p->n_allocated ? p->n_allocated * 2 : 64;
                struct archive_entry **a = reallocarray(p->entries, n, sizeof(*a));
                if (!a)
                        return -ENOMEM;
                p->entries = a;
                p->n_allocated = n;
        }
        if (p->fd < 0) {
                r = pack_begin(archive_fd, p);
                if (r < 0)
                        return r;
        }
        /* A file's holes stay holes only where whole blocks of it are
         * holes: its bytes start on a block. */
        off_t a = o->type == IPC_TYPE_PSHM || o->type == IPC_TYPE_PSEM ? 4096 : 8;
        e->pack = p;
        e->start = p->end;
        e->contents = (struct archive_at) { .fd = p->fd, .offset = align_up(p->end, a), .length = ARCHIVE_TO_END };
        p->entries[p->n_entries++] = e;
        return 0;
}

int archive_entry_write_manifest_text(struct archive_entry *e, const char *text, size_t len) {
        struct stat st;
        int r;

        if (len + 1 >= ARCHIVE_MANIFEST_MAX)
                return -E2BIG; /* a reason or name too long to read back */
        if (fstat(e->contents.fd, &st) < 0)
                return negative_errno();
        /* What the type module wrote is all that follows the contents'
         * start: entries are written one after another. */
        e->contents.length = st.st_size > e->contents.offset ? (uint64_t) (st.st_size - e->contents.offset) : 0;
        e->manifest_offset = align_up(e->contents.offset + (off_t) e->contents.length, 8);
        r = io_write_all(e->contents.fd, text, len, e->manifest_offset);
        if (r >= 0)
                r = io_write_all(e->contents.fd, "\n", 1, e->manifest_offset + (off_t) len);
        if (r < 0)
                return r;
        e->manifest_length = len + 1;
        e->pack->end = e->manifest_offset + (off_t) e->manifest_length;
        return 0;
}

void archive_entry_abort(struct archive_entry *e) {
        struct archive_pack *p = e->pack;

        if (!p)
                return;
        for (size_t i = 0; i < p->n_entries; i++)
                if (p->entries[i] == e)
                        p->entries[i] = NULL;
        /* Aborted ones at the end: their bytes go again, back to the end of
         * the last one still there (the next starts there).  One that is
         * still being written (no manifest) keeps its bytes. */
        while (!p->sealed && p->n_entries > 0 && !p->entries[p->n_entries - 1])
                p->n_entries--;
        if (!p->sealed) {
                const struct archive_entry *last = p->n_entries > 0 ? p->entries[p->n_entries - 1] : NULL;
                off_t end = !last ? 0 : last->manifest_length > 0 ? last->manifest_offset + (off_t) last->manifest_length : -1;
                if (end >= 0 && end < p->end) {
                        p->end = end;
                        (void) ftruncate(p->fd, end);
                }
        }
        e->pack = NULL;
}

/* json-c's adders fail only on allocation; collect that into one result. */
static int put(json_object *obj, const char *key, json_object *val) {
        return json_object_object_add(obj, key, val) < 0 ? -ENOMEM : 0;
}

static json_object *pair(uint64_t offset, uint64_t length) {
        json_object *a = json_object_new_array_ext(2);
        if (a && (json_object_array_add(a, json_object_new_uint64(offset)) < 0 ||
                  json_object_array_add(a, json_object_new_uint64(length)) < 0)) {
                json_object_put(a);
                return NULL;
        }
        return a;
}

/* One entry of an index, as written and as read back. */
struct index_item {
        char name[ARCHIVE_NAME_MAX];
        uint64_t manifest_offset, manifest_length, contents_offset, contents_length;
};

/* Appends ITEMS as FD's index and a trailer at OFFSET. */
static int index_write(int fd, off_t offset, const struct index_item *items, size_t n) {
        json_object *ix = json_object_new_object(), *es = json_object_new_array_ext((int) n);
        int r = 0;

        if (!ix || !es) {
                json_object_put(ix);
                json_object_put(es);
                return -ENOMEM;
        }
        r |= put(ix, "format", json_object_new_string(ARCHIVE_PACK_FORMAT));
        r |= put(ix, "entries", es);
        for (size_t i = 0; r == 0 && i < n; i++) {
                json_object *it = json_object_new_object();
                if (!it || json_object_array_add(es, it) < 0) {
                        json_object_put(it);
                        r = -ENOMEM;
                        break;
                }
                r |= put(it, "entry", json_object_new_string(items[i].name));
                r |= put(it, "manifest", pair(items[i].manifest_offset, items[i].manifest_length));
                r |= put(it, "contents", pair(items[i].contents_offset, items[i].contents_length));
        }
        const char *text = r < 0 ? NULL : json_object_to_json_string_ext(ix, JSON_C_TO_STRING_PLAIN);
        size_t len = text ? strlen(text) : 0;
        if (!text)
                r = -ENOMEM;
        else if (len > ARCHIVE_INDEX_MAX)
                r = -E2BIG;
        else
                r = io_write_all(fd, text, len, offset);
        if (r >= 0) {
                struct archive_pack_trailer t = {
                        .index_offset = (uint64_t) offset, .index_length = len, .entries = n };
                memcpy(t.magic, TRAILER_MAGIC, sizeof(t.magic));
                r = io_write_all(fd, &t, sizeof(t), offset + (off_t) len);
        }
        /* The trailer is the file's last bytes: anything after it (an
         * index written before, longer) goes. */
        if (r >= 0 && ftruncate(fd, offset + (off_t) len + (off_t) sizeof(struct archive_pack_trailer)) < 0)
                r = negative_errno();
        json_object_put(ix);
        return r;
}

/* Gives the pack P its name in ARCHIVE_FD. */
static int pack_link(int archive_fd, const struct archive_pack *p) {
        if (p->tmp[0])
                return renameat(archive_fd, p->tmp, archive_fd, p->name) < 0 ? negative_errno() : 0;
        char path[40];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", p->fd);
        if (linkat(AT_FDCWD, path, archive_fd, p->name, AT_SYMLINK_FOLLOW) == 0)
                return 0;
        /* Without /proc: the same by the fd itself, which needs
         * CAP_DAC_READ_SEARCH. */
        if (errno == ENOENT && linkat(p->fd, "", archive_fd, p->name, AT_EMPTY_PATH) == 0)
                return 0;
        return negative_errno();
}

int archive_pack_commit(int archive_fd, struct archive_pack *p) {
        _cleanup_free_ struct index_item *items = NULL;
        size_t n = 0;
        int r;

        if (p->committed)
                return 0;
        p->sealed = true;
        if (p->fd < 0)
                return 0;
        items = calloc(p->n_entries ? p->n_entries : 1, sizeof(*items));
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_entries; i++) {
                const struct archive_entry *e = p->entries[i];
                if (!e || e->manifest_length == 0)
                        continue; /* aborted, or never whole: not an entry */
                struct index_item *it = &items[n++];
                snprintf(it->name, sizeof(it->name), "%s", e->name);
                it->manifest_offset = (uint64_t) e->manifest_offset;
                it->manifest_length = e->manifest_length;
                it->contents_offset = (uint64_t) e->contents.offset;
                it->contents_length = e->contents.length;
        }
        if (n == 0)
                return 0;
        r = index_write(p->fd, align_up(p->end, 8), items, n);
        if (r < 0)
                return r;
        /* The pack's bytes on disk before it has a name. */
        if (syncfs(archive_fd) < 0)
                return negative_errno();
        r = pack_link(archive_fd, p);
        if (r < 0)
                return r;
        /* The name, and the link count (in the inode, which a file system
         * without a journal writes apart from the directory). */
        if (syncfs(archive_fd) < 0) {
                r = negative_errno();
                /* Linked, but not surely on disk: none counts as made.  Out
                 * of the way under a hidden name (a file made by O_TMPFILE
                 * cannot be linked again once unlinked), which
                 * archive_pack_done removes. */
                if (!p->tmp[0])
                        snprintf(p->tmp, sizeof(p->tmp), TMP_PREFIX "%s", p->name);
                if (renameat(archive_fd, p->name, archive_fd, p->tmp) < 0)
                        (void) unlinkat(archive_fd, p->name, 0);
                return r;
        }
        p->committed = true;
        for (size_t i = 0; i < p->n_entries; i++)
                if (p->entries[i] && p->entries[i]->manifest_length > 0)
                        p->entries[i]->committed = true;
        return 0;
}

/* Copies LEN bytes of IN from OFF to the end of OUT. */
static int copy_range(int in, off_t off, uint64_t len, int out, off_t to) {
        char buf[65536];
        while (len > 0) {
                ssize_t n = pread(in, buf, len < sizeof(buf) ? (size_t) len : sizeof(buf), off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -EIO;
                int r = io_write_all(out, buf, (size_t) n, to);
                if (r < 0)
                        return r;
                off += n;
                to += n;
                len -= (uint64_t) n;
        }
        return 0;
}

int archive_entry_keep(int archive_fd, struct archive_entry *e, const struct ipc_object *o,
                       const struct archive_removal *why, const struct archive_contents *c) {
        struct archive_pack q = ARCHIVE_PACK_INIT;
        struct archive_entry k;
        struct stat st;
        int r;

        if (!e->pack)
                return -EINVAL;
        uint64_t len = e->contents.length;
        if (len == ARCHIVE_TO_END) {
                if (fstat(e->contents.fd, &st) < 0)
                        return negative_errno();
                len = st.st_size > e->contents.offset ? (uint64_t) (st.st_size - e->contents.offset) : 0;
        }
        /* A pack of its own, never the batch's: that one may be being
         * written, or may have failed to sync (and a sync tried again
         * says nothing of the pages that failed). */
        r = archive_entry_begin(archive_fd, &q, o, why->time, &k);
        if (r >= 0)
                r = copy_range(e->contents.fd, e->contents.offset, len, k.contents.fd, k.contents.offset);
        if (r >= 0)
                r = archive_manifest_write(&k, o, why, c);
        if (r >= 0)
                r = archive_pack_commit(archive_fd, &q);
        if (r >= 0 && !k.committed)
                r = -EIO;
        if (r >= 0) {
                snprintf(e->name, sizeof(e->name), "%s", k.name);
                archive_entry_abort(e);
                e->committed = true; /* as the kept one */
        }
        archive_pack_done(archive_fd, &q);
        return r;
}

void archive_pack_done(int archive_fd, struct archive_pack *p) {
        _cleanup_free_ const char **drop = NULL;
        size_t n_drop = 0;

        /* Entries that are not the objects' after all (the removal did not
         * happen): out of the index at once, not one rewrite each. */
        if (p->committed && p->n_entries > 0 && (drop = calloc(p->n_entries, sizeof(*drop))))
                for (size_t i = 0; i < p->n_entries; i++)
                        if (p->entries[i] && p->entries[i]->dropped)
                                drop[n_drop++] = p->entries[i]->name;
        if (n_drop > 0)
                (void) archive_pack_drop(archive_fd, p->name, drop, n_drop);
        for (size_t i = 0; i < p->n_entries; i++)
                if (p->entries[i])
                        p->entries[i]->pack = NULL;
        if (p->fd >= 0) {
                (void) close(p->fd);
                if (!p->committed && p->tmp[0])
                        (void) unlinkat(archive_fd, p->tmp, 0);
        }
        free(p->entries);
        *p = (struct archive_pack) ARCHIVE_PACK_INIT;
}

/* ---- Reading packs back ------------------------------------------------ */

static int get_range(json_object *o, const char *key, uint64_t limit, uint64_t max_len, uint64_t *ret_off,
                     uint64_t *ret_len) {
        json_object *a;
        if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array) ||
            json_object_array_length(a) != 2)
                return -EBADMSG;
        json_object *x = json_object_array_get_idx(a, 0), *y = json_object_array_get_idx(a, 1);
        if (!json_object_is_type(x, json_type_int) || !json_object_is_type(y, json_type_int))
                return -EBADMSG;
        int64_t off = json_object_get_int64(x), len = json_object_get_int64(y);
        if (off < 0 || len < 0 || (uint64_t) len > max_len || (uint64_t) off > limit ||
            (uint64_t) len > limit - (uint64_t) off)
                return -EBADMSG;
        *ret_off = (uint64_t) off;
        *ret_len = (uint64_t) len;
        return 0;
}

static int index_parse(const char *text, size_t len, uint64_t limit, uint64_t expected, struct index_item **ret,
                       size_t *ret_n) {
        struct json_tokener *tok = json_tokener_new_ex(8);
        if (!tok)
                return -ENOMEM;
        json_object *ix = json_tokener_parse_ex(tok, text, (int) len);
        bool whole = json_tokener_get_error(tok) == json_tokener_success &&
                     json_tokener_get_parse_end(tok) == len;
        json_tokener_free(tok);
        json_object *f, *es;
        int r = -EBADMSG;
        if (!ix || !whole || !json_object_is_type(ix, json_type_object) ||
            !json_object_object_get_ex(ix, "format", &f) || !json_object_is_type(f, json_type_string) ||
            strcmp(json_object_get_string(f), ARCHIVE_PACK_FORMAT) != 0 ||
            !json_object_object_get_ex(ix, "entries", &es) || !json_object_is_type(es, json_type_array) ||
            json_object_array_length(es) != expected)
                goto out;
        struct index_item *items = calloc(expected ? expected : 1, sizeof(*items));
        if (!items) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < expected; i++) {
                json_object *it = json_object_array_get_idx(es, i), *n;
                const char *name;
                if (!json_object_is_type(it, json_type_object) || !json_object_object_get_ex(it, "entry", &n) ||
                    !json_object_is_type(n, json_type_string) || !archive_name_ok(name = json_object_get_string(n)) ||
                    get_range(it, "manifest", limit, ARCHIVE_MANIFEST_MAX, &items[i].manifest_offset,
                              &items[i].manifest_length) < 0 ||
                    items[i].manifest_length == 0 ||
                    get_range(it, "contents", limit, UINT64_MAX, &items[i].contents_offset,
                              &items[i].contents_length) < 0) {
                        free(items);
                        goto out;
                }
                snprintf(items[i].name, sizeof(items[i].name), "%s", name);
        }
        *ret = items;
        *ret_n = expected;
        r = 0;
out:
        json_object_put(ix);
        return r;
}

/* Is T, read at POS of a file, a trailer this version wrote, ending its index? */
static bool trailer_ok(const struct archive_pack_trailer *t, uint64_t pos) {
        return memcmp(t->magic, TRAILER_MAGIC, sizeof(t->magic)) == 0 && t->index_length <= ARCHIVE_INDEX_MAX &&
               t->index_offset <= pos && t->index_length == pos - t->index_offset &&
               t->entries <= ARCHIVE_MAX_ENTRIES;
}

/* The pack's trailer: its last bytes, or, where a crash tore an index
 * appended after it (archive_pack_drop), the last whole one before them
 * (looked for no further back than an index can be long). */
static int find_trailer(int fd, uint64_t size, struct archive_pack_trailer *ret, uint64_t *ret_pos) {
        const size_t tl = sizeof(*ret);
        if (size < tl)
                return -EBADMSG;
        if (pread(fd, ret, tl, (off_t) (size - tl)) == (ssize_t) tl && trailer_ok(ret, size - tl)) {
                *ret_pos = size - tl;
                return 0;
        }
        uint64_t floor = size > ARCHIVE_INDEX_MAX + 2 * tl ? size - ARCHIVE_INDEX_MAX - 2 * tl : 0;
        _cleanup_free_ char *buf = malloc(65536 + tl);
        if (!buf)
                return -ENOMEM;
        for (uint64_t hi = size - tl; hi > floor;) {
                uint64_t lo = hi > floor + 65536 ? hi - 65536 : floor;
                size_t want = (size_t) (hi - lo) + tl;
                if (pread(fd, buf, want, (off_t) lo) != (ssize_t) want)
                        return -EBADMSG;
                for (size_t i = (size_t) (hi - lo); i-- > 0;)
                        if (buf[i] == TRAILER_MAGIC[0] && memcmp(buf + i, TRAILER_MAGIC, sizeof(ret->magic)) == 0) {
                                memcpy(ret, buf + i, tl);
                                if (trailer_ok(ret, lo + i)) {
                                        *ret_pos = lo + i;
                                        return 0;
                                }
                        }
                hi = lo;
        }
        return -EBADMSG;
}

/* Opens the pack NAME (FLAGS: O_RDONLY or O_RDWR) and reads its index:
 * -ENOENT for a symlink or nothing there, -EBADMSG for anything that is not
 * a pack this version wrote. */
static int pack_open(int archive_fd, const char *name, int flags, int *ret_fd, struct stat *ret_st,
                     struct index_item **ret_items, size_t *ret_n, uint64_t *ret_index_offset) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        struct archive_pack_trailer t;
        struct stat st;

        uint64_t pos;
        int r;

        if (!archive_name_ok(name))
                return -EINVAL;
        /* A directory, FIFO or device planted there is no pack: not even
         * opened (opening a device can do things). */
        if (fstatat(archive_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (S_ISLNK(st.st_mode))
                return -ENOENT; /* a symlink is no pack, never followed */
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        fd = openat(archive_fd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -ENOENT : negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADMSG; /* swapped since the look */
        r = find_trailer(fd, (uint64_t) st.st_size, &t, &pos);
        if (r < 0)
                return r;
        if (ret_items) {
                text = malloc(t.index_length + 1);
                if (!text)
                        return -ENOMEM;
                ssize_t got = pread(fd, text, t.index_length, (off_t) t.index_offset);
                if (got != (ssize_t) t.index_length)
                        return got < 0 ? negative_errno() : -EBADMSG;
                text[t.index_length] = 0;
                r = index_parse(text, t.index_length, t.index_offset, t.entries, ret_items, ret_n);
                if (r < 0)
                        return r;
        } else if (ret_n)
                *ret_n = t.entries;
        if (ret_index_offset)
                *ret_index_offset = t.index_offset;
        if (ret_st) {
                *ret_st = st;
                ret_st->st_size = (off_t) (pos + sizeof(t)); /* where the pack ends: a torn tail is not its */
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int archive_pack_count(int archive_fd, const char *name, struct stat *ret_st, size_t *ret_entries) {
        int fd;
        int r = pack_open(archive_fd, name, O_RDONLY, &fd, ret_st, NULL, ret_entries, NULL);
        if (r >= 0)
                (void) close(fd);
        return r;
}

int archive_pack_entries(int archive_fd, const char *pack, struct archive_found **ret, size_t *ret_n) {
        _cleanup_free_ struct index_item *items = NULL;
        size_t n = 0;
        int fd;
        int r = pack_open(archive_fd, pack, O_RDONLY, &fd, NULL, &items, &n, NULL);

        if (r < 0)
                return r;
        struct archive_found *fs = calloc(n ? n : 1, sizeof(*fs));
        if (!fs) {
                (void) close(fd);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                fs[i] = (struct archive_found) {
                        .fd = fd, .manifest_offset = (off_t) items[i].manifest_offset,
                        .manifest_length = (size_t) items[i].manifest_length,
                        .contents = { .fd = fd, .offset = (off_t) items[i].contents_offset,
                                      .length = items[i].contents_length },
                };
                snprintf(fs[i].pack, sizeof(fs[i].pack), "%s", pack);
                snprintf(fs[i].name, sizeof(fs[i].name), "%s", items[i].name);
        }
        if (n == 0)
                (void) close(fd);
        *ret = fs;
        *ret_n = n;
        return 0;
}

int archive_entry_find(int archive_fd, const char *name, struct archive_found *ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        int r, bad = 0;

        if (!archive_name_ok(name))
                return -EINVAL;
        r = archive_names_open(archive_fd, &d);
        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));) {
                struct archive_found *fs;
                size_t n;
                if (!archive_name_ok(de->d_name))
                        continue;
                r = archive_pack_entries(archive_fd, de->d_name, &fs, &n);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        bad = -EBADMSG;
                        continue;
                }
                int hit = -1;
                for (size_t i = 0; i < n; i++)
                        if (strcmp(fs[i].name, name) == 0)
                                hit = (int) i;
                if (hit >= 0) {
                        *ret = fs[hit];
                        free(fs);
                        return 0;
                }
                if (n > 0)
                        (void) close(fs[0].fd);
                free(fs);
        }
        (void) bad;
        return -ENOENT;
}

int archive_pack_drop(int archive_fd, const char *pack, const char *const *names, size_t n_names) {
        _cleanup_free_ struct index_item *items = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t index_offset;
        struct stat st;
        size_t n = 0, k = 0;
        int r;

        r = pack_open(archive_fd, pack, O_RDWR, &fd, &st, &items, &n, &index_offset);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                bool gone = false;
                for (size_t j = 0; j < n_names && !gone; j++)
                        gone = strcmp(items[i].name, names[j]) == 0;
                if (!gone)
                        items[k++] = items[i];
        }
        if (k == n)
                return -ENOENT;
        if (k == 0)
                return unlinkat(archive_fd, pack, 0) < 0 ? negative_errno() : 0;
        /* A new index after the old, synced: the last trailer is the
         * pack's, and a reader that finds the end torn by a crash looks
         * back for the one before (pack_open).  On failure the file is cut
         * back to what it was. */
        r = index_write(fd, align_up(st.st_size, 8), items, k);
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r < 0)
                (void) ftruncate(fd, st.st_size);
        return r;
}

int archive_entry_remove(int archive_fd, const char *pack, const char *name) {
        const char *names[] = { name };
        return archive_pack_drop(archive_fd, pack, names, 1);
}
