#!/bin/bash
# Blind spot 6 of issue 9: tampered evidence.  The kernel's record of who
# last used a SysV object is writable by anyone with read permission: a
# read-only shmat/shmdt sets a segment's lpid, a wait-for-zero semop with
# IPC_NOWAIT sets a semaphore's sempid.  uid 4600 does both to uid 4601's
# 0644 shm and sem, and exits, while uid 4601's worker, which used them and
# which ipcgc has seen, lives on doing nothing.  The objects' creator has
# exited too, so the kernel's record now names only dead processes.
#
# The memory of life must keep them: the worker, remembered as their
# evidence, is alive with the same start time.  Once it dies (SIGKILL) they
# are orphans, and go.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"
trap 'kill $(jobs -p) 2>/dev/null' EXIT

diag() { local line; while IFS= read -r line; do echo "# $line"; done <<<"$*"; }

printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"
# The same objects judged with no memory at all, for the record.
sed 's|^StateDir=.*|StateDir=|' "$CONF" >"$T/nomem.conf"
TAMPER=$top_builddir/tests/helpers/ipc-tamper
[ -x "$TAMPER" ] || { echo "Bail out! build tests/helpers/ipc-tamper (make check)"; exit 1; }

as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
gone() { # gone PID: until it is no more (or a zombie nobody reaps)
    while [ -e "/proc/$1" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; do
        read -r -t 0.01 <> <(:) || true
    done
}
# one_line CMD...: runs CMD, reads its first line into LINE, waits for it to exit
one_line() {
    local fd
    exec {fd}< <("$@")
    read -r -u "$fd" LINE || LINE=
    cat <&"$fd" >/dev/null
    exec {fd}<&-
}
# verdict_of ID [CONF]: the verdict list -J gives ID now ("GONE" if not listed)
verdict_of() {
    "$IPCGC" --local --config "${2:-$CONF}" list -J 2>>"$T/list.err" |
        jq -r --arg id "$1" '[.objects[] | select(.id == $id) | .verdict] | first // "GONE"'
}
reason_of() {
    "$IPCGC" --local --config "${2:-$CONF}" list -J 2>>"$T/list.err" |
        jq -r --arg id "$1" '[.objects[] | select(.id == $id) | .reason] | first // "-"'
}
sysv_there() { awk -v id="$2" 'NR > 1 && $2 == id { found = 1 } END { exit !found }' "/proc/sysvipc/$1"; }

# --- uid 4601: a creator that leaves, a worker that stays ---------------------
one_line as 4601 "$TAMPER" create shm 0x7a01 4096 0644
read -r word SHM_ID CREATOR <<<"$LINE"
[ "$word" = ready ] || { echo "Bail out! the creator did not make the shm"; exit 1; }
one_line as 4601 "$TAMPER" create sem 0x7a02 1 0644
read -r word SEM_ID CREATOR2 <<<"$LINE"
[ "$word" = ready ] || { echo "Bail out! the creator did not make the sem"; exit 1; }
gone "$CREATOR"
gone "$CREATOR2"
SHM=shm:$SHM_ID
SEM=sem:$SEM_ID

exec {WORKER_FD}< <(as 4601 "$TAMPER" worker "$SHM_ID" "$SEM_ID")
read -r -u "$WORKER_FD" word WORKER && [ "$word" = ready ] || { echo "Bail out! the worker did not start"; exit 1; }
is "$(stat -c %u "/proc/$WORKER")" 4601 "the worker runs as uid 4601"

json=$("$IPCGC" --local --config "$CONF" list -J)
is "$(jq -r --arg id "$SHM" '.objects[] | select(.id == $id) | "\(.uid) \(.perms) \(.cpid) \(.lpid) \(.nattch)"' <<<"$json")" \
    "4601 0644 $CREATOR $WORKER 0" "the shm: uid 4601, 0644, made by the creator, last used by the worker, not attached"
is "$(jq -r --arg id "$SEM" '.objects[] | select(.id == $id) | "\(.uid) \(.perms) \(.sempids | join(","))"' <<<"$json")" \
    "4601 0644 $WORKER" "the sem: uid 4601, 0644, last operated on by the worker"

# Root's sweep sees them in use: this is where the memory learns the worker.
out=$("$IPCGC" --local --config "$CONF" sweep --dry-run -J 2>"$T/learn.err")
is "$(jq -r --arg s "$SHM" --arg m "$SEM" '[.records[] | select(.id == $s or .id == $m)] | length' <<<"$out")" 0 \
    "before the tampering, a dry run would remove neither"
is "$(verdict_of "$SHM") $(verdict_of "$SEM")" "LIVE LIVE" "before the tampering, both are LIVE (worker pid $WORKER)"
check "the memory of life was saved ($T/state/memory)" test -s "$T/state/memory"

# --- uid 4600 tampers, and leaves ---------------------------------------------
one_line as 4600 "$TAMPER" tamper "$SHM_ID" "$SEM_ID"
read -r word LPID SEMPID <<<"$LINE"
is "$word" tampered "uid 4600 attached read-only and did a wait-for-zero semop"
# The kernel really did overwrite its record: seen from the tamperer itself
# (IPC_STAT, GETPID) and from outside (ipcs -p, list -J).
check "shmctl IPC_STAT then: lpid is the tamperer ($LPID), not the worker" test "$LPID" != "$WORKER" -a "$LPID" -gt 0
check "semctl GETPID then: sempid is the tamperer too" test "$SEMPID" = "$LPID"
TAMPERER=$LPID
gone "$TAMPERER"
is "$(ipcs -m -p | awk -v id="$SHM_ID" '$1 == id { print $3, $4 }')" "$CREATOR $TAMPERER" \
    "ipcs -m -p: cpid the exited creator, lpid the exited tamperer"
json=$("$IPCGC" --local --config "$CONF" list -J 2>>"$T/list.err")
is "$(jq -r --arg id "$SEM" '.objects[] | select(.id == $id) | .sempids | join(",")' <<<"$json")" "$TAMPERER" \
    "the sem's sempid is the exited tamperer"
check "the creator and the tamperer are gone, the worker lives" \
    bash -c "! kill -0 $CREATOR 2>/dev/null && ! kill -0 $TAMPERER 2>/dev/null && kill -0 $WORKER"

diag "with no memory, the kernel's record alone gives: $SHM $(verdict_of "$SHM" "$T/nomem.conf") ($(reason_of "$SHM" "$T/nomem.conf")); $SEM $(verdict_of "$SEM" "$T/nomem.conf") ($(reason_of "$SEM" "$T/nomem.conf"))"

# --- With the memory: kept while the worker lives -----------------------------
out=$("$IPCGC" --local --config "$CONF" sweep -J 2>"$T/sweep.err")
is "$?" 0 "root's sweep after the tampering exits 0"
is "$(jq -r --arg s "$SHM" --arg m "$SEM" '[.records[] | select((.id == $s or .id == $m) and .action == "removed") | .id] | join(" ")' <<<"$out")" "" \
    "root's sweep after the tampering removes neither"
check "the shm is still there" sysv_there shm "$SHM_ID"
check "the sem is still there" sysv_there sem "$SEM_ID"
json=$("$IPCGC" --local --config "$CONF" list -J 2>>"$T/list.err")
for id in "$SHM" "$SEM"; do
    is "$(jq -r --arg id "$id" '.objects[] | select(.id == $id) | .verdict' <<<"$json")" LIVE "list -J: $id is LIVE"
    reason=$(jq -r --arg id "$id" '.objects[] | select(.id == $id) | .reason' <<<"$json")
    check "list -J: $id's reason names the worker (pid $WORKER): $reason" grep -qw "$WORKER" <<<"$reason"
    ev=$("$IPCGC" --local --config "$CONF" explain -J "$id" 2>>"$T/list.err")
    is "$(jq -r --argjson w "$WORKER" '[.evidence[] | select(.role == "remembered" and .pid == $w and .counts) | .state] | first // "none"' <<<"$ev")" \
        alive "explain -J: $id has the worker as remembered evidence, alive, counting"
    jq -r '.evidence[] | "  \(.role) \(.state) pid=\(.pid) \(.comm // "") counts=\(.counts) \(.note // "")"' <<<"$ev" | diag "$id evidence:
$(cat)"
done

# --- The worker dies: now they are orphans --------------------------------------
kill -KILL "$WORKER"
gone "$WORKER"
for id in "$SHM" "$SEM"; do
    is "$(verdict_of "$id")" ORPHAN "after the worker's death, $id is ORPHAN ($(reason_of "$id"))"
done
out=$("$IPCGC" --local --config "$CONF" sweep -J 2>"$T/sweep.err")
is "$(jq -r --arg s "$SHM" --arg m "$SEM" '[.records[] | select((.id == $s or .id == $m) and .action == "removed") | .id] | sort | join(" ")' <<<"$out")" \
    "$(printf '%s\n' "$SEM" "$SHM" | sort | paste -sd' ')" "and root's sweep removes both"
check "the shm is gone" bash -c "! awk -v id=$SHM_ID 'NR > 1 && \$2 == id { f = 1 } END { exit !f }' /proc/sysvipc/shm"
check "the sem is gone" bash -c "! awk -v id=$SEM_ID 'NR > 1 && \$2 == id { f = 1 } END { exit !f }' /proc/sysvipc/sem"
[ -s "$T/list.err" ] && diag "stderr of the lists: $(sort -u "$T/list.err")"

done_testing
