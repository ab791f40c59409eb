/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "cli.h"
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

/* What a column is called, with -y as a shell variable may be called. */
static const char *column_name(const struct column *c, const struct table_options *o, char *buf, size_t size) {
        if (!o->shell)
                return c->name;
        size_t k = 0;
        for (const char *p = c->name; *p && k + 5 < size; p++) {
                if (*p == '%') {
                        memcpy(buf + k, "_PCT", 4);
                        k += 4;
                } else
                        buf[k++] = isalnum((unsigned char) *p) ? *p : '_';
        }
        buf[k] = 0;
        return buf;
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
                char name[64];
                struct libscols_column *cl = scols_table_new_column(t, column_name(c, o, name, sizeof(name)), c->whint,
                                                                    c->flags & ~(TABLE_FL_FREE | TABLE_FL_ID));
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
        case 'e':
                o->export = true;
                return true;
        case 'o':
                o->output = optarg;
                return true;
        case 'y':
                o->shell = true;
                return true;
        case TABLE_OPT_NOTRUNCATE:
                o->notruncate = true;
                return true;
        case TABLE_OPT_TIME_FORMAT:
                o->time_format_arg = optarg;
                return true;
        }
        return false;
}

bool table_check(struct table_options *o) {
        static const char *const names[] = {
                [TABLE_TIME_SHORT] = "short",
                [TABLE_TIME_FULL] = "full",
                [TABLE_TIME_ISO] = "iso",
        };

        if (!o->time_format_arg)
                return true;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(o->time_format_arg, names[i]) == 0) {
                        o->time_format = (enum table_time_format) i;
                        return true;
                }
        cli_usage_error("--time-format takes short, full or iso, not '%s'", o->time_format_arg);
        return false;
}

char *table_time(char *buf, size_t size, time_t t, const struct table_options *o) {
        struct tm tm, now_tm;
        time_t now = time(NULL);
        size_t n = 0;

        if (t <= 0 || !localtime_r(&t, &tm)) {
                snprintf(buf, size, "-");
                return buf;
        }
        switch (o->time_format) {
        case TABLE_TIME_SHORT:
                /* lsipc's: the time today, the day this year, else the date. */
                if (!localtime_r(&now, &now_tm))
                        now_tm = tm;
                if (tm.tm_year == now_tm.tm_year && tm.tm_yday == now_tm.tm_yday)
                        n = strftime(buf, size, "%H:%M", &tm);
                else if (tm.tm_year == now_tm.tm_year)
                        n = strftime(buf, size, "%b%d", &tm);
                else
                        n = strftime(buf, size, "%Y-%b%d", &tm);
                break;
        case TABLE_TIME_FULL:
                n = strftime(buf, size, "%a %b %e %H:%M:%S %Y", &tm);
                break;
        case TABLE_TIME_ISO: {
                /* ISO 8601 with the offset as +hh:mm, which strftime's %z
                 * does not write. */
                long off = tm.tm_gmtoff / 60;
                n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
                if (n > 0 && n + 7 <= size)
                        snprintf(buf + n, size - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
                break;
        }
        }
        if (n == 0)
                snprintf(buf, size, "-");
        return buf;
}

size_t table_text_width(const char *s) {
        size_t w = 0;
        mbstate_t st = {};

        for (size_t n = strlen(s); n > 0;) {
                wchar_t wc;
                size_t k = mbrtowc(&wc, s, n, &st);
                if (k == (size_t) -1 || k == (size_t) -2 || k == 0) {
                        st = (mbstate_t) {};
                        w++, s++, n--;
                        continue;
                }
                int cw = wcwidth(wc);
                w += cw > 0 ? (size_t) cw : 0;
                s += k, n -= k;
        }
        return w;
}

static bool utf8(void) {
        static int yes = -1;
        if (yes < 0)
                yes = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
        return yes;
}

static const char *ellipsis(void) {
        return utf8() ? "\u2026" : "...";
}

/* S cut to WIDTH cells: the longest run of whole words that leaves room for
 * the ellipsis, so that neither a word nor a number is cut ("attached by
 * pid 70" for pid 708 is a lie; "attached by…" is not).  Into BUF. */
static const char *cut_words(const char *s, size_t width, char *buf, size_t size) {
        const char *e = ellipsis();
        size_t ew = table_text_width(e), w = 0, keep = 0;
        mbstate_t st = {};

        if (table_text_width(s) <= width)
                return s;
        for (size_t i = 0, n = strlen(s); i < n;) {
                wchar_t wc;
                size_t k = mbrtowc(&wc, s + i, n - i, &st);
                int cw = 1;
                if (k == (size_t) -1 || k == (size_t) -2 || k == 0) {
                        st = (mbstate_t) {};
                        k = 1;
                } else
                        cw = wcwidth(wc) > 0 ? wcwidth(wc) : 0;
                /* A word ends before a space, a comma or a semicolon. */
                if (i > 0 && strchr(" ,;", s[i]) && !strchr(" ,;", s[i - 1]) && w + ew <= width)
                        keep = i;
                w += (size_t) cw;
                if (w + ew > width)
                        break;
                i += k;
        }
        if (width < ew)
                return "";
        snprintf(buf, size, "%.*s%s", (int) keep, s, e);
        return buf;
}

/* A byte of a cell as it goes out: where the locale is no UTF-8, what is
 * not ASCII is \xHH, as libsmartcols writes it in a table (and as an ID
 * takes it back). */
static void put_byte(FILE *f, char c) {
        if ((unsigned char) c >= 0x80 && !utf8())
                fprintf(f, "\\x%02x", (unsigned char) c);
        else
                fputc(c, f);
}

/* -r: a cell as one word.  Cells come escaped (ipc_escape()), so a space is
 * the one byte left that would split it. */
static void put_raw(FILE *f, const char *s) {
        for (; *s; s++)
                if (*s == ' ')
                        fputs("\\x20", f);
                else
                        put_byte(f, *s);
}

/* -e: a value in double quotes that a shell's eval gives back as it was
 * printed (lsipc writes \xHH for these four, which eval does not undo). */
static void put_quoted(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                if (strchr("\"\\`$", *s))
                        fputc('\\', f);
                put_byte(f, *s);
        }
        fputc('"', f);
}

static int draw_plain(const struct column *cols, const int *ids, size_t n, const struct table_options *o,
                      const struct table_rows *rows) {
        const char *cells[TABLE_MAX_COLUMNS];
        char name[64];
        int r;

        if (o->raw && !o->export && !o->noheadings) {
                for (size_t i = 0; i < n; i++)
                        printf("%s%s", i ? " " : "", column_name(&cols[ids[i]], o, name, sizeof(name)));
                putchar('\n');
        }
        while ((r = rows->next(rows->userdata, cells)) > 0) {
                for (size_t i = 0; i < n; i++) {
                        const char *c = cells[i] ? cells[i] : "-";
                        if (i)
                                putchar(' ');
                        if (o->export) {
                                printf("%s=", column_name(&cols[ids[i]], o, name, sizeof(name)));
                                put_quoted(stdout, c);
                        } else
                                put_raw(stdout, c);
                }
                putchar('\n');
        }
        return r;
}

/* The terminal's width when the table goes to one and may be cut; 0 when
 * nothing is to be cut (as lsipc, a table into a pipe is never cut). */
static size_t cut_width(const struct table_options *o) {
        struct winsize ws;

        if (o->notruncate || !isatty(STDOUT_FILENO))
                return 0;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        const char *c = getenv("COLUMNS");
        long v = c ? strtol(c, NULL, 10) : 0;
        return v > 0 && v < 10000 ? (size_t) v : 80;
}

/* Widths for a terminal of TERM cells: the columns as wide as their widest
 * cell, but for free text, which shares what is left (each at least as wide
 * as its header, the last one the rest). */
static void fit(const struct column *cols, const int *ids, size_t n, size_t term, size_t *width) {
        size_t total = n > 0 ? n - 1 : 0, fixed = total, n_free = 0, last = SIZE_MAX;

        for (size_t i = 0; i < n; i++) {
                total += width[i];
                if (cols[ids[i]].flags & TABLE_FL_FREE)
                        n_free++, last = i;
                else
                        fixed += width[i];
        }
        if (term == 0 || total <= term || n_free == 0)
                return;
        size_t room = term > fixed ? term - fixed : 0;
        for (size_t i = 0; i < n; i++) {
                if (!(cols[ids[i]].flags & TABLE_FL_FREE))
                        continue;
                size_t min = table_text_width(cols[ids[i]].name), w;
                if (min < 8)
                        min = 8;
                if (min > width[i])
                        min = width[i];
                w = i == last ? room : room / (2 * n_free);
                if (w < min)
                        w = min;
                if (w < width[i])
                        width[i] = w;
                room = room > width[i] ? room - width[i] : 0;
        }
}

/* Lines a table holds at once.  A longer listing is drawn a piece at a time
 * (the columns as wide as the widest cell of all of it, measured first), so
 * that what a table costs a line (some 1 KiB) is held for a piece only. */
#define DRAW_PIECE 4096u

/* The header line, as libsmartcols would draw it: each name as wide as its
 * column, right-aligned over a right-aligned column. */
static void print_header(const struct column *cols, const int *ids, size_t n, const struct table_options *o,
                         const size_t *width) {
        char name[64];
        for (size_t i = 0; i < n; i++) {
                const char *s = column_name(&cols[ids[i]], o, name, sizeof(name));
                size_t w = table_text_width(s), pad = width[i] > w ? width[i] - w : 0;
                bool right = cols[ids[i]].flags & SCOLS_FL_RIGHT;
                if (i)
                        putchar(' ');
                if (right)
                        printf("%*s", (int) pad, "");
                fputs(s, stdout);
                if (!right && i + 1 < n)
                        printf("%*s", (int) pad, "");
        }
        putchar('\n');
}

/* A table of one piece, no header, its columns WIDTH wide. */
static struct libscols_table *piece_new(const struct column *cols, const int *ids, size_t n,
                                        const struct table_options *o, const size_t *width) {
        struct table_options po = *o;
        po.noheadings = true;
        struct libscols_table *t = table_new(cols, ids, n, &po);
        if (!t)
                return NULL;
        /* Nothing is cut but what was cut here, and every piece is as wide
         * as the widest of all. */
        scols_table_set_termforce(t, SCOLS_TERMFORCE_NEVER);
        for (size_t i = 0; i < n; i++) {
                struct libscols_column *cl = scols_table_get_column(t, i);
                if (cl)
                        (void) scols_column_set_whint(cl, (double) width[i]);
        }
        return t;
}

int table_draw(const struct column *cols, const int *ids, size_t n, const struct table_options *o,
               const struct table_rows *rows) {
        size_t width[TABLE_MAX_COLUMNS] = {}, id_fit = 0;
        const char *cells[TABLE_MAX_COLUMNS];
        size_t term = cut_width(o), id_max = SIZE_MAX, id_col = SIZE_MAX;
        char name[64];
        int r;

        if (o->raw || o->export)
                return draw_plain(cols, ids, n, o, rows);

        /* On a terminal, the ID column is kept to a third of it: a longer
         * ID goes on a line of its own above its row, as df(1) does with a
         * long file system name, rather than make every row as wide. */
        for (size_t i = 0; i < n && id_col == SIZE_MAX; i++)
                if (cols[ids[i]].flags & TABLE_FL_ID)
                        id_col = i;
        if (term > 0 && n > 1 && id_col != SIZE_MAX)
                id_max = term / 3;
        for (size_t i = 0; i < n; i++)
                width[i] = o->noheadings ? 1 : table_text_width(column_name(&cols[ids[i]], o, name, sizeof(name)));
        id_fit = id_col != SIZE_MAX ? width[id_col] : 0;
        size_t n_rows = 0;
        while ((r = rows->next(rows->userdata, cells)) > 0) {
                n_rows++;
                for (size_t i = 0; i < n; i++) {
                        size_t w = table_text_width(cells[i] ? cells[i] : "-");
                        if (w > width[i])
                                width[i] = w;
                        if (i == id_col && w <= id_max && w > id_fit)
                                id_fit = w;
                }
        }
        if (r < 0)
                return r;
        if (id_col != SIZE_MAX && width[id_col] > id_max)
                width[id_col] = id_fit;
        fit(cols, ids, n, term, width);

        if (!o->noheadings)
                print_header(cols, ids, n, o, width);
        rows->rewind(rows->userdata);
        struct libscols_table *t = NULL;
        size_t in_piece = 0;
        for (size_t done = 0; done < n_rows; done++) {
                char cut[TABLE_MAX_COLUMNS][512], pad[TABLE_MAX_COLUMNS][1024];
                r = rows->next(rows->userdata, cells);
                if (r <= 0)
                        break;
                for (size_t i = 0; i < n; i++)
                        if (!cells[i])
                                cells[i] = "-";
                        else if (cols[ids[i]].flags & TABLE_FL_FREE)
                                cells[i] = cut_words(cells[i], width[i], cut[i], sizeof(cut[i]));
                bool own_line = id_col != SIZE_MAX && table_text_width(cells[id_col]) > width[id_col];
                if (t && (in_piece >= DRAW_PIECE || own_line)) {
                        scols_print_table(t);
                        scols_unref_table(t);
                        t = NULL;
                }
                if (own_line) {
                        /* Where its column begins. */
                        size_t at = 0;
                        for (size_t i = 0; i < id_col; i++)
                                at += width[i] + 1;
                        printf("%*s%s\n", (int) at, "", cells[id_col]);
                        cells[id_col] = "";
                }
                /* Padded here: libsmartcols, told no terminal, sizes a
                 * column by its cells whatever the hint, and every piece
                 * must be as wide as the widest cell of all. */
                for (size_t i = 0; i + 1 < n; i++) {
                        size_t w = table_text_width(cells[i]);
                        /* (Past the buffer, left as it is: out of line, not cut.) */
                        if (w >= width[i] || width[i] - w + strlen(cells[i]) >= sizeof(pad[i]))
                                continue;
                        bool right = cols[ids[i]].flags & SCOLS_FL_RIGHT;
                        snprintf(pad[i], sizeof(pad[i]), "%*s%s%*s", right ? (int) (width[i] - w) : 0, "", cells[i],
                                 right ? 0 : (int) (width[i] - w), "");
                        cells[i] = pad[i];
                }
                if (!t) {
                        t = piece_new(cols, ids, n, o, width);
                        if (!t)
                                return -ENOMEM;
                        in_piece = 0;
                }
                r = table_add_line(t, cells, n);
                if (r < 0)
                        break;
                in_piece++;
        }
        if (t) {
                if (r >= 0)
                        scols_print_table(t);
                scols_unref_table(t);
        }
        return r < 0 ? r : 0;
}

void table_help_columns(FILE *out, const struct column *cols, size_t n) {
        fputs("\nAvailable output columns:\n", out);
        for (size_t i = 0; i < n; i++)
                fprintf(out, " %10s  %s\n", cols[i].name, cols[i].help);
}

int table_id_key(const char *id, size_t len, struct table_id_key *ret) {
        uint64_t ipcns = 0;
        char type[8];

        /* Another namespace's object: its inode, then the ID there. */
        if (len > 4 && memcmp(id, "ipc:", 4) == 0) {
                const char *slash = memchr(id, '/', len);
                char *end;
                if (!slash)
                        return -EINVAL;
                ipcns = strtoull(id + 4, &end, 10);
                if (end != slash || ipcns == 0)
                        return -EINVAL;
                len -= (size_t) (slash + 1 - id);
                id = slash + 1;
        }
        const char *colon = memchr(id, ':', len < 8 ? len : 8);

        if (!colon)
                return -EINVAL;
        snprintf(type, sizeof(type), "%.*s", (int) (colon - id), id);
        int t = ipc_type_from_string(type);
        if (t < 0)
                return -EINVAL;
        *ret = (struct table_id_key) {
                .ipcns = ipcns,
                .type = t,
                .name = colon + 1,
                .name_len = len - (size_t) (colon + 1 - id),
                .num = ipc_type_is_sysv(t) ? strtoll(colon + 1, NULL, 10) : 0,
        };
        return 0;
}

int table_id_key_compare(const struct table_id_key *a, const struct table_id_key *b) {
        if (a->ipcns != b->ipcns)
                return a->ipcns < b->ipcns ? -1 : 1;
        if (a->type != b->type)
                return a->type < b->type ? -1 : 1;
        if (ipc_type_is_sysv(a->type))
                return a->num < b->num ? -1 : a->num > b->num;
        int c = memcmp(a->name, b->name, a->name_len < b->name_len ? a->name_len : b->name_len);
        return c ? c : a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}
