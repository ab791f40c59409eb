#!/bin/bash
# `make bench`, issue 14 acceptance 5: what judging every IPC namespace at
# once costs beside judging each from inside it.  In private namespaces,
# NS_COUNT (50) "containers", each its own IPC and mount namespace with a
# tmpfs /dev/shm, 100 objects (60 shm and 20 sem sets made by wgen, 20
# pshm) and 21 processes (20 holders of the pshm, and the container's
# shell).  Timed, as the median of BENCH_RUNS (5) alternating runs after one
# untimed warm-up each: `ipcgc --local sweep --all-namespaces --dry-run`,
# and the sum of NS_COUNT `nsenter --ipc --mount ipcgc --local sweep
# --dry-run` runs, one inside each.  Prints the ratio (target <= 1.2).
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "cannot read tests/integration/lib.sh" >&2; exit 1; }
enter_private_namespaces "$@"

N=${NS_COUNT:-50}
RUNS=${BENCH_RUNS:-5}
[ "$RUNS" -ge 1 ] 2>/dev/null || RUNS=5
WGEN=$top_builddir/tests/bench/wgen
sed -i "s|^\[Daemon\]$|[Daemon]\nMaxRemovalsPerSweep=100000|" "$CONF"
printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"

pids=()
for i in $(seq "$N"); do
    mkfifo "$T/stop$i"
    # Each inside run with a memory of its own, as the one outside keeps one per namespace.
    sed "s|^StateDir=.*|StateDir=$T/state-in$i|" "$CONF" >"$T/in$i.conf"
    exec {fd}< <(unshare --ipc --mount --propagation private -- bash -c '
        mount -t tmpfs tmpfs /dev/shm && "$1" 60 20 || exit 1
        holders=""
        for k in $(seq 20); do
            exec {f}< <("$2" pshm "/live$k" 4096 0600)
            read -r -u "$f" _ _ p && holders="$holders $p"
        done
        echo "ready $$"
        read -r _ <"$3"
        kill $holders' ns "$WGEN" "$HOLD" "$T/stop$i")
    read -r -u "$fd" word pid && [ "$word" = ready ] || { echo "container $i did not start" >&2; exit 1; }
    pids+=("$pid")
done

now_us() { echo "${EPOCHREALTIME/./}"; }
all_ns() {
    local t0 t1
    t0=$(now_us)
    "$IPCGC" --local --config "$CONF" sweep --all-namespaces --dry-run -J >"$T/all.json" 2>"$T/all.err" || echo "all-namespaces run failed: $(head -c 300 "$T/all.err")" >&2
    t1=$(now_us)
    echo $((t1 - t0))
}
inside_each() {
    local t0 t1 i=0 p
    t0=$(now_us)
    for p in "${pids[@]}"; do
        i=$((i + 1))
        nsenter -t "$p" --ipc --mount "$IPCGC" --local --config "$T/in$i.conf" sweep --dry-run -J >/dev/null 2>&1 ||
            echo "inside run $i failed" >&2
    done
    t1=$(now_us)
    echo $((t1 - t0))
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

all_ns >/dev/null
inside_each >/dev/null
: >"$T/a" && : >"$T/b"
for r in $(seq "$RUNS"); do
    all_ns >>"$T/a"
    inside_each >>"$T/b"
done
a=$(median <"$T/a") b=$(median <"$T/b")
judged=$(jq '[.judged[]] | add' "$T/all.json" 2>/dev/null)
printf 'ns-cost: %d namespaces, %s objects judged: --all-namespaces dry run %d ms, sum of %d inside (nsenter) %d ms, ratio %s (target <= 1.2)\n' \
    "$N" "${judged:-?}" $((a / 1000)) "$N" $((b / 1000)) "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
for i in $(seq "$N"); do echo >"$T/stop$i"; done
