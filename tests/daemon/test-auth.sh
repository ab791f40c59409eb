#!/bin/bash
# Who may do what through ipcgcd: a user who is neither root nor in the
# AdminGroup sees only their own objects and may change nothing; an
# AdminGroup member (by supplementary or primary gid) and root may do
# everything.  Peer credentials come from the socket (SO_PEERCRED and
# SO_PEERGROUPS), so the clients run as other users through setpriv.
# In private namespaces.
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }
enter_private_namespaces "$@"

[ -x "$VCLIENT" ] || { echo "Bail out! $VCLIENT is not built"; exit 1; }

# ipc-hold -x prints "ready" and exits: wait until it has, so its orphan is
# not still attached.
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

# Root's objects: one live, three orphans.
hold shm 0x1001 4096 0600;                          R_LIVE=shm:$HOLD_ID
hold -x shm 0x1002 4096 0600;                       R_SHM=shm:$HOLD_ID; wait_exited "$HOLD_PID"
hold -x msg 0x1003 64 0600;                         R_MSG=msg:$HOLD_ID; wait_exited "$HOLD_PID"
hold -x pshm /root-orphan 4096 0600;                R_PSHM=pshm:/root-orphan; wait_exited "$HOLD_PID"
# uid 4321's: one live, three orphans.
hold_as 4321:4321 sem 0x2001 2 0600;                U_LIVE=sem:$HOLD_ID
hold_as 4321:4321 -x shm 0x2002 4096 0600;          U_SHM=shm:$HOLD_ID; wait_exited "$HOLD_PID"
hold_as 4321:4321 -x msg 0x2003 64 0600;            U_MSG=msg:$HOLD_ID; wait_exited "$HOLD_PID"
hold_as 4321:4321 -x pshm /user-orphan 4096 0600;   U_PSHM=pshm:/user-orphan; wait_exited "$HOLD_PID"

sorted() { printf '%s\n' "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
ALL=$(sorted "$R_LIVE" "$R_SHM" "$R_MSG" "$R_PSHM" "$U_LIVE" "$U_SHM" "$U_MSG" "$U_PSHM")
MINE=$(sorted "$U_LIVE" "$U_SHM" "$U_MSG" "$U_PSHM")

BASE=$T/base.conf
cp "$CONF" "$BASE"
# write_config [DAEMON-LINES...] -- RULE-LINES...: $CONF from the [Scan]
# base, a [Daemon] section and one rule matching everything.
write_config() {
    cp "$BASE" "$CONF"
    local daemon=() rule=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do daemon+=("$1"); shift; done
    shift
    rule=("$@")
    daemon_config "${daemon[@]}"
    { echo "[Rule all]"; printf '%s\n' "${rule[@]}"; } >>"$CONF"
}

# Orphans are PENDING for an hour: nothing is collectable, by timer or not.
write_config -- MinAge=1h Action=collect
chmod 0644 "$CONF"
start_daemon --no-process-events

# ids_local: every object's id, judged in this process, not by the daemon.
ids_local() { "$IPCGC" --config "$CONF" list --local -J | jq -r '.objects[].id' | sort | tr '\n' ' ' | sed 's/ $//'; }
ids_of() { jq -r '.objects[].id' <<<"$1" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'; }
is "$(ids_local)" "$ALL" "the eight objects are there"

AS_U=(setpriv --reuid=4321 --regid=4321 --clear-groups)

# run WHO... -- ARGS: runs the CLI, OUT, ERR and RC set.
run() {
    local who=()
    while [ "$1" != -- ]; do who+=("$1"); shift; done
    shift
    OUT=$("${who[@]}" "$IPCGC" --config "$CONF" "$@" 2>"$T/err")
    RC=$?
    ERR=$(cat "$T/err")
}

# denied DESC WHO... -- ARGS: exit 1, "permission denied" said as a sentence
# and, with --debug, as io.ipcgc.PermissionDenied.
denied() {
    local desc=$1
    shift
    run "$@"
    if [ "$RC" = 1 ] && grep -q '^ipcgc: permission denied: .* needs root or the AdminGroup= group$' <<<"$ERR" &&
        ! grep -q 'io\.ipcgc\.' <<<"$ERR"; then
        ok "$desc: PermissionDenied, exit 1"
    else
        not_ok "$desc: PermissionDenied, exit 1" "exit $RC" "stdout: $OUT" "stderr: $ERR"
    fi
}

# --- An ordinary user --------------------------------------------------------

denied "uid 4321: sweep" "${AS_U[@]}" -- sweep
denied "uid 4321: rm of its own orphan" "${AS_U[@]}" -- rm "$U_SHM"
denied "uid 4321: rm --force of its own orphan" "${AS_U[@]}" -- rm --force "$U_SHM"
denied "uid 4321: rm of root's orphan" "${AS_U[@]}" -- rm --force "$R_SHM"
denied "uid 4321: reload" "${AS_U[@]}" -- reload
denied "uid 4321: list -u root" "${AS_U[@]}" -- list -u root -J
out=$("${AS_U[@]}" "$VCLIENT" -c 1 "$SOCK" '{"method":"io.ipcgc.Sweep","parameters":{"dry_run":false}}\0')
is "$(jq -c '[.error, .parameters]' <<<"$out" 2>/dev/null)" '["io.ipcgc.PermissionDenied",{"method":"io.ipcgc.Sweep"}]' \
    "uid 4321: raw Sweep(dry_run: false) is PermissionDenied naming the method"
is "$(ids_local)" "$ALL" "uid 4321's attempts removed nothing"

run "${AS_U[@]}" -- sweep --dry-run -J
is "$RC" 0 "uid 4321: sweep --dry-run is allowed"
is "$(jq -c '[.dry_run, .removed, .would_remove, (.records | length)]' <<<"$OUT" 2>/dev/null)" '[true,0,0,0]' \
    "uid 4321: sweep --dry-run with nothing collectable names nothing"

run "${AS_U[@]}" -- list -J
is "$RC" 0 "uid 4321: list works"
is "$(ids_of "$OUT")" "$MINE" "uid 4321: list shows exactly its four objects"
run "${AS_U[@]}" -- list -u 4321 -J
is "$(ids_of "$OUT")" "$MINE" "uid 4321: list -u 4321 shows the same four"
run "${AS_U[@]}" -- list -t shm -J
is "$(ids_of "$OUT")" "$U_SHM" "uid 4321: list -t shm shows only its own segment"

run "${AS_U[@]}" -- explain "$R_SHM"
if [ "$RC" = 1 ] && grep -qF "ipcgc: there is no object $R_SHM (gone, or not yours to see)" <<<"$ERR"; then
    ok "uid 4321: explain of root's object is NoSuchObject"
else
    not_ok "uid 4321: explain of root's object is NoSuchObject" "exit $RC" "stdout: $OUT" "stderr: $ERR"
fi
run "${AS_U[@]}" -- explain "$R_LIVE"
is "$RC $(grep -c "there is no object $R_LIVE " <<<"$ERR")" "1 1" "uid 4321: explain of root's live segment is NoSuchObject"
run "${AS_U[@]}" -- explain -J "$U_SHM"
is "$RC $(jq -r '[.id, .verdict] | join(" ")' <<<"$OUT" 2>/dev/null)" "0 $U_SHM PENDING" "uid 4321: explain of its own orphan works"

run "${AS_U[@]}" -- status -J
is "$RC" 0 "uid 4321: status works"
is "$(jq -c '[.objects, .verdicts.LIVE, .verdicts.PENDING, ([.verdicts[]] | add)]' <<<"$OUT" 2>/dev/null)" '[4,1,3,4]' \
    "uid 4321: status counts only its own objects (1 LIVE, 3 PENDING)"
run "${AS_U[@]}" -- history -J
is "$RC $(jq -c '.entries' <<<"$OUT" 2>/dev/null)" "0 []" "uid 4321: history works and shows nothing"

run -- status -J
is "$(jq -c '[.objects, .verdicts.LIVE, .verdicts.PENDING]' <<<"$OUT" 2>/dev/null)" '[8,2,6]' "root: status counts all eight"
run -- list -J
is "$(ids_of "$OUT")" "$ALL" "root: list shows all eight"

# --- AdminGroup=4400 -------------------------------------------------------

write_config AdminGroup=4400 -- MinAge=1h Action=collect
run -- reload
is "$RC" 0 "root: reload to AdminGroup=4400"
run -- status -J
is "$(jq -r .config <<<"$OUT" 2>/dev/null) $RC" "$CONF 0" "the daemon still answers after the reload"

GROUP=(setpriv --reuid=4321 --regid=4321 --groups=4400)
PRIMARY=(setpriv --reuid=4321 --regid=4400 --clear-groups)
OTHER=(setpriv --reuid=4321 --regid=4321 --groups=4401,4402)

run "${GROUP[@]}" -- sweep -J
is "$RC" 0 "uid 4321 in group 4400: sweep is allowed"
is "$(jq -c '[.dry_run, .removed, .would_remove, .failed, (.records | length)]' <<<"$OUT" 2>/dev/null)" '[false,0,0,0,0]' \
    "uid 4321 in group 4400: the sweep removes nothing (nothing collectable)"
run "${GROUP[@]}" -- reload
is "$RC" 0 "uid 4321 in group 4400: reload is allowed"
run "${GROUP[@]}" -- list -J
is "$(ids_of "$OUT")" "$ALL" "uid 4321 in group 4400: list shows all eight"
run "${GROUP[@]}" -- explain -J "$R_SHM"
is "$RC $(jq -r .id <<<"$OUT" 2>/dev/null)" "0 $R_SHM" "uid 4321 in group 4400: explain of root's object works"
run "${GROUP[@]}" -- status -J
is "$(jq -r .objects <<<"$OUT" 2>/dev/null)" 8 "uid 4321 in group 4400: status counts all eight"
run "${GROUP[@]}" -- --debug rm "$R_SHM"
if [ "$RC" = 1 ] && grep -q 'io\.ipcgc\.ObjectInUse' <<<"$ERR"; then
    ok "uid 4321 in group 4400: rm of a PENDING object without --force is ObjectInUse"
else
    not_ok "uid 4321 in group 4400: rm of a PENDING object without --force is ObjectInUse" "exit $RC" "stderr: $ERR"
fi

run "${PRIMARY[@]}" -- list -J
is "$(ids_of "$OUT")" "$ALL" "uid 4321 with primary gid 4400: list shows all eight"
run "${PRIMARY[@]}" -- sweep -J
is "$RC" 0 "uid 4321 with primary gid 4400: sweep is allowed"

denied "uid 4321 in groups 4401,4402: sweep" "${OTHER[@]}" -- sweep
denied "uid 4321 with no groups: sweep" "${AS_U[@]}" -- sweep
denied "uid 4321 with no groups: reload" "${AS_U[@]}" -- reload
run "${AS_U[@]}" -- list -J
is "$(ids_of "$OUT")" "$MINE" "uid 4321 with no groups: list still shows only its own"
is "$(ids_local)" "$ALL" "nothing was removed"

# --- Root ----------------------------------------------------------------

run -- sweep -J
is "$RC $(jq -c '[.removed, .failed]' <<<"$OUT" 2>/dev/null)" "0 [0,0]" "root: sweep works and removes nothing"
run -- reload
is "$RC" 0 "root: reload works"
run -- rm "$R_SHM"
is "$RC $(grep -c "^ipcgc: $R_SHM is not removable: PENDING, " <<<"$ERR")" "1 1" "root: rm of a PENDING object without --force is ObjectInUse"
run -- rm --force -J "$R_SHM"
is "$RC $(jq -r '.results[0].record.action' <<<"$OUT" 2>/dev/null)" "0 removed" "root: rm --force of its PENDING orphan removes it"
ALL=$(sorted "$R_LIVE" "$R_MSG" "$R_PSHM" "$U_LIVE" "$U_SHM" "$U_MSG" "$U_PSHM")
is "$(ids_local)" "$ALL" "exactly that object is gone"
run -- history -l 5000 -J
is "$(jq -r --arg id "$R_SHM" '[.entries[] | select(.id == $id) | .action] | join(",")' <<<"$OUT" 2>/dev/null)" removed \
    "root: history records the removal"
run "${AS_U[@]}" -- history -J
is "$(jq -c .entries <<<"$OUT" 2>/dev/null)" "[]" "uid 4321: history still shows nothing"

# --- Dry runs see only one's own orphans -------------------------------------

# Everything orphaned is now collectable, but the daemon removes nothing.
write_config DryRun=yes -- MinAge=0 Action=collect
run -- reload
is "$RC" 0 "root: reload to MinAge=0 under DryRun=yes"

run "${AS_U[@]}" -- sweep --dry-run -J
is "$RC" 0 "uid 4321: sweep --dry-run works"
is "$(jq -r '.records[].id' <<<"$OUT" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//')" "$(sorted "$U_SHM" "$U_MSG" "$U_PSHM")" \
    "uid 4321: the dry run names exactly its three orphans"
is "$(jq -c '[.would_remove, .removed]' <<<"$OUT" 2>/dev/null)" '[3,0]' "uid 4321: would_remove counts only its own"
run -- sweep --dry-run -J
is "$(jq -r '.records[].id' <<<"$OUT" 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//')" \
    "$(sorted "$R_MSG" "$R_PSHM" "$U_SHM" "$U_MSG" "$U_PSHM")" "root: the dry run names all five orphans"
out=$("${AS_U[@]}" "$VCLIENT" -c 1 "$SOCK" '{"method":"io.ipcgc.Sweep","parameters":{}}\0')
is "$(jq -r .error <<<"$out" 2>/dev/null)" io.ipcgc.PermissionDenied "uid 4321: raw Sweep() (not dry) is still PermissionDenied"
run "${AS_U[@]}" -- list -J
is "$(jq -r '[.objects[] | .verdict] | sort | join(",")' <<<"$OUT" 2>/dev/null)" "LIVE,ORPHAN,ORPHAN,ORPHAN" \
    "uid 4321: list shows its own four, three now ORPHAN"
is "$(ids_local)" "$ALL" "the dry runs removed nothing"

# --- Dry runs cannot write the history ------------------------------------

# With MaxRemovalsPerSweep=1 every dry run stops early, and a sweep that
# stops says so with a record.  A dry run acts on nothing, so nothing of it
# belongs in the history of what was done, and an ordinary user must not
# be able to push root's removals out of it (it keeps HISTORY_MAX = 1024).
write_config DryRun=yes MaxRemovalsPerSweep=1 -- MinAge=0 Action=collect
run -- reload
is "$RC" 0 "root: reload to MaxRemovalsPerSweep=1"
run -- history -l 5000 -J
before=$(jq '.entries | length' <<<"$OUT" 2>/dev/null)
run "${AS_U[@]}" -- sweep --dry-run -J
is "$RC $(jq -c '[.would_remove, .stopped]' <<<"$OUT" 2>/dev/null)" "0 [1,true]" "uid 4321: a dry run under MaxRemovalsPerSweep=1 stops after one"
run -- history -l 5000 -J
is "$(jq '.entries | length' <<<"$OUT" 2>/dev/null)" "$before" "uid 4321's dry run added nothing to the history"
# 1100 dry runs, pipelined on one connection.
req='{"method":"io.ipcgc.Sweep","parameters":{"dry_run":true}}\0'
many=$(for _ in {1..1100}; do printf '%s' "$req"; done)
got=$("${AS_U[@]}" "$VCLIENT" -c 1100 -t 20000 "$SOCK" "$many" | grep -c '"would_remove"')
is "$got" 1100 "uid 4321: 1100 pipelined dry runs are all answered"
run -- history -l 5000 -J
is "$(jq -r --arg id "$R_SHM" '[.entries[] | select(.id == $id) | .action] | join(",")' <<<"$OUT" 2>/dev/null)" removed \
    "root's removal is still in the history after uid 4321's 1100 dry runs"
diag "history as root sees it: $(jq -r '.entries | length' <<<"$OUT") entries: $(jq -r '.entries[].action' <<<"$OUT" | sort | uniq -c | tr -s ' \n' ' ')"

stop_daemon
done_testing
