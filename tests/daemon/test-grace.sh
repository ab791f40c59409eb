#!/bin/bash
# Grace from the last sign of life.  MinAge counts from the latest of the
# kernel's activity times and the last time ipcgc saw the object in use, so
# an object held for long without activity (a mapped /dev/shm segment, whose
# mtime mmap writes never move; an idle FIFO or mq) is not removed the moment
# its holder dies: with MinAge=20s and Interval=2s ipcgcd keeps it at least
# 15 s after the death and removes it within 40 s.  The same across a restart
# of ipcgcd between the death and the removal: the memory is in StateDir.
#
# The kernel's times must be past MinAge at the death, or they alone would
# give the grace.  Files (pshm, psem, FIFO, mq) get atime and mtime an hour
# back with touch(1); their ctime cannot be set (touch moves it to now), and
# SysV times cannot be set at all, so every object is also held for longer
# than MinAge before its holder is killed: then its ctime and its SysV
# operation times (sem otime, msg stime, shm atime: the holder's start) are
# all older than MinAge.  An attached shm is the exception the kernel makes
# itself: the holder's exit detaches it and moves its dtime to the death, so
# for shm the kernel's clock gives the same grace (it is here to see that it
# is kept, not to prove the memory).
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }

export IPCGC_TEST_EXCLUSIVE=1 # it times process exits
enter_private_namespaces "$@"
trap 'kill $DAEMON_PID $(jobs -p) 2>/dev/null' EXIT

MINAGE=20
daemon_config "Interval=2s"
printf '\n[Rule default]\nMinAge=%ss\nAction=collect\n' "$MINAGE" >>"$CONF"
check "the memory of life is kept in the test's own StateDir" grep -qx "StateDir=$T/state" "$CONF"

now_ms() { echo $((${EPOCHREALTIME/[.,]/} / 1000)); }
nap() { read -r -t "$1" <> <(:) || true; } # one poll period, never a synchronisation
sysv_has() { awk -v id="$2" 'NR > 1 && $2 == id { f = 1 } END { exit !f }' "/proc/sysvipc/$1"; }
exists() { # exists ID: the object is still there
    case $1 in
    pshm:*) [ -e "/dev/shm/${1#pshm:/}" ] ;;
    psem:*) [ -e "/dev/shm/sem.${1#psem:/}" ] ;;
    mq:*) [ -e "$MQDIR/${1#mq:/}" ] ;;
    fifo:*) [ -p "${1#fifo:}" ] ;;
    shm:* | sem:* | msg:*) sysv_has "${1%%:*}" "${1#*:}" ;;
    *) return 2 ;;
    esac
}
# The latest kernel time (s) of an object, as the judge reads them: files'
# atime, mtime and ctime (an mq's atime and mtime); the SysV times.
kernel_time() {
    case $1 in
    pshm:*) stat -c '%X %Y %Z' "/dev/shm/${1#pshm:/}" ;;
    psem:*) stat -c '%X %Y %Z' "/dev/shm/sem.${1#psem:/}" ;;
    mq:*) stat -c '%X %Y' "$MQDIR/${1#mq:/}" ;; # reading its status moves ctime
    fifo:*) stat -c '%X %Y %Z' "${1#fifo:}" ;;
    shm:*) awk -v id="${1#shm:}" '$2 == id { print $(NF - 4), $(NF - 3), $(NF - 2) }' /proc/sysvipc/shm ;;
    sem:*) awk -v id="${1#sem:}" '$2 == id { print $(NF - 1), $NF }' /proc/sysvipc/sem ;;
    msg:*) awk -v id="${1#msg:}" '$2 == id { print $(NF - 2), $(NF - 1), $NF }' /proc/sysvipc/msg ;;
    esac | tr ' ' '\n' | sort -n | tail -n 1
}
verdicts() { # verdicts IDS...: the daemon's verdicts, "ID=VERDICT" each
    "$IPCGC" --config "$CONF" list -J 2>/dev/null |
        jq -r --args '.objects[] | select(.id as $i | $ARGS.positional | index($i)) | "\(.id)=\(.verdict)"' "$@" | sort
}

# make_set TAG KEYBASE: one object of each kind, each with its own holder.
# Sets IDS_<TAG> and PIDS_<TAG>.
make_set() {
    local tag=$1 k=$2 ids=() pids=()
    hold pshm "/grace-$tag-p" 4096 0600
    ids+=("pshm:/grace-$tag-p"); pids+=("$HOLD_PID")
    hold psem "/grace-$tag-s" 0 0600
    ids+=("psem:/grace-$tag-s"); pids+=("$HOLD_PID")
    hold fifo "$FIFODIR/grace-$tag-f" 0 0600
    ids+=("fifo:$FIFODIR/grace-$tag-f"); pids+=("$HOLD_PID")
    hold mq "/grace-$tag-q" 16 0600
    ids+=("mq:/grace-$tag-q"); pids+=("$HOLD_PID")
    touch -d '1 hour ago' "/dev/shm/grace-$tag-p" "/dev/shm/sem.grace-$tag-s" "$FIFODIR/grace-$tag-f" "$MQDIR/grace-$tag-q"
    hold sem $((k + 1)) 1 0600
    ids+=("sem:$HOLD_ID"); pids+=("$HOLD_PID")
    hold msg $((k + 2)) 16 0600
    ids+=("msg:$HOLD_ID"); pids+=("$HOLD_PID")
    hold shm $((k + 3)) 4096 0600
    ids+=("shm:$HOLD_ID"); pids+=("$HOLD_PID")
    local -n out_ids=IDS_$tag out_pids=PIDS_$tag # namerefs: IDS_TAG, PIDS_TAG are read by round
    # shellcheck disable=SC2034
    out_ids=("${ids[@]}")
    # shellcheck disable=SC2034
    out_pids=("${pids[@]}")
}

start_daemon

# Both rounds' objects are made now, so that the second set ages during the
# first round.
t_made=$(now_ms)
make_set a 0x5200
make_set b 0x5210
ALL=("${IDS_a[@]}" "${IDS_b[@]}")
check "file times are an hour back ($(stat -c %y "/dev/shm/grace-a-p"))" \
    test "$(stat -c %Y /dev/shm/grace-a-p)" -lt $(($(date +%s) - 3000))

# Until every object is LIVE for the daemon and older than MinAge (plus the
# 1 s resolution of the kernel's times), while its holder runs.
live_and_old() {
    local v want
    v=$(verdicts "${ALL[@]}")
    want=$(printf '%s=LIVE\n' "${ALL[@]}" | sort)
    [ "$v" = "$want" ] && [ $(($(now_ms) - t_made)) -ge $(((MINAGE + 2) * 1000)) ]
}
for ((i = 0; i < 600; i++)); do live_and_old && break; nap 0.1; done
check "all ${#ALL[@]} objects are LIVE for the daemon, and held for more than MinAge" live_and_old ||
    diag "$(verdicts "${ALL[@]}")"

# pending WHEN MIN-S: the daemon judges every object of the round PENDING,
# and each reason says the last holder was seen at least MIN-S s ago.
pending() {
    local l bad
    l=$("$IPCGC" --config "$CONF" list -J 2>/dev/null |
        jq -c --args '[.objects[] | select(.id as $i | $ARGS.positional | index($i)) | {id, verdict, reason}]' "${r_ids[@]}")
    diag "$1: $(jq -r '.[] | "\(.id) \(.verdict): \(.reason)"' <<<"$l")"
    is "$(jq -r '[.[].verdict] | unique | join(",")' <<<"$l")" PENDING "$1: every object is PENDING"
    bad=$(jq -r --argjson min "$2" '[.[] | select((.reason // "") |
            (capture("seen (?<n>[0-9]+)s ago") | .n | tonumber) // -1 | . < $min) | .id] | join(" ")' <<<"$l")
    is "$bad" "" "$1: every reason names the last life seen, at least $2 s ago"
}

# round TAG RESTART: SIGKILLs the set's holders, then polls every object
# until it is gone (45 s at most).  With RESTART=yes, ipcgcd is stopped and
# started again on the same StateDir 10 s after the death (after it has
# swept at least once since).
round() {
    local tag=$1 restart=$2 id t0 t i sweeps0 restarted='' pend1='' pend2=''
    local -n r_ids=IDS_$tag r_pids=PIDS_$tag
    declare -A gone=()
    local kt
    t=$(date +%s)
    for id in "${r_ids[@]}"; do
        kt=$(kernel_time "$id")
        diag "$id: kernel's latest time $((t - kt)) s ago at the kill"
    done
    sweeps0=$("$IPCGC" --config "$CONF" status -J | jq .sweeps)
    kill -KILL "${r_pids[@]}"
    t0=$(now_ms)
    for ((i = 0; i < 500; i++)); do
        local left=0 p
        for p in "${r_pids[@]}"; do [ -d "/proc/$p" ] && left=1; done
        [ "$left" = 0 ] && break
        nap 0.01
    done
    while :; do
        t=$(now_ms)
        for id in "${r_ids[@]}"; do
            [ -n "${gone[$id]:-}" ] && continue
            exists "$id" || gone[$id]=$((t - t0))
        done
        [ "${#gone[@]}" = "${#r_ids[@]}" ] && break
        [ $((t - t0)) -gt 45000 ] && break
        if [ "$restart" = yes ] && [ -z "$restarted" ] && [ $((t - t0)) -ge 10000 ] &&
            [ "$("$IPCGC" --config "$CONF" status -J | jq .sweeps)" -gt "$sweeps0" ]; then
            diag "restarting ipcgcd $((t - t0)) ms after the death"
            cp "$T/ipcgcd.err" "$T/ipcgcd.err.$tag"
            stop_daemon
            start_daemon
            restarted=$(($(now_ms) - t0))
            diag "ipcgcd answers again $restarted ms after the death"
        fi
        # Once in the grace (and once more after the restart): PENDING,
        # and the reason names the clock, the last life seen.
        if [ -z "$pend1" ] && [ $((t - t0)) -ge 5000 ]; then
            pend1=$((t - t0))
            pending "round $tag, $pend1 ms after the death" 4
        fi
        if [ -n "$restarted" ] && [ -z "$pend2" ] && [ $((t - t0)) -ge $((restarted + 2000)) ]; then
            pend2=$((t - t0))
            pending "round $tag, after the restart, $pend2 ms after the death" $((pend2 / 1000 - 1))
        fi
        nap 0.1
    done
    [ "$restart" = yes ] && check "round $tag: ipcgcd was restarted between the death and the removal" \
        test -n "$restarted"
    local min=999999 max=0 missing=
    for id in "${r_ids[@]}"; do
        if [ -n "${gone[$id]:-}" ]; then
            diag "$id: removed ${gone[$id]} ms after its holder's SIGKILL"
            [ "${gone[$id]}" -lt "$min" ] && min=${gone[$id]}
            [ "${gone[$id]}" -gt "$max" ] && max=${gone[$id]}
        else
            diag "$id: still there 45 s after its holder's SIGKILL"
            missing+=" $id"
        fi
    done
    diag "round $tag: kept at least $min ms, all removed by $max ms after the death"
    check "round $tag: every object kept at least 15 s after its holder's death (first removal at $min ms)" \
        test "$min" -ge 15000
    is "$missing" "" "round $tag: every object removed"
    check "round $tag: all removed within 40 s of the death (last at $max ms)" test "$max" -le 40000
    if [ "$restart" = yes ]; then
        # A restarted daemon that had forgotten would count MinAge from its
        # own first sight of the object without life, 10 s after the death.
        check "round $tag: the memory survived the restart: removed by MinAge+8 s of the death ($max ms)" \
            test "$max" -le $(((MINAGE + 8) * 1000))
    fi
    local v
    v=$(verdicts "${IDS_b[@]}")
    [ "$tag" = a ] && is "$v" "$(printf '%s=LIVE\n' "${IDS_b[@]}" | sort)" "round a: the other set, still held, stays LIVE"
}

round a no
round b yes

diag "daemon log (after the restart):
$(cat "$T/ipcgcd.err")"
alive "the two rounds"
stop_daemon
done_testing
