/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A listing written as text (report_list_chunk) says exactly what the JSON
 * objects of an explain say of the same objects (object_to_json and
 * judgement_to_json): the same keys, in the same order, with the same
 * values, whatever the names hold.  No /proc, no root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "object_json.h"
#include "report.h"
#include "rule.h"

static pid_t holders[] = { 7, 4242 };
static struct sem_member sems[] = { { .pid = 12 }, { .pid = 0 } };
/* What a LIVE verdict always has: a process, named with a quote. */
static struct evidence alive = { .role = ROLE_HOLDER, .state = EVIDENCE_ALIVE, .pid = 7, .comm = "pg \"w\"" };

/* One object of each type, names with every kind of byte JSON escapes. */
static void fill(struct inventory *inv, struct judgement *js, const struct rule *rule) {
        static const char *const names[] = {
                "/q\"uote\\back", "/new\nline\ttab", "/ctl\x01\x1f\x7f", "/ünïcode-ß", "/bad\xff\xc3(\xed\xa0\x80", NULL,
        };
        size_t n = 0;
        for (enum ipc_type t = 0; t < _IPC_TYPE_MAX; t++) {
                struct ipc_object *o = inventory_append(inv, t);
                assert_non_null(o);
                o->id = ipc_type_is_sysv(t) ? (int) (t * 1000 + 7) : -1;
                o->key = t == IPC_TYPE_SHM ? -12345 : (int32_t) (t + 1) * 65536;
                o->uid = 4294967294u; /* nobody's uid in some systems: the unsigned top */
                o->gid = 5;
                o->cuid = 0;
                o->cgid = 0;
                o->mode = 01777;
                o->size = t == IPC_TYPE_SHM ? UINT64_C(1) << 40 : 17;
                o->nattch = 3;
                o->qnum = 2;
                o->notify_pid = t == IPC_TYPE_MQ ? 99 : 0;
                o->ctime = 1700000000;
                o->atime = -1;
                o->mtime = 0;
                if (t == IPC_TYPE_SHM) {
                        o->cpid = 100;
                        o->lpid = 0;
                }
                if (t == IPC_TYPE_MSG)
                        o->lrpid = 2147483647;
                if (t == IPC_TYPE_SEM) {
                        o->nsems = 2;
                        o->sems = malloc(sizeof(sems));
                        assert_non_null(o->sems);
                        memcpy(o->sems, sems, sizeof(sems));
                }
                if (t == IPC_TYPE_PSHM)
                        o->flags = 0;
                if (!ipc_type_is_sysv(t)) {
                        const char *nm = names[n % (sizeof(names) / sizeof(names[0]) - 1)];
                        o->name = strdup(t == IPC_TYPE_FIFO ? "/tmp/fi\"fo\n" : nm);
                        assert_non_null(o->name);
                }
                o->holders = malloc(sizeof(holders));
                assert_non_null(o->holders);
                memcpy(o->holders, holders, sizeof(holders));
                o->n_holders = t == IPC_TYPE_MSG ? 0 : 2;
                js[n] = (struct judgement) { .verdict = (enum verdict) (n % _VERDICT_MAX), .idle = n * 1000,
                                             .evidence = n % _VERDICT_MAX == VERDICT_LIVE ? &alive : NULL,
                                             .n_evidence = n % _VERDICT_MAX == VERDICT_LIVE,
                                             /* a PROTECTED or REPORTED verdict always has its rule */
                                             .rule = n % 2 || n % _VERDICT_MAX >= VERDICT_PENDING ? rule : NULL };
                n++;
        }
        /* a queue whose QSIZE could not be read: size and notify_pid null */
        struct ipc_object *o = inventory_append(inv, IPC_TYPE_MQ);
        assert_non_null(o);
        o->name = strdup("/unreadable");
        o->flags = IPC_OBJECT_MQ_UNREADABLE;
        js[n] = (struct judgement) { .verdict = VERDICT_UNKNOWN };
}

static void test_text_is_the_json(void **state) {
        struct inventory *inv = NULL;
        struct judgement js[_IPC_TYPE_MAX + 1];
        struct rule rule = { .name = (char *) "rule \"with\" quotes", .min_age = 60 };
        struct report_list_cursor c = {};
        char *text = NULL, *piece;
        size_t len = 0, n;

        (void) state;
        assert_int_equal(inventory_new(&inv), 0);
        fill(inv, js, &rule);
        /* in pieces as small as can be: every object starts a piece */
        while (c.stage != 2) {
                assert_int_equal(report_list_chunk(inv, js, NULL, "{\"x\":1,", "}", 1, &c, &piece, &n), 0);
                text = realloc(text, len + n + 1);
                assert_non_null(text);
                memcpy(text + len, piece, n);
                len += n;
                text[len] = 0;
                free(piece);
        }
        json_object *all = json_tokener_parse(text), *objects;
        assert_non_null(all);
        assert_true(json_object_object_get_ex(all, "objects", &objects));
        assert_int_equal(json_object_array_length(objects), inv->n_objects);
        for (size_t i = 0; i < inv->n_objects; i++) {
                json_object *want;
                assert_int_equal(object_to_json(&inv->objects[i], &want), 0);
                assert_int_equal(judgement_to_json(&js[i], false, want), 0);
                json_object *got = json_object_array_get_idx(objects, i);
                /* the same keys in the same order, the same values */
                const char *w = json_object_to_json_string_ext(want, JSON_C_TO_STRING_PLAIN);
                char *wcopy = strdup(w);
                const char *g = json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN);
                if (strcmp(wcopy, g) != 0)
                        fail_msg("object %zu:\n  want %s\n  got  %s", i, wcopy, g);
                free(wcopy);
                json_object_put(want);
        }
        json_object_put(all);
        free(text);
        inventory_free(inv);
}

/* The one escaping of names (ipc_escape()): what is no UTF-8 or a control
 * character goes out \xHH, a backslash \\, and it comes back byte for
 * byte; an ID found by inventory_find() is the ID ipc_object_id() wrote. */
static void test_escape_round_trip(void **state) {
        static const struct {
                const char *raw, *name, *text;
        } cases[] = {
                { "/plain", "/plain", "/plain" },
                { "/a\nb", "/a\\x0ab", "/a\\x0ab" },
                { "/x\xffy", "/x\\xffy", "/x\\xffy" },
                { "/back\\slash", "/back\\\\slash", "/back\\slash" },
                { "/\\x41", "/\\\\x41", "/\\x41" },
                { "/ünï-ß-€-𝄞", "/ünï-ß-€-𝄞", "/ünï-ß-€-𝄞" },
                { "/c1\xc2\x9b", "/c1\\xc2\\x9b", "/c1\\xc2\\x9b" },      /* U+009B, CSI */
                { "/del\x7f\x1b[0m", "/del\\x7f\\x1b[0m", "/del\\x7f\\x1b[0m" },
                { "/sur\xed\xa0\x80", "/sur\\xed\\xa0\\x80", "/sur\\xed\\xa0\\x80" }, /* a surrogate */
                { "/over\xc0\xaf", "/over\\xc0\\xaf", "/over\\xc0\\xaf" },     /* overlong '/' */
                { "/cut\xe2\x82", "/cut\\xe2\\x82", "/cut\\xe2\\x82" },       /* a character cut short */
                { "/big\xf4\x90\x80\x80", "/big\\xf4\\x90\\x80\\x80", "/big\\xf4\\x90\\x80\\x80" },
        };
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *name = ipc_escape_alloc(cases[i].raw, IPC_ESCAPE_NAME), *text, *back = NULL;
                text = ipc_escape_alloc(cases[i].raw, IPC_ESCAPE_TEXT);
                assert_string_equal(name, cases[i].name);
                assert_string_equal(text, cases[i].text);
                assert_int_equal(ipc_name_unescape(name, &back), 0);
                assert_string_equal(back, cases[i].raw);
                free(back);
                /* a small buffer is cut between escapes, never inside one */
                char small[6];
                assert_int_equal(ipc_escape(small, sizeof(small), cases[i].raw, IPC_ESCAPE_NAME), strlen(name));
                assert_true(strncmp(small, name, strlen(small)) == 0);
                assert_true(strlen(small) == strlen(name) || small[strlen(small) - 1] != '\\');
                free(name);
                free(text);
        }
        char *back = NULL;
        assert_int_equal(ipc_name_unescape("/a\\b", &back), -EINVAL);
        assert_int_equal(ipc_name_unescape("/a\\x0", &back), -EINVAL);
        assert_int_equal(ipc_name_unescape("/a\\x00", &back), -EINVAL);
        assert_int_equal(ipc_name_unescape("/a\\", &back), -EINVAL);
        assert_int_equal(ipc_name_unescape("/A\\x41\xff", &back), 0); /* upper and raw bytes too */
        assert_string_equal(back, "/AA\xff");
        free(back);

        struct inventory *inv = NULL;
        assert_int_equal(inventory_new(&inv), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct ipc_object *o = inventory_append(inv, IPC_TYPE_FIFO);
                assert_non_null(o);
                o->name = strdup(cases[i].raw);
        }
        for (size_t i = 0; i < inv->n_objects; i++) {
                char *id = ipc_object_id(&inv->objects[i]);
                size_t at = SIZE_MAX;
                assert_int_equal(inventory_find(inv, id, &at), 0);
                assert_int_equal(at, i);
                free(id);
        }
        size_t at;
        assert_int_equal(inventory_find(inv, "fifo:/a\\q", &at), -ENOENT);
        assert_int_equal(inventory_find(inv, "fifo:/back\\slash", &at), -ENOENT); /* the backslash unescaped */
        inventory_free(inv);
}

/* The lookup by the objects sorted (inventory_ids) finds what the scan
 * finds, the first of two objects with one ID included, and refuses what
 * the scan refuses. */
static void test_ids_find_as_scan(void **state) {
        static const struct {
                enum ipc_type type;
                int id;
                const char *name;
        } objs[] = {
                { IPC_TYPE_SHM, 7, NULL },      { IPC_TYPE_SEM, 7, NULL },        { IPC_TYPE_SHM, 0, NULL },
                { IPC_TYPE_MSG, 123456, NULL }, { IPC_TYPE_FIFO, -1, "/t/b" },    { IPC_TYPE_FIFO, -1, "/t/a" },
                { IPC_TYPE_MQ, -1, "/t/a" },    { IPC_TYPE_FIFO, -1, "/t/a" },    { IPC_TYPE_SHM, 3, NULL },
                { IPC_TYPE_PSHM, -1, "/s" },    { IPC_TYPE_FIFO, -1, "/t/\n" }, { IPC_TYPE_SHM, 7, NULL },
        };
        static const char *const probes[] = {
                "shm:7", "sem:7", "shm:0", "msg:123456", "fifo:/t/a", "fifo:/t/b", "mq:/t/a", "pshm:/s",
                "fifo:/t/\\n", "shm:3", "shm:4", "msg:7", "fifo:/t/c", "shm:07", "shm:-1", "shm:", "nope:1",
                "fifo:", "shm", "", "psem:/s", "shm:99999999999",
        };
        struct inventory *inv = NULL;
        struct inventory_ids *ids = NULL;
        (void) state;

        assert_int_equal(inventory_new(&inv), 0);
        for (size_t i = 0; i < ELEMENTSOF(objs); i++) {
                struct ipc_object *o = inventory_append(inv, objs[i].type);
                assert_non_null(o);
                o->id = objs[i].id;
                o->name = objs[i].name ? strdup(objs[i].name) : NULL;
        }
        assert_int_equal(inventory_ids_new(inv, &ids), 0);
        for (size_t i = 0; i < ELEMENTSOF(probes); i++) {
                size_t a = SIZE_MAX, b = SIZE_MAX;
                int ra = inventory_find(inv, probes[i], &a), rb = inventory_ids_find(ids, probes[i], &b);
                assert_int_equal(ra, rb);
                assert_int_equal(a, b);
        }
        size_t at;
        assert_int_equal(inventory_ids_find(ids, "shm:7", &at), 0);
        assert_int_equal(at, 0); /* the first of the two */
        assert_int_equal(inventory_ids_find(ids, "fifo:/t/a", &at), 0);
        assert_int_equal(at, 5);
        inventory_ids_free(ids);
        inventory_free(inv);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text_is_the_json),
                cmocka_unit_test(test_escape_round_trip),
                cmocka_unit_test(test_ids_find_as_scan),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
