#!/bin/bash
# Blind spot 7 of issue 9: a step of the wall clock.  After NTP's makestep,
# or on a machine without an RTC that sets its time late, CLOCK_REALTIME
# jumps while every timestamp the kernel took before stays put.  A process
# start time computed as (REALTIME - BOOTTIME) + starttime then lands after
# the ctime of the objects that process made, and a live creator looks like
# a newer process that took over a dead one's pid.
#
# The step is simulated for ipcgc's process alone: tests/helpers/clockshift.so,
# preloaded, moves its CLOCK_REALTIME, time() and gettimeofday() by
# $IPCGC_CLOCK_SHIFT seconds; CLOCK_BOOTTIME and the kernel's clock do not
# move.  A live program (creator of a shm it has not attached, sender of a
# message still queued) is judged once without the step, so the memory of
# life knows it, then with the clock stepped forward by 5 s, by 1000 s, and
# back by 1000 s (a fresh program for each): nothing live may be removed,
# and list must call both objects LIVE, during the step and after it.
# Without memory (a fresh StateDir) the same 1000 s step is shown, not
# judged: what ipcgc does there is reported for the record.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"
trap 'kill $(jobs -p) 2>/dev/null' EXIT

diag() { local line; while IFS= read -r line; do echo "# $line"; done <<<"$*"; }

printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"
TAMPER=$top_builddir/tests/helpers/ipc-tamper
SHIM=$top_builddir/tests/helpers/clockshift.so
[ -x "$TAMPER" ] && [ -f "$SHIM" ] || { echo "Bail out! build tests/helpers/ipc-tamper and clockshift.so (make check)"; exit 1; }

# Under ASan, libasan must come first in the initial library list or the
# runtime refuses to start; the shim goes after it (it reads the kernel's
# clocks by raw system calls, so its place after the interceptors is safe).
asan=$(ldd "$IPCGC" | awk '$1 ~ /^libasan/ { print $3 }')
PRELOAD="${asan:+$asan }$SHIM"
shifted() { # shifted SECONDS CMD...: CMD with its wall clock moved by SECONDS
    local s=$1
    shift
    LD_PRELOAD=$PRELOAD IPCGC_CLOCK_SHIFT=$s "$@"
}

# The shim does what it says, on a process we can ask.
real=$(date +%s)
moved=$(shifted 1000 date +%s)
check "the shim moves a preloaded process's wall clock by 1000 s" test $((moved - real)) -ge 999 -a $((moved - real)) -le 1001
moved=$(shifted 1000 "$IPCGC" --version 2>&1 >/dev/null)
is "$moved" "" "ipcgc starts with the shim preloaded (nothing on stderr)"

# live_program N: starts the live program with keys 0x7c<N>1 and 0x7c<N>2:
# a shm made and never attached, one message sent.  Sets SHM_ID, MSG_ID,
# LIVE_PID and IDS ("msg:ID shm:ID").
live_program() {
    local fd word
    exec {fd}< <("$TAMPER" live "0x7c${1}1" "0x7c${1}2" 0600)
    read -r -u "$fd" word SHM_ID MSG_ID LIVE_PID && [ "$word" = ready ] || { echo "Bail out! ipc-tamper live did not start"; exit 1; }
    exec {fd}<&-
    IDS="msg:$MSG_ID shm:$SHM_ID"
}
# end_program: stops it and removes its objects, so each step starts clean.
end_program() {
    kill "$LIVE_PID"
    while [ -e "/proc/$LIVE_PID" ] && [ "$(awk '{ print $3 }' "/proc/$LIVE_PID/stat" 2>/dev/null)" != Z ]; do
        read -r -t 0.01 <> <(:) || true
    done
    ipcrm -m "$SHM_ID" -q "$MSG_ID" 2>/dev/null
}
# sysv_there shm|msg ID: the kernel still has it (ipcs -i says "not found" and exits 0)
sysv_there() { awk -v id="$2" 'NR > 1 && $2 == id { found = 1 } END { exit !found }' "/proc/sysvipc/$1"; }

# mine JSON: "id verdict" of the live program's objects in a list -J, sorted
mine() {
    jq -r --arg ids "$IDS" '.objects[] | select(.id as $i | $ids | split(" ") | index($i)) | "\(.id) \(.verdict)"' <<<"$1" |
        LC_ALL=C sort | paste -sd' '
}
reasons() { # reasons JSON: the verdicts and reasons, as TAP comments
    jq -r --arg ids "$IDS" '.objects[] | select(.id as $i | $ids | split(" ") | index($i)) | "  \(.id) \(.verdict): \(.reason)"' <<<"$1" |
        diag "$(cat)"
}

# --- Steps forward (and back), each with the memory taught first --------------
n=1
for s in 5 1000 -1000; do
    live_program "$n"
    n=$((n + 1))
    ALL_LIVE="msg:$MSG_ID LIVE shm:$SHM_ID LIVE"
    json=$("$IPCGC" --local --config "$CONF" list -J 2>"$T/list.err")
    is "$(mine "$json")" "$ALL_LIVE" "step $s s: before it, the live program's shm and msg are LIVE"
    ctime_before=$(jq -r --arg id "shm:$SHM_ID" '.objects[] | select(.id == $id) | .ctime' <<<"$json")
    check "step $s s: before it, the memory of life was saved ($T/state/memory)" test -s "$T/state/memory"

    json=$(shifted "$s" "$IPCGC" --local --config "$CONF" list -J 2>"$T/list.err")
    idle=$(jq -r --arg id "shm:$SHM_ID" '.objects[] | select(.id == $id) | .idle' <<<"$json")
    if [ "$s" -gt 0 ]; then
        check "step $s s: ipcgc's clock moved (shm idle ${idle:-?} s >= $s s)" test "${idle:-0}" -ge "$s"
    fi
    is "$(jq -r --arg id "shm:$SHM_ID" '.objects[] | select(.id == $id) | .ctime' <<<"$json")" "$ctime_before" \
        "step $s s: the kernel's ctime of the shm did not move"
    reasons "$json"
    is "$(mine "$json")" "$ALL_LIVE" "step $s s: list shows the live program's shm and msg LIVE"
    out=$(shifted "$s" "$IPCGC" --local --config "$CONF" sweep -J 2>"$T/sweep.err")
    is "$?" 0 "step $s s: sweep exits 0"
    is "$(jq -r --arg ids "$IDS" '.records[] | select(.action == "removed") | select(.id as $i | $ids | split(" ") | index($i)) | .id' <<<"$out" | paste -sd' ')" "" \
        "step $s s: sweep removes nothing of the live program"
    [ -s "$T/sweep.err" ] && diag "sweep stderr: $(cat "$T/sweep.err")"
    check "step $s s: the shm is still there" sysv_there shm "$SHM_ID"
    check "step $s s: the message queue too" sysv_there msg "$MSG_ID"
    json=$("$IPCGC" --local --config "$CONF" list -J 2>"$T/list.err")
    is "$(mine "$json")" "$ALL_LIVE" "step $s s: after it, without the shift, still LIVE"
    end_program
done

# --- No memory, 1000 s forward: reported, not judged --------------------------
# A program ipcgc has never judged: with no memory there is nothing to tell
# the step by but the clocks themselves.
live_program "$n"
sed "s|^StateDir=.*|StateDir=$T/state-fresh|" "$CONF" >"$T/fresh.conf"
json=$(shifted 1000 "$IPCGC" --local --config "$T/fresh.conf" list -J 2>"$T/fresh.err")
diag "no memory, step 1000 s, list:"
reasons "$json"
out=$(shifted 1000 "$IPCGC" --local --config "$T/fresh.conf" sweep --dry-run -J 2>>"$T/fresh.err")
diag "no memory, step 1000 s, sweep --dry-run would remove: $(jq -r '[.records[] | select(.action == "would-remove") | .id] | join(" ")' <<<"$out")"
[ -s "$T/fresh.err" ] && diag "stderr: $(cat "$T/fresh.err")"
end_program

done_testing
