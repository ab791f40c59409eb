#!/bin/bash
# Every removal is archived first (lib/reap.c, issue 11), end to end: real
# orphans of every kind swept by `ipcgc sweep --local` and by ipcgcd, their
# entries read back byte for byte; no archive, no removal (a full file
# system, ArchiveMaxBytes=, a symlink or a foreign ArchiveDir=), unless the
# rule says Archive=no; eviction of the oldest entries under
# ArchiveMaxBytes=, and ArchiveKeep=.  In private namespaces.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

FILL="$top_builddir/tests/helpers/ipc-fill"
A=$T/state/archive
cp "$CONF" "$T/base.conf"
trap '[ -n "${DAEMON_PID:-}" ] && kill "$DAEMON_PID" 2>/dev/null; wait 2>/dev/null' EXIT

# config [KEY=VALUE...] [-- RULE_TEXT...]: $CONF afresh from the base, the
# KEY=VALUEs in [Daemon], each RULE_TEXT appended, then the default rule
# (every orphan collected at once).
config() {
    local k daemon=""
    while [ $# -gt 0 ] && [ "$1" != -- ]; do daemon+="$1"$'\n'; shift; done
    [ $# -gt 0 ] && shift
    awk -v d="$daemon" '{ print } /^\[Daemon\]$/ { printf "%s", d }' "$T/base.conf" >"$CONF"
    for k in "$@"; do printf '\n%s\n' "$k" >>"$CONF"; done
    printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"
}
# clean: no object and no archive left from the section before.
clean() {
    ipcrm -a 2>/dev/null
    rm -rf /dev/shm/* "${MQDIR:?}"/* "${FIFODIR:?}"/* "$A"
}
sweep() { "$IPCGC" --config "$CONF" sweep --local -J; }
# rec ID FIELD: FIELD of ID's record in the sweep output $out
rec() { jq -r --arg id "$1" "[.records[] | select(.id == \$id)][0].$2" <<<"$out"; }
# manifest ENTRY FIELD
manifest() { entry_manifest "$A/$1" | jq -r ".$2"; }
# contents ENTRY: the entry's contents, into a file of the test's (to cmp)
contents() { entry_contents "$A/$1" >"$T/contents.$1" && echo "$T/contents.$1"; }
# disk DIR: what the entries in the archive DIR take (st_blocks)
disk() { find "$1" -mindepth 1 -maxdepth 1 -type f -printf '%b\n' | awk '{ s += $1 * 512 } END { print s + 0 }'; }
shm_exists() { awk -v k="$(($1))" '$1 == k { f = 1 } END { exit !f }' /proc/sysvipc/shm; }
shm_gone() { ! shm_exists "$1"; }
# count DIR...: how many names are in the DIRs
count() { find "$@" -mindepth 1 -maxdepth 1 | wc -l; }
# mq messages file: "PRIO:TEXT" words, in file order
mq_records() { perl -e 'local $/; my $d = <STDIN>; my @m;
    while (length $d >= 12) { my ($p, $l) = unpack("L Q", $d); push @m, "$p:" . substr($d, 12, $l); $d = substr($d, 12 + $l) }
    print "@m"' <"$1"; }
# msg messages file: "TYPE:TEXT" words
msg_records() { perl -e 'local $/; my $d = <STDIN>; my @m;
    while (length $d >= 16) { my ($t, $l) = unpack("q Q", $d); push @m, "$t:" . substr($d, 16, $l); $d = substr($d, 16 + $l) }
    print "@m"' <"$1"; }
drain() { "$FILL" mqdrain "$1" | tr ' ' : | paste -sd' '; }
perl -e 'print join "", map { chr($_ % 251) } 0 .. 65535' >"$T/pattern"

# --- 1. archived on removal, every kind ----------------------------------
config
shm_id=$("$FILL" shm 0x5301 65536 0640)
msg_id=$("$FILL" msg 0x5302 0640 one two three)
sem_id=$("$FILL" sem 0x5303 0640 3 0 5)
"$FILL" mq /q1 0640 1:alpha 2:beta >/dev/null
"$FILL" pshm /p1 16384 0640 >/dev/null
"$FILL" psem /s1 4 0640 >/dev/null
mkfifo -m 0640 "$FIFODIR/f1"
cp /dev/shm/sem.s1 "$T/psem.before"
out=$(sweep)
is "$?" 0 "every kind: sweep --local succeeds"
is "$(jq .removed <<<"$out")" 7 "every kind: 7 removed"
declare -A ids=([shm]="shm:$shm_id" [msg]="msg:$msg_id" [sem]="sem:$sem_id" [mq]=mq:/q1 [pshm]=pshm:/p1
    [psem]=psem:/s1 [fifo]="fifo:$FIFODIR/f1")
declare -A entry
for t in shm msg sem mq pshm psem fifo; do
    id=${ids[$t]}
    entry[$t]=$(rec "$id" archive)
    is "$(rec "$id" action)" removed "$t: removed"
    if [ "${entry[$t]}" = null ] || [ -z "${entry[$t]}" ]; then
        not_ok "$t: its record names an archive entry" "record: $(jq -c --arg id "$id" '.records[] | select(.id == $id)' <<<"$out")"
        continue
    fi
    ok "$t: its record names an archive entry (${entry[$t]})"
    e=$A/${entry[$t]}
    is "$(stat -c '%F %a %u %h' "$e" 2>&1)" "regular file 600 0 1" "$t: the entry is one file, 0600, root's"
    is "$(find "$e" -mindepth 1 ! \( -type f -perm 0600 -uid 0 \) | wc -l)" 0 "$t: every file in it is a regular file, 0600, root's"
    is "$(manifest "${entry[$t]}" type)" "$t" "$t: the manifest says type $t"
done
is "$(manifest "${entry[shm]}" key) $(manifest "${entry[msg]}" key) $(manifest "${entry[sem]}" key)" \
    "$((0x5301)) $((0x5302)) $((0x5303))" "SysV: the manifests' keys"
is "$(manifest "${entry[mq]}" name) $(manifest "${entry[pshm]}" name) $(manifest "${entry[psem]}" name)" \
    "/q1 /p1 /s1" "POSIX: the manifests' names"
is "$(manifest "${entry[fifo]}" name) $(manifest "${entry[fifo]}" mode)" "$FIFODIR/f1 640" "fifo: the manifest's path and mode 0640"
is "$(stat -c %s "$A/${entry[fifo]}")" "$(entry_manifest "$A/${entry[fifo]}" | wc -c)" "fifo: the entry holds a manifest only"
check "shm: the contents are the segment's 64 KiB, byte for byte" cmp "$T/pattern" "$(contents "${entry[shm]}")"
is "$(entry_contents "$A/${entry[sem]}" | tr '\n' ' ' 2>&1)" "3 0 5 " "sem: values 3, 0, 5, one a line"
is "$(stat -c %s "$(contents "${entry[msg]}")" 2>&1)" $((3 * 16 + 3 + 3 + 5)) "msg: the contents are the 3 messages and their 16-byte headers"
is "$(msg_records "$(contents "${entry[msg]}")")" "1:one 2:two 3:three" "msg: the messages, their types, in order"
check "mq: contents not empty" test -s "$(contents "${entry[mq]}")"
is "$(mq_records "$(contents "${entry[mq]}")")" "2:beta 1:alpha" "mq: the messages with their priorities, in queue order"
check "pshm: the contents are the file's 16 KiB, byte for byte" cmp "$(contents "${entry[pshm]}")" <(head -c 16384 "$T/pattern")
check "psem: the contents are the semaphore's file" cmp "$T/psem.before" "$(contents "${entry[psem]}")"
is "$(ipcs -m | grep -c 0x00005301)$(ipcs -q | grep -c 0x00005302)$(ipcs -s | grep -c 0x00005303)" 000 "SysV objects gone"
is "$(count /dev/shm "$MQDIR" "$FIFODIR")" 0 "POSIX objects and FIFO gone"
is "$(find "$A" -name '.new-*' | wc -l)" 0 "nothing named .new-* left in the archive"
is "$(stat -c '%a %u' "$A")" "700 0" "the archive directory was made 0700, root's"

# --- 6. an object of another user --------------------------------------
hold_as 4600:4600 -x shm 0x5311 8192 0600
id=shm:$HOLD_ID
setpriv --reuid=4600 --regid=4600 --clear-groups "$FILL" pshm /u4600 4096 0600 >/dev/null
out=$(sweep)
e=$(rec "$id" archive)
is "$(rec "$id" action) $(rec "$id" uid)" "removed 4600" "uid 4600's shm: removed, record's uid 4600"
is "$(rec pshm:/u4600 action) $(rec pshm:/u4600 uid)" "removed 4600" "uid 4600's pshm: removed, record's uid 4600"
if [ "$e" != null ]; then
    is "$(manifest "$e" uid) $(manifest "$e" cuid) $(stat -c %u "$A/$e")" "4600 4600 0" \
        "uid 4600's shm: manifest uid and cuid 4600, the entry root's"
else
    not_ok "uid 4600's shm: archived" "$out"
fi
e=$(rec pshm:/u4600 archive)
is "$( [ "$e" != null ] && manifest "$e" uid)" 4600 "uid 4600's pshm: manifest uid 4600"

# --- 2a. an archive on a full file system: nothing removed --------------
clean
mkdir "$T/full"
mount -t tmpfs -o size=64k,mode=0755 tmpfs "$T/full"
mkdir -m 0700 "$T/full/archive"
dd if=/dev/zero of="$T/full/filler" bs=4k 2>/dev/null
is "$(df --output=avail -B1 "$T/full" | tail -1 | tr -d ' ')" 0 "full: the archive's file system is full"
config "ArchiveDir=$T/full/archive"
shm_id=$("$FILL" shm 0x5321 1048576 0600)
msg_id=$("$FILL" msg 0x5322 0600 first second)
"$FILL" mq /full 0600 3:x1 3:x2 1:a1 1:a2 2:b >/dev/null
before_mq=$(cat "$MQDIR/full")
mkfifo -m 0600 "$FIFODIR/full"
out=$(sweep)
is "$?" 0 "full: sweep --local succeeds"
is "$(jq .removed <<<"$out")" 0 "full: nothing removed"
for id in "shm:$shm_id" "msg:$msg_id" mq:/full "fifo:$FIFODIR/full"; do
    r=$(rec "$id" reason)
    is "$(rec "$id" action) $(rec "$id" archive)" "skipped null" "full: $id skipped, no archive"
    case $r in *"could not archive ("*"No space left on device"*) ok "full: $id: $r" ;;
        *) not_ok "full: $id: the reason says it could not archive, no space" "reason: $r" ;; esac
done
check "full: the shm is still there" shm_exists 0x5321
check "full: its bytes are the same" cmp <(head -c 65536 "$T/pattern") <(perl -MIPC::SysV -e \
    'my $id = shmget($ARGV[0], 0, 0) // die; shmread($id, my $d, 0, 65536) or die; print $d' $((0x5321)))
check "full: the msg queue is still there" test "$(ipcs -q | grep -c 0x00005322)" = 1
check "full: the FIFO is still there" test -p "$FIFODIR/full"
is "$(cat "$MQDIR/full" 2>&1)" "$before_mq" "full: the mq is still there, its QSIZE the same"
is "$(drain /full)" "3:x1 3:x2 2:b 1:a1 1:a2" "full: the mq's messages are back in their order"
is "$(ls -A "$T/full/archive")" "" "full: nothing left in the archive"
umount "$T/full"

# --- 2b. larger than ArchiveMaxBytes: not removed ------------------------
clean
config ArchiveMaxBytes=64K
shm_id=$("$FILL" shm 0x5331 1048576 0600)
out=$(sweep)
r=$(rec "shm:$shm_id" reason)
is "$(rec "shm:$shm_id" action)" skipped "ArchiveMaxBytes=64K: the 1 MiB shm is skipped"
case $r in *"could not archive ("*ArchiveMaxBytes*) ok "ArchiveMaxBytes=64K: $r" ;;
    *) not_ok "ArchiveMaxBytes=64K: the reason names ArchiveMaxBytes" "reason: $r" ;; esac
check "ArchiveMaxBytes=64K: the shm is still there" shm_exists 0x5331

# --- 2c. the same, but the rule says Archive=no: removed, not archived ---
config ArchiveMaxBytes=64K -- $'[Rule nosave]\nTypes=shm\nArchive=no\nMinAge=0\nAction=collect'
n_before=$(find "$A" -mindepth 1 -maxdepth 1 | wc -l)
out=$(sweep)
is "$(rec "shm:$shm_id" action) $(rec "shm:$shm_id" rule) $(rec "shm:$shm_id" archive)" "removed nosave null" \
    "Archive=no: the 1 MiB shm is removed by rule nosave, its record's archive null"
check "Archive=no: the shm is gone" shm_gone 0x5331
is "$(find "$A" -mindepth 1 -maxdepth 1 | wc -l)" "$n_before" "Archive=no: no entry made"

# --- 2d. an mq whose messages cannot be archived keeps them --------------
clean
config ArchiveMaxBytes=8K
"$FILL" mq /big 0600 1:m1 1:m2 5:m3 1:m4 >/dev/null
before_mq=$(cat "$MQDIR/big")
out=$(sweep)
r=$(rec mq:/big reason)
is "$(rec mq:/big action)" skipped "ArchiveMaxBytes=8K: the mq is skipped"
case $r in *"could not archive ("*ArchiveMaxBytes*) ok "ArchiveMaxBytes=8K: $r" ;;
    *) not_ok "ArchiveMaxBytes=8K: the reason names ArchiveMaxBytes" "reason: $r" ;; esac
is "$(cat "$MQDIR/big" 2>&1)" "$before_mq" "ArchiveMaxBytes=8K: the mq is there, its QSIZE the same"
is "$(drain /big)" "5:m3 1:m1 1:m2 1:m4" "ArchiveMaxBytes=8K: its messages are there, in order"

# --- 3. eviction: oldest first, under ArchiveMaxBytes= -------------------
# 20 rounds of 40 FIFOs (a 4 KiB entry each) and 10 pshm of 16 KiB (20 KiB
# each): 360 KiB a round, under 1 MiB however the entries are estimated
# (at most 8 KiB and 24 KiB), so a round always fits beside the one before.
# Rounds come faster than the 1 s the entries' names and removal times
# carry: the order checked is that of the rounds.
clean
cap=$((1024 * 1024))
config ArchiveMaxBytes=1M ArchiveKeep=0 MaxRemovalsPerSweep=100
head -c 16384 "$T/pattern" >"$T/pattern16k"
declare -A round_of=() # every entry made: its round
over="" order="" prev_gone="" removed_total=0 short="" prev=()
for round in $(seq 20); do
    fifos=() pshms=()
    for i in $(seq 40); do fifos+=("$FIFODIR/r$round-$i"); done
    for i in $(seq 10); do pshms+=("/dev/shm/r$round-$i"); done
    mkfifo -m 0600 "${fifos[@]}"
    tee "${pshms[@]}" <"$T/pattern16k" >/dev/null
    out=$(sweep)
    n=$(jq .removed <<<"$out")
    removed_total=$((removed_total + n))
    [ "$n" = 50 ] || short+=" round $round: $n removed ($(jq -c '[.records[] | select(.action != "removed") | .reason] | unique' <<<"$out"))"
    mapfile -t new < <(jq -r '.records[] | select(.action == "removed") | .archive' <<<"$out")
    for e in "${new[@]}"; do round_of[$e]=$round; done
    d=$(disk "$A")
    [ "$d" -le "$cap" ] || over+=" round $round: $d"
    # The round before fits beside this one: none of it evicted.
    gone=0
    for e in "${prev[@]}"; do [ -f "$A/$e" ] || gone=$((gone + 1)); done
    [ "$gone" = 0 ] || prev_gone+=" round $round evicted $gone of round $((round - 1));"
    prev=("${new[@]}")
    # Oldest first: no entry evicted while one of an older round is kept.
    newest_gone=0 oldest_kept=$round
    for e in "${!round_of[@]}"; do
        r=${round_of[$e]}
        if [ -f "$A/$e" ]; then [ "$r" -lt "$oldest_kept" ] && oldest_kept=$r
        elif [ "$r" -gt "$newest_gone" ]; then newest_gone=$r; fi
    done
    [ "$newest_gone" -le "$oldest_kept" ] ||
        order+=" after round $round: an entry of round $newest_gone evicted, one of round $oldest_kept kept;"
done
is "$removed_total" 1000 "eviction: 1000 orphans removed in 20 sweeps${short:+ (}${short:+$short)}"
is "$(count /dev/shm "$FIFODIR")" 0 "eviction: none of them left"
is "$over" "" "eviction: after every sweep the entries take at most ArchiveMaxBytes=1M (st_blocks)"
is "$order" "" "eviction: the oldest went first (by round)"
is "$prev_gone" "" "eviction: the round before, which fits beside the new one, stayed whole"
n_left=$(count "$A")
echo "# the entries were made over $(printf '%s\n' "${!round_of[@]}" | cut -c1-16 | sort -u | wc -l) distinct seconds"
check "eviction: entries were evicted ($n_left of ${#round_of[@]} left, $(disk "$A") bytes)" test "$n_left" -lt "${#round_of[@]}"
is "$(find "$A" -name '.new-*' | wc -l)" 0 "eviction: nothing named .new-* left"

# --- 3b. ArchiveKeep=1h: young entries are never evicted -----------------
# One 16 KiB pshm a sweep until the cap is full of young entries.
clean
cap=$((256 * 1024))
config ArchiveMaxBytes=256K ArchiveKeep=1h
skipped_at="" r=""
for i in $(seq 30); do
    tee "/dev/shm/keep-$i" <"$T/pattern16k" >/dev/null
    out=$(sweep)
    if [ "$(rec "pshm:/keep-$i" action)" != removed ]; then skipped_at=$i; r=$(rec "pshm:/keep-$i" reason); break; fi
done
check "ArchiveKeep=1h: once the cap is full an orphan is skipped (at $skipped_at, $(disk "$A") bytes)" test -n "$skipped_at"
case $r in *"could not archive ("*"younger than ArchiveKeep="*) ok "ArchiveKeep=1h: $r" ;;
    *) not_ok "ArchiveKeep=1h: the reason names ArchiveKeep" "reason: $r" ;; esac
check "ArchiveKeep=1h: the skipped pshm is still there" test -f "/dev/shm/keep-$skipped_at"
is "$(count "$A")" $((skipped_at - 1)) "ArchiveKeep=1h: no entry evicted"
d=$(disk "$A")
check "ArchiveKeep=1h: the entries take at most 256K ($d), and the cap was nearly full" \
    test "$d" -le "$cap" -a $((d + 2 * 24576)) -gt "$cap"
tee /dev/shm/keep-more <"$T/pattern16k" >/dev/null
out=$(sweep)
is "$(rec pshm:/keep-more action) $(rec "pshm:/keep-$skipped_at" action)" "skipped skipped" \
    "ArchiveKeep=1h: further pshm orphans are skipped too"
check "ArchiveKeep=1h: and stay" test -f /dev/shm/keep-more -a -f "/dev/shm/keep-$skipped_at"

# --- 3c. one sweep of more than the cap: its own entries are not evicted --
clean
config ArchiveMaxBytes=256K ArchiveKeep=1h MaxRemovalsPerSweep=100
for i in $(seq 20); do tee "/dev/shm/batch-$i" <"$T/pattern16k" >/dev/null; done
out=$(sweep)
d=$(disk "$A")
n=$(jq .removed <<<"$out")
check "one sweep of 20 x 20 KiB entries: the entries take at most 256K ($d bytes, $n removed)" test "$d" -le "$cap"
is "$(jq '[.records[] | select(.action == "skipped" and (.reason | test("younger than ArchiveKeep")))] | length' \
    <<<"$out")" $((20 - n)) "one sweep of more than the cap: the rest skipped for ArchiveKeep="
is "$(find /dev/shm -name 'batch-*' | wc -l)" $((20 - n)) "one sweep of more than the cap: the skipped ones stay"

# --- 4. an ArchiveDir= that is a symlink, another user's, or open to others
clean
mkdir -m 0700 "$T/real" "$T/other" "$T/open"
chmod 0755 "$T/open"
chown 4600:4600 "$T/other"
ln -s "$T/real" "$T/link"
for c in "link:symbolic links" "other:Operation not permitted" "open:Operation not permitted"; do
    dir=${c%%:*} want=${c#*:}
    config "ArchiveDir=$T/$dir"
    shm_id=$("$FILL" shm 0x5341 4096 0600)
    mkfifo "$FIFODIR/$dir"
    out=$(sweep)
    is "$(jq .removed <<<"$out")" 0 "ArchiveDir=$dir: nothing removed"
    r=$(rec "shm:$shm_id" reason)
    case $r in *"could not archive ($T/$dir: "*"$want"*) ok "ArchiveDir=$dir: $r" ;;
        *) not_ok "ArchiveDir=$dir: could not archive, $want" "reason: $r" ;; esac
    is "$(rec "fifo:$FIFODIR/$dir" action)" skipped "ArchiveDir=$dir: the FIFO skipped"
    check "ArchiveDir=$dir: both still there" test -p "$FIFODIR/$dir" -a "$(ipcs -m | grep -c 0x00005341)" = 1
    ipcrm -M 0x5341
done
is "$(count "$T/real" "$T/other" "$T/open")" 0 "nothing written into any of them"
is "$(stat -c '%a %u' "$T/open" "$T/other" | paste -sd' ')" "755 0 700 4600" "their modes and owners left alone"

# --- 5. the daemon ------------------------------------------------------
clean
config DryRun=no "Socket=$T/io.ipcgc" Interval=1h
start_daemon
shm_id=$("$FILL" shm 0x5351 4096 0600)
out=$("$IPCGC" --config "$CONF" sweep -J)
is "$?" 0 "daemon: sweep through ipcgcd succeeds"
e=$(rec "shm:$shm_id" archive)
is "$(rec "shm:$shm_id" action)" removed "daemon: the orphan removed"
if [ "$e" != null ] && [ -n "$e" ]; then
    ok "daemon: its record names the entry ($e)"
    check "daemon: the entry is there, with the segment's bytes" test -f "$A/$e" -a "$(entry_contents "$A/$e" | wc -c)" = 4096
    hist=$("$IPCGC" --config "$CONF" history -J)
    is "$(jq -r --arg id "shm:$shm_id" '.entries[] | select(.id == $id) | "\(.action) \(.archive)"' <<<"$hist")" \
        "removed $e" "daemon: history -J has the removal, with the entry"
    check "daemon: its log says 'archived as $e'" grep -q "shm:$shm_id removed: .*; archived as $e" "$T/ipcgcd.log"
else
    not_ok "daemon: its record names the entry" "$out"
fi
stop_daemon
is "$?" 0 "daemon: SIGTERM ends it cleanly"
DAEMON_PID=

done_testing
