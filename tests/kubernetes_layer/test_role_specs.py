"""The defaults the argument specs document are the defaults the roles use (review k8s m14: rke2_node_ip and
rke2_flannel_iface were documented as `{{ zerotier_ip }}` while defaults/main.yml had `| default('')`)."""
import os

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.mark.parametrize("role", ["rke2", "rancher_server", "metallb", "monitoring", "helm"])
def test_spec_defaults_are_the_role_defaults(role):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml")) as f:
        defaults = yaml.safe_load(f)
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as f:
        specs = yaml.safe_load(f)["argument_specs"]
    wrong = [(entry, name, opt["default"], defaults[name]) for entry, body in specs.items()
             for name, opt in (body.get("options") or {}).items()
             if "default" in opt and name in defaults and opt["default"] != defaults[name]]
    assert wrong == []
