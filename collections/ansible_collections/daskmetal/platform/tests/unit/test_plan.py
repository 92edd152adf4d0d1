"""Unit tests for module_utils/plan.py and the plan_derive filter."""
import copy
import ipaddress

import pytest

from ansible_collections.daskmetal.platform.plugins.module_utils.plan import PlanError, allocate, derive

GROUPS = {
    "all": ["rancher-1", "srv-1", "srv-2", "srv-3", "agent-1", "agent-2"],
    "rancher": ["rancher-1"],
    "rke2_servers": ["srv-1", "srv-2", "srv-3"],
    "rke2_agents": ["agent-1", "agent-2"],
    "zerotier_nodes": ["rancher-1", "srv-1", "srv-2", "srv-3", "agent-1", "agent-2"],
    "zerotier_controller": [],
}

PLAN = {
    "zerotier": {
        "network_id": "8bd5124fd6000001",
        "network_name": "daskmetal",
        "cidr": "10.147.17.0/24",
        "auto_assign_pool": "10.147.17.100-10.147.17.149",
        "node_range": "10.147.17.10-10.147.17.99",
        "mtu": 2800,
        "multicast_limit": 32,
    },
    "nodes": {},
    "metallb": {
        "speakers": "rke2_agents",
        "pools": [
            {"name": "services", "addresses": ["10.147.17.200-10.147.17.219"], "auto_assign": False},
            {"name": "general", "addresses": ["10.147.17.220-10.147.17.239"], "auto_assign": True},
        ],
    },
    "services": {"dask_scheduler": "10.147.17.200", "jupyter": "10.147.17.201", "grafana": "10.147.17.202"},
    "kubernetes": {"cluster_cidr": "10.42.0.0/16", "service_cidr": "10.43.0.0/16"},
}


def plan(**changes):
    """A copy of PLAN with dotted-path changes, e.g. plan(**{"zerotier.cidr": "..."})."""
    p = copy.deepcopy(PLAN)
    for dotted, value in changes.items():
        node = p
        keys = dotted.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return p


def errors_of(p, groups=GROUPS):
    with pytest.raises(PlanError) as info:
        derive(p, groups)
    return info.value.errors


def test_example_plan_derives_contract_keys():
    d = derive(PLAN, GROUPS)
    assert d["network"] == {
        "network_id": "8bd5124fd6000001",
        "network_name": "daskmetal",
        "cidr": "10.147.17.0/24",
        "prefixlen": 24,
        "netmask": "255.255.255.0",
        "mtu": 2800,
        "multicast_limit": 32,
        "private": True,
        "enable_broadcast": True,
        "routes": [{"target": "10.147.17.0/24", "via": None}],
        "ip_assignment_pools": [{"ipRangeStart": "10.147.17.100", "ipRangeEnd": "10.147.17.149"}],
        "v4_assign_mode": {"zt": True},
        "node_range": {"start": "10.147.17.10", "end": "10.147.17.99"},
    }
    assert [d["hosts"][h]["address"] for h in GROUPS["zerotier_nodes"]] == [
        "10.147.17.10", "10.147.17.11", "10.147.17.12", "10.147.17.13", "10.147.17.14", "10.147.17.15"]
    assert d["hosts"]["agent-1"] == {
        "address": "10.147.17.14", "address_cidr": "10.147.17.14/24", "address_source": "allocated",
        "metallb_speaker": True, "active_bridge": True}
    assert d["hosts"]["srv-1"]["active_bridge"] is False
    assert d["metallb"]["speakers"] == ["agent-1", "agent-2"]
    assert d["metallb"]["pools"][0] == {"name": "services", "addresses": ["10.147.17.200-10.147.17.219"], "auto_assign": False}
    assert d["services"]["grafana"] == "10.147.17.202"
    assert d["service_pools"] == {"dask_scheduler": "services", "jupyter": "services", "grafana": "services"}
    assert d["kubernetes"] == {"cluster_cidr": "10.42.0.0/16", "service_cidr": "10.43.0.0/16"}


def test_explicit_addresses_win_and_are_skipped_by_the_allocator():
    d = derive(plan(nodes={"srv-2": "10.147.17.10", "agent-2": "10.147.17.50"}), GROUPS)
    got = {h: v["address"] for h, v in d["hosts"].items()}
    assert got == {"rancher-1": "10.147.17.11", "srv-1": "10.147.17.12", "srv-2": "10.147.17.10",
                   "srv-3": "10.147.17.13", "agent-1": "10.147.17.14", "agent-2": "10.147.17.50"}
    assert d["hosts"]["srv-2"]["address_source"] == "explicit"


def test_explicit_address_outside_node_range_but_inside_cidr_is_fine():
    d = derive(plan(nodes={"srv-1": "10.147.17.160"}), GROUPS)
    assert d["hosts"]["srv-1"]["address"] == "10.147.17.160"


def test_network_id_normalised_and_empty_means_create():
    assert derive(plan(**{"zerotier.network_id": "8BD5124FD6000001"}), GROUPS)["network"]["network_id"] == "8bd5124fd6000001"
    assert derive(plan(**{"zerotier.network_id": ""}), GROUPS)["network"]["network_id"] is None


@pytest.mark.parametrize("nwid", ["8bd5124fd600000", "8bd5124fd60000011", "8bd5124fd600000g", 12345, True])
def test_malformed_network_id(nwid):
    errs = errors_of(plan(**{"zerotier.network_id": nwid}))
    assert len(errs) == 1 and errs[0].startswith("daskmetal_plan.zerotier.network_id: ") and "16 hexadecimal" in errs[0]
    assert "fix:" in errs[0]


@pytest.mark.parametrize("cidr, expect", [
    ("10.147.17.5/24", "host bits set"),
    ("10.147.17.0", "CIDR"),
    ("fd00::/64", "IPv6"),
    ("10.147.17.0/31", "too small"),
    ("banana/24", "CIDR"),
])
def test_bad_cidr(cidr, expect):
    errs = errors_of(plan(**{"zerotier.cidr": cidr}))
    assert any(e.startswith("daskmetal_plan.zerotier.cidr: ") and expect in e for e in errs), errs


def test_pool_outside_cidr():
    errs = errors_of(plan(**{"zerotier.auto_assign_pool": "10.147.18.100-10.147.18.149"}))
    assert errs == ["daskmetal_plan.zerotier.auto_assign_pool: 10.147.18.100-10.147.18.149 is outside "
                    "daskmetal_plan.zerotier.cidr (10.147.17.0/24); fix: use addresses between 10.147.17.1 and 10.147.17.254"]


def test_metallb_pool_overlapping_auto_assign_pool_names_both_variables():
    errs = errors_of(plan(**{"metallb.pools.1.addresses": ["10.147.17.120-10.147.17.130"]}))
    assert errs == ["daskmetal_plan.metallb.pools[1].addresses[0]: 10.147.17.120-10.147.17.130 overlaps "
                    "daskmetal_plan.zerotier.auto_assign_pool (10.147.17.100-10.147.17.149) at 10.147.17.120-10.147.17.130; "
                    "fix: move one of them so the auto-assign pool, node addresses, node range and MetalLB pools are disjoint"]


def test_node_range_overlapping_auto_assign_pool():
    errs = errors_of(plan(**{"zerotier.node_range": "10.147.17.10-10.147.17.100"}))
    assert len(errs) == 1 and errs[0].startswith("daskmetal_plan.zerotier.node_range: ") and "at 10.147.17.100;" in errs[0]


def test_two_metallb_pools_overlapping():
    errs = errors_of(plan(**{"metallb.pools.1.addresses": ["10.147.17.192/27"]}))
    assert len(errs) == 1
    assert errs[0].startswith("daskmetal_plan.metallb.pools[1].addresses[0]: 10.147.17.192/27 overlaps daskmetal_plan.metallb.pools[0].addresses[0]")


def test_explicit_node_in_auto_assign_pool_or_metallb_pool():
    errs = errors_of(plan(nodes={"srv-1": "10.147.17.120", "srv-2": "10.147.17.210"}))
    assert sorted(e.split(":")[0] for e in errs) == ["daskmetal_plan.nodes.srv-1", "daskmetal_plan.nodes.srv-2"]
    assert "auto_assign_pool" in " ".join(errs) and "metallb.pools[0]" in " ".join(errs)


def test_duplicate_host_addresses():
    errs = errors_of(plan(nodes={"srv-1": "10.147.17.20", "srv-2": "10.147.17.20"}))
    assert errs == ["daskmetal_plan.nodes.srv-2: 10.147.17.20 is also the address of srv-1; fix: give each host its own address"]


def test_explicit_node_must_be_a_zerotier_node_and_valid():
    errs = errors_of(plan(nodes={"srv-9": "10.147.17.20", "srv-1": "10.147.17.300"}))
    assert len(errs) == 2
    assert any(e.startswith("daskmetal_plan.nodes.srv-9: host srv-9 is not in the zerotier_nodes group") for e in errs)
    assert any(e.startswith("daskmetal_plan.nodes.srv-1: '10.147.17.300' is not an IPv4 address") for e in errs)


@pytest.mark.parametrize("key, value, expect", [
    ("zerotier.node_range", "10.147.17.0-10.147.17.20", "network address"),
    ("zerotier.auto_assign_pool", "10.147.17.240-10.147.17.255", "broadcast address"),
    ("nodes", {"srv-1": "10.147.17.255"}, "broadcast address"),
    ("nodes", {"srv-1": "10.147.17.0"}, "network address"),
    ("metallb.pools.1.addresses", ["10.147.17.224/27"], "broadcast address"),
])
def test_network_and_broadcast_addresses_rejected(key, value, expect):
    errs = errors_of(plan(**{key: value}))
    assert any(expect in e for e in errs), errs


def test_too_few_addresses_in_node_range():
    errs = errors_of(plan(**{"zerotier.node_range": "10.147.17.10-10.147.17.13"}))
    assert errs == ["daskmetal_plan.zerotier.node_range: 10.147.17.10-10.147.17.13 is too small for the zerotier_nodes group: "
                    "6 host(s) need an address but only 4 are free; fix: widen the range or pin addresses in daskmetal_plan.nodes"]


def test_pinned_addresses_count_towards_capacity():
    # 4 addresses, 2 taken by pinned hosts inside the range, 4 hosts left: too few
    errs = errors_of(plan(**{"zerotier.node_range": "10.147.17.10-10.147.17.13"}, nodes={"srv-1": "10.147.17.10", "srv-2": "10.147.17.11"}))
    assert "4 host(s) need an address but only 2 are free" in errs[0]
    # the same range suffices when the pinned addresses lie outside it
    d = derive(plan(**{"zerotier.node_range": "10.147.17.10-10.147.17.13"}, nodes={"srv-1": "10.147.17.50", "srv-2": "10.147.17.51"}), GROUPS)
    assert sorted(v["address"] for v in d["hosts"].values())[:4] == ["10.147.17.10", "10.147.17.11", "10.147.17.12", "10.147.17.13"]


def test_missing_node_range_allowed_only_when_every_host_is_pinned():
    p = plan()
    del p["zerotier"]["node_range"]
    errs = errors_of(p)
    assert errs[0].startswith("daskmetal_plan.zerotier.node_range: is missing but 6 host(s)")
    p["nodes"] = {h: "10.147.17.%d" % (20 + i) for i, h in enumerate(GROUPS["zerotier_nodes"])}
    assert derive(p, GROUPS)["network"]["node_range"] is None


@pytest.mark.parametrize("key, value, expect", [
    ("kubernetes.cluster_cidr", "10.147.0.0/16", "daskmetal_plan.kubernetes.cluster_cidr: 10.147.0.0/16 overlaps the ZeroTier network"),
    ("kubernetes.service_cidr", "10.147.17.128/25", "daskmetal_plan.kubernetes.service_cidr: 10.147.17.128/25 overlaps the ZeroTier network"),
    ("kubernetes.service_cidr", "10.42.128.0/17", "daskmetal_plan.kubernetes.service_cidr: 10.42.128.0/17 overlaps daskmetal_plan.kubernetes.cluster_cidr"),
    ("kubernetes.cluster_cidr", "10.42.0.1/16", "host bits set"),
])
def test_kubernetes_ranges(key, value, expect):
    errs = errors_of(plan(**{key: value}))
    assert any(e.startswith(expect) or expect in e for e in errs), errs


def test_service_ip_outside_every_pool_and_duplicates():
    errs = errors_of(plan(services={"dask_scheduler": "10.147.17.199", "jupyter": "10.147.17.201", "grafana": "10.147.17.201"}))
    assert sorted(errs) == sorted([
        "daskmetal_plan.services.dask_scheduler: 10.147.17.199 is in no MetalLB pool; fix: pick an address inside one of "
        "daskmetal_plan.metallb.pools (preferably one with auto_assign: false)",
        "daskmetal_plan.services.grafana: 10.147.17.201 is also the address of service jupyter; fix: give each service its own address",
    ])


def test_speakers_group_missing_or_empty_or_not_on_network():
    assert "group rke2_agent does not exist" in errors_of(plan(**{"metallb.speakers": "rke2_agent"}))[0]
    assert "selects no hosts" in errors_of(plan(**{"metallb.speakers": "zerotier_controller"}))[0]
    groups = dict(GROUPS, all=GROUPS["all"] + ["laptop"], laptops=["laptop"])
    assert "speaker laptop is not in the zerotier_nodes group" in errors_of(plan(**{"metallb.speakers": "laptops"}), groups)[0]
    assert "host 'nope' is not in the inventory" in errors_of(plan(**{"metallb.speakers": ["srv-1", "nope"]}))[0]


def test_speakers_as_host_list_keep_inventory_order():
    d = derive(plan(**{"metallb.speakers": ["srv-3", "srv-1"]}), GROUPS)
    assert d["metallb"]["speakers"] == ["srv-1", "srv-3"]
    assert [h for h, v in d["hosts"].items() if v["active_bridge"]] == ["srv-1", "srv-3"]


def test_no_metallb_section_is_fine_for_a_network_only_inventory():
    p = plan()
    del p["metallb"]
    del p["services"]
    d = derive(p, GROUPS)
    assert d["metallb"] == {"speakers": [], "pools": []} and d["services"] == {}


def test_pools_without_speakers_rejected():
    errs = errors_of(plan(**{"metallb.speakers": None}))
    assert errs[0].startswith("daskmetal_plan.metallb.speakers: is empty but MetalLB pools are defined")


@pytest.mark.parametrize("key, value, path", [
    ("zerotier.mtu", 1000, "daskmetal_plan.zerotier.mtu"),
    ("zerotier.mtu", 20000, "daskmetal_plan.zerotier.mtu"),
    ("zerotier.multicast_limit", 0, "daskmetal_plan.zerotier.multicast_limit"),
    ("metallb.pools.0.name", "Services", "daskmetal_plan.metallb.pools[0].name"),
    ("metallb.pools.1.name", "services", "daskmetal_plan.metallb.pools[1].name"),
    ("metallb.pools.0.auto_assign", "no", "daskmetal_plan.metallb.pools[0].auto_assign"),
    ("metallb.pools.0.addresses", [], "daskmetal_plan.metallb.pools[0].addresses"),
    ("zerotier.node_range", "10.147.17.99-10.147.17.10", "daskmetal_plan.zerotier.node_range"),
    ("zerotier.node_range", "10.147.17.0/28", "daskmetal_plan.zerotier.node_range"),
])
def test_scalar_validation_names_the_path(key, value, path):
    errs = errors_of(plan(**{key: value}))
    assert any(e.startswith(path + ": ") for e in errs), errs


def test_all_problems_reported_at_once():
    errs = errors_of(plan(**{"zerotier.network_id": "x", "zerotier.mtu": 1, "kubernetes.cluster_cidr": "10.147.0.0/16"}))
    assert len(errs) == 3


def test_unknown_top_level_key():
    errs = errors_of(dict(PLAN, metalb={}))
    assert errs[0].startswith("daskmetal_plan.metalb: unknown key")


def test_message_of_exception_lists_problems():
    with pytest.raises(PlanError) as info:
        derive(plan(**{"zerotier.network_id": "x"}), GROUPS)
    assert str(info.value).startswith("the addressing plan is invalid (1 problem):\n- daskmetal_plan.zerotier.network_id:")


def test_no_zerotier_nodes_group():
    d = derive(plan(**{"metallb.speakers": None, "metallb.pools": [], "services": {}}), {"all": ["localhost"]})
    assert d["hosts"] == {}


def test_allocate_plain():
    got = allocate(["a", "b", "c"], {"b": ipaddress.IPv4Address("10.0.0.1")}, (int(ipaddress.IPv4Address("10.0.0.1")), int(ipaddress.IPv4Address("10.0.0.3"))))
    assert {h: str(a) for h, a in got.items()} == {"a": "10.0.0.2", "b": "10.0.0.1", "c": "10.0.0.3"}
    with pytest.raises(ValueError):
        allocate(["a", "b", "c", "d"], {}, (1, 3))


def test_filter_plugin_raises_ansible_filter_error():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.daskmetal.platform.plugins.filter.plan import FilterModule

    f = FilterModule().filters()["plan_derive"]
    assert f(PLAN, GROUPS)["hosts"]["srv-1"]["address"] == "10.147.17.11"
    with pytest.raises(AnsibleFilterError, match=r"daskmetal_plan\.zerotier\.network_id: "):
        f(plan(**{"zerotier.network_id": "nope"}), GROUPS)


# --- address scopes, bridges and typos (review zerotier.md M3, M4, m11, m12, m13) -----------------------------


@pytest.mark.parametrize("cidr,word", [
    ("169.254.17.0/24", "link-local"), ("127.0.17.0/24", "loopback"), ("224.0.17.0/24", "multicast"),
    ("0.0.17.0/24", "reserved (0.0.0.0/8"), ("8.8.8.0/24", "public (global)"), ("240.0.17.0/24", "240.0.0.0/4"),
    ("11.0.17.0/24", "pseudo-private"), ("172.0.0.0/11", "also covers public"),
])
def test_zerotier_cidr_outside_private_scope_rejected(cidr, word):
    net = ipaddress.IPv4Network(cidr)
    base = net.network_address + (256 if net.prefixlen < 24 else 0)
    p = plan(**{"zerotier.cidr": cidr, "zerotier.auto_assign_pool": "%s-%s" % (base + 100, base + 149),
                "zerotier.node_range": "%s-%s" % (base + 10, base + 99),
                "metallb.pools": [{"name": "services", "addresses": ["%s-%s" % (base + 200, base + 219)], "auto_assign": False}],
                "services": {}})
    errs = errors_of(p)
    assert len(errs) == 1 and errs[0].startswith("daskmetal_plan.zerotier.cidr: ") and word in errs[0], errs


@pytest.mark.parametrize("key,value,word", [
    ("kubernetes.cluster_cidr", "169.254.0.0/16", "link-local"),
    ("kubernetes.service_cidr", "8.8.0.0/16", "public (global)"),
    ("kubernetes.service_cidr", "224.1.0.0/16", "multicast"),
    ("kubernetes.cluster_cidr", "127.42.0.0/16", "loopback"),
])
def test_kubernetes_ranges_outside_private_scope_rejected(key, value, word):
    errs = errors_of(plan(**{key: value}))
    assert len(errs) == 1 and errs[0].startswith("daskmetal_plan.%s: " % key) and word in errs[0], errs


def test_multicast_limit_must_exceed_active_bridges():
    # the two rke2_agents are speakers, hence active bridges
    errs = errors_of(plan(**{"zerotier.multicast_limit": 2}))
    assert len(errs) == 1 and errs[0].startswith("daskmetal_plan.zerotier.multicast_limit: 2 is not more than the 2 active bridge")
    assert "at least 10" in errs[0]
    assert derive(plan(**{"zerotier.multicast_limit": 3}), GROUPS)["network"]["multicast_limit"] == 3
    # without speakers there are no bridges, and a small limit is allowed
    assert derive(plan(**{"zerotier.multicast_limit": 1, "metallb.speakers": None, "metallb.pools": [], "services": {}}), GROUPS)


@pytest.mark.parametrize("nwid", ["0000000000000001", "0000000000abcdef", "ff12345678000001"])
def test_reserved_controller_address_in_network_id_rejected(nwid):
    errs = errors_of(plan(**{"zerotier.network_id": nwid}))
    assert len(errs) == 1 and errs[0].startswith("daskmetal_plan.zerotier.network_id: ") and "reserves" in errs[0]


@pytest.mark.parametrize("key,path", [
    ("zerotier.multicast_limt", "daskmetal_plan.zerotier.multicast_limt"),
    ("zerotier.auto_asign_pool", "daskmetal_plan.zerotier.auto_asign_pool"),
    ("metallb.pools.1.autoassign", "daskmetal_plan.metallb.pools[1].autoassign"),
    ("kubernetes.service_cdir", "daskmetal_plan.kubernetes.service_cdir"),
    ("metallb.speaker", "daskmetal_plan.metallb.speaker"),
])
def test_typos_inside_sections_rejected(key, path):
    errs = errors_of(plan(**{key: "x"}))
    assert errs == [e for e in errs if e.startswith(path + ": unknown key")] and len(errs) == 1, errs


def test_service_ip_in_auto_assign_pool_rejected():
    errs = errors_of(plan(**{"services.jupyter": "10.147.17.221"}))
    assert len(errs) == 1 and errs[0].startswith("daskmetal_plan.services.jupyter: 10.147.17.221 is in MetalLB pool general")


def test_problems_are_structured_like_errors():
    with pytest.raises(PlanError) as info:
        derive(plan(**{"zerotier.multicast_limit": 1, "kubernetes.cluster_cidr": "8.8.0.0/16"}), GROUPS)
    exc = info.value
    assert [set(p) for p in exc.problems] == [{"variable", "problem", "fix"}] * 2
    assert ["%s: %s; fix: %s" % (p["variable"], p["problem"], p["fix"]) for p in exc.problems] == exc.errors
    assert PlanError(["a.b: bad; fix: do x"]).problems == [{"variable": "a.b", "problem": "bad", "fix": "do x"}]
