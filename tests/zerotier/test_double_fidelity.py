"""The zerotier-one doubles against what a real zerotier-one 1.14.1 answered (tests/doubles/zerotier_one/recorded).

The doubles are driven through the operations that were recorded in the lab (controller status, network
create/get, member get/list, listnetworks, node info, de-authorization) and their JSON is compared with the
recorded files: the key sets recursively, the value types, and the values the recordings fix (status strings,
revisions, addresses kept after de-authorization, ACCESS_DENIED only at the next config request, MACs and
device names). Where a recording cannot fix a value (pool allocation order), the 1.14.1 source is cited.
"""
from __future__ import annotations

import filecmp
import importlib.machinery
import importlib.util
import ipaddress
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.doubles import zerotier_node
from tests.doubles.zerotier_api import ZeroTierDouble

ROOT = Path(__file__).resolve().parents[2]
DOUBLES = ROOT / "tests" / "doubles"
RECORDED = DOUBLES / "zerotier_one" / "recorded"
# CI keeps shared/ beside the clone; ZT_REFERENCE_DIR points elsewhere (e.g. from a git worktree)
REFERENCE = Path(os.environ.get("ZT_REFERENCE_DIR", ROOT.parent / "shared" / "reference" / "zerotier-one-1.14.1"))

CTRL, NWID = "a58e865785", "a58e865785c5e08b"  # the recorded lab's controller and network
NODES = {"cf18ff9e92": ("node1", "10.147.17.10", False), "eab8a72cac": ("node2", "10.147.17.11", False),
         "dc04969668": ("node3", "10.147.17.12", True)}
# What the role's zerotier_network sends for the lab plan (the recorded controller.network.json is its result).
PLAN = {"name": "daskmetal", "private": True, "mtu": 2800, "multicastLimit": 32, "enableBroadcast": True,
        "routes": [{"target": "10.147.17.0/24", "via": None}],
        "ipAssignmentPools": [{"ipRangeStart": "10.147.17.100", "ipRangeEnd": "10.147.17.149"}],
        "v4AssignMode": {"zt": True}}
CLOCKS = {"clock", "creationTime", "lastAuthorizedTime", "lastDeauthorizedTime", "identity"}


def recorded(name):
    return json.loads((RECORDED / name).read_text())


def shape(value):
    """The JSON shape: dicts by key, lists by the shapes of their elements (deduplicated), scalars by type."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        seen = []
        for v in value:
            if shape(v) not in seen:
                seen.append(shape(v))
        return seen
    return type(value).__name__


def assert_shape(got, want, where="$"):
    """Recursively: the same keys, the same value types; a list's elements have the recorded elements' shape."""
    if isinstance(want, dict):
        assert isinstance(got, dict), "%s: %r is not an object" % (where, got)
        assert sorted(got) == sorted(want), "%s: keys differ: missing %s, extra %s" % (
            where, sorted(set(want) - set(got)), sorted(set(got) - set(want)))
        for k in want:
            assert_shape(got[k], want[k], "%s.%s" % (where, k))
    elif isinstance(want, list):
        assert isinstance(got, list), "%s: %r is not a list" % (where, got)
        if want and got:
            for i, g in enumerate(got):
                assert_shape(g, want[min(i, len(want) - 1)], "%s[%d]" % (where, i))
    else:
        assert type(got) is type(want), "%s: %r is %s, recorded %r (%s)" % (
            where, got, type(got).__name__, want, type(want).__name__)


def without(obj, keys=CLOCKS):
    return {k: v for k, v in obj.items() if k not in keys}


class Api:
    def __init__(self, double):
        self.url, self.token = double.url, double.token

    def __call__(self, method, path, body=None):
        req = urllib.request.Request(self.url + path, method=method, headers={"X-ZT1-Auth": self.token},
                                     data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            return exc.code, None


@pytest.fixture
def lab():
    """The recorded lab's controller with the plan's network under the recorded id."""
    double = ZeroTierDouble("controller", token="t", controller_id=CTRL).start()
    api = Api(double)
    code, _ = api("POST", "/controller/network/" + NWID, PLAN)
    assert code == 200
    yield double, api
    double.stop()


class Member:
    """One member node: zerotier_node's state plus the packaged double's request cadence (zerotier-one step)."""

    def __init__(self, store, address):
        self.store, self.state = store, zerotier_node.NetworkState(NWID, address)

    def tick(self, now):
        genuine = self.state.request_due(now)
        self.state.apply_answer(self.store.netconf(NWID, self.state.address, genuine=genuine), now)
        self.state.iface_ips = self.state.managed_ips()  # what the packaged double puts on the interface
        return self.state.to_json()


def converge(double, api, now=0.0):
    """The role's order: join (first request: unauthorized), authorize with the planned address, then the
    controller's push; the first genuine request after 60 s reports the node's version."""
    members = {node: Member(double.store, node) for node in NODES}
    for node, m in members.items():
        assert m.tick(now)["status"] == "ACCESS_DENIED"
        name, ip, bridge = NODES[node]
        code, _ = api("POST", "/controller/network/%s/member/%s" % (NWID, node),
                      {"name": name, "authorized": True, "ipAssignments": [ip], "activeBridge": bridge,
                       "noAutoAssignIps": True})
        assert code == 200
    for m in members.values():
        assert m.tick(now + 1)["status"] == "OK"
    for m in members.values():
        m.tick(now + 61)
    return members


def test_controller_status_and_network_as_recorded(lab):
    double, api = lab
    code, status = api("GET", "/controller")
    assert code == 200
    assert_shape(status, recorded("controller.status.json"))
    assert without(status) == without(recorded("controller.status.json"))
    assert api("GET", "/controller/network") == (200, recorded("controller.networks.json"))
    code, net = api("GET", "/controller/network/" + NWID)
    assert_shape(net, recorded("controller.network.json"))
    assert without(net) == without(recorded("controller.network.json"))  # revision 1, authTokens [null], ...


def test_network_created_by_the_module_path_has_the_recorded_shape(lab):
    _, api = lab
    code, net = api("POST", "/controller/network/%s______" % CTRL, PLAN)  # what zerotier_network does
    assert code == 200 and net["id"].startswith(CTRL) and len(net["id"]) == 16
    assert_shape(net, recorded("controller.network.json"))
    assert net["revision"] == 1
    assert api("POST", "/controller/network/%s______" % "0123456789", PLAN)[0] == 400
    assert api("POST", "/controller/network/" + net["id"], PLAN)[1]["revision"] == 1  # unchanged: no new revision


def test_members_and_listnetworks_as_recorded(lab):
    double, api = lab
    members = converge(double, api)
    assert api("GET", "/controller/network/%s/member" % NWID) == (200, recorded("controller.members.json"))
    for node, file in (("cf18ff9e92", "controller.member.cf18ff9e92.json"), ("dc04969668", "controller.member.dc04969668.json")):
        code, member = api("GET", "/controller/network/%s/member/%s" % (NWID, node))
        assert_shape(member, recorded(file))
        assert without(member) == without(recorded(file))
        assert member["identity"].startswith(node + ":0:") and len(member["identity"]) == len(recorded(file)["identity"])
    for node, file in (("eab8a72cac", "node2.listnetworks.before-deauth.json"), ("dc04969668", "node3.listnetworks.json")):
        assert [members[node].state.to_json()] == recorded(file)
    node1 = members["cf18ff9e92"].state.to_json()
    want = recorded("node1.listnetworks.json")[0]
    assert_shape(node1, want)
    assert without(node1, {"multicastSubscriptions"}) == without(want, {"multicastSubscriptions"})
    # node1 was recorded before its ARP group was scanned; its recorded groups are a subset of the modelled ones
    assert all(g in node1["multicastSubscriptions"] for g in want["multicastSubscriptions"])


def test_deauthorization_as_recorded(lab):
    """M2: ACCESS_DENIED only at the member's next genuine request (<= 60 s after its last config change,
    recorded 6.5 s, 29.0 s, 63.7 s); assignedAddresses, routes and the interface address are kept."""
    double, api = lab
    node2 = converge(double, api)["eab8a72cac"]  # last config change at t=1, version report at t=61
    code, member = api("POST", "/controller/network/%s/member/eab8a72cac" % NWID, {"authorized": False})
    assert (code, member["authorized"], member["ipAssignments"], member["revision"]) == (200, False, ["10.147.17.11"], 4)
    want = recorded("controller.member.eab8a72cac.deauthorized.json")
    assert_shape(api("GET", "/controller/network/%s/member/eab8a72cac" % NWID)[1], want)
    assert without(api("GET", "/controller/network/%s/member/eab8a72cac" % NWID)[1]) == without(want)
    before = recorded("node2.listnetworks.before-deauth.json")
    assert [node2.tick(62)] == before  # deauth-timeline.txt t=0.2: still OK, the push carries no error
    assert node2.state.managed_ips() == ["10.147.17.11/24"]
    assert node2.tick(120)["status"] == "OK"
    assert node2.tick(121)["status"] == "ACCESS_DENIED"  # 60 s after its last config (at t=61): a genuine request
    assert [node2.state.to_json()] == recorded("deauth-timeline.listnetworks-denied.json")
    assert node2.state.managed_ips() == ["10.147.17.11/24"]  # iface_inet kept (deauth-timeline.txt)
    api("POST", "/controller/network/%s/member/eab8a72cac" % NWID, {"authorized": True})
    assert node2.tick(122)["status"] == "OK"  # re-authorization is pushed at once (onNetworkMemberUpdate)


def test_recent_config_change_delays_access_denied():
    """deauth-timeline-trial3.txt (63.7 s): after a config change the next genuine request waits 60 s."""
    double = ZeroTierDouble("controller", token="t", controller_id=CTRL)
    double.add_network(NWID, **PLAN)
    m = Member(double.store, "eab8a72cac")
    m.tick(0)
    double.store.update_member(NWID, "eab8a72cac", {"authorized": True, "ipAssignments": ["10.147.17.11"]})
    assert m.tick(100)["status"] == "OK"  # config change at t=100
    double.store.update_member(NWID, "eab8a72cac", {"authorized": False})
    assert [m.tick(t)["status"] for t in (101, 130, 159)] == ["OK"] * 3
    assert m.tick(160)["status"] == "ACCESS_DENIED" and m.state.assigned_addresses() == ["10.147.17.11/24"]
    double.server.server_close()


def test_controller_answers_only_for_networks_it_owns():
    """EmbeddedNetworkController.cpp:585,1389: no answer for another controller's network id (the node keeps
    REQUESTING_CONFIGURATION); an owned id without a network is NOT_FOUND."""
    double = ZeroTierDouble("controller", token="t", controller_id=CTRL)
    foreign = "0123456789" + NWID[10:]
    double.add_network(foreign, **PLAN)  # stored (upstream stores any id) but never served
    state = zerotier_node.NetworkState(foreign, "cf18ff9e92")
    assert state.apply_answer(double.store.netconf(foreign, "cf18ff9e92"), 0) is None
    assert state.status() == "REQUESTING_CONFIGURATION" and (foreign, "cf18ff9e92") not in double.store.members
    owned = zerotier_node.NetworkState(CTRL + "000001", "cf18ff9e92")
    owned.apply_answer(double.store.netconf(CTRL + "000001", "cf18ff9e92"), 0)
    assert owned.status() == "NOT_FOUND"
    double.server.server_close()


def test_pool_allocation_order():
    """EmbeddedNetworkController.cpp:1941-1995 (README of the recording: start + node id mod range, not the
    lowest free address; an active bridge gets a pool address too)."""
    double = ZeroTierDouble("controller", token="t", controller_id=CTRL)
    double.add_network(NWID, **PLAN)
    start, span = int(ipaddress.ip_address("10.147.17.100")), 149 - 100
    got = {}
    for node in NODES:
        double.store.update_member(NWID, node, {"authorized": True, "activeBridge": NODES[node][2]})
        got[node] = double.store.netconf(NWID, node)["config"]["staticIps"]
    assert got == {n: ["%s/24" % ipaddress.ip_address(start + (int(n, 16) & 0xffffffff) % span)] for n in NODES}
    twin = "%010x" % (int("cf18ff9e92", 16) + span)  # same first trial as node1: takes the next address
    double.store.update_member(NWID, twin, {"authorized": True})
    first = int(ipaddress.ip_address(got["cf18ff9e92"][0].split("/")[0]))
    assert double.store.netconf(NWID, twin)["config"]["staticIps"] == ["%s/24" % ipaddress.ip_address(first + 1)]
    double.server.server_close()


def test_node_info_and_local_api_as_recorded(tmp_path, monkeypatch):
    """The packaged zerotier-one double's local API (GET /status, join/leave) and fake_zerotier_cli."""
    monkeypatch.setenv("ZT_HOME", str(tmp_path))
    monkeypatch.setenv("ZT_DOUBLE_LIB", str(DOUBLES))
    loader = importlib.machinery.SourceFileLoader("zt_one_double", str(DOUBLES / "zerotier_one" / "zerotier-one"))
    mod = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(mod)
    address, _ = mod.ensure_identity()
    node = mod.Node(address)
    code, info = node.api("GET", ["status"], None)
    assert code == 200 and info["version"] == "1.14.1" and info["config"]["settings"]["homeDir"] == str(tmp_path)
    assert_shape(info, recorded("node1.info.json"))
    assert node.api("DELETE", ["network", NWID], None) == (200, {})  # not joined (OneService.cpp:2103-2120)
    assert node.api("GET", ["network", NWID], None) == (404, None)
    code, joined = node.api("POST", ["network", NWID], {})
    assert_shape(joined, recorded("node1.listnetworks.json")[0])
    assert (joined["status"], joined["netconfRevision"], joined["assignedAddresses"]) == ("REQUESTING_CONFIGURATION", 0, [])
    assert (joined["portDeviceName"], joined["mac"][:2]) == ("zt6ifuhnyo", "8a")
    for cmd, file in (("info", "node1.info.json"), ("listnetworks", "node1.listnetworks.json")):
        out = subprocess.run([sys.executable, str(DOUBLES / "fake_zerotier_cli.py"), "-j", cmd],
                             capture_output=True, text=True, check=True).stdout
        assert_shape(json.loads(out), recorded(file))


def test_in_repo_copy_equals_the_lab_reference():
    if not REFERENCE.is_dir():
        pytest.skip("no lab reference at %s" % REFERENCE)
    names = sorted(p.name for p in RECORDED.iterdir() if p.name != "README.md")
    assert names and all((REFERENCE / n).is_file() for n in names), sorted(set(names) - {p.name for p in REFERENCE.iterdir()})
    _, mismatch, errors = filecmp.cmpfiles(RECORDED, REFERENCE, names, shallow=False)
    assert (mismatch, errors) == ([], [])


ARP_LINE = __import__("re").compile(r"^(\S+) -> (\S+) \((\S+)\): (\d+) received")
ARP_RECORDED = ROOT / "tests" / "zerotier" / "recorded"


@pytest.mark.parametrize("limit", [1, 32])
def test_arp_reaches_whom_the_recorded_network_reached(limit):
    """The double's traffic rule (zerotier_node.arp_recipients, which the packaged double turns into routes)
    against arp-matrix-multicast-limit-{1,32}.txt: node3 is the only active bridge; with limit 1 node1 and node2
    lose each other, everything else answers."""
    by_name = {name: (node, ip) for node, (name, ip, _b) in NODES.items()}
    members = {node: [ip] for node, (_n, ip, _b) in NODES.items()}
    bridges = [node for node, (_n, _ip, b) in NODES.items() if b]
    lines = (ARP_RECORDED / ("arp-matrix-multicast-limit-%d.txt" % limit)).read_text().splitlines()
    pairs = [ARP_LINE.match(line).groups() for line in lines if ARP_LINE.match(line)]
    assert len(pairs) == 6
    for src, dst, ip, received in pairs:
        sender, (target, target_ip) = by_name[src][0], by_name[dst]
        assert target_ip == ip
        got = target in zerotier_node.arp_recipients(sender, ip, members, bridges, limit)
        assert got == (int(received) > 0), (limit, src, dst)


def test_peers_only_for_authorized_members(lab):
    """Store.peers: an authorized member sees the authorized members with their addresses, bridge flag and lab
    address; a de-authorized one sees none and is seen by none (deauth-timeline.txt: ping fails from t=0.2 s)."""
    double, api = lab
    converge(double, api)
    for node in NODES:
        double.store.underlay[(NWID, node)] = "172.30.99.%d" % (list(NODES).index(node) + 11)
    got = double.store.peers(NWID, "cf18ff9e92")
    assert got["multicastLimit"] == 32
    assert [(p["node"], p["ips"], p["bridge"]) for p in got["peers"]] == [
        ("cf18ff9e92", ["10.147.17.10"], False), ("dc04969668", ["10.147.17.12"], True), ("eab8a72cac", ["10.147.17.11"], False)]
    api("POST", "/controller/network/%s/member/eab8a72cac" % NWID, {"authorized": False})
    assert double.store.peers(NWID, "eab8a72cac")["peers"] == []
    assert "eab8a72cac" not in [p["node"] for p in double.store.peers(NWID, "cf18ff9e92")["peers"]]


def test_controller_api_auth_as_upstream(lab):
    """review m5: OneService.cpp:1731-1786 (1.14.1): X-ZT1-Auth, ?auth= or Authorization: Bearer; 401 with {}."""
    double, _api = lab

    def get(headers, query=""):
        req = urllib.request.Request(double.url + "/controller" + query, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    assert get({"Authorization": "Bearer t"}) == 200
    assert get({}, "?auth=t") == 200 and get({"X-ZT1-Auth": "t"}) == 200
    assert get({"Authorization": "Bearer wrong"}) == (401, b"{}")
    assert get({"X-ZT1-Auth": "wrong"}, "?auth=t") == (401, b"{}")  # the header is checked first
