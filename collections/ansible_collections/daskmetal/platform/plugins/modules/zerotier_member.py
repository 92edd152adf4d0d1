#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: zerotier_member
short_description: Authorize a ZeroTier network member and set its addresses (Central or self-hosted controller)
version_added: 0.1.0
description:
  - Reads the member, compares the given settings and posts only what differs. Settings left unset are not managed.
  - Both APIs create the member record on the first POST, so a node can be authorized before it joins.
    Use O(wait_timeout) to wait until the node has actually asked the controller for its configuration
    (the member then exists), which catches a wrong node or network id early.
extends_documentation_fragment:
  - daskmetal.platform.zerotier
options:
  network_id:
    description: The 16-hex-digit network id.
    type: str
    required: true
  node_id:
    description: The member's 10-hex-digit ZeroTier address (C(zerotier-cli info), or the facts of M(daskmetal.platform.zerotier_facts)).
    type: str
    required: true
  state:
    description: C(absent) deletes the member record.
    type: str
    choices: [present, absent]
    default: present
  authorized:
    description: Whether the member may use a private network.
    type: bool
  name:
    description: Member name (shown in Central and the controller).
    type: str
  description:
    description: Member description (Central only; ignored by the self-hosted controller, which has no such field).
    type: str
  ip_assignments:
    description: Static managed addresses (without prefix). They must lie inside a managed route of the network.
    type: list
    elements: str
  active_bridge:
    description:
      - Make the member an active bridge. Bridges receive all multicast traffic, including ARP for addresses that
        are on no ZeroTier interface; MetalLB layer-2 speakers need this because ZeroTier does not flood ARP.
        A bridge still gets a pool address unless O(no_auto_assign_ips) is set.
    type: bool
  no_auto_assign_ips:
    description: Exempt the member from the auto-assign pools (it gets only O(ip_assignments)).
    type: bool
  create:
    description:
      - With O(state=present), whether to create a member record that does not exist (both APIs create it on the
        first POST). C(false) changes only an existing member, for example to de-authorize a member that may
        already be gone without creating it again.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the member to exist on the controller before changing it (0 does not wait).
        Fails when it does not appear. In check mode the module does not wait.
    type: int
    default: 0
author:
  - daskmetal maintainers
"""

EXAMPLES = r"""
- name: Authorize this host with its planned address (Central)
  daskmetal.platform.zerotier_member:
    backend: central
    api_token: "{{ vault_zerotier_api_token }}"
    network_id: "{{ daskmetal_plan_derived.network.network_id }}"
    node_id: "{{ zerotier_node_id }}"
    name: "{{ inventory_hostname }}"
    authorized: true
    ip_assignments: ["{{ daskmetal_plan_derived.hosts[inventory_hostname].address }}"]
    active_bridge: "{{ daskmetal_plan_derived.hosts[inventory_hostname].active_bridge }}"
    no_auto_assign_ips: true
    wait_timeout: 120
  delegate_to: localhost
"""

RETURN = r"""
member:
  description: The member after the change, flat, with the API's field names.
  returned: when state=present
  type: dict
  sample:
    id: 0123456789
    networkId: 8bd5124fd6000001
    name: epyc-agent-1
    description: null
    authorized: true
    activeBridge: true
    ipAssignments: [10.147.17.14]
    noAutoAssignIps: true
existed:
  description: Whether the member record existed before (the node had contacted the controller or was pre-authorized).
  returned: always
  type: bool
changes:
  description: "The fields that differ, as {field: [current, wanted]}."
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.daskmetal.platform.plugins.module_utils.zerotier_api import (
    COMMON_ARGS, MEMBER_CONFIG_FIELDS, ZeroTierApiError, canonical, check_network_id, check_node_id,
    client_from_module, differences)

VIEW = ("name", "description") + MEMBER_CONFIG_FIELDS


def view(member):
    return {f: canonical(f, (member or {}).get(f)) for f in VIEW}


def main():
    args = dict(COMMON_ARGS)
    args.update(
        network_id=dict(type="str", required=True),
        node_id=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        authorized=dict(type="bool"),
        name=dict(type="str"),
        description=dict(type="str"),
        ip_assignments=dict(type="list", elements="str"),
        active_bridge=dict(type="bool"),
        no_auto_assign_ips=dict(type="bool"),
        create=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=0),
    )
    module = AnsibleModule(argument_spec=args, supports_check_mode=True)
    p = module.params
    nwid = p["network_id"].strip().lower()
    node = p["node_id"].strip().lower()
    result = dict(changed=False, existed=False, changes={})
    try:
        check_network_id(nwid)
        check_node_id(node)
    except ZeroTierApiError as exc:
        module.fail_json(msg=str(exc), **result)
    client = client_from_module(module)
    want = {"name": p["name"], "authorized": p["authorized"], "ipAssignments": p["ip_assignments"],
            "activeBridge": p["active_bridge"], "noAutoAssignIps": p["no_auto_assign_ips"]}
    if p["backend"] == "central":
        want["description"] = p["description"]
    elif p["description"] is not None:
        module.warn("description is ignored by the self-hosted controller (it has no such field)")
    try:
        if p["wait_timeout"] > 0 and not module.check_mode and p["state"] == "present":
            current = client.wait_for_member(nwid, node, p["wait_timeout"])
            if current is None:
                module.fail_json(msg="member %s did not appear on network %s within %ds: has the node joined (zerotier-cli join %s) "
                                     "and can it reach its controller?" % (node, nwid, p["wait_timeout"], nwid), **result)
        else:
            current = client.get_member(nwid, node)
        result["existed"] = current is not None

        if p["state"] == "absent":
            if current is not None:
                result.update(changed=True, diff=dict(before=view(current), after={}))
                if not module.check_mode:
                    client.delete_member(nwid, node)
            module.exit_json(**result)
        if current is None and not p["create"]:
            module.exit_json(**result)  # nothing to change, and asked not to create it

        changes = differences(current or {}, want)
        if current is None:
            changes = {f: (None, canonical(f, v)) for f, v in want.items() if v is not None}
            if not changes:  # nothing wanted: still create the record so it can be managed
                changes = {"authorized": (None, False)}
        result.update(member=current, changes=changes)
        if changes:
            after = dict(current or {"id": node, "networkId": nwid})
            after.update({f: w for f, (h, w) in changes.items()})
            result.update(changed=True, diff=dict(before=view(current) if current else {}, after=view(after)))
            if module.check_mode:
                result["member"] = after
            else:
                body = {f: want[f] for f in changes if want.get(f) is not None}
                result["member"] = client.update_member(nwid, node, body)
                left = differences(result["member"], want)
                if left:
                    module.fail_json(msg="the API accepted the update but still reports different values for %s"
                                         % ", ".join(sorted(left)), **result)
    except ZeroTierApiError as exc:
        module.fail_json(msg=str(exc), status=exc.status, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
