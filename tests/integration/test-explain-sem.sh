#!/bin/bash
# `ipcgc explain` of a sem set (issue 13), with --local and through the
# daemon, in private namespaces: each semaphore's value, waiters and last
# pid, that pid's state and command line, as perl's IPC::SysV reads them
# (never the code under test); every live evidence pid with its command
# line, escaped and bounded; a set the caller cannot read says so; sets of
# root and of uid 4600.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

command -v jq >/dev/null || { echo "Bail out! jq missing"; exit 1; }
perl -MIPC::SysV -e 1 2>/dev/null || { echo "Bail out! perl IPC::SysV missing"; exit 1; }
FILL="$top_builddir/tests/helpers/ipc-fill"
sed -i "/^\[Daemon\]/a Socket=$T/io.ipcgc\nInterval=1h" "$CONF"
USER4600=(setpriv --reuid=4600 --regid=4600 --clear-groups)

# semctl ID NUM CMD: GETVAL, GETPID, GETNCNT or GETZCNT of one semaphore.
semctl() { perl -MIPC::SysV=GETVAL,GETPID,GETNCNT,GETZCNT -e '
    my $v = semctl($ARGV[0], $ARGV[1], eval $ARGV[2], 0) // die "semctl: $!"; print $v + 0' "$@"; }
# sems ID N: [[num, value, ncnt, zcnt, pid], ...] of the first N, read by perl
# (explain says a pid of 0, no semop yet, as null).
sems() {
    local i sep= s="["
    for ((i = 0; i < $2; i++)); do
        s+="$sep[$i,$(semctl "$1" $i GETVAL),$(semctl "$1" $i GETNCNT),$(semctl "$1" $i GETZCNT),$(semctl "$1" $i GETPID)]"
        sep=,
    done
    echo "$s]"
}
# wait_ncnt ID NUM N: until N processes wait on semaphore NUM (5 s at most).
wait_ncnt() {
    local i
    for i in $(seq 500); do
        [ "$(semctl "$1" "$2" GETNCNT)" = "$3" ] && return 0
        read -r -t 0.01 <> <(:) || true
    done
    return 1
}
run() { out=$("$@" 2>"$T/stderr"); rc=$?; err=$(cat "$T/stderr"); }

# Set A, root's: values 3 0 7, last op by ipc-fill (gone), one waiter on
# semaphore 1.
A=$("$FILL" sem 0x4501 0600 3 0 7)
FILL_PID=$(semctl "$A" 0 GETPID)
hold semwait 0x4501 0 0
WAITER=$HOLD_PID
check "a process waits on semaphore 1 of set A" wait_ncnt "$A" 1 1
# Set B, uid 4600's: semop +1 on semaphore 0 by a process that lives on.
hold_as 4600:4600 sem 0x4502 2 0600
B=$HOLD_ID B_PID=$HOLD_PID
# Set C: its last op by a process whose command line is long and holds a
# control character.
NAME="prog"$'\x01'"name-$(head -c 600 /dev/zero | tr '\0' a)"
exec {fd}< <(exec -a "$NAME" "$HOLD" sem 0x4503 1 0600)
read -r -u "$fd" word C C_PID || true
is "$word" ready "set C's holder started"
# Set D: more semaphores than explain lists.
D=$("$FILL" sem 0x4504 0600 $(seq 1100 | sed 's/.*/1/'))

for via in local daemon; do
    cli_via $via

    run "${CLI[@]}" explain -J "sem:$A"
    is "$rc" 0 "$via: explain -J sem:$A exits 0"
    is "$(jq -c '[.semaphores[] | [.num, .value, .ncnt, .zcnt, (.pid // 0)]]' <<<"$out")" "$(sems "$A" 3)" \
        "$via: set A: each semaphore's value, ncnt, zcnt and pid as semctl gives them"
    is "$(jq -c '[.semaphores[] | [.pid, .pid_state, .command]] | unique' <<<"$out")" "[[$FILL_PID,\"exited\",null]]" \
        "$via: set A: the last pid is ipc-fill's, exited, without a command"
    is "$(jq -r --argjson p "$WAITER" '.evidence[] | select(.pid == $p) | .command' <<<"$out")" \
        "$HOLD semwait 0x4501 0 0" "$via: set A: the waiter's evidence has its command line"
    is "$(jq -c '[.semaphores_shown, .semaphores_unreadable]' <<<"$out")" "[3,null]" "$via: set A: all 3 shown"

    run "${CLI[@]}" explain "sem:$A"
    check "$via: text: a line per semaphore" grep -qE "^ +1 +0 +1 +0 +$FILL_PID  exited +-$" <<<"$out"
    check "$via: text: the waiter's command line under its evidence" grep -qxE " +$HOLD semwait 0x4501 0 0" <<<"$out"
    check "$via: text: says how many" grep -qx "  semaphores: 3" <<<"$out"

    run "${CLI[@]}" explain -J "sem:$B"
    is "$(jq -c '[.uid, [.semaphores[] | [.num, .value, .ncnt, .zcnt, (.pid // 0)]]]' <<<"$out")" "[4600,$(sems "$B" 2)]" \
        "$via: set B (uid 4600's): values and pids as semctl gives them"
    is "$(jq -c '.semaphores[0] | [.pid, .pid_state, .command]' <<<"$out")" \
        "[$B_PID,\"alive\",\"$HOLD sem 0x4502 2 0600\"]" "$via: set B: its last pid lives, with its command line"

    run "${CLI[@]}" explain -J "sem:$C"
    cmd=$(jq -r '.semaphores[0].command' <<<"$out")
    check "$via: set C: the control character is escaped" grep -q '^prog\\x01name-aaa' <<<"$cmd"
    check "$via: set C: the command line is cut, and says so" grep -q 'aaa\.\.\.$' <<<"$cmd"
    check "$via: set C: at most 512 bytes of it shown" test "${#cmd}" -le $((512 + 3 + 3))
    is "$(jq -r --argjson p "$C_PID" '[.evidence[] | select(.pid == $p) | .command] | unique[]' <<<"$out")" "$cmd" \
        "$via: set C: the evidence says the same command line"

    run "${CLI[@]}" explain -J "sem:$D"
    is "$(jq -c '[.nsems, .semaphores_shown, (.semaphores | length)]' <<<"$out")" "[1100,1024,1024]" \
        "$via: set D: 1024 of its 1100 semaphores listed"
    run "${CLI[@]}" explain "sem:$D"
    check "$via: set D: text says the rest is not shown" grep -qx "    ... and 76 more, not shown" <<<"$out"
done
stop_daemon

# As uid 4600, in this process: its own set is read, root's 0600 one is not.
run "${USER4600[@]}" "$IPCGC" --config "$CONF" --local explain -J "sem:$B"
is "$(jq -c '[.semaphores[] | [.num, .value, .ncnt, .zcnt, (.pid // 0)]]' <<<"$out")" "$(sems "$B" 2)" \
    "uid 4600 --local: its own set is read"
run "${USER4600[@]}" "$IPCGC" --config "$CONF" --local explain -J "sem:$A"
is "$rc" 0 "uid 4600 --local: explain of root's set exits 0"
is "$(jq -c '[.semaphores, .semaphores_shown]' <<<"$out")" "[null,0]" "uid 4600 --local: root's set is not listed"
check "uid 4600 --local: and says why" grep -q "^permission denied" <<<"$(jq -r .semaphores_unreadable <<<"$out")"
run "${USER4600[@]}" "$IPCGC" --config "$CONF" --local explain "sem:$A"
check "uid 4600 --local: text says it is unreadable" grep -q "^  semaphores: 3, unreadable: permission denied" <<<"$out"

done_testing
