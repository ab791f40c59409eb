/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * archive-posix-try: drive lib/archive_posix.c by hand, for
 * tests/integration/test-archive-posix.sh.  DIR is the directory the
 * object's name lives in (the mqueue mount, /dev/shm, the FIFO's
 * directory), BASE its name there (psem: "sem.NAME").  The object is read
 * as the collector reads it (mqfs_read_one for a queue, fstatat and
 * ipc_object_set_stat for a file); the facts restore needs, which the
 * manifest will keep, are written to ENTRYDIR/facts as "key value" lines.
 * ENTRYDIR is a directory (it must exist) holding facts and the entry file
 * ENTRYDIR/entry: save makes it (0600, O_EXCL) and writes the contents into
 * it from TRY_OFFSET on (no manifest before them: a hole);
 * putback and restore open it as the library opens an entry
 * (open_entry: as the library a pack, a symlink is ENOENT, anything but a regular file
 * EBADMSG).  A failed save leaves ENTRYDIR/entry as the save left it.
 *
 *   archive-posix-try save TYPE DIR BASE ENTRYDIR [MAXBYTES]
 *   archive-posix-try putback DIR BASE ENTRYDIR        (mq: after a save)
 *   archive-posix-try restore TYPE DIR BASE ENTRYDIR
 *   archive-posix-try semmake NAME VALUE MODE          sem_open + sem_post VALUE times, closed
 *   archive-posix-try semvalue NAME                    prints sem_getvalue
 *   archive-posix-try mqmake NAME MAXMSG MSGSIZE MODE PRIO:TEXT...
 *   archive-posix-try mqread NAME                      receives every message: "PRIO:TEXT PRIO:TEXT...",
 *                                                      then "attr MAXMSG MSGSIZE"
 *
 * save, putback and restore print "ok" or the error's name (ESTALE...) and
 * exit 0 or 1; save also prints "taken" when messages left the queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <mqueue.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "archive-try.h"
#include "mqfs.h"

static int usage(void) {
        fprintf(stderr, "usage: see tests/helpers/archive-posix-try.c\n");
        return 2;
}

static int result(int r) {
        if (r < 0) {
                const char *n = strerrorname_np(-r);
                printf("%s\n", n ? n : "E?");
                return 1;
        }
        printf("ok\n");
        return 0;
}

static int open_dir(const char *path) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "%s: %m\n", path);
                exit(2);
        }
        return fd;
}

/* Makes the entry file ENTRYDIR/entry of the entry directory EDFD, for a save. */
static int create_entry(int edfd) {
        int fd = openat(edfd, "entry", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        return fd < 0 ? -errno : fd;
}

static int read_object(enum ipc_type type, int dfd, const char *base, struct ipc_object *o) {
        struct stat st;

        *o = (struct ipc_object) { .type = type, .id = -1, .cpid = PID_NONE, .lpid = PID_NONE, .lrpid = PID_NONE };
        if (type == IPC_TYPE_MQ)
                return mqfs_read_one(dfd, base, NULL, o);
        if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        ipc_object_set_stat(o, &st);
        return 0;
}

static int write_facts(int edfd, const struct ipc_object *o, const struct archive_contents *c) {
        int fd = openat(edfd, "facts", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        FILE *f = fdopen(fd, "w");
        if (!f)
                return -errno;
        fprintf(f, "uid %u\ngid %u\nmode %o\nsize %" PRIu64 "\ndev %" PRIu64 "\nino %" PRIu64 "\n", o->uid, o->gid,
                (unsigned) o->mode, o->size, (uint64_t) o->dev, (uint64_t) o->ino);
        fprintf(f, "bytes %" PRIu64 "\nmessages %" PRIu64 "\nmq_maxmsg %ld\nmq_msgsize %ld\nsparse %d\n", c->bytes,
                c->messages, c->mq_maxmsg, c->mq_msgsize, c->sparse);
        return fclose(f) < 0 ? -errno : 0;
}

static int read_facts(int edfd, enum ipc_type type, struct ipc_object *o, struct archive_contents *c) {
        int fd = openat(edfd, "facts", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        FILE *f = fdopen(fd, "r");
        if (!f)
                return -errno;
        *o = (struct ipc_object) { .type = type, .id = -1, .cpid = PID_NONE, .lpid = PID_NONE, .lrpid = PID_NONE };
        *c = (struct archive_contents) {};
        char key[32];
        unsigned long long v;
        long l;
        while (fscanf(f, "%31s", key) == 1) {
                if (strcmp(key, "mode") == 0 && fscanf(f, "%llo", &v) == 1)
                        o->mode = (mode_t) v;
                else if ((strcmp(key, "mq_maxmsg") == 0 || strcmp(key, "mq_msgsize") == 0) && fscanf(f, "%ld", &l) == 1)
                        *(strcmp(key, "mq_maxmsg") == 0 ? &c->mq_maxmsg : &c->mq_msgsize) = l;
                else if (fscanf(f, "%llu", &v) == 1) {
                        if (strcmp(key, "uid") == 0)
                                o->uid = (uid_t) v;
                        else if (strcmp(key, "gid") == 0)
                                o->gid = (gid_t) v;
                        else if (strcmp(key, "size") == 0)
                                o->size = v;
                        else if (strcmp(key, "dev") == 0)
                                o->dev = (dev_t) v;
                        else if (strcmp(key, "ino") == 0)
                                o->ino = (ino_t) v;
                        else if (strcmp(key, "bytes") == 0)
                                c->bytes = v;
                        else if (strcmp(key, "messages") == 0)
                                c->messages = v;
                        else if (strcmp(key, "sparse") == 0)
                                c->sparse = v;
                } else
                        break;
        }
        fclose(f);
        return 0;
}

static int cmd_save(int argc, char **argv) {
        struct ipc_object o;
        struct archive_contents c = {};
        bool taken = false;
        int t, r;

        if (argc < 6)
                return usage();
        t = ipc_type_from_string(argv[2]);
        if (t < 0)
                return usage();
        int dfd = open_dir(argv[3]), edfd = open_dir(argv[5]);
        uint64_t max = argc > 6 ? strtoull(argv[6], NULL, 0) : UINT64_MAX;
        int efd = create_entry(edfd);
        if (efd < 0)
                return result(efd);
        r = read_object(t, dfd, argv[4], &o);
        if (r < 0) {
                free(o.name);
                return result(r);
        }
        /* A symlink planted after the read: the test puts it there between
         * the collector's view and the save, as a racing user would. */
        const char *plant = getenv("ARCHIVE_TRY_PLANT");
        if (plant) {
                (void) unlinkat(dfd, argv[4], 0);
                if (symlinkat(plant, dfd, argv[4]) < 0)
                        return result(-errno);
        }
        r = archive_posix_save(&o, dfd, argv[4], &(struct archive_at) { .fd = efd, .offset = TRY_OFFSET, .length = ARCHIVE_TO_END },
                               max, &c, &taken);
        if (close(efd) < 0 && r >= 0)
                r = -errno;
        free(o.name); /* the only thing the reader allocated */
        o.name = NULL;
        if (taken)
                printf("taken\n");
        if (r >= 0)
                r = write_facts(edfd, &o, &c);
        return result(r);
}

static int cmd_putback(int argc, char **argv) {
        struct ipc_object o;
        struct archive_contents c;
        if (argc < 5)
                return usage();
        int dfd = open_dir(argv[2]), edfd = open_dir(argv[4]);
        int r = read_facts(edfd, IPC_TYPE_MQ, &o, &c);
        if (r < 0)
                return result(r);
        struct archive_at at;
        r = open_entry_at(edfd, &at);
        if (r < 0)
                return result(r);
        return result(archive_posix_putback(&o, dfd, argv[3], &at));
}

static int cmd_restore(int argc, char **argv) {
        struct ipc_object o;
        struct archive_contents c;
        if (argc < 6)
                return usage();
        int t = ipc_type_from_string(argv[2]);
        if (t < 0)
                return usage();
        int dfd = open_dir(argv[3]), edfd = open_dir(argv[5]);
        int r = read_facts(edfd, t, &o, &c);
        if (r < 0)
                return result(r);
        struct archive_at at;
        r = open_entry_at(edfd, &at);
        if (r < 0)
                return result(r);
        return result(archive_posix_restore(&o, dfd, argv[4], &at, &c));
}

static int cmd_semmake(int argc, char **argv) {
        if (argc < 5)
                return usage();
        sem_t *s = sem_open(argv[2], O_CREAT | O_EXCL, (mode_t) strtoul(argv[4], NULL, 8), 0);
        if (s == SEM_FAILED)
                return perror("sem_open"), 1;
        for (long i = strtol(argv[3], NULL, 10); i > 0; i--)
                if (sem_post(s) < 0)
                        return perror("sem_post"), 1;
        return sem_close(s) < 0;
}

static int cmd_semvalue(int argc, char **argv) {
        int v;
        if (argc < 3)
                return usage();
        sem_t *s = sem_open(argv[2], 0);
        if (s == SEM_FAILED)
                return perror("sem_open"), 1;
        if (sem_getvalue(s, &v) < 0)
                return perror("sem_getvalue"), 1;
        printf("%d\n", v);
        return 0;
}

static int cmd_mqmake(int argc, char **argv) {
        if (argc < 6)
                return usage();
        struct mq_attr a = { .mq_maxmsg = strtol(argv[3], NULL, 10), .mq_msgsize = strtol(argv[4], NULL, 10) };
        mqd_t q = mq_open(argv[2], O_WRONLY | O_CREAT | O_EXCL, (mode_t) strtoul(argv[5], NULL, 8), &a);
        if (q < 0)
                return perror("mq_open"), 1;
        for (int i = 6; i < argc; i++) {
                char *colon = strchr(argv[i], ':');
                if (!colon)
                        return usage();
                if (mq_send(q, colon + 1, strlen(colon + 1), (unsigned) strtoul(argv[i], NULL, 10)) < 0)
                        return perror("mq_send"), 1;
        }
        return mq_close(q) < 0;
}

static int cmd_mqread(int argc, char **argv) {
        struct mq_attr a;
        if (argc < 3)
                return usage();
        mqd_t q = mq_open(argv[2], O_RDONLY | O_NONBLOCK);
        if (q < 0)
                return perror("mq_open"), 1;
        if (mq_getattr(q, &a) < 0)
                return perror("mq_getattr"), 1;
        char *buf = malloc((size_t) a.mq_msgsize);
        if (!buf)
                return 1;
        const char *sep = "";
        for (;;) {
                unsigned prio;
                ssize_t n = mq_receive(q, buf, (size_t) a.mq_msgsize, &prio);
                if (n < 0) {
                        if (errno == EAGAIN)
                                break;
                        return perror("mq_receive"), 1;
                }
                printf("%s%u:%.*s", sep, prio, (int) n, buf);
                sep = " ";
        }
        printf("\nattr %ld %ld\n", a.mq_maxmsg, a.mq_msgsize);
        free(buf);
        return 0;
}

int main(int argc, char **argv) {
        if (argc < 2)
                return usage();
        if (strcmp(argv[1], "save") == 0)
                return cmd_save(argc, argv);
        if (strcmp(argv[1], "putback") == 0)
                return cmd_putback(argc, argv);
        if (strcmp(argv[1], "restore") == 0)
                return cmd_restore(argc, argv);
        if (strcmp(argv[1], "semmake") == 0)
                return cmd_semmake(argc, argv);
        if (strcmp(argv[1], "semvalue") == 0)
                return cmd_semvalue(argc, argv);
        if (strcmp(argv[1], "mqmake") == 0)
                return cmd_mqmake(argc, argv);
        if (strcmp(argv[1], "mqread") == 0)
                return cmd_mqread(argc, argv);
        return usage();
}
