"""The molecule/layers scenario runs the host layers exactly as site.yml starts: same playbooks, same order.

If site.yml gains, drops or reorders a host layer, the scenario would silently test another order; this
keeps the two together.
"""
from __future__ import annotations

import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _imports(path: str) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        plays = yaml.safe_load(fh)
    base = os.path.dirname(path)
    return [os.path.relpath(os.path.normpath(os.path.join(base, p["ansible.builtin.import_playbook"])), ROOT)
            for p in plays if "ansible.builtin.import_playbook" in p]


def test_layers_scenario_imports_the_start_of_site_yml_in_order():
    site = _imports(os.path.join(ROOT, "site.yml"))
    layers = _imports(os.path.join(ROOT, "molecule", "layers", "converge.yml"))
    assert layers == ["playbooks/preflight.yml", "playbooks/plan.yml", "playbooks/preflight_hosts.yml", "playbooks/hosts.yml", "playbooks/docker.yml", "playbooks/zerotier.yml"]
    assert site[:len(layers)] == layers
