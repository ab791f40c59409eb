/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Race tests for FIFO removal: between judgement and removal another
 * process swaps the FIFO for a symlink to a file outside the tree, for a
 * regular file, swaps its parent directory for a symlink out of the tree,
 * or opens the FIFO; reap() must never remove anything but the FIFO it
 * verified.
 *
 * The reaper is this process (root).  The attacker is a long-lived child
 * that has dropped to nobody (65534) and owns what an unprivileged user
 * would own: the directory FIFODIR/dN and the FIFO dN/f in it.  Outside the
 * scanned tree, in T/outside (root's, same tmpfs as the tree, so no mount
 * boundary helps), are the victims: a regular file, a FIFO, and a FIFO
 * named "f", which is where dN/f leads once dN is a symlink to T/outside.
 *
 * Attacks swap names with renameat2(RENAME_EXCHANGE), so the attacker
 * itself never destroys anything: every inode that existed, or that the
 * attacker made, must still exist somewhere afterwards, except the verified
 * FIFO when reap() says it removed it.  That is checked after every reap()
 * by walking all of T (no symlink followed) and looking each inode up:
 *   - the three victims, at their own paths, unchanged (type, size, mtime);
 *   - the directory dN, and each symlink or regular file the attacker made;
 *   - the FIFO, unless reap() recorded REAP_REMOVED for it, in which case it
 *     must be gone.
 * Anything missing is "wrong" (removed though it was not the verified FIFO,
 * or removed without a record); a victim found wrong is made afresh, so
 * later iterations are judged on their own.  Something left inside one of
 * reap's quarantine directories (moved aside, then its name taken before it
 * could be put back) is not removed: it is counted as "stranded", or
 * "stranded_fifo" when it is the FIFO, and reported, not failed.
 *
 * Attack kinds: symlink, regular, parent-symlink, open (O_RDONLY|O_NONBLOCK,
 * held until reap() returns), blocked-open (a reader blocked in open(2),
 * waiting for a writer, the usual way a FIFO is opened); and, as controls,
 * none and none-aged (no attack; the FIFO's ctime a second before reap()).
 *
 * When the attack lands:
 *   before-reap:            after judgement, before reap() is called;
 *   in-reap-before-move:    inside reap(), after it re-checked the name and
 *                           before it moves the entry aside (the first
 *                           renameat2() reap() makes);
 *   in-reap-before-unlink:  inside reap(), after the move, the checks and
 *                           the re-judgement, before the unlinkat();
 *   concurrent:             an attacker looping on swaps (the FIFO with a
 *                           symlink, with a regular file, dN with a symlink
 *                           to T/outside; most undone at once) and on
 *                           opening and holding the FIFO, with no
 *                           synchronisation at all while reap() runs.
 * The two in-reap points are reached by defining renameat2() and unlinkat()
 * in this program: libipcgc is linked in, so its calls come here; the hook
 * tells the attacker, waits until the attack is done, then makes the real
 * system call.  If a hook never fires the iteration counts as
 * "hook_missed", which fails the test rather than passing it unexercised.
 *
 * One outcome per iteration, in this order:
 *   wrong      something other than the verified FIFO is gone (or moved, for
 *              a victim), or the FIFO is gone without a REAP_REMOVED record;
 *   in_use     REAP_REMOVED although the FIFO was in use when reap()
 *              returned: held open by the attacker, or a reader was blocked
 *              in open(2) on it.  Once reap() has moved the FIFO aside no
 *              name leads to it, so an fd held then was opened before;
 *   removed    REAP_REMOVED, the FIFO's inode is gone, everything else is
 *              intact (for parent-symlink inside reap() this is the FIFO
 *              verified through the directory fd reap() holds: correct);
 *   caught     REAP_SKIPPED or REAP_FAILED for the FIFO, and everything,
 *              the FIFO included, is intact;
 *   other      none of these (no record for the FIFO, or a REAP_REMOVED
 *              record while the FIFO is still there).
 * "no_target" counts attacks that found nothing to act on (an open of a name
 * reap() had already moved aside); they are still counted as tried.
 *
 * Output: "# ..." diagnostics, and one line per phase and kind:
 *   stat PHASE KIND tried N caught N removed N in_use N wrong N ...
 * which tests/race/test-race-fifo.sh turns into TAP.
 *
 * Usage: race-fifo T FIFODIR CONFIG [SCALE]; refuses to run outside the
 * private namespaces the wrapper makes (IPCGC_TEST_IN_NS=1).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "config.h"
#include "judge.h"
#include "proctab.h"
#include "reap.h"

#define ATTACKER_ID 65534 /* nobody */
#define MAX_DIAG 4        /* per phase and kind */

enum kind {
        KIND_NONE,
        KIND_NONE_AGED,
        KIND_SYMLINK,
        KIND_REGULAR,
        KIND_PARENT,
        KIND_OPEN,
        KIND_BLOCKED_OPEN,
        KIND_MIXED, /* concurrent: all of the above, at random */
        _KIND_MAX,
};

static const char *const kind_names[_KIND_MAX] = {
        [KIND_NONE] = "none",
        [KIND_NONE_AGED] = "none-aged",
        [KIND_SYMLINK] = "symlink",
        [KIND_REGULAR] = "regular",
        [KIND_PARENT] = "parent-symlink",
        [KIND_OPEN] = "open",
        [KIND_BLOCKED_OPEN] = "blocked-open",
        [KIND_MIXED] = "mixed",
};

enum phase {
        PHASE_BEFORE_REAP,
        PHASE_BEFORE_MOVE,
        PHASE_BEFORE_UNLINK,
        PHASE_CONCURRENT,
        _PHASE_MAX,
};

static const char *const phase_names[_PHASE_MAX] = {
        [PHASE_BEFORE_REAP] = "before-reap",
        [PHASE_BEFORE_MOVE] = "in-reap-before-move",
        [PHASE_BEFORE_UNLINK] = "in-reap-before-unlink",
        [PHASE_CONCURRENT] = "concurrent",
};

struct stats {
        unsigned tried, caught, removed, in_use, wrong, other, stranded, stranded_fifo, no_target, hook_missed,
                setup_errors;
        unsigned long ops; /* concurrent: swaps and opens the attacker made */
};

static struct stats g_stats[_PHASE_MAX][_KIND_MAX];
static unsigned g_diags[_PHASE_MAX][_KIND_MAX];

/* What reap() said, how often: which check caught each attack. */
#define MAX_REASONS 8
struct reason_count {
        char text[160];
        unsigned count;
};
static struct reason_count g_reasons[_PHASE_MAX][_KIND_MAX][MAX_REASONS];

static const char *g_top;        /* T: the test's tmpfs */
static const char *g_fifodir;    /* T/fifo: the scanned tree */
static char g_outside[PATH_MAX]; /* T/outside: the victims */
static int g_fifo_fd = -1;

/* The victims, outside the tree. */
static const char *const victim_names[] = { "victim", "victim-fifo", "f" };
#define N_VICTIMS ELEMENTSOF(victim_names)
static struct stat g_victim_st[N_VICTIMS];
static char g_victim_path[N_VICTIMS][PATH_MAX];

static _Noreturn void fatal(const char *fmt, ...) _printf_(1, 2);
static _Noreturn void fatal(const char *fmt, ...) {
        va_list ap;

        fputs("# fatal: ", stdout);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
        exit(2);
}

static int full_read(int fd, void *buf, size_t n) {
        for (size_t done = 0; done < n;) {
                ssize_t k = read(fd, (char *) buf + done, n - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                done += (size_t) k;
        }
        return 0;
}

static int full_write(int fd, const void *buf, size_t n) {
        for (size_t done = 0; done < n;) {
                ssize_t k = write(fd, (const char *) buf + done, n - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                done += (size_t) k;
        }
        return 0;
}

/* ---- The attacker ------------------------------------------------------ */

enum op {
        OP_SETUP,   /* make dN and the FIFO dN/f */
        OP_ATTACK,  /* one attack of the given kind */
        OP_RELEASE, /* close what it holds, end a blocked opener */
        OP_CHAOS,   /* swap and open without pause until *g_chaos_stop */
        OP_QUIT,
};

struct cmd {
        enum op op;
        enum kind kind;
        unsigned n;
        unsigned seed;
};

#define MAX_MADE 3
struct reply {
        int error;            /* errno of the attack's decisive step; 0 if it was carried out */
        ino_t made[MAX_MADE]; /* what the attacker made: must survive */
        unsigned n_made;
        ino_t held;        /* the inode of the fd it holds open, 0 if none */
        pid_t opener;      /* blocked-open: the reader waiting in open() */
        bool blocked;      /* ... and it was seen waiting there */
        unsigned long ops; /* chaos */
};

static int g_cmd_fd = -1, g_reply_fd = -1; /* our ends */
static pid_t g_attacker_pid;
static atomic_int *g_chaos_stop;

static void name_of(char *buf, size_t size, unsigned n, const char *rel) {
        (void) snprintf(buf, size, "d%u%s", n, rel);
}

/* Puts A where B is and B where A is; if only one of them exists, moves it
 * to the other name.  Never replaces anything, so nothing is destroyed. */
static int swap_names(const char *a, const char *b) {
        if (renameat2(g_fifo_fd, a, g_fifo_fd, b, RENAME_EXCHANGE) == 0)
                return 0;
        if (errno != ENOENT)
                return errno;
        if (renameat2(g_fifo_fd, a, g_fifo_fd, b, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != ENOENT)
                return errno;
        return renameat2(g_fifo_fd, b, g_fifo_fd, a, RENAME_NOREPLACE) == 0 ? 0 : errno;
}

static int make_symlink(const char *target, const char *name, ino_t *ret_ino) {
        struct stat st;

        if (symlinkat(target, g_fifo_fd, name) < 0 || fstatat(g_fifo_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno;
        *ret_ino = st.st_ino;
        return 0;
}

static int make_regular(const char *name, ino_t *ret_ino) {
        static const char data[] = "someone else's data: must survive\n";
        struct stat st;
        int fd = openat(g_fifo_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);

        if (fd < 0)
                return errno;
        if (full_write(fd, data, sizeof(data) - 1) < 0 || fstat(fd, &st) < 0) {
                int e = errno;
                (void) close(fd);
                return e;
        }
        (void) close(fd);
        *ret_ino = st.st_ino;
        return 0;
}

/* Is PID waiting in open(2)?  It is when the kernel says it sleeps in
 * wait_for_partner (fs/pipe.c), or, with another name there, when it sleeps
 * inside an openat system call. */
static bool waiting_in_open(pid_t pid) {
        char path[64], buf[128] = "";
        ssize_t k;
        int fd;

        (void) snprintf(path, sizeof(path), "/proc/%d/wchan", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                k = read(fd, buf, sizeof(buf) - 1);
                (void) close(fd);
                if (k > 0) {
                        buf[k] = 0;
                        if (strcmp(buf, "wait_for_partner") == 0 || strcmp(buf, "fifo_open") == 0)
                                return true;
                }
        }
        (void) snprintf(path, sizeof(path), "/proc/%d/syscall", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        k = read(fd, buf, sizeof(buf) - 1);
        (void) close(fd);
        if (k <= 0)
                return false;
        buf[k] = 0;
        char want[16];
        (void) snprintf(want, sizeof(want), "%ld ", (long) SYS_openat);
        return strncmp(buf, want, strlen(want)) == 0;
}

/* A reader that opens dN/f the usual way, blocking until a writer comes.
 * Returns once it is seen waiting in open(), or once its open() failed. */
static void start_blocked_opener(const char *path, struct reply *rep) {
        pid_t pid = fork();

        if (pid < 0) {
                rep->error = errno;
                return;
        }
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                int fd = openat(g_fifo_fd, path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        _exit(errno & 0x7f);
                for (;;)
                        (void) pause(); /* a writer came: keep holding it */
        }
        rep->opener = pid;
        for (unsigned i = 0; i < 20000; i++) { /* up to ~2 s */
                int status;
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        rep->opener = 0;
                        rep->error = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
                        return;
                }
                if (waiting_in_open(pid)) {
                        rep->blocked = true;
                        return;
                }
                (void) usleep(100);
        }
        /* Neither sign shows on this kernel: the attack cannot be checked. */
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        rep->opener = 0;
        rep->error = ETIMEDOUT;
}

static void attack(const struct cmd *c, int *held_fd, struct reply *rep) {
        char f[64], other[64];
        struct stat st;

        name_of(f, sizeof(f), c->n, "/f");
        switch (c->kind) {
        case KIND_NONE:
        case KIND_NONE_AGED:
        case KIND_MIXED:
        case _KIND_MAX:
                return;
        case KIND_SYMLINK:
                name_of(other, sizeof(other), c->n, "/.atk");
                rep->error = make_symlink(g_victim_path[c->n % N_VICTIMS], other, &rep->made[0]);
                if (rep->error)
                        return;
                rep->n_made = 1;
                rep->error = swap_names(other, f);
                return;
        case KIND_REGULAR:
                name_of(other, sizeof(other), c->n, "/.reg");
                rep->error = make_regular(other, &rep->made[0]);
                if (rep->error)
                        return;
                rep->n_made = 1;
                rep->error = swap_names(other, f);
                return;
        case KIND_PARENT: {
                char d[64];
                name_of(d, sizeof(d), c->n, "");
                name_of(other, sizeof(other), c->n, ".moved");
                rep->error = make_symlink(g_outside, other, &rep->made[0]);
                if (rep->error)
                        return;
                rep->n_made = 1;
                rep->error = swap_names(other, d);
                return;
        }
        case KIND_OPEN:
                *held_fd = openat(g_fifo_fd, f, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                if (*held_fd < 0) {
                        rep->error = errno;
                        return;
                }
                if (fstat(*held_fd, &st) == 0)
                        rep->held = st.st_ino;
                return;
        case KIND_BLOCKED_OPEN:
                start_blocked_opener(f, rep);
                return;
        }
}

/* Swaps and opens at random until told to stop. */
static void chaos(const struct cmd *c, int *held_fd, struct reply *rep) {
        char f[64], atk[64], reg[64], d[64], moved[64];
        unsigned seed = c->seed;
        struct stat st;

        name_of(f, sizeof(f), c->n, "/f");
        name_of(atk, sizeof(atk), c->n, "/.atk");
        name_of(reg, sizeof(reg), c->n, "/.reg");
        name_of(d, sizeof(d), c->n, "");
        name_of(moved, sizeof(moved), c->n, ".moved");

        rep->error = make_symlink(g_victim_path[c->n % N_VICTIMS], atk, &rep->made[0]);
        if (!rep->error)
                rep->error = make_regular(reg, &rep->made[1]);
        if (!rep->error)
                rep->error = make_symlink(g_outside, moved, &rep->made[2]);
        rep->n_made = rep->error ? 0 : 3;
        if (full_write(g_reply_fd, rep, sizeof(*rep)) < 0 || rep->error)
                return;

        /* Each step swaps one pair of names, or opens or closes the FIFO.
         * Most swaps are undone at once, so the name is the FIFO again a
         * moment later (what reap() checked, then something else, then the
         * FIFO again); the directory swap always is, or reap() would mostly
         * just meet the symlink at d<n> and stop there. */
        while (!atomic_load_explicit(g_chaos_stop, memory_order_relaxed)) {
                unsigned x = (unsigned) rand_r(&seed);
                const char *a = NULL, *b = NULL;
                bool undo = (x >> 8) % 4 != 0;

                switch (x % 8) {
                case 0:
                case 1:
                        a = atk, b = f;
                        break;
                case 2:
                case 3:
                        a = reg, b = f;
                        break;
                case 4:
                        a = moved, b = d, undo = true;
                        break;
                case 5:
                case 6:
                        /* Held for a while (~60 steps on average), so that
                         * reap's pass over /proc can meet it. */
                        if (*held_fd < 0)
                                *held_fd = openat(g_fifo_fd, f, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                        else if ((x >> 8) % 16 == 0) {
                                (void) close(*held_fd);
                                *held_fd = -1;
                        }
                        break;
                case 7:
                        break;
                }
                if (a) {
                        (void) swap_names(a, b);
                        if (undo)
                                (void) swap_names(a, b);
                }
                rep->ops++;
        }
        if (*held_fd >= 0 && fstat(*held_fd, &st) == 0)
                rep->held = st.st_ino;
}

static _Noreturn void attacker_main(int cmd_fd, int reply_fd, pid_t parent) {
        int held_fd = -1;
        pid_t opener = 0;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
                _exit(1);
        if (setgroups(0, NULL) < 0 || setresgid(ATTACKER_ID, ATTACKER_ID, ATTACKER_ID) < 0 ||
            setresuid(ATTACKER_ID, ATTACKER_ID, ATTACKER_ID) < 0)
                _exit(1);
        /* Changing uid made us undumpable: let our own /proc files be ours,
         * so we can see a child of ours wait in open(). */
        (void) prctl(PR_SET_DUMPABLE, 1);
        g_reply_fd = reply_fd;

        for (;;) {
                struct reply rep = { 0 };
                struct cmd c;
                char path[64];

                if (full_read(cmd_fd, &c, sizeof(c)) < 0)
                        _exit(0);
                switch (c.op) {
                case OP_SETUP:
                        name_of(path, sizeof(path), c.n, "");
                        if (mkdirat(g_fifo_fd, path, 0755) < 0)
                                rep.error = errno;
                        name_of(path, sizeof(path), c.n, "/f");
                        if (!rep.error && mkfifoat(g_fifo_fd, path, 0644) < 0)
                                rep.error = errno;
                        break;
                case OP_ATTACK:
                        attack(&c, &held_fd, &rep);
                        if (rep.opener)
                                opener = rep.opener;
                        break;
                case OP_RELEASE:
                        if (held_fd >= 0)
                                (void) close(held_fd);
                        held_fd = -1;
                        if (opener > 0) {
                                (void) kill(opener, SIGKILL);
                                (void) waitpid(opener, NULL, 0);
                        }
                        opener = 0;
                        break;
                case OP_CHAOS:
                        chaos(&c, &held_fd, &rep);
                        if (rep.error)
                                continue; /* the one reply is sent */
                        break;
                case OP_QUIT:
                        _exit(0);
                }
                if (full_write(reply_fd, &rep, sizeof(rep)) < 0)
                        _exit(1);
        }
}

static void attacker_start(void) {
        int cmd[2], rep[2];
        pid_t parent = getpid();

        if (pipe2(cmd, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0)
                fatal("pipe: %m");
        g_attacker_pid = fork();
        if (g_attacker_pid < 0)
                fatal("fork: %m");
        if (g_attacker_pid == 0) {
                (void) close(cmd[1]);
                (void) close(rep[0]);
                attacker_main(cmd[0], rep[1], parent);
        }
        (void) close(cmd[0]);
        (void) close(rep[1]);
        g_cmd_fd = cmd[1];
        g_reply_fd = rep[0];
}

static void attacker_send(enum op op, enum kind kind, unsigned n, unsigned seed) {
        struct cmd c = { .op = op, .kind = kind, .n = n, .seed = seed };

        if (full_write(g_cmd_fd, &c, sizeof(c)) < 0)
                fatal("the attacker is gone (write: %m)");
}

static void attacker_wait(struct reply *ret) {
        if (full_read(g_reply_fd, ret, sizeof(*ret)) < 0)
                fatal("the attacker is gone (no reply)");
}

static void attacker_call(enum op op, enum kind kind, unsigned n, struct reply *ret) {
        attacker_send(op, kind, n, 0);
        attacker_wait(ret);
}

/* ---- Hooks inside reap() ----------------------------------------------- */

static struct {
        bool in_reap;
        enum phase phase;
        enum kind kind;
        unsigned n;
        bool fired;
        struct reply reply;
} g_hook;

static void hook_attack(void) {
        int saved = errno;

        g_hook.fired = true;
        attacker_call(OP_ATTACK, g_hook.kind, g_hook.n, &g_hook.reply);
        errno = saved;
}

/* libipcgc's calls land here: quarantine_enter() moves the entry aside with
 * the first renameat2() of a reap, quarantine_unlink() removes it with
 * unlinkat().  Outside an armed reap() they are the plain system calls. */
int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
        if (g_hook.in_reap && g_hook.phase == PHASE_BEFORE_MOVE && !g_hook.fired)
                hook_attack();
        return (int) syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

int unlinkat(int dirfd, const char *pathname, int flags) {
        if (g_hook.in_reap && g_hook.phase == PHASE_BEFORE_UNLINK && !g_hook.fired && !(flags & AT_REMOVEDIR))
                hook_attack();
        return (int) syscall(SYS_unlinkat, dirfd, pathname, flags);
}

/* ---- Looking at what is left ------------------------------------------- */

struct entry {
        ino_t ino;
        mode_t mode;
        off_t size;
        bool stranded; /* inside a quarantine directory */
        char path[160];
};

static struct entry *g_census;
static size_t g_n_census, g_census_cap;

static int census_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        if (flag == FTW_NS || flag == FTW_DNR)
                fatal("census: cannot read %s", path);
        if (g_n_census == g_census_cap) {
                size_t cap = g_census_cap ? g_census_cap * 2 : 64;
                struct entry *e = reallocarray(g_census, cap, sizeof(*e));
                if (!e)
                        fatal("out of memory");
                g_census = e;
                g_census_cap = cap;
        }
        struct entry *e = &g_census[g_n_census++];
        *e = (struct entry){ .ino = st->st_ino, .mode = st->st_mode, .size = st->st_size };
        e->stranded = strstr(path, "/.ipcgc-reap.") && !S_ISDIR(st->st_mode);
        (void) snprintf(e->path, sizeof(e->path), "%s", path);
        return 0;
}

/* Everything on the test's tmpfs, no symlink followed, no mount crossed. */
static void census_take(void) {
        g_n_census = 0;
        if (nftw(g_top, census_cb, 16, FTW_PHYS | FTW_MOUNT) != 0)
                fatal("census of %s failed: %m", g_top);
}

static const struct entry *census_find(ino_t ino) {
        for (size_t i = 0; i < g_n_census; i++)
                if (g_census[i].ino == ino)
                        return &g_census[i];
        return NULL;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        if (ftw->level == 0)
                return 0;
        if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0)
                fatal("cleanup: cannot remove %s: %m", path);
        return 0;
}

/* Empties the FIFO tree.  The attacker is idle: nothing moves meanwhile, and
 * FTW_PHYS removes a symlink, never what it points to. */
static void cleanup_tree(void) {
        if (nftw(g_fifodir, rm_cb, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
                fatal("cleanup of %s failed: %m", g_fifodir);
}

static void make_victim(size_t i) {
        static const char data[] = "root's data outside the tree: must survive\n";

        if (i == 0) {
                int fd = open(g_victim_path[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (fd < 0 || full_write(fd, data, sizeof(data) - 1) < 0 || close(fd) < 0)
                        fatal("%s: %m", g_victim_path[i]);
        } else if (mkfifo(g_victim_path[i], 0644) < 0)
                fatal("mkfifo %s: %m", g_victim_path[i]);
        if (lstat(g_victim_path[i], &g_victim_st[i]) < 0)
                fatal("lstat %s: %m", g_victim_path[i]);
}

static void make_victims(void) {
        if (mkdir(g_outside, 0755) < 0)
                fatal("mkdir %s: %m", g_outside);
        for (size_t i = 0; i < N_VICTIMS; i++) {
                if ((size_t) snprintf(g_victim_path[i], sizeof(g_victim_path[i]), "%s/%s", g_outside,
                                      victim_names[i]) >= sizeof(g_victim_path[i]))
                        fatal("%s: path too long", g_outside);
                make_victim(i);
        }
}

/* ---- One iteration ----------------------------------------------------- */

struct setup {
        struct config *cfg;
};

struct iteration {
        enum phase phase;
        enum kind kind;
        unsigned n;
        char fifo_path[PATH_MAX];
        ino_t fifo_ino, dir_ino;
        time_t fifo_ctime;
        struct reply attack;     /* what the attacker reported */
        enum reap_action action; /* for the FIFO */
        bool have_action;
};

static void diag_it(const struct iteration *it, const char *fmt, ...) _printf_(2, 3);
static void diag_it(const struct iteration *it, const char *fmt, ...) {
        va_list ap;

        if (g_diags[it->phase][it->kind]++ >= MAX_DIAG)
                return;
        printf("# %s/%s #%u: ", phase_names[it->phase], kind_names[it->kind], it->n);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
        fflush(stdout);
}

/* "skipped: re-judged LIVE: held by pid 123 (x)" counted as
 * "skipped: re-judged LIVE: held by pid # (x)". */
static void count_reason(const struct iteration *it, const struct reap_record *rec) {
        struct reason_count *rc = g_reasons[it->phase][it->kind];
        char text[sizeof(rc->text)];
        size_t k = 0;

        (void) snprintf(text, sizeof(text), "%s: %s", reap_action_to_string(rec->action), strempty(rec->reason));
        for (size_t i = 0; text[i]; i++) {
                bool digit = text[i] >= '0' && text[i] <= '9';
                if (digit && k > 0 && text[k - 1] == '#')
                        continue;
                text[k++] = digit ? '#' : text[i];
        }
        text[k] = 0;
        for (size_t i = 0; i < MAX_REASONS; i++) {
                if (rc[i].count == 0)
                        (void) snprintf(rc[i].text, sizeof(rc[i].text), "%s", text);
                if (strcmp(rc[i].text, text) == 0) {
                        rc[i].count++;
                        return;
                }
        }
}

static void fifo_setup(struct iteration *it) {
        struct reply rep;
        char d[64];
        struct stat st;

        attacker_call(OP_SETUP, KIND_NONE, it->n, &rep);
        if (rep.error)
                fatal("attacker could not make d%u/f: %s", it->n, strerror(rep.error));
        name_of(d, sizeof(d), it->n, "");
        if (fstatat(g_fifo_fd, d, &st, AT_SYMLINK_NOFOLLOW) < 0)
                fatal("%s/%s: %m", g_fifodir, d);
        it->dir_ino = st.st_ino;
        if ((size_t) snprintf(it->fifo_path, sizeof(it->fifo_path), "%s/%s/f", g_fifodir, d) >= sizeof(it->fifo_path))
                fatal("%s: path too long", g_fifodir);
        if (lstat(it->fifo_path, &st) < 0 || !S_ISFIFO(st.st_mode))
                fatal("%s: not a FIFO", it->fifo_path);
        it->fifo_ino = st.st_ino;
        it->fifo_ctime = st.st_ctim.tv_sec;
}

/* Collects and judges: exactly one object, our FIFO, ORPHAN. */
static int judge_tree(const struct setup *s, const struct iteration *it, struct inventory **ret_inv,
                      struct judgement **ret_js) {
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        _cleanup_(proctab_freep) struct proctab *pt = NULL;
        struct judgement *js = NULL;
        int r;

        r = collect_inventory(&s->cfg->scan, NULL, NULL, &inv);
        if (r < 0)
                fatal("collect_inventory: %s", strerror(-r));
        r = collect_holders(inv, NULL, 0, &pt);
        if (r < 0)
                fatal("collect_holders: %s", strerror(-r));
        struct judge_context ctx = {
                .proctab = pt, .rules = s->cfg->rules, .n_rules = s->cfg->n_rules, .now = time(NULL)
        };
        r = judge_inventory(&ctx, inv, &js);
        if (r < 0)
                fatal("judge_inventory: %s", strerror(-r));
        char why[JUDGEMENT_REASON_MAX];
        if (inv->n_objects != 1 || strcmp(inv->objects[0].name, it->fifo_path) != 0 ||
            inv->objects[0].ino != it->fifo_ino || js[0].verdict != VERDICT_ORPHAN) {
                diag_it(it, "setup: expected only %s, ORPHAN; got %zu objects, first %s %s (%s)", it->fifo_path,
                        inv->n_objects, inv->n_objects ? inv->objects[0].name : "-",
                        inv->n_objects ? verdict_to_string(js[0].verdict) : "-",
                        inv->n_objects ? judgement_reason(&js[0], why) : "-");
                judgements_free(js, inv->n_objects);
                return -1;
        }
        *ret_inv = TAKE_PTR(inv);
        *ret_js = js;
        return 0;
}

static void run_reap(const struct setup *s, struct iteration *it, const struct inventory *inv,
                     const struct judgement *js) {
        _cleanup_(reap_result_freep) struct reap_result *res = NULL;
        _cleanup_free_ char *id = NULL;
        /* Archived first, as every removal is: the attacks land around it. */
        const struct reap_archive archive = {
                .dir = s->cfg->daemon.archive_dir,
                .max_bytes = s->cfg->daemon.archive_max_bytes,
                .by_uid = 0,
        };
        struct reap_options opt = {
                .dry_run = false,
                .max_removals = 1000,
                .scan = &s->cfg->scan,
                .paths = NULL,
                .rules = s->cfg->rules,
                .n_rules = s->cfg->n_rules,
                .archive = &archive,
        };
        int r;

        if (asprintf(&id, "fifo:%s", it->fifo_path) < 0)
                fatal("out of memory");
        g_hook.in_reap = true;
        r = reap(inv, js, &opt, &res);
        g_hook.in_reap = false;
        if (r < 0)
                fatal("reap: %s", strerror(-r));
        it->have_action = false;
        for (size_t i = 0; i < res->n_records; i++) {
                const struct reap_record *rec = &res->records[i];
                if (rec->id && strcmp(rec->id, id) == 0 && !it->have_action) {
                        it->action = rec->action;
                        it->have_action = true;
                        count_reason(it, rec);
                } else
                        diag_it(it, "unexpected record %s %s: %s", strna(rec->id), reap_action_to_string(rec->action),
                                strempty(rec->reason));
        }
}

/* Walks T and decides the iteration's outcome. */
static void judge_outcome(struct iteration *it, struct stats *st) {
        bool wrong = false;

        census_take();

        /* The victims: each still at its own path, unchanged. */
        for (size_t i = 0; i < N_VICTIMS; i++) {
                const struct entry *e = census_find(g_victim_st[i].st_ino);
                struct stat now;
                if (!e || lstat(g_victim_path[i], &now) < 0 || now.st_ino != g_victim_st[i].st_ino ||
                    (now.st_mode & S_IFMT) != (g_victim_st[i].st_mode & S_IFMT) ||
                    now.st_size != g_victim_st[i].st_size || now.st_mtim.tv_sec != g_victim_st[i].st_mtim.tv_sec ||
                    now.st_mtim.tv_nsec != g_victim_st[i].st_mtim.tv_nsec) {
                        diag_it(it, "WRONG: victim %s removed, moved or changed", g_victim_path[i]);
                        wrong = true;
                        /* Afresh, so that later iterations are judged on
                         * their own.  Only root writes in T/outside. */
                        if (unlink(g_victim_path[i]) < 0 && errno != ENOENT)
                                fatal("unlink %s: %m", g_victim_path[i]);
                        make_victim(i);
                }
        }
        /* The directory, and what the attacker made. */
        if (!census_find(it->dir_ino)) {
                diag_it(it, "WRONG: the directory d%u (inode %lu) is gone", it->n, (unsigned long) it->dir_ino);
                wrong = true;
        }
        for (unsigned i = 0; i < it->attack.n_made; i++)
                if (!census_find(it->attack.made[i])) {
                        diag_it(it, "WRONG: the attacker's inode %lu is gone", (unsigned long) it->attack.made[i]);
                        wrong = true;
                }
        for (size_t i = 0; i < g_n_census; i++)
                if (g_census[i].stranded) {
                        if (g_census[i].ino == it->fifo_ino)
                                st->stranded_fifo++;
                        else
                                st->stranded++;
                        diag_it(it, "stranded in quarantine: %s (inode %lu%s)", g_census[i].path,
                                (unsigned long) g_census[i].ino, g_census[i].ino == it->fifo_ino ? ", the FIFO" : "");
                }

        /* The FIFO: gone exactly when reap() says it removed it. */
        bool removed = it->have_action && it->action == REAP_REMOVED;
        const struct entry *fifo = census_find(it->fifo_ino);
        if (!removed && !fifo) {
                diag_it(it, "WRONG: the FIFO is gone but reap() recorded %s",
                        it->have_action ? reap_action_to_string(it->action) : "nothing");
                wrong = true;
        }

        bool in_use = removed && ((it->attack.held && it->attack.held == it->fifo_ino) || it->attack.blocked);

        if (wrong)
                st->wrong++;
        else if (in_use) {
                st->in_use++;
                diag_it(it, "IN USE: reap() removed %s while %s", it->fifo_path,
                        it->attack.blocked ? "a reader was blocked in open() on it" : "the attacker held it open");
        } else if (removed && !fifo)
                st->removed++;
        else if (!removed && it->have_action && (it->action == REAP_SKIPPED || it->action == REAP_FAILED))
                st->caught++;
        else {
                st->other++;
                diag_it(it, "unexpected outcome: record %s, FIFO %s",
                        it->have_action ? reap_action_to_string(it->action) : "none", fifo ? fifo->path : "gone");
        }
}

static void release_and_clean(void) {
        struct reply rep;

        attacker_call(OP_RELEASE, KIND_NONE, 0, &rep);
        cleanup_tree();
}

static unsigned g_next_n;

static void run_one(const struct setup *s, enum phase phase, enum kind kind) {
        struct stats *st = &g_stats[phase][kind];
        struct iteration it = { .phase = phase, .kind = kind, .n = g_next_n++ };
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        struct judgement *js = NULL;

        fifo_setup(&it);
        if (kind == KIND_NONE_AGED)
                /* A real orphan is old: let the FIFO's ctime fall into an
                 * earlier second than the judgement and the removal. */
                while (time(NULL) <= it.fifo_ctime)
                        (void) usleep(10000);

        if (judge_tree(s, &it, &inv, &js) < 0) {
                st->setup_errors++;
                release_and_clean();
                return;
        }

        g_hook = (__typeof__(g_hook)){ .phase = phase, .kind = kind, .n = it.n };
        if (phase == PHASE_BEFORE_REAP && kind != KIND_NONE && kind != KIND_NONE_AGED) {
                attacker_call(OP_ATTACK, kind, it.n, &it.attack);
                g_hook.fired = true;
        } else if (kind == KIND_NONE || kind == KIND_NONE_AGED)
                g_hook.fired = true; /* nothing to fire */

        run_reap(s, &it, inv, js);
        judgements_free(js, inv->n_objects);

        if (phase != PHASE_BEFORE_REAP)
                it.attack = g_hook.reply;
        if (!g_hook.fired) {
                st->hook_missed++;
                diag_it(&it, "reap() never reached the point this attack was for");
        } else if (kind != KIND_NONE && kind != KIND_NONE_AGED) {
                st->tried++;
                if (it.attack.error == ENOENT)
                        st->no_target++;
                else if (it.attack.error == ETIMEDOUT && kind == KIND_BLOCKED_OPEN)
                        fatal("a reader blocked in open() shows neither in /proc/PID/wchan nor in /proc/PID/syscall");
                else if (it.attack.error) {
                        st->setup_errors++; /* not made: nothing to be caught */
                        diag_it(&it, "the attack could not be made: %s", strerror(it.attack.error));
                }
        } else
                st->tried++;
        if (kind == KIND_BLOCKED_OPEN && !it.attack.blocked && !it.attack.error)
                diag_it(&it, "the reader was not seen blocked in open()");

        judge_outcome(&it, st);
        release_and_clean();
}

static void spin_usec(unsigned usec) {
        struct timespec a, b;

        (void) clock_gettime(CLOCK_MONOTONIC, &a);
        do
                (void) clock_gettime(CLOCK_MONOTONIC, &b);
        while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < (long) usec);
}

static void run_concurrent(const struct setup *s, unsigned seed) {
        struct stats *st = &g_stats[PHASE_CONCURRENT][KIND_MIXED];
        struct iteration it = { .phase = PHASE_CONCURRENT, .kind = KIND_MIXED, .n = g_next_n++ };
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        struct judgement *js = NULL;
        struct reply started, done;

        fifo_setup(&it);
        if (judge_tree(s, &it, &inv, &js) < 0) {
                st->setup_errors++;
                release_and_clean();
                return;
        }

        atomic_store(g_chaos_stop, 0);
        attacker_send(OP_CHAOS, KIND_MIXED, it.n, seed);
        attacker_wait(&started);
        if (started.error)
                fatal("attacker could not prepare the concurrent attack: %s", strerror(started.error));
        spin_usec(seed % 200); /* land anywhere in the attacker's loop */

        g_hook = (__typeof__(g_hook)){ .phase = PHASE_CONCURRENT };
        run_reap(s, &it, inv, js);
        judgements_free(js, inv->n_objects);

        atomic_store(g_chaos_stop, 1);
        attacker_wait(&done);
        done.error = 0;
        memcpy(done.made, started.made, sizeof(done.made));
        done.n_made = started.n_made;
        it.attack = done;
        st->tried++;
        st->ops += done.ops;

        judge_outcome(&it, st);
        release_and_clean();
}

static void print_stats(void) {
        for (enum phase p = 0; p < _PHASE_MAX; p++)
                for (enum kind k = 0; k < _KIND_MAX; k++) {
                        if (g_diags[p][k] > MAX_DIAG)
                                printf("# %s/%s: %u more diagnostics like these\n", phase_names[p], kind_names[k],
                                       g_diags[p][k] - MAX_DIAG);
                        for (size_t i = 0; i < MAX_REASONS && g_reasons[p][k][i].count; i++)
                                printf("# %s/%s: %5u x %s\n", phase_names[p], kind_names[k], g_reasons[p][k][i].count,
                                       g_reasons[p][k][i].text);
                }
        for (enum phase p = 0; p < _PHASE_MAX; p++)
                for (enum kind k = 0; k < _KIND_MAX; k++) {
                        const struct stats *st = &g_stats[p][k];
                        if (!st->tried && !st->setup_errors && !st->hook_missed)
                                continue;
                        printf("stat %s %s tried %u caught %u removed %u in_use %u wrong %u other %u "
                               "stranded %u stranded_fifo %u no_target %u hook_missed %u setup_errors %u ops %lu\n",
                               phase_names[p], kind_names[k], st->tried, st->caught, st->removed, st->in_use, st->wrong,
                               st->other, st->stranded, st->stranded_fifo, st->no_target, st->hook_missed,
                               st->setup_errors, st->ops);
                }
}

static double now_sec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        _cleanup_(config_freep) struct config *cfg = NULL;
        _cleanup_free_ char *error = NULL;
        unsigned scale = 1;
        int r;

        if (argc < 4 || argc > 5) {
                fprintf(stderr, "usage: %s T FIFODIR CONFIG [SCALE]\n", argv[0]);
                return 2;
        }
        /* Makes FIFOs and removes them: only inside the namespaces of
         * tests/integration/lib.sh, never on the host. */
        if (strcmp(strempty(getenv("IPCGC_TEST_IN_NS")), "1") != 0 || geteuid() != 0) {
                printf("# race-fifo runs only as root inside private namespaces (IPCGC_TEST_IN_NS=1)\n");
                return 2;
        }
        if (argc == 5 && (sscanf(argv[4], "%u", &scale) != 1 || scale == 0 || scale > 100))
                fatal("bad SCALE '%s'", argv[4]);
        /* A dead attacker is reported, not a silent SIGPIPE. */
        (void) signal(SIGPIPE, SIG_IGN);
        g_top = argv[1];
        g_fifodir = argv[2];
        if ((size_t) snprintf(g_outside, sizeof(g_outside), "%s/outside", g_top) >= sizeof(g_outside))
                fatal("%s: path too long", g_top);

        r = config_load(argv[3], CONFIG_MUST_EXIST, &cfg, &error);
        if (r < 0)
                fatal("%s: %s", argv[3], error ? error : strerror(-r));
        if (cfg->scan.types != IPC_TYPE_BIT(IPC_TYPE_FIFO) || cfg->scan.n_fifo_dirs != 1 ||
            strcmp(cfg->scan.fifo_dirs[0], g_fifodir) != 0 || cfg->n_rules < 1)
                fatal("%s must scan only FIFOs, in %s only, with a collect rule", argv[3], g_fifodir);

        g_fifo_fd = open(g_fifodir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (g_fifo_fd < 0)
                fatal("%s: %m", g_fifodir);
        g_chaos_stop = mmap(NULL, sizeof(*g_chaos_stop), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (g_chaos_stop == MAP_FAILED)
                fatal("mmap: %m");
        make_victims();
        cleanup_tree();
        attacker_start();

        struct setup s = { .cfg = cfg };
        static const enum kind attacks[] = { KIND_SYMLINK, KIND_REGULAR, KIND_PARENT, KIND_OPEN, KIND_BLOCKED_OPEN };
        static const struct {
                enum phase phase;
                unsigned per_kind;
        } plan[] = {
                { PHASE_BEFORE_REAP, 250 },
                { PHASE_BEFORE_MOVE, 100 },
                { PHASE_BEFORE_UNLINK, 60 },
        };
        double t0 = now_sec(), t;

        /* Controls: with no attack, an orphan FIFO is removed. */
        for (unsigned i = 0; i < 50 * scale; i++)
                run_one(&s, PHASE_BEFORE_REAP, KIND_NONE);
        for (unsigned i = 0; i < 2; i++)
                run_one(&s, PHASE_BEFORE_REAP, KIND_NONE_AGED);
        printf("# controls: %.2f s\n", now_sec() - t0);

        for (size_t p = 0; p < ELEMENTSOF(plan); p++) {
                t = now_sec();
                /* Kinds take turns, so each meets the same conditions. */
                for (unsigned i = 0; i < plan[p].per_kind * scale; i++)
                        for (size_t k = 0; k < ELEMENTSOF(attacks); k++)
                                run_one(&s, plan[p].phase, attacks[k]);
                printf("# %s: %u iterations in %.2f s\n", phase_names[plan[p].phase],
                       (unsigned) (plan[p].per_kind * scale * ELEMENTSOF(attacks)), now_sec() - t);
        }

        t = now_sec();
        for (unsigned i = 0; i < 1000 * scale; i++)
                run_concurrent(&s, 0x9e3779b9u * (i + 1));
        printf("# %s: %u iterations in %.2f s\n", phase_names[PHASE_CONCURRENT], 1000 * scale, now_sec() - t);

        attacker_send(OP_QUIT, KIND_NONE, 0, 0);
        (void) waitpid(g_attacker_pid, NULL, 0);
        printf("# total: %.2f s\n", now_sec() - t0);
        print_stats();
        free(g_census);
        (void) close(g_fifo_fd);
        return 0;
}
