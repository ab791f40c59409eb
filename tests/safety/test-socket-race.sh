#!/bin/bash
# Issue 12, part 5: ipcgcd binding Socket= in a directory another user can
# change.  uid 4600 owns $T/att and renames a symlink to root's 0600 file
# over the socket the moment it appears (tests/helpers/sock-swap): in 100
# starts of ipcgcd the file is never touched, and each start is refused with
# a message naming the directory and its owner.  Then the other directories
# a Socket= must not be in, and the ones it may: made when missing (0755
# whatever the umask), the socket 0666 by the umask at bind, never by a
# chmod after it; a stale socket replaced.
# In private namespaces (tests/integration/lib.sh).
IPCGC_TEST_EXCLUSIVE=1 # a spinning attacker: not beside the timing tests
. "${top_srcdir:-.}/tests/daemon/lib.sh" || { echo "Bail out! cannot read tests/daemon/lib.sh"; exit 1; }
enter_private_namespaces "$@"

SWAP=$top_builddir/tests/helpers/sock-swap
[ -x "$SWAP" ] || { echo "Bail out! $SWAP is not built"; exit 1; }
STARTS=${IPCGC_RACE_STARTS:-100}

SECRET=$T/secret
echo "root's" >"$SECRET"
chmod 0600 "$SECRET"
stamp() { stat -c '%a %u %g %z %y' "$SECRET"; }
BEFORE=$(stamp)

ATT=$T/att
mkdir -m 0755 "$ATT"
chown 4600:4600 "$ATT"
BASE=$T/base.conf
cp "$CONF" "$BASE"

# with_socket PATH: $CONF naming Socket=PATH.
with_socket() {
    cp "$BASE" "$CONF"
    printf '[Daemon]\nSocket=%s\nInterval=1h\n' "$1" >>"$CONF"
}

# start_once: one start of ipcgcd on $CONF.  Waits until it exits (RC set)
# or something appears at its socket path (then SIGTERM, RC=listening).
start_once() {
    local sock=$1 pid i
    "$IPCGCD" --config "$CONF" --no-process-events 2>"$T/start.err" &
    pid=$!
    RC=timeout
    for ((i = 0; i < 1000; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            RC=$?
            return
        fi
        if [ -e "$sock" ] || [ -L "$sock" ]; then
            RC=listening
            break
        fi
        read -r -t 0.01 <> <(:) || true
    done
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# --- 100 starts against the swapping attacker -----------------------------------
SOCK=$ATT/io.ipcgc
with_socket "$SOCK"
exec {sfd}< <(exec setpriv --reuid=4600 --regid=4600 --clear-groups "$SWAP" "$ATT" io.ipcgc "$SECRET")
SWAP_PID=$!
read -r -u "$sfd" word || true
[ "$word" = ready ] || { echo "Bail out! sock-swap did not start"; exit 1; }

touched=0 refused=0 other=
for ((n = 0; n < STARTS; n++)); do
    start_once "$SOCK"
    if [ "$RC" = 1 ] && grep -qF "Socket=$SOCK: $ATT: owned by uid 4600, not root; chown root $ATT; refusing to listen there" "$T/start.err"; then
        refused=$((refused + 1))
    elif [ -z "$other" ]; then
        other="start $n: $RC: $(head -3 "$T/start.err" | tr '\n' '|')"
    fi
    [ "$(stamp)" != "$BEFORE" ] && touched=$((touched + 1))
    rm -f "$SOCK"
    # Put it back for the next start, as root could: the count is of starts.
    chmod 0600 "$SECRET"
    BEFORE=$(stamp)
done
kill -TERM "$SWAP_PID"
read -r -u "$sfd" swaps || swaps=?
exec {sfd}<&-
diag "sock-swap swapped $swaps sockets for symlinks"
is "$touched" 0 "root's 0600 file outside was touched in 0 of $STARTS starts"
is "$refused" "$STARTS" "each start refused the directory uid 4600 owns, naming it and its owner${other:+ ($other)}"
is "$(stat -c '%a %u' "$SECRET")" "600 0" "root's file is still 0600 root"

# --- other directories a socket must not be in -----------------------------------
refused_dir() { # refused_dir DESC SOCKET WORDS
    with_socket "$2"
    start_once "$2"
    if [ "$RC" = 1 ] && grep -F "Socket=$2: " "$T/start.err" | grep -F "$3" | grep -q "refusing to listen there" &&
        [ ! -e "$2" ]; then
        ok "$1"
    else
        not_ok "$1" "rc $RC: $(cat "$T/start.err")"
    fi
}
refused_dir "a missing directory under uid 4600's is not made" "$ATT/sub/io.ipcgc" \
    "directory $ATT is owned by uid 4600, not root"
[ -e "$ATT/sub" ] && not_ok "nothing made in uid 4600's directory" || ok "nothing made in uid 4600's directory"
mkdir -m 0777 "$T/open"
refused_dir "a 0777 directory of root's" "$T/open/io.ipcgc" "$T/open: writable by others (mode 0777)"
mkdir -m 1777 "$T/sticky"
refused_dir "a sticky 1777 directory of root's, like /tmp" "$T/sticky/io.ipcgc" "$T/sticky: writable by others (mode 1777)"
mkdir -m 0755 "$T/sticky/ok"
mkdir -m 0755 "$T/lnk"
ln -s "$ATT" "$T/lnk/att"
refused_dir "a symlink (root's) to uid 4600's directory" "$T/lnk/att/io.ipcgc" "$ATT is owned by uid 4600"
ln -s "$T/sticky/ok" "$T/lnk/byatt" && chown -h 4600:4600 "$T/lnk/byatt"
refused_dir "a symlink uid 4600 owns" "$T/lnk/byatt/io.ipcgc" "symlink $T/lnk/byatt is owned by uid 4600"
echo x >"$T/sticky/ok/file"
with_socket "$T/sticky/ok/file"
timeout 20 "$IPCGCD" --config "$CONF" --no-process-events 2>"$T/start.err"
is "$? $(cat "$T/sticky/ok/file")" "1 x" "a file at Socket= is not replaced"
rm "$T/sticky/ok/file"

# --- where it may be ---------------------------------------------------------------
mkdir -m 0755 "$T/run"
SOCK=$T/run/ipcgc/io.ipcgc
with_socket "$SOCK"
(umask 077 && exec "$IPCGCD" --config "$CONF" --no-process-events 2>"$T/ipcgcd.err") &
DAEMON_PID=$!
for ((i = 0; i < 500; i++)); do
    "$IPCGC" --config "$CONF" status >/dev/null 2>&1 && break
    read -r -t 0.01 <> <(:) || true
done
is "$(stat -c '%a %u' "$T/run/ipcgc" 2>&1)" "755 0" "the missing directory is made, 0755 under umask 077"
is "$(stat -c '%F %a' "$SOCK" 2>&1)" "socket 666" "the socket is 0666 under umask 077"
setpriv --reuid=4600 --regid=4600 --clear-groups "$IPCGC" --config "$CONF" status >/dev/null
is "$?" 0 "a non-root client reaches it"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
[ -S "$SOCK" ] && ok "a killed daemon leaves a stale socket" || not_ok "a killed daemon leaves a stale socket"
start_daemon --no-process-events
if grep -qF "replacing stale socket $SOCK" "$T/ipcgcd.err"; then ok "the stale socket is replaced"; else not_ok "the stale socket is replaced" "$(cat "$T/ipcgcd.err")"; fi
stop_daemon

ln -s "$T/run/ipcgc" "$T/lnk/run"
SOCK=$T/lnk/run/io.ipcgc
with_socket "$SOCK"
start_daemon --no-process-events
is "$(stat -c '%F %a' "$T/run/ipcgc/io.ipcgc" 2>&1)" "socket 666" "through a symlink of root's (as /var/run): bound"
stop_daemon
mkdir -m 0755 "$T/sticky/ok/d"
SOCK=$T/sticky/ok/d/io.ipcgc
with_socket "$SOCK"
start_daemon --no-process-events
ok "in a directory of root's under a sticky one: bound"
stop_daemon

done_testing
