"""playbooks/provision_scaleway.yml and inventories/scaleway against a double of the Scaleway Instance API.

community.general's Scaleway modules and inventory plugin always call https://api.scaleway.com, so the
double (tests/doubles/scaleway_api.py) is reached as an HTTPS proxy with its own CA: TLS is verified, the
modules and the plugin run unmodified, through the `daskmetal` CLI and ansible-inventory.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.doubles.scaleway_api import ScalewayDouble

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scw-secret-0123456789abcdef"
PROJECT = "6867048b-fe12-4e96-835e-41c79a39604b"
INSTANCES = [
    {"name": "epyc-server-1", "groups": ["rke2_servers"]},
    {"name": "epyc-agent-1", "groups": ["rke2_agents"], "commercial_type": "POP2-16C-64G"},
]


@pytest.fixture
def scaleway(tmp_path):
    double = ScalewayDouble(token=TOKEN, certs_dir=tmp_path / "certs").start()
    double.add_image("fr-par-2", "Debian Bookworm", image_id="11111111-0000-4000-8000-000000000001")
    newest = double.add_image("fr-par-2", "Debian Bookworm", image_id="11111111-0000-4000-8000-000000000002")
    double.add_image("fr-par-2", "Debian Bookworm", arch="arm64")
    double.add_image("fr-par-1", "Debian Bookworm")
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "no_proxy")}
    env.update(https_proxy=double.proxy_url, HTTPS_PROXY=double.proxy_url, SSL_CERT_FILE=str(double.ca_pem),
               SCW_SECRET_KEY=TOKEN, SCW_TOKEN=TOKEN, PYTHONPATH=str(ROOT / "src"))
    key = tmp_path / "id_test.pub"
    key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDaskmetalTestKeyOnly test@daskmetal\n")
    yield double, env, key, newest
    double.stop()


def provision(env, key, state="running"):
    extra = {"scaleway_provision_project": PROJECT, "scaleway_provision_instances": INSTANCES,
             "scaleway_provision_state": state, "scaleway_provision_wait_sleep": 1,
             "scaleway_provision_ssh_public_key_files": [str(key)]}
    proc = subprocess.run([sys.executable, "-m", "daskmetal", "run", "provision_scaleway", "-i", "tests/cli/inventory.yml",
                           "-e", json.dumps(extra), "--output", "json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return proc


def test_provision_is_idempotent_feeds_the_inventory_plugin_and_deletes(scaleway):
    double, env, key, newest = scaleway
    proc = provision(env, key)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert TOKEN not in proc.stdout
    state = double.state()
    servers = {s["name"]: s for s in state["servers"].values()}
    assert sorted(servers) == ["epyc-agent-1", "epyc-server-1"]
    for spec in INSTANCES:
        server = servers[spec["name"]]
        assert server["state"] == "running"
        assert server["tags"] == spec["groups"] + ["daskmetal"]
        assert server["commercial_type"] == spec.get("commercial_type", "POP2-4C-16G")
        assert server["image"]["id"] == newest                     # newest x86_64 image of that name in the zone
        assert server["project"] == PROJECT and server["public_ip"]["address"]
        user_data = state["user_data"][server["id"]]["cloud-init"]
        assert user_data.startswith("#cloud-config\n")
        config = yaml.safe_load(user_data)
        assert config["hostname"] == spec["name"]
        assert config["ssh_authorized_keys"] == [key.read_text().strip()]
        commands = json.dumps(config["runcmd"])
        assert "9DC858229FC7DD38854AE2D88D81803C0EBFCD88" in commands and "74A5E9C458E1A431F1DA57A71657198823E52A61" in commands
        assert "| sh" not in user_data and "|sh" not in user_data and "| bash" not in user_data
        script = config["write_files"][0]["content"]
        assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0
        assert "Signed-By: /etc/apt/keyrings/%s.gpg" in script
    # the API was asked for images with the filters the playbook sets
    image_queries = [e["query"] for e in state["log"] if e["path"].endswith("/images")]
    assert image_queries and image_queries[0]["name"] == ["Debian Bookworm"] and image_queries[0]["arch"] == ["x86_64"]

    again = provision(env, key)
    assert again.returncode == 0, again.stdout[-3000:]
    summary = json.loads(again.stdout)
    assert summary["stats"]["changed"] == {}, summary["events"]
    assert len(double.state()["servers"]) == 2

    inventory = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-inventory"), "-i", "inventories/scaleway", "--list"],
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert inventory.returncode == 0, inventory.stderr
    data = json.loads(inventory.stdout)
    assert data["rke2_servers"]["hosts"] == ["epyc-server-1"]
    assert data["rke2_agents"]["hosts"] == ["epyc-agent-1"]
    assert set(data["rke2_cluster"]["children"]) == {"rke2_servers", "rke2_agents"}
    hostvars = data["_meta"]["hostvars"]
    address = hostvars["epyc-server-1"]["ansible_host"]
    if isinstance(address, dict):                # ansible-inventory --list shows template-unsafe strings wrapped
        address = address["__ansible_unsafe"]
    assert address == servers["epyc-server-1"]["public_ip"]["address"]

    gone = provision(env, key, state="absent")
    assert gone.returncode == 0, gone.stdout[-3000:]
    assert double.state()["servers"] == {}


def test_prefix_names_are_refused_before_any_api_call(scaleway):
    double, env, key, _ = scaleway
    extra = {"scaleway_provision_project": PROJECT,
             "scaleway_provision_instances": [{"name": "node-1", "groups": ["rke2_agents"]},
                                              {"name": "node-10", "groups": ["rke2_agents"]}]}
    proc = subprocess.run([sys.executable, "-m", "daskmetal", "run", "provision_scaleway", "-i", "tests/cli/inventory.yml",
                           "-e", json.dumps(extra), "--output", "json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "node-1 is a prefix of another instance name" in json.loads(proc.stdout)["failures"][0]["msg"]
    assert double.state()["log"] == []
