/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config_load() on files written into a fresh temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fifo.h"
#include "ipc_object.h"
#include "macro.h"

struct tmp {
        char dir[64];
};

static int setup_tmp(void **state) {
        struct tmp *t = calloc(1, sizeof(*t));

        if (!t)
                return -1;
        strcpy(t->dir, "/tmp/test_config.XXXXXX");
        if (!mkdtemp(t->dir)) {
                free(t);
                return -1;
        }
        *state = t;
        return 0;
}

static int teardown_tmp(void **state) {
        struct tmp *t = *state;
        DIR *d = opendir(t->dir);
        int r = 0;

        /* Only files this test wrote live there; no subdirectories. */
        if (!d)
                return -1;
        for (struct dirent *de; (de = readdir(d));)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
                    unlinkat(dirfd(d), de->d_name, 0) < 0)
                        r = -1;
        (void) closedir(d);
        if (rmdir(t->dir) < 0)
                r = -1;
        free(t);
        return r;
}

/* Writes TEXT to DIR/NAME and returns the path. */
static char *write_file(void **state, const char *name, const char *text) {
        const struct tmp *t = *state;
        char *path;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", t->dir, name) >= 0);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        return path;
}

static void check_default_scan(const struct scan_config *s) {
        assert_int_equal(s->types, IPC_TYPE_MASK_ALL);
        assert_string_equal(s->mqueue_dir, "/dev/mqueue");
        assert_string_equal(s->shm_dir, "/dev/shm");
        assert_int_equal(s->n_fifo_dirs, 3);
        assert_string_equal(s->fifo_dirs[0], "/tmp");
        assert_string_equal(s->fifo_dirs[1], "/var/tmp");
        assert_string_equal(s->fifo_dirs[2], "/run");
        assert_int_equal(s->fifo_max_depth, CONFIG_DEFAULT_FIFO_MAX_DEPTH);
        assert_int_equal(s->fifo_max_depth, 4);
}

static void test_defaults(void **state) {
        _cleanup_(config_freep) struct config *c = NULL;

        assert_int_equal(config_new_default(&c), 0);
        check_default_scan(&c->scan);
}

static void test_every_key_overridden(void **state) {
        _cleanup_free_ char *path = write_file(state, "all.conf",
                                               "# a comment\n"
                                               "; another\n"
                                               "\n"
                                               "[Scan]\n"
                                               "Types=shm msg\n"
                                               "MqueueDir=/mnt/mqueue\n"
                                               "ShmDir = /run/shm2\n"
                                               "FifoDirs=/a /b/c\t /d\n"
                                               "FifoMaxDepth=0\n");
        _cleanup_(config_freep) struct config *c = NULL;
        char *error = NULL;

        assert_int_equal(config_load(path, true, &c, &error), 0);
        assert_null(error);
        assert_non_null(c);
        assert_int_equal(c->scan.types, IPC_TYPE_BIT(IPC_TYPE_SHM) | IPC_TYPE_BIT(IPC_TYPE_MSG));
        assert_string_equal(c->scan.mqueue_dir, "/mnt/mqueue");
        assert_string_equal(c->scan.shm_dir, "/run/shm2");
        assert_int_equal(c->scan.n_fifo_dirs, 3);
        assert_string_equal(c->scan.fifo_dirs[0], "/a");
        assert_string_equal(c->scan.fifo_dirs[1], "/b/c");
        assert_string_equal(c->scan.fifo_dirs[2], "/d");
        assert_int_equal(c->scan.fifo_max_depth, 0);
}

static void test_partial_override(void **state) {
        _cleanup_free_ char *path = write_file(state, "partial.conf",
                                               "[Scan]\n"
                                               "FifoMaxDepth=32\n"
                                               "Types=all\n"
                                               "Types=fifo,mq\n"); /* the last one wins */
        _cleanup_(config_freep) struct config *c = NULL;
        char *error = NULL;

        assert_int_equal(config_load(path, false, &c, &error), 0);
        assert_null(error);
        assert_int_equal(c->scan.fifo_max_depth, FIFO_MAX_DEPTH_LIMIT);
        assert_int_equal(c->scan.types, IPC_TYPE_BIT(IPC_TYPE_FIFO) | IPC_TYPE_BIT(IPC_TYPE_MQ));
        /* untouched keys keep their defaults */
        assert_string_equal(c->scan.mqueue_dir, "/dev/mqueue");
        assert_string_equal(c->scan.shm_dir, "/dev/shm");
        assert_int_equal(c->scan.n_fifo_dirs, 3);
        assert_string_equal(c->scan.fifo_dirs[2], "/run");
}

static void test_empty_fifo_dirs(void **state) {
        _cleanup_free_ char *path = write_file(state, "nofifo.conf", "[Scan]\nFifoDirs=\n");
        _cleanup_(config_freep) struct config *c = NULL;
        char *error = NULL;

        /* Documented as the way to turn the FIFO search off. */
        assert_int_equal(config_load(path, true, &c, &error), 0);
        assert_null(error);
        assert_int_equal(c->scan.n_fifo_dirs, 0);
        assert_int_equal(c->scan.types, IPC_TYPE_MASK_ALL);
}

static void test_empty_file(void **state) {
        _cleanup_free_ char *path = write_file(state, "empty.conf", "");
        _cleanup_(config_freep) struct config *c = NULL;
        char *error = NULL;

        assert_int_equal(config_load(path, true, &c, &error), 0);
        assert_null(error);
        check_default_scan(&c->scan);
}

/* The configuration file shipped in conf/ shows every default, commented out. */
static void test_shipped_file(void **state) {
        _cleanup_free_ char *path = NULL;
        _cleanup_(config_freep) struct config *c = NULL;
        const char *top = getenv("top_srcdir");
        char *error = NULL;

        assert_true(asprintf(&path, "%s/conf/ipcgc.conf", top && *top ? top : ".") >= 0);
        assert_int_equal(config_load(path, true, &c, &error), 0);
        assert_null(error);
        check_default_scan(&c->scan);
}

static void test_missing_optional(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *path = NULL;
        _cleanup_(config_freep) struct config *c = NULL;
        char *error = NULL;

        assert_true(asprintf(&path, "%s/does-not-exist.conf", t->dir) >= 0);
        assert_int_equal(config_load(path, false, &c, &error), 0);
        assert_null(error);
        assert_non_null(c);
        check_default_scan(&c->scan);
}

static void test_missing_required(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *path = NULL, *error = NULL;
        struct config sentinel, *c = &sentinel;

        assert_true(asprintf(&path, "%s/does-not-exist.conf", t->dir) >= 0);
        assert_int_equal(config_load(path, true, &c, &error), -ENOENT);
        assert_ptr_equal(c, &sentinel);
        /* If a message is given, it names the file. */
        if (error)
                assert_non_null(strstr(error, path));
}

struct bad_case {
        const char *name;
        const char *text;
        unsigned line;
        const char *what; /* a word the message must contain */
};

/* A 300-byte value line on line 3; inih reads at most 200 bytes a line. */
static char *long_line(void) {
        char value[300 - (sizeof("ShmDir=") - 1) + 1];
        char *s;

        memset(value, 'a', sizeof(value) - 1);
        value[0] = '/';
        value[sizeof(value) - 1] = 0;
        assert_true(asprintf(&s, "[Scan]\nTypes=shm\nShmDir=%s\nFifoMaxDepth=1\n", value) >= 0);
        assert_int_equal(strlen(s), strlen("[Scan]\nTypes=shm\n") + 300 + strlen("\nFifoMaxDepth=1\n"));
        return s;
}

static void check_bad(void **state, const struct bad_case *b) {
        _cleanup_free_ char *path = write_file(state, b->name, b->text), *prefix = NULL;
        struct config sentinel, *c = &sentinel;
        char *error = NULL;
        int r;

        r = config_load(path, true, &c, &error);
        if (r != -EINVAL)
                fail_msg("%s: config_load() returned %d, expected -EINVAL", b->name, r);
        assert_ptr_equal(c, &sentinel);
        assert_non_null(error);

        assert_true(asprintf(&prefix, "%s:%u: ", path, b->line) >= 0);
        if (strncmp(error, prefix, strlen(prefix)) != 0 || !strstr(error + strlen(prefix), b->what)) {
                char copy[512];
                snprintf(copy, sizeof(copy), "%s", error);
                free(error);
                fail_msg("%s: error \"%s\", expected \"%s...%s...\"", b->name, copy, prefix, b->what);
        }
        free(error);
}

static void test_malformed(void **state) {
        _cleanup_free_ char *too_long = long_line();
        const struct bad_case cases[] = {
                { "unknown-key.conf", "[Scan]\nTypes=shm\nBogus=1\n", 3, "Bogus" },
                { "unknown-section.conf", "[Scan]\nTypes=shm\n\n[Foo]\nBar=1\n", 4, "[Foo]" },
                { "empty-unknown-section.conf", "[Scan]\nTypes=shm\n[Foo]\n", 3, "[Foo]" },
                { "empty-types.conf", "# c\n[Scan]\nTypes=\n", 3, "Types=" },
                { "bad-type.conf", "[Scan]\nTypes=shm nope\n", 2, "nope" },
                { "relative-mqueue.conf", "[Scan]\n\nMqueueDir=dev/mqueue\n", 3, "MqueueDir=" },
                { "relative-shm.conf", "[Scan]\nShmDir=shm\n", 2, "ShmDir=" },
                { "relative-fifo.conf", "[Scan]\nFifoDirs=/tmp tmp2\n", 2, "tmp2" },
                { "depth-abc.conf", "[Scan]\nTypes=all\nFifoMaxDepth=abc\n", 3, "FifoMaxDepth=" },
                { "depth-999.conf", "[Scan]\nFifoMaxDepth=999\n", 2, "FifoMaxDepth=" },
                { "depth-33.conf", "[Scan]\nFifoMaxDepth=33\n", 2, "FifoMaxDepth=" },
                { "depth-negative.conf", "[Scan]\nFifoMaxDepth=-1\n", 2, "FifoMaxDepth=" },
                { "depth-trailing.conf", "[Scan]\nFifoMaxDepth=4x\n", 2, "FifoMaxDepth=" },
                { "no-equals.conf", "[Scan]\nTypes=shm\nJustAWord\n", 3, "syntax error" },
                { "open-section.conf", "[Scan]\nTypes=shm\n[Daemon\n", 3, "syntax error" },
                { "outside-section.conf", "# top\nTypes=shm\n[Scan]\n", 2, "outside" },
                { "too-long.conf", too_long, 3, "too long" },
                /* only the first of several errors is reported */
                { "two-errors.conf", "[Scan]\nBogus=1\nTypes=nope\n", 2, "Bogus" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_bad(state, &cases[i]);
}

static char *fifo_dirs_line(unsigned n) {
        _cleanup_free_ char *dirs = malloc(2 * n + 1);
        char *s;

        /* "/" is the shortest absolute path: n of them fit in one line. */
        assert_non_null(dirs);
        for (unsigned i = 0; i < n; i++)
                memcpy(dirs + 2 * i, "/ ", 2);
        dirs[2 * n] = 0;
        assert_true(asprintf(&s, "[Scan]\nFifoDirs=%s\n", dirs) >= 0);
        return s;
}

static void test_fifo_dirs_limit(void **state) {
        _cleanup_free_ char *over = fifo_dirs_line(CONFIG_MAX_FIFO_DIRS + 1);
        _cleanup_free_ char *at = fifo_dirs_line(CONFIG_MAX_FIFO_DIRS);
        _cleanup_free_ char *path = write_file(state, "max-fifo.conf", at);
        _cleanup_(config_freep) struct config *c = NULL;
        const struct bad_case b = { "many-fifo.conf", over, 2, "more than" };
        char *error = NULL;

        check_bad(state, &b);

        assert_int_equal(config_load(path, true, &c, &error), 0);
        assert_null(error);
        assert_int_equal(c->scan.n_fifo_dirs, CONFIG_MAX_FIFO_DIRS);
        assert_string_equal(c->scan.fifo_dirs[CONFIG_MAX_FIFO_DIRS - 1], "/");
}

int main(void) {
        /* clang-format off */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test_setup_teardown(test_every_key_overridden, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_partial_override, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_empty_fifo_dirs, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_empty_file, setup_tmp, teardown_tmp),
                cmocka_unit_test(test_shipped_file),
                cmocka_unit_test_setup_teardown(test_missing_optional, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_missing_required, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_malformed, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_fifo_dirs_limit, setup_tmp, teardown_tmp),
        };
        /* clang-format on */

        return cmocka_run_group_tests_name("config_load", tests, NULL, NULL);
}
