/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memory: keys, building, the state file (round trip, merge, damage, races, speed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc_object.h"
#include "judge.h"
#include "macro.h"
#include "memory.h"

#define BOOT1 "0b1d6bd0-5f3a-4d5e-9a43-1c2d3e4f5a6b"
#define BOOT2 "9f8e7d6c-5b4a-4938-8271-605f4e3d2c1b"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rnd(void) {
        /* xorshift64*: reproducible, so a failure can be replayed */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 0x2545f4914f6cdd1dULL;
}

static char *tmpdir_new(void) {
        const char *base = getenv("TMPDIR");
        char *p = NULL;

        assert_true(asprintf(&p, "%s/test-memory-XXXXXX", base && *base ? base : "/tmp") > 0);
        assert_non_null(mkdtemp(p));
        return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        if (flag == FTW_DP || flag == FTW_D)
                (void) chmod(path, 0700);
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void tmpdir_free(char *p) {
        if (!p)
                return;
        (void) chmod(p, 0700);
        (void) nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(p);
}

static char *path_join(const char *a, const char *b) {
        char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", a, b) > 0);
        return p;
}

static char *read_all(const char *path, size_t *ret_len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        char *buf;
        size_t done = 0;

        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        buf = malloc((size_t) st.st_size + 1);
        assert_non_null(buf);
        while (done < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + done, (size_t) st.st_size - done);
                assert_true(n > 0);
                done += (size_t) n;
        }
        buf[done] = 0;
        *ret_len = done;
        return buf;
}

static void write_all(const char *path, const void *buf, size_t len) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        size_t done = 0;

        assert_true(fd >= 0);
        while (done < len) {
                ssize_t n = write(fd, (const char *) buf + done, len - done);
                assert_true(n > 0);
                done += (size_t) n;
        }
}

static struct memory *new_memory(const char *boot_id) {
        struct memory *m = NULL;

        assert_int_equal(memory_new(&m), 0);
        assert_non_null(m);
        if (boot_id)
                snprintf(m->boot_id, sizeof(m->boot_id), "%s", boot_id);
        return m;
}

static void add(struct memory *m, uint64_t key, enum ipc_type type, int64_t last_life, int64_t first_dead,
                const struct memory_pid *pids, size_t n_pids, const char *const *units, size_t n_units) {
        struct memory_entry e = {
                .key = key,
                .type = (uint8_t) type,
                .last_role = ROLE_HOLDER,
                .last_pid = n_pids ? pids[0].pid : 0,
                .last_life = last_life,
                .first_dead = first_dead,
        };
        assert_int_equal(memory_add(m, &e, pids, n_pids, units, n_units), 0);
}

/* Loads DIR and wants it clean: no warning. */
static struct memory *load_clean(const char *dir) {
        struct memory *m = NULL;
        char *warning = (char *) 1;

        assert_int_equal(memory_load(dir, 0, &m, &warning), 0);
        assert_non_null(m);
        if (warning)
                fail_msg("unexpected warning: %s", warning);
        return m;
}

/* Loads DIR and wants the empty memory and one warning naming the file. */
static void load_bad(const char *dir, unsigned flags, const char *want_in_warning) {
        _cleanup_(memory_freep) struct memory *m = NULL;
        _cleanup_free_ char *warning = NULL, *file = path_join(dir, MEMORY_FILE_NAME);

        assert_int_equal(memory_load(dir, flags, &m, &warning), 0);
        assert_non_null(m);
        assert_int_equal(m->n_entries, 0);
        assert_int_equal(m->n_pids, 0);
        assert_int_equal(m->n_units, 0);
        assert_string_equal(m->boot_id, "");
        if (!warning)
                fail_msg("no warning for a bad %s", file);
        assert_non_null(strstr(warning, file));
        if (want_in_warning && !strstr(warning, want_in_warning))
                fail_msg("warning \"%s\" lacks \"%s\"", warning, want_in_warning);
}

static void assert_same_memory(const struct memory *a, const struct memory *b) {
        assert_string_equal(a->boot_id, b->boot_id);
        assert_int_equal(a->clock_offset, b->clock_offset);
        assert_int_equal(a->clock_step, b->clock_step);
        assert_int_equal(a->n_entries, b->n_entries);
        for (size_t i = 0; i < a->n_entries; i++) {
                const struct memory_entry *x = &a->entries[i], *y = &b->entries[i];
                assert_int_equal(x->key, y->key);
                assert_int_equal(x->type, y->type);
                assert_int_equal(x->last_role, y->last_role);
                assert_int_equal(x->last_pid, y->last_pid);
                assert_int_equal(x->last_life, y->last_life);
                assert_int_equal(x->first_dead, y->first_dead);
                assert_int_equal(x->n_pids, y->n_pids);
                assert_int_equal(x->n_units, y->n_units);
                for (unsigned k = 0; k < x->n_pids; k++) {
                        const struct memory_pid p = memory_entry_pid(a, x, k), q = memory_entry_pid(b, y, k);
                        assert_int_equal(p.pid, q.pid);
                        assert_int_equal(p.uid, q.uid);
                        assert_int_equal(p.start_ticks, q.start_ticks);
                        assert_int_equal(p.role, q.role);
                }
                for (unsigned k = 0; k < x->n_units; k++)
                        assert_string_equal(memory_entry_unit(a, x, k), memory_entry_unit(b, y, k));
        }
}

static const struct memory_entry *find(const struct memory *m, uint64_t key) {
        const struct memory_entry *e = memory_find(m, key);
        if (!e)
                fail_msg("key %016llx not found", (unsigned long long) key);
        return e;
}

static void assert_pids(const struct memory *m, const struct memory_entry *e, const pid_t *want, size_t n) {
        assert_int_equal(e->n_pids, n);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(memory_entry_pid(m, e, i).pid, want[i]);
}

static void assert_units(const struct memory *m, const struct memory_entry *e, const char *const *want, size_t n) {
        assert_int_equal(e->n_units, n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(memory_entry_unit(m, e, (unsigned) i), want[i]);
}

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* ---- keys ------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static void test_key(void **state) {
        struct ipc_object shm = {
                .type = IPC_TYPE_SHM, .id = 32769, .key = 0x1234, .uid = 1000, .cuid = 1000, .ctime = 100,
        };
        struct ipc_object fifo = {
                .type = IPC_TYPE_FIFO, .id = -1, .name = (char *) "/tmp/f", .dev = 2049, .ino = 77, .ctime = 5,
        };
        struct ipc_object o;
        uint64_t k_shm = memory_key(&shm), k_fifo = memory_key(&fifo);

        assert_int_not_equal(k_shm, 0);
        assert_int_not_equal(k_fifo, 0);
        assert_int_not_equal(k_shm, k_fifo);

        /* The file stores keys: a change of the function loses every memory,
         * so it must come with a new format version. */
        assert_int_equal(k_shm, 0xb4838eed024f95c8ULL);
        assert_int_equal(k_fifo, 0xe7943e41d729e0e6ULL);

        /* Not identity: times, owner (IPC_SET), mode, size. */
        o = shm;
        o.ctime = 999;
        o.atime = 5;
        o.uid = 0;
        o.mode = 0600;
        o.size = 4096;
        assert_int_equal(memory_key(&o), k_shm);
        o = fifo;
        o.ctime = 999;
        o.uid = 42;
        assert_int_equal(memory_key(&o), k_fifo);

        /* Identity. */
        o = shm;
        o.id++;
        assert_int_not_equal(memory_key(&o), k_shm);
        o = shm;
        o.key = 0x1235;
        assert_int_not_equal(memory_key(&o), k_shm);
        o = shm;
        o.cuid = 1001;
        assert_int_not_equal(memory_key(&o), k_shm);
        o = shm;
        o.type = IPC_TYPE_MSG;
        assert_int_not_equal(memory_key(&o), k_shm);
        o = fifo;
        o.name = (char *) "/tmp/g";
        assert_int_not_equal(memory_key(&o), k_fifo);
        o = fifo;
        o.ino = 78;
        assert_int_not_equal(memory_key(&o), k_fifo);
        o = fifo;
        o.dev = 2050;
        assert_int_not_equal(memory_key(&o), k_fifo);
        o = fifo;
        o.type = IPC_TYPE_PSHM;
        assert_int_not_equal(memory_key(&o), k_fifo);
        /* No name is another identity than a name. */
        o = fifo;
        o.name = NULL;
        assert_int_not_equal(memory_key(&o), k_fifo);

        /* A spread: 100,000 ids give 100,000 keys. */
        {
                const size_t n = 100000;
                uint64_t *keys = malloc(n * sizeof(*keys));
                assert_non_null(keys);
                o = shm;
                for (size_t i = 0; i < n; i++) {
                        o.id = (int) i;
                        keys[i] = memory_key(&o);
                        assert_int_not_equal(keys[i], 0);
                }
                qsort(keys, n, sizeof(*keys), cmp_u64);
                for (size_t i = 1; i < n; i++)
                        assert_int_not_equal(keys[i - 1], keys[i]);
                free(keys);
        }
}

/* ---- building ---------------------------------------------------------------- */

static void test_add_seal_find(void **state) {
        _cleanup_(memory_freep) struct memory *m = new_memory(BOOT1);
        const struct memory_pid p1[] = { { 10, 0, 100, ROLE_HOLDER }, { 11, 0, 101, ROLE_ATTACHED } };
        const char *u1[] = { "/system.slice/a.service", "/system.slice/b.service" };
        const char *u2[] = { "/system.slice/b.service" };

        for (uint64_t k = 50; k >= 1; k--)
                add(m, k * 1000, IPC_TYPE_SHM, (int64_t) k, 0, p1, 2, k % 2 ? u1 : u2, k % 2 ? 2 : 1);
        /* Found before sealing too, by a scan. */
        assert_non_null(memory_find(m, 7000));
        assert_null(memory_find(m, 7001));
        assert_int_equal(memory_seal(m), 0);
        assert_int_equal(memory_seal(m), 0);
        assert_int_equal(m->n_entries, 50);
        for (size_t i = 1; i < m->n_entries; i++)
                assert_true(m->entries[i - 1].key < m->entries[i].key);
        for (uint64_t k = 1; k <= 50; k++) {
                const struct memory_entry *e = find(m, k * 1000);
                assert_int_equal(e->last_life, (int64_t) k);
                assert_pids(m, e, (const pid_t[]){ 10, 11 }, 2);
                if (k % 2)
                        assert_units(m, e, u1, 2);
                else
                        assert_units(m, e, u2, 1);
                assert_null(memory_find(m, k * 1000 + 1));
        }
        assert_null(memory_find(m, 0));
        assert_null(memory_find(m, UINT64_MAX));
        /* Interned: two paths, stored once each. */
        assert_int_equal(m->n_units, 2);

        /* Bad entries. */
        struct memory_entry bad = { .key = 0, .type = IPC_TYPE_SHM };
        assert_int_equal(memory_add(m, &bad, NULL, 0, NULL, 0), -EINVAL);
        bad = (struct memory_entry) { .key = 1, .type = _IPC_TYPE_MAX };
        assert_int_equal(memory_add(m, &bad, NULL, 0, NULL, 0), -EINVAL);
        bad = (struct memory_entry) { .key = 1, .type = IPC_TYPE_SHM, .last_role = _ROLE_MAX };
        assert_int_equal(memory_add(m, &bad, NULL, 0, NULL, 0), -EINVAL);
        bad = (struct memory_entry) { .key = 1, .type = IPC_TYPE_SHM };
        {
                const struct memory_pid bad_role = { 10, 0, 100, _ROLE_MAX };
                assert_int_equal(memory_add(m, &bad, &bad_role, 1, NULL, 0), -EINVAL);
        }
        assert_int_equal(m->n_entries, 50);
        /* Times are unsigned seconds: nothing before the epoch, and 2106 at most. */
        assert_int_equal(memory_time(-1), 0);
        assert_int_equal(memory_time(INT64_MIN), 0);
        assert_int_equal(memory_time(1700000000), 1700000000);
        assert_int_equal(memory_time((int64_t) UINT32_MAX + 1), UINT32_MAX);
        assert_int_equal(memory_time(INT64_MAX), UINT32_MAX);
}

/* Every key found and no other, however the keys spread: evenly (hashes),
 * crowded into one bucket of their top bits, or both; sealed and loaded. */
static void test_find(void **state) {
        char *dir = tmpdir_new();

        for (unsigned spread = 0; spread < 3; spread++) {
                _cleanup_(memory_freep) struct memory *m = new_memory(BOOT1), *l = NULL;
                const size_t n = 20000;
                uint64_t *keys = malloc(n * sizeof(*keys));

                assert_non_null(keys);
                for (size_t i = 0; i < n; i++) {
                        uint64_t k = rnd();
                        /* crowded: the top 40 bits all zero, or all one */
                        if (spread == 1 || (spread == 2 && i % 2))
                                k = i % 3 ? k >> 40 : ~(k >> 40);
                        keys[i] = k | 2; /* never 0, and k ^ 1 is another key */
                        add(m, keys[i], IPC_TYPE_SHM, (int64_t) i + 1, 0, NULL, 0, NULL, 0);
                }
                assert_int_equal(memory_seal(m), 0);
                assert_int_equal(memory_save(m, dir, IPC_TYPE_MASK_ALL), 0);
                l = load_clean(dir);
                for (const struct memory *x = m; x; x = x == m ? l : NULL) {
                        for (size_t i = 0; i < n; i++) {
                                const struct memory_entry *e = memory_find(x, keys[i]);
                                if (!e || e->key != keys[i])
                                        fail_msg("spread %u: key %016llx not found", spread,
                                                 (unsigned long long) keys[i]);
                                const struct memory_entry *o = memory_find(x, keys[i] ^ 1);
                                if (o && o->key != (keys[i] ^ 1))
                                        fail_msg("spread %u: key %016llx found as %016llx", spread,
                                                 (unsigned long long) (keys[i] ^ 1), (unsigned long long) o->key);
                        }
                        assert_null(memory_find(x, 0));
                        assert_null(memory_find(x, 1));
                        assert_true(memory_find(x, UINT64_MAX) == NULL || x->entries[x->n_entries - 1].key == UINT64_MAX);
                }
                free(keys);
        }
        tmpdir_free(dir);
}

static void test_caps(void **state) {
        _cleanup_(memory_freep) struct memory *m = new_memory(NULL);
        struct memory_pid pids[12];
        char long_unit[MEMORY_MAX_UNIT_LEN + 2], max_unit[MEMORY_MAX_UNIT_LEN + 1];
        const struct memory_entry *e;

        for (unsigned i = 0; i < 12; i++)
                pids[i] = (struct memory_pid) { (pid_t) (100 + i), 1000, 5000 + i, ROLE_HOLDER };
        pids[1] = pids[0];   /* the same process twice: once */
        pids[2].pid = 0;     /* not a process */
        pids[3].start_ticks++; /* the same pid, another process: kept */
        pids[3].pid = 100;

        memset(long_unit, 'x', sizeof(long_unit) - 1);
        long_unit[0] = '/';
        long_unit[sizeof(long_unit) - 1] = 0; /* MAX + 1 bytes */
        memset(max_unit, 'y', sizeof(max_unit) - 1);
        max_unit[0] = '/';
        max_unit[sizeof(max_unit) - 1] = 0; /* MAX bytes */
        const char *units[] = { "/a.service", long_unit, "", NULL, "/a.service", max_unit, "/b.scope", "/c.scope",
                                "/d.scope" };

        add(m, 1, IPC_TYPE_SEM, 10, 0, pids, 12, units, ELEMENTSOF(units));
        assert_int_equal(memory_seal(m), 0);
        e = find(m, 1);
        /* The first eight distinct processes, most recent first as given. */
        assert_pids(m, e, (const pid_t[]){ 100, 100, 104, 105, 106, 107, 108, 109 }, MEMORY_MAX_PIDS);
        assert_int_equal(memory_entry_pid(m, e, 1).start_ticks, 5004);
        /* The first four usable units. */
        assert_units(m, e, (const char *[]){ "/a.service", max_unit, "/b.scope", "/c.scope" }, MEMORY_MAX_UNITS);
}

static void test_entries_cap(void **state) {
        _cleanup_(memory_freep) struct memory *m = new_memory(NULL);
        struct memory_entry e = { .type = IPC_TYPE_SHM };

        for (uint64_t k = 1; k <= MEMORY_MAX_ENTRIES; k++) {
                e.key = k;
                if (memory_add(m, &e, NULL, 0, NULL, 0) != 0)
                        fail_msg("add %llu failed", (unsigned long long) k);
        }
        e.key = MEMORY_MAX_ENTRIES + 1;
        assert_int_equal(memory_add(m, &e, NULL, 0, NULL, 0), -E2BIG);
        assert_int_equal(m->n_entries, MEMORY_MAX_ENTRIES);
        assert_int_equal(memory_seal(m), 0);
        assert_non_null(memory_find(m, MEMORY_MAX_ENTRIES));
}

static void test_duplicates_merge(void **state) {
        _cleanup_(memory_freep) struct memory *m = new_memory(NULL);
        const struct memory_pid a[] = { { 1, 0, 1, ROLE_HOLDER }, { 2, 0, 2, ROLE_HOLDER } };
        const struct memory_pid b[] = { { 3, 0, 3, ROLE_SEMPID }, { 1, 0, 1, ROLE_HOLDER } };
        const char *ua[] = { "/a.service" }, *ub[] = { "/b.service", "/a.service" };
        const struct memory_entry *e;

        add(m, 9, IPC_TYPE_SEM, 100, 0, a, 2, ua, 1);
        add(m, 5, IPC_TYPE_SEM, 0, 70, NULL, 0, NULL, 0);
        add(m, 9, IPC_TYPE_SEM, 200, 300, b, 2, ub, 2);
        add(m, 9, IPC_TYPE_SEM, 150, 160, NULL, 0, NULL, 0); /* dead at 160, but life at 200 came after */
        add(m, 5, IPC_TYPE_SEM, 0, 60, NULL, 0, NULL, 0);
        assert_int_equal(memory_seal(m), 0);
        assert_int_equal(m->n_entries, 2);

        e = find(m, 9);
        assert_int_equal(e->last_life, 200);
        assert_int_equal(e->last_pid, 3);
        assert_int_equal(e->first_dead, 300);
        /* The later life's pids first, then the rest. */
        assert_pids(m, e, (const pid_t[]){ 3, 1, 2 }, 3);
        assert_units(m, e, ub, 2);

        e = find(m, 5);
        assert_int_equal(e->last_life, 0);
        assert_int_equal(e->first_dead, 60); /* the earliest */
        assert_int_equal(m->n_pids, 3);
}

/* ---- the file ----------------------------------------------------------------- */

/* A small memory with one of everything awkward. */
static struct memory *sample(void) {
        struct memory *m = new_memory(BOOT1);
        const struct memory_pid p[] = {
                { 1, 0, 0, ROLE_HOLDER },
                { INT32_MAX, (uid_t) -1, UINT64_MAX, ROLE_WAITER },
                { 4242, 1000, 123456789, ROLE_LAST_SENDER },
        };
        const char *u[] = { "/system.slice/postgresql@15-main.service", "/user.slice/a b\\c\n\x7f\xff.scope",
                            "/x" };

        m->clock_offset = -1234567;
        m->clock_step = 1700000000;
        add(m, 0x10, IPC_TYPE_SHM, 1700000100, 0, p, 3, u, 3);
        add(m, UINT64_MAX, IPC_TYPE_FIFO, 0, 1700000200, NULL, 0, NULL, 0);
        add(m, 0x20, IPC_TYPE_MSG, 1700000300, 1700000400, &p[2], 1, &u[1], 1);
        add(m, 1, IPC_TYPE_PSEM, 5, 0, &p[1], 1, NULL, 0);
        assert_int_equal(memory_seal(m), 0);
        return m;
}

static void test_round_trip(void **state) {
        char *tmp = tmpdir_new();
        _cleanup_free_ char *dir = path_join(tmp, "state"), *file = path_join(dir, MEMORY_FILE_NAME);
        _cleanup_free_ char *text = NULL;
        _cleanup_(memory_freep) struct memory *m = sample(), *l = NULL, *e = NULL, *l2 = NULL;
        struct stat st;
        mode_t old_umask;
        size_t len;

        /* Missing directory: empty and no warning. */
        l = load_clean(dir);
        assert_int_equal(l->n_entries, 0);
        l = memory_free(l);

        old_umask = umask(077);
        assert_int_equal(memory_save(m, dir, IPC_TYPE_MASK_ALL), 0);
        umask(old_umask);
        assert_int_equal(stat(dir, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        {
                _cleanup_free_ char *tmpf = path_join(dir, MEMORY_FILE_NAME ".tmp");
                assert_int_equal(access(tmpf, F_OK), -1);
        }

        l = load_clean(dir);
        assert_same_memory(m, l);
        assert_string_equal(memory_entry_unit(l, find(l, 0x10), 1), "/user.slice/a b\\c\n\x7f\xff.scope");

        /* The version on the first line; the path whole, after its length. */
        text = read_all(file, &len);
        assert_true(strncmp(text, "ipcgc-memory 1\n", 15) == 0);
        {
                static const char unit[] = "U\x1a\x00/user.slice/a b\\c\n\x7f\xff.scope";
                assert_non_null(memmem(text, len, unit, sizeof(unit) - 1));
                assert_non_null(memmem(text, len, "H" BOOT1, 37));
        }

        /* A second save of the same changes nothing. */
        assert_int_equal(memory_save(l, dir, IPC_TYPE_MASK_ALL), 0);
        l2 = load_clean(dir);
        assert_same_memory(m, l2);

        /* The empty memory, no boot id. */
        e = new_memory(NULL);
        assert_int_equal(memory_save(e, dir, IPC_TYPE_MASK_ALL), 0);
        l2 = memory_free(l2);
        l2 = load_clean(dir);
        assert_int_equal(l2->n_entries, 0);
        assert_string_equal(l2->boot_id, "");
        assert_int_equal(l2->clock_step, 1700000000); /* the later of the two */

        /* An unsealed memory is sealed on the way. */
        {
                _cleanup_(memory_freep) struct memory *u = new_memory(BOOT2), *lu = NULL;
                add(u, 3, IPC_TYPE_SHM, 1, 0, NULL, 0, NULL, 0);
                add(u, 2, IPC_TYPE_SHM, 1, 0, NULL, 0, NULL, 0);
                assert_int_equal(memory_save(u, dir, IPC_TYPE_MASK_ALL), 0);
                lu = load_clean(dir);
                assert_int_equal(lu->n_entries, 2);
                assert_int_equal(lu->entries[0].key, 2);
        }
        /* A boot id that is not one is refused, not written. */
        {
                _cleanup_(memory_freep) struct memory *u = new_memory("not a boot id");
                assert_int_equal(memory_save(u, dir, IPC_TYPE_MASK_ALL), -EINVAL);
        }
        tmpdir_free(tmp);
}

static void test_merge(void **state) {
        char *dir = tmpdir_new();
        _cleanup_(memory_freep) struct memory *d = new_memory(BOOT1), *m = new_memory(BOOT1), *l = NULL;
        const struct memory_pid p10 = { 10, 0, 1000, ROLE_HOLDER }, p11 = { 11, 0, 1100, ROLE_ATTACHED },
                                p12 = { 12, 0, 1200, ROLE_HOLDER };
        const char *ua[] = { "/a.service" }, *uba[] = { "/b.service", "/a.service" };
        const struct memory_entry *e;

        /* On disk, from another saver. */
        d->clock_offset = 111;
        d->clock_step = 1000;
        add(d, 0xA, IPC_TYPE_SHM, 100, 0, &p10, 1, ua, 1);   /* in both */
        add(d, 0xB, IPC_TYPE_SHM, 50, 0, &p12, 1, NULL, 0);  /* gone: SHM covered, not in M */
        add(d, 0xC, IPC_TYPE_FIFO, 70, 0, &p12, 1, ua, 1);   /* FIFO not covered: kept */
        add(d, 0xE, IPC_TYPE_MSG, 0, 500, NULL, 0, NULL, 0); /* dead since 500 */
        add(d, 0xF, IPC_TYPE_MSG, 0, 300, NULL, 0, NULL, 0);
        add(d, 0x2F, IPC_TYPE_MSG, 0, 600, NULL, 0, NULL, 0);
        assert_int_equal(memory_seal(d), 0);
        assert_int_equal(memory_save(d, dir, IPC_TYPE_MASK_ALL), 0);

        /* The saver's. */
        m->clock_offset = 222;
        m->clock_step = 500;
        {
                const struct memory_pid pa[] = { p11, p10 };
                struct memory_entry a = { .key = 0xA, .type = IPC_TYPE_SHM, .last_role = ROLE_ATTACHED,
                                          .last_pid = 11, .last_life = 80 };
                assert_int_equal(memory_add(m, &a, pa, 2, uba, 2), 0);
        }
        add(m, 0xE, IPC_TYPE_MSG, 0, 400, NULL, 0, NULL, 0);  /* seen dead earlier than the other saver */
        add(m, 0xF, IPC_TYPE_MSG, 350, 0, NULL, 0, NULL, 0);  /* life after its death: not dead */
        add(m, 0x1F, IPC_TYPE_MSG, 1, 0, NULL, 0, NULL, 0);   /* new */
        add(m, 0x2F, IPC_TYPE_MSG, 600, 0, NULL, 0, NULL, 0); /* life in the second it was seen dead */
        assert_int_equal(memory_seal(m), 0);
        assert_int_equal(memory_save(m, dir, IPC_TYPE_BIT(IPC_TYPE_SHM) | IPC_TYPE_BIT(IPC_TYPE_MSG)), 0);

        l = load_clean(dir);
        assert_string_equal(l->boot_id, BOOT1);
        assert_int_equal(l->clock_offset, 222); /* the saver's */
        assert_int_equal(l->clock_step, 1000);  /* the later */
        assert_int_equal(l->n_entries, 6);

        e = find(l, 0xA);
        assert_int_equal(e->last_life, 100); /* life is only added */
        assert_int_equal(e->last_role, ROLE_HOLDER);
        assert_int_equal(e->last_pid, 10);
        assert_pids(l, e, (const pid_t[]){ 11, 10 }, 2); /* the saver's first, one 10 */
        assert_int_equal(memory_entry_pid(l, e, 0).role, ROLE_ATTACHED);
        assert_units(l, e, uba, 2);
        assert_null(memory_find(l, 0xB));
        e = find(l, 0xC);
        assert_int_equal(e->last_life, 70);
        assert_pids(l, e, (const pid_t[]){ 12 }, 1);
        assert_units(l, e, ua, 1);
        e = find(l, 0xE);
        assert_int_equal(e->first_dead, 400);
        e = find(l, 0xF);
        assert_int_equal(e->last_life, 350);
        assert_int_equal(e->first_dead, 0);
        find(l, 0x1F);
        e = find(l, 0x2F);
        assert_int_equal(e->last_life, 600);
        assert_int_equal(e->first_dead, 600); /* not after: stands */
        assert_int_equal(l->n_units, 2);
        l = memory_free(l);

        /* An older life saved later changes nothing; covering nothing forgets nothing. */
        {
                _cleanup_(memory_freep) struct memory *old = new_memory(BOOT1);
                add(old, 0xA, IPC_TYPE_SHM, 10, 0, NULL, 0, NULL, 0);
                assert_int_equal(memory_seal(old), 0);
                assert_int_equal(memory_save(old, dir, 0), 0);
                l = load_clean(dir);
                assert_int_equal(l->n_entries, 6);
                e = find(l, 0xA);
                assert_int_equal(e->last_life, 100);
                assert_int_equal(e->last_pid, 10);
                assert_pids(l, e, (const pid_t[]){ 11, 10 }, 2);
                l = memory_free(l);
        }

        /* A saver of another boot: the pids on disk count from the last boot
         * and go; the lives, units and times stay. */
        {
                _cleanup_(memory_freep) struct memory *nb = new_memory(BOOT2);
                add(nb, 0xA, IPC_TYPE_SHM, 200, 0, &p12, 1, NULL, 0);
                assert_int_equal(memory_seal(nb), 0);
                assert_int_equal(memory_save(nb, dir, IPC_TYPE_BIT(IPC_TYPE_PSHM)), 0);
                l = load_clean(dir);
                assert_string_equal(l->boot_id, BOOT2);
                assert_int_equal(l->n_entries, 6);
                e = find(l, 0xA);
                assert_int_equal(e->last_life, 200);
                assert_pids(l, e, (const pid_t[]){ 12 }, 1);
                assert_units(l, e, uba, 2);
                e = find(l, 0xC);
                assert_int_equal(e->n_pids, 0);
                assert_int_equal(e->last_life, 70);
                assert_units(l, e, ua, 1);
                assert_int_equal(l->n_pids, 1);
                l = memory_free(l);
        }

        /* Everything covered and nothing seen: all forgotten, and the units with them. */
        {
                _cleanup_(memory_freep) struct memory *none = new_memory(BOOT2);
                assert_int_equal(memory_save(none, dir, IPC_TYPE_MASK_ALL), 0);
                l = load_clean(dir);
                assert_int_equal(l->n_entries, 0);
                assert_int_equal(l->n_units, 0);
                assert_int_equal(l->clock_step, 1000);
        }
        tmpdir_free(dir);
}

static void test_truncated_and_flipped(void **state) {
        char *tmp = tmpdir_new();
        _cleanup_free_ char *good = path_join(tmp, "good"), *bad = path_join(tmp, "bad");
        _cleanup_free_ char *good_file = NULL, *bad_file = path_join(bad, MEMORY_FILE_NAME);
        _cleanup_free_ char *aside = path_join(bad, MEMORY_FILE_NAME ".bad");
        _cleanup_free_ char *text = NULL;
        _cleanup_(memory_freep) struct memory *m = sample();
        size_t len, n_checked = 0;

        assert_int_equal(memory_save(m, good, IPC_TYPE_MASK_ALL), 0);
        good_file = path_join(good, MEMORY_FILE_NAME);
        text = read_all(good_file, &len);
        assert_int_equal(mkdir(bad, 0755), 0);

        /* Cut at every byte, the empty file included. */
        for (size_t cut = 0; cut < len; cut++) {
                write_all(bad_file, text, cut);
                load_bad(bad, 0, cut == 0 ? NULL : "truncated");
                n_checked++;
        }
        /* Every byte changed, in a low bit and in a high one. */
        for (size_t i = 0; i < len; i++)
                for (unsigned bit = 0; bit < 8; bit += 5) {
                        text[i] ^= (char) (1u << bit);
                        write_all(bad_file, text, len);
                        load_bad(bad, 0, NULL);
                        text[i] ^= (char) (1u << bit);
                        n_checked++;
                }
        /* Something after the end. */
        {
                _cleanup_free_ char *more = malloc(len + 1);
                assert_non_null(more);
                memcpy(more, text, len);
                more[len] = 'E';
                write_all(bad_file, more, len + 1);
                load_bad(bad, 0, "after the end");
        }
        /* And it was fine all along. */
        write_all(bad_file, text, len);
        memory_free(load_clean(bad));
        printf("# %zu damaged copies of a %zu-byte file, each detected\n", n_checked, len);

        /* Set aside, replacing an older one. */
        write_all(aside, "old\n", 4);
        write_all(bad_file, text, len - 1);
        load_bad(bad, MEMORY_SET_ASIDE, "set aside");
        assert_int_equal(access(bad_file, F_OK), -1);
        {
                size_t n;
                _cleanup_free_ char *moved = read_all(aside, &n);
                assert_int_equal(n, len - 1);
                assert_memory_equal(moved, text, n);
        }
        /* Now missing: no warning. */
        memory_free(load_clean(bad));
        tmpdir_free(tmp);
}

/* The checksum, written out once more: the semantic checks are reached only
 * past it, and this pins it as part of the format. */
static uint64_t rotl(uint64_t x, unsigned b) {
        return (x << b) | (x >> (64 - b));
}

static uint64_t record_hash(const uint8_t *p, size_t n) {
        const uint64_t p1 = 0x9e3779b185ebca87ULL, p2 = 0xc2b2ae3d27d4eb4fULL, p3 = 0x165667b19e3779f9ULL;
        uint64_t h = p3 ^ ((uint64_t) n * p1), w;

        for (; n >= 8; p += 8, n -= 8) {
                w = 0;
                for (unsigned i = 0; i < 8; i++)
                        w |= (uint64_t) p[i] << (8 * i);
                h ^= rotl(w * p2, 31) * p1;
                h = rotl(h, 27) * p1 + p3;
        }
        w = 0;
        for (size_t i = 0; i < n; i++)
                w |= (uint64_t) p[i] << (8 * i);
        h ^= rotl(w * p2, 31) * p1;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 33;
        return h;
}

/* A file made by hand, record by record, with the checksum it needs. */
struct fb {
        uint8_t buf[8192];
        size_t len, start;
        uint64_t sum;
};

static void fb_bytes(struct fb *f, const void *p, size_t n) {
        assert_true(f->len + n <= sizeof(f->buf));
        memcpy(f->buf + f->len, p, n);
        f->len += n;
}

static void fb_u8(struct fb *f, uint8_t v) {
        fb_bytes(f, &v, 1);
}

static void fb_u16(struct fb *f, uint16_t v) {
        fb_u8(f, (uint8_t) v);
        fb_u8(f, (uint8_t) (v >> 8));
}

static void fb_u32(struct fb *f, uint32_t v) {
        fb_u16(f, (uint16_t) v);
        fb_u16(f, (uint16_t) (v >> 16));
}

static void fb_u64(struct fb *f, uint64_t v) {
        fb_u32(f, (uint32_t) v);
        fb_u32(f, (uint32_t) (v >> 32));
}

static void fb_begin(struct fb *f, char tag) {
        f->start = f->len;
        if (tag)
                fb_u8(f, (uint8_t) tag);
}

static void fb_end(struct fb *f) {
        f->sum = rotl(f->sum ^ record_hash(f->buf + f->start, f->len - f->start), 29) * 0x9e3779b185ebca87ULL +
                 0xc2b2ae3d27d4eb4fULL;
}

static void fb_header_raw(struct fb *f, const char id[36], int64_t offset, int64_t step) {
        fb_begin(f, 'H');
        fb_bytes(f, id, 36);
        fb_u64(f, (uint64_t) offset);
        fb_u64(f, (uint64_t) step);
        fb_end(f);
}

/* The magic line, and a header unless BOOT_ID is NULL. */
static void fb_init(struct fb *f, const char *boot_id, int64_t offset, int64_t step) {
        char id[36] = { 0 };

        f->len = 0;
        f->sum = 0x697063676321ULL;
        fb_begin(f, 0);
        fb_bytes(f, "ipcgc-memory 1\n", 15);
        fb_end(f);
        if (!boot_id)
                return;
        memcpy(id, boot_id, strlen(boot_id) < 36 ? strlen(boot_id) : 36);
        fb_header_raw(f, id, offset, step);
}

struct fb_pid {
        uint32_t pid, uid;
        uint64_t ticks;
        uint8_t role;
};

static void fb_entry(struct fb *f, uint64_t key, uint8_t type, uint8_t role, uint32_t last_pid, int64_t life,
                     int64_t dead, unsigned n_pids, const struct fb_pid *pids, unsigned n_units, const uint32_t *refs) {
        fb_begin(f, 'E');
        fb_u64(f, key);
        fb_u64(f, (uint64_t) life);
        fb_u64(f, (uint64_t) dead);
        fb_u32(f, last_pid);
        fb_u8(f, type);
        fb_u8(f, role);
        fb_u8(f, (uint8_t) (n_pids | n_units << 4));
        for (unsigned i = 0; i < n_pids; i++) {
                fb_u32(f, pids[i].pid);
                fb_u32(f, pids[i].uid);
                fb_u64(f, pids[i].ticks);
                fb_u8(f, pids[i].role);
        }
        for (unsigned i = 0; i < n_units; i++)
                fb_u32(f, refs[i]);
        fb_end(f);
}

static void fb_unit(struct fb *f, const char *s, size_t len) {
        fb_begin(f, 'U');
        fb_u16(f, (uint16_t) len);
        fb_bytes(f, s, len);
        fb_end(f);
}

static void fb_finish(struct fb *f, uint32_t n_entries, uint32_t n_pids, uint32_t n_refs, uint32_t n_units) {
        fb_begin(f, 'Z');
        fb_u32(f, n_entries);
        fb_u32(f, n_pids);
        fb_u32(f, n_refs);
        fb_u32(f, n_units);
        fb_u64(f, f->sum);
}

static void fb_write(const struct fb *f, const char *dir) {
        _cleanup_free_ char *file = path_join(dir, MEMORY_FILE_NAME);
        write_all(file, f->buf, f->len);
}

static void test_random_bytes(void **state) {
        char *dir = tmpdir_new();
        _cleanup_free_ char *file = path_join(dir, MEMORY_FILE_NAME), *buf = malloc(70000);
        struct fb prefix[3];

        fb_init(&prefix[0], NULL, 0, 0);
        fb_init(&prefix[1], BOOT1, 0, 0);
        fb_init(&prefix[2], BOOT1, 0, 0);
        fb_entry(&prefix[2], 1, 0, 0, 0, 0, 0, 0, NULL, 0, NULL);
        assert_non_null(buf);
        for (unsigned round = 0; round < 600; round++) {
                const struct fb *pre = &prefix[round % ELEMENTSOF(prefix)];
                size_t len = pre->len + rnd() % (round % 7 == 0 ? 70000 - pre->len : 300);

                memcpy(buf, pre->buf, pre->len);
                for (size_t i = pre->len; i < len; i++) {
                        /* Half the rounds mostly tags and small numbers, for deeper parsing. */
                        static const char alphabet[] = "EEEUUZH\0\1\2\3\4\x11\x21\x44\x88\xff";
                        buf[i] = round % 2 ? (char) rnd() : alphabet[rnd() % (sizeof(alphabet) - 1)];
                }
                write_all(file, buf, len);
                load_bad(dir, 0, NULL);
        }
        tmpdir_free(dir);
}

static void test_semantic_checks(void **state) {
        char *dir = tmpdir_new();
        _cleanup_(memory_freep) struct memory *l = NULL;
        const struct memory_entry *e;
        const struct fb_pid p2[] = { { 12, 1000, 555, ROLE_HOLDER },
                                     { INT32_MAX, UINT32_MAX, UINT64_MAX, ROLE_WAITER } };
        const struct fb_pid p1[] = { { 5, 0, 9, 0 } };
        const uint32_t r0[] = { 0 }, r10[] = { 1, 0 }, r00[] = { 0, 0 }, r1[] = { 1 };
        struct fb f;

        /* Right: proves the checksum above is the one, so what follows fails
         * for what it says. */
        fb_init(&f, BOOT1, -5, 7);
        fb_entry(&f, 2, IPC_TYPE_SHM, ROLE_HOLDER, 12, 100, 0, 2, p2, 1, r0);
        fb_entry(&f, 0xff, IPC_TYPE_FIFO, ROLE_ATTACHED, 0, 0, 200, 0, NULL, 2, r10);
        fb_unit(&f, "/a.service", 10);
        fb_unit(&f, "/b c.scope", 10);
        fb_finish(&f, 2, 2, 3, 2);
        fb_write(&f, dir);
        l = load_clean(dir);
        assert_int_equal(l->n_entries, 2);
        assert_string_equal(l->boot_id, BOOT1);
        assert_int_equal(l->clock_offset, -5);
        assert_int_equal(l->clock_step, 7);
        e = find(l, 0xff);
        assert_int_equal(e->type, IPC_TYPE_FIFO);
        assert_int_equal(e->last_role, ROLE_ATTACHED);
        assert_int_equal(e->first_dead, 200);
        assert_units(l, e, (const char *[]){ "/b c.scope", "/a.service" }, 2);
        e = find(l, 2);
        assert_int_equal(e->last_pid, 12);
        assert_int_equal(e->last_life, 100);
        assert_int_equal(memory_entry_pid(l, e, 0).start_ticks, 555);
        assert_int_equal(memory_entry_pid(l, e, 0).uid, 1000);
        assert_int_equal(memory_entry_pid(l, e, 1).pid, INT32_MAX);
        assert_int_equal(memory_entry_pid(l, e, 1).uid, UINT32_MAX);
        assert_int_equal(memory_entry_pid(l, e, 1).start_ticks, UINT64_MAX);
        assert_int_equal(memory_entry_pid(l, e, 1).role, ROLE_WAITER);
        assert_units(l, e, (const char *[]){ "/a.service" }, 1);
        l = memory_free(l);

        /* Each wrong in one way. */
#define BAD(want, ...)                                                                                     \
        do {                                                                                               \
                fb_init(&f, BOOT1, 0, 0);                                                                  \
                __VA_ARGS__;                                                                               \
                fb_write(&f, dir);                                                                         \
                load_bad(dir, 0, want);                                                                    \
        } while (0)
        BAD("out of order", fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 0, NULL);
            fb_entry(&f, 1, 0, 0, 0, 0, 0, 0, NULL, 0, NULL); fb_finish(&f, 2, 0, 0, 0));
        BAD("out of order", fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 0, NULL);
            fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 0, NULL); fb_finish(&f, 2, 0, 0, 0));
        BAD("out of order", fb_entry(&f, 0, 0, 0, 0, 0, 0, 0, NULL, 0, NULL); fb_finish(&f, 1, 0, 0, 0));
        BAD("out of range", fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 1, r1); fb_unit(&f, "/a", 2);
            fb_finish(&f, 1, 0, 1, 1));
        BAD("a unit twice", fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 2, r00); fb_unit(&f, "/a", 2);
            fb_finish(&f, 1, 0, 2, 1));
        BAD("a unit twice", fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 2, r10); fb_unit(&f, "/a", 2);
            fb_unit(&f, "/a", 2); fb_finish(&f, 1, 0, 2, 2));
        BAD("a pid twice", const struct fb_pid pp[] = { p1[0], p1[0] };
            fb_entry(&f, 2, 0, 0, 0, 0, 0, 2, pp, 0, NULL); fb_finish(&f, 1, 2, 0, 0));
        BAD("do not match", fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 0, NULL); fb_finish(&f, 2, 0, 0, 0));
        BAD("do not match", fb_entry(&f, 2, 0, 0, 0, 0, 0, 1, p1, 0, NULL); fb_finish(&f, 1, 0, 0, 0));
        BAD("after the units", fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 1, r0); fb_unit(&f, "/a", 2);
            fb_entry(&f, 3, 0, 0, 0, 0, 0, 0, NULL, 0, NULL); fb_finish(&f, 2, 0, 1, 1));
        BAD("bad entry", fb_entry(&f, 2, _IPC_TYPE_MAX, 0, 0, 0, 0, 0, NULL, 0, NULL); fb_finish(&f, 1, 0, 0, 0));
        BAD("bad entry", fb_entry(&f, 2, 0, 200, 0, 0, 0, 0, NULL, 0, NULL); fb_finish(&f, 1, 0, 0, 0));
        BAD("bad entry", fb_entry(&f, 2, 0, 0, 0x80000000u, 0, 0, 0, NULL, 0, NULL); fb_finish(&f, 1, 0, 0, 0));
        BAD("bad entry", fb_entry(&f, 2, 0, 0, 0, -1, 0, 0, NULL, 0, NULL); fb_finish(&f, 1, 0, 0, 0));
        BAD("bad entry", fb_entry(&f, 2, 0, 0, 0, 0, INT64_MIN, 0, NULL, 0, NULL); fb_finish(&f, 1, 0, 0, 0));
        BAD("bad entry", const struct fb_pid pp[9] = { { 1, 0, 1, 0 } };
            fb_entry(&f, 2, 0, 0, 0, 0, 0, 9, pp, 0, NULL); fb_finish(&f, 1, 9, 0, 0));
        BAD("bad entry", const uint32_t rr[5] = { 0 };
            fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 5, rr); fb_finish(&f, 1, 0, 5, 0));
        BAD("bad pid", const struct fb_pid pp[] = { { 0, 0, 1, 0 } };
            fb_entry(&f, 2, 0, 0, 0, 0, 0, 1, pp, 0, NULL); fb_finish(&f, 1, 1, 0, 0));
        BAD("bad pid", const struct fb_pid pp[] = { { 0x80000000u, 0, 1, 0 } };
            fb_entry(&f, 2, 0, 0, 0, 0, 0, 1, pp, 0, NULL); fb_finish(&f, 1, 1, 0, 0));
        BAD("bad pid", const struct fb_pid pp[] = { { 1, 0, 1, 99 } };
            fb_entry(&f, 2, 0, 0, 0, 0, 0, 1, pp, 0, NULL); fb_finish(&f, 1, 1, 0, 0));
        BAD("bad unit", fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 1, r0); fb_unit(&f, "", 0);
            fb_finish(&f, 1, 0, 1, 1));
        BAD("bad unit", fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 1, r0); fb_unit(&f, "/a\0b", 4);
            fb_finish(&f, 1, 0, 1, 1));
        BAD("bad unit", char big[MEMORY_MAX_UNIT_LEN + 1]; memset(big, 'x', sizeof(big));
            fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 1, r0); fb_unit(&f, big, sizeof(big));
            fb_finish(&f, 1, 0, 1, 1));
        BAD("no entry names", fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 1, r0); fb_unit(&f, "/a", 2);
            fb_unit(&f, "/b", 2); fb_finish(&f, 1, 0, 1, 2));
        BAD("bad record", fb_begin(&f, 'Q'); fb_end(&f); fb_finish(&f, 0, 0, 0, 0));
        BAD("checksum", fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 0, NULL); f.sum++; fb_finish(&f, 1, 0, 0, 0));
        BAD("after the end", fb_finish(&f, 0, 0, 0, 0); fb_u8(&f, 0));
        BAD("truncated", fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 0, NULL));
#undef BAD

        /* The header: missing, or a boot id that is not one. */
        fb_init(&f, NULL, 0, 0);
        fb_entry(&f, 2, 0, 0, 0, 0, 0, 0, NULL, 0, NULL);
        fb_finish(&f, 1, 0, 0, 0);
        fb_write(&f, dir);
        load_bad(dir, 0, "no header");
        fb_init(&f, "not/a boot id", 0, 0);
        fb_finish(&f, 0, 0, 0, 0);
        fb_write(&f, dir);
        load_bad(dir, 0, "bad boot id");
        {
                char id[36] = "ab";
                id[5] = 'c'; /* after the padding began */
                fb_init(&f, NULL, 0, 0);
                fb_header_raw(&f, id, 0, 0);
                fb_finish(&f, 0, 0, 0, 0);
                fb_write(&f, dir);
                load_bad(dir, 0, "bad boot id");
        }

        /* At the caps, right: eight pids, four units, a unit of the longest. */
        {
                struct fb_pid pp[MEMORY_MAX_PIDS];
                const uint32_t rr[MEMORY_MAX_UNITS] = { 3, 2, 1, 0 };
                char big[MEMORY_MAX_UNIT_LEN];

                for (unsigned i = 0; i < MEMORY_MAX_PIDS; i++)
                        pp[i] = (struct fb_pid) { 100 + i, i, i, ROLE_HOLDER };
                memset(big, '\xff', sizeof(big));
                fb_init(&f, "", 0, 0);
                fb_entry(&f, UINT64_MAX, IPC_TYPE_PSEM, _ROLE_MAX - 1, INT32_MAX, INT64_MAX, INT64_MAX,
                         MEMORY_MAX_PIDS, pp, MEMORY_MAX_UNITS, rr);
                fb_unit(&f, big, sizeof(big));
                fb_unit(&f, "/b", 2);
                fb_unit(&f, "/c", 2);
                fb_unit(&f, "\x01", 1);
                fb_finish(&f, 1, MEMORY_MAX_PIDS, MEMORY_MAX_UNITS, 4);
                fb_write(&f, dir);
                l = load_clean(dir);
                e = find(l, UINT64_MAX);
                /* past 2106: the end of time, as an entry can say it */
                assert_int_equal(e->last_life, UINT32_MAX);
                assert_int_equal(e->first_dead, UINT32_MAX);
                assert_int_equal(e->n_pids, MEMORY_MAX_PIDS);
                assert_int_equal(memory_entry_pid(l, e, 7).pid, 107);
                assert_int_equal(strlen(memory_entry_unit(l, e, 3)), MEMORY_MAX_UNIT_LEN);
                assert_string_equal(memory_entry_unit(l, e, 0), "\x01");
                assert_string_equal(l->boot_id, "");
        }
        tmpdir_free(dir);
}

static void test_foreign_version(void **state) {
        char *dir = tmpdir_new();
        _cleanup_free_ char *file = path_join(dir, MEMORY_FILE_NAME);
        static const char v2[] = "ipcgc-memory 2\nboot - 0 0\nend 0 0 0 0 0000000000000000\n";

        write_all(file, v2, strlen(v2));
        load_bad(dir, 0, "version 2");
        write_all(file, "ipcgc-memory 10\n", 16);
        load_bad(dir, 0, "version 10");
        write_all(file, "{\"memory\": []}\n", 15);
        load_bad(dir, 0, "not an ipcgc memory file");
        /* A foreign file is set aside too: the next save starts clean. */
        write_all(file, v2, strlen(v2));
        load_bad(dir, MEMORY_SET_ASIDE, "set aside");
        assert_int_equal(access(file, F_OK), -1);
        tmpdir_free(dir);
}

static void test_not_a_file(void **state) {
        char *tmp = tmpdir_new();
        _cleanup_free_ char *real = path_join(tmp, "real"), *dir = path_join(tmp, "dir");
        _cleanup_free_ char *real_file = path_join(real, MEMORY_FILE_NAME), *file = path_join(dir, MEMORY_FILE_NAME);
        _cleanup_free_ char *before = NULL, *after = NULL, *lock = path_join(dir, MEMORY_FILE_NAME ".lock");
        _cleanup_free_ char *elsewhere = path_join(tmp, "elsewhere");
        _cleanup_(memory_freep) struct memory *m = sample(), *l = NULL;
        size_t n_before, n_after;
        struct stat st;

        assert_int_equal(memory_save(m, real, IPC_TYPE_MASK_ALL), 0);
        before = read_all(real_file, &n_before);
        assert_int_equal(mkdir(dir, 0755), 0);

        /* A symlink is not followed, not even with SET_ASIDE, and stays. */
        assert_int_equal(symlink(real_file, file), 0);
        load_bad(dir, 0, "symbolic link");
        load_bad(dir, MEMORY_SET_ASIDE, "symbolic link");
        assert_int_equal(lstat(file, &st), 0);
        assert_true(S_ISLNK(st.st_mode));

        /* A save replaces the link, not what it points at. */
        {
                _cleanup_(memory_freep) struct memory *other = new_memory(BOOT2);
                add(other, 77, IPC_TYPE_SHM, 1, 0, NULL, 0, NULL, 0);
                assert_int_equal(memory_seal(other), 0);
                assert_int_equal(memory_save(other, dir, IPC_TYPE_MASK_ALL), 0);
        }
        assert_int_equal(lstat(file, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        after = read_all(real_file, &n_after);
        assert_int_equal(n_before, n_after);
        assert_memory_equal(before, after, n_before);
        l = load_clean(dir);
        assert_int_equal(l->n_entries, 1); /* the link's target was not merged in either */
        find(l, 77);

        /* A FIFO there does not hang the load. */
        assert_int_equal(unlink(file), 0);
        assert_int_equal(mkfifo(file, 0644), 0);
        load_bad(dir, 0, "not a regular file");
        assert_int_equal(unlink(file), 0);
        /* Nor a directory. */
        assert_int_equal(mkdir(file, 0755), 0);
        load_bad(dir, 0, "not a regular file");
        assert_int_equal(rmdir(file), 0);

        /* A symlink as the lock is refused, and nothing is created through it. */
        assert_int_equal(unlink(lock), 0);
        assert_int_equal(symlink(elsewhere, lock), 0);
        assert_int_equal(memory_save(m, dir, IPC_TYPE_MASK_ALL), -ELOOP);
        assert_int_equal(access(elsewhere, F_OK), -1);
        tmpdir_free(tmp);
}

static void test_oversized(void **state) {
        char *dir = tmpdir_new();
        _cleanup_free_ char *file = path_join(dir, MEMORY_FILE_NAME);
        _cleanup_close_ int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "ipcgc-memory 1\n", 15), 15);
        assert_int_equal(ftruncate(fd, (off_t) MEMORY_MAX_FILE_BYTES + 1), 0); /* sparse */
        load_bad(dir, 0, "larger than");
        tmpdir_free(dir);
}

/* Returns 0, or the number of the check that failed. */
static int unprivileged_checks(const char *dir, struct memory *m) {
        _cleanup_free_ char *file = NULL, *before = NULL, *warning = NULL;
        _cleanup_(memory_freep) struct memory *l = NULL;
        struct stat st;

        if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
                return 1;
        if (asprintf(&file, "%s/%s", dir, MEMORY_FILE_NAME) < 0 || memory_save(m, dir, IPC_TYPE_MASK_ALL) != 0)
                return 2;
        if (stat(file, &st) < 0)
                return 3;
        /* A directory we may not write: -EACCES, the old file whole. */
        if (chmod(dir, 0555) < 0)
                return 4;
        if (memory_save(m, dir, 0) != -EACCES)
                return 5;
        if (chmod(dir, 0755) < 0)
                return 6;
        {
                struct stat now;
                if (stat(file, &now) < 0 || now.st_ino != st.st_ino || now.st_size != st.st_size)
                        return 7;
        }
        /* A file we may not read: empty, a warning, not set aside. */
        if (chmod(file, 0) < 0)
                return 8;
        if (memory_load(dir, MEMORY_SET_ASIDE, &l, &warning) != 0 || !l || l->n_entries != 0)
                return 9;
        if (!warning || !strstr(warning, file) || !strstr(warning, strerror(EACCES)))
                return 10;
        if (access(file, F_OK) < 0)
                return 11;
        return 0;
}

static void test_unwritable(void **state) {
        char *tmp = tmpdir_new();
        _cleanup_free_ char *dir = path_join(tmp, "state"), *file = path_join(dir, MEMORY_FILE_NAME);
        _cleanup_free_ char *plain = path_join(tmp, "plain"), *under_plain = path_join(plain, "state");
        _cleanup_free_ char *deep = path_join(tmp, "no/such/state"), *tmpfile = path_join(dir, MEMORY_FILE_NAME ".tmp");
        _cleanup_free_ char *before = NULL, *after = NULL;
        _cleanup_(memory_freep) struct memory *m = sample(), *other = new_memory(BOOT1);
        size_t n_before, n_after;

        add(other, 5, IPC_TYPE_SHM, 1, 0, NULL, 0, NULL, 0);
        assert_int_equal(memory_seal(other), 0);
        assert_int_equal(memory_save(m, dir, IPC_TYPE_MASK_ALL), 0);
        before = read_all(file, &n_before);

        /* Not a directory, or no parent. */
        write_all(plain, "x", 1);
        assert_int_equal(memory_save(m, plain, IPC_TYPE_MASK_ALL), -ENOTDIR);
        assert_int_equal(memory_save(m, under_plain, IPC_TYPE_MASK_ALL), -ENOTDIR);
        assert_int_equal(memory_save(m, deep, IPC_TYPE_MASK_ALL), -ENOENT);

        /* The temporary file cannot be made (root too): the old file stays whole. */
        assert_int_equal(mkdir(tmpfile, 0755), 0);
        assert_true(memory_save(other, dir, IPC_TYPE_MASK_ALL) < 0);
        after = read_all(file, &n_after);
        assert_int_equal(n_before, n_after);
        assert_memory_equal(before, after, n_before);
        assert_int_equal(rmdir(tmpfile), 0);
        free(after);
        after = NULL;

        /* Permissions, checked by an unprivileged process (nobody, when
         * running as root), without cmocka in the child. */
        {
                _cleanup_free_ char *udir = path_join(tmp, "user");
                int status;
                pid_t pid;

                assert_int_equal(chmod(tmp, 0755), 0);
                assert_int_equal(mkdir(udir, 0755), 0);
                if (geteuid() == 0)
                        assert_int_equal(chown(udir, 65534, 65534), 0);
                fflush(stdout);
                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0)
                        _exit(unprivileged_checks(udir, m));
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFEXITED(status));
                if (WEXITSTATUS(status) != 0)
                        fail_msg("unprivileged check %d failed", WEXITSTATUS(status));
        }

        /* A later save still works and merges. */
        assert_int_equal(memory_save(other, dir, 0), 0);
        {
                _cleanup_(memory_freep) struct memory *l = load_clean(dir);
                assert_int_equal(l->n_entries, m->n_entries + 1);
        }
        tmpdir_free(tmp);
}

static uint64_t fill(struct memory *m, size_t n, uint64_t salt, bool units) {
        static const char *const unit_names[] = { "/system.slice/postgresql@15-main.service",
                                                  "/system.slice/httpd.service",
                                                  "/user.slice/user-1000.slice/session-3.scope",
                                                  "/system.slice/system-getty.slice/getty@tty1.service" };
        uint64_t sum = 0;

        for (size_t i = 0; i < n; i++) {
                struct memory_pid p[2] = {
                        { (pid_t) (1000 + rnd() % 4000000), (uid_t) (rnd() % 2000), 1000000 + rnd() % 100000000,
                          ROLE_HOLDER },
                        { (pid_t) (1000 + rnd() % 4000000), (uid_t) (rnd() % 2000), 1000000 + rnd() % 100000000,
                          ROLE_SEMPID },
                };
                char unit[64];
                const char *u[2] = { unit_names[i % ELEMENTSOF(unit_names)], unit };
                uint64_t key = (rnd() ^ salt) | 1;
                int64_t life = 1700000000 + (int64_t) (rnd() % 1000000);

                snprintf(unit, sizeof(unit), "/system.slice/app-%zu.service", i % 300);
                /* A fifth seen dead since; two thirds in one unit or two. */
                add(m, key, (enum ipc_type) (i % _IPC_TYPE_MAX), life,
                    i % 5 == 0 ? life + 1 + (int64_t) (rnd() % 1000) : 0, p, 1 + i % 2, u,
                    units ? (i % 3 == 0 ? 2 : i % 3 == 1) : 0);
                sum += key;
        }
        assert_int_equal(memory_seal(m), 0);
        return sum;
}

static void test_forget_bulk(void **state) {
        char *dir = tmpdir_new();
        _cleanup_free_ char *file = path_join(dir, MEMORY_FILE_NAME);
        _cleanup_(memory_freep) struct memory *a = new_memory(BOOT1), *b = new_memory(BOOT1), *l = NULL;
        struct stat st_a, st_b;

        fill(a, 100000, 0x1111111111111111ULL, true);
        fill(b, 100000, 0x2222222222222222ULL, true);
        assert_int_equal(a->n_entries, 100000);
        assert_int_equal(b->n_entries, 100000);
        assert_int_equal(memory_save(a, dir, IPC_TYPE_MASK_ALL), 0);
        assert_int_equal(stat(file, &st_a), 0);
        assert_int_equal(memory_save(b, dir, IPC_TYPE_MASK_ALL), 0);
        assert_int_equal(stat(file, &st_b), 0);

        l = load_clean(dir);
        assert_same_memory(b, l);
        for (size_t i = 0; i < a->n_entries; i += 97)
                if (!memory_find(b, a->entries[i].key))
                        assert_null(memory_find(l, a->entries[i].key));
        /* Bounded: the second file is about as big as the first. */
        assert_true(st_b.st_size < st_a.st_size + st_a.st_size / 10);
        printf("# 100,000 entries: %lld bytes, then %lld bytes after 100,000 others replaced them\n",
               (long long) st_a.st_size, (long long) st_b.st_size);
        tmpdir_free(dir);
}

static int child_saver(const char *dir, unsigned who, unsigned rounds) {
        const enum ipc_type type = who == 0 ? IPC_TYPE_SHM : IPC_TYPE_FIFO;

        for (unsigned round = 1; round <= rounds; round++) {
                _cleanup_(memory_freep) struct memory *m = NULL;
                if (memory_new(&m) < 0)
                        return 10;
                snprintf(m->boot_id, sizeof(m->boot_id), "%s", BOOT1);
                for (uint64_t k = 1; k <= 20; k++) {
                        struct memory_pid p = { (pid_t) (100 * who + k), 0, round, ROLE_HOLDER };
                        struct memory_entry e = { .key = (uint64_t) who << 32 | k, .type = (uint8_t) type,
                                                  .last_life = round, .last_pid = p.pid };
                        const char *u = who ? "/b.service" : "/a.service";
                        if (memory_add(m, &e, &p, 1, &u, 1) < 0)
                                return 11;
                }
                if (memory_seal(m) < 0)
                        return 12;
                if (memory_save(m, dir, IPC_TYPE_BIT(type)) < 0)
                        return 13;
        }
        return 0;
}

static void test_concurrent_savers(void **state) {
        char *dir = tmpdir_new();
        _cleanup_(memory_freep) struct memory *l = NULL;
        const unsigned rounds = 200;
        pid_t kids[2];
        unsigned running = 2, loads = 0, loads_full = 0;

        fflush(stdout);
        fflush(stderr);
        for (unsigned who = 0; who < 2; who++) {
                kids[who] = fork();
                assert_true(kids[who] >= 0);
                if (kids[who] == 0)
                        _exit(child_saver(dir, who, rounds));
        }

        /* While they save, every load finds a whole file (or none yet). */
        while (running > 0) {
                _cleanup_(memory_freep) struct memory *m = NULL;
                _cleanup_free_ char *warning = NULL;

                assert_int_equal(memory_load(dir, 0, &m, &warning), 0);
                if (warning)
                        fail_msg("a load during the saves: %s", warning);
                loads++;
                loads_full += m->n_entries == 40;
                for (unsigned who = 0; who < 2; who++) {
                        int status;
                        pid_t r;

                        if (kids[who] <= 0)
                                continue;
                        r = waitpid(kids[who], &status, WNOHANG);
                        assert_true(r >= 0);
                        if (r == 0)
                                continue;
                        assert_true(WIFEXITED(status));
                        assert_int_equal(WEXITSTATUS(status), 0);
                        kids[who] = 0;
                        running--;
                }
        }

        l = load_clean(dir);
        assert_int_equal(l->n_entries, 40);
        for (uint64_t who = 0; who < 2; who++)
                for (uint64_t k = 1; k <= 20; k++) {
                        const struct memory_entry *e = find(l, who << 32 | k);
                        assert_int_equal(e->last_life, rounds);
                        assert_int_equal(e->type, who ? IPC_TYPE_FIFO : IPC_TYPE_SHM);
                        /* pids of every round differ by start time: the eight latest */
                        assert_int_equal(e->n_pids, MEMORY_MAX_PIDS);
                        assert_int_equal(memory_entry_pid(l, e, 0).start_ticks, rounds);
                }
        printf("# 2 x %u concurrent saves: %u loads meanwhile, all whole (%u with both savers' entries)\n", rounds,
               loads, loads_full);
        tmpdir_free(dir);
}

static void test_timing(void **state) {
        char *dir = tmpdir_new();
        _cleanup_free_ char *file = path_join(dir, MEMORY_FILE_NAME);
        _cleanup_(memory_freep) struct memory *m = new_memory(BOOT1);
        double t, build, best_save = 1e9, best_merge = 1e9, best_own = 1e9, best_load = 1e9;
        struct stat st;
        size_t heap;

        t = now_ms();
        fill(m, 24000, 0x3333333333333333ULL, true);
        build = now_ms() - t;

        for (int i = 0; i < 5; i++) {
                _cleanup_(memory_freep) struct memory *l = NULL;

                (void) unlink(file);
                t = now_ms();
                assert_int_equal(memory_save(m, dir, IPC_TYPE_MASK_ALL), 0);
                t = now_ms() - t;
                best_save = t < best_save ? t : best_save;

                /* A file of the same objects is there, from another saver
                 * (as far as M knows): merged. */
                m->file.known = false;
                t = now_ms();
                assert_int_equal(memory_save(m, dir, IPC_TYPE_MASK_ALL), 0);
                t = now_ms() - t;
                best_merge = t < best_merge ? t : best_merge;

                /* The daemon's case: the file there is the one it wrote. */
                assert_true(m->file.known);
                t = now_ms();
                assert_int_equal(memory_save(m, dir, IPC_TYPE_MASK_ALL), 0);
                t = now_ms() - t;
                best_own = t < best_own ? t : best_own;

                t = now_ms();
                l = load_clean(dir);
                t = now_ms() - t;
                best_load = t < best_load ? t : best_load;
                assert_int_equal(l->n_entries, 24000);
                if (i == 0)
                        assert_same_memory(m, l);
        }
        assert_int_equal(stat(file, &st), 0);
        heap = m->n_entries * sizeof(struct memory_entry) + m->n_pids * sizeof(uint32_t) +
               m->n_procs * sizeof(struct memory_proc) + m->n_unit_refs * sizeof(uint32_t) +
               m->n_units * (sizeof(char *) + 48);
        printf("# 24,000 entries (%zu pids of %zu processes, %zu units): file %lld bytes, in memory ~%zu KiB; "
               "build+seal %.1f ms, save %.1f ms (%.1f ms merging with another's file there, %.1f ms over its own), "
               "load %.1f ms (best of 5, fsync included)\n",
               m->n_pids, m->n_procs, m->n_units, (long long) st.st_size, heap / 1024, build, best_save, best_merge,
               best_own, best_load);
        /* Not a benchmark gate (sanitizers, busy CI), only a guard against
         * something quadratic. */
        assert_true(best_merge < 2000);
        assert_true(best_own < 2000);
        assert_true(best_load < 2000);
        tmpdir_free(dir);
}

static void test_free_null(void **state) {
        assert_null(memory_free(NULL));
}

int main(void) {
        /* clang-format off */
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_key),
                cmocka_unit_test(test_add_seal_find),
                cmocka_unit_test(test_find),
                cmocka_unit_test(test_caps),
                cmocka_unit_test(test_entries_cap),
                cmocka_unit_test(test_duplicates_merge),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_merge),
                cmocka_unit_test(test_truncated_and_flipped),
                cmocka_unit_test(test_random_bytes),
                cmocka_unit_test(test_semantic_checks),
                cmocka_unit_test(test_foreign_version),
                cmocka_unit_test(test_not_a_file),
                cmocka_unit_test(test_oversized),
                cmocka_unit_test(test_unwritable),
                cmocka_unit_test(test_forget_bulk),
                cmocka_unit_test(test_concurrent_savers),
                cmocka_unit_test(test_timing),
                cmocka_unit_test(test_free_null),
        };
        /* clang-format on */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
