# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Filter hostname_problems: what is wrong with a value meant as an Ingress/server-url DNS name."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: hostname_problems
short_description: List what is wrong with a hostname meant for an Ingress rule and Rancher's server-url
version_added: 0.1.0
description:
  - "Returns one message per bad value, as C(<variable>: <problem>; fix: <how>) (module_utils/hostnames.py).
    An empty list means the value is a usable fully qualified DNS name."
  - Rejected are empty values, IP addresses (Kubernetes Ingress hosts must be DNS names), C(localhost), names in
    C(.local), single labels and anything that is not a DNS-1123 subdomain.
options:
  _input:
    description: The value to check.
    type: raw
    required: true
  name:
    description: The variable the value comes from, named in the message.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Check the helm-mode hostname
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join(' | ') }}"
  vars:
    __problems: "{{ rancher_server_hostname | default('') | daskmetal.platform.hostname_problems('rancher_server_hostname') }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the hostname is usable.
  type: list
  elements: str
"""

from ansible_collections.daskmetal.platform.plugins.module_utils.hostnames import hostname_problem


def hostname_problems(value, name):
    problem = hostname_problem(str(name), str(value) if isinstance(value, str) else value)
    return [problem] if problem else []


class FilterModule(object):
    def filters(self):
        return {"hostname_problems": hostname_problems}
