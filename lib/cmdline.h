/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* A command line as shown, at most this many bytes of it before escaping
 * (a JVM's runs to tens of kilobytes): the rest is cut, and says so. */
#define CMDLINE_SHOWN_MAX 512u

/*
 * PID's command line from PROC_ROOT/PID/cmdline, its arguments joined by
 * blanks, cut at CMDLINE_SHOWN_MAX with "..." and escaped as free text
 * (ipc_escape(), IPC_ESCAPE_TEXT), malloc'd in *RET.  With COMM (not NULL),
 * the process must still be the one of that comm (a pid is reused; the
 * command line of another process is no evidence): -ESRCH when it is gone
 * or is another now.  -ENODATA when it has none (a kernel thread, a
 * zombie); -EACCES when it cannot be read.
 */
int cmdline_read(const char *proc_root, pid_t pid, const char *comm, char **ret);
