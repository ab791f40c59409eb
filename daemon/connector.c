/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connector.h"
#include "macro.h"

/* The initial PID namespace's inode number is fixed (PROC_PID_INIT_INO). */
#define PROC_PID_INIT_INO 0xEFFFFFFCU

struct connector {
        int fd;
        sd_event_source *source;
        connector_exit_fn cb;
        void *userdata;
};

struct connector *connector_free(struct connector *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->source);
        if (c->fd >= 0)
                (void) close(c->fd);
        free(c);
        return NULL;
}

static int on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct connector *c = userdata;

        for (;;) {
                /* Aligned for the netlink headers we overlay on it. */
                union {
                        struct nlmsghdr h;
                        char buf[8192];
                } u;
                struct sockaddr_nl from;
                struct iovec iov = { .iov_base = u.buf, .iov_len = sizeof(u.buf) };
                struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        if (errno == ENOBUFS) {
                                c->cb(0, c->userdata); /* lost some: treat any pid as gone */
                                continue;
                        }
                        return 0;
                }
                if (from.nl_pid != 0)
                        continue; /* not from the kernel: ignore forged events */

                for (struct nlmsghdr *h = &u.h; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_type == NLMSG_NOOP || h->nlmsg_type == NLMSG_ERROR)
                                continue;
                        struct cn_msg *cn = NLMSG_DATA(h);
                        if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC ||
                            cn->len < sizeof(struct proc_event))
                                continue;
                        /* cn->data sits 4 bytes off the alignment proc_event
                         * wants: copy it out rather than read it in place. */
                        struct proc_event ev;
                        memcpy(&ev, cn->data, sizeof(ev));
                        if (ev.what == PROC_EVENT_EXIT &&
                            ev.event_data.exit.process_pid == ev.event_data.exit.process_tgid)
                                c->cb(ev.event_data.exit.process_tgid, c->userdata);
                }
        }
}

int connector_new(sd_event *e, connector_exit_fn cb, void *userdata, struct connector **ret) {
        _cleanup_free_ struct connector *c = NULL;
        struct stat st;
        int r;

        if (stat("/proc/self/ns/pid", &st) < 0)
                return negative_errno();
        if (st.st_ino != PROC_PID_INIT_INO)
                return -EOPNOTSUPP;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->cb = cb;
        c->userdata = userdata;
        c->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
        if (c->fd < 0)
                return negative_errno();

        struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
        if (bind(c->fd, (struct sockaddr *) &addr, sizeof(addr)) < 0) {
                r = negative_errno();
                (void) close(c->fd);
                return r;
        }
        /* A large receive buffer rides out exit storms. */
        int size = 4 << 20;
        (void) setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));

        struct {
                struct nlmsghdr h;
                struct cn_msg cn;
                enum proc_cn_mcast_op op;
        } __attribute__((packed)) req = {
                .h = { .nlmsg_len = sizeof(req), .nlmsg_type = NLMSG_DONE, .nlmsg_pid = 0 },
                .cn = { .id = { .idx = CN_IDX_PROC, .val = CN_VAL_PROC }, .len = sizeof(enum proc_cn_mcast_op) },
                .op = PROC_CN_MCAST_LISTEN,
        };
        if (send(c->fd, &req, sizeof(req), 0) < 0) {
                r = negative_errno();
                (void) close(c->fd);
                return r;
        }

        r = sd_event_add_io(e, &c->source, c->fd, EPOLLIN, on_event, c);
        if (r < 0) {
                (void) close(c->fd);
                return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}
