# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Filter secret_problems: what is wrong with the secrets a role is given (empty, default, placeholder)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: secret_problems
short_description: List what is wrong with secret variables (empty, a known default or a placeholder)
version_added: 0.1.0
description:
  - "Checks each secret with one rule (module_utils/secrets.py) and returns one message per bad secret, in the
    form C(<variable> (from <source>): <what is wrong>; fix: <how>). An empty list means every secret is acceptable."
  - Rejected are empty or undefined values (unless O(_input[].allow_empty)), non-strings, well-known defaults
    (C(admin), C(password), C(prom-operator), C(changeme), ...), placeholders (C(replace...), C(CHANGE...),
    C(<...>), C(xxx...), the values of C(inventories/example/group_vars/all/vault.yml.example)) and values
    shorter than O(_input[].min_length).
  - Messages never contain the value, so the calling C(assert) needs no C(no_log) to show them.
options:
  _input:
    description: The secrets to check.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The variable the role reads.
        type: str
        required: true
      value:
        description: Its value; pass C(var | default(none)) so an undefined variable is reported, not raised.
        type: raw
      source:
        description: The variable its default comes from (the vault variable), named in the fix.
        type: str
      min_length:
        description: The shortest acceptable value.
        type: int
        default: 1
      allow_empty:
        description: An empty value is acceptable (the role generates one).
        type: bool
        default: false
"""

EXAMPLES = r"""
- name: Check the join token
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join(' | ') }}"
    quiet: true
  vars:
    __problems: >-
      {{ [{'name': 'rke2_token', 'source': 'vault_rke2_token', 'value': rke2_token | default(none), 'min_length': 16}]
         | daskmetal.platform.secret_problems }}
"""

RETURN = r"""
_value:
  description: One message per unacceptable secret; empty when all are acceptable.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.daskmetal.platform.plugins.module_utils.secrets import secret_problems as _problems


def _plain(value):
    """Ansible's lazy/unsafe strings become plain str; other scalars stay as they are (a number is reported)."""
    return str(value) if isinstance(value, str) else value


def secret_problems(items):
    if not isinstance(items, (list, tuple)):
        raise AnsibleFilterError("secret_problems: expects a list of {name, value, ...} mappings")
    plain = []
    for item in items:
        if not hasattr(item, "keys") or "name" not in item:
            raise AnsibleFilterError("secret_problems: every item needs a name")
        plain.append({str(k): _plain(item[k]) for k in item.keys()})
    return _problems(plain)


class FilterModule(object):
    def filters(self):
        return {"secret_problems": secret_problems}
