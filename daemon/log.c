/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "log.h"

static int use_journal;
static int debug;

void log_open(void) {
        /* journald's socket is there when the journal is; without it (a
         * container, a test, a host without systemd) stderr is the log. */
        struct stat st;
        use_journal = stat("/run/systemd/journal/socket", &st) == 0 && S_ISSOCK(st.st_mode);
}

void log_set_debug(int on) {
        debug = on;
}

/* __FILE__ is the path the compiler was given ("../daemon/manager.c" in a
 * build directory, an absolute one under distcheck); every file is given
 * with the same prefix, which this one's own name shows.  The journal gets
 * the path in the source tree, "daemon/manager.c". */
static const char *source_path(const char *file) {
        static const char self[] = "daemon/log.c";
        size_t n = strlen(__FILE__), prefix = n >= sizeof(self) - 1 ? n - (sizeof(self) - 1) : 0;

        if (file && strncmp(file, __FILE__, prefix) == 0 && strlen(file) > prefix)
                return file + prefix;
        return file ? file : "?";
}

static void to_stderr(struct log_site site, int priority, const char *text) {
        static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
        if (debug)
                fprintf(stderr, "ipcgcd: %s: %s:%d (%s): %s\n", names[priority & 7], source_path(site.file), site.line,
                        site.func, text);
        else
                fprintf(stderr, "ipcgcd: %s: %s\n", names[priority & 7], text);
}

/* A record is one line, whatever it quotes: a FIFO's name, a process's
 * comm or a path may hold a newline (a forged record of its own), a
 * terminal's escape sequence or a byte that is no UTF-8.  Those are written
 * \xHH (ipc_escape(), IPC_ESCAPE_TEXT); backslashes stay single, so the IDs
 * quoted, escaped already, read as `ipcgc list` prints them. */
#define LOG_LINE_MAX 2048
typedef char log_line[4 * LOG_LINE_MAX];

static const char *one_line(log_line line, const char *text) {
        (void) ipc_escape(line, sizeof(log_line), text, IPC_ESCAPE_TEXT);
        return line;
}

/* The fields every entry has, then FIELDS ("NAME=value", empty values
 * left out: journalctl FIELD= then finds only the entries that have one). */
#define BASE_FIELDS 6u
static void emit(struct log_site site, int priority, const char *message_id, const char *line,
                 const char *const *fields, size_t n_fields) {
        char message[sizeof(log_line) + 16], id[64], prio[16], file[PATH_MAX + 16], lineno[32], func[256];
        struct iovec iov[BASE_FIELDS + LOG_MAX_FIELDS];
        size_t n = 0;

#define ADD(buf, ...)                                                                                             \
        do {                                                                                                      \
                snprintf(buf, sizeof(buf), __VA_ARGS__);                                                           \
                iov[n++] = (struct iovec) { .iov_base = buf, .iov_len = strlen(buf) };                             \
        } while (0)
        ADD(message, "MESSAGE=%s", line);
        ADD(prio, "PRIORITY=%d", priority);
        ADD(file, "CODE_FILE=%s", source_path(site.file));
        ADD(lineno, "CODE_LINE=%d", site.line);
        ADD(func, "CODE_FUNC=%s", site.func ? site.func : "?");
        if (message_id)
                ADD(id, "MESSAGE_ID=%s", message_id);
#undef ADD
        for (size_t i = 0; i < n_fields && i < LOG_MAX_FIELDS; i++) {
                const char *eq = fields[i] ? strchr(fields[i], '=') : NULL;
                if (eq && eq[1])
                        iov[n++] = (struct iovec) { .iov_base = (char *) fields[i], .iov_len = strlen(fields[i]) };
        }
        if (!use_journal || sd_journal_sendv(iov, (int) n) < 0)
                to_stderr(site, priority, line);
}

static void vlog(struct log_site site, int priority, const char *message_id, const char *const *fields,
                 size_t n_fields, const char *fmt, va_list ap) {
        char buf[LOG_LINE_MAX];
        log_line line;

        vsnprintf(buf, sizeof(buf), fmt, ap);
        emit(site, priority, message_id, one_line(line, buf), fields, n_fields);
}

void log_msg_at(struct log_site site, int priority, const char *fmt, ...) {
        va_list ap;

        if (priority == LOG_DEBUG && !debug)
                return;
        va_start(ap, fmt);
        vlog(site, priority, NULL, NULL, 0, fmt, ap);
        va_end(ap);
}

void log_event_at(struct log_site site, int priority, const char *message_id, const char *const *fields,
                  size_t n_fields, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vlog(site, priority, message_id, fields, n_fields, fmt, ap);
        va_end(ap);
}

void log_record_at(struct log_site site, int priority, const char *message_id, const struct reap_record *rec,
                   uint64_t ipcns, const char *container) {
        const char *action = reap_action_to_string(rec->action);
        char buf[LOG_LINE_MAX];
        log_line line, reason, rule;
        /* IPCGC_OBJECT= is the ID as `ipcgc list` prints it, escaped
         * (ipc_object_id()): the same text finds the object with `ipcgc
         * explain` and the record with `journalctl IPCGC_OBJECT=`; the raw
         * name is its unescaping.  The catalog's texts quote these fields. */
        char f_object[sizeof(log_line) + 16], f_action[64], f_verdict[64], f_rule[sizeof(log_line) + 16],
                f_reason[sizeof(log_line) + 16], f_errno[32], f_uid[32] = "", f_key[32] = "", f_size[48] = "",
                f_archive[PATH_MAX + 16];

        if (rec->error)
                snprintf(buf, sizeof(buf), "%s %s: %s (%s)", rec->id ? rec->id : "-", action, rec->reason,
                         strerror(rec->error));
        else
                snprintf(buf, sizeof(buf), "%s %s: %s%s%s", rec->id ? rec->id : "-", action, rec->reason,
                         rec->archive ? "; archived as " : "", rec->archive ? rec->archive : "");
        snprintf(f_object, sizeof(f_object), "IPCGC_OBJECT=%s", rec->id ? rec->id : "");
        snprintf(f_action, sizeof(f_action), "IPCGC_ACTION=%s", action);
        snprintf(f_verdict, sizeof(f_verdict), "IPCGC_VERDICT=%s", verdict_to_string(rec->verdict));
        snprintf(f_rule, sizeof(f_rule), "IPCGC_RULE=%s", rec->rule ? one_line(rule, rec->rule) : "");
        snprintf(f_reason, sizeof(f_reason), "IPCGC_REASON=%s", one_line(reason, rec->reason));
        snprintf(f_errno, sizeof(f_errno), "IPCGC_ERRNO=%d", rec->error);
        if (rec->id) {
                snprintf(f_uid, sizeof(f_uid), "IPCGC_UID=%u", (unsigned) rec->uid);
                snprintf(f_size, sizeof(f_size), "IPCGC_SIZE=%llu", (unsigned long long) rec->size);
                if (ipc_type_is_sysv(rec->type))
                        snprintf(f_key, sizeof(f_key), "IPCGC_KEY=0x%08x", (unsigned) rec->key);
        }
        snprintf(f_archive, sizeof(f_archive), "IPCGC_ARCHIVE=%s", rec->archive ? rec->archive : "");
        char f_ipcns[48], f_container[sizeof(log_line) + 24];
        log_line cname;
        snprintf(f_ipcns, sizeof(f_ipcns), "IPCGC_IPCNS=%" PRIu64, ipcns);
        snprintf(f_container, sizeof(f_container), "IPCGC_CONTAINER=%s", container ? one_line(cname, container) : "");
        const char *const fields[] = { f_object, f_action, f_verdict, f_rule,    f_reason,   f_errno,
                                       f_uid,    f_key,    f_size,    f_archive, f_ipcns, f_container };
        emit(site, priority, message_id, one_line(line, buf), fields,
             ipcns ? ELEMENTSOF(fields) : ELEMENTSOF(fields) - 2);
}
