"""Scale the Dask workers from a notebook.

On Kubernetes (the dask Helm chart), patch the worker Deployment's replicas with the Jupyter pod's service account
(the chart's jupyter Role allows get/patch on deployments in its namespace). The next `playbooks/dask.yml` or
`scale_dask.yml` run resets replicas to the inventory value, so make lasting changes there.
Elsewhere (a LocalCluster, Compose with a cluster object) pass `cluster=` and its own scale() is used.
"""

from __future__ import annotations

import os
from pathlib import Path

SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def _apps_api():
    from kubernetes import client as k8s
    from kubernetes import config

    config.load_incluster_config()
    return k8s.AppsV1Api()


def scale_workers(n: int, client=None, cluster=None, deployment: str | None = None, namespace: str | None = None,
                  apps_api=None, wait: bool = True, timeout: float = 600) -> int:
    """Ask for `n` workers; with `client`, wait until the scheduler sees them. Returns the requested count."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if cluster is not None:
        cluster.scale(n)
    else:
        deployment = deployment or os.environ.get("DASKMETAL_WORKER_DEPLOYMENT")
        if not deployment:
            raise ValueError("no worker Deployment: pass deployment= or set DASKMETAL_WORKER_DEPLOYMENT")
        if namespace is None:
            namespace = os.environ.get("DASKMETAL_NAMESPACE") or (
                SA_NAMESPACE.read_text().strip() if SA_NAMESPACE.exists() else "default")
        api = apps_api or _apps_api()
        api.patch_namespaced_deployment(deployment, namespace, {"spec": {"replicas": int(n)}})
    if wait and client is not None:
        client.wait_for_workers(n, timeout=timeout) if n else None
    return n
