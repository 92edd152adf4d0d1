"""Execute the seed notebooks with nbclient and print what they computed (one JSON document on stdout).

Runs where the notebooks' users run them: `tests/e2e/stack_notebooks.py` pipes this file into the Compose stack's
JupyterLab container (`docker compose exec -T notebook python - ...`), whose kernel reaches the stack's scheduler
through DASK_SCHEDULER_ADDRESS; tests/services/test_notebooks.py imports it to run the same notebooks against a
LocalCluster. Only the standard library, nbformat and nbclient (JupyterLab's own dependencies) are used.

The notebooks are executed as shipped. Parameters are appended to the cell tagged `parameters` (papermill's
convention) to give TPOT a small budget and the offline data source; after the last cell one check cell is run
in the same kernel (it is not part of the notebook) to compare the notebook's results with an independent
computation. Each notebook's cell tagged `result` prints one JSON line; so does the check cell.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

# Small budgets: TPOT stops after 45 s and one pipeline evaluation may take 30 s on a loaded 2-core machine. The
# UCI download is not reachable offline: the workloads' synthetic frame has the same columns and dtypes.
PARAMETERS = {
    "01-array-mean.ipynb": {},
    "02-tpot-bank-marketing.ipynb": {"DATA_SOURCE": "synthetic", "N_ROWS": 1000, "MAX_TIME_MINS": 0.75,
                                     "MAX_EVAL_TIME_MINS": 0.5},
    "03-parallel-post-fit.ipynb": {"DATA_SOURCE": "synthetic", "TRAIN_ROWS": 3000, "SCORE_ROWS": 40_000,
                                   "BLOCK_ROWS": 5_000},
}

_VERSIONS = """
def _daskmetal_versions():
    import importlib.metadata as md
    return {p: md.version(p) for p in ('scikit-learn', 'dask-ml', 'TPOT', 'xgboost', 'distributed', 'numpy')}
"""

# Run in the notebook's kernel after its last cell; each prints one JSON line.
CHECKS = {
    # the picture the notebook shows is a PNG on disk where it says
    "01-array-mean.ipynb": """
import json
with open(graph_png, 'rb') as _fh:
    print(json.dumps({'graph_is_png': _fh.read(8) == b'\\x89PNG\\r\\n\\x1a\\n'}))
""",
    # the workers run the same ML packages as the kernel (TPOT and ParallelPostFit pickle estimators between them)
    "02-tpot-bank-marketing.ipynb": _VERSIONS + """
import json
print(json.dumps({'kernel': _daskmetal_versions(),
                  'workers': sorted({json.dumps(v, sort_keys=True) for v in client.run(_daskmetal_versions).values()})}))
""",
    # the block-wise predictions on the workers equal one plain scikit-learn predict of the same rows
    "03-parallel-post-fit.ipynb": """
import json
import numpy as np
_plain = clf.estimator.predict(big_X[train_X.columns].to_numpy())
_parallel = predictions.compute()
print(json.dumps({'equal_to_plain_sklearn': bool(np.array_equal(_parallel, _plain)), 'compared': int(_plain.shape[0])}))
""",
}


def _last_json(cell) -> dict:
    """The cell's last JSON line on stdout (stderr carries distributed's warnings, e.g. an unresponsive event loop
    on a loaded host, which may come after it)."""
    text = "".join(o.get("text", "") for o in cell.outputs
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("the cell printed no JSON result on stdout: %r" % text[-500:])


def execute(path: str, params: dict, check: str | None, cwd: str, timeout: int = 240) -> dict:
    """Execute one notebook; return its result cell's JSON, with the check cell's JSON under "check"."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    param_cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    result_cells = [c for c in nb.cells if "result" in c.metadata.get("tags", [])]
    if len(param_cells) != 1 or len(result_cells) != 1:
        raise ValueError(f"{path}: exactly one cell must be tagged 'parameters' and one 'result'")
    # papermill-style: the overrides come after the notebook's own defaults
    param_cells[0].source += "\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items())
    check_cell = None
    if check:
        check_cell = nbformat.v4.new_code_cell(check)
        nb.cells.append(check_cell)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
    out = _last_json(result_cells[0])
    if check_cell is not None:
        out["check"] = _last_json(check_cell)
    return out


def run_all(folder: str, names: list[str], timeout: int) -> dict:
    """Execute each notebook; a failing one is reported as {"error": "<exception>: <message>"}."""
    results = {}
    for name in names:
        cwd = tempfile.mkdtemp(prefix="daskmetal-nb-")
        try:
            results[name] = execute(os.path.join(folder, name), PARAMETERS[name], CHECKS[name], cwd, timeout)
        except CellExecutionError as exc:  # the notebook's own error (e.g. ModuleNotFoundError on import)
            results[name] = {"error": f"{exc.ename}: {exc.evalue}"}
        except Exception as exc:  # noqa: BLE001 (a cell timeout or a dead kernel is reported, not raised)
            results[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    return results


def main(argv: list[str]) -> int:
    folder = argv[0] if argv else "/home/jovyan/examples"
    # per-cell timeout: TPOT stops searching after MAX_TIME_MINS, but on a loaded 2-core lab host its imports and the
    # last evaluations can take minutes more
    timeout = int(os.environ.get("DASKMETAL_NOTEBOOK_CELL_TIMEOUT", "900"))
    names = argv[1:] or sorted(PARAMETERS)
    print(json.dumps(run_all(folder, names, timeout)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
