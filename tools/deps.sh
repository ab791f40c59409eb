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
