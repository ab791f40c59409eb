/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "macro.h"

static int send_all(int fd, const char *buf, size_t len) {
        while (len > 0) {
                ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

int client_call_text(const char *path, const char *method, json_object *params, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();

        json_object *msg = json_object_new_object();
        if (!msg)
                return -ENOMEM;
        json_object_object_add(msg, "method", json_object_new_string(method));
        if (params)
                json_object_object_add(msg, "parameters", json_object_get(params));
        const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        r = send_all(fd, text, strlen(text) + 1); /* with its NUL */
        json_object_put(msg);
        if (r < 0)
                return r;

        for (;;) {
                if (len == cap) {
                        if (cap >= CLIENT_MAX_REPLY)
                                return -EMSGSIZE;
                        size_t nc = cap ? cap * 2 : 65536;
                        char *b = realloc(buf, nc);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        cap = nc;
                }
                ssize_t n = recv(fd, buf + len, cap - len, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -ECONNRESET; /* closed before the reply ended */
                char *nul = memchr(buf + len, 0, (size_t) n);
                len += (size_t) n;
                if (nul) {
                        len = (size_t) (nul - buf);
                        break;
                }
        }

        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}
