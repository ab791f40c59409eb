/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

/*
 * The Varlink control socket as a transport: it accepts, checks who is
 * asking (SO_PEERCRED, SO_PEERGROUPS), bounds what each client can make
 * large, frames messages, and hands each call to the OPS it was given.  It
 * knows nothing of what a call means.
 */

struct control;

/* Limits on what clients can make large. */
#define CONTROL_MAX_CONNECTIONS 128u
#define CONTROL_MAX_PER_UID 32u
#define CONTROL_MAX_MESSAGE (64u * 1024u)
#define CONTROL_IDLE_USEC (30u * 1000000u)
/* A connection's turn: at most this many messages, oneway or not, and no
 * new one begun once this much time has gone (the first always is). */
#define CONTROL_MESSAGES_PER_TURN 8u
#define CONTROL_TURN_USEC 2000u
/* No connection is accepted while fewer fds than this (or a quarter of
 * RLIMIT_NOFILE, if less) are free: the sweeps and the pidfds of the
 * evidence need them more than one more client. */
#define CONTROL_FD_RESERVE 32u

/* Who is asking, from SO_PEERCRED and SO_PEERGROUPS. */
struct peer {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        bool admin; /* root, or a member of the admin group */
};

/* A reply too large to be worth holding whole, produced a piece at a time
 * as the client reads it (ops->stream_next). */
struct reply_stream;

struct control_ops {
        /* Answers one call: the whole reply message ({"parameters": ...} or
         * {"error": ..., "parameters": ...}), or NULL with *ret_stream set
         * to a reply to be produced a piece at a time, or NULL alone when
         * out of memory (the connection is closed). */
        json_object *(*call)(void *userdata, const struct peer *peer, const char *method, json_object *parameters,
                             struct reply_stream **ret_stream);
        /* The next piece of text (malloc'd, *ret_len bytes, no NUL);
         * *ret_done once the reply is complete.  <0: abandon the reply and
         * close the connection. */
        int (*stream_next)(struct reply_stream *s, char **ret, size_t *ret_len, bool *ret_done);
        void (*stream_free)(struct reply_stream *s);
        /* The admin group's gid as resolved when the configuration was
         * loaded; false when there is none. */
        bool (*admin_gid)(void *userdata, gid_t *ret);
};

/* Listens on the socket systemd passed, else binds SOCKET_PATH.  Refuses to
 * start when another daemon answers there; replaces a stale socket file.
 * On failure nothing is left behind: no fd, no socket file. */
int control_new(sd_event *event, const char *socket_path, const struct control_ops *ops, void *userdata,
                struct control **ret);
struct control *control_free(struct control *c);
static inline void control_freep(struct control **p) {
        if (*p)
                control_free(*p);
}
