/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

#include "control.h"

struct manager;

/* Answers one Varlink call.  Returns the whole reply message:
 * {"parameters": {...}} or {"error": "...", "parameters": {...}}, or NULL
 * with the reply already written as text in *ret_text (malloc'd, length in
 * *ret_len) when it is too large to be worth a JSON tree (List). */
json_object *api_call(struct manager *m, const struct peer *peer, const char *method, json_object *parameters,
                      char **ret_text, size_t *ret_len);

/* A reply carrying a named error. */
json_object *api_error(const char *error, const char *key, const char *value);
