"""backup.yml then restore.yml for Rancher's data, for real, on the local Docker engine.

A lab container stands in for Rancher (the playbooks only need a container with a /var/lib/rancher mount);
what is exercised is the real stop/archive/fetch/start and copy/stop/unpack/start sequence.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = Path(__file__).resolve().parent / "rancher_inventory.yml"
NAME = "dmops-rancher-test"
VOLUME = "dmops-rancher-test-data"
IMAGE = "daskmetal-lab/minbase:bookworm"

pytestmark = pytest.mark.skipif(
    shutil.which("docker") is None or subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode,
    reason=f"needs the Docker engine and the lab image {IMAGE} (python -m tests.lab.images build)")


def docker(*args: str, check: bool = True) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check).stdout.strip()


def daskmetal(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "daskmetal", *args, "-i", str(INVENTORY), "--output", "json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def rancher_stand_in():
    docker("rm", "-f", NAME, check=False)
    docker("volume", "rm", "-f", VOLUME, check=False)
    docker("run", "-d", "--name", NAME, "-v", f"{VOLUME}:/var/lib/rancher", IMAGE, "sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait")
    docker("exec", NAME, "sh", "-c", "mkdir -p /var/lib/rancher/management-state && echo before > /var/lib/rancher/management-state/marker")
    yield
    docker("rm", "-f", NAME, check=False)
    docker("volume", "rm", "-f", VOLUME, check=False)
    for leftover in Path("/var/lib/docker/volumes").glob(f"{VOLUME}/_data.before-restore-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def test_rancher_data_backup_and_restore_round_trip(rancher_stand_in, tmp_path):
    proc = daskmetal("run", "backup", "-e", f"daskmetal_backup_dir={tmp_path}", "-e", "daskmetal_backup_id=t1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    archive = tmp_path / "t1" / "rancher" / "rancher-data-t1.tar.gz"
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(archive) as tar:
        assert tar.extractfile("./management-state/marker").read() == b"before\n"
    assert docker("inspect", "-f", "{{.State.Running}}", NAME) == "true"   # started again after the archive

    docker("exec", NAME, "sh", "-c", "echo after > /var/lib/rancher/management-state/marker && touch /var/lib/rancher/new-file")
    proc = daskmetal("run", "restore", "-e", f"daskmetal_restore_rancher_archive={archive}", "-e", "daskmetal_force=true")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["stats"]["changed"]["localhost"] >= 3
    assert docker("inspect", "-f", "{{.State.Running}}", NAME) == "true"
    assert docker("exec", NAME, "cat", "/var/lib/rancher/management-state/marker") == "before"
    assert docker("exec", NAME, "sh", "-c", "test -e /var/lib/rancher/new-file && echo yes || echo no") == "no"
