/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "connector.h"
#include "log.h"
#include "manager.h"
#include "memory.h"
#include "parse.h"

/* Exits are gathered for this long before one look decides on a sweep, so
 * a burst of exits costs one sweep, not one each. */
#define PROMPT_DELAY_USEC (50 * 1000)
/* ...and at least this long after the last prompt sweep: a loop of short
 * processes that each touch a queue must not keep the daemon sweeping. */
#define PROMPT_MIN_GAP_USEC (250 * 1000)
#define MAX_PENDING_EXITS 4096u

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

struct manager *manager_free(struct manager *m) {
        if (!m)
                return NULL;
        connector_free(m->connector);
        sd_event_source_disable_unref(m->timer);
        sd_event_source_disable_unref(m->prompt);
        sd_event_source_disable_unref(m->clock_source);
        for (size_t i = 0; i < m->n_others; i++)
                nsengine_free(m->others[i]);
        free(m->others);
        nsengine_free(&m->host); /* saves what the confirmations saw since */
        history_clear(&m->history);
        free(m->history_dir);
        free(m->exited);
        config_free(m->config);
        free(m->config_path);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int manager_new(const char *config_path, bool explicit_path, struct manager **ret) {
        _cleanup_(manager_freep) struct manager *m = calloc(1, sizeof(*m));
        int r;

        if (!m)
                return -ENOMEM;
        m->config_path = strdup(config_path);
        if (!m->config_path)
                return -ENOMEM;
        m->config_explicit = explicit_path;
        m->start_usec = now_usec(CLOCK_MONOTONIC);
        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static int load(struct manager *m, struct config **ret, char **ret_error) {
        return config_load(m->config_path, CONFIG_DROPINS | (m->config_explicit ? CONFIG_MUST_EXIST : 0), ret,
                           ret_error);
}

/* The admin group is looked up once per configuration, not per client. */
static void resolve_admin_group(struct manager *m) {
        const char *group = m->config->daemon.admin_group;
        m->has_admin_gid = group && parse_gid(group, &m->admin_gid) == 0;
        if (group && !m->has_admin_gid)
                log_msg(LOG_WARNING, "AdminGroup=%s: no such group now; only root is an admin", group);
}

bool manager_admin_gid(const struct manager *m, gid_t *ret) {
        if (m->has_admin_gid)
                *ret = m->admin_gid;
        return m->has_admin_gid;
}

/* What the daemon counted, for the service's GetMetrics. */
void manager_counters(void *userdata, struct metrics_counters *ret) {
        const struct nsengine *n = userdata;
        const struct manager *m = n->manager;

        *ret = (struct metrics_counters) {
                .sweeps = m->stats.sweeps,
                .last_sweep = m->stats.last_sweep,
                .last_sweep_usec = m->stats.last_sweep_usec,
                .exit_events = m->stats.exit_events,
                .process_events = m->connector != NULL,
        };
        memcpy(ret->removed, m->stats.removed_by_type, sizeof(ret->removed));
        memcpy(ret->skipped, m->stats.skipped_by_type, sizeof(ret->skipped));
        memcpy(ret->failed, m->stats.failed_by_type, sizeof(ret->failed));
}

/* The daemon's other namespaces, in its metrics. */
int manager_more_metrics(void *userdata, json_object *families) {
        const struct manager *m = ((const struct nsengine *) userdata)->manager;

        for (size_t i = 0; i < m->n_others; i++) {
                int r = metrics_add_namespace(families, m->others[i]->engine, m->others[i]->ns->ino,
                                              m->others[i]->ns->name);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* After a sweep: the metrics into MetricsFile=, when set.  A failure is
 * logged once until it changes or the file is written again. */
static void write_metrics(struct manager *m) {
        const char *path = m->config->daemon.metrics_file;
        _cleanup_free_ char *text = NULL;
        int r;

        if (!path)
                return;
        r = service_metrics_text(&m->host.service, &text);
        if (r >= 0)
                r = metrics_write_file(path, text);
        if (r < 0 && r != m->metrics_error_said)
                log_msg(LOG_WARNING, "Failed to write MetricsFile=%s: %s", path,
                        r == -ELOOP ? "a symlink in its path (none is followed)" : strerror(-r));
        else if (r >= 0 && m->metrics_error_said)
                log_msg(LOG_INFO, "MetricsFile=%s written again", path);
        m->metrics_error_said = r < 0 ? r : 0;
}


static void log_history_error(const char *what) {
        char field[PATH_MAX + 256];
        const char *fields[] = { field };

        snprintf(field, sizeof(field), "IPCGC_ERROR=%s", what);
        log_event_fields(LOG_ERR, MESSAGE_ID_HISTORY, fields, ELEMENTSOF(fields), "%s", what);
}

/* The history is kept where the memory is, and, like it, by root only (a
 * daemon of another user has no StateDir= of its own): read once, at start. */
static int load_history(struct manager *m) {
        _cleanup_free_ char *warning = NULL;
        int r;

        if (geteuid() != 0 || !m->config->daemon.state_dir)
                return 0;
        m->history_dir = strdup(m->config->daemon.state_dir);
        if (!m->history_dir)
                return -ENOMEM;
        r = history_load(&m->history, m->history_dir, &warning);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot read the history: %s", strerror(-r));
                return r;
        }
        if (warning)
                log_history_error(warning);
        else
                log_msg(LOG_DEBUG, "history: %zu entries read from %s/" HISTORY_FILE_NAME, m->history.n,
                        m->history_dir);
        return 0;
}

static void save_history(struct manager *m) {
        int r;

        if (!m->history_dir)
                return;
        r = history_save(&m->history, m->history_dir);
        /* Said once per kind of failure, as the memory's: a full disk
         * would say it at every sweep. */
        if (r < 0 && r != m->history_error_said) {
                char error[PATH_MAX + 128];
                snprintf(error, sizeof(error), "cannot save the history in %s/" HISTORY_FILE_NAME ": %s",
                         m->history_dir, strerror(-r));
                log_history_error(error);
        }
        m->history_error_said = r < 0 ? r : 0;
}

int manager_load_config(struct manager *m) {
        _cleanup_free_ char *error = NULL;
        int r = load(m, &m->config, &error);
        if (r < 0) {
                log_event(LOG_ERR, MESSAGE_ID_CONFIG_ERROR, "%s", error ? error : strerror(-r));
                return r;
        }
        resolve_admin_group(m);
        /* Its own IPC namespace, by the inode other namespaces are told
         * from (ipcns.h); 0 when it cannot be read: then no ID names it. */
        struct stat st;
        if (stat("/proc/self/ns/ipc", &st) == 0)
                m->self_ino = (uint64_t) st.st_ino;
        m->self_ns = (struct ipcns) { .ino = m->self_ino, .self = true };
        m->paths.ns = m->config->daemon.all_namespaces && m->self_ino ? &m->self_ns : NULL;
        /* StateDir= is read here only: a reload keeps the memory it has. */
        r = nsengine_init_host(&m->host, m, m->config);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot start the engine: %s", strerror(-r));
                return r;
        }
        _cleanup_free_ char *warning = engine_take_warning(m->host.engine);
        if (warning)
                log_msg(LOG_WARNING, "%s", warning);
        return load_history(m);
}

/* Says once what a judgement could not see, and when the state file could
 * not be written (once per kind of failure); each collection warning at
 * the first sweep, and at debug level after: a daemon judging every minute
 * would say them every minute. */
static void log_judgement(struct nsengine *n) {
        struct manager *m = n->manager;
        const struct sight *sight = engine_sight(n->engine);
        int save_error = engine_save_error(n->engine);
        const struct inventory *inv = engine_last(n->engine).inv;
        char where[IPCNS_NAME_MAX + 64] = "";

        if (n->ns)
                snprintf(where, sizeof(where), "IPC namespace %" PRIu64 "%s%s: ", n->ns->ino, n->ns->name ? " " : "",
                         n->ns->name ? n->ns->name : "");
        if (sight->partial && !n->sight_said)
                log_msg(LOG_WARNING, "%sno object without visible life is judged dead: %s", where, sight->reason);
        else if (!sight->partial && n->sight_said)
                log_msg(LOG_INFO, "%severy process that could hold the objects is in sight again", where);
        n->sight_said = sight->partial;
        if (save_error && save_error != n->save_error_said)
                log_msg(LOG_WARNING,
                        "%scannot save the memory of life in %s, judging without it after a restart: %s", where,
                        n->service.config->daemon.state_dir, strerror(-save_error));
        n->save_error_said = save_error;
        for (size_t i = 0; inv && i < inv->n_warnings; i++)
                log_msg(m->stats.sweeps == 0 ? LOG_WARNING : LOG_DEBUG, "%s%s", where, inv->warnings[i]);
}

bool manager_dry_run(const struct manager *m) {
        return m->force_dry_run || m->config->daemon.dry_run;
}

static int arm_timer(struct manager *m) {
        uint64_t usec = m->config->daemon.interval * 1000000u;
        if (!m->timer)
                return sd_event_add_time_relative(m->event, &m->timer, CLOCK_MONOTONIC, usec, 0, NULL, m);
        int r = sd_event_source_set_time_relative(m->timer, usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
        return r;
}

int manager_reload(struct manager *m, char **ret_error) {
        struct config *c = NULL;
        char *error = NULL;
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long) now_usec(CLOCK_MONOTONIC));
        r = load(m, &c, &error);
        if (r < 0) {
                log_event(LOG_ERR, MESSAGE_ID_CONFIG_ERROR, "reload refused, keeping the running configuration: %s",
                          error ? error : strerror(-r));
                if (ret_error)
                        *ret_error = error;
                else
                        free(error);
                (void) sd_notify(false, "READY=1");
                manager_notify_status(m);
                return r;
        }
        /* Rules change verdicts: what was judged under the old ones is stale.
         * The judgements point into the old rules, so they go with them. */
        config_free(m->config); /* nothing judged under it is kept past the next lines */
        m->config = c;
        m->paths.ns = c->daemon.all_namespaces && m->self_ino ? &m->self_ns : NULL;
        if (!c->daemon.all_namespaces) {
                /* Namespaces=host now: the others are no longer judged. */
                for (size_t i = 0; i < m->n_others; i++)
                        nsengine_retire(m->others[i]);
                m->n_others = 0;
        }
        (void) nsengine_set_config(&m->host, c);
        for (size_t i = 0; i < m->n_others; i++)
                (void) nsengine_set_config(m->others[i], c);
        resolve_admin_group(m);
        (void) arm_timer(m);
        log_event(LOG_INFO, MESSAGE_ID_RELOAD, "configuration reloaded from %s: %zu rules, interval %llus%s",
                  m->config_path, c->n_rules, (unsigned long long) c->daemon.interval,
                  manager_dry_run(m) ? ", dry run" : "");
        (void) sd_notify(false, "READY=1");
        manager_notify_status(m);
        return 0;
}

static const char *trigger_name(enum sweep_trigger t) {
        switch (t) {
        case TRIGGER_START:
                return "start";
        case TRIGGER_TIMER:
                return "timer";
        case TRIGGER_EXIT:
                return "process exit";
        case TRIGGER_REQUEST:
                return "request";
        case TRIGGER_ONCE:
                return "once";
        }
        return "?";
}

/* Whether a dry run's would-remove of REC is news: its object not said
 * before with the verdict it has now (said.h). */
static bool would_remove_news(struct nsengine *n, const struct reap_record *rec) {
        struct engine_last last = engine_last(n->engine);

        if (!last.inv || rec->index >= last.inv->n_objects || last.inv->objects[rec->index].type != rec->type)
                return true;
        bool news = said_first(&n->said, memory_key(&last.inv->objects[rec->index]),
                               last.judgements[rec->index].verdict);
        if (n->said.full && !n->said_full_said)
                log_msg(LOG_WARNING, "dry run: more than %u objects would be removed; the others are said at every sweep",
                        SAID_MAX);
        n->said_full_said = n->said.full;
        return news;
}

/* Logs each record, counts it and keeps it in the history; ONCE: a dry
 * run's would-removes only when news (a sweep's; what an admin asked to
 * remove is always said).  Returns how many of a dry run's records were
 * said. */
static size_t log_records(struct nsengine *n, const struct reap_result *res, bool once) {
        struct manager *m = n->manager;
        time_t now = time(NULL);
        size_t kept = 0, said = 0;
        bool dry_stopped = false;

        for (size_t i = 0; i < res->n_records; i++) {
                const struct reap_record *rec = &res->records[i];
                const char *id;
                int prio;

                switch (rec->action) {
                case REAP_REMOVED:
                        id = rec->archive ? MESSAGE_ID_REMOVED : MESSAGE_ID_REMOVED_UNARCHIVED;
                        prio = LOG_NOTICE;
                        m->stats.removed_total++;
                        m->stats.removed_by_type[rec->type]++;
                        break;
                case REAP_WOULD_REMOVE:
                        id = MESSAGE_ID_WOULD_REMOVE;
                        prio = LOG_INFO;
                        break;
                case REAP_SKIPPED:
                        id = MESSAGE_ID_SKIPPED;
                        prio = LOG_INFO;
                        m->stats.skipped_total++;
                        m->stats.skipped_by_type[rec->type]++;
                        break;
                case REAP_FAILED:
                        id = MESSAGE_ID_FAILED;
                        prio = LOG_ERR;
                        m->stats.failed_total++;
                        m->stats.failed_by_type[rec->type]++;
                        break;
                default:
                        id = MESSAGE_ID_STOPPED;
                        prio = LOG_WARNING;
                        break;
                }
                if (rec->action == REAP_WOULD_REMOVE) {
                        if (once && !would_remove_news(n, rec))
                                continue;
                        said++;
                } else if (rec->action == REAP_STOPPED && once && res->would_remove) {
                        /* A dry run stopped at MaxRemovalsPerSweep= stops
                         * so at every sweep: said (and kept) once, until a
                         * sweep does not stop. */
                        dry_stopped = true;
                        if (n->dry_stop_said)
                                continue;
                        said++;
                }
                /* Another namespace's object is named as explain and rm
                 * take it back, in the log and in the history. */
                struct reap_record shown = *rec;
                _cleanup_free_ char *full = NULL;
                if (n->ns && rec->id) {
                        if (asprintf(&full, "ipc:%" PRIu64 "/%s", n->ns->ino, rec->id) < 0)
                                full = NULL;
                        else
                                shown.id = full;
                }
                log_record(prio, id, &shown, nsengine_ino(n), nsengine_container(n));
                if (rec->action != REAP_WOULD_REMOVE && history_add(&m->history, now, &shown) >= 0)
                        kept++;
        }
        said_seal(&n->said);
        if (once)
                n->dry_stop_said = dry_stopped;
        if (kept)
                save_history(m);
        return said;
}

/* The summary of a sweep, its counts as fields (IPCGC_OBJECTS=,
 * IPCGC_REMOVED=, IPCGC_LIVE=, ... IPCGC_DURATION_USEC=): logged when it
 * removed, failed or stopped, or, in a dry run, said something new;
 * otherwise with --debug. */
static void log_summary(struct nsengine *n, enum sweep_trigger trigger, const struct reap_result *res, size_t said,
                        uint64_t usec) {
        struct manager *m = n->manager;
        char f[11 + _VERDICT_MAX][64 + IPCNS_NAME_MAX];
        const char *fields[ELEMENTSOF(f)];
        size_t n_objects = 0, k = 0;

        /* What the sweep judged, before its removals (the engine forgets
         * the objects removed). */
        for (int v = 0; v < _VERDICT_MAX; v++)
                n_objects += res->judged[v];

        char where[IPCNS_NAME_MAX + 64] = "";
        if (n->ns)
                snprintf(where, sizeof(where), " of IPC namespace %" PRIu64 "%s%s", n->ns->ino,
                         n->ns->name ? " " : "", n->ns->name ? n->ns->name : "");
        if (!res->removed && !res->failed && !(res->stopped && !res->would_remove) && !said) {
                log_msg(LOG_DEBUG, "sweep%s (%s): %zu objects, nothing to do", where, trigger_name(trigger), n_objects);
                return;
        }
        snprintf(f[k++], sizeof(f[0]), "IPCGC_TRIGGER=%s", trigger_name(trigger));
        snprintf(f[k++], sizeof(f[0]), "IPCGC_OBJECTS=%zu", n_objects);
        if (n->ns) {
                snprintf(f[k++], sizeof(f[0]), "IPCGC_IPCNS=%" PRIu64, n->ns->ino);
                snprintf(f[k++], sizeof(f[0]), "IPCGC_CONTAINER=%s", n->ns->name ? n->ns->name : "");
        }
        snprintf(f[k++], sizeof(f[0]), "IPCGC_REMOVED=%u", res->removed);
        snprintf(f[k++], sizeof(f[0]), "IPCGC_WOULD_REMOVE=%u", res->would_remove);
        snprintf(f[k++], sizeof(f[0]), "IPCGC_SKIPPED=%u", res->skipped);
        snprintf(f[k++], sizeof(f[0]), "IPCGC_FAILED=%u", res->failed);
        snprintf(f[k++], sizeof(f[0]), "IPCGC_NOT_TRIED=%zu", res->not_tried);
        snprintf(f[k++], sizeof(f[0]), "IPCGC_DRY_RUN=%s", manager_dry_run(m) ? "yes" : "no");
        snprintf(f[k++], sizeof(f[0]), "IPCGC_DURATION_USEC=%llu", (unsigned long long) usec);
        for (int v = 0; v < _VERDICT_MAX; v++) {
                /* IPCGC_LIVE=, IPCGC_ORPHAN=, ... as the verdicts are named. */
                int len = snprintf(f[k], sizeof(f[0]), "IPCGC_%s=%zu", verdict_to_string(v), res->judged[v]);
                for (int c = 0; c < len && f[k][c] != '='; c++)
                        f[k][c] = (char) toupper((unsigned char) f[k][c]);
                k++;
        }
        for (size_t i = 0; i < k; i++)
                fields[i] = f[i];
        char dry[64] = "";
        if (res->would_remove)
                snprintf(dry, sizeof(dry), ", %u would be removed (dry run)", res->would_remove);
        log_event_fields(LOG_INFO, MESSAGE_ID_SWEEP, fields, k,
                         "sweep%s (%s): %zu objects, %u removed, %u skipped, %u failed%s%s", where, trigger_name(trigger),
                         n_objects,
                         res->removed, res->skipped, res->failed, dry,
                         res->stopped ? ", stopped at MaxRemovalsPerSweep" : "");
}

/* One namespace's sweep done, whoever asked: its records said (a dry run
 * asked for over the socket, QUIET, logs nothing and keeps nothing: anyone
 * may ask for one, and it must not flood the journal or push real actions
 * out of the history). */
static void swept_one(struct nsengine *n, enum sweep_trigger trigger, const struct reap_result *res, bool quiet,
                      uint64_t usec) {
        struct engine_last last = engine_last(n->engine);
        size_t said = 0;

        log_judgement(n);
        /* What was said of an object judged otherwise since is said again. */
        said_forget_changed(&n->said, last.inv, last.judgements);
        if (!quiet)
                said = log_records(n, res, true);
        log_summary(n, trigger, res, said, usec);
}

/* A sweep done (of every namespace it was about): counted, and the status
 * told. */
static void swept(struct manager *m, uint64_t usec) {
        m->stats.sweeps++;
        m->stats.last_sweep = time(NULL);
        m->stats.last_sweep_usec = usec;
        manager_notify_status(m);
        write_metrics(m);
        /* A sweep frees as much as it allocates; hand it back, so a daemon
         * that is mostly idle does not sit on its peak. */
        (void) malloc_trim(0);
}

static int cmp_nsengine(const void *a, const void *b) {
        uint64_t x = (*(struct nsengine *const *) a)->ns->ino, y = (*(struct nsengine *const *) b)->ns->ino;
        return x < y ? -1 : x > y;
}

struct nsengine *manager_find_ns(struct manager *m, uint64_t ino) {
        struct ipcns key = { .ino = ino };
        struct nsengine k = { .ns = &key }, *kp = &k, **found;

        if (ino == 0)
                return NULL; /* no namespace's inode (nor the daemon's, unread) */
        if (ino == m->self_ino)
                return &m->host;
        found = m->n_others ? bsearch(&kp, m->others, m->n_others, sizeof(*m->others), cmp_nsengine) : NULL;
        return found ? *found : NULL;
}

/* The IPC namespaces of the host now: an engine for each new one, the
 * members of each known one brought up to date, the engines of those gone
 * freed, and their memories forgotten once every namespace was found. */
static int find_namespaces(struct manager *m) {
        _cleanup_(ipcns_list_freep) struct ipcns_list *l = NULL;
        struct nsengine **others;
        size_t n = 0;
        int r;

        m->ns_found_usec = now_usec(CLOCK_MONOTONIC);
        r = ipcns_discover(m->paths.proc, 0, 0, &l);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot list the IPC namespaces: %s; judging the daemon's own only", strerror(-r));
                return r;
        }
        if (l->cut && !m->ns_cut_said)
                log_msg(LOG_WARNING, "more than %u IPC namespaces: the rest are not judged", IPCNS_MAX_DEFAULT);
        m->ns_cut_said = l->cut;
        others = calloc(l->n ? l->n : 1, sizeof(*others));
        if (!others)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_others; i++)
                m->others[i]->found = false;
        for (size_t i = 0; i < l->n; i++) {
                const struct ipcns *ns = &l->ns[i];
                if (ns->self) {
                        m->self_ino = ns->ino;
                        continue;
                }
                struct nsengine *e = manager_find_ns(m, ns->ino);
                r = e ? nsengine_update(e, ns) : nsengine_new(m, ns, m->config, &e);
                if (r < 0)
                        log_msg(LOG_ERR, "cannot judge IPC namespace %" PRIu64 " as found now: %s", ns->ino,
                                strerror(-r));
                if (e)
                        others[n++] = e; /* sorted by inode, as found; kept as it was if not updated */
        }
        for (size_t i = 0; i < m->n_others; i++)
                if (!m->others[i]->found)
                        nsengine_retire(m->others[i]);
        free(m->others);
        m->others = others;
        m->n_others = n;
        if (geteuid() == 0 && m->config->daemon.state_dir && !l->cut && !l->n_unreadable) {
                _cleanup_free_ uint64_t *inos = calloc(l->n ? l->n : 1, sizeof(*inos));
                for (size_t i = 0; inos && i < l->n; i++)
                        inos[i] = l->ns[i].ino;
                r = inos ? memory_forget_namespaces(m->config->daemon.state_dir, inos, l->n) : -ENOMEM;
                if (r < 0)
                        log_msg(LOG_DEBUG, "could not forget the memory of an IPC namespace gone: %s", strerror(-r));
        }
        return 0;
}

void manager_refresh_namespaces(struct manager *m, bool admin) {
        if (m->config->daemon.all_namespaces &&
            (admin || now_usec(CLOCK_MONOTONIC) - m->ns_found_usec >= SERVICE_FRESH_USEC))
                (void) find_namespaces(m);
}

struct nsengine *manager_find_ns_now(struct manager *m, uint64_t ino, bool admin) {
        struct nsengine *n = manager_find_ns(m, ino);
        if (!n) {
                manager_refresh_namespaces(m, admin);
                n = manager_find_ns(m, ino);
        }
        return n;
}

/* Judges and sweeps N's namespace; *LEFT: what MaxRemovalsPerSweep= still
 * allows this sweep, over every namespace.  JUDGED: 1, judged already for
 * this sweep; a negative errno, that judgement's failure; 0, judged here. */
static int sweep_one(struct nsengine *n, enum sweep_trigger trigger, unsigned *left, int judged) {
        _cleanup_(reap_result_freep) struct reap_result *res = NULL;
        struct manager *m = n->manager;
        struct engine_request req = { .dry_run = manager_dry_run(m), .caller = geteuid(), .max_removals = *left };
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        int r;

        r = judged == 0 ? engine_judge(n->engine, ENGINE_QUICK) : judged < 0 ? judged : 0;
        if (r == -ESRCH && n->ns) {
                /* Its last member left since it was found: gone, no error. */
                log_msg(LOG_DEBUG, "IPC namespace %" PRIu64 " is gone: skipped", n->ns->ino);
                n->found = false;
                return 0;
        }
        if (r < 0) {
                log_msg(LOG_ERR, "sweep%s failed to judge objects: %s", n->ns ? " of an IPC namespace" : "",
                        strerror(-r));
                return r;
        }
        r = engine_reap(n->engine, &req, &res);
        if (r == -ESRCH && n->ns) {
                log_msg(LOG_DEBUG, "IPC namespace %" PRIu64 " is gone: skipped", n->ns->ino);
                return 0;
        }
        if (r < 0) {
                log_msg(LOG_ERR, "sweep%s failed: %s", n->ns ? " of an IPC namespace" : "", strerror(-r));
                return r;
        }
        swept_one(n, trigger, res, false, now_usec(CLOCK_MONOTONIC) - t0);
        unsigned used = res->removed + res->would_remove;
        *left = used < *left ? *left - used : 0;
        return 0;
}

/* Sweeps the other namespaces (only those prompted, with PROMPTED), from
 * where the last sweep that ran out of MaxRemovalsPerSweep= stopped, while
 * LEFT allows.  Returns the first failure; *RET_N: how many were swept. */
static int sweep_others(struct manager *m, enum sweep_trigger trigger, bool prompted, unsigned *left,
                        size_t *ret_n) {
        _cleanup_free_ struct nsengine **todo = calloc(m->n_others ? m->n_others : 1, sizeof(*todo));
        _cleanup_free_ struct engine **engines = calloc(m->n_others ? m->n_others : 1, sizeof(*engines));
        _cleanup_free_ int *judged = calloc(m->n_others ? m->n_others : 1, sizeof(*judged));
        size_t start = 0, not_swept = 0, n = 0, k;
        bool limited = m->config->daemon.max_removals > 0; /* 0: nothing is removed, and nothing runs out */
        int r = 0;

        if (!todo || !engines || !judged)
                return -ENOMEM;
        while (start < m->n_others && m->others[start]->ns->ino < m->ns_next_ino)
                start++;
        for (k = 0; k < m->n_others; k++) {
                struct nsengine *e = m->others[(start + k) % m->n_others];
                if (prompted && !e->prompted)
                        continue;
                e->prompted = false;
                engines[n] = e->engine;
                todo[n++] = e;
        }
        /* Judged together, with one walk of /proc for all of them. */
        (void) engine_judge_many(engines, n, ENGINE_QUICK, judged);
        for (k = 0; k < n; k++) {
                struct nsengine *e = todo[k];
                if (limited && *left == 0) {
                        if (not_swept++ == 0)
                                m->ns_next_ino = e->ns->ino;
                        continue;
                }
                /* A sweep of many namespaces is long: systemd's watchdog
                 * is told between them that the daemon is at work. */
                (void) sd_notify(false, "WATCHDOG=1");
                int q = sweep_one(e, trigger, left, judged[k] < 0 ? judged[k] : 1);
                if (q < 0 && r >= 0)
                        r = q;
        }
        if (not_swept && !m->ns_stop_said)
                log_msg(LOG_WARNING,
                        "sweep stopped at MaxRemovalsPerSweep=%u: %zu IPC namespaces wait for the next sweep (said "
                        "once)",
                        m->config->daemon.max_removals, not_swept);
        m->ns_stop_said = not_swept > 0;
        if (!not_swept)
                m->ns_next_ino = 0;
        *ret_n = n - not_swept;
        return r;
}

int manager_sweep(struct manager *m, enum sweep_trigger trigger) {
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        unsigned left = m->config->daemon.max_removals;
        size_t n;
        int r;

        r = sweep_one(&m->host, trigger, &left, 0);
        if (m->config->daemon.all_namespaces && find_namespaces(m) >= 0) {
                int k = sweep_others(m, trigger, false, &left, &n);
                if (k < 0 && r >= 0)
                        r = k;
        }
        swept(m, now_usec(CLOCK_MONOTONIC) - t0);
        return r;
}

/* The service's word of what an admin asked for over the socket. */
void manager_acted(void *userdata, enum service_act act, const struct reap_result *res, uint64_t usec) {
        struct nsengine *n = userdata;

        if (act == SERVICE_REMOVE) {
                log_judgement(n);
                (void) log_records(n, res, false);
                manager_notify_status(n->manager);
        } else {
                swept_one(n, TRIGGER_REQUEST, res, act == SERVICE_DRY_RUN, usec);
                swept(n->manager, usec);
        }
}

void manager_notify_status(struct manager *m) {
        size_t counts[_VERDICT_MAX] = {}, n = 0;

        for (size_t k = 0; k <= m->n_others; k++) {
                struct engine_last last = engine_last(k == 0 ? m->host.engine : m->others[k - 1]->engine);
                for (size_t i = 0; last.inv && i < last.inv->n_objects; i++)
                        counts[last.judgements[i].verdict]++;
                n += last.inv ? last.inv->n_objects : 0;
        }
        (void) sd_notifyf(false,
                          "STATUS=%zu objects: %zu live, %zu orphan, %zu pending, %zu unknown; %llu removed since "
                          "start%s",
                          n, counts[VERDICT_LIVE], counts[VERDICT_ORPHAN],
                          counts[VERDICT_PENDING], counts[VERDICT_UNKNOWN],
                          (unsigned long long) m->stats.removed_total, manager_dry_run(m) ? " (dry run)" : "");
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        (void) manager_sweep(m, TRIGGER_TIMER);
        (void) arm_timer(m);
        return 0;
}

static int on_prompt(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        unsigned left = m->config->daemon.max_removals;
        size_t swept_n = 0;

        /* Each namespace whose verdicts an exit may change is swept, and
         * only those: an exit in one container is no news in another.
         * Asked with the members as they were (the exited are members no
         * more once found again); then a container started since the last
         * sweep is found, and judged. */
        for (size_t k = 0; k < m->n_others; k++)
                m->others[k]->prompted =
                        engine_exits_matter(m->others[k]->engine, m->exited, m->n_exited, m->exits_lost);
        if (engine_exits_matter(m->host.engine, m->exited, m->n_exited, m->exits_lost)) {
                swept_n++;
                (void) sweep_one(&m->host, TRIGGER_EXIT, &left, 0);
        }
        if (m->config->daemon.all_namespaces) {
                size_t n = 0;
                (void) find_namespaces(m);
                (void) sweep_others(m, TRIGGER_EXIT, true, &left, &n);
                swept_n += n;
        }
        m->n_exited = 0;
        m->exits_lost = false;
        if (swept_n) {
                m->last_prompt_usec = now_usec(CLOCK_MONOTONIC);
                m->stats.prompt_sweeps++;
                swept(m, m->last_prompt_usec - t0);
        }
        return 0;
}

static void on_exit_event(pid_t pid, void *userdata) {
        struct manager *m = userdata;

        m->stats.exit_events++;
        if (!m->exited)
                m->exited = calloc(MAX_PENDING_EXITS, sizeof(pid_t));
        if (pid == 0 || !m->exited || m->n_exited >= MAX_PENDING_EXITS)
                m->exits_lost = true; /* look at everything */
        else
                m->exited[m->n_exited++] = pid;
        if (sd_event_source_get_enabled(m->prompt, NULL) > 0)
                return; /* a look is already due */
        uint64_t now = now_usec(CLOCK_MONOTONIC), at = now + PROMPT_DELAY_USEC;
        if (m->last_prompt_usec && at < m->last_prompt_usec + PROMPT_MIN_GAP_USEC)
                at = m->last_prompt_usec + PROMPT_MIN_GAP_USEC;
        (void) sd_event_source_set_time(m->prompt, at);
        (void) sd_event_source_set_enabled(m->prompt, SD_EVENT_ONESHOT);
}

/* A watched evidence process exited: news, as from the connector. */
int manager_on_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct nsengine *ns = userdata;
        pid_t pids[256];
        size_t n = engine_watch_exited(ns->engine, pids, ELEMENTSOF(pids));

        for (size_t i = 0; i < n; i++)
                on_exit_event(pids[i], ns->manager);
        return 0;
}

static int arm_clock(int fd) {
        /* Never expires; only a change of the wall clock wakes it. */
        struct itimerspec its = { .it_value = { .tv_sec = (time_t) INT32_MAX } };
        return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0 ? -errno : 0;
}

/* The wall clock was set: times recorded before and start times computed
 * after are on two scales now.  What the last judgement concluded from
 * comparing them goes; the next one is full, and the engine, seeing the
 * clocks' offset moved, judges reuse and grace conservatively (learn.h). */
static int on_clock(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct manager *m = userdata;
        uint64_t n;

        if (read(fd, &n, sizeof(n)) < 0 && errno == ECANCELED) {
                log_msg(LOG_NOTICE, "the wall clock was set; the next sweep judges every object afresh");
                engine_invalidate(m->host.engine);
                for (size_t i = 0; i < m->n_others; i++)
                        engine_invalidate(m->others[i]->engine);
        }
        (void) arm_clock(fd);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) manager_reload(userdata, NULL);
        return 0;
}

int manager_start(struct manager *m) {
        int r;

        r = sd_event_add_signal(m->event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, on_sighup, m);
        if (r < 0)
                return r;
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return r;

        r = sd_event_add_time_relative(m->event, &m->timer, CLOCK_MONOTONIC, m->config->daemon.interval * 1000000u,
                                       0, on_timer, m);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, &m->prompt, CLOCK_MONOTONIC, PROMPT_DELAY_USEC, 0, on_prompt, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(m->prompt, SD_EVENT_OFF);

        if (m->no_process_events || !m->config->daemon.process_events)
                log_msg(LOG_INFO, "process events disabled; sweeping every %llus",
                        (unsigned long long) m->config->daemon.interval);
        else {
                r = connector_new(m->event, on_exit_event, m, &m->connector);
                if (r < 0)
                        log_msg(LOG_WARNING, "process connector unavailable (%s); relying on the %llus timer",
                                r == -EOPNOTSUPP ? "not in the initial PID namespace" : strerror(-r),
                                (unsigned long long) m->config->daemon.interval);
        }

        /* One pidfd per live evidence process: make room for them. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        /* Without the connector (inside a PID namespace, or turned off), the
         * evidence's pidfds tell of its exits; with it, they would tell twice. */
        m->watch_others = !m->connector;
        if (!m->connector) {
                r = nsengine_watch(&m->host);
                if (r < 0)
                        return r;
        }
        int cfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
        if (cfd >= 0 && arm_clock(cfd) == 0 &&
            sd_event_add_io(m->event, &m->clock_source, cfd, EPOLLIN, on_clock, m) >= 0)
                (void) sd_event_source_set_io_fd_own(m->clock_source, true);
        else if (cfd >= 0)
                (void) close(cfd);
        (void) manager_sweep(m, TRIGGER_START);
        (void) sd_notify(false, "READY=1");
        log_msg(LOG_INFO, "ready: %zu rules, interval %llus, socket %s%s", m->config->n_rules,
                (unsigned long long) m->config->daemon.interval, m->config->daemon.socket,
                manager_dry_run(m) ? ", dry run" : "");
        return 0;
}
