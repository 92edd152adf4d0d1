"""scripts/online-e2e (the ONLINE end-to-end run) offline: its help, its plan of steps, that teardown runs after a
failed step, and the syntax of the playbook it drives. The real run needs machines and the internet
(docs/runbooks/online-e2e.md)."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "online-e2e"


def online_e2e(*args, env=None):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=env)


def steps(stdout):
    return [line.split(": ", 1) for line in stdout.splitlines() if ": " in line and not line.startswith("(")]


def test_help_names_the_steps():
    proc = online_e2e("--help")
    assert proc.returncode == 0
    for word in ("provision", "ready", "deploy", "verify", "teardown", "--dry-run", "--keep"):
        assert word in proc.stdout


def test_dry_run_with_scaleway_provisions_first_and_deletes_the_machines_last():
    proc = online_e2e("--dry-run", "-i", "inventories/scaleway", "--provision", "scaleway", "--scaleway-project", "p-1",
                      "-e", "@online-vars.yml")
    assert proc.returncode == 0, proc.stderr
    plan = steps(proc.stdout)
    assert [name for name, _ in plan] == ["provision", "ready", "deploy", "verify", "teardown"]
    argv = {name: shlex.split(cmd) for name, cmd in plan}
    for name in argv:
        assert argv[name][1:5] == ["-i", "inventories/scaleway", "-e", "@online-vars.yml"]
    assert "playbooks/provision_scaleway.yml" in argv["provision"]
    assert argv["ready"][-3:] == ["playbooks/online_e2e.yml", "--tags", "ready"]
    assert "site.yml" in argv["deploy"]
    assert argv["verify"][-3:] == ["playbooks/online_e2e.yml", "--tags", "verify"]
    assert "playbooks/provision_scaleway.yml" in argv["teardown"] and argv["teardown"][-1] == "scaleway_provision_state=absent"
    assert '{"scaleway_provision_project": "p-1"}' in argv["teardown"]


def test_dry_run_on_own_hosts_tears_the_layers_down_and_keep_skips_it():
    proc = online_e2e("--dry-run", "-i", "inventories/example")
    plan = dict(steps(proc.stdout))
    teardown = shlex.split(plan["teardown"])
    assert "playbooks/teardown.yml" in teardown
    assert json.loads(teardown[-1]) == {"daskmetal_teardown_layers": ["dask", "monitoring", "metallb", "rancher", "rke2",
                                                                      "zerotier"], "daskmetal_force": True}
    kept = online_e2e("--dry-run", "-i", "inventories/example", "--keep")
    assert [name for name, _ in steps(kept.stdout)] == ["ready", "deploy", "verify"]


def test_scaleway_without_a_project_is_refused():
    env = {k: v for k, v in os.environ.items() if k != "SCW_DEFAULT_PROJECT_ID"}
    proc = online_e2e("--dry-run", "-i", "inventories/scaleway", "--provision", "scaleway", env=env)
    assert proc.returncode == 2 and "--scaleway-project" in proc.stderr


def test_a_failed_deploy_still_tears_down_and_the_run_fails(tmp_path):
    """A recorder stands in for ansible-playbook: it fails on site.yml; the machines must be deleted anyway."""
    log = tmp_path / "calls.jsonl"
    fake = tmp_path / "ansible-playbook"
    fake.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                    f"open({str(log)!r}, 'a').write(json.dumps([sys.argv[1:], os.environ.get('ANSIBLE_SSH_EXTRA_ARGS')]) + '\\n')\n"
                    "sys.exit(2 if 'site.yml' in sys.argv else 0)\n")
    fake.chmod(0o755)
    env = dict(os.environ, DASKMETAL_ANSIBLE_PLAYBOOK=str(fake))
    env.pop("ANSIBLE_SSH_EXTRA_ARGS", None)
    proc = online_e2e("-i", "inventories/scaleway", "--provision", "scaleway", "--scaleway-project", "p-1", env=env)
    assert proc.returncode == 1
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c[0][2] for c in calls] == ["playbooks/provision_scaleway.yml", "playbooks/online_e2e.yml", "site.yml",
                                        "playbooks/provision_scaleway.yml"]
    assert calls[-1][0][-1] == "scaleway_provision_state=absent"
    assert all("StrictHostKeyChecking=accept-new" in c[1] and "UserKnownHostsFile=" in c[1] for c in calls)
    assert "deploy    FAIL (exit 2)" in proc.stdout and "verify    not run" in proc.stdout


def test_the_playbook_it_drives_passes_the_syntax_check():
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "--syntax-check", "-i", "inventories/example",
                           "playbooks/online_e2e.yml"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_zerotier_check_pings_the_other_members_and_names_a_member_without_its_address(tmp_path):
    """The verify play's ZeroTier part, run for real on two local 'hosts' with stand-ins for zerotier-cli (one
    network, status OK, holding only zt-a's planned address; key names as zerotier-cli -j listnetworks prints
    them, tests/doubles/zerotier_one/recorded/node1.listnetworks.json) and ping (records its arguments)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "zerotier-cli").write_text(
        f"#!{sys.executable}\nimport json\nprint(json.dumps([{{'nwid': '8bd5124fd6000001', 'status': 'OK', "
        "'portDeviceName': 'ztabcdef12', 'assignedAddresses': ['10.147.17.10/24', 'fd00::1/88']}]))\n")
    pings = tmp_path / "ping.log"
    (bin_dir / "ping").write_text(f"#!/bin/sh\necho \"$@\" >> {shlex.quote(str(pings))}\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    zerotier_nodes:\n      hosts:\n"
                         "        zt-a: {ansible_connection: local}\n        zt-b: {ansible_connection: local}\n")
    plan = {"daskmetal_plan": {"zerotier": {"network_id": "8bd5124fd6000001", "network_name": "daskmetal",
                                            "cidr": "10.147.17.0/24", "node_range": "10.147.17.10-10.147.17.99",
                                            "multicast_limit": 32}}}
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), "playbooks/online_e2e.yml",
                           "--tags", "verify", "--limit", "zerotier_nodes", "-e", json.dumps(plan),
                           "-e", f"ansible_python_interpreter={sys.executable}", "-e", "ansible_become_method=su"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "zt-b: no ZeroTier network with status OK holds 10.147.17.11/24" in proc.stdout
    assert pings.read_text().split("\n")[:-1] == ["-c 3 -W 3 10.147.17.11"]     # zt-a pinged zt-b's planned address
