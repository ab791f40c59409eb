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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

        assert_int_equal(sd_event_new(&e), 0);
        int before = count_fds();
        assert_int_equal(control_new(e, f->sock, &ops, NULL, &c), 0);
        assert_non_null(c);
        assert_int_equal(lstat(f->sock, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0666);
        assert_true(count_fds() > before);

        assert_null(control_free(c));
        assert_false(exists(f->sock));
        assert_int_equal(count_fds(), before);
        sd_event_unref(e);
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_new_fails_after_bind, setup, teardown),
                cmocka_unit_test_setup_teardown(test_new_and_free, setup, teardown),
                cmocka_unit_test_setup_teardown(test_new_leaves_others_alone, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
