"""zerotier_member_info as ansible-playbook runs it (review zerotier m21): one member list for the network, run once
and delegated like roles/zerotier/tasks/join.yml does, and Ansible prints the warning naming the stale member,
the address and the fix. Against the HTTP double of both back ends, with a real stale record in it: the old node
id of a re-imaged host, still authorized with the host's planned address (neither ZeroTier Central nor the
controller refuses it; ZeroTierOne 1.14.1 controller/EmbeddedNetworkController.cpp:1187-1201).
"""
import json
import os
import subprocess
import sys

import pytest

from tests.doubles.zerotier_api import ZeroTierDouble

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")
TOKEN = "vaulted-token-5e1f"

PLAY = """
- hosts: node-a,node-b
  gather_facts: false
  vars:
    ansible_connection: local
    ansible_python_interpreter: {python}
    planned: {{node-a: {{id: aaaaaaaaa1, ip: 10.147.17.10}}, node-b: {{id: bbbbbbbbb2, ip: 10.147.17.11}}}}
  tasks:
    - name: Look for other members holding the planned addresses
      daskmetal.platform.zerotier_member_info:
        backend: {mode}
        api_url: {url}
        api_token: {token}
        network_id: {nwid}
        planned: >-
          {{{{ ansible_play_hosts | map('extract', planned) | map(attribute='id')
             | zip(ansible_play_hosts, ansible_play_hosts | map('extract', planned) | map(attribute='ip'))
             | map('zip', ['node_id', 'host', 'address']) | map('map', 'reverse') | map('community.general.dict') | list }}}}
      register: members
      run_once: true
      delegate_to: localhost

    - name: Every host sees the one answer
      ansible.builtin.assert:
        that: members.stale | map(attribute='host') | list == ['node-a']
"""


@pytest.mark.parametrize("mode", ["central", "controller"])
def test_the_warning_is_printed_once_and_names_member_address_and_fix(tmp_path, mode):
    double = ZeroTierDouble(mode, token=TOKEN).start()
    try:
        nwid = double.controller_id + "000042"
        double.add_network(nwid, name="lab", routes=[{"target": "10.147.17.0/24", "via": None}])
        double.add_member(nwid, "0a0a0a0a0a", name="node-a", authorized=True, ipAssignments=["10.147.17.10"])  # old id
        double.add_member(nwid, "bbbbbbbbb2", name="node-b", authorized=True, ipAssignments=["10.147.17.11"])
        (tmp_path / "site.yml").write_text(PLAY.format(python=sys.executable, mode=mode, url=double.url, token=TOKEN,
                                                       nwid=nwid))
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory", ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"),
                   NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        before = len(double.log)
        proc = subprocess.run([PLAYBOOK, "-i", "node-a,node-b,", str(tmp_path / "site.yml")], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        out = " ".join((proc.stdout + proc.stderr).split())
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert len(double.log) - before == 1 and double.log[-1][0] == "GET"  # one list request, nothing written
        assert out.count("[WARNING]: ZeroTier member 0a0a0a0a0a (node-a) on network %s" % nwid) == 1, out
        assert "holds 10.147.17.10, the planned address of node-a (node aaaaaaaaa1)" in out, out
        fix = "my.zerotier.com" if mode == "central" else "/controller/network/%s/member/0a0a0a0a0a" % nwid
        assert fix in out, out
        assert TOKEN not in out
    finally:
        double.stop()
