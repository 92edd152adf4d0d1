# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""A Docker host's state in one read, and where it differs from what the docker role wants (its drift).

The role (roles/docker) used to spend one host round trip per check: a stat, a dpkg-query, a gpg listing, a
template and a copy in check of their own, a systemd and a getent call. The module docker_host_state reads all of
it in one module run (observe()), and drift() says which of the role's tasks have something to do; the role runs
only those. Every check stays: the keyring's fingerprints (module_utils/apt_keyring.py, the rule the role applied
before), the deb822 source, the apt pin, the hold, the installed versions, daemon.json, the service and the group.
A check that cannot be decided (no systemd, an unreadable file) counts as drift, so the task that owns it runs
and decides as it did before.

Pure parsing and comparison below; the I/O is in observe(), which takes the run_command function so tests can
give it recorded output.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import grp
import os
import pwd

from ansible_collections.daskmetal.platform.plugins.module_utils import apt_keyring
from ansible_collections.daskmetal.platform.plugins.module_utils.host_state import DPKG_FORMAT, file_drift, parse_dpkg, read_file

# systemctl show -p: the properties the role's systemd_service task sets or reads.
SYSTEMD_PROPERTIES = ("LoadState", "ActiveState", "UnitFileState")


def parse_systemctl_show(stdout):
    """``systemctl show -p A -p B`` output (KEY=VALUE lines) -> dict."""
    out = {}
    for line in str(stdout).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def version_matches(installed, wanted):
    """Does the installed apt version satisfy ``wanted``? "" = any; a glob (5:28.5.*) as apt's Pin: version reads it."""
    if not wanted:
        return bool(installed)
    return fnmatch.fnmatchcase(installed or "", wanted)


def group_members(group):
    """Users that belong to ``group`` (listed in it, or with it as primary group); None when it does not exist."""
    try:
        entry = grp.getgrnam(group)
    except KeyError:
        return None
    members = set(entry.gr_mem)
    members.update(p.pw_name for p in pwd.getpwall() if p.pw_gid == entry.gr_gid)
    return sorted(members)


def user_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _run(run_command, argv):
    rc, stdout, stderr = run_command(argv)
    return {"rc": rc, "stdout": stdout, "stderr": stderr}


def observe(params, run_command, which):
    """Read everything drift() compares. ``run_command(argv) -> (rc, stdout, stderr)``; ``which(name) -> path or None``."""
    state = {"files": {}, "dirs": {}, "packages": {}, "keyring": None, "service": {}, "users": {},
             "group_members": None, "systemd_booted": os.path.isdir(params["systemd_booted_path"]), "dockerd_version": ""}
    for name, want in sorted(params["files"].items()):
        state["files"][name] = dict(read_file(want["path"]), path=want["path"])
    for path in params["dirs"]:
        info = read_file(path)
        state["dirs"][path] = {"exists": info["isdir"], "mode": info["mode"]}
    packages = list(params["packages"]) + list(params["prerequisites"])
    if packages:
        # dpkg-query exits 1 when a package is unknown and still lists the known ones
        state["packages"] = parse_dpkg(_run(run_command, ["dpkg-query", "-W", "-f", DPKG_FORMAT] + packages)["stdout"])
    if params["keyring"]:
        info = read_file(params["keyring"])
        state["keyring"] = {"path": params["keyring"], "exists": info["exists"], "mode": info["mode"]}
        if info["exists"]:
            gpg = which("gpg")
            state["keyring"]["gpg"] = (_run(run_command, [gpg, "--show-keys", "--with-colons", params["keyring"]])
                                       if gpg else {"rc": 127, "stdout": "", "stderr": "gpg is not installed"})
    if params["service"] and which("systemctl") and state["systemd_booted"]:
        argv = ["systemctl", "show", params["service"]] + ["--property=%s" % p for p in SYSTEMD_PROPERTIES]
        state["service"] = parse_systemctl_show(_run(run_command, argv)["stdout"])
    state["users"] = {u: user_exists(u) for u in params["users"]}
    state["group_members"] = group_members(params["group"]) if params["group"] else None
    dockerd = which("dockerd")
    if dockerd:
        state["dockerd_version"] = _run(run_command, [dockerd, "--version"])["stdout"].strip()
    return state


def _package_drift(state, params):
    installed = {p: i for p, i in state["packages"].items() if i["status"] == "installed"}
    missing = [p for p in params["packages"] if p not in installed]
    wrong = [p for p, v in sorted(params["versions"].items()) if p in installed and not version_matches(installed[p]["version"], v)]
    want = "hold" if params["hold"] else "install"
    selections = [p for p in params["packages"] if state["packages"].get(p, {}).get("want") != want]
    prereq = [p for p in params["prerequisites"] if p not in installed]
    return {"install": bool(missing or wrong), "packages_missing": missing, "packages_wrong_version": wrong,
            "hold": bool(selections), "selections": selections, "prerequisites": prereq,
            "apt_names": apt_names(params["packages"], params["versions"], installed)}


def apt_names(packages, versions, installed):
    """What the install task asks apt for: ``pkg=version`` for a pinned package, the bare name otherwise.

    A pinned package that already satisfies its pin is asked for at its installed version, so installing a missing
    companion never moves the engine inside a pinned minor (5:28.5.*): that is the patch path's job.
    """
    out = []
    for pkg in packages:
        want = versions.get(pkg, "")
        have = installed.get(pkg, {}).get("version", "")
        if not want:
            out.append(pkg)
        else:
            out.append("%s=%s" % (pkg, have if have and version_matches(have, want) else want))
    return out


def _keyring_drift(state, fingerprint):
    ring = state["keyring"]
    out = {"keyring_missing": False, "keyring_mode": False, "keyring_problems": [], "keyring_unverified": False}
    if ring is None:
        return out
    if not ring["exists"]:
        return dict(out, keyring_missing=True)
    gpg = ring["gpg"]
    if gpg["rc"] == 127:
        # no gpg yet (it is a prerequisite the role installs first): the role lists the keyring after installing it
        return dict(out, keyring_mode=ring["mode"] != "0644", keyring_unverified=True)
    problems = (["gpg cannot read it: %s" % gpg["stderr"].strip()] if gpg["rc"] != 0
                else apt_keyring.keyring_problems(gpg["stdout"], fingerprint))
    return dict(out, keyring_mode=ring["mode"] != "0644", keyring_problems=problems)


def _service_drift(state, enabled):
    svc = state["service"]
    if not svc or svc.get("LoadState") != "loaded":
        return True  # unknown or not installed yet: the systemd task decides
    return svc.get("ActiveState") != "active" or (svc.get("UnitFileState") == "enabled") != bool(enabled)


def drift(state, params):
    """What the role must do on this host: one entry per task group (True/list = act), from observe()'s state."""
    out = {"files": {name: file_drift(state["files"][name], want) for name, want in sorted(params["files"].items())},
           "dirs": sorted(p for p, want in params["dirs"].items() if not state["dirs"][p]["exists"]
                          or state["dirs"][p]["mode"] != want)}
    out.update(_package_drift(state, params))
    out.update(_keyring_drift(state, params["fingerprint"]))
    out["service"] = _service_drift(state, params["service_enabled"])
    out["users_missing"] = sorted(u for u, ok in state["users"].items() if not ok)
    members = state["group_members"] or []
    out["users_to_add"] = [u for u in params["users"] if state["users"].get(u) and u not in members]
    out["any"] = bool(any(out["files"].values()) or out["dirs"] or out["install"] or out["hold"] or out["prerequisites"]
                      or out["keyring_missing"] or out["keyring_mode"] or out["keyring_problems"] or out["keyring_unverified"]
                      or out["service"]
                      or out["users_to_add"])
    return out
