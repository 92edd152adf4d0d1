"""remove_node.yml's ZeroTier part against the ZeroTier Central double, for a node that is already dead."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.doubles.zerotier_api import ZeroTierDouble

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = Path(__file__).resolve().parent / "remove_inventory.yml"
NWID = "8bd5124fd6000001"
TOKEN = "zt-central-token-for-tests"


@pytest.fixture
def central():
    double = ZeroTierDouble(mode="central", token=TOKEN).start()
    double.add_network(NWID, name="daskmetal")
    double.add_member(NWID, "abcdef0123", authorized=True, ipAssignments=["10.147.17.10"], activeBridge=True, name="epyc-agent-1")
    double.add_member(NWID, "abcdef4567", authorized=True, ipAssignments=["10.147.17.11"], activeBridge=True, name="epyc-agent-2")
    yield double
    double.stop()


KUBECTL = ROOT / "tests" / "doubles" / "fake_kubectl.py"


def run(*extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "daskmetal", "run", "remove_node", "-i", str(INVENTORY), "--output", "json", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)


def test_dead_node_is_drained_deleted_deauthorized_and_addresses_pinned(central, tmp_path):
    log = tmp_path / "kubectl.log"
    proc = run("-e", json.dumps({"daskmetal_node": "epyc-agent-1", "daskmetal_node_zerotier_id": "abcdef0123",
                                 "daskmetal_force": True, "zerotier_api_url": central.url,
                                 "vault_zerotier_api_token": TOKEN,
                                 "daskmetal_kubectl": f"{KUBECTL} --log {log}"}))
    summary = json.loads(proc.stdout)
    assert summary["stats"]["failures"] == {}, summary["failures"]
    assert proc.returncode == 0              # the dead node's steps are skipped as unreachable (ignored), nothing failed
    assert summary["stats"]["ignored"]["epyc-agent-1"] >= 1
    members = {node for (nwid, node) in central.store.members}
    assert members == {"abcdef4567"}         # deleted; the other member untouched
    writes = [(m, p) for (m, p, *_rest) in central.writes()]
    assert ("POST", f"/api/v1/network/{NWID}/member/abcdef0123") in writes
    assert ("DELETE", f"/api/v1/network/{NWID}/member/abcdef0123") in writes
    assert TOKEN not in proc.stdout
    pins = [e for e in summary["events"] if e["task"] == "Tell what to change in the inventory"]
    assert pins and pins[0]["status"] == "ok"
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert any("drain" in c and "epyc-agent-1" in c and "--ignore-daemonsets" in c for c in calls)
    assert any(c[-3:] == ["node", "epyc-agent-1", "--ignore-not-found"] and "delete" in c for c in calls)
    stdout = (Path(summary["run_dir"]) / "artifacts" / "ansible" / "stdout").read_text()
    # pins for the hosts that stay, with the addresses they have now (localhost is the server here)
    assert '{\\"localhost\\": \\"10.147.17.10\\", \\"epyc-agent-2\\": \\"10.147.17.12\\"}' in stdout


def test_without_the_node_id_nothing_changes_in_zerotier(central, tmp_path):
    proc = run("-e", json.dumps({"daskmetal_node": "epyc-agent-1", "daskmetal_force": True,
                                 "zerotier_api_url": central.url, "vault_zerotier_api_token": TOKEN,
                                 "daskmetal_kubectl": f"{KUBECTL} --log {tmp_path / 'kubectl.log'}"}))
    assert proc.returncode == 2
    failures = json.loads(proc.stdout)["failures"]
    assert [f["task"] for f in failures] == ["Check that the member is known"]
    assert "daskmetal_node_zerotier_id" in failures[0]["msg"]
    assert central.writes() == []
