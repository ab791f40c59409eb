#!/bin/bash
# Tables as good as lsipc's: `ipcgc list` at 100 columns through a pty (no
# key or number cut, only free text, at a word, with an ellipsis), sorted,
# --notruncate, --export, --time-format, STATUS dest/locked, mq AGE, a UTF-8
# name as it is and its ID taken back by explain and rm.  Objects of root and
# of uid 4600, in private namespaces.  (The sweep's table: test-main-job.sh.)
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

U=4600:4600
export LC_ALL=C.UTF-8 TZ=UTC

# Two keys a digit apart, one segment marked for destruction (removed while
# attached), one locked; a queue, a set and a FIFO of uid 4600.
hold shm 0x00012340 65536 0640;   A_ID=$HOLD_ID A_PID=$HOLD_PID
hold shm 0x00012341 4096 0600;    B_ID=$HOLD_ID
hold shm 0x00012342 4096 0600;    DEST_ID=$HOLD_ID
ipcrm -m "$DEST_ID"
hold shm 0x00012343 4096 0600;    LOCK_ID=$HOLD_ID
perl -MIPC::SysV=SHM_LOCK -e 'shmctl($ARGV[0], SHM_LOCK, 0) or die "SHM_LOCK: $!"' "$LOCK_ID"
hold_as $U -x msg 0x00004600 100 0620; MSG_ID=$HOLD_ID
hold_as $U -x sem 0x00004601 3 0600;   SEM_ID=$HOLD_ID
hold_as $U -x mq /old-q 10 0640
hold -x mq /ünï 10 0640
hold_as $U -x fifo "$FIFODIR/pipe" 0 0620
# A pid of three digits or more in a reason: the helper's, a reason long
# enough to be cut.  An mq last sent to an hour ago.
touch -m -d "@$(($(date +%s) - 3600))" "$MQDIR/old-q"

L() { "$IPCGC" --config "$CONF" list --local "$@"; }
# On a terminal of 100 columns (script(1) gives it a pty).
tty100() { script -qec "stty cols 100 rows 50; $(printf '%q ' "$@")" /dev/null | tr -d '\r'; }

# --- 100 columns ---------------------------------------------------------------
out=$(tty100 "$IPCGC" --config "$CONF" list --local)
printf '%s\n' "$out" | sed 's/^/# /'
is "$(awk '{ if (length($0) > w) w = length($0) } END { print (w <= 100) }' <<<"$(sed 's/…/./g' <<<"$out")")" 1 \
    "every line fits 100 columns"
head=$(head -1 <<<"$out" | tr -s ' ')
is "$head" "ID KEY OWNER SIZE STATUS HOLDERS AGE VERDICT REASON" "default columns"
check "KEY whole: 0x00012340" grep -q " 0x00012340 " <<<"$out"
check "KEY whole: 0x00012341, distinct from its neighbour" grep -q " 0x00012341 " <<<"$out"
is "$(grep -c '^shm:' <<<"$out")" 4 "the four segments, one line each"
# No reason is cut inside a word or a number: every cut one ends in "…" right
# after a whole word of the uncut reason.
full=$(L -r -n -o ID,REASON --notruncate)
bad=0 cuts=0
while read -r id; do
    cut=$(awk -v id="$id" '$1 == id' <<<"$out" | sed 's/.* \(LIVE\|REPORTED\|PENDING\|ORPHAN\|PROTECTED\|UNKNOWN\) *//')
    whole=$(awk -v id="$id" '$1 == id { $1 = ""; print substr($0, 2) }' <<<"$full" | sed 's/\\x20/ /g')
    case $cut in
    *…)
        cuts=$((cuts + 1))
        prefix=${cut%…}
        rest=${whole#"$prefix"}
        if [ "$rest" = "$whole" ] || ! [[ $rest =~ ^[\ \,\;] ]]; then
            bad=$((bad + 1))
            echo "# cut inside a word: '$cut' of '$whole'"
        fi ;;
    *) [ "$cut" = "$whole" ] || { bad=$((bad + 1)); echo "# changed without an ellipsis: '$cut' of '$whole'"; } ;;
    esac
done < <(L -r -n -o ID | grep -v '^fifo:')
check "some reasons are cut to fit ($cuts)" test "$cuts" -gt 0
is "$bad" 0 "every cut reason ends at a word, with an ellipsis; every other is whole"
check "numbers are never cut: no cell of digits ends in an ellipsis" \
    bash -c '! grep -qE "(^| )[0-9]+…" <<<"$1"' _ "$out"
is "$(awk '$1 == "shm:'"$DEST_ID"'" { print $5 }' <<<"$out")" dest "the segment marked for destruction shows dest"
is "$(awk '$1 == "shm:'"$LOCK_ID"'" { print $5 }' <<<"$out")" locked "the locked segment shows locked"
is "$(awk '$1 == "shm:'"$A_ID"'" { print $5 }' <<<"$out")" - "a plain segment shows no status"

# A long ID goes on a line of its own, not making every row wider.
long="$FIFODIR/a-long-fifo-name-that-is-wider-than-a-third-of-the-terminal"
mkfifo "$long"
out=$(tty100 "$IPCGC" --config "$CONF" list --local)
check "the long FIFO's ID on a line of its own, whole" grep -qx -F "fifo:$long" <<<"$out"
is "$(awk '{ if (length($0) > w) w = length($0) } END { print (w <= 100) }' <<<"$(sed 's/…/./g' <<<"$out")")" 1 \
    "with it, every line still fits 100 columns"
rm "$long"

# --- Sorted by type, then id or name --------------------------------------------
order=$(L -r -n -o TYPE | uniq | tr '\n' ' ')
is "$order" "shm msg sem mq fifo " "rows sorted by type"
is "$(L -r -n -o ID -t shm | tr '\n' ' ')" \
    "$(printf 'shm:%s\n' "$A_ID" "$B_ID" "$DEST_ID" "$LOCK_ID" | sort -t: -k2n | tr '\n' ' ')" "segments sorted by id"
is "$(L -r -n -o ID -t mq | tr '\n' ' ')" "mq:/old-q mq:/ünï " "queues sorted by name"

# --- --notruncate, raw, --export, --time-format -----------------------------------
out=$(tty100 "$IPCGC" --config "$CONF" list --local --notruncate)
check "--notruncate: no ellipsis" bash -c '! grep -q "…" <<<"$1"' _ "$out"
check "--notruncate: a reason whole" grep -qF "attached by pid $A_PID (ipc-hold)" <<<"$out"
out=$(L -o ID,REASON | tail -n +2)
check "into a pipe, as lsipc, nothing is cut" bash -c '! grep -q "…" <<<"$1"' _ "$out"
is "$(L -r -n -o ID,KEY -t msg)" "msg:$MSG_ID 0x00004600" "raw: cells apart by a space"
check "raw: a space inside a cell written \\x20" grep -q '^shm:[0-9]* attached\\x20by\\x20pid' <<<"$(L -r -n -o ID,REASON -t shm)"
exp=$(L -e -o ID,KEY,OWNER,SIZE,CTIME --time-format iso -t msg)
ctime=$(date -u -d "@$(L -J -t msg | jq '.objects[0].ctime')" +%Y-%m-%dT%H:%M:%S+00:00)
is "$exp" "ID=\"msg:$MSG_ID\" KEY=\"0x00004600\" OWNER=\"4600\" SIZE=\"100\" CTIME=\"$ctime\"" \
    "--export: NAME=\"value\" pairs, --time-format iso as lsipc's"
eval "$(L -e -o ID -t mq | grep ü)"
is "$ID" "mq:/ünï" "--export: eval gives the ID back"
is "$(L -e -y -n -o KEY -t msg)" 'KEY="0x00004600"' "-y: names as shell variables"
short=$(L -r -n -o CTIME -t msg)
check "--time-format short (default) is the time today: $short" grep -qxE '[0-9]{2}:[0-9]{2}' <<<"$short"
full=$(L -r -n -o CTIME --time-format full -t msg)
check "--time-format full: $full" grep -qxE '[A-Z][a-z]{2}\\x20[A-Z][a-z]{2}\\x20[ 0-9\\x]+[0-9]{2}:[0-9]{2}:[0-9]{2}\\x20[0-9]{4}' <<<"$full"
L --time-format=week >/dev/null 2>"$T/tf.err"
is "$?" 2 "a bad --time-format is a usage error"
check "which says what it takes" grep -q "short, full or iso" "$T/tf.err"

# lsipc's columns, for the types that have them.
is "$(L -r -n -o ID,NATTCH,CPID,ATTACH,DETACH --time-format iso -t shm | awk 'NR == 1 { print $2, ($3 > 0), ($4 != "-"), $5 }')" \
    "1 1 1 -" "NATTCH, CPID, ATTACH, DETACH of a held segment"
is "$(L -r -n -o ID,USEDBYTES,MSGS,LSPID,LRPID,CUID,CGID -t msg | cut -d' ' -f2,3,5-)" "100 1 0 4600 4600" \
    "USEDBYTES, MSGS, LRPID, CUID, CGID of a queue"
is "$(L -r -n -o NSEMS,UID,GID -t sem)" "3 4600 4600" "NSEMS, UID, GID of a set"
is "$(L -r -n -o LSPID,NSEMS,CUID -t fifo)" "- - -" "a FIFO has none of them"

# Raw and export IDs are taken back: a space (\x20 in raw) and a backslash
# (\\, as every ID writes it).
mkfifo "$FIFODIR/a b" "$FIFODIR/c\\d"
for id in $(L -r -n -o ID -t fifo | grep -v '/pipe$'); do
    out=$("$IPCGC" --config "$CONF" explain --local -J "$id" 2>&1)
    is "$?:$(jq -r .id <<<"$out" 2>/dev/null)" "0:$(jq -r .id <<<"$out" 2>/dev/null | grep -E '/(a b|c\\\\d)$')" \
        "explain takes the raw ID $id, and finds the FIFO it names"
done
is "$(L -r -n -o ID -t fifo | grep -v '/pipe$' | tr '\n' ' ')" "fifo:$FIFODIR/a\\x20b fifo:$FIFODIR/c\\\\d " \
    "raw IDs: a space as \\x20, a backslash as \\\\"
eval "$(L -e -o ID -t fifo | grep 'c\\')"
"$IPCGC" --config "$CONF" explain --local "$ID" >/dev/null 2>&1
is "$?" 0 "an exported ID, given back by eval, is taken back: $ID"
rm "$FIFODIR/a b" "$FIFODIR/c\\d"

# --- mq AGE -------------------------------------------------------------------
is "$(L -r -n -o ID,AGE -t mq | head -1)" "mq:/old-q 1h" "an mq last used an hour ago is 1h old, listed after a status read"
is "$(L -r -n -o ID,AGE -t mq | head -1)" "mq:/old-q 1h" "and again: our own read does not make it new"

# --- Names as they are ----------------------------------------------------------
is "$(L -r -n -o ID -t mq | tail -1)" "mq:/ünï" "an mq named /ünï lists as mq:/ünï under C.UTF-8"
id=$(L -r -n -o ID -t mq | tail -1)
"$IPCGC" --config "$CONF" explain --local "$id" >"$T/explain.out" 2>&1
is "$?:$(head -1 "$T/explain.out")" "0:mq:/ünï: REPORTED" "explain takes the printed ID"
cid=$(LC_ALL=C "$IPCGC" --config "$CONF" list --local -r -n -o ID -t mq | tail -1)
is "$cid" 'mq:/\xc3\xbcn\xc3\xaf' "under C, the same name escaped"
"$IPCGC" --config "$CONF" explain --local "$cid" >/dev/null 2>&1
is "$?" 0 "explain takes that ID too"
"$IPCGC" --config "$CONF" rm --local --force "$id" >"$T/rm.out" 2>&1
is "$?" 0 "rm takes the printed ID"
check "the queue is gone" test ! -e "$MQDIR/ünï"

done_testing
