#!/bin/bash
# Blind spot 8 of issue 9: hidepid.  With /proc mounted hidepid=2 a user
# cannot see other users' processes at all: not unreadable, absent.  A
# non-root `ipcgc --local` run over its own objects held by another user
# then finds no holder and must not conclude death: UNKNOWN, and a sweep
# removes nothing.
#
# uid 4601 owns a POSIX shm object and a FIFO (0666, so that another user
# may open them); uid 4602's process holds both (the shm mapped and open,
# the FIFO open).  ipcgc runs as uid 4601 through setpriv, with no memory of
# life and with the one root's first run left (uid 4601 only reads it).  The
# same is run with hidepid=0 (the other user's processes are there, their
# fds and maps unreadable) and as root (who sees everything) for comparison.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"
trap 'kill $(jobs -p) 2>/dev/null' EXIT

diag() { local line; while IFS= read -r line; do echo "# $line"; done <<<"$*"; }

printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"
# uid 4601's runs only read the memory; this one has none to read.
sed "s|^StateDir=.*|StateDir=$T/state-none|" "$CONF" >"$T/nomem.conf"
TAMPER=$top_builddir/tests/helpers/ipc-tamper
[ -x "$TAMPER" ] || { echo "Bail out! build tests/helpers/ipc-tamper (make check)"; exit 1; }
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }

# uid 4601's objects.
PSHM=/dev/shm/hidepid-pshm
FIFO=$FIFODIR/hidepid-fifo
as 4601 truncate -s 4096 "$PSHM"
as 4601 mkfifo -m 0666 "$FIFO"
chmod 0666 "$PSHM"
IDS="fifo:$FIFO pshm:/hidepid-pshm"
is "$(stat -c '%u %a' "$PSHM") $(stat -c '%u %a' "$FIFO")" "4601 666 4601 666" "uid 4601 owns both, mode 0666"

# uid 4602 holds them.
exec {HOLD_FD}< <(as 4602 "$TAMPER" hold /hidepid-pshm "$FIFO")
read -r -u "$HOLD_FD" word HOLDER && [ "$word" = ready ] || { echo "Bail out! the holder did not start"; exit 1; }
check "the holder runs as uid 4602" test "$(stat -c %u "/proc/$HOLDER")" = 4602

# mine JSON: "id verdict" of the two objects, sorted; reasons JSON: as comments
mine() {
    jq -r --arg ids "$IDS" '.objects[] | select(.id as $i | $ids | split(" ") | index($i)) | "\(.id) \(.verdict)"' <<<"$1" |
        LC_ALL=C sort | paste -sd' '
}
reasons() {
    jq -r --arg ids "$IDS" '.objects[] | select(.id as $i | $ids | split(" ") | index($i)) | "  \(.id) \(.verdict): \(.reason)"' <<<"$1" |
        diag "$(cat)"
}
both_there() { [ -e "$PSHM" ] && [ -p "$FIFO" ]; }

# --- Root sees the holder: LIVE (and the memory learns it) -------------------
json=$("$IPCGC" --local --config "$CONF" list -J)
is "$(mine "$json")" "fifo:$FIFO LIVE pshm:/hidepid-pshm LIVE" "as root: both LIVE"
reasons "$json"

# --- hidepid=0 (the mount the namespaces start with) -------------------------
# The holder is there, its fds and maps unreadable to uid 4601.  With no
# memory that is a view that cannot tell: UNKNOWN.  With the memory root's
# run left, the holder is a remembered pid whose start time uid 4601 can
# still read: LIVE.
check "hidepid=0: uid 4601 sees uid 4602's holder in /proc" as 4601 test -e "/proc/$HOLDER"
json=$(as 4601 "$IPCGC" --local --config "$T/nomem.conf" list -J 2>"$T/hp0-list.err")
reasons "$json"
is "$(mine "$json")" "fifo:$FIFO UNKNOWN pshm:/hidepid-pshm UNKNOWN" "hidepid=0, as uid 4601, no memory: both UNKNOWN (the holder's fds are unreadable)"
out=$(as 4601 "$IPCGC" --local --config "$T/nomem.conf" sweep -J 2>"$T/hp0-sweep.err")
is "$(jq -r '[.records[] | select(.action == "removed") | .id] | join(" ")' <<<"$out")" "" \
    "hidepid=0, as uid 4601, no memory: sweep removes nothing"
json=$(as 4601 "$IPCGC" --local --config "$CONF" list -J 2>"$T/hp0-list.err")
reasons "$json"
is "$(mine "$json")" "fifo:$FIFO LIVE pshm:/hidepid-pshm LIVE" "hidepid=0, as uid 4601, with root's memory: both LIVE (the remembered holder runs)"
out=$(as 4601 "$IPCGC" --local --config "$CONF" sweep -J 2>"$T/hp0-sweep.err")
is "$(jq -r '[.records[] | select(.action == "removed") | .id] | join(" ")' <<<"$out")" "" \
    "hidepid=0, as uid 4601, with root's memory: sweep removes nothing"
check "hidepid=0: the pshm and the FIFO are still there" both_there

# --- hidepid=2 ------------------------------------------------------------------
mount -t proc -o hidepid=2 proc /proc || { echo "Bail out! cannot mount proc with hidepid=2"; exit 1; }
check "hidepid=2: uid 4601 cannot see uid 4602's holder in /proc" as 4601 test ! -e "/proc/$HOLDER"
check "hidepid=2: root still can" test -e "/proc/$HOLDER/fd"

for c in "$T/nomem.conf" "$CONF"; do
    what="with root's memory"
    [ "$c" = "$T/nomem.conf" ] && what="no memory"
    json=$(as 4601 "$IPCGC" --local --config "$c" list -J 2>"$T/hp2-list.err")
    is "$?" 0 "hidepid=2, as uid 4601, $what: list exits 0"
    reasons "$json"
    is "$(mine "$json")" "fifo:$FIFO UNKNOWN pshm:/hidepid-pshm UNKNOWN" "hidepid=2, as uid 4601, $what: both UNKNOWN"
done
for id in $IDS; do
    ev=$(as 4601 "$IPCGC" --local --config "$CONF" explain -J "$id" 2>>"$T/hp2-list.err")
    is "$(jq -r '[.evidence[] | select(.role == "sight")] | length' <<<"$ev")" 1 "hidepid=2: $id's evidence says the sight is partial"
    jq -r '.evidence[] | "  \(.role) \(.state) pid=\(.pid) counts=\(.counts) \(.note // "")"' <<<"$ev" | diag "$id evidence:
$(cat)"
done
out=$(as 4601 "$IPCGC" --local --config "$T/nomem.conf" sweep -J 2>"$T/hp2-sweep.err")
is "$(jq -r '[.records[] | select(.action == "removed") | .id] | join(" ")' <<<"$out")" "" \
    "hidepid=2, as uid 4601, no memory: sweep removes nothing"
out=$(as 4601 "$IPCGC" --local --config "$CONF" sweep -J 2>"$T/hp2-sweep.err")
is "$?" 0 "hidepid=2, as uid 4601, with root's memory: sweep exits 0"
is "$(jq -r '[.records[] | select(.action == "removed") | .id] | join(" ")' <<<"$out")" "" \
    "hidepid=2, as uid 4601, with root's memory: sweep removes nothing"
check "hidepid=2: the sweep says once why nothing without visible life is judged dead" \
    test "$(grep -c 'hidepid' "$T/hp2-sweep.err")" = 1
check "hidepid=2: the pshm and the FIFO are still there" both_there
json=$("$IPCGC" --local --config "$CONF" list -J)
is "$(mine "$json")" "fifo:$FIFO LIVE pshm:/hidepid-pshm LIVE" "hidepid=2, as root: both LIVE"
umount /proc

# --- The holder gone: what a non-root run may remove under hidepid=2 ----------
# Its own objects, no holder anywhere: root and uid 4601 agree they are
# orphans only if ipcgc can tell an empty view from a hidden one.  Shown.
kill "$HOLDER"
while [ -e "/proc/$HOLDER" ] && [ "$(awk '{ print $3 }' "/proc/$HOLDER/stat" 2>/dev/null)" != Z ]; do
    read -r -t 0.01 <> <(:) || true
done
mount -t proc -o hidepid=2 proc /proc
json=$(as 4601 "$IPCGC" --local --config "$CONF" list -J 2>/dev/null)
diag "hidepid=2, holder gone, as uid 4601 (with root's memory):"
reasons "$json"
umount /proc

done_testing
