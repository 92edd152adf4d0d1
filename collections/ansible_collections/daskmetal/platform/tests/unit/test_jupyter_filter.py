"""Unit tests for the jupyter_password_hash filter (idempotent Jupyter Server password hashes)."""
import hashlib

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.daskmetal.platform.plugins.filter.jupyter import FilterModule, jupyter_password_hash, verify


def test_new_hash_has_jupyter_format_and_verifies():
    h = jupyter_password_hash("s3cret-pass")
    algorithm, digest = h.split(":", 1)
    assert algorithm == "argon2"
    assert digest.startswith("$argon2id$")
    assert verify(h, "s3cret-pass")
    assert not verify(h, "other")


def test_matching_hash_is_kept():
    first = jupyter_password_hash("s3cret-pass")
    assert jupyter_password_hash("s3cret-pass", first) == first


def test_changed_password_gives_new_hash():
    first = jupyter_password_hash("s3cret-pass")
    second = jupyter_password_hash("changed-pass", first)
    assert second != first
    assert verify(second, "changed-pass")
    assert not verify(second, "s3cret-pass")


@pytest.mark.parametrize("current", ["", None, "garbage", "argon2:not-a-hash", "md5:zz", "nosuchalgo:a:b"])
def test_unusable_current_hash_is_replaced(current):
    h = jupyter_password_hash("pw-123456", current)
    assert h.startswith("argon2:$argon2id$")
    assert verify(h, "pw-123456")


def test_legacy_sha1_hash_is_accepted_when_it_matches():
    salt = "0e112c3ddfce"
    legacy = "sha1:%s:%s" % (salt, hashlib.sha1(("mypassword" + salt).encode()).hexdigest())
    assert jupyter_password_hash("mypassword", legacy) == legacy
    assert jupyter_password_hash("otherpassword", legacy) != legacy


def test_empty_password_is_refused():
    with pytest.raises(AnsibleFilterError, match="empty"):
        jupyter_password_hash("")


def test_hash_accepted_by_jupyter_server():
    from jupyter_server.auth import security  # the test extra pins jupyter_server: a real check, never a skip

    h = jupyter_password_hash("s3cret-pass")
    assert security.passwd_check(h, "s3cret-pass")
    assert not security.passwd_check(h, "wrong")


def test_filter_is_registered():
    assert FilterModule().filters()["jupyter_password_hash"] is jupyter_password_hash
