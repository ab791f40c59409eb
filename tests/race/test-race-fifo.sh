#!/bin/bash
# Race tests for FIFO removal.  Between judgement and removal another process
# swaps the FIFO for a symlink out of the tree or for a regular file, swaps
# its parent directory for a symlink out of the tree, or opens the FIFO;
# nothing but the verified FIFO may ever be removed.  The design, and what
# counts as caught, are in tests/race/race-fifo.c.
#
# RACE_FIFO_SCALE=N multiplies the iterations (a longer soak).
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
export IPCGC_TEST_EXCLUSIVE=1 # forks thousands of processes: see lib.sh
enter_private_namespaces "$@"

RACE=$top_builddir/tests/race/race-fifo
RCONF=$T/race.conf
{
    cat "$CONF"
    echo "Types=fifo"
    printf '\n[Daemon]\nMaxRemovalsPerSweep=1000\n'
    printf '\n[Rule all]\nAction=collect\nMinAge=0\n'
} >"$RCONF"

start=$(date +%s.%N)
out=$("$RACE" "$T" "$FIFODIR" "$RCONF" "${RACE_FIFO_SCALE:-1}")
rc=$?
end=$(date +%s.%N)

# Diagnostics and the raw counts, as TAP comments.
grep '^#' <<<"$out"
grep '^stat ' <<<"$out" | sed 's/^/# /'
awk -v a="$start" -v b="$end" 'BEGIN { printf "# wall time: %.1f s\n", b - a }'
is "$rc" 0 "race-fifo ran to completion"

declare -A S
while read -r _ phase kind rest; do
    # shellcheck disable=SC2086 # "key value key value ...": split on purpose
    set -- $rest
    while [ $# -ge 2 ]; do
        S[$phase/$kind/$1]=$2
        shift 2
    done
done < <(grep '^stat ' <<<"$out")

get() { echo "${S[$1/$2/$3]:-missing}"; }

# "caught" for the acceptance's four attacks (and a blocking open) attempted
# before reap(): the reaper must skip or fail, and nothing may be removed.
total=0
for k in symlink regular parent-symlink open blocked-open; do
    n=$(get before-reap $k tried)
    [ "$n" != missing ] && total=$((total + n))
    check "before-reap/$k: at least 250 attacks tried (got $n)" test "${n/missing/0}" -ge 250
    is "$(get before-reap $k caught)" "$n" "before-reap/$k: every attack caught and skipped"
done
check "before-reap: at least 1000 attacks in all (got $total)" test "$total" -ge 1000

# Inside reap(), after its re-check of the name and before it moves the entry
# aside.  Replacing the parent directory is not caught there: reap() works
# through the directory fd it already holds, and removing the FIFO it
# verified is correct (counted as "removed"; the victims are checked).
for k in symlink regular open blocked-open; do
    is "$(get in-reap-before-move $k caught)" "$(get in-reap-before-move $k tried)" \
        "in-reap-before-move/$k: every attack caught and skipped"
done

# Inside reap(), after the move and the re-judgement, before the unlink: the
# FIFO is in reap's private directory, where no name-based attack reaches it.
for k in symlink regular parent-symlink open blocked-open; do
    is "$(get in-reap-before-unlink $k removed)" "$(get in-reap-before-unlink $k tried)" \
        "in-reap-before-unlink/$k: the verified FIFO removed, nothing else"
done

n=$(get concurrent mixed tried)
check "concurrent: at least 300 unsynchronised iterations (got $n)" test "${n/missing/0}" -ge 300

# The safety property, for every phase and attack.
for pk in $(printf '%s\n' "${!S[@]}" | sed -n 's,/tried$,,p' | sort); do
    is "$(get "${pk%/*}" "${pk#*/}" wrong)" 0 "$pk: nothing but the verified FIFO removed"
    is "$(get "${pk%/*}" "${pk#*/}" in_use)" 0 "$pk: the FIFO not removed while in use"
    is "$(get "${pk%/*}" "${pk#*/}" other)" 0 "$pk: every outcome accounted for"
    is "$(get "${pk%/*}" "${pk#*/}" hook_missed)" 0 "$pk: every attack landed where it was aimed"
    is "$(get "${pk%/*}" "${pk#*/}" setup_errors)" 0 "$pk: every FIFO judged ORPHAN, every attack made"
done

# Controls: with no attack the orphan is removed, so the rest is not vacuous.
for k in none none-aged; do
    is "$(get before-reap $k removed)" "$(get before-reap $k tried)" "control $k: an unattacked orphan FIFO is removed"
done

done_testing
