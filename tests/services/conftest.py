"""Shared fixtures for the platform-services tests (artifacts, notebooks, rendered manifests)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
WORKLOADS = ARTIFACTS / "workloads"

if str(WORKLOADS) not in sys.path:
    sys.path.insert(0, str(WORKLOADS))


@pytest.fixture(scope="session")
def dask_cluster():
    """A real local Dask cluster: one scheduler and two worker processes (one thread each)."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           memory_limit="2GiB")
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def kernel_env(dask_cluster):
    """Environment for notebook kernels: scheduler address like the chart sets, workloads on PYTHONPATH."""
    env = {
        "DASK_SCHEDULER_ADDRESS": dask_cluster.scheduler_address,
        "PYTHONPATH": os.pathsep.join([str(WORKLOADS), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "MPLBACKEND": "Agg",
    }
    return env
