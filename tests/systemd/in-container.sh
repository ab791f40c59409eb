#!/bin/bash
# Runs inside a systemd-nspawn container booted with the host's systemd, as
# the unit ipcgc-systemd-test.service.  Checks the real units under real
# systemd and writes TAP to /result/tap, then powers the container off.
# The container has its own IPC namespace: nothing here touches the host's.
exec >/result/log 2>&1
set -x
TAP=/result/tap
: >"$TAP"
n=0
ok() { n=$((n + 1)); echo "ok $n - $*" >>"$TAP"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1" >>"$TAP"; shift; for d in "$@"; do echo "#   $d" >>"$TAP"; done; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d" "failed: $*"; fi; }
is() { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "got: '$1'" "expected: '$2'"; fi; }
finish() { echo "1..$n" >>"$TAP"; systemctl poweroff --no-block; exit 0; }
trap finish EXIT

IPCGC=/opt/ipcgc/ipcgc
CONF=/etc/ipcgc-test/ipcgc.conf
mkdir -p /etc/ipcgc-test /etc/systemd/system/ipcgcd.service.d
# Where Debian's node_exporter reads textfiles: the units may write there.
PROM=/var/lib/prometheus/node-exporter/ipcgc.prom
mkdir -p "${PROM%/*}"
# The container has its own IPC and PID namespaces, and nothing outside it
# shares them: its PID view is complete (TrustPIDNamespace=yes).  The memory
# of life goes to the unit's StateDirectory=, on the container's volatile
# root, never the host's.  Rule "all" is
# for the container's own namespace: another one's objects (the nested
# container's below) are collected by a rule that names it.
cat >"$CONF" <<EOC
[Scan]
TrustPIDNamespace=yes
[Daemon]
Interval=1h
StateDir=/var/lib/ipcgc
MetricsFile=/var/lib/prometheus/node-exporter/ipcgc.prom
[Rule nosave]
Types=shm
Key=0x7776
Archive=no
MinAge=0
Action=collect
[Rule all]
Namespace=host
MinAge=0
Action=collect
EOC
sbindir=$(sed -n 's|^ExecStart=\(.*\)/ipcgcd$|\1|p' /etc/systemd/system/ipcgcd.service)
# LeakSanitizer stops the world with ptrace, which the units' SystemCallFilter=
# forbids: in a sanitized build it would fail at exit.  Leaks are checked by
# every other test; here the units run as shipped otherwise.
cat >/etc/systemd/system/ipcgcd.service.d/test.conf <<EOC
[Service]
ExecStart=
ExecStart=$sbindir/ipcgcd --config $CONF
Environment=ASAN_OPTIONS=detect_leaks=0
EOC
mkdir -p /etc/systemd/system/ipcgc-sweep.service.d
printf '[Service]\nExecStart=\nExecStart=%s/ipcgcd --once --config %s\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' "$sbindir" "$CONF" \
    >/etc/systemd/system/ipcgc-sweep.service.d/test.conf
systemctl daemon-reload

# The journal catalog, as the package installs it beside systemd's own: the
# container's /usr is the host's, read-only, so the database is made from a
# copy of both and put where journalctl -x reads it (/var, volatile here).
mkdir -p /run/catalog-root/usr/lib/systemd/catalog /var/lib/systemd/catalog
cp /usr/lib/systemd/catalog/*.catalog /opt/ipcgc/ipcgc.catalog /run/catalog-root/usr/lib/systemd/catalog/
check "journalctl --update-catalog takes ipcgc.catalog" journalctl --root=/run/catalog-root --update-catalog
cp /run/catalog-root/var/lib/systemd/catalog/database /var/lib/systemd/catalog/database
for id in $(sed -n 's/^#define MESSAGE_ID_[A-Z_]* "\([0-9a-f]*\)"$/\1/p' /opt/ipcgc/log.h); do
    journalctl --list-catalog "$id" 2>/dev/null | grep -q "^$id ipcgc: " || missing="${missing:-} $id"
done
is "${missing:-}" "" "journalctl --list-catalog knows every MESSAGE_ID of daemon/log.h"

# uid 4601's shm, sem and msg, each used once and left by its maker: removing
# another user's SysV objects takes CAP_SYS_ADMIN in the unit.  Sets OTHER_IDS
# ("shm:N sem:N msg:N") and OTHER_KEYS (an array of their keys, 0x%08x).
other_orphans() { # other_orphans KEYBASE
    local t k=$1 id
    OTHER_IDS=''
    OTHER_KEYS=()
    for t in shm sem msg; do
        k=$((k + 1))
        id=$(setpriv --reuid=4601 --regid=4601 --clear-groups /opt/ipcgc/ipc-hold -x "$t" "$k" 4096 0600 | cut -d' ' -f2)
        OTHER_IDS="$OTHER_IDS $t:$id"
        OTHER_KEYS+=("$(printf '0x%08x' "$k")")
    done
    OTHER_IDS=${OTHER_IDS# }
}
# journal_wait CURSOR UNIT PATTERN: whether UNIT's journal after CURSOR gets
# a line matching PATTERN within 5 s (journald hears PID 1 asynchronously).
journal_wait() {
    local _
    for _ in $(seq 100); do
        journalctl --sync 2>/dev/null
        journalctl --no-pager --after-cursor="$1" -u "$2" | grep -q -- "$3" && return 0
        sleep 0.05
    done
    return 1
}
# journal_cursor: where the journal is now
journal_cursor() { journalctl --sync 2>/dev/null; journalctl -n 0 --show-cursor | sed -n 's/^-- cursor: //p'; }
# sysv_left KEY...: those of the keys some SysV object still has
sysv_left() {
    local k
    for k in "$@"; do ipcs -a | grep -q "^$k " && echo "$k"; done | paste -sd' '
}

# The shipped preset, as a distribution applies it: the daemon and its
# socket enabled, the timer disabled, even if it was enabled before.
check "systemctl enable ipcgc-sweep.timer (before the preset)" systemctl enable ipcgc-sweep.timer
check "systemctl preset on the four units" systemctl preset ipcgcd.service ipcgcd.socket ipcgc-sweep.service ipcgc-sweep.timer
is "$(systemctl is-enabled ipcgcd.socket)" enabled "the preset enables ipcgcd.socket"
is "$(systemctl is-enabled ipcgcd.service)" enabled "the preset enables ipcgcd.service"
is "$(systemctl is-enabled ipcgc-sweep.timer)" disabled "the preset disables ipcgc-sweep.timer"

# The volatile container has an empty /etc, so man(1) has no configuration
# there: the Documentation= pages are checked on the host instead.
man_opt=--man=no
for u in ipcgcd.service ipcgcd.socket ipcgc-sweep.service ipcgc-sweep.timer; do
    out=$(systemd-analyze verify "$man_opt" "/etc/systemd/system/$u" 2>&1)
    rc=$?
    # Only our own units are judged: lines about others come from the host tree.
    own=$(grep -E '^(ipcgcd|ipcgc-sweep)' <<<"$out")
    if [ $rc -eq 0 ] && [ -z "$own" ]; then ok "systemd-analyze verify $u ($man_opt)"; else not_ok "systemd-analyze verify $u" "$out"; fi
done
systemd-analyze security --offline=true --no-pager /etc/systemd/system/ipcgcd.service >/result/security 2>&1
cp /etc/systemd/system/ipcgcd.service /result/ipcgcd.service

is "$(systemctl is-active ipcgcd.service)" inactive "ipcgcd.service is not running before anyone asks"
check "ipcgcd.socket starts" systemctl start ipcgcd.socket
check "ipcgcd.socket is listening" systemctl is-active --quiet ipcgcd.socket
is "$(systemctl is-active ipcgcd.service)" inactive "and the socket alone does not start the service"
status=$("$IPCGC" --config "$CONF" status -J)
check "the first ipcgc status is answered (socket activation)" test -n "$status"
is "$(systemctl is-active ipcgcd.service)" active "ipcgcd.service reached active (Type=notify: READY=1)"
is "$(systemctl show -p Type --value ipcgcd.service)" notify "it is Type=notify"
check "it reports STATUS= counts" bash -c "systemctl show -p StatusText --value ipcgcd.service | grep -q 'objects:'"
check "the watchdog is armed" test "$(systemctl show -p WatchdogUSec --value ipcgcd.service)" != 0

/opt/ipcgc/ipc-hold -x shm 0x7777 4096 0600 >/dev/null
shmid=$(ipcs -m | grep '^0x00007777 ' | tr -s ' ' | cut -d' ' -f2)
check "an orphaned segment exists" test -n "$shmid"
sweep=$("$IPCGC" --config "$CONF" sweep -J)
removed=$(jq -r '[.records[] | select(.action == "removed") | .id] | join(" ")' <<<"$sweep")
is "$removed" "shm:$shmid" "ipcgc sweep through the socket removed it"
got=$(stat -c '%a %u' "$PROM" 2>&1)
if [ "$got" = "644 0" ]; then ok "the unit's daemon writes MetricsFile= in ${PROM%/*} (ReadWritePaths=)"; else
    not_ok "the unit's daemon writes MetricsFile= in ${PROM%/*} (ReadWritePaths=)" "got: $got" \
        "$(journalctl --no-pager -u ipcgcd.service | grep MetricsFile)"
fi
found=
for _ in $(seq 100); do
    journalctl --sync 2>/dev/null
    found=$(journalctl --no-pager -o json IPCGC_ACTION=removed | jq -r 'select(.IPCGC_OBJECT == "shm:'"$shmid"'") | .MESSAGE_ID')
    [ -n "$found" ] && break
    sleep 0.05
done
is "$found" 9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d01 "journalctl IPCGC_ACTION=removed shows it, with its MESSAGE_ID"
rule=$(journalctl --no-pager -o json IPCGC_ACTION=removed | jq -r 'select(.IPCGC_OBJECT == "shm:'"$shmid"'") | .IPCGC_RULE')
is "$rule" all "the entry names the rule (IPCGC_RULE=)"
entry=$(jq -r '.records[] | select(.action == "removed") | .archive' <<<"$sweep")
is "$(journalctl --no-pager -o json IPCGC_ACTION=removed | jq -r 'select(.IPCGC_OBJECT == "shm:'"$shmid"'") |
        "\(.IPCGC_ARCHIVE) \(.IPCGC_UID) \(.IPCGC_KEY) \(.IPCGC_SIZE)"')" "$entry 0 0x00007777 4096" \
    "the journal says where it went and what it was (IPCGC_ARCHIVE=, _UID=, _KEY=, _SIZE=)"
is "$(stat -c '%F %a %u' /var/lib/ipcgc/archive/* 2>&1)" "regular file 600 0" "its entry's pack is in the unit's StateDirectory, root's, 0600"
# What journalctl -x says of it: the catalog's text, its fields filled in.
explained=$(journalctl --no-pager -x IPCGC_ACTION=removed IPCGC_OBJECT="shm:$shmid" 2>&1)
echo "$explained" >/result/explained
check "journalctl -x IPCGC_ACTION=removed explains it (the catalog's subject)" \
    grep -qF "Subject: IPC object shm:$shmid removed by ipcgcd" <<<"$explained"
check "and says how to bring it back: ipcgc restore $entry" grep -qF "ipcgc restore $entry" <<<"$explained"
check "with its owner and size filled in" grep -qF "(owner uid 0," <<<"$explained"
removal=$(journalctl --no-pager -o json IPCGC_ACTION=removed IPCGC_OBJECT="shm:$shmid")
line=$(grep -n 'log_record(prio, id, &shown, ' /opt/ipcgc/manager.c | cut -d: -f1)
is "$(jq -r '"\(.CODE_FILE) \(.CODE_LINE) \(.CODE_FUNC)"' <<<"$removal")" "daemon/manager.c $line log_records" \
    "its CODE_FILE, CODE_LINE and CODE_FUNC are the caller's"
summary=$(journalctl --no-pager -o json MESSAGE_ID=9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d06 | tail -1)
is "$(jq -r '"\(.IPCGC_TRIGGER) \(.IPCGC_REMOVED) \(.IPCGC_FAILED) \(.IPCGC_SKIPPED) \(.IPCGC_DRY_RUN)"' <<<"$summary")" \
    "request 1 0 0 no" "the sweep's summary has its counts as fields (IPCGC_TRIGGER=, _REMOVED=, _FAILED=...)"
is "$(jq -r '[(.IPCGC_OBJECTS | tonumber > 0), (.IPCGC_LIVE | tonumber >= 0), (.IPCGC_ORPHAN | tonumber >= 1),
        (.IPCGC_DURATION_USEC | tonumber > 0)] | map(tostring) | join(" ")' <<<"$summary" 2>&1)" "true true true true" \
    "and the verdicts' counts (IPCGC_LIVE=, _ORPHAN= of at least the one) and its duration (IPCGC_DURATION_USEC=)"
check "journalctl -x explains the summary too" bash -c "journalctl --no-pager -x MESSAGE_ID=9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d06 | grep -q 'ipcgcd sweep: 1 removed, 0 failed'"
# A removal under Archive=no has nothing to restore: its own MESSAGE_ID and text.
/opt/ipcgc/ipc-hold -x shm 0x7776 4096 0600 >/dev/null
nosave=$(ipcs -m | grep '^0x00007776 ' | tr -s ' ' | cut -d' ' -f2)
"$IPCGC" --config "$CONF" sweep -J >/dev/null
is "$(ipcs -m | grep -c '^0x00007776 ')" 0 "a segment under Archive=no is removed"
journalctl --sync 2>/dev/null
unsaved=$(journalctl --no-pager -x IPCGC_ACTION=removed IPCGC_OBJECT="shm:$nosave" 2>&1)
check "journalctl -x says it was not archived and cannot be restored" \
    grep -qF 'The rule "nosave" says Archive=no, so its contents were not saved' <<<"$unsaved"
check "and offers no ipcgc restore" bash -c '! grep -q "ipcgc restore" <<<"$1"' _ "$unsaved"
is "$(journalctl --no-pager -o json IPCGC_ACTION=removed IPCGC_OBJECT="shm:$nosave" | jq -r .MESSAGE_ID)" \
    9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d0a "with the MESSAGE_ID of a removal not archived"
out=$("$IPCGC" --config "$CONF" restore "$entry" 2>&1)
is "$(ipcs -m | grep -c '^0x00007777 ')" 1 "ipcgc restore through the unit's daemon brings it back ($out)"
ipcrm -M 0x7777

# Another user's SysV objects, through the daemon of the installed unit.
other_orphans 0x46017000
check "uid 4601 made a shm, a sem and a msg ($OTHER_IDS)" test "$(sysv_left "${OTHER_KEYS[@]}" | wc -w)" = 3
# (no awk here: the volatile /etc has no /etc/alternatives)
is "$(ipcs -m | grep "^${OTHER_KEYS[0]} " | tr -s ' ' | cut -d' ' -f3)" 4601 "owned by uid 4601"
sweep=$("$IPCGC" --config "$CONF" sweep -J)
removed=$(jq -r '[.records[] | select(.action == "removed") | .id] | sort | join(" ")' <<<"$sweep")
is "$removed" "$(tr ' ' '\n' <<<"$OTHER_IDS" | sort | paste -sd' ')" "ipcgc sweep through the unit's daemon removed all three"
is "$(jq -r '[.records[] | select(.action == "failed")] | length' <<<"$sweep")" 0 "and no removal failed"
is "$(sysv_left "${OTHER_KEYS[@]}")" "" "none of them is left"
check "the memory of life is kept in the unit's StateDirectory (/var/lib/ipcgc)" test -s /var/lib/ipcgc/memory

# The timer's one-shot while the daemon runs: a no-op that stops nothing.
/opt/ipcgc/ipc-hold -x shm 0x7779 4096 0600 >/dev/null
pid_before=$(systemctl show -p MainPID --value ipcgcd.service)
cursor=$(journal_cursor)
check "systemctl start ipcgc-sweep.service while the daemon runs" systemctl start ipcgc-sweep.service
# A skip leaves Result=success, and a finished one-shot is unloaded with its
# Exec* records: the journal tells what happened.
check "the one-shot was skipped by its ExecCondition=" \
    journal_wait "$cursor" ipcgc-sweep.service "Skipped due to 'exec-condition'"
is "$(journalctl --no-pager --after-cursor="$cursor" -u ipcgc-sweep.service -t ipcgcd | grep -c 'ipcgcd\[')" 0 \
    "its ipcgcd --once did not run"
is "$(ipcs -m | grep -c '^0x00007779 ')" 1 "and swept nothing (an orphan made just before is still there)"
is "$(systemctl is-active ipcgcd.service)" active "the daemon is still active (no Conflicts=)"
is "$(systemctl show -p MainPID --value ipcgcd.service)" "$pid_before" "the same process"
check "systemctl start ipcgc-sweep.timer while the daemon runs" systemctl start ipcgc-sweep.timer
is "$(systemctl is-active ipcgcd.service)" active "the daemon is still active with the timer started"
check "systemctl stop ipcgc-sweep.timer" systemctl stop ipcgc-sweep.timer

pid_before=$(systemctl show -p MainPID --value ipcgcd.service)
printf '\n[Rule extra]\nName=/nothing\nAction=keep\n' >>"$CONF"
check "systemctl reload ipcgcd works" systemctl reload ipcgcd.service
is "$("$IPCGC" --config "$CONF" status -J | jq .rules)" 3 "the reload applied the new rules"
is "$(systemctl show -p MainPID --value ipcgcd.service)" "$pid_before" "reloading kept the same process"
check "systemctl stop ipcgcd works" systemctl stop ipcgcd.service
is "$(systemctl show -p Result --value ipcgcd.service)" success "it stopped cleanly (Result=success)"
is "$(systemctl show -p ExecMainStatus --value ipcgcd.service)" 0 "with exit status 0"
check "no sanitizer report in its journal" bash -c "! journalctl --no-pager -u ipcgcd.service | grep -q Sanitizer"
journalctl --no-pager -u ipcgcd.service >/result/ipcgcd.journal 2>&1

# The one-shot pair for hosts without the daemon (its socket still listens).
/opt/ipcgc/ipc-hold -x shm 0x7778 4096 0600 >/dev/null
other_orphans 0x46018000
check "uid 4601 made a shm, a sem and a msg ($OTHER_IDS)" test "$(sysv_left "${OTHER_KEYS[@]}" | wc -w)" = 3
cursor=$(journal_cursor)
rm -f "$PROM"
check "ipcgc-sweep.service runs to success" systemctl start ipcgc-sweep.service
check "its ipcgcd --once wrote MetricsFile=" grep -qx 'ipcgc_sweeps_total 1' "$PROM"
check "its ipcgcd --once ran (the daemon is not active)" \
    journal_wait "$cursor" ipcgc-sweep.service 'ipcgcd\[[0-9]*\]: sweep (once): .* 0 failed'
check "and finished successfully" journal_wait "$cursor" ipcgc-sweep.service 'Deactivated successfully'
is "$(ipcs -m | grep -c '^0x0000777[89] ')" 0 "and removed root's orphans"
is "$(sysv_left "${OTHER_KEYS[@]}")" "" "and uid 4601's shm, sem and msg"
journalctl --no-pager -u ipcgc-sweep.service >/result/ipcgc-sweep.journal 2>&1
check "ipcgc-sweep.timer can be started" systemctl start ipcgc-sweep.timer
check "starting the daemon with the timer active" systemctl start ipcgcd.service
is "$(systemctl is-active ipcgc-sweep.timer)" active "leaves the timer active"
is "$(systemctl is-active ipcgcd.service)" active "and the daemon too"
# The history in the unit's StateDirectory: the first daemon's removals and
# the one-shot's, read back by the daemon started since.
hist=$("$IPCGC" --config "$CONF" history -J -l 1000)
is "$(jq -r --arg e "$entry" '[.entries[] | select(.archive == $e) | .id] | join(" ")' <<<"$hist")" "shm:$shmid" \
    "ipcgc history, after two restarts, still has the first daemon's removal of shm:$shmid"
is "$(jq -r '[.entries[] | select(.action == "removed" and .key == 30584) | "\(.uid) \(.size)"] | join(" ")' <<<"$hist")" \
    "0 4096" "and the one-shot's removal of key 0x7778, with owner and size"
check "the history file is root's, 0600" test "$(stat -c '%a %u' /var/lib/ipcgc/history 2>&1)" = "600 0"

# Issue 14: [Daemon] Namespaces=all under the units as shipped.  A nested
# "container" as Docker's systemd cgroup driver makes one (a transient
# docker-<id>.scope), with its own IPC and mount namespaces, /dev/shm and
# mqueue mount, holding uid 4601's live shm; its orphans are made by
# processes of uid 4601 that have exited.  The units' RestrictNamespaces=ipc
# must let the child that removes them setns(2) into its IPC namespace.
check "systemctl stop ipcgcd.service ipcgc-sweep.timer" systemctl stop ipcgcd.service ipcgc-sweep.timer
HEX=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
CT="docker:${HEX:0:12}"
# A drop-in, as an admin would add one: every namespace, and a rule that
# collects in this container only (rule "all" is for the host namespace).
mkdir -p "${CONF%/*}/conf.d"
cat >"${CONF%/*}/conf.d/50-namespaces.conf" <<EOC
[Daemon]
Namespaces=all
[Rule test-container]
Container=$CT
MinAge=0
Action=collect
EOC
check "check-config takes the drop-in with Namespaces=all" "$IPCGC" check-config "$CONF"
cat >/run/ipcgc-ct.sh <<'EOS'
set -eu
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
exec 3< <(exec setpriv --reuid=4601 --regid=4601 --clear-groups /opt/ipcgc/ipc-hold shm 0x46027001 4096 0600)
read -r word live holder <&3
echo "$word $(stat -L -c %i /proc/self/ns/ipc) $live $holder $$"
read -r _ <"$1"
kill "$holder"
EOS
mkfifo /run/ipcgc-ct.stop
exec {ctfd}< <(systemd-run --quiet --scope --unit="docker-$HEX.scope" -- \
    unshare --ipc --mount --propagation private -- bash /run/ipcgc-ct.sh /run/ipcgc-ct.stop)
read -r -u "$ctfd" word CT_NS CT_LIVE CT_HOLDER CT_PID
is "$word" ready "a nested container in docker-$HEX.scope holds uid 4601's live shm:$CT_LIVE"
check "in its own IPC namespace ($CT_NS)" test "$CT_NS" != "$(stat -L -c %i /proc/self/ns/ipc)"
check "and in the scope's cgroup" grep -q "/docker-$HEX\.scope$" "/proc/$CT_PID/cgroup"
ct() { nsenter -t "$CT_PID" --ipc --mount -- "$@"; }
# ct_orphans N: uid 4601's shm (key 0x460271NN) and pshm /orphan-N, made in
# the container by processes gone since; sets CT_SHM to the shm's id.
ct_orphans() {
    CT_SHM=$(ct setpriv --reuid=4601 --regid=4601 --clear-groups /opt/ipcgc/ipc-hold -x shm $((0x46027100 + $1)) 4096 0600 | cut -d' ' -f2)
    ct setpriv --reuid=4601 --regid=4601 --clear-groups /opt/ipcgc/ipc-hold -x pshm "/orphan-$1" 4096 0600 >/dev/null
}
# ct_left: what the container holds, seen from inside: "SHMID OWNER..." of
# its segments, then its /dev/shm.
ct_left() { echo "$(ct ipcs -m | grep '^0x' | tr -s ' ' | cut -d' ' -f2,3 | sort -n | paste -sd' '); $(ct ls /dev/shm | paste -sd' ')"; }
# ct_removals CURSOR N: the journal's removals in the container's namespace
# after CURSOR, once there are N (within 5 s): "OBJECT CONTAINER RULE", sorted.
ct_removals() {
    local out _
    for _ in $(seq 100); do
        journalctl --sync 2>/dev/null
        # Matched by jq, not journalctl: with matches, --after-cursor skips
        # the first entry that matches when the cursor's own does not.
        out=$(journalctl --no-pager -o json --after-cursor="$1" |
            jq -r --arg n "$CT_NS" 'select(.IPCGC_ACTION == "removed" and .IPCGC_IPCNS == $n) |
                "\(.IPCGC_OBJECT) \(.IPCGC_CONTAINER) \(.IPCGC_RULE)"' | sort | paste -sd,)
        [ "$(tr ',' '\n' <<<"$out" | grep -c .)" -ge "$2" ] && break
        sleep 0.05
    done
    echo "$out"
}
want_removals() { echo "ipc:$CT_NS/pshm:/orphan-$1 $CT test-container,ipc:$CT_NS/shm:$2 $CT test-container"; }

# The one-shot, as the timer runs it.
ct_orphans 1
is "$(ct_left)" "$CT_LIVE 4601 $CT_SHM 4601; orphan-1" "uid 4601's orphaned shm:$CT_SHM and pshm /orphan-1 are in the container"
cursor=$(journal_cursor)
check "ipcgc-sweep.service with Namespaces=all runs to success" systemctl start ipcgc-sweep.service
is "$(ct_left)" "$CT_LIVE 4601; " "its ipcgcd --once removed both orphans from inside the container, and kept the live shm"
is "$(ct_removals "$cursor" 2)" "$(want_removals 1 "$CT_SHM")" \
    "the journal has both removals with IPCGC_IPCNS=$CT_NS and IPCGC_CONTAINER=$CT"
check "and the sweep's summary of that namespace, named" \
    journal_wait "$cursor" ipcgc-sweep.service "sweep of IPC namespace $CT_NS $CT (once): .* 2 removed, 0 skipped, 0 failed"

# The daemon, asked over its socket.
check "ipcgcd.service answers (socket activation) with Namespaces=all" "$IPCGC" --config "$CONF" status
ct_orphans 2
cursor=$(journal_cursor)
lj=$("$IPCGC" --config "$CONF" list --namespace "$CT" -J)
is "$(jq -r --arg id "ipc:$CT_NS/shm:$CT_LIVE" '.objects[] | select(.id == $id) | "\(.verdict) \(.uid) \(.container)"' <<<"$lj")" \
    "LIVE 4601 $CT" "through the daemon: the container's live shm is LIVE, uid 4601's, named $CT"
sweep=$("$IPCGC" --config "$CONF" sweep --all-namespaces -J)
is "$(jq -r --argjson n "$CT_NS" '[.records[] | select(.ipcns == $n) | "\(.action) \(.id)"] | sort | join(",")' <<<"$sweep")" \
    "removed ipc:$CT_NS/pshm:/orphan-2,removed ipc:$CT_NS/shm:$CT_SHM" "ipcgc sweep --all-namespaces through ipcgcd.service removed both"
is "$(ct_left)" "$CT_LIVE 4601; " "from inside the container; the live shm stays"
is "$(ct_removals "$cursor" 2)" "$(want_removals 2 "$CT_SHM")" \
    "the daemon's journal has both with IPCGC_IPCNS= and IPCGC_CONTAINER="
check "systemctl stop ipcgcd.service" systemctl stop ipcgcd.service

# The negative: RestrictNamespaces=yes, as a hardening drop-in might say,
# refuses the setns(2): nothing is removed in the container, and the
# journal says why.
for u in ipcgcd ipcgc-sweep; do
    printf '[Service]\nRestrictNamespaces=yes\n' >"/etc/systemd/system/$u.service.d/restrict.conf"
done
systemctl daemon-reload
ct_orphans 3
cursor=$(journal_cursor)
systemctl start ipcgc-sweep.service
is "$(systemctl show -p Result --value ipcgc-sweep.service)" exit-code "RestrictNamespaces=yes: ipcgc-sweep.service fails"
is "$(ct_left)" "$CT_LIVE 4601 $CT_SHM 4601; orphan-3" "and removes nothing in the container"
check "its journal says why (Operation not permitted)" \
    journal_wait "$cursor" ipcgc-sweep.service 'IPC namespace.*Operation not permitted'
journalctl --no-pager --after-cursor="$cursor" -u ipcgc-sweep.service >/result/restrict-sweep.journal 2>&1
cursor=$(journal_cursor)
sweep=$("$IPCGC" --config "$CONF" sweep --all-namespaces -J 2>/result/restrict-sweep.err)
[ -n "$sweep" ] || sweep='{}'
is "$(jq -r --argjson n "$CT_NS" '[.records[]? | select(.ipcns == $n and .action == "removed")] | length' <<<"$sweep")" 0 \
    "RestrictNamespaces=yes: ipcgc sweep --all-namespaces through ipcgcd.service removes nothing there"
is "$(ct_left)" "$CT_LIVE 4601 $CT_SHM 4601; orphan-3" "the container's orphans are still there"
check "the daemon's journal says why (Operation not permitted)" \
    journal_wait "$cursor" ipcgcd.service 'IPC namespace.*Operation not permitted'
journalctl --no-pager --after-cursor="$cursor" -u ipcgcd.service >/result/restrict-daemon.journal 2>&1
is "$(stat -c %u "/proc/$CT_HOLDER" 2>&1)" 4601 "the live shm's holder, uid 4601's, lived through every sweep"
systemctl stop ipcgcd.service
rm -f /etc/systemd/system/ipcgcd.service.d/restrict.conf /etc/systemd/system/ipcgc-sweep.service.d/restrict.conf
systemctl daemon-reload
echo >/run/ipcgc-ct.stop
