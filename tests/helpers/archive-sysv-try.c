/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * archive-sysv-try: archive_sysv_save() and archive_sysv_restore() on real
 * objects, for tests/integration/test-archive-sysv.sh.
 *
 *   archive-sysv-try save TYPE ID ENTRYDIR [MAX_BYTES]
 *       mkdir ENTRYDIR (0700), sysv_stat() the object, save it into the
 *       entry file ENTRYDIR/entry (made 0600, O_EXCL: its contents from
 *       TRY_OFFSET on, no manifest written before them, a hole),
 *       write what a restore needs to ENTRYDIR/facts (one "NAME VALUE" a
 *       line: a stand-in for the manifest), and print the contents as
 *       NAME=VALUE lines, then vmhwm_kib=N (this process's peak RSS, from
 *       /proc/self/status).  A failed save leaves ENTRYDIR/entry as the
 *       save left it (no abort), for the test to look at.
 *   archive-sysv-try restore TYPE ENTRYDIR
 *       read ENTRYDIR/facts, open ENTRYDIR/entry as the library opens an
 *       entry (open_entry: as the library a pack, a symlink is ENOENT, anything but a
 *       regular file EBADMSG), restore, print id=N and same_id=0|1
 *
 * A failure prints error=ENAME and exits 1.  Only ever run inside the
 * test's private IPC/mount/PID namespaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "archive-try.h"
#include "ipc_object.h"
#include "sysv.h"

static int fail(int r) {
        const char *name = strerrorname_np(-r);
        printf("error=%s\n", name ? name : "unknown");
        return 1;
}

static unsigned long long num(const char *s) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 0);
        if (errno || *end || end == s) {
                fprintf(stderr, "archive-sysv-try: bad number '%s'\n", s);
                exit(2);
        }
        return v;
}

static long vmhwm_kib(void) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        long kib = -1;

        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

static int do_save(enum ipc_type type, int id, const char *dir, uint64_t max_bytes) {
        struct ipc_object o;
        struct archive_contents c;
        int dfd, efd, r;
        FILE *f;

        if (mkdir(dir, 0700) < 0) {
                perror(dir);
                return 1;
        }
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) {
                perror(dir);
                return 1;
        }
        efd = openat(dfd, "entry", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (efd < 0) {
                perror("entry");
                return 1;
        }
        r = sysv_stat(type, id, &o);
        if (r < 0)
                return fail(r);
        r = archive_sysv_save(&o, &(struct archive_at) { .fd = efd, .offset = TRY_OFFSET, .length = ARCHIVE_TO_END },
                              max_bytes, &c);
        if (r < 0) {
                ipc_object_done(&o);
                return fail(r);
        }

        f = fdopen(openat(dfd, "facts", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600), "w");
        if (!f) {
                perror("facts");
                return 1;
        }
        fprintf(f, "id %d\nkey %" PRId32 "\nuid %u\ngid %u\nmode 0%o\nsize %" PRIu64 "\nnsems %u\nqnum %" PRIu64 "\n",
                o.id, o.key, (unsigned) o.uid, (unsigned) o.gid, (unsigned) o.mode, o.size, o.nsems, o.qnum);
        fprintf(f, "bytes %" PRIu64 "\nmessages %" PRIu64 "\nvalues %u\nhugetlb %d\nlocked %d\n", c.bytes, c.messages,
                c.values, c.hugetlb, c.locked);
        if (fclose(f) != 0) {
                perror("facts");
                return 1;
        }
        ipc_object_done(&o);
        if (close(efd) < 0) {
                perror("entry");
                return 1;
        }

        printf("bytes=%" PRIu64 "\nmessages=%" PRIu64 "\nvalues=%u\nhugetlb=%d\nlocked=%d\nvmhwm_kib=%ld\n", c.bytes,
               c.messages, c.values, c.hugetlb, c.locked, vmhwm_kib());
        return 0;
}

static int do_restore(enum ipc_type type, const char *dir) {
        struct ipc_object o = { .type = type, .cpid = PID_NONE, .lpid = PID_NONE, .lrpid = PID_NONE };
        struct archive_contents c = {};
        char name[32];
        long long v;
        int dfd, fd, r, id;
        bool same;
        FILE *f;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) {
                perror(dir);
                return 1;
        }
        fd = openat(dfd, "facts", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        f = fd < 0 ? NULL : fdopen(fd, "r");
        if (!f) {
                perror("facts");
                return 1;
        }
        while (fscanf(f, "%31s %lli", name, &v) == 2) {
                if (strcmp(name, "id") == 0)
                        o.id = (int) v;
                else if (strcmp(name, "key") == 0)
                        o.key = (int32_t) v;
                else if (strcmp(name, "uid") == 0)
                        o.uid = (uid_t) v;
                else if (strcmp(name, "gid") == 0)
                        o.gid = (gid_t) v;
                else if (strcmp(name, "mode") == 0)
                        o.mode = (mode_t) v;
                else if (strcmp(name, "size") == 0)
                        o.size = (uint64_t) v;
                else if (strcmp(name, "nsems") == 0)
                        o.nsems = (unsigned) v;
                else if (strcmp(name, "qnum") == 0)
                        o.qnum = (uint64_t) v;
                else if (strcmp(name, "bytes") == 0)
                        c.bytes = (uint64_t) v;
                else if (strcmp(name, "messages") == 0)
                        c.messages = (uint64_t) v;
                else if (strcmp(name, "values") == 0)
                        c.values = (unsigned) v;
                else if (strcmp(name, "hugetlb") == 0)
                        c.hugetlb = v != 0;
                else if (strcmp(name, "locked") == 0)
                        c.locked = v != 0;
        }
        fclose(f);

        struct archive_at at;
        r = open_entry_at(dfd, &at);
        if (r < 0)
                return fail(r);
        r = archive_sysv_restore(&o, &at, &c, &id, &same);
        (void) close(at.fd);
        if (r < 0)
                return fail(r);
        printf("id=%d\nsame_id=%d\n", id, same);
        return 0;
}

int main(int argc, char **argv) {
        int type;

        if (argc < 4)
                goto usage;
        type = ipc_type_from_string(argv[2]);
        if (type < 0 || !ipc_type_is_sysv(type))
                goto usage;
        if (strcmp(argv[1], "save") == 0 && (argc == 5 || argc == 6))
                return do_save(type, (int) num(argv[3]), argv[4], argc == 6 ? num(argv[5]) : UINT64_MAX);
        if (strcmp(argv[1], "restore") == 0 && argc == 4)
                return do_restore(type, argv[3]);
usage:
        fprintf(stderr, "usage: archive-sysv-try save shm|msg|sem ID ENTRYDIR [MAX_BYTES]\n"
                        "       archive-sysv-try restore shm|msg|sem ENTRYDIR\n");
        return 2;
}
