# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Filter apt_keyring_problems: is a downloaded apt keyring exactly the pinned key?"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: apt_keyring_problems
short_description: List why a downloaded apt keyring is not exactly the pinned key(s)
version_added: 0.1.0
description:
  - Reads the output of C(gpg --show-keys --with-colons) (GnuPG doc/DETAILS colon format) and compares the
    keyring's primary keys with the pinned fingerprint(s) (module_utils/apt_keyring.py).
  - apt trusts every key in a C(Signed-By) keyring, so a file that carries the pinned key and another key is
    rejected, as is a file whose pinned fingerprint is only a subkey, a file with no key and one with secret keys.
  - An empty list means the keyring is acceptable.
options:
  _input:
    description: The stdout of C(gpg --show-keys --with-colons FILE).
    type: str
    required: true
  expected:
    description: The pinned primary fingerprint, or a list of them (spaces and case do not matter).
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Reject a keyring that is not exactly Docker's key
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join('; ') }}"
  vars:
    __problems: "{{ __docker_key_info.stdout | daskmetal.platform.apt_keyring_problems(docker_apt_key_fingerprint) }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the keyring holds exactly the pinned primary key(s).
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.daskmetal.platform.plugins.module_utils.apt_keyring import keyring_problems


def apt_keyring_problems(colons, expected):
    if not isinstance(colons, str):
        raise AnsibleFilterError("apt_keyring_problems: expects gpg's colon listing as a string")
    if isinstance(expected, str):
        pinned = str(expected)
    elif isinstance(expected, (list, tuple)):
        pinned = [str(fpr) for fpr in expected]
    else:
        raise AnsibleFilterError("apt_keyring_problems: expected is a fingerprint or a list of fingerprints")
    return keyring_problems(str(colons), pinned)


class FilterModule(object):
    def filters(self):
        return {"apt_keyring_problems": apt_keyring_problems}
