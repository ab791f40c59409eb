/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* format_bytes(), format_duration(), format_perms() and ipc_type_mask_parse(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "format.h"
#include "ipc_object.h"

static void check_bytes(uint64_t bytes, const char *want) {
        char buf[FORMAT_BYTES_MAX];

        memset(buf, 'x', sizeof(buf));
        assert_ptr_equal(format_bytes(buf, bytes), buf);
        assert_string_equal(buf, want);
}

static void check_duration(uint64_t seconds, const char *want) {
        char buf[FORMAT_DURATION_MAX];

        memset(buf, 'x', sizeof(buf));
        assert_ptr_equal(format_duration(buf, seconds), buf);
        assert_string_equal(buf, want);
}

static void check_perms(mode_t mode, const char *want) {
        char buf[FORMAT_PERMS_MAX];

        memset(buf, 'x', sizeof(buf));
        assert_ptr_equal(format_perms(buf, mode), buf);
        assert_string_equal(buf, want);
}

static void test_format_bytes(void **state) {
        check_bytes(0, "0");
        check_bytes(1, "1");
        check_bytes(1023, "1023");
        check_bytes(1024, "1K");
        check_bytes(1536, "1.5K");
        check_bytes(4096, "4K");
        check_bytes(1024 + 102, "1.1K"); /* 1.0996 rounds up */
        check_bytes(1024 + 51, "1K");    /* 1.0498: the tenth rounds to zero and is dropped */
        check_bytes(1048576, "1M");
        check_bytes(1048576 + 524288, "1.5M");
        check_bytes(UINT64_C(1) << 30, "1G");
        check_bytes(UINT64_C(5) << 40, "5T");
        check_bytes(UINT64_C(1) << 50, "1P");
        check_bytes(UINT64_C(1) << 60, "1E");
        check_bytes(UINT64_MAX, "16E");
}

static void test_format_duration(void **state) {
        check_duration(0, "0s");
        check_duration(59, "59s");
        check_duration(60, "1m");
        check_duration(119, "1m"); /* the largest whole unit, never rounded up */
        check_duration(3599, "59m");
        check_duration(3600, "1h");
        check_duration(7200, "2h");
        check_duration(86399, "23h");
        check_duration(86400, "1d");
        check_duration(86400 * 3, "3d");
        check_duration(86400 * 364, "364d");
        check_duration(86400 * 365, "1y");
        check_duration(86400 * 365 * 2 + 5, "2y");
        check_duration(UINT64_MAX, "584942417355y");
}

static void test_format_perms(void **state) {
        check_perms(0640, "rw-r-----");
        check_perms(0, "---------");
        check_perms(0777, "rwxrwxrwx");
        check_perms(0600, "rw-------");
        check_perms(0421, "r---w---x");
        /* SysV flags and file type bits above 0777 do not show */
        check_perms(01600, "rw-------");
        check_perms(02666, "rw-rw-rw-");
        check_perms(S_IFIFO | 0644, "rw-r--r--");
}

static void test_ipc_type_mask_parse(void **state) {
        unsigned mask;

        assert_int_equal(ipc_type_mask_parse("shm,msg", &mask), 0);
        assert_int_equal(mask, IPC_TYPE_BIT(IPC_TYPE_SHM) | IPC_TYPE_BIT(IPC_TYPE_MSG));

        assert_int_equal(ipc_type_mask_parse("sem mq\tfifo", &mask), 0);
        assert_int_equal(mask, IPC_TYPE_BIT(IPC_TYPE_SEM) | IPC_TYPE_BIT(IPC_TYPE_MQ) | IPC_TYPE_BIT(IPC_TYPE_FIFO));

        assert_int_equal(ipc_type_mask_parse(" pshm, ,psem ,", &mask), 0);
        assert_int_equal(mask, IPC_TYPE_BIT(IPC_TYPE_PSHM) | IPC_TYPE_BIT(IPC_TYPE_PSEM));

        assert_int_equal(ipc_type_mask_parse("all", &mask), 0);
        assert_int_equal(mask, IPC_TYPE_MASK_ALL);
        assert_int_equal(mask, (1u << _IPC_TYPE_MAX) - 1);

        assert_int_equal(ipc_type_mask_parse("shm shm", &mask), 0);
        assert_int_equal(mask, IPC_TYPE_BIT(IPC_TYPE_SHM));

        /* Failures leave *ret_mask alone. */
        mask = 0xabcdu;
        assert_int_equal(ipc_type_mask_parse("", &mask), -EINVAL);
        assert_int_equal(ipc_type_mask_parse(" , \t", &mask), -EINVAL);
        assert_int_equal(ipc_type_mask_parse("bogus", &mask), -EINVAL);
        assert_int_equal(ipc_type_mask_parse("shm,bogus", &mask), -EINVAL);
        assert_int_equal(ipc_type_mask_parse("SHM", &mask), -EINVAL);
        assert_int_equal(ipc_type_mask_parse("shmmsg", &mask), -EINVAL);
        assert_int_equal(ipc_type_mask_parse("averyveryverylongtypename", &mask), -EINVAL);
        assert_int_equal(mask, 0xabcdu);
}

static void test_ipc_type_names(void **state) {
        for (int t = 0; t < _IPC_TYPE_MAX; t++) {
                const char *s = ipc_type_to_string((enum ipc_type) t);

                assert_non_null(s);
                assert_int_equal(ipc_type_from_string(s), t);
        }
        assert_string_equal(ipc_type_to_string(IPC_TYPE_SHM), "shm");
        assert_string_equal(ipc_type_to_string(IPC_TYPE_PSEM), "psem");
        assert_null(ipc_type_to_string(_IPC_TYPE_MAX));
        assert_int_equal(ipc_type_from_string("all"), -EINVAL);
        assert_int_equal(ipc_type_from_string(""), -EINVAL);
}

int main(void) {
        /* clang-format off */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_bytes),
                cmocka_unit_test(test_format_duration),
                cmocka_unit_test(test_format_perms),
                cmocka_unit_test(test_ipc_type_mask_parse),
                cmocka_unit_test(test_ipc_type_names),
        };
        /* clang-format on */

        return cmocka_run_group_tests_name("format and ipc_type_mask_parse", tests, NULL, NULL);
}
