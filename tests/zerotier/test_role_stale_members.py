"""roles/zerotier tasks/stale.yml (imported by join.yml; review zerotier m21), run by ansible-playbook against the
ZeroTier Central double with a real stale record: node-a was re-imaged (new node id aaaaaaaaa1) and its old
member 0a0a0a0a0a is still authorized with node-a's planned address. Central mode, because the self-hosted
controller mode reads the controller's /var/lib/zerotier-one/authtoken.secret (the molecule scenario
roles/zerotier/molecule/default covers that mode in its verify).

zerotier_stale_members: warn prints one warning naming the member, the address and the fix and goes on; fail stops
node-a only, before it is authorized; off sends no request.
"""
import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.doubles.zerotier_api import ZeroTierDouble

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")
TOKEN = "vaulted-token-77aa"


def run(tmp_path, double, nwid, mode):
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                         "children": {"zerotier_nodes": {"hosts": {
                             "node-a": {"__zerotier_facts": {"node_id": "aaaaaaaaa1"}},
                             "node-b": {"__zerotier_facts": {"node_id": "bbbbbbbbb2"}}}}}}}
    play = [{"hosts": "zerotier_nodes", "gather_facts": False,
             "vars": {"zerotier_mode": "central", "zerotier_api_url": double.url, "zerotier_api_token": TOKEN,
                      "zerotier_network_id": nwid, "__zerotier_api_host": "localhost", "zerotier_stale_members": mode,
                      "zerotier_plan": {"hosts": {"node-a": {"address": "10.147.17.10"},
                                                  "node-b": {"address": "10.147.17.11"}}}},
             "tasks": [{"name": "Stale check", "block": [
                 {"ansible.builtin.include_role": {"name": "zerotier", "tasks_from": "stale.yml"}},
                 {"ansible.builtin.set_fact": {"__result": "passed"}}],
                 "rescue": [{"ansible.builtin.set_fact": {"__result": "{{ ansible_failed_result.msg }}"}}]},
                 {"ansible.builtin.copy": {"content": "{{ __result }}", "dest": str(tmp_path) + "/{{ inventory_hostname }}.txt",
                                           "mode": "0600"}, "delegate_to": "localhost"}]}]
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "site.yml").write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    before = len(double.log)
    proc = subprocess.run([PLAYBOOK, "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "site.yml")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    results = {h: (tmp_path / (h + ".txt")).read_text() for h in ("node-a", "node-b")}
    return " ".join((proc.stdout + proc.stderr).split()), results, double.log[before:]


@pytest.fixture
def central():
    double = ZeroTierDouble("central", token=TOKEN).start()
    double.nwid = double.controller_id + "000042"
    double.add_network(double.nwid, name="lab", routes=[{"target": "10.147.17.0/24", "via": None}])
    double.add_member(double.nwid, "0a0a0a0a0a", name="node-a", authorized=True, ipAssignments=["10.147.17.10"])
    double.add_member(double.nwid, "bbbbbbbbb2", name="node-b", authorized=True, ipAssignments=["10.147.17.11"])
    yield double
    double.stop()


WARNING = "[WARNING]: ZeroTier member 0a0a0a0a0a (node-a) on network {nwid} is authorized and holds 10.147.17.10, " \
          "the planned address of node-a (node aaaaaaaaa1)."


def test_warn_names_member_address_and_fix_once_and_goes_on(tmp_path, central):
    out, results, requests = run(tmp_path, central, central.nwid, "warn")
    assert results == {"node-a": "passed", "node-b": "passed"}
    assert [(m, p) for m, p, _, _ in requests] == [("GET", "/api/v1/network/%s/member" % central.nwid)]
    assert out.count(WARNING.format(nwid=central.nwid)) == 1, out
    assert "my.zerotier.com > Networks > %s > Members" % central.nwid in out and "playbooks/remove_node.yml" in out
    assert TOKEN not in out


def test_fail_stops_only_the_host_whose_address_is_held(tmp_path, central):
    _, results, requests = run(tmp_path, central, central.nwid, "fail")
    assert results["node-b"] == "passed"
    assert results["node-a"].startswith("ZeroTier member 0a0a0a0a0a (node-a) on network %s" % central.nwid), results
    assert results["node-a"].endswith("Nothing was authorized for node-a."), results
    assert [m for m, _, _, _ in requests] == ["GET"]


def test_off_sends_nothing_and_no_stale_member_no_warning(tmp_path, central):
    out, results, requests = run(tmp_path, central, central.nwid, "off")
    assert results == {"node-a": "passed", "node-b": "passed"} and requests == [] and "[WARNING]" not in out
    central.store.members.pop((central.nwid, "0a0a0a0a0a"))
    out, results, requests = run(tmp_path, central, central.nwid, "fail")
    assert results == {"node-a": "passed", "node-b": "passed"} and len(requests) == 1 and "[WARNING]" not in out
