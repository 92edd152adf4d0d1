"""daskmetal_workloads against a real local Dask cluster (scheduler + 2 worker processes)."""

from __future__ import annotations

import http.server
import io
import json
import os
import subprocess
import sys
import threading
import zipfile

import pytest

from daskmetal_workloads import adapt_workers, bank, scale_workers, tpot_ready
from daskmetal_workloads.smoke import array_mean_smoke

from .conftest import WORKLOADS


@pytest.fixture()
def client(dask_cluster):
    from distributed import Client

    with Client(dask_cluster.scheduler_address) as c:  # connected by address, like the Jupyter pod
        yield c


def test_array_mean_smoke(client):
    out = array_mean_smoke(client, n=1000, chunk=250, min_workers=2, timeout=60)
    assert out == {"result": (1000 * 1000 - 1) / 2, "expected": (1000 * 1000 - 1) / 2, "ok": True, "workers": 2,
                   "chunks": 16}


def run_smoke_cli(address, *args):
    env = dict(os.environ, PYTHONPATH=str(WORKLOADS))
    return subprocess.run([sys.executable, "-m", "daskmetal_workloads.smoke", "--scheduler", address, *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_smoke_cli_as_the_validate_job_runs_it(dask_cluster):
    r = run_smoke_cli(dask_cluster.scheduler_address, "--min-workers", "2", "--n", "500")
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["ok"] and out["workers"] == 2 and out["result"] == out["expected"]


def test_smoke_cli_fails_without_enough_workers(dask_cluster):
    r = run_smoke_cli(dask_cluster.scheduler_address, "--min-workers", "3", "--n", "500", "--timeout", "3")
    assert r.returncode != 0


def test_tpot_ready_gives_a_remote_client_a_worker_view(client):
    assert client.cluster is None  # what TPOT 1.1 trips over
    assert len(tpot_ready(client).cluster.workers) == 2
    assert tpot_ready(client) is client


def kube_cluster_spec():
    """dask_kubernetes.operator.KubeCluster (the pinned 2026.3.0) as an autospec: every call is checked against the
    real signatures (from_name(name, **kwargs) -> KubeCluster(name=..., namespace=...), scale(n, worker_group),
    adapt(minimum, maximum)); nothing talks to a cluster."""
    from unittest import mock

    from dask_kubernetes.operator import KubeCluster

    spec = mock.create_autospec(KubeCluster)
    spec.from_name.return_value = mock.create_autospec(KubeCluster, instance=True)
    return spec


def test_scale_workers_scales_the_shared_daskcluster(monkeypatch):
    monkeypatch.setenv("DASKMETAL_DASK_CLUSTER", "dask")
    monkeypatch.setenv("DASKMETAL_NAMESPACE", "dask")
    kc = kube_cluster_spec()
    assert scale_workers(20, kube_cluster=kc) == 20
    kc.from_name.assert_called_once_with("dask", namespace="dask")
    kc.from_name.return_value.scale.assert_called_once_with(20)
    with pytest.raises(ValueError):
        scale_workers(-1, kube_cluster=kc)
    monkeypatch.delenv("DASKMETAL_DASK_CLUSTER")
    with pytest.raises(ValueError, match="DASKMETAL_DASK_CLUSTER"):
        scale_workers(3, kube_cluster=kc)


def test_adapt_workers_sets_the_autoscaler_range(monkeypatch):
    monkeypatch.setenv("DASKMETAL_DASK_CLUSTER", "dask")
    monkeypatch.delenv("DASKMETAL_NAMESPACE", raising=False)
    kc = kube_cluster_spec()
    adapt_workers(2, 15, name="other", namespace="team", kube_cluster=kc)
    kc.from_name.assert_called_once_with("other", namespace="team")
    kc.from_name.return_value.adapt.assert_called_once_with(minimum=2, maximum=15)
    with pytest.raises(ValueError):
        adapt_workers(5, 2, kube_cluster=kc)


def test_the_autospec_rejects_what_kubecluster_rejects():
    """The check above can fail: a call the real KubeCluster does not take raises."""
    kc = kube_cluster_spec()
    with pytest.raises(TypeError):
        kc.from_name.return_value.scale(n=3, workers=4)
    with pytest.raises(TypeError):
        kc.from_name.return_value.adapt(minimum=1, maximum=2, interval="1s")


def test_scale_workers_on_a_local_cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        scale_workers(2, client=c, cluster=cluster, timeout=60)
        assert len(c.scheduler_info()["workers"]) == 2


# ---- bank marketing -----------------------------------------------------------------------------------------------

def test_synthetic_frame_has_the_uci_columns():
    df = bank.synthetic_bank_marketing(300, seed=1)
    assert list(df.columns) == bank.BANK_COLUMNS and len(df) == 300
    assert set(df["y"]) == {"yes", "no"}
    for col, cats in bank.CATEGORIES.items():
        assert set(df[col]) <= set(cats)
    assert (df.loc[df["poutcome"] == "nonexistent", "pdays"] == 999).all()


def test_prepare_features_is_stable_across_samples():
    X1, y1 = bank.prepare_features(bank.synthetic_bank_marketing(50, seed=1))
    X2, _ = bank.prepare_features(bank.synthetic_bank_marketing(400, seed=2))
    assert list(X1.columns) == list(X2.columns)
    assert "duration" not in X1.columns and set(y1) <= {0, 1}
    with pytest.raises(ValueError, match="missing columns"):
        bank.prepare_features(bank.synthetic_bank_marketing(10).drop(columns=["poutcome"]))


@pytest.fixture()
def uci_server():
    """Serves an archive with UCI's layout (bank-additional.zip inside the outer zip, ';'-separated CSV)."""
    csv = bank.synthetic_bank_marketing(120, seed=3).to_csv(sep=";", index=False).encode()
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr(bank.UCI_MEMBER, csv)
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as z:
        z.writestr("bank.zip", b"PK\x05\x06" + b"\0" * 18)
        z.writestr("bank-additional.zip", inner.getvalue())
    payload = outer.getvalue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}/bank+marketing.zip"
    srv.shutdown()


def test_uci_loader_reads_the_nested_archive(uci_server, monkeypatch):
    monkeypatch.setattr(bank, "UCI_URL", uci_server)
    df = bank.load_bank_marketing("uci")
    assert list(df.columns) == bank.BANK_COLUMNS and len(df) == 120
    assert len(bank.load_bank_marketing("uci", n_rows=50)) == 50


def test_auto_falls_back_to_synthetic_when_offline(monkeypatch):
    monkeypatch.setattr(bank, "UCI_URL", "http://127.0.0.1:9/unreachable.zip")
    df = bank.load_bank_marketing("auto", n_rows=80)
    assert list(df.columns) == bank.BANK_COLUMNS and len(df) == 80
    with pytest.raises(OSError):
        bank.load_bank_marketing("uci")
    with pytest.raises(ValueError):
        bank.load_bank_marketing("kaggle")
