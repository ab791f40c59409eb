/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/metrics.c without a daemon: the text format's escaping and values,
 * and the atomic MetricsFile= writer (mode, no symlink followed, nothing
 * left beside the file).  No /proc, no root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include <json-c/json.h>

#include "metrics.h"

static void test_text(void **state) {
        (void) state;
        json_object *families = json_tokener_parse(
                "[{\"name\":\"ipcgc_x\",\"type\":\"gauge\",\"help\":\"X.\",\"samples\":["
                "{\"labels\":{\"user\":\"a\\\"b\\\\c\\nd\",\"type\":\"shm\"},\"value\":18446744073692774399},"
                "{\"labels\":{},\"value\":0.25},"
                "{\"labels\":{\"k\":\"v\"},\"value\":-3}]},"
                "{\"name\":\"ipcgc_y_total\",\"type\":\"counter\",\"help\":\"Y.\",\"samples\":[]}]");
        char *text = NULL;

        assert_non_null(families);
        assert_int_equal(metrics_text(families, &text), 0);
        /* Label values escaped as the format says; a value past int64 as
         * its digits; a float; an empty family is HELP and TYPE only. */
        assert_string_equal(text, "# HELP ipcgc_x X.\n"
                                  "# TYPE ipcgc_x gauge\n"
                                  "ipcgc_x{user=\"a\\\"b\\\\c\\nd\",type=\"shm\"} 18446744073692774399\n"
                                  "ipcgc_x 0.250000\n"
                                  "ipcgc_x{k=\"v\"} -3\n"
                                  "# HELP ipcgc_y_total Y.\n"
                                  "# TYPE ipcgc_y_total counter\n");
        free(text);
        json_object_put(families);
}

static char *read_all(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = calloc(1, 4096);
        assert_non_null(f);
        assert_non_null(buf);
        (void) fread(buf, 1, 4095, f);
        fclose(f);
        return buf;
}

static size_t entries(const char *dir) {
        DIR *d = opendir(dir);
        size_t n = 0;
        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));)
                n += de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."));
        closedir(d);
        return n;
}

static void test_write_file(void **state) {
        (void) state;
        char dir[] = "/tmp/test_metrics.XXXXXX", path[128], victim[128], link_dir[128], via_link[160];
        struct stat st;
        char *got;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/ipcgc.prom", dir);
        snprintf(victim, sizeof(victim), "%s/victim", dir);

        mode_t old = umask(077);
        assert_int_equal(metrics_write_file(path, "a 1\n"), 0);
        umask(old);
        assert_int_equal(lstat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        got = read_all(path);
        assert_string_equal(got, "a 1\n");
        free(got);
        assert_int_equal(entries(dir), 1); /* no temporary file left */

        /* A symlink at the name is replaced, its target untouched. */
        FILE *f = fopen(victim, "we");
        assert_non_null(f);
        fputs("keep\n", f);
        fclose(f);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink(victim, path), 0);
        assert_int_equal(metrics_write_file(path, "b 2\n"), 0);
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        got = read_all(victim);
        assert_string_equal(got, "keep\n");
        free(got);

        /* A symlink in the directory's path: -ELOOP, nothing written there. */
        snprintf(link_dir, sizeof(link_dir), "%s/link", dir);
        assert_int_equal(symlink(dir, link_dir), 0);
        snprintf(via_link, sizeof(via_link), "%s/other.prom", link_dir);
        assert_int_equal(metrics_write_file(via_link, "c 3\n"), -ELOOP);
        snprintf(via_link, sizeof(via_link), "%s/other.prom", dir);
        assert_int_equal(access(via_link, F_OK), -1);

        /* Not a file name. */
        assert_int_equal(metrics_write_file("relative.prom", "x"), -EINVAL);
        assert_int_equal(metrics_write_file("/tmp/", "x"), -EINVAL);

        (void) unlink(link_dir);
        (void) unlink(victim);
        (void) unlink(path);
        assert_int_equal(rmdir(dir), 0);
}

static void test_mq_charge(void **state) {
        (void) state;
        /* ipc/mqueue.c on 64-bit: 48 bytes a msg_msg and a tree node. */
        if (sizeof(long) == 8) {
                assert_int_equal(audit_mq_charge(8, 256), 8 * 48 + 8 * 48 + 8 * 256);
                /* Past MQ_PRIO_MAX messages, the tree nodes stop growing. */
                assert_int_equal(audit_mq_charge(40000, 1), 40000u * 48 + 32768u * 48 + 40000u);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text),
                cmocka_unit_test(test_write_file),
                cmocka_unit_test(test_mq_charge),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
