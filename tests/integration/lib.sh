# shellcheck shell=bash
# Shared by the integration tests: TAP output, private namespaces, helpers.
#
# Every test that makes or removes IPC objects runs in private IPC, mount and
# PID namespaces, with a private tmpfs on /dev/shm, its own mqueue mount and
# its own FIFO directory.  Nothing here may touch the host's IPC.

set -u

top_builddir=$(cd "${top_builddir:-.}" && pwd)
top_srcdir=$(cd "${top_srcdir:-.}" && pwd)
IPCGC="$top_builddir/ipcgc"
HOLD="$top_builddir/tests/helpers/ipc-hold"

_tap_n=0
_tap_failed=0

ok() { # ok DESCRIPTION: a passed check
    _tap_n=$((_tap_n + 1))
    echo "ok $_tap_n - $*"
}

not_ok() { # not_ok DESCRIPTION [DETAIL...]
    _tap_n=$((_tap_n + 1))
    _tap_failed=$((_tap_failed + 1))
    echo "not ok $_tap_n - $1"
    shift
    local d
    for d in "$@"; do echo "#   $d"; done
}

check() { # check DESCRIPTION COMMAND...: passes when COMMAND succeeds (and returns its status)
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc" "command failed: $*"; return 1; fi
}

is() { # is GOT EXPECTED DESCRIPTION
    if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "got:      '$1'" "expected: '$2'"; fi
}

done_testing() {
    echo "1..$_tap_n"
    [ "$_tap_failed" -eq 0 ]
    exit $?
}

# Re-runs the calling script inside fresh IPC, mount and PID namespaces, then
# removes its scratch directory.  Inside, sets T (scratch dir), MQDIR, FIFODIR
# and CONF (a config naming only the private places).
enter_private_namespaces() {
    if [ "${IPCGC_TEST_IN_NS:-}" != 1 ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "Bail out! integration tests need root to make private IPC, mount and PID namespaces"
            exit 1
        fi
        local dir rc
        # Tests that fork thousands of processes and tests that time process
        # exits do not run side by side: with a small pid_max, pid reuse
        # inside the 1 s slack of a timestamp makes a dead creator look alive
        # (safely, but slowly).  IPCGC_TEST_EXCLUSIVE=1 takes the lock.
        if [ "${IPCGC_TEST_EXCLUSIVE:-}" = 1 ]; then
            exec 9>"$top_builddir/.ipcgc-test.lock"
            flock 9
        fi
        dir=$(mktemp -d "${TMPDIR:-/tmp}/ipcgc-test.XXXXXX")
        # The kernel serves the process connector only to the initial PID
        # namespace, so the test of it keeps that one (IPCGC_TEST_KEEP_PIDNS=1);
        # its IPC and mounts are private all the same.
        local pidns="--pid --fork --mount-proc"
        [ "${IPCGC_TEST_KEEP_PIDNS:-}" = 1 ] && pidns=
        # shellcheck disable=SC2086
        IPCGC_TEST_IN_NS=1 IPCGC_TEST_DIR=$dir IPCGC_HOST_IPC_NS=$(stat -L -c %i /proc/self/ns/ipc) \
            unshare --ipc --mount $pidns --propagation private -- bash "$0" "$@"
        rc=$?
        rm -rf "$dir"
        # The units the test made (in_unit), once their processes are gone.
        local cgmnt
        cgmnt=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
        # The PID namespace's processes were killed with its init, but a
        # cgroup goes only once the last of them is reaped: a few tries.
        local cgdir=$cgmnt/ipcgc-test.${dir##*.} try
        for try in $(seq 100); do
            [ -n "$cgmnt" ] && [ -d "$cgdir" ] || break
            find "$cgdir" -depth -type d -exec rmdir {} + 2>/dev/null
            [ -d "$cgdir" ] || break
            read -r -t 0.05 <> <(:) || true
        done
        exit $rc
    fi

    # Belt and braces: never go on in the host's IPC namespace.
    if [ "$(stat -L -c %i /proc/self/ns/ipc)" = "${IPCGC_HOST_IPC_NS:-}" ] || [ -z "${IPCGC_TEST_DIR:-}" ]; then
        echo "Bail out! not in a private IPC namespace"
        exit 1
    fi
    T=$IPCGC_TEST_DIR
    mount -t tmpfs -o mode=1777 tmpfs /dev/shm
    mount -t tmpfs -o mode=0755 tmpfs "$T"
    MQDIR=$T/mqueue
    FIFODIR=$T/fifo
    mkdir -p "$MQDIR" "$FIFODIR"
    chmod 1777 "$FIFODIR"
    mount -t mqueue mqueue "$MQDIR"
    CONF=$T/ipcgc.conf
    # These namespaces hold every process that shares their IPC and mounts:
    # the PID view is complete, and the memory of life is the test's own.
    # [Scan] comes last: tests append bare [Scan] keys to it.
    cat >"$CONF" <<EOC
[Daemon]
StateDir=$T/state
[Scan]
MqueueDir=$MQDIR
ShmDir=/dev/shm
FifoDirs=$FIFODIR
FifoMaxDepth=4
TrustPIDNamespace=yes
EOC
}

# The cgroup v2 directory test units are made under, one per test run, at the
# top of the hierarchy: wherever the suite itself runs (a session scope, a
# CI service), a process in here belongs to no unit but the one made for it.
test_cgroup_root() {
    local mnt
    mnt=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
    [ -n "$mnt" ] || { echo "Bail out! no cgroup2 mount"; exit 1; }
    echo "$mnt/ipcgc-test.${IPCGC_TEST_DIR##*.}"
}

# in_unit NAME CMD... &: runs CMD inside its own cgroup NAME (e.g.
# pg.service, app.scope), made under test_cgroup_root: what a systemd unit
# looks like to ipcgc.  It execs CMD, so call it in the background (or in a
# subshell): $! is then CMD's own pid.
in_unit() {
    local cg
    cg=$(test_cgroup_root)/$1
    shift
    mkdir -p "$cg"
    echo "$BASHPID" >"$cg/cgroup.procs" && exec "$@"
}

# hold [-x] TYPE WHAT SIZE MODE: starts ipc-hold and waits for it to say it
# is ready (no sleeping).  Sets HOLD_ID (SysV id) and HOLD_PID.
hold() {
    local fd word
    exec {fd}< <("$HOLD" "$@")
    if ! read -r -u "$fd" word HOLD_ID HOLD_PID || [ "$word" != ready ]; then
        echo "Bail out! ipc-hold $* did not start"
        exit 1
    fi
    # With -x it exits once ready: wait for that (its stdout closing), so
    # nothing is judged while it still holds the object.
    [ "$1" = -x ] && cat <&"$fd" >/dev/null
    exec {fd}<&-
}

# As hold, but as another user (uid:gid), so ownership can be checked.
hold_as() {
    local ug=$1 fd word
    shift
    exec {fd}< <(setpriv --reuid="${ug%:*}" --regid="${ug#*:}" --clear-groups "$HOLD" "$@")
    if ! read -r -u "$fd" word HOLD_ID HOLD_PID || [ "$word" != ready ]; then
        echo "Bail out! ipc-hold $* (as $ug) did not start"
        exit 1
    fi
    [ "$1" = -x ] && cat <&"$fd" >/dev/null
    exec {fd}<&-
}

# start_daemon [ARGS...]: starts ipcgcd on $CONF (which must name
# Socket=$T/io.ipcgc) with its log in $T/ipcgcd.log, and waits until it
# answers.  Sets DAEMON_PID.
start_daemon() {
    "$top_builddir/ipcgcd" --config "$CONF" "$@" 2>>"$T/ipcgcd.log" &
    DAEMON_PID=$!
    local i
    for i in $(seq 500); do
        "$IPCGC" --config "$CONF" status >/dev/null 2>&1 && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        read -r -t 0.01 <> <(:) || true
    done
    echo "Bail out! ipcgcd did not start: $(tail -5 "$T/ipcgcd.log")"
    exit 1
}

# cli_via local|daemon: CLI=(ipcgc --config $CONF), with --local, or with
# the daemon started first (start_daemon), for tests that run both ways.
cli_via() {
    CLI=("$IPCGC" --config "$CONF")
    if [ "$1" = local ]; then CLI+=(--local); else start_daemon; fi
}

stop_daemon() { # stop_daemon: SIGTERM, wait, and say how it ended
    kill -TERM "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID"
}

# The archive-*-try helpers' ENTRYDIR/entry: their contents from 64 KiB on.
try_manifest() { head -c 65536 "$1" | tr -d '\0'; } # try_manifest FILE: prints the manifest text
try_contents() { tail -c +65537 "$1"; }              # try_contents FILE: prints the contents
# try_set_manifest FILE: replaces the manifest with stdin (NUL-padded to 65536 bytes; the contents kept)
try_set_manifest() {
    # Where the old one can be punched out, the padding stays a hole (sparse), as the library leaves it.
    local sparse=,sparse
    fallocate --punch-hole --offset 0 --length 65536 "$1" 2>/dev/null || sparse=
    { cat; head -c 65536 /dev/zero; } | head -c 65536 |
        dd of="$1" bs=4096 iflag=fullblock conv=notrunc$sparse status=none
}
# try_set_contents FILE: replaces the contents with stdin (FILE cut to 65536 bytes, stdin appended)
try_set_contents() { truncate -s 65536 "$1" && cat >>"$1"; }

# An archive entry's parts, by its path ARCHIVEDIR/ENTRY (tests/helpers/archive-show).
entry_manifest() { "$top_builddir/tests/helpers/archive-show" "${1%/*}" "${1##*/}" manifest; }
entry_contents() { "$top_builddir/tests/helpers/archive-show" "${1%/*}" "${1##*/}" contents; }
entry_pack() { "$top_builddir/tests/helpers/archive-show" "${1%/*}" "${1##*/}" pack; }
# entry_copy ARCHIVEDIR/ENTRY NAME MANIFEST CONTENTS: a pack NAME.pack of one entry NAME (files, or - for ENTRY's)
entry_copy() { "$top_builddir/tests/helpers/archive-show" "${1%/*}" "${1##*/}" copy "$2" "$3" "$4"; }

# start_containers TAG...: one "container" per TAG (issue 14's acceptance):
# its own IPC and mount namespace, /dev/shm and mqueue mount, in a cgroup
# docker-<hex>.scope under test_cgroup_root, container b with shmmni 77 (a
# limit of its own).  Each makes a live shm (key 0x5001, held attached), an
# orphaned shm (0x5002), an orphaned msg (0x5003), a live pshm /live-TAG
# and an orphaned pshm /orphan-TAG, and stays until `echo >$T/stop-TAG`,
# then kills its holders.  Sets CGROOT and, by TAG, HEX (the cgroup's id),
# NS (the IPC namespace's inode), LIVE_SHM, ORPHAN_SHM, ORPHAN_MSG (SysV
# ids), ATTACHER (the live shm's holder) and CPID (the container's shell).
start_containers() {
    # The container: moves itself into its cgroup, makes its own /dev/shm and
    # mqueue, then the five objects, says what it made, and stays until told.
    cat >"$T/container.sh" <<'EOS'
set -eu
cg=$1 tag=$2 stop=$3
export top_builddir=$4 top_srcdir=$5
. "$top_srcdir/tests/integration/lib.sh"
echo $$ >"$cg/cgroup.procs"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t mqueue mqueue "$MQDIR"
# Limits are the namespace's own: one container's differ.
[ "$tag" = b ] && echo 77 >/proc/sys/kernel/shmmni
# The segment's user is a service of its own in the container (as under
# an init in it): when it exits, no unit of it is left running, while the
# container's is (which would keep what it used live).
mkdir "$cg/worker.service"
hold shm 0x5001 4096 0600;     live_shm=$HOLD_ID; pids=$HOLD_PID; attacher=$HOLD_PID
echo "$attacher" >"$cg/worker.service/cgroup.procs"
hold -x shm 0x5002 4096 0600;  orphan_shm=$HOLD_ID
hold -x msg 0x5003 16 0600;    orphan_msg=$HOLD_ID
hold pshm "/live-$tag" 4096 0600; pids="$pids $HOLD_PID"
hold -x pshm "/orphan-$tag" 4096 0600
echo "ready $(stat -L -c %i /proc/self/ns/ipc) $live_shm $orphan_shm $orphan_msg $attacher $$"
read -r _ <"$stop"
# shellcheck disable=SC2086
kill $pids 2>/dev/null || true
EOS
    CGROOT=$(test_cgroup_root)
    declare -gA NS LIVE_SHM ORPHAN_SHM ORPHAN_MSG HEX ATTACHER CPID
    local c fd word ns live orphan msg attacher cpid
    for c in "$@"; do
        HEX[$c]=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
        mkdir -p "$CGROOT/docker-${HEX[$c]}.scope"
        mkfifo "$T/stop-$c"
        exec {fd}< <(MQDIR=$MQDIR unshare --ipc --mount --propagation private -- \
            bash "$T/container.sh" "$CGROOT/docker-${HEX[$c]}.scope" "$c" "$T/stop-$c" "$top_builddir" "$top_srcdir")
        read -r -u "$fd" word ns live orphan msg attacher cpid || { echo "Bail out! container $c did not start"; exit 1; }
        [ "$word" = ready ] || { echo "Bail out! container $c: $word"; exit 1; }
        NS[$c]=$ns LIVE_SHM[$c]=$live ORPHAN_SHM[$c]=$orphan ORPHAN_MSG[$c]=$msg ATTACHER[$c]=$attacher CPID[$c]=$cpid
    done
}

# make_outer_objects: the outer namespace's four objects (made before
# start_containers, so that their SysV ids are the containers' too): an
# orphaned shm 0x7001 and a live one 0x7002, a live pshm /outer-live and an
# orphaned /outer-orphan.  Sets OWN_NS, OUT_ORPHAN_SHM, OUT_LIVE_SHM and
# OUT_LIVE_PID (its holder, no member of any container).
make_outer_objects() {
    OWN_NS=$(stat -L -c %i /proc/self/ns/ipc)
    hold -x shm 0x7001 4096 0600; OUT_ORPHAN_SHM=$HOLD_ID
    hold shm 0x7002 4096 0600;    OUT_LIVE_SHM=$HOLD_ID; OUT_LIVE_PID=$HOLD_PID
    hold pshm /outer-live 4096 0600
    hold -x pshm /outer-orphan 4096 0600
}

# The checks of issue 14's acceptance on make_outer_objects and
# start_containers a b, the same whether ipcgc judges (--local) or ipcgcd.

# ns_check_list JSON: `list --all-namespaces -J` shows all ten of the
# containers and the outer four, each with its verdict, namespace and name.
ns_check_list() {
    local json=$1 c n name
    _nsv() { jq -r --arg id "$1" '[.objects[] | select(.id == $id)] | if length == 1 then .[0] | "\(.verdict) \(.ipcns) \(.container)" else "\(length) objects" end' <<<"$json"; }
    for c in a b; do
        n=${NS[$c]} name="docker:${HEX[$c]:0:12}"
        is "$(jq --argjson n "$n" '[.objects[] | select(.ipcns == $n)] | length' <<<"$json")" 5 "container $c: five objects in namespace $n"
        is "$(_nsv "ipc:$n/shm:${LIVE_SHM[$c]}")" "LIVE $n $name" "container $c: live shm LIVE"
        is "$(jq -c --arg id "ipc:$n/shm:${LIVE_SHM[$c]}" '.objects[] | select(.id == $id) | .holders' <<<"$json")" \
            "[${ATTACHER[$c]}]" "container $c: its live shm's attacher found in its maps"
        is "$(_nsv "ipc:$n/shm:${ORPHAN_SHM[$c]}")" "ORPHAN $n $name" "container $c: orphaned shm ORPHAN"
        is "$(_nsv "ipc:$n/msg:${ORPHAN_MSG[$c]}")" "ORPHAN $n $name" "container $c: orphaned msg ORPHAN"
        is "$(_nsv "ipc:$n/pshm:/live-$c")" "LIVE $n $name" "container $c: live pshm LIVE"
        is "$(_nsv "ipc:$n/pshm:/orphan-$c")" "ORPHAN $n $name" "container $c: orphaned pshm ORPHAN"
        is "$(jq -r --argjson n "$n" '.namespaces[] | select(.ipcns == $n) | .container' <<<"$json")" "$name" \
            "container $c: named from its cgroup docker-<id>.scope"
    done
    is "$(jq --argjson n "$OWN_NS" '[.objects[] | select(.ipcns == $n)] | length' <<<"$json")" 4 \
        "the outer namespace's four objects, under their plain ids"
    is "$(_nsv "shm:$OUT_LIVE_SHM")" "LIVE $OWN_NS null" "outer live shm LIVE"
    is "$(jq '[.objects[].id] | length == (unique | length)' <<<"$json")" true "every id is unique"
}

# ns_check_audit JSON: `audit --all-namespaces -J` counts what each
# namespace has against its own limits (container b's shmmni is 77).
ns_check_audit() {
    local aud=$1 c
    _nsuse() { jq -c --argjson n "$1" '.namespaces[] | select(.ipcns == $n) | [.usage[] | "\(.type)=\(.count)"] | sort' <<<"$aud"; }
    _nslimit() { jq -r --argjson n "$1" --arg l "$2" '.namespaces[] | select(.ipcns == $n) | .limits[] | select(.name == $l) | "\(.used)/\(.limit)"' <<<"$aud"; }
    for c in a b; do
        is "$(_nsuse "${NS[$c]}")" '["msg=1","pshm=2","shm=2"]' "audit: container $c's totals are what it made"
    done
    is "$(_nsuse "$OWN_NS")" '["pshm=2","shm=2"]' "audit: the outer namespace's totals are its own"
    is "$(_nslimit "${NS[b]}" shmmni)" 2/77 "audit: container b's shmmni is its own (77)"
    is "$(_nslimit "${NS[a]}" shmmni)" "2/$(nsenter -t "${CPID[a]}" --ipc cat /proc/sys/kernel/shmmni)" \
        "audit: container a's shmmni is its own"
    is "$(_nslimit "$OWN_NS" shmmni)" "2/$(cat /proc/sys/kernel/shmmni)" "audit: the outer shmmni is the outer one"
}

# ns_check_sweep JSON PLAIN: `sweep --all-namespaces -J` removed the six
# orphans of the containers, from inside each, and of the outer namespace
# exactly PLAIN (the sorted ids a plain dry run would remove); the live
# ones remain, and the outer holder lives on.
ns_check_sweep() {
    local out=$1 plain=$2 c n got
    _nsremoved() { jq -c --argjson n "$1" '[.records[] | select(.action == "removed" and .ipcns == $n) | .id] | sort' <<<"$out"; }
    for c in a b; do
        n=${NS[$c]}
        is "$(_nsremoved "$n")" "[\"ipc:$n/msg:${ORPHAN_MSG[$c]}\",\"ipc:$n/pshm:/orphan-$c\",\"ipc:$n/shm:${ORPHAN_SHM[$c]}\"]" \
            "container $c: its three orphans removed"
    done
    is "$(_nsremoved "$OWN_NS")" "$plain" "the outer namespace: exactly what a plain sweep would remove"
    is "$(jq '[.records[] | select(.action != "removed")] | length' <<<"$out")" 0 "nothing skipped or failed"
    # Seen from inside each container: the live ones stay, the orphans are gone.
    for c in a b; do
        got=$(nsenter -t "${CPID[$c]}" --ipc --mount sh -c 'ipcs -m | awk "\$1 ~ /^0x/ { print \$2 }" | sort -n | tr "\n" " "; ipcs -q | awk "\$1 ~ /^0x/" | wc -l; ls /dev/shm | tr "\n" " "')
        is "$got" "${LIVE_SHM[$c]} 0
live-$c " "container $c: its live shm and pshm remain, its orphans are gone"
    done
    is "$(ipcs -m | awk '$1 ~ /^0x/ { print $2 }' | sort -n | tr '\n' ' ')" "$OUT_LIVE_SHM " "outer: the live shm remains"
    is "$(ls /dev/shm)" outer-live "outer: the live pshm remains"
    check "outer: its holder lives on" kill -0 "$OUT_LIVE_PID"
}

# start_churn: IPC namespaces that come and go, one after another until
# stop_churn, each (its own IPC and mount namespace and /dev/shm) living as
# long as an orphaned shm, pshm and msg take to make in it; a line in
# $T/made for each.  Sets CHURN.
start_churn() {
    : >"$T/made"
    rm -f "$T/stop-churn"
    (
        while [ ! -e "$T/stop-churn" ]; do
            unshare --ipc --mount --propagation private -- sh -c '
                mount -t tmpfs tmpfs /dev/shm &&
                "$1" -x shm 0x6001 4096 0600 >/dev/null && "$1" -x pshm /churn 4096 0600 >/dev/null &&
                "$1" -x msg 0x6002 16 0600 >/dev/null' churn "$HOLD" &&
                echo >>"$T/made"
        done
    ) &
    CHURN=$!
}
stop_churn() { # stop_churn: once the last namespace is gone
    touch "$T/stop-churn"
    wait "$CHURN"
}
