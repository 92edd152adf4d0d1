#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Documentation of the daskmetal.platform.preflight action (it runs on the controller; there is no module code)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: preflight
short_description: Check every input of the platform before any host changes, and report every problem at once
version_added: 0.1.0
description:
  - Runs on the controller (an action plugin; it never contacts a host). With O(scope=inventory) it resolves, for
    every host of every layer, the variables that host would get (inventory, group_vars and extra vars over the
    role's defaults) and checks them with the rules of module_utils/validation.py, each defined once - each role's
    C(meta/argument_specs.yml) (entry point C(main); the options the inventory sets and the required ones, checked
    by ansible-core's ArgumentSpecValidator), the cross-variable rules (odd RKE2 server count, secrets that are
    empty, a default or a placeholder, tokens for the chosen ZeroTier and Rancher mode, version formats, every
    RKE2 node a ZeroTier node, MetalLB speakers on cluster nodes, worker counts, registry and mirror URLs) and the
    addressing plan (module_utils/plan.py).
  - With O(scope=self) (a role's validate tasks) it checks the current host's task variables for the roles given.
  - "Fails with one message, one line per problem - C(variable: what is wrong; fix: how) - and the list in
    RV(problems). Messages never contain a secret's value."
options:
  scope:
    description: C(inventory) - every host of every layer (playbooks/preflight.yml); C(self) - the current host.
    type: str
    choices: [inventory, self]
    default: inventory
  roles:
    description:
      - Check only these roles (default every role of the platform); C([]) checks only the plan, the group rules
        and O(inputs) (a day-2 playbook that needs no role's secrets).
    type: list
    elements: str
  inputs:
    description:
      - A day-2 playbook's own inputs. C(worker_replicas) (a whole number >= 0, named dask_worker_replicas);
        C(node) (must be an inventory host, and in every group of C(node_groups)); C(teardown_layers) (a non-empty
        list of known layers); C(restore_files) (a mapping of variable to path, at least one existing file);
        C(allow_even_servers) (when true, an even RKE2 server count is allowed as the one step add_node.yml takes, 1 -> 2 -> 3).
      - A key present with an empty value reports the input as missing.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  action:
    support: full
author:
  - daskmetal maintainers
"""

EXAMPLES = r"""
- name: Check every input of every layer
  daskmetal.platform.preflight:
  run_once: true

- name: Check the node to add as well
  daskmetal.platform.preflight:
    inputs:
      node: "{{ daskmetal_node | default(none) }}"
      node_groups: [rke2_cluster]
  run_once: true

- name: A role checks its own inputs with the same rules
  daskmetal.platform.preflight:
    scope: self
    roles: [rke2]
"""

RETURN = r"""
problems:
  description: Every problem found; empty when every input is valid.
  returned: always
  type: list
  elements: dict
  contains:
    variable:
      description: The variable to fix (a host list in parentheses when only some hosts have the problem).
      type: str
    problem:
      description: What is wrong with it.
      type: str
    fix:
      description: How to fix it.
      type: str
msg:
  description: "The problems, one line each (C(variable: problem; fix: how)), or a one-line success message."
  returned: always
  type: str
"""
