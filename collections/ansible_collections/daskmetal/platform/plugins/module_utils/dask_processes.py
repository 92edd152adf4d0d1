# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""The one definition of the platform's Dask processes: scheduler, worker and JupyterLab (pure functions, no I/O).

Both stacks render from here: roles/dask_compose (filter ``dask_compose_services``, see dask_render.py) and roles/dask
(filter ``dask_k8s_manifests``). A process is data::

    {"name": "scheduler" | "worker" | "jupyter",
     "image": str, "image_pull_policy": str,
     "argv": [str, ...],            # the container command after the image's entrypoint (Compose `command`,
                                    # Kubernetes `args`: the images' tini/prepare.sh entrypoint stays and installs
                                    # EXTRA_PIP_PACKAGES, dask/dask-docker base/prepare.sh)
     "env": {NAME: value, ...},     # ordered
     "ports": [{"name": str, "port": int}, ...],   # container ports (TCP), names as the operator expects
     "probe": {"path": str, "port": <port name>, "period_seconds": int, "timeout_seconds": int,
               "failure_threshold": int, "start_period_seconds": int, "start_interval_seconds": int},
     "resources": {...}}            # Kubernetes resources (requests/limits); Compose keeps its own deploy block

Probes: the scheduler's and workers' ``/health`` (distributed.http.health) and jupyter_server's ``/api`` (answers
without login); every 10 s, 6 s timeout, 5 failures; a start grace of 120 s (JupyterLab 180 s), 900 s for a process
whose EXTRA_PIP_PACKAGES is set (installed before it starts). Compose: one healthcheck; Kubernetes: a startupProbe
for the grace, then readiness and liveness probes with the same check.

``processes(spec, platform)`` returns {"scheduler": ..., "worker": ..., "jupyter": ... (when enabled)} for platform
"compose" or "kubernetes". The two platforms differ only where the platform forces it, and nowhere else:

- the scheduler's address: ``tcp://scheduler:<port>`` (the Compose service name) or
  ``tcp://<name>-scheduler.<namespace>.svc.cluster.local:<port>`` (the Service the operator creates,
  dask_kubernetes/operator/controller/controller.py build_scheduler_service_spec and SCHEDULER_NAME_TEMPLATE
  ``{cluster_name}-scheduler`` in dask_kubernetes/constants.py, dask-kubernetes 2026.3.0);
- Kubernetes workers also get ``--name $(DASK_WORKER_NAME)``: the operator sets DASK_WORKER_NAME to the worker's
  Deployment name (controller.py build_worker_deployment_spec) and scales down by retiring workers *by name* and
  deleting the Deployments of those names (controller.py retire_workers / daskworkergroup_replica_update), as its own
  KubeCluster does (kubecluster.py make_worker_spec). Kubernetes expands ``$(VAR)`` in args; Compose does not, and
  its replicas would all get the same name, so Compose workers keep distributed's default name;
- the Kubernetes JupyterLab gets DASKMETAL_DASK_CLUSTER and DASKMETAL_NAMESPACE, for
  ``dask_kubernetes.operator.KubeCluster.from_name(os.environ["DASKMETAL_DASK_CLUSTER"])``.

The input, ``spec`` (a dict; unknown keys are rejected, every key below has its default):

name (str, "dask")
    The DaskCluster's name (a DNS-1035 label, at most 40 characters so that the operator's derived names
    ``<name>-default-worker-<10 hex>`` stay valid). Prefix of every Kubernetes object.
namespace (str, "dask")
    Kubernetes namespace of every object.
image (str, required)
    The Dask image of the scheduler and the workers, e.g. ``ghcr.io/dask/dask:2026.8.0-py3.11``.
image_pull_policy (str, "IfNotPresent")
    Always | IfNotPresent | Never (Kubernetes only).
extra_pip_packages (list of "name==version", [])
    Installed by the images' entrypoint at every start (env EXTRA_PIP_PACKAGES) in every process; each entry must
    be pinned with ``==`` (an unpinned entry is an error). [] for an image that already carries what is needed.
workloads_path (str, "/opt/daskmetal/workloads")
    Where the daskmetal_workloads package is mounted in every process (PYTHONPATH): the workers unpickle its
    functions, so it is not JupyterLab's alone.
scheduler.port (int, 8786), scheduler.dashboard_port (int, 8787)
    Container ports: comm (port name ``tcp-comm``) and dashboard/metrics/health (``http-dashboard``), the names
    dask_kubernetes.operator.networking.get_scheduler_address looks up.
scheduler.resources (dict, {})
    Kubernetes resources of the scheduler container.
worker.replicas (int >= 0, 1)
    Fixed worker count (DaskCluster spec.worker.replicas; Compose deploy.replicas stays with the role).
worker.nthreads (int >= 1, 1), worker.memory (str, "2GiB")
    ``--nthreads`` and ``--memory-limit`` (any dask.utils.parse_bytes string: "8GiB", "6969Mi", "4G").
worker.dashboard_port (int, 8788)
    The worker's HTTP server (/health, /metrics), port name ``http-dashboard``.
worker.local_directory (str, "/tmp/dask-worker-space")
    ``--local-directory``.
worker.resources (dict or None, None)
    Kubernetes resources; None: requests = limits = {cpu: nthreads, memory: worker.memory as a quantity}.
adaptive.enabled (bool, False), adaptive.minimum (int, 0), adaptive.maximum (int, worker.replicas)
    A DaskAutoscaler (Kubernetes) between minimum and maximum workers; minimum <= maximum.
jupyter.enabled (bool, True)
    Whether the JupyterLab process exists.
jupyter.image (str, image)
    The notebook image (the Dask notebook image or the ML image).
jupyter.port (int, 8888)
    ServerApp.port and the container port (name ``http``).
jupyter.password_hash (str, required when enabled)
    ``argon2:...`` (filter jupyter_password_hash); PasswordIdentityProvider.hashed_password.
jupyter.root_dir (str, "/home/jovyan"), jupyter.notebooks_path (str, "/home/jovyan/examples")
    ServerApp.root_dir, and where the seed notebooks are mounted.
jupyter.config_path (str, "/etc/jupyter/jupyter_server_config.json")
    Where the JSON config from ``jupyter_server_config(spec)`` is mounted: a config directory jupyter_server reads
    (jupyter_core's SYSTEM_CONFIG_PATH holds /etc/jupyter), beside the image's own jupyter_server_config.py.
jupyter.extra_pip_packages (list of "name==version", [])
    Added to extra_pip_packages in the JupyterLab process only (e.g. dask-kubernetes for KubeCluster).
jupyter.resources (dict, {})
    Kubernetes resources of the JupyterLab container.
exposure.scheduler_ip, exposure.jupyter_ip (str, required for Kubernetes)
    MetalLB addresses (annotation metallb.io/loadBalancerIPs) of the scheduler and JupyterLab Services.
exposure.jupyter_service_port (int, 80)
    The JupyterLab Service port (target: jupyter.port).
exposure.source_ranges (list of CIDR, required non-empty for Kubernetes)
    loadBalancerSourceRanges of both LoadBalancer Services (the ZeroTier network).
labels (dict, {})
    Added to every Kubernetes object and pod (the operator copies the DaskCluster's labels onto its pods).
kubernetes.workloads_configmap (str, "<name>-workloads"), kubernetes.notebooks_configmap (str,
"<name>-seed-notebooks")
    ConfigMaps (made by the role) mounted at <workloads_path>/daskmetal_workloads and jupyter.notebooks_path.
kubernetes.monitors (bool, True), kubernetes.monitor_labels (dict, {}), kubernetes.metrics_interval (str, "30s")
    PodMonitors for scheduler and workers, labelled so that the monitoring Prometheus selects them.
compose.bind_address (str, "127.0.0.1"), compose.login_bind_address (str, "0.0.0.0")
    Host addresses of the published scheduler/dashboard ports and of the JupyterLab port (Compose only).
compose.scheduler_port (int, scheduler.port), compose.dashboard_port (int, scheduler.dashboard_port),
compose.jupyter_port (int, jupyter.port)
    Host ports published for them (Compose only).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import re

PLATFORMS = ("compose", "kubernetes")
COMPOSE_SCHEDULER_HOST = "scheduler"

# distributed's default scheduler HTTP routes (distributed/distributed.yaml, 2026.8.0
# distributed.scheduler.http.routes) plus distributed.http.scheduler.api, the /api/v1 endpoints the operator asks
# first: retire_workers (graceful scale-down), adaptive_target (DaskAutoscaler), check_idle (controller.py).
SCHEDULER_HTTP_ROUTES = [
    "distributed.http.scheduler.prometheus",
    "distributed.http.scheduler.info",
    "distributed.http.scheduler.json",
    "distributed.http.health",
    "distributed.http.proxy",
    "distributed.http.statics",
    "distributed.http.scheduler.api",
]

DEFAULTS = {
    "name": "dask",
    "namespace": "dask",
    "image": None,
    "image_pull_policy": "IfNotPresent",
    "extra_pip_packages": [],
    "workloads_path": "/opt/daskmetal/workloads",
    "scheduler": {"port": 8786, "dashboard_port": 8787, "resources": {}},
    "worker": {"replicas": 1, "nthreads": 1, "memory": "2GiB", "dashboard_port": 8788,
               "local_directory": "/tmp/dask-worker-space", "resources": None},
    "adaptive": {"enabled": False, "minimum": 0, "maximum": None},
    "jupyter": {"enabled": True, "image": None, "port": 8888, "password_hash": None, "root_dir": "/home/jovyan",
                "notebooks_path": "/home/jovyan/examples",
                "config_path": "/etc/jupyter/jupyter_server_config.json", "extra_pip_packages": [],
                "resources": {}},
    "exposure": {"scheduler_ip": None, "jupyter_ip": None, "jupyter_service_port": 80, "source_ranges": []},
    "labels": {},
    "kubernetes": {"workloads_configmap": None, "notebooks_configmap": None, "monitors": True,
                   "monitor_labels": {}, "metrics_interval": "30s"},
    "compose": {"bind_address": "127.0.0.1", "login_bind_address": "0.0.0.0", "scheduler_port": None,
                "dashboard_port": None, "jupyter_port": None},
}

_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?==[A-Za-z0-9.+!_-]+$")


class SpecError(ValueError):
    pass


def _merge(defaults, given, where):
    """defaults overlaid with given, one level of sections deep; unknown keys are an error."""
    given = given or {}
    if not isinstance(given, dict):
        raise SpecError("%s must be a mapping, got %r" % (where or "spec", given))
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise SpecError("unknown key(s) in %s: %s" % (where or "spec", ", ".join(unknown)))
    out = {}
    for key, default in defaults.items():
        value = given.get(key)
        if isinstance(default, dict) and key not in ("labels", "monitor_labels") and where == "":
            out[key] = _merge(default, value, key)
        else:
            out[key] = copy.deepcopy(default if value is None else value)
    return out


def _pinned(packages, where):
    if isinstance(packages, str):
        raise SpecError("%s must be a list of 'name==version', got the string %r" % (where, packages))
    bad = [p for p in packages if not isinstance(p, str) or not _PIN.match(p.strip())]
    if bad:
        raise SpecError("%s: not pinned as 'name==version': %s" % (where, ", ".join(map(str, bad))))
    return [p.strip() for p in packages]


def _int(value, where, minimum):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SpecError("%s must be an integer, got %r" % (where, value))
    if number < minimum or isinstance(value, bool) or str(number) != str(value).strip():
        raise SpecError("%s must be an integer >= %d, got %r" % (where, minimum, value))
    return number


def _check_names(s):
    if not _DNS1035.match(s["name"]) or len(s["name"]) > 40:
        raise SpecError("name must be a DNS-1035 label of at most 40 characters, got %r" % s["name"])
    if not _DNS1035.match(s["namespace"]) or len(s["namespace"]) > 63:
        raise SpecError("namespace must be a DNS label, got %r" % s["namespace"])
    if not s["image"] or not isinstance(s["image"], str):
        raise SpecError("image is required")


def _check_numbers(s):
    for section, key, minimum in (("scheduler", "port", 1), ("scheduler", "dashboard_port", 1),
                                  ("worker", "replicas", 0), ("worker", "nthreads", 1),
                                  ("worker", "dashboard_port", 1), ("jupyter", "port", 1),
                                  ("exposure", "jupyter_service_port", 1), ("adaptive", "minimum", 0)):
        s[section][key] = _int(s[section][key], "%s.%s" % (section, key), minimum)
    a = s["adaptive"]
    a["maximum"] = _int(s["worker"]["replicas"] if a["maximum"] is None else a["maximum"], "adaptive.maximum", 0)
    if a["enabled"] and a["minimum"] > a["maximum"]:
        raise SpecError("adaptive.minimum (%d) > adaptive.maximum (%d)" % (a["minimum"], a["maximum"]))
    if not str(s["worker"]["memory"] or "").strip():
        raise SpecError("worker.memory is required")
    s["worker"]["memory"] = str(s["worker"]["memory"]).strip()


def _check_exposure(s):
    ranges = s["exposure"]["source_ranges"]
    if isinstance(ranges, str):
        raise SpecError("exposure.source_ranges must be a list of CIDRs, got the string %r" % ranges)
    for cidr in ranges:
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            raise SpecError("exposure.source_ranges: %s" % exc)


def normalize(spec):
    """The spec with every default filled in and checked; raises SpecError."""
    s = _merge(DEFAULTS, spec, "")
    _check_names(s)
    _check_numbers(s)
    _check_exposure(s)
    s["extra_pip_packages"] = _pinned(s["extra_pip_packages"], "extra_pip_packages")
    j = s["jupyter"]
    j["image"] = j["image"] or s["image"]
    j["extra_pip_packages"] = _pinned(j["extra_pip_packages"], "jupyter.extra_pip_packages")
    if j["enabled"] and not j["password_hash"]:
        raise SpecError("jupyter.password_hash is required when jupyter.enabled")
    k = s["kubernetes"]
    k["workloads_configmap"] = k["workloads_configmap"] or "%s-workloads" % s["name"]
    k["notebooks_configmap"] = k["notebooks_configmap"] or "%s-seed-notebooks" % s["name"]
    c = s["compose"]
    for key, default in (("scheduler_port", s["scheduler"]["port"]),
                         ("dashboard_port", s["scheduler"]["dashboard_port"]), ("jupyter_port", j["port"])):
        c[key] = _int(default if c[key] is None else c[key], "compose." + key, 1)
    return s


def require_kubernetes(s):
    """The keys only Kubernetes needs."""
    e = s["exposure"]
    missing = [k for k in ("scheduler_ip", "jupyter_ip") if not e[k]]
    missing += [] if e["source_ranges"] else ["source_ranges"]
    if missing:
        raise SpecError("Kubernetes needs exposure.%s" % ", exposure.".join(missing))
    for key in ("scheduler_ip", "jupyter_ip"):
        try:
            ipaddress.ip_address(e[key])
        except ValueError as exc:
            raise SpecError("exposure.%s: %s" % (key, exc))


def scheduler_address(s, platform):
    if platform == "compose":
        host = COMPOSE_SCHEDULER_HOST
    else:
        host = "%s-scheduler.%s.svc.cluster.local" % (s["name"], s["namespace"])
    return "tcp://%s:%d" % (host, s["scheduler"]["port"])


# Start grace: how long a process may take to answer its first check. The images' entrypoint pip-installs
# EXTRA_PIP_PACKAGES before the process starts (dask-docker base/prepare.sh); with TPOT/xgboost that is minutes, and
# on Kubernetes a startupProbe that runs out restarts the container, which would then never finish installing.
START_SECONDS = 120
START_SECONDS_JUPYTER = 180
START_SECONDS_WITH_PIP = 900


def _probe(path, port, start_period, env):
    if env.get("EXTRA_PIP_PACKAGES"):
        start_period = START_SECONDS_WITH_PIP
    return {"path": path, "port": port, "period_seconds": 10, "timeout_seconds": 6, "failure_threshold": 5,
            "start_period_seconds": start_period, "start_interval_seconds": 2}


def _common_env(s, platform, packages):
    env = {"DASK_SCHEDULER_ADDRESS": scheduler_address(s, platform), "PYTHONPATH": s["workloads_path"]}
    if packages:
        env["EXTRA_PIP_PACKAGES"] = " ".join(packages)
    return env


def _scheduler(s, platform):
    sch = s["scheduler"]
    env = _common_env(s, platform, s["extra_pip_packages"])
    # dask config from the environment: DASK_ prefix, __ nesting, values through ast.literal_eval (dask/config.py)
    env["DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES"] = repr(SCHEDULER_HTTP_ROUTES)
    return {"name": "scheduler", "image": s["image"], "image_pull_policy": s["image_pull_policy"],
            "argv": ["dask", "scheduler", "--port", str(sch["port"]),
                     "--dashboard-address", ":%d" % sch["dashboard_port"]],
            "env": env,
            "ports": [{"name": "tcp-comm", "port": sch["port"]},
                      {"name": "http-dashboard", "port": sch["dashboard_port"]}],
            "probe": _probe("/health", "http-dashboard", START_SECONDS, env),
            "resources": copy.deepcopy(sch["resources"])}


def k8s_quantity(memory):
    """A dask memory string as a Kubernetes quantity: 8GiB -> 8Gi, 4GB -> 4G, 6969Mi stays."""
    m = re.match(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgGtTpP]?)(i?)([bB]?)\s*$", str(memory))
    if not m:
        raise SpecError("worker.memory %r is not a size such as 8GiB or 6969Mi" % (memory,))
    number, unit, binary, _ = m.groups()
    if not unit:
        return number
    unit = unit.upper() if (binary or unit.upper() != "K") else "k"
    return number + unit + ("i" if binary else "")


def _worker(s, platform):
    w = s["worker"]
    argv = ["dask", "worker", scheduler_address(s, platform), "--nthreads", str(w["nthreads"]),
            "--memory-limit", w["memory"], "--dashboard-address", ":%d" % w["dashboard_port"],
            "--local-directory", w["local_directory"]]
    if platform == "kubernetes":
        argv += ["--name", "$(DASK_WORKER_NAME)"]
    resources = w["resources"]
    if resources is None:
        size = {"cpu": str(w["nthreads"]), "memory": k8s_quantity(w["memory"])}
        resources = {"requests": dict(size), "limits": dict(size)}
    env = _common_env(s, platform, s["extra_pip_packages"])
    return {"name": "worker", "image": s["image"], "image_pull_policy": s["image_pull_policy"],
            "argv": argv, "env": env,
            "ports": [{"name": "http-dashboard", "port": w["dashboard_port"]}],
            "probe": _probe("/health", "http-dashboard", START_SECONDS, env),
            "resources": copy.deepcopy(resources)}


def jupyter_server_config(spec):
    """The JSON config JupyterLab reads from jupyter.config_path (jupyter_server 2.x traits)."""
    j = normalize(spec)["jupyter"]
    return {
        "IdentityProvider": {"token": ""},
        "PasswordIdentityProvider": {"hashed_password": j["password_hash"], "password_required": True,
                                     "allow_password_change": False},
        "ServerApp": {"ip": "0.0.0.0", "port": j["port"], "open_browser": False, "root_dir": j["root_dir"]},
    }


def _jupyter(s, platform):
    j = s["jupyter"]
    env = _common_env(s, platform, s["extra_pip_packages"] + j["extra_pip_packages"])
    if platform == "kubernetes":
        env["DASKMETAL_DASK_CLUSTER"] = s["name"]
        env["DASKMETAL_NAMESPACE"] = s["namespace"]
    return {"name": "jupyter", "image": j["image"], "image_pull_policy": s["image_pull_policy"],
            "argv": ["jupyter", "lab"], "env": env,
            "ports": [{"name": "http", "port": j["port"]}],
            # jupyter_server's /api answers 200 without login (handlers APIVersionHandler)
            "probe": _probe("/api", "http", START_SECONDS_JUPYTER, env),
            "resources": copy.deepcopy(j["resources"])}


def processes(spec, platform):
    """{"scheduler", "worker"[, "jupyter"]} -> process dict, for platform "compose" or "kubernetes"."""
    if platform not in PLATFORMS:
        raise SpecError("platform must be one of %s, got %r" % (", ".join(PLATFORMS), platform))
    s = normalize(spec)
    out = {"scheduler": _scheduler(s, platform), "worker": _worker(s, platform)}
    if s["jupyter"]["enabled"]:
        out["jupyter"] = _jupyter(s, platform)
    return out


def port_number(process, name):
    (number,) = [p["port"] for p in process["ports"] if p["name"] == name]
    return number
