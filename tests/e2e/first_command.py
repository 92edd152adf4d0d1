"""The README's first command on a fresh lab host, and checks of what its run printed.

    python -m tests.e2e.first_command readme-command                      # the command, as the README gives it
    python -m tests.e2e.first_command source-tar --out FILE               # the checkout as a newcomer clones it
    python -m tests.e2e.first_command wheelhouse --python-version 3.13 --out DIR
    python -m tests.e2e.first_command check --log FILE --container NAME [--rerun]

`check` reads the run's output only: the URLs and the password hint the stack's last task prints, and the
PLAY RECAP. It logs in to JupyterLab with the generated password (read as the printed hint says, on the lab host),
opens the Dask dashboard's /status and asks Prometheus for the scheduler and the printed number of workers, all
from here (the test controller). With --rerun it checks that running the command again changed nothing.

The wheelhouse keeps the lab cheap: pip on the lab host is set up as at an offline site (find-links to a folder
mounted read-only from the controller, no index), so the first command's pip runs install the pinned wheels without
downloading them or asking PyPI. The wheelhouse is kept under .cache/first-command/ and fetched again only when
the pins change.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import urllib.request

from tests.e2e import compose_stack_check

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Not in a fresh clone: the controller's own virtualenv (a symlink in worktrees) and caches.
NOT_CLONED = (".venv", ".cache", ".git")
# What the dashboard's /status serves (distributed 2026.8.0): the Bokeh page in distributed/http/templates/base.html,
# titled "Dask Diagnostic UI" (BokehJS sets the document's own title, "Dask: Status", in the browser).
DASHBOARD_TITLE = re.compile(r"<title>\s*Dask Diagnostic UI\s*</title>")
_URL = re.compile(r"(Dask scheduler|Dask dashboard|Prometheus|JupyterLab|Grafana)\s{2,}((?:https?|tcp)://[^\s'\"]+)")
_WORKERS = re.compile(r"\b(\d+) workers x ")
_PASSWORD_FILE = re.compile(r"JupyterLab\s+\S+\s+password: sudo cat (/\S+)")
_RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def readme_command(readme: str = os.path.join(ROOT, "README.md")) -> str:
    """The one line of the README's first ```sh block: the newcomer's first command."""
    with open(readme, encoding="utf-8") as fh:
        m = re.search(r"^```sh\n(.+?)\n```", fh.read(), re.M | re.S)
    if not m or "\n" in m.group(1):
        raise SystemExit("README.md: the first ```sh block must hold exactly one command")
    return m.group(1)


def source_tar(out: str) -> int:
    """The files a clone has (tracked and new, not ignored), without the controller's venv and caches."""
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    keep = [n for n in names if n and n.split("/", 1)[0] not in NOT_CLONED and os.path.lexists(os.path.join(ROOT, n))]
    with tarfile.open(out, "w") as tar:
        for name in keep:
            tar.add(os.path.join(ROOT, name), arcname=name, recursive=False)
    return len(keep)


def _runtime_requirements() -> list[str]:
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        project = tomllib.load(fh)
    return ["pip", *project["build-system"]["requires"], *project["project"]["dependencies"]]


def wheelhouse(python_version: str, out: str) -> bool:
    """pip download the runtime pins for the lab host's Python; skipped when the pins have not changed."""
    reqs = _runtime_requirements()
    h = hashlib.sha256(python_version.encode())
    for part in (*reqs, open(os.path.join(ROOT, "constraints.txt"), encoding="utf-8").read()):
        h.update(part.encode() + b"\0")
    stamp = os.path.join(out, ".pins")
    if os.path.exists(stamp) and open(stamp, encoding="utf-8").read() == h.hexdigest():
        return False
    os.makedirs(out, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "-d", out,
                    "--python-version", python_version, "--only-binary=:all:",
                    "-c", os.path.join(ROOT, "constraints.txt"), *reqs], check=True, stdout=sys.stderr)
    with open(stamp, "w", encoding="utf-8") as fh:
        fh.write(h.hexdigest())
    return True


def parse_run(text: str) -> dict:
    """What the run printed: the stack's URLs, worker count, password file, and the PLAY RECAP per host."""
    urls = {name: url for name, url in _URL.findall(text)}
    workers = _WORKERS.search(text)
    pw = _PASSWORD_FILE.search(text)
    recap = {m[0]: dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m[1:]))) for m in _RECAP.findall(text)}
    return {"urls": urls, "workers": int(workers.group(1)) if workers else None,
            "password_file": pw.group(1) if pw else None, "recap": recap}


def _dashboard(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read().decode(errors="replace")


def check(log: str, container: str, rerun: bool) -> int:
    with open(log, encoding="utf-8", errors="replace") as fh:
        seen = parse_run(fh.read())
    recap = seen["recap"]
    if not recap or any(r["failed"] or r["unreachable"] for r in recap.values()):
        return compose_stack_check.fail("the run did not end in a clean PLAY RECAP", **seen)
    if rerun:
        if any(r["changed"] for r in recap.values()):
            return compose_stack_check.fail("running the first command again changed something", **seen)
        print(json.dumps({"ok": True, **seen}))
        return 0
    missing = {"Dask scheduler", "Dask dashboard", "Prometheus", "JupyterLab"} - set(seen["urls"])
    if missing or not seen["workers"] or not seen["password_file"]:
        return compose_stack_check.fail(f"the run did not print {sorted(missing) or 'the workers / password hint'}",
                                        **seen)
    page = _dashboard(seen["urls"]["Dask dashboard"])
    if not DASHBOARD_TITLE.search(page) or "bokeh" not in page.lower():
        title = re.search(r"<title>(.*?)</title>", page, re.S)
        return compose_stack_check.fail("the printed dashboard URL does not serve the Dask: Status page",
                                        title=title.group(1) if title else None, **seen)
    ns = argparse.Namespace(url=seen["urls"]["Prometheus"], workers=seen["workers"], timeout=120)
    if compose_stack_check.check_prometheus(ns):
        return 1
    # the hint is `sudo cat FILE on HOST`: the lab host is a container, so read it there as root
    password = subprocess.run(["docker", "exec", container, "cat", seen["password_file"]], check=True,
                              capture_output=True, text=True).stdout.strip()
    os.environ["JUPYTER_PASSWORD"] = password
    if compose_stack_check.check_jupyter(argparse.Namespace(url=seen["urls"]["JupyterLab"])):
        return 1
    print(json.dumps({"ok": True, **seen}))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    sub.add_parser("readme-command")
    t = sub.add_parser("source-tar")
    t.add_argument("--out", required=True)
    w = sub.add_parser("wheelhouse")
    w.add_argument("--python-version", required=True)
    w.add_argument("--out", required=True)
    c = sub.add_parser("check")
    c.add_argument("--log", required=True)
    c.add_argument("--container", required=True)
    c.add_argument("--rerun", action="store_true")
    args = ap.parse_args(argv)
    if args.what == "readme-command":
        print(readme_command())
    elif args.what == "source-tar":
        print(source_tar(args.out))
    elif args.what == "wheelhouse":
        print(json.dumps({"downloaded": wheelhouse(args.python_version, args.out)}))
    else:
        return check(args.log, args.container, args.rerun)
    return 0


if __name__ == "__main__":
    sys.exit(main())
