#!/bin/bash
# The alerting rules ipcgcd(8) documents (docs/ipcgc-alerts.yml): valid,
# firing as their test says (`promtool test rules`: objects ORPHAN for more
# than an hour, a limit above 80 %, a user's queues above 80 % of
# RLIMIT_MSGQUEUE, no sweep for an hour), a test that fails when its
# expectation is wrong, on metrics ipcgc really exports, and the rules in
# the man page the same as the file.
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }

enter_private_namespaces "$@"
command -v promtool >/dev/null || { echo "Bail out! promtool is missing (tools/deps.sh --test installs prometheus)"; exit 1; }
RULES=$top_srcdir/docs/ipcgc-alerts.yml
mkdir "$T/rules"
cp "$RULES" "$top_srcdir/tests/daemon/ipcgc-alerts.test.yml" "$T/rules/"

out=$(promtool check rules "$T/rules/ipcgc-alerts.yml" 2>&1)
is "$?" 0 "promtool check rules: the rules are valid"
check "...four of them" grep -q "SUCCESS: 4 rules found" <<<"$out"
out=$(cd "$T/rules" && promtool test rules ipcgc-alerts.test.yml 2>&1)
if [ $? -eq 0 ]; then ok "promtool test rules: every alert fires when and only when expected"; else not_ok "promtool test rules" "$out"; fi

# The same test with one wrong expectation (no orphan alert at 61
# minutes, where it fires) must fail: the test is not vacuous.
sed 's/eval_time: 59m/eval_time: 61m/' "$T/rules/ipcgc-alerts.test.yml" >"$T/rules/wrong.test.yml"
check "the wrong test differs from the right one" bash -c '! cmp -s "$1" "$2"' _ "$T/rules/wrong.test.yml" "$T/rules/ipcgc-alerts.test.yml"
(cd "$T/rules" && promtool test rules wrong.test.yml >/dev/null 2>&1)
check "promtool test rules fails on a wrong expectation" test $? -ne 0

# Every metric the rules use is one ipcgc exports (those of a daemon
# from an ipcgcd --once's MetricsFile=).
daemon_config "ProcessEvents=no" "MetricsFile=$T/ipcgc.prom" "DryRun=yes"
hold -x shm 0x6e01 4096 0600
hold -x mq /alerts-q 8 0600
"$IPCGCD" --config "$CONF" --once 2>"$T/once.err"
is "$?" 0 "ipcgcd --once wrote its metrics"
missing=
for name in $(grep -o 'ipcgc_[a-z_]*' "$RULES" | sort -u); do
    grep -q "^$name[{ ]" "$T/ipcgc.prom" || missing+=" $name"
done
is "${missing:-none}" none "every metric the rules use is in the MetricsFile"

# The man page shows the rules as the file has them (roff's \- is a -).
man=$(sed -n '/^\.\\" BEGIN ipcgc-alerts.yml/,/^\.\\" END ipcgc-alerts.yml/p' "$top_srcdir/man/ipcgcd.8" |
    sed '1d;$d' | grep -v '^\.' | sed 's/\\-/-/g; s/\\(aq/'"'"'/g; s/\\e/\\/g')
is "$man" "$(grep -v '^#' "$RULES")" "ipcgcd(8) shows the rules of docs/ipcgc-alerts.yml"

done_testing
