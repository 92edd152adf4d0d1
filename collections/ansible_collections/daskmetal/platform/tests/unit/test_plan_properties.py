"""Property-based tests (hypothesis) for the address allocator and plan derivation."""
import ipaddress

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansible_collections.daskmetal.platform.plugins.module_utils.plan import PlanError, allocate, derive

BASE = int(ipaddress.IPv4Address("10.147.0.0"))

hostnames = st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), unique=True, max_size=40)


@st.composite
def allocation_case(draw):
    hosts = draw(hostnames)
    first = BASE + draw(st.integers(1, 200))
    last = first + draw(st.integers(0, 80))
    pinned_hosts = draw(st.lists(st.sampled_from(hosts), unique=True)) if hosts else []
    pinned_addrs = draw(st.lists(st.integers(BASE + 1, BASE + 400), unique=True,
                                 min_size=len(pinned_hosts), max_size=len(pinned_hosts)))
    explicit = {h: ipaddress.IPv4Address(a) for h, a in zip(pinned_hosts, pinned_addrs)}
    return hosts, explicit, (first, last)


def _free(explicit, rng):
    return (rng[1] - rng[0] + 1) - len([a for a in explicit.values() if rng[0] <= int(a) <= rng[1]])


@settings(max_examples=300, deadline=None)
@given(allocation_case())
def test_allocation_is_injective_inside_range_and_keeps_pins(case):
    hosts, explicit, rng = case
    need = len([h for h in hosts if h not in explicit])
    if need > _free(explicit, rng):
        try:
            allocate(hosts, explicit, rng)
        except ValueError:
            return
        raise AssertionError("allocation should fail: %d hosts, %d free" % (need, _free(explicit, rng)))
    got = allocate(hosts, explicit, rng)
    assert set(got) == set(hosts)
    assert len(set(got.values())) == len(hosts), "two hosts share an address"
    for host, addr in got.items():
        if host in explicit:
            assert addr == explicit[host]
        else:
            assert rng[0] <= int(addr) <= rng[1]
            assert addr not in explicit.values()


@settings(max_examples=200, deadline=None)
@given(allocation_case())
def test_allocation_is_deterministic(case):
    hosts, explicit, rng = case
    assume(len([h for h in hosts if h not in explicit]) <= _free(explicit, rng))
    assert allocate(list(hosts), dict(explicit), rng) == allocate(list(hosts), dict(reversed(list(explicit.items()))), rng)


@settings(max_examples=200, deadline=None)
@given(allocation_case(), st.lists(st.from_regex(r"new[0-9]{1,3}", fullmatch=True), unique=True, max_size=10))
def test_appending_hosts_never_renumbers_existing_ones(case, appended):
    hosts, explicit, rng = case
    appended = [h for h in appended if h not in hosts]
    total = hosts + appended
    assume(len([h for h in total if h not in explicit]) <= _free(explicit, rng))
    before = allocate(hosts, explicit, rng)
    after = allocate(total, explicit, rng)
    assert {h: after[h] for h in hosts} == before


@settings(max_examples=200, deadline=None)
@given(
    n_hosts=st.integers(0, 12),
    pool_start=st.integers(1, 250), pool_len=st.integers(0, 30),
    range_start=st.integers(1, 250), range_len=st.integers(0, 30),
    mlb_start=st.integers(1, 250), mlb_len=st.integers(0, 30),
)
def test_derive_accepts_only_disjoint_layouts_and_then_never_overlaps(n_hosts, pool_start, pool_len, range_start, range_len, mlb_start, mlb_len):
    def rng(a, n):
        return "10.147.17.%d-10.147.17.%d" % (a, min(a + n, 254))

    hosts = ["h%02d" % i for i in range(n_hosts)]
    groups = {"all": hosts, "zerotier_nodes": hosts, "speakers": hosts[:1]}
    plan = {
        "zerotier": {"network_id": "8bd5124fd6000001", "cidr": "10.147.17.0/24",
                     "auto_assign_pool": rng(pool_start, pool_len), "node_range": rng(range_start, range_len)},
        "metallb": {"speakers": "speakers" if hosts else None,
                    "pools": [{"name": "p", "addresses": [rng(mlb_start, mlb_len)]}] if hosts else []},
    }
    spans = [(pool_start, min(pool_start + pool_len, 254)), (range_start, min(range_start + range_len, 254))]
    if hosts:
        spans.append((mlb_start, min(mlb_start + mlb_len, 254)))
    disjoint = all(a[1] < b[0] or b[1] < a[0] for i, a in enumerate(spans) for b in spans[i + 1:])
    fits = n_hosts <= spans[1][1] - spans[1][0] + 1
    try:
        d = derive(plan, groups)
    except PlanError as exc:
        assert not (disjoint and fits), exc.errors
        assert all(e.startswith("daskmetal_plan.") and "; fix: " in e for e in exc.errors)
        return
    assert disjoint and fits
    addrs = [int(ipaddress.IPv4Address(v["address"])) - BASE - 17 * 256 for v in d["hosts"].values()]
    assert len(set(addrs)) == len(addrs)
    assert all(spans[1][0] <= a <= spans[1][1] for a in addrs)
