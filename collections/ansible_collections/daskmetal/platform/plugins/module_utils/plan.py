# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""The addressing plan: validate ``daskmetal_plan`` and derive every address once.

Pure Python (stdlib ``ipaddress`` only), no I/O, so it can be unit- and property-tested and
used from a filter plugin on the controller. See docs/contracts.md "The addressing plan".

Allocation rule (documented for users in the README):

1. hosts listed in ``daskmetal_plan.nodes`` get exactly that address;
2. every other host of the ``zerotier_nodes`` group, in inventory order, gets the lowest
   address of ``zerotier.node_range`` that no host has yet.

The result is a pure function of the inventory, so re-runs never renumber. Appending hosts to
the inventory never changes the addresses of hosts already there. Inserting a host *before*
others, or removing one, shifts the allocated (not the explicit) addresses of the hosts after
it: pin addresses in ``nodes`` once a cluster is in use (the derived plan marks each host's
``address_source`` as ``explicit`` or ``allocated`` so they can be copied).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

try:  # Python 3.3+
    from collections.abc import Mapping, Sequence
except ImportError:  # pragma: no cover
    from collections import Mapping, Sequence

VAR = "daskmetal_plan"
NODES_GROUP = "zerotier_nodes"

# ZeroTierOne node/Constants.hpp: ZT_MIN_MTU 1280, ZT_MAX_MTU 10000 (the controller clamps to these,
# controller/EmbeddedNetworkController.cpp); ZeroTier's default MTU is 2800.
MTU_MIN = 1280
MTU_MAX = 10000
DEFAULT_MTU = 2800
# multicastLimit 0 disables multicast and with it ARP: IPv4 stops working. ZeroTier's default is 32.
DEFAULT_MULTICAST_LIMIT = 32

_NWID_RE = re.compile(r"^[0-9a-f]{16}$")
_POOL_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SERVICE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PlanError(ValueError):
    """The plan is invalid. ``errors`` lists every problem found, each naming its variable path.

    ``problems`` holds the same items structured: dicts with ``variable``, ``problem`` and ``fix``.
    """

    def __init__(self, errors, problems=None):
        self.errors = list(errors)
        self.problems = list(problems) if problems is not None else [_split_error(e) for e in self.errors]
        super(PlanError, self).__init__(
            "the addressing plan is invalid (%d problem%s):\n- %s"
            % (len(self.errors), "" if len(self.errors) == 1 else "s", "\n- ".join(self.errors))
        )


class _Span(object):
    """An inclusive IPv4 address range with the variable path it came from."""

    __slots__ = ("start", "end", "path", "text")

    def __init__(self, start, end, path, text):
        self.start = int(start)
        self.end = int(end)
        self.path = path
        self.text = text

    def overlaps(self, other):
        return self.start <= other.end and other.start <= self.end

    def overlap_text(self, other):
        lo = max(self.start, other.start)
        hi = min(self.end, other.end)
        return _ip(lo) if lo == hi else "%s-%s" % (_ip(lo), _ip(hi))

    def __contains__(self, value):
        return self.start <= int(value) <= self.end

    @property
    def size(self):
        return self.end - self.start + 1


def _ip(value):
    return str(ipaddress.IPv4Address(int(value)))


def _split_error(text):
    """'path: problem; fix: fix' -> {"variable", "problem", "fix"} (for errors built as plain strings)."""
    variable, _, rest = text.partition(": ")
    problem, _, fix = rest.rpartition("; fix: ")
    if not problem:
        problem, fix = fix, ""
    return {"variable": variable, "problem": problem, "fix": fix}


class _Errors(object):
    def __init__(self):
        self.items = []
        self.problems = []

    def add(self, path, message, fix):
        self.items.append("%s: %s; fix: %s" % (path, message, fix))
        self.problems.append({"variable": path, "problem": message, "fix": fix})


# Address scopes as zerotier-one sees them: ZeroTierOne 1.14.1 node/InetAddress.cpp InetAddress::ipScope(), applied
# by service/OneService.cpp checkIfManagedIsAllowed(): NONE, MULTICAST, LOOPBACK and LINK_LOCAL managed addresses are
# never put on the interface, GLOBAL ones only when the member sets allowGlobal (the zerotier role does not), PRIVATE
# and PSEUDOPRIVATE ones always. The plan accepts only ZeroTier's PRIVATE scope, which is RFC 1918, CGNAT (RFC 6598)
# and the documentation/benchmark ranges; PSEUDOPRIVATE is public space assigned to others (6/8, 11/8, 51/8, ...), and
# 240/4 is reserved.
_PRIVATE_NETS = tuple(ipaddress.IPv4Network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
    "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24"))
_NEVER_APPLIED = tuple((ipaddress.IPv4Network(n), what) for n, what in (
    ("0.0.0.0/8", "reserved (0.0.0.0/8, ZeroTier scope NONE)"),
    ("127.0.0.0/8", "loopback (127.0.0.0/8)"),
    ("169.254.0.0/16", "link-local (169.254.0.0/16)"),
    ("224.0.0.0/4", "multicast (224.0.0.0/4)"),
    ("255.0.0.0/8", "reserved (255.0.0.0/8, ZeroTier scope NONE)")))
_PSEUDOPRIVATE_OCTETS = (6, 11, 21, 22, 25, 26, 28, 29, 30, 51, 55, 56)
_PRIVATE_FIX = "use an RFC 1918 or CGNAT range such as 10.147.17.0/24 (10/8, 172.16/12, 192.168/16, 100.64/10)"


_WHY = {
    "never": "zerotier-one never puts such a managed address on the interface (OneService checkIfManagedIsAllowed)",
    "global": ("zerotier-one puts a global managed address on the interface only when the member sets allowGlobal, "
               "which daskmetal does not, and it would hide the internet hosts that own these addresses"),
    "public": "these addresses belong to internet hosts or cannot be used, so members could not reach the real owners",
}


def _scope_problem(net):
    """(kind, text) saying why ``net`` is not private address space, or None when one private range holds it.

    kind is "never" (zerotier-one never applies it), "global" (needs allowGlobal) or "public" (other non-private).
    """
    if any(net.subnet_of(p) for p in _PRIVATE_NETS):
        return None
    for bad, what in _NEVER_APPLIED:
        if net.overlaps(bad):
            return "never", "%s includes %s addresses" % (net, what)
    first = int(net.network_address) >> 24
    if first >= 240:
        return "public", "%s includes reserved addresses (240.0.0.0/4)" % net
    if first in _PSEUDOPRIVATE_OCTETS:
        return "public", ("%s is public address space (ZeroTier calls %d.0.0.0/8 pseudo-private, but it is routed on "
                          "the internet)" % (net, first))
    if any(net.overlaps(p) for p in _PRIVATE_NETS):
        return "public", "%s is not inside one private range (it also covers public addresses)" % net
    return "global", "%s is public (global) address space" % net


def _check_zerotier_scope(net, errors, path):
    found = _scope_problem(net)
    if found is not None:
        errors.add(path, "%s: %s" % (found[1], _WHY[found[0]]), _PRIVATE_FIX)


def _check_kubernetes_scope(knet, errors, path):
    found = _scope_problem(knet)
    if found is not None:
        errors.add(path, "%s: pod and service addresses there would hide the same addresses elsewhere or cannot be routed" % found[1],
                   "use a private range (RFC 1918 or 100.64.0.0/10) such as the RKE2 defaults 10.42.0.0/16 and 10.43.0.0/16")


def _check_multicast_limit(mcast, bridges, errors, path):
    """Every multicast (ARP included) goes to the active bridges first, counted against multicastLimit."""
    if bridges and mcast <= len(bridges):
        errors.add(path, "%d is not more than the %d active bridge(s) (the MetalLB speakers %s): zerotier-one sends every "
                   "multicast, ARP included, to the active bridges first and counts them against the limit "
                   "(ZeroTierOne 1.14.1 node/Multicaster.cpp), so ARP between the other members fails"
                   % (mcast, len(bridges), ", ".join(bridges)),
                   "set it to at least %d (the number of speakers + 8), e.g. the default %d"
                   % (len(bridges) + 8, max(DEFAULT_MULTICAST_LIMIT, len(bridges) + 8)))


_SECTION_KEYS = {
    "zerotier": ("network_id", "network_name", "cidr", "auto_assign_pool", "node_range", "mtu", "multicast_limit",
                 "private", "enable_broadcast"),
    "metallb": ("speakers", "pools"),
    "kubernetes": ("cluster_cidr", "service_cidr"),
}
_POOL_KEYS = ("name", "addresses", "auto_assign")


def _check_unknown_keys(section, path, allowed, errors):
    """A typo inside a section (multicast_limt, autoassign) would otherwise be dropped silently."""
    if not isinstance(section, Mapping):
        return
    for key in sorted(str(k) for k in section if k not in allowed):
        errors.add("%s.%s" % (path, key), "unknown key", "remove it or check its spelling (%s)" % ", ".join(allowed))


def _is_str(value):
    return isinstance(value, str)


def _parse_ipv4(value, path, errors, what="an IPv4 address"):
    if not _is_str(value) or not value.strip():
        errors.add(path, "%r is not %s" % (value, what), "write it as a dotted quad such as 10.147.17.10")
        return None
    try:
        return ipaddress.IPv4Address(value.strip())
    except ValueError:
        errors.add(path, "%r is not %s" % (value, what), "write it as a dotted quad such as 10.147.17.10")
        return None


def _parse_network(value, path, errors, example):
    if not _is_str(value) or "/" not in value:
        errors.add(path, "%r is not an IPv4 network in CIDR notation" % (value,), "write it like %s" % example)
        return None
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        errors.add(path, "%r is not an IPv4 network in CIDR notation" % (value,), "write it like %s" % example)
        return None
    if net.version != 4:
        errors.add(path, "%s is IPv6; the plan manages IPv4 only" % value, "use an IPv4 network like %s" % example)
        return None
    if str(net) != value.strip():
        errors.add(path, "%s has host bits set" % value, "write the network address: %s" % net)
        return None
    return net


def _parse_span(value, path, errors, allow_cidr=True):
    """'a-b', a single address 'a', or (when allowed) a CIDR 'a/n' -> _Span."""
    fix = "write a range like 10.147.17.100-10.147.17.149%s" % (" or a CIDR like 10.147.17.192/27" if allow_cidr else "")
    if not _is_str(value) or not value.strip():
        errors.add(path, "%r is not an address range" % (value,), fix)
        return None
    text = value.strip()
    try:
        if "-" in text:
            first, last = [p.strip() for p in text.split("-", 1)]
            start, end = ipaddress.IPv4Address(first), ipaddress.IPv4Address(last)
        elif "/" in text:
            if not allow_cidr:
                raise ValueError(text)
            net = ipaddress.IPv4Network(text, strict=True)
            start, end = net.network_address, net.broadcast_address
        else:
            start = end = ipaddress.IPv4Address(text)
    except ValueError:
        errors.add(path, "%r is not an IPv4 address range" % (value,), fix)
        return None
    if int(start) > int(end):
        errors.add(path, "%s starts after it ends" % text, "write the lower address first: %s-%s" % (end, start))
        return None
    return _Span(start, end, path, text)


def _check_in_cidr(span, net, errors, cidr_path):
    """The span must lie inside the ZeroTier CIDR and avoid its network and broadcast addresses."""
    lo, hi = int(net.network_address), int(net.broadcast_address)
    if span.start < lo or span.end > hi:
        errors.add(span.path, "%s is outside %s (%s)" % (span.text, cidr_path, net),
                   "use addresses between %s and %s" % (_ip(lo + 1), _ip(hi - 1)))
        return False
    ok = True
    if span.start == lo:
        errors.add(span.path, "%s includes %s, the network address of %s" % (span.text, _ip(lo), net),
                   "start at %s or later" % _ip(lo + 1))
        ok = False
    if span.end == hi:
        errors.add(span.path, "%s includes %s, the broadcast address of %s" % (span.text, _ip(hi), net),
                   "end at %s or earlier" % _ip(hi - 1))
        ok = False
    return ok


def _as_int(value, path, errors, default, lo, hi, what):
    if value is None:
        return default
    if isinstance(value, bool):
        value = None
    elif _is_str(value) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not lo <= value <= hi:
        errors.add(path, "%r is not %s between %d and %d" % (value, what, lo, hi), "set an integer in that range (default %d)" % default)
        return default
    return value


def _as_bool(value, path, errors, default):
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    errors.add(path, "%r is not a boolean" % (value,), "write true or false")
    return default


def _mapping(value, path, errors, required=False):
    if value is None:
        if required:
            errors.add(path, "is missing", "add this section (see inventories/example/group_vars/all/plan.yml)")
        return {}
    if not isinstance(value, Mapping):
        errors.add(path, "must be a mapping, got %s" % type(value).__name__, "see inventories/example/group_vars/all/plan.yml")
        return {}
    return value


def _list(value, path, errors):
    if value is None:
        return []
    if _is_str(value) or not isinstance(value, Sequence):
        errors.add(path, "must be a list, got %s" % type(value).__name__, "write a YAML list")
        return []
    return list(value)


def _group_hosts(groups, name):
    """Hosts of a group in inventory order, without duplicates (a set beside the list: linear in the hosts)."""
    seen = []
    members = set()
    for host in (groups or {}).get(name) or []:
        if host not in members:
            members.add(host)
            seen.append(host)
    return seen


def _overlap_pairs(spans):
    """Index pairs (i, j), i < j, of the spans that overlap, in the order a nested loop over i then j gives.

    A sweep over the span starts: sort once, keep the spans still open at the current start, pair the new span
    with those of them that reach it. O(n log n + k log k) for k overlaps, where comparing every pair is O(n^2)
    (1,000 pinned hosts are 500,000 comparisons).
    """
    order = sorted(range(len(spans)), key=lambda i: (spans[i].start, i))
    open_spans = []  # indexes of spans whose end has not yet been passed
    pairs = []
    for idx in order:
        start = spans[idx].start
        open_spans = [o for o in open_spans if spans[o].end >= start]
        pairs.extend((min(o, idx), max(o, idx)) for o in open_spans)
        open_spans.append(idx)
    pairs.sort()
    return pairs


def allocate(hosts, explicit, node_range):
    """Give every host an address.

    :param hosts: hostnames in inventory order.
    :param explicit: {hostname: IPv4Address} pinned addresses (hosts not in ``hosts`` are ignored).
    :param node_range: (first, last) inclusive ints or IPv4Address values.
    :returns: {hostname: IPv4Address}; raises ValueError when the range has too few free addresses.

    Explicit addresses are kept and never handed out again, inside or outside the range. The other
    hosts take the lowest free address of the range, in the order given.
    """
    first, last = int(node_range[0]), int(node_range[1])
    result = {}
    taken = set()
    for host in hosts:
        if host in explicit:
            result[host] = ipaddress.IPv4Address(int(explicit[host]))
            taken.add(int(explicit[host]))
    pending = [h for h in hosts if h not in result]
    free = max(0, last - first + 1) - len([a for a in taken if first <= a <= last])
    if len(pending) > free:
        raise ValueError("%d host(s) need an address but only %d are free" % (len(pending), free))
    candidate = first
    for host in pending:
        while candidate in taken:
            candidate += 1
        result[host] = ipaddress.IPv4Address(candidate)
        taken.add(candidate)
        candidate += 1
    return result


def derive(plan, groups):
    """Validate ``plan`` (the ``daskmetal_plan`` variable) against the inventory ``groups``.

    Returns the derived plan documented in docs/contracts.md; raises PlanError listing every
    problem, each prefixed with the variable path to fix.
    """
    errors = _Errors()
    if not isinstance(plan, Mapping):
        raise PlanError(["%s: must be a mapping, got %s; fix: see inventories/example/group_vars/all/plan.yml" % (VAR, type(plan).__name__)])
    groups = groups if isinstance(groups, Mapping) else {}
    known = {k for k in plan}
    unknown = sorted(str(k) for k in known - {"zerotier", "nodes", "metallb", "services", "kubernetes"})
    for key in unknown:
        errors.add("%s.%s" % (VAR, key), "unknown key", "remove it or check its spelling (zerotier, nodes, metallb, services, kubernetes)")

    zt = _mapping(plan.get("zerotier"), VAR + ".zerotier", errors, required=True)
    p_zt = VAR + ".zerotier"
    for section, allowed in _SECTION_KEYS.items():
        _check_unknown_keys(plan.get(section), "%s.%s" % (VAR, section), allowed, errors)

    # --- network id --------------------------------------------------------------------------
    nwid_raw = zt.get("network_id", "")
    nwid = None
    if nwid_raw is None or (_is_str(nwid_raw) and nwid_raw.strip() == ""):
        nwid = None  # create one (self-hosted controller mode)
    elif _is_str(nwid_raw) and _NWID_RE.match(nwid_raw.strip().lower()):
        nwid = nwid_raw.strip().lower()
        # the first 10 digits are the controller's ZeroTier address; 0 and 0xff... are reserved
        # (ZeroTierOne 1.14.1 node/Address.hpp isReserved, node/Constants.hpp ZT_ADDRESS_RESERVED_PREFIX)
        if int(nwid[:10], 16) == 0 or nwid.startswith("ff"):
            errors.add(p_zt + ".network_id", "%s has controller address %s, which ZeroTier reserves" % (nwid, nwid[:10]),
                       "copy the real id from ZeroTier Central or the controller (its first 10 digits are the controller's node id)")
    else:
        errors.add(p_zt + ".network_id", "%r is not a ZeroTier network id (16 hexadecimal digits)" % (nwid_raw,),
                   "copy the id from ZeroTier Central (e.g. 8bd5124fd6000001; quote it in YAML), or set \"\" to have the self-hosted controller create one")

    name = zt.get("network_name", "daskmetal")
    if not _is_str(name) or not name.strip():
        errors.add(p_zt + ".network_name", "%r is not a non-empty string" % (name,), "set a name such as daskmetal")
        name = "daskmetal"

    # --- CIDR and ranges -----------------------------------------------------------------------
    net = _parse_network(zt.get("cidr"), p_zt + ".cidr", errors, "10.147.17.0/24")
    if net is not None and net.prefixlen > 30:
        errors.add(p_zt + ".cidr", "%s is too small for a network (/%d)" % (net, net.prefixlen), "use a /30 or larger network, e.g. a /24")
        net = None
    if net is not None:
        # MetalLB pools, services and node addresses must lie inside the cidr, so they inherit this check
        _check_zerotier_scope(net, errors, p_zt + ".cidr")

    pool = None
    if zt.get("auto_assign_pool") not in (None, ""):
        pool = _parse_span(zt.get("auto_assign_pool"), p_zt + ".auto_assign_pool", errors)
    node_range = None
    if zt.get("node_range") not in (None, ""):
        node_range = _parse_span(zt.get("node_range"), p_zt + ".node_range", errors)

    mtu = _as_int(zt.get("mtu"), p_zt + ".mtu", errors, DEFAULT_MTU, MTU_MIN, MTU_MAX, "an MTU")
    mcast = _as_int(zt.get("multicast_limit"), p_zt + ".multicast_limit", errors, DEFAULT_MULTICAST_LIMIT, 1, 65535,
                    "a multicast recipient limit (0 would break ARP and so IPv4)")
    private = _as_bool(zt.get("private"), p_zt + ".private", errors, True)
    broadcast = _as_bool(zt.get("enable_broadcast"), p_zt + ".enable_broadcast", errors, True)

    spans = []  # every reserved span, for pairwise overlap checks
    if net is not None:
        for span in (pool, node_range):
            if span is not None and _check_in_cidr(span, net, errors, p_zt + ".cidr"):
                spans.append(span)

    # --- hosts and explicit addresses --------------------------------------------------------
    hosts = _group_hosts(groups, NODES_GROUP)
    host_set = set(hosts)
    nodes_raw = _mapping(plan.get("nodes"), VAR + ".nodes", errors)
    explicit = {}
    by_address = {}
    node_spans = []  # checked after the MetalLB pools so that errors name the node
    for host in nodes_raw:
        path = "%s.nodes.%s" % (VAR, host)
        addr = _parse_ipv4(nodes_raw[host], path, errors)
        if addr is None:
            continue
        if host not in host_set:
            errors.add(path, "host %s is not in the %s group" % (host, NODES_GROUP),
                       "add it to %s in the inventory or remove this line (check the spelling)" % NODES_GROUP)
            continue
        span = _Span(addr, addr, path, str(addr))
        if net is not None and not _check_in_cidr(span, net, errors, p_zt + ".cidr"):
            continue
        if int(addr) in by_address:
            errors.add(path, "%s is also the address of %s" % (addr, by_address[int(addr)]), "give each host its own address")
            continue
        by_address[int(addr)] = host
        explicit[host] = addr
        # explicit addresses inside node_range are expected (the allocator skips them); outside it they
        # are checked against the pools like any other span
        if node_range is None or not span.overlaps(node_range):
            node_spans.append(span)

    # --- MetalLB -------------------------------------------------------------------------------
    mlb = _mapping(plan.get("metallb"), VAR + ".metallb", errors)
    pools_out = []
    pool_spans = {}  # name -> [spans]
    for i, entry in enumerate(_list(mlb.get("pools"), VAR + ".metallb.pools", errors)):
        p_pool = "%s.metallb.pools[%d]" % (VAR, i)
        entry = _mapping(entry, p_pool, errors)
        _check_unknown_keys(entry, p_pool, _POOL_KEYS, errors)
        pname = entry.get("name")
        if not _is_str(pname) or not _POOL_NAME_RE.match(pname):
            errors.add(p_pool + ".name", "%r is not a valid pool name" % (pname,),
                       "use lower-case letters, digits and '-', starting and ending with a letter or digit (a Kubernetes object name)")
            pname = None
        elif pname in pool_spans:
            errors.add(p_pool + ".name", "pool name %s is used twice" % pname, "give every pool its own name")
            pname = None
        addrs = _list(entry.get("addresses"), p_pool + ".addresses", errors)
        if not addrs:
            errors.add(p_pool + ".addresses", "a pool needs at least one address range", "add a range such as 10.147.17.200-10.147.17.219")
        these = []
        for j, text in enumerate(addrs):
            span = _parse_span(text, "%s.addresses[%d]" % (p_pool, j), errors)
            if span is None:
                continue
            if net is not None and not _check_in_cidr(span, net, errors, p_zt + ".cidr"):
                continue
            these.append(span)
            spans.append(span)
        auto = _as_bool(entry.get("auto_assign"), p_pool + ".auto_assign", errors, True)
        if pname is not None:
            pool_spans[pname] = these
            pools_out.append({"name": pname, "addresses": [s.text for s in these], "auto_assign": auto})

    # pairwise overlaps between every reserved span
    spans.extend(node_spans)
    for a_idx, b_idx in _overlap_pairs(spans):
        a, b = spans[a_idx], spans[b_idx]
        errors.add(b.path, "%s overlaps %s (%s) at %s" % (b.text, a.path, a.text, a.overlap_text(b)),
                   "move one of them so the auto-assign pool, node addresses, node range and MetalLB pools are disjoint")

    # --- allocation ----------------------------------------------------------------------------
    addresses = {}
    need = [h for h in hosts if h not in explicit]
    if node_range is None and need and zt.get("node_range") in (None, ""):
        errors.add(p_zt + ".node_range", "is missing but %d host(s) of %s have no address in %s.nodes" % (len(need), NODES_GROUP, VAR),
                   "set a range such as 10.147.17.10-10.147.17.99")
    elif net is not None and not errors.items:
        bounds = (node_range.start, node_range.end) if node_range is not None else (1, 0)
        try:
            addresses = allocate(hosts, explicit, bounds)
        except ValueError as exc:
            errors.add(p_zt + ".node_range", "%s is too small for the %s group: %s" % (node_range.text, NODES_GROUP, exc),
                       "widen the range or pin addresses in %s.nodes" % VAR)

    # --- speakers ------------------------------------------------------------------------------
    speakers_raw = mlb.get("speakers")
    speakers = []
    p_spk = VAR + ".metallb.speakers"
    if speakers_raw in (None, "", []):
        speakers = []
    elif _is_str(speakers_raw):
        if speakers_raw not in groups:
            errors.add(p_spk, "group %s does not exist in the inventory" % speakers_raw,
                       "name an inventory group (e.g. rke2_agents) or list hostnames")
        else:
            speakers = _group_hosts(groups, speakers_raw)
    else:
        # only strings get this far: a set of the inventory's string names answers as the list did
        inventory = set(h for h in groups.get("all", hosts) if _is_str(h))
        listed = set()
        for i, host in enumerate(_list(speakers_raw, p_spk, errors)):
            if not _is_str(host) or host not in inventory:
                errors.add("%s[%d]" % (p_spk, i), "host %r is not in the inventory" % (host,), "list inventory hostnames")
            elif host not in listed:
                listed.add(host)
                speakers.append(host)
    speaker_set = set(speakers)
    for host in speakers:
        if host not in host_set:
            errors.add(p_spk, "speaker %s is not in the %s group, so it has no ZeroTier address to announce from" % (host, NODES_GROUP),
                       "add it to %s or remove it from the speakers" % NODES_GROUP)
    if pools_out and not speakers and speakers_raw not in (None, "", []):
        errors.add(p_spk, "%r selects no hosts, so no node would announce the MetalLB addresses" % (speakers_raw,),
                   "name a group that has hosts, or list hostnames")
    elif pools_out and speakers_raw in (None, "", []):
        errors.add(p_spk, "is empty but MetalLB pools are defined", "name the group of nodes that announce MetalLB addresses (e.g. rke2_agents)")
    # speakers become active bridges (see host_out below)
    _check_multicast_limit(mcast, [h for h in hosts if h in speaker_set], errors, p_zt + ".multicast_limit")

    # --- services ------------------------------------------------------------------------------
    services = {}
    service_pools = {}
    seen_service_ips = {}
    svc_raw = _mapping(plan.get("services"), VAR + ".services", errors)
    for svc in svc_raw:
        path = "%s.services.%s" % (VAR, svc)
        if not _is_str(svc) or not _SERVICE_NAME_RE.match(svc):
            errors.add(path, "%r is not a valid service key" % (svc,), "use letters, digits and underscores")
            continue
        addr = _parse_ipv4(svc_raw[svc], path, errors)
        if addr is None:
            continue
        owner = None
        for pname, these in pool_spans.items():
            if any(addr in s for s in these):
                owner = pname
                break
        if owner is None:
            errors.add(path, "%s is in no MetalLB pool" % addr,
                       "pick an address inside one of %s.metallb.pools (preferably one with auto_assign: false)" % VAR)
            continue
        if any(p["name"] == owner and p["auto_assign"] for p in pools_out):
            # MetalLB hands addresses of an autoAssign pool to any LoadBalancer Service that asks for none,
            # so another Service can hold the planned address before ours is created
            errors.add(path, "%s is in MetalLB pool %s, which has auto_assign: true, so another LoadBalancer Service can "
                       "take it first" % (addr, owner),
                       "move it into a pool with auto_assign: false (e.g. the example's services pool)")
            continue
        if int(addr) in seen_service_ips:
            errors.add(path, "%s is also the address of service %s" % (addr, seen_service_ips[int(addr)]), "give each service its own address")
            continue
        seen_service_ips[int(addr)] = svc
        services[svc] = str(addr)
        service_pools[svc] = owner

    # --- Kubernetes ----------------------------------------------------------------------------
    k8s = _mapping(plan.get("kubernetes"), VAR + ".kubernetes", errors)
    k_out = {}
    k_nets = []
    for key, default in (("cluster_cidr", "10.42.0.0/16"), ("service_cidr", "10.43.0.0/16")):
        path = "%s.kubernetes.%s" % (VAR, key)
        knet = _parse_network(k8s.get(key, default), path, errors, default)
        if knet is None:
            continue
        k_out[key] = str(knet)
        _check_kubernetes_scope(knet, errors, path)
        if net is not None and knet.overlaps(net):
            errors.add(path, "%s overlaps the ZeroTier network %s.cidr (%s)" % (knet, p_zt, net),
                       "choose a Kubernetes range that does not contain ZeroTier addresses (RKE2 defaults: 10.42.0.0/16, 10.43.0.0/16)")
        for other_path, other in k_nets:
            if knet.overlaps(other):
                errors.add(path, "%s overlaps %s (%s)" % (knet, other_path, other), "use disjoint cluster and service ranges")
        k_nets.append((path, knet))

    if errors.items:
        raise PlanError(errors.items, errors.problems)

    pools_api = []
    if pool is not None:
        pools_api.append({"ipRangeStart": _ip(pool.start), "ipRangeEnd": _ip(pool.end)})

    host_out = {}
    for host in hosts:
        addr = addresses[host]
        speaker = host in speaker_set
        host_out[host] = {
            "address": str(addr),
            "address_cidr": "%s/%d" % (addr, net.prefixlen),
            "address_source": "explicit" if host in explicit else "allocated",
            "metallb_speaker": speaker,
            # ZeroTier does not flood ARP: only active bridges receive all multicast, so MetalLB L2
            # speakers must be bridges or nobody answers ARP for a VIP (see roles/zerotier/README.md).
            "active_bridge": speaker,
        }

    return {
        "network": {
            "network_id": nwid,
            "network_name": name.strip(),
            "cidr": str(net),
            "prefixlen": net.prefixlen,
            "netmask": str(net.netmask),
            "mtu": mtu,
            "multicast_limit": mcast,
            "private": private,
            "enable_broadcast": broadcast,
            "routes": [{"target": str(net), "via": None}],
            "ip_assignment_pools": pools_api,
            "v4_assign_mode": {"zt": bool(pools_api)},
            "node_range": {"start": _ip(node_range.start), "end": _ip(node_range.end)} if node_range else None,
        },
        "hosts": host_out,
        "metallb": {"speakers": [h for h in hosts if h in speaker_set], "pools": pools_out},
        "services": services,
        "service_pools": service_pools,
        "kubernetes": k_out,
    }
