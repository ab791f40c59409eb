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
 *   ipc-hold -T ...                       as without -T, then the main thread exits
 *                                         (pthread_exit) while another thread lives on
 *   ipc-hold shmbusy|sembusy|msgbusy|mqbusy KEY|NAME SIZE MODE
 *                                         make it, then use it in a loop forever
 *
 * Only ever run inside the test's private IPC/mount/PID namespaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
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
