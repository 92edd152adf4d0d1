"""module_utils/apt_keyring.py reads real `gpg --show-keys --with-colons` listings (keys generated here by GnuPG):
primary keys are told from subkeys, and only a keyring whose primary keys are exactly the pinned ones passes."""
import os
import shutil
import subprocess

import pytest

from ansible_collections.daskmetal.platform.plugins.filter.apt_keyring import apt_keyring_problems
from ansible_collections.daskmetal.platform.plugins.module_utils.apt_keyring import (
    keyring_problems, parse_keys, primary_fingerprints)

pytestmark = pytest.mark.skipif(not shutil.which("gpg"), reason="needs gpg")


def _gpg(home, *args, stdin=None):
    return subprocess.run(["gpg", "--batch", "--quiet", "--homedir", str(home), "--pinentry-mode", "loopback",
                           "--passphrase", "", *args], input=stdin, check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    home = tmp_path_factory.mktemp("gnupg")
    os.chmod(home, 0o700)
    fprs = []
    for name in ("pinned", "other"):
        _gpg(home, "--quick-gen-key", f"{name} <{name}@example.invalid>", "ed25519", "sign", "1d")
        listing = _gpg(home, "--with-colons", "--list-keys", f"{name}@example.invalid").decode()
        fprs.append(next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")))
    _gpg(home, "--quick-add-key", fprs[0], "cv25519", "encr", "1d")   # the pinned key gets a subkey

    def show(*fingerprints, secret=False):
        data = _gpg(home, "--armor", "--export-secret-keys" if secret else "--export", *fingerprints)
        return _gpg(home, "--show-keys", "--with-colons", stdin=data).decode()
    return {"pinned": fprs[0], "other": fprs[1], "show": show}


def test_parse_tells_primary_keys_from_subkeys(keys):
    parsed = parse_keys(keys["show"](keys["pinned"]))
    assert [k["fingerprint"] for k in parsed] == [keys["pinned"]]
    assert len(parsed[0]["subkeys"]) == 1 and parsed[0]["subkeys"][0] != keys["pinned"]
    assert parsed[0]["uids"] == ["pinned <pinned@example.invalid>"]


def test_exactly_the_pinned_key_passes(keys):
    assert keyring_problems(keys["show"](keys["pinned"]), keys["pinned"]) == []
    spaced = " ".join(keys["pinned"][i:i + 4] for i in range(0, 40, 4)).lower()
    assert apt_keyring_problems(keys["show"](keys["pinned"]), spaced) == []


def test_the_pinned_key_plus_another_is_refused(keys):
    listing = keys["show"](keys["pinned"], keys["other"])
    assert primary_fingerprints(listing) == [keys["pinned"], keys["other"]]
    problems = keyring_problems(listing, keys["pinned"])
    assert len(problems) == 1 and "other keys besides the pinned one" in problems[0] and keys["other"] in problems[0]
    assert keyring_problems(listing, [keys["pinned"], keys["other"]]) == []   # both pinned: acceptable


def test_a_subkey_fingerprint_is_not_a_pinned_primary(keys):
    subkey = parse_keys(keys["show"](keys["pinned"]))[0]["subkeys"][0]
    problems = keyring_problems(keys["show"](keys["pinned"]), subkey)
    assert any("it is a subkey there" in p for p in problems), problems


def test_other_key_empty_and_secret_files_are_refused(keys):
    assert any("not a primary key" in p for p in keyring_problems(keys["show"](keys["other"]), keys["pinned"]))
    assert keyring_problems("", keys["pinned"]) == ["the file holds no OpenPGP key"]
    assert "secret key material" in " ".join(keyring_problems(keys["show"](keys["pinned"], secret=True),
                                                              keys["pinned"]))
    assert keyring_problems(keys["show"](keys["pinned"]), "ABC") == [
        "the pinned fingerprint must be 40 hexadecimal characters"]
    assert "not gpg's colon format" in keyring_problems("fpr:::::::::" + keys["pinned"] + ":", keys["pinned"])[0]
