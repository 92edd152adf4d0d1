"""A real ansible-playbook run: plan_derive -> zerotier_network -> zerotier_member against the HTTP double.

Proves the modules work as Ansible runs them (module packaging, argument specs, delegate_to, run_once,
no_log token), that a second run and a check-mode run change nothing, and that the Central and the
self-hosted controller back ends behave the same.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.doubles.zerotier_api import ZeroTierDouble

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")

INVENTORY = """
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: {python}
  children:
    rke2_servers:
      hosts:
        node-a: {{zt_node_id: "aaaaaaaaa1"}}
    rke2_agents:
      hosts:
        node-b: {{zt_node_id: "bbbbbbbbb2"}}
    zerotier_nodes:
      children:
        rke2_servers:
        rke2_agents:
"""

PLAY = """
- name: Plan
  ansible.builtin.import_playbook: {root}/playbooks/plan.yml

- name: Network and members against the double
  hosts: zerotier_nodes
  gather_facts: false
  vars:
    zt_common: &zt
      backend: "{{{{ zt_backend }}}}"
      api_url: "{{{{ zt_url }}}}"
      api_token: "{{{{ zt_token }}}}"
  tasks:
    - name: Network
      daskmetal.platform.zerotier_network:
        <<: *zt
        network_id: "{{{{ daskmetal_plan_derived.network.network_id }}}}"
        name: "{{{{ daskmetal_plan_derived.network.network_name }}}}"
        routes: "{{{{ daskmetal_plan_derived.network.routes }}}}"
        ip_assignment_pools: "{{{{ daskmetal_plan_derived.network.ip_assignment_pools }}}}"
        v4_assign_mode: "{{{{ daskmetal_plan_derived.network.v4_assign_mode }}}}"
        mtu: "{{{{ daskmetal_plan_derived.network.mtu }}}}"
        multicast_limit: "{{{{ daskmetal_plan_derived.network.multicast_limit }}}}"
      delegate_to: localhost
      run_once: true

    - name: Member
      daskmetal.platform.zerotier_member:
        <<: *zt
        network_id: "{{{{ daskmetal_plan_derived.network.network_id }}}}"
        node_id: "{{{{ zt_node_id }}}}"
        name: "{{{{ inventory_hostname }}}}"
        authorized: true
        ip_assignments: ["{{{{ daskmetal_plan_derived.hosts[inventory_hostname].address }}}}"]
        active_bridge: "{{{{ daskmetal_plan_derived.hosts[inventory_hostname].active_bridge }}}}"
        no_auto_assign_ips: true
      delegate_to: localhost
"""


def _plan(nwid):
    return {"daskmetal_plan": {
        "zerotier": {"network_id": nwid, "network_name": "lab", "cidr": "10.147.17.0/24",
                     "auto_assign_pool": "10.147.17.100-10.147.17.149", "node_range": "10.147.17.10-10.147.17.99"},
        "metallb": {"speakers": "rke2_agents", "pools": [{"name": "svc", "addresses": ["10.147.17.200-10.147.17.219"]}]},
    }}


def _run(tmp_path, extra, check=False):
    cmd = [PLAYBOOK, "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "site.yml"), "-e", "@" + str(tmp_path / "vars.json")]
    if check:
        cmd += ["--check", "--diff"]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return proc


def _recap(out):
    lines = [l for l in out.splitlines() if " : ok=" in l]
    return {l.split()[0]: dict(kv.split("=") for kv in l.split(":", 1)[1].split()) for l in lines}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["central", "controller"])
def test_playbook_converges_is_idempotent_and_check_safe(tmp_path, mode):
    double = ZeroTierDouble(mode, token="vaulted-token-123").start()
    try:
        nwid = double.controller_id + "000042"
        double.add_network(nwid, name="before")
        (tmp_path / "hosts.yml").write_text(INVENTORY.format(python=sys.executable))
        (tmp_path / "site.yml").write_text(PLAY.format(root=ROOT))
        (tmp_path / "vars.json").write_text(json.dumps(dict(_plan(nwid), zt_backend=mode, zt_url=double.url, zt_token="vaulted-token-123")))

        first = _run(tmp_path, {})
        assert first.returncode == 0, first.stdout + first.stderr
        recap = _recap(first.stdout)
        assert recap["node-a"]["changed"] == "2" and recap["node-b"]["changed"] == "1", first.stdout  # network runs once (node-a)
        assert "vaulted-token-123" not in first.stdout + first.stderr

        net = double.store.networks[nwid]
        assert net["name"] == "lab" and net["routes"] == [{"target": "10.147.17.0/24", "via": None}]
        assert net["ipAssignmentPools"] == [{"ipRangeStart": "10.147.17.100", "ipRangeEnd": "10.147.17.149"}]
        a = double.store.members[(nwid, "aaaaaaaaa1")]
        b = double.store.members[(nwid, "bbbbbbbbb2")]
        assert (a["authorized"], a["ipAssignments"], a["activeBridge"]) == (True, ["10.147.17.10"], False)
        assert (b["authorized"], b["ipAssignments"], b["activeBridge"]) == (True, ["10.147.17.11"], True)

        writes = len(double.writes())
        second = _run(tmp_path, {})
        assert second.returncode == 0 and all(r["changed"] == "0" for r in _recap(second.stdout).values()), second.stdout
        assert len(double.writes()) == writes

        double.store.update_member(nwid, "bbbbbbbbb2", {"authorized": False})
        check = _run(tmp_path, {}, check=True)
        assert check.returncode == 0 and _recap(check.stdout)["node-b"]["changed"] == "1", check.stdout
        assert "-    \"authorized\": false" in check.stdout or '"authorized": true' in check.stdout
        assert len(double.writes()) == writes and double.store.members[(nwid, "bbbbbbbbb2")]["authorized"] is False
        third = _run(tmp_path, {})
        assert third.returncode == 0 and double.store.members[(nwid, "bbbbbbbbb2")]["authorized"] is True
    finally:
        double.stop()
