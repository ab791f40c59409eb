/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmdline_read() on a /proc of our own making: arguments joined, escaped,
 * cut at CMDLINE_SHOWN_MAX, and refused for a pid that is now another
 * process, a kernel thread, or none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmdline.h"
#include "macro.h"

static char root[] = "/tmp/ipcgc-test-cmdline.XXXXXX";

/* ROOT/PID/stat for COMM, and ROOT/PID/cmdline of LEN bytes of TEXT. */
static void make_process(int pid, const char *comm, const char *text, size_t len) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%d", root, pid);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/%d/stat", root, pid);
        assert_non_null(f = fopen(path, "we"));
        fprintf(f, "%d (%s) S 1 1 1 0 -1 4194560", pid, comm);
        for (int k = 10; k <= 52; k++)
                fprintf(f, " %d", k == 22 ? 12345 : 0);
        fputc('\n', f);
        assert_int_equal(fclose(f), 0);
        snprintf(path, sizeof(path), "%s/%d/cmdline", root, pid);
        assert_non_null(f = fopen(path, "we"));
        assert_int_equal(fwrite(text, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
}

static int setup(void **state) {
        (void) state;
        assert_non_null(mkdtemp(root));
        return 0;
}

static int teardown(void **state) {
        char cmd[128];
        (void) state;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        return system(cmd) == 0 ? 0 : -1;
}

static void test_joined_and_escaped(void **state) {
        static const char text[] = "/usr/bin/prog\0--name=a b\0ctl\x01\0\xff\0";
        _cleanup_free_ char *cmd = NULL;
        (void) state;

        make_process(10, "prog", text, sizeof(text) - 1);
        assert_int_equal(cmdline_read(root, 10, "prog", &cmd), 0);
        /* NULs become blanks, the trailing one goes; a control character
         * and a byte that is no UTF-8 are escaped. */
        assert_string_equal(cmd, "/usr/bin/prog --name=a b ctl\\x01 \\xff");
        free(cmd);
        cmd = NULL;
        /* Without a comm to match, any process at the pid. */
        assert_int_equal(cmdline_read(root, 10, NULL, &cmd), 0);
        assert_non_null(cmd);
}

static void test_another_process(void **state) {
        char *cmd = NULL;
        (void) state;

        make_process(11, "other", "other\0", 6);
        assert_int_equal(cmdline_read(root, 11, "prog", &cmd), -ESRCH);
        assert_null(cmd);
        assert_int_equal(cmdline_read(root, 12, "prog", &cmd), -ESRCH); /* no such pid */
        assert_int_equal(cmdline_read(root, 0, NULL, &cmd), -EINVAL);
        assert_null(cmd);
}

static void test_kernel_thread(void **state) {
        char *cmd = NULL;
        (void) state;

        make_process(13, "kworker/0:1", "", 0);
        assert_int_equal(cmdline_read(root, 13, "kworker/0:1", &cmd), -ENODATA);
        assert_null(cmd);
}

static void test_cut(void **state) {
        size_t n = 3 * CMDLINE_SHOWN_MAX;
        _cleanup_free_ char *text = malloc(n), *cmd = NULL, *exact = malloc(CMDLINE_SHOWN_MAX), *whole = NULL;
        (void) state;

        assert_non_null(text);
        assert_non_null(exact);
        memset(text, 'a', n);
        make_process(14, "java", text, n);
        assert_int_equal(cmdline_read(root, 14, "java", &cmd), 0);
        assert_int_equal(strlen(cmd), CMDLINE_SHOWN_MAX + 3);
        assert_string_equal(cmd + CMDLINE_SHOWN_MAX, "...");

        /* Exactly CMDLINE_SHOWN_MAX bytes (and its NUL) are whole. */
        memset(exact, 'b', CMDLINE_SHOWN_MAX - 1);
        exact[CMDLINE_SHOWN_MAX - 1] = 0;
        make_process(15, "java", exact, CMDLINE_SHOWN_MAX);
        assert_int_equal(cmdline_read(root, 15, "java", &whole), 0);
        assert_int_equal(strlen(whole), CMDLINE_SHOWN_MAX - 1);
}

int main(void) {
        /* clang-format off */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_joined_and_escaped),
                cmocka_unit_test(test_another_process),
                cmocka_unit_test(test_kernel_thread),
                cmocka_unit_test(test_cut),
        };
        /* clang-format on */

        return cmocka_run_group_tests_name("cmdline_read", tests, setup, teardown);
}
