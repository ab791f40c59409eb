#!/bin/bash
# The real units under real systemd: boots the host's systemd in a volatile
# systemd-nspawn container (its own IPC, PID and mount namespaces), with the
# built binaries, units and preset bound in, and runs
# tests/systemd/in-container.sh as the container's only job.  Its TAP comes
# back through a bound directory.
set -u
top_builddir=$(cd "${top_builddir:-.}" && pwd)
top_srcdir=$(cd "${top_srcdir:-.}" && pwd)

if [ "$(id -u)" != 0 ] || ! command -v systemd-nspawn >/dev/null; then
    echo "Bail out! needs root and systemd-nspawn (Debian: systemd-container)"
    exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/ipcgc-nspawn.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/result"

# The container's /usr is the host's, read-only: the build goes to /opt/ipcgc
# and the units' ExecStart= paths are pointed there; nothing else in them
# changes.
sbindir=$(sed -n 's|^ExecStart=\(.*\)/ipcgcd$|\1|p' "$top_builddir/systemd/ipcgcd.service")
mkdir -p "$T/opt/man/man1" "$T/opt/man/man5" "$T/opt/man/man8" "$T/units"
cp "$top_builddir/ipcgcd" "$top_builddir/ipcgc" "$top_builddir/tests/helpers/ipc-hold" \
    "$top_srcdir/tests/systemd/in-container.sh" "$top_srcdir/catalog/ipcgc.catalog" \
    "$top_srcdir/daemon/log.h" "$top_srcdir/daemon/manager.c" "$T/opt/"
cp "$top_srcdir/man/ipcgc.1" "$T/opt/man/man1/"
cp "$top_srcdir/man/ipcgc.conf.5" "$T/opt/man/man5/"
cp "$top_srcdir/man/ipcgcd.8" "$T/opt/man/man8/"
for u in ipcgcd.service ipcgc-sweep.service; do
    sed "s|$sbindir/ipcgcd|/opt/ipcgc/ipcgcd|" "$top_builddir/systemd/$u" >"$T/units/$u"
done
cp "$top_srcdir/systemd/ipcgcd.socket" "$top_srcdir/systemd/ipcgc-sweep.timer" "$T/units/"
cat >"$T/units/ipcgc-systemd-test.service" <<EOC
[Unit]
Description=ipcgc systemd integration test
After=basic.target

[Service]
Type=oneshot
Environment=MANPATH=/opt/ipcgc/man:/usr/share/man
ExecStart=/bin/bash /opt/ipcgc/in-container.sh
EOC

binds=(--bind="$T/result:/result" --bind-ro="$T/opt:/opt/ipcgc")
for u in "$T"/units/*; do
    binds+=(--bind-ro="$u:/etc/systemd/system/${u##*/}")
done
# The shipped preset, where the container's systemctl preset reads it (its
# /usr is the host's, read-only; /etc/systemd/system-preset/ is as good).
binds+=(--bind-ro="$top_srcdir/systemd/80-ipcgc.preset:/etc/systemd/system-preset/80-ipcgc.preset")

start=$(date +%s%3N)
timeout 120 systemd-nspawn --quiet --directory=/ --volatile=yes --boot --register=no --keep-unit \
    --console=pipe "${binds[@]}" -- systemd.unit=ipcgc-systemd-test.service >"$T/console" 2>&1 </dev/null
rc=$?
took=$(($(date +%s%3N) - start))

if [ ! -s "$T/result/tap" ]; then
    echo "Bail out! the container produced no results (nspawn exit $rc)"
    tail -30 "$T/console" | sed 's/^/# /'
    [ -f "$T/result/log" ] && tail -30 "$T/result/log" | sed 's/^/# /'
    exit 1
fi
grep -v '^1\.\.' "$T/result/tap" >"$T/tap"
echo "# container booted, tested and powered off in ${took} ms"
if [ -s "$T/result/security" ]; then
    echo "# systemd-analyze security --offline=true ipcgcd.service:"
    grep -E 'Overall exposure' "$T/result/security" | sed 's/^/#   /'
fi
if [ -s "$T/result/explained" ]; then
    echo "# journalctl -x IPCGC_ACTION=removed, as the container saw it:"
    sed 's/^/#   /' "$T/result/explained"
fi
for f in restrict-sweep restrict-daemon; do
    if [ -s "$T/result/$f.journal" ]; then
        echo "# RestrictNamespaces=yes ($f): what the journal said"
        grep -E 'Operation not permitted|IPC namespace' "$T/result/$f.journal" | head -n 4 | sed 's/^/#   /'
    fi
done
# The units' Documentation= pages, which the container cannot check.
for page in ipcgcd.8 ipcgc.1 ipcgc.conf.5; do
    if MANPATH="$T/opt/man" man -w "${page%.*}" "${page##*.}" 2>/dev/null | grep -q "$page" ||
        groff -man -z "$T/opt/man/man${page##*.}/$page" 2>/dev/null; then
        echo "ok - Documentation=man:$page resolves" >>"$T/tap"
    else
        echo "not ok - Documentation=man:$page resolves" >>"$T/tap"
    fi
done
awk '/^(not )?ok/ { n++; sub(/ok( [0-9]+)?/, "ok " n) } { print } END { print "1.." n }' "$T/tap"
grep -q '^not ok' "$T/tap" && { tail -40 "$T/result/log" | sed 's/^/# log: /'; exit 1; }
exit 0
