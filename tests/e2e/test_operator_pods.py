"""The pods the Dask Kubernetes Operator creates from the role's DaskCluster, run for real in the lab
(tests/e2e/operator_pods.py).

The role's manifests (filter daskmetal.platform.dask_k8s_manifests, as roles/dask applies them, plus the two ConfigMaps
of roles/dask/templates/artifacts.yaml.j2) go to the operator's own handlers (dask-kubernetes 2026.3.0,
dask_kubernetes/operator/controller/controller.py), which turn the DaskCluster into Deployments and a Service; those
pod templates and the role's own JupyterLab Deployment run as Docker containers from the project's ML image
(images/ml/Dockerfile on the lab's Dask stand-in) on a lab network where the Service names resolve as CoreDNS would.
One cluster serves the whole module. Checked there: every startup/readiness probe; the three seed notebooks executed
by nbclient in the JupyterLab pod's kernel against the operator's scheduler and workers, asserted as compose_e2e
asserts them (exact array mean, TPOT above chance with the same ML packages on kernel and workers, ParallelPostFit
equal to plain scikit-learn); a notebook's own short-lived cluster from the template the role mounts
(daskmetal_workloads.start_cluster) started by the same handlers, computing the exact array mean, its Service name
resolving to its scheduler, gone on delete; upstream's default spec (a bare KubeCluster) crash-looping on the removed
`dask-scheduler`; Prometheus (lab image) scraping the scheduler and every worker as the role's PodMonitors select
them; the JupyterLab login over HTTP from another container through the Service port; the operator's worker-group
handler scaling the default group 2 -> 3 -> 1 (the scheduler retires exactly the Deployments the operator deletes).

What stays unproven without an API server: admission (CRD schema validation and defaulting; RBAC is proven against
the double in tests/kubernetes_layer/test_jupyter_rbac.py, with the real KubeCluster client, not here), the kopf event
flow and its timing (the handlers are called in the order kopf calls them; the DaskAutoscaler timer and idleTimeout
shutdown never run), ownerReferences and garbage collection (OperatorLab.delete_cluster removes by label),
Deployment/ReplicaSet rollouts and restarts, liveness probes, the real ClusterIP/kube-proxy (the Service name
resolves to the pod, or to a forwarder where the port is remapped), the LoadBalancer/MetalLB address and
loadBalancerSourceRanges, and the Prometheus Operator turning PodMonitors into scrape configs (done here by the test
from the PodMonitor's selector and port name).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from tests.e2e import stack_images, stack_notebooks
from tests.e2e.operator_pods import MAX_RESTARTS, PREFIX, operator_lab, selector_matches

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              # the host venv and the lab image run different Python patch releases (3.11.7 / 3.11.2)
              pytest.mark.filterwarnings("ignore::distributed.versions.VersionMismatchWarning")]

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NAMESPACE = "daskmetal"
CLUSTER = "oppods"
N_WORKERS = 2
PASSWORD = "lab-password"  # not a secret: the lab JupyterLab lives for the test only
NOTEBOOKS_PATH = "/home/jovyan/daskmetal-examples"  # roles/dask defaults dask_seed_notebooks_path


def _docker_ok() -> bool:
    return shutil.which("docker") is not None and subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    """The lab images of tests/e2e/stack_images.py by its recipe hashes, built if missing (no push: the lab registry is
    not needed here): the Dask stand-in, the project's ML image FROM it (images/ml/Dockerfile, what compose_e2e runs
    too, so the cache is shared), Prometheus."""
    if not _docker_ok():
        pytest.skip("no Docker engine (the lab tests need scripts/lab-prereqs)")
    si, base = stack_images, stack_images._base_recipe().encode()
    d, p = (os.path.join(si.IMAGES, x) for x in ("dask", "prometheus"))
    constraints = os.path.join(ROOT, "constraints.txt")
    dask_hash = si._digest(base, si._read(d, "Dockerfile"), si._read(d, "requirements.txt"), si._read(constraints))
    out = {"dask": f"daskmetal-lab/dask:{dask_hash}",
           "ml": f"daskmetal-lab/dask-ml:{si._digest(dask_hash.encode(), si.ml_recipe_hash().encode())}",
           "prometheus": "daskmetal-lab/prometheus:" + si._digest(base, si._read(p, "Dockerfile"))}
    si._build(out["dask"], {"Dockerfile": os.path.join(d, "Dockerfile"),
                            "requirements.txt": os.path.join(d, "requirements.txt"),
                            "constraints.txt": constraints}, {"BASE": si.BASE})
    si._build(out["ml"], {name: os.path.join(si.ML_RECIPE, name) for name in si.ML_RECIPE_FILES},
              {"BASE": out["dask"]})
    si._build(out["prometheus"], {"Dockerfile": os.path.join(p, "Dockerfile")}, {"BASE": si.BASE})
    return out


def _collection_filters():
    if os.path.join(ROOT, "collections") not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, "collections"))
    from ansible_collections.daskmetal.platform.plugins.filter.dask_processes import dask_k8s_manifests
    from ansible_collections.daskmetal.platform.plugins.filter.jupyter import jupyter_password_hash
    return dask_k8s_manifests, jupyter_password_hash


def artifact_configmaps() -> list[dict]:
    """The two ConfigMaps roles/dask/templates/artifacts.yaml.j2 makes: the seed notebooks and the workloads
    package, one key per file."""
    def files(folder: str, suffix: str) -> dict[str, str]:
        out = {}
        for name in sorted(os.listdir(folder)):
            if name.endswith(suffix):
                with open(os.path.join(folder, name)) as fh:
                    out[name] = fh.read()
        return out
    art = os.path.join(ROOT, "artifacts")
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{CLUSTER}-seed-notebooks"},
             "data": files(os.path.join(art, "notebooks"), ".ipynb")},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{CLUSTER}-workloads"},
             "data": files(os.path.join(art, "workloads", "daskmetal_workloads"), ".py")}]


def role_spec(images: dict[str, str]) -> dict:
    """The spec roles/dask builds (vars/main.yml __dask_spec) with its defaults, for the lab: the project's ML image
    for scheduler, workers and JupyterLab (dask_image pointed at it: no EXTRA_PIP_PACKAGES), 2 workers of 1 thread /
    1.5 GiB, addresses of a plan."""
    _, password_hash = _collection_filters()
    return {
        "name": CLUSTER, "namespace": NAMESPACE, "image": images["ml"], "image_pull_policy": "IfNotPresent",
        "extra_pip_packages": [], "workloads_path": "/opt/daskmetal/workloads",
        "worker": {"replicas": N_WORKERS, "nthreads": 1, "memory": "1536MiB"},
        "jupyter": {"image": images["ml"], "password_hash": password_hash(PASSWORD),
                    "notebooks_path": NOTEBOOKS_PATH},
        "exposure": {"scheduler_ip": "10.147.17.200", "jupyter_ip": "10.147.17.201", "jupyter_service_port": 80,
                     "source_ranges": ["10.147.17.0/24"]},
        "labels": {"app.kubernetes.io/managed-by": "daskmetal"},
        "kubernetes": {"monitors": True, "monitor_labels": {"release": "kube-prometheus-stack"}},
    }


def role_manifests(images: dict[str, str]) -> list[dict]:
    dask_k8s_manifests, _ = _collection_filters()
    return artifact_configmaps() + dask_k8s_manifests(role_spec(images))


def scheduler_workers(lab, cluster: str = CLUSTER) -> list[str]:
    """Worker names the scheduler holds, asked over its comm port from the host (as the operator's RPC does)."""
    from distributed import Client

    ip = lab.pods("scheduler", cluster)[0].ip
    with Client(f"tcp://{ip}:8786", timeout=30) as client:
        return sorted(w["name"] for w in client.scheduler_info(n_workers=-1)["workers"].values())


def wait_for(predicate, what: str, timeout: float = 120, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def wait_workers(lab, names: list[str], timeout: float = 120, cluster: str = CLUSTER) -> list[str]:
    seen: list[str] = []

    def ok():
        seen[:] = scheduler_workers(lab, cluster)
        return seen == sorted(names)
    try:
        wait_for(ok, f"scheduler workers == {sorted(names)}", timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the scheduler holds {seen}; worker log:\n"
                             + "".join(lab.kubelet.logs(p) for p in lab.pods("worker", cluster))) from None
    return seen


def worker_deployments(lab, cluster: str = CLUSTER) -> list[str]:
    return sorted(d["metadata"]["name"] for d in lab.store.list(
        "Deployment", {"dask.org/component": "worker", "dask.org/cluster-name": cluster}))


def wait_all_ready(lab) -> None:
    for component in ("scheduler", "worker", None):
        for pod in lab.pods(component):
            lab.kubelet.wait_ready(pod, timeout=240)


@pytest.fixture(scope="module")
def cluster(images):
    with operator_lab(NAMESPACE, proxy_image=images["dask"]) as lab:
        lab.skipped = lab.apply(role_manifests(images))
        wait_all_ready(lab)
        wait_workers(lab, worker_deployments(lab))
        yield lab


def jupyter_pod(lab):
    (pod,) = [p for p in lab.pods() if p.labels.get("app.kubernetes.io/name") == "jupyter"]
    return pod


def test_operator_created_the_cluster_objects_it_documents(cluster):
    """The operator's handlers made one scheduler Deployment + Service and N worker Deployments; each worker runs
    `--name <its Deployment>` ($(DASK_WORKER_NAME) as the operator sets it, expanded as the kubelet does) against the
    Service's in-cluster DNS name, which resolves to the scheduler pod on the lab network."""
    assert ("Service", f"{CLUSTER}-scheduler") in cluster.store.objects
    assert ("Deployment", f"{CLUSTER}-scheduler") in cluster.store.objects
    assert len(worker_deployments(cluster)) == N_WORKERS
    fqdn = f"{CLUSTER}-scheduler.{NAMESPACE}.svc.cluster.local"
    for pod in cluster.pods("worker", CLUSTER):
        argv = pod.commands["worker"]
        assert argv[argv.index("--name") + 1] == pod.deployment == pod.env["worker"]["DASK_WORKER_NAME"]
        assert f"tcp://{fqdn}:8786" in argv and pod.env["worker"]["DASK_SCHEDULER_ADDRESS"] == f"tcp://{fqdn}:8786"
    assert cluster.kubelet.resolve(fqdn) == cluster.pods("scheduler", CLUSTER)[0].ip
    assert sorted(cluster.skipped) == sorted(
        [f"ServiceAccount/{CLUSTER}-jupyter", f"Role/{CLUSTER}-jupyter", f"RoleBinding/{CLUSTER}-jupyter",
         f"PodMonitor/{CLUSTER}-scheduler", f"PodMonitor/{CLUSTER}-workers"])


def prometheus_config(lab) -> str:
    """The scrape jobs the Prometheus Operator makes of the role's PodMonitors (job label <namespace>/<name>), with
    the targets found as its kubernetes_sd would: pods matching spec.selector.matchLabels in the namespaceSelector,
    the endpoint's `port` looked up by name in the pod's container ports, its path. Interval 2s for the test."""
    jobs = []
    for pm in [o for o in lab.monitors]:
        ep = pm["spec"]["podMetricsEndpoints"][0]
        assert pm["spec"]["namespaceSelector"]["matchNames"] == [NAMESPACE]
        targets = []
        for pod in lab.pods():
            if not selector_matches(pm["spec"]["selector"]["matchLabels"], pod.labels):
                continue
            ports = {p["name"]: p["containerPort"] for c in pod.spec["containers"] for p in c.get("ports") or []}
            targets.append(f"{pod.ip}:{ports[ep['port']]}")
        jobs.append({"job_name": f"{NAMESPACE}/{pm['metadata']['name']}", "metrics_path": ep["path"],
                     "scrape_interval": "2s", "static_configs": [{"targets": targets}]})
    return json.dumps({"global": {"scrape_interval": "2s"}, "scrape_configs": jobs})


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def test_prometheus_scrapes_scheduler_and_every_worker(cluster, images):
    """Prometheus (the lab image) scrapes what the role's PodMonitors select: the scheduler and every worker are up and
    the scheduler's own dask_scheduler_workers says N."""
    tmp = tempfile.mkdtemp(prefix=PREFIX)
    path = os.path.join(tmp, "prometheus.yml")
    with open(path, "w") as fh:
        fh.write(prometheus_config(cluster))  # JSON is YAML
    os.chmod(tmp, 0o755)
    os.chmod(path, 0o644)
    name, ip = f"{cluster.kubelet.network}-prometheus", cluster.kubelet.allocate_ip()
    subprocess.run(["docker", "run", "-d", "--name", name, "--label", f"io.daskmetal.oppods={cluster.kubelet.run_id}",
                    "--network", cluster.kubelet.network, "--ip", ip, "-v", f"{path}:/etc/prometheus/prometheus.yml:ro",
                    images["prometheus"]], check=True, capture_output=True)
    want = [(f"{NAMESPACE}/{CLUSTER}-scheduler", "up")] + [(f"{NAMESPACE}/{CLUSTER}-workers", "up")] * N_WORKERS
    try:
        seen: dict = {}

        def up():
            try:
                targets = _get_json(f"http://{ip}:9090/api/v1/targets?state=active")["data"]["activeTargets"]
                q = urllib.parse.quote("sum(dask_scheduler_workers)")
                res = _get_json(f"http://{ip}:9090/api/v1/query?query={q}")["data"]["result"]
            except OSError:
                return False
            seen["targets"] = sorted((t["labels"]["job"], t["health"]) for t in targets)
            seen["workers"] = float(res[0]["value"][1]) if res else None
            return seen["targets"] == want and seen["workers"] == N_WORKERS
        try:
            wait_for(up, "Prometheus targets up and sum(dask_scheduler_workers) == N", timeout=120, every=2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {seen}") from None
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


JUPYTER_LOGIN = """
import json, os, sys
sys.path.insert(0, "/opt/e2e")
from compose_stack_check import _login
url, notebooks = sys.argv[1], sys.argv[2]
password = os.environ["JUPYTER_PASSWORD"]
wrong = _login(url, password + "-wrong")[0]
status, location, opener = _login(url, password)
seen = {"wrong_password_status": wrong, "login_status": status, "login_location": location}
if status == 302:
    with opener.open(url + "/api/contents/" + notebooks, timeout=10) as resp:
        seen["notebooks"] = sorted(i["name"] for i in json.load(resp)["content"])
print(json.dumps(seen))
"""


def test_jupyterlab_login_over_http_from_another_pod(cluster, images):
    """From another container, through the JupyterLab Service's port (80 -> targetPort http) by its DNS name: a wrong
    password is refused, the vault password (its hash in the role's config Secret) logs in, and the seed notebooks
    are listed where the role mounts them."""
    url = f"http://{CLUSTER}-jupyter.{NAMESPACE}.svc.cluster.local:80"
    out = subprocess.run(
        ["docker", "run", "--rm", "--label", f"io.daskmetal.oppods={cluster.kubelet.run_id}",
         "--network", cluster.kubelet.network, "-e", f"JUPYTER_PASSWORD={PASSWORD}",
         "-v", f"{os.path.dirname(os.path.abspath(__file__))}:/opt/e2e:ro", "--entrypoint", "python3",
         images["dask"], "-c", JUPYTER_LOGIN, url, os.path.relpath(NOTEBOOKS_PATH, "/home/jovyan")],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["wrong_password_status"] != 302, seen
    assert (seen["login_status"], seen["login_location"].endswith("/lab")) == (302, True), seen
    assert seen["notebooks"] == sorted(os.listdir(os.path.join(ROOT, "artifacts", "notebooks"))), seen


def test_seed_notebooks_run_in_the_jupyterlab_pod_on_the_operator_pods(cluster):
    """The three seed notebooks, as the role mounts them, executed by nbclient in the JupyterLab pod's own kernel (ML
    image) against the operator's scheduler and workers (ML image), through DASK_SCHEDULER_ADDRESS (the Service's
    in-cluster name); checked as compose_e2e checks them (tests/e2e/stack_notebooks.py): the exact array mean with its
    task graph, TPOT (small budget) above chance with the same ML packages on kernel and workers, ParallelPostFit
    equal to plain scikit-learn."""
    from distributed import Client

    pod = jupyter_pod(cluster)
    names = sorted(os.listdir(os.path.join(ROOT, "artifacts", "notebooks")))
    # The workers import the ML stack once, before the search, as a worker that has run any ML job has: on the lab's
    # 2-core host under the parallel CI load the first `import tpot` (xgboost, lightgbm, optuna) on a 1-thread worker
    # takes longer than the notebook's 30 s per-pipeline budget (TPOT then fails with "No individuals could be
    # evaluated in the initial population").
    with Client(f"tcp://{cluster.pods('scheduler', CLUSTER)[0].ip}:8786", timeout=30) as client:
        client.run(exec, "import sklearn.pipeline, dask_ml.wrappers, tpot", {})
    with open(stack_notebooks.RUNNER, "rb") as fh:
        runner = fh.read()
    # one runner (and kernel) per notebook, at the same time, as three users of the JupyterLab would: TPOT's search
    # is bounded by wall-clock time, so the others run during it instead of after it
    from concurrent.futures import ThreadPoolExecutor

    def run(name: str) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "exec", "-i", pod.containers["jupyter"], "python", "-", NOTEBOOKS_PATH, name],
                              input=runner, capture_output=True, timeout=1800)
    results = {}
    with ThreadPoolExecutor(len(names)) as pool:
        for proc in pool.map(run, names):
            assert proc.returncode == 0, proc.stderr.decode()[-3000:]
            results.update(json.loads(proc.stdout.decode().strip().splitlines()[-1]))
    assert sorted(results) == names
    assert stack_notebooks.check_all(results, N_WORKERS) == [], json.dumps(results, indent=1)


NOTEBOOK_CLUSTER = "oppods-nb"


class RecordingKubeCluster:
    """Takes what daskmetal_workloads.start_cluster hands to dask_kubernetes.operator.KubeCluster (no API server
    here to send it to; tests/kubernetes_layer/test_jupyter_rbac.py runs the real KubeCluster against the API double
    and JupyterLab's Role)."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs


def test_a_notebooks_own_cluster_from_the_role_template_runs_and_computes(cluster):
    """start_cluster(name, n_workers) from the template the role mounts in JupyterLab (its ConfigMap, as applied):
    the operator's handlers make a scheduler and a worker of the platform's own processes (ML image), which start
    (probes), join, and compute the exact array mean; the new scheduler's in-cluster Service name resolves to it on
    the lab network (how JupyterLab's KubeCluster reaches it); deleting the DaskCluster (KubeCluster.close) stops its pods and leaves
    the shared cluster alone."""
    sys.path.insert(0, os.path.join(ROOT, "artifacts", "workloads"))
    from daskmetal_workloads import cluster as nbc

    cm = cluster.store.objects[("ConfigMap", f"{CLUSTER}-notebook-cluster")]
    template = json.loads(cm["data"][os.path.basename(nbc.DEFAULT_TEMPLATE)])
    call = nbc.start_cluster(NOTEBOOK_CLUSTER, n_workers=1, namespace=NAMESPACE, template=template,
                             kube_cluster=RecordingKubeCluster)
    assert call.kwargs["shutdown_on_close"] is True and call.kwargs["namespace"] == NAMESPACE
    shared_pods = {p.name for p in cluster.pods(cluster=CLUSTER)}
    cluster.create_cluster(call.kwargs["custom_cluster_spec"])
    try:
        for pod in cluster.pods(cluster=NOTEBOOK_CLUSTER):
            cluster.kubelet.wait_ready(pod, timeout=240)
        wait_workers(cluster, worker_deployments(cluster, NOTEBOOK_CLUSTER), cluster=NOTEBOOK_CLUSTER)
        # the notebook's client reaches it by the Service's in-cluster name (resolved on the lab network as CoreDNS
        # would); the computation is driven from the host to the same scheduler, which saves a Python start in a pod
        fqdn = f"{NOTEBOOK_CLUSTER}-scheduler.{NAMESPACE}.svc.cluster.local"
        (sched,) = cluster.pods("scheduler", NOTEBOOK_CLUSTER)
        assert cluster.kubelet.resolve(fqdn) == sched.ip
        sys.path.insert(0, os.path.join(ROOT, "artifacts", "workloads"))
        from daskmetal_workloads.smoke import array_mean_smoke
        from distributed import Client

        with Client(f"tcp://{sched.ip}:8786", timeout=30) as client:
            result = array_mean_smoke(client, min_workers=1, timeout=120)
        assert (result["result"], result["workers"]) == (result["expected"], 1) == ((2000 * 2000 - 1) / 2, 1)
    finally:
        gone = cluster.delete_cluster(NOTEBOOK_CLUSTER)
    assert f"DaskCluster/{NOTEBOOK_CLUSTER}" in gone and not cluster.pods(cluster=NOTEBOOK_CLUSTER)
    assert {p.name for p in cluster.pods(cluster=CLUSTER)} == shared_pods


def test_upstream_default_spec_of_a_bare_kubecluster_crash_loops(cluster, images):
    """The documented negative: make_cluster_spec's own defaults (`dask-scheduler`, `dask-worker`, removed in
    distributed 2026.6.0), what a notebook's bare `KubeCluster(name=..., image=...)` creates in dask-kubernetes
    2026.3.0 (kubecluster.py calls make_cluster_spec; make_scheduler_spec hard-codes `dask-scheduler`, kubernetes.yaml
    defaults kubernetes.worker-command to `dask-worker`), exit at once on the ML image (2026.8.0): the short-lived
    cluster needs the platform's template (custom_cluster_spec). The first exit is the verdict here (no back-off)."""
    from dask_kubernetes.operator import make_cluster_spec

    name = "oppods-upstream"
    cluster.kubelet.max_restarts = 0
    try:
        cluster.create_cluster(make_cluster_spec(name, image=images["ml"], n_workers=1))
        with pytest.raises(AssertionError, match=r"CrashLoopBackOff[\s\S]*exec dask-scheduler failed"):
            cluster.kubelet.wait_ready(cluster.pods("scheduler", name)[0], timeout=60)
    finally:
        cluster.kubelet.max_restarts = MAX_RESTARTS
        cluster.delete_cluster(name)


def test_operator_scales_the_worker_group_to_3_then_1(cluster):
    """daskworkergroup_replica_update for replicas 3 creates one more worker Deployment, whose pod joins; for 1 it
    asks the scheduler's HTTP API which workers to retire (retire_workers; the role enables
    distributed.http.scheduler.api), and deletes exactly those Deployments."""
    before = worker_deployments(cluster)
    cluster.scale(CLUSTER, 3)
    three = worker_deployments(cluster)
    assert len(three) == 3 and set(before) < set(three)
    for pod in cluster.pods("worker", CLUSTER):
        cluster.kubelet.wait_ready(pod, timeout=240)
    assert wait_workers(cluster, three) == three
    mark, log_mark = len(cluster.store.events), len(cluster.log)
    cluster.scale(CLUSTER, 1)
    one = worker_deployments(cluster)
    deleted = {n for verb, kind, n in cluster.store.events[mark:] if (verb, kind) == ("delete", "Deployment")}
    assert len(one) == 1 and deleted == set(three) - set(one)
    graceful = [m for m in cluster.log[log_mark:] if m.startswith("Retired workers")]
    assert graceful, cluster.log[log_mark:]  # not the Dask RPC nor the LIFO fallback
    assert wait_workers(cluster, one) == one  # the last test of the module: the cluster is not scaled back
