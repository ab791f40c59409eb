#!/bin/bash
# `ipcgc list` and `ipcgc audit` on one real object of every type, each held
# the way a program holds it, in private namespaces.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

NOBODY=65534:65534

hold shm 0x1234 65536 0640;                     SHM_PID=$HOLD_PID; SHM_ID=$HOLD_ID
hold_as $NOBODY sem 0x2345 3 0600;              SEM_PID=$HOLD_PID; SEM_ID=$HOLD_ID
hold_as $NOBODY -x msg 0xdeadbeef 100 0620;     MSG_PID=$HOLD_PID; MSG_ID=$HOLD_ID
hold mq /ipcgc-test-mq 64 0640;                 MQ_PID=$HOLD_PID
hold pshm /ipcgc-test-pshm 8192 0600;           PSHM_PID=$HOLD_PID
hold psem /ipcgc-test-psem 0 0644;              PSEM_PID=$HOLD_PID
mkdir -m 0755 "$FIFODIR/sub"
hold fifo "$FIFODIR/sub/pipe" 0 0620;           FIFO_PID=$HOLD_PID

# Traps: a symlink to a FIFO outside the tree, and a FIFO deeper than allowed.
mkdir -p "$T/outside" && mkfifo "$T/outside/pipe"
ln -s "$T/outside/pipe" "$FIFODIR/link-to-pipe"
ln -s "$T/outside" "$FIFODIR/link-to-dir"
mkdir -p "$FIFODIR/a/b/c/d/e" && mkfifo "$FIFODIR/a/b/c/d/e/too-deep"

# Known, old timestamps, so a listing that touched them would show.
touch -a -d @1000000000 "$MQDIR/ipcgc-test-mq" "$FIFODIR/sub/pipe"
touch -m -d @1000000500 "$MQDIR/ipcgc-test-mq" "$FIFODIR/sub/pipe"
times_before=$(stat -c '%X %Y' "$MQDIR/ipcgc-test-mq" "$FIFODIR/sub/pipe")

json=$("$IPCGC" --config "$CONF" list --local -J)
rc=$?
is "$rc" 0 "list -J exits 0"

times_after=$(stat -c '%X %Y' "$MQDIR/ipcgc-test-mq" "$FIFODIR/sub/pipe")
is "$times_after" "$times_before" "listing left the mq's and the FIFO's atime and mtime alone"

obj() { jq -c --arg id "$1" '.objects[] | select(.id == $id)' <<<"$json"; }
field() { jq -c --arg id "$1" ".objects[] | select(.id == \$id) | $2" <<<"$json"; }

is "$(jq '.objects | length' <<<"$json")" 7 "seven objects, nothing else (no symlink followed, depth kept)"

# shm: attached by the helper, found through its maps.
id=shm:$SHM_ID
is "$(field $id '[.type,.key,.name,.uid,.gid,.perms,.size]')" '["shm",4660,null,0,0,"0640",65536]' "$id fields"
is "$(field $id '[.cpid,.lpid,.lrpid,.sempids]')" "[$SHM_PID,$SHM_PID,null,null]" "$id cpid and lpid"
is "$(field $id '.holders')" "[$SHM_PID]" "$id attacher found through maps"
is "$(field $id '.nattch')" 1 "$id nattch"

# sem: owned by nobody; the helper's semop shows in sempids.
id=sem:$SEM_ID
is "$(field $id '[.type,.key,.name,.uid,.gid,.perms,.nsems]')" '["sem",9029,null,65534,65534,"0600",3]' "$id fields"
is "$(field $id '[.cpid,.lpid]')" '[null,null]' "$id has no cpid or lpid"
is "$(field $id '.sempids')" "[$SEM_PID,0,0]" "$id sempids hold the semop pid"

# msg: negative key, last sender, never received.
id=msg:$MSG_ID
is "$(field $id '[.type,.key,.uid,.perms,.size,.qnum]')" '["msg",-559038737,65534,"0620",100,1]' "$id fields"
is "$(field $id '[.cpid,.lpid,.lrpid]')" "[null,$MSG_PID,0]" "$id last sender and receiver"

id=mq:/ipcgc-test-mq
is "$(field $id '[.type,.key,.name,.uid,.perms,.size,.notify_pid]')" '["mq",null,"/ipcgc-test-mq",0,"0640",64,0]' "$id fields"
is "$(field $id '.holders')" "[$MQ_PID]" "$id held by the helper's fd"
is "$(field $id '[.atime,.mtime]')" '[1000000000,1000000500]' "$id times as stat saw them"

id=pshm:/ipcgc-test-pshm
is "$(field $id '[.type,.name,.uid,.perms,.size]')" '["pshm","/ipcgc-test-pshm",0,"0600",8192]' "$id fields"
is "$(field $id '.holders')" "[$PSHM_PID]" "$id held by a mapping alone"

id=psem:/ipcgc-test-psem
is "$(field $id '[.type,.name,.uid,.perms]')" '["psem","/ipcgc-test-psem",0,"0644"]' "$id fields"
is "$(field $id '.holders')" "[$PSEM_PID]" "$id held by sem_open's mapping"

id=fifo:$FIFODIR/sub/pipe
is "$(field "$id" '[.type,.name,.uid,.perms,.size]')" "[\"fifo\",\"$FIFODIR/sub/pipe\",0,\"0620\",0]" "fifo fields"
is "$(field "$id" '.holders')" "[$FIFO_PID]" "fifo held by its reader"

for o in "shm:$SHM_ID" "sem:$SEM_ID" "msg:$MSG_ID" mq:/ipcgc-test-mq; do
    is "$(field "$o" '.ctime | type')" '"number"' "$o ctime is epoch seconds"
done

# Filters and table output.
is "$("$IPCGC" --config "$CONF" list --local -u nobody -J | jq -c '[.objects[].type] | sort')" '["msg","sem"]' "-u nobody"
is "$("$IPCGC" --config "$CONF" list --local -t shm,mq -J | jq -c '[.objects[].type] | sort')" '["mq","shm"]' "-t shm,mq"
table=$("$IPCGC" --config "$CONF" list --local -r -n -o TYPE,KEY,NAME,OWNER,PERMS -t shm)
is "$table" "shm 0x00001234 - root rw-r-----" "raw table with chosen columns"
is "$("$IPCGC" --config "$CONF" list --local -r -n -o KEY,NAME -t mq)" "- /ipcgc-test-mq" "KEY and NAME of a queue"
header=$("$IPCGC" --config "$CONF" list --local -t shm | head -1 | tr -s ' ')
is "$header" "ID KEY OWNER SIZE STATUS HOLDERS AGE VERDICT REASON" "default columns"

"$IPCGC" --config "$CONF" list --local --bogus >/dev/null 2>&1
is "$?" 2 "unknown option is a usage error (exit 2)"
"$IPCGC" --config "$CONF" list --local -o NOPE >/dev/null 2>&1
is "$?" 2 "unknown column is a usage error (exit 2)"

# No mqueue mount: everything else is listed, mq is said to be missing once.
mkdir "$T/not-mqueue"
sed "s|^MqueueDir=.*|MqueueDir=$T/not-mqueue|" "$CONF" >"$T/nomq.conf"
json2=$("$IPCGC" --config "$T/nomq.conf" list --local -J 2>"$T/nomq.err")
is "$?" 0 "list without an mqueue mount exits 0"
is "$(jq '.objects | length' <<<"$json2")" 6 "list without an mqueue mount lists the other six"
is "$(grep -c 'POSIX message queues unavailable' "$T/nomq.err")" 1 "says once that mq is unavailable"

# audit: totals per user and type, limits as the kernel has them.
audit=$("$IPCGC" --config "$CONF" audit --local -J)
is "$?" 0 "audit -J exits 0"
u() { jq -c --arg t "$1" --argjson uid "$2" '.usage[] | select(.type == $t and .uid == $uid) | [.count,.bytes]' <<<"$audit"; }
is "$(u shm 0)" '[1,65536]' "audit: root shm"
is "$(u sem 65534)" '[1,0]' "audit: nobody sem"
is "$(u msg 65534)" '[1,100]' "audit: nobody msg"
is "$(u mq 0)" '[1,64]' "audit: root mq"
is "$(u pshm 0)" '[1,8192]' "audit: root pshm"
is "$(u fifo 0)" '[1,0]' "audit: root fifo"
is "$(jq '.usage | length' <<<"$audit")" 7 "audit: seven user/type rows"
# Read off the text, not through jq: shmall can exceed what a double holds.
flat=$(tr -d ' \n' <<<"$audit")
lim() { grep -o "\"name\":\"$1\",\"used\":[0-9]*,\"limit\":[0-9]*" <<<"$flat" | sed 's/.*"used":\([0-9]*\),"limit":\([0-9]*\)/[\1,\2]/'; }
read -r semmsl semmns semopm semmni </proc/sys/kernel/sem
is "$(lim shmmni)" "[1,$(cat /proc/sys/kernel/shmmni)]" "audit: shmmni"
is "$(lim shmall)" "[16,$(cat /proc/sys/kernel/shmall)]" "audit: shmall in pages"
is "$(lim msgmni)" "[1,$(cat /proc/sys/kernel/msgmni)]" "audit: msgmni"
is "$(lim semmni)" "[1,$semmni]" "audit: semmni"
is "$(lim semmns)" "[3,$semmns]" "audit: semmns"
is "$(lim queues_max)" "[1,$(cat /proc/sys/fs/mqueue/queues_max)]" "audit: queues_max"

done_testing
