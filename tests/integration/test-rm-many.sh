#!/bin/bash
# `ipcgc rm` of several IDs and of SysV keys (issue 13), with --local and
# through the daemon, in private namespaces, with objects of root and of uid
# 4600: each ID gets its own result, refusals are sentences (the Varlink
# name only with --debug and in -J), -J is one document, and the exit
# status is non-zero when any one was not removed.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

command -v jq >/dev/null || { echo "Bail out! jq missing"; exit 1; }
sed -i "/^\[Daemon\]/a Socket=$T/io.ipcgc\nInterval=1h" "$CONF"
# 0x7701 is young for an hour (PENDING); every other orphan is collected.
printf '\n[Rule young]\nKey=0x7701\nMinAge=1h\nAction=collect\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"

# run CMD...: its stdout in $out, its stderr in $err, its status in $rc.
run() { out=$("$@" 2>"$T/stderr"); rc=$?; err=$(cat "$T/stderr"); echo "# out: ${out//$'\n'/ | }"; echo "# err: ${err//$'\n'/ | }"; }
# exists TYPE KEY: an object of TYPE with KEY (decimal) is in /proc/sysvipc.
exists() { awk -v k="$(($2))" '$1 == k { f = 1 } END { exit !f }' "/proc/sysvipc/$1"; }

# make_objects: root's shm, uid 4600's msg and sem, all with key 0x7700
# (one key, three kinds), orphans; 4600's orphan shm 0x7702; root's young
# shm 0x7701 (PENDING); root's shm 0x7703, attached (LIVE).
make_objects() {
    hold -x shm 0x7700 4096 0600
    SHM00=$HOLD_ID
    hold_as 4600:4600 -x msg 0x7700 16 0600
    MSG00=$HOLD_ID
    hold_as 4600:4600 -x sem 0x7700 2 0600
    SEM00=$HOLD_ID
    hold_as 4600:4600 -x shm 0x7702 4096 0600
    ORPHAN=$HOLD_ID
    hold -x shm 0x7701 4096 0600
    YOUNG=$HOLD_ID
    if [ -z "${LIVE_PID:-}" ]; then
        hold shm 0x7703 4096 0600
        LIVE=$HOLD_ID LIVE_PID=$HOLD_PID
    fi
}

for via in local daemon; do
    cli_via $via
    make_objects

    # --- Several IDs: one result each, non-zero when one fails ----------------
    run "${CLI[@]}" rm "shm:$ORPHAN" "shm:$YOUNG" "shm:$LIVE" shm:999999
    is "$rc" 1 "$via: rm of an orphan, a PENDING, a LIVE and a missing ID exits 1"
    check "$via: the orphan (uid 4600's) is removed" test "$(exists shm 0x7702 || echo gone)" = gone
    check "$via: the PENDING one is kept" exists shm 0x7701
    check "$via: the LIVE one is kept" exists shm 0x7703
    check "$via: stdout says the orphan was removed" grep -q "^removed shm:$ORPHAN: " <<<"$out"
    is "$(grep -c '^removed ' <<<"$out")" 1 "$via: stdout says one removal"
    check "$via: a sentence for the PENDING one, with its MinAge" \
        grep -q "^ipcgc: shm:$YOUNG is not removable: PENDING, idle [0-9]*s of MinAge 1h; .* (--force removes it all the same)$" <<<"$err"
    check "$via: a sentence for the LIVE one, without --force" \
        grep -q "^ipcgc: shm:$LIVE is not removable: LIVE, attached by pid $LIVE_PID (ipc-hold)$" <<<"$err"
    check "$via: a sentence for the missing one" grep -q "^ipcgc: there is no object shm:999999 " <<<"$err"
    is "$(grep -c 'io\.ipcgc\.' <<<"$err")" 0 "$via: no Varlink error name without --debug"

    run "${CLI[@]}" --debug rm "shm:$YOUNG"
    is "$rc" 1 "$via: --debug rm of the PENDING one exits 1"
    check "$via: --debug adds the error's name and parameters" \
        grep -q '^ipcgc: debug: {"error":"io.ipcgc.ObjectInUse","parameters":{"id":"shm:'"$YOUNG"'","verdict":"PENDING"' <<<"$err"

    # --- -J: one document, a result per ID -----------------------------------
    run "${CLI[@]}" rm -J "shm:$YOUNG" "shm:$LIVE" shm:999999
    is "$rc" 1 "$via: rm -J of three that are not removed exits 1"
    is "$(jq -c '[.results[] | [.id, .removed, .error]]' <<<"$out")" \
        "[[\"shm:$YOUNG\",false,\"io.ipcgc.ObjectInUse\"],[\"shm:$LIVE\",false,\"io.ipcgc.ObjectInUse\"],[\"shm:999999\",false,\"io.ipcgc.NoSuchObject\"]]" \
        "$via: -J: one result per ID, in order, with the error names"
    is "$(jq -r '.results[0].parameters.verdict' <<<"$out")" PENDING "$via: -J: the refusal's parameters"
    check "$via: -J: and the sentence" grep -q "is not removable: PENDING" <<<"$(jq -r '.results[0].message' <<<"$out")"
    is "$err" "" "$via: -J: nothing on stderr"

    # --force removes the PENDING one; -J says removed, exit 0.
    run "${CLI[@]}" rm -J --force "shm:$YOUNG"
    is "$rc" 0 "$via: rm -J --force of the PENDING one exits 0"
    is "$(jq -c '[.results[] | [.id, .removed, .record.action, .record.verdict]]' <<<"$out")" \
        "[[\"shm:$YOUNG\",true,\"removed\",\"PENDING\"]]" "$via: -J: removed, with the record"

    # --- Keys ---------------------------------------------------------------
    run "${CLI[@]}" rm --key 0x7700 -t shm
    is "$rc" 0 "$via: rm --key 0x7700 -t shm exits 0"
    check "$via: root's shm of that key is removed" test "$(exists shm 0x7700 || echo gone)" = gone
    check "$via: 4600's msg of that key is kept" exists msg 0x7700
    check "$via: 4600's sem of that key is kept" exists sem 0x7700
    run "${CLI[@]}" rm -J --key 30464
    is "$rc" 0 "$via: rm -J --key 30464 (0x7700 in decimal) exits 0"
    is "$(jq -c '[.results[] | [.id, .key, .removed]] | sort' <<<"$out")" \
        "$(jq -nc --arg m "msg:$MSG00" --arg s "sem:$SEM00" '[[$m, 30464, true], [$s, 30464, true]] | sort')" \
        "$via: -J: the msg and the sem of the key, both removed"
    check "$via: msg and sem of that key are gone" test "$(exists msg 0x7700 || exists sem 0x7700 || echo gone)" = gone
    run "${CLI[@]}" rm --key 0x7700 --key 0x7703 -t sem,msg
    is "$rc" 1 "$via: rm of keys with no msg or sem exits 1"
    check "$via: says which key names nothing" grep -q "^ipcgc: no msg or sem object has key 0x00007700$" <<<"$err"
    check "$via: for each key" grep -q "^ipcgc: no msg or sem object has key 0x00007703$" <<<"$err"
    check "$via: and the shm of 0x7703 is kept" exists shm 0x7703
done
stop_daemon

# --- Usage errors: nothing is removed, exit 2 --------------------------------
hold -x shm 0x7704 4096 0600
for args in "--key 0" "--key 0x1-0x5" "--key 0x7704 -t mq" "-t shm shm:$HOLD_ID" "shm:$HOLD_ID nonsense" \
    "shm:$HOLD_ID bogus:1" ""; do
    # shellcheck disable=SC2086
    run "$IPCGC" --config "$CONF" --local rm $args
    is "$rc" 2 "rm $args: a usage error (exit 2)"
    check "rm $args: with the --help hint" grep -q "^Try 'ipcgc --help' for more information.$" <<<"$err"
done
check "the object named beside a bad ID is kept" exists shm 0x7704

done_testing
