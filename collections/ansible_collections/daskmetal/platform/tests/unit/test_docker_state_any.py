"""drift()["any"] of module_utils/docker_state.py is what roles/docker/tasks/main.yml skips the repository, install and
configure files on (a converged host then costs one skipped task per file instead of one per step). That is only safe
when ``any`` is true whenever one of those files' tasks has something to do: each drift a task there acts on, made
alone on a converged host's state, must set ``any``; and every ``__docker_state.drift.<key>`` the three files read
must be one of those (a new task on a new drift key fails here until drift() counts it). The other differences
are in test_docker_state.py."""

from __future__ import annotations

import copy
import os
import re

import pytest

from ansible_collections.daskmetal.platform.plugins.module_utils import docker_state

# the project checkout (collections/ansible_collections/daskmetal/platform/tests/unit/<this file>)
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 6))

FPR = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"
# gpg --show-keys --with-colons of a keyring holding exactly that key (doc/DETAILS: pub, then its fpr record)
GPG_ONE_KEY = "pub:-:4096:1:8D81803C0EBFCD88:1487788586:::-:::scESA::::::23::0:\nfpr:::::::::%s:\n" % FPR
DAEMON_JSON = '{\n  "live-restore": true\n}\n'
SOURCES = "Types: deb\n"
PIN = "Package: docker-ce docker-ce-cli\nPin: version 5:28.5.*\nPin-Priority: 1001\n"
PACKAGES = ["docker-ce", "docker-ce-cli", "containerd.io"]

PARAMS = {
    "files": {"sources": {"path": "/etc/apt/sources.list.d/docker.sources", "content": SOURCES, "mode": "0644"},
              "pin": {"path": "/etc/apt/preferences.d/docker", "content": PIN, "mode": "0644"},
              "daemon_json": {"path": "/etc/docker/daemon.json", "content": DAEMON_JSON, "mode": "0644"}},
    "dirs": {"/etc/apt/keyrings": "0755", "/etc/docker": "0755"},
    "packages": PACKAGES,
    "versions": {"docker-ce": "5:28.5.*", "docker-ce-cli": "5:28.5.*"},
    "hold": True,
    "prerequisites": ["ca-certificates", "gpg"],
    "fingerprint": FPR,
    "service_enabled": True,
    "users": ["labuser"],
}


def _file(content, mode="0644"):
    return {"exists": True, "isdir": False, "mode": mode, "content": content, "owner": "root", "group": "root"}


def converged():
    """The state docker_state.observe() reads on a host the role has converged (PARAMS above)."""
    pkg = lambda version: {"want": "hold", "status": "installed", "version": version}  # noqa: E731
    return {
        "files": {"sources": _file(SOURCES), "pin": _file(PIN), "daemon_json": _file(DAEMON_JSON)},
        "dirs": {"/etc/apt/keyrings": {"exists": True, "mode": "0755"}, "/etc/docker": {"exists": True, "mode": "0755"}},
        "packages": {"docker-ce": pkg("5:28.5.2-1~debian.12~bookworm"), "docker-ce-cli": pkg("5:28.5.2-1~debian.12~bookworm"),
                     "containerd.io": pkg("1.7.28-1~debian.12~bookworm"),
                     "ca-certificates": dict(pkg("20230311"), want="install"), "gpg": dict(pkg("2.2.40-1.1"), want="install")},
        "keyring": {"path": "/etc/apt/keyrings/docker.asc", "exists": True, "mode": "0644",
                    "gpg": {"rc": 0, "stdout": GPG_ONE_KEY, "stderr": ""}},
        "service": {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "enabled"},
        "users": {"labuser": True},
        "group_members": ["labuser"],
        "systemd_booted": True,
        "dockerd_version": "Docker version 28.5.2, build ecc6942",
    }


def _set(path, value):
    def change(state):
        node = state
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


# One drift each, with the drift() key the task that acts on it reads.
DRIFTS = {
    "files (sources content)": (_set(["files", "sources", "content"], "Types: deb-src\n"), "files"),
    "files (pin missing)": (_set(["files", "pin"], {"exists": False, "isdir": False, "mode": None, "content": None,
                                                     "owner": None, "group": None}), "files"),
    "files (daemon.json mode)": (_set(["files", "daemon_json", "mode"], "0600"), "files"),
    "dirs (/etc/docker missing)": (_set(["dirs", "/etc/docker", "exists"], False), "dirs"),
    "install (engine missing)": (lambda s: s["packages"].pop("docker-ce"), "install"),
    "install (engine outside the pin)": (_set(["packages", "docker-ce", "version"], "5:27.5.1-1~debian.12~bookworm"),
                                         "install"),
    "selections (not held)": (_set(["packages", "containerd.io", "want"], "install"), "selections"),
    "prerequisites (gpg missing)": (lambda s: s["packages"].pop("gpg"), "prerequisites"),
    "keyring_missing": (_set(["keyring", "exists"], False), "keyring_missing"),
    "keyring_mode": (_set(["keyring", "mode"], "0600"), "keyring_mode"),
    "keyring_unverified (no gpg)": (_set(["keyring", "gpg"], {"rc": 127, "stdout": "", "stderr": "gpg is not installed"}),
                                    "keyring_unverified"),
    "keyring_problems (another key)": (_set(["keyring", "gpg", "stdout"], GPG_ONE_KEY.replace(FPR, "A" * 40)),
                                       "keyring_problems"),
    "service (stopped)": (_set(["service", "ActiveState"], "inactive"), "service"),
    "service (not installed yet)": (_set(["service"], {}), "service"),
    "users_to_add (not in the group)": (_set(["group_members"], []), "users_to_add"),
}


def _value(drift, key):
    return any(drift[key].values()) if key == "files" else drift[key]


def test_a_converged_host_has_no_drift():
    drift = docker_state.drift(converged(), PARAMS)
    assert not drift["any"], drift
    for _change, key in DRIFTS.values():
        assert not _value(drift, key), (key, drift)


@pytest.mark.parametrize("name", sorted(DRIFTS))
def test_each_drift_sets_any(name):
    change, key = DRIFTS[name]
    state = copy.deepcopy(converged())
    change(state)
    drift = docker_state.drift(state, PARAMS)
    assert _value(drift, key), (name, drift)
    assert drift["any"], (name, drift)


def test_every_drift_the_guarded_files_read_is_covered():
    # drift() keys that are no task's condition (what the install task asks apt for, the messages, the assert's list)
    informational = {"apt_names", "packages_missing", "packages_wrong_version", "users_missing", "hold", "any"}
    covered = {key for _change, key in DRIFTS.values()}
    tasks = os.path.join(ROOT, "roles", "docker", "tasks")
    read = set()
    for name in ("repository.yml", "install.yml", "configure.yml", "key.yml"):
        with open(os.path.join(tasks, name), encoding="utf-8") as fh:
            read.update(re.findall(r"__docker_state\.drift\.([a-z_]+)", fh.read()))
    assert read, "no __docker_state.drift.<key> found in the guarded task files"
    assert read - informational <= covered, sorted(read - informational - covered)
