/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "macro.h"
#include "service.h"
#include "trust.h"

/* How long accepting stays paused when nothing closes meanwhile: the sweeps
 * and the evidence's pidfds give fds back without telling the control
 * socket. */
#define ACCEPT_RETRY_USEC (1u * 1000000u)

/*
 * Fair service.  A connection is served a turn at a time (at most
 * CONTROL_MESSAGES_PER_TURN messages, CONTROL_TURN_USEC of time): what it
 * sent beyond that waits, unparsed, on a ready list, with its io source off
 * so its socket fills and it has to wait too.  The turns of a list come
 * from a timer set to a time already past: sd-event marks timers pending
 * only after polling, so the listener and every client are polled between
 * two turns, and a timer pending takes its place among the io sources
 * pending, oldest first, where a defer source re-armed from its own
 * callback would be dispatched again before anything was polled.  Admins
 * (root, the admin group) have their own list and their io sources, the
 * listener's too, run at a higher priority: `ipcgc status` waits for one
 * turn at most, however many others queue.
 */
enum { CLASS_ADMIN, CLASS_OTHER, _CLASS_MAX };

struct conn {
        struct control *control;
        int fd;
        sd_event_source *io, *idle;
        struct peer peer;
        char *in;
        size_t in_len;
        char *out;
        size_t out_len, out_off;
        struct reply_stream *stream; /* a reply being produced as it is read */
        uint64_t last_active;
        bool closing; /* send what is queued, then close */
        bool ready;   /* on its class's ready list: a whole message waits for a turn */
        struct conn *prev, *next;
        struct conn *ready_next;
};

struct control {
        sd_event *event;
        const struct control_ops *ops;
        void *userdata;
        int fd;
        bool bound_here; /* remove the socket file on exit */
        char *path;
        sd_event_source *source;
        sd_event_source *retry; /* resumes accepting after a pause */
        bool paused;            /* not accepting: too few fds free */
        bool pause_logged;      /* this shortage is logged; forgotten once no one is left waiting */
        struct conn *conns;     /* most recently active first */
        size_t n_conns;
        /* Connections waiting for a turn, first come first served, and the
         * timer that gives the next one its turn, per class. */
        struct conn *ready_head[_CLASS_MAX], *ready_tail[_CLASS_MAX];
        sd_event_source *turn[_CLASS_MAX];
        uint64_t turn_usec; /* the time the last turn was set for */
};

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void unlink_conn(struct control *c, struct conn *k) {
        if (k->prev)
                k->prev->next = k->next;
        else
                c->conns = k->next;
        if (k->next)
                k->next->prev = k->prev;
        k->prev = k->next = NULL;
}

static void push_front(struct control *c, struct conn *k) {
        k->next = c->conns;
        if (c->conns)
                c->conns->prev = k;
        c->conns = k;
}

/* Stops accepting until fds are free again.  The listening socket stays
 * readable while connections wait, so an accept that merely gave up would
 * be called straight back, forever: the source is turned off instead, and a
 * closing connection or the retry timer turns it on again. */
static void pause_accepting(struct control *c, const char *why) {
        if (!c->paused) {
                (void) sd_event_source_set_enabled(c->source, SD_EVENT_OFF);
                (void) sd_event_source_set_time_relative(c->retry, ACCEPT_RETRY_USEC);
                (void) sd_event_source_set_enabled(c->retry, SD_EVENT_ONESHOT);
                c->paused = true;
        }
        /* Once per shortage, not once per retry. */
        if (!c->pause_logged) {
                log_msg(LOG_WARNING, "control socket: %s; not accepting connections until fds are free", why);
                c->pause_logged = true;
        }
}

static void resume_accepting(struct control *c) {
        if (!c->paused)
                return;
        if (sd_event_source_set_enabled(c->source, SD_EVENT_ON) < 0) {
                /* Deaf for good is worse than a second more: try again. */
                (void) sd_event_source_set_time_relative(c->retry, ACCEPT_RETRY_USEC);
                (void) sd_event_source_set_enabled(c->retry, SD_EVENT_ONESHOT);
                return;
        }
        (void) sd_event_source_set_enabled(c->retry, SD_EVENT_OFF);
        c->paused = false;
        log_msg(LOG_DEBUG, "control socket: accepting connections again");
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        resume_accepting(userdata);
        return 0;
}

static int class_of(const struct conn *k) {
        return k->peer.admin ? CLASS_ADMIN : CLASS_OTHER;
}

static void unready(struct conn *k) {
        struct control *c = k->control;
        int cl = class_of(k);
        struct conn *prev = NULL;

        if (!k->ready)
                return;
        /* At most CONTROL_MAX_CONNECTIONS long, and rare: a walk will do. */
        for (struct conn *x = c->ready_head[cl]; x && x != k; x = x->ready_next)
                prev = x;
        if (prev)
                prev->ready_next = k->ready_next;
        else
                c->ready_head[cl] = k->ready_next;
        if (c->ready_tail[cl] == k)
                c->ready_tail[cl] = prev;
        k->ready_next = NULL;
        k->ready = false;
}

/* K has a whole message to be answered: it waits for its turn, its io
 * source off (nothing to send, and nothing more read until then). */
static int make_ready(struct conn *k) {
        struct control *c = k->control;
        int cl = class_of(k);
        int r;

        if (!k->ready) {
                if (c->ready_tail[cl])
                        c->ready_tail[cl]->ready_next = k;
                else
                        c->ready_head[cl] = k;
                c->ready_tail[cl] = k;
                k->ready = true;
        }
        r = sd_event_source_set_enabled(k->io, SD_EVENT_OFF);
        if (r < 0)
                return r;
        /* Now, which is past once polled: a new time for each turn, as
         * sd-event does not arm its timerfd again for the time it last
         * armed it for, which may have fired already. */
        uint64_t t = now_usec();
        c->turn_usec = t > c->turn_usec ? t : c->turn_usec + 1;
        r = sd_event_source_set_time(c->turn[cl], c->turn_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->turn[cl], SD_EVENT_ONESHOT);
        return r;
}

static void conn_free(struct conn *k) {
        struct control *c = k->control;
        unready(k);
        unlink_conn(c, k);
        c->n_conns--;
        sd_event_source_disable_unref(k->io);
        sd_event_source_disable_unref(k->idle);
        (void) close(k->fd);
        free(k->in);
        free(k->out);
        if (k->stream)
                k->control->ops->stream_free(k->stream);
        free(k);
        /* Its fd is free: perhaps room for the next one waiting. */
        resume_accepting(c);
}

static void touch(struct conn *k) {
        k->last_active = now_usec();
        unlink_conn(k->control, k);
        push_front(k->control, k);
        (void) sd_event_source_set_time_relative(k->idle, CONTROL_IDLE_USEC);
        (void) sd_event_source_set_enabled(k->idle, SD_EVENT_ONESHOT);
}

static int update_events(struct conn *k) {
        uint32_t ev = 0;
        /* One request at a time: read again only when the reply is out. */
        if (k->out_off < k->out_len || k->stream)
                ev |= EPOLLOUT;
        else if (!k->closing)
                ev |= EPOLLIN;
        int r = sd_event_source_set_io_events(k->io, ev);
        if (r >= 0)
                r = sd_event_source_set_enabled(k->io, SD_EVENT_ON);
        return r;
}

/* Queues MSG (consumed) followed by the NUL that ends a Varlink message. */
static int queue(struct conn *k, json_object *msg) {
        const char *s = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *buf;

        if (!s) { /* out of memory while printing it */
                json_object_put(msg);
                return -ENOMEM;
        }
        size_t n = strlen(s) + 1;

        if (k->out_off == k->out_len) {
                k->out_off = k->out_len = 0;
        }
        buf = realloc(k->out, k->out_len + n);
        if (!buf) {
                json_object_put(msg);
                return -ENOMEM;
        }
        memcpy(buf + k->out_len, s, n);
        k->out = buf;
        k->out_len += n;
        json_object_put(msg);
        return 0;
}

/* The next piece of a streamed reply, once the last one is out; the NUL
 * that ends the message after the last piece.  A stream whose judgement
 * changed meanwhile cannot be finished: the connection is closed. */
static int refill(struct conn *k) {
        char *text;
        size_t len;
        bool done;

        int r = k->control->ops->stream_next(k->stream, &text, &len, &done);
        if (r < 0) {
                log_msg(LOG_DEBUG, "client pid %d uid %u: reply abandoned: %s", (int) k->peer.pid,
                        (unsigned) k->peer.uid, r == -ESTALE ? "the judgement changed under it" : strerror(-r));
                return r;
        }
        free(k->out);
        k->out = text;
        k->out_len = len;
        k->out_off = 0;
        if (done) {
                /* text has room for its NUL: send that too */
                k->out_len = len + 1;
                k->control->ops->stream_free(k->stream);
                k->stream = NULL;
                /* Thousands of small JSON objects came and went. */
                (void) malloc_trim(0);
        }
        return 0;
}

static void protocol_error(struct conn *k, const char *error, const char *what) {
        log_msg(LOG_DEBUG, "client pid %d uid %u: %s; disconnecting", (int) k->peer.pid, (unsigned) k->peer.uid, what);
        json_object *e = service_error(error, "parameter", what);
        if (e)
                (void) queue(k, e);
        k->closing = true;
}

/*
 * What json-c lets through and a call must not carry.  json-c keeps the
 * last of two members with one key, so {"method":"A","method":"B"} would
 * run B though a reader of the text may see A; and it cuts a key at a
 * \u0000, so "method\u0000x" would be "method".  TEXT, which json-c has
 * parsed, is walked once: every ':' outside a string starts a member, and
 * a message whose objects hold fewer members than that has a key twice.
 * Returns what is wrong, or NULL.
 */
static size_t count_members(json_object *v) {
        size_t n = 0;

        if (json_object_is_type(v, json_type_object)) {
                n = (size_t) json_object_object_length(v);
                json_object_object_foreach(v, key, val) {
                        (void) key;
                        n += count_members(val);
                }
        } else if (json_object_is_type(v, json_type_array))
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        n += count_members(json_object_array_get_idx(v, i));
        return n;
}

static const char *bad_keys(json_object *msg, const char *text, size_t len) {
        size_t members = 0;
        bool in_string = false, nul = false, nul_in_key = false;

        for (size_t i = 0; i < len; i++) {
                char c = text[i];
                if (in_string) {
                        if (c == '\\') {
                                nul |= i + 5 < len && memcmp(text + i + 1, "u0000", 5) == 0;
                                i++;
                        } else if (c == '"')
                                in_string = false;
                        continue;
                }
                if (c == '"') {
                        in_string = true;
                        nul = false;
                } else if (c == ':') {
                        members++;
                        nul_in_key |= nul; /* the string just before was a key */
                }
        }
        if (nul_in_key)
                return "a key holds a NUL";
        if (members != count_members(msg))
                return "a key appears twice in an object";
        return NULL;
}

/* The first string anywhere in V with a NUL in it (json-c keeps its
 * length), or NULL.  No name, ID, entry or user holds one, and a C string
 * would silently end there. */
static bool has_nul(json_object *v) {
        if (json_object_is_type(v, json_type_string))
                return strlen(json_object_get_string(v)) != (size_t) json_object_get_string_len(v);
        if (json_object_is_type(v, json_type_object)) {
                json_object_object_foreach(v, key, val) {
                        (void) key;
                        if (has_nul(val))
                                return true;
                }
        } else if (json_object_is_type(v, json_type_array))
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        if (has_nul(json_object_array_get_idx(v, i)))
                                return true;
        return false;
}

static void handle_message(struct conn *k, const char *text, size_t len) {
        struct json_tokener *tok = json_tokener_new_ex(32);
        json_object *msg = NULL, *method = NULL, *params = NULL, *oneway = NULL;
        const char *bad;

        if (tok) {
                /* Names go out as valid UTF-8 (ipc_escape()); what comes in
                 * must be too, or an error echoing it back would not be. */
                json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
                msg = json_tokener_parse_ex(tok, text, (int) len);
                if (json_tokener_get_error(tok) != json_tokener_success ||
                    json_tokener_get_parse_end(tok) != len) {
                        json_object_put(msg);
                        msg = NULL;
                }
                json_tokener_free(tok);
        }
        if (!msg || !json_object_is_type(msg, json_type_object)) {
                json_object_put(msg);
                protocol_error(k, "org.varlink.service.InvalidParameter", "message is not a JSON object");
                return;
        }
        if ((bad = bad_keys(msg, text, len))) {
                json_object_put(msg);
                protocol_error(k, "org.varlink.service.InvalidParameter", bad);
                return;
        }
        if (!json_object_object_get_ex(msg, "method", &method) || !json_object_is_type(method, json_type_string) ||
            has_nul(method)) {
                json_object_put(msg);
                protocol_error(k, "org.varlink.service.InvalidParameter", "method");
                return;
        }
        if (json_object_object_get_ex(msg, "parameters", &params) && !json_object_is_type(params, json_type_object) &&
            !json_object_is_type(params, json_type_null)) {
                json_object *e = service_error("org.varlink.service.InvalidParameter", "parameter", "parameters");
                if (e)
                        (void) queue(k, e);
                json_object_put(msg);
                return;
        }
        /* A parameter holding a NUL is named, as a mistyped one is. */
        if (params && json_object_is_type(params, json_type_object)) {
                json_object_object_foreach(params, pkey, pval)
                        if (has_nul(pval)) {
                                json_object *e = service_error("org.varlink.service.InvalidParameter", "parameter",
                                                               pkey);
                                if (e)
                                        (void) queue(k, e);
                                json_object_put(msg);
                                return;
                        }
        }
        bool is_oneway = json_object_object_get_ex(msg, "oneway", &oneway) && json_object_get_boolean(oneway);

        struct reply_stream *stream = NULL;
        const struct control_ops *ops = k->control->ops;
        json_object *reply = ops->call(k->control->userdata, &k->peer, json_object_get_string(method), params,
                                       &stream);
        if (is_oneway) {
                json_object_put(reply);
                if (stream)
                        ops->stream_free(stream);
        } else if (stream) {
                /* Written as the socket drains (refill); the first piece now,
                 * which is all of a short reply. */
                k->stream = stream;
                if (refill(k) < 0)
                        k->closing = true;
        }
        else if (!reply || queue(k, reply) < 0)
                k->closing = true;
        json_object_put(msg);
}

static bool has_message(const struct conn *k) {
        return k->in_len > 0 && memchr(k->in, 0, k->in_len);
}

/* One request at a time: the next is read, or answered, only once the
 * reply to the last is out. */
static bool may_take(const struct conn *k) {
        return !k->closing && k->out_off == k->out_len && !k->stream;
}

/*
 * One turn of K's: the messages it has sent, within the budget.  A oneway
 * call queues no reply, so the next message is answered straight on; but
 * it counts like any other, and so does its time.  What is left waits for
 * K's next turn.  K may be freed.
 */
static int serve(struct conn *k) {
        uint64_t start = now_usec();
        unsigned handled = 0;
        char *nul;
        int r;

        while (may_take(k) && (nul = memchr(k->in, 0, k->in_len))) {
                if (handled == CONTROL_MESSAGES_PER_TURN ||
                    (handled > 0 && now_usec() - start >= CONTROL_TURN_USEC))
                        break;
                handled++;
                size_t len = (size_t) (nul - k->in);
                handle_message(k, k->in, len);
                memmove(k->in, nul + 1, k->in_len - len - 1);
                k->in_len -= len + 1;
        }
        if (k->closing && k->out_off == k->out_len) {
                conn_free(k); /* nothing to say before closing */
                return 0;
        }
        if (k->in_len == CONTROL_MAX_MESSAGE && !has_message(k))
                protocol_error(k, "org.varlink.service.InvalidParameter", "message too large");
        r = may_take(k) && has_message(k) ? make_ready(k) : update_events(k);
        if (r < 0)
                conn_free(k);
        return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct conn *k = userdata;

        if (revents & EPOLLOUT) {
                for (;;) {
                        if (k->out_off == k->out_len && k->stream && refill(k) < 0) {
                                conn_free(k);
                                return 0;
                        }
                        if (k->out_off == k->out_len)
                                break;
                        ssize_t n = send(k->fd, k->out + k->out_off, k->out_len - k->out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
                        if (n < 0) {
                                if (errno == EAGAIN)
                                        break;
                                conn_free(k);
                                return 0;
                        }
                        k->out_off += (size_t) n;
                }
                if (k->out_off == k->out_len && !k->stream) {
                        /* A large reply is sent: give its buffer back. */
                        free(k->out);
                        k->out = NULL;
                        k->out_off = k->out_len = 0;
                        if (k->closing) {
                                conn_free(k);
                                return 0;
                        }
                }
                touch(k);
        }
        /* Read only what no message waiting before it has to wait behind. */
        if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && may_take(k) && !has_message(k)) {
                if (!k->in) {
                        k->in = malloc(CONTROL_MAX_MESSAGE);
                        if (!k->in) {
                                conn_free(k);
                                return 0;
                        }
                }
                ssize_t n = recv(k->fd, k->in + k->in_len, CONTROL_MAX_MESSAGE - k->in_len, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                        conn_free(k);
                        return 0;
                }
                if (n > 0) {
                        k->in_len += (size_t) n;
                        touch(k);
                }
        }
        return serve(k);
}

/* The next connection waiting gets its turn; the one after, a turn after
 * the next poll. */
static int on_turn(sd_event_source *s, uint64_t usec, void *userdata) {
        struct control *c = userdata;
        int cl = s == c->turn[CLASS_ADMIN] ? CLASS_ADMIN : CLASS_OTHER;
        struct conn *k = c->ready_head[cl];

        if (!k)
                return 0;
        unready(k);
        /* K goes to the back of the line, or somewhere else */
        int r = serve(k);
        if (c->ready_head[cl] && make_ready(c->ready_head[cl]) < 0)
                conn_free(c->ready_head[cl]);
        return r;
}

static int on_idle(sd_event_source *s, uint64_t usec, void *userdata) {
        struct conn *k = userdata;
        log_msg(LOG_DEBUG, "client pid %d idle for %us; disconnecting", (int) k->peer.pid,
                CONTROL_IDLE_USEC / 1000000u);
        conn_free(k);
        return 0;
}

static bool in_admin_group(int fd, gid_t admin_gid, gid_t primary) {
        gid_t groups[256];
        socklen_t len = sizeof(groups);

        if (primary == admin_gid)
                return true;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
                return false; /* too many groups or no support: not an admin */
        for (size_t i = 0; i < len / sizeof(gid_t); i++)
                if (groups[i] == admin_gid)
                        return true;
        return false;
}

/* Makes room for a newcomer: the least recently active idle connection
 * (of the same uid when PER_UID) goes, so a client hoarding connections
 * cannot lock out the next `ipcgc status`. */
static bool evict(struct control *c, bool per_uid, uid_t uid) {
        struct conn *idle = NULL, *any = NULL;
        /* The list runs newest to oldest: the last match is the oldest.  An
         * idle connection goes first; failing that, the least recently
         * active one, even with a reply pending: a client that does not read
         * its replies must not hold the daemon's door shut. */
        for (struct conn *k = c->conns; k; k = k->next)
                if (!per_uid || k->peer.uid == uid) {
                        any = k;
                        if (k->out_off == k->out_len)
                                idle = k;
                }
        struct conn *victim = idle ? idle : any;
        if (!victim)
                return false;
        log_msg(LOG_DEBUG, "connection limit: closing the least recently active connection (pid %d uid %u)",
                (int) victim->peer.pid, (unsigned) victim->peer.uid);
        conn_free(victim);
        return true;
}

static void refuse(int fd, const char *why) {
        json_object *e = service_error("io.ipcgc.TooManyConnections", "reason", why);
        const char *s = e ? json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN) : NULL;
        if (s)
                (void) send(fd, s, strlen(s) + 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        json_object_put(e);
        (void) close(fd);
}

/* Linux hands out the lowest free fd, so every fd below CFD is taken and
 * at most limit - 1 - CFD are free after it.  The reserve is a quarter of
 * the limit where that is less than CONTROL_FD_RESERVE: under a small
 * limit a daemon that refused everyone would be no better than one that
 * spun. */
static unsigned fd_reserve(rlim_t limit) {
        return limit / 4 < CONTROL_FD_RESERVE ? (unsigned) (limit / 4) : CONTROL_FD_RESERVE;
}

static bool fds_short(int cfd, unsigned *ret_reserve) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                return false;
        *ret_reserve = fd_reserve(rl.rlim_cur);
        return (rlim_t) cfd + *ret_reserve >= rl.rlim_cur;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct control *c = userdata;

        for (;;) {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0) {
                        if (errno == EAGAIN) {
                                /* Everyone waiting got in: a later shortage is news. */
                                c->pause_logged = false;
                                return 0;
                        }
                        /* That connection is gone, not the socket. */
                        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
                                continue;
                        /* EMFILE, ENFILE, ENOBUFS, ENOMEM, or anything that
                         * would fail again at once just the same. */
                        char why[128];
                        snprintf(why, sizeof(why), "accept: %s", strerror(errno));
                        pause_accepting(c, why);
                        return 0;
                }
                unsigned reserve;
                if (fds_short(cfd, &reserve)) {
                        char why[128];
                        snprintf(why, sizeof(why), "fewer than %u fds would be free", reserve);
                        refuse(cfd, "too few file descriptors free");
                        pause_accepting(c, why);
                        return 0;
                }

                struct ucred cred;
                socklen_t len = sizeof(cred);
                if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                        (void) close(cfd);
                        continue;
                }

                size_t same_uid = 0;
                for (struct conn *k = c->conns; k; k = k->next)
                        same_uid += k->peer.uid == cred.uid;
                if (same_uid >= CONTROL_MAX_PER_UID && !evict(c, true, cred.uid)) {
                        refuse(cfd, "too many connections from this user");
                        continue;
                }
                if (c->n_conns >= CONTROL_MAX_CONNECTIONS && !evict(c, false, 0)) {
                        refuse(cfd, "too many connections");
                        continue;
                }

                struct conn *k = calloc(1, sizeof(*k));
                if (!k) {
                        (void) close(cfd);
                        continue;
                }
                k->control = c;
                k->fd = cfd;
                k->peer = (struct peer) { .pid = cred.pid, .uid = cred.uid, .gid = cred.gid };
                gid_t admin_gid;
                k->peer.admin = cred.uid == 0 || (c->ops->admin_gid(c->userdata, &admin_gid) &&
                                                  in_admin_group(cfd, admin_gid, cred.gid));

                c->n_conns++;
                push_front(c, k);
                if (sd_event_add_io(c->event, &k->io, cfd, EPOLLIN, on_io, k) < 0 ||
                    sd_event_add_time_relative(c->event, &k->idle, CLOCK_MONOTONIC, CONTROL_IDLE_USEC, 0, on_idle,
                                               k) < 0 ||
                    (k->peer.admin && sd_event_source_set_priority(k->io, SD_EVENT_PRIORITY_IMPORTANT) < 0)) {
                        conn_free(k);
                        continue;
                }
                k->last_active = now_usec();
        }
}

/* Is another daemon answering at PATH? */
static bool someone_listens(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool yes;

        if (fd < 0)
                return false;
        strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
        yes = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
        (void) close(fd);
        return yes;
}

/* The socket's directory, opened once it is known that no one but root and
 * us could make, swap or write it: every directory up to it and every
 * symlink on the way trusted (lib/trust.h), the directory itself ours and
 * not writable by group or others.  Made (0755) when missing, if its parent
 * is trusted.  Elsewhere another user could have bind() and the stale-socket
 * check act in a directory of theirs, or swap what they find. */
static int open_socket_dir(const char *path, const char *dir, int *ret_fd) {
        _cleanup_free_ char *msg = NULL;
        struct stat st;
        bool made = false;
        int fd = -1, r;

        r = trust_open(dir, geteuid(), TRUST_DIRECTORY, &fd, &msg);
        if (r == -ENOENT) {
                _cleanup_free_ char *parent = strdup(dir);
                _cleanup_close_ int pfd = -EBADF;
                if (!parent)
                        return -ENOMEM;
                char *slash = strrchr(parent, '/');
                const char *base = dir + (slash - parent) + 1;
                if (slash == parent)
                        slash[1] = 0;
                else
                        *slash = 0;
                free(msg);
                msg = NULL;
                r = trust_open(parent, geteuid(), TRUST_DIRECTORY, &pfd, &msg);
                if (r >= 0) {
                        if (mkdirat(pfd, base, 0755) == 0)
                                made = true;
                        else if (errno != EEXIST) {
                                r = negative_errno();
                                log_msg(LOG_ERR, "Socket=%s: cannot make %s: %s", path, dir, strerror(-r));
                                return r;
                        }
                }
                if (r >= 0)
                        r = trust_open(dir, geteuid(), TRUST_DIRECTORY, &fd, &msg);
        }
        if (r < 0) {
                if (msg)
                        log_msg(LOG_ERR, "Socket=%s: %s; refusing to listen there", path, msg);
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                (void) close(fd);
                return r;
        }
        /* Root's /tmp/x is trusted for reading a file of root's in it, not
         * for a non-root daemon to bind in. */
        if (st.st_uid != geteuid()) {
                log_msg(LOG_ERR,
                        "Socket=%s: directory %s is owned by uid %u, not by this daemon's uid %u; "
                        "refusing to listen there",
                        path, dir, (unsigned) st.st_uid, (unsigned) geteuid());
                (void) close(fd);
                return -EPERM;
        }
        /* 0755 whatever the umask: clients must reach the socket. */
        if (made && fchmod(fd, 0755) < 0) {
                r = negative_errno();
                (void) close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static int bind_socket(struct control *c, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int dfd = -EBADF;
        struct stat st;
        int fd, r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (!slash || !slash[1])
                return -EINVAL;
        const char *base = path + (slash - dir) + 1;
        if (slash == dir)
                slash[1] = 0;
        else
                *slash = 0;
        r = open_socket_dir(path, dir, &dfd);
        if (r < 0)
                return r;

        /* In that directory only root and we can change anything, so the
         * name still means what it is checked to be. */
        if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (!S_ISSOCK(st.st_mode)) {
                        log_msg(LOG_ERR, "%s exists and is not a socket; refusing to replace it", path);
                        return -EEXIST;
                }
                if (someone_listens(path)) {
                        log_msg(LOG_ERR, "another daemon already answers on %s; refusing to start", path);
                        return -EADDRINUSE;
                }
                log_msg(LOG_INFO, "replacing stale socket %s", path);
                (void) unlinkat(dfd, base, 0);
        }

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        /* The mode is made by bind() itself, through the umask: Linux ignores
         * an fchmod of the socket before it, and a chmod by path after it
         * would follow whatever is at the path by then. */
        mode_t old = umask(0111);
        r = bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ? negative_errno() : 0;
        (void) umask(old);
        if (r < 0) {
                (void) close(fd);
                return r;
        }
        /* The file is ours from here on: a failure takes it away again. */
        if (listen(fd, 128) < 0) {
                r = negative_errno();
                (void) close(fd);
                (void) unlinkat(dfd, base, 0);
                return r;
        }
        c->bound_here = true;
        return fd;
}

int control_new(sd_event *event, const char *socket_path, const struct control_ops *ops, void *userdata,
                struct control **ret) {
        /* Every failure goes through control_free: what is made by then,
         * the fd, the socket file bound here, the sources, is taken away. */
        _cleanup_(control_freep) struct control *c = calloc(1, sizeof(*c));
        int n, r;

        if (!c)
                return -ENOMEM;
        c->event = event;
        c->ops = ops;
        c->userdata = userdata;
        c->fd = -1;

        n = sd_listen_fds(true);
        if (n > 1) {
                log_msg(LOG_ERR, "expected one socket from systemd, got %d", n);
                return -EINVAL;
        }
        if (n == 1) {
                if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
                        log_msg(LOG_ERR, "the socket from systemd is not a listening AF_UNIX stream socket");
                        return -EINVAL;
                }
                c->fd = SD_LISTEN_FDS_START;
                (void) fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        } else {
                c->path = strdup(socket_path);
                if (!c->path)
                        return -ENOMEM;
                r = bind_socket(c, c->path);
                if (r < 0) {
                        if (r != -EADDRINUSE && r != -EEXIST)
                                log_msg(LOG_ERR, "cannot listen on %s: %s", c->path, strerror(-r));
                        return r;
                }
                c->fd = r;
        }

        r = sd_event_add_io(event, &c->source, c->fd, EPOLLIN, on_accept, c);
        /* Accepting is cheap and bounded: a newcomer, perhaps an admin,
         * need not wait for the turns of those already in. */
        if (r >= 0)
                r = sd_event_source_set_priority(c->source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0) {
                /* main says nothing more: control_new says why. */
                log_msg(LOG_ERR, "cannot watch %s: %s", c->path ? c->path : "the socket from systemd", strerror(-r));
                return r;
        }
        /* Made now, so pausing cannot fail for want of memory later. */
        r = sd_event_add_time_relative(event, &c->retry, CLOCK_MONOTONIC, ACCEPT_RETRY_USEC, 0, on_retry, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->retry, SD_EVENT_OFF);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot make the control socket's retry timer: %s", strerror(-r));
                return r;
        }
        for (int cl = 0; cl < _CLASS_MAX; cl++) {
                /* Accuracy 1 us: the default would let a turn wait 250 ms. */
                r = sd_event_add_time(event, &c->turn[cl], CLOCK_MONOTONIC, 1, 1, on_turn, c);
                if (r >= 0)
                        r = sd_event_source_set_enabled(c->turn[cl], SD_EVENT_OFF);
                if (r >= 0)
                        r = sd_event_source_set_priority(c->turn[cl], cl == CLASS_ADMIN ? SD_EVENT_PRIORITY_IMPORTANT
                                                                                        : SD_EVENT_PRIORITY_NORMAL);
                if (r < 0) {
                        log_msg(LOG_ERR, "cannot make the control socket's turn timers: %s", strerror(-r));
                        return r;
                }
        }
        *ret = TAKE_PTR(c);
        return 0;
}

struct control *control_free(struct control *c) {
        if (!c)
                return NULL;
        c->paused = false; /* the connections closing must not turn accepting on again */
        while (c->conns)
                conn_free(c->conns);
        sd_event_source_disable_unref(c->source);
        sd_event_source_disable_unref(c->retry);
        for (int cl = 0; cl < _CLASS_MAX; cl++)
                sd_event_source_disable_unref(c->turn[cl]);
        if (c->fd >= 0)
                (void) close(c->fd);
        if (c->bound_here && c->path)
                (void) unlink(c->path);
        free(c->path);
        free(c);
        return NULL;
}
