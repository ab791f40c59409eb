/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>

#include "format.h"

char *format_duration(char buf[static FORMAT_DURATION_MAX], uint64_t s) {
        static const struct {
                uint64_t secs;
                char unit;
        } units[] = { { 365ULL * 86400, 'y' }, { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' } };

        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (s >= units[i].secs) {
                        snprintf(buf, FORMAT_DURATION_MAX, "%" PRIu64 "%c", s / units[i].secs, units[i].unit);
                        return buf;
                }
        snprintf(buf, FORMAT_DURATION_MAX, "%" PRIu64 "s", s);
        return buf;
}

char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes) {
        static const char suffix[] = "KMGTPE";
        unsigned exp = 0;
        uint64_t v = bytes, rem = 0;

        if (bytes < 1024) {
                snprintf(buf, FORMAT_BYTES_MAX, "%" PRIu64, bytes);
                return buf;
        }
        while (v >= 1024 && exp < sizeof(suffix) - 1) {
                rem = v % 1024;
                v /= 1024;
                exp++;
        }
        /* One decimal, rounded, dropped when it is zero: "4K", "1.5M". */
        unsigned tenth = (unsigned) ((rem * 10 + 512) / 1024);
        if (tenth == 10) {
                v++;
                tenth = 0;
        }
        if (tenth)
                snprintf(buf, FORMAT_BYTES_MAX, "%" PRIu64 ".%u%c", v, tenth, suffix[exp - 1]);
        else
                snprintf(buf, FORMAT_BYTES_MAX, "%" PRIu64 "%c", v, suffix[exp - 1]);
        return buf;
}

char *format_perms(char buf[static FORMAT_PERMS_MAX], mode_t mode) {
        static const char rwx[] = "rwxrwxrwx";
        for (int i = 0; i < 9; i++)
                buf[i] = mode & (1u << (8 - i)) ? rwx[i] : '-';
        buf[9] = 0;
        return buf;
}
