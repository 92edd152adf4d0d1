"""Build the images of the single-host Compose stack's offline end-to-end test and push them to the lab registry.

    python -m tests.e2e.stack_images build [--port 5000]   # prints JSON {dask, notebook, prometheus, registry}

No container registry is reachable offline, so the test builds stand-ins for the upstream images from the lab's
minbase root (Debian + PyPI + Debian's prometheus package; see tests/e2e/images/*/Dockerfile). Each image is tagged
with a hash of its recipe (Dockerfile, requirements, the project's constraints.txt, the base image's recipe) and is
rebuilt only when that hash changes; a push is skipped when the registry already holds the tag. The printed names are
registry-relative (`daskmetal-lab/dask:<hash>`): the role pulls them through `dask_compose_registry`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")
BASE = "daskmetal-lab/minbase:bookworm"
RECIPE_VERSION = "1"


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, **kw)


def _base_recipe() -> str:
    out = subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", BASE],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{BASE} is missing: run `python -m tests.lab.images build --kind minbase --suite bookworm`")
    labels = json.loads(out.stdout.strip() or "null") or {}
    return labels.get("io.daskmetal.lab.recipe", "unlabelled")


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in (RECIPE_VERSION.encode(), *parts):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:12]


def _read(*path: str) -> bytes:
    with open(os.path.join(*path), "rb") as fh:
        return fh.read()


def _present(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def _build(tag: str, context_files: dict[str, str], build_args: dict[str, str]) -> None:
    """docker build with a context holding exactly the listed files (name in context -> source path)."""
    if _present(tag):
        print(f"{tag}: present", file=sys.stderr, flush=True)
        return
    ctx = tempfile.mkdtemp(prefix="daskmetal-e2e-image-")
    try:
        for name, src in context_files.items():
            shutil.copy(src, os.path.join(ctx, name))
        cmd = ["docker", "build", "-t", tag]
        for key, value in build_args.items():
            cmd += ["--build-arg", f"{key}={value}"]
        t0 = time.monotonic()
        _run(cmd + [ctx], stdout=sys.stderr)
        print(f"{tag}: built in {time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(ctx, ignore_errors=True)


def _in_registry(port: int, name: str, tag: str) -> bool:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v2/{name}/manifests/{tag}", method="HEAD",
                                 headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status == 200
    except urllib.error.HTTPError:
        return False


def _push(port: int, ref: str) -> None:
    name, tag = ref.rsplit(":", 1)
    if _in_registry(port, name, tag):
        return
    remote = f"localhost:{port}/{ref}"
    _run(["docker", "tag", ref, remote])
    _run(["docker", "push", "-q", remote], stdout=sys.stderr)


def build(port: int) -> dict[str, str]:
    base = _base_recipe().encode()
    constraints = os.path.join(ROOT, "constraints.txt")
    dask_dir, nb_dir, prom_dir = (os.path.join(IMAGES, d) for d in ("dask", "notebook", "prometheus"))

    dask_hash = _digest(base, _read(dask_dir, "Dockerfile"), _read(dask_dir, "requirements.txt"), _read(constraints))
    dask = f"daskmetal-lab/dask:{dask_hash}"
    _build(dask, {"Dockerfile": os.path.join(dask_dir, "Dockerfile"),
                  "requirements.txt": os.path.join(dask_dir, "requirements.txt"),
                  "constraints.txt": constraints}, {"BASE": BASE})

    nb_hash = _digest(dask_hash.encode(), _read(nb_dir, "Dockerfile"), _read(nb_dir, "requirements.txt"))
    notebook = f"daskmetal-lab/dask-notebook:{nb_hash}"
    _build(notebook, {"Dockerfile": os.path.join(nb_dir, "Dockerfile"),
                      "requirements.txt": os.path.join(nb_dir, "requirements.txt")}, {"BASE": dask})

    prom_hash = _digest(base, _read(prom_dir, "Dockerfile"))
    prometheus = f"daskmetal-lab/prometheus:{prom_hash}"
    _build(prometheus, {"Dockerfile": os.path.join(prom_dir, "Dockerfile")}, {"BASE": BASE})

    for ref in (dask, notebook, prometheus):
        _push(port, ref)
    return {"dask": dask, "notebook": notebook, "prometheus": prometheus}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=("build",))
    ap.add_argument("--port", type=int, default=5000, help="port of the lab registry (tests.lab.registry)")
    args = ap.parse_args(argv)
    print(json.dumps(build(args.port)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
