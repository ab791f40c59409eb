/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fifo.h"
#include "ipc_object.h"
#include "macro.h"

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
        c->scan.mqueue_dir = strdup(CONFIG_DEFAULT_MQUEUE_DIR);
        c->scan.shm_dir = strdup(CONFIG_DEFAULT_SHM_DIR);
        c->scan.fifo_dirs = calloc(ELEMENTSOF(default_fifo_dirs), sizeof(char *));
        if (!c->scan.mqueue_dir || !c->scan.shm_dir || !c->scan.fifo_dirs)
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

/* Parser state.  inih gives no line numbers to the handler, so the reader
 * below counts lines and every message is tagged with the current one. */
struct parse {
        FILE *f;
        unsigned line;
        const char *path;
        struct config *config;
        char *error; /* the first error, "path:line: message" */
        bool line_too_long;
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
        if (!msg || asprintf(&p->error, "%s:%u: %s", p->path, p->line, msg) < 0)
                p->error = NULL;
        free(msg);
        return 0; /* inih: handler failure */
}

static char *reader(char *str, int num, void *userdata) {
        struct parse *p = userdata;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        n = getline(&line, &cap, p->f);
        if (n < 0) {
                free(line);
                return NULL;
        }
        p->line++;
        if (n >= num) {
                /* inih would split it and misnumber everything after; refuse it. */
                if (!p->line_too_long)
                        (void) fail(p, "line too long (at most %d bytes)", num - 2);
                p->line_too_long = true;
                snprintf(str, (size_t) num, "#\n");
        } else
                memcpy(str, line, (size_t) n + 1);
        free(line);
        return str;
}

static int parse_path(struct parse *p, const char *key, const char *value, char **target) {
        if (value[0] != '/')
                return fail(p, "%s= must be an absolute path, got \"%s\"", key, value);
        if (strlen(value) >= PATH_MAX)
                return fail(p, "%s= path too long", key);
        char *s = strdup(value);
        if (!s)
                return fail(p, "out of memory");
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
                        return fail(p, "out of memory");
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
        return fail(p, "unknown key %s= in [Scan]", key);
}

static int handler(void *userdata, const char *section, const char *key, const char *value) {
        struct parse *p = userdata;

        if (p->error)
                return 1; /* report the first error only; it names its line */
        if (strcmp(section, "Scan") == 0)
                return handle_scan(p, key, value);
        if (!*section)
                return fail(p, "%s= outside any section", key);
        return fail(p, "unknown section [%s]", section);
}

int config_load(const char *path, bool must_exist, struct config **ret, char **ret_error) {
        _cleanup_(config_freep) struct config *c = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        int r;

        r = config_new_default(&c);
        if (r < 0)
                return r;

        f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT && !must_exist) {
                        *ret = TAKE_PTR(c);
                        return 0;
                }
                r = negative_errno();
                if (asprintf(ret_error, "%s: %s", path, strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }

        struct parse p = { .f = f, .path = path, .config = c };
        r = ini_parse_stream(reader, &p, handler, &p);
        if (r > 0 && !p.error)
                /* inih's own syntax error: a line with no '=', an open '['. */
                if (asprintf(&p.error, "%s:%d: syntax error: expected [Section] or Key=Value", path, r) < 0)
                        p.error = NULL;
        if (r < 0 && !p.error)
                if (asprintf(&p.error, "%s: cannot read", path) < 0)
                        p.error = NULL;
        if (p.error || r != 0) {
                *ret_error = p.error ? p.error : strdup("out of memory");
                return -EINVAL;
        }

        *ret = TAKE_PTR(c);
        return 0;
}
