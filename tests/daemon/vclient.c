/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vclient: a raw Varlink test client for ipcgcd's control socket.  It sends
 * exactly the bytes it is given, so tests can send what no real client
 * would: malformed JSON, messages without their NUL, oversized messages,
 * several requests in one write.
 *
 *   vclient [-t MS] [-c COUNT] [-p MS] [-d MS] [-w] SOCKET [DATA...]
 *
 *       Connects to SOCKET and sends every DATA argument, in one write
 *       unless -p is given.  Backslash escapes in DATA are decoded: \0 (the
 *       NUL that ends a Varlink message), \n, \t, \\ and \xHH.  A DATA of
 *       "-", or no DATA at all, sends standard input verbatim instead.
 *       Then prints each NUL-terminated message that comes back on its own
 *       line, and one last line:
 *         EOF              the server closed the connection
 *         EOF reset        ... with ECONNRESET (it closed with our bytes unread)
 *         TIMEOUT          nothing for MS milliseconds (-t, default 3000)
 *       Bytes after the last NUL when the connection ends are printed as
 *       "PARTIAL <bytes>" before EOF.  With -c COUNT it exits as soon as
 *       COUNT messages are in, printing nothing more.
 *       -p MS sends each DATA with its own write, MS milliseconds apart.
 *       -d MS waits MS milliseconds after sending before reading anything.
 *       -w shuts down the writing side once everything is sent, as
 *       `printf ... | nc -U` does.
 *       A failed send is reported on stderr ("send: ...") and reading goes
 *       on, so a reply the server managed to send is still seen.
 *
 *   vclient -H N [-P DATA] [-N] [-F] [-t MS] SOCKET
 *
 *       Opens N connections and holds them.  Each sends DATA (decoded as
 *       above; say a message without its NUL, or many whole requests) or
 *       nothing.  With -N it never reads what comes back, so the server's
 *       replies pile up unread; a closure is then seen by POLLHUP and a
 *       refusal by peeking.  Once all are
 *       connected and nothing has happened for 300 ms (at most MS, default
 *       5000), prints
 *         held N open=O closed=C refused=R failed=F
 *       where CLOSED counts connections the server closed without a word,
 *       REFUSED those it closed with io.ipcgc.TooManyConnections, FAILED
 *       those whose connect() itself failed.  Then waits for standard input
 *       to close or for SIGTERM/SIGINT, still counting closures, and prints
 *         final open=O closed=C refused=R failed=F replies=M
 *       before closing everything.  Each newline read on standard input
 *       meanwhile prints the counts so far, as "now open=O closed=C ...".
 *       With -F (flood) each connection sends DATA again and again, as fast
 *       as the server takes it in, until the end; the last line then also
 *       gives sent=BYTES, all connections together (and so do the "now"
 *       lines).
 *
 * Exit status: 0 on success, 1 when it could not connect (single mode) or
 * something else broke, 2 on a usage error.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct buf {
        char *data;
        size_t len, cap;
};

static void die_oom(void) {
        fputs("vclient: out of memory\n", stderr);
        exit(1);
}

static void buf_add(struct buf *b, const void *p, size_t n) {
        if (b->len + n > b->cap) {
                size_t nc = b->cap ? b->cap : 4096;
                while (nc < b->len + n)
                        nc *= 2;
                char *d = realloc(b->data, nc);
                if (!d)
                        die_oom();
                b->data = d;
                b->cap = nc;
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Appends S to B with its backslash escapes decoded. */
static void decode(struct buf *b, const char *s) {
        for (; *s; s++) {
                char c = *s;
                if (c == '\\' && s[1]) {
                        s++;
                        switch (*s) {
                        case '0':
                                c = 0;
                                break;
                        case 'n':
                                c = '\n';
                                break;
                        case 't':
                                c = '\t';
                                break;
                        case 'x':
                                if (hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
                                        c = (char) (hexval(s[1]) * 16 + hexval(s[2]));
                                        s += 2;
                                        break;
                                }
                                c = 'x';
                                break;
                        default:
                                c = *s;
                                break;
                        }
                }
                buf_add(b, &c, 1);
        }
}

static void read_stdin(struct buf *b) {
        char tmp[65536];
        for (;;) {
                ssize_t n = read(STDIN_FILENO, tmp, sizeof(tmp));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        fprintf(stderr, "vclient: reading stdin: %s\n", strerror(errno));
                        exit(1);
                }
                if (n == 0)
                        return;
                buf_add(b, tmp, (size_t) n);
        }
}

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = 5 };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        /* A full backlog blocks connect() at most this long. */
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                errno = e;
                return -1;
        }
        return fd;
}

/* Sends all of P; false (with the error on stderr) when the server would
 * not take it all. */
static bool send_all(int fd, const char *p, size_t n, bool quiet) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        if (!quiet)
                                fprintf(stderr, "send: %s (%zu bytes not sent)\n", strerror(errno), n);
                        return false;
                }
                p += k;
                n -= (size_t) k;
        }
        return true;
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static unsigned read_delay_ms; /* -d: wait this long before reading */

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000u, .tv_nsec = (long) (ms % 1000u) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Prints one message, keeping the output one line per message.  A raw
 * newline can only be whitespace between JSON tokens (one inside a string
 * is escaped), as between the objects of a List: a space says the same. */
static void print_message(const char *prefix, const char *p, size_t n) {
        fputs(prefix, stdout);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) p[i];
                if (c == '\n')
                        putchar(' ');
                else if (c < 0x20 || c == 0x7f)
                        printf("\\x%02x", c);
                else
                        putchar(c);
        }
        putchar('\n');
        fflush(stdout);
}

static int run_single(const char *path, char **data, int n_data, unsigned timeout_ms, long count,
                      unsigned pause_ms, bool half_close) {
        struct buf in = {}, pieces_all = {};
        long got = 0;
        int fd;

        fd = connect_to(path);
        if (fd < 0) {
                printf("CONNECT-ERROR %s\n", strerror(errno));
                return 1;
        }

        if (n_data == 0) {
                read_stdin(&pieces_all);
                (void) send_all(fd, pieces_all.data, pieces_all.len, false);
        } else if (pause_ms == 0) {
                for (int i = 0; i < n_data; i++) {
                        if (strcmp(data[i], "-") == 0)
                                read_stdin(&pieces_all);
                        else
                                decode(&pieces_all, data[i]);
                }
                (void) send_all(fd, pieces_all.data, pieces_all.len, false);
        } else {
                for (int i = 0; i < n_data; i++) {
                        struct buf one = {};
                        if (i > 0)
                                sleep_ms(pause_ms);
                        if (strcmp(data[i], "-") == 0)
                                read_stdin(&one);
                        else
                                decode(&one, data[i]);
                        bool sent = send_all(fd, one.data, one.len, false);
                        free(one.data);
                        if (!sent)
                                break;
                }
        }
        free(pieces_all.data);
        if (read_delay_ms)
                sleep_ms(read_delay_ms);
        if (half_close)
                (void) shutdown(fd, SHUT_WR);

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int r = poll(&p, 1, (int) timeout_ms);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        fprintf(stderr, "vclient: poll: %s\n", strerror(errno));
                        return 1;
                }
                if (r == 0) {
                        printf("TIMEOUT\n");
                        break;
                }
                char tmp[65536];
                ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        if (in.len > 0)
                                print_message("PARTIAL ", in.data, in.len);
                        if (n == 0)
                                printf("EOF\n");
                        else if (errno == ECONNRESET)
                                printf("EOF reset\n");
                        else
                                printf("EOF %s\n", strerror(errno));
                        break;
                }
                buf_add(&in, tmp, (size_t) n);
                char *nul;
                while (in.len > 0 && (nul = memchr(in.data, 0, in.len))) {
                        size_t len = (size_t) (nul - in.data);
                        print_message("", in.data, len);
                        memmove(in.data, nul + 1, in.len - len - 1);
                        in.len -= len + 1;
                        if (count > 0 && ++got >= count) {
                                free(in.data);
                                close(fd);
                                return 0;
                        }
                }
        }
        fflush(stdout);
        free(in.data);
        close(fd);
        return 0;
}

static volatile sig_atomic_t stop;
static bool no_read; /* -N: leave the replies unread */

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

enum { CONN_OPEN, CONN_CLOSED, CONN_REFUSED, CONN_FAILED };

struct held {
        int fd;
        int state;
        struct buf in;
        size_t off; /* -F: how much of flood_msg the current round has sent */
};

static bool flood;
static struct buf flood_msg;
static unsigned long long flood_sent;

/* -F: as much of DATA, round after round, as the socket takes now. */
static void flood_some(struct held *h) {
        for (;;) {
                ssize_t n = send(h->fd, flood_msg.data + h->off, flood_msg.len - h->off, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return; /* EAGAIN; a closure is seen by poll */
                flood_sent += (unsigned long long) n;
                h->off = (h->off + (size_t) n) % flood_msg.len;
        }
}

/* Reads what is there on H; updates its state.  Returns true when a whole
 * message that is not a refusal came in. */
static bool drain(struct held *h) {
        char tmp[4096];
        bool reply = false;

        if (no_read) {
                /* Only called on POLLHUP/POLLERR: gone.  Peek at the first
                 * message to tell a refusal from a plain hang-up. */
                ssize_t n = recv(h->fd, tmp, sizeof(tmp) - 1, MSG_DONTWAIT | MSG_PEEK);
                if (n > 0) {
                        tmp[n] = 0;
                        if (strstr(tmp, "io.ipcgc.TooManyConnections"))
                                h->state = CONN_REFUSED;
                }
                if (h->state == CONN_OPEN)
                        h->state = CONN_CLOSED;
                close(h->fd);
                h->fd = -1;
                return false;
        }

        for (;;) {
                ssize_t n = recv(h->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return reply;
                if (n <= 0) {
                        if (h->state == CONN_OPEN)
                                h->state = CONN_CLOSED;
                        close(h->fd);
                        h->fd = -1;
                        return reply;
                }
                buf_add(&h->in, tmp, (size_t) n);
                char *nul;
                while (h->in.len > 0 && (nul = memchr(h->in.data, 0, h->in.len))) {
                        size_t len = (size_t) (nul - h->in.data);
                        *nul = 0;
                        if (strstr(h->in.data, "io.ipcgc.TooManyConnections"))
                                h->state = CONN_REFUSED;
                        else
                                reply = true;
                        memmove(h->in.data, nul + 1, h->in.len - len - 1);
                        h->in.len -= len + 1;
                }
        }
}

static void counts(const struct held *hs, int n, int c[4]) {
        c[0] = c[1] = c[2] = c[3] = 0;
        for (int i = 0; i < n; i++)
                c[hs[i].state]++;
}

/* Polls the open connections for up to MS milliseconds (-1: until stdin
 * closes or a signal); returns how many changed state or replied. */
static int watch(struct held *hs, int n, int ms, bool with_stdin, long *replies) {
        struct pollfd *p = calloc((size_t) n + 1, sizeof(*p));
        int *idx = calloc((size_t) n + 1, sizeof(*idx));
        int events = 0;
        uint64_t end = ms >= 0 ? now_ms() + (uint64_t) ms : 0;

        if (!p || !idx)
                die_oom();
        while (!stop) {
                int k = 0;
                if (with_stdin) {
                        p[k] = (struct pollfd) { .fd = STDIN_FILENO, .events = POLLIN };
                        idx[k++] = -1;
                }
                for (int i = 0; i < n; i++)
                        if (hs[i].fd >= 0) {
                                /* POLLHUP and POLLERR come unasked. */
                                p[k] = (struct pollfd) { .fd = hs[i].fd, .events = no_read ? 0 : POLLIN };
                                if (flood)
                                        p[k].events |= POLLOUT;
                                idx[k++] = i;
                        }
                int left = -1;
                if (ms >= 0) {
                        uint64_t t = now_ms();
                        if (t >= end)
                                break;
                        left = (int) (end - t);
                }
                int r = poll(p, (nfds_t) k, left);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                int queries = 0;
                for (int j = 0; j < k; j++) {
                        if (!p[j].revents)
                                continue;
                        if (idx[j] < 0) {
                                char tmp[256];
                                ssize_t m = read(STDIN_FILENO, tmp, sizeof(tmp));
                                if (m <= 0 && !(m < 0 && errno == EINTR))
                                        stop = 1;
                                for (ssize_t x = 0; x < m; x++)
                                        queries += tmp[x] == '\n';
                                continue;
                        }
                        struct held *h = &hs[idx[j]];
                        if (p[j].revents == POLLOUT) {
                                flood_some(h);
                                continue;
                        }
                        int before = h->state;
                        bool replied = drain(h);
                        if (replied && replies)
                                ++*replies;
                        events += h->state != before || h->fd < 0 || replied;
                }
                /* Answered after the sockets, so closures already seen count. */
                for (; queries > 0; queries--) {
                        int c[4];
                        counts(hs, n, c);
                        printf("now open=%d closed=%d refused=%d failed=%d replies=%ld", c[CONN_OPEN],
                               c[CONN_CLOSED], c[CONN_REFUSED], c[CONN_FAILED], replies ? *replies : 0);
                        if (flood)
                                printf(" sent=%llu", flood_sent);
                        printf("\n");
                        fflush(stdout);
                }
        }
        free(p);
        free(idx);
        return events;
}

static int run_hold(const char *path, int n, const char *partial, unsigned timeout_ms) {
        struct held *hs = calloc((size_t) n, sizeof(*hs));
        struct buf msg = {};
        long replies = 0;
        int c[4];

        if (!hs)
                die_oom();
        if (partial)
                decode(&msg, partial);
        if (flood && msg.len == 0) {
                fputs("vclient: -F needs -P DATA\n", stderr);
                exit(2);
        }
        flood_msg = msg;

        struct sigaction sa = { .sa_handler = on_signal };
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        for (int i = 0; i < n; i++) {
                hs[i].fd = connect_to(path);
                if (hs[i].fd < 0) {
                        hs[i].state = CONN_FAILED;
                        continue;
                }
                if (!flood && msg.len > 0 && !send_all(hs[i].fd, msg.data, msg.len, true))
                        (void) drain(&hs[i]);
        }

        /* Let the server act on the newcomers: wait until it is quiet. */
        uint64_t end = now_ms() + timeout_ms;
        while (now_ms() < end && !stop && watch(hs, n, 300, false, &replies) > 0)
                ;
        counts(hs, n, c);
        printf("held %d open=%d closed=%d refused=%d failed=%d\n", n, c[CONN_OPEN], c[CONN_CLOSED], c[CONN_REFUSED],
               c[CONN_FAILED]);
        fflush(stdout);

        (void) watch(hs, n, -1, true, &replies);
        counts(hs, n, c);
        printf("final open=%d closed=%d refused=%d failed=%d replies=%ld", c[CONN_OPEN], c[CONN_CLOSED],
               c[CONN_REFUSED], c[CONN_FAILED], replies);
        if (flood)
                printf(" sent=%llu", flood_sent);
        printf("\n");
        fflush(stdout);

        for (int i = 0; i < n; i++) {
                if (hs[i].fd >= 0)
                        close(hs[i].fd);
                free(hs[i].in.data);
        }
        free(hs);
        free(msg.data);
        return 0;
}

static void usage(FILE *out) {
        fputs("Usage: vclient [-t MS] [-c COUNT] [-p MS] [-d MS] [-w] SOCKET [DATA...]\n"
              "       vclient -H N [-P DATA] [-N] [-F] [-t MS] SOCKET\n",
              out);
}

static long number(const char *s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || *end || end == s || v < 0) {
                fprintf(stderr, "vclient: bad number '%s'\n", s);
                exit(2);
        }
        return v;
}

int main(int argc, char **argv) {
        unsigned timeout_ms = 0, pause_ms = 0;
        long count = 0, hold = 0;
        bool half_close = false;
        const char *partial = NULL;
        int c;

        while ((c = getopt(argc, argv, "t:c:p:d:wH:P:NFh")) >= 0)
                switch (c) {
                case 't':
                        timeout_ms = (unsigned) number(optarg);
                        break;
                case 'c':
                        count = number(optarg);
                        break;
                case 'p':
                        pause_ms = (unsigned) number(optarg);
                        break;
                case 'd':
                        read_delay_ms = (unsigned) number(optarg);
                        break;
                case 'H':
                        hold = number(optarg);
                        break;
                case 'P':
                        partial = optarg;
                        break;
                case 'N':
                        no_read = true;
                        break;
                case 'F':
                        flood = true;
                        break;
                case 'w':
                        half_close = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind >= argc) {
                usage(stderr);
                return 2;
        }
        const char *path = argv[optind++];

        if (hold > 0) {
                if (optind < argc) {
                        usage(stderr);
                        return 2;
                }
                return run_hold(path, (int) hold, partial, timeout_ms ? timeout_ms : 5000);
        }
        signal(SIGPIPE, SIG_IGN);
        return run_single(path, argv + optind, argc - optind, timeout_ms ? timeout_ms : 3000, count, pause_ms, half_close);
}
