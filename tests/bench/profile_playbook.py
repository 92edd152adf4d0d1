"""Profile one ansible-playbook run on the synthetic inventory of scripts/bench_scale.py, workers included.

    nice -n 10 /work/main/.venv/bin/python tests/bench/profile_playbook.py N PLAYBOOK OUTDIR [extra args...]

Writes OUTDIR/main.pstats (the controller process: strategy, variable manager, result processing) and
OUTDIR/workers.pstats (every forked worker's TaskExecutor run merged), and prints per-worker resource usage
(user/system CPU and minor page faults of the worker itself: copy-on-write faults after the fork show there).
cProfile alone misses the workers, which leave through os._exit without writing their profile; this wraps
WorkerProcess.run in each child instead. A measurement tool, not a test.
"""
from __future__ import annotations

import cProfile
import json
import os
import pstats
import resource
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import bench_scale  # noqa: E402  (scripts/bench_scale.py: the same synthetic inventory as the bench)


def _patch_workers(outdir: str) -> None:
    from ansible.executor.process import worker

    original = worker.WorkerProcess._run

    def profiled_run(self):
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        prof = cProfile.Profile()
        try:
            return prof.runcall(original, self)
        finally:
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            pid = os.getpid()
            prof.dump_stats(os.path.join(outdir, "w-%d.pstats" % pid))
            with open(os.path.join(outdir, "w-%d.json" % pid), "w", encoding="utf-8") as fh:
                # ru1 is the whole child since the fork (the copy-on-write faults of the fork included); ru0 is
                # what the child had used before _run (multiprocessing's own start-up in the child)
                json.dump({"utime": ru1.ru_utime, "stime": ru1.ru_stime, "minflt": ru1.ru_minflt,
                           "minflt_before_run": ru0.ru_minflt, "host": str(self._host)}, fh)

    worker.WorkerProcess._run = profiled_run


def main(argv: list[str]) -> int:
    n, playbook, outdir, extra = int(argv[1]), argv[2], argv[3], argv[4:]
    os.makedirs(outdir, exist_ok=True)
    inv_dir = tempfile.mkdtemp(prefix="daskmetal-prof-")
    inv = bench_scale.write_inventory(inv_dir, n)
    fd, cb_out = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    os.environ.update(bench_scale.ansible_env(cb_out))
    os.chdir(ROOT)
    _patch_workers(outdir)
    from ansible.cli.playbook import PlaybookCLI

    prof = cProfile.Profile()
    t0, c0 = time.monotonic(), os.times()
    rc = prof.runcall(lambda: PlaybookCLI(["ansible-playbook", "-i", inv, playbook, *extra]).run())
    wall, c1 = time.monotonic() - t0, os.times()
    prof.dump_stats(os.path.join(outdir, "main.pstats"))
    workers = [f for f in os.listdir(outdir) if f.startswith("w-") and f.endswith(".pstats")]
    merged = pstats.Stats(os.path.join(outdir, workers[0]))
    for f in workers[1:]:
        merged.add(os.path.join(outdir, f))
    merged.dump_stats(os.path.join(outdir, "workers.pstats"))
    usage = []
    for f in os.listdir(outdir):
        if f.startswith("w-") and f.endswith(".json"):
            with open(os.path.join(outdir, f), encoding="utf-8") as fh:
                usage.append(json.load(fh))
        if f.startswith("w-"):
            os.unlink(os.path.join(outdir, f))
    summary = {"hosts": n, "playbook": playbook, "rc": rc, "wall_s": wall,
               "main_cpu_s": (c1.user - c0.user) + (c1.system - c0.system),
               "workers": len(usage),
               "worker_cpu_s": sum(u["utime"] + u["stime"] for u in usage),
               "worker_stime_s": sum(u["stime"] for u in usage),
               "worker_minflt_mean": sum(u["minflt"] for u in usage) / max(len(usage), 1),
               "main_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    with open(os.path.join(outdir, "summary.json"), "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=1)
    print(json.dumps(summary))
    os.unlink(cb_out)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
