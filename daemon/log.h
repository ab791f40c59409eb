/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "macro.h"
#include "reap.h"

/* Where ipcgcd's messages go: the journal with structured fields when
 * journald is there, otherwise stderr, one line each.  A control character
 * or a byte that is no UTF-8 in a message, and in IPCGC_REASON= and
 * IPCGC_RULE=, is written \xHH (see ipc_escape()), so a name cannot make a
 * line of its own; IPCGC_OBJECT= is the escaped ID. */

/* MESSAGE_IDs, one per kind of event, so `journalctl MESSAGE_ID=...` works;
 * each has its text in catalog/ipcgc.catalog, for `journalctl -x`. */
#define MESSAGE_ID_REMOVED "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d01"
#define MESSAGE_ID_SKIPPED "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d02"
#define MESSAGE_ID_FAILED "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d03"
#define MESSAGE_ID_STOPPED "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d04"
#define MESSAGE_ID_WOULD_REMOVE "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d05"
#define MESSAGE_ID_SWEEP "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d06"
#define MESSAGE_ID_RELOAD "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d07"
#define MESSAGE_ID_CONFIG_ERROR "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d08"
#define MESSAGE_ID_HISTORY "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d09"
/* A removal under Archive=no: nothing to restore, so its own text. */
#define MESSAGE_ID_REMOVED_UNARCHIVED "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d0a"

/* Every message says where it was made (CODE_FILE=, CODE_LINE=,
 * CODE_FUNC=): the callers below are macros that pass their own place down,
 * so the journal names the line that decided, not this file's.  With
 * --debug, stderr lines carry the place too. */
struct log_site {
        const char *file;
        int line;
        const char *func;
};
#define LOG_SITE ((struct log_site) { __FILE__, __LINE__, __func__ })

void log_open(void);
void log_set_debug(int on);
/* A plain message at PRIORITY (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG). */
#define log_msg(priority, ...) log_msg_at(LOG_SITE, priority, __VA_ARGS__)
void log_msg_at(struct log_site site, int priority, const char *fmt, ...) _printf_(3, 4);
/* One action on one object, with IPCGC_OBJECT=, IPCGC_ACTION=, IPCGC_REASON=,
 * IPCGC_RULE=, IPCGC_VERDICT=, IPCGC_ERRNO= fields, and what the object was:
 * IPCGC_UID=, IPCGC_KEY= (SysV), IPCGC_SIZE=, and IPCGC_ARCHIVE=, the
 * entry it was archived to.  In another IPC namespace than the daemon's
 * (IPCNS not 0), IPCGC_IPCNS= and IPCGC_CONTAINER= (empty: no name known)
 * too. */
#define log_record(priority, message_id, rec, ipcns, container) \
        log_record_at(LOG_SITE, priority, message_id, rec, ipcns, container)
void log_record_at(struct log_site site, int priority, const char *message_id, const struct reap_record *rec,
                   uint64_t ipcns, const char *container);
/* A plain message with a MESSAGE_ID. */
#define log_event(priority, message_id, ...) log_event_at(LOG_SITE, priority, message_id, NULL, 0, __VA_ARGS__)
/* The same with N_FIELDS more journal fields, each "NAME=value" (at most
 * LOG_MAX_FIELDS; stderr gets the message only). */
#define LOG_MAX_FIELDS 24u
#define log_event_fields(priority, message_id, fields, n_fields, ...) \
        log_event_at(LOG_SITE, priority, message_id, fields, n_fields, __VA_ARGS__)
void log_event_at(struct log_site site, int priority, const char *message_id, const char *const *fields,
                  size_t n_fields, const char *fmt, ...) _printf_(6, 7);
