#!/bin/bash
# One engine: `ipcgc --local` and ipcgcd judge, list, sweep and remove
# through the same code (lib/engine, lib/service), so the same objects give
# the same answers both ways, to the byte.  The fixture mixes every type,
# live and orphaned objects, owned by root and by uid 4601, and verdicts of
# every kind a rule can give (LIVE, ORPHAN, PENDING, PROTECTED, REPORTED).
# The daemon runs with DryRun=yes, which --local reads from the same file:
# nothing is removed either way.  In private namespaces.
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }
enter_private_namespaces "$@"

# reaped PID: until PID is gone, not even a zombie, so that an orphan's
# creator reads "exited" at every judgement (a zombie reaped between two of
# them would change its reason).
reaped() {
    local i
    for ((i = 0; i < 500; i++)); do
        [ -e "/proc/$1" ] || return 0
        read -r -t 0.01 <> <(:) || true
    done
    echo "Bail out! pid $1 did not go"
    exit 1
}

U=4601
WANT= # "ID VERDICT UID" lines: the verdict each object is made to have

# made VERDICT UID: notes the object just held; an orphan's maker must be gone.
made() {
    WANT+="$HOLD_OBJ $1 $2"$'\n'
    [ "$1" = LIVE ] || reaped "$HOLD_PID"
}
# obj TYPE WHAT: sets HOLD_OBJ, the id list and rm take, after hold/hold_as.
obj() { case $1 in shm | sem | msg) HOLD_OBJ=$1:$HOLD_ID ;; *) HOLD_OBJ=$1:$2 ;; esac; }

# Root's objects.
hold shm 0x4a01 4096 0600;                        obj shm; made LIVE 0;      R_LIVE_SHM=$HOLD_OBJ
hold -x shm 0x4a02 4096 0600;                     obj shm; made ORPHAN 0;    R_ORPH_SHM=$HOLD_OBJ
hold -x sem 0x4a03 2 0600;                        obj sem; made ORPHAN 0
hold msg 0x4a04 64 0600;                          obj msg; made LIVE 0
hold -x msg 0x4a05 64 0600;                       obj msg; made REPORTED 0
hold -x mq /orph-mq 64 0600;                      obj mq /orph-mq; made ORPHAN 0
hold pshm /live-pshm 4096 0600;                   obj pshm /live-pshm; made LIVE 0
hold -x pshm /kept-pshm 4096 0600;                obj pshm /kept-pshm; made PROTECTED 0
hold -x psem /orph-psem 0 0600;                   obj psem /orph-psem; made ORPHAN 0
hold -x fifo "$FIFODIR/orph" 0 0600;              obj fifo "$FIFODIR/orph"; made ORPHAN 0
hold -x fifo "$FIFODIR/slow" 0 0600;              obj fifo "$FIFODIR/slow"; made PENDING 0; R_PENDING=$HOLD_OBJ
hold fifo "$FIFODIR/live" 0 0600;                 obj fifo "$FIFODIR/live"; made LIVE 0
# uid 4601's.
hold_as $U:$U -x shm 0x4b01 4096 0600;            obj shm; made ORPHAN $U;   U_ORPH_SHM=$HOLD_OBJ
hold_as $U:$U shm 0x4b02 4096 0600;               obj shm; made LIVE $U
hold_as $U:$U sem 0x4b03 2 0600;                  obj sem; made LIVE $U
hold_as $U:$U -x msg 0x4b04 64 0600;              obj msg; made ORPHAN $U
hold_as $U:$U -x pshm /u-orph 4096 0600;          obj pshm /u-orph; made ORPHAN $U
hold_as $U:$U mq /u-live 64 0600;                 obj mq /u-live; made LIVE $U
hold_as $U:$U -x fifo "$FIFODIR/u-orph" 0 0600;   obj fifo "$FIFODIR/u-orph"; made ORPHAN $U
WANT=$(sort <<<"${WANT%$'\n'}")

# First match decides: one rule each for PROTECTED, REPORTED and PENDING,
# then MinAge=0 for the rest, so an orphan is ORPHAN as soon as its creator
# is gone.  StateDir= (from lib.sh) gives both the memory of life in $T.
daemon_config DryRun=yes
cat >>"$CONF" <<EOC
[Rule kept]
Name=/kept-*
Action=keep
[Rule told]
Key=0x4a05
Action=report
[Rule slow]
Path=$FIFODIR/slow
MinAge=1h
Action=collect
[Rule all]
MinAge=0
Action=collect
EOC
chmod 0644 "$CONF"
start_daemon --no-process-events

verdicts() { jq -r '.objects[] | "\(.id) \(.verdict) \(.uid)"' | sort; }
fixture=$("$IPCGC" --config "$CONF" --local list -J | verdicts)
is "$fixture" "$WANT" "the fixture: $(wc -l <<<"$WANT") objects of every type, root's and uid $U's, judged as made"
is "$(awk '{print $3}' <<<"$fixture" | sort -u | tr '\n' ' ')" "0 $U " "owned by root and by uid $U"
is "$(awk '{print $2}' <<<"$fixture" | sort -u | tr '\n' ' ')" "LIVE ORPHAN PENDING PROTECTED REPORTED " \
    "with every verdict a rule gives"

# both ARGS...: `ipcgc ARGS` through the daemon, then `ipcgc --local ARGS`,
# after two fresh judgements by the daemon (list --fresh), all four begun
# and ended within one wall-clock second, and not in its first 20 ms, where
# time() (which reads the coarse clock) may still say the second before.
#  - Every judgement reads the time in whole seconds: "idle" and the
#    reasons ("first seen without life 3s ago; idle 3s") are as old as the
#    second they are judged in, so judgements in two seconds differ by that
#    alone.  Within one second they have the same inputs.
#  - The daemon explains from a full judgement up to SERVICE_FRESH_USEC
#    (1 s) old, perhaps of the second before; the last list --fresh makes
#    one of this second.
#  - Reading a queue's status file moves its ctime to now (the kernel's
#    mqueue_read_file), and a judgement reports the ctime it found, so an
#    mq's ctime says when it was last looked at before, the daemon's and
#    --local's own looks included.  The first list --fresh makes that this
#    second for every judgement after it.
# Then they must give the same bytes.  Retried until all fits in a second
# (it nearly always does at once).  Sets D_OUT D_ERR D_RC, L_OUT L_ERR L_RC.
both() {
    local try t0 t1 f0
    for ((try = 0; try < 50; try++)); do
        t0=$EPOCHREALTIME
        "$IPCGC" --config "$CONF" list --fresh -J >/dev/null
        "$IPCGC" --config "$CONF" list --fresh -J >/dev/null
        D_OUT=$("$IPCGC" --config "$CONF" "$@" 2>"$T/d.err")
        D_RC=$?
        L_OUT=$("$IPCGC" --config "$CONF" --local "$@" 2>"$T/l.err")
        L_RC=$?
        t1=$EPOCHREALTIME
        f0=${t0#*[.,]}
        if [ "${t0%[.,]*}" = "${t1%[.,]*}" ] && [ $((10#${f0:0:3})) -ge 20 ]; then
            D_ERR=$(<"$T/d.err")
            L_ERR=$(<"$T/l.err")
            return 0
        fi
    done
    echo "Bail out! could not run ipcgc $* twice within one second in 50 tries"
    exit 1
}

# same DESC DAEMON LOCAL: byte-identical, or the difference shown.
same() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1" "daemon and --local differ:" \
            "$(diff <(jq . <<<"$2" 2>/dev/null || echo "$2") <(jq . <<<"$3" 2>/dev/null || echo "$3") | head -40)"
    fi
}

quick_count() { "$IPCGC" --config "$CONF" status -J | jq .quick_judgements; }

# compare ROUND: list and dry-run sweeps, both ways.  ROUND "full": the
# daemon judges in full as --local always does (its SysV orphans' last
# activity is within 2 s, when a pid could still be reused unseen, so it does
# not confirm); "confirmed": the daemon confirms its kept judgement cheaply
# (lib/engine.c judge_quick) and serves that.
compare() {
    local round=$1 q0 q1

    # The two replies begin with judged_at, age_usec and confirmed: when and
    # how the listing was judged, which legitimately differ (the daemon's
    # may be confirmed from the judgement it keeps, --local judges afresh
    # each run, and age_usec counts microseconds).  What is compared is
    # .objects: every field of every object, idle times and reasons included.
    both list -J
    is "$D_RC $L_RC" "0 0" "$round: list -J: both answer"
    is "$(jq .judged_at <<<"$D_OUT")" "$(jq .judged_at <<<"$L_OUT")" "$round: list -J: both judged in the same second"
    local want=false was="not confirmed"
    [ "$round" = confirmed ] && want=true was=confirmed
    is "$(jq .confirmed <<<"$D_OUT")" "$want" "$round: list -J: the daemon's judgement was $was"
    same "$round: list -J: .objects through the daemon and through --local are byte-identical" \
        "$(jq -c .objects <<<"$D_OUT")" "$(jq -c .objects <<<"$L_OUT")"
    diag "$round: idle times listed: $(jq -c '[.objects[].idle] | unique' <<<"$D_OUT")"

    # A judgement made now, in full, rather than the one the daemon keeps.
    both list --fresh -J
    same "$round: list --fresh -J: .objects byte-identical" "$(jq -c .objects <<<"$D_OUT")" "$(jq -c .objects <<<"$L_OUT")"

    # No time-stamp in a sweep's reply: the whole of it is compared, the
    # records and the counts of what was judged.
    q0=$(quick_count)
    both sweep --dry-run -J -t shm
    q1=$(quick_count)
    is "$D_RC $L_RC" "0 0" "$round: sweep --dry-run -J -t shm: both answer"
    same "$round: sweep --dry-run -J -t shm: records and judged counts byte-identical" \
        "$(jq -c . <<<"$D_OUT")" "$(jq -c . <<<"$L_OUT")"
    is "$(jq -c '[.dry_run, .would_remove, .removed, ([.records[].id] | sort), .judged.LIVE, .judged.ORPHAN, ([.judged[]] | add)]' <<<"$D_OUT")" \
        "$(jq -nc --arg a "$R_ORPH_SHM" --arg b "$U_ORPH_SHM" '[true, 2, 0, ([$a, $b] | sort), 2, 2, 4]')" \
        "$round: sweep --dry-run -t shm: the two orphaned segments would go, four segments judged"
    if [ "$round" = confirmed ]; then
        check "$round: the daemon's sweep confirmed its judgement (quick judgements $q0 -> $q1)" test "$q1" -gt "$q0"
    fi

    both sweep --dry-run -J
    same "$round: sweep --dry-run -J (every type): byte-identical" "$(jq -c . <<<"$D_OUT")" "$(jq -c . <<<"$L_OUT")"
    is "$(jq '.would_remove' <<<"$D_OUT")" "$(grep -c ' ORPHAN ' <<<"$fixture")" \
        "$round: sweep --dry-run: every ORPHAN would be removed"
}

compare full
# Once the orphans' last activity is 2 s old the daemon confirms instead of
# judging again: wait for that (polling), then the same comparisons.
for ((i = 0; i < 200; i++)); do
    [ "$("$IPCGC" --config "$CONF" list -J | jq .confirmed)" = true ] && break
    read -r -t 0.05 <> <(:) || true
done
compare confirmed

# --- explain -J --------------------------------------------------------------

# An explanation names its evidence processes with their start times in
# microseconds: start ticks since boot plus the boot time, which each
# judgement computes again as CLOCK_REALTIME - CLOCK_BOOTTIME, read one after
# the other, so it wanders by a microsecond or so from one judgement to the
# next, --local against --local as much as against the daemon.  Those are
# compared to within a millisecond, everything else to the byte.
start_usecs() { jq -c '[.. | objects | .start_usec? // empty]' <<<"$1"; }
for id in "$R_ORPH_SHM" "$R_LIVE_SHM" "$R_PENDING" "$U_ORPH_SHM" mq:/u-live; do
    both explain -J "$id"
    same "explain -J $id: byte-identical but for processes' start_usec" \
        "$D_RC $(jq -c 'del(.. | .start_usec?)' <<<"$D_OUT")" "$L_RC $(jq -c 'del(.. | .start_usec?)' <<<"$L_OUT")"
    d=$(start_usecs "$D_OUT") l=$(start_usecs "$L_OUT")
    if jq -en --argjson d "$d" --argjson l "$l" \
        '($d | length) == ($l | length) and ([range($d | length) | ($d[.] - $l[.]) | fabs] | all(. <= 1000))' >/dev/null; then
        ok "explain -J $id: the same processes' start times, to within 1 ms ($d)"
    else
        not_ok "explain -J $id: the same processes' start times, to within 1 ms" "daemon: $d" "local:  $l"
    fi
done

# --- rm ------------------------------------------------------------------

# Under DryRun=yes an admin's rm of an ORPHAN is a would-remove record.
for id in "$R_ORPH_SHM" "$U_ORPH_SHM" "mq:/orph-mq"; do
    both rm -J "$id"
    is "$D_RC $(jq -r '.results[0].record.action' <<<"$D_OUT") $L_RC $(jq -r '.results[0].record.action' <<<"$L_OUT")" \
        "0 would-remove 0 would-remove" "rm $id (ORPHAN): would-remove both ways"
    same "rm -J $id: the record byte-identical" "$(jq -c . <<<"$D_OUT")" "$(jq -c . <<<"$L_OUT")"
done

# refused DESC ERROR ARGS...: both exit 1 with ERROR, and say it alike.
refused() {
    local desc=$1 error=$2
    shift 2
    both --debug "$@"
    # The name with --debug on stderr, or in rm -J's document.
    if [ "$D_RC $L_RC" = "1 1" ] && grep -q "$error" <<<"$D_ERR$D_OUT"; then
        ok "$desc: $error, exit 1, through the daemon"
    else
        not_ok "$desc: $error, exit 1, through the daemon" "exit $D_RC" "stdout: $D_OUT" "stderr: $D_ERR"
    fi
    same "$desc: the same refusal through --local" "$D_RC $D_OUT $D_ERR" "$L_RC $L_OUT $L_ERR"
}
refused "rm of a LIVE segment" io.ipcgc.ObjectInUse rm "$R_LIVE_SHM"
refused "rm -J of a LIVE segment" io.ipcgc.ObjectInUse rm -J "$R_LIVE_SHM"
refused "rm --force of a LIVE segment" io.ipcgc.ObjectInUse rm --force "$R_LIVE_SHM"
refused "rm of a LIVE queue of uid $U" io.ipcgc.ObjectInUse rm mq:/u-live
refused "rm of a PENDING FIFO" io.ipcgc.ObjectInUse rm "$R_PENDING"
refused "rm of a PROTECTED object" io.ipcgc.ObjectInUse rm pshm:/kept-pshm
refused "rm of no such object" io.ipcgc.NoSuchObject rm shm:999999
both rm --force -J "$R_PENDING"
is "$D_RC $(jq -r '.results[0].record.action' <<<"$D_OUT") $L_RC $(jq -r '.results[0].record.action' <<<"$L_OUT")" \
    "0 would-remove 0 would-remove" "rm --force of a PENDING FIFO: would-remove both ways"
same "rm --force -J of a PENDING FIFO: the record byte-identical" "$(jq -c . <<<"$D_OUT")" "$(jq -c . <<<"$L_OUT")"

is "$("$IPCGC" --config "$CONF" --local list -J | verdicts)" "$fixture" \
    "nothing was removed, and every verdict is as it was"

stop_daemon
done_testing
