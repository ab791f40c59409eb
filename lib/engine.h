/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "collect.h"
#include "config.h"
#include "judge.h"
#include "learn.h"
#include "memory.h"
#include "reap.h"
#include "sight.h"

/*
 * What every judgement is made with besides the objects and the processes:
 * the memory of life, the sight of this run, the clocks.  The daemon and
 * the CLI's --local hold one each and judge through it, so they weigh the
 * same evidence the same way.
 */
struct engine {
        const struct config *config;
        const char *proc_root;
        /* May update the state file (root's runs): others only read it. */
        bool may_save;
        struct memory *memory;   /* never NULL once opened */
        /* The memory says what was seen before: it was read from a state
         * file, or this engine has judged before.  Until then an object
         * missing from it is not seen for the first time, only not known. */
        bool remembers, learnt;
        char *memory_warning;    /* the load's one warning, until taken */
        int save_error;          /* the last save's, 0: none */
        int64_t saved_usec;      /* CLOCK_MONOTONIC of the last save */
        struct sight sight;      /* of the last engine_see */
        struct clock_view clock; /* of the last engine_see */
};

/* Loads the memory from CONFIG's StateDir= (none: an empty one). */
int engine_open(const struct config *config, const char *proc_root, bool may_save, struct engine **ret);
struct engine *engine_free(struct engine *e);
static inline void engine_freep(struct engine **p) {
        if (*p)
                engine_free(*p);
}
/* A reload: the rules change, the memory stays. */
static inline void engine_set_config(struct engine *e, const struct config *config) {
        e->config = config;
}

/* Before judging INV: reads the clocks and checks the sight. */
int engine_see(struct engine *e, const struct inventory *inv);
/* The context to judge with: E's rules, memory, sight and clock. */
struct judge_context engine_context(const struct engine *e, const struct proctab *pt, time_t now);
/* The memory learns from a judgement of the types COVERED (the old one is
 * given back as soon as the new one is whole), and is saved (when E may)
 * unless the last save is younger than MIN_GAP_USEC: the state file is read
 * again only if another process wrote it since this one read or wrote it. */
int engine_learn(struct engine *e, const struct inventory *inv, const struct judgement *js, const struct proctab *pt,
                 unsigned covered, time_t now, uint64_t min_gap_usec);
/* Saves now, if E may and anything was learnt. */
int engine_save(struct engine *e);
/* Fills what a re-judgement before removal takes from E. */
void engine_reap_options(const struct engine *e, struct reap_options *opt);
