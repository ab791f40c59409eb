#!/bin/bash
# shellcheck disable=SC2317 # the hooks are called by name, from run_case
# Real Python multiprocessing (Debian's /usr/bin/python3, spawn start method)
# under ipcgc: named semaphores (/dev/shm/sem.mp-*) and SharedMemory
# (/dev/shm/psm_*), one segment of which no process maps between rounds of
# work (tests/programs/mp-load.py says what the program does).
#
# Each case: the program run by one uid in py.service, two rounds of work by
# its pool (whose workers are replaced as they go), idle periods after each;
# repeated `sweep --local` and `list --local -J` all along (tests/programs/
# lib.sh says what each rule set must show); then SIGKILL to the whole unit
# (resource tracker included, so nothing unlinks the objects), the leftovers
# judged and swept, and a restart.  By an ordinary and by a system uid, under
# the shipped rules (A) and MinAge=0 (B).
. "${top_srcdir:-.}/tests/programs/lib.sh" || { echo "Bail out! cannot read tests/programs/lib.sh"; exit 1; }
enter_private_namespaces "$@"

need "$PY"
programs_setup

# shellcheck disable=SC2034 # read by run_case, by name
py_UNIT=py.service
# shellcheck disable=SC2034
py_ROUNDS=2

# py_say LINE EXPECTED_WORD: a command to the program, and its answer's first
# word (sets PY_ANSWER to the whole answer)
py_say() {
    PY_ANSWER=
    # A program that died is an answer, not a SIGPIPE for the test.
    (trap '' PIPE && echo "$1" >&"$PY_IN") 2>/dev/null || return 1
    read -r -t 120 -u "$PY_OUT" PY_ANSWER || return 1
    [ "${PY_ANSWER%% *}" = "$2" ]
}

py_start() { # py_start UID
    PY_DIR=$T/py-$1
    mkdir -p "$PY_DIR"
    chown "$1:$1" "$PY_DIR"
    install -m 0644 "$top_srcdir/tests/programs/mp-load.py" "$PY_DIR/mp-load.py"
    [ -n "${PY_IN:-}" ] && exec {PY_IN}>&- {PY_OUT}<&-
    rm -f "$PY_DIR/in"
    mkfifo -m 0600 "$PY_DIR/in"
    exec {PY_OUT}< <(in_unit "$py_UNIT" setsid setpriv --reuid="$1" --regid="$1" --clear-groups \
        env -i PATH=/usr/bin:/bin LANG=C.UTF-8 "$PY" "$PY_DIR/mp-load.py" <"$PY_DIR/in" 2>>"$PY_DIR/stderr")
    PROG_JOB=$!
    exec {PY_IN}>"$PY_DIR/in"
    local word data
    if ! read -r -t 60 -u "$PY_OUT" word PROG_PID PY_BOARD data || [ "$word" != ready ] || [ -z "$data" ]; then
        tail -n 3 "$PY_DIR/stderr" | sed 's/^/# python did not start: /'
        return 1
    fi
}

# The main process has held the board until now, so the first list saw it
# in use; from here on only running tasks map it.
py_first_look() {
    if py_say release released; then ok "$CASE: the main process lets go of the board"; else not_ok "$CASE: release" "$PY_ANSWER"; fi
}

py_load() { # round 1: 1500 tasks, round 2: 500
    local n=1500
    [ "$1" = 1 ] || n=500
    (
        py_say "work $n" "done"
        echo "$PY_ANSWER" >"$PY_DIR/r$1"
    ) &
    LOAD_PIDS=($!)
}

py_load_check() {
    wait "${LOAD_PIDS[@]}"
    local n=1500
    [ "$1" = 1 ] || n=500
    is "$(cat "$PY_DIR/r$1")" "done $n ok" "$CASE: round $1: the workers did all $n tasks"
}

py_running_checks() {
    [ "$1" = B ] && check_always_live "pshm:/$PY_BOARD" "the board, unmapped between rounds"
    local errs
    errs=$(grep -c -E 'Error|Traceback' "$PY_DIR/stderr")
    is "$errs" 0 "$CASE: no errors from python"
    [ "$errs" = 0 ] || tail -n 5 "$PY_DIR/stderr" | sed 's/^/#   /'
}

py_works() { # py_works WHAT
    if py_say "work 200" "done" && [ "$PY_ANSWER" = "done 200 ok" ]; then
        ok "$CASE: $1: the workers did all 200 tasks"
    else
        detail tail -n 3 "$PY_DIR/stderr"
        not_ok "$CASE: $1: the workers did all 200 tasks" "answer: '$PY_ANSWER'" "${DETAIL[@]}"
    fi
}

py_stop() { # end of input: the program closes its pool and unlinks
    exec {PY_IN}>&-
    cat <&"$PY_OUT" >/dev/null
    exec {PY_OUT}<&-
    PY_IN=
    wait "$PROG_JOB"
}

for set in A B; do
    for uid in "$USER_UID" "$SYS_UID"; do
        run_case py "$set" "$uid"
        rm -f "$T/py-$uid/stderr"
    done
done

echo "# done at $(date +%T.%3N)"
done_testing
