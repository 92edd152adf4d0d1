"""site.yml stops before the host layer when the Docker engine it would install cannot serve the host: the distro
path on Debian 12 (Compose v1 only) for a single-host stack host, or a host without a running systemd.

The real consumers: ansible-core's fact gathering on this lab host (a Debian 12 container without systemd as PID 1,
see /work/shared/notes/lab-environment.md) decides the distribution and the service manager, and
`ansible-playbook site.yml --check` runs the real play order. The host is a single-host stack host that is not
`localhost` (so the host layer would apply the baseline to it: a remote single host), reached with a local
connection. `--tags` with a tag no task carries keeps the run to the `always` plays (plan, preflight) and the play
headers, so nothing of the host layer runs. The positive control proves the same command reaches the host layer."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OS_RELEASE = Path("/etc/os-release").read_text() if Path("/etc/os-release").exists() else ""
BOOKWORM = 'ID=debian' in OS_RELEASE and 'VERSION_ID="12"' in OS_RELEASE
HAS_SYSTEMD = Path("/run/systemd/system").is_dir()


def site_check(tmp_path: Path, *extra: str) -> str:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"dask_single_host": {"hosts": {"single-host": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory", ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_RETRY_FILES_ENABLED="0")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), "site.yml", "--check",
                           "--tags", "no-task-has-this-tag", *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return f"rc={proc.returncode}\n{proc.stdout}{proc.stderr}"


def booted(tmp_path: Path) -> list[str]:
    """A directory standing in for /run/systemd/system (sd_booted(3)), for the cases about something else."""
    (tmp_path / "systemd").mkdir()
    return ["-e", f"__docker_systemd_booted_path={tmp_path / 'systemd'}"]


@pytest.mark.skipif(not BOOKWORM, reason="needs a Debian 12 host: the distribution comes from real facts")
def test_distro_path_on_bookworm_stops_before_the_host_layer(tmp_path):
    out = site_check(tmp_path, "-e", "docker_install_source=distro", *booted(tmp_path))
    assert not out.startswith("rc=0"), out[-3000:]
    assert "gives only Compose v1" in out and "fix: set docker_install_source: upstream" in out, out[-3000:]
    assert "PLAY [Host baseline]" not in out, "the run went on to the host layer:\n" + out[-3000:]


@pytest.mark.skipif(HAS_SYSTEMD, reason="needs a host without a running systemd (no /run/systemd/system)")
def test_host_without_systemd_stops_before_the_host_layer(tmp_path):
    out = site_check(tmp_path)
    assert not out.startswith("rc=0"), out[-3000:]
    assert "this host has no running systemd" in out, out[-3000:]
    assert "PLAY [Host baseline]" not in out, "the run went on to the host layer:\n" + out[-3000:]


def test_positive_control_reaches_the_host_layer(tmp_path):
    out = site_check(tmp_path, *booted(tmp_path))
    assert out.startswith("rc=0"), out[-3000:]
    assert "PLAY [Host baseline]" in out and "PLAY [Docker engine]" in out, out[-3000:]
