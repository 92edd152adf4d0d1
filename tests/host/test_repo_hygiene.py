"""What must never be committed: backups (etcd snapshots hold every Kubernetes Secret), vault password
files, and an unencrypted vault file. git itself decides what it ignores (review host-security M9)."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not os.path.exists(os.path.join(ROOT, ".git")), reason="needs a git checkout")


@pytest.mark.parametrize("path", [
    "backups/20261201T0000/etcd-snapshot-rke2-server-1.zip",   # playbooks/backup.yml's default destination
    "backups/rancher/rancher-data.tar.gz",
    ".vault_pass",
    "inventories/mycluster/.vault_pass.txt",
    "prod.vault-pass",
])
def test_git_ignores_secret_bearing_paths(path):
    rc = subprocess.run(["git", "-C", ROOT, "check-ignore", "-q", "--no-index", path]).returncode
    assert rc == 0, f"git would commit {path}: add it to .gitignore"


def test_backup_default_destination_is_the_ignored_folder():
    with open(os.path.join(ROOT, "playbooks", "backup.yml"), encoding="utf-8") as fh:
        assert "/../backups" in fh.read(), "backup.yml's default moved: keep .gitignore's /backups/ in step"


def test_tracked_vault_files_are_encrypted():
    files = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True, text=True, check=True).stdout.split()
    vaults = [f for f in files if os.path.basename(f) in ("vault.yml", "vault.yaml", "vault.json")]
    plain = []
    for rel in vaults:
        with open(os.path.join(ROOT, rel), "rb") as fh:
            if not fh.read(14).startswith(b"$ANSIBLE_VAULT"):
                plain.append(rel)
    assert plain == [], f"unencrypted vault files tracked: {plain}; fix: ansible-vault encrypt them"
