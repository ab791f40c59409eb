#!/bin/bash
# Issue 14, acceptance 2, 3 and 4 through ipcgcd with [Daemon] Namespaces=all:
# the two "containers" of test-namespaces.sh (start_containers), listed,
# audited, explained and swept through the daemon with --all-namespaces,
# --namespace and ipc:INO/ ids; a container's orphan made by a holder's exit
# removed by the daemon within 1 s of it; 100 namespaces that come and go
# during 20 of the daemon's sweeps cost it no error and no fd; the journal
# and metrics say which namespace and container.  With Namespaces=host (the
# default) the daemon refuses --all-namespaces, saying what to do; a bad
# value is refused at start, at its line.
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }

export IPCGC_TEST_EXCLUSIVE=1 # it times process exits
enter_private_namespaces "$@"
trap 'kill $DAEMON_PID $(jobs -p) 2>/dev/null' EXIT
command -v jq >/dev/null || { echo "Bail out! jq is missing (tools/deps.sh)"; exit 1; }
command -v python3 >/dev/null || { echo "Bail out! python3 is missing (tools/deps.sh)"; exit 1; }

OWN_NS=$(stat -L -c %i /proc/self/ns/ipc)
PROM=$T/ipcgc.prom
now_ms() { echo $((${EPOCHREALTIME/[.,]/} / 1000)); }
nap() { read -r -t "$1" <> <(:) || true; } # one poll period, never a synchronisation
LISTNS='{"method":"io.ipcgc.ListNamespaces"}\0'
# list_namespaces: the daemon's ListNamespaces reply, its namespaces only.
list_namespaces() { vc -c 1 "$LISTNS" | head -n 1 | jq -c '.parameters.namespaces'; }

# --- Namespaces=bogus: refused at start, at its line -------------------------
cp "$CONF" "$T/base.conf"
daemon_config "Namespaces=bogus"
line=$(grep -n '^Namespaces=bogus$' "$CONF" | cut -d: -f1)
err=$(timeout 3 "$IPCGCD" --config "$CONF" 2>&1)
rc=$?
check "Namespaces=bogus: ipcgcd refuses to start (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
case $err in
*"$CONF:$line: "*Namespaces*bogus*) ok "and says so at file:line, naming the key and the value" ;;
*) not_ok "and says so at file:line, naming the key and the value" "got: $err" "expected: $CONF:$line: ...Namespaces...bogus..." ;;
esac

# --- Namespaces=host (the default): its own namespace only -------------------
cp "$T/base.conf" "$CONF"
daemon_config
printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"
start_daemon
err=$("$IPCGC" --config "$CONF" list --all-namespaces 2>&1)
rc=$?
check "Namespaces=host: list --all-namespaces through the daemon fails (exit $rc)" test "$rc" -ne 0
case $err in
*Namespaces=all*--local* | *--local*Namespaces=all*) ok "and the message names Namespaces=all and --local" ;;
*) not_ok "and the message names Namespaces=all and --local" "got: $err" ;;
esac
is "$(list_namespaces | jq -c --argjson n "$OWN_NS" '[.[] | "\(.ipcns == $n) \(.self)"]')" '["true true"]' \
    "Namespaces=host: ListNamespaces lists the daemon's own namespace only"
stop_daemon

# --- Namespaces=all ----------------------------------------------------------
# Started first, so that its start-up sweep finds nothing: what is made
# after is listed before anything sweeps it, and the containers are ones
# no sweep of the daemon's own has found yet: a request finds them, as
# --local does.
cp "$T/base.conf" "$CONF"
daemon_config "Namespaces=all" "MetricsFile=$PROM"
printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"
start_daemon

make_outer_objects # the "host" here
start_containers a b
[ "${NS[a]}" != "${NS[b]}" ] && [ "${NS[a]}" != "$OWN_NS" ] || { echo "Bail out! the containers share a namespace"; exit 1; }
name_of() { echo "docker:${HEX[$1]:0:12}"; }
members_of() { cat "$CGROOT/docker-${HEX[$1]}.scope/cgroup.procs" "$CGROOT/docker-${HEX[$1]}.scope/worker.service/cgroup.procs" | wc -l; }
# inside C CMD...: CMD in container C's IPC and mount namespaces.
inside() { local c=$1; shift; nsenter -t "${CPID[$c]}" --ipc --mount "$@"; }
shm_ids() { awk 'NR > 1 { print $2 }' /proc/sysvipc/shm | sort -n | tr '\n' ' '; } # what the reader's namespace has

# ListNamespaces: the three, each with its members, named from its cgroup.
lns=$(list_namespaces)
is "$(jq -c --argjson n "$OWN_NS" '[.[] | select(.ipcns == $n) | "\(.self) \(.name) \(.partial)"]' <<<"$lns")" \
    '["true null false"]' "ListNamespaces: the daemon's own namespace, self"
for c in a b; do
    is "$(jq -r --argjson n "${NS[$c]}" '.[] | select(.ipcns == $n) | "\(.self) \(.name) \(.partial) \(.reason) \(.members)"' <<<"$lns")" \
        "false $(name_of $c) false null $(members_of $c)" "ListNamespaces: container $c, its name and its $(members_of $c) members"
done
is "$(jq length <<<"$lns")" 3 "ListNamespaces: three namespaces, no more"
out=$(vc -c 1 '{"method":"io.ipcgc.List","parameters":{"ipcns":1}}\0' | head -n 1)
is "$(jq -r .error <<<"$out")" io.ipcgc.NoSuchNamespace "List with an unknown ipcns: io.ipcgc.NoSuchNamespace"

# A2: all ten listed through the daemon, with their verdicts and namespaces.
json=$("$IPCGC" --config "$CONF" list --all-namespaces -J 2>"$T/cli.err")
is "$?" 0 "list --all-namespaces -J through the daemon exits 0"
ns_check_list "$json"
one=$("$IPCGC" --config "$CONF" list --namespace "$(name_of b)" -J)
is "$(jq -c '[.objects[].ipcns] | unique' <<<"$one")" "[${NS[b]}]" "list --namespace NAME through the daemon: that namespace only"

# explain takes an ipc:INO/ id back through the daemon.
ex=$("$IPCGC" --config "$CONF" explain -J "ipc:${NS[a]}/shm:${ORPHAN_SHM[a]}")
is "$(jq -r '"\(.id) \(.verdict) \(.ipcns)"' <<<"$ex")" "ipc:${NS[a]}/shm:${ORPHAN_SHM[a]} ORPHAN ${NS[a]}" \
    "explain ipc:INO/shm:ID through the daemon"
err=$("$IPCGC" --config "$CONF" explain "ipc:1/shm:${ORPHAN_SHM[a]}" 2>&1)
rc=$?
case "$rc $err" in
"1 "*"no IPC namespace 1"*) ok "explain of an id in no namespace through the daemon: exit 1, and says so" ;;
*) not_ok "explain of an id in no namespace through the daemon: exit 1, and says so" "got: exit $rc: $err" ;;
esac

# A4: audit, each namespace's use against its own limits.
aud=$("$IPCGC" --config "$CONF" audit --all-namespaces -J)
is "$?" 0 "audit --all-namespaces -J through the daemon exits 0"
ns_check_audit "$aud"

# A2: the sweep of all namespaces removes the six orphans, and of the outer
# namespace what a plain sweep would.
plain=$("$IPCGC" --config "$CONF" sweep --dry-run -J | jq -c '[.records[] | select(.action == "would-remove") | .id] | sort')
is "$plain" "[\"pshm:/outer-orphan\",\"shm:$OUT_ORPHAN_SHM\"]" "a plain dry run through the daemon would remove the outer orphans only"
out=$("$IPCGC" --config "$CONF" sweep --all-namespaces -J)
is "$?" 0 "sweep --all-namespaces through the daemon exits 0"
ns_check_sweep "$out" "$plain"
for c in a b; do
    n=${NS[$c]} said=0
    for id in "ipc:$n/shm:${ORPHAN_SHM[$c]}" "ipc:$n/msg:${ORPHAN_MSG[$c]}" "ipc:$n/pshm:/orphan-$c"; do
        grep -qF " $id removed: " "$T/ipcgcd.err" && said=$((said + 1))
    done
    is "$said" 3 "the daemon's log says container $c's three removals under their ipc:INO/ ids"
done

# MetricsFile=: every namespace's objects, labelled.
# sample TYPE VERDICT NS NAME: the value of ipcgc_objects with those labels (labels in any order).
sample() {
    grep '^ipcgc_objects{' "$PROM" 2>/dev/null | grep -F "type=\"$1\"" | grep -F "verdict=\"$2\"" |
        grep -F "ipcns=\"$3\"" | grep -F "container=\"$4\"" | awk '{ print $NF }' | paste -sd' '
}
for c in a b; do
    for i in $(seq 100); do [ -n "$(sample shm LIVE "${NS[$c]}" "$(name_of $c)")" ] && break; nap 0.05; done
    is "$(sample shm LIVE "${NS[$c]}" "$(name_of $c)") $(sample pshm LIVE "${NS[$c]}" "$(name_of $c)")" "1 1" \
        "MetricsFile=: container $c's live shm and pshm, labelled ipcns and container"
done
check "MetricsFile=: the daemon's own namespace's samples have no ipcns label" \
    grep -q '^ipcgc_objects{type="shm",verdict="LIVE"} 1$' "$PROM"

# rm takes an ipc:INO/ id through the daemon, and removes from inside.
new=$(inside a "$HOLD" -x shm 0x5009 4096 0600 | awk '{ print $2 }')
rec=$("$IPCGC" --config "$CONF" rm -J "ipc:${NS[a]}/shm:$new")
is "$?" 0 "rm ipc:INO/shm:ID through the daemon exits 0"
is "$(jq -r '.results[0] | "\(.record.action) \(.id) \(.record.id)"' <<<"$rec")" \
    "removed ipc:${NS[a]}/shm:$new ipc:${NS[a]}/shm:$new" "and removed it, named as listed"
is "$(inside a sh -c 'awk "NR > 1 { print \$2 }" /proc/sysvipc/shm | tr "\n" " "')" "${LIVE_SHM[a]} " "gone from inside container a"
"$IPCGC" --config "$CONF" rm "ipc:${NS[a]}/shm:${LIVE_SHM[a]}" 2>/dev/null
is "$?" 1 "rm of a container's live shm through the daemon is refused"

# A2: the holder of container a's live shm exits; the daemon, which judged
# it the shm's life, removes the orphan within 1 s, from inside.
a_has_live() { inside a awk -v id="${LIVE_SHM[a]}" 'NR > 1 && $2 == id { f = 1 } END { exit !f }' /proc/sysvipc/shm; }
is "$("$IPCGC" --config "$CONF" explain -J "ipc:${NS[a]}/shm:${LIVE_SHM[a]}" | jq -r .verdict)" LIVE \
    "the daemon judges container a's live shm LIVE before its holder is killed"
kill -KILL "${ATTACHER[a]}"
t0=$(now_ms) gone=''
while :; do
    t=$(now_ms)
    if ! a_has_live; then gone=$((t - t0)); break; fi
    [ $((t - t0)) -gt 5000 ] && break
    nap 0.005
done
if [ -n "$gone" ]; then
    check "container a's shm removed within 1 s of its holder's SIGKILL (took $gone ms)" test "$gone" -le 1000
else
    not_ok "container a's shm removed within 1 s of its holder's SIGKILL (still there after 5 s)"
fi
check "by the daemon, which logs it under its ipc:INO/ id" \
    grep -qF " ipc:${NS[a]}/shm:${LIVE_SHM[a]} removed: " "$T/ipcgcd.err"
is "$(shm_ids)" "$OUT_LIVE_SHM " "outer: its shm of the same id untouched"

# --- A3: 100 namespaces come and go during 20 of the daemon's sweeps ---------
# fd_targets: what the daemon's fds are open on, less the wchan of every
# thread on the machine that it keeps open by design (sleepers.h: taken
# again when threads were made, the exited ones kept till then), which
# counts threads, not namespaces.
fd_targets() {
    local f t
    for f in "/proc/$DAEMON_PID"/fd/*; do
        t=$(readlink "$f") || continue
        case $t in /proc/*/task/*/wchan) ;; *) echo "$t" ;; esac
    done | sort
}
wchans() { # how many wchan files the daemon keeps open
    local f n=0
    for f in "/proc/$DAEMON_PID"/fd/*; do
        case $(readlink "$f") in /proc/*/task/*/wchan) n=$((n + 1)) ;; esac
    done
    echo "$n"
}
# fds: how many, once that has stopped changing (a closed client's
# connection is let go on the daemon's next turn).
fds() {
    local n last='' same=0 i
    for i in $(seq 150); do
        n=$(fd_targets | wc -l)
        [ "$n" = "$last" ] && same=$((same + 1)) || same=0
        last=$n
        [ "$same" -ge 5 ] && break
        nap 0.02
    done
    echo "$last"
}
"$IPCGC" --config "$CONF" sweep -J >/dev/null
FDS0=$(fds)
fd_targets >"$T/fds0"
WCHANS0=$(wchans)
LOG0=$(wc -l <"$T/ipcgcd.err")

start_churn
bad=0 met=0 gone=0
for i in $(seq 20); do
    out=$("$IPCGC" --config "$CONF" sweep --all-namespaces -J 2>"$T/err")
    rc=$?
    if [ "$rc" != 0 ] || ! jq -e .records >/dev/null 2>&1 <<<"$out" ||
        grep -v -e 'is gone: skipped' -e '^ipcgc: warning:' "$T/err" | grep -q .; then
        bad=$((bad + 1))
        diag "sweep $i: exit $rc: $(head -c 300 "$T/err")"
    fi
    # Met: one of them swept (something of it removed), or found gone.
    if jq -e --argjson o "$OWN_NS" --argjson a "${NS[a]}" --argjson b "${NS[b]}" \
        'any(.records[]; .ipcns != $o and .ipcns != $a and .ipcns != $b)' >/dev/null 2>&1 <<<"$out"; then
        met=$((met + 1))
    elif grep -q 'is gone: skipped' "$T/err"; then
        gone=$((gone + 1))
    fi
    # Five more namespaces made and gone before the next sweep.
    for _ in $(seq 400); do [ "$(wc -l <"$T/made")" -ge $((5 * i)) ] && break; nap 0.01; done
done
stop_churn
made=$(wc -l <"$T/made")
is "$bad" 0 "20 sweeps of all namespaces through the daemon while namespaces come and go: every one exits 0, whole"
check "$made namespaces came and went meanwhile" test "$made" -ge 100
diag "sweeps that removed something of a namespace come and gone: $met of 20; that found one gone: $gone"
check "the sweeps met the namespaces that came and went" test $((met + gone)) -gt 0
tail -n +$((LOG0 + 1)) "$T/ipcgcd.err" | grep -E '^ipcgcd: (emerg|alert|crit|error|warning): ' | grep -v 'is gone' >"$T/log-bad"
check "no error or warning in the daemon's log meanwhile (a namespace gone aside)" test ! -s "$T/log-bad"
[ -s "$T/log-bad" ] && diag "$(head -20 "$T/log-bad")"
"$IPCGC" --config "$CONF" sweep -J >/dev/null
# The engines of the namespaces gone since the last sweep go at the next
# discovery (ListNamespaces makes one).
list_namespaces >/dev/null
FDS1=$(fds)
is "$FDS1" "$FDS0" "the daemon's fds: as many after as before ($FDS0)"
diag "and threads' wchan kept open: $WCHANS0 before, $(wchans) after"
[ "$FDS1" != "$FDS0" ] && diag "fds before and after:" "$(fd_targets | diff "$T/fds0" -)"
is "$(pgrep -P "$DAEMON_PID" | paste -sd" ")" "" "no helper of the daemon's is left behind"
is "$(list_namespaces | jq -c 'map(.ipcns) | sort')" "$(printf '%s\n' "$OWN_NS" "${NS[a]}" "${NS[b]}" | sort -n | jq -sc .)" \
    "ListNamespaces: the three that remain, no more"
alive "the churn"
stop_daemon

# --- The journal: another namespace's records carry its inode and name -------
# A journald of our own in this mount namespace: a receiver on
# /run/systemd/journal/socket that writes each entry's fields as a JSON line.
mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/journal || { echo "Bail out! cannot mount /run/systemd"; exit 1; }
cat >"$T/journald.py" <<'EOP'
import array, json, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a")
while True:
    data, anc, _, _ = s.recvmsg(1 << 20, socket.CMSG_SPACE(4 * 4))
    for level, kind, cdata in anc:  # a large entry comes as a memfd
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fd = array.array("i", cdata[:4])[0]
            data = os.pread(fd, os.fstat(fd).st_size, 0)
            os.close(fd)
    fields, i = {}, 0
    while i < len(data):
        nl = data.find(b"\n", i)
        nl = len(data) if nl < 0 else nl
        item = data[i:nl]
        if b"=" in item:
            k, _, val = item.partition(b"=")
            i = nl + 1
        else:  # NAME\n<le64 size><value>\n: a value with a newline
            k, size = item, struct.unpack("<Q", data[nl + 1:nl + 9])[0]
            val, i = data[nl + 9:nl + 9 + size], nl + 9 + size + 1
        fields[k.decode()] = val.decode("utf-8", "replace")
    out.write(json.dumps(fields) + "\n")
    out.flush()
EOP
: >"$T/journal.jsonl"
python3 "$T/journald.py" /run/systemd/journal/socket "$T/journal.jsonl" &
JOURNALD=$!
for i in $(seq 200); do [ -S /run/systemd/journal/socket ] && break; nap 0.02; done
start_daemon
new=$(inside b "$HOLD" -x shm 0x5010 4096 0600 | awk '{ print $2 }')
out=$("$IPCGC" --config "$CONF" sweep --namespace "${NS[b]}" -J)
is "$(jq -c '[.records[] | "\(.action) \(.id)"]' <<<"$out")" "[\"removed ipc:${NS[b]}/shm:$new\"]" \
    "sweep --namespace INODE through the daemon removes container b's new orphan only"
entry() { jq -c --arg id "ipc:${NS[b]}/shm:$new" 'select(.IPCGC_OBJECT == $id and .IPCGC_ACTION == "removed")' "$T/journal.jsonl"; }
for i in $(seq 100); do [ -n "$(entry)" ] && break; nap 0.05; done
is "$(entry | jq -r '"\(.IPCGC_IPCNS) \(.IPCGC_CONTAINER)"')" "${NS[b]} $(name_of b)" \
    "its journal record: IPCGC_OBJECT=ipc:INO/shm:ID, IPCGC_IPCNS=INODE, IPCGC_CONTAINER=NAME"
# The daemon's own namespace's records stay as they were: no such fields.
hold -x shm 0x7009 4096 0600
"$IPCGC" --config "$CONF" sweep >/dev/null
own() { jq -c --arg id "shm:$HOLD_ID" 'select(.IPCGC_OBJECT == $id and .IPCGC_ACTION == "removed")' "$T/journal.jsonl"; }
for i in $(seq 100); do [ -n "$(own)" ] && break; nap 0.05; done
is "$(own | jq -r '"\(.IPCGC_OBJECT) \(.IPCGC_IPCNS) \(.IPCGC_CONTAINER)"')" "shm:$HOLD_ID null null" \
    "an outer removal's journal record: its plain id, no IPCGC_IPCNS or IPCGC_CONTAINER"

# MaxRemovalsPerSweep= holds for a sweep of every namespace through the
# daemon, a call each: 3 removals of the 10 orphans of the two containers.
sed -i "s|^Namespaces=all$|Namespaces=all\nMaxRemovalsPerSweep=3|" "$CONF"
"$IPCGC" --config "$CONF" reload >/dev/null || not_ok "reload with MaxRemovalsPerSweep=3"
for c in a b; do for k in 1 2 3 4 5; do inside "$c" "$HOLD" -x shm $((0x5020 + k)) 4096 0600 >/dev/null; done; done
out=$("$IPCGC" --config "$CONF" sweep --all-namespaces -J)
is "$(jq '[.records[] | select(.action == "removed")] | length' <<<"$out")" 3 \
    "a sweep of every namespace through the daemon removes MaxRemovalsPerSweep=3 in all, not 3 each"
left=$(for c in a b; do inside "$c" awk 'NR > 1 && $1 >= 20513 && $1 <= 20517' /proc/sysvipc/shm; done | wc -l)
is "$left" 7 "the other 7 orphans wait for the next sweep"
# A process that joins a container after the daemon last found its members
# and blocks in msgrcv on a queue there: no kernel count shows such a
# waiter, so only the /proc walk does; the queue stays.
wq=$(inside a "$HOLD" -x msg $((0x5030)) 16 0600 | awk '{ print $2 }')
exec {wfd}< <(nsenter -t "${CPID[a]}" --ipc "$HOLD" msgwait $((0x5030)) 0 0)
read -r -u "$wfd" _ _ WAITER
# Asked of the engine the daemon has (no discovery before it, as the CLI's
# ListNamespaces would make).
vc -c 1 "{\"method\":\"io.ipcgc.Sweep\",\"parameters\":{\"ipcns\":${NS[a]}}}\0" | head -n 1 | jq -c .parameters >"$T/late.json"
is "$(jq -r --arg id "msg:$wq" '[.records[] | select(.id == $id and .action == "removed")] | length' "$T/late.json")" 0 \
    "a queue waited on by a process that joined its namespace after the daemon found its members is not removed"
[ -n "$(inside a awk -v id="$wq" 'NR > 1 && $2 == id' /proc/sysvipc/msg)" ] &&
    ok "and is there, its waiter still blocked" || not_ok "and is there, its waiter still blocked"
kill "$WAITER"
stop_daemon
kill "$JOURNALD"

for c in a b; do echo >"$T/stop-$c"; done
done_testing
