/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "judge.h"
#include "macro.h"
#include "memory.h"

/*
 * The state file, version 1.  Binary, little-endian, because the daemon
 * reads and rewrites it after every full judgement: 24,000 objects must
 * cost a few milliseconds, and a text encoding cost five times this one.  A sequence of
 * records, each starting with a tag byte:
 *
 *   "ipcgc-memory 1\n"  the magic line (so `head -1` names the version)
 *   'H'  boot_id[36] (NUL-padded; all NULs: unknown), clock_offset i64, clock_step i64
 *   'E'  key u64, last_life i64, first_dead i64, last_pid u32, type u8, last_role u8,
 *        n_pids | n_units << 4 u8, then n_pids x (pid u32, uid u32, start_ticks u64, role u8),
 *        then n_units x unit index u32                     -- strictly ascending by key
 *   'U'  len u16 (1..MEMORY_MAX_UNIT_LEN), the cgroup path's bytes (any but NUL)
 *   'Z'  n_entries u32, n_pids u32, n_unit_refs u32, n_units u32, checksum u64
 *
 * The units come after the entries, so that a save writes its merge as it
 * goes and names only the units still referenced.  The checksum covers
 * every record before 'Z', and 'Z' is the only way to end a file, which it
 * must end exactly: a file cut at any byte lacks it or part of it.  Names
 * of objects never appear, only their keys.
 */
#define MAGIC_VERSION "1"
#define MAGIC "ipcgc-memory " MAGIC_VERSION "\n"
#define MAGIC_BYTES (sizeof(MAGIC) - 1)
#define MAGIC_PREFIX "ipcgc-memory "
#define LOCK_NAME MEMORY_FILE_NAME ".lock"
#define TMP_NAME MEMORY_FILE_NAME ".tmp"
#define BAD_NAME MEMORY_FILE_NAME ".bad"

#define BOOT_ID_BYTES 36u
#define HEADER_BYTES (1u + BOOT_ID_BYTES + 8u + 8u)
#define ENTRY_BYTES 32u
#define PID_BYTES 17u
#define END_BYTES (1u + 4u * 4u + 8u)
/* The largest record: a unit (3 + 512), an entry (32 + 8 * 17 + 4 * 4). */
#define MAX_RECORD 1024u
#define IO_CHUNK (64u << 10)

/* The identity hash is part of the file format: changing these changes every
 * key, so it would need a new version. */
#define KEY_K0 UINT64_C(0x6d656d6f72792d31) /* "memory-1" */
#define KEY_K1 UINT64_C(0x69706367632d6b65) /* "ipcgc-ke" */

_Static_assert(_ROLE_MAX <= (1u << MEMORY_ROLE_BITS), "a role fits in the bits of a pid reference");

struct memory_impl {
        struct memory pub; /* first: memory_new hands out &impl->pub */
        size_t entries_alloc, pid_refs_alloc, procs_alloc, refs_alloc, units_alloc;
        /* Open addressing over pub.units and pub.procs: index + 1, 0 empty.
         * Only while building: a sealed memory gives them back, and they
         * are made again if it grows. */
        uint32_t *unit_slots, *proc_slots;
        size_t unit_mask, proc_mask; /* number of slots - 1 */
        /* Of a sealed memory: where the entries whose keys start with each
         * value of their top bucket_bits bits begin (and one more, the
         * end).  NULL: found by halving. */
        uint32_t *buckets;
        unsigned bucket_bits;
        bool sealed;
};

static struct memory_impl *impl(struct memory *m) {
        return (struct memory_impl *) m;
}

static const struct memory_impl *cimpl(const struct memory *m) {
        return (const struct memory_impl *) m;
}

static inline uint64_t rotl64(uint64_t x, unsigned b) {
        return (x << b) | (x >> (64 - b));
}

/* ---- SipHash-2-4, for the identity keys ---------------------------------- */

struct sip {
        uint64_t v0, v1, v2, v3;
        uint64_t tail;
        unsigned n_tail;
        uint64_t len;
};

static inline __attribute__((always_inline)) void sip_round(struct sip *s) {
        s->v0 += s->v1;
        s->v1 = rotl64(s->v1, 13);
        s->v1 ^= s->v0;
        s->v0 = rotl64(s->v0, 32);
        s->v2 += s->v3;
        s->v3 = rotl64(s->v3, 16);
        s->v3 ^= s->v2;
        s->v0 += s->v3;
        s->v3 = rotl64(s->v3, 21);
        s->v3 ^= s->v0;
        s->v2 += s->v1;
        s->v1 = rotl64(s->v1, 17);
        s->v1 ^= s->v2;
        s->v2 = rotl64(s->v2, 32);
}

static inline __attribute__((always_inline)) void sip_init(struct sip *s, uint64_t k0, uint64_t k1) {
        *s = (struct sip) {
                .v0 = k0 ^ UINT64_C(0x736f6d6570736575),
                .v1 = k1 ^ UINT64_C(0x646f72616e646f6d),
                .v2 = k0 ^ UINT64_C(0x6c7967656e657261),
                .v3 = k1 ^ UINT64_C(0x7465646279746573),
        };
}

static inline __attribute__((always_inline)) void sip_compress(struct sip *s, uint64_t m) {
        s->v3 ^= m;
        sip_round(s);
        sip_round(s);
        s->v0 ^= m;
}

/* Whole words go straight in: every judgement hashes every object twice.
 * The rounds are inlined, so a SysV key, made of whole words, is computed
 * in registers. */
static void sip_feed(struct sip *s, const void *p, size_t n) {
        const uint8_t *b = p;

        s->len += n;
        for (; n > 0 && s->n_tail > 0; b++, n--) {
                s->tail |= (uint64_t) *b << (8 * s->n_tail);
                if (++s->n_tail == 8) {
                        sip_compress(s, s->tail);
                        s->tail = 0;
                        s->n_tail = 0;
                }
        }
        for (; n >= 8; b += 8, n -= 8) {
                uint64_t w;
                memcpy(&w, b, sizeof(w));
                sip_compress(s, le64toh(w));
        }
        for (; n > 0; b++, n--)
                s->tail |= (uint64_t) *b << (8 * s->n_tail++);
}

static inline __attribute__((always_inline)) void sip_feed_u32(struct sip *s, uint32_t v) {
        if (s->n_tail <= 4) {
                s->tail |= (uint64_t) v << (8 * s->n_tail);
                s->n_tail += 4;
                s->len += 4;
                if (s->n_tail == 8) {
                        sip_compress(s, s->tail);
                        s->tail = 0;
                        s->n_tail = 0;
                }
                return;
        }
        uint8_t b[4] = { (uint8_t) v, (uint8_t) (v >> 8), (uint8_t) (v >> 16), (uint8_t) (v >> 24) };
        sip_feed(s, b, sizeof(b));
}

static inline __attribute__((always_inline)) void sip_feed_u64(struct sip *s, uint64_t v) {
        sip_feed_u32(s, (uint32_t) v);
        sip_feed_u32(s, (uint32_t) (v >> 32));
}

static inline __attribute__((always_inline)) uint64_t sip_final(struct sip *s) {
        sip_compress(s, (s->len << 56) | s->tail);
        s->v2 ^= 0xff;
        for (int i = 0; i < 4; i++)
                sip_round(s);
        return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

uint64_t memory_key(const struct ipc_object *o) {
        struct sip s;
        uint64_t k;

        /* A canonical little-endian encoding, so the key does not depend on
         * struct layout.  Not ctime: IPC_SET moves it. */
        sip_init(&s, KEY_K0, KEY_K1);
        sip_feed_u32(&s, (uint32_t) o->type);
        if (ipc_type_is_sysv(o->type)) {
                sip_feed_u32(&s, (uint32_t) o->id);
                sip_feed_u32(&s, (uint32_t) o->key);
                sip_feed_u32(&s, (uint32_t) o->cuid);
        } else {
                size_t n = o->name ? strlen(o->name) : 0;
                sip_feed_u64(&s, (uint64_t) o->dev);
                sip_feed_u64(&s, (uint64_t) o->ino);
                sip_feed_u64(&s, (uint64_t) n);
                sip_feed(&s, o->name, n);
        }
        k = sip_final(&s);
        return k ? k : 1;
}

/* ---- a fast hash, for the checksum and the unit tables -------------------- */

#define P1 UINT64_C(0x9e3779b185ebca87)
#define P2 UINT64_C(0xc2b2ae3d27d4eb4f)
#define P3 UINT64_C(0x165667b19e3779f9)

static uint64_t fmix64(uint64_t h) {
        h ^= h >> 33;
        h *= UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 33;
        h *= UINT64_C(0xc4ceb9fe1a85ec53);
        h ^= h >> 33;
        return h;
}

/* Detects corruption, not forgery: the file lives in root's directory. */
static uint64_t hash_bytes(const void *p, size_t n) {
        const uint8_t *b = p;
        uint64_t h = P3 ^ ((uint64_t) n * P1), w;

        for (; n >= 8; b += 8, n -= 8) {
                memcpy(&w, b, 8);
                h ^= rotl64(le64toh(w) * P2, 31) * P1;
                h = rotl64(h, 27) * P1 + P3;
        }
        w = 0;
        for (size_t i = 0; i < n; i++)
                w |= (uint64_t) b[i] << (8 * i);
        h ^= rotl64(w * P2, 31) * P1;
        return fmix64(h);
}

static uint64_t checksum_fold(uint64_t sum, uint64_t record_hash) {
        return rotl64(sum ^ record_hash, 29) * P1 + P2;
}

#define CHECKSUM_SEED UINT64_C(0x697063676321)

/* ---- the struct ------------------------------------------------------------ */

static void *grow_array(void *p, size_t *alloc, size_t need, size_t size) {
        size_t n;
        void *q;

        if (need <= *alloc)
                return p;
        n = *alloc ? *alloc : 16;
        while (n < need) {
                if (n > SIZE_MAX / 2 / size)
                        return NULL;
                n *= 2;
        }
        q = realloc(p, n * size);
        if (!q)
                return NULL;
        *alloc = n;
        return q;
}

/* Room for NEED in PTR: 0 or -ENOMEM.  Most calls have the room already. */
#define GROW(ptr, alloc, need)                                                                     \
        ({                                                                                         \
                int _r = 0;                                                                        \
                if ((need) > (alloc)) {                                                            \
                        void *_q = grow_array((ptr), &(alloc), (need), sizeof(*(ptr)));            \
                        if (_q)                                                                    \
                                (ptr) = _q;                                                        \
                        else                                                                       \
                                _r = -ENOMEM;                                                      \
                }                                                                                  \
                _r;                                                                                \
        })

/* Gives back what doubling left unused: a daemon keeps its memory. */
#define TRIM(ptr, alloc, n)                                                                        \
        do {                                                                                       \
                if ((n) > 0 && (n) < (alloc)) {                                                    \
                        void *_q = realloc((ptr), (n) * sizeof(*(ptr)));                           \
                        if (_q) {                                                                  \
                                (ptr) = _q;                                                        \
                                (alloc) = (n);                                                     \
                        }                                                                          \
                }                                                                                  \
        } while (0)

int memory_new(struct memory **ret) {
        struct memory_impl *mi = calloc(1, sizeof(*mi));

        if (!mi)
                return -ENOMEM;
        mi->sealed = true;
        *ret = &mi->pub;
        return 0;
}

struct memory *memory_free(struct memory *m) {
        struct memory_impl *mi;

        if (!m)
                return NULL;
        mi = impl(m);
        for (size_t i = 0; i < m->n_units; i++)
                free(m->units[i]);
        free(m->units);
        free(m->entries);
        free(m->pid_refs);
        free(m->procs);
        free(m->unit_refs);
        free(mi->unit_slots);
        free(mi->proc_slots);
        free(mi->buckets);
        free(mi);
        return NULL;
}

/* A set of strings by index, for interning: the strings live elsewhere. */
struct strtab {
        uint32_t *slots; /* index + 1, 0 empty */
        size_t mask;
};

static uint32_t *strtab_slot(const struct strtab *t, const char *const *strs, const char *s) {
        for (size_t i = hash_bytes(s, strlen(s)) & t->mask;; i = (i + 1) & t->mask) {
                uint32_t *slot = &t->slots[i];
                if (*slot == 0 || strcmp(strs[*slot - 1], s) == 0)
                        return slot;
        }
}

/* Room for one more than N, kept at most half full. */
static int strtab_reserve(struct strtab *t, const char *const *strs, size_t n) {
        size_t n_slots;
        uint32_t *slots;

        if (t->slots && (n + 1) * 2 <= t->mask + 1)
                return 0;
        if (n >= UINT32_MAX / 4)
                return -E2BIG;
        n_slots = t->slots ? (t->mask + 1) * 2 : 64;
        while ((n + 1) * 2 > n_slots)
                n_slots *= 2;
        slots = calloc(n_slots, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        free(t->slots);
        t->slots = slots;
        t->mask = n_slots - 1;
        for (size_t i = 0; i < n; i++)
                *strtab_slot(t, strs, strs[i]) = (uint32_t) i + 1;
        return 0;
}

/* The index of unit S in M, added if new.  *RET_NEW says whether it was. */
static int intern_unit(struct memory_impl *mi, const char *s, uint32_t *ret, bool *ret_new) {
        struct memory *m = &mi->pub;
        struct strtab t = { mi->unit_slots, mi->unit_mask };
        uint32_t *slot;
        char *copy;
        int r;

        r = strtab_reserve(&t, (const char *const *) m->units, m->n_units);
        mi->unit_slots = t.slots;
        mi->unit_mask = t.mask;
        if (r < 0)
                return r;
        slot = strtab_slot(&t, (const char *const *) m->units, s);
        if (*slot) {
                *ret = *slot - 1;
                if (ret_new)
                        *ret_new = false;
                return 0;
        }
        if (GROW(m->units, mi->units_alloc, m->n_units + 1) < 0)
                return -ENOMEM;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        m->units[m->n_units] = copy;
        *slot = (uint32_t) ++m->n_units;
        *ret = *slot - 1;
        if (ret_new)
                *ret_new = true;
        return 0;
}

static uint64_t proc_hash(pid_t pid, uid_t uid, uint64_t ticks) {
        return fmix64(ticks * P1 ^ ((uint64_t) (uint32_t) pid << 32 | (uint32_t) uid));
}

static uint32_t *proc_slot(const struct memory_impl *mi, pid_t pid, uid_t uid, uint64_t ticks) {
        const struct memory_proc *procs = mi->pub.procs;

        for (size_t i = proc_hash(pid, uid, ticks) & mi->proc_mask;; i = (i + 1) & mi->proc_mask) {
                uint32_t *slot = &mi->proc_slots[i];
                if (*slot == 0)
                        return slot;
                const struct memory_proc *q = &procs[*slot - 1];
                if (q->pid == pid && q->uid == uid && q->start_ticks == ticks)
                        return slot;
        }
}

/* The index of process P in M, added if new. */
static int intern_proc(struct memory_impl *mi, const struct memory_pid *p, uint32_t *ret) {
        struct memory *m = &mi->pub;
        uint32_t *slot;

        /* Room for one more, the table at most half full. */
        if (!mi->proc_slots || (m->n_procs + 1) * 2 > mi->proc_mask + 1) {
                size_t n_slots = mi->proc_slots ? (mi->proc_mask + 1) * 2 : 64;
                uint32_t *slots;

                if (m->n_procs >= MEMORY_MAX_PROCS)
                        return -E2BIG;
                while ((m->n_procs + 1) * 2 > n_slots)
                        n_slots *= 2;
                slots = calloc(n_slots, sizeof(*slots));
                if (!slots)
                        return -ENOMEM;
                free(mi->proc_slots);
                mi->proc_slots = slots;
                mi->proc_mask = n_slots - 1;
                for (size_t i = 0; i < m->n_procs; i++)
                        *proc_slot(mi, m->procs[i].pid, m->procs[i].uid, m->procs[i].start_ticks) = (uint32_t) i + 1;
        }
        slot = proc_slot(mi, p->pid, p->uid, p->start_ticks);
        if (!*slot) {
                if (m->n_procs >= MEMORY_MAX_PROCS)
                        return -E2BIG;
                if (GROW(m->procs, mi->procs_alloc, m->n_procs + 1) < 0)
                        return -ENOMEM;
                m->procs[m->n_procs] = (struct memory_proc) { p->pid, p->uid, p->start_ticks };
                *slot = (uint32_t) ++m->n_procs;
        }
        *ret = *slot - 1;
        return 0;
}

/* The reference to P in M, its process interned. */
static int pid_ref(struct memory_impl *mi, const struct memory_pid *p, uint32_t *ret) {
        uint32_t idx;
        int r = intern_proc(mi, p, &idx);
        if (r < 0)
                return r;
        *ret = idx << MEMORY_ROLE_BITS | p->role;
        return 0;
}

/* Two references name one process: the same pid, started at the same tick. */
static bool same_process(const struct memory *m, uint32_t a, const struct memory *n, uint32_t b) {
        const struct memory_proc *p = &m->procs[a >> MEMORY_ROLE_BITS], *q = &n->procs[b >> MEMORY_ROLE_BITS];
        return p->pid == q->pid && p->start_ticks == q->start_ticks;
}

static bool boot_id_valid(const char *s, size_t n) {
        if (n > 36)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdefABCDEF-", s[i]) || s[i] == 0)
                        return false;
        return true;
}

int memory_add(struct memory *m, const struct memory_entry *e, const struct memory_pid *pids, size_t n_pids,
               const char *const *units, size_t n_units) {
        struct memory_impl *mi = impl(m);
        struct memory_entry ne;
        size_t max_pids = n_pids < MEMORY_MAX_PIDS ? n_pids : MEMORY_MAX_PIDS;
        size_t max_units = n_units < MEMORY_MAX_UNITS ? n_units : MEMORY_MAX_UNITS;

        if (!e || e->key == 0 || e->type >= _IPC_TYPE_MAX || e->last_role >= _ROLE_MAX || (n_pids > 0 && !pids) ||
            (n_units > 0 && !units))
                return -EINVAL;
        for (size_t i = 0; i < n_pids; i++)
                if (pids[i].role >= _ROLE_MAX)
                        return -EINVAL;
        if (m->n_entries >= MEMORY_MAX_ENTRIES)
                return -E2BIG;
        if (GROW(m->entries, mi->entries_alloc, m->n_entries + 1) < 0 ||
            GROW(m->pid_refs, mi->pid_refs_alloc, m->n_pids + max_pids) < 0 ||
            GROW(m->unit_refs, mi->refs_alloc, m->n_unit_refs + max_units) < 0)
                return -ENOMEM;

        ne = *e;
        ne.last_pid = e->last_pid > 0 ? e->last_pid : 0;
        ne.pids = (uint32_t) m->n_pids;
        ne.units = (uint32_t) m->n_unit_refs;
        ne.n_pids = ne.n_units = 0;

        for (size_t i = 0; i < n_pids && ne.n_pids < MEMORY_MAX_PIDS; i++) {
                bool dup = false;
                uint32_t ref;
                int r;

                if (pids[i].pid <= 0)
                        continue;
                for (size_t j = 0; j < i && !dup; j++)
                        dup = pids[j].pid == pids[i].pid && pids[j].start_ticks == pids[i].start_ticks;
                if (dup)
                        continue;
                /* Nothing is counted until the whole entry is in: a failure
                 * leaves at most an unused process behind. */
                r = pid_ref(mi, &pids[i], &ref);
                if (r < 0)
                        return r;
                m->pid_refs[ne.pids + ne.n_pids++] = ref;
        }

        for (size_t i = 0; i < n_units && ne.n_units < MEMORY_MAX_UNITS; i++) {
                bool dup = false;
                uint32_t idx;
                size_t len;
                int r;

                if (!units[i])
                        continue;
                len = strnlen(units[i], MEMORY_MAX_UNIT_LEN + 1);
                if (len == 0 || len > MEMORY_MAX_UNIT_LEN)
                        continue;
                r = intern_unit(mi, units[i], &idx, NULL);
                if (r < 0)
                        return r;
                for (unsigned j = 0; j < ne.n_units && !dup; j++)
                        dup = m->unit_refs[ne.units + j] == idx;
                if (!dup)
                        m->unit_refs[ne.units + ne.n_units++] = idx;
        }

        m->n_pids += ne.n_pids;
        m->n_unit_refs += ne.n_units;
        m->entries[m->n_entries++] = ne;
        mi->sealed = false;
        return 0;
}

/* An entry on its own, its references copied out, for merging. */
struct loose {
        struct memory_entry e;
        uint32_t pids[MEMORY_MAX_PIDS];
        uint32_t units[MEMORY_MAX_UNITS];
};

static void loose_from(struct loose *l, const struct memory *m, const struct memory_entry *e) {
        l->e = *e;
        if (e->n_pids)
                memcpy(l->pids, &m->pid_refs[e->pids], e->n_pids * sizeof(uint32_t));
        if (e->n_units)
                memcpy(l->units, &m->unit_refs[e->units], e->n_units * sizeof(uint32_t));
}

/*
 * Two entries of one object in M, merged into A: the later life wins the
 * last-life fields, the pids and units are the union with A's first (A is
 * the more recent), and first_dead only stands when no life was seen after
 * it (life in the same second is not after: learn() keeps such a
 * first_dead too), the earliest of two.
 */
static void merge(const struct memory *m, struct loose *a, const struct loose *b) {
        unsigned n_pids = a->e.n_pids, n_units = a->e.n_units;
        uint32_t first_dead = 0;

        if (b->e.last_life > a->e.last_life) {
                a->e.last_life = b->e.last_life;
                a->e.last_role = b->e.last_role;
                a->e.last_pid = b->e.last_pid;
        }
        if (a->e.first_dead && a->e.first_dead >= a->e.last_life)
                first_dead = a->e.first_dead;
        if (b->e.first_dead && b->e.first_dead >= a->e.last_life && (!first_dead || b->e.first_dead < first_dead))
                first_dead = b->e.first_dead;
        a->e.first_dead = first_dead;

        for (unsigned i = 0; i < b->e.n_pids && a->e.n_pids < MEMORY_MAX_PIDS; i++) {
                bool dup = false;
                for (unsigned j = 0; j < n_pids && !dup; j++)
                        dup = same_process(m, a->pids[j], m, b->pids[i]);
                if (!dup)
                        a->pids[a->e.n_pids++] = b->pids[i];
        }
        /* Units are interned: one path, one index. */
        for (unsigned i = 0; i < b->e.n_units && a->e.n_units < MEMORY_MAX_UNITS; i++) {
                bool dup = false;
                for (unsigned j = 0; j < n_units && !dup; j++)
                        dup = a->units[j] == b->units[i];
                if (!dup)
                        a->units[a->e.n_units++] = b->units[i];
        }
}

/* Stable (equal keys keep the order they were added in), and linear: the
 * daemon seals a memory of every object after each judgement. */
static int sort_entries(struct memory_entry *entries, size_t n) {
        _cleanup_free_ struct memory_entry *tmp = NULL;
        struct memory_entry *src = entries, *dst;

        tmp = malloc(n * sizeof(*tmp));
        if (!tmp)
                return -ENOMEM;
        dst = tmp;
        /* Six passes of 11 bits; the counts stay in the L1 cache. */
        for (unsigned shift = 0; shift < 64; shift += 11) {
                size_t count[2048] = { 0 }, sum = 0;
                struct memory_entry *swap;

                for (size_t i = 0; i < n; i++)
                        count[(src[i].key >> shift) & 2047]++;
                if (count[(src[0].key >> shift) & 2047] == n)
                        continue; /* one value of these bits: nothing to move */
                for (unsigned b = 0; b < 2048; b++) {
                        size_t c = count[b];
                        count[b] = sum;
                        sum += c;
                }
                for (size_t i = 0; i < n; i++)
                        dst[count[(src[i].key >> shift) & 2047]++] = src[i];
                swap = src;
                src = dst;
                dst = swap;
        }
        if (src != entries)
                memcpy(entries, src, n * sizeof(*entries));
        return 0;
}

static void memory_trim(struct memory_impl *mi) {
        struct memory *m = &mi->pub;

        TRIM(m->entries, mi->entries_alloc, m->n_entries);
        TRIM(m->pid_refs, mi->pid_refs_alloc, m->n_pids);
        TRIM(m->procs, mi->procs_alloc, m->n_procs);
        TRIM(m->unit_refs, mi->refs_alloc, m->n_unit_refs);
        TRIM(m->units, mi->units_alloc, m->n_units);
        /* Made again from the arrays if the memory grows. */
        free(mi->proc_slots);
        mi->proc_slots = NULL;
        mi->proc_mask = 0;
        free(mi->unit_slots);
        mi->unit_slots = NULL;
        mi->unit_mask = 0;
}

/* The keys are hashes, spread evenly: a bucket by their top bits holds a
 * few entries, found with a miss of the cache or two where halving takes a
 * dozen.  Two to four entries a bucket: a byte or two an entry.  Without it
 * (a small memory, or no memory for it) memory_find halves. */
static void index_build(struct memory_impl *mi) {
        const struct memory *m = &mi->pub;
        unsigned bits = 0;
        uint32_t *b;

        free(mi->buckets);
        mi->buckets = NULL;
        if (m->n_entries < 64)
                return;
        while (bits < 24 && ((size_t) 4 << bits) < m->n_entries)
                bits++;
        b = malloc((((size_t) 1 << bits) + 1) * sizeof(*b));
        if (!b)
                return;
        for (size_t k = 0, i = 0; k <= ((size_t) 1 << bits); k++) {
                /* The first entry whose top bits are K or more. */
                while (i < m->n_entries && (m->entries[i].key >> (64 - bits)) < k)
                        i++;
                b[k] = (uint32_t) i;
        }
        mi->buckets = b;
        mi->bucket_bits = bits;
}

/* Rebuilds the references of the sorted M, merging runs of one key. */
static int seal_merging(struct memory_impl *mi) {
        struct memory *m = &mi->pub;
        struct memory_entry *entries = NULL;
        uint32_t *pids = NULL, *refs = NULL;
        size_t n = 0, n_pids = 0, n_refs = 0;

        entries = malloc(m->n_entries * sizeof(*entries));
        pids = malloc((m->n_pids ? m->n_pids : 1) * sizeof(*pids));
        refs = malloc((m->n_unit_refs ? m->n_unit_refs : 1) * sizeof(*refs));
        if (!entries || !pids || !refs) {
                free(entries);
                free(pids);
                free(refs);
                return -ENOMEM;
        }

        for (size_t i = 0; i < m->n_entries;) {
                struct loose acc, next;
                size_t j;

                loose_from(&acc, m, &m->entries[i]);
                for (j = i + 1; j < m->n_entries && m->entries[j].key == m->entries[i].key; j++) {
                        /* Of two adds of one object, the later life is the more recent. */
                        loose_from(&next, m, &m->entries[j]);
                        if (next.e.last_life > acc.e.last_life) {
                                merge(m, &next, &acc);
                                acc = next;
                        } else
                                merge(m, &acc, &next);
                }
                i = j;

                acc.e.pids = (uint32_t) n_pids;
                for (unsigned k = 0; k < acc.e.n_pids; k++)
                        pids[n_pids++] = acc.pids[k];
                acc.e.units = (uint32_t) n_refs;
                for (unsigned k = 0; k < acc.e.n_units; k++)
                        refs[n_refs++] = acc.units[k];
                entries[n++] = acc.e;
        }

        free(m->entries);
        free(m->pid_refs);
        free(m->unit_refs);
        m->entries = entries;
        m->pid_refs = pids;
        m->unit_refs = refs;
        m->n_entries = mi->entries_alloc = n;
        m->n_pids = n_pids;
        mi->pid_refs_alloc = m->n_pids ? m->n_pids : 1;
        m->n_unit_refs = n_refs;
        mi->refs_alloc = m->n_unit_refs ? m->n_unit_refs : 1;
        return 0;
}

int memory_seal(struct memory *m) {
        struct memory_impl *mi = impl(m);
        bool sorted = true, dups = false;
        int r;

        if (mi->sealed)
                return 0;
        free(mi->buckets);
        mi->buckets = NULL;

        for (size_t i = 1; i < m->n_entries && sorted; i++)
                sorted = m->entries[i - 1].key < m->entries[i].key;
        if (!sorted) {
                r = sort_entries(m->entries, m->n_entries);
                if (r < 0)
                        return r;
                for (size_t i = 1; i < m->n_entries && !dups; i++)
                        dups = m->entries[i - 1].key == m->entries[i].key;
                if (dups) {
                        r = seal_merging(mi);
                        if (r < 0)
                                return r;
                }
        }
        memory_trim(mi);
        index_build(mi);
        mi->sealed = true;
        return 0;
}

const struct memory_entry *memory_find(const struct memory *m, uint64_t key) {
        const struct memory_impl *mi = cimpl(m);
        const struct memory_entry *e = m->entries;
        size_t lo = 0, hi = m->n_entries;

        if (!mi->sealed) {
                for (size_t i = 0; i < m->n_entries; i++)
                        if (e[i].key == key)
                                return &e[i];
                return NULL;
        }
        if (mi->buckets) {
                size_t k = (size_t) (key >> (64 - mi->bucket_bits));
                lo = mi->buckets[k];
                hi = mi->buckets[k + 1];
                /* A crowded bucket (keys made to share their top bits) is halved. */
                if (hi - lo <= 16) {
                        for (size_t i = lo; i < hi && e[i].key <= key; i++)
                                if (e[i].key == key)
                                        return &e[i];
                        return NULL;
                }
        }
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (e[mid].key == key)
                        return &e[mid];
                if (e[mid].key < key)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/* ---- the encoding ------------------------------------------------------------ */

static uint16_t get_u16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t get_u32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        return le32toh(v);
}

static uint64_t get_u64(const uint8_t *p) {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return le64toh(v);
}

static uint8_t *put_u16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        return p + 2;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v) {
        v = htole32(v);
        memcpy(p, &v, sizeof(v));
        return p + sizeof(v);
}

static uint8_t *put_u64(uint8_t *p, uint64_t v) {
        v = htole64(v);
        memcpy(p, &v, sizeof(v));
        return p + sizeof(v);
}

/* ---- reading ---------------------------------------------------------------- */

struct reader {
        int fd;
        uint8_t *buf; /* IO_CHUNK + MAX_RECORD */
        size_t pos, len;
        uint64_t total;
        bool eof;
};

/* Makes N (at most MAX_RECORD) bytes available at buf + pos.  0, -EBADMSG
 * when the file ends before them, -EFBIG past MEMORY_MAX_FILE_BYTES, or a
 * read error. */
static int reader_fill(struct reader *r, size_t n);

static inline int reader_need(struct reader *r, size_t n) {
        return r->len - r->pos >= n ? 0 : reader_fill(r, n);
}

static int reader_fill(struct reader *r, size_t n) {
        while (r->len - r->pos < n) {
                ssize_t k;

                if (r->eof)
                        return -EBADMSG;
                memmove(r->buf, r->buf + r->pos, r->len - r->pos);
                r->len -= r->pos;
                r->pos = 0;
                do
                        k = read(r->fd, r->buf + r->len, IO_CHUNK + MAX_RECORD - r->len);
                while (k < 0 && errno == EINTR);
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        r->eof = true;
                r->len += (size_t) k;
                r->total += (uint64_t) k;
                if (r->total > MEMORY_MAX_FILE_BYTES)
                        return -EFBIG;
        }
        return 0;
}

struct parse {
        struct reader r;
        struct memory_impl *mi;
        uint64_t sum; /* the file's checksum, once read whole */
        char what[160];
};

static uint64_t parse_offset(const struct parse *p) {
        return p->r.total - (p->r.len - p->r.pos);
}

static int _printf_(2, 3) parse_fail(struct parse *p, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(p->what, sizeof(p->what), fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

/* reader_need, its failures said as what is wrong with the file. */
static int parse_need(struct parse *p, size_t n) {
        int r = reader_need(&p->r, n);

        if (r == -EBADMSG)
                return parse_fail(p, "truncated at byte %llu", (unsigned long long) p->r.total);
        if (r == -EFBIG)
                return parse_fail(p, "larger than %llu bytes", (unsigned long long) MEMORY_MAX_FILE_BYTES);
        return r;
}


static int parse_header(struct parse *p, const uint8_t *rec) {
        struct memory *m = &p->mi->pub;
        size_t n = strnlen((const char *) rec + 1, BOOT_ID_BYTES);

        /* NUL-padded, and nothing after the padding starts. */
        for (size_t i = n; i < BOOT_ID_BYTES; i++)
                if (rec[1 + i] != 0)
                        return parse_fail(p, "bad boot id");
        if (!boot_id_valid((const char *) rec + 1, n))
                return parse_fail(p, "bad boot id");
        memcpy(m->boot_id, rec + 1, n);
        m->boot_id[n] = 0;
        m->clock_offset = (int64_t) get_u64(rec + 1 + BOOT_ID_BYTES);
        m->clock_step = (int64_t) get_u64(rec + 1 + BOOT_ID_BYTES + 8);
        return 0;
}

/* An entry record whose first ENTRY_BYTES are in, its size in *RET_SIZE. */
static int parse_entry(struct parse *p, uint64_t prev_key, size_t *ret_size) {
        struct memory_impl *mi = p->mi;
        struct memory *m = &mi->pub;
        const uint8_t *rec = p->r.buf + p->r.pos;
        uint64_t at = parse_offset(p);
        int64_t last_life = (int64_t) get_u64(rec + 9), first_dead = (int64_t) get_u64(rec + 17);
        struct memory_entry e = {
                .key = get_u64(rec + 1),
                .last_life = memory_time(last_life),
                .first_dead = memory_time(first_dead),
                .last_pid = (pid_t) get_u32(rec + 25),
                .type = rec[29],
                .last_role = rec[30],
                .n_pids = rec[31] & 0xf,
                .n_units = rec[31] >> 4,
        };
        struct memory_pid pids[MEMORY_MAX_PIDS];
        size_t size;
        int r;

        if (e.type >= _IPC_TYPE_MAX || e.last_role >= _ROLE_MAX || e.last_pid < 0 || last_life < 0 ||
            first_dead < 0 || e.n_pids > MEMORY_MAX_PIDS || e.n_units > MEMORY_MAX_UNITS)
                return parse_fail(p, "bad entry at byte %llu", (unsigned long long) at);
        if (e.key == 0 || e.key <= prev_key)
                return parse_fail(p, "entry out of order at byte %llu", (unsigned long long) at);
        if (m->n_entries >= MEMORY_MAX_ENTRIES)
                return parse_fail(p, "more than %u entries", MEMORY_MAX_ENTRIES);

        size = ENTRY_BYTES + e.n_pids * PID_BYTES + e.n_units * 4u;
        r = parse_need(p, size);
        if (r < 0)
                return r;
        rec = p->r.buf + p->r.pos;
        if (GROW(m->entries, mi->entries_alloc, m->n_entries + 1) < 0 ||
            GROW(m->pid_refs, mi->pid_refs_alloc, m->n_pids + e.n_pids) < 0 ||
            GROW(m->unit_refs, mi->refs_alloc, m->n_unit_refs + e.n_units) < 0)
                return -ENOMEM;
        e.pids = (uint32_t) m->n_pids;
        e.units = (uint32_t) m->n_unit_refs;

        for (unsigned i = 0; i < e.n_pids; i++) {
                const uint8_t *q = rec + ENTRY_BYTES + i * PID_BYTES;
                struct memory_pid *mp = &pids[i];

                *mp = (struct memory_pid) {
                        .pid = (pid_t) get_u32(q),
                        .uid = (uid_t) get_u32(q + 4),
                        .start_ticks = get_u64(q + 8),
                        .role = q[16],
                };
                if (mp->pid <= 0 || mp->role >= _ROLE_MAX)
                        return parse_fail(p, "bad pid at byte %llu", (unsigned long long) at);
                for (unsigned j = 0; j < i; j++)
                        if (pids[j].pid == mp->pid && pids[j].start_ticks == mp->start_ticks)
                                return parse_fail(p, "a pid twice at byte %llu", (unsigned long long) at);
                r = pid_ref(mi, mp, &m->pid_refs[e.pids + i]);
                if (r == -E2BIG)
                        return parse_fail(p, "more than %u processes", MEMORY_MAX_PROCS);
                if (r < 0)
                        return r;
        }
        for (unsigned i = 0; i < e.n_units; i++) {
                /* Checked against the number of units at the end. */
                uint32_t idx = get_u32(rec + ENTRY_BYTES + e.n_pids * PID_BYTES + i * 4u);
                for (unsigned j = 0; j < i; j++)
                        if (m->unit_refs[e.units + j] == idx)
                                return parse_fail(p, "a unit twice at byte %llu", (unsigned long long) at);
                m->unit_refs[e.units + i] = idx;
        }

        m->n_pids += e.n_pids;
        m->n_unit_refs += e.n_units;
        m->entries[m->n_entries++] = e;
        *ret_size = size;
        return 0;
}

static int parse_unit(struct parse *p, size_t *ret_size) {
        uint64_t at = parse_offset(p);
        char buf[MEMORY_MAX_UNIT_LEN + 1];
        const uint8_t *rec;
        size_t len;
        uint32_t idx;
        bool is_new;
        int r;

        /* Every unit is named by some entry before it: that bounds them. */
        if (p->mi->pub.n_units >= p->mi->pub.n_unit_refs)
                return parse_fail(p, "a unit no entry names at byte %llu", (unsigned long long) at);
        r = parse_need(p, 3);
        if (r < 0)
                return r;
        len = get_u16(p->r.buf + p->r.pos + 1);
        if (len == 0 || len > MEMORY_MAX_UNIT_LEN)
                return parse_fail(p, "bad unit at byte %llu", (unsigned long long) at);
        r = parse_need(p, 3 + len);
        if (r < 0)
                return r;
        rec = p->r.buf + p->r.pos;
        if (memchr(rec + 3, 0, len))
                return parse_fail(p, "bad unit at byte %llu", (unsigned long long) at);
        memcpy(buf, rec + 3, len);
        buf[len] = 0;
        r = intern_unit(p->mi, buf, &idx, &is_new);
        if (r == -E2BIG)
                return parse_fail(p, "too many units");
        if (r < 0)
                return r;
        if (!is_new)
                return parse_fail(p, "a unit twice at byte %llu", (unsigned long long) at);
        *ret_size = 3 + len;
        return 0;
}

static int parse_end(struct parse *p, uint64_t sum) {
        const struct memory *m = &p->mi->pub;
        const uint8_t *rec;
        int r;

        r = parse_need(p, END_BYTES);
        if (r < 0)
                return r;
        rec = p->r.buf + p->r.pos;
        if (get_u64(rec + 17) != sum)
                return parse_fail(p, "checksum mismatch");
        if (get_u32(rec + 1) != m->n_entries || get_u32(rec + 5) != m->n_pids || get_u32(rec + 9) != m->n_unit_refs ||
            get_u32(rec + 13) != m->n_units)
                return parse_fail(p, "counts in the end record do not match");
        for (size_t i = 0; i < m->n_unit_refs; i++)
                if (m->unit_refs[i] >= m->n_units)
                        return parse_fail(p, "a unit reference out of range");
        p->r.pos += END_BYTES;
        /* The end record ends the file. */
        r = reader_need(&p->r, 1);
        if (r == -EBADMSG) {
                p->sum = sum;
                return 0;
        }
        if (r < 0 && r != -EFBIG)
                return r;
        return parse_fail(p, "data after the end record");
}

static int parse_magic(struct parse *p) {
        const uint8_t *b;
        size_t avail;
        int r;

        r = reader_need(&p->r, MAGIC_BYTES);
        if (r < 0 && r != -EBADMSG)
                return r;
        b = p->r.buf + p->r.pos;
        avail = p->r.len - p->r.pos;
        if (r == 0 && memcmp(b, MAGIC, MAGIC_BYTES) == 0) {
                p->r.pos += MAGIC_BYTES;
                return 0;
        }
        if (avail < MAGIC_BYTES && memcmp(b, MAGIC, avail) == 0)
                return parse_fail(p, "truncated at byte %zu", avail);
        if (avail > strlen(MAGIC_PREFIX) && memcmp(b, MAGIC_PREFIX, strlen(MAGIC_PREFIX)) == 0) {
                char v[17];
                size_t n = 0;

                for (size_t i = strlen(MAGIC_PREFIX); i < avail && b[i] != '\n' && n < sizeof(v) - 1; i++)
                        v[n++] = b[i] >= ' ' && b[i] < 0x7f ? (char) b[i] : '?';
                v[n] = 0;
                return parse_fail(p, "format version %s, not " MAGIC_VERSION, v);
        }
        return parse_fail(p, "not an ipcgc memory file");
}

/* Parses FD into P->mi, which must be empty.  0, -ENOMEM, -EBADMSG with
 * P->what, or another negative errno (a read error). */
static int parse_file(struct parse *p) {
        enum { ENTRIES, UNITS } state = ENTRIES;
        uint64_t sum = checksum_fold(CHECKSUM_SEED, hash_bytes(MAGIC, MAGIC_BYTES)), prev_key = 0;
        int r;

        r = parse_magic(p);
        if (r < 0)
                return r;
        r = parse_need(p, HEADER_BYTES);
        if (r < 0)
                return r;
        if (p->r.buf[p->r.pos] != 'H')
                return parse_fail(p, "no header");
        r = parse_header(p, p->r.buf + p->r.pos);
        if (r < 0)
                return r;
        sum = checksum_fold(sum, hash_bytes(p->r.buf + p->r.pos, HEADER_BYTES));
        p->r.pos += HEADER_BYTES;

        for (;;) {
                size_t size = 0;

                r = reader_need(&p->r, 1);
                if (r == -EBADMSG)
                        return parse_fail(p, "truncated at byte %llu (no end record)",
                                          (unsigned long long) p->r.total);
                if (r == -EFBIG)
                        return parse_need(p, 1);
                if (r < 0)
                        return r;

                switch (p->r.buf[p->r.pos]) {
                case 'E':
                        if (state != ENTRIES)
                                return parse_fail(p, "an entry after the units at byte %llu",
                                                  (unsigned long long) parse_offset(p));
                        r = parse_need(p, ENTRY_BYTES);
                        if (r < 0)
                                return r;
                        r = parse_entry(p, prev_key, &size);
                        if (r < 0)
                                return r;
                        prev_key = p->mi->pub.entries[p->mi->pub.n_entries - 1].key;
                        break;
                case 'U':
                        state = UNITS;
                        r = parse_unit(p, &size);
                        if (r < 0)
                                return r;
                        break;
                case 'Z':
                        return parse_end(p, sum);
                default:
                        return parse_fail(p, "bad record at byte %llu", (unsigned long long) parse_offset(p));
                }
                sum = checksum_fold(sum, hash_bytes(p->r.buf + p->r.pos, size));
                p->r.pos += size;
        }
}

#define RESERVE(ptr, alloc, n)                                                                     \
        do {                                                                                       \
                void *_q = (n) > 0 ? realloc((ptr), (n) * sizeof(*(ptr))) : NULL;                  \
                if (_q) {                                                                          \
                        (ptr) = _q;                                                                \
                        (alloc) = (n);                                                             \
                }                                                                                  \
        } while (0)

/* Sizes MI's arrays once, from the counts of the end record read first:
 * doubling them as the entries come would copy and fault them in twice.
 * The counts are not trusted (parsing checks them, and grows past them
 * if need be), only bounded by what a file of SIZE bytes can hold. */
static void reserve_from_end(struct memory_impl *mi, int fd, uint64_t size) {
        struct memory *m = &mi->pub;
        uint8_t z[END_BYTES];
        uint64_t n;

        if (size < MAGIC_BYTES + HEADER_BYTES + END_BYTES ||
            pread(fd, z, sizeof(z), (off_t) (size - END_BYTES)) != (ssize_t) sizeof(z) || z[0] != 'Z')
                return;
        n = get_u32(z + 1);
        if (n <= size / ENTRY_BYTES && n <= MEMORY_MAX_ENTRIES)
                RESERVE(m->entries, mi->entries_alloc, n);
        n = get_u32(z + 5);
        if (n <= size / PID_BYTES)
                RESERVE(m->pid_refs, mi->pid_refs_alloc, n);
        n = get_u32(z + 9);
        if (n <= size / 4)
                RESERVE(m->unit_refs, mi->refs_alloc, n);
        n = get_u32(z + 13);
        if (n <= size / 4)
                RESERVE(m->units, mi->units_alloc, n);
}

static int64_t nsec_of(struct timespec ts) {
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct memory_file file_of(const struct stat *st, uint64_t checksum) {
        return (struct memory_file) {
                .known = true,
                .dev = (uint64_t) st->st_dev,
                .ino = (uint64_t) st->st_ino,
                .size = (uint64_t) st->st_size,
                .mtime_nsec = nsec_of(st->st_mtim),
                .ctime_nsec = nsec_of(st->st_ctim),
                .checksum = checksum,
        };
}

/* Whether DFD/memory is still the file F: nobody replaced it (its inode,
 * size and times) nor wrote into it (its checksum, which covers every
 * byte, in its end record). */
static bool file_unchanged(int dfd, const struct memory_file *f) {
        _cleanup_close_ int fd = -EBADF;
        uint8_t z[END_BYTES];
        struct memory_file now;
        struct stat st;

        if (!f->known)
                return false;
        fd = openat(dfd, MEMORY_FILE_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t) st.st_size < sizeof(z))
                return false;
        now = file_of(&st, f->checksum);
        if (now.dev != f->dev || now.ino != f->ino || now.size != f->size || now.mtime_nsec != f->mtime_nsec ||
            now.ctime_nsec != f->ctime_nsec)
                return false;
        if (pread(fd, z, sizeof(z), (off_t) (st.st_size - (off_t) sizeof(z))) != (ssize_t) sizeof(z))
                return false;
        return z[0] == 'Z' && get_u64(z + 17) == f->checksum;
}

/* What reading the file found, when not a memory. */
enum read_result {
        READ_OK,
        READ_MISSING, /* no file: no warning */
        READ_UNUSABLE, /* not read (a symlink, unreadable...): a warning, left where it is */
        READ_BAD,      /* read and bad: a warning, and it may be set aside */
};

/* Reads DFD/memory into a new memory, which is empty unless READ_OK;
 * *RET_FD the file's fd when READ_BAD, *WHAT the problem. */
static int read_at(int dfd, struct memory **ret, int *ret_fd, char *what, size_t what_size) {
        _cleanup_(memory_freep) struct memory *m = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        struct parse p;
        int r;

        r = memory_new(&m);
        if (r < 0)
                return r;

        /* O_NONBLOCK: a FIFO put there must not hang the judgement. */
        fd = openat(dfd, MEMORY_FILE_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT) {
                        *ret = TAKE_PTR(m);
                        return READ_MISSING;
                }
                if (errno == ENOMEM)
                        return -ENOMEM;
                if (errno == ELOOP)
                        (void) snprintf(what, what_size, "a symbolic link, not followed");
                else
                        (void) snprintf(what, what_size, "cannot be opened: %s", strerror(errno));
                *ret = TAKE_PTR(m);
                return READ_UNUSABLE;
        }
        if (fstat(fd, &st) < 0) {
                (void) snprintf(what, what_size, "cannot be read: %s", strerror(errno));
                *ret = TAKE_PTR(m);
                return READ_UNUSABLE;
        }
        if (!S_ISREG(st.st_mode)) {
                (void) snprintf(what, what_size, "not a regular file");
                *ret = TAKE_PTR(m);
                return READ_UNUSABLE;
        }
        if ((uint64_t) st.st_size > MEMORY_MAX_FILE_BYTES) {
                (void) snprintf(what, what_size, "larger than %llu bytes",
                                (unsigned long long) MEMORY_MAX_FILE_BYTES);
                *ret = TAKE_PTR(m);
                *ret_fd = TAKE_FD(fd);
                return READ_BAD;
        }

        buf = malloc(IO_CHUNK + MAX_RECORD);
        if (!buf)
                return -ENOMEM;
        reserve_from_end(impl(m), fd, (uint64_t) st.st_size);
        p = (struct parse) { .r = { .fd = fd, .buf = buf }, .mi = impl(m) };
        r = parse_file(&p);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                _cleanup_(memory_freep) struct memory *empty = NULL;
                int k;

                if (r == -EBADMSG)
                        (void) snprintf(what, what_size, "%s", p.what);
                else
                        (void) snprintf(what, what_size, "cannot be read: %s", strerror(-r));
                k = memory_new(&empty);
                if (k < 0)
                        return k;
                *ret = TAKE_PTR(empty);
                /* A read error says nothing of the file: it stays. */
                if (r != -EBADMSG)
                        return READ_UNUSABLE;
                *ret_fd = TAKE_FD(fd);
                return READ_BAD;
        }
        memory_trim(impl(m));
        index_build(impl(m));
        /* Its times from before the read: a write since makes them stale,
         * never current. */
        m->file = file_of(&st, p.sum);
        *ret = TAKE_PTR(m);
        return READ_OK;
}

static int lock_dir(int dfd) {
        _cleanup_close_ int fd = -EBADF;

        fd = openat(dfd, LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
        if (fd < 0)
                return negative_errno();
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return negative_errno();
        return TAKE_FD(fd);
}

/* Renames the bad file FD aside, if it is still the one at DFD/memory: a
 * saver may have replaced it since, and its file is good.  Under the lock,
 * as savers rename under it. */
static int set_aside(int dfd, int fd) {
        _cleanup_close_ int lock = -EBADF;
        struct stat a, b;

        lock = lock_dir(dfd);
        if (lock < 0)
                return lock;
        if (fstat(fd, &a) < 0 || fstatat(dfd, MEMORY_FILE_NAME, &b, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
                return -ESTALE;
        if (renameat(dfd, MEMORY_FILE_NAME, dfd, BAD_NAME) < 0)
                return negative_errno();
        return 0;
}

int memory_load(const char *dir, unsigned flags, struct memory **ret, char **ret_warning) {
        _cleanup_(memory_freep) struct memory *m = NULL;
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        char what[256] = "";
        char *warning = NULL;
        int r;

        if (!dir || !ret)
                return -EINVAL;

        /* O_PATH: a directory we may search but not list is fine. */
        dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                int error = errno;

                if (error == ENOMEM)
                        return -ENOMEM;
                r = memory_new(&m);
                if (r < 0)
                        return r;
                if (error == ENOENT)
                        r = READ_MISSING;
                else {
                        (void) snprintf(what, sizeof(what), "cannot be opened: %s", strerror(error));
                        r = READ_UNUSABLE;
                }
        } else {
                r = read_at(dfd, &m, &fd, what, sizeof(what));
                if (r < 0)
                        return r;
        }

        if (r == READ_UNUSABLE || r == READ_BAD) {
                bool aside = r == READ_BAD && (flags & MEMORY_SET_ASIDE) && set_aside(dfd, fd) >= 0;
                int n;

                if (aside)
                        n = asprintf(&warning, "%s/%s: %s; its memory is not used (set aside as %s/%s)", dir,
                                     MEMORY_FILE_NAME, what, dir, BAD_NAME);
                else
                        n = asprintf(&warning, "%s/%s: %s; its memory is not used", dir, MEMORY_FILE_NAME, what);
                if (n < 0)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(m);
        if (ret_warning)
                *ret_warning = warning;
        else
                free(warning);
        return 0;
}

/* ---- writing ---------------------------------------------------------------- */

struct writer {
        int fd;
        uint8_t *buf; /* IO_CHUNK + MAX_RECORD: a record begun below IO_CHUNK always fits */
        size_t len;
        uint64_t sum;
        int error;
};

static void writer_flush(struct writer *w) {
        size_t done = 0;

        while (done < w->len && w->error == 0) {
                ssize_t n = write(w->fd, w->buf + done, w->len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        w->error = negative_errno();
                else if (n == 0)
                        w->error = -EIO;
                else
                        done += (size_t) n;
        }
        w->len = 0;
}

static uint8_t *record_begin(struct writer *w) {
        if (w->len >= IO_CHUNK)
                writer_flush(w);
        return w->buf + w->len;
}

static void record_end(struct writer *w, uint8_t *end, bool summed) {
        uint8_t *start = w->buf + w->len;

        if (summed)
                w->sum = checksum_fold(w->sum, hash_bytes(start, (size_t) (end - start)));
        w->len = (size_t) (end - w->buf);
}

/* The units a save writes: those its entries name, in the order first named.
 * The strings belong to the memories merged; MAP says, per memory (0: the
 * saver's, 1: the disk's), which of its units is which here (index + 1). */
struct out_units {
        const char **strs;
        size_t n, alloc;
        struct strtab t;
        uint32_t *map[2];
};

static int out_unit(struct out_units *o, unsigned side, const struct memory *src, uint32_t ref, uint32_t *ret) {
        uint32_t *slot;
        int r;

        if (o->map[side][ref]) {
                *ret = o->map[side][ref] - 1;
                return 0;
        }
        r = strtab_reserve(&o->t, o->strs, o->n);
        if (r < 0)
                return r;
        slot = strtab_slot(&o->t, o->strs, src->units[ref]);
        if (!*slot) {
                if (GROW(o->strs, o->alloc, o->n + 1) < 0)
                        return -ENOMEM;
                o->strs[o->n] = src->units[ref];
                *slot = (uint32_t) ++o->n;
        }
        o->map[side][ref] = *slot;
        *ret = *slot - 1;
        return 0;
}

/* One memory's entry of an object, for writing. */
struct source {
        const struct memory *m;
        const struct memory_entry *e;
        bool pids;     /* its pids count from the saver's boot */
        unsigned side; /* for out_units.map */
};

struct counts {
        uint64_t entries, pids, refs;
};

/*
 * Writes the entry of A, merged with B when both remember the object (B
 * NULL otherwise), straight into the file: the daemon's save merges every
 * object it has.  The later life wins the last-life fields, the pids and
 * units are the union with A's first (A is the saver's, the more recent),
 * and first_dead only stands when no life was seen after it (as merge()).
 */
static uint8_t *put_pid(uint8_t *p, const struct memory_pid *mp) {
        p = put_u32(p, (uint32_t) mp->pid);
        p = put_u32(p, (uint32_t) mp->uid);
        p = put_u64(p, mp->start_ticks);
        *p++ = mp->role;
        return p;
}

static int write_entry(struct writer *w, struct out_units *ou, const struct source *a, const struct source *b,
                       struct counts *n) {
        struct memory_entry e = *a->e;
        unsigned na = a->pids ? a->e->n_pids : 0, n_pids = 0, n_units = 0;
        uint32_t refs[MEMORY_MAX_UNITS];
        uint8_t *start = record_begin(w), *p = start + ENTRY_BYTES;
        int r;

        if (b) {
                uint32_t first_dead = 0;

                if (b->e->last_life > e.last_life) {
                        e.last_life = b->e->last_life;
                        e.last_role = b->e->last_role;
                        e.last_pid = b->e->last_pid;
                }
                if (a->e->first_dead && a->e->first_dead >= e.last_life)
                        first_dead = a->e->first_dead;
                if (b->e->first_dead && b->e->first_dead >= e.last_life &&
                    (!first_dead || b->e->first_dead < first_dead))
                        first_dead = b->e->first_dead;
                e.first_dead = first_dead;
        }

        for (unsigned i = 0; i < na; i++, n_pids++) {
                struct memory_pid mp = memory_entry_pid(a->m, a->e, i);
                p = put_pid(p, &mp);
        }
        if (b && b->pids) {
                for (unsigned i = 0; i < b->e->n_pids && n_pids < MEMORY_MAX_PIDS; i++) {
                        uint32_t rb = b->m->pid_refs[b->e->pids + i];
                        bool dup = false;
                        for (unsigned j = 0; j < na && !dup; j++)
                                dup = same_process(a->m, a->m->pid_refs[a->e->pids + j], b->m, rb);
                        if (dup)
                                continue;
                        struct memory_pid mp = memory_entry_pid(b->m, b->e, i);
                        p = put_pid(p, &mp);
                        n_pids++;
                }
        }

        for (unsigned i = 0; i < a->e->n_units; i++) {
                r = out_unit(ou, a->side, a->m, a->m->unit_refs[a->e->units + i], &refs[n_units++]);
                if (r < 0)
                        return r;
        }
        for (unsigned i = 0; b && i < b->e->n_units && n_units < MEMORY_MAX_UNITS; i++) {
                bool dup = false;
                uint32_t idx;

                r = out_unit(ou, b->side, b->m, b->m->unit_refs[b->e->units + i], &idx);
                if (r < 0)
                        return r;
                for (unsigned j = 0; j < n_units && !dup; j++)
                        dup = refs[j] == idx;
                if (!dup)
                        refs[n_units++] = idx;
        }
        for (unsigned i = 0; i < n_units; i++)
                p = put_u32(p, refs[i]);

        *start = 'E';
        (void) put_u64(start + 1, e.key);
        (void) put_u64(start + 9, (uint64_t) e.last_life);
        (void) put_u64(start + 17, (uint64_t) e.first_dead);
        (void) put_u32(start + 25, (uint32_t) (e.last_pid > 0 ? e.last_pid : 0));
        start[29] = e.type;
        start[30] = e.last_role;
        start[31] = (uint8_t) (n_pids | n_units << 4);
        record_end(w, p, true);
        n->entries++;
        n->pids += n_pids;
        n->refs += n_units;
        return 0;
}

/* Writes the merge of M and DISK (NULL: M alone), its checksum in *RET_SUM.
 * Of DISK, the entries of COVERED types M lacks are gone objects; its pids
 * count from another boot unless SAME_BOOT, and are then dropped: a pid and
 * start time of the last boot may well name a process of this one. */
static int write_merged(int fd, const struct memory *m, const struct memory *disk, unsigned covered,
                        bool same_boot, uint64_t *ret_sum) {
        _cleanup_free_ uint8_t *buf = NULL;
        struct out_units ou = { 0 };
        struct counts n = { 0 };
        size_t n_disk = disk ? disk->n_entries : 0;
        struct writer w;
        uint8_t *p;
        int r = 0;

        buf = malloc(IO_CHUNK + MAX_RECORD);
        ou.map[0] = calloc(m->n_units + 1, sizeof(uint32_t));
        ou.map[1] = calloc((disk ? disk->n_units : 0) + 1, sizeof(uint32_t));
        if (!buf || !ou.map[0] || !ou.map[1]) {
                r = -ENOMEM;
                goto finish;
        }
        w = (struct writer) { .fd = fd, .buf = buf, .sum = CHECKSUM_SEED };

        p = record_begin(&w);
        memcpy(p, MAGIC, MAGIC_BYTES);
        record_end(&w, p + MAGIC_BYTES, true);

        p = record_begin(&w);
        *p++ = 'H';
        memset(p, 0, BOOT_ID_BYTES);
        memcpy(p, m->boot_id, strlen(m->boot_id));
        p += BOOT_ID_BYTES;
        p = put_u64(p, (uint64_t) m->clock_offset);
        p = put_u64(p, (uint64_t) (disk && disk->clock_step > m->clock_step ? disk->clock_step : m->clock_step));
        record_end(&w, p, true);

        for (size_t i = 0, j = 0; (i < m->n_entries || j < n_disk) && r >= 0 && w.error == 0;) {
                struct source a = { m, i < m->n_entries ? &m->entries[i] : NULL, true, 0 };
                struct source b = { disk, j < n_disk ? &disk->entries[j] : NULL, same_boot, 1 };

                if (a.e && b.e && a.e->key == b.e->key) {
                        r = write_entry(&w, &ou, &a, &b, &n);
                        i++;
                        j++;
                } else if (a.e && (!b.e || a.e->key < b.e->key)) {
                        r = write_entry(&w, &ou, &a, NULL, &n);
                        i++;
                } else if (b.e) {
                        j++;
                        if (!(covered & IPC_TYPE_BIT(b.e->type)))
                                r = write_entry(&w, &ou, &b, NULL, &n);
                } else
                        break;
        }

        for (size_t i = 0; i < ou.n && r >= 0 && w.error == 0; i++) {
                size_t len = strlen(ou.strs[i]);

                p = record_begin(&w);
                *p++ = 'U';
                p = put_u16(p, (uint16_t) len);
                memcpy(p, ou.strs[i], len);
                record_end(&w, p + len, true);
        }

        if (r >= 0 && w.error == 0) {
                p = record_begin(&w);
                *p++ = 'Z';
                p = put_u32(p, (uint32_t) n.entries);
                p = put_u32(p, (uint32_t) n.pids);
                p = put_u32(p, (uint32_t) n.refs);
                p = put_u32(p, (uint32_t) ou.n);
                p = put_u64(p, w.sum);
                record_end(&w, p, false);
                writer_flush(&w);
                *ret_sum = w.sum;
        }
        if (r >= 0)
                r = w.error;
finish:
        free(ou.strs);
        free(ou.t.slots);
        free(ou.map[0]);
        free(ou.map[1]);
        return r;
}

static int memory_copy_sealed(const struct memory *m, struct memory **ret) {
        _cleanup_(memory_freep) struct memory *c = NULL;
        int r;

        r = memory_new(&c);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_entries; i++) {
                const struct memory_entry *e = &m->entries[i];
                struct memory_pid pids[MEMORY_MAX_PIDS];
                const char *units[MEMORY_MAX_UNITS];

                for (unsigned k = 0; k < e->n_pids; k++)
                        pids[k] = memory_entry_pid(m, e, k);
                for (unsigned k = 0; k < e->n_units; k++)
                        units[k] = memory_entry_unit(m, e, k);
                r = memory_add(c, e, pids, e->n_pids, units, e->n_units);
                if (r < 0)
                        return r;
        }
        r = memory_seal(c);
        if (r < 0)
                return r;
        memcpy(c->boot_id, m->boot_id, sizeof(c->boot_id));
        c->clock_offset = m->clock_offset;
        c->clock_step = m->clock_step;
        *ret = TAKE_PTR(c);
        return 0;
}

int memory_remove(const char *dir) {
        static const char *const names[] = { MEMORY_FILE_NAME, TMP_NAME, BAD_NAME, LOCK_NAME };
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (dfd < 0)
                return negative_errno();
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (unlinkat(dfd, names[i], 0) < 0 && errno != ENOENT)
                        return negative_errno();
        return rmdir(dir) < 0 ? negative_errno() : 0;
}

#define NS_DIR_PREFIX "ipcns-"

int memory_namespace_dir(const char *state_dir, uint64_t ino, char **ret) {
        return asprintf(ret, "%s/" NS_DIR_PREFIX "%" PRIu64, state_dir, ino) < 0 ? -ENOMEM : 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

int memory_forget_namespaces(const char *state_dir, const uint64_t *inos, size_t n) {
        _cleanup_closedir_ DIR *d = opendir(state_dir);
        const size_t plen = strlen(NS_DIR_PREFIX);
        int ret = 0;

        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        for (struct dirent *de; (de = readdir(d));) {
                char *end;
                if (strncmp(de->d_name, NS_DIR_PREFIX, plen) != 0 || !isdigit((unsigned char) de->d_name[plen]))
                        continue;
                errno = 0;
                unsigned long long v = strtoull(de->d_name + plen, &end, 10);
                uint64_t ino = v;
                if (*end || errno || (n && bsearch(&ino, inos, n, sizeof(*inos), cmp_u64)))
                        continue;
                _cleanup_free_ char *dir = NULL;
                if (memory_namespace_dir(state_dir, ino, &dir) < 0)
                        return -ENOMEM;
                int r = memory_remove(dir);
                if (r < 0 && r != -ENOENT && ret == 0)
                        ret = r;
        }
        return ret;
}

int memory_save(struct memory *m, const char *dir, unsigned covered) {
        _cleanup_(memory_freep) struct memory *copy = NULL, *disk = NULL;
        _cleanup_close_ int dfd = -EBADF, lock = -EBADF, fd = -EBADF, bad_fd = -EBADF;
        const struct memory *src = m;
        char what[256];
        uint64_t sum = 0;
        size_t id_len;
        bool same_boot = false;
        struct stat st;
        int r;

        if (!m || !dir)
                return -EINVAL;
        id_len = strnlen(m->boot_id, sizeof(m->boot_id));
        if (id_len >= sizeof(m->boot_id) || !boot_id_valid(m->boot_id, id_len))
                return -EINVAL;
        if (!cimpl(m)->sealed) {
                r = memory_copy_sealed(m, &copy);
                if (r < 0)
                        return r;
                src = copy;
        }

        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        lock = lock_dir(dfd);
        if (lock < 0)
                return lock;

        /* What another saver left, unless it is what M was learnt from or
         * last wrote itself: of that, M knows all it keeps, and every entry
         * M lacks would be forgotten.  A bad file is simply replaced. */
        if (covered != IPC_TYPE_MASK_ALL || !file_unchanged(dfd, &m->file)) {
                r = read_at(dfd, &disk, &bad_fd, what, sizeof(what));
                if (r < 0)
                        return r;
                same_boot = src->boot_id[0] && strcmp(src->boot_id, disk->boot_id) == 0;
        }

        /* Under the lock no other saver writes it: any file there is left
         * from a crash.  unlink does not follow a symlink put there. */
        if (unlinkat(dfd, TMP_NAME, 0) < 0 && errno != ENOENT)
                return negative_errno();
        fd = openat(dfd, TMP_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
        if (fd < 0)
                return negative_errno();

        /* 0644 whatever the umask: non-root runs read it. */
        r = fchmod(fd, 0644) < 0 ? negative_errno() : 0;
        if (r >= 0)
                r = write_merged(fd, src, disk, covered, same_boot, &sum);
        if (r < 0) {
                (void) unlinkat(dfd, TMP_NAME, 0);
                return r;
        }
        r = io_commit_at(dfd, TMP_NAME, MEMORY_FILE_NAME, TAKE_FD(fd));
        if (r < 0)
                return r;
        /* Still under the lock: the file there is the one just written (its
         * times as the rename left them). */
        if (fstatat(dfd, MEMORY_FILE_NAME, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISREG(st.st_mode))
                m->file = file_of(&st, sum);
        else
                m->file = (struct memory_file) {};
        return 0;
}
