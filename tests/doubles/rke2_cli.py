#!/usr/bin/python3
"""RKE2 test double (daskmetal lab): NOT RKE2. Installed as bin/rke2 inside the lab's staged release tarball.

It follows rancher/rke2 at tag v1.33.5+rke2r1 (the pinned rke2_version), which builds on k3s-io/k3s release-1.33
(rke2 go.mod: github.com/k3s-io/k3s v1.33.5-0.20250908225129-719c5d7da5ba). Each rule below names its source.

- config file: k3s pkg/configfilearg/parser.go readConfigFile (a YAML mapping; a list value becomes the flag
  repeated, any other value `--key value`; /etc/rancher/rke2/config.yaml then config.yaml.d/*.yaml in order,
  dotDFiles) and FilterArgs (a key that is not a flag of the command is skipped with
  "Unknown flag --<key> found in config.yaml, skipping"). The flags of `rke2 server` are SERVER_FLAGS.
- --cni / --ingress-controller: rke2 v1.33.5 pkg/cli/cmds/server.go validateCNI, validateIngress and
  disableExceptSelected (values split on commas; "none" disables every item; an item not in pkg/cli/types.go
  CNIItems / IngressItems is fatal "Invalid value <v> for --<flag> flag: must be one of <items>"; the charts of
  the items not selected, rke2-<item> and rke2-<item>-crd, are added to --disable).
- --cluster-reset-restore-path needs --cluster-reset: k3s pkg/cli/server/server.go run():
  "invalid flag use; --cluster-reset required with --cluster-reset-restore-path".
- --cluster-reset with a server URL set: k3s pkg/cli/server/server.go (rancher/rke2#4806):
  "cannot perform cluster-reset while server URL is set - remove server from configuration before resetting".
- the reset flag: k3s pkg/cluster/managed.go start(): a restore (--cluster-reset-restore-path) does not check
  <data-dir>/server/db/reset-flag; a plain --cluster-reset refuses while it exists; a normal start clears it.
  pkg/etcd/etcd.go Reset(): the snapshot must exist and be a file ("etcd: snapshot path does not exist: <p>"),
  the reset writes reset-flag and exits 0 once etcd runs as a single member. rke2-docs
  docs/datastore/backup_restore.md: the old database moves to server/db/etcd-old-<timestamp>; the message
  "Managed etcd cluster membership has been reset, restart without --cluster-reset flag now."
- the snapshot directory: k3s pkg/etcd/snapshot.go creates ${data-dir}/server/db/snapshots when a snapshot is
  saved; a server that never took one has none (the double creates it only in `etcd-snapshot save`).
- server manifests: k3s pkg/deploy/controller.go (watcher): every file of <data-dir>/server/manifests ending
  .yaml/.yml/.json (case-insensitive; dotfiles and files with a <name>.skip marker are ignored) is read as
  multi-document YAML (yamlToObjects) and applied. A HelmChartConfig (k3s-io/helm-controller
  pkg/apis/helm.cattle.io/v1 types.go: apiVersion helm.cattle.io/v1, kind HelmChartConfig, spec.valuesContent a
  string) applies to the HelmChart of the same metadata.name in its metadata.namespace; RKE2's charts live in
  kube-system. helm-controller passes the chart's values, then the HelmChartConfig's valuesContent (parsed as YAML)
  to helm as successive --values files: Helm merges maps key by key and replaces lists and scalars.
- flannel's interface (the CNI selected by --cni; rke2 v1.33.5 charts/chart_versions.yaml pins rke2-canal
  v3.30.3-build2025090900 and rke2-flannel v0.27.302): CHART_DEFAULTS are those charts' values.yaml (rancher/
  rke2-charts charts/<chart>/<chart>/<version>/values.yaml). rke2-canal passes flannel.iface / flannel.regexIface
  as FLANNELD_IFACE / FLANNELD_IFACE_REGEX (templates/config.yaml, daemonset.yaml), rke2-flannel only
  flannel.args (templates/daemonset.yaml) to /opt/bin/flanneld. flannel v0.27.3 main.go: a flag not in
  FLANNELD_FLAGS is fatal; without --kube-subnet-mgr flanneld reads its network from etcd (default endpoints
  http://127.0.0.1:4001,http://127.0.0.1:2379), which an RKE2 node does not serve; the interface is the first
  --iface (a name, or an IP), else the first --iface-regex matching an interface's IPv4 address, then its name
  (pkg/ipmatch/match.go LookupExtIface), else the default route's interface; named but unmatched is fatal.
  The double refuses to start when that interface is not the one holding --node-ip (the ZeroTier interface:
  node-ip is the ZeroTier address) and records the choice in EFFECTIVE["flannel"].
- canal's calico-node address (check_calico): rke2-canal v3.30.3-build2025090900 templates/daemonset.yaml passes
  calico.ipAutoDetectionMethod as IP_AUTODETECTION_METHOD (global.clusterCIDRv4 is set by rke2 v1.33.5
  pkg/bootstrap/bootstrap.go setChartValues); projectcalico/calico v3.30.3 node/pkg/lifecycle/startup/autodetection
  (autodetection_methods.go AutoDetectCIDR, interfaces.go GetInterfaces, filtered.go FilteredEnumeration,
  reachaddr.go, autodetection_linux.go DEFAULT_INTERFACES_TO_EXCLUDE) decide the address. The double refuses to
  start unless it is node-ip, and records it in EFFECTIVE["flannel"]["calico"].
- agents: the CNI charts' DaemonSets run on every node, so `rke2 agent` is checked the same way against what the
  servers deployed; the double's stand-in for that is a server's EFFECTIVE record copied to CLUSTER on the agent
  (read_cluster; refused when absent). The manifests are read once per start: real RKE2's deploy controller
  re-reads the directory while it runs (k3s pkg/deploy/controller.go watcher.start / listFilesIn: a 15 s loop,
  files re-applied when their mtime changes, as read at k3s-io/k3s commit 0301210, not checked at
  release-1.33), which the double does not imitate.
What the double does instead of running Kubernetes: it writes the kubectl double and the kubeconfig, records the
effective flags in EFFECTIVE (JSON) and every reset/start in LOG, and sleeps like the running service.
"""
import glob
import json
import os
import shutil
import socket
import sys
import time

sys.path.insert(0, "/usr/local/share/rke2-double")  # PyYAML copied in by the lab (the lab image has none)
import yaml  # noqa: E402

VERSION = "@VERSION@"
CONFIG = "/etc/rancher/rke2/config.yaml"
DATA_DIR = "/var/lib/rancher/rke2"
EFFECTIVE = "/run/rke2-double/effective.json"
CLUSTER = "/run/rke2-double/cluster.json"  # on an agent: a server's EFFECTIVE (read_cluster)
LOG = "/var/log/rke2-double.log"
# rke2 v1.33.5 pkg/cli/types.go
CNI_ITEMS = ["calico", "canal", "cilium", "flannel"]
INGRESS_ITEMS = ["ingress-nginx", "traefik"]
# rke2 v1.33.5 pkg/cli/cmds/server.go: the k3sServerBase K3SFlagSet entries that are not dropFlag, serverFlag
# (cni, ingress-controller, enable-servicelb) and pkg/cli/cmds/root.go commonFlag (images.*, podtemplate.*).
SERVER_FLAGS = frozenset("""
advertise-address agent-token agent-token-file airgap-extra-registry alsologtostderr audit-policy-file bind-address
cloud-controller-manager-extra-env cloud-controller-manager-extra-mount cloud-controller-manager-image
cloud-provider-config cloud-provider-name cluster-cidr cluster-dns cluster-domain cluster-reset
cluster-reset-restore-path cni config container-runtime-endpoint control-plane-probe-configuration
control-plane-resource-limits control-plane-resource-requests data-dir datastore-cafile datastore-certfile
datastore-endpoint datastore-keyfile debug default-runtime disable disable-agent disable-apiserver
disable-cloud-controller disable-controller-manager disable-default-registry-endpoint disable-etcd
disable-kube-proxy disable-scheduler egress-selector-mode embedded-registry enable-pprof enable-servicelb etcd-arg
etcd-disable-snapshots etcd-expose-metrics etcd-extra-env etcd-extra-mount etcd-image etcd-s3 etcd-s3-access-key
etcd-s3-bucket etcd-s3-bucket-lookup-type etcd-s3-config-secret etcd-s3-endpoint etcd-s3-endpoint-ca
etcd-s3-folder etcd-s3-insecure etcd-s3-proxy etcd-s3-region etcd-s3-retention etcd-s3-secret-key
etcd-s3-session-token etcd-s3-skip-ssl-verify etcd-s3-timeout etcd-snapshot-compress etcd-snapshot-dir
etcd-snapshot-name etcd-snapshot-reconcile-interval etcd-snapshot-retention etcd-snapshot-schedule-cron
helm-job-image image-credential-provider-bin-dir image-credential-provider-config ingress-controller
kube-apiserver-arg kube-apiserver-extra-env kube-apiserver-extra-mount kube-apiserver-image
kube-cloud-controller-manager-arg kube-controller-manager-arg kube-controller-manager-extra-env
kube-controller-manager-extra-mount kube-controller-manager-image kube-proxy-arg kube-proxy-extra-env
kube-proxy-extra-mount kube-proxy-image kube-scheduler-arg kube-scheduler-extra-env kube-scheduler-extra-mount
kube-scheduler-image kubelet-arg kubelet-path lb-server-port log node-external-dns node-external-ip
node-internal-dns node-ip node-label node-name node-name-from-cloud-provider-metadata node-taint nonroot-devices
pause-image pod-security-admission-config-file private-registry profile protect-kernel-defaults resolv-conf
runtime-image secrets-encryption secrets-encryption-provider selinux server service-cidr service-node-port-range
servicelb-namespace snapshotter supervisor-metrics system-default-registry tls-san tls-san-security token
token-file v vmodule with-node-id write-kubeconfig write-kubeconfig-group write-kubeconfig-mode
""".split())
BOOL_FLAGS = frozenset({"cluster-reset", "debug", "enable-servicelb", "etcd-expose-metrics", "etcd-s3",
                        "disable-kube-proxy", "etcd-disable-snapshots", "protect-kernel-defaults", "selinux"})
# rke2 v1.33.5 pkg/cli/cmds/server.go flag defaults: cni canal, ingress-controller ingress-nginx
DEFAULTS = {"cni": ["canal"], "ingress-controller": ["ingress-nginx"]}


# rancher/rke2-charts values.yaml of the charts rke2 v1.33.5 ships (only the keys the double reads)
CHART_DEFAULTS = {
    # charts/rke2-canal/rke2-canal/v3.30.3-build2025090900/values.yaml
    "rke2-canal": {"flannel": {"iface": "", "regexIface": "", "args": [
        "--ip-masq", "--kube-subnet-mgr", "--iptables-forward-rules=false", "--ip-blackhole-route"]},
        "calico": {"ipAutoDetectionMethod": "first-found"}, "podCidr": None},
    # charts/rke2-flannel/rke2-flannel/v0.27.302/values.yaml
    "rke2-flannel": {"flannel": {"args": ["--ip-masq", "--kube-subnet-mgr"]}},
}
# flannel v0.27.3 main.go flannelFlags (bool flags take no value)
FLANNELD_FLAGS = frozenset("""
etcd-endpoints etcd-prefix etcd-keyfile etcd-certfile etcd-cafile etcd-username etcd-password iface iface-regex
iface-can-reach subnet-file public-ip public-ipv6 subnet-lease-renew-margin ip-masq kube-subnet-mgr kube-api-url
kube-annotation-prefix kubeconfig-file version healthz-ip healthz-port iptables-resync iptables-forward-rules
ip-blackhole-route net-config-path set-node-network-unavailable
""".split())
HELM_CONFIG = ("helm.cattle.io/v1", "HelmChartConfig")


class Fatal(Exception):
    pass


def _to_string(value):
    # wrangler pkg/data/convert ToString: booleans and numbers as Go prints them
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def config_args(text, warnings):
    """One config file's YAML as args (readConfigFile), unknown keys skipped with k3s's warning (FilterArgs)."""
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise Fatal("config file is not a YAML mapping")
    args = []
    for key, value in data.items():
        key = _to_string(key)
        if key not in SERVER_FLAGS:
            warnings.append(f"Unknown flag --{key} found in config.yaml, skipping")
            continue
        for item in value if isinstance(value, list) else [value]:
            args += [f"--{key}", _to_string(item)]
    return args


def parse_args(args):
    """--flag value / --flag=value / bool --flag into {flag: [values]} (later values append, as slices do)."""
    flags, i = {}, 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-"):
            raise Fatal(f"unexpected argument {arg}")
        name, eq, value = arg.lstrip("-").partition("=")
        if name not in SERVER_FLAGS:
            raise Fatal(f"flag provided but not defined: -{name}")
        if not eq:
            if name in BOOL_FLAGS and (i + 1 >= len(args) or args[i + 1] not in ("true", "false")):
                value = "true"
            else:
                i += 1
                value = args[i] if i < len(args) else ""
        flags.setdefault(name, []).append(value)
        i += 1
    return flags


def selected(flags, name, valid):
    """disableExceptSelected: the charts to disable for one selector flag."""
    values = [v for item in flags.get(name, DEFAULTS[name]) for v in item.split(",")]
    if name == "cni":  # validateCNI: multus only as the first of two values
        if len(values) == 1 and values[0] == "multus":
            raise Fatal("Failed to validate --cni flag: multus must be used alongside another primary cni selection")
        if len(values) == 2 and values[0] == "multus":
            values = values[1:]
        elif len(values) > 1:
            raise Fatal("Failed to validate --cni flag: may only provide multiple values if multus is the first value")
    disabled = {c for d in valid for c in (f"rke2-{d}", f"rke2-{d}-crd")}
    for value in values:
        if value == "none":
            continue
        if value not in valid:
            raise Fatal(f"Invalid value {value} for --{name} flag: must be one of {','.join(valid)}")
        disabled -= {f"rke2-{value}", f"rke2-{value}-crd"}
    return disabled


def effective(argv, config=None):
    """The server's effective flags: config file(s), then the command line; and the charts it disables."""
    warnings, args, config = [], [], config or CONFIG
    files = [config] if os.path.exists(config) else []
    files += sorted(glob.glob(config + ".d/*.yaml") + glob.glob(config + ".d/*.yml"))
    for path in files:
        with open(path, encoding="utf-8") as fh:
            args += config_args(fh.read(), warnings)
    flags = parse_args(args + list(argv))
    disable = {d for item in flags.get("disable", []) for d in item.split(",")}
    disable |= selected(flags, "cni", CNI_ITEMS) | selected(flags, "ingress-controller", INGRESS_ITEMS)
    if "multus" not in ",".join(flags.get("cni", [])):
        disable.add("rke2-multus")
    return {"flags": flags, "disable": sorted(disable), "warnings": warnings}


def manifest_objects(manifests):
    """Every object of the manifests directory, as the deploy controller reads it (shouldSkipFile, yamlToObjects)."""
    if not os.path.isdir(manifests):
        return []
    names = sorted(os.listdir(manifests))
    skips = {n[:-len(".skip")] for n in names if n.endswith(".skip")}
    objects = []
    for name in names:
        path = os.path.join(manifests, name)
        if name.startswith(".") or name in skips or not name.lower().endswith((".yaml", ".yml", ".json")) \
                or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as fh:
            try:
                docs = [d for d in yaml.safe_load_all(fh) if d is not None]
            except yaml.YAMLError as err:
                raise Fatal(f"failed to process {path}: {err}")
        for doc in docs:
            if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
                raise Fatal(f"failed to process {path}: Object 'Kind' is missing in {doc!r}")
            objects.append((path, doc))
    return objects


def helm_merge(base, override):
    """Helm's values coalescing: maps merge key by key, anything else (lists too) is replaced."""
    out = dict(base)
    for key, value in override.items():
        out[key] = helm_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def chart_values(chart, manifests):
    """The chart's values after the HelmChartConfig of the same name in kube-system (None: no config)."""
    values, source = CHART_DEFAULTS[chart], None
    for path, doc in manifest_objects(manifests):
        meta = doc.get("metadata") or {}
        if (doc["apiVersion"], doc["kind"]) != HELM_CONFIG or meta.get("name") != chart:
            continue
        if meta.get("namespace") != "kube-system":
            continue  # a HelmChartConfig applies to the HelmChart of its own namespace only
        content = (doc.get("spec") or {}).get("valuesContent", "")
        if not isinstance(content, str):
            raise Fatal(f"failed to process {path}: spec.valuesContent must be a string")
        try:
            override = yaml.safe_load(content) or {}
        except yaml.YAMLError as err:
            raise Fatal(f"helm-controller: {chart}: invalid valuesContent in {path}: {err}")
        if not isinstance(override, dict):
            raise Fatal(f"helm-controller: {chart}: valuesContent in {path} is not a YAML mapping")
        values, source = helm_merge(values, override), path
    return values, source


def flanneld_options(chart, values):
    """flanneld's --iface and --iface-regex lists (in order), from the chart's args and (canal) its env."""
    flannel = values.get("flannel") or {}
    opts = {"iface": [], "iface-regex": [], "kube-subnet-mgr": False}
    if chart == "rke2-canal":  # FLANNELD_IFACE / FLANNELD_IFACE_REGEX, set only when not empty
        opts["iface"] += [flannel["iface"]] if flannel.get("iface") else []
        opts["iface-regex"] += [flannel["regexIface"]] if flannel.get("regexIface") else []
    for arg in flannel.get("args") or []:
        name, eq, value = str(arg).lstrip("-").partition("=")
        if not str(arg).startswith("-") or name not in FLANNELD_FLAGS:
            raise Fatal(f"flanneld: flag provided but not defined: {arg}")
        if name in ("iface", "iface-regex"):
            opts[name].append(value)
        elif name == "kube-subnet-mgr":
            opts[name] = value in ("", "true", "1")
    return opts


def local_interfaces():
    """{name: [IPv4 addresses]} in kernel order, and the default route's interface (iproute2 on the node)."""
    import subprocess
    links = json.loads(subprocess.run(["ip", "-j", "addr"], check=True, capture_output=True, text=True).stdout)
    routes = json.loads(subprocess.run(["ip", "-j", "-4", "route", "show", "default"], check=True,
                                       capture_output=True, text=True).stdout)
    ifaces = {link["ifname"]: [a["local"] for a in link.get("addr_info", []) if a.get("family") == "inet"]
              for link in links}
    return ifaces, (routes[0]["dev"] if routes else None)


def flannel_interface(opts, ifaces, default_dev):
    """flannel main.go + pkg/ipmatch LookupExtIface: the interface flanneld uses (Fatal when none matches)."""
    import re
    if not opts["iface"] and not opts["iface-regex"]:
        return default_dev, "default route"
    for want in opts["iface"]:
        for name, addrs in ifaces.items():
            if want == name or want in addrs:
                return name, f"--iface={want}"
    for pattern in opts["iface-regex"]:
        regex = re.compile(pattern)  # Go RE2 and Python agree on the anchored alternations the role writes
        for name, addrs in ifaces.items():
            if any(regex.search(a) for a in addrs):
                return name, f"--iface-regex={pattern}"
        for name in ifaces:
            if regex.search(name):
                return name, f"--iface-regex={pattern}"
    raise Fatal("flanneld: Failed to find interface to use that matches the interfaces and/or regexes provided "
                f"(--iface {opts['iface']}, --iface-regex {opts['iface-regex']}; interfaces {sorted(ifaces)})")


# projectcalico/calico v3.30.3 node/pkg/lifecycle/startup/autodetection/autodetection_linux.go
CALICO_DEFAULT_EXCLUDES = [
    "^docker.*", "^cbr.*", "^dummy.*", "^podman.*", "^virbr.*", "^lxcbr.*", "^veth.*", "^lo", "^br-.*", "^cali.*",
    "^tunl.*", "^flannel.*", "^kube-ipvs.*", "^cni.*", r"^vxlan\.calico.*", r"^vxlan-v6\.calico.*",
    r"^wireguard\.cali.*", r"^wg-v6\.cali.*", "^nodelocaldns.*"]


def _global_unicast(addr):
    """Go net.IP.IsGlobalUnicast: not loopback, link-local, multicast, unspecified or the limited broadcast."""
    import ipaddress
    ip = ipaddress.ip_address(addr)
    return not (ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified
                or addr == "255.255.255.255")


def calico_interfaces(ifaces, incl=(), excl=()):
    """calico v3.30.3 autodetection/interfaces.go GetInterfaces: the include and the exclude regexes each joined
    into one "(a)|(b)" regexp, MatchString on the name (unanchored), interfaces in REVERSE kernel order (Go
    net.Interfaces lists them by index, as `ip -j addr` does)."""
    import re
    inc = re.compile("(" + ")|(".join(incl) + ")") if incl else None
    exc = re.compile("(" + ")|(".join(excl) + ")") if excl else None
    return [(name, addrs) for name, addrs in reversed(list(ifaces.items()))
            if (inc is None or inc.search(name)) and not (exc is not None and exc.search(name))]


def calico_filtered(ifaces, incl=(), excl=(), cidrs=()):
    """autodetection/filtered.go FilteredEnumeration: the first IsGlobalUnicast address inside one of cidrs (any
    when none) on the first interface GetInterfaces keeps."""
    import ipaddress
    for name, addrs in calico_interfaces(ifaces, incl, excl):
        for addr in addrs:
            if _global_unicast(addr) and (not cidrs or any(ipaddress.ip_address(addr) in c for c in cidrs)):
                return name, addr
    return None


def _split_list(text):
    import re
    return re.split(r"\s*,\s*", text)  # autodetection_methods.go: regexp `\s*,\s*`.Split


def _ip_in_ifaces(ip, ifaces):
    return next(((name, ip) for name, addrs in calico_interfaces(ifaces) if ip in addrs), None)


def calico_address(method, ifaces, internal_ip, reach):
    """calico v3.30.3 autodetection/autodetection_methods.go AutoDetectCIDR for IPv4: (interface, address), or
    None when nothing is detected (startup.go configureIPsAndSubnets then exits: "Failed to autodetect an IPv4
    address"). internal_ip is the Node's InternalIP (kubelet: --node-ip); reach(dest) the source address the
    kernel picks towards dest (reachaddr.go ReachDestination: a UDP dial's LocalAddr)."""
    import ipaddress
    if method in ("", "first-found"):
        return calico_filtered(ifaces, excl=CALICO_DEFAULT_EXCLUDES)
    if method.startswith("interface="):
        return calico_filtered(ifaces, incl=_split_list(method[len("interface="):]))
    if method.startswith("cidr="):
        try:
            cidrs = [ipaddress.ip_network(c, strict=False) for c in _split_list(method[len("cidr="):])]
        except ValueError:
            return None  # "Invalid CIDR %q for IP autodetection method"
        return calico_filtered(ifaces, cidrs=cidrs)
    if method.startswith("can-reach="):
        source = reach(method[len("can-reach="):])
        return _ip_in_ifaces(source, ifaces) if source else None
    if method.startswith("skip-interface="):
        return calico_filtered(ifaces, excl=CALICO_DEFAULT_EXCLUDES + _split_list(method[len("skip-interface="):]))
    if method.startswith("kubernetes-internal-ip"):
        # GetLocalCIDR: the interface address equal to the InternalIP; none -> the bare IP fails ParseCIDR -> nil
        return _ip_in_ifaces(internal_ip, ifaces) if internal_ip else None
    raise Fatal(f"calico-node: Invalid IP autodetection method: {method}")  # utils.Terminate()


def local_reach(dest):
    """The source address towards dest, as the kernel picks it for a UDP socket (iproute2: `ip route get`)."""
    import subprocess
    out = subprocess.run(["ip", "-j", "-4", "route", "get", dest], capture_output=True, text=True)
    routes = json.loads(out.stdout or "[]") if out.returncode == 0 else []
    return routes[0].get("prefsrc") if routes else None


def check_calico(eff, chart, merged, ifaces, reach=local_reach, cluster_flags=None):
    """Canal's calico-node must autodetect node-ip (the ZeroTier address) as its IPv4 address.

    rke2-charts charts/rke2-canal/rke2-canal/v3.30.3-build2025090900/templates/daemonset.yaml: calico-node gets
    IP_AUTODETECTION_METHOD = calico.ipAutoDetectionMethod when global.clusterCIDRv4 or podCidr is set, else
    IP=none (no address). rke2 v1.33.5 pkg/bootstrap/bootstrap.go setChartValues sets global.clusterCIDRv4 to the
    IPv4 cluster-cidr (default 10.42.0.0/16). Calico only autodetects while its Node has no address yet
    (startup.go configureIPsAndSubnets, IP unset); the double evaluates the method on every start."""
    if chart != "rke2-canal":
        return None
    cluster_flags = eff["flags"] if cluster_flags is None else cluster_flags
    cluster_v4 = [c for item in cluster_flags.get("cluster-cidr", ["10.42.0.0/16"]) for c in item.split(",")
                  if ":" not in c]
    if not (cluster_v4 or merged.get("podCidr")):
        return None
    method = str((merged.get("calico") or {}).get("ipAutoDetectionMethod", ""))
    node_ip = (eff["flags"].get("node-ip") or [""])[-1]
    found = calico_address(method, ifaces, node_ip, reach)
    if found is None or found[1] != node_ip:
        raise Fatal(f"calico-node ({chart}): IP_AUTODETECTION_METHOD={method} detects "
                    f"{found[1] + ' on ' + found[0] if found else 'no IPv4 address'}, not node-ip {node_ip}")
    return {"method": method, "interface": found[0], "address": found[1]}


def check_flannel(eff, interfaces=local_interfaces, reach=local_reach, cluster=None):
    """The flannel-based CNI's interface must be the ZeroTier one, the interface holding --node-ip, and canal's
    calico-node must detect node-ip. A server reads its own --cni and manifests; an agent (cluster given) what the
    servers deployed: the chart's DaemonSet reaches every node of the cluster, agents included."""
    if cluster is None:
        values = [v for item in eff["flags"].get("cni", DEFAULTS["cni"]) for v in item.split(",")]
        chart = "rke2-" + values[-1]
        if chart not in CHART_DEFAULTS:
            return None
        merged, source = chart_values(chart, os.path.join(DATA_DIR, "server", "manifests"))
        cluster_flags = eff["flags"]
    else:
        record = cluster.get("flannel")
        if not record:
            return None  # calico, cilium or none: they choose their interface themselves
        chart, merged, source, cluster_flags = record["chart"], record["values"], record["helmchartconfig"], \
            cluster["flags"]
    opts = flanneld_options(chart, merged)
    if not opts["kube-subnet-mgr"]:
        raise Fatal(f"flanneld ({chart}): no --kube-subnet-mgr in flannel.args, so it reads its network from etcd at "
                    "http://127.0.0.1:4001,http://127.0.0.1:2379, which this node does not serve")
    ifaces, default_dev = interfaces()
    chosen, why = flannel_interface(opts, ifaces, default_dev)
    node_ip = (eff["flags"].get("node-ip") or [""])[-1]
    zerotier = [name for name, addrs in ifaces.items() if node_ip in addrs]
    if chosen not in zerotier:
        raise Fatal(f"flanneld ({chart}) would carry pod traffic over {chosen} ({why}), not over {zerotier or '?'}, "
                    f"the interface of node-ip {node_ip}")
    return {"chart": chart, "interface": chosen, "selected_by": why, "helmchartconfig": source,
            "args": merged["flannel"].get("args"), "values": merged,
            "calico": check_calico(eff, chart, merged, ifaces, reach, cluster_flags)}


def read_cluster(path=None):
    """What an agent runs comes from the servers (the charts' DaemonSets through the apiserver); the double's stand-in
    is a server's EFFECTIVE record, which the lab copies to CLUSTER on the agent."""
    path = path or CLUSTER
    if not os.path.exists(path):
        raise Fatal(f"rke2 agent double: no cluster record at {path} (copy a server's {EFFECTIVE} there): "
                    "without it the double cannot tell which CNI values this agent would run")
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def check_cni(command, eff, interfaces=local_interfaces, reach=local_reach, cluster_path=None):
    """Servers and agents alike: the CNI's HelmChartConfig is cluster-wide, every node's flannel reads it."""
    if command == "server":
        return check_flannel(eff, interfaces, reach)
    return check_flannel(eff, interfaces, reach, cluster=read_cluster(cluster_path))


def log(line):
    with open(LOG, "a", encoding="utf-8") as fh:
        fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {line}\n")


def cluster_reset(flags):
    db = os.path.join(DATA_DIR, "server", "db")
    reset_flag = os.path.join(db, "reset-flag")
    restore = (flags.get("cluster-reset-restore-path") or [""])[-1]
    if flags.get("server", [""])[-1]:
        raise Fatal("cannot perform cluster-reset while server URL is set - remove server from configuration before resetting")
    if not restore and os.path.exists(reset_flag):
        raise Fatal("Managed etcd cluster membership was previously reset, please remove the cluster-reset flag and start "
                    f"rke2 normally. If you need to perform another cluster reset, you must first manually delete the file at {reset_flag}")
    if restore:
        if not os.path.exists(restore):
            raise Fatal(f"etcd: snapshot path does not exist: {restore}")
        if os.path.isdir(restore):
            raise Fatal(f"etcd: snapshot path must be a file, not a directory: {restore}")
    etcd = os.path.join(db, "etcd")
    if os.path.isdir(etcd):
        os.rename(etcd, f"{etcd}-old-{int(time.time())}")
    os.makedirs(os.path.join(etcd, "member", "wal"), mode=0o700)
    with open(os.path.join(etcd, "member", "restored-from"), "w", encoding="utf-8") as fh:
        fh.write(restore)
    open(reset_flag, "w").close()
    log(f"cluster-reset restore-path={restore or '-'}")
    print("Managed etcd cluster membership has been reset, restart without --cluster-reset flag now.")


def start(eff):
    db = os.path.join(DATA_DIR, "server", "db")
    reset_flag = os.path.join(db, "reset-flag")
    had_flag = os.path.exists(reset_flag)
    if had_flag:
        os.remove(reset_flag)
    os.makedirs(os.path.join(db, "etcd", "member", "wal"), mode=0o700, exist_ok=True)
    log(f"start reset-flag-cleared={'yes' if had_flag else 'no'}")
    os.makedirs(os.path.dirname(EFFECTIVE), exist_ok=True)
    with open(EFFECTIVE, "w", encoding="utf-8") as fh:
        json.dump(eff, fh, indent=1, sort_keys=True)
    write_kube_files((eff["flags"].get("node-ip") or [""])[-1])


def snapshot_save(argv):
    name = argv[argv.index("--name") + 1] if "--name" in argv else "on-demand"
    snapdir = os.path.join(DATA_DIR, "server", "db", "snapshots")
    os.makedirs(snapdir, mode=0o700, exist_ok=True)
    path = os.path.join(snapdir, f"{name}-{socket.gethostname()}-{int(time.time())}")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("etcd snapshot double\n")
    print(f"Snapshot {os.path.basename(path)} saved.")


def write_kube_files(node_ip):
    here = "/usr/local/share/rke2-double"
    os.makedirs(os.path.join(DATA_DIR, "bin"), exist_ok=True)
    shutil.copy(os.path.join(here, "kubectl"), os.path.join(DATA_DIR, "bin", "kubectl"))
    os.chmod(os.path.join(DATA_DIR, "bin", "kubectl"), 0o755)
    shutil.copy(os.path.join(here, "rke2.yaml"), "/etc/rancher/rke2/rke2.yaml")
    os.chmod("/etc/rancher/rke2/rke2.yaml", 0o600)


def main(argv):
    if argv[:1] == ["--version"]:
        # rancher/rke2 pkg/cli/cmds/root.go VersionPrinter: "rke2 version <Version> (<GitCommit>)", "go version ..."
        print(f"rke2 version {VERSION} (test double)\ngo version go1.24")
        return 0
    if argv[:2] == ["etcd-snapshot", "save"]:
        snapshot_save(argv)
        return 0
    if argv[:1] not in (["server"], ["agent"]):
        print(f"rke2 double: unsupported command {argv}", file=sys.stderr)
        return 1
    try:
        eff = effective(argv[1:])
        for warning in eff["warnings"]:
            print(f'level=warning msg="{warning}"', file=sys.stderr)
        flags = eff["flags"]
        if flags.get("cluster-reset-restore-path") and flags.get("cluster-reset", ["false"])[-1] != "true":
            raise Fatal("invalid flag use; --cluster-reset required with --cluster-reset-restore-path")
        if flags.get("cluster-reset", ["false"])[-1] == "true":
            cluster_reset(flags)
            return 0
    except Fatal as err:
        print(f'level=fatal msg="{err}"', file=sys.stderr)
        return 1
    try:
        eff["flannel"] = check_cni(argv[0], eff)
    except Fatal as err:
        print(f'level=fatal msg="{err}"', file=sys.stderr)
        return 1
    start(eff)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
