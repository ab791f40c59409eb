#!/bin/bash
# Degrade, don't fail (issue 12, items 2 and 3, and a full /dev/shm), at a
# reduced scale: caps lowered by config so a few thousand FIFOs exceed them,
# a low RLIMIT_NOFILE under a large MaxRemovalsPerSweep=, an inode-full and
# a byte-full /dev/shm.  In private namespaces.
#   caps:   past MaxObjectsPerDir= / MaxObjectsPerUser= the rest of one
#           flooded directory is left out and said; root's orphans and an
#           orphan FIFO elsewhere are removed all the same; what was left
#           out is neither judged nor removed
#   fds:    1000 orphan FIFOs under `ulimit -n 256` (and 128 through
#           ipcgcd --once) with MaxRemovalsPerSweep=1000: all removed
#   shm:    /dev/shm out of inodes (nr_inodes=) or bytes: its orphans removed,
#           through the spare quarantine directory kept there
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

IPCGCD="$top_builddir/ipcgcd"
FILL="$top_builddir/tests/helpers/ipc-fill"
A=$T/state/archive
OTHER=$T/other
mkdir -p "$OTHER"
chmod 1777 "$OTHER"
cp "$CONF" "$T/base.conf"

# config [DAEMON_KEY=VALUE...] [-- SCAN_KEY=VALUE... [-- RULE_TEXT...]]
config() {
    local d="" s="" k
    while [ $# -gt 0 ] && [ "$1" != -- ]; do d+="$1"$'\n'; shift; done
    [ $# -gt 0 ] && shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do s+="$1"$'\n'; shift; done
    [ $# -gt 0 ] && shift
    awk -v d="$d" -v s="$s" '{ print } /^\[Daemon\]$/ { printf "%s", d } /^\[Scan\]$/ { printf "%s", s }' \
        "$T/base.conf" | sed "s|^FifoDirs=.*|FifoDirs=$FIFODIR $OTHER|" >"$CONF"
    for k in "$@"; do printf '\n%s\n' "$k" >>"$CONF"; done
    printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"
}
clean() {
    ipcrm -a 2>/dev/null
    find /dev/shm "$FIFODIR" "$OTHER" -mindepth 1 -delete 2>/dev/null
    rm -rf "$A"
}
shm_exists() { awk -v k="$(($1))" '$1 == k { f = 1 } END { exit !f }' /proc/sysvipc/shm; }
rec() { jq -r --arg id "$1" "[.records[] | select(.id == \$id)][0].$2" <<<"$out"; }
count() { find "$@" -mindepth 1 -maxdepth 1 | wc -l; }
# mkfifos_as UID DIR N: N FIFOs f1..fN in DIR, made by UID
mkfifos_as() {
    setpriv --reuid="$1" --regid="$1" --clear-groups \
        perl -e 'use POSIX; for (1 .. $ARGV[1]) { POSIX::mkfifo("$ARGV[0]/f$_", 0644) or die "$!" }' "$2" "$3"
}

# --- 1. caps: a flooded directory, a flooding user -------------------------
clean
config -- MaxObjectsPerDir=1000 MaxObjectsPerUser=1500 -- $'[Rule flood]\nUser=4600\nAction=keep'
mkfifos_as 4600 "$FIFODIR" 5000
mkdir -m 1777 "$FIFODIR/sub"
mkfifos_as 4601 "$FIFODIR/sub" 3
mkfifo "$OTHER/root-orphan"
mkfifos_as 4600 "$OTHER" 700
shm_id=$("$FILL" shm 0x5a01 4096 0600)
"$FILL" pshm /root-orphan 4096 0600 >/dev/null
out=$("$IPCGC" --config "$CONF" sweep --local -J 2>"$T/err")
is "$?" 0 "caps: the sweep succeeds with 5000 FIFOs in one directory"
is "$(rec "shm:$shm_id" action)" removed "caps: root's orphan SysV segment is removed"
is "$(rec pshm:/root-orphan action)" removed "caps: root's orphan pshm is removed"
is "$(rec "fifo:$OTHER/root-orphan" action)" removed "caps: an orphan FIFO in another directory is removed"
is "$(jq '[.records[] | select(.id | startswith("fifo:'"$FIFODIR"'/sub/"))] | length' <<<"$out")" 3 \
    "caps: the directory below the flooded one is still walked (its 3 orphans removed)"
if grep -q "$FIFODIR holds more than MaxObjectsPerDir=1000 objects" "$T/err"; then
    ok "caps: the flooded directory is named, with MaxObjectsPerDir="
else
    not_ok "caps: the flooded directory is named, with MaxObjectsPerDir=" "stderr: $(cat "$T/err")"
fi
if grep -q "uid 4600 owns more than MaxObjectsPerUser=1500" "$T/err" &&
    grep -q "4200 objects not collected (fifo 4200)" "$T/err"; then
    ok "caps: the flooding uid and the count left out are said"
else
    not_ok "caps: the flooding uid and the count left out are said" "stderr: $(cat "$T/err")"
fi
is "$(grep -c "MaxObjectsPerDir=" "$T/err")" 1 "caps: said once"
is "$(jq .failed <<<"$out")" 0 "caps: nothing failed"
is "$(count "$FIFODIR") $(count "$OTHER")" "5001 700" "caps: the flood is untouched (kept by rule or not judged)"
n=$("$IPCGC" --config "$CONF" list --local -n -o ID 2>/dev/null | grep -c "^fifo:$OTHER/")
is "$n" 500 "caps: list collects uid 4600's FIFOs up to MaxObjectsPerUser= (1000 here + 500 there)"
# Left out, not judged: an orphan past the cap is not removed, even by a
# rule that would collect it.
config -- MaxObjectsPerDir=1000
out=$("$IPCGC" --config "$CONF" sweep --local -J 2>/dev/null)
is "$(jq .removed <<<"$out")" 64 "caps: with the flood collectable, MaxRemovalsPerSweep= of what was collected go"
left=$(count "$FIFODIR")
is "$left" $((5001 - 64)) "caps: nothing past the cap was removed"

# The keys: a cap of 0 is a mistake, named where it is.
config -- MaxObjectsPerDir=0
err=$("$IPCGC" --config "$CONF" check-config 2>&1)
rc=$?
case "$rc $err" in "1 "*"$CONF:"*"MaxObjectsPerDir= must be a whole number from 1 to 2097152"*) ok "caps: MaxObjectsPerDir=0 refused, FILE:LINE" ;;
*) not_ok "caps: MaxObjectsPerDir=0 refused, FILE:LINE" "rc $rc: $err" ;; esac

# --- 2. fds: 1000 orphans, ulimit -n 256 -------------------------------------
# (and the unrelated orphan segment: 1001 within MaxRemovalsPerSweep=)
clean
config MaxRemovalsPerSweep=1001 --
mkfifos_as 0 "$FIFODIR" 1000
shm_id=$("$FILL" shm 0x5a02 4096 0600)
out=$(ulimit -n 256 && "$IPCGC" --config "$CONF" sweep --local -J 2>"$T/err")
is "$?" 0 "fds: sweep --local under ulimit -n 256 succeeds"
is "$(jq -c '[.removed, .failed]' <<<"$out")" "[1001,0]" "fds: 1000 FIFOs and a segment removed, none failed"
is "$(count "$FIFODIR")" 0 "fds: no FIFO left"
shm_exists "$shm_id" && not_ok "fds: the segment is gone" || ok "fds: the segment is gone"
is "$(jq '[.records[] | select(.action == "removed" and .archive != null)] | length' <<<"$out") $("$IPCGC" --config "$CONF" archive --local -J | jq '.entries | length')" \
    "1001 1001" "fds: every removal archived, and listed"

clean
mkfifos_as 0 "$FIFODIR" 1000
(ulimit -n 128 && "$IPCGCD" --config "$CONF" --once >"$T/once.out" 2>&1)
is "$?" 0 "fds: ipcgcd --once under ulimit -n 128 succeeds"
is "$(count "$FIFODIR")" 0 "fds: ipcgcd --once removed all 1000"
if grep -qi "too many open files" "$T/once.out"; then
    not_ok "fds: no EMFILE said" "$(grep -i "too many" "$T/once.out" | head -3)"
else ok "fds: no EMFILE said"; fi

# --- 3. a full /dev/shm ------------------------------------------------------
# Inodes: a sweep while room runs short (here the orphans are kept by a
# rule) keeps the spare; then the orphans fill every inode, and the next
# sweep removes them through it.
clean
config MaxRemovalsPerSweep=1000 -- -- $'[Rule keep]\nTypes=pshm\nAction=keep'
umount /dev/shm
mount -t tmpfs -o mode=1777,nr_inodes=64 tmpfs /dev/shm
fill_shm() { while (: >"/dev/shm/p$n") 2>/dev/null; do n=$((n + 1)); done; }
n=0
fill_shm
rm /dev/shm/p0 /dev/shm/p1 /dev/shm/p2
"$IPCGC" --config "$CONF" sweep --local >/dev/null 2>&1
check "shm: short of inodes, a spare quarantine directory is kept in /dev/shm" test -d /dev/shm/.ipcgc-reap.spare
is "$(stat -c '%a %u' /dev/shm/.ipcgc-reap.spare)" "700 0" "shm: the spare is root's, 0700"
n=0
fill_shm
n=$(count /dev/shm)
n=$((n - 1))
check "shm: /dev/shm is out of inodes ($n orphans)" test "$n" -gt 10
config MaxRemovalsPerSweep=1000 --
mkdir /dev/shm/probe 2>/dev/null && not_ok "shm: mkdir there fails" || ok "shm: mkdir there fails"
out=$("$IPCGC" --config "$CONF" sweep --local -J 2>"$T/err")
is "$(jq -c '[.removed, .failed, .skipped]' <<<"$out")" "[$n,0,0]" "shm: every orphan removed from the inode-full /dev/shm"
is "$(count /dev/shm/.ipcgc-reap.spare)" 0 "shm: the spare is empty"
"$IPCGC" --config "$CONF" sweep --local >/dev/null 2>&1
is "$(count /dev/shm)" 0 "shm: with room again, the next sweep removes the spare"

# A spare not ours is never used: replaced by another uid's directory, the
# removals fail for want of room, and nothing is removed.
clean
rmdir /dev/shm/.ipcgc-reap.spare 2>/dev/null
mkdir -m 0700 /dev/shm/.ipcgc-reap.spare && chown 4600:4600 /dev/shm/.ipcgc-reap.spare
n=0
fill_shm
out=$("$IPCGC" --config "$CONF" sweep --local -J 2>"$T/err")
is "$(jq -c '[.removed, .failed]' <<<"$out")" "[0,$n]" "shm: a foreign spare is not used: no removal"
is "$(count /dev/shm)" $((n + 1)) "shm: every orphan still there"
reason=$(jq -r '.records[0].reason' <<<"$out")
case $reason in *"No space left"*) ok "shm: the failure says why ($reason)" ;;
*) not_ok "shm: the failure says why" "reason: $reason" ;; esac

# Bytes: a /dev/shm with no byte left still takes the quarantine directory.
clean
umount /dev/shm
mount -t tmpfs -o mode=1777,size=256k tmpfs /dev/shm
for i in 1 2 3; do "$FILL" pshm "/b$i" 4096 0600 >/dev/null; done
head -c 1M /dev/zero >/dev/shm/filler 2>/dev/null
out=$("$IPCGC" --config "$CONF" sweep --local -J 2>"$T/err")
is "$(jq -c '[.removed, .failed]' <<<"$out")" "[4,0]" "shm: the orphans of a byte-full /dev/shm removed"

done_testing
