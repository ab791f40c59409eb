#!/bin/bash
# The judgement scenario suite.  Each row of SCENARIOS is one scenario, run
# in its own fresh private IPC/mount/PID namespaces: a set-up function makes
# the object and its owner, then the verdict is checked while the owner
# lives, right after it exits, and (where a MinAge applies) once that has
# passed.  Then `ipcgc sweep` must remove exactly the objects judged ORPHAN.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }

# name                 before     after      later
SCENARIOS='
shm-attached           LIVE       ORPHAN     -
shm-minage             LIVE       PENDING    ORPHAN
shm-creator-died       LIVE       LIVE       -
msg-live-sender        LIVE       ORPHAN     -
msg-never-used-uid     LIVE       ORPHAN     -
sem-waiter             LIVE       ORPHAN     -
msg-receiver-waiting   LIVE       ORPHAN     -
sem-lastop-alive       LIVE       ORPHAN     -
sem-never-used         LIVE       ORPHAN     -
mq-held                LIVE       ORPHAN     -
mq-notify              LIVE       ORPHAN     -
pshm-mapped            LIVE       ORPHAN     -
pshm-opath-only        ORPHAN     ORPHAN     -
psem-mapped            LIVE       ORPHAN     -
fifo-reader            LIVE       ORPHAN     -
fifo-unheld-old        PENDING    PENDING    ORPHAN
sem-leader-exited      LIVE       ORPHAN     -
pshm-leader-exited     LIVE       ORPHAN     -
fifo-thread-opening    LIVE       ORPHAN     -
pid-reuse              ORPHAN     ORPHAN     -
owner-pidfile          LIVE       ORPHAN     -
owner-process          LIVE       ORPHAN     -
owner-unit             LIVE       ORPHAN     -
action-keep            PROTECTED  PROTECTED  -
action-report          REPORTED   REPORTED   -
unreadable-proc        UNKNOWN    UNKNOWN    -
unreadable-sem         UNKNOWN    UNKNOWN    -
'

# --- helpers for one scenario (run inside its namespaces) --------------------

rule() { # rule NAME KEY=VALUE...: appends a [Rule NAME] to the config
    printf '\n[Rule %s]\n' "$1" >>"$CONF"
    shift
    printf '%s\n' "$@" >>"$CONF"
}

verdict() { # verdict ID: the verdict ipcgc gives now ("GONE" if not listed)
    local v
    v=$(IPCGC_RUN "$IPCGC" --local --config "$CONF" explain -J "$1" 2>/dev/null |
        jq -r 'if .error == "io.ipcgc.NoSuchObject" then "GONE" else .verdict end')
    echo "${v:-GONE}"
}

IPCGC_RUN() { "$@"; } # scenarios may run ipcgc as another user

stop() { # stop PID: ends a process and waits until it is gone from /proc
    kill -TERM "$1" 2>/dev/null
    local i
    for i in $(seq 200); do
        [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ] || return 0
        read -r -t 0.01 <> <(:) || true
    done
    echo "# process $1 did not exit" >&2
}

wait_blocked() { # wait_blocked PID: until the process sleeps in the kernel
    local i
    for i in $(seq 500); do
        [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = S ] && return 0
        read -r -t 0.01 <> <(:) || true
    done
    return 1
}

wait_idle() { # wait_idle SECONDS: let the object's timestamps age
    read -r -t "$1" <> <(:) || true
}

spawn_as() { # spawn_as UID CMD...: start a process as UID, set SPAWN_PID once it runs as UID
    setpriv --reuid="$1" --regid="$1" --clear-groups "${@:2}" &
    SPAWN_PID=$!
    local i
    for i in $(seq 500); do
        [ "$(awk '/^Uid:/ {print $2}' "/proc/$SPAWN_PID/status" 2>/dev/null)" = "$1" ] && return 0
        read -r -t 0.01 <> <(:) || true
    done
    not_ok "process $SPAWN_PID never became uid $1"
}

# --- set-ups: each sets OBJ (the object's id) and OWNER (the pid to stop) ----

base_rules() { rule all MinAge=0 Action=collect; }

setup_shm-attached() { base_rules; hold shm 0x5001 4096 0600; OBJ=shm:$HOLD_ID; OWNER=$HOLD_PID; }
setup_shm-minage() { rule all MinAge=3s Action=collect; hold shm 0x5002 4096 0600; OBJ=shm:$HOLD_ID; OWNER=$HOLD_PID; }
setup_shm-creator-died() {
    base_rules
    hold shm 0x5003 4096 0600; OBJ=shm:$HOLD_ID; OWNER=$HOLD_PID
    hold shmat 0x5003 0 0 # a second process stays attached
}
setup_msg-live-sender() { base_rules; hold msg 0x5004 16 0600; OBJ=msg:$HOLD_ID; OWNER=$HOLD_PID; }
setup_msg-never-used-uid() {
    base_rules
    hold_as 4242:4242 -x msg 0x5005 0 0600; OBJ=msg:$HOLD_ID
    spawn_as 4242 sleep 600; OWNER=$SPAWN_PID # the only live process of uid 4242
}
setup_sem-waiter() {
    base_rules
    hold -x sem 0x5006 2 0600; OBJ=sem:$HOLD_ID # its semop pid exits at once
    hold semwait 0x5006 0 0; OWNER=$HOLD_PID
    wait_blocked "$OWNER" || not_ok "semwait never blocked"
}
setup_msg-receiver-waiting() {
    base_rules
    hold -x msg 0x500c 16 0600; OBJ=msg:$HOLD_ID # its sender exits at once
    hold msgwait 0x500c 0 0; OWNER=$HOLD_PID     # a receiver, blocked: no lrpid yet
    wait_blocked "$OWNER" || not_ok "msgwait never blocked"
}
setup_sem-lastop-alive() { base_rules; hold sem 0x5007 2 0600; OBJ=sem:$HOLD_ID; OWNER=$HOLD_PID; }
setup_sem-never-used() {
    base_rules
    hold_as 4243:4243 -x sem0 0x5008 3 0600; OBJ=sem:$HOLD_ID
    spawn_as 4243 sleep 600; OWNER=$SPAWN_PID
}
setup_mq-held() { base_rules; hold mq /sc-held 16 0600; OBJ=mq:/sc-held; OWNER=$HOLD_PID; }
setup_mq-notify() { base_rules; hold mqnotify /sc-notify 16 0600; OBJ=mq:/sc-notify; OWNER=$HOLD_PID; }
setup_pshm-mapped() { base_rules; hold pshm /sc-pshm 8192 0600; OBJ=pshm:/sc-pshm; OWNER=$HOLD_PID; }
setup_pshm-opath-only() { # an O_PATH fd is a place, not a use: no evidence of life
    base_rules; hold -x pshm /sc-opath 4096 0600; OBJ=pshm:/sc-opath
    hold opath /dev/shm/sc-opath 0 0; OWNER=$HOLD_PID
}
setup_psem-mapped() { base_rules; hold psem /sc-psem 0 0600; OBJ=psem:/sc-psem; OWNER=$HOLD_PID; }
setup_fifo-reader() { base_rules; hold fifo "$FIFODIR/reader" 0 0600; OBJ=fifo:$FIFODIR/reader; OWNER=$HOLD_PID; }
setup_fifo-unheld-old() {
    rule fifos Types=fifo MinAge=3s Action=collect
    mkfifo -m 0600 "$FIFODIR/old"; OBJ=fifo:$FIFODIR/old; OWNER=
}
# The main thread has called pthread_exit: /proc/PID shows a zombie with no
# fds or maps, while another thread keeps the process and its objects alive.
setup_sem-leader-exited() { base_rules; hold -T sem 0x500b 2 0600; OBJ=sem:$HOLD_ID; OWNER=$HOLD_PID; wait_leader_gone "$OWNER"; }
setup_pshm-leader-exited() { base_rules; hold -T pshm /sc-leader 8192 0600; OBJ=pshm:/sc-leader; OWNER=$HOLD_PID; wait_leader_gone "$OWNER"; }
# A thread other than the main one is blocked opening the FIFO, waiting for a
# writer: no fd yet, and only that thread's wchan says so.
setup_fifo-thread-opening() {
    base_rules
    hold fifowait "$FIFODIR/waited" 0 0600; OBJ=fifo:$FIFODIR/waited; OWNER=$HOLD_PID
    local i t
    for i in $(seq 500); do
        for t in /proc/"$OWNER"/task/*; do
            [ "$t" != "/proc/$OWNER/task/$OWNER" ] && [ "$(cat "$t/wchan" 2>/dev/null)" = wait_for_partner ] && return 0
        done
        read -r -t 0.01 <> <(:) || true
    done
    not_ok "fifo-thread-opening: the thread never blocked in open"
}
wait_leader_gone() { # until the main thread shows as exited
    local i
    for i in $(seq 500); do
        [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
        read -r -t 0.01 <> <(:) || true
    done
    not_ok "the main thread of $1 never exited"
}
setup_pid-reuse() {
    base_rules
    hold -x shm 0x5009 4096 0600; OBJ=shm:$HOLD_ID; local dead=$HOLD_PID
    # Second-granular timestamps get 1 s of slack: age the object past it,
    # then hand the creator's pid to a new process.
    wait_idle 2.2
    echo $((dead - 1)) >/proc/sys/kernel/ns_last_pid
    sleep 600 &
    OWNER=$!
    if [ "$OWNER" != "$dead" ]; then not_ok "pid reuse: got pid $OWNER, wanted $dead"; fi
}
setup_owner-pidfile() {
    rule pf Name=/sc-pidfile "Owner=pidfile:$T/run/*.pid" MinAge=0 Action=collect
    hold -x pshm /sc-pidfile 4096 0600; OBJ=pshm:/sc-pidfile
    sleep 600 &
    OWNER=$!
    mkdir -p "$T/run"; echo "$OWNER" >"$T/run/app.pid"
}
setup_owner-process() {
    rule proc Name=/sc-process Owner=process:zzowner MinAge=0 Action=collect
    hold -x pshm /sc-process 4096 0600; OBJ=pshm:/sc-process
    cp "$(command -v sleep)" "$T/zzowner"
    "$T/zzowner" 600 &
    OWNER=$!
}
setup_owner-unit() {
    # The unit comes from /proc/PID/cgroup.  A cgroup named like a unit, made
    # in the cgroup2 hierarchy mounted in our private mount namespace and
    # removed on exit, stands in for one.
    mkdir -p "$T/cg2" && mount -t cgroup2 none "$T/cg2" || not_ok "owner-unit: cannot mount cgroup2"
    UNIT_CGROUP=$T/cg2/ipcgc-test-$$-$RANDOM.service
    mkdir "$UNIT_CGROUP" || not_ok "owner-unit: cannot make $UNIT_CGROUP"
    trap 'kill -9 $(cat "$UNIT_CGROUP/cgroup.procs" 2>/dev/null) 2>/dev/null; wait; rmdir "$UNIT_CGROUP"' EXIT
    rule unit Name=/sc-unit "Owner=unit:ipcgc-test-*.service" MinAge=0 Action=collect
    hold -x pshm /sc-unit 4096 0600; OBJ=pshm:/sc-unit
    sleep 600 &
    OWNER=$!
    echo "$OWNER" >"$UNIT_CGROUP/cgroup.procs"
}
setup_action-keep() {
    rule keep Name=/sc-keep Action=keep
    base_rules
    hold pshm /sc-keep 4096 0600; OBJ=pshm:/sc-keep; OWNER=$HOLD_PID
    stop "$OWNER"; OWNER= # an orphan from the start
}
setup_action-report() {
    rule rep Name=/sc-report Action=report
    base_rules
    hold -x pshm /sc-report 4096 0600; OBJ=pshm:/sc-report; OWNER=
}
setup_unreadable-proc() {
    # Run ipcgc as an unprivileged user: root's /proc/PID/fd is closed to it,
    # so it cannot know whether a root process holds the object.
    base_rules
    hold -x pshm /sc-unreadable 4096 0644; OBJ=pshm:/sc-unreadable; OWNER=
    chmod 0644 "$CONF"
    IPCGC_RUN() { setpriv --reuid=4244 --regid=4244 --clear-groups "$@"; }
}
setup_unreadable-sem() {
    base_rules
    hold -x sem 0x500a 2 0600; OBJ=sem:$HOLD_ID; OWNER=
    chmod 0644 "$CONF"
    IPCGC_RUN() { setpriv --reuid=4244 --regid=4244 --clear-groups "$@"; }
}

run_one() { # inside the namespaces: one scenario, "ok"/"not ok" lines out
    local name=$1 before=$2 after=$3 later=$4 v
    "setup_$name"

    is "$(verdict "$OBJ")" "$before" "$name: $before while its owner lives"
    [ -n "$OWNER" ] && stop "$OWNER"
    v=$(verdict "$OBJ")
    is "$v" "$after" "$name: $after once the owner is gone"
    if [ "$later" != - ]; then
        wait_idle 3.2
        v=$(verdict "$OBJ")
        is "$v" "$later" "$name: $later once MinAge has passed"
    fi

    # The sweep removes exactly what is ORPHAN now, and nothing else.
    local json removed present
    json=$(IPCGC_RUN "$IPCGC" --local --config "$CONF" sweep -J)
    removed=$(jq -r '[.records[] | select(.action == "removed") | .id] | join(" ")' <<<"$json")
    if [ "$v" = ORPHAN ]; then
        is "$removed" "$OBJ" "$name: sweep removes it"
        is "$(verdict "$OBJ")" GONE "$name: and it is gone"
    else
        is "$removed" "" "$name: sweep removes nothing"
        present=$(IPCGC_RUN "$IPCGC" --local --config "$CONF" list -J | jq -r --arg id "$OBJ" '[.objects[] | select(.id == $id)] | length')
        is "$present" 1 "$name: and it is still there"
    fi
    return 0
}

if [ "${1:-}" = --scenario ]; then
    enter_private_namespaces "$@"
    run_one "$2" "$3" "$4" "$5"
    exit 0
fi

# --- the table, one fresh namespace per row ----------------------------------
out=$(mktemp)
while read -r name before after later; do
    [ -n "$name" ] || continue
    bash "$0" --scenario "$name" "$before" "$after" "$later" >>"$out"
done <<<"$SCENARIOS"
# One TAP stream: renumber the rows' results in order.
awk '/^1\.\./ { next }
     /^(not )?ok [0-9]+/ { n++; sub(/ok [0-9]+/, "ok " n) }
     { print }
     END { print "1.." n }' "$out"
failed=$(grep -c '^not ok' "$out")
rm -f "$out"
[ "$failed" -eq 0 ]
