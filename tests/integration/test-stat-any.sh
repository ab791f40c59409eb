#!/bin/bash
# A kernel before 4.17 has no SHM_STAT_ANY, MSG_STAT_ANY or SEM_STAT_ANY and
# answers EINVAL, as it does for a free index: `ipcgc list` must still list the
# SysV objects (from the /proc/sysvipc text) and say why, in private namespaces.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
if [ "$(uname -m)" != x86_64 ]; then
    echo "1..0 # SKIP no-stat-any filters x86_64 system calls only"
    exit 0
fi
enter_private_namespaces "$@"

NO_STAT_ANY="$top_builddir/tests/helpers/no-stat-any"

hold shm 0x1234 65536 0640;     SHM_ID=$HOLD_ID
hold -x msg 0x2345 100 0620;    MSG_ID=$HOLD_ID
hold sem 0x3456 3 0600;         SEM_ID=$HOLD_ID

sysv() { # sysv JSON: the SysV objects as [type, id, key], sorted
    jq -c '[.objects[] | select(.type == "shm" or .type == "msg" or .type == "sem") | [.type, .id, .key]] | sort' <<<"$1"
}
want=$(jq -cn --arg s "shm:$SHM_ID" --arg m "msg:$MSG_ID" --arg e "sem:$SEM_ID" \
    '[["msg",$m,9029],["sem",$e,13398],["shm",$s,4660]]')

# The filter is in place: the kernel's own command is refused, the plain one is not.
check "no-stat-any refuses SHM_STAT_ANY, allows SHM_STAT" \
    "$NO_STAT_ANY" python3 -c '
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(512)
ok = libc.shmctl(0, 13, buf) >= 0
refused = libc.shmctl(0, 15, buf) < 0 and ctypes.get_errno() == errno.EINVAL
sys.exit(0 if ok and refused else 1)'

json=$("$NO_STAT_ANY" "$IPCGC" --config "$CONF" list --local -J 2>"$T/old.err")
is "$?" 0 "list -J under no-stat-any exits 0"
is "$(sysv "$json")" "$want" "under no-stat-any: shm, msg and sem listed with their keys"
is "$(jq -c --arg id "sem:$SEM_ID" '.objects[] | select(.id == $id) | .nsems' <<<"$json")" 3 \
    "under no-stat-any: the set's semaphores read"
for cmd in SHM_STAT_ANY MSG_STAT_ANY SEM_STAT_ANY; do
    is "$(grep -c "no $cmd (before Linux 4.17)" "$T/old.err")" 1 "under no-stat-any: says once that $cmd is missing"
done
sed "s/^/# stderr: /" "$T/old.err"

json=$("$IPCGC" --config "$CONF" list --local -J 2>"$T/new.err")
is "$?" 0 "list -J exits 0"
is "$(sysv "$json")" "$want" "shm, msg and sem listed with their keys"
is "$(grep -c STAT_ANY "$T/new.err")" 0 "no word of a missing STAT_ANY"

done_testing
