"""Growing the control plane through playbooks/add_node.yml passes the RKE2 role's checks (review k8s M6).

The real consumer is ansible-playbook running add_node.yml itself (plan, request check, the rke2 role's
validation through the include the playbook uses) on an inventory that grows from 1 to 2 servers, the even step of
1 -> 3. ``--tags rke2_validate`` stops the role after its checks, so no host is changed. The control runs
playbooks/rke2.yml on the same inventory: outside add_node.yml an even count is still refused.
"""
import json
import os
import subprocess
import sys

import yaml

from tests.kubernetes_layer.local_cluster import write_inventory

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEST_SECRETS = os.path.join(ROOT, "tests", "vars", "test_secrets.yml")
PLAN = {"zerotier": {"network_id": "8bd5124fd6000001", "cidr": "10.147.17.0/24",
                     "node_range": "10.147.17.10-10.147.17.99"},
        "metallb": {"speakers": None, "pools": []}, "services": {}}


def inventory(tmp_path, servers):
    return write_inventory(tmp_path, servers, PLAN)


def run(tmp_path, playbook, servers, extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory",
               ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_NOCOLOR="1")
    # the network layer's facts for the servers (the zerotier role publishes them on real hosts)
    # (zerotier_apt_codename: the zerotier role validates its arguments in every run, before any fact is gathered)
    extra = dict(extra, zerotier_ip="10.147.17.11", zerotier_interface="ztabcdef12", zerotier_apt_codename="bookworm")
    # the plan first, as site.yml does (add_node.yml imports it itself)
    wrapper = tmp_path / "play.yml"
    wrapper.write_text(yaml.safe_dump([{"ansible.builtin.import_playbook": os.path.join(ROOT, "playbooks", p)}
                                       for p in (["plan.yml"] if playbook != "add_node.yml" else []) + [playbook]]))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory(tmp_path, servers)),
           str(wrapper), "--tags", "rke2_validate",
           "-e", "@" + TEST_SECRETS, "-e", json.dumps(extra)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_add_node_allows_the_even_step_with_a_warning(tmp_path):
    proc = run(tmp_path, "add_node.yml", ["srv-1", "srv-2"], {"daskmetal_node": "srv-2"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "TASK [rke2 : Warn about the even server count while the control plane grows]" in out, out[-4000:]
    assert "WARNING: 2 servers is an even count" in out
    assert "TASK [rke2 : Install" not in out  # --tags rke2_validate: the checks only


def test_outside_add_node_an_even_server_count_is_still_refused(tmp_path):
    proc = run(tmp_path, "rke2.yml", ["srv-1", "srv-2"], {})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "rke2_servers (inventory group): has 2 hosts" in out, out[-4000:]
