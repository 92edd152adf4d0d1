"""The pods the Dask Kubernetes Operator creates from a DaskCluster, run for real in the lab (tests/e2e/operator_pods.py).

The operator's own handlers (dask-kubernetes 2026.3.0, dask_kubernetes/operator/controller/controller.py) turn the
DaskCluster into Deployments and a Service; their pod templates run as Docker containers from the lab Dask image on a
lab network where the Service names resolve as CoreDNS would. Checked there: the scheduler's readinessProbe, the
seed's array-mean smoke workload from a client pod (exact result), Prometheus (lab image) scraping the scheduler and
every worker by the pods' operator-set labels and port names, and the operator's worker-group handler scaling the
default group to 3 and back to 1 (the scheduler retires exactly the Deployments the operator deletes).

What stays unproven without an API server: admission (CRD schema validation, defaulting, RBAC), the kopf event flow
itself (the handlers are called in the order kopf calls them), ownerReferences and garbage collection, the
Deployment/ReplicaSet rollout and restarts, kube-proxy's ClusterIP (the Service name resolves to the pod IP directly),
the LoadBalancer/MetalLB address and loadBalancerSourceRanges, and the DaskAutoscaler's timer (its target comes from
the scheduler's adaptive_target, not exercised here).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from tests.e2e import stack_images
from tests.e2e.operator_pods import PREFIX, operator_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow,
              # the host venv and the lab image run different Python patch releases (3.11.7 / 3.11.2)
              pytest.mark.filterwarnings("ignore::distributed.versions.VersionMismatchWarning")]

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NAMESPACE = "daskmetal"
CLUSTER = "oppods"
N_WORKERS = 2


def _docker_ok() -> bool:
    return shutil.which("docker") is not None and subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    """The lab Dask and Prometheus images of tests/e2e/stack_images.py, by the same recipe hash (built if missing)."""
    if not _docker_ok():
        pytest.skip("no Docker engine (the lab tests need scripts/lab-prereqs)")
    base = stack_images._base_recipe().encode()
    d, p = os.path.join(stack_images.IMAGES, "dask"), os.path.join(stack_images.IMAGES, "prometheus")
    constraints = os.path.join(ROOT, "constraints.txt")
    dask = "daskmetal-lab/dask:" + stack_images._digest(
        base, stack_images._read(d, "Dockerfile"), stack_images._read(d, "requirements.txt"),
        stack_images._read(constraints))
    prom = "daskmetal-lab/prometheus:" + stack_images._digest(base, stack_images._read(p, "Dockerfile"))
    stack_images._build(dask, {"Dockerfile": os.path.join(d, "Dockerfile"),
                               "requirements.txt": os.path.join(d, "requirements.txt"),
                               "constraints.txt": constraints}, {"BASE": stack_images.BASE})
    stack_images._build(prom, {"Dockerfile": os.path.join(p, "Dockerfile")}, {"BASE": stack_images.BASE})
    return {"dask": dask, "prometheus": prom}


def operator_helper_cluster(image: str) -> dict:
    """The DaskCluster of the operator's own helper (dask_kubernetes.operator.make_cluster_spec, 2026.3.0), with the
    command lines distributed >= 2026.6.0 still has: `dask scheduler` / `dask worker` (the helper's defaults
    `dask-scheduler` / `dask-worker` were removed, dask/distributed#9240)."""
    from dask_kubernetes.operator import make_cluster_spec

    spec = make_cluster_spec(CLUSTER, image=image, n_workers=N_WORKERS, worker_command="dask worker")
    spec["spec"]["scheduler"]["spec"]["containers"][0]["args"] = ["dask", "scheduler", "--host", "0.0.0.0"]
    return spec


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


def start_cluster(lab, daskcluster: dict):
    lab.create_cluster(daskcluster)
    for pod in lab.pods("scheduler"):
        lab.kubelet.wait_ready(pod)
    for pod in lab.pods("worker"):
        lab.kubelet.wait_ready(pod)


@pytest.fixture(scope="module")
def cluster(images):
    with operator_lab(NAMESPACE) as lab:
        start_cluster(lab, operator_helper_cluster(images["dask"]))
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


def test_operator_created_the_cluster_objects_it_documents(cluster):
    """The operator's handlers made one scheduler Deployment + Service and N worker Deployments; each worker got the
    scheduler address the operator injects (the Service's in-cluster DNS name), and that name resolves to the
    scheduler pod on the lab network."""
    kinds = sorted((k, n) for (k, n) in cluster.store.objects)
    assert ("Service", f"{CLUSTER}-scheduler") in kinds and ("Deployment", f"{CLUSTER}-scheduler") in kinds
    assert len(worker_deployments(cluster)) == N_WORKERS
    fqdn = f"{CLUSTER}-scheduler.{NAMESPACE}.svc.cluster.local"
    for pod in cluster.pods("worker"):
        env = pod.env["worker"]
        assert env["DASK_SCHEDULER_ADDRESS"] == f"tcp://{fqdn}:8786"
        assert env["DASK_WORKER_NAME"] == pod.deployment
    assert cluster.kubelet.resolve(fqdn) == cluster.pods("scheduler")[0].ip


def test_smoke_workload_exact_result_from_a_client_pod(cluster, images):
    """The seed's array mean (daskmetal_workloads.smoke), submitted from a pod to the Service DNS name, is exact and
    ran on the operator's workers."""
    address = f"tcp://{CLUSTER}-scheduler.{NAMESPACE}.svc.cluster.local:8786"
    out = run_client_pod(cluster, images["dask"], "python", "-m", "daskmetal_workloads.smoke", "--scheduler",
                         address, "--min-workers", str(N_WORKERS), "--timeout", "120")
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["result"] == result["expected"] == (2000 * 2000 - 1) / 2
    assert result["workers"] == N_WORKERS


def prometheus_config(lab) -> str:
    """Scrape jobs as a PodMonitor would build them: pods selected by the labels the operator sets
    (controller.py build_scheduler_deployment_spec / build_worker_deployment_spec: dask.org/cluster-name,
    dask.org/component), the port by its name in the pod spec (http-dashboard), path /metrics."""
    jobs = []
    for job, component in (("dask-scheduler", "scheduler"), ("dask-workers", "worker")):
        targets = []
        for pod in lab.pods(component):
            if pod.labels.get("dask.org/cluster-name") != CLUSTER:
                continue
            ports = {p["name"]: p["containerPort"] for c in pod.spec["containers"] for p in c.get("ports") or []}
            targets.append(f"{pod.ip}:{ports['http-dashboard']}")
        jobs.append({"job_name": job, "metrics_path": "/metrics", "scrape_interval": "2s",
                     "static_configs": [{"targets": targets}]})
    return json.dumps({"global": {"scrape_interval": "2s"}, "scrape_configs": jobs})


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def test_prometheus_scrapes_scheduler_and_every_worker(cluster, images):
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
            return (seen["targets"] == [("dask-scheduler", "up")] + [("dask-workers", "up")] * N_WORKERS
                    and seen["workers"] == N_WORKERS)
        try:
            wait_for(up, "Prometheus targets up and sum(dask_scheduler_workers) == N", timeout=120, every=2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {seen}") from None
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def test_operator_scales_the_worker_group_to_3_then_1(cluster):
    """daskworkergroup_replica_update for replicas 3 creates one more worker Deployment, whose pod joins; for 1 it
    asks the scheduler which workers to retire (retire_workers), and deletes exactly those Deployments."""
    before = worker_deployments(cluster)
    cluster.scale(CLUSTER, 3)
    three = worker_deployments(cluster)
    assert len(three) == 3 and set(before) < set(three)
    for pod in cluster.pods("worker"):
        cluster.kubelet.wait_ready(pod)
    assert wait_workers(cluster, three) == three
    mark = len(cluster.store.events)
    cluster.scale(CLUSTER, 1)
    one = worker_deployments(cluster)
    deleted = {n for verb, kind, n in cluster.store.events[mark:] if (verb, kind) == ("delete", "Deployment")}
    assert len(one) == 1 and deleted == set(three) - set(one)
    assert wait_workers(cluster, one) == one
    cluster.scale(CLUSTER, N_WORKERS)  # leave the module's cluster as the other tests expect it
    wait_workers(cluster, worker_deployments(cluster))


def test_removed_cli_of_the_operator_helper_defaults_fails(images):
    """The harness fails a DaskCluster on a command the image lacks: make_cluster_spec's own defaults
    (`dask-scheduler`, `dask-worker`, removed in distributed 2026.6.0) exit at once on the lab image (2026.8.0)."""
    from dask_kubernetes.operator import make_cluster_spec

    with operator_lab(NAMESPACE) as lab:
        with pytest.raises(AssertionError, match=r"CrashLoopBackOff[\s\S]*exec dask-scheduler failed"):
            start_cluster(lab, make_cluster_spec(CLUSTER, image=images["dask"], n_workers=1))
