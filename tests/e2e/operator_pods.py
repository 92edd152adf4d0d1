"""Run the pods the Dask Kubernetes Operator would create from a DaskCluster, as Docker containers on a lab network.

No API server or kubelet can run here (../shared/notes/lab-environment.md). What runs is the operator's OWN code from
the pinned dask-kubernetes (2026.3.0): its kopf handlers in dask_kubernetes/operator/controller/controller.py
(`daskcluster_create_components`, `daskworkergroup_create`, `daskworkergroup_replica_update`, which call
`build_scheduler_deployment_spec`, `build_scheduler_service_spec`, `build_default_worker_group_spec`,
`build_worker_deployment_spec` and `retire_workers`). Only the objects the handlers talk to are replaced:

- `KubeStore` stands in for the API server behind kr8s (kr8s 0.20.15, kr8s/_objects.py APIObject: an awaitable
  constructor from a dict or a name, `.name`, `.raw`, `.labels`, `exists()`, `create()`, `delete()`, `patch()`,
  classmethod `get()`, and `kr8s.asyncio.get(kind, namespace=, label_selector=)` listing by label).
- `LabKubelet` plays ReplicaSet controller + kubelet + kube-proxy/CoreDNS for the Deployments in the store: one
  pod per Deployment (the operator only creates `replicas: 1` Deployments), a Docker container on a lab network.
- `get_scheduler_address` (dask_kubernetes/operator/networking.py) returns, inside the cluster,
  `tcp://<service>.<namespace>:<port of the named service port>`; the harness runs on the Docker host, which cannot
  resolve Service names, so it returns the same string with the name replaced by the pod IP Docker's DNS gives that
  name on the lab network (the port is taken by the operator's own `_get_port`).

How a pod spec becomes `docker run` (the kubelet's rules, kubernetes v1.33):
- command/args: pkg/kubelet/kuberuntime/kuberuntime_container.go + pkg/kubelet/container/helpers.go
  `ExpandContainerCommandAndArgs`: `command` replaces the image ENTRYPOINT, `args` replaces its CMD; with `args`
  only, the ENTRYPOINT stays. `$(VAR)` in command, args and env values expands from the container's env
  (third_party/forked/golang/expansion/expand.go: `$$` is a literal `$`, an undefined `$(VAR)` stays as written).
- env: pkg/kubelet/kubelet_pods.go `makeEnvironmentVariables`: service links first (`enableServiceLinks`, default
  true; pkg/kubelet/envvars/envvars.go `FromServices`: `<NAME>_SERVICE_HOST`, `_SERVICE_PORT[_<PORT NAME>]`,
  `<NAME>_PORT`, `<NAME>_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]` for the Services of the namespace existing when
  the pod starts), then the container's env in order; `valueFrom.fieldRef` resolves `metadata.name`,
  `metadata.namespace`, `metadata.uid`, `metadata.labels['k']`, `metadata.annotations['k']`, `spec.nodeName`,
  `spec.serviceAccountName`, `status.hostIP`, `status.podIP`, `status.podIPs` (pkg/kubelet/kubelet_pods.go
  `podFieldSelectorRuntimeValue`); `secretKeyRef`/`configMapKeyRef` from the data given to the harness. The pod IP
  is known before the container starts (the kubelet sets up the sandbox network first): the harness assigns a fixed
  IP on the lab network.
- hostname = pod name (pkg/kubelet/kubelet_pods.go `GeneratePodHostNameAndDomain`), pod name = Deployment name +
  `-<pod-template-hash>-<5 chars>` (the hash here is arbitrary).
- resources.limits cpu/memory -> `--cpus`/`--memory` (cgroup limits, which distributed reads for memory_limit).
- readinessProbe polled like the prober (pkg/kubelet/prober/prober.go): httpGet (2xx/3xx is success), tcpSocket or
  exec, after initialDelaySeconds, every periodSeconds, timeoutSeconds each, successThreshold in a row; from the
  host to the pod IP, as the kubelet probes from the node. A container that exits is restarted in place (same pod
  IP, restartPolicy Always) after the kubelet's crash back-off (10 s, doubling: pkg/kubelet/kubelet.go
  backOffPeriod / MaxContainerBackOff) up to `MAX_RESTARTS` times; then the wait fails with its log
  (CrashLoopBackOff). Liveness probes are not enforced.
- Service DNS: each Service whose selector matches a pod's labels puts `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc` and
  `<svc>.<ns>.svc.cluster.local` as network aliases on that pod's container (CoreDNS answers with the endpoints'
  addresses for a headless Service, with the ClusterIP for others). Where a Service's `port` differs from the
  resolved `targetPort` (kube-proxy's forwarding, pkg/proxy), the aliases go instead to a small TCP forwarder
  container (`KUBE_PROXY` below) that stands for the ClusterIP and forwards port -> endpoint pod IP:targetPort.
- ConfigMaps and Secrets (`data` base64, `stringData` as the API server merges it) come from the applied manifests;
  volumes of kind configMap/secret are files bind-mounted read-only (`subPath` mounts one file), emptyDir a volume.
"""
from __future__ import annotations

import asyncio
import copy
import ipaddress
import json
import logging
import os
import re
import secrets
import shlex
import subprocess
import tempfile
import time
import types
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager
from typing import Any, Callable, Iterator

PREFIX = "oppods-"
LABEL = "io.daskmetal.oppods"
CLUSTER_DOMAIN = "cluster.local"
MAX_RESTARTS = 2  # a Dask worker that started before its scheduler exits after distributed's connect timeout
BACKOFF_SECONDS = 10
LOG = logging.getLogger("oppods")


# --------------------------------------------------------------------------------------------------------------
# kubelet rules: expansion, env, quantities
# --------------------------------------------------------------------------------------------------------------
_VAR = re.compile(r"\$(\$|\(([A-Za-z_][A-Za-z0-9_.-]*)\))")


def expand(text: str, env: dict[str, str]) -> str:
    """third_party/forked/golang/expansion/expand.go (kubernetes v1.33): `$$` -> `$`, `$(NAME)` -> env[NAME] when
    defined, else left as is."""
    def sub(m: re.Match) -> str:
        if m.group(1) == "$":
            return "$"
        return env.get(m.group(2), m.group(0))
    return _VAR.sub(sub, text)


def parse_quantity(q: Any) -> float:
    """k8s.io/apimachinery/pkg/api/resource Quantity (suffixes Ki..Ei, k..E, m) as a float."""
    s = str(q)
    bin_ = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
    dec = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
    for suf, mul in list(bin_.items()) + list(dec.items()):
        if s.endswith(suf):
            return float(s[: -len(suf)]) * mul
    return float(s)


def service_link_env(services: list[dict], addresses: dict[str, str]) -> dict[str, str]:
    """pkg/kubelet/envvars/envvars.go FromServices (v1.33) for the namespace's Services; `addresses` maps a Service
    name to the address standing in for its ClusterIP (headless Services and ones without an address are skipped)."""
    env: dict[str, str] = {}
    for svc in services:
        name = svc["metadata"]["name"]
        if svc["spec"].get("clusterIP") == "None" or name not in addresses:
            continue
        ip, ports = addresses[name], svc["spec"].get("ports") or []
        prefix = name.upper().replace("-", "_")
        env[f"{prefix}_SERVICE_HOST"] = ip
        if not ports:
            continue
        env[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
        for p in ports:
            if p.get("name"):
                env[f"{prefix}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = str(p["port"])
        first = ports[0]
        env[f"{prefix}_PORT"] = f"{first.get('protocol', 'TCP').lower()}://{ip}:{first['port']}"
        for p in ports:
            proto = p.get("protocol", "TCP")
            key = f"{prefix}_PORT_{p['port']}_{proto.upper()}"
            env[key] = f"{proto.lower()}://{ip}:{p['port']}"
            env[key + "_PROTO"], env[key + "_PORT"], env[key + "_ADDR"] = proto.lower(), str(p["port"]), ip
    return env


def field_ref(path: str, pod: "PodRecord") -> str:
    """pkg/kubelet/kubelet_pods.go podFieldSelectorRuntimeValue + fieldpath.ExtractFieldPathAsString (v1.33)."""
    meta = pod.metadata
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return (meta.get(m.group(1)) or {}).get(m.group(2), "")
    simple = {
        "metadata.name": meta["name"], "metadata.namespace": pod.namespace, "metadata.uid": pod.uid,
        "spec.nodeName": pod.node_name, "spec.serviceAccountName": pod.spec.get("serviceAccountName", "default"),
        "status.hostIP": pod.host_ip, "status.hostIPs": pod.host_ip, "status.podIP": pod.ip, "status.podIPs": pod.ip,
    }
    if path not in simple:
        raise ValueError(f"fieldRef {path!r} is not one the kubelet resolves")
    return simple[path]


def container_env(container: dict, pod: "PodRecord", links: dict[str, str], data: dict[str, dict]) -> dict[str, str]:
    """makeEnvironmentVariables: service links, then envFrom, then env in order, each value expanded against what
    is defined so far."""
    env = dict(links) if pod.spec.get("enableServiceLinks", True) else {}
    for src in container.get("envFrom") or []:
        ref = src.get("configMapRef") or src.get("secretRef")
        kind = "configmaps" if "configMapRef" in src else "secrets"
        for key, value in data.get(kind, {}).get(ref["name"], {}).items():
            env[src.get("prefix", "") + key] = value
    for item in container.get("env") or []:
        if "valueFrom" not in item:
            env[item["name"]] = expand(str(item.get("value", "")), env)
            continue
        vf = item["valueFrom"]
        if "fieldRef" in vf:
            env[item["name"]] = field_ref(vf["fieldRef"]["fieldPath"], pod)
        elif "secretKeyRef" in vf or "configMapKeyRef" in vf:
            kind, ref = ("secrets", vf["secretKeyRef"]) if "secretKeyRef" in vf else ("configmaps", vf["configMapKeyRef"])
            env[item["name"]] = data[kind][ref["name"]][ref["key"]]
        elif "resourceFieldRef" in vf:
            res = vf["resourceFieldRef"]["resource"]  # e.g. limits.memory; divisor 1
            section, what = res.split(".", 1)
            value = (container.get("resources") or {}).get(section, {}).get(what)
            env[item["name"]] = str(int(parse_quantity(value))) if value is not None else ""
        else:
            raise ValueError(f"env {item['name']}: unsupported valueFrom {sorted(vf)}")
    return env


# --------------------------------------------------------------------------------------------------------------
# the API-server stand-in the operator's handlers talk to
# --------------------------------------------------------------------------------------------------------------
def _plain(obj: Any) -> Any:
    """kopf bodies/specs are read-only Mappings; the API server stores plain JSON."""
    return json.loads(json.dumps(obj, default=dict))


def _prune_nulls(obj: Any) -> Any:
    """What the API server stores for a null field: nothing. Custom resources: "null values for fields that either
    don't specify the nullable flag, or give it a false value, will be pruned before defaulting happens"
    (kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#defaulting-and-nullable;
    dask-kubernetes 2026.3.0 deployment/helm/dask-kubernetes-operator/crds/daskcluster.yaml and daskworkergroup.yaml
    mark nothing nullable); core kinds decode null into an absent Go field."""
    if isinstance(obj, dict):
        return {k: _prune_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_prune_nulls(v) for v in obj]
    return obj


def selector_matches(selector: dict | str | None, labels: dict) -> bool:
    if not selector:
        return True
    if isinstance(selector, str):
        selector = dict(part.split("=", 1) for part in selector.split(","))
    return all(labels.get(k) == v for k, v in selector.items())


def config_data(obj: dict) -> dict[str, str]:
    """A ConfigMap's data, or a Secret's data (base64) merged with stringData (stringData wins: the API server
    writes it into data, k8s.io/api core/v1 types.go Secret.StringData)."""
    import base64

    if obj["kind"] == "ConfigMap":
        return dict(obj.get("data") or {})
    out = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
    out.update(obj.get("stringData") or {})
    return out


# The kube-proxy stand-in: python3 -c KUBE_PROXY LISTEN_PORT:HOST:PORT ... (a TCP forwarder, stdlib only).
KUBE_PROXY = """
import asyncio, sys
async def pipe(r, w):
    try:
        while True:
            data = await r.read(65536)
            if not data:
                break
            w.write(data)
            await w.drain()
    finally:
        w.close()
def handler(host, port):
    async def h(r, w):
        ur, uw = await asyncio.open_connection(host, port)
        await asyncio.gather(pipe(r, uw), pipe(ur, w))
    return h
async def main():
    servers = []
    for spec in sys.argv[1:]:
        lp, host, port = spec.split(":")
        servers.append(await asyncio.start_server(handler(host, int(port)), "0.0.0.0", int(lp)))
    await asyncio.gather(*(s.serve_forever() for s in servers))
asyncio.run(main())
"""


class KubeStore:
    """Objects by (kind, name) in one namespace; Deployment changes are handed to the kubelet stand-in."""

    def __init__(self, namespace: str):
        self.namespace = namespace
        self.objects: dict[tuple[str, str], dict] = {}
        self.events: list[tuple[str, str, str]] = []  # (verb, kind, name), for the test's evidence

    def put(self, kind: str, raw: dict) -> None:
        raw = _prune_nulls(_plain(raw))
        raw.setdefault("metadata", {}).setdefault("namespace", self.namespace)
        raw["metadata"].setdefault("uid", secrets.token_hex(16))
        self.objects[(kind, raw["metadata"]["name"])] = raw
        self.events.append(("create", kind, raw["metadata"]["name"]))

    def remove(self, kind: str, name: str) -> None:
        del self.objects[(kind, name)]
        self.events.append(("delete", kind, name))

    def list(self, kind: str, selector: dict | str | None = None) -> list[dict]:
        return [o for (k, _), o in self.objects.items()
                if k == kind and selector_matches(selector, o["metadata"].get("labels") or {})]

    def bind(self) -> types.SimpleNamespace:
        """Classes with the kr8s surface the controller uses, bound to this store."""
        import kr8s

        store = self

        class APIObject:
            kind = ""

            def __init__(self, resource: Any, namespace: str | None = None):
                if isinstance(resource, str):
                    self.raw = store.objects.get((self.kind, resource)) or {"metadata": {"name": resource}}
                else:
                    self.raw = _plain(resource)

            def __await__(self):
                async def _self():
                    return self
                return _self().__await__()

            name = property(lambda self: self.raw["metadata"]["name"])
            labels = property(lambda self: self.raw["metadata"].get("labels") or {})
            namespace = property(lambda self: store.namespace)
            spec = property(lambda self: types.SimpleNamespace(**self.raw.get("spec", {})))

            @classmethod
            async def get(cls, name: str, namespace: str | None = None):
                if (cls.kind, name) not in store.objects:
                    raise kr8s.NotFoundError(f"{cls.kind} {name}")
                return cls(name)

            async def exists(self) -> bool:
                return (self.kind, self.name) in store.objects

            async def create(self) -> None:
                store.put(self.kind, self.raw)

            async def delete(self) -> None:
                store.remove(self.kind, self.name)

            async def patch(self, patch: dict) -> None:
                stored = store.objects[(self.kind, self.name)]
                for key, value in patch.items():
                    stored.setdefault(key, {}).update(value)

        def kind(name: str, **extra: Any) -> type:
            return type(name, (APIObject,), {"kind": name, **extra})

        async def adopt(self, child) -> None:  # DaskCluster.adopt: sets ownerReferences, which no pod reads
            return None

        async def cluster(self):
            return await classes.DaskCluster.get(self.raw["spec"]["cluster"])

        async def get(kind_: str, namespace: str | None = None, label_selector: Any = None):
            for raw in store.list({"deployments": "Deployment"}[kind_], label_selector):
                yield classes.Deployment(raw)

        classes = types.SimpleNamespace(
            Deployment=kind("Deployment"), Service=kind("Service"), DaskCluster=kind("DaskCluster", adopt=adopt),
            DaskWorkerGroup=kind("DaskWorkerGroup", cluster=cluster,
                                 replicas=property(lambda self: self.raw["spec"]["worker"]["replicas"])),
        )
        classes.kr8s = types.SimpleNamespace(asyncio=types.SimpleNamespace(get=get), NotFoundError=kr8s.NotFoundError)
        return classes


# --------------------------------------------------------------------------------------------------------------
# pods as Docker containers
# --------------------------------------------------------------------------------------------------------------
def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    LOG.debug("docker %s", shlex.join(args))
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


class PodRecord:
    def __init__(self, deployment: dict, namespace: str, ip: str, host_ip: str):
        template = deployment["spec"]["template"]
        self.deployment = deployment["metadata"]["name"]
        suffix = "".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        self.metadata = copy.deepcopy(template.get("metadata") or {})
        self.metadata["name"] = f"{self.deployment}-{secrets.token_hex(5)}-{suffix}"[:63]
        self.spec = copy.deepcopy(template["spec"])
        self.namespace, self.ip, self.host_ip = namespace, ip, host_ip
        self.uid, self.node_name = secrets.token_hex(16), "oppods-node"
        self.labels = self.metadata.get("labels") or {}
        self.containers: dict[str, str] = {}  # container name in the pod -> docker container name
        self.commands: dict[str, list[str]] = {}  # what the container runs, after expansion (evidence)
        self.env: dict[str, dict[str, str]] = {}
        self.restarts = 0

    @property
    def name(self) -> str:
        return self.metadata["name"]


class LabKubelet:
    """ReplicaSet controller + kubelet + Service DNS for one namespace, on one Docker network."""

    def __init__(self, run_id: str, namespace: str, images: dict[str, str] | None = None,
                 proxy_image: str | None = None):
        self.run_id, self.namespace = run_id, namespace
        self.images = images or {}
        self.proxy_image = proxy_image
        self.network = f"{PREFIX}{run_id}"
        self.pods: dict[str, PodRecord] = {}  # deployment name -> pod
        self.max_restarts = MAX_RESTARTS  # a test of a crash loop sets 0: the first exit is the verdict
        self.proxies: dict[str, tuple[str, str]] = {}  # Service name -> (ClusterIP stand-in, container)
        self.data: dict[str, dict] = {"configmaps": {}, "secrets": {}}
        self._tmp = tempfile.mkdtemp(prefix=f"{PREFIX}{run_id}-")
        self.subnet = self._create_network()
        self.gateway = str(self.subnet.network_address + 1)
        self._next_ip = 10

    def _create_network(self) -> ipaddress.IPv4Network:
        """A network with a subnet of its own: `docker run --ip` (the pod IP known before start) needs one."""
        for _ in range(20):
            subnet = ipaddress.ip_network(f"10.{secrets.choice(range(200, 250))}.{secrets.randbelow(256)}.0/24")
            out = docker("network", "create", "--label", f"{LABEL}={self.run_id}", "--subnet", str(subnet),
                         "--gateway", str(subnet.network_address + 1), self.network, check=False)
            if out.returncode == 0:
                return subnet
            if "overlap" not in out.stderr:
                raise RuntimeError(out.stderr)
        raise RuntimeError("no free /24 for the lab network")

    def allocate_ip(self) -> str:
        ip = str(self.subnet.network_address + self._next_ip)
        self._next_ip += 1
        return ip

    # ---- Services -> DNS aliases and service-link env
    def service_names(self, name: str) -> list[str]:
        ns = self.namespace
        return [name, f"{name}.{ns}", f"{name}.{ns}.svc", f"{name}.{ns}.svc.{CLUSTER_DOMAIN}"]

    @staticmethod
    def targets(svc: dict, pod: PodRecord) -> dict[str, int] | None:
        """The Service's ports -> this pod's target port numbers (a targetPort name resolves against the pod's
        container ports, as the endpoints controller does); None if the Service does not select the pod. A
        targetPort naming no container port is an error (the pod would be no endpoint)."""
        if not svc["spec"].get("selector") or not selector_matches(svc["spec"]["selector"], pod.labels):
            return None
        named = {p["name"]: p["containerPort"] for c in pod.spec["containers"] for p in c.get("ports") or []
                 if p.get("name")}
        out = {}
        for p in svc["spec"].get("ports") or []:
            target = p.get("targetPort", p["port"])
            if isinstance(target, str) and target not in named:
                raise AssertionError(f"Service {svc['metadata']['name']} targetPort {target!r} names no port of "
                                     f"pod {pod.name} (ports {sorted(named)})")
            out[str(p["port"])] = named[target] if isinstance(target, str) else target
        return out

    def aliases(self, store: KubeStore, pod: PodRecord) -> list[str]:
        """The Service names an alias on this pod can carry: Services selecting it without remapping a port."""
        out = []
        for svc in store.list("Service"):
            targets = self.targets(svc, pod)
            if targets is not None and all(int(k) == v for k, v in targets.items()) \
                    and svc["metadata"]["name"] not in self.proxies:
                out += self.service_names(svc["metadata"]["name"])
        return out

    def remaps(self, svc: dict) -> bool:
        return any(int(k) != v for _, t in self.endpoints(svc) for k, v in t.items())

    def endpoints(self, svc: dict) -> list[tuple[PodRecord, dict[str, int]]]:
        return [(pod, t) for pod in self.pods.values() if (t := self.targets(svc, pod)) is not None]

    def service_addresses(self, store: KubeStore) -> dict[str, str]:
        """The address each Service name resolves to: its forwarder's, else its (first) endpoint pod's IP."""
        out = {}
        for svc in store.list("Service"):
            name = svc["metadata"]["name"]
            eps = self.endpoints(svc)
            if name in self.proxies:
                out[name] = self.proxies[name][0]
            elif eps:
                out[name] = eps[0][0].ip
        return out

    def check_service_ports(self, store: KubeStore) -> None:
        """Where an alias stands for the ClusterIP, port and targetPort must be the same number."""
        for svc in store.list("Service"):
            if svc["metadata"]["name"] in self.proxies:
                continue
            for pod, targets in self.endpoints(svc):
                for port, target in targets.items():
                    if int(port) != target:
                        raise NotImplementedError(f"Service {svc['metadata']['name']} {port} -> {target}: "
                                                  "an alias cannot remap ports and no forwarder was started")

    def start_proxy(self, svc: dict) -> None:
        """The kube-proxy stand-in for one Service: a container with the Service's names that forwards each port to
        the first endpoint pod (one endpoint per Service in this harness)."""
        name = svc["metadata"]["name"]
        eps = self.endpoints(svc)
        if not eps:
            raise AssertionError(f"Service {name} selects no pod (selector {svc['spec'].get('selector')})")
        pod, targets = eps[0]
        ip = self.allocate_ip()
        container = f"{self.network}-svc-{name}"
        args = ["run", "-d", "--name", container, "--label", f"{LABEL}={self.run_id}", "--network", self.network,
                "--ip", ip]
        for alias in self.service_names(name):
            args += ["--network-alias", alias]
        args += ["--entrypoint", "python3", self.proxy_image, "-c", KUBE_PROXY]
        args += [f"{port}:{pod.ip}:{target}" for port, target in targets.items()]
        docker(*args)
        self.proxies[name] = (ip, container)

    # ---- reconcile Deployments in the store with containers
    def reconcile(self, store: KubeStore) -> None:
        self.data = {"configmaps": {o["metadata"]["name"]: config_data(o) for o in store.list("ConfigMap")},
                     "secrets": {o["metadata"]["name"]: config_data(o) for o in store.list("Secret")}}
        wanted = {d["metadata"]["name"]: d for d in store.list("Deployment")}
        for name in [n for n in self.pods if n not in wanted]:
            self.stop_pod(name)
        for name, dep in wanted.items():
            if name not in self.pods:
                self.start_pod(store, dep)
        for svc in store.list("Service"):
            if self.remaps(svc) and svc["metadata"]["name"] not in self.proxies:
                self.start_proxy(svc)
        self.check_service_ports(store)

    def _volume_args(self, pod: PodRecord, container: dict) -> list[str]:
        vols = {v["name"]: v for v in pod.spec.get("volumes") or []}
        args: list[str] = []
        for m in container.get("volumeMounts") or []:
            v, ro = vols[m["name"]], ",readonly" if m.get("readOnly") else ""
            if "emptyDir" in v:
                args += ["--mount", f"type=volume,dst={m['mountPath']},volume-label={LABEL}={self.run_id}"]
            elif "configMap" in v or "secret" in v:
                kind, ref = ("configmaps", v["configMap"]["name"]) if "configMap" in v else \
                    ("secrets", v["secret"]["secretName"])
                src = os.path.join(self._tmp, f"{pod.name}-{m['name']}")
                os.makedirs(src, exist_ok=True)
                for key, value in self.data[kind][ref].items():
                    with open(os.path.join(src, key), "w") as fh:
                        fh.write(value)
                os.chmod(src, 0o755)
                for f in os.listdir(src):
                    os.chmod(os.path.join(src, f), 0o644)
                target = os.path.join(src, m["subPath"]) if m.get("subPath") else src
                args += ["--mount", f"type=bind,src={target},dst={m['mountPath']}{ro}"]
            elif "hostPath" in v:
                args += ["--mount", f"type=bind,src={v['hostPath']['path']},dst={m['mountPath']}{ro}"]
            else:
                raise NotImplementedError(f"volume {m['name']}: {sorted(v)}")
        return args

    def run_args(self, pod: PodRecord, container: dict, env: dict[str, str], network: list[str]) -> list[str]:
        image = self.images.get(container["image"], container["image"])
        limits = (container.get("resources") or {}).get("limits") or {}
        args = ["run", "-d", "--name", f"{PREFIX}{self.run_id}-{pod.name}-{container['name']}"[:128],
                "--label", f"{LABEL}={self.run_id}", "--label", f"io.daskmetal.oppods.pod={pod.name}",
                *network]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        if "cpu" in limits:
            args += ["--cpus", f"{parse_quantity(limits['cpu']):g}"]
        if "memory" in limits:
            args += ["--memory", str(int(parse_quantity(limits["memory"])))]
        if container.get("workingDir"):
            args += ["-w", container["workingDir"]]
        sc = {**(pod.spec.get("securityContext") or {}), **(container.get("securityContext") or {})}
        if "runAsUser" in sc:
            args += ["--user", f"{sc['runAsUser']}:{sc.get('runAsGroup', 0)}"]
        args += self._volume_args(pod, container)
        command = [expand(c, env) for c in container.get("command") or []]
        cargs = [expand(a, env) for a in container.get("args") or []]
        pod.commands[container["name"]] = command + cargs
        if command:
            args += ["--entrypoint", command[0], image, *command[1:], *cargs]
        else:  # args only: the image's ENTRYPOINT stays and args replace its CMD
            args += [image, *cargs]
        return args

    def start_pod(self, store: KubeStore, deployment: dict) -> PodRecord:
        pod = PodRecord(deployment, self.namespace, self.allocate_ip(), self.gateway)
        self.pods[pod.deployment] = pod
        if pod.spec.get("initContainers"):
            raise NotImplementedError("initContainers")
        links = service_link_env(store.list("Service"), self.service_addresses(store))
        first = None
        for container in pod.spec["containers"]:
            env = container_env(container, pod, links, self.data)
            pod.env[container["name"]] = env
            if first is None:
                network = ["--network", self.network, "--ip", pod.ip, "--hostname", pod.name]
                for alias in self.aliases(store, pod):
                    network += ["--network-alias", alias]
            else:  # the pod's containers share its network namespace
                network = ["--network", f"container:{first}"]
            name = docker(*self.run_args(pod, container, env, network)).stdout.strip()
            first = first or name
            pod.containers[container["name"]] = name
        LOG.info("pod %s (%s) started: %s", pod.name, pod.ip, pod.commands)
        return pod

    def stop_pod(self, deployment: str) -> None:
        pod = self.pods.pop(deployment)
        for name in reversed(list(pod.containers.values())):
            docker("rm", "-f", "-v", name, check=False)

    def logs(self, pod: PodRecord, container: str | None = None) -> str:
        name = pod.containers[container or next(iter(pod.containers))]
        out = docker("logs", "--tail", "60", name, check=False)
        return out.stdout + out.stderr

    def running(self, pod: PodRecord) -> bool:
        state = docker("inspect", "-f", "{{.State.Running}}", *pod.containers.values(), check=False)
        return state.returncode == 0 and set(state.stdout.split()) == {"true"}

    def restart(self, pod: PodRecord, container: str) -> bool:
        """restartPolicy Always with the crash back-off; False once MAX_RESTARTS are used up (CrashLoopBackOff)."""
        if pod.restarts >= self.max_restarts:
            return False
        LOG.warning("pod %s exited, restart %d:\n%s", pod.name, pod.restarts + 1, self.logs(pod, container))
        time.sleep(BACKOFF_SECONDS * 2 ** pod.restarts)
        pod.restarts += 1
        for name in pod.containers.values():
            docker("start", name, check=False)
        return True

    # ---- readiness
    def probe_once(self, pod: PodRecord, container: dict, probe: dict) -> bool:
        named = {p["name"]: p["containerPort"] for p in container.get("ports") or [] if p.get("name")}
        timeout = probe.get("timeoutSeconds", 1)
        if "httpGet" in probe:
            hg = probe["httpGet"]
            port = named[hg["port"]] if isinstance(hg["port"], str) else hg["port"]
            url = f"{hg.get('scheme', 'HTTP').lower()}://{hg.get('host') or pod.ip}:{port}{hg.get('path', '/')}"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    return 200 <= resp.status < 400
            except (urllib.error.URLError, OSError):
                return False
        if "tcpSocket" in probe:
            import socket
            port = probe["tcpSocket"]["port"]
            port = named[port] if isinstance(port, str) else port
            with socket.socket() as s:
                s.settimeout(timeout)
                return s.connect_ex((pod.ip, port)) == 0
        if "exec" in probe:
            name = pod.containers[container["name"]]
            return docker("exec", name, *probe["exec"]["command"], check=False, timeout=timeout + 5).returncode == 0
        raise NotImplementedError(f"probe {sorted(probe)}")

    def wait_ready(self, pod: PodRecord, timeout: float = 180) -> None:
        """Each container's startupProbe, then its readinessProbe, polled like the prober (readiness is not probed
        before startup succeeded); no probe means ready once running."""
        deadline = time.monotonic() + timeout
        for container in pod.spec["containers"]:
            for kind in ("startupProbe", "readinessProbe"):
                self._wait_probe(pod, container, kind, container.get(kind), deadline, timeout)

    def _wait_probe(self, pod: PodRecord, container: dict, kind: str, probe: dict | None, deadline: float,
                    timeout: float) -> None:
        if probe:
            time.sleep(probe.get("initialDelaySeconds", 0))
        ok_in_row = 0
        while True:
            if not self.running(pod):
                if self.restart(pod, container["name"]):
                    ok_in_row = 0
                    continue
                raise AssertionError(f"pod {pod.name} container exited {pod.restarts + 1} times (CrashLoopBackOff), "
                                     f"ran {pod.commands}:\n{self.logs(pod, container['name'])}")
            if not probe:
                return
            ok_in_row = ok_in_row + 1 if self.probe_once(pod, container, probe) else 0
            if ok_in_row >= (probe.get("successThreshold", 1) if kind == "readinessProbe" else 1):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"pod {pod.name}: {kind} not passed after {timeout}s, ran {pod.commands}:\n"
                                     f"{self.logs(pod, container['name'])}")
            time.sleep(probe.get("periodSeconds", 10))

    def resolve(self, name: str) -> str:
        """What a pod on the lab network gets for `name` from DNS (Docker's embedded DNS holds the aliases)."""
        pod = next(iter(self.pods.values()))
        out = docker("exec", next(iter(pod.containers.values())), "getent", "hosts", name, check=False)
        if out.returncode != 0:
            raise AssertionError(f"{name} does not resolve on the lab network")
        return out.stdout.split()[0]

    def cleanup(self) -> None:
        for dep in list(self.pods):
            self.stop_pod(dep)
        for _, container in self.proxies.values():
            docker("rm", "-f", container, check=False)
        ids = docker("ps", "-aq", "--filter", f"label={LABEL}={self.run_id}", check=False).stdout.split()
        if ids:
            docker("rm", "-f", "-v", *ids, check=False)
        docker("network", "rm", self.network, check=False)
        vols = docker("volume", "ls", "-q", "--filter", f"label={LABEL}={self.run_id}", check=False).stdout.split()
        if vols:
            docker("volume", "rm", *vols, check=False)
        subprocess.run(["rm", "-rf", self._tmp], check=False)


# --------------------------------------------------------------------------------------------------------------
# driving the operator's handlers
# --------------------------------------------------------------------------------------------------------------
class OperatorLab:
    """The operator's kopf handlers run against a KubeStore; after each, the LabKubelet reconciles the pods."""

    def __init__(self, run_id: str, namespace: str, images: dict[str, str] | None = None,
                 proxy_image: str | None = None):
        from dask_kubernetes.operator.controller import controller  # the pinned operator's own code

        self.controller = controller
        self.store = KubeStore(namespace)
        self.kubelet = LabKubelet(run_id, namespace, images, proxy_image)
        self.classes = self.store.bind()
        self.namespace = namespace
        self.monitors: list[dict] = []  # PodMonitors applied (the test plays the Prometheus Operator)
        self.log: list[str] = []  # what the operator's handlers logged, for the test's evidence
        self.logger = logging.getLogger(f"oppods.operator.{run_id}")
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(_ListHandler(self.log))

    @contextmanager
    def _patched(self, body: dict) -> Iterator[None]:
        """The controller module's kr8s names point at the store while a handler runs, with kopf's cause set so that
        `kopf.adopt(data)` finds its owner as it does inside a real handler."""
        import kopf
        from kopf._core.actions import execution
        from kopf._core.intents import causes

        names = ("Deployment", "Service", "DaskCluster", "DaskWorkerGroup", "kr8s")
        saved = {n: getattr(self.controller, n) for n in names}
        saved["get_scheduler_address"] = self.controller.get_scheduler_address
        cause = causes.ResourceCause(logger=self.logger, indices={}, memo=kopf.Memo(), resource=None,
                                     patch=kopf.Patch(), body=kopf.Body(body))
        token = execution.cause_var.set(cause)
        try:
            for n in names:
                setattr(self.controller, n, getattr(self.classes, n))
            self.controller.get_scheduler_address = self.scheduler_address
            yield
        finally:
            execution.cause_var.reset(token)
            for n, v in saved.items():
                setattr(self.controller, n, v)

    async def scheduler_address(self, service_name: str, namespace: str, port_name: str = "tcp-comm",
                                port_forward_cluster_ip=None, local_port=None, allow_external=True) -> str:
        """networking.get_scheduler_address, in-cluster branch: tcp://<svc>.<ns>:<port>, the name as DNS resolves."""
        from dask_kubernetes.operator.networking import _get_port

        raw = self.store.objects[("Service", service_name)]
        port = _get_port(_Box(raw), port_name)
        return f"tcp://{self.kubelet.resolve(f'{service_name}.{namespace}')}:{port}"

    def _call(self, handler: Callable, body: dict, **kw: Any) -> Any:
        import kopf

        kbody = kopf.Body(_plain(body))
        args = dict(body=kbody, spec=kbody.spec, meta=kbody.metadata, name=kbody.metadata.name,
                    namespace=self.namespace, logger=self.logger, patch=kopf.Patch())
        args.update(kw)
        with self._patched(body):
            out = asyncio.run(handler(**args))
        self.kubelet.reconcile(self.store)
        return out

    def create_cluster(self, daskcluster: dict) -> None:
        """What kopf runs for a new DaskCluster: daskcluster_create (status Created), daskcluster_create_components
        (scheduler Deployment + Service + default DaskWorkerGroup), then daskworkergroup_create for that group."""
        body = _plain(daskcluster)
        body["metadata"].setdefault("namespace", self.namespace)
        self.store.put("DaskCluster", body)
        self._call(self.controller.daskcluster_create, body)
        self._call(self.controller.daskcluster_create_components, body)
        wg = self.store.objects[("DaskWorkerGroup", f"{body['metadata']['name']}-default")]
        self._call(self.controller.daskworkergroup_create, wg, new=wg["spec"]["worker"].get("replicas"))

    def apply(self, objects: list[dict]) -> list[str]:
        """Core objects the role applies itself (ConfigMap, Secret, Deployment, Service) go into the store and the
        kubelet reconciles; DaskCluster goes through the operator (create_cluster). Returns the kinds not run here
        (RBAC, PodMonitor, DaskAutoscaler: nothing in the lab consumes them)."""
        skipped = []
        for obj in objects:
            if obj["kind"] in ("ConfigMap", "Secret", "Deployment", "Service"):
                self.store.put(obj["kind"], obj)
            elif obj["kind"] == "DaskCluster":
                self.create_cluster(obj)
            else:
                if obj["kind"] == "PodMonitor":
                    self.monitors.append(_plain(obj))
                skipped.append(f"{obj['kind']}/{obj['metadata']['name']}")
        self.kubelet.reconcile(self.store)
        return skipped

    def scale(self, cluster_name: str, replicas: int) -> None:
        """What kopf runs when spec.worker.replicas of the default worker group changes (after `DaskCluster.scale` or
        `kubectl scale`): daskworkergroup_replica_update with new=replicas."""
        wg = self.store.objects[("DaskWorkerGroup", f"{cluster_name}-default")]
        wg["spec"]["worker"]["replicas"] = replicas
        self._call(self.controller.daskworkergroup_replica_update, wg, new=replicas)

    def delete_cluster(self, name: str) -> list[str]:
        """What follows `KubeCluster.close()` deleting a DaskCluster: the API server removes it, and garbage
        collection (ownerReferences, which the handlers set through kopf.adopt/DaskCluster.adopt) removes what the
        operator made for it: its worker groups, Deployments and Service (matched here by the
        dask.org/cluster-name label the operator puts on all of them). Returns what went."""
        gone = []
        for (kind, obj_name), obj in list(self.store.objects.items()):
            owned = (obj["metadata"].get("labels") or {}).get("dask.org/cluster-name") == name
            if (kind == "DaskCluster" and obj_name == name) or (owned and kind in
                                                                 ("DaskWorkerGroup", "Deployment", "Service")):
                self.store.remove(kind, obj_name)
                gone.append(f"{kind}/{obj_name}")
        self.kubelet.reconcile(self.store)
        return gone

    def pods(self, component: str | None = None, cluster: str | None = None) -> list[PodRecord]:
        return [p for p in self.kubelet.pods.values()
                if (component is None or p.labels.get("dask.org/component") == component)
                and (cluster is None or p.labels.get("dask.org/cluster-name") == cluster)]

    def cleanup(self) -> None:
        self.kubelet.cleanup()


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


class _Box:
    """Attribute access over a Service dict, as kr8s objects give it (service.spec.ports[i].name)."""

    def __init__(self, raw: Any):
        self._raw = raw

    def __getattr__(self, key: str) -> Any:
        value = self._raw[key]
        if isinstance(value, dict):
            return _Box(value)
        if isinstance(value, list):
            return [_Box(v) if isinstance(v, dict) else v for v in value]
        return value


@contextmanager
def operator_lab(namespace: str, images: dict[str, str] | None = None, proxy_image: str | None = None
                 ) -> Iterator[OperatorLab]:
    lab = OperatorLab(secrets.token_hex(4), namespace, images, proxy_image)
    with ExitStack() as stack:
        stack.callback(lab.cleanup)
        yield lab
