#!/bin/bash
# `make bench`: the figures of docs/PERFORMANCE.md (issue 5), on W1 and
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
# The archive figures (issue 11) come last, on keepers of their own: one
# fresh W1 per removal sweep (a real sweep consumes its orphans), and one
# ipcgcd with nothing but the 256 MiB segment it archives.  Their
# ArchiveDir is under this script's scratch directory, on the disk TMPDIR
# is on, never a tmpfs: the syncs are the point.
#
# Environment: top_srcdir, top_builddir (set by make), BENCH_RUNS, BENCH_ONLY=archive (only
# the two archive figures, at full scale).
# BENCH_SMOKE=1 (tests/bench/test-bench-smoke.sh): the archive figures
# alone, on W1/20 and a 13 MiB segment, one run each, without the test
# lock; the lines are printed, their targets mean nothing at that size.
set -u

top_builddir=$(cd "${top_builddir:-.}" && pwd)
top_srcdir=$(cd "${top_srcdir:-.}" && pwd)
W1GEN="$top_builddir/tests/bench/w1gen"
FLOOR="$top_builddir/tests/bench/floor"
SHMFILL="$top_builddir/tests/bench/shmfill"
SHMFILL_KEY=0x62656e63

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
    # Real sweeps (the config decides what they may remove): the reply kept
    # for sweepcheck, on the namespace's tmpfs, on both sides alike.
    rsweep) t0=${EPOCHREALTIME/./}; "$IPCGC" --local --config "$CONF" sweep -J >"$T/sweep.json" ;;
    drsweep) t0=${EPOCHREALTIME/./}; "$IPCGC" --config "$CONF" sweep -J >"$T/sweep.json" ;;
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

# keeper SCALE [MODE]: builds W1 x SCALE and answers requests.  MODE bench
# (the default): the dry-run figures' config, nothing is ever removed.
# archive, noarchive: every orphan removed by a real sweep (MinAge=0, no
# MaxRemovalsPerSweep= in the way), archived to BENCH_ARCHIVE_DIR first or,
# with noarchive, not (Archive=no on the one rule).  rss: no W1; ipcgcd
# with DryRun=no and the same rule, for the orphan shmfill makes.
keeper() {
    local scale=$1 mode=${2:-bench} gen cmd arg
    case $mode in
    bench)
        cat >>"$CONF" <<EOC

[Daemon]
Interval=1h
Socket=$T/io.ipcgc
ProcessEvents=no

[Rule all]
MinAge=1h
Action=collect
EOC
        ;;
    archive | noarchive | rss)
        cat >>"$CONF" <<EOC

[Daemon]
Interval=1h
Socket=$T/io.ipcgc
ProcessEvents=no
DryRun=no
MaxRemovalsPerSweep=100000
ArchiveDir=$BENCH_ARCHIVE_DIR
ArchiveMaxBytes=1T

[Rule all]
MinAge=0
Action=collect
EOC
        [ "$mode" = noarchive ] && echo "Archive=no" >>"$CONF"
        ;;
    *)
        echo "error unknown keeper mode $mode"
        exit 1
        ;;
    esac
    if [ "$mode" = rss ]; then
        gen="w1gen: none"
    elif ! gen=$("$W1GEN" --scale "$scale" --fifo "$FIFODIR" 2>"$T/w1gen.err"); then
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
        sweepcheck)
            # What the last real sweep did: removed, of those archived, skipped, failed.
            ANS=$(jq -r '"\(.removed) \([.records[] | select(.action == "removed" and .archive != null)] | length) \(.skipped) \(.failed)"' \
                "$T/sweep.json" 2>/dev/null)
            ;;
        shmfill) ANS=$("$SHMFILL" "$SHMFILL_KEY" "$arg" </dev/null 2>&1) || ANS="error shmfill: $ANS" ;;
        shmrecord)
            # The last sweep's record of shm ID: its action and archive entry.
            ANS=$(jq -r --arg id "$arg" '[.records[] | select(.id == "shm:\($id)")][0] // {} | "\(.action) \(.archive)"' \
                "$T/sweep.json" 2>/dev/null)
            ;;
        shmthere)
            # Is segment ID still in this namespace?
            ANS=$(awk -v id="$arg" 'NR > 1 && $2 == id { found = 1 } END { print found ? "yes" : "no" }' /proc/sysvipc/shm)
            ;;
        datasize)
            # The entry's contents: all of it past the manifest's 64 KiB.
            ANS=$(stat -c %s "$BENCH_ARCHIVE_DIR/$arg" 2>&1) && ANS=$((ANS - 65536)) || ANS="error no entry: $ANS" ;;
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
    keeper "$2" "${3:-bench}"
fi

# --- outside: the conductor -----------------------------------------------------

SMOKE=${BENCH_SMOKE:-}
# BENCH_ONLY=archive: the two archive figures alone, at full scale.
ONLY=${BENCH_ONLY:-}
if [ "$SMOKE" = 1 ]; then
    RUNS=1 SCALE=0.05 SEG_MIB=13
    ONLY=archive
else
    RUNS=${BENCH_RUNS:-7} SCALE=1 SEG_MIB=256
    [ "$RUNS" -ge 5 ] 2>/dev/null || { echo "run-bench: BENCH_RUNS must be a number >= 5" >&2; exit 2; }
fi
if [ "$(id -u)" != 0 ]; then
    echo "run-bench: needs root, to make private IPC, mount and PID namespaces" >&2
    exit 1
fi
for p in "$W1GEN" "$FLOOR" "$SHMFILL" "$top_builddir/ipcgc" "$top_builddir/ipcgcd"; do
    [ -x "$p" ] || { echo "run-bench: $p is not built" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "run-bench: needs jq" >&2; exit 1; }
HAVE_LSOF=1
if [ "$SMOKE" != 1 ] && ! command -v lsof >/dev/null; then
    echo "run-bench: installing lsof for the peer figure"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q lsof >/dev/null 2>&1 || true
    command -v lsof >/dev/null || HAVE_LSOF=0
fi

# 3000 holders use pids of the host's PID namespace too: take the test lock
# (see tests/integration/lib.sh) so that no exclusive test of this build
# directory runs meanwhile, which also keeps them out of the timings.
# The smoke run, at 1/20, forks no more than the other smoke tests.
if [ "$SMOKE" != 1 ]; then
    exec 9>"$top_builddir/.ipcgc-test.lock"
    flock 9
fi

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

ANS=
ask() { # ask KEEPER REQUEST: one answer line into ANS
    echo "$2" >&"${KCMD[$1]}" || fail "$1 is gone (asked: $2)"
    read -r -t 900 -u "${KRES[$1]}" ANS || fail "$1 did not answer '$2'"
    case $ANS in error*) fail "$1: $2: $ANS" ;; esac
}

# start_keepers NAME:SCALE:MODE...: forks them all, then opens their FIFOs,
# then waits until each has built its workload; GEN[NAME] says what it made.
# A keeper forked later closes the FIFOs of those already running, so that
# none holds another's open.  Each has its own ArchiveDir, $D/NAME.archive.
declare -A GEN
start_keepers() {
    local spec k scale mode fd line
    for spec in "$@"; do
        IFS=: read -r k scale mode <<<"$spec"
        mkfifo "$D/$k.cmd" "$D/$k.res"
        (
            for fd in "${KCMD[@]}" "${KRES[@]}"; do exec {fd}>&-; done
            IPCGC_TEST_EXCLUSIVE='' BENCH_ARCHIVE_DIR=$D/$k.archive exec bash "$0" --keeper "$scale" "$mode"
        ) <"$D/$k.cmd" >"$D/$k.res" 2>"$D/$k.err" &
        KPID[$k]=$!
    done
    for spec in "$@"; do
        k=${spec%%:*}
        exec {fd}>"$D/$k.cmd"
        KCMD[$k]=$fd
        exec {fd}<"$D/$k.res"
        KRES[$k]=$fd
    done
    for spec in "$@"; do
        k=${spec%%:*}
        read -r -t 300 -u "${KRES[$k]}" line || fail "$k did not come up"
        case $line in ready*) ;; *) fail "$k: $line" ;; esac
        GEN[$k]=${line#ready }
    done
}

stop_keepers() { # stop_keepers NAME...: each told to quit, and waited for
    local k rc
    for k in "$@"; do ask "$k" quit; done
    for k in "$@"; do
        close_keeper "$k"
        wait "${KPID[$k]}"
        rc=$?
        [ "$rc" = 0 ] || echo "run-bench: keeper $k ended with status $rc" >&2
        unset "KPID[$k]"
        rm -f "$D/$k.cmd" "$D/$k.res"
    done
}

# The keepers of the dry-run figures.  w1b holds a second, identical W1: the
# cold sweeps that the daemon's steady sweeps are compared with run there,
# since a cold sweep opens every queue to read its status, and an open of a
# queue judged dead is news to the daemon watching W1 (it judges in full
# next).
KEEPERS="w1 w1b w2"
[ "$ONLY" = archive ] && KEEPERS=
# shellcheck disable=SC2086
[ -n "$KEEPERS" ] && start_keepers w1:1:bench w1b:1:bench w2:2:bench

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
verdict() { # verdict VALUE le|lt|ge TARGET
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { ok = op == "le" ? v <= t : op == "lt" ? v < t : v >= t; print ok ? "MET" : "MISSED" }'
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# The file system a path is on, for the archive lines: type, device, and
# whether ext4 keeps a journal there (jbd2 lists the journals it runs).
fs_of() {
    local src type
    read -r src type < <(findmnt -n -o SOURCE,FSTYPE -T "$1")
    case $type in
    ext4 | ext3)
        if compgen -G "/proc/fs/jbd2/${src##*/}-*" >/dev/null; then
            type="$type with a journal"
        else
            type="$type without a journal"
        fi
        ;;
    esac
    echo "$type on $src"
}

# archive-ratio: a real --local sweep of a fresh W1, archived, against the
# same on an identical fresh W1 with Archive=no; a pair of new keepers per
# round, the order reversed every other round.  No warm-up round: each side
# starts from a W1 of its own whatever happens, and the binaries are warm
# from the figures before.  The archives stay until the end: deleting them
# between rounds would make the next round's inodes slower to allocate
# (ext4 without a journal skips inodes deleted in the last minutes).
archive_ratio_figure() {
    local i a n k want got orphans fs bytes=0
    for i in $(seq "$RUNS"); do
        a=arch$i n=noarch$i
        start_keepers "$a:$SCALE:archive" "$n:$SCALE:noarchive"
        [ "$i" = 1 ] && ARCHIVE_GEN="# $a: $(tr ';' '\n' <<<"${GEN[$a]}" | grep -E '^(w1gen|procs)' | tr '\n' ' ')"
        orphans=$(tr ';' '\n' <<<"${GEN[$a]}" | awk '$1 == "type" { o += $3 - $5 } END { print o + 0 }')
        if [ $((i % 2)) = 1 ]; then
            run "$a" rsweep archive.with; run "$n" rsweep archive.without
        else
            run "$n" rsweep archive.without; run "$a" rsweep archive.with
        fi
        # Every orphan removed, by both; each archived by one, none by the other.
        for k in "$a" "$n"; do
            want="$orphans $orphans 0 0"
            [ "$k" = "$n" ] && want="$orphans 0 0 0"
            ask "$k" sweepcheck
            got=$ANS
            [ "$got" = "$want" ] || fail "$k: the sweep removed, archived, skipped, failed '$got', not '$want'"
        done
        bytes=$(du -sk "$D/$a.archive" | cut -f1)
        stop_keepers "$a" "$n"
    done
    fs=$(fs_of "$D")
    local with without r
    with=$(median archive.with) without=$(median archive.without)
    r=$(ratio "$with" "$without")
    # The runs themselves: on a shared disk they spread.
    ARCHIVE_SAMPLES="# archive-ratio runs in ms, in order: archived$(for u in ${S[archive.with]}; do printf ' %s' "$(ms "$u")"; done);"
    ARCHIVE_SAMPLES+=" Archive=no$(for u in ${S[archive.without]}; do printf ' %s' "$(ms "$u")"; done)"
    ARCHIVE_RATIO_LINE="archive-ratio: $r (real --local sweep removing W1's $orphans orphans, archived first to an ArchiveDir on $fs $(ms "$with") ms / the same with Archive=no $(ms "$without") ms, each on a fresh W1, median of $RUNS; $(mib "$bytes") MiB of entries per sweep) target <= 1.5 $(verdict "$r" le 1.5)"
}

# archive-rss: ipcgcd, alone with an orphaned segment of SEG_MIB MiB, every
# byte of it written, archives and removes it through `ipcgc sweep`.
archive_rss_figure() {
    local before after id bytes action entry size t
    start_keepers "rss:0:rss"
    ask rss daemon
    ask rss hwm
    before=$ANS
    ask rss "shmfill $SEG_MIB"
    read -r _ id _ bytes <<<"$ANS"
    ask rss "run drsweep"
    t=$ANS
    ask rss "shmrecord $id"
    read -r action entry <<<"$ANS"
    if [ "$action" != removed ] || [ -z "$entry" ] || [ "$entry" = null ]; then
        fail "rss: the sweep's record of segment $id: '$ANS', not removed and archived"
    fi
    ask rss "shmthere $id"
    [ "$ANS" = no ] || fail "rss: segment $id is still there after the sweep"
    ask rss "datasize $entry"
    size=$ANS
    [ "$size" = "$bytes" ] || fail "rss: the entry's contents have $size bytes, the segment $bytes"
    ask rss hwm
    after=$ANS
    stop_keepers rss
    local m
    m=$(mib "$after")
    ARCHIVE_RSS_LINE="archive-rss: $m MiB (ipcgcd VmHWM after archiving and removing an orphaned $SEG_MIB MiB shm segment through ipcgc sweep, $(ms "$t") ms; $(mib "$before") MiB before; the entry's contents have $size bytes, $(mib $((size / 1024))) MiB, on $(fs_of "$D")) target < 32 MiB $(verdict "$m" lt 32)"
}

host_check() {
    local after
    after=$(host_state)
    if [ "$HOST_BEFORE" = "$after" ]; then
        echo "host-check: CLEAN (before: $HOST_BEFORE; after: the same)"
    else
        echo "host-check: CHANGED (before: $HOST_BEFORE; after: $after)"
        exit 1
    fi
}

MACHINE="$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
echo "ipcgc benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $MACHINE, load average $(cut -d" " -f1-3 /proc/loadavg) at start"
rev=$(git -C "$top_srcdir" describe --always --dirty 2>/dev/null) && echo "# source: $rev"
for k in $KEEPERS; do
    echo "# $k: $(tr ';' '\n' <<<"${GEN[$k]}" | grep -E '^(w1gen|procs)' | tr '\n' ' ')"
done

if [ "$ONLY" = archive ]; then
    archive_ratio_figure
    archive_rss_figure
    echo "$ARCHIVE_GEN"
    echo "$ARCHIVE_SAMPLES"
    echo "$ARCHIVE_RATIO_LINE"
    echo "$ARCHIVE_RSS_LINE"
    host_check
    exit 0
fi

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

# The archive figures, on keepers of their own, once the others are gone.
# shellcheck disable=SC2086
stop_keepers $KEEPERS
archive_ratio_figure
archive_rss_figure

echo "$STEADY_LINE"
echo "$ENGINE_LINE"
echo "$PEER_LINE"
r=$(ratio "$w2sweep" "$w1sweep")
echo "scaling-ratio: $r (W2 cold sweep $(ms "$w2sweep") ms / W1 cold sweep $(ms "$w1sweep") ms, median of $RUNS; the floor scales $(ratio "$w2floor" "$w1floor")) target <= 2.2 $(verdict "$r" le 2.2)"
echo "$RSS_LINE"
echo "$CLI_LINE"
echo "$LIST_LINE"
echo "$ARCHIVE_GEN"
echo "$ARCHIVE_SAMPLES"
echo "$ARCHIVE_RATIO_LINE"
echo "$ARCHIVE_RSS_LINE"
echo "$VERDICT_LINE"
host_check
