"""JupyterLab's Role (module_utils/dask_render.py jupyter_rbac) allows exactly what a notebook's KubeCluster needs.

The REAL client code runs: dask-kubernetes 2026.3.0 ``KubeCluster.from_name(...)``, ``.scale()``, ``.adapt()``,
``KubeCluster(custom_cluster_spec=...)`` (through daskmetal_workloads.scale / .cluster), ``.get_logs()`` and
``.close()``, over kr8s 0.20.15 and httpx, against the kube API double with bearer-token authentication and RBAC as
kube-apiserver v1.33 evaluates it (tests/doubles/kube_rbac.py), seeded with the rendered ServiceAccount, Role and
RoleBinding. The client authenticates as JupyterLab's ServiceAccount.

Stand-ins, and only these: the operator (what its handlers create for a new DaskCluster, built by its own builder
functions in controller.py: scheduler Service, default DaskWorkerGroup, status.phase Running; a Running, Ready
scheduler Pod as the kubelet would report it; deleting a DaskCluster removes it at once, as garbage collection
would later); cluster DNS (inside the pod ``<svc>.<ns>`` resolves, networking._is_service_available) and the network
path to the scheduler (the address KubeCluster computes from the Service it read is mapped to a local
distributed scheduler, so the Service read is still made and authorized).

test_every_rule_is_needed removes each rule of the Role in turn and sees the flow fail with 403 Forbidden.
"""
from __future__ import annotations

import copy
import json
import sys

import pytest

from tests.doubles.kube_rbac import RBACKubeDouble, service_account_user
from tests.kubernetes_layer.test_dask_operator_manifests import ROOT, SPEC, manifests, one, operator_objects

sys.path.insert(0, str(ROOT / "artifacts" / "workloads"))
from daskmetal_workloads import cluster as nbc  # noqa: E402
from daskmetal_workloads import scale as nbscale  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NS, NAME = SPEC["namespace"], SPEC["name"]
TOKEN = "jupyter-sa-token"
DASK = "kubernetes.dask.org/v1"


def pod_from(deployment: dict, suffix: str) -> dict:
    """The pod the ReplicaSet controller makes of a Deployment, Running and Ready as the kubelet reports it."""
    tmpl = deployment["spec"]["template"]
    meta = copy.deepcopy(tmpl["metadata"])
    meta.update(name=f"{deployment['metadata']['name']}-{suffix}", namespace=deployment["metadata"]["namespace"])
    ready = [{"type": t, "status": "True"} for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": copy.deepcopy(tmpl["spec"]),
            "status": {"phase": "Running", "conditions": ready, "podIP": "10.42.0.9"}}


class OperatorDouble(RBACKubeDouble):
    """The RBAC double plus what the operator (and the kubelet, and GC) do for a DaskCluster."""

    def operate(self, cluster: dict) -> None:
        objs = operator_objects(cluster)
        svc = objs["scheduler_service"]
        svc["spec"].setdefault("clusterIP", "10.43.0.10")
        if svc["spec"].get("type") == "LoadBalancer":  # MetalLB's answer
            ip = cluster["metadata"]["annotations"].get("metallb.io/loadBalancerIPs") if "annotations" in \
                cluster["metadata"] else None
            svc["status"] = {"loadBalancer": {"ingress": [{"ip": ip or SPEC["exposure"]["scheduler_ip"]}]}}
        for obj in (svc, objs["workergroup"], pod_from(objs["scheduler_deployment"], "5d9c7-abcde")):
            obj.setdefault("apiVersion", "v1")
            gv, plural = self.locate(obj)
            self.store(gv, plural, obj)
        pod = f"{cluster['metadata']['name']}-scheduler-5d9c7-abcde"
        self.logs[(NS, pod)] = "distributed.scheduler - INFO - Scheduler at: tcp://10.42.0.9:8786\n"
        stored = self.objects[(DASK, "daskclusters", NS, cluster["metadata"]["name"])]
        stored["status"] = {"phase": "Running"}

    def handle(self, method, path, body, content_type=None):
        code, payload = super().handle(method, path, body, content_type)
        route = self.route(path.split("?", 1)[0])
        if route and route[1] == "daskclusters" and method == "POST" and code == 201:
            self.operate(payload)
        if route and route[1] == "daskclusters" and method == "DELETE" and code == 200:
            name = route[3]  # GC: the cluster's children go with it
            for key in [k for k, o in self.objects.items()
                        if (o["metadata"].get("labels") or {}).get("dask.org/cluster-name") == name]:
                del self.objects[key]
        return code, payload


def seeded_double(rules: list[dict] | None = None) -> OperatorDouble:
    docs = manifests()
    rbac = [copy.deepcopy(one(docs, k)) for k in ("ServiceAccount", "Role", "RoleBinding")]
    if rules is not None:
        rbac[1]["rules"] = rules
    users = {TOKEN: service_account_user(NS, rbac[0]["metadata"]["name"]), "admin": {"name": "admin", "groups": []}}
    double = OperatorDouble(rbac, users=users)
    shared = copy.deepcopy(one(docs, "DaskCluster"))
    double.store(DASK, "daskclusters", shared)
    double.operate(shared)
    return double


@pytest.fixture
def local_schedulers():
    """A real distributed scheduler per cluster, on demand, in an event loop of its own (what each DaskCluster's
    scheduler pod would be): {service name: address}."""
    import asyncio
    import threading

    from distributed import Scheduler

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    running: dict[str, Scheduler] = {}

    async def start(service):
        if service not in running:
            running[service] = await Scheduler(host="127.0.0.1", port=0, dashboard_address=":0")
        return running[service].address

    def address_of(service):
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(start(service), loop))
    yield address_of

    async def stop():
        for sched in running.values():
            await sched.close()
    asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture
def client_env(monkeypatch, tmp_path, local_schedulers, request):
    """kr8s reads KUBECONFIG; the in-cluster DNS and network path stand-ins (see the module docstring)."""
    from dask_kubernetes.operator import networking
    from dask_kubernetes.operator.kubecluster import kubecluster

    real_address = kubecluster.get_scheduler_address

    async def in_cluster_dns(host, port, retries=20):
        return [("resolved", host, port)]

    async def address(service_name, *args, **kwargs):
        # reads the Service (authorized) and computes the in-cluster address, then the network path stand-in
        await real_address(service_name, *args, **kwargs)
        return await local_schedulers(service_name)

    # a KubeCluster whose start was refused stays in KubeCluster._instances, which an atexit hook (reap_clusters)
    # would try to close after the double is gone
    request.addfinalizer(kubecluster.KubeCluster._instances.clear)
    monkeypatch.setattr(networking, "_is_service_available", in_cluster_dns)
    monkeypatch.setattr(kubecluster, "get_scheduler_address", address)

    def use(double):
        double.__enter__()
        request.addfinalizer(lambda: double.__exit__(None, None, None))
        path = tmp_path / "kubeconfig"
        path.write_text(json.dumps(double.kubeconfig_for(TOKEN, NS)))
        monkeypatch.setenv("KUBECONFIG", str(path))
        monkeypatch.setenv("DASKMETAL_NAMESPACE", NS)  # as JupyterLab's pod has it (dask_processes.py _jupyter)
        return double
    return use


def notebook_flow(double) -> None:
    """What a notebook does: steer the shared cluster, then start, inspect and close its own."""
    shared = nbscale.shared_cluster(NAME, NS)
    assert nbscale.scale_workers(5, cluster=shared) == 5
    assert double.objects[(DASK, "daskworkergroups", NS, f"{NAME}-default")]["spec"]["worker"]["replicas"] == 5
    nbscale.adapt_workers(1, 15, cluster=shared)
    auto = double.objects[(DASK, "daskautoscalers", NS, NAME)]["spec"]
    assert (auto["cluster"], auto["minimum"], auto["maximum"]) == (NAME, 1, 15)
    nbscale.adapt_workers(2, 10, cluster=shared)  # the autoscaler exists: patched
    assert double.objects[(DASK, "daskautoscalers", NS, NAME)]["spec"]["minimum"] == 2
    shared.scale(3)  # deletes the autoscaler first
    assert (DASK, "daskautoscalers", NS, NAME) not in double.objects
    shared.close()
    assert (DASK, "daskclusters", NS, NAME) in double.objects  # connect-only: closing leaves it

    template = json.loads(one(manifests(), "ConfigMap", f"{NAME}-notebook-cluster")["data"]["daskcluster.json"])
    own = nbc.start_cluster("nb-exp", n_workers=2, template=template, quiet=True, resource_timeout=20)
    created = double.objects[(DASK, "daskclusters", NS, "nb-exp")]
    assert created["spec"]["worker"]["replicas"] == 2
    logs = own.get_logs()
    assert any("Scheduler at" in str(v) for v in logs.values()), logs
    own.close()
    assert (DASK, "daskclusters", NS, "nb-exp") not in double.objects


def granted(rules: list[dict]) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def test_the_role_allows_exactly_what_the_notebook_flow_uses(client_env):
    double = client_env(seeded_double())
    try:
        notebook_flow(double)
    finally:
        assert not double.errors, double.errors
    sa = service_account_user(NS, f"{NAME}-jupyter")["name"]
    used = {(g, r, v) for user, v, g, r, ns, ok in double.decisions if user == sa and ok and ns == NS}
    denied = [d for d in double.decisions if not d[-1]]
    assert not denied, denied
    role = one(manifests(), "Role")
    assert granted(role["rules"]) == used, {"granted, never used": sorted(granted(role["rules"]) - used),
                                            "used, not granted": sorted(used - granted(role["rules"]))}


ROLE_RULES = one(manifests(), "Role")["rules"]


@pytest.mark.parametrize("index", range(len(ROLE_RULES)),
                         ids=["/".join([*r["apiGroups"], *r["resources"]]) for r in ROLE_RULES])
def test_every_rule_is_needed(client_env, index):
    """Without one rule of the Role the flow stops at a 403 for a grant of that rule, and only of that rule (that
    each single grant is used is test_the_role_allows_exactly_what_the_notebook_flow_uses; one flow per rule keeps
    this file at a few seconds per case)."""
    rules = [r for i, r in enumerate(ROLE_RULES) if i != index]
    double = client_env(seeded_double(rules))
    with pytest.raises(Exception) as err:
        notebook_flow(double)
    denied = {(d[2], d[3], d[1]) for d in double.decisions if not d[-1]}
    assert denied and denied <= granted([ROLE_RULES[index]]), (err.value, denied)
    assert "is forbidden" in str(err.value) or denied, err.value
