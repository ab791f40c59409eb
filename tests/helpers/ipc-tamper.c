/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ipc-tamper: the cast of the blind-spot tests (issue 9, points 6-8): a
 * creator that leaves, a worker that used its objects and stays, a stranger
 * who overwrites the kernel's record of who used them, a quiet live program,
 * and a holder of files another user made.  Each prints one line when its
 * work is done ("ready ..." or "tampered ...") and then exits or waits for
 * SIGTERM, as its mode says.
 *
 *   ipc-tamper create shm KEY SIZE MODE   shmget only, print "ready ID PID", exit
 *   ipc-tamper create sem KEY NSEMS MODE  semget only, print "ready ID PID", exit
 *   ipc-tamper worker SHMID SEMID         shmat/shmdt and semop up/down once each,
 *                                         print "ready PID", then wait doing nothing
 *   ipc-tamper tamper SHMID SEMID         a read-only shmat/shmdt and a wait-for-zero
 *                                         semop with IPC_NOWAIT, then print
 *                                         "tampered LPID SEMPID" as the kernel now
 *                                         records them, exit
 *   ipc-tamper live SHMKEY MSGKEY MODE    shmget (never attached), msgget and one
 *                                         msgsnd, print "ready SHMID MSGID PID", wait
 *   ipc-tamper hold PSHMNAME FIFOPATH     open an existing POSIX shm object (mapped,
 *                                         fd kept) and an existing FIFO (O_RDWR, so
 *                                         it does not block), print "ready PID", wait
 *
 * Only ever run inside the test's private IPC/mount/PID namespaces.
 */
#include <errno.h>
#include <fcntl.h>
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
        fprintf(stderr, "ipc-tamper: %s: %s\n", what, strerror(errno));
        exit(1);
}

static long num(const char *s, int base) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, base);
        if (errno || *end || end == s) {
                fprintf(stderr, "ipc-tamper: bad number '%s'\n", s);
                exit(2);
        }
        return v;
}

static void usage(void) {
        fprintf(stderr, "usage: ipc-tamper create shm|sem KEY SIZE MODE | worker SHMID SEMID | tamper SHMID SEMID |\n"
                        "       live SHMKEY MSGKEY MODE | hold PSHMNAME FIFOPATH\n");
        exit(2);
}

/* SIGTERM's default action ends the wait. */
static void wait_forever(void) {
        for (;;)
                pause();
}

static void create(const char *type, key_t key, long size, int mode) {
        int id;
        if (strcmp(type, "shm") == 0)
                id = shmget(key, (size_t) size, IPC_CREAT | IPC_EXCL | mode);
        else if (strcmp(type, "sem") == 0)
                id = semget(key, (int) size, IPC_CREAT | IPC_EXCL | mode);
        else
                usage();
        if (id < 0)
                die(type);
        printf("ready %d %d\n", id, (int) getpid());
}

/* One use of each, as a program between two bursts of work would leave them:
 * shm lpid and the semaphore's sempid are this process, nothing attached. */
static void worker(int shmid, int semid) {
        void *p = shmat(shmid, NULL, 0);
        if (p == (void *) -1)
                die("shmat");
        *(volatile char *) p = 1;
        if (shmdt(p) < 0)
                die("shmdt");
        struct sembuf up = { .sem_num = 0, .sem_op = 1 }, down = { .sem_num = 0, .sem_op = -1 };
        if (semop(semid, &up, 1) < 0 || semop(semid, &down, 1) < 0)
                die("semop");
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        wait_forever();
}

/* What read permission alone allows: both calls leave this pid in the
 * kernel's record (shm lpid, sempid) without changing anything else. */
static void tamper(int shmid, int semid) {
        void *p = shmat(shmid, NULL, SHM_RDONLY);
        if (p == (void *) -1)
                die("shmat SHM_RDONLY");
        if (shmdt(p) < 0)
                die("shmdt");
        struct sembuf zero = { .sem_num = 0, .sem_op = 0, .sem_flg = IPC_NOWAIT };
        if (semop(semid, &zero, 1) < 0)
                die("semop wait-for-zero");
        struct shmid_ds ds;
        if (shmctl(shmid, IPC_STAT, &ds) < 0)
                die("shmctl IPC_STAT");
        int sempid = semctl(semid, 0, GETPID);
        if (sempid < 0)
                die("semctl GETPID");
        printf("tampered %d %d\n", (int) ds.shm_lpid, sempid);
}

/* A live program that keeps its objects without using them right now: the
 * creator of the shm and the sender of the message, alive, nothing attached. */
static void live(key_t shmkey, key_t msgkey, int mode) {
        int shmid = shmget(shmkey, 4096, IPC_CREAT | IPC_EXCL | mode);
        if (shmid < 0)
                die("shmget");
        int msgid = msgget(msgkey, IPC_CREAT | IPC_EXCL | mode);
        if (msgid < 0)
                die("msgget");
        struct {
                long mtype;
                char text[32];
        } m = { .mtype = 1, .text = "still here" };
        if (msgsnd(msgid, &m, sizeof(m.text), 0) < 0)
                die("msgsnd");
        printf("ready %d %d %d\n", shmid, msgid, (int) getpid());
        fflush(stdout);
        wait_forever();
}

static void hold(const char *pshm, const char *fifo) {
        int fd = shm_open(pshm, O_RDWR | O_CLOEXEC, 0);
        if (fd < 0)
                die("shm_open");
        struct stat st;
        if (fstat(fd, &st) < 0)
                die("fstat");
        if (st.st_size > 0 && mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
                die("mmap");
        if (open(fifo, O_RDWR | O_CLOEXEC) < 0)
                die("open fifo");
        printf("ready %d\n", (int) getpid());
        fflush(stdout);
        wait_forever();
}

int main(int argc, char **argv) {
        if (argc < 2)
                usage();
        const char *mode = argv[1];

        umask(0);
        if (strcmp(mode, "create") == 0 && argc == 6)
                create(argv[2], (key_t) num(argv[3], 0), num(argv[4], 0), (int) num(argv[5], 8));
        else if (strcmp(mode, "worker") == 0 && argc == 4)
                worker((int) num(argv[2], 10), (int) num(argv[3], 10));
        else if (strcmp(mode, "tamper") == 0 && argc == 4)
                tamper((int) num(argv[2], 10), (int) num(argv[3], 10));
        else if (strcmp(mode, "live") == 0 && argc == 5)
                live((key_t) num(argv[2], 0), (key_t) num(argv[3], 0), (int) num(argv[4], 8));
        else if (strcmp(mode, "hold") == 0 && argc == 4)
                hold(argv[2], argv[3]);
        else
                usage();
        return fflush(stdout) == 0 ? 0 : 1;
}
