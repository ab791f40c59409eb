/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/said.c: a dry run's would-remove is news once per object, again
 * after its verdict changed or it was gone, and a recycled id is a new
 * object; past SAID_MAX the rest are news every time.  No /proc, no root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "memory.h"
#include "said.h"

struct fixture {
        struct inventory *inv;
        struct judgement js[3];
};

static void fill(struct fixture *f) {
        struct ipc_object *o;

        assert_int_equal(inventory_new(&f->inv), 0);
        o = inventory_append(f->inv, IPC_TYPE_SHM);
        assert_non_null(o);
        o->id = 32769;
        o->key = 0x6201;
        o = inventory_append(f->inv, IPC_TYPE_MQ);
        assert_non_null(o);
        o->name = strdup("/q");
        o->ino = 12;
        o = inventory_append(f->inv, IPC_TYPE_FIFO);
        assert_non_null(o);
        o->name = strdup("/run/f");
        o->ino = 13;
        for (size_t i = 0; i < 3; i++)
                f->js[i] = (struct judgement) { .verdict = VERDICT_ORPHAN };
}

/* A sweep: the forgetting, then each orphan's would-remove; how many were news. */
static unsigned sweep(struct said *s, struct fixture *f) {
        unsigned news = 0;

        said_forget_changed(s, f->inv, f->js);
        for (size_t i = 0; i < f->inv->n_objects; i++)
                if (f->js[i].verdict == VERDICT_ORPHAN &&
                    said_first(s, memory_key(&f->inv->objects[i]), f->js[i].verdict))
                        news++;
        said_seal(s);
        return news;
}

static void test_once(void **state) {
        struct fixture f = {};
        struct said s = {};

        fill(&f);
        assert_int_equal(sweep(&s, &f), 3);
        assert_int_equal(sweep(&s, &f), 0);
        assert_int_equal(sweep(&s, &f), 0);

        /* The segment lives for a sweep, then is an orphan again: news once. */
        f.js[0].verdict = VERDICT_LIVE;
        assert_int_equal(sweep(&s, &f), 0);
        f.js[0].verdict = VERDICT_ORPHAN;
        assert_int_equal(sweep(&s, &f), 1);
        assert_int_equal(sweep(&s, &f), 0);

        /* The id recycled (a new sequence number): a new object. */
        f.inv->objects[0].id = 65537;
        assert_int_equal(sweep(&s, &f), 1);
        /* The FIFO made again (a new inode): a new object. */
        f.inv->objects[2].ino = 14;
        assert_int_equal(sweep(&s, &f), 1);

        /* The queue gone from one judgement, then back: news again. */
        struct ipc_object mq = f.inv->objects[1];
        f.inv->objects[1] = f.inv->objects[2];
        f.inv->objects[2] = mq;
        f.inv->n_objects = 2;
        assert_int_equal(sweep(&s, &f), 0);
        assert_int_equal(s.n, 2);
        f.inv->n_objects = 3;
        assert_int_equal(sweep(&s, &f), 1);
        assert_int_equal(sweep(&s, &f), 0);
        inventory_free(f.inv);
        said_clear(&s);
}

static void test_bounded(void **state) {
        struct said s = {};

        for (uint64_t k = 1; k <= SAID_MAX; k++)
                assert_true(said_first(&s, k, VERDICT_ORPHAN));
        said_seal(&s);
        assert_false(s.full);
        assert_false(said_first(&s, 7, VERDICT_ORPHAN));
        /* Past the cap: not remembered, so news every time, and said full. */
        assert_true(said_first(&s, SAID_MAX + 1, VERDICT_ORPHAN));
        assert_true(said_first(&s, SAID_MAX + 1, VERDICT_ORPHAN));
        assert_true(s.full);
        assert_int_equal(s.n, SAID_MAX);
        /* A verdict other than the one said is news too. */
        assert_true(said_first(&s, 7, VERDICT_UNKNOWN));
        /* Everything gone: forgotten, and room again. */
        said_forget_changed(&s, NULL, NULL);
        assert_int_equal(s.n, 0);
        assert_false(s.full);
        said_clear(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_once),
                cmocka_unit_test(test_bounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
