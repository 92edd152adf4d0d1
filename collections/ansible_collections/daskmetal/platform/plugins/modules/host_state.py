#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: host_state
short_description: Read a host's managed files, lines, blocks, units, firewall table, kernel parameters and NUMA layout at once
version_added: 0.1.0
description:
  - One module run reads what a role checks before acting (module_utils/host_state.py), so a converged host costs one
    round trip and the role's tasks run only where something differs (role base).
  - Reads only (procfs, sysfs, files, C(systemctl show), C(nft list table), C(dpkg-query)); runs in check mode.
  - Every check is named; RV(drift) says per name whether the module the role would run for it (copy, file,
    lineinfile, blockinfile, replace, systemd_service, hostname) would change something. The names of O(files),
    O(dirs), O(lines), O(blocks), O(patterns) and O(units) share RV(drift), so they must differ (and not be
    C(hostname) when O(hostname) is set).
options:
  files:
    description:
      - Files the role writes or removes, by name. Each is C(path), C(state) (present or absent), and for present
        files the wanted C(content), C(mode) (four octal digits), C(owner) and C(group) (names); each of these is
        compared only when given.
    type: dict
    default: {}
  dirs:
    description: Directories the role creates (ansible.builtin.file state=directory), by name; C(path), C(mode).
    type: dict
    default: {}
  lines:
    description:
      - Lines of ansible.builtin.lineinfile, by name; C(path), C(regexp) and/or C(line), C(state) (present or absent),
        with the module's defaults for the rest (insertafter EOF, no backrefs, firstmatch or search_string).
        Drift follows its rule (the last line the regexp matches is the one compared); a missing file is drift for
        present (the module fails without create).
    type: dict
    default: {}
  blocks:
    description:
      - Blocks of ansible.builtin.blockinfile, by name; C(path), C(block), C(marker), C(marker_begin),
        C(marker_end), C(state), with insertafter EOF.
    type: dict
    default: {}
  patterns:
    description: Substitutions of ansible.builtin.replace, by name; C(path), C(regexp), C(replace) (no after/before).
    type: dict
    default: {}
  units:
    description:
      - Systemd units, by name; C(unit), C(enabled) (bool), C(state) (started or omitted), read with one
        C(systemctl show). Drift unless the unit is loaded, running when started is wanted, and enabled or static
        when enabled is wanted.
    type: dict
    default: {}
  nft_tables:
    description: Tables (C(FAMILY NAME)) to list with C(nft list table); RV(nft) holds rc and stdout of each.
    type: list
    elements: str
    default: []
  hostname:
    description: The wanted hostname; RV(drift) C(hostname) says whether the kernel's or /etc/hostname differs.
    type: str
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
  description: Name -> {path, exists, isdir, mode, owner, group, content}.
  returned: always
  type: dict
drift:
  description: Name (of files, dirs, lines, blocks, patterns, units, and C(hostname)) -> whether the host differs.
  returned: always
  type: dict
units:
  description: Name -> {Id, LoadState, ActiveState, UnitFileState} of its unit ({} where systemctl failed).
  returned: always
  type: dict
nft:
  description: Table -> {rc, stdout} of C(nft list table).
  returned: always
  type: dict
hostname:
  description: "{current, permanent}: the kernel's hostname and /etc/hostname, stripped."
  returned: when O(hostname) is set
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


def run(module, argv):
    """argv through run_command with LC_ALL=C; a program not installed (yet: the role installs nftables after this
    read) is rc 127, as from a shell, rather than a failed module."""
    path = module.get_bin_path(argv[0])
    if path is None:
        return 127, "", "%s: not found" % argv[0]
    return module.run_command([path] + list(argv[1:]), environ_update={"LC_ALL": "C"})


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "dict", "default": {}},
            "dirs": {"type": "dict", "default": {}},
            "lines": {"type": "dict", "default": {}},
            "blocks": {"type": "dict", "default": {}},
            "patterns": {"type": "dict", "default": {}},
            "units": {"type": "dict", "default": {}},
            "nft_tables": {"type": "list", "elements": "str", "default": []},
            "hostname": {"type": "str"},
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
    for kind in ("dirs", "lines", "blocks", "patterns"):
        for name, want in module.params[kind].items():
            if not isinstance(want, dict) or "path" not in want or want.get("state", "present") not in ("present", "absent"):
                module.fail_json(msg="%s.%s: needs path (and state present or absent)" % (kind, name))
    for name, want in module.params["units"].items():
        if not isinstance(want, dict) or "unit" not in want or want.get("state", "started") != "started":
            module.fail_json(msg="units.%s: needs unit (and state started or omitted)" % name)
    dup = host_state.duplicate_names(module.params)
    if dup:
        module.fail_json(msg="names used twice (drift is one dict): %s" % ", ".join(sorted(set(dup))))
    state = host_state.observe(module.params, run_command=lambda argv: run(module, argv))
    module.exit_json(changed=False, **state)


if __name__ == "__main__":
    main()
