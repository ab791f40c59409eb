/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * w1gen: builds the benchmark workload W1 of docs/PERFORMANCE.md, at a
 * given scale, in the private IPC, mount and PID namespaces its caller
 * entered (tests/integration/lib.sh's enter_private_namespaces).
 *
 *   w1gen [--scale F] --fifo DIR
 *
 * At scale 1 (W1): 4000 shm segments, 8000 semaphore sets of 4 semaphores,
 * 8000 SysV message queues, 1000 POSIX message queues, 1000 objects in
 * /dev/shm (500 pshm, 500 psem), 2000 FIFOs over a directory tree of depth
 * 3 under the FIFO directory; and 1000 holder processes with on average 32
 * open fds and 10 IPC mappings each.  --scale 2 is W2, --scale 0.05 the
 * smoke size of `make check`.
 *
 * Object j of every type is held iff j % 3 != 0, so a third is orphaned:
 *   shm   attached (shmat) by 1..5 holders; orphans: creator exited, nattch 0
 *   sem   semop'd by one live holder; orphans: semop'd by w1gen, which exits
 *   msg   msgsnd by one live holder; orphans: msgsnd by w1gen
 *   mq    an open fd in 1..5 holders
 *   pshm  an fd, a mapping or both in 1..5 holders
 *   psem  sem_open (a mapping) in 1..5 holders
 *   fifo  open O_RDONLY|O_NONBLOCK in 1..5 holders
 * Holders pad their fd tables with /dev/null, pipes, eventfds and socket
 * pairs to 24..40 fds.  All holders are forked from this one process; each
 * reports on a pipe once it holds its share, then pause()s.  w1gen prints
 * what it built and exits; the holders stay until the namespace ends.
 *
 * It raises the namespace's own limits (kernel.shmmni, kernel.msgmni,
 * kernel.sem, fs.mqueue.queues_max are per IPC namespace) and its soft
 * RLIMIT_NOFILE and RLIMIT_MSGQUEUE.  It refuses to run unless
 * IPCGC_HOST_IPC_NS names an IPC namespace other than its own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum type { T_SHM, T_SEM, T_MSG, T_MQ, T_PSHM, T_PSEM, T_FIFO, N_TYPES };

static const char *const type_name[N_TYPES] = { "shm", "sem", "msg", "mq", "pshm", "psem", "fifo" };
/* W1, per type, and its 1000 processes. */
static const long base_count[N_TYPES] = { 4000, 8000, 8000, 1000, 500, 500, 2000 };
#define BASE_PROCS 1000
#define SEMS_PER_SET 4
#define MAX_HOLDERS 5
#define SEG_SIZE 4096
#define KEY_SHM 0x20000000
#define KEY_SEM 0x30000000
#define KEY_MSG 0x40000000

/* The FIFO tree: 10 directories, 5 in each, 4 in each of those: 261 in all
 * with the root, the deepest at depth 3. */
static const unsigned fan[3] = { 10, 5, 4 };

struct item {
        unsigned type : 4;
        unsigned slot : 4; /* which of the object's holders this is */
        unsigned j : 24;
};

struct report {
        int err;     /* 0, or the errno of what failed */
        int fds;     /* entries in /proc/self/fd */
        int maps;    /* lines in /proc/self/maps */
        int ipcmaps; /* of which IPC: shmat, pshm and psem mappings */
        char what[96];
};

static long count[N_TYPES];
static long n_procs;
static int *ids[3]; /* SysV ids of shm, sem, msg */
static char *fifo_root;
static char **dirs; /* the FIFO tree, relative paths under fifo_root */
static size_t n_dirs;

static void die(const char *what) {
        fprintf(stderr, "w1gen: %s: %s\n", what, strerror(errno));
        exit(1);
}

static bool held(long j) {
        return j % 3 != 0;
}

static unsigned n_holders(enum type t, long j) {
        unsigned k = t == T_SEM || t == T_MSG ? 1 : 1 + (unsigned) (j % MAX_HOLDERS);
        return k > (unsigned) n_procs ? (unsigned) n_procs : k;
}

static long holder(enum type t, long j, unsigned slot) {
        long step = n_procs >= MAX_HOLDERS ? n_procs / MAX_HOLDERS : 1;
        return (j * 7919 + (long) t * 101 + (long) slot * step) % n_procs;
}

static void name_of(enum type t, long j, char *buf, size_t size) {
        switch (t) {
        case T_MQ:
                snprintf(buf, size, "/w1mq.%05ld", j);
                break;
        case T_PSHM:
                snprintf(buf, size, "/w1shm.%05ld", j);
                break;
        case T_PSEM:
                snprintf(buf, size, "/w1sem.%05ld", j);
                break;
        case T_FIFO:
                snprintf(buf, size, "%s/%s/f%05ld", fifo_root, dirs[(size_t) j % n_dirs], j);
                break;
        default:
                buf[0] = 0;
        }
}

/* Raises field IDX (0-based, whitespace separated) of a sysctl file to at
 * least WANT. */
static void raise_sysctl(const char *path, unsigned idx, long want) {
        long v[8] = { 0 };
        unsigned n = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                die(path);
        while (n < 8 && fscanf(f, "%ld", &v[n]) == 1)
                n++;
        fclose(f);
        if (idx >= n) {
                errno = EBADMSG;
                die(path);
        }
        if (v[idx] >= want)
                return;
        v[idx] = want;
        f = fopen(path, "we");
        if (!f)
                die(path);
        for (unsigned i = 0; i < n; i++)
                fprintf(f, "%s%ld", i ? "\t" : "", v[i]);
        fputc('\n', f);
        if (fclose(f) != 0)
                die(path);
}

static void raise_limits(void) {
        struct rlimit rl;

        raise_sysctl("/proc/sys/kernel/shmmni", 0, count[T_SHM] + 256);
        raise_sysctl("/proc/sys/kernel/msgmni", 0, count[T_MSG] + 256);
        /* SEMMSL SEMMNS SEMOPM SEMMNI */
        raise_sysctl("/proc/sys/kernel/sem", 3, count[T_SEM] + 256);
        raise_sysctl("/proc/sys/kernel/sem", 1, (count[T_SEM] + 256) * SEMS_PER_SET);
        raise_sysctl("/proc/sys/fs/mqueue/queues_max", 0, count[T_MQ] + 256);
        raise_sysctl("/proc/sys/fs/mqueue/msg_max", 0, 10);
        raise_sysctl("/proc/sys/fs/mqueue/msgsize_max", 0, 8192);

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        /* Queue memory counts against RLIMIT_MSGQUEUE of the uid (819200
         * bytes by default) in every IPC namespace at once, and raising the
         * hard limit needs CAP_SYS_RESOURCE: hence tiny queues, below. */
        if (getrlimit(RLIMIT_MSGQUEUE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_MSGQUEUE, &rl);
        }
}

static void check_private_namespace(void) {
        const char *host = getenv("IPCGC_HOST_IPC_NS");
        struct stat st;

        if (stat("/proc/self/ns/ipc", &st) < 0)
                die("/proc/self/ns/ipc");
        if (!host || !*host || strtoull(host, NULL, 10) == (unsigned long long) st.st_ino) {
                fprintf(stderr, "w1gen: refusing to run outside a private IPC namespace "
                                "(IPCGC_HOST_IPC_NS must name the host's)\n");
                exit(2);
        }
}

static void make_fifo_tree(void) {
        size_t cap = 1 + fan[0] + fan[0] * fan[1] + fan[0] * fan[1] * fan[2];
        char path[4096];

        dirs = calloc(cap, sizeof(*dirs));
        if (!dirs)
                die("calloc");
        dirs[n_dirs++] = strdup(".");
        for (unsigned a = 0; a < fan[0]; a++) {
                snprintf(path, sizeof(path), "a%u", a);
                dirs[n_dirs++] = strdup(path);
                for (unsigned b = 0; b < fan[1]; b++) {
                        snprintf(path, sizeof(path), "a%u/b%u", a, b);
                        dirs[n_dirs++] = strdup(path);
                        for (unsigned c = 0; c < fan[2]; c++) {
                                snprintf(path, sizeof(path), "a%u/b%u/c%u", a, b, c);
                                dirs[n_dirs++] = strdup(path);
                        }
                }
        }
        for (size_t i = 0; i < n_dirs; i++) {
                if (!dirs[i])
                        die("strdup");
                if (i == 0)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", fifo_root, dirs[i]);
                if (mkdir(path, 0755) < 0)
                        die(path);
        }
}

static void make_objects(void) {
        char name[4096];

        for (int t = T_SHM; t <= T_MSG; t++) {
                ids[t] = calloc((size_t) count[t], sizeof(int));
                if (!ids[t])
                        die("calloc");
        }
        for (long j = 0; j < count[T_SHM]; j++)
                if ((ids[T_SHM][j] = shmget((key_t) (KEY_SHM + j), SEG_SIZE, IPC_CREAT | IPC_EXCL | 0600)) < 0)
                        die("shmget");
        for (long j = 0; j < count[T_SEM]; j++) {
                if ((ids[T_SEM][j] = semget((key_t) (KEY_SEM + j), SEMS_PER_SET, IPC_CREAT | IPC_EXCL | 0600)) < 0)
                        die("semget");
                /* A set nobody ever used counts as its creator uid's, which is
                 * alive: an orphan must have been used by a process now gone. */
                struct sembuf op = { .sem_num = (unsigned short) (j % SEMS_PER_SET), .sem_op = 1, .sem_flg = IPC_NOWAIT };
                if (!held(j) && semop(ids[T_SEM][j], &op, 1) < 0)
                        die("semop");
        }
        for (long j = 0; j < count[T_MSG]; j++) {
                if ((ids[T_MSG][j] = msgget((key_t) (KEY_MSG + j), IPC_CREAT | IPC_EXCL | 0600)) < 0)
                        die("msgget");
                struct {
                        long mtype;
                        char text[8];
                } m = { 1, "w1" };
                if (!held(j) && msgsnd(ids[T_MSG][j], &m, 2, IPC_NOWAIT) < 0)
                        die("msgsnd");
        }
        /* About 100 bytes of RLIMIT_MSGQUEUE each. */
        struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 16 };
        for (long j = 0; j < count[T_MQ]; j++) {
                name_of(T_MQ, j, name, sizeof(name));
                mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
                if (q == (mqd_t) -1)
                        die(name);
                if (j % 2 && mq_send(q, "w1", 2, 0) < 0)
                        die("mq_send");
                mq_close(q);
        }
        for (long j = 0; j < count[T_PSHM]; j++) {
                name_of(T_PSHM, j, name, sizeof(name));
                int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
                if (fd < 0 || ftruncate(fd, SEG_SIZE) < 0)
                        die(name);
                close(fd);
        }
        for (long j = 0; j < count[T_PSEM]; j++) {
                name_of(T_PSEM, j, name, sizeof(name));
                sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
                if (s == SEM_FAILED)
                        die(name);
                sem_close(s);
        }
        for (long j = 0; j < count[T_FIFO]; j++) {
                name_of(T_FIFO, j, name, sizeof(name));
                if (mkfifo(name, 0600) < 0)
                        die(name);
        }
}

/* Per process, what it holds: CSR arrays, built in two passes. */
static size_t *first;
static struct item *items;

static void plan(void) {
        size_t total = 0;

        first = calloc((size_t) n_procs + 1, sizeof(*first));
        if (!first)
                die("calloc");
        for (int pass = 0; pass < 2; pass++) {
                size_t *fill = NULL;
                if (pass == 1) {
                        for (long c = 0; c < n_procs; c++)
                                first[c + 1] += first[c];
                        total = first[n_procs];
                        items = calloc(total ? total : 1, sizeof(*items));
                        fill = calloc((size_t) n_procs, sizeof(*fill));
                        if (!items || !fill)
                                die("calloc");
                }
                for (int t = 0; t < N_TYPES; t++)
                        for (long j = 0; j < count[t]; j++) {
                                if (!held(j))
                                        continue;
                                for (unsigned s = 0; s < n_holders((enum type) t, j); s++) {
                                        long c = holder((enum type) t, j, s);
                                        if (pass == 0)
                                                first[c + 1]++;
                                        else
                                                items[first[c] + fill[c]++] =
                                                        (struct item) { .type = (unsigned) t, .slot = s, .j = (unsigned) j };
                                }
                        }
                free(fill);
        }
}

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        int n = 0;

        if (!d)
                return -1;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1; /* the directory's own fd */
}

static int count_lines(const char *path) {
        char buf[65536];
        int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;
        ssize_t k;

        if (fd < 0)
                return -1;
        while ((k = read(fd, buf, sizeof(buf))) > 0)
                for (ssize_t i = 0; i < k; i++)
                        n += buf[i] == '\n';
        close(fd);
        return n;
}

/* Makes fds up to TARGET with the kinds of files real processes hold. */
static int pad_fds(int target, int *have) {
        for (unsigned k = 0; *have < target; k++) {
                int p[2];
                switch (k % 4) {
                case 0:
                        if (open("/dev/null", O_RDONLY) < 0)
                                return -1;
                        ++*have;
                        break;
                case 1:
                        if (*have + 2 > target)
                                continue;
                        if (pipe(p) < 0)
                                return -1;
                        *have += 2;
                        break;
                case 2:
                        if (eventfd(0, 0) < 0)
                                return -1;
                        ++*have;
                        break;
                default:
                        if (*have + 2 > target)
                                continue;
                        if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) < 0)
                                return -1;
                        *have += 2;
                        break;
                }
        }
        return 0;
}

static void send_report(int wfd, const struct report *r) {
        while (write(wfd, r, sizeof(*r)) < 0 && errno == EINTR)
                ;
}

static _Noreturn void child(long c, int wfd) {
        struct report rep = { 0 };
        char name[4096];
        int fds = 3, null;

        /* Nothing of the caller's: its pipes must see EOF when w1gen exits. */
        null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                _exit(1);
        int keep = dup2(wfd, 3);
        if (keep < 0 || close_range(4, ~0U, 0) < 0)
                _exit(1);
        wfd = 3;

        for (size_t i = first[c]; i < first[c + 1] && !rep.err; i++) {
                const struct item *it = &items[i];
                long j = it->j;
                int fd;

                name_of((enum type) it->type, j, name, sizeof(name));
                switch (it->type) {
                case T_SHM:
                        if (shmat(ids[T_SHM][j], NULL, 0) == (void *) -1)
                                goto fail;
                        rep.ipcmaps++;
                        break;
                case T_SEM: {
                        struct sembuf op = { .sem_num = (unsigned short) (j % SEMS_PER_SET), .sem_op = 1, .sem_flg = IPC_NOWAIT };
                        if (semop(ids[T_SEM][j], &op, 1) < 0)
                                goto fail;
                        break;
                }
                case T_MSG: {
                        struct {
                                long mtype;
                                char text[8];
                        } m = { 1, "w1" };
                        if (msgsnd(ids[T_MSG][j], &m, 2, IPC_NOWAIT) < 0)
                                goto fail;
                        break;
                }
                case T_MQ:
                        if (mq_open(name, O_RDONLY | O_NONBLOCK) == (mqd_t) -1)
                                goto fail;
                        fds++;
                        break;
                case T_PSHM: {
                        /* By fd, by mapping, or both. */
                        unsigned how = (unsigned) (j + it->slot) % 3;
                        fd = shm_open(name, O_RDWR, 0);
                        if (fd < 0)
                                goto fail;
                        if (how != 0) {
                                if (mmap(NULL, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED)
                                        goto fail;
                                rep.ipcmaps++;
                        }
                        if (how == 1)
                                close(fd);
                        else
                                fds++;
                        break;
                }
                case T_PSEM:
                        if (sem_open(name, 0) == SEM_FAILED)
                                goto fail;
                        rep.ipcmaps++;
                        break;
                case T_FIFO:
                        if (open(name, O_RDONLY | O_NONBLOCK) < 0)
                                goto fail;
                        fds++;
                        break;
                }
                continue;
        fail:
                rep.err = errno ? errno : EIO;
                snprintf(rep.what, sizeof(rep.what), "%s #%ld (%.60s)", type_name[it->type], j, name);
        }

        /* 24..40 fds, 32 on average, counting 0-2 but not the report pipe. */
        int target = 24 + (int) ((c * 7) % 17);
        if (!rep.err && pad_fds(target, &fds) < 0) {
                rep.err = errno;
                snprintf(rep.what, sizeof(rep.what), "padding fds");
        }
        rep.fds = count_fds() - 1; /* not the report pipe, closed below */
        rep.maps = count_lines("/proc/self/maps");
        send_report(wfd, &rep);
        close(wfd);
        for (;;)
                pause();
}

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void usage(void) {
        fprintf(stderr, "usage: w1gen [--scale F] --fifo DIR\n");
        exit(2);
}

int main(int argc, char **argv) {
        double scale = 1, t0 = now();

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
                        scale = strtod(argv[++i], NULL);
                else if (strcmp(argv[i], "--fifo") == 0 && i + 1 < argc)
                        fifo_root = argv[++i];
                else
                        usage();
        }
        if (!fifo_root || !(scale >= 0.001 && scale <= 4))
                usage();
        check_private_namespace();

        for (int t = 0; t < N_TYPES; t++)
                count[t] = (long) ((double) base_count[t] * scale + 0.5);
        n_procs = (long) (BASE_PROCS * scale + 0.5);
        if (n_procs < MAX_HOLDERS)
                n_procs = MAX_HOLDERS;

        raise_limits();
        make_fifo_tree();
        make_objects();
        plan();
        double t_objects = now();

        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
                die("pipe");
        pid_t *pids = calloc((size_t) n_procs, sizeof(pid_t));
        if (!pids)
                die("calloc");
        fflush(NULL);
        long started = 0;
        for (long c = 0; c < n_procs; c++) {
                pid_t p = fork();
                if (p < 0)
                        break;
                if (p == 0)
                        child(c, pfd[1]);
                pids[started++] = p;
        }
        close(pfd[1]);

        long ready = 0, fds = 0, maps = 0, ipcmaps = 0;
        int failed = started < n_procs;
        if (failed)
                fprintf(stderr, "w1gen: fork #%ld: %s\n", started, strerror(errno));
        while (ready < started) {
                struct pollfd p = { .fd = pfd[0], .events = POLLIN };
                struct report rep;
                int r = poll(&p, 1, 60000);
                if (r <= 0) {
                        fprintf(stderr, "w1gen: %ld of %ld holders ready after 60 s\n", ready, started);
                        failed = 1;
                        break;
                }
                ssize_t k = read(pfd[0], &rep, sizeof(rep));
                if (k == 0)
                        break;
                if (k != (ssize_t) sizeof(rep)) {
                        fprintf(stderr, "w1gen: short report from a holder\n");
                        failed = 1;
                        break;
                }
                ready++;
                if (rep.err) {
                        fprintf(stderr, "w1gen: a holder failed: %s: %s\n", rep.what, strerror(rep.err));
                        failed = 1;
                }
                fds += rep.fds;
                maps += rep.maps;
                ipcmaps += rep.ipcmaps;
        }
        if (ready < started)
                failed = 1;
        if (failed)
                for (long c = 0; c < started; c++)
                        kill(pids[c], SIGKILL);
        free(pids);
        if (failed)
                return 1;

        long held_n[N_TYPES] = { 0 };
        for (int t = 0; t < N_TYPES; t++)
                for (long j = 0; j < count[t]; j++)
                        held_n[t] += held(j);
        printf("w1gen: scale %g: objects in %.2f s, %ld holders ready in %.2f s\n", scale, t_objects - t0, started,
               now() - t_objects);
        for (int t = 0; t < N_TYPES; t++)
                printf("type %s %ld held %ld\n", type_name[t], count[t], held_n[t]);
        printf("dirs fifo %zu\n", n_dirs);
        printf("procs %ld fds %.1f maps %.1f ipcmaps %.1f\n", started, (double) fds / (double) started,
               (double) maps / (double) started, (double) ipcmaps / (double) started);
        return 0;
}
