# shellcheck shell=bash
# Shared by the ipcgcd tests: starting and stopping the daemon inside the
# private namespaces of tests/integration/lib.sh, talking to it raw.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }

IPCGCD="$top_builddir/ipcgcd"
VCLIENT="$top_builddir/tests/daemon/vclient"

diag() { # diag TEXT...: a TAP comment
    local line
    while IFS= read -r line; do echo "# $line"; done <<<"$*"
}

# daemon_config: adds the [Daemon] section naming a socket in $T to $CONF.
# Sets SOCK.  Extra lines for [Daemon] may be given as arguments (a key set
# twice in a section is an error: Interval= is 1h unless one of them sets it).
daemon_config() {
    SOCK=$T/io.ipcgc
    {
        echo "[Daemon]"
        echo "Socket=$SOCK"
        case " $* " in *" Interval="*) ;; *) echo "Interval=1h" ;; esac
        local l
        for l in "$@"; do echo "$l"; done
    } >>"$CONF"
}

# start_daemon: starts ipcgcd on $CONF, its stderr in $T/ipcgcd.err, and
# waits (5 s at most) until `ipcgc status` answers.  Sets DAEMON_PID.
start_daemon() {
    "$IPCGCD" --config "$CONF" "$@" 2>"$T/ipcgcd.err" &
    DAEMON_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        if "$IPCGC" --config "$CONF" status >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
            break
        fi
        sleep 0.05
    done
    echo "Bail out! ipcgcd did not answer within 5 s"
    sed 's/^/# /' "$T/ipcgcd.err"
    kill "$DAEMON_PID" 2>/dev/null
    exit 1
}

# stop_daemon: SIGTERM, then checks it went cleanly: exit status 0, the
# socket file gone, nothing from the sanitizers.
stop_daemon() {
    local rc
    kill -TERM "$DAEMON_PID"
    wait "$DAEMON_PID"
    rc=$?
    is "$rc" 0 "ipcgcd exits 0 on SIGTERM"
    if [ -e "$SOCK" ]; then not_ok "ipcgcd removed its socket file on exit"; else ok "ipcgcd removed its socket file on exit"; fi
    if grep -qE 'Sanitizer|runtime error:|==[0-9]+==' "$T/ipcgcd.err"; then
        not_ok "ipcgcd's stderr has no sanitizer report" "$(head -40 "$T/ipcgcd.err")"
    else
        ok "ipcgcd's stderr has no sanitizer report"
    fi
}

# alive DESCRIPTION: `ipcgc status` still answers.
alive() {
    local out
    if out=$("$IPCGC" --config "$CONF" status 2>&1); then
        ok "daemon still answers after $1"
    else
        not_ok "daemon still answers after $1" "$out"
    fi
}

# vc ARGS...: vclient on $SOCK; options before the socket, data after.
vc() {
    local opts=()
    while [ $# -gt 0 ] && [ "${1:0:1}" = - ] && [ "$1" != - ]; do
        opts+=("$1")
        case $1 in -t | -c | -p | -d | -H | -P) opts+=("$2"); shift ;; esac
        shift
    done
    "$VCLIENT" "${opts[@]}" "$SOCK" "$@"
}

# time_status_ms [SETPRIV-ARGS...]: runs `ipcgc status` (as another user
# with setpriv arguments) and prints its wall time in milliseconds with
# one decimal, or FAIL when it did not answer.
time_status_ms() {
    local t0 t1 rc
    local cmd=("$IPCGC" --config "$CONF" status)
    [ $# -gt 0 ] && cmd=(setpriv "$@" "${cmd[@]}")
    t0=${EPOCHREALTIME/[.,]/}
    "${cmd[@]}" >/dev/null 2>"$T/status.err"
    rc=$?
    t1=${EPOCHREALTIME/[.,]/}
    if [ "$rc" != 0 ]; then
        echo FAIL
        return 1
    fi
    local d=$((10#$t1 - 10#$t0))
    printf '%d.%d\n' $((d / 1000)) $((d % 1000 / 100))
}

# median N...: the median of the numbers given.
median() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
