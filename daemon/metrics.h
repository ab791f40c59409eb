/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

struct manager;

/* Prometheus text exposition of the manager's last judgement and counters. */
int metrics_format(const struct manager *m, char **ret);
