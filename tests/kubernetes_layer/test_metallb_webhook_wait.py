"""The metallb role's webhook wait (review platform-services MINOR 7), run by ansible-playbook against the kube API double.

The real consumers are kubernetes.core.k8s_info (the kubernetes client: discovery, then a list of EndpointSlices)
and Ansible evaluating the task's ``until`` on every retry. The EndpointSlices are checked against the Kubernetes
1.33 OpenAPI schema (kubernetes-validate, strict) so they have the shape the API server returns. While the webhook
pod is starting, its slice has only a not-ready endpoint: the wait must retry and give up with "retries", never
stop on a template error (what the v1 Endpoints version did on a subset with only notReadyAddresses).
The double serves EndpointSlices and filters lists by labelSelector as the API server does, so a ready slice of
another Service in the namespace must not end the wait.
"""
import copy
import json
import os
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

from tests.doubles.kube_api import KubeDouble

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NS = "metallb-system"

# discovery.k8s.io/v1 EndpointSlice as the EndpointSlice controller writes it for the chart's webhook Service
# (k8s.io/api v0.33 discovery/v1 types.go: addressType, endpoints[].addresses/conditions, ports; label
# kubernetes.io/service-name).
SLICE = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "metallb-webhook-service-x7k2p", "namespace": NS,
                      "labels": {"kubernetes.io/service-name": "metallb-webhook-service"}},
         "addressType": "IPv4",
         "endpoints": [{"addresses": ["10.42.1.7"], "conditions": {"ready": False, "serving": False, "terminating": False},
                        "nodeName": "srv-1"}],
         "ports": [{"name": "", "port": 9443, "protocol": "TCP"}]}
# v1 Endpoints of the same moment (core/v1 EndpointSubset: notReadyAddresses only), for the version before the fix
ENDPOINTS = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "metallb-webhook-service", "namespace": NS},
             "subsets": [{"notReadyAddresses": [{"ip": "10.42.1.7"}], "ports": [{"port": 9443, "protocol": "TCP"}]}]}


def ready_slice(ready):
    s = copy.deepcopy(SLICE)
    cond = s["endpoints"][0]["conditions"]
    if ready is None:
        del cond["ready"]  # "a nil value should be interpreted as true" (discovery/v1 EndpointConditions.Ready)
    else:
        cond.update(ready=ready, serving=ready)
    return s


def run(tmp_path, seed):
    for obj in seed:
        kubernetes_validate.validate(obj, "1.33", strict=True)
    with KubeDouble(seed=seed) as k:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(k.kubeconfig()))
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory",
                   ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default", ANSIBLE_NOCOLOR="1",
                   NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        extra = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "metallb_kubeconfig": str(kubeconfig), "metallb_apply_retries": 2, "metallb_apply_delay": 0}
        return subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
             os.path.join(os.path.dirname(__file__), "metallb_webhook_wait.yml"), "-e", json.dumps(extra)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)


def test_not_ready_endpoint_means_retry_not_a_template_error(tmp_path):
    proc = run(tmp_path, [SLICE, ENDPOINTS])
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "FAILED - RETRYING: [localhost]: Wait until the webhook service has a ready endpoint (2 retries left)" in out, out[-3000:]
    assert "has no attribute" not in out and "attempts" in out, out[-3000:]


@pytest.mark.parametrize("ready", [True, None])
def test_ready_endpoint_ends_the_wait(tmp_path, ready):
    proc = run(tmp_path, [ready_slice(ready), ENDPOINTS])
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "FAILED - RETRYING" not in proc.stdout


def test_a_ready_slice_of_another_service_does_not_end_the_wait(tmp_path):
    other = ready_slice(True)
    other["metadata"].update(name="metallb-metrics-abcde", labels={"kubernetes.io/service-name": "metallb-metrics"})
    proc = run(tmp_path, [SLICE, other])
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "(2 retries left)" in out, out[-3000:]
