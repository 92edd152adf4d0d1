"""Run the seed notebooks inside the Compose stack's JupyterLab container and check what they computed.

    python -m tests.e2e.stack_notebooks --lab-container NAME --workers N [--project daskmetal]

The lab host NAME runs the stack (molecule compose_e2e). This pipes tests/e2e/notebook_runner.py into
`docker compose exec -T notebook python -` there: nbclient executes the notebooks the role deployed
(/home/jovyan/examples) in the notebook container's own kernel, against the stack's scheduler and workers. The
expectations below are also used by tests/services/test_notebooks.py (LocalCluster). Exits non-zero with every
problem found, e.g. a notebook whose imports fail on an image without the ML packages.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notebook_runner.py")


def expected_array_mean(n: int = 4000, chunk: int = 1000, seed: int = 42) -> float:
    """The mean 01-array-mean computes, computed here with the same Dask graph on the synchronous scheduler."""
    import dask.array as da

    return float(da.random.RandomState(seed).random((n, n), chunks=(chunk, chunk)).mean().compute(scheduler="sync"))


def check_array_mean(out: dict, workers: int) -> list[str]:
    problems = []
    expected = expected_array_mean()
    if abs(out["mean"] - expected) > 1e-12:
        problems.append(f"mean {out['mean']!r} != {expected!r} (same graph computed on the controller)")
    if out["blocks"] != 16:
        problems.append(f"{out['blocks']} blocks, expected 16")
    if out["workers"] != workers:
        problems.append(f"the notebook's client saw {out['workers']} workers, expected {workers}")
    # 16 random blocks + 16 block means + the tree reduction: the picture shows more tasks than blocks
    if out["tasks"] <= 32:
        problems.append(f"task graph of {out['tasks']} tasks, expected more than 32")
    if out["check"] != {"graph_is_png": True}:
        problems.append(f"the task graph picture is not a PNG: {out['check']}")
    return problems


def check_tpot(out: dict, rows: int = 1000) -> list[str]:
    problems = []
    if out["rows"] != rows:
        problems.append(f"{out['rows']} rows, expected {rows}")
    # The synthetic target depends on poutcome/contact/euribor3m/pdays (a plain logistic regression reaches ROC AUC
    # ~0.86 with 5-fold CV); even a 45-second search must beat chance (0.5) clearly.
    if not out["roc_auc"] > 0.6:
        problems.append(f"ROC AUC {out['roc_auc']} is not above 0.6")
    if not out["balanced_accuracy"] > 0.55:
        problems.append(f"balanced accuracy {out['balanced_accuracy']} is not above 0.55")
    if not out["pipeline"].startswith("Pipeline("):
        problems.append(f"TPOT fitted no pipeline: {out['pipeline']!r}")
    kernel = json.dumps(out["check"]["kernel"], sort_keys=True)
    if out["check"]["workers"] != [kernel]:
        problems.append(f"workers run other ML packages than the notebook: {out['check']['workers']} vs {kernel}")
    return problems


def check_parallel_post_fit(out: dict, rows: int = 40_000, blocks: int = 8) -> list[str]:
    problems = []
    if out["lazy"] != "Array":  # predict returned a Dask array, computed block-wise on the workers
        problems.append(f"predict returned {out['lazy']}, not a Dask Array")
    if (out["blocks"], out["rows"]) != (blocks, rows):
        problems.append(f"{out['blocks']} blocks of {out['rows']} rows, expected {blocks} of {rows}")
    if not 0.6 < out["accuracy"] <= 1.0:
        problems.append(f"accuracy {out['accuracy']} not in (0.6, 1]")
    if not 0 < out["positives"] < rows:
        problems.append(f"{out['positives']} positives of {rows}")
    if out["check"] != {"equal_to_plain_sklearn": True, "compared": rows}:
        problems.append(f"ParallelPostFit predictions differ from plain scikit-learn's: {out['check']}")
    return problems


def check_all(results: dict, workers: int) -> list[str]:
    checks = {"01-array-mean.ipynb": lambda out: check_array_mean(out, workers),
              "02-tpot-bank-marketing.ipynb": check_tpot,
              "03-parallel-post-fit.ipynb": check_parallel_post_fit}
    problems = []
    for name, check in checks.items():
        out = results.get(name)
        if out is None:
            problems.append(f"{name}: not run")
        elif "error" in out:
            problems.append(f"{name}: failed: {out['error']}")
        else:
            problems += [f"{name}: {p}" for p in check(out)]
    return problems


def run_in_stack(lab_container: str, project: str) -> dict:
    with open(RUNNER, "rb") as fh:
        runner = fh.read()
    cmd = ["docker", "exec", "-i", lab_container, "docker", "compose", "-p", project, "exec", "-T", "notebook",
           "python", "-", "/home/jovyan/examples"]
    proc = subprocess.run(cmd, input=runner, capture_output=True, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"notebook runner failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lab-container", required=True)
    ap.add_argument("--project", default="daskmetal")
    ap.add_argument("--workers", type=int, required=True)
    args = ap.parse_args(argv)
    results = run_in_stack(args.lab_container, args.project)
    print(json.dumps(results, indent=1))
    problems = check_all(results, args.workers)
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
