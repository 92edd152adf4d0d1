"""The values roles/rancher_server tasks/helm.yml gives the rancher chart (review k8s-layer m11), as
kubernetes.core.helm hands them to helm: the bundled module drives tests/doubles/helm_recorder.py (on PATH as
`helm`), which keeps the values file the module writes.

A mirror (rancher_server_registry) is given as image.registry + image.repository, the chart's current fields
(rancher/rancher v2.12.3 chart/values.yaml:127-134), not the deprecated `rancherImage` (:136-139, "deprecated -
use `image.*` fields instead"). The chart joins them in chart/templates/_helpers.tpl:60-73 ("rancher.image":
defaultOrOverrideRegistry of image.registry with a trailing slash, then image.repository, default
rancher/rancher; the tag defaults to .Chart.AppVersion, :79-81) and deployment.yaml:74 uses that image;
systemDefaultRegistry (:159-173, deployment.yaml:135-137) stays for the system images. No helm binary and no chart
repository are reachable here, so the chart is not rendered: the keys are checked against those lines.
"""
import json
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VENV_BIN = os.path.dirname(sys.executable)
RECORDER = os.path.join(ROOT, "tests", "doubles", "helm_recorder.py")


def _run(tmp_path, kube, registry):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(RECORDER, bindir / "helm")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(kube.kubeconfig()))
    log, state = tmp_path / "helm.jsonl", tmp_path / "releases.json"
    play = [{"hosts": "localhost", "gather_facts": False,
             "vars": {"rancher_server_mode": "helm", "rancher_server_hostname": "rancher.example.com",
                      "vault_rancher_bootstrap_password": "k8smin-test-bootstrap-4c1d22",
                      "rancher_server_helm_kubeconfig": str(kubeconfig), "rancher_server_registry": registry,
                      "rancher_server_url": "http://127.0.0.1:9", "rancher_server_ping_timeout": 10},
             "tasks": [{"ansible.builtin.import_role": {"name": "rancher_server", "tasks_from": "helm.yml"}}]}]
    playbook = tmp_path / "helm.yml"
    playbook.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory",
               PATH=f"{bindir}{os.pathsep}{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", TMPDIR=str(tmp_path),
               HELM_RECORDER_LOG=str(log), HELM_RECORDER_STATE=str(state),
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    # the chart repositories are not reachable here: start at the rancher chart (cert-manager is another release)
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
                           "--start-at-task", "Install the rancher chart",
                           "-e", json.dumps({"ansible_python_interpreter": sys.executable})],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    installs = [c for c in calls if "upgrade" in c["argv"] and "rancher-stable/rancher" in c["argv"]]
    assert len(installs) == 1, proc.stdout[-4000:] + proc.stderr[-2000:]
    # after the chart the role waits for Rancher's /ping, which nothing answers here
    assert "Wait for Rancher to answer /ping" in proc.stdout, proc.stdout[-3000:]
    (values,) = [yaml.safe_load(text) for text in installs[0]["values_files"].values()]
    return installs[0]["argv"], values


@pytest.mark.parametrize("registry", ["registry.example.com:5000", "docker.io"])
def test_rancher_chart_values_use_image_registry_not_the_deprecated_rancher_image(tmp_path, registry):
    from tests.doubles.kube_api import KubeDouble

    seed = [{"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"},
             "spec": {"controller": "k8s.io/ingress-nginx"}}]
    with KubeDouble(seed=seed) as kube:
        argv, values = _run(tmp_path, kube, registry)
    assert "--version=2.12.3" in argv, argv  # rancher_server_helm_chart_version
    assert "rancherImage" not in values, values
    assert values["hostname"] == "rancher.example.com" and values["ingress"] == {"tls": {"source": "rancher"}}
    if registry == "docker.io":  # the chart's defaults: docker.io/rancher/rancher:<appVersion>
        assert "image" not in values and "systemDefaultRegistry" not in values, values
    else:
        assert values["image"] == {"registry": registry, "repository": "rancher/rancher"}, values
        assert values["systemDefaultRegistry"] == registry
