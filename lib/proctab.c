/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "proctab.h"

#define PF_KTHREAD 0x00200000u

/*
 * What a walk saw of a process that a build's flags decide whether to say,
 * kept in struct process's facts beside the PROCESS_* flags the walk set
 * (for everything any of its builds asked).  settle() turns them into the
 * flags one build would have set: a walk for several namespaces asks the
 * union of what their builds ask, and each namespace's table says only what
 * its own build would have.
 */
enum {
        FACT_REFUSED = 1u << 16,         /* /proc/PID or its stat refused: unreadable_process() */
        FACT_STATUS_REFUSED = 1u << 17,  /* its status refused: uids unknown */
        FACT_FD_DIR_REFUSED = 1u << 18,  /* /proc/PID/fd refused */
        FACT_FD_FILE_REFUSED = 1u << 19, /* a stat of one fd refused, its inode one looked for */
};

/* One listed IPC namespace of a walk: its inode, and its slot in the list. */
struct ns_slot {
        uint64_t ino;
        uint32_t slot;
};

/* What one pass over /proc reads every process for. */
struct walk {
        const char *proc_root;
        struct holder_index *idx;
        unsigned flags;
        uint64_t boot_usec;
        long ticks;
        /* The namespaces listed, sorted by inode, and nsfs's device: every
         * IPC namespace is an inode of the one nsfs.  Without it (our own
         * ns/ipc could not be read), no process's namespace is known. */
        const struct ns_slot *slots;
        size_t n_slots;
        bool have_nsfs;
        dev_t nsfs_dev;
        char *scratch;
};

struct proctab *proctab_free(struct proctab *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_procs; i++)
                free(t->procs[i].unit);
        free(t->procs);
        free(t);
        return NULL;
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = ((const struct process *) a)->pid, y = ((const struct process *) b)->pid;
        return (x > y) - (x < y);
}

const struct process *proctab_find(const struct proctab *t, pid_t pid) {
        struct process key = { .pid = pid };
        if (!t || pid <= 0 || t->n_procs == 0)
                return NULL;
        return bsearch(&key, t->procs, t->n_procs, sizeof(key), cmp_pid);
}

ssize_t proctab_read(int dfd, const char *name, char *buf, size_t size) {
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        size_t n = 0;

        if (fd < 0)
                return negative_errno();
        while (n < size - 1) {
                ssize_t k = read(fd, buf + n, size - 1 - n);
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;
        return (ssize_t) n;
}

/* What a /proc read fails with when the process (or thread) has exited
 * meanwhile: between the open and the read of its file it is ESRCH. */
static bool is_gone(ssize_t r) {
        return r == -ENOENT || r == -ESRCH;
}

static bool is_access_error(ssize_t r) {
        return r == -EACCES || r == -EPERM;
}

int proctab_parse_stat(const char *text, char ret_comm[17], char *ret_state, unsigned *ret_flags,
                       uint64_t *ret_starttime_ticks) {
        const char *open = strchr(text, '('), *close = strrchr(text, ')');
        unsigned long long v[20];
        size_t len;
        char state;

        if (!open || !close || close < open)
                return -EBADMSG;
        /* comm may hold spaces and parentheses: it runs to the last ')'. */
        len = (size_t) (close - open - 1);
        if (len > 16)
                len = 16;

        /* After ") ": state, then fields 4..22 of proc(5); starttime is 22. */
        if (sscanf(close + 1, " %c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
                   &state, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11],
                   &v[12], &v[13], &v[14], &v[15], &v[16], &v[17], &v[18]) != 20)
                return -EBADMSG;

        memcpy(ret_comm, open + 1, len);
        ret_comm[len] = 0;
        *ret_state = state;
        *ret_flags = (unsigned) v[5];
        *ret_starttime_ticks = v[18];
        return 0;
}

/* The deepest .service or .scope component of one cgroup path. */
static const char *path_unit(const char *c, const char *end, size_t *ret_len) {
        const char *best = NULL;

        while (c < end) {
                c += (*c == '/');
                const char *e = c;
                while (e < end && *e != '/')
                        e++;
                size_t n = (size_t) (e - c);
                if ((n > 8 && memcmp(e - 8, ".service", 8) == 0) || (n > 6 && memcmp(e - 6, ".scope", 6) == 0)) {
                        best = c;
                        *ret_len = n;
                }
                c = e;
        }
        return best;
}

int proctab_parse_cgroup_unit(const char *text, char **ret) {
        const char *unified = NULL, *named = NULL;
        size_t unified_len = 0, named_len = 0;

        *ret = NULL;
        /* systemd keeps units in the unified hierarchy ("0::"); on hybrid
         * and legacy hosts, in the name=systemd one. */
        for (const char *line = text; line && *line;) {
                const char *end = strchrnul(line, '\n');
                if (strncmp(line, "0::", 3) == 0)
                        unified = path_unit(line + 3, end, &unified_len);
                else {
                        const char *p = strstr(line, ":name=systemd:");
                        if (p && p < end)
                                named = path_unit(p + 14, end, &named_len);
                }
                line = *end ? end + 1 : NULL;
        }
        if (!unified && !named)
                return 0;
        *ret = unified ? strndup(unified, unified_len) : strndup(named, named_len);
        return *ret ? 0 : -ENOMEM;
}

int proctab_parse_maps_line(const char *line, dev_t *ret_dev, ino_t *ret_ino, bool *ret_sysv) {
        /* "start-end perms offset MAJ:MIN inode   path" */
        const char *p = line;
        unsigned long maj, min;
        unsigned long long ino;
        char *end;

        for (int i = 0; i < 3; i++) {
                p = strchr(p, ' ');
                if (!p)
                        return -EBADMSG;
                p++;
        }
        if (!isxdigit((unsigned char) *p))
                return -EBADMSG;
        maj = strtoul(p, &end, 16);
        if (*end != ':')
                return -EBADMSG;
        if (!isxdigit((unsigned char) end[1]))
                return -EBADMSG;
        min = strtoul(end + 1, &end, 16);
        if (*end != ' ')
                return -EBADMSG;
        ino = strtoull(end + 1, &end, 10);
        if (*end != ' ' && *end != '\n' && *end != 0)
                return -EBADMSG;
        while (*end == ' ')
                end++;

        *ret_dev = makedev(maj, min);
        *ret_ino = (ino_t) ino;
        *ret_sysv = strncmp(end, "/SYSV", 5) == 0;
        return 0;
}

/* Is the inode of fd NAME (in the fd/ directory FDFD) one the index wants?
 * True too when fdinfo cannot say: unknown must stay unknown. */
static bool fd_inode_wanted(int fdfd, const char *name, const struct holder_index *idx) {
        char path[NAME_MAX + 16], buf[512];
        unsigned long long ino;
        const char *p;

        snprintf(path, sizeof(path), "../fdinfo/%s", name);
        ssize_t n = proctab_read(fdfd, path, buf, sizeof(buf));
        if (is_gone(n))
                return false; /* closed meanwhile, or the process exited */
        if (n <= 0 || !(p = strstr(buf, "\nino:")) || sscanf(p + 5, "%llu", &ino) != 1)
                return true;
        return holder_index_wants_ino(idx, (ino_t) ino);
}

static int scan_fds(int pfd, pid_t pid, struct holder_index *idx, unsigned *flags) {
        _cleanup_closedir_ DIR *d = NULL;
        int fdfd, r;

        fdfd = openat(pfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fdfd < 0)
                return negative_errno();
        d = fdopendir(fdfd);
        if (!d) {
                r = negative_errno();
                (void) close(fdfd);
                return r;
        }

        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                struct statx stx;

                if (de->d_name[0] == '.')
                        continue;
                /* Following the magic link stats the open file itself; it does
                 * not open anything, so a FIFO's peer is not woken.  Cached
                 * attributes do: identity is all that is asked, and a network
                 * file system that does not answer must not stop the sweep. */
                if (statx(fdfd, de->d_name, AT_STATX_DONT_SYNC, STATX_INO, &stx) < 0) {
                        if (errno == ENOENT)
                                continue; /* closed meanwhile */
                        if (errno == EACCES || errno == EPERM) {
                                /* A FUSE mount refuses even root a stat of its
                                 * files: one user's mount must not blind the
                                 * whole sweep.  fdinfo still names the inode;
                                 * only one that could be ours leaves this
                                 * process's holdings unknown. */
                                if (fd_inode_wanted(fdfd, de->d_name, idx)) {
                                        *flags |= PROCESS_FD_UNREADABLE | FACT_FD_FILE_REFUSED;
                                        return 0;
                                }
                        }
                        continue;
                }
                dev_t dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
                if (!holder_index_wants(idx, dev, (ino_t) stx.stx_ino))
                        continue;
                /* An O_PATH descriptor (or one opened for neither reading nor
                 * writing) is a place, not a use: nothing can be read,
                 * written, mapped or sent through it, and opening it again
                 * through /proc/PID/fd works after the name is gone.  No
                 * open event tells of one either, which the daemon's guard
                 * relies on.  The link's own mode shows the access: proc
                 * gives it r for reading, w for writing, nothing for O_PATH. */
                struct stat lst;
                if (fstatat(fdfd, de->d_name, &lst, AT_SYMLINK_NOFOLLOW) == 0 && (lst.st_mode & 0777) == 0)
                        continue;
                r = holder_index_add(idx, dev, (ino_t) stx.stx_ino, pid);
                if (r < 0)
                        return r;
        }
        return errno != 0 ? negative_errno() : 0;
}

static int cmp_slot(const void *a, const void *b) {
        uint64_t x = ((const struct ns_slot *) a)->ino, y = ((const struct ns_slot *) b)->ino;
        return (x > y) - (x < y);
}

/* The slot of the IPC namespace of the process (its /proc dir PFD), looked
 * up once into *SLOT.  SysV ids are per namespace: a segment of a container
 * with the same shmid as one of ours is another segment.  When it cannot be
 * told, any: the safe side. */
static uint32_t process_slot(int pfd, const struct walk *w, uint32_t *slot) {
        struct stat st;

        if (*slot != PROCTAB_SLOT_UNSET)
                return *slot;
        if (!w->have_nsfs || fstatat(pfd, "ns/ipc", &st, 0) < 0)
                *slot = PROCTAB_SLOT_ANY;
        else if (st.st_dev != w->nsfs_dev || w->n_slots == 0)
                *slot = PROCTAB_SLOT_NONE;
        else {
                struct ns_slot key = { .ino = (uint64_t) st.st_ino };
                const struct ns_slot *s = bsearch(&key, w->slots, w->n_slots, sizeof(key), cmp_slot);
                *slot = s ? s->slot : PROCTAB_SLOT_NONE;
        }
        return *slot;
}

/* Records PID under the SysV key (DEV, ID) of the namespace of SLOT: of
 * each listed one when it is unknown, of none when it is not listed. */
static int add_sysv(struct holder_index *idx, dev_t dev, unsigned id, uint32_t slot, size_t n_slots, pid_t pid) {
        if (slot == PROCTAB_SLOT_NONE || slot == PROCTAB_SLOT_UNSET)
                return 0;
        if (slot != PROCTAB_SLOT_ANY)
                return holder_index_add(idx, dev, holder_sysv_ino(slot, id), pid);
        for (size_t k = 0; k < n_slots; k++) {
                int r = holder_index_add(idx, dev, holder_sysv_ino(k, id), pid);
                if (r < 0)
                        return r;
        }
        return 0;
}

#define MAPS_BUF (64u * 1024u)

/* BUF: MAPS_BUF bytes of scratch, one per scan.  Large reads parsed in
 * place: no stdio, and a few calls per process rather than one per 4 KiB. */
static int scan_maps(int mfd, int pfd, pid_t pid, const struct walk *w, uint32_t *slot) {
        _cleanup_close_ int fd = -EBADF;
        struct holder_index *idx = w->idx;
        char *buf = w->scratch;
        size_t have = 0;
        bool skipping = false; /* inside a line too long to be real */
        int r;

        fd = openat(mfd, "maps", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();

        for (;;) {
                ssize_t n = read(fd, buf + have, MAPS_BUF - 1 - have);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        /* ESRCH: it exited after the open, which is no error */
                        int e = negative_errno();
                        return is_gone(e) ? -ESRCH : is_access_error(e) ? -EACCES : -EIO;
                }
                if (n == 0)
                        break;
                have += (size_t) n;
                buf[have] = 0;

                char *line = buf, *nl;
                while ((nl = memchr(line, '\n', have - (size_t) (line - buf)))) {
                        *nl = 0;
                        dev_t dev;
                        ino_t ino;
                        bool sysv;
                        bool skip = skipping;
                        skipping = false;
                        if (!skip && proctab_parse_maps_line(line, &dev, &ino, &sysv) == 0 && (ino != 0 || sysv)) {
                                /* shmid 0 is a real segment; inode 0 otherwise anonymous */
                                r = sysv ? add_sysv(idx, HOLDER_DEV_SYSV_SHM, (unsigned) ino,
                                                    process_slot(pfd, w, slot), w->n_slots, pid)
                                         : holder_index_add(idx, dev, ino, pid);
                                if (r < 0)
                                        return r;
                        }
                        line = nl + 1;
                }
                /* Keep the unfinished line; one that fills the buffer is no
                 * maps line: drop it and the rest of it. */
                size_t rest = have - (size_t) (line - buf);
                if (rest == MAPS_BUF - 1) {
                        skipping = true;
                        rest = 0;
                }
                memmove(buf, line, rest);
                have = rest;
        }
        return 0;
}

int proctab_parse_syscall(const char *text, long *ret_nr, uint64_t ret_args[6]) {
        unsigned long long a[6];
        long nr;
        char *end;

        /* "NR A0 .. A5 SP PC" in a call, "-1 SP PC" in none, "running" */
        if (strncmp(text, "running", 7) == 0 && (text[7] == '\n' || text[7] == 0))
                return -EAGAIN;
        errno = 0;
        nr = strtol(text, &end, 10);
        if (errno || end == text || (*end != ' ' && *end != '\n' && *end != 0) || nr < -1)
                return -EBADMSG;
        if (nr == -1) {
                *ret_nr = -1;
                memset(ret_args, 0, 6 * sizeof(*ret_args));
                return 0;
        }
        if (sscanf(end, " %llx %llx %llx %llx %llx %llx", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5]) != 6)
                return -EBADMSG;
        *ret_nr = nr;
        for (int i = 0; i < 6; i++)
                ret_args[i] = a[i];
        return 0;
}

/* A look at a thread failed: was it because the thread has exited since?
 * Then it blocks nothing.  Otherwise what it does stays unknown. */
static bool thread_gone(int tfd) {
        char buf[1024], comm[17], state;
        unsigned kflags;
        uint64_t ticks;
        ssize_t n = proctab_read(tfd, "stat", buf, sizeof(buf));
        if (n == 0 || is_gone(n))
                return true;
        return n > 0 && proctab_parse_stat(buf, comm, &state, &kflags, &ticks) == 0 && (state == 'Z' || state == 'X');
}

/* The calls a thread can be blocked in, waiting on one of our objects. */
enum call { CALL_OTHER, CALL_OPEN, CALL_SEM, CALL_MSG };

static enum call call_of(long nr) {
        if (nr < 0)
                return CALL_OTHER;
        if (nr == SYS_openat
#ifdef SYS_openat2
            || nr == SYS_openat2
#endif
#ifdef SYS_open
            || nr == SYS_open
#endif
        )
                return CALL_OPEN;
#ifdef SYS_semtimedop
        if (nr == SYS_semtimedop)
                return CALL_SEM;
#endif
#ifdef SYS_semop
        if (nr == SYS_semop)
                return CALL_SEM;
#endif
#ifdef SYS_msgrcv
        if (nr == SYS_msgrcv)
                return CALL_MSG;
#endif
#ifdef SYS_msgsnd
        if (nr == SYS_msgsnd)
                return CALL_MSG;
#endif
        return CALL_OTHER;
}

/*
 * A FIFO opener blocked in the kernel's wait_for_partner holds no fd yet, so
 * the fd scan misses it; yet unlinking the FIFO now would strand it for
 * good.  Its open(2) arguments (NR and A, from its syscall file) tell which
 * file it is opening: read the path from its memory and resolve it as it
 * would, through its own root and cwd.  Returns 0 (recorded, or the thread
 * is gone), or PROCESS_FIFO_OPEN_UNKNOWN when it cannot tell.
 */
static int fifo_opener(int tfd, const char *proc_root, pid_t pid, long nr, const uint64_t a[6],
                       struct holder_index *idx) {
        char path[PATH_MAX], full[PATH_MAX + 64];
        ssize_t n;

        long long dirfd;
        uint64_t ptr;
#ifdef SYS_open
        if (nr == SYS_open) {
                dirfd = AT_FDCWD;
                ptr = a[0];
        } else
#endif
        {
                dirfd = (int) (unsigned) a[0];
                ptr = a[1];
        }

        /* The string may end near a page boundary: read what can be read. */
        size_t want = sizeof(path) - 1;
        for (;;) {
                struct iovec local = { .iov_base = path, .iov_len = want };
                struct iovec remote = { .iov_base = (void *) (uintptr_t) ptr, .iov_len = want };
                n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
                if (n > 0)
                        break;
                if (n < 0 && errno == ESRCH)
                        return 0; /* exited: opens nothing */
                if (errno != EFAULT || want <= 1)
                        return thread_gone(tfd) ? 0 : PROCESS_FIFO_OPEN_UNKNOWN;
                size_t to_page = 4096 - (size_t) (ptr % 4096);
                want = want > to_page ? to_page : want / 2;
        }
        path[n] = 0;
        if (strlen(path) == (size_t) n && (size_t) n == sizeof(path) - 1)
                return PROCESS_FIFO_OPEN_UNKNOWN; /* no terminator: not a path we can trust */

        int k;
        struct stat st;
        if (path[0] == '/') {
                /* Resolve it as the process would: inside its own root, where
                 * an absolute symlink means that root, not ours. */
                _cleanup_close_ int rootfd = -EBADF;
                k = snprintf(full, sizeof(full), "%s/%d/root", proc_root, (int) pid);
                if (k < 0 || (size_t) k >= sizeof(full))
                        return PROCESS_FIFO_OPEN_UNKNOWN;
                rootfd = open(full, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (rootfd < 0)
                        return thread_gone(tfd) ? 0 : PROCESS_FIFO_OPEN_UNKNOWN;
                struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
                _cleanup_close_ int fd = (int) syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
                if (fd < 0 || fstat(fd, &st) < 0)
                        return thread_gone(tfd) ? 0 : PROCESS_FIFO_OPEN_UNKNOWN;
                return holder_index_add(idx, st.st_dev, st.st_ino, pid);
        }
        if (dirfd == AT_FDCWD)
                k = snprintf(full, sizeof(full), "%s/%d/cwd/%s", proc_root, (int) pid, path);
        else
                k = snprintf(full, sizeof(full), "%s/%d/fd/%lld/%s", proc_root, (int) pid, dirfd, path);
        if (k < 0 || (size_t) k >= sizeof(full))
                return PROCESS_FIFO_OPEN_UNKNOWN;

        if (stat(full, &st) < 0)
                return thread_gone(tfd) ? 0 : PROCESS_FIFO_OPEN_UNKNOWN;
        return holder_index_add(idx, st.st_dev, st.st_ino, pid);
}

/*
 * A thread blocked in semop(2), msgrcv(2) or msgsnd(2) is waiting on that
 * object: it lives on it as surely as a holder does, though nothing of it
 * shows in /proc/PID/fd or maps, and a msg queue records no waiters at all.
 * The id is the syscall's first argument.
 */
static int ipc_waiter(pid_t pid, enum call call, uint64_t a0, struct holder_index *idx, uint32_t slot, size_t n_slots) {
        return add_sysv(idx, call == CALL_SEM ? HOLDER_DEV_SYSV_SEM : HOLDER_DEV_SYSV_MSG, (unsigned) a0, slot, n_slots,
                        pid);
}

/* What a wchan says a thread is blocked in, of what FLAGS ask about. */
enum blocked_in { BLOCKED_NO, BLOCKED_FIFO_OPEN, BLOCKED_SEMOP, BLOCKED_MSG, BLOCKED_STOPPED };

/* Is WCHAN the function NAME, or a compiler's copy of it ("NAME.isra.0")? */
static bool wchan_is(const char *wchan, const char *name) {
        size_t n = strlen(name);
        return strncmp(wchan, name, n) == 0 && (wchan[n] == 0 || wchan[n] == '.' || wchan[n] == '\n');
}

/*
 * A thread stopped by a signal (SIGSTOP, job control), a tracer or a cgroup
 * freezer sleeps there, not in the call it was blocked in: its wchan is
 * do_signal_stop, ptrace_stop, do_freezer_trap (the cgroup v2 freezer; it
 * reads get_signal where the compiler inlined it, as on 6.x builds) or
 * __refrigerator (the v1 freezer, suspend), and a semop waiter is no longer
 * counted in semncnt.  The call is only interrupted: it is taken up again
 * when the thread is let go, and its syscall file names it meanwhile.
 * get_signal sleeps in nothing but these stops.
 */
bool proctab_wchan_stopped(const char *wchan) {
        return wchan_is(wchan, "do_signal_stop") || wchan_is(wchan, "ptrace_stop") ||
               wchan_is(wchan, "do_freezer_trap") || wchan_is(wchan, "get_signal") ||
               wchan_is(wchan, "do_jobctl_trap") || wchan_is(wchan, "__refrigerator");
}

static enum blocked_in blocked_in(const char *wchan, unsigned flags) {
        if ((flags & PROCTAB_FIFO_OPENERS) && wchan_is(wchan, "wait_for_partner"))
                return BLOCKED_FIFO_OPEN;
        if (flags & PROCTAB_IPC_WAITERS) {
                /* The names differ between kernel versions. */
                if (wchan_is(wchan, "__do_semtimedop") || wchan_is(wchan, "do_semtimedop"))
                        return BLOCKED_SEMOP;
                if (wchan_is(wchan, "do_msgrcv") || wchan_is(wchan, "do_msgsnd"))
                        return BLOCKED_MSG;
        }
        if ((flags & (PROCTAB_FIFO_OPENERS | PROCTAB_IPC_WAITERS)) && proctab_wchan_stopped(wchan))
                return BLOCKED_STOPPED;
        return BLOCKED_NO;
}

bool proctab_wchan_wanted(const char *wchan, unsigned flags) {
        return blocked_in(wchan, flags) != BLOCKED_NO;
}

/* The PROCESS_*_UNKNOWN flags for not knowing what FLAGS asked. */
static unsigned unknown_of(unsigned flags) {
        return (flags & PROCTAB_FIFO_OPENERS ? PROCESS_FIFO_OPEN_UNKNOWN : 0) |
               (flags & PROCTAB_IPC_WAITERS ? PROCESS_IPC_WAIT_UNKNOWN : 0);
}

/* How often a stopped thread that is let go while looked at is looked at
 * again before what it does is called unknown. */
#define STOPPED_LOOKS 3

/* proctab_blocked_thread, a waiter recorded under the SysV keys of SLOT
 * (of N_SLOTS). */
static int blocked_thread_in(int tfd, const char *proc_root, pid_t pid, const char *wchan, struct holder_index *idx,
                             unsigned flags, uint32_t slot, size_t n_slots) {
        char again[128];
        enum blocked_in what = BLOCKED_NO;

        for (int look = 0; look < STOPPED_LOOKS; look++) {
                char buf[256];
                uint64_t a[6];
                long nr;
                int r;

                what = blocked_in(wchan, flags);
                if (what == BLOCKED_NO)
                        return 0;
                ssize_t n = proctab_read(tfd, "syscall", buf, sizeof(buf));
                if (is_gone(n))
                        return 0;
                r = n > 0 ? proctab_parse_syscall(buf, &nr, a) : n < 0 ? (int) n : -EBADMSG;
                if (r == -EAGAIN && what == BLOCKED_STOPPED) {
                        /* Let go between the two reads: where is it now?  A
                         * call it was stopped in is being taken up again. */
                        n = proctab_read(tfd, "wchan", again, sizeof(again));
                        if (n == 0 || is_gone(n))
                                return 0;
                        if (n < 0)
                                break;
                        if (strcmp(again, "0") == 0)
                                break; /* running: in a call again or not, unknown */
                        wchan = again;
                        continue;
                }
                if (r < 0)
                        break;

                enum call call = call_of(nr);
                switch (what) {
                case BLOCKED_FIFO_OPEN:
                        /* the ipc(2) multiplexer, a 32-bit task's numbers:
                         * not one we know */
                        return call == CALL_OPEN ? fifo_opener(tfd, proc_root, pid, nr, a, idx)
                                                 : PROCESS_FIFO_OPEN_UNKNOWN;
                case BLOCKED_SEMOP:
                        return call == CALL_SEM ? ipc_waiter(pid, call, a[0], idx, slot, n_slots)
                                                : PROCESS_IPC_WAIT_UNKNOWN;
                case BLOCKED_MSG:
                        return call == CALL_MSG ? ipc_waiter(pid, call, a[0], idx, slot, n_slots)
                                                : PROCESS_IPC_WAIT_UNKNOWN;
                case BLOCKED_STOPPED:
                        /* Stopped in the call, or at its end: the two read
                         * the same, and either way it is a use of the
                         * object.  An open whose path cannot be resolved
                         * leaves FIFOs unknown, as a blocked one does.  In
                         * no call (-1: stopped in its own code) or in
                         * another one, it waits on nothing. */
                        if (call == CALL_OPEN && (flags & PROCTAB_FIFO_OPENERS))
                                return fifo_opener(tfd, proc_root, pid, nr, a, idx);
                        if ((call == CALL_SEM || call == CALL_MSG) && (flags & PROCTAB_IPC_WAITERS))
                                return ipc_waiter(pid, call, a[0], idx, slot, n_slots);
                        return 0;
                default:
                        return 0;
                }
        }
        switch (what) {
        case BLOCKED_FIFO_OPEN:
                return PROCESS_FIFO_OPEN_UNKNOWN;
        case BLOCKED_SEMOP:
        case BLOCKED_MSG:
                return PROCESS_IPC_WAIT_UNKNOWN;
        default:
                return (int) unknown_of(flags);
        }
}

int proctab_blocked_thread(int tfd, const char *proc_root, pid_t pid, const char *wchan, struct holder_index *idx,
                           unsigned flags) {
        return blocked_thread_in(tfd, proc_root, pid, wchan, idx, flags, 0, 1);
}

/* The blocked-thread check of one thread (or single-threaded process) dir. */
static int blocked_thread(int tfd, const struct walk *w, pid_t pid, unsigned flags, uint32_t slot) {
        char wchan[128];
        ssize_t n = proctab_read(tfd, "wchan", wchan, sizeof(wchan));
        if (n == 0 || is_gone(n))
                return 0; /* gone */
        if (n < 0)
                return (int) unknown_of(flags);
        return blocked_thread_in(tfd, w->proc_root, pid, wchan, w->idx, flags, slot, w->n_slots);
}

/* Field 20 of /proc/PID/stat: how many threads the process has. */
static unsigned stat_num_threads(const char *text) {
        const char *p = strrchr(text, ')');
        unsigned long v = 1;
        if (!p)
                return 1;
        /* after ") ": fields 3..; num_threads is the 18th of them */
        for (int i = 0; i < 18 && p; i++)
                p = strchr(p + 1, ' ');
        if (!p || sscanf(p + 1, "%lu", &v) != 1)
                return 1;
        return (unsigned) v;
}

/* A directory fd of a live thread of the process whose leader has exited
 * (pthread_exit): the leader's /proc/PID/{fd,maps} are empty then, while the
 * other threads go on holding everything.  -ESRCH when no thread lives. */
static int live_thread_dir(int pfd) {
        _cleanup_closedir_ DIR *d = NULL;
        int tfd = openat(pfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (tfd < 0)
                return -ESRCH;
        d = fdopendir(tfd);
        if (!d) {
                (void) close(tfd);
                return -ESRCH;
        }
        for (struct dirent *de; (de = readdir(d));) {
                char buf[1024], comm[17], state;
                unsigned kflags;
                uint64_t ticks;
                if (de->d_name[0] == '.')
                        continue;
                int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                if (proctab_read(fd, "stat", buf, sizeof(buf)) > 0 &&
                    proctab_parse_stat(buf, comm, &state, &kflags, &ticks) == 0 && state != 'Z' && state != 'X')
                        return fd;
                (void) close(fd);
        }
        return -ESRCH;
}

/* blocked_thread for every thread: any one of them may be the one blocked.
 * Returns the PROCESS_*_UNKNOWN flags of what could not be told. */
static int blocked_threads(int pfd, const struct walk *w, pid_t pid, unsigned threads, unsigned flags, uint32_t slot) {
        _cleanup_closedir_ DIR *d = NULL;
        int r, unknown = 0;

        if (threads <= 1)
                return blocked_thread(pfd, w, pid, flags, slot);
        int tfd = openat(pfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (tfd < 0)
                return errno == ENOENT || errno == ESRCH ? 0 : (int) unknown_of(flags);
        d = fdopendir(tfd);
        if (!d) {
                (void) close(tfd);
                return -ENOMEM;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        continue; /* that thread is gone */
                r = blocked_thread(fd, w, pid, flags, slot);
                (void) close(fd);
                if (r < 0)
                        return r;
                unknown |= r;
        }
        return unknown;
}

/* A process whose /proc dir or stat is refused rather than gone (hidepid=1,
 * an LSM): nothing of it can be read, so it could hold or wait on anything
 * asked about.  Its start time stays unknown (0), its uids -1.  Returns 1. */
static int unreadable_process(struct process *p, const struct holder_index *idx, unsigned flags,
                              struct process *ret) {
        p->flags |= PROCESS_UNREADABLE | FACT_REFUSED;
        p->ipc_slot = PROCTAB_SLOT_ANY;
        if (idx) {
                if (flags & (PROCTAB_FDS | PROCTAB_FIFO_OPENERS | PROCTAB_IPC_WAITERS))
                        p->flags |= PROCESS_FD_UNREADABLE;
                if (flags & PROCTAB_MAPS)
                        p->flags |= PROCESS_MAPS_UNREADABLE;
                p->flags |= unknown_of(flags);
        }
        p->facts = p->flags;
        *ret = *p;
        return 1;
}

/* Returns 1 when the process was read, 0 when it vanished meanwhile. */
static int scan_process(int procfd, const char *name, pid_t pid, const struct walk *w, struct process *ret) {
        _cleanup_close_ int pfd = -EBADF;
        struct holder_index *idx = w->idx;
        unsigned flags = w->flags;
        char buf[4096], state;
        struct process p = { .pid = pid, .ipc_slot = PROCTAB_SLOT_UNSET };
        uint64_t start_ticks;
        unsigned kflags;
        ssize_t n;
        int r;

        p.ruid = p.euid = (uid_t) -1;
        pfd = openat(procfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0) {
                r = negative_errno();
                if (is_gone(r))
                        return 0;
                if (is_access_error(r))
                        return unreadable_process(&p, idx, flags, ret);
                return r;
        }

        n = proctab_read(pfd, "stat", buf, sizeof(buf));
        if (n == 0 || is_gone(n))
                return 0;
        if (is_access_error(n))
                return unreadable_process(&p, idx, flags, ret);
        if (n < 0)
                return (int) n;
        if (proctab_parse_stat(buf, p.comm, &state, &kflags, &start_ticks) < 0)
                return 0;
        p.start_usec = w->boot_usec + start_ticks * 1000000ULL / (uint64_t) w->ticks;
        p.start_ticks = start_ticks;
        unsigned threads = stat_num_threads(buf);
        _cleanup_close_ int tfd = -EBADF;
        if (state == 'Z' || state == 'X') {
                /* A leader that exited while its threads run on shows Z: the
                 * process lives, and its files are seen through a thread. */
                if (threads > 1)
                        tfd = live_thread_dir(pfd);
                if (tfd < 0)
                        p.flags |= PROCESS_ZOMBIE;
        }
        int hfd = tfd >= 0 ? tfd : pfd; /* where its fds and maps show */
        if (kflags & PF_KTHREAD)
                p.flags |= PROCESS_KTHREAD;

        if (flags & PROCTAB_UIDS) {
                /* status, not the owner of /proc/PID: that is root for any
                 * process that is not dumpable. */
                n = proctab_read(pfd, "status", buf, sizeof(buf));
                if (is_gone(n))
                        return 0;
                if (is_access_error(n))
                        p.flags |= PROCESS_UNREADABLE | FACT_STATUS_REFUSED; /* its uids stay unknown */
                else if (n < 0)
                        return (int) n;
                else {
                        const char *u = strstr(buf, "\nUid:");
                        unsigned long ruid, euid;
                        if (!u || sscanf(u + 5, "%lu %lu", &ruid, &euid) != 2)
                                return 0; /* a process too far gone to report its uid */
                        p.ruid = (uid_t) ruid;
                        p.euid = (uid_t) euid;
                }
        }

        if (flags & PROCTAB_CGROUP) {
                n = proctab_read(pfd, "cgroup", buf, sizeof(buf));
                if (n == -ESRCH)
                        return 0; /* exited after the open (no cgroup file at all: no unit) */
                if (n > 0) {
                        r = proctab_parse_cgroup_unit(buf, &p.unit);
                        if (r < 0)
                                return r;
                }
        }

        /* Kernel threads and zombies hold no files. */
        if (idx && !(p.flags & (PROCESS_KTHREAD | PROCESS_ZOMBIE))) {
                if (flags & PROCTAB_FDS) {
                        r = scan_fds(hfd, pid, idx, &p.flags);
                        if (is_access_error(r))
                                p.flags |= PROCESS_FD_UNREADABLE | FACT_FD_DIR_REFUSED;
                        else if (is_gone(r))
                                goto gone;
                        else if (r < 0)
                                goto fail;
                }
                /* wchan reads "0" where ptrace access is denied, as if the
                 * thread were not blocked at all: where the fds could not be
                 * read, what it waits on is unknown (for FIFOs the fd
                 * evidence says so already). */
                unsigned blocked = flags & (PROCTAB_FIFO_OPENERS | PROCTAB_IPC_WAITERS);
                /* semop(2) and msgrcv(2) name an id of the caller's IPC
                 * namespace: a thread of another one waits on none of
                 * the objects collected, whatever its id. */
                if ((blocked & PROCTAB_IPC_WAITERS) && process_slot(pfd, w, &p.ipc_slot) == PROCTAB_SLOT_NONE)
                        blocked &= ~PROCTAB_IPC_WAITERS;
                if ((blocked & PROCTAB_IPC_WAITERS) && !(flags & PROCTAB_FDS) && !(p.flags & PROCESS_FD_UNREADABLE)) {
                        _cleanup_close_ int fdd = openat(hfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (fdd < 0 && is_access_error(negative_errno()))
                                p.flags |= PROCESS_FD_UNREADABLE | FACT_FD_DIR_REFUSED;
                }
                if (p.flags & PROCESS_FD_UNREADABLE) {
                        p.flags |= unknown_of(blocked & PROCTAB_IPC_WAITERS);
                        blocked = 0;
                }
                if (blocked) {
                        r = blocked_threads(pfd, w, pid, threads, blocked, p.ipc_slot);
                        if (r < 0)
                                goto fail;
                        p.flags |= (unsigned) r;
                }
                if (flags & PROCTAB_MAPS) {
                        r = scan_maps(hfd, pfd, pid, w, &p.ipc_slot);
                        if (is_access_error(r))
                                p.flags |= PROCESS_MAPS_UNREADABLE;
                        else if (is_gone(r))
                                goto gone;
                        else if (r < 0)
                                goto fail;
                }
        }

        p.facts = p.flags;
        *ret = p;
        return 1;
gone:
        free(p.unit);
        return 0;
fail:
        free(p.unit);
        return r;
}

static uint64_t timespec_usec(const struct timespec *ts) {
        return (uint64_t) ts->tv_sec * 1000000ULL + (uint64_t) ts->tv_nsec / 1000ULL;
}

/* The flags a build asking FLAGS for the namespace of SLOT would have set
 * on P, from what the walk saw (a walk asks at least as much). */
static unsigned settled_flags(const struct process *p, unsigned flags, uint32_t slot, bool keys) {
        const unsigned f = p->facts;
        unsigned out = f & (PROCESS_ZOMBIE | PROCESS_KTHREAD);
        /* Waits are on ids of the process's own namespace: only its
         * namespace's build looks at them (and every one, not knowing it). */
        bool mine = p->ipc_slot == slot || p->ipc_slot == PROCTAB_SLOT_ANY;

        if (!keys) /* no index: nothing of fds, maps or threads was read */
                flags &= PROCTAB_UIDS | PROCTAB_CGROUP;
        if (f & FACT_REFUSED) {
                /* as unreadable_process() */
                out |= PROCESS_UNREADABLE | unknown_of(flags);
                if (flags & (PROCTAB_FDS | PROCTAB_FIFO_OPENERS | PROCTAB_IPC_WAITERS))
                        out |= PROCESS_FD_UNREADABLE;
                if (flags & PROCTAB_MAPS)
                        out |= PROCESS_MAPS_UNREADABLE;
                return out;
        }
        if ((flags & PROCTAB_UIDS) && (f & FACT_STATUS_REFUSED))
                out |= PROCESS_UNREADABLE;
        /* With fds asked, a refused fd dir or fd; without, the dir as the
         * waiters' check reads it, for processes of the namespace. */
        if (flags & PROCTAB_FDS) {
                if (f & (FACT_FD_DIR_REFUSED | FACT_FD_FILE_REFUSED))
                        out |= PROCESS_FD_UNREADABLE;
        } else if ((flags & PROCTAB_IPC_WAITERS) && mine && (f & FACT_FD_DIR_REFUSED))
                out |= PROCESS_FD_UNREADABLE;
        if ((flags & PROCTAB_MAPS) && (f & PROCESS_MAPS_UNREADABLE))
                out |= PROCESS_MAPS_UNREADABLE;
        if ((flags & PROCTAB_FIFO_OPENERS) && (f & PROCESS_FIFO_OPEN_UNKNOWN))
                out |= PROCESS_FIFO_OPEN_UNKNOWN;
        /* An fd that could not be looked at (a FUSE file of another
         * namespace's objects) stopped the walk looking at the threads:
         * their waits stay unknown here too, the safe side. */
        if ((flags & PROCTAB_IPC_WAITERS) && mine && ((f & PROCESS_IPC_WAIT_UNKNOWN) || (out & PROCESS_FD_UNREADABLE)))
                out |= PROCESS_IPC_WAIT_UNKNOWN;
        return out;
}

/* T, a walk's table, as the build asking FLAGS for SLOT would have made it. */
static void settle(struct proctab *t, unsigned flags, uint32_t slot, bool keys) {
        t->n_fd_unreadable = t->n_maps_unreadable = t->n_fifo_open_unknown = t->n_ipc_wait_unknown = 0;
        for (size_t i = 0; i < t->n_procs; i++) {
                struct process *p = &t->procs[i];
                p->flags = settled_flags(p, flags, slot, keys);
                if (!(flags & PROCTAB_UIDS))
                        p->ruid = p->euid = (uid_t) -1;
                if (!(flags & PROCTAB_CGROUP)) {
                        free(p->unit);
                        p->unit = NULL;
                }
                t->n_fd_unreadable += !!(p->flags & PROCESS_FD_UNREADABLE);
                t->n_fifo_open_unknown += !!(p->flags & PROCESS_FIFO_OPEN_UNKNOWN);
                t->n_ipc_wait_unknown += !!(p->flags & PROCESS_IPC_WAIT_UNKNOWN);
                t->n_maps_unreadable += !!(p->flags & PROCESS_MAPS_UNREADABLE);
        }
        t->flags = flags;
}

int proctab_view(const struct proctab *t, unsigned flags, size_t slot, bool keys, struct proctab **ret) {
        struct proctab *v;

        if ((flags & ~t->flags) || slot >= PROCTAB_SLOTS_MAX)
                return -EINVAL; /* what the walk did not read, it cannot tell */
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        if (t->n_procs > 0) {
                v->procs = malloc(t->n_procs * sizeof(*v->procs));
                if (!v->procs) {
                        free(v);
                        return -ENOMEM;
                }
        }
        for (size_t i = 0; i < t->n_procs; i++) {
                v->procs[i] = t->procs[i];
                v->procs[i].unit = NULL;
                v->n_procs = i + 1;
                if ((flags & PROCTAB_CGROUP) && t->procs[i].unit && !(v->procs[i].unit = strdup(t->procs[i].unit))) {
                        proctab_free(v);
                        return -ENOMEM;
                }
        }
        settle(v, flags, (uint32_t) slot, keys);
        *ret = v;
        return 0;
}

int proctab_build(const char *proc_root, struct holder_index *idx, unsigned flags, struct proctab **ret) {
        return proctab_build_in(proc_root, idx, flags, 0, ret);
}

int proctab_build_in(const char *proc_root, struct holder_index *idx, unsigned flags, uint64_t ipc_ns,
                     struct proctab **ret) {
        struct proctab *t;
        int r = proctab_build_many(proc_root, idx, flags, &ipc_ns, 1, &t);
        if (r < 0)
                return r;
        settle(t, flags, 0, idx != NULL);
        *ret = t;
        return 0;
}

int proctab_build_many(const char *proc_root, struct holder_index *idx, unsigned flags, const uint64_t *ipc_ns,
                       size_t n_ns, struct proctab **ret) {
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ struct ns_slot *slots = NULL;
        struct proctab *t;
        struct timespec now_real, now_boot;
        size_t n_alloc = 0;
        int r = 0;

        if (n_ns > PROCTAB_SLOTS_MAX)
                return -EINVAL;
        struct walk w = { .proc_root = proc_root, .idx = idx, .flags = flags, .n_slots = n_ns };
        w.ticks = sysconf(_SC_CLK_TCK);
        if (w.ticks <= 0)
                return -EINVAL;
        /* starttime counts from boot on CLOCK_BOOTTIME; the difference of the
         * two clocks is the boot time, to well under the 1 s slack judges use. */
        if (clock_gettime(CLOCK_REALTIME, &now_real) < 0 || clock_gettime(CLOCK_BOOTTIME, &now_boot) < 0)
                return negative_errno();
        w.boot_usec = timespec_usec(&now_real) - timespec_usec(&now_boot);

        /* Our own IPC namespace (0 in the list), and nsfs's device, to tell
         * the namespaces' SysV objects apart. */
        struct stat self_ns;
        w.have_nsfs = stat("/proc/self/ns/ipc", &self_ns) == 0;
        w.nsfs_dev = w.have_nsfs ? self_ns.st_dev : 0;
        slots = calloc(n_ns ? n_ns : 1, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < n_ns; i++)
                slots[i] = (struct ns_slot){ .ino = ipc_ns[i] || !w.have_nsfs ? ipc_ns[i] : (uint64_t) self_ns.st_ino,
                                             .slot = (uint32_t) i };
        if (n_ns > 1)
                qsort(slots, n_ns, sizeof(*slots), cmp_slot);
        for (size_t i = 1; i < n_ns; i++)
                if (slots[i].ino == slots[i - 1].ino)
                        return -EINVAL; /* whose would its objects be? */
        w.slots = slots;

        d = opendir(proc_root);
        if (!d)
                return negative_errno();
        _cleanup_free_ char *scratch = malloc(MAPS_BUF);
        if (!scratch)
                return -ENOMEM;
        w.scratch = scratch;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;

        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                char *end;
                unsigned long pid;

                if (!isdigit((unsigned char) de->d_name[0]))
                        continue;
                pid = strtoul(de->d_name, &end, 10);
                if (*end || pid == 0 || pid > INT32_MAX)
                        continue;

                if (t->n_procs == n_alloc) {
                        size_t na = n_alloc ? n_alloc * 2 : 256;
                        struct process *a = reallocarray(t->procs, na, sizeof(*a));
                        if (!a) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        t->procs = a;
                        n_alloc = na;
                }

                r = scan_process(dirfd(d), de->d_name, (pid_t) pid, &w, &t->procs[t->n_procs]);
                if (r < 0)
                        goto fail;
                if (r > 0)
                        t->n_procs++;
        }
        if (errno != 0) {
                r = negative_errno();
                goto fail;
        }

        if (t->n_procs > 1) /* none: procs is NULL, which qsort may not be given */
                qsort(t->procs, t->n_procs, sizeof(*t->procs), cmp_pid);
        /* Viewed (settle), never read as it is: what each build would say
         * is not said yet. */
        t->flags = flags;
        *ret = t;
        return 0;
fail:
        proctab_free(t);
        return r;
}
