"""The rke2 rolling-restart gate (module_utils/rke2_gate.py, review k8s-layer M7).

Inputs are shaped like what kubectl prints for kubernetes v1.33: a Node object (core/v1 types.go NodeStatus) and
the /readyz?verbose body (apiserver pkg/server/healthz/healthz.go handleRootHealth)."""
import copy
import json

import pytest

from ansible_collections.daskmetal.platform.plugins.filter.rke2_gate import rke2_node_problems, rke2_readyz_problems
from ansible_collections.daskmetal.platform.plugins.module_utils.rke2_gate import node_problems, readyz_problems

NEW, OLD, IP = "v1.33.6+rke2r1", "v1.33.5+rke2r1", "10.147.17.11"
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "server-1"},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                   "addresses": [{"type": "InternalIP", "address": IP}, {"type": "Hostname", "address": "server-1"}],
                   "nodeInfo": {"kubeletVersion": NEW, "kubeProxyVersion": NEW, "containerRuntimeVersion": "x"}}}
READY = "\n".join(["[+]ping ok", "[+]log ok", "[+]etcd ok", "[+]etcd-readiness ok", "[+]informer-sync ok",
                   "[+]poststarthook/start-apiserver-admission-initializer ok", "[+]shutdown ok",
                   "readyz check passed", ""])


def _node(**status):
    node = copy.deepcopy(NODE)
    node["status"].update(status)
    return json.dumps(node)


def test_ready_node_on_the_new_version_passes():
    assert node_problems(json.dumps(NODE), NEW, IP) == []
    assert rke2_node_problems(json.dumps(NODE), NEW, IP) == []


def test_stale_ready_on_the_old_version_is_held():
    """The defect: Ready=True and the right IP, but the kubelet still runs the old version."""
    problems = node_problems(_node(nodeInfo={"kubeletVersion": OLD}), NEW, IP)
    assert problems == ["kubelet reports %s, not %s (not restarted on the new version yet)" % (OLD, NEW)]


@pytest.mark.parametrize("status,expected", [
    ({"conditions": [{"type": "Ready", "status": "Unknown"}]}, "Ready is Unknown, not True"),
    ({"conditions": []}, "Ready is missing, not True"),
    ({"addresses": [{"type": "InternalIP", "address": "172.17.0.2"}]}, "InternalIP is 172.17.0.2, not " + IP),
    ({"addresses": []}, "InternalIP is missing"),
    ({"nodeInfo": {}}, "kubelet reports None"),
])
def test_unhealthy_nodes_are_held(status, expected):
    assert any(expected in p for p in node_problems(_node(**status), NEW, IP))


@pytest.mark.parametrize("text,expected", [("not json", "not JSON"), ('{"kind": "Status"}', "not a Node object")])
def test_unreadable_answers_are_held(text, expected):
    assert any(expected in p for p in node_problems(text, NEW, IP))


def test_readyz_all_passed():
    assert readyz_problems(READY) == [] and rke2_readyz_problems(READY) == []


def test_readyz_failed_etcd_is_held():
    body = READY.replace("[+]etcd ok", "[-]etcd failed: reason withheld").replace("check passed", "check failed")
    assert readyz_problems(body) == ["readyz check etcd failed", "the etcd check did not pass",
                                     "/readyz did not end with 'readyz check passed'"]


def test_readyz_without_etcd_or_verbose_is_held():
    assert readyz_problems("ok") == ["the etcd check did not pass", "/readyz did not end with 'readyz check passed'"]
    assert readyz_problems("") == ["/readyz gave no answer"]
    assert "the etcd check did not pass" in readyz_problems(READY.replace("[+]etcd ok\n", ""))
