"""Faults on the single-host stack, made from the controller: crash a worker mid-computation, crash the scheduler.

    python -m tests.e2e.faults_check worker --lab-container LAB --scheduler tcp://HOST:8786
        --prometheus http://HOST:9090 --workers N [--project daskmetal] [--out DIR]
    python -m tests.e2e.faults_check scheduler ... [--bound 150] [--step 5] [--out DIR]

A crash is SIGKILL to the container's main process, sent on the lab host (what the kernel's OOM killer does): the
restart policy the role sets (unless-stopped) then applies. (`docker kill` would not do: the engine counts it as a
stop by the user.) Containers are found by their Compose labels (com.docker.compose.project / .service).

worker: a sum of squares over ~12 s of 0.25 s tasks runs while one worker is crashed at a quarter of it; the result
  must be exact, the container restarted by the engine (RestartCount + 1), the scheduler back to N workers, and
  Prometheus must have recorded the removal and the re-addition (the scheduler's counters
  dask_scheduler_workers_removed_total and _added_total, distributed 2026.8.0
  distributed/http/scheduler/prometheus/core.py, each up by at least 1 since the last scrape before the crash) and
  sum(dask_scheduler_workers) back at N in a scrape taken after the recovery. The gauge's dip itself is printed, not
  required: a restarted worker can be back in less than one scrape interval, and no scrape need fall in the gap.
scheduler: the scheduler is crashed; it must come back and all N workers re-register within --bound seconds
  (measured and printed), the array-mean workload must be exact afterwards, and Prometheus must show the outage
  (up of the scheduler job 0, or its worker count 0) and the recovery. The series Prometheus recorded are written as
  a promtool test (--out/faults-rules.test.yml) run against the shared rules: as recorded (the self-healed crash),
  no DaskSchedulerDown/DaskNoWorkers alert fires; with the recorded outage sample held past the rule's `for`, it
  fires with the labels the stack really exports.
One JSON line with the measurements is printed; exit 1 with the reason on failure.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "artifacts", "workloads"))
RULES = os.path.join(ROOT, "artifacts", "prometheus", "dask-rules.yml")


def fail(msg: str, **seen) -> int:
    print(json.dumps({"ok": False, "error": msg, **seen}))
    return 1


def lab(container: str, *cmd: str) -> str:
    return subprocess.run(["docker", "exec", container, *cmd], check=True, capture_output=True, text=True).stdout


def containers(args, service: str) -> list[dict]:
    """The Compose service's containers on the lab host: id, restart count, main pid, state, restart policy."""
    ids = lab(args.lab_container, "docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={args.project}",
              "--filter", f"label=com.docker.compose.service={service}").split()
    out = json.loads(lab(args.lab_container, "docker", "inspect", *ids)) if ids else []
    return sorted(({"id": c["Id"][:12], "name": c["Name"].lstrip("/"), "restarts": c["RestartCount"],
                    "pid": c["State"]["Pid"], "status": c["State"]["Status"],
                    "policy": c["HostConfig"]["RestartPolicy"]["Name"]} for c in out), key=lambda c: c["name"])


def crash(args, container: dict) -> float:
    lab(args.lab_container, "kill", "-KILL", str(container["pid"]))
    return time.time()


def prom(args, path: str, **params):
    url = f"{args.prometheus}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)["data"]


def prom_values(args, query: str, start: float, end: float) -> list[float]:
    """sum-type query over [start, end] at 1 s steps: the values Prometheus had (one series)."""
    res = prom(args, "query_range", query=query, start=start, end=end, step="1s")["result"]
    return [float(v) for _, v in res[0]["values"]] if res else []


def wait_until(check, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def workers_registered(client, n: int) -> bool:
    try:
        return len(client.scheduler_info(n_workers=-1)["workers"]) == n
    except Exception:  # the scheduler is down or the client is reconnecting
        return False


def restarted(args, service: str, before: dict) -> bool:
    now = {c["name"]: c for c in containers(args, service)}
    c = now.get(before["name"])
    return bool(c) and c["restarts"] > before["restarts"] and c["status"] == "running"


def prometheus_recovered(args, query: str, value: float, after: float) -> bool:
    """The newest sample of `query` is `value` and was taken after `after`."""
    try:
        res = prom(args, "query", query=query)["result"]
    except OSError:
        return False
    return bool(res) and float(res[0]["value"][1]) == value and prom_newest_sample(args) > after


def prom_scalar(args, query: str) -> float | None:
    """The newest value of a one-series query, or None (no series, or Prometheus unreachable)."""
    try:
        res = prom(args, "query", query=query)["result"]
    except OSError:
        return None
    return float(res[0]["value"][1]) if res else None


WORKER_COUNTERS = ("dask_scheduler_workers_removed_total", "dask_scheduler_workers_added_total")


def worker_counters(args) -> dict:
    return {name: prom_scalar(args, f"sum({name})") for name in WORKER_COUNTERS}


def worker_churn_recorded(before: dict, after: dict) -> bool:
    """Each counter was scraped before and after, and went up by at least one (a removal and a re-addition)."""
    return all(before.get(k) is not None and after.get(k) is not None and after[k] >= before[k] + 1
               for k in WORKER_COUNTERS)


def prom_newest_sample(args) -> float:
    res = prom(args, "query", query='timestamp(up{job="dask-scheduler"})')["result"]
    return float(res[0]["value"][1]) if res else 0.0


def fault_worker(args) -> int:
    from distributed import Client

    def daskmetal_fault_square(i):
        time.sleep(0.25)
        return i * i

    workers = containers(args, "worker")
    seen: dict = {"policies": sorted({c["policy"] for c in workers}), "workers": len(workers)}
    if len(workers) != args.workers or seen["policies"] != ["unless-stopped"]:
        return fail("the workers are not N containers with restart policy unless-stopped", **seen)
    with Client(args.scheduler, timeout=60) as client:
        client.wait_for_workers(args.workers, timeout=60)
        n = int(12 * 4 * sum(client.nthreads().values()))  # ~12 s of 0.25 s tasks
        futures = [client.submit(daskmetal_fault_square, i, pure=False) for i in range(n)]
        total = client.submit(sum, futures)
        wait_until(lambda: sum(f.done() for f in futures) >= n // 4, 60, every=0.2)
        victim = workers[0]
        seen["counters_before"] = worker_counters(args)  # the last scrape before the crash
        t_kill = crash(args, victim)
        result = total.result(timeout=180)
        seen.update(result=result, expected=sum(i * i for i in range(n)), tasks=n, victim=victim["name"])
        back = wait_until(lambda: restarted(args, "worker", victim) and workers_registered(client, args.workers), 120)
        seen["worker_back_s"] = round(time.time() - t_kill, 1)
    if result != seen["expected"]:
        return fail("the computation returned a wrong result after a worker crash", **seen)
    if not back:
        return fail("the crashed worker was not restarted and re-registered within 120 s", **seen)
    query = "sum(dask_scheduler_workers)"

    def recorded() -> bool:
        seen["counters_after"] = worker_counters(args)
        return (prometheus_recovered(args, query, args.workers, t_kill + seen["worker_back_s"])
                and worker_churn_recorded(seen["counters_before"], seen["counters_after"]))

    ok = wait_until(recorded, 60, every=1.0)
    values = prom_values(args, query, t_kill - 10, time.time())
    seen.update(prometheus_workers=compress(values), gauge_dip_scraped=bool(values) and min(values) < args.workers)
    if not ok:
        return fail("Prometheus did not record the worker's removal and re-addition (dask_scheduler_workers_removed_total"
                    " and _added_total up by 1) with the count back at N", **seen)
    print(json.dumps({"ok": True, **seen}))
    return 0


def compress(values: list[float]) -> list[list[float]]:
    """[v, v, v, w] -> [[v, 3], [w, 1]]: the run of values, short enough to print."""
    out: list[list[float]] = []
    for v in values:
        if out and out[-1][0] == v:
            out[-1][1] += 1
        else:
            out.append([v, 1])
    return out


def watch_alerts(args, seen_states: dict) -> None:
    try:
        for a in prom(args, "alerts")["alerts"]:
            seen_states.setdefault(a["labels"]["alertname"], set()).add(a["state"])
    except OSError:
        pass


def fault_scheduler(args) -> int:
    from distributed import Client

    from daskmetal_workloads.smoke import array_mean_smoke

    sched = containers(args, "scheduler")[0]
    seen: dict = {"policy": sched["policy"]}
    alerts: dict = {}
    t_kill = crash(args, sched)

    def back():
        watch_alerts(args, alerts)
        return restarted(args, "scheduler", sched)

    ok = wait_until(back, args.bound)
    seen["scheduler_back_s"] = round(time.time() - t_kill, 1)
    with Client(args.scheduler, timeout=args.bound) as client:
        ok = ok and wait_until(lambda: watch_alerts(args, alerts) or workers_registered(client, args.workers),
                               max(1.0, args.bound - (time.time() - t_kill)))
        seen["workers_back_s"] = round(time.time() - t_kill, 1)
        if ok:
            seen["array_mean"] = array_mean_smoke(client, min_workers=args.workers)
    if not ok:
        return fail(f"the scheduler and {args.workers} workers were not back within {args.bound} s", **seen)
    if not seen["array_mean"]["ok"]:
        return fail("the array-mean workload is wrong after the scheduler came back", **seen)
    query = "sum(dask_scheduler_workers)"
    recovered = wait_until(lambda: prometheus_recovered(args, query, args.workers, t_kill + seen["workers_back_s"]), 60)
    start, end = t_kill - 15, time.time()
    up = prom_values(args, 'sum(up{job="dask-scheduler"})', start, end)
    count = prom_values(args, "sum(dask_scheduler_workers) or vector(0)", start, end)
    seen.update(prometheus_up=compress(up), prometheus_workers=compress(count),
                alerts_seen={k: sorted(v) for k, v in alerts.items()})
    if not recovered or not (0 in up or 0 in count) or up[-1] != 1 or count[-1] != args.workers:
        return fail("Prometheus did not show the scheduler outage and the recovery", **seen)
    seen["promtool"] = promtool_recorded(args, start, end)
    if not seen["promtool"]["ok"]:
        return fail("the shared alert rules do not behave as expected on the recorded series", **seen)
    print(json.dumps({"ok": True, **seen}))
    return 0


def recorded_series(args, start: float, end: float) -> tuple[list[dict], int]:
    """The raw series the scheduler rules read, as Prometheus stored them, at the scrape interval: [{labels, values}]."""
    step = args.step
    steps = int((end - start) // step) + 1
    out = []
    for query in ('up{job="dask-scheduler"}', "dask_scheduler_workers"):
        for r in prom(args, "query_range", query=query, start=start, end=end, step=f"{step}s")["result"]:
            values: list = [None] * steps
            for t, v in r["values"]:
                values[min(steps - 1, int(round((float(t) - start) / step)))] = float(v)
            out.append({"labels": r["metric"], "values": values})
    return out, steps


def _series_text(labels: dict) -> str:
    name = labels.get("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{inner}}}"


def _values_text(values: list) -> str:
    return " ".join("_" if v is None else repr(int(v) if v == int(v) else v) for v in values)


def _annotations(alertname: str, job: str) -> dict:
    import yaml

    with open(RULES, encoding="utf-8") as fh:
        rules = [r for g in yaml.safe_load(fh)["groups"] for r in g["rules"] if r.get("alert") == alertname]
    return {k: v.replace("{{ $labels.job }}", job).strip() for k, v in rules[0]["annotations"].items()}


def promtool_recorded(args, start: float, end: float) -> dict:
    """promtool test rules on the recorded series: no page for the self-healed crash; a page if its outage sample
    (scheduler unreachable, else no workers) had lasted past the rule's `for`."""
    import yaml

    series, steps = recorded_series(args, start, end)
    up = next((s for s in series if s["labels"].get("__name__") == "up"), None)
    down = [i for i, v in enumerate(up["values"]) if v == 0] if up else []
    alertname, job = ("DaskSchedulerDown", "dask-scheduler") if down else ("DaskNoWorkers", "dask-scheduler")
    if not down:  # no failed scrape caught: the outage is the time the restarted scheduler had no worker
        totals = [sum(s["values"][i] or 0 for s in series if s["labels"].get("__name__") == "dask_scheduler_workers")
                  if any(s["values"][i] is not None for s in series if s is not up) else None for i in range(steps)]
        down = [i for i, v in enumerate(totals) if v == 0]
    if not down:
        return {"ok": False, "error": "no outage sample in the recorded series"}
    i0, hold = down[0], int(6 * 60 // args.step)
    held = [{"labels": s["labels"], "values": s["values"][:i0 + 1] + [s["values"][i0]] * hold} for s in series]
    exp = {"exp_labels": {"severity": "critical", "job": job}, "exp_annotations": _annotations(alertname, job)}
    if alertname == "DaskSchedulerDown":
        exp["exp_labels"]["instance"] = up["labels"]["instance"]
    as_test = lambda ss, at, alerts: {  # noqa: E731
        "interval": f"{args.step}s",
        "input_series": [{"series": _series_text(s["labels"]), "values": _values_text(s["values"])} for s in ss],
        "alert_rule_test": [{"eval_time": f"{at}s", "alertname": a, "exp_alerts": e} for a, e in alerts]}
    end_s = (steps - 1) * args.step
    doc = {"rule_files": [RULES], "evaluation_interval": f"{args.step}s", "tests": [
        as_test(series, end_s, [("DaskSchedulerDown", []), ("DaskNoWorkers", [])]),
        as_test(held, (i0 + hold) * args.step, [(alertname, [exp])])]}
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "faults-rules.test.yml")
    with open(path, "w", encoding="utf-8") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False, width=200)
    proc = subprocess.run([shutil.which("promtool") or "promtool", "test", "rules", path],
                          capture_output=True, text=True)
    return {"ok": proc.returncode == 0, "file": path, "held_alert": alertname, "outage_step": i0,
            "output": proc.stdout[-800:] + proc.stderr[-800:]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fault", choices=["worker", "scheduler"])
    ap.add_argument("--lab-container", required=True)
    ap.add_argument("--scheduler", required=True)
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("--workers", type=int, required=True)
    ap.add_argument("--project", default="daskmetal")
    ap.add_argument("--bound", type=float, default=150, help="scheduler: seconds to be back with N workers")
    ap.add_argument("--step", type=int, default=5, help="the stack's Prometheus scrape interval in seconds")
    ap.add_argument("--out", default=os.path.join(ROOT, ".cache", "e2e"), help="where the promtool test goes")
    args = ap.parse_args(argv)
    return {"worker": fault_worker, "scheduler": fault_scheduler}[args.fault](args)


if __name__ == "__main__":
    sys.exit(main())
