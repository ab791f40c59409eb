/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * clockshift.so: an LD_PRELOAD shim that moves one process's wall clock by
 * $IPCGC_CLOCK_SHIFT seconds (may be negative) and leaves every other clock,
 * and the kernel's own, alone: what a step of the wall clock (NTP makestep,
 * a machine without an RTC setting the time late) looks like to a program
 * that judges timestamps the kernel took before the step.
 *
 * Shifted: clock_gettime(CLOCK_REALTIME, CLOCK_REALTIME_COARSE), time(),
 * gettimeofday().  CLOCK_BOOTTIME and CLOCK_MONOTONIC are not, so
 * REALTIME - BOOTTIME moves by the shift, as it does in a real step.
 *
 * The real clocks are read with raw system calls, not through the next
 * definition of the symbol: under ASan, libasan comes first in the preload
 * list and intercepts clock_gettime; calling the kernel directly keeps this
 * shim out of that chain's order.  Built without sanitizers.
 */
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long shift_seconds(void) {
        const char *s = getenv("IPCGC_CLOCK_SHIFT");
        return s ? strtol(s, NULL, 10) : 0;
}

static int real_clock_gettime(clockid_t id, struct timespec *ts) {
        return (int) syscall(SYS_clock_gettime, id, ts);
}

int clock_gettime(clockid_t id, struct timespec *ts) {
        int r = real_clock_gettime(id, ts);
        if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
                ts->tv_sec += shift_seconds();
        return r;
}

time_t time(time_t *t) {
        struct timespec ts;
        if (real_clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return (time_t) -1;
        time_t now = ts.tv_sec + shift_seconds();
        if (t)
                *t = now;
        return now;
}

/* The timezone argument is obsolete; glibc ignores it too.  Both pointers
 * are declared nonnull, as in glibc. */
int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
        (void) tz;
        struct timespec ts;
        if (real_clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return -1;
        tv->tv_sec = ts.tv_sec + shift_seconds();
        tv->tv_usec = ts.tv_nsec / 1000;
        return 0;
}
