#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: zerotier_network
short_description: Ensure the settings of a ZeroTier network (Central or self-hosted controller)
version_added: 0.1.0
description:
  - Reads the network, compares the given settings and posts only what differs. Settings left unset are not managed.
  - With O(backend=controller) and no O(network_id), finds the controller's network named O(name) or creates one
    (POST C(/controller/network/<controller id>______)), so repeated runs reuse the same network.
extends_documentation_fragment:
  - daskmetal.platform.zerotier
options:
  network_id:
    description:
      - The 16-hex-digit network id. Required for O(backend=central).
      - Empty with O(backend=controller) means use the network called O(name) on this controller, creating it if needed.
    type: str
  name:
    description: Network name.
    type: str
  private:
    description: Members need authorization (true) or anyone may join (false).
    type: bool
  routes:
    description: Managed routes. Managed addresses and pools are ignored by ZeroTier unless they fall inside one.
    type: list
    elements: dict
    suboptions:
      target:
        description: Route target in CIDR notation.
        type: str
        required: true
      via:
        description: Gateway; null for a route on the ZeroTier network itself.
        type: str
  ip_assignment_pools:
    description: Auto-assign pools.
    type: list
    elements: dict
    suboptions:
      ip_range_start:
        description: First address.
        type: str
        required: true
        aliases: [ipRangeStart]
      ip_range_end:
        description: Last address.
        type: str
        required: true
        aliases: [ipRangeEnd]
  mtu:
    description: MTU of the virtual network (1280-10000; ZeroTier's default 2800).
    type: int
  multicast_limit:
    description: Maximum recipients of a multicast. Never 0, which breaks ARP and so IPv4.
    type: int
  enable_broadcast:
    description: Allow Ethernet broadcast (ff:ff:ff:ff:ff:ff).
    type: bool
  v4_assign_mode:
    description: IPv4 auto-assignment mode.
    type: dict
    suboptions:
      zt:
        description: Assign addresses from O(ip_assignment_pools) to members without one.
        type: bool
        required: true
author:
  - daskmetal maintainers
"""

EXAMPLES = r"""
- name: Ensure the Central network matches the plan
  daskmetal.platform.zerotier_network:
    backend: central
    api_token: "{{ vault_zerotier_api_token }}"
    network_id: "{{ daskmetal_plan_derived.network.network_id }}"
    name: "{{ daskmetal_plan_derived.network.network_name }}"
    private: true
    routes: "{{ daskmetal_plan_derived.network.routes }}"
    ip_assignment_pools: "{{ daskmetal_plan_derived.network.ip_assignment_pools }}"
    v4_assign_mode: "{{ daskmetal_plan_derived.network.v4_assign_mode }}"
    mtu: 2800
    multicast_limit: 32
  delegate_to: localhost
  run_once: true

- name: Create (or find by name) the network on the self-hosted controller
  daskmetal.platform.zerotier_network:
    backend: controller
    name: daskmetal
    routes: [{target: 10.147.17.0/24}]
  register: net
"""

RETURN = r"""
network_id:
  description: The network id (new when the module created the network; empty in check mode before creation).
  returned: always
  type: str
  sample: 8bd5124fd6000001
created:
  description: Whether the network was (or, in check mode, would be) created.
  returned: always
  type: bool
network:
  description: The network after the change, flat, with the API's field names.
  returned: always
  type: dict
  sample:
    id: 8bd5124fd6000001
    name: daskmetal
    private: true
    mtu: 2800
    multicastLimit: 32
    enableBroadcast: true
    routes: [{target: 10.147.17.0/24, via: null}]
    ipAssignmentPools: [{ipRangeStart: 10.147.17.100, ipRangeEnd: 10.147.17.149}]
    v4AssignMode: {zt: true}
changes:
  description: "The fields that differ, as {field: [current, wanted]}."
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.daskmetal.platform.plugins.module_utils.zerotier_api import (
    COMMON_ARGS, NETWORK_FIELDS, ZeroTierApiError, canonical, client_from_module, differences)


def wanted_settings(p):
    pools = None
    if p["ip_assignment_pools"] is not None:
        pools = [{"ipRangeStart": x["ip_range_start"], "ipRangeEnd": x["ip_range_end"]} for x in p["ip_assignment_pools"]]
    routes = None
    if p["routes"] is not None:
        routes = [{"target": r["target"], "via": r.get("via") or None} for r in p["routes"]]
    v4 = None
    if p["v4_assign_mode"] is not None:
        v4 = {"zt": bool(p["v4_assign_mode"]["zt"])}
    return {
        "name": p["name"], "private": p["private"], "mtu": p["mtu"], "multicastLimit": p["multicast_limit"],
        "enableBroadcast": p["enable_broadcast"], "routes": routes, "ipAssignmentPools": pools, "v4AssignMode": v4,
    }


def canon_view(net):
    return {f: canonical(f, (net or {}).get(f)) for f in NETWORK_FIELDS}


def main():
    args = dict(COMMON_ARGS)
    args.update(
        network_id=dict(type="str", default=""),
        name=dict(type="str"),
        private=dict(type="bool"),
        routes=dict(type="list", elements="dict", options=dict(target=dict(type="str", required=True), via=dict(type="str"))),
        ip_assignment_pools=dict(type="list", elements="dict", options=dict(
            ip_range_start=dict(type="str", required=True, aliases=["ipRangeStart"]),
            ip_range_end=dict(type="str", required=True, aliases=["ipRangeEnd"]))),
        mtu=dict(type="int"),
        multicast_limit=dict(type="int"),
        enable_broadcast=dict(type="bool"),
        v4_assign_mode=dict(type="dict", options=dict(zt=dict(type="bool", required=True))),
    )
    module = AnsibleModule(argument_spec=args, supports_check_mode=True)
    p = module.params
    nwid = (p["network_id"] or "").strip().lower()
    if p["mtu"] is not None and not 1280 <= p["mtu"] <= 10000:
        module.fail_json(msg="mtu must be between 1280 and 10000 (ZeroTier clamps other values), got %d" % p["mtu"])
    if p["multicast_limit"] is not None and p["multicast_limit"] < 1:
        module.fail_json(msg="multicast_limit must be at least 1: 0 disables multicast and with it ARP (IPv4)")
    if not nwid and (p["backend"] == "central" or not p["name"]):
        module.fail_json(msg="network_id is required" + ("" if p["backend"] == "controller" else " for backend=central")
                         + (" (or give name to find/create the network on the controller)" if p["backend"] == "controller" else ""))

    client = client_from_module(module)
    want = wanted_settings(p)
    result = dict(changed=False, created=False, network_id=nwid, network={}, changes={})
    try:
        current = None
        if nwid and p["backend"] == "controller" and nwid[:10] != client.node_id():
            # the controller stores any id but serves only its own (EmbeddedNetworkController.cpp:585,1389 of 1.14.1):
            # members of a foreign id would wait in REQUESTING_CONFIGURATION for ever
            module.fail_json(msg="network_id %s does not start with this controller's node id %s: the controller only "
                                 "serves networks it owns (give \"\" to create one)" % (nwid, client.node_id()), **result)
        if nwid:
            current = client.get_network(nwid)
            if current is None and p["backend"] == "central":
                module.fail_json(msg="network %s not found in ZeroTier Central with this token (404); check "
                                     "daskmetal_plan.zerotier.network_id" % nwid, **result)
        else:
            for candidate in client.list_networks():
                net = client.get_network(candidate)
                if net and net.get("name") == p["name"]:
                    if current is not None:
                        module.fail_json(msg="more than one network on the controller is named %r (%s, %s); set network_id"
                                             % (p["name"], current["id"], net["id"]), **result)
                    current = net
            if current is not None:
                nwid = current["id"]
        if current is None:
            # create: on the controller with a random id (or the given one: the controller accepts any id it owns)
            changes = {f: (None, canonical(f, v)) for f, v in want.items() if v is not None}
            result.update(changed=True, created=True, changes=changes)
            if module.check_mode:
                result["network"] = {f: canonical(f, want.get(f)) for f in NETWORK_FIELDS}
                result["network"]["id"] = nwid or None
                result["diff"] = dict(before={}, after=result["network"])
                module.exit_json(**result)
            net = client.update_network(nwid, want) if nwid else client.create_network(want)
            result.update(network=net, network_id=net["id"], diff=dict(before={}, after=canon_view(net)))
            left = differences(net, want)  # like the update path: the API must report what was asked
            if left:
                module.fail_json(msg="the API created network %s but reports different values for %s "
                                     "(check JSON types and ranges)" % (net["id"], ", ".join(sorted(left))), **result)
            module.exit_json(**result)

        changes = differences(current, want)
        result.update(network_id=nwid, network=current, changes=changes)
        if changes:
            after = dict(current)
            after.update({f: w for f, (h, w) in changes.items()})
            result.update(changed=True, diff=dict(before=canon_view(current), after=canon_view(after)))
            if module.check_mode:
                result["network"] = after
            else:
                result["network"] = client.update_network(nwid, {f: want[f] for f in changes})
                left = differences(result["network"], want)
                if left:
                    module.fail_json(msg="the API accepted the update but still reports different values for %s "
                                         "(check JSON types and ranges)" % ", ".join(sorted(left)), **result)
    except ZeroTierApiError as exc:
        module.fail_json(msg=str(exc), status=exc.status, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
