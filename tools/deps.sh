#!/bin/sh
# Installs what ipcgc needs to build and test, from Debian's packages.
# Debian 12 or newer, as root.
set -eu

if [ "$(id -u)" != 0 ]; then
    echo "tools/deps.sh: run as root (it installs packages with apt-get)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    build-essential autoconf automake libtool pkg-config make \
    libsystemd-dev libinih-dev libjson-c-dev libsmartcols-dev libcmocka-dev \
    util-linux jq xz-utils systemd systemd-container man-db groff-base >/dev/null

# The real programs tests/programs runs under ipcgc: PostgreSQL 15 (server,
# pgbench: postgresql-15; psql: postgresql-client-15), Apache (prefork MPM,
# ab: apache2-utils) and Debian's /usr/bin/python3.  The tests run their own
# instances in private namespaces; the packages' own services (a "15 main"
# cluster, apache2 on port 80), which Debian starts on install, are not used.
apt-get install -y -qq --no-install-recommends \
    postgresql-15 postgresql-client-15 apache2 apache2-utils python3 >/dev/null
