/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ipc_object.h"
#include "memory.h"
#include "proctab.h"
#include "rule.h"
#include "sight.h"

enum verdict {
        VERDICT_LIVE,      /* some evidence of life holds */
        VERDICT_ORPHAN,    /* no evidence, rule says collect, old enough: collectable now */
        VERDICT_PENDING,   /* orphan, younger than MinAge */
        VERDICT_PROTECTED, /* rule says keep */
        VERDICT_REPORTED,  /* orphan, rule says report (or no rule matches) */
        VERDICT_UNKNOWN,   /* evidence could not be read; never removed */
        _VERDICT_MAX,
};

const char *verdict_to_string(enum verdict v);
int verdict_from_string(const char *s);

enum evidence_role {
        ROLE_HOLDER,       /* an fd or a mapping of the object, seen in /proc */
        ROLE_ATTACHED,     /* shm: attached (maps) */
        ROLE_NATTCH,       /* shm: the kernel's attachment count */
        ROLE_CREATOR,      /* shm cpid */
        ROLE_LAST_OP,      /* shm lpid (attach/detach) */
        ROLE_LAST_SENDER,  /* msg lspid */
        ROLE_LAST_RECEIVER,/* msg lrpid */
        ROLE_SEMPID,       /* sem: last semop pid of one semaphore */
        ROLE_WAITER,       /* sem, msg: threads blocked in semop, msgrcv, msgsnd */
        ROLE_NOTIFY,       /* mq: registered for notification */
        ROLE_UID_PROCESS,  /* never used: a live process of the creator uid */
        ROLE_OWNER,        /* the rule's Owner= source */
        ROLE_UNREADABLE,   /* a fact that could not be read */
        /* From the memory of life (memory.h); kept last: the state file
         * stores roles by number. */
        ROLE_REMEMBERED,   /* a pid seen as evidence before, still the same process */
        ROLE_UNIT,         /* lineage: a unit that was home to evidence before */
        ROLE_NEVER_SEEN,   /* NeverSeen=owner: nothing ever seen, the owner runs */
        ROLE_SIGHT,        /* the view is partial (sight.h) */
        _ROLE_MAX,
};

const char *evidence_role_to_string(enum evidence_role r);

enum evidence_state {
        EVIDENCE_ALIVE,  /* counts: this process lives and is the one recorded */
        EVIDENCE_FACT,   /* counts: a kernel count (nattch, waiters) */
        EVIDENCE_EXITED, /* does not count: no such process */
        EVIDENCE_REUSED, /* does not count: the pid now names a younger process */
        EVIDENCE_ZOMBIE, /* does not count: exited, not yet reaped */
        EVIDENCE_NONE,   /* does not count: looked, found nothing */
        EVIDENCE_UNREADABLE, /* makes the verdict UNKNOWN unless something else counts */
        _EVIDENCE_STATE_MAX,
};

const char *evidence_state_to_string(enum evidence_state s);

struct evidence {
        enum evidence_role role;
        enum evidence_state state;
        pid_t pid;           /* 0 when the evidence is not a pid */
        char comm[17];       /* of the live process, when there is one */
        uint64_t start_usec; /* of the live process */
        char *note;          /* "semaphore 2", "nattch 2", "unit foo.service", ... */
};

static inline bool evidence_counts(const struct evidence *e) {
        return e->state == EVIDENCE_ALIVE || e->state == EVIDENCE_FACT;
}

/* What the memory says of an object without life: its reason says "last
 * holder pid 412 seen 40s ago" from these and idle, rather than keeping a
 * note per object that would go stale. */
enum {
        JUDGE_GRACE_NONE,       /* nothing remembered */
        JUDGE_GRACE_LAST_LIFE,  /* the last life the memory saw */
        JUDGE_GRACE_FIRST_SEEN, /* the first sighting, no life ever seen */
};

/* Evidence kept per judgement at most; past it, what it shows still counts
 * in the verdict, it is only not listed. */
#define JUDGEMENT_MAX_EVIDENCE UINT16_MAX

/* 40 bytes: a daemon keeps one per object. */
struct judgement {
        enum verdict verdict;
        pid_t grace_pid;         /* of the last life (JUDGE_GRACE_*), 0: none or a count */
        const struct rule *rule; /* NULL: no rule matched */
        struct evidence *evidence;
        uint16_t n_evidence;
        uint8_t grace;       /* JUDGE_GRACE_*: what the memory says of the last life */
        uint8_t grace_role;  /* enum evidence_role of the last life */
        uint32_t grace_seen; /* seconds from that sighting to where the grace counts from */
        uint64_t idle;       /* seconds since the last activity (with life) or since the grace began (without) */
};

void judgement_done(struct judgement *j);

/* The one line a person reads about J ("held by pid 42 (pg)", "orphan,
 * idle 3m of MinAge 1h; ..."), written into BUF and returned.  Made from the
 * verdict, evidence, rule and idle time whenever it is asked for: it is
 * never staler than the judgement, and costs nothing to keep. */
#define JUDGEMENT_REASON_MAX 1024
const char *judgement_reason(const struct judgement *j, char buf[static JUDGEMENT_REASON_MAX]);

struct judge_context {
        const struct proctab *proctab;
        const struct rule *rules;
        size_t n_rules;
        time_t now;
        /* What was seen before (NULL: nothing remembered).  It only adds
         * life: remembered pids still running, units still running, and
         * grace counted from the last life seen. */
        const struct memory *memory;
        /* NULL or complete: objects without visible life may be judged
         * dead; partial: they are UNKNOWN. */
        const struct sight *sight;
        /* Wall clock (s) after the last step of the wall clock seen, 0:
         * none.  Pid reuse is not judged from times recorded before it,
         * and MinAge counts from it at the earliest. */
        time_t clock_step;
        /* ipcgc's own pid, never evidence; 0: ask getpid() (a system call
         * per object: judge_inventory asks once for all). */
        pid_t self;
        /* Which namespace the objects are of, for the rules' Namespace=
         * and Container=; NULL: ipcgc's own. */
        const struct rule_where *where;
};

/* Slack when comparing a process start with a second-granular object
 * timestamp: the second itself, and the lag of the clock the kernel stamps
 * SysV times from (ktime_get_real_seconds(), the coarse time, advanced by
 * the tick).  A process started just after a second began, whose semop or
 * msgsnd came before the tick did, has a time stamped with the second
 * before: 2 ms past the boundary with the stamp one second behind was seen
 * here, under load, for 33 of 1000 holders of the bench's W1, and without
 * this lag their live sets and queues were judged "reused" and removed.  A
 * tick may be late by more than one period on a loaded machine or a VM:
 * 250 ms is far beyond what was seen, and a larger slack only ever keeps
 * an object alive longer (a pid reused within it still counts as the one
 * recorded). */
#define JUDGE_COARSE_CLOCK_LAG_USEC 250000ull
#define JUDGE_PID_SLACK_USEC (1000000ull + JUDGE_COARSE_CLOCK_LAG_USEC)

/* The object's last recorded activity in the kernel's own times, as epoch
 * seconds (the grace of MinAge also counts the memory: judge_last_life). */
time_t ipc_object_last_activity(const struct ipc_object *o);
/* Where MinAge counts from: the latest of the kernel's activity times, the
 * last life ME (the object's memory, may be NULL) saw, its first sighting
 * without life when no life was ever seen (now, when the context has a
 * memory and ME is NULL), and a clock step. */
time_t judge_grace_start(const struct judge_context *ctx, const struct ipc_object *o, const struct memory_entry *me);

/* The PROCTAB_UIDS / PROCTAB_CGROUP a judgement of INV under RULES needs:
 * uids for never-used msg and sem and for Owner=uid, units for Owner=unit. */
unsigned judge_proctab_needs(const struct inventory *inv, const struct rule *rules, size_t n_rules);

int judge_object(const struct judge_context *ctx, const struct ipc_object *o, struct judgement *ret);
/* As judge_object, with the memory ME of the object (NULL: none) looked up
 * by the caller: a file re-read under another name is still itself. */
int judge_object_remembered(const struct judge_context *ctx, const struct ipc_object *o,
                            const struct memory_entry *me, struct judgement *ret);
/* One judgement per inventory object, same order. */
int judge_inventory(const struct judge_context *ctx, const struct inventory *inv, struct judgement **ret);
void judgements_free(struct judgement *j, size_t n);
