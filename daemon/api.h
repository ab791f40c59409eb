/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "control.h"

/*
 * The io.ipcgc and org.varlink.service methods, as the control socket's
 * operations (control.h): each handler parses its parameters, checks what
 * the peer may do, and calls the manager and its engine.  A List is
 * written from the engine's judgement as the client reads it; that
 * judgement must not change under it: a stream whose judgement changed
 * ends with -ESTALE, its reply unfinished (the client sees the connection
 * close).  userdata is the struct manager.
 */
extern const struct control_ops api_ops;
