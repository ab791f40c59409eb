#!/bin/bash
# `make install` never overwrites an edited configuration file: installing
# twice into a scratch DESTDIR, with an edit to ipcgc.conf between, keeps the
# edit and puts the shipped file beside it as ipcgc.conf.dist (and says so);
# what was not edited stays as shipped; a file the administrator removed comes
# back; uninstall removes what is as shipped and keeps the edited file.
#
# Runs the build directory's own `make install DESTDIR=...`: nothing outside
# the scratch directory is written (the host's /etc/ipcgc is checked).
set -u
top_builddir=$(cd "${top_builddir:-.}" && pwd)
top_srcdir=$(cd "${top_srcdir:-.}" && pwd)

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() {
    n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift
    local d; for d in "$@"; do echo "#   $d"; done
}
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d" "command failed: $*"; fi; }

D=$(mktemp -d "${TMPDIR:-/tmp}/ipcgc-install.XXXXXX")
trap 'rm -rf "$D"' EXIT
DEST=$D/root

host_etc() { ls -la --time-style=full-iso /etc/ipcgc /etc/ipcgc/conf.d 2>&1; }
host_before=$(host_etc)

# make_install OUT [TARGET]: the build dir's make, outside the harness's
# jobserver (this is not a recursive rule of it).
make_in_build() {
    local out=$1 target=${2:-install}
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -C "$top_builddir" "$target" DESTDIR="$DEST" >"$out" 2>&1
}

check "the first make install DESTDIR=... succeeds" make_in_build "$D/install1.log" ||
    sed 's/^/#   /' "$D/install1.log" | tail -n 20
conf=$(find "$DEST" -path '*/ipcgc/ipcgc.conf' -type f | head -n 1)
if [ -z "$conf" ]; then
    not_ok "ipcgc.conf is installed" "nothing under $DEST"
    echo "1..$n"
    exit 1
fi
etc=${conf%/ipcgc.conf}
check "ipcgc.conf is installed as shipped (${conf#"$DEST"})" cmp -s "$top_srcdir/conf/ipcgc.conf" "$conf"
for f in "$top_srcdir"/conf/conf.d/*; do
    check "conf.d/${f##*/} is installed as shipped" cmp -s "$f" "$etc/conf.d/${f##*/}"
done
check "no .dist on a first install" test -z "$(find "$etc" -name '*.dist')"

# The administrator's edits: a changed value and an added line.
sed -i 's/^#\?[[:space:]]*Interval=.*/Interval=7m/' "$conf"
printf '\n# edited by the administrator\n' >>"$conf"
cp "$conf" "$D/edited"
check "the edit changed the file" bash -c "! cmp -s '$top_srcdir/conf/ipcgc.conf' '$conf'"
rm "$etc/conf.d/50-apache2.conf.example"

check "the second make install DESTDIR=... succeeds" make_in_build "$D/install2.log" ||
    sed 's/^/#   /' "$D/install2.log" | tail -n 20
check "the edited ipcgc.conf is kept byte for byte" cmp -s "$D/edited" "$conf"
check "the shipped one is beside it as ipcgc.conf.dist" cmp -s "$top_srcdir/conf/ipcgc.conf" "$conf.dist"
if grep -qF "$conf differs from the shipped one: kept it, the new one is $conf.dist" "$D/install2.log"; then
    ok "make install says so"
else
    not_ok "make install says so" "$(grep -F ipcgc.conf "$D/install2.log")"
fi
check "the removed conf.d/50-apache2.conf.example is back, as shipped" \
    cmp -s "$top_srcdir/conf/conf.d/50-apache2.conf.example" "$etc/conf.d/50-apache2.conf.example"
check "no .dist for the files not edited" test "$(find "$etc" -name '*.dist')" = "$conf.dist"
check "no line about them either" test "$(grep -c 'differs from the shipped one' "$D/install2.log")" = 1

check "make uninstall DESTDIR=... succeeds" make_in_build "$D/uninstall.log" uninstall ||
    sed 's/^/#   /' "$D/uninstall.log" | tail -n 20
check "uninstall keeps the edited ipcgc.conf" cmp -s "$D/edited" "$conf"
if grep -qF "$conf differs from the shipped one: kept it" "$D/uninstall.log"; then
    ok "make uninstall says so"
else
    not_ok "make uninstall says so" "$(grep -F ipcgc.conf "$D/uninstall.log")"
fi
left=$(find "$DEST" -type f | sort)
if [ "$left" = "$conf" ]; then
    ok "and removes everything else it installed, ipcgc.conf.dist included"
else
    not_ok "and removes everything else it installed, ipcgc.conf.dist included" "left: ${left//$'\n'/ }"
fi

if [ "$(host_etc)" = "$host_before" ]; then
    ok "the host's /etc/ipcgc is untouched"
else
    not_ok "the host's /etc/ipcgc is untouched" "before: $host_before" "after: $(host_etc)"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
