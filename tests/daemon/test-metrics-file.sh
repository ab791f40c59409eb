#!/bin/bash
# [Daemon] MetricsFile=, for node_exporter's textfile collector: written
# after every sweep by the daemon and by ipcgcd --once, mode 0644 whatever
# the umask, replaced atomically (a reader in a loop during 50 sweeps sees
# only whole files), never through a symlink; it, the daemon's metrics and
# `ipcgc metrics --local` pass `promtool check metrics` without a word.
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }

enter_private_namespaces "$@"
trap 'kill $(jobs -p) 2>/dev/null' EXIT
FILL="$top_builddir/tests/helpers/ipc-fill"
command -v promtool >/dev/null || { echo "Bail out! promtool is missing (tools/deps.sh --test installs prometheus)"; exit 1; }
command -v jq >/dev/null || { echo "Bail out! jq is missing (tools/deps.sh)"; exit 1; }

TEXTDIR=$T/textfile
mkdir "$TEXTDIR"
PROM=$TEXTDIR/ipcgc.prom
LAST='ipcgc_users_not_shown 0' # the last line of every whole file
daemon_config "ProcessEvents=no" "MetricsFile=$PROM"
cat >>"$CONF" <<EOC

[Rule all]
MinAge=0
Action=collect
EOC

# An orphan of root's (removed by the first sweep) and a live queue of uid 4600's.
"$FILL" shm 0x6d01 8192 0600 >/dev/null
hold_as 4600:4600 mq /metrics-live 8 0600

# promtool_clean FILE DESCRIPTION: parses, and not one lint warning.
promtool_clean() {
    local out rc
    out=$(promtool check metrics <"$1" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && [ -z "$out" ]; then ok "$2"; else not_ok "$2" "promtool (rc $rc): $out"; fi
}

# wait_for COMMAND...: polls COMMAND for 10 s at most.
wait_for() {
    local i
    for ((i = 0; i < 500; i++)); do
        "$@" && return 0
        read -r -t 0.02 <> <(:) || true
    done
    return 1
}

t0=$(date +%s)
umask 077
start_daemon
umask 022
check "MetricsFile= is written by the first sweep" wait_for test -s "$PROM"
is "$(stat -c '%a %u' "$PROM")" "644 0" "MetricsFile= is 0644 and root's, under umask 077"
promtool_clean "$PROM" "MetricsFile= passes promtool check metrics, no lint warnings"
m=$(cat "$PROM")
check "metrics: build_info with the version" grep -qx "ipcgc_build_info{version=\"$("$IPCGC" --version | awk '{print $2}')\"} 1" <<<"$m"
ts=$(sed -n 's/^ipcgc_last_sweep_timestamp_seconds \([0-9]*\)$/\1/p' <<<"$m")
now=$(date +%s)
check "metrics: last sweep timestamp between the start and now ($t0 <= ${ts:-none} <= $now)" \
    test "${ts:-0}" -ge "$t0" -a "${ts:-0}" -le "$now"
check "metrics: the orphan's removal, by type" grep -qx 'ipcgc_removals_total{type="shm"} 1' <<<"$m"
is "$(grep -c '^ipcgc_removal_failures_total{type="[a-z]*"} 0$' <<<"$m")" 7 \
    "metrics: removal failures carry the type label, one series a type"
check "metrics: uid 4600's queue, per user" grep -qx 'ipcgc_user_objects{user="4600",type="mq"} 1' <<<"$m"
check "metrics: what it charges against RLIMIT_MSGQUEUE" grep -qx 'ipcgc_user_mqueue_bytes{user="4600"} [1-9][0-9]*' <<<"$m"
soft=$(awk '/^Max msgqueue size/ { print $4 }' /proc/1/limits)
check "metrics: and the limit ($soft, pid 1's)" grep -qx "ipcgc_user_mqueue_limit_bytes{user=\"4600\"} $soft" <<<"$m"
check "metrics: queues_max in use" grep -qx 'ipcgc_limit_used{limit="queues_max"} 1' <<<"$m"
is "$(tail -n 1 "$PROM")" "$LAST" "the file ends with the line this test waits for"

# The daemon's own answer is the same text, and as clean.
"$IPCGC" --config "$CONF" metrics >"$T/socket.prom"
promtool_clean "$T/socket.prom" "ipcgc metrics (the daemon's) passes promtool, no lint warnings"

# A reader in a loop while 50 sweeps replace the file: each read must be a
# whole file (its first and last lines there, every line a comment or a
# sample), never a part.
reader() {
    local n=0 c
    while [ ! -e "$T/stop" ]; do
        IFS= read -r -d '' c <"$PROM"
        n=$((n + 1))
        printf '%s' "$c" >"$T/reads/$n"
    done
    echo "$n" >"$T/reads.n"
}
mkdir "$T/reads"
reader &
READER=$!
failed=0
for ((i = 0; i < 50; i++)); do
    "$IPCGC" --config "$CONF" sweep >/dev/null || failed=$((failed + 1))
done
touch "$T/stop"
wait "$READER"
is "$failed" 0 "50 sweeps over the socket"
n=$(cat "$T/reads.n")
check "the reader read the file while it was replaced ($n reads)" test "$n" -ge 50
bad=0 sweeps_seen=()
for f in "$T"/reads/*; do
    if [ "$(head -n 1 "$f")" != "# HELP ipcgc_build_info Always 1; the version of ipcgc that reports." ] ||
        [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" != '\n' ] || [ "$(tail -n 1 "$f")" != "$LAST" ] ||
        grep -qvE '^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[^}]*\})? [0-9.e+-]+)$' "$f"; then
        bad=$((bad + 1))
        [ $bad -eq 1 ] && diag "a bad read: $(tail -n 3 "$f")"
    fi
    sweeps_seen+=("$(sed -n 's/^ipcgc_sweeps_total //p' "$f")")
done
is "$bad" 0 "every one of $n reads was a whole file"
distinct=$(printf '%s\n' "${sweeps_seen[@]}" | sort -un | wc -l)
check "the reads saw the file replaced as sweeps went ($distinct different sweep counts)" test "$distinct" -ge 10
is "$(sed -n 's/^ipcgc_sweeps_total //p' "$PROM")" 51 "the file after them: 51 sweeps (the first and 50)"
# promtool on one read of every sweep count seen.
lint=0
declare -A linted
for f in "$T"/reads/*; do
    k=$(sed -n 's/^ipcgc_sweeps_total //p' "$f")
    [ -n "${linted[$k]:-}" ] && continue
    linted[$k]=1
    out=$(promtool check metrics <"$f" 2>&1) && [ -z "$out" ] || lint=$((lint + 1))
done
is "$lint" 0 "promtool finds nothing in a read of each of the ${#linted[@]} versions"
is "$(find "$TEXTDIR" -mindepth 1 | wc -l)" 1 "no temporary file left beside it"
rm -rf "$T/reads"

# A symlink put where the file is: replaced, never written through.
echo keep >"$T/victim"
ln -sf "$T/victim" "$PROM"
"$IPCGC" --config "$CONF" sweep >/dev/null
is "$(cat "$T/victim")" keep "a symlink at MetricsFile=: its target is untouched"
check "...and the symlink was replaced by the file" test -f "$PROM" -a ! -L "$PROM"
stop_daemon

# ipcgcd --once writes it too, with that run's counts.
rm -f "$PROM"
"$IPCGCD" --config "$CONF" --once 2>>"$T/ipcgcd.err"
is "$?" 0 "ipcgcd --once exits 0"
promtool_clean "$PROM" "--once: MetricsFile= passes promtool"
check "--once: one sweep counted" grep -qx 'ipcgc_sweeps_total 1' "$PROM"
check "--once: its last sweep timestamp" grep -q '^ipcgc_last_sweep_timestamp_seconds [0-9]' "$PROM"
check "--once: no process exit counter (it listens to none)" bash -c '! grep -q ipcgc_process_exit_events_total "$1"' _ "$PROM"

# A symlink in the directory's path: refused, said, nothing written there.
mkdir "$T/elsewhere"
ln -s "$T/elsewhere" "$T/link"
sed "s|^MetricsFile=.*|MetricsFile=$T/link/ipcgc.prom|" "$CONF" >"$T/link.conf"
"$IPCGCD" --config "$T/link.conf" --once 2>"$T/link.err"
is "$(find "$T/elsewhere" -mindepth 1 | wc -l)" 0 "a symlink in MetricsFile='s directory is not followed"
check "...and the daemon says so" grep -q "Failed to write MetricsFile=$T/link/ipcgc.prom: a symlink in its path" "$T/link.err"

# A bad MetricsFile= is refused with FILE:LINE.
printf '[Daemon]\nMetricsFile=ipcgc.prom\n' >"$T/bad.conf"
out=$("$IPCGC" --config "$T/bad.conf" check-config 2>&1)
is "$?" 1 "check-config refuses a relative MetricsFile="
check "...with file:line" grep -q "$T/bad.conf:2: MetricsFile= must be an absolute path" <<<"$out"
printf '[Daemon]\nMetricsFile=/var/lib/prometheus/\n' >"$T/bad.conf"
out=$("$IPCGC" --config "$T/bad.conf" check-config 2>&1)
check "check-config refuses a directory for MetricsFile=" grep -q "$T/bad.conf:2: MetricsFile= names a file" <<<"$out"

# ipcgc metrics --local: no daemon, the same metrics but its counters.
"$IPCGC" --config "$CONF" --local metrics >"$T/local.prom" 2>"$T/local.err"
is "$?" 0 "ipcgc metrics --local exits 0"
promtool_clean "$T/local.prom" "ipcgc metrics --local passes promtool, no lint warnings"
check "--local: uid 4600's live queue" grep -qx 'ipcgc_objects{type="mq",verdict="LIVE"} 1' "$T/local.prom"
check "--local: no counters of a daemon" bash -c '! grep -q "^ipcgc_sweeps_total" "$1"' _ "$T/local.prom"
# -J: the families the text is made of, the same names and values.
json=$("$IPCGC" --config "$CONF" --local metrics -J)
is "$?" 0 "ipcgc metrics --local -J exits 0"
is "$(jq -r '.families[].name' <<<"$json" | paste -sd' ')" "$(sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$T/local.prom" | paste -sd' ')" \
    "metrics -J: the families of the text, in its order"
is "$(jq -r '.families[] | select(.name == "ipcgc_user_objects") | .samples[] | select(.labels.user == "4600") | "\(.labels.type) \(.value)"' <<<"$json")" \
    "mq 1" "metrics -J: a sample with its labels and value"

done_testing
