/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
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
        sd_event_source_disable_unref(m->watch_source);
        engine_free(m->engine); /* saves what the confirmations saw since */
        history_clear(&m->history);
        free(m->history_dir);
        said_clear(&m->said);
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

static void acted(void *userdata, enum service_act act, const struct reap_result *res, uint64_t usec);

/* What the daemon counted, for the service's GetMetrics. */
static void metrics_counters(void *userdata, struct metrics_counters *ret) {
        const struct manager *m = userdata;

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

/* After a sweep: the metrics into MetricsFile=, when set.  A failure is
 * logged once until it changes or the file is written again. */
static void write_metrics(struct manager *m) {
        const char *path = m->config->daemon.metrics_file;
        _cleanup_free_ char *text = NULL;
        int r;

        if (!path)
                return;
        r = service_metrics_text(&m->service, &text);
        if (r >= 0)
                r = metrics_write_file(path, text);
        if (r < 0 && r != m->metrics_error_said)
                log_msg(LOG_WARNING, "Failed to write MetricsFile=%s: %s", path,
                        r == -ELOOP ? "a symlink in its path (none is followed)" : strerror(-r));
        else if (r >= 0 && m->metrics_error_said)
                log_msg(LOG_INFO, "MetricsFile=%s written again", path);
        m->metrics_error_said = r < 0 ? r : 0;
}


/* How the engine answers the socket: what the configuration says now. */
static void set_service(struct manager *m) {
        m->service = (struct service) {
                .engine = m->engine,
                .config = m->config,
                .proc_root = m->paths.proc ? m->paths.proc : "/proc",
                .sysvipc = m->paths.sysvipc,
                .quick = true,
                .dry_run = manager_dry_run(m),
                .acted = acted,
                .counters = metrics_counters,
                .userdata = m,
        };
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
        /* StateDir= is read here only: a reload keeps the memory it has. */
        r = engine_new(m->config, &m->paths, (geteuid() == 0 ? ENGINE_SAVE : 0) | ENGINE_INCREMENTAL, &m->engine);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot start the engine: %s", strerror(-r));
                return r;
        }
        _cleanup_free_ char *warning = engine_take_warning(m->engine);
        if (warning)
                log_msg(LOG_WARNING, "%s", warning);
        r = load_history(m);
        if (r < 0)
                return r;
        set_service(m);
        return 0;
}

/* Says once what a judgement could not see, and when the state file could
 * not be written (once per kind of failure); each collection warning at
 * the first sweep, and at debug level after: a daemon judging every minute
 * would say them every minute. */
static void log_judgement(struct manager *m) {
        const struct sight *sight = engine_sight(m->engine);
        int save_error = engine_save_error(m->engine);
        const struct inventory *inv = engine_last(m->engine).inv;

        if (sight->partial && !m->sight_said)
                log_msg(LOG_WARNING, "no object without visible life is judged dead: %s", sight->reason);
        else if (!sight->partial && m->sight_said)
                log_msg(LOG_INFO, "every process that could hold the objects is in sight again");
        m->sight_said = sight->partial;
        if (save_error && save_error != m->save_error_said)
                log_msg(LOG_WARNING, "cannot save the memory of life in %s, judging without it after a restart: %s",
                        m->config->daemon.state_dir, strerror(-save_error));
        m->save_error_said = save_error;
        for (size_t i = 0; inv && i < inv->n_warnings; i++)
                log_msg(m->stats.sweeps == 0 ? LOG_WARNING : LOG_DEBUG, "%s", inv->warnings[i]);
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
        engine_set_config(m->engine, c);
        config_free(m->config);
        m->config = c;
        resolve_admin_group(m);
        set_service(m);
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
static bool would_remove_news(struct manager *m, const struct reap_record *rec) {
        struct engine_last last = engine_last(m->engine);

        if (!last.inv || rec->index >= last.inv->n_objects || last.inv->objects[rec->index].type != rec->type)
                return true;
        bool news = said_first(&m->said, memory_key(&last.inv->objects[rec->index]),
                               last.judgements[rec->index].verdict);
        if (m->said.full && !m->said_full_said)
                log_msg(LOG_WARNING, "dry run: more than %u objects would be removed; the others are said at every sweep",
                        SAID_MAX);
        m->said_full_said = m->said.full;
        return news;
}

/* Logs each record, counts it and keeps it in the history; ONCE: a dry
 * run's would-removes only when news (a sweep's; what an admin asked to
 * remove is always said).  Returns how many of a dry run's records were
 * said. */
static size_t log_records(struct manager *m, const struct reap_result *res, bool once) {
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
                        if (once && !would_remove_news(m, rec))
                                continue;
                        said++;
                } else if (rec->action == REAP_STOPPED && once && res->would_remove) {
                        /* A dry run stopped at MaxRemovalsPerSweep= stops
                         * so at every sweep: said (and kept) once, until a
                         * sweep does not stop. */
                        dry_stopped = true;
                        if (m->dry_stop_said)
                                continue;
                        said++;
                }
                log_record(prio, id, rec);
                if (rec->action != REAP_WOULD_REMOVE && history_add(&m->history, now, rec) >= 0)
                        kept++;
        }
        said_seal(&m->said);
        if (once)
                m->dry_stop_said = dry_stopped;
        if (kept)
                save_history(m);
        return said;
}

/* The summary of a sweep, its counts as fields (IPCGC_OBJECTS=,
 * IPCGC_REMOVED=, IPCGC_LIVE=, ... IPCGC_DURATION_USEC=): logged when it
 * removed, failed or stopped, or, in a dry run, said something new;
 * otherwise with --debug. */
static void log_summary(struct manager *m, enum sweep_trigger trigger, const struct reap_result *res, size_t said,
                        uint64_t usec) {
        char f[9 + _VERDICT_MAX][64];
        const char *fields[ELEMENTSOF(f)];
        size_t n = 0, k = 0;

        /* What the sweep judged, before its removals (the engine forgets
         * the objects removed). */
        for (int v = 0; v < _VERDICT_MAX; v++)
                n += res->judged[v];

        if (!res->removed && !res->failed && !(res->stopped && !res->would_remove) && !said) {
                log_msg(LOG_DEBUG, "sweep (%s): %zu objects, nothing to do", trigger_name(trigger), n);
                return;
        }
        snprintf(f[k++], sizeof(f[0]), "IPCGC_TRIGGER=%s", trigger_name(trigger));
        snprintf(f[k++], sizeof(f[0]), "IPCGC_OBJECTS=%zu", n);
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
                         "sweep (%s): %zu objects, %u removed, %u skipped, %u failed%s%s", trigger_name(trigger), n,
                         res->removed, res->skipped, res->failed, dry,
                         res->stopped ? ", stopped at MaxRemovalsPerSweep" : "");
}

/* A sweep done, whoever asked: its records said (a dry run asked for over
 * the socket, QUIET, logs nothing and keeps nothing: anyone may ask for
 * one, and it must not flood the journal or push real actions out of the
 * history), counted, and the status told. */
static void swept(struct manager *m, enum sweep_trigger trigger, const struct reap_result *res, bool quiet,
                  uint64_t usec) {
        struct engine_last last = engine_last(m->engine);
        size_t said = 0;

        log_judgement(m);
        /* What was said of an object judged otherwise since is said again. */
        said_forget_changed(&m->said, last.inv, last.judgements);
        if (!quiet)
                said = log_records(m, res, true);
        m->stats.sweeps++;
        m->stats.last_sweep = time(NULL);
        m->stats.last_sweep_usec = usec;
        log_summary(m, trigger, res, said, usec);
        manager_notify_status(m);
        write_metrics(m);
        /* A sweep frees as much as it allocates; hand it back, so a daemon
         * that is mostly idle does not sit on its peak. */
        (void) malloc_trim(0);
}

int manager_sweep(struct manager *m, enum sweep_trigger trigger) {
        _cleanup_(reap_result_freep) struct reap_result *res = NULL;
        struct engine_request req = { .dry_run = manager_dry_run(m), .caller = geteuid() };
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        int r;

        r = engine_judge(m->engine, ENGINE_QUICK);
        if (r < 0) {
                log_msg(LOG_ERR, "sweep failed to judge objects: %s", strerror(-r));
                return r;
        }
        r = engine_reap(m->engine, &req, &res);
        if (r < 0) {
                log_msg(LOG_ERR, "sweep failed: %s", strerror(-r));
                return r;
        }
        swept(m, trigger, res, false, now_usec(CLOCK_MONOTONIC) - t0);
        return 0;
}

/* The service's word of what an admin asked for over the socket. */
static void acted(void *userdata, enum service_act act, const struct reap_result *res, uint64_t usec) {
        struct manager *m = userdata;

        if (act == SERVICE_REMOVE) {
                log_judgement(m);
                (void) log_records(m, res, false);
                manager_notify_status(m);
        } else
                swept(m, TRIGGER_REQUEST, res, act == SERVICE_DRY_RUN, usec);
}

void manager_notify_status(struct manager *m) {
        size_t counts[_VERDICT_MAX] = {};
        struct engine_last last = engine_last(m->engine);

        for (size_t i = 0; last.inv && i < last.inv->n_objects; i++)
                counts[last.judgements[i].verdict]++;
        (void) sd_notifyf(false,
                          "STATUS=%zu objects: %zu live, %zu orphan, %zu pending, %zu unknown; %llu removed since "
                          "start%s",
                          last.inv ? last.inv->n_objects : 0, counts[VERDICT_LIVE], counts[VERDICT_ORPHAN],
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
        bool sweep = engine_exits_matter(m->engine, m->exited, m->n_exited, m->exits_lost);

        m->n_exited = 0;
        m->exits_lost = false;
        if (sweep) {
                m->last_prompt_usec = now_usec(CLOCK_MONOTONIC);
                m->stats.prompt_sweeps++;
                (void) manager_sweep(m, TRIGGER_EXIT);
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
static int on_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct manager *m = userdata;
        pid_t pids[256];
        size_t n = engine_watch_exited(m->engine, pids, ELEMENTSOF(pids));

        for (size_t i = 0; i < n; i++)
                on_exit_event(pids[i], m);
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
                engine_invalidate(m->engine);
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
        if (!m->connector && engine_watch_fd(m->engine) >= 0) {
                r = sd_event_add_io(m->event, &m->watch_source, engine_watch_fd(m->engine), EPOLLIN, on_watch, m);
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
