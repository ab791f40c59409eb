/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FORMAT_DURATION_MAX 24
#define FORMAT_BYTES_MAX 24
#define FORMAT_PERMS_MAX 10

/* "45s", "12m", "3h", "5d", "2y": the largest whole unit, as people read an age. */
char *format_duration(char buf[static FORMAT_DURATION_MAX], uint64_t seconds);
/* "512", "4K", "1.5M": powers of 1024, as util-linux prints sizes. */
char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes);
/* "rw-r-----" */
char *format_perms(char buf[static FORMAT_PERMS_MAX], mode_t mode);
