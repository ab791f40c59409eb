/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control socket's transport (daemon/control.c) driven as the daemon's
 * event loop drives it: one control server on a socket in a scratch
 * directory for the whole run; for each input a client connects, sends the
 * input (Varlink messages, each ended by a NUL), shuts its side down and
 * reads every reply while the loop runs, until the server closes the
 * connection.  The calls are answered here, not by the manager: what is
 * under test is framing, limits, oneway calls, streamed replies and
 * closing.
 *
 * Methods: io.fuzz.Stream streams {"pieces": N} pieces (an abandoned
 * stream with "stale": K at piece K); io.fuzz.Fail answers nothing (out of
 * memory: the connection closes); anything else gets {"parameters": {}}
 * after its parameters are read as the service reads them.
 */
#include <inttypes.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "control.h"
#include "fuzz.h"
#include "service.h"

struct reply_stream {
        int64_t left, stale_at, sent;
};

static json_object *call(void *userdata, const struct peer *peer, const char *method, json_object *parameters,
                         struct reply_stream **ret_stream) {
        const char *s;
        int64_t n = 0;
        bool b;

        (void) service_param_string(parameters, "id", &s);
        (void) service_param_bool(parameters, "dry_run", &b);
        (void) service_param_int(parameters, "limit", &n);
        if (strcmp(method, "io.fuzz.Fail") == 0)
                return NULL;
        if (strcmp(method, "io.fuzz.Stream") == 0) {
                struct reply_stream *st = calloc(1, sizeof(*st));
                if (!st)
                        return NULL;
                st->left = 1;
                st->stale_at = -1;
                if (service_param_int(parameters, "pieces", &n) > 0 && n > 0)
                        st->left = n > 64 ? 64 : n;
                if (service_param_int(parameters, "stale", &n) > 0)
                        st->stale_at = n;
                *ret_stream = st;
                return NULL;
        }
        static const char *const keys[] = { "id", "dry_run", "limit", NULL };
        const char *bad = service_unknown_key(parameters, keys);
        if (bad)
                return service_invalid(bad);
        return service_ok(json_object_new_object());
}

static int stream_next(struct reply_stream *st, char **ret, size_t *ret_len, bool *ret_done) {
        char *text;
        int k;

        if (st->sent == st->stale_at)
                return -ESTALE;
        st->left--;
        k = asprintf(&text, "%s%" PRId64 "%s", st->sent == 0 ? "{\"parameters\":{\"n\":[" : ",", st->sent,
                     st->left == 0 ? "]}}" : "");
        if (k < 0)
                return -ENOMEM;
        st->sent++;
        *ret = text;
        *ret_len = (size_t) k;
        *ret_done = st->left == 0;
        return 0;
}

static void stream_free(struct reply_stream *st) {
        free(st);
}

static bool admin_gid(void *userdata, gid_t *ret) {
        *ret = 0;
        return true;
}

static const struct control_ops ops = {
        .call = call,
        .stream_next = stream_next,
        .stream_free = stream_free,
        .admin_gid = admin_gid,
};

static sd_event *event;
static struct control *control;
static struct sockaddr_un addr = { .sun_family = AF_UNIX };

static void setup(void) {
        const char *dir = fuzz_dir();

        /* Bind our own socket, never one the runner passed on. */
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDNAMES");
        snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/io.ipcgc", dir);
        if (sd_event_new(&event) < 0 || control_new(event, addr.sun_path, &ops, NULL, &control) < 0)
                abort();
}

static uint64_t now_msec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char buf[16384];
        size_t sent = 0;
        bool shut = false;
        int fd;

        if (!control)
                setup();
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
                abort();

        /* A server that never closes a connection its client has finished
         * with would keep it for CONTROL_IDLE_USEC: a bug, said as a crash. */
        uint64_t deadline = now_msec() + 5000;
        for (;;) {
                if (sent < size) {
                        ssize_t n = send(fd, data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
                        if (n > 0)
                                sent += (size_t) n;
                        else if (n < 0 && errno != EAGAIN)
                                break; /* the server closed first (a protocol error) */
                }
                if (sent == size && !shut) {
                        (void) shutdown(fd, SHUT_WR);
                        shut = true;
                }
                if (sd_event_run(event, 1000) < 0)
                        abort();
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN))
                        break; /* closed by the server */
                if (now_msec() > deadline) {
                        fprintf(stderr, "control: connection still open 5 s after the client's end\n");
                        abort();
                }
        }
        (void) close(fd);
        /* Let the server see the close of a connection it still had. */
        for (int i = 0; i < 4; i++)
                (void) sd_event_run(event, 0);
        return 0;
}
