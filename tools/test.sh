#!/bin/sh
# Installs the dependencies, builds ipcgc with -Werror, ASan and UBSan in
# build-test/, runs the whole suite through automake's harness, then
# `make distcheck`.  Ends with "N passed, N failed"; exits non-zero on any
# failure.  Must run as root: the integration tests make private IPC, mount
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

# distcheck packs, builds from the tarball out of tree, installs, and runs the
# suite again (without sanitizers); it counts here as one test.
make distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror >distcheck.log 2>&1
distcheck_rc=$?
if [ $distcheck_rc -eq 0 ]; then
    echo "PASS: make distcheck"
else
    tail -n 60 distcheck.log
    echo "FAIL: make distcheck (see build-test/distcheck.log)"
fi

# One line per TAP case or script, from the harness's own records.
passed=$(cat $(find tests -name '*.trs') /dev/null | grep -c '^:test-result: \(PASS\|XFAIL\)')
failed=$(cat $(find tests -name '*.trs') /dev/null | grep -c '^:test-result: \(FAIL\|XPASS\|ERROR\)')
skipped=$(cat $(find tests -name '*.trs') /dev/null | grep -c '^:test-result: SKIP')
if [ $distcheck_rc -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
[ $check_rc -ne 0 ] && [ "$failed" -eq 0 ] && failed=1 # the harness failed without a recorded case

echo
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
