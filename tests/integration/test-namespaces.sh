#!/bin/bash
# Issue 14, acceptance 1: two "containers" nested in the test's private
# namespaces, each its own IPC and mount namespace with its own /dev/shm and
# mqueue mount, in a cgroup named docker-<hex>.scope.  Each holds a live shm,
# an orphaned shm, an orphaned msg, a live pshm and an orphaned pshm.
# `list --local --all-namespaces -J` shows all ten with their verdicts and
# namespaces; `sweep --local --all-namespaces` removes exactly the six
# orphans, from inside each; what is outside them (the test's own namespace,
# the "host" here) is touched only as a plain sweep touches it.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

command -v jq >/dev/null || { echo "1..0 # SKIP jq is needed"; exit 0; }
sed -i "s|^\[Daemon\]$|[Daemon]\nArchiveDir=$T/archive|" "$CONF"
printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"

# The outer namespace first, so that its ids are the containers' too: its
# orphan is shm 0 and its live segment shm 1, held by a process that is no
# member of either container.  A container's orphan shm 1 must not be taken
# for attached because of it.
make_outer_objects
start_containers a b
[ "${NS[a]}" != "${NS[b]}" ] && [ "${NS[a]}" != "$OWN_NS" ] || { echo "Bail out! the containers share a namespace"; exit 1; }

# What a plain sweep of the outer namespace would remove.
plain=$("$IPCGC" --config "$CONF" sweep --local --dry-run -J | jq -c '[.records[] | select(.action == "would-remove") | .id] | sort')
is "$plain" "[\"pshm:/outer-orphan\",\"shm:$OUT_ORPHAN_SHM\"]" "a plain dry run would remove the outer orphans only"

json=$("$IPCGC" --config "$CONF" list --local --all-namespaces -J)
is "$?" 0 "list --all-namespaces -J exits 0"
ns_check_list "$json"
# Each namespace's memory of life is its own state file.
[ -s "$T/state/ipcns-${NS[a]}/memory" ] && [ -s "$T/state/ipcns-${NS[b]}/memory" ] && [ -s "$T/state/memory" ] &&
    ok "a memory of life per namespace, beside the outer one's" || not_ok "a memory of life per namespace" "$(ls -R "$T/state")"
# The outer process attached to the outer shm with the containers' orphan's id holds nothing in them.
is "$(jq -c --arg id "ipc:${NS[a]}/shm:$OUT_LIVE_SHM" '[.objects[] | select(.id == $id) | .holders]' <<<"$json")" \
    "[[]]" "the outer holder of shm $OUT_LIVE_SHM is no holder of container a's shm $OUT_LIVE_SHM"

# explain takes such an id back.
ex=$("$IPCGC" --config "$CONF" explain --local -J "ipc:${NS[a]}/shm:${ORPHAN_SHM[a]}")
is "$(jq -r '"\(.id) \(.verdict) \(.ipcns)"' <<<"$ex")" "ipc:${NS[a]}/shm:${ORPHAN_SHM[a]} ORPHAN ${NS[a]}" \
    "explain takes ipc:INO/shm:ID"

table=$("$IPCGC" --config "$CONF" list --local --all-namespaces)
is "$(head -n 1 <<<"$table" | awk '{ print $1 }')" NAMESPACE "a NAMESPACE column when more than one is shown"
one=$("$IPCGC" --config "$CONF" list --local --namespace "docker:${HEX[b]:0:12}" -J)
is "$(jq -c '[.objects[].ipcns] | unique' <<<"$one")" "[${NS[b]}]" "--namespace NAME shows that namespace only"

# audit: each namespace's use against its own limits.
aud=$("$IPCGC" --config "$CONF" audit --local --all-namespaces -J)
is "$?" 0 "audit --all-namespaces -J exits 0"
ns_check_audit "$aud"

# Rules by namespace: container a's objects collected by its name, every
# other container's only reported (the shipped 10-containers.conf), the
# outer namespace's as before.
awk -v a="docker:${HEX[a]:0:12}" '/^\[Rule default\]$/ {
    printf "[Rule a]\nContainer=%s\nMinAge=0\nAction=collect\n\n[Rule containers]\nNamespace=container\nAction=report\n\n", a }
    { print }' "$CONF" >"$T/rules.conf"
rj=$("$IPCGC" --config "$T/rules.conf" list --local --all-namespaces -J)
verdicts() { jq -c --argjson n "$1" '[.objects[] | select(.ipcns == $n) | "\(.verdict) \(.rule)"] | sort' <<<"$rj"; }
is "$(verdicts "${NS[a]}")" '["LIVE a","LIVE a","ORPHAN a","ORPHAN a","ORPHAN a"]' "Container= matches container a by its name"
is "$(verdicts "${NS[b]}")" '["LIVE containers","LIVE containers","REPORTED containers","REPORTED containers","REPORTED containers"]' \
    "Namespace=container: container b's orphans only reported"
is "$(verdicts "$OWN_NS")" '["LIVE default","LIVE default","ORPHAN default","ORPHAN default"]' "the outer namespace is no container"

# One sweep of all namespaces is one sweep: MaxRemovalsPerSweep= is shared.
sed "s|^\[Daemon\]$|[Daemon]\nMaxRemovalsPerSweep=4|" "$CONF" >"$T/limit.conf"
dry=$("$IPCGC" --config "$T/limit.conf" sweep --local --all-namespaces --dry-run -J)
is "$(jq -c '[.would_remove, .stopped, ([.records[] | select(.action == "would-remove")] | length)]' <<<"$dry")" \
    "[4,true,4]" "MaxRemovalsPerSweep=4: four of the eight orphans of all namespaces, then stopped"

out=$("$IPCGC" --config "$CONF" sweep --local --all-namespaces -J)
is "$?" 0 "sweep --all-namespaces exits 0"
ns_check_sweep "$out" "$plain"

# Each removal was archived first, named as it was listed; an entry of a
# container's goes back into that container (--local), never into this
# namespace, where its key or name could be another program's.
arch=$("$IPCGC" --config "$CONF" archive --local -J)
is "$(jq -c '[.entries[].id] | sort' <<<"$arch")" \
    "$(jq -c '[.records[] | select(.action == "removed") | .id] | sort' <<<"$out")" "every removal archived, under its id"
is "$(jq -r --arg id "ipc:${NS[b]}/msg:${ORPHAN_MSG[b]}" '.entries[] | select(.id == $id) | "\(.ipcns) \(.container)"' <<<"$arch")" \
    "${NS[b]} docker:${HEX[b]:0:12}" "an entry says which namespace, and whose, it came from"
entry=$(jq -r --arg id "ipc:${NS[a]}/pshm:/orphan-a" '.entries[] | select(.id == $id) | .entry' <<<"$arch")
res=$("$IPCGC" --config "$CONF" restore --local -J "$entry")
is "$?" 0 "restore --local of container a's entry exits 0"
is "$(jq -r '.id' <<<"$res")" "pshm:/orphan-a" "and names what it made"
apid=$(head -n 1 "$CGROOT/docker-${HEX[a]}.scope/cgroup.procs")
is "$(nsenter -t "$apid" --mount ls /dev/shm | tr '\n' ' ')" "live-a orphan-a " "it is back in container a's /dev/shm"
is "$(ls /dev/shm | tr '\n' ' ')" "outer-live " "and nothing was made here"
mentry=$(jq -r --arg id "ipc:${NS[a]}/msg:${ORPHAN_MSG[a]}" '.entries[] | select(.id == $id) | .entry' <<<"$arch")
res=$("$IPCGC" --config "$CONF" restore --local -J "$mentry")
is "$?" 0 "restore --local of container a's msg exits 0"
is "$(nsenter -t "$apid" --ipc ipcs -q | awk '$1 ~ /^0x/ { print $1 }')" 0x00005003 "its msg is back in container a, with its key"
is "$(ipcs -q | awk '$1 ~ /^0x/' | wc -l)" 0 "and no msg was made here"
entry=$(jq -r --arg id "shm:$OUT_ORPHAN_SHM" '.entries[] | select(.id == $id) | .entry' <<<"$arch")
"$IPCGC" --config "$CONF" restore --local "$entry" >/dev/null
is "$?" 0 "restore of the outer namespace's own entry works as ever"

# rm takes such an id too, and removes from inside, as a sweep does.
pid=$(head -n 1 "$CGROOT/docker-${HEX[a]}.scope/cgroup.procs")
new=$(nsenter -t "$pid" --ipc "$HOLD" -x shm 0x5009 4096 0600 | awk '{ print $2 }')
rec=$("$IPCGC" --config "$CONF" rm --local -J "ipc:${NS[a]}/shm:$new")
is "$?" 0 "rm ipc:INO/shm:ID exits 0"
is "$(jq -r '.results[0] | "\(.record.action) \(.id) \(.record.id)"' <<<"$rec")" \
    "removed ipc:${NS[a]}/shm:$new ipc:${NS[a]}/shm:$new" "and removed it, named as listed"
is "$(nsenter -t "$pid" --ipc ipcs -m | awk '$1 ~ /^0x/ { print $2 }' | tr '\n' ' ')" "${LIVE_SHM[a]} " "gone from inside container a"
"$IPCGC" --config "$CONF" rm --local "ipc:${NS[a]}/shm:${LIVE_SHM[a]}" 2>/dev/null
is "$?" 1 "rm of a container's live shm is refused"

# A thread blocked on a msg id of its own namespace waits on nothing of
# another's: the outer orphan msg is no less an orphan for container d's
# receiver blocked on its own msg of the same id, in a plain run as in one
# over all namespaces, where d's msg is LIVE by that waiter.
hold -x msg 0x7003 16 0600; OUT_MSG=$HOLD_ID
exec {fdd}< <(unshare --ipc -- sh -c '"$1" -x msg 0x9009 16 0600 >/dev/null && exec "$1" msgwait 0x9009 0 0' d "$HOLD")
read -r -u "$fdd" word DMSG DPID
[ "$DMSG" = "$OUT_MSG" ] || echo "# (the ids differ: $DMSG, $OUT_MSG)"
for i in $(seq 500); do [ "$(awk '{print $3}' "/proc/$DPID/stat" 2>/dev/null)" = S ] && break; read -r -t 0.01 <> <(:) || true; done
NSD=$(stat -L -c %i "/proc/$DPID/ns/ipc")
pj=$("$IPCGC" --config "$CONF" list --local -J)
is "$(jq -r --arg id "msg:$OUT_MSG" '.objects[] | select(.id == $id) | .verdict' <<<"$pj")" ORPHAN \
    "plain: the outer msg $OUT_MSG is ORPHAN whatever container d's thread waits on"
aj=$("$IPCGC" --config "$CONF" list --local --all-namespaces -J)
is "$(jq -r --arg id "msg:$OUT_MSG" '.objects[] | select(.id == $id) | .verdict' <<<"$aj")" ORPHAN \
    "all namespaces: the outer msg $OUT_MSG is ORPHAN"
is "$(jq -r --arg id "ipc:$NSD/msg:$DMSG" '.objects[] | select(.id == $id) | .verdict' <<<"$aj")" LIVE \
    "all namespaces: container d's msg is LIVE by its waiter"
kill "$DPID"

# A container's symlink never leads ipcgc out of it.  With ShmDir= below
# a directory the container replaced by an absolute symlink, that link,
# resolved against ipcgc's root rather than the container's, would have
# ipcgc list the files of a directory of the container's choosing as the
# container's, and remove them.
# The bait on a filesystem of its own: not ShmDir='s, which is left to
# the outer namespace's judgement anyway.
mkdir -p "$T/sd/shm" "$T/bait"
mount -t tmpfs tmpfs "$T/bait" && mkdir "$T/bait/shm"
echo keep >"$T/bait/shm/precious"
touch -d @1000000000 "$T/bait/shm/precious"
sed "s|^ShmDir=/dev/shm$|ShmDir=$T/sd/shm|" "$CONF" >"$T/trap.conf"
mkfifo "$T/stop-c"
exec {fd}< <(unshare --ipc --mount --propagation private -- bash -c '
    exec 3<>"$1"
    mount -t tmpfs tmpfs "$2" && ln -s "$2/bait" "$2/sd" || exit 1
    echo "ready $(stat -L -c %i /proc/self/ns/ipc)"
    read -r _ <&3' trap "$T/stop-c" "$T")
CPID=$!
read -r -u "$fd" word NSC || { echo "Bail out! container c did not start"; exit 1; }
trap_json=$("$IPCGC" --config "$T/trap.conf" list --local --namespace "$NSC" -J 2>"$T/trap.err")
is "$(jq '[.objects[] | select(.type == "pshm")] | length' <<<"$trap_json")" 0 \
    "a ShmDir= behind a container's symlink lists nothing"
grep -q "cannot be reached without following a symlink" "$T/trap.err" && ok "and says why" ||
    not_ok "and says why" "stderr: $(cat "$T/trap.err")"
"$IPCGC" --config "$T/trap.conf" sweep --local --namespace "$NSC" >/dev/null 2>&1
is "$(cat "$T/bait/shm/precious" 2>&1)" keep "a sweep there leaves the file the symlink points at alone"
echo >"$T/stop-c"

# Gone, its memory is forgotten by the next run over all namespaces.
[ -d "$T/state/ipcns-$NSC" ] && ok "container c had a memory" || not_ok "container c had a memory"
for i in $(seq 200); do kill -0 "$CPID" 2>/dev/null || break; read -r -t 0.05 <> <(:) || true; done
"$IPCGC" --config "$CONF" list --local --all-namespaces >/dev/null 2>&1
[ ! -e "$T/state/ipcns-$NSC" ] && [ -s "$T/state/ipcns-${NS[a]}/memory" ] &&
    ok "the memory of a namespace gone is forgotten, the others' kept" || not_ok "the memory of a namespace gone is forgotten" "$(ls "$T/state")"

# A namespace gone, its entries are put back nowhere.
bentry=$(jq -r --arg id "ipc:${NS[b]}/pshm:/orphan-b" '.entries[] | select(.id == $id) | .entry' <<<"$arch")
echo >"$T/stop-b"
for i in $(seq 500); do
    stat -L -c %i /proc/[0-9]*/ns/ipc 2>/dev/null | grep -qx "${NS[b]}" || break
    read -r -t 0.01 <> <(:) || true
done
err=$("$IPCGC" --config "$CONF" restore --local "$bentry" 2>&1)
is "$?" 1 "restore of an entry whose namespace is gone is refused"
case $err in *"which is gone: not put back"*) ok "and says why" ;; *) not_ok "and says why" "got: $err" ;; esac
is "$(ls /dev/shm | tr '\n' ' ')" "outer-live " "nothing was made here instead"

echo >"$T/stop-a"
done_testing
