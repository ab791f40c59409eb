/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "judge.h"
#include "unit.h"

static const char *const verdict_names[_VERDICT_MAX] = {
        [VERDICT_LIVE] = "LIVE",           [VERDICT_ORPHAN] = "ORPHAN",     [VERDICT_PENDING] = "PENDING",
        [VERDICT_PROTECTED] = "PROTECTED", [VERDICT_REPORTED] = "REPORTED", [VERDICT_UNKNOWN] = "UNKNOWN",
};

const char *verdict_to_string(enum verdict v) {
        return (unsigned) v < _VERDICT_MAX ? verdict_names[v] : NULL;
}

int verdict_from_string(const char *s) {
        for (int v = 0; v < _VERDICT_MAX; v++)
                if (strcasecmp(s, verdict_names[v]) == 0)
                        return v;
        return -EINVAL;
}

static const char *const role_names[_ROLE_MAX] = {
        [ROLE_HOLDER] = "holder",
        [ROLE_ATTACHED] = "attached",
        [ROLE_NATTCH] = "nattch",
        [ROLE_CREATOR] = "creator",
        [ROLE_LAST_OP] = "last-op",
        [ROLE_LAST_SENDER] = "last-sender",
        [ROLE_LAST_RECEIVER] = "last-receiver",
        [ROLE_SEMPID] = "semop",
        [ROLE_WAITER] = "waiters",
        [ROLE_NOTIFY] = "notify",
        [ROLE_UID_PROCESS] = "uid-process",
        [ROLE_OWNER] = "owner",
        [ROLE_UNREADABLE] = "unreadable",
        [ROLE_REMEMBERED] = "remembered",
        [ROLE_UNIT] = "unit",
        [ROLE_NEVER_SEEN] = "never-seen",
        [ROLE_SIGHT] = "sight",
};

const char *evidence_role_to_string(enum evidence_role r) {
        return (unsigned) r < _ROLE_MAX ? role_names[r] : NULL;
}

static const char *const state_names[_EVIDENCE_STATE_MAX] = {
        [EVIDENCE_ALIVE] = "alive",   [EVIDENCE_FACT] = "fact",     [EVIDENCE_EXITED] = "exited",
        [EVIDENCE_REUSED] = "reused", [EVIDENCE_ZOMBIE] = "zombie", [EVIDENCE_NONE] = "none",
        [EVIDENCE_UNREADABLE] = "unreadable",
};

const char *evidence_state_to_string(enum evidence_state s) {
        return (unsigned) s < _EVIDENCE_STATE_MAX ? state_names[s] : NULL;
}

void judgement_done(struct judgement *j) {
        for (size_t i = 0; i < j->n_evidence; i++)
                free(j->evidence[i].note);
        free(j->evidence);
        *j = (struct judgement) {};
}

void judgements_free(struct judgement *j, size_t n) {
        if (!j)
                return;
        for (size_t i = 0; i < n; i++)
                judgement_done(&j[i]);
        free(j);
}

static time_t max_time(time_t a, time_t b) {
        return a > b ? a : b;
}

time_t ipc_object_last_activity(const struct ipc_object *o) {
        switch (o->type) {
        case IPC_TYPE_SHM:
                return max_time(o->ctime, max_time(o->atime, o->dtime));
        case IPC_TYPE_MQ:
                /* Reading a queue's status file moves its ctime, ours included:
                 * only receive (atime) and send (mtime) are activity. */
                return max_time(o->atime, o->mtime);
        default:
                return max_time(o->ctime, max_time(o->atime, o->mtime));
        }
}

/* Builder for one judgement. */
struct builder {
        const struct judge_context *ctx;
        const struct ipc_object *o;
        struct judgement *j;
        const struct memory_entry *memory; /* what was seen of O before, or NULL */
        pid_t self;                        /* ipcgc's own process: never evidence */
        /* A pid the kernel recorded, gone now, that the memory knows was
         * another uid's than the owner's and the creator's. */
        pid_t foreign;
        uid_t foreign_uid;
        bool live, unreadable;
        int error;
};

static struct evidence *add(struct builder *b, enum evidence_role role, enum evidence_state state, pid_t pid,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static struct evidence *add(struct builder *b, enum evidence_role role, enum evidence_state state, pid_t pid,
                            const char *fmt, ...) {
        struct judgement *j = b->j;
        struct evidence *a = NULL;

        if (j->n_evidence >= JUDGEMENT_MAX_EVIDENCE) {
                /* counted, not listed */
                if (state == EVIDENCE_ALIVE || state == EVIDENCE_FACT)
                        b->live = true;
                if (state == EVIDENCE_UNREADABLE)
                        b->unreadable = true;
                return NULL;
        }
        a = reallocarray(j->evidence, j->n_evidence + 1, sizeof(*a));
        if (!a) {
                b->error = -ENOMEM;
                return NULL;
        }
        j->evidence = a;
        struct evidence *e = &a[j->n_evidence++];
        *e = (struct evidence) { .role = role, .state = state, .pid = pid };
        if (fmt) {
                va_list ap;
                va_start(ap, fmt);
                if (vasprintf(&e->note, fmt, ap) < 0) {
                        e->note = NULL;
                        b->error = -ENOMEM;
                }
                va_end(ap);
        }
        if (evidence_counts(e))
                b->live = true;
        if (state == EVIDENCE_UNREADABLE)
                b->unreadable = true;
        return e;
}

static void fill_process(struct evidence *e, const struct process *p) {
        if (!e || !p)
                return;
        memcpy(e->comm, p->comm, sizeof(e->comm));
        e->start_usec = p->start_usec;
}

static bool process_alive(const struct process *p) {
        return p && !(p->flags & PROCESS_ZOMBIE);
}

/* A process that can be evidence of an object's life: alive, and not ipcgc
 * itself (its reads of the objects and of /proc are not a use). */
static bool process_counts(const struct builder *b, const struct process *p) {
        return process_alive(p) && p->pid != b->self;
}

/*
 * A pid recorded by the kernel at time EVENT (epoch seconds; 0 = unknown).
 * It counts only if that process started no later than the event: a younger
 * process with the same number got the pid by reuse.
 */
static void consider_pid(struct builder *b, enum evidence_role role, pid_t pid, time_t event, const char *note) {
        const struct process *p;
        enum evidence_state state;

        if (pid <= 0)
                return;
        p = proctab_find(b->ctx->proctab, pid);
        if (!p)
                state = EVIDENCE_EXITED;
        else if (p->flags & PROCESS_ZOMBIE)
                state = EVIDENCE_ZOMBIE;
        else if (p->pid == b->self)
                return;
        else if (event > 0 && p->start_usec > (uint64_t) event * 1000000ull + JUDGE_PID_SLACK_USEC) {
                /* A time recorded before a step of the wall clock is on
                 * another scale than the start time computed now: no
                 * verdict of reuse from it. */
                if (b->ctx->clock_step > 0 && event <= b->ctx->clock_step + 1) {
                        fill_process(add(b, role, EVIDENCE_ALIVE, pid, "%s%sreuse not judged: the clock was stepped",
                                         strempty(note), note ? "; " : ""),
                                     p);
                        return;
                }
                state = EVIDENCE_REUSED;
        } else
                state = EVIDENCE_ALIVE;
        fill_process(add(b, role, state, pid, note ? "%s" : NULL, note), p);
        if (state != EVIDENCE_ALIVE && b->memory && !b->foreign) {
                for (unsigned i = 0; i < b->memory->n_pids; i++) {
                        struct memory_pid mp = memory_entry_pid(b->ctx->memory, b->memory, i);
                        if (mp.pid == pid && mp.uid != (uid_t) -1 && mp.uid != b->o->uid && mp.uid != b->o->cuid) {
                                b->foreign = pid;
                                b->foreign_uid = mp.uid;
                        }
                }
        }
}

static void consider_holders(struct builder *b, enum evidence_role role) {
        for (size_t i = 0; i < b->o->n_holders; i++) {
                const struct process *p = proctab_find(b->ctx->proctab, b->o->holders[i]);
                if (p && p->pid == b->self)
                        continue;
                /* Seen holding it during this scan: no reuse question. */
                fill_process(add(b, role, process_alive(p) ? EVIDENCE_ALIVE : EVIDENCE_EXITED, b->o->holders[i], NULL),
                             p);
        }
}

/* A process whose /proc entry was refused (hidepid=1): its uid, start and
 * holdings are unknown.  0: none. */
static pid_t first_unreadable(const struct builder *b) {
        const struct proctab *t = b->ctx->proctab;
        for (size_t i = 0; i < t->n_procs; i++)
                if ((t->procs[i].flags & PROCESS_UNREADABLE) && t->procs[i].pid != b->self)
                        return t->procs[i].pid;
        return 0;
}

static void consider_uid(struct builder *b, enum evidence_role role, uid_t uid, const char *why) {
        const struct proctab *t = b->ctx->proctab;

        if (!(t->flags & PROCTAB_UIDS)) {
                /* Built without uids: say so rather than find no one. */
                add(b, role, EVIDENCE_UNREADABLE, 0, "%s: process uids were not read", why);
                return;
        }
        for (size_t i = 0; i < t->n_procs; i++) {
                const struct process *p = &t->procs[i];
                if (process_counts(b, p) && !(p->flags & PROCESS_KTHREAD) && (p->ruid == uid || p->euid == uid)) {
                        fill_process(add(b, role, EVIDENCE_ALIVE, p->pid, "%s: a live process of uid %u", why,
                                         (unsigned) uid),
                                     p);
                        return;
                }
        }
        pid_t unread = first_unreadable(b);
        if (unread)
                add(b, role, EVIDENCE_UNREADABLE, unread, "%s: pid %d cannot be read, it may be uid %u's", why,
                    (int) unread, (unsigned) uid);
        else
                add(b, role, EVIDENCE_NONE, 0, "%s: no live process of uid %u", why, (unsigned) uid);
}

/* Considers the fd- and maps-unreadable processes: if any exist, the holder
 * scan may have missed someone. */
static void consider_unreadable_proc(struct builder *b, bool fds, bool maps) {
        const struct proctab *t = b->ctx->proctab;
        size_t n = (fds ? t->n_fd_unreadable : 0) + (maps ? t->n_maps_unreadable : 0);
        pid_t first = 0;

        if (n == 0)
                return;
        for (size_t i = 0; i < t->n_procs && !first; i++)
                if ((fds && (t->procs[i].flags & PROCESS_FD_UNREADABLE)) ||
                    (maps && (t->procs[i].flags & PROCESS_MAPS_UNREADABLE)))
                        first = t->procs[i].pid;
        add(b, ROLE_UNREADABLE, EVIDENCE_UNREADABLE, first, "/proc/PID/%s unreadable for %zu process%s (first: pid %d)",
            fds && maps ? "{fd,maps}" : fds ? "fd" : "maps", n, n == 1 ? "" : "es", (int) first);
}

static void owner_pidfiles(struct builder *b, const char *pattern) {
        glob_t g = {};
        int r = glob(pattern, GLOB_NOSORT | GLOB_NOESCAPE, NULL, &g);

        if (r == GLOB_NOMATCH) {
                add(b, ROLE_OWNER, EVIDENCE_NONE, 0, "pidfile:%s: no such file", pattern);
                return;
        }
        if (r != 0) {
                add(b, ROLE_OWNER, EVIDENCE_UNREADABLE, 0, "pidfile:%s: cannot search", pattern);
                return;
        }
        /* A glob over a hostile directory must not cost without bound. */
        for (size_t i = 0; i < g.gl_pathc && i < 64; i++) {
                char buf[32];
                struct stat st;
                int fd = open(g.gl_pathv[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                        if (fd >= 0)
                                close(fd);
                        add(b, ROLE_OWNER, EVIDENCE_UNREADABLE, 0, "pidfile %s: cannot read", g.gl_pathv[i]);
                        continue;
                }
                ssize_t n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                char *end;
                long pid = n > 0 ? (buf[n] = 0, strtol(buf, &end, 10)) : 0;
                if (n <= 0 || pid <= 0 || pid > INT32_MAX || (*end && *end != '\n')) {
                        add(b, ROLE_OWNER, EVIDENCE_NONE, 0, "pidfile %s: no pid in it", g.gl_pathv[i]);
                        continue;
                }
                /* A daemon writes its pidfile after it starts. */
                char note[PATH_MAX + 16];
                snprintf(note, sizeof(note), "pidfile %s", g.gl_pathv[i]);
                consider_pid(b, ROLE_OWNER, (pid_t) pid, st.st_mtim.tv_sec, note);
        }
        globfree(&g);
}

static void consider_owner(struct builder *b, const struct owner_source *s) {
        const struct proctab *t = b->ctx->proctab;

        switch (s->kind) {
        case OWNER_UID:
                consider_uid(b, ROLE_OWNER, b->o->uid, "Owner=uid");
                return;
        case OWNER_PIDFILE:
                owner_pidfiles(b, s->arg);
                return;
        case OWNER_PROCESS:
        case OWNER_UNIT:
                if (s->kind == OWNER_UNIT && !(t->flags & PROCTAB_CGROUP)) {
                        add(b, ROLE_OWNER, EVIDENCE_UNREADABLE, 0, "unit:%s: process units were not read", s->arg);
                        return;
                }
                for (size_t i = 0; i < t->n_procs; i++) {
                        const struct process *p = &t->procs[i];
                        if (!process_counts(b, p))
                                continue;
                        if (s->kind == OWNER_PROCESS ? strcmp(p->comm, s->arg) == 0
                                                      : p->unit && fnmatch(s->arg, p->unit, 0) == 0) {
                                fill_process(add(b, ROLE_OWNER, EVIDENCE_ALIVE, p->pid, "%s:%s%s%s",
                                                 owner_kind_to_string(s->kind), s->arg, p->unit ? " in " : "",
                                                 strempty(p->unit)),
                                             p);
                                return;
                        }
                }
                add(b, ROLE_OWNER, EVIDENCE_NONE, 0, "%s:%s: no live process", owner_kind_to_string(s->kind), s->arg);
                return;
        }
}

static void gather(struct builder *b) {
        const struct ipc_object *o = b->o;

        switch (o->type) {
        case IPC_TYPE_SHM:
                /* nattch counts attachments the kernel knows of, including
                 * processes this PID namespace cannot see. */
                if (o->nattch > 0)
                        add(b, ROLE_NATTCH, EVIDENCE_FACT, 0, "nattch %llu", (unsigned long long) o->nattch);
                else
                        add(b, ROLE_NATTCH, EVIDENCE_NONE, 0, "nattch 0");
                consider_holders(b, ROLE_ATTACHED);
                consider_pid(b, ROLE_CREATOR, o->cpid, o->ctime, NULL);
                if (o->lpid != o->cpid)
                        consider_pid(b, ROLE_LAST_OP, o->lpid, max_time(o->atime, max_time(o->dtime, o->ctime)), NULL);
                break;

        case IPC_TYPE_MSG:
                /* A receiver blocked on an empty queue is recorded nowhere
                 * but in its own wchan and syscall. */
                consider_holders(b, ROLE_WAITER);
                if (b->ctx->proctab->n_ipc_wait_unknown > 0)
                        add(b, ROLE_UNREADABLE, EVIDENCE_UNREADABLE, 0,
                            "%zu process%s blocked in SysV IPC calls that cannot be read",
                            b->ctx->proctab->n_ipc_wait_unknown, b->ctx->proctab->n_ipc_wait_unknown == 1 ? "" : "es");
                if (o->lpid <= 0 && o->lrpid <= 0)
                        consider_uid(b, ROLE_UID_PROCESS, o->cuid, "never used");
                consider_pid(b, ROLE_LAST_SENDER, o->lpid, o->mtime, NULL);
                consider_pid(b, ROLE_LAST_RECEIVER, o->lrpid, o->atime, NULL);
                break;

        case IPC_TYPE_SEM:
                if (o->flags & IPC_OBJECT_SEM_UNREADABLE) {
                        add(b, ROLE_UNREADABLE, EVIDENCE_UNREADABLE, 0, "semctl refused: waiters and pids unknown");
                        break;
                }
                for (unsigned i = 0; o->sems && i < o->nsems; i++)
                        if (o->sems[i].ncnt || o->sems[i].zcnt)
                                add(b, ROLE_WAITER, EVIDENCE_FACT, 0, "semaphore %u: %u waiting to decrease, %u for zero",
                                    i, o->sems[i].ncnt, o->sems[i].zcnt);
                /* the counts are the kernel's word; these name who waits */
                consider_holders(b, ROLE_WAITER);
                if (o->mtime == 0)
                        consider_uid(b, ROLE_UID_PROCESS, o->cuid, "never operated on");
                /* SETVAL records a pid without touching otime: measure from
                 * whichever came last. */
                for (unsigned i = 0; o->sems && i < o->nsems; i++) {
                        char note[32];
                        bool seen = false;
                        for (unsigned k = 0; k < i && !seen; k++)
                                seen = o->sems[k].pid == o->sems[i].pid;
                        if (seen)
                                continue;
                        snprintf(note, sizeof(note), "semaphore %u", i);
                        consider_pid(b, ROLE_SEMPID, o->sems[i].pid, max_time(o->mtime, o->ctime), note);
                }
                break;

        case IPC_TYPE_MQ:
                consider_holders(b, ROLE_HOLDER);
                if (o->flags & IPC_OBJECT_MQ_UNREADABLE)
                        add(b, ROLE_UNREADABLE, EVIDENCE_UNREADABLE, 0, "queue status unreadable: notify pid unknown");
                else if (o->notify_pid > 0)
                        /* Registration time is not recorded anywhere: no reuse check. */
                        consider_pid(b, ROLE_NOTIFY, o->notify_pid, 0, NULL);
                consider_unreadable_proc(b, true, false);
                break;

        case IPC_TYPE_PSHM:
        case IPC_TYPE_PSEM:
                consider_holders(b, ROLE_HOLDER);
                consider_unreadable_proc(b, true, true);
                break;

        case IPC_TYPE_FIFO:
                consider_holders(b, ROLE_HOLDER);
                consider_unreadable_proc(b, true, false);
                if (b->ctx->proctab->n_fifo_open_unknown > 0) {
                        const struct proctab *t = b->ctx->proctab;
                        pid_t first = 0;
                        for (size_t i = 0; i < t->n_procs && !first; i++)
                                if (t->procs[i].flags & PROCESS_FIFO_OPEN_UNKNOWN)
                                        first = t->procs[i].pid;
                        add(b, ROLE_UNREADABLE, EVIDENCE_UNREADABLE, first,
                            "%zu process%s blocked opening a FIFO whose path cannot be resolved (first: pid %d)",
                            t->n_fifo_open_unknown, t->n_fifo_open_unknown == 1 ? "" : "es", (int) first);
                }
                break;

        case _IPC_TYPE_MAX:
                break;
        }

        if (b->j->rule)
                for (size_t i = 0; i < b->j->rule->n_owners; i++)
                        consider_owner(b, &b->j->rule->owners[i]);
}

/* "40s ago", "3h ago"; "just now" within a second. */
static const char *ago(char buf[static FORMAT_DURATION_MAX + 8], time_t now, time_t then) {
        char d[FORMAT_DURATION_MAX];
        if (then >= now)
                return "just now";
        snprintf(buf, FORMAT_DURATION_MAX + 8, "%s ago", format_duration(d, (uint64_t) (now - then)));
        return buf;
}

/*
 * What the memory adds to an object without life now: a process seen as its
 * evidence before that still runs (the same start, to the tick: a pid
 * overwritten in the object by someone else cannot erase it), then a unit
 * that was home to its evidence and still has a live process.  Otherwise
 * it says when life was last seen, which is where MinAge counts from.
 */
static void consider_memory(struct builder *b) {
        const struct memory *m = b->ctx->memory;
        const struct memory_entry *me = b->memory;
        const struct proctab *t = b->ctx->proctab;
        char when[FORMAT_DURATION_MAX + 8];

        if (!me)
                return;
        for (unsigned i = 0; i < me->n_pids; i++) {
                struct memory_pid mp = memory_entry_pid(m, me, i);
                const struct process *p = proctab_find(t, mp.pid);
                if (process_counts(b, p) && (p->flags & PROCESS_UNREADABLE)) {
                        /* its start cannot be read: it may be the one seen */
                        add(b, ROLE_REMEMBERED, EVIDENCE_UNREADABLE, p->pid,
                            "pid %d was seen before as %s; it cannot be read now", (int) p->pid,
                            strempty(evidence_role_to_string((enum evidence_role) mp.role)));
                        continue;
                }
                if (!process_counts(b, p) || p->start_ticks != mp.start_ticks)
                        continue;
                fill_process(add(b, ROLE_REMEMBERED, EVIDENCE_ALIVE, p->pid, "seen before as %s, still runs",
                                 strempty(evidence_role_to_string((enum evidence_role) mp.role))),
                             p);
                return;
        }
        const char *last = me->last_life ? evidence_role_to_string((enum evidence_role) me->last_role) : NULL;
        /* "last sender", not "last last-sender" */
        if (last && strncmp(last, "last-", 5) == 0)
                last += 5;
        for (unsigned i = 0; i < me->n_units; i++) {
                const char *unit = memory_entry_unit(m, me, i);
                pid_t live;
                switch (unit_state(unit, t, b->self, &live)) {
                case UNIT_RUNS: {
                        char lastbuf[64] = "";
                        if (last && me->last_pid > 0)
                                snprintf(lastbuf, sizeof(lastbuf), " (last %s pid %d was seen %s)", last,
                                         (int) me->last_pid, ago(when, b->ctx->now, (time_t) me->last_life));
                        fill_process(add(b, ROLE_UNIT, EVIDENCE_ALIVE, live, "unit %s still runs%s",
                                         unit_name(unit), lastbuf),
                                     proctab_find(t, live));
                        return;
                }
                case UNIT_UNKNOWN:
                        add(b, ROLE_UNIT, EVIDENCE_UNREADABLE, 0, "unit %s: cannot tell whether it runs",
                            unit_name(unit));
                        break;
                case UNIT_GONE:
                        add(b, ROLE_UNIT, EVIDENCE_NONE, 0, "unit %s has no process left", unit_name(unit));
                        break;
                }
        }
}

/* NeverSeen=owner: nothing was ever seen using it, and its owner (or its
 * creator) has a live process, which may be the program that uses it
 * without leaving a trace ipcgc can see. */
static void consider_never_seen(struct builder *b) {
        const struct proctab *t = b->ctx->proctab;
        const struct ipc_object *o = b->o;

        if (!(t->flags & PROCTAB_UIDS)) {
                add(b, ROLE_NEVER_SEEN, EVIDENCE_UNREADABLE, 0, "never seen in use: process uids were not read");
                return;
        }
        for (size_t i = 0; i < t->n_procs; i++) {
                const struct process *p = &t->procs[i];
                if (!process_counts(b, p) || (p->flags & PROCESS_KTHREAD))
                        continue;
                uid_t u = p->ruid == o->uid || p->euid == o->uid ? o->uid : o->cuid;
                if (p->ruid == u || p->euid == u) {
                        fill_process(add(b, ROLE_NEVER_SEEN, EVIDENCE_ALIVE, p->pid,
                                         "never seen in use; a live process of its owner uid %u", (unsigned) u),
                                     p);
                        return;
                }
        }
        pid_t unread = first_unreadable(b);
        if (unread)
                add(b, ROLE_NEVER_SEEN, EVIDENCE_UNREADABLE, unread,
                    "never seen in use; pid %d cannot be read, it may be its owner's", (int) unread);
        else
                add(b, ROLE_NEVER_SEEN, EVIDENCE_NONE, 0, "never seen in use; no live process of uid %u or %u",
                    (unsigned) o->uid, (unsigned) o->cuid);
}

static const char *role_phrase(enum evidence_role r) {
        switch (r) {
        case ROLE_HOLDER:
                return "held by";
        case ROLE_ATTACHED:
                return "attached by";
        case ROLE_CREATOR:
                return "creator";
        case ROLE_LAST_OP:
                return "last attach/detach by";
        case ROLE_LAST_SENDER:
                return "last sender";
        case ROLE_LAST_RECEIVER:
                return "last receiver";
        case ROLE_SEMPID:
                return "last semop by";
        case ROLE_NOTIFY:
                return "notification registered by";
        case ROLE_WAITER:
                return "waited on by";
        case ROLE_UID_PROCESS:
        case ROLE_OWNER:
                return "owner";
        default:
                return "";
        }
}

/* A reason is one line: built on the stack, cut (with "...") if it would
 * not fit, then copied once.  A FILE per object was most of a judgement's
 * cost. */
struct line {
        char buf[1024];
        size_t len;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct line *l, const char *fmt, ...) {
        va_list ap;
        size_t room = sizeof(l->buf) - l->len;
        int n;

        if (room <= 1)
                return;
        va_start(ap, fmt);
        n = vsnprintf(l->buf + l->len, room, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t) n >= room) {
                l->len = sizeof(l->buf) - 1;
                memcpy(l->buf + l->len - 3, "...", 3);
        } else
                l->len += (size_t) n;
}

/* "creator pid 42 (pg)" / "last sender pid 42 exited" / "nattch 2" */
static void describe(struct line *f, const struct evidence *e) {
        if (e->pid > 0 && e->state != EVIDENCE_UNREADABLE &&
            (e->role == ROLE_UID_PROCESS || e->role == ROLE_OWNER || e->role == ROLE_REMEMBERED ||
             e->role == ROLE_UNIT || e->role == ROLE_NEVER_SEEN)) {
                put(f, "%s: pid %d (%s)", strempty(e->note), (int) e->pid, e->comm);
                return;
        }
        if (e->pid <= 0 || e->role == ROLE_UNREADABLE || e->role >= ROLE_REMEMBERED) {
                put(f, "%s", strempty(e->note));
                return;
        }
        put(f, "%s pid %d", role_phrase(e->role), (int) e->pid);
        switch (e->state) {
        case EVIDENCE_ALIVE:
                put(f, " (%s)", e->comm);
                break;
        case EVIDENCE_EXITED:
                put(f, "%s", " exited");
                break;
        case EVIDENCE_ZOMBIE:
                put(f, "%s", " exited (zombie)");
                break;
        case EVIDENCE_REUSED:
                put(f, " reused by a newer process (%s)", e->comm);
                break;
        default:
                break;
        }
        if (e->note)
                put(f, " [%s]", e->note);
}

const char *judgement_reason(const struct judgement *j, char buf[static JUDGEMENT_REASON_MAX]) {
        struct line line = { .len = 0 }, *f = &line;
        uint64_t min_age = j->rule ? j->rule->min_age : 0;
        char d1[FORMAT_DURATION_MAX], d2[FORMAT_DURATION_MAX];
        const char *sep = "";

        line.buf[0] = 0;

        switch (j->verdict) {
        case VERDICT_LIVE: {
                /* A named process says more than a count. */
                const struct evidence *best = NULL;
                for (size_t i = 0; i < j->n_evidence; i++)
                        if (evidence_counts(&j->evidence[i]) && (!best || (best->pid <= 0 && j->evidence[i].pid > 0)))
                                best = &j->evidence[i];
                describe(f, best);
                break;
        }
        case VERDICT_UNKNOWN:
                put(f, "%s", "cannot tell: ");
                for (size_t i = 0; i < j->n_evidence; i++)
                        if (j->evidence[i].state == EVIDENCE_UNREADABLE) {
                                put(f, "%s", sep);
                                describe(f, &j->evidence[i]);
                                sep = "; ";
                        }
                break;
        default:
                if (j->verdict == VERDICT_PROTECTED)
                        put(f, "rule %s says keep; ", j->rule->name);
                else if (j->verdict == VERDICT_REPORTED)
                        put(f, j->rule ? "rule %s says report; " : "no rule matches, reported only; ",
                                j->rule ? j->rule->name : "");
                else if (j->verdict == VERDICT_PENDING)
                        put(f, "orphan, idle %s of MinAge %s; ", format_duration(d1, j->idle),
                                format_duration(d2, min_age));
                for (size_t i = 0; i < j->n_evidence; i++) {
                        put(f, "%s", sep);
                        describe(f, &j->evidence[i]);
                        sep = "; ";
                }
                if (j->n_evidence == 0) {
                        put(f, "%s", "no holder");
                        sep = "; ";
                }
                /* What the memory says of when life was last seen. */
                uint64_t seen = j->idle + j->grace_seen;
                if (j->grace == JUDGE_GRACE_LAST_LIFE) {
                        const char *role = strempty(evidence_role_to_string((enum evidence_role) j->grace_role));
                        if (strncmp(role, "last-", 5) == 0)
                                role += 5; /* "last sender", not "last last-sender" */
                        put(f, "%slast %s", sep, role);
                        if (j->grace_pid > 0)
                                put(f, " pid %d", (int) j->grace_pid);
                        put(f, "%s", " seen");
                } else if (j->grace == JUDGE_GRACE_FIRST_SEEN)
                        put(f, "%sfirst seen without life", sep);
                if (j->grace != JUDGE_GRACE_NONE) {
                        if (seen)
                                put(f, " %s ago", format_duration(d2, seen));
                        else
                                put(f, "%s", " just now");
                }
                if (j->verdict != VERDICT_PENDING)
                        put(f, "; idle %s", format_duration(d1, j->idle));
                break;
        }
        memcpy(buf, line.buf, line.len + 1);
        return buf;
}

unsigned judge_proctab_needs(const struct inventory *inv, const struct rule *rules, size_t n_rules) {
        unsigned need = 0;

        for (size_t i = 0; i < n_rules; i++) {
                if (rules[i].never_seen_owner)
                        need |= PROCTAB_UIDS;
                for (size_t k = 0; k < rules[i].n_owners; k++)
                        need |= rules[i].owners[k].kind == OWNER_UID    ? PROCTAB_UIDS
                                : rules[i].owners[k].kind == OWNER_UNIT ? PROCTAB_CGROUP
                                                                        : 0;
        }
        for (size_t i = 0; !(need & PROCTAB_UIDS) && i < inv->n_objects; i++) {
                const struct ipc_object *o = &inv->objects[i];
                if ((o->type == IPC_TYPE_MSG && o->lpid <= 0 && o->lrpid <= 0) ||
                    (o->type == IPC_TYPE_SEM && o->mtime == 0))
                        need |= PROCTAB_UIDS;
        }
        return need;
}

time_t judge_grace_start(const struct judge_context *ctx, const struct ipc_object *o,
                         const struct memory_entry *me) {
        time_t last = ipc_object_last_activity(o);

        if (ctx->memory && !me)
                /* Never seen before: this is its first sighting. */
                last = max_time(last, ctx->now);
        if (me) {
                last = max_time(last, (time_t) me->last_life);
                /* With no life ever seen, from its first sighting: a restart
                 * of ipcgc, or of the machine's clock, gives no head start. */
                if (!me->last_life)
                        last = max_time(last, (time_t) me->first_dead);
        }
        if (ctx->clock_step > 0)
                last = max_time(last, ctx->clock_step);
        return last;
}

int judge_object(const struct judge_context *ctx, const struct ipc_object *o, struct judgement *ret) {
        return judge_object_remembered(ctx, o, ctx->memory ? memory_find(ctx->memory, memory_key(o)) : NULL, ret);
}

int judge_object_remembered(const struct judge_context *ctx, const struct ipc_object *o,
                            const struct memory_entry *me, struct judgement *ret) {
        struct judgement j = {};
        struct builder b = { .ctx = ctx, .o = o, .j = &j, .memory = me, .self = ctx->self ? ctx->self : getpid() };

        j.rule = rules_find(ctx->rules, ctx->n_rules, o, ctx->where);

        gather(&b);
        if (!b.live)
                consider_memory(&b);
        /* Anyone allowed to touch an object can overwrite the pid it
         * records: another uid's pid, gone, is never alone in deciding its
         * death.  Its owner's processes are weighed too. */
        if (!b.live && b.foreign) {
                char why[96];
                snprintf(why, sizeof(why), "last recorded by pid %d of uid %u, not the owner's", (int) b.foreign,
                         (unsigned) b.foreign_uid);
                consider_uid(&b, ROLE_UID_PROCESS, o->uid, why);
        }
        if (!b.live && j.rule && j.rule->never_seen_owner && (!b.memory || !b.memory->last_life))
                consider_never_seen(&b);
        /* Missing evidence is not evidence of death where the view is partial. */
        if (!b.live && ctx->sight && ctx->sight->partial)
                add(&b, ROLE_SIGHT, EVIDENCE_UNREADABLE, 0, "%s", ctx->sight->reason);
        if (b.error < 0) {
                judgement_done(&j);
                return b.error;
        }
        /* What is in use is idle since its last activity; what is not, since
         * its grace began. */
        time_t last = b.live ? ipc_object_last_activity(o) : judge_grace_start(ctx, o, b.memory);
        j.idle = ctx->now > last ? (uint64_t) (ctx->now - last) : 0;
        if (!b.live && me && (me->last_life || me->first_dead)) {
                time_t seen = me->last_life ? (time_t) me->last_life : (time_t) me->first_dead;
                j.grace = me->last_life ? JUDGE_GRACE_LAST_LIFE : JUDGE_GRACE_FIRST_SEEN;
                j.grace_role = me->last_role;
                j.grace_pid = me->last_pid;
                j.grace_seen = last > seen ? (uint32_t) (last - seen > UINT32_MAX ? UINT32_MAX : last - seen) : 0;
        }

        if (b.live)
                j.verdict = VERDICT_LIVE;
        else if (j.rule && j.rule->action == ACTION_KEEP)
                j.verdict = VERDICT_PROTECTED;
        else if (b.unreadable)
                j.verdict = VERDICT_UNKNOWN;
        else if (!j.rule || j.rule->action == ACTION_REPORT)
                j.verdict = VERDICT_REPORTED;
        else if (j.idle < j.rule->min_age)
                j.verdict = VERDICT_PENDING;
        else
                j.verdict = VERDICT_ORPHAN;

        *ret = j;
        return 0;
}

int judge_inventory(const struct judge_context *ctx, const struct inventory *inv, struct judgement **ret) {
        struct judgement *all = calloc(inv->n_objects ? inv->n_objects : 1, sizeof(*all));
        if (!all)
                return -ENOMEM;
        struct judge_context c = *ctx;
        if (!c.self)
                c.self = getpid();
        for (size_t i = 0; i < inv->n_objects; i++) {
                int r = judge_object(&c, &inv->objects[i], &all[i]);
                if (r < 0) {
                        judgements_free(all, i);
                        return r;
                }
        }
        *ret = all;
        return 0;
}
