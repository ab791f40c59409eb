#!/bin/bash
# Sweeps while live processes keep using their objects: none may be touched.
# The rule collects anything orphaned at once (MinAge=0), so only evidence of
# life stands between these objects and removal.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

printf '\n[Rule all]\nMinAge=0\nAction=collect\n' >>"$CONF"

# Busy users: attach/detach, semop, send/receive in tight loops.  shmbusy
# drops nattch to 0 between attaches, so its creator pid is what keeps it.
hold shmbusy 0x7001 4096 0600
hold sembusy 0x7002 2 0600
hold msgbusy 0x7003 0 0600
hold mqbusy /busy-mq 64 0600
# Quiet holders.
hold shm 0x7004 4096 0600
hold pshm /busy-pshm 4096 0600
hold psem /busy-psem 0 0600
hold fifo "$FIFODIR/busy-fifo" 0 0600

before=$("$IPCGC" --local --config "$CONF" list -J | jq -c '[.objects[].id] | sort')
is "$(jq length <<<"$before")" 8 "eight live objects to start with"

removed=0
for i in $(seq 25); do
    n=$("$IPCGC" --local --config "$CONF" sweep -J | jq '.removed')
    removed=$((removed + n))
done
is "$removed" 0 "25 sweeps during live use removed nothing"

after=$("$IPCGC" --local --config "$CONF" list -J | jq -c '[.objects[].id] | sort')
is "$after" "$before" "every object is still there"
verdicts=$("$IPCGC" --local --config "$CONF" list -J | jq -r '[.objects[].verdict] | unique | join(",")')
is "$verdicts" LIVE "every object is judged LIVE"

done_testing
