#!/bin/bash
# shellcheck disable=SC2317 # the hooks are called by name, from run_case
# Real PostgreSQL 15 (Debian's postgresql-15) under ipcgc: its statistics
# live in pinned dynamic shared memory segments that no process maps between
# uses, and its parallel queries make and drop segments by the second.
#
# Each case: initdb'd cluster run by one uid in pg.service, listening on a
# unix socket only, without the autovacuum and logical replication
# launchers, which would keep the statistics' segments mapped between uses
# (with them, the case is easier: other holders stand in for the memory); pgbench -i, then pgbench with 4 clients beside parallel
# queries (forced parallel plans: seq scans and hash joins with workers),
# idle, more of both, idle; repeated `sweep --local` and `list --local -J`
# all along (tests/programs/lib.sh says what each rule set must show); then
# SIGKILL to the whole unit, the leftovers judged and swept, and a restart.
# Once with the defaults (dynamic_shared_memory_type=posix: /dev/shm/
# PostgreSQL.*, main memory anonymous with a small SysV segment), once with
# shared_memory_type=sysv dynamic_shared_memory_type=sysv; by an ordinary
# and by a system uid; under the shipped rules (A) and MinAge=0 (B).
. "${top_srcdir:-.}/tests/programs/lib.sh" || { echo "Bail out! cannot read tests/programs/lib.sh"; exit 1; }
enter_private_namespaces "$@"

PGBIN=/usr/lib/postgresql/15/bin
need "$PGBIN/postgres" "$PGBIN/initdb" "$PGBIN/pg_isready" "$PGBIN/psql" "$PGBIN/pgbench"
programs_setup

# shellcheck disable=SC2034 # read by run_case, by name
pg_UNIT=pg.service
# shellcheck disable=SC2034
pg_ROUNDS=2
SQL=$top_srcdir/tests/programs/parallel.sql

pg_initdb() { # pg_initdb UID: a cluster of that uid's, once
    local d=$T/pg-$1
    [ -d "$d/data" ] && return 0
    mkdir -p "$d/sock"
    chown -R "$1:$1" "$d"
    as_uid "$1" "$PGBIN/initdb" -D "$d/data" -A trust -U pg --no-sync --no-instructions >"$d/initdb.log" 2>&1 ||
        { echo "Bail out! initdb as uid $1 failed: $(tail -3 "$d/initdb.log")"; exit 1; }
}

pg_start() { # pg_start UID posix|sysv
    PG_DIR=$T/pg-$1
    PG_SHM=$2
    PG_LOG=$T/$CASE_TAG.server.log # the case's own: it is read for errors
    local opts=()
    [ "$PG_SHM" = sysv ] && opts=(-c shared_memory_type=sysv -c dynamic_shared_memory_type=sysv)
    in_unit "$pg_UNIT" setsid setpriv --reuid="$1" --regid="$1" --clear-groups \
        "$PGBIN/postgres" -D "$PG_DIR/data" -k "$PG_DIR/sock" -c listen_addresses= \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
        -c max_worker_processes=12 -c max_parallel_workers=8 -c logging_collector=off \
        -c autovacuum=off -c max_logical_replication_workers=0 \
        "${opts[@]}" >>"$PG_LOG" 2>&1 &
    PROG_JOB=$!
    local deadline=$(($(now_ms) + 30000))
    until "$PGBIN/pg_isready" -q -h "$PG_DIR/sock" -U pg -d postgres; do
        if ! kill -0 "$PROG_JOB" 2>/dev/null || [ "$(now_ms)" -ge "$deadline" ]; then
            tail -n 3 "$PG_LOG" | sed 's/^/# postgres did not start: /'
            return 1
        fi
        nap
    done
    # Ready, so postmaster.pid is this postmaster's.
    read -r PROG_PID <"$PG_DIR/data/postmaster.pid"
}

pg_psql() { "$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$PG_DIR/sock" -U pg -d postgres "$@"; }
pg_bench() { "$PGBIN/pgbench" -h "$PG_DIR/sock" -U pg "$@" postgres; }

# Under B, a session that has read the statistics is connected during the
# first look: a cluster that starts with statistics saved at its last clean
# stop restores them into a segment that its startup process made and left,
# which no process maps until a backend reads them.  With no memory of it,
# MinAge=0 Action=collect judges it on that alone (ORPHAN); the shipped rules
# (A) must keep it without this help.
pg_warm_up() {
    PG_HOLD=
    [ "$1" = B ] || return 0
    PGAPPNAME=ipcgc-hold pg_psql -c 'SELECT count(*) FROM pg_stat_user_tables' -c 'SELECT pg_sleep(600)' \
        >"$PG_DIR/hold.out" 2>&1 &
    PG_HOLD=$!
    local deadline=$(($(now_ms) + 10000))
    until [ -s "$PG_DIR/hold.out" ] || [ "$(now_ms)" -gt "$deadline" ]; do nap; done
}

pg_first_look() {
    if [ -n "$PG_HOLD" ]; then
        pg_psql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ipcgc-hold'" >/dev/null
        wait "$PG_HOLD"
        grep -qx '[0-9]*' "$PG_DIR/hold.out" || echo "# the warm-up session said: $(head -c 200 "$PG_DIR/hold.out")"
    fi
    is "$(pg_psql -c 'SHOW shared_memory_type' -c 'SHOW dynamic_shared_memory_type' 2>&1 | tr '\n' ' ')" \
        "$([ "$PG_SHM" = sysv ] && echo 'sysv sysv ' || echo 'mmap posix ')" \
        "$CASE: shared_memory_type and dynamic_shared_memory_type"
    local objs
    objs=$(tail -n 2 "$MONLOG" | jq -r -s '.[0].objects | [.[].type] | group_by(.) | map("\(.[0])") | join(" ")')
    if [ "$PG_SHM" = sysv ]; then
        is "$objs" shm "$CASE: postgres keeps its memory in SysV shm only"
    else
        is "$objs" "pshm shm" "$CASE: postgres keeps dynamic memory in /dev/shm/PostgreSQL.* and a SysV interlock"
    fi
}

pg_load() { # round 1: pgbench -i, then pgbench -T 3 beside parallel queries; round 2: shorter
    local r=$PG_DIR/r$1 secs=3
    [ "$1" = 1 ] || secs=1
    rm -f "$r".*
    (
        if [ "$1" = 1 ]; then
            pg_bench -i -q -s 1 >"$r.init" 2>&1
            echo $? >"$r.init.rc"
        fi
        pg_bench -c 4 -j 2 -T "$secs" >"$r.bench" 2>&1 &
        pg_psql -f "$SQL" >"$r.sql" 2>&1
        echo $? >"$r.sql.rc"
        wait $!
        echo $? >"$r.bench.rc"
    ) &
    LOAD_PIDS=($!)
}

pg_check_sql() { # pg_check_sql OUTPUT RC WHAT
    local counts joins workers
    counts=$(grep -c '^count|100000$' "$1")
    joins=$(grep -c '^join|100000$' "$1")
    workers=$(sed -n 's/.*Workers Launched: \([0-9]*\).*/\1/p' "$1" | head -n 1)
    if [ "$2" = 0 ] && [ "$counts" = 4 ] && [ "$joins" = 3 ] && [ "${workers:-0}" -gt 0 ]; then
        ok "$CASE: $3: 7 parallel queries right ($workers workers launched)"
    else
        detail grep -m 3 -E 'ERROR|FATAL|WARNING|error' "$1"
        not_ok "$CASE: $3: 7 parallel queries right" "psql exit $2, $counts counts, $joins joins, ${workers:-no} workers" \
            "${DETAIL[@]}"
    fi
}

pg_load_check() {
    wait "${LOAD_PIDS[@]}"
    local r=$PG_DIR/r$1 tx
    if [ "$1" = 1 ]; then
        is "$(cat "$r.init.rc")" 0 "$CASE: pgbench -i succeeds"
        [ "$(cat "$r.init.rc")" = 0 ] || sed 's/^/#   /' "$r.init" | tail -n 3
    fi
    tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$r.bench")
    if [ "$(cat "$r.bench.rc")" = 0 ] && grep -q '^number of failed transactions: 0 ' "$r.bench" && [ "${tx:-0}" -gt 0 ]; then
        ok "$CASE: round $1: pgbench ran $tx transactions, none failed"
    else
        detail grep -m 3 -E 'error|failed|aborted' "$r.bench"
        not_ok "$CASE: round $1: pgbench ran, none failed" "exit $(cat "$r.bench.rc")" "${DETAIL[@]}"
    fi
    pg_check_sql "$r.sql" "$(cat "$r.sql.rc")" "round $1"
    # A removed segment shows up in the server's log before anywhere else.
    local errs
    errs=$(grep -c -E 'could not (open|attach|map|remove)|shared memory segment|ERROR|PANIC' "$PG_LOG")
    is "$errs" 0 "$CASE: round $1: no shared memory errors in the server log"
    [ "$errs" = 0 ] || grep -m 3 -E 'could not|shared memory|ERROR|PANIC' "$PG_LOG" | sed 's/^/#   /'
}

pg_works() { # pg_works WHAT: a new backend reads the statistics, then parallel queries
    local rc out=$PG_DIR/works.sql
    { pg_psql -c "SELECT sum(n_tup_upd) >= 0 FROM pg_stat_user_tables" && pg_psql -f "$SQL"; } >"$out" 2>&1
    rc=$?
    pg_check_sql "$out" "$rc" "$1"
}

pg_stop() {
    kill -INT "$PROG_PID" # fast shutdown
    wait "$PROG_JOB"
}

pg_initdb "$USER_UID"
pg_initdb "$SYS_UID"
clean_ipc

for set in A B; do
    for uid in "$USER_UID" "$SYS_UID"; do
        for shm in posix sysv; do
            run_case pg "$set" "$uid" "$shm"
        done
    done
done

echo "# done at $(date +%T.%3N)"
done_testing
