"""Checks of a running single-host Dask stack, made from the controller (the Molecule host) against its published ports.

    python -m tests.e2e.compose_stack_check dask --scheduler tcp://HOST:8786 --workers N
    python -m tests.e2e.compose_stack_check prometheus --url http://HOST:9090 --workers N [--timeout 120]
    python -m tests.e2e.compose_stack_check jupyter --url http://HOST:8888        # password in $JUPYTER_PASSWORD

Each prints one JSON line with what it saw and exits 1 (with the reason) when the stack is not as expected.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "artifacts", "workloads"))


def fail(msg: str, **seen) -> int:
    print(json.dumps({"ok": False, "error": msg, **seen}))
    return 1


def check_dask(args) -> int:
    """The scheduler reports exactly N workers and the array-mean workload, submitted from here, is right."""
    from distributed import Client

    from daskmetal_workloads.smoke import array_mean_smoke

    with Client(args.scheduler, timeout=args.timeout) as client:
        client.wait_for_workers(args.workers, timeout=args.timeout)
        deadline = time.monotonic() + args.timeout
        while True:  # workers of a scaled-down stack may take a moment to leave
            n = len(client.scheduler_info(n_workers=-1)["workers"])
            if n == args.workers or time.monotonic() > deadline:
                break
            time.sleep(1)
        out = array_mean_smoke(client, n=args.n, min_workers=args.workers, timeout=args.timeout)
        versions = client.get_versions(check=False)
    out["scheduler_workers"] = n
    out["scheduler_python"] = versions["scheduler"]["host"]["python"]
    if n != args.workers:
        return fail(f"scheduler reports {n} workers, expected {args.workers}", **out)
    if not out["ok"] or out["result"] != out["expected"]:
        return fail("array-mean workload returned a wrong result", **out)
    print(json.dumps(out))
    return 0


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def check_prometheus(args) -> int:
    """Scheduler and N worker targets are up, sum(dask_scheduler_workers) == N, the shared Dask rules are loaded."""
    deadline = time.monotonic() + args.timeout
    seen: dict = {}
    while True:
        try:
            targets = _get_json(args.url + "/api/v1/targets?state=active")["data"]["activeTargets"]
            by_job: dict[str, list[str]] = {}
            for t in targets:
                by_job.setdefault(t["labels"]["job"], []).append(t["health"])
            q = urllib.parse.quote("sum(dask_scheduler_workers)")
            result = _get_json(f"{args.url}/api/v1/query?query={q}")["data"]["result"]
            total = float(result[0]["value"][1]) if result else None
            groups = [g["name"] for g in _get_json(args.url + "/api/v1/rules")["data"]["groups"]]
            seen = {"targets": by_job, "sum_dask_scheduler_workers": total, "rule_groups": groups}
            ok = (by_job.get("dask-scheduler") == ["up"]
                  and by_job.get("dask-workers") == ["up"] * args.workers
                  and total == args.workers
                  and "dask.rules" in groups)
            if ok:
                print(json.dumps({"ok": True, **seen}))
                return 0
        except (OSError, KeyError, ValueError, IndexError) as exc:
            seen = {"last_error": repr(exc)}
        if time.monotonic() > deadline:
            return fail(f"Prometheus did not show {args.workers} healthy workers within {args.timeout}s", **seen)
        time.sleep(2)


def _login(url: str, password: str) -> tuple[int, str, urllib.request.OpenerDirector]:
    """Log in like a browser: GET /login for the _xsrf cookie, POST the password. Returns (status, location, opener)."""
    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **kw):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    with opener.open(url + "/login", timeout=10) as resp:
        page = resp.read().decode()
    xsrf = next((c.value for c in jar if c.name == "_xsrf"), None)
    if xsrf is None:
        m = re.search(r'name="_xsrf" value="([^"]+)"', page)
        xsrf = m.group(1) if m else ""
    body = urllib.parse.urlencode({"password": password, "_xsrf": xsrf}).encode()
    try:
        with opener.open(urllib.request.Request(url + "/login?next=%2Flab", data=body), timeout=10) as resp:
            return resp.status, resp.headers.get("Location", ""), opener
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", ""), opener


def check_jupyter(args) -> int:
    """Anonymous API access is refused, a wrong password is refused, the right one logs in."""
    password = os.environ.get("JUPYTER_PASSWORD", "")
    if not password:
        return fail("JUPYTER_PASSWORD is not set")
    try:
        urllib.request.urlopen(args.url + "/api/contents", timeout=10)
        return fail("JupyterLab answered /api/contents without a login")
    except urllib.error.HTTPError as exc:
        anonymous = exc.code
    wrong_status, wrong_loc, _ = _login(args.url, password + "-wrong")
    status, location, opener = _login(args.url, password)
    seen = {"anonymous_status": anonymous, "wrong_password_status": wrong_status, "login_status": status,
            "login_location": location}
    if anonymous not in (401, 403):
        return fail("anonymous request was not refused", **seen)
    if wrong_status == 302:
        return fail("a wrong password was accepted", **seen)
    if status != 302 or not location.endswith("/lab"):
        return fail("the password was not accepted", **seen)
    with opener.open(args.url + "/api/contents/examples", timeout=10) as resp:
        listing = json.load(resp)
    seen["examples"] = sorted(item["name"] for item in listing["content"])
    if not any(name.endswith(".ipynb") for name in seen["examples"]):
        return fail("the shared notebooks are not in ~/examples", **seen)
    print(json.dumps({"ok": True, **seen}))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    d = sub.add_parser("dask")
    d.add_argument("--scheduler", required=True)
    d.add_argument("--workers", type=int, required=True)
    d.add_argument("--n", type=int, default=2000)
    d.add_argument("--timeout", type=float, default=120)
    p = sub.add_parser("prometheus")
    p.add_argument("--url", required=True)
    p.add_argument("--workers", type=int, required=True)
    p.add_argument("--timeout", type=float, default=120)
    j = sub.add_parser("jupyter")
    j.add_argument("--url", required=True)
    args = ap.parse_args(argv)
    return {"dask": check_dask, "prometheus": check_prometheus, "jupyter": check_jupyter}[args.what](args)


if __name__ == "__main__":
    sys.exit(main())
