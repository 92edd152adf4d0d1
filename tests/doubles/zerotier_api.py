"""HTTP test double of the two ZeroTier management APIs (for tests only).

    python -m tests.doubles.zerotier_api --mode central|controller [--bind 127.0.0.1] [--port 0] [--token T]

One in-memory store served in either of two shapes:

* ``central``  -- ZeroTier Central, base ``/api/v1`` (docs.zerotier.com/openapi/central/v1.json).
  Header ``Authorization: token <T>``. Network: ``{id, config: {...}, description, rulesSource, ...}``;
  member: ``{id: "<nwid>-<node>", networkId, nodeId, name, description, hidden, config: {...}, ...}``.
  Routes: GET/POST /network, GET/POST/DELETE /network/{nwid}, GET /network/{nwid}/member,
  GET/POST/DELETE /network/{nwid}/member/{node}, GET /status.
* ``controller`` -- the controller in zerotier-one (ZeroTierOne controller/EmbeddedNetworkController.cpp).
  Header ``X-ZT1-Auth: <T>`` (or ``?auth=T``). Flat objects. Routes: GET /status (service: address = the
  controller's node id), GET /controller, GET /controller/network (list of ids), POST
  /controller/network/{controllerId}______ (create, random id; 400 when the prefix is not this controller),
  GET/POST/DELETE /controller/network/{nwid}, GET /controller/network/{nwid}/member ({id: revision}),
  GET/POST/DELETE /controller/network/{nwid}/member/{node} (POST creates; 404 when the network is unknown).
  Also GET /unstable/controller/network/{nwid}/member ({data: [full member objects], meta: {totalCount,
  authorizedCount}}; EmbeddedNetworkController.cpp:878, 1089-1122 at 1.14.1).

Field names and JSON types (``network``): name str, private bool, enableBroadcast bool, mtu int (clamped to
1280..10000 like upstream), multicastLimit int, routes [{target: str CIDR, via: str|null}],
ipAssignmentPools [{ipRangeStart: str, ipRangeEnd: str}], v4AssignMode {zt: bool}.
(``member``): authorized bool, activeBridge bool, noAutoAssignIps bool, ipAssignments [str], name str;
Central also description str, hidden bool. The double is STRICTER than upstream on purpose: a wrong JSON
type answers 400 (upstream silently substitutes a default), so a client sending "true" or "2800" fails here.

Test-only extras, no auth, under ``/_double``: GET /_double/netconf/{nwid}/{node}[?request=0] (what the
controller answers a member's config request, Store.netconf: creates the unauthorized member on first
contact, auto-assigns from the pools, {"answer": "config"|"error"|null, ...}; request=0 is the controller's
push after a change, which carries no error); GET /_double/state; POST /_double/fault {status, count,
retry_after, delay, path}; POST /_double/member/{nwid}/{node} (set member fields without auth, e.g.
de-authorize in a lab test); GET /_double/peers/{nwid}/{node} (Store.peers: the authorized members' addresses,
bridge flags and lab-network addresses, which the zerotier-one double uses instead of ZeroTier's UDP paths;
a member names its lab-network address with ?underlay= on its netconf requests).

Fault injection (in process: ``double.inject(...)``): answer ``status`` (429 with Retry-After, 500, 401, ...)
or sleep ``delay`` seconds (a timeout for a client with a shorter timeout) for the next ``count`` requests
whose path starts with ``path``.

Rate limit (``rate_limit=20``, ``--rate-limit 20``; central mode): docs.zerotier.com/central/v1, "Rate Limiting":
"Paid users are limited to 100 requests per second. Free users are limited to 20 requests per second." The docs
say neither how the second is counted nor what a limited request gets back, so the double is strict: a sliding
one-second window over the requests it accepted (any 1 s holds at most ``rate_limit`` of them, which a fixed
per-second counter would not guarantee), and a request over the limit answers 429 Too Many Requests with
Retry-After in delta-seconds (RFC 6585 section 4 defines 429 and lets it carry Retry-After; RFC 9110 section
10.2.3 the header). ``clock`` is injectable so tests run on a fake clock; ``rate_log`` holds the accepted
request times and ``rate_rejected`` counts the 429s.
"""
from __future__ import annotations

import argparse
import collections
import ipaddress
import json
import math
import os
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

try:  # tests.doubles.zerotier_node in the repo; a top-level module beside this one in the package double
    from . import zerotier_node
except ImportError:
    import zerotier_node

MTU_MIN, MTU_MAX = 1280, 10000

NETWORK_TYPES = {
    "name": str, "private": bool, "enableBroadcast": bool, "mtu": int, "multicastLimit": int,
    "routes": list, "ipAssignmentPools": list, "v4AssignMode": dict,
}
MEMBER_TYPES = {"authorized": bool, "activeBridge": bool, "noAutoAssignIps": bool, "ipAssignments": list, "name": str}
CENTRAL_MEMBER_TOP = {"name": str, "description": str, "hidden": bool}


class BadRequest(Exception):
    pass


def _typed(value, typ, path):
    if typ is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, typ)
    if not ok:
        raise BadRequest("%s must be a JSON %s, got %s" % (path, typ.__name__, json.dumps(value)))


def _check_network_body(body):
    for key, typ in NETWORK_TYPES.items():
        if key in body:
            _typed(body[key], typ, key)
    for i, r in enumerate(body.get("routes", [])):
        _typed(r, dict, "routes[%d]" % i)
        _typed(r.get("target"), str, "routes[%d].target" % i)
        ipaddress.ip_network(r["target"], strict=False)
        if r.get("via") is not None:
            _typed(r["via"], str, "routes[%d].via" % i)
    for i, p in enumerate(body.get("ipAssignmentPools", [])):
        _typed(p, dict, "ipAssignmentPools[%d]" % i)
        for k in ("ipRangeStart", "ipRangeEnd"):
            _typed(p.get(k), str, "ipAssignmentPools[%d].%s" % (i, k))
            ipaddress.ip_address(p[k])
    if "v4AssignMode" in body:
        _typed(body["v4AssignMode"].get("zt"), bool, "v4AssignMode.zt")


def _check_member_body(body, extra=None):
    for key, typ in dict(MEMBER_TYPES, **(extra or {})).items():
        if key in body:
            _typed(body[key], typ, key)
    for i, ip in enumerate(body.get("ipAssignments", [])):
        _typed(ip, str, "ipAssignments[%d]" % i)
        ipaddress.ip_address(ip)


class Store:
    """Networks and members in the controller's flat shape (zerotier/ZeroTierOne 1.14.1 controller/)."""

    def __init__(self, controller_id):
        self.controller_id = controller_id
        self.networks = {}
        self.members = {}
        # EmbeddedNetworkController::_memberStatus: who has sent a genuine request (in memory only, like upstream)
        self.requested = set()
        # (network revision, member revision) when a config or error was last sent to a member: the controller
        # pushes only on a change (onNetworkUpdate / onNetworkMemberUpdate, :1332-1352), not periodically
        self.pushed = {}
        # the double's transport: where each member's node is on the lab network (it says so in its requests)
        self.underlay = {}
        self.lock = threading.RLock()

    @staticmethod
    def new_network(nwid):
        # DB::initNetwork (controller/DB.cpp:25-57) plus id/nwid (EmbeddedNetworkController.cpp:856-857);
        # key set as in recorded/controller.network.json. revision 0 until the first save (FileDB.cpp:92-93).
        return {"id": nwid, "nwid": nwid, "objtype": "network", "name": "", "private": True,
                "creationTime": int(time.time() * 1000), "multicastLimit": 32, "enableBroadcast": True,
                "v4AssignMode": {"zt": False}, "v6AssignMode": {"rfc4193": False, "zt": False, "6plane": False},
                "authTokens": [None],  # `{{}}` in nlohmann json: an array holding null (recorded)
                "capabilities": [], "tags": [], "routes": [], "ipAssignmentPools": [], "mtu": 2800,
                "remoteTraceTarget": None, "remoteTraceLevel": 0, "rulesSource": "",
                "rules": [{"not": False, "or": False, "type": "ACTION_ACCEPT"}], "dns": [], "ssoEnabled": False,
                "clientId": "", "authorizationEndpoint": "", "revision": 0}

    @staticmethod
    def new_member(nwid, node):
        # DB::initMember (controller/DB.cpp:59-82): no "name" until one is POSTed; revision 0 until saved;
        # key set as in recorded/controller.member.*.json (which also has "identity" and "name").
        return {"id": node, "address": node, "nwid": nwid, "objtype": "member", "authorized": False, "ssoExempt": False,
                "ipAssignments": [], "activeBridge": False, "tags": [], "capabilities": [],
                "creationTime": int(time.time() * 1000), "noAutoAssignIps": False, "revision": 0,
                "lastDeauthorizedTime": 0, "lastAuthorizedTime": 0, "lastAuthorizedCredentialType": None,
                "lastAuthorizedCredential": None, "authenticationExpiryTime": 0,
                "vMajor": -1, "vMinor": -1, "vRev": -1, "vProto": -1, "remoteTraceTarget": None, "remoteTraceLevel": 0}

    @staticmethod
    def _save(record, old):
        """FileDB::save (controller/FileDB.cpp:80-120): revision + 1 only when the record changed
        (DB::_compareRecords ignores the revision)."""
        strip = {k: v for k, v in record.items() if k != "revision"}
        if old is None or strip != {k: v for k, v in old.items() if k != "revision"}:
            record["revision"] = record.get("revision", 0) + 1
        return record

    def create_network(self, body, nwid=None):
        with self.lock:
            while nwid is None or nwid in self.networks:
                # EmbeddedNetworkController.cpp:1020-1027: random low 24 bits, never 000000
                nwid = self.controller_id + "%06x" % random.randrange(1, 1 << 24)
            self.networks[nwid] = self.new_network(nwid)
            return self.update_network(nwid, body, old=None)

    def update_network(self, nwid, body, old=False):
        _check_network_body(body)
        with self.lock:
            net = self.networks[nwid]
            before = None if old is None else json.loads(json.dumps(net))
            for key in NETWORK_TYPES:
                if key in body:
                    value = body[key]
                    if key == "mtu":  # EmbeddedNetworkController.cpp:624 clamp
                        value = max(MTU_MIN, min(MTU_MAX, value))
                    if key == "routes":  # :678-706, InetAddress::toString keeps the target as given (host bits too)
                        value = [{"target": str(ipaddress.ip_interface(r["target"])),
                                  "via": str(ipaddress.ip_address(r["via"])) if r.get("via") else None} for r in value]
                    if key == "v4AssignMode":
                        value = {"zt": value["zt"]}
                    net[key] = value
            return self._save(net, before)

    def update_member(self, nwid, node, body, extra=None):
        _check_member_body(body, extra)
        with self.lock:
            existing = self.members.get((nwid, node))
            before = json.loads(json.dumps(existing)) if existing else None
            m = self.members.setdefault((nwid, node), self.new_member(nwid, node))
            for key in list(MEMBER_TYPES) + list(extra or {}):
                if key in body:
                    if key == "authorized" and body[key] != m["authorized"]:
                        # EmbeddedNetworkController.cpp:1184-1193
                        m["lastAuthorizedTime" if body[key] else "lastDeauthorizedTime"] = int(time.time() * 1000)
                        if body[key]:
                            m["lastAuthorizedCredentialType"], m["lastAuthorizedCredential"] = "api", None
                    m[key] = body[key]
            return self._save(m, before)

    def _static_ips(self, net, m):
        """EmbeddedNetworkController.cpp:1843-1870: each ipAssignment with the longest matching route's bits."""
        out = []
        for ip in m["ipAssignments"]:
            addr = ipaddress.ip_address(ip)
            bits = [ipaddress.ip_interface(r["target"]).network.prefixlen for r in net["routes"]
                    if addr.version == ipaddress.ip_interface(r["target"]).version
                    and addr in ipaddress.ip_interface(r["target"]).network]
            if bits:
                out.append("%s/%d" % (addr, max(bits)))
        return out

    def _auto_assign_v4(self, nwid, net, node):
        """EmbeddedNetworkController.cpp:1941-1995: per pool, start at ipRangeStart + (node id's low 32 bits
        mod (end - start)), then +1 each trial (end itself only when start == end), skip x.x.x.255, first v4
        route containing it (via or not), not already allocated to any member of the network (DB.cpp:264-285)."""
        taken = {ipaddress.ip_address(ip) for (n, _), mm in self.members.items() if n == nwid for ip in mm["ipAssignments"]}
        counter = int(node, 16) & 0xffffffff
        for pool in net["ipAssignmentPools"]:
            a, b = int(ipaddress.ip_address(pool["ipRangeStart"])), int(ipaddress.ip_address(pool["ipRangeEnd"]))
            if ipaddress.ip_address(pool["ipRangeStart"]).version != 4 or b < a or a == 0:
                continue
            span = b - a
            for _trial in range(min(span + 1, 1000)):
                ip = a + (counter % span) if span > 0 else a
                counter += 1
                if ip & 0xff == 0xff:
                    continue
                addr = ipaddress.ip_address(ip)
                bits = next((ipaddress.ip_interface(r["target"]).network.prefixlen for r in net["routes"]
                             if ipaddress.ip_interface(r["target"]).version == 4
                             and ipaddress.ip_interface(r["target"]).ip == ipaddress.ip_interface(r["target"]).network.network_address
                             and addr in ipaddress.ip_interface(r["target"]).network), -1)
                if bits > 0 and addr not in taken:
                    return str(addr), bits
        return None

    def netconf(self, nwid, node, genuine=True, version=(1, 14, 1, 12)):
        """EmbeddedNetworkController::request/_request (EmbeddedNetworkController.cpp:578-608, 1368-2067) for
        one member. genuine: a request packet from the node (False: polled by the double for the controller's
        push after a member or network change, requestPacketId 0, :1332-1352; answered only after a change). Returns {"answer": "config", "config": {...}},
        {"answer": "error", "error": "ACCESS_DENIED"|"NOT_FOUND", "delivered": bool} or {"answer": None}.
        An error is delivered to a remote node only in reply to a genuine request (node/Node.cpp:853-893)."""
        with self.lock:
            if nwid[:10] != self.controller_id:  # :585 and :1389: not this controller's network, no answer at all
                return {"answer": None}
            if not genuine and (nwid, node) not in self.requested:  # :1349 pushes only to members that asked
                return {"answer": None}
            delivered = genuine or node == self.controller_id  # Node.cpp:855: to itself, errors apply directly
            net = self.networks.get(nwid)
            if net is None:
                return {"answer": "error", "error": "NOT_FOUND", "delivered": delivered}
            old = self.members.get((nwid, node))
            if not genuine and self.pushed.get((nwid, node)) == (net["revision"], old and old["revision"]):
                return {"answer": None}  # nothing changed since the last answer: no push
            before = json.loads(json.dumps(old)) if old else None
            m = self.members.setdefault((nwid, node), self.new_member(nwid, node))
            m.setdefault("identity", "%s:0:%s" % (node, "0" * 128))  # :1457-1460 learned on first contact
            if genuine:
                self.requested.add((nwid, node))
            if not m["authorized"] and not net["private"]:  # :1474-1514 public network: auto-authorize
                m.update(authorized=True, lastAuthorizedTime=int(time.time() * 1000), lastAuthorizedCredentialType="public",
                         lastAuthorizedCredential=None)
            if not m["authorized"]:  # :1595-1604 save the member, then ACCESS_DENIED
                self._save(m, before)
                self.pushed[(nwid, node)] = (net["revision"], m["revision"])
                return {"answer": "error", "error": "ACCESS_DENIED", "delivered": delivered}
            if genuine:  # :1568-1578 version info only from a genuine request
                m.update(vMajor=version[0], vMinor=version[1], vRev=version[2], vProto=version[3])
            static = self._static_ips(net, m)
            if (not any(ipaddress.ip_interface(s).version == 4 for s in static) and net["v4AssignMode"].get("zt")
                    and not m["noAutoAssignIps"]):  # m1: activeBridge does not matter since ZeroTierOne 60bc29141
                got = self._auto_assign_v4(nwid, net, node)
                if got:
                    m["ipAssignments"] = m["ipAssignments"] + [got[0]]
                    static.append("%s/%d" % got)
            self._save(m, before)
            self.pushed[(nwid, node)] = (net["revision"], m["revision"])
            bridges = sorted(n for (nw, n), mm in self.members.items() if nw == nwid and mm["activeBridge"])  # DB.cpp:410-413
            return {"answer": "config", "config": {
                "nwid": nwid, "name": net["name"], "private": net["private"], "mtu": net["mtu"],
                "enableBroadcast": net["enableBroadcast"], "multicastLimit": net["multicastLimit"],
                "revision": net["revision"],  # :1638 nc->revision is the network's revision (recorded netconfRevision 1)
                "routes": [{"target": r["target"], "via": r["via"]} for r in net["routes"]],
                "staticIps": static, "activeBridges": bridges,
                "dns": net["dns"] if isinstance(net["dns"], dict) else {}}}


    def peers(self, nwid, node):
        """The double's stand-in for ZeroTier's peer-to-peer paths (GET /_double/peers/{nwid}/{node}): the
        authorized members of the network with their managed IPv4 addresses, active-bridge flag and underlay
        address, plus the network's multicastLimit. Only an authorized member gets any: the controller
        revokes a de-authorized member's certificate of membership and its traffic stops at once, both ways
        (recorded: deauth-timeline*.txt, ping_from_node1=False from t=0.2 s). The node decides from this which
        ARP requests arrive (zerotier_node.arp_recipients)."""
        with self.lock:
            net = self.networks.get(nwid)
            me = self.members.get((nwid, node))
            if net is None or me is None or not me["authorized"]:
                return {"multicastLimit": 0, "peers": []}
            peers = []
            for (nw, n), m in sorted(self.members.items()):
                if nw != nwid or not m["authorized"] or (nw, n) not in self.underlay:
                    continue
                ips = [str(ipaddress.ip_interface(s).ip) for s in self._static_ips(net, m)
                       if ipaddress.ip_interface(s).version == 4]
                peers.append({"node": n, "ips": ips, "bridge": m["activeBridge"], "underlay": self.underlay[(nw, n)]})
            return {"multicastLimit": net["multicastLimit"], "peers": peers}


class ZeroTierDouble:
    def __init__(self, mode="central", token="test-token", bind="127.0.0.1", port=0, controller_id=None,
                 state_file=None, node_api=None, local_only=False, rate_limit=None, clock=time.monotonic):
        """state_file: persist the store as JSON (survives restarts); node_api: callable(method, parts, body)
        -> (status, obj) or None, serving a node's local service API (/status, /network) beside the
        controller; local_only: answer only /_double/netconf to non-loopback clients (like zerotier-one);
        rate_limit: Central's requests per second (20 free, 100 paid), None for no limit; clock: for the limit."""
        assert mode in ("central", "controller")
        self.rate_limit = rate_limit
        self.clock = clock
        self.rate_lock = threading.Lock()
        self.rate_window = collections.deque()  # accepted request times within the last second
        self.rate_log = []  # every accepted request time
        self.rate_rejected = 0
        self.mode = mode
        self.token = token
        self.controller_id = controller_id or "%010x" % random.randrange(1 << 36, 1 << 40)
        self.store = Store(self.controller_id)
        self.state_file = state_file
        self.node_api = node_api
        self.local_only = local_only
        if state_file and os.path.exists(state_file):
            with open(state_file) as fh:
                saved = json.load(fh)
            self.store.networks = saved.get("networks", {})
            self.store.members = {(m["nwid"], m["id"]): m for m in saved.get("members", [])}
        self.faults = []
        self.log = []  # (method, path, headers, body)
        self.server = ThreadingHTTPServer((bind, port), self._handler())
        self.server.daemon_threads = True
        self.thread = None

    # --- control ----------------------------------------------------------------------------
    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return "http://%s:%d%s" % (host, port, "/api/v1" if self.mode == "central" else "")

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def inject(self, status=None, count=1, retry_after=None, delay=0.0, path=""):
        self.faults.append({"status": status, "count": count, "retry_after": retry_after, "delay": delay, "path": path})

    def add_network(self, nwid=None, **fields):
        return self.store.create_network(fields, nwid=nwid)

    def add_member(self, nwid, node, **fields):
        return self.store.update_member(nwid, node, fields)

    def save(self):
        if not self.state_file:
            return
        with self.store.lock:
            data = json.dumps({"networks": self.store.networks, "members": list(self.store.members.values())})
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(data)
        os.replace(tmp, self.state_file)

    def rate_check(self):
        """None when the request is within the limit (and counts), else the Retry-After seconds."""
        if self.rate_limit is None:
            return None
        with self.rate_lock:
            now = self.clock()
            while self.rate_window and self.rate_window[0] <= now - 1.0:
                self.rate_window.popleft()
            if len(self.rate_window) >= self.rate_limit:
                self.rate_rejected += 1
                return max(1, int(math.ceil(self.rate_window[0] + 1.0 - now)))
            self.rate_window.append(now)
            self.rate_log.append(now)
            return None

    def max_in_window(self, width=1.0):
        """The most accepted requests in any window [t, t + width), the window rate_check enforces."""
        times = sorted(self.rate_log)
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= width:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def writes(self):
        return [e for e in self.log if e[0] in ("POST", "PUT", "DELETE") and not e[1].startswith("/_double")]

    # --- views ------------------------------------------------------------------------------
    def central_network(self, net):
        cfg = {k: net[k] for k in NETWORK_TYPES}
        cfg.update({"id": net["id"], "creationTime": net["creationTime"], "v6AssignMode": net["v6AssignMode"], "dns": {"domain": "", "servers": None},
                    "rules": net["rules"], "tags": [], "capabilities": []})
        members = [m for (n, _), m in self.store.members.items() if n == net["id"]]
        return {"id": net["id"], "type": "Network", "clock": int(time.time() * 1000), "config": cfg, "description": "",
                "rulesSource": "accept;", "permissions": {}, "ownerId": "00000000-0000-0000-0000-000000000000",
                "onlineMemberCount": 0, "authorizedMemberCount": sum(1 for m in members if m["authorized"]), "totalMemberCount": len(members),
                "capabilitiesByName": {}, "tagsByName": {}}

    @staticmethod
    def central_member(m):
        cfg = {k: m[k] for k in ("authorized", "activeBridge", "ipAssignments", "noAutoAssignIps", "tags", "capabilities",
                                  "creationTime", "revision", "lastAuthorizedTime", "lastDeauthorizedTime")}
        cfg.update({"id": m["id"], "address": m["id"], "nwid": m["nwid"], "vMajor": -1, "vMinor": -1, "vRev": -1, "vProto": -1})
        return {"id": "%s-%s" % (m["nwid"], m["id"]), "type": "Member", "clock": int(time.time() * 1000), "networkId": m["nwid"],
                "nodeId": m["id"], "controllerId": m["nwid"][:10], "hidden": m.get("hidden", False), "name": m.get("name", ""),
                "description": m.get("description", ""), "config": cfg, "lastOnline": 0, "lastSeen": 0,
                "physicalAddress": None, "clientVersion": "", "protocolVersion": 0, "supportsRulesEngine": True}

    # --- HTTP -------------------------------------------------------------------------------
    def _handler(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status, obj=None, headers=None):
                data = b"" if obj is None else json.dumps(obj).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _handle(self, method):
                parsed = urlparse(self.path)
                path = parsed.path.rstrip("/") or "/"
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                double.log.append((method, path, dict(self.headers.items()), raw))
                del double.log[:-1000]
                if double.local_only and not self.client_address[0].startswith("127.") and not path.startswith(("/_double/netconf/", "/_double/peers/")):
                    # OneService.cpp:1731-1786 (1.14.1): not loopback (nor allowManagementFrom) -> 401 with {}
                    return self._reply(401, {})
                try:
                    return self._dispatch(method, path, parsed, raw)
                finally:
                    if method in ("POST", "PUT", "DELETE") or path.startswith("/_double/netconf/"):
                        double.save()

            def _dispatch(self, method, path, parsed, raw):
                for fault in double.faults:
                    if fault["count"] > 0 and path.startswith(fault["path"]) and not path.startswith("/_double"):
                        fault["count"] -= 1
                        if fault["delay"]:
                            time.sleep(fault["delay"])
                        if fault["status"]:
                            hdr = {"Retry-After": str(fault["retry_after"])} if fault["retry_after"] is not None else {}
                            return self._reply(fault["status"], {"message": "injected fault"}, hdr)
                        break
                try:
                    body = json.loads(raw.decode()) if raw else {}
                except ValueError:
                    return self._reply(400, {"message": "body is not JSON"})
                if path.startswith("/_double/"):
                    return self._double(method, path, body, parsed)
                retry_after = double.rate_check() if double.mode == "central" else None
                if retry_after is not None:  # see "Rate limit" in the module docstring
                    return self._reply(429, {"message": "rate limit exceeded"}, {"Retry-After": str(retry_after)})
                if not self._authorized(parsed):
                    return self._reply(401, {"message": "unauthorized"} if double.mode == "central" else {})
                try:
                    with double.store.lock:
                        if double.mode == "central":
                            return self._central(method, path, body)
                        return self._controller(method, path, body)
                except BadRequest as exc:
                    return self._reply(400, {"message": str(exc)})
                except ValueError as exc:
                    return self._reply(400, {"message": "invalid value: %s" % exc})

            def _authorized(self, parsed):
                if double.mode == "central":
                    return self.headers.get("Authorization") == "token %s" % double.token
                # OneService.cpp:1761-1777: X-ZT1-Auth, else ?auth=, else Authorization: Bearer <token>
                if self.headers.get("X-ZT1-Auth") is not None:
                    return self.headers.get("X-ZT1-Auth") == double.token
                qs = parse_qs(parsed.query).get("auth", [None])[0]
                if qs is not None:
                    return qs == double.token
                return self.headers.get("Authorization") == "Bearer %s" % double.token

            def _double(self, method, path, body, parsed):
                parts = path.split("/")[2:]
                store = double.store
                if parts[0] == "netconf" and len(parts) == 3:
                    query = parse_qs(parsed.query)
                    genuine = query.get("request", ["1"])[0] != "0"
                    if query.get("underlay"):
                        with store.lock:
                            store.underlay[(parts[1].lower(), parts[2].lower())] = query["underlay"][0]
                    return self._reply(200, store.netconf(parts[1].lower(), parts[2].lower(), genuine=genuine))
                if parts[0] == "peers" and len(parts) == 3:
                    return self._reply(200, store.peers(parts[1].lower(), parts[2].lower()))
                if parts[0] == "state":
                    with store.lock:
                        return self._reply(200, {"controller_id": double.controller_id, "networks": store.networks,
                                                 "members": {"%s-%s" % k: v for k, v in store.members.items()}})
                if parts[0] == "fault" and method == "POST":
                    double.inject(**body)
                    return self._reply(200, {"faults": len(double.faults)})
                if parts[0] == "member" and len(parts) == 3 and method == "POST":
                    try:
                        return self._reply(200, store.update_member(parts[1], parts[2], body))
                    except BadRequest as exc:
                        return self._reply(400, {"message": str(exc)})
                return self._reply(404, {"message": "no such double endpoint"})

            def _central(self, method, path, body):
                store = double.store
                if not path.startswith("/api/v1"):
                    return self._reply(404, {"message": "not found"})
                rest = path[len("/api/v1"):].split("/")[1:]
                if rest == ["status"] and method == "GET":
                    return self._reply(200, {"id": "status", "type": "CentralStatus", "apiVersion": "4", "online": True,
                                             "user": {"id": "00000000-0000-0000-0000-000000000000", "displayName": "test"}})
                if rest == ["network"]:
                    if method == "GET":
                        return self._reply(200, [double.central_network(n) for n in store.networks.values()])
                    if method == "POST":
                        net = store.create_network(self._central_net_body(body))
                        return self._reply(200, double.central_network(net))
                if len(rest) >= 2 and rest[0] == "network":
                    nwid = rest[1]
                    if not re.match(r"^[0-9a-f]{16}$", nwid):
                        return self._reply(404, {"message": "not found"})
                    net = store.networks.get(nwid)
                    if len(rest) == 2:
                        if net is None:
                            return self._reply(404, {"message": "network not found"})
                        if method == "GET":
                            return self._reply(200, double.central_network(net))
                        if method == "POST":
                            store.update_network(nwid, self._central_net_body(body))
                            return self._reply(200, double.central_network(net))
                        if method == "DELETE":
                            del store.networks[nwid]
                            return self._reply(200, {})
                    if len(rest) == 3 and rest[2] == "member" and method == "GET":
                        # getNetworkMemberList: an array of Member (zerotier/docs static/openapi/central/v1.json:238)
                        if net is None:
                            return self._reply(404, {"message": "network not found"})
                        return self._reply(200, [double.central_member(m) for (n, _), m in store.members.items() if n == nwid])
                    if len(rest) == 4 and rest[2] == "member" and re.match(r"^[0-9a-f]{10}$", rest[3]):
                        node = rest[3]
                        if net is None:
                            return self._reply(404, {"message": "network not found"})
                        m = store.members.get((nwid, node))
                        if method == "GET":
                            return self._reply(200, double.central_member(m)) if m else self._reply(404, {"message": "member not found"})
                        if method == "POST":
                            cfg = body.get("config", {})
                            _typed(cfg, dict, "config")
                            for key in cfg:
                                if key not in MEMBER_TYPES and key not in ("tags", "capabilities"):
                                    raise BadRequest("config.%s is not a member config field" % key)
                            top = {k: body[k] for k in CENTRAL_MEMBER_TOP if k in body}
                            for key, typ in CENTRAL_MEMBER_TOP.items():
                                if key in top:
                                    _typed(top[key], typ, key)
                            m = store.update_member(nwid, node, dict(cfg, **top), extra={"description": str, "hidden": bool})
                            return self._reply(200, double.central_member(m))
                        if method == "DELETE":
                            store.members.pop((nwid, node), None)
                            return self._reply(200, {})
                return self._reply(404, {"message": "not found"})

            @staticmethod
            def _central_net_body(body):
                cfg = body.get("config", {})
                _typed(cfg, dict, "config")
                if "name" in body and "name" not in cfg:
                    raise BadRequest("name belongs in config, not at the top level")
                for key in cfg:
                    if key not in NETWORK_TYPES and key not in ("v6AssignMode", "dns", "rules", "tags", "capabilities"):
                        raise BadRequest("config.%s is not a network config field" % key)
                return {k: v for k, v in cfg.items() if k in NETWORK_TYPES}

            def _controller(self, method, path, body):
                store = double.store
                parts = path.split("/")[1:]
                if double.node_api is not None:
                    answer = double.node_api(method, parts, body)
                    if answer is not None:
                        return self._reply(*answer)
                if parts == ["status"] and method == "GET":  # service/OneService.cpp:2165-2230
                    return self._reply(200, zerotier_node.status_json(
                        double.controller_id, "%s:0:%s" % (double.controller_id, "0" * 128), "/var/lib/zerotier-one",
                        9993, int(time.time() * 1000)))
                if (len(parts) == 5 and parts[:3] == ["unstable", "controller", "network"] and parts[4] == "member"
                        and method == "GET" and re.match(r"^[0-9a-fA-F]{16}$", parts[3])):
                    # EmbeddedNetworkController.cpp:878, 1089-1122 (1.14.1; added in 1.14.0): full member objects,
                    # {"data": [member, ...], "meta": {totalCount, authorizedCount}}; 404 without the network
                    nwid = parts[3].lower()
                    if nwid not in store.networks:
                        return self._reply(404)
                    data = [m for (n, _), m in store.members.items() if n == nwid]
                    return self._reply(200, {"data": data, "meta": {
                        "totalCount": len(data), "authorizedCount": sum(1 for m in data if m["authorized"])}})
                if parts[0] != "controller":
                    return self._reply(404)
                if parts == ["controller"] and method == "GET":  # EmbeddedNetworkController.cpp:882-899
                    return self._reply(200, {"controller": True, "apiVersion": 4, "clock": int(time.time() * 1000), "databaseReady": True})
                if parts == ["controller", "network"] and method == "GET":  # :902-916 sorted list of ids
                    return self._reply(200, sorted(store.networks))
                if len(parts) >= 3 and parts[1] == "network":
                    nwid = parts[2]
                    m_create = re.match(r"^([0-9a-fA-F]{10})______$", nwid)
                    if m_create and len(parts) == 3 and method in ("POST", "PUT"):  # :1004-1033
                        if m_create.group(1) != double.controller_id:  # exact string compare (m7)
                            return self._reply(400)
                        return self._reply(200, store.create_network(body))
                    if not re.match(r"^[0-9a-fA-F]{16}$", nwid):
                        return self._reply(404)
                    nwid = nwid.lower()
                    net = store.networks.get(nwid)
                    if len(parts) == 3:
                        if method == "GET":  # :962-973
                            return self._reply(200, net) if net else self._reply(404)
                        if method in ("POST", "PUT"):  # :1035-1045 networkUpdateFromPostData, creates when missing
                            if net is None:  # any id is stored (one save: revision 1); only owned ids get configs
                                return self._reply(200, store.create_network(body, nwid=nwid))
                            return self._reply(200, store.update_network(nwid, body))
                        if method == "DELETE":  # :1047-1061 returns the network, 404 when missing
                            return self._reply(200, store.networks.pop(nwid)) if net else self._reply(404)
                    if len(parts) == 4 and parts[3] == "member" and method == "GET":  # :1064-1085 {id: revision}
                        if net is None:
                            return self._reply(404)
                        return self._reply(200, {node: m["revision"] for (n, node), m in store.members.items() if n == nwid})
                    if len(parts) == 5 and parts[3] == "member" and re.match(r"^[0-9a-fA-F]{10}$", parts[4]):
                        node = parts[4].lower()
                        m = store.members.get((nwid, node))
                        if method == "GET":  # :1123-1138
                            return self._reply(200, m) if (net and m) else self._reply(404)
                        if method in ("POST", "PUT"):  # :1140-1254 creates and partially updates; 404 without network
                            if net is None:
                                return self._reply(404)
                            return self._reply(200, store.update_member(nwid, node, body))
                        if method == "DELETE":  # :1256-1279 returns the member, 404 when missing
                            return self._reply(200, store.members.pop((nwid, node))) if m else self._reply(404)
                return self._reply(404)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PUT(self):
                self._handle("PUT")

            def do_DELETE(self):
                self._handle("DELETE")

        return Handler


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["central", "controller"], default="central")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default=os.environ.get("ZT_DOUBLE_TOKEN", "test-token"))
    ap.add_argument("--controller-id")
    ap.add_argument("--rate-limit", type=int, help="Central requests per second (20 free, 100 paid)")
    args = ap.parse_args(argv)
    double = ZeroTierDouble(args.mode, args.token, args.bind, args.port, args.controller_id,
                            rate_limit=args.rate_limit)
    print(double.url, flush=True)
    try:
        double.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
