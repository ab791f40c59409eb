#!/bin/bash
# Stopped waiters: a FIFO reader blocked in open(2), a semop(2) waiter and a
# msgrcv(2) waiter, stopped by SIGSTOP (a debugger, job control) or frozen by
# the cgroup v2 freezer.  A stopped thread sleeps in do_signal_stop (frozen:
# do_freezer_trap, read as get_signal where it is inlined), not in its call,
# and semncnt no longer counts it; its /proc/TID/syscall still names the
# interrupted call.  Each must stay LIVE through `list` and `sweep`, --local
# and through ipcgcd (whose quick sweeps read wchans only), and its call must
# complete once it is let go.  Stopped threads in no call, or in an
# unrelated one, wait on nothing: orphans next to them still go.
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }

# Its quick sweeps must be quick: no other test's heavy forking meanwhile.
export IPCGC_TEST_EXCLUSIVE=1
enter_private_namespaces "$@"
trap 'kill -CONT $(jobs -p) 2>/dev/null; kill $(jobs -p) 2>/dev/null' EXIT

cat >>"$CONF" <<EOC

[Rule default]
MinAge=0
Action=collect
EOC

poll() { # poll COMMAND...: until COMMAND succeeds, 10 s at most
    local i
    for i in $(seq 1000); do
        "$@" && return 0
        read -r -t 0.01 <> <(:) || true
    done
    return 1
}
state_is() { [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = "$2" ]; }
wchan_is() { [[ "$(cat "/proc/$1/wchan" 2>/dev/null)" =~ ^($2)(\..*)?$ ]]; }

# waiter NAME TYPE WHAT SIZE [UNIT]: starts `ipc-hold TYPE WHAT SIZE 0` (a
# "once" type: it blocks in one call, then says "done ..."), in its own
# cgroup UNIT if given, and waits for "ready".  W_PID[NAME], W_FD[NAME]: its
# pid and its stdout, kept open to read "done".
declare -A W_PID W_FD
waiter() {
    local name=$1 type=$2 what=$3 size=$4 unit=${5:-} fd word id pid
    if [ -n "$unit" ]; then
        exec {fd}< <(in_unit "$unit" "$HOLD" "$type" "$what" "$size" 0)
    else
        exec {fd}< <("$HOLD" "$type" "$what" "$size" 0)
    fi
    if ! read -r -t 10 -u "$fd" word id pid || [ "$word" != ready ]; then
        echo "Bail out! ipc-hold $type $what did not start"
        exit 1
    fi
    W_PID[$name]=$pid
    W_FD[$name]=$fd
}

# done_line NAME: the waiter's next line ("done ..."), 10 s at most.
done_line() {
    local line=
    read -r -t 10 -u "${W_FD[$1]}" line || true
    echo "$line"
}

post() { "$HOLD" -x "$1" "$2" "$3" 0 >/dev/null; } # post semup|msgput KEY SIZE
# open_writer FIFO: opens it for writing (which waits for a reader) and closes it
open_writer() { [ -p "$1" ] && timeout 10 sh -c ': >"$1"' sh "$1"; }

verdicts() { # verdicts JSON ID...: "ID VERDICT" for each, GONE if not listed
    local id
    for id in "${@:2}"; do
        echo "$id $(jq -r --arg id "$id" '[.objects[] | select(.id == $id) | .verdict] | first // "GONE"' <<<"$1")"
    done
}
removed() { # removed SWEEP-JSON: the ids removed, sorted, on one line
    jq -r '.records[] | select(.action == "removed") | .id' <<<"$1" | sort | paste -sd' '
}
exists() { # exists ID: is the object still there?
    case $1 in
    fifo:*) [ -p "${1#fifo:}" ] ;;
    sem:*) awk -v id="${1#sem:}" 'NR > 1 && $2 == id { f = 1 } END { exit !f }' /proc/sysvipc/sem ;;
    msg:*) awk -v id="${1#msg:}" 'NR > 1 && $2 == id { f = 1 } END { exit !f }' /proc/sysvipc/msg ;;
    esac
}
forget() { # forget ID...: removes objects whose test is over
    local id
    for id in "$@"; do
        case $id in
        fifo:*) rm -f "${id#fifo:}" ;;
        sem:*) ipcrm -s "${id#sem:}" ;;
        msg:*) ipcrm -q "${id#msg:}" ;;
        esac
    done
}
semncnt() { # semncnt ID NUM: processes waiting for semaphore NUM to grow
    ipcs -s -i "$1" | awk -v n="$2" '$1 == n && NF >= 5 { print $3 }'
}
show() { # show NAME: what /proc says of a waiter now (a TAP comment)
    local p=${W_PID[$1]}
    echo "# $1 (pid $p): state $(awk '{print $3}' "/proc/$p/stat"), wchan $(cat "/proc/$p/wchan"), syscall $(cut -d' ' -f1-3 "/proc/$p/syscall")"
}

# expect VERDICT DESCRIPTION JSON-LIST ID...: each ID has VERDICT in the list
expect() {
    local verdict=$1 what=$2 json=$3 want got
    shift 3
    want=$(printf "%s $verdict\n" "$@")
    got=$(verdicts "$json" "$@")
    is "$got" "$want" "$what"
    if [ "$got" != "$want" ]; then
        jq -r '.objects[] | "#   \(.id) \(.verdict): \(.reason)"' <<<"$json"
    fi
}
expect_live() { # expect_live WHAT JSON-LIST ID...
    expect LIVE "$1: $(($# - 2)) stopped waiters' objects LIVE" "${@:2}"
}

# --- 1. SIGSTOP --------------------------------------------------------------

# Orphans first, so they get SysV id 0, which a stopped call's first
# argument (clock_nanosleep's CLOCK_REALTIME) reads as too.
mkfifo "$FIFODIR/orphan"
hold -x sem 0x7101 2 0600; ORPHAN_SEM=sem:$HOLD_ID
hold -x msg 0x7102 16 0600; ORPHAN_MSG=msg:$HOLD_ID
is "$ORPHAN_SEM $ORPHAN_MSG" "sem:0 msg:0" "the orphans have SysV id 0"

# Each used by a process that is gone (a never-used queue or set is judged
# by its owner's processes instead): nothing but the waiter keeps it.  The
# queue's message is of type 1; the waiter wants type 2.
mkfifo "$FIFODIR/stopped"
hold -x sem 0x7103 2 0600; SEM=sem:$HOLD_ID
hold -x msg 0x7104 16 0600; MSG=msg:$HOLD_ID
FIFO=fifo:$FIFODIR/stopped

waiter fifo fifoonce "$FIFODIR/stopped" 0
waiter sem semonce 0x7103 0
waiter msg msgonce 0x7104 64
check "the FIFO reader blocks in open" poll wchan_is "${W_PID[fifo]}" wait_for_partner
check "the semop waiter blocks" poll wchan_is "${W_PID[sem]}" '__do_semtimedop|do_semtimedop'
check "the msgrcv waiter blocks" poll wchan_is "${W_PID[msg]}" do_msgrcv
is "$(semncnt "${SEM#sem:}" 1)" 1 "semncnt counts the running waiter"

# Stopped outside any call, and in an unrelated one.
sh -c 'while :; do :; done' &
BUSY=$!
sleep 600 &
SLEEPER=$!
check "the sleeper sleeps" poll wchan_is "$SLEEPER" 'hrtimer_nanosleep|do_nanosleep|clock_nanosleep'

for name in fifo sem msg; do kill -STOP "${W_PID[$name]}"; done
kill -STOP "$BUSY" "$SLEEPER"
for name in fifo sem msg; do
    check "the $name waiter is stopped (state T)" poll state_is "${W_PID[$name]}" T
    show "$name"
done
check "the busy loop is stopped" poll state_is "$BUSY" T
check "the sleeper is stopped" poll state_is "$SLEEPER" T
echo "# busy loop: syscall $(cat "/proc/$BUSY/syscall"); sleeper: syscall $(cut -d' ' -f1-3 "/proc/$SLEEPER/syscall")"
is "$(semncnt "${SEM#sem:}" 1)" 0 "semncnt no longer counts the stopped waiter (the blind spot)"

json=$("$IPCGC" --local --config "$CONF" list -J)
is "$?" 0 "list --local succeeds"
expect_live "SIGSTOP, list --local" "$json" "$FIFO" "$SEM" "$MSG"
for id in "$FIFO" "$SEM" "$MSG"; do
    echo "# $id: $(jq -r --arg id "$id" '.objects[] | select(.id == $id) | .reason' <<<"$json")"
done
expect ORPHAN "stopped threads in no call or another call wait on none of the orphans" "$json" \
    "fifo:$FIFODIR/orphan" "$ORPHAN_SEM" "$ORPHAN_MSG"

out=$("$IPCGC" --local --config "$CONF" sweep -J)
is "$?" 0 "sweep --local succeeds"
is "$(removed "$out")" "$(printf '%s\n' "fifo:$FIFODIR/orphan" "$ORPHAN_MSG" "$ORPHAN_SEM" | sort | paste -sd' ')" \
    "sweep --local removes the three orphans and nothing else"
for id in "$FIFO" "$SEM" "$MSG"; do check "$id is still there after sweep --local" exists "$id"; done

# Through the daemon: its first sweep is a full judgement.
daemon_config
start_daemon
out=$("$IPCGC" --config "$CONF" sweep -J)
is "$?" 0 "sweep through ipcgcd succeeds"
is "$(removed "$out")" "" "sweep through ipcgcd removes none of them"
expect_live "SIGSTOP, list through ipcgcd" "$("$IPCGC" --config "$CONF" list -J)" "$FIFO" "$SEM" "$MSG"
for id in "$FIFO" "$SEM" "$MSG"; do check "$id is still there after the daemon's sweep" exists "$id"; done
stop_daemon

# Let go, each call completes.
kill -CONT "${W_PID[fifo]}" "${W_PID[sem]}" "${W_PID[msg]}"
check "a writer opens the FIFO once its reader is let go" open_writer "$FIFODIR/stopped"
is "$(done_line fifo)" "done open" "the FIFO reader's open succeeds"
check "a semop +1 on the semaphore waited for" post semup 0x7103 0
is "$(done_line sem)" "done semop" "the semop waiter's semop completes after a semop +1"
check "a message sent to the queue" post msgput 0x7104 5
is "$(done_line msg)" "done msgrcv 2 5 ipc-h" "the msgrcv waiter receives the message sent"
kill "${W_PID[fifo]}" "${W_PID[sem]}" "${W_PID[msg]}" "$BUSY" "$SLEEPER" 2>/dev/null
kill -CONT "$BUSY" "$SLEEPER"
forget "$FIFO" "$SEM" "$MSG"

# --- 2. the daemon's quick sweep ---------------------------------------------
# Objects judged dead by a full judgement; a quick sweep (no walk of /proc:
# the wchans it keeps open, see lib/sleepers.c) keeps that verdict; then a
# waiter blocks on each and is stopped before the next sweep, which must see
# it, as a full judgement would.

cat >"$T/dry.conf" <<EOC
$(cat "$CONF")
[Daemon]
DryRun=yes
ProcessEvents=no
EOC
CONF=$T/dry.conf
mkfifo "$FIFODIR/quick"
hold -x sem 0x7105 2 0600; QSEM=sem:$HOLD_ID
hold -x msg 0x7106 16 0600; QMSG=msg:$HOLD_ID
QFIFO=fifo:$FIFODIR/quick
# A pid recorded within a second of now could still be matched by a new
# process: such verdicts are not kept.  Let the SysV times age past that.
read -r -t 2.5 <> <(:) || true
start_daemon
quick() { "$IPCGC" --config "$CONF" status -J | jq -r .quick_without_life; }
would_remove() { jq -r '[.records[] | select(.action == "would-remove") | .id] | sort | join(" ")' <<<"$1"; }
"$IPCGC" --config "$CONF" sweep -J >/dev/null
q1=$(quick)
out=$("$IPCGC" --config "$CONF" sweep -J)
q2=$(quick)
is "$((q2 - q1))" 1 "quick: the sweep before kept the verdicts of no life"
is "$(would_remove "$out")" "$(printf '%s\n' "$QFIFO" "$QMSG" "$QSEM" | sort | paste -sd' ')" \
    "quick: and would remove all three"

waiter qfifo fifoonce "$FIFODIR/quick" 0
waiter qsem semonce 0x7105 0
waiter qmsg msgonce 0x7106 64
check "quick: the FIFO reader blocks in open" poll wchan_is "${W_PID[qfifo]}" wait_for_partner
check "quick: the semop waiter blocks" poll wchan_is "${W_PID[qsem]}" '__do_semtimedop|do_semtimedop'
check "quick: the msgrcv waiter blocks" poll wchan_is "${W_PID[qmsg]}" do_msgrcv
for name in qfifo qsem qmsg; do
    kill -STOP "${W_PID[$name]}"
    check "quick: the $name waiter is stopped" poll state_is "${W_PID[$name]}" T
done
out=$("$IPCGC" --config "$CONF" sweep -J)
q3=$(quick)
is "$(would_remove "$out")" "" "quick: the next sweep would remove none of them"
is "$q3" "$q2" "quick: it was a full judgement"
stop_daemon
kill -CONT "${W_PID[qfifo]}" "${W_PID[qsem]}" "${W_PID[qmsg]}"
kill "${W_PID[qfifo]}" "${W_PID[qsem]}" "${W_PID[qmsg]}"
forget "$QFIFO" "$QSEM" "$QMSG"

# --- 3. the cgroup v2 freezer ------------------------------------------------

CONF=$T/ipcgc.conf
ICE=$(test_cgroup_root)/ice.scope
mkdir -p "$ICE"
if [ ! -e "$ICE/cgroup.freeze" ]; then
    ok "# SKIP no cgroup v2 freezer (cgroup.freeze) here"
    done_testing
fi
mkfifo "$FIFODIR/frozen"
hold -x sem 0x7107 2 0600; FSEM=sem:$HOLD_ID
hold -x msg 0x7108 16 0600; FMSG=msg:$HOLD_ID
FFIFO=fifo:$FIFODIR/frozen
waiter ffifo fifoonce "$FIFODIR/frozen" 0 ice.scope
waiter fsem semonce 0x7107 0 ice.scope
waiter fmsg msgonce 0x7108 64 ice.scope
check "freezer: the FIFO reader blocks in open" poll wchan_is "${W_PID[ffifo]}" wait_for_partner
check "freezer: the semop waiter blocks" poll wchan_is "${W_PID[fsem]}" '__do_semtimedop|do_semtimedop'
check "freezer: the msgrcv waiter blocks" poll wchan_is "${W_PID[fmsg]}" do_msgrcv
echo 1 >"$ICE/cgroup.freeze"
check "freezer: the unit is frozen" poll grep -qx 'frozen 1' "$ICE/cgroup.events"
for name in ffifo fsem fmsg; do show "$name"; done
is "$(semncnt "${FSEM#sem:}" 1)" 0 "freezer: semncnt no longer counts the frozen waiter"

json=$("$IPCGC" --local --config "$CONF" list -J)
is "$?" 0 "freezer: list --local succeeds"
expect_live "freezer, list --local" "$json" "$FFIFO" "$FSEM" "$FMSG"
out=$("$IPCGC" --local --config "$CONF" sweep -J)
is "$?" 0 "freezer: sweep --local succeeds"
is "$(removed "$out")" "" "freezer: sweep --local removes none of them"
for id in "$FFIFO" "$FSEM" "$FMSG"; do check "freezer: $id is still there" exists "$id"; done

echo 0 >"$ICE/cgroup.freeze"
check "freezer: the unit is thawed" poll grep -qx 'frozen 0' "$ICE/cgroup.events"
check "freezer: a writer opens the FIFO once its reader is thawed" open_writer "$FIFODIR/frozen"
is "$(done_line ffifo)" "done open" "freezer: the FIFO reader's open succeeds"
check "freezer: a semop +1 on the semaphore waited for" post semup 0x7107 0
is "$(done_line fsem)" "done semop" "freezer: the semop completes after a semop +1"
check "freezer: a message sent to the queue" post msgput 0x7108 5
is "$(done_line fmsg)" "done msgrcv 2 5 ipc-h" "freezer: the msgrcv receives the message sent"
kill "${W_PID[ffifo]}" "${W_PID[fsem]}" "${W_PID[fmsg]}"

done_testing
