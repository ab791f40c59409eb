/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

/*
 * The kernel's process connector: a netlink multicast of process events.
 * ipcgcd listens for exits to re-judge promptly the objects whose evidence
 * was the exiting process.  The kernel serves it only to listeners in the
 * initial PID and user namespaces, with CAP_NET_ADMIN.
 */
struct connector;

/* Called for every thread-group exit; PID 0 means events were lost (the
 * socket overflowed), so any pid may have exited. */
typedef void (*connector_exit_fn)(pid_t pid, void *userdata);

/* -EOPNOTSUPP outside the initial PID namespace; other errors from the
 * socket calls (EPERM without CAP_NET_ADMIN). */
int connector_new(sd_event *e, connector_exit_fn cb, void *userdata, struct connector **ret);
struct connector *connector_free(struct connector *c);
