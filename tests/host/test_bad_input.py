"""Bad input to the host-layer roles (base, docker) fails early, before any change, with a
message naming the variable to fix.  Each case runs the role's main entry point with
ansible-playbook against localhost in check mode; a positive control proves valid input passes
the same validation."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: true
  gather_subset: [min, virtual]
  tasks:
    - name: Pretend to be another distribution
      ansible.builtin.set_fact:
        ansible_distribution: "{{ fake_distribution }}"
        ansible_distribution_major_version: "{{ fake_major }}"
        cacheable: true
      when: fake_distribution is defined
    - name: Apply the role
      ansible.builtin.include_role:
        name: "{{ role_under_test }}"
        tasks_from: "{{ entry | default('main') }}"
"""


def run(tmp_path: Path, role: str, extra: dict, check: bool = True) -> subprocess.CompletedProcess:
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({"role_under_test": role, "ansible_python_interpreter": sys.executable, **extra}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_CACHE_PLUGIN="memory", ANSIBLE_STDOUT_CALLBACK="default")
    cmd = [str(BIN / "ansible-playbook"), "-i", "localhost,", str(play), "-e", f"@{vars_file}"]
    if check:
        cmd.append("--check")
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


BAD = [
    # (id, role, vars, text the failure must contain)
    ("docker-unsupported-distro", "docker", {"fake_distribution": "Fedora", "fake_major": "40"},
     "ansible_facts.distribution Fedora 40 is not supported"),
    ("docker-version-short", "docker", {"docker_version": "28.5"}, "docker_version '28.5' is malformed"),
    ("docker-version-word", "docker", {"docker_version": "latest"}, "docker_version 'latest' is malformed"),
    ("docker-daemon-bool-as-string", "docker", {"docker_daemon_options": {"live-restore": "yes"}},
     "docker_daemon_options['live-restore']"),
    ("docker-daemon-list-as-string", "docker", {"docker_daemon_options": {"insecure-registries": "lab:5000"}},
     "docker_daemon_options['insecure-registries']"),
    ("docker-daemon-int-as-string", "docker", {"docker_daemon_options": {"max-concurrent-downloads": "four"}},
     "docker_daemon_options['max-concurrent-downloads']"),
    ("docker-source-choice", "docker", {"docker_install_source": "snap"}, "docker_install_source"),
    ("docker-live-restore-type", "docker", {"docker_daemon_live_restore": "maybe"}, "docker_daemon_live_restore"),
    ("docker-fingerprint", "docker", {"docker_apt_key_fingerprint": "0EBFCD88"}, "docker_apt_key_fingerprint"),
    ("base-unsupported-distro", "base", {"fake_distribution": "Fedora", "fake_major": "40"},
     "ansible_facts.distribution Fedora 40 is not supported"),
    ("base-no-ssh", "base", {"base_firewall_ssh_ports": []}, "base_firewall_ssh_ports must not be"),
    ("base-port-range", "base", {"base_firewall_zt_tcp_ports": [6443, "70000"]}, "70000"),
    ("base-port-word", "base", {"base_firewall_public_tcp_ports": ["http"]}, "'http'"),
    ("base-ca-not-pem", "base", {"base_ca_certificates": [{"name": "corp", "content": "hello"}]},
     "base_ca_certificates[0]"),
    ("base-firewall-switch-type", "base", {"base_firewall_enabled": "perhaps"}, "base_firewall_enabled"),
    ("base-interface", "base", {"base_firewall_zt_interfaces": ["zt* ; drop"]}, "base_firewall_zt_interfaces"),
]


@pytest.mark.parametrize("role,extra,needle", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_fails_early_naming_the_variable(tmp_path, role, extra, needle):
    res = run(tmp_path, role, extra)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert needle in out, out
    # early: nothing before the failure changed (or would have changed) anything
    assert "changed: [localhost]" not in out, out
    failed = [l for l in out.splitlines() if l.startswith("TASK [")]
    assert failed and ("Validating arguments" in failed[-1] or "Check" in failed[-1]
                       or "Reject" in failed[-1]), failed[-3:]


@pytest.mark.parametrize("role", ["base", "docker"])
def test_valid_input_passes_validation(tmp_path, role):
    res = run(tmp_path, role, {"entry": "validate"})
    assert res.returncode == 0, res.stdout + res.stderr
