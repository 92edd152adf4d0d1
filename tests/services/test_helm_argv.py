"""The helm command lines kubernetes.core.helm really builds from the dask role's tasks.

ansible-playbook runs the role (playbooks/scale_dask.yml, and the role's install path) on localhost with the
bundled kubernetes.core.helm driving tests/doubles/helm_recorder.py as its `helm` binary; the k8s/k8s_info tasks
around it talk to tests/doubles/kube_api.py through the real kubernetes client. The assertions read the argv and
the values file the module handed to helm.
"""
from __future__ import annotations

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
# The release as a full `dask.yml` run leaves it (an excerpt of templates/values.yaml.j2's keys).
DEPLOYED = {
    "scheduler": {"image": {"repository": "ghcr.io/dask/dask", "tag": "2026.8.0"}, "serviceType": "LoadBalancer",
                  "serviceAnnotations": {"metallb.io/loadBalancerIPs": "10.20.0.240"}},
    "worker": {"image": {"repository": "ghcr.io/dask/dask", "tag": "2026.8.0"}, "replicas": 3,
               "threads_per_worker": 7},
    "jupyter": {"password": "argon2:$argon2id$v=19$m=10240,t=10,p=8$c2FsdA$aGFzaA"},
}
pytestmark = pytest.mark.slow


def deployment(name, ready):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "dask"},
            "spec": {"replicas": ready}, "status": {"replicas": ready, "readyReplicas": ready}}


def lb_service(name, ip):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "dask"},
            "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}


def run(tmp_path, kube, playbook, extra, releases=(), rc=0):
    """ansible-playbook PLAYBOOK against the doubles; the recorder's calls (one dict per helm call), the releases
    afterwards, and the play's output."""
    kubeconfig = tmp_path / "kubeconfig.yaml"
    kubeconfig.write_text(yaml.safe_dump(kube.kubeconfig()))
    log, state = tmp_path / "helm.jsonl", tmp_path / "releases.json"
    state.write_text(json.dumps({"releases": list(releases)}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory",
               PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", TMPDIR=str(tmp_path),
               HELM_RECORDER_LOG=str(log), HELM_RECORDER_STATE=str(state), KUBECONFIG=str(tmp_path / "none"),
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    extra = dict(extra, dask_kubeconfig=str(kubeconfig), dask_helm_binary=str(RECORDER),
                 ansible_python_interpreter=sys.executable)
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", playbook, "-e", json.dumps(extra)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == rc, proc.stdout[-4000:] + proc.stderr[-2000:]
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return calls, json.loads(state.read_text())["releases"], proc.stdout


def deploys(calls):
    """The install/upgrade calls: argv after the global flags (`helm --version=X --repo=Y upgrade -i ...`)."""
    return [c for c in calls if {"upgrade", "install"} & set(c["argv"])]


def values_of(call):
    files = list(call["values_files"].values())
    assert len(files) == 1, call["argv"]
    return yaml.safe_load(files[0])


def deployed(values):
    return {"name": "dask", "namespace": "dask", "chart": "dask-2024.1.1", "app_version": "2024.1.0",
            "revision": 1, "status": "deployed", "values": values}


def test_scale_keeps_every_other_value(tmp_path):
    # The worker Deployment as the cluster reports it once helm --wait returned.
    with KubeDouble(seed=[deployment("dask-worker", 15)]) as kube:
        calls, releases, _ = run(tmp_path, kube, "playbooks/scale_dask.yml", {"dask_worker_replicas": 15},
                                 [deployed(DEPLOYED)])
        assert ("GET", "/apis/apps/v1/namespaces/dask/deployments/dask-worker") in kube.requests
    [up] = deploys(calls)
    argv = up["argv"]
    print("scale argv:", argv)
    assert "--reset-values" not in argv  # helm: --reset-values wins over --reuse-values (cmd/helm/upgrade.go)
    assert "--reuse-values=True" in argv
    assert values_of(up) == {"worker": {"replicas": 15}}
    assert argv[:2] == ["--version=2024.1.1", "--repo=https://helm.dask.org"]
    assert argv[2:4] == ["upgrade", "-i"] and argv[-2:] == ["dask", "dask"]
    assert "--wait" in argv and argv[argv.index("--timeout") + 1] == "900s"
    assert up["HELM_NAMESPACE"] == "dask"
    assert json.loads(up["kubeconfig"])["clusters"][0]["cluster"]["server"] == kube.url
    # What the release holds afterwards, as helm computes it from those flags (pkg/action/upgrade.go).
    [after] = releases
    assert after["revision"] == 2
    assert after["values"] == dict(DEPLOYED, worker=dict(DEPLOYED["worker"], replicas=15))


def test_scale_to_the_current_count_changes_nothing(tmp_path):
    at_15 = dict(DEPLOYED, worker=dict(DEPLOYED["worker"], replicas=15))
    with KubeDouble(seed=[deployment("dask-worker", 15)]) as kube:
        calls, releases, _ = run(tmp_path, kube, "playbooks/scale_dask.yml", {"dask_worker_replicas": 15},
                                 [deployed(at_15)])
    assert deploys(calls) == [] and releases[0]["revision"] == 1


def test_scale_refuses_to_install_the_chart(tmp_path):
    with KubeDouble() as kube:
        calls, releases, out = run(tmp_path, kube, "playbooks/scale_dask.yml", {"dask_worker_replicas": 15}, rc=2)
    assert deploys(calls) == [] and releases == []
    assert "No Helm release dask in namespace dask: run playbooks/dask.yml first." in out


def test_install_passes_the_full_values(tmp_path):
    seed = [lb_service("dask-scheduler", "10.20.0.240"), lb_service("dask-jupyter-lb", "10.20.0.241"),
            deployment("dask-jupyter", 1)]
    extra = {"daskmetal_plan_derived": {"services": {"dask_scheduler": "10.20.0.240", "jupyter": "10.20.0.241"}},
             "vault_jupyter_password": "not-the-real-one-42", "dask_worker_replicas": 4,
             "dask_worker_node_capacity": NODES}
    with KubeDouble(seed=seed) as kube:
        calls, releases, _ = run(tmp_path, kube, "tests/services/playbooks/dask_install.yml", extra)
        created = {key[1:] for key in kube.objects}
    [up] = deploys(calls)
    argv = up["argv"]
    print("install argv:", argv)
    assert argv[:2] == ["--version=2024.1.1", "--repo=https://helm.dask.org"]
    assert argv[2:5] == ["upgrade", "-i", "--reset-values"]  # the full values, nothing kept from before
    assert not any(a.startswith("--reuse-values") for a in argv)
    assert "--wait" in argv and argv[argv.index("--timeout") + 1] == "900s"
    assert argv[-2:] == ["dask", "dask"] and up["HELM_NAMESPACE"] == "dask"
    values = values_of(up)
    assert values["worker"]["replicas"] == 4
    assert values["worker"]["image"] == {"repository": "ghcr.io/dask/dask", "tag": "2026.8.0",
                                         "pullPolicy": "IfNotPresent"}
    assert values["scheduler"]["serviceType"] == "LoadBalancer"
    assert values["scheduler"]["serviceAnnotations"] == {"metallb.io/loadBalancerIPs": "10.20.0.240"}
    assert values["jupyter"]["password"].startswith("argon2:")
    assert "not-the-real-one-42" not in json.dumps(up)
    assert releases[0]["values"] == values
    assert {("configmaps", "dask", "dask-seed-notebooks"), ("configmaps", "dask", "dask-workloads"),
            ("namespaces", "", "dask"), ("servicemonitors", "dask", "dask-scheduler")} <= created
