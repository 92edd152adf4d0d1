"""rke2_cni as RKE2 v1.33.5+rke2r1 reads it, in the preflight rules and in the role.

Upstream (rancher/rke2 tag v1.33.5+rke2r1): pkg/cli/types.go CNIItems = calico, canal, cilium, flannel;
pkg/cli/cmds/server.go CNIFlag is a StringSliceFlag and validateCNI / disableExceptSelected split each value on
commas and take one value, or two with "multus" first; "none" disables every CNI chart."""
import json
import os
import re
import sys

import jsonschema
import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
if os.path.join(ROOT, "collections") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "collections"))

from ansible_collections.daskmetal.platform.plugins.module_utils import validation  # noqa: E402
from tests.doubles import rke2_cli  # noqa: E402
HOSTS = ["server-1"]


def problems(cni, explicit=True):
    ctx = validation.Context(
        groups={"all": HOSTS, "rke2_servers": HOSTS},
        values={"server-1": {"rke2_cni": cni}},
        explicit={"server-1": {"rke2_cni"} if explicit else set()},
        specs={"rke2": validation.load_spec(os.path.join(ROOT, "roles", "rke2"))},
        roles=["rke2"], hosts={"rke2": HOSTS})
    return [p for p in validation.check(ctx) if p["variable"].startswith("rke2_cni")]


ACCEPTED = ["canal", "flannel", "calico", "cilium", "none", ["canal"], ["multus", "canal"], ["multus", "flannel"],
            "multus,canal", ["multus", "none"]]
REFUSED = ["weave", ["canal", "multus"], ["multus"], "multus", ["multus", "canal", "flannel"], ["canal", "flannel"],
           ["multus", "weave"], 3]


@pytest.mark.parametrize("cni", ACCEPTED, ids=str)
def test_preflight_accepts_what_rke2_accepts(cni):
    assert problems(cni) == []


@pytest.mark.parametrize("cni", REFUSED, ids=str)
def test_preflight_refuses_what_rke2_refuses(cni):
    found = problems(cni)
    assert len(found) == 1 and found[0]["variable"] == "rke2_cni", found


@pytest.mark.parametrize("cni", ACCEPTED + REFUSED[:-1], ids=str)
def test_the_rule_agrees_with_the_rke2_double(cni):
    """The double applies validateCNI / disableExceptSelected to the config.yaml the role writes (`cni: <value>`)."""
    flags = rke2_cli.parse_args(rke2_cli.config_args(yaml.safe_dump({"cni": cni}), []))
    try:
        rke2_cli.selected(flags, "cni", rke2_cli.CNI_ITEMS)
        double_ok = True
    except rke2_cli.Fatal:
        double_ok = False
    assert (problems(cni) == []) == double_ok


# ------------------------------------------------------------------ what the role writes, handed to the rke2 double
# The role's templates rendered for the example inventory (tests/kubernetes_layer/render.yml, as test_render.py does),
# then read the way RKE2 reads them: the rke2 double's deploy-controller / helm-controller / flanneld rules
# (tests/doubles/rke2_cli.py, sources in its docstring) pick the interface flannel would use on each node.
from tests.kubernetes_layer.test_render import (  # noqa: E402
    HELMCHARTCONFIG_SCHEMA, SERVERS, AGENTS, load, render)

OTHER = "ztother0001"   # one agent's ZeroTier interface has another name (another devicemap, another OS)


@pytest.fixture(scope="module")
def flannel_render(tmp_path_factory):
    return render(tmp_path_factory.mktemp("flannel"), {"rke2_cni": ["multus", "flannel"],
                                                        "render_zerotier_interfaces": {AGENTS[1]: OTHER}})


@pytest.fixture(scope="module")
def multus_canal_render(tmp_path_factory):
    return render(tmp_path_factory.mktemp("multus_canal"), {"rke2_cni": ["multus", "canal"]})


def node_view(out, host, zt_name):
    """What the double sees on `host`: its config.yaml flags and a node with a public eth0 as default route."""
    zt_ip = load(out, host, "derived.json")["zerotier_ip"]
    ifaces = {"lo": ["127.0.0.1"], "eth0": ["203.0.113.7"], zt_name: [zt_ip]}
    return zt_ip, (lambda: (ifaces, "eth0"))


def double_check(tmp_path, monkeypatch, manifest_text, cni, node_ip, interfaces):
    data = tmp_path / "rke2"
    (data / "server" / "manifests").mkdir(parents=True, exist_ok=True)
    if manifest_text is not None:
        (data / "server" / "manifests" / "cni-config.yaml").write_text(manifest_text)
    monkeypatch.setattr(rke2_cli, "DATA_DIR", str(data))
    eff = {"flags": {"cni": cni, "node-ip": [node_ip]}}
    return rke2_cli.check_flannel(eff, interfaces=interfaces)


def test_multus_flannel_writes_the_rke2_flannel_config_with_the_chart_args(flannel_render):
    texts = {h: (flannel_render / h / "rke2-flannel-config.yaml").read_text() for h in SERVERS}
    assert len(set(texts.values())) == 1, "every server writes the same cluster-wide object"
    for host in SERVERS:
        assert load(flannel_render, host, "derived.json")["flannel_chart"] == "rke2-flannel"
        assert load(flannel_render, host, "config.yaml")["cni"] == ["multus", "flannel"]
        doc = load(flannel_render, host, "rke2-flannel-config.yaml")
        jsonschema.validate(doc, HELMCHARTCONFIG_SCHEMA)
        assert doc["metadata"] == {"name": "rke2-flannel", "namespace": "kube-system"}
        # the chart's default args first (Helm replaces lists), then the interface of every node
        assert yaml.safe_load(doc["spec"]["valuesContent"]) == {"flannel": {"args": [
            *rke2_cli.CHART_DEFAULTS["rke2-flannel"]["flannel"]["args"],
            "--iface-regex=^(?:ztabcdef12|ztother0001)$"]}}


@pytest.mark.parametrize("host", [AGENTS[0], AGENTS[1], SERVERS[2]])
def test_flannel_uses_each_nodes_zerotier_interface(flannel_render, tmp_path, monkeypatch, host):
    zt_name = OTHER if host == AGENTS[1] else "ztabcdef12"
    node_ip, interfaces = node_view(flannel_render, host, zt_name)
    seen = double_check(tmp_path, monkeypatch, (flannel_render / SERVERS[0] / "rke2-flannel-config.yaml").read_text(),
                        ["multus,flannel"], node_ip, interfaces)
    assert (seen["chart"], seen["interface"]) == ("rke2-flannel", zt_name), seen


def test_multus_canal_writes_the_canal_config(multus_canal_render, tmp_path, monkeypatch):
    for host in SERVERS:
        assert load(multus_canal_render, host, "derived.json")["flannel_chart"] == "rke2-canal"
        doc = load(multus_canal_render, host, "rke2-canal-config.yaml")
        jsonschema.validate(doc, HELMCHARTCONFIG_SCHEMA)
        assert yaml.safe_load(doc["spec"]["valuesContent"]) == {
            "flannel": {"iface": "", "regexIface": "^(?:ztabcdef12)$"},
            "calico": {"ipAutoDetectionMethod": "kubernetes-internal-ip"}}
    node_ip, interfaces = node_view(multus_canal_render, AGENTS[0], "ztabcdef12")
    seen = double_check(tmp_path, monkeypatch, (multus_canal_render / SERVERS[0] / "rke2-canal-config.yaml").read_text(),
                        ["multus", "canal"], node_ip, interfaces)
    assert (seen["chart"], seen["interface"]) == ("rke2-canal", "ztabcdef12"), seen


# ------------------------------------------------------------------ the double refuses what would misroute pod traffic
ZT = ({"lo": ["127.0.0.1"], "eth0": ["203.0.113.7"], "zt0": ["10.147.17.21"]}, "eth0")


def hcc(name, values, namespace="kube-system"):
    return yaml.safe_dump({"apiVersion": "helm.cattle.io/v1", "kind": "HelmChartConfig",
                           "metadata": {"name": name, "namespace": namespace},
                           "spec": {"valuesContent": values if isinstance(values, str) else yaml.safe_dump(values)}})


@pytest.mark.parametrize("manifest, message", [
    (None, "over eth0 (default route)"),
    (hcc("rke2-canal", {"flannel": {"iface": "zt0"}}, namespace="default"), "over eth0 (default route)"),
    (hcc("rke2-canal", {"flannel": {"iface": "zt9"}}), "Failed to find interface"),
    (hcc("rke2-canal", {"flannel": {"regexIface": "^eth"}}), "over eth0 (--iface-regex=^eth)"),
    (hcc("rke2-flannel", {"flannel": {"args": ["--iface=zt0"]}}), "no --kube-subnet-mgr"),
    (hcc("rke2-flannel", {"flannel": {"args": ["--ip-masq", "--kube-subnet-mgr", "--interface=zt0"]}}),
     "flag provided but not defined: --interface=zt0"),
    (hcc("rke2-canal", "flannel: [iface: zt0"), "invalid valuesContent"),
])
def test_the_double_refuses_a_config_that_misses_the_zerotier_interface(tmp_path, monkeypatch, manifest, message):
    chart = "flannel" if manifest and "rke2-flannel" in manifest else "canal"
    with pytest.raises(rke2_cli.Fatal, match=re.escape(message)):
        double_check(tmp_path, monkeypatch, manifest, [chart], "10.147.17.21", lambda: ZT)


def test_the_double_takes_a_config_naming_the_zerotier_interface(tmp_path, monkeypatch):
    seen = double_check(tmp_path, monkeypatch, hcc("rke2-canal", {"flannel": {"iface": "zt0"}}), ["canal"],
                        "10.147.17.21", lambda: ZT)
    assert seen["interface"] == "zt0" and seen["selected_by"] == "--iface=zt0"
    # calico and cilium choose their own interface: nothing to check
    assert double_check(tmp_path, monkeypatch, None, ["calico"], "10.147.17.21", lambda: ZT) is None


# ------------------------------------------------------------------ canal's calico-node picks node-ip
# A bare-metal server: public eno1 (default route), the cluster's ZeroTier interface holding node-ip, and another
# ZeroTier network joined later (higher index). calico v3.30.3 first-found walks the interfaces in reverse index order
# (autodetection/interfaces.go GetInterfaces), so the chart default would take the other network's address.
MULTI_NIC = ({"lo": ["127.0.0.1"], "eno1": ["203.0.113.7"], "ztabcdef12": ["10.147.17.21"],
              "ztother0001": ["10.200.0.5"]}, "eno1")
# the same with the public NIC created last (a VLAN or bond set up after zerotier-one started)
PUBLIC_LAST = ({"lo": ["127.0.0.1"], "ztabcdef12": ["10.147.17.21"], "eno1.4000": ["198.51.100.9"]}, "eno1.4000")


def _canal_values(render_dir):
    return yaml.safe_load(load(render_dir, SERVERS[0], "rke2-canal-config.yaml")["spec"]["valuesContent"])


@pytest.mark.parametrize("node", [MULTI_NIC, PUBLIC_LAST], ids=["other-zerotier-network", "public-nic-last"])
def test_canal_calico_detects_node_ip_with_the_roles_values(multus_canal_render, tmp_path, monkeypatch, node):
    seen = double_check(tmp_path, monkeypatch, hcc("rke2-canal", _canal_values(multus_canal_render)),
                        ["multus", "canal"], "10.147.17.21", lambda: node)
    assert seen["calico"] == {"method": "kubernetes-internal-ip", "interface": "ztabcdef12",
                              "address": "10.147.17.21"}, seen


@pytest.mark.parametrize("node, picked", [(MULTI_NIC, "10.200.0.5 on ztother0001"),
                                          (PUBLIC_LAST, "198.51.100.9 on eno1.4000")],
                         ids=["other-zerotier-network", "public-nic-last"])
def test_the_double_refuses_canal_with_calicos_default_autodetection(multus_canal_render, tmp_path, monkeypatch,
                                                                      node, picked):
    values = _canal_values(multus_canal_render)
    values.pop("calico")   # the chart default first-found
    with pytest.raises(rke2_cli.Fatal, match=re.escape(
            f"IP_AUTODETECTION_METHOD=first-found detects {picked}, not node-ip 10.147.17.21")):
        double_check(tmp_path, monkeypatch, hcc("rke2-canal", values), ["canal"], "10.147.17.21", lambda: node)


IFACES = MULTI_NIC[0]


@pytest.mark.parametrize("method, expected", [
    ("", ("ztother0001", "10.200.0.5")),                       # empty = first-found
    ("first-found", ("ztother0001", "10.200.0.5")),
    ("interface=^(?:ztabcdef12)$", ("ztabcdef12", "10.147.17.21")),
    ("interface=eno9 , ^zta", ("ztabcdef12", "10.147.17.21")),  # a list split on `\s*,\s*`, unanchored match
    ("interface=zt", ("ztother0001", "10.200.0.5")),           # unanchored: both zt*, the later one first
    ("interface=^nothing$", None),
    ("skip-interface=ztother.*", ("ztabcdef12", "10.147.17.21")),
    ("cidr=10.147.17.0/24", ("ztabcdef12", "10.147.17.21")),
    ("cidr=192.0.2.0/24,10.147.17.0/24", ("ztabcdef12", "10.147.17.21")),
    ("cidr=10.147.17.0/33", None),                             # "Invalid CIDR" -> nothing detected
    ("can-reach=10.147.17.1", ("ztabcdef12", "10.147.17.21")),
    ("kubernetes-internal-ip", ("ztabcdef12", "10.147.17.21")),
])
def test_calico_autodetection_methods(method, expected):
    """calico v3.30.3 node/pkg/lifecycle/startup/autodetection: autodetection_methods.go AutoDetectCIDR."""
    reach = {"10.147.17.1": "10.147.17.21"}.get
    assert rke2_cli.calico_address(method, IFACES, "10.147.17.21", reach) == expected


def test_calico_internal_ip_without_a_local_interface_and_an_invalid_method():
    assert rke2_cli.calico_address("kubernetes-internal-ip", IFACES, "10.9.9.9", lambda d: None) is None
    with pytest.raises(rke2_cli.Fatal, match="Invalid IP autodetection method: interfaces=zt0"):
        rke2_cli.calico_address("interfaces=zt0", IFACES, "10.147.17.21", lambda d: None)


def test_calico_is_not_checked_without_an_ipv4_cluster_cidr(tmp_path, monkeypatch):
    """rke2-canal daemonset.yaml: no global.clusterCIDRv4 and no podCidr -> IP=none, calico detects nothing."""
    data = tmp_path / "rke2"
    (data / "server" / "manifests").mkdir(parents=True)
    (data / "server" / "manifests" / "canal.yaml").write_text(hcc("rke2-canal", {"flannel": {"iface": "zt0"}}))
    monkeypatch.setattr(rke2_cli, "DATA_DIR", str(data))
    eff = {"flags": {"cni": ["canal"], "node-ip": ["10.147.17.21"], "cluster-cidr": ["fd00:42::/56"]}}
    assert rke2_cli.check_flannel(eff, interfaces=lambda: ZT)["calico"] is None


# ------------------------------------------------------------------ agents run the servers' CNI values too
def _cluster_record(tmp_path, monkeypatch, manifest_text, cni):
    """A server's EFFECTIVE record (what the agent double reads as the cluster's deployed CNI)."""
    eff = {"flags": {"cni": cni, "node-ip": ["10.147.17.11"]}}
    data = tmp_path / "server-data"
    (data / "server" / "manifests").mkdir(parents=True)
    (data / "server" / "manifests" / "cni-config.yaml").write_text(manifest_text)
    monkeypatch.setattr(rke2_cli, "DATA_DIR", str(data))
    server_ifaces = {"lo": ["127.0.0.1"], "eth0": ["203.0.113.1"], "ztabcdef12": ["10.147.17.11"]}
    eff["flannel"] = rke2_cli.check_cni("server", eff, interfaces=lambda: (server_ifaces, "eth0"))
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps(eff))
    return path


@pytest.mark.parametrize("zt_name, node_ip, message", [
    # the agent's ZeroTier interface has a name the servers' regex does not list: flannel takes nothing
    ("ztagent0009", "10.147.17.31", "Failed to find interface"),
    # the regex matches, but the agent's node-ip sits elsewhere (rke2_node_ip not the ZeroTier address)
    ("ztabcdef12", "203.0.113.31", "not over ['eth0'], the interface of node-ip 203.0.113.31"),
])
def test_an_agent_is_refused_when_the_clusters_values_miss_its_interface(
        multus_canal_render, tmp_path, monkeypatch, zt_name, node_ip, message):
    cluster = _cluster_record(tmp_path, monkeypatch, hcc("rke2-canal", _canal_values(multus_canal_render)),
                              ["multus", "canal"])
    agent = ({"lo": ["127.0.0.1"], "eth0": ["203.0.113.31"], zt_name: ["10.147.17.31"]}, "eth0")
    eff = {"flags": {"node-ip": [node_ip], "server": ["https://10.147.17.11:9345"]}}
    with pytest.raises(rke2_cli.Fatal, match=re.escape(message)):
        rke2_cli.check_cni("agent", eff, interfaces=lambda: agent, cluster_path=str(cluster))


def test_an_agent_takes_the_clusters_values_naming_its_interface(flannel_render, tmp_path, monkeypatch):
    cluster = _cluster_record(tmp_path, monkeypatch,
                              (flannel_render / SERVERS[0] / "rke2-flannel-config.yaml").read_text(),
                              ["multus", "flannel"])
    node_ip, interfaces = node_view(flannel_render, AGENTS[1], OTHER)
    seen = rke2_cli.check_cni("agent", {"flags": {"node-ip": [node_ip]}}, interfaces=interfaces,
                              cluster_path=str(cluster))
    assert (seen["chart"], seen["interface"]) == ("rke2-flannel", OTHER), seen
    with pytest.raises(rke2_cli.Fatal, match="no cluster record at"):
        rke2_cli.check_cni("agent", {"flags": {"node-ip": [node_ip]}}, interfaces=interfaces,
                           cluster_path=str(tmp_path / "missing.json"))


# ------------------------------------------------------------------ config.yml itself, run by ansible-playbook
# The role's task file (roles/rke2/tasks/config.yml: which HelmChartConfig a server writes for which rke2_cni) on
# the controller, one inventory host per case with the role's directories under tmp (extra vars outrank role vars),
# then config.yaml and the manifests handed to the rke2 double as a server start would read them.
CONFIG_CASES = {"canal-string": "canal", "multus-canal": ["multus", "canal"], "multus-flannel": ["multus", "flannel"],
                "multus-canal-string": "multus,canal", "calico": "calico"}


@pytest.fixture(scope="module")
def config_run(tmp_path_factory):
    import subprocess
    root = tmp_path_factory.mktemp("config_yml")
    (root / "templates").symlink_to(os.path.join(ROOT, "roles", "rke2", "templates"))  # the play's template path
    role = os.path.join(ROOT, "roles", "rke2")
    (root / "flow.yml").write_text(yaml.safe_dump([{
        "name": "config.yml of the rke2 role", "hosts": "rke2_servers", "gather_facts": False,
        "vars_files": [os.path.join(role, "defaults", "main.yml"), os.path.join(role, "vars", "main.yml")],
        "tasks": [{"ansible.builtin.include_tasks": os.path.join(role, "tasks", "config.yml")}],
        "handlers": [{"name": "Restart rke2", "ansible.builtin.debug": {"msg": "restart"}}]}]))
    hosts = {name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "cni_case": cni}
             for name, cni in CONFIG_CASES.items()}
    (root / "inventory.yml").write_text(yaml.safe_dump({"all": {"children": {"rke2_servers": {"hosts": hosts}}}}))
    # extra vars, templated per host: they outrank the role's defaults and vars, which the play loads as vars_files
    common = {"rke2_cni": "{{ cni_case }}",
              "__rke2_config_dir": f"{root}/{{{{ inventory_hostname }}}}/etc",
              "__rke2_manifests_dir": f"{root}/{{{{ inventory_hostname }}}}/data/server/manifests",
              "zerotier_ip": "10.147.17.21", "zerotier_interface": "ztabcdef12",
              "vault_rke2_token": "config-flow-token-0123456789",
              "daskmetal_plan_derived": {"network": {"cidr": "10.147.17.0/24"},
                                         "kubernetes": {"cluster_cidr": "10.42.0.0/16",
                                                        "service_cidr": "10.43.0.0/16"}}}
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default", ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                           str(root / "inventory.yml"), str(root / "flow.yml"), "-e", json.dumps(common)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return root


@pytest.mark.parametrize("case, chart", [("canal-string", "rke2-canal"), ("multus-canal", "rke2-canal"),
                                         ("multus-flannel", "rke2-flannel"), ("multus-canal-string", "rke2-canal"),
                                         ("calico", None)])
def test_config_yml_writes_what_the_double_starts_with(config_run, monkeypatch, case, chart):
    node = config_run / case
    monkeypatch.setattr(rke2_cli, "DATA_DIR", str(node / "data"))
    eff = rke2_cli.effective([], config=str(node / "etc" / "config.yaml"))
    seen = rke2_cli.check_cni("server", eff, interfaces=lambda: MULTI_NIC)
    assert (seen or {}).get("chart") == chart, seen
    manifests = sorted(os.listdir(node / "data" / "server" / "manifests"))
    assert manifests == ([f"{chart}-config.yaml"] if chart else []), manifests
    if chart:
        assert seen["interface"] == "ztabcdef12" and seen["helmchartconfig"].endswith(f"/{chart}-config.yaml")
    if chart == "rke2-canal":
        assert seen["calico"]["address"] == "10.147.17.21"


# ------------------------------------------------------------------ the role's own check: agents need an interface too
# roles/rke2/tasks/validate.yml through ansible-playbook (include_role tasks_from, so role defaults keep their low
# precedence): one server with the zerotier role's facts, one agent whose facts vary.
def _validate(tmp_path, agent_vars, cni="canal"):
    import subprocess
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                         "children": {
                             "zerotier_nodes": {"children": {"rke2_cluster": {}}},
                             "rke2_cluster": {"children": {"rke2_servers": {}, "rke2_agents": {}}},
                             "rke2_servers": {"hosts": {"s1": {"zerotier_ip": "10.147.17.11",
                                                               "zerotier_interface": "ztabcdef12"}}},
                             "rke2_agents": {"hosts": {"a1": {"zerotier_ip": "10.147.17.31", **agent_vars}}}}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "flow.yml").write_text(yaml.safe_dump([{
        "name": "validate.yml of the rke2 role", "hosts": "rke2_cluster", "gather_facts": False,
        "tasks": [{"ansible.builtin.include_role": {"name": os.path.join(ROOT, "roles", "rke2"),
                                                    "tasks_from": "validate"}}]}]))
    extra = {"rke2_cni": cni, "vault_rke2_token": "validate-flow-token-0123456789",
             "daskmetal_plan_derived": {"network": {"cidr": "10.147.17.0/24"},
                                        "kubernetes": {"cluster_cidr": "10.42.0.0/16", "service_cidr": "10.43.0.0/16"}}}
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default", ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                           str(tmp_path / "inventory.yml"), str(tmp_path / "flow.yml"), "-e", json.dumps(extra)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_validate_refuses_an_agent_whose_zerotier_interface_is_unknown(tmp_path):
    proc = _validate(tmp_path, {})
    assert proc.returncode != 0
    # the server would write the cluster-wide HelmChartConfig without the agent's interface
    assert re.search(r'fatal: \[s1\].*rke2-canal: no ZeroTier interface name for a1', proc.stdout), proc.stdout[-3000:]
    # and the agent itself has no interface name for its flannel
    assert re.search(r'fatal: \[a1\].*rke2_flannel_iface \(\) ', proc.stdout), proc.stdout[-3000:]


@pytest.mark.parametrize("agent_vars, cni", [({"rke2_flannel_iface": "ztother0001"}, "canal"),
                                             ({"zerotier_interface": "ztother0001"}, ["multus", "flannel"]),
                                             ({}, "calico")], ids=["inventory-name", "zerotier-fact", "calico"])
def test_validate_takes_agents_with_a_known_interface_or_a_cni_without_flannel(tmp_path, agent_vars, cni):
    proc = _validate(tmp_path, agent_vars, cni)
    assert proc.returncode == 0, proc.stdout[-3000:]
