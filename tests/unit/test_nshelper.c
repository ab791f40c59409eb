/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nshelper: a namespace with no member left is gone (-ESRCH), a pid that
 * is not in the namespace it is listed for is never entered, and (as root,
 * entering this process's own IPC namespace as if it were another) what
 * the child collects from fixture listings comes back through the pipe as
 * a direct collection has it.  Touches no IPC: SysV from fixture files,
 * shm and msg only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "nshelper.h"

static uint64_t own_ipc_ns(void) {
        struct stat st;
        assert_int_equal(stat("/proc/self/ns/ipc", &st), 0);
        return (uint64_t) st.st_ino;
}

static struct scan_config scan_sysv(void) {
        return (struct scan_config) { .types = IPC_TYPE_BIT(IPC_TYPE_SHM) | IPC_TYPE_BIT(IPC_TYPE_MSG) };
}

static void test_gone(void **state) {
        pid_t none = 0x3ffffff0; /* above any pid_max */
        struct ipcns ns = { .ino = own_ipc_ns(), .members = &none, .n_members = 1 };
        struct collect_paths paths = { .ns = &ns };
        struct scan_config scan = scan_sysv();
        struct inventory *inv = NULL;
        (void) state;

        assert_int_equal(nshelper_collect(&ns, &scan, &paths, &inv), -ESRCH);
        assert_null(inv);
}

static void test_not_a_member(void **state) {
        pid_t self = getpid();
        /* Listed for a namespace it is not in (a pid reused since). */
        struct ipcns ns = { .ino = own_ipc_ns() + 7, .members = &self, .n_members = 1 };
        struct collect_paths paths = { .ns = &ns };
        struct scan_config scan = scan_sysv();
        struct inventory *inv = NULL;
        (void) state;

        assert_int_equal(nshelper_collect(&ns, &scan, &paths, &inv), -ESRCH);
        assert_null(inv);
}

static void test_roundtrip(void **state) {
        char dir[] = "/tmp/test_nshelper.XXXXXX", cmd[512];
        _cleanup_(inventory_freep) struct inventory *direct = NULL, *through = NULL;
        pid_t self = getpid();
        (void) state;

        if (geteuid() != 0)
                skip(); /* setns needs CAP_SYS_ADMIN */
        const char *top = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
        assert_non_null(mkdtemp(dir));
        snprintf(cmd, sizeof(cmd),
                 "cp '%s/tests/fixtures/sysvipc/shm-64.txt' %s/shm && cp '%s/tests/fixtures/sysvipc/msg.txt' %s/msg",
                 top, dir, top, dir);
        assert_int_equal(system(cmd), 0);

        struct ipcns ns = { .ino = own_ipc_ns(), .members = &self, .n_members = 1, .name = (char *) "test" };
        struct collect_paths plain = { .sysvipc = dir }, in_ns = { .sysvipc = dir, .ns = &ns };
        struct scan_config scan = scan_sysv();
        assert_int_equal(collect_inventory(&scan, &plain, NULL, &direct), 0);
        assert_int_equal(collect_inventory(&scan, &in_ns, NULL, &through), 0);

        assert_true(direct->n_objects > 0);
        assert_int_equal(through->n_objects, direct->n_objects);
        for (size_t i = 0; i < direct->n_objects; i++) {
                const struct ipc_object *a = &direct->objects[i], *b = &through->objects[i];
                assert_int_equal(a->type, b->type);
                assert_int_equal(a->id, b->id);
                assert_int_equal(a->key, b->key);
                assert_int_equal(a->uid, b->uid);
                assert_int_equal(a->size, b->size);
                assert_int_equal(a->cpid, b->cpid);
                assert_int_equal(a->lpid, b->lpid);
                assert_int_equal(a->ctime, b->ctime);
                assert_null(ipc_object_changed(a, b));
                assert_null(b->holders);
        }
        assert_int_equal(through->n_warnings, direct->n_warnings);
        /* Labelled as the namespace's. */
        assert_true(through->foreign);
        assert_int_equal(through->ipcns, ns.ino);
        assert_string_equal(through->container, "test");

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_gone),
                cmocka_unit_test(test_not_a_member),
                cmocka_unit_test(test_roundtrip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
