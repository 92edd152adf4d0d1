"""A notebook's own short-lived cluster: the DaskCluster template the role ships (module_utils/dask_render.py
notebook_cluster_template, in a ConfigMap mounted into JupyterLab) as daskmetal_workloads.cluster.cluster_spec fills it
in, checked by the consumers: the operator's CRD schema (dask-kubernetes 2026.3.0, strict), kubernetes-validate 1.33
for the ConfigMap, and the operator's own builder functions for what it creates from it. The pods those make run in
the lab in tests/e2e/test_operator_pods.py; the API calls KubeCluster makes with it in test_jupyter_rbac.py.
"""
from __future__ import annotations

import importlib.metadata
import json
import sys

import kubernetes_validate

from tests.e2e.operator_pods import expand
from tests.kubernetes_layer.test_dask_operator_manifests import (
    K8S, ROOT, SPEC, manifests, one, operator_objects, validate_custom)

sys.path.insert(0, str(ROOT / "artifacts" / "workloads"))
from daskmetal_workloads import cluster as nbc  # noqa: E402


def template() -> dict:
    cm = one(manifests(), "ConfigMap", "dask-notebook-cluster")
    return json.loads(cm["data"]["daskcluster.json"])


def test_configmap_validates_and_is_mounted_where_the_helper_reads():
    docs = manifests()
    cm = one(docs, "ConfigMap", "dask-notebook-cluster")
    kubernetes_validate.validate(cm, K8S, strict=True)
    pod = one(docs, "Deployment", "dask-jupyter")["spec"]["template"]["spec"]
    (vol,) = [v for v in pod["volumes"] if v.get("configMap", {}).get("name") == "dask-notebook-cluster"]
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == vol["name"]]
    assert f"{mount['mountPath']}/{next(iter(cm['data']))}" == nbc.DEFAULT_TEMPLATE


def test_filled_template_validates_against_the_operator_crd():
    spec = nbc.cluster_spec("exp-1", n_workers=3, namespace="dask", template=template(), idle_timeout=600)
    validate_custom(spec)
    assert (spec["metadata"]["name"], spec["spec"]["worker"]["replicas"], spec["spec"]["idleTimeout"]) == \
        ("exp-1", 3, 600)


def test_operator_builds_pods_of_the_platform_processes_for_the_notebook_cluster():
    """From the filled template, the operator's builders make a scheduler and workers that run the platform's own
    commands (image, argv) and reach the notebook cluster's scheduler, not the shared one; its Service is ClusterIP
    (no MetalLB address) and selects the scheduler pod the operator labels."""
    spec = nbc.cluster_spec("exp-1", n_workers=2, namespace="dask", template=template())
    objs = operator_objects(spec)
    shared = one(manifests(), "DaskCluster")["spec"]
    worker = objs["worker_deployment"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in worker["env"]}
    argv = [expand(a, env) for a in worker["args"]]
    shared_worker = shared["worker"]["spec"]["containers"][0]
    assert argv[2] == env["DASK_SCHEDULER_ADDRESS"] == "tcp://exp-1-scheduler.dask.svc.cluster.local:8786"
    assert argv[-1] == env["DASK_WORKER_NAME"] == objs["worker_deployment"]["metadata"]["name"]
    assert worker["args"][:2] + worker["args"][3:] == shared_worker["args"][:2] + shared_worker["args"][3:]
    assert worker["image"] == shared_worker["image"] and worker["resources"] == shared_worker["resources"]
    sched = objs["scheduler_deployment"]["spec"]["template"]
    assert sched["spec"]["containers"][0]["args"] == shared["scheduler"]["spec"]["containers"][0]["args"]
    svc = objs["scheduler_service"]
    assert svc["spec"]["type"] == "ClusterIP" and "annotations" not in spec["spec"]["scheduler"].get("metadata", {})
    assert all(sched["metadata"]["labels"].get(k) == v for k, v in svc["spec"]["selector"].items())
    kubernetes_validate.validate(objs["scheduler_deployment"], K8S, strict=True)
    kubernetes_validate.validate(svc, K8S, strict=True)


def test_upstream_default_spec_runs_commands_the_pinned_distributed_lacks():
    """The documented negative: make_cluster_spec (what KubeCluster(name=, image=) creates) runs dask-scheduler and
    dask-worker; the installed distributed 2026.8.0 has no such console scripts (dask/distributed#9240)."""
    from dask_kubernetes.operator import make_cluster_spec

    upstream = make_cluster_spec("exp-1", image=SPEC["image"], n_workers=1)
    assert upstream["spec"]["scheduler"]["spec"]["containers"][0]["args"][0] == "dask-scheduler"
    assert upstream["spec"]["worker"]["spec"]["containers"][0]["args"][0] == "dask-worker"
    scripts = {e.name for e in importlib.metadata.distribution("distributed").entry_points
               if e.group == "console_scripts"}
    assert importlib.metadata.version("distributed") == "2026.8.0"
    assert not scripts & {"dask-scheduler", "dask-worker"}
    assert template()["spec"]["scheduler"]["spec"]["containers"][0]["args"][:2] == ["dask", "scheduler"]
