/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "fifo.h"
#include "format.h"
#include "mqfs.h"
#include "quarantine.h"
#include "reap.h"
#include "sysv.h"


static const char *const action_names[_REAP_ACTION_MAX] = {
        [REAP_REMOVED] = "removed", [REAP_WOULD_REMOVE] = "would-remove", [REAP_SKIPPED] = "skipped",
        [REAP_FAILED] = "failed",   [REAP_STOPPED] = "stopped",
};

const char *reap_action_to_string(enum reap_action a) {
        return (unsigned) a < _REAP_ACTION_MAX ? action_names[a] : NULL;
}

struct reap_result *reap_result_free(struct reap_result *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_records; i++) {
                free(r->records[i].id);
                free(r->records[i].reason);
                free(r->records[i].rule);
                free(r->records[i].archive);
        }
        free(r->records);
        free(r);
        return NULL;
}

/* Room for N more records: made before a batch's removals, so that the
 * record of an object removed cannot fail for want of it. */
static int reserve_records(struct reap_result *res, size_t n) {
        if (res->n_records + n <= res->n_allocated)
                return 0;
        size_t want = res->n_allocated * 2 > res->n_records + n ? res->n_allocated * 2 : res->n_records + n;
        struct reap_record *a = reallocarray(res->records, want, sizeof(*a));
        if (!a)
                return -ENOMEM;
        res->records = a;
        res->n_allocated = want;
        return 0;
}

static int record(struct reap_result *res, const struct ipc_object *o, enum verdict v, const struct rule *rule,
                  enum reap_action action, int error, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static int record(struct reap_result *res, const struct ipc_object *o, enum verdict v, const struct rule *rule,
                  enum reap_action action, int error, const char *fmt, ...) {
        va_list ap;

        if (reserve_records(res, 1) < 0)
                return -ENOMEM;
        struct reap_record *rec = &res->records[res->n_records];
        *rec = (struct reap_record) { .type = o ? o->type : 0, .index = o ? (size_t) (o - res->reaped) : SIZE_MAX,
                                      .verdict = v, .action = action, .error = error,
                                      .uid = o ? o->uid : 0, .key = o ? o->key : 0, .size = o ? o->size : 0 };
        va_start(ap, fmt);
        if (vasprintf(&rec->reason, fmt, ap) < 0)
                rec->reason = NULL;
        va_end(ap);
        if (o)
                rec->id = ipc_object_id(o);
        if (rule)
                rec->rule = strdup(rule->name);
        if (!rec->reason || (o && !rec->id) || (rule && !rec->rule)) {
                free(rec->reason);
                free(rec->id);
                free(rec->rule);
                return -ENOMEM;
        }
        res->n_records++;
        switch (action) {
        case REAP_REMOVED:
                res->removed++;
                break;
        case REAP_WOULD_REMOVE:
                res->would_remove++;
                break;
        case REAP_SKIPPED:
                res->skipped++;
                break;
        case REAP_FAILED:
                res->failed++;
                break;
        default:
                break;
        }
        return 0;
}

bool reap_removable(enum verdict v, bool force) {
        return v == VERDICT_ORPHAN ||
               (force && (v == VERDICT_PENDING || v == VERDICT_REPORTED || v == VERDICT_PROTECTED));
}

/* The archive over one reap(): opened at the first object that needs it. */
struct archive_state {
        const struct reap_archive *opt;
        int fd;    /* -1 until opened */
        int error; /* why it could not be opened, once tried; 0: not */
        struct archive_space space;
        struct archive_pack pack; /* the batch's entries */
};

struct candidate {
        size_t index;             /* into the judged inventory */
        struct ipc_object *fresh; /* in the batch's fresh inventory */
        int dirfd;                /* files: the parent directory */
        const char *base;         /* files: the name in it */
        char *base_buf;
        struct quarantine q;
        bool have_q;
        bool finished; /* its record is written */
        bool deferred; /* out of fds: not done, for a smaller batch (no record) */
        /* Judged removable again, with these, and archived (or not) */
        enum verdict verdict;
        const struct rule *rule;
        char reason[JUDGEMENT_REASON_MAX];
        struct archive_entry entry;
        bool archiving; /* entry begun (and, once committed, made) */
        uint64_t reserved; /* of the archive's room, for the entry */
        bool mq_taken;  /* an mq's messages are in the entry, not the queue */
        struct archive_contents contents; /* what the entry holds */
};

/* Out of file descriptors: what a smaller batch can get past. */
static bool fd_shortage(int r) {
        return r == -EMFILE || r == -ENFILE;
}

static void candidate_done(struct candidate *c) {
        if (c->have_q) {
                (void) quarantine_restore(&c->q);
                quarantine_close(&c->q);
        }
        if (c->dirfd >= 0)
                (void) close(c->dirfd);
        free(c->base_buf);
        c->dirfd = -1;
        c->have_q = false;
}

/* Opens the directory the object's name lives in. */
static int open_parent(const struct reap_options *opt, const struct ipc_object *o, struct candidate *c) {
        int r = collect_open_parent(o, opt->scan, &c->dirfd, &c->base_buf);
        if (r >= 0)
                c->base = c->base_buf;
        return r;
}

/* Step 1 for one candidate: re-read it into FRESH and compare with the
 * judged object; files other than mq are moved into quarantine.  Returns 1
 * when it may go on, 0 when a skip was recorded, <0 on a hard error. */
static int reread(const struct reap_options *opt, const struct ipc_object *o, const struct judgement *j,
                  struct candidate *c, struct ipc_object *fresh, struct quarantine_pool *pool,
                  struct reap_result *res) {
        const char *why;
        struct stat st;
        int r;

        if (ipc_type_is_sysv(o->type)) {
                r = sysv_stat(o->type, o->id, fresh);
                if (r == -EIDRM)
                        return record(res, o, j->verdict, j->rule, REAP_SKIPPED, 0, "gone since judged") ?: 0;
                if (r < 0)
                        return record(res, o, j->verdict, j->rule, REAP_FAILED, -r, "cannot re-read: %s",
                                      strerror(-r)) ?: 0;
                why = ipc_object_changed(o, fresh);
                if (why)
                        return record(res, o, j->verdict, j->rule, REAP_SKIPPED, 0, "%s", why) ?: 0;
                return 1;
        }

        r = open_parent(opt, o, c);
        if (fd_shortage(r))
                return r;
        if (r < 0)
                return record(res, o, j->verdict, j->rule, r == -ENOENT ? REAP_SKIPPED : REAP_FAILED,
                              r == -ENOENT ? 0 : -r, "cannot reach its directory safely: %s", strerror(-r)) ?: 0;

        fresh->name = strdup(o->name);
        if (!fresh->name)
                return -ENOMEM;

        if (o->type == IPC_TYPE_MQ) {
                r = mqfs_read_one(c->dirfd, c->base, NULL, fresh); /* read it, never reuse */
                free(fresh->name); /* read_one names it from the entry: keep the judged name */
                fresh->name = strdup(o->name);
                if (!fresh->name)
                        return -ENOMEM;
                if (r == -ENOENT)
                        return record(res, o, j->verdict, j->rule, REAP_SKIPPED, 0, "gone since judged") ?: 0;
                if (fd_shortage(r))
                        return r;
                if (r < 0)
                        return record(res, o, j->verdict, j->rule, REAP_FAILED, -r, "cannot re-read: %s",
                                      strerror(-r)) ?: 0;
                why = ipc_object_changed(o, fresh);
                if (why)
                        return record(res, o, j->verdict, j->rule, REAP_SKIPPED, 0, "%s", why) ?: 0;
                return 1;
        }

        mode_t type = o->type == IPC_TYPE_FIFO ? S_IFIFO : S_IFREG;
        if (fstatat(c->dirfd, c->base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                r = negative_errno();
                return record(res, o, j->verdict, j->rule, REAP_SKIPPED, r == -ENOENT ? 0 : -r, "%s",
                              r == -ENOENT ? "gone since judged" : "cannot stat it") ?: 0;
        }
        /* The times to judge by are those from before the move: a rename
         * stamps ctime. */
        ipc_object_set_stat(fresh, &st);
        if (type == S_IFIFO)
                fresh->size = 0;
        why = (st.st_mode & S_IFMT) != type ? "replaced by another kind of file since judged"
                                            : ipc_object_changed(o, fresh);
        if (why)
                return record(res, o, j->verdict, j->rule, REAP_SKIPPED, 0, "%s", why) ?: 0;

        r = quarantine_enter(&c->q, pool, c->dirfd, c->base);
        c->have_q = true;
        if (r == -ENOMEM || fd_shortage(r))
                return r;
        if (r < 0)
                return record(res, o, j->verdict, j->rule, r == -ENOENT ? REAP_SKIPPED : REAP_FAILED,
                              r == -ENOENT ? 0 : -r, "cannot move it aside to remove it safely: %s", strerror(-r)) ?: 0;

        /* Whatever sat under the name when it was moved is what is checked
         * now, and only that can be unlinked. */
        r = quarantine_stat(&c->q, &st);
        if (r < 0)
                return record(res, o, j->verdict, j->rule, REAP_FAILED, -r, "cannot stat it once moved aside") ?: 0;
        if ((st.st_mode & S_IFMT) != type || st.st_dev != o->dev || st.st_ino != o->ino || st.st_uid != o->uid ||
            st.st_gid != o->gid || (st.st_mode & 07777) != o->mode || st.st_mtim.tv_sec != o->mtime)
                return record(res, o, j->verdict, j->rule, REAP_SKIPPED, 0, "replaced just before removal") ?: 0;
        return 1;
}

/* Copies the identity and name of O into a fresh object of the same type. */
static struct ipc_object *fresh_for(struct inventory *fresh_inv, const struct ipc_object *o) {
        struct ipc_object *f = inventory_append(fresh_inv, o->type);
        if (f)
                f->id = o->id;
        return f;
}

/* Did a removal find its object gone already (another sweeper, its owner)? */
static bool gone_already(enum ipc_type t, int err) {
        return ipc_type_is_sysv(t) ? err == EINVAL || err == EIDRM : err == ENOENT;
}

/* An mq emptied into its archive entry: nothing sent to it since? */
static bool queue_still_empty(const struct candidate *c) {
        struct ipc_object now = { .type = IPC_TYPE_MQ, .id = -1 };
        bool empty = mqfs_read_one(c->dirfd, c->base, NULL, &now) >= 0 && !(now.flags & IPC_OBJECT_MQ_UNREADABLE) &&
                     now.size == 0 && now.dev == c->fresh->dev && now.ino == c->fresh->ino;
        ipc_object_done(&now);
        return empty;
}

/* 1: removed; 0: not, changed or gone at the last moment (*RET_ERRNO says
 * which, 0 for changed); -1: the removal failed (*RET_ERRNO). */
static int remove_one(const struct ipc_object *o, struct candidate *c, int *ret_errno) {
        struct stat st;
        int r;

        *ret_errno = 0;
        if (ipc_type_is_sysv(o->type)) {
                /* Last look, as close to IPC_RMID as it gets. */
                struct ipc_object again;
                r = sysv_stat(o->type, o->id, &again);
                if (r >= 0) {
                        const char *why = ipc_object_changed(c->fresh, &again);
                        ipc_object_done(&again);
                        if (why)
                                return 0;
                        r = sysv_remove(o->type, o->id);
                }
        } else if (o->type == IPC_TYPE_MQ) {
                /* mqueue has no rename: check and unlink back to back. */
                if (fstatat(c->dirfd, c->base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        r = negative_errno();
                else if (st.st_dev != c->fresh->dev || st.st_ino != c->fresh->ino)
                        return 0;
                else if (c->archiving && !queue_still_empty(c))
                        return 0; /* sent to since it was emptied into the archive */
                else
                        r = unlinkat(c->dirfd, c->base, 0) < 0 ? negative_errno() : 0;
        } else
                r = quarantine_unlink(&c->q);
        if (r >= 0)
                return 1;
        *ret_errno = -r;
        return gone_already(o->type, -r) ? 0 : -1;
}


/* What an entry for C will take on disk, at most: its contents in whole
 * blocks, the manifest's block and the message headers.  A sparse file is
 * archived as what it holds (its blocks), not its length. */
static uint64_t archive_estimate(const struct candidate *c) {
        const struct ipc_object *o = c->fresh;
        uint64_t block = 4096, bytes = o->size;
        struct stat st;

        if (c->have_q && o->type != IPC_TYPE_FIFO && quarantine_stat(&c->q, &st) == 0 &&
            (uint64_t) st.st_blocks * 512u < bytes)
                bytes = (uint64_t) st.st_blocks * 512u;
        if (o->type == IPC_TYPE_MSG || o->type == IPC_TYPE_MQ)
                bytes += (o->qnum + 1) * 16u;
        else if (o->type == IPC_TYPE_SEM)
                bytes = (uint64_t) o->nsems * 6u;
        return (bytes + block - 1) / block * block + 2 * block;
}

static int archive_state_open(struct archive_state *a, time_t now) {
        if (a->fd >= 0)
                return 0;
        if (a->error)
                return a->error;
        if (!a->opt)
                return a->error = -ENOENT;
        int r = archive_open_dir(a->opt->dir, ARCHIVE_CREATE, &a->fd);
        if (r >= 0) {
                r = archive_space_open(a->fd, a->opt->max_bytes, a->opt->keep_seconds, &a->space);
                if (r < 0) {
                        (void) close(a->fd);
                        a->fd = -1;
                }
        }
        (void) now;
        /* Out of fds is for this batch only: a smaller one may open it. */
        if (fd_shortage(r))
                return r;
        return r < 0 ? (a->error = r) : 0;
}

static void archive_state_done(struct archive_state *a) {
        if (a->fd < 0)
                return;
        archive_space_done(&a->space);
        (void) close(a->fd);
        a->fd = -1;
}

/* Why an archive could not be made, in words for the record. */
static void archive_error(const struct archive_state *a, int r, char *buf, size_t n) {
        char size[FORMAT_BYTES_MAX];

        if (r == -EFBIG) {
                format_bytes(size, a->opt ? a->opt->max_bytes : 0);
                snprintf(buf, n, "larger than ArchiveMaxBytes=%s", size);
        } else if (r == -EDQUOT) {
                char keep[FORMAT_DURATION_MAX];
                format_bytes(size, a->opt ? a->opt->max_bytes : 0);
                format_duration(keep, a->opt ? a->opt->keep_seconds : 0);
                snprintf(buf, n, "the archive is full: ArchiveMaxBytes=%s taken by entries younger than ArchiveKeep=%s "
                         "or made by this sweep", size, keep);
        }
        else if (r == -ENOTSUP)
                snprintf(buf, n, "its messages cannot be read without taking them (no MSG_COPY)");
        else if (r == -ESTALE)
                snprintf(buf, n, "it changed while being archived");
        else if (r == -ENOENT && !a->opt)
                snprintf(buf, n, "no archive is configured");
        else
                snprintf(buf, n, "%s%s%s", a->fd < 0 && a->opt ? a->opt->dir : "", a->fd < 0 && a->opt ? ": " : "",
                         strerror(-r));
}

/* A segment read for its archive has ipcgc as its last user (shmat moves
 * lpid, atime and dtime): so it is, and nothing else may have changed. */
static int shm_after_archive(struct candidate *c) {
        struct ipc_object after = {};
        int r = sysv_stat(IPC_TYPE_SHM, c->fresh->id, &after);

        if (r < 0)
                return r == -EIDRM ? -ESTALE : r;
        struct ipc_object cmp = after;
        cmp.atime = c->fresh->atime;
        cmp.dtime = c->fresh->dtime;
        cmp.lpid = c->fresh->lpid;
        if (after.lpid != getpid() || ipc_object_changed(c->fresh, &cmp))
                r = -ESTALE;
        else {
                c->fresh->atime = after.atime;
                c->fresh->dtime = after.dtime;
                c->fresh->lpid = after.lpid;
        }
        ipc_object_done(&after);
        return r;
}

/* Why and by whom C is removed, for its manifest. */
static struct archive_removal candidate_removal(const struct archive_state *a, const struct candidate *c, time_t now) {
        struct archive_removal why = {
                .time = now, .reason = (char *) c->reason, .rule = c->rule ? c->rule->name : NULL,
                .by_uid = a->opt->by_uid, .by_pid = getpid(),
        };
        snprintf(why.verdict, sizeof(why.verdict), "%s", verdict_to_string(c->verdict));
        return why;
}

/* Begins C's entry and writes its contents and manifest (not committed). */
static int archive_one(struct archive_state *a, struct candidate *c, time_t now) {
        int r;

        r = archive_state_open(a, now);
        if (r < 0)
                return r;
        uint64_t need = archive_estimate(c);
        r = archive_space_reserve(a->fd, &a->space, need, now);
        if (r < 0)
                return r;
        r = archive_entry_begin(a->fd, &a->pack, c->fresh, now, &c->entry);
        if (r < 0) {
                archive_space_settle(&a->space, need, 0);
                return r;
        }
        c->archiving = true;
        c->reserved = need;
        if (ipc_type_is_sysv(c->fresh->type))
                r = archive_sysv_save(c->fresh, &c->entry.contents, a->opt->max_bytes, &c->contents);
        else
                /* Files other than mq are in quarantine by now. */
                /* A file's bytes may not pass what was reserved for them. */
                r = archive_posix_save(c->fresh, c->have_q ? c->q.qfd : c->dirfd,
                                       c->have_q ? c->q.entry : c->base, &c->entry.contents,
                                       c->have_q ? need : a->opt->max_bytes, &c->contents, &c->mq_taken);
        if (r >= 0) {
                struct archive_removal why = candidate_removal(a, c, now);
                r = archive_manifest_write(&c->entry, c->fresh, &why, &c->contents);
        }
        /* The manifest keeps the facts from before the read. */
        if (r >= 0 && c->fresh->type == IPC_TYPE_SHM)
                r = shm_after_archive(c);
        return r;
}

/* C is not removed after all: its messages go back into the queue, and its
 * entry goes, unless messages could not go back (then they are only there). */
static void archive_undo(struct archive_state *a, struct candidate *c) {
        if (!c->archiving)
                return;
        c->archiving = false;
        if (!c->entry.committed) {
                archive_space_settle(&a->space, c->reserved, 0);
                /* (Its pack is open until the batch is done.) */
                if (c->mq_taken && (!c->entry.pack || archive_posix_putback(c->fresh, c->dirfd, c->base,
                                                                            &c->entry.contents) < 0)) {
                        /* Its messages are only there now: kept as an
                         * entry of its own, for a restore to bring them
                         * back. */
                        struct archive_removal why = candidate_removal(a, c, time(NULL));
                        if (c->entry.pack)
                                (void) archive_entry_keep(a->fd, &c->entry, c->fresh, &why, &c->contents);
                        return;
                }
                archive_entry_abort(&c->entry);
                return;
        }
        /* From its own contents, in the batch's pack (open until the batch
         * is done). */
        if (c->mq_taken && archive_posix_putback(c->fresh, c->dirfd, c->base, &c->entry.contents) < 0)
                return; /* the entry keeps what could not go back */
        /* Out of the pack's index when the batch is done; the pack takes
         * what it took, so only the count goes down. */
        c->entry.dropped = true;
        archive_space_settle(&a->space, 0, 0);
}

/* Runs the batch of the N candidates IDX.  Those that ran out of file
 * descriptors on the way are not done and have no record: they are moved to
 * the end of IDX, in order, and counted in *RET_DEFERRED. */
static int run_batch(const struct inventory *inv, const struct judgement *judgements, size_t *idx, size_t n,
                     const struct reap_options *opt, struct archive_state *arch, struct reap_result *res,
                     size_t *ret_deferred) {
        _cleanup_(inventory_freep) struct inventory *fresh_inv = NULL;
        _cleanup_(proctab_freep) struct proctab *pt = NULL;
        _cleanup_free_ struct candidate *cs = NULL;
        struct quarantine_pool pool;
        int r;

        *ret_deferred = 0;
        quarantine_pool_init(&pool);

        r = inventory_new(&fresh_inv);
        if (r < 0)
                return r;
        cs = calloc(n, sizeof(*cs));
        if (!cs)
                return -ENOMEM;
        /* The fresh inventory must not move while candidates point into it. */
        fresh_inv->objects = calloc(n, sizeof(struct ipc_object));
        if (!fresh_inv->objects)
                return -ENOMEM;
        fresh_inv->n_allocated = n;
        for (size_t i = 0; i < n; i++)
                cs[i] = (struct candidate) { .index = idx[i], .dirfd = -1 };

        for (size_t i = 0; i < n; i++) {
                const struct ipc_object *o = &inv->objects[idx[i]];
                struct candidate *c = &cs[i];
                c->fresh = fresh_for(fresh_inv, o);
                if (!c->fresh) {
                        r = -ENOMEM;
                        goto out;
                }
                r = reread(opt, o, &judgements[idx[i]], c, c->fresh, &pool, res);
                if (fd_shortage(r)) {
                        /* This one and the rest wait for a smaller batch. */
                        for (size_t k = i; k < n; k++)
                                cs[k].deferred = cs[k].finished = true;
                        break;
                }
                if (r < 0)
                        goto out;
                c->finished = r == 0;
        }

        /* One fresh pass over /proc for everything still in play. */
        r = collect_holders(fresh_inv, opt->paths, judge_proctab_needs(fresh_inv, opt->rules, opt->n_rules), &pt);
        if (fd_shortage(r)) {
                for (size_t i = 0; i < n; i++)
                        if (!cs[i].finished)
                                cs[i].deferred = cs[i].finished = true;
                r = 0;
                goto out;
        }
        if (r < 0)
                goto out;

        struct judge_context ctx = {
                .proctab = pt, .rules = opt->rules, .n_rules = opt->n_rules, .now = time(NULL),
                .memory = opt->memory, .sight = opt->sight, .clock_step = opt->clock_step,
        };
        /* Judged again, and archived: each entry is written now, and all
         * of them committed together below, before anything is removed. */
        for (size_t i = 0; i < n; i++) {
                struct candidate *c = &cs[i];
                const struct ipc_object *o = &inv->objects[c->index];
                struct judgement j;

                if (c->finished)
                        continue;
                /* Remembered as the object judged, whatever name it has now. */
                r = judge_object_remembered(&ctx, c->fresh,
                                            opt->memory ? memory_find(opt->memory, memory_key(o)) : NULL, &j);
                if (r < 0)
                        goto out;
                if (!reap_removable(j.verdict, opt->force)) {
                        /* Back under its name at once, not at the end of the
                         * batch: it is in use. */
                        int back = c->have_q ? quarantine_restore(&c->q) : 0;
                        char why[JUDGEMENT_REASON_MAX];
                        r = record(res, o, j.verdict, j.rule, back < 0 ? REAP_FAILED : REAP_SKIPPED,
                                   back < 0 ? -back : 0, "re-judged %s: %s%s", verdict_to_string(j.verdict),
                                   judgement_reason(&j, why),
                                   back == -EEXIST ? "; its name was taken meanwhile: put back beside it as "
                                                     "NAME.ipcgc-restored"
                                   : back < 0      ? "; could not be put back: left in .ipcgc-reap.*/entry.* beside it"
                                                   : "");
                        judgement_done(&j);
                        c->finished = true;
                        if (r < 0)
                                goto out;
                        continue;
                }
                c->verdict = j.verdict;
                c->rule = j.rule;
                judgement_reason(&j, c->reason);
                judgement_done(&j);
                if (c->rule && c->rule->no_archive)
                        continue;
                int k = archive_one(arch, c, ctx.now);
                if (k == -ENOMEM) {
                        r = k;
                        goto out;
                }
                if (fd_shortage(k)) {
                        archive_undo(arch, c);
                        c->deferred = c->finished = true;
                        continue;
                }
                if (k < 0) {
                        char why[160];
                        archive_error(arch, k, why, sizeof(why));
                        archive_undo(arch, c);
                        r = record(res, o, c->verdict, c->rule, REAP_SKIPPED, -k, "could not archive (%s)", why);
                        c->finished = true;
                        if (r < 0)
                                goto out;
                        continue;
                }
        }
        if (arch->pack.n_entries > 0) {
                int k = archive_pack_commit(arch->fd, &arch->pack);
                char why[160];
                archive_error(arch, k, why, sizeof(why));
                for (size_t i = 0; i < n; i++) {
                        struct candidate *c = &cs[i];
                        if (c->finished || !c->archiving)
                                continue;
                        if (c->entry.committed) {
                                /* Counted as reserved (at least what it
                                 * takes); the next reap measures it. */
                                c->entry.disk_bytes = c->reserved;
                                continue;
                        }
                        archive_undo(arch, c);
                        r = record(res, &inv->objects[c->index], c->verdict, c->rule, REAP_SKIPPED, -k,
                                   "could not archive (%s)", why);
                        c->finished = true;
                        if (r < 0)
                                goto out;
                }
        }

        r = reserve_records(res, n);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                struct candidate *c = &cs[i];
                const struct ipc_object *o = &inv->objects[c->index];
                int err = 0;

                if (c->finished)
                        continue;
                int k = remove_one(o, c, &err);
                if (k <= 0)
                        archive_undo(arch, c);
                /* Removed: its entry is the object's now, whatever fails
                 * next (the record is made in room reserved for it). */
                bool archived = k > 0 && c->archiving;
                if (k > 0)
                        c->archiving = false;
                if (k > 0)
                        r = record(res, o, c->verdict, c->rule, REAP_REMOVED, 0, "%s", c->reason);
                else if (k == 0)
                        r = record(res, o, c->verdict, c->rule, REAP_SKIPPED, err,
                                   err ? "gone at the last moment (%s)" : "changed at the last moment",
                                   strerror(err));
                else
                        r = record(res, o, c->verdict, c->rule, REAP_FAILED, err, "removal failed: %s", strerror(err));
                c->finished = true;
                if (r < 0)
                        goto out;
                if (archived) {
                        struct reap_record *rec = &res->records[res->n_records - 1];
                        rec->archive = strdup(c->entry.name);
                        if (!rec->archive) {
                                r = -ENOMEM;
                                goto out;
                        }
                }
        }
        r = 0;
out:
        for (size_t i = 0; i < n; i++) {
                archive_undo(arch, &cs[i]); /* a hard error: nothing of it removed */
                candidate_done(&cs[i]);
        }
        /* One pack a batch: what was not committed goes with it. */
        if (arch->fd >= 0)
                archive_pack_done(arch->fd, &arch->pack);
        quarantine_pool_done(&pool);
        if (r >= 0) {
                /* The deferred to the end, in order: the next batch starts with them. */
                size_t w = 0, d = 0;
                _cleanup_free_ size_t *later = malloc(n * sizeof(size_t));
                if (!later)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        if (cs[i].deferred)
                                later[d++] = cs[i].index;
                        else
                                idx[w++] = cs[i].index;
                memcpy(idx + w, later, d * sizeof(size_t));
                *ret_deferred = d;
        }
        return r;
}

/* File descriptors a candidate may hold at once in a batch: its directory,
 * its share of the quarantine (a directory and its parent, per directory
 * per batch: counted for each), a reader of its archive entry (the batch's
 * entries share one pack).  Conservative. */
#define FDS_PER_CANDIDATE 4u
/* Left free for what a batch opens besides: the /proc pass, the archive
 * directory and its listing, a reader of the archive's files. */
#define FDS_RESERVE 32u

/* How many fds this process has open, or SIZE_MAX when it cannot tell. */
static size_t fds_open(void) {
        _cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
        size_t n = 0;

        if (!d)
                return SIZE_MAX;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.')
                        n++;
        return n > 0 ? n - 1 : 0; /* not the directory's own */
}

/* How many candidates a batch can take in the fds left: RLIMIT_NOFILE
 * less those open and the reserve, at FDS_PER_CANDIDATE each; at least 1. */
static size_t batch_fd_limit(void) {
        struct rlimit rl;
        size_t used = fds_open(), limit;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return 1;
        limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > SIZE_MAX ? SIZE_MAX : (size_t) rl.rlim_cur;
        if (used == SIZE_MAX) /* no /proc: assume a quarter is taken */
                used = limit / 4;
        if (limit <= used || limit - used <= FDS_RESERVE + FDS_PER_CANDIDATE)
                return 1;
        return (limit - used - FDS_RESERVE) / FDS_PER_CANDIDATE;
}

int reap(const struct inventory *inv, const struct judgement *judgements, const struct reap_options *opt,
         struct reap_result **ret) {
        _cleanup_(reap_result_freep) struct reap_result *res = calloc(1, sizeof(*res));
        _cleanup_free_ size_t *orphans = NULL;
        size_t n_orphans = 0, next = 0;
        struct archive_state arch = { .opt = opt->archive, .fd = -1, .pack = ARCHIVE_PACK_INIT };
        int r = 0;

        if (!res)
                return -ENOMEM;
        orphans = calloc(inv->n_objects ? inv->n_objects : 1, sizeof(size_t));
        if (!orphans)
                return -ENOMEM;
        res->reaped = inv->objects;
        for (size_t i = 0; i < inv->n_objects; i++) {
                if (opt->select && !opt->select[i])
                        continue;
                res->judged[judgements[i].verdict]++;
                if (reap_removable(judgements[i].verdict, opt->force))
                        orphans[n_orphans++] = i;
        }

        if (opt->dry_run) {
                for (; next < n_orphans && next < opt->max_removals; next++) {
                        const struct judgement *j = &judgements[orphans[next]];
                        char why[JUDGEMENT_REASON_MAX];
                        r = record(res, &inv->objects[orphans[next]], j->verdict, j->rule, REAP_WOULD_REMOVE, 0,
                                   "%s", judgement_reason(j, why));
                        if (r < 0)
                                return r;
                }
        } else {
                /* Where /dev/shm fills up with orphans, a directory is kept
                 * to move them aside into when no new one can be made
                 * (quarantine.h): made while there is still room, once room
                 * runs short.  Best effort. */
                if (opt->scan && opt->scan->shm_dir &&
                    (opt->scan->types & (IPC_TYPE_BIT(IPC_TYPE_PSHM) | IPC_TYPE_BIT(IPC_TYPE_PSEM)))) {
                        int sfd = open(opt->scan->shm_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sfd >= 0) {
                                (void) quarantine_tend_spare(sfd);
                                (void) close(sfd);
                        }
                }
                /* Batches sized to what the limit still allows (a skip
                 * leaves room for the next orphan) and to the fds left.  A
                 * batch that ran out of fds anyway hands back what it could
                 * not do, and the next is half as large. */
                size_t cap = batch_fd_limit();
                while (next < n_orphans && res->removed < opt->max_removals) {
                        size_t n = opt->max_removals - res->removed, deferred;
                        if (n > n_orphans - next)
                                n = n_orphans - next;
                        if (n > cap)
                                n = cap;
                        r = run_batch(inv, judgements, orphans + next, n, opt, &arch, res, &deferred);
                        if (r < 0)
                                break;
                        next += n - deferred;
                        if (deferred == 0)
                                continue;
                        if (n == 1) {
                                /* Not even one fits: that is a failure. */
                                const struct judgement *j = &judgements[orphans[next]];
                                r = record(res, &inv->objects[orphans[next]], j->verdict, j->rule, REAP_FAILED,
                                           EMFILE, "out of file descriptors even for a batch of one");
                                if (r < 0)
                                        break;
                                next++;
                                continue;
                        }
                        cap = n / 2;
                }
                archive_state_done(&arch);
                if (r < 0)
                        return r;
        }

        if (next < n_orphans) {
                res->stopped = true;
                res->not_tried = n_orphans - next;
                r = record(res, NULL, VERDICT_ORPHAN, NULL, REAP_STOPPED, 0,
                           "MaxRemovalsPerSweep=%u reached; %zu orphan%s left for the next sweep", opt->max_removals,
                           res->not_tried, res->not_tried == 1 ? "" : "s");
                if (r < 0)
                        return r;
        }
        res->reaped = NULL;
        *ret = TAKE_PTR(res);
        return 0;
}
