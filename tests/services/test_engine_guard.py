"""Role dask_compose stops on a Docker Engine older than 25.0, naming the version it found, the host, why
(start_interval) and the fix (docker_install_source: upstream): tasks/engine.yml against a real dockerd.

The real consumer here is the controller's own engine, which on the CI machine (Debian 12, .ci/run) is bookworm's
docker.io, 20.10.24+dfsg1: the role's guard tasks run on it through ansible-playbook (connection local; they only
read `docker version`). Skipped where the controller's engine is 25 or newer. The same refusal of the whole role
(main.yml, state present) in a lab bookworm container with bookworm's docker.io installed from the lab mirror, with
nothing of the stack written, was run by hand (about 90 s, too slow for the suite: see the commit); the guard
passing on Engine 26.1 is shown by molecule compose_e2e on trixie and on bookworm (tests/lab/docker_ce_standin.py).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _server_version() -> str:
    if not shutil.which("docker"):
        return ""
    proc = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else ""


SERVER = _server_version()
_MAJOR = re.match(r"(\d+)\.", SERVER)

pytestmark = pytest.mark.skipif(not _MAJOR or int(_MAJOR.group(1)) >= 25,
                                reason=f"needs a running Docker Engine older than 25 (found {SERVER or 'none'})")


def test_an_engine_older_than_25_is_refused_with_the_version_and_the_fix(tmp_path):
    playbook = tmp_path / "guard.yml"
    playbook.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                        "    - {ansible.builtin.include_role: {name: dask_compose, tasks_from: engine.yml}}\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory", ANSIBLE_STDOUT_CALLBACK="default")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "engine-host,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert f"the Docker Engine on engine-host is {SERVER};" in out, out[-3000:]
    assert "needs Docker Engine 25.0 or later (Engine API 1.44)" in out and "start_interval" in out, out[-3000:]
    assert "`docker_install_source: upstream`" in out, out[-3000:]
