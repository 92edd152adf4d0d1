"""Plan validation against what a real zerotier-one 1.14.1 did (tests/zerotier/recorded, tests/doubles/zerotier_one/recorded).

The plan must reject exactly the settings under which the recorded network broke: a ``multicast_limit`` that the
active bridges (the MetalLB speakers) use up, so that ARP between ordinary members fails, and addresses that the
member lists but never puts on its interface.
"""
from __future__ import annotations

import ipaddress
import json
import re
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE.parents[1] / "collections") not in sys.path:
    sys.path.insert(0, str(HERE.parents[1] / "collections"))

from ansible_collections.daskmetal.platform.plugins.module_utils.plan import PlanError, derive  # noqa: E402

RECORDED = HERE / "recorded"
NODE_RECORDED = HERE.parent / "doubles" / "zerotier_one" / "recorded"
# the recorded lab (tests/zerotier/recorded/README.md): node3 is the only active bridge / MetalLB speaker
LAB_NODES = {"node1": "10.147.17.10", "node2": "10.147.17.11", "node3": "10.147.17.12"}
LAB_GROUPS = {"all": list(LAB_NODES), "zerotier_nodes": list(LAB_NODES), "speakers": ["node3"]}
LINE = re.compile(r"^(\S+) -> (\S+) \((\S+)\): (\d+) received")


def lab_plan(limit, cidr="10.147.17.0/24"):
    net = ipaddress.IPv4Network(cidr)

    def at(offset):
        return str(net.network_address + offset)

    return {
        "zerotier": {"network_id": "a58e865785c5e08b", "cidr": cidr, "multicast_limit": limit,
                     "auto_assign_pool": "%s-%s" % (at(100), at(149)), "node_range": "%s-%s" % (at(10), at(99))},
        "nodes": {h: at(int(a.rsplit(".", 1)[1])) for h, a in LAB_NODES.items()},
        "metallb": {"speakers": "speakers", "pools": [{"name": "services", "addresses": ["%s-%s" % (at(200), at(219))],
                                                        "auto_assign": False}]},
        "services": {},
    }


def arp_matrix(limit):
    pairs = {}
    for line in (RECORDED / ("arp-matrix-multicast-limit-%d.txt" % limit)).read_text().splitlines():
        m = LINE.match(line)
        if m:
            pairs[(m.group(1), m.group(2))] = int(m.group(4)) > 0
    assert len(pairs) == 6, "the recording covers every ordered pair of the three members"
    return pairs


def plan_accepts(plan):
    try:
        derive(plan, LAB_GROUPS)
    except PlanError as exc:
        return False, exc
    return True, None


@pytest.mark.parametrize("limit", [1, 32])
def test_multicast_limit_rejected_exactly_when_the_real_network_lost_arp(limit):
    reachable = arp_matrix(limit)
    accepted, exc = plan_accepts(lab_plan(limit))
    assert accepted == all(reachable.values()), (limit, reachable, exc and exc.errors)
    if not accepted:
        assert [p["variable"] for p in exc.problems] == ["daskmetal_plan.zerotier.multicast_limit"]
        assert "active bridge" in exc.problems[0]["problem"]


def test_the_recordings_show_both_outcomes():
    # otherwise the test above could not fail either way
    assert not all(arp_matrix(1).values()) and all(arp_matrix(32).values())


def test_the_recorded_lab_addresses_were_applied_and_are_accepted():
    # the members really carried their 10.147.17.x addresses (assignedAddresses of a real listnetworks)
    for name in ("node1.listnetworks.json", "node3.listnetworks.json"):
        nets = json.loads((NODE_RECORDED / name).read_text())
        assert all(a.startswith("10.147.17.") for n in nets for a in n["assignedAddresses"])
    assert plan_accepts(lab_plan(32))[0]


# Ranges the recording (tests/doubles/zerotier_one/recorded/README.md, "Behaviour seen") saw applied as private:
# 203.0.113/24, 198.51.100/24, 192.0.2/24, 198.18/15 and 100.64/10, besides RFC 1918.
@pytest.mark.parametrize("cidr", ["10.147.17.0/24", "172.20.5.0/24", "192.168.77.0/24", "100.64.17.0/24",
                                  "203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24", "198.18.17.0/24"])
def test_ranges_zerotier_applies_are_accepted(cidr):
    accepted, exc = plan_accepts(lab_plan(32, cidr))
    assert accepted, exc and exc.errors


# "Managed addresses of GLOBAL scope are listed but not applied unless the member allows global" (same recording);
# link-local, loopback, multicast and 0/8 are never applied (ZeroTierOne 1.14.1 service/OneService.cpp
# checkIfManagedIsAllowed with node/InetAddress.cpp ipScope).
@pytest.mark.parametrize("cidr,word", [("8.8.8.0/24", "public"), ("169.254.17.0/24", "link-local"),
                                       ("127.0.17.0/24", "loopback"), ("224.0.17.0/24", "multicast"),
                                       ("0.0.17.0/24", "reserved"), ("240.0.17.0/24", "reserved"),
                                       ("51.15.0.0/24", "public")])
def test_ranges_zerotier_does_not_apply_are_rejected(cidr, word):
    accepted, exc = plan_accepts(lab_plan(32, cidr))
    assert not accepted
    assert [p["variable"] for p in exc.problems] == ["daskmetal_plan.zerotier.cidr"], exc.errors
    assert word in exc.problems[0]["problem"] and "10.147.17.0/24" in exc.problems[0]["fix"]
