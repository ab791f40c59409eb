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
cat >"$CONF" <<EOC
[Daemon]
Interval=1h
[Rule all]
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
systemctl daemon-reload

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
found=
for i in $(seq 100); do
    journalctl --sync 2>/dev/null
    found=$(journalctl --no-pager -o json IPCGC_ACTION=removed | jq -r 'select(.IPCGC_OBJECT == "shm:'"$shmid"'") | .MESSAGE_ID')
    [ -n "$found" ] && break
    sleep 0.05
done
is "$found" 9b0d5cbb1b7e4c7a9a3e7e0b1f2c4d01 "journalctl IPCGC_ACTION=removed shows it, with its MESSAGE_ID"
rule=$(journalctl --no-pager -o json IPCGC_ACTION=removed | jq -r 'select(.IPCGC_OBJECT == "shm:'"$shmid"'") | .IPCGC_RULE')
is "$rule" all "the entry names the rule (IPCGC_RULE=)"

pid_before=$(systemctl show -p MainPID --value ipcgcd.service)
printf '\n[Rule extra]\nName=/nothing\nAction=keep\n' >>"$CONF"
check "systemctl reload ipcgcd works" systemctl reload ipcgcd.service
is "$("$IPCGC" --config "$CONF" status -J | jq .rules)" 2 "the reload applied the new rules"
is "$(systemctl show -p MainPID --value ipcgcd.service)" "$pid_before" "reloading kept the same process"
check "systemctl stop ipcgcd works" systemctl stop ipcgcd.service
is "$(systemctl show -p Result --value ipcgcd.service)" success "it stopped cleanly (Result=success)"
is "$(systemctl show -p ExecMainStatus --value ipcgcd.service)" 0 "with exit status 0"
check "no sanitizer report in its journal" bash -c "! journalctl --no-pager -u ipcgcd.service | grep -q Sanitizer"
journalctl --no-pager -u ipcgcd.service >/result/ipcgcd.journal 2>&1

# The one-shot pair for hosts without the daemon.
/opt/ipcgc/ipc-hold -x shm 0x7778 4096 0600 >/dev/null
mkdir -p /etc/systemd/system/ipcgc-sweep.service.d
printf '[Service]\nExecStart=\nExecStart=%s/ipcgcd --once --config %s\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' "$sbindir" "$CONF" \
    >/etc/systemd/system/ipcgc-sweep.service.d/test.conf
systemctl daemon-reload
check "ipcgc-sweep.service runs to success" systemctl start ipcgc-sweep.service
is "$(ipcs -m | grep -c '^0x00007778 ')" 0 "and removed the orphan"
check "ipcgc-sweep.timer can be started" systemctl start ipcgc-sweep.timer
