/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sysv_parse() on fixture files in tests/fixtures/sysvipc/, laid out as the
 * kernel prints /proc/sysvipc/{shm,msg,sem}:
 *
 *   shm-64.txt         64-bit widths, 16 columns (size/rss/swap at %21lu)
 *   shm-32.txt         32-bit widths, 16 columns (size/rss/swap at %10lu)
 *   shm-14col.txt      older kernels, 14 columns (no rss/swap)
 *   msg.txt, sem.txt   14 and 10 columns
 *   shm-garbage.txt    good lines around bad ones, one per kind of fault
 *   shm-truncated.txt  last line without its newline
 *   shm-overlong.txt   a 3000-byte line between good ones
 *   shm-header-only.txt, empty.txt, random.bin
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc_object.h"
#include "macro.h"
#include "sysv.h"

/* Every field sysv_parse() sets, by the name struct ipc_object gives it. */
struct expect {
        int32_t key;
        int id;
        mode_t mode;
        uint64_t size;
        pid_t cpid, lpid, lrpid;
        uint64_t nattch, qnum;
        uid_t uid, cuid;
        gid_t gid, cgid;
        time_t atime, mtime, ctime, dtime;
        unsigned nsems;
};

static char *fixture_path(const char *name) {
        const char *top = getenv("top_srcdir");
        char *p;

        if (!top || !*top)
                top = ".";
        assert_true(asprintf(&p, "%s/tests/fixtures/sysvipc/%s", top, name) >= 0);
        return p;
}

/* Parses fixture NAME as TYPE with LABEL into a new inventory. */
static struct inventory *parse_fixture(enum ipc_type type, const char *name, const char *label) {
        _cleanup_free_ char *path = fixture_path(name);
        struct inventory *inv = NULL;
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                fail_msg("cannot open fixture %s: %s (is top_srcdir set?)", path, strerror(errno));
        assert_int_equal(inventory_new(&inv), 0);
        assert_int_equal(sysv_parse(type, f, label, inv), 0);
        (void) fclose(f);
        return inv;
}

static void check_object(const struct ipc_object *o, enum ipc_type type, const struct expect *e) {
        assert_int_equal(o->type, type);
        assert_int_equal(o->key, e->key);
        assert_int_equal(o->id, e->id);
        assert_int_equal(o->mode, e->mode);
        assert_int_equal(o->size, e->size);
        assert_int_equal(o->cpid, e->cpid);
        assert_int_equal(o->lpid, e->lpid);
        assert_int_equal(o->lrpid, e->lrpid);
        assert_int_equal(o->nattch, e->nattch);
        assert_int_equal(o->qnum, e->qnum);
        assert_int_equal(o->uid, e->uid);
        assert_int_equal(o->gid, e->gid);
        assert_int_equal(o->cuid, e->cuid);
        assert_int_equal(o->cgid, e->cgid);
        assert_int_equal(o->atime, e->atime);
        assert_int_equal(o->mtime, e->mtime);
        assert_int_equal(o->ctime, e->ctime);
        assert_int_equal(o->dtime, e->dtime);
        assert_int_equal(o->nsems, e->nsems);
        assert_null(o->name);
        assert_null(o->sems);
        assert_null(o->holders);
}

/* shm has no lrpid; msg has no cpid; sem has no pids at all. */
#define SHM(...) ((struct expect){ .lrpid = PID_NONE, __VA_ARGS__ })
#define MSG(...) ((struct expect){ .cpid = PID_NONE, __VA_ARGS__ })
#define SEM(...) ((struct expect){ .cpid = PID_NONE, .lpid = PID_NONE, .lrpid = PID_NONE, __VA_ARGS__ })

static void check_shm(const struct ipc_object *o, struct expect e) {
        check_object(o, IPC_TYPE_SHM, &e);
}

static void check_msg(const struct ipc_object *o, struct expect e) {
        check_object(o, IPC_TYPE_MSG, &e);
}

static void check_sem(const struct ipc_object *o, struct expect e) {
        check_object(o, IPC_TYPE_SEM, &e);
}

/* Asserts that warning I is "LABEL:LINE: " followed by text containing WHAT. */
static void check_warning(const struct inventory *inv, size_t i, const char *label, unsigned line, const char *what) {
        _cleanup_free_ char *prefix = NULL;

        assert_true(i < inv->n_warnings);
        assert_true(asprintf(&prefix, "%s:%u: ", label, line) >= 0);
        if (strncmp(inv->warnings[i], prefix, strlen(prefix)) != 0)
                fail_msg("warning %zu is \"%s\", expected it to start with \"%s\"", i, inv->warnings[i], prefix);
        if (what && !strstr(inv->warnings[i] + strlen(prefix), what))
                fail_msg("warning %zu is \"%s\", expected it to mention \"%s\"", i, inv->warnings[i], what);
}

static void test_shm_64bit(void **state) {
        _cleanup_(inventory_freep) struct inventory *inv = parse_fixture(IPC_TYPE_SHM, "shm-64.txt", "shm");

        assert_int_equal(inv->n_warnings, 0);
        assert_int_equal(inv->n_objects, 4);

        /* -559038737 is how the kernel prints key 0xdeadbeef */
        assert_int_equal((uint32_t) inv->objects[0].key, 0xdeadbeefu);
        check_shm(&inv->objects[0], SHM(.key = -559038737, .id = 32769, .mode = 0600, .size = UINT64_C(8589934592),
                                        .cpid = 1234, .lpid = 5678, .nattch = 2, .uid = 1000, .gid = 1001, .cuid = 1002,
                                        .cgid = 1003, .atime = 1700000000, .dtime = 1700000100, .ctime = 1699999999));
        /* IPC_PRIVATE, marked for destruction (SHM_DEST, 01000) */
        check_shm(&inv->objects[1], SHM(.key = 0, .id = 65538, .mode = 01600, .size = 4096, .cpid = 42, .lpid = 0,
                                        .nattch = 0, .ctime = 1700000200));
        /* extremes: INT32_MAX key and id, SHM_LOCKED (02000), 64-bit size and
         * nattch, uids past 2^31, times past 2038 */
        check_shm(&inv->objects[2],
                  SHM(.key = INT32_MAX, .id = INT32_MAX, .mode = 02666, .size = UINT64_MAX, .cpid = 4194304, .lpid = 1,
                      .nattch = UINT64_MAX, .uid = 65534, .gid = 65534, .cuid = 4294967294u, .cgid = 4294967295u,
                      .atime = INT64_C(4102444800), .dtime = INT64_C(4102444801), .ctime = INT64_C(4102444802)));
        check_shm(&inv->objects[3],
                  SHM(.key = INT32_MIN, .id = 1, .mode = 0, .size = 1, .cpid = 2, .lpid = 3, .nattch = 4, .uid = 5,
                      .gid = 6, .cuid = 7, .cgid = 8, .atime = 9, .dtime = 10, .ctime = 11));
}

static void test_shm_32bit(void **state) {
        _cleanup_(inventory_freep) struct inventory *inv = parse_fixture(IPC_TYPE_SHM, "shm-32.txt", "shm");

        assert_int_equal(inv->n_warnings, 0);
        assert_int_equal(inv->n_objects, 2);
        check_shm(&inv->objects[0], SHM(.key = -559038737, .id = 0, .mode = 0666, .size = 4294967295u, .cpid = 300,
                                        .lpid = 301, .nattch = 1, .uid = 1000, .gid = 100, .cuid = 1000, .cgid = 100,
                                        .atime = 1600000000, .dtime = 1600000001, .ctime = 1600000002));
        check_shm(&inv->objects[1], SHM(.key = 0x12345678, .id = 98307, .mode = 01640, .size = 65536, .cpid = 7,
                                        .lpid = 8, .uid = 33, .gid = 33, .ctime = 1600000003));
}

static void test_shm_14_columns(void **state) {
        _cleanup_(inventory_freep) struct inventory *inv = parse_fixture(IPC_TYPE_SHM, "shm-14col.txt", "shm");

        assert_int_equal(inv->n_warnings, 0);
        assert_int_equal(inv->n_objects, 2);
        check_shm(&inv->objects[0], SHM(.key = 1, .id = 5, .mode = 0644, .size = 1048576, .cpid = 900, .lpid = 901,
                                        .nattch = 3, .uid = 500, .gid = 501, .cuid = 502, .cgid = 503,
                                        .atime = 1300000000, .dtime = 1300000001, .ctime = 1300000002));
        check_shm(&inv->objects[1],
                  SHM(.key = -1, .id = 6, .mode = 01600, .size = 2, .cpid = 0, .lpid = 0, .ctime = 1300000003));
}

static void test_msg(void **state) {
        _cleanup_(inventory_freep) struct inventory *inv = parse_fixture(IPC_TYPE_MSG, "msg.txt", "msg");

        assert_int_equal(inv->n_warnings, 0);
        assert_int_equal(inv->n_objects, 2);
        /* lspid -> lpid, stime -> mtime, rtime -> atime, cbytes -> size */
        check_msg(&inv->objects[0], MSG(.key = -1, .id = 0, .mode = 0644, .size = 123456, .qnum = 7, .lpid = 111,
                                        .lrpid = 222, .uid = 1000, .gid = 1001, .cuid = 1002, .cgid = 1003,
                                        .mtime = 1700000001, .atime = 1700000002, .ctime = 1700000003));
        check_msg(&inv->objects[1], MSG(.key = 0x123456, .id = 32768, .mode = 0620, .size = 0, .qnum = 0, .lpid = 0,
                                        .lrpid = 0, .uid = 0, .gid = 5, .cuid = 0, .cgid = 5, .ctime = 1700000004));
}

static void test_sem(void **state) {
        _cleanup_(inventory_freep) struct inventory *inv = parse_fixture(IPC_TYPE_SEM, "sem.txt", "sem");

        assert_int_equal(inv->n_warnings, 0);
        assert_int_equal(inv->n_objects, 2);
        /* otime -> mtime; the set keeps no pids */
        check_sem(&inv->objects[0], SEM(.key = 0x12345678, .id = 0, .mode = 0600, .nsems = 1, .uid = 1000, .gid = 1001,
                                        .cuid = 1002, .cgid = 1003, .mtime = 1700000005, .ctime = 1700000006));
        check_sem(&inv->objects[1],
                  SEM(.key = -559038737, .id = 65537, .mode = 0666, .nsems = 250, .ctime = 1700000007));
        assert_int_equal(inv->objects[0].cpid, PID_NONE);
        assert_int_equal(inv->objects[0].lpid, PID_NONE);
}

/* The lines of shm-garbage.txt that are good, and where they sit. */
static const struct expect garbage_good_a =
        SHM(.key = 100, .id = 1, .mode = 0600, .size = 10, .cpid = 11, .lpid = 12, .nattch = 1, .uid = 20, .gid = 21,
            .cuid = 22, .cgid = 23, .atime = 30, .dtime = 31, .ctime = 32);
static const struct expect garbage_good_b =
        SHM(.key = 200, .id = 2, .mode = 0640, .size = 20, .cpid = 13, .lpid = 14, .nattch = 0, .uid = 24, .gid = 25,
            .cuid = 26, .cgid = 27, .atime = 33, .dtime = 34, .ctime = 35);
static const struct expect garbage_good_c =
        SHM(.key = 300, .id = 3, .mode = 0644, .size = 30, .cpid = 15, .lpid = 16, .nattch = 2, .uid = 28, .gid = 29,
            .cuid = 30, .cgid = 31, .atime = 36, .dtime = 37, .ctime = 38);

static void test_garbage_lines(void **state) {
        _cleanup_(inventory_freep) struct inventory *inv =
                parse_fixture(IPC_TYPE_SHM, "shm-garbage.txt", "shm-garbage");

        assert_int_equal(inv->n_objects, 4);
        check_shm(&inv->objects[0], garbage_good_a);
        check_shm(&inv->objects[1], garbage_good_b);
        /* line 11: the key as unsigned decimal (0xdeadbeef) is taken too */
        check_shm(&inv->objects[2],
                  SHM(.key = -559038737, .id = 4, .mode = 0600, .size = 40, .cpid = 41, .lpid = 42, .nattch = 4,
                      .uid = 43, .gid = 44, .cuid = 45, .cgid = 46, .atime = 47, .dtime = 48, .ctime = 49));
        /* line 14: tab-separated */
        check_shm(&inv->objects[3], garbage_good_c);

        /* line 7 is blank: skipped without a word */
        assert_int_equal(inv->n_warnings, 8);
        assert_int_equal(inv->n_warnings_dropped, 0);
        check_warning(inv, 0, "shm-garbage", 3, "got 8");              /* 8 words of prose */
        check_warning(inv, 1, "shm-garbage", 5, "got 15");             /* 15 fields */
        check_warning(inv, 2, "shm-garbage", 6, "malformed");          /* uid "x" */
        check_warning(inv, 3, "shm-garbage", 8, "malformed");          /* perms "9": not octal */
        check_warning(inv, 4, "shm-garbage", 9, "malformed");          /* cpid "-5" */
        check_warning(inv, 5, "shm-garbage", 10, "malformed");         /* key 2^32 */
        check_warning(inv, 6, "shm-garbage", 12, "expected 16 or 14"); /* 25 fields */
        check_warning(inv, 7, "shm-garbage", 13, "malformed");         /* header again, not on line 1 */
}

static void test_truncated_last_line(void **state) {
        _cleanup_(inventory_freep) struct inventory *inv =
                parse_fixture(IPC_TYPE_SHM, "shm-truncated.txt", "shm-truncated");

        /* Line 3 is complete in its fields but has no newline: a read that
         * raced the kernel, so it is not trusted. */
        assert_int_equal(inv->n_objects, 1);
        check_shm(&inv->objects[0], garbage_good_a);
        assert_int_equal(inv->n_warnings, 1);
        check_warning(inv, 0, "shm-truncated", 3, "truncated");
}

static void test_overlong_line(void **state) {
        _cleanup_(inventory_freep) struct inventory *inv =
                parse_fixture(IPC_TYPE_SHM, "shm-overlong.txt", "shm-overlong");

        /* Line 3 is 3000 bytes; the line count must not drift past it. */
        assert_int_equal(inv->n_objects, 3);
        check_shm(&inv->objects[0], garbage_good_a);
        check_shm(&inv->objects[1], garbage_good_b);
        check_shm(&inv->objects[2], garbage_good_c);
        assert_int_equal(inv->n_warnings, 2);
        check_warning(inv, 0, "shm-overlong", 3, "too long");
        check_warning(inv, 1, "shm-overlong", 5, "got 3");
}

static void test_empty_file(void **state) {
        for (enum ipc_type t = IPC_TYPE_SHM; t <= IPC_TYPE_SEM; t++) {
                _cleanup_(inventory_freep) struct inventory *inv = parse_fixture(t, "empty.txt", "empty");

                assert_int_equal(inv->n_objects, 0);
                assert_int_equal(inv->n_warnings, 0);
                assert_int_equal(inv->unavailable, 0);
        }
}

static void test_header_only(void **state) {
        _cleanup_(inventory_freep) struct inventory *inv =
                parse_fixture(IPC_TYPE_SHM, "shm-header-only.txt", "shm-header-only");

        assert_int_equal(inv->n_objects, 0);
        assert_int_equal(inv->n_warnings, 0);
}

static void test_random_bytes(void **state) {
        for (enum ipc_type t = IPC_TYPE_SHM; t <= IPC_TYPE_SEM; t++) {
                _cleanup_(inventory_freep) struct inventory *inv = parse_fixture(t, "random.bin", "random");

                /* Nothing in 4 KiB of noise passes for an object; every
                 * complaint names the file and a line. */
                assert_int_equal(inv->n_objects, 0);
                assert_true(inv->n_warnings > 0);
                for (size_t i = 0; i < inv->n_warnings; i++) {
                        unsigned line;
                        int consumed = 0;

                        assert_int_equal(sscanf(inv->warnings[i], "random:%u: %n", &line, &consumed), 1);
                        assert_true(consumed > 0);
                        assert_true(line >= 1);
                }
        }
}

/* The same good lines, read through sysv_collect(), which labels them with
 * the path it opened. */
static void test_collect_labels_with_path(void **state) {
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        _cleanup_free_ char *fixture = fixture_path("shm-garbage.txt"), *abs = NULL, *link = NULL, *label = NULL;
        char dir[] = "/tmp/test_sysv.XXXXXX";

        assert_non_null(mkdtemp(dir));
        abs = realpath(fixture, NULL);
        assert_non_null(abs);
        assert_true(asprintf(&link, "%s/shm", dir) >= 0);
        assert_int_equal(symlink(abs, link), 0);

        assert_int_equal(inventory_new(&inv), 0);
        assert_int_equal(sysv_collect(IPC_TYPE_SHM, dir, NULL, inv), 0);
        assert_int_equal(inv->unavailable, 0);
        assert_int_equal(inv->n_objects, 4);
        check_shm(&inv->objects[3], garbage_good_c);
        assert_int_equal(inv->n_warnings, 8);
        check_warning(inv, 0, link, 3, NULL);
        check_warning(inv, 7, link, 13, NULL);

        assert_int_equal(unlink(link), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void test_collect_missing_file(void **state) {
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        char dir[] = "/tmp/test_sysv.XXXXXX";

        /* A kernel without SysV IPC has no /proc/sysvipc/msg. */
        assert_non_null(mkdtemp(dir));
        assert_int_equal(inventory_new(&inv), 0);
        assert_int_equal(sysv_collect(IPC_TYPE_MSG, dir, NULL, inv), 0);
        assert_int_equal(inv->n_objects, 0);
        assert_int_equal(inv->unavailable, IPC_TYPE_BIT(IPC_TYPE_MSG));
        assert_int_equal(inv->n_warnings, 1);
        assert_non_null(strstr(inv->warnings[0], dir));
        assert_int_equal(rmdir(dir), 0);
}

static void test_not_sysv_type(void **state) {
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        _cleanup_free_ char *path = fixture_path("shm-64.txt");
        _cleanup_fclose_ FILE *f = fopen(path, "re");

        assert_non_null(f);
        assert_int_equal(inventory_new(&inv), 0);
        assert_int_equal(sysv_parse(IPC_TYPE_MQ, f, "mq", inv), -EINVAL);
        assert_int_equal(sysv_parse(IPC_TYPE_FIFO, f, "fifo", inv), -EINVAL);
        assert_int_equal(inv->n_objects, 0);
        assert_int_equal(inv->n_warnings, 0);
}

int main(void) {
        /* clang-format off */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shm_64bit),
                cmocka_unit_test(test_shm_32bit),
                cmocka_unit_test(test_shm_14_columns),
                cmocka_unit_test(test_msg),
                cmocka_unit_test(test_sem),
                cmocka_unit_test(test_garbage_lines),
                cmocka_unit_test(test_truncated_last_line),
                cmocka_unit_test(test_overlong_line),
                cmocka_unit_test(test_empty_file),
                cmocka_unit_test(test_header_only),
                cmocka_unit_test(test_random_bytes),
                cmocka_unit_test(test_collect_labels_with_path),
                cmocka_unit_test(test_collect_missing_file),
                cmocka_unit_test(test_not_sysv_type),
        };
        /* clang-format on */

        return cmocka_run_group_tests_name("sysv_parse: /proc/sysvipc fixtures", tests, NULL, NULL);
}
