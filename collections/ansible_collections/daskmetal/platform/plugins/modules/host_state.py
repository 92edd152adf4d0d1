#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: host_state
short_description: Read a host's managed files, paths, kernel parameters, modules and NUMA layout at once
version_added: 0.1.0
description:
  - One module run reads what a role checks before acting (module_utils/host_state.py), so a converged host costs one
    round trip and the role's tasks run only where something differs (role base).
  - Reads only (procfs, sysfs, files); runs in check mode.
options:
  files:
    description:
      - Files the role writes or removes, by name. Each is C(path), C(state) (present or absent), and for present
        files the wanted C(content) and C(mode) (four octal digits). RV(drift) says per name whether it differs.
    type: dict
    default: {}
  paths:
    description: Paths whose existence, type, mode and symlink target to report.
    type: list
    elements: str
    default: []
  sysctl:
    description: Kernel parameters to read, reported as C(key=value) lines like C(sysctl -e) (unknown keys left out).
    type: list
    elements: str
    default: []
  proc_modules:
    description: Report the loaded kernel modules (/proc/modules; null without it).
    type: bool
    default: false
  numa:
    description: Report the NUMA layout from /sys/devices/system/node.
    type: bool
    default: false
  packages:
    description: Packages to look up with C(dpkg-query -W); RV(packages_missing) lists those not installed.
    type: list
    elements: str
    default: []
author:
  - daskmetal maintainers
"""

EXAMPLES = r"""
- name: Read the host's state for the role
  daskmetal.platform.host_state:
    files:
      timezone: {path: /etc/timezone, state: present, content: "Etc/UTC\n", mode: "0644"}
    paths: [/usr/share/zoneinfo/Etc/UTC]
    sysctl: [net.ipv4.ip_forward]
    proc_modules: true
  register: host

- name: Record the time zone where it differs
  ansible.builtin.copy:
    content: "Etc/UTC\n"
    dest: /etc/timezone
    mode: "0644"
  when: host.drift.timezone
"""

RETURN = r"""
paths:
  description: Path -> {exists, isdir, mode, link}.
  returned: always
  type: dict
files:
  description: Name -> {path, exists, mode, content}.
  returned: always
  type: dict
drift:
  description: Name -> whether the file differs from the wanted one (content, mode, presence).
  returned: always
  type: dict
sysctl:
  description: C(key=value) lines of the kernel parameters that exist.
  returned: always
  type: list
proc_modules:
  description: Loaded module names, or null.
  returned: always
  type: list
numa:
  description: "[{node, cpus, memory_kb}] or null."
  returned: always
  type: list
packages_missing:
  description: The packages of O(packages) that are not installed.
  returned: always
  type: list
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.daskmetal.platform.plugins.module_utils import host_state


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "dict", "default": {}},
            "paths": {"type": "list", "elements": "str", "default": []},
            "sysctl": {"type": "list", "elements": "str", "default": []},
            "proc_modules": {"type": "bool", "default": False},
            "numa": {"type": "bool", "default": False},
            "packages": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    for name, want in module.params["files"].items():
        if not isinstance(want, dict) or "path" not in want or want.get("state", "present") not in ("present", "absent"):
            module.fail_json(msg="files.%s: needs path and state present or absent" % name)
    state = host_state.observe(module.params, run_command=lambda argv: module.run_command(argv, environ_update={"LC_ALL": "C"}))
    module.exit_json(changed=False, **state)


if __name__ == "__main__":
    main()
