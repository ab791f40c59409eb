#!/bin/bash
# The main job shows its work: README command 1 (tools/run.sh's last line,
# run from a build directory with the shipped configuration) on a machine
# with objects of root and of uid 4600 prints the table of what it judged,
# every object not LIVE with what a real sweep would do and why, the count
# of the LIVE ones, then the summary.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
# The initial PID namespace, as on the machine README command 1 runs on: the
# shipped configuration trusts no other (TrustPIDNamespace=no), and would
# judge every object without visible life UNKNOWN.  IPC and mounts are
# private all the same.
IPCGC_TEST_KEEP_PIDNS=1 enter_private_namespaces "$@"
export LC_ALL=C.UTF-8

# tools/run.sh's last line, run from a build directory, with the shipped
# configuration: the places it names (/dev/mqueue, /dev/shm, /tmp, /run, the
# StateDir under /var/lib) are made private first, in mount and IPC
# namespaces of its own (our scratch directory is under /tmp).
cat >"$T/main-job.sh" <<'EOS'
set -e
build=$1 src=$2 scratch=$3
# Where there is no /dev/mqueue to mount on (a container's /dev), a /dev of
# our own, with the nodes the script needs; nothing made in the real one.
if [ ! -d /dev/mqueue ]; then
    mkdir -p "$scratch/olddev"
    mount --rbind /dev "$scratch/olddev"
    mount -t tmpfs -o mode=0755 tmpfs /dev
    mkdir /dev/mqueue /dev/shm
    touch /dev/null
    mount --bind "$scratch/olddev/null" /dev/null
    ln -s /proc/self/fd /dev/fd
    mkdir /dev/pts
    mount --bind "$scratch/olddev/pts" /dev/pts
    ln -s pts/ptmx /dev/ptmx
fi
mount -t mqueue mqueue /dev/mqueue
# The source and build directories stay where they are (put back on the
# empty /tmp when they were under it: held open, then bound again).
exec 4<"$src" 5<"$build"
for d in /dev/shm /tmp /var/tmp /run /var/lib; do mount -t tmpfs tmpfs "$d"; done
for fd in 4 5; do
    dir=$src
    [ "$fd" = 5 ] && dir=$build
    [ -d "$dir" ] && continue
    mkdir -p "$dir"
    mount --no-canonicalize --bind "/proc/self/fd/$fd" "$dir"
done
cd "$build"
setpriv --reuid=4600 --regid=4600 --clear-groups ./tests/helpers/ipc-hold -x shm 0x00007001 4096 0600 >/dev/null
setpriv --reuid=4600 --regid=4600 --clear-groups ./tests/helpers/ipc-hold -x mq /app-q 10 0600 >/dev/null
setpriv --reuid=4600 --regid=4600 --clear-groups ./tests/helpers/ipc-hold -x fifo /tmp/app.fifo 0 0600 >/dev/null
exec 3< <(./tests/helpers/ipc-hold shm 0x00007002 4096 0600)
holder=$!
# Not in a PID namespace of our own: the holder is ended here.
trap 'kill "$holder"' EXIT
read -r _ _ _ <&3
conf=$(realpath --relative-to="$build" "$src")/conf/ipcgc.conf
if [ "${4:-}" = pty ]; then
    script -qec "stty cols 100 rows 50; ./ipcgc --config $conf sweep --local --dry-run" /dev/null | tr -d '\r'
else
    ./ipcgc --config "$conf" sweep --local --dry-run
fi
EOS
out=$(unshare --mount --ipc --propagation private bash "$T/main-job.sh" "$top_builddir" "$top_srcdir" "$T" 2>"$T/main.err")
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
sed 's/^/# stderr: /' "$T/main.err"
is "$rc" 0 "the main job exits 0"
is "$(head -1 <<<"$out" | tr -s ' ')" "ACTION ID OWNER SIZE VERDICT REASON" "it shows a table of what it judged"
# (UNKNOWN where a process of the machine cannot be seen into: a sandbox's
# init whose /proc/1/ns is closed to root makes a file's holders unknowable.)
for want in "shm:" "mq:/app-q" "fifo:/tmp/app.fifo"; do
    line=$(grep -F " $want" <<<"$out" | grep -v LIVE | head -1)
    check "it shows $want, not LIVE, with what a sweep would do, a verdict and a reason" \
        grep -qE '^(wait|would-remove|report|keep) +[^ ]+ +4600 +[^ ]+ +(PENDING|ORPHAN|REPORTED|PROTECTED|UNKNOWN) +[a-z].{8,}' <<<"$line"
done
check "the shm of uid 4600, who runs nothing, waits for MinAge (PENDING: a real sweep would wait)" \
    grep -qE '^wait +shm:[0-9]+ +4600 .* PENDING .*MinAge' <<<"$out"
check "the queue of uid 4600 is listed with its owner" grep -qE ' mq:/app-q +4600 ' <<<"$out"
check "the held segment is LIVE, not shown, but counted" grep -qE '^judged 4 objects: .*1 LIVE \(not shown' <<<"$out"
is "$(tail -1 <<<"$out")" "0 would be removed (dry run), 0 skipped, 0 failed" "then the summary"
check "nothing on stderr" test ! -s "$T/main.err"
out=$(unshare --mount --ipc --propagation private bash "$T/main-job.sh" "$top_builddir" "$top_srcdir" "$T" pty 2>&1)
printf '%s\n' "$out" | sed 's/^/# /'
is "$(head -1 <<<"$out" | tr -s ' ')" "ACTION ID OWNER SIZE VERDICT REASON" "on a terminal, the same table"
is "$(awk '{ if (length($0) > w) w = length($0) } END { print (w <= 100) }' <<<"$(sed 's/…/./g' <<<"$out")")" 1 \
    "on a terminal of 100 columns, every line of it fits"
check "the reasons cut at a word" grep -qE '^wait +shm:[0-9]+ +4600 .* PENDING +[^ ].*[a-z)]…$' <<<"$out"

done_testing
