# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Read a host's files, kernel parameters, modules and NUMA layout in one module run, and say which managed files
differ from what a role wants (its drift). Used by the modules docker_host_state (module_utils/docker_state.py) and
host_state (role base): a converged host then costs one round trip for its checks instead of one per file.

``root`` prefixes every absolute path, so the tests read a temporary tree laid out like / (no I/O is mocked).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re
import stat

MAX_FILE_BYTES = 256 * 1024
# dpkg-query -W -f: one line per package dpkg knows (dpkg-query(1)).
DPKG_FORMAT = "${Package}\t${db:Status-Want}\t${db:Status-Status}\t${Version}\n"


def parse_dpkg(stdout):
    """dpkg-query output in DPKG_FORMAT -> {package: {want, status, version}} (packages dpkg does not know are absent)."""
    out = {}
    for line in str(stdout).splitlines():
        fields = line.split("\t")
        if len(fields) != 4 or not fields[0]:
            continue
        out[fields[0]] = {"want": fields[1], "status": fields[2], "version": fields[3]}
    return out


def missing_packages(packages, run_command):
    """The packages dpkg does not have installed, in the order given (one dpkg-query call)."""
    if not packages:
        return []
    # dpkg-query exits 1 when a package is unknown and still lists the known ones
    known = parse_dpkg(run_command(["dpkg-query", "-W", "-f", DPKG_FORMAT] + list(packages))[1])
    return [p for p in packages if known.get(p, {}).get("status") != "installed"]


def _at(root, path):
    return os.path.join(root, path.lstrip("/")) if root else path


def read_file(path, root=""):
    """{exists, isdir, mode, content} of a path; content only for a small regular UTF-8 file, else None."""
    try:
        st = os.stat(_at(root, path))
    except OSError:
        return {"exists": False, "mode": None, "content": None, "isdir": False}
    info = {"exists": True, "mode": "%04o" % stat.S_IMODE(st.st_mode), "content": None, "isdir": stat.S_ISDIR(st.st_mode)}
    if stat.S_ISREG(st.st_mode) and st.st_size <= MAX_FILE_BYTES:
        try:
            with open(_at(root, path), "rb") as fh:
                info["content"] = fh.read().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            info["content"] = None
    return info


def file_drift(observed, want):
    """A file a role writes (want: {path, content, mode, state: present}) or removes (state: absent)."""
    if want.get("state", "present") == "absent":
        return observed["exists"]
    return not observed["exists"] or observed["content"] != want["content"] or observed["mode"] != want["mode"]


def read_sysctl(keys, root=""):
    """``sysctl -e KEY...`` as lines ``key=value`` (whitespace runs as one space); keys the kernel lacks are left out.

    procfs(5): /proc/sys/<key with '.' as '/'>; sysctl(8) prints ``key = value`` and -e skips unknown keys.
    """
    out = []
    for key in keys:
        try:
            with open(_at(root, "/proc/sys/" + key.replace(".", "/")), encoding="utf-8") as fh:
                value = fh.read()
        except (OSError, UnicodeDecodeError):
            continue
        out.append("%s=%s" % (key, re.sub(r"\s+", " ", value).strip()))
    return out


def read_proc_modules(root=""):
    """Names of the loaded kernel modules (first field of /proc/modules), or None without /proc/modules."""
    try:
        with open(_at(root, "/proc/modules"), encoding="utf-8") as fh:
            return [line.split(" ", 1)[0] for line in fh if line.strip()]
    except OSError:
        return None


def read_numa(root=""):
    """[{node, cpus, memory_kb}] from /sys/devices/system/node/node<N>/{cpulist,meminfo}, in node order."""
    nodes = []
    for path in glob.glob(_at(root, "/sys/devices/system/node/node[0-9]*")):
        name = os.path.basename(path)
        if not os.path.isdir(path) or not name[4:].isdigit():
            continue
        cpus, mem = "", 0
        try:
            with open(os.path.join(path, "cpulist"), encoding="utf-8") as fh:
                cpus = fh.read().strip()
            with open(os.path.join(path, "meminfo"), encoding="utf-8") as fh:
                for line in fh:
                    fields = line.split()
                    # "Node 0 MemTotal:       16384 kB"
                    if len(fields) >= 4 and fields[2] == "MemTotal:":
                        mem = int(fields[3])
        except (OSError, ValueError):
            pass
        nodes.append({"node": int(name[4:]), "cpus": cpus, "memory_kb": mem})
    return sorted(nodes, key=lambda n: n["node"])


def observe(params, root="", run_command=None):
    """Everything the role base checks before acting: paths, managed files with their drift, sysctl, modules, NUMA,
    and the packages not installed (``run_command(argv) -> (rc, stdout, stderr)`` runs dpkg-query)."""
    paths = {}
    for path in params.get("paths", []):
        info = read_file(path, root)
        paths[path] = {"exists": info["exists"], "isdir": info["isdir"], "mode": info["mode"],
                       "link": os.readlink(_at(root, path)) if os.path.islink(_at(root, path)) else None}
    files, drift = {}, {}
    for name, want in sorted(params.get("files", {}).items()):
        files[name] = dict(read_file(want["path"], root), path=want["path"])
        drift[name] = file_drift(files[name], want)
    state = {"paths": paths, "files": files, "drift": drift, "sysctl": read_sysctl(params.get("sysctl", []), root)}
    state["proc_modules"] = read_proc_modules(root) if params.get("proc_modules") else None
    state["numa"] = read_numa(root) if params.get("numa") else None
    state["packages_missing"] = missing_packages(params.get("packages", []), run_command) if run_command else None
    return state
