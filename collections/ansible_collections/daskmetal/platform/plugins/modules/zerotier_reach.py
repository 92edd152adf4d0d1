#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: zerotier_reach
short_description: Check that this ZeroTier member reaches the other members (ICMP echo over ZeroTier)
version_added: 0.1.0
description:
  - Pings every peer's ZeroTier address (a raw ICMP socket, so it needs root) until each answered once or
    O(timeout) passed, and fails naming both ends of each pair that never answered.
  - zerotier-one can report status OK with the address on the interface while members cannot talk, for example
    when C(multicastLimit) is at or below the number of active bridges (ARP goes to the bridges first).
  - Changes nothing, so it runs in check mode too.
options:
  name:
    description: This host's name, for the messages.
    type: str
    required: true
  source:
    description: This host's ZeroTier address, used as the source of the pings.
    type: str
  peers:
    description: The other members, name to ZeroTier IPv4 address.
    type: dict
    required: true
  timeout:
    description: Seconds to keep trying.
    type: int
    default: 60
  multicast_limit:
    description: The network's multicastLimit, for the failure message.
    type: int
  active_bridges:
    description: The names of the active bridges, for the failure message.
    type: list
    elements: str
    default: []
author:
  - daskmetal maintainers
"""

EXAMPLES = r"""
- name: Reach every other member over ZeroTier
  daskmetal.platform.zerotier_reach:
    name: "{{ inventory_hostname }}"
    source: 10.147.17.10
    peers: {node2: 10.147.17.11, node3: 10.147.17.12}
    timeout: 60
"""

RETURN = r"""
reached:
  description: The peers that answered.
  returned: always
  type: list
  elements: str
unreached:
  description: The peers that never answered, name to address.
  returned: always
  type: dict
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.daskmetal.platform.plugins.module_utils.zerotier_reach import (
    failure_message,
    ping_once,
    reach,
)


def main():
    module = AnsibleModule(argument_spec=dict(
        name=dict(type="str", required=True),
        source=dict(type="str"),
        peers=dict(type="dict", required=True),
        timeout=dict(type="int", default=60),
        multicast_limit=dict(type="int"),
        active_bridges=dict(type="list", elements="str", default=[]),
    ), supports_check_mode=True)
    p = module.params
    peers = {}
    for peer, address in p["peers"].items():
        try:
            peers[str(peer)] = str(ipaddress.IPv4Address(str(address)))
        except ValueError:
            module.fail_json(msg="peer %s: %r is not an IPv4 address" % (peer, address))

    def ping(address, seconds, seq):
        try:
            return ping_once(address, seconds, source=p["source"], seq=seq)
        except PermissionError as exc:
            module.fail_json(msg="cannot open a raw ICMP socket (run as root: become: true): %s" % exc)
        except OSError:
            return False  # no route yet, for example: try again until the timeout

    unreached = reach(peers, p["timeout"], ping)
    result = dict(changed=False, reached=sorted(set(peers) - set(unreached)), unreached=unreached)
    if unreached:
        module.fail_json(msg=failure_message(p["name"], p["source"] or "?", unreached, p["timeout"],
                                             p["multicast_limit"], p["active_bridges"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
