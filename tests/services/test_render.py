"""playbooks/render.yml on the example inventory: every manifest and Helm values file the metallb, monitoring and dask
roles would apply, checked without a cluster (Kubernetes OpenAPI, the project's CRD schemas, the pinned charts' keys,
the plan's addresses)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from .conftest import ARTIFACTS, ROOT

HERE = Path(__file__).parent
INVENTORY = ROOT / "inventories" / "example"
SCHEMAS = {p.stem: json.loads(p.read_text()) for p in (HERE / "schemas").glob("*.json")}
CORE_KINDS = {"Namespace", "Service", "ConfigMap", "Secret", "Job", "Deployment", "ServiceAccount", "Role",
              "RoleBinding"}
CR_KINDS = {"IPAddressPool", "L2Advertisement", "PodMonitor", "PrometheusRule"}
# The operator's CRDs (kubernetes.dask.org/v1), as the pinned dask-kubernetes 2026.3.0 ships them in its chart
# (dask_kubernetes/operator/deployment/helm/dask-kubernetes-operator/crds, the same files as in the published
# dask-kubernetes-operator-2026.3.0.tgz).
DASK_KINDS = {"DaskCluster"}
NODES = [{"vcpus": 16, "memory_mb": 64000}, {"vcpus": 16, "memory_mb": 64000}]
# The example inventory carries no secret (its vault.yml.example is not loaded): the test passes its own.
TEST_SECRETS = ROOT / "tests" / "vars" / "test_secrets.yml"
EXTRA = {"metallb_interfaces": ["ztabcdef12"], "dask_worker_replicas": 15, "dask_worker_node_capacity": NODES}
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("rendered")
    env = dict(os.environ, ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory")  # hermetic: no facts from earlier runs
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(INVENTORY), "playbooks/render.yml",
           "-e", f"render_dir={out}", "-e", f"@{TEST_SECRETS}", "-e", json.dumps(EXTRA)]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def docs(rendered):
    out = []
    for f in sorted(rendered.rglob("[0-9]*.yaml")):
        out += [(f, d) for d in yaml.safe_load_all(f.read_text()) if d]
    return out


def by_kind(docs, kind):
    return [d for _, d in docs if d["kind"] == kind]


@pytest.fixture(scope="module")
def plan():
    """The derived plan of the example inventory, computed by the project's own filter from `ansible-inventory`."""
    r = subprocess.run([str(Path(sys.executable).with_name("ansible-inventory")), "-i", str(INVENTORY), "--list"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    inv = json.loads(r.stdout)

    def hosts(group):
        g = inv.get(group, {})
        return list(dict.fromkeys(g.get("hosts", []) + [h for c in g.get("children", []) for h in hosts(c)]))

    groups = {name: hosts(name) for name in inv if name != "_meta"}
    # the host's variables as the render run sees them: the inventory's plus the test secrets it is given
    hv = {**inv["_meta"]["hostvars"]["epyc-agent-1"], **yaml.safe_load(TEST_SECRETS.read_text())}
    if str(ROOT / "collections") not in sys.path:
        sys.path.insert(0, str(ROOT / "collections"))
    from ansible_collections.daskmetal.platform.plugins.filter.plan import FilterModule

    return FilterModule().filters()["plan_derive"](hv["daskmetal_plan"], groups), hv


def values(rendered, role):
    return yaml.safe_load((rendered / role / "values.yaml").read_text())


def release(rendered, role):
    return yaml.safe_load((rendered / role / "helm-release.yaml").read_text())


# ---- chart keys ---------------------------------------------------------------------------------------------------

def load_keys(chart: str, version: str) -> dict:
    f = HERE / "chart_keys" / f"{chart}-{version}.txt"
    assert f.exists(), f"no key list for {chart} {version}: regenerate with tests/services/chart_keys/generate.py"
    return dict(line.split("\t") for line in f.read_text().splitlines())


def unknown_keys(vals: dict, keys: dict, prefix: str = "") -> list[str]:
    bad = []
    for k, v in vals.items():
        path = f"{prefix}{k}"
        kind = keys.get(path)
        if kind is None:
            bad.append(path)
        elif kind == "map" and isinstance(v, dict):
            bad += unknown_keys(v, keys, path + ".")
    return bad


@pytest.mark.parametrize("role", ["metallb", "dask", "monitoring"])
def test_values_keys_exist_in_pinned_chart(rendered, role):
    rel = release(rendered, role)
    keys = load_keys(rel["chart"], str(rel["version"]))
    assert unknown_keys(values(rendered, role), keys) == []


@pytest.mark.parametrize("typo", [{"image": {"names": "x"}}, {"rbac": {"clusters": False}}, {"kopfArg": []}])
def test_a_values_typo_is_caught(rendered, typo):
    rel = release(rendered, "dask")
    keys = load_keys(rel["chart"], str(rel["version"]))
    vals = {**values(rendered, "dask"), **typo}
    bad = unknown_keys(vals, keys)
    assert len(bad) == 1 and bad[0].split(".")[-1] in ("names", "clusters", "kopfArg")


def test_pinned_versions(rendered):
    assert {r: str(release(rendered, r)["version"]) for r in ("metallb", "dask", "monitoring")} == {
        "metallb": "0.16.1", "dask": "2026.3.0", "monitoring": "88.5.3"}
    assert release(rendered, "dask")["chart"] == "dask-kubernetes-operator"


# ---- schemas ------------------------------------------------------------------------------------------------------

def test_core_kinds_validate_strictly_against_kubernetes_1_33(docs):
    import kubernetes_validate

    core = [(f, d) for f, d in docs if d["kind"] in CORE_KINDS]
    assert {d["kind"] for _, d in core} == CORE_KINDS
    for f, d in core:
        kubernetes_validate.validate(d, "1.33", strict=True)


def test_strict_validation_rejects_a_wrong_field(docs):
    import kubernetes_validate

    svc = json.loads(json.dumps(by_kind(docs, "Service")[0]))
    svc["spec"]["loadBalancerIPs"] = ["10.0.0.1"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(svc, "1.33", strict=True)


def test_custom_resources_match_the_project_schemas(docs):
    crs = [(f, d) for f, d in docs if d["kind"] in CR_KINDS]
    assert {d["kind"] for _, d in crs} == CR_KINDS
    assert {d["kind"] for _, d in docs} <= CORE_KINDS | CR_KINDS | DASK_KINDS
    for f, d in crs:
        jsonschema.validate(d, SCHEMAS[d["kind"].lower()])


def operator_crd_schema(kind: str) -> dict:
    """openAPIV3Schema of the served v1 of the operator's CRD for kind, from the pinned dask-kubernetes wheel."""
    import dask_kubernetes

    crds = Path(dask_kubernetes.__file__).parent / "operator/deployment/helm/dask-kubernetes-operator/crds"
    crd = yaml.safe_load((crds / f"{kind.lower()}.yaml").read_text())
    assert crd["spec"]["group"] == "kubernetes.dask.org"
    (version,) = [v for v in crd["spec"]["versions"] if v["served"]]
    assert version["name"] == "v1"
    schema = version["schema"]["openAPIV3Schema"]
    # apiVersion, kind and metadata are the apiserver's own for every object, whether the CRD lists them or not
    return {**schema, "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                     "metadata": {"type": "object"}, **schema["properties"]}}


def strict(schema: dict) -> dict:
    """A structural CRD schema as the apiserver prunes it: properties not in the schema are not kept, so here they
    are an error (additionalProperties false wherever properties are listed and nothing is preserved)."""
    out = {k: (strict(v) if isinstance(v, dict) else [strict(i) if isinstance(i, dict) else i for i in v]
               if isinstance(v, list) else v) for k, v in schema.items()
           if not k.startswith("x-kubernetes")}
    if "properties" in schema:
        out["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in schema:
            out["additionalProperties"] = False
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return out


def test_dask_custom_resources_match_the_operator_crds(docs):
    crs = [d for _, d in docs if d["kind"] in DASK_KINDS]
    assert {d["kind"] for d in crs} == DASK_KINDS
    for d in crs:
        assert d["apiVersion"] == "kubernetes.dask.org/v1"
        jsonschema.validate(d, strict(operator_crd_schema(d["kind"])))
    bad = json.loads(json.dumps(by_kind(docs, "DaskCluster")[0]))
    bad["spec"]["worker"]["replica"] = bad["spec"]["worker"].pop("replicas")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, strict(operator_crd_schema("DaskCluster")))


@pytest.mark.parametrize("kind, mutate", [
    ("IPAddressPool", lambda d: d["spec"].update(autoassign=True)),
    ("IPAddressPool", lambda d: d["spec"].update(addresses=["10.147.17.200-"])),
    ("L2Advertisement", lambda d: d["spec"].update(interface=["zt0"])),
    ("PodMonitor", lambda d: d["spec"]["podMetricsEndpoints"][0].update(interval="30 seconds")),
    ("PodMonitor", lambda d: d["spec"].update(endpoints=d["spec"].pop("podMetricsEndpoints"))),
    ("PrometheusRule", lambda d: d["spec"]["groups"][0]["rules"][0].update(alert="X", record="y")),
])
def test_schemas_reject_mistakes(docs, kind, mutate):
    d = json.loads(json.dumps(by_kind(docs, kind)[0]))
    mutate(d)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(d, SCHEMAS[kind.lower()])


# ---- the plan's addresses -----------------------------------------------------------------------------------------

def lb_ip(svc_or_annotations):
    ann = svc_or_annotations.get("metadata", {}).get("annotations", svc_or_annotations)
    return ann["metallb.io/loadBalancerIPs"]


def test_pools_are_the_plans(docs, plan):
    derived, _ = plan
    pools = {d["metadata"]["name"]: d["spec"] for d in by_kind(docs, "IPAddressPool")}
    assert pools == {p["name"]: {"addresses": p["addresses"], "autoAssign": p["auto_assign"]}
                     for p in derived["metallb"]["pools"]}
    (l2,) = by_kind(docs, "L2Advertisement")
    assert l2["spec"]["ipAddressPools"] == [p["name"] for p in derived["metallb"]["pools"]]
    assert l2["spec"]["nodeSelectors"][0]["matchExpressions"][0]["values"] == derived["metallb"]["speakers"]
    assert l2["spec"]["interfaces"] == ["ztabcdef12"]


def in_pools(ip, derived):
    for pool in derived["metallb"]["pools"]:
        for rng in pool["addresses"]:
            lo, _, hi = rng.partition("-")
            if hi and ipaddress.ip_address(lo) <= ipaddress.ip_address(ip) <= ipaddress.ip_address(hi):
                return pool
            if not hi and ipaddress.ip_address(ip) in ipaddress.ip_network(lo, strict=False):
                return pool
    return None


def test_service_addresses_are_the_plans(rendered, docs, plan):
    derived, _ = plan
    svc = derived["services"]
    scheduler = operator_scheduler_service(by_kind(docs, "DaskCluster")[0])
    assert lb_ip(scheduler) == svc["dask_scheduler"] and scheduler["spec"]["type"] == "LoadBalancer"
    (jupyter,) = by_kind(docs, "Service")
    assert lb_ip(jupyter) == svc["jupyter"] and jupyter["spec"]["type"] == "LoadBalancer"
    # only the ZeroTier network reaches them, and no NodePort is opened on every node
    for service in (scheduler, jupyter):
        assert service["spec"]["loadBalancerSourceRanges"] == [derived["network"]["cidr"]]
        assert service["spec"]["allocateLoadBalancerNodePorts"] is False
    grafana = values(rendered, "monitoring")["grafana"]["service"]
    assert lb_ip(grafana["annotations"]) == svc["grafana"] and grafana["type"] == "LoadBalancer"
    for name, ip in svc.items():
        assert in_pools(ip, derived), f"{name} {ip} is in no MetalLB pool"


def test_jupyter_service_selects_the_jupyter_pod(docs):
    (jupyter,) = by_kind(docs, "Service")
    (deployment,) = by_kind(docs, "Deployment")
    pod = deployment["spec"]["template"]
    assert selector_matches({"matchLabels": jupyter["spec"]["selector"]}, pod["metadata"]["labels"])
    ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
    assert jupyter["spec"]["ports"][0]["targetPort"] in ports


# ---- what the operator makes of the DaskCluster (its own code, dask-kubernetes 2026.3.0) -------------------------

def _operator():
    from dask_kubernetes.operator.controller import controller

    return controller


def _meta(obj: dict, part: dict):
    """controller.py daskcluster_create_components: the DaskCluster's labels/annotations (_get_labels,
    _get_annotations drop kopf's own) updated with spec.<part>.metadata's."""
    from types import SimpleNamespace

    c = _operator()
    meta = SimpleNamespace(labels=obj["metadata"].get("labels", {}), annotations=obj["metadata"].get("annotations", {}))
    labels, annotations = c._get_labels(meta), c._get_annotations(meta)
    labels.update(part.get("metadata", {}).get("labels", {}))
    annotations.update(part.get("metadata", {}).get("annotations", {}))
    return annotations, labels


def operator_scheduler_service(cluster: dict) -> dict:
    annotations, labels = _meta(cluster, cluster["spec"]["scheduler"])
    scheduler = cluster["spec"]["scheduler"]
    return _operator().build_scheduler_service_spec(cluster["metadata"]["name"], scheduler["service"], annotations,
                                                    labels)


def operator_pods(cluster: dict) -> dict:
    """{"scheduler": pod template, "worker": pod template} the operator creates (build_scheduler_deployment_spec;
    build_default_worker_group_spec, then build_worker_deployment_spec as daskworkergroup_replica_update does)."""
    c, name, ns = _operator(), cluster["metadata"]["name"], cluster["metadata"]["namespace"]
    annotations, labels = _meta(cluster, cluster["spec"]["scheduler"])
    scheduler = c.build_scheduler_deployment_spec(name, cluster["spec"]["scheduler"]["spec"], annotations, labels)
    annotations, labels = _meta(cluster, cluster["spec"]["worker"])
    group = c.build_default_worker_group_spec(name, cluster["spec"]["worker"], annotations, labels)
    worker = c.build_worker_deployment_spec(group["metadata"]["name"], ns, name, "0123456789",
                                            group["spec"]["worker"]["spec"], annotations, labels)
    return {"scheduler": scheduler["spec"]["template"], "worker": worker["spec"]["template"]}


# ---- monitoring wiring --------------------------------------------------------------------------------------------

def selector_matches(selector: dict, labels: dict) -> bool:
    ok = all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())
    for e in selector.get("matchExpressions", []):
        has, val = e["key"] in labels, labels.get(e["key"])
        ok &= {"In": has and val in e.get("values", []), "NotIn": not has or val not in e.get("values", []),
               "Exists": has, "DoesNotExist": not has}[e["operator"]]
    return ok


def effective_selector(spec: dict, kind: str, release_name: str) -> dict:
    """kube-prometheus-stack templates/prometheus/prometheus.yaml: an explicit selector wins, otherwise
    <kind>SelectorNilUsesHelmValues (default true) means matchLabels release=<release>, else select everything."""
    if spec.get(f"{kind}Selector"):
        return spec[f"{kind}Selector"]
    if spec.get(f"{kind}SelectorNilUsesHelmValues", True):
        return {"matchLabels": {"release": release_name}}
    return {}


@pytest.mark.parametrize("kind, crd", [("podMonitor", "PodMonitor"), ("rule", "PrometheusRule")])
def test_prometheus_selects_the_dask_monitors_and_rules(rendered, docs, kind, crd):
    rel = release(rendered, "monitoring")["release"]
    spec = values(rendered, "monitoring").get("prometheus", {}).get("prometheusSpec", {})
    sel = effective_selector(spec, kind, rel)
    objs = by_kind(docs, crd)
    assert objs
    for o in objs:
        assert selector_matches(sel, o["metadata"].get("labels", {})), (crd, o["metadata"])


def test_pod_monitors_select_the_pods_the_operator_creates(docs):
    """Each PodMonitor selects exactly one of the operator's pod kinds, on a container port it names; the job label
    (prometheus-operator: <namespace>/<PodMonitor name>) is what the shared rules match."""
    (cluster,) = by_kind(docs, "DaskCluster")
    pods = operator_pods(cluster)
    monitors = by_kind(docs, "PodMonitor")
    assert len(monitors) == 2
    jobs = {}
    for pm in monitors:
        assert pm["spec"]["namespaceSelector"]["matchNames"] == [cluster["metadata"]["namespace"]]
        (component,) = [k for k, pod in pods.items()
                        if selector_matches(pm["spec"]["selector"], pod["metadata"]["labels"])]
        (endpoint,) = pm["spec"]["podMetricsEndpoints"]
        ports = [p["name"] for ctr in pods[component]["spec"]["containers"] for p in ctr.get("ports", [])]
        assert endpoint["port"] in ports and endpoint["path"] == "/metrics"
        jobs[component] = f"{pm['metadata']['namespace']}/{pm['metadata']['name']}"
    assert set(jobs) == {"scheduler", "worker"}
    # artifacts/prometheus/dask-rules.yml: scheduler jobs match .*dask.*scheduler.*, worker containers "worker"
    assert re.fullmatch(".*dask.*scheduler.*", jobs["scheduler"])
    assert not re.fullmatch(".*dask.*scheduler.*", jobs["worker"])
    assert [ctr["name"] for ctr in pods["worker"]["spec"]["containers"]] == ["worker"]


def test_rules_and_dashboard_are_the_shared_artifacts(docs):
    (rule,) = by_kind(docs, "PrometheusRule")
    assert rule["spec"] == yaml.safe_load((ARTIFACTS / "prometheus" / "dask-rules.yml").read_text())
    (dash,) = [c for c in by_kind(docs, "ConfigMap") if c["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    assert json.loads(dash["data"]["dask-dashboard.json"]) == json.loads(
        (ARTIFACTS / "grafana" / "dask-dashboard.json").read_text())


# ---- dask specifics -----------------------------------------------------------------------------------------------

def container(docs, component: str) -> dict:
    (cluster,) = by_kind(docs, "DaskCluster")
    if component == "jupyter":
        (deployment,) = by_kind(docs, "Deployment")
        (ctr,) = deployment["spec"]["template"]["spec"]["containers"]
    else:
        (ctr,) = cluster["spec"][component]["spec"]["containers"]
    return ctr


def env_of(ctr: dict) -> dict:
    return {e["name"]: e["value"] for e in ctr.get("env", [])}


def test_workers_sized_from_node_capacity(docs):
    (cluster,) = by_kind(docs, "DaskCluster")
    assert cluster["spec"]["worker"]["replicas"] == 15
    w = container(docs, "worker")
    # 15 workers on 2 nodes of 16 CPUs / 64000 MiB: 8 per node, 1 thread, (64000 - 2048) * 0.9 / 8 MiB
    args = w["args"]
    assert args[args.index("--nthreads") + 1] == "1" and args[args.index("--memory-limit") + 1] == "6969Mi"
    assert w["resources"]["limits"] == {"cpu": "1", "memory": "6969Mi"} == w["resources"]["requests"]


def test_images_and_pinned_pip_packages(docs):
    for part in ("scheduler", "worker", "jupyter"):
        ctr = container(docs, part)
        assert ctr["image"].endswith(":2026.8.0-py3.11")
        pip = env_of(ctr)["EXTRA_PIP_PACKAGES"].split()
        assert all("==" in p for p in pip), pip  # nothing unpinned
        assert {"prometheus-client", "dask-ml", "tpot", "scikit-learn"} <= {p.split("==")[0] for p in pip}
    assert container(docs, "jupyter")["image"].startswith("ghcr.io/dask/dask-notebook:")
    assert "dask-kubernetes==2026.3.0" in env_of(container(docs, "jupyter"))["EXTRA_PIP_PACKAGES"].split()


def test_jupyter_password_from_vault_and_effective(docs, plan):
    from ansible_collections.daskmetal.platform.plugins.filter.jupyter import verify

    _, hv = plan
    (secret,) = [d for d in by_kind(docs, "Secret") if d["metadata"]["namespace"] == "dask"]
    config = json.loads(secret["stringData"]["jupyter_server_config.json"])
    hashed = config["PasswordIdentityProvider"]["hashed_password"]
    assert hashed.startswith("argon2:")
    assert verify(hashed, hv["vault_jupyter_password"])
    assert not verify(hashed, hv["vault_jupyter_password"] + "x")
    env = env_of(container(docs, "jupyter"))
    assert env["DASKMETAL_DASK_CLUSTER"] == by_kind(docs, "DaskCluster")[0]["metadata"]["name"]
    (deployment,) = by_kind(docs, "Deployment")
    (account,) = by_kind(docs, "ServiceAccount")
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]


def test_seed_notebooks_and_workloads_shipped(docs):
    cms = {c["metadata"]["name"]: c for c in by_kind(docs, "ConfigMap")}
    nbs = cms["dask-seed-notebooks"]["data"]
    assert sorted(nbs) == sorted(p.name for p in (ARTIFACTS / "notebooks").glob("*.ipynb"))
    for name, text in nbs.items():
        assert json.loads(text) == json.loads((ARTIFACTS / "notebooks" / name).read_text())
    pkg = cms["dask-workloads"]["data"]
    assert {"__init__.py", "smoke.py", "bank.py", "scale.py", "tpot_compat.py"} <= set(pkg)
    (job,) = by_kind(docs, "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["args"][:3] == ["python", "-m", "daskmetal_workloads.smoke"]


def test_no_plaintext_secret_in_the_render(rendered, plan):
    _, hv = plan
    secrets = [hv["vault_grafana_admin_password"], hv["vault_jupyter_password"]]
    for f in rendered.rglob("*"):
        if f.is_file():
            text = f.read_text()
            assert not any(s in text for s in secrets), f
    assert oct((rendered / "dask" / "20-dask.yaml").stat().st_mode & 0o777) == "0o600"  # the Secret's hash
