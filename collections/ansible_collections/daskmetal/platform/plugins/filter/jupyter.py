# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Filter jupyter_password_hash: a Jupyter Server password hash that stays stable across runs."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: jupyter_password_hash
short_description: Hash a JupyterLab password in Jupyter Server's format, keeping a matching existing hash
version_added: 0.1.0
description:
  - Returns C(argon2:<argon2id hash>), the format C(jupyter_server.auth.passwd) produces and
    C(PasswordIdentityProvider.hashed_password) (formerly C(ServerApp.password)) accepts.
  - Argon2 hashes are salted, so hashing the same password twice gives two different strings. To keep a
    deployment idempotent, pass the hash currently deployed as O(current); when it still verifies against the
    password it is returned unchanged, otherwise (password changed, no hash yet, unreadable hash) a new one is made.
  - Needs the C(argon2-cffi) Python package on the controller.
options:
  _input:
    description: The password (plain text). Use a vault variable and C(no_log).
    type: str
    required: true
  current:
    description: The hash deployed so far (C(argon2:...) or C(sha1:salt:hash)), or an empty string.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Hash the JupyterLab password, reusing the deployed hash when the password did not change
  ansible.builtin.set_fact:
    jupyter_hash: "{{ vault_jupyter_password | daskmetal.platform.jupyter_password_hash(deployed_hash | default('')) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: The hash, C(argon2:$argon2id$v=19$m=...,t=...,p=...$salt$digest).
  type: str
"""

import hashlib
import hmac

from ansible.errors import AnsibleFilterError

try:
    import argon2
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
except ImportError:  # pragma: no cover - reported when the filter is used
    argon2 = None

# Jupyter Server's own parameters (jupyter_server/auth/security.py, passwd()).
_HASHER_ARGS = {"memory_cost": 10240, "time_cost": 10, "parallelism": 8}


def verify(hashed, password):
    """True when `hashed` (Jupyter format) matches `password`."""
    if not hashed or ":" not in hashed:
        return False
    algorithm, digest = hashed.split(":", 1)
    if algorithm == "argon2":
        if argon2 is None:
            return False
        try:
            return argon2.PasswordHasher().verify(digest, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    parts = hashed.split(":", 2)
    if len(parts) != 3:
        return False
    algorithm, salt, digest = parts
    try:
        h = hashlib.new(algorithm)
    except ValueError:
        return False
    h.update(password.encode("utf-8") + salt.encode("ascii"))
    return hmac.compare_digest(h.hexdigest(), digest)


def jupyter_password_hash(password, current=""):
    if argon2 is None:
        raise AnsibleFilterError("jupyter_password_hash needs the argon2-cffi Python package on the controller")
    password = "" if password is None else str(password)
    if not password:
        raise AnsibleFilterError("jupyter_password_hash: the password is empty")
    current = "" if current is None else str(current)
    if verify(current, password):
        return current
    return "argon2:" + argon2.PasswordHasher(**_HASHER_ARGS).hash(password)


class FilterModule(object):
    def filters(self):
        return {"jupyter_password_hash": jupyter_password_hash}
