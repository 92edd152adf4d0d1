"""The real consumers read what both stacks render: distributed's own CLI parses every Dask container's command line,
and JupyterLab/jupyter_server load the rendered Jupyter configuration with the container's argv.

Compose side: roles/dask_compose's templates rendered by tests/services/render_compose.yml. Kubernetes side: the dask
values rendered by playbooks/render.yml (the `rendered` fixture of test_render.py), put through what chart 2024.1.1's
templates do with them (no helm binary here; each rule cites its template line)."""

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

from .conftest import ROOT
from .test_render import plan, release, rendered, values  # noqa: F401  (plan, rendered: the shared fixtures)

HERE = Path(__file__).parent
PYTHON = Path(sys.executable)
COMPOSE_PASSWORD = "compose-consumer-test"
pytestmark = pytest.mark.slow

BLOCKER_1 = ("BLOCKER 1 (reviews/platform-services.md): chart 2024.1.1 hard-codes `dask-scheduler`/`dask-worker`, "
             "console scripts that distributed >= 2026.6.0 no longer ships (dask/distributed#9240); the fix is the "
             "move to the Dask Kubernetes Operator")


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


def chart_fullname(rendered) -> str:
    rel = release(rendered, "dask")["release"]
    return rel if "dask" in rel else f"{rel}-dask"  # dask/templates/_helpers.tpl "dask.fullname"


def chart_scheduler_argv(rendered) -> list[str]:
    """dask/helm-chart@2024.1.1 dask/templates/dask-scheduler-deployment.yaml: `args: [dask-scheduler,
    --port={{ scheduler.servicePort }}, --dashboard-address=:8787, scheduler.extraArgs...]` (no `command`)."""
    s = values(rendered, "dask")["scheduler"]
    return ["dask-scheduler", f"--port={s['servicePort']}", "--dashboard-address=:8787", *(s.get("extraArgs") or [])]


def chart_worker_argv(rendered) -> list[str]:
    """dask/helm-chart@2024.1.1 dask/templates/dask-worker-deployment.yaml `args`, with the chart's dask/values.yaml
    defaults `worker.image.dask_worker: "dask-worker"` and `worker.portDashboard: 8790`."""
    v = values(rendered, "dask")
    w = v["worker"]
    limits = (w.get("resources") or {}).get("limits") or {}
    argv = [w["image"].get("dask_worker", "dask-worker"),
            w.get("custom_scheduler_url") or f"{chart_fullname(rendered)}-scheduler:{v['scheduler']['servicePort']}"]
    if limits:
        argv += ["--nthreads", str(w.get("threads_per_worker") or limits["cpu"]),
                 "--memory-limit", str(limits["memory"])]
    argv += ["--no-dashboard", "--dashboard-address", str(w.get("portDashboard", 8790))]
    if w.get("port"):
        argv += ["--worker-port", str(w["port"])]
    return argv + list(w.get("extraArgs") or [])


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
    dask_image = [n for n, s in compose["services"].items() if "/dask/dask:" in s["image"]]
    assert sorted(dask_image) == ["scheduler", "worker"]


@pytest.mark.parametrize("case", [
    "compose-scheduler", "compose-worker",
    pytest.param("kubernetes-scheduler", marks=pytest.mark.xfail(strict=True, reason=BLOCKER_1)),
    pytest.param("kubernetes-worker", marks=pytest.mark.xfail(strict=True, reason=BLOCKER_1)),
])
def test_dask_container_command_exists_in_pinned_distributed(case, request, monkeypatch):
    stack, role = case.split("-")
    if stack == "compose":
        argv = compose_argv(request.getfixturevalue("compose")["services"][role])
    else:
        r = request.getfixturevalue("rendered")
        argv = chart_scheduler_argv(r) if role == "scheduler" else chart_worker_argv(r)
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
CHART_JUPYTER_CONFIG = "/usr/local/etc/jupyter/jupyter_notebook_config.py"  # dask-jupyter-deployment.yaml mountPath
HOME = "/home/jovyan"  # docker-stacks NB_USER's home and the image's WORKDIR


def chart_jupyter_config(jupyter: dict) -> str:
    """dask/helm-chart@2024.1.1 dask/templates/dask-jupyter-config.yaml, key jupyter_notebook_config.py, as the
    template's whitespace trimming renders it."""
    text = f"c = get_config()\nc.NotebookApp.password = '{jupyter['password']}'"
    if jupyter.get("extraConfig"):
        text += "\n\n# jupyter.extraConfig follows below\n" + jupyter["extraConfig"]
    return text + "\n"


def run_sh_argv(env: dict) -> list[str]:
    """dask/dask-docker notebook/run.sh (tag 2026.7.1), the image's CMD: `jupyter lab
    --NotebookApp.base_url="${NB_PREFIX:-/}" --NotebookApp.allow_origin="*" ${JUPYTERLAB_ARGS}`; the unquoted
    ${JUPYTERLAB_ARGS} is split on whitespace (and globbed: ours must hold no glob character)."""
    extra = env.get("JUPYTERLAB_ARGS", "")
    assert not set("*?[") & set(extra), extra
    return ["jupyter", "lab", f"--NotebookApp.base_url={env.get('NB_PREFIX') or '/'}",
            "--NotebookApp.allow_origin=*", *extra.split()]


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


def kubernetes_jupyter(rendered, tmp_path, extra_config_filter=None) -> tuple[dict, str]:
    j = values(rendered, "dask")["jupyter"]
    if extra_config_filter:
        j = {**j, "extraConfig": "\n".join(filter(extra_config_filter, j["extraConfig"].splitlines()))}
    env = {e["name"]: e["value"] for e in j["env"]}
    files = {**IMAGE_JUPYTER_FILES, CHART_JUPYTER_CONFIG: chart_jupyter_config(j)}
    return run_lab(tmp_path, run_sh_argv(env), files)


def test_kubernetes_jupyterlab_loads_our_config(rendered, plan, tmp_path):
    _, hv = plan
    eff, stderr = kubernetes_jupyter(rendered, tmp_path)
    assert_served_as_intended(eff, stderr, hv["vault_jupyter_password"])
    probe = values(rendered, "dask")["jupyter"].get("readinessProbe", {}).get("httpGet", {})
    assert probe == {"path": eff["base_url"] + "api", "port": eff["port"]}  # jupyter_server's unauthenticated /api


def test_without_serverapp_ip_the_chart_config_listens_on_localhost(rendered, tmp_path):
    """BLOCKER 3's mechanism, kept as a control: `--config FILE` makes Jupyter read only FILE, so the image's
    `ServerApp.ip = ""` is lost and jupyter_server's default (localhost) applies."""
    eff, _ = kubernetes_jupyter(rendered, tmp_path, lambda line: "c.ServerApp.ip" not in line)
    assert eff["ip"] == "localhost"
    assert eff["loaded_config_files"] == [str(tmp_path / CHART_JUPYTER_CONFIG.lstrip("/"))]
