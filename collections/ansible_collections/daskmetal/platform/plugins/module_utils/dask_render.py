# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Render the Dask processes of dask_processes.py into a Compose services block or Kubernetes manifests.

Nothing about a process (argv, env, ports, probes, image) is decided here: this module only translates the
process data into each platform's syntax. The input is the ``spec`` documented in dask_processes.py.

Upstream facts the Kubernetes rendering relies on (dask-kubernetes 2026.3.0, the pinned operator):

- DaskCluster/DaskAutoscaler: group kubernetes.dask.org, version v1 (the chart's crds/*.yaml, shipped in the wheel
  under dask_kubernetes/operator/deployment/helm/dask-kubernetes-operator/crds).
- The operator passes ``spec.scheduler.service`` unchanged as the scheduler Service's spec and puts the DaskCluster's
  labels and annotations plus ``spec.scheduler.metadata`` on it (controller.py daskcluster_create_components,
  build_scheduler_service_spec): the selector, the MetalLB annotation and the source ranges are ours to set.
- Labels the operator sets on the pods it creates (controller.py build_scheduler_deployment_spec,
  build_worker_deployment_spec): ``dask.org/cluster-name: <name>``, ``dask.org/component: scheduler|worker``,
  ``dask.org/workergroup-name: <name>-default`` (workers), ``sidecar.istio.io/inject: "false"``; the PodMonitors
  select on the first two.
- Port names ``tcp-comm`` and ``http-dashboard``: networking.py get_scheduler_address (port_name="tcp-comm") and
  controller.py retire_workers/check_scheduler_idle/get_desired_workers (port_name="http-dashboard").
- ``KubeCluster.adapt`` creates or patches a DaskAutoscaler named like the cluster and ``KubeCluster.scale``
  deletes that DaskAutoscaler, then patches the DaskWorkerGroup ``<name>-default`` (kubecluster.py _adapt, _scale):
  ours has the cluster's name, so the notebook and the role steer the same object.
- MetalLB 0.16.1 (roles/metallb) reads the address from the annotation ``metallb.io/loadBalancerIPs``
  (metallb controller/service.go; metallb.universe.tf/... is the deprecated alias).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from ansible_collections.daskmetal.platform.plugins.module_utils.dask_processes import (
    SpecError, jupyter_server_config, normalize, port_number, processes, require_kubernetes)

DASK_API = "kubernetes.dask.org/v1"
MONITORING_API = "monitoring.coreos.com/v1"
METALLB_IP_ANNOTATION = "metallb.io/loadBalancerIPs"
CLUSTER_LABEL = "dask.org/cluster-name"
COMPONENT_LABEL = "dask.org/component"
COMPOSE_SERVICE = {"scheduler": "scheduler", "worker": "worker", "jupyter": "notebook"}
JUPYTER_CONFIG_KEY = "jupyter_server_config.json"
# A notebook's own short-lived cluster (daskmetal_workloads.cluster.start_cluster): the DaskCluster template the role
# ships in a ConfigMap mounted into JupyterLab (a Kubernetes-only volume, like the seed notebooks'; the process
# model's env is unchanged). <dir>/<key> is the helper's DEFAULT_TEMPLATE.
NOTEBOOK_CLUSTER_KEY = "daskcluster.json"
NOTEBOOK_CLUSTER_DIR = "/etc/daskmetal/notebook-cluster"
NOTEBOOK_CLUSTER_PLACEHOLDER = "notebook-cluster"
# dask-kubernetes 2026.3.0 controller.py build_worker_deployment_spec: the DASK_SCHEDULER_ADDRESS the operator adds to
# each worker container that does not set it is tcp://<cluster>-scheduler.<namespace>.svc.cluster.local:8786, port
# hard-coded.
OPERATOR_SCHEDULER_PORT = 8786

__all__ = ["SpecError", "compose_services", "k8s_manifests", "notebook_cluster_template"]


# ---- Compose ----------------------------------------------------------------------------------------------------

def compose_healthcheck(process):
    probe = process["probe"]
    url = "http://127.0.0.1:%d%s" % (port_number(process, probe["port"]), probe["path"])
    # urlopen raises on a refused connection and on HTTP >= 400, which fails the check (exit code 1)
    code = "import urllib.request; urllib.request.urlopen(%r, timeout=%d)" % (url, probe["timeout_seconds"] - 1)
    return {"test": ["CMD", "python", "-c", code],
            "interval": "%ds" % probe["period_seconds"],
            "timeout": "%ds" % probe["timeout_seconds"],
            "retries": probe["failure_threshold"],
            "start_period": "%ds" % probe["start_period_seconds"],
            "start_interval": "%ds" % probe["start_interval_seconds"]}


def _compose_ports(s, name, process):
    c = s["compose"]
    if name == "scheduler":
        return ["%s:%d:%d" % (c["bind_address"], c["scheduler_port"], port_number(process, "tcp-comm")),
                "%s:%d:%d" % (c["bind_address"], c["dashboard_port"], port_number(process, "http-dashboard"))]
    if name == "jupyter":
        return ["%s:%d:%d" % (c["login_bind_address"], c["jupyter_port"], port_number(process, "http"))]
    return []


def compose_services(spec):
    """{compose service name: {command, environment, expose, ports, healthcheck}} for scheduler, worker, notebook."""
    s = normalize(spec)
    out = {}
    for name, process in processes(s, "compose").items():
        # expose: the container ports the other services reach (Prometheus scrapes the workers' 8788)
        service = {"command": list(process["argv"]), "environment": dict(process["env"]),
                   "expose": [str(p["port"]) for p in process["ports"]],
                   "healthcheck": compose_healthcheck(process)}
        ports = _compose_ports(s, name, process)
        if ports:
            service["ports"] = ports
        out[COMPOSE_SERVICE[name]] = service
    return out


# ---- Kubernetes: containers -------------------------------------------------------------------------------------

def k8s_probes(process):
    """startupProbe covers the image's start (pip install of EXTRA_PIP_PACKAGES) like Compose's start_period with
    start_interval; readiness and liveness then use the same check as Compose's healthcheck."""
    p = process["probe"]
    http = {"path": p["path"], "port": p["port"]}
    steady = {"httpGet": dict(http), "periodSeconds": p["period_seconds"], "timeoutSeconds": p["timeout_seconds"],
              "failureThreshold": p["failure_threshold"]}
    startup = {"httpGet": dict(http), "periodSeconds": p["start_interval_seconds"],
               "timeoutSeconds": p["timeout_seconds"],
               "failureThreshold": -(-p["start_period_seconds"] // p["start_interval_seconds"])}
    return {"startupProbe": startup, "readinessProbe": steady, "livenessProbe": dict(steady, httpGet=dict(http))}


def k8s_container(process, volume_mounts=None):
    container = {"name": process["name"], "image": process["image"], "imagePullPolicy": process["image_pull_policy"],
                 "args": list(process["argv"]),
                 "env": [{"name": k, "value": v} for k, v in process["env"].items()],
                 "ports": [{"name": p["name"], "containerPort": p["port"], "protocol": "TCP"}
                           for p in process["ports"]]}
    container.update(k8s_probes(process))
    if process["resources"]:
        container["resources"] = process["resources"]
    if volume_mounts:
        container["volumeMounts"] = volume_mounts
    return container


def _workloads_volume(s):
    volume = {"name": "daskmetal-workloads", "configMap": {"name": s["kubernetes"]["workloads_configmap"]}}
    mount = {"name": "daskmetal-workloads", "mountPath": s["workloads_path"] + "/daskmetal_workloads",
             "readOnly": True}
    return volume, mount


def _meta(s, name, labels=None, annotations=None):
    meta = {"name": name, "namespace": s["namespace"], "labels": dict(s["labels"], **(labels or {}))}
    if annotations:
        meta["annotations"] = annotations
    return meta


def _lb_spec(s, ports, selector):
    return {"type": "LoadBalancer", "selector": selector, "ports": ports,
            "loadBalancerSourceRanges": list(s["exposure"]["source_ranges"]),
            "allocateLoadBalancerNodePorts": False}


# ---- Kubernetes: objects ----------------------------------------------------------------------------------------

def dask_cluster(s, procs):
    volume, mount = _workloads_volume(s)
    scheduler_selector = {CLUSTER_LABEL: s["name"], COMPONENT_LABEL: "scheduler"}
    service_ports = [{"name": p["name"], "protocol": "TCP", "port": p["port"], "targetPort": p["name"]}
                     for p in procs["scheduler"]["ports"]]
    pod = {"volumes": [volume]}
    return {
        "apiVersion": DASK_API, "kind": "DaskCluster", "metadata": _meta(s, s["name"]),
        "spec": {
            "worker": {"replicas": s["worker"]["replicas"],
                       "spec": dict(pod, containers=[k8s_container(procs["worker"], [mount])])},
            "scheduler": {
                # the operator copies these annotations onto the scheduler Deployment, pod and Service
                "metadata": {"annotations": {METALLB_IP_ANNOTATION: s["exposure"]["scheduler_ip"]}},
                "spec": dict(pod, containers=[k8s_container(procs["scheduler"], [mount])]),
                "service": _lb_spec(s, service_ports, scheduler_selector)},
        },
    }


def dask_autoscaler(s):
    return {"apiVersion": DASK_API, "kind": "DaskAutoscaler",
            "metadata": _meta(s, s["name"], {CLUSTER_LABEL: s["name"], COMPONENT_LABEL: "autoscaler"}),
            "spec": {"cluster": s["name"], "minimum": s["adaptive"]["minimum"],
                     "maximum": s["adaptive"]["maximum"]}}


def jupyter_rbac(s):
    """Exactly what a notebook's KubeCluster sends in its namespace (dask-kubernetes 2026.3.0
    dask_kubernetes/operator/kubecluster/kubecluster.py over kr8s 0.20.15, which reads one object as a list with
    fieldSelector metadata.name, so every read is get + list; measured in tests/kubernetes_layer/test_jupyter_rbac.py,
    which also fails when any grant below is missing):

    - ``KubeCluster.from_name`` (_start, _connect_cluster, _watch_component_status, networking.wait_for_scheduler,
      wait_for_service, get_scheduler_address): get/list DaskCluster, scheduler Pod (by label) and Service,
      DaskWorkerGroup;
    - ``.scale(n)``: delete the DaskAutoscaler, get and patch the DaskWorkerGroup (kr8s APIObject.scale);
      ``.adapt()``: patch, else create, the DaskAutoscaler;
    - its own short-lived cluster (``KubeCluster(custom_cluster_spec=...)``, ``.get_logs()``, ``.close()``): create,
      get, delete a DaskCluster; pods/log.

    No watch (none of these watch), no pods/portforward (inside the cluster the scheduler Service name resolves,
    networking.py get_internal_address_for_scheduler_service), no write to pods or services (the operator makes
    them)."""
    name = "%s-jupyter" % s["name"]
    labels = {"app.kubernetes.io/name": "jupyter", "app.kubernetes.io/instance": s["name"]}
    rules = [
        {"apiGroups": ["kubernetes.dask.org"], "resources": ["daskclusters"],
         "verbs": ["get", "list", "create", "delete"]},
        {"apiGroups": ["kubernetes.dask.org"], "resources": ["daskworkergroups"], "verbs": ["get", "list", "patch"]},
        {"apiGroups": ["kubernetes.dask.org"], "resources": ["daskautoscalers"], "verbs": ["create", "patch", "delete"]},
        {"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    ]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(s, name, labels)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta(s, name, labels),
         "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": _meta(s, name, labels),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": s["namespace"]}]},
    ]


def jupyter_objects(s, process):
    """Secret (the server config with the password hash), Deployment, LoadBalancer Service."""
    name = "%s-jupyter" % s["name"]
    labels = {"app.kubernetes.io/name": "jupyter", "app.kubernetes.io/instance": s["name"]}
    config = json.dumps(jupyter_server_config(s), indent=2, sort_keys=True)
    volume, mount = _workloads_volume(s)
    mounts = [{"name": "jupyter-config", "mountPath": s["jupyter"]["config_path"], "subPath": JUPYTER_CONFIG_KEY,
               "readOnly": True}, mount,
              {"name": "seed-notebooks", "mountPath": s["jupyter"]["notebooks_path"], "readOnly": True},
              {"name": "notebook-cluster", "mountPath": NOTEBOOK_CLUSTER_DIR, "readOnly": True}]
    volumes = [{"name": "jupyter-config", "secret": {"secretName": name + "-config"}}, volume,
               {"name": "seed-notebooks", "configMap": {"name": s["kubernetes"]["notebooks_configmap"]}},
               {"name": "notebook-cluster", "configMap": {"name": notebook_cluster_configmap_name(s)}}]
    pod_meta = {"labels": dict(s["labels"], **labels),
                # a subPath mount never sees Secret updates: a new config (password) rolls the pod
                "annotations": {"daskmetal.io/jupyter-config-sha256": hashlib.sha256(config.encode()).hexdigest()}}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(s, name, labels),
        "spec": {"replicas": 1, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": labels},
                 "template": {"metadata": pod_meta,
                              "spec": {"serviceAccountName": name, "volumes": volumes,
                                       "containers": [k8s_container(process, mounts)]}}}}
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": _meta(s, name, labels, {METALLB_IP_ANNOTATION: s["exposure"]["jupyter_ip"]}),
        "spec": _lb_spec(s, [{"name": "http", "protocol": "TCP", "port": s["exposure"]["jupyter_service_port"],
                               "targetPort": "http"}], labels)}
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": _meta(s, name + "-config", labels),
              "stringData": {JUPYTER_CONFIG_KEY: config}}
    return [secret, deployment, service]


def notebook_cluster_configmap_name(s):
    return "%s-notebook-cluster" % s["name"]


def _template_container(process, mount, worker):
    """The platform's scheduler or worker container, minus the shared cluster's address: the operator gives each
    worker DASK_SCHEDULER_ADDRESS for the cluster it belongs to, and the worker's argv takes it from there
    ($(VAR) expansion by the kubelet); the scheduler does not read it."""
    container = k8s_container(process, [mount])
    container["env"] = [e for e in container["env"] if e["name"] != "DASK_SCHEDULER_ADDRESS"]
    if worker:
        container["args"] = ["$(DASK_SCHEDULER_ADDRESS)" if a.startswith("tcp://") else a for a in container["args"]]
    return container


def notebook_cluster_template(spec):
    """The DaskCluster a notebook starts for itself (``KubeCluster(custom_cluster_spec=...)``): the platform's own
    scheduler and worker processes (image, argv, env, probes, resources), 1 worker, a ClusterIP scheduler Service
    (JupyterLab reaches it by its in-cluster name; no MetalLB address). ``metadata.name`` is a placeholder and the
    Service selector names it: daskmetal_workloads.cluster.start_cluster sets both, the namespace and the replicas.

    dask-kubernetes 2026.3.0's own ``make_cluster_spec`` (what a bare ``KubeCluster(name=, image=)`` creates) runs
    ``dask-scheduler`` and ``dask-worker``, which distributed 2026.6.0 removed; this template replaces it."""
    s = normalize(spec)
    require_kubernetes(s)
    if s["scheduler"]["port"] != OPERATOR_SCHEDULER_PORT:
        raise SpecError("the notebook cluster template needs scheduler.port %d (the operator hard-codes it in the "
                        "workers' DASK_SCHEDULER_ADDRESS)" % OPERATOR_SCHEDULER_PORT)
    procs = processes(s, "kubernetes")
    volume, mount = _workloads_volume(s)
    name = NOTEBOOK_CLUSTER_PLACEHOLDER
    labels = {"daskmetal.io/notebook-cluster": "true"}
    ports = [{"name": p["name"], "protocol": "TCP", "port": p["port"], "targetPort": p["name"]}
             for p in procs["scheduler"]["ports"]]
    return {
        "apiVersion": DASK_API, "kind": "DaskCluster", "metadata": _meta(s, name, labels),
        "spec": {
            "worker": {"replicas": 1, "spec": {"volumes": [volume],
                                               "containers": [_template_container(procs["worker"], mount, True)]}},
            "scheduler": {
                "spec": {"volumes": [volume], "containers": [_template_container(procs["scheduler"], mount, False)]},
                "service": {"type": "ClusterIP", "ports": ports,
                            "selector": {CLUSTER_LABEL: name, COMPONENT_LABEL: "scheduler"}}},
        },
    }


def notebook_cluster_configmap(s, spec):
    template = json.dumps(notebook_cluster_template(spec), indent=2, sort_keys=True)
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _meta(s, notebook_cluster_configmap_name(s), {"app.kubernetes.io/name": "jupyter",
                                                                     "app.kubernetes.io/instance": s["name"]}),
            "data": {NOTEBOOK_CLUSTER_KEY: template}}


def pod_monitors(s):
    """Prometheus Operator PodMonitors on the operator's pod labels; port http-dashboard serves /metrics on both
    (distributed.http.scheduler.prometheus / distributed.http.worker.prometheus). The job label is
    <namespace>/<PodMonitor name>, so the scheduler's contains "dask" and "scheduler" as the shared rules expect."""
    out = []
    for component, suffix in (("scheduler", "scheduler"), ("worker", "workers")):
        out.append({
            "apiVersion": MONITORING_API, "kind": "PodMonitor",
            "metadata": _meta(s, "%s-%s" % (s["name"], suffix), s["kubernetes"]["monitor_labels"]),
            "spec": {"selector": {"matchLabels": {CLUSTER_LABEL: s["name"], COMPONENT_LABEL: component}},
                     "namespaceSelector": {"matchNames": [s["namespace"]]},
                     "podMetricsEndpoints": [{"port": "http-dashboard", "path": "/metrics",
                                              "interval": s["kubernetes"]["metrics_interval"]}]}})
    return out


def k8s_manifests(spec):
    """The platform's Dask objects, in apply order: DaskCluster, [DaskAutoscaler], [JupyterLab RBAC, the
    notebook-cluster ConfigMap, Secret, Deployment, Service], [PodMonitors]."""
    s = normalize(spec)
    require_kubernetes(s)
    procs = processes(s, "kubernetes")
    out = [dask_cluster(s, procs)]
    if s["adaptive"]["enabled"]:
        out.append(dask_autoscaler(s))
    if "jupyter" in procs:
        out += jupyter_rbac(s) + [notebook_cluster_configmap(s, spec)] + jupyter_objects(s, procs["jupyter"])
    if s["kubernetes"]["monitors"]:
        out += pod_monitors(s)
    return out
