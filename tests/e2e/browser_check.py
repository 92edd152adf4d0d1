"""What a user of the single-host stack sees, checked in headless Chromium over the DevTools protocol.

    python -m tests.e2e.browser_check jupyter --url http://HOST:8888 --shots DIR      # password in $JUPYTER_PASSWORD
    python -m tests.e2e.browser_check dashboard --url http://HOST:8787 --scheduler tcp://HOST:8786 --workers N
        --shots DIR [--no-work]

jupyter: in a fresh browser profile, /lab redirects to the login page; a wrong password stays there with the
  server's "Invalid credentials"; the generated password opens JupyterLab, whose file browser lists ~/examples.
dashboard: while a computation of up to ~30 s runs on the stack (submitted from here; --no-work: none, to see the check
  fail), /status is opened and the check waits until the Bokeh plots have rendered (non-empty canvases) and show the
  work: the task stream has rectangles, the progress plot a bar for the workload's task prefix, the per-worker memory
  plot N workers.
Screenshots (PNG) of every step go to --shots. One JSON line is printed; exit 1 with the reason on failure.

Chromium is Debian's (scripts/lab-prereqs installs it), driven through its DevTools protocol with websocket-client
(https://chromedevtools.github.io/devtools-protocol/: Page.navigate, Runtime.evaluate, Input.insertText,
Page.captureScreenshot; DevToolsActivePort in the profile gives the port of --remote-debugging-port=0).
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--window-size=1400,1000"]
# The workload's task prefix as the dashboard shows it (key_split of "daskmetal_browser_slow-<token>").
PREFIX = "daskmetal_browser_slow"

# Every <canvas> with a drawn size, in the page and in the shadow roots Bokeh 3 renders into.
JS_CANVASES = """(() => { const out = [];
  const walk = (root) => root.querySelectorAll('*').forEach((el) => {
    if (el.tagName === 'CANVAS') { const r = el.getBoundingClientRect();
      if (el.width > 0 && el.height > 0 && r.width > 0 && r.height > 0) out.push([r.width, r.height]); }
    if (el.shadowRoot) walk(el.shadowRoot); });
  walk(document); return out.length; })()"""
# The data of the named Bokeh figures of distributed's status_doc (dashboard/components/scheduler.py).
JS_BOKEH = """(() => { if (!window.Bokeh || !Bokeh.documents || !Bokeh.documents.length) return null;
  const doc = Bokeh.documents[0];
  const col = (name, key) => { const fig = doc.get_model_by_name(name); if (!fig) return null;
    for (const r of fig.renderers) { const d = r.data_source && r.data_source.data; if (!d) continue;
      const v = d instanceof Map ? d.get(key) : d[key]; if (v && v.length !== undefined) return Array.from(v); }
    return []; };
  return {title: document.title, task_stream: (col('task_stream', 'name') || []).length,
          progress: col('task_progress', 'name'), workers: col('workers_memory', 'worker')}; })()"""


class Chromium:
    """One headless Chromium with a fresh profile, one page, a minimal DevTools protocol client."""

    def __init__(self, binary: str = "/usr/bin/chromium", timeout: float = 60):
        import websocket  # websocket-client

        self.profile = tempfile.mkdtemp(prefix="daskmetal-chromium-")
        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        while not (os.path.exists(port_file) and open(port_file, encoding="utf-8").read().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.2)
        port = open(port_file, encoding="utf-8").read().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            page = next(t for t in json.load(resp) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.events: list[str] = []
        self.send("Page.enable")

    def send(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg["method"])

    def wait_loaded(self, timeout: float) -> None:
        """Until the next Page.loadEventFired (a navigation, a form post and its redirects)."""
        deadline = time.monotonic() + timeout
        while "Page.loadEventFired" not in self.events:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                msg = json.loads(self.ws.recv())
            except Exception:  # websocket timeout: the page did not finish loading
                break
            if "method" in msg:
                self.events.append(msg["method"])
        self.events.clear()

    def eval(self, expr: str):
        res = self.send("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            return None
        return res["result"].get("value")

    def wait_for(self, expr: str, timeout: float, ok=bool):
        """Poll expr until ok(value); returns (True, value) or (False, last value)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.eval(expr)
            if ok(value):
                return True, value
            if time.monotonic() > deadline:
                return False, value
            time.sleep(0.5)

    def goto(self, url: str, timeout: float = 60) -> None:
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_loaded(timeout)

    def type_into(self, selector: str, text: str) -> None:
        self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", text=text)

    def screenshot(self, path: str) -> None:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(data))

    def close(self) -> None:
        if getattr(self, "ws", None):
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def fail(msg: str, **seen) -> int:
    print(json.dumps({"ok": False, "error": msg, **seen}))
    return 1


def _login(browser: Chromium, url: str, password: str, timeout: float) -> dict:
    browser.goto(url + "/lab")
    seen = {"login_page": browser.eval("location.pathname")}
    if not browser.wait_for("!!document.querySelector('input[name=password]')", timeout)[0]:
        seen["login_form"] = False
        return seen
    browser.type_into("input[name=password]", password)
    browser.events.clear()
    browser.eval("document.querySelector('input[name=password]').form.submit()")
    browser.wait_loaded(timeout)
    return seen


def check_jupyter(args) -> int:
    """Wrong password refused in the browser; the generated one opens JupyterLab with ~/examples listed."""
    password = os.environ.get("JUPYTER_PASSWORD", "")
    if not password:
        return fail("JUPYTER_PASSWORD is not set")
    seen: dict = {}
    wrong = Chromium()
    try:
        seen["wrong"] = _login(wrong, args.url, password + "-wrong", args.timeout)
        seen["wrong"]["after"] = wrong.eval("location.pathname")
        seen["wrong"]["message"] = wrong.eval("(document.querySelector('.message') || {}).innerText || ''")
        wrong.screenshot(os.path.join(args.shots, "jupyter-wrong-password.png"))
    finally:
        wrong.close()
    if seen["wrong"]["login_page"] != "/login" or seen["wrong"]["after"] != "/login":
        return fail("JupyterLab did not keep a wrong password on its login page", **seen)
    browser = Chromium()
    try:
        seen["right"] = _login(browser, args.url, password, args.timeout)
        ok, items = browser.wait_for(
            "Array.from(document.querySelectorAll('.jp-DirListing-itemText')).map((e) => e.innerText)",
            args.timeout, ok=lambda v: bool(v) and "examples" in v)
        seen["right"].update(after=browser.eval("location.pathname"), file_browser=items,
                             title=browser.eval("document.title"))
        time.sleep(1)  # the file browser's next refresh, so the picture shows what was read
        browser.screenshot(os.path.join(args.shots, "jupyterlab.png"))
    finally:
        browser.close()
    if not ok or not seen["right"]["after"].startswith("/lab"):
        return fail("the generated password did not open JupyterLab with ~/examples", **seen)
    print(json.dumps({"ok": True, **seen}))
    return 0


def _start_work(client, seconds: float):
    """~`seconds` of work spread over the workers: tasks that sleep 0.5 s each."""
    import dask

    def daskmetal_browser_slow(i):
        time.sleep(0.5)
        return i

    nthreads = sum(client.nthreads().values())
    tasks = [dask.delayed(daskmetal_browser_slow, pure=False)(i) for i in range(int(seconds * 2 * nthreads))]
    return client.compute(tasks)


def check_dashboard(args) -> int:
    """/status, opened while work runs, renders its Bokeh plots and shows the task stream, progress and workers."""
    from distributed import Client

    with Client(args.scheduler, timeout=60) as client:
        client.wait_for_workers(args.workers, timeout=60)
        futures = None if args.no_work else _start_work(client, args.work_seconds)
        browser = Chromium()
        try:
            browser.goto(args.url + "/status")
            rendered = lambda v: bool(v) and v >= 4  # noqa: E731  memory, workers, processing, stream, progress
            shows_work = lambda v: bool(v) and v["task_stream"] > 0 and PREFIX in (v["progress"] or [])  # noqa: E731
            ok_canvas, canvases = browser.wait_for(JS_CANVASES, args.timeout, ok=rendered)
            ok_work, bokeh = browser.wait_for(JS_BOKEH, args.timeout, ok=shows_work)
            time.sleep(1)  # let the periodic callbacks draw once more before the picture
            browser.screenshot(os.path.join(args.shots, "dask-status.png"))
        finally:
            browser.close()
        if futures is not None:  # seen: the rest of the work is not needed
            client.cancel(futures)
    seen = {"canvases": canvases, "bokeh": bokeh}
    if not ok_canvas:
        return fail("the dashboard's plots did not render", **seen)
    if not ok_work:
        return fail("the dashboard did not show the running work", **seen)
    if len(set(bokeh["workers"] or [])) != args.workers:
        return fail(f"the dashboard does not show {args.workers} workers", **seen)
    print(json.dumps({"ok": True, **seen}))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    j = sub.add_parser("jupyter")
    j.add_argument("--url", required=True)
    d = sub.add_parser("dashboard")
    d.add_argument("--url", required=True)
    d.add_argument("--scheduler", required=True)
    d.add_argument("--workers", type=int, required=True)
    d.add_argument("--work-seconds", type=float, default=30)
    d.add_argument("--no-work", action="store_true", help="open the dashboard with nothing running")
    for p in (j, d):
        p.add_argument("--shots", required=True, help="directory for the screenshots")
        p.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args(argv)
    os.makedirs(args.shots, exist_ok=True)
    return {"jupyter": check_jupyter, "dashboard": check_dashboard}[args.what](args)


if __name__ == "__main__":
    sys.exit(main())
