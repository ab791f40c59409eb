#!/bin/bash
# Errors for people and the common options (issue 13), in private
# namespaces: error replies are sentences (the Varlink name only with
# --debug and in -J), every usage error ends with the --help hint and no
# getopt "list:" prefix, the common options work before the command
# (--socket=PATH), and -V means --version everywhere (list's verdict filter
# is -v).  Objects of root and of uid 4600, through the daemon and --local.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

command -v jq >/dev/null || { echo "Bail out! jq missing"; exit 1; }
# DryRun: the orphan stays, for the daemon's first sweep to leave alone.
sed -i "/^\[Daemon\]/a Socket=$T/io.ipcgc\nInterval=1h\nDryRun=yes" "$CONF"
printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"
HINT="Try 'ipcgc --help' for more information."
USER4600=(setpriv --reuid=4600 --regid=4600 --clear-groups)
run() { out=$("$@" 2>"$T/stderr"); rc=$?; err=$(cat "$T/stderr"); }
# usage_error DESC CMD...: exit 2, stderr "ipcgc: SENTENCE" then the hint, nothing on stdout.
usage_error() {
    local desc=$1
    shift
    run "$@"
    is "$rc" 2 "$desc: exit 2"
    if [[ $err == "ipcgc: "*$'\n'"$HINT" ]] && [ "$(grep -c . <<<"$err")" = 2 ] && [ -z "$out" ]; then
        ok "$desc: a sentence, then the hint"
    else
        not_ok "$desc: a sentence, then the hint" "stderr: $err" "stdout: $out"
    fi
}

hold -x shm 0x6601 4096 0600
ORPHAN=$HOLD_ID
hold_as 4600:4600 shm 0x6602 4096 0600
LIVE=$HOLD_ID
start_daemon

# --- Common options before the command ---------------------------------------
mv "$CONF" "$T/other.conf"
run "$IPCGC" --socket="$T/io.ipcgc" list -J
is "$rc" 0 "ipcgc --socket=PATH list: asks the daemon at PATH (no config there)"
is "$(jq -c '[.objects[].id] | sort' <<<"$out")" "$(jq -nc --arg a "shm:$ORPHAN" --arg b "shm:$LIVE" '[$a, $b] | sort')" \
    "ipcgc --socket=PATH list: both objects"
run "$IPCGC" --socket "$T/io.ipcgc" --debug list -J
is "$rc" 0 "ipcgc --socket PATH --debug list"
mv "$T/other.conf" "$CONF"
run "$IPCGC" --config="$CONF" --local list -r -n -o ID
is "$rc" 0 "ipcgc --config=FILE --local list"

# --- -V is the version; -v the verdict filter --------------------------------
ver=$("$IPCGC" --version)
check "ipcgc --version says the version" grep -qx "ipcgc [0-9][0-9.a-z~+-]*" <<<"$ver"
for args in "-V" "list -V" "explain -V" "rm -V" "list --version"; do
    # shellcheck disable=SC2086
    run "$IPCGC" $args
    is "$rc:$out" "0:$ver" "ipcgc $args prints the version"
done
for via in --local ""; do
    # shellcheck disable=SC2086
    run "$IPCGC" --config "$CONF" $via list -v ORPHAN -r -n -o ID
    is "$out" "shm:$ORPHAN" "list ${via:+$via }-v ORPHAN: root's orphan only"
    # shellcheck disable=SC2086
    run "$IPCGC" --config "$CONF" $via list --verdict LIVE -r -n -o ID
    is "$out" "shm:$LIVE" "list ${via:+$via }--verdict LIVE: uid 4600's live one only"
done
usage_error "list -v BOGUS" "$IPCGC" --config "$CONF" list -v BOGUS

# --- Usage errors: a sentence and the hint, never getopt's "list:" ----------
usage_error "list --bogus" "$IPCGC" list --bogus
check "list --bogus names the option and the command" grep -qx "ipcgc: unknown option '--bogus' of list" <<<"$err"
usage_error "list -x" "$IPCGC" list -x
check "list -x names the option" grep -qx "ipcgc: unknown option '-x' of list" <<<"$err"
usage_error "list -t" "$IPCGC" list -t
check "list -t says it needs a value" grep -qx "ipcgc: option '-t' of list needs a value" <<<"$err"
usage_error "list --types" "$IPCGC" list --types
usage_error "list --local=yes" "$IPCGC" list --local=yes
check "list --local=yes says it takes no value" grep -qx "ipcgc: option '--local' of list takes no value" <<<"$err"
usage_error "ipcgc --bogus list" "$IPCGC" --bogus list
usage_error "ipcgc --socket" "$IPCGC" --socket
usage_error "ipcgc (no command)" "$IPCGC"
usage_error "ipcgc bogus" "$IPCGC" bogus
for cmd in status list explain sweep audit rm archive restore history reload metrics check-config; do
    usage_error "$cmd --no-such-option" "$IPCGC" "$cmd" --no-such-option
done
usage_error "explain (no ID)" "$IPCGC" explain
usage_error "explain nonsense" "$IPCGC" explain nonsense
usage_error "explain a b" "$IPCGC" explain shm:1 shm:2
usage_error "list extra" "$IPCGC" list extra

# --- Error replies: sentences, the name with --debug and in -J ---------------
for via in --local ""; do
    CLI=("$IPCGC" --config "$CONF")
    [ -n "$via" ] && CLI+=("$via")
    name=${via:-daemon}
    run "${CLI[@]}" explain shm:999999
    is "$rc" 1 "$name: explain of a missing object exits 1"
    is "$err" "ipcgc: there is no object shm:999999 (gone, or not yours to see); 'ipcgc list' shows what there is" \
        "$name: explain of a missing object: a sentence, no Varlink name"
    run "${CLI[@]}" --debug explain shm:999999
    check "$name: --debug adds the Varlink name" \
        grep -qx 'ipcgc: debug: {"error":"io.ipcgc.NoSuchObject","parameters":{"id":"shm:999999"}}' <<<"$err"
    run "${CLI[@]}" explain -J shm:999999
    is "$rc" 1 "$name: explain -J of a missing object exits 1"
    is "$(jq -c '[.error, .parameters.id]' <<<"$out")" '["io.ipcgc.NoSuchObject","shm:999999"]' \
        "$name: explain -J: the error as JSON on stdout"
    check "$name: explain -J: with the sentence" grep -q "^there is no object shm:999999" <<<"$(jq -r .message <<<"$out")"
    run "${CLI[@]}" rm "shm:$LIVE"
    is "$err" "ipcgc: shm:$LIVE is not removable: LIVE, attached by pid $HOLD_PID (ipc-hold)" \
        "$name: rm of uid 4600's live object: a sentence with the verdict and reason"
done

# uid 4600 through the daemon: refused removal, its own object explained.
run "${USER4600[@]}" "$IPCGC" --config "$CONF" rm "shm:$LIVE"
is "$rc" 1 "uid 4600: rm through the daemon exits 1"
is "$err" "ipcgc: permission denied: removing an object needs root or the AdminGroup= group" \
    "uid 4600: rm through the daemon: permission denied, as a sentence"
run "${USER4600[@]}" "$IPCGC" --config "$CONF" explain "shm:$ORPHAN"
is "$err" "ipcgc: there is no object shm:$ORPHAN (gone, or not yours to see); 'ipcgc list' shows what there is" \
    "uid 4600: root's object is not theirs to see"
run "${USER4600[@]}" "$IPCGC" --config "$CONF" explain -J "shm:$LIVE"
is "$(jq -r .verdict <<<"$out")" LIVE "uid 4600: its own object is explained"
stop_daemon

done_testing
