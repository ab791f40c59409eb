#!/bin/bash
# What ipcgcd tells the admin of its work, as this test sees it (standard
# error: no journald here; the journal itself is tests/systemd's):
#  - a dry-run daemon says each would-remove once per object, however many
#    sweeps see it, and once more after its verdict changed and came back;
#  - each line names the place that decided (CODE_FILE:CODE_LINE, with
#    --debug), the caller's, not the logger's;
#  - the history (`ipcgc history`) survives a restart of the daemon, with
#    each object's owner, key or name, and size, and is still filtered by
#    owner for users who are not admins; a corrupt history file is said, set
#    aside, and the daemon starts with an empty history.
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }

enter_private_namespaces "$@"
trap 'kill $DAEMON_PID $(jobs -p) 2>/dev/null' EXIT

daemon_config "ProcessEvents=no" "DryRun=yes" "Interval=1s"
printf '\n[Rule all]\nMinAge=0\nAction=collect\n' >>"$CONF"

# Four orphans, root's and uid 4600's, SysV and not.
hold -x shm 0x6201 4096 0600; SHM_ID=$HOLD_ID
hold_as 4600:4600 -x msg 0x6202 16 0600; MSG_ID=$HOLD_ID
hold_as 4600:4600 -x mq /journal-q 16 0600
mkfifo "$FIFODIR/journal-f"
IDS=("shm:$SHM_ID" "msg:$MSG_ID" "mq:/journal-q" "fifo:$FIFODIR/journal-f")

sweeps() { "$IPCGC" --config "$CONF" status -J 2>/dev/null | jq -r '.sweeps // 0'; }
# wait_sweeps N: until the daemon has swept N more times than now (10 s).
wait_sweeps() {
    local want=$(($(sweeps) + $1)) i
    for i in $(seq 200); do
        [ "$(sweeps)" -ge "$want" ] && return 0
        read -r -t 0.05 <> <(:) || true
    done
    return 1
}
# said ID: how many would-remove lines the daemon wrote for ID.
said() { grep -cF -- " $1 would-remove: " "$T/ipcgcd.err"; }
# wait_said ID N: until there are N (10 s).
wait_said() {
    local i
    for i in $(seq 200); do
        [ "$(said "$1")" -ge "$2" ] && return 0
        read -r -t 0.05 <> <(:) || true
    done
    return 1
}

start_daemon --debug
for id in "${IDS[@]}"; do wait_said "$id" 1; done
check "three more sweeps of the dry-run daemon" wait_sweeps 3
is "$(for id in "${IDS[@]}"; do said "$id"; done | paste -sd' ')" "1 1 1 1" \
    "one would-remove line per orphan over $(sweeps) sweeps"
line=$(grep -F " ${IDS[0]} would-remove: " "$T/ipcgcd.err")
diag "$line"
want=$(grep -n 'log_record(prio, id, &shown, ' "$top_srcdir/daemon/manager.c" | cut -d: -f1)
is "$(sed -n 's/^ipcgcd: info: \([^ ]*\) (\([a-z_]*\)): .*/\1 \2/p' <<<"$line")" "daemon/manager.c:$want log_records" \
    "the line names its caller's file, line and function (CODE_FILE, CODE_LINE, CODE_FUNC)"
check "and no line names the logger's own file" bash -c "! grep -q 'daemon/log.c' '$T/ipcgcd.err'"

# The segment comes to life (attached), is seen so by a sweep, and is left
# again: its would-remove is news once more, and once only.
hold shmat 0x6201 0 0
ATTACH_PID=$HOLD_PID
for i in $(seq 200); do
    [ "$("$IPCGC" --config "$CONF" explain -J "shm:$SHM_ID" 2>/dev/null | jq -r .verdict)" = LIVE ] && break
    read -r -t 0.05 <> <(:) || true
done
check "two sweeps while shm:$SHM_ID is attached" wait_sweeps 2
is "$(said "shm:$SHM_ID")" 1 "nothing said of it while it lives"
kill "$ATTACH_PID"
wait "$ATTACH_PID" 2>/dev/null
check "its would-remove is said again once it is an orphan again" wait_said "shm:$SHM_ID" 2
check "three more sweeps" wait_sweeps 3
is "$(for id in "${IDS[@]}"; do said "$id"; done | paste -sd' ')" "2 1 1 1" \
    "and only once more; the others still once"
is "$(grep -c '^ipcgcd: info: [^ ]* (log_summary): sweep (.*would be removed (dry run)$' "$T/ipcgcd.err")" 2 \
    "a summary at info only for the two sweeps that said something new"
check "the first: 4 objects, 4 would be removed" \
    grep -q 'sweep (start): 4 objects, 0 removed, 0 skipped, 0 failed, 4 would be removed (dry run)$' "$T/ipcgcd.err"
stop_daemon

# A dry run that stops at MaxRemovalsPerSweep= stops so at every sweep:
# said once, kept in the history once.
sed -i 's/^DryRun=yes$/DryRun=yes\nMaxRemovalsPerSweep=2/' "$CONF"
: >"$T/ipcgcd.err"
start_daemon
check "four sweeps of a dry-run daemon with MaxRemovalsPerSweep=2" wait_sweeps 4
is "$(grep -c -- '^ipcgcd: warning: - stopped: MaxRemovalsPerSweep=2 reached' "$T/ipcgcd.err")" 1 "its stop is said once"
is "$("$IPCGC" --config "$CONF" history -J | jq '[.entries[] | select(.action == "stopped")] | length')" 1 \
    "and kept in the history once"
is "$(grep -c ' would-remove: ' "$T/ipcgcd.err")" 2 "the two would-removes it got to are said once each"
stop_daemon
sed -i '/^MaxRemovalsPerSweep=2$/d' "$CONF"

# A real daemon removes them; its history is kept in StateDir.
sed -i 's/^DryRun=yes$/DryRun=no/' "$CONF"
: >"$T/ipcgcd.err"
start_daemon --debug
history() { "$IPCGC" --config "$CONF" history -J | jq -c '[.entries[] | {time, action, id, uid, key, size, archive}]'; }
removed() { jq -r '[.[] | select(.action == "removed") | .id] | sort | join(" ")' <<<"$1"; }
before=$(history)
is "$(removed "$before")" "$(printf '%s\n' "${IDS[@]}" | sort | paste -sd' ')" "the start sweep removed the four"
check "the history file is there, root's only" test "$(stat -c '%a %u' "$T/state/history" 2>&1)" = "600 0"
stop_daemon
start_daemon --debug
after=$(history)
is "$after" "$before" "after a restart, ipcgc history shows the same entries (time, owner, key, size, archive)"
is "$(jq -r '.[] | select(.id == "msg:'"$MSG_ID"'") | "\(.uid) \(.key) \(.size)"' <<<"$after")" "4600 25090 16" \
    "uid 4600's queue: its owner, key (0x6202) and size"
is "$(jq -r '.[] | select(.id == "mq:/journal-q") | "\(.uid) \(.key) \(.archive != null)"' <<<"$after")" "4600 null true" \
    "its mq: owner, no key, and its archive entry"
mine=$(setpriv --reuid=4600 --regid=4600 --clear-groups "$IPCGC" --config "$CONF" history -J |
    jq -r '[.entries[].id] | sort | join(" ")')
is "$mine" "$(printf '%s\n' "msg:$MSG_ID" mq:/journal-q | sort | paste -sd' ')" \
    "uid 4600 sees its own two of them, read back from the file"
row=$("$IPCGC" --config "$CONF" history -r -n | grep " msg:$MSG_ID ")
is "$(cut -d' ' -f2-6 <<<"$row")" "removed msg:$MSG_ID 0x00006202 4600 16" \
    "ipcgc history's table shows the queue's KEY, OWNER and SIZE (read back)"
check "the daemon said it read them" \
    grep -q "history: $(jq length <<<"$after") entries read from $T/state/history" "$T/ipcgcd.err"
stop_daemon

# A corrupt history: said with the file's name, set aside, and an empty
# history, not a crash.
head -c 100 "$T/state/history" >"$T/state/history.cut" && mv "$T/state/history.cut" "$T/state/history"
: >"$T/ipcgcd.err"
start_daemon
is "$("$IPCGC" --config "$CONF" history -J | jq '.entries | length')" 0 "a cut history file gives an empty history"
check "the daemon says so, naming the file and the line" \
    grep -q "error: $T/state/history: line 2 is cut or longer than 65536 bytes; starting with an empty history (the file is now history.bad)" "$T/ipcgcd.err"
check "and set it aside as history.bad" test -s "$T/state/history.bad"
diag "$(grep history "$T/ipcgcd.err")"
stop_daemon
# An entry that this file cannot have held (no time, no verdict) is refused
# as a cut one is; what is saved after is read back whole.
printf 'ipcgc-history 1\n{"action":"removed","id":"shm:1","type":"shm"}\n' >"$T/state/history"
: >"$T/ipcgcd.err"
start_daemon
check "an entry without its time is refused, naming the line" \
    grep -q "$T/state/history: line 2 is no history entry" "$T/ipcgcd.err"
check "(the file set aside is that one)" grep -q '"shm:1"' "$T/state/history.bad"
hold -x shm 0x6203 4096 0600
"$IPCGC" --config "$CONF" sweep >/dev/null 2>&1
stop_daemon
start_daemon
is "$("$IPCGC" --config "$CONF" history -J | jq -r '[.entries[] | "\(.action) \(.key)"] | join(" ")')" "removed 25091" \
    "a history saved after that is read back whole"
stop_daemon
# A FIFO put in its place neither blocks the start nor is read.
rm -f "$T/state/history" && mkfifo "$T/state/history"
: >"$T/ipcgcd.err"
start_daemon
check "a FIFO named history is refused as not a regular file" \
    grep -q "$T/state/history: not a regular file; starting with an empty history" "$T/ipcgcd.err"
is "$("$IPCGC" --config "$CONF" history -J | jq '.entries | length')" 0 "and the history is empty"
check "(set aside)" test -p "$T/state/history.bad"
stop_daemon
done_testing
