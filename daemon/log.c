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

void log_msg(int priority, const char *fmt, ...) {
        char buf[2048];
        va_list ap;

        if (priority == LOG_DEBUG && !debug)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (!use_journal || sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%d", priority, NULL) < 0)
                to_stderr(priority, buf);
}

void log_event(int priority, const char *message_id, const char *fmt, ...) {
        char buf[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (!use_journal ||
            sd_journal_send("MESSAGE=%s", buf, "MESSAGE_ID=%s", message_id, "PRIORITY=%d", priority, NULL) < 0)
                to_stderr(priority, buf);
}

void log_action(int priority, const char *message_id, const char *object, const char *action, const char *verdict,
                const char *rule, const char *reason, int error) {
        char buf[2048];

        if (error)
                snprintf(buf, sizeof(buf), "%s %s: %s (%s)", object ? object : "-", action, reason, strerror(error));
        else
                snprintf(buf, sizeof(buf), "%s %s: %s", object ? object : "-", action, reason);
        if (use_journal &&
            sd_journal_send("MESSAGE=%s", buf, "MESSAGE_ID=%s", message_id, "PRIORITY=%d", priority,
                            "IPCGC_OBJECT=%s", object ? object : "", "IPCGC_ACTION=%s", action, "IPCGC_VERDICT=%s",
                            verdict, "IPCGC_RULE=%s", rule ? rule : "", "IPCGC_REASON=%s", reason, "IPCGC_ERRNO=%d",
                            error, NULL) >= 0)
                return;
        to_stderr(priority, buf);
}
