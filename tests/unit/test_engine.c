/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The engine (engine.c) and what answers through it (service.c), on a world
 * made in a temporary directory: /proc/sysvipc-format files, a fake /proc,
 * an ipcgc.conf read by config_load() and a state directory.  No root, no
 * capability, and nothing of the host's IPC is read or touched:
 *  - collect_paths.sysvipc is never "/proc/sysvipc" (that is read with
 *    *_STAT_ANY from the real kernel);
 *  - [Scan] Types= is shm msg sem only, so no mqueue, /dev/shm or FIFO
 *    directory is walked;
 *  - the sem files list no set: sysv_collect() asks the real kernel (semctl)
 *    for the members of every set listed, whatever file listed it;
 *  - every removal is a dry run (reap_dry, remove_dry): a real one would
 *    re-read and IPC_RMID the fixture's ids in the real kernel.  DryRun= in
 *    the config does not protect here: engine_reap() obeys only the request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "macro.h"
#include "reap.h"
#include "service.h"

/* Pids above PID_MAX_LIMIT (4194304) name no process on any host: fake
 * processes with them are alive only in the fake /proc, and the dead pids
 * recorded in objects are certainly dead. */
#define FAKE_PID(n) ((pid_t) (5000000 + (n)))
#define DEAD_PID(n) ((pid_t) (6000000 + (n)))

#define MAX_FACTS 16

struct shm_fact {
        int key, id;
        pid_t cpid, lpid;
        unsigned nattch;
        uid_t uid;
        uid_t cuid; /* 0: the owner */
        time_t atime, dtime, ctime;
};

struct msg_fact {
        int key, id;
        pid_t lspid, lrpid;
        uid_t uid;
        time_t stime, rtime, ctime;
};

struct world {
        char root[64];
        char sysvipc[96], proc[96], state[96];
        struct collect_paths paths;
        time_t now, old;
        struct shm_fact shm[MAX_FACTS];
        size_t n_shm;
        struct msg_fact msg[MAX_FACTS];
        size_t n_msg;
        /* Real processes, forked, blocked reading WAKE: live evidence whose
         * pidfds the engine's watch can hold (a fake pid has no pidfd). */
        pid_t child[2];
        int wake;
        struct config *configs[4]; /* freed at teardown: an engine needs its config to outlive it */
        size_t n_configs;
};

/* ---- files -------------------------------------------------------------- */

static void put(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) type;
        (void) ftw;
        return remove(path);
}

static void rm_rf(const char *path) {
        (void) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The SysV files as /proc/sysvipc prints them (keys signed decimal, perms
 * octal), from the facts of W. */
static void write_sysv(const struct world *w) {
        char path[128];
        FILE *f;

        snprintf(path, sizeof(path), "%s/shm", w->sysvipc);
        f = fopen(path, "we");
        assert_non_null(f);
        fprintf(f, "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      "
                   "atime      dtime      ctime                   rss                  swap\n");
        for (size_t i = 0; i < w->n_shm; i++) {
                const struct shm_fact *s = &w->shm[i];
                fprintf(f, "%10d %10d %5o %21u %5d %5d %6u %5u %5u %5u %5u %10lld %10lld %10lld %21u %21u\n", s->key,
                        s->id, 0600, 4096u, (int) s->cpid, (int) s->lpid, s->nattch, (unsigned) s->uid,
                        (unsigned) s->uid, (unsigned) (s->cuid ? s->cuid : s->uid), (unsigned) s->uid,
                        (long long) s->atime,
                        (long long) s->dtime, (long long) s->ctime, 4096u, 0u);
        }
        assert_int_equal(fclose(f), 0);

        snprintf(path, sizeof(path), "%s/msg", w->sysvipc);
        f = fopen(path, "we");
        assert_non_null(f);
        fprintf(f, "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      "
                   "stime      rtime      ctime\n");
        for (size_t i = 0; i < w->n_msg; i++) {
                const struct msg_fact *m = &w->msg[i];
                fprintf(f, "%10d %10d %5o %11u %10u %5d %5d %5u %5u %5u %5u %10lld %10lld %10lld\n", m->key, m->id,
                        0600, 0u, 0u, (int) m->lspid, (int) m->lrpid, (unsigned) m->uid, (unsigned) m->uid,
                        (unsigned) m->uid, (unsigned) m->uid, (long long) m->stime, (long long) m->rtime,
                        (long long) m->ctime);
        }
        assert_int_equal(fclose(f), 0);

        /* No set: see the top of this file. */
        snprintf(path, sizeof(path), "%s/sem", w->sysvipc);
        put(path, "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n");
}

static struct shm_fact *add_shm(struct world *w, int id, pid_t cpid, unsigned nattch, uid_t uid, time_t ctime) {
        assert_true(w->n_shm < MAX_FACTS);
        struct shm_fact *s = &w->shm[w->n_shm++];
        *s = (struct shm_fact) { .key = id, .id = id, .cpid = cpid, .lpid = cpid, .nattch = nattch, .uid = uid,
                                 .atime = w->old, .dtime = w->old, .ctime = ctime };
        return s;
}

static struct msg_fact *add_msg(struct world *w, int id, pid_t pid, uid_t uid, time_t when) {
        assert_true(w->n_msg < MAX_FACTS);
        struct msg_fact *m = &w->msg[w->n_msg++];
        *m = (struct msg_fact) { .key = id, .id = id, .lspid = pid, .lrpid = pid, .uid = uid,
                                 .stime = when, .rtime = when, .ctime = when };
        return m;
}

static struct shm_fact *shm_of(struct world *w, int id) {
        for (size_t i = 0; i < w->n_shm; i++)
                if (w->shm[i].id == id)
                        return &w->shm[i];
        fail_msg("no shm %d in the fixture", id);
        abort(); /* not reached: fail_msg() leaves the test */
}

/* What a process's /proc/PID/maps shows of a SysV segment it attached. */
static const char *attach_line(int shmid, char buf[static 128]) {
        snprintf(buf, 128, "7f0000000000-7f0000100000 rw-s 00000000 00:01 %d /SYSV%08x (deleted)\n", shmid,
                 (unsigned) shmid);
        return buf;
}

/*
 * /proc/PID of a fake process: what proctab.c reads (stat, status, maps,
 * fd/, wchan) and unit.c (cgroup).  One thread, not blocked, no unit.  Its
 * start is START_TICKS after boot; 0, the boot itself, is earlier than any
 * time a SysV object records, so a pid it recorded is not taken for reused.
 */
static void fake_process(const struct world *w, pid_t pid, uid_t uid, unsigned long long start_ticks,
                         const char *maps) {
        char dir[128], path[160], text[1024];

        snprintf(dir, sizeof(dir), "%s/%d", w->proc, (int) pid);
        assert_int_equal(mkdir(dir, 0755), 0);
        /* fields 4..52 of proc(5): ppid .. starttime (22) .. exit_code */
        snprintf(text, sizeof(text),
                 "%d (fake) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %llu 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
                 "0 0 0 0 0 0 0 0 0 0 0\n",
                 (int) pid, start_ticks);
        snprintf(path, sizeof(path), "%s/stat", dir);
        put(path, text);
        snprintf(text, sizeof(text),
                 "Name:\tfake\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\nPPid:\t1\nUid:\t%u\t%u\t%u\t%u\n"
                 "Gid:\t%u\t%u\t%u\t%u\n",
                 (int) pid, (int) pid, (unsigned) uid, (unsigned) uid, (unsigned) uid, (unsigned) uid, (unsigned) uid,
                 (unsigned) uid, (unsigned) uid, (unsigned) uid);
        snprintf(path, sizeof(path), "%s/status", dir);
        put(path, text);
        snprintf(path, sizeof(path), "%s/maps", dir);
        put(path, maps ? maps : "");
        snprintf(path, sizeof(path), "%s/wchan", dir);
        put(path, "0");
        snprintf(path, sizeof(path), "%s/cgroup", dir);
        put(path, "0::/user.slice\n");
        snprintf(path, sizeof(path), "%s/fd", dir);
        assert_int_equal(mkdir(path, 0755), 0);
}

static void set_maps(const struct world *w, pid_t pid, const char *maps) {
        char path[160], spid[16];

        snprintf(spid, sizeof(spid), "%d", (int) pid);
        snprintf(path, sizeof(path), "%s/%s/maps", w->proc, spid);
        put(path, maps);
}

static void drop_process(const struct world *w, pid_t pid) {
        char dir[128];

        snprintf(dir, sizeof(dir), "%s/%d", w->proc, (int) pid);
        rm_rf(dir);
}

/* An ipcgc.conf of the world: only SysV types, the fake /proc trusted as
 * the whole PID namespace (it has no ns/pid to tell), DAEMON and RULES as
 * given.  Freed at teardown. */
static struct config *load_config(struct world *w, const char *daemon, const char *rules) {
        char path[128], text[4096];
        struct config *c = NULL;
        char *error = NULL;

        snprintf(path, sizeof(path), "%s/ipcgc-%zu.conf", w->root, w->n_configs);
        snprintf(text, sizeof(text), "[Daemon]\n%s\n[Scan]\nTypes=shm msg sem\nTrustPIDNamespace=yes\n\n%s", daemon,
                 rules);
        put(path, text);
        int r = config_load(path, CONFIG_MUST_EXIST, &c, &error);
        if (r < 0)
                fail_msg("config_load: %d %s", r, error ? error : "");
        assert_true(w->n_configs < ELEMENTSOF(w->configs));
        w->configs[w->n_configs++] = c;
        /* What keeps this test off the host's objects, checked where it is set. */
        assert_int_equal(c->scan.types, IPC_TYPE_MASK_SYSV);
        return c;
}

/* shm 104 (key 0x68) is kept, uid 3000's objects reported, the rest
 * collected a MinAge after their last activity. */
#define RULES                                                                                                          \
        "[Rule keep]\nKey=0x68\nAction=keep\n\n"                                                                       \
        "[Rule report]\nUser=3000\nAction=report\n\n"                                                                  \
        "[Rule default]\nAction=collect\nMinAge=1h\n"

/*
 * The same, but only shm 102 (key 0x66) waits a MinAge: the rest are
 * collected at once.  For tests that judge more than once with one engine
 * and no StateDir=: each judgement after the first makes an orphan young
 * again (test_orphan_stays_orphan_without_state_dir), and what those tests
 * are about must not hang on that.
 */
#define RULES_NOW                                                                                                      \
        "[Rule keep]\nKey=0x68\nAction=keep\n\n"                                                                       \
        "[Rule report]\nUser=3000\nAction=report\n\n"                                                                  \
        "[Rule young]\nKey=0x66\nAction=collect\nMinAge=1h\n\n"                                                        \
        "[Rule default]\nAction=collect\nMinAge=0\n"

static struct config *config_no_memory(struct world *w) {
        return load_config(w, "StateDir=\nMaxRemovalsPerSweep=64", RULES);
}

static struct config *config_no_memory_now(struct world *w) {
        return load_config(w, "StateDir=\nMaxRemovalsPerSweep=64", RULES_NOW);
}

static struct config *config_with_memory(struct world *w) {
        char daemon[256];

        snprintf(daemon, sizeof(daemon), "StateDir=%s\nMaxRemovalsPerSweep=64", w->state);
        return load_config(w, daemon, RULES);
}

/* ---- worlds ------------------------------------------------------------- */

static int world_new(void **state) {
        struct world *w = calloc(1, sizeof(*w));

        if (!w)
                return -1;
        strcpy(w->root, "/tmp/test_engine.XXXXXX");
        if (!mkdtemp(w->root))
                return -1;
        snprintf(w->sysvipc, sizeof(w->sysvipc), "%s/sysvipc", w->root);
        snprintf(w->proc, sizeof(w->proc), "%s/proc", w->root);
        snprintf(w->state, sizeof(w->state), "%s/state", w->root);
        if (mkdir(w->sysvipc, 0755) < 0 || mkdir(w->proc, 0755) < 0 || mkdir(w->state, 0755) < 0)
                return -1;
        w->paths = (struct collect_paths) { .sysvipc = w->sysvipc, .proc = w->proc };
        w->now = time(NULL);
        w->old = w->now - 86400;
        w->wake = -1;
        *state = w;
        return 0;
}

static int world_free(void **state) {
        struct world *w = *state;

        if (!w)
                return 0;
        /* EOF on the pipe ends the children. */
        if (w->wake >= 0)
                (void) close(w->wake);
        for (size_t i = 0; i < ELEMENTSOF(w->child); i++)
                if (w->child[i] > 0) {
                        (void) kill(w->child[i], SIGKILL);
                        (void) waitpid(w->child[i], NULL, 0);
                }
        for (size_t i = 0; i < w->n_configs; i++)
                config_free(w->configs[i]);
        rm_rf(w->root);
        free(w);
        return 0;
}

/*
 * The main world, one object of each verdict the rules give:
 *   shm 100  uid 1000  nattch 0, creator gone, a day idle         ORPHAN
 *   shm 101  uid 1000  attached by live pid F1 (its maps)         LIVE
 *   shm 102  uid 1000  creator gone, changed a minute ago         PENDING (MinAge=1h)
 *   shm 103  uid 2000  as 100, another owner                      ORPHAN
 *   shm 104  uid 1000  as 100, key 0x68: [Rule keep]              PROTECTED
 *   shm 105  uid 3000  as 100: [Rule report]                      REPORTED
 *   shm 106  uid 1000  created (now) by live pid F2               LIVE
 *   msg 200  uid 1000  sender and receiver gone, a day idle       ORPHAN
 *   msg 201  uid 1000  last sent to (now) by live pid F1          LIVE
 * F1 (uid 1000) and F2 (uid 2000) live in the fake /proc only.
 */
static int main_world(void **state) {
        char line[128];

        if (world_new(state) < 0)
                return -1;
        struct world *w = *state;
        add_shm(w, 100, DEAD_PID(1), 0, 1000, w->old);
        add_shm(w, 101, DEAD_PID(2), 1, 1000, w->old);
        add_shm(w, 102, DEAD_PID(3), 0, 1000, w->now - 60);
        add_shm(w, 103, DEAD_PID(4), 0, 2000, w->old);
        add_shm(w, 104, DEAD_PID(5), 0, 1000, w->old);
        add_shm(w, 105, DEAD_PID(6), 0, 3000, w->old);
        add_shm(w, 106, FAKE_PID(2), 0, 1000, w->now);
        add_msg(w, 200, DEAD_PID(7), 1000, w->old);
        add_msg(w, 201, FAKE_PID(1), 1000, w->now);
        write_sysv(w);
        fake_process(w, FAKE_PID(1), 1000, 0, attach_line(101, line));
        fake_process(w, FAKE_PID(2), 2000, 0, NULL);
        return 0;
}

static pid_t spawn_sleeper(int rfd, int wfd) {
        pid_t pid = fork();

        if (pid == 0) {
                char c;
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                (void) close(wfd);
                (void) !read(rfd, &c, 1);
                _exit(0);
        }
        return pid;
}

/*
 * The world of quick judgements: every object LIVE, and every pid of that
 * life a real process (C1, C2, forked here), listed in the fake /proc too.
 *   shm 300  attached by C1                                LIVE
 *   shm 301  created (now) by C2                           LIVE
 *   msg 400  last sent by C1 (now)                         LIVE
 * U, a fake process, is evidence of nothing.
 *
 * Why all LIVE: a confirmation keeps a verdict of no life only when the
 * sleepers (every thread's wchan, sleepers.h) vouch that nobody is blocked
 * on the object.  They need CAP_SYS_PTRACE, and the fake /proc has no
 * /proc/stat to count forks by: here they never can, so any verdict other
 * than LIVE makes every QUICK a full judgement (test_quick_refuses).  A LIVE
 * verdict is vouched for by the pidfds of its processes: those must be real,
 * while their stat lines need not be their real ones (the watch compares the
 * start the fake /proc shows now with what it showed when judged).
 */
static int quick_world(void **state) {
        char line[128];
        int p[2];

        if (world_new(state) < 0)
                return -1;
        struct world *w = *state;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        w->wake = p[1];
        for (size_t i = 0; i < ELEMENTSOF(w->child); i++)
                if ((w->child[i] = spawn_sleeper(p[0], p[1])) < 0)
                        return -1;
        (void) close(p[0]);

        add_shm(w, 300, DEAD_PID(1), 1, 1000, w->old);
        add_shm(w, 301, w->child[1], 0, 1000, w->now);
        add_msg(w, 400, w->child[0], 1000, w->now);
        write_sysv(w);
        fake_process(w, w->child[0], 1000, 0, attach_line(300, line));
        fake_process(w, w->child[1], 1000, 0, NULL);
        fake_process(w, FAKE_PID(9), 1000, 0, NULL);
        return 0;
}

/* ---- helpers on an engine ----------------------------------------------- */

/* Every removal here goes through these two: see the top of this file. */
static void check_nothing_removed(const struct reap_result *res) {
        assert_int_equal(res->removed, 0);
        assert_int_equal(res->failed, 0);
        for (size_t i = 0; i < res->n_records; i++)
                assert_int_not_equal(res->records[i].action, REAP_REMOVED);
}

static int reap_dry(struct engine *e, const struct engine_request *req, struct reap_result **ret) {
        assert_true(req->dry_run);
        int r = engine_reap(e, req, ret);
        if (r >= 0)
                check_nothing_removed(*ret);
        return r;
}

static int remove_dry(struct engine *e, const char *id, const struct engine_request *req, size_t *ret_index,
                      struct reap_result **ret) {
        assert_true(req->dry_run);
        int r = engine_remove_one(e, id, req, ret_index, ret);
        if (r >= 0)
                check_nothing_removed(*ret);
        return r;
}

static size_t index_of(struct engine *e, const char *id) {
        size_t i;

        if (engine_find(e, id, &i) < 0)
                fail_msg("%s not in the judgement", id);
        return i;
}

static const struct judgement *judgement_of(struct engine *e, const char *id) {
        return &engine_last(e).judgements[index_of(e, id)];
}

static enum verdict verdict_of(struct engine *e, const char *id) {
        return judgement_of(e, id)->verdict;
}

static void count_verdicts(const struct engine *e, size_t counts[static _VERDICT_MAX]) {
        struct engine_last last = engine_last(e);

        memset(counts, 0, _VERDICT_MAX * sizeof(size_t));
        assert_non_null(last.inv);
        for (size_t i = 0; i < last.inv->n_objects; i++)
                counts[last.judgements[i].verdict]++;
}

static bool has_evidence(const struct judgement *j, enum evidence_role role, enum evidence_state state, pid_t pid) {
        for (size_t i = 0; i < j->n_evidence; i++)
                if (j->evidence[i].role == role && j->evidence[i].state == state && j->evidence[i].pid == pid)
                        return true;
        return false;
}

static bool record_of(const struct reap_result *res, const char *id, enum reap_action action) {
        for (size_t i = 0; i < res->n_records; i++)
                if (res->records[i].id && strcmp(res->records[i].id, id) == 0 && res->records[i].action == action)
                        return true;
        return false;
}

/* ---- 1. a full judgement ------------------------------------------------ */

static void test_full_judgement(void **state) {
        struct world *w = *state;
        const struct config *c = config_no_memory(w);
        _cleanup_(engine_freep) struct engine *e = NULL;
        size_t n[_VERDICT_MAX];

        assert_int_equal(engine_new(c, &w->paths, 0, &e), 0);
        /* Nothing judged yet: nothing to find, nothing to reap. */
        assert_null(engine_last(e).inv);
        assert_int_equal(engine_find(e, "shm:100", &(size_t) { 0 }), -ENOENT);
        struct reap_result *none = NULL;
        assert_int_equal(reap_dry(e, &(struct engine_request) { .dry_run = true }, &none), -ESTALE);

        uint64_t g0 = engine_generation(e);
        time_t before = time(NULL);
        assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
        struct engine_last last = engine_last(e);
        assert_non_null(last.inv);
        assert_int_equal(last.inv->n_objects, 9);
        assert_int_equal(last.inv->n_warnings, 0);
        assert_false(last.confirmed);
        assert_true(last.at >= before && last.at <= time(NULL));
        assert_true(last.generation > g0);
        assert_int_equal(last.generation, engine_generation(e));
        assert_false(engine_sight(e)->partial);

        assert_int_equal(verdict_of(e, "shm:100"), VERDICT_ORPHAN);
        assert_int_equal(verdict_of(e, "shm:101"), VERDICT_LIVE);
        assert_true(has_evidence(judgement_of(e, "shm:101"), ROLE_ATTACHED, EVIDENCE_ALIVE, FAKE_PID(1)));
        assert_int_equal(verdict_of(e, "shm:102"), VERDICT_PENDING);
        assert_int_equal(verdict_of(e, "shm:103"), VERDICT_ORPHAN);
        assert_int_equal(verdict_of(e, "shm:104"), VERDICT_PROTECTED);
        assert_string_equal(judgement_of(e, "shm:104")->rule->name, "keep");
        assert_int_equal(verdict_of(e, "shm:105"), VERDICT_REPORTED);
        assert_int_equal(verdict_of(e, "shm:106"), VERDICT_LIVE);
        assert_true(has_evidence(judgement_of(e, "shm:106"), ROLE_CREATOR, EVIDENCE_ALIVE, FAKE_PID(2)));
        assert_true(has_evidence(judgement_of(e, "shm:100"), ROLE_CREATOR, EVIDENCE_EXITED, DEAD_PID(1)));
        assert_int_equal(verdict_of(e, "msg:200"), VERDICT_ORPHAN);
        assert_int_equal(verdict_of(e, "msg:201"), VERDICT_LIVE);
        assert_true(has_evidence(judgement_of(e, "msg:201"), ROLE_LAST_SENDER, EVIDENCE_ALIVE, FAKE_PID(1)));
        assert_int_equal(engine_find(e, "shm:999", &(size_t) { 0 }), -ENOENT);
        assert_int_equal(engine_find(e, "sem:100", &(size_t) { 0 }), -ENOENT);

        count_verdicts(e, n);
        assert_int_equal(n[VERDICT_LIVE], 3);
        assert_int_equal(n[VERDICT_ORPHAN], 3);
        assert_int_equal(n[VERDICT_PENDING], 1);
        assert_int_equal(n[VERDICT_PROTECTED], 1);
        assert_int_equal(n[VERDICT_REPORTED], 1);
        assert_int_equal(n[VERDICT_UNKNOWN], 0);
        assert_int_equal(engine_stats(e).full_judgements, 1);
        assert_int_equal(engine_stats(e).quick_judgements, 0);

        /* Each judgement moves the generation, even of the same objects. */
        uint64_t g1 = engine_generation(e);
        assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
        assert_true(engine_generation(e) > g1);
        assert_int_equal(engine_stats(e).full_judgements, 2);
        /* Without ENGINE_INCREMENTAL a quick judgement is a full one. */
        uint64_t g2 = engine_generation(e);
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_true(engine_generation(e) > g2);
        assert_int_equal(engine_stats(e).full_judgements, 3);
        assert_int_equal(engine_stats(e).quick_judgements, 0);
        assert_false(engine_last(e).confirmed);

        /* A judgement this fresh is kept by refresh. */
        uint64_t g3 = engine_generation(e);
        assert_int_equal(engine_refresh(e, UINT64_MAX / 2, ENGINE_FULL), 0);
        assert_int_equal(engine_generation(e), g3);
        assert_int_equal(engine_stats(e).full_judgements, 3);

        /* What the fake /proc shows decides.  F1 gone: msg 201 loses its
         * life (and waits its MinAge from it); shm 101 keeps the kernel's
         * count of an attachment no /proc shows. */
        drop_process(w, FAKE_PID(1));
        assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
        assert_true(has_evidence(judgement_of(e, "msg:201"), ROLE_LAST_SENDER, EVIDENCE_EXITED, FAKE_PID(1)));
        assert_int_equal(verdict_of(e, "msg:201"), VERDICT_PENDING);
        assert_int_equal(verdict_of(e, "shm:101"), VERDICT_LIVE);
        assert_false(has_evidence(judgement_of(e, "shm:101"), ROLE_ATTACHED, EVIDENCE_ALIVE, FAKE_PID(1)));
        assert_true(has_evidence(judgement_of(e, "shm:101"), ROLE_NATTCH, EVIDENCE_FACT, 0));
        assert_int_equal(verdict_of(e, "shm:106"), VERDICT_LIVE);
}

/* ---- 2. full versus quick ----------------------------------------------- */

static void verdicts_copy(const struct engine *e, enum verdict *v, size_t n) {
        struct engine_last last = engine_last(e);

        assert_int_equal(last.inv->n_objects, n);
        for (size_t i = 0; i < n; i++)
                v[i] = last.judgements[i].verdict;
}

static void test_quick_confirms(void **state) {
        struct world *w = *state;
        const struct config *c = config_no_memory_now(w);
        _cleanup_(engine_freep) struct engine *e = NULL;
        enum verdict full[3], quick[3];

        assert_int_equal(engine_new(c, &w->paths, ENGINE_INCREMENTAL, &e), 0);
        assert_true(engine_watch_fd(e) >= 0);
        assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
        assert_int_equal(engine_stats(e).full_judgements, 1);
        assert_false(engine_last(e).confirmed);
        verdicts_copy(e, full, 3);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(full[i], VERDICT_LIVE);
        assert_true(has_evidence(judgement_of(e, "shm:300"), ROLE_ATTACHED, EVIDENCE_ALIVE, w->child[0]));
        assert_true(has_evidence(judgement_of(e, "shm:301"), ROLE_CREATOR, EVIDENCE_ALIVE, w->child[1]));

        /* Nothing changed: confirmed, not made again. */
        const struct inventory *inv = engine_last(e).inv;
        uint64_t g = engine_generation(e);
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        struct engine_stats st = engine_stats(e);
        assert_int_equal(st.full_judgements, 1);
        assert_int_equal(st.quick_judgements, 1);
        assert_int_equal(st.quick_without_life, 0);
        assert_true(engine_last(e).confirmed);
        assert_ptr_equal(engine_last(e).inv, inv); /* the inventory judged stands */
        /* and so does every judgement: a listing being written from them
         * goes on (only a judgement made again moves the generation) */
        assert_int_equal(engine_generation(e), g);
        verdicts_copy(e, quick, 3);
        assert_memory_equal(full, quick, sizeof(full));
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).quick_judgements, 2);

        /* A fact of one object changes (its ctime): judged in full. */
        shm_of(w, 300)->ctime++;
        write_sysv(w);
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).full_judgements, 2);
        assert_int_equal(engine_stats(e).quick_judgements, 2);
        assert_false(engine_last(e).confirmed);
        assert_int_equal(engine_last(e).inv->objects[index_of(e, "shm:300")].ctime, shm_of(w, 300)->ctime);

        /* And confirmed again on the new facts. */
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).quick_judgements, 3);
        assert_true(engine_last(e).confirmed);

        /* nattch moves: judged in full. */
        shm_of(w, 300)->nattch = 2;
        write_sysv(w);
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).full_judgements, 3);
        assert_false(engine_last(e).confirmed);

        /* A new object: judged in full. */
        add_shm(w, 302, DEAD_PID(9), 1, 1000, w->old);
        write_sysv(w);
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).full_judgements, 4);
        assert_int_equal(engine_last(e).inv->n_objects, 4);

        /* A process whose life was evidence exits (its /proc entry left
         * as it was): the pidfd tells, and the judgement is made again. */
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).quick_judgements, 4);
        assert_int_equal(kill(w->child[1], SIGKILL), 0);
        assert_int_equal(waitpid(w->child[1], NULL, 0), w->child[1]);
        pid_t exited[4];
        assert_int_equal(engine_watch_exited(e, exited, ELEMENTSOF(exited)), 1);
        assert_int_equal(exited[0], w->child[1]);
        w->child[1] = 0;
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).full_judgements, 5);
        assert_int_equal(engine_stats(e).quick_judgements, 4);
}

/* What a confirmation cannot vouch for is judged in full. */
static void test_quick_refuses(void **state) {
        struct world *w = *state;
        const struct config *c = config_no_memory_now(w);
        _cleanup_(engine_freep) struct engine *e = NULL;
        char line[128];

        /* A LIVE verdict that rests on a process with no pidfd (a fake pid):
         * the watch is incomplete. */
        add_shm(w, 302, DEAD_PID(9), 1, 1000, w->old);
        write_sysv(w);
        fake_process(w, FAKE_PID(1), 1000, 0, attach_line(302, line));
        assert_int_equal(engine_new(c, &w->paths, ENGINE_INCREMENTAL, &e), 0);
        assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
        assert_int_equal(verdict_of(e, "shm:302"), VERDICT_LIVE);
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).full_judgements, 3);
        assert_int_equal(engine_stats(e).quick_judgements, 0);

        /* Without it, confirmed. */
        drop_process(w, FAKE_PID(1));
        w->n_shm--;
        write_sysv(w);
        assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).full_judgements, 4);
        assert_int_equal(engine_stats(e).quick_judgements, 1);

        /* An orphan: no sleepers to vouch that nobody waits on it (see
         * quick_world). */
        add_shm(w, 303, DEAD_PID(10), 0, 1000, w->old);
        write_sysv(w);
        assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
        assert_int_equal(verdict_of(e, "shm:303"), VERDICT_ORPHAN);
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).full_judgements, 6);
        assert_int_equal(engine_stats(e).quick_judgements, 1);
        assert_int_equal(verdict_of(e, "shm:303"), VERDICT_ORPHAN);
}

/* ---- 3. invalidation ---------------------------------------------------- */

/* ENGINE_KEEP, what a listing asks for: with an orphan no confirmation is
 * possible here (no sleepers), but while the objects are the ones judged,
 * with the same facts, the judgement kept stands, brought to now; any new,
 * gone or changed object, and the judgement is made again. */
static void test_keep(void **state) {
        struct world *w = *state;
        const struct config *c = config_no_memory(w);
        _cleanup_(engine_freep) struct engine *e = NULL;

        assert_int_equal(engine_new(c, &w->paths, ENGINE_INCREMENTAL, &e), 0);
        assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
        assert_int_equal(verdict_of(e, "shm:100"), VERDICT_ORPHAN);
        const struct inventory *inv = engine_last(e).inv;
        uint64_t g = engine_generation(e);

        /* Nothing changed: kept, not made again, nor confirmed. */
        assert_int_equal(engine_judge(e, ENGINE_KEEP), 0);
        assert_int_equal(engine_stats(e).full_judgements, 1);
        assert_int_equal(engine_stats(e).quick_judgements, 0);
        assert_ptr_equal(engine_last(e).inv, inv);
        assert_false(engine_last(e).confirmed);
        assert_int_equal(engine_generation(e), g); /* brought to now, no verdict made again */
        assert_int_equal(verdict_of(e, "shm:100"), VERDICT_ORPHAN);
        /* engine_refresh with KEEP judges as engine_judge(KEEP) does */
        assert_int_equal(engine_refresh(e, 0, ENGINE_KEEP), 0);
        assert_int_equal(engine_stats(e).full_judgements, 1);

        /* A fact moves: made again. */
        shm_of(w, 100)->ctime++;
        write_sysv(w);
        assert_int_equal(engine_judge(e, ENGINE_KEEP), 0);
        assert_int_equal(engine_stats(e).full_judgements, 2);

        /* A new object: made again, and listed. */
        add_shm(w, 107, DEAD_PID(8), 0, 1000, w->old);
        write_sysv(w);
        assert_int_equal(engine_judge(e, ENGINE_KEEP), 0);
        assert_int_equal(engine_stats(e).full_judgements, 3);
        size_t i;
        assert_int_equal(engine_find(e, "shm:107", &i), 0);

        /* An object gone: made again, and not listed. */
        w->n_shm--;
        write_sysv(w);
        assert_int_equal(engine_judge(e, ENGINE_KEEP), 0);
        assert_int_equal(engine_stats(e).full_judgements, 4);
        assert_int_equal(engine_find(e, "shm:107", &i), -ENOENT);

        /* Without ENGINE_INCREMENTAL there is nothing to compare with. */
        _cleanup_(engine_freep) struct engine *once = NULL;
        assert_int_equal(engine_new(c, &w->paths, 0, &once), 0);
        assert_int_equal(engine_judge(once, ENGINE_FULL), 0);
        assert_int_equal(engine_judge(once, ENGINE_KEEP), 0);
        assert_int_equal(engine_stats(once).full_judgements, 2);
}

static void test_invalidate(void **state) {
        struct world *w = *state;
        const struct config *c = config_no_memory_now(w);
        _cleanup_(engine_freep) struct engine *e = NULL;

        assert_int_equal(engine_new(c, &w->paths, ENGINE_INCREMENTAL, &e), 0);
        assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).quick_judgements, 1);

        uint64_t g = engine_generation(e);
        engine_invalidate(e);
        assert_null(engine_last(e).inv);
        assert_null(engine_last(e).judgements);
        assert_true(engine_generation(e) > g); /* a listing under way sees -ESTALE */
        assert_int_equal(engine_find(e, "shm:300", &(size_t) { 0 }), -ENOENT);
        struct reap_result *none = NULL;
        assert_int_equal(reap_dry(e, &(struct engine_request) { .dry_run = true }, &none), -ESTALE);
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).full_judgements, 2);
        assert_int_equal(engine_stats(e).quick_judgements, 1);
        assert_false(engine_last(e).confirmed);
        assert_non_null(engine_last(e).inv);

        /* A new config: the judgement made under the old rules goes, and
         * the next is made, in full, under the new ones. */
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).quick_judgements, 2);
        assert_int_equal(verdict_of(e, "shm:300"), VERDICT_LIVE);
        assert_string_equal(judgement_of(e, "shm:300")->rule->name, "default");
        const struct config *c2 = load_config(w, "StateDir=", "[Rule everything]\nAction=keep\n");
        g = engine_generation(e);
        engine_set_config(e, c2);
        assert_null(engine_last(e).inv);
        assert_true(engine_generation(e) > g);
        assert_int_equal(engine_judge(e, ENGINE_QUICK), 0);
        assert_int_equal(engine_stats(e).full_judgements, 3);
        assert_int_equal(engine_stats(e).quick_judgements, 2);
        assert_string_equal(judgement_of(e, "shm:300")->rule->name, "everything");
}

/* ---- 4. the force rule -------------------------------------------------- */

static void test_force_rule(void **state) {
        (void) state;
        for (enum verdict v = 0; v < _VERDICT_MAX; v++) {
                assert_true(reap_removable(v, false) == (v == VERDICT_ORPHAN));
                bool forced = v == VERDICT_ORPHAN || v == VERDICT_PENDING || v == VERDICT_REPORTED ||
                              v == VERDICT_PROTECTED;
                assert_true(reap_removable(v, true) == forced);
        }
        assert_false(reap_removable(VERDICT_LIVE, true));
        assert_false(reap_removable(VERDICT_UNKNOWN, true));
}

/* ---- 5. remove one ------------------------------------------------------ */

static void test_remove_one(void **state) {
        struct world *w = *state;
        const struct config *c = config_no_memory_now(w);
        _cleanup_(engine_freep) struct engine *e = NULL;
        struct engine_request req = { .dry_run = true };
        size_t i = SIZE_MAX;

        assert_int_equal(engine_new(c, &w->paths, 0, &e), 0);

        /* No judgement needed first: remove judges now, in full. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                assert_int_equal(remove_dry(e, "shm:100", &req, &i, &res), 0);
                assert_int_equal(engine_stats(e).full_judgements, 1);
                assert_int_equal(i, index_of(e, "shm:100"));
                assert_int_equal(res->n_records, 1);
                assert_int_equal(res->would_remove, 1);
                assert_string_equal(res->records[0].id, "shm:100");
                assert_int_equal(res->records[0].action, REAP_WOULD_REMOVE);
                assert_int_equal(res->records[0].verdict, VERDICT_ORPHAN);
                assert_int_equal(res->records[0].index, i);
                /* the other orphans are not its business */
                assert_false(record_of(res, "shm:103", REAP_WOULD_REMOVE));
                assert_false(record_of(res, "msg:200", REAP_WOULD_REMOVE));
                assert_int_equal(res->judged[VERDICT_ORPHAN], 1);
                assert_int_equal(res->judged[VERDICT_LIVE], 0);
                /* a dry run leaves the judgement whole */
                assert_int_equal(engine_last(e).inv->n_objects, 9);
        }

        /* PENDING without force: in use, and which one is said. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                i = SIZE_MAX;
                uint64_t g = engine_generation(e);
                assert_int_equal(remove_dry(e, "shm:102", &req, &i, &res), -EBUSY);
                assert_null(res);
                assert_true(engine_generation(e) > g); /* judged again first */
                assert_int_equal(i, index_of(e, "shm:102"));
                assert_int_equal(engine_last(e).judgements[i].verdict, VERDICT_PENDING);
        }

        /* With force: would go. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                struct engine_request forced = { .dry_run = true, .force = true };
                assert_int_equal(remove_dry(e, "shm:102", &forced, &i, &res), 0);
                assert_int_equal(res->n_records, 1);
                assert_string_equal(res->records[0].id, "shm:102");
                assert_int_equal(res->records[0].action, REAP_WOULD_REMOVE);
                assert_int_equal(res->records[0].verdict, VERDICT_PENDING);
        }

        /* LIVE: never, forced or not. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                struct engine_request forced = { .dry_run = true, .force = true };
                i = SIZE_MAX;
                assert_int_equal(remove_dry(e, "shm:101", &forced, &i, &res), -EBUSY);
                assert_int_equal(i, index_of(e, "shm:101"));
                assert_null(res);
        }

        /* No such object. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                assert_int_equal(remove_dry(e, "shm:999", &req, &i, &res), -ENOENT);
                assert_int_equal(remove_dry(e, "sem:100", &req, &i, &res), -ENOENT);
                assert_int_equal(remove_dry(e, "bogus", &req, &i, &res), -ENOENT);
                assert_null(res);
        }

        /* Asked by uid 2000, who neither owns nor made shm:100: no such
         * object for them; their own shm:103 would go. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                struct engine_request other = { .dry_run = true, .by_uid = true, .uid = 2000 };
                assert_int_equal(remove_dry(e, "shm:100", &other, &i, &res), -ENOENT);
                assert_null(res);
                assert_int_equal(remove_dry(e, "shm:103", &other, &i, &res), 0);
                assert_int_equal(res->n_records, 1);
                assert_string_equal(res->records[0].id, "shm:103");
                assert_int_equal(res->records[0].action, REAP_WOULD_REMOVE);
        }
}

/* ---- 6. what a reap selects --------------------------------------------- */

static size_t judged_total(const struct reap_result *res) {
        size_t n = 0;
        for (int v = 0; v < _VERDICT_MAX; v++)
                n += res->judged[v];
        return n;
}

static void test_reap_selection(void **state) {
        struct world *w = *state;
        const struct config *c = config_no_memory(w);
        _cleanup_(engine_freep) struct engine *e = NULL;

        assert_int_equal(engine_new(c, &w->paths, 0, &e), 0);
        assert_int_equal(engine_judge(e, ENGINE_FULL), 0);

        /* Everything. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                assert_int_equal(reap_dry(e, &(struct engine_request) { .dry_run = true }, &res), 0);
                assert_int_equal(res->would_remove, 3);
                assert_true(record_of(res, "shm:100", REAP_WOULD_REMOVE));
                assert_true(record_of(res, "shm:103", REAP_WOULD_REMOVE));
                assert_true(record_of(res, "msg:200", REAP_WOULD_REMOVE));
                assert_int_equal(judged_total(res), 9);
                assert_int_equal(res->judged[VERDICT_LIVE], 3);
                assert_false(res->stopped);
        }

        /* shm only. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                struct engine_request req = { .dry_run = true, .types = IPC_TYPE_BIT(IPC_TYPE_SHM) };
                assert_int_equal(reap_dry(e, &req, &res), 0);
                assert_int_equal(res->would_remove, 2);
                for (size_t i = 0; i < res->n_records; i++)
                        assert_int_equal(res->records[i].type, IPC_TYPE_SHM);
                assert_false(record_of(res, "msg:200", REAP_WOULD_REMOVE));
                assert_int_equal(judged_total(res), 7);
                assert_int_equal(res->judged[VERDICT_LIVE], 2);
                assert_int_equal(res->judged[VERDICT_ORPHAN], 2);
                assert_int_equal(res->judged[VERDICT_PENDING], 1);
                assert_int_equal(res->judged[VERDICT_PROTECTED], 1);
                assert_int_equal(res->judged[VERDICT_REPORTED], 1);
        }

        /* msg only. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                struct engine_request req = { .dry_run = true, .types = IPC_TYPE_BIT(IPC_TYPE_MSG) };
                assert_int_equal(reap_dry(e, &req, &res), 0);
                assert_int_equal(res->n_records, 1);
                assert_true(record_of(res, "msg:200", REAP_WOULD_REMOVE));
                assert_int_equal(judged_total(res), 2);
                assert_int_equal(res->judged[VERDICT_LIVE], 1);
                assert_int_equal(res->judged[VERDICT_ORPHAN], 1);
        }

        /* sem only: nothing there. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                struct engine_request req = { .dry_run = true, .types = IPC_TYPE_BIT(IPC_TYPE_SEM) };
                assert_int_equal(reap_dry(e, &req, &res), 0);
                assert_int_equal(res->n_records, 0);
                assert_int_equal(judged_total(res), 0);
        }

        /* uid 2000's objects only. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                struct engine_request req = { .dry_run = true, .by_uid = true, .uid = 2000 };
                assert_int_equal(reap_dry(e, &req, &res), 0);
                assert_int_equal(res->n_records, 1);
                assert_true(record_of(res, "shm:103", REAP_WOULD_REMOVE));
                assert_int_equal(judged_total(res), 1);
                assert_int_equal(res->judged[VERDICT_ORPHAN], 1);
        }

        /* uid 1000 and msg: both filters at once. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                struct engine_request req = { .dry_run = true, .by_uid = true, .uid = 1000,
                                              .types = IPC_TYPE_BIT(IPC_TYPE_MSG) };
                assert_int_equal(reap_dry(e, &req, &res), 0);
                assert_int_equal(res->n_records, 1);
                assert_true(record_of(res, "msg:200", REAP_WOULD_REMOVE));
                assert_int_equal(judged_total(res), 2);
        }

        /* Forced, shm: every verdict the force rule allows, none LIVE. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                struct engine_request req = { .dry_run = true, .force = true, .types = IPC_TYPE_BIT(IPC_TYPE_SHM) };
                assert_int_equal(reap_dry(e, &req, &res), 0);
                assert_int_equal(res->would_remove, 5);
                assert_true(record_of(res, "shm:102", REAP_WOULD_REMOVE));
                assert_true(record_of(res, "shm:104", REAP_WOULD_REMOVE));
                assert_true(record_of(res, "shm:105", REAP_WOULD_REMOVE));
                assert_false(record_of(res, "shm:101", REAP_WOULD_REMOVE));
                assert_false(record_of(res, "shm:106", REAP_WOULD_REMOVE));
        }

        /* The limit: one, and the rest said to be left. */
        {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                struct engine_request req = { .dry_run = true, .max_removals = 1 };
                assert_int_equal(reap_dry(e, &req, &res), 0);
                assert_int_equal(res->would_remove, 1);
                assert_true(res->stopped);
                assert_int_equal(res->not_tried, 2);
                assert_int_equal(res->records[res->n_records - 1].action, REAP_STOPPED);
        }

        /* Dry runs leave the judgement as it was. */
        assert_int_equal(engine_last(e).inv->n_objects, 9);
        assert_int_equal(engine_stats(e).full_judgements, 1);
}

/* ---- 7. the memory between judgements ----------------------------------- */

/*
 * The memory world: shm 500 attached by fake M1, shm 501 by fake M2, both a
 * day old, creators gone.  Then both detach (nattch 0, no maps line) and M2
 * exits, while M1 lives on.  What the second judgement makes of them
 * depends only on what the first one taught the memory.
 */
static int memory_world(void **state) {
        char line[128];

        if (world_new(state) < 0)
                return -1;
        struct world *w = *state;
        add_shm(w, 500, DEAD_PID(1), 1, 1000, w->old);
        add_shm(w, 501, DEAD_PID(2), 1, 1000, w->old);
        write_sysv(w);
        fake_process(w, FAKE_PID(11), 1000, 777, attach_line(500, line));
        fake_process(w, FAKE_PID(12), 1000, 888, attach_line(501, line));
        return 0;
}

static void detach_all(struct world *w) {
        shm_of(w, 500)->nattch = 0;
        shm_of(w, 501)->nattch = 0;
        write_sysv(w);
        set_maps(w, FAKE_PID(11), "");
        drop_process(w, FAKE_PID(12));
}

static void test_memory(void **state) {
        struct world *w = *state;
        const struct config *mem = config_with_memory(w), *none = config_no_memory(w);
        char path[160];
        struct stat st;

        {
                _cleanup_(engine_freep) struct engine *e = NULL;
                assert_int_equal(engine_new(mem, &w->paths, ENGINE_SAVE, &e), 0);
                assert_null(engine_take_warning(e));
                assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
                assert_int_equal(engine_save_error(e), 0);
                assert_int_equal(verdict_of(e, "shm:500"), VERDICT_LIVE);
                assert_int_equal(verdict_of(e, "shm:501"), VERDICT_LIVE);
        }
        snprintf(path, sizeof(path), "%s/memory", w->state);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > 0);

        detach_all(w);

        /* With the memory: M1, seen attached and still the same process,
         * keeps 500 alive; 501's grace counts from the life last seen.
         * (Pids are remembered within one boot: the real
         * /proc/sys/kernel/random/boot_id is read, never written.) */
        {
                _cleanup_(engine_freep) struct engine *e = NULL;
                assert_int_equal(engine_new(mem, &w->paths, 0, &e), 0);
                assert_null(engine_take_warning(e));
                assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
                assert_int_equal(verdict_of(e, "shm:500"), VERDICT_LIVE);
                assert_true(has_evidence(judgement_of(e, "shm:500"), ROLE_REMEMBERED, EVIDENCE_ALIVE, FAKE_PID(11)));
                const struct judgement *j = judgement_of(e, "shm:501");
                assert_int_equal(j->verdict, VERDICT_PENDING);
                assert_int_equal(j->grace, JUDGE_GRACE_LAST_LIFE);
                assert_int_equal(j->grace_pid, FAKE_PID(12));
                assert_int_equal(j->grace_role, ROLE_ATTACHED);
                assert_true(j->idle < 3600);
        }

        /* Without a memory: the kernel's facts alone, a day idle. */
        {
                _cleanup_(engine_freep) struct engine *e = NULL;
                assert_int_equal(engine_new(none, &w->paths, ENGINE_SAVE, &e), 0);
                assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
                assert_int_equal(verdict_of(e, "shm:500"), VERDICT_ORPHAN);
                assert_int_equal(verdict_of(e, "shm:501"), VERDICT_ORPHAN);
                assert_int_equal(judgement_of(e, "shm:501")->grace, JUDGE_GRACE_NONE);
        }

        /* The same StateDir without its file: nothing remembered, so both
         * are seen for the first time now, and their MinAge starts now. */
        assert_int_equal(unlink(path), 0);
        {
                _cleanup_(engine_freep) struct engine *e = NULL;
                assert_int_equal(engine_new(mem, &w->paths, 0, &e), 0);
                assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
                assert_int_equal(verdict_of(e, "shm:500"), VERDICT_PENDING);
                assert_false(has_evidence(judgement_of(e, "shm:500"), ROLE_REMEMBERED, EVIDENCE_ALIVE, FAKE_PID(11)));
                assert_int_equal(verdict_of(e, "shm:501"), VERDICT_PENDING);
                assert_int_equal(judgement_of(e, "shm:501")->grace, JUDGE_GRACE_NONE);
                assert_int_equal(judgement_of(e, "shm:501")->idle, 0);
        }
}

/*
 * Without StateDir= the first judgement has no memory, and judges an
 * object a day idle ORPHAN from the kernel's times.  The engine then
 * remembers what it judged (learnt), and the next judgement of the same,
 * unchanged object must not make it younger.
 */
static void test_orphan_stays_orphan_without_state_dir(void **state) {
        struct world *w = *state;
        const struct config *c = config_no_memory(w);
        _cleanup_(engine_freep) struct engine *e = NULL;

        assert_int_equal(engine_new(c, &w->paths, 0, &e), 0);
        assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
        assert_int_equal(verdict_of(e, "shm:100"), VERDICT_ORPHAN);
        assert_int_equal(verdict_of(e, "msg:200"), VERDICT_ORPHAN);
        assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
        assert_int_equal(verdict_of(e, "shm:100"), VERDICT_ORPHAN);
        assert_int_equal(verdict_of(e, "msg:200"), VERDICT_ORPHAN);
        assert_true(judgement_of(e, "shm:100")->idle >= 3600);
}

/* ---- 8. which exits matter ---------------------------------------------- */

static void test_exits_matter(void **state) {
        struct world *w = *state;
        const struct config *c = config_no_memory_now(w);
        _cleanup_(engine_freep) struct engine *e = NULL;

        assert_int_equal(engine_new(c, &w->paths, ENGINE_INCREMENTAL, &e), 0);
        assert_int_equal(engine_judge(e, ENGINE_FULL), 0);

        /* The life of shm 300 and msg 400. */
        assert_true(engine_exits_matter(e, &w->child[0], 1, false));
        assert_true(engine_exits_matter(e, &w->child[1], 1, false));
        /* U is known to the process table, and evidence of nothing. */
        assert_false(engine_exits_matter(e, &(pid_t) { FAKE_PID(9) }, 1, false));
        assert_false(engine_exits_matter(e, NULL, 0, false));
        /* Born after the judgement: it could have made an object the
         * judgement never saw, but /proc/sysvipc shows none. */
        assert_false(engine_exits_matter(e, &(pid_t) { DEAD_PID(20) }, 1, false));
        assert_false(engine_exits_matter(e, NULL, 0, true));
        /* One among others that matters. */
        assert_true(engine_exits_matter(e, (pid_t[]) { FAKE_PID(9), w->child[0] }, 2, false));

        /* Now an object made since, recorded by that pid: it matters. */
        add_shm(w, 302, DEAD_PID(20), 0, 1000, w->old);
        write_sysv(w);
        assert_true(engine_exits_matter(e, &(pid_t) { DEAD_PID(20) }, 1, false));
        assert_true(engine_exits_matter(e, NULL, 0, true));
        /* A known pid's exit is still no news of it. */
        assert_false(engine_exits_matter(e, &(pid_t) { FAKE_PID(9) }, 1, false));
}

/* ---- 9. through the service --------------------------------------------- */

static json_object *list_reply(const struct service *s, const struct service_caller *who, const char *params) {
        _cleanup_free_ char *all = NULL;
        size_t len = 0;
        json_object *p = params ? json_tokener_parse(params) : NULL, *reply = NULL;
        struct service_stream *st = NULL;
        bool done = false;

        assert_int_equal(service_call(s, who, "io.ipcgc.List", p, &reply, &st), 0);
        json_object_put(p);
        assert_null(reply);
        assert_non_null(st);
        for (int k = 0; !done; k++) {
                char *piece;
                size_t n;
                assert_true(k < 1000);
                assert_int_equal(service_stream_next(st, &piece, &n, &done), 0);
                char *a = realloc(all, len + n + 1);
                assert_non_null(a);
                all = a;
                memcpy(all + len, piece, n);
                len += n;
                all[len] = 0;
                free(piece);
        }
        service_stream_free(st);
        json_object *j = json_tokener_parse(all);
        if (!j)
                fail_msg("List's text is not JSON: %s", all);
        return j;
}

static json_object *get(json_object *o, const char *key) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(o, key, &v))
                fail_msg("no \"%s\" in %s", key, json_object_to_json_string(o));
        return v;
}

static const char *verdict_in(json_object *objects, const char *id) {
        for (size_t i = 0; i < json_object_array_length(objects); i++) {
                json_object *o = json_object_array_get_idx(objects, i);
                if (strcmp(json_object_get_string(get(o, "id")), id) == 0)
                        return json_object_get_string(get(o, "verdict"));
        }
        return NULL;
}

static json_object *call(const struct service *s, const struct service_caller *who, const char *method,
                         const char *params) {
        json_object *p = params ? json_tokener_parse(params) : NULL, *reply = NULL;
        struct service_stream *st = NULL;

        assert_int_equal(service_call(s, who, method, p, &reply, &st), 0);
        json_object_put(p);
        assert_null(st);
        assert_non_null(reply);
        return reply;
}

/* The kernel stamps a msgsnd with its coarse clock's second, which lags
 * the tick: a sender started 2 ms into second S+1 may have sent with the
 * stamp S.  It is the one recorded, alive; a process started well after
 * the slack is not. */
static void test_reuse_slack(void **state) {
        const time_t stime = 1796231300;
        struct process procs[] = {
                { .pid = 31, .start_usec = (uint64_t) (stime + 1) * 1000000u + 2000u, .comm = "sender" },
                { .pid = 32, .start_usec = (uint64_t) (stime + 2) * 1000000u, .comm = "newer" },
        };
        const struct proctab pt = { .procs = procs, .n_procs = 2 };
        const struct judge_context ctx = { .proctab = &pt, .now = stime + 10, .self = 1 };
        (void) state;

        for (size_t k = 0; k < 2; k++) {
                struct ipc_object o = { .type = IPC_TYPE_MSG, .id = 64, .cpid = PID_NONE, .lpid = procs[k].pid,
                                        .lrpid = 0, .mtime = stime, .ctime = stime - 5, .qnum = 1 };
                struct judgement j = {};
                assert_int_equal(judge_object(&ctx, &o, &j), 0);
                enum evidence_state want = k == 0 ? EVIDENCE_ALIVE : EVIDENCE_REUSED;
                bool found = false;
                for (size_t e = 0; e < j.n_evidence; e++)
                        if (j.evidence[e].role == ROLE_LAST_SENDER) {
                                assert_int_equal(j.evidence[e].state, want);
                                found = true;
                        }
                assert_true(found);
                assert_int_equal(j.verdict == VERDICT_LIVE, k == 0);
                judgement_done(&j);
        }
}

static void test_service(void **state) {
        struct world *w = *state;
        const struct config *c = config_no_memory_now(w);
        _cleanup_(engine_freep) struct engine *e = NULL;
        const struct service_caller admin = { .uid = 0, .admin = true }, user = { .uid = 2000 };

        assert_int_equal(engine_new(c, &w->paths, 0, &e), 0);
        /* A dry-run service: nothing is removed, asked or not. */
        const struct service s = { .engine = e, .config = c, .proc_root = w->proc, .dry_run = true };
        assert_true(s.dry_run);

        /* The whole listing, judged for it. */
        json_object *j = list_reply(&s, &admin, NULL);
        json_object *params = get(j, "parameters"), *objects = get(params, "objects");
        assert_int_equal(json_object_array_length(objects), 9);
        assert_string_equal(verdict_in(objects, "shm:100"), "ORPHAN");
        assert_string_equal(verdict_in(objects, "shm:101"), "LIVE");
        assert_string_equal(verdict_in(objects, "shm:102"), "PENDING");
        assert_string_equal(verdict_in(objects, "shm:104"), "PROTECTED");
        assert_string_equal(verdict_in(objects, "shm:105"), "REPORTED");
        assert_string_equal(verdict_in(objects, "msg:200"), "ORPHAN");
        assert_false(json_object_get_boolean(get(params, "confirmed")));
        assert_int_equal(json_object_get_int64(get(params, "judged_at")), engine_last(e).at);
        json_object_put(j);
        assert_int_equal(engine_stats(e).full_judgements, 1);

        /* Filtered: msg, ORPHAN. */
        j = list_reply(&s, &admin, "{\"types\":[\"msg\"],\"verdicts\":[\"ORPHAN\"]}");
        objects = get(get(j, "parameters"), "objects");
        assert_int_equal(json_object_array_length(objects), 1);
        assert_string_equal(verdict_in(objects, "msg:200"), "ORPHAN");
        json_object_put(j);

        /* Another user sees their own only: what they own, and what they
         * made that someone else owns now (as Explain and their dry runs
         * count it). */
        j = list_reply(&s, &user, NULL);
        objects = get(get(j, "parameters"), "objects");
        assert_int_equal(json_object_array_length(objects), 1);
        assert_string_equal(verdict_in(objects, "shm:103"), "ORPHAN");
        json_object_put(j);
        add_shm(w, 108, DEAD_PID(8), 0, 1000, w->old)->cuid = 2000;
        write_sysv(w);
        json_object_put(list_reply(&s, &admin, "{\"fresh\":true}")); /* judged again, with shm:108 */
        j = list_reply(&s, &user, NULL);
        objects = get(get(j, "parameters"), "objects");
        assert_int_equal(json_object_array_length(objects), 2);
        assert_non_null(verdict_in(objects, "shm:108"));
        json_object_put(j);
        w->n_shm--; /* the world as the checks below expect it */
        write_sysv(w);
        json_object_put(list_reply(&s, &admin, "{\"fresh\":true}"));

        /* A listing whose judgement is made again under it says so. */
        {
                json_object *reply = NULL;
                struct service_stream *st = NULL;
                char *piece = NULL;
                size_t n;
                bool done;
                assert_int_equal(service_call(&s, &admin, "io.ipcgc.List", NULL, &reply, &st), 0);
                assert_non_null(st);
                assert_int_equal(engine_judge(e, ENGINE_FULL), 0);
                assert_int_equal(service_stream_next(st, &piece, &n, &done), -ESTALE);
                service_stream_free(st);
        }

        /* A dry sweep of shm: shm records only, shm counts only. */
        j = call(&s, &admin, "io.ipcgc.Sweep", "{\"dry_run\":true,\"types\":[\"shm\"]}");
        assert_false(json_object_object_get_ex(j, "error", NULL));
        params = get(j, "parameters");
        assert_true(json_object_get_boolean(get(params, "dry_run")));
        assert_int_equal(json_object_get_int64(get(params, "removed")), 0);
        assert_int_equal(json_object_get_int64(get(params, "would_remove")), 2);
        json_object *records = get(params, "records");
        assert_int_equal(json_object_array_length(records), 2);
        for (size_t i = 0; i < json_object_array_length(records); i++) {
                json_object *r = json_object_array_get_idx(records, i);
                assert_string_equal(json_object_get_string(get(r, "type")), "shm");
                assert_string_equal(json_object_get_string(get(r, "action")), "would-remove");
        }
        json_object *judged = get(params, "judged");
        assert_int_equal(json_object_get_int64(get(judged, "LIVE")), 2);
        assert_int_equal(json_object_get_int64(get(judged, "ORPHAN")), 2);
        assert_int_equal(json_object_get_int64(get(judged, "PENDING")), 1);
        assert_int_equal(json_object_get_int64(get(judged, "PROTECTED")), 1);
        assert_int_equal(json_object_get_int64(get(judged, "REPORTED")), 1);
        assert_int_equal(json_object_get_int64(get(judged, "UNKNOWN")), 0);
        json_object_put(j);

        /* Not asked here: a Sweep without "dry_run" on a dry-run service.
         * Should that ever remove, it would be the real kernel's ids. */

        /* Another user: a dry run is theirs to ask, about their own objects. */
        j = call(&s, &user, "io.ipcgc.Sweep", "{\"dry_run\":true}");
        params = get(j, "parameters");
        records = get(params, "records");
        assert_int_equal(json_object_array_length(records), 1);
        assert_string_equal(json_object_get_string(get(json_object_array_get_idx(records, 0), "id")), "shm:103");
        assert_int_equal(json_object_get_int64(get(get(params, "judged"), "ORPHAN")), 1);
        assert_int_equal(json_object_get_int64(get(get(params, "judged"), "LIVE")), 0);
        json_object_put(j);
        /* ... and no more. */
        j = call(&s, &user, "io.ipcgc.Sweep", "{\"dry_run\":false}");
        assert_string_equal(json_object_get_string(get(j, "error")), "io.ipcgc.PermissionDenied");
        json_object_put(j);
        j = call(&s, &admin, "io.ipcgc.Sweep", "{\"types\":[\"nonsense\"]}");
        assert_string_equal(json_object_get_string(get(j, "error")), "org.varlink.service.InvalidParameter");
        json_object_put(j);

        /* Remove through the service: dry, and in use said with the verdict. */
        j = call(&s, &admin, "io.ipcgc.Remove", "{\"id\":\"shm:100\"}");
        json_object *rec = get(get(j, "parameters"), "record");
        assert_string_equal(json_object_get_string(get(rec, "id")), "shm:100");
        assert_string_equal(json_object_get_string(get(rec, "action")), "would-remove");
        json_object_put(j);
        j = call(&s, &admin, "io.ipcgc.Remove", "{\"id\":\"shm:102\"}");
        assert_string_equal(json_object_get_string(get(j, "error")), "io.ipcgc.ObjectInUse");
        assert_string_equal(json_object_get_string(get(get(j, "parameters"), "verdict")), "PENDING");
        json_object_put(j);
        j = call(&s, &admin, "io.ipcgc.Remove", "{\"id\":\"shm:999\"}");
        assert_string_equal(json_object_get_string(get(j, "error")), "io.ipcgc.NoSuchObject");
        json_object_put(j);

        assert_int_equal(engine_last(e).inv->n_objects, 9);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_full_judgement, main_world, world_free),
                cmocka_unit_test_setup_teardown(test_quick_confirms, quick_world, world_free),
                cmocka_unit_test_setup_teardown(test_quick_refuses, quick_world, world_free),
                cmocka_unit_test_setup_teardown(test_invalidate, quick_world, world_free),
                cmocka_unit_test_setup_teardown(test_keep, main_world, world_free),
                cmocka_unit_test(test_force_rule),
                cmocka_unit_test_setup_teardown(test_remove_one, main_world, world_free),
                cmocka_unit_test_setup_teardown(test_reap_selection, main_world, world_free),
                cmocka_unit_test_setup_teardown(test_memory, memory_world, world_free),
                cmocka_unit_test_setup_teardown(test_orphan_stays_orphan_without_state_dir, main_world, world_free),
                cmocka_unit_test_setup_teardown(test_exits_matter, quick_world, world_free),
                cmocka_unit_test_setup_teardown(test_service, main_world, world_free),
                cmocka_unit_test(test_reuse_slack),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
