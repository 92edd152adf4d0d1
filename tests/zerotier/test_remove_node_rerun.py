"""remove_node.yml run again after it already deleted the member: nothing is created in ZeroTier (review m10).

Before the fix the de-authorization step (zerotier_member, state present) POSTed to the deleted member, which both
APIs answer by creating it again; the next task then deleted it: "changed" on every re-run, and a record in between.
Same lab inventory and Central double as tests/ops/test_remove_node.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.doubles.zerotier_api import ZeroTierDouble

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = ROOT / "tests" / "ops" / "remove_inventory.yml"
NWID = "8bd5124fd6000001"
TOKEN = "zt-central-token-for-tests"
KUBECTL = ROOT / "tests" / "doubles" / "fake_kubectl.py"


def test_rerun_after_the_member_is_gone_creates_nothing(tmp_path):
    central = ZeroTierDouble(mode="central", token=TOKEN).start()
    try:
        central.add_network(NWID, name="daskmetal")
        central.add_member(NWID, "abcdef4567", authorized=True, ipAssignments=["10.147.17.11"], name="epyc-agent-2")
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        proc = subprocess.run(
            [sys.executable, "-m", "daskmetal", "run", "remove_node", "-i", str(INVENTORY), "--output", "json",
             "-e", json.dumps({"daskmetal_node": "epyc-agent-1", "daskmetal_node_zerotier_id": "abcdef0123",
                               "daskmetal_force": True, "zerotier_api_url": central.url, "vault_zerotier_api_token": TOKEN,
                               "daskmetal_kubectl": f"{KUBECTL} --log {tmp_path / 'kubectl.log'}"})],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
        summary = json.loads(proc.stdout)
        assert summary["stats"]["failures"] == {}, summary["failures"]
        assert central.writes() == []  # no POST that would create abcdef0123 again, and so nothing to delete
        assert set(node for (_nwid, node) in central.store.members) == {"abcdef4567"}
    finally:
        central.stop()
