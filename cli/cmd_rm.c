/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "parse.h"
#include "table.h"

/* IDs and keys one rm takes: a command line, not a list to feed it from. */
#define RM_MAX_TARGETS 1024

static void help(void) {
        printf("Usage: ipcgc rm [OPTIONS] ID...\n"
               "       ipcgc rm [OPTIONS] --key KEY [-t TYPES] [ID...]\n"
               "\n"
               "Remove objects judged ORPHAN now, each through the same re-verification as\n"
               "a sweep. With --force, also those judged PENDING, REPORTED or PROTECTED.\n"
               "LIVE and UNKNOWN objects are never removed. The exit status is 0 only\n"
               "when every object named was removed. An ID ipc:INODE/TYPE:ID (an object\n"
               "of another IPC namespace, as list names it) is removed from inside that\n"
               "namespace, with --local.\n"
               "\n"
               "Options:\n"
               "  -f, --force         see above\n"
               "  -k, --key KEY       the SysV objects with this key (0x1234 or decimal),\n"
               "                      of every kind -t names (default shm, msg and sem)\n"
               "  -t, --types TYPES   the kinds --key looks in: shm, msg, sem\n"
               "  -J, --json          one JSON document, a result for each object\n"
               "      --local         run the engine in this process\n");
}

/* What was asked for: an ID, or the objects of a key (found before any is
 * removed, so that the results say which ID each was). */
struct target {
        char *id;
        int64_t key; /* the key that named it, or -1 for an ID named itself */
};

struct targets {
        struct target t[RM_MAX_TARGETS];
        size_t n;
};

static int add_target(struct targets *ts, char *id, int64_t key) {
        if (ts->n >= RM_MAX_TARGETS) {
                free(id);
                cli_usage_error("rm takes at most %u objects at a time", RM_MAX_TARGETS);
                return -E2BIG;
        }
        for (size_t i = 0; i < ts->n; i++)
                if (strcmp(ts->t[i].id, id) == 0) {
                        free(id); /* named twice (an ID and its key): removed once */
                        return 0;
                }
        ts->t[ts->n++] = (struct target) { .id = id, .key = key };
        return 0;
}

/* "shm, msg or sem", "msg or sem", "sem" for a mask of SysV types. */
static const char *kinds(unsigned types) {
        static const char *const names[8] = {
                [1] = "shm", [2] = "msg", [3] = "shm or msg", [4] = "sem",
                [5] = "shm or sem", [6] = "msg or sem", [7] = "shm, msg or sem",
        };
        unsigned i = (types & IPC_TYPE_BIT(IPC_TYPE_SHM) ? 1 : 0) | (types & IPC_TYPE_BIT(IPC_TYPE_MSG) ? 2 : 0) |
                     (types & IPC_TYPE_BIT(IPC_TYPE_SEM) ? 4 : 0);
        return names[i] ? names[i] : "SysV";
}

/* The SysV objects of TYPES whose key is one of KEYS, in the order listed;
 * a key that names none is a result of its own (in RESULTS, or said). */
static int resolve_keys(struct cli *cli, const uint32_t *keys, size_t n_keys, unsigned types, struct targets *ts,
                        json_object *results, bool *failed) {
        json_object *objects = NULL, *params = json_object_new_object();
        int r;

        json_object_object_add(params, "types", cli_names_array(types, false));
        r = cli_call_member(cli, "io.ipcgc.List", params, "objects", &objects);
        if (r != EXIT_OK)
                return r;
        for (size_t k = 0; k < n_keys; k++) {
                bool found = false;
                for (size_t i = 0; i < json_object_array_length(objects); i++) {
                        json_object *o = json_object_array_get_idx(objects, i);
                        int64_t key;
                        const char *id = json_str(o, "id");
                        if (!id || !json_int(o, "key", &key) || (uint32_t) key != keys[k])
                                continue;
                        char *copy = strdup(id);
                        if (!copy || add_target(ts, copy, keys[k]) < 0) {
                                json_object_put(objects);
                                return EXIT_USAGE;
                        }
                        found = true;
                }
                if (found)
                        continue;
                char *msg = NULL;
                if (asprintf(&msg, "no %s object has key 0x%08" PRIx32, kinds(types), keys[k]) < 0)
                        msg = NULL;
                *failed = true;
                if (results) {
                        json_object *res = json_object_new_object();
                        json_object_object_add(res, "id", NULL);
                        json_object_object_add(res, "key", json_object_new_int64(keys[k]));
                        json_object_object_add(res, "removed", json_object_new_boolean(false));
                        json_object_object_add(res, "record", NULL);
                        json_object_object_add(res, "error", NULL);
                        json_object_object_add(res, "message", msg ? json_object_new_string(msg) : NULL);
                        json_object_array_add(results, res);
                } else
                        fprintf(stderr, "ipcgc: %s\n", strna(msg));
                free(msg);
        }
        json_object_put(objects);
        return EXIT_OK;
}

/* Removes one; its result into RESULTS (-J), or said.  Returns the exit
 * code of the call, EXIT_FAIL for a refusal too. */
static int remove_target(struct cli *cli, const struct target *t, bool force, json_object *results) {
        json_object *reply = NULL, *error = NULL, *record = NULL, *params;
        int r;

        /* "ipc:INO/TYPE:ID": judged and removed by an engine of that
         * namespace (--local), the one before let go. */
        const struct ipcns *before = cli->paths.ns;
        cli->paths.ns = NULL;
        r = cli_namespace_of_id(cli, t->id);
        if (r < 0)
                return r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
        if (cli->paths.ns != before)
                cli_engine_done(&cli->one);
        params = json_object_new_object();
        json_object_object_add(params, "id", json_object_new_string(t->id));
        json_object_object_add(params, "force", json_object_new_boolean(force));
        r = cli_call_or_error(cli, "io.ipcgc.Remove", params, &reply, &error);
        if (r != EXIT_OK && !error)
                return r; /* no answer at all, said already */
        if (reply && (!json_object_object_get_ex(reply, "record", &record) ||
                      !json_object_is_type(record, json_type_object))) {
                fprintf(stderr, "ipcgc: malformed reply to io.ipcgc.Remove: no record\n");
                json_object_put(reply);
                return EXIT_FAIL;
        }
        const char *action = json_str(record, "action");
        bool removed = action && (strcmp(action, "removed") == 0 || strcmp(action, "would-remove") == 0);
        _cleanup_free_ char *sentence = NULL;
        if (error)
                sentence = cli_error_sentence(error);
        else if (!removed && asprintf(&sentence, "%s was not removed (%s): %s", t->id, strna(action),
                                      strna(json_str(record, "reason"))) < 0)
                sentence = NULL;

        if (results) {
                json_object *res = json_object_new_object(), *eparams = NULL;
                json_object_object_add(res, "id", json_object_new_string(t->id));
                json_object_object_add(res, "key", t->key >= 0 ? json_object_new_int64(t->key) : NULL);
                json_object_object_add(res, "removed", json_object_new_boolean(removed));
                json_object_object_add(res, "record", record ? json_object_get(record) : NULL);
                json_object_object_add(res, "error", error ? json_object_new_string(strna(json_str(error, "error"))) : NULL);
                if (error && json_object_object_get_ex(error, "parameters", &eparams))
                        json_object_object_add(res, "parameters", json_object_get(eparams));
                json_object_object_add(res, "message", sentence ? json_object_new_string(sentence) : NULL);
                json_object_array_add(results, res);
        } else if (error) {
                cli_print_error(cli, error);
        } else if (removed) {
                const char *entry = json_str(record, "archive");
                printf("%s %s: %s\n", action, t->id, strna(json_str(record, "reason")));
                if (entry)
                        printf("archived as %s: `ipcgc restore %s` puts it back\n", entry, entry);
        } else
                fprintf(stderr, "ipcgc: %s\n", strna(sentence));
        json_object_put(reply);
        json_object_put(error);
        return removed ? EXIT_OK : EXIT_FAIL;
}

int cmd_rm(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "force", no_argument, NULL, 'f' },
                { "json", no_argument, NULL, 'J' },
                { "key", required_argument, NULL, 'k' },
                { "types", required_argument, NULL, 't' },
                CLI_COMMON_LONG_OPTIONS,
                {},
        };
        static struct targets ts; /* large: not on the stack */
        _cleanup_(json_object_putp) json_object *results = NULL;
        uint32_t keys[RM_MAX_TARGETS];
        size_t n_keys = 0;
        struct table_options topts = {};
        unsigned types = 0;
        bool force = false, failed = false;
        int c, rc = EXIT_OK;

        while ((c = cli_option(cli, argc, argv, "fJk:t:h", options, &topts, help, &rc)) > 0) {
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'k': {
                        uint32_t lo, hi;
                        if (parse_key_range(optarg, &lo, &hi) < 0 || lo != hi) {
                                cli_usage_error("invalid --key '%s' (one SysV key: 0x1234, 4660 or -1)", optarg);
                                return EXIT_USAGE;
                        }
                        if (lo == 0) {
                                cli_usage_error("--key 0 is IPC_PRIVATE, the key of every private object: "
                                                "name them by ID");
                                return EXIT_USAGE;
                        }
                        if (n_keys >= RM_MAX_TARGETS) {
                                cli_usage_error("rm takes at most %u keys at a time", RM_MAX_TARGETS);
                                return EXIT_USAGE;
                        }
                        keys[n_keys++] = lo;
                        break;
                }
                case 't':
                        if (!cli_parse_types(optarg, &types))
                                return EXIT_USAGE;
                        if (types & ~IPC_TYPE_MASK_SYSV) {
                                cli_usage_error("rm --types picks the kinds of a --key: shm, msg or sem");
                                return EXIT_USAGE;
                        }
                        break;
                }
        }
        if (c < 0)
                return rc;
        if (types && n_keys == 0) {
                cli_usage_error("rm --types goes with --key; an ID names its type itself");
                return EXIT_USAGE;
        }
        if (optind >= argc && n_keys == 0) {
                cli_usage_error("rm takes object IDs (shm:123, mq:/name, ...) or --key KEY");
                return EXIT_USAGE;
        }
        /* Every ID is checked before anything is removed. */
        for (int i = optind; i < argc; i++) {
                char *id;
                if (cli_parse_object_id_any(argv[i], &id) < 0 || add_target(&ts, id, -1) < 0) {
                        rc = EXIT_USAGE;
                        goto out;
                }
        }

        if (topts.json)
                results = json_object_new_array();
        if (topts.json && !results) {
                rc = EXIT_FAIL;
                goto out;
        }
        /* Its own results are printed in the one document. */
        cli->json = false;
        if (n_keys > 0) {
                rc = resolve_keys(cli, keys, n_keys, types ? types : IPC_TYPE_MASK_SYSV, &ts, results, &failed);
                if (rc != EXIT_OK)
                        goto out;
        }
        for (size_t i = 0; i < ts.n; i++) {
                int r = remove_target(cli, &ts.t[i], force, results);
                if (r == EXIT_FAIL)
                        failed = true;
                else if (r != EXIT_OK) {
                        rc = r; /* nobody to ask for the rest */
                        goto out;
                }
        }
        if (results) {
                json_object *doc = json_object_new_object();
                json_object_object_add(doc, "results", json_object_get(results));
                cli_print_json(doc);
                json_object_put(doc);
        }
        rc = failed ? EXIT_FAIL : EXIT_OK;
out:
        for (size_t i = 0; i < ts.n; i++)
                free(ts.t[i].id);
        ts.n = 0;
        return rc;
}
