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

# round N UNIT: one set of uid 4601's orphans and live objects, one sweep
# with UNIT's capabilities, and what became of each.
round() {
    local n=$1 unit=$2 name=${2##*/} caps bset c t key rc set mask got want f path p entry
    local -A orphan_id=() live_id=()
    local holders=()

    caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
    [ -n "$caps" ] || { echo "Bail out! no CapabilityBoundingSet= in $unit"; exit 1; }
    echo "# $name: CapabilityBoundingSet=$caps"
    # CAP_SYS_PTRACE CAP_IPC_OWNER ... -> -all,+sys_ptrace,+ipc_owner,...
    bset=-all
    for c in $caps; do
        c=${c#CAP_}
        bset="$bset,+${c,,}"
    done

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
    setpriv --bounding-set="$bset" --inh-caps=-all --no-new-privs -- \
        bash -c 'grep "^Cap" /proc/self/status >"$1"; shift; exec "$@"' _ "$T/caps$n" \
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
        if sysv_exists "$t" "${orphan_id[$t]}"; then
            not_ok "$name: uid 4601's orphaned $t (id ${orphan_id[$t]}) is removed" \
                "$(grep -F "$t:${orphan_id[$t]} " "$T/once$n.log" | head -n 3)"
        else
            ok "$name: uid 4601's orphaned $t (id ${orphan_id[$t]}) is removed"
        fi
    done
    for f in "$MQDIR/orphan$n:mq" "/dev/shm/orphan$n:pshm" "/dev/shm/sem.orphan$n:psem" "$FIFODIR/orphan$n:FIFO"; do
        path=${f%:*}
        if [ -e "$path" ]; then
            not_ok "$name: uid 4601's orphaned ${f##*:} ($path) is removed" \
                "$(grep -F "orphan$n" "$T/once$n.log" | head -n 3)"
        else
            ok "$name: uid 4601's orphaned ${f##*:} ($path) is removed"
        fi
    done

    # Archived first, with only these capabilities: the entries are root's.
    is "$(grep -c ' removed: .*; archived as ' "$T/once$n.log")" 7 "$name: each of the 7 removals was archived first"
    is "$(stat -c '%a %u' "$T/state/archive")" "700 0" "$name: the archive is root's, 0700"
    # Restored with the same capabilities (ipcgcd.service serves Restore):
    # the pshm comes back as uid 4601's, with its bytes' size.
    if grep -q CAP_CHOWN <<<"$caps"; then
        entry=$(sed -n "s|.*pshm:/orphan$n removed: .*; archived as ||p" "$T/once$n.log")
        setpriv --bounding-set="$bset" --inh-caps=-all --no-new-privs -- \
            "$IPCGC" --config "$CONF" --local restore "$entry" >"$T/restore$n.out" 2>&1
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
done_testing
