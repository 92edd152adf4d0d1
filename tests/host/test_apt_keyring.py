"""The docker and zerotier roles install a repository keyring only when it holds exactly the pinned key.

apt trusts every key of a `Signed-By` keyring. A key URL that serves the pinned key *plus* another key (a hostile
mirror: `docker_apt_key_url`, `zerotier_apt_key_url` can point anywhere) must be refused, or the other key signs
packages that apt installs as root.

Real consumers: GnuPG (`gpg`) generates the keys, exports the keyrings and lists them for the roles; the roles' own
key tasks (`roles/docker/tasks/key.yml`, `roles/zerotier/tasks/key.yml`) run in ansible-playbook against a loopback
HTTP server; apt itself (`apt-get update` with a private state directory) reads the keyrings and real signed
repositories built by tests/lab/aptrepo.py. The premise is checked with apt too: the two-key keyring makes apt
accept a repository signed by the other key."""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.lab import aptrepo

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(
    not (shutil.which("gpg") and shutil.which("apt-get") and shutil.which("dpkg-deb") and os.geteuid() == 0),
    reason="needs gpg, apt-get, dpkg-deb and root (the roles write root-owned files)")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


def _repo(base: Path, name: str) -> tuple[Path, str]:
    """A real signed repository (its own fresh signing key); returns (dir, fingerprint)."""
    work = base / f"{name}-debs"
    work.mkdir()
    deb = aptrepo.make_equivs(str(work), f"{name}-pkg", "1.0")
    out = base / name
    return out, aptrepo.build(str(out), [deb], suite="bookworm")


def _gpg(home: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["gpg", "--batch", "--quiet", "--homedir", str(home), *args], input=stdin,
                          check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("keyring")
    legit, legit_fpr = _repo(base, "legit")
    hostile, hostile_fpr = _repo(base, "hostile")
    home = base / "gnupg"
    home.mkdir(mode=0o700)
    for repo in (legit, hostile):
        _gpg(home, "--import", stdin=(repo / "key.asc").read_bytes())
    www = base / "www"
    www.mkdir()
    shutil.copyfile(legit / "key.asc", www / "pinned.asc")
    # One armoured block holding both public keys: what a hostile mirror would serve.
    (www / "two-keys.asc").write_bytes(_gpg(home, "--armor", "--export", legit_fpr, hostile_fpr))
    shutil.copyfile(hostile / "key.asc", www / "other.asc")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(www)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield {"base": base, "www": www, "url": f"http://127.0.0.1:{httpd.server_address[1]}",
           "legit": legit, "hostile": hostile, "fpr": legit_fpr, "hostile_fpr": hostile_fpr}
    httpd.shutdown()


def apt_accepts(tmp: Path, repo: Path, keyring: Path) -> bool:
    """apt-get update of `repo` with `Signed-By: keyring`, in a private state directory: did apt take the index?"""
    state = tmp / f"apt-{repo.name}-{keyring.name}"
    for sub in ("sources.d", "lists/partial", "cache/archives/partial"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    (state / "sources.d" / "lab.sources").write_text(
        f"Types: deb\nURIs: file://{repo}\nSuites: bookworm\nComponents: main\nSigned-By: {keyring}\n")
    proc = subprocess.run(["apt-get", "update", "-o", "Dir::Etc::SourceList=/dev/null",
                           "-o", f"Dir::Etc::SourceParts={state / 'sources.d'}",
                           "-o", f"Dir::State::Lists={state / 'lists'}", "-o", f"Dir::Cache={state / 'cache'}",
                           "-o", "Debug::NoLocking=true", "-o", "APT::Sandbox::User=root"],
                          capture_output=True, text=True, timeout=120)
    return proc.returncode == 0 and any("_Packages" in p.name for p in (state / "lists").iterdir())


def run_role_key_tasks(tmp: Path, role: str, key_url: str, fingerprint: str, keyring: Path) -> str:
    prefix = {"docker": "docker", "zerotier": "zerotier"}[role]
    playbook = tmp / f"{role}-key.yml"
    # The docker role's key tasks act on the host state its validate step reads with docker_host_state (an
    # existing keyring is listed there): read it the same way first, for the keyring alone.
    state = ("    - daskmetal.platform.docker_host_state:\n        keyring: \"{{ __docker_keyring }}\"\n"
             "        fingerprint: \"{{ docker_apt_key_fingerprint }}\"\n      register: __docker_state\n"
             if role == "docker" else "")
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n" + state +
        f"    - ansible.builtin.include_role:\n        name: {role}\n        tasks_from: key.yml\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory", ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_RETRY_FILES_ENABLED="0", NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
         "-e", f"ansible_python_interpreter={sys.executable}",
         "-e", f"{prefix}_apt_key_url={key_url}", "-e", f"{prefix}_apt_key_fingerprint={fingerprint}",
         "-e", f"__{prefix}_keyring={keyring}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return f"rc={proc.returncode}\n{proc.stdout}{proc.stderr}"


def test_premise_apt_trusts_every_key_of_a_two_key_keyring(lab, tmp_path):
    """Why the check matters: with the two-key file as Signed-By, apt accepts the repository the other key signed."""
    two = tmp_path / "two-keys.asc"
    shutil.copyfile(lab["www"] / "two-keys.asc", two)
    assert apt_accepts(tmp_path, lab["hostile"], two)
    pinned = tmp_path / "pinned.asc"
    shutil.copyfile(lab["www"] / "pinned.asc", pinned)
    assert not apt_accepts(tmp_path, lab["hostile"], pinned)


@pytest.mark.parametrize("role", ["docker", "zerotier"])
def test_role_installs_the_pinned_key_and_apt_uses_it(lab, tmp_path, role):
    keyring = tmp_path / f"{role}.asc"
    out = run_role_key_tasks(tmp_path, role, f"{lab['url']}/pinned.asc", lab["fpr"], keyring)
    assert out.startswith("rc=0"), out[-3000:]
    assert keyring.is_file(), out[-3000:]
    assert apt_accepts(tmp_path, lab["legit"], keyring)
    assert not apt_accepts(tmp_path, lab["hostile"], keyring)


@pytest.mark.parametrize("role", ["docker", "zerotier"])
def test_role_refuses_the_pinned_key_plus_another_key(lab, tmp_path, role):
    keyring = tmp_path / f"{role}.asc"
    out = run_role_key_tasks(tmp_path, role, f"{lab['url']}/two-keys.asc", lab["fpr"], keyring)
    assert not out.startswith("rc=0"), "the two-key keyring was accepted:\n" + out[-3000:]
    assert "holds other keys besides the pinned one" in out and lab["hostile_fpr"] in out, out[-3000:]
    assert not keyring.exists(), "the rejected keyring was left where apt reads it"


@pytest.mark.parametrize("role", ["docker", "zerotier"])
def test_role_refuses_a_different_key(lab, tmp_path, role):
    keyring = tmp_path / f"{role}.asc"
    out = run_role_key_tasks(tmp_path, role, f"{lab['url']}/other.asc", lab["fpr"], keyring)
    assert not out.startswith("rc=0"), out[-3000:]
    assert "is not a primary key of the file" in out, out[-3000:]
    assert not keyring.exists()


def test_zerotier_replaces_an_installed_two_key_keyring(lab, tmp_path):
    """A keyring already in place that carries the pinned key plus another is not taken as installed."""
    keyring = tmp_path / "zerotier.asc"
    shutil.copyfile(lab["www"] / "two-keys.asc", keyring)
    out = run_role_key_tasks(tmp_path, "zerotier", f"{lab['url']}/pinned.asc", lab["fpr"], keyring)
    assert out.startswith("rc=0"), out[-3000:]
    assert keyring.read_bytes() == (lab["www"] / "pinned.asc").read_bytes(), out[-3000:]
    assert not apt_accepts(tmp_path, lab["hostile"], keyring)
