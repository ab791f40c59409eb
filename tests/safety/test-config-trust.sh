#!/bin/bash
# Issue 12, part 4: no configuration file is read that someone other than
# root (or, for a non-root --local run, the user) could have written.  Each
# attack is refused with the file and the reason, by check-config, --local,
# ipcgcd at start and on reload; a client ignores an untrusted file's Socket=
# with a warning; nothing is read from a FIFO or a device; a read error and
# a file over 1 MiB are errors.  uid 4600 plays the attacker.
# In private namespaces (tests/integration/lib.sh): $T is root's 0755 tmpfs.
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }
enter_private_namespaces "$@"

E=$T/etc/ipcgc
D=$E/conf.d
C=$E/ipcgc.conf
SOCK=$T/io.ipcgc
mkdir -p "$D"
chmod 0755 "$T/etc" "$E" "$D"
AS_ATTACKER=(setpriv --reuid=4600 --regid=4600 --clear-groups)

# base: a good configuration, root's, 0644, every rule keeping its objects
# an hour, and nothing in conf.d.
base() {
    rm -rf "$D" "$C"
    mkdir -m 0755 "$D"
    chmod 0755 "$E"
    {
        sed -n '/^\[Scan\]/,$p' "$CONF"
        echo "[Daemon]"
        echo "Socket=$SOCK"
        echo "Interval=1h"
        echo "StateDir=$T/state"
    } >"$C"
    printf '[Rule all]\nMinAge=1h\nAction=collect\n' >"$D/99-all.conf"
    chmod 0644 "$C" "$D/99-all.conf"
}

# refused DESC FILE WORDS...: check-config exits 1 within 10 s (no hang)
# with one line "ipcgc: FILE: ..." containing each of WORDS; --local list is
# refused alike.
refused() {
    local desc=$1 file=$2 w rc err
    shift 2
    timeout 10 "$IPCGC" check-config "$C" >"$T/out" 2>"$T/err"
    rc=$?
    err=$(cat "$T/err")
    is "$rc" 1 "$desc: check-config exits 1"
    if [[ $err == "ipcgc: $file: "* ]] && [ "$(wc -l <"$T/err")" -eq 1 ]; then
        ok "$desc: the one message names $file"
    else
        not_ok "$desc: the one message names $file" "got: $err"
    fi
    for w in "$@"; do
        if [[ $err == *"$w"* ]]; then ok "$desc: says \"$w\""; else not_ok "$desc: says \"$w\"" "got: $err"; fi
    done
    timeout 10 "$IPCGC" --config "$C" list --local >/dev/null 2>"$T/err"
    rc=$?
    if [ "$rc" = 1 ] && grep -qF "ipcgc: $file: " "$T/err"; then
        ok "$desc: list --local refuses it too"
    else
        not_ok "$desc: list --local refuses it too" "rc $rc: $(cat "$T/err")"
    fi
}

accepted() { # accepted DESC [WHO...]: check-config exits 0, nothing on stderr
    local desc=$1 rc
    shift
    timeout 10 "$@" "$IPCGC" check-config "$C" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" = 0 ] && [ ! -s "$T/err" ]; then ok "$desc"; else not_ok "$desc" "rc $rc: $(cat "$T/err")"; fi
}

base
accepted "root's 0644 files in root's 0755 directories (under /tmp, sticky and root's) are read"

# --- the files themselves ----------------------------------------------------
chmod 0666 "$C"
refused "a 0666 ipcgc.conf" "$C" "writable by others (mode 0666)" "chmod go-w $C"
chmod 0664 "$C"
refused "a 0664 ipcgc.conf" "$C" "writable by group (mode 0664)" "chmod g-w $C"
chmod 0644 "$C"
chown 4600 "$C"
refused "an ipcgc.conf owned by uid 4600" "$C" "owned by uid 4600, not root" "chown root $C"
base

mkdir -m 0755 "$T/evil" && chown 4600:4600 "$T/evil"
cp "$C" "$T/evil/ipcgc.conf" && chown 4600 "$T/evil/ipcgc.conf"
mv "$C" "$C.real" && ln -s "$T/evil/ipcgc.conf" "$C"
refused "ipcgc.conf a symlink into uid 4600's directory" "$C" "directory $T/evil is owned by uid 4600" "chown root $T/evil"
rm "$C"
mkdir -m 0755 "$T/rootdir"
cp "$C.real" "$T/rootdir/ipcgc.conf" && chown 4600 "$T/rootdir/ipcgc.conf"
ln -s "$T/rootdir/ipcgc.conf" "$C"
refused "ipcgc.conf a symlink to a file uid 4600 owns" "$C" "its target $T/rootdir/ipcgc.conf is owned by uid 4600"
chown 0 "$T/rootdir/ipcgc.conf"
accepted "ipcgc.conf a symlink (root's) to a file of root's is read"
chown -h 4600 "$C"
refused "ipcgc.conf a symlink that uid 4600 owns" "$C" "symlink $C is owned by uid 4600"
rm "$C" && mv "$C.real" "$C"

# --- the directories -----------------------------------------------------------
chmod 0777 "$D"
refused "a 0777 conf.d" "$D" "writable by others (mode 0777)" "chmod go-w $D"
chmod 1777 "$D"
refused "a 1777 conf.d (sticky is no help for the file's own directory)" "$D" "writable by others (mode 1777)"
chmod 0775 "$D"
refused "a 0775 conf.d" "$D" "writable by group (mode 0775)"
chmod 0755 "$D"
chown 4600 "$D"
refused "a conf.d owned by uid 4600" "$D" "owned by uid 4600, not root"
chown 0 "$D"
chmod 0757 "$E"
refused "a 0757 directory above ipcgc.conf" "$C" "directory $E is writable by others (mode 0757)" "chmod o-w $E"
chmod 0755 "$E"
mkdir -m 1777 "$T/sticky"
cp "$C" "$T/sticky/ipcgc.conf"
timeout 10 "$IPCGC" check-config "$T/sticky/ipcgc.conf" >/dev/null 2>"$T/err"
is "$? $(cat "$T/err")" "1 ipcgc: $T/sticky/ipcgc.conf: its directory $T/sticky is writable by others (mode 1777); move it into a directory only root can write" \
    "a file straight in a sticky world-writable directory of root's is refused"
mkdir -m 0755 "$T/sticky/sub" && cp "$C" "$T/sticky/sub/ipcgc.conf"
timeout 10 "$IPCGC" check-config "$T/sticky/sub/ipcgc.conf" >/dev/null 2>"$T/err"
is "$? $(cat "$T/err")" "0 " "a root 0755 directory inside it is fine (as /tmp/ipcgc-test.XXXX is)"
chown 4600 "$T/sticky"
timeout 10 "$IPCGC" check-config "$T/sticky/sub/ipcgc.conf" >/dev/null 2>"$T/err"
is "$? $(grep -c "directory $T/sticky is owned by uid 4600" "$T/err")" "1 1" "not when the sticky directory is uid 4600's"
chown 0 "$T/sticky"

# --- what is not a regular file: never opened, so nothing hangs --------------
mkfifo -m 0644 "$D/50-fifo.conf"
refused "a FIFO as a drop-in" "$D/50-fifo.conf" "not a regular file (a FIFO)"
rm "$D/50-fifo.conf"
for dev in /dev/zero /dev/urandom; do
    ln -s "$dev" "$D/50-dev.conf"
    refused "a symlink to $dev as a drop-in" "$D/50-dev.conf" "its target $dev is not a regular file (a character device)"
    rm "$D/50-dev.conf"
done
mkdir "$D/50-dir.conf"
refused "a directory as a drop-in" "$D/50-dir.conf" "not a regular file (a directory)"
rmdir "$D/50-dir.conf"
# A regular file whose read fails: /proc/self/mem at offset 0 is EIO.
ln -s /proc/self/mem "$D/50-mem.conf"
refused "a read error" "$D/50-mem.conf" "read error: Input/output error"
rm "$D/50-mem.conf"
# The cap: 1 MiB of comments is read, one byte more is not.
{ printf '[Rule big]\nAction=keep\n'; head -c $((1024 * 1024 - 23)) /dev/zero | tr '\0' '\n'; } >"$D/50-big.conf"
is "$(stat -c %s "$D/50-big.conf")" 1048576 "a 1 MiB drop-in"
accepted "a drop-in of exactly 1 MiB is read"
echo >>"$D/50-big.conf"
refused "a drop-in of 1 MiB and a byte" "$D/50-big.conf" "larger than 1 MiB"
rm "$D/50-big.conf"

# --- the attack: AdminGroup=4600 through a world-writable conf.d -------------
hold -x shm 0x7001 4096 0600
ROOT_SHM=shm:$HOLD_ID
chmod 0777 "$D"
"${AS_ATTACKER[@]}" sh -c "printf '[Daemon]\nAdminGroup=4600\n' >'$D/10-evil.conf'"
is "$(stat -c %u "$D/10-evil.conf")" 4600 "uid 4600 wrote a drop-in into the 0777 conf.d"
timeout 20 "$IPCGCD" --config "$C" --no-process-events 2>"$T/ipcgcd.err"
rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -qF "$D: writable by others (mode 0777)" "$T/ipcgcd.err"; then
    ok "ipcgcd refuses to start on it, naming conf.d"
else
    not_ok "ipcgcd refuses to start on it, naming conf.d" "rc $rc: $(cat "$T/ipcgcd.err")"
fi
chmod 0755 "$D"
refused "uid 4600's drop-in, conf.d 0755 again" "$D/10-evil.conf" "owned by uid 4600, not root"
rm "$D/10-evil.conf"

# Through a reload: the daemon keeps what it had, and uid 4600 stays no admin.
CONF=$C start_daemon --no-process-events
chmod 0777 "$D"
"${AS_ATTACKER[@]}" sh -c "printf '[Daemon]\nAdminGroup=4600\n' >'$D/10-evil.conf'"
"$IPCGC" --config "$C" reload >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" = 1 ] && grep -qF "$D" "$T/err"; then ok "a reload onto it is refused, naming conf.d"; else not_ok "a reload onto it is refused, naming conf.d" "rc $rc: $(cat "$T/err")"; fi
"${AS_ATTACKER[@]}" "$IPCGC" --config "$C" rm --force "$ROOT_SHM" >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" = 1 ] && grep -q "^ipcgc: permission denied: removing an object needs root" "$T/err"; then ok "uid 4600 may still not remove root's object"; else not_ok "uid 4600 may still not remove root's object" "rc $rc: $(cat "$T/err")"; fi
if "$IPCGC" --config "$C" list --local -J 2>/dev/null | jq -e --arg id "$ROOT_SHM" 'any(.objects[]; .id == $id)' >/dev/null ||
    ipcs -m | grep -q 0x00007001; then
    ok "root's object is still there"
else
    not_ok "root's object is still there"
fi

# --- the client's view: an untrusted file's Socket= is ignored, said ----------
chmod 0755 "$D"
"${AS_ATTACKER[@]}" sh -c "printf '[Daemon]\nSocket=$T/evil/io.ipcgc\n' >'$D/10-evil.conf'"
OUT=$("$IPCGC" --config "$C" status -J 2>"$T/err")
rc=$?
is "$rc" 0 "a client still reaches the real daemon"
if grep -qF "ipcgc: warning: $D/10-evil.conf: owned by uid 4600, not root" "$T/err" && grep -q "file ignored" "$T/err"; then
    ok "and warns that uid 4600's drop-in is ignored"
else
    not_ok "and warns that uid 4600's drop-in is ignored" "$(cat "$T/err")"
fi
is "$(jq -r .config <<<"$OUT" 2>/dev/null)" "$C" "the daemon that answered is ours"
rm "$D/10-evil.conf"
stop_daemon

# --- a non-root --local run: its own files, or root's ---------------------------
base
H=$T/home4600
mkdir -m 0700 "$H" && chown 4600:4600 "$H"
mkdir -m 0755 "$H/conf.d"
cp "$C" "$H/ipcgc.conf"
chown -R 4600:4600 "$H"
AS_USER=(setpriv --reuid=4600 --regid=4600 --clear-groups)
rc=0
timeout 10 "${AS_USER[@]}" "$IPCGC" check-config "$H/ipcgc.conf" >/dev/null 2>"$T/err" || rc=$?
is "$rc $(cat "$T/err")" "0 " "uid 4600: its own config in its 0700 directory is read"
timeout 10 "${AS_USER[@]}" "$IPCGC" check-config "$C" >/dev/null 2>"$T/err"
is "$? $(cat "$T/err")" "0 " "uid 4600: root's 0644 config is read"
chown 4601 "$H/ipcgc.conf"
timeout 10 "${AS_USER[@]}" "$IPCGC" check-config "$H/ipcgc.conf" >/dev/null 2>"$T/err"
is "$? $(cat "$T/err")" "1 ipcgc: $H/ipcgc.conf: owned by uid 4601, not root or uid 4600; chown root $H/ipcgc.conf" \
    "uid 4600: a config owned by uid 4601 is refused"
timeout 10 "$IPCGC" check-config "$H/ipcgc.conf" >/dev/null 2>"$T/err"
is "$?" 1 "root: uid 4601's config is refused"
chown 4600 "$H/ipcgc.conf"
timeout 10 "$IPCGC" check-config "$H/ipcgc.conf" >/dev/null 2>"$T/err"
if grep -qF "directory $H is owned by uid 4600, not root" "$T/err"; then ok "root: uid 4600's directory is refused"; else not_ok "root: uid 4600's directory is refused" "$(cat "$T/err")"; fi

done_testing
