"""The lab harness itself: the signed apt repository, image recipes, scenario discovery."""
import gzip
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess

import pytest

from tests.lab import aptrepo, images

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    if not shutil.which("gpg") or not shutil.which("dpkg-deb"):
        pytest.skip("gpg and dpkg-deb are needed")
    work = tmp_path_factory.mktemp("debs")
    debs = [aptrepo.make_equivs(str(work), "lab-a", "1:2.0-1"),
            aptrepo.make_equivs(str(work), "lab-b", "3.1", depends="lab-a (>= 2.0)")]
    out = tmp_path_factory.mktemp("repo")
    fpr = aptrepo.build(str(out), debs, suite="bookworm")
    return out, fpr


def test_release_is_signed_by_the_generated_key(repo, tmp_path):
    out, fpr = repo
    assert len(fpr) == 40 and all(c in "0123456789ABCDEF" for c in fpr)
    dist = out / "dists" / "bookworm"
    # gpgv with only the exported keyring: proves InRelease and Release.gpg verify against key.gpg
    for args in (["InRelease"], ["Release.gpg", "Release"]):
        res = subprocess.run(["gpgv", "--keyring", str(out / "key.gpg"), *[str(dist / a) for a in args]],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    shown = subprocess.run(["gpg", "--show-keys", "--with-colons", str(out / "key.asc")],
                           capture_output=True, text=True, check=True).stdout
    assert f"fpr:::::::::{fpr}:" in shown


def test_tampered_release_fails_verification(repo, tmp_path):
    out, _ = repo
    copy = tmp_path / "Release"
    copy.write_text((out / "dists/bookworm/Release").read_text().replace("Origin:", "Origin: evil"))
    res = subprocess.run(["gpgv", "--keyring", str(out / "key.gpg"), str(out / "dists/bookworm/Release.gpg"), str(copy)],
                         capture_output=True)
    assert res.returncode != 0


def test_packages_index_lists_every_deb_with_matching_hashes(repo):
    out, _ = repo
    plain = (out / "dists/bookworm/main/binary-amd64/Packages").read_text()
    with gzip.open(out / "dists/bookworm/main/binary-amd64/Packages.gz", "rt") as fh:
        assert fh.read() == plain
    stanzas = [dict(l.split(": ", 1) for l in s.splitlines() if ": " in l) for s in plain.strip().split("\n\n")]
    assert {s["Package"]: s["Version"] for s in stanzas} == {"lab-a": "1:2.0-1", "lab-b": "3.1"}
    for s in stanzas:
        deb = out / s["Filename"]
        assert deb.stat().st_size == int(s["Size"])
        assert aptrepo._digest(str(deb), __import__("hashlib").sha256) == s["SHA256"]
    assert [s for s in stanzas if s["Package"] == "lab-b"][0]["Depends"] == "lab-a (>= 2.0)"
    release = (out / "dists/bookworm/Release").read_text()
    assert "main/binary-amd64/Packages.gz" in release and "Codename: bookworm" in release


def test_recipe_hash_changes_with_inputs_only():
    a = images.Recipe("debian", "bookworm", images.HOST_PACKAGES)
    assert a.digest() == images.Recipe("debian", "bookworm", tuple(reversed(images.HOST_PACKAGES))).digest()
    assert a.digest() != images.Recipe("debian", "trixie", images.HOST_PACKAGES).digest()
    assert a.digest() != images.Recipe("debian", "bookworm", images.HOST_PACKAGES, ca_bundle=b"x").digest()
    assert a.digest() != images.Recipe("minbase", "bookworm", images.HOST_PACKAGES).digest()
    assert a.tag == "daskmetal-lab/debian:bookworm"


def _runner():
    loader = importlib.machinery.SourceFileLoader("runner", os.path.join(ROOT, "scripts", "test"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_scenario_discovery_skips_online_scenarios(tmp_path, monkeypatch):
    runner = _runner()
    for d in ("roles/r1/molecule/default", "molecule/offline", "molecule/online"):
        (tmp_path / d).mkdir(parents=True)
        (tmp_path / d / "molecule.yml").write_text("---\n")
    (tmp_path / "molecule/online/ONLINE").write_text("needs the internet\n")
    monkeypatch.setattr(runner, "ROOT", str(tmp_path))
    found = runner.scenarios(None)
    assert found == [(str(tmp_path / "roles/r1"), "default"), (str(tmp_path), "offline")]
    assert runner.scenarios("r1") == [(str(tmp_path / "roles/r1"), "default")]


def test_every_playbook_is_syntax_checked_against_every_inventory():
    runner = _runner()
    assert "site.yml" == runner.playbooks()[0]
    assert {"inventories/local", "inventories/example"} <= set(runner.inventories())
