# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Callback for scripts/bench: counts what a playbook run cost, per play and per role, as JSON.

Enabled by scripts/bench through the environment (not by ansible.cfg):
    ANSIBLE_CALLBACK_PLUGINS=scripts/bench_callback ANSIBLE_CALLBACKS_ENABLED=daskmetal_bench
    DASKMETAL_BENCH_OUT=/path/file.json

For every task result it records the status (ok, changed, skipped, failed, unreachable) and whether a module
ran, and where:
* ``controller_only``: the action never leaves the controller (set_fact, assert, debug, meta, include_*, ...);
* ``module_runs``: the action ran a module (each loop item counts once, skipped items do not);
* ``host_round_trips``: module runs over a connection to another machine (not ``local``). It is a lower bound
  of network round trips: action plugins such as template or copy make more than one per run.
The connection is the delegated host's when the task is delegated, else the inventory's ``ansible_connection``
(host, then its groups), else the play's ``connection`` keyword, else ssh.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: daskmetal_bench
type: aggregate
short_description: Count tasks, module runs and host round trips per play and role (for scripts/bench)
description:
  - Writes a JSON summary of the run to the file named by the environment variable DASKMETAL_BENCH_OUT.
requirements:
  - enable in configuration
options:
  output:
    description: The JSON file to write.
    env:
      - name: DASKMETAL_BENCH_OUT
    default: bench-run.json
    type: path
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase

# actions whose work is done on the controller only (no module is sent to the host)
CONTROLLER_ONLY = frozenset((
    "set_fact", "assert", "debug", "fail", "meta", "include_tasks", "import_tasks", "include_role", "import_role",
    "include_vars", "add_host", "group_by", "set_stats", "pause", "import_playbook", "validate_argument_spec",
))
ROLELESS = "(playbook)"


_NO_CONNECTION = {}


def needs_no_connection(action):
    """An action plugin that declares it never uses the connection (``_requires_connection = False``, as
    daskmetal.platform.preflight does): its work is done on the controller, whatever its name."""
    if action not in _NO_CONNECTION:
        try:
            from ansible.plugins.loader import action_loader
            cls = action_loader.get(action, class_only=True)
        except Exception:  # noqa: BLE001 (a plain module has no action plugin: it runs on the host)
            cls = None
        _NO_CONNECTION[action] = cls is not None and getattr(cls, "_requires_connection", True) is False
    return _NO_CONNECTION[action]


def short_action(action):
    """ansible.builtin.set_fact / ansible.legacy.set_fact / set_fact -> set_fact."""
    return (action or "").rsplit(".", 1)[-1]


def _attr(obj, *names):
    for name in names:
        if hasattr(obj, name):
            return getattr(obj, name)
    return None


def _counter():
    return {"tasks": 0, "results": 0, "ok": 0, "changed": 0, "skipped": 0, "failed": 0, "unreachable": 0,
            "controller_only": 0, "module_runs": 0, "host_round_trips": 0, "seconds": 0.0}


def module_runs(result, skipped):
    """How many module executions a (possibly looped) task result stands for."""
    if skipped:
        return 0
    items = result.get("results") if isinstance(result, dict) else None
    if isinstance(items, list) and items and all(isinstance(i, dict) for i in items):
        return sum(1 for i in items if not i.get("skipped"))
    return 1


class Tally(object):
    """Pure bookkeeping, separate from the callback so it can be unit-tested without a playbook run."""

    def __init__(self):
        self.total = _counter()
        self.plays = []
        self.roles = {}
        self.tasks = []
        self._current = None

    def start_task(self, name, role, action, now):
        self.end_task(now)
        role = role or ROLELESS
        self._current = {"name": name, "role": role, "action": short_action(action), "start": now, "seconds": 0.0,
                         "play": self.plays[-1]["name"] if self.plays else None}
        self.tasks.append(self._current)
        for bucket in self._buckets(role):
            bucket["tasks"] += 1

    def end_task(self, now):
        if self._current is None:
            return
        secs = max(0.0, now - self._current.pop("start"))
        self._current["seconds"] = round(secs, 4)
        for bucket in self._buckets(self._current["role"]):
            bucket["seconds"] = round(bucket["seconds"] + secs, 4)
        self._current = None

    def start_play(self, name, now):
        self.end_task(now)
        self.plays.append(dict(_counter(), name=name))

    def _buckets(self, role):
        out = [self.total, self.roles.setdefault(role, _counter())]
        if self.plays:
            out.append(self.plays[-1])
        return out

    def add_result(self, role, action, status, result, remote):
        """status: ok|changed|skipped|failed|unreachable; remote: the connection is not local."""
        role = role or ROLELESS
        runs = 0
        controller = short_action(action) in CONTROLLER_ONLY or needs_no_connection(action)
        if status != "unreachable" and not controller:
            runs = module_runs(result, status == "skipped")
        for bucket in self._buckets(role):
            bucket["results"] += 1
            bucket[status] += 1
            if controller and status != "skipped":
                bucket["controller_only"] += 1
            bucket["module_runs"] += runs
            if remote:
                bucket["host_round_trips"] += runs


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "daskmetal_bench"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.tally = Tally()
        self._t0 = time.monotonic()
        self._play = None
        self._conn_cache = {}

    # --- where a module runs ---------------------------------------------------------------------
    def _inventory_connection(self, host):
        name = host.get_name()
        if name not in self._conn_cache:
            conn = (host.get_vars() or {}).get("ansible_connection")
            if conn is None:
                groups = sorted(host.get_groups(), key=lambda g: g.depth, reverse=True)
                for group in groups:
                    conn = (group.get_vars() or {}).get("ansible_connection")
                    if conn is not None:
                        break
            if conn is None and host.implicit:
                conn = "local"
            self._conn_cache[name] = conn
        return self._conn_cache[name]

    def _remote(self, result_obj, result):
        delegated = result.get("_ansible_delegated_vars") if isinstance(result, dict) else None
        if delegated:
            conn = delegated.get("ansible_connection")
            if conn is None and delegated.get("ansible_delegated_host") in ("localhost", "127.0.0.1"):
                conn = "local"
        else:
            host = _attr(result_obj, "host", "_host")
            conn = self._inventory_connection(host) if host is not None else None
            if conn is None and self._play is not None:
                conn = self._play.connection
        conn = str(conn or "ssh")
        return short_action(conn) != "local"

    def _record(self, result_obj, status):
        task = _attr(result_obj, "task", "_task")
        result = _attr(result_obj, "result", "_result") or {}
        if status == "ok" and result.get("changed"):
            status = "changed"
        role = task._role.get_name() if getattr(task, "_role", None) else None
        self.tally.add_result(role, task.action, status, result, self._remote(result_obj, result))

    # --- events ------------------------------------------------------------------------------------
    def v2_playbook_on_play_start(self, play):
        self._play = play
        self.tally.start_play(play.get_name(), time.monotonic() - self._t0)

    def v2_playbook_on_task_start(self, task, is_conditional):
        role = task._role.get_name() if getattr(task, "_role", None) else None
        self.tally.start_task(task.get_name(), role, task.action, time.monotonic() - self._t0)

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        now = time.monotonic() - self._t0
        self.tally.end_task(now)
        out = {"wall_s": round(now, 3), "total": self.tally.total, "plays": self.tally.plays,
               "roles": self.tally.roles, "tasks": self.tally.tasks}
        path = self.get_option("output")
        tmp = path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(out, fh, indent=1)
        os.replace(tmp, path)
