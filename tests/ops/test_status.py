"""playbooks/status.yml and `daskmetal validate` against doubles of kubectl and zerotier-cli.

The doubles answer with the JSON shapes of the Kubernetes API and ZeroTierOne's CLI; what is tested is
the playbook's reading of them and the validate verdict (exit code), run through the real CLI and
ansible-runner.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOUBLES = ROOT / "tests" / "doubles"
INVENTORY = Path(__file__).resolve().parent / "status_inventory.yml"


def validate(fixture: str, address: str = "10.147.17.10") -> tuple[int, dict, str]:
    extra = {"daskmetal_kubectl": f"{DOUBLES / 'fake_kubectl.py'} --fixture {fixture}",
             "daskmetal_zerotier_cli": f"{DOUBLES / 'fake_zerotier_cli.py'} --address {address}"}
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    # --skip-tags dask: the smoke Job of playbooks/validate.yml needs a real cluster.
    proc = subprocess.run([sys.executable, "-m", "daskmetal", "validate", "-i", str(INVENTORY), "--skip-tags", "dask",
                           "-e", json.dumps(extra), "--output", "json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def _checks(summary: dict) -> dict:
    events = Path(summary["run_dir"]) / "artifacts" / "ansible" / "job_events"
    for path in sorted(events.glob("*.json")):
        event = json.loads(path.read_text())
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_ok" and data.get("task") == "Show the status":
            return data["res"]["msg"]["checks"]
    raise AssertionError("no status report in the run")


def test_healthy_cluster_validates():
    code, summary, err = validate("healthy")
    assert code == 0, (summary.get("failures"), err)
    checks = _checks(summary)
    assert checks == {
        "zerotier localhost joined (OK)": True,
        "zerotier localhost has 10.147.17.10": True,
        "node localhost Ready": True,
        "node localhost InternalIP 10.147.17.10": True,
        "service dask_scheduler on 10.147.17.200": True,
        "service jupyter on 10.147.17.201": True,
        "service grafana on 10.147.17.202": True,
        "dask workers running": True,
        "prometheus targets all up": True,
    }


def test_degraded_cluster_fails_validate_with_the_reasons():
    code, summary, _ = validate("degraded", address="10.147.17.55")
    assert code == 2
    assert summary["stats"]["failures"] == {"localhost": 1}
    msg = summary["failures"][0]["msg"]
    for reason in ("zerotier localhost has 10.147.17.10", "node localhost Ready", "node localhost InternalIP 10.147.17.10",
                   "service dask_scheduler on 10.147.17.200", "dask workers running", "prometheus targets all up"):
        assert reason in msg
    assert "service jupyter" not in msg
