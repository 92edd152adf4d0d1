# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""The rolling-restart health gate of roles/rke2: may the next node restart? (review k8s-layer M7)

node_problems reads ``kubectl get node <name> -o json`` (kubernetes v1.33 staging/src/k8s.io/api/core/v1/types.go:
NodeStatus.conditions[type=Ready].status, NodeStatus.addresses[type=InternalIP].address and
NodeStatus.nodeInfo.kubeletVersion, which RKE2 reports as its own version, e.g. v1.33.6+rke2r1).

readyz_problems reads ``kubectl get --raw '/readyz?verbose'`` (kubernetes v1.33
staging/src/k8s.io/apiserver/pkg/server/healthz/healthz.go handleRootHealth: one ``[+]<check> ok`` or
``[-]<check> failed: reason withheld`` line per check, then ``readyz check passed``; on a failure HTTP 500 and
``readyz check failed``). The ``etcd`` check (storage backend reachable) must be among the passing checks.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


def _entries(status, key):
    items = status.get(key) if isinstance(status, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def node_problems(node_json, version, node_ip):
    """What keeps this node from passing the gate; [] when Ready, at node_ip and running version."""
    try:
        node = json.loads(node_json) if isinstance(node_json, str) else node_json
    except ValueError:
        return ["the node object is not JSON"]
    if not isinstance(node, dict) or node.get("kind") != "Node":
        return ["the answer is not a Node object"]
    status = node.get("status") if isinstance(node.get("status"), dict) else {}
    problems = []
    ready = [c.get("status") for c in _entries(status, "conditions") if c.get("type") == "Ready"]
    if ready != ["True"]:
        problems.append("Ready is %s, not True" % (ready[0] if ready else "missing"))
    ips = [a.get("address") for a in _entries(status, "addresses") if a.get("type") == "InternalIP"]
    if node_ip and node_ip not in ips:
        problems.append("InternalIP is %s, not %s" % (", ".join(map(str, ips)) or "missing", node_ip))
    info = status.get("nodeInfo") if isinstance(status.get("nodeInfo"), dict) else {}
    kubelet = info.get("kubeletVersion")
    if kubelet != version:
        problems.append("kubelet reports %s, not %s (not restarted on the new version yet)" % (kubelet, version))
    return problems


def readyz_problems(text):
    """What /readyz?verbose reports as not ready; [] when every check passed and etcd is among them."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return ["/readyz gave no answer"]
    problems = ["readyz check %s failed" % line[3:].split(" failed", 1)[0] for line in lines if line.startswith("[-]")]
    passed = {line[3:].rsplit(" ok", 1)[0] for line in lines if line.startswith("[+]") and line.endswith(" ok")}
    if "etcd" not in passed:
        problems.append("the etcd check did not pass")
    if lines[-1] != "readyz check passed":
        problems.append("/readyz did not end with 'readyz check passed'")
    return problems
