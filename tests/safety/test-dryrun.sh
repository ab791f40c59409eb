#!/bin/bash
# Safety invariant 5: a dry run changes nothing, not even timestamps.
#
# In private namespaces: one held and one orphaned object of every type (and
# a plain mkfifo orphan in a subdirectory), with a rule that would collect
# every orphan at once.  `sweep --dry-run` (table and JSON) and a plain sweep
# under DryRun=yes must name exactly the orphans and leave every object, its
# metadata and every file's times exactly as they were.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

cat >>"$CONF" <<'EOF'

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

orphan() { # orphan ARGS...: hold -x ARGS, wait for the helper to go
    hold -x "$@"
    wait_exited "$HOLD_PID"
}

ORPHANS=()
SEM_IDS=

# Held: each kept alive by its helper for the whole test.
hold shm 0x5a01 8192 0640
hold sem 0x5a02 2 0600;                        SEM_IDS="$SEM_IDS $HOLD_ID"
hold msg 0x5a03 64 0600
hold mq /safety-held-mq 32 0600
hold pshm /safety-held-pshm 4096 0600
hold psem /safety-held-psem 0 0644
hold fifo "$FIFODIR/held-fifo" 0 0620
HELD_COUNT=7

# Orphans: made by a helper that is gone, or by nobody at all.
orphan shm 0x5b01 4096 0600;                   ORPHANS+=("shm:$HOLD_ID")
orphan sem 0x5b02 3 0600;                      ORPHANS+=("sem:$HOLD_ID"); SEM_IDS="$SEM_IDS $HOLD_ID"
orphan msg 0x5b03 100 0600;                    ORPHANS+=("msg:$HOLD_ID")
orphan mq /safety-orphan-mq 48 0600;           ORPHANS+=("mq:/safety-orphan-mq")
orphan pshm /safety-orphan-pshm 4096 0600;     ORPHANS+=("pshm:/safety-orphan-pshm")
orphan psem /safety-orphan-psem 0 0600;        ORPHANS+=("psem:/safety-orphan-psem")
orphan fifo "$FIFODIR/orphan-fifo" 0 0600;     ORPHANS+=("fifo:$FIFODIR/orphan-fifo")
mkdir -m 0755 "$FIFODIR/sub"
mkfifo -m 0644 "$FIFODIR/sub/plain-fifo";      ORPHANS+=("fifo:$FIFODIR/sub/plain-fifo")

# Sorted, on one line: how sets of ids are compared.
ids() { LC_ALL=C sort | paste -sd' '; }
EXPECTED_IDS=$(printf '%s\n' "${ORPHANS[@]}" | ids)

# Known timestamps with nanoseconds, atime older than mtime: under relatime
# any read of a file would move its atime, and a time put back with only
# second precision would show.  Directories get an atime in the future, so
# that the readdir of our own `ls` (relatime) cannot move it either; their
# mtime and ctime still show any entry made or removed.
files=$(find /dev/shm "$MQDIR" "$FIFODIR" -mindepth 1 ! -type d)
dirs=$(find /dev/shm "$MQDIR" "$FIFODIR" -type d)
for f in $files; do
    touch -h -a -d @1000000000.123456789 "$f"
    touch -h -m -d @1000000500.987654321 "$f"
done
for d in $dirs; do
    touch -m -d @1000000600.111111111 "$d"
    touch -a -d @4000000000.222222222 "$d"
done

# snapshot NAME: everything a dry run must leave alone, into $T/snap-NAME.
#   ipcs       ipcs -a, -t (times), -p (pids), and each set's semaphores
#   ls         ls -laR --time-style=full-iso of /dev/shm, mqueue, FIFO dir
#   stat       name, type, inode, mode, owner, size, links, atime, mtime and
#              ctime (nanoseconds) of every file and directory there; for mq
#              files the ctime goes to mq-ctime instead
#   inventory  list -J, every field of every object, sorted by id, except:
#              idle (seconds since last activity: grows as the test runs),
#              the "idle ..." part of reason (the same number, as text),
#              what the memory of life adds to a reason ("first seen without
#              life 1s ago": the first list taught it; it is ipcgc's state
#              in StateDir, not the object's), and
#              the mq ctime (reading a queue's status file stamps its ctime,
#              our own list included: docs/ARCHITECTURE.md), kept in mq-ctime
# The list comes last, so the "before" ipcs, ls and stat are what things
# were before ipcgc ever ran: listing itself is held to the same standard.
snapshot() {
    local d=$T/snap-$1 f
    mkdir -p "$d"
    {
        ipcs -a
        ipcs -a -t
        ipcs -a -p
        for f in $SEM_IDS; do ipcs -s -i "$f"; done
    } >"$d/ipcs" 2>&1
    for f in /dev/shm "$MQDIR" "$FIFODIR"; do
        # "..": the parent is outside what we watch (and $T holds the snapshots).
        ls -laR --time-style=full-iso "$f" | grep -v ' \.\.$'
    done >"$d/ls" 2>&1
    : >"$d/stat"
    : >"$d/mq-ctime"
    find /dev/shm "$MQDIR" "$FIFODIR" | LC_ALL=C sort | while read -r f; do
        if [ "${f%/*}" = "$MQDIR" ]; then
            stat -c '%n %F ino=%i %a %u:%g size=%s links=%h atime=%x mtime=%y' "$f" >>"$d/stat"
            stat -c 'stat %n ctime=%z' "$f" >>"$d/mq-ctime"
        else
            stat -c '%n %F ino=%i %a %u:%g size=%s links=%h atime=%x mtime=%y ctime=%z' "$f" >>"$d/stat"
        fi
    done
    "$IPCGC" --config "$CONF" list --local -J >"$d/list.json" 2>"$d/list.err"
    echo "list exit $?" >>"$d/list.err"
    jq -S '[.objects[] | del(.idle) | .reason |= sub("idle [^;]*"; "idle -")
            | .reason |= gsub("; (first seen without life|last [^;]* seen) [^;]*"; "")
            | if .type == "mq" then del(.ctime) else . end] | sort_by(.id)' "$d/list.json" >"$d/inventory"
    jq -r '.objects[] | select(.type == "mq") | "list \(.id) ctime=\(.ctime)"' "$d/list.json" >>"$d/mq-ctime"
}

# same WHAT DESC: snapshot "before" and "after" of WHAT are identical.
same() {
    local a=$T/snap-before/$1 b=$T/snap-after/$1
    if cmp -s "$a" "$b"; then
        ok "$2"
    else
        local diff
        mapfile -t diff < <(diff -u "$a" "$b" | head -40)
        not_ok "$2" "${diff[@]}"
    fi
}

snapshot before

# The setup is what it claims: all orphans ORPHAN, all held LIVE.
is "$(jq '.objects | length' "$T/snap-before/list.json")" $((HELD_COUNT + ${#ORPHANS[@]})) \
    "$((HELD_COUNT + ${#ORPHANS[@]})) objects: $HELD_COUNT held, ${#ORPHANS[@]} orphaned"
is "$(jq -r '.objects[] | select(.verdict == "ORPHAN") | .id' "$T/snap-before/list.json" | ids)" \
    "$EXPECTED_IDS" "the orphans, and only they, are judged ORPHAN"
is "$(jq '[.objects[] | select(.verdict == "LIVE")] | length' "$T/snap-before/list.json")" "$HELD_COUNT" \
    "the held objects are judged LIVE"
is "$(jq -r '[.objects[].type] | unique | join(" ")' "$T/snap-before/list.json")" "fifo mq msg psem pshm sem shm" \
    "every type is there"

# --- sweep --dry-run, table ---------------------------------------------------
"$IPCGC" --config "$CONF" sweep --local --dry-run >"$T/dry.out" 2>"$T/dry.err"
is "$?" 0 "sweep --dry-run exits 0"
is "$(awk '$1 == "would-remove" { print $2 }' "$T/dry.out" | ids)" "$EXPECTED_IDS" \
    "sweep --dry-run: would-remove exactly the orphans"
is "$(awk 'NR > 1 && $1 != "would-remove" && NF && !/would be removed/ && !/^judged [0-9]+ object/' "$T/dry.out")" "" \
    "sweep --dry-run: no other action (removed, skipped, failed, stopped)"
is "$(tail -n 1 "$T/dry.out")" "${#ORPHANS[@]} would be removed (dry run), 0 skipped, 0 failed" \
    "sweep --dry-run: summary line"
is "$(cat "$T/dry.err")" "" "sweep --dry-run: nothing on stderr"

# --- sweep --dry-run -J -------------------------------------------------------
json=$("$IPCGC" --config "$CONF" sweep --local --dry-run -J 2>"$T/dryj.err")
is "$?" 0 "sweep --dry-run -J exits 0"
is "$(jq -c '[.dry_run, .removed, .would_remove, .skipped, .failed, .stopped, .not_tried]' <<<"$json")" \
    "[true,0,${#ORPHANS[@]},0,0,false,0]" "sweep --dry-run -J: dry_run, removed 0, would_remove ${#ORPHANS[@]}, nothing else"
is "$(jq -r '.records[] | select(.action == "would-remove") | .id' <<<"$json" | ids)" "$EXPECTED_IDS" \
    "sweep --dry-run -J: would-remove records are exactly the orphans"
is "$(jq -c '[.records[].action] | unique' <<<"$json")" '["would-remove"]' \
    "sweep --dry-run -J: no record of any other action"
is "$(jq -c '[.records[] | select(.verdict != "ORPHAN" or .rule != "all")] | length' <<<"$json")" 0 \
    "sweep --dry-run -J: each record is an ORPHAN under rule all"

# --- DryRun=yes in the configuration, plain sweep -----------------------------
DRYCONF=$T/dryrun.conf
cp "$CONF" "$DRYCONF"
printf '\n[Daemon]\nDryRun=yes\n' >>"$DRYCONF"
"$IPCGC" --config "$DRYCONF" sweep --local >"$T/cfg.out" 2>"$T/cfg.err"
is "$?" 0 "sweep under DryRun=yes exits 0"
check "sweep under DryRun=yes says on stderr that nothing will be removed" \
    grep -q "DryRun=yes.*nothing will be removed" "$T/cfg.err"
is "$(awk '$1 == "removed"' "$T/cfg.out")" "" "sweep under DryRun=yes: no removed record"
is "$(awk '$1 == "would-remove" { print $2 }' "$T/cfg.out" | ids)" "$EXPECTED_IDS" \
    "sweep under DryRun=yes: would-remove exactly the orphans"
is "$(tail -n 1 "$T/cfg.out")" "${#ORPHANS[@]} would be removed (dry run), 0 skipped, 0 failed" \
    "sweep under DryRun=yes: summary says dry run"
json=$("$IPCGC" --config "$DRYCONF" sweep --local -J 2>"$T/cfgj.err")
is "$(jq -c '[.dry_run, .removed, .would_remove]' <<<"$json")" "[true,0,${#ORPHANS[@]}]" \
    "sweep -J under DryRun=yes: dry_run true, removed 0"
check "sweep -J under DryRun=yes says so on stderr too" grep -q "DryRun=yes.*nothing will be removed" "$T/cfgj.err"

# --- Nothing changed ----------------------------------------------------------
snapshot after
is "$(cat "$T/snap-after/list.err")" "list exit 0" "list after the dry runs exits 0"
same inventory "inventory unchanged: every object, every field (ids, keys, owners, perms, sizes, pids, nattch, qnum, times)"
same ipcs "ipcs -a, -t, -p and every semaphore unchanged"
same ls "ls -laR of /dev/shm, the mqueue dir and the FIFO dir unchanged"
same stat "every file's and directory's atime, mtime and ctime unchanged (ns), mq ctime apart"

mqs=$(ls "$MQDIR")
is "$(echo $mqs)" "safety-held-mq safety-orphan-mq" "both queues still there"
# The mqueue file system keeps whole seconds: the times set above, truncated.
for q in $mqs; do
    is "$(stat -c '%X %Y' "$MQDIR/$q")" "1000000000 1000000500" "mq /$q: atime and mtime still as set"
done
# Documented kernel behaviour, not a failure: every read of a queue's status
# file stamps its ctime.  Shown, not judged.
if cmp -s "$T/snap-before/mq-ctime" "$T/snap-after/mq-ctime"; then
    echo "# mq ctime: unchanged"
else
    echo "# mq ctime moved (reading the status file stamps it; docs/ARCHITECTURE.md):"
    diff "$T/snap-before/mq-ctime" "$T/snap-after/mq-ctime" | sed -n 's/^[<>]/#  &/p'
fi

# --- The same objects are removable: the dry runs had something to hold back --
# Real orphans are older than the second they last changed in: wait for the
# clock to pass the newest ctime here, so the real sweep sees that case.
newest=$(find /dev/shm "$MQDIR" "$FIFODIR" -printf '%C@\n' | sort -n | tail -n 1)
while [ "$(date +%s)" -le "${newest%.*}" ]; do sleep 0.05; done
json=$("$IPCGC" --config "$CONF" sweep --local -J 2>"$T/real.err")
is "$?" 0 "a real sweep afterwards exits 0"
is "$(jq -r '.records[] | select(.action == "removed") | .id' <<<"$json" | ids)" "$EXPECTED_IDS" \
    "a real sweep removes exactly the orphans"
jq -r '.records[] | select(.action != "removed") | "#   \(.action) \(.id): \(.reason)"' <<<"$json"
is "$(find /dev/shm "$MQDIR" "$FIFODIR" -type d | LC_ALL=C sort | paste -sd' ')" "/dev/shm $FIFODIR $FIFODIR/sub $MQDIR" \
    "no directory left behind by the removals"
left=$("$IPCGC" --config "$CONF" list --local -J | jq -r '[.objects[] | "\(.id) \(.verdict)"] | sort | .[]')
is "$(wc -l <<<"$left")" "$HELD_COUNT" "the $HELD_COUNT held objects are left"
is "$(grep -vc ' LIVE$' <<<"$left")" 0 "and they are all LIVE"

done_testing
