#!/bin/bash
# The bash completion as installed (make install DESTDIR=...), sourced after
# bash-completion, driven as bash drives it: COMP_WORDS split the way bash
# splits the line, COMP_CWORD, COMP_LINE and COMP_POINT set, _ipcgc called,
# COMPREPLY read.  IDs come from real objects of root and of uid 4600, in
# private namespaces, through --local and through a daemon.
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

BASH_COMPLETION=/usr/share/bash-completion/bash_completion
if [ ! -r "$BASH_COMPLETION" ]; then
    echo "Bail out! needs bash-completion (Debian: bash-completion; tools/deps.sh --test)"
    exit 1
fi

# The install, as a package build makes it, by a make of its own (not the
# harness's: its MAKEFLAGS would have it print directories).
own_make() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$top_builddir" "$@"; }
dir=$(own_make -f Makefile -f - print-dir <<<'print-dir: ; @echo $(bashcompletiondir)' 2>/dev/null)
own_make install DESTDIR="$T/inst" >"$T/install.log" 2>&1
check "make install puts the completion in bashcompletiondir ($dir)" test -s "$T/inst$dir/ipcgc"
COMPLETION=$T/inst$dir/ipcgc

# A shell of its own for each question, with nothing of this script in it.
cat >"$T/drive.sh" <<'EOF'
# drive.sh COMPLETION LINE: COMPREPLY for LINE with the cursor at its end,
# one word a line.  LINE is split into COMP_WORDS as bash splits it: at
# blanks, and each run of COMP_WORDBREAKS characters a word of its own; a
# backslash keeps the next character in its word.
source /usr/share/bash-completion/bash_completion
source "$1"
line=$2
breaks=${COMP_WORDBREAKS//[[:space:]]/}
words=() word='' kind=0 # 0: between words, 1: a word, 2: a run of breaks
for ((i = 0; i < ${#line}; i++)); do
    c=${line:i:1}
    if [[ $c == '\' ]]; then
        ((kind == 2)) && { words+=("$word"); word=''; }
        word+=$c${line:i+1:1}; i=$((i + 1)); kind=1
    elif [[ $c == [[:space:]] ]]; then
        ((kind)) && words+=("$word"); word=''; kind=0
    elif [[ $breaks == *"$c"* ]]; then
        ((kind == 1)) && { words+=("$word"); word=''; }
        word+=$c; kind=2
    else
        ((kind == 2)) && { words+=("$word"); word=''; }
        word+=$c; kind=1
    fi
done
words+=("$word")
COMP_WORDS=("${words[@]}")
COMP_CWORD=$((${#words[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}
COMPREPLY=()
_ipcgc "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}"
exit 0
EOF

# comp LINE: what completing LINE offers, sorted, on one line (a word may
# hold a quoted space).  The completion finds ipcgc as the line names it:
# the build's, on PATH.
comp() { comp_lines "$1" | paste -sd' '; }
comp_lines() { PATH=$top_builddir:$PATH bash "$T/drive.sh" "$COMPLETION" "$1" | LC_ALL=C sort; }
comp_as() { # comp_as UID:GID LINE: as comp, as that user
    PATH=$top_builddir:$PATH setpriv --reuid="${1%:*}" --regid="${1#*:}" --clear-groups \
        bash "$T/drive.sh" "$COMPLETION" "$2" | LC_ALL=C sort | paste -sd' '
}
sorted() { printf '%s\n' "$@" | grep -v '^$' | LC_ALL=C sort | paste -sd' '; } # sorted WORD...: as comp prints them

# --- subcommands and options -------------------------------------------------
is "$(comp 'ipcgc l')" list "'ipcgc l' completes to list"
is "$(comp 'ipcgc re')" "reload restore" "'ipcgc re' offers reload and restore"
commands=$("$IPCGC" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z-][a-z-]*\) .*/\1/p')
is "$(comp 'ipcgc ')" "$(sorted $commands)" "'ipcgc ' offers every command of ipcgc --help"
is "$(comp 'ipcgc --config /x ch')" check-config "the command is found after --config FILE"
is "$(comp 'ipcgc --')" "$(sorted --config --help --local --socket --version)" "'ipcgc --' offers the options before a command"
is "$(comp "ipcgc --config $T/ipc")" "$T/ipcgc.conf" "--config FILE completes file names"
is "$(comp 'ipcgc list --json -u roo')" root "-u completes user names"

# Every option offered is one the command takes, and every long option the
# command's --help documents is offered.  refused CMD OPT: whether getopt
# refuses OPT: ipcgc CMD OPT=x then says of it just what it says of an
# option no command has (whatever the words); an option it takes gets to the
# bogus one, or has its value refused, and nothing runs either way.
refused() {
    local bogus=--no-such-option-zz base got
    base=$("$IPCGC" "$1" "$bogus" 2>&1 >/dev/null)
    got=$("$IPCGC" "$1" "$2=x" "$bogus" 2>&1 >/dev/null)
    # (named with its =x, as getopt does, or without)
    [ "$got" = "${base//$bogus/$2=x}" ] || [ "$got" = "${base//$bogus/$2}" ]
}
for c in $commands; do
    offered=$(comp "ipcgc $c --")
    bad=
    for o in $offered; do
        refused "$c" "$o" && bad="$bad $o"
    done
    is "${bad# }" "" "$c: every option offered is one it takes ($(wc -w <<<"$offered") offered)"
    documented=$("$IPCGC" "$c" --help | grep -o -- '--[a-z][a-z-]*' | LC_ALL=C sort -u)
    missing=
    for o in $documented; do
        [[ " $offered " == *" $o "* ]] || missing="$missing $o"
    done
    is "${missing# }" "" "$c: every option its --help names is offered"
done
# The probe can tell: list takes no --force, rm does.
check "(the probe sees list refuse --force)" refused list --force
taken() { ! refused "$@"; }
check "(and rm take it)" taken rm --force

# --- types, verdicts, columns ----------------------------------------------------
types='fifo mq msg psem pshm sem shm'
is "$(comp 'ipcgc list -t ')" "$types" "'ipcgc list -t ' offers the seven types"
is "$(comp 'ipcgc list --types ')" "$types" "and so does --types"
is "$(comp 'ipcgc sweep -t ')" "$types" "and sweep -t"
is "$(comp 'ipcgc audit --types=')" "$types" "and audit --types="
is "$(comp 'ipcgc list -t p')" "psem pshm" "'-t p' offers pshm and psem"
is "$(comp 'ipcgc list -t shm,m')" "shm,mq shm,msg" "'-t shm,m' completes the last of a comma list"
is "$(comp 'ipcgc list -t shm,msg,sem,mq,pshm,psem,')" "shm,msg,sem,mq,pshm,psem,fifo" "and offers only types not already in it"
verdicts=$(sed -n '/verdict_names\[/,/};/p' "$top_srcdir/lib/judge.c" | grep -o '"[A-Z]*"' | tr -d '"')
is "$(comp 'ipcgc list --verdict ')" "$(sorted $verdicts)" "--verdict offers the verdicts of lib/judge.c"
is "$(comp 'ipcgc list --verdict=LIVE,O')" "LIVE,ORPHAN" "--verdict=LIVE,O completes to LIVE,ORPHAN"
columns=$(comp 'ipcgc list -o ')
for col in ID OWNER VERDICT REASON; do
    [[ " $columns " == *" $col "* ]] || not_ok "-o offers $col" "offered: $columns"
done
bad=
for col in $columns; do
    "$IPCGC" --config "$CONF" list --local -n -o "$col" >/dev/null 2>&1 || bad="$bad $col"
done
is "${bad# }" "" "every column -o offers is one list takes ($(wc -w <<<"$columns") offered)"
is "$(comp 'ipcgc list -o ID,VERD')" "ID,VERDICT" "-o ID,VERD completes the last column"
is "$(comp 'ipcgc list --output +REA')" "+REASON" "-o +REA keeps the + (added to the default)"

# --- IDs: the objects there are ------------------------------------------------------
OTHER=4600:4600
hold shm 0x7001 4096 0600;                  SHM=shm:$HOLD_ID
hold -x sem 0x7002 2 0600;                  SEM=sem:$HOLD_ID
hold_as $OTHER -x msg 0x7003 64 0600;       MSG=msg:$HOLD_ID
hold_as $OTHER -x shm 0x7004 4096 0600;     SHM2=shm:$HOLD_ID
hold mq /ipcgc-comp-mq 64 0600
hold_as $OTHER -x pshm /ipcgc-comp-pshm 4096 0600
hold -x psem /ipcgc-comp-psem 0 0600
mkdir -m 1777 "$FIFODIR/d"
hold -x fifo "$FIFODIR/d/a b" 0 0600
hold -x fifo "$FIFODIR/d/c\\d" 0 0600
hold -x fifo "$FIFODIR/d/t$(printf '\t')x" 0 0600
hold_as $OTHER -x fifo "$FIFODIR/d/keep" 0 0600
# Held ones are LIVE; the rest ORPHAN at once, but one kept (PROTECTED).
cat >>"$CONF" <<EOC
[Daemon]
Socket=$T/io.ipcgc
ArchiveDir=$T/archive
[Rule keep]
Path=$FIFODIR/d/keep
Action=keep
[Rule all]
MinAge=0
Action=collect
EOC

all=("$SHM" "$SEM" "$MSG" "$SHM2" mq:/ipcgc-comp-mq pshm:/ipcgc-comp-pshm psem:/ipcgc-comp-psem
    "fifo:$FIFODIR/d/a\\ b" "fifo:$FIFODIR/d/c\\\\\\\\d" "fifo:$FIFODIR/d/t\\\\x09x" "fifo:$FIFODIR/d/keep")
# unquote: the IDs on stdin, one a line, as the shell passes them on.
unquote() { local w; while read -r w; do eval "printf '%s\n' $w"; done; }
listed=$("$IPCGC" --config "$CONF" --local list -n -o ID | LC_ALL=C sort | paste -sd'|')
is "$(comp "ipcgc --config $CONF --local explain ")" "$(sorted "${all[@]}")" \
    "'ipcgc explain ' offers every object's ID (--local, eleven objects of root and uid 4600)"
is "$(comp_lines "ipcgc --config $CONF --local explain " | unquote | LC_ALL=C sort | paste -sd'|')" "$listed" \
    "the very IDs of ipcgc list -n -o ID, quoted for the shell"
is "$(comp "ipcgc explain --config $CONF --local shm:")" "$(sorted "${SHM#shm:}" "${SHM2#shm:}")" \
    "'explain shm:' offers the shm ids (the word after the colon, as bash takes it)"
is "$(comp "ipcgc explain --config=$CONF --local mq:/ipc")" /ipcgc-comp-mq "'explain mq:/ipc' completes the name"
is "$(comp "ipcgc explain --config=$CONF --local fifo:$FIFODIR/d/a")" "$FIFODIR/d/a\\ b" \
    "a name with a space is offered quoted"
is "$(comp "ipcgc explain --config=$CONF --local fifo:$FIFODIR/d/c")" "$FIFODIR/d/c\\\\\\\\d" \
    "a backslash, which the ID doubles, is offered quoted"
is "$(comp "ipcgc explain --config=$CONF --local fifo:$FIFODIR/d/t")" "$FIFODIR/d/t\\\\x09x" \
    "a tab, which the ID writes \\x09, is offered quoted"
bad=
while read -r id; do
    "$IPCGC" --config "$CONF" --local explain "$id" >/dev/null 2>&1 || bad="$bad $id"
done < <(comp_lines "ipcgc --config $CONF --local explain " | unquote)
is "${bad# }" "" "explain takes every ID offered"
is "$(comp "ipcgc --config $CONF --local explain $SHM ")" "" "explain takes one ID: nothing after it"

# rm: what it would remove.
orphans=("$SEM" "$MSG" "$SHM2" pshm:/ipcgc-comp-pshm psem:/ipcgc-comp-psem
    "fifo:$FIFODIR/d/a\\ b" "fifo:$FIFODIR/d/c\\\\\\\\d" "fifo:$FIFODIR/d/t\\\\x09x")
is "$(comp "ipcgc --config $CONF --local rm ")" "$(sorted "${orphans[@]}")" "'ipcgc rm ' offers the ORPHAN objects only"
is "$(comp "ipcgc --config $CONF --local rm --force ")" "$(sorted "${orphans[@]}" "fifo:$FIFODIR/d/keep")" \
    "'rm --force ' offers the PROTECTED one too, never a LIVE one"
is "$(comp "ipcgc --config $CONF --local rm $SEM sem:")" "" "not an ID already on the line"

# No daemon and no --local: nothing, and at once (the daemon's absence is
# not waited for).
start=$(date +%s%N)
is "$(comp "ipcgc --config $CONF explain ")" "" "without a daemon to ask, no IDs"
took=$((($(date +%s%N) - start) / 1000000))
check "and it took under 3 s (${took} ms)" test "$took" -lt 3000

# restore: the archive's entries.
"$IPCGC" --config "$CONF" --local rm "$SEM" >"$T/rm.out" 2>&1
entry=$("$IPCGC" --config "$CONF" --local archive -r -n | while read -r _ e _; do echo "$e"; done)
check "rm archived $SEM ($entry)" test "$(wc -w <<<"$entry")" = 1
is "$(comp "ipcgc --config $CONF --local restore ")" "$entry" "'ipcgc restore ' offers the archive's entry"
is "$(comp "ipcgc --config $CONF --local restore $entry ")" "" "restore takes one entry: nothing after it"
unset 'all[1]' 'orphans[0]'

# Through a daemon (a dry-run one: its sweeps leave the orphans there): root
# is offered every object, uid 4600 its own.
cp "$CONF" "$T/daemon.conf"
printf '[Daemon]\nDryRun=yes\n' >>"$T/daemon.conf"
CONF=$T/daemon.conf
start_daemon
is "$(comp "ipcgc --config $CONF explain ")" "$(sorted "${all[@]}")" "through ipcgcd, 'ipcgc explain ' offers every ID"
is "$(comp "ipcgc --socket $T/io.ipcgc explain ")" "$(sorted "${all[@]}")" "and with --socket PATH"
is "$(comp "ipcgc --config $CONF rm ")" "$(sorted "${orphans[@]}")" "and 'ipcgc rm ' the orphans"
is "$(comp "ipcgc --config $CONF restore ")" "$entry" "and 'ipcgc restore ' the entry"
mine=("$MSG" "$SHM2" pshm:/ipcgc-comp-pshm "fifo:$FIFODIR/d/keep")
is "$(comp_as $OTHER "ipcgc --config $CONF explain ")" "$(sorted "${mine[@]}")" "uid 4600 is offered its own four objects"

stop_daemon
done_testing
