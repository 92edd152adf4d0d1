# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Filter plan_derive: validate the addressing plan and return the derived values."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: plan_derive
short_description: Validate the daskmetal addressing plan and derive every address
version_added: 0.1.0
description:
  - Validates the C(daskmetal_plan) inventory variable and returns the derived plan (network settings for the
    ZeroTier controller, one address per host of the C(zerotier_nodes) group, MetalLB pools and speakers,
    fixed service addresses, Kubernetes ranges). See docs/contracts.md, "The addressing plan".
  - Hosts listed in C(nodes) keep their address; every other host of C(zerotier_nodes) gets the lowest free
    address of C(zerotier.node_range), in inventory order. Appending hosts never renumbers existing ones;
    pin addresses in C(nodes) before inserting or removing hosts in the middle of the inventory.
  - Fails, before any host is touched, with every problem found, each naming the variable to fix.
options:
  _input:
    description: The C(daskmetal_plan) variable.
    type: dict
    required: true
  groups:
    description: The inventory C(groups) magic variable.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Derive the plan
  ansible.builtin.set_fact:
    daskmetal_plan_derived: "{{ daskmetal_plan | daskmetal.platform.plan_derive(groups) }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: >-
    The derived plan: network (network_id, network_name, cidr, prefixlen, netmask, mtu, multicast_limit, private,
    enable_broadcast, routes, ip_assignment_pools, v4_assign_mode, node_range), hosts (per host: address,
    address_cidr, address_source, metallb_speaker, active_bridge), metallb (speakers, pools), services,
    service_pools, kubernetes (cluster_cidr, service_cidr).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.daskmetal.platform.plugins.module_utils.plan import PlanError, derive


def _plain(value):
    """Turn Ansible's lazy/unsafe containers into plain Python values."""
    if isinstance(value, dict) or hasattr(value, "keys"):
        return {str(k): _plain(value[k]) for k in value.keys()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def plan_derive(plan, groups):
    try:
        return derive(_plain(plan), _plain(groups))
    except PlanError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"plan_derive": plan_derive}
