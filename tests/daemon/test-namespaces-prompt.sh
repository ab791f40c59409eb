#!/bin/bash
# Issue 14, acceptance 2's last part: ipcgcd with Namespaces=all removes an
# object orphaned by an exit inside a container within 1 s of the exit,
# prompted by the process connector, which the kernel serves only to the
# initial PID namespace.  So this test keeps the host's PID namespace (its
# IPC and mounts are private all the same), and the daemon sees every IPC
# namespace of this machine: its rules collect only in the test's own
# namespace and in the test's container (by its name, docker:<random id>),
# and only report everywhere else.  Nothing outside the test is removed:
# that is checked too.
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }
export IPCGC_TEST_EXCLUSIVE=1
IPCGC_TEST_KEEP_PIDNS=1 enter_private_namespaces "$@"
trap 'kill $DAEMON_PID $(jobs -p) 2>/dev/null' EXIT

HEX=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
NAME="docker:${HEX:0:12}"
daemon_config "Namespaces=all" "ArchiveDir=$T/archive"
# First match wins: the test's container, then every other container (report
# only, never removed), then the test's own namespace.
printf '\n[Rule test-container]\nContainer=%s\nMinAge=0\nAction=collect\n' "$NAME" >>"$CONF"
printf '\n[Rule other-namespaces]\nNamespace=container\nAction=report\n' >>"$CONF"
printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"

cat >"$T/container.sh" <<'EOS'
set -eu
cg=$1 stop=$2
export top_builddir=$3 top_srcdir=$4
. "$top_srcdir/tests/integration/lib.sh"
echo $$ >"$cg/cgroup.procs"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t mqueue mqueue "$MQDIR"
# The segment's user is a service of its own inside the container (as
# under an init in an nspawn machine): its exit leaves no unit of it
# running, while the container's does (which would keep it live).
mkdir "$cg/worker.service"
hold shm 0x5101 4096 0600; shm=$HOLD_ID; shm_holder=$HOLD_PID
echo "$shm_holder" >"$cg/worker.service/cgroup.procs"
hold pshm /prompt-live 4096 0600; pshm_holder=$HOLD_PID
echo "ready $(stat -L -c %i /proc/self/ns/ipc) $shm $shm_holder $pshm_holder $$"
read -r _ <"$stop"
kill $pshm_holder 2>/dev/null || true
EOS
CGROOT=$(test_cgroup_root)
mkdir -p "$CGROOT/docker-$HEX.scope"
mkfifo "$T/stop"
exec {fd}< <(MQDIR=$MQDIR unshare --ipc --mount --propagation private -- \
    bash "$T/container.sh" "$CGROOT/docker-$HEX.scope" "$T/stop" "$top_builddir" "$top_srcdir")
read -r -u "$fd" word NS SHM SHM_HOLDER PSHM_HOLDER CPID || { echo "Bail out! the container did not start"; exit 1; }
[ "$word" = ready ] || { echo "Bail out! the container: $word"; exit 1; }

start_daemon
list() { "$IPCGC" --config "$CONF" list --namespace "$NAME" -J; }
verdict() { list | jq -r --arg id "$1" '[.objects[] | select(.id == $id) | .verdict] | .[0] // "gone"'; }
is "$(verdict "ipc:$NS/shm:$SHM")" LIVE "through the daemon: the container's shm is LIVE (attached)"
is "$(verdict "ipc:$NS/pshm:/prompt-live")" LIVE "through the daemon: the container's pshm is LIVE (held)"
status=$("$IPCGC" --config "$CONF" status -J)
is "$(jq -r .process_events <<<"$status")" true "the daemon listens to the process connector"

# The container's own view of its segments: /proc/sysvipc shows the reader's
# IPC namespace.
in_container_shm() { nsenter --target "$CPID" --ipc -- awk -v id="$1" 'NR > 1 && $2 == id' /proc/sysvipc/shm; }
[ -n "$(in_container_shm "$SHM")" ] && ok "the segment is there before its holder exits" ||
    not_ok "the segment is there before its holder exits"

t0=${EPOCHREALTIME/./}
kill "$SHM_HOLDER"
gone_us=
for _ in $(seq 500); do
    if [ -z "$(in_container_shm "$SHM")" ]; then
        gone_us=$((${EPOCHREALTIME/./} - t0))
        break
    fi
    read -r -t 0.01 <> <(:) || true
done
if [ -n "$gone_us" ] && [ "$gone_us" -le 1000000 ]; then
    ok "the orphaned segment is removed from the container $((gone_us / 1000)) ms after its holder's exit (<= 1 s)"
else
    not_ok "the orphaned segment is removed from the container within 1 s of its holder's exit" \
        "after ${gone_us:-more than 5 s} us; $(tail -n 5 "$T/ipcgcd.err")
$("$IPCGC" --config "$CONF" explain "ipc:$NS/shm:$SHM" 2>&1)
$("$IPCGC" --config "$CONF" status 2>&1)"
fi
[ -n "$gone_us" ] || diag "$("$IPCGC" --config "$CONF" explain "ipc:$NS/shm:$SHM" 2>&1; "$IPCGC" --config "$CONF" status 2>&1; cat "$T/ipcgcd.err")"
line=$(grep -F " ipc:$NS/shm:$SHM removed: " "$T/ipcgcd.err")
[ -n "$line" ] && ok "the daemon's log names it as ipc:$NS/shm:$SHM" ||
    not_ok "the daemon's log names it as ipc:$NS/shm:$SHM" "$(tail -n 5 "$T/ipcgcd.err")"
diag "$line"
is "$(verdict "ipc:$NS/pshm:/prompt-live")" LIVE "the live pshm stays"

# Nothing was removed but the test's: every removal the daemon logged is of
# the test's container (or of the test's own namespace, which has nothing).
others=$(grep -E ' removed: ' "$T/ipcgcd.err" | grep -vF " ipc:$NS/")
is "$others" "" "nothing removed outside the test's container"
alive "the prompt sweep"

echo done >"$T/stop"
stop_daemon
done_testing
