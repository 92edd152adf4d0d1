"""scripts/bench's own tools: the counting callback run by the real ansible-playbook, the synthetic inventory read
by the real ansible-inventory and validated by the real plan filter, and the linear fit."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "scripts" / "bench_callback"))

import bench_scale  # noqa: E402
import daskmetal_bench  # noqa: E402

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent


def run_counted(tmp_path, inventory: dict) -> dict:
    inv = tmp_path / "hosts.json"
    inv.write_text(json.dumps(inventory))
    out = tmp_path / "counts.json"
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_CALLBACK_PLUGINS=str(ROOT / "scripts" / "bench_callback"),
               ANSIBLE_CALLBACKS_ENABLED="daskmetal_bench", DASKMETAL_BENCH_OUT=str(out),
               ANSIBLE_CONNECTION_PLUGINS=str(HERE / "connection_plugins"), ANSIBLE_ROLES_PATH=str(HERE / "roles"),
               ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inv), str(HERE / "count_run.yml")], env=env,
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_callback_counts_module_runs_and_host_round_trips(tmp_path):
    """Two hosts: `far` over a connection that is not local (bench_remote), `near` over local. See count_run.yml:
    stat, 2 of 3 loop items, a role's stat run a module on each host; set_fact and include_role do not; a skipped
    task runs nothing; a task delegated to localhost runs on the controller."""
    py = {"ansible_python_interpreter": sys.executable}
    data = run_counted(tmp_path, {"all": {"hosts": {"far": dict(py, ansible_connection="bench_remote"),
                                                      "near": dict(py, ansible_connection="local")}}})
    total = data["total"]
    assert total["tasks"] == 7
    assert total["module_runs"] == 2 * (1 + 2 + 1 + 1)
    assert total["host_round_trips"] == 1 + 2 + 1  # far only, not its delegated task
    assert total["skipped"] == 2
    assert total["failed"] == 0
    assert data["roles"]["bench_counted"]["module_runs"] == 2
    assert data["roles"]["bench_counted"]["host_round_trips"] == 1
    assert [p["name"] for p in data["plays"]] == ["Counted play"]


def test_callback_counts_nothing_remote_for_an_all_local_inventory(tmp_path):
    py = {"ansible_python_interpreter": sys.executable, "ansible_connection": "local"}
    data = run_counted(tmp_path, {"all": {"hosts": {"a": py, "b": py}}})
    assert data["total"]["host_round_trips"] == 0
    assert data["total"]["module_runs"] == 10


def test_loop_items_count_once_each_and_skipped_items_not_at_all():
    result = {"results": [{"skipped": True}, {"rc": 0}, {"rc": 0}]}
    assert daskmetal_bench.module_runs(result, skipped=False) == 2
    assert daskmetal_bench.module_runs({"rc": 0}, skipped=False) == 1
    assert daskmetal_bench.module_runs({}, skipped=True) == 0


@pytest.mark.parametrize("shape", bench_scale.SHAPES)
def test_synthetic_inventory_is_what_ansible_and_the_plan_filter_read(tmp_path, shape):
    """The generated inventory, read by ansible-inventory, has the groups groups_for() claims, and the real
    plan_derive filter accepts its plan and gives every host an address."""
    inv = bench_scale.write_inventory(str(tmp_path), 40, shape)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", inv, "--list"], env=env, capture_output=True,
                          text=True, check=True)
    listed = json.loads(proc.stdout)
    expected = bench_scale.groups_for(40)
    for group in ("rke2_servers", "rke2_agents"):
        assert listed[group]["hosts"] == expected[group]
    host_vars = listed["_meta"]["hostvars"]["node-0007"]
    assert host_vars["ansible_connection"] == "local"
    plan_utils, plan_filter = bench_scale._import_collection()
    derived = plan_filter.plan_derive(host_vars["daskmetal_plan"], expected)
    assert len(derived["hosts"]) == 40
    assert len({h["address"] for h in derived["hosts"].values()}) == 40


def test_linear_fit_and_growth_exponent():
    linear = bench_scale.linear_fit({100: 1.1, 500: 5.1, 1000: 10.1})
    assert linear["per_host_s"] == pytest.approx(0.01)
    assert linear["intercept_s"] == pytest.approx(0.1)
    assert linear["r2"] == pytest.approx(1.0)
    quadratic = bench_scale.linear_fit({100: 1.0, 500: 25.0, 1000: 100.0})
    assert quadratic["growth_exponent"] == pytest.approx(2.0)


def test_net_curves_take_out_ansibles_own_per_host_cost():
    # Ansible's own share grows faster than linear; a linear part of ours must come out linear after subtraction.
    curves = {k: {} for k in ("per_host_task_cpu", "templating_net_cpu", "preflight_net_cpu")}
    for n, ansible_own in ((500, 17.0), (1000, 38.3)):
        ours = 0.03 * n
        bench_scale.net_curves(curves, n, startup=1.0, noop=1.0 + ansible_own, plan=2.0,
                               templating=2.0 + ansible_own + ours, preflight=1.0 + 0.02 * n)
    assert curves["per_host_task_cpu"] == {500: 17.0, 1000: 38.3}
    assert curves["templating_net_cpu"][1000] == pytest.approx(30.0)
    assert bench_scale.linear_fit(curves["templating_net_cpu"])["growth_exponent"] == pytest.approx(1.0)
    assert bench_scale.linear_fit(curves["preflight_net_cpu"])["growth_exponent"] == pytest.approx(1.0)


def test_lab_mode_prints_round_trips_per_run_and_role(capsys):
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("daskmetal_bench_cli", str(ROOT / "scripts" / "bench"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    bench = importlib.util.module_from_spec(spec)
    loader.exec_module(bench)
    c = {"tasks": 39, "module_runs": 28, "host_round_trips": 28, "changed": 0, "seconds": 57.8}
    bench.print_counts({"noop_converge_s": 67.7, "noop": {"total": c, "roles": {"docker": c}}})
    out = capsys.readouterr().out
    assert "-- noop: 67.7 s, 39 tasks, 28 module runs, 28 host round trips, 0 changed" in out
    assert "   docker: 57.8 s, 39 tasks" in out
