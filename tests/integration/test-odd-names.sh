#!/bin/bash
# Names that are bytes, not text (issue 12): FIFOs and a POSIX shm whose
# names hold a newline, a byte that is no UTF-8, a terminal escape and a
# backslash.  `list -J`, `explain -J`, a sweep's records, the history and the
# archive listing are valid UTF-8 JSON for a strict parser; the IDs they give
# find their objects again with explain and rm, --local and through ipcgcd;
# the daemon's stderr log has one line per record.  In private namespaces.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

sed -i "/^\[Daemon\]/a Socket=$T/io.ipcgc\nMaxRemovalsPerSweep=100" "$CONF"

# strict FILE: FILE is JSON in valid UTF-8 (what a strict parser takes).
strict() {
    python3 -c 'import json,sys; json.loads(open(sys.argv[1], "rb").read().decode("utf-8", "strict"))' "$1" 2>&1
}
run() { out=$("$@" 2>"$T/stderr"); rc=$?; err=$(cat "$T/stderr"); }

NL=$(printf 'a\nb') FF=$(printf 'x\377y') ESC=$(printf 'esc\033[31mred') BS='back\slash' C1=$(printf 'c1\302\233z')
make_objects() {
    local n
    for n in "$NL" "$FF" "$ESC" "$BS" "$C1"; do mkfifo -m 0600 "$FIFODIR/$n"; done
    : >"/dev/shm/shm$FF"
}
make_objects
# The IDs as the escaping (ipc_escape()) writes them, one a line.
declare -A want=(
    [nl]="fifo:$FIFODIR/a\\x0ab"
    [ff]="fifo:$FIFODIR/x\\xffy"
    [esc]="fifo:$FIFODIR/esc\\x1b[31mred"
    [bs]="fifo:$FIFODIR/back\\\\slash"
    [c1]="fifo:$FIFODIR/c1\\xc2\\x9bz"
    [pshm]="pshm:/shmx\\xffy"
)
declare -A raw=([nl]="fifo:$FIFODIR/$NL" [ff]="fifo:$FIFODIR/$FF" [esc]="fifo:$FIFODIR/$ESC" [bs]="fifo:$FIFODIR/$BS"
    [c1]="fifo:$FIFODIR/$C1" [pshm]="pshm:/shm$FF")

listing() { # listing HOW ARGS...: list -J, checked
    local how=$1
    shift
    "$IPCGC" --config "$CONF" "$@" list -J >"$T/list.json"
    is "$?" 0 "$how: list -J exits 0"
    is "$(strict "$T/list.json")" "" "$how: list -J is valid UTF-8 JSON to a strict parser"
    is "$(jq -r '.objects[].id' "$T/list.json" | LC_ALL=C sort | tr '\n' '|')" \
        "$(printf '%s\n' "${want[@]}" | LC_ALL=C sort | tr '\n' '|')" "$how: the IDs, escaped"
    is "$(jq -r '.objects[] | select(.id != "\(.type):\(.name)") | .id' "$T/list.json")" "" \
        "$how: every name is escaped as its ID is"
    is "$(jq -r '.objects[].id' "$T/list.json" | grep -c '')" 6 "$how: one ID a line: none holds a newline"
}

explain_all() { # explain_all HOW ARGS...: every ID, escaped and raw, finds its object
    local how=$1 k
    shift
    for k in "${!want[@]}"; do
        run "$IPCGC" --config "$CONF" "$@" explain -J "${want[$k]}"
        printf '%s' "$out" >"$T/explain.json"
        is "$rc:$(strict "$T/explain.json")$(jq -r .id <<<"$out")" "0:${want[$k]}" "$how: explain $k's escaped ID finds it"
        # Raw, but for the backslash: that one is always written \\.
        [ "$k" = bs ] && continue
        run "$IPCGC" --config "$CONF" "$@" explain -J "${raw[$k]}"
        is "$rc:$(jq -r .id <<<"$out" 2>/dev/null)" "0:${want[$k]}" "$how: explain $k's name typed raw finds it too"
    done
    run "$IPCGC" --config "$CONF" "$@" explain "fifo:$FIFODIR/$BS"
    is "$rc" 2 "$how: a single backslash in an ID is a usage error, not a lookup of something else"
    check "$how: which says how a backslash is written" grep -qF 'a backslash in a name is \\ or \xHH' <<<"$err"
    run "$IPCGC" --config "$CONF" "$@" explain "fifo:$FIFODIR/a\\x00b"
    is "$rc" 2 "$how: \\x00 in an ID is a usage error"
    run "$IPCGC" --config "$CONF" "$@" explain "fifo:$FIFODIR/a\\x0ac"
    check "$how: a well-formed ID of nothing: no such object" test "$rc" != 0 -a "$rc" != 2
    # The table: the IDs as list -J gives them, backslashes kept.
    run "$IPCGC" --config "$CONF" "$@" list -o ID
    is "$(tail -n +2 <<<"$out" | sed 's/ *$//' | LC_ALL=C sort | tr '\n' '|')" \
        "$(printf '%s\n' "${want[@]}" | LC_ALL=C sort | tr '\n' '|')" "$how: list's table shows the same IDs"
}

# --- In-process -------------------------------------------------------------
listing --local --local
explain_all --local --local

# --- Through the daemon -----------------------------------------------------
start_daemon
listing daemon
explain_all daemon

# Varlink Explain takes the escaped ID as it is, and says no such object for
# the raw bytes (which are no UTF-8: refused as a message) or a near miss.
VC="$top_builddir/tests/daemon/vclient"
out=$("$VC" -c 1 -t 3000 "$T/io.ipcgc" "{\"method\":\"io.ipcgc.Explain\",\"parameters\":{\"id\":\"fifo:$FIFODIR/x\\\\\\\\xffy\"}}\\0")
is "$(jq -r '.parameters.object.id' <<<"$out" 2>/dev/null)" "${want[ff]}" "Varlink Explain finds the escaped ID"

# rm by the escaped ID removes the FIFO named with a newline: one record,
# one log line.
printf '[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"
check "daemon: reloaded with a rule that collects" "$IPCGC" --config "$CONF" reload
run "$IPCGC" --config "$CONF" rm "${want[nl]}"
is "$rc" 0 "daemon: rm of the escaped ID exits 0"
check "daemon: rm says the ID as list gives it" grep -qF "${want[nl]}" <<<"$out"
check "daemon: the FIFO named with a newline is gone" test ! -e "$FIFODIR/$NL"
run "$IPCGC" --config "$CONF" sweep -J
printf '%s' "$out" >"$T/sweep.json"
is "$rc:$(strict "$T/sweep.json")" 0: "daemon: sweep -J is valid UTF-8 JSON"
is "$(jq -r '.records[] | select(.action == "removed") | .id' "$T/sweep.json" | LC_ALL=C sort | tr '\n' '|')" \
    "$(printf '%s\n' "${want[@]}" | grep -vF "${want[nl]}" | LC_ALL=C sort | tr '\n' '|')" \
    "daemon: the sweep removed the other five, named by their escaped IDs"
is "$(find "$FIFODIR" -type p | wc -l) $(find /dev/shm -mindepth 1 -name 'shm*' | wc -l)" "0 0" "daemon: all gone"
"$IPCGC" --config "$CONF" history -J >"$T/history.json"
is "$?:$(strict "$T/history.json")" 0: "daemon: history -J is valid UTF-8 JSON"
check "daemon: history names the newline FIFO by its escaped ID" \
    grep -qxF "${want[nl]}" <(jq -r '.. | .id? // empty' "$T/history.json")
"$IPCGC" --config "$CONF" archive -J >"$T/archive.json"
is "$?:$(strict "$T/archive.json")" 0: "daemon: archive -J is valid UTF-8 JSON"
is "$(jq -r '.entries[] | select(.id != "\(.type):\(.name)") | .id' "$T/archive.json")$(jq '.entries | length' "$T/archive.json")" \
    6 "daemon: six archive entries, each named as its ID"
check "daemon: the archive lists the 0xff FIFO by its escaped ID" \
    grep -qxF "${want[ff]}" <(jq -r '.entries[].id' "$T/archive.json")

stop_daemon
# Every line of the log is a record of its own: "ipcgcd: LEVEL: ...".
is "$(grep -vc '^ipcgcd: [a-z]*: ' "$T/ipcgcd.log")" 0 "the daemon's log has no line that is not a record"
is "$(grep -cF "${want[nl]} removed" "$T/ipcgcd.log")" 1 "the newline FIFO's removal is one line, with its escaped ID"
check "the log holds no byte that is no UTF-8, and no control character" \
    python3 -c 'import sys; t = open(sys.argv[1], "rb").read().decode("utf-8", "strict"); sys.exit(any(c < " " and c != "\n" or "\x7f" <= c <= "\x9f" for c in t))' "$T/ipcgcd.log"

done_testing
