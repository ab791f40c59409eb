/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/history.c's file: what is saved is read back whole (the newest
 * HISTORY_MAX, every field, names with any byte), a file cut at any byte is
 * an empty history and a warning and is set aside, never a crash; a missing
 * file is an empty history and no warning.  No root. */
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

#include "history.h"

static char dir[64];

static int setup(void **state) {
        strcpy(dir, "/tmp/test_history.XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

static char *path_of(const char *name) {
        static char p[128];
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        return p;
}

/* Entry I: each kind of action, SysV and not, escaped names in the id. */
static void add(struct history *h, unsigned i) {
        char id[64], reason[64], archive[64];
        enum ipc_type t = (enum ipc_type) (i % _IPC_TYPE_MAX);
        enum reap_action a = (enum reap_action) (i % _REAP_ACTION_MAX);

        if (a == REAP_WOULD_REMOVE)
                a = REAP_REMOVED; /* never kept */
        snprintf(id, sizeof(id), "%s:%s%u", ipc_type_to_string(t), ipc_type_is_sysv(t) ? "" : "/n\\x0a\\\\ü", i);
        snprintf(reason, sizeof(reason), "idle %us; \"quoted\" \\x1b", i);
        snprintf(archive, sizeof(archive), "20261202T000000Z-%u", i);
        struct reap_record rec = {
                .id = a == REAP_STOPPED ? NULL : id,
                .index = SIZE_MAX,
                .type = t,
                .verdict = (enum verdict) (i % _VERDICT_MAX),
                .reason = reason,
                .rule = i % 3 ? (char *) "all" : NULL,
                .action = a,
                .error = a == REAP_FAILED ? 13 : 0,
                .uid = 4600 + i,
                .key = ipc_type_is_sysv(t) ? (int32_t) (0x6200 + i) : 0,
                .size = 4096ull * i,
                .archive = a == REAP_REMOVED ? archive : NULL,
        };
        assert_int_equal(history_add(h, (time_t) 1764633600 + i, &rec), 0);
}

static void assert_same(const struct history *a, const struct history *b) {
        assert_int_equal(a->n, b->n);
        for (size_t i = 0; i < a->n; i++) {
                const struct history_entry *x = history_get(a, i), *y = history_get(b, i);
                const struct reap_record *p = &x->record, *q = &y->record;
                assert_int_equal(x->time, y->time);
                assert_int_equal(p->action, q->action);
                assert_int_equal(p->verdict, q->verdict);
                assert_int_equal(p->error, q->error);
                if (p->id) {
                        assert_string_equal(p->id, q->id);
                        assert_int_equal(p->type, q->type);
                        assert_int_equal(p->uid, q->uid);
                        assert_int_equal(p->size, q->size);
                        if (ipc_type_is_sysv(p->type))
                                assert_int_equal(p->key, q->key);
                } else
                        assert_null(q->id);
                assert_string_equal(p->reason, q->reason);
                if (p->rule)
                        assert_string_equal(p->rule, q->rule);
                else
                        assert_null(q->rule);
                if (p->archive)
                        assert_string_equal(p->archive, q->archive);
                else
                        assert_null(q->archive);
        }
}

static void test_round_trip(void **state) {
        static struct history h, back;
        char *warning = NULL;
        struct stat st;

        assert_int_equal(history_load(&back, dir, &warning), 0); /* none yet */
        assert_null(warning);
        assert_int_equal(back.n, 0);
        for (unsigned i = 0; i < HISTORY_MAX + 10; i++)
                add(&h, i);
        assert_int_equal(h.n, HISTORY_MAX);
        assert_int_equal(history_save(&h, dir), 0);
        assert_int_equal(stat(path_of(HISTORY_FILE_NAME), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(history_load(&back, dir, &warning), 0);
        assert_null(warning);
        assert_same(&h, &back);
        /* The newest is the last added, the oldest the 11th. */
        assert_int_equal(history_get(&back, 0)->time, 1764633600 + HISTORY_MAX + 9);
        assert_int_equal(history_get(&back, HISTORY_MAX - 1)->time, 1764633600 + 10);
        history_clear(&h);
        history_clear(&back);
}

static void test_cut(void **state) {
        static struct history h, back;
        char *warning = NULL, *text;
        struct stat st;
        FILE *f;

        for (unsigned i = 0; i < 6; i++)
                add(&h, i);
        assert_int_equal(history_save(&h, dir), 0);
        assert_int_equal(stat(path_of(HISTORY_FILE_NAME), &st), 0);
        text = malloc((size_t) st.st_size);
        assert_non_null(text);
        f = fopen(path_of(HISTORY_FILE_NAME), "r");
        assert_non_null(f);
        assert_int_equal(fread(text, 1, (size_t) st.st_size, f), (size_t) st.st_size);
        fclose(f);
        for (off_t len = 0; len <= st.st_size; len++) {
                f = fopen(path_of(HISTORY_FILE_NAME), "w");
                assert_non_null(f);
                assert_int_equal(fwrite(text, 1, (size_t) len, f), (size_t) len);
                fclose(f);
                (void) unlink(path_of("history.bad"));
                assert_int_equal(history_load(&back, dir, &warning), 0);
                if (len == st.st_size) {
                        assert_null(warning);
                        assert_same(&h, &back);
                } else {
                        if (!warning)
                                fail_msg("a file cut at %lld of %lld bytes was read", (long long) len,
                                         (long long) st.st_size);
                        assert_non_null(strstr(warning, path_of(HISTORY_FILE_NAME)));
                        assert_int_equal(back.n, 0);
                        assert_int_equal(access(path_of("history.bad"), F_OK), 0);
                        assert_int_equal(access(path_of(HISTORY_FILE_NAME), F_OK), -1);
                }
                free(warning);
                warning = NULL;
        }
        free(text);
        history_clear(&h);
        history_clear(&back);
}

/* Lines that this file cannot have held. */
static void test_bad_lines(void **state) {
        static const char *const bad[] = {
                "ipcgc-history 2\nend 0\n",
                "ipcgc-history 1\nend 1\n",
                "ipcgc-history 1\nend 0\nend 0\n",
                "ipcgc-history 1\n{\"action\":\"removed\",\"id\":\"shm:1\",\"type\":\"shm\",\"verdict\":\"ORPHAN\"}\nend 1\n",
                "ipcgc-history 1\n{\"action\":\"bogus\",\"id\":\"shm:1\",\"type\":\"shm\",\"verdict\":\"ORPHAN\",\"time\":1}\nend 1\n",
                "ipcgc-history 1\n{\"action\":\"stopped\",\"id\":\"shm:1\",\"type\":\"shm\",\"verdict\":\"ORPHAN\",\"time\":1}\nend 1\n",
                "ipcgc-history 1\n[1,2]\nend 1\n",
                "ipcgc-history 1\n{\"action\":\"removed\",\"id\":\"shm:1\",\"type\":\"nope\",\"verdict\":\"ORPHAN\",\"time\":1}\nend 1\n",
        };
        static struct history back;
        char *warning = NULL;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                FILE *f = fopen(path_of(HISTORY_FILE_NAME), "w");
                assert_non_null(f);
                fputs(bad[i], f);
                fclose(f);
                assert_int_equal(history_load(&back, dir, &warning), 0);
                if (!warning)
                        fail_msg("read: %s", bad[i]);
                assert_int_equal(back.n, 0);
                free(warning);
                warning = NULL;
        }
        /* The same, whole, is read. */
        FILE *f = fopen(path_of(HISTORY_FILE_NAME), "w");
        assert_non_null(f);
        fputs("ipcgc-history 1\n{\"action\":\"removed\",\"id\":\"shm:1\",\"type\":\"shm\",\"verdict\":\"ORPHAN\","
              "\"time\":1,\"uid\":4600,\"key\":25089,\"size\":4096}\nend 1\n",
              f);
        fclose(f);
        assert_int_equal(history_load(&back, dir, &warning), 0);
        assert_null(warning);
        assert_int_equal(back.n, 1);
        assert_int_equal(history_get(&back, 0)->record.uid, 4600);
        assert_int_equal(history_get(&back, 0)->record.key, 0x6201);
        history_clear(&back);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cut, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_lines, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
