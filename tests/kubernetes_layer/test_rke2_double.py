"""The rke2 double's cluster-reset rules (tests/doubles/rke2_cli.py), each as rke2 v1.33.5 / k3s release-1.33
applies it (sources in the double's docstring). playbooks/restore.yml is run against this double in the lab
(roles/rke2/molecule/airgap_double verify); these checks keep the double honest in milliseconds."""
import os

import pytest

from tests.doubles import rke2_cli


@pytest.fixture()
def node(tmp_path, monkeypatch):
    monkeypatch.setattr(rke2_cli, "DATA_DIR", str(tmp_path / "rke2"))
    monkeypatch.setattr(rke2_cli, "LOG", str(tmp_path / "double.log"))
    config = tmp_path / "config.yaml"
    config.write_text("token: t\nnode-ip: 10.147.17.10\n")
    monkeypatch.setattr(rke2_cli, "CONFIG", str(config))
    db = tmp_path / "rke2" / "server" / "db"
    (db / "etcd" / "member" / "wal").mkdir(parents=True)
    snapshot = tmp_path / "snap"
    snapshot.write_text("etcd snapshot double\n")
    return {"db": db, "config": config, "snapshot": str(snapshot)}


def reset(*extra):
    return rke2_cli.main(["server", "--cluster-reset", *extra])


def test_restore_path_needs_cluster_reset(node, capsys):
    assert rke2_cli.main(["server", "--cluster-reset-restore-path=" + node["snapshot"]]) == 1
    assert "invalid flag use; --cluster-reset required with --cluster-reset-restore-path" in capsys.readouterr().err


def test_reset_refused_while_a_server_url_is_configured(node, capsys):
    node["config"].write_text("token: t\nserver: https://10.147.17.10:9345\n")
    assert reset() == 1
    assert "cannot perform cluster-reset while server URL is set" in capsys.readouterr().err


def test_plain_reset_refused_while_the_reset_flag_exists_but_a_restore_is_not(node, capsys):
    (node["db"] / "reset-flag").touch()
    assert reset() == 1
    assert "must first manually delete the file at" in capsys.readouterr().err
    assert reset("--cluster-reset-restore-path=" + node["snapshot"]) == 0
    assert (node["db"] / "etcd" / "member" / "restored-from").read_text() == node["snapshot"]
    assert (node["db"] / "reset-flag").exists()
    assert [p for p in os.listdir(node["db"]) if p.startswith("etcd-old-")]


def test_restore_needs_an_existing_snapshot_file(node, capsys):
    assert reset("--cluster-reset-restore-path=" + node["snapshot"] + ".missing") == 1
    assert "etcd: snapshot path does not exist" in capsys.readouterr().err


def test_a_normal_start_clears_the_reset_flag(node, monkeypatch):
    monkeypatch.setattr(rke2_cli, "EFFECTIVE", str(node["db"] / "effective.json"))
    monkeypatch.setattr(rke2_cli, "write_kube_files", lambda ip: None)
    (node["db"] / "reset-flag").touch()
    rke2_cli.start(rke2_cli.effective([], config=str(node["config"])))
    assert not (node["db"] / "reset-flag").exists()
