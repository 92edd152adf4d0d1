"""A local container registry (Debian's docker-registry) for air-gap image tests.

    python -m tests.lab.registry start [--port 5000] [--data DIR]   # idempotent; waits until /v2/ answers
    python -m tests.lab.registry stop
    python -m tests.lab.registry address                              # host:port lab containers use

It runs with its own minimal config (filesystem storage, plain HTTP, no auth: Debian's default
config demands htpasswd). The host pushes to localhost:<port> (Docker trusts loopback registries);
lab containers reach it on the lab network's gateway address and list it in insecure-registries.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STATE = os.path.join(ROOT, ".cache", "lab-registry")
LAB_NETWORK = "daskmetal-lab"


def _pidfile() -> str:
    return os.path.join(STATE, "registry.pid")


def running_pid() -> int | None:
    try:
        with open(_pidfile(), encoding="utf-8") as fh:
            pid = int(fh.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def wait_ready(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"registry on :{port} did not answer /v2/ within {timeout}s")
        time.sleep(0.5)


def start(port: int = 5000, data: str | None = None) -> None:
    """Idempotent, and serialised with a lock file: scripts/test runs two streams that may both start it."""
    os.makedirs(STATE, exist_ok=True)
    with open(os.path.join(STATE, "start.lock"), "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _start_locked(port, data)


def _start_locked(port: int, data: str | None) -> None:
    if running_pid():
        wait_ready(port)
        return
    binary = shutil.which("docker-registry")
    if not binary:
        raise SystemExit("docker-registry is not installed (apt-get install docker-registry)")
    data = data or os.path.join(STATE, "data")
    os.makedirs(data, exist_ok=True)
    config = os.path.join(STATE, "config.yml")
    with open(config, "w", encoding="utf-8") as fh:
        fh.write("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                 f"    rootdirectory: {data}\n  delete:\n    enabled: true\n"
                 f"http:\n  addr: 0.0.0.0:{port}\n")
    log = open(os.path.join(STATE, "registry.log"), "ab")
    proc = subprocess.Popen([binary, "serve", config], stdout=log, stderr=log, start_new_session=True)
    with open(_pidfile(), "w", encoding="utf-8") as fh:
        fh.write(str(proc.pid))
    wait_ready(port)


def stop() -> None:
    pid = running_pid()
    if pid:
        os.kill(pid, signal.SIGTERM)
    if os.path.exists(_pidfile()):
        os.unlink(_pidfile())


def lab_address(port: int = 5000) -> str:
    """The registry as seen from containers on the lab network (its gateway is this host)."""
    subprocess.run(["docker", "network", "create", LAB_NETWORK], capture_output=True)
    out = subprocess.run(["docker", "network", "inspect", LAB_NETWORK], check=True, capture_output=True,
                         text=True).stdout
    gateway = json.loads(out)[0]["IPAM"]["Config"][0]["Gateway"]
    return f"{gateway}:{port}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=("start", "stop", "address"))
    ap.add_argument("--port", type=int, default=5000)
    ap.add_argument("--data")
    args = ap.parse_args(argv)
    if args.action == "start":
        start(args.port, args.data)
        print(f"registry ready on :{args.port} (lab address {lab_address(args.port)})")
    elif args.action == "stop":
        stop()
    else:
        print(lab_address(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
