"""Controller-side scale curves for scripts/bench (``scripts/bench --controller``).

A synthetic inventory of N hosts (every host ``ansible_connection: local``, so nothing leaves this machine) is
written to a directory, then the bench measures how the controller-side layers grow with N:

* ``plan_direct``: ``module_utils/plan.py`` ``derive()`` called in process (best of a few repeats), for three
  plan shapes: ``allocated`` (every address allocated from node_range), ``pinned`` (every host pinned in
  ``nodes`` inside node_range, what the docs advise once a cluster is in use) and ``pinned_outside`` (every
  host pinned outside node_range: each pin is a span checked for overlaps with the others, by a sweep over the
  sorted spans since plan.py's _overlap_pairs; before it every pair was compared and this curve was quadratic:
  1,000 hosts 0.164 s, 2,000 hosts 1.21 s, growth exponent 2.9, against 0.019 s / 0.038 s / 0.99 after, same
  machine and load, in-process, best of 3);
* ``plan_filter``: the ``daskmetal.platform.plan_derive`` filter function (adds the conversion of Ansible's
  containers) in process;
* ``plan_playbook``: ``ansible-playbook playbooks/plan.yml``: wall time and the seconds of its one task;
* ``templating``: the plan play, then every host templates its own entry of the derived plan through the
  zerotier role's defaults (``zerotier_plan.hosts[inventory_hostname]``, as roles/zerotier/tasks/join.yml does);
* ``preflight``: ``ansible-playbook playbooks/preflight.yml --check`` with the test secrets. The synthetic
  inventory has no Docker host (no ``rancher``, ``docker_hosts`` or ``dask_single_host`` member), so its Docker
  engine play (fact gathering and a systemd check per Docker host) matches no host: it costs per Docker host, not
  per cluster host, and the machine running the bench need not run systemd;
* ``startup``: an empty play on all hosts (inventory parsing and start-up), to subtract;
* ``per_host_task``: one task that does nothing (``ansible.builtin.debug``) on every host: what Ansible itself
  costs per host and task, the yardstick for the templating and preflight curves;
* ``*_net_cpu``: the templating and preflight CPU with Ansible's own share taken out (``net_curves``); their
  exponents are the ones that say whether our part grows linearly.
Playbook curves are wall seconds (``*_cpu``: CPU seconds of ansible-playbook and its workers, steadier on a
shared machine).

Each curve gets a least-squares line ``seconds = a + b * hosts`` and the growth exponent between the two largest
sizes (log t2/t1 / log n2/n1: about 1 is linear, about 2 quadratic).
Stdlib only, apart from importing the collection's own Python for the in-process measurements.
"""
from __future__ import annotations

import ipaddress
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "collections")
CALLBACK_DIR = os.path.join(ROOT, "scripts", "bench_callback")
TEMPLATING_PLAYBOOK = os.path.join(ROOT, "tests", "bench", "template_plan.yml")
EMPTY_PLAYBOOK = os.path.join(ROOT, "tests", "bench", "empty.yml")
NOOP_TASK_PLAYBOOK = os.path.join(ROOT, "tests", "bench", "noop_task.yml")
PLAN_TASK = "Derive the plan (fails with the variable to fix when the plan is wrong)"
SECRETS = os.path.join(ROOT, "tests", "vars", "test_secrets.yml")

CIDR = "10.64.0.0/19"           # 8190 usable addresses: room for 4,000 hosts and the pools
NODE_RANGE = ("10.64.1.0", "10.64.8.255")   # 2048 addresses
PIN_OUTSIDE_BASE = "10.64.16.0"  # 10.64.16.0 .. 10.64.31.254: outside node_range, inside the CIDR
SHAPES = ("allocated", "pinned", "pinned_outside")


def hostnames(n: int) -> list[str]:
    return ["node-%04d" % i for i in range(n)]


def groups_for(n: int) -> dict:
    """Inventory groups as ansible's ``groups`` magic variable has them (3 servers, the rest agents)."""
    hosts = hostnames(n)
    return {"all": list(hosts), "ungrouped": [], "rancher": [], "rke2_servers": hosts[:3],
            "rke2_agents": hosts[3:], "rke2_cluster": list(hosts), "zerotier_nodes": list(hosts),
            "docker_hosts": [], "dask_single_host": [], "zerotier_controller": []}


def plan_for(n: int, shape: str = "allocated") -> dict:
    if shape not in SHAPES:
        raise ValueError(shape)
    plan = {
        "zerotier": {"network_id": "8bd5124fd6000001", "network_name": "bench", "cidr": CIDR,
                     "auto_assign_pool": "10.64.0.100-10.64.0.199", "node_range": "%s-%s" % NODE_RANGE,
                     "mtu": 2800,
                     # more than the active bridges (every agent is a MetalLB speaker here), as the plan requires
                     "multicast_limit": max(32, n)},
        "metallb": {"speakers": "rke2_agents", "pools": [
            {"name": "services", "addresses": ["10.64.9.0-10.64.9.31"], "auto_assign": False},
            {"name": "general", "addresses": ["10.64.9.64/26"], "auto_assign": True}]},
        "services": {"dask_scheduler": "10.64.9.1", "jupyter": "10.64.9.2", "grafana": "10.64.9.3"},
        "kubernetes": {"cluster_cidr": "10.42.0.0/16", "service_cidr": "10.43.0.0/16"},
    }
    if shape == "pinned":
        first = int(ipaddress.IPv4Address(NODE_RANGE[0]))
        plan["nodes"] = {h: str(ipaddress.IPv4Address(first + i)) for i, h in enumerate(hostnames(n))}
    elif shape == "pinned_outside":
        first = int(ipaddress.IPv4Address(PIN_OUTSIDE_BASE))
        plan["nodes"] = {h: str(ipaddress.IPv4Address(first + i)) for i, h in enumerate(hostnames(n))}
        del plan["zerotier"]["node_range"]
    return plan


def write_inventory(directory: str, n: int, shape: str = "allocated") -> str:
    """A YAML inventory (JSON is YAML) of n local hosts with the plan in group_vars/all; returns its path."""
    hosts = hostnames(n)
    children = {"rancher": {"hosts": {}},
                "rke2_servers": {"hosts": {h: None for h in hosts[:3]}},
                "rke2_agents": {"hosts": {h: None for h in hosts[3:]}},
                "dask_single_host": {"hosts": {}}, "zerotier_controller": {"hosts": {}},
                "rke2_cluster": {"children": {"rke2_servers": None, "rke2_agents": None}},
                "docker_hosts": {"children": {"rancher": None, "dask_single_host": None}},
                "zerotier_nodes": {"children": {"rancher": None, "rke2_servers": None, "rke2_agents": None}}}
    os.makedirs(os.path.join(directory, "group_vars", "all"), exist_ok=True)
    with open(os.path.join(directory, "hosts.yml"), "w", encoding="utf-8") as fh:
        json.dump({"all": {"children": children}}, fh)
    all_vars = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                "daskmetal_plan": plan_for(n, shape)}
    with open(os.path.join(directory, "group_vars", "all", "bench.yml"), "w", encoding="utf-8") as fh:
        json.dump(all_vars, fh)
    return os.path.join(directory, "hosts.yml")


# --- in-process measurements -------------------------------------------------------------------------
def _import_collection():
    if COLLECTIONS not in sys.path:
        sys.path.insert(0, COLLECTIONS)
    from ansible_collections.daskmetal.platform.plugins.filter import plan as plan_filter
    from ansible_collections.daskmetal.platform.plugins.module_utils import plan as plan_utils
    return plan_utils, plan_filter


def best_of(func, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def measure_in_process(sizes, repeats=5) -> dict:
    plan_utils, plan_filter = _import_collection()
    curves = {}
    for shape in SHAPES:
        key = "plan_direct_" + shape
        curves[key] = {}
        for n in sizes:
            plan, groups = plan_for(n, shape), groups_for(n)
            try:
                derived = plan_utils.derive(plan, groups)
            except plan_utils.PlanError as exc:  # the synthetic plan itself is wrong: say so briefly
                raise RuntimeError("synthetic %s plan of %d hosts is invalid: %s" % (shape, n, str(exc)[:500]))
            assert len(derived["hosts"]) == n
            curves[key][n] = best_of(lambda: plan_utils.derive(plan, groups), repeats)
    curves["plan_filter"] = {}
    for n in sizes:
        plan, groups = plan_for(n), groups_for(n)
        curves["plan_filter"][n] = best_of(lambda: plan_filter.plan_derive(plan, groups), repeats)
    return curves


# --- ansible-playbook measurements ---------------------------------------------------------------------
def ansible_env(out: str) -> dict:
    env = dict(os.environ)
    env.update({"ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"), "ANSIBLE_CALLBACK_PLUGINS": CALLBACK_DIR,
                "ANSIBLE_CALLBACKS_ENABLED": "daskmetal_bench", "DASKMETAL_BENCH_OUT": out,
                "ANSIBLE_CACHE_PLUGIN": "ansible.builtin.memory", "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.null", "ANSIBLE_RETRY_FILES_ENABLED": "0"})
    return env


def run_playbook(bin_dir: str, inventory: str, playbook: str, *extra: str) -> dict:
    """Run one playbook with the bench callback; returns {wall_s, callback summary}."""
    fd, out = tempfile.mkstemp(prefix="bench-", suffix=".json")
    os.close(fd)
    try:
        cmd = [os.path.join(bin_dir, "ansible-playbook"), "-i", inventory, playbook, *extra]
        t0, cpu0 = time.monotonic(), _children_cpu()
        proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(out), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        wall, cpu = time.monotonic() - t0, _children_cpu() - cpu0
        if proc.returncode != 0:  # say why: the same run again with the default output
            env = dict(ansible_env(out), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
            proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            raise RuntimeError("%s failed (rc %d):\n%s" % (" ".join(cmd), proc.returncode, proc.stdout[-3000:]))
        with open(out, encoding="utf-8") as fh:
            summary = json.load(fh)
    finally:
        os.unlink(out)
    return {"wall_s": wall, "cpu_s": cpu, "summary": summary}


def _children_cpu() -> float:
    """User + system CPU seconds of finished child processes (ansible-playbook and its workers): less
    sensitive than wall time to other load on a shared machine."""
    import resource
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def task_seconds(summary: dict, name: str) -> float:
    return sum(t["seconds"] for t in summary["tasks"] if t["name"] == name)


def measure_playbooks(bin_dir: str, sizes, workdir: str) -> dict:
    curves = {k: {} for k in ("startup", "startup_cpu", "per_host_task", "per_host_task_cpu", "plan_playbook",
                              "plan_playbook_cpu", "plan_task", "templating_task", "templating_cpu",
                              "templating_net_cpu", "preflight", "preflight_cpu", "preflight_net_cpu")}
    counts = {}
    for n in sizes:
        inv = write_inventory(os.path.join(workdir, "inv-%d" % n), n)
        start = run_playbook(bin_dir, inv, EMPTY_PLAYBOOK)
        noop = run_playbook(bin_dir, inv, NOOP_TASK_PLAYBOOK)
        plan = run_playbook(bin_dir, inv, os.path.join(ROOT, "playbooks", "plan.yml"))
        tmpl = run_playbook(bin_dir, inv, TEMPLATING_PLAYBOOK)
        pre = run_playbook(bin_dir, inv, os.path.join(ROOT, "playbooks", "preflight.yml"), "--check",
                           "-e", "@" + SECRETS)
        curves["startup"][n], curves["startup_cpu"][n] = start["wall_s"], start["cpu_s"]
        curves["per_host_task"][n] = task_seconds(noop["summary"], "One task that does nothing")
        curves["plan_playbook"][n], curves["plan_playbook_cpu"][n] = plan["wall_s"], plan["cpu_s"]
        curves["plan_task"][n] = task_seconds(plan["summary"], PLAN_TASK)
        curves["templating_task"][n] = task_seconds(tmpl["summary"], "Template this host's entry of the derived plan")
        curves["templating_cpu"][n] = tmpl["cpu_s"]
        curves["preflight"][n], curves["preflight_cpu"][n] = pre["wall_s"], pre["cpu_s"]
        net_curves(curves, n, start["cpu_s"], noop["cpu_s"], plan["cpu_s"], tmpl["cpu_s"], pre["cpu_s"])
        counts[n] = {"preflight": pre["summary"]["total"], "plan": plan["summary"]["total"],
                     "templating": tmpl["summary"]["total"]}
        print("  %5d hosts: startup %.2fs, no-op task %.2fs, plan %.2fs (task %.3fs), templating task %.2fs, "
              "preflight %.2fs (cpu %.1fs)" % (n, start["wall_s"], curves["per_host_task"][n], plan["wall_s"],
                                                curves["plan_task"][n], curves["templating_task"][n],
                                                pre["wall_s"], pre["cpu_s"]), flush=True)
    return {"curves": curves, "counts": counts}


def net_curves(curves: dict, n: int, startup: float, noop: float, plan: float, templating: float,
               preflight: float) -> None:
    """CPU seconds of our own work, without what Ansible costs anyway for the same hosts.

    Ansible's own cost of one task on N hosts (``per_host_task_cpu``: the no-op playbook minus start-up) is not
    linear in N (ansible-core 2.19 on this lab: 100/500/1,000 hosts 4.7/17.0/38.3 s CPU for the whole no-op
    playbook, growth exponent 1.17), so a curve that includes it cannot be linear either. The net curves take it
    out: ``templating_net_cpu`` = templating playbook - plan playbook (its first play) - the no-op task;
    ``preflight_net_cpu`` = the preflight playbook (one run_once task, in process) - start-up."""
    curves["per_host_task_cpu"][n] = max(noop - startup, 0.0)
    curves["templating_net_cpu"][n] = max(templating - plan - (noop - startup), 0.0)
    curves["preflight_net_cpu"][n] = max(preflight - startup, 0.0)


# --- fitting -----------------------------------------------------------------------------------------------
def linear_fit(points: dict) -> dict:
    """Least squares seconds = a + b * hosts, R^2, and the growth exponent between the two largest sizes."""
    xs = sorted(int(n) for n in points)
    ys = [float(points[n] if n in points else points[str(n)]) for n in xs]
    k = len(xs)
    mx, my = sum(xs) / k, sum(ys) / k
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys))
    fit = {"intercept_s": a, "per_host_s": b, "r2": 1.0 - ss_res / ss_tot if ss_tot else 1.0}
    if k >= 2 and ys[-2] > 0 and ys[-1] > 0:
        fit["growth_exponent"] = math.log(ys[-1] / ys[-2]) / math.log(xs[-1] / xs[-2])
    return fit


def _rounded(curve: dict) -> dict:
    return {str(n): round(v, 5) for n, v in sorted(curve.items())}


def run(bin_dir: str, sizes=(100, 500, 1000), repeats=5, playbooks=True, budget_1000_s=1.0) -> dict:
    print("== in-process plan validation (best of %d)" % repeats, flush=True)
    curves = measure_in_process(sizes, repeats)
    result = {"sizes": list(sizes), "curves": {}, "fits": {}, "counts": {}}
    if playbooks:
        print("== ansible-playbook on the synthetic inventory", flush=True)
        work = tempfile.mkdtemp(prefix="daskmetal-bench-")
        try:
            played = measure_playbooks(bin_dir, sizes, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        curves.update(played["curves"])
        result["counts"] = {str(n): c for n, c in played["counts"].items()}
    for name, curve in curves.items():
        result["curves"][name] = _rounded(curve)
        result["fits"][name] = {k: round(v, 7) for k, v in linear_fit(curve).items()}
    worst = max(curves["plan_direct_" + s].get(1000, 0.0) for s in SHAPES)
    result["plan_validation_1000_hosts_s"] = round(worst, 5)
    result["plan_validation_1000_hosts_ok"] = worst < budget_1000_s if 1000 in sizes else None
    for name in sorted(result["fits"]):
        fit, curve = result["fits"][name], result["curves"][name]
        print("  %-24s %s  fit %.4fs + %.3gs/host (R2 %.3f, exponent %s)" % (
            name, " ".join("%s:%.4f" % kv for kv in curve.items()), fit["intercept_s"], fit["per_host_s"],
            fit["r2"], "%.2f" % fit["growth_exponent"] if "growth_exponent" in fit else "-"), flush=True)
    return result
