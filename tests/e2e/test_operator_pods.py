"""The pods the Dask Kubernetes Operator creates from the role's DaskCluster, run for real in the lab
(tests/e2e/operator_pods.py).

The role's manifests (filter daskmetal.platform.dask_k8s_manifests, as roles/dask applies them, plus the two ConfigMaps
of roles/dask/templates/artifacts.yaml.j2) go to the operator's own handlers (dask-kubernetes 2026.3.0,
dask_kubernetes/operator/controller/controller.py), which turn the DaskCluster into Deployments and a Service; those
pod templates and the role's own JupyterLab Deployment run as Docker containers from the lab images on a lab network
where the Service names resolve as CoreDNS would. Checked there: every startup/readiness probe, the seed's array-mean
smoke workload from the JupyterLab pod and from a client pod (exact result), Prometheus (lab image) scraping the
scheduler and every worker as the role's PodMonitors select them, the JupyterLab login over HTTP from another
container through the Service port, and the operator's worker-group handler scaling the default group to 3 and back to
1 (the scheduler retires exactly the Deployments the operator deletes).

What stays unproven without an API server: admission (CRD schema validation, defaulting, RBAC: the JupyterLab Role is
not exercised, nor `KubeCluster.from_name(...).scale()/.adapt()` from a notebook, which need the API), the kopf event
flow itself (the handlers are called in the order kopf calls them), ownerReferences and garbage collection,
Deployment/ReplicaSet rollouts and restarts, liveness probes, the real ClusterIP/kube-proxy (the Service name resolves
to the pod, or to a forwarder where the port is remapped), the LoadBalancer/MetalLB address and
loadBalancerSourceRanges, the Prometheus Operator turning PodMonitors into scrape configs (done here by the test from
the PodMonitor's selector and port name), and the DaskAutoscaler's timer.
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

from tests.e2e import stack_images
from tests.e2e.operator_pods import PREFIX, operator_lab, selector_matches

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
    """The lab images of tests/e2e/stack_images.py (Dask, notebook, Prometheus), by its recipe hashes; built if
    missing (no push: the lab registry is not needed here)."""
    if not _docker_ok():
        pytest.skip("no Docker engine (the lab tests need scripts/lab-prereqs)")
    si, base = stack_images, stack_images._base_recipe().encode()
    d, n, p = (os.path.join(si.IMAGES, x) for x in ("dask", "notebook", "prometheus"))
    constraints = os.path.join(ROOT, "constraints.txt")
    dask_hash = si._digest(base, si._read(d, "Dockerfile"), si._read(d, "requirements.txt"), si._read(constraints))
    out = {"dask": f"daskmetal-lab/dask:{dask_hash}",
           "notebook": "daskmetal-lab/dask-notebook:" + si._digest(dask_hash.encode(), si._read(n, "Dockerfile"),
                                                                   si._read(n, "requirements.txt")),
           "prometheus": "daskmetal-lab/prometheus:" + si._digest(base, si._read(p, "Dockerfile"))}
    si._build(out["dask"], {"Dockerfile": os.path.join(d, "Dockerfile"),
                            "requirements.txt": os.path.join(d, "requirements.txt"),
                            "constraints.txt": constraints}, {"BASE": si.BASE})
    si._build(out["notebook"], {"Dockerfile": os.path.join(n, "Dockerfile"),
                                "requirements.txt": os.path.join(n, "requirements.txt")}, {"BASE": out["dask"]})
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
    """The spec roles/dask builds (vars/main.yml __dask_spec) with its defaults, for the lab: the lab images (so no
    EXTRA_PIP_PACKAGES, as for the project's own image), 2 workers of 1 thread / 1 GiB, addresses of a plan."""
    _, password_hash = _collection_filters()
    return {
        "name": CLUSTER, "namespace": NAMESPACE, "image": images["dask"], "image_pull_policy": "IfNotPresent",
        "extra_pip_packages": [], "workloads_path": "/opt/daskmetal/workloads",
        "worker": {"replicas": N_WORKERS, "nthreads": 1, "memory": "1GiB"},
        "jupyter": {"image": images["notebook"], "password_hash": password_hash(PASSWORD),
                    "notebooks_path": NOTEBOOKS_PATH},
        "exposure": {"scheduler_ip": "10.147.17.200", "jupyter_ip": "10.147.17.201", "jupyter_service_port": 80,
                     "source_ranges": ["10.147.17.0/24"]},
        "labels": {"app.kubernetes.io/managed-by": "daskmetal"},
        "kubernetes": {"monitors": True, "monitor_labels": {"release": "kube-prometheus-stack"}},
    }


def role_manifests(images: dict[str, str]) -> list[dict]:
    dask_k8s_manifests, _ = _collection_filters()
    return artifact_configmaps() + dask_k8s_manifests(role_spec(images))


def scheduler_workers(lab) -> list[str]:
    """Worker names the scheduler holds, asked over its comm port from the host (as the operator's RPC does)."""
    from distributed import Client

    ip = lab.pods("scheduler")[0].ip
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


def wait_workers(lab, names: list[str], timeout: float = 120) -> list[str]:
    seen: list[str] = []

    def ok():
        seen[:] = scheduler_workers(lab)
        return seen == sorted(names)
    try:
        wait_for(ok, f"scheduler workers == {sorted(names)}", timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the scheduler holds {seen}; worker log:\n"
                             + "".join(lab.kubelet.logs(p) for p in lab.pods("worker"))) from None
    return seen


def worker_deployments(lab) -> list[str]:
    return sorted(d["metadata"]["name"] for d in lab.store.list("Deployment", {"dask.org/component": "worker"}))


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


def run_client_pod(lab, image: str, *cmd: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """A one-off pod on the lab network (like the role's validate Job), with the project's workloads package."""
    name = f"{lab.kubelet.network}-client"
    return subprocess.run(
        ["docker", "run", "--rm", "--name", name, "--label", f"io.daskmetal.oppods={lab.kubelet.run_id}",
         "--network", lab.kubelet.network,
         "-v", f"{os.path.join(ROOT, 'artifacts', 'workloads')}:/opt/workloads:ro", "-e", "PYTHONPATH=/opt/workloads",
         "--entrypoint", cmd[0], image, *cmd[1:]],
        capture_output=True, text=True, timeout=timeout)


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
    for pod in cluster.pods("worker"):
        argv = pod.commands["worker"]
        assert argv[argv.index("--name") + 1] == pod.deployment == pod.env["worker"]["DASK_WORKER_NAME"]
        assert f"tcp://{fqdn}:8786" in argv and pod.env["worker"]["DASK_SCHEDULER_ADDRESS"] == f"tcp://{fqdn}:8786"
    assert cluster.kubelet.resolve(fqdn) == cluster.pods("scheduler")[0].ip
    assert sorted(cluster.skipped) == sorted(
        [f"ServiceAccount/{CLUSTER}-jupyter", f"Role/{CLUSTER}-jupyter", f"RoleBinding/{CLUSTER}-jupyter",
         f"PodMonitor/{CLUSTER}-scheduler", f"PodMonitor/{CLUSTER}-workers"])


def _smoke_result(out: subprocess.CompletedProcess) -> dict:
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["result"] == result["expected"] == (2000 * 2000 - 1) / 2
    assert result["workers"] == N_WORKERS
    return result


def test_smoke_workload_exact_result_from_the_jupyterlab_pod(cluster):
    """The seed's array mean (daskmetal_workloads.smoke), run inside the role's JupyterLab pod with the pod's own
    PYTHONPATH (the workloads ConfigMap) and DASK_SCHEDULER_ADDRESS, is exact and ran on the operator's workers."""
    pod = jupyter_pod(cluster)
    out = subprocess.run(["docker", "exec", pod.containers["jupyter"], "sh", "-c",
                          'exec python -m daskmetal_workloads.smoke --scheduler "$DASK_SCHEDULER_ADDRESS" '
                          f"--min-workers {N_WORKERS} --timeout 120"], capture_output=True, text=True, timeout=300)
    _smoke_result(out)


def test_smoke_workload_exact_result_from_a_client_pod(cluster, images):
    """The same from a one-off pod (like the role's validate Job) to the Service DNS name."""
    address = f"tcp://{CLUSTER}-scheduler.{NAMESPACE}.svc.cluster.local:8786"
    _smoke_result(run_client_pod(cluster, images["dask"], "python", "-m", "daskmetal_workloads.smoke",
                                 "--scheduler", address, "--min-workers", str(N_WORKERS), "--timeout", "120"))


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


def test_operator_scales_the_worker_group_to_3_then_1(cluster):
    """daskworkergroup_replica_update for replicas 3 creates one more worker Deployment, whose pod joins; for 1 it
    asks the scheduler's HTTP API which workers to retire (retire_workers; the role enables
    distributed.http.scheduler.api), and deletes exactly those Deployments."""
    before = worker_deployments(cluster)
    cluster.scale(CLUSTER, 3)
    three = worker_deployments(cluster)
    assert len(three) == 3 and set(before) < set(three)
    wait_all_ready(cluster)
    assert wait_workers(cluster, three) == three
    mark, log_mark = len(cluster.store.events), len(cluster.log)
    cluster.scale(CLUSTER, 1)
    one = worker_deployments(cluster)
    deleted = {n for verb, kind, n in cluster.store.events[mark:] if (verb, kind) == ("delete", "Deployment")}
    assert len(one) == 1 and deleted == set(three) - set(one)
    graceful = [m for m in cluster.log[log_mark:] if m.startswith("Retired workers")]
    assert graceful, cluster.log[log_mark:]  # not the Dask RPC nor the LIFO fallback
    assert wait_workers(cluster, one) == one
    cluster.scale(CLUSTER, N_WORKERS)  # leave the module's cluster as the other tests expect it
    wait_all_ready(cluster)
    wait_workers(cluster, worker_deployments(cluster))


def test_removed_cli_of_the_operator_helper_defaults_fails(images):
    """The harness fails a DaskCluster on a command the image lacks: make_cluster_spec's own defaults
    (`dask-scheduler`, `dask-worker`, removed in distributed 2026.6.0) exit at once on the lab image (2026.8.0).
    These are also what a notebook's own `KubeCluster(name=..., image=...)` creates in dask-kubernetes 2026.3.0
    (kubecluster.py calls make_cluster_spec; make_scheduler_spec hard-codes `dask-scheduler`, kubernetes.yaml
    defaults kubernetes.worker-command to `dask-worker`): a short-lived cluster from a notebook needs
    `custom_cluster_spec`."""
    from dask_kubernetes.operator import make_cluster_spec

    with operator_lab(NAMESPACE) as lab:
        with pytest.raises(AssertionError, match=r"CrashLoopBackOff[\s\S]*exec dask-scheduler failed"):
            lab.create_cluster(make_cluster_spec(CLUSTER, image=images["dask"], n_workers=1))
            wait_all_ready(lab)
