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
check "shm: data holds the segment's bytes" cmp -s "$T/pattern" "$T/shm.entry/data"
is "$(stat -c %a "$T/shm.entry/data")" 600 "shm: data is 0600"

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
is "$(ls -A "$T/shm.big")" "" "shm: EFBIG writes nothing"

# SHM_LOCKED is noted and comes back.
perl -MIPC::SysV=SHM_LOCK -e 'shmctl(shmget($ARGV[0], 0, 0), SHM_LOCK, 0) or die "SHM_LOCK: $!"' $shm_key
out=$("$TRY" save shm "$shm_id" "$T/shm.locked")
is "$(field locked)" 1 "shm: SHM_LOCKED noted"
ipcrm -m "$shm_id"
out=$("$TRY" restore shm "$T/shm.locked")
mode=$(sysvipc shm $shm_key | awk '{print $3}')
is "$(( 0$mode & 02000 ))" $((02000)) "shm: restored segment is locked again"

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
is "$(sha256sum <"$T/shm.256/data")" "$want" "shm: 256 MiB bytes as written"
ipcrm -m "$big_id"
rm -rf "$T/shm.256"

done_testing
