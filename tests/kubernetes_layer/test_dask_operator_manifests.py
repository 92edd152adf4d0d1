"""Every Kubernetes object the process model renders (filter daskmetal.platform.dask_k8s_manifests), and every object
the Dask Kubernetes Operator would create from it, validated strictly by the real consumers' schemas.

- Core kinds: kubernetes-validate, strict (unknown fields are errors), at the cluster's Kubernetes minor 1.33
  (roles/rke2/defaults/main.yml rke2_version v1.33.5+rke2r1).
- DaskCluster, DaskAutoscaler and the DaskWorkerGroup the operator derives: the CRDs of the pinned operator,
  dask-kubernetes 2026.3.0, as its wheel ships them in dask_kubernetes/operator/deployment/helm/
  dask-kubernetes-operator/crds/ (the chart directory chartpress packages as chart dask-kubernetes-operator 2026.3.0,
  listed in dask/helm-chart gh-pages index.yaml @4748a3d: created 2026-03-02, digest 12d9a707...). These CRDs are
  already resolved (no $ref; the wheel's customresources/*.yaml are the unresolved templates they are built from).
  The API server prunes fields a structural schema does not declare, silently: here an undeclared field is an
  error (what `kubectl apply --validate=strict` reports). ObjectMeta is checked by kubernetes-validate.
- What the operator creates (scheduler Deployment and Service, DaskWorkerGroup, worker Deployment) comes from the
  operator's own builder functions in dask_kubernetes/operator/controller/controller.py (2026.3.0), fed the way
  daskcluster_create_components and daskworkergroup_replica_update feed them.
- PodMonitors: tests/services/schemas/podmonitor.json (prometheus-operator podmonitor_types.go), and their selectors
  must select the pods the operator really labels.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import json
import os
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / "collections"))

from ansible_collections.daskmetal.platform.plugins.filter.dask_processes import dask_k8s_manifests  # noqa: E402

K8S = "1.33"
CORE_KINDS = {"ServiceAccount", "Role", "RoleBinding", "Secret", "Deployment", "Service"}
SOURCE_RANGES = ["10.147.17.0/24", "fd80:56c2:e21c::/48"]
SPEC = {
    "name": "dask", "namespace": "dask", "image": "ghcr.io/dask/dask:2026.8.0-py3.11",
    "extra_pip_packages": ["prometheus-client==0.26.0"],
    "scheduler": {"resources": {"requests": {"cpu": "1", "memory": "2Gi"}}},
    "worker": {"replicas": 3, "nthreads": 2, "memory": "6969Mi"},
    "adaptive": {"enabled": True, "minimum": 1, "maximum": 15},
    "jupyter": {"image": "ghcr.io/dask/dask-notebook:2026.8.0-py3.11", "password_hash": "argon2:$argon2id$v=19$x",
                "extra_pip_packages": ["dask-kubernetes==2026.3.0"]},
    "exposure": {"scheduler_ip": "10.147.17.240", "jupyter_ip": "10.147.17.241", "source_ranges": SOURCE_RANGES},
    "labels": {"app.kubernetes.io/part-of": "daskmetal"},
    "kubernetes": {"monitor_labels": {"release": "kube-prometheus-stack"}},
}


def _site(*parts) -> Path:
    import dask_kubernetes

    return Path(dask_kubernetes.__file__).parent.joinpath(*parts)


CRDS = _site("operator", "deployment", "helm", "dask-kubernetes-operator", "crds")
PODMONITOR_SCHEMA = json.loads((ROOT / "tests/services/schemas/podmonitor.json").read_text())


@functools.lru_cache(maxsize=None)
def _rendered(spec_json: str) -> str:
    return json.dumps(dask_k8s_manifests(json.loads(spec_json)))


def manifests(spec=None) -> list[dict]:
    """A fresh copy of the rendering (tests mutate it)."""
    return json.loads(_rendered(json.dumps(spec or SPEC, sort_keys=True)))


def by_kind(docs, kind) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind, name=None) -> dict:
    (doc,) = [d for d in by_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    return doc


# ---- the operator's own code ------------------------------------------------------------------------------------

def operator_objects(cluster: dict) -> dict:
    """What the operator creates for this DaskCluster, built by its own functions (controller.py 2026.3.0):
    daskcluster_create_components merges the DaskCluster's labels/annotations (_get_labels/_get_annotations) with
    spec.scheduler.metadata and spec.worker.metadata; daskworkergroup_replica_update builds one worker Deployment per
    replica from the DaskWorkerGroup (uuid4().hex[:10] as the suffix: fixed here)."""
    import kopf
    from dask_kubernetes.operator.controller import controller as c

    cluster = copy.deepcopy(cluster)
    name, ns, meta = cluster["metadata"]["name"], cluster["metadata"]["namespace"], kopf.Body(cluster).meta

    def merged(section):
        annotations, labels = c._get_annotations(meta), c._get_labels(meta)
        annotations.update(**section.get("metadata", {}).get("annotations", {}))
        labels.update(**section.get("metadata", {}).get("labels", {}))
        return annotations, labels

    sched = cluster["spec"]["scheduler"]
    s_ann, s_lab = merged(sched)
    wg = c.build_default_worker_group_spec(name, cluster["spec"]["worker"], *merged(cluster["spec"]["worker"]))
    w_ann, w_lab = c._get_annotations(kopf.Body(wg).meta), c._get_labels(kopf.Body(wg).meta)
    w_ann.update(**wg["spec"]["worker"].get("metadata", {}).get("annotations", {}))
    w_lab.update(**wg["spec"]["worker"].get("metadata", {}).get("labels", {}))
    worker = c.build_worker_deployment_spec(wg["metadata"]["name"], ns, name, "0123456789",
                                            wg["spec"]["worker"]["spec"], w_ann, w_lab)
    kopf.label(worker, labels=cluster["metadata"].get("labels", {}))
    out = {"scheduler_deployment": c.build_scheduler_deployment_spec(name, sched["spec"], s_ann, s_lab),
           "scheduler_service": c.build_scheduler_service_spec(name, sched["service"], s_ann, s_lab),
           "workergroup": wg, "worker_deployment": worker}
    for obj in out.values():
        obj["metadata"]["namespace"] = ns
    return json.loads(json.dumps(out))


# ---- strict CRD validation --------------------------------------------------------------------------------------

def _strict(schema: dict) -> dict:
    """The structural schema as JSON Schema: undeclared fields are errors (the API server would prune them),
    x-kubernetes-int-or-string is integer or string, nullable allows null."""
    s = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if schema.get("x-kubernetes-int-or-string"):
        s.pop("type", None)
        s["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in s:
        s["properties"] = {k: _strict(v) for k, v in s["properties"].items()}
        if "additionalProperties" not in s and not schema.get("x-kubernetes-preserve-unknown-fields"):
            s["additionalProperties"] = False
    if isinstance(s.get("additionalProperties"), dict):
        s["additionalProperties"] = _strict(s["additionalProperties"])
    if "items" in s:
        s["items"] = _strict(s["items"])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in schema:
            s[key] = [_strict(x) for x in schema[key]] + s.get(key, [])[len(schema[key]):]
    if schema.get("nullable") and "type" in s:
        s["type"] = [s["type"], "null"]
    return s


@functools.lru_cache(maxsize=None)
def _crds() -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    docs = [yaml.load(p.read_text(), Loader=loader) for p in sorted(CRDS.glob("*.yaml"))]
    return {d["spec"]["names"]["kind"]: d for d in docs}


def crd(kind: str) -> dict:
    assert kind in _crds(), f"no CRD for {kind} in {CRDS}"
    return copy.deepcopy(_crds()[kind])


@functools.lru_cache(maxsize=None)
def _validator(kind: str, api_version: str):
    c = _crds()[kind]
    group, version = api_version.split("/")
    assert group == c["spec"]["group"], api_version
    (ver,) = [v for v in c["spec"]["versions"] if v["name"] == version]
    assert ver["served"] and ver["storage"], f"{api_version} is not the served storage version"
    schema = _strict(ver["schema"]["openAPIV3Schema"])
    schema["properties"].update(apiVersion={"const": api_version}, kind={"const": kind}, metadata={"type": "object"})
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_custom(obj: dict) -> None:
    """Raises jsonschema.ValidationError or kubernetes_validate.ValidationError."""
    error = jsonschema.exceptions.best_match(_validator(obj["kind"], obj["apiVersion"]).iter_errors(obj))
    if error is not None:
        raise error
    # ObjectMeta: the API server checks it like any object's; a ConfigMap carrying it lets kubernetes-validate do so
    kubernetes_validate.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]}, K8S,
                                 strict=True)


# ---- tests ------------------------------------------------------------------------------------------------------

def test_the_rendering_has_every_kind():
    kinds = [d["kind"] for d in manifests()]
    assert kinds == ["DaskCluster", "DaskAutoscaler", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Secret",
                     "Deployment", "Service", "PodMonitor", "PodMonitor"]
    assert {d["metadata"]["namespace"] for d in manifests()} == {"dask"}


def test_core_kinds_validate_strictly():
    core = [d for d in manifests() if d["kind"] in CORE_KINDS]
    assert {d["kind"] for d in core} == CORE_KINDS
    for d in core:
        kubernetes_validate.validate(d, K8S, strict=True)


@pytest.mark.parametrize("kind", ["DaskCluster", "DaskAutoscaler"])
def test_custom_resources_validate_against_the_operator_crd(kind):
    validate_custom(one(manifests(), kind))


def test_what_the_operator_creates_validates_strictly():
    made = operator_objects(one(manifests(), "DaskCluster"))
    for key in ("scheduler_deployment", "scheduler_service", "worker_deployment"):
        kubernetes_validate.validate(made[key], K8S, strict=True)
    validate_custom(made["workergroup"])


@pytest.mark.parametrize("kind, mutate, error", [
    ("DaskCluster", lambda d: d["spec"]["scheduler"]["service"].update(loadBalancerSourceRange=["0.0.0.0/0"]),
     jsonschema.ValidationError),
    ("DaskCluster", lambda d: d["spec"]["worker"].update(replica=3), jsonschema.ValidationError),
    ("DaskCluster", lambda d: d["spec"]["worker"]["spec"]["containers"][0].update(argv=["dask"]),
     jsonschema.ValidationError),
    ("DaskCluster", lambda d: d["spec"]["scheduler"].pop("service"), jsonschema.ValidationError),
    ("DaskCluster", lambda d: d["metadata"].update(label={"x": "y"}), kubernetes_validate.ValidationError),
    ("DaskAutoscaler", lambda d: d["spec"].update(minimum="1"), jsonschema.ValidationError),
    ("DaskAutoscaler", lambda d: d["spec"].pop("maximum"), jsonschema.ValidationError),
])
def test_the_crd_check_rejects_mistakes(kind, mutate, error):
    d = one(manifests(), kind)
    mutate(d)
    with pytest.raises(error):
        validate_custom(d)


def test_the_core_check_rejects_a_wrong_field():
    svc = one(manifests(), "Service")
    svc["spec"]["loadBalancerIPs"] = ["10.147.17.241"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(svc, K8S, strict=True)


def lb_services(docs) -> list[dict]:
    """The two LoadBalancer Services as the API server will hold them: the scheduler's as the operator creates it."""
    return [operator_objects(one(docs, "DaskCluster"))["scheduler_service"], one(docs, "Service")]


def assert_exposed_only_as_planned(svc: dict, ip: str) -> None:
    spec = svc["spec"]
    assert spec["type"] == "LoadBalancer"
    assert spec.get("allocateLoadBalancerNodePorts") is False
    assert all("nodePort" not in p for p in spec["ports"]), spec["ports"]
    assert spec.get("loadBalancerSourceRanges") == SOURCE_RANGES
    assert all(ipaddress.ip_network(r) for r in spec["loadBalancerSourceRanges"])
    assert "loadBalancerIP" not in spec  # deprecated field; MetalLB 0.16 reads the annotation (controller/service.go)
    assert svc["metadata"].get("annotations", {}).get("metallb.io/loadBalancerIPs") == ip


def test_load_balancers_have_no_node_ports_and_only_the_zerotier_sources():
    sched, jupyter = lb_services(manifests())
    assert_exposed_only_as_planned(sched, SPEC["exposure"]["scheduler_ip"])
    assert_exposed_only_as_planned(jupyter, SPEC["exposure"]["jupyter_ip"])
    assert sched["metadata"]["name"] == "dask-scheduler"  # SCHEDULER_NAME_TEMPLATE, dask_kubernetes/constants.py
    assert [(p["name"], p["port"]) for p in sched["spec"]["ports"]] == [("tcp-comm", 8786), ("http-dashboard", 8787)]


@pytest.mark.parametrize("mutate", [
    lambda s: s["spec"]["ports"][0].update(nodePort=30786),
    lambda s: s["spec"].update(allocateLoadBalancerNodePorts=True),
    lambda s: s["spec"].pop("loadBalancerSourceRanges"),
    lambda s: s["metadata"]["annotations"].pop("metallb.io/loadBalancerIPs"),
])
def test_the_exposure_check_fails_on_a_node_port_or_open_sources(mutate):
    sched, _ = lb_services(manifests())
    mutate(sched)
    with pytest.raises(AssertionError):
        assert_exposed_only_as_planned(sched, SPEC["exposure"]["scheduler_ip"])


def selected(selector: dict, pod_labels: dict) -> bool:
    return all(pod_labels.get(k) == v for k, v in selector.items())


def pod_template(deployment: dict) -> tuple[dict, list[dict]]:
    t = deployment["spec"]["template"]
    return t["metadata"]["labels"], [p for c in t["spec"]["containers"] for p in c.get("ports", [])]


def test_services_and_monitors_select_the_pods_the_operator_labels():
    docs = manifests()
    made = operator_objects(one(docs, "DaskCluster"))
    sched_labels, sched_ports = pod_template(made["scheduler_deployment"])
    worker_labels, worker_ports = pod_template(made["worker_deployment"])
    svc = made["scheduler_service"]["spec"]
    assert selected(svc["selector"], sched_labels) and not selected(svc["selector"], worker_labels)
    assert {p["targetPort"] for p in svc["ports"]} <= {p["name"] for p in sched_ports}
    monitors = {m["metadata"]["name"]: m for m in by_kind(docs, "PodMonitor")}
    assert set(monitors) == {"dask-scheduler", "dask-workers"}
    for name, labels, ports, other in (("dask-scheduler", sched_labels, sched_ports, worker_labels),
                                       ("dask-workers", worker_labels, worker_ports, sched_labels)):
        m = monitors[name]
        jsonschema.validate(m, PODMONITOR_SCHEMA)
        assert m["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert selected(m["spec"]["selector"]["matchLabels"], labels)
        assert not selected(m["spec"]["selector"]["matchLabels"], other)
        assert {e["port"] for e in m["spec"]["podMetricsEndpoints"]} <= {p["name"] for p in ports}
    jupyter = one(docs, "Deployment")
    assert selected(one(docs, "Service")["spec"]["selector"], jupyter["spec"]["template"]["metadata"]["labels"])


def test_the_operator_sets_the_labels_the_monitors_rely_on():
    """Guards the citation: if a future operator renamed dask.org/component or dask.org/cluster-name, the monitors
    would select nothing."""
    made = operator_objects(one(manifests(), "DaskCluster"))
    labels, _ = pod_template(made["worker_deployment"])
    assert {k: labels[k] for k in ("dask.org/cluster-name", "dask.org/component", "dask.org/workergroup-name")} == {
        "dask.org/cluster-name": "dask", "dask.org/component": "worker", "dask.org/workergroup-name": "dask-default"}
    assert labels["app.kubernetes.io/part-of"] == "daskmetal"  # the DaskCluster's labels reach the pods


def test_a_wrong_monitor_label_selects_nothing():
    docs = manifests()
    made = operator_objects(one(docs, "DaskCluster"))
    labels, _ = pod_template(made["worker_deployment"])
    m = one(docs, "PodMonitor", "dask-workers")
    wrong = dict(m["spec"]["selector"]["matchLabels"], **{"dask.org/component": "workers"})
    assert selected(m["spec"]["selector"]["matchLabels"], labels) and not selected(wrong, labels)


def test_jupyter_rbac_names_the_operator_resources():
    """The Role's resources are the CRDs' plural names (a singular or misspelt one grants nothing) and cover what
    KubeCluster.from_name/scale/adapt touch (dask_kubernetes/operator/kubecluster/kubecluster.py)."""
    docs = manifests()
    plurals = {crd(k)["spec"]["names"]["plural"] for k in ("DaskCluster", "DaskWorkerGroup", "DaskAutoscaler")}
    rules = one(docs, "Role")["rules"]
    dask_rules = [r for r in rules if r["apiGroups"] == ["kubernetes.dask.org"]]
    assert {res for r in dask_rules for res in r["resources"]} == plurals
    # which verbs exactly: tests/kubernetes_layer/test_jupyter_rbac.py (the real KubeCluster against RBAC)
    core = {res: set(r["verbs"]) for r in rules if r["apiGroups"] == [""] for res in r["resources"]}
    assert {"get", "list"} <= core["pods"] and "get" in core["services"] and "get" in core["pods/log"]
    binding, sa = one(docs, "RoleBinding"), one(docs, "ServiceAccount")
    assert binding["roleRef"]["name"] == one(docs, "Role")["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": "dask"}]
    assert one(docs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == sa["metadata"]["name"]


def test_autoscaler_is_the_one_kubecluster_adapt_steers():
    """KubeCluster.adapt()/scale() create, patch or delete the DaskAutoscaler named like the cluster
    (kubecluster.py _adapt/_scale), so ours must carry that name."""
    docs = manifests()
    a = one(docs, "DaskAutoscaler")
    assert a["metadata"]["name"] == a["spec"]["cluster"] == one(docs, "DaskCluster")["metadata"]["name"]
    assert (a["spec"]["minimum"], a["spec"]["maximum"]) == (1, 15)
    assert by_kind(manifests(dict(SPEC, adaptive={"enabled": False})), "DaskAutoscaler") == []


def test_without_addresses_or_source_ranges_nothing_renders():
    from ansible.errors import AnsibleFilterError

    for exposure in ({"scheduler_ip": "10.147.17.240", "jupyter_ip": "10.147.17.241", "source_ranges": []},
                     {"scheduler_ip": "", "jupyter_ip": "10.147.17.241", "source_ranges": SOURCE_RANGES},
                     dict(SPEC["exposure"], source_ranges=["10.147.17.0/33"])):
        with pytest.raises(AnsibleFilterError):
            dask_k8s_manifests(dict(SPEC, exposure=exposure))
    with pytest.raises(AnsibleFilterError, match="not pinned"):
        dask_k8s_manifests(dict(SPEC, extra_pip_packages=["scikit-learn"]))


def test_startup_grace_covers_the_pip_install_at_start():
    """A startupProbe that runs out restarts the container; with EXTRA_PIP_PACKAGES the image installs them before the
    process starts (dask-docker base/prepare.sh), so the grace is long then and short without them."""
    def grace(spec):
        made = operator_objects(one(manifests(spec), "DaskCluster"))
        (c,) = made["worker_deployment"]["spec"]["template"]["spec"]["containers"]
        return c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"]

    assert grace(SPEC) >= 900
    assert grace(dict(SPEC, extra_pip_packages=[])) == 120


if os.environ.get("DASKMETAL_DUMP_MANIFESTS"):  # pragma: no cover - a look at the rendering by hand
    print(yaml.safe_dump_all(manifests(), sort_keys=False))
