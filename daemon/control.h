/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct manager;
struct control;

/* Limits on what clients can make large. */
#define CONTROL_MAX_CONNECTIONS 128u
#define CONTROL_MAX_PER_UID 32u
#define CONTROL_MAX_MESSAGE (64u * 1024u)
#define CONTROL_IDLE_USEC (30u * 1000000u)
#define CONTROL_MESSAGES_PER_WAKEUP 8u

/* Who is asking, from SO_PEERCRED and SO_PEERGROUPS. */
struct peer {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        bool admin; /* root, or a member of AdminGroup */
};

/* The Varlink control socket: from socket activation when systemd passed
 * one, else bound at the configured path.  Refuses to start when another
 * daemon answers there; replaces a stale socket file. */
int control_new(struct manager *m, struct control **ret);
struct control *control_free(struct control *c);
