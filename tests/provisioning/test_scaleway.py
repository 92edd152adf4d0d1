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


PORTS = [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 80, "ip_range": "198.51.100.7/32"}]


def provision(env, key, state="running", **more):
    extra = {"scaleway_provision_project": PROJECT, "scaleway_provision_instances": INSTANCES,
             "scaleway_provision_state": state, "scaleway_provision_wait_sleep": 1,
             "scaleway_provision_ssh_public_key_files": [str(key)], **more}
    proc = subprocess.run([sys.executable, "-m", "daskmetal", "run", "provision_scaleway", "-i", "tests/cli/inventory.yml",
                           "-e", json.dumps(extra), "--output", "json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return proc


def test_provision_is_idempotent_feeds_the_inventory_plugin_and_deletes(scaleway):
    double, env, key, newest = scaleway
    proc = provision(env, key, scaleway_provision_public_ports=PORTS, scaleway_provision_ssh_ip_range="203.0.113.0/24")
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
    # one security group, inbound closed but SSH, ZeroTier and the declared ports, attached to every instance
    groups = [g for g in state["security_groups"].values() if g["name"] == "daskmetal"]
    assert len(groups) == 1, state["security_groups"]
    group = groups[0]
    assert (group["project"], group["stateful"], group["inbound_default_policy"], group["outbound_default_policy"]) == (
        PROJECT, True, "drop", "accept")
    # (a single address comes back without its /32, as the real API answers; the re-run below still changes nothing)
    assert inbound_rules(state, group["id"]) == [("TCP", "0.0.0.0/0", 443, 443), ("TCP", "198.51.100.7", 80, 80),
                                                 ("TCP", "203.0.113.0/24", 22, 22), ("UDP", "0.0.0.0/0", 9993, 9993)]
    assert {s["security_group"]["id"] for s in servers.values()} == {group["id"]}
    # the API was asked for images with the filters the playbook sets
    image_queries = [e["query"] for e in state["log"] if e["path"].endswith("/images")]
    assert image_queries and image_queries[0]["name"] == ["Debian Bookworm"] and image_queries[0]["arch"] == ["x86_64"]

    again = provision(env, key, scaleway_provision_public_ports=PORTS, scaleway_provision_ssh_ip_range="203.0.113.0/24")
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

    volumes = {v["id"] for s in servers.values() for v in s["volumes"].values() if v["volume_type"] == "sbs_volume"}
    assert len(volumes) == 2 and volumes <= set(state["volumes"])
    gone = provision(env, key, state="absent")
    assert gone.returncode == 0, gone.stdout[-3000:]
    assert double.state()["servers"] == {}
    assert double.state()["volumes"] == {}          # deleting an instance leaves its Block Storage volume
    assert [g["name"] for g in double.state()["security_groups"].values()] == []


def inbound_rules(state, group_id):
    return sorted((r["protocol"], r["ip_range"], r["dest_port_from"], r["dest_port_to"])
                  for r in state["rules"][group_id] if r["direction"] == "inbound" and r["action"] == "accept")


def test_an_open_group_and_a_server_outside_it_are_brought_back_to_the_declared_ports(scaleway):
    """A group named daskmetal that someone opened (accept policy, an extra rule) is closed again to SSH and
    ZeroTier (the defaults), and an instance that sits in the project's default group is moved into it."""
    double, env, key, newest = scaleway
    with double.lock:
        group = double._new_group("fr-par-2", PROJECT, {"name": "daskmetal", "inbound_default_policy": "accept"})
        double.rules[group["id"]] = [double._check_rule("fr-par-2", {"protocol": "TCP", "direction": "inbound", "action": "accept",
                                                                     "ip_range": "0.0.0.0/0", "dest_port_from": 6443}, 1)]
        stray = double._create("fr-par-2", {"name": "epyc-server-1", "commercial_type": "POP2-4C-16G", "image": newest,
                                             "project": PROJECT, "tags": ["rke2_servers", "daskmetal"],
                                             "dynamic_ip_required": True})
    assert stray["security_group"]["id"] != group["id"]
    proc = provision(env, key, scaleway_provision_instances=INSTANCES[:1])        # only the stray one: cheaper
    assert proc.returncode == 0, proc.stdout[-3000:]
    state = double.state()
    assert state["security_groups"][group["id"]]["inbound_default_policy"] == "drop"
    assert inbound_rules(state, group["id"]) == [("TCP", "0.0.0.0/0", 22, 22), ("UDP", "0.0.0.0/0", 9993, 9993)]
    assert {s["security_group"]["id"] for s in state["servers"].values()} == {group["id"]}


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
