#!/bin/bash
# Three defects of the daemon before one engine served it and --local
# (lib/engine, lib/service), each in its own private namespaces:
#   once:   `ipcgcd --once --dry-run` said nothing of what it would remove
#           (its sweep was taken for a dry run asked over the socket, which
#           is logged by nobody);
#   status: after a sweep removed orphans, `ipcgc status` and sd_notify's
#           STATUS= still counted them, as the judgement made before;
#   own:    a dry run asked for by a user who is not an admin counted every
#           user's objects in .judged, though it named only the user's own.
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }

U=4601
AS_U=(setpriv "--reuid=$U" "--regid=$U" --clear-groups)

# reaped PID: until PID is gone, not even a zombie.
reaped() {
    local i
    for ((i = 0; i < 500; i++)); do
        [ -e "/proc/$1" ] || return 0
        read -r -t 0.01 <> <(:) || true
    done
    echo "Bail out! pid $1 did not go"
    exit 1
}

# rules MINAGE: one rule for everything.
rules() { printf '[Rule all]\nMinAge=%s\nAction=collect\n' "$1" >>"$CONF"; }

# verdict ID: as --local judges it now, or "gone".
verdict() {
    "$IPCGC" --config "$CONF" --local list -J | jq -r --arg id "$1" \
        '[.objects[] | select(.id == $id) | .verdict] | if length == 0 then "gone" else .[0] end'
}

part_once() {
    # The daemon logs to the journal when it has one, to stderr otherwise:
    # here, stderr, whatever the host has (the mount namespace is private).
    [ -d /run/systemd/journal ] && mount -t tmpfs tmpfs /run/systemd/journal
    daemon_config
    rules 0
    hold shm 0x5a01 4096 0600
    LIVE=shm:$HOLD_ID
    hold -x shm 0x5a02 4096 0600
    ORPH=shm:$HOLD_ID
    reaped "$HOLD_PID"
    hold -x fifo "$FIFODIR/orph" 0 0600
    FIFO=fifo:$FIFODIR/orph
    reaped "$HOLD_PID"
    is "$(verdict "$ORPH") $(verdict "$FIFO") $(verdict "$LIVE")" "ORPHAN ORPHAN LIVE" \
        "an orphaned segment and FIFO, and a live segment"

    "$IPCGCD" --once --dry-run --config "$CONF" 2>"$T/once.err"
    is "$?" 0 "ipcgcd --once --dry-run exits 0"
    # "ipcgcd: info: shm:1 would-remove: nattch 0; creator pid 12 exited; idle 0s"
    if grep -q "^ipcgcd: info: $ORPH would-remove: " "$T/once.err"; then
        ok "ipcgcd --once --dry-run says on stderr that $ORPH would be removed"
    else
        not_ok "ipcgcd --once --dry-run says on stderr that $ORPH would be removed" "stderr:" "$(cat "$T/once.err")"
    fi
    check "and that $FIFO would be removed" grep -q "^ipcgcd: info: $FIFO would-remove: " "$T/once.err"
    check "and nothing of the live $LIVE" bash -c "! grep -q ' $LIVE ' '$T/once.err'"
    is "$(verdict "$ORPH") $(verdict "$FIFO")" "ORPHAN ORPHAN" "both orphans are still there"
    diag "$(cat "$T/once.err")"

    # DryRun=yes in the file, not on the command line: the same.
    cp "$CONF" "$T/dry.conf"
    printf '[Daemon]\nDryRun=yes\n' >>"$T/dry.conf"
    "$IPCGCD" --once --config "$T/dry.conf" 2>"$T/once-dry.err"
    is "$?" 0 "ipcgcd --once with DryRun=yes exits 0"
    check "and says $ORPH would be removed" grep -q "^ipcgcd: info: $ORPH would-remove: " "$T/once-dry.err"
    is "$(verdict "$ORPH") $(verdict "$FIFO")" "ORPHAN ORPHAN" "both orphans are still there"

    # And in earnest (inside these namespaces): removed, and said so.
    "$IPCGCD" --once --config "$CONF" 2>"$T/once-real.err"
    is "$?" 0 "ipcgcd --once exits 0"
    check "and says $ORPH was removed" grep -q "^ipcgcd: notice: $ORPH removed: " "$T/once-real.err"
    is "$(verdict "$ORPH") $(verdict "$FIFO") $(verdict "$LIVE")" "gone gone LIVE" "the orphans are gone, the live one stays"
    done_testing
}

part_status() {
    daemon_config # DryRun=no: the removals here are meant
    rules 0
    hold shm 0x5b01 4096 0600
    LIVE=shm:$HOLD_ID

    # sd_notify's messages, a datagram each, one line each of theirs.
    NOTIFY=$T/notify.sock
    python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    sys.stdout.write(s.recv(65536).decode(errors="replace") + "\n")
' "$NOTIFY" >"$T/notify.log" &
    LISTENER=$!
    trap 'kill "$LISTENER" 2>/dev/null' EXIT
    for ((i = 0; i < 500; i++)); do [ -S "$NOTIFY" ] && break; read -r -t 0.01 <> <(:) || true; done
    [ -S "$NOTIFY" ] || { echo "Bail out! the notify listener did not start"; exit 1; }
    NOTIFY_SOCKET=$NOTIFY
    export NOTIFY_SOCKET
    start_daemon --no-process-events
    unset NOTIFY_SOCKET
    for ((i = 0; i < 500; i++)); do grep -q '^READY=1$' "$T/notify.log" && break; read -r -t 0.01 <> <(:) || true; done
    check "the daemon says READY=1 to NOTIFY_SOCKET" grep -q '^READY=1$' "$T/notify.log"

    # Three orphans made after the start sweep, which would have taken them.
    hold -x shm 0x5b02 4096 0600;         O1=shm:$HOLD_ID; reaped "$HOLD_PID"
    hold -x msg 0x5b03 64 0600;           O2=msg:$HOLD_ID; reaped "$HOLD_PID"
    hold -x fifo "$FIFODIR/orph" 0 0600;  O3=fifo:$FIFODIR/orph; reaped "$HOLD_PID"
    # An admin's dry run judges now (a listing may be served from the
    # judgement of the start sweep, a moment old): the daemon sees them.
    dry=$("$IPCGC" --config "$CONF" sweep --dry-run -J)
    is "$(jq -c '[.dry_run, .would_remove, .removed]' <<<"$dry")" "[true,3,0]" "a dry run would remove the three"
    st=$("$IPCGC" --config "$CONF" status -J)
    before=$(jq .objects <<<"$st")
    is "$(jq -c '[.objects, .verdicts.LIVE, .verdicts.ORPHAN]' <<<"$st")" "[4,1,3]" \
        "before the sweep, status counts 4 objects: 1 LIVE, 3 ORPHAN"

    sw=$("$IPCGC" --config "$CONF" sweep -J)
    is "$(jq -c '[.dry_run, .removed, ([.records[].id] | sort)]' <<<"$sw")" \
        "$(jq -nc --arg a "$O1" --arg b "$O2" --arg c "$O3" '[false, 3, ([$a, $b, $c] | sort)]')" "the sweep removes the three orphans"
    N=$(jq .removed <<<"$sw")

    st=$("$IPCGC" --config "$CONF" status -J)
    is "$(jq .verdicts.ORPHAN <<<"$st")" 0 "status -J right after the sweep: .verdicts.ORPHAN == 0"
    is "$(jq .objects <<<"$st")" "$((before - N))" "status -J right after the sweep: .objects == $before - $N"
    is "$(jq -c '[.verdicts.LIVE, ([.verdicts[]] | add), .removed_total]' <<<"$st")" "[1,1,3]" \
        "status -J: the live segment alone, 3 removed in all"

    # The STATUS= that followed the sweep: the first that counts its removals.
    for ((i = 0; i < 500; i++)); do
        grep -q "^STATUS=.*; $N removed since start" "$T/notify.log" && break
        read -r -t 0.01 <> <(:) || true
    done
    line=$(grep -m1 "^STATUS=.*; $N removed since start" "$T/notify.log")
    is "$line" "STATUS=1 objects: 1 live, 0 orphan, 0 pending, 0 unknown; 3 removed since start" \
        "sd_notify STATUS= after the sweep: 0 orphan, $((before - N)) objects"
    diag "$(grep '^STATUS=' "$T/notify.log")"

    is "$(verdict "$O1") $(verdict "$O2") $(verdict "$O3") $(verdict "$LIVE")" "gone gone gone LIVE" \
        "the orphans are gone, the live segment stays"
    stop_daemon
    done_testing
}

part_own() {
    # Root's: one live, three orphans.  uid 4601's: two live, two orphans.
    hold shm 0x5c01 4096 0600
    hold -x shm 0x5c02 4096 0600;                   reaped "$HOLD_PID"
    hold -x msg 0x5c03 64 0600;                     reaped "$HOLD_PID"
    hold -x pshm /root-orph 4096 0600;              reaped "$HOLD_PID"
    hold_as $U:$U sem 0x5d01 2 0600
    hold_as $U:$U shm 0x5d02 4096 0600
    hold_as $U:$U -x shm 0x5d03 4096 0600;          U_SHM=shm:$HOLD_ID; reaped "$HOLD_PID"
    hold_as $U:$U -x pshm /u-orph 4096 0600;        U_PSHM=pshm:/u-orph; reaped "$HOLD_PID"
    daemon_config DryRun=yes # nothing goes, whoever asks
    rules 0
    chmod 0644 "$CONF"
    start_daemon --no-process-events

    counts='[.objects[] | .verdict] | reduce .[] as $v ({}; .[$v] += 1)'
    is "$("$IPCGC" --config "$CONF" --local list -J | jq -cS --argjson u $U "[.objects[] | select(.uid == \$u)] | {objects: .} | $counts")" \
        '{"LIVE":2,"ORPHAN":2}' "uid $U owns 2 LIVE and 2 ORPHAN objects"
    is "$("$IPCGC" --config "$CONF" --local list -J | jq -cS --argjson u $U "[.objects[] | select(.uid != \$u)] | {objects: .} | $counts")" \
        '{"LIVE":1,"ORPHAN":3}' "root owns 1 LIVE and 3 ORPHAN objects"

    zero='{"LIVE":0,"ORPHAN":0,"PENDING":0,"PROTECTED":0,"REPORTED":0,"UNKNOWN":0}'
    with() { jq -cS --argjson z "$zero" "\$z + $1" <<<null; }

    out=$("${AS_U[@]}" "$IPCGC" --config "$CONF" sweep --dry-run -J 2>"$T/err")
    is "$?" 0 "uid $U: sweep --dry-run through the daemon works"
    is "$(jq -cS .judged <<<"$out")" "$(with '{"LIVE":2,"ORPHAN":2}')" \
        "uid $U: .judged counts its own 4 objects only (2 LIVE, 2 ORPHAN), not root's"
    is "$(jq -c '[.would_remove, ([.records[].id] | sort)]' <<<"$out")" \
        "$(jq -nc --arg a "$U_SHM" --arg b "$U_PSHM" '[2, ([$a, $b] | sort)]')" "uid $U: and names its own two orphans"

    out=$("${AS_U[@]}" "$IPCGC" --config "$CONF" sweep --dry-run -J -t shm 2>"$T/err")
    is "$(jq -cS .judged <<<"$out")" "$(with '{"LIVE":1,"ORPHAN":1}')" \
        "uid $U: sweep --dry-run -t shm: .judged counts its own 2 segments only"

    out=$("$IPCGC" --config "$CONF" sweep --dry-run -J)
    is "$(jq -cS .judged <<<"$out")" "$(with '{"LIVE":3,"ORPHAN":5}')" "root: .judged counts all 8 objects"
    is "$(jq .would_remove <<<"$out")" 5 "root: and names all 5 orphans"
    # -t narrows what is counted as it narrows what is named, for everyone.
    out=$("$IPCGC" --config "$CONF" sweep --dry-run -J -t shm)
    is "$(jq -cS .judged <<<"$out")" "$(with '{"LIVE":2,"ORPHAN":2}')" \
        "root: sweep --dry-run -t shm: .judged counts all 4 segments, and nothing else"

    is "$("$IPCGC" --config "$CONF" --local list -J | jq '.objects | length')" 8 "nothing was removed"
    stop_daemon
    done_testing
}

if [ "${1:-}" = --part ]; then
    enter_private_namespaces "$@"
    "part_$2"
fi

out=$(mktemp)
rc=0
for part in once status own; do
    bash "$0" --part $part >>"$out" || rc=1
done
awk '/^1\.\./ { next }
     /^(not )?ok [0-9]+/ { n++; sub(/ok [0-9]+/, "ok " n) }
     { print }
     END { print "1.." n }' "$out"
rm -f "$out"
exit $rc
