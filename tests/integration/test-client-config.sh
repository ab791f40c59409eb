#!/bin/bash
# A broken drop-in stops only what reads the rules.  A command that talks to
# the daemon needs nothing of the configuration but [Daemon] Socket=
# (config_load_socket()), so it still reaches ipcgcd; reload reaches it too,
# and the daemon refuses the broken file and says where.  --local and
# check-config read the rules themselves and name FILE:LINE.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"
trap 'kill ${DAEMON_PID:-} 2>/dev/null; wait 2>/dev/null' EXIT

cat >>"$CONF" <<EOC

[Daemon]
Interval=1h
Socket=$T/io.ipcgc

[Rule all]
MinAge=0
Action=collect
EOC
start_daemon

# config_load() reads DIR(FILE)/conf.d/*.conf after FILE.
mkdir "$T/conf.d"
DROPIN=$T/conf.d/50-broken.conf
cat >"$DROPIN" <<'EOC'
# An unknown section, then a rule with a bad value: the first is line 2.
[Nonsense]
What=ever

[Rule broken]
MinAge=soon
Action=collect
EOC
WHERE="$DROPIN:2:"
diag_stderr() { sed 's/^/#   stderr: /' "$T/err"; }

# (1) status needs only the socket.
out=$("$IPCGC" --config "$CONF" status 2>"$T/err")
rc=$?
is "$rc" 0 "status with a broken drop-in exits 0"
[ "$rc" = 0 ] || diag_stderr
check "and shows the daemon's status" grep -qF "config:   $CONF (1 rules)" <<<"$out"
check "without naming the broken file, which it did not need" bash -c "! grep -qF '$DROPIN' '$T/err'"
is "$("$IPCGC" --config "$CONF" status -J 2>/dev/null | jq .rules)" 1 "status -J too"

# (2) reload reaches the daemon, which refuses the file and keeps its rules.
"$IPCGC" --config "$CONF" reload 2>"$T/err"
is "$?" 1 "reload with a broken drop-in exits 1"
check "and names $WHERE" grep -qF "$WHERE" "$T/err"
check "as the daemon's refusal (io.ipcgc.ConfigError)" grep -q "^ipcgc: the daemon kept its configuration: " "$T/err"
check "which the daemon logged" grep -qF "reload refused, keeping the running configuration: $WHERE" "$T/ipcgcd.log"
check "the daemon still runs" kill -0 "$DAEMON_PID"

# (3) --local reads the rules itself.
"$IPCGC" --config "$CONF" --local list >/dev/null 2>"$T/err"
check "--local list with a broken drop-in fails" test $? != 0
check "and names $WHERE" grep -qF "$WHERE" "$T/err"

# (4) So does check-config.
"$IPCGC" --config "$CONF" check-config >/dev/null 2>"$T/err"
check "check-config with a broken drop-in fails" test $? != 0
check "and names $WHERE" grep -qF "$WHERE" "$T/err"

# (5) A Socket= that config_load() refuses is a warning naming its line;
# the valid one before it is used.
printf '[Daemon]\nSocket=relative/io.ipcgc\n' >"$T/conf.d/60-socket.conf"
"$IPCGC" --config "$CONF" status >/dev/null 2>"$T/err"
rc=$?
is "$rc" 0 "status with a bad Socket= in a drop-in reaches the daemon on the valid one before it"
[ "$rc" = 0 ] || diag_stderr
check "and warns of $T/conf.d/60-socket.conf:2" grep -qF "$T/conf.d/60-socket.conf:2:" "$T/err"
rm "$T/conf.d/60-socket.conf"

# With the drop-in gone, reload applies the file again.
rm "$DROPIN"
"$IPCGC" --config "$CONF" reload 2>"$T/err"
rc=$?
is "$rc" 0 "with the drop-in removed, reload succeeds"
[ "$rc" = 0 ] || diag_stderr

stop_daemon
is "$?" 0 "SIGTERM ends the daemon cleanly"
done_testing
