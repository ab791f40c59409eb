#!/bin/bash
# `ipcgc archive` and `ipcgc restore` (issue 11), with --local and through
# the daemon, in private namespaces: an object of each of the seven types is
# archived and removed by tests/helpers/archive-make (as a removal with the
# archive does), listed, and made again with its key or name, owner, mode
# and contents.  The objects are made and read back with perl's IPC::SysV,
# archive-posix-try and the shell, never by the code under test.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

perl -MIPC::SysV -e 1 2>/dev/null || { echo "1..0 # SKIP perl IPC::SysV missing"; exit 0; }
MAKE="$top_builddir/tests/helpers/archive-make"
PTRY="$top_builddir/tests/helpers/archive-posix-try"
USER4600=(setpriv --reuid=4600 --regid=4600 --clear-groups)
A=$T/archive
sed -i "/^\[Daemon\]/a ArchiveDir=$A\nSocket=$T/io.ipcgc" "$CONF"
LOCAL=("$IPCGC" --config "$CONF" --local)
DAEMON=("$IPCGC" --config "$CONF")

# sysvipc TYPE KEY FIELDS: fields (awk's $N, comma-separated) of the object's
# line in /proc/sysvipc/TYPE, by key (decimal).
sysvipc() { awk -v k="$2" '$1 == k { print '"$3"' }' "/proc/sysvipc/$1"; }
# run CMD...: its stdout in $out, its stderr in $err, its status in $rc.
run() { out=$("$@" 2>"$T/stderr"); rc=$?; err=$(cat "$T/stderr"); }

# --- One object of each type, archived and removed ----------------------
perl -e 'print join "", map { chr($_ % 251) } 0 .. 8191' >"$T/pattern"
shm_key=$((0x5401)) msg_key=$((0x5403)) sem_key=$((0x5404))
shm_id=$("${USER4600[@]}" perl -MIPC::SysV=IPC_CREAT,IPC_EXCL -e '
        my $id = shmget($ARGV[0], 8192, IPC_CREAT | IPC_EXCL | 0640) // die "shmget: $!";
        open my $f, "<", $ARGV[1] or die; local $/; my $d = <$f>;
        shmwrite($id, $d, 0, length $d) or die "shmwrite: $!"; print $id' $shm_key "$T/pattern")
msg_id=$("${USER4600[@]}" perl -MIPC::SysV=IPC_CREAT,IPC_EXCL,IPC_NOWAIT -e '
        my $id = msgget($ARGV[0], IPC_CREAT | IPC_EXCL | 0620) // die "msgget: $!";
        for ([1, "first"], [2, "a\0b"], [7, "seventh"]) { msgsnd($id, pack("l! a*", @$_), IPC_NOWAIT) or die }
        print $id' $msg_key)
sem_id=$(perl -MIPC::SysV=IPC_CREAT,IPC_EXCL,SETALL -e '
        my $id = semget($ARGV[0], 3, IPC_CREAT | IPC_EXCL | 0600) // die "semget: $!";
        semctl($id, 0, SETALL, pack("s!*", 3, 0, 5)) or die "SETALL: $!"; print $id' $sem_key)
"${USER4600[@]}" "$PTRY" mqmake /rq 8 64 0640 1:one 5:five 1:uno
cp "$T/pattern" /dev/shm/rshm && chmod 0640 /dev/shm/rshm && chown 4600:4600 /dev/shm/rshm
"$PTRY" semmake /rsem 4 0640
mkfifo -m 0640 "$FIFODIR/rfifo" && chown 4600:4600 "$FIFODIR/rfifo"

ids=("shm:$shm_id" "msg:$msg_id" "sem:$sem_id" mq:/rq pshm:/rshm psem:/rsem "fifo:$FIFODIR/rfifo")
declare -A entry
when=1700000000
for id in "${ids[@]}"; do
    when=$((when + 60))
    run "$MAKE" "$CONF" "$id" "$when"
    entry[$id]=$out
    [ "$rc" = 0 ] || echo "# archive-make $id: $out $err"
done
is "$(sysvipc shm $shm_key '$2')$(sysvipc msg $msg_key '$2')$(sysvipc sem $sem_key '$2')" "" \
    "archive-make removed the SysV objects"
is "$(ls "$MQDIR" /dev/shm "$FIFODIR" | grep -c '^r\|^sem.r')" 0 "archive-make removed the named objects"

# --- ipcgc archive ----------------------------------------------------------
run "${LOCAL[@]}" archive -J
is "$rc" 0 "archive --local -J succeeds"
newest_first=$(printf '%s\n' "${ids[@]}" | tac | paste -sd' ')
is "$(jq -r '[.entries[].id] | join(" ")' <<<"$out")" "$newest_first" "archive -J lists every entry, newest first"
is "$(jq -r '[.entries[].entry] | join(" ")' <<<"$out")" \
    "$(for id in "${ids[@]}"; do echo "${entry[$id]}"; done | tac | paste -sd' ')" "archive -J names the entries"
is "$(jq -c --arg e "${entry[shm:$shm_id]}" '.entries[] | select(.entry == $e) |
        [.type, .key, .name, .uid, .size, .bytes, .removed_at, .verdict, .rule, .by_uid, .disk_bytes >= 8192]' \
        <<<"$out")" "[\"shm\",$shm_key,null,4600,8192,8192,$((1700000000 + 60)),\"ORPHAN\",\"test\",0,true]" \
    "archive -J: the shm entry's facts"
is "$(jq -c '[.entries[] | select(.type == "fifo") | .name, .key]' <<<"$out")" "[\"$FIFODIR/rfifo\",null]" \
    "archive -J: the FIFO's path, no key"
is "$(jq '.bad' <<<"$out")" 0 "archive -J: no bad entries"

run "${LOCAL[@]}" archive
is "$(head -n 1 <<<"$out" | tr -s ' ')" "WHEN ENTRY ID KEY/NAME OWNER SIZE RULE REASON" "archive: the table's columns"
line=$(grep -F "${entry[shm:$shm_id]}" <<<"$out" | tr -s ' ')
is "$(cut -d' ' -f4-9 <<<"$line")" "shm:$shm_id 0x00005401 4600 8K test archived" "archive: the shm entry's line"
is "$(sed -n 2p <<<"$out" | awk '{print $4}')" "fifo:$FIFODIR/rfifo" "archive: newest first"

# No archive yet: an empty listing, and nothing made.
sed "s|^ArchiveDir=.*|ArchiveDir=$T/none|" "$CONF" >"$T/none.conf"
run "$IPCGC" --config "$T/none.conf" --local archive -J
is "$rc,$(jq -c '[.entries, .bad]' <<<"$out"),$([ -e "$T/none" ] && echo made)" "0,[[],0]," \
    "archive: no archive directory is an empty list, and none is made"

# --- ipcgc restore --local, each type --------------------------------------
run "${LOCAL[@]}" restore "${entry[shm:$shm_id]}"
is "$rc,$out" "0,restored shm:$shm_id as shm:$shm_id (key 0x00005401) from ${entry[shm:$shm_id]}" \
    "restore shm: same id, said in one sentence"
is "$(sysvipc shm $shm_key '$2, $3, $4, $8')" "$shm_id 640 8192 4600" "restore shm: id, mode, size, owner"
perl -MIPC::SysV -e 'my $id = shmget($ARGV[0], 0, 0) // die; shmread($id, my $d, 0, 8192) or die; print $d' \
    $shm_key >"$T/shm.back"
check "restore shm: the same bytes" cmp -s "$T/pattern" "$T/shm.back"

run "${LOCAL[@]}" restore -J "${entry[msg:$msg_id]}"
is "$rc,$(jq -c '[.id, .old_id, .same_id, .type, .key, .entry]' <<<"$out")" \
    "0,[\"msg:$msg_id\",\"msg:$msg_id\",true,\"msg\",$msg_key,\"${entry[msg:$msg_id]}\"]" "restore msg -J: the reply"
is "$(sysvipc msg $msg_key '$2, $3, $5, $8')" "$msg_id 620 3 4600" "restore msg: id, mode, count, owner"
is "$(perl -MIPC::SysV=IPC_NOWAIT -e 'my $id = msgget($ARGV[0], 0) // die; my @m;
        while (msgrcv($id, my $b, 8192, 0, IPC_NOWAIT)) { my ($t, $d) = unpack("l! a*", $b); push @m, "$t:" . unpack("H*", $d) }
        print "@m"' $msg_key)" "1:6669727374 2:610062 7:736576656e7468" "restore msg: the messages in order, with their types"

run "${LOCAL[@]}" restore "${entry[sem:$sem_id]}"
is "$rc,$(sysvipc sem $sem_key '$2, $3, $4')" "0,$sem_id 600 3" "restore sem: id, mode, nsems"
is "$(perl -MIPC::SysV=GETALL -e 'my $id = semget($ARGV[0], 0, 0) // die; my $b = "";
        semctl($id, 0, GETALL, $b) or die; print join(",", unpack("s!*", $b))' $sem_key)" "3,0,5" "restore sem: the values"

run "${LOCAL[@]}" restore "${entry[mq:/rq]}"
is "$rc,$out" "0,restored mq:/rq as mq:/rq from ${entry[mq:/rq]}" "restore mq: said in one sentence"
is "$(stat -c '%a %u' "$MQDIR/rq")" "640 4600" "restore mq: mode and owner"
is "$("$PTRY" mqread /rq | paste -sd'|')" "5:five 1:one 1:uno|attr 8 64" "restore mq: messages with priorities, attributes"

run "${LOCAL[@]}" restore "${entry[pshm:/rshm]}"
is "$rc,$(stat -c '%a %u %g' /dev/shm/rshm)" "0,640 4600 4600" "restore pshm: mode and owner"
check "restore pshm: the same bytes" cmp -s "$T/pattern" /dev/shm/rshm

run "${LOCAL[@]}" restore "${entry[psem:/rsem]}"
is "$rc,$("$PTRY" semvalue /rsem)" "0,4" "restore psem: its value"

run "${LOCAL[@]}" restore "${entry[fifo:$FIFODIR/rfifo]}"
is "$rc,$(stat -c '%a %u %g %F' "$FIFODIR/rfifo")" "0,640 4600 4600 fifo" "restore fifo: mode 0640, owner, a FIFO"

# --- Refusals ---------------------------------------------------------------
run "${LOCAL[@]}" restore "${entry[shm:$shm_id]}"
is "$rc" 1 "restore again: fails"
is "$err" "ipcgc: archive entry ${entry[shm:$shm_id]} is not restored: key 0x00005401 is taken now by shm:$shm_id (uid 4600)" \
    "restore again: ObjectExists names the segment holding the key"
ino=$(stat -c %i /dev/shm/rshm)
run "${LOCAL[@]}" restore "${entry[pshm:/rshm]}"
is "$rc,$err" "1,ipcgc: archive entry ${entry[pshm:/rshm]} is not restored: /dev/shm/rshm is taken now (uid 4600, inode $ino)" \
    "restore pshm again: ObjectExists names the file holding the name"
# Another queue under the name now: it is named, and left alone.
rm "$MQDIR/rq" && "$PTRY" mqmake /rq 2 16 0600 3:other
ino=$(stat -c %i "$MQDIR/rq")
run "${LOCAL[@]}" restore "${entry[mq:/rq]}"
is "$rc,$err" "1,ipcgc: archive entry ${entry[mq:/rq]} is not restored: $MQDIR/rq is taken now (uid 0, inode $ino)" \
    "restore mq over another queue: ObjectExists, uid 0"
is "$("$PTRY" mqread /rq | paste -sd'|')" "3:other|attr 2 16" "restore mq over another queue: that queue is untouched"

# The old id taken by another segment: a new id, and why.
ipcrm -m "$shm_id"
other=$(echo "$shm_id" >/proc/sys/kernel/shm_next_id && perl -MIPC::SysV=IPC_CREAT -e \
    'print shmget(0x5499, 4096, IPC_CREAT | 0600) // die "shmget: $!"')
is "$other" "$shm_id" "another segment has the old id now"
run "${LOCAL[@]}" restore "${entry[shm:$shm_id]}"
new_id=$(sysvipc shm $shm_key '$2')
is "$rc,$out" "0,restored shm:$shm_id as shm:$new_id (key 0x00005401) from ${entry[shm:$shm_id]}: id $shm_id could not be had again (another object (key 0x00005499) has it now)" \
    "restore with the old id taken: a new id, and it says why"
[ -n "$new_id" ] && [ "$new_id" != "$shm_id" ] && ok "restore with the old id taken: the id is new ($new_id)" ||
    not_ok "restore with the old id taken: the id is new" "got '$new_id'"
ipcrm -m "$other"

# A symlink planted as a pack is not followed, even to a real pack: the
# entry's pack moved out of the archive, a symlink to it in its place.
ipcrm -m "$new_id"
pack=$(entry_pack "$A/${entry[shm:$shm_id]}")
mv "$A/$pack" "$T/moved.pack" && ln -s "$T/moved.pack" "$A/$pack"
run "${LOCAL[@]}" restore "${entry[shm:$shm_id]}"
is "$rc,$err" "1,ipcgc: there is no archive entry ${entry[shm:$shm_id]}; 'ipcgc archive' lists them" "restore from a pack that is a symlink: NoSuchEntry"
is "$(sysvipc shm $shm_key '$2')" "" "restore from a pack that is a symlink: nothing made"
rm "$A/$pack" && mv "$T/moved.pack" "$A/$pack"
run "${LOCAL[@]}" restore nosuch
is "$rc,$err" "1,ipcgc: there is no archive entry nosuch; 'ipcgc archive' lists them" "restore of no such entry: NoSuchEntry"
for bad in "../archive/${entry[shm:$shm_id]}" ".hidden" ""; do
    run "${LOCAL[@]}" restore "$bad"
    is "$rc,$err" "1,ipcgc: the entry given is not valid (ipcgcd refused it)" "restore '$bad': InvalidParameter"
done
is "$(sysvipc shm $shm_key '$2')" "" "restore of a path: nothing made"
# A manifest this version did not write.
entry_manifest "$A/${entry[shm:$shm_id]}" | sed 's/"ipcgc-archive 3"/"ipcgc-archive 9"/' >"$T/manifest.9"
entry_copy "$A/${entry[shm:$shm_id]}" broken "$T/manifest.9" -
run "${LOCAL[@]}" restore broken
is "$rc,$err" "1,ipcgc: archive entry broken cannot be restored: its manifest is not one this version wrote" \
    "restore of a bad manifest: BadEntry"
is "$("${LOCAL[@]}" archive -J | jq '[.bad, (.entries | length)] | join(" ")' -r)" "1 7" \
    "archive: the bad entry is counted, not listed"
rm -f "$A/broken.pack"
# An entry whose contents are shorter than its manifest says.
entry_contents "$A/${entry[shm:$shm_id]}" | head -c 100 >"$T/contents.100"
entry_copy "$A/${entry[shm:$shm_id]}" short - "$T/contents.100"
run "${LOCAL[@]}" restore short
is "$rc,$err" "1,ipcgc: archive entry short cannot be restored: its contents do not agree with its manifest" \
    "restore of an entry with its contents cut: BadEntry"
is "$(sysvipc shm $shm_key '$2')" "" "restore of an entry with its contents cut: nothing left made"
rm -f "$A/short.pack"
# A directory where a pack should be (as entries of "ipcgc-archive 1"
# were): no entry of it is found, and the listing counts it bad.
mkdir -m 0700 "$A/olddir"
run "${LOCAL[@]}" restore olddir
is "$rc,$err" "1,ipcgc: there is no archive entry olddir; 'ipcgc archive' lists them" "restore of a directory in the archive: NoSuchEntry"
is "$("${LOCAL[@]}" archive -J | jq '[.bad, (.entries | length)] | join(" ")' -r)" "1 7" \
    "archive: the directory is counted bad, not listed"
rmdir "$A/olddir"
# A FIFO whose directory is not under FifoDirs= any more.
sed "s|^FifoDirs=.*|FifoDirs=$T/elsewhere|" "$CONF" >"$T/elsewhere.conf"
mkdir -p "$T/elsewhere" && rm "$FIFODIR/rfifo"
run "$IPCGC" --config "$T/elsewhere.conf" --local restore "${entry[fifo:$FIFODIR/rfifo]}"
is "$rc,$([ -e "$FIFODIR/rfifo" ] && echo made)" "1," "restore fifo outside FifoDirs=: refused, nothing made"
case $err in *"not under FifoDirs="*) ok "restore fifo outside FifoDirs=: says so" ;;
*) not_ok "restore fifo outside FifoDirs=: says so" "got: $err" ;; esac

# Bad arguments: a sentence, a hint, exit 2.
for args in "" "a b"; do
    # shellcheck disable=SC2086
    run "${LOCAL[@]}" restore $args
    is "$rc,$(sed -n 2p <<<"$err")" "2,Try 'ipcgc --help' for more information." "restore with '$args': usage, exit 2"
done
run "${LOCAL[@]}" archive extra
is "$rc" 2 "archive with an argument: usage, exit 2"

# --- An entry reap() made: removed by `rm`, restored ---------------------------
rm_key=$((0x5410))
rm_id=$(perl -MIPC::SysV=IPC_CREAT,IPC_EXCL -e '
        my $id = shmget($ARGV[0], 4096, IPC_CREAT | IPC_EXCL | 0600) // die "shmget: $!";
        shmwrite($id, "kept by the archive", 0, 19) or die "shmwrite: $!"; print $id' $rm_key)
run "${LOCAL[@]}" rm --force "shm:$rm_id"
is "$rc,$(sysvipc shm $rm_key '$2')" "0," "rm --force removes a segment (archived first)"
rm_entry=$("${LOCAL[@]}" archive -J | jq -r --arg id "shm:$rm_id" '[.entries[] | select(.id == $id)][0].entry')
run "${LOCAL[@]}" restore "$rm_entry"
is "$rc,$out" "0,restored shm:$rm_id as shm:$rm_id (key 0x00005410) from $rm_entry" "restore of the entry rm made"
is "$(perl -MIPC::SysV -e 'my $id = shmget($ARGV[0], 0, 0) // die; shmread($id, my $d, 0, 19) or die; print $d' $rm_key)" \
    "kept by the archive" "restore of the entry rm made: the bytes"
ipcrm -m "$(sysvipc shm $rm_key '$2')"

# --- Through the daemon -------------------------------------------------------
start_daemon
run "${DAEMON[@]}" archive -J
is "$rc,$(jq -r '[.entries[].id] | join(" ")' <<<"$out")" "0,shm:$rm_id $newest_first" "daemon: ListArchive lists every entry"
run "${DAEMON[@]}" restore "${entry[shm:$shm_id]}"
is "$rc,$out" "0,restored shm:$shm_id as shm:$shm_id (key 0x00005401) from ${entry[shm:$shm_id]}" \
    "daemon: Restore makes the segment again, with its id"
# Its creator is the child that made it, which has exited: not the daemon.
cpid=$(sysvipc shm $shm_key '$5')
if [ -n "$cpid" ] && [ "$cpid" != "$DAEMON_PID" ] && ! kill -0 "$cpid" 2>/dev/null; then
    ok "daemon: the restored segment's creator ($cpid) is not the daemon and has exited"
else
    not_ok "daemon: the restored segment's creator is not the daemon and has exited" "cpid '$cpid', daemon $DAEMON_PID"
fi
run "${DAEMON[@]}" restore "${entry[shm:$shm_id]}"
is "$rc,$err" "1,ipcgc: archive entry ${entry[shm:$shm_id]} is not restored: key 0x00005401 is taken now by shm:$shm_id (uid 4600)" \
    "daemon: a second Restore of the entry is ObjectExists"
rm "$FIFODIR/rfifo" 2>/dev/null
run "${DAEMON[@]}" restore "${entry[fifo:$FIFODIR/rfifo]}"
is "$rc,$(stat -c '%a %u %g %F' "$FIFODIR/rfifo")" "0,640 4600 4600 fifo" "daemon: Restore makes the FIFO again"

# Others: their own entries only, and no restore.
run "${USER4600[@]}" "${DAEMON[@]}" archive -J
is "$rc,$(jq -r '[.entries[].id] | join(" ")' <<<"$out")" \
    "0,fifo:$FIFODIR/rfifo pshm:/rshm mq:/rq msg:$msg_id shm:$shm_id" "daemon: uid 4600 sees the entries of its objects only"
ipcrm -m "$shm_id"
run "${USER4600[@]}" "${DAEMON[@]}" restore "${entry[shm:$shm_id]}"
is "$rc,$err" "1,ipcgc: permission denied: restoring an object needs root or the AdminGroup= group" "daemon: uid 4600 may not restore"
is "$(sysvipc shm $shm_key '$2')" "" "daemon: a refused Restore makes nothing"
stop_daemon

done_testing
