# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Test-only connection: ansible.builtin.local under another name, so tests/bench can run a playbook whose
hosts count as remote (host round trips) without a second machine."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: bench_remote
short_description: The local connection under another name (tests of scripts/bench only)
description:
  - Runs everything on the controller exactly like ansible.builtin.local.
"""

from ansible.plugins.connection.local import Connection as LocalConnection


class Connection(LocalConnection):
    transport = "bench_remote"
