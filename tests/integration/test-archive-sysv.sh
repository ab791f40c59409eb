#!/bin/bash
# The SysV archive primitives (issue 11): archive_sysv_save() and
# archive_sysv_restore() on real objects whose creator has gone, through
# tests/helpers/archive-sysv-try, in private namespaces.  The objects are made
# and read back with perl's IPC::SysV, never by the code under test.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

TRY="$top_builddir/tests/helpers/archive-sysv-try"
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
perl -MIPC::SysV -e 1 2>/dev/null || { echo "1..0 # SKIP perl IPC::SysV missing"; exit 0; }

# sysvipc TYPE KEY: the object's line in /proc/sysvipc/TYPE, by key (decimal).
sysvipc() { awk -v k="$2" '$1 == k' "/proc/sysvipc/$1"; }
# field NAME: a NAME=VALUE line of the helper's output in $out.
field() { sed -n "s/^$1=//p" <<<"$out"; }

# --- shm: 64 KiB of a known pattern, made by nobody, who leaves ----------
perl -e 'print join "", map { chr($_ % 251) } 0 .. 65535' >"$T/pattern"
shm_key=$((0x5301))
shm_id=$("${NOBODY[@]}" perl -MIPC::SysV=IPC_CREAT,IPC_EXCL -e '
        my $id = shmget($ARGV[0], 65536, IPC_CREAT | IPC_EXCL | 0640) // die "shmget: $!";
        open my $f, "<", $ARGV[1] or die; local $/; my $d = <$f>;
        shmwrite($id, $d, 0, length $d) or die "shmwrite: $!";
        print $id' $shm_key "$T/pattern")
before=$(sysvipc shm $shm_key | awk '{print $1, $2, $3, $4, $8, $9}')

out=$("$TRY" save shm "$shm_id" "$T/shm.entry")
is "$?" 0 "shm: save succeeds"
is "$(field bytes),$(field locked),$(field hugetlb)" "65536,0,0" "shm: 65536 bytes, not locked, not hugetlb"
check "shm: the entry's contents hold the segment's bytes" cmp -s "$T/pattern" <(try_contents "$T/shm.entry/entry")
is "$(stat -c '%a %F' "$T/shm.entry/entry")" "600 regular file" "shm: the entry is a regular file, 0600"

ipcrm -m "$shm_id"
out=$("$TRY" restore shm "$T/shm.entry")
is "$?" 0 "shm: restore succeeds"
is "$(field id),$(field same_id)" "$shm_id,1" "shm: same id"
is "$(sysvipc shm $shm_key | awk '{print $1, $2, $3, $4, $8, $9}')" "$before" "shm: same key, id, mode, size, owner"
perl -MIPC::SysV -e 'my $id = shmget($ARGV[0], 0, 0) // die; shmread($id, my $d, 0, 65536) or die; print $d' \
        $shm_key >"$T/shm.back"
check "shm: same bytes after restore" cmp -s "$T/pattern" "$T/shm.back"
is "$(cat /proc/sys/kernel/shm_next_id)" -1 "shm: no id request left behind"

# The key is taken now: refused, nothing made, no id request left standing.
n_before=$(($(wc -l </proc/sysvipc/shm)))
out=$("$TRY" restore shm "$T/shm.entry")
is "$?,$(field error)" "1,EEXIST" "shm: restore refuses a taken key (EEXIST)"
is "$(($(wc -l </proc/sysvipc/shm)))" "$n_before" "shm: a refused restore makes nothing"
is "$(cat /proc/sys/kernel/shm_next_id)" -1 "shm: a refused restore leaves no id request behind"

# Larger than the archive may take: EFBIG, and nothing written.
out=$("$TRY" save shm "$shm_id" "$T/shm.big" 65535)
is "$?,$(field error)" "1,EFBIG" "shm: save over max_bytes is EFBIG"
is "$(ls -A "$T/shm.big") $(stat -c %s "$T/shm.big/entry")" "entry 0" "shm: EFBIG writes nothing"

# SHM_LOCKED is noted and comes back.
perl -MIPC::SysV=SHM_LOCK -e 'shmctl(shmget($ARGV[0], 0, 0), SHM_LOCK, 0) or die "SHM_LOCK: $!"' $shm_key
out=$("$TRY" save shm "$shm_id" "$T/shm.locked")
is "$(field locked)" 1 "shm: SHM_LOCKED noted"
ipcrm -m "$shm_id"
out=$("$TRY" restore shm "$T/shm.locked")
mode=$(sysvipc shm $shm_key | awk '{print $3}')
is "$(( 0$mode & 02000 ))" $((02000)) "shm: restored segment is locked again"

# --- sem: a set of 3 with values 3, 0, 5, used once, made by nobody -------
sem_key=$((0x5304))
sem_id=$("${NOBODY[@]}" perl -MIPC::SysV=IPC_CREAT,IPC_EXCL,SETALL -e '
        my $id = semget($ARGV[0], 3, IPC_CREAT | IPC_EXCL | 0640) // die "semget: $!";
        semctl($id, 0, SETALL, pack("s!*", 3, 0, 4)) or die "SETALL: $!";
        semop($id, pack("s!3", 2, 1, 0)) or die "semop: $!";
        print $id' $sem_key)
semvals() { perl -MIPC::SysV=GETALL -e 'my $id = semget($ARGV[0], 0, 0) // die "semget: $!";
        my $b = ""; semctl($id, 0, GETALL, $b) or die "GETALL: $!"; print join(",", unpack("s!*", $b))' $sem_key; }
is "$(semvals)" "3,0,5" "sem: made with 3, 0, 5"
before=$(sysvipc sem $sem_key | awk '{print $1, $2, $3, $4, $5, $6}')
out=$("$TRY" save sem "$sem_id" "$T/sem.entry")
is "$?,$(field values)" "0,3" "sem: save succeeds, 3 values"
is "$(try_contents "$T/sem.entry/entry" | tr '\n' ' ')" "3 0 5 " "sem: values in the contents, one a line"
out=$("$TRY" save sem "$sem_id" "$T/sem.big" 5)
is "$?,$(field error),$(ls -A "$T/sem.big"),$(stat -c %s "$T/sem.big/entry")" "1,EFBIG,entry,0" \
        "sem: save over max_bytes is EFBIG, nothing written"
ipcrm -s "$sem_id"
out=$("$TRY" restore sem "$T/sem.entry")
is "$?,$(field id),$(field same_id)" "0,$sem_id,1" "sem: restored with the same id"
is "$(sysvipc sem $sem_key | awk '{print $1, $2, $3, $4, $5, $6}')" "$before" "sem: same key, id, mode, nsems, owner"
is "$(semvals)" "3,0,5" "sem: same values"
out=$("$TRY" restore sem "$T/sem.entry")
is "$?,$(field error)" "1,EEXIST" "sem: restore refuses a taken key (EEXIST)"
# Hostile values: a value past SEMVMX, then too many lines.
ipcrm -s "$sem_id"
cp -a "$T/sem.entry" "$T/sem.bad"
printf '3\n0\n99999\n' | try_set_contents "$T/sem.bad/entry"
sed -i "s/^bytes .*/bytes 10/" "$T/sem.bad/facts"
out=$("$TRY" restore sem "$T/sem.bad")
is "$?,$(field error),$(sysvipc sem $sem_key)" "1,EBADMSG," "sem: a value past SEMVMX is EBADMSG, no set left"
printf '3\n0\n5\n1\n' | try_set_contents "$T/sem.bad/entry"
sed -i "s/^bytes .*/bytes 8/" "$T/sem.bad/facts"
out=$("$TRY" restore sem "$T/sem.bad")
is "$?,$(field error),$(sysvipc sem $sem_key)" "1,EBADMSG," "sem: a line too many is EBADMSG, no set left"

# --- msg: 3 messages of types 1, 2, 7 (one with NUL bytes), by nobody -----
msg_key=$((0x5303))
msg_id=$("${NOBODY[@]}" perl -MIPC::SysV=IPC_CREAT,IPC_EXCL,IPC_NOWAIT -e '
        my $id = msgget($ARGV[0], IPC_CREAT | IPC_EXCL | 0620) // die "msgget: $!";
        for ([1, "first"], [2, "a\0b\0\0c"], [7, "seventh!"]) {
                msgsnd($id, pack("l! a*", @$_), IPC_NOWAIT) or die "msgsnd: $!";
        }
        print $id' $msg_key)
# msgdrain: receive every message (taking them), as "TYPE:HEX" words.
msgdrain() { perl -MIPC::SysV=IPC_NOWAIT -e 'my $id = msgget($ARGV[0], 0) // die "msgget: $!"; my @m;
        while (msgrcv($id, my $b, 8192, 0, IPC_NOWAIT)) {
                my ($t, $d) = unpack("l! a*", $b); push @m, "$t:" . unpack("H*", $d);
        }
        print "@m"' $msg_key; }
hex() { printf '%b' "$1" | od -An -tx1 | tr -d ' \n'; }
want_msgs="1:$(hex first) 2:$(hex 'a\0b\0\0c') 7:$(hex 'seventh!')"
out=$("$TRY" save msg "$msg_id" "$T/msg.entry")
is "$?,$(field messages),$(field bytes)" "0,3,$((3 * 16 + 5 + 6 + 8))" "msg: save succeeds, 3 messages"
# key, id, mode, cbytes, qnum, uid, gid
msgfacts() { sysvipc msg $msg_key | awk '{print $1, $2, $3, $4, $5, $8, $9}'; }
before=$(msgfacts)
is "$(msgfacts)" "$before" "msg: save took nothing from the queue"
out=$("$TRY" save msg "$msg_id" "$T/msg.big" 60)
is "$?,$(field error),$(ls -A "$T/msg.big"),$(stat -c %s "$T/msg.big/entry")" "1,EFBIG,entry,0" \
        "msg: save over max_bytes is EFBIG, nothing written"
ipcrm -q "$msg_id"
out=$("$TRY" restore msg "$T/msg.entry")
is "$?,$(field id),$(field same_id)" "0,$msg_id,1" "msg: restored with the same id"
is "$(msgfacts)" "$before" "msg: same key, id, mode, bytes, count, owner"
out=$("$TRY" restore msg "$T/msg.entry")
is "$?,$(field error)" "1,EEXIST" "msg: restore refuses a taken key (EEXIST)"
is "$(msgdrain)" "$want_msgs" "msg: same messages, in order, with their types"
ipcrm -q "$msg_id"

# Corrupt entries: nothing may be left behind, nothing overrun.
n_before=$(($(wc -l </proc/sysvipc/msg)))
corrupt() { # corrupt NAME PERL-EXPR: a copy of the entry with its messages rewritten by EXPR on $d
        rm -rf "$T/msg.$1" && cp -a "$T/msg.entry" "$T/msg.$1"
        try_contents "$T/msg.entry/entry" | perl -e 'local $/; my $d = <STDIN>; '"$2"'; print $d' |
                try_set_contents "$T/msg.$1/entry"
        sed -i "s/^bytes .*/bytes $(try_contents "$T/msg.$1/entry" | wc -c)/" "$T/msg.$1/facts"
        out=$("$TRY" restore msg "$T/msg.$1")
        is "$?,$(field error),$(($(wc -l </proc/sysvipc/msg)))" "1,EBADMSG,$n_before" \
                "msg: $1 is EBADMSG, no queue left"
}
corrupt huge-length 'substr($d, 8, 8) = pack("Q", 0xffffffffffffff00)'
corrupt cut-short 'chop $d'
corrupt zero-type 'substr($d, 0, 8) = pack("q", 0)'
corrupt extra-record '$d .= pack("q Q", 1, 0)'
corrupt past-end 'substr($d, 8 + 8, 8) = pack("Q", 0)'
# A symlink at the entry, even to a good entry, is no entry (ENOENT, as
# the library's pack opener says), and a FIFO (which would block a read) is refused.
rm -rf "$T/msg.sym" && cp -a "$T/msg.entry" "$T/msg.sym" && ln -sf "$T/msg.entry/entry" "$T/msg.sym/entry"
out=$("$TRY" restore msg "$T/msg.sym")
is "$?,$(field error),$(($(wc -l </proc/sysvipc/msg)))" "1,ENOENT,$n_before" "msg: a symlink for the entry is refused"
rm -rf "$T/msg.fifo" && cp -a "$T/msg.entry" "$T/msg.fifo" && rm "$T/msg.fifo/entry" && mkfifo "$T/msg.fifo/entry"
sed -i "s/^bytes .*/bytes 0/; s/^messages .*/messages 0/" "$T/msg.fifo/facts"
out=$("$TRY" restore msg "$T/msg.fifo")
is "$?,$(field error),$(($(wc -l </proc/sysvipc/msg)))" "1,EBADMSG,$n_before" "msg: a FIFO for the entry is refused"

# 256 MiB: streamed, never held; the helper's peak RSS stays under 32 MiB.
big_key=$((0x5302))
big_id=$(perl -MIPC::SysV=IPC_CREAT,IPC_EXCL -e '
        my $id = shmget($ARGV[0], 256 << 20, IPC_CREAT | IPC_EXCL | 0600) // die "shmget: $!";
        for my $i (0 .. 255) { shmwrite($id, chr($i) x (1 << 20), $i << 20, 1 << 20) or die "shmwrite: $!" }
        print $id' $big_key)
out=$("$TRY" save shm "$big_id" "$T/shm.256")
is "$?,$(field bytes)" "0,$((256 << 20))" "shm: 256 MiB saved"
hwm=$(field vmhwm_kib)
if [ -n "$hwm" ] && [ "$hwm" -lt 32768 ]; then ok "shm: peak RSS ${hwm} KiB < 32 MiB while saving 256 MiB"
else not_ok "shm: peak RSS < 32 MiB while saving 256 MiB" "VmHWM: ${hwm:-?} KiB"; fi
want=$(perl -e 'print chr($_) x (1 << 20) for 0 .. 255' | sha256sum)
is "$(try_contents "$T/shm.256/entry" | sha256sum)" "$want" "shm: 256 MiB bytes as written"
ipcrm -m "$big_id"
rm -rf "$T/shm.256"

done_testing
