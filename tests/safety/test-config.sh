#!/bin/bash
# A malformed configuration is refused whole, with one `ipcgc: FILE:LINE:
# message` line on stderr and exit status 1; the shipped files are accepted.
#
# Only check-config runs here, plus `list --types fifo` over a FIFO directory
# of our own: this script makes no IPC objects and needs no namespaces.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }

FIX=$top_srcdir/tests/fixtures/bad-configs
W=$(mktemp -d "${TMPDIR:-/tmp}/ipcgc-safety-config.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT

# The corpus: one defect per file.  FILE LINE WORDS, where WORDS must appear
# in the message (so that the right defect is the one reported).
EXPECTED=$(cat <<'EOF'
unknown-key-scan.conf        5  unknown key FifoMaxDeep= in [Scan]
unknown-key-daemon.conf      4  unknown key MaxRemovals= in [Daemon]
unknown-key-rule.conf        6  unknown key MaxAge= in [Rule old]
bad-duration-minage.conf     5  MinAge= wants a duration
bad-duration-interval.conf   4  Interval= wants a duration
bad-glob-name.conf           4  Name=: bad glob "/foo["
bad-glob-path.conf           4  Path=: bad glob "/tmp/x\"
bad-key-range.conf           4  Key=: bad key or key range "0x2000-0x1000"
bad-key.conf                 5  Key=: bad key or key range "zz"
unknown-user.conf            3  User=: unknown user "no-such-user-xyz"
unknown-group.conf           4  Group=: unknown group "no-such-group-xyz"
empty-types-scan.conf        3  Types= wants one or more
empty-types-rule.conf        7  Types= wants one or more
bad-action.conf              5  Action= wants collect, report or keep, got "delete"
rule-without-action.conf     4  [Rule noaction] has no Action=
empty-rule.conf              7  [Rule empty] has no Action=
empty-rule-between.conf      3  [Rule empty] has no Action=
duplicate-rule.conf          8  duplicate [Rule twice], first defined at
unknown-section.conf         5  unknown section [Sacn]
bad-owner.conf               5  Owner=: unknown source "service:postgresql"
no-equals.conf               4  syntax error
key-outside-section.conf     3  Types= outside any section
repeated-key-daemon.conf     5  Interval= is set twice in this section, first at line 3
repeated-key-scan.conf       7  FifoDirs= is set twice in this section, first at line 4
repeated-key-rule.conf       7  MinAge= is set twice in this section, first at line 6
continuation-line.conf       7
EOF
)

# expect_refused FILE LINE WORDS DESC: check-config FILE exits 1, prints
# nothing on stdout and exactly one line on stderr, "ipcgc: FILE:LINE: ...",
# containing WORDS.
expect_refused() {
    local file=$1 line=$2 words=$3 desc=$4 rc err n
    "$IPCGC" check-config "$file" >"$W/out" 2>"$W/err"
    rc=$?
    err=$(cat "$W/err")
    n=$(wc -l <"$W/err")
    is "$rc" 1 "$desc: exit status 1"
    if [ "$n" -eq 1 ] && [[ $err == "ipcgc: $file:$line: "* ]] && [ ! -s "$W/out" ]; then
        ok "$desc: one line, $file:$line"
    else
        not_ok "$desc: one line, $file:$line" "stderr ($n lines): $err" "stdout: $(head -3 "$W/out" | tr "\n" "|")"
    fi
    if [ -n "$words" ]; then
        if [[ $err == *"$words"* ]]; then ok "$desc: says: $words"; else not_ok "$desc: says: $words" "got: $err"; fi
    fi
}

# --- The corpus ---------------------------------------------------------------
listed=
while read -r file line words; do
    [ -n "$file" ] || continue
    listed="$listed $file"
    if [ ! -f "$FIX/$file" ]; then
        not_ok "$file exists in tests/fixtures/bad-configs"
        continue
    fi
    expect_refused "$FIX/$file" "$line" "$words" "$file"
done <<<"$EXPECTED"

# Every fixture is in the table above and shipped in the tarball.
for f in "$FIX"/*.conf; do
    b=${f##*/}
    case " $listed " in
    *" $b "*) ok "$b has an expected line" ;;
    *) not_ok "$b has an expected line" "add it to EXPECTED in $0" ;;
    esac
    check "$b is in EXTRA_DIST" grep -qFw "tests/fixtures/bad-configs/$b" "$top_srcdir/tests/safety/Makemodule.am"
done

# --- Line counting around the length limit and the first error ---------------
# FifoDirs= takes its 64 directories of near PATH_MAX on one line; the limit
# the message states passes, one byte more is refused at that line.
long() { head -c "$1" /dev/zero | tr '\0' x; }
dirs=$(for i in $(seq 10 73); do printf '/%s%s ' "$i" "$(long 4000)"; done)
printf '[Scan]\nFifoDirs=%s\n[Rule a]\nAction=keep\n' "$dirs" >"$W/dirs64.conf"
"$IPCGC" check-config "$W/dirs64.conf" >/dev/null 2>"$W/err"
is "$?" 0 "FifoDirs= with 64 directories of 4003 bytes on one line ($(awk 'NR == 2 { print length($0) }' "$W/dirs64.conf") bytes) is accepted"
printf '[Scan]\nFifoDirs=%s /74\n' "$dirs" >"$W/dirs65.conf"
expect_refused "$W/dirs65.conf" 2 "FifoDirs= lists more than 64 directories" "FifoDirs= with 65 directories"
printf '[Rule a]\nPath=/%s\n' "$(long 300000)" >"$W/huge.conf"
max=$("$IPCGC" check-config "$W/huge.conf" 2>&1 | sed -n 's/^ipcgc: .*:2: line too long (at most \([0-9]*\) bytes)$/\1/p')
check "a 300001-byte line is refused, with the limit it states" test -n "$max"
max=${max:-1000}
printf '[Rule a]\n#%s\nAction=keep\n' "$(long $((max - 1)))" >"$W/lenmax.conf"
printf '[Rule a]\n#%s\nAction=keep\n' "$(long "$max")" >"$W/lenover.conf"
is "$(awk 'NR == 2 { print length($0) }' "$W/lenmax.conf")" "$max" "fixture line is $max bytes"
"$IPCGC" check-config "$W/lenmax.conf" >/dev/null 2>&1
is "$?" 0 "a $max-byte line is accepted"
expect_refused "$W/lenover.conf" 2 "line too long (at most $max bytes)" "a $((max + 1))-byte line"
check "the limit holds 64 directories of PATH_MAX" test "$max" -ge $((64 * 4097))

# A key set twice: an error at the second line, naming the first, in every
# kind of section; list keys of a rule collect; the next rule is its own.
printf '[Rule a]\nName=/a*\nName=/b*\nMinAge=1h\nAction=keep\n[Rule b]\nMinAge=1h\nAction=keep\n' >"$W/lists.conf"
"$IPCGC" check-config -r -n "$W/lists.conf" >"$W/out" 2>"$W/err"
is "$?" 0 "Name= twice in a rule, MinAge= once in each of two rules: accepted"
check "both Name= values are kept" grep -q '/a\*.*/b\*' "$W/out"
printf '[Daemon]\nSocket=/run/a\n[Scan]\nTypes=shm\n[Daemon]\nSocket=/run/b\n' >"$W/reopen.conf"
expect_refused "$W/reopen.conf" 6 "Socket= is set twice in this section, first at line 2" "a key set again in a reopened section"
mkdir -p "$W/d2/conf.d"
printf '[Daemon]\nInterval=60s\n' >"$W/d2/ipcgc.conf"
printf '[Daemon]\nInterval=5m\n' >"$W/d2/conf.d/10-later.conf"
"$IPCGC" check-config "$W/d2/ipcgc.conf" >/dev/null 2>"$W/err"
is "$?" 0 "a drop-in setting a key of ipcgc.conf again overrides it (no error)"

# Two defects: only the first is reported, whichever part of the parser finds it.
printf '[Scan]\nTypes=shm\nBogus=1\n[Rule a]\nAction=nope\n' >"$W/two.conf"
expect_refused "$W/two.conf" 3 "Bogus=" "two defects, a bad key first"
printf '[Scan]\nTypes=shm\nno equals here\n[Rule a]\nAction=nope\n' >"$W/two-syntax-first.conf"
expect_refused "$W/two-syntax-first.conf" 3 "syntax error" "two defects, a syntax error first"
printf '[Scan]\nTypes=nope\n[Rule a]\nno equals here\n' >"$W/two-syntax-second.conf"
expect_refused "$W/two-syntax-second.conf" 2 "Types=" "two defects, a syntax error second"
printf '[Rule a]\nMinAge=1h\nno equals here\n[Rule b]\nAction=keep\n' >"$W/two-noaction-first.conf"
expect_refused "$W/two-noaction-first.conf" 1 "[Rule a] has no Action=" "two defects, a rule without Action= first"

# --- Drop-ins: FILE's conf.d/*.conf are read too, errors name the drop-in ----
mkdir -p "$W/d1/conf.d"
printf '[Scan]\nTypes=all\n\n[Rule main]\nUser=0\nAction=keep\n' >"$W/d1/ipcgc.conf"
printf '# a drop-in\n[Rule late]\nMinAge=15x\nAction=collect\n' >"$W/d1/conf.d/20-bad.conf"
printf '[Rule never]\nBogus=1\n' >"$W/d1/conf.d/.hidden.conf"
printf '[Rule never]\nBogus=1\n' >"$W/d1/conf.d/30-off.conf.example"
"$IPCGC" check-config "$W/d1/ipcgc.conf" >/dev/null 2>"$W/err"
is "$?" 1 "ipcgc.conf with a bad conf.d/20-bad.conf exits 1"
is "$(cat "$W/err")" "ipcgc: $W/d1/conf.d/20-bad.conf:3: MinAge= wants a duration like 90s, 15m, 1h30m or 2d, got \"15x\"" \
    "an error in a drop-in names the drop-in and its line"
rm "$W/d1/conf.d/20-bad.conf"
"$IPCGC" check-config -r -n "$W/d1/ipcgc.conf" >"$W/out" 2>"$W/err"
is "$?" 0 "dot-files and non-.conf files in conf.d are not read"
printf '[Rule main]\nAction=report\n' >"$W/d1/conf.d/40-dup.conf"
"$IPCGC" check-config "$W/d1/ipcgc.conf" >/dev/null 2>"$W/err"
is "$(cat "$W/err")" "ipcgc: $W/d1/conf.d/40-dup.conf:1: duplicate [Rule main], first defined at $W/d1/ipcgc.conf:4" \
    "a rule name reused across files is refused"

# --- The shipped configuration -----------------------------------------------
"$IPCGC" check-config -r -n "$top_srcdir/conf/ipcgc.conf" >"$W/out" 2>"$W/err"
is "$?" 0 "conf/ipcgc.conf with its conf.d passes"
is "$(cat "$W/err")" "" "conf/ipcgc.conf: nothing on stderr"
is "$(awk '{ printf "%s%s", sep, $1; sep = " " }' "$W/out")" "containers system-users default" \
    "conf/ipcgc.conf lists the rules containers, system-users and default, in that order"
grep -q "^containers .*namespace=container" "$W/out" && ok "the shipped containers rule is for other namespaces only" ||
    not_ok "the shipped containers rule is for other namespaces only" "$(head -n 1 "$W/out")"
is "$(awk '$1 == "system-users" { print $(NF - 1), $NF }' "$W/out")" "1h collect" "system-users collects after 1h (NeverSeen=owner)"
is "$(awk '$1 == "default" { print $(NF - 1), $NF }' "$W/out")" "15m collect" "default collects after 15m"

# The examples, each alone, then renamed into a copy of the shipped conf.d.
# They name postgres and www-data: where that user does not exist, the file
# must be refused at its User= line.
mkdir -p "$W/ship/conf.d"
cp "$top_srcdir/conf/ipcgc.conf" "$W/ship/"
cp "$top_srcdir"/conf/conf.d/*.conf "$W/ship/conf.d/"
all_users=yes
for ex in "$top_srcdir"/conf/conf.d/*.example; do
    name=${ex##*/}
    name=${name%.example}
    mkdir -p "$W/ex"
    cp "$ex" "$W/ex/$name"
    cp "$ex" "$W/ship/conf.d/$name"
    user=$(sed -n 's/^User=//p' "$ex")
    uline=$(grep -n '^User=' "$ex" | cut -d: -f1)
    rule=$(sed -n 's/^\[Rule \(.*\)\]$/\1/p' "$ex")
    if getent passwd "$user" >/dev/null; then
        "$IPCGC" check-config -r -n "$W/ex/$name" >"$W/out" 2>"$W/err"
        is "$?" 0 "$name.example passes (user $user exists)"
        is "$(awk '{ print $1, $NF }' "$W/out")" "$rule collect" "$name.example: rule $rule collects"
        is "$(cat "$W/err")" "" "$name.example: nothing on stderr"
    else
        all_users=no
        expect_refused "$W/ex/$name" "$uline" "User=: unknown user \"$user\"" \
            "$name.example without user $user"
    fi
done
if [ "$all_users" = yes ]; then
    "$IPCGC" check-config -r -n "$W/ship/ipcgc.conf" >"$W/out" 2>"$W/err"
    is "$?" 0 "shipped conf.d with the examples enabled passes"
    # Drop-ins are read in name order (50-* before 90-* before 99-*), and
    # the rules keep that order: the first match decides.
    want=$(LC_ALL=C ls "$W/ship/conf.d" | while read -r f; do
        sed -n 's/^\[Rule \(.*\)\]$/\1/p' "$W/ship/conf.d/$f"
    done | paste -sd' ')
    is "$(awk '{ printf "%s%s", sep, $1; sep = " " }' "$W/out")" "$want" "rules come in drop-in name order: $want"
else
    ok "# SKIP shipped conf.d with the examples: a user they name does not exist here"
    ok "# SKIP drop-in name order with the examples"
fi

# --- Usage errors and missing files -------------------------------------------
"$IPCGC" check-config a b >/dev/null 2>"$W/err"
is "$?" 2 "check-config a b is a usage error (exit 2)"
check "usage error says so" grep -q "at most one FILE" "$W/err"
"$IPCGC" check-config --bogus >/dev/null 2>&1
is "$?" 2 "check-config --bogus is a usage error (exit 2)"

"$IPCGC" check-config /nonexistent/ipcgc.conf >/dev/null 2>"$W/err"
is "$?" 1 "check-config of a missing file exits 1"
is "$(cat "$W/err")" "ipcgc: /nonexistent/ipcgc.conf: No such file or directory" "and names the file"

# list, confined to FIFOs in a directory of ours.
mkdir -p "$W/fifo"
mkfifo "$W/fifo/p"
printf '[Scan]\nTypes=fifo\nFifoDirs=%s\nFifoMaxDepth=1\n' "$W/fifo" >"$W/fifo.conf"
"$IPCGC" list --local --types fifo --config /nonexistent >"$W/out" 2>"$W/err"
is "$?" 1 "list --config /nonexistent exits 1"
check "list --config /nonexistent names the file" grep -q "^ipcgc: /nonexistent: " "$W/err"
is "$(cat "$W/out")" "" "list --config /nonexistent prints no listing"
"$IPCGC" --config /nonexistent list --local --types fifo >/dev/null 2>"$W/err"
is "$?" 1 "ipcgc --config /nonexistent list exits 1"
check "ipcgc --config /nonexistent list names the file" grep -q "^ipcgc: /nonexistent: " "$W/err"
"$IPCGC" list --local --types fifo --config "$FIX/unknown-key-scan.conf" >"$W/out" 2>"$W/err"
is "$?" 1 "list with a bad config exits 1"
is "$(cat "$W/err")" "ipcgc: $FIX/unknown-key-scan.conf:5: unknown key FifoMaxDeep= in [Scan]" \
    "list refuses a bad config with FILE:LINE"
json=$("$IPCGC" list --local --types fifo --config "$W/fifo.conf" -J 2>"$W/err")
is "$?" 0 "list --types fifo with a good config exits 0"
is "$(jq -c '[.objects[].id]' <<<"$json")" "[\"fifo:$W/fifo/p\"]" "and lists our one FIFO"

done_testing
