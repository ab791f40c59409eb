/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "macro.h"

static int64_t monotonic_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int engine_open(const struct config *config, const char *proc_root, bool may_save, struct engine **ret) {
        _cleanup_(engine_freep) struct engine *e = calloc(1, sizeof(*e));
        int r;

        if (!e)
                return -ENOMEM;
        e->config = config;
        e->proc_root = proc_root ? proc_root : "/proc";
        e->may_save = may_save && config->daemon.state_dir;
        if (config->daemon.state_dir)
                r = memory_load(config->daemon.state_dir, may_save ? MEMORY_SET_ASIDE : 0, &e->memory,
                                &e->memory_warning);
        else
                r = memory_new(&e->memory);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(e);
        return 0;
}

struct engine *engine_free(struct engine *e) {
        if (!e)
                return NULL;
        memory_free(e->memory);
        free(e->memory_warning);
        free(e);
        return NULL;
}

int engine_see(struct engine *e, const struct inventory *inv) {
        e->remembers = e->config->daemon.state_dir || e->learnt;
        int r = learn_clock(e->memory, time(NULL), &e->clock);
        if (r < 0)
                return r;
        return sight_check(e->proc_root, &e->config->scan, inv, &e->sight);
}

struct judge_context engine_context(const struct engine *e, const struct proctab *pt, time_t now) {
        return (struct judge_context) {
                .proctab = pt,
                .rules = e->config->rules,
                .n_rules = e->config->n_rules,
                .now = now,
                .memory = e->remembers ? e->memory : NULL,
                .sight = &e->sight,
                .clock_step = e->clock.step,
                .self = getpid(),
        };
}

int engine_save(struct engine *e) {
        if (!e->may_save)
                return 0;
        /* Every type: what the memory holds is what was judged last, and
         * learn() carried the rest over as it was. */
        e->save_error = memory_save(e->memory, e->config->daemon.state_dir, IPC_TYPE_MASK_ALL);
        e->saved_usec = monotonic_usec();
        return e->save_error;
}

int engine_learn(struct engine *e, const struct inventory *inv, const struct judgement *js, const struct proctab *pt,
                 unsigned covered, time_t now, uint64_t min_gap_usec) {
        int r = learn_replace(&e->memory, inv, js, pt, e->proc_root, &e->clock, covered, now);
        if (r < 0)
                return r;
        e->learnt = true;
        if (e->saved_usec && monotonic_usec() - e->saved_usec < (int64_t) min_gap_usec)
                return 0;
        return engine_save(e);
}

void engine_reap_options(const struct engine *e, struct reap_options *opt) {
        opt->memory = e->remembers ? e->memory : NULL;
        opt->sight = &e->sight;
        opt->clock_step = e->clock.step;
}
