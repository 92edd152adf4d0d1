# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Filters rke2_node_problems and rke2_readyz_problems: the rke2 role's rolling-restart health gate."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: rke2_node_problems
short_description: What keeps an RKE2 node from passing the rolling-restart gate
version_added: 0.1.0
description:
  - Reads the output of C(kubectl get node <name> -o json) and lists what is wrong; an empty list means the node
    is C(Ready), has the expected InternalIP and its kubelet reports the expected RKE2 version
    (C(status.nodeInfo.kubeletVersion)). See module_utils/rke2_gate.py.
  - The companion filter C(rke2_readyz_problems) reads C(kubectl get --raw /readyz?verbose) and lists failed checks,
    a missing C(etcd) check and a missing C(readyz check passed) line.
options:
  _input:
    description: The JSON text of the Node object.
    type: str
    required: true
  version:
    description: The RKE2 version the node must run (rke2_version).
    type: str
    required: true
  node_ip:
    description: The InternalIP the node must report (rke2_node_ip); empty skips the check.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Health gate
  ansible.builtin.command:
    argv: [kubectl, get, node, "{{ rke2_node_name }}", -o, json]
  register: __node
  until: __node.rc == 0 and (__node.stdout | daskmetal.platform.rke2_node_problems(rke2_version, rke2_node_ip)) | length == 0
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the node passes.
  type: list
  elements: str
"""

from ansible_collections.daskmetal.platform.plugins.module_utils.rke2_gate import node_problems, readyz_problems


def rke2_node_problems(node_json, version, node_ip):
    return node_problems(str(node_json), str(version), str(node_ip or ""))


def rke2_readyz_problems(text):
    return readyz_problems(str(text or ""))


class FilterModule(object):
    def filters(self):
        return {"rke2_node_problems": rke2_node_problems, "rke2_readyz_problems": rke2_readyz_problems}
