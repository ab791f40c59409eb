/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

#include "control.h"

struct manager;

/*
 * A reply too large to be worth holding whole (List): produced a piece at a
 * time, as the client reads it, from the manager's judgement.  That
 * judgement must not change under it: the manager counts its changes
 * (state_generation), and a stream whose judgement changed ends with
 * -ESTALE, its reply unfinished (the client sees the connection close).
 */
struct api_stream;
/* The next piece of text (malloc'd, *ret_len bytes, no NUL); *ret_done once
 * the reply is complete. */
int api_stream_next(struct api_stream *s, char **ret, size_t *ret_len, bool *ret_done);
struct api_stream *api_stream_free(struct api_stream *s);

/* Answers one Varlink call.  Returns the whole reply message:
 * {"parameters": {...}} or {"error": "...", "parameters": {...}}, or NULL
 * with *ret_stream set to a reply that is to be produced a piece at a time. */
json_object *api_call(struct manager *m, const struct peer *peer, const char *method, json_object *parameters,
                      struct api_stream **ret_stream);

/* A reply carrying a named error. */
json_object *api_error(const char *error, const char *key, const char *value);
