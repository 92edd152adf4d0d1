"""playbooks/status.yml in controller mode (review zerotier.md, aside): the plan's network_id is "" there (the
self-hosted controller creates the network), so the ZeroTier entry must be found by the id the zerotier role
published (zerotier_network_id) or by the plan's network name, not by the empty plan id.

Same doubles as tests/ops/test_status.py: the zerotier-cli double prints one network, nwid 8bd5124fd6000001 named
daskmetal, status OK, with the given address (the shape of zerotier-one 1.14.1's listnetworks).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.ops.test_status import DOUBLES, INVENTORY, ROOT, _checks

NWID = "8bd5124fd6000001"  # tests/doubles/fake_zerotier_cli.py's default


def status(tmp_path: Path, network_name: str, extra: dict | None = None) -> tuple[int, dict]:
    inventory = yaml.safe_load(INVENTORY.read_text())
    inventory["all"]["vars"]["daskmetal_plan"]["zerotier"].update(network_id="", network_name=network_name)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    extra = dict(extra or {}, daskmetal_kubectl=f"{DOUBLES / 'fake_kubectl.py'} --fixture healthy",
                 daskmetal_zerotier_cli=f"{DOUBLES / 'fake_zerotier_cli.py'} --address 10.147.17.10")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.run([sys.executable, "-m", "daskmetal", "validate", "-i", str(path), "--skip-tags", "dask",
                           "-e", json.dumps(extra), "--output", "json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    return proc.returncode, json.loads(proc.stdout)


ZT_CHECKS = {"zerotier localhost joined (OK)": True, "zerotier localhost has 10.147.17.10": True}


@pytest.mark.parametrize("how,name,extra", [
    ("by the plan's network name", "daskmetal", None),
    ("by the published zerotier_network_id", "another-name", {"zerotier_network_id": NWID}),
    ("by -e daskmetal_zerotier_network_id", "another-name", {"daskmetal_zerotier_network_id": NWID}),
], ids=["name", "published-id", "extra-var"])
def test_controller_mode_finds_the_network(tmp_path, how, name, extra):
    code, summary = status(tmp_path, name, extra)
    checks = _checks(summary)
    assert {k: checks[k] for k in ZT_CHECKS} == ZT_CHECKS, (how, checks)
    assert code == 0, (how, summary.get("failures"))


def test_controller_mode_with_no_matching_network_is_not_healthy(tmp_path):
    """Positive control: a name nothing on the node carries (and no published id) reports not joined."""
    code, summary = status(tmp_path, "another-name")
    checks = _checks(summary)
    assert checks["zerotier localhost joined (OK)"] is False
    assert code == 2
