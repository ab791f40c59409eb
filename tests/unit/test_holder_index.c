/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* holder_index: (dev, ino) -> pids, for wanted keys only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <sys/sysmacros.h>

#include "holder_index.h"
#include "macro.h"

static void check_pids(const struct holder_index *idx, dev_t dev, ino_t ino, const pid_t *want, size_t n_want) {
        size_t n = 12345;
        const pid_t *pids = holder_index_get(idx, dev, ino, &n);

        assert_int_equal(n, n_want);
        if (n_want == 0)
                return;
        assert_non_null(pids);
        for (size_t i = 0; i < n_want; i++)
                assert_int_equal(pids[i], want[i]);
}

static void test_want_add_get(void **state) {
        _cleanup_(holder_index_freep) struct holder_index *idx = NULL;
        const dev_t d1 = makedev(8, 1), d2 = makedev(0, 27);

        assert_int_equal(holder_index_new(4, &idx), 0);
        assert_int_equal(holder_index_size(idx), 0);

        assert_int_equal(holder_index_want(idx, d1, 100), 0);
        assert_int_equal(holder_index_want(idx, d2, 100), 0); /* same inode, other device */
        assert_int_equal(holder_index_want(idx, d1, 101), 0);
        assert_int_equal(holder_index_size(idx), 3);

        assert_true(holder_index_wants(idx, d1, 100));
        assert_true(holder_index_wants(idx, d2, 100));
        assert_true(holder_index_wants(idx, d1, 101));
        assert_false(holder_index_wants(idx, d2, 101));
        assert_false(holder_index_wants(idx, d1, 102));

        /* Wanted but nobody holds it yet. */
        size_t n = 99;
        assert_null(holder_index_get(idx, d1, 100, &n));
        assert_int_equal(n, 0);

        assert_int_equal(holder_index_add(idx, d1, 100, 10), 0);
        assert_int_equal(holder_index_add(idx, d1, 100, 20), 0);
        assert_int_equal(holder_index_add(idx, d2, 100, 30), 0);
        assert_int_equal(holder_index_add(idx, d1, 101, 20), 0);

        check_pids(idx, d1, 100, (const pid_t[]){ 10, 20 }, 2); /* in the order seen */
        check_pids(idx, d2, 100, (const pid_t[]){ 30 }, 1);
        check_pids(idx, d1, 101, (const pid_t[]){ 20 }, 1);
        assert_int_equal(holder_index_size(idx), 3);
}

static void test_want_twice(void **state) {
        _cleanup_(holder_index_freep) struct holder_index *idx = NULL;

        assert_int_equal(holder_index_new(0, &idx), 0);
        assert_int_equal(holder_index_want(idx, 1, 1), 0);
        assert_int_equal(holder_index_add(idx, 1, 1, 7), 0);
        /* A second want neither adds a key nor forgets the holders. */
        assert_int_equal(holder_index_want(idx, 1, 1), 0);
        assert_int_equal(holder_index_size(idx), 1);
        check_pids(idx, 1, 1, (const pid_t[]){ 7 }, 1);
}

static void test_same_pid_collapses(void **state) {
        _cleanup_(holder_index_freep) struct holder_index *idx = NULL;
        const dev_t d = makedev(253, 1);

        assert_int_equal(holder_index_new(1, &idx), 0);
        assert_int_equal(holder_index_want(idx, d, 5), 0);

        /* Several fds and mappings of one file in one process: one holder. */
        for (int i = 0; i < 10; i++)
                assert_int_equal(holder_index_add(idx, d, 5, 1000), 0);
        check_pids(idx, d, 5, (const pid_t[]){ 1000 }, 1);

        for (int i = 0; i < 3; i++)
                assert_int_equal(holder_index_add(idx, d, 5, 1001), 0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(holder_index_add(idx, d, 5, 1002), 0);
        check_pids(idx, d, 5, (const pid_t[]){ 1000, 1001, 1002 }, 3);
}

static void test_unwanted_ignored(void **state) {
        _cleanup_(holder_index_freep) struct holder_index *idx = NULL;
        const dev_t d = makedev(8, 2);

        assert_int_equal(holder_index_new(2, &idx), 0);
        assert_int_equal(holder_index_want(idx, d, 1), 0);

        /* What a /proc scan sees for every other file on the machine. */
        for (ino_t ino = 2; ino < 200; ino++)
                assert_int_equal(holder_index_add(idx, d, ino, (pid_t) ino), 0);
        assert_int_equal(holder_index_add(idx, makedev(8, 3), 1, 77), 0);
        assert_int_equal(holder_index_add(idx, HOLDER_DEV_SYSV_SHM, 1, 78), 0);

        assert_int_equal(holder_index_size(idx), 1);
        for (ino_t ino = 2; ino < 200; ino++) {
                assert_false(holder_index_wants(idx, d, ino));
                check_pids(idx, d, ino, NULL, 0);
        }
        check_pids(idx, makedev(8, 3), 1, NULL, 0);
        check_pids(idx, HOLDER_DEV_SYSV_SHM, 1, NULL, 0);
        check_pids(idx, d, 1, NULL, 0);
}

#define N_KEYS 5000u

static void test_growth(void **state) {
        _cleanup_(holder_index_freep) struct holder_index *idx = NULL;

        /* Sized for 2 keys, then asked for thousands: it must grow and keep
         * every key and holder recorded before each resize. */
        assert_int_equal(holder_index_new(2, &idx), 0);
        for (unsigned i = 0; i < N_KEYS; i++) {
                dev_t dev = makedev(8 + i % 3, i % 7);

                assert_int_equal(holder_index_want(idx, dev, 1000 + i), 0);
                assert_int_equal(holder_index_add(idx, dev, 1000 + i, (pid_t) (i + 1)), 0);
                if (i % 2 == 0)
                        assert_int_equal(holder_index_add(idx, dev, 1000 + i, (pid_t) (i + 100000)), 0);
        }
        assert_int_equal(holder_index_size(idx), N_KEYS);

        for (unsigned i = 0; i < N_KEYS; i++) {
                dev_t dev = makedev(8 + i % 3, i % 7);

                assert_true(holder_index_wants(idx, dev, 1000 + i));
                if (i % 2 == 0)
                        check_pids(idx, dev, 1000 + i, (const pid_t[]){ (pid_t) (i + 1), (pid_t) (i + 100000) }, 2);
                else
                        check_pids(idx, dev, 1000 + i, (const pid_t[]){ (pid_t) (i + 1) }, 1);
        }
        /* Neighbours of the wanted keys stay unwanted. */
        assert_false(holder_index_wants(idx, makedev(8, 0), 999));
        assert_false(holder_index_wants(idx, makedev(8, 0), 1000 + N_KEYS));
        assert_false(holder_index_wants(idx, makedev(11, 0), 1000));
}

static void test_big_expected(void **state) {
        _cleanup_(holder_index_freep) struct holder_index *idx = NULL;

        assert_int_equal(holder_index_new(N_KEYS, &idx), 0);
        for (unsigned i = 0; i < N_KEYS; i++)
                assert_int_equal(holder_index_want(idx, 42, i + 1), 0);
        assert_int_equal(holder_index_size(idx), N_KEYS);
        for (unsigned i = 0; i < N_KEYS; i++)
                assert_true(holder_index_wants(idx, 42, i + 1));
        assert_false(holder_index_wants(idx, 42, 0));
}

static void test_sysv_shm_keys(void **state) {
        _cleanup_(holder_index_freep) struct holder_index *idx = NULL;
        const dev_t shm_mount = makedev(0, 1); /* where /proc/PID/maps says SYSV segments live */

        assert_int_equal(holder_index_new(4, &idx), 0);
        /* shmid 0 is a real id. */
        assert_int_equal(holder_index_want(idx, HOLDER_DEV_SYSV_SHM, 0), 0);
        assert_int_equal(holder_index_want(idx, HOLDER_DEV_SYSV_SHM, 32769), 0);
        assert_int_equal(holder_index_want(idx, shm_mount, 32769), 0);
        assert_int_equal(holder_index_size(idx), 3);

        assert_int_equal(holder_index_add(idx, HOLDER_DEV_SYSV_SHM, 32769, 500), 0);
        assert_int_equal(holder_index_add(idx, HOLDER_DEV_SYSV_SHM, 32769, 501), 0);
        assert_int_equal(holder_index_add(idx, HOLDER_DEV_SYSV_SHM, 0, 502), 0);
        assert_int_equal(holder_index_add(idx, HOLDER_DEV_SYSV_SHM, 32770, 503), 0); /* not wanted */

        check_pids(idx, HOLDER_DEV_SYSV_SHM, 32769, (const pid_t[]){ 500, 501 }, 2);
        check_pids(idx, HOLDER_DEV_SYSV_SHM, 0, (const pid_t[]){ 502 }, 1);
        /* The same number as a file's inode is another key. */
        check_pids(idx, shm_mount, 32769, NULL, 0);
        assert_false(holder_index_wants(idx, HOLDER_DEV_SYSV_SHM, 32770));
        assert_false(holder_index_wants(idx, 0, 32769));
}

static void test_free_null(void **state) {
        assert_null(holder_index_free(NULL));
}

int main(void) {
        /* clang-format off */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_want_add_get),
                cmocka_unit_test(test_want_twice),
                cmocka_unit_test(test_same_pid_collapses),
                cmocka_unit_test(test_unwanted_ignored),
                cmocka_unit_test(test_growth),
                cmocka_unit_test(test_big_expected),
                cmocka_unit_test(test_sysv_shm_keys),
                cmocka_unit_test(test_free_null),
        };
        /* clang-format on */

        return cmocka_run_group_tests_name("holder_index", tests, NULL, NULL);
}
