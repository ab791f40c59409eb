#!/bin/bash
# Faults injected into reap()'s archive, each where a bug of the review was
# (037d04c): a failed batch commit, a segment attached during its archive
# read, a queue sent to between its archive and its unlink, sparse files and
# the archive's room, a record that cannot be made after a removal.  The
# design is in tests/race/archive-faults.c: the C program injects and
# reports, this script makes the namespaces and turns the reports into TAP.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

PROG=$top_builddir/tests/race/archive-faults
RCONF=$T/faults.conf
{
    cat "$CONF"
    printf '\n[Rule default]\nMinAge=0\nAction=collect\n'
} >"$RCONF"

start=$(date +%s.%N)
out=$("$PROG" "$T" "$RCONF")
rc=$?
end=$(date +%s.%N)

grep '^#' <<<"$out"
grep '^res ' <<<"$out" | sed 's/^/# /'
awk -v a="$start" -v b="$end" 'BEGIN { printf "# wall time: %.1f s\n", b - a }'
is "$rc" 0 "archive-faults ran to completion"

declare -A R
while read -r _ case key value; do
    R[$case/$key]=$value
done < <(grep '^res ' <<<"$out")

get() { echo "${R[$1/$2]:-missing}"; }

# Each sweep of a case says "setup ok" when its objects were all judged
# ORPHAN, "setup wrong" (and why, above) when not.
for c in h1 h3 h3-shmdt m3 m3-unlinkat m2 m2-evict h2; do
    is "$(get "$c" finished)" yes "$c: ran to its end"
    n_ok=$(grep -c "^res $c setup ok$" <<<"$out")
    n_wrong=$(grep -c "^res $c setup wrong$" <<<"$out")
    check "$c: every object judged ORPHAN before the fault ($n_ok sweeps, $n_wrong wrong)" \
        test "$n_ok" -ge 1 -a "$n_wrong" -eq 0
done

# todo COND DESCRIPTION [DETAIL]: a known hole.  While it is open the check
# fails as a TODO (an XFAIL, not counted by done_testing); once it passes it
# is an XPASS, which fails the suite: then make it a plain check.
todo() {
    _tap_n=$((_tap_n + 1))
    if [ "$1" = yes ]; then
        echo "ok $_tap_n - $2 # TODO $3"
    else
        echo "not ok $_tap_n - $2 # TODO $3"
        [ -n "${4:-}" ] && echo "#   $4"
    fi
    return 0
}

# H1: the batch commit's syncfs fails.
is "$(get h1 hook_fired)" yes "h1: syncfs failed once, inside reap()"
is "$(get h1 reap)" 0 "h1: reap() returns 0"
is "$(get h1 mq_record)" "skipped: could not archive (Input/output error)" "h1: the mq skipped, could not archive"
is "$(get h1 mq_messages)" "3:gamma,2:beta,2:delta,1:alpha" \
    "h1: the mq holds its messages again, in order, with their priorities"
is "$(get h1 shm_record)" "skipped: could not archive (Input/output error)" "h1: the shm skipped, could not archive"
is "$(get h1 shm_present)" yes "h1: the shm not removed"
is "$(get h1 shm_contents)" intact "h1: the shm's contents intact"
is "$(get h1 entries)" 0 "h1: no entry left committed"

# H3: another process attaches, writes and detaches during the archive read.
is "$(get h3 hook_fired)" yes "h3: the other process attached, wrote and detached during the read"
is "$(get h3 reap)" 0 "h3: reap() returns 0"
is "$(get h3 record)" "skipped: could not archive (it changed while being archived)" \
    "h3: skipped, it changed while being archived"
is "$(get h3 present)" yes "h3: the segment not removed"
is "$(get h3 contents)" "intact but byte 100 is '!'" "h3: contents unchanged but for the byte written"
is "$(get h3 entries)" 0 "h3: no entry left"

# The same attach between shm_save's last look and its shmdt: after our
# shmdt the segment looks as if only ipcgc had used it (lpid ours again,
# nattch as before, atime and dtime not compared), so reap() cannot tell.
# Known, not fixed: TODO.
is "$(get h3-shmdt hook_fired)" yes "h3-shmdt: the other process attached, wrote and detached before our shmdt"
todo "$(get h3-shmdt present)" "h3-shmdt: the segment not removed" \
    "the window between shm_save's last look and its shmdt" \
    "record: $(get h3-shmdt record); byte 100 in its entry: $(get h3-shmdt entry_byte)"

# M3: an empty queue, archived empty, sent to before its unlink.
is "$(get m3 hook_fired)" yes "m3: a message sent after the commit, before the removal's checks"
is "$(get m3 reap)" 0 "m3: reap() returns 0"
is "$(get m3 record)" "skipped: changed at the last moment" "m3: skipped, changed at the last moment"
is "$(get m3 messages)" "5:late" "m3: the queue not removed, the message still there"
is "$(get m3 entries)" 0 "m3: its entry dropped again"

# The same message sent between queue_still_empty() and the unlink: lost
# with the queue (mqueue has no unlink-if-empty).  Known, not fixed: TODO.
is "$(get m3-unlinkat hook_fired)" yes "m3-unlinkat: a message sent just before the queue's unlinkat"
r=$(get m3-unlinkat messages)
todo "$([ "$r" = 5:late ] && echo yes)" "m3-unlinkat: the message still there" \
    "the window between queue_still_empty() and the unlinkat" \
    "queue: $r; record: $(get m3-unlinkat record); entries: $(get m3-unlinkat entries)"

# M2: sparse files are archived as what they hold.
is "$(get m2 reap)" 0 "m2: reap() returns 0"
r=$(get m2 record)
is "${r%%:*}" removed "m2: a 1 GiB pshm holding 4 KiB removed under ArchiveMaxBytes=256M ($r)"
is "$(get m2 present)" no "m2: the file is gone"
is "$(get m2 data)" "length 1073741824 blocks 8192" "m2: the entry's contents: 1 GiB long, 4 KiB of blocks (and 4 KiB of manifest)"

is "$(get m2-evict old_removed)" 20 "m2-evict: 20 files of 8 MiB removed into the archive"
is "$(get m2-evict old_entries)" 20 "m2-evict: 20 entries"
for m in 200 256; do
    is "$(get m2-evict max${m}_reap)" 0 "m2-evict: ArchiveMaxBytes=${m}M: reap() returns 0"
    r=$(get m2-evict max${m}_record)
    is "${r%%:*}" removed "m2-evict: ArchiveMaxBytes=${m}M: a 200 MiB file holding 1 byte removed ($r)"
    is "$(get m2-evict max${m}_present)" no "m2-evict: ArchiveMaxBytes=${m}M: the file is gone"
    n=$(get m2-evict max${m}_evicted)
    check "m2-evict: ArchiveMaxBytes=${m}M: at most 1 old entry evicted (got $n)" test "${n/missing/99}" -le 1
    is "$(get m2-evict max${m}_data)" "length 209715200 blocks 8192" \
        "m2-evict: ArchiveMaxBytes=${m}M: the entry's contents: 200 MiB long, one block (and the manifest's)"
done

# H2: the record of a removal cannot be made.
is "$(get h2 hook_fired)" yes "h2: the record after IPC_RMID failed (vasprintf)"
is "$(get h2 reap)" ENOMEM "h2: reap() returns -ENOMEM"
is "$(get h2 present)" no "h2: the segment was removed"
is "$(get h2 entries_of_it)" 1 "h2: its entry is still committed, listed by archive_list"

done_testing
