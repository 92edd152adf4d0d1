"""Held Docker packages get security updates through the patch path (docker_patch, playbooks/patch.yml).

The role holds every engine package, and apt/unattended-upgrades skip held packages (review host-security M8):
containerd.io, which ships runc, never moved. The real consumers: apt and dpkg in a lab container
(daskmetal-lab/debian:bookworm, offline: its only source is a signed lab repository built by tests/lab/aptrepo.py
and mounted as file://), driven by the role's own validate.yml and install.yml through ansible-playbook's
community.docker.docker connection. The repository first holds the first versions, then a second repository adds
newer ones (containerd.io, the plugins, and a newer docker-ce/docker-ce-cli that the version pin must keep out).
The source and the pin file are written the way roles/docker/tasks/repository.yml writes them (that file's key
handling is tested in test_apt_keyring.py; here its prerequisites would need Debian's archive)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.lab import aptrepo

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IMAGE = "daskmetal-lab/debian:bookworm"
SUFFIX = "-1~debian.12~bookworm"
ENGINE = "5:28.5.2" + SUFFIX
FIRST = {"docker-ce": ENGINE, "docker-ce-cli": ENGINE, "containerd.io": "1.7.27-1",
         "docker-buildx-plugin": "0.29.0" + SUFFIX, "docker-compose-plugin": "2.40.2" + SUFFIX}
NEWER = {"docker-ce": "5:28.5.3" + SUFFIX, "docker-ce-cli": "5:28.5.3" + SUFFIX, "containerd.io": "1.7.28-1",
         "docker-buildx-plugin": "0.29.1" + SUFFIX, "docker-compose-plugin": "2.40.3" + SUFFIX}


def _docker_ok() -> bool:
    if not shutil.which("docker") or not shutil.which("dpkg-deb"):
        return False
    return subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not _docker_ok(), reason=f"needs a Docker daemon with the lab image {IMAGE}")


def _repo(base: Path, name: str, packages: dict[str, str]) -> Path:
    work = base / f"{name}-debs"
    work.mkdir()
    debs = [aptrepo.make_equivs(str(work), pkg, version) for pkg, version in packages.items()]
    aptrepo.build(str(base / name), debs, suite="bookworm", component="stable")
    return base / name


def sh(container: str, script: str) -> str:
    return subprocess.run(["docker", "exec", container, "sh", "-ec", script], check=True, capture_output=True,
                          text=True, timeout=300).stdout


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    base = tmp_path_factory.mktemp("docker-patch")
    first = _repo(base, "repo1", FIRST)
    second = _repo(base, "repo2", {**FIRST, **NEWER})
    for repo in (first, second):
        os.chmod(repo, 0o755)
    name = f"daskmetal-patch-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "run", "-d", "--name", name, "-v", f"{first}:/srv/repo1:ro",
                    "-v", f"{second}:/srv/repo2:ro", IMAGE, "sleep", "infinity"], check=True, capture_output=True)
    try:
        # Offline: Debian's sources go; the pin is repository.yml's "Pin the engine version (apt preferences)".
        sh(name, "rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*; mkdir -p /etc/apt/keyrings\n"
                 "printf 'Package: docker-ce docker-ce-cli\\nPin: version %s\\nPin-Priority: 1001\\n' "
                 f"'{ENGINE}' > /etc/apt/preferences.d/docker")
        use_repo(name, "repo1")
        yield {"name": name, "base": base}
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def use_repo(container: str, repo: str) -> None:
    """The deb822 source repository.yml writes, pointing at one of the mounted repositories."""
    sh(container, f"cp /srv/{repo}/key.asc /etc/apt/keyrings/docker.asc\n"
                  "printf 'Types: deb\\nURIs: file:///srv/%s\\nSuites: bookworm\\nComponents: stable\\n"
                  f"Signed-By: /etc/apt/keyrings/docker.asc\\n' {repo} > /etc/apt/sources.list.d/docker.sources\n"
                  "apt-get update -qq")


def run_role(host: dict, **extra) -> str:
    playbook = host["base"] / "install.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: true\n  tasks:\n"
        "    - {ansible.builtin.include_role: {name: docker, tasks_from: validate.yml}}\n"
        "    - {ansible.builtin.include_role: {name: docker, tasks_from: install.yml}}\n")
    inventory = host["base"] / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {host["name"]: {
        "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}}}}))
    variables = {"docker_install_source": "upstream", "docker_version": "28.5.2",
                 # the lab container runs no systemd; the role's systemd check is about something else here
                 "__docker_systemd_booted_path": "/", **extra}
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory", ANSIBLE_STDOUT_CALLBACK="default")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook),
                           "-e", json.dumps(variables)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def installed(host: dict) -> dict[str, tuple[str, str]]:
    """dpkg's own record: package -> (selection, version)."""
    out = sh(host["name"], "dpkg-query -W -f '${Package} ${db:Status-Want} ${Version}\\n' " + " ".join(FIRST))
    return {pkg: (want, version) for pkg, want, version in (line.split() for line in out.splitlines())}


def test_held_packages_move_only_through_the_patch_path(host):
    run_role(host)
    assert installed(host) == {pkg: ("hold", version) for pkg, version in FIRST.items()}

    use_repo(host["name"], "repo2")
    run_role(host)                                    # an ordinary run: the holds keep everything where it was
    assert installed(host) == {pkg: ("hold", version) for pkg, version in FIRST.items()}
    simulated = sh(host["name"], "apt-get -s -o Debug::NoLocking=1 upgrade")
    assert "Inst containerd.io" not in simulated      # apt upgrade (and unattended-upgrades) skip held packages

    run_role(host, docker_patch=True)                 # the patch path
    after = installed(host)
    assert after["containerd.io"] == ("hold", NEWER["containerd.io"])
    assert after["docker-buildx-plugin"] == ("hold", NEWER["docker-buildx-plugin"])
    assert after["docker-compose-plugin"] == ("hold", NEWER["docker-compose-plugin"])
    # the engine stays at docker_version although the repository offers 28.5.3
    assert after["docker-ce"] == ("hold", ENGINE) and after["docker-ce-cli"] == ("hold", ENGINE)

    out = run_role(host)                              # back to ordinary runs: nothing moves, nothing goes down
    assert installed(host) == after
    assert "changed=0" in out, out[-2000:]


def test_patch_playbook_runs_the_role_with_the_patch_path():
    """playbooks/patch.yml parses (ansible-playbook --syntax-check) and applies the docker role with docker_patch
    to the Docker hosts, one host at a time."""
    import yaml
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "playbooks/patch.yml", "--syntax-check"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (play,) = yaml.safe_load((ROOT / "playbooks" / "patch.yml").read_text())
    docker_play = yaml.safe_load((ROOT / "playbooks" / "docker.yml").read_text())[0]
    assert play["hosts"] == docker_play["hosts"] and play["serial"] == 1 and play["become"] is True
    assert play["roles"] == [{"role": "docker", "vars": {"docker_patch": True}}]


def test_a_pinned_minor_takes_engine_patch_releases_only_through_the_patch_path(tmp_path_factory):
    """docker_version: "28.5" (review host-security M8): apt's pin is 5:28.5.*, an ordinary run keeps the installed
    engine although 28.5.3 and 28.6.0 are published, the patch path moves it to 28.5.3 (never 28.6.0), re-held."""
    base = tmp_path_factory.mktemp("docker-minor")
    minor_next = {"docker-ce": "5:28.6.0" + SUFFIX, "docker-ce-cli": "5:28.6.0" + SUFFIX}
    first = _repo(base, "repo1", FIRST)
    # the first versions, their patch releases and a newer minor, side by side in one signed repository
    work = base / "repo3-debs"
    work.mkdir()
    debs = [aptrepo.make_equivs(str(work), pkg, version)
            for versions in (FIRST, NEWER, minor_next) for pkg, version in versions.items()]
    third = base / "repo3"
    aptrepo.build(str(third), debs, suite="bookworm", component="stable")
    for repo in (first, third):
        os.chmod(repo, 0o755)
    name = f"daskmetal-minor-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "run", "-d", "--name", name, "-v", f"{first}:/srv/repo1:ro", "-v", f"{third}:/srv/repo3:ro",
                    IMAGE, "sleep", "infinity"], check=True, capture_output=True)
    host = {"name": name, "base": base}
    try:
        # the pin repository.yml writes for docker_version "28.5"
        sh(name, "rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*; mkdir -p /etc/apt/keyrings\n"
                 "printf 'Package: docker-ce docker-ce-cli\\nPin: version 5:28.5.*\\nPin-Priority: 1001\\n' "
                 "> /etc/apt/preferences.d/docker")
        use_repo(name, "repo1")
        run_role(host, docker_version="28.5")
        assert installed(host)["docker-ce"] == ("hold", ENGINE)

        use_repo(name, "repo3")
        out = run_role(host, docker_version="28.5")              # ordinary run: nothing moves
        assert installed(host) == {pkg: ("hold", version) for pkg, version in FIRST.items()}
        assert "changed=0" in out, out[-2000:]

        run_role(host, docker_version="28.5", docker_patch=True)  # the patch path: newest 28.5.x, not 28.6
        after = installed(host)
        assert after["docker-ce"] == ("hold", NEWER["docker-ce"]) and after["docker-ce-cli"] == ("hold", NEWER["docker-ce-cli"])
        assert after["containerd.io"] == ("hold", NEWER["containerd.io"])
        out = run_role(host, docker_version="28.5")
        assert installed(host) == after and "changed=0" in out, out[-2000:]
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
