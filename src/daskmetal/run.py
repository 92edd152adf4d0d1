"""Run one playbook through ansible-runner: live progress, summary, JSON artefact, exit code."""
from __future__ import annotations

import datetime as _dt
import json
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from . import environment as _environment
from .redact import Redactor

# Exit codes (documented in docs/runbooks/README.md and `daskmetal --help`).
EXIT_OK = 0
EXIT_INTERNAL = 1          # a bug or an environment problem in the CLI itself
EXIT_FAILED = 2            # at least one host had a failed task
EXIT_UNREACHABLE = 3       # no failed task, but at least one host was unreachable
EXIT_USAGE = 4             # bad command line: unknown runbook, missing inventory, bad value
EXIT_ANSIBLE = 5           # ansible-playbook stopped without per-host failures (syntax error, bad inventory, ...)
EXIT_TIMEOUT = 6           # the run exceeded --timeout and was cancelled
EXIT_DECLINED = 7          # a destructive runbook was not confirmed
EXIT_INTERRUPTED = 130     # Ctrl-C

STAT_KEYS = ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored")
COLUMNS = (("ok", "ok"), ("changed", "changed"), ("failed", "failures"), ("unreachable", "dark"),
           ("skipped", "skipped"), ("rescued", "rescued"), ("ignored", "ignored"))
HOST_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
    "runner_item_on_failed": "failed",
}


class UsageError(Exception):
    """A problem with the command line; exits with EXIT_USAGE."""


@dataclass
class RunRequest:
    command: str
    playbook: Path
    project_dir: Path
    inventory: list[Path]
    extravars: dict[str, Any] = field(default_factory=dict)
    extravar_files: list[Path] = field(default_factory=list)
    check: bool = False
    diff: bool = False
    limit: str | None = None
    tags: str | None = None
    skip_tags: str | None = None
    verbosity: int = 0
    timeout: int | None = None
    output: str = "text"          # text | json | quiet


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


class Progress:
    """Turns runner events into one line per play, task and host result."""

    def __init__(self, stream: TextIO, redactor: Redactor, enabled: bool):
        self.stream = stream
        self.redactor = redactor
        self.enabled = enabled
        self.events: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self._task_printed: str | None = None
        self._item_msgs: dict[tuple[str, str], list[str]] = {}
        self._started = time.monotonic()

    def _out(self, line: str) -> None:
        if self.enabled:
            self.stream.write(self.redactor.text(line) + "\n")
            self.stream.flush()

    def _elapsed(self) -> str:
        secs = int(time.monotonic() - self._started)
        return f"{secs // 60:02d}:{secs % 60:02d}"

    def __call__(self, event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_play_start":
            self._out(f"[{self._elapsed()}] PLAY  {data.get('play', '')}")
        elif kind == "playbook_on_task_start":
            self._task_printed = None
        elif kind in HOST_EVENTS or kind == "runner_item_on_ok":
            self._host_event(kind, data)
        return True

    def _host_event(self, kind: str, data: dict[str, Any]) -> None:
        res = data.get("res") or {}
        task = data.get("task", "")
        host = data.get("host", "?")
        if kind == "runner_item_on_ok":
            return
        status = HOST_EVENTS[kind]
        changed = bool(res.get("changed")) if isinstance(res, dict) else False
        if status == "ok" and changed:
            status = "changed"
        ignored = bool(data.get("ignore_errors")) and status == "failed"
        record = {
            "task": task,
            "host": host,
            "status": status + (" (ignored)" if ignored else ""),
            "play": data.get("play", ""),
            "task_path": data.get("task_path", ""),
            "duration": data.get("duration"),
        }
        msg = _message(res) if status in ("failed", "unreachable") else None
        if kind.startswith("runner_item_") and msg:
            self._item_msgs.setdefault((host, task), []).append(msg)
        elif msg and (host, task) in self._item_msgs:
            # A loop's own result only says "One or more items failed": say which and why.
            msg = "; ".join(dict.fromkeys(self._item_msgs.pop((host, task))))
        if msg:
            record["msg"] = msg
        record = self.redactor.data(record)
        self.events.append(record)
        # Per-item failures are followed by the task's own result, which is the one that counts.
        if status in ("failed", "unreachable") and not ignored and not kind.startswith("runner_item_"):
            self.failures.append(record)
        if task != self._task_printed:
            self._out(f"[{self._elapsed()}]   TASK  {task}")
            self._task_printed = task
        line = f"          {record['status']:<12} {host}"
        if msg:
            line += f": {msg}"
        self._out(line)


def _message(res: Any) -> str:
    if not isinstance(res, dict):
        return str(res)[:500]
    if res.get("censored"):
        return str(res["censored"])
    parts = [str(res.get("msg", "")).strip()]
    for key in ("stderr", "module_stderr"):
        if res.get(key):
            parts.append(str(res[key]).strip().splitlines()[-1])
    text = " | ".join(p for p in parts if p)
    return text[:500]


def host_table(stats: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    hosts = sorted({h for key in STAT_KEYS for h in (stats.get(key) or {})})
    rows = []
    for host in hosts:
        row = {"host": host}
        for column, key in COLUMNS:
            row[column] = int((stats.get(key) or {}).get(host, 0))
        rows.append(row)
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    headers = ["host"] + [c for c, _ in COLUMNS]
    width = {h: max([len(h)] + [len(str(r[h])) for r in rows]) for h in headers}
    lines = ["  ".join(h.upper().ljust(width[h]) if h == "host" else h.upper().rjust(width[h]) for h in headers)]
    for row in rows:
        lines.append("  ".join(str(row[h]).ljust(width[h]) if h == "host" else str(row[h]).rjust(width[h])
                               for h in headers))
    return "\n".join(lines)


def exit_code_for(rc: int | None, status: str, stats: dict[str, dict[str, int]]) -> int:
    if status == "timeout":
        return EXIT_TIMEOUT
    if status == "canceled":
        return EXIT_INTERRUPTED
    if any((stats.get("failures") or {}).values()):
        return EXIT_FAILED
    if any((stats.get("dark") or {}).values()):
        return EXIT_UNREACHABLE
    if rc not in (0, None) or status not in ("successful",):
        return EXIT_ANSIBLE
    return EXIT_OK


# How many run folders .cache/runs keeps (the newest; each holds a run's events and output).
KEEP_RUNS_DEFAULT = 50


def run_dir_for(project_dir: Path, command: str, keep: int | None = None) -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    path = project_dir / ".cache" / "runs" / f"{stamp}-{command}"
    path.mkdir(parents=True, mode=0o700)
    rotate_runs(path.parent, keep if keep is not None else _keep_runs())
    return path


def _keep_runs() -> int:
    try:
        return max(1, int(os.environ.get("DASKMETAL_KEEP_RUNS", KEEP_RUNS_DEFAULT)))
    except ValueError:
        return KEEP_RUNS_DEFAULT


def rotate_runs(runs: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` run folders (their names start with the UTC timestamp); returns them."""
    import shutil

    folders = sorted(p for p in runs.iterdir() if p.is_dir() and not p.is_symlink() and p.name[:8].isdigit())
    old = folders[:-keep] if keep > 0 else folders
    for folder in old:
        shutil.rmtree(folder, ignore_errors=True)
    return old


def _runner(req: RunRequest, run_dir: Path, args: list[str], env: dict[str, str], progress: Progress,
            redactor: Redactor) -> Any:
    """An ansible-runner Runner whose child environment is the allow-listed minimum (environment.minimal).

    ansible-runner copies the CLI's whole environment into the child's and into artifacts/ansible/command
    (ansible-runner 2.4.3 config/_base.py, runner.py Runner.run); ansible_runner.run() is init_runner() + run(),
    so the Runner is built first and its prepared env narrowed before anything is started or written. The
    secret values that remain (provider credentials the playbooks read) are masked in the run folder; the
    command file is scrubbed as soon as the first event arrives, and the whole folder after the run."""
    from ansible_runner.interface import init_runner

    command_file = run_dir / "artifacts" / "ansible" / "command"
    scrubbed = False

    def on_event(event: dict[str, Any]) -> bool:
        nonlocal scrubbed
        if not scrubbed:
            scrubbed = True
            redactor.scrub_file(command_file)
        return progress(event)

    runner = init_runner(
        private_data_dir=str(run_dir),
        project_dir=str(req.project_dir),
        playbook=str(req.playbook),
        inventory=[str(i) for i in req.inventory],
        cmdline=shlex.join(args),
        limit=req.limit,
        tags=req.tags,
        skip_tags=req.skip_tags,
        verbosity=req.verbosity or None,
        envvars=env,
        event_handler=on_event,
        quiet=True,
        suppress_env_files=True,
        timeout=req.timeout,
        ident="ansible",
    )
    runner.config.env = _environment.minimal(runner.config.env, os.environ, env)
    for value in _environment.secret_values(runner.config.env):
        redactor.add(value)
    return runner


def execute(req: RunRequest, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> int:
    redactor = Redactor.from_extravars(req.extravars)
    run_dir = run_dir_for(req.project_dir, req.command)
    text_mode = req.output == "text"
    progress = Progress(stdout, redactor, enabled=text_mode)

    # Extra vars go to ansible-playbook through a 0600 file outside the run folder, deleted afterwards,
    # so that no secret given on the command line is left on disk (ansible-runner would otherwise keep
    # them in env/extravars or in the recorded command line).
    args: list[str] = []
    fd, vars_path = tempfile.mkstemp(prefix="daskmetal-vars-", suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump(req.extravars, handle)
    args += ["-e", f"@{vars_path}"]
    for path in req.extravar_files:
        args += ["-e", f"@{path}"]
    if req.check:
        args.append("--check")
    if req.diff:
        args.append("--diff")

    env = {
        # The ansible-playbook that belongs to this Python (the venv), whatever PATH says.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "ANSIBLE_CONFIG": str(req.project_dir / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        # ansible-runner turns host key checking off when this is unset (ansible_runner/config/_base.py);
        # keep SSH's verification on unless the operator exports ANSIBLE_HOST_KEY_CHECKING=False.
        "ANSIBLE_HOST_KEY_CHECKING": os.environ.get("ANSIBLE_HOST_KEY_CHECKING", "True"),
    }
    header = {
        "command": req.command,
        "playbook": str(req.playbook),
        "inventory": [str(i) for i in req.inventory],
        "limit": req.limit,
        "check": req.check,
        "tags": req.tags,
        "extra_vars": redactor.data(req.extravars),
        "extra_var_files": [str(p) for p in req.extravar_files],
        "run_dir": str(run_dir),
        "started": _now(),
    }
    if text_mode:
        shown = " ".join(f"{k}={json.dumps(v)}" for k, v in header["extra_vars"].items())
        stdout.write(redactor.text(f"daskmetal {req.command}: {req.playbook.relative_to(req.project_dir) if req.playbook.is_relative_to(req.project_dir) else req.playbook}"
                     f" on {', '.join(header['inventory'])}"
                     f"{' (check mode)' if req.check else ''}{' limit=' + req.limit if req.limit else ''}"
                     f"{' vars: ' + shown if shown else ''}\n"))
        stdout.write(f"run folder: {run_dir}\n")
        stdout.flush()

    started = time.monotonic()
    status, rc, stats = "failed", None, {}
    try:
        runner = _runner(req, run_dir, args, env, progress, redactor)
        runner.run()
        status, rc, stats = runner.status, runner.rc, runner.stats or {}
    except KeyboardInterrupt:
        status = "canceled"
    finally:
        os.unlink(vars_path)

    code = exit_code_for(rc, status, stats)
    rows = host_table(stats)
    # Keep the failures of hosts the stats count as failed or unreachable (not ignored ones).
    counted = {h for key in ("failures", "dark") for h, n in (stats.get(key) or {}).items() if n}
    progress.failures = [f for f in progress.failures if f["host"] in counted]
    summary = dict(header)
    summary.update({
        "finished": _now(),
        "duration_seconds": round(time.monotonic() - started, 1),
        "status": status,
        "rc": rc,
        "exit_code": code,
        "stats": {k: stats.get(k, {}) for k in STAT_KEYS},
        "hosts": rows,
        "failures": progress.failures,
        "events": progress.events,
    })
    # Name-based masking for what carries values; stats and host rows are keyed by host names, not variables.
    summary = {k: v if k in ("stats", "hosts") else redactor.data(v, k) for k, v in summary.items()}
    # ansible-runner's own artefacts (stdout, job_events) stay for debugging, scrubbed of secret values.
    redactor.scrub_tree(run_dir)
    artefact = run_dir / "summary.json"
    with os.fdopen(os.open(artefact, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(summary, handle, indent=2, sort_keys=True)

    if req.output == "json":
        stdout.write(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    elif text_mode:
        stdout.write("\n" + (format_table(rows) if rows else "(no host ran a task)") + "\n")
        for failure in progress.failures:
            stdout.write(f"  {failure['status'].upper()}: {failure['host']} / {failure['task']}: {failure.get('msg', '')}\n")
        stdout.write(f"\nresult: {status} (ansible rc={rc}) -> exit {code}; summary: {artefact}\n")
        if code == EXIT_ANSIBLE:
            log = run_dir / "artifacts" / "ansible" / "stdout"
            tail = log.read_text(errors="replace").strip().splitlines()[-12:] if log.is_file() else []
            stdout.write("ansible-playbook stopped before any host failed; its last output:\n")
            stdout.write("".join(f"  | {redactor.text(line)}\n" for line in tail))
    return code
