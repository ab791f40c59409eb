/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config_load() and config_load_socket() on files written into a fresh
 * temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fifo.h"
#include "ipc_object.h"
#include "macro.h"
#include "rule.h"

struct tmp {
        char dir[64];
};

static int setup_tmp(void **state) {
        struct tmp *t = calloc(1, sizeof(*t));

        if (!t)
                return -1;
        strcpy(t->dir, "/tmp/test_config.XXXXXX");
        if (!mkdtemp(t->dir)) {
                free(t);
                return -1;
        }
        *state = t;
        return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) type;
        (void) ftw;
        return remove(path);
}

static int teardown_tmp(void **state) {
        struct tmp *t = *state;
        int r;

        /* Only what this test wrote lives there: files, conf.d/ and the
         * directories made in it.  FTW_PHYS: no link is followed out. */
        r = nftw(t->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -1 : 0;
        free(t);
        return r;
}

/* Writes TEXT to DIR/NAME and returns the path. */
static char *write_file(void **state, const char *name, const char *text) {
        const struct tmp *t = *state;
        char *path;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", t->dir, name) >= 0);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
        return path;
}

/* Writes TEXT to DIR/conf.d/NAME (making conf.d/) and returns the path. */
static char *write_dropin(void **state, const char *name, const char *text) {
        const struct tmp *t = *state;
        _cleanup_free_ char *dir = NULL, *rel = NULL;

        assert_true(asprintf(&dir, "%s/conf.d", t->dir) >= 0);
        assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
        assert_true(asprintf(&rel, "conf.d/%s", name) >= 0);
        return write_file(state, rel, text);
}

static void check_default_scan(const struct scan_config *s) {
        assert_int_equal(s->types, IPC_TYPE_MASK_ALL);
        assert_string_equal(s->mqueue_dir, "/dev/mqueue");
        assert_string_equal(s->shm_dir, "/dev/shm");
        assert_int_equal(s->n_fifo_dirs, 3);
        assert_string_equal(s->fifo_dirs[0], "/tmp");
        assert_string_equal(s->fifo_dirs[1], "/var/tmp");
        assert_string_equal(s->fifo_dirs[2], "/run");
        assert_int_equal(s->fifo_max_depth, CONFIG_DEFAULT_FIFO_MAX_DEPTH);
        assert_int_equal(s->fifo_max_depth, 4);
}

static void test_defaults(void **state) {
        _cleanup_(config_freep) struct config *c = NULL;

        assert_int_equal(config_new_default(&c), 0);
        check_default_scan(&c->scan);
}

static void test_every_key_overridden(void **state) {
        _cleanup_free_ char *path = write_file(state, "all.conf",
                                               "# a comment\n"
                                               "; another\n"
                                               "\n"
                                               "[Scan]\n"
                                               "Types=shm msg\n"
                                               "MqueueDir=/mnt/mqueue\n"
                                               "ShmDir = /run/shm2\n"
                                               "FifoDirs=/a /b/c\t /d\n"
                                               "FifoMaxDepth=0\n");
        _cleanup_(config_freep) struct config *c = NULL;
        char *error = NULL;

        assert_int_equal(config_load(path, true, &c, &error), 0);
        assert_null(error);
        assert_non_null(c);
        assert_int_equal(c->scan.types, IPC_TYPE_BIT(IPC_TYPE_SHM) | IPC_TYPE_BIT(IPC_TYPE_MSG));
        assert_string_equal(c->scan.mqueue_dir, "/mnt/mqueue");
        assert_string_equal(c->scan.shm_dir, "/run/shm2");
        assert_int_equal(c->scan.n_fifo_dirs, 3);
        assert_string_equal(c->scan.fifo_dirs[0], "/a");
        assert_string_equal(c->scan.fifo_dirs[1], "/b/c");
        assert_string_equal(c->scan.fifo_dirs[2], "/d");
        assert_int_equal(c->scan.fifo_max_depth, 0);
}

static void test_partial_override(void **state) {
        _cleanup_free_ char *path = write_file(state, "partial.conf",
                                               "[Scan]\n"
                                               "FifoMaxDepth=32\n"
                                               "Types=fifo,mq\n");
        _cleanup_(config_freep) struct config *c = NULL;
        char *error = NULL;

        assert_int_equal(config_load(path, false, &c, &error), 0);
        assert_null(error);
        assert_int_equal(c->scan.fifo_max_depth, FIFO_MAX_DEPTH_LIMIT);
        assert_int_equal(c->scan.types, IPC_TYPE_BIT(IPC_TYPE_FIFO) | IPC_TYPE_BIT(IPC_TYPE_MQ));
        /* untouched keys keep their defaults */
        assert_string_equal(c->scan.mqueue_dir, "/dev/mqueue");
        assert_string_equal(c->scan.shm_dir, "/dev/shm");
        assert_int_equal(c->scan.n_fifo_dirs, 3);
        assert_string_equal(c->scan.fifo_dirs[2], "/run");
}

static void test_empty_fifo_dirs(void **state) {
        _cleanup_free_ char *path = write_file(state, "nofifo.conf", "[Scan]\nFifoDirs=\n");
        _cleanup_(config_freep) struct config *c = NULL;
        char *error = NULL;

        /* Documented as the way to turn the FIFO search off. */
        assert_int_equal(config_load(path, true, &c, &error), 0);
        assert_null(error);
        assert_int_equal(c->scan.n_fifo_dirs, 0);
        assert_int_equal(c->scan.types, IPC_TYPE_MASK_ALL);
}

static void test_empty_file(void **state) {
        _cleanup_free_ char *path = write_file(state, "empty.conf", "");
        _cleanup_(config_freep) struct config *c = NULL;
        char *error = NULL;

        assert_int_equal(config_load(path, true, &c, &error), 0);
        assert_null(error);
        check_default_scan(&c->scan);
}

/* MetricsFile=: none by default, an absolute file, and empty is none again. */
static void test_metrics_file(void **state) {
        _cleanup_free_ char *set = write_file(state, "metrics.conf", "[Daemon]\nMetricsFile=/var/lib/x/ipcgc.prom\n");
        _cleanup_free_ char *none = write_file(state, "nometrics.conf", "[Daemon]\nMetricsFile=\n");
        _cleanup_free_ char *dir = write_file(state, "dir.conf", "[Daemon]\nMetricsFile=/var/lib/x/\n");
        _cleanup_free_ char *rel = write_file(state, "rel.conf", "[Daemon]\nMetricsFile=x.prom\n");
        struct config *c = NULL;
        char *error = NULL;

        assert_int_equal(config_load(none, true, &c, &error), 0);
        assert_null(c->daemon.metrics_file);
        c = config_free(c);
        assert_int_equal(config_load(set, true, &c, &error), 0);
        assert_string_equal(c->daemon.metrics_file, "/var/lib/x/ipcgc.prom");
        c = config_free(c);
        assert_int_equal(config_load(dir, true, &c, &error), -EINVAL);
        assert_non_null(strstr(error, "dir.conf:2: MetricsFile= names a file"));
        free(error);
        error = NULL;
        assert_int_equal(config_load(rel, true, &c, &error), -EINVAL);
        assert_non_null(strstr(error, "rel.conf:2: MetricsFile= must be an absolute path"));
        free(error);
}

/* The configuration file shipped in conf/ shows every default, commented out. */
static void test_shipped_file(void **state) {
        _cleanup_free_ char *path = NULL;
        _cleanup_(config_freep) struct config *c = NULL;
        const char *top = getenv("top_srcdir");
        char *error = NULL;

        assert_true(asprintf(&path, "%s/conf/ipcgc.conf", top && *top ? top : ".") >= 0);
        assert_int_equal(config_load(path, true, &c, &error), 0);
        assert_null(error);
        check_default_scan(&c->scan);
}

static void test_missing_optional(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *path = NULL;
        _cleanup_(config_freep) struct config *c = NULL;
        char *error = NULL;

        assert_true(asprintf(&path, "%s/does-not-exist.conf", t->dir) >= 0);
        assert_int_equal(config_load(path, false, &c, &error), 0);
        assert_null(error);
        assert_non_null(c);
        check_default_scan(&c->scan);
}

static void test_missing_required(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *path = NULL, *error = NULL;
        struct config sentinel, *c = &sentinel;

        assert_true(asprintf(&path, "%s/does-not-exist.conf", t->dir) >= 0);
        assert_int_equal(config_load(path, true, &c, &error), -ENOENT);
        assert_ptr_equal(c, &sentinel);
        /* If a message is given, it names the file. */
        if (error)
                assert_non_null(strstr(error, path));
}

struct bad_case {
        const char *name;
        const char *text;
        unsigned line;
        const char *what; /* a word the message must contain */
};

/* A value line on line 3 one byte longer than CONFIG_MAX_LINE allows. */
static char *long_line(void) {
        size_t n = CONFIG_MAX_LINE - 2 + 1 - (sizeof("ShmDir=") - 1);
        _cleanup_free_ char *value = malloc(n + 1);
        char *s;

        assert_non_null(value);
        memset(value, 'a', n);
        value[0] = '/';
        value[n] = 0;
        assert_true(asprintf(&s, "[Scan]\nTypes=shm\nShmDir=%s\nFifoMaxDepth=1\n", value) >= 0);
        return s;
}

static void check_bad(void **state, const struct bad_case *b) {
        _cleanup_free_ char *path = write_file(state, b->name, b->text), *prefix = NULL;
        struct config sentinel, *c = &sentinel;
        char *error = NULL;
        int r;

        r = config_load(path, true, &c, &error);
        if (r != -EINVAL)
                fail_msg("%s: config_load() returned %d, expected -EINVAL", b->name, r);
        assert_ptr_equal(c, &sentinel);
        assert_non_null(error);

        assert_true(asprintf(&prefix, "%s:%u: ", path, b->line) >= 0);
        if (strncmp(error, prefix, strlen(prefix)) != 0 || !strstr(error + strlen(prefix), b->what)) {
                char copy[512];
                snprintf(copy, sizeof(copy), "%s", error);
                free(error);
                fail_msg("%s: error \"%s\", expected \"%s...%s...\"", b->name, copy, prefix, b->what);
        }
        free(error);
}

static void test_malformed(void **state) {
        _cleanup_free_ char *too_long = long_line();
        const struct bad_case cases[] = {
                { "unknown-key.conf", "[Scan]\nTypes=shm\nBogus=1\n", 3, "Bogus" },
                { "unknown-section.conf", "[Scan]\nTypes=shm\n\n[Foo]\nBar=1\n", 4, "[Foo]" },
                { "empty-unknown-section.conf", "[Scan]\nTypes=shm\n[Foo]\n", 3, "[Foo]" },
                { "empty-types.conf", "# c\n[Scan]\nTypes=\n", 3, "Types=" },
                { "bad-type.conf", "[Scan]\nTypes=shm nope\n", 2, "nope" },
                { "relative-mqueue.conf", "[Scan]\n\nMqueueDir=dev/mqueue\n", 3, "MqueueDir=" },
                { "relative-shm.conf", "[Scan]\nShmDir=shm\n", 2, "ShmDir=" },
                { "relative-fifo.conf", "[Scan]\nFifoDirs=/tmp tmp2\n", 2, "tmp2" },
                { "depth-abc.conf", "[Scan]\nTypes=all\nFifoMaxDepth=abc\n", 3, "FifoMaxDepth=" },
                { "depth-999.conf", "[Scan]\nFifoMaxDepth=999\n", 2, "FifoMaxDepth=" },
                { "depth-33.conf", "[Scan]\nFifoMaxDepth=33\n", 2, "FifoMaxDepth=" },
                { "depth-negative.conf", "[Scan]\nFifoMaxDepth=-1\n", 2, "FifoMaxDepth=" },
                { "depth-trailing.conf", "[Scan]\nFifoMaxDepth=4x\n", 2, "FifoMaxDepth=" },
                { "no-equals.conf", "[Scan]\nTypes=shm\nJustAWord\n", 3, "syntax error" },
                { "open-section.conf", "[Scan]\nTypes=shm\n[Daemon\n", 3, "syntax error" },
                { "outside-section.conf", "# top\nTypes=shm\n[Scan]\n", 2, "outside" },
                { "too-long.conf", too_long, 3, "too long" },
                /* a key given twice is refused at the second, in any section */
                { "twice-scan.conf", "[Scan]\nTypes=all\nTypes=fifo,mq\n", 3, "Types= is set twice" },
                { "twice-daemon.conf", "[Daemon]\nDryRun=yes\n[Scan]\n[Daemon]\nDryRun=no\n", 5, "first at line 2" },
                { "twice-rule.conf", "[Rule a]\nName=/a\nName=/b\nAction=keep\nAction=collect\n", 5, "Action= is set twice" },
                /* only the first of several errors is reported */
                { "two-errors.conf", "[Scan]\nBogus=1\nTypes=nope\n", 2, "Bogus" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                check_bad(state, &cases[i]);
}

static char *fifo_dirs_line(unsigned n) {
        _cleanup_free_ char *dirs = malloc(2 * n + 1);
        char *s;

        /* "/" is the shortest absolute path: n of them fit in one line. */
        assert_non_null(dirs);
        for (unsigned i = 0; i < n; i++)
                memcpy(dirs + 2 * i, "/ ", 2);
        dirs[2 * n] = 0;
        assert_true(asprintf(&s, "[Scan]\nFifoDirs=%s\n", dirs) >= 0);
        return s;
}

static void test_fifo_dirs_limit(void **state) {
        _cleanup_free_ char *over = fifo_dirs_line(CONFIG_MAX_FIFO_DIRS + 1);
        _cleanup_free_ char *at = fifo_dirs_line(CONFIG_MAX_FIFO_DIRS);
        _cleanup_free_ char *path = write_file(state, "max-fifo.conf", at);
        _cleanup_(config_freep) struct config *c = NULL;
        const struct bad_case b = { "many-fifo.conf", over, 2, "more than" };
        char *error = NULL;

        check_bad(state, &b);

        assert_int_equal(config_load(path, true, &c, &error), 0);
        assert_null(error);
        assert_int_equal(c->scan.n_fifo_dirs, CONFIG_MAX_FIFO_DIRS);
        assert_string_equal(c->scan.fifo_dirs[CONFIG_MAX_FIFO_DIRS - 1], "/");
}

/*
 * config_load_socket(): the socket for a client that only talks to the
 * daemon.
 */

/* Runs config_load_socket() and checks its socket and warning: no warning
 * when WARNING is NULL, else one starting with it and containing WHAT. */
static void check_socket(const char *path, unsigned flags, const char *socket, const char *warning, const char *what) {
        _cleanup_free_ char *s = NULL, *w = NULL;

        assert_int_equal(config_load_socket(path, flags, &s, &w), 0);
        assert_non_null(s);
        assert_string_equal(s, socket);
        if (!warning) {
                if (w)
                        fail_msg("unexpected warning \"%s\"", w);
                return;
        }
        assert_non_null(w);
        if (strncmp(w, warning, strlen(warning)) != 0 || !strstr(w, what))
                fail_msg("warning \"%s\", expected \"%s...%s...\"", w, warning, what);
}

static void test_socket_broken_dropin(void **state) {
        _cleanup_free_ char *path = write_file(state, "ipcgc.conf",
                                               "[Scan]\n"
                                               "Types=shm\n"
                                               "[Daemon]\n"
                                               "Socket=/x\n"
                                               "[Rule all]\n"
                                               "Action=collect\n");
        _cleanup_free_ char *dropin = write_dropin(state, "50-broken.conf",
                                                   "Outside=1\n"
                                                   "[Foo]\n"
                                                   "Bar=1\n"
                                                   "[Rule slow]\n"
                                                   "MinAge=soon\n"
                                                   "Action=collect\n"
                                                   "[Rule all]\n" /* a duplicate */
                                                   "[Rule no-action]\n"
                                                   "[Rule bad name!]\n"
                                                   "[Scan]\n"
                                                   "Types=nope\n"
                                                   "Bogus=1\n"
                                                   "[Daemon]\n"
                                                   "Interval=never\n"
                                                   "AdminGroup=no-such-group-ipcgc\n"
                                                   "NoSuchKey=1\n"
                                                   "JustAWord\n"
                                                   "[Daemon\n");
        _cleanup_free_ char *prefix = NULL;
        struct config sentinel, *c = &sentinel;
        char *error = NULL;

        /* The files are broken for anyone who reads the rules... */
        assert_int_equal(config_load(path, CONFIG_MUST_EXIST | CONFIG_DROPINS, &c, &error), -EINVAL);
        assert_ptr_equal(c, &sentinel);
        assert_non_null(error);
        assert_true(asprintf(&prefix, "%s:1: ", dropin) >= 0);
        assert_true(strncmp(error, prefix, strlen(prefix)) == 0);
        free(error);

        /* ...and no concern of a client that only talks to the daemon: no
         * warning either, as the daemon refuses them on reload and says so. */
        check_socket(path, CONFIG_MUST_EXIST | CONFIG_DROPINS, "/x", NULL, NULL);
}

static void test_socket_dropin_overrides(void **state) {
        _cleanup_free_ char *path = write_file(state, "ipcgc.conf", "[Daemon]\nSocket=/x\n");
        _cleanup_free_ char *a = write_dropin(state, "10-a.conf", "[Daemon]\nSocket=/a\n");
        _cleanup_free_ char *b = write_dropin(state, "20-b.conf", "[Daemon]\nSocket = /b2\n[Scan]\n");
        /* Not drop-ins: config_load() reads neither. */
        _cleanup_free_ char *bak = write_dropin(state, "30-c.conf.bak", "[Daemon]\nSocket=/bak\n");
        _cleanup_free_ char *hidden = write_dropin(state, ".40-d.conf", "[Daemon]\nSocket=/hidden\n");
        _cleanup_(config_freep) struct config *c = NULL;
        char *error = NULL;

        check_socket(path, CONFIG_MUST_EXIST | CONFIG_DROPINS, "/b2", NULL, NULL);
        check_socket(path, CONFIG_MUST_EXIST, "/x", NULL, NULL);

        /* The same answer as config_load()'s, where the files are good. */
        assert_int_equal(config_load(path, CONFIG_MUST_EXIST | CONFIG_DROPINS, &c, &error), 0);
        assert_null(error);
        assert_string_equal(c->daemon.socket, "/b2");
}

static void test_socket_missing_default(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *path = NULL;
        _cleanup_(config_freep) struct config *c = NULL;

        assert_true(asprintf(&path, "%s/does-not-exist.conf", t->dir) >= 0);
        assert_int_equal(config_new_default(&c), 0);
        assert_string_equal(c->daemon.socket, CONFIG_DEFAULT_SOCKET);
        check_socket(path, CONFIG_DROPINS, CONFIG_DEFAULT_SOCKET, NULL, NULL);

        /* config_load() reads the drop-ins beside a missing file too. */
        _cleanup_free_ char *d = write_dropin(state, "50-d.conf", "[Daemon]\nSocket=/d\n");
        check_socket(path, CONFIG_DROPINS, "/d", NULL, NULL);
        check_socket(path, 0, CONFIG_DEFAULT_SOCKET, NULL, NULL);
}

static void test_socket_invalid(void **state) {
        _cleanup_free_ char *path =
                write_file(state, "ipcgc.conf", "[Rule x]\nBogus=1\n[Daemon]\nSocket=run/io.ipcgc\n");
        _cleanup_free_ char *prefix = NULL;

        /* The value config_load() refuses is a warning, with its line; the
         * default stays. */
        assert_true(asprintf(&prefix, "%s:4: ", path) >= 0);
        check_socket(path, CONFIG_MUST_EXIST | CONFIG_DROPINS, CONFIG_DEFAULT_SOCKET, prefix, "Socket=");

        /* Empty is no absolute path either. */
        _cleanup_free_ char *empty = write_file(state, "empty.conf", "[Daemon]\nSocket=\n");
        _cleanup_free_ char *empty_prefix = NULL;
        assert_true(asprintf(&empty_prefix, "%s:2: ", empty) >= 0);
        check_socket(empty, CONFIG_MUST_EXIST, CONFIG_DEFAULT_SOCKET, empty_prefix, "absolute");
}

static void test_socket_invalid_dropin(void **state) {
        _cleanup_free_ char *path = write_file(state, "ipcgc.conf", "[Daemon]\nSocket=/x\n");
        _cleanup_free_ char *bad = write_dropin(state, "10-bad.conf", "\n[Daemon]\nSocket=relative\n");
        _cleanup_free_ char *prefix = NULL;

        /* The value before the bad one stays... */
        assert_true(asprintf(&prefix, "%s:3: ", bad) >= 0);
        check_socket(path, CONFIG_MUST_EXIST | CONFIG_DROPINS, "/x", prefix, "Socket=");

        /* ...and a later good one wins, the first fault still the warning. */
        _cleanup_free_ char *worse = write_dropin(state, "20-worse.conf", "[Daemon]\nSocket=\n");
        _cleanup_free_ char *good = write_dropin(state, "30-good.conf", "[Daemon]\nSocket=/good\n");
        check_socket(path, CONFIG_MUST_EXIST | CONFIG_DROPINS, "/good", prefix, "Socket=");
}

static void test_socket_unreadable(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *path = write_file(state, "ipcgc.conf", "[Daemon]\nSocket=/x\n");
        _cleanup_free_ char *z = write_dropin(state, "50-z.conf", "[Daemon]\nSocket=/z\n");
        _cleanup_free_ char *dir = NULL, *prefix = NULL;
        struct config sentinel, *c = &sentinel;
        char *error = NULL;

        /* A directory named like a drop-in is not read at all (only regular
         * files are): a warning, and the next file is read all the same. */
        assert_true(asprintf(&dir, "%s/conf.d/40-dir.conf", t->dir) >= 0);
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_true(asprintf(&prefix, "%s: ", dir) >= 0);
        check_socket(path, CONFIG_MUST_EXIST | CONFIG_DROPINS, "/z", prefix, "not a regular file");

        /* config_load() refuses it rather than read it as empty. */
        assert_int_equal(config_load(path, CONFIG_MUST_EXIST | CONFIG_DROPINS, &c, &error), -EINVAL);
        assert_ptr_equal(c, &sentinel);
        assert_non_null(error);
        assert_true(strncmp(error, prefix, strlen(prefix)) == 0);
        free(error);

        /* The same for PATH itself. */
        check_socket(dir, CONFIG_MUST_EXIST, CONFIG_DEFAULT_SOCKET, prefix, "not a regular file");
}

static void test_socket_long_line(void **state) {
        _cleanup_free_ char *value = malloc(CONFIG_MAX_LINE);
        _cleanup_free_ char *text = NULL, *rule_text = NULL, *prefix = NULL;

        assert_non_null(value);
        memset(value, 'a', CONFIG_MAX_LINE - 1);
        value[0] = '/';
        value[CONFIG_MAX_LINE - 1] = 0;

        /* A Socket= cut short is mentioned... */
        assert_true(asprintf(&text, "[Daemon]\nSocket=/x\n  Socket =%s\n", value) >= 0);
        _cleanup_free_ char *path = write_file(state, "long.conf", text);
        assert_true(asprintf(&prefix, "%s:3: ", path) >= 0);
        check_socket(path, CONFIG_MUST_EXIST, "/x", prefix, "too long");

        /* ...any other line is not. */
        assert_true(asprintf(&rule_text, "[Daemon]\nSocket=/x\nArchiveDir=%s\n[Rule r]\nSocket=%s\n", value, value) >=
                    0);
        _cleanup_free_ char *rule = write_file(state, "long-rule.conf", rule_text);
        check_socket(rule, CONFIG_MUST_EXIST, "/x", NULL, NULL);
}

/* Namespace= and Container=: what they take, and what they match. */
static void test_rule_namespace(void **state) {
        struct rule host = {}, cont = {}, named = {};
        struct ipc_object o = { .type = IPC_TYPE_SHM, .id = 1 };
        const struct rule_where own = {}, docker = { .foreign = true, .container = "docker:0123456789ab" },
                                nameless = { .foreign = true };
        char *err = NULL;
        (void) state;

        assert_int_equal(rule_set(&host, "Namespace", "host", &err), 0);
        assert_int_equal(rule_set(&cont, "Namespace", "container", &err), 0);
        assert_int_equal(rule_set(&named, "Container", "docker:* machine:web", &err), 0);
        assert_int_equal(named.n_containers, 2);
        assert_int_equal(rule_set(&host, "Namespace", "pods", &err), -EINVAL);
        assert_non_null(strstr(err, "Namespace= wants host, container or all"));
        free(err);
        err = NULL;
        assert_int_equal(rule_set(&named, "Container", "docker:[", &err), -EINVAL);
        free(err);

        assert_true(rule_matches(&host, &o, NULL));
        assert_true(rule_matches(&host, &o, &own));
        assert_false(rule_matches(&host, &o, &docker));
        assert_false(rule_matches(&cont, &o, NULL));
        assert_true(rule_matches(&cont, &o, &docker));
        assert_true(rule_matches(&cont, &o, &nameless));
        assert_true(rule_matches(&named, &o, &docker));
        assert_false(rule_matches(&named, &o, &nameless));
        assert_false(rule_matches(&named, &o, &own));
        rule_done(&host);
        rule_done(&cont);
        rule_done(&named);
}

static void test_socket_must_exist(void **state) {
        const struct tmp *t = *state;
        _cleanup_free_ char *path = NULL;
        char sentinel, *s = &sentinel, *w = &sentinel;

        assert_true(asprintf(&path, "%s/does-not-exist.conf", t->dir) >= 0);
        _cleanup_free_ char *d = write_dropin(state, "50-d.conf", "[Daemon]\nSocket=/d\n");
        assert_int_equal(config_load_socket(path, CONFIG_MUST_EXIST | CONFIG_DROPINS, &s, &w), -ENOENT);
        /* Untouched on failure. */
        assert_ptr_equal(s, &sentinel);
        assert_ptr_equal(w, &sentinel);
}

int main(void) {
        /* clang-format off */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test_setup_teardown(test_every_key_overridden, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_partial_override, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_empty_fifo_dirs, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_empty_file, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_metrics_file, setup_tmp, teardown_tmp),
                cmocka_unit_test(test_shipped_file),
                cmocka_unit_test(test_rule_namespace),
                cmocka_unit_test_setup_teardown(test_missing_optional, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_missing_required, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_malformed, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_fifo_dirs_limit, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_socket_broken_dropin, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_socket_dropin_overrides, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_socket_missing_default, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_socket_invalid, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_socket_invalid_dropin, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_socket_unreadable, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_socket_long_line, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_socket_must_exist, setup_tmp, teardown_tmp),
        };
        /* clang-format on */

        return cmocka_run_group_tests_name("config_load", tests, NULL, NULL);
}
