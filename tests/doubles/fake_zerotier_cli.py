#!/usr/bin/env python3
"""A stand-in for `zerotier-cli -j info|listnetworks` of one member with status OK.

    fake_zerotier_cli.py [--address 10.147.17.10] [--nwid 8bd5124fd6000001] [-j] info|listnetworks

Output as zerotier-one 1.14.1 prints it (one.cpp pretty-prints GET /status and GET /network; the objects
come from tests/doubles/zerotier_node.py, which follows service/OneService.cpp _networkToJson; key sets as in
tests/doubles/zerotier_one/recorded/node1.{info,listnetworks}.json).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zerotier_node  # noqa: E402

NODE = "cf18ff9e92"  # node1 of the recorded lab


def main(argv):
    opts = {"--address": "10.147.17.10", "--nwid": "8bd5124fd6000001"}
    words = []
    args = iter(argv)
    for a in args:
        if a in opts:
            opts[a] = next(args)
        elif not a.startswith("-"):
            words.append(a)
    address, nwid = opts["--address"], opts["--nwid"]
    cmd = words[0] if words else "listnetworks"
    if cmd in ("info", "status"):
        print(json.dumps(zerotier_node.status_json(NODE, "%s:0:%s" % (NODE, "0" * 128), "/var/lib/zerotier-one", 9993, 0),
                         indent=1))
        return 0
    if cmd != "listnetworks":
        print("unknown command %s" % cmd)
        return 1
    state = zerotier_node.NetworkState(nwid, NODE)
    state.set_configuration({"nwid": nwid, "name": "daskmetal", "private": True, "mtu": 2800, "enableBroadcast": True,
                             "multicastLimit": 32, "revision": 1, "routes": [{"target": "10.147.17.0/24", "via": None}],
                             "staticIps": [address + "/24"], "activeBridges": [], "dns": {}}, 0.0)
    state.iface_ips = state.managed_ips()
    print(json.dumps([state.to_json()], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
