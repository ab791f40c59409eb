/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libsmartcols.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* A column of a listing, described once; libsmartcols renders it. */
struct column {
        const char *name;
        const char *help;
        double whint; /* width hint: < 1 is a fraction of the terminal */
        int flags;    /* SCOLS_FL_*, TABLE_FL_FREE, TABLE_FL_ID */
};

/* Free text (a reason, a list of pids): the only cells table_draw() cuts to
 * fit a terminal, and then only between words, with an ellipsis. */
#define TABLE_FL_FREE (1 << 24)
/* An ID, never cut: on a terminal, one wider than a third of it goes on a
 * line of its own, above its row, rather than make every row as wide. */
#define TABLE_FL_ID (1 << 25)

#define TABLE_MAX_COLUMNS 40

enum table_time_format {
        TABLE_TIME_SHORT, /* as lsipc: "05:38" today, "Dec02" this year, "2025-Dec02" */
        TABLE_TIME_FULL,  /* "Wed Dec  2 05:38:21 2026" */
        TABLE_TIME_ISO,   /* "2026-12-02T05:38:21+00:00" */
};

struct table_options {
        bool raw, noheadings, json;
        bool export, shell, notruncate; /* -e, -y, --notruncate: as lsipc */
        enum table_time_format time_format;
        const char *time_format_arg; /* --time-format, checked by table_check() */
        const char *output; /* -o: "COL,COL", or "+COL" to add to the defaults */
};

enum {
        TABLE_OPT_NOTRUNCATE = 0x180,
        TABLE_OPT_TIME_FORMAT,
};

/* The long options of a listing drawn by table_draw(); its short options
 * are "eyrnJ". */
#define TABLE_LONG_OPTIONS                                                                                 \
        { "export", no_argument, NULL, 'e' }, { "shell", no_argument, NULL, 'y' },                        \
                { "notruncate", no_argument, NULL, TABLE_OPT_NOTRUNCATE },                                  \
                { "time-format", required_argument, NULL, TABLE_OPT_TIME_FORMAT }

/* Resolves -o against the known columns.  Prints "unknown column" and returns
 * -EINVAL on a bad name. */
int table_select(const struct column *cols, size_t n_cols, const char *defaults, const char *output, int *ret_ids,
                 size_t *ret_n);

/* A table with the selected columns, in the chosen mode. */
struct libscols_table *table_new(const struct column *cols, const int *ids, size_t n,
                                 const struct table_options *o);

/* A line of N cells, one a column in order (NULL: empty). */
int table_add_line(struct libscols_table *t, const char *const *cells, size_t n);

/* -r, -n, -J, -e, -o, -y, --notruncate and --time-format: true when C was
 * one of them. */
bool table_option(int c, struct table_options *o);
/* After the options: false (after saying why) for a bad --time-format. */
bool table_check(struct table_options *o);

/* T (epoch seconds) as --time-format says, "-" for 0 (never). */
char *table_time(char *buf, size_t size, time_t t, const struct table_options *o);

/*
 * The rows of a listing, read twice by table_draw(): once to measure, once
 * to draw.  NEXT sets CELLS[i] for each selected column (NULL: "-"), the
 * strings lasting until the next call, and returns 1; 0 after the last
 * row; a negative errno on failure.  REWIND starts again at the first.
 */
struct table_rows {
        int (*next)(void *userdata, const char **cells);
        void (*rewind)(void *userdata);
        void *userdata;
};

/*
 * Draws ROWS: as a table (libsmartcols, a piece of a few thousand lines at
 * a time, every piece as wide as the widest cell of all), raw (one line a
 * row, cells apart by a space, a space in a cell written \x20), or with -e
 * as NAME="value" pairs.  On a terminal, unless --notruncate, the free text
 * columns are cut to fit its width, at a word, and a long ID goes on a line
 * of its own; nothing else is ever cut.
 */
int table_draw(const struct column *cols, const int *ids, size_t n, const struct table_options *o,
               const struct table_rows *rows);

/* How many terminal cells S takes (a byte a cell where it is no text). */
size_t table_text_width(const char *s);

/* Prints a column list for --help. */
void table_help_columns(FILE *out, const struct column *cols, size_t n);

/* The order of every listing: by IPC namespace (ipcgc's own first, then
 * by the inode of "ipc:INO/..."), then by type (shm msg sem mq pshm psem
 * fifo), then a SysV object by its id, any other by its name. */
struct table_id_key {
        uint64_t ipcns; /* 0: ipcgc's own */
        int type;
        int64_t num;
        const char *name;
        size_t name_len;
};
/* The key of ID, LEN bytes ("shm:3", "mq:/x", "ipc:4026532201/shm:3");
 * -EINVAL for no ID. */
int table_id_key(const char *id, size_t len, struct table_id_key *ret);
int table_id_key_compare(const struct table_id_key *a, const struct table_id_key *b);
