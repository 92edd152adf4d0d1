"""One Dask process model, two renderings: the Compose project roles/dask_compose really renders (compose.yml.j2 through
tests/services/render_compose.yml) and the Kubernetes objects daskmetal.platform.dask_k8s_manifests renders from the
same spec (the role's own __dask_compose_spec, read back from Ansible) carry the same scheduler, worker and JupyterLab
processes: argv, environment, container ports and health probes, read back from each rendering the way its consumer
reads it (Compose `command`/`environment`/`healthcheck.test`; Kubernetes `args`/`env`/`containerPort`/probes).

The only differences allowed are the ones module_utils/dask_processes.py documents as forced by the platform
(scheduler address, the operator's worker name, the notebook's DaskCluster name); anything else is drift, the way
`dask-scheduler` came into the chart while Compose had moved on. Every Dask argv of both renderings is parsed by the
pinned distributed's own CLI (test_consumers.cli_check), the Kubernetes worker's after the operator built its
Deployment (controller.py build_worker_deployment_spec) and the kubelet expanded $(VAR) references."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from .conftest import ROOT
from .test_consumers import PYTHON, cli_check, render_compose

if str(ROOT / "collections") not in sys.path:
    sys.path.insert(0, str(ROOT / "collections"))

from ansible_collections.daskmetal.platform.plugins.module_utils import dask_processes as model  # noqa: E402
from ansible_collections.daskmetal.platform.plugins.module_utils.dask_render import k8s_manifests  # noqa: E402

pytestmark = pytest.mark.slow

# Explicit sizes, so the rendering does not depend on this machine's CPUs and RAM; a pinned package, so that
# EXTRA_PIP_PACKAGES is part of the comparison.
COMPOSE_VARS = {"dask_compose_worker_replicas": 3, "dask_compose_worker_nthreads": 2,
                "dask_compose_worker_memory_mb": 4096,
                "dask_compose_extra_pip_packages": ["prometheus-client==0.26.0"]}
EXPOSURE = {"scheduler_ip": "10.147.17.240", "jupyter_ip": "10.147.17.241", "source_ranges": ["10.147.17.0/24"]}
DUMP_SPEC = """
- name: The role's process-model spec, as Ansible templates it
  hosts: localhost
  connection: local
  gather_facts: true
  gather_subset: [hardware]
  vars_files: ["{root}/roles/dask_compose/defaults/main.yml", "{root}/roles/dask_compose/vars/main.yml"]
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
    __dask_compose_jupyter_hash: "argon2:not-checked-here"
  tasks:
    - name: Write it
      ansible.builtin.copy:
        content: "{{{{ __dask_compose_spec | to_json }}}}"
        dest: "{out}"
        mode: "0600"
"""


def dump_spec(tmp: Path, extra: dict) -> dict:
    play = tmp / "dump.yml"
    play.write_text(DUMP_SPEC.format(root=ROOT, out=tmp / "spec.json"))
    env = dict(os.environ, ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory")
    r = subprocess.run([str(PYTHON.with_name("ansible-playbook")), "-i", "localhost,", str(play),
                        "-e", json.dumps(extra)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    return json.loads((tmp / "spec.json").read_text())


@pytest.fixture(scope="module")
def renderings(tmp_path_factory):
    out = render_compose(tmp_path_factory.mktemp("compose-model"), COMPOSE_VARS)
    compose = yaml.safe_load((out / "compose.yml").read_text())
    spec = dump_spec(tmp_path_factory.mktemp("spec"), COMPOSE_VARS)
    spec["exposure"] = EXPOSURE
    return {"compose": compose, "kubernetes": k8s_manifests(spec), "spec": spec, "dir": out}


# ---- each rendering read back as its consumer reads it ----------------------------------------------------------

def healthcheck_probe(hc: dict) -> dict:
    """The URL and timing of a Compose healthcheck `["CMD", "python", "-c", CODE]`: CODE is parsed as Python and its
    urllib.request.urlopen(URL, timeout=T) call read (no string matching)."""
    assert hc["test"][:3] == ["CMD", "python", "-c"], hc["test"]
    (call,) = [n for n in ast.walk(ast.parse(hc["test"][3])) if isinstance(n, ast.Call)
               and isinstance(n.func, ast.Attribute) and n.func.attr == "urlopen"]
    url = urlsplit(ast.literal_eval(call.args[0]))
    assert url.hostname == "127.0.0.1" and url.scheme == "http", url
    seconds = {k: int(hc[k].removesuffix("s")) for k in ("interval", "timeout", "start_period", "start_interval")}
    timeout = [ast.literal_eval(k.value) for k in call.keywords if k.arg == "timeout"]
    assert timeout and timeout[0] < seconds["timeout"], "urlopen must give up before Docker kills the check"
    return {"path": url.path, "port": url.port, "period": seconds["interval"], "timeout": seconds["timeout"],
            "failures": hc["retries"], "start_period": seconds["start_period"],
            "start_interval": seconds["start_interval"]}


def compose_processes(compose: dict) -> dict:
    out = {}
    for name, svc in (("scheduler", "scheduler"), ("worker", "worker"), ("jupyter", "notebook")):
        s = compose["services"][svc]
        assert "entrypoint" not in s  # the image's entrypoint runs the command (dask-docker prepare.sh)
        assert isinstance(s["command"], list) and isinstance(s["environment"], dict)
        published = {int(p.rsplit(":", 1)[1]) for p in s.get("ports", [])}  # HOST_IP:HOST_PORT:CONTAINER_PORT
        exposed = {int(p) for p in s.get("expose", [])} | published  # compose-spec `expose`: container ports
        out[name] = {"argv": s["command"], "env": s["environment"], "ports": sorted(exposed),
                     "probe": healthcheck_probe(s["healthcheck"])}
    return out


def k8s_probe(container: dict) -> dict:
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    ready, live, start = container["readinessProbe"], container["livenessProbe"], container["startupProbe"]
    assert ready == live and ready["httpGet"] == start["httpGet"], "one check, like Compose's one healthcheck"
    port = ready["httpGet"]["port"]
    return {"path": ready["httpGet"]["path"], "port": ports[port] if isinstance(port, str) else port,
            "period": ready["periodSeconds"], "timeout": ready["timeoutSeconds"],
            "failures": ready["failureThreshold"],
            "start_period": start["periodSeconds"] * start["failureThreshold"],
            "start_interval": start["periodSeconds"]}


def k8s_process(container: dict) -> dict:
    assert "command" not in container  # args only: the image's entrypoint stays, as in Compose
    return {"argv": container["args"], "env": {e["name"]: e["value"] for e in container["env"]},
            "ports": sorted(p["containerPort"] for p in container["ports"]), "probe": k8s_probe(container)}


def k8s_containers(docs: list[dict]) -> dict:
    (cluster,) = [d for d in docs if d["kind"] == "DaskCluster"]
    (jupyter,) = [d for d in docs if d["kind"] == "Deployment"]
    (sched,) = cluster["spec"]["scheduler"]["spec"]["containers"]
    (worker,) = cluster["spec"]["worker"]["spec"]["containers"]
    (lab,) = jupyter["spec"]["template"]["spec"]["containers"]
    return {"scheduler": sched, "worker": worker, "jupyter": lab}


def platform_neutral(procs: dict, spec: dict) -> dict:
    """Undo the differences dask_processes.py documents as the platform's, and only those (each must be there)."""
    procs, spec = json.loads(json.dumps(procs)), model.normalize(spec)
    k8s_addr = "tcp://%s-scheduler.%s.svc.cluster.local:%s" % (spec["name"], spec["namespace"],
                                                              spec["scheduler"]["port"])
    compose_addr = "tcp://scheduler:%s" % spec["scheduler"]["port"]
    for p in procs.values():
        assert p["env"]["DASK_SCHEDULER_ADDRESS"] == k8s_addr
        p["env"] = {k: v.replace(k8s_addr, compose_addr) for k, v in p["env"].items()}
        p["argv"] = [a.replace(k8s_addr, compose_addr) for a in p["argv"]]
    assert procs["worker"]["argv"][-2:] == ["--name", "$(DASK_WORKER_NAME)"]
    del procs["worker"]["argv"][-2:]
    env = procs["jupyter"]["env"]
    assert (env.pop("DASKMETAL_DASK_CLUSTER"), env.pop("DASKMETAL_NAMESPACE")) == (spec["name"], spec["namespace"])
    return procs


# ---- tests ------------------------------------------------------------------------------------------------------

def test_the_compose_project_uses_the_roles_spec(renderings):
    """The spec read back is the one the template rendered from (same worker sizing and packages)."""
    spec, argv = renderings["spec"], renderings["compose"]["services"]["worker"]["command"]
    assert spec["worker"] == {"replicas": 3, "nthreads": 2, "memory": "4096MiB", "dashboard_port": 8788}
    assert argv[argv.index("--nthreads") + 1] == "2" and argv[argv.index("--memory-limit") + 1] == "4096MiB"


@pytest.mark.parametrize("process", ["scheduler", "worker", "jupyter"])
def test_both_renderings_carry_the_same_process(renderings, process):
    compose = compose_processes(renderings["compose"])
    k8s = platform_neutral({n: k8s_process(c) for n, c in k8s_containers(renderings["kubernetes"]).items()},
                           renderings["spec"])
    assert k8s[process] == compose[process]


def test_the_comparison_sees_drift(renderings):
    """A control: one changed flag, env value or probe on one side is a difference."""
    compose = compose_processes(renderings["compose"])
    k8s = platform_neutral({n: k8s_process(c) for n, c in k8s_containers(renderings["kubernetes"]).items()},
                           renderings["spec"])
    for mutate in (lambda p: p["worker"]["argv"].__setitem__(0, "dask-worker"),
                   lambda p: p["scheduler"]["env"].pop("DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES"),
                   lambda p: p["jupyter"]["probe"].update(path="/lab")):
        drifted = json.loads(json.dumps(k8s))
        mutate(drifted)
        assert drifted != compose


def kubelet_expand(arg: str, env: dict) -> str:
    """$(VAR) references in container args as the kubelet expands them (kubernetes third_party/forked/golang/expansion
    Expand: a defined $(VAR) is replaced, $$ is a literal $, anything else stays as written)."""
    out, i = [], 0
    while i < len(arg):
        if arg.startswith("$$", i):
            out.append("$")
            i += 2
        elif arg.startswith("$(", i) and ")" in arg[i:]:
            end = arg.index(")", i)
            name = arg[i + 2:end]
            out.append(env[name] if name in env else arg[i:end + 1])
            i = end + 1
        else:
            out.append(arg[i])
            i += 1
    return "".join(out)


@pytest.mark.parametrize("case", ["compose-scheduler", "compose-worker", "kubernetes-scheduler",
                                  "kubernetes-worker"])
def test_every_dask_argv_is_accepted_by_distributed(renderings, case, monkeypatch):
    from tests.kubernetes_layer.test_dask_operator_manifests import operator_objects

    platform, name = case.split("-")
    if platform == "compose":
        argv = renderings["compose"]["services"][name]["command"]
    else:
        (cluster,) = [d for d in renderings["kubernetes"] if d["kind"] == "DaskCluster"]
        made = operator_objects(cluster)
        deployment = made["worker_deployment" if name == "worker" else "scheduler_deployment"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e["value"] for e in container["env"]}
        argv = [kubelet_expand(a, env) for a in container["args"]]
        if name == "worker":  # the name the operator retires the worker by is its Deployment's name
            assert argv[argv.index("--name") + 1] == deployment["metadata"]["name"]
            assert env["DASK_SCHEDULER_ADDRESS"] == argv[2]  # ours, which the operator keeps (it only adds)
    assert cli_check(argv, monkeypatch) is None


def test_old_console_scripts_are_rejected(monkeypatch):
    """The defect this model ends: chart 2024.1.1's `dask-scheduler`/`dask-worker` (gone in distributed >= 2026.6.0)."""
    assert "no console script" in cli_check(["dask-scheduler", "--port", "8786"], monkeypatch)
    assert "no console script" in cli_check(["dask-worker", "tcp://dask-scheduler:8786"], monkeypatch)


def test_scheduler_http_routes_are_distributeds_defaults_plus_the_api(renderings):
    """The scheduler's DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES, read by dask.config as the image reads it at start,
    keeps every default route of the pinned distributed (/health, /metrics, the dashboard's statics) and adds
    distributed.http.scheduler.api, whose /api/v1/retire_workers and /api/v1/adaptive_target the operator calls
    first (controller.py retire_workers, get_desired_workers)."""
    import dask.config
    import distributed  # noqa: F401  (loads distributed.yaml's defaults into dask.config)

    (sched,) = [d for d in renderings["kubernetes"] if d["kind"] == "DaskCluster"]
    env = {e["name"]: e["value"]
           for e in sched["spec"]["scheduler"]["spec"]["containers"][0]["env"] if e["name"].startswith("DASK_")}
    routes = dask.config.collect_env(env)["distributed"]["scheduler"]["http"]["routes"]
    defaults = dask.config.get("distributed.scheduler.http.routes")
    assert routes == list(defaults) + ["distributed.http.scheduler.api"]
    paths = {path for module in routes for path, *_ in importlib.import_module(module).routes}
    assert {"/health", "/metrics", "/api/v1/retire_workers", "/api/v1/adaptive_target"} <= paths
    worker_routes = dask.config.get("distributed.worker.http.routes")
    assert "distributed.http.health" in worker_routes  # the workers' /health probe


def test_probe_paths_are_served(renderings):
    """/health on the scheduler's and workers' HTTP servers (distributed.http.health), /api on jupyter_server
    (jupyter_server/base/handlers.py APIVersionHandler, answered without login)."""
    from jupyter_server.base import handlers

    # ServerApp joins these with base_url ("/"): (r"api", APIVersionHandler), its GET @allow_unauthenticated
    assert (r"api", handlers.APIVersionHandler) in handlers.default_handlers
    health = {path for path, *_ in importlib.import_module("distributed.http.health").routes}
    probes = {n: k8s_probe(c)["path"] for n, c in k8s_containers(renderings["kubernetes"]).items()}
    assert probes == {"scheduler": "/health", "worker": "/health", "jupyter": "/api"}
    assert "/health" in health


def test_compose_jupyter_config_is_the_models(renderings):
    """roles/dask_compose/templates/jupyter_server_config.json.j2 writes what dask_processes.jupyter_server_config
    defines (the Kubernetes Secret's content), up to the salted hash."""
    compose_cfg = json.loads((renderings["dir"] / "jupyter" / "jupyter_server_config.json").read_text())
    (secret,) = [d for d in renderings["kubernetes"] if d["kind"] == "Secret"]
    k8s_cfg = json.loads(next(iter(secret["stringData"].values())))
    for cfg in (compose_cfg, k8s_cfg):
        cfg["PasswordIdentityProvider"]["hashed_password"] = "<hash>"
    assert compose_cfg == k8s_cfg
    (mount,) = [v for v in renderings["compose"]["services"]["notebook"]["volumes"] if v.startswith("./jupyter/")]
    assert mount.split(":")[1] == renderings["spec"].get("jupyter", {}).get(
        "config_path", model.DEFAULTS["jupyter"]["config_path"])
