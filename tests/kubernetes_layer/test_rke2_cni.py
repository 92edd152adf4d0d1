"""rke2_cni as RKE2 v1.33.5+rke2r1 reads it, in the preflight rules and in the role.

Upstream (rancher/rke2 tag v1.33.5+rke2r1): pkg/cli/types.go CNIItems = calico, canal, cilium, flannel;
pkg/cli/cmds/server.go CNIFlag is a StringSliceFlag and validateCNI / disableExceptSelected split each value on
commas and take one value, or two with "multus" first; "none" disables every CNI chart."""
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
            "flannel": {"iface": "", "regexIface": "^(?:ztabcdef12)$"}}
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
