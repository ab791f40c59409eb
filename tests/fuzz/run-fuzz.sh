#!/bin/sh
# Runs one libFuzzer harness as a test: tests/fuzz/NAME.fuzz names it and
# holds its libFuzzer options (one a line, # comments).  Its seed corpus
# (tests/fuzz/corpus/NAME) runs first, then FUZZ_SECONDS of fuzzing (0: the
# seeds only); what the fuzzer finds new is kept in the build tree
# (tests/fuzz/NAME.corpus), never in the source tree, and a crash is written
# to tests/fuzz/NAME.crash-* there, reproduced with `fuzz_NAME FILE`.
# Speaks TAP: one case.
set -u
test=$1
name=$(basename "$test" .fuzz)
srcdir=${top_srcdir:-.}/tests/fuzz
builddir=${top_builddir:-.}/tests/fuzz
prog=$builddir/fuzz_$name
seconds=${FUZZ_SECONDS:-10}

echo "1..1"
if [ ! -x "$prog" ]; then
    echo "not ok 1 - fuzz_$name: $prog not built (configure CC=clang --enable-fuzzing)"
    exit 0
fi
opts=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$test")
[ -f "$srcdir/$name.dict" ] && opts="$opts -dict=$srcdir/$name.dict"
if [ "$seconds" -gt 0 ]; then
    opts="$opts -max_total_time=$seconds"
else
    opts="$opts -runs=0"
fi
mkdir -p "$builddir/$name.corpus"
log=$builddir/$name.fuzz-run.log
# shellcheck disable=SC2086 # the options are words
"$prog" $opts -print_final_stats=1 -artifact_prefix="$builddir/$name.crash-" \
    "$builddir/$name.corpus" "$srcdir/corpus/$name" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
units=$(find "$builddir/$name.corpus" -type f | wc -l)
if [ $rc -eq 0 ]; then
    echo "ok 1 - fuzz_$name: ${execs:-?} runs in ${seconds} s, no crash (${units} new inputs kept)"
else
    tail -n 40 "$log" | sed 's/^/# /'
    crash=$(ls -t "$builddir/$name".crash-* 2>/dev/null | head -n 1)
    echo "not ok 1 - fuzz_$name: exit $rc after ${execs:-?} runs${crash:+; input $crash}"
fi
exit 0
