"""Benchmark of the single-host Compose stack: time to stack-ready and array-mean runtime vs a LocalCluster.

    python -m tests.e2e.array_mean_bench --scheduler tcp://HOST:8786 [--lab-container NAME] [--output FILE]

--lab-container NAME: the lab host that runs the stack (Molecule scenario compose_e2e). The stack is taken down
  (containers only, images stay) and brought up again with `docker compose up -d --wait`; the wall time of the up is
  "stack_ready_s" (images present: what a restart or a fresh deploy with cached images costs).
Then the seed's array-mean workload (daskmetal_workloads.smoke) runs --repeat times on the stack, submitted from
here, and the same number of times on a LocalCluster on this machine with the same number of worker processes and
threads per worker as the stack reports. Prints (and writes to --output) JSON with the medians and the ratio
stack / local. Both run in the same process, one after the other, on the same machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "artifacts", "workloads"))


def stack_ready(container: str, project_dir: str) -> float:
    compose = ["docker", "exec", container, "docker", "compose", "-f", f"{project_dir}/compose.yml"]
    subprocess.run(compose + ["down"], check=True, capture_output=True)
    t0 = time.monotonic()
    subprocess.run(compose + ["up", "-d", "--wait"], check=True, capture_output=True)
    return time.monotonic() - t0


def timed_runs(client, n: int, chunk: int, repeat: int, workers: int) -> list[float]:
    from daskmetal_workloads.smoke import array_mean_smoke

    array_mean_smoke(client, n=n, chunk=chunk, min_workers=workers)  # warm-up: imports, connections
    times = []
    for _ in range(repeat):
        t0 = time.monotonic()
        out = array_mean_smoke(client, n=n, chunk=chunk, min_workers=workers)
        times.append(time.monotonic() - t0)
        if not out["ok"]:
            raise SystemExit(f"wrong array-mean result: {out}")
    return times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scheduler", required=True)
    ap.add_argument("--lab-container")
    ap.add_argument("--project-dir", default="/opt/daskmetal")
    ap.add_argument("--n", type=int, default=4000, help="array side: mean of arange(n*n) in (chunk, chunk) blocks")
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--output")
    args = ap.parse_args(argv)

    from distributed import Client, LocalCluster

    result: dict = {"n": args.n, "chunk": args.chunk, "repeat": args.repeat}
    if args.lab_container:
        result["stack_ready_s"] = round(stack_ready(args.lab_container, args.project_dir), 1)

    with Client(args.scheduler, timeout=120) as client:
        info = client.scheduler_info(n_workers=-1)["workers"]
        workers = len(info)
        threads = sorted({w["nthreads"] for w in info.values()})
        stack = timed_runs(client, args.n, args.chunk, args.repeat, workers)
    result.update(workers=workers, threads_per_worker=threads[0] if len(threads) == 1 else threads)

    with LocalCluster(n_workers=workers, threads_per_worker=threads[0], processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        local = timed_runs(client, args.n, args.chunk, args.repeat, workers)

    result.update(
        stack_array_mean_s=round(statistics.median(stack), 3),
        local_array_mean_s=round(statistics.median(local), 3),
        stack_runs_s=[round(t, 3) for t in stack],
        local_runs_s=[round(t, 3) for t in local],
    )
    result["stack_to_local_ratio"] = round(result["stack_array_mean_s"] / result["local_array_mean_s"], 2)
    text = json.dumps(result)
    print(text)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
