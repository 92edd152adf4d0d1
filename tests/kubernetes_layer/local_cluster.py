"""An inventory of local-connection hosts in the project's cluster groups, for tests that run the real playbooks
(add_node.yml, upgrade.yml, rke2.yml) with ansible-playbook on this machine."""
import sys

import yaml

LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become": False}


def write_inventory(tmp_path, servers, plan):
    """hosts.yml with `servers` in rke2_servers (no agents, no Rancher, no controller) and `plan` as daskmetal_plan."""
    inv = {"all": {"hosts": {"localhost": LOCAL}, "vars": {"daskmetal_plan": plan}, "children": {
        "rke2_servers": {"hosts": {h: dict(LOCAL) for h in servers}},
        "rke2_agents": {"hosts": {}},
        "rancher": {"hosts": {}},
        "zerotier_controller": {"hosts": {}},
        "rke2_cluster": {"children": {"rke2_servers": {}, "rke2_agents": {}}},
        "zerotier_nodes": {"children": {"rke2_servers": {}, "rke2_agents": {}}}}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    return path
