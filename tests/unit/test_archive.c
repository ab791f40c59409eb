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

/* A committed entry for O, removed at WHEN, with N bytes of contents. */
static void make_entry(int afd, const struct ipc_object *o, time_t when, size_t n, char name[static ARCHIVE_NAME_MAX]) {
        struct archive_entry e;
        struct archive_removal why = { .time = when, .verdict = "ORPHAN", .reason = (char *) "nattch 0; \"quoted\"\n",
                                       .rule = (char *) "default", .by_uid = 0, .by_pid = 77 };
        struct archive_contents c = { .bytes = n, .locked = true };

        assert_int_equal(archive_entry_begin(afd, o, when, &e), 0);
        if (n) {
                int fd = archive_contents_open(e.fd, NULL);
                assert_true(fd >= 0);
                char *buf = calloc(1, n);
                assert_non_null(buf);
                memset(buf, 0x5a, n);
                assert_int_equal(write(fd, buf, n), (ssize_t) n);
                free(buf);
                close(fd);
        }
        assert_int_equal(archive_manifest_write(&e, o, &why, &c), 0);
        assert_int_equal(archive_entry_commit(afd, &e), 0);
        strcpy(name, e.name);
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
        int afd;
        char name[ARCHIVE_NAME_MAX];
        (void) state;

        assert_int_equal(archive_open_dir(dir, ARCHIVE_CREATE, &afd), 0);
        struct ipc_object o = shm_object(5);
        make_entry(afd, &o, 1800000000, 4096, name);
        assert_non_null(strstr(name, "-shm-5-"));
        /* Named by the clock to the microsecond, so that names of one
         * second sort as made: YYYYmmddTHHMMSS.uuuuuuZ */
        assert_int_equal(strlen(name) > 23 && name[8] == 'T' && name[15] == '.' && name[22] == 'Z', 1);

        /* one regular file, 0600: the manifest, then the contents at
         * ARCHIVE_DATA_OFFSET */
        int dfd;
        uint64_t disk;
        assert_int_equal(archive_entry_open(afd, name, &dfd, &disk), 0);
        struct stat st;
        assert_int_equal(fstat(dfd, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_size, ARCHIVE_DATA_OFFSET + 4096);
        assert_int_equal(disk, (uint64_t) st.st_blocks * 512);
        assert_true(disk < ARCHIVE_DATA_OFFSET); /* the gap is a hole */
        uint64_t size;
        int cfd = archive_contents_open(dfd, &size);
        assert_true(cfd >= 0);
        assert_int_equal(size, 4096);
        unsigned char byte;
        assert_int_equal(read(cfd, &byte, 1), 1);
        assert_int_equal(byte, 0x5a);
        close(cfd);

        struct ipc_object back;
        struct archive_removal why;
        struct archive_contents c;
        assert_int_equal(archive_manifest_read(dfd, &back, &why, &c), 0);
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
        close(dfd);

        /* a named object: its name kept, made safe in the entry's name */
        struct ipc_object f = { .type = IPC_TYPE_FIFO, .id = -1, .name = (char *) "/tmp/a b/../x\n", .mode = 0640,
                                .cpid = PID_NONE, .lpid = PID_NONE, .lrpid = PID_NONE, .dev = 2049, .ino = 77 };
        make_entry(afd, &f, 1800000100, 0, name);
        assert_null(strchr(name, '/'));
        assert_null(strchr(name, ' '));
        assert_int_equal(archive_entry_open(afd, name, &dfd, NULL), 0);
        assert_int_equal(fstat(dfd, &st), 0);
        assert_true(st.st_size < ARCHIVE_DATA_OFFSET); /* no contents: the manifest alone */
        assert_int_equal(archive_manifest_read(dfd, &back, &why, &c), 0);
        assert_string_equal(back.name, f.name);
        assert_int_equal(back.ino, 77);
        ipc_object_done(&back);
        archive_removal_done(&why);
        close(dfd);

        /* the listing: newest first, both, nothing bad */
        struct archive_listing *l;
        assert_int_equal(archive_list(afd, &l), 0);
        assert_int_equal(l->n_items, 2);
        assert_int_equal(l->n_bad, 0);
        assert_int_equal(l->items[0].object.type, IPC_TYPE_FIFO);
        assert_int_equal(l->items[1].object.type, IPC_TYPE_SHM);
        assert_true(l->items[1].disk_bytes >= 4096);
        archive_listing_free(l);
        close(afd);
}

static void test_abort_and_uncommitted(void **state) {
        int afd;
        struct archive_entry e;
        (void) state;

        assert_int_equal(archive_open_dir(dir, ARCHIVE_CREATE, &afd), 0);
        struct ipc_object o = shm_object(6);
        assert_int_equal(archive_entry_begin(afd, &o, 1800000000, &e), 0);
        int fd = archive_contents_open(e.fd, NULL);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
        /* not committed: not listed, and (O_TMPFILE) not even named */
        struct archive_listing *l;
        assert_int_equal(archive_list(afd, &l), 0);
        assert_int_equal(l->n_items, 0);
        assert_int_equal(l->n_bad, 0);
        archive_listing_free(l);
        assert_int_equal(count_names(afd), e.tmp[0] ? 1 : 0);
        archive_entry_abort(afd, &e);
        assert_int_equal(count_names(afd), 0);
        assert_int_equal(e.fd, -1);

        /* a manifest that would reach the contents is refused */
        char *reason = malloc(ARCHIVE_DATA_OFFSET);
        assert_non_null(reason);
        memset(reason, 'r', ARCHIVE_DATA_OFFSET - 1);
        reason[ARCHIVE_DATA_OFFSET - 1] = 0;
        struct archive_removal why = { .time = 1800000000, .verdict = "ORPHAN", .reason = reason };
        struct archive_contents c = {};
        assert_int_equal(archive_entry_begin(afd, &o, 1800000000, &e), 0);
        assert_int_equal(archive_manifest_write(&e, &o, &why, &c), -E2BIG);
        archive_entry_abort(afd, &e);
        free(reason);
        assert_int_equal(count_names(afd), 0);
        close(afd);
}

/* Writes TEXT as the manifest of a new committed-looking entry NAME. */
static void plant(int afd, const char *name, const char *text) {
        int fd = openat(afd, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

static void test_hostile_manifests(void **state) {
        int afd;
        char name[ARCHIVE_NAME_MAX];
        (void) state;

        assert_int_equal(archive_open_dir(dir, ARCHIVE_CREATE, &afd), 0);
        struct ipc_object o = shm_object(7);
        make_entry(afd, &o, 1800000000, 0, name);
        /* one good entry, and every kind of bad one beside it */
        plant(afd, "bad-notjson", "{\"format\":");
        plant(afd, "bad-format", "{\"format\":\"ipcgc-archive 999\"}");
        plant(afd, "bad-empty", "");
        plant(afd, "bad-array", "[1,2]");
        /* a good manifest with one field out of range: a uid of -1 */
        char buf[ARCHIVE_DATA_OFFSET];
        int fd = openat(afd, name, O_RDONLY);
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        assert_true(n > 0);
        buf[n] = 0;
        close(fd);
        char *u = strstr(buf, "\"uid\":4601");
        assert_non_null(u);
        char evil[ARCHIVE_DATA_OFFSET + 32];
        snprintf(evil, sizeof(evil), "%.*s\"uid\":-1%s", (int) (u - buf), buf, u + strlen("\"uid\":4601"));
        plant(afd, "bad-uid", evil);
        /* a sysv object with a name, a file object without one */
        char *t = strstr(buf, "\"name\":null");
        assert_non_null(t);
        snprintf(evil, sizeof(evil), "%.*s\"name\":\"/x\"%s", (int) (t - buf), buf, t + strlen("\"name\":null"));
        plant(afd, "bad-name", evil);
        /* an entry that is a symlink to the good one: not followed */
        assert_int_equal(symlinkat(name, afd, "bad-link"), 0);
        /* a FIFO as an entry: not opened for reading, not waited on */
        assert_int_equal(mkfifoat(afd, "bad-fifo", 0600), 0);
        /* a directory (as entries of "ipcgc-archive 1" were) */
        assert_int_equal(mkdirat(afd, "bad-dir", 0700), 0);
        /* no NUL within the manifest's room: larger than any written */
        char *big = malloc(ARCHIVE_DATA_OFFSET + 2);
        memset(big, ' ', ARCHIVE_DATA_OFFSET + 1);
        big[ARCHIVE_DATA_OFFSET + 1] = 0;
        plant(afd, "bad-big", big);
        free(big);

        struct archive_listing *l;
        assert_int_equal(archive_list(afd, &l), 0);
        assert_int_equal(l->n_items, 1);
        assert_int_equal(l->n_bad, 10);
        assert_string_equal(l->items[0].name, name);
        archive_listing_free(l);
        close(afd);
}

static void test_evict(void **state) {
        int afd;
        char names[10][ARCHIVE_NAME_MAX];
        size_t evicted;
        (void) state;

        assert_int_equal(archive_open_dir(dir, ARCHIVE_CREATE, &afd), 0);
        for (int i = 0; i < 10; i++) {
                struct ipc_object o = shm_object(100 + i);
                make_entry(afd, &o, 1800000000 + i * 60, 64 * 1024, names[i]);
        }
        struct archive_listing *l;
        assert_int_equal(archive_list(afd, &l), 0);
        uint64_t one = l->items[0].disk_bytes;
        archive_listing_free(l);
        assert_true(one >= 64 * 1024);

        /* room for four: the six oldest go */
        assert_int_equal(archive_evict(afd, 4 * one, 1800000000 + 10 * 60, 0, &evicted), 0);
        assert_int_equal(evicted, 6);
        assert_int_equal(archive_list(afd, &l), 0);
        assert_int_equal(l->n_items, 4);
        for (size_t i = 0; i < 4; i++)
                assert_string_equal(l->items[i].name, names[9 - i]);
        archive_listing_free(l);

        /* room for one, but none removed less than 200 s ago may go: only
         * names[6] (240 s ago) goes, and the archive says it is full */
        assert_int_equal(archive_evict(afd, one, 1800000000 + 10 * 60, 200, &evicted), -EDQUOT);
        assert_int_equal(evicted, 1);
        assert_int_equal(archive_list(afd, &l), 0);
        assert_int_equal(l->n_items, 3);
        assert_string_equal(l->items[2].name, names[7]);
        archive_listing_free(l);
        close(afd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_dir_checks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_abort_and_uncommitted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hostile_manifests, setup, teardown),
                cmocka_unit_test_setup_teardown(test_evict, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
