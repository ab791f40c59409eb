/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The config value parsers (parse.h) and rule_set() (rule.h).  The first
 * byte picks the parser; the rest is its text.  For rule_set, each line
 * "Key=Value" is set on one rule in turn, so list-valued keys accumulate to
 * their limit. */
#include "fuzz.h"
#include "ipc_object.h"
#include "macro.h"
#include "parse.h"
#include "rule.h"

static void fuzz_rule(char *text) {
        struct rule r = { 0 };
        char *save = NULL;

        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '='), *error = NULL;
                if (!eq)
                        continue;
                *eq = 0;
                int k = rule_set(&r, line, eq + 1, &error);
                /* -EINVAL says why; nothing else does. */
                if (k == -EINVAL && !error)
                        abort();
                if (k == 0 && error)
                        abort();
                free(error);
        }
        (void) rule_action_to_string(r.action);
        for (size_t i = 0; i < r.n_owners; i++)
                (void) owner_kind_to_string(r.owners[i].kind);
        if (r.n_users > RULE_MAX_VALUES || r.n_groups > RULE_MAX_VALUES || r.n_keys > RULE_MAX_VALUES ||
            r.n_names > RULE_MAX_VALUES || r.n_paths > RULE_MAX_VALUES || r.n_owners > RULE_MAX_VALUES)
                abort();
        rule_done(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint64_t u64 = 7, before;
        uint32_t lo32 = 7, hi32 = 7;
        uid_t ulo = 7, uhi = 7;
        gid_t gid = 7;
        unsigned mask = 7;
        bool b = true;

        if (size < 1 || size > 4096)
                return 0;
        char *s = fuzz_string(data + 1, size - 1);
        switch (data[0] % 10) {
        case 0:
                before = u64;
                if (parse_duration(s, &u64) < 0 && u64 != before)
                        abort(); /* untouched on failure */
                break;
        case 1:
                before = u64;
                if (parse_size(s, &u64) < 0 && u64 != before)
                        abort();
                break;
        case 2:
                if (parse_bool(s, &b) < 0 && !b)
                        abort();
                break;
        case 3:
                if (parse_key_range(s, &lo32, &hi32) == 0 && lo32 > hi32)
                        abort();
                break;
        case 4:
                if (parse_uid_range(s, &ulo, &uhi) == 0 && ulo > uhi)
                        abort();
                break;
        case 5:
                (void) parse_gid(s, &gid);
                break;
        case 6:
                (void) glob_validate(s);
                break;
        case 7:
                (void) ipc_type_mask_parse(s, &mask);
                (void) ipc_type_from_string(s);
                break;
        case 8:
                (void) rule_action_from_string(s);
                break;
        default:
                fuzz_rule(s);
                break;
        }
        free(s);
        return 0;
}
