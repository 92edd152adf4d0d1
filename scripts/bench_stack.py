"""scripts/bench --stack: the single-host Compose stack in the lab (Molecule scenario roles/dask_compose compose_e2e).

Creates and prepares the scenario's trixie lab host, converges it (first deploy: the Docker engine and the stack;
the ML image is built when its recipe changed, else taken from the cache), then tests/e2e/array_mean_bench.py
measures, against the running stack:
  stack_ready_s        `docker compose down` then `up -d --wait` on the host with the images present: the time
                       from nothing running to every service healthy;
  stack_array_mean_s   median of the seed's array-mean workload submitted to the stack's scheduler;
  local_array_mean_s   the same on a LocalCluster on this machine with the same workers and threads per worker;
and the host is destroyed. Results go under "stack" in the bench JSON.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = os.path.join(ROOT, "roles", "dask_compose")
SCENARIO = "compose_e2e"
LAB_HOST = "compose-e2e-trixie"  # the scenario's platform name (molecule.yml)


def _run(cmd: list[str], env: dict, what: str, cwd: str = PROJECT) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-4000:])
        raise RuntimeError(f"{what} failed")
    return proc.stdout


def lab_address() -> str:
    out = subprocess.run(["docker", "inspect", LAB_HOST], check=True, capture_output=True, text=True).stdout
    return json.loads(out)[0]["NetworkSettings"]["Networks"]["daskmetal-lab"]["IPAddress"]


def run(bin_dir: str, env: dict, results: dict, repeat: int = 5) -> int:
    mol = lambda action: [os.path.join(bin_dir, "molecule"), action, "-s", SCENARIO]  # noqa: E731
    row: dict = {"scenario": f"roles/dask_compose:{SCENARIO}"}
    try:
        for action in ("destroy", "create", "prepare"):
            _run(mol(action), env, f"molecule {action}")
        t0 = time.monotonic()
        _run(mol("converge"), env, "molecule converge")
        row["first_converge_s"] = round(time.monotonic() - t0, 1)
        out = _run([os.path.join(bin_dir, "python"), "-m", "tests.e2e.array_mean_bench", "--lab-container", LAB_HOST,
                    "--scheduler", f"tcp://{lab_address()}:8786", "--repeat", str(repeat)], env, "array_mean_bench",
                   cwd=ROOT)
        row.update(json.loads(out.strip().splitlines()[-1]))
    except (RuntimeError, ValueError, KeyError, subprocess.CalledProcessError) as exc:
        row["error"] = str(exc)
    finally:
        subprocess.run(mol("destroy"), cwd=PROJECT, env=env, capture_output=True)
    results["stack"] = row
    print(json.dumps({k: row.get(k) for k in ("first_converge_s", "stack_ready_s", "workers", "stack_array_mean_s",
                                             "local_array_mean_s", "stack_to_local_ratio", "error")}), flush=True)
    return 1 if "error" in row else 0
