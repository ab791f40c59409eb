/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "api.h"
#include "control.h"
#include "log.h"
#include "manager.h"

#define DEFAULT_CONFIG_PATH SYSCONFDIR "/ipcgc/ipcgc.conf"

static void help(void) {
        printf("Usage: ipcgcd [OPTIONS]\n"
               "\n"
               "The IPC garbage collector daemon: sweeps on a timer and on process exits,\n"
               "answers ipcgc over a Varlink socket, logs to the journal.\n"
               "\n"
               "  --config FILE          read FILE (and its conf.d/) instead of %s\n"
               "  --dry-run              judge and report, never remove\n"
               "  --once                 sweep once and exit (for ipcgc-sweep.service)\n"
               "  --no-process-events    do not listen to the process connector\n"
               "  --debug                log debug messages\n"
               "  -h, --help             this help\n"
               "  -V, --version          the version\n",
               DEFAULT_CONFIG_PATH);
}

static int run(int argc, char **argv) {
        enum { OPT_CONFIG = 0x100, OPT_DRY_RUN, OPT_ONCE, OPT_NO_EVENTS, OPT_DEBUG, OPT_SYSVIPC, OPT_PROC };
        static const struct option options[] = {
                { "config", required_argument, NULL, OPT_CONFIG },
                { "dry-run", no_argument, NULL, OPT_DRY_RUN },
                { "once", no_argument, NULL, OPT_ONCE },
                { "no-process-events", no_argument, NULL, OPT_NO_EVENTS },
                { "debug", no_argument, NULL, OPT_DEBUG },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        _cleanup_(manager_freep) struct manager *m = NULL;
        /* Declared after the manager, so gone before it: it serves from it. */
        _cleanup_(control_freep) struct control *control = NULL;
        const char *config = NULL;
        bool dry_run = false, once = false, no_events = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "hV", options, NULL)) >= 0)
                switch (c) {
                case OPT_CONFIG:
                        config = optarg;
                        break;
                case OPT_DRY_RUN:
                        dry_run = true;
                        break;
                case OPT_ONCE:
                        once = true;
                        break;
                case OPT_NO_EVENTS:
                        no_events = true;
                        break;
                case OPT_DEBUG:
                        log_set_debug(1);
                        break;
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("ipcgcd %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        fprintf(stderr, "Try 'ipcgcd --help' for more information.\n");
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "ipcgcd: unexpected argument '%s'\nTry 'ipcgcd --help' for more information.\n",
                        argv[optind]);
                return 2;
        }

        log_open();
        r = manager_new(config ? config : DEFAULT_CONFIG_PATH, config != NULL, &m);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot start: %s", strerror(-r));
                return 1;
        }
        m->force_dry_run = dry_run;
        m->no_process_events = no_events;
        if (manager_load_config(m) < 0)
                return 1;

        if (once) {
                /* Said in full, dry run or not: the one-shot unit's journal
                 * is all the admin reads of it. */
                r = manager_sweep(m, TRIGGER_ONCE);
                return r < 0 || m->stats.failed_total ? 1 : 0;
        }

        r = control_new(m->event, m->config->daemon.socket, &api_ops, m, &control);
        if (r < 0)
                return 1; /* control_new said why */
        r = manager_start(m);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot start: %s", strerror(-r));
                return 1;
        }
        r = sd_event_loop(m->event);
        if (r < 0) {
                log_msg(LOG_ERR, "event loop failed: %s", strerror(-r));
                return 1;
        }
        log_msg(LOG_INFO, "stopping");
        return 0;
}

int main(int argc, char **argv) {
        /* Each judgement's big arrays (objects, judgements, indexes) come
         * and go whole: mapped for themselves, they go back to the kernel
         * when freed, instead of leaving holes in the heap that the next,
         * slightly different layout cannot reuse.  glibc would otherwise
         * raise this threshold as such blocks are freed. */
        (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        return run(argc, argv);
}
