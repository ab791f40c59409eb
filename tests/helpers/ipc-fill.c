/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ipc-fill: make one IPC object with known contents, print its SysV id (0
 * for the others) and exit: its creator is gone, an orphan in the making.
 * Also reads an mq's messages back, for a test to compare.
 *
 *   ipc-fill shm  KEY SIZE MODE          shmget, bytes i % 251 written through shmat
 *   ipc-fill msg  KEY MODE TEXT...       msgget, one message per TEXT, of type 1, 2, ...
 *   ipc-fill sem  KEY MODE VALUE...      semget of as many semaphores, SETALL to the values,
 *                                        then semop +1 and -1 on semaphore 0
 *   ipc-fill mq   NAME MODE PRIO:TEXT... mq_open (maxmsg 8, msgsize 256), one message per
 *                                        argument, TEXT of priority PRIO, sent in order
 *   ipc-fill pshm NAME SIZE MODE         shm_open, bytes i % 251 written
 *   ipc-fill psem NAME VALUE MODE        sem_open with VALUE
 *   ipc-fill mqdrain NAME                receive every message (O_NONBLOCK), each printed
 *                                        as "PRIO TEXT" on a line
 *
 * Only ever run inside the test's private IPC/mount/PID namespaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
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

struct message {
        long mtype;
        char mtext[];
};

union semun {
        int val;
        struct semid_ds *buf;
        unsigned short *array;
};

static void die(const char *what) {
        fprintf(stderr, "ipc-fill: %s: %s\n", what, strerror(errno));
        exit(1);
}

static unsigned long num(const char *s, int base) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(s, &end, base);
        if (errno || *end || end == s) {
                fprintf(stderr, "ipc-fill: bad number '%s'\n", s);
                exit(2);
        }
        return v;
}

static void pattern(unsigned char *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                p[i] = (unsigned char) (i % 251);
}

static void usage(void) {
        fprintf(stderr, "usage: ipc-fill shm|msg|sem|mq|pshm|psem|mqdrain ARGS... (see the source)\n");
        exit(2);
}

int main(int argc, char **argv) {
        if (argc < 3)
                usage();
        const char *type = argv[1], *what = argv[2];

        if (strcmp(type, "mqdrain") == 0) {
                mqd_t q = mq_open(what, O_RDONLY | O_NONBLOCK);
                struct mq_attr attr;
                if (q == (mqd_t) -1)
                        die("mq_open");
                if (mq_getattr(q, &attr) < 0)
                        die("mq_getattr");
                char *buf = malloc((size_t) attr.mq_msgsize + 1);
                if (!buf)
                        die("malloc");
                for (;;) {
                        unsigned prio;
                        ssize_t n = mq_receive(q, buf, (size_t) attr.mq_msgsize, &prio);
                        if (n < 0) {
                                if (errno == EAGAIN)
                                        break;
                                die("mq_receive");
                        }
                        buf[n] = 0;
                        printf("%u %s\n", prio, buf);
                }
                free(buf);
                return 0;
        }
        if (argc < 4)
                usage();

        if (strcmp(type, "shm") == 0 || strcmp(type, "pshm") == 0) {
                if (argc != 5)
                        usage();
                size_t size = num(argv[3], 0);
                mode_t mode = (mode_t) num(argv[4], 8);
                unsigned char *p;
                int id = 0;
                if (type[0] == 's') {
                        id = shmget((key_t) num(what, 0), size, IPC_CREAT | IPC_EXCL | (int) mode);
                        if (id < 0)
                                die("shmget");
                        p = shmat(id, NULL, 0);
                        if (p == (void *) -1)
                                die("shmat");
                        pattern(p, size);
                        if (shmdt(p) < 0)
                                die("shmdt");
                } else {
                        int fd = shm_open(what, O_RDWR | O_CREAT | O_EXCL, mode);
                        if (fd < 0)
                                die("shm_open");
                        if (fchmod(fd, mode) < 0 || ftruncate(fd, (off_t) size) < 0)
                                die("fchmod/ftruncate");
                        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                        if (p == MAP_FAILED)
                                die("mmap");
                        pattern(p, size);
                        if (munmap(p, size) < 0 || close(fd) < 0)
                                die("munmap/close");
                }
                printf("%d\n", id);
                return 0;
        }
        if (strcmp(type, "msg") == 0) {
                mode_t mode = (mode_t) num(argv[3], 8);
                int id = msgget((key_t) num(what, 0), IPC_CREAT | IPC_EXCL | (int) mode);
                if (id < 0)
                        die("msgget");
                for (int i = 4; i < argc; i++) {
                        size_t n = strlen(argv[i]);
                        struct message *m = malloc(sizeof(*m) + n + 1);
                        if (!m)
                                die("malloc");
                        m->mtype = i - 3;
                        memcpy(m->mtext, argv[i], n);
                        if (msgsnd(id, m, n, IPC_NOWAIT) < 0)
                                die("msgsnd");
                        free(m);
                }
                printf("%d\n", id);
                return 0;
        }
        if (strcmp(type, "sem") == 0) {
                mode_t mode = (mode_t) num(argv[3], 8);
                int nsems = argc - 4;
                if (nsems < 1)
                        usage();
                int id = semget((key_t) num(what, 0), nsems, IPC_CREAT | IPC_EXCL | (int) mode);
                if (id < 0)
                        die("semget");
                unsigned short *v = calloc((size_t) nsems, sizeof(*v));
                if (!v)
                        die("calloc");
                for (int i = 0; i < nsems; i++)
                        v[i] = (unsigned short) num(argv[4 + i], 10);
                if (semctl(id, 0, SETALL, (union semun){ .array = v }) < 0)
                        die("semctl SETALL");
                /* Operated on once, leaving the values as they are: a set
                 * never operated on is judged by its owner's liveness. */
                struct sembuf up = { .sem_num = 0, .sem_op = 1 }, down = { .sem_num = 0, .sem_op = -1 };
                if (semop(id, &up, 1) < 0 || semop(id, &down, 1) < 0)
                        die("semop");
                free(v);
                printf("%d\n", id);
                return 0;
        }
        if (strcmp(type, "mq") == 0) {
                mode_t mode = (mode_t) num(argv[3], 8);
                struct mq_attr attr = { .mq_maxmsg = 8, .mq_msgsize = 256 };
                mqd_t q = mq_open(what, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK, mode, &attr);
                if (q == (mqd_t) -1)
                        die("mq_open");
                for (int i = 4; i < argc; i++) {
                        char *colon = strchr(argv[i], ':');
                        if (!colon)
                                usage();
                        *colon = 0;
                        if (mq_send(q, colon + 1, strlen(colon + 1), (unsigned) num(argv[i], 10)) < 0)
                                die("mq_send");
                }
                if (mq_close(q) < 0)
                        die("mq_close");
                printf("0\n");
                return 0;
        }
        if (strcmp(type, "psem") == 0) {
                if (argc != 5)
                        usage();
                sem_t *s = sem_open(what, O_CREAT | O_EXCL, (mode_t) num(argv[4], 8), (unsigned) num(argv[3], 10));
                if (s == SEM_FAILED)
                        die("sem_open");
                if (sem_close(s) < 0)
                        die("sem_close");
                printf("0\n");
                return 0;
        }
        usage();
        return 2;
}
