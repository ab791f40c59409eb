#!/bin/bash
# The shipped units' capabilities are enough to do the job: `ipcgcd --once`,
# run as root with exactly the CapabilityBoundingSet= of the built
# systemd/ipcgcd.service (then of systemd/ipcgc-sweep.service, which is the
# unit that runs --once) as its bounding, permitted and effective sets, and
# no_new_privs as NoNewPrivileges=yes, removes another user's orphaned shm,
# msg, sem, mq, pshm, psem and FIFO, and keeps that user's live ones.
#
# IPC_RMID of another user's SysV object needs the owner's or creator's euid
# or CAP_SYS_ADMIN (CAP_IPC_OWNER does not cover it): without CAP_SYS_ADMIN in
# a unit, its three SysV removals fail with EPERM.  IPCGC_TEST_UNITS="FILE..."
# checks other unit files' sets instead (to see that failure).
#
# Then the same with [Daemon] Namespaces=all: uid 4601's orphaned shm, msg,
# sem, mq and pshm inside a nested container (its own IPC and mount
# namespaces, /dev/shm and mqueue mount, in a cgroup docker-<id>.scope) are
# removed from inside it by `ipcgcd --once` with each unit's capabilities,
# and that user's live shm there is kept: setns(2) into the container's IPC
# namespace takes CAP_SYS_ADMIN, its /dev/shm reached through a member's
# /proc/PID/root CAP_SYS_PTRACE.
#
# In private IPC, mount and PID namespaces (tests/integration/lib.sh).
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

UNITS=${IPCGC_TEST_UNITS:-$top_builddir/systemd/ipcgcd.service $top_builddir/systemd/ipcgc-sweep.service}
UG=4601:4601

cat >>"$CONF" <<EOC

[Daemon]
Socket=$T/io.ipcgc

[Rule default]
MinAge=0
Action=collect
EOC

# ipc-hold -x has closed its stdout when hold_as returns; wait until it is
# gone altogether (a dying helper still attached would keep its shm LIVE).
wait_exited() {
    local i state
    for ((i = 0; i < 500; i++)); do
        state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
        case $state in "" | Z) return 0 ;; esac
        read -r -t 0.01 <> <(:) || true
    done
    echo "Bail out! ipc-hold pid $1 did not exit"
    exit 1
}

sysv_exists() { # sysv_exists shm|msg|sem ID
    awk -v id="$2" 'NR > 1 && $2 == id { found = 1 } END { exit !found }' "/proc/sysvipc/$1"
}

HOLDERS=()
trap 'kill "${HOLDERS[@]}" 2>/dev/null; wait 2>/dev/null' EXIT

# unit_caps UNIT: sets CAPS to UNIT's CapabilityBoundingSet= and BSET to it
# as setpriv's --bounding-set (CAP_SYS_PTRACE ... -> -all,+sys_ptrace,...).
unit_caps() {
    local c
    CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' "$1")
    [ -n "$CAPS" ] || { echo "Bail out! no CapabilityBoundingSet= in $1"; exit 1; }
    BSET=-all
    for c in $CAPS; do
        c=${c#CAP_}
        BSET="$BSET,+${c,,}"
    done
}

# as_unit BSET CMD...: CMD as root with only BSET's capabilities, as a unit
# runs it (bounding, permitted and effective sets, no_new_privs).
as_unit() {
    local bset=$1
    shift
    setpriv --bounding-set="$bset" --inh-caps=-all --no-new-privs -- "$@"
}

# is_gone DESCRIPTION LOG TEXT CMD...: passes when CMD (does it still
# exist?) fails; else says LOG's first lines with TEXT.
is_gone() {
    local desc=$1 log=$2 text=$3
    shift 3
    if "$@"; then not_ok "$desc" "$(grep -F -- "$text" "$log" | head -n 3)"; else ok "$desc"; fi
}

# round N UNIT: one set of uid 4601's orphans and live objects, one sweep
# with UNIT's capabilities, and what became of each.
round() {
    local n=$1 unit=$2 name=${2##*/} caps bset c t key rc set mask got want f path p entry
    local -A orphan_id=() live_id=()
    local holders=()

    unit_caps "$unit"
    caps=$CAPS bset=$BSET
    echo "# $name: CapabilityBoundingSet=$caps"

    # The orphans: made, used once, their maker gone.
    key=$((0x46010000 + n * 0x100))
    for t in shm msg sem; do
        key=$((key + 1))
        hold_as "$UG" -x "$t" "$key" 4096 0600
        wait_exited "$HOLD_PID"
        orphan_id[$t]=$HOLD_ID
    done
    for t in mq pshm psem fifo; do
        case $t in
        fifo) hold_as "$UG" -x fifo "$FIFODIR/orphan$n" 0 0600 ;;
        psem) hold_as "$UG" -x psem "/orphan$n" 0 0600 ;;
        *) hold_as "$UG" -x "$t" "/orphan$n" 16 0600 ;;
        esac
        wait_exited "$HOLD_PID"
    done

    # The live ones: each held by a process of that user until the test ends.
    key=$((0x46020000 + n * 0x100))
    for t in shm msg sem; do
        key=$((key + 1))
        hold_as "$UG" "$t" "$key" 4096 0600
        holders+=("$HOLD_PID")
        live_id[$t]=$HOLD_ID
    done
    for t in mq pshm psem fifo; do
        case $t in
        fifo) hold_as "$UG" fifo "$FIFODIR/live$n" 0 0600 ;;
        psem) hold_as "$UG" psem "/live$n" 0 0600 ;;
        *) hold_as "$UG" "$t" "/live$n" 16 0600 ;;
        esac
        holders+=("$HOLD_PID")
    done
    HOLDERS+=("${holders[@]}")

    for t in shm msg sem; do
        check "$name: uid 4601's orphaned $t (id ${orphan_id[$t]}) exists before the sweep" \
            sysv_exists "$t" "${orphan_id[$t]}"
    done
    is "$(stat -c %u "$MQDIR/orphan$n" "/dev/shm/orphan$n" "/dev/shm/sem.orphan$n" "$FIFODIR/orphan$n" | paste -sd:)" \
        4601:4601:4601:4601 "$name: the mq, pshm, psem and FIFO orphans exist, owned by uid 4601"

    # The sweep, as the unit would run it: root, only the unit's capabilities,
    # no_new_privs.  The wrapper records the sets it ran with.
    # shellcheck disable=SC2016 # the inner shell expands them
    as_unit "$bset" bash -c 'grep "^Cap" /proc/self/status >"$1"; shift; exec "$@"' _ "$T/caps$n" \
        "$top_builddir/ipcgcd" --once --config "$CONF" >"$T/once$n.out" 2>"$T/once$n.log"
    rc=$?

    # What it ran with is what the unit says, no more.
    want=$(for c in $caps; do echo "${c,,}"; done | sort | paste -sd,)
    for set in CapBnd CapPrm CapEff; do
        mask=$(sed -n "s/^$set:[[:space:]]*//p" "$T/caps$n")
        got=$(capsh --decode="$mask" | sed 's/^.*=//' | tr , '\n' | sort | paste -sd,)
        is "$got" "$want" "$name: ipcgcd --once ran with $set = the unit's CapabilityBoundingSet="
    done
    is "$(sed -n 's/^CapInh:[[:space:]]*//p' "$T/caps$n")" 0000000000000000 "$name: and no inheritable capabilities"
    is "$rc" 0 "$name: ipcgcd --once exits 0 (no removal failed)"

    for t in shm msg sem; do
        is_gone "$name: uid 4601's orphaned $t (id ${orphan_id[$t]}) is removed" "$T/once$n.log" "$t:${orphan_id[$t]} " \
            sysv_exists "$t" "${orphan_id[$t]}"
    done
    for f in "$MQDIR/orphan$n:mq" "/dev/shm/orphan$n:pshm" "/dev/shm/sem.orphan$n:psem" "$FIFODIR/orphan$n:FIFO"; do
        path=${f%:*}
        is_gone "$name: uid 4601's orphaned ${f##*:} ($path) is removed" "$T/once$n.log" "orphan$n" test -e "$path"
    done

    # Archived first, with only these capabilities: the entries are root's.
    is "$(grep -c ' removed: .*; archived as ' "$T/once$n.log")" 7 "$name: each of the 7 removals was archived first"
    is "$(stat -c '%a %u' "$T/state/archive")" "700 0" "$name: the archive is root's, 0700"
    # Restored with the same capabilities (ipcgcd.service serves Restore):
    # the pshm comes back as uid 4601's, with its bytes' size.
    if grep -q CAP_CHOWN <<<"$caps"; then
        entry=$(sed -n "s|.*pshm:/orphan$n removed: .*; archived as ||p" "$T/once$n.log")
        as_unit "$bset" "$IPCGC" --config "$CONF" --local restore "$entry" >"$T/restore$n.out" 2>&1
        got="$?,$(stat -c '%u %g %a %s' "/dev/shm/orphan$n" 2>&1)"
        is "$got" "0,4601 4601 600 16" "$name: restore with the unit's capabilities gives uid 4601's pshm back"
        [ "$got" = "0,4601 4601 600 16" ] || sed 's/^/#   restore: /' "$T/restore$n.out"
        rm -f "/dev/shm/orphan$n"
    fi

    for t in shm msg sem; do
        check "$name: uid 4601's live $t (id ${live_id[$t]}) is kept" sysv_exists "$t" "${live_id[$t]}"
    done
    for f in "$MQDIR/live$n:mq" "/dev/shm/live$n:pshm" "/dev/shm/sem.live$n:psem" "$FIFODIR/live$n:FIFO"; do
        check "$name: uid 4601's live ${f##*:} (${f%:*}) is kept" test -e "${f%:*}"
    done
    for p in "${holders[@]}"; do
        kill -0 "$p" 2>/dev/null || not_ok "$name: holder pid $p is still alive" "it died during the test"
    done

    if [ "$rc" != 0 ]; then
        sed "s/^/# $name --once: /" "$T/once$n.log" | head -n 40
    fi
}

n=0
for unit in $UNITS; do
    n=$((n + 1))
    round "$n" "$unit"
done

# The nested container: its own IPC and mount namespaces, /dev/shm and
# mqueue mount, in its cgroup docker-<id>.scope; uid 4601's live shm held
# there until the test ends.
HEX=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
CT=docker:${HEX:0:12}
CTCG=$(test_cgroup_root)/docker-$HEX.scope
mkdir -p "$CTCG"
mkfifo "$T/ct-stop"
cat >"$T/ct.sh" <<'EOS'
set -eu
export top_builddir=$2 top_srcdir=$3
. "$top_srcdir/tests/integration/lib.sh"
echo $$ >"$1/cgroup.procs"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t mqueue mqueue "$MQDIR"
hold_as 4601:4601 shm 0x46030001 4096 0600
echo "ready $(stat -L -c %i /proc/self/ns/ipc) $HOLD_ID $HOLD_PID $$"
read -r _ <"$4"
kill "$HOLD_PID"
EOS
exec {ctfd}< <(MQDIR=$MQDIR unshare --ipc --mount --propagation private -- \
    bash "$T/ct.sh" "$CTCG" "$top_builddir" "$top_srcdir" "$T/ct-stop")
read -r -u "$ctfd" word CT_NS CT_LIVE CT_HOLDER CT_PID
[ "$word" = ready ] && [ "$CT_NS" != "$(stat -L -c %i /proc/self/ns/ipc)" ] ||
    { echo "Bail out! the nested container did not start ($word)"; exit 1; }
HOLDERS+=("$CT_HOLDER" "$CT_PID")
# Every namespace, and a rule that collects in this container before the
# one that collects in the test's own.
awk -v ct="$CT" '/^\[Daemon\]$/ && !d { print; print "Namespaces=all"; d = 1; next }
    /^\[Rule default\]$/ { printf "[Rule container]\nContainer=%s\nMinAge=0\nAction=collect\n\n", ct }
    { print }' "$CONF" >"$T/ns.conf"
in_ct() { nsenter -t "$CT_PID" --ipc --mount -- "$@"; }
ct_sysv() { in_ct cat "/proc/sysvipc/$1" | awk -v id="$2" 'NR > 1 && $2 == id { found = 1 } END { exit !found }'; }

# nested N UNIT: uid 4601's orphans in the container, one `ipcgcd --once`
# with Namespaces=all and UNIT's capabilities, and what became of each.
nested() {
    local n=$1 name=${2##*/} t key rc f
    local -A orphan_id=()
    unit_caps "$2"
    key=$((0x46031000 + n * 0x100))
    for t in shm msg sem; do
        key=$((key + 1))
        orphan_id[$t]=$(in_ct setpriv --reuid=4601 --regid=4601 --clear-groups "$HOLD" -x "$t" "$key" 4096 0600 | cut -d' ' -f2)
    done
    in_ct setpriv --reuid=4601 --regid=4601 --clear-groups "$HOLD" -x pshm "/ct-orphan$n" 4096 0600 >/dev/null
    in_ct setpriv --reuid=4601 --regid=4601 --clear-groups "$HOLD" -x mq "/ct-orphan$n" 16 0600 >/dev/null
    for t in shm msg sem; do
        check "$name, Namespaces=all: uid 4601's orphaned $t (id ${orphan_id[$t]}) is in the container" \
            ct_sysv "$t" "${orphan_id[$t]}"
    done
    is "$(in_ct stat -c %u "/dev/shm/ct-orphan$n" "$MQDIR/ct-orphan$n" | paste -sd:)" 4601:4601 \
        "$name, Namespaces=all: and its orphaned pshm and mq, in the container's /dev/shm and mqueue"

    as_unit "$BSET" "$top_builddir/ipcgcd" --once --config "$T/ns.conf" >"$T/nsonce$n.out" 2>"$T/nsonce$n.log"
    rc=$?
    is "$rc" 0 "$name, Namespaces=all: ipcgcd --once with the unit's capabilities exits 0"
    for t in shm msg sem; do
        is_gone "$name, Namespaces=all: uid 4601's orphaned $t is removed from inside the container" \
            "$T/nsonce$n.log" "$t:${orphan_id[$t]} " ct_sysv "$t" "${orphan_id[$t]}"
    done
    for f in "/dev/shm/ct-orphan$n:pshm" "$MQDIR/ct-orphan$n:mq"; do
        is_gone "$name, Namespaces=all: uid 4601's orphaned ${f##*:} is removed from inside the container" \
            "$T/nsonce$n.log" "ct-orphan$n" in_ct test -e "${f%:*}"
    done
    is "$(grep -c " ipc:$CT_NS/[a-z]*:.* removed: .*; archived as " "$T/nsonce$n.log")" 5 \
        "$name, Namespaces=all: the log names the 5 removals ipc:$CT_NS/..., each archived first"
    check "$name, Namespaces=all: uid 4601's live shm in the container (id $CT_LIVE) is kept" ct_sysv shm "$CT_LIVE"
    [ "$rc" = 0 ] || sed "s/^/# $name --once, Namespaces=all: /" "$T/nsonce$n.log" | head -n 40
}

for unit in $UNITS; do
    n=$((n + 1))
    nested "$n" "$unit"
done
kill -0 "$CT_HOLDER" && ok "the live shm's holder in the container lived through both sweeps" ||
    not_ok "the live shm's holder in the container lived through both sweeps"
echo >"$T/ct-stop"
done_testing
