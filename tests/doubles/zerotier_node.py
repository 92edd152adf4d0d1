"""The member side of zerotier-one, as a pure state model (for tests only; no sockets, no interfaces).

Used by the packaged test double (tests/doubles/zerotier_one/zerotier-one, which puts managed_ips() on a
Linux interface), by tests/doubles/fake_zerotier_cli.py and by tests/zerotier/test_double_fidelity.py.

Upstream followed: zerotier/ZeroTierOne tag 1.14.1 (node/Network.cpp, node/Network.hpp, node/Node.cpp,
node/MAC.hpp, node/InetAddress.cpp, osdep/LinuxEthernetTap.cpp, service/OneService.cpp), and the outputs of
a real zerotier-one 1.14.1 recorded in tests/doubles/zerotier_one/recorded/ (see its README).

The controller side (what a config request is answered with) is zerotier_api.Store.netconf.
"""
from __future__ import annotations

import base64
import ipaddress

VERSION = (1, 14, 1)  # recorded/node1.info.json "version": "1.14.1"
PROTOCOL_VERSION = 12  # recorded/controller.member.*.json "vProto": 12 (node/Packet.hpp ZT_PROTO_VERSION)
DEFAULT_MTU = 2800  # include/ZeroTierOne.h ZT_DEFAULT_MTU
# node/Constants.hpp:533 ZT_NETWORK_AUTOCONF_DELAY: a member with a config asks again only after 60 s
AUTOCONF_DELAY = 60.0
PING_CHECK_INTERVAL = 5.0  # node/Constants.hpp:368 ZT_PING_CHECK_INTERVAL: how often the node checks its networks
STATUSES = ("REQUESTING_CONFIGURATION", "OK", "ACCESS_DENIED", "NOT_FOUND", "PORT_ERROR", "CLIENT_TOO_OLD",
            "AUTHENTICATION_REQUIRED")  # service/OneService.cpp:513-521 _networkToJson


def mac_for(address: str, nwid: str) -> str:
    """MAC::fromAddress (node/MAC.hpp) with firstOctetForNetwork; Network.cpp:619 `_mac(address, nwid)`.
    Checked against recorded/node*.listnetworks.json ("mac")."""
    nw = int(nwid, 16)
    first = (nw & 0xfe) | 0x02
    first = 0x32 if first == 0x52 else first
    m = (first << 40) | int(address, 16)
    for shift_in, shift_out in ((8, 32), (16, 24), (24, 16), (32, 8), (40, 0)):
        m ^= ((nw >> shift_in) & 0xff) << shift_out
    return ":".join("%02x" % ((m >> s) & 0xff) for s in range(40, -1, -8))


def device_name(nwid: str) -> str:
    """LinuxEthernetTap.cpp:193-209: "zt" + base32(a-z2-7) of the 40 bits (nwid ^ nwid >> 24), first trial.
    Checked against recorded/node*.listnetworks.json ("portDeviceName")."""
    nw = int(nwid, 16)
    n40 = (nw ^ (nw >> 24)) & 0xffffffffff
    return "zt" + base64.b32encode(n40.to_bytes(5, "big")).decode().lower()


def ip_scope(addr: str) -> str:
    """InetAddress::ipScope (node/InetAddress.cpp) for IPv4: NONE, MULTICAST, LOOPBACK, LINK_LOCAL, PRIVATE,
    PSEUDOPRIVATE or GLOBAL. IPv6 is reported as GLOBAL unless Python calls it link-local/loopback/multicast."""
    ip = ipaddress.ip_address(addr)
    if ip.version == 6:
        if ip.is_loopback:
            return "LOOPBACK"
        if ip.is_link_local:
            return "LINK_LOCAL"
        if ip.is_multicast:
            return "MULTICAST"
        return "PRIVATE" if ip in ipaddress.ip_network("fc00::/7") else "GLOBAL"
    v = int(ip)
    top = v >> 24
    if top in (0x00, 0xff):
        return "NONE"
    if top == 0x0a:
        return "PRIVATE"
    if top in (0x06, 0x0b, 0x15, 0x16, 0x19, 0x1a, 0x1c, 0x1d, 0x1e, 0x33, 0x37, 0x38):
        return "PSEUDOPRIVATE"
    if top == 0x7f:
        return "LOOPBACK"
    for mask, net, scope in ((0xffc00000, 0x64400000, "PRIVATE"), (0xffff0000, 0xa9fe0000, "LINK_LOCAL"),
                             (0xfff00000, 0xac100000, "PRIVATE"), (0xffff0000, 0xc0a80000, "PRIVATE"),
                             (0xffffff00, 0xc0000200, "PRIVATE"), (0xfffe0000, 0xc6120000, "PRIVATE"),
                             (0xffffff00, 0xc6336400, "PRIVATE"), (0xffffff00, 0xcb007100, "PRIVATE")):
        if v & mask == net:
            return scope
    if v >> 28 == 0xe:
        return "MULTICAST"
    if v >> 28 == 0xf:
        return "PSEUDOPRIVATE"
    return "GLOBAL"


def arp_recipients(sender: str, target_ip: str, members: dict, bridges, limit: int) -> list[str]:
    """Who receives `sender`'s ARP request for `target_ip`: node/Switch.cpp:381-396 turns the ARP broadcast
    into the multicast group (ff:ff:ff:ff:ff:ff, ADI = target IPv4), and Multicaster::send
    (node/Multicaster.cpp:233-272, 1.14.1) sends it to the active bridges first (except the sender), counting
    them against the network's multicastLimit, then to the group's subscribers (members with that address on
    their tap, LinuxEthernetTap::scanMulticastGroups) until the limit. members: {node: [ipv4, ...]}.
    Recorded: tests/zerotier/recorded/arp-matrix-multicast-limit-{1,32}.txt (limit 1, one bridge: the two
    ordinary members lose each other; limit 32: everyone reaches everyone)."""
    bridges = [b for b in sorted(bridges) if b != sender]
    out = []
    for b in bridges:
        if len(out) >= limit:
            return out
        out.append(b)
    for node in sorted(members):
        if len(out) >= limit:
            break
        if node != sender and node not in bridges and target_ip in members[node]:
            out.append(node)
    return out


class NetworkState:
    """One joined network on a member: Network (node/Network.cpp) plus OneService's NetworkState settings."""

    def __init__(self, nwid: str, address: str):
        self.nwid = nwid.lower()
        self.address = address
        self.config = None  # the last NetworkConfig received (Network::_config), never dropped on errors
        self.failure = None  # Network::_netconfFailure: None, "ACCESS_DENIED", "NOT_FOUND"
        self.last_config_update = 0.0  # Network::_lastConfigUpdate (Network.cpp:1131)
        self.last_request = None  # the double's stand-in for the node's ping-check timer
        self.port_error = 0
        # OneService NetworkSettings defaults (service/OneService.cpp; recorded allowManaged true, others false)
        self.settings = {"allowManaged": True, "allowGlobal": False, "allowDefault": False, "allowDNS": False}
        self.device = device_name(self.nwid)
        self.iface_ips: list[str] = []  # what is on the interface (set by whoever applies managed_ips())

    # --- what the node does -------------------------------------------------------------------
    def request_due(self, now: float, period: float = AUTOCONF_DELAY, ping: float = PING_CHECK_INTERVAL) -> bool:
        """Whether the node sends a genuine config request now (and note it): Node::processBackgroundTasks
        checks networks at each ping check, every ZT_PING_CHECK_INTERVAL (Node.cpp:340-344), and requests when
        there is no config yet or the last *change* is >= ZT_NETWORK_AUTOCONF_DELAY old (Node.cpp:398)."""
        if self.last_request is not None and now - self.last_request < ping:
            return False
        if self.config is None or (now - self.last_config_update) >= period:
            self.last_request = now
            return True
        return False

    def set_configuration(self, config: dict, now: float) -> bool:
        """Network::setConfiguration (Network.cpp:1118-1132): replaces the config, sets _lastConfigUpdate and
        clears the failure. (Its duplicate check `_config == nconf` never holds for a config the controller has
        just issued: each carries a new timestamp and membership certificate, EmbeddedNetworkController.cpp:1630,
        2036.) Returns True."""
        self.config = config
        self.last_config_update = now
        self.failure = None
        return True

    def set_error(self, error: str) -> None:
        """Network::setAccessDenied / setNotFound (Network.hpp:209-225): only the failure flag changes;
        _config (and with it assignedAddresses, routes, the interface address) is kept."""
        assert error in ("ACCESS_DENIED", "NOT_FOUND"), error
        self.failure = error

    def apply_answer(self, answer: dict, now: float) -> str | None:
        """Take the controller's answer (zerotier_api.Store.netconf): a config (Node::ncSendConfig, pushed or
        requested) or an error, which reaches a remote member only in reply to its request (Node.cpp:853-893).
        Returns what changed: "config", the error, or None."""
        if answer.get("answer") == "config":
            return "config" if self.set_configuration(answer["config"], now) else None
        if answer.get("answer") == "error" and answer.get("delivered") and self.failure != answer["error"]:
            self.set_error(answer["error"])
            return answer["error"]
        return None

    def status(self) -> str:
        """Network::_status (Network.cpp:1510-1527)."""
        if self.port_error:
            return "PORT_ERROR"
        if self.failure:
            return self.failure
        return "OK" if self.config is not None else "REQUESTING_CONFIGURATION"

    def assigned_addresses(self) -> list[str]:
        """Network::_externalConfig (Network.cpp:1550-1557) copies _config.staticIps whatever the status."""
        return list(self.config["staticIps"]) if self.config else []

    def managed_ips(self) -> list[str]:
        """What OneService syncManagedStuff puts on the tap: assignedAddresses allowed by
        checkIfManagedIsAllowed (OneService.cpp:2703-2731): never NONE/MULTICAST/LOOPBACK/LINK_LOCAL scope,
        GLOBAL only with allowGlobal, nothing without allowManaged."""
        if not self.settings["allowManaged"]:
            return []
        out = []
        for cidr in self.assigned_addresses():
            scope = ip_scope(cidr.split("/")[0])
            if scope in ("NONE", "MULTICAST", "LOOPBACK", "LINK_LOCAL"):
                continue
            if scope == "GLOBAL" and not self.settings["allowGlobal"]:
                continue
            out.append(cidr)
        return out

    # --- what the local API shows -------------------------------------------------------------
    def multicast_subscriptions(self) -> list[dict]:
        """LinuxEthernetTap::scanMulticastGroups (osdep/LinuxEthernetTap.cpp:533-568): the groups the kernel
        joined on the device (all-hosts 01:00:5e:00:00:01, all-nodes 33:33:00:00:00:01 on an up interface)
        plus, per IPv4 address on the device, the ARP group ff:ff:ff:ff:ff:ff with ADI = the address
        (MulticastGroup::deriveMulticastGroupForAddressResolution); sorted by MAC then ADI.
        Recorded: node2.listnetworks.before-deauth.json (adi 177410315 = 10.147.17.11)."""
        if self.config is None:
            return []
        groups = {("01:00:5e:00:00:01", 0), ("33:33:00:00:00:01", 0)}
        for cidr in self.iface_ips:
            ip = ipaddress.ip_interface(cidr).ip
            if ip.version == 4:
                groups.add(("ff:ff:ff:ff:ff:ff", int(ip)))
        return [{"adi": adi, "mac": mac} for mac, adi in sorted(groups)]

    def to_json(self) -> dict:
        """service/OneService.cpp:508-596 _networkToJson over Network::_externalConfig (Network.cpp:1530-1580).
        Key set and value types as in recorded/node1.listnetworks.json."""
        c = self.config
        routes = [{"target": r["target"], "via": r["via"], "flags": 0, "metric": 0} for r in c["routes"]] if c else []
        return {
            "id": self.nwid, "nwid": self.nwid, "mac": mac_for(self.address, self.nwid),
            "name": c["name"] if c else "",
            "status": self.status(),
            "type": ("PRIVATE" if c["private"] else "PUBLIC") if c else "PRIVATE",
            "mtu": c["mtu"] if c else DEFAULT_MTU,
            "dhcp": False,
            # Network.cpp:1543-1544: bridge when this node is one of the config's active bridges
            "bridge": bool(c) and self.address in c["activeBridges"],
            "broadcastEnabled": bool(c and c["enableBroadcast"]),
            "portError": self.port_error,
            "netconfRevision": c["revision"] if c else 0,
            "portDeviceName": self.device,
            **self.settings,
            "assignedAddresses": self.assigned_addresses(),
            "routes": routes,
            "multicastSubscriptions": self.multicast_subscriptions(),
            "dns": {"domain": c["dns"].get("domain", "") if c else "", "servers": list(c["dns"].get("servers", [])) if c else []},
        }


def status_json(address: str, public_identity: str, home: str, port: int, clock_ms: int, online: bool = True,
                local_conf: dict | None = None) -> dict:
    """GET /status (service/OneService.cpp:2165-2230); key set as in recorded/node1.info.json. The double has
    no UDP sockets: listeningOn/surfaceAddresses are empty, secondary/tertiary ports 0."""
    config = dict(local_conf or {})
    settings = dict(config.get("settings", {}))
    # OneService.cpp:2587 default true; the recording shows false (the lab's local.conf, an offline lab)
    settings.setdefault("allowTcpFallbackRelay", True)
    settings.setdefault("forceTcpRelay", False)
    settings["primaryPort"] = settings.get("primaryPort", port) & 0xffff
    settings["secondaryPort"] = settings.get("secondaryPort", 0) & 0xffff
    settings["tertiaryPort"] = settings.get("tertiaryPort", 0) & 0xffff
    settings["homeDir"] = home
    settings["listeningOn"] = []
    settings["surfaceAddresses"] = []
    settings["portMappingEnabled"] = settings.get("portMappingEnabled", True)  # ZT_USE_MINIUPNPC build (recorded true)
    settings["softwareUpdate"] = settings.get("softwareUpdate", "disable")  # ZT_SOFTWARE_UPDATE_DEFAULT
    settings["softwareUpdateChannel"] = settings.get("softwareUpdateChannel", "release")
    config["settings"] = settings
    return {"address": address, "publicIdentity": public_identity, "online": online, "tcpFallbackActive": False,
            "versionMajor": VERSION[0], "versionMinor": VERSION[1], "versionRev": VERSION[2], "versionBuild": 0,
            "version": "%d.%d.%d" % VERSION, "clock": clock_ms, "config": config,
            # no planet in the double; recorded values are the lab's private planet's
            "planetWorldId": 0, "planetWorldTimestamp": 0}
