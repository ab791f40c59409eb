#!/bin/bash
# The Debian package, as an administrator gets it: `dpkg-buildpackage -us
# -uc -b` in a copy of the tree (what a fresh clone holds: the tracked files
# and any new ones not ignored), lintian on it, its contents, then installed,
# upgraded over an edited /etc/ipcgc/ipcgc.conf and purged in the host's
# systemd booted in a systemd-nspawn container whose root is an overlay on
# the host's (/usr, /etc and /var writable, every write in a tmpfs that goes
# with the container).  Nothing is installed on the host.
# (TAP from the integration tests' lib.sh, here and in the container; no
# namespaces of its: the container has its own.)
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }

if [ "$(id -u)" != 0 ]; then
    echo "Bail out! needs root (dpkg-buildpackage's build dependencies, systemd-nspawn)"
    exit 1
fi
for tool in dpkg-buildpackage dh lintian systemd-nspawn; do
    command -v "$tool" >/dev/null ||
        { echo "Bail out! needs $tool (Debian: dpkg-dev debhelper lintian systemd-container; tools/deps.sh --test)"; exit 1; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/ipcgc-deb.XXXXXX")
trap 'rm -rf "$T"' EXIT
SRC=$T/src/ipcgc
mkdir -p "$SRC" "$T/debs" "$T/result"

# --- the build -------------------------------------------------------------------
if git -C "$top_srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$top_srcdir" ls-files -z --cached --others --exclude-standard |
        (cd "$top_srcdir" && tar -c --null -T - --ignore-failed-read 2>/dev/null) | tar -x -C "$SRC"
    from="the git tree's files"
else
    # An unpacked tarball (distcheck): all of it but the build directories.
    tar -C "$top_srcdir" --exclude=./_build --exclude='./build*' -c . | tar -x -C "$SRC"
    from="the unpacked tarball"
fi
chmod -R u+w "$SRC"
start=$(date +%s)
# Nothing of the make running this test goes into the package's: not its
# command-line variables (MAKEFLAGS), nor the harness's environment.
(cd "$SRC" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u top_srcdir -u top_builddir \
    DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1
rc=$?
took=$(($(date +%s) - start))
is "$rc" 0 "dpkg-buildpackage -us -uc -b builds, from a copy of $from (${took} s)"
deb=$(ls "$T/src"/ipcgc_*.deb 2>/dev/null | head -n 1)
if [ "$rc" != 0 ] || [ -z "$deb" ]; then
    tail -40 "$T/build.log" | sed 's/^/# build: /'
    echo "Bail out! no package to test"
    exit 1
fi
version=$(dpkg-deb -f "$deb" Version)
check "it made ${deb##*/}" test -s "$deb"
check "whose version is configure's ($version)" grep -q "AC_INIT(\[ipcgc\], \[$version\]" "$top_srcdir/configure.ac"

# lintian: no errors; what else it says is shown.
lintian --tag-display-limit 0 "$T/src"/ipcgc_*.changes >"$T/lintian" 2>&1
grep -v 'running with root privileges' "$T/lintian" | sed 's/^/# lintian: /'
is "$(grep -c '^E:' "$T/lintian")" 0 "lintian reports no errors ($(grep -c '^W:' "$T/lintian") warnings)"

# --- what is in it -------------------------------------------------------------------
dpkg -c "$deb" | awk '{ print $NF }' | sed 's|^\./||' >"$T/contents"
has() { grep -qxE "$1" "$T/contents"; }
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
unitdir=${unitdir#/}
compdir=$(pkg-config --variable=completionsdir bash-completion)
compdir=${compdir#/}
for f in usr/bin/ipcgc usr/sbin/ipcgcd \
    "$unitdir/ipcgcd.service" "$unitdir/ipcgcd.socket" "$unitdir/ipcgc-sweep.service" "$unitdir/ipcgc-sweep.timer" \
    "${unitdir%/system}/system-preset/80-ipcgc.preset" \
    usr/share/man/man1/ipcgc.1.gz usr/share/man/man5/ipcgc.conf.5.gz usr/share/man/man8/ipcgcd.8.gz \
    "$compdir/ipcgc" usr/lib/systemd/catalog/ipcgc.catalog usr/share/doc/ipcgc/copyright \
    etc/ipcgc/ipcgc.conf; do
    check "dpkg -c lists $f" has "$f"
done
is "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | LC_ALL=C sort | paste -sd' ')" \
    "$(grep '^etc/.*[^/]$' "$T/contents" | sed 's|^|/|' | LC_ALL=C sort | paste -sd' ')" \
    "every file in /etc/ipcgc is a conffile"
is "$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/ *(.*//; s/^ *//' | LC_ALL=C sort | paste -sd' ')" \
    "libc6 libinih1 libjson-c5 libsmartcols1 libsystemd0" "it depends on the libraries it links, nothing else"

# Two later versions, made from this one: the same files (an upgrade that
# changes no conffile), and one whose shipped ipcgc.conf changed.
repack() { # repack VERSION [EDIT]: a copy of the package at VERSION, EDIT run in its tree
    local d=$T/repack-$1
    dpkg-deb -R "$deb" "$d"
    sed -i "s/^Version: .*/Version: $1/" "$d/DEBIAN/control"
    # (DEBIAN/md5sums has no conffile in it: dpkg sums those itself.)
    [ -z "${2:-}" ] || (cd "$d" && eval "$2")
    dpkg-deb -b "$d" "$T/debs/ipcgc_$1.deb" >/dev/null
}
cp "$deb" "$T/debs/ipcgc_$version.deb"
repack "$version+1"
repack "$version+2" "printf '# A line the next version ships.\n' >>etc/ipcgc/ipcgc.conf"
check "the upgrades are later versions ($version+1, $version+2)" dpkg --compare-versions "$version+1" gt "$version"

# --- installed, upgraded, purged in a container ---------------------------------------
cat >"$T/in-container.sh" <<'EOC'
#!/bin/bash
# In the container: the package's life, as TAP on stdout (/result/tap); the
# trace, and what commands say, on stderr (/result/log).
exec >/result/tap 2>/result/log
set -x
. /debs/lib.sh
trap 'systemctl poweroff --no-block' EXIT
quiet() { "$@" >&2; } # quiet COMMAND...: its output to the log, not the TAP
V=$(cat /debs/version)
CONF=/etc/ipcgc/ipcgc.conf
# ipcgc status, once the socket's daemon answers (its first sweep may be
# under way): a few seconds at most.
status_answers() {
    local _
    for _ in $(seq 100); do
        ipcgc status >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}
state() { # the four units: enabled and active states
    local u
    for u in ipcgcd.socket ipcgcd.service ipcgc-sweep.timer ipcgc-sweep.service; do
        printf '%s=%s/%s ' "$u" "$(systemctl is-enabled "$u" 2>&1)" "$(systemctl is-active "$u" 2>&1)"
    done
}

check "ipcgc is not installed before (dpkg -s)" bash -c '! dpkg -s ipcgc'
# A policy-rc.d that forbids starting services (as Docker images ship, exit
# 101) is the host image's, not a booted system's: the container has none.
rm -f /usr/sbin/policy-rc.d
# The README's way to watch first: a drop-in of the administrator's, written
# before the install (no conffile of the package, so dpkg asks nothing).
mkdir -p /etc/ipcgc/conf.d
printf '[Daemon]\nDryRun=yes\n' >/etc/ipcgc/conf.d/10-dry-run.conf
check "dpkg -i ipcgc_$V installs it" quiet dpkg -i "/debs/ipcgc_$V.deb" </dev/null
state >/result/state-install
is "$(systemctl is-enabled ipcgcd.socket)" enabled "the install enabled ipcgcd.socket"
is "$(systemctl is-enabled ipcgcd.service)" enabled "and ipcgcd.service, as the shipped preset has it"
is "$(systemctl is-enabled ipcgc-sweep.timer)" disabled "and not ipcgc-sweep.timer"
is "$(systemctl is-active ipcgcd.socket)" active "ipcgcd.socket is listening"
is "$(systemctl is-active ipcgc-sweep.timer)" inactive "the timer is not started"
check "ipcgc status is answered by the daemon at /run/ipcgc/io.ipcgc" status_answers
is "$(systemctl is-active ipcgcd.service)" active "ipcgcd.service is running"
is "$(ipcgc status -J | jq .dry_run)" true "in dry run, as the drop-in written before the install says"
is "$(systemctl preset --dry-run ipcgcd.socket ipcgcd.service ipcgc-sweep.timer 2>&1)" "" \
    "the shipped preset would change nothing of that"
check "bash-completion's loader finds the completion" \
    bash -c 'source /usr/share/bash-completion/bash_completion; _completion_loader ipcgc; complete -p ipcgc | grep -q _ipcgc'
check "the journal catalog knows the removal message (the systemd trigger ran)" \
    bash -c 'journalctl --list-catalog 9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d01 | grep -qi ipcgc'
check "man ipcgc finds the page" bash -c 'man -w ipcgc | grep -q ipcgc.1'

# The administrator's edit, and an upgrade that ships the same file.
printf '\n# Edited by the administrator.\n' >>"$CONF"
sum=$(md5sum <"$CONF")
pid=$(systemctl show -p MainPID --value ipcgcd.service)
check "dpkg -i ipcgc_$V+1 (same conffiles) upgrades, asking nothing" quiet dpkg -i "/debs/ipcgc_$V+1.deb" </dev/null
is "$(dpkg-query -W -f '${Version}' ipcgc)" "$V+1" "version $V+1 is installed"
is "$(md5sum <"$CONF")" "$sum" "the edited ipcgc.conf is kept"
is "$(ls /etc/ipcgc | grep -c dpkg-)" 0 "and nothing beside it (.dpkg-dist, .dpkg-new)"
is "$(state)" "$(cat /result/state-install)" "the units' states are as before"
check "the daemon answers after the upgrade" status_answers
check "and it was restarted (pid $pid before)" test "$(systemctl show -p MainPID --value ipcgcd.service)" != "$pid"

# An upgrade whose shipped ipcgc.conf changed: dpkg's default, keep the edit.
check "dpkg -i --force-confdef ipcgc_$V+2 (a new shipped ipcgc.conf) upgrades" \
    quiet dpkg -i --force-confdef "/debs/ipcgc_$V+2.deb" </dev/null
is "$(md5sum <"$CONF")" "$sum" "the edited ipcgc.conf is kept"
check "the new one is beside it as ipcgc.conf.dpkg-dist" grep -q 'A line the next version ships' "$CONF.dpkg-dist"
is "$(state)" "$(cat /result/state-install)" "the units' states are as before"

# An enabled timer is the administrator's choice: an upgrade keeps it.
quiet systemctl enable ipcgc-sweep.timer
check "dpkg -i ipcgc_$V+2 again (a reinstall)" quiet dpkg -i --force-confdef "/debs/ipcgc_$V+2.deb" </dev/null
is "$(systemctl is-enabled ipcgc-sweep.timer)" enabled "keeps a timer the administrator enabled"

# Purge: nothing left.
check "the daemon's StateDirectory=, /var/lib/ipcgc, is there" test -d /var/lib/ipcgc
check "dpkg --purge ipcgc" quiet dpkg --purge ipcgc </dev/null
is "$(find /etc/ipcgc /var/lib/ipcgc /run/ipcgc/io.ipcgc ! -type d 2>/dev/null)" /etc/ipcgc/conf.d/10-dry-run.conf \
    "nothing left in /etc/ipcgc but the administrator's drop-in, no /var/lib/ipcgc, no socket"
is "$(find /etc/systemd/system -name 'ipcgc*' ! -name ipcgc-deb-test.service | paste -sd' ')" "" "and no enablement symlink"
is "$(systemctl is-active ipcgcd.service ipcgcd.socket | paste -sd' ')" "inactive inactive" "the daemon and its socket are stopped"
done_testing
EOC
echo "$version" >"$T/debs/version"
cat >"$T/ipcgc-deb-test.service" <<EOC
[Unit]
Description=ipcgc package test
After=basic.target

[Service]
Type=oneshot
ExecStart=/bin/bash /debs/in-container.sh
EOC
cp "$T/in-container.sh" "$top_srcdir/tests/integration/lib.sh" "$T/debs/"

# The container's root: an overlay whose lower layer is the host's root file
# system and whose upper one is a tmpfs, both mounted in a mount namespace of
# this test's own (nspawn boots no --volatile=overlay on /, and an upper
# layer on the lower's file system would overlap it).
start=$(date +%s%3N)
mkdir -p "$T/layers" "$T/root"
unshare --mount --propagation private -- bash -c '
    set -e
    mount -t tmpfs -o mode=0755 tmpfs "$1/layers"
    mkdir "$1/layers/upper" "$1/layers/work"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$1/layers/upper,workdir=$1/layers/work" "$1/root"
    exec timeout 150 systemd-nspawn --quiet --directory="$1/root" --boot --register=no --keep-unit \
        --console=pipe --bind-ro="$1/debs:/debs" --bind="$1/result:/result" \
        --bind-ro="$1/ipcgc-deb-test.service:/etc/systemd/system/ipcgc-deb-test.service" \
        -- systemd.unit=ipcgc-deb-test.service' _ "$T" >"$T/console" 2>&1 </dev/null
rc=$?
took=$(($(date +%s%3N) - start))
if [ ! -s "$T/result/tap" ]; then
    not_ok "the container ran the install test (nspawn exit $rc)"
    tail -30 "$T/console" | sed 's/^/# console: /'
    [ -f "$T/result/log" ] && tail -30 "$T/result/log" | sed 's/^/# log: /'
else
    echo "# container booted, installed, upgraded, purged and powered off in ${took} ms"
    while IFS= read -r line; do
        case $line in
            1..*) ;;
            ok*) ok "${line#ok * - }" ;;
            "not ok"*) not_ok "${line#not ok * - }" ;;
            *) echo "$line" ;;
        esac
    done <"$T/result/tap"
    [ "$(grep -c '^not ok' "$T/result/tap")" = 0 ] || tail -40 "$T/result/log" | sed 's/^/# log: /'
fi
done_testing
