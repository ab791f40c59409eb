/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The /proc parsers of proctab.c, proctab_build() over a fake proc tree made
 * in a temporary directory, one walk for several IPC namespaces over it
 * (proctab_build_many, proctab_view, collect_holders_many), and one pass
 * over the real /proc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "holder_index.h"
#include "macro.h"
#include "proctab.h"

/* Field k (1-based, as proc(5) numbers them) of a 52-field stat line is
 * 1000 + k unless set here, so an off-by-one picks a wrong, visible value. */
static char *make_stat(const char *pid, const char *comm, char state, unsigned long flags,
                       unsigned long long starttime) {
        char *s = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&s, &len);

        assert_non_null(m);
        fprintf(m, "%s (%s) %c", pid, comm, state);
        for (int k = 4; k <= 52; k++) {
                if (k == 8)
                        fputs(" -1", m); /* tpgid: -1 without a terminal */
                else if (k == 9)
                        fprintf(m, " %lu", flags);
                else if (k == 22)
                        fprintf(m, " %llu", starttime);
                else
                        fprintf(m, " %d", 1000 + k);
        }
        fputc('\n', m);
        assert_int_equal(fclose(m), 0);
        return s;
}

static size_t count_fields_after_comm(const char *s) {
        size_t n = 2; /* pid and comm */
        const char *p = strrchr(s, ')') + 1;

        while (*p) {
                p += strspn(p, " \n");
                if (!*p)
                        break;
                n++;
                p += strcspn(p, " \n");
        }
        return n;
}

static void check_stat(const char *comm) {
        _cleanup_free_ char *text = make_stat("123", comm, 'S', 0x00400140, 987654321ULL);
        char got[17];
        char state = 0;
        unsigned flags = 0;
        uint64_t start = 0;

        assert_int_equal(count_fields_after_comm(text), 52);
        assert_int_equal(proctab_parse_stat(text, got, &state, &flags, &start), 0);
        assert_string_equal(got, comm);
        assert_int_equal(state, 'S');
        assert_int_equal(flags, 0x00400140);
        assert_int_equal(start, 987654321ULL);
}

static void test_parse_stat(void **state) {
        check_stat("bash");
        check_stat("a) b"); /* a ')' and a space inside */
        check_stat("(sd-pam)");
        check_stat("x) R 1 2 3 4");    /* looks like the fields that follow */
        check_stat("abcdefghijklmno"); /* 15 bytes: TASK_COMM_LEN - 1 */
        check_stat("kworker/0:1H");
        check_stat("");
}

static void test_parse_stat_kthread_zombie(void **state) {
        _cleanup_free_ char *kt = make_stat("2", "kthreadd", 'S', 0x00208040, 0);
        _cleanup_free_ char *z = make_stat("77", "defunct", 'Z', 0x00400144, UINT64_C(18446744073709551615));
        char comm[17];
        char st;
        unsigned flags;
        uint64_t start;

        assert_int_equal(proctab_parse_stat(kt, comm, &st, &flags, &start), 0);
        assert_string_equal(comm, "kthreadd");
        assert_int_equal(flags & 0x00200000u, 0x00200000u); /* PF_KTHREAD */
        assert_int_equal(start, 0);

        assert_int_equal(proctab_parse_stat(z, comm, &st, &flags, &start), 0);
        assert_int_equal(st, 'Z');
        assert_int_equal(start, UINT64_MAX);
}

static void test_parse_stat_bad(void **state) {
        _cleanup_free_ char *good = make_stat("5", "ok", 'R', 1, 2);
        _cleanup_free_ char *short_line = strndup(good, (size_t) (strstr(good, " 1021 ") - good)); /* 20 fields */
        _cleanup_free_ char *bad_number = strdup(good);
        const char *bad[] = {
                "",
                "123",
                "123 (no close paren S 1 2 3",
                "123 no open paren) S 1 2 3",
                "123 )backwards( S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
                "123 (x)",
                short_line,
                bad_number,
        };

        assert_non_null(short_line);
        assert_non_null(bad_number);
        memcpy(strstr(bad_number, " 1010 "), " 10x0 ", 6); /* field 10 */

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char comm[17] = "untouched";
                char st = '?';
                unsigned flags = 77;
                uint64_t start = 88;

                if (proctab_parse_stat(bad[i], comm, &st, &flags, &start) != -EBADMSG)
                        fail_msg("\"%s\" was accepted", bad[i]);
                assert_string_equal(comm, "untouched");
                assert_int_equal(st, '?');
                assert_int_equal(flags, 77);
                assert_int_equal(start, 88);
        }
}

static void test_parse_own_stat(void **state) {
        char buf[4096], comm[17], expect[16], st;
        unsigned flags;
        uint64_t start;
        ssize_t n;
        int fd;

        fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        n = read(fd, buf, sizeof(buf) - 1);
        assert_true(n > 0);
        buf[n] = 0;
        (void) close(fd);

        snprintf(expect, sizeof(expect), "%s", program_invocation_short_name);
        assert_int_equal(proctab_parse_stat(buf, comm, &st, &flags, &start), 0);
        assert_string_equal(comm, expect);
        assert_int_equal(st, 'R');
        assert_int_equal(flags & 0x00200000u, 0);
        assert_true(start > 0);
}

static void check_unit(const char *text, const char *want) {
        char *unit = (char *) "sentinel";

        assert_int_equal(proctab_parse_cgroup_unit(text, &unit), 0);
        if (want)
                assert_string_equal(unit, want);
        else
                assert_null(unit);
        free(unit);
}

static void test_parse_cgroup_unit(void **state) {
        check_unit("0::/system.slice/foo.service\n", "foo.service");
        check_unit("0::/system.slice/foo.service", "foo.service"); /* no newline */
        check_unit("0::/user.slice/user-1000.slice/user@1000.service/app.slice/bar.service\n", "bar.service");
        check_unit("0::/user.slice/user-1000.slice/session-3.scope\n", "session-3.scope");
        check_unit("0::/init.scope\n", "init.scope");
        /* a sub-cgroup a service made for itself */
        check_unit("0::/system.slice/foo.service/payload\n", "foo.service");
        check_unit("0::/system.slice/docker-0123abcd.scope/init\n", "docker-0123abcd.scope");
        check_unit("0::/\n", NULL);
        check_unit("0::/system.slice\n", NULL);
        check_unit("0::/user.slice/.service\n", NULL); /* a suffix alone names no unit */
        check_unit("", NULL);
        /* legacy (v1 only): systemd's own name=systemd hierarchy names the
         * unit; controller hierarchies never do */
        check_unit("12:pids:/system.slice/foo.service\n"
                   "3:cpu,cpuacct:/system.slice/foo.service\n"
                   "1:name=systemd:/system.slice/foo.service\n",
                   "foo.service");
        check_unit("12:pids:/system.slice/foo.service\n"
                   "3:cpu,cpuacct:/system.slice/foo.service\n",
                   NULL);
        /* hybrid with an empty unified line: name=systemd still says */
        check_unit("1:name=systemd:/system.slice/bar.service\n"
                   "0::/\n",
                   "bar.service");
        /* hybrid: v1 lines, then the unified one */
        check_unit("12:pids:/system.slice/wrong.service\n"
                   "1:name=systemd:/system.slice/wrong.service\n"
                   "0::/system.slice/right.service\n",
                   "right.service");
}

static void check_maps(const char *line, dev_t dev, ino_t ino, bool sysv) {
        dev_t d = 12345;
        ino_t i = 12345;
        bool s = !sysv;

        if (proctab_parse_maps_line(line, &d, &i, &s) != 0)
                fail_msg("\"%s\" was refused", line);
        assert_int_equal(major(d), major(dev));
        assert_int_equal(minor(d), minor(dev));
        assert_int_equal(i, ino);
        assert_int_equal(s, sysv);
}

static void test_parse_maps_line(void **state) {
        check_maps("7f2c4a000000-7f2c4a028000 r--p 00000000 fd:01 1835017                    "
                   "/usr/lib/x86_64-linux-gnu/libc.so.6\n",
                   makedev(0xfd, 0x01), 1835017, false);
        check_maps("55d0c8e6e000-55d0c8e8f000 r-xp 00002000 103:05 4194305 /usr/bin/a b (deleted)",
                   makedev(0x103, 0x05), 4194305, false);
        check_maps("7f2c4b000000-7f2c4b100000 rw-s 00000000 00:01 32769                      "
                   "/SYSV0000abcd (deleted)\n",
                   makedev(0, 1), 32769, true);
        check_maps("7f2c4b000000-7f2c4b100000 r--s 00000000 00:01 0 /SYSV00000000 (deleted)\n", makedev(0, 1), 0, true);
        /* memfd and /dev/shm files are not SysV */
        check_maps("7f2c4b000000-7f2c4b100000 rw-s 00000000 00:1b 77 /dev/shm/SYSVlookalike\n", makedev(0, 0x1b), 77,
                   false);
        /* anonymous mappings: inode 0, with or without a name or a trailing space */
        check_maps("7ffd1c9e0000-7ffd1ca01000 rw-p 00000000 00:00 0                          [stack]\n", makedev(0, 0),
                   0, false);
        check_maps("7f2c4a200000-7f2c4a300000 rw-p 00000000 00:00 0 \n", makedev(0, 0), 0, false);
        check_maps("7f2c4a200000-7f2c4a300000 rw-p 00000000 00:00 0\n", makedev(0, 0), 0, false);
        check_maps("7f2c4a200000-7f2c4a300000 rw-p 00000000 00:00 0", makedev(0, 0), 0, false);
}

static void test_parse_maps_line_bad(void **state) {
        const char *bad[] = {
                "",
                "\n",
                "garbage",
                "7f2c4a000000-7f2c4a028000 r--p 00000000",
                "7f2c4a000000-7f2c4a028000 r--p 00000000 fd01 1835017 /usr/lib/libc.so.6",
                "7f2c4a000000-7f2c4a028000 r--p 00000000 fd:01",
                "7f2c4a000000-7f2c4a028000 r--p 00000000 fd:01x 1835017 /x",
                "7f2c4a000000-7f2c4a028000 r--p 00000000 fd:01 18x35017 /x",
                "7f2c4a000000-7f2c4a028000 r--p 00000000 zz:01 1835017 /x",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                dev_t d;
                ino_t ino;
                bool sysv;

                if (proctab_parse_maps_line(bad[i], &d, &ino, &sysv) >= 0)
                        fail_msg("\"%s\" was accepted", bad[i]);
        }
}

/* As the kernel prints /proc/TID/syscall: in a call, in none, running. */
static void test_parse_syscall(void **state) {
        uint64_t a[6] = { 9, 9, 9, 9, 9, 9 };
        long nr = 99;

        assert_int_equal(proctab_parse_syscall("257 0xffffff9c 0x563015e3202f 0x0 0x0 0x0 0x7fb3bb53c740 "
                                               "0x7ffc1d182910 0x7fb3bb637011\n",
                                               &nr, a),
                         0);
        assert_int_equal(nr, 257);
        assert_int_equal(a[0], 0xffffff9c);
        assert_int_equal(a[1], 0x563015e3202full);
        assert_int_equal(a[2], 0);
        assert_int_equal(a[5], 0x7fb3bb53c740ull);

        assert_int_equal(proctab_parse_syscall("70 0x1 0x7ffc1d1829e0 0x40 0x3e7 0x0 0x7fb3bb53c740 0x7ffc1d182988 "
                                               "0x7fb3bb64a3d3",
                                               &nr, a),
                         0);
        assert_int_equal(nr, 70);
        assert_int_equal(a[0], 1);
        assert_int_equal(a[3], 0x3e7);

        /* stopped in its own code (a busy loop, a breakpoint): no call */
        assert_int_equal(proctab_parse_syscall("-1 0x7ffc1d182990 0x563015e31825\n", &nr, a), 0);
        assert_int_equal(nr, -1);
        for (int i = 0; i < 6; i++)
                assert_int_equal(a[i], 0);

        /* running: nothing to tell, nothing touched */
        nr = 99;
        a[0] = 9;
        assert_int_equal(proctab_parse_syscall("running\n", &nr, a), -EAGAIN);
        assert_int_equal(proctab_parse_syscall("running", &nr, a), -EAGAIN);
        assert_int_equal(nr, 99);
        assert_int_equal(a[0], 9);

        const char *bad[] = {
                "",
                "\n",
                "x",
                "runningx",
                "257",
                "257 0x1 0x2 0x3 0x4 0x5",
                "257x 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
                "-2 0x1 0x2",
                "99999999999999999999999 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (proctab_parse_syscall(bad[i], &nr, a) != -EBADMSG)
                        fail_msg("\"%s\" was accepted", bad[i]);
                assert_int_equal(nr, 99);
                assert_int_equal(a[0], 9);
        }
}

/* What the wchans read on 6.x (see tests/integration/test-stopped.sh):
 * do_signal_stop for SIGSTOP, ptrace_stop under a tracer, get_signal in the
 * cgroup v2 freezer (do_freezer_trap inlined), __refrigerator in the v1
 * one.  Stopped threads are looked at for either kind of call asked about,
 * and only then. */
static void test_wchan_stopped(void **state) {
        const char *stopped[] = {
                "do_signal_stop",
                "ptrace_stop",
                "do_freezer_trap",
                "get_signal",
                "__refrigerator",
                "do_jobctl_trap",
                "do_signal_stop.constprop.0",
                "ptrace_stop.part.0",
        };
        const char *not_stopped[] = {
                "0",
                "",
                "do_signal_stopx",
                "ptrace",
                "get_signal_",
                "refrigerator",
                "hrtimer_nanosleep",
                "__do_sys_pause",
                "wait_for_partner",
                "do_msgrcv",
                "__do_semtimedop",
        };

        for (size_t i = 0; i < ELEMENTSOF(stopped); i++) {
                if (!proctab_wchan_stopped(stopped[i]))
                        fail_msg("%s: not taken for stopped", stopped[i]);
                assert_true(proctab_wchan_wanted(stopped[i], PROCTAB_FIFO_OPENERS));
                assert_true(proctab_wchan_wanted(stopped[i], PROCTAB_IPC_WAITERS));
                assert_true(proctab_wchan_wanted(stopped[i], PROCTAB_FIFO_OPENERS | PROCTAB_IPC_WAITERS));
                assert_false(proctab_wchan_wanted(stopped[i], PROCTAB_FDS | PROCTAB_MAPS | PROCTAB_UIDS));
                assert_false(proctab_wchan_wanted(stopped[i], 0));
        }
        for (size_t i = 0; i < ELEMENTSOF(not_stopped); i++)
                if (proctab_wchan_stopped(not_stopped[i]))
                        fail_msg("%s: taken for stopped", not_stopped[i]);

        /* the blocked calls themselves, each for what it is */
        assert_true(proctab_wchan_wanted("wait_for_partner", PROCTAB_FIFO_OPENERS));
        assert_false(proctab_wchan_wanted("wait_for_partner", PROCTAB_IPC_WAITERS));
        assert_true(proctab_wchan_wanted("do_msgrcv", PROCTAB_IPC_WAITERS));
        assert_false(proctab_wchan_wanted("do_msgrcv", PROCTAB_FIFO_OPENERS));
        assert_false(proctab_wchan_wanted("0", PROCTAB_FIFO_OPENERS | PROCTAB_IPC_WAITERS));
        assert_false(proctab_wchan_wanted("hrtimer_nanosleep", PROCTAB_FIFO_OPENERS | PROCTAB_IPC_WAITERS));
}

/* ---- a fake proc tree ------------------------------------------------- */

struct fake {
        char root[64];
        char target[96]; /* a real file the fake processes hold */
        struct stat target_st;
};

static void put(const struct fake *f, const char *rel, const char *text) {
        _cleanup_free_ char *path = NULL;
        FILE *o;

        assert_true(asprintf(&path, "%s/%s", f->root, rel) >= 0);
        o = fopen(path, "we");
        assert_non_null(o);
        assert_true(fputs(text, o) >= 0);
        assert_int_equal(fclose(o), 0);
}

static void mkdir_rel(const struct fake *f, const char *rel) {
        _cleanup_free_ char *path = NULL;

        assert_true(asprintf(&path, "%s/%s", f->root, rel) >= 0);
        assert_int_equal(mkdir(path, 0755), 0);
}

static void symlink_rel(const struct fake *f, const char *to, const char *rel) {
        _cleanup_free_ char *path = NULL;

        assert_true(asprintf(&path, "%s/%s", f->root, rel) >= 0);
        assert_int_equal(symlink(to, path), 0);
}

static void status_with_uid(const struct fake *f, const char *pid, const char *uids) {
        _cleanup_free_ char *rel = NULL, *text = NULL;

        assert_true(asprintf(&rel, "%s/status", pid) >= 0);
        assert_true(asprintf(&text,
                             "Name:\tx\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%s\nNgid:\t0\nPid:\t%s\n"
                             "PPid:\t1\nTracerPid:\t0\n%s%s%sGid:\t0\t0\t0\t0\nFDSize:\t64\n",
                             pid, pid, uids ? "Uid:\t" : "", strempty(uids), uids ? "\n" : "") >= 0);
        put(f, rel, text);
}

/* A process directory: stat, status and optionally cgroup, fd/ and maps. */
static void fake_process(const struct fake *f, const char *pid, const char *comm, char state, unsigned long flags,
                         unsigned long long starttime, const char *uids, const char *cgroup, bool fd_and_maps) {
        _cleanup_free_ char *stat = make_stat(pid, comm, state, flags, starttime), *rel = NULL;

        mkdir_rel(f, pid);
        assert_true(asprintf(&rel, "%s/stat", pid) >= 0);
        put(f, rel, stat);
        status_with_uid(f, pid, uids);
        if (cgroup) {
                free(rel);
                assert_true(asprintf(&rel, "%s/cgroup", pid) >= 0);
                put(f, rel, cgroup);
        }
        if (fd_and_maps) {
                free(rel);
                assert_true(asprintf(&rel, "%s/fd", pid) >= 0);
                mkdir_rel(f, rel);
                free(rel);
                assert_true(asprintf(&rel, "%s/maps", pid) >= 0);
                put(f, rel, "");
        }
}

#define PF_KTHREAD 0x00200000ul

static int setup_fake(void **state) {
        struct fake *f = calloc(1, sizeof(*f));
        _cleanup_free_ char *maps42 = NULL;
        int fd;

        if (!f)
                return -1;
        strcpy(f->root, "/tmp/test_proctab.XXXXXX");
        if (!mkdtemp(f->root))
                return -1;
        *state = f;

        /* The held file lives outside the fake tree's pid directories. */
        snprintf(f->target, sizeof(f->target), "%s/target", f->root);
        fd = open(f->target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || fstat(fd, &f->target_st) < 0)
                return -1;
        (void) close(fd);

        /* 42: a user process in a user service; holds target through two fds
         * and a mapping, and attaches SysV segment 32769. */
        fake_process(f, "42", "my (odd) name", 'S', 0x00400100, 500, "1000\t1001\t1000\t1001",
                     "0::/user.slice/user-1000.slice/user@1000.service/app.slice/bar.service\n", true);
        symlink_rel(f, f->target, "42/fd/3");
        symlink_rel(f, f->target, "42/fd/4");
        symlink_rel(f, "/dev/null", "42/fd/5");
        assert_true(asprintf(&maps42,
                             "5600aa000000-5600aa001000 r--p 00000000 %02x:%02x %llu %s\n"
                             "7f0000000000-7f0000100000 rw-s 00000000 00:01 32769 /SYSV0000abcd (deleted)\n"
                             "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n"
                             "not a maps line\n",
                             major(f->target_st.st_dev), minor(f->target_st.st_dev),
                             (unsigned long long) f->target_st.st_ino, f->target) >= 0);
        put(f, "42/maps", maps42);

        /* 43: root, a system service; attaches the same segment */
        fake_process(f, "43", "worker", 'R', 0x00400040, 600, "0\t0\t0\t0",
                     "12:pids:/system.slice/foo.service\n0::/system.slice/foo.service\n", true);
        put(f, "43/maps",
            "7f0000000000-7f0000100000 rw-s 00000000 00:01 32769 /SYSV0000abcd (deleted)\n"
            "7f0000200000-7f0000300000 r--s 00000000 00:01 0 /SYSV00001234 (deleted)\n");

        /* 7: a zombie and 2: a kernel thread; what they seem to hold is not theirs */
        fake_process(f, "7", "defunct", 'Z', 0x00400044, 100, "1000\t1000\t1000\t1000", "0::/\n", true);
        symlink_rel(f, f->target, "7/fd/3");
        fake_process(f, "2", "kthreadd", 'S', PF_KTHREAD | 0x8040, 0, "0\t0\t0\t0", "0::/\n", true);
        symlink_rel(f, f->target, "2/fd/3");
        put(f, "2/maps", "7f0000000000-7f0000100000 rw-s 00000000 00:01 32769 /SYSV0000abcd (deleted)\n");

        /* 44: no cgroup file, no fd/ or maps: gone by the time they are read */
        fake_process(f, "44", "lone", 'S', 0x00400000, 700, "5\t5\t5\t5", NULL, false);

        /* Not processes, or processes that vanished or cannot be read */
        /* 99 has no stat: it exited */
        mkdir_rel(f, "99");
        /* 100's stat cannot be parsed */
        mkdir_rel(f, "100");
        put(f, "100/stat", "100 (broken\n");
        /* 101's status has no Uid: line */
        fake_process(f, "101", "nouid", 'S', 0, 1, NULL, "0::/\n", true);
        mkdir_rel(f, "sys");
        mkdir_rel(f, "1x");
        mkdir_rel(f, "0");
        symlink_rel(f, "42", "self");
        put(f, "uptime", "1.00 2.00\n");
        return 0;
}

/* A thread TID of fake process PID whose wchan and syscall read so. */
static void fake_thread(const struct fake *f, const char *pid, const char *tid, const char *wchan,
                        const char *syscall) {
        _cleanup_free_ char *dir = NULL, *w = NULL, *sc = NULL;

        assert_true(asprintf(&dir, "%s/task/%s", pid, tid) >= 0);
        assert_true(asprintf(&w, "%s/wchan", dir) >= 0);
        assert_true(asprintf(&sc, "%s/syscall", dir) >= 0);
        mkdir_rel(f, dir);
        put(f, w, wchan);
        put(f, sc, syscall);
}

/* What fake stopped threads open: the paths their syscall lines point at
 * (in our own memory: the fake process is this one, whose memory
 * process_vm_readv reads). */
static char stopped_abs[96], stopped_rel[] = "stopped-fifo";

static int setup_fake_stopped(void **state) {
        _cleanup_free_ char *me = NULL, *task = NULL, *sc_abs = NULL, *sc_rel = NULL, *cwd = NULL;
        int r = setup_fake(state);
        struct fake *f = *state;

        if (r < 0)
                return r;
        /* num_threads (field 20) reads 1020 in these stat lines: each
         * thread is looked at through task/. */
        fake_process(f, "50", "stopped", 'T', 0x00400000, 800, "0\t0\t0\t0", NULL, true);
        mkdir_rel(f, "50/task");
        /* SIGSTOP in semop on set 5, a tracer's stop in msgrcv on queue 7 */
        fake_thread(f, "50", "50", "do_signal_stop", "220 0x5 0x7ffe0 0x1 0x0 0x0 0x7f00 0x7ffd 0x7f01\n");
        fake_thread(f, "50", "51", "ptrace_stop", "70 0x7 0x7ffe0 0x40 0x3e7 0x0 0x7f00 0x7ffd 0x7f01\n");
        /* stopped in its own code, and in clock_nanosleep(CLOCK_REALTIME
         * = 0, ...): neither waits on set or queue 0 */
        fake_thread(f, "50", "52", "do_signal_stop", "-1 0x7ffc1d182990 0x563015e31825\n");
        fake_thread(f, "50", "53", "get_signal", "230 0x0 0x0 0x7ffe 0x0 0x0 0x7f00 0x7ffd 0x7f01\n");
        /* a frozen msgsnd on queue 8, a running thread */
        fake_thread(f, "50", "54", "__refrigerator.isra.0", "69 0x8 0x7ffe0 0x40 0x0 0x0 0x7f00 0x7ffd 0x7f01\n");
        fake_thread(f, "50", "55", "0", "running\n");

        /* Let go while looked at: syscall reads "running" while wchan
         * still reads stopped (a fake cannot move on): unknown. */
        fake_process(f, "60", "letgo", 'T', 0x00400000, 900, "0\t0\t0\t0", NULL, true);
        mkdir_rel(f, "60/task");
        fake_thread(f, "60", "60", "do_signal_stop", "running\n");

        /* This process, stopped in two open(2)s of FIFOs: an absolute path
         * (through its root) and one relative to its cwd. */
        assert_true(asprintf(&me, "%d", (int) getpid()) >= 0);
        fake_process(f, me, "me", 'T', 0x00400000, 1000, "0\t0\t0\t0", NULL, true);
        assert_true(asprintf(&task, "%s/task", me) >= 0);
        mkdir_rel(f, task);
        free(task);
        assert_true(asprintf(&task, "%s/root", me) >= 0);
        symlink_rel(f, "/", task);
        free(task);
        assert_true(asprintf(&task, "%s/cwd", me) >= 0);
        symlink_rel(f, f->root, task);
        snprintf(stopped_abs, sizeof(stopped_abs), "%s/%s", f->root, stopped_rel);
        if (mkfifo(stopped_abs, 0600) < 0)
                return -1;
        assert_true(asprintf(&sc_abs, "257 0xffffff9c 0x%llx 0x0 0x0 0x0 0x7f00 0x7ffd 0x7f01\n",
                             (unsigned long long) (uintptr_t) stopped_abs) >= 0);
        assert_true(asprintf(&sc_rel, "2 0x%llx 0x0 0x0 0x0 0x0 0x7f00 0x7ffd 0x7f01\n",
                             (unsigned long long) (uintptr_t) stopped_rel) >= 0);
        fake_thread(f, me, "1", "do_signal_stop", sc_abs);
        fake_thread(f, me, "2", "ptrace_stop", sc_rel);
        return 0;
}

static int rm_rf_at(int dfd, const char *name) {
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d;
        int r = 0;

        if (fd < 0)
                return unlinkat(dfd, name, 0);
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return -1;
        }
        for (struct dirent *de; (de = readdir(d));)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && rm_rf_at(dirfd(d), de->d_name) < 0)
                        r = -1;
        (void) closedir(d);
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0)
                r = -1;
        return r;
}

static int teardown_fake(void **state) {
        struct fake *f = *state;
        int r;

        if (!f)
                return 0;
        r = rm_rf_at(AT_FDCWD, f->root);
        free(f);
        return r;
}

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        assert_int_equal(clock_gettime(clock, &ts), 0);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void test_build_fake(void **state) {
        const struct fake *f = *state;
        _cleanup_(proctab_freep) struct proctab *t = NULL;
        const struct process *p;
        uint64_t ticks = (uint64_t) sysconf(_SC_CLK_TCK);
        uint64_t boot = now_usec(CLOCK_REALTIME) - now_usec(CLOCK_BOOTTIME);

        assert_int_equal(proctab_build(f->root, NULL, PROCTAB_CGROUP | PROCTAB_UIDS, &t), 0);

        /* 2 7 42 43 44: sorted; 99, 100, 101 and the non-pids left out */
        assert_int_equal(t->n_procs, 5);
        const pid_t want[] = { 2, 7, 42, 43, 44 };
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                assert_int_equal(t->procs[i].pid, want[i]);
        assert_int_equal(t->n_fd_unreadable, 0);
        assert_int_equal(t->n_maps_unreadable, 0);
        assert_null(proctab_find(t, 99));
        assert_null(proctab_find(t, 100));
        assert_null(proctab_find(t, 101));
        assert_null(proctab_find(t, 0));
        assert_null(proctab_find(t, -1));
        assert_null(proctab_find(t, 45));

        p = proctab_find(t, 42);
        assert_non_null(p);
        assert_int_equal(p->pid, 42);
        assert_string_equal(p->comm, "my (odd) name");
        assert_int_equal(p->ruid, 1000);
        assert_int_equal(p->euid, 1001);
        assert_string_equal(p->unit, "bar.service");
        assert_int_equal(p->flags, 0);

        p = proctab_find(t, 43);
        assert_non_null(p);
        assert_string_equal(p->comm, "worker");
        assert_int_equal(p->ruid, 0);
        assert_string_equal(p->unit, "foo.service");
        assert_int_equal(p->flags, 0);

        p = proctab_find(t, 7);
        assert_non_null(p);
        assert_int_equal(p->flags, PROCESS_ZOMBIE);
        assert_null(p->unit);

        p = proctab_find(t, 2);
        assert_non_null(p);
        assert_string_equal(p->comm, "kthreadd");
        assert_int_equal(p->flags, PROCESS_KTHREAD);

        p = proctab_find(t, 44);
        assert_non_null(p);
        assert_int_equal(p->ruid, 5);
        assert_null(p->unit); /* no cgroup file */

        /* start_usec = boot time + starttime ticks */
        const struct process *p2 = proctab_find(t, 2), *p7 = proctab_find(t, 7), *p42 = proctab_find(t, 42);
        assert_true(p2->start_usec + 1000000 > boot && p2->start_usec < boot + 1000000);
        assert_int_equal(p7->start_usec - p2->start_usec, 100 * 1000000 / ticks);
        assert_int_equal(p42->start_usec - p2->start_usec, 500 * 1000000 / ticks);
}

static void test_build_fake_holders(void **state) {
        const struct fake *f = *state;
        _cleanup_(proctab_freep) struct proctab *t = NULL;
        _cleanup_(holder_index_freep) struct holder_index *idx = NULL;
        const pid_t *pids;
        size_t n;

        assert_int_equal(holder_index_new(4, &idx), 0);
        assert_int_equal(holder_index_want(idx, f->target_st.st_dev, f->target_st.st_ino), 0);
        assert_int_equal(holder_index_want(idx, HOLDER_DEV_SYSV_SHM, 32769), 0);
        assert_int_equal(holder_index_want(idx, HOLDER_DEV_SYSV_SHM, 32770), 0);
        assert_int_equal(holder_index_want(idx, HOLDER_DEV_SYSV_SHM, 0), 0);

        assert_int_equal(proctab_build(f->root, idx, PROCTAB_FDS | PROCTAB_MAPS | PROCTAB_UIDS, &t), 0);

        /* 44 has no fd/: it exited during the pass, so it is left out */
        assert_int_equal(t->n_procs, 4);
        assert_null(proctab_find(t, 44));
        assert_non_null(proctab_find(t, 42));
        assert_null(proctab_find(t, 42)->unit); /* PROCTAB_CGROUP not asked for */

        /* Two fds and one mapping in 42: one holder.  The zombie and the
         * kernel thread hold nothing. */
        pids = holder_index_get(idx, f->target_st.st_dev, f->target_st.st_ino, &n);
        assert_int_equal(n, 1);
        assert_int_equal(pids[0], 42);

        /* The SysV mapping is keyed by shmid; directory order decides who is
         * first. */
        pids = holder_index_get(idx, HOLDER_DEV_SYSV_SHM, 32769, &n);
        assert_int_equal(n, 2);
        assert_true((pids[0] == 42 && pids[1] == 43) || (pids[0] == 43 && pids[1] == 42));

        /* shmid 0 is a segment like any other, though its "inode" is 0 */
        pids = holder_index_get(idx, HOLDER_DEV_SYSV_SHM, 0, &n);
        assert_int_equal(n, 1);
        assert_int_equal(pids[0], 43);

        pids = holder_index_get(idx, HOLDER_DEV_SYSV_SHM, 32770, &n);
        assert_int_equal(n, 0);
        assert_null(pids);
}

static void test_build_fake_stopped(void **state) {
        const struct fake *f = *state;
        _cleanup_(proctab_freep) struct proctab *t = NULL;
        _cleanup_(holder_index_freep) struct holder_index *idx = NULL;
        struct stat fifo;
        const pid_t *pids;
        size_t n;

        assert_int_equal(stat(stopped_abs, &fifo), 0);
        assert_int_equal(holder_index_new(8, &idx), 0);
        for (ino_t id = 0; id <= 8; id++) {
                assert_int_equal(holder_index_want(idx, HOLDER_DEV_SYSV_SEM, id), 0);
                assert_int_equal(holder_index_want(idx, HOLDER_DEV_SYSV_MSG, id), 0);
        }
        assert_int_equal(holder_index_want(idx, fifo.st_dev, fifo.st_ino), 0);

        assert_int_equal(proctab_build(f->root, idx, PROCTAB_FIFO_OPENERS | PROCTAB_IPC_WAITERS, &t), 0);

        pids = holder_index_get(idx, HOLDER_DEV_SYSV_SEM, 5, &n);
        assert_int_equal(n, 1);
        assert_int_equal(pids[0], 50);
        pids = holder_index_get(idx, HOLDER_DEV_SYSV_MSG, 7, &n);
        assert_int_equal(n, 1);
        assert_int_equal(pids[0], 50);
        pids = holder_index_get(idx, HOLDER_DEV_SYSV_MSG, 8, &n);
        assert_int_equal(n, 1);
        assert_int_equal(pids[0], 50);
        /* nothing waits on 0 (nor on anything not named) */
        assert_null(holder_index_get(idx, HOLDER_DEV_SYSV_SEM, 0, &n));
        assert_null(holder_index_get(idx, HOLDER_DEV_SYSV_MSG, 0, &n));
        assert_null(holder_index_get(idx, HOLDER_DEV_SYSV_SEM, 7, &n));
        assert_null(holder_index_get(idx, HOLDER_DEV_SYSV_MSG, 5, &n));
        assert_int_equal(proctab_find(t, 50)->flags, 0);

        /* both opens of the FIFO, by path and relative to the cwd: one
         * holder, recorded back to back */
        pids = holder_index_get(idx, fifo.st_dev, fifo.st_ino, &n);
        assert_int_equal(n, 1);
        assert_int_equal(pids[0], getpid());
        assert_int_equal(proctab_find(t, getpid())->flags, 0);

        /* let go while looked at: what it does is unknown, of both kinds */
        assert_int_equal(proctab_find(t, 60)->flags, PROCESS_FIFO_OPEN_UNKNOWN | PROCESS_IPC_WAIT_UNKNOWN);
        assert_int_equal(t->n_fifo_open_unknown, 1);
        assert_int_equal(t->n_ipc_wait_unknown, 1);
}

/* Only what is asked for is looked at: a stopped open(2) is no waiter of a
 * SysV object, a stopped semop(2) no opener. */
static void test_build_fake_stopped_asked(void **state) {
        const struct fake *f = *state;
        _cleanup_(holder_index_freep) struct holder_index *idx = NULL;
        struct stat fifo;
        size_t n;

        assert_int_equal(stat(stopped_abs, &fifo), 0);
        assert_int_equal(holder_index_new(4, &idx), 0);
        assert_int_equal(holder_index_want(idx, HOLDER_DEV_SYSV_SEM, 5), 0);
        assert_int_equal(holder_index_want(idx, fifo.st_dev, fifo.st_ino), 0);

        _cleanup_(proctab_freep) struct proctab *t1 = NULL;
        assert_int_equal(proctab_build(f->root, idx, PROCTAB_IPC_WAITERS, &t1), 0);
        assert_non_null(holder_index_get(idx, HOLDER_DEV_SYSV_SEM, 5, &n));
        assert_null(holder_index_get(idx, fifo.st_dev, fifo.st_ino, &n));
        assert_int_equal(proctab_find(t1, 60)->flags, PROCESS_IPC_WAIT_UNKNOWN);

        holder_index_free(TAKE_PTR(idx));
        assert_int_equal(holder_index_new(4, &idx), 0);
        assert_int_equal(holder_index_want(idx, HOLDER_DEV_SYSV_SEM, 5), 0);
        assert_int_equal(holder_index_want(idx, fifo.st_dev, fifo.st_ino), 0);
        _cleanup_(proctab_freep) struct proctab *t2 = NULL;
        assert_int_equal(proctab_build(f->root, idx, PROCTAB_FIFO_OPENERS, &t2), 0);
        assert_null(holder_index_get(idx, HOLDER_DEV_SYSV_SEM, 5, &n));
        assert_non_null(holder_index_get(idx, fifo.st_dev, fifo.st_ino, &n));
        assert_int_equal(proctab_find(t2, 60)->flags, PROCESS_FIFO_OPEN_UNKNOWN);
}

static void test_build_missing_root(void **state) {
        struct proctab sentinel, *t = &sentinel;

        assert_int_equal(proctab_build("/nonexistent/proc", NULL, 0, &t), -ENOENT);
        assert_ptr_equal(t, &sentinel);
}

/* ---- the real /proc --------------------------------------------------- */

static void test_build_real_proc(void **state) {
        _cleanup_(proctab_freep) struct proctab *t = NULL;
        const struct process *me;
        char comm[16];
        uint64_t now;

        assert_int_equal(proctab_build("/proc", NULL, PROCTAB_CGROUP | PROCTAB_UIDS, &t), 0);
        now = now_usec(CLOCK_REALTIME);

        assert_true(t->n_procs >= 1);
        for (size_t i = 1; i < t->n_procs; i++)
                assert_true(t->procs[i - 1].pid < t->procs[i].pid);

        me = proctab_find(t, getpid());
        assert_non_null(me);
        assert_int_equal(me->pid, getpid());
        assert_int_equal(me->ruid, getuid());
        assert_int_equal(me->euid, geteuid());
        snprintf(comm, sizeof(comm), "%s", program_invocation_short_name);
        assert_string_equal(me->comm, comm);
        assert_int_equal(me->flags & (PROCESS_ZOMBIE | PROCESS_KTHREAD), 0);
        /* started moments ago; the tick and the clock difference are far
         * inside a minute */
        assert_true(me->start_usec <= now + 1000000);
        assert_true(me->start_usec + 60 * 1000000ULL >= now);
        if (me->unit) {
                size_t l = strlen(me->unit);
                assert_true((l > 8 && strcmp(me->unit + l - 8, ".service") == 0) ||
                            (l > 6 && strcmp(me->unit + l - 6, ".scope") == 0));
        }
}

/* ---- one walk for several IPC namespaces ------------------------------ */

/* "Namespaces" for the fake tree: every namespace is an inode of nsfs, so
 * the uts and net namespaces stand in for other IPC ones: ns/ipc of a
 * fake process links to one of them. */
static uint64_t ns_ino(const char *name) {
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
        assert_int_equal(stat(path, &st), 0);
        return (uint64_t) st.st_ino;
}

/* A process PID whose ns/ipc is /proc/self/ns/NS (NULL: none, unknown),
 * holding the target file, attached to SysV segment SHMID, and blocked in
 * semop(2) on set SEMID (-1: not blocked; -2: let go while looked at). */
static void fake_ns_process(const struct fake *f, const char *pid, const char *ns, int shmid, int semid) {
        _cleanup_free_ char *rel = NULL, *maps = NULL, *to = NULL, *sc = NULL;

        fake_process(f, pid, "nsproc", 'S', 0x00400000, 500, "1000\t1000\t1000\t1000", "0::/system.slice/x.service\n",
                     true);
        if (ns) {
                assert_true(asprintf(&rel, "%s/ns", pid) >= 0);
                mkdir_rel(f, rel);
                free(rel);
                assert_true(asprintf(&rel, "%s/ns/ipc", pid) >= 0);
                assert_true(asprintf(&to, "/proc/self/ns/%s", ns) >= 0);
                symlink_rel(f, to, rel);
        }
        free(rel);
        assert_true(asprintf(&rel, "%s/fd/3", pid) >= 0);
        symlink_rel(f, f->target, rel);
        free(rel);
        assert_true(asprintf(&rel, "%s/maps", pid) >= 0);
        assert_true(asprintf(&maps, "7f0000000000-7f0000100000 rw-s 00000000 00:01 %d /SYSV0000abcd (deleted)\n",
                             shmid) >= 0);
        put(f, rel, maps);
        free(rel);
        assert_true(asprintf(&rel, "%s/task", pid) >= 0);
        mkdir_rel(f, rel);
        if (semid == -2)
                fake_thread(f, pid, pid, "do_signal_stop", "running\n");
        else if (semid >= 0) {
                assert_true(asprintf(&sc, "220 0x%x 0x7ffe0 0x1 0x0 0x0 0x7f00 0x7ffd 0x7f01\n", semid) >= 0);
                fake_thread(f, pid, pid, "__do_semtimedop", sc);
        }
}

static int setup_fake_ns(void **state) {
        int r = setup_fake(state);
        const struct fake *f = *state;

        if (r < 0)
                return r;
        /* 44 and 101 "exit" while looked at, one at its maps, the other at
         * its status: a walk that reads those sees them go, one that does
         * not sees them live, which is timing, not what a view is about. */
        int dfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -1;
        r = rm_rf_at(dfd, "44") < 0 || rm_rf_at(dfd, "101") < 0 ? -1 : 0;
        (void) close(dfd);
        if (r < 0)
                return r;
        /* 70 in our own namespace (slot 0), 71 in the "uts" one (slot 1),
         * 72 in "net", which is not listed; 73's namespace cannot be read;
         * 74, in "uts", was let go while looked at: what it waits on is
         * unknown.  Each attaches a segment 5 and waits on a set 3 of its
         * own namespace (73: segment 6, no wait). */
        fake_ns_process(f, "70", "ipc", 5, 3);
        fake_ns_process(f, "71", "uts", 5, 3);
        fake_ns_process(f, "72", "net", 5, 3);
        fake_ns_process(f, "73", NULL, 6, -1);
        fake_ns_process(f, "74", "uts", 7, -2);
        return 0;
}

static void want_sysv(struct holder_index *idx, size_t n_slots) {
        for (size_t slot = 0; slot < n_slots; slot++)
                for (unsigned id = 3; id <= 7; id++) {
                        assert_int_equal(holder_index_want(idx, HOLDER_DEV_SYSV_SHM, holder_sysv_ino(slot, id)), 0);
                        assert_int_equal(holder_index_want(idx, HOLDER_DEV_SYSV_SEM, holder_sysv_ino(slot, id)), 0);
                }
}

/* The pids recorded under a key, sorted, as "70 73". */
static const char *pids_of(const struct holder_index *idx, dev_t dev, ino_t ino) {
        static char buf[128];
        pid_t sorted[16];
        size_t n, used = 0;
        const pid_t *pids = holder_index_get(idx, dev, ino, &n);

        assert_true(n <= ELEMENTSOF(sorted));
        for (size_t i = 0; i < n; i++) {
                size_t k = i;
                for (; k > 0 && sorted[k - 1] > pids[i]; k--)
                        sorted[k] = sorted[k - 1];
                sorted[k] = pids[i];
        }
        buf[0] = 0;
        for (size_t i = 0; i < n; i++)
                used += (size_t) snprintf(buf + used, sizeof(buf) - used, "%s%d", i ? " " : "", (int) sorted[i]);
        return buf;
}

static void test_build_many_keys(void **state) {
        const struct fake *f = *state;
        _cleanup_(proctab_freep) struct proctab *t = NULL;
        _cleanup_(holder_index_freep) struct holder_index *idx = NULL;
        const uint64_t ns[] = { 0, ns_ino("uts") };

        assert_int_equal(holder_index_new(32, &idx), 0);
        want_sysv(idx, 2);
        assert_int_equal(holder_index_want(idx, f->target_st.st_dev, f->target_st.st_ino), 0);
        assert_int_equal(proctab_build_many(f->root, idx, PROCTAB_FDS | PROCTAB_MAPS | PROCTAB_IPC_WAITERS, ns, 2, &t),
                         0);

        /* An id is its namespace's: 70's segment 5 and 71's are two.  72
         * is in no namespace listed: it holds no SysV object of theirs.
         * 73's namespace is unknown: it counts in each (the fake tree's
         * 43 too, which has no ns/ipc either). */
        assert_string_equal(pids_of(idx, HOLDER_DEV_SYSV_SHM, holder_sysv_ino(0, 5)), "70");
        assert_string_equal(pids_of(idx, HOLDER_DEV_SYSV_SHM, holder_sysv_ino(1, 5)), "71");
        assert_string_equal(pids_of(idx, HOLDER_DEV_SYSV_SHM, holder_sysv_ino(0, 6)), "73");
        assert_string_equal(pids_of(idx, HOLDER_DEV_SYSV_SHM, holder_sysv_ino(1, 6)), "73");
        assert_string_equal(pids_of(idx, HOLDER_DEV_SYSV_SHM, holder_sysv_ino(1, 7)), "74");
        assert_string_equal(pids_of(idx, HOLDER_DEV_SYSV_SHM, holder_sysv_ino(0, 7)), "");
        /* waits likewise */
        assert_string_equal(pids_of(idx, HOLDER_DEV_SYSV_SEM, holder_sysv_ino(0, 3)), "70");
        assert_string_equal(pids_of(idx, HOLDER_DEV_SYSV_SEM, holder_sysv_ino(1, 3)), "71");
        /* a file is the same file wherever it is held */
        assert_string_equal(pids_of(idx, f->target_st.st_dev, f->target_st.st_ino), "42 70 71 72 73 74");

        /* A namespace listed twice (0 is our own) is refused. */
        const uint64_t twice[] = { 0, ns_ino("ipc") };
        _cleanup_(proctab_freep) struct proctab *t2 = NULL;
        assert_int_equal(proctab_build_many(f->root, idx, PROCTAB_MAPS, twice, 2, &t2), -EINVAL);
        assert_null(t2);
}

/* Each namespace's view is the table its own walk would have made. */
static void check_same_table(const struct proctab *a, const struct proctab *b) {
        assert_int_equal(a->n_procs, b->n_procs);
        assert_int_equal(a->flags, b->flags);
        assert_int_equal(a->n_fd_unreadable, b->n_fd_unreadable);
        assert_int_equal(a->n_maps_unreadable, b->n_maps_unreadable);
        assert_int_equal(a->n_fifo_open_unknown, b->n_fifo_open_unknown);
        assert_int_equal(a->n_ipc_wait_unknown, b->n_ipc_wait_unknown);
        for (size_t i = 0; i < a->n_procs; i++) {
                const struct process *p = &a->procs[i], *q = &b->procs[i];
                assert_int_equal(p->pid, q->pid);
                if (p->flags != q->flags)
                        fail_msg("pid %d: flags %#x, alone %#x", (int) p->pid, p->flags, q->flags);
                assert_int_equal(p->ruid, q->ruid);
                assert_int_equal(p->euid, q->euid);
                assert_int_equal(p->start_ticks, q->start_ticks);
                assert_string_equal(p->comm, q->comm);
                if (p->unit || q->unit)
                        assert_string_equal(strempty(p->unit), strempty(q->unit));
        }
}

static void test_build_many_views(void **state) {
        const struct fake *f = *state;
        _cleanup_(proctab_freep) struct proctab *t = NULL;
        _cleanup_(holder_index_freep) struct holder_index *idx = NULL;
        const uint64_t uts = ns_ino("uts"), ns[] = { 0, uts };
        /* What each namespace's build asks: ours maps (and uids), the
         * other waits (and units). */
        const unsigned asks[] = { PROCTAB_MAPS | PROCTAB_UIDS, PROCTAB_IPC_WAITERS | PROCTAB_CGROUP };

        assert_int_equal(holder_index_new(32, &idx), 0);
        want_sysv(idx, 2);
        assert_int_equal(proctab_build_many(f->root, idx, asks[0] | asks[1], ns, 2, &t), 0);

        for (size_t slot = 0; slot < 2; slot++) {
                _cleanup_(proctab_freep) struct proctab *view = NULL, *alone = NULL;
                _cleanup_(holder_index_freep) struct holder_index *one = NULL;

                assert_int_equal(proctab_view(t, asks[slot], slot, true, &view), 0);
                assert_int_equal(holder_index_new(32, &one), 0);
                want_sysv(one, 1);
                assert_int_equal(proctab_build_in(f->root, one, asks[slot], ns[slot], &alone), 0);
                check_same_table(view, alone);
        }

        /* 74's wait is unknown to its own namespace only; uids and units
         * only where asked. */
        _cleanup_(proctab_freep) struct proctab *mine = NULL, *ours = NULL;
        assert_int_equal(proctab_view(t, asks[1], 1, true, &mine), 0);
        assert_int_equal(proctab_view(t, asks[0] | PROCTAB_IPC_WAITERS, 0, true, &ours), 0);
        assert_int_equal(proctab_find(mine, 74)->flags, PROCESS_IPC_WAIT_UNKNOWN);
        assert_int_equal(proctab_find(ours, 74)->flags, 0);
        assert_int_equal(mine->n_ipc_wait_unknown, 1);
        assert_int_equal(ours->n_ipc_wait_unknown, 0);
        assert_int_equal(proctab_find(mine, 70)->ruid, (uid_t) -1);
        assert_int_equal(proctab_find(ours, 70)->ruid, 1000);
        assert_string_equal(proctab_find(mine, 70)->unit, "x.service");
        assert_null(proctab_find(ours, 70)->unit);

        /* What the walk did not read, no view can tell. */
        _cleanup_(proctab_freep) struct proctab *more = NULL;
        assert_int_equal(proctab_view(t, PROCTAB_FDS, 0, true, &more), -EINVAL);
        assert_null(more);
}

/* An object of INV of TYPE and ID. */
static void add_object(struct inventory *inv, enum ipc_type type, int id) {
        struct ipc_object *o = inventory_append(inv, type);
        assert_non_null(o);
        o->id = id;
}

static const char *holders_of(const struct inventory *inv, enum ipc_type type, int id) {
        static char buf[128];
        size_t used = 0;

        for (size_t i = 0; i < inv->n_objects; i++) {
                const struct ipc_object *o = &inv->objects[i];
                if (o->type != type || o->id != id)
                        continue;
                buf[0] = 0;
                for (size_t k = 0; k < o->n_holders; k++)
                        used += (size_t) snprintf(buf + used, sizeof(buf) - used, "%s%d", k ? " " : "",
                                                  (int) o->holders[k]);
                return buf;
        }
        fail_msg("no %s:%d", ipc_type_to_string(type), id);
        return NULL;
}

/* collect_holders for two inventories in one walk: each object gets the
 * holders of its own namespace, as the walk found each process's namespace
 * (73, whose namespace is unknown, may be in either: it counts in both;
 * 74 counts in the other although the members list knows only 71: it is
 * the walk's reading that counts, not a list made before it). */
static void test_collect_many(void **state) {
        const struct fake *f = *state;
        _cleanup_(inventory_freep) struct inventory *ours = NULL, *theirs = NULL;
        pid_t members[] = { 71 };
        const struct ipcns other = { .ino = ns_ino("uts"), .members = members, .n_members = 1 };
        const struct collect_paths here = { .proc = f->root }, there = { .proc = f->root, .ns = &other };
        struct proctab *pts[2] = {};

        assert_int_equal(inventory_new(&ours), 0);
        assert_int_equal(inventory_new(&theirs), 0);
        add_object(ours, IPC_TYPE_SHM, 5);
        add_object(ours, IPC_TYPE_SHM, 6);
        add_object(ours, IPC_TYPE_SEM, 3);
        add_object(theirs, IPC_TYPE_SHM, 5);
        add_object(theirs, IPC_TYPE_SHM, 6);
        add_object(theirs, IPC_TYPE_SEM, 3);
        add_object(theirs, IPC_TYPE_SHM, 7);

        struct inventory *invs[] = { ours, theirs };
        const struct collect_paths *paths[] = { &here, &there };
        const unsigned extra[] = { PROCTAB_UIDS, 0 };
        assert_int_equal(collect_holders_many(invs, paths, extra, 2, pts), 0);

        assert_string_equal(holders_of(ours, IPC_TYPE_SHM, 5), "70");
        assert_string_equal(holders_of(ours, IPC_TYPE_SHM, 6), "73");
        assert_string_equal(holders_of(ours, IPC_TYPE_SEM, 3), "70");
        assert_string_equal(holders_of(theirs, IPC_TYPE_SHM, 5), "71");
        assert_string_equal(holders_of(theirs, IPC_TYPE_SHM, 6), "73");
        assert_string_equal(holders_of(theirs, IPC_TYPE_SHM, 7), "74");
        assert_string_equal(holders_of(theirs, IPC_TYPE_SEM, 3), "71");
        /* each its own table: uids where asked, 74's unknown wait in its own */
        assert_int_equal(pts[0]->flags, PROCTAB_UIDS | PROCTAB_MAPS | PROCTAB_IPC_WAITERS);
        assert_int_equal(pts[1]->flags, PROCTAB_MAPS | PROCTAB_IPC_WAITERS);
        assert_int_equal(proctab_find(pts[0], 71)->ruid, 1000);
        assert_int_equal(proctab_find(pts[1], 71)->ruid, (uid_t) -1);
        assert_int_equal(pts[0]->n_ipc_wait_unknown, 0);
        assert_int_equal(pts[1]->n_ipc_wait_unknown, 1);
        proctab_free(pts[0]);
        proctab_free(pts[1]);

        /* Two /proc cannot be one walk. */
        const struct collect_paths elsewhere = { .proc = "/proc", .ns = &other };
        const struct collect_paths *mixed[] = { &here, &elsewhere };
        pts[0] = pts[1] = NULL;
        assert_int_equal(collect_holders_many(invs, mixed, extra, 2, pts), -EINVAL);
        assert_null(pts[0]);
        assert_null(pts[1]);
}

int main(void) {
        /* clang-format off */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_stat),
                cmocka_unit_test(test_parse_stat_kthread_zombie),
                cmocka_unit_test(test_parse_stat_bad),
                cmocka_unit_test(test_parse_own_stat),
                cmocka_unit_test(test_parse_cgroup_unit),
                cmocka_unit_test(test_parse_maps_line),
                cmocka_unit_test(test_parse_maps_line_bad),
                cmocka_unit_test(test_parse_syscall),
                cmocka_unit_test(test_wchan_stopped),
                cmocka_unit_test_setup_teardown(test_build_fake, setup_fake, teardown_fake),
                cmocka_unit_test_setup_teardown(test_build_fake_holders, setup_fake, teardown_fake),
                cmocka_unit_test_setup_teardown(test_build_fake_stopped, setup_fake_stopped, teardown_fake),
                cmocka_unit_test_setup_teardown(test_build_fake_stopped_asked, setup_fake_stopped, teardown_fake),
                cmocka_unit_test_setup_teardown(test_build_many_keys, setup_fake_ns, teardown_fake),
                cmocka_unit_test_setup_teardown(test_build_many_views, setup_fake_ns, teardown_fake),
                cmocka_unit_test_setup_teardown(test_collect_many, setup_fake_ns, teardown_fake),
                cmocka_unit_test(test_build_missing_root),
                cmocka_unit_test(test_build_real_proc),
        };
        /* clang-format on */

        return cmocka_run_group_tests_name("proctab: /proc parsers and process table", tests, NULL, NULL);
}
