/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The archive's entries (lib/archive.c): the directory's checks, an entry
 * begun, written, committed or aborted, its manifest read back field for
 * field, hostile manifests refused, the listing and the eviction.  Files in
 * a temporary directory only: no IPC, no root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "archive.h"

static char base[] = "/tmp/ipcgc-test-archive.XXXXXX";
static char dir[sizeof(base) + 16];

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) type;
        (void) ftw;
        return remove(path);
}

static int setup(void **state) {
        (void) state;
        strcpy(base, "/tmp/ipcgc-test-archive.XXXXXX");
        if (!mkdtemp(base))
                return -1;
        snprintf(dir, sizeof(dir), "%s/archive", base);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        return nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* How many names ARCHIVE_FD holds, hidden ones too. */
static int count_names(int afd) {
        DIR *d = fdopendir(dup(afd));
        int n = 0;
        assert_non_null(d);
        rewinddir(d);
        for (struct dirent *de; (de = readdir(d));)
                n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        closedir(d);
        return n;
}

static struct ipc_object shm_object(int id) {
        return (struct ipc_object) {
                .type = IPC_TYPE_SHM, .id = id, .key = -42, .uid = 4601, .gid = 4602, .cuid = 0, .cgid = 0,
                .mode = 01600, .size = 65536, .nattch = 0, .cpid = 12, .lpid = 0, .lrpid = PID_NONE,
                .ctime = 1700000000, .atime = 1700000001, .mtime = 0, .dtime = 1700000002,
        };
}

static struct archive_removal removal(time_t when) {
        return (struct archive_removal) { .time = when, .verdict = "ORPHAN", .reason = (char *) "nattch 0; \"quoted\"\n",
                                          .rule = (char *) "default", .by_uid = 0, .by_pid = 77 };
}

/* Adds an entry for O with N bytes of contents (0x5a) to the pack P. */
static void add_entry(int afd, struct archive_pack *p, struct archive_entry *e, const struct ipc_object *o, time_t when,
                      size_t n) {
        struct archive_removal why = removal(when);
        struct archive_contents c = { .bytes = n, .locked = true };

        assert_int_equal(archive_entry_begin(afd, p, o, when, e), 0);
        if (n) {
                int fd = archive_contents_open(&e->contents, NULL);
                assert_true(fd >= 0);
                char *buf = calloc(1, n);
                assert_non_null(buf);
                memset(buf, 0x5a, n);
                assert_int_equal(write(fd, buf, n), (ssize_t) n);
                free(buf);
                close(fd);
        }
        assert_int_equal(archive_manifest_write(e, o, &why, &c), 0);
}

/* A committed pack of one entry for O, made at WHEN, N bytes of contents:
 * the entry's name in NAME, the pack's in PACK (may be NULL). */
static void make_entry(int afd, const struct ipc_object *o, time_t when, size_t n, char name[static ARCHIVE_NAME_MAX],
                       char *pack) {
        struct archive_pack p = ARCHIVE_PACK_INIT;
        struct archive_entry e;

        add_entry(afd, &p, &e, o, when, n);
        assert_int_equal(archive_pack_commit(afd, &p), 0);
        assert_true(e.committed);
        strcpy(name, e.name);
        if (pack)
                strcpy(pack, p.name);
        /* Written then, as far as eviction can tell (it goes by mtime). */
        const struct timespec ts[2] = { { .tv_sec = when }, { .tv_sec = when } };
        assert_int_equal(futimens(p.fd, ts), 0);
        archive_pack_done(afd, &p);
}

static void test_dir_checks(void **state) {
        int fd;
        (void) state;

        assert_int_equal(archive_open_dir(dir, ARCHIVE_CREATE, &fd), 0); /* made, 0700 */
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        close(fd);
        /* others may enter: refused */
        assert_int_equal(chmod(dir, 0755), 0);
        assert_int_equal(archive_open_dir(dir, ARCHIVE_CREATE, &fd), -EPERM);
        assert_int_equal(chmod(dir, 0700), 0);
        /* a symlink to it: refused, not followed */
        char link[sizeof(dir) + 8];
        snprintf(link, sizeof(link), "%s/link", base);
        assert_int_equal(symlink(dir, link), 0);
        assert_int_equal(archive_open_dir(link, ARCHIVE_CREATE, &fd), -ELOOP);
        /* a file: refused */
        char file[sizeof(dir) + 8];
        snprintf(file, sizeof(file), "%s/file", base);
        close(open(file, O_CREAT | O_WRONLY, 0600));
        assert_true(archive_open_dir(file, ARCHIVE_CREATE, &fd) < 0);
}

static void test_round_trip(void **state) {
        struct archive_pack p = ARCHIVE_PACK_INIT;
        struct archive_entry e1, e2;
        int afd;
        (void) state;

        assert_int_equal(archive_open_dir(dir, ARCHIVE_CREATE, &afd), 0);
        struct ipc_object o = shm_object(5);
        /* a named object too: its name kept, made safe in the entry's name */
        struct ipc_object f = { .type = IPC_TYPE_FIFO, .id = -1, .name = (char *) "/tmp/a b/../x\n", .mode = 0640,
                                .cpid = PID_NONE, .lpid = PID_NONE, .lrpid = PID_NONE, .dev = 2049, .ino = 77 };
        add_entry(afd, &p, &e1, &o, 1800000000, 4096);
        add_entry(afd, &p, &e2, &f, 1800000100, 0);
        /* not committed: not listed, and (O_TMPFILE) not even named */
        struct archive_listing *l;
        assert_int_equal(archive_list(afd, &l), 0);
        assert_int_equal(l->n_items + l->n_bad, 0);
        archive_listing_free(l);
        assert_int_equal(count_names(afd), p.tmp[0] ? 1 : 0);
        assert_int_equal(archive_pack_commit(afd, &p), 0);
        assert_true(e1.committed && e2.committed);
        char pack[ARCHIVE_NAME_MAX];
        strcpy(pack, p.name);
        archive_pack_done(afd, &p);

        assert_non_null(strstr(e1.name, "-shm-5-"));
        /* Named by the clock to the microsecond, so that names of one
         * second sort as made: YYYYmmddTHHMMSS.uuuuuuZ */
        assert_int_equal(strlen(e1.name) > 23 && e1.name[8] == 'T' && e1.name[15] == '.' && e1.name[22] == 'Z', 1);
        assert_null(strchr(e2.name, '/'));
        assert_null(strchr(e2.name, ' '));

        /* one regular file, 0600, both entries in it, in few blocks */
        assert_int_equal(count_names(afd), 1);
        struct stat st;
        assert_int_equal(fstatat(afd, pack, &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_true(st.st_blocks * 512 <= 3 * 4096);

        struct archive_found fd1;
        assert_int_equal(archive_entry_find(afd, e1.name, &fd1), 0);
        assert_string_equal(fd1.pack, pack);
        assert_int_equal(fd1.contents.length, 4096);
        uint64_t size;
        int cfd = archive_contents_open(&fd1.contents, &size);
        assert_true(cfd >= 0);
        assert_int_equal(size, 4096);
        unsigned char byte;
        assert_int_equal(read(cfd, &byte, 1), 1);
        assert_int_equal(byte, 0x5a);
        close(cfd);

        struct ipc_object back;
        struct archive_removal why;
        struct archive_contents c;
        assert_int_equal(archive_manifest_read(&fd1, &back, &why, &c), 0);
        assert_int_equal(back.type, o.type);
        assert_int_equal(back.id, o.id);
        assert_int_equal(back.key, o.key);
        assert_int_equal(back.uid, o.uid);
        assert_int_equal(back.gid, o.gid);
        assert_int_equal(back.mode, o.mode); /* SHM_LOCKED's bit too */
        assert_int_equal(back.size, o.size);
        assert_int_equal(back.cpid, o.cpid);
        assert_int_equal(back.lrpid, PID_NONE);
        assert_int_equal(back.dtime, o.dtime);
        assert_null(back.name);
        assert_int_equal(why.time, 1800000000);
        assert_string_equal(why.verdict, "ORPHAN");
        assert_string_equal(why.reason, "nattch 0; \"quoted\"\n");
        assert_string_equal(why.rule, "default");
        assert_int_equal(why.by_pid, 77);
        assert_int_equal(c.bytes, 4096);
        assert_true(c.locked);
        ipc_object_done(&back);
        archive_removal_done(&why);
        close(fd1.fd);

        struct archive_found fd2;
        assert_int_equal(archive_entry_find(afd, e2.name, &fd2), 0);
        assert_int_equal(fd2.contents.length, 0);
        assert_int_equal(archive_manifest_read(&fd2, &back, &why, &c), 0);
        assert_string_equal(back.name, f.name);
        assert_int_equal(back.ino, 77);
        ipc_object_done(&back);
        archive_removal_done(&why);
        close(fd2.fd);
        struct archive_found none;
        assert_int_equal(archive_entry_find(afd, "20260101T000000.000000Z-shm-9-000000", &none), -ENOENT);
        assert_int_equal(archive_entry_find(afd, "../x", &none), -EINVAL);

        /* the listing: newest first, both, nothing bad */
        assert_int_equal(archive_list(afd, &l), 0);
        assert_int_equal(l->n_items, 2);
        assert_int_equal(l->n_bad, 0);
        assert_int_equal(l->items[0].object.type, IPC_TYPE_FIFO);
        assert_int_equal(l->items[1].object.type, IPC_TYPE_SHM);
        assert_string_equal(l->items[1].pack, pack);
        assert_true(l->items[1].disk_bytes >= 4096);
        archive_listing_free(l);

        /* dropping an entry keeps the other; the last takes the pack */
        assert_int_equal(archive_entry_remove(afd, pack, e1.name), 0);
        assert_int_equal(archive_entry_find(afd, e1.name, &none), -ENOENT);
        assert_int_equal(archive_entry_find(afd, e2.name, &fd2), 0);
        close(fd2.fd);
        assert_int_equal(archive_entry_remove(afd, pack, e1.name), -ENOENT);
        assert_int_equal(archive_entry_remove(afd, pack, e2.name), 0);
        assert_int_equal(count_names(afd), 0);
        close(afd);
}

static void test_abort_and_uncommitted(void **state) {
        struct archive_pack p = ARCHIVE_PACK_INIT;
        struct archive_entry e1, e2, e3;
        int afd;
        (void) state;

        assert_int_equal(archive_open_dir(dir, ARCHIVE_CREATE, &afd), 0);
        struct ipc_object o = shm_object(6);
        add_entry(afd, &p, &e1, &o, 1800000000, 100);
        off_t end = p.end;
        struct stat st;
        assert_int_equal(fstat(p.fd, &st), 0);
        off_t size = st.st_size;
        /* the last one aborted: its bytes go again */
        add_entry(afd, &p, &e2, &o, 1800000000, 5000);
        archive_entry_abort(&e2);
        assert_int_equal(p.end, end);
        assert_int_equal(fstat(p.fd, &st), 0);
        assert_int_equal(st.st_size, size);
        /* a manifest too long to read back is refused */
        char *reason = malloc(ARCHIVE_MANIFEST_MAX);
        assert_non_null(reason);
        memset(reason, 'r', ARCHIVE_MANIFEST_MAX - 1);
        reason[ARCHIVE_MANIFEST_MAX - 1] = 0;
        struct archive_removal why = { .time = 1800000000, .verdict = "ORPHAN", .reason = reason };
        struct archive_contents c = {};
        assert_int_equal(archive_entry_begin(afd, &p, &o, 1800000000, &e3), 0);
        assert_int_equal(archive_manifest_write(&e3, &o, &why, &c), -E2BIG);
        archive_entry_abort(&e3);
        free(reason);
        /* never committed: nothing left */
        archive_pack_done(afd, &p);
        assert_int_equal(count_names(afd), 0);
        assert_null(e1.pack);
        /* committed after an abort: only the whole one is an entry */
        struct archive_pack q = ARCHIVE_PACK_INIT;
        add_entry(afd, &q, &e1, &o, 1800000000, 10);
        add_entry(afd, &q, &e2, &o, 1800000000, 10);
        add_entry(afd, &q, &e3, &o, 1800000000, 10);
        archive_entry_abort(&e2);
        assert_int_equal(archive_pack_commit(afd, &q), 0);
        assert_true(e1.committed && !e2.committed && e3.committed);
        /* sealed: no more entries */
        struct archive_entry e4;
        assert_int_equal(archive_entry_begin(afd, &q, &o, 1800000000, &e4), -EBUSY);
        archive_pack_done(afd, &q);
        struct archive_listing *l;
        assert_int_equal(archive_list(afd, &l), 0);
        assert_int_equal(l->n_items, 2);
        assert_int_equal(l->n_bad, 0);
        archive_listing_free(l);
        close(afd);
}

/* Writes TEXT as a file NAME of the archive. */
static void plant(int afd, const char *name, const char *text, size_t len) {
        int fd = openat(afd, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, len), (ssize_t) len);
        close(fd);
}

/* The whole file NAME into *RET (malloc'd), its length in *RET_LEN. */
static void slurp(int afd, const char *name, char **ret, size_t *ret_len) {
        struct stat st;
        int fd = openat(afd, name, O_RDONLY);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        *ret = malloc((size_t) st.st_size + 1);
        assert_non_null(*ret);
        assert_int_equal(read(fd, *ret, (size_t) st.st_size), st.st_size);
        (*ret)[st.st_size] = 0;
        *ret_len = (size_t) st.st_size;
        close(fd);
}

static void test_hostile_packs(void **state) {
        char name[ARCHIVE_NAME_MAX], pack[ARCHIVE_NAME_MAX];
        int afd;
        (void) state;

        assert_int_equal(archive_open_dir(dir, ARCHIVE_CREATE, &afd), 0);
        struct ipc_object o = shm_object(7);
        make_entry(afd, &o, 1800000000, 0, name, pack);
        char *good;
        size_t len;
        slurp(afd, pack, &good, &len);
        /* one good pack, and every kind of bad one beside it */
        plant(afd, "bad-notes", "{\"format\":", 11);
        plant(afd, "bad-empty", "", 0);
        plant(afd, "bad-cut", good, len - 1);                /* its trailer cut */
        char *evil = malloc(len + 64);
        memcpy(evil, good, len);
        /* the trailer's index offset one past where it is */
        uint64_t ioff;
        memcpy(&ioff, evil + len - 24, sizeof(ioff));
        ioff += 1;
        memcpy(evil + len - 24, &ioff, sizeof(ioff));
        plant(afd, "bad-offset", evil, len);
        /* the manifest with a uid out of range: a well-formed pack, a bad entry */
        memcpy(evil, good, len);
        char *u = memmem(evil, len, "\"uid\":4601", 10);
        assert_non_null(u);
        memcpy(u, "\"uid\":-601", 10);
        plant(afd, "bad-uid", evil, len);
        /* the index naming a manifest past the index */
        memcpy(evil, good, len);
        char *m = memmem(evil, len, "\"manifest\":[", 12);
        assert_non_null(m);
        m[12] = '9'; /* its offset now 9... or more: past it */
        plant(afd, "bad-range", evil, len);
        free(evil);
        free(good);
        /* a pack that is a symlink to the good one: not followed */
        assert_int_equal(symlinkat(pack, afd, "bad-link"), 0);
        /* a FIFO as a pack: not opened for reading, not waited on */
        assert_int_equal(mkfifoat(afd, "bad-fifo", 0600), 0);
        /* a directory (as entries of "ipcgc-archive 1" were) */
        assert_int_equal(mkdirat(afd, "bad-dir", 0700), 0);

        struct archive_listing *l;
        assert_int_equal(archive_list(afd, &l), 0);
        assert_int_equal(l->n_items, 1);
        assert_string_equal(l->items[0].name, name);
        /* eight bad packs, and the bad-uid one's entry */
        assert_int_equal(l->n_bad, 9);
        archive_listing_free(l);
        /* still found where it is, no bad pack used (the bad-uid copy,
         * whose index is good, lists the same name: gone first) */
        assert_int_equal(unlinkat(afd, "bad-uid", 0), 0);
        struct archive_found f;
        assert_int_equal(archive_entry_find(afd, name, &f), 0);
        assert_string_equal(f.pack, pack);
        close(f.fd);
        close(afd);
}

static void test_evict(void **state) {
        int afd;
        char names[10][ARCHIVE_NAME_MAX], packs[10][ARCHIVE_NAME_MAX];
        size_t evicted;
        (void) state;

        assert_int_equal(archive_open_dir(dir, ARCHIVE_CREATE, &afd), 0);
        for (int i = 0; i < 10; i++) {
                struct ipc_object o = shm_object(100 + i);
                make_entry(afd, &o, 1800000000 + i * 60, 64 * 1024, names[i], packs[i]);
        }
        struct stat st;
        assert_int_equal(fstatat(afd, packs[0], &st, 0), 0);
        uint64_t one = (uint64_t) st.st_blocks * 512;
        assert_true(one >= 64 * 1024);

        /* what is not a pack, or is not a regular file, is neither counted
         * nor evicted: old, and in the way of nothing */
        plant(afd, "notes", "{}", 2);
        assert_int_equal(symlinkat(packs[0], afd, "20260101T000000.000000Z-pack-aaaaaa"), 0);
        assert_int_equal(mkdirat(afd, "20260101T000000.000000Z-pack-bbbbbb", 0700), 0);
        const struct timespec old[2] = { { .tv_sec = 1000 }, { .tv_sec = 1000 } };
        assert_int_equal(utimensat(afd, "notes", old, 0), 0);

        /* room for four: the six oldest go */
        assert_int_equal(archive_evict(afd, 4 * one, 1800000000 + 10 * 60, 0, &evicted), 0);
        assert_int_equal(evicted, 6);
        assert_int_equal(fstatat(afd, "notes", &st, 0), 0);
        assert_int_equal(fstatat(afd, "20260101T000000.000000Z-pack-aaaaaa", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(fstatat(afd, "20260101T000000.000000Z-pack-bbbbbb", &st, 0), 0);
        struct archive_listing *l;
        assert_int_equal(archive_list(afd, &l), 0);
        assert_int_equal(l->n_items, 4);
        for (size_t i = 0; i < 4; i++)
                assert_string_equal(l->items[i].name, names[9 - i]);
        archive_listing_free(l);

        /* room for one, but none made less than 200 s ago may go: only
         * packs[6] (240 s ago) goes, and the archive says it is full */
        assert_int_equal(archive_evict(afd, one, 1800000000 + 10 * 60, 200, &evicted), -EDQUOT);
        assert_int_equal(evicted, 1);
        assert_int_equal(archive_list(afd, &l), 0);
        assert_int_equal(l->n_items, 3);
        assert_string_equal(l->items[2].name, names[7]);
        archive_listing_free(l);
        close(afd);
}


static void test_abort_out_of_order_and_keep(void **state) {
        struct archive_pack p = ARCHIVE_PACK_INIT;
        struct archive_entry e[4];
        int afd;
        (void) state;

        assert_int_equal(archive_open_dir(dir, ARCHIVE_CREATE, &afd), 0);
        struct ipc_object o = shm_object(8);
        for (int i = 0; i < 4; i++)
                add_entry(afd, &p, &e[i], &o, 1800000000, 1000 + (size_t) i);
        /* the third, the fourth, then the first: the second stays whole */
        archive_entry_abort(&e[2]);
        archive_entry_abort(&e[3]);
        archive_entry_abort(&e[0]);
        assert_int_equal(archive_pack_commit(afd, &p), 0);
        assert_true(e[1].committed);
        archive_pack_done(afd, &p);
        struct archive_found f;
        assert_int_equal(archive_entry_find(afd, e[1].name, &f), 0);
        assert_int_equal(f.contents.length, 1001);
        struct ipc_object back;
        struct archive_removal why;
        struct archive_contents c;
        assert_int_equal(archive_manifest_read(&f, &back, &why, &c), 0);
        ipc_object_done(&back);
        archive_removal_done(&why);
        close(f.fd);

        /* an entry kept on its own, from a pack never committed */
        struct archive_pack q = ARCHIVE_PACK_INIT;
        struct archive_entry k;
        assert_int_equal(archive_entry_begin(afd, &q, &o, 1800000000, &k), 0);
        int fd = archive_contents_open(&k.contents, NULL);
        assert_int_equal(write(fd, "kept", 4), 4);
        close(fd);
        struct archive_removal w = removal(1800000000);
        struct archive_contents kc = { .bytes = 4 };
        assert_int_equal(archive_entry_keep(afd, &k, &o, &w, &kc), 0);
        archive_pack_done(afd, &q);
        assert_int_equal(archive_entry_find(afd, k.name, &f), 0);
        assert_int_equal(f.contents.length, 4);
        char buf[8] = "";
        assert_int_equal(pread(f.fd, buf, 4, f.contents.offset), 4);
        assert_memory_equal(buf, "kept", 4);
        assert_string_not_equal(f.pack, q.name);
        close(f.fd);
        assert_int_equal(count_names(afd), 2);
        close(afd);
}

static void test_drop_torn_and_failed(void **state) {
        struct archive_pack p = ARCHIVE_PACK_INIT;
        struct archive_entry e[3];
        int afd;
        (void) state;

        assert_int_equal(archive_open_dir(dir, ARCHIVE_CREATE, &afd), 0);
        struct ipc_object o = shm_object(9);
        for (int i = 0; i < 3; i++)
                add_entry(afd, &p, &e[i], &o, 1800000000, 100);
        assert_int_equal(archive_pack_commit(afd, &p), 0);
        char pack[ARCHIVE_NAME_MAX];
        strcpy(pack, p.name);
        /* dropped at done: one rewrite, the others still found */
        e[0].dropped = true;
        archive_pack_done(afd, &p);
        struct archive_found f;
        assert_int_equal(archive_entry_find(afd, e[0].name, &f), -ENOENT);
        assert_int_equal(archive_entry_find(afd, e[1].name, &f), 0);
        close(f.fd);

        /* an index appended after it torn by a crash: the trailer before
         * is the pack's */
        int fd = openat(afd, pack, O_WRONLY | O_APPEND);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "{\"format\":\"ipcgc-pack 1\",\"entr", 30), 30);
        close(fd);
        struct archive_listing *l;
        assert_int_equal(archive_list(afd, &l), 0);
        assert_int_equal(l->n_items, 2);
        assert_int_equal(l->n_bad, 0);
        archive_listing_free(l);

        /* a drop whose write fails leaves the pack as it was */
        struct stat st;
        assert_int_equal(fstatat(afd, pack, &st, 0), 0);
        struct rlimit old, lim = { .rlim_cur = (rlim_t) st.st_size, .rlim_max = RLIM_INFINITY };
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        lim.rlim_max = old.rlim_max;
        signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        int r = archive_entry_remove(afd, pack, e[1].name);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        assert_true(r < 0);
        assert_int_equal(archive_list(afd, &l), 0);
        assert_int_equal(l->n_items, 2);
        assert_int_equal(l->n_bad, 0);
        archive_listing_free(l);
        close(afd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_dir_checks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_abort_and_uncommitted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hostile_packs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_evict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_abort_out_of_order_and_keep, setup, teardown),
                cmocka_unit_test_setup_teardown(test_drop_torn_and_failed, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
