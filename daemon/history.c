/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "io.h"
#include "macro.h"
#include "report.h"

static void record_free(struct reap_record *r) {
        free(r->id);
        free(r->reason);
        free(r->rule);
        free(r->archive);
        *r = (struct reap_record) {};
}

static char *dup_or_null(const char *s, int *failed) {
        char *d;
        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                *failed = 1;
        return d;
}

int history_add(struct history *h, time_t when, const struct reap_record *rec) {
        int failed = 0;
        struct reap_record copy = *rec;

        copy.id = dup_or_null(rec->id, &failed);
        copy.reason = dup_or_null(rec->reason, &failed);
        copy.rule = dup_or_null(rec->rule, &failed);
        copy.archive = dup_or_null(rec->archive, &failed);
        if (failed) {
                record_free(&copy);
                return -ENOMEM;
        }

        size_t slot;
        if (h->n == HISTORY_MAX) {
                slot = h->start;
                record_free(&h->entries[slot].record);
                h->start = (h->start + 1) % HISTORY_MAX;
        } else
                slot = (h->start + h->n++) % HISTORY_MAX;
        h->entries[slot] = (struct history_entry) { .time = when, .record = copy };
        return 0;
}

const struct history_entry *history_get(const struct history *h, size_t i) {
        if (i >= h->n)
                return NULL;
        return &h->entries[(h->start + h->n - 1 - i) % HISTORY_MAX];
}

void history_clear(struct history *h) {
        for (size_t i = 0; i < h->n; i++)
                record_free(&h->entries[(h->start + i) % HISTORY_MAX].record);
        h->start = h->n = 0;
}

#define MAGIC "ipcgc-history 1\n"
/* The last line, with the number of entries: a file cut at a line's end
 * lacks it. */
#define END_PREFIX "end "
#define TMP_NAME HISTORY_FILE_NAME ".tmp"
#define BAD_NAME HISTORY_FILE_NAME ".bad"

static int write_entry(FILE *f, const struct history_entry *e) {
        json_object *j = NULL;
        int r = report_record(&e->record, &j);

        if (r < 0)
                return r;
        json_object_object_add(j, "time", json_object_new_int64(e->time));
        r = fprintf(f, "%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN)) < 0 ? -ENOMEM : 0;
        json_object_put(j);
        return r;
}

/* The file's text, in memory: at most HISTORY_MAX lines of a few hundred
 * bytes. */
static int format(const struct history *h, char **ret, size_t *ret_size) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        int r = 0;

        if (!f)
                return -ENOMEM;
        if (fputs(MAGIC, f) < 0)
                r = -ENOMEM;
        for (size_t i = h->n; r >= 0 && i > 0; i--)
                r = write_entry(f, history_get(h, i - 1));
        if (r >= 0 && fprintf(f, END_PREFIX "%zu\n", h->n) < 0)
                r = -ENOMEM;
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(text);
                return r;
        }
        *ret = text;
        *ret_size = size;
        return 0;
}

int history_save(const struct history *h, const char *dir) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = format(h, &text, &size);
        if (r < 0)
                return r;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        /* One name, so a crash leaves one file at most, replaced by the next
         * save; unlink does not follow a symlink put there.  Only the daemon
         * and `ipcgcd --once` write it, never side by side (the sweep unit's
         * ExecCondition=). */
        if (unlinkat(dfd, TMP_NAME, 0) < 0 && errno != ENOENT)
                return negative_errno();
        /* 0600 whatever the umask: what an admin's history says is not for
         * others. */
        fd = openat(dfd, TMP_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
        if (fd < 0)
                return negative_errno();
        r = fchmod(fd, 0600) < 0 ? negative_errno() : io_write_all(fd, text, size, -1);
        if (r < 0) {
                (void) unlinkat(dfd, TMP_NAME, 0);
                return r;
        }
        return io_commit_at(dfd, TMP_NAME, HISTORY_FILE_NAME, TAKE_FD(fd));
}

static int action_from_string(const char *s) {
        for (int a = 0; a < _REAP_ACTION_MAX; a++)
                if (strcmp(s, reap_action_to_string(a)) == 0)
                        return a;
        return -EINVAL;
}

static const char *jstr(json_object *j, const char *key) {
        json_object *v;
        return json_object_object_get_ex(j, key, &v) && json_object_is_type(v, json_type_string) ?
                       json_object_get_string(v) :
                       NULL;
}

static bool jint(json_object *j, const char *key, int64_t *ret) {
        json_object *v;
        if (!json_object_object_get_ex(j, key, &v) || !json_object_is_type(v, json_type_int))
                return false;
        *ret = json_object_get_int64(v);
        return true;
}

/* One line into H: 0, -ENOMEM, or -EINVAL for anything this file cannot
 * have held. */
static int read_entry(struct history *h, const char *line) {
        json_object *j = json_tokener_parse(line);
        const char *action, *verdict, *type, *id;
        int64_t t, v;
        int a, ve, ty = 0, r;

        if (!j || !json_object_is_type(j, json_type_object)) {
                json_object_put(j);
                return -EINVAL;
        }
        action = jstr(j, "action");
        verdict = jstr(j, "verdict");
        type = jstr(j, "type");
        id = jstr(j, "id");
        a = action ? action_from_string(action) : -EINVAL;
        ve = verdict ? verdict_from_string(verdict) : -EINVAL;
        if (id)
                ty = type ? ipc_type_from_string(type) : -EINVAL;
        if (a < 0 || ve < 0 || ty < 0 || !jint(j, "time", &t) || (!id) != (a == REAP_STOPPED)) {
                json_object_put(j);
                return -EINVAL;
        }
        struct reap_record rec = {
                .id = (char *) id,
                .index = SIZE_MAX,
                .type = (enum ipc_type) ty,
                .verdict = (enum verdict) ve,
                .reason = (char *) (jstr(j, "reason") ? jstr(j, "reason") : ""),
                .rule = (char *) jstr(j, "rule"),
                .action = (enum reap_action) a,
                .archive = (char *) jstr(j, "archive"),
        };
        if (jint(j, "errno", &v))
                rec.error = (int) v;
        if (jint(j, "uid", &v))
                rec.uid = (uid_t) v;
        if (jint(j, "key", &v))
                rec.key = (int32_t) v;
        if (jint(j, "size", &v))
                rec.size = (uint64_t) v;
        r = history_add(h, (time_t) t, &rec);
        json_object_put(j);
        return r;
}

static int set_aside(const char *dir, const char *path, const char *what, char **ret_warning) {
        char bad[PATH_MAX];
        bool moved = snprintf(bad, sizeof(bad), "%s/" BAD_NAME, dir) < (int) sizeof(bad) && rename(path, bad) == 0;
        return asprintf(ret_warning, "%s: %s; starting with an empty history%s", path, what,
                        moved ? " (the file is now " BAD_NAME ")" : "") < 0 ?
                       -ENOMEM :
                       0;
}

int history_load(struct history *h, const char *dir, char **ret_warning) {
        char path[PATH_MAX];
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t n_line = 0, n_lines = 0;
        bool ended = false;
        char what[128] = "";
        struct stat st;
        ssize_t k;
        int r = 0;

        history_clear(h);
        *ret_warning = NULL;
        if (snprintf(path, sizeof(path), "%s/" HISTORY_FILE_NAME, dir) >= (int) sizeof(path))
                return asprintf(ret_warning, "StateDir=%s: too long a path for the history", dir) < 0 ? -ENOMEM : 0;
        /* Not through a symlink, and never blocked by a FIFO put there. */
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                snprintf(what, sizeof(what), "cannot open: %s", strerror(errno));
                return set_aside(dir, path, what, ret_warning);
        }
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                (void) close(fd);
                return set_aside(dir, path, "not a regular file", ret_warning);
        }
        f = fdopen(fd, "r");
        if (!f) {
                (void) close(fd);
                return -ENOMEM;
        }
        if ((uint64_t) st.st_size > HISTORY_MAX_FILE_BYTES)
                snprintf(what, sizeof(what), "larger than %zu bytes", HISTORY_MAX_FILE_BYTES);
        while (!what[0] && (k = getline(&line, &n_line, f)) >= 0) {
                n_lines++;
                if ((size_t) k > HISTORY_MAX_LINE || k == 0 || line[k - 1] != '\n')
                        snprintf(what, sizeof(what), "line %zu is cut or longer than %u bytes", n_lines,
                                 HISTORY_MAX_LINE);
                else if (strlen(line) != (size_t) k)
                        snprintf(what, sizeof(what), "line %zu holds a NUL byte", n_lines);
                else if (n_lines == 1) {
                        if (strcmp(line, MAGIC) != 0)
                                snprintf(what, sizeof(what), "not an ipcgc history (version 1)");
                } else if (ended)
                        snprintf(what, sizeof(what), "line %zu follows the end", n_lines);
                else if (strncmp(line, END_PREFIX, strlen(END_PREFIX)) == 0) {
                        char *e;
                        errno = 0;
                        unsigned long long n = strtoull(line + strlen(END_PREFIX), &e, 10);
                        if (errno || *e != '\n' || n != n_lines - 2)
                                snprintf(what, sizeof(what), "line %zu: the end does not count %zu entries", n_lines,
                                         n_lines - 2);
                        ended = true;
                } else if ((r = read_entry(h, line)) == -ENOMEM) {
                        history_clear(h);
                        return -ENOMEM;
                } else if (r < 0)
                        snprintf(what, sizeof(what), "line %zu is no history entry", n_lines);
        }
        /* getline's -1 is the end, or ENOMEM, or a read error. */
        if (!what[0] && !feof(f)) {
                if (errno == ENOMEM) {
                        history_clear(h);
                        return -ENOMEM;
                }
                snprintf(what, sizeof(what), "cannot read: %s", strerror(errno));
        } else if (!what[0] && n_lines == 0)
                snprintf(what, sizeof(what), "empty");
        else if (!what[0] && !ended)
                snprintf(what, sizeof(what), "cut after line %zu (no end line)", n_lines);
        if (!what[0])
                return 0;
        history_clear(h);
        return set_aside(dir, path, what, ret_warning);
}
