"""The cluster_check layers run through the CLI at -vvv --check --diff against lab hosts leave no vault secret on the
terminal, in the run folder (ansible-runner's job_events, stdout, command, env) or anywhere else in .cache/.

Review host-security, issue 15 "a secrets scan test". Lab hosts: two daskmetal-lab/debian:bookworm containers
(the Rancher host and one RKE2 server, the groups of molecule/cluster_check) reached with
community.docker.docker. The play is molecule/cluster_check/converge.yml imported as is (cluster_check_layers.yml);
it runs the rancher_server, rke2 and registration code with the real secrets: their validation, the RKE2
config.yaml render (check mode with --diff), the Rancher container's environment. The secrets come from a real
ansible-vault file that ansible-playbook decrypts (ANSIBLE_VAULT_PASSWORD_FILE); the CLI never sees them, so only
the tasks' no_log keeps them out. Each value is looked for raw and JSON-escaped (ASCII and not)."""
from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.cli import secrets_scan

HERE = Path(__file__).resolve().parent
IMAGE = "daskmetal-lab/debian:bookworm"

SECRETS = {
    "vault_rke2_token": "scan-RKE2-join-Token-7c41e0d9b2aa",
    "vault_rancher_bootstrap_password": "scan-Rancher-Boot-\u00fc\"x\"-5521",
    "vault_rancher_admin_password": "scan-Rancher-Admin-Pw-90817",
    "vault_zerotier_api_token": "scan-zt-Central-Token-2b8d4e6f13",
}


def _docker_ok() -> bool:
    return bool(shutil.which("docker")) and subprocess.run(
        ["docker", "image", "inspect", IMAGE], capture_output=True).returncode == 0


pytestmark = [pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(not _docker_ok(), reason=f"needs a Docker daemon with the lab image {IMAGE}")]

HOSTS = {"rancher": ["rancher"], "server-1": ["rke2_servers", "rke2_cluster", "zerotier_nodes"]}


@pytest.fixture(scope="module")
def lab_hosts():
    tag = uuid.uuid4().hex[:6]
    names = {role: f"dmscan-{tag}-{role}" for role in HOSTS}
    try:
        for name in names.values():
            subprocess.run(["docker", "run", "-d", "--name", name, IMAGE, "sleep", "infinity"],
                           check=True, capture_output=True)
        # molecule/cluster_check/prepare.yml: package lists, as on an installed system (apt's check mode needs them)
        procs = [subprocess.Popen(["docker", "exec", name, "sh", "-c",
                                   "ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || apt-get update -qq"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for name in names.values()]
        assert all(p.wait(timeout=300) == 0 for p in procs)
        yield names
    finally:
        for name in names.values():
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def inventory(path: Path, names: dict[str, str]) -> Path:
    groups: dict[str, dict] = {}
    for role, host_groups in HOSTS.items():
        for group in host_groups:
            groups.setdefault(group, {"hosts": {}})["hosts"][names[role]] = {}
    path.write_text(json.dumps({"all": {
        "hosts": {n: {"ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}
                  for n in names.values()},
        "children": groups}}))
    return path


def test_cluster_check_layers_leave_no_secret_at_vvv(lab_hosts, tmp_path):
    scan = secrets_scan.run_and_scan(HERE / "playbooks" / "cluster_check_layers.yml",
                                     inventory(tmp_path / "inventory.json", lab_hosts), SECRETS,
                                     ["--check", "--diff"], tmp_path)
    assert scan.proc.returncode == 0, scan.proc.stdout[-6000:] + scan.proc.stderr[-2000:]
    stdout_log = (scan.run_dir / "artifacts" / "ansible" / "stdout").read_text()
    # positive controls: at -vvv over the lab hosts' connection, the RKE2 config (the token) really rendered
    assert "ESTABLISH DOCKER CONNECTION" in stdout_log, "the run was not at -vvv over the docker connection"
    assert "Write config.yaml (holds the join token)" in stdout_log
    names = {p.name for p in scan.scanned} | {p.parent.name for p in scan.scanned}
    assert {"command", "stdout", "job_events", "summary.json"} <= names, sorted(names)
    assert scan.on_terminal == [], f"secret values printed: {scan.on_terminal}"
    assert scan.in_files == [], f"secret values left in .cache/: {scan.in_files}"
