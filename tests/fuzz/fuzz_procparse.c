/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The text parsers of /proc files that proctab.h and mqfs.h expose: a
 * process's stat, cgroup, one maps line, syscall, wchan, and a POSIX queue
 * file's status.  The first byte picks the parser; the rest is the text. */
#include "fuzz.h"
#include "mqfs.h"
#include "proctab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1 || size > 8192)
                return 0;
        char *s = fuzz_string(data + 1, size - 1);

        switch (data[0] % 6) {
        case 0: {
                char comm[17];
                char state = 0;
                unsigned flags = 0;
                uint64_t ticks = 0;
                memset(comm, 'x', sizeof(comm));
                if (proctab_parse_stat(s, comm, &state, &flags, &ticks) == 0 && strnlen(comm, sizeof(comm)) == sizeof(comm))
                        abort(); /* comm comes back terminated */
                break;
        }
        case 1: {
                char *unit = NULL;
                if (proctab_parse_cgroup_unit(s, &unit) == 0 && unit && !*unit)
                        abort();
                free(unit);
                break;
        }
        case 2: {
                dev_t dev;
                ino_t ino;
                bool sysv;
                (void) proctab_parse_maps_line(s, &dev, &ino, &sysv);
                break;
        }
        case 3: {
                long nr = 0;
                uint64_t args[6];
                int r = proctab_parse_syscall(s, &nr, args);
                if (r == 0 && nr < -1)
                        abort();
                break;
        }
        case 4:
                for (unsigned f = 0; f < 64; f++)
                        (void) proctab_wchan_wanted(s, f);
                (void) proctab_wchan_stopped(s);
                break;
        default: {
                uint64_t qsize = 0;
                pid_t pid = 0;
                (void) mqfs_parse_status(s, &qsize, &pid);
                break;
        }
        }
        free(s);
        return 0;
}
