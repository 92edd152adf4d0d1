"""Runs that leave the network layer out still give the RKE2 layer each node's ZeroTier address and interface.

playbooks/upgrade.yml does not run the zerotier role, and site.yml with --tags rke2 skips its play; the rke2 role
reads zerotier_ip / zerotier_interface, which only that role published, so both stopped at the role's check
("rke2_node_ip () / rke2_flannel_iface () ... missing"). playbooks/zerotier_facts.yml now reads them, changing
nothing, from the network each node has joined (roles/zerotier/tasks/facts.yml, module zerotier_facts).

The consumer is ansible-playbook running the real playbooks (``--tags rke2`` with the role's install, config, service
and kubeconfig parts skipped runs only its checks, so nothing is installed). zerotier-cli is a replay of what a real zerotier-one 1.14.1 printed
(tests/doubles/zerotier_one/recorded/node1.*.json: node cf18ff9e92 joined a58e865785c5e08b with 10.147.17.10/24 on
zt6ifuhnyo), not a double with logic of its own.
"""
import json
import os
import subprocess
import sys

import yaml

from tests.kubernetes_layer.local_cluster import write_inventory

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RECORDED = os.path.join(ROOT, "tests", "doubles", "zerotier_one", "recorded")
TEST_SECRETS = os.path.join(ROOT, "tests", "vars", "test_secrets.yml")
NWID = "a58e865785c5e08b"


def plan(address):
    return {"zerotier": {"network_id": NWID, "cidr": "10.147.17.0/24", "node_range": "10.147.17.20-10.147.17.99"},
            "nodes": {"srv-1": address}, "metallb": {"speakers": None, "pools": []}, "services": {}}


def inventory(tmp_path, address):
    return write_inventory(tmp_path, ["srv-1"], plan(address))


def replay_cli(tmp_path):
    """zerotier-cli that prints the recorded `-j info` / `-j listnetworks` of node1."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    cli = bindir / "zerotier-cli"
    cli.write_text("#!/bin/sh\ncase \"$*\" in\n"
                   f"  '-j info') exec cat '{RECORDED}/node1.info.json' ;;\n"
                   f"  '-j listnetworks') exec cat '{RECORDED}/node1.listnetworks.json' ;;\n"
                   "esac\necho \"unexpected: $*\" >&2\nexit 2\n")
    cli.chmod(0o755)
    return str(bindir)


# The rke2 plays of upgrade.yml include the role with `apply: tags: [rke2]`, so --tags rke2 with every part but the
# checks skipped runs exactly the role's validation (no install, config, service or kubeconfig task).
TAGS = ["--tags", "rke2", "--skip-tags", "rke2_install,rke2_config,rke2_service,rke2_kubeconfig"]


def run(tmp_path, playbooks, address="10.147.17.10", tags=TAGS):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory",
               ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_NOCOLOR="1")
    env["PATH"] = replay_cli(tmp_path) + os.pathsep + env["PATH"]
    wrapper = tmp_path / "play.yml"
    wrapper.write_text(yaml.safe_dump([{"ansible.builtin.import_playbook": os.path.join(ROOT, "playbooks", p)}
                                       for p in playbooks]))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory(tmp_path, address)),
           str(wrapper), *tags, "-e", "@" + TEST_SECRETS,
           "-e", json.dumps({"zerotier_apt_codename": "bookworm", "daskmetal_upgrade_snapshot": False})]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return proc, proc.stdout + proc.stderr


def test_upgrade_alone_reads_the_joined_network_and_passes_the_rke2_checks(tmp_path):
    proc, out = run(tmp_path, ["upgrade.yml"])
    assert proc.returncode == 0, out[-4000:]
    assert "TASK [zerotier : Publish zerotier_ip, zerotier_interface, zerotier_node_id and zerotier_network_id]" in out
    assert "TASK [rke2 : Check the inputs with the preflight's rules for this role" in out, out[-4000:]
    assert "TASK [rke2 : Check the network layer published this host's ZeroTier facts]" in out, out[-4000:]
    assert "TASK [rke2 : Install" not in out  # the checks only
    assert "PLAY [Status - report]" in out  # the status report copes with the parts the tags left out


def test_site_layers_with_the_network_layer_tagged_out_still_get_the_facts(tmp_path):
    # site.yml's order for these layers: plan, zerotier (its role play skipped by the tags), rke2
    proc, out = run(tmp_path, ["plan.yml", "zerotier.yml", "rke2.yml"])
    assert proc.returncode == 0, out[-4000:]
    assert "TASK [zerotier : Install" not in out
    assert "TASK [zerotier : Publish zerotier_ip, zerotier_interface, zerotier_node_id and zerotier_network_id]" in out


def test_a_host_without_its_planned_address_stops_naming_the_fix(tmp_path):
    proc, out = run(tmp_path, ["upgrade.yml"], address="10.147.17.11")
    assert proc.returncode != 0
    assert "srv-1 has not joined ZeroTier network a58e865785c5e08b with its planned address 10.147.17.11/24" in out, out[-4000:]
    assert "Run the network layer first" in out
