#!/bin/bash
# deploy/kubernetes/ipcgc-daemonset.yaml and the README's `docker run` line
# (section "In containers: Kubernetes and Docker") say what the daemon needs
# in a container, and say the same: the manifest parses (python3-yaml), runs
# ipcgcd with the host's PID and IPC namespaces (without hostPID every
# verdict is UNKNOWN; without hostIPC it sees only the pod's IPC), the
# host's /dev/shm, /dev/mqueue, /run, /tmp, /var/tmp and /var/lib/ipcgc, with
# the capabilities of systemd/ipcgcd.service.in's CapabilityBoundingSet=
# (CAP_SYS_ADMIN among them, which setns into a container's IPC namespace
# needs too) and no others, no API token and no RBAC, DryRun=yes,
# Namespaces=all, and a configuration ipcgc check-config accepts (as
# written into /etc/ipcgc by the README's own snippet); the docker line
# names the same namespaces, mounts and capabilities.
#
# Then ipcgcd runs on exactly that configuration, with the pod's /run,
# /tmp, /var/tmp, /var/lib/ipcgc, /dev/shm and /dev/mqueue its own here,
# beside a nested container (its own IPC and mount namespaces, /dev/shm
# and mqueue, in a cgroup docker-<id>.scope): through its control socket
# the container's objects are listed with their namespace and reported,
# and a sweep removes none of them.
#
# In private IPC, mount and PID namespaces (tests/integration/lib.sh).
. "${top_srcdir:-.}/tests/integration/lib.sh" || { echo "Bail out! cannot read tests/integration/lib.sh"; exit 1; }
enter_private_namespaces "$@"

PY=/usr/bin/python3
if ! "$PY" -c 'import yaml' 2>/dev/null; then
    echo "1..0 # SKIP $PY cannot import yaml (python3-yaml; tools/deps.sh --test)"
    exit 0
fi

# In the scratch directory, which goes with the test's namespaces.
W=$T/deploy
mkdir "$W" || exit 1

MANIFEST=$top_srcdir/deploy/kubernetes/ipcgc-daemonset.yaml
README=$top_srcdir/README.md
UNIT=$top_srcdir/systemd/ipcgcd.service.in

# The checks, one line each: "ok DESCRIPTION" or "not ok DESCRIPTION<TAB>DETAIL".
"$PY" - "$MANIFEST" "$README" "$UNIT" >"$W/checks" 2>&1 <<'PYEOF'
import re, shlex, sys, yaml

manifest, readme, unit = sys.argv[1:4]
def say(good, desc, detail=""):
    print(("ok " if good else "not ok ") + desc + ("\t" + str(detail) if not good and detail else ""))
def same(got, want, desc):
    say(got == want, desc, "got %r, expected %r" % (got, want))

try:
    docs = [d for d in yaml.safe_load_all(open(manifest)) if d]
except Exception as e:
    say(False, "the manifest parses", e)
    sys.exit(0)
say(True, "the manifest parses (%d documents)" % len(docs))
kinds = sorted(d.get("kind", "?") for d in docs)
same(kinds, ["ConfigMap", "DaemonSet", "Namespace", "ServiceAccount"], "kinds: a Namespace, a ServiceAccount, a ConfigMap, a DaemonSet; no RBAC")
byk = {d["kind"]: d for d in docs}
ns = byk["Namespace"]["metadata"]["name"]
same(sorted({d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}), [ns],
     "everything in namespace " + ns)
same(byk["Namespace"]["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce"), "privileged",
     "Pod Security Admission told the namespace is privileged")
same(byk["ServiceAccount"].get("automountServiceAccountToken"), False, "the service account mounts no token")

ds = byk["DaemonSet"]
same(ds.get("apiVersion"), "apps/v1", "DaemonSet apps/v1")
pod = ds["spec"]["template"]["spec"]
same(ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items(), True,
     "the selector matches the template's labels")
same(pod.get("serviceAccountName"), byk["ServiceAccount"]["metadata"]["name"], "the pod runs as that service account")
same(pod.get("automountServiceAccountToken"), False, "the pod mounts no token")
same(pod.get("hostPID"), True, "hostPID: true (without it every verdict is UNKNOWN)")
same(pod.get("hostIPC"), True, "hostIPC: true (without it only the pod's own IPC)")
same(pod.get("hostNetwork"), True, "hostNetwork: true (the process connector)")
same(pod.get("tolerations"), [{"operator": "Exists"}], "tolerates every taint: every node")
cs = pod["containers"]
same(len(cs), 1, "one container")
c = cs[0]
same(c.get("command"), ["/usr/sbin/ipcgcd"], "it runs ipcgcd")
probe = c.get("readinessProbe", {}).get("exec", {}).get("command")
same(probe, ["/usr/bin/ipcgc", "status"], "readiness probe: ipcgc status")
res = c.get("resources", {})
same(sorted(res.get("limits", {})), ["cpu", "memory"], "limits on CPU and memory")
same(sorted(res.get("requests", {})), ["cpu", "memory"], "requests of CPU and memory")

# The capabilities: the unit's bounding set (plus CAP_SYS_ADMIN, which it holds).
bound = []
for line in open(unit):
    m = re.match(r"CapabilityBoundingSet=(.*)", line.strip())
    if m:
        bound += m.group(1).split()
want_caps = sorted({x[len("CAP_"):] for x in bound} | {"SYS_ADMIN"})
say(len(bound) > 0 and "CAP_SYS_ADMIN" in bound, "the unit's CapabilityBoundingSet= found, CAP_SYS_ADMIN in it", bound)
sc = c.get("securityContext", {})
caps = sc.get("capabilities", {})
same(caps.get("drop"), ["ALL"], "capabilities: drop ALL")
add = caps.get("add", [])
same(sorted(add), want_caps, "capabilities added: exactly the unit's")
same(len(add), len(set(add)), "no capability added twice")
same(sc.get("privileged", False), False, "not privileged")
same(sc.get("runAsUser"), 0, "root, as the unit")
same(sc.get("readOnlyRootFilesystem"), True, "read-only root (ProtectSystem=strict)")
same(sc.get("appArmorProfile"), {"type": "Unconfined"}, "AppArmor unconfined (else other processes' /proc unreadable)")
# The API refuses allowPrivilegeEscalation: false beside SYS_ADMIN.
say(sc.get("allowPrivilegeEscalation") is not False, "allowPrivilegeEscalation not false beside SYS_ADMIN")

# The mounts.
vols = {v["name"]: v for v in pod["volumes"]}
mounts = c["volumeMounts"]
host = {}
for m in mounts:
    v = vols.get(m["name"])
    if v is None:
        say(False, "volume %s of mount %s exists" % (m["name"], m["mountPath"]))
    elif "hostPath" in v:
        host[m["mountPath"]] = v["hostPath"]["path"]
want_host = ["/dev/mqueue", "/dev/shm", "/run", "/tmp", "/var/lib/ipcgc", "/var/tmp"]
same(sorted(host), want_host, "the host's /dev/shm, /dev/mqueue, /run, /tmp, /var/tmp, /var/lib/ipcgc mounted")
same(sorted(k for k, p in host.items() if k != p), [], "each host path mounted where it is on the host")
same([m.get("mountPropagation") for m in mounts if m["mountPath"] == "/run"], ["HostToContainer"],
     "/run: HostToContainer (no mount of the host held by the pod)")
same(vols.get("state", {}).get("hostPath", {}).get("type"), "DirectoryOrCreate", "/var/lib/ipcgc made when missing")

# /etc/ipcgc: the ConfigMap's files, each by subPath where ipcgc reads it.
cm = byk["ConfigMap"]
data = cm["data"]
cfgvol = [n for n, v in vols.items() if v.get("configMap", {}).get("name") == cm["metadata"]["name"]]
same(len(cfgvol), 1, "the ConfigMap is a volume")
cfgm = [m for m in mounts if cfgvol and m["name"] == cfgvol[0]]
same(sorted(m.get("subPath") for m in cfgm), sorted(data), "every ConfigMap file mounted by subPath (a ConfigMap directory is world-writable)")
same(sorted(m["mountPath"] for m in cfgm),
     sorted("/etc/ipcgc/" + ("" if k == "ipcgc.conf" else "conf.d/") + k for k in data),
     "at /etc/ipcgc/ipcgc.conf and /etc/ipcgc/conf.d/*.conf")
same(all(m.get("readOnly") for m in cfgm), True, "read-only")
mode = vols[cfgvol[0]]["configMap"].get("defaultMode") if cfgvol else None
same(mode, 0o644, "files 0644 (ipcgc refuses configuration others may write)")

def ini(text):
    out, sec = [], None
    for line in text.splitlines():
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("["):
            sec = s.strip("[]")
            out.append((sec, {}))
        elif "=" in s:
            k, v = s.split("=", 1)
            out[-1][1][k.strip()] = v.strip()
    return out
main = dict(ini(data.get("ipcgc.conf", "")))
same(main.get("Daemon", {}).get("DryRun"), "yes", "[Daemon] DryRun=yes: nothing removed until told")
same(main.get("Daemon", {}).get("Namespaces"), "all", "[Daemon] Namespaces=all: every container's IPC namespace judged")
same("TrustPIDNamespace" in main.get("Scan", {}), False, "TrustPIDNamespace= not set")
rules = [r for k in sorted(k for k in data if k != "ipcgc.conf") for r in ini(data[k]) if r[0].startswith("Rule ")]
say(len(rules) > 0 and rules[0][1].get("Namespace") == "container" and rules[0][1].get("Action") == "report"
    and set(rules[0][1]) == {"Namespace", "Action"},
    "the first rule reports every container's object", rules[:1])
bad = [r[0] for r in rules if r[1].get("Action") == "collect" and r[1].get("Namespace") != "host"]
same(bad, [], "every collect rule is for the host namespace only")

# The README's docker line: the same namespaces, capabilities and mounts.
text = open(readme).read()
sect = text.split("## In containers: Kubernetes and Docker", 1)
say(len(sect) == 2, "README has the section \"In containers: Kubernetes and Docker\"")
sect = sect[-1].split("\n## ", 1)[0]
m = re.search(r"^docker run (?:.*\\\n)*.*$", sect, re.M)
say(m is not None, "README has a docker run line")
words = shlex.split(m.group(0).replace("\\\n", " ")) if m else []
opts = {}
for i, w in enumerate(words):
    if w.startswith("--") and "=" in w:
        k, v = w.split("=", 1)
        opts.setdefault(k, []).append(v)
    elif w in ("-v", "--security-opt"):
        opts.setdefault(w, []).append(words[i + 1])
for k in ("--pid", "--ipc", "--network"):
    same(opts.get(k), ["host"], "docker: %s=host" % k)
same(opts.get("--cap-drop"), ["ALL"], "docker: --cap-drop=ALL")
same(sorted(opts.get("--cap-add", [])), sorted(add), "docker: --cap-add the manifest's capabilities")
same("--read-only" in words, True, "docker: --read-only")
same("apparmor=unconfined" in opts.get("--security-opt", []), True, "docker: --security-opt apparmor=unconfined")
vs = {}
for v in opts.get("-v", []):
    p = v.split(":")
    vs[p[1]] = (p[0], p[2:] if len(p) > 2 else [])
same(sorted(k for k in vs if k != "/etc/ipcgc"), sorted(host), "docker: -v the manifest's host mounts")
same(sorted(k for k, (h, o) in vs.items() if h != k), [], "docker: each mounted where it is on the host")
same(vs.get("/run", ("", []))[1], ["rslave"], "docker: /run rslave (as HostToContainer)")
same(vs.get("/etc/ipcgc"), ("/etc/ipcgc", ["ro"]), "docker: /etc/ipcgc read-only")
same(words[-1:], ["/usr/sbin/ipcgcd"], "docker: runs ipcgcd")
say(re.search(r"^kubectl apply -f deploy/kubernetes/ipcgc-daemonset\.yaml$", sect, re.M) is not None,
    "README: kubectl apply -f deploy/kubernetes/ipcgc-daemonset.yaml")
PYEOF
rc=$?
[ $rc -eq 0 ] || not_ok "the checks ran" "python exited $rc" "$(tail -3 "$W/checks")"
while IFS= read -r line; do
    case $line in
    "ok "*) ok "${line#ok }" ;;
    "not ok "*)
        line=${line#not ok }
        not_ok "${line%%$'\t'*}" "${line#*$'\t'}"
        ;;
    *) not_ok "unexpected output" "$line" ;;
    esac
done <"$W/checks"

# The README's snippet writes the ConfigMap into /etc/ipcgc: run it into a
# scratch directory instead, and have check-config read what it wrote.
awk '/^## In containers: Kubernetes and Docker/ { s = 1 } s && /^## / && !/In containers/ { s = 0 }
     s && /^python3 - <<.EOF.$/ { p = 1; next } p && /^EOF$/ { exit } p' "$README" >"$W/snippet.py"
if grep -q '"/etc/ipcgc/"' "$W/snippet.py"; then
    ok "README: a snippet writes the ConfigMap's files into /etc/ipcgc"
else
    not_ok "README: a snippet writes the ConfigMap's files into /etc/ipcgc" "$(head -3 "$W/snippet.py")"
fi
sed -i "s|\"/etc/ipcgc/\"|\"$W/etc/ipcgc/\"|" "$W/snippet.py"
(cd "$top_srcdir" && umask 022 && "$PY" "$W/snippet.py") 2>"$W/snippet.err"
if [ ! -s "$W/snippet.err" ] && [ -f "$W/etc/ipcgc/ipcgc.conf" ] && [ -d "$W/etc/ipcgc/conf.d" ]; then
    ok "the snippet runs and writes ipcgc.conf and conf.d/"
else
    not_ok "the snippet runs and writes ipcgc.conf and conf.d/" "$(head -5 "$W/snippet.err")"
fi

# The whole configuration as the pod gets it: what ipcgcd would refuse to
# start with is a broken manifest.
CONF=$W/etc/ipcgc/ipcgc.conf
if "$IPCGC" check-config "$CONF" >"$W/cc.out" 2>"$W/cc.err"; then
    ok "check-config accepts the DaemonSet's configuration"
else
    not_ok "check-config accepts the DaemonSet's configuration" "$(cat "$W/cc.err")"
fi

# The daemon as the pod runs it: the ConfigMap's files as they are, and the
# pod's mounts, each a private one here.  /tmp and /var/tmp (FifoDirs=)
# hidden too, so that nothing of the host's is judged: what the test needs
# from under /tmp (the build, its scratch directory) is put in /run first.
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/bin /run/t /run/etc
cp "$top_builddir/ipcgcd" "$top_builddir/ipcgc" "$HOLD" /run/bin/
cp -r "$W/etc/ipcgc" /run/etc/
mount --rbind "$T" /run/t
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mkdir -m 0755 /var/lib/ipcgc # hostPath type DirectoryOrCreate
# MqueueDir='s default; on a host without it (no systemd) there is none.
[ ! -d /dev/mqueue ] || mount -t mqueue mqueue /dev/mqueue
top_builddir=/run/bin IPCGC=/run/bin/ipcgc HOLD=/run/bin/ipc-hold T=/run/t
CONF=/run/etc/ipcgc/ipcgc.conf

# The nested container, with a live shm, an orphaned shm and an orphaned
# pshm, each made by a process of its own.
HEX=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
CT=docker:${HEX:0:12}
CTCG=$(test_cgroup_root)/docker-$HEX.scope
mkdir -p "$CTCG"
mkfifo "$T/ct-stop"
exec {ctfd}< <(unshare --ipc --mount --propagation private -- bash -c '
    echo $$ >"$1/cgroup.procs" && mount -t tmpfs -o mode=1777 tmpfs /dev/shm || exit 1
    [ ! -d /dev/mqueue ] || mount -t mqueue mqueue /dev/mqueue || exit 1
    exec 3< <(exec "$2" shm 0x5e01 4096 0600)
    read -r _ live holder <&3
    orphan=$("$2" -x shm 0x5e02 4096 0600 | cut -d" " -f2)
    "$2" -x pshm /deploy-orphan 4096 0600 >/dev/null
    echo "ready $(stat -L -c %i /proc/self/ns/ipc) $live $orphan $$"
    read -r _ <"$3"
    kill "$holder"' ct "$CTCG" "$HOLD" "$T/ct-stop")
read -r -u "$ctfd" word CT_NS CT_LIVE CT_ORPHAN CT_PID
[ "$word" = ready ] && [ "$CT_NS" != "$(stat -L -c %i /proc/self/ns/ipc)" ] ||
    { echo "Bail out! the nested container did not start ($word)"; exit 1; }
trap 'echo >"$T/ct-stop"; kill "$DAEMON_PID" 2>/dev/null' EXIT
in_ct() { nsenter -t "$CT_PID" --ipc --mount -- "$@"; }
ct_left() { echo "$(in_ct ipcs -m | awk '$1 ~ /^0x/ { print $2 }' | sort -n | paste -sd' '); $(in_ct ls /dev/shm | paste -sd' ')"; }
before=$(ct_left)
is "$before" "$CT_LIVE $CT_ORPHAN; deploy-orphan" "the container holds a live shm, an orphaned shm and an orphaned pshm"

start_daemon
check "ipcgcd answers on /run/ipcgc/io.ipcgc, the socket the manifest's probe asks" test -S /run/ipcgc/io.ipcgc
json=$("$IPCGC" --config "$CONF" list --all-namespaces -J 2>"$T/list.err")
is "$?" 0 "ipcgc list --all-namespaces -J through the daemon's socket exits 0"
sed 's/^/# list: /' "$T/list.err"
is "$(jq -r --argjson n "$CT_NS" '.namespaces[]? | select(.ipcns == $n) | .container' <<<"$json")" "$CT" \
    "the daemon judges the container's namespace $CT_NS, named $CT"
verdicts() { jq -c --argjson n "$CT_NS" '[.objects[]? | select(.ipcns == $n) | "\(.id) \(.verdict) \(.rule)"] | sort' <<<"$1"; }
want() { echo "[\"ipc:$CT_NS/pshm:/deploy-orphan $1 containers\",\"ipc:$CT_NS/shm:$CT_LIVE LIVE containers\",\"ipc:$CT_NS/shm:$CT_ORPHAN $1 containers\"]"; }
# This PID namespace is not the initial one that hostPID gives the pod:
# the sight rules hold, and what has no visible life is UNKNOWN.
is "$(verdicts "$json")" "$(want UNKNOWN)" \
    "outside the host's PID namespace (no hostPID): its live shm LIVE, its orphans UNKNOWN, each with its ipcns"
# hostPID's complete view, which this PID namespace has too (it holds every
# process of the test's IPC namespaces): said by a drop-in beside the
# ConfigMap's files, nothing else changed.
printf '[Scan]\nTrustPIDNamespace=yes\n' >/run/etc/ipcgc/conf.d/00-hostpid.conf
check "ipcgc reload takes a drop-in for hostPID's complete view" "$IPCGC" --config "$CONF" reload
json=$("$IPCGC" --config "$CONF" list --all-namespaces -J 2>"$T/list.err")
is "$(verdicts "$json")" "$(want REPORTED)" \
    "with the complete view: its live shm LIVE, its orphaned shm and pshm REPORTED by the rule \"containers\""
sweep=$("$IPCGC" --config "$CONF" sweep --all-namespaces -J 2>"$T/sweep.err")
is "$?" 0 "ipcgc sweep --all-namespaces through the daemon exits 0"
sed 's/^/# sweep: /' "$T/sweep.err"
is "$(jq -c --argjson n "$CT_NS" '[.records[]? | select(.ipcns == $n and (.action == "removed" or .action == "would-remove"))]' <<<"$sweep")" \
    "[]" "and neither removes nor would remove anything in the container"
is "$(ct_left)" "$before" "the container's objects are all still there"
# As the ConfigMap says to do once the logs look right: DryRun=no.  The
# containers' objects are still only reported.
printf '[Daemon]\nDryRun=no\n' >/run/etc/ipcgc/conf.d/01-collect.conf
check "ipcgc reload takes DryRun=no" "$IPCGC" --config "$CONF" reload
sweep=$("$IPCGC" --config "$CONF" sweep --all-namespaces -J 2>"$T/sweep.err")
is "$(jq -r '.dry_run' <<<"$sweep")" false "DryRun=no: ipcgc sweep --all-namespaces through the daemon is no dry run"
is "$(jq -c --argjson n "$CT_NS" '[.records[]? | select(.ipcns == $n and .action == "removed")]' <<<"$sweep")" \
    "[]" "and removes nothing in the container (the rule \"containers\" reports)"
is "$(ct_left)" "$before" "the container's objects are all still there"
grep -q 'removed: ' "$T/ipcgcd.log" && not_ok "the daemon's log has no removal" "$(grep 'removed: ' "$T/ipcgcd.log" | head -n 3)" ||
    ok "the daemon's log has no removal"
stop_daemon
is "$?" 0 "ipcgcd stops cleanly"
done_testing
