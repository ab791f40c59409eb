/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <time.h>

#include "judge.h"
#include "memory.h"

/*
 * What a judgement teaches the memory of life (memory.h), and the clocks it
 * is read against.
 */

/* The clocks now, as a judgement must read the memory. */
struct clock_view {
        char boot_id[37];
        int64_t offset_usec; /* CLOCK_REALTIME - CLOCK_BOOTTIME */
        time_t step;         /* wall clock (s) after the last step seen, 0: none */
};

/* A change of REALTIME - BOOTTIME past this is a step of the wall clock,
 * not the slow slew of time keeping. */
#define CLOCK_STEP_USEC 1000000ll

/*
 * Reads the clocks and compares them with what M (may be NULL) last saw:
 * the offset moved by more than CLOCK_STEP_USEC within one boot means the
 * wall clock was stepped since, and the step is remembered.  Pids M
 * remembers from another boot are forgotten: start times count from boot.
 */
int learn_clock(struct memory *m, time_t now, struct clock_view *ret);

/*
 * The memory after judging INV (JS, one judgement per object, made from PT)
 * at NOW.  Per object: on evidence of life, the time, what it was, its
 * processes (exact start times) and their units; without, when it was first
 * seen so; UNKNOWN teaches nothing.  Remembered pids still running are kept,
 * dead ones dropped.  Entries of OLD whose type is not in COVERED (types the
 * inventory did not collect) are kept as they are; the rest, gone, are not.
 * The new memory names the state file OLD did (memory.file), so saving it
 * merges nothing nobody else wrote.  The cgroup of a process is read only
 * where it is new evidence of the object.
 */
int learn(const struct memory *old, const struct inventory *inv, const struct judgement *js, const struct proctab *pt,
          const char *proc_root, const struct clock_view *clock, unsigned covered, time_t now, struct memory **ret);

/* As learn(), *MEMORY the old memory, which is replaced by the new one and
 * freed as soon as the new one is whole (the two are held together no
 * longer than that).  On failure *MEMORY is left as it was. */
int learn_replace(struct memory **memory, const struct inventory *inv, const struct judgement *js,
                  const struct proctab *pt, const char *proc_root, const struct clock_view *clock, unsigned covered,
                  time_t now);

/* A quick judgement that kept the LIVE verdicts of INV saw that life again:
 * their last life is now. */
void learn_still_live(struct memory *m, const struct inventory *inv, const struct judgement *js, time_t now);
