/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * archive-make: makes an archive entry of a real object and removes the
 * object, as a removal with the archive does, for
 * tests/integration/test-restore.sh (which does not wait for reap() to
 * make entries).
 *
 *   archive-make CONFIG ID [TIME]
 *
 * The object ID ("shm:5", "mq:/q", "fifo:/path") is found by a collection
 * with CONFIG's [Scan], saved into a new entry of its [Daemon] ArchiveDir=
 * (removed at TIME, epoch seconds, default now; verdict ORPHAN, rule
 * "test"), then removed.  Prints the entry's name, or the error's name
 * (ENOENT...) and exits 1.  Only ever run inside the test's private
 * namespaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "collect.h"
#include "config.h"
#include "report.h"
#include "sysv.h"

static int fail(const char *what, int r) {
        const char *name = strerrorname_np(-r);
        printf("%s\n", name ? name : "E?");
        fprintf(stderr, "archive-make: %s: %s\n", what, strerror(-r));
        return 1;
}

int main(int argc, char **argv) {
        struct config *config = NULL;
        struct inventory *inv = NULL;
        struct archive_entry e;
        struct archive_contents c = {};
        char *error = NULL, *base = NULL;
        int afd, pfd = -1, r;
        bool taken = false;
        size_t i;

        if (argc < 3 || argc > 4) {
                fprintf(stderr, "usage: archive-make CONFIG ID [TIME]\n");
                return 2;
        }
        time_t when = argc == 4 ? (time_t) strtoll(argv[3], NULL, 10) : time(NULL);
        r = config_load(argv[1], CONFIG_MUST_EXIST, &config, &error);
        if (r < 0)
                return fail(error ? error : "config", r);
        r = collect_inventory(&config->scan, NULL, NULL, &inv);
        if (r < 0)
                return fail("collect", r);
        r = inventory_find(inv, argv[2], &i);
        if (r < 0)
                return fail(argv[2], r);
        const struct ipc_object *o = &inv->objects[i];
        r = archive_open_dir(config->daemon.archive_dir, ARCHIVE_CREATE, &afd);
        if (r < 0)
                return fail(config->daemon.archive_dir, r);
        r = archive_entry_begin(afd, o, when, &e);
        if (r < 0)
                return fail("begin", r);
        if (ipc_type_is_sysv(o->type))
                r = archive_sysv_save(o, e.fd, UINT64_MAX, &c);
        else {
                r = collect_open_parent(o, &config->scan, &pfd, &base);
                if (r >= 0)
                        r = archive_posix_save(o, pfd, base, e.fd, UINT64_MAX, &c, &taken);
        }
        if (r < 0) {
                archive_entry_abort(afd, &e);
                return fail("save", r);
        }
        struct archive_removal why = {
                .time = when,
                .verdict = "ORPHAN",
                .reason = (char *) "archived by archive-make",
                .rule = (char *) "test",
                .by_uid = getuid(),
                .by_pid = getpid(),
        };
        r = archive_manifest_write(&e, o, &why, &c);
        if (r >= 0)
                r = archive_entry_commit(afd, &e);
        if (r < 0)
                return fail("commit", r);
        if (ipc_type_is_sysv(o->type))
                r = sysv_remove(o->type, o->id);
        else
                r = unlinkat(pfd, base, 0) < 0 ? -errno : 0;
        if (r < 0)
                return fail("remove", r);
        printf("%s\n", e.name);
        free(base);
        inventory_free(inv);
        config_free(config);
        return 0;
}
