"""site.yml stops before it contacts any host when a secret is missing, a placeholder or a default.

The real consumers: ansible-core's host_group_vars plugin decides which files of the example inventory become
variables (`ansible-inventory`), and `ansible-playbook -i inventories/example site.yml --check` runs the whole
platform with every host pointed at a closed loopback port (127.0.0.1:1 refuses at once, as in
tests/cli/unreachable.yml). A run that gets past the secrets reaches the host layer's fact gathering and reports
UNREACHABLE; a run stopped by the preflight never does. The positive control (test secrets) proves the same
command does reach the hosts, so the negative cases cannot pass by failing for an unrelated reason."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INVENTORY = ROOT / "inventories" / "example"
GROUP_VARS = INVENTORY / "group_vars" / "all"
# vault.example.yml is the name main used (loaded as group vars); listed so this file can be run against main.
EXAMPLE_VAULT = next((p for p in (GROUP_VARS / "vault.yml.example", GROUP_VARS / "vault.example.yml") if p.exists()))
TEST_SECRETS = ROOT / "tests" / "vars" / "test_secrets.yml"
CLOSED_PORT = {"ansible_host": "127.0.0.1", "ansible_port": 1,
               "ansible_ssh_common_args": "-o ConnectTimeout=3 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}


def site_check(inventory: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory", ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="0")
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory), "site.yml", "--check", "-e", json.dumps(CLOSED_PORT),
           *extra]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def assert_stopped_before_hosts(proc: subprocess.CompletedProcess, *needles: str) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "UNREACHABLE" not in out, "the run went on to contact the hosts:\n" + out[-3000:]
    assert "PLAY [Host baseline]" not in out, out[-3000:]
    for needle in needles:
        assert needle in out, out[-3000:]


@pytest.fixture()
def inventory_copy(tmp_path):
    """A copy of the example inventory (group_vars resolve next to it) the test can add a vault.yml to."""
    dest = tmp_path / "example"
    shutil.copytree(INVENTORY, dest)
    return dest


def test_example_vault_file_is_not_loaded_as_group_vars():
    """ansible-inventory (host_group_vars) must not turn the example file into variables."""
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(INVENTORY), "--host", "epyc-agent-1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")))
    assert proc.returncode == 0, proc.stderr
    hostvars = json.loads(proc.stdout)
    assert "daskmetal_plan" in hostvars, "the other group_vars files are loaded"
    assert sorted(k for k in hostvars if k.startswith("vault_")) == []


def test_site_stops_before_hosts_when_the_vault_is_missing():
    assert_stopped_before_hosts(site_check(INVENTORY), "rancher_server_bootstrap_password (from "
                                "vault_rancher_bootstrap_password): is empty or undefined; fix: set "
                                "vault_rancher_bootstrap_password")


def test_site_stops_before_hosts_when_the_vault_carries_the_example_placeholders(inventory_copy):
    """What main did: the example content loaded from group_vars/all (there as vault.example.yml)."""
    shutil.copy(EXAMPLE_VAULT, inventory_copy / "group_vars" / "all" / "vault.yml")
    assert_stopped_before_hosts(site_check(inventory_copy), "rancher_server_bootstrap_password (from "
                                "vault_rancher_bootstrap_password): is the placeholder from the example vault file")


@pytest.mark.parametrize("name,value,needle", [
    ("vault_rke2_token", "replace-with-a-long-random-string", "rke2_token (from vault_rke2_token): is the placeholder"),
    ("vault_rke2_token", "CHANGE-ME-BEFORE-GOING-LIVE", "rke2_token (from vault_rke2_token): is a placeholder"),
    ("vault_zerotier_api_token", "<your central api token>", "zerotier_api_token (from vault_zerotier_api_token): "
                                                             "is a placeholder"),
    ("vault_grafana_admin_password", "prom-operator", "monitoring_grafana_admin_password (from "
                                                      "vault_grafana_admin_password): is a well-known default"),
    ("vault_jupyter_password", "", "dask_jupyter_password (from vault_jupyter_password): is empty or undefined"),
    ("vault_rancher_bootstrap_password", "admin", "rancher_server_bootstrap_password (from "
                                                  "vault_rancher_bootstrap_password): is a well-known default"),
], ids=["rke2-example", "rke2-CHANGE", "zerotier-angle", "grafana-prom-operator", "jupyter-empty", "rancher-admin"])
def test_site_stops_before_hosts_on_one_bad_secret(name, value, needle):
    """All other secrets good (the test secrets file): the one bad value alone stops the run."""
    assert_stopped_before_hosts(site_check(INVENTORY, "-e", f"@{TEST_SECRETS}", "-e", json.dumps({name: value})),
                                needle)


def test_control_good_test_secrets_pass_and_the_run_reaches_the_hosts():
    proc = site_check(INVENTORY, "-e", f"@{TEST_SECRETS}")
    out = proc.stdout + proc.stderr
    assert "UNREACHABLE" in out and "Connection refused" in out, out[-3000:]
    # the first play that contacts the hosts: the Docker engine preflight (fact gathering) in playbooks/preflight_hosts.yml
    assert "PLAY [Docker engine preflight" in out, out[-3000:]
    assert "; fix: set" not in out and "FAILED!" not in out, out[-3000:]
    for secret in yaml.safe_load(TEST_SECRETS.read_text()).values():
        assert secret not in out
