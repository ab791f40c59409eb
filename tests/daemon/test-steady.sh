#!/bin/bash
# A daemon sweep that keeps the last judgement's verdicts of no life (a
# "quick" sweep, see judge_quick in daemon/manager.c) must still see every
# way an object judged dead can come to life without changing a fact the
# sweep reads again: an open(2) (fd or mapping), a FIFO reader blocked in
# open(2), a thread blocked in semop(2) or msgrcv(2), a SysV attach.  For
# each, the sweep just before the change must have been such a quick one (so
# the check cannot pass by a full judgement that happened to be due), and
# the sweep just after must not report the object as would-remove.  New
# objects must be seen too.
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }

export IPCGC_TEST_EXCLUSIVE=1
enter_private_namespaces "$@"
trap 'kill $(jobs -p) 2>/dev/null' EXIT # the holders end with the PID namespace

daemon_config "ProcessEvents=no" "DryRun=yes"
cat >>"$CONF" <<EOC

[Rule all]
MinAge=0
Action=collect
EOC

# One orphan of every kind, made by processes that are gone.
mkfifo "$FIFODIR/opened" "$FIFODIR/blocked" "$FIFODIR/spare" # spare: dead to the end
mkdir "$FIFODIR/sub"
hold -x mq /steady-q 16 0600
hold -x pshm /steady-p 4096 0600
hold -x pshm /steady-o 4096 0600 # only ever opened O_PATH: dead to the end
hold -x psem /steady-s 0 0600
hold -x sem 0x6101 2 0600; SEM_ID=$HOLD_ID
hold -x msg 0x6102 16 0600; MSG_ID=$HOLD_ID
hold -x shm 0x6103 4096 0600; SHM_ID=$HOLD_ID
# A pid recorded within a second of now could still be matched by a new
# process: such verdicts are not kept.  Let the SysV times age past that.
read -r -t 2.5 <> <(:) || true

start_daemon

sweep() { "$IPCGC" --config "$CONF" sweep -J 2>/dev/null; }
quick() { "$IPCGC" --config "$CONF" status -J | jq -r .quick_without_life; }
would_remove() { # would_remove ID JSON: prints how many records remove ID
    jq -r --arg id "$1" '[.records[] | select(.id == $id and .action == "would-remove")] | length' <<<"$2"
}

check_id="fifo:$FIFODIR/opened"
first=$(sweep)
is "$(would_remove "$check_id" "$first")" 1 "an unheld FIFO would be removed"
is "$(jq -r '[.records[] | select(.action == "would-remove")] | length' <<<"$first")" 10 \
    "all 10 orphans would be removed"

# case NAME ID COMMAND...: COMMAND brings object ID to life; the sweep before
# must be quick, the one after must not report ID.
case_() {
    local name=$1 id=$2 q1 q2 q3 out
    shift 2
    sweep >/dev/null
    q1=$(quick)
    out=$(sweep)
    q2=$(quick)
    is "$((q2 - q1))" 1 "$name: the sweep before kept the verdicts of no life"
    is "$(would_remove "$id" "$out")" 1 "$name: and would remove $id"
    "$@"
    out=$(sweep)
    q3=$(quick)
    is "$(would_remove "$id" "$out")" 0 "$name: the next sweep does not report $id"
    is "$q3" "$q2" "$name: it was a full judgement"
}

open_fifo() { ( exec 8<>"$FIFODIR/opened"; exec sleep 600 ) & for i in $(seq 200); do [ -e "/proc/$!/fd/8" ] && break; read -r -t 0.01 <> <(:) || true; done; }
block_fifo() {
    ( exec 8<"$FIFODIR/blocked"; exec sleep 600 ) &
    local pid=$! i
    for i in $(seq 200); do
        [ "$(cat "/proc/$pid/wchan" 2>/dev/null)" = wait_for_partner ] && return 0
        read -r -t 0.01 <> <(:) || true
    done
    echo "# the reader never blocked in open"
}
wait_sleeping() { # until HOLD_PID sleeps in the kernel
    local i
    for i in $(seq 200); do
        [ "$(awk '{print $3}' "/proc/$HOLD_PID/stat" 2>/dev/null)" = S ] && return 0
        read -r -t 0.01 <> <(:) || true
    done
}

case_ "fifo opened" "fifo:$FIFODIR/opened" open_fifo
case_ "fifo reader blocked in open" "fifo:$FIFODIR/blocked" block_fifo
case_ "mq opened" "mq:/steady-q" hold mqopen /steady-q 0 0
case_ "pshm mapped" "pshm:/steady-p" hold pshmmap /steady-p 4096 0
case_ "psem opened" "psem:/steady-s" hold psemopen /steady-s 0 0
case_ "sem waiter" "sem:$SEM_ID" eval 'hold semwait 0x6101 0 0; wait_sleeping'
case_ "msg receiver blocked" "msg:$MSG_ID" eval 'hold msgwait 0x6102 0 0; wait_sleeping'
case_ "shm attached" "shm:$SHM_ID" hold shmat 0x6103 0 0

# An O_PATH descriptor is a place, not a use (no open event tells of one
# either): the daemon's quick sweep and a cold --local one agree on it.
sweep >/dev/null
q1=$(quick)
hold opath /dev/shm/steady-o 0 0
out=$(sweep)
local_out=$("$IPCGC" --local --config "$CONF" sweep --dry-run -J 2>/dev/null)
is "$(would_remove pshm:/steady-o "$out") $(would_remove pshm:/steady-o "$local_out")" "1 1" \
    "held O_PATH only: would-remove, for the daemon and for --local alike"
check "(that daemon sweep was a quick one)" test "$(quick)" -gt "$q1"

# New objects, each right after a quick sweep: a FIFO in a subdirectory
# (the directory watch must see it: no file is listed again), then a SysV
# queue (the count must).
new_object() { # new_object DESCRIPTION ID-COMMAND MAKE-COMMAND...
    local desc=$1 idcmd=$2 q1 q2 out
    shift 2
    sweep >/dev/null
    q1=$(quick)
    sweep >/dev/null
    q2=$(quick)
    is "$((q2 - q1))" 1 "$desc: the sweep before kept the verdicts of no life"
    "$@"
    out=$(sweep)
    is "$(would_remove "$($idcmd)" "$out")" 1 "$desc: is seen by the next sweep"
    read -r -t 2.5 <> <(:) || true # let it age past the pid slack
}
fifo_id() { echo "fifo:$FIFODIR/sub/new"; }
msg_id() { echo "msg:$HOLD_ID"; }
new_object "a FIFO made in a subdirectory" fifo_id mkfifo "$FIFODIR/sub/new"
new_object "a msg queue made" msg_id hold -x msg 0x6104 16 0600

stop_daemon
is "$?" 0 "the daemon stops cleanly"
check "no sanitizer report in the daemon's log" bash -c "! grep -q 'Sanitizer' '$T/ipcgcd.err'"
done_testing
