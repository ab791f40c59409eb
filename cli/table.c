/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "table.h"

static int column_lookup(const struct column *cols, size_t n_cols, const char *name, size_t len) {
        for (size_t i = 0; i < n_cols; i++)
                if (strlen(cols[i].name) == len && strncasecmp(cols[i].name, name, len) == 0)
                        return (int) i;
        return -EINVAL;
}

static int parse_list(const struct column *cols, size_t n_cols, const char *list, int *ids, size_t *n) {
        for (const char *p = list; *p;) {
                size_t len = strcspn(p, ",");
                if (len > 0) {
                        int id = column_lookup(cols, n_cols, p, len);
                        if (id < 0) {
                                fprintf(stderr, "ipcgc: unknown column: %.*s\n", (int) len, p);
                                return -EINVAL;
                        }
                        if (*n >= TABLE_MAX_COLUMNS) {
                                fprintf(stderr, "ipcgc: too many columns (at most %d)\n", TABLE_MAX_COLUMNS);
                                return -EINVAL;
                        }
                        ids[(*n)++] = id;
                }
                p += len;
                p += (*p == ',');
        }
        return 0;
}

int table_select(const struct column *cols, size_t n_cols, const char *defaults, const char *output, int *ret_ids,
                 size_t *ret_n) {
        size_t n = 0;
        int r;

        if (!output || output[0] == '+') {
                r = parse_list(cols, n_cols, defaults, ret_ids, &n);
                if (r < 0)
                        return r;
        }
        if (output) {
                r = parse_list(cols, n_cols, output + (output[0] == '+'), ret_ids, &n);
                if (r < 0)
                        return r;
        }
        if (n == 0) {
                fprintf(stderr, "ipcgc: no columns selected\n");
                return -EINVAL;
        }
        *ret_n = n;
        return 0;
}

struct libscols_table *table_new(const struct column *cols, const int *ids, size_t n,
                                 const struct table_options *o) {
        struct libscols_table *t = scols_new_table();
        if (!t)
                return NULL;

        scols_table_enable_raw(t, o->raw);
        scols_table_enable_noheadings(t, o->noheadings);
        for (size_t i = 0; i < n; i++) {
                const struct column *c = &cols[ids[i]];
                struct libscols_column *cl = scols_table_new_column(t, c->name, c->whint, c->flags);
                /* Cells come escaped already (ipc_escape()): a backslash
                 * is one of ours, and libsmartcols writing it \x5c would
                 * give an ID that no longer finds its object. */
                if (!cl || scols_column_set_safechars(cl, "\\") < 0) {
                        scols_unref_table(t);
                        return NULL;
                }
        }
        return t;
}

int table_add_line(struct libscols_table *t, const char *const *cells, size_t n) {
        struct libscols_line *ln = scols_table_new_line(t, NULL);
        if (!ln)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (scols_line_set_data(ln, i, cells[i]) < 0)
                        return -ENOMEM;
        return 0;
}

bool table_option(int c, struct table_options *o) {
        switch (c) {
        case 'r':
                o->raw = true;
                return true;
        case 'n':
                o->noheadings = true;
                return true;
        case 'J':
                o->json = true;
                return true;
        }
        return false;
}

void table_help_columns(FILE *out, const struct column *cols, size_t n) {
        fputs("\nAvailable output columns:\n", out);
        for (size_t i = 0; i < n; i++)
                fprintf(out, " %10s  %s\n", cols[i].name, cols[i].help);
}
