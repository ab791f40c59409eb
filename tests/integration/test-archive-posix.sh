#!/bin/bash
# The archive's POSIX and FIFO capture and restore (lib/archive_posix.c,
# issue 11), driven by tests/helpers/archive-posix-try in private
# namespaces: an object with known contents is saved, removed, restored and
# opened again by name.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

TRY="$top_builddir/tests/helpers/archive-posix-try"
E=$T/entries
mkdir -m 0700 "$E"
entry() { mkdir -m 0700 "$E/$1" && echo "$E/$1"; }
# try ARGS...: the helper's output on one line ("taken ok", "EEXIST"...)
try() { "$TRY" "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
fact() { awk -v k="$2" '$1 == k { print $2 }' "$1/facts"; }

# --- pshm: 48 KiB of a known pattern, owned by nobody, mode 0640 ---
yes 'ipcgc archive pattern 0123456789' | head -c 49152 >/dev/shm/ipcgc-pshm
chown 65534:65534 /dev/shm/ipcgc-pshm && chmod 0640 /dev/shm/ipcgc-pshm
sum=$(sha256sum </dev/shm/ipcgc-pshm)
touch -a -d @1000000000 /dev/shm/ipcgc-pshm
en=$(entry pshm)
is "$(try save pshm /dev/shm ipcgc-pshm "$en")" ok "pshm: saved"
is "$(stat -c %X /dev/shm/ipcgc-pshm)" 1000000000 "pshm: the save left its atime alone"
is "$(fact "$en" bytes)" 49152 "pshm: 48 KiB archived"
is "$(stat -c '%a %F' "$en/entry") $(entry_contents "$en/entry" | wc -c)" "600 regular file 49152" \
    "pshm: the entry is a regular file, 0600, its contents the file's size"
rm /dev/shm/ipcgc-pshm
is "$(try restore pshm /dev/shm ipcgc-pshm "$en")" ok "pshm: restored"
is "$(sha256sum </dev/shm/ipcgc-pshm)" "$sum" "pshm: same bytes"
is "$(stat -c '%a %u %g %s' /dev/shm/ipcgc-pshm)" "640 65534 65534 49152" "pshm: mode, owner, size"
is "$(try restore pshm /dev/shm ipcgc-pshm "$en")" EEXIST "pshm: restore refuses a name taken now"
is "$(sha256sum </dev/shm/ipcgc-pshm) $(stat -c '%a %u' /dev/shm/ipcgc-pshm)" "$sum 640 65534" \
    "pshm: and leaves the one there alone"
is "$(try save pshm /dev/shm ipcgc-pshm "$(entry pshm-big)" 4096)" EFBIG "pshm: over MAXBYTES is EFBIG"
is "$(sha256sum </dev/shm/ipcgc-pshm)" "$sum" "pshm: untouched by a refused save"

# --- a sparse pshm: 1 MiB with 4 KiB written at 512 KiB ---
truncate -s 1M /dev/shm/ipcgc-sparse
head -c 4096 /dev/urandom | dd of=/dev/shm/ipcgc-sparse bs=4096 seek=128 conv=notrunc status=none
sum=$(sha256sum </dev/shm/ipcgc-sparse)
en=$(entry sparse)
is "$(try save pshm /dev/shm ipcgc-sparse "$en")" ok "sparse: saved"
is "$(fact "$en" bytes) $(fact "$en" sparse)" "4096 1" "sparse: 4 KiB archived, holes kept"
# The helper writes no manifest: the entry's first 64 KiB are a hole too.
is "$(stat -c '%s %b' "$en/entry")" "$((65536 + 1048576)) 8" "sparse: the entry is 64 KiB and 1 MiB of contents in 4 KiB of blocks"
# With a manifest, as the library writes one (its text, then the hole): its
# block and the data's, 8 KiB; the contents untouched.
echo '{"format": "ipcgc-archive 2"}' | entry_set_manifest "$en/entry"
is "$(stat -c '%s %b' "$en/entry")" "$((65536 + 1048576)) 16" "sparse: with a manifest, its block and the data's"
is "$(entry_manifest "$en/entry")" '{"format": "ipcgc-archive 2"}' "sparse: the manifest reads back"
rm /dev/shm/ipcgc-sparse
is "$(try restore pshm /dev/shm ipcgc-sparse "$en")" ok "sparse: restored"
is "$(sha256sum </dev/shm/ipcgc-sparse)" "$sum" "sparse: same bytes"
is "$(stat -c '%s %b' /dev/shm/ipcgc-sparse)" "1048576 8" "sparse: still sparse (st_blocks)"

# --- psem with value 4 ---
"$TRY" semmake /ipcgc-psem 4 0644
en=$(entry psem)
is "$(try save psem /dev/shm sem.ipcgc-psem "$en")" ok "psem: saved"
rm /dev/shm/sem.ipcgc-psem
is "$(try restore psem /dev/shm sem.ipcgc-psem "$en")" ok "psem: restored"
is "$(try semvalue /ipcgc-psem)" 4 "psem: value 4"
is "$(stat -c '%a %u' /dev/shm/sem.ipcgc-psem)" "644 0" "psem: mode and owner"

# --- symlinks planted at a file's name: never followed ---
mkfifo "$T/outside-pipe"
yes outside | head -c 8192 >"$T/outside-file"
outside_before=$(stat -c '%a %u %s %Y' "$T/outside-file")
yes 'ipcgc' | head -c 8192 >/dev/shm/ipcgc-plant
is "$(ARCHIVE_TRY_PLANT=$T/outside-file try save pshm /dev/shm ipcgc-plant "$(entry plant)")" ESTALE \
    "pshm: a symlink put at the name after the read gives ESTALE on save"
is "$(try restore pshm /dev/shm ipcgc-plant "$E/pshm")" EEXIST "pshm: a symlink at the name gives EEXIST on restore"
is "$(stat -c '%a %u %s %Y' "$T/outside-file")" "$outside_before" "pshm: its target untouched"
ln -s "$T/nothing-here" /dev/shm/ipcgc-dangling
is "$(try restore pshm /dev/shm ipcgc-dangling "$E/pshm")" EEXIST "pshm: a dangling symlink too gives EEXIST"
check "pshm: and its target was not created" test ! -e "$T/nothing-here"
# A symlink at the entry file itself (to a good entry) is no entry.
mkdir -m 0700 "$E/pshm-link" && cp -a "$E/pshm/facts" "$E/pshm-link/" && ln -s "$E/pshm/entry" "$E/pshm-link/entry"
is "$(try restore pshm /dev/shm ipcgc-linked "$E/pshm-link")" ENOENT "pshm: a symlink for the entry is refused (ENOENT)"
check "pshm: and nothing was made" test ! -e /dev/shm/ipcgc-linked

# --- FIFO: mode 0640, owned by nobody ---
mkfifo "$FIFODIR/pipe"
chown 65534:65534 "$FIFODIR/pipe" && chmod 0640 "$FIFODIR/pipe"
en=$(entry fifo)
is "$(try save fifo "$FIFODIR" pipe "$en")" ok "fifo: saved"
rm "$FIFODIR/pipe"
is "$(try restore fifo "$FIFODIR" pipe "$en")" ok "fifo: restored"
is "$(stat -c '%F %a %u %g' "$FIFODIR/pipe")" "fifo 640 65534 65534" "fifo: a FIFO, mode 0640, owner nobody"
is "$(try restore fifo "$FIFODIR" pipe "$en")" EEXIST "fifo: restore refuses a name taken now"
rm "$FIFODIR/pipe"
ln -s "$T/outside-pipe" "$FIFODIR/pipe"
is "$(try restore fifo "$FIFODIR" pipe "$en")" EEXIST "fifo: a symlink at the path gives EEXIST on restore"
is "$(stat -c '%a %u' "$T/outside-pipe")" "644 0" "fifo: the symlink's target keeps its mode and owner"
rm "$FIFODIR/pipe" && mkfifo "$FIFODIR/pipe2"
is "$(ARCHIVE_TRY_PLANT=$T/outside-pipe try save fifo "$FIFODIR" pipe2 "$(entry fifo-plant)")" ESTALE \
    "fifo: a symlink put at the path after the read gives ESTALE on save"

# --- mq: 2 messages of priorities 1 and 9, owner nobody, mode 0640 ---
"$TRY" mqmake /ipcgc-mq 10 128 0640 1:low-first 9:high-second
chown 65534:65534 "$MQDIR/ipcgc-mq"
en=$(entry mq-big)
is "$(try save mq "$MQDIR" ipcgc-mq "$en" 20)" EFBIG "mq: over MAXBYTES is EFBIG, nothing taken"
en=$(entry mq)
is "$(try save mq "$MQDIR" ipcgc-mq "$en")" "taken ok" "mq: saved, its messages taken"
is "$(fact "$en" messages) $(fact "$en" bytes) $(fact "$en" mq_maxmsg) $(fact "$en" mq_msgsize)" \
    "2 44 10 128" "mq: 2 messages, 44 bytes of records, attributes 10 x 128"
rm "$MQDIR/ipcgc-mq"
is "$(try restore mq "$MQDIR" ipcgc-mq "$en")" ok "mq: restored"
is "$(stat -c '%a %u %g' "$MQDIR/ipcgc-mq")" "640 65534 65534" "mq: mode and owner"
is "$(try restore mq "$MQDIR" ipcgc-mq "$en")" EEXIST "mq: restore refuses a name taken now"
is "$(try mqread /ipcgc-mq)" "9:high-second 1:low-first attr 10 128" \
    "mq: messages in order with their priorities, attributes kept (and the existing queue left alone)"

# --- mq putback: the same order, ties by age included ---
"$TRY" mqmake /ipcgc-mq2 10 64 0600 1:one 9:nine 1:two 5:five
en=$(entry mq2)
is "$(try save mq "$MQDIR" ipcgc-mq2 "$en")" "taken ok" "mq putback: saved"
is "$(try putback "$MQDIR" ipcgc-mq2 "$en")" ok "mq putback: put back"
is "$(try mqread /ipcgc-mq2)" "9:nine 5:five 1:one 1:two attr 10 64" "mq putback: every message back, in order"

# --- corrupt messages in the contents: EBADMSG, and no queue left behind ---
corrupt() { # corrupt NAME PYTHON-EXPR-ON-d: a copy of the mq entry with its contents rewritten
    cp -a "$E/mq" "$E/$1"
    entry_contents "$E/mq/entry" |
        python3 -c "import struct,sys; d=bytearray(sys.stdin.buffer.read()); $2; sys.stdout.buffer.write(d)" |
        entry_set_contents "$E/$1/entry"
}
corrupt bad-len "d[4:12]=struct.pack('=Q', 1 << 62)"
is "$(try restore mq "$MQDIR" ipcgc-bad "$E/bad-len")" EBADMSG "mq: a huge length gives EBADMSG"
check "mq: and leaves no queue" test ! -e "$MQDIR/ipcgc-bad"
corrupt bad-cut "del d[-3:]"
is "$(try restore mq "$MQDIR" ipcgc-bad "$E/bad-cut")" EBADMSG "mq: a truncated record gives EBADMSG"
check "mq: and leaves no queue" test ! -e "$MQDIR/ipcgc-bad"
corrupt bad-prio "d[0:4]=struct.pack('=I', 40000)"
is "$(try restore mq "$MQDIR" ipcgc-bad "$E/bad-prio")" EBADMSG "mq: a priority past MQ_PRIO_MAX gives EBADMSG"
# One record, consistent with the facts in all but its length: 129 bytes
# in a queue of 128-byte messages, which must never be read into the buffer.
corrupt bad-size "d[:]=struct.pack('=IQ', 1, 129) + b'x' * 129"
sed -i 's/^messages .*/messages 1/; s/^bytes .*/bytes 141/' "$E/bad-size/facts"
is "$(try restore mq "$MQDIR" ipcgc-bad "$E/bad-size")" EBADMSG "mq: a message longer than mq_msgsize gives EBADMSG"
check "mq: and leaves no queue" test ! -e "$MQDIR/ipcgc-bad"
cp -a "$E/mq" "$E/bad-attr" && sed -i 's/^mq_msgsize .*/mq_msgsize 1099511627776/' "$E/bad-attr/facts"
is "$(try restore mq "$MQDIR" ipcgc-bad "$E/bad-attr")" EBADMSG \
    "mq: an mq_msgsize past the kernel's ceiling gives EBADMSG"
cp -a "$E/mq" "$E/bad-count" && sed -i 's/^messages .*/messages 3/' "$E/bad-count/facts"
is "$(try restore mq "$MQDIR" ipcgc-bad "$E/bad-count")" EBADMSG "mq: a count other than the file's gives EBADMSG"
check "mq: and leaves no queue" test ! -e "$MQDIR/ipcgc-bad"

done_testing
