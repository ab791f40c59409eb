/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libsmartcols.h>
#include <stdbool.h>
#include <stddef.h>

/* A column of a listing, described once; libsmartcols renders it. */
struct column {
        const char *name;
        const char *help;
        double whint; /* width hint: < 1 is a fraction of the terminal */
        int flags;    /* SCOLS_FL_* */
};

#define TABLE_MAX_COLUMNS 32

struct table_options {
        bool raw, noheadings, json;
        const char *output; /* -o: "COL,COL", or "+COL" to add to the defaults */
};

/* Resolves -o against the known columns.  Prints "unknown column" and returns
 * -EINVAL on a bad name. */
int table_select(const struct column *cols, size_t n_cols, const char *defaults, const char *output, int *ret_ids,
                 size_t *ret_n);

/* A table with the selected columns, in the chosen mode. */
struct libscols_table *table_new(const struct column *cols, const int *ids, size_t n,
                                 const struct table_options *o);

/* A line of N cells, one a column in order (NULL: empty). */
int table_add_line(struct libscols_table *t, const char *const *cells, size_t n);

/* -r, -n and -J, which every listing takes: true when C was one of them. */
bool table_option(int c, struct table_options *o);

/* Prints a column list for --help. */
void table_help_columns(FILE *out, const struct column *cols, size_t n);
