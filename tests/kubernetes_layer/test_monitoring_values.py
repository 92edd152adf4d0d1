"""kube-prometheus-stack values of the monitoring role: Prometheus history on a PersistentVolume, and no ServiceMonitors
for the RKE2 control-plane components that serve metrics on loopback only (review platform-services MINOR 10 and
"Not verified" on control-plane monitors; issue 12).

Consumers: the Kubernetes 1.33 OpenAPI schema (kubernetes-validate, strict) reads the PersistentVolumeClaim the
Prometheus operator makes from ``storageSpec.volumeClaimTemplate``; the chart's own key list (regenerated from
kube-prometheus-stack 88.5.3 by tests/services/chart_keys/generate.py) checks every values key.
"""
import json
import os
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

from tests.services.test_render import load_keys, unknown_keys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEST_SECRETS = os.path.join(ROOT, "tests", "vars", "test_secrets.yml")
CONTROL_PLANE = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")


def render(tmp_path, extra=None):
    out = tmp_path / "render"
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory",
               ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default", ANSIBLE_NOCOLOR="1")
    ev = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "monitoring_render_dir": str(out),
          "monitoring_grafana_ip": "10.147.17.202", **(extra or {})}
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
         os.path.join(os.path.dirname(__file__), "monitoring_render.yml"), "-e", "@" + TEST_SECRETS, "-e", json.dumps(ev)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    return proc, out


def values_of(tmp_path, extra=None):
    proc, out = render(tmp_path, extra)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    vals = yaml.safe_load((out / "monitoring" / "values.yaml").read_text())
    assert unknown_keys(vals, load_keys("kube-prometheus-stack", "88.5.3")) == []
    return vals


def test_defaults_have_no_control_plane_monitors_that_cannot_scrape(tmp_path):
    vals = values_of(tmp_path)
    assert {c: vals[c]["enabled"] for c in CONTROL_PLANE} == dict.fromkeys(CONTROL_PLANE, False)
    assert "storageSpec" not in vals["prometheus"]["prometheusSpec"]  # opt-in: RKE2 has no storage provisioner


@pytest.mark.parametrize("storage_class", ["longhorn", ""])
def test_prometheus_volume_is_a_valid_claim(tmp_path, storage_class):
    vals = values_of(tmp_path, {"monitoring_prometheus_storage_size": "50Gi",
                                "monitoring_prometheus_storage_class": storage_class})
    template = vals["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]
    # what the operator creates from it (prometheus-operator EmbeddedPersistentVolumeClaim -> PersistentVolumeClaim)
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "prometheus-db"},
             "spec": template["spec"]}
    kubernetes_validate.validate(claim, "1.33", strict=True)
    assert template["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert template["spec"].get("storageClassName") == (storage_class or None)


def test_control_plane_monitors_can_be_turned_on(tmp_path):
    vals = values_of(tmp_path, {"monitoring_control_plane_monitors": True})
    assert all(vals[c]["enabled"] is True for c in CONTROL_PLANE)


def test_a_size_that_is_no_quantity_is_refused(tmp_path):
    proc, _ = render(tmp_path, {"monitoring_prometheus_storage_size": "50 GB"})
    assert proc.returncode != 0 and "monitoring_prometheus_storage_size: '50 GB' is not a Kubernetes quantity" in proc.stdout
