"""The dask role against a Kubernetes API double and a recording helm, driven by the real modules.

ansible-playbook runs the role (its install path through tests/services/playbooks/dask_install.yml, and
playbooks/scale_dask.yml) on localhost. The bundled kubernetes.core.helm drives tests/doubles/helm_recorder.py as
its `helm` binary, so the argv checked is the one the module really builds; the k8s / k8s_info tasks talk to
tests/doubles/kube_api.py through the real kubernetes client, so the objects and PATCH bodies checked are the ones
the client really sends. The operator itself does not run here: what it would create (scheduler Service, worker
pods) is seeded.
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.doubles.kube_api import KubeDouble

from .conftest import ROOT

RECORDER = ROOT / "tests" / "doubles" / "helm_recorder.py"
VENV_BIN = Path(sys.executable).parent
NODES = [{"vcpus": 16, "memory_mb": 64000}, {"vcpus": 16, "memory_mb": 64000}]
DASK_API = "/apis/kubernetes.dask.org/v1/namespaces/dask"
INSTALL = {"daskmetal_plan_derived": {"services": {"dask_scheduler": "10.20.0.240", "jupyter": "10.20.0.241"},
                                      "network": {"cidr": "10.20.0.0/24"}},
           "vault_jupyter_password": "not-the-real-one-42", "dask_worker_replicas": 4,
           "dask_worker_node_capacity": NODES}
pytestmark = pytest.mark.slow


# ---- objects as the apiserver / the operator would hold them --------------------------------------------------

def operator_deployment(name="dask-kubernetes-operator", available="True"):
    # kubernetes/api@v0.33.6 apps/v1/types.go DeploymentCondition {type: Available, status}.
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "dask-operator"},
            "spec": {"replicas": 1},
            "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 1,
                       "conditions": [{"type": "Available", "status": available,
                                       "reason": "MinimumReplicasAvailable"}]}}


def crd(plural, versions=("v1",)):
    # The chart's crds/<kind>.yaml (name <plural>.kubernetes.dask.org, versions[].name/served/storage) as the
    # apiserver reports it once established (apiextensions/v1 CustomResourceDefinitionCondition Established).
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.kubernetes.dask.org"},
            "spec": {"group": "kubernetes.dask.org", "scope": "Namespaced",
                     "versions": [{"name": v, "served": True, "storage": True} for v in versions]},
            "status": {"conditions": [{"type": "Established", "status": "True"}]}}


def lb_service(name, ip):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "dask"},
            "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}


def cluster(replicas):
    """A DaskCluster as the role applied it (an excerpt: scheduler and worker specs are kept as a whole)."""
    return {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskCluster",
            "metadata": {"name": "dask", "namespace": "dask", "labels": {"app.kubernetes.io/managed-by": "daskmetal"}},
            "spec": {"worker": {"replicas": replicas, "spec": {"containers": [
                         {"name": "worker", "image": "ghcr.io/dask/dask:2026.8.0-py3.11",
                          "args": ["dask", "worker", "tcp://dask-scheduler.dask.svc.cluster.local:8786"]}]}},
                     "scheduler": {"spec": {"containers": [{"name": "scheduler",
                                                            "image": "ghcr.io/dask/dask:2026.8.0-py3.11",
                                                            "args": ["dask", "scheduler"]}]},
                                   "service": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.20.0.0/24"]}}},
            "status": {"phase": "Running"}}


def worker_group(replicas):
    # controller.py build_default_worker_group_spec: <cluster>-default, spec.cluster, spec.worker (with replicas)
    return {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskWorkerGroup",
            "metadata": {"name": "dask-default", "namespace": "dask"},
            "spec": {"cluster": "dask", "worker": {"replicas": replicas, "spec": {"containers": [{"name": "worker"}]}}}}


def autoscaler(minimum=1, maximum=20):
    return {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskAutoscaler",
            "metadata": {"name": "dask", "namespace": "dask"},
            "spec": {"cluster": "dask", "minimum": minimum, "maximum": maximum}}


def worker_pods(n):
    # controller.py build_worker_deployment_spec labels; core/v1 PodCondition {type: Ready, status}.
    return [{"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": f"dask-default-worker-{i:010x}-1-1", "namespace": "dask",
                          "labels": {"dask.org/cluster-name": "dask", "dask.org/workergroup-name": "dask-default",
                                     "dask.org/component": "worker"}},
             "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}} for i in range(n)]


# ---- running the play -------------------------------------------------------------------------------------------

def run(tmp_path, kube, playbook, extra, releases=(), rc=0, args=()):
    """ansible-playbook PLAYBOOK against the doubles, with an inventory that has a cluster (rke2_servers); the
    recorder's calls (one dict per helm call), the releases afterwards, and the play's output."""
    kubeconfig = tmp_path / "kubeconfig.yaml"
    kubeconfig.write_text(yaml.safe_dump(kube.kubeconfig()))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"rke2_servers": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}}}))
    log, state = tmp_path / "helm.jsonl", tmp_path / "releases.json"
    state.write_text(json.dumps({"releases": list(releases)}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory",
               PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", TMPDIR=str(tmp_path),
               HELM_RECORDER_LOG=str(log), HELM_RECORDER_STATE=str(state), KUBECONFIG=str(tmp_path / "none"),
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    extra = dict(extra, dask_kubeconfig=str(kubeconfig), dask_helm_binary=str(RECORDER))
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), playbook, "-e", json.dumps(extra), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == rc, proc.stdout[-4000:] + proc.stderr[-2000:]
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return calls, json.loads(state.read_text())["releases"], proc.stdout


def deploys(calls):
    """The install/upgrade calls: argv after the global flags (`helm --version=X --repo=Y upgrade -i ...`)."""
    return [c for c in calls if {"upgrade", "install"} & set(c["argv"])]


def dask_writes(kube):
    """Writes to the operator's objects; a PATCH body without the identity kubernetes.core adds to it (apiVersion,
    kind, metadata name/namespace: equal to the object's own, so a merge patch changes nothing with them)."""
    out = []
    for m, p, ct, b in kube.writes:
        if p.startswith(DASK_API):
            if m == "PATCH":
                kind, name = p.rsplit("/", 2)[-2:]
                b = dict(b)
                assert b.pop("apiVersion") == "kubernetes.dask.org/v1"
                assert b.pop("kind").lower() + "s" == kind
                assert b.pop("metadata") == {"name": name, "namespace": "dask"}
            out.append((m, p, ct, b))
    return out


def stored(kube, plural, name):
    return kube.objects[("kubernetes.dask.org/v1", plural, "dask", name)]


# ---- install ----------------------------------------------------------------------------------------------------

def install_seed(crd_versions=("v1",)):
    return [operator_deployment(), crd("daskclusters", crd_versions), crd("daskautoscalers", crd_versions),
            lb_service("dask-scheduler", "10.20.0.240"), lb_service("dask-jupyter", "10.20.0.241")]


def test_install_builds_the_operator_chart_flags_and_applies_the_cluster(tmp_path):
    with KubeDouble(seed=install_seed()) as kube:
        calls, releases, _ = run(tmp_path, kube, "tests/services/playbooks/dask_install.yml", INSTALL)
        created = {key[1:] for key in kube.objects}
        assert ("GET", "/apis/apps/v1/namespaces/dask-operator/deployments/dask-kubernetes-operator") in kube.requests
    [up] = deploys(calls)
    argv = up["argv"]
    print("install argv:", argv)
    # kubernetes.core 6.2.0 plugins/modules/helm.py deploy(): global --version/--repo, then upgrade -i with
    # --reset-values (its default), --create-namespace, --wait --timeout, name and chart last.
    assert argv[:2] == ["--version=2026.3.0", "--repo=https://helm.dask.org"]
    assert argv[2:5] == ["upgrade", "-i", "--reset-values"]
    assert "--create-namespace" in argv and "--wait" in argv and argv[argv.index("--timeout") + 1] == "300s"
    assert argv[-2:] == ["dask-kubernetes-operator", "dask-kubernetes-operator"]
    assert up["HELM_NAMESPACE"] == "dask-operator"
    assert json.loads(up["kubeconfig"])["clusters"][0]["cluster"]["server"] == kube.url
    assert releases[0]["chart"] == "dask-kubernetes-operator-2026.3.0"
    assert {("daskclusters", "dask", "dask"), ("deployments", "dask", "dask-jupyter"),
            ("secrets", "dask", "dask-jupyter-config"),
            ("roles", "dask", "dask-jupyter"), ("rolebindings", "dask", "dask-jupyter"),
            ("serviceaccounts", "dask", "dask-jupyter"), ("podmonitors", "dask", "dask-scheduler"),
            ("configmaps", "dask", "dask-workloads"), ("namespaces", "", "dask")} <= created
    assert not any(p == "daskautoscalers" for p, _, _ in created)  # adaptive off by default
    dc = stored(kube, "daskclusters", "dask")
    assert dc["spec"]["worker"]["replicas"] == 4
    assert "not-the-real-one-42" not in json.dumps(kube.writes) + json.dumps(calls)


def test_install_twice_changes_nothing_the_second_time(tmp_path):
    """The password hash is read back from the Secret and kept; the helm release is not upgraded again."""
    with KubeDouble(seed=install_seed()) as kube:
        run(tmp_path, kube, "tests/services/playbooks/dask_install.yml", INSTALL)
        first, objects = len(kube.writes), copy.deepcopy(kube.objects)
        (tmp_path / "helm.jsonl").unlink()
        releases = json.loads((tmp_path / "releases.json").read_text())["releases"]
        calls, after, out = run(tmp_path, kube, "tests/services/playbooks/dask_install.yml", INSTALL, releases)
        again = kube.writes[first:]
        assert kube.objects == objects  # every object as it was, resourceVersion included: nothing was written
    assert deploys(calls) == [] and after[0]["revision"] == 1
    assert {m for m, _, _, _ in again} <= {"PATCH"}  # kubernetes.core apply/present patch what exists
    assert "changed=0" in out.split("PLAY RECAP")[-1]


def test_install_adaptive_creates_the_autoscaler(tmp_path):
    extra = dict(INSTALL, dask_adaptive_enabled=True, dask_adaptive_minimum=2, dask_adaptive_maximum=15)
    with KubeDouble(seed=install_seed()) as kube:
        run(tmp_path, kube, "tests/services/playbooks/dask_install.yml", extra)
        a = stored(kube, "daskautoscalers", "dask")
    # named like the cluster: the DaskAutoscaler that KubeCluster.scale() deletes and .adapt() patches
    assert a["spec"] == {"cluster": "dask", "minimum": 2, "maximum": 15}


def test_install_in_check_mode_on_an_empty_cluster_writes_nothing(tmp_path):
    """--check before the first install: no operator, no CRDs yet; the play passes and nothing is written."""
    with KubeDouble() as kube:
        calls, releases, _ = run(tmp_path, kube, "tests/services/playbooks/dask_install.yml", INSTALL,
                                 args=["--check"])
        assert kube.objects == {}
        # kubernetes.core 6.2 in check mode asks for a server-side dry run (module_utils/k8s/core.py
        # server_side_dry_run, client.py K8S_SERVER_DRY_RUN "All") on every write
        writes = [r for r in kube.requests if r[0] in ("POST", "PATCH", "PUT", "DELETE")]
        assert writes and all("dryRun=All" in p for _, p in writes), writes
        # the operator's custom resources are not sent: their CRDs do not exist yet
        assert not any("kubernetes.dask.org" in p for _, p in writes)
    assert deploys(calls) == [] and releases == []


def test_install_refuses_crds_that_do_not_serve_v1(tmp_path):
    with KubeDouble(seed=install_seed(crd_versions=("v1beta1",))) as kube:
        _, _, out = run(tmp_path, kube, "tests/services/playbooks/dask_install.yml", INSTALL, rc=2)
        assert not any(p == "daskclusters" for (_, p, _, _) in kube.objects)
    assert "does not serve kubernetes.dask.org/v1" in out


# ---- scale ------------------------------------------------------------------------------------------------------

def test_scale_patches_only_the_worker_count(tmp_path):
    before = cluster(3)
    with KubeDouble(seed=[copy.deepcopy(before), worker_group(3), *worker_pods(15)]) as kube:
        calls, _, _ = run(tmp_path, kube, "playbooks/scale_dask.yml", {"dask_worker_replicas": 15})
        writes = dask_writes(kube)
        after = stored(kube, "daskclusters", "dask")
    assert calls == []  # no helm at all
    print("scale writes:", writes)
    # kubernetes.core k8s state=patched merge_type=merge: one JSON merge patch (RFC 7386) with the count only
    assert writes == [("PATCH", f"{DASK_API}/daskclusters/dask", "application/merge-patch+json",
                       {"spec": {"worker": {"replicas": 15}}})]
    expected = copy.deepcopy(before)
    expected["spec"]["worker"]["replicas"] = 15
    assert {k: after[k] for k in ("spec", "status")} == {k: expected[k] for k in ("spec", "status")}


def test_scale_to_the_current_count_changes_nothing(tmp_path):
    with KubeDouble(seed=[cluster(15), worker_group(15), *worker_pods(15)]) as kube:
        run(tmp_path, kube, "playbooks/scale_dask.yml", {"dask_worker_replicas": 15})
        assert dask_writes(kube) == []


def test_scale_sets_the_worker_group_when_only_it_differs(tmp_path):
    """Scaled from a notebook (KubeCluster.scale patches the DaskWorkerGroup): the DaskCluster already says 15."""
    with KubeDouble(seed=[cluster(15), worker_group(4), *worker_pods(15)]) as kube:
        run(tmp_path, kube, "playbooks/scale_dask.yml", {"dask_worker_replicas": 15})
        writes = dask_writes(kube)
    assert writes == [("PATCH", f"{DASK_API}/daskworkergroups/dask-default", "application/merge-patch+json",
                       {"spec": {"worker": {"replicas": 15}}})]


def test_scale_refuses_without_a_daskcluster(tmp_path):
    with KubeDouble() as kube:
        _, _, out = run(tmp_path, kube, "playbooks/scale_dask.yml", {"dask_worker_replicas": 15}, rc=2)
        assert dask_writes(kube) == []
    assert "No DaskCluster dask in namespace dask: run playbooks/dask.yml first." in out


def test_scale_refuses_while_the_autoscaler_owns_the_count(tmp_path):
    with KubeDouble(seed=[cluster(3), worker_group(3), autoscaler()]) as kube:
        _, _, out = run(tmp_path, kube, "playbooks/scale_dask.yml", {"dask_worker_replicas": 15}, rc=2)
        assert dask_writes(kube) == []
    assert "DaskAutoscaler dask (minimum 1, maximum 20) owns the worker count" in out


def test_scale_disabling_adaptive_deletes_the_autoscaler_first(tmp_path):
    with KubeDouble(seed=[cluster(3), worker_group(3), autoscaler(), *worker_pods(15)]) as kube:
        run(tmp_path, kube, "playbooks/scale_dask.yml",
            {"dask_worker_replicas": 15, "dask_scale_disable_adaptive": True})
        writes = [(m, p) for m, p, _, _ in dask_writes(kube)]
    assert writes == [("DELETE", f"{DASK_API}/daskautoscalers/dask"), ("PATCH", f"{DASK_API}/daskclusters/dask")]
