/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit.h"
#include "manager.h"
#include "metrics.h"

int metrics_format(const struct manager *m, char **ret) {
        _cleanup_(audit_freep) struct audit *a = NULL;
        uint64_t objects[_IPC_TYPE_MAX][_VERDICT_MAX] = {}, bytes[_IPC_TYPE_MAX] = {};
        char *text = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        struct engine_last last = engine_last(m->engine);
        struct engine_stats es = engine_stats(m->engine);
        for (size_t i = 0; last.inv && i < last.inv->n_objects; i++) {
                const struct ipc_object *o = &last.inv->objects[i];
                objects[o->type][last.judgements[i].verdict]++;
                bytes[o->type] += o->size;
        }
        r = audit_build(last.inv, m->paths.proc ? m->paths.proc : "/proc", &a);
        if (r < 0)
                return r;

        f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;

        fputs("# HELP ipcgc_objects IPC objects by type and verdict, as last judged.\n"
              "# TYPE ipcgc_objects gauge\n",
              f);
        for (int t = 0; t < _IPC_TYPE_MAX; t++)
                for (int v = 0; v < _VERDICT_MAX; v++)
                        fprintf(f, "ipcgc_objects{type=\"%s\",verdict=\"%s\"} %" PRIu64 "\n", ipc_type_to_string(t),
                                verdict_to_string(v), objects[t][v]);
        fputs("# HELP ipcgc_bytes Bytes held by IPC objects, by type.\n# TYPE ipcgc_bytes gauge\n", f);
        for (int t = 0; t < _IPC_TYPE_MAX; t++)
                fprintf(f, "ipcgc_bytes{type=\"%s\"} %" PRIu64 "\n", ipc_type_to_string(t), bytes[t]);
        fputs("# HELP ipcgc_removals_total Objects removed since start, by type.\n"
              "# TYPE ipcgc_removals_total counter\n",
              f);
        for (int t = 0; t < _IPC_TYPE_MAX; t++)
                fprintf(f, "ipcgc_removals_total{type=\"%s\"} %" PRIu64 "\n", ipc_type_to_string(t),
                        m->stats.removed_by_type[t]);
        fputs("# HELP ipcgc_skips_total Removals skipped after re-verification, by type.\n"
              "# TYPE ipcgc_skips_total counter\n",
              f);
        for (int t = 0; t < _IPC_TYPE_MAX; t++)
                fprintf(f, "ipcgc_skips_total{type=\"%s\"} %" PRIu64 "\n", ipc_type_to_string(t),
                        m->stats.skipped_by_type[t]);
        fprintf(f,
                "# HELP ipcgc_removal_failures_total Removals that failed.\n"
                "# TYPE ipcgc_removal_failures_total counter\n"
                "ipcgc_removal_failures_total %" PRIu64 "\n"
                "# HELP ipcgc_sweeps_total Sweeps since start.\n"
                "# TYPE ipcgc_sweeps_total counter\n"
                "ipcgc_sweeps_total %" PRIu64 "\n"
                "# HELP ipcgc_sweep_duration_seconds How long the last sweep took.\n"
                "# TYPE ipcgc_sweep_duration_seconds gauge\n"
                "ipcgc_sweep_duration_seconds %.6f\n"
                "# HELP ipcgc_judgements_total Judgements of every object, full or reusing the last one.\n"
                "# TYPE ipcgc_judgements_total counter\n"
                "ipcgc_judgements_total{kind=\"full\"} %" PRIu64 "\n"
                "ipcgc_judgements_total{kind=\"quick\"} %" PRIu64 "\n"
                "# HELP ipcgc_process_exit_events_total Process exits seen through the process connector.\n"
                "# TYPE ipcgc_process_exit_events_total counter\n"
                "ipcgc_process_exit_events_total %" PRIu64 "\n",
                m->stats.failed_total, m->stats.sweeps, (double) m->stats.last_sweep_usec / 1e6,
                es.full_judgements, es.quick_judgements, m->stats.exit_events);
        fputs("# HELP ipcgc_limit_used Use of a kernel IPC limit.\n# TYPE ipcgc_limit_used gauge\n", f);
        for (int l = 0; l < _LIMIT_MAX; l++)
                fprintf(f, "ipcgc_limit_used{limit=\"%s\"} %" PRIu64 "\n", a->limits[l].name, a->limits[l].used);
        fputs("# HELP ipcgc_limit_max A kernel IPC limit.\n# TYPE ipcgc_limit_max gauge\n", f);
        for (int l = 0; l < _LIMIT_MAX; l++)
                if (a->limits[l].error == 0)
                        fprintf(f, "ipcgc_limit_max{limit=\"%s\"} %" PRIu64 "\n", a->limits[l].name, a->limits[l].max);

        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}
