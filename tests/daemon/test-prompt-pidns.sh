#!/bin/bash
# Prompt removal without the process connector.  Inside a PID namespace other
# than the initial one the kernel does not serve the connector, so ipcgcd
# cannot hear exits that way; with Interval=1h its timer is no help either.
# It must watch the pidfds of the evidence it relies on: an orphan whose rule
# lets it go at once (MinAge=0) goes within 1 s of its holder's SIGKILL.
# One holder each of a mapped pshm, a FIFO held open and an attached shm, all
# judged LIVE by the daemon before their holders are killed, one at a time.
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }

export IPCGC_TEST_EXCLUSIVE=1 # it times process exits
enter_private_namespaces "$@" # a private PID namespace: no connector
trap 'kill $DAEMON_PID $(jobs -p) 2>/dev/null' EXIT

daemon_config "Interval=1h"
printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"

now_ms() { echo $((${EPOCHREALTIME/[.,]/} / 1000)); }
nap() { read -r -t "$1" <> <(:) || true; } # one poll period, never a synchronisation
sysv_has() { awk -v id="$2" 'NR > 1 && $2 == id { f = 1 } END { exit !f }' "/proc/sysvipc/$1"; }
exists() { # exists ID: the object is still there
    case $1 in
    pshm:*) [ -e "/dev/shm/${1#pshm:/}" ] ;;
    fifo:*) [ -p "${1#fifo:}" ] ;;
    shm:*) sysv_has shm "${1#shm:}" ;;
    *) return 2 ;;
    esac
}
verdict() { # verdict ID: the daemon's verdict on ID (empty if not listed)
    "$IPCGC" --config "$CONF" list -J 2>/dev/null | jq -r --arg id "$1" '.objects[] | select(.id == $id) | .verdict'
}

hold pshm /prompt-p 4096 0600
P_PID=$HOLD_PID
hold fifo "$FIFODIR/prompt-f" 0 0600
F_PID=$HOLD_PID
hold shm 0x5301 4096 0600
S_ID=$HOLD_ID
S_PID=$HOLD_PID

start_daemon
is "$("$IPCGC" --config "$CONF" status -J | jq .process_events)" false "the daemon has no process connector here"
check "its log says the connector is unavailable" grep -q 'process connector unavailable' "$T/ipcgcd.err"

# case_ NAME ID PID: PID holds ID; once the daemon judges it LIVE, SIGKILL PID
# and time the removal.
case_() {
    local name=$1 id=$2 pid=$3 v='' i t0 t gone=''
    for ((i = 0; i < 100; i++)); do
        v=$(verdict "$id")
        [ "$v" = LIVE ] && break
        nap 0.1
    done
    is "$v" LIVE "$name: the daemon judges it LIVE while its holder runs"
    local sweeps0
    sweeps0=$("$IPCGC" --config "$CONF" status -J | jq .sweeps)
    kill -KILL "$pid"
    t0=$(now_ms)
    while :; do
        t=$(now_ms)
        if ! exists "$id"; then gone=$((t - t0)); break; fi
        [ $((t - t0)) -gt 5000 ] && break
        nap 0.005
    done
    if [ -n "$gone" ]; then
        diag "$name: removed $gone ms after its holder's SIGKILL"
        check "$name: removed within 1 s of its holder's SIGKILL (took $gone ms)" test "$gone" -le 1000
    else
        not_ok "$name: removed within 1 s of its holder's SIGKILL (still there after 5 s)"
        diag "$("$IPCGC" --config "$CONF" list -o ID,VERDICT,REASON 2>&1)"
    fi
    check "$name: by a sweep of the daemon (sweeps went from $sweeps0)" \
        test "$("$IPCGC" --config "$CONF" status -J | jq .sweeps)" -gt "$sweeps0"
}

case_ "pshm mapped" pshm:/prompt-p "$P_PID"
case_ "FIFO held open" "fifo:$FIFODIR/prompt-f" "$F_PID"
case_ "shm attached" "shm:$S_ID" "$S_PID"

diag "daemon log:
$(cat "$T/ipcgcd.err")"
alive "the three removals"
stop_daemon
done_testing
