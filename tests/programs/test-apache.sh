#!/bin/bash
# shellcheck disable=SC2317 # the hooks are called by name, from run_case
# Real Apache prefork (Debian's apache2) under ipcgc: with `Mutex sysvsem`
# its accept mutex is a SysV semaphore that only its children operate on;
# they recycle (MaxConnectionsPerChild 20), so the pids the kernel records
# for it are of children long gone, while the parent, which never touches
# it, runs on.
#
# Each case: apache2 with a config of its own, two Listen ports on
# 127.0.0.1 (so the accept mutex is used), run entirely by one uid in
# apache.service; ab on both ports at once, idle, more, idle; repeated
# `sweep --local` and `list --local -J` all along (tests/programs/lib.sh
# says what each rule set must show); then SIGKILL to the whole unit, the
# leftover semaphore judged and swept, and a restart.  By an ordinary and by
# a system uid, under the shipped rules (A) and MinAge=0 (B).
. "${top_srcdir:-.}/tests/programs/lib.sh" || { echo "Bail out! cannot read tests/programs/lib.sh"; exit 1; }
enter_private_namespaces "$@"

HTTPD=/usr/sbin/apache2
MODS=/usr/lib/apache2/modules
need "$HTTPD" /usr/bin/ab "$PY" "$MODS/mod_mpm_prefork.so" "$MODS/mod_authz_core.so"
programs_setup

# shellcheck disable=SC2034 # read by run_case, by name
apache_UNIT=apache.service
# shellcheck disable=SC2034
apache_ROUNDS=2
# Children are replaced at most a few a second (prefork's maintenance runs
# once a second, its spawn rate doubling from 1), so a round of load is
# about what one generation of children serves, and a few more.
WORKERS=32

# Two free ports on 127.0.0.1 (the network namespace is the host's).
read -r P1 P2 < <("$PY" -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
[ -n "$P2" ] || { echo "Bail out! no free ports"; exit 1; }

apache_config() { # apache_config DIR
    cat <<EOC
ServerRoot $1
ServerName localhost
LoadModule mpm_prefork_module $MODS/mod_mpm_prefork.so
LoadModule authz_core_module $MODS/mod_authz_core.so
Listen 127.0.0.1:$P1
Listen 127.0.0.1:$P2
PidFile $1/run/httpd.pid
DefaultRuntimeDir $1/run
ErrorLog $1/logs/$CASE_TAG.error.log
LogLevel notice
LogFormat "%P %>s" pidstatus
CustomLog $1/logs/$CASE_TAG.access.log pidstatus
DocumentRoot $1/htdocs
# Every mutex a SysV semaphore: the accept mutex among them.
Mutex sysvsem default
StartServers $WORKERS
MinSpareServers $WORKERS
MaxSpareServers $WORKERS
ServerLimit $WORKERS
MaxRequestWorkers $WORKERS
MaxConnectionsPerChild 20
KeepAlive Off
<Directory $1/htdocs>
    Require all granted
</Directory>
EOC
}

apache_start() { # apache_start UID
    A_DIR=$T/apache-$1
    A_LOG=$A_DIR/logs/$CASE_TAG.error.log
    A_ACCESS=$A_DIR/logs/$CASE_TAG.access.log
    mkdir -p "$A_DIR/htdocs" "$A_DIR/run" "$A_DIR/logs"
    apache_config "$A_DIR" >"$A_DIR/httpd.conf"
    echo "hello from apache" >"$A_DIR/htdocs/index.html"
    chown -R "$1:$1" "$A_DIR"
    local started
    started=$(grep -cs 'resuming normal operations' "$A_LOG")
    in_unit "$apache_UNIT" setsid setpriv --reuid="$1" --regid="$1" --clear-groups \
        "$HTTPD" -f "$A_DIR/httpd.conf" -DFOREGROUND >>"$A_DIR/stdout" 2>&1 &
    PROG_JOB=$!
    local deadline=$(($(now_ms) + 30000))
    until [ "$(grep -cs 'resuming normal operations' "$A_LOG")" -gt "${started:-0}" ] && [ -s "$A_DIR/run/httpd.pid" ]; do
        if ! kill -0 "$PROG_JOB" 2>/dev/null || [ "$(now_ms)" -ge "$deadline" ]; then
            tail -n 3 "$A_DIR/stdout" "$A_LOG" 2>&1 | sed 's/^/# apache did not start: /'
            return 1
        fi
        nap
    done
    read -r PROG_PID <"$A_DIR/run/httpd.pid"
}

ab_run() { # ab_run N PORT OUT: N requests, 4 at a time
    ab -q -n "$1" -c 4 "http://127.0.0.1:$2/index.html" >"$3" 2>&1
    echo $? >"$3.rc"
}

ab_check() { # ab_check N OUT WHAT
    local completed failed non2xx
    completed=$(sed -n 's/^Complete requests: *\([0-9]*\)/\1/p' "$2")
    failed=$(sed -n 's/^Failed requests: *\([0-9]*\)/\1/p' "$2")
    non2xx=$(sed -n 's/^Non-2xx responses: *\([0-9]*\)/\1/p' "$2")
    if [ "$(cat "$2.rc")" = 0 ] && [ "$completed" = "$1" ] && [ "$failed" = 0 ] && [ -z "$non2xx" ]; then
        ok "$CASE: $3: $1 requests, 0 failed"
    else
        detail tail -n 2 "$2"
        not_ok "$CASE: $3: $1 requests, 0 failed" "ab exit $(cat "$2.rc"): complete ${completed:-?}, failed ${failed:-?}, non-2xx ${non2xx:-0}" \
            "${DETAIL[@]}"
    fi
}

apache_load() { # round 1: 500 requests on each port; round 2: 150
    local n=500
    [ "$1" = 1 ] || n=150
    ab_run "$n" "$P1" "$A_DIR/r$1.p1" &
    LOAD_PIDS=($!)
    ab_run "$n" "$P2" "$A_DIR/r$1.p2" &
    LOAD_PIDS+=($!)
}

apache_load_check() {
    wait "${LOAD_PIDS[@]}"
    local n=500
    [ "$1" = 1 ] || n=150
    ab_check "$n" "$A_DIR/r$1.p1" "round $1, port $P1"
    ab_check "$n" "$A_DIR/r$1.p2" "round $1, port $P2"
    # What a lost accept mutex looks like: "couldn't grab the accept mutex".
    local errs
    errs=$(grep -c -E 'mutex|\[(emerg|alert|crit|error)\]' "$A_LOG")
    is "$errs" 0 "$CASE: round $1: no mutex or worse errors in the error log"
    [ "$errs" = 0 ] || grep -m 3 -E 'mutex|\[(emerg|alert|crit|error)\]' "$A_LOG" | sed 's/^/#   /'
}

apache_running_checks() {
    local children sems
    children=$(awk '{ print $1 }' "$A_ACCESS" | sort -u | wc -l)
    check "$CASE: children recycled: $children served requests, $WORKERS at a time" test "$children" -gt $((WORKERS + WORKERS / 2))
    # The accept mutex: the one semaphore, from the first list on.
    sems=$(head -n 1 "$MONLOG" | jq -r '[.objects[] | select(.type == "sem") | .id] | join(" ")')
    case $sems in
    sem:*\ *|'') not_ok "$CASE: one semaphore, the accept mutex" "semaphores at the first list: '${sems}'" ;;
    *)
        ok "$CASE: one semaphore, the accept mutex ($sems)"
        [ "$1" = B ] && check_always_live "$sems" "the accept mutex, across recycled children"
        ;;
    esac
}

apache_works() { # apache_works WHAT
    ab_run 100 "$P1" "$A_DIR/works.p1"
    ab_check 100 "$A_DIR/works.p1" "$1, port $P1"
    ab_run 100 "$P2" "$A_DIR/works.p2"
    ab_check 100 "$A_DIR/works.p2" "$1, port $P2"
}

apache_stop() {
    kill -TERM "$PROG_PID"
    wait "$PROG_JOB"
}

for set in A B; do
    for uid in "$USER_UID" "$SYS_UID"; do
        run_case apache "$set" "$uid"
    done
done

echo "# done at $(date +%T.%3N)"
done_testing
