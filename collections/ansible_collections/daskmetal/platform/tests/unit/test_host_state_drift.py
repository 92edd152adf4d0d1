"""host_state's drift verdicts against the modules the role base runs on drift (the consumer check).

Each case writes a file, asks module_utils/host_state.py whether ansible.builtin.lineinfile / blockinfile / replace
would change it, then runs that real module (the venv's ansible-core, executed directly with its arguments file) in
check mode on the same file and compares its ``changed`` (a failed module, e.g. a missing file, counts as drift:
the role's task then runs and fails like before). The file must be untouched by both.
"""
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.daskmetal.platform.plugins.module_utils import host_state as hs

HOSTS_RE = r"^127\.0\.1\.1\s"
HOSTS_LINE = "127.0.1.1 node1"
MARKER = "# {mark} daskmetal hosts"
BLOCK = "10.147.17.10 node1\n10.147.17.11 node2\n"
FSTAB_RE = r"^([^#\s]+\s+\S+\s+swap\s+.*)$"
FSTAB_REPLACE = r"# \1  # disabled by daskmetal (Kubernetes)"
BEGIN, END = "# BEGIN daskmetal hosts\n", "# END daskmetal hosts\n"


def run_module(tmp_path, name, args):
    """The real module in check mode: (changed, failed)."""
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=True)}))
    proc = subprocess.run([sys.executable, "-m", "ansible.modules." + name, str(args_file)],
                          capture_output=True, text=True, check=False)
    result = json.loads(proc.stdout)
    return bool(result.get("changed")), bool(result.get("failed"))


def verdict(tmp_path, content, module, args, check, want):
    path = tmp_path / "target"
    if content is not None:
        path.write_bytes(content.encode())
    ours = check(hs.read_bytes(str(path)), want)
    changed, failed = run_module(tmp_path, module, dict(args, path=str(path)))
    if content is not None:
        assert path.read_bytes() == content.encode(), "check mode wrote the file"
    return ours, changed or failed


LINE_CASES = [
    ("exact line", "127.0.0.1 localhost\n127.0.1.1 node1\n", "present"),
    ("other name", "127.0.0.1 localhost\n127.0.1.1 old\n", "present"),
    ("last match right, first wrong", "127.0.1.1 old\n127.0.1.1 node1\n", "present"),
    ("first match right, last wrong", "127.0.1.1 node1\n127.0.1.1 old\n", "present"),
    ("no match: appended", "127.0.0.1 localhost\n", "present"),
    ("no match, no final newline", "127.0.0.1 localhost", "present"),
    ("match without final newline", "127.0.0.1 localhost\n127.0.1.1 node1", "present"),
    ("match with CRLF", "127.0.1.1 node1\r\n", "present"),
    ("tab after the address", "127.0.1.1\tnode1\n", "present"),
    ("empty file", "", "present"),
    ("missing file (module fails)", None, "present"),
    ("absent: a match", "127.0.0.1 localhost\n127.0.1.1 node1\n", "absent"),
    ("absent: none", "127.0.0.1 localhost\n", "absent"),
    ("absent: missing file", None, "absent"),
]


@pytest.mark.parametrize("content,state", [c[1:] for c in LINE_CASES], ids=[c[0] for c in LINE_CASES])
def test_lines_follow_lineinfile(tmp_path, content, state):
    want = {"regexp": HOSTS_RE, "line": HOSTS_LINE, "state": state}
    args = {"regexp": HOSTS_RE, "state": state} if state == "absent" else {"regexp": HOSTS_RE, "line": HOSTS_LINE}
    ours, theirs = verdict(tmp_path, content, "lineinfile", args, hs.line_drift, want)
    assert ours == theirs


@pytest.mark.parametrize("content,expected", [
    ("a=1\nb\n", False),      # the regexp finds nothing, the exact line exists: lineinfile leaves it
    ("a=1\n", True),
    ("b\na=1\nb\n", False),
], ids=["exact line elsewhere", "neither", "exact line twice"])
def test_lines_without_a_regexp_match_use_the_exact_line(tmp_path, content, expected):
    want = {"regexp": "^c=", "line": "b", "state": "present"}
    ours, theirs = verdict(tmp_path, content, "lineinfile", {"regexp": "^c=", "line": "b"}, hs.line_drift, want)
    assert ours == theirs == expected


BLOCK_CASES = [
    ("no markers", "127.0.0.1 localhost\n", BLOCK, "present"),
    ("block in place", "127.0.0.1 localhost\n" + BEGIN + BLOCK + END, BLOCK, "present"),
    ("block in the middle", "a\n" + BEGIN + BLOCK + END + "b\n", BLOCK, "present"),
    ("block given without final newline", BEGIN + BLOCK + END, BLOCK.rstrip("\n"), "present"),
    ("other block", BEGIN + "10.0.0.1 x\n" + END, BLOCK, "present"),
    ("only the begin marker", BEGIN + BLOCK, BLOCK, "present"),
    ("end before begin", END + BLOCK + BEGIN, BLOCK, "present"),
    ("two copies (the last markers count)", BEGIN + BLOCK + END + BEGIN + BLOCK + END, BLOCK, "present"),
    ("no final newline, no markers", "127.0.0.1 localhost", BLOCK, "present"),
    ("empty block, markers present", BEGIN + BLOCK + END, "", "present"),
    ("empty block, no markers", "a\n", "", "present"),
    ("empty file", "", BLOCK, "present"),
    ("missing file (module fails)", None, BLOCK, "present"),
    ("absent: block present", "a\n" + BEGIN + BLOCK + END, BLOCK, "absent"),
    ("absent: no markers", "a\n", BLOCK, "absent"),
    ("absent: no markers, no final newline", "a", BLOCK, "absent"),
    ("absent: missing file", None, BLOCK, "absent"),
]


@pytest.mark.parametrize("content,block,state", [c[1:] for c in BLOCK_CASES], ids=[c[0] for c in BLOCK_CASES])
def test_blocks_follow_blockinfile(tmp_path, content, block, state):
    want = {"marker": MARKER, "block": block, "state": state}
    ours, theirs = verdict(tmp_path, content, "blockinfile", want, hs.block_drift, want)
    assert ours == theirs


PATTERN_CASES = [
    ("swap line", "UUID=1 / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n"),
    ("swap commented", "UUID=1 / ext4 defaults 0 1\n# /swapfile none swap sw 0 0  # disabled by daskmetal (Kubernetes)\n"),
    ("no swap", "UUID=1 / ext4 defaults 0 1\n"),
    ("swap last, no final newline", "/dev/sda2 none swap sw 0 0"),
    ("empty", ""),
    ("missing file (module fails)", None),
]


@pytest.mark.parametrize("content", [c[1] for c in PATTERN_CASES], ids=[c[0] for c in PATTERN_CASES])
def test_patterns_follow_replace(tmp_path, content):
    want = {"regexp": FSTAB_RE, "replace": FSTAB_REPLACE}
    ours, theirs = verdict(tmp_path, content, "replace", want, hs.pattern_drift, want)
    assert ours == theirs


def test_observe_names_every_check_in_one_drift_dict(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hosts").write_text("127.0.0.1 localhost\n" + BEGIN + BLOCK + END)
    (tmp_path / "etc/fstab").write_text("/swapfile none swap sw 0 0\n")
    (tmp_path / "etc/hostname").write_text("node1\n")
    (tmp_path / "proc/sys/kernel").mkdir(parents=True)
    (tmp_path / "proc/sys/kernel/hostname").write_text("node1\n")
    (tmp_path / "var/lib/daskmetal").mkdir(parents=True)
    os.chmod(tmp_path / "var/lib/daskmetal", 0o700)
    params = {"lines": {"loopback": {"path": "/etc/hosts", "regexp": HOSTS_RE, "line": HOSTS_LINE}},
              "blocks": {"hosts": {"path": "/etc/hosts", "marker": MARKER, "block": BLOCK}},
              "patterns": {"swap": {"path": "/etc/fstab", "regexp": FSTAB_RE, "replace": FSTAB_REPLACE}},
              "dirs": {"state_dir": {"path": "/var/lib/daskmetal", "mode": "0700"},
                       "dropin_dir": {"path": "/etc/systemd/system/nftables.service.d", "mode": "0755"}},
              "hostname": "node1"}
    state = hs.observe(params, str(tmp_path))
    assert state["drift"] == {"loopback": True, "hosts": False, "swap": True, "state_dir": False, "dropin_dir": True,
                              "hostname": False}
    (tmp_path / "proc/sys/kernel/hostname").write_text("localhost\n")
    assert hs.observe(params, str(tmp_path))["drift"]["hostname"] is True
    assert hs.duplicate_names(dict(params, files={"hosts": {"path": "/etc/hosts"}})) == ["hosts"]
