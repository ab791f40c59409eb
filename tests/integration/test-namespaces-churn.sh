#!/bin/bash
# Issue 14, acceptance 3 as far as --local goes: IPC namespaces that come
# and go while `--all-namespaces` looks at them are skipped cleanly.  At
# least 100 short-lived "containers" (each its own IPC and mount namespace
# and /dev/shm, an orphaned shm, pshm and msg made in it) come and go during 10
# listings, 10 dry runs and 10 sweeps: every run exits 0 with a whole
# reply, and nothing of the test's own namespace is touched.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

command -v jq >/dev/null || { echo "1..0 # SKIP jq is needed"; exit 0; }
sed -i "s|^\[Daemon\]$|[Daemon]\nArchiveDir=$T/archive|" "$CONF"
printf '\n[Rule default]\nMinAge=0\nAction=collect\n' >>"$CONF"
hold shm 0x7101 4096 0600; OUT_SHM=$HOLD_ID

start_churn

bad=0 runs=0 seen=0 gone=0
for i in $(seq 10); do
    for cmd in "list -J" "sweep --dry-run -J" "sweep -J"; do
        # shellcheck disable=SC2086
        out=$("$IPCGC" --config "$CONF" $cmd --local --all-namespaces 2>"$T/err")
        rc=$?
        runs=$((runs + 1))
        grep -q 'is gone: skipped' "$T/err" && gone=$((gone + 1))
        case $cmd in list*) [ "$(jq '.namespaces | length' <<<"$out" 2>/dev/null)" -gt 1 ] 2>/dev/null && seen=$((seen + 1)) ;; esac
        if [ "$rc" != 0 ] || ! jq -e . >/dev/null 2>&1 <<<"$out" || grep -v -e 'is gone: skipped' -e '^ipcgc: warning:' "$T/err" | grep -q .; then
            bad=$((bad + 1))
            echo "# $cmd: exit $rc: $(head -c 300 "$T/err")"
        fi
    done
done
# Until a hundred have come and gone, at least.
for i in $(seq 2000); do [ "$(wc -l <"$T/made")" -ge 100 ] && break; read -r -t 0.05 <> <(:) || true; done
stop_churn

is "$bad" 0 "$runs runs over all namespaces while they come and go: every one exits 0, whole, with no error"
echo "# runs that found another namespace: $seen of 10 listings; runs that found one gone: $gone"
[ $((seen + gone)) -gt 0 ] && ok "the runs met the containers that came and went" ||
    not_ok "the runs met the containers that came and went" "none found, none found gone"
made=$(wc -l <"$T/made")
[ "$made" -ge 100 ] && ok "$made namespaces came and went meanwhile" || not_ok "at least 100 namespaces came and went" "only $made"
is "$(ipcs -m | awk '$1 ~ /^0x/ { print $2 }' | tr '\n' ' ')" "$OUT_SHM " "the test's own live shm is still there"
done_testing
