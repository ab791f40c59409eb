#!/bin/bash
# Sight: ipcgc run in a child PID namespace that shares its IPC namespace,
# /dev/shm, the mqueue mount and the FIFO directory with processes it cannot
# see (a container with the host's IPC but its own PID namespace; a
# DaemonSet with hostIPC and not hostPID; `unshare -p`).  The kernel reports
# the invisible pids as 0 and their /proc entries are not there, so missing
# evidence proves nothing: no object may be judged ORPHAN or PENDING, and a
# sweep removes none.  Where the kernel's own counts show life (nattch) the
# object is LIVE; elsewhere UNKNOWN, saying why.
#
# The holders run in the test's PID namespace; ipcgc runs in a nested one
# (same IPC and mount namespaces seen through a copy of the mounts, its own
# /proc), where it is alone.  Two facts tell ipcgc its view is partial: the
# PID namespace is not the initial one (unless TrustPIDNamespace=yes), and
# SysV objects that were used record pid 0.  Phase 1 has only POSIX objects
# and FIFOs, so the first fact alone must hold the judgement back; phase 2
# adds the SysV ones, all nine.  Each phase has a control case that declares
# the nested namespace complete (TrustPIDNamespace=yes, here false): it is
# listed only, to show that the declaration is honoured and what it risks.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"
trap 'kill $(jobs -p) 2>/dev/null' EXIT # the holders end with the PID namespace

diag() { local line; while IFS= read -r line; do echo "# $line"; done <<<"$*"; }

# Two configurations in $T, each with its own memory of life: the default
# (this PID namespace is not trusted) and the false declaration.
grep -v '^TrustPIDNamespace=' "$CONF" | sed "s|^StateDir=.*|StateDir=$T/state-sight|" >"$T/sight.conf"
printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$T/sight.conf"
sed "s|^\[Scan\]\$|[Scan]\nTrustPIDNamespace=yes|; s|^StateDir=.*|StateDir=$T/state-trust|" "$T/sight.conf" >"$T/trust.conf"
check "the sight config does not trust the PID namespace" bash -c "! grep -q TrustPIDNamespace '$T/sight.conf'"
check "the control config declares it complete" grep -qx 'TrustPIDNamespace=yes' "$T/trust.conf"

# inner CMD...: CMD in a child PID namespace of this one, sharing its IPC
# namespace; a private copy of the mounts (so /proc can be its own) keeps
# /dev/shm, the mqueue mount and $T, which are the same superblocks.
inner() {
    unshare --pid --fork --mount --mount-proc --propagation slave -- "$@"
}

# A SysV segment whose creator lives and has it not attached (PostgreSQL's
# pinned DSM segments): ipc-hold always attaches, perl's shmget does not.
hold_shm_unattached() { # hold_shm_unattached KEY
    local fd word
    exec {fd}< <(perl -MIPC::SysV=IPC_CREAT,IPC_EXCL -e '
        my $id = shmget(hex($ARGV[0]), 4096, IPC_CREAT | IPC_EXCL | 0600);
        defined $id or die "shmget: $!\n";
        $| = 1;
        print "ready $id $$\n";
        select(undef, undef, undef, undef) while 1;' "$1")
    if ! read -r -u "$fd" word HOLD_ID HOLD_PID || [ "$word" != ready ]; then
        echo "Bail out! perl shmget $1 did not start"
        exit 1
    fi
    exec {fd}<&-
}

declare -a IDS PIDS
held() { IDS+=("$1"); PIDS+=("$HOLD_PID"); }
# mine JSON: the list's entries for the objects held here, {id, verdict, reason}
mine() {
    local ids_json
    ids_json=$(printf '%s\n' "${IDS[@]}" | jq -R . | jq -sc .)
    jq -c --argjson ids "$ids_json" '[.objects[] | select(.id as $i | $ids | index($i)) | {id, verdict, reason}]' <<<"$1"
}
ids_of() { # ids_of JQ-FILTER ENTRIES: the ids of the entries the filter selects
    jq -r "[.[] | select($1) | .id] | join(\" \")" <<<"$2"
}
show() { diag "$(jq -r '.[] | "\(.id)  \(.verdict)  \(.reason)"' <<<"$1")"; }
PIDNS_REASON='outside this PID namespace may share'
SYSV0_REASON='records pid 0: processes outside this PID namespace'

# --- phase 1: POSIX objects and FIFOs only ---------------------------------
hold_as 4242:4242 mq /sight-mq 16 0600
held "mq:/sight-mq"
hold pshm /sight-pshm 4096 0600
held "pshm:/sight-pshm"
hold_as 4242:4242 psem /sight-psem 0 0600
held "psem:/sight-psem"
hold fifo "$FIFODIR/held" 0 0600
held "fifo:$FIFODIR/held"
hold fifowait "$FIFODIR/blocked" 0 0600
held "fifo:$FIFODIR/blocked"
BLOCKED_PID=$HOLD_PID

# The blocked opener is a second thread of its process: wait until it sleeps
# in open(2) for a partner.
blocked_tid() {
    local t
    for t in /proc/"$BLOCKED_PID"/task/*; do
        [ "$(cat "$t/wchan" 2>/dev/null)" = wait_for_partner ] && { echo "${t##*/}"; return 0; }
    done
    return 1
}
is_blocked() { blocked_tid >/dev/null; }
for _ in $(seq 500); do is_blocked && break; read -r -t 0.01 <> <(:) || true; done
check "the FIFO reader is blocked in open(2)" is_blocked

inner_pids=$(inner bash -c 'ls /proc | grep -c "^[0-9]"')
check "the nested PID namespace sees only itself ($inner_pids processes)" test "$inner_pids" -le 3

list=$(inner "$IPCGC" --local --config "$T/sight.conf" list -J 2>"$T/list1.err")
is "$?" 0 "phase 1: list --local in the nested PID namespace succeeds"
m=$(mine "$list")
show "$m"
is "$(jq length <<<"$m")" 5 "phase 1: all five objects are listed"
is "$(ids_of '.verdict == "ORPHAN" or .verdict == "PENDING"' "$m")" "" "phase 1: none is judged ORPHAN or PENDING"
is "$(ids_of '.verdict != "UNKNOWN"' "$m")" "" "phase 1: each is UNKNOWN (nothing the kernel counts shows their life)"
is "$(jq -r --arg r "$PIDNS_REASON" '[.[] | select((.reason // "") | contains($r) | not) | .id] | join(" ")' <<<"$m")" "" \
    "phase 1: each says processes outside this PID namespace may share it"
sweep=$(inner "$IPCGC" --local --config "$T/sight.conf" sweep -J 2>"$T/sweep1.err")
is "$?" 0 "phase 1: sweep --local succeeds"
is "$(jq -r '.removed' <<<"$sweep")" 0 "phase 1: the sweep removes nothing"
diag "phase 1 sweep stderr: $(cat "$T/sweep1.err")"
is "$(grep -cF "$PIDNS_REASON" "$T/sweep1.err")" 1 \
    "phase 1: the sweep warns once that processes outside the PID namespace may share it"

# Control: the false declaration.  Nothing else tells ipcgc of the holders.
trust=$(inner "$IPCGC" --local --config "$T/trust.conf" list -J 2>"$T/trust1.err")
is "$?" 0 "phase 1 control: list --local with TrustPIDNamespace=yes succeeds"
m=$(mine "$trust")
diag "phase 1 control (TrustPIDNamespace=yes, a false declaration):"
show "$m"
is "$(jq length <<<"$m")" 5 "phase 1 control: all five objects are listed"
is "$(ids_of '(.reason // "") | test("PID namespace")' "$m")" "" \
    "phase 1 control: the declaration is honoured (no object is UNKNOWN for sight)"
is "$(jq -r '[.[].verdict] | unique | join(",")' <<<"$m")" ORPHAN \
    "phase 1 control: all five, held from outside, are judged ORPHAN (what the declaration risks)"
check "phase 1 control: no sight warning" bash -c "! grep -q 'PID namespace' '$T/trust1.err'"

# --- phase 2: the SysV objects too: all nine --------------------------------
hold_shm_unattached 0x5101
held "shm:$HOLD_ID"; SHM_FREE=$HOLD_ID
hold shm 0x5102 4096 0600
held "shm:$HOLD_ID"; SHM_ATT=$HOLD_ID
hold sem 0x5103 2 0600
held "sem:$HOLD_ID"; SEM_ID=$HOLD_ID
hold msg 0x5104 16 0600
held "msg:$HOLD_ID"; MSG_ID=$HOLD_ID
# Also a message receiver: msgrcv by a live process on the same queue.
hold msgwait 0x5104 0 0
MSG_WAITER=$HOLD_PID
is "${#IDS[@]}" 9 "nine live objects held from outside the nested PID namespace"
diag "shm as the nested namespace sees it (key id cpid lpid nattch):
$(inner cat /proc/sysvipc/shm | awk '{ print $1, $2, $5, $6, $7 }')"

list=$(inner "$IPCGC" --local --config "$T/sight.conf" list -J 2>"$T/list.err")
is "$?" 0 "list --local in the nested PID namespace succeeds"
[ -s "$T/list.err" ] && diag "list stderr: $(cat "$T/list.err")"
m=$(mine "$list")
show "$m"
is "$(jq length <<<"$m")" 9 "all nine objects are listed"
is "$(ids_of '.verdict == "ORPHAN" or .verdict == "PENDING"' "$m")" "" "none is judged ORPHAN or PENDING"
is "$(ids_of '.verdict != "LIVE" and .verdict != "UNKNOWN"' "$m")" "" "each is LIVE or UNKNOWN"
is "$(jq -r --arg id "shm:$SHM_ATT" '.[] | select(.id == $id) | .verdict' <<<"$m")" LIVE \
    "the attached segment is LIVE (nattch is the kernel's own count)"
is "$(ids_of '.verdict == "UNKNOWN" and ((.reason // "") | test("PID namespace") | not)' "$m")" "" \
    "every UNKNOWN one says the PID namespace is why"
check "at least one is UNKNOWN for sight (the view really is partial)" \
    test "$(jq '[.[] | select(.verdict == "UNKNOWN")] | length' <<<"$m")" -ge 1

sweep=$(inner "$IPCGC" --local --config "$T/sight.conf" sweep -J 2>"$T/sweep.err")
is "$?" 0 "sweep --local in the nested PID namespace succeeds"
is "$(jq -r '.removed' <<<"$sweep")" 0 "the sweep removes nothing"
is "$(jq -r '[.records[]? | select(.action == "removed") | .id] | join(" ")' <<<"$sweep")" "" "no record of a removal"
diag "sweep stderr: $(cat "$T/sweep.err")"
is "$(grep -ciE 'outside (this|the) PID namespace' "$T/sweep.err")" 1 \
    "the sweep warns once that processes outside the PID namespace may share it"
plain=$(inner "$IPCGC" --local --config "$T/sight.conf" sweep 2>"$T/sweep2.err" >/dev/null; echo $?)
is "$plain" 0 "a plain (text) sweep succeeds too"
is "$(grep -ciE 'outside (this|the) PID namespace' "$T/sweep2.err")" 1 "and warns once as well"

# Control: the false declaration again.  It is honoured (the PID namespace
# is trusted), but the SysV objects' recorded pid 0 is a fact of the kernel
# that still shows the view to be partial.
trust=$(inner "$IPCGC" --local --config "$T/trust.conf" list -J 2>"$T/trust.err")
is "$?" 0 "control: list --local with TrustPIDNamespace=yes succeeds"
m=$(mine "$trust")
diag "control (TrustPIDNamespace=yes, a false declaration), with the SysV objects:"
show "$m"
is "$(jq length <<<"$m")" 9 "control: all nine objects are listed"
is "$(jq -r --arg r "$PIDNS_REASON" '[.[] | select((.reason // "") | contains($r)) | .id] | join(" ")' <<<"$m")" "" \
    "control: the declaration is honoured (no object is UNKNOWN for the PID namespace itself)"
is "$(ids_of '.verdict == "ORPHAN" or .verdict == "PENDING"' "$m")" "" \
    "control: the SysV records of pid 0 still keep every object from ORPHAN and PENDING"
is "$(jq -r --arg r "$SYSV0_REASON" '[.[] | select(.verdict == "UNKNOWN" and ((.reason // "") | contains($r) | not)) | .id] | join(" ")' <<<"$m")" "" \
    "control: and say so (each UNKNOWN names the SysV object that records pid 0)"

# --- afterwards: everything is there and works -----------------------------
sysv_has() { awk -v id="$2" 'NR > 1 && $2 == id { f = 1 } END { exit !f }' "/proc/sysvipc/$1"; }
missing=
sysv_has shm "$SHM_FREE" || missing+=" shm:$SHM_FREE"
sysv_has shm "$SHM_ATT" || missing+=" shm:$SHM_ATT"
sysv_has sem "$SEM_ID" || missing+=" sem:$SEM_ID"
sysv_has msg "$MSG_ID" || missing+=" msg:$MSG_ID"
[ -e "$MQDIR/sight-mq" ] || missing+=" mq"
[ -e /dev/shm/sight-pshm ] || missing+=" pshm"
[ -e /dev/shm/sem.sight-psem ] || missing+=" psem"
[ -p "$FIFODIR/held" ] || missing+=" fifo:held"
[ -p "$FIFODIR/blocked" ] || missing+=" fifo:blocked"
is "$missing" "" "every object still exists"
dead=
for p in "${PIDS[@]}" "$MSG_WAITER"; do kill -0 "$p" 2>/dev/null || dead+=" $p"; done
is "$dead" "" "every holder still runs"

# The holders' objects still work: others can attach and open them, the
# FIFOs still have their readers (an opener for writing gets through).
uses() { "$HOLD" -x "$@" >/dev/null; } # uses TYPE WHAT SIZE MODE: a user that opens and goes
writes() { [ -p "$1" ] && timeout 5 bash -c 'echo x >"$1"' _ "$1"; } # a FIFO writer gets a reader
check "the unattached segment can be attached" uses shmat 0x5101 0 0
check "the attached segment can be attached again" uses shmat 0x5102 0 0
check "the semaphore can be operated on" perl -MIPC::SysV=IPC_NOWAIT -e \
    'semop('"$SEM_ID"', pack("s!3", 0, -1, IPC_NOWAIT)) && semop('"$SEM_ID"', pack("s!3", 0, 1, 0)) or die "semop: $!\n"'
check "the queue still has its message and takes a new one" perl -MIPC::SysV=IPC_NOWAIT -e \
    'msgrcv('"$MSG_ID"', my $m, 64, 1, IPC_NOWAIT) or die "msgrcv: $!\n"; msgsnd('"$MSG_ID"', pack("l! a*", 1, "x"), 0) or die "msgsnd: $!\n"'
check "the mq can be opened" uses mqopen /sight-mq 0 0
check "the pshm can be mapped" uses pshmmap /sight-pshm 4096 0
check "the psem can be opened" uses psemopen /sight-psem 0 0
check "the held FIFO still has its reader" writes "$FIFODIR/held"
check "the blocked reader is still there (the writer's open gets through)" writes "$FIFODIR/blocked"
for _ in $(seq 500); do is_blocked || break; read -r -t 0.01 <> <(:) || true; done
if is_blocked; then not_ok "and its open(2) returned"; else ok "and its open(2) returned"; fi

done_testing
