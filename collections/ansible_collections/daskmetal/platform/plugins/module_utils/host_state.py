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
import grp
import io
import os
import pwd
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


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def read_file(path, root=""):
    """{exists, isdir, mode, owner, group, content} of a path; content only for a small regular UTF-8 file, else None."""
    try:
        st = os.stat(_at(root, path))
    except OSError:
        return {"exists": False, "mode": None, "content": None, "isdir": False, "owner": None, "group": None}
    info = {"exists": True, "mode": "%04o" % stat.S_IMODE(st.st_mode), "content": None, "isdir": stat.S_ISDIR(st.st_mode),
            "owner": _name(pwd.getpwuid, st.st_uid), "group": _name(grp.getgrgid, st.st_gid)}
    if stat.S_ISREG(st.st_mode) and st.st_size <= MAX_FILE_BYTES:
        try:
            with open(_at(root, path), "rb") as fh:
                info["content"] = fh.read().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            info["content"] = None
    return info


def file_drift(observed, want):
    """A file a role writes (want: {path, content, mode, state: present}, optional owner and group) or removes
    (state: absent). Content, mode, owner and group are compared where the wanted file gives them."""
    if want.get("state", "present") == "absent":
        return observed["exists"]
    if not observed["exists"] or observed["isdir"]:
        return True
    return any(k in want and want[k] is not None and observed[k] != want[k] for k in ("content", "mode", "owner", "group"))


def dir_drift(observed, want):
    """A directory the role creates (ansible.builtin.file state=directory): missing, not a directory, other mode."""
    return not observed["isdir"] or any(want.get(k) is not None and observed[k] != want[k] for k in ("mode", "owner", "group"))


def read_bytes(path, root=""):
    """The bytes of a regular file, or None (absent, a directory, unreadable)."""
    try:
        with open(_at(root, path), "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _b(text):
    return text if isinstance(text, bytes) else str(text).encode("utf-8", "surrogateescape")


def _last(lines, match):
    """The index of the last line that matches, or None."""
    found = [n for n, cur in enumerate(lines) if match(cur)]
    return found[-1] if found else None


def line_drift(data, want):
    """Whether ansible.builtin.lineinfile would change a file, for want {regexp and/or line, state} with insertafter,
    insertbefore, backrefs, search_string and firstmatch unset (the module then inserts at EOF) and create false.

    The rules of lineinfile (ansible-core 2.19, lib/ansible/modules/lineinfile.py, present() and absent()): lines as
    readlines() gives them (ending in LF); present: the LAST line the regexp searches successfully, else the last line
    equal to ``line`` without its CR/LF, is replaced by ``line`` + LF unless it already is exactly that; no such line
    appends one. absent: any line the regexp finds (or equal to ``line``) is removed. A missing file makes present
    fail (rc 257), so it counts as drift: the task then runs and reports it; absent on a missing file changes nothing.
    """
    regexp = re.compile(_b(want["regexp"])) if want.get("regexp") is not None else None
    line = _b(want["line"]) if want.get("line") is not None else None
    if data is None:
        return want.get("state", "present") == "present"
    lines = io.BytesIO(data).readlines()
    if want.get("state", "present") == "absent":
        return any(regexp.search(cur) if regexp is not None else cur.rstrip(b"\r\n") == line for cur in lines)
    index = None
    if regexp is not None:
        index = _last(lines, regexp.search)
    if index is None:
        index = _last(lines, lambda cur: cur.rstrip(b"\r\n") == line)
    if index is None:
        return True
    return lines[index] != (line if line.endswith(b"\n") else line + b"\n")


def block_result(data, want):
    """The file ansible.builtin.blockinfile would leave, for want {marker, block, state, marker_begin, marker_end}
    with insertafter EOF (the default), no insertbefore, prepend_newline or append_newline.

    The rules of blockinfile (ansible-core 2.19, lib/ansible/modules/blockinfile.py, main()): the markers are
    ``marker`` with {mark} replaced by marker_begin/marker_end (BEGIN/END) plus LF, matched as whole lines (bytes
    splitlines); a present, non-empty block gets a final LF and sits between them. With both markers found (the last
    of each) the lines from one to the other are replaced; otherwise the block goes at the end. The line before it
    always gets a final LF (so state absent on a file without one and without markers still changes it).
    """
    lines = data.splitlines(True)
    marker, block = _b(want.get("marker", "# {mark} ANSIBLE MANAGED BLOCK")), _b(want.get("block", ""))
    marker0 = re.sub(br"{mark}", _b(want.get("marker_begin", "BEGIN")), marker) + b"\n"
    marker1 = re.sub(br"{mark}", _b(want.get("marker_end", "END")), marker) + b"\n"
    blocklines = []
    if want.get("state", "present") == "present" and block:
        block = block if block.endswith(b"\n") else block + b"\n"
        blocklines = [marker0] + block.splitlines(True) + [marker1]
    n0 = _last(lines, lambda cur: cur == marker0)
    n1 = _last(lines, lambda cur: cur == marker1)
    if n0 is None or n1 is None:
        n0 = len(lines)
    else:
        lo, hi = min(n0, n1), max(n0, n1)
        lines[lo:hi + 1] = []
        n0 = lo
    if n0 > 0 and not lines[n0 - 1].endswith(b"\n"):
        lines[n0 - 1] += b"\n"
    lines[n0:n0] = blocklines
    return b"".join(lines)


def block_drift(data, want):
    """Whether blockinfile would change the file (block_result). A missing file is drift for either state: the
    module fails on it (rc 257) before it looks at state unless create is set."""
    if data is None:
        return True
    return block_result(data, want) != data


def pattern_drift(data, want):
    """Whether ansible.builtin.replace (no after/before, utf-8) would change the file: re.subn of regexp (MULTILINE)
    over the whole text replaces something and the text differs (lib/ansible/modules/replace.py, main()). A missing
    file fails the module (rc 257): drift, so the task runs and reports it."""
    if data is None:
        return True
    text = data.decode("utf-8", "surrogateescape")
    result, count = re.subn(re.compile(want["regexp"], re.MULTILINE), want.get("replace", ""), text)
    return count > 0 and result != text


# systemctl show -p ... prints KEY=VALUE per property, one block per unit separated by an empty line (systemctl(1)).
UNIT_PROPERTIES = ("Id", "LoadState", "ActiveState", "UnitFileState")


def parse_units(stdout, units):
    """``systemctl show -p Id,LoadState,ActiveState,UnitFileState UNIT...`` -> {unit: {property: value}} in order."""
    blocks = [b for b in re.split(r"\n\s*\n", str(stdout).strip()) if b.strip()] if str(stdout).strip() else []
    out = {}
    for unit, text in zip(units, blocks):
        props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        out[unit] = {k: props.get(k, "") for k in UNIT_PROPERTIES}
    return out


def unit_drift(props, want):
    """Whether ansible.builtin.systemd_service would act for want {enabled: true, state: started}: started means
    ActiveState active or activating (is_running_service()); enabled is taken as met only for UnitFileState enabled
    or static (systemctl is-enabled exits 0 and the module counts enabled-runtime, indirect and alias as not
    enabled). A unit that is not loaded is drift: the task runs and reports it."""
    if not props or props.get("LoadState") != "loaded":
        return True
    if want.get("state") == "started" and props.get("ActiveState") not in ("active", "activating"):
        return True
    return bool(want.get("enabled")) and props.get("UnitFileState") not in ("enabled", "static")


def read_units(units, run_command):
    """{unit: properties} of the units in one systemctl call; {} without units or when systemctl fails."""
    if not units:
        return {}
    rc, out, _err = run_command(["systemctl", "show", "-p", ",".join(UNIT_PROPERTIES)] + list(units))
    return parse_units(out, units) if rc == 0 else {}


def read_nft(tables, run_command):
    """{"FAMILY NAME": {rc, stdout}} of ``nft list table FAMILY NAME`` per table (a missing table exits 1)."""
    out = {}
    for table in tables:
        rc, stdout, _err = run_command(["nft", "list", "table"] + table.split())
        out[table] = {"rc": rc, "stdout": stdout}
    return out


def read_hostname(root=""):
    """{current, permanent}: the kernel's hostname (what hostnamectl --transient prints) and /etc/hostname stripped
    (what the hostname module's FileStrategy reads; hostnamectl --static reads the same file)."""
    current = read_bytes("/proc/sys/kernel/hostname", root)
    permanent = read_bytes("/etc/hostname", root)
    return {"current": None if current is None else current.decode("utf-8", "replace").strip(),
            "permanent": None if permanent is None else permanent.decode("utf-8", "replace").strip()}


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


# The checks over a file's bytes whose drift observe() reports, by parameter, and their verdict functions.
CONTENT_CHECKS = {"lines": line_drift, "blocks": block_drift, "patterns": pattern_drift}


def _content_drift(params, root, drift):
    for kind, check in sorted(CONTENT_CHECKS.items()):
        for name, want in sorted(params.get(kind, {}).items()):
            drift[name] = check(read_bytes(want["path"], root), want)


def _service_state(params, run_command, drift):
    units = {}
    if run_command:
        wanted = params.get("units", {})
        props = read_units(sorted(set(w["unit"] for w in wanted.values())), run_command)
        for name, want in sorted(wanted.items()):
            units[name] = props.get(want["unit"], {})
            drift[name] = unit_drift(units[name], want)
    nft = read_nft(params.get("nft_tables", []), run_command) if run_command else {}
    return units, nft


def observe(params, root="", run_command=None):
    """Everything the role base checks before acting: paths, managed files, directories, lines, blocks, patterns and
    units with their drift (one dict, by name), sysctl, modules, NUMA, nft tables, the hostname and the packages not
    installed (``run_command(argv) -> (rc, stdout, stderr)`` runs dpkg-query, systemctl show and nft list)."""
    paths = {}
    for path in params.get("paths", []):
        info = read_file(path, root)
        paths[path] = {"exists": info["exists"], "isdir": info["isdir"], "mode": info["mode"],
                       "link": os.readlink(_at(root, path)) if os.path.islink(_at(root, path)) else None}
    files, drift = {}, {}
    for name, want in sorted(params.get("files", {}).items()):
        files[name] = dict(read_file(want["path"], root), path=want["path"])
        drift[name] = file_drift(files[name], want)
    for name, want in sorted(params.get("dirs", {}).items()):
        drift[name] = dir_drift(read_file(want["path"], root), want)
    _content_drift(params, root, drift)
    units, nft = _service_state(params, run_command, drift)
    state = {"paths": paths, "files": files, "drift": drift, "sysctl": read_sysctl(params.get("sysctl", []), root),
             "units": units, "nft": nft}
    if params.get("hostname") is not None:
        state["hostname"] = read_hostname(root)
        drift["hostname"] = state["hostname"]["current"] != params["hostname"] or state["hostname"]["permanent"] != params["hostname"]
    state["proc_modules"] = read_proc_modules(root) if params.get("proc_modules") else None
    state["numa"] = read_numa(root) if params.get("numa") else None
    state["packages_missing"] = missing_packages(params.get("packages", []), run_command) if run_command else None
    return state


def duplicate_names(params):
    """Names used by more than one of files, dirs, lines, blocks, patterns, units (and "hostname"): drift is one dict."""
    seen, dup = set(), []
    names = [n for kind in ("files", "dirs", "units") + tuple(CONTENT_CHECKS) for n in params.get(kind) or {}]
    for name in names + (["hostname"] if params.get("hostname") is not None else []):
        if name in seen:
            dup.append(name)
        seen.add(name)
    return dup
