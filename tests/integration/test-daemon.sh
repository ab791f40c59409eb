#!/bin/bash
# ipcgcd end to end: process-exit sweeps through the process connector, timer
# sweeps without it, the CLI over the socket, and reload on SIGHUP.
#
# Part one needs the initial PID namespace (the kernel serves the process
# connector nowhere else), so it runs with private IPC and mount namespaces
# only; part two runs in private IPC, mount and PID namespaces, where the
# connector is unavailable and the daemon must fall back to its timer.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }

now_ms() { date +%s%3N; }

# wait_gone KEY TIMEOUT_MS: until no shm with KEY exists; prints the ms waited
wait_gone() {
    local start t
    start=$(now_ms)
    while :; do
        t=$(now_ms)
        ipcs -m | grep -q "$1" || { echo $((t - start)); return 0; }
        [ $((t - start)) -gt "$2" ] && { echo "timeout"; return 1; }
        read -r -t 0.01 <> <(:) || true
    done
}

daemon_config() { # daemon_config INTERVAL [EXTRA DAEMON LINES...]
    local interval=$1
    shift
    cat >>"$CONF" <<EOC

[Daemon]
Interval=$interval
Socket=$T/io.ipcgc
$(printf '%s\n' "$@")

[Rule all]
MinAge=0
Action=collect
EOC
}

part_connector() {
    trap 'kill $DAEMON_PID ${OTHER_PID:-} 2>/dev/null; wait 2>/dev/null' EXIT
    daemon_config 1h
    start_daemon
    is "$("$IPCGC" --config "$CONF" status -J | jq .process_events)" true "the daemon listens to the process connector"

    # Another IPC namespace, with a process attached to its own segment of
    # shmid 0: the same id our first segment will get.  SysV ids are per
    # namespace; that attachment is no evidence for ours.
    exec {nsfd}< <(unshare --ipc "$HOLD" shm 0x6009 4096 0600)
    read -r -u "$nsfd" _ other_id OTHER_PID
    is "$other_id" 0 "a process in another IPC namespace attaches its shmid 0"

    # A segment whose creator exits: removed well before the 1 h timer.
    hold -x shm 0x6001 4096 0600
    waited=$(wait_gone 0x00006001 1000)
    check "shm removed within 1 s of its creator's exit (took ${waited} ms)" test "$waited" != timeout ||
        { sed 's/^/# daemon: /' "$T/ipcgcd.log"; "$IPCGC" --local --config "$CONF" list -o ID,VERDICT,REASON | sed 's/^/# /'; }
    for i in $(seq 200); do grep -q "sweep (process exit)" "$T/ipcgcd.log" && break; read -r -t 0.01 <> <(:) || true; done
    grep -q "sweep (process exit)" "$T/ipcgcd.log"
    is "$?" 0 "the removal came from a process-exit sweep"

    # A held segment: the exit of its holder prompts the sweep.
    hold shm 0x6002 4096 0600
    holder=$HOLD_PID
    "$IPCGC" --config "$CONF" list -J | jq -e '.objects[] | select(.key == 24578) | .verdict == "LIVE"' >/dev/null
    is "$?" 0 "a held segment is LIVE"
    kill "$holder"
    waited=$(wait_gone 0x00006002 1000)
    check "held segment removed within 1 s of its holder's exit (took ${waited} ms)" test "$waited" != timeout

    # Unrelated exits do not sweep: count sweeps around 20 short processes.
    before=$("$IPCGC" --config "$CONF" status -J | jq .sweeps)
    for i in $(seq 20); do /bin/true; done
    read -r -t 0.3 <> <(:) || true
    after=$("$IPCGC" --config "$CONF" status -J | jq .sweeps)
    is "$after" "$before" "exits of processes that are no evidence cause no sweep"

    stop_daemon
    is "$?" 0 "SIGTERM ends the daemon cleanly (exit 0)"
    check "its socket file is removed" test ! -e "$T/io.ipcgc"
    done_testing
}

part_timer() {
    daemon_config 2s "ProcessEvents=yes"
    start_daemon
    is "$("$IPCGC" --config "$CONF" status -J | jq .process_events)" false \
        "in a PID namespace the process connector is unavailable"
    check "the daemon says so once" test "$(grep -c 'process connector unavailable' "$T/ipcgcd.log")" = 1

    hold -x shm 0x6003 4096 0600
    SHMID=$HOLD_ID
    waited=$(wait_gone 0x00006003 5000)
    check "a timer sweep removes the orphan (took ${waited} ms, Interval=2s)" test "$waited" != timeout
    # The sweep's summary is logged just after its removals: wait for it.
    for i in $(seq 200); do grep -q "sweep (timer)" "$T/ipcgcd.log" && break; read -r -t 0.01 <> <(:) || true; done
    grep -q "sweep (timer)" "$T/ipcgcd.log"
    is "$?" 0 "the removal came from a timer sweep"

    # The CLI over the socket.
    hold shm 0x6004 8192 0640
    LIVE_ID=$HOLD_ID
    LIVE_PID=$HOLD_PID
    st=$("$IPCGC" --config "$CONF" status -J)
    is "$(jq -r .config <<<"$st")" "$CONF" "status: the config path"
    is "$(jq .rules <<<"$st")" 1 "status: one rule"
    check "status: at least one sweep done" test "$(jq .sweeps <<<"$st")" -ge 1
    list=$("$IPCGC" --config "$CONF" list -J)
    is "$(jq -c '[.objects[] | select(.type == "shm") | [.id, .verdict, .holders]]' <<<"$list")" \
        "[[\"shm:$LIVE_ID\",\"LIVE\",[$LIVE_PID]]]" "list -J over the socket: the live segment and its holder"
    local_list=$("$IPCGC" --local --config "$CONF" list -J | jq -c '[.objects[] | del(.idle, .reason)]')
    is "$(jq -c '[.objects[] | del(.idle, .reason)]' <<<"$list")" "$local_list" "the daemon's list equals --local's"
    ex=$("$IPCGC" --config "$CONF" explain -J "shm:$LIVE_ID")
    is "$(jq -r .verdict <<<"$ex")" LIVE "explain over the socket: verdict"
    is "$(jq -c '[.evidence[] | select(.counts) | [.role, .pid]]' <<<"$ex")" \
        "[[\"nattch\",null],[\"attached\",$LIVE_PID],[\"creator\",$LIVE_PID]]" \
        "explain: nattch, and the holder as attacher and creator"
    "$IPCGC" --config "$CONF" explain "shm:999999" >/dev/null 2>"$T/err"
    is "$?" 1 "explain of no such object exits 1"
    check "and says so as a sentence" grep -qx "ipcgc: there is no object shm:999999 .*" "$T/err"
    "$IPCGC" --config "$CONF" --debug explain "shm:999999" >/dev/null 2>"$T/err"
    check "and names the error with --debug" grep -q "io.ipcgc.NoSuchObject" "$T/err"
    hist=$("$IPCGC" --config "$CONF" history -J)
    is "$(jq -r '.entries[0] | [.action, .id] | join(" ")' <<<"$hist")" "removed shm:$SHMID" "history: the removal"
    metrics=$("$IPCGC" --config "$CONF" metrics)
    check "metrics: one live shm" grep -qx 'ipcgc_objects{type="shm",verdict="LIVE"} 1' <<<"$metrics"
    check "metrics: one shm removed" grep -qx 'ipcgc_removals_total{type="shm"} 1' <<<"$metrics"
    check "metrics: sweep duration" grep -q '^ipcgc_sweep_duration_seconds [0-9.]*$' <<<"$metrics"
    check "metrics: shmmni in use" grep -qx 'ipcgc_limit_used{limit="shmmni"} 1' <<<"$metrics"
    check "metrics: bytes held" grep -qx 'ipcgc_bytes{type="shm"} 8192' <<<"$metrics"

    # Sweeps that find nothing changed reuse the last judgement; a change in
    # the evidence (its holder exits) brings a full one, which acts on it.
    st=$("$IPCGC" --config "$CONF" status -J)
    quick0=$(jq .quick_judgements <<<"$st")
    full0=$(jq .full_judgements <<<"$st")
    for i in 1 2 3; do "$IPCGC" --config "$CONF" sweep -J >/dev/null; done
    st=$("$IPCGC" --config "$CONF" status -J)
    is "$(($(jq .quick_judgements <<<"$st") - quick0))" 3 "three sweeps with nothing changed reuse the judgement"
    is "$(jq .full_judgements <<<"$st")" "$full0" "and make no full one"
    is "$("$IPCGC" --config "$CONF" list -J | jq -r --arg id "shm:$LIVE_ID" '.objects[] | select(.id == $id) | .verdict')" \
        LIVE "the held segment is still LIVE"
    hold shm 0x6005 4096 0600
    HELD2=$HOLD_PID
    "$IPCGC" --config "$CONF" sweep -J >/dev/null # a new object: full
    "$IPCGC" --config "$CONF" sweep -J >/dev/null # nothing new: quick
    kill "$HELD2"
    wait "$HELD2" 2>/dev/null
    removed=$("$IPCGC" --config "$CONF" sweep -J | jq -r '[.records[] | select(.action == "removed") | .id] | join(" ")')
    check "its holder's exit is seen through its pidfd and the orphan is removed ($removed)" \
        test "$(ipcs -m | grep -c 0x00006005)" = 0

    # Reload: a broken file keeps the old rules and names file:line.
    cp "$CONF" "$T/good.conf"
    printf '\n[Rule broken]\nMinAge=soon\nAction=collect\n' >>"$CONF"
    bad_line=$(grep -n '^MinAge=soon' "$CONF" | cut -d: -f1)
    kill -HUP "$DAEMON_PID"
    for i in $(seq 200); do grep -q "reload refused" "$T/ipcgcd.log" && break; read -r -t 0.01 <> <(:) || true; done
    check "SIGHUP with a broken config logs $CONF:$bad_line" grep -q "reload refused.*$CONF:$bad_line:" "$T/ipcgcd.log"
    check "the daemon still runs" kill -0 "$DAEMON_PID"
    is "$("$IPCGC" --socket "$T/io.ipcgc" status -J | jq .rules)" 1 "status still shows the old rules"
    "$IPCGC" --config "$CONF" reload 2>"$T/err"
    is "$?" 1 "ipcgc reload with the broken config fails"
    check "and says where" grep -q "$CONF:$bad_line:" "$T/err"

    cp "$T/good.conf" "$CONF"
    printf '\n[Rule extra]\nName=/nothing\nAction=keep\n' >>"$CONF"
    kill -HUP "$DAEMON_PID"
    for i in $(seq 200); do
        [ "$("$IPCGC" --config "$CONF" status -J | jq .rules)" = 2 ] && break
        read -r -t 0.01 <> <(:) || true
    done
    is "$("$IPCGC" --config "$CONF" status -J | jq .rules)" 2 "SIGHUP with a good config applies it (status shows 2 rules)"

    # A second daemon on the same socket refuses to start; the first goes on.
    "$top_builddir/ipcgcd" --config "$CONF" 2>"$T/second.log"
    is "$?" 1 "a second ipcgcd on the same socket refuses to start"
    check "and says why" grep -q "another daemon already answers on $T/io.ipcgc" "$T/second.log"
    "$IPCGC" --config "$CONF" status >/dev/null
    is "$?" 0 "the first still answers"

    # Killed without a chance to clean up, it leaves a stale socket file,
    # which the next start replaces.
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null
    check "SIGKILL leaves the socket file behind" test -S "$T/io.ipcgc"
    "$IPCGC" --config "$CONF" status >/dev/null 2>"$T/err"
    is "$?" 3 "with no daemon, ipcgc exits 3"
    check "and suggests --local" grep -q -- "--local" "$T/err"
    start_daemon
    check "a new daemon replaces the stale socket" grep -q "replacing stale socket" "$T/ipcgcd.log"

    stop_daemon
    is "$?" 0 "SIGTERM ends the daemon cleanly"
    check "no sanitizer report in the daemon's log" bash -c "! grep -q 'Sanitizer' '$T/ipcgcd.log'"
    done_testing
}

part_reuse() {
    # An object judged dead that gains a holder must not be reported dead by
    # a sweep that reuses the last judgement.  A dry-run daemon keeps the
    # orphan there to be reported.
    daemon_config 1h "DryRun=yes"
    start_daemon
    mkfifo "$FIFODIR/keepme"
    for i in 1 2 3; do "$IPCGC" --config "$CONF" sweep -J >/dev/null; done
    before=$("$IPCGC" --config "$CONF" sweep -J)
    is "$(jq -r --arg id "fifo:$FIFODIR/keepme" '[.records[] | select(.id == $id) | .action] | join(" ")' <<<"$before")" \
        would-remove "an unheld FIFO would be removed"
    ( exec 8<>"$FIFODIR/keepme"; exec sleep 600 ) &
    OPENER=$!
    for i in $(seq 200); do [ -e "/proc/$OPENER/fd/8" ] && break; read -r -t 0.01 <> <(:) || true; done
    after=$("$IPCGC" --config "$CONF" sweep -J)
    is "$(jq -r --arg id "fifo:$FIFODIR/keepme" '[.records[] | select(.id == $id)] | length' <<<"$after")" 0 \
        "once opened, the next sweep does not report it as would-remove"
    is "$("$IPCGC" --config "$CONF" list -J | jq -r --arg id "fifo:$FIFODIR/keepme" '.objects[] | select(.id == $id) | .verdict')" \
        LIVE "and list says LIVE"
    kill "$OPENER"
    wait "$OPENER" 2>/dev/null
    stop_daemon
    is "$?" 0 "the dry-run daemon stops cleanly"
    done_testing
}

export IPCGC_TEST_EXCLUSIVE=1
if [ "${1:-}" = --part ]; then
    [ "$2" = connector ] && export IPCGC_TEST_KEEP_PIDNS=1
    enter_private_namespaces "$@"
    "part_$2"
fi

out=$(mktemp)
rc=0
bash "$0" --part connector >>"$out" || rc=1
bash "$0" --part timer >>"$out" || rc=1
bash "$0" --part reuse >>"$out" || rc=1
awk '/^1\.\./ { next }
     /^(not )?ok [0-9]+/ { n++; sub(/ok [0-9]+/, "ok " n) }
     { print }
     END { print "1.." n }' "$out"
rm -f "$out"
exit $rc
