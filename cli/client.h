/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

/* Replies larger than this are refused: a listing of two million objects
 * fits well inside. */
#define CLIENT_MAX_REPLY (1024u * 1024u * 1024u)

/*
 * One Varlink call on the socket at PATH.  On success returns 0 and the
 * reply's parameters in *ret_params.  When the service answers with an
 * error, returns -EREMOTEIO, its name in *ret_error (malloc'd) and its
 * parameters in *ret_params.  Connection failures are the connect(2) errno.
 */
int client_call(const char *path, const char *method, json_object *params, json_object **ret_params,
                char **ret_error);
