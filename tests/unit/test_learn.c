/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The judgement with a memory of life (judge.c, learn.c, unit.c), on
 * hand-made process tables and objects: no /proc, no root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "judge.h"
#include "learn.h"
#include "memory.h"
#include "unit.h"

#define NOW ((time_t) 2000000000)

static struct process procs[8];
static struct proctab table;

/* A table of N processes (pid, uid, start ticks); sorted by pid as given. */
static void set_procs(size_t n, const pid_t *pids, const uid_t *uids, const uint64_t *ticks) {
        memset(procs, 0, sizeof(procs));
        for (size_t i = 0; i < n; i++) {
                procs[i] = (struct process) {
                        .pid = pids[i], .ruid = uids[i], .euid = uids[i], .start_ticks = ticks[i],
                        /* started long before any object below */
                        .start_usec = (uint64_t) (NOW - 100000) * 1000000ull,
                };
                strcpy(procs[i].comm, "worker");
        }
        table = (struct proctab) { .procs = procs, .n_procs = n, .flags = PROCTAB_UIDS };
}

static struct rule rule_collect(uint64_t min_age, bool never_seen_owner) {
        return (struct rule) {
                .name = (char *) "default", .action = ACTION_COLLECT, .has_action = true,
                .min_age = min_age, .never_seen_owner = never_seen_owner,
        };
}

/* An unattached shm of uid 1000 whose creator (pid 50) is gone, idle for a day. */
static struct ipc_object shm_orphan(void) {
        return (struct ipc_object) {
                .type = IPC_TYPE_SHM, .id = 7, .key = 0x1234, .uid = 1000, .cuid = 1000, .mode = 0600,
                .cpid = 50, .lpid = 50, .lrpid = PID_NONE, .size = 4096,
                .ctime = NOW - 86400, .atime = NOW - 86400, .dtime = NOW - 86400,
        };
}

/* A memory of one entry for O. */
static struct memory *remember(const struct ipc_object *o, int64_t last_life, int64_t first_dead,
                               const struct memory_pid *pids, size_t n_pids, const char *unit) {
        struct memory *m = NULL;
        const char *units[1] = { unit };
        struct memory_entry e = {
                .key = memory_key(o), .type = (uint8_t) o->type, .last_life = last_life, .first_dead = first_dead,
                .last_role = ROLE_HOLDER, .last_pid = n_pids ? pids[0].pid : 0,
        };
        assert_int_equal(memory_new(&m), 0);
        assert_int_equal(memory_add(m, &e, pids, n_pids, units, unit ? 1 : 0), 0);
        assert_int_equal(memory_seal(m), 0);
        return m;
}

static enum verdict judge_with(const struct ipc_object *o, const struct rule *r, const struct memory *m,
                               const struct sight *s, time_t step, char reason[static JUDGEMENT_REASON_MAX]) {
        struct judge_context ctx = {
                .proctab = &table, .rules = r, .n_rules = 1, .now = NOW, .memory = m, .sight = s, .clock_step = step,
        };
        struct judgement j;
        assert_int_equal(judge_object(&ctx, o, &j), 0);
        enum verdict v = j.verdict;
        judgement_reason(&j, reason);
        judgement_done(&j);
        return v;
}

static void test_unit_from_cgroup(void **state) {
        char *u;

        assert_int_equal(unit_from_cgroup_text("0::/system.slice/postgresql@15-main.service\n", &u), 0);
        assert_string_equal(u, "/system.slice/postgresql@15-main.service");
        assert_string_equal(unit_name(u), "postgresql@15-main.service");
        free(u);
        /* a cgroup below a unit belongs to it */
        assert_int_equal(unit_from_cgroup_text("0::/user.slice/user-1000.slice/session-2.scope/sub\n", &u), 0);
        assert_string_equal(u, "/user.slice/user-1000.slice/session-2.scope");
        free(u);
        /* the deepest unit wins */
        assert_int_equal(unit_from_cgroup_text("0::/system.slice/docker.service/docker-ab12.scope\n", &u), 0);
        assert_string_equal(u, "/system.slice/docker.service/docker-ab12.scope");
        free(u);
        assert_int_equal(unit_from_cgroup_text("0::/init.scope\n", &u), 0);
        assert_null(u);
        assert_int_equal(unit_from_cgroup_text("0::/\n", &u), 0);
        assert_null(u);
        assert_int_equal(unit_from_cgroup_text("0::/user.slice\n", &u), 0);
        assert_null(u);
        /* legacy hosts: the named hierarchy */
        assert_int_equal(unit_from_cgroup_text("3:cpu:/\n1:name=systemd:/system.slice/apache2.service\n0::/\n", &u), 0);
        assert_string_equal(u, "name=systemd:/system.slice/apache2.service");
        free(u);
}

static void test_no_memory_is_evidence_only(void **state) {
        char why[JUDGEMENT_REASON_MAX];
        struct ipc_object o = shm_orphan();
        struct rule r = rule_collect(0, false);

        set_procs(1, (pid_t[]) { 300 }, (uid_t[]) { 1000 }, (uint64_t[]) { 5 });
        assert_int_equal(judge_with(&o, &r, NULL, NULL, 0, why), VERDICT_ORPHAN);
        assert_non_null(strstr(why, "creator pid 50 exited"));
}

static void test_remembered_pid(void **state) {
        char why[JUDGEMENT_REASON_MAX];
        struct ipc_object o = shm_orphan();
        struct rule r = rule_collect(0, false);
        struct memory_pid seen = { .pid = 300, .uid = 1000, .start_ticks = 5, .role = ROLE_LAST_OP };
        struct memory *m = remember(&o, NOW - 60, 0, &seen, 1, NULL);

        /* the same process, to the tick: alive, though the object names another pid now */
        set_procs(1, (pid_t[]) { 300 }, (uid_t[]) { 1000 }, (uint64_t[]) { 5 });
        assert_int_equal(judge_with(&o, &r, m, NULL, 0, why), VERDICT_LIVE);
        assert_non_null(strstr(why, "seen before as last-op"));
        /* a later process with that pid is not it */
        set_procs(1, (pid_t[]) { 300 }, (uid_t[]) { 1000 }, (uint64_t[]) { 6 });
        assert_int_equal(judge_with(&o, &r, m, NULL, 0, why), VERDICT_ORPHAN);
        assert_non_null(strstr(why, "last holder pid 300 seen 1m ago"));
        memory_free(m);
}

static void test_grace_from_last_life(void **state) {
        char why[JUDGEMENT_REASON_MAX];
        struct ipc_object o = shm_orphan();
        struct rule r = rule_collect(60, false);
        struct memory *m = remember(&o, NOW - 10, 0, NULL, 0, NULL);

        set_procs(0, NULL, NULL, NULL);
        /* idle a day by its own times, but seen alive 10 s ago */
        assert_int_equal(judge_with(&o, &r, m, NULL, 0, why), VERDICT_PENDING);
        assert_non_null(strstr(why, "idle 10s of MinAge 1m"));
        r.min_age = 5;
        assert_int_equal(judge_with(&o, &r, m, NULL, 0, why), VERDICT_ORPHAN);
        memory_free(m);
}

static void test_first_sighting(void **state) {
        char why[JUDGEMENT_REASON_MAX];
        struct ipc_object o = shm_orphan(), other = shm_orphan();
        struct rule r = rule_collect(60, false);

        other.id = 8;
        struct memory *m = remember(&other, NOW - 10, 0, NULL, 0, NULL);
        set_procs(0, NULL, NULL, NULL);
        /* a memory that does not know it: seen for the first time now */
        assert_int_equal(judge_with(&o, &r, m, NULL, 0, why), VERDICT_PENDING);
        /* no memory at all: its own times */
        assert_int_equal(judge_with(&o, &r, NULL, NULL, 0, why), VERDICT_ORPHAN);
        memory_free(m);
        /* remembered as first seen without life a while ago */
        m = remember(&o, 0, NOW - 120, NULL, 0, NULL);
        assert_int_equal(judge_with(&o, &r, m, NULL, 0, why), VERDICT_ORPHAN);
        assert_non_null(strstr(why, "first seen without life 2m ago"));
        memory_free(m);
}

static void test_never_seen_owner(void **state) {
        char why[JUDGEMENT_REASON_MAX];
        struct ipc_object o = shm_orphan();
        struct rule r = rule_collect(0, true);

        set_procs(2, (pid_t[]) { 300, 301 }, (uid_t[]) { 0, 1000 }, (uint64_t[]) { 5, 6 });
        assert_int_equal(judge_with(&o, &r, NULL, NULL, 0, why), VERDICT_LIVE);
        assert_non_null(strstr(why, "never seen in use"));
        assert_non_null(strstr(why, "pid 301"));
        /* seen in use once: its users decide, not its owner */
        struct memory *m = remember(&o, NOW - 60, 0, NULL, 0, NULL);
        assert_int_equal(judge_with(&o, &r, m, NULL, 0, why), VERDICT_ORPHAN);
        memory_free(m);
        /* no process of the owner */
        set_procs(1, (pid_t[]) { 300 }, (uid_t[]) { 0 }, (uint64_t[]) { 5 });
        assert_int_equal(judge_with(&o, &r, NULL, NULL, 0, why), VERDICT_ORPHAN);
}

static void test_self_is_no_evidence(void **state) {
        char why[JUDGEMENT_REASON_MAX];
        struct ipc_object o = shm_orphan();
        struct rule r = rule_collect(0, true);

        o.uid = o.cuid = 4321;
        set_procs(1, (pid_t[]) { getpid() }, (uid_t[]) { 4321 }, (uint64_t[]) { 5 });
        assert_int_equal(judge_with(&o, &r, NULL, NULL, 0, why), VERDICT_ORPHAN);
        o.cpid = getpid();
        assert_int_equal(judge_with(&o, &r, NULL, NULL, 0, why), VERDICT_ORPHAN);
}

static void test_partial_sight(void **state) {
        char why[JUDGEMENT_REASON_MAX];
        struct ipc_object o = shm_orphan();
        struct rule r = rule_collect(0, false);
        struct sight s = { .partial = true };

        strcpy(s.reason, "processes outside this PID namespace may share this IPC namespace");
        set_procs(0, NULL, NULL, NULL);
        assert_int_equal(judge_with(&o, &r, NULL, &s, 0, why), VERDICT_UNKNOWN);
        assert_non_null(strstr(why, "outside this PID namespace"));
        /* what the kernel counts is seen whatever the namespace */
        o.nattch = 1;
        assert_int_equal(judge_with(&o, &r, NULL, &s, 0, why), VERDICT_LIVE);
}

static void test_clock_step(void **state) {
        char why[JUDGEMENT_REASON_MAX];
        struct ipc_object o = shm_orphan();
        struct rule r = rule_collect(0, false);

        /* the creator's pid now names a process started after the object */
        o.cpid = o.lpid = 300;
        set_procs(1, (pid_t[]) { 300 }, (uid_t[]) { 1000 }, (uint64_t[]) { 5 });
        procs[0].start_usec = (uint64_t) (NOW - 3600) * 1000000ull;
        assert_int_equal(judge_with(&o, &r, NULL, NULL, 0, why), VERDICT_ORPHAN);
        assert_non_null(strstr(why, "reused"));
        /* after a step of the wall clock, that is no proof */
        assert_int_equal(judge_with(&o, &r, NULL, NULL, NOW - 60, why), VERDICT_LIVE);
        assert_non_null(strstr(why, "the clock was stepped"));
        /* and MinAge counts from the step */
        o.cpid = o.lpid = 50;
        r.min_age = 120;
        assert_int_equal(judge_with(&o, &r, NULL, NULL, NOW - 60, why), VERDICT_PENDING);
}

static void test_foreign_pid(void **state) {
        char why[JUDGEMENT_REASON_MAX];
        struct ipc_object o = shm_orphan();
        struct rule r = rule_collect(0, false);
        /* uid 4600 attached and detached last (it may: the mode lets it),
         * and is gone; the memory knows that pid was 4600's */
        struct memory_pid seen = { .pid = 400, .uid = 4600, .start_ticks = 9, .role = ROLE_LAST_OP };
        struct memory *m = remember(&o, NOW - 60, 0, &seen, 1, NULL);

        o.lpid = 400;
        set_procs(1, (pid_t[]) { 301 }, (uid_t[]) { 1000 }, (uint64_t[]) { 6 });
        assert_int_equal(judge_with(&o, &r, m, NULL, 0, why), VERDICT_LIVE);
        assert_non_null(strstr(why, "not the owner's"));
        /* with no process of the owner left, it is dead indeed */
        set_procs(1, (pid_t[]) { 302 }, (uid_t[]) { 7 }, (uint64_t[]) { 6 });
        assert_int_equal(judge_with(&o, &r, m, NULL, 0, why), VERDICT_ORPHAN);

        /* the foreign pid, gone, is remembered while the object records it */
        struct inventory inv = { .objects = &o, .n_objects = 1 };
        struct clock_view clock = {};
        struct judge_context ctx = { .proctab = &table, .rules = &r, .n_rules = 1, .now = NOW, .memory = m };
        struct judgement j;
        struct memory *m2 = NULL, *m3 = NULL;
        set_procs(1, (pid_t[]) { 301 }, (uid_t[]) { 1000 }, (uint64_t[]) { 6 });
        assert_int_equal(judge_object(&ctx, &o, &j), 0);
        assert_int_equal(learn(m, &inv, &j, &table, "/nonexistent", &clock, IPC_TYPE_MASK_ALL, NOW, &m2), 0);
        judgement_done(&j);
        const struct memory_entry *e = memory_find(m2, memory_key(&o));
        assert_non_null(e);
        assert_int_equal(e->n_pids, 1);
        assert_int_equal(memory_entry_pid(m2, e, 0).pid, 400);
        /* and forgotten once the object records another */
        o.lpid = 301;
        ctx.memory = m2;
        assert_int_equal(judge_object(&ctx, &o, &j), 0);
        assert_int_equal(learn(m2, &inv, &j, &table, "/nonexistent", &clock, IPC_TYPE_MASK_ALL, NOW, &m3), 0);
        judgement_done(&j);
        e = memory_find(m3, memory_key(&o));
        assert_non_null(e);
        for (unsigned i = 0; i < e->n_pids; i++)
                assert_int_not_equal(memory_entry_pid(m3, e, i).pid, 400);
        memory_free(m);
        memory_free(m2);
        memory_free(m3);
}

static void test_learn(void **state) {
        struct inventory inv = {};
        struct ipc_object o = shm_orphan();
        struct rule r = rule_collect(0, false);
        struct clock_view clock = { .offset_usec = 42 };
        struct memory *m1 = NULL, *m2 = NULL, *m3 = NULL;
        pid_t holder = 300;

        inv.objects = &o;
        inv.n_objects = 1;
        set_procs(1, (pid_t[]) { 300 }, (uid_t[]) { 1000 }, (uint64_t[]) { 5 });
        o.holders = &holder;
        o.n_holders = 1;

        struct judge_context ctx = { .proctab = &table, .rules = &r, .n_rules = 1, .now = NOW };
        struct judgement j;
        assert_int_equal(judge_object(&ctx, &o, &j), 0);
        assert_int_equal(j.verdict, VERDICT_LIVE);
        /* a proc root with no such pid: the unit cannot be read, the pid is kept */
        assert_int_equal(learn(NULL, &inv, &j, &table, "/nonexistent", &clock, IPC_TYPE_MASK_ALL, NOW, &m1), 0);
        judgement_done(&j);
        const struct memory_entry *e = memory_find(m1, memory_key(&o));
        assert_non_null(e);
        assert_int_equal(e->last_life, NOW);
        assert_int_equal(e->first_dead, 0);
        assert_int_equal(e->n_pids, 1);
        assert_int_equal(memory_entry_pid(m1, e, 0).pid, 300);
        assert_int_equal(memory_entry_pid(m1, e, 0).start_ticks, 5);
        assert_int_equal(m1->clock_offset, 42);

        /* its holder let go but lives on: remembered, and still counts */
        o.holders = NULL;
        o.n_holders = 0;
        ctx.memory = m1;
        ctx.now = NOW + 30;
        assert_int_equal(judge_object(&ctx, &o, &j), 0);
        assert_int_equal(j.verdict, VERDICT_LIVE);
        assert_int_equal(learn(m1, &inv, &j, &table, "/nonexistent", &clock, IPC_TYPE_MASK_ALL, NOW + 30, &m2), 0);
        judgement_done(&j);
        e = memory_find(m2, memory_key(&o));
        assert_int_equal(e->last_life, NOW + 30);
        assert_int_equal(e->last_role, ROLE_ATTACHED); /* what it was seen as (shm: attached) */

        /* it exits: no life; the dead pid is forgotten, the last life kept */
        set_procs(0, NULL, NULL, NULL);
        ctx.memory = m2;
        ctx.now = NOW + 60;
        assert_int_equal(judge_object(&ctx, &o, &j), 0);
        assert_int_equal(j.verdict, VERDICT_ORPHAN);
        assert_int_equal(learn(m2, &inv, &j, &table, "/nonexistent", &clock, IPC_TYPE_MASK_ALL, NOW + 60, &m3), 0);
        judgement_done(&j);
        e = memory_find(m3, memory_key(&o));
        assert_int_equal(e->last_life, NOW + 30);
        assert_int_equal(e->first_dead, NOW + 60);
        assert_int_equal(e->n_pids, 0);

        /* gone objects of the types judged are forgotten; others are kept */
        struct memory *m4 = NULL, *m5 = NULL;
        inv.n_objects = 0;
        assert_int_equal(learn(m3, &inv, NULL, &table, "/nonexistent", &clock, IPC_TYPE_BIT(IPC_TYPE_MSG), NOW, &m4), 0);
        assert_non_null(memory_find(m4, memory_key(&o)));
        assert_int_equal(learn(m3, &inv, NULL, &table, "/nonexistent", &clock, IPC_TYPE_BIT(IPC_TYPE_SHM), NOW, &m5), 0);
        assert_null(memory_find(m5, memory_key(&o)));
        memory_free(m1);
        memory_free(m2);
        memory_free(m3);
        memory_free(m4);
        memory_free(m5);
}

static void assert_same_memory(const struct memory *a, const struct memory *b) {
        assert_int_equal(a->n_entries, b->n_entries);
        for (size_t i = 0; i < a->n_entries; i++) {
                const struct memory_entry *x = &a->entries[i], *y = &b->entries[i];
                assert_int_equal(x->key, y->key);
                assert_int_equal(x->type, y->type);
                assert_int_equal(x->last_role, y->last_role);
                assert_int_equal(x->last_pid, y->last_pid);
                assert_int_equal(x->last_life, y->last_life);
                assert_int_equal(x->first_dead, y->first_dead);
                assert_int_equal(x->n_pids, y->n_pids);
                assert_int_equal(x->n_units, y->n_units);
                for (unsigned k = 0; k < x->n_pids; k++) {
                        struct memory_pid p = memory_entry_pid(a, x, k), q = memory_entry_pid(b, y, k);
                        assert_int_equal(p.pid, q.pid);
                        assert_int_equal(p.uid, q.uid);
                        assert_int_equal(p.start_ticks, q.start_ticks);
                        assert_int_equal(p.role, q.role);
                }
                for (unsigned k = 0; k < x->n_units; k++)
                        assert_string_equal(memory_entry_unit(a, x, k), memory_entry_unit(b, y, k));
        }
}

/*
 * Many objects, in any order, and an old memory that knows some of them
 * and some that are gone: learn() walks the inventory in the order of the
 * keys alongside the old memory, and must give what looking each object up
 * gives (an old memory not sorted is looked up, not walked), whatever the
 * order of the inventory; learn_replace the same, in place.
 */
static void test_learn_in_order(void **state) {
        enum { N = 600 };
        struct ipc_object *objs = calloc(N, sizeof(*objs)), *rev = calloc(N, sizeof(*objs));
        struct judgement *js = calloc(N, sizeof(*js)), *jrev = calloc(N, sizeof(*js));
        pid_t *holder = calloc(N, sizeof(*holder));
        struct rule r = rule_collect(0, false);
        struct clock_view clock = { .offset_usec = 42 };
        struct memory *sorted = NULL, *unsorted = NULL, *a = NULL, *b = NULL, *c = NULL;
        struct inventory inv = {}, inv_rev = {};
        const unsigned covered = IPC_TYPE_BIT(IPC_TYPE_SHM) | IPC_TYPE_BIT(IPC_TYPE_FIFO);
        const char *units[] = { "/system.slice/a.service" };

        assert_non_null(objs);
        assert_non_null(rev);
        assert_non_null(js);
        assert_non_null(jrev);
        assert_non_null(holder);
        set_procs(3, (pid_t[]) { 300, 301, 302 }, (uid_t[]) { 1000, 1000, 1000 }, (uint64_t[]) { 5, 6, 7 });
        for (size_t i = 0; i < N; i++) {
                objs[i] = shm_orphan();
                objs[i].id = (int) i;
                if (i % 7 == 0) {
                        objs[i].type = IPC_TYPE_FIFO;
                        objs[i].id = -1;
                        objs[i].name = (char *) "/run/f";
                        objs[i].ino = i;
                        objs[i].dev = 9;
                }
                /* a third held now, by one of three processes */
                if (i % 3 == 0) {
                        holder[i] = 300 + (pid_t) (i % 9) / 3;
                        objs[i].holders = &holder[i];
                        objs[i].n_holders = 1;
                }
        }

        /* The old memory: every other object, some held by a process that
         * still runs (301) or not (399), one unit; and objects gone, of a
         * type judged (forgotten) and of one not (kept). */
        assert_int_equal(memory_new(&sorted), 0);
        assert_int_equal(memory_new(&unsorted), 0);
        for (size_t i = 0; i < N + 40; i++) {
                struct ipc_object gone = shm_orphan();
                const struct ipc_object *o = &objs[i < N ? i : 0];
                if (i >= N) {
                        gone.id = (int) (100000 + i);
                        gone.type = i % 2 ? IPC_TYPE_SHM : IPC_TYPE_MSG;
                        o = &gone;
                } else if (i % 2)
                        continue;
                struct memory_pid p[2] = { { 301, 1000, 6, ROLE_ATTACHED }, { 399, 1000, 9, ROLE_HOLDER } };
                struct memory_entry e = {
                        .key = memory_key(o), .type = (uint8_t) o->type, .last_role = ROLE_HOLDER,
                        .last_pid = 399, .last_life = (uint32_t) (NOW - 100 - (time_t) i),
                        .first_dead = i % 4 == 0 ? (uint32_t) (NOW - 50) : 0,
                };
                size_t n_pids = i % 5 == 0 ? 2 : i % 5 == 1 ? 1 : 0;
                assert_int_equal(memory_add(sorted, &e, n_pids ? p : NULL, n_pids, i % 3 ? units : NULL, i % 3 ? 1 : 0), 0);
                assert_int_equal(memory_add(unsorted, &e, n_pids ? p : NULL, n_pids, i % 3 ? units : NULL, i % 3 ? 1 : 0), 0);
        }
        assert_int_equal(memory_seal(sorted), 0);

        struct judge_context ctx = { .proctab = &table, .rules = &r, .n_rules = 1, .now = NOW, .memory = sorted };
        for (size_t i = 0; i < N; i++) {
                assert_int_equal(judge_object(&ctx, &objs[i], &js[i]), 0);
                rev[N - 1 - i] = objs[i];
                jrev[N - 1 - i] = js[i];
        }
        inv = (struct inventory) { .objects = objs, .n_objects = N };
        inv_rev = (struct inventory) { .objects = rev, .n_objects = N };

        assert_int_equal(learn(sorted, &inv, js, &table, "/nonexistent", &clock, covered, NOW, &a), 0);
        assert_int_equal(learn(unsorted, &inv, js, &table, "/nonexistent", &clock, covered, NOW, &b), 0);
        assert_same_memory(a, b);
        assert_int_equal(learn(sorted, &inv_rev, jrev, &table, "/nonexistent", &clock, covered, NOW, &c), 0);
        assert_same_memory(a, c);

        /* What it holds: every object, the gone one of a type not judged. */
        assert_int_equal(a->n_entries, N + 20);
        for (size_t i = 1; i < a->n_entries; i++)
                assert_true(a->entries[i - 1].key < a->entries[i].key);
        for (size_t i = 0; i < N; i++) {
                const struct memory_entry *e = memory_find(a, memory_key(&objs[i]));
                assert_non_null(e);
                if (i % 3 == 0)
                        assert_int_equal(e->last_life, NOW);
                else if (i % 10 == 0)
                        /* remembered by 301, which still runs: alive */
                        assert_int_equal(e->last_life, NOW);
                if (i % 2 == 0 && i % 3 != 0)
                        assert_int_equal(e->n_units, 1);
        }
        for (size_t i = N; i < N + 40; i++) {
                struct ipc_object gone = shm_orphan();
                gone.id = (int) (100000 + i);
                gone.type = i % 2 ? IPC_TYPE_SHM : IPC_TYPE_MSG;
                const struct memory_entry *e = memory_find(a, memory_key(&gone)), *o = memory_find(sorted, memory_key(&gone));
                if (i % 2) {
                        assert_null(e);
                        continue;
                }
                assert_non_null(e);
                assert_int_equal(e->last_life, o->last_life);
                assert_int_equal(e->first_dead, o->first_dead);
                assert_int_equal(e->n_pids, o->n_pids);
                assert_int_equal(e->n_units, o->n_units);
        }

        /* In place: the old one replaced. */
        assert_int_equal(learn_replace(&unsorted, &inv, js, &table, "/nonexistent", &clock, covered, NOW), 0);
        assert_same_memory(a, unsorted);

        for (size_t i = 0; i < N; i++)
                judgement_done(&js[i]);
        memory_free(sorted);
        memory_free(unsorted);
        memory_free(a);
        memory_free(b);
        memory_free(c);
        free(objs);
        free(rev);
        free(js);
        free(jrev);
        free(holder);
}

static void test_clock_view(void **state) {
        struct memory *m = NULL;
        struct clock_view c, c2;

        assert_int_equal(memory_new(&m), 0);
        assert_int_equal(learn_clock(m, NOW, &c), 0);
        assert_int_equal(c.step, 0);
        /* as if saved by this boot a moment ago */
        memcpy(m->boot_id, c.boot_id, sizeof(m->boot_id));
        m->clock_offset = c.offset_usec;
        assert_int_equal(learn_clock(m, NOW, &c2), 0);
        assert_int_equal(c2.step, 0);
        /* the offset moved by 5 s: a step, now */
        m->clock_offset = c.offset_usec - 5000000;
        assert_int_equal(learn_clock(m, NOW, &c2), 0);
        assert_int_equal(c2.step, NOW);
        memory_free(m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unit_from_cgroup),   cmocka_unit_test(test_no_memory_is_evidence_only),
                cmocka_unit_test(test_remembered_pid),     cmocka_unit_test(test_grace_from_last_life),
                cmocka_unit_test(test_first_sighting),     cmocka_unit_test(test_never_seen_owner),
                cmocka_unit_test(test_self_is_no_evidence), cmocka_unit_test(test_partial_sight),
                cmocka_unit_test(test_clock_step),         cmocka_unit_test(test_foreign_pid),
                cmocka_unit_test(test_learn),              cmocka_unit_test(test_learn_in_order),
                cmocka_unit_test(test_clock_view),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
