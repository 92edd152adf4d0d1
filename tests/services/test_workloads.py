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

from daskmetal_workloads import bank, scale_workers, tpot_ready
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


class FakeApps:
    """Records what the Jupyter pod's service account would patch."""

    def __init__(self):
        self.calls = []

    def patch_namespaced_deployment(self, name, namespace, body):
        self.calls.append((name, namespace, body))


def test_scale_workers_patches_the_worker_deployment(monkeypatch):
    monkeypatch.setenv("DASKMETAL_WORKER_DEPLOYMENT", "dask-worker")
    monkeypatch.setenv("DASKMETAL_NAMESPACE", "dask")
    api = FakeApps()
    assert scale_workers(20, apps_api=api) == 20
    assert api.calls == [("dask-worker", "dask", {"spec": {"replicas": 20}})]
    with pytest.raises(ValueError):
        scale_workers(-1, apps_api=api)
    monkeypatch.delenv("DASKMETAL_WORKER_DEPLOYMENT")
    with pytest.raises(ValueError, match="DASKMETAL_WORKER_DEPLOYMENT"):
        scale_workers(3, apps_api=api)


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
