#!/bin/sh
# Installs the build dependencies, builds ipcgc in build/, and runs the main
# job on this machine: a dry-run sweep with the shipped rules, which judges
# every IPC object and shows each that is not LIVE, what a real sweep would
# do with it (remove it, wait for its MinAge, report it, keep it) and why,
# then the counts.
# Nothing is changed on the machine's IPC.
set -eu
cd "$(dirname "$0")/.."

./tools/deps.sh
autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed" >&2; exit 1; }
mkdir -p build
cd build
../configure --enable-werror --sysconfdir=/etc >/dev/null
make -j"$(nproc)" >/dev/null
./ipcgc --config ../conf/ipcgc.conf sweep --local --dry-run
