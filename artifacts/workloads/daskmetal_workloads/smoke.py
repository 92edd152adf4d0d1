"""Array-mean smoke workload: a small Dask array computation whose result is known exactly.

Used by the Kubernetes validate Job (python -m daskmetal_workloads.smoke --scheduler tcp://...:8786) and by the
single-host Compose end-to-end test. Exit status 0 only when the result is right and enough workers took part.
"""

from __future__ import annotations

import argparse
import json
import sys


def array_mean_smoke(client, n: int = 2000, chunk: int = 500, min_workers: int = 1, timeout: float = 120) -> dict:
    """Compute the mean of arange(n*n) reshaped to (n, n) in (chunk, chunk) blocks on the cluster.

    The exact answer is (n*n - 1) / 2. Returns a dict with result, expected, ok, workers (that ran tasks)."""
    import dask.array as da

    client.wait_for_workers(min_workers, timeout=timeout)
    x = da.arange(n * n, chunks=chunk * chunk).reshape((n, n)).rechunk((chunk, chunk))
    future = client.compute(x.mean())
    result = float(future.result(timeout=timeout))
    expected = (n * n - 1) / 2
    processing = client.run_on_scheduler(
        lambda dask_scheduler: sorted(ws.address for ws in dask_scheduler.workers.values())
    )
    return {
        "result": result,
        "expected": expected,
        "ok": abs(result - expected) < 1e-6 * expected and len(processing) >= min_workers,
        "workers": len(processing),
        "chunks": int(x.npartitions),
    }


def main(argv: list[str] | None = None) -> int:
    from distributed import Client

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scheduler", required=True, help="scheduler address, e.g. tcp://dask-scheduler:8786")
    ap.add_argument("--min-workers", type=int, default=1)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args(argv)
    with Client(args.scheduler, timeout=args.timeout) as client:
        out = array_mean_smoke(client, n=args.n, min_workers=args.min_workers, timeout=args.timeout)
    print(json.dumps(out))
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
