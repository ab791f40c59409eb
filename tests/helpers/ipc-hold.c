/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ipc-hold: make one IPC object with a known key or name, mode and size, hold
 * it the way a real program would, print "ready ID" and wait for SIGTERM.
 * With -x it exits after making the object (an orphan in the making).
 *
 *   ipc-hold [-x] shm  KEY SIZE MODE      shmget + shmat
 *   ipc-hold [-x] sem  KEY NSEMS MODE     semget + semop on semaphore 0
 *   ipc-hold [-x] msg  KEY BYTES MODE     msgget + msgsnd of BYTES bytes
 *   ipc-hold [-x] mq   NAME BYTES MODE    mq_open + mq_send, fd kept open
 *   ipc-hold [-x] pshm NAME SIZE MODE     shm_open + mmap, fd closed
 *   ipc-hold [-x] psem NAME 0 MODE        sem_open, its mapping kept
 *   ipc-hold [-x] fifo PATH 0 MODE        mkfifo + open for reading
 *   ipc-hold [-x] sem0 KEY NSEMS MODE     semget, never operated on
 *   ipc-hold shmat KEY 0 0                attach an existing segment
 *   ipc-hold semwait KEY 0 0              block in semop waiting on semaphore 1
 *   ipc-hold msgwait KEY 0 0              block in msgrcv for a type nobody sends
 *   ipc-hold mqopen NAME 0 0              mq_open an existing queue, fd kept open
 *   ipc-hold pshmmap NAME SIZE 0          shm_open an existing object and map it, fd closed
 *   ipc-hold psemopen NAME 0 0            sem_open an existing semaphore
 *   ipc-hold opath PATH 0 0               open an existing file O_PATH only, and keep that
 *   ipc-hold mqnotify NAME BYTES MODE     mq_open + mq_notify, fd kept open
 *   ipc-hold fifowait PATH 0 MODE         mkfifo, then a second thread blocks opening it
 *   ipc-hold fifoonce PATH 0 0            block opening an existing FIFO for reading (one thread)
 *   ipc-hold semonce KEY 0 0              block in semop waiting on semaphore 1 (one thread)
 *   ipc-hold msgonce KEY BYTES 0          block in msgrcv of a message of type 2, up to BYTES (one thread)
 *                                         (the three "once" types print "ready", make their
 *                                         call once, retrying it on EINTR as a program must
 *                                         after a stop, print "done ..." and hold)
 *   ipc-hold [-x] semup KEY 0 0           semop +1 on semaphore 1 of an existing set
 *   ipc-hold [-x] msgput KEY BYTES 0      msgsnd one message of type 2 (what msgonce waits for),
 *                                         BYTES of "ipc-hold..."
 *   ipc-hold -T ...                       as without -T, then the main thread exits
 *                                         (pthread_exit) while another thread lives on
 *   ipc-hold shmbusy|sembusy|msgbusy|mqbusy KEY|NAME SIZE MODE
 *                                         make it, then use it in a loop forever
 *   ipc-hold churn RATE VMAS 0            process churn: map VMAS separate pages, then make
 *                                         RATE processes a second, each exiting after 0-40 ms
 *                                         (each with VMAS+ maps lines); on SIGTERM print
 *                                         "forked COUNT USEC" and exit
 *
 * Only ever run inside the test's private IPC/mount/PID namespaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
        fprintf(stderr, "ipc-hold: %s: %s\n", what, strerror(errno));
        exit(1);
}

static unsigned long num(const char *s, int base) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, base);
        if (errno || *end || end == s) {
                fprintf(stderr, "ipc-hold: bad number '%s'\n", s);
                exit(2);
        }
        return v;
}

static void *idle_thread(void *arg) {
        (void) arg;
        for (;;)
                pause();
        return NULL;
}

static void *open_thread(void *arg) {
        /* Blocks in open(2) until a writer comes, which none does. */
        if (open((const char *) arg, O_RDONLY) < 0)
                die("open fifo (thread)");
        for (;;)
                pause();
        return NULL;
}

/* Makes the object, says ready, then uses it without pause: a live user. */
static void busy(const char *type, const char *what, unsigned long size, mode_t mode) {
        if (strcmp(type, "shmbusy") == 0) {
                int id = shmget((key_t) num(what, 0), size, IPC_CREAT | IPC_EXCL | (int) mode);
                if (id < 0)
                        die("shmget");
                printf("ready %d %d\n", id, (int) getpid());
                fflush(stdout);
                for (;;) {
                        void *p = shmat(id, NULL, 0);
                        if (p == (void *) -1)
                                die("shmat");
                        *(volatile char *) p = 1;
                        shmdt(p);
                }
        }
        if (strcmp(type, "sembusy") == 0) {
                int id = semget((key_t) num(what, 0), (int) size, IPC_CREAT | IPC_EXCL | (int) mode);
                if (id < 0)
                        die("semget");
                printf("ready %d %d\n", id, (int) getpid());
                fflush(stdout);
                for (;;) {
                        struct sembuf up = { .sem_num = 0, .sem_op = 1 }, down = { .sem_num = 0, .sem_op = -1 };
                        if (semop(id, &up, 1) < 0 || semop(id, &down, 1) < 0)
                                die("semop");
                }
        }
        if (strcmp(type, "msgbusy") == 0) {
                int id = msgget((key_t) num(what, 0), IPC_CREAT | IPC_EXCL | (int) mode);
                if (id < 0)
                        die("msgget");
                printf("ready %d %d\n", id, (int) getpid());
                fflush(stdout);
                struct {
                        long mtype;
                        char text[64];
                } m = { .mtype = 1 };
                for (;;)
                        if (msgsnd(id, &m, sizeof(m.text), 0) < 0 || msgrcv(id, &m, sizeof(m.text), 0, 0) < 0)
                                die("msgsnd/msgrcv");
        }
        struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 64 };
        mqd_t q = mq_open(what, O_RDWR | O_CREAT | O_EXCL, mode, &attr);
        if (q == (mqd_t) -1)
                die("mq_open");
        printf("ready 0 %d\n", (int) getpid());
        fflush(stdout);
        char buf[64] = "";
        for (;;)
                if (mq_send(q, buf, sizeof(buf), 0) < 0 || mq_receive(q, buf, sizeof(buf), NULL) < 0)
                        die("mq_send/mq_receive");
        (void) size;
}

/* Says ready, makes one blocking call in the only thread, retrying it on
 * EINTR (semop fails so after a stop and SIGCONT), says what it got, then
 * holds until SIGTERM. */
static void once(const char *type, const char *what, unsigned long size) {
        long id = 0;

        if (strcmp(type, "semonce") == 0 && (id = semget((key_t) num(what, 0), 0, 0)) < 0)
                die("semget");
        if (strcmp(type, "msgonce") == 0 && (id = msgget((key_t) num(what, 0), 0)) < 0)
                die("msgget");
        printf("ready %ld %d\n", id, (int) getpid());
        fflush(stdout);

        if (strcmp(type, "fifoonce") == 0) {
                int fd;
                while ((fd = open(what, O_RDONLY | O_CLOEXEC)) < 0)
                        if (errno != EINTR)
                                die("open fifo");
                printf("done open\n");
        } else if (strcmp(type, "semonce") == 0) {
                struct sembuf op = { .sem_num = 1, .sem_op = -1 };
                while (semop((int) id, &op, 1) < 0)
                        if (errno != EINTR)
                                die("semop");
                printf("done semop\n");
        } else {
                struct {
                        long mtype;
                        char text[64];
                } m;
                ssize_t n;
                if (size == 0 || size > sizeof(m.text))
                        size = sizeof(m.text);
                while ((n = msgrcv((int) id, &m, size, 2, 0)) < 0)
                        if (errno != EINTR)
                                die("msgrcv");
                printf("done msgrcv %ld %zd %.*s\n", m.mtype, n, (int) n, m.text);
        }
        fflush(stdout);
        for (;;)
                pause();
}

static volatile sig_atomic_t churn_stop;

static void on_term(int sig) {
        (void) sig;
        churn_stop = 1;
}

static void on_child(int sig) {
        (void) sig; /* only to end the pacing sleep: reap at once */
}

static unsigned long long now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (unsigned long long) ts.tv_sec * 1000000ull + (unsigned long long) ts.tv_nsec / 1000u;
}

#define CHURN_SLOTS 256
#define CHURN_STACK (64 * 1024)

/* A churn child: sleeps its life (in nanoseconds, ARG) and exits.  Raw
 * system calls on a stack of its own, in memory it shares: nothing the
 * sanitizers would track. */
__attribute__((no_sanitize_address, no_sanitize_undefined)) static int churn_child(void *arg) {
        struct timespec ts = { .tv_sec = 0, .tv_nsec = (long) (uintptr_t) arg };
        (void) syscall(SYS_nanosleep, &ts, NULL);
        syscall(SYS_exit, 0);
        return 0;
}

/* Processes that come and go, RATE a second, each long enough to be listed
 * in /proc and read, short enough to exit in the middle of a read: each
 * lives 0 to 40 ms, so some 20 are alive at a time, and is reaped the
 * moment it exits.  Their maps are long (VMAS pages mapped one by one,
 * alternately readable and not so that none merge), which makes each read
 * of them take a while.  They are made with clone(2) and CLONE_VM: each a
 * process of its own (its own pid, /proc/PID, fd table), sharing this one's
 * memory, so that making one copies no page tables; a fork of a sanitized
 * program costs about a millisecond, which would cap the rate. */
static void churn(unsigned long rate, unsigned long vmas) {
        long page = sysconf(_SC_PAGESIZE);
        char *base = mmap(NULL, (size_t) page * (vmas + 1), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED)
                die("mmap");
        for (unsigned long k = 0; k < vmas; k += 2)
                if (mprotect(base + (size_t) page * k, (size_t) page, PROT_NONE) < 0)
                        die("mprotect");
        char *stacks = mmap(NULL, (size_t) CHURN_SLOTS * CHURN_STACK, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stacks == MAP_FAILED)
                die("mmap stacks");
        pid_t slot[CHURN_SLOTS] = { 0 };
        if (rate == 0 || rate > 1000000)
                rate = 1000;

        struct sigaction term = { .sa_handler = on_term }, child = { .sa_handler = on_child };
        if (sigaction(SIGTERM, &term, NULL) < 0 || sigaction(SIGCHLD, &child, NULL) < 0)
                die("sigaction");
        printf("ready 0 %d\n", (int) getpid());
        fflush(stdout);

        unsigned long long start = now_usec(), made = 0;
        unsigned seed = (unsigned) getpid();
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        while (!churn_stop) {
                /* reap; a slot is free once its child is */
                pid_t pid;
                while ((pid = waitpid(-1, NULL, WNOHANG | __WALL)) > 0)
                        for (int k = 0; k < CHURN_SLOTS; k++)
                                if (slot[k] == pid)
                                        slot[k] = 0;
                int k = 0;
                while (k < CHURN_SLOTS && slot[k] != 0)
                        k++;
                if (k == CHURN_SLOTS) {
                        (void) waitpid(-1, NULL, __WALL | WNOWAIT);
                        continue;
                }
                long life_nsec = (long) (rand_r(&seed) % 40000) * 1000;
                pid = clone(churn_child, stacks + (size_t) (k + 1) * CHURN_STACK, CLONE_VM | SIGCHLD,
                            (void *) (uintptr_t) life_nsec);
                if (pid < 0) {
                        if (errno == EAGAIN)
                                continue;
                        die("clone");
                }
                slot[k] = pid;
                made++;
                /* The next one's slot in time; late ones are not made up for.
                 * A child's exit ends the sleep early, to be reaped. */
                next.tv_nsec += (long) (1000000000ul / rate);
                if (next.tv_nsec >= 1000000000) {
                        next.tv_sec++;
                        next.tv_nsec -= 1000000000;
                }
                while (!churn_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
                        while ((pid = waitpid(-1, NULL, WNOHANG | __WALL)) > 0)
                                for (int j = 0; j < CHURN_SLOTS; j++)
                                        if (slot[j] == pid)
                                                slot[j] = 0;
        }
        while (waitpid(-1, NULL, __WALL) > 0)
                ;
        printf("forked %llu %llu\n", made, now_usec() - start);
        fflush(stdout);
        exit(0);
}

int main(int argc, char **argv) {
        bool exit_after = false;
        int i = 1;
        long id = 0;

        bool leader_exits = false;
        for (; i < argc && argv[i][0] == '-' && argv[i][1] && !argv[i][2]; i++) {
                if (argv[i][1] == 'x')
                        exit_after = true;
                else if (argv[i][1] == 'T')
                        leader_exits = true;
                else
                        break;
        }
        if (argc - i != 4) {
                fprintf(stderr, "usage: ipc-hold [-x] TYPE KEY|NAME|PATH SIZE MODE\n");
                return 2;
        }
        const char *type = argv[i], *what = argv[i + 1];
        unsigned long size = num(argv[i + 2], 0);
        mode_t mode = (mode_t) num(argv[i + 3], 8);

        umask(0);

        if (strcmp(type, "shm") == 0) {
                id = shmget((key_t) num(what, 0), size, IPC_CREAT | IPC_EXCL | (int) mode);
                if (id < 0)
                        die("shmget");
                if (shmat((int) id, NULL, 0) == (void *) -1)
                        die("shmat");
        } else if (strcmp(type, "sem") == 0) {
                id = semget((key_t) num(what, 0), (int) size, IPC_CREAT | IPC_EXCL | (int) mode);
                if (id < 0)
                        die("semget");
                struct sembuf op = { .sem_num = 0, .sem_op = 1 };
                if (semop((int) id, &op, 1) < 0)
                        die("semop");
        } else if (strcmp(type, "msg") == 0) {
                id = msgget((key_t) num(what, 0), IPC_CREAT | IPC_EXCL | (int) mode);
                if (id < 0)
                        die("msgget");
                if (size > 0) {
                        struct {
                                long mtype;
                                char text[8192];
                        } m = { .mtype = 1 };
                        if (size > sizeof(m.text))
                                size = sizeof(m.text);
                        if (msgsnd((int) id, &m, size, 0) < 0)
                                die("msgsnd");
                }
        } else if (strcmp(type, "mq") == 0) {
                struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = size > 0 ? (long) size : 16 };
                mqd_t q = mq_open(what, O_RDWR | O_CREAT | O_EXCL, mode, &attr);
                if (q == (mqd_t) -1)
                        die("mq_open");
                if (size > 0) {
                        char *buf = calloc(1, size);
                        if (!buf || mq_send(q, buf, size, 0) < 0)
                                die("mq_send");
                        free(buf);
                }
        } else if (strcmp(type, "pshm") == 0) {
                int fd = shm_open(what, O_RDWR | O_CREAT | O_EXCL, mode);
                if (fd < 0)
                        die("shm_open");
                if (ftruncate(fd, (off_t) size) < 0)
                        die("ftruncate");
                if (size > 0 && mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED)
                        die("mmap");
                close(fd); /* held by the mapping alone */
        } else if (strcmp(type, "psem") == 0) {
                if (sem_open(what, O_CREAT | O_EXCL, mode, 1) == SEM_FAILED)
                        die("sem_open");
        } else if (strcmp(type, "fifo") == 0) {
                if (mkfifo(what, mode) < 0)
                        die("mkfifo");
                if (open(what, O_RDONLY | O_NONBLOCK) < 0)
                        die("open fifo");
        } else if (strcmp(type, "fifowait") == 0) {
                pthread_t t;
                if (mkfifo(what, mode) < 0)
                        die("mkfifo");
                if (pthread_create(&t, NULL, open_thread, (void *) what) != 0)
                        die("pthread_create");
        } else if (strcmp(type, "sem0") == 0) {
                id = semget((key_t) num(what, 0), (int) size, IPC_CREAT | IPC_EXCL | (int) mode);
                if (id < 0)
                        die("semget");
        } else if (strcmp(type, "shmat") == 0) {
                id = shmget((key_t) num(what, 0), 0, 0);
                if (id < 0)
                        die("shmget");
                if (shmat((int) id, NULL, 0) == (void *) -1)
                        die("shmat");
        } else if (strcmp(type, "semwait") == 0) {
                id = semget((key_t) num(what, 0), 0, 0);
                if (id < 0)
                        die("semget");
                printf("ready %ld %d\n", id, (int) getpid());
                fflush(stdout);
                struct sembuf op = { .sem_num = 1, .sem_op = -1 };
                for (;;)
                        if (semop((int) id, &op, 1) < 0 && errno != EINTR)
                                die("semop");
        } else if (strcmp(type, "msgwait") == 0) {
                id = msgget((key_t) num(what, 0), 0);
                if (id < 0)
                        die("msgget");
                printf("ready %ld %d\n", id, (int) getpid());
                fflush(stdout);
                struct {
                        long type;
                        char text[64];
                } m;
                for (;;)
                        if (msgrcv((int) id, &m, sizeof(m.text), 999, 0) < 0 && errno != EINTR)
                                die("msgrcv");
        } else if (strcmp(type, "fifoonce") == 0 || strcmp(type, "semonce") == 0 || strcmp(type, "msgonce") == 0) {
                once(type, what, size);
        } else if (strcmp(type, "semup") == 0) {
                id = semget((key_t) num(what, 0), 0, 0);
                if (id < 0)
                        die("semget");
                struct sembuf op = { .sem_num = 1, .sem_op = 1 };
                if (semop((int) id, &op, 1) < 0)
                        die("semop");
        } else if (strcmp(type, "msgput") == 0) {
                id = msgget((key_t) num(what, 0), 0);
                if (id < 0)
                        die("msgget");
                struct {
                        long mtype;
                        char text[64];
                } m = { .mtype = 2 };
                if (size > sizeof(m.text))
                        size = sizeof(m.text);
                for (size_t k = 0; k < size; k++)
                        m.text[k] = "ipc-hold"[k % 8];
                if (msgsnd((int) id, &m, size, 0) < 0)
                        die("msgsnd");
        } else if (strcmp(type, "churn") == 0) {
                churn(num(what, 0), size);
        } else if (strcmp(type, "mqopen") == 0) {
                if (mq_open(what, O_RDWR) == (mqd_t) -1)
                        die("mq_open");
        } else if (strcmp(type, "pshmmap") == 0) {
                int fd = shm_open(what, O_RDWR, 0);
                if (fd < 0)
                        die("shm_open");
                if (mmap(NULL, size ? size : 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
                        die("mmap");
                close(fd);
        } else if (strcmp(type, "opath") == 0) {
                if (open(what, O_PATH | O_CLOEXEC) < 0)
                        die("open O_PATH");
        } else if (strcmp(type, "psemopen") == 0) {
                if (sem_open(what, 0) == SEM_FAILED)
                        die("sem_open");
        } else if (strcmp(type, "mqnotify") == 0) {
                struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = size > 0 ? (long) size : 16 };
                mqd_t q = mq_open(what, O_RDWR | O_CREAT | O_EXCL, mode, &attr);
                if (q == (mqd_t) -1)
                        die("mq_open");
                struct sigevent ev = { .sigev_notify = SIGEV_NONE };
                if (mq_notify(q, &ev) < 0)
                        die("mq_notify");
        } else if (strncmp(type, "shmbusy", 7) == 0 || strcmp(type, "sembusy") == 0 || strcmp(type, "msgbusy") == 0 ||
                   strcmp(type, "mqbusy") == 0) {
                busy(type, what, size, mode);
        } else {
                fprintf(stderr, "ipc-hold: unknown type '%s'\n", type);
                return 2;
        }

        printf("ready %ld %d\n", id, (int) getpid());
        fflush(stdout);
        if (exit_after)
                return 0;
        if (leader_exits) {
                pthread_t t;
                if (pthread_create(&t, NULL, idle_thread, NULL) != 0)
                        die("pthread_create");
                pthread_exit(NULL); /* the process lives on in t */
        }

        /* Hold until told to stop; SIGTERM's default action ends us. */
        for (;;)
                pause();
}
