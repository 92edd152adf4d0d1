"""The base role's persisted kernel parameters do not turn on IPv6 forwarding (review host-security M10).

With net.ipv6.conf.all.forwarding=1 the kernel propagates forwarding to every interface, and an interface that
forwards honours Router Advertisements only with accept_ra=2 (kernel Documentation/networking/ip-sysctl.rst,
accept_ra: "Accept Router Advertisements even if forwarding is enabled" is value 2): a host whose IPv6 default
route comes from SLAAC loses it. The plan is IPv4-only.

ansible-playbook renders the role's own template (roles/base/templates/sysctl.conf.j2) from the role's defaults
and vars, as the role's "Persist the kernel parameters" task does; the file is read the way systemd-sysctl reads
sysctl.d files (sysctl.d(5): "key = value" lines, '#' and ';' comments, '/' or '.' as separator)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

PLAY = """
- hosts: localhost
  gather_facts: false
  vars_files:
    - {root}/roles/base/defaults/main.yml
    - {root}/roles/base/vars/main.yml
  tasks:
    - ansible.builtin.template:
        src: {root}/roles/base/templates/sysctl.conf.j2
        dest: {dest}
        mode: "0644"
"""


def render(tmp_path: Path, *extra: str) -> dict[str, str]:
    dest = tmp_path / "90-daskmetal.conf"
    playbook = tmp_path / "render.yml"
    playbook.write_text(PLAY.format(root=ROOT, dest=dest))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory", ANSIBLE_STDOUT_CALLBACK="default")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
                           "-e", f"ansible_python_interpreter={sys.executable}", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    settings = {}
    for line in dest.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        key, _, value = line.lstrip("-").partition("=")
        settings[key.strip().replace("/", ".")] = value.strip()
    return settings


def ipv6_forwarding(settings: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in settings.items()
            if k.startswith("net.ipv6.conf.") and k.endswith(".forwarding") and v != "0"}


def test_default_sysctl_file_has_no_ipv6_forwarding(tmp_path):
    settings = render(tmp_path)
    assert settings.get("net.ipv4.ip_forward") == "1"      # the file was really rendered from the role
    assert ipv6_forwarding(settings) == {}
    assert not [k for k in settings if k.endswith(".accept_ra")]      # no forwarding, no accept_ra key


def test_an_operator_setting_still_reaches_the_file(tmp_path):
    """Positive control: the reading above sees an IPv6 forwarding key when one is configured."""
    settings = render(tmp_path, "-e", json.dumps({"base_sysctl_extra": {"net.ipv6.conf.all.forwarding": 1}}))
    assert ipv6_forwarding(settings) == {"net.ipv6.conf.all.forwarding": "1"}


def test_forwarding_brings_accept_ra_2_on_the_ra_interfaces_first(tmp_path):
    """The lab consumer test (test_base_sysctl_ra.py) loads such a file; here the keys: the RA interfaces (facts
    default, here given) get accept_ra=2 before any other key, an interface forwarding on its own key gets it too,
    an explicit accept_ra wins, conf/all and conf/default get none."""
    dest = tmp_path / "90-daskmetal.conf"
    settings = render(tmp_path, "-e", json.dumps({
        "base_sysctl_extra": {"net.ipv6.conf.all.forwarding": 1, "net.ipv6.conf.ens5.forwarding": "1",
                              "net.ipv6.conf.eth1.accept_ra": 0},
        "base_sysctl_ipv6_ra_interfaces": ["eth0", "eth1"]}))
    keys = [line.split(" = ")[0] for line in dest.read_text().splitlines() if " = " in line and line[0] != "#"]
    assert keys[:3] == ["net.ipv6.conf.ens5.accept_ra", "net.ipv6.conf.eth0.accept_ra", "net.ipv6.conf.eth1.accept_ra"]
    assert [settings[k] for k in keys[:3]] == ["2", "2", "0"]
    assert "net.ipv6.conf.all.accept_ra" not in keys and "net.ipv6.conf.default.accept_ra" not in keys


# Sysctl trees that exist only while a module is loaded (Linux: net/bridge/br_netfilter_hooks.c registers
# net/bridge, net/netfilter/nf_conntrack_standalone.c registers net.netfilter.nf_conntrack_*). systemd-sysctl skips
# a missing key at boot without failing (review host-security minor 7): the module must be in modules-load.d.
MODULE_TREES = {"net.bridge.": "br_netfilter", "net.netfilter.nf_conntrack_": "nf_conntrack"}


def test_every_module_backed_key_has_its_module_loaded_at_boot():
    defaults = yaml.safe_load((ROOT / "roles/base/defaults/main.yml").read_text())
    needed = {module for key in defaults["base_sysctl"] for tree, module in MODULE_TREES.items()
              if key.startswith(tree)}
    assert needed == {"br_netfilter", "nf_conntrack"}      # both trees are in use
    assert needed - set(defaults["base_kernel_modules"]) == set()
