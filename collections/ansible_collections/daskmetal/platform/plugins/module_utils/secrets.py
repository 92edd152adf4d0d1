# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""The one rule for secret inputs: reject empty values, well-known defaults and placeholders.

Pure Python, no I/O. Used by the ``secret_problems`` filter, which the roles' ``check_secrets.yml`` tasks and
``playbooks/preflight.yml`` (before any host is changed) call. A message names the variable and what is wrong
with it, never the value.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Passwords that products ship with or that people type first. Compared case-insensitively, whole value.
# prom-operator: the Grafana admin password of kube-prometheus-stack's values.yaml (grafana.adminPassword);
# admin: Grafana's and Rancher's classic defaults.
KNOWN_DEFAULTS = frozenset((
    "admin", "administrator", "password", "passw0rd", "p@ssw0rd", "prom-operator", "changeme", "change-me",
    "secret", "rancher", "root", "toor", "letmein", "welcome", "qwerty", "default", "test", "guest", "jupyter",
    "grafana", "token", "123456", "12345678", "123456789", "1234567890", "none", "null",
))

# The exact values inventories/example/group_vars/all/vault.yml.example carries (and carried, when it was still
# loaded as vault.example.yml): never a real secret.
EXAMPLE_VALUES = frozenset((
    "replace-with-your-zerotier-central-api-token",
    "replace-with-at-least-12-chars",
    "replace-with-another-12-chars",
    "replace-with-a-long-random-string",
    "replace-me",
))

# Placeholders: words an example or a template puts where the secret goes. Matched at the start, case-insensitive.
_PLACEHOLDER_RE = re.compile(
    r"^(replace|change|todo|fixme|tbd|placeholder|insert[-_ ]|"
    r"put[-_ ]|your[-_ ]|enter[-_ ]|fill[-_ ]?in|x{3,}|\*{3,}|\.{3,})",
    re.IGNORECASE,
)
_ANGLE_RE = re.compile(r"<[^<>]*>")  # <secret>, <your token here>
_TEMPLATE_RE = re.compile(r"(\{\{|\}\}|\$\{)")  # an unrendered template or shell variable


def _what_is_wrong(value, min_length, allow_empty):
    """Return what is wrong with ``value`` (a phrase that never contains the value), or None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None if allow_empty else "is empty or undefined"
    if not isinstance(value, str):
        return "must be a string, got %s (quote it in the vault)" % type(value).__name__
    text = value.strip()
    low = text.lower()
    if low in EXAMPLE_VALUES:
        return "is the placeholder from the example vault file"
    if low in KNOWN_DEFAULTS:
        return "is a well-known default"
    if _PLACEHOLDER_RE.match(text) or _ANGLE_RE.search(text):
        return "is a placeholder, not a secret"
    if _TEMPLATE_RE.search(text):
        return "looks like an unrendered template or shell variable"
    if len(set(low)) == 1:
        return "is one character repeated"
    if len(text) < min_length:
        return "has %d characters, at least %d are needed" % (len(text), min_length)
    return None


def secret_problem(name, value, min_length=1, source=None, allow_empty=False):
    """The problem with one secret as ``"<name>: <what is wrong>; fix: <how>"``, or None when it is acceptable.

    :param name: the variable the role reads (``rke2_token``).
    :param source: where its default comes from (``vault_rke2_token``): the fix names it.
    :param min_length: the shortest acceptable value.
    :param allow_empty: an empty value is fine (the role generates one); any other value is checked.
    """
    wrong = _what_is_wrong(value, int(min_length), bool(allow_empty))
    if wrong is None:
        return None
    where = source or name
    label = "%s (from %s)" % (name, source) if source and source != name else name
    return ("%s: %s; fix: set %s to a random value of at least %d characters in the vault "
            "(e.g. `openssl rand -hex 24`), never the example's or a product's default"
            % (label, wrong, where, max(int(min_length), 1)))


def secret_problems(items):
    """Check a list of ``{name, value, min_length, source, allow_empty}`` mappings; return the problem messages."""
    problems = []
    for item in items:
        problem = secret_problem(item["name"], item.get("value"), item.get("min_length", 1), item.get("source"),
                                 item.get("allow_empty", False))
        if problem:
            problems.append(problem)
    return problems
