#!/bin/sh
# Installs what ipcgc needs to build, from Debian's packages (as a Debian
# package too: dpkg-buildpackage, debhelper), and with --test what its tests
# need too.  Debian 12 or newer, as root.
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
    util-linux jq xz-utils systemd systemd-container man-db groff-base bash-completion \
    dpkg-dev debhelper >/dev/null

[ "${1:-}" = --test ] || exit 0

# For the tests only (./tools/test.sh): the real programs tests/programs runs
# under ipcgc, PostgreSQL 15 (server, pgbench: postgresql-15; psql:
# postgresql-client-15), Apache (prefork MPM, ab: apache2-utils) and Debian's
# /usr/bin/python3.  The tests run their own instances in private namespaces;
# the packages' own services (a "15 main" cluster, apache2 on port 80) are
# not wanted, so invoke-rc.d is told not to start them (policy-rc.d, exit
# 101) while they are installed.
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
fi
# promtool (prometheus) checks the metrics and tests the alerting rules;
# its service is not wanted either.  python3-yaml: tests/safety/test-deploy.sh
# reads the Kubernetes manifest.
rc=0
apt-get install -y -qq --no-install-recommends \
    postgresql-15 postgresql-client-15 apache2 apache2-utils python3 python3-yaml prometheus >/dev/null || rc=$?
# The fuzzing build (tests/fuzz): clang, and its libFuzzer runtime, which
# comes in a package named after clang's major version.
if [ $rc -eq 0 ]; then
    apt-get install -y -qq --no-install-recommends clang >/dev/null || rc=$?
fi
if [ $rc -eq 0 ]; then
    clang_major=$(clang -dumpversion | cut -d. -f1)
    apt-get install -y -qq --no-install-recommends "libclang-rt-$clang_major-dev" >/dev/null || rc=$?
fi
# The Debian package's checker (tests/systemd/test-deb.sh; building it with
# dpkg-buildpackage and debhelper's dh is in the set above).
if [ $rc -eq 0 ]; then
    apt-get install -y -qq --no-install-recommends lintian >/dev/null || rc=$?
fi
[ -n "$policy" ] && rm -f "$policy"
exit $rc
