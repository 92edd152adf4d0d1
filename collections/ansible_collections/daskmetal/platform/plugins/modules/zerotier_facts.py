#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: zerotier_facts
short_description: Read a node's ZeroTier identity and joined networks from zerotier-cli
version_added: 0.1.0
description:
  - Runs C(zerotier-cli -j info) and C(zerotier-cli -j listnetworks) (JSON output of the local service API,
    ZeroTierOne service/OneService.cpp) and returns the node id and each joined network's status, interface and
    addresses. Changes nothing, so it runs in check mode too.
options:
  network_id:
    description: Also return this network (16 hex digits) as RV(network), or null when the node has not joined it.
    type: str
  cli:
    description: The zerotier-cli command.
    type: path
    default: zerotier-cli
  home:
    description: The zerotier-one home directory (used for C(identity.public) when the service does not answer).
    type: path
    default: /var/lib/zerotier-one
author:
  - daskmetal maintainers
"""

EXAMPLES = r"""
- name: Read the node's ZeroTier state
  daskmetal.platform.zerotier_facts:
    network_id: 8bd5124fd6000001
  register: zt

- name: Wait until the network is up with the planned address
  daskmetal.platform.zerotier_facts:
    network_id: 8bd5124fd6000001
  register: zt
  until: zt.network and zt.network.status == 'OK' and '10.147.17.10/24' in zt.network.assignedAddresses
  retries: 30
  delay: 2
"""

RETURN = r"""
node_id:
  description: The node's 10-hex-digit ZeroTier address.
  returned: always
  type: str
  sample: 0123456789
online:
  description: Whether the node reaches the ZeroTier roots (C(online) of C(info)); null when the service does not answer.
  returned: always
  type: bool
version:
  description: zerotier-one version.
  returned: always
  type: str
service_running:
  description: Whether the local service answered C(zerotier-cli).
  returned: always
  type: bool
networks:
  description: Joined networks, as listed by C(listnetworks).
  returned: always
  type: list
  elements: dict
  contains:
    nwid:
      description: Network id.
      type: str
    status:
      description: OK, REQUESTING_CONFIGURATION, ACCESS_DENIED, NOT_FOUND, PORT_ERROR, CLIENT_TOO_OLD or AUTHENTICATION_REQUIRED.
      type: str
    portDeviceName:
      description: The Linux interface (for example ztabcdef12).
      type: str
    assignedAddresses:
      description: Addresses with prefix length, for example 10.147.17.10/24.
      type: list
      elements: str
    bridge:
      description: Whether the controller made this member an active bridge.
      type: bool
network:
  description: The entry of RV(networks) for O(network_id), or null.
  returned: always
  type: dict
addresses:
  description: The IPv4 addresses (no prefix) of RV(network), for convenience.
  returned: always
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule


def run_json(module, cli, *args):
    rc, out, err = module.run_command([cli, "-j"] + list(args))
    if rc != 0:
        return None, (err or out).strip()
    try:
        return json.loads(out), None
    except ValueError:
        return None, "not JSON: %s" % out.strip()[:200]


def main():
    module = AnsibleModule(argument_spec=dict(
        network_id=dict(type="str"),
        cli=dict(type="path", default="zerotier-cli"),
        home=dict(type="path", default="/var/lib/zerotier-one"),
    ), supports_check_mode=True)
    p = module.params
    cli = module.get_bin_path(p["cli"], required=False) or (p["cli"] if os.path.exists(p["cli"]) else None)
    if cli is None:
        module.fail_json(msg="%s not found: is zerotier-one installed?" % p["cli"])
    result = dict(changed=False, node_id=None, online=None, version=None, service_running=False, networks=[],
                  network=None, addresses=[])
    info, err = run_json(module, cli, "info")
    if info is None:
        ident = os.path.join(p["home"], "identity.public")
        if os.path.exists(ident):
            with open(ident) as fh:
                result["node_id"] = fh.read().strip()[:10]
        module.fail_json(msg="zerotier-cli -j info failed (is zerotier-one running?): %s" % err, **result)
    result.update(node_id=info.get("address"), online=info.get("online"), version=info.get("version"), service_running=True)
    nets, err = run_json(module, cli, "listnetworks")
    if nets is None:
        module.fail_json(msg="zerotier-cli -j listnetworks failed: %s" % err, **result)
    result["networks"] = nets
    nwid = (p["network_id"] or "").strip().lower()
    if nwid:
        for net in nets:
            if (net.get("nwid") or net.get("id")) == nwid:
                result["network"] = net
                result["addresses"] = [a.split("/")[0] for a in net.get("assignedAddresses") or [] if ":" not in a]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
