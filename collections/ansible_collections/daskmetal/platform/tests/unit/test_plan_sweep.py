"""derive() with the sweep-line overlap check and set lookups gives what the quadratic version gave.

The reference is derive() with the two helpers put back as they were before the sweep line (every pair of
spans compared in a nested loop; group members de-duplicated through a list), run on random plans that
overlap, repeat and misplace addresses on purpose: results, error lists and problem lists must be identical.
"""
import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.daskmetal.platform.plugins.module_utils import plan as plan_mod

BASE = int(ipaddress.IPv4Address("10.147.17.0"))


def _quadratic_overlap_pairs(spans):
    """The pre-sweep check: every pair, a nested loop over i then j."""
    return [(i, j) for i in range(len(spans)) for j in range(i + 1, len(spans)) if spans[i].overlaps(spans[j])]


def _list_group_hosts(groups, name):
    seen = []
    for host in (groups or {}).get(name) or []:
        if host not in seen:
            seen.append(host)
    return seen


def _outcome(plan, groups):
    try:
        return ("ok", plan_mod.derive(plan, groups))
    except plan_mod.PlanError as exc:
        return ("error", exc.errors, exc.problems)


def _reference(plan, groups):
    sweep, group_hosts = plan_mod._overlap_pairs, plan_mod._group_hosts
    plan_mod._overlap_pairs, plan_mod._group_hosts = _quadratic_overlap_pairs, _list_group_hosts
    try:
        return _outcome(plan, groups)
    finally:
        plan_mod._overlap_pairs, plan_mod._group_hosts = sweep, group_hosts


def _addr(offset):
    return str(ipaddress.IPv4Address(BASE + offset))


def _span(draw):
    a = draw(st.integers(0, 300))
    n = draw(st.integers(0, 40))
    return _addr(a) if n == 0 else "%s-%s" % (_addr(a), _addr(a + n))


def _tidy_plan(draw, hosts):
    """A layout that is mostly valid (disjoint regions), so derive() runs to the end and allocates."""
    pinned = draw(st.lists(st.sampled_from(hosts), unique=True, max_size=len(hosts))) if hosts else []
    offsets = draw(st.lists(st.integers(10, 99), unique=True, min_size=len(pinned), max_size=len(pinned)))
    services = {"s%d" % i: _addr(200 + i) for i in range(draw(st.integers(0, 3)))}
    return {"zerotier": {"network_id": "8bd5124fd6000001", "cidr": "10.147.17.0/24",
                         "auto_assign_pool": "%s-%s" % (_addr(1), _addr(9)),
                         "node_range": "%s-%s" % (_addr(10), _addr(99)),
                         "multicast_limit": 64},
            "nodes": {h: _addr(o) for h, o in zip(pinned, offsets)},
            "metallb": {"speakers": draw(st.sampled_from(["agents", list(hosts[:3])])),
                        "pools": [{"name": "svc", "addresses": ["%s-%s" % (_addr(200), _addr(219))], "auto_assign": False},
                                  {"name": "gen", "addresses": [_addr(220 + draw(st.integers(0, 3))) + "/30"]}]},
            "services": services}


def _messy_plan(draw, hosts):
    """Overlaps, repeats, pins outside the range and unknown hosts everywhere: derive() collects errors."""
    pinned = draw(st.lists(st.sampled_from(hosts + ["ghost"]), unique=True, max_size=len(hosts) + 1))
    zt = {"network_id": "8bd5124fd6000001", "cidr": draw(st.sampled_from(["10.147.17.0/24", "10.147.16.0/23"]))}
    if draw(st.booleans()):
        zt["auto_assign_pool"] = _span(draw)
    if draw(st.booleans()):
        zt["node_range"] = _span(draw)
    pools = [{"name": "p%d" % i, "addresses": [_span(draw) for _ in range(draw(st.integers(1, 3)))],
              "auto_assign": draw(st.booleans())} for i in range(draw(st.integers(0, 3)))]
    speakers = draw(st.one_of(st.just("agents"), st.just(""),
                              st.lists(st.sampled_from(hosts + ["nowhere", 7]), max_size=8)))
    services = {"s%d" % i: _addr(draw(st.integers(0, 300))) for i in range(draw(st.integers(0, 3)))}
    return {"zerotier": zt, "nodes": {h: _addr(draw(st.integers(0, 300))) for h in pinned},
            "metallb": {"pools": pools, "speakers": speakers}, "services": services}


@st.composite
def random_plan(draw):
    hosts = ["h%d" % i for i in range(draw(st.integers(1, 30)))]
    members = hosts + draw(st.lists(st.sampled_from(hosts), max_size=5))  # a host listed twice
    plan = _tidy_plan(draw, hosts) if draw(st.booleans()) else _messy_plan(draw, hosts)
    groups = {"all": list(hosts), plan_mod.NODES_GROUP: members, "agents": hosts[1:] + hosts[:2]}
    return plan, groups


@settings(max_examples=600, deadline=None)
@given(random_plan())
def test_sweep_line_derive_equals_the_quadratic_one(case):
    plan, groups = case
    assert _outcome(plan, groups) == _reference(plan, groups)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=40))
def test_overlap_pairs_are_every_overlapping_pair_in_nested_loop_order(raw):
    spans = [plan_mod._Span(a, a + n, "p%d" % i, "t") for i, (a, n) in enumerate(raw)]
    assert plan_mod._overlap_pairs(spans) == _quadratic_overlap_pairs(spans)
