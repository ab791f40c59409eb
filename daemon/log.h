/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"
#include "reap.h"

/* Where ipcgcd's messages go: the journal with structured fields when
 * journald is there, otherwise stderr, one line each.  A control character
 * or a byte that is no UTF-8 in a message, and in IPCGC_REASON= and
 * IPCGC_RULE=, is written \xHH (see ipc_escape()), so a name cannot make a
 * line of its own; IPCGC_OBJECT= is the escaped ID. */

/* MESSAGE_IDs, one per kind of event, so `journalctl MESSAGE_ID=...` works. */
#define MESSAGE_ID_REMOVED "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d01"
#define MESSAGE_ID_SKIPPED "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d02"
#define MESSAGE_ID_FAILED "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d03"
#define MESSAGE_ID_STOPPED "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d04"
#define MESSAGE_ID_WOULD_REMOVE "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d05"
#define MESSAGE_ID_SWEEP "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d06"
#define MESSAGE_ID_RELOAD "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d07"
#define MESSAGE_ID_CONFIG_ERROR "9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d08"

void log_open(void);
void log_set_debug(int on);
/* A plain message at PRIORITY (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG). */
void log_msg(int priority, const char *fmt, ...) _printf_(2, 3);
/* One action on one object, with IPCGC_OBJECT=, IPCGC_ACTION=, IPCGC_REASON=,
 * IPCGC_RULE=, IPCGC_VERDICT=, IPCGC_ERRNO= fields, and what the object was:
 * IPCGC_UID=, IPCGC_KEY= (SysV), IPCGC_SIZE=, and IPCGC_ARCHIVE=, the
 * entry it was archived to. */
void log_record(int priority, const char *message_id, const struct reap_record *rec);
/* A plain message with a MESSAGE_ID. */
void log_event(int priority, const char *message_id, const char *fmt, ...) _printf_(3, 4);
