/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* control: control_new leaves nothing behind when it fails, and control_free
 * takes away what control_new made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "control.h"
#include "macro.h"

/* The transport never calls these here: no client connects. */
static json_object *no_call(void *userdata, const struct peer *peer, const char *method, json_object *parameters,
                            struct reply_stream **ret_stream) {
        fail_msg("call(%s) made without a client", method);
        return NULL;
}

static int no_stream_next(struct reply_stream *s, char **ret, size_t *ret_len, bool *ret_done) {
        fail_msg("stream_next made without a client");
        return -EIO;
}

static void no_stream_free(struct reply_stream *s) {
}

static bool no_admin_gid(void *userdata, gid_t *ret) {
        return false;
}

static const struct control_ops ops = {
        .call = no_call,
        .stream_next = no_stream_next,
        .stream_free = no_stream_free,
        .admin_gid = no_admin_gid,
};

/* For the tests with a client: every call is answered with no parameters. */
static json_object *answer_call(void *userdata, const struct peer *peer, const char *method, json_object *parameters,
                                struct reply_stream **ret_stream) {
        json_object *reply = json_object_new_object();
        (*(unsigned *) userdata)++;
        json_object_object_add(reply, "parameters", json_object_new_object());
        return reply;
}

static const struct control_ops answering_ops = {
        .call = answer_call,
        .stream_next = no_stream_next,
        .stream_free = no_stream_free,
        .admin_gid = no_admin_gid,
};

/* Every entry of /proc/self/fd, the one opendir holds included: the same
 * count before and after a call means the call kept no fd. */
static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

struct fixture {
        char dir[64];
        char sock[128];
};

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));
        const char *base = getenv("TMPDIR");

        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "%s/test-control-XXXXXX", base && *base && strlen(base) < 32 ? base : "/tmp");
        if (!mkdtemp(f->dir)) {
                free(f);
                return -1;
        }
        snprintf(f->sock, sizeof(f->sock), "%s/sock", f->dir);
        /* control_new would take a socket the test runner happened to pass
         * on for its own: only the bound path is under test. */
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDNAMES");
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        (void) unlink(f->sock);
        (void) rmdir(f->dir);
        free(f);
        return 0;
}

static bool exists(const char *path) {
        struct stat st;
        return lstat(path, &st) == 0;
}

/* sd_event_add_io refuses a loop that has finished (-ESTALE): the first
 * thing that can fail once the socket is bound. */
static void test_new_fails_after_bind(void **state) {
        struct fixture *f = *state;
        sd_event *e = NULL;
        struct control *c = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(sd_event_exit(e, 0), 0);
        assert_int_equal(sd_event_loop(e), 0);
        assert_int_equal(sd_event_get_state(e), SD_EVENT_FINISHED);

        int before = count_fds();
        int r = control_new(e, f->sock, &ops, NULL, &c);
        int after = count_fds();

        assert_true(r < 0);
        assert_null(c);
        /* Both at once, so a failure says everything that was left. */
        if (after != before || exists(f->sock))
                fail_msg("control_new failed (%s) but left %d fd(s) more and %s", strerror(-r), after - before,
                         exists(f->sock) ? "the socket file" : "no socket file");
        sd_event_unref(e);
}

static void test_new_and_free(void **state) {
        struct fixture *f = *state;
        sd_event *e = NULL;
        struct control *c = NULL;
        struct stat st;

        /* Counted without the event: sd-event makes its timerfd for a clock
         * when the first timer on it comes, and keeps it until it goes.
         * A source control_free forgot would keep the event, and its fds. */
        int before = count_fds();
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(control_new(e, f->sock, &ops, NULL, &c), 0);
        assert_non_null(c);
        assert_int_equal(lstat(f->sock, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0666);
        assert_true(count_fds() > before);

        assert_null(control_free(c));
        assert_false(exists(f->sock));
        assert_null(sd_event_unref(e));
        assert_int_equal(count_fds(), before);
}

/* A failure must not take away what is not its own: another daemon's
 * socket, or a file that is not a socket, stays where it is. */
static void test_new_leaves_others_alone(void **state) {
        struct fixture *f = *state;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        sd_event *e = NULL;
        struct control *c = NULL;

        assert_int_equal(sd_event_new(&e), 0);
        int other = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(other >= 0);
        strcpy(sa.sun_path, f->sock);
        assert_int_equal(bind(other, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(other, 1), 0);

        int before = count_fds();
        assert_int_equal(control_new(e, f->sock, &ops, NULL, &c), -EADDRINUSE);
        assert_null(c);
        assert_true(exists(f->sock));
        assert_int_equal(count_fds(), before);
        (void) close(other);
        assert_int_equal(unlink(f->sock), 0);

        FILE *p = fopen(f->sock, "w");
        assert_non_null(p);
        fclose(p);
        before = count_fds();
        assert_int_equal(control_new(e, f->sock, &ops, NULL, &c), -EEXIST);
        assert_null(c);
        assert_true(exists(f->sock));
        assert_int_equal(count_fds(), before);
        sd_event_unref(e);
}

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        strcpy(sa.sun_path, path);
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

/* The fds the tests below take, so the next one the kernel hands out is
 * where they want it; given back by release_fds. */
struct fillers {
        int fd[256];
        size_t n;
        struct rlimit saved;
};

/* RLIMIT_NOFILE's soft limit down to LIMIT, then /dev/null opened until the
 * lowest free fd is NEXT, or until none is free when NEXT is LIMIT. */
static void take_fds(struct fillers *f, rlim_t limit, int next) {
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &f->saved), 0);
        struct rlimit rl = { .rlim_cur = limit, .rlim_max = f->saved.rlim_max };
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
        f->n = 0;
        for (;;) {
                assert_true(f->n < ELEMENTSOF(f->fd));
                int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        assert_int_equal(errno, EMFILE);
                        break;
                }
                f->fd[f->n++] = fd;
                if (fd + 1 >= next)
                        break;
        }
}

static void release_fds(struct fillers *f) {
        while (f->n > 0)
                (void) close(f->fd[--f->n]);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &f->saved), 0);
}

/* Runs the loop until CALLS counts a call or about two seconds pass: longer
 * than the retry timer takes to turn accepting on again. */
static void run_until_called(sd_event *e, unsigned *calls) {
        for (int i = 0; i < 40 && *calls == 0; i++)
                assert_true(sd_event_run(e, 50 * 1000) >= 0);
}

/* accept4 failing with EMFILE: the listening socket stays readable, so the
 * loop must not be handed on_accept again at once, and again, forever. */
static void test_emfile_pauses(void **state) {
        struct fixture *f = *state;
        struct fillers fill;
        sd_event *e = NULL;
        struct control *c = NULL;
        unsigned calls = 0;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(control_new(e, f->sock, &answering_ops, &calls, &c), 0);
        int client = connect_to(f->sock);
        const char msg[] = "{\"method\":\"org.varlink.service.GetInfo\"}";
        assert_int_equal(send(client, msg, sizeof(msg), MSG_NOSIGNAL), (ssize_t) sizeof(msg));

        take_fds(&fill, 64, 64);
        /* The accept that fails with EMFILE... */
        assert_int_equal(sd_event_run(e, 100 * 1000), 1);
        /* ...and then nothing to do: the client still waits, but the loop
         * sleeps instead of calling on_accept again. */
        int spins = 0;
        for (int i = 0; i < 3; i++)
                spins += sd_event_run(e, 50 * 1000);
        release_fds(&fill);
        assert_int_equal(spins, 0);
        assert_int_equal(calls, 0u);

        /* fds free again, nothing closed: the retry timer resumes. */
        run_until_called(e, &calls);
        assert_int_equal(calls, 1u);
        (void) close(client);
        control_free(c);
        sd_event_unref(e);
}

/* An accepted fd that leaves fewer than CONTROL_FD_RESERVE free: the client
 * is told why and accepting pauses until one closes. */
static void test_reserve_refuses(void **state) {
        struct fixture *f = *state;
        struct fillers fill;
        sd_event *e = NULL;
        struct control *c = NULL;
        unsigned calls = 0;
        char buf[512];

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(control_new(e, f->sock, &answering_ops, &calls, &c), 0);
        int first = connect_to(f->sock), second = connect_to(f->sock);
        /* 128: a limit whose quarter is the whole CONTROL_FD_RESERVE */
        take_fds(&fill, 128, 128 - CONTROL_FD_RESERVE);
        /* An fd below the reserve for FIRST: kept, nothing to say yet. */
        (void) close(fill.fd[--fill.n]);
        assert_int_equal(sd_event_run(e, 100 * 1000), 1);
        /* SECOND got the first fd of the reserve: refused, and paused. */
        struct pollfd p = { .fd = second, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 1000), 1);
        ssize_t n = recv(second, buf, sizeof(buf) - 1, 0);
        assert_true(n > 0);
        buf[n] = 0;
        assert_non_null(strstr(buf, "io.ipcgc.TooManyConnections"));
        int third = connect_to(f->sock);
        assert_int_equal(sd_event_run(e, 100 * 1000), 0);

        /* FIRST closing makes room, and THIRD is let in at once: well
         * before the retry timer. */
        (void) close(first);
        const char msg[] = "{\"method\":\"org.varlink.service.GetInfo\"}";
        assert_int_equal(send(third, msg, sizeof(msg), MSG_NOSIGNAL), (ssize_t) sizeof(msg));
        for (int i = 0; i < 5 && calls == 0; i++)
                assert_true(sd_event_run(e, 50 * 1000) >= 0);
        release_fds(&fill);
        assert_int_equal(calls, 1u);
        (void) close(second);
        (void) close(third);
        control_free(c);
        sd_event_unref(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_new_fails_after_bind, setup, teardown),
                cmocka_unit_test_setup_teardown(test_new_and_free, setup, teardown),
                cmocka_unit_test_setup_teardown(test_new_leaves_others_alone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_emfile_pauses, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reserve_refuses, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
