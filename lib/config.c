/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fifo.h"
#include "ipc_object.h"
#include "macro.h"
#include "parse.h"
#include "trust.h"

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

struct config *config_free(struct config *c) {
        if (!c)
                return NULL;
        free(c->scan.mqueue_dir);
        free(c->scan.shm_dir);
        strv_free(c->scan.fifo_dirs, c->scan.n_fifo_dirs);
        free(c->daemon.socket);
        free(c->daemon.admin_group);
        free(c->daemon.archive_dir);
        free(c->daemon.state_dir);
        free(c->daemon.metrics_file);
        for (size_t i = 0; i < c->n_rules; i++)
                rule_done(&c->rules[i]);
        free(c->rules);
        free(c);
        return NULL;
}

static const char *const default_fifo_dirs[] = { "/tmp", "/var/tmp", "/run" };

int config_new_default(struct config **ret) {
        _cleanup_(config_freep) struct config *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;

        c->scan.types = IPC_TYPE_MASK_ALL;
        c->scan.fifo_max_depth = CONFIG_DEFAULT_FIFO_MAX_DEPTH;
        c->scan.max_objects = CONFIG_DEFAULT_MAX_OBJECTS;
        c->scan.max_objects_per_dir = CONFIG_DEFAULT_MAX_OBJECTS_PER_DIR;
        c->scan.max_objects_per_user = CONFIG_DEFAULT_MAX_OBJECTS_PER_USER;
        c->scan.mqueue_dir = strdup(CONFIG_DEFAULT_MQUEUE_DIR);
        c->scan.shm_dir = strdup(CONFIG_DEFAULT_SHM_DIR);
        c->scan.fifo_dirs = calloc(ELEMENTSOF(default_fifo_dirs), sizeof(char *));
        c->daemon.interval = CONFIG_DEFAULT_INTERVAL;
        c->daemon.process_events = true;
        c->daemon.max_removals = CONFIG_DEFAULT_MAX_REMOVALS;
        c->daemon.archive_max_bytes = CONFIG_DEFAULT_ARCHIVE_MAX_BYTES;
        c->daemon.socket = strdup(CONFIG_DEFAULT_SOCKET);
        c->daemon.archive_keep = CONFIG_DEFAULT_ARCHIVE_KEEP;
        c->daemon.archive_dir = strdup(CONFIG_DEFAULT_ARCHIVE_DIR);
        c->daemon.state_dir = strdup(CONFIG_DEFAULT_STATE_DIR);
        if (!c->scan.mqueue_dir || !c->scan.shm_dir || !c->scan.fifo_dirs || !c->daemon.socket ||
            !c->daemon.archive_dir || !c->daemon.state_dir)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(default_fifo_dirs); i++) {
                c->scan.fifo_dirs[i] = strdup(default_fifo_dirs[i]);
                if (!c->scan.fifo_dirs[i])
                        return -ENOMEM;
                c->scan.n_fifo_dirs++;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* How much of a file to read.  A client that only talks to the daemon needs
 * its socket, and must reach it however broken the rest of the files are:
 * the daemon refuses a bad reload itself and says where. */
enum load_mode {
        LOAD_ALL,    /* everything; the first thing wrong is the error */
        LOAD_SOCKET, /* [Daemon] Socket= only; its faults are warnings, others ignored */
};

/* Parser state.  inih gives no line numbers to the handler, so the reader
 * below counts lines and every message is tagged with the current one. */
enum section {
        SECTION_NONE,
        SECTION_SCAN,
        SECTION_DAEMON,
        SECTION_RULE,
        SECTION_BAD, /* already reported */
};

/* A key set in this file, and where: a second line setting it is refused. */
struct seen_key {
        enum section section;
        char key[24]; /* every known key fits; an unknown one is refused before */
        unsigned line;
};

/* The known keys of [Scan] and [Daemon] and of one [Rule] are fewer than this. */
#define SEEN_KEYS_MAX 48

struct parse {
        const char *buf; /* the whole file, NUL-terminated */
        size_t len, pos;
        unsigned line;
        const char *path;
        struct config *config;
        enum load_mode mode;
        char *error; /* the first error, "path:line: message" */
        unsigned error_line;
        bool oom;           /* LOAD_SOCKET tells it apart from what is wrong in the file */
        bool line_too_long; /* and said so */
        enum section section;
        struct rule *rule; /* the [Rule] being read */
        struct seen_key seen[SEEN_KEYS_MAX];
        size_t n_seen;
};

static int fail(struct parse *p, const char *fmt, ...) _printf_(2, 3);
static int fail(struct parse *p, const char *fmt, ...) {
        va_list ap;
        char *msg;

        if (p->error)
                return 0;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg || asprintf(&p->error, "%s:%u: %s", p->path, p->line, msg) < 0) {
                p->error = NULL;
                p->oom = true;
        }
        p->error_line = p->line;
        free(msg);
        return 0; /* inih: handler failure */
}

static int fail_oom(struct parse *p) {
        p->oom = true;
        return fail(p, "out of memory");
}

static int end_rule(struct parse *p) {
        /* A rule's keys are its own: the next [Rule] may set them again. */
        size_t n = 0;
        for (size_t i = 0; i < p->n_seen; i++)
                if (p->seen[i].section != SECTION_RULE)
                        p->seen[n++] = p->seen[i];
        p->n_seen = n;
        if (p->rule && !p->rule->has_action) {
                unsigned line = p->line;
                p->line = p->rule->line;
                (void) fail(p, "[Rule %s] has no Action= (collect, report or keep)", p->rule->name);
                p->line = line;
        }
        p->rule = NULL;
        return 0;
}

static bool valid_rule_name(const char *s) {
        if (!*s || strlen(s) > 64)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("-_.@", *s))
                        return false;
        return true;
}

static void begin_rule(struct parse *p, const char *name) {
        struct config *c = p->config;

        if (!valid_rule_name(name)) {
                (void) fail(p, "bad rule name \"%s\" (letters, digits, - _ . @; at most 64)", name);
                p->section = SECTION_BAD;
                return;
        }
        for (size_t i = 0; i < c->n_rules; i++)
                if (strcmp(c->rules[i].name, name) == 0) {
                        (void) fail(p, "duplicate [Rule %s], first defined at %s:%u", name, c->rules[i].file,
                                    c->rules[i].line);
                        p->section = SECTION_BAD;
                        return;
                }
        if (c->n_rules >= RULES_MAX) {
                (void) fail(p, "more than %u rules", RULES_MAX);
                p->section = SECTION_BAD;
                return;
        }
        struct rule *a = reallocarray(c->rules, c->n_rules + 1, sizeof(*a));
        if (!a) {
                (void) fail_oom(p);
                p->section = SECTION_BAD;
                return;
        }
        c->rules = a;
        p->rule = &a[c->n_rules++];
        *p->rule = (struct rule) { .name = strdup(name), .file = strdup(p->path), .line = p->line };
        if (!p->rule->name || !p->rule->file)
                (void) fail_oom(p);
        p->section = SECTION_RULE;
}

/* Section headers are seen here, where the line number is known, rather than
 * in the handler: inih does not report a section that has no keys, and an
 * empty [Rule] must still be an error. */
static void begin_section(struct parse *p, const char *line) {
        const char *s = line + strspn(line, " \t");
        const char *close;
        char name[128];

        if (*s != '[' || !(close = strchr(s, ']')))
                return; /* inih reports the syntax error */
        (void) end_rule(p);
        if ((size_t) (close - s - 1) >= sizeof(name)) {
                if (p->mode == LOAD_ALL)
                        (void) fail(p, "section name too long");
                p->section = SECTION_BAD;
                return;
        }
        memcpy(name, s + 1, (size_t) (close - s - 1));
        name[close - s - 1] = 0;

        if (strcmp(name, "Scan") == 0)
                p->section = SECTION_SCAN;
        else if (strcmp(name, "Daemon") == 0)
                p->section = SECTION_DAEMON;
        else if (p->mode == LOAD_SOCKET)
                p->section = SECTION_BAD; /* a rule or a mistake: nothing to read there */
        else if (strncmp(name, "Rule ", 5) == 0)
                begin_rule(p, name + 5 + strspn(name + 5, " "));
        else {
                (void) fail(p, "unknown section [%s] (Scan, Daemon, Rule NAME)", name);
                p->section = SECTION_BAD;
        }
}

/* Whether LINE sets [Daemon] Socket=, as inih would read it.  LOAD_SOCKET
 * says so of a line too long only then: it ignores the rest of the file, but
 * a Socket= dropped unsaid would leave the default in its place. */
static bool is_socket_line(const struct parse *p, const char *line) {
        const char *s = line + strspn(line, " \t");

        if (p->section != SECTION_DAEMON || strncmp(s, "Socket", 6) != 0)
                return false;
        s += 6;
        s += strspn(s, " \t");
        return *s == '=' || *s == ':';
}

/* The next line of the file, read whole before: a read error was an error
 * then, never the end of the file here. */
static char *reader(char *str, int num, void *userdata) {
        struct parse *p = userdata;
        const char *line, *nl;
        size_t n;

        if (p->pos >= p->len)
                return NULL;
        line = p->buf + p->pos;
        nl = memchr(line, '\n', p->len - p->pos);
        n = nl ? (size_t) (nl - line) + 1 : p->len - p->pos;
        p->pos += n;
        p->line++;
        if (n >= (size_t) num) {
                /* inih would split it and misnumber everything after; refuse it. */
                if (!p->line_too_long && (p->mode == LOAD_ALL || is_socket_line(p, line))) {
                        (void) fail(p, "line too long (at most %d bytes)", num - 2);
                        p->line_too_long = true;
                }
                snprintf(str, (size_t) num, "#\n");
        } else {
                /* A byte-order mark would hide a first [Section] from us. */
                size_t skip = p->line == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
                memcpy(str, line + skip, n - skip);
                str[n - skip] = 0;
                begin_section(p, str);
        }
        return str;
}

static int parse_path(struct parse *p, const char *key, const char *value, char **target) {
        if (value[0] != '/')
                return fail(p, "%s= must be an absolute path, got \"%s\"", key, value);
        if (strlen(value) >= PATH_MAX)
                return fail(p, "%s= path too long", key);
        char *s = strdup(value);
        if (!s)
                return fail_oom(p);
        free(*target);
        *target = s;
        return 1;
}

static int parse_uint(struct parse *p, const char *key, const char *value, unsigned max, unsigned *target) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(value, &end, 10);
        if (errno || end == value || *end || value[0] == '-' || v > max)
                return fail(p, "%s= must be a whole number from 0 to %u, got \"%s\"", key, max, value);
        *target = (unsigned) v;
        return 1;
}

static int parse_fifo_dirs(struct parse *p, const char *value) {
        struct scan_config *s = &p->config->scan;
        char **dirs = NULL;
        size_t n = 0;
        const char *c = value;

        for (;;) {
                c += strspn(c, " \t");
                if (!*c)
                        break;
                size_t len = strcspn(c, " \t");
                if (n == CONFIG_MAX_FIFO_DIRS) {
                        strv_free(dirs, n);
                        return fail(p, "FifoDirs= lists more than %u directories", CONFIG_MAX_FIFO_DIRS);
                }
                if (*c != '/' || len >= PATH_MAX) {
                        strv_free(dirs, n);
                        return fail(p, "FifoDirs= wants absolute paths, got \"%.*s\"", (int) len, c);
                }
                char **a = reallocarray(dirs, n + 1, sizeof(char *));
                if (!a || !(a[n] = strndup(c, len))) {
                        strv_free(a ? a : dirs, n);
                        return fail_oom(p);
                }
                dirs = a;
                n++;
                c += len;
        }

        /* An empty FifoDirs= means "look in no directory", which is how one
         * turns FIFOs off without touching Types=. */
        strv_free(s->fifo_dirs, s->n_fifo_dirs);
        s->fifo_dirs = dirs;
        s->n_fifo_dirs = n;
        return 1;
}

static int handle_scan(struct parse *p, const char *key, const char *value) {
        struct scan_config *s = &p->config->scan;

        if (strcmp(key, "Types") == 0) {
                if (ipc_type_mask_parse(value, &s->types) < 0)
                        return fail(p, "Types= wants one or more of shm msg sem mq pshm psem fifo, got \"%s\"",
                                    value);
                return 1;
        }
        if (strcmp(key, "MqueueDir") == 0)
                return parse_path(p, key, value, &s->mqueue_dir);
        if (strcmp(key, "ShmDir") == 0)
                return parse_path(p, key, value, &s->shm_dir);
        if (strcmp(key, "FifoDirs") == 0)
                return parse_fifo_dirs(p, value);
        if (strcmp(key, "FifoMaxDepth") == 0)
                return parse_uint(p, key, value, FIFO_MAX_DEPTH_LIMIT, &s->fifo_max_depth);
        if (strcmp(key, "MaxObjects") == 0 || strcmp(key, "MaxObjectsPerDir") == 0 ||
            strcmp(key, "MaxObjectsPerUser") == 0) {
                unsigned *target = strcmp(key, "MaxObjects") == 0         ? &s->max_objects
                                   : strcmp(key, "MaxObjectsPerDir") == 0 ? &s->max_objects_per_dir
                                                                          : &s->max_objects_per_user;
                int r = parse_uint(p, key, value, INVENTORY_MAX_OBJECTS, target);
                if (r > 0 && *target == 0)
                        return fail(p, "%s= must be a whole number from 1 to %u, got \"%s\"", key,
                                    INVENTORY_MAX_OBJECTS, value);
                return r;
        }
        if (strcmp(key, "TrustPIDNamespace") == 0) {
                if (parse_bool(value, &s->trust_pid_ns) < 0)
                        return fail(p, "TrustPIDNamespace= wants yes or no, got \"%s\"", value);
                return 1;
        }
        return fail(p, "unknown key %s= in [Scan]", key);
}

static int handle_daemon(struct parse *p, const char *key, const char *value) {
        struct daemon_config *d = &p->config->daemon;

        if (strcmp(key, "Interval") == 0) {
                uint64_t v;
                if (parse_duration(value, &v) < 0 || v == 0 || v > 7 * 86400)
                        return fail(p, "Interval= wants a duration from 1s to 7d, got \"%s\"", value);
                d->interval = v;
                return 1;
        }
        if (strcmp(key, "DryRun") == 0) {
                if (parse_bool(value, &d->dry_run) < 0)
                        return fail(p, "DryRun= wants yes or no, got \"%s\"", value);
                return 1;
        }
        if (strcmp(key, "ProcessEvents") == 0) {
                if (parse_bool(value, &d->process_events) < 0)
                        return fail(p, "ProcessEvents= wants yes or no, got \"%s\"", value);
                return 1;
        }
        if (strcmp(key, "Socket") == 0)
                return parse_path(p, key, value, &d->socket);
        if (strcmp(key, "ArchiveDir") == 0) {
                d->archive_dir_set = true;
                return parse_path(p, key, value, &d->archive_dir);
        }
        if (strcmp(key, "Namespaces") == 0) {
                if (strcmp(value, "host") == 0)
                        d->all_namespaces = false;
                else if (strcmp(value, "all") == 0)
                        d->all_namespaces = true;
                else
                        return fail(p, "Namespaces= wants host or all, got \"%s\"", value);
                return 1;
        }
        if (strcmp(key, "MetricsFile") == 0) {
                /* Empty: none (a drop-in can turn off one set before). */
                if (!*value) {
                        free(d->metrics_file);
                        d->metrics_file = NULL;
                        return 1;
                }
                size_t n = strlen(value);
                if (value[n - 1] == '/')
                        return fail(p, "MetricsFile= names a file, got the directory \"%s\"", value);
                return parse_path(p, key, value, &d->metrics_file);
        }
        if (strcmp(key, "StateDir") == 0) {
                /* Empty: no memory of life (every judgement from one instant). */
                if (!*value) {
                        free(d->state_dir);
                        d->state_dir = NULL;
                        return 1;
                }
                return parse_path(p, key, value, &d->state_dir);
        }
        if (strcmp(key, "AdminGroup") == 0) {
                gid_t g;
                if (parse_gid(value, &g) < 0)
                        return fail(p, "AdminGroup=: unknown group \"%s\"", value);
                char *v = strdup(value);
                if (!v)
                        return fail_oom(p);
                free(d->admin_group);
                d->admin_group = v;
                return 1;
        }
        if (strcmp(key, "MaxRemovalsPerSweep") == 0)
                return parse_uint(p, key, value, CONFIG_MAX_REMOVALS_LIMIT, &d->max_removals);
        if (strcmp(key, "ArchiveMaxBytes") == 0) {
                if (parse_size(value, &d->archive_max_bytes) < 0)
                        return fail(p, "ArchiveMaxBytes= wants a size like 256M, got \"%s\"", value);
                return 1;
        }
        if (strcmp(key, "ArchiveKeep") == 0) {
                if (parse_duration(value, &d->archive_keep) < 0)
                        return fail(p, "ArchiveKeep= wants a duration like 1h, 30m or 0, got \"%s\"", value);
                return 1;
        }
        return fail(p, "unknown key %s= in [Daemon]", key);
}

static int handle_rule(struct parse *p, const char *key, const char *value) {
        _cleanup_free_ char *error = NULL;
        int r;

        if (!p->rule)
                return 1; /* its header was refused and reported */
        r = rule_set(p->rule, key, value, &error);
        if (r == -ENOENT)
                return fail(p, "unknown key %s= in [Rule %s]", key, p->rule->name);
        if (r == -ENOMEM)
                return fail_oom(p);
        if (r < 0)
                return fail(p, "%s", error ? error : "bad value");
        return 1;
}

/* List-valued rule keys collect the values of every line (as documented);
 * any other key set twice in one section of one file is a mistake that would
 * otherwise be settled silently by the last line. */
static bool repeatable(enum section section, const char *key) {
        static const char *const lists[] = { "User", "Group", "Key", "Name", "Path", "Owner" };
        if (section != SECTION_RULE)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                if (strcmp(key, lists[i]) == 0)
                        return true;
        return false;
}

/* 1 when KEY has not been set before in this section (and now is noted),
 * else the failure. */
static int first_time(struct parse *p, const char *key) {
        if (repeatable(p->section, key))
                return 1;
        for (size_t i = 0; i < p->n_seen; i++)
                if (p->seen[i].section == p->section && strcmp(p->seen[i].key, key) == 0)
                        return fail(p, "%s= is set twice in this section, first at line %u", key, p->seen[i].line);
        /* Unknown and overlong keys are refused by the handlers that follow;
         * past SEEN_KEYS_MAX only known keys could come, and there are fewer. */
        if (strlen(key) < sizeof(p->seen[0].key) && p->n_seen < SEEN_KEYS_MAX) {
                struct seen_key *k = &p->seen[p->n_seen++];
                k->section = p->section;
                strcpy(k->key, key);
                k->line = p->line;
        }
        return 1;
}

static int handler(void *userdata, const char *section, const char *key, const char *value) {
        struct parse *p = userdata;

        if (p->mode == LOAD_SOCKET) {
                /* Even after a bad Socket=, which fail() keeps as the first
                 * warning: the last valid one wins. */
                if (p->section == SECTION_DAEMON && strcmp(key, "Socket") == 0)
                        return handle_daemon(p, key, value);
                return 1;
        }
        if (p->error)
                return 1; /* report the first error only; it names its line */
        if (p->section != SECTION_NONE && p->section != SECTION_BAD && !first_time(p, key))
                return 0;
        switch (p->section) {
        case SECTION_SCAN:
                return handle_scan(p, key, value);
        case SECTION_DAEMON:
                return handle_daemon(p, key, value);
        case SECTION_RULE:
                return handle_rule(p, key, value);
        case SECTION_NONE:
                return fail(p, "%s= outside any section", key);
        case SECTION_BAD:
                return 1;
        }
        return 1;
}

/*
 * Reads one file into C.  LOAD_ALL: returns 0, or -EINVAL with *ret_msg the
 * error.  LOAD_SOCKET: returns 0, with *ret_msg the warning when Socket=
 * itself was refused or the file could not be read, or -ENOMEM.
 */
static int load_file(struct config *c, const char *path, const char *buf, size_t len, enum load_mode mode,
                     char **ret_msg) {
        struct parse p = { .buf = buf, .len = len, .path = path, .config = c, .mode = mode };
        int r;

        /* inih would read an indented line as more of the previous key's
         * value, so "  collect" under Action=keep would quietly win.  Every
         * line stands alone here. */
        ini_allow_multiline = false;
        /* inih's default line (200 bytes) is shorter than one FifoDirs= of
         * its documented 64 directories.  A heap buffer of the size wanted:
         * inih's stack one would be a variable-length array of that size. */
        ini_use_stack = false;
        ini_allow_realloc = false;
        ini_initial_alloc = (int) CONFIG_MAX_LINE;
        ini_max_line = (int) CONFIG_MAX_LINE;

        r = ini_parse_stream(reader, &p, handler, &p);
        if (mode == LOAD_SOCKET) {
                if (p.oom) {
                        free(p.error);
                        return -ENOMEM;
                }
                /* inih's own syntax errors are left to whoever reads the
                 * whole file: none of them is a Socket= we could have read. */
                if (r < 0 && !p.error && asprintf(&p.error, "%s: cannot read", path) < 0)
                        return -ENOMEM;
                *ret_msg = p.error;
                return 0;
        }
        if (!p.error)
                (void) end_rule(&p);
        if (r > 0 && (!p.error || (unsigned) r < p.error_line)) {
                /* inih returns the first line it found wrong; when that is not
                 * ours, it is its own syntax error (a line with no '=', an
                 * open '['), which came first. */
                free(p.error);
                if (asprintf(&p.error, "%s:%d: syntax error: expected [Section] or Key=Value", path, r) < 0)
                        p.error = NULL;
        }
        if (r < 0 && !p.error)
                if (asprintf(&p.error, "%s: cannot read", path) < 0)
                        p.error = NULL;
        if (p.error || r != 0) {
                *ret_msg = p.error ? p.error : strdup("out of memory");
                return -EINVAL;
        }
        return 0;
}

/* A walk over the files of one configuration, shared by config_load() and
 * config_load_socket() so that both read the same files in the same order. */
struct walk {
        struct config *config;
        enum load_mode mode;
        char *msg; /* LOAD_ALL: the error; LOAD_SOCKET: the first warning */
};

/* What a fault R with message MSG (taken; NULL when none could be made) in
 * one file means for the walk.  LOAD_ALL stops at it.  LOAD_SOCKET keeps the
 * first as the warning and goes on: a later file may still set Socket=. */
static int walk_fault(struct walk *w, int r, char *msg) {
        if (r >= 0 && !msg)
                return 0;
        if (w->mode == LOAD_ALL) {
                w->msg = msg;
                return r;
        }
        if (r == -ENOMEM || !msg) {
                free(msg);
                return -ENOMEM;
        }
        if (w->msg)
                free(msg);
        else
                w->msg = msg;
        return 0;
}

static int walk_errno(struct walk *w, const char *path, int r) {
        char *msg;

        if (asprintf(&msg, "%s: %s", path, strerror(-r)) < 0)
                msg = NULL;
        return walk_fault(w, r, msg);
}

/* Reads all of FD (PATH), at most CONFIG_MAX_FILE_SIZE bytes, into a
 * NUL-terminated *ret_buf.  A read error is an error, not the end. */
static int read_whole(int fd, const char *path, char **ret_buf, size_t *ret_len, char **ret_msg) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        for (;;) {
                if (len == cap) {
                        if (cap > CONFIG_MAX_FILE_SIZE) {
                                if (asprintf(ret_msg, "%s: larger than %u MiB, the most a configuration file may be",
                                             path, CONFIG_MAX_FILE_SIZE >> 20) < 0)
                                        *ret_msg = NULL;
                                return -EFBIG;
                        }
                        size_t ncap = cap ? 2 * cap : 16384;
                        if (ncap > CONFIG_MAX_FILE_SIZE + 1)
                                ncap = CONFIG_MAX_FILE_SIZE + 1;
                        char *nbuf = realloc(buf, ncap + 1);
                        if (!nbuf) {
                                *ret_msg = NULL;
                                return -ENOMEM;
                        }
                        buf = nbuf;
                        cap = ncap;
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = negative_errno();
                        if (asprintf(ret_msg, "%s: read error: %s", path, strerror(-r)) < 0)
                                *ret_msg = NULL;
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = 0;
        *ret_buf = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* Reads PATH into the walk, if it can be trusted (lib/trust.h) and read.
 * -ENOENT, said to no one, when MISSING_OK and it is missing. */
static int walk_file(struct walk *w, const char *path, bool missing_ok) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        char *msg = NULL;
        size_t len = 0;
        int r;

        r = trust_open(path, geteuid(), TRUST_REGULAR, &fd, &msg);
        if (r == -ENOENT && missing_ok) {
                free(msg);
                return -ENOENT;
        }
        if (r >= 0)
                r = read_whole(fd, path, &buf, &len, &msg);
        if (r < 0) {
                if (w->mode == LOAD_SOCKET && msg && r != -ENOMEM) {
                        /* Nothing of it is read, Socket= least of all: an
                         * attacker's drop-in must not point a client at the
                         * attacker's socket. */
                        char *m;
                        if (asprintf(&m, "%s (file ignored)", msg) < 0)
                                m = NULL;
                        free(msg);
                        msg = m;
                }
                /* A file that is not to be read is a bad file. */
                if (r == -EPERM || r == -EBADFD || r == -EISDIR || r == -ESTALE || r == -EFBIG)
                        r = -EINVAL;
                return walk_fault(w, r, msg);
        }
        r = load_file(w->config, path, buf, len, w->mode, &msg);
        return walk_fault(w, r, msg);
}

static int filter_conf(const char *name) {
        size_t n = strlen(name);
        return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

static int cmp_names(const void *a, const void *b) {
        return strcoll(*(char *const *) a, *(char *const *) b);
}

static int walk_dropins(struct walk *w, const char *path) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        char **names = NULL, *msg = NULL;
        size_t n = 0;
        const char *slash = strrchr(path, '/');
        int fd = -1, r = 0;

        if (asprintf(&dir, "%.*s/conf.d", slash ? (int) (slash - path) : 1, slash ? path : ".") < 0)
                return -ENOMEM;
        r = trust_open(dir, geteuid(), TRUST_DIRECTORY, &fd, &msg);
        if (r == -ENOENT || r == -ENOTDIR) {
                free(msg);
                return 0;
        }
        if (r == -EPERM)
                r = -EINVAL;
        if (r < 0)
                return walk_fault(w, r, msg);
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                (void) close(fd);
                return walk_errno(w, dir, r);
        }
        /* One more than the limit at most: a huge directory costs nothing. */
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno) {
                                r = walk_errno(w, dir, negative_errno());
                                strv_free(names, n);
                                return r;
                        }
                        break;
                }
                if (!filter_conf(de->d_name))
                        continue;
                if (n > CONFIG_MAX_DROPINS)
                        break;
                char **a = reallocarray(names, n + 1, sizeof(char *));
                if (!a || !(a[n] = strdup(de->d_name))) {
                        strv_free(a ? a : names, n);
                        return -ENOMEM;
                }
                names = a;
                n++;
        }
        if (n > CONFIG_MAX_DROPINS) {
                /* None of them, as config_load() refuses them all: which
                 * ones to read instead would be arbitrary. */
                strv_free(names, n);
                if (asprintf(&msg, "%s: more than %u drop-in files", dir, CONFIG_MAX_DROPINS) < 0)
                        msg = NULL;
                return walk_fault(w, -EINVAL, msg);
        }
        if (n)
                qsort(names, n, sizeof(char *), cmp_names);
        for (size_t i = 0; i < n && r == 0; i++) {
                _cleanup_free_ char *file = NULL;
                if (asprintf(&file, "%s/%s", dir, names[i]) < 0)
                        r = -ENOMEM;
                else
                        r = walk_file(w, file, false);
        }
        strv_free(names, n);
        return r;
}

static int walk(struct walk *w, const char *path, unsigned flags) {
        int r;

        r = walk_file(w, path, true);
        if (r == -ENOENT && !(flags & CONFIG_MUST_EXIST))
                r = 0; /* the defaults, and then any drop-ins */
        else if (r == -ENOENT && w->mode == LOAD_SOCKET)
                r = -ENOENT; /* the one fault it does not tolerate: the caller named PATH */
        else if (r == -ENOENT)
                r = walk_errno(w, path, r);
        if (r < 0)
                return r;
        if (flags & CONFIG_DROPINS)
                return walk_dropins(w, path);
        return 0;
}

int config_load(const char *path, unsigned flags, struct config **ret, char **ret_error) {
        _cleanup_(config_freep) struct config *c = NULL;
        int r;

        *ret_error = NULL;
        r = config_new_default(&c);
        if (r < 0)
                return r;

        struct walk w = { .config = c, .mode = LOAD_ALL };
        r = walk(&w, path, flags);
        if (r < 0) {
                *ret_error = w.msg;
                return r;
        }
        /* The archive lives with the memory unless told otherwise: a
         * StateDir= moved elsewhere (a test's, a container's) takes it along. */
        if (!c->daemon.archive_dir_set && c->daemon.state_dir) {
                free(c->daemon.archive_dir);
                if (asprintf(&c->daemon.archive_dir, "%s/archive", c->daemon.state_dir) < 0) {
                        c->daemon.archive_dir = NULL;
                        return -ENOMEM;
                }
        }

        *ret = TAKE_PTR(c);
        return 0;
}

int config_load_socket(const char *path, unsigned flags, char **ret_socket, char **ret_warning) {
        _cleanup_(config_freep) struct config *c = NULL;
        int r;

        /* Over the whole default configuration, so that the socket's default
         * is config_load()'s by construction. */
        r = config_new_default(&c);
        if (r < 0)
                return r;

        struct walk w = { .config = c, .mode = LOAD_SOCKET };
        r = walk(&w, path, flags);
        if (r < 0) {
                free(w.msg);
                return r;
        }

        *ret_socket = TAKE_PTR(c->daemon.socket);
        *ret_warning = w.msg;
        return 0;
}
