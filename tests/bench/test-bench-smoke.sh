#!/bin/bash
# Smoke run of the benchmark at 1/20 of W1, in private IPC/mount/PID
# namespaces: w1gen builds it, every type has its count and about a third
# of it ORPHAN (MinAge=0), the floor sees the same objects, a dry-run sweep
# works, and run-bench.sh's archive figures run at this scale.  `make bench`
# (not part of `make check`) runs the real thing.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"
# shellcheck disable=SC2154 # top_builddir: set by lib.sh

W1GEN="$top_builddir/tests/bench/w1gen"
FLOOR="$top_builddir/tests/bench/floor"
SCALE=0.05

cat >>"$CONF" <<EOC

[Rule all]
MinAge=0
Action=collect
EOC

t0=${EPOCHREALTIME/./}
if ! gen=$("$W1GEN" --scale "$SCALE" --fifo "$FIFODIR" 2>"$T/w1gen.err"); then
    echo "Bail out! w1gen failed: $(cat "$T/w1gen.err")"
    exit 1
fi
t1=${EPOCHREALTIME/./}
ok "w1gen built W1 x $SCALE in $(((t1 - t0) / 1000)) ms"
while read -r line; do echo "# $line"; done <<<"$gen"

declare -A want held
while read -r word type n _ h; do
    [ "$word" = type ] || continue
    want[$type]=$n
    held[$type]=$h
done <<<"$gen"
is "${want[shm]}/${want[sem]}/${want[msg]}/${want[mq]}/${want[pshm]}/${want[psem]}/${want[fifo]}" \
    "200/400/400/50/25/25/100" "w1gen made W1/20: 200 shm, 400 sem, 400 msg, 50 mq, 25 pshm, 25 psem, 100 FIFOs"

read -r _ procs _ fds _ _ _ ipcmaps < <(grep '^procs ' <<<"$gen")
is "$procs" 50 "50 holder processes"
check "they hold 24..40 fds each, ~32 on average (got $fds)" awk -v x="$fds" 'BEGIN { exit !(x >= 28 && x <= 36) }'
check "they have ~10 IPC mappings each on average (got $ipcmaps)" awk -v x="$ipcmaps" 'BEGIN { exit !(x >= 6 && x <= 14) }'
paused=$(ps -o stat= -C w1gen | grep -c '^S')
is "$paused" 50 "all 50 holders are alive and asleep"

is "$(ipcs -m | grep -c '^0x2')" 200 "ipcs -m shows the 200 segments"
is "$(awk 'NR > 1 && $4 == 4' /proc/sysvipc/sem | wc -l)" 400 "/proc/sysvipc/sem shows 400 sets of 4"
is "$(find "$FIFODIR" -type p | wc -l)" 100 "100 FIFOs in the tree"
check "the FIFO tree is at most 4 deep" test -z "$(find "$FIFODIR" -mindepth 5 -print -quit)"

json=$("$IPCGC" --local --config "$CONF" list -J 2>"$T/list.err")
is "$?" 0 "ipcgc --local list -J exits 0"
for type in shm sem msg mq pshm psem fifo; do
    read -r n orphan live < <(jq -r --arg t "$type" \
        '[.objects[] | select(.type == $t)] | "\(length) \(map(select(.verdict == "ORPHAN")) | length) \(map(select(.verdict == "LIVE")) | length)"' \
        <<<"$json")
    is "$n" "${want[$type]}" "$type: ipcgc lists all ${want[$type]}"
    check "$type: $orphan of $n ORPHAN, between 20% and 50%" \
        awk -v o="$orphan" -v n="$n" 'BEGIN { exit !(n > 0 && o >= 0.2 * n && o <= 0.5 * n) }'
    # Exactly the ones w1gen left unheld; a difference is a finding, not noise.
    is "$orphan/$live" "$((n - ${held[$type]}))/${held[$type]}" "$type: ORPHAN/LIVE are exactly the unheld/held ones"
done

if floor=$("$FLOOR" --mqueue "$MQDIR" --shm /dev/shm --fifo "$FIFODIR" --depth 4); then
    ok "floor runs"
else
    not_ok "floor runs"
fi
echo "# floor: $floor"
declare -A f
read -r -a words <<<"$floor"
set -- "${words[@]}"
while [ $# -ge 2 ]; do f[$1]=$2; shift 2; done
is "${f[sem_sets]}/${f[sems]}/${f[semctl_fail]}" "400/1600/0" "the floor read every semaphore"
is "${f[mq]}/${f[shmdir]}/${f[fifos]}" "50/50/100" "the floor saw every mq, /dev/shm object and FIFO"
check "the floor read every process (${f[procs]})" test "${f[procs]}" -ge 50
check "and their fds (${f[fds]})" test "${f[fds]}" -ge $((50 * 24))

sweep=$("$IPCGC" --local --config "$CONF" sweep --dry-run -J 2>"$T/sweep.err")
is "$?" 0 "a dry-run sweep exits 0"
is "$(jq -r '.dry_run' <<<"$sweep")" true "it is a dry run"
check "it would remove something ($(jq -r .would_remove <<<"$sweep"))" test "$(jq -r .would_remove <<<"$sweep")" -gt 0
is "$(ipcs -m | grep -c '^0x2')" 200 "and removed nothing"

# The archive figures of run-bench.sh, at this scale: real sweeps of W1/20
# with and without the archive, ipcgcd archiving a 13 MiB segment.  Each in
# namespaces of its own, inside these (hence the environment of lib.sh
# dropped); only that they work and print numbers, not their targets.
out=$(env -u IPCGC_TEST_IN_NS -u IPCGC_TEST_DIR -u IPCGC_HOST_IPC_NS BENCH_SMOKE=1 \
    top_srcdir="$top_srcdir" top_builddir="$top_builddir" bash "$top_srcdir/tests/bench/run-bench.sh" 2>&1)
is "$?" 0 "run-bench.sh's archive figures run (BENCH_SMOKE=1)"
while read -r line; do echo "# $line"; done <<<"$out"
check "archive-ratio: a ratio of two times in ms" \
    grep -Eq '^archive-ratio: [0-9]+\.[0-9]+ \(.* [0-9]+\.[0-9] ms / .* [0-9]+\.[0-9] ms, .*\) target <= 1\.5 (MET|MISSED)$' <<<"$out"
check "archive-rss: a peak in MiB, the entry's contents 13 MiB" \
    grep -Eq '^archive-rss: [0-9]+\.[0-9] MiB \(.*; [0-9]+\.[0-9] MiB before; the entry.s contents have 13631488 bytes, .*\) target < 32 MiB (MET|MISSED)$' <<<"$out"
check "and the smoke namespace's IPC is as it was" grep -q '^host-check: CLEAN' <<<"$out"
is "$(ipcs -m | grep -c '^0x2')" 200 "the 200 segments of W1/20 here are all still there"

done_testing
