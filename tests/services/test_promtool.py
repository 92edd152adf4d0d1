"""The shared Prometheus rules and Grafana dashboard, checked with Debian's promtool and against real Dask metrics."""

from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
import urllib.request

import pytest
import yaml

from .conftest import ARTIFACTS, ROOT
from .test_consumers import render_compose

RULES = ARTIFACTS / "prometheus" / "dask-rules.yml"
RULE_TESTS = ARTIFACTS / "prometheus" / "dask-rules.test.yml"
DASHBOARD = ARTIFACTS / "grafana" / "dask-dashboard.json"
PROMTOOL = shutil.which("promtool")

needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian package prometheus)")


def promtool(*args, cwd=None):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def dashboard_exprs() -> list[tuple[str, str]]:
    dash = json.loads(DASHBOARD.read_text())
    out = [(p["title"], t["expr"]) for p in dash["panels"] for t in p.get("targets", [])]
    out += [(v["name"], v["query"]["query"]) for v in dash["templating"]["list"] if v["type"] == "query"]
    return out


def as_promql(expr: str) -> str:
    """Grafana variables replaced by values Prometheus accepts (label_values() is Grafana syntax, not PromQL)."""
    m = re.fullmatch(r"label_values\((\w+),\s*\w+\)", expr)
    if m:
        return m.group(1)
    return expr.replace("$__rate_interval", "5m").replace("$worker_job", ".*").replace("$job", ".*")


def write_rule_file(path, exprs):
    groups = [{"name": "dashboard", "rules": [{"record": f"dashboard:expr_{i}", "expr": e} for i, e in enumerate(exprs)]}]
    path.write_text(yaml.safe_dump({"groups": groups}))


@needs_promtool
def test_rules_check():
    r = promtool("check", "rules", str(RULES))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


@needs_promtool
def test_rules_unit_tests():
    r = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_alert_is_unit_tested():
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r}
    tested = {t["alertname"] for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}
    assert alerts - tested == set(), f"alerts without a firing test case: {sorted(alerts - tested)}"
    assert {"DaskSchedulerDown", "DaskWorkersBelowDesired", "DaskWorkersPaused", "DaskWorkerMemoryNearLimit",
            "DaskTasksErred", "NodeDown"} <= alerts


@needs_promtool
def test_dashboard_promql_parses(tmp_path):
    exprs = [as_promql(e) for _, e in dashboard_exprs()]
    assert len(exprs) >= 15
    f = tmp_path / "dashboard-exprs.yml"
    write_rule_file(f, exprs)
    r = promtool("check", "rules", str(f))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{len(exprs)} rules found" in r.stdout


@needs_promtool
@pytest.mark.parametrize("bad", ["sum by (state (dask_scheduler_workers)", "rate(dask_worker_spill_bytes_total)",
                                 "dask_scheduler_workers{state=\"idle\"", "sum(dask_scheduler_workers) <> 1"])
def test_promtool_rejects_broken_promql(tmp_path, bad):
    """The parse check above can fail: promtool reports a broken expression."""
    f = tmp_path / "bad.yml"
    write_rule_file(f, ["up", bad])
    r = promtool("check", "rules", str(f))
    assert r.returncode != 0
    assert "FAILED" in r.stdout + r.stderr


def test_dashboard_shape():
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"] == "daskmetal-dask"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in dash["panels"]:
        assert p["datasource"]["uid"] == "${datasource}"
        assert p["targets"], p["title"]


def _names(text: str) -> set[str]:
    return set(re.findall(r"\b(dask_[a-z_]+)\b", text))


def test_metric_names_exist_in_a_real_dask(dask_cluster):
    """Every dask_* metric the rules and dashboard use is exported by this Dask (scheduler + worker /metrics)."""
    pytest.importorskip("prometheus_client")
    from distributed import Client

    with Client(dask_cluster) as client:
        client.submit(sum, [1, 2]).result()
        sched = urllib.request.urlopen(dask_cluster.dashboard_link.replace("/status", "/metrics"), timeout=30).read()
        w = next(iter(client.scheduler_info()["workers"].values()))
        worker = urllib.request.urlopen(f"http://{w['host']}:{w['services']['dashboard']}/metrics", timeout=30).read()
    exported = {line.split("{")[0].split(" ")[0] for line in (sched + worker).decode().splitlines()
                if line.startswith("dask_")}
    used = _names(RULES.read_text()) | set().union(*(_names(e) for _, e in dashboard_exprs()))
    assert used, "no dask metric found in rules/dashboard"
    assert used - exported == set(), f"not exported by dask/distributed: {sorted(used - exported)}"
    # one series per worker state: the rules must sum them
    states = re.findall(r'^dask_scheduler_workers\{state="(\w+)"\}', sched.decode(), re.M)
    assert {"idle", "paused", "saturated"} <= set(states)


# The Prometheus LTS lines (prometheus/docs, docs/introduction/release-cycle.md at c105550, 2026-08-06: "List of LTS
# releases"; 3.5 marked end of life by prometheus/docs#3097). Anything else is supported only ~6 weeks.
PROMETHEUS_LTS = {"2.53": datetime.date(2025, 7, 31), "3.5": datetime.date(2026, 7, 31),
                  "3.13": datetime.date(2027, 7, 31)}


def test_compose_prometheus_is_a_supported_lts():
    """review platform-services MINOR 8: the Compose stack pinned v3.5.0, an LTS line that ended on 2026-07-31.
    This fails again the day the pinned line leaves support: then pin the next LTS."""
    image = yaml.safe_load((ROOT / "roles" / "dask_compose" / "defaults" / "main.yml").read_text())[
        "dask_compose_prometheus_image"]
    m = re.fullmatch(r"[^:]+/prometheus/prometheus:v(\d+)\.(\d+)\.(\d+)", image)
    assert m, f"{image}: not a quay.io/prometheus/prometheus:vX.Y.Z pin"
    line = f"{m.group(1)}.{m.group(2)}"
    assert line in PROMETHEUS_LTS, f"{image}: {line} is not an LTS line ({sorted(PROMETHEUS_LTS)})"
    assert PROMETHEUS_LTS[line] >= datetime.date.today(), f"{image}: LTS {line} ended on {PROMETHEUS_LTS[line]}"


@needs_promtool
def test_compose_prometheus_config_and_rules_check(tmp_path):
    """The Prometheus config roles/dask_compose renders, with the rules where the container mounts them
    (./prometheus/rules -> /etc/prometheus/rules), through promtool check config (which also checks the rule files
    the config loads)."""
    cfg = yaml.safe_load((render_compose(tmp_path / "out") / "prometheus" / "prometheus.yml").read_text())
    assert cfg["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(RULES, rules / RULES.name)
    cfg["rule_files"] = [str(rules / "*.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(cfg))
    r = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 1 rule files found" in r.stdout, r.stdout

