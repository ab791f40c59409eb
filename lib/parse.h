/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Value parsers for config keys.  Each returns 0 or -EINVAL (-ERANGE when
 * the number is too large), and leaves *ret untouched on failure. */

/* "90s", "15m", "1h30m", "2d", "0"; a bare number is seconds. */
int parse_duration(const char *s, uint64_t *ret_seconds);
/* "4096", "64K", "1M", "2G" (powers of 1024). */
int parse_size(const char *s, uint64_t *ret_bytes);
/* yes/no, true/false, on/off, 1/0. */
int parse_bool(const char *s, bool *ret);
/* One key or a range, "0x1234", "4660", "-1", "0x1000-0x1fff": as the 32
 * bits of a SysV key, so ranges compare unsigned. */
int parse_key_range(const char *s, uint32_t *ret_lo, uint32_t *ret_hi);
/* A user name, a uid, or a uid range "0-999". */
int parse_uid_range(const char *s, uid_t *ret_lo, uid_t *ret_hi);
/* A group name or gid. */
int parse_gid(const char *s, gid_t *ret);
/* Accepts a shell glob that fnmatch(3) reads as meant: brackets closed, no
 * dangling backslash.  fnmatch itself silently treats such a pattern as
 * literal text, which would make a rule quietly match nothing. */
int glob_validate(const char *pattern);
