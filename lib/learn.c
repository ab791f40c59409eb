/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "learn.h"
#include "macro.h"
#include "unit.h"

static int64_t clock_usec(clockid_t id) {
        struct timespec ts;
        if (clock_gettime(id, &ts) < 0)
                return 0;
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void read_boot_id(char buf[static 37]) {
        _cleanup_close_ int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, 36) : -1;
        buf[n == 36 ? 36 : 0] = 0;
}

int learn_clock(struct memory *m, time_t now, struct clock_view *ret) {
        struct clock_view c = {};

        read_boot_id(c.boot_id);
        c.offset_usec = clock_usec(CLOCK_REALTIME) - clock_usec(CLOCK_BOOTTIME);
        if (m && c.boot_id[0] && strcmp(m->boot_id, c.boot_id) == 0) {
                int64_t d = c.offset_usec - m->clock_offset;
                c.step = (time_t) m->clock_step;
                if (m->clock_offset != 0 && (d > CLOCK_STEP_USEC || d < -CLOCK_STEP_USEC))
                        c.step = now;
        } else if (m)
                /* Another boot (or none known): start times of the pids
                 * remembered count from a different zero. */
                for (size_t i = 0; i < m->n_entries; i++)
                        m->entries[i].n_pids = 0;
        *ret = c;
        return 0;
}

/* Evidence that a process used the object, as opposed to one that merely
 * stands near it (a process of the same uid) or was declared (Owner=). */
static bool role_uses(enum evidence_role r) {
        switch (r) {
        case ROLE_HOLDER:
        case ROLE_ATTACHED:
        case ROLE_CREATOR:
        case ROLE_LAST_OP:
        case ROLE_LAST_SENDER:
        case ROLE_LAST_RECEIVER:
        case ROLE_SEMPID:
        case ROLE_WAITER:
        case ROLE_NOTIFY:
        case ROLE_REMEMBERED:
                return true;
        default:
                return false;
        }
}

/* Life a memory keeps: anything that counts but a guess from a uid. */
static bool role_is_life(enum evidence_role r) {
        return r != ROLE_UID_PROCESS && r != ROLE_NEVER_SEEN;
}

/* The unit of each process of the table, read at most once a learning. */
struct units {
        const struct proctab *pt;
        const char *proc_root;
        char **unit; /* per process: NULL not read, "" in none */
};

static const char *unit_for(struct units *u, const struct process *p) {
        size_t i = (size_t) (p - u->pt->procs);
        if (!u->unit[i]) {
                char *s = NULL;
                if (unit_of_pid(u->proc_root, p->pid, p->start_ticks, &s) < 0 || !s)
                        s = strdup("");
                u->unit[i] = s;
        }
        return u->unit[i] && u->unit[i][0] ? u->unit[i] : NULL;
}

static bool has_pid(const struct memory_pid *a, size_t n, pid_t pid, uint64_t ticks) {
        for (size_t i = 0; i < n; i++)
                if (a[i].pid == pid && a[i].start_ticks == ticks)
                        return true;
        return false;
}

static bool has_pid_any(const struct memory_pid *a, size_t n, pid_t pid) {
        for (size_t i = 0; i < n; i++)
                if (a[i].pid == pid)
                        return true;
        return false;
}

static bool has_unit(const char *const *a, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(a[i], s) == 0)
                        return true;
        return false;
}

/* The entry of OLD's ME, as it was: for objects not judged this time. */
static int keep_entry(struct memory *m, const struct memory *old, const struct memory_entry *me) {
        struct memory_pid pids[MEMORY_MAX_PIDS];
        const char *units[MEMORY_MAX_UNITS];
        size_t n = 0;
        for (unsigned i = 0; i < me->n_pids && i < MEMORY_MAX_PIDS; i++)
                pids[i] = memory_entry_pid(old, me, i);
        for (unsigned i = 0; i < me->n_units && n < MEMORY_MAX_UNITS; i++)
                units[n++] = memory_entry_unit(old, me, i);
        return memory_add(m, me, pids, me->n_pids, units, n);
}

/* Learns O (judged J, key KEY) into M; ME is what OLD remembers of it. */
/* A pid of another uid than the owner's and the creator's that the object
 * still records: gone, it is kept, so that judge.c can tell it was foreign
 * for as long as it stands in the object (it never decides death alone). */
static bool foreign_and_recorded(const struct ipc_object *o, const struct memory_pid *mp) {
        if (mp->uid == (uid_t) -1 || mp->uid == o->uid || mp->uid == o->cuid)
                return false;
        if (mp->pid == o->cpid || mp->pid == o->lpid || mp->pid == o->lrpid)
                return true;
        for (unsigned i = 0; o->sems && i < o->nsems; i++)
                if (o->sems[i].pid == mp->pid)
                        return true;
        return false;
}

static int learn_one(struct memory *m, const struct memory *old, const struct memory_entry *me, uint64_t key,
                     const struct ipc_object *o, const struct judgement *j, const struct proctab *pt,
                     struct units *units, time_t now) {
        struct memory_entry e = { .key = key, .type = (uint8_t) o->type };
        struct memory_pid pids[MEMORY_MAX_PIDS], seen[MEMORY_MAX_PIDS];
        const char *unit_list[MEMORY_MAX_UNITS];
        size_t n_pids = 0, n_units = 0, n_seen = 0;
        const struct evidence *best = NULL;

        /* What OLD remembers, at hand: the pids are asked for below once per
         * evidence. */
        for (unsigned q = 0; me && q < me->n_pids && q < MEMORY_MAX_PIDS; q++)
                seen[n_seen++] = memory_entry_pid(old, me, q);

        for (size_t k = 0; k < j->n_evidence; k++) {
                const struct evidence *ev = &j->evidence[k];
                if (!evidence_counts(ev) || !role_is_life(ev->role))
                        continue;
                if (!best || (best->pid <= 0 && ev->pid > 0))
                        best = ev;
                if (ev->pid <= 0 || !role_uses(ev->role))
                        continue;
                /* A pid already taken is that process (the table has one per
                 * pid): the first evidence of it says what it was seen as. */
                if (has_pid_any(pids, n_pids, ev->pid))
                        continue;
                const struct process *p = proctab_find(pt, ev->pid);
                if (!p || (p->flags & PROCESS_ZOMBIE))
                        continue;
                uint8_t role = (uint8_t) ev->role;
                bool known = false;
                for (size_t q = 0; q < n_seen; q++)
                        if (seen[q].pid == p->pid && seen[q].start_ticks == p->start_ticks) {
                                known = true;
                                /* what it was seen as, not that it was remembered */
                                if (ev->role == ROLE_REMEMBERED)
                                        role = seen[q].role;
                        }
                if (n_pids < MEMORY_MAX_PIDS)
                        pids[n_pids++] = (struct memory_pid) {
                                .pid = p->pid, .uid = p->euid, .start_ticks = p->start_ticks, .role = role,
                        };
                /* A process remembered for this object had its unit learnt
                 * with it: a steady sweep reads no cgroup again. */
                const char *u = known ? NULL : unit_for(units, p);
                if (u && n_units < MEMORY_MAX_UNITS && !has_unit(unit_list, n_units, u))
                        unit_list[n_units++] = u;
        }

        if (j->verdict == VERDICT_UNKNOWN && !best) {
                /* Nothing could be told: neither life nor its absence. */
                if (me)
                        return keep_entry(m, old, me);
                return 0;
        }

        if (me) {
                /* Remembered processes that still run keep counting. */
                for (size_t q = 0; q < n_seen && n_pids < MEMORY_MAX_PIDS; q++) {
                        if (has_pid(pids, n_pids, seen[q].pid, seen[q].start_ticks))
                                continue;
                        const struct process *p = proctab_find(pt, seen[q].pid);
                        if ((p && !(p->flags & PROCESS_ZOMBIE) && p->start_ticks == seen[q].start_ticks) ||
                            foreign_and_recorded(o, &seen[q]))
                                pids[n_pids++] = seen[q];
                }
                /* Units are kept whatever they do now: a service restarted
                 * comes back under the same name. */
                for (unsigned q = 0; q < me->n_units && n_units < MEMORY_MAX_UNITS; q++) {
                        const char *u = memory_entry_unit(old, me, q);
                        if (!has_unit(unit_list, n_units, u))
                                unit_list[n_units++] = u;
                }
        }

        if (best) {
                e.last_life = memory_time(now);
                e.last_role = (uint8_t) best->role;
                e.last_pid = best->pid > 0 ? best->pid : 0;
                /* a remembered or unit life names the process it saw last */
                if ((best->role == ROLE_REMEMBERED || best->role == ROLE_UNIT) && me) {
                        e.last_role = me->last_role;
                        e.last_pid = me->last_pid;
                        if (best->role == ROLE_REMEMBERED)
                                for (size_t q = 0; q < n_pids; q++)
                                        if (pids[q].pid == best->pid) {
                                                e.last_role = pids[q].role;
                                                e.last_pid = best->pid;
                                        }
                }
        } else {
                e.last_life = me ? me->last_life : 0;
                e.last_role = me ? me->last_role : 0;
                e.last_pid = me ? me->last_pid : 0;
                /* An object the memory did not know is without life since
                 * where this judgement's grace began: now, when a memory was
                 * weighed (first seen), or its last activity by the
                 * kernel's times when none was (the engine's first
                 * judgement without a state file), which is what made it
                 * ORPHAN; now would make it PENDING again next time. */
                e.first_dead = me && me->first_dead && me->first_dead >= me->last_life ? me->first_dead
                               : !me ? memory_time(now - (time_t) j->idle)
                                     : memory_time(now);
                /* Kept only because its owner runs (NeverSeen=owner, or a
                 * never-used set of a live uid): that is no life to
                 * remember, but its grace starts again from each time it
                 * was kept, so the owner's end leaves it MinAge. */
                if (j->verdict == VERDICT_LIVE)
                        e.first_dead = memory_time(now);
        }
        return memory_add(m, &e, pids, n_pids, unit_list, n_units);
}

/*
 * The objects of INV in ascending order of their keys, so that the new
 * memory is built in order (sealing it sorts nothing) while OLD, sorted
 * too, is walked alongside (no search per object).  Keys are hashes: a
 * bucket by their top bits holds a few objects, sorted by insertion; a
 * crowded one (keys made to collide) by a heap.  Equal keys keep the
 * order of INV.
 */
static bool key_before(const uint64_t *keys, uint32_t a, uint32_t b) {
        return keys[a] < keys[b] || (keys[a] == keys[b] && a < b);
}

static void sift_down(const uint64_t *keys, uint32_t *v, size_t i, size_t n) {
        for (;;) {
                size_t c = 2 * i + 1;
                if (c >= n)
                        return;
                if (c + 1 < n && key_before(keys, v[c], v[c + 1]))
                        c++;
                if (!key_before(keys, v[i], v[c]))
                        return;
                uint32_t t = v[i];
                v[i] = v[c];
                v[c] = t;
                i = c;
        }
}

static void sort_bucket(const uint64_t *keys, uint32_t *v, size_t n) {
        if (n <= 32) {
                for (size_t i = 1; i < n; i++) {
                        uint32_t x = v[i];
                        size_t k = i;
                        for (; k > 0 && key_before(keys, x, v[k - 1]); k--)
                                v[k] = v[k - 1];
                        v[k] = x;
                }
                return;
        }
        for (size_t i = n / 2; i-- > 0;)
                sift_down(keys, v, i, n);
        for (size_t end = n; end-- > 1;) {
                uint32_t t = v[0];
                v[0] = v[end];
                v[end] = t;
                sift_down(keys, v, 0, end);
        }
}

static int order_objects(const struct inventory *inv, uint64_t **ret_keys, uint32_t **ret_order) {
        size_t n = inv->n_objects;
        _cleanup_free_ uint64_t *keys = malloc((n ? n : 1) * sizeof(*keys));
        _cleanup_free_ uint32_t *order = malloc((n ? n : 1) * sizeof(*order));
        _cleanup_free_ uint32_t *start = NULL;
        unsigned bits = 0;

        if (!keys || !order)
                return -ENOMEM;
        if (n > UINT32_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++)
                keys[i] = memory_key(&inv->objects[i]);
        /* Two to four objects a bucket. */
        while (bits < 24 && ((size_t) 4 << bits) < n)
                bits++;
        start = calloc(((size_t) 1 << bits) + 1, sizeof(*start));
        if (!start)
                return -ENOMEM;
#define BUCKET(k) (bits ? (size_t) ((k) >> (64 - bits)) : 0)
        for (size_t i = 0; i < n; i++)
                start[BUCKET(keys[i]) + 1]++;
        for (size_t b = 0; b < ((size_t) 1 << bits); b++)
                start[b + 1] += start[b];
        /* Placed in ascending order of index, so a bucket starts in the order of INV. */
        for (size_t i = 0; i < n; i++)
                order[start[BUCKET(keys[i])]++] = (uint32_t) i;
#undef BUCKET
        /* start[b] is now where bucket b + 1 begins. */
        for (size_t b = 0, from = 0; b < ((size_t) 1 << bits); b++) {
                sort_bucket(keys, &order[from], start[b] - from);
                from = start[b];
        }
        *ret_keys = TAKE_PTR(keys);
        *ret_order = TAKE_PTR(order);
        return 0;
}

static bool sorted_strictly(const struct memory *m) {
        for (size_t i = 1; i < m->n_entries; i++)
                if (m->entries[i - 1].key >= m->entries[i].key)
                        return false;
        return true;
}

/* Builds the memory after judging INV into *RET, unsealed, from OLD. */
static int learn_build(const struct memory *old, const struct inventory *inv, const struct judgement *js,
                       const struct proctab *pt, const char *proc_root, const struct clock_view *clock,
                       unsigned covered, time_t now, struct memory **ret) {
        _cleanup_(memory_freep) struct memory *m = NULL;
        _cleanup_free_ uint64_t *keys = NULL;
        _cleanup_free_ uint32_t *order = NULL;
        struct units units = { .pt = pt, .proc_root = proc_root ? proc_root : "/proc" };
        /* OLD is sorted once sealed; walked alongside INV, it is never searched. */
        bool walk = !old || sorted_strictly(old);
        size_t n_old = old ? old->n_entries : 0, j = 0;
        int r;

        r = memory_new(&m);
        if (r < 0)
                return r;
        memcpy(m->boot_id, clock->boot_id, sizeof(m->boot_id));
        m->clock_offset = clock->offset_usec;
        m->clock_step = clock->step;
        if (old)
                m->file = old->file;

        r = order_objects(inv, &keys, &order);
        if (r < 0)
                return r;
        units.unit = calloc(pt->n_procs ? pt->n_procs : 1, sizeof(char *));
        if (!units.unit)
                return -ENOMEM;
        for (size_t k = 0; k < inv->n_objects && r >= 0; k++) {
                size_t i = order[k];
                const struct memory_entry *me = NULL;

                if (walk) {
                        /* The entries OLD has before this object: objects
                         * gone, kept only if of a type not judged now. */
                        for (; j < n_old && old->entries[j].key < keys[i] && r >= 0; j++)
                                if (!(covered & IPC_TYPE_BIT(old->entries[j].type)))
                                        r = keep_entry(m, old, &old->entries[j]);
                        if (j < n_old && old->entries[j].key == keys[i])
                                me = &old->entries[j];
                } else if (old)
                        me = memory_find(old, keys[i]);
                if (r >= 0)
                        r = learn_one(m, old, me, keys[i], &inv->objects[i], &js[i], pt, &units, now);
        }
        for (; r >= 0 && j < n_old; j++)
                if (!(covered & IPC_TYPE_BIT(old->entries[j].type)))
                        r = keep_entry(m, old, &old->entries[j]);
        for (size_t i = 0; i < pt->n_procs; i++)
                free(units.unit[i]);
        free(units.unit);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int learn(const struct memory *old, const struct inventory *inv, const struct judgement *js, const struct proctab *pt,
          const char *proc_root, const struct clock_view *clock, unsigned covered, time_t now, struct memory **ret) {
        _cleanup_(memory_freep) struct memory *m = NULL;
        int r;

        r = learn_build(old, inv, js, pt, proc_root, clock, covered, now, &m);
        if (r < 0)
                return r;
        r = memory_seal(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int learn_replace(struct memory **memory, const struct inventory *inv, const struct judgement *js,
                  const struct proctab *pt, const char *proc_root, const struct clock_view *clock, unsigned covered,
                  time_t now) {
        _cleanup_(memory_freep) struct memory *m = NULL;
        int r;

        r = learn_build(*memory, inv, js, pt, proc_root, clock, covered, now, &m);
        if (r < 0)
                return r;
        /* Built in order, sealing only gives back what growing left unused
         * (and sorts only if two objects share a key): the old memory goes
         * once the new one is whole. */
        r = memory_seal(m);
        if (r < 0)
                return r;
        memory_free(*memory);
        *memory = TAKE_PTR(m);
        return 0;
}

void learn_still_live(struct memory *m, const struct inventory *inv, const struct judgement *js, time_t now) {
        for (size_t i = 0; m && i < inv->n_objects; i++) {
                if (js[i].verdict != VERDICT_LIVE)
                        continue;
                struct memory_entry *e = (struct memory_entry *) memory_find(m, memory_key(&inv->objects[i]));
                if (e && e->last_life) {
                        e->last_life = memory_time(now);
                        e->first_dead = 0;
                }
        }
}
