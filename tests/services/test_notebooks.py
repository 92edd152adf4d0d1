"""Execute the seed notebooks against a real local Dask cluster (scheduler + 2 worker processes) and check results.

The notebooks run exactly as the Compose end-to-end test runs them inside the stack's JupyterLab container
(tests/e2e/notebook_runner.py: papermill-style parameters, one check cell after the last) and are held to the same
expectations (tests/e2e/stack_notebooks.py).
"""

from __future__ import annotations

import os

import pytest

from tests.e2e import notebook_runner as runner
from tests.e2e import stack_notebooks as expect

from .conftest import ARTIFACTS

NOTEBOOKS = ARTIFACTS / "notebooks"


def run_notebook(name: str, env: dict, cwd, timeout: int = 240) -> dict:
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return runner.execute(str(NOTEBOOKS / name), runner.PARAMETERS[name], runner.CHECKS[name], str(cwd), timeout)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_every_shipped_notebook_is_run_by_the_stack_check():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(runner.PARAMETERS) == sorted(runner.CHECKS)


def test_array_mean_notebook(kernel_env, tmp_path):
    out = run_notebook("01-array-mean.ipynb", kernel_env, tmp_path)
    assert expect.check_array_mean(out, workers=2) == []


@pytest.mark.slow
def test_tpot_bank_marketing_notebook(kernel_env, tmp_path, dask_cluster):
    out = run_notebook("02-tpot-bank-marketing.ipynb", kernel_env, tmp_path)
    assert expect.check_tpot(out) == []


def test_parallel_post_fit_notebook(kernel_env, tmp_path):
    out = run_notebook("03-parallel-post-fit.ipynb", kernel_env, tmp_path)
    assert expect.check_parallel_post_fit(out) == []


def test_the_checks_catch_wrong_results():
    good_mean = {"mean": expect.expected_array_mean(), "blocks": 16, "workers": 2, "tasks": 40,
                 "check": {"graph_is_png": True}}
    assert expect.check_array_mean(good_mean, workers=2) == []
    assert expect.check_array_mean({**good_mean, "mean": good_mean["mean"] + 1e-9}, workers=2)
    versions = {"scikit-learn": "1.9.1"}
    tpot = {"rows": 1000, "roc_auc": 0.8, "balanced_accuracy": 0.7, "pipeline": "Pipeline(...)",
            "check": {"kernel": versions, "workers": ['{"scikit-learn": "1.9.1"}']}}
    assert expect.check_tpot(tpot) == []
    assert expect.check_tpot({**tpot, "check": {"kernel": versions, "workers": ['{"scikit-learn": "1.8.0"}']}})
    ppf = {"lazy": "Array", "blocks": 8, "rows": 40_000, "accuracy": 0.8, "positives": 100,
           "check": {"equal_to_plain_sklearn": True, "compared": 40_000}}
    assert expect.check_parallel_post_fit(ppf) == []
    assert expect.check_parallel_post_fit({**ppf, "check": {"equal_to_plain_sklearn": False, "compared": 40_000}})
    assert expect.check_all({"01-array-mean.ipynb": {"error": "ModuleNotFoundError: No module named 'matplotlib'"}},
                            workers=2)[0].endswith("No module named 'matplotlib'")
