"""The real consumers read what both stacks render: distributed's own CLI parses every Dask container's command line,
and JupyterLab/jupyter_server load the rendered Jupyter configuration with the container's argv.

Compose side: roles/dask_compose's templates rendered by tests/services/render_compose.yml. Kubernetes side: the
objects of the one process model (filter daskmetal.platform.dask_k8s_manifests, the Dask Kubernetes Operator's
DaskCluster and the role's JupyterLab Deployment and config Secret), for the spec of
tests/kubernetes_layer/test_dask_operator_manifests.py. tests/services/test_process_model.py proves that both
renderings carry the same processes."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from tests.kubernetes_layer.test_dask_operator_manifests import SPEC, manifests, one

from .conftest import ROOT

HERE = Path(__file__).parent
PYTHON = Path(sys.executable)
COMPOSE_PASSWORD = "compose-consumer-test"
pytestmark = pytest.mark.slow

K8S_PASSWORD = "kubernetes-consumer-test"


# ---- rendering ------------------------------------------------------------------------------------------------

def render_compose(out: Path, extra: dict | None = None) -> Path:
    env = dict(os.environ, ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory")
    cmd = [str(PYTHON.with_name("ansible-playbook")), "-i", "localhost,", str(HERE / "render_compose.yml"),
           "-e", f"out_dir={out}", "-e", f"jupyter_password={COMPOSE_PASSWORD}", "-e", json.dumps(extra or {})]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def compose_dir(tmp_path_factory):
    return render_compose(tmp_path_factory.mktemp("compose"))


@pytest.fixture(scope="module")
def compose(compose_dir):
    return yaml.safe_load((compose_dir / "compose.yml").read_text())


def compose_argv(service: dict) -> list[str]:
    """What the container executes. The Dask images' entrypoint (tini -> prepare.sh -> `exec "$@"`, dask/dask-docker
    base/prepare.sh) and the notebook image's (docker-stacks start.sh) run the command as given. A string command is
    split shell-like by Compose (compose-spec `command`); ours are lists."""
    assert "entrypoint" not in service
    cmd = service["command"]
    return cmd if isinstance(cmd, list) else shlex.split(cmd)


def k8s_spec() -> dict:
    """The Kubernetes spec, with a real hash of K8S_PASSWORD."""
    from ansible_collections.daskmetal.platform.plugins.filter.jupyter import jupyter_password_hash

    return {**SPEC, "jupyter": {**SPEC["jupyter"], "password_hash": jupyter_password_hash(K8S_PASSWORD)}}


def k8s_container(docs: list[dict], process: str) -> dict:
    """The container of `process` as rendered: DaskCluster spec.scheduler.spec / spec.worker.spec (the operator
    copies these pod specs unchanged into the Deployments it creates, controller.py build_*_deployment_spec), or the
    JupyterLab Deployment's pod."""
    if process == "jupyter":
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    else:
        pod = one(docs, "DaskCluster")["spec"][process]["spec"]
    (container,) = pod["containers"]
    return container


def k8s_argv(container: dict) -> list[str]:
    """What the container executes: `args` after the image's entrypoint (no `command`: the dask-docker entrypoint,
    tini -> prepare.sh -> `exec "$@"`, stays). The operator's `$(DASK_WORKER_NAME)` is a plain value for the CLI."""
    assert "command" not in container
    return list(container["args"])


# ---- distributed's CLI ----------------------------------------------------------------------------------------

def click_command(script: str) -> click.Command | None:
    """The click command behind a console script of the test venv (pinned distributed/dask), or None."""
    eps = entry_points(group="console_scripts", name=script)
    if not eps:
        return None
    (ep,) = eps
    obj = ep.load()
    if isinstance(obj, click.Command):
        return obj
    assert ep.value == "dask.__main__:main", f"{script} -> {ep.value}: not a click command this test knows"
    import dask.cli

    # dask.cli.run_cli(): register the `dask_cli` entry points (distributed's scheduler/worker/...) on dask.cli.cli
    for sub in entry_points(group="dask_cli"):
        if sub.name not in dask.cli.cli.commands:
            dask.cli._register_command_ep(dask.cli.cli, sub)
    return dask.cli.cli


def leaf(cmd: click.Command, args: list[str]) -> tuple[click.Command, list[str]]:
    """The (sub)command the argv selects and the path to it (subcommand names)."""
    path = []
    while isinstance(cmd, click.Group) and args and args[0] in cmd.commands:
        path.append(args[0])
        cmd, args = cmd.commands[args[0]], args[1:]
    return cmd, path


def cli_check(argv: list[str], monkeypatch) -> str | None:
    """None if the pinned software accepts argv exactly as given, else why not. Click parses the real argv (types,
    unknown options, distributed's preload_argv callback that turns stray flags into NoSuchOption); only the
    command's callback is replaced, so nothing starts."""
    cmd = click_command(argv[0])
    if cmd is None:
        return f"no console script {argv[0]!r} in the pinned software"
    target, path = leaf(cmd, argv[1:])
    if isinstance(target, click.Group):
        return f"{argv[:2]}: no such subcommand of {argv[0]}"
    seen = {}
    monkeypatch.setattr(target, "callback", lambda **kw: seen.update(kw))
    runner = CliRunner()
    r = runner.invoke(cmd, argv[1:], prog_name=argv[0], standalone_mode=True)
    if r.exit_code != 0 or not seen:
        return f"{argv}: exit {r.exit_code}: {r.output.strip()} {r.exception or ''}".strip()
    help_text = runner.invoke(cmd, [*path, "--help"], prog_name=argv[0]).output
    missing = [a.split("=")[0] for a in argv[1:] if a.startswith("--") and a.split("=")[0] not in help_text]
    if missing or seen.get("preload_argv"):
        return f"{argv}: flags not in `{argv[0]} {' '.join(path)} --help`: {missing} {seen.get('preload_argv') or ''}"
    if seen.get("memory_limit"):
        import logging

        from distributed.worker_memory import parse_memory_limit

        parse_memory_limit(seen["memory_limit"], seen.get("nthreads") or 1, logger=logging.getLogger(__name__))
    return None


def test_compose_dask_services_are_the_checked_ones(compose):
    """Every service that runs distributed's CLI is one the parametrized check below covers (whatever image runs
    it: the upstream Dask image or the project's ML image)."""
    runs_dask = [n for n, s in compose["services"].items() if "command" in s and compose_argv(s)[:1] == ["dask"]]
    assert sorted(runs_dask) == ["scheduler", "worker"]


@pytest.mark.parametrize("case", ["compose-scheduler", "compose-worker", "kubernetes-scheduler", "kubernetes-worker"])
def test_dask_container_command_exists_in_pinned_distributed(case, request, monkeypatch):
    """Review platform-services BLOCKER 1: chart 2024.1.1 ran `dask-scheduler`/`dask-worker`, which distributed
    >= 2026.6.0 no longer ships (dask/distributed#9240). Both stacks now run the process model's `dask scheduler` /
    `dask worker`."""
    stack, role = case.split("-")
    if stack == "compose":
        argv = compose_argv(request.getfixturevalue("compose")["services"][role])
    else:
        argv = k8s_argv(k8s_container(manifests(), role))
    assert cli_check(argv, monkeypatch) is None


def test_compose_zero_workers_stops_only_the_workers(tmp_path, monkeypatch):
    """dask_compose_worker_replicas 0 (review platform-services MINOR 9: it divided by zero in vars/main.yml) renders a
    stack whose worker service Compose scales to none (compose-spec deploy.replicas) while the other services stay,
    and whose worker command distributed's CLI still accepts for when it is scaled up again."""
    compose = yaml.safe_load((render_compose(tmp_path, {"dask_compose_worker_replicas": 0}) / "compose.yml").read_text())
    assert compose["services"]["worker"]["deploy"]["replicas"] == 0
    assert {"scheduler", "notebook", "prometheus"} <= set(compose["services"])
    assert "replicas" not in compose["services"]["scheduler"].get("deploy", {})
    assert cli_check(compose_argv(compose["services"]["worker"]), monkeypatch) is None


@pytest.mark.parametrize("argv, why", [
    (["dask-scheduler", "--port", "8786"], "no console script 'dask-scheduler'"),
    (["dask", "scheduler", "--prot", "8786"], "--prot"),
    (["dask", "worker", "tcp://s:8786", "--nthreads", "two"], "exit 2"),
    (["dask", "worker", "tcp://s:8786", "--memory-limit", "lots"], "lots"),
    (["dask", "schedular"], "no such subcommand"),
])
def test_the_cli_check_rejects_what_distributed_rejects(argv, why, monkeypatch):
    try:
        problem = cli_check(argv, monkeypatch)
    except ValueError as e:  # parse_memory_limit
        problem = str(e)
    assert problem and why in problem, problem


# ---- JupyterLab / jupyter_server ------------------------------------------------------------------------------

# The notebook image's own /etc/jupyter/jupyter_server_config.py, reduced to its server settings: dask/dask-docker
# notebook/Dockerfile (tag 2026.7.1) ADDs jupyter/docker-stacks images/base-notebook/jupyter_server_config.py
# (@26da4ae), which sets `c.ServerApp.ip = ""` and `c.ServerApp.open_browser = False`, and writes a NotebookApp copy
# of it as /etc/jupyter/jupyter_notebook_config.py.
IMAGE_JUPYTER_FILES = {
    "/etc/jupyter/jupyter_server_config.py":
        'c = get_config()\nc.ServerApp.ip = ""\nc.ServerApp.open_browser = False\n',
    "/etc/jupyter/jupyter_notebook_config.py":
        'c = get_config()\nc.NotebookApp.ip = ""\nc.NotebookApp.open_browser = False\n',
}
HOME = "/home/jovyan"  # docker-stacks NB_USER's home and the image's WORKDIR


def run_lab(root: Path, argv: list[str], files: dict[str, str]) -> tuple[dict, str]:
    """Lay the container's Jupyter files out under root (root stands for `/`) and run `jupyter lab` with argv through
    tests/services/jupyter_probe.py. Container paths in argv are mapped under root."""
    assert argv[:2] == ["jupyter", "lab"], argv
    assert entry_points(group="console_scripts", name="jupyter-lab"), "`jupyter lab` runs the jupyter-lab script"
    for path, text in files.items():
        (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (root / path.lstrip("/")).write_text(text)
    home = root / HOME.lstrip("/")
    home.mkdir(parents=True, exist_ok=True)
    args = []
    for a in argv[2:]:
        key, eq, val = a.rpartition("=")
        path = val if eq else a
        mapped = str(root / path.lstrip("/")) if path in files else path
        args.append(f"{key}={mapped}" if eq else mapped)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    r = subprocess.run([str(PYTHON), str(HERE / "jupyter_probe.py"), str(root), *args], cwd=home, env=env,
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1]), r.stderr


def assert_served_as_intended(eff: dict, stderr: str, password: str) -> None:
    from jupyter_server.auth import passwd_check

    problems = [line for line in stderr.splitlines()
                if any(s in line for s in ("not recognized", "Unrecognized", "error linking", "Traceback"))]
    assert problems == []
    assert "jupyterlab | extension was successfully loaded" in stderr
    assert eff["ip"] in ("", "0.0.0.0"), f"JupyterLab listens on {eff['ip']!r}: unreachable from outside the container"
    assert eff["allow_remote_access"] is True  # else requests with a non-local Host header (kubelet probes) get 403
    assert eff["port"] == 8888
    assert eff["open_browser"] is False
    assert eff["identity_provider"] == "PasswordIdentityProvider"
    assert eff["hashed_password"] and passwd_check(eff["hashed_password"], password)
    assert not passwd_check(eff["hashed_password"], password + "x")
    assert eff["token"] == "" and eff["token_generated"] is False  # the password is the only way in


def test_compose_jupyterlab_loads_our_config(compose, compose_dir, tmp_path):
    svc = compose["services"]["notebook"]
    (mount,) = [v.split(":") for v in svc["volumes"] if v.startswith("./jupyter/")]
    cfg = json.loads((compose_dir / mount[0]).read_text())
    # the one change: the container's home directory is under tmp_path here (ServerApp checks that root_dir exists)
    assert cfg["ServerApp"]["root_dir"] == HOME
    cfg["ServerApp"]["root_dir"] = str(tmp_path / HOME.lstrip("/"))
    eff, stderr = run_lab(tmp_path, compose_argv(svc), {**IMAGE_JUPYTER_FILES, mount[1]: json.dumps(cfg)})
    assert_served_as_intended(eff, stderr, COMPOSE_PASSWORD)
    assert eff["loaded_config_files"][-1].endswith(mount[1])
    (published,) = svc["ports"]
    assert int(published.rsplit(":", 1)[1]) == eff["port"]


def kubernetes_jupyter(tmp_path, mutate_config=None) -> tuple[dict, str]:
    """The JupyterLab pod as rendered: its args, the config Secret's key mounted (subPath) at its mountPath, the
    image's own /etc/jupyter files beside it."""
    docs = manifests(k8s_spec())
    container = k8s_container(docs, "jupyter")
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "jupyter-config"]
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    secret = one(docs, "Secret", volume["secret"]["secretName"])
    cfg = json.loads(secret["stringData"][mount["subPath"]])
    assert cfg["ServerApp"]["root_dir"] == HOME
    cfg["ServerApp"]["root_dir"] = str(tmp_path / HOME.lstrip("/"))  # ServerApp checks that root_dir exists
    if mutate_config:
        mutate_config(cfg)
    eff, stderr = run_lab(tmp_path, k8s_argv(container), {**IMAGE_JUPYTER_FILES, mount["mountPath"]: json.dumps(cfg)})
    assert eff["loaded_config_files"][-1].endswith(mount["mountPath"])
    return eff, stderr, container


def test_kubernetes_jupyterlab_loads_our_config(tmp_path):
    eff, stderr, container = kubernetes_jupyter(tmp_path)
    assert_served_as_intended(eff, stderr, K8S_PASSWORD)
    (port,) = container["ports"]
    assert port["containerPort"] == eff["port"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):  # jupyter_server's unauthenticated /api
        assert container[probe]["httpGet"] == {"path": eff["base_url"] + "api", "port": port["name"]}
    svc = one(manifests(k8s_spec()), "Service")
    assert [p["targetPort"] for p in svc["spec"]["ports"]] == [port["name"]]


def test_a_localhost_jupyter_config_is_caught(tmp_path):
    """Review platform-services BLOCKER 3 as a control: a server that listens on localhost fails the check."""
    eff, stderr, _ = kubernetes_jupyter(tmp_path, lambda cfg: cfg["ServerApp"].update(ip="localhost"))
    assert eff["ip"] == "localhost"
    with pytest.raises(AssertionError, match="unreachable from outside the container"):
        assert_served_as_intended(eff, stderr, K8S_PASSWORD)
