#!/bin/bash
# Issue 11's round trip: an object of each kind with known contents, its
# creator dead, is removed by a real sweep under `[Rule default] MinAge=0
# Action=collect`, which archives it first; `ipcgc archive -J` lists an
# entry for each; `ipcgc restore ENTRY` brings each back, and a program
# opening it by key or name finds the same bytes, messages in order with
# their types, values, priorities and mode.  Once with --local, once
# through the daemon.  A restored object is not collected again before its
# rule's MinAge.  In private namespaces; the objects are made and read back
# with perl's IPC::SysV, archive-posix-try and the shell, never by the code
# under test.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

perl -MIPC::SysV -e 1 2>/dev/null || { echo "Bail out! perl IPC::SysV is missing: run tools/deps.sh"; exit 1; }
PTRY="$top_builddir/tests/helpers/archive-posix-try"
USER4600=(setpriv --reuid=4600 --regid=4600 --clear-groups)
sed -i "/^\[Daemon\]/a Socket=$T/io.ipcgc\nMaxRemovalsPerSweep=100" "$CONF"
printf '[Rule default]\nMinAge=0\nAction=collect\n' >"$T/collect.rule"
cat "$T/collect.rule" >>"$CONF"
A=$T/state/archive

sysvipc() { awk -v k="$2" '$1 == k { print '"$3"' }' "/proc/sysvipc/$1"; }
run() { out=$("$@" 2>"$T/stderr"); rc=$?; err=$(cat "$T/stderr"); }

perl -e 'print join "", map { chr(($_ * 7) % 256) } 0 .. 65535' >"$T/pattern64"
head -c 49152 /dev/urandom >"$T/pattern48"
shm_key=$((0x5501)) msg_key=$((0x5502)) sem_key=$((0x5503))

# make: one object of each kind, made by processes that exit (so orphans),
# uid 4600's where it may be, mode 0640.
make_objects() {
    "${USER4600[@]}" perl -MIPC::SysV=IPC_CREAT,IPC_EXCL -e '
        my $id = shmget($ARGV[0], 65536, IPC_CREAT | IPC_EXCL | 0640) // die "shmget: $!";
        open my $f, "<", $ARGV[1] or die; local $/; my $d = <$f>;
        shmwrite($id, $d, 0, length $d) or die "shmwrite: $!"' $shm_key "$T/pattern64"
    "${USER4600[@]}" perl -MIPC::SysV=IPC_CREAT,IPC_EXCL,IPC_NOWAIT -e '
        my $id = msgget($ARGV[0], IPC_CREAT | IPC_EXCL | 0640) // die "msgget: $!";
        for ([1, "first"], [2, "nul\0in\0it"], [7, "seventh"]) { msgsnd($id, pack("l! a*", @$_), IPC_NOWAIT) or die }' \
        $msg_key
    # Used once: set, then one operation, as a program would.
    "${USER4600[@]}" perl -MIPC::SysV=IPC_CREAT,IPC_EXCL,SETALL -e '
        my $id = semget($ARGV[0], 3, IPC_CREAT | IPC_EXCL | 0640) // die "semget: $!";
        semctl($id, 0, SETALL, pack("s!*", 3, 0, 4)) or die "SETALL: $!";
        semop($id, pack("s!3", 2, 1, 0)) or die "semop: $!"' $sem_key
    "${USER4600[@]}" "$PTRY" mqmake /rtq 8 64 0640 1:low 9:high
    "${USER4600[@]}" cp "$T/pattern48" /dev/shm/rtshm && chmod 0640 /dev/shm/rtshm
    "$PTRY" semmake /rtsem 4 0640 && chown 4600:4600 /dev/shm/sem.rtsem
    "${USER4600[@]}" mkfifo -m 0640 "$FIFODIR/rtfifo"
    shm_id=$(sysvipc shm $shm_key '$2') msg_id=$(sysvipc msg $msg_key '$2') sem_id=$(sysvipc sem $sem_key '$2')
    ids=("shm:$shm_id" "msg:$msg_id" "sem:$sem_id" mq:/rtq pshm:/rtshm psem:/rtsem "fifo:$FIFODIR/rtfifo")
}

# verify HOW: each object is back, with its contents, owner and mode.
verify() {
    local how=$1
    is "$(sysvipc shm $shm_key '$3, $4, $8')" "640 65536 4600" "$how: shm back with its mode, size and owner"
    perl -MIPC::SysV -e 'my $id = shmget($ARGV[0], 0, 0) // die; shmread($id, my $d, 0, 65536) or die; print $d' \
        $shm_key >"$T/shm.back"
    check "$how: shm: the same 64 KiB" cmp -s "$T/pattern64" "$T/shm.back"
    is "$(sysvipc msg $msg_key '$3, $5, $8')" "640 3 4600" "$how: msg back with its mode, 3 messages, owner"
    is "$(perl -MIPC::SysV=IPC_NOWAIT,MSG_NOERROR -e 'my $id = msgget($ARGV[0], 0) // die; my @m;
            while (msgrcv($id, my $b, 8192, 0, IPC_NOWAIT)) { my ($t, $d) = unpack("l! a*", $b); push @m, "$t:" . unpack("H*", $d) }
            print "@m"' $msg_key)" "1:6669727374 2:6e756c00696e006974 7:736576656e7468" \
        "$how: msg: the messages in order, with their types, NUL bytes kept"
    is "$(sysvipc sem $sem_key '$3, $4, $5')" "640 3 4600" "$how: sem back with its mode, 3 semaphores, owner"
    is "$(perl -MIPC::SysV=GETALL -e 'my $id = semget($ARGV[0], 0, 0) // die; my $b = "";
            semctl($id, 0, GETALL, $b) or die; print join(",", unpack("s!*", $b))' $sem_key)" "3,0,5" \
        "$how: sem: the values 3, 0, 5"
    is "$(stat -c '%a %u' "$MQDIR/rtq" 2>&1)" "640 4600" "$how: mq back with its mode and owner"
    is "$("$PTRY" mqread /rtq | paste -sd'|')" "9:high 1:low|attr 8 64" "$how: mq: the messages by priority, attributes"
    is "$(stat -c '%a %u' /dev/shm/rtshm 2>&1)" "640 4600" "$how: pshm back with its mode and owner"
    check "$how: pshm: the same 48 KiB" cmp -s "$T/pattern48" /dev/shm/rtshm
    is "$("$PTRY" semvalue /rtsem),$(stat -c '%a %u' /dev/shm/sem.rtsem)" "4,640 4600" "$how: psem: value 4, mode, owner"
    is "$(stat -c '%a %u %F' "$FIFODIR/rtfifo" 2>&1)" "640 4600 fifo" "$how: fifo back with mode 0640 and owner"
}

# clean: what a round left, gone (by hand: the next round makes them again).
clean() {
    ipcrm -M $shm_key -Q $msg_key -S $sem_key 2>/dev/null
    rm -f "$MQDIR/rtq" /dev/shm/rtshm /dev/shm/sem.rtsem "$FIFODIR/rtfifo"
}

# round HOW CMD...: make, sweep, list, restore, verify; CMD is ipcgc with
# its way to the engine.
round() {
    local how=$1
    shift
    make_objects
    run "$@" sweep -J
    is "$rc,$(jq -r '[.records[] | select(.action == "removed")] | length' <<<"$out")" "0,7" \
        "$how: the sweep removes all seven"
    is "$(jq -r '[.records[] | select(.action == "removed" and .archive != null)] | length' <<<"$out")" 7 \
        "$how: each archived first"
    is "$(sysvipc shm $shm_key '$2')$(sysvipc msg $msg_key '$2')$(sysvipc sem $sem_key '$2')$(ls "$MQDIR" /dev/shm "$FIFODIR" | grep -c rt)" \
        0 "$how: all seven are gone"
    declare -gA entry=()
    local id e
    for id in "${ids[@]}"; do
        entry[$id]=$(jq -r --arg id "$id" '.records[] | select(.id == $id) | .archive' <<<"$out")
    done
    run "$@" archive -J
    for id in "${ids[@]}"; do
        e=${entry[$id]}
        is "$(jq -r --arg e "$e" '.entries[] | select(.entry == $e) | "\(.id) \(.uid)"' <<<"$out")" \
            "$id 4600" "$how: archive -J lists $id's entry, uid 4600's"
    done
    for id in "${ids[@]}"; do
        run "$@" restore "${entry[$id]}"
        case $out in "restored $id as "*" from ${entry[$id]}"*) ok "$how: restore $id" ;;
        *) not_ok "$how: restore $id" "rc $rc, out: $out, err: $err" ;; esac
    done
    verify "$how"
}

round --local "$IPCGC" --config "$CONF" --local
# Not collected again before MinAge: restored just now, under a rule that
# wants an hour, a sweep removes none of them.
sed "s/^MinAge=0$/MinAge=1h/" "$CONF" >"$T/minage.conf"
run "$IPCGC" --config "$T/minage.conf" --local sweep -J
is "$(jq -r '[.records[] | select(.action == "removed")] | length' <<<"$out")" 0 \
    "restored objects are not removed again before MinAge=1h"
run "$IPCGC" --config "$T/minage.conf" --local list -J
is "$(jq -r '[.objects[] | select(.id | test("rt|:'"$shm_id"'$|:'"$msg_id"'$|:'"$sem_id"'$")) | .verdict] | unique | join(",")' <<<"$out")" \
    "PENDING" "restored objects are PENDING under MinAge=1h"

# --- Restore never follows a symlink -------------------------------------------
# At the FIFO's path: refused as taken, the symlink's target untouched.
rm "$FIFODIR/rtfifo" && echo target >"$T/target" && ln -s "$T/target" "$FIFODIR/rtfifo"
run "$IPCGC" --config "$CONF" --local restore "${entry[fifo:$FIFODIR/rtfifo]}"
is "$rc,$(stat -c %F "$T/target"),$(cat "$T/target")" "1,regular file,target" \
    "restore over a symlink at the FIFO's path: refused, its target untouched"
case $err in *"$FIFODIR/rtfifo is taken now"*) ok "restore over a symlink at the FIFO's path: names it" ;;
*) not_ok "restore over a symlink at the FIFO's path: names it" "got: $err" ;; esac
rm "$FIFODIR/rtfifo"
# In the FIFO's directory: a FIFO in a subdirectory, archived, whose
# directory is then a symlink to elsewhere.
mkdir "$FIFODIR/sub" "$T/elsewhere" && mkfifo -m 0600 "$FIFODIR/sub/f"
run "$IPCGC" --config "$CONF" --local rm "fifo:$FIFODIR/sub/f"
sub_entry=$("$IPCGC" --config "$CONF" --local archive -J | jq -r --arg id "fifo:$FIFODIR/sub/f" '[.entries[] | select(.id == $id)][0].entry')
rmdir "$FIFODIR/sub" && ln -s "$T/elsewhere" "$FIFODIR/sub"
run "$IPCGC" --config "$CONF" --local restore "$sub_entry"
is "$rc,$(ls -A "$T/elsewhere")" "1," "restore through a symlinked directory: refused, nothing made where it leads"
rm "$FIFODIR/sub"
# The entry's pack swapped for a symlink to it elsewhere (which, followed,
# would restore).
rm /dev/shm/rtshm
pack=$(entry_pack "$A/${entry[pshm:/rtshm]}")
mv "$A/$pack" "$T/moved-pack"
ln -s "$T/moved-pack" "$A/$pack"
run "$IPCGC" --config "$CONF" --local restore "${entry[pshm:/rtshm]}"
is "$rc,$([ -e /dev/shm/rtshm ] && echo made)" "1," "restore from a pack that is a symlink: refused, nothing made"
case $err in *"there is no archive entry ${entry[pshm:/rtshm]}"*) ok "restore from a pack that is a symlink: NoSuchEntry" ;;
*) not_ok "restore from a pack that is a symlink: NoSuchEntry" "got: $err" ;; esac
rm "$A/$pack" && mv "$T/moved-pack" "$A/$pack"
# The archive directory itself a symlink: refused.
ln -s "$A" "$T/alink"
sed "/^\[Daemon\]/a ArchiveDir=$T/alink" "$CONF" >"$T/alink.conf"
run "$IPCGC" --config "$T/alink.conf" --local restore "${entry[pshm:/rtshm]}"
is "$rc,$([ -e /dev/shm/rtshm ] && echo made)" "1," "restore from an archive directory that is a symlink: refused"
run "$IPCGC" --config "$T/alink.conf" --local archive -J
is "$rc" 1 "archive from an archive directory that is a symlink: refused"
clean

start_daemon
round daemon "$IPCGC" --config "$CONF"
stop_daemon
is "$?" 0 "ipcgcd exits 0 on SIGTERM"
clean

done_testing
