#!/bin/bash
# `ipcgc audit`: every limit lsipc -g shows and fs.mqueue's three, each
# against /proc/sys, and each use against what this test made, for every
# -t: a -t narrows the rows per user, never the limits' use (issue 13: -t
# shm reported 0 used for msgmni, semmni, semmns and queues_max).  The
# limits are per IPC namespace: here they are set to odd values no kernel
# has by default, so a figure read from anywhere else shows.  What each
# user's POSIX queues charge against RLIMIT_MSGQUEUE is checked against the
# kernel itself: a queue of exactly the charge reported fits a limit of
# that many bytes, and not one of a byte less.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }

enter_private_namespaces "$@"
FILL="$top_builddir/tests/helpers/ipc-fill"
# Debian's, which other users can run (not a python3 of root's own).
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "Bail out! $PY is missing (tools/deps.sh --test)"; exit 1; }
command -v jq >/dev/null || { echo "Bail out! jq is missing (tools/deps.sh)"; exit 1; }

# Odd limits, in this IPC namespace only.
echo 4093 >/proc/sys/kernel/shmmni
echo 123457 >/proc/sys/kernel/shmall
echo 7654321 >/proc/sys/kernel/shmmax
echo 31999 >/proc/sys/kernel/msgmni
echo 8191 >/proc/sys/kernel/msgmax
echo 16383 >/proc/sys/kernel/msgmnb
echo "249 31997 31 127" >/proc/sys/kernel/sem
echo 253 >/proc/sys/fs/mqueue/queues_max
echo 17 >/proc/sys/fs/mqueue/msg_max
echo 8189 >/proc/sys/fs/mqueue/msgsize_max
is "$(cat /proc/sys/kernel/sem)" "249	31997	31	127" "the private namespace took the odd kernel.sem"
# What every process here starts with: pid 1 is this test's shell, whose
# queue makers inherit the odd soft limit (lowered: raising needs
# CAP_SYS_RESOURCE).
RL=654321
prlimit --pid 1 --msgqueue=$RL:

# mkq NAME MAXMSG MSGSIZE: a POSIX queue of those attributes (ipc-fill's are
# fixed), by a process that exits.  Status 3 when the kernel says EMFILE
# (RLIMIT_MSGQUEUE).
cat >"$T/mkq.py" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class Attr(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long), ("msgsize", ctypes.c_long),
                ("curmsgs", ctypes.c_long), ("pad", ctypes.c_long * 4)]
a = Attr(0, int(sys.argv[2]), int(sys.argv[3]), 0)
libc.mq_open.restype = ctypes.c_int
fd = libc.mq_open(sys.argv[1].encode(), os.O_CREAT | os.O_EXCL | os.O_RDWR, ctypes.c_uint(0o600), ctypes.byref(a))
if fd < 0:
    e = ctypes.get_errno()
    print("mkq: %s" % os.strerror(e), file=sys.stderr)
    sys.exit(3 if e == 24 else 1)
PY
mkq() { "$PY" "$T/mkq.py" "$@"; }
as_user() { # as_user UID CMD...
    local u=$1
    shift
    setpriv --reuid="$u" --regid="$u" --clear-groups "$@"
}

# root: two segments (1 and 3 pages), a queue of 11 bytes, sets of 3 and 5.
"$FILL" shm 0x7a01 4096 0600 >/dev/null
"$FILL" shm 0x7a02 10000 0600 >/dev/null
"$FILL" msg 0x7a03 0600 hello world! >/dev/null # 5 + 6 bytes
"$FILL" sem 0x7a04 0600 1 2 3 >/dev/null
"$FILL" sem 0x7a05 0600 0 0 0 0 0 >/dev/null
# uid 4600: a segment of 2 pages, a queue of 3 bytes, a set of 2.
as_user 4600 "$FILL" shm 0x7a11 8192 0600 >/dev/null
as_user 4600 "$FILL" msg 0x7a12 0600 abc >/dev/null
as_user 4600 "$FILL" sem 0x7a13 0600 7 7 >/dev/null
# POSIX queues: root 2 (8 x 256 from ipc-fill, 3 x 1000), uid 4600 1 (17 x 8189).
"$FILL" mq /audit-r1 0600 1:x >/dev/null
mkq /audit-r2 3 1000
as_user 4600 "$PY" "$T/mkq.py" /audit-u1 17 8189
# Files, so every type has a row somewhere: they count against no limit.
"$FILL" pshm /audit-p 5000 0600 >/dev/null
"$FILL" psem /audit-s 1 0600 >/dev/null
mkfifo "$FIFODIR/audit-f"

# The kernel's charge of a queue (ipc/mqueue.c): maxmsg msg_msg and
# min(maxmsg, 32768) tree nodes of 48 bytes each on 64-bit, and the bytes.
charge() { echo $(($1 * 48 + ($1 < 32768 ? $1 : 32768) * 48 + $1 * $2)); }
ROOT_MQ=$(($(charge 8 256) + $(charge 3 1000)))
U_MQ=$(charge 17 8189)

declare -A MAX USED
sys() { tr -s ' \t' ' ' <"/proc/sys/$1" | cut -d' ' -f"$2"; }
MAX=([msgmni]=$(sys kernel/msgmni 1) [msgmax]=$(sys kernel/msgmax 1) [msgmnb]=$(sys kernel/msgmnb 1)
    [shmmni]=$(sys kernel/shmmni 1) [shmall]=$(sys kernel/shmall 1) [shmmax]=$(sys kernel/shmmax 1)
    [shmmin]=1 [semmsl]=$(sys kernel/sem 1) [semmns]=$(sys kernel/sem 2) [semopm]=$(sys kernel/sem 3)
    [semmni]=$(sys kernel/sem 4) [semvmx]=32767 [queues_max]=$(sys fs/mqueue/queues_max 1)
    [msg_max]=$(sys fs/mqueue/msg_max 1) [msgsize_max]=$(sys fs/mqueue/msgsize_max 1))
is "${MAX[shmmni]} ${MAX[semmni]} ${MAX[msg_max]}" "4093 127 17" "the odd limits read back from /proc/sys"
# What was made; null where nothing is counted (as lsipc's "-").
USED=([msgmni]=2 [msgmax]=null [msgmnb]=11 [shmmni]=3 [shmall]=6 [shmmax]=10000 [shmmin]=null
    [semmni]=3 [semmns]=10 [semmsl]=5 [semopm]=null [semvmx]=null [queues_max]=3 [msg_max]=17
    [msgsize_max]=8189)
# ...which is what the kernel's own tables say, not just this script.
is "$(($(wc -l </proc/sysvipc/shm) - 1)) $(($(wc -l </proc/sysvipc/msg) - 1)) $(ls "$MQDIR" | wc -l)" \
    "${USED[shmmni]} ${USED[msgmni]} ${USED[queues_max]}" "the kernel holds what the test made"

# Every -t (none, each type, two together): the same limits, the same use.
for t in "" shm msg sem mq pshm psem fifo shm,mq; do
    label=${t:-all}
    out=$("$IPCGC" --config "$CONF" --local audit -J ${t:+-t "$t"} 2>"$T/err")
    is "$?" 0 "audit -t $label exits 0"
    is "$(jq -r '[.limits[].name] | join(" ")' <<<"$out")" \
        "msgmni msgmax msgmnb shmmni shmall shmmax shmmin semmni semmns semmsl semopm semvmx queues_max msg_max msgsize_max" \
        "audit -t $label: the fifteen limits, in lsipc's order then mqueue's"
    bad=
    for name in "${!MAX[@]}"; do
        got=$(jq -c --arg n "$name" '.limits[] | select(.name == $n) | [.limit, .used]' <<<"$out")
        [ "$got" = "[${MAX[$name]},${USED[$name]}]" ] || bad+=" $name: got $got, expected [${MAX[$name]},${USED[$name]}];"
    done
    is "${bad:-none}" none "audit -t $label: every limit as /proc/sys has it, every use as made"
    # The rows per user: of the types asked for only.
    want=$(tr ',' '\n' <<<"${t:-shm,msg,sem,mq,pshm,psem,fifo}" | sort -u | paste -sd' ')
    is "$(jq -r '[.usage[].type] | unique | join(" ")' <<<"$out")" "$(tr ' ' '\n' <<<"$want" | sort | paste -sd' ')" \
        "audit -t $label: rows per user of those types only"
    if [[ ",${t:-mq}," == *,mq,* ]]; then
        is "$(jq -c '[.mqueue_rlimit[] | [.uid, .queues, .bytes, .limit]]' <<<"$out")" \
            "[[0,2,$ROOT_MQ,$RL],[4600,1,$U_MQ,$RL]]" "audit -t $label: each user's RLIMIT_MSGQUEUE charge"
    else
        is "$(jq -c '.mqueue_rlimit' <<<"$out")" "[]" "audit -t $label: no mqueue charges (not asked for)"
    fi
done

# The counts per user, as made.
out=$("$IPCGC" --config "$CONF" --local audit -J)
row() { jq -c --arg t "$1" --argjson u "$2" '.usage[] | select(.type == $t and .uid == $u) | [.count, .bytes, .semaphores]' <<<"$out"; }
is "$(row shm 0) $(row shm 4600)" "[2,14096,null] [1,8192,null]" "audit: shm per user"
is "$(row msg 0) $(row msg 4600)" "[1,11,null] [1,3,null]" "audit: msg per user"
is "$(row sem 0) $(row sem 4600)" "[2,0,8] [1,0,2]" "audit: sem per user, with semaphores"
is "$(row mq 0 | cut -d, -f1) $(row mq 4600 | cut -d, -f1)" "[2 [1" "audit: mq per user"

# The charge formula is the kernel's: uid 4631 (this test's alone) makes a
# queue under a limit of exactly its charge, and fails a byte under it.
fit=$(charge 5 700)
as_user 4631 prlimit --msgqueue="$fit" "$PY" "$T/mkq.py" /audit-fit 5 700
is "$?" 0 "a queue of 5 x 700 fits RLIMIT_MSGQUEUE=$fit, the charge audit reports"
as_user 4631 prlimit --msgqueue=$((fit - 1)) "$PY" "$T/mkq.py" /audit-nofit 5 700 2>/dev/null
is "$?" 3 "...and not RLIMIT_MSGQUEUE=$((fit - 1)) (EMFILE)"
out=$("$IPCGC" --config "$CONF" --local audit -J -t mq)
is "$(jq -c '.mqueue_rlimit[] | select(.uid == 4631) | [.queues, .bytes]' <<<"$out")" "[1,$fit]" \
    "audit: uid 4631's charge is the one the kernel enforced"

# Another user cannot open root's queues (0600) nor uid 4631's: they still
# count against queues_max, their charge is said to be missing.
out=$(as_user 4600 "$IPCGC" --config "$CONF" --local audit -J -t mq 2>"$T/err")
is "$(jq -c '[.mqueue_unread, ([.limits[] | select(.name == "queues_max") | .used][0]), [.mqueue_rlimit[] | [.uid, .bytes]]]' <<<"$out")" \
    "[3,4,[[4600,$U_MQ]]]" "audit as uid 4600: 3 queues unread, all 4 counted, its own charge"
as_user 4600 "$IPCGC" --config "$CONF" --local audit -t mq >/dev/null 2>"$T/err"
check "...and the table says the charge of 3 queues is missing" \
    grep -q "3 POSIX queues could not be opened: their charge is not counted" "$T/err"

# The table: -t shm still shows every limit's use (the bug of issue 13).
table=$("$IPCGC" --config "$CONF" --local audit -t shm)
for l in msgmni:2 semmni:3 semmns:10 queues_max:4; do
    got=$(awk -v n="${l%:*}" '$1 == n { print $3 }' <<<"$table")
    is "$got" "${l#*:}" "audit -t shm table: ${l%:*} used ${l#*:}"
done
check "audit table: the RLIMIT_MSGQUEUE table is left out under -t shm" \
    bash -c '! grep -q "^USER *QUEUES" <<<"$1"' _ "$table"

# Nor does what is scanned: with [Scan] Types=shm the inventory holds
# segments only, and the limits' use is still every object's.
cp "$CONF" "$T/shm-only.conf"
echo "Types=shm" >>"$T/shm-only.conf"
out=$("$IPCGC" --config "$T/shm-only.conf" --local audit -J 2>"$T/err")
is "$(jq -c '[.limits[] | select(.name == "msgmni" or .name == "semmns" or .name == "queues_max") | .used]' <<<"$out")" \
    "[2,10,4]" "audit under Types=shm: msgmni, semmns and queues_max use as made"
is "$(jq -r '[.usage[].type] | unique | join(" ")' <<<"$out")" "shm" "audit under Types=shm: rows of shm only"

# A limit that cannot be read is null, not 0: shmmni made empty (this
# mount namespace is the test's own).
mount --bind /dev/null /proc/sys/kernel/shmmni
out=$("$IPCGC" --config "$CONF" --local audit -J 2>"$T/err")
is "$(jq -c '[.limits[] | select(.name == "shmmni" or .name == "shmmin") | [.limit, .used]]' <<<"$out")" \
    "[[null,3],[1,null]]" "audit: an unreadable limit is null, its use still counted; a constant is known"
umount /proc/sys/kernel/shmmni

done_testing
