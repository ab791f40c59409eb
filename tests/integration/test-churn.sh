#!/bin/bash
# Reading /proc under load: a process can exit between the open(2) and the
# read(2) of one of its files (maps, fd/, stat, wchan...), which then fails
# with ESRCH.  Such a process is gone, not an error: during heavy process
# churn (some 1000 forks and exits a second, each child with a long maps
# file), 200 consecutive `ipcgc --local list -J`, with objects of every kind
# present (a mapped pshm and an attached shm, so maps are read), must all
# succeed with valid JSON.  And a /proc that refuses other users' processes
# (hidepid=1) must not fail a list either.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }

export IPCGC_TEST_EXCLUSIVE=1
enter_private_namespaces "$@"
trap 'kill $(jobs -p) 2>/dev/null' EXIT

RATE=${IPCGC_CHURN_RATE:-1000} # forks a second
VMAS=${IPCGC_CHURN_VMAS:-300}  # maps lines of each child, about
LISTS=${IPCGC_CHURN_LISTS:-200}

hold shm 0x7201 4096 0600
hold sem 0x7202 2 0600
hold msg 0x7203 16 0600
hold mq /churn-q 16 0600
hold pshm /churn-p 4096 0600
hold psem /churn-s 0 0600
hold fifo "$FIFODIR/churn" 0 0600

json=$("$IPCGC" --local --config "$CONF" list -J)
is "$(jq -r '[.objects[].type] | sort | join(" ")' <<<"$json")" "fifo mq msg psem pshm sem shm" \
    "one object of every kind, listed before the churn"

exec {churn}< <("$HOLD" churn "$RATE" "$VMAS" 0)
read -r -u "$churn" word _ CHURN_PID && [ "$word" = ready ] || { echo "Bail out! ipc-hold churn did not start"; exit 1; }

failed=0
bad=()
for ((i = 1; i <= LISTS; i++)); do
    out=$("$IPCGC" --local --config "$CONF" list -J 2>"$T/err")
    rc=$?
    if [ "$rc" -ne 0 ] || ! jq -e '.objects | length == 7' >/dev/null 2>&1 <<<"$out"; then
        failed=$((failed + 1))
        [ "${#bad[@]}" -lt 5 ] && bad+=("list $i: exit $rc: $(head -c 200 "$T/err" | tr '\n' ' ')")
    fi
done

kill -TERM "$CHURN_PID"
read -r -t 10 -u "$churn" word forked usec || true
is "$word" forked "the churn reports what it did"
rate=$((${forked:-0} * 1000000 / (${usec:-0} > 0 ? usec : 1)))
echo "# churn: $forked forks and exits in $((usec / 1000)) ms: $rate a second, each with ~$VMAS maps lines"
check "the churn reached at least half of $RATE processes a second" test "$rate" -ge $((RATE / 2))
echo "# $failed of $LISTS lists failed"
for line in "${bad[@]}"; do echo "#   $line"; done
is "$failed" 0 "$LISTS consecutive lists during the churn all succeed with the 7 objects"

# A process table that refuses rather than hides (hidepid=1: other users'
# /proc/PID opens with EPERM): no error either.  Those processes are kept,
# unreadable, so an object nothing visible holds is UNKNOWN, not ORPHAN.
mount -t proc -o hidepid=1 proc /proc
hold_as 65534:65534 -x pshm /hide-orphan 4096 0644
hold_as 65534:65534 pshm /hide-held 4096 0644
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$IPCGC" --local --config "$CONF" list -J 2>"$T/err")
rc=$?
[ "$rc" -ne 0 ] && echo "# $(head -c 200 "$T/err")"
is "$rc" 0 "hidepid=1: a non-root list succeeds"
is "$(jq -r '.objects[] | select(.name == "/hide-orphan" or .name == "/hide-held") | "\(.name) \(.verdict)"' <<<"$out" | sort | paste -sd' ')" \
    "/hide-held LIVE /hide-orphan UNKNOWN" "hidepid=1: its own held pshm LIVE, the unheld one UNKNOWN"
jq -r '.objects[] | select(.name == "/hide-orphan") | "# /hide-orphan: \(.reason)"' <<<"$out"

done_testing
