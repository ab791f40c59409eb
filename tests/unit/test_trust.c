/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* trust_open() on a tree made in a fresh directory under /tmp (sticky and
 * root's: above a file's own directory, allowed).  Runs as anyone: the
 * files are the euid's own. */
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

#include "macro.h"
#include "trust.h"

static char dir[64];

static int setup(void **state) {
        (void) state;
        strcpy(dir, "/tmp/test_trust.XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        char cmd[128];
        (void) state;
        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static char *at(const char *name) {
        char *p;
        assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
        return p;
}

static void make_file(const char *name, mode_t mode) {
        _cleanup_free_ char *p = at(name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x\n", 2), 2);
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

/* trust_open(NAME) returns R; on failure its message starts with PATH: and
 * holds WORDS. */
static void expect(const char *name, unsigned flags, int r, const char *words) {
        _cleanup_free_ char *p = name[0] == '/' ? strdup(name) : at(name), *msg = NULL, *prefix = NULL;
        int fd = -1, got;

        got = trust_open(p, geteuid(), flags, &fd, &msg);
        if (got != r)
                fail_msg("%s: returned %d (%s), expected %d", p, got, strempty(msg), r);
        if (r == 0) {
                assert_true(fd >= 0);
                close(fd);
                return;
        }
        assert_int_equal(fd, -1);
        assert_non_null(msg);
        assert_true(asprintf(&prefix, "%s: ", p) >= 0);
        if (strncmp(msg, prefix, strlen(prefix)) != 0 || (words && !strstr(msg, words)))
                fail_msg("message \"%s\", expected \"%s...%s\"", msg, prefix, strempty(words));
}

static void test_trust(void **state) {
        _cleanup_free_ char *d = at("d"), *s = at("sticky"), *f = at("d/f.conf");
        (void) state;

        assert_int_equal(mkdir(d, 0755), 0);
        make_file("d/f.conf", 0644);
        expect("d/f.conf", TRUST_REGULAR, 0, NULL);
        expect("d//./f.conf", TRUST_REGULAR, 0, NULL);
        expect("d/../d/f.conf", TRUST_REGULAR, 0, NULL);
        expect("d", TRUST_DIRECTORY, 0, NULL);
        expect("d", TRUST_REGULAR, -EISDIR, "not a regular file (a directory)");
        expect("d/f.conf", TRUST_DIRECTORY, -ENOTDIR, "a regular file, not a directory");
        expect("d/missing.conf", TRUST_REGULAR, -ENOENT, NULL);
        expect("d/f.conf/x", TRUST_REGULAR, -ENOTDIR, NULL);

        assert_int_equal(chmod(f, 0666), 0);
        expect("d/f.conf", TRUST_REGULAR, -EPERM, "writable by others (mode 0666); chmod go-w");
        assert_int_equal(chmod(f, 0620), 0);
        expect("d/f.conf", TRUST_REGULAR, -EPERM, "writable by group (mode 0620); chmod g-w");
        assert_int_equal(chmod(f, 0644), 0);
        assert_int_equal(chmod(d, 0777), 0);
        expect("d/f.conf", TRUST_REGULAR, -EPERM, "is writable by others (mode 0777); chmod go-w");
        expect("d", TRUST_DIRECTORY, -EPERM, "writable by others (mode 0777)");
        assert_int_equal(chmod(d, 0755), 0);

        /* Sticky root's: above, yes; as the own directory, no. */
        assert_int_equal(mkdir(s, 0755), 0);
        assert_int_equal(chmod(s, 01777), 0);
        make_file("sticky/f.conf", 0644);
        if (geteuid() == 0) {
                expect("sticky/f.conf", TRUST_REGULAR, -EPERM, "its directory");
                expect("sticky", TRUST_DIRECTORY, -EPERM, "writable by others (mode 1777)");
        }

        /* Symlinks: followed, checked, counted. */
        _cleanup_free_ char *l = at("d/l.conf"), *l1 = at("loop1"), *l2 = at("loop2"), *fifo = at("d/fifo.conf");
        _cleanup_free_ char *dn = at("d/null.conf"), *rel = at("d/rel.conf");
        assert_int_equal(symlink(f, l), 0);
        expect("d/l.conf", TRUST_REGULAR, 0, NULL);
        assert_int_equal(symlink("../d/./f.conf", rel), 0);
        expect("d/rel.conf", TRUST_REGULAR, 0, NULL);
        assert_int_equal(symlink("loop2", l1), 0);
        assert_int_equal(symlink("loop1", l2), 0);
        expect("loop1", TRUST_REGULAR, -ELOOP, "more than 40 symlinks");
        assert_int_equal(symlink("/dev/null", dn), 0);
        expect("d/null.conf", TRUST_REGULAR, -EBADFD,
               "its target /dev/null is not a regular file (a character device)");
        /* Never opened: opening it for reading would hang. */
        assert_int_equal(mkfifo(fifo, 0644), 0);
        expect("d/fifo.conf", TRUST_REGULAR, -EBADFD, "not a regular file (a FIFO)");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_trust, setup, teardown),
        };
        return cmocka_run_group_tests_name("trust_open", tests, NULL, NULL);
}
