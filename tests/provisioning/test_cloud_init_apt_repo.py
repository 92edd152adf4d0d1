"""The apt-repository helper that the Scaleway cloud-init installs, run for real with a generated GPG key.

It must refuse a key whose fingerprint is not the pinned one, and otherwise write a keyring in
/etc/apt/keyrings and a deb822 source that trusts only that keyring (DASKMETAL_APT_ROOT points it at a
scratch folder here).
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jinja2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "playbooks" / "templates" / "scaleway-cloud-init.yml.j2"

pytestmark = pytest.mark.skipif(not (shutil.which("gpg") and shutil.which("curl")), reason="needs gpg and curl")


def rendered() -> dict:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["to_json"] = json.dumps
    text = env.from_string(TEMPLATE.read_text()).render(
        __scaleway_provision_item={"name": "epyc-agent-1"}, scaleway_provision_ssh_public_keys=["ssh-ed25519 AAAA test"],
        scaleway_provision_docker_key_url="https://download.docker.com/linux/debian/gpg",
        scaleway_provision_docker_key_fingerprint="9DC858229FC7DD38854AE2D88D81803C0EBFCD88",
        scaleway_provision_docker_repo_url="https://download.docker.com/linux",
        scaleway_provision_zerotier_key_url="https://download.zerotier.com/contact%40zerotier.com.gpg",
        scaleway_provision_zerotier_key_fingerprint="74A5E9C458E1A431F1DA57A71657198823E52A61",
        scaleway_provision_zerotier_repo_url="http://download.zerotier.com/debian",
        scaleway_provision_packages=["docker-ce", "zerotier-one"])
    return yaml.safe_load(text)


def _gpg(env, *args, text=False):
    return subprocess.run(["gpg", "--batch", *args], env=env, check=True, capture_output=True, text=text).stdout


def _new_key(env, uid):
    _gpg(env, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
    listing = _gpg(env, "--with-colons", "--list-keys", uid, text=True)
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


@pytest.fixture
def key_files(tmp_path):
    """Served key files: one.asc (key A alone), two.asc (A and then B), sub.asc (B with a subkey S) and
    secret.asc (A's secret key). Returns (base URL, {A, B, S: fingerprint})."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = dict(os.environ, GNUPGHOME=str(home))
    fpr = {"A": _new_key(env, "Repo Test <repo@example.invalid>"), "B": _new_key(env, "Other <other@example.invalid>")}
    _gpg(env, "--passphrase", "", "--quick-add-key", fpr["B"], "ed25519", "sign", "never")
    listing = _gpg(env, "--with-colons", "--list-keys", fpr["B"], text=True).splitlines()
    fpr["S"] = next(line.split(":")[9] for prev, line in zip(listing, listing[1:])
                    if prev.startswith("sub:") and line.startswith("fpr:"))
    served = tmp_path / "www"
    served.mkdir()
    (served / "one.asc").write_bytes(_gpg(env, "--armor", "--export", fpr["A"]))
    (served / "two.asc").write_bytes(_gpg(env, "--armor", "--export", fpr["A"], fpr["B"]))
    (served / "sub.asc").write_bytes(_gpg(env, "--armor", "--export", fpr["B"]))
    (served / "secret.asc").write_bytes(_gpg(env, "--pinentry-mode", "loopback", "--passphrase", "", "--armor",
                                             "--export-secret-keys", fpr["A"]))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", fpr
    httpd.shutdown()


@pytest.fixture
def key_server(key_files):
    base, fpr = key_files
    return f"{base}/one.asc", fpr["A"]


def run_helper(tmp_path, url, fingerprint):
    script = tmp_path / "daskmetal-apt-repo"
    script.write_text(rendered()["write_files"][0]["content"])
    script.chmod(0o755)
    root = tmp_path / "root"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(DASKMETAL_APT_ROOT=str(root), GNUPGHOME=str(tmp_path / "scratch-gnupg"))
    (tmp_path / "scratch-gnupg").mkdir(mode=0o700, exist_ok=True)
    proc = subprocess.run([str(script), "docker", url, fingerprint, "https://download.docker.com/linux/debian", "bookworm", "stable"],
                          env=env, capture_output=True, text=True, timeout=60)
    return proc, root


def test_matching_fingerprint_writes_keyring_and_signed_by_source(tmp_path, key_server):
    url, fingerprint = key_server
    proc, root = run_helper(tmp_path, url, fingerprint)
    assert proc.returncode == 0, proc.stderr
    keyring = root / "etc/apt/keyrings/docker.gpg"
    assert keyring.read_bytes()[:1] != b"-"            # dearmored (binary) keyring
    listed = subprocess.run(["gpg", "--batch", "--with-colons", "--show-keys", str(keyring)], capture_output=True, text=True).stdout
    primaries = [line.split(":")[9] for prev, line in zip(listed.splitlines(), listed.splitlines()[1:])
                 if prev.startswith("pub:") and line.startswith("fpr:")]
    assert primaries == [fingerprint]
    assert (root / "etc/apt/sources.list.d/docker.sources").read_text() == (
        "Types: deb\nURIs: https://download.docker.com/linux/debian\nSuites: bookworm\nComponents: stable\n"
        "Signed-By: /etc/apt/keyrings/docker.gpg\n")


def test_wrong_fingerprint_is_refused_and_nothing_is_written(tmp_path, key_server):
    url, _ = key_server
    proc, root = run_helper(tmp_path, url, "9DC858229FC7DD38854AE2D88D81803C0EBFCD88")
    assert proc.returncode == 1
    assert "must hold exactly the pinned primary key 9DC858229FC7DD38854AE2D88D81803C0EBFCD88" in proc.stderr
    assert not (root / "etc/apt/keyrings/docker.gpg").exists()
    assert not (root / "etc/apt/sources.list.d/docker.sources").exists()


def assert_refused(proc, root, *needles):
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for needle in needles:
        assert needle in proc.stderr
    assert not (root / "etc/apt/keyrings/docker.gpg").exists()
    assert not (root / "etc/apt/sources.list.d/docker.sources").exists()


def test_a_file_with_the_pinned_key_and_another_key_is_refused(tmp_path, key_files):
    """apt would trust both keys of the keyring: the second key's holder could sign the repository."""
    base, fpr = key_files
    proc, root = run_helper(tmp_path, f"{base}/two.asc", fpr["A"])
    assert_refused(proc, root, "must hold exactly the pinned primary key " + fpr["A"], fpr["B"])


def test_the_pinned_fingerprint_as_a_subkey_only_is_refused(tmp_path, key_files):
    base, fpr = key_files
    proc, root = run_helper(tmp_path, f"{base}/sub.asc", fpr["S"])
    assert_refused(proc, root, f"its primary keys are: {fpr['B']} ({fpr['S']} is only a subkey there)")


def test_secret_key_material_is_refused(tmp_path, key_files):
    base, fpr = key_files
    proc, root = run_helper(tmp_path, f"{base}/secret.asc", fpr["A"])
    assert_refused(proc, root, "holds secret key material")


def test_a_lower_case_spaced_pin_is_the_same_key_and_a_short_one_is_an_error(tmp_path, key_server):
    url, fingerprint = key_server
    spaced = " ".join(fingerprint[i:i + 4] for i in range(0, 40, 4)).lower()
    proc, _ = run_helper(tmp_path, url, spaced)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "short").mkdir()
    proc, _ = run_helper(tmp_path / "short", url, fingerprint[:16])
    assert proc.returncode == 2 and "40 hexadecimal characters" in proc.stderr


def test_runcmd_uses_the_helper_for_both_vendors_and_no_pipe_to_shell():
    config = rendered()
    commands = [" ".join(c) for c in config["runcmd"]]
    assert any("daskmetal-apt-repo docker" in c and "9DC858229FC7DD38854AE2D88D81803C0EBFCD88" in c for c in commands)
    assert any("daskmetal-apt-repo zerotier" in c and "74A5E9C458E1A431F1DA57A71657198823E52A61" in c for c in commands)
    assert not any("| sh" in c or "|sh" in c or "| bash" in c for c in commands)
