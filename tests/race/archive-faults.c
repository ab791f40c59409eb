/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Faults injected into reap()'s archive, each at the one point a bug of
 * the review lived at (fixed in 037d04c), by defining in this program the
 * libc calls libipcgc makes there: libipcgc is linked in statically, so its
 * calls come here, and each hook, once armed, does its one thing and then
 * makes the real system call.  Nothing sleeps: every hook runs inside the
 * call it stands for.
 *
 * Cases (one reap() each, unless said; every object made by this process,
 * which the judgement never counts as a user, so each is ORPHAN at once
 * under "[Rule default] MinAge=0 Action=collect"):
 *   h1        an mq with 4 messages (1:alpha 2:beta 2:delta 3:gamma) and a
 *             shm segment, one batch; syncfs(2) fails with EIO (the batch
 *             commit's one sync).  Neither may be removed, both records
 *             "skipped: could not archive (Input/output error)", and the
 *             queue must hold its messages again, in order, with their
 *             priorities (a failed commit used to drop the entry, the
 *             messages' only copy).
 *   h3        a segment another process attaches, writes a byte to and
 *             detaches from while reap() reads it for the archive: hooked
 *             at madvise(2), which shm_save calls once per chunk between
 *             its shmat and its last look.  Skipped ("it changed while
 *             being archived"), not removed, contents intact but for the
 *             byte written.
 *   h3-shmdt  the same attach made from a hook on shmdt(2), i.e. after
 *             shm_save's last look and before its detach: a window the
 *             fix does not close (reported as a TODO by the script).
 *   m3        an empty mq, archived empty, sent a message after the batch
 *             was committed and before remove_one() looks at it: hooked at
 *             the first fstatat(2) of the queue's name once syncfs(2) has
 *             run (remove_one's own check of dev/ino, the last call before
 *             queue_still_empty()).  Not removed, the message still there.
 *   m3-unlinkat  the same message sent from a hook on unlinkat(2), i.e.
 *             after queue_still_empty() and before the unlink: a window the
 *             fix does not close (a TODO in the script): the message is
 *             lost with the queue, and is in no entry.
 *   m2        a 1 GiB pshm holding 4 KiB, under ArchiveMaxBytes=256M:
 *             archived (the entry's contents: 1 GiB long; 4 KiB of blocks,
 *             and the manifest's) and
 *             removed.
 *   m2-evict  20 pshm files of 8 MiB removed into an archive (ArchiveKeep=0,
 *             ArchiveMaxBytes=200M); then a 200 MiB sparse file holding 1
 *             byte, under 200M: removed, at most 1 old entry evicted; then
 *             another, under 256M (where an entry sized by the length
 *             evicts 14): the same.
 *   h2        a segment whose record cannot be made after its IPC_RMID
 *             (vasprintf(3) fails once, armed by shmctl(IPC_RMID)): reap()
 *             returns -ENOMEM, and the entry of what was removed is still
 *             committed, listed by archive_list().
 * Every case also reports whether its hook fired, so a build where a call
 * does not come here (a fortified vasprintf is __vasprintf_chk) fails the
 * check instead of passing it unexercised.
 *
 * Output: "# ..." diagnostics, and "res CASE KEY VALUE" lines, which
 * tests/race/test-archive-faults.sh turns into TAP.
 *
 * Usage: archive-faults T CONFIG [CASE...]; refuses to run outside the
 * private namespaces of tests/integration/lib.sh (IPCGC_TEST_IN_NS=1).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "collect.h"
#include "config.h"
#include "judge.h"
#include "proctab.h"
#include "reap.h"

#define MiB (1024ull * 1024ull)

static const char *g_top;
static struct config *g_cfg;
static const char *g_case = "-";

static _Noreturn void fatal(const char *fmt, ...) _printf_(1, 2);
static _Noreturn void fatal(const char *fmt, ...) {
        va_list ap;

        printf("# fatal (%s): ", g_case);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
        exit(2);
}

static void diag(const char *fmt, ...) _printf_(1, 2);
static void diag(const char *fmt, ...) {
        va_list ap;

        printf("# %s: ", g_case);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
}

static void res(const char *key, const char *fmt, ...) _printf_(2, 3);
static void res(const char *key, const char *fmt, ...) {
        va_list ap;

        printf("res %s %s ", g_case, key);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
}

/* ---- Hooks inside reap() ----------------------------------------------- */

static struct {
        bool syncfs_fail;           /* h1: the next syncfs fails with EIO */
        bool committed;             /* a syncfs went through: the batch is being committed */
        char send_to[NAME_MAX + 1]; /* m3: the queue's name (no '/'), sent to once committed */
        bool send_at_unlinkat;      /* m3-unlinkat: ... at its unlinkat rather than at its fstatat */
        int attach_madvise;         /* h3: the segment another process attaches at the next madvise; -1 */
        int attach_shmdt;           /* h3-shmdt: ... at the next shmdt; -1 */
        size_t attach_offset;
        char attach_byte;
        bool rmid_fails_record; /* h2: after a successful IPC_RMID, the next vasprintf fails */
        bool fail_vasprintf;
        unsigned fired;   /* how many armed hooks went off */
        int child_status; /* of the attaching process: 0 when it did it all */
} g_hook;

static void hooks_reset(void) {
        g_hook = (__typeof__(g_hook)){ .attach_madvise = -1, .attach_shmdt = -1, .child_status = -1 };
}

/* Another process: attaches ID, writes one byte, detaches, exits. */
static void attach_from_child(int id) {
        int saved = errno, status;
        pid_t pid = fork();

        if (pid < 0)
                fatal("fork: %m");
        if (pid == 0) {
                char *p = shmat(id, NULL, 0);
                if (p == (void *) -1)
                        _exit(1);
                p[g_hook.attach_offset] = g_hook.attach_byte;
                _exit(syscall(SYS_shmdt, p) == 0 ? 0 : 3);
        }
        if (waitpid(pid, &status, 0) != pid)
                fatal("waitpid: %m");
        g_hook.child_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        g_hook.fired++;
        errno = saved;
}

int syncfs(int fd) {
        if (g_hook.syncfs_fail) {
                g_hook.syncfs_fail = false;
                g_hook.fired++;
                errno = EIO;
                return -1;
        }
        int r = (int) syscall(SYS_syncfs, fd);
        g_hook.committed = true;
        return r;
}

/* Sends "late" (priority 5) to the queue g_hook.send_to names, once. */
static void send_late(void) {
        int saved = errno;
        char name[NAME_MAX + 2];

        (void) snprintf(name, sizeof(name), "/%s", g_hook.send_to);
        g_hook.send_to[0] = 0;
        mqd_t q = mq_open(name, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (q == (mqd_t) -1 || mq_send(q, "late", 4, 5) < 0)
                fatal("hook: cannot send to %s: %m", name);
        (void) mq_close(q);
        g_hook.fired++;
        errno = saved;
}

int fstatat(int dirfd, const char *restrict path, struct stat *restrict st, int flags) {
        if (g_hook.send_to[0] && !g_hook.send_at_unlinkat && g_hook.committed && strcmp(path, g_hook.send_to) == 0)
                send_late();
#ifdef SYS_newfstatat
        return (int) syscall(SYS_newfstatat, dirfd, path, st, flags);
#else
        return (int) syscall(SYS_fstatat64, dirfd, path, st, flags);
#endif
}

int unlinkat(int dirfd, const char *path, int flags) {
        if (g_hook.send_to[0] && g_hook.send_at_unlinkat && g_hook.committed && strcmp(path, g_hook.send_to) == 0)
                send_late();
        return (int) syscall(SYS_unlinkat, dirfd, path, flags);
}

int madvise(void *addr, size_t len, int advice) {
        if (g_hook.attach_madvise >= 0) {
                int id = g_hook.attach_madvise;
                g_hook.attach_madvise = -1;
                attach_from_child(id);
        }
        return (int) syscall(SYS_madvise, addr, len, advice);
}

int shmdt(const void *addr) {
        if (g_hook.attach_shmdt >= 0) {
                int id = g_hook.attach_shmdt;
                g_hook.attach_shmdt = -1;
                attach_from_child(id);
        }
        return (int) syscall(SYS_shmdt, addr);
}

int shmctl(int id, int cmd, struct shmid_ds *buf) {
        static int (*real)(int, int, struct shmid_ds *);

        if (!real) {
                real = (int (*)(int, int, struct shmid_ds *)) dlsym(RTLD_NEXT, "shmctl");
                if (!real)
                        fatal("dlsym shmctl: %s", dlerror());
        }
        int r = real(id, cmd, buf);
        if (r == 0 && cmd == IPC_RMID && g_hook.rmid_fails_record) {
                g_hook.rmid_fails_record = false;
                g_hook.fail_vasprintf = true;
        }
        return r;
}

int vasprintf(char **restrict ret, const char *restrict fmt, va_list ap) {
        va_list aq;
        char *s;
        int n;

        if (g_hook.fail_vasprintf) {
                g_hook.fail_vasprintf = false;
                g_hook.fired++;
                errno = ENOMEM;
                return -1;
        }
        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0)
                return -1;
        s = malloc((size_t) n + 1);
        if (!s)
                return -1;
        n = vsnprintf(s, (size_t) n + 1, fmt, ap);
        if (n < 0) {
                free(s);
                return -1;
        }
        *ret = s;
        return n;
}

/* ---- Objects ----------------------------------------------------------- */

static void mq_make(const char *name, const char *const *msgs, size_t n) {
        struct mq_attr attr = { .mq_maxmsg = 10, .mq_msgsize = 64 };
        mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);

        if (q == (mqd_t) -1)
                fatal("mq_open %s: %m", name);
        for (size_t i = 0; i < n; i++) {
                /* "PRIO:TEXT" */
                unsigned prio = (unsigned) (msgs[i][0] - '0');
                if (mq_send(q, msgs[i] + 2, strlen(msgs[i] + 2), prio) < 0)
                        fatal("mq_send %s: %m", name);
        }
        (void) mq_close(q);
}

/* Receives everything queued, as "PRIO:TEXT,PRIO:TEXT": "absent" when
 * there is no such queue, "empty" when it holds nothing. */
static char *mq_drain(const char *name) {
        static char out[512];
        char buf[64];
        unsigned prio;
        size_t k = 0;
        ssize_t len;
        mqd_t q = mq_open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

        if (q == (mqd_t) -1) {
                if (errno != ENOENT)
                        fatal("mq_open %s: %m", name);
                return strcpy(out, "absent");
        }
        out[0] = 0;
        while ((len = mq_receive(q, buf, sizeof(buf), &prio)) >= 0 && k < sizeof(out) - 80)
                k += (size_t) snprintf(out + k, sizeof(out) - k, "%s%u:%.*s", k ? "," : "", prio, (int) len, buf);
        if (errno != EAGAIN)
                fatal("mq_receive %s: %m", name);
        (void) mq_close(q);
        return k ? out : strcpy(out, "empty");
}

/* A segment of SIZE bytes, byte i = pattern(i), never attached by anyone
 * but this process. */
static unsigned char pattern(size_t i) {
        return (unsigned char) ('A' + i % 23);
}

static int shm_make(size_t size) {
        int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
        unsigned char *p;

        if (id < 0)
                fatal("shmget: %m");
        p = shmat(id, NULL, 0);
        if (p == (void *) -1)
                fatal("shmat: %m");
        for (size_t i = 0; i < size; i++)
                p[i] = pattern(i);
        if (shmdt(p) < 0)
                fatal("shmdt: %m");
        return id;
}

static bool shm_present(int id) {
        struct shmid_ds ds;
        return shmctl(id, IPC_STAT, &ds) == 0;
}

/* "intact", "intact but byte N changed to 'C'" or what differs first. */
static const char *shm_contents(int id, size_t size) {
        static char out[160];
        size_t n_diff = 0, first = 0;
        const unsigned char *p = shmat(id, NULL, SHM_RDONLY);

        if (p == (void *) -1)
                return "unreadable";
        for (size_t i = 0; i < size; i++)
                if (p[i] != pattern(i) && n_diff++ == 0)
                        first = i;
        if (n_diff == 0)
                (void) snprintf(out, sizeof(out), "intact");
        else if (n_diff == 1)
                (void) snprintf(out, sizeof(out), "intact but byte %zu is '%c'", first, p[first]);
        else
                (void) snprintf(out, sizeof(out), "%zu bytes changed, the first at %zu", n_diff, first);
        (void) shmdt(p);
        return out;
}

/* A POSIX shm file of LENGTH bytes with DATA bytes written at OFFSET. */
static void pshm_make(const char *name, uint64_t length, uint64_t offset, size_t data) {
        char path[PATH_MAX];
        static char buf[1 << 20];
        int fd;

        (void) snprintf(path, sizeof(path), "%s%s", g_cfg->scan.shm_dir, name);
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, (off_t) length) < 0)
                fatal("%s: %m", path);
        memset(buf, 'x', sizeof(buf));
        for (size_t done = 0; done < data;) {
                size_t n = data - done < sizeof(buf) ? data - done : sizeof(buf);
                if (pwrite(fd, buf, n, (off_t) (offset + done)) != (ssize_t) n)
                        fatal("pwrite %s: %m", path);
                done += n;
        }
        (void) close(fd);
}

static bool pshm_present(const char *name) {
        char path[PATH_MAX];
        struct stat st;

        (void) snprintf(path, sizeof(path), "%s%s", g_cfg->scan.shm_dir, name);
        return lstat(path, &st) == 0;
}

/* Everything the cases made, gone, so the next one starts from nothing. */
static void cleanup_all(void) {
        FILE *f = fopen("/proc/sysvipc/shm", "re");
        char line[512];
        const char *dirs[] = { g_cfg->scan.mqueue_dir, g_cfg->scan.shm_dir };

        if (!f)
                fatal("/proc/sysvipc/shm: %m");
        while (fgets(line, sizeof(line), f)) {
                int key, id;
                if (sscanf(line, "%d %d", &key, &id) == 2)
                        (void) shmctl(id, IPC_RMID, NULL);
        }
        (void) fclose(f);
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                DIR *d = opendir(dirs[i]);
                if (!d)
                        fatal("%s: %m", dirs[i]);
                for (struct dirent *de; (de = readdir(d));)
                        if (de->d_name[0] != '.' && unlinkat(dirfd(d), de->d_name, 0) < 0)
                                fatal("%s/%s: %m", dirs[i], de->d_name);
                (void) closedir(d);
        }
}

/* ---- One sweep --------------------------------------------------------- */

struct sweep {
        struct inventory *inv;
        struct judgement *js;
        struct reap_result *res;
        int r;
};

static void sweep_done(struct sweep *s) {
        if (s->js)
                judgements_free(s->js, s->inv->n_objects);
        s->res = reap_result_free(s->res);
        s->inv = inventory_free(s->inv);
        s->js = NULL;
}

/* Collects and judges: exactly N_EXPECT objects, all ORPHAN (else it says
 * why and returns false). */
static bool sweep_judge(size_t n_expect, struct sweep *s) {
        _cleanup_(proctab_freep) struct proctab *pt = NULL;
        int r;

        *s = (struct sweep){};
        r = collect_inventory(&g_cfg->scan, NULL, NULL, &s->inv);
        if (r < 0)
                fatal("collect_inventory: %s", strerror(-r));
        r = collect_holders(s->inv, NULL, judge_proctab_needs(s->inv, g_cfg->rules, g_cfg->n_rules), &pt);
        if (r < 0)
                fatal("collect_holders: %s", strerror(-r));
        struct judge_context ctx = {
                .proctab = pt, .rules = g_cfg->rules, .n_rules = g_cfg->n_rules, .now = time(NULL)
        };
        r = judge_inventory(&ctx, s->inv, &s->js);
        if (r < 0)
                fatal("judge_inventory: %s", strerror(-r));
        bool ok = s->inv->n_objects == n_expect;
        if (!ok)
                diag("setup: %zu objects, expected %zu", s->inv->n_objects, n_expect);
        for (size_t i = 0; i < s->inv->n_objects; i++)
                if (s->js[i].verdict != VERDICT_ORPHAN) {
                        char why[JUDGEMENT_REASON_MAX];
                        _cleanup_free_ char *id = ipc_object_id(&s->inv->objects[i]);
                        diag("setup: %s judged %s (%s)", strna(id), verdict_to_string(s->js[i].verdict),
                             judgement_reason(&s->js[i], why));
                        ok = false;
                }
        res("setup", "%s", ok ? "ok" : "wrong");
        return ok;
}

static void sweep_reap(struct sweep *s, const char *archive_dir, uint64_t max_bytes) {
        struct reap_options opt = {
                .dry_run = false,
                .max_removals = 1000,
                .scan = &g_cfg->scan,
                .rules = g_cfg->rules,
                .n_rules = g_cfg->n_rules,
                .archive = &(struct reap_archive){ .dir = archive_dir, .max_bytes = max_bytes, .keep_seconds = 0 },
        };

        s->r = reap(s->inv, s->js, &opt, &s->res);
        if (s->res)
                for (size_t i = 0; i < s->res->n_records; i++) {
                        const struct reap_record *rec = &s->res->records[i];
                        diag("record %s %s: %s%s%s", strna(rec->id), reap_action_to_string(rec->action),
                             strempty(rec->reason), rec->archive ? "; archive " : "", strempty(rec->archive));
                }
}

/* The inventory index of the object of TYPE with ID (SysV) or NAME. */
static size_t sweep_find(const struct sweep *s, enum ipc_type type, int id, const char *name) {
        for (size_t i = 0; i < s->inv->n_objects; i++) {
                const struct ipc_object *o = &s->inv->objects[i];
                if (o->type == type && (name ? o->name && strcmp(o->name, name) == 0 : o->id == id))
                        return i;
        }
        fatal("%s %s not in the inventory", ipc_type_to_string(type), name ? name : "(by id)");
}

static const struct reap_record *sweep_record(const struct sweep *s, size_t index) {
        for (size_t i = 0; s->res && i < s->res->n_records; i++)
                if (s->res->records[i].index == index)
                        return &s->res->records[i];
        return NULL;
}

/* "removed", "skipped: REASON", ... or "none". */
static void res_record(const char *key, const struct sweep *s, size_t index) {
        const struct reap_record *rec = sweep_record(s, index);

        if (!rec)
                res(key, "none");
        else
                res(key, "%s: %s", reap_action_to_string(rec->action), strempty(rec->reason));
}

static void archive_listing_freep(struct archive_listing **l) {
        *l = archive_listing_free(*l);
}

static int archive_fd(const char *dir) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                fatal("%s: %m", dir);
        return fd;
}

static size_t archive_count(const char *dir) {
        _cleanup_(archive_listing_freep) struct archive_listing *l = NULL;
        _cleanup_close_ int fd = archive_fd(dir);
        int r = archive_list(fd, &l);

        if (r < 0)
                fatal("archive_list %s: %s", dir, strerror(-r));
        return l->n_items;
}

static void archive_dir_path(char *buf, size_t size) {
        if ((size_t) snprintf(buf, size, "%s/archive-%s", g_top, g_case) >= size)
                fatal("path too long");
}

/* ---- The cases --------------------------------------------------------- */

static void case_h1(void) {
        static const char *const msgs[] = { "1:alpha", "2:beta", "2:delta", "3:gamma" };
        char dir[PATH_MAX];
        struct sweep s;

        archive_dir_path(dir, sizeof(dir));
        mq_make("/h1q", msgs, ELEMENTSOF(msgs));
        int id = shm_make(8192);
        if (!sweep_judge(2, &s))
                goto out;
        size_t iq = sweep_find(&s, IPC_TYPE_MQ, -1, "/h1q"), is = sweep_find(&s, IPC_TYPE_SHM, id, NULL);

        hooks_reset();
        g_hook.syncfs_fail = true;
        sweep_reap(&s, dir, 256 * MiB);
        bool fired = !g_hook.syncfs_fail && g_hook.fired == 1;
        hooks_reset();

        res("reap", "%d", s.r);
        res("hook_fired", "%s", fired ? "yes" : "no");
        res_record("mq_record", &s, iq);
        res_record("shm_record", &s, is);
        res("mq_messages", "%s", mq_drain("/h1q"));
        res("shm_present", "%s", shm_present(id) ? "yes" : "no");
        res("shm_contents", "%s", shm_present(id) ? shm_contents(id, 8192) : "gone");
        res("entries", "%zu", archive_count(dir));
out:
        sweep_done(&s);
}

static const size_t g_hook_offset = 100;

/* AT_SHMDT: the attach from the hook on shmdt (after shm_save's last look)
 * rather than on madvise (inside the read). */
static void case_h3(bool at_shmdt) {
        char dir[PATH_MAX];
        struct sweep s;
        const size_t size = 64 * 1024; /* one chunk: one madvise */

        archive_dir_path(dir, sizeof(dir));
        int id = shm_make(size);
        if (!sweep_judge(1, &s))
                goto out;
        size_t is = sweep_find(&s, IPC_TYPE_SHM, id, NULL);

        hooks_reset();
        g_hook.attach_offset = g_hook_offset;
        g_hook.attach_byte = '!';
        if (at_shmdt)
                g_hook.attach_shmdt = id;
        else
                g_hook.attach_madvise = id;
        sweep_reap(&s, dir, 256 * MiB);
        bool fired = g_hook.fired == 1 && g_hook.child_status == 0;
        hooks_reset();

        res("reap", "%d", s.r);
        res("hook_fired", "%s", fired ? "yes" : "no");
        res_record("record", &s, is);
        res("present", "%s", shm_present(id) ? "yes" : "no");
        res("contents", "%s", shm_present(id) ? shm_contents(id, size) : "gone");
        res("entries", "%zu", archive_count(dir));
        /* Removed after all: is what the other process wrote in the entry? */
        const struct reap_record *rec = sweep_record(&s, is);
        if (rec && rec->archive) {
                _cleanup_close_ int afd = archive_fd(dir), efd = -EBADF;
                char c = 0;
                if (archive_entry_open(afd, rec->archive, &efd, NULL) < 0 ||
                    pread(efd, &c, 1, ARCHIVE_DATA_OFFSET + (off_t) g_hook_offset) != 1)
                        fatal("%s/%s: %m", dir, rec->archive);
                res("entry_byte", "%s", c == '!' ? "the one written" : "from before the write");
        }
out:
        sweep_done(&s);
}

/* AT_UNLINKAT: the message sent from the hook on unlinkat (after the
 * check) rather than on the first fstatat once committed (before it). */
static void case_m3(bool at_unlinkat) {
        char dir[PATH_MAX];
        struct sweep s;

        archive_dir_path(dir, sizeof(dir));
        mq_make("/m3q", NULL, 0);
        if (!sweep_judge(1, &s))
                goto out;
        size_t iq = sweep_find(&s, IPC_TYPE_MQ, -1, "/m3q");

        hooks_reset();
        (void) snprintf(g_hook.send_to, sizeof(g_hook.send_to), "m3q");
        g_hook.send_at_unlinkat = at_unlinkat;
        sweep_reap(&s, dir, 256 * MiB);
        bool fired = g_hook.fired == 1 && !g_hook.send_to[0];
        hooks_reset();

        res("reap", "%d", s.r);
        res("hook_fired", "%s", fired ? "yes" : "no");
        res_record("record", &s, iq);
        res("messages", "%s", mq_drain("/m3q"));
        res("entries", "%zu", archive_count(dir));
out:
        sweep_done(&s);
}

/* The entry the record of INDEX names: "LENGTH BLOCKBYTES", its contents'
 * length and what the whole entry takes (the manifest's block with it). */
static void res_entry_data(const char *key, const char *dir, const struct sweep *s, size_t index) {
        const struct reap_record *rec = sweep_record(s, index);
        _cleanup_close_ int fd = archive_fd(dir);
        char path[ARCHIVE_NAME_MAX + 8];
        struct stat st;

        if (!rec || !rec->archive) {
                res(key, "no entry");
                return;
        }
        (void) snprintf(path, sizeof(path), "%s", rec->archive);
        if (fstatat(fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                res(key, "no entry: %s", strerror(errno));
        else
                res(key, "length %llu blocks %llu",
                    (unsigned long long) (st.st_size > ARCHIVE_DATA_OFFSET ? st.st_size - ARCHIVE_DATA_OFFSET : 0),
                    (unsigned long long) st.st_blocks * 512ull);
}

static void case_m2(void) {
        char dir[PATH_MAX];
        struct sweep s;

        archive_dir_path(dir, sizeof(dir));
        pshm_make("/m2-sparse", 1024 * MiB, 512 * MiB, 4096);
        if (!sweep_judge(1, &s))
                goto out;
        size_t ip = sweep_find(&s, IPC_TYPE_PSHM, -1, "/m2-sparse");
        sweep_reap(&s, dir, 256 * MiB);
        res("reap", "%d", s.r);
        res_record("record", &s, ip);
        res("present", "%s", pshm_present("/m2-sparse") ? "yes" : "no");
        res_entry_data("data", dir, &s, ip);
out:
        sweep_done(&s);
}

/* One 200 MiB file holding a byte, into the archive DIR of 20 old entries
 * (and what earlier calls added), under MAX_BYTES. */
static void m2_sparse_into(const char *dir, const char *name, uint64_t max_bytes, const char *prefix) {
        char key[64];
        struct sweep s;

        pshm_make(name, 200 * MiB, 100 * MiB, 1);
        size_t before = archive_count(dir);
        if (!sweep_judge(1, &s)) {
                sweep_done(&s);
                return;
        }
        size_t ip = sweep_find(&s, IPC_TYPE_PSHM, -1, name);
        sweep_reap(&s, dir, max_bytes);
        size_t after = archive_count(dir);
        const struct reap_record *rec = sweep_record(&s, ip);
        bool removed = rec && rec->action == REAP_REMOVED && rec->archive;
        /* An entry added, and so many gone. */
        size_t evicted = before + (removed ? 1 : 0) - after;

        (void) snprintf(key, sizeof(key), "%s_reap", prefix);
        res(key, "%d", s.r);
        (void) snprintf(key, sizeof(key), "%s_record", prefix);
        res_record(key, &s, ip);
        (void) snprintf(key, sizeof(key), "%s_present", prefix);
        res(key, "%s", pshm_present(name) ? "yes" : "no");
        (void) snprintf(key, sizeof(key), "%s_evicted", prefix);
        res(key, "%zu", evicted);
        (void) snprintf(key, sizeof(key), "%s_data", prefix);
        res_entry_data(key, dir, &s, ip);
        sweep_done(&s);
        /* Not removed: out of the way of the next call's sweep. */
        if (pshm_present(name)) {
                char path[PATH_MAX];
                (void) snprintf(path, sizeof(path), "%s%s", g_cfg->scan.shm_dir, name);
                if (unlink(path) < 0)
                        fatal("%s: %m", path);
        }
}

static void case_m2_evict(void) {
        char dir[PATH_MAX], name[32];
        struct sweep s;
        unsigned removed = 0;

        archive_dir_path(dir, sizeof(dir));
        for (unsigned i = 0; i < 20; i++) {
                (void) snprintf(name, sizeof(name), "/m2-old-%02u", i);
                pshm_make(name, 8 * MiB, 0, 8 * MiB);
        }
        if (!sweep_judge(20, &s)) {
                sweep_done(&s);
                return;
        }
        sweep_reap(&s, dir, 200 * MiB);
        for (size_t i = 0; s.res && i < s.res->n_records; i++)
                removed += s.res->records[i].action == REAP_REMOVED && s.res->records[i].archive;
        sweep_done(&s);
        res("old_removed", "%u", removed);
        res("old_entries", "%zu", archive_count(dir));

        m2_sparse_into(dir, "/m2-new-200", 200 * MiB, "max200");
        m2_sparse_into(dir, "/m2-new-256", 256 * MiB, "max256");
}

static void case_h2(void) {
        char dir[PATH_MAX];
        struct sweep s;
        _cleanup_(archive_listing_freep) struct archive_listing *l = NULL;
        _cleanup_close_ int fd = -EBADF;

        archive_dir_path(dir, sizeof(dir));
        int id = shm_make(4096);
        if (!sweep_judge(1, &s))
                goto out;

        hooks_reset();
        g_hook.rmid_fails_record = true;
        sweep_reap(&s, dir, 256 * MiB);
        bool fired = g_hook.fired == 1 && !g_hook.fail_vasprintf;
        hooks_reset();

        res("reap", "%s", s.r == -ENOMEM ? "ENOMEM" : s.r < 0 ? strerror(-s.r) : "0");
        res("hook_fired", "%s", fired ? "yes" : "no");
        res("present", "%s", shm_present(id) ? "yes" : "no");
        fd = archive_fd(dir);
        int r = archive_list(fd, &l);
        if (r < 0)
                fatal("archive_list: %s", strerror(-r));
        unsigned mine = 0;
        for (size_t i = 0; i < l->n_items; i++)
                mine += l->items[i].object.type == IPC_TYPE_SHM && l->items[i].object.id == id;
        res("entries", "%zu", l->n_items);
        res("entries_of_it", "%u", mine);
out:
        sweep_done(&s);
}

static void case_h3_read(void) {
        case_h3(false);
}
static void case_h3_shmdt(void) {
        case_h3(true);
}
static void case_m3_check(void) {
        case_m3(false);
}
static void case_m3_unlinkat(void) {
        case_m3(true);
}

static const struct {
        const char *name;
        void (*run)(void);
} cases[] = {
        { "h1", case_h1 },
        { "h3", case_h3_read },
        { "h3-shmdt", case_h3_shmdt },
        { "m3", case_m3_check },
        { "m3-unlinkat", case_m3_unlinkat },
        { "m2", case_m2 },
        { "m2-evict", case_m2_evict },
        { "h2", case_h2 },
};

int main(int argc, char **argv) {
        _cleanup_free_ char *error = NULL;
        int r;

        if (argc < 3) {
                fprintf(stderr, "usage: %s T CONFIG [CASE...]\n", argv[0]);
                return 2;
        }
        /* Makes and removes IPC objects: only inside the namespaces of
         * tests/integration/lib.sh, never on the host. */
        if (strcmp(strempty(getenv("IPCGC_TEST_IN_NS")), "1") != 0 || geteuid() != 0) {
                printf("# archive-faults runs only as root inside private namespaces (IPCGC_TEST_IN_NS=1)\n");
                return 2;
        }
        g_top = argv[1];
        r = config_load(argv[2], CONFIG_MUST_EXIST, &g_cfg, &error);
        if (r < 0)
                fatal("%s: %s", argv[2], error ? error : strerror(-r));
        if (!g_cfg->scan.mqueue_dir || !g_cfg->scan.shm_dir || g_cfg->n_rules < 1)
                fatal("%s must name MqueueDir= and ShmDir= and have a collect rule", argv[2]);
        hooks_reset();
        cleanup_all();

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                bool want = argc == 3;
                for (int k = 3; k < argc && !want; k++)
                        want = strcmp(argv[k], cases[i].name) == 0;
                if (!want)
                        continue;
                g_case = cases[i].name;
                cases[i].run();
                res("finished", "yes");
                cleanup_all();
        }
        g_cfg = config_free(g_cfg);
        return 0;
}
