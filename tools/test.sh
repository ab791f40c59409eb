#!/bin/sh
# Installs the dependencies, builds ipcgc with -Werror, ASan and UBSan in
# build-test/, runs the whole suite through automake's harness, then
# `make distcheck`, then the libFuzzer harnesses briefly from a clang build
# in build-fuzz/ (FUZZ_SECONDS each, default 5).  Ends with "N passed, N
# failed"; exits non-zero on any failure.  Must run as root: the integration tests make private IPC, mount
# and PID namespaces, and never touch the host's IPC.
set -u
cd "$(dirname "$0")/.."

./tools/deps.sh --test || exit 1
autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed" >&2; exit 1; }
rm -rf build-test
mkdir -p build-test
cd build-test || exit 1
../configure --enable-werror --enable-asan --enable-ubsan >/dev/null || exit 1
make -j"$(nproc)" >/dev/null || exit 1

make -j"$(nproc)" check
check_rc=$?
[ -f test-suite.log ] && [ $check_rc -ne 0 ] && cat test-suite.log

# distcheck packs, builds from the tarball out of tree, installs, and runs
# tests again (without sanitizers); it counts here as one test.  The whole
# suite ran above; what distcheck adds is that the tarball is complete,
# builds out of tree and installs.  Its check runs a cross-section
# (every unit test, a listing, the daemon, the archive's round trip, the
# protocol, the units' capabilities), to keep CI within its time.
dist_tests="$(cd .. && ls tests/unit/test_*.c | sed 's/\.c$//' | paste -sd' ') tests/integration/test-list.sh
    tests/integration/test-daemon.sh tests/integration/test-archive-roundtrip.sh tests/daemon/test-protocol.sh
    tests/safety/test-unit-caps.sh"
make distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror TESTS="$(echo $dist_tests)" >distcheck.log 2>&1
distcheck_rc=$?
if [ $distcheck_rc -eq 0 ]; then
    echo "PASS: make distcheck"
else
    tail -n 60 distcheck.log
    echo "FAIL: make distcheck (see build-test/distcheck.log)"
fi

# The libFuzzer harnesses (tests/fuzz), built by clang in build-fuzz/: each
# over its seed corpus and then FUZZ_SECONDS of fuzzing, one test each.
cd .. || exit 1
rm -rf build-fuzz
mkdir -p build-fuzz
fuzz_build_rc=0
fuzz_rc=0
( cd build-fuzz && ../configure CC=clang --enable-fuzzing >configure.log 2>&1 &&
    make -j"$(nproc)" >make.log 2>&1 ) || fuzz_build_rc=$?
if [ $fuzz_build_rc -eq 0 ]; then
    (cd build-fuzz && make -j"$(nproc)" fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-5}") || fuzz_rc=$?
    [ $fuzz_rc -ne 0 ] && [ -f build-fuzz/test-suite.log ] && cat build-fuzz/test-suite.log
else
    tail -n 30 build-fuzz/config.log build-fuzz/make.log 2>/dev/null
    echo "FAIL: fuzzing build (see build-fuzz/configure.log, build-fuzz/make.log)"
fi
cd build-test || exit 1

# One line per TAP case or script, from the harness's own records.
trs=$(find tests ../build-fuzz/tests -name '*.trs' 2>/dev/null)
passed=$(cat $trs /dev/null | grep -c '^:test-result: \(PASS\|XFAIL\)')
failed=$(cat $trs /dev/null | grep -c '^:test-result: \(FAIL\|XPASS\|ERROR\)')
skipped=$(cat $trs /dev/null | grep -c '^:test-result: SKIP')
if [ $distcheck_rc -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
[ $check_rc -ne 0 ] && [ "$failed" -eq 0 ] && failed=1 # the harness failed without a recorded case
[ $fuzz_build_rc -ne 0 ] && failed=$((failed + 1)) # the fuzzing build
fuzz_failed=$(cat $(find ../build-fuzz/tests -name '*.trs' 2>/dev/null) /dev/null |
    grep -c '^:test-result: \(FAIL\|XPASS\|ERROR\)')
[ $fuzz_rc -ne 0 ] && [ "$fuzz_failed" -eq 0 ] && failed=$((failed + 1)) # make fuzz failed without a recorded case

echo
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
