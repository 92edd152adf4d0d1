"""A notebook's own short-lived Dask cluster on Kubernetes (the seed's "workers from a notebook").

dask-kubernetes 2026.3.0's ``KubeCluster(name=..., image=...)`` builds its DaskCluster with ``make_cluster_spec``
(dask_kubernetes/operator/kubecluster/kubecluster.py), whose scheduler runs ``dask-scheduler`` and whose workers run
``dask-worker`` (the kubernetes.worker-command default in dask_kubernetes/kubernetes.yaml). distributed 2026.6.0
removed both commands (dask/distributed#9240), so on the platform's images such a cluster never starts: its scheduler
exits at once (CrashLoopBackOff).

The platform ships its own DaskCluster template instead, rendered from the same process model as the shared cluster
(module_utils/dask_render.py ``notebook_cluster_template``) and mounted into JupyterLab (path in env
DASKMETAL_CLUSTER_TEMPLATE). ``start_cluster`` fills in name, namespace and worker count and hands it to
``KubeCluster(custom_cluster_spec=...)``, which creates the DaskCluster, waits for the operator, and deletes it again
on ``close()`` (or at the end of a ``with`` block)::

    from daskmetal_workloads import start_cluster
    with start_cluster("my-experiment", n_workers=3) as cluster, cluster.get_client() as client:
        ...
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

TEMPLATE_ENV = "DASKMETAL_CLUSTER_TEMPLATE"
DEFAULT_TEMPLATE = "/etc/daskmetal/notebook-cluster/daskcluster.json"
SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
# dask-kubernetes 2026.3.0 dask_kubernetes/operator/_objects.py labels / controller.py build_scheduler_service_spec
CLUSTER_LABEL = "dask.org/cluster-name"


def load_template(path: str | None = None) -> dict:
    """The DaskCluster template the role mounted into JupyterLab (JSON, which is also YAML)."""
    path = path or os.environ.get(TEMPLATE_ENV) or DEFAULT_TEMPLATE
    with open(path) as fh:
        return json.load(fh)


def _namespace(namespace: str | None) -> str:
    if namespace:
        return namespace
    if os.environ.get("DASKMETAL_NAMESPACE"):
        return os.environ["DASKMETAL_NAMESPACE"]
    return SA_NAMESPACE.read_text().strip() if SA_NAMESPACE.exists() else "default"


def cluster_spec(name: str, n_workers: int = 1, namespace: str | None = None, template: dict | None = None,
                 idle_timeout: int | None = None) -> dict:
    """The template as the DaskCluster ``name``: metadata, the scheduler Service's selector, spec.worker.replicas
    and, when given, spec.idleTimeout (seconds without work after which the operator deletes the cluster)."""
    if n_workers < 0:
        raise ValueError("n_workers must be >= 0")
    spec = copy.deepcopy(template if template is not None else load_template())
    if spec.get("kind") != "DaskCluster":
        raise ValueError("the template is not a DaskCluster: %r" % spec.get("kind"))
    spec["metadata"]["name"] = name
    spec["metadata"]["namespace"] = _namespace(namespace)
    spec["spec"]["scheduler"]["service"]["selector"][CLUSTER_LABEL] = name
    spec["spec"]["worker"]["replicas"] = int(n_workers)
    if idle_timeout is not None:
        spec["spec"]["idleTimeout"] = int(idle_timeout)
    return spec


def start_cluster(name: str, n_workers: int = 1, namespace: str | None = None, template: dict | None = None,
                  idle_timeout: int | None = None, kube_cluster=None, **kwargs):
    """Create the DaskCluster ``name`` from the platform's template and return its
    ``dask_kubernetes.operator.KubeCluster`` (shutdown_on_close: closing it deletes the cluster). Extra keyword
    arguments go to KubeCluster (e.g. ``resource_timeout``, ``quiet``)."""
    spec = cluster_spec(name, n_workers, namespace, template, idle_timeout)
    if kube_cluster is None:
        from dask_kubernetes.operator import KubeCluster as kube_cluster
    kwargs.setdefault("shutdown_on_close", True)
    return kube_cluster(custom_cluster_spec=spec, namespace=spec["metadata"]["namespace"], **kwargs)
