#!/bin/bash
# `make bench`, issue 14 acceptance 5: what judging every IPC namespace at
# once costs beside judging each from inside it.  In private namespaces,
# NS_COUNT (50) "containers", each with its own IPC, mount and PID namespace
# (its own /proc, as a container has) and a tmpfs /dev/shm, 100 objects (60
# shm and 20 sem sets made by wgen, 20 pshm) and 21 processes (20 holders
# of the pshm, and the container's init shell).  Timed, as the median of
# BENCH_RUNS (5) alternating runs after one untimed warm-up each: `ipcgc
# --local sweep --all-namespaces --dry-run` from outside (it sees every
# container's processes), and the sum of NS_COUNT `nsenter --ipc --mount
# --pid ipcgc --local sweep --dry-run` runs, one inside each, seeing only
# that container's /proc.  Prints both and the ratio (target <= 1.2), and
# fails when the outside run did not judge and would not remove what the
# inside ones did: the timing must be of the same work.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "cannot read tests/integration/lib.sh" >&2; exit 1; }
enter_private_namespaces "$@"

N=${NS_COUNT:-50}
RUNS=${BENCH_RUNS:-5}
[ "$RUNS" -ge 1 ] 2>/dev/null || RUNS=5
WGEN=$top_builddir/tests/bench/wgen
sed -i "s|^\[Daemon\]$|[Daemon]\nMaxRemovalsPerSweep=100000|" "$CONF"
printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"

inits=() unshares=()
for i in $(seq "$N"); do
    mkfifo "$T/stop$i" "$T/ready$i"
    # Each inside run with a memory of its own, as the one outside keeps one per namespace.
    sed "s|^StateDir=.*|StateDir=$T/state-in$i|" "$CONF" >"$T/in$i.conf"
    # The container's init is the shell; its holders are its children, and
    # its own /proc shows them alone.
    unshare --ipc --mount --propagation private --pid --fork --mount-proc -- bash -c '
        mount -t tmpfs tmpfs /dev/shm && "$1" 60 20 || exit 1
        for k in $(seq 20); do
            exec {f}< <("$2" pshm "/live$k" 4096 0600)
            read -r -u "$f" _ || exit 1
        done
        echo ready
        read -r _ <"$3"' ns "$WGEN" "$HOLD" "$T/stop$i" >"$T/ready$i" &
    unshares+=("$!")
    read -r word <"$T/ready$i" && [ "$word" = ready ] || { echo "container $i did not start" >&2; exit 1; }
    # unshare forked the container's init: its only child.
    # (The file ends in no newline.)
    init=$(cat "/proc/$!/task/$!/children") init=${init%% *}
    [ -n "$init" ] || { echo "container $i has no init" >&2; exit 1; }
    inits+=("$init")
done

now_us() { echo "${EPOCHREALTIME/./}"; }
all_ns() {
    local t0 t1
    t0=$(now_us)
    "$IPCGC" --local --config "$CONF" sweep --all-namespaces --dry-run -J >"$T/all.json" 2>"$T/all.err" ||
        echo "all-namespaces run failed: $(head -c 300 "$T/all.err")" >&2
    t1=$(now_us)
    echo $((t1 - t0))
}
inside_each() {
    local t0 t1 i=0 p
    t0=$(now_us)
    for p in "${inits[@]}"; do
        i=$((i + 1))
        nsenter --target "$p" --ipc --mount --pid "$IPCGC" --local --config "$T/in$i.conf" sweep --dry-run -J \
            >"$T/in$i.json" 2>"$T/in$i.err" || echo "inside run $i failed: $(head -c 300 "$T/in$i.err")" >&2
    done
    t1=$(now_us)
    echo $((t1 - t0))
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

all_ns >/dev/null
inside_each >/dev/null
: >"$T/a" && : >"$T/b"
for r in $(seq "$RUNS"); do
    # A B, B A, A B, ...: neither side always runs second.
    if [ $((r % 2)) = 1 ]; then
        all_ns >>"$T/a"
        inside_each >>"$T/b"
    else
        inside_each >>"$T/b"
        all_ns >>"$T/a"
    fi
done
a=$(median <"$T/a") b=$(median <"$T/b")
# The work done: objects judged and would-remove records, outside and the
# sum inside.  The outside run's own namespace has none of its own.
judged=$(jq '[.judged[]] | add' "$T/all.json" 2>/dev/null)
would=$(jq '[.records[] | select(.action == "would-remove")] | length' "$T/all.json" 2>/dev/null)
judged_in=0 would_in=0
for i in $(seq "$N"); do
    judged_in=$((judged_in + $(jq '[.judged[]] | add' "$T/in$i.json" 2>/dev/null || echo 0)))
    would_in=$((would_in + $(jq '[.records[] | select(.action == "would-remove")] | length' "$T/in$i.json" 2>/dev/null || echo 0)))
done
printf 'ns-cost: %d namespaces (own PID namespace and /proc each), %s objects judged, %s would-remove (inside: %d, %d): --all-namespaces dry run %d ms, sum of %d inside (nsenter) %d ms, ratio %s (target <= 1.2)\n' \
    "$N" "${judged:-?}" "${would:-?}" "$judged_in" "$would_in" $((a / 1000)) "$N" $((b / 1000)) \
    "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
for i in $(seq "$N"); do echo >"$T/stop$i"; done
wait "${unshares[@]}"
[ "${judged:-x}" = "$judged_in" ] && [ "${would:-x}" = "$would_in" ] && [ "$judged_in" -ge $((N * 100)) ] || {
    echo "ns-cost: the outside run did not do the inside runs' work" >&2
    exit 1
}
