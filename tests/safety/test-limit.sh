#!/bin/bash
# Safety invariant 4: at most MaxRemovalsPerSweep removals per sweep; past it
# the sweep stops and says why.
#
# In private namespaces: 30 orphans (10 shm, 10 msg, 10 FIFOs) with a held
# object of each of those types made among them, MaxRemovalsPerSweep=7 and a
# rule that collects every orphan at once.  Sweep after sweep takes 7 and no
# more: 30 -> 23 -> 16 -> 9 -> 2 -> 0.  The held objects outlive it all.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

LIMIT=7
cat >>"$CONF" <<EOF

[Daemon]
MaxRemovalsPerSweep=$LIMIT

[Rule all]
MinAge=0
Action=collect
EOF

# ipc-hold -x prints "ready" and exits: wait until it has (a dying helper
# still attached to its shm would make the orphan LIVE).
wait_exited() {
    local i state
    for ((i = 0; i < 500; i++)); do
        state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
        case $state in "" | Z) return 0 ;; esac
        sleep 0.01
    done
    echo "Bail out! ipc-hold pid $1 did not exit"
    exit 1
}

HELD=()
HELD_PIDS=()
for i in 0 1 2 3 4 5 6 7 8 9; do
    if [ "$i" = 5 ]; then # the held ones, made in the middle of the crowd
        hold shm 0x7105 4096 0600;                HELD+=("shm:$HOLD_ID"); HELD_PIDS+=("$HOLD_PID")
        hold msg 0x7205 64 0600;                  HELD+=("msg:$HOLD_ID"); HELD_PIDS+=("$HOLD_PID")
        hold fifo "$FIFODIR/pipe-05-held" 0 0600; HELD+=("fifo:$FIFODIR/pipe-05-held"); HELD_PIDS+=("$HOLD_PID")
    fi
    hold -x shm $((0x7000 + i)) 4096 0600
    wait_exited "$HOLD_PID"
    hold -x msg $((0x7100 + i * 2)) 32 0600
    wait_exited "$HOLD_PID"
    mkfifo -m 0600 "$FIFODIR/pipe-0$i"
done
ORPHAN_TOTAL=30
HELD_IDS=$(printf '%s\n' "${HELD[@]}" | LC_ALL=C sort | paste -sd' ')

# Real orphans are older than the second they were made in: wait for the
# clock to pass the newest ctime, so the sweeps below see that case.
newest=$(find "$FIFODIR" -printf '%C@\n' | sort -n | tail -n 1)
while [ "$(date +%s)" -le "${newest%.*}" ]; do sleep 0.05; done

# inventory: sets ORPHANS (objects not held), HELD_NOW (held ids still
# there, sorted) and HELD_LIVE (how many of those are LIVE).
inventory() {
    local json
    json=$("$IPCGC" --config "$CONF" list --local -J)
    ORPHANS=$(jq --arg held "$HELD_IDS" '($held | split(" ")) as $h | [.objects[] | select(.id as $id | $h | index($id) | not)] | length' <<<"$json")
    HELD_NOW=$(jq -r --arg held "$HELD_IDS" '($held | split(" ")) as $h | [.objects[] | select(.id as $id | $h | index($id)) | .id] | sort | join(" ")' <<<"$json")
    HELD_LIVE=$(jq --arg held "$HELD_IDS" '($held | split(" ")) as $h | [.objects[] | select((.id as $id | $h | index($id)) and .verdict == "LIVE")] | length' <<<"$json")
}

# held_intact WHEN: the held objects are all there, LIVE, their holders alive.
held_intact() {
    local p dead=
    is "$HELD_NOW" "$HELD_IDS" "$1: the held objects are all still there"
    is "$HELD_LIVE" "${#HELD[@]}" "$1: and LIVE"
    for p in "${HELD_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || dead="$dead $p"; done
    is "$dead" "" "$1: their holders are alive"
}

inventory
is "$ORPHANS" "$ORPHAN_TOTAL" "$ORPHAN_TOTAL orphans to start with"
held_intact "at the start"

# --- MaxRemovalsPerSweep=0: nothing at all is removed -------------------------
sed "s/^MaxRemovalsPerSweep=.*/MaxRemovalsPerSweep=0/" "$CONF" >"$T/zero.conf"
json=$("$IPCGC" --config "$T/zero.conf" sweep --local -J)
is "$?" 0 "MaxRemovalsPerSweep=0: sweep exits 0"
is "$(jq -c '[.removed, .skipped, .failed, .stopped, .not_tried]' <<<"$json")" "[0,0,0,true,$ORPHAN_TOTAL]" \
    "MaxRemovalsPerSweep=0: removed 0, stopped, all $ORPHAN_TOTAL not tried"
inventory
is "$ORPHANS" "$ORPHAN_TOTAL" "MaxRemovalsPerSweep=0: still $ORPHAN_TOTAL orphans"

# --- A dry run stops at the limit too, and removes nothing --------------------
json=$("$IPCGC" --config "$CONF" sweep --local --dry-run -J)
is "$?" 0 "dry run exits 0"
is "$(jq -c '[.dry_run, .removed, .would_remove, .stopped, .not_tried]' <<<"$json")" \
    "[true,0,$LIMIT,true,$((ORPHAN_TOTAL - LIMIT))]" "dry run: would remove $LIMIT, stopped, $((ORPHAN_TOTAL - LIMIT)) not tried"
inventory
is "$ORPHANS" "$ORPHAN_TOTAL" "dry run: still $ORPHAN_TOTAL orphans"

# --- Sweep after sweep --------------------------------------------------------
# sweep_once N FORMAT: one sweep (FORMAT json or table), checked against what
# the limit allows with ORPHANS left before it.
sweep_once() {
    local n=$1 format=$2 before=$ORPHANS want_removed want_left stopped
    want_removed=$((before < LIMIT ? before : LIMIT))
    want_left=$((before - want_removed))
    if [ "$want_left" -gt 0 ]; then stopped=true; else stopped=false; fi

    if [ "$format" = json ]; then
        json=$("$IPCGC" --config "$CONF" sweep --local -J 2>"$T/sweep.err")
        is "$?" 0 "sweep $n exits 0"
        is "$(jq '[.records[] | select(.action == "removed")] | length' <<<"$json")" "$want_removed" \
            "sweep $n: $want_removed removed records"
        is "$(jq -c '[.removed, .skipped, .failed, .stopped, .not_tried]' <<<"$json")" \
            "[$want_removed,0,0,$stopped,$want_left]" \
            "sweep $n: removed $want_removed, stopped=$stopped, not_tried=$want_left"
        jq -r '.records[] | select(.action == "skipped" or .action == "failed") | "#   \(.action) \(.id): \(.reason)"' <<<"$json"
        if [ "$stopped" = true ]; then
            is "$(jq -c '[.records[] | select(.action == "stopped") | [.id, .reason]]' <<<"$json")" \
                "[[null,\"MaxRemovalsPerSweep=$LIMIT reached; $want_left orphan$([ "$want_left" = 1 ] || echo s) left for the next sweep\"]]" \
                "sweep $n: one stopped record says why"
        else
            is "$(jq '[.records[] | select(.action == "stopped")] | length' <<<"$json")" 0 "sweep $n: no stopped record"
        fi
        is "$(jq --arg held "$HELD_IDS" '($held | split(" ")) as $h | [.records[] | select(.id as $id | $h | index($id))] | length' <<<"$json")" \
            0 "sweep $n: no record names a held object"
    else
        "$IPCGC" --config "$CONF" sweep --local >"$T/sweep.out" 2>"$T/sweep.err"
        is "$?" 0 "sweep $n (table) exits 0"
        is "$(awk '$1 == "removed"' "$T/sweep.out" | wc -l)" "$want_removed" "sweep $n (table): $want_removed removed rows"
        if [ "$stopped" = true ]; then
            check "sweep $n (table): a stopped row" grep -q "^stopped .*MaxRemovalsPerSweep=$LIMIT reached" "$T/sweep.out"
            is "$(tail -n 1 "$T/sweep.out")" "$want_removed removed, 0 skipped, 0 failed; stopped at MaxRemovalsPerSweep" \
                "sweep $n (table): the summary says it stopped"
        else
            check "sweep $n (table): no stopped row" bash -c "! grep -q stopped '$T/sweep.out'"
        fi
        awk '$1 == "skipped" || $1 == "failed" { print "#   " $0 }' "$T/sweep.out"
    fi
    is "$(cat "$T/sweep.err")" "" "sweep $n: nothing on stderr"

    inventory
    is "$ORPHANS" "$want_left" "sweep $n: $before -> $want_left orphans"
    held_intact "after sweep $n"
}

# Each sweep is checked against what is left before it, so one that goes
# wrong does not hide what the next ones do; the whole run is checked last.
formats=(json table json json json)
n=0
counts=$ORPHANS
while [ "$ORPHANS" -gt 0 ] && [ "$n" -lt 10 ]; do
    sweep_once $((n + 1)) "${formats[n]:-json}"
    n=$((n + 1))
    counts="$counts $ORPHANS"
done
is "$counts" "30 23 16 9 2 0" "orphans sweep after sweep: 30 23 16 9 2 0"

# Nothing left to do: an empty sweep, not stopped.
json=$("$IPCGC" --config "$CONF" sweep --local -J)
is "$(jq -c '[.removed, .skipped, .failed, .stopped, .not_tried, (.records | length)]' <<<"$json")" "[0,0,0,false,0,0]" \
    "a sweep with no orphans left does nothing and does not stop"
inventory
held_intact "at the end"

done_testing
