#!/bin/bash
# `make bench`: the six figures of docs/PERFORMANCE.md (issue 5), on W1 and
# W2 built by w1gen, each in its own private IPC, mount and PID namespaces.
#
# Two keepers, one per workload, each a copy of this script inside its own
# namespaces (enter_private_namespaces from tests/integration/lib.sh), hold
# their workload and run what they are told on a pair of FIFOs: one command
# in, one line out, timing taken inside the namespace with $EPOCHREALTIME
# around the command alone.  This script, outside, alternates the commands
# so that every ratio is measured side by side, in the same run, as the
# median of BENCH_RUNS (default 7, at least 5) alternating runs, after one
# untimed warm-up of each side.  When the keepers quit, their PID
# namespaces end and take every holder and object with them; the host's
# `ipcs -a` is compared before and after.
#
# Environment: top_srcdir, top_builddir (set by make), BENCH_RUNS.
set -u

top_builddir=$(cd "${top_builddir:-.}" && pwd)
top_srcdir=$(cd "${top_srcdir:-.}" && pwd)
W1GEN="$top_builddir/tests/bench/w1gen"
FLOOR="$top_builddir/tests/bench/floor"

# --- inside: the keeper ---------------------------------------------------------

# run_timed NAME: runs command NAME once; sets ANS to its wall time in
# microseconds, or to "error ...".
run_timed() {
    local t0 t1 rc
    case $1 in
    floor) t0=${EPOCHREALTIME/./}; "$FLOOR" --mqueue "$MQDIR" --shm /dev/shm --fifo "$FIFODIR" --depth 4 ;;
    sweep) t0=${EPOCHREALTIME/./}; "$IPCGC" --local --config "$CONF" sweep --dry-run -J ;;
    dsweep) t0=${EPOCHREALTIME/./}; "$IPCGC" --config "$CONF" sweep --dry-run -J ;;
    status) t0=${EPOCHREALTIME/./}; "$IPCGC" --config "$CONF" status ;;
    dlist) t0=${EPOCHREALTIME/./}; "$IPCGC" --config "$CONF" list -J ;;
    ipcsl) t0=${EPOCHREALTIME/./}; ipcs -l ;;
    peer) t0=${EPOCHREALTIME/./}; ipcs -a -p && { lsof -n -P; true; } ;;
    *) ANS="error unknown command $1"; return ;;
    esac </dev/null >/dev/null 2>"$T/cmd.err"
    rc=$?
    t1=${EPOCHREALTIME/./}
    if [ "$rc" != 0 ]; then
        ANS="error $1 exited $rc: $(tail -n 2 "$T/cmd.err" | tr '\n' ' ')"
    else
        ANS=$((t1 - t0))
    fi
}

keeper() {
    local scale=$1 gen cmd arg
    cat >>"$CONF" <<EOC

[Daemon]
Interval=1h
Socket=$T/io.ipcgc
ProcessEvents=no

[Rule all]
MinAge=1h
Action=collect
EOC
    if ! gen=$("$W1GEN" --scale "$scale" --fifo "$FIFODIR" 2>"$T/w1gen.err"); then
        echo "error w1gen --scale $scale failed: $(tr '\n' ' ' <"$T/w1gen.err")"
        exit 1
    fi
    echo "ready $(tr '\n' ';' <<<"$gen")"

    while read -r cmd arg; do
        case $cmd in
        run) run_timed "$arg" ;;
        daemon)
            start_daemon </dev/null >>"$T/daemon.out" 2>&1
            ANS="ok $DAEMON_PID"
            ;;
        statusjson)
            ANS=$("$IPCGC" --config "$CONF" status -J </dev/null 2>/dev/null | jq -r ".$arg // \"null\"")
            ;;
        hwm) ANS=$(awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status") ;;
        verdicts)
            # Verdict counts per type, from the daemon or --local.
            local how=()
            [ "$arg" = local ] && how=(--local)
            ANS=$("$IPCGC" "${how[@]}" --config "$CONF" list -J </dev/null 2>/dev/null |
                jq -r '[.objects[] | "\(.type) \(.verdict)"] | group_by(.) | map("\(.[0]) \(length)") | join(", ")')
            ;;
        quit)
            [ -n "${DAEMON_PID:-}" ] && stop_daemon
            echo "bye"
            exit 0
            ;;
        *) ANS="error unknown request $cmd" ;;
        esac
        echo "${ANS:-error empty answer}"
    done
    exit 0
}

if [ "${1:-}" = --keeper ]; then
    . "$top_srcdir/tests/integration/lib.sh" || { echo "error cannot read lib.sh"; exit 1; }
    enter_private_namespaces "$@"
    keeper "$2"
fi

# --- outside: the conductor -----------------------------------------------------

RUNS=${BENCH_RUNS:-7}
[ "$RUNS" -ge 5 ] 2>/dev/null || { echo "run-bench: BENCH_RUNS must be a number >= 5" >&2; exit 2; }
if [ "$(id -u)" != 0 ]; then
    echo "run-bench: needs root, to make private IPC, mount and PID namespaces" >&2
    exit 1
fi
for p in "$W1GEN" "$FLOOR" "$top_builddir/ipcgc" "$top_builddir/ipcgcd"; do
    [ -x "$p" ] || { echo "run-bench: $p is not built" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "run-bench: needs jq" >&2; exit 1; }
HAVE_LSOF=1
if ! command -v lsof >/dev/null; then
    echo "run-bench: installing lsof for the peer figure"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q lsof >/dev/null 2>&1 || true
    command -v lsof >/dev/null || HAVE_LSOF=0
fi

# 3000 holders use pids of the host's PID namespace too: take the test lock
# (see tests/integration/lib.sh) so that no exclusive test of this build
# directory runs meanwhile, which also keeps them out of the timings.
exec 9>"$top_builddir/.ipcgc-test.lock"
flock 9

D=$(mktemp -d "${TMPDIR:-/tmp}/ipcgc-bench.XXXXXX")
declare -A KPID KCMD KRES
cleanup() {
    local k
    for k in "${!KCMD[@]}"; do close_keeper "$k"; done
    for k in "${!KPID[@]}"; do wait "${KPID[$k]}" 2>/dev/null; done
    rm -rf "$D"
}
close_keeper() {
    local c=${KCMD[$1]} r=${KRES[$1]}
    exec {c}>&- {r}<&-
    unset "KCMD[$1]" "KRES[$1]"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "run-bench: $*" >&2
    local k
    for k in "${!KPID[@]}"; do
        [ -s "$D/$k.err" ] && sed "s/^/run-bench: $k: /" "$D/$k.err" >&2
    done
    exit 1
}

host_state() {
    echo "ipcs -a lines $(ipcs -a | wc -l), /dev/shm entries $(find /dev/shm -mindepth 1 2>/dev/null | wc -l)," \
        "/dev/mqueue entries $(find /dev/mqueue -mindepth 1 2>/dev/null | wc -l)"
}
HOST_BEFORE=$(host_state)

# The keepers are forked before this script opens any of their FIFOs, so
# none inherits another's.  w1b holds a second, identical W1: the cold
# sweeps that the daemon's steady sweeps are compared with run there, since
# a cold sweep opens every queue to read its status, and an open of a queue
# judged dead is news to the daemon watching W1 (it judges in full next).
KEEPERS="w1 w1b w2"
for k in $KEEPERS; do
    mkfifo "$D/$k.cmd" "$D/$k.res"
    scale=1
    [ $k = w2 ] && scale=2
    IPCGC_TEST_EXCLUSIVE= bash "$0" --keeper "$scale" <"$D/$k.cmd" >"$D/$k.res" 2>"$D/$k.err" &
    KPID[$k]=$!
done
for k in $KEEPERS; do
    exec {fd}>"$D/$k.cmd"
    KCMD[$k]=$fd
    exec {fd}<"$D/$k.res"
    KRES[$k]=$fd
done

ANS=
ask() { # ask KEEPER REQUEST: one answer line into ANS
    echo "$2" >&"${KCMD[$1]}" || fail "$1 is gone (asked: $2)"
    read -r -t 900 -u "${KRES[$1]}" ANS || fail "$1 did not answer '$2'"
    case $ANS in error*) fail "$1: $2: $ANS" ;; esac
}

declare -A GEN
for k in $KEEPERS; do
    read -r -t 300 -u "${KRES[$k]}" line || fail "$k did not come up"
    case $line in ready*) ;; *) fail "$k: $line" ;; esac
    GEN[$k]=${line#ready }
done

# Samples, in microseconds.
declare -A S
add() { S[$1]="${S[$1]:-} $2"; }
run() { # run KEEPER NAME [TAG]: one timed run, recorded under TAG (default KEEPER.NAME)
    ask "$1" "run $2"
    add "${3:-$1.$2}" "$ANS"
}
median() { # median TAG: in microseconds
    tr ' ' '\n' <<<"${S[$1]}" | grep . | sort -n |
        awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
verdict() { # verdict VALUE le|ge TARGET
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = op == "le" ? v <= t : v >= t; print ok ? "MET" : "MISSED" }'
}

MACHINE="$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
echo "ipcgc benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $MACHINE, load average $(cut -d" " -f1-3 /proc/loadavg) at start"
rev=$(git -C "$top_srcdir" describe --always --dirty 2>/dev/null) && echo "# source: $rev"
for k in $KEEPERS; do
    echo "# $k: $(tr ';' '\n' <<<"${GEN[$k]}" | grep -E '^(w1gen|procs)' | tr '\n' ' ')"
done

# 1 and 4: W1 sweep, W1 floor, W2 sweep, W2 floor, the order reversed every
# other round.
for t in sweep floor; do ask w1 "run $t"; ask w2 "run $t"; done
for i in $(seq "$RUNS"); do
    if [ $((i % 2)) = 1 ]; then
        run w1 sweep; run w1 floor; run w2 sweep; run w2 floor
    else
        run w2 floor; run w2 sweep; run w1 floor; run w1 sweep
    fi
done
w1sweep=$(median w1.sweep) w1floor=$(median w1.floor) w2sweep=$(median w2.sweep) w2floor=$(median w2.floor)
r=$(ratio "$w1sweep" "$w1floor")
echo "floor-ratio: $r (W1 cold sweep $(ms "$w1sweep") ms / floor $(ms "$w1floor") ms, median of $RUNS)" \
    "target <= 1.3 $(verdict "$r" le 1.3)"

# 3: the admin's pipeline against a cold sweep.
if [ "$HAVE_LSOF" = 1 ]; then
    ask w1 "run peer"
    for i in $(seq "$RUNS"); do
        if [ $((i % 2)) = 1 ]; then run w1 peer; run w1 sweep w1.sweep3; else run w1 sweep w1.sweep3; run w1 peer; fi
    done
    peer=$(median w1.peer) sweep3=$(median w1.sweep3)
    r=$(ratio "$peer" "$sweep3")
    PEER_LINE="peer-ratio: $r (ipcs -a -p + lsof -n -P $(ms "$peer") ms / W1 cold sweep $(ms "$sweep3") ms, median of $RUNS) expected >= 3 $(verdict "$r" ge 3)"
else
    PEER_LINE="peer-ratio: n/a (lsof is not installed and could not be)"
fi

# 2: the daemon, holding W1, sweeping when nothing changed.
ask w1 daemon
ask w1 "statusjson last_sweep_usec"
first_usec=$ANS
ask w1 hwm
hwm_start=$ANS
ask w1 "run dsweep"
ask w1b "run sweep"
for i in $(seq "$RUNS"); do
    if [ $((i % 2)) = 1 ]; then
        run w1 dsweep; ask w1 "statusjson last_sweep_usec"; add w1.engine "$ANS"; run w1b sweep w1.sweep2
    else
        run w1b sweep w1.sweep2; run w1 dsweep; ask w1 "statusjson last_sweep_usec"; add w1.engine "$ANS"
    fi
done
ask w1 "statusjson quick_without_life"
quick_dead=$ANS
dsweep=$(median w1.dsweep) engine=$(median w1.engine) sweep2=$(median w1.sweep2)
r=$(ratio "$dsweep" "$sweep2")
STEADY_LINE="steady-ratio: $r (wall clock: ipcgc sweep --dry-run through ipcgcd $(ms "$dsweep") ms / cold --local sweep of an identical W1 $(ms "$sweep2") ms, median of $RUNS; $quick_dead sweeps so far kept verdicts of no life) target <= 0.10 $(verdict "$r" le 0.10)"
r=$(ratio "$engine" "$sweep2")
ENGINE_LINE="steady-ratio-engine: $r (ipcgcd's own last_sweep_usec $(ms "$engine") ms / cold --local sweep $(ms "$sweep2") ms wall clock, median of $RUNS; its first sweep at start took $(ms "$first_usec") ms) target <= 0.10 $(verdict "$r" le 0.10)"

ask w1 hwm
hwm_sweeps=$ANS

# 6: the CLI against the running daemon.
ask w1 "run status"; ask w1 "run ipcsl"
for i in $(seq "$RUNS"); do
    if [ $((i % 2)) = 1 ]; then run w1 status; run w1 ipcsl; else run w1 ipcsl; run w1 status; fi
done
ask w1 "run dlist"
for i in $(seq "$RUNS"); do
    if [ $((i % 2)) = 1 ]; then run w1 dlist; run w1 sweep w1.sweep6; else run w1 sweep w1.sweep6; run w1 dlist; fi
done
st=$(median w1.status) il=$(median w1.ipcsl) dl=$(median w1.dlist) sweep6=$(median w1.sweep6)
CLI_LINE="cli-status-ratio: $(ratio "$st" "$il") (ipcgc status through ipcgcd $(ms "$st") ms / ipcs -l $(ms "$il") ms, median of $RUNS) no target"
r=$(ratio "$dl" "$sweep6")
LIST_LINE="cli-list-ratio: $r (ipcgc list -J through ipcgcd on W1 $(ms "$dl") ms / cold --local sweep $(ms "$sweep6") ms, median of $RUNS) target <= 0.5 $(verdict "$r" le 0.5)"

# 5: what the daemon needed, after all those sweeps and lists.
ask w1 "statusjson sweeps"
sweeps=$ANS
ask w1 hwm
hwm=$ANS
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
mib=$(mib "$hwm")
RSS_LINE="peak-rss: $mib MiB (ipcgcd VmHWM holding W1's verdicts and history, after $sweeps sweeps and $((RUNS + 1)) lists; it was $(mib "$hwm_start") MiB after its first sweep, $(mib "$hwm_sweeps") MiB after $((RUNS + 2)) sweeps) target <= 16 MiB $(verdict "$mib" le 16)"

# The steady figure means something only if the daemon's verdicts are right.
ask w1 "verdicts daemon"
vd=$ANS
ask w1 "verdicts local"
vl=$ANS
if [ "$vd" = "$vl" ] && [ -n "$vd" ]; then
    VERDICT_LINE="verdicts-agree: yes, ipcgcd and --local on W1: $vd"
else
    VERDICT_LINE="verdicts-agree: NO (ipcgcd: $vd; --local: $vl)"
fi

echo "$STEADY_LINE"
echo "$ENGINE_LINE"
echo "$PEER_LINE"
r=$(ratio "$w2sweep" "$w1sweep")
echo "scaling-ratio: $r (W2 cold sweep $(ms "$w2sweep") ms / W1 cold sweep $(ms "$w1sweep") ms, median of $RUNS; the floor scales $(ratio "$w2floor" "$w1floor")) target <= 2.2 $(verdict "$r" le 2.2)"
echo "$RSS_LINE"
echo "$CLI_LINE"
echo "$LIST_LINE"
echo "$VERDICT_LINE"

for k in $KEEPERS; do ask $k quit; done
for k in $KEEPERS; do
    close_keeper "$k"
    wait "${KPID[$k]}"
    rc=$?
    [ "$rc" = 0 ] || echo "run-bench: keeper $k ended with status $rc" >&2
    unset "KPID[$k]"
done
HOST_AFTER=$(host_state)
if [ "$HOST_BEFORE" = "$HOST_AFTER" ]; then
    echo "host-check: CLEAN (before: $HOST_BEFORE; after: the same)"
else
    echo "host-check: CHANGED (before: $HOST_BEFORE; after: $HOST_AFTER)"
    exit 1
fi
