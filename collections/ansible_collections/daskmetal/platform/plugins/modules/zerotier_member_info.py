#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: zerotier_member_info
short_description: List a ZeroTier network's members and warn about stale members holding planned addresses
version_added: 0.1.0
description:
  - Reads every member of the network in one request (Central C(GET /network/{id}/member); the self-hosted
    controller C(GET /unstable/controller/network/{id}/member), since zerotier-one 1.14.0).
  - With O(planned), finds the authorized members that hold a planned address but are not the node it is planned
    for, and warns about each. Neither ZeroTier Central nor the controller refuses two members with the same
    static address. A re-imaged host comes back with a new node id while its old, still authorized record keeps
    the address.
  - Read-only; runs the same in check mode.
extends_documentation_fragment:
  - daskmetal.platform.zerotier
options:
  network_id:
    description: The 16-hex-digit network id.
    type: str
    required: true
  planned:
    description:
      - The hosts of this run and their planned addresses. Members whose id is one of these node ids are not
        reported (the run sets their addresses).
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: Inventory name (used in the messages).
        type: str
        required: true
      node_id:
        description: The host's current 10-hex-digit ZeroTier address.
        type: str
        required: true
      address:
        description: The host's planned ZeroTier address (no prefix length).
        type: str
        required: true
  fix_hint:
    description:
      - Appended to each warning, saying how to remove a stale member in this setup. Empty gives the API's way
        (Central's web UI, or the controller's DELETE request).
    type: str
    default: ""
author:
  - daskmetal maintainers
"""

EXAMPLES = r"""
- name: Look for stale members holding this host's planned address
  daskmetal.platform.zerotier_member_info:
    backend: controller
    network_id: "{{ zerotier_network_id }}"
    planned:
      - host: "{{ inventory_hostname }}"
        node_id: "{{ zerotier_node_id }}"
        address: "{{ daskmetal_plan_derived.hosts[inventory_hostname].address }}"
  become: true
  register: members
"""

RETURN = r"""
members:
  description: Every member of the network, flat, with the API's field names, ordered by id.
  returned: success
  type: list
  elements: dict
  sample:
    - id: cf18ff9e92
      networkId: a58e865785c5e08b
      name: node1
      description: null
      authorized: true
      activeBridge: false
      ipAssignments: [10.147.17.10]
      noAutoAssignIps: true
stale:
  description:
    - The authorized members holding a planned address of another node, one entry per (host, member), with the
      warning given for it in C(message).
  returned: success
  type: list
  elements: dict
  sample:
    - host: node1
      address: 10.147.17.10
      node_id: 0a1b2c3d4e
      member_id: cf18ff9e92
      member_name: node1
      message: ZeroTier member cf18ff9e92 (node1) on network ... holds 10.147.17.10, the planned address of node1 ...
messages:
  description: The warning of each entry of RV(stale), naming the member, the address and the fix.
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.daskmetal.platform.plugins.module_utils.zerotier_api import (
    COMMON_ARGS, ZeroTierApiError, check_network_id, check_node_id, client_from_module, stale_holders)


def default_fix(backend, nwid, member_id):
    if backend == "central":
        return ("delete member %s in ZeroTier Central (my.zerotier.com > Networks > %s > Members: de-authorize, "
                "then delete)" % (member_id, nwid))
    return ("delete it on the controller host: curl -X DELETE -H \"X-ZT1-Auth: $(sudo cat "
            "/var/lib/zerotier-one/authtoken.secret)\" http://127.0.0.1:9993/controller/network/%s/member/%s"
            % (nwid, member_id))


def message(entry, nwid, backend, fix_hint):
    fix = (fix_hint or default_fix(backend, nwid, "{member_id}")).replace("{member_id}", entry["member_id"])
    return ("ZeroTier member %s%s on network %s is authorized and holds %s, the planned address of %s (node %s). "
            "Two members with one address break traffic to it; the controller does not refuse them. If %s is an "
            "old identity of %s (re-imaged) or of a machine that is gone, %s."
            % (entry["member_id"], " (%s)" % entry["member_name"] if entry["member_name"] else "", nwid,
               entry["address"], entry["host"], entry["node_id"], entry["member_id"], entry["host"], fix))


def main():
    args = dict(COMMON_ARGS)
    args.update(
        network_id=dict(type="str", required=True),
        planned=dict(type="list", elements="dict", default=[], options=dict(
            host=dict(type="str", required=True),
            node_id=dict(type="str", required=True),
            address=dict(type="str", required=True),
        )),
        fix_hint=dict(type="str", default=""),
    )
    module = AnsibleModule(argument_spec=args, supports_check_mode=True)
    p = module.params
    nwid = p["network_id"].strip().lower()
    planned = [dict(q, node_id=q["node_id"].strip().lower(), address=q["address"].strip()) for q in p["planned"]]
    try:
        check_network_id(nwid)
        for q in planned:
            check_node_id(q["node_id"])
    except ZeroTierApiError as exc:
        module.fail_json(msg=str(exc))
    client = client_from_module(module)
    try:
        members = client.list_members(nwid)
    except ZeroTierApiError as exc:
        module.fail_json(msg=str(exc), status=exc.status)
    if members is None:
        module.fail_json(msg="network %s does not exist on %s" % (nwid, client._label))
    stale = stale_holders(members, planned)
    for entry in stale:
        entry["message"] = message(entry, nwid, p["backend"], p["fix_hint"])
        module.warn(entry["message"])
    messages = [entry["message"] for entry in stale]
    module.exit_json(changed=False, members=members, stale=stale, messages=messages)


if __name__ == "__main__":
    main()
