#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: docker_host_state
short_description: Read a Docker host's repository, key, pin, hold, packages, daemon.json, service and group at once
version_added: 0.1.0
description:
  - One module run reads what the docker role checks (module_utils/docker_state.py) and returns it with its
    RV(drift) against the wanted state, so a converged host costs one round trip and the role's tasks run only where
    something differs.
  - Reads only; runs in check mode. Runs C(dpkg-query -W), C(gpg --show-keys --with-colons) on the keyring,
    C(systemctl show) and C(dockerd --version) where they exist.
options:
  files:
    description:
      - Files the role writes or removes, by name. Each is C(path), C(state) (present or absent), and for present
        files the wanted C(content) and C(mode) (four octal digits).
    type: dict
    default: {}
  dirs:
    description: Directories the role creates, path -> mode (four octal digits).
    type: dict
    default: {}
  packages:
    description: The engine packages (installed, held or not as O(hold) says).
    type: list
    elements: str
    default: []
  versions:
    description: Package -> wanted apt version, exact or a glob as in apt's C(Pin. version) (C(5:28.5.*)).
    type: dict
    default: {}
  hold:
    description: Whether the packages should be held (dpkg selection C(hold)) or not (C(install)).
    type: bool
    default: true
  prerequisites:
    description: Packages that must be installed before the engine's repository can be used.
    type: list
    elements: str
    default: []
  keyring:
    description: The repository keyring file; empty for none.
    type: str
    default: ""
  fingerprint:
    description: The only primary key fingerprint the keyring may hold.
    type: str
    default: ""
  service:
    description: The systemd unit.
    type: str
    default: docker.service
  service_enabled:
    description: Whether the unit should be enabled.
    type: bool
    default: true
  users:
    description: Users that should be in O(group).
    type: list
    elements: str
    default: []
  group:
    description: The group of the engine's socket.
    type: str
    default: docker
  systemd_booted_path:
    description: A directory that exists only when systemd is the running service manager (sd_booted(3)).
    type: str
    default: /run/systemd/system
author:
  - daskmetal maintainers
"""

EXAMPLES = r"""
- name: Read the host's Docker state
  daskmetal.platform.docker_host_state:
    files:
      pin: {path: /etc/apt/preferences.d/docker, state: present, mode: "0644",
            content: "Package: docker-ce docker-ce-cli\nPin: version 5:28.5.*\nPin-Priority: 1001\n"}
    packages: [docker-ce, docker-ce-cli, containerd.io]
    versions: {docker-ce: "5:28.5.*", docker-ce-cli: "5:28.5.*"}
    keyring: /etc/apt/keyrings/docker.asc
    fingerprint: 9DC858229FC7DD38854AE2D88D81803C0EBFCD88
    users: [alice]
  register: docker_state

- name: Write the pin only where it differs
  ansible.builtin.copy:
    dest: /etc/apt/preferences.d/docker
    content: "Package: docker-ce docker-ce-cli\nPin: version 5:28.5.*\nPin-Priority: 1001\n"
    mode: "0644"
  when: docker_state.drift.files.pin
"""

RETURN = r"""
state:
  description: What was read (files with content and mode, directories, dpkg records, keyring listing, unit
    properties, users, group members, dockerd version).
  returned: always
  type: dict
drift:
  description: Per check whether the role must act (C(files.<name>), C(dirs), C(install), C(hold), C(prerequisites),
    C(keyring_missing), C(keyring_mode), C(keyring_problems), C(keyring_unverified), C(service), C(users_missing),
    C(users_to_add)), and C(any), true when any of those the role acts on is (the role skips its repository, install
    and configure steps on a false C(any); tests/unit/test_docker_state_any.py).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.daskmetal.platform.plugins.module_utils import docker_state


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "dict", "default": {}},
            "dirs": {"type": "dict", "default": {}},
            "packages": {"type": "list", "elements": "str", "default": []},
            "versions": {"type": "dict", "default": {}},
            "hold": {"type": "bool", "default": True},
            "prerequisites": {"type": "list", "elements": "str", "default": []},
            "keyring": {"type": "str", "default": ""},
            "fingerprint": {"type": "str", "default": ""},
            "service": {"type": "str", "default": "docker.service"},
            "service_enabled": {"type": "bool", "default": True},
            "users": {"type": "list", "elements": "str", "default": []},
            "group": {"type": "str", "default": "docker"},
            "systemd_booted_path": {"type": "str", "default": "/run/systemd/system"},
        },
        supports_check_mode=True,
    )
    params = dict(module.params)
    for name, want in params["files"].items():
        if not isinstance(want, dict) or "path" not in want or want.get("state", "present") not in ("present", "absent"):
            module.fail_json(msg="files.%s: needs path and state present or absent" % name)
        want.setdefault("state", "present")
    state = docker_state.observe(
        params,
        run_command=lambda argv: module.run_command(argv, environ_update={"LC_ALL": "C"}),
        which=lambda name: module.get_bin_path(name),
    )
    module.exit_json(changed=False, state=state, drift=docker_state.drift(state, params))


if __name__ == "__main__":
    main()
