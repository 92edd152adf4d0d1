"""playbooks/render.yml on the example inventory: every manifest and Helm values file the metallb, monitoring and dask
roles would apply, checked without a cluster (Kubernetes OpenAPI, the project's CRD schemas, the pinned charts' keys,
the plan's addresses)."""

from __future__ import annotations

import ipaddress
import json
import os
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
CORE_KINDS = {"Namespace", "Service", "ConfigMap", "Secret", "Job"}
CR_KINDS = {"IPAddressPool", "L2Advertisement", "ServiceMonitor", "PodMonitor", "PrometheusRule"}
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


@pytest.mark.parametrize("typo", [{"scheduler": {"servicePorts": 8786}}, {"worker": {"replica": 3}},
                                  {"jupyter": {"image": {"tags": "x"}}}])
def test_a_values_typo_is_caught(rendered, typo):
    keys = load_keys("dask", "2024.1.1")
    vals = values(rendered, "dask")
    for top, sub in typo.items():
        vals[top] = {**vals[top], **sub}
    bad = unknown_keys(vals, keys)
    assert len(bad) == 1 and bad[0].split(".")[-1] in ("servicePorts", "replica", "tags")


def test_pinned_versions(rendered):
    assert {r: str(release(rendered, r)["version"]) for r in ("metallb", "dask", "monitoring")} == {
        "metallb": "0.16.1", "dask": "2024.1.1", "monitoring": "88.5.3"}


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
    assert {d["kind"] for _, d in docs} <= CORE_KINDS | CR_KINDS
    for f, d in crs:
        jsonschema.validate(d, SCHEMAS[d["kind"].lower()])


@pytest.mark.parametrize("kind, mutate", [
    ("IPAddressPool", lambda d: d["spec"].update(autoassign=True)),
    ("IPAddressPool", lambda d: d["spec"].update(addresses=["10.147.17.200-"])),
    ("L2Advertisement", lambda d: d["spec"].update(interface=["zt0"])),
    ("ServiceMonitor", lambda d: d["spec"]["endpoints"][0].update(interval="30 seconds")),
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
    assert lb_ip(values(rendered, "dask")["scheduler"]["serviceAnnotations"]) == svc["dask_scheduler"]
    assert values(rendered, "dask")["scheduler"]["serviceType"] == "LoadBalancer"
    (jupyter,) = [s for s in by_kind(docs, "Service") if s["spec"]["selector"].get("component") == "jupyter"]
    assert lb_ip(jupyter) == svc["jupyter"] and jupyter["spec"]["type"] == "LoadBalancer"
    grafana = values(rendered, "monitoring")["grafana"]["service"]
    assert lb_ip(grafana["annotations"]) == svc["grafana"] and grafana["type"] == "LoadBalancer"
    for name, ip in svc.items():
        assert in_pools(ip, derived), f"{name} {ip} is in no MetalLB pool"


def test_jupyter_service_selects_the_charts_jupyter_pod(rendered, docs):
    (jupyter,) = [s for s in by_kind(docs, "Service") if s["spec"]["selector"].get("component") == "jupyter"]
    # labels of dask/templates/dask-jupyter-deployment.yaml (chart 2024.1.1): app=<chart name>, release, component
    assert jupyter["spec"]["selector"] == {"app": "dask", "release": release(rendered, "dask")["release"],
                                           "component": "jupyter"}
    assert jupyter["spec"]["ports"][0]["targetPort"] == 8888


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


@pytest.mark.parametrize("kind, crd", [("serviceMonitor", "ServiceMonitor"), ("podMonitor", "PodMonitor"),
                                       ("rule", "PrometheusRule")])
def test_prometheus_selects_the_dask_monitors_and_rules(rendered, docs, kind, crd):
    rel = release(rendered, "monitoring")["release"]
    spec = values(rendered, "monitoring").get("prometheus", {}).get("prometheusSpec", {})
    sel = effective_selector(spec, kind, rel)
    objs = by_kind(docs, crd)
    assert objs
    for o in objs:
        assert selector_matches(sel, o["metadata"].get("labels", {})), (crd, o["metadata"])


def test_monitors_point_at_the_charts_scheduler_and_workers(rendered, docs):
    rel = release(rendered, "dask")
    fullname = rel["release"] if "dask" in rel["release"] else f"{rel['release']}-dask"
    (sm,) = by_kind(docs, "ServiceMonitor")
    # dask/templates/dask-scheduler-service.yaml: labels app/release/component, metrics port name <fullname>-webui
    assert selector_matches(sm["spec"]["selector"], {"app": "dask", "release": rel["release"], "component": "scheduler"})
    assert sm["spec"]["endpoints"][0]["port"] == f"{fullname}-webui"
    assert sm["spec"]["namespaceSelector"]["matchNames"] == [rel["namespace"]]
    (pm,) = by_kind(docs, "PodMonitor")
    assert selector_matches(pm["spec"]["selector"], {"app": "dask", "release": rel["release"], "component": "worker"})
    assert pm["spec"]["podMetricsEndpoints"][0]["port"] == "dashboard"  # dask-worker-deployment.yaml port name
    # the rules match scheduler jobs by name (the ServiceMonitor's job is the Service name)
    assert "dask" in f"{fullname}-scheduler" and "scheduler" in f"{fullname}-scheduler"


def test_rules_and_dashboard_are_the_shared_artifacts(docs):
    (rule,) = by_kind(docs, "PrometheusRule")
    assert rule["spec"] == yaml.safe_load((ARTIFACTS / "prometheus" / "dask-rules.yml").read_text())
    (dash,) = [c for c in by_kind(docs, "ConfigMap") if c["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    assert json.loads(dash["data"]["dask-dashboard.json"]) == json.loads(
        (ARTIFACTS / "grafana" / "dask-dashboard.json").read_text())


# ---- dask specifics -----------------------------------------------------------------------------------------------

def test_workers_sized_from_node_capacity(rendered):
    w = values(rendered, "dask")["worker"]
    assert w["replicas"] == 15
    # 15 workers on 2 nodes of 16 CPUs / 64000 MiB: 8 per node, 1 thread, (64000 - 2048) * 0.9 / 8 MiB
    assert w["threads_per_worker"] == 1
    assert w["resources"]["limits"] == {"cpu": 1, "memory": "6969Mi"} == w["resources"]["requests"]


def test_images_and_pip_packages(rendered):
    v = values(rendered, "dask")
    for part in ("scheduler", "worker", "jupyter"):
        assert v[part]["image"]["tag"] == "2026.8.0"
        pip = {e["name"]: e["value"] for e in v[part]["env"]}["EXTRA_PIP_PACKAGES"].split()
        names = {p.split("==")[0] for p in pip}
        assert {"prometheus-client", "dask-ml", "tpot", "scikit-learn"} <= names
    assert v["jupyter"]["image"]["repository"].endswith("/dask/dask-notebook")


def test_jupyter_password_from_vault_and_effective(rendered, plan):
    from ansible_collections.daskmetal.platform.plugins.filter.jupyter import verify

    _, hv = plan
    j = values(rendered, "dask")["jupyter"]
    assert j["password"].startswith("argon2:")
    assert verify(j["password"], hv["vault_jupyter_password"])
    assert not verify(j["password"], hv["vault_jupyter_password"] + "x")
    env = {e["name"]: e["value"] for e in j["env"]}
    assert env["JUPYTERLAB_ARGS"] == "--config /usr/local/etc/jupyter/jupyter_notebook_config.py"
    assert f'c.PasswordIdentityProvider.hashed_password = "{j["password"]}"' in j["extraConfig"]
    assert j["rbac"] is True
    assert env["DASKMETAL_WORKER_DEPLOYMENT"] == "dask-worker"


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
    assert oct((rendered / "dask" / "values.yaml").stat().st_mode & 0o777) == "0o600"
