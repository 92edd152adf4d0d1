"""Bad input to the host-layer roles (base, docker) fails early, before any change, with a
message naming the variable to fix.

All cases run in ONE ansible-playbook invocation (check mode, against localhost): one play per
case, the role applied inside block/rescue, and the failed task plus its message written to a
JSON file per case.  Play variables do not leak between plays; the cases that fake another
distribution (a cacheable fact) come last.  Positive controls prove valid input passes the same
validation, so the negative cases cannot pass by failing for an unrelated reason."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# (id, role, vars, text the failure message must contain); None = must pass validation
CASES = [
    ("docker-valid", "docker", {}, None),
    ("base-valid", "base", {}, None),
    ("docker-version-short", "docker", {"docker_version": "28"}, "docker_version: '28' is not a version"),
    ("docker-version-word", "docker", {"docker_version": "latest"}, "docker_version: 'latest' is not a version"),
    ("docker-daemon-bool-as-string", "docker", {"docker_daemon_options": {"live-restore": "yes"}},
     "docker_daemon_options['live-restore']"),
    ("docker-daemon-list-as-string", "docker", {"docker_daemon_options": {"insecure-registries": "lab:5000"}},
     "docker_daemon_options['insecure-registries']"),
    ("docker-daemon-int-as-string", "docker", {"docker_daemon_options": {"max-concurrent-downloads": "four"}},
     "docker_daemon_options['max-concurrent-downloads']"),
    ("docker-log-opts-int", "docker", {"docker_daemon_options": {"log-opts": {"max-file": 3}}},
     "docker_daemon_options['log-opts']"),
    ("docker-source-choice", "docker", {"docker_install_source": "snap"}, "docker_install_source"),
    ("docker-live-restore-type", "docker", {"docker_daemon_live_restore": "maybe"}, "docker_daemon_live_restore"),
    ("docker-fingerprint", "docker", {"docker_apt_key_fingerprint": "0EBFCD88"}, "docker_apt_key_fingerprint"),
    ("base-no-ssh", "base", {"base_firewall_ssh_ports": []}, "base_firewall_ssh_ports: must not be empty"),
    ("base-port-range", "base", {"base_firewall_zt_tcp_ports": [6443, "70000"]}, "70000"),
    ("base-port-word", "base", {"base_firewall_public_tcp_ports": ["http"]}, "'http'"),
    ("base-ca-not-pem", "base", {"base_ca_certificates": [{"name": "corp", "content": "hello"}]},
     "base_ca_certificates[0]"),
    ("base-firewall-switch-type", "base", {"base_firewall_enabled": "perhaps"}, "base_firewall_enabled"),
    ("base-interface", "base", {"base_firewall_zt_interfaces": ["zt* ; drop"]}, "base_firewall_zt_interfaces"),
    # the docker cases see a running systemd (a directory standing in for /run/systemd/system) unless fake_systemd
    # is False: then the path is missing, as on a plain container (this lab host itself has no /run/systemd/system)
    ("docker-no-systemd", "docker", {"fake_systemd": False}, "this host has no running systemd"),
    # last: they set a cacheable fact
    ("docker-unsupported-distro", "docker", {"fake_distribution": "Fedora", "fake_major": "40"},
     "ansible_facts.distribution Fedora 40 is not supported"),
    ("base-unsupported-distro", "base", {"fake_distribution": "Fedora", "fake_major": "40"},
     "ansible_facts.distribution Fedora 40 is not supported"),
    # Debian 12's distro packages give Compose v1 (docker-compose 1.29.2-3); the single-host stack needs v2
    ("docker-distro-compose-v1", "docker",
     {"docker_install_source": "distro", "docker_compose_v2_required": True, "fake_distribution": "Debian",
      "fake_major": "12"}, "gives only Compose v1"),
    ("docker-distro-compose-v1-unneeded-valid", "docker",
     {"docker_install_source": "distro", "docker_compose_v2_required": False, "fake_distribution": "Debian",
      "fake_major": "12"}, None),
    ("docker-distro-compose-v2-valid", "docker",
     {"docker_install_source": "distro", "docker_compose_v2_required": True, "fake_distribution": "Debian",
      "fake_major": "13"}, None),
    # last of all: puts localhost into dask_single_host, which makes docker_compose_v2_required default to true
    ("docker-distro-single-host", "docker",
     {"docker_install_source": "distro", "fake_distribution": "Debian", "fake_major": "12",
      "fake_group": "dask_single_host"}, "gives only Compose v1"),
]


def _play(case_id: str, role: str, extra: dict, out: Path, first: bool) -> dict:
    record = {
        "ansible.builtin.copy": {
            "content": "{{ {'failed': __failed, 'task': __task, 'msg': __msg} | to_json }}",
            "dest": str(out / f"{case_id}.json"), "mode": "0600"},
        "check_mode": False,
    }
    tasks = []
    if "fake_group" in extra:
        tasks.append({"name": "Put the host into a group", "ansible.builtin.add_host": {
            "name": "localhost", "groups": [extra["fake_group"]]}})
    if "fake_distribution" in extra:
        tasks.append({"name": "Pretend to be another distribution", "ansible.builtin.set_fact": {
            "ansible_distribution": extra["fake_distribution"],
            "ansible_distribution_major_version": extra["fake_major"], "cacheable": True}})
    tasks.append({
        "name": f"Case {case_id}",
        "block": [
            {"name": "Apply the role (validation only for the valid controls)",
             "ansible.builtin.include_role": {"name": role, **({"tasks_from": "validate"} if case_id.endswith("-valid") else {})},
             "vars": {"__docker_systemd_booted_path": str(out.parent / ("systemd" if extra.get("fake_systemd", True) else "absent"))}
             if role == "docker" else {}},
            {"name": "Record success", **record, "vars": {"__failed": False, "__task": "", "__msg": ""}},
        ],
        "rescue": [
            {"name": "Record the failure", **record, "vars": {
                "__failed": True, "__task": "{{ ansible_failed_task.name }}",
                # a failing loop reports each item's message under results
                "__msg": "{{ ([ansible_failed_result.msg | default('')] + (ansible_failed_result.results | default([])"
                         " | map(attribute='msg', default='') | list)) | join(' | ') }}"}},
        ],
    })
    return {"name": f"Case {case_id}", "hosts": "localhost", "connection": "local",
            "gather_facts": first or "fake_distribution" in extra,
            "gather_subset": ["!all", "!min", "distribution", "platform"],
            "vars": {k: v for k, v in extra.items() if not k.startswith("fake_")}, "tasks": tasks}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("host-bad-input")
    out = tmp / "out"
    out.mkdir()
    (tmp / "systemd").mkdir()  # stands in for /run/systemd/system (sd_booted(3)); tmp / "absent" never exists
    plays = [_play(cid, role, extra, out, i == 0) for i, (cid, role, extra, _) in enumerate(CASES)]
    (tmp / "play.yml").write_text(yaml.safe_dump(plays, sort_keys=False))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_CACHE_PLUGIN="memory", ANSIBLE_STDOUT_CALLBACK="default")
    res = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "--check", str(tmp / "play.yml"),
                          "-e", f"ansible_python_interpreter={sys.executable}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    found = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    return res, found


@pytest.mark.parametrize("case_id,role,extra,needle", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_early_naming_the_variable(results, case_id, role, extra, needle):
    res, found = results
    assert case_id in found, res.stdout[-3000:] + res.stderr[-2000:]
    got = found[case_id]
    if needle is None:
        assert not got["failed"], got
        return
    assert got["failed"], f"{case_id} was accepted"
    assert needle in got["msg"], got
    # early: the failing task is argument validation or one of the role's input checks,
    # which run before anything on the host is touched
    assert ("Validating arguments" in got["task"] or got["task"].startswith("Check")), got
