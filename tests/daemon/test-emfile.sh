#!/bin/bash
# ipcgcd out of file descriptors: idle clients that hold as many connections
# as its RLIMIT_NOFILE allows must not make it spin.  The listening socket
# stays readable while connections wait, so a daemon that merely gives up on
# a failed accept4() is called straight back, at 100 % CPU, for as long as
# the clients stay.  It must stop accepting while fewer than
# its reserve of fds is free (CONTROL_FD_RESERVE, 32, or a quarter of the
# limit when that is less), keep those free, and accept again
# once the clients let go.  In private namespaces.
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }
# It measures the daemon's CPU time: not side by side with the fork storms.
export IPCGC_TEST_EXCLUSIVE=1
enter_private_namespaces "$@"

[ -x "$VCLIENT" ] || { echo "Bail out! $VCLIENT is not built"; exit 1; }

NOFILE=64
# min(CONTROL_FD_RESERVE, NOFILE / 4)
RESERVE=$((NOFILE / 4 < 32 ? NOFILE / 4 : 32))
# manager_start raises the soft limit to the hard one: both are set.
# start_daemon runs $IPCGCD in the background, and a function that execs
# keeps DAEMON_PID the daemon's own pid.
# shellcheck disable=SC2317 # called through $IPCGCD
limited_ipcgcd() { ulimit -Hn "$NOFILE" -Sn "$NOFILE" && exec "$top_builddir/ipcgcd" "$@"; }
IPCGCD=limited_ipcgcd

daemon_config
start_daemon --debug
is "$(awk '/^Max open files/ { print $4, $5 }' "/proc/$DAEMON_PID/limits")" "$NOFILE $NOFILE" \
    "ipcgcd runs with RLIMIT_NOFILE $NOFILE:$NOFILE"
# nfds: how many of the fds below the limit the daemon has open.  One it
# inherited above the limit (bash's 255, say) takes no room.
fds() { find "/proc/$DAEMON_PID/fd" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n; }
nfds() { fds | awk -v max="$NOFILE" '$1 < max { n++ } END { print n + 0 }'; }
diag "ipcgcd has $(nfds) fds open at the start: $(fds | tr '\n' ' ')"

# hoard NAME UID N: vclient -H N as UID holds N idle connections until its
# standard input, a FIFO, closes; waits for its "held" line.  unhoard NAME
# closes that FIFO and waits for its "final" line.
declare -A HOARD_OUT HOARD_CTL
hoard() {
    local name=$1 uid=$2 n=$3 fd ctl line
    local cmd=("$VCLIENT" -H "$n" -t 10000 "$SOCK")
    [ "$uid" != 0 ] && cmd=(setpriv --reuid="$uid" --regid="$uid" --clear-groups "${cmd[@]}")
    mkfifo "$T/ctl-$name"
    # A hoarder must not inherit the other hoarders' FIFOs: each must see
    # its own close.
    exec {fd}< <(for c in "${HOARD_CTL[@]}"; do exec {c}>&-; done; exec "${cmd[@]}" <"$T/ctl-$name")
    exec {ctl}>"$T/ctl-$name"
    HOARD_OUT[$name]=$fd
    HOARD_CTL[$name]=$ctl
    read -r -t 30 -u "$fd" line || line="(nothing)"
    diag "$name: $line"
}
unhoard() {
    local name=$1 line ctl=${HOARD_CTL[$1]} out=${HOARD_OUT[$1]}
    exec {ctl}>&-
    read -r -t 10 -u "$out" line || line="(nothing)"
    exec {out}<&-
    diag "$name: $line"
}

# More connections than fit: at most CONTROL_MAX_PER_UID (32) per uid stay
# open, so two uids are needed to exhaust 64 fds.
hoard root 0 40
hoard u4321 4321 40

# Connections left waiting in the listen backlog: the daemon stopped
# accepting, whether it chose to or accept4() failed.
backlog() { ss -xlnH "src $SOCK" 2>/dev/null | awk '{ print $3; exit }'; }
waiting=
for ((i = 0; i < 500; i++)); do
    waiting=$(backlog)
    [ "${waiting:-0}" -gt 0 ] && break
    read -r -t 0.01 <> <(:) || true
done
if [ "${waiting:-0}" -gt 0 ]; then
    ok "ipcgcd ran out: $waiting connections wait in the backlog"
else
    not_ok "ipcgcd ran out: connections wait in the backlog" "backlog: '${waiting}'" "fds open: $(nfds)"
fi

# cpu_ticks: the daemon's utime + stime, in clock ticks.  Fields 14 and 15
# of /proc/PID/stat, counted after the ")" that ends the command name.
cpu_ticks() { sed 's/^.*) //' "/proc/$DAEMON_PID/stat" | awk '{ print $12 + $13 }'; }
HZ=$(getconf CLK_TCK)
# A measured interval of about 2 s of wall time, the clients still connected.
c0=$(cpu_ticks)
w0=${EPOCHREALTIME/[.,]/}
read -r -t 2 <> <(:) || true
c1=$(cpu_ticks)
w1=${EPOCHREALTIME/[.,]/}
pct=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v w=$((10#$w1 - 10#$w0)) 'BEGIN { printf "%.1f", 100 * c / hz / (w / 1e6) }')
diag "ipcgcd used $((c1 - c0)) ticks ($HZ/s) in $(((10#$w1 - 10#$w0) / 1000)) ms of wall time: $pct %"
if awk -v p="$pct" 'BEGIN { exit !(p < 20) }'; then
    ok "ipcgcd out of fds with the clients still connected uses $pct % CPU (< 20 %)"
else
    not_ok "ipcgcd out of fds with the clients still connected uses < 20 % CPU" "it used $pct %"
fi

n=$(nfds)
if [ "$n" -le $((NOFILE - RESERVE)) ]; then
    ok "ipcgcd keeps $RESERVE fds free: $n of $NOFILE in use"
else
    not_ok "ipcgcd keeps $RESERVE fds free" "$n of $NOFILE in use"
fi
is "$(grep -c 'not accepting connections' "$T/ipcgcd.err")" 1 "the pause is logged once"
diag "$(grep 'not accepting connections' "$T/ipcgcd.err")"

unhoard u4321
unhoard root
# The closed connections resume accepting (the retry timer would, a second
# later).  The deadline only makes a daemon that never resumes fail rather
# than hang: ipcgc waits for as long as it takes to be accepted.
if out=$(timeout 10 "$IPCGC" --config "$CONF" status 2>&1); then
    ok "ipcgc status answers once the clients let go"
else
    not_ok "ipcgc status answers once the clients let go" "$out"
fi
if grep -q 'accepting connections again' "$T/ipcgcd.err"; then
    ok "the resume is logged (debug)"
else
    not_ok "the resume is logged (debug)" "$(grep -v 'connection limit' "$T/ipcgcd.err" | tail -5)"
fi

stop_daemon
done_testing
