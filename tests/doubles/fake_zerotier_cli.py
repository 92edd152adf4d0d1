#!/usr/bin/env python3
"""A stand-in for `zerotier-cli -j listnetworks` (fields as in ZeroTierOne's OneService.cpp JSON)."""
import json
import sys

ADDRESS = sys.argv[sys.argv.index("--address") + 1] if "--address" in sys.argv else "10.147.17.10"
print(json.dumps([{"id": "8bd5124fd6000001", "nwid": "8bd5124fd6000001", "name": "daskmetal", "status": "OK",
                   "type": "PRIVATE", "portDeviceName": "ztabcdef12", "bridge": False,
                   "assignedAddresses": [ADDRESS + "/24"]}]))
