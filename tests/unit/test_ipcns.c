/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ipcns: names from cgroup paths, namespaced ids, and discovery on a fake
 * /proc whose ns/ipc entries are plain files (one inode, one namespace;
 * hard links share it) and a symlink loop (unreadable). */
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

#include "ipcns.h"
#include "macro.h"

static void name_is(const char *path, const char *want) {
        char *got = NULL;
        assert_int_equal(ipcns_name_from_cgroup(path, &got), 0);
        if (!want)
                assert_null(got);
        else {
                assert_non_null(got);
                assert_string_equal(got, want);
        }
        free(got);
}

static void test_names(void **state) {
        (void) state;
        name_is("/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
                "docker:0123456789ab");
        name_is("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/"
                "cri-containerd-fedcba9876543210fedcba9876543210.scope",
                "cri-containerd:fedcba987654");
        name_is("/machine.slice/libpod-aaaabbbbccccdddd.scope/container", "podman:aaaabbbbcccc");
        name_is("/machine.slice/machine-web\\x2d1.scope/payload", "machine:web-1");
        name_is("/docker/0123456789abcdef0123", "docker:0123456789ab");
        name_is("/system.slice/postgresql.service", "postgresql.service");
        name_is("/user.slice/user-1000.slice/session-3.scope", "session-3.scope");
        name_is("/init.scope", NULL);
        name_is("/", NULL);
        name_is("", NULL);
        /* not a container's: no hex after the prefix */
        name_is("/system.slice/docker-.scope", NULL);
}

static void test_ids(void **state) {
        uint64_t ino = 0;
        const char *rest = NULL;
        (void) state;
        assert_int_equal(ipcns_parse_id("shm:5", &ino, &rest), 0);
        assert_int_equal(ipcns_parse_id("ipc:4026532201/shm:5", &ino, &rest), 1);
        assert_int_equal(ino, 4026532201ull);
        assert_string_equal(rest, "shm:5");
        assert_int_equal(ipcns_parse_id("ipc:4026532201/pshm:/a/b", &ino, &rest), 1);
        assert_string_equal(rest, "pshm:/a/b");
        assert_int_equal(ipcns_parse_id("ipc:/shm:5", &ino, &rest), -EINVAL);
        assert_int_equal(ipcns_parse_id("ipc:-1/shm:5", &ino, &rest), -EINVAL);
        assert_int_equal(ipcns_parse_id("ipc:12", &ino, &rest), -EINVAL);
        assert_int_equal(ipcns_parse_id("ipc:12/", &ino, &rest), -EINVAL);
        assert_int_equal(ipcns_parse_id("ipc:99999999999999999999999/shm:1", &ino, &rest), -EINVAL);
}

static char dir[64];

static void mk(const char *fmt, ...) _printf_(1, 2);
static void mk(const char *fmt, ...) {
        char cmd[1024];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        assert_true(n > 0 && (size_t) n < sizeof(cmd));
        assert_int_equal(system(cmd), 0);
}

static int setup(void **state) {
        (void) state;
        strcpy(dir, "/tmp/test_ipcns.XXXXXX");
        if (!mkdtemp(dir))
                return -1;
        /* namespace A: ours (self) and pids 10, 11; B: pid 20, a container;
         * pid 30 unreadable; pid 40 gone (no ns). */
        mk("cd %s && mkdir -p self/ns 10/ns 11/ns 20/ns 30/ns 40 && touch self/ns/ipc 20/ns/ipc && "
           "ln self/ns/ipc 10/ns/ipc && ln self/ns/ipc 11/ns/ipc && ln -s ipc 30/ns/ipc && "
           "echo '0::/system.slice/sshd.service' > 10/cgroup && "
           "echo '0::/system.slice/docker-0123456789abcdef.scope' > 20/cgroup && mkdir notapid",
           dir);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        mk("rm -rf '%s'", dir);
        return 0;
}

static uint64_t ino_of(const char *rel) {
        char p[128];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dir, rel);
        assert_int_equal(stat(p, &st), 0);
        return (uint64_t) st.st_ino;
}

static void test_discover(void **state) {
        _cleanup_(ipcns_list_freep) struct ipcns_list *l = NULL;
        (void) state;

        assert_int_equal(ipcns_discover(dir, 0, 0, &l), 0);
        assert_int_equal(l->n, 2);
        assert_int_equal(l->n_unreadable, 1);
        assert_false(l->cut);
        const struct ipcns *a = NULL, *b = NULL;
        char sel[32];
        snprintf(sel, sizeof(sel), "%llu", (unsigned long long) ino_of("self/ns/ipc"));
        a = ipcns_find(l, sel, NULL);
        b = ipcns_find(l, "docker:0123456789ab", NULL);
        assert_non_null(a);
        assert_non_null(b);
        assert_true(a->self);
        assert_false(b->self);
        assert_int_equal(a->n_members, 2);
        assert_int_equal(a->members[0], 10);
        assert_int_equal(a->members[1], 11);
        assert_true(ipcns_is_member(a, 11));
        assert_false(ipcns_is_member(a, 20));
        assert_string_equal(a->name, "sshd.service");
        assert_int_equal(b->n_members, 1);
        assert_int_equal(b->ino, ino_of("20/ns/ipc"));
        /* pid 30 could be anyone's member: a possible member of both,
         * not a member of either */
        assert_false(a->partial);
        assert_false(b->partial);
        assert_false(ipcns_is_member(b, 30));
        assert_true(ipcns_may_be_member(a, 30));
        assert_true(ipcns_may_be_member(b, 30));
        assert_false(ipcns_may_be_member(b, 10));
        assert_int_equal(b->n_maybe, 1);
        size_t n;
        assert_null(ipcns_find(l, "nothing", &n));
        assert_int_equal(n, 0);
}

static void test_limits(void **state) {
        _cleanup_(ipcns_list_freep) struct ipcns_list *l = NULL, *m = NULL;
        (void) state;

        mk("rm -f %s/30/ns/ipc", dir); /* all readable now */
        assert_int_equal(ipcns_discover(dir, 0, 1, &l), 0);
        assert_int_equal(l->n_unreadable, 0);
        for (size_t i = 0; i < l->n; i++) {
                assert_int_equal(l->ns[i].n_members, 1);
                /* A, with two members, was cut; B was not */
                assert_int_equal(l->ns[i].partial, l->ns[i].self);
        }
        assert_int_equal(ipcns_discover(dir, 1, 0, &m), 0);
        assert_int_equal(m->n, 1);
        assert_true(m->cut);
        mk("ln -s ipc %s/30/ns/ipc", dir);
}

/* A name two namespaces have picks neither: the inode must be given. */
static void test_ambiguous(void **state) {
        _cleanup_(ipcns_list_freep) struct ipcns_list *l = NULL;
        size_t n;
        (void) state;

        mk("cd %s && mkdir -p 50/ns && touch 50/ns/ipc && cp 20/cgroup 50/cgroup", dir);
        assert_int_equal(ipcns_discover(dir, 0, 0, &l), 0);
        assert_int_equal(l->n, 3);
        assert_null(ipcns_find(l, "docker:0123456789ab", &n));
        assert_int_equal(n, 2);
        char sel[32];
        snprintf(sel, sizeof(sel), "%llu", (unsigned long long) ino_of("50/ns/ipc"));
        assert_non_null(ipcns_find(l, sel, &n));
        assert_int_equal(n, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_ids),
                cmocka_unit_test_setup_teardown(test_discover, setup, teardown),
                cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ambiguous, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
