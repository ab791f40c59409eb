# shellcheck shell=bash
# Shared by the real-program tests: PostgreSQL, Apache prefork and Python
# multiprocessing from Debian's packages, each in its own cgroup named like a
# unit, judged and swept by `ipcgc --local` while they run, then killed.
#
# A test script sources this, calls programs_setup, and defines for its
# program P the hooks run_case calls:
#   P_start UID      start it in its unit (in_unit), wait until it serves;
#                    set PROG_JOB (the background job, $!) and PROG_PID (the
#                    program's main process, in the unit); fail if it does
#                    not come up
#   P_load ROUND     start round ROUND of load in the background, set LOAD_PIDS
#   P_load_check ROUND  after the load's processes exit: its checks (ok/not_ok)
#   P_warm_up SET    (optional) before the first list and sweep: under B,
#                    whatever makes ipcgc see the program's objects in use
#                    (under B an object never seen in use is judged on
#                    evidence alone: the rule's meaning)
#   P_first_look     (optional) after the first list, before any load
#   P_running_checks SET  (optional) extra checks on $MONLOG after the load
#   P_works WHAT     a short check that it works (after the last idle
#                    period, after the restart)
#   P_stop           a clean stop (the unit empties)
# and sets P_UNIT (the unit's name) and P_ROUNDS (the number of load rounds).
#
# Each program runs in a session of its own (setsid), as a service manager
# starts it: Apache prefork's parent stops with killpg(getpgrp(), SIGTERM),
# and a process group is not confined to a PID namespace, so in the test
# suite's group it would stop whatever else of its uid runs there (another
# test's PostgreSQL).
#
# Two rule sets: A, the shipped rules (conf/conf.d/90-system-users.conf and
# 99-default.conf, both with MinAge (1h, 15m) lowered to $MINAGE_A s so
# "ORPHAN after MinAge" fits in a test), and B, `[Rule default] MinAge=0
# Action=collect`.  Each has its own memory (StateDir).
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }

SYS_UID=120   # a system uid (< 1000): matched by the shipped system-users rule
USER_UID=4610 # an ordinary uid: the developer's or CI runner's case
MINAGE_A=5    # seconds; the shipped 99-default.conf says 15m
# shellcheck disable=SC2034 # for the scripts that source this
PY=/usr/bin/python3 # Debian's python, not whatever python3 is first on PATH

now_ms() { echo $((${EPOCHREALTIME/[.,]/} / 1000)); }
nap() { read -r -t "${1:-0.05}" <> <(:) || true; } # one poll period, never a synchronisation
as_uid() { # as_uid UID CMD...: CMD with that uid and gid, no supplementary groups
    local uid=$1
    shift
    setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}

# The programs' needs, checked before anything is judged: a missing package
# is a failure (tools/deps.sh installs them), never a skip.
need() {
    local f
    for f in "$@"; do
        [ -e "$f" ] || { echo "Bail out! $f is missing: run tools/deps.sh"; exit 1; }
    done
}

programs_setup() {
    need /usr/bin/jq /usr/bin/setpriv
    # Names for the test's uids, for the programs that ask (postgres refuses
    # to run as a uid without one), in this mount namespace only.
    local f
    for f in passwd group; do
        cp "/etc/$f" "$T/$f"
        chmod 0644 "$T/$f"
    done
    getent passwd "$SYS_UID" >/dev/null ||
        echo "ipcgc-sys:x:$SYS_UID:$SYS_UID:ipcgc test system user:/nonexistent:/usr/sbin/nologin" >>"$T/passwd"
    getent passwd "$USER_UID" >/dev/null ||
        echo "ipcgc-user:x:$USER_UID:$USER_UID:ipcgc test user:/nonexistent:/usr/sbin/nologin" >>"$T/passwd"
    getent group "$SYS_UID" >/dev/null || echo "ipcgc-sys:x:$SYS_UID:" >>"$T/group"
    getent group "$USER_UID" >/dev/null || echo "ipcgc-user:x:$USER_UID:" >>"$T/group"
    mount --bind "$T/passwd" /etc/passwd
    mount --bind "$T/group" /etc/group

    local set
    for set in A B; do
        mkdir -p "$T/$set/conf.d"
        # Each case archives what it removes, PostgreSQL's 146 MB segment
        # among them: the archive keeps what fits in ArchiveMaxBytes, the
        # oldest evicted however young (ArchiveKeep=0).
        sed -e "s|^StateDir=.*|StateDir=$T/$set/state|" -e "s|^\[Daemon\]\$|[Daemon]\nArchiveKeep=0|" "$CONF" \
            >"$T/$set/ipcgc.conf"
    done
    sed "s/^MinAge=1h\$/MinAge=${MINAGE_A}s/" "$top_srcdir/conf/conf.d/90-system-users.conf" >"$T/A/conf.d/90-system-users.conf"
    grep -q "^MinAge=${MINAGE_A}s\$" "$T/A/conf.d/90-system-users.conf" ||
        { echo "Bail out! conf/conf.d/90-system-users.conf no longer says MinAge=1h"; exit 1; }
    sed "s/^MinAge=15m\$/MinAge=${MINAGE_A}s/" "$top_srcdir/conf/conf.d/99-default.conf" >"$T/A/conf.d/99-default.conf"
    grep -q "^MinAge=${MINAGE_A}s\$" "$T/A/conf.d/99-default.conf" ||
        { echo "Bail out! conf/conf.d/99-default.conf no longer says MinAge=15m"; exit 1; }
    printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$T/B/ipcgc.conf"
    local out
    for set in A B; do
        out=$("$IPCGC" --config "$T/$set/ipcgc.conf" check-config 2>&1) ||
            { echo "Bail out! rule set $set is refused: $out"; exit 1; }
    done
    trap 'programs_cleanup_exit' EXIT
}

unit_dir() { echo "$(test_cgroup_root)/$1"; }

unit_empty() { grep -qx 'populated 0' "$(unit_dir "$1")/cgroup.events" 2>/dev/null; }

# wait_unit_empty UNIT SECONDS: until no process is left in the unit
wait_unit_empty() {
    local deadline=$(($(now_ms) + $2 * 1000))
    while ! unit_empty "$1"; do
        [ "$(now_ms)" -gt "$deadline" ] && return 1
        nap
    done
}

# kill_unit UNIT: SIGKILL to every process in the unit at once, as systemd
# does with KillMode=control-group and SIGKILL, then wait until it is empty.
kill_unit() {
    local cg pid
    cg=$(unit_dir "$1")
    if [ -e "$cg/cgroup.kill" ]; then
        echo 1 >"$cg/cgroup.kill"
    else
        while read -r pid; do kill -KILL "$pid" 2>/dev/null; done <"$cg/cgroup.procs"
    fi
    wait_unit_empty "$1" 10 && return 0
    while read -r pid; do kill -KILL "$pid" 2>/dev/null; done <"$cg/cgroup.procs"
    wait_unit_empty "$1" 10
}

# Whatever a case left (a rule that keeps, a failed check), so the next one
# starts with an empty namespace.  Private IPC and /dev/shm: only ours.
clean_ipc() {
    ipcrm --all 2>/dev/null
    find /dev/shm "$MQDIR" -mindepth 1 -maxdepth 1 -delete 2>/dev/null
    true
}

programs_cleanup_exit() {
    local cg rc=$?
    for cg in "$(test_cgroup_root)"/*/; do
        [ -d "$cg" ] && [ -e "$cg/cgroup.kill" ] && echo 1 >"$cg/cgroup.kill"
    done
    wait 2>/dev/null
    # For a look afterwards: IPCGC_PROGRAMS_KEEP=DIR keeps the scratch
    # directory (logs, the watch records, the memory) in DIR/test-NAME.
    if [ -n "${IPCGC_PROGRAMS_KEEP:-}" ]; then
        local keep
        keep=$IPCGC_PROGRAMS_KEEP/$(basename "$0" .sh)
        mkdir -p "$keep" && cp -a "$T/." "$keep/"
    fi
    exit "$rc"
}

# --- Watching: lists and sweeps, recorded in $MONLOG (one JSON line each) ---

# ipcgc_json KIND ARGS...: runs `ipcgc --local --config $RCONF ARGS`, prints
# one line {k: KIND, rc, t, ...} with the verdicts of a list or the records
# of a sweep; a failed or unreadable run is a line with rc and its error.
ipcgc_json() {
    local kind=$1 out err rc line t
    shift
    t=$(now_ms)
    out=$("$IPCGC" --local --config "$RCONF" "$@" 2>"$T/ipcgc.err")
    rc=$?
    err=$(head -c 300 "$T/ipcgc.err")
    if [ "$kind" = list ]; then
        line=$(jq -c --argjson rc "$rc" --argjson t "$t" --arg err "$err" \
            '{k: "list", rc: $rc, t: $t, err: $err, objects: [.objects[] | {id, type, verdict, reason, uid}]}' <<<"$out" 2>/dev/null)
    else
        line=$(jq -c --argjson rc "$rc" --argjson t "$t" --arg err "$err" \
            '{k: "sweep", rc: $rc, t: $t, err: $err, removed, failed, records}' <<<"$out" 2>/dev/null)
    fi
    [ -n "$line" ] || line=$(jq -nc --arg k "$kind" --argjson rc "$rc" --argjson t "$t" --arg err "$err" --arg out "${out:0:300}" \
        '{k: $k, rc: (if $rc == 0 then -1 else $rc end), t: $t, err: ($err + " / unreadable output: " + $out)}')
    echo "$line"
}

mon_once() { # one list and one sweep (a real one), recorded
    ipcgc_json list list -J >>"$MONLOG"
    ipcgc_json sweep sweep -J >>"$MONLOG"
}

mon_while() { # mon_while PID...: watch while any of the PIDs runs (at least once)
    local p alive
    while :; do
        mon_once
        alive=
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ -n "$alive" ] || return 0
    done
}

mon_for() { # mon_for SECONDS: an idle period, watched all along
    local end=$(($(now_ms) + $1 * 1000))
    while :; do
        mon_once
        [ "$(now_ms)" -ge "$end" ] && return 0
    done
}

list_now() { "$IPCGC" --local --config "$RCONF" list -J 2>>"$T/ipcgc.err"; }

# show: details for not_ok, at most 8 lines of its input
show() { head -n 8; }

# detail CMD...: DETAIL=(CMD's output lines, at most 8), for not_ok "..." "${DETAIL[@]}"
# shellcheck disable=SC2034 # for the callers
detail() { mapfile -t DETAIL < <("$@" 2>&1 | show); }

# --- The checks on what was watched ---

check_watch_ran() { # no list or sweep failed while the program ran
    local n bad
    n=$(jq -s '[.[] | select(.k == "list")] | length' "$MONLOG")
    bad=$(jq -r -s '.[] | select(.rc != 0) | "\(.k) exited \(.rc): \(.err)"' "$MONLOG")
    if [ -z "$bad" ] && [ "$n" -gt 0 ]; then
        ok "$CASE: $n lists and $n sweeps while it ran, none failed"
    else
        mapfile -t lines < <(show <<<"$bad")
        not_ok "$CASE: $n lists and $n sweeps while it ran, none failed" "${lines[@]}"
    fi
}

# Under the shipped rules: nothing is ORPHAN or PENDING, no sweep removes
# anything, while the program runs.
check_watch_A() {
    local bad removed
    bad=$(jq -r -s '.[] | select(.k == "list") | .objects[] | select(.verdict == "ORPHAN" or .verdict == "PENDING")
        | "\(.id) (uid \(.uid)) \(.verdict): \(.reason)"' "$MONLOG" | sort | uniq -c | sort -rn)
    if [ -z "$bad" ]; then
        ok "$CASE: no object ORPHAN or PENDING while it ran"
    else
        mapfile -t lines < <(show <<<"$bad")
        not_ok "$CASE: no object ORPHAN or PENDING while it ran" "${lines[@]}"
    fi
    removed=$(jq -r -s '.[] | select(.k == "sweep") | (.records // [])[] | select(.action == "removed")
        | "\(.id) \(.verdict): \(.reason)"' "$MONLOG")
    if [ -z "$removed" ]; then
        ok "$CASE: sweeps removed nothing while it ran"
    else
        mapfile -t lines < <(show <<<"$removed")
        not_ok "$CASE: sweeps removed nothing while it ran" "${lines[@]}"
    fi
}

# Under MinAge=0 Action=collect: an object once listed LIVE is LIVE in every
# later list while the program runs, and no sweep removes it.  (An object no
# list ever saw in use may be judged on evidence alone: that is the rule's
# meaning for objects with no remembered life.  Its removals are reported.)
check_watch_B() {
    local res bad never seen
    res=$(jq -s '
        reduce .[] as $e ({seen: {}, bad: [], never: []};
            if $e.k == "list" then
                reduce ($e.objects // [])[] as $o (.;
                    if .seen[$o.id] then
                        (if $o.verdict != "LIVE" then .bad += ["\($o.id) was LIVE, then \($o.verdict): \($o.reason)"] else . end)
                    elif $o.verdict == "LIVE" then .seen[$o.id] = true
                    else . end)
            else
                reduce (($e.records // [])[] | select(.action == "removed")) as $r (.;
                    if .seen[$r.id] then .bad += ["\($r.id) was LIVE, then removed by a sweep: \($r.verdict): \($r.reason)"]
                    else .never += ["\($r.id) \($r.verdict): \($r.reason)"] end)
            end)
        | {seen: (.seen | length), bad, never}' "$MONLOG")
    seen=$(jq .seen <<<"$res")
    bad=$(jq -r '.bad[]' <<<"$res" | sort | uniq -c | sort -rn)
    never=$(jq -r '.never[]' <<<"$res")
    if [ -z "$bad" ] && [ "$seen" -gt 0 ]; then
        ok "$CASE: each of the $seen objects once listed LIVE stayed LIVE and was not removed"
    else
        mapfile -t lines < <(show <<<"$bad")
        not_ok "$CASE: each of the $seen objects once listed LIVE stayed LIVE and was not removed" "${lines[@]}"
    fi
    [ -z "$never" ] || echo "# $CASE: removed while it ran, never listed LIVE: $(wc -l <<<"$never"): $(head -n 3 <<<"$never" | tr '\n' ';')"
}

# check_always_live ID WHAT: ID is in every list from its first and LIVE in
# each (for objects the test knows the program keeps from start to end).
check_always_live() {
    local id=$1 what=$2 res
    res=$(jq -r -s --arg id "$id" '
        [.[] | select(.k == "list")] as $l
        | ([$l | to_entries[] | select(any(.value.objects[]; .id == $id)) | .key] | min) as $first
        | if $first == null then "never listed"
          else [$l[$first:][] | ([.objects[] | select(.id == $id)] | first // {verdict: "gone", reason: "not listed"})
                | select(.verdict != "LIVE") | "\(.verdict): \(.reason)"]
               | if length == 0 then "ok \($l | length - $first)" else (length | tostring) + " lists: " + .[0] end
          end' "$MONLOG")
    case $res in
    ok\ *) ok "$CASE: $what ($id) LIVE in all ${res#ok } lists while it ran" ;;
    *) not_ok "$CASE: $what ($id) LIVE in every list while it ran" "$res" ;;
    esac
}

# What kept objects LIVE (informational), from the reasons' wording: direct
# evidence, a remembered pid, lineage, NeverSeen=owner.
note_reasons() {
    jq -r -s '[.[] | select(.k == "list") | .objects[] | select(.verdict == "LIVE") | .reason
        | if startswith("unit ") then "unit (lineage)" elif startswith("seen before") then "remembered"
          elif startswith("never seen") then "never seen (owner)" else "direct" end]
        | group_by(.) | map("\(.[0]) \(length)") | join(", ")' "$MONLOG" | sed "s|^|# $CASE: LIVE verdicts by kind: |"
}

# --- After SIGKILL: the leftovers ---

# wait_all_verdict VERDICT SECONDS: lists until every object is VERDICT;
# prints the last list's objects as "id verdict" lines
wait_all_verdict() {
    local want=$1 deadline=$(($(now_ms) + $2 * 1000)) out
    while :; do
        out=$(list_now | jq -r '.objects[] | "\(.id) \(.verdict)"')
        [ -n "$out" ] && ! grep -vq " $want\$" <<<"$out" && break
        [ "$(now_ms)" -gt "$deadline" ] && break
        nap 0.2
    done
    printf '%s\n' "$out"
}

# check_leftovers SET UID: the objects the killed program left behind
check_leftovers() {
    local set=$1 uid=$2 left n verdicts t0 out removed elapsed
    t0=$LAST_SEEN_MS
    left=$(list_now)
    n=$(jq '.objects | length' <<<"$left")
    if [ "$n" -gt 0 ]; then
        ok "$CASE: SIGKILL left $n objects ($(jq -r '[.objects[].type] | group_by(.) | map("\(length) \(.[0])") | join(", ")' <<<"$left"))"
    else
        not_ok "$CASE: SIGKILL left objects behind" "none listed: did the program make any?"
        return
    fi
    verdicts=$(jq -r '[.objects[].verdict] | unique | join(",")' <<<"$left")
    details() { jq -r '.objects[] | "\(.id) \(.verdict): \(.reason)"' <<<"$left" | show; }

    # The shipped rules: a system uid's leftovers (rule system-users, MinAge
    # 1h, lowered here as default's is) go as an ordinary uid's do.
    if [ "$set" = A ]; then
        mapfile -t lines < <(details)
        is "$verdicts" PENDING "$CASE: the leftovers are PENDING at first (MinAge ${MINAGE_A}s)"
        [ "$verdicts" = PENDING ] || printf '#   %s\n' "${lines[@]}"
        out=$(wait_all_verdict ORPHAN $((MINAGE_A + 15)))
        elapsed=$(($(now_ms) - t0))
        if ! grep -vq ' ORPHAN$' <<<"$out"; then
            ok "$CASE: all ORPHAN $((elapsed / 100))/10 s after the last sign of life"
            check "$CASE: not before MinAge ($((elapsed / 100))/10 s >= ${MINAGE_A}-1 s)" test "$elapsed" -ge $(((MINAGE_A - 1) * 1000))
        else
            mapfile -t lines < <(grep -v ' ORPHAN$' <<<"$out" | show)
            not_ok "$CASE: all ORPHAN within $((MINAGE_A + 15)) s" "${lines[@]}"
        fi
    else
        mapfile -t lines < <(details)
        is "$verdicts" ORPHAN "$CASE: the leftovers are ORPHAN at once (MinAge=0)"
        [ "$verdicts" = ORPHAN ] || printf '#   %s\n' "${lines[@]}"
    fi
    out=$(ipcgc_json sweep sweep -J)
    removed=$(jq -r '.removed' <<<"$out")
    left=$(list_now | jq '.objects | length')
    archived=$(jq '[.records[] | select(.action == "removed" and .archive != null)] | length' <<<"$out")
    is "$archived" "$removed" "$CASE: each of the $removed removed was archived first"
    if [ "$removed" = "$n" ] && [ "$left" = 0 ]; then
        ok "$CASE: a sweep removes all $n"
    else
        not_ok "$CASE: a sweep removes all $n" "removed $removed, $left still listed" \
            "$(jq -c '[.records[] | {id, action, verdict, reason}]' <<<"$out" | head -c 800)"
    fi
}

# --- One case: a program under one rule set, run by one uid ---

run_case() { # run_case PROG SET UID [ARGS for PROG_start...]
    local prog=$1 set=$2 uid=$3 round unit
    shift 3
    RCONF=$T/$set/ipcgc.conf
    CASE="$prog $set uid $uid${*:+ $*}"
    CASE_TAG=$prog.$set.$uid${*:+.${*// /.}} # for the case's own files
    MONLOG=$T/watch.$CASE_TAG.jsonl
    : >"$MONLOG"
    # For debugging one case by hand: IPCGC_PROGRAMS_ONLY="A uid 4610" (never set by make check).
    if [ -n "${IPCGC_PROGRAMS_ONLY:-}" ] && [[ $CASE != *"$IPCGC_PROGRAMS_ONLY"* ]]; then
        echo "# --- $CASE: left out (IPCGC_PROGRAMS_ONLY)"
        return
    fi
    unit=${prog}_UNIT
    unit=${!unit}
    clean_ipc
    echo "# --- $CASE (rules $set, unit $unit) at $(date +%T.%3N) ---"
    if ! "${prog}_start" "$uid" "$@"; then
        not_ok "$CASE: starts in $unit"
        kill_unit "$unit"
        wait 2>/dev/null
        return
    fi
    ok "$CASE: starts in $unit"
    declare -F "${prog}_warm_up" >/dev/null && "${prog}_warm_up" "$set"
    mon_once
    declare -F "${prog}_first_look" >/dev/null && "${prog}_first_look"
    local rounds=${prog}_ROUNDS idle t
    for round in $(seq "${!rounds}"); do
        LOAD_PIDS=()
        t=$(now_ms)
        "${prog}_load" "$round"
        mon_while "${LOAD_PIDS[@]}"
        echo "# $CASE: round $round of load took $(($(now_ms) - t)) ms"
        "${prog}_load_check" "$round"
        # The first idle period outlasts the shipped rule's (lowered) MinAge.
        idle=1
        [ "$round" = 1 ] && [ "$set" = A ] && idle=$((MINAGE_A + 2))
        mon_for "$idle"
    done
    # The last idle period is followed by use too.
    "${prog}_works" "after the last idle period"
    if kill -0 "$PROG_PID" 2>/dev/null; then
        ok "$CASE: still runs before SIGKILL"
    else
        not_ok "$CASE: still runs before SIGKILL" "its main process $PROG_PID is gone"
    fi
    check_watch_ran
    if [ "$set" = A ]; then check_watch_A; else check_watch_B; fi
    declare -F "${prog}_running_checks" >/dev/null && "${prog}_running_checks" "$set"
    note_reasons

    # The last sign of life ipcgc sees is this list; then SIGKILL to all.
    LAST_SEEN_MS=$(now_ms)
    ipcgc_json list list -J >>"$MONLOG"
    if kill_unit "$unit"; then
        ok "$CASE: SIGKILL empties $unit"
    else
        not_ok "$CASE: SIGKILL empties $unit" "still in it: $(tr '\n' ' ' <"$(unit_dir "$unit")/cgroup.procs")"
    fi
    wait "$PROG_JOB" 2>/dev/null
    check_leftovers "$set" "$uid"

    # Then it starts cleanly again, in the same unit and namespaces.
    if "${prog}_start" "$uid" "$@"; then
        ok "$CASE: starts again after SIGKILL"
        "${prog}_works" "after the restart"
        "${prog}_stop"
        if wait_unit_empty "$unit" 30; then
            ok "$CASE: stops cleanly"
        else
            not_ok "$CASE: stops cleanly" "still running: $(tr '\n' ' ' <"$(unit_dir "$unit")/cgroup.procs")"
            kill_unit "$unit"
        fi
    else
        not_ok "$CASE: starts again after SIGKILL"
        kill_unit "$unit"
    fi
    wait 2>/dev/null
    clean_ipc
}
