/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

static int parse_unsigned(const char *s, int base, char **end, uint64_t *ret) {
        unsigned long long v;

        if (base == 16 ? !isxdigit((unsigned char) *s) : !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, end, base);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_duration(const char *s, uint64_t *ret_seconds) {
        static const struct {
                const char *suffix;
                uint64_t mult;
        } units[] = {
                { "d", 86400 }, { "h", 3600 }, { "min", 60 }, { "m", 60 }, { "s", 1 }, { "", 1 },
        };
        uint64_t total = 0;

        if (!*s)
                return -EINVAL;
        while (*s) {
                uint64_t v;
                char *end;
                size_t i;
                int r;

                s += strspn(s, " ");
                r = parse_unsigned(s, 10, &end, &v);
                if (r < 0)
                        return r;
                for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                        size_t n = strlen(units[i].suffix);
                        if (strncmp(end, units[i].suffix, n) == 0 &&
                            (end[n] == 0 || end[n] == ' ' || isdigit((unsigned char) end[n])))
                                break;
                }
                if (i == sizeof(units) / sizeof(units[0]))
                        return -EINVAL;
                if (units[i].suffix[0] == 0 && end[0] != 0 && end[0] != ' ')
                        return -EINVAL;
                if (v > (UINT64_MAX - total) / units[i].mult)
                        return -ERANGE;
                total += v * units[i].mult;
                s = end + strlen(units[i].suffix);
                s += strspn(s, " ");
        }
        *ret_seconds = total;
        return 0;
}

int parse_size(const char *s, uint64_t *ret_bytes) {
        static const char suffixes[] = "KMGTPE";
        uint64_t v, mult = 1;
        char *end;
        int r;

        r = parse_unsigned(s, 10, &end, &v);
        if (r < 0)
                return r;
        if (*end) {
                const char *p = strchr(suffixes, toupper((unsigned char) *end));
                if (!p || !*p)
                        return -EINVAL;
                for (const char *q = suffixes; q <= p; q++)
                        mult *= 1024;
                end++;
                if (*end == 'i' && end[1] == 'B')
                        end += 2;
                else if (*end == 'B')
                        end++;
                if (*end)
                        return -EINVAL;
        }
        if (v > UINT64_MAX / mult)
                return -ERANGE;
        *ret_bytes = v * mult;
        return 0;
}

int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };
        for (size_t i = 0; i < 4; i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* One key: hex with 0x, else decimal, possibly negative (as /proc prints). */
static int parse_one_key(const char *s, char **end, uint32_t *ret) {
        bool neg = *s == '-';
        uint64_t v;
        int r;

        if (neg)
                s++;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
                if (neg || !isxdigit((unsigned char) s[2]))
                        return -EINVAL;
                r = parse_unsigned(s + 2, 16, end, &v);
        } else
                r = parse_unsigned(s, 10, end, &v);
        if (r < 0)
                return r;
        if (neg ? v > (uint64_t) INT32_MAX + 1 : v > UINT32_MAX)
                return -ERANGE;
        *ret = neg ? (uint32_t) (-(int64_t) v) : (uint32_t) v;
        return 0;
}

int parse_key_range(const char *s, uint32_t *ret_lo, uint32_t *ret_hi) {
        uint32_t lo, hi;
        char *end;
        int r;

        r = parse_one_key(s, &end, &lo);
        if (r < 0)
                return r;
        hi = lo;
        if (*end == '-') {
                r = parse_one_key(end + 1, &end, &hi);
                if (r < 0)
                        return r;
                if (hi < lo)
                        return -EINVAL;
        }
        if (*end)
                return -EINVAL;
        *ret_lo = lo;
        *ret_hi = hi;
        return 0;
}

static int parse_uid_one(const char *s, size_t len, uid_t *ret) {
        char buf[256];
        uint64_t v;
        char *end;

        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = 0;
        if (parse_unsigned(buf, 10, &end, &v) == 0 && *end == 0) {
                if (v >= (uid_t) -1)
                        return -ERANGE;
                *ret = (uid_t) v;
                return 0;
        }
        struct passwd *pw = getpwnam(buf);
        if (!pw)
                return -ESRCH;
        *ret = pw->pw_uid;
        return 0;
}

int parse_uid_range(const char *s, uid_t *ret_lo, uid_t *ret_hi) {
        const char *dash = strchr(s, '-');
        uid_t lo, hi;
        int r;

        /* User names may contain '-'; a range is two numbers. */
        if (dash && isdigit((unsigned char) s[0]) && isdigit((unsigned char) dash[1])) {
                r = parse_uid_one(s, (size_t) (dash - s), &lo);
                if (r >= 0)
                        r = parse_uid_one(dash + 1, strlen(dash + 1), &hi);
                if (r < 0)
                        return r;
                if (hi < lo)
                        return -EINVAL;
        } else {
                r = parse_uid_one(s, strlen(s), &lo);
                if (r < 0)
                        return r;
                hi = lo;
        }
        *ret_lo = lo;
        *ret_hi = hi;
        return 0;
}

int parse_gid(const char *s, gid_t *ret) {
        uint64_t v;
        char *end;

        if (parse_unsigned(s, 10, &end, &v) == 0 && *end == 0) {
                if (v >= (gid_t) -1)
                        return -ERANGE;
                *ret = (gid_t) v;
                return 0;
        }
        struct group *gr = getgrnam(s);
        if (!gr)
                return -ESRCH;
        *ret = gr->gr_gid;
        return 0;
}

int glob_validate(const char *p) {
        if (!*p)
                return -EINVAL;
        for (; *p; p++) {
                if (*p == '\\') {
                        if (!p[1])
                                return -EINVAL;
                        p++;
                } else if (*p == '[') {
                        const char *q = p + 1;
                        if (*q == '!' || *q == '^')
                                q++;
                        if (*q == ']')
                                q++; /* a leading ']' is a member */
                        while (*q && *q != ']')
                                q++;
                        if (!*q)
                                return -EINVAL;
                        p = q;
                }
        }
        return 0;
}
