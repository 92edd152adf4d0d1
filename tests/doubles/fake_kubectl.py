#!/usr/bin/env python3
"""A stand-in for `kubectl` that answers the read-only calls of playbooks/status.yml from fixtures.

Usage: fake_kubectl.py --fixture healthy|degraded [--kubeconfig X] get nodes|services|pods ... | get --raw PATH
       fake_kubectl.py ... drain NODE ... | delete node NODE ... | label node NODE k=v ...
The answers have the shape of the Kubernetes API's List objects (only the fields status.yml reads); the
write verbs answer with kubectl's messages and are logged to $FAKE_KUBECTL_LOG (one JSON argv per line)
or to a file given with --log.

Upstream followed (kubernetes v1.33.6; kubernetes/kubectl and kubernetes/api are the published mirrors of its
staging/src/k8s.io/kubectl and staging/src/k8s.io/api at tag v0.33.6):
- kubernetes/kubectl@v0.33.6 pkg/cmd/get/get.go (-o json of several objects: a v1 List), drain/drain.go, delete/delete.go,
  label/label.go (the one-line messages);
- kubernetes/api@v0.33.6 core/v1/types.go (Node, Service, Pod fields);
- prometheus/client_golang@v1.24.1 api/prometheus/v1/api.go (the /api/v1/targets answer).
"""
import json
import sys


def node(name, ip, ready):
    # kubernetes/api@v0.33.6 core/v1/types.go: NodeStatus.conditions [{type, status}] with NodeMemoryPressure "MemoryPressure" and
    # NodeReady "Ready" (status "True"/"False"); NodeStatus.addresses [{type, address}] with NodeInternalIP
    # "InternalIP" and NodeHostName "Hostname".
    return {"metadata": {"name": name},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": ready}],
                       "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]}}


def lb(namespace, name, ips):
    # kubernetes/api@v0.33.6 core/v1/types.go: ServiceSpec.type ServiceTypeLoadBalancer "LoadBalancer"; ServiceStatus.loadBalancer
    # LoadBalancerStatus.ingress (omitempty, so {} before an address is assigned) of LoadBalancerIngress {ip}.
    return {"metadata": {"namespace": namespace, "name": name}, "spec": {"type": "LoadBalancer"},
            "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips]} if ips else {}}}


FIXTURES = {
    "healthy": {
        "nodes": [node("localhost", "10.147.17.10", "True")],
        "services": [lb("dask", "dask-scheduler", ["10.147.17.200"]), lb("dask", "dask-jupyter", ["10.147.17.201"]),
                     lb("monitoring", "grafana", ["10.147.17.202"]),
                     # kubernetes/api@v0.33.6 core/v1/types.go: ServiceTypeClusterIP "ClusterIP" (the apiserver's own Service).
                     {"metadata": {"namespace": "default", "name": "kubernetes"}, "spec": {"type": "ClusterIP"}, "status": {}}],
        # kubernetes/api@v0.33.6 core/v1/types.go: PodStatus.phase PodRunning "Running" / PodPending "Pending".
        "pods": [{"status": {"phase": "Running"}}, {"status": {"phase": "Running"}}],
        # prometheus/client_golang@v1.24.1 api/prometheus/v1/api.go ActiveTarget: health HealthGood "up" /
        # HealthBad "down", scrapeUrl.
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
        # kubernetes/kubectl@v0.33.6 pkg/cmd/drain/drain.go: RunDrain cordons first (changed(true) "cordoned"), then prints with
        # ToPrinter("drained"); the default printer is the name printer: "<kind>/<name> <operation>".
        node = argv[argv.index("drain") + 1]
        print(f"node/{node} cordoned\nnode/{node} drained")
        return 0
    if "delete" in argv and "node" in argv:
        # kubernetes/kubectl@v0.33.6 pkg/cmd/delete/delete.go PrintObj: '%s "%s" %s' of kind, name and "deleted" (default
        # output, grace period not 0).
        print(f'node "{argv[argv.index("node") + 1]}" deleted')
        return 0
    if "label" in argv:
        # kubernetes/kubectl@v0.33.6 pkg/cmd/label/label.go: NewPrintFlags("labeled") -> "node/<name> labeled".
        print(f"node/{argv[argv.index('node') + 1]} labeled")
        return 0
    fixture = FIXTURES[argv[argv.index("--fixture") + 1]]
    if "--raw" in argv:
        # prometheus/client_golang@v1.24.1 api/prometheus/v1/api.go: apiResponse {status "success", data} and
        # TargetsResult {activeTargets, droppedTargets} of GET /api/v1/targets (epTargets). kubectl get --raw
        # (kubernetes/kubectl@v0.33.6 pkg/cmd/get/get.go --raw) prints the body as it comes.
        print(json.dumps({"status": "success", "data": {"activeTargets": fixture["targets"], "droppedTargets": []}}))
        return 0
    kind = argv[argv.index("get") + 1]
    # kubernetes/kubectl@v0.33.6 pkg/cmd/get/get.go: several objects are coerced into a corev1.List (kind "List", apiVersion "v1")
    # whose metadata is {"resourceVersion": <ListMeta resourceVersion>}, "" for the coerced list.
    print(json.dumps({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": fixture[kind]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
