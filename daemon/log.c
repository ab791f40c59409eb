/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
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

static void to_stderr(int priority, const char *text) {
        static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
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

static void vlog(int priority, const char *message_id, const char *fmt, va_list ap) {
        char buf[LOG_LINE_MAX];
        log_line line;
        int r;

        vsnprintf(buf, sizeof(buf), fmt, ap);
        one_line(line, buf);
        if (!use_journal)
                r = -1;
        else if (message_id)
                r = sd_journal_send("MESSAGE=%s", line, "MESSAGE_ID=%s", message_id, "PRIORITY=%d", priority, NULL);
        else
                r = sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", priority, NULL);
        if (r < 0)
                to_stderr(priority, line);
}

void log_msg(int priority, const char *fmt, ...) {
        va_list ap;

        if (priority == LOG_DEBUG && !debug)
                return;
        va_start(ap, fmt);
        vlog(priority, NULL, fmt, ap);
        va_end(ap);
}

void log_event(int priority, const char *message_id, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vlog(priority, message_id, fmt, ap);
        va_end(ap);
}

void log_record(int priority, const char *message_id, const struct reap_record *rec) {
        const char *action = reap_action_to_string(rec->action);
        char buf[LOG_LINE_MAX], key[16] = "", uid[16] = "", size[24] = "";
        log_line line, reason, rule;

        if (rec->error)
                snprintf(buf, sizeof(buf), "%s %s: %s (%s)", rec->id ? rec->id : "-", action, rec->reason,
                         strerror(rec->error));
        else
                snprintf(buf, sizeof(buf), "%s %s: %s%s%s", rec->id ? rec->id : "-", action, rec->reason,
                         rec->archive ? "; archived as " : "", rec->archive ? rec->archive : "");
        one_line(line, buf);
        if (rec->id) {
                snprintf(uid, sizeof(uid), "%u", (unsigned) rec->uid);
                snprintf(size, sizeof(size), "%llu", (unsigned long long) rec->size);
                if (ipc_type_is_sysv(rec->type))
                        snprintf(key, sizeof(key), "0x%08x", (unsigned) rec->key);
        }
        /* Empty fields are left out, as journalctl FIELD= then finds
         * only the records that have one.  IPCGC_OBJECT= is the ID as
         * `ipcgc list` prints it, escaped (ipc_object_id()): the same text
         * finds the object with `ipcgc explain` and the record with
         * `journalctl IPCGC_OBJECT=`; the raw name is its unescaping. */
        if (use_journal &&
            sd_journal_send("MESSAGE=%s", line, "MESSAGE_ID=%s", message_id, "PRIORITY=%d", priority,
                            "IPCGC_OBJECT=%s", rec->id ? rec->id : "", "IPCGC_ACTION=%s", action,
                            "IPCGC_VERDICT=%s", verdict_to_string(rec->verdict), "IPCGC_RULE=%s",
                            rec->rule ? one_line(rule, rec->rule) : "", "IPCGC_REASON=%s", one_line(reason, rec->reason),
                            "IPCGC_ERRNO=%d", rec->error, "IPCGC_UID=%s", uid, "IPCGC_KEY=%s", key, "IPCGC_SIZE=%s",
                            size, "IPCGC_ARCHIVE=%s", rec->archive ? rec->archive : "", NULL) >= 0)
                return;
        to_stderr(priority, line);
}
