"""Scale the Dask workers from a notebook.

On Kubernetes the platform's cluster is a DaskCluster of the Dask Kubernetes Operator. JupyterLab's pod knows its
name and namespace (env DASKMETAL_DASK_CLUSTER, DASKMETAL_NAMESPACE) and its service account may steer it, so a
notebook uses dask-kubernetes' own client (2026.3.0, dask_kubernetes/operator/kubecluster/kubecluster.py):

- ``KubeCluster.from_name(name, namespace=...)`` connects to the existing cluster (create_mode CONNECT_ONLY,
  shutdown_on_close False: closing the notebook's handle leaves the shared cluster running);
- ``.scale(n)`` deletes the cluster's DaskAutoscaler, if any, and sets the default worker group to n;
- ``.adapt(minimum, maximum)`` creates or patches the DaskAutoscaler.

The next ``playbooks/dask.yml`` run returns to the inventory's dask_worker_replicas / dask_adaptive_* settings, so
make lasting changes there. Elsewhere (a LocalCluster, the Compose stack with a cluster object) pass ``cluster=``
and its own scale()/adapt() are used.
"""

from __future__ import annotations

import os
from pathlib import Path

SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def shared_cluster(name: str | None = None, namespace: str | None = None, kube_cluster=None):
    """The platform's DaskCluster as a dask_kubernetes.operator.KubeCluster (connect only, never shut down)."""
    name = name or os.environ.get("DASKMETAL_DASK_CLUSTER")
    if not name:
        raise ValueError("no DaskCluster: pass name= or set DASKMETAL_DASK_CLUSTER")
    if namespace is None:
        namespace = os.environ.get("DASKMETAL_NAMESPACE") or (
            SA_NAMESPACE.read_text().strip() if SA_NAMESPACE.exists() else "default")
    if kube_cluster is None:
        from dask_kubernetes.operator import KubeCluster as kube_cluster
    return kube_cluster.from_name(name, namespace=namespace)


def scale_workers(n: int, client=None, cluster=None, name: str | None = None, namespace: str | None = None,
                  wait: bool = True, timeout: float = 600, kube_cluster=None) -> int:
    """Ask for `n` workers (adaptive scaling off); with `client`, wait until the scheduler sees them."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if cluster is None:
        cluster = shared_cluster(name, namespace, kube_cluster)
    cluster.scale(int(n))
    if wait and client is not None and n:
        client.wait_for_workers(n, timeout=timeout)
    return n


def adapt_workers(minimum: int, maximum: int, cluster=None, name: str | None = None, namespace: str | None = None,
                  kube_cluster=None):
    """Let the cluster move between `minimum` and `maximum` workers from the scheduler's adaptive target."""
    if not 0 <= minimum <= maximum:
        raise ValueError("need 0 <= minimum <= maximum")
    if cluster is None:
        cluster = shared_cluster(name, namespace, kube_cluster)
    return cluster.adapt(minimum=int(minimum), maximum=int(maximum))
