#!/usr/bin/env python3
"""A stand-in for `kubectl` that answers the read-only calls of playbooks/status.yml from fixtures.

Usage: fake_kubectl.py --fixture healthy|degraded [--kubeconfig X] get nodes|services|pods ... | get --raw PATH
       fake_kubectl.py ... drain NODE ... | delete node NODE ... | label node NODE k=v ...
The answers have the shape of the Kubernetes API's List objects (only the fields status.yml reads); the
write verbs answer with kubectl's messages and are logged to $FAKE_KUBECTL_LOG (one JSON argv per line)
or to a file given with --log.
"""
import json
import sys


def node(name, ip, ready):
    return {"metadata": {"name": name},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": ready}],
                       "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]}}


def lb(namespace, name, ips):
    return {"metadata": {"namespace": namespace, "name": name}, "spec": {"type": "LoadBalancer"},
            "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips]} if ips else {}}}


FIXTURES = {
    "healthy": {
        "nodes": [node("localhost", "10.147.17.10", "True")],
        "services": [lb("dask", "dask-scheduler", ["10.147.17.200"]), lb("dask", "dask-jupyter", ["10.147.17.201"]),
                     lb("monitoring", "grafana", ["10.147.17.202"]),
                     {"metadata": {"namespace": "default", "name": "kubernetes"}, "spec": {"type": "ClusterIP"}, "status": {}}],
        "pods": [{"status": {"phase": "Running"}}, {"status": {"phase": "Running"}}],
        "targets": [{"health": "up", "scrapeUrl": "http://10.42.0.5:8787/metrics"}],
    },
    "degraded": {
        "nodes": [node("localhost", "10.147.17.99", "False")],
        "services": [lb("dask", "dask-scheduler", []), lb("dask", "dask-jupyter", ["10.147.17.201"]),
                     lb("monitoring", "grafana", ["10.147.17.202"])],
        "pods": [{"status": {"phase": "Pending"}}],
        "targets": [{"health": "down", "scrapeUrl": "http://10.42.0.6:8787/metrics"}],
    },
}


def main(argv):
    if "--log" in argv:
        with open(argv[argv.index("--log") + 1], "a") as log:
            log.write(json.dumps(argv) + "\n")
    if "drain" in argv:
        node = argv[argv.index("drain") + 1]
        print(f"node/{node} cordoned\nnode/{node} drained")
        return 0
    if "delete" in argv and "node" in argv:
        print(f'node "{argv[argv.index("node") + 1]}" deleted')
        return 0
    if "label" in argv:
        print(f"node/{argv[argv.index('node') + 1]} labeled")
        return 0
    fixture = FIXTURES[argv[argv.index("--fixture") + 1]]
    if "--raw" in argv:
        print(json.dumps({"status": "success", "data": {"activeTargets": fixture["targets"]}}))
        return 0
    kind = argv[argv.index("get") + 1]
    print(json.dumps({"apiVersion": "v1", "kind": "List", "items": fixture[kind]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
