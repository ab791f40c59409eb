#!/bin/bash
# Median wall time of `ipcgc list --local -J` against `ipcs -a` on 4000 shm
# segments and 8000 semaphore sets, measured alternately in one run, in a
# private IPC/mount/PID namespace.  Usage: list-vs-ipcs.sh [RUNS]
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

RUNS=${1:-9}
"$top_builddir/tests/bench/wgen" 4000 8000 4 || exit 1

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$T/ipcgc.ns"
: >"$T/ipcs.ns"
for _ in $(seq "$RUNS"); do
    t0=$(now); "$IPCGC" --config "$CONF" list --local -J >/dev/null; t1=$(now)
    echo $((t1 - t0)) >>"$T/ipcgc.ns"
    t0=$(now); ipcs -a >/dev/null; t1=$(now)
    echo $((t1 - t0)) >>"$T/ipcs.ns"
done
a=$(median <"$T/ipcgc.ns")
b=$(median <"$T/ipcs.ns")
n=$("$IPCGC" --config "$CONF" list --local -J | jq '.objects | length')
echo "objects listed: $n"
awk -v a="$a" -v b="$b" -v r="$RUNS" 'BEGIN {
    printf "ipcgc list --local -J: median %.1f ms\nipcs -a:               median %.1f ms\nratio: %.2f (median of %d alternating runs)\n",
        a / 1e6, b / 1e6, a / b, r }'
