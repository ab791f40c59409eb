/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

/* Replies larger than this are refused: a listing of two million objects
 * fits well inside. */
#define CLIENT_MAX_REPLY (1024u * 1024u * 1024u)

/*
 * One Varlink call on the socket at PATH.  Returns 0 and the reply message
 * as it came (malloc'd, *RET_LEN bytes, NUL-terminated: an error reply as
 * much as a success), or the connect(2) errno, -ECONNRESET when the
 * connection closed before the reply ended, -EMSGSIZE past
 * CLIENT_MAX_REPLY.
 */
int client_call_text(const char *path, const char *method, json_object *params, char **ret, size_t *ret_len);
