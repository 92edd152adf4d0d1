"""`daskmetal`: operate the platform. Every command runs one of the project's playbooks through ansible-runner."""
from __future__ import annotations

import argparse
import configparser
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from . import run as _run

# The variable playbooks/scale_dask.yml reads for the wanted number of Dask workers.
SCALE_VARIABLE = "dask_worker_replicas"
# ... and the one that lets it delete the DaskAutoscaler (roles/dask/tasks/scale.yml).
SCALE_DISABLE_ADAPTIVE = "dask_scale_disable_adaptive"

COMMANDS = {
    "deploy": ("site.yml", "build or converge the whole platform (site.yml)"),
    "scale": ("playbooks/scale_dask.yml", "set the number of Dask workers (the DaskCluster's replicas)"),
    "status": ("playbooks/status.yml", "report ZeroTier members, nodes, MetalLB addresses, Dask workers, Prometheus targets"),
    "validate": ("playbooks/status.yml", "status checks + the Dask smoke Job (playbooks/validate.yml); exit 2 when anything is unhealthy"),
    "run": (None, "run a day-2 runbook playbook (playbooks/<name>.yml) or a playbook file"),
}
# Playbooks under playbooks/ that are layers or helpers, not runbooks.
NOT_RUNBOOKS = {"plan"}
# Runbooks that destroy something: the CLI asks on the terminal (the playbook's own prompt cannot be
# answered through ansible-runner) and then passes daskmetal_force=true.
DESTRUCTIVE = {"teardown", "restore", "remove_node", "reset"}

EPILOG = """\
exit codes:
  0    every host ok
  1    internal error in the CLI
  2    at least one host failed a task
  3    no task failed but at least one host was unreachable
  4    usage error (unknown command or runbook, missing inventory, bad value)
  5    ansible-playbook stopped before any host failed (syntax error, bad inventory, no hosts matched)
  6    the run exceeded --timeout
  7    a destructive runbook was not confirmed (answer yes, or pass -e daskmetal_force=true)
  130  interrupted (Ctrl-C)

Every run writes .cache/runs/<timestamp>-<command>/summary.json (stats per host, failures, events); the newest
50 run folders are kept (DASKMETAL_KEEP_RUNS). Values of extra variables whose names look secret (password,
pass, passphrase, token, secret, *_key, access key, auth, credential, vault_*, including ansible_password and
ansible_become_pass) are never printed or kept on disk; tasks with no_log: true stay censored. ansible-playbook gets only the environment it
needs (PATH, HOME, locale, SSH agent, proxies and CA, KUBECONFIG, ANSIBLE_*, DASKMETAL_*, and the provider
credentials SCW_*, AWS_*, K8S_AUTH_*); secret-looking ones among them are masked in the run folder.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 by default: keep 2 for "a host failed"
        self.print_usage(sys.stderr)
        self.exit(_run.EXIT_USAGE, f"{self.prog}: error: {message}\n")


def find_project_dir(explicit: str | None) -> Path:
    candidates = []
    if explicit:
        candidates.append(Path(explicit))
    elif os.environ.get("DASKMETAL_ROOT"):
        candidates.append(Path(os.environ["DASKMETAL_ROOT"]))
    else:
        here = Path.cwd().resolve()
        candidates.extend([here, *here.parents])
        candidates.append(Path(__file__).resolve().parents[2])   # editable install from the source tree
    for path in candidates:
        if (path / "site.yml").is_file() and (path / "ansible.cfg").is_file():
            return path.resolve()
    raise _run.UsageError("cannot find the daskmetal project (a folder with site.yml and ansible.cfg): "
                          "run from inside it, or pass --project-dir / set DASKMETAL_ROOT")


def default_inventory(project_dir: Path) -> list[Path]:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(project_dir / "ansible.cfg")
    value = cfg.get("defaults", "inventory", fallback="inventories/local/hosts.yml")
    return [project_dir / item.strip() for item in value.split(",") if item.strip()]


def parse_extra_vars(values: list[str]) -> tuple[dict[str, Any], list[Path]]:
    """Accept what ansible-playbook -e accepts: key=value pairs, a JSON/YAML mapping, or @file."""
    import yaml

    merged: dict[str, Any] = {}
    files: list[Path] = []
    for value in values:
        value = value.strip()
        if value.startswith("@"):
            path = Path(value[1:]).expanduser()
            if not path.is_file():
                raise _run.UsageError(f"--extra-vars file not found: {path}")
            text = path.read_text(errors="replace")
            if text.lstrip().startswith("$ANSIBLE_VAULT"):
                files.append(path.resolve())      # encrypted: ansible decrypts it; we never see the values
                continue
            data = yaml.safe_load(text) or {}
            if not isinstance(data, dict):
                raise _run.UsageError(f"--extra-vars file {path} does not hold a mapping")
            merged.update(data)
        elif value.startswith("{"):
            try:
                data = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                raise _run.UsageError(f"--extra-vars mapping is not valid JSON/YAML: {exc}") from None
            if not isinstance(data, dict):
                raise _run.UsageError("--extra-vars mapping must be a JSON/YAML object")
            merged.update(data)
        else:
            for pair in shlex.split(value):
                key, sep, val = pair.partition("=")
                if not sep or not key.isidentifier():
                    raise _run.UsageError(f"--extra-vars expects key=value, a JSON object or @file; got {pair.split('=')[0]!r}")
                merged[key] = val
    return merged, files


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-i", "--inventory", action="append", metavar="PATH",
                        help="inventory file or folder (repeatable; default: the one in ansible.cfg, inventories/local)")
    common.add_argument("-C", "--check", action="store_true", help="dry run: ansible-playbook --check")
    common.add_argument("-D", "--diff", action="store_true", help="show file differences (ansible-playbook --diff)")
    common.add_argument("-l", "--limit", metavar="PATTERN", help="only these hosts/groups (ansible-playbook --limit)")
    common.add_argument("-e", "--extra-vars", action="append", default=[], metavar="VARS",
                        help="key=value, a JSON object or @file (repeatable); secret-looking values are masked")
    common.add_argument("-t", "--tags", help="only tasks/layers with these tags")
    common.add_argument("--skip-tags", help="skip tasks/layers with these tags")
    common.add_argument("-v", "--verbose", action="count", default=0, help="ansible verbosity (recorded in the run folder)")
    common.add_argument("--timeout", type=int, metavar="SECONDS", help="cancel the run after this many seconds (exit 6)")
    common.add_argument("--output", choices=("text", "json", "quiet"), default="text",
                        help="text: live progress + table (default); json: only the summary JSON on stdout; quiet: nothing")
    common.add_argument("--project-dir", metavar="PATH", help="the daskmetal checkout (default: found from the current folder)")

    parser = _Parser(prog="daskmetal", description=__doc__, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name, (_, helptext) in COMMANDS.items():
        sp = sub.add_parser(name, parents=[common], help=helptext, description=helptext, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == "scale":
            sp.add_argument("workers", type=_non_negative_int, metavar="N", help="number of Dask workers wanted")
            sp.add_argument("--disable-adaptive", action="store_true",
                            help="delete the DaskAutoscaler first (a fixed count is refused while it owns the workers)")
        if name == "run":
            sp.add_argument("runbook", nargs="?", help="a name from `daskmetal run --list` (e.g. backup, add_node) or a playbook path")
            sp.add_argument("--list", action="store_true", help="list the runbooks and exit")
    return parser


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def list_runbooks(project_dir: Path) -> list[str]:
    return sorted(p.stem for p in (project_dir / "playbooks").glob("*.yml") if p.stem not in NOT_RUNBOOKS)


def resolve_playbook(args: argparse.Namespace, project_dir: Path) -> Path:
    if args.command != "run":
        path = project_dir / COMMANDS[args.command][0]
        if not path.is_file():
            raise _run.UsageError(f"{path.relative_to(project_dir)} does not exist in {project_dir}")
        return path
    name = args.runbook
    if not name:
        raise _run.UsageError("run needs a runbook name (see `daskmetal run --list`) or a playbook path")
    as_path = Path(name).expanduser()
    if as_path.suffix in (".yml", ".yaml") and as_path.is_file():
        return as_path.resolve()
    path = project_dir / "playbooks" / f"{name}.yml"
    if name in NOT_RUNBOOKS or not path.is_file():
        raise _run.UsageError(f"unknown runbook {name!r}; known: {', '.join(list_runbooks(project_dir))}")
    return path


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def confirm(name: str, extravars: dict[str, Any], inventories: list[Path], limit: str | None) -> bool:
    if _truthy(extravars.get("daskmetal_force", False)):
        return True
    if not sys.stdin.isatty():
        print(f"daskmetal: {name} destroys data: confirm on a terminal or pass -e daskmetal_force=true", file=sys.stderr)
        return False
    where = ", ".join(str(i) for i in inventories) + (f" (limit {limit})" if limit else "")
    answer = input(f"About to run {name} on {where}. Type 'yes' to continue: ")
    if answer.strip() != "yes":
        print("daskmetal: not confirmed, nothing was run", file=sys.stderr)
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        project_dir = find_project_dir(args.project_dir)
        if args.command == "run" and args.list:
            for name in list_runbooks(project_dir):
                print(name)
            return _run.EXIT_OK
        playbook = resolve_playbook(args, project_dir)
        inventories = [Path(i).expanduser().resolve() for i in args.inventory] if args.inventory else default_inventory(project_dir)
        for inv in inventories:
            if not inv.exists():
                raise _run.UsageError(f"inventory not found: {inv}")
        extravars, files = parse_extra_vars(args.extra_vars)
        if args.command == "scale":
            extravars[SCALE_VARIABLE] = args.workers
            if args.disable_adaptive:
                extravars[SCALE_DISABLE_ADAPTIVE] = True
        if args.command == "validate":
            extravars["daskmetal_status_strict"] = True
        if args.command == "run" and playbook.stem in DESTRUCTIVE and not args.check:
            if not confirm(playbook.stem, extravars, inventories, args.limit):
                return _run.EXIT_DECLINED
            extravars["daskmetal_force"] = True
        request = _run.RunRequest(
            command=args.command if args.command != "run" else f"run-{playbook.stem}",
            playbook=playbook, project_dir=project_dir, inventory=inventories,
            extravars=extravars, extravar_files=files, check=args.check, diff=args.diff,
            limit=args.limit, tags=args.tags, skip_tags=args.skip_tags, verbosity=args.verbose,
            timeout=args.timeout, output=args.output,
        )
    except _run.UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"daskmetal: error: {exc}", file=sys.stderr)
        return _run.EXIT_USAGE
    try:
        return _run.execute(request)
    except KeyboardInterrupt:
        return _run.EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - report, do not dump a traceback with possible secrets
        print(f"daskmetal: internal error: {type(exc).__name__}: {_run.Redactor.from_extravars(extravars).text(str(exc))}",
              file=sys.stderr)
        return _run.EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
