"""Build the images of the single-host Compose stack's offline end-to-end test and push them to the lab registry.

    python -m tests.e2e.stack_images build [--port 5000] [--upstream-like]   # prints JSON {dask, ml, prometheus[, notebook]}
    python -m tests.e2e.stack_images ml-tag                                  # the default dask_compose_image tag

No container registry is reachable offline, so the test builds stand-ins for the upstream images from the lab's
minbase root (Debian + PyPI + Debian's prometheus package; see tests/e2e/images/*/Dockerfile), and the project's
own ML image (images/ml/Dockerfile, the same recipe users build) FROM the Dask stand-in. The stack runs the ML image
for the scheduler, the workers and JupyterLab. `--upstream-like` also builds the JupyterLab stand-in of
ghcr.io/dask/dask-notebook (Dask + JupyterLab, no scikit-learn, dask-ml or TPOT), used only to show that the notebook
check fails on the image the stack used to run. Each image is tagged
with a hash of its recipe (Dockerfile, requirements, the project's constraints.txt, the base image's recipe) and is
rebuilt only when that hash changes; a push is skipped when the registry already holds the tag. The printed names are
registry-relative (`daskmetal-lab/dask:<hash>`): the role pulls them through `dask_compose_registry`.
"""
from __future__ import annotations

import argparse
import fcntl
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
ML_RECIPE = os.path.join(ROOT, "images", "ml")
ML_RECIPE_FILES = ("Dockerfile", "requirements.txt")  # what roles/dask_compose copies to the host and builds
ML_REPOSITORY = "daskmetal/dask-ml"
ML_TAG_PREFIX = "2026.8.0-py3.11-"
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
    """docker build with a context holding exactly the listed files (name in context -> source path).

    Serialised per tag with a lock file: scripts/test runs pytest and Molecule side by side, and both need the ML
    image; the second caller waits for the first build and then finds the image present."""
    safe = tag.replace("/", "_").replace(":", "_")
    lock_path = os.path.join(tempfile.gettempdir(), f"daskmetal-image-{safe}.lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _build_locked(tag, context_files, build_args)


def _build_locked(tag: str, context_files: dict[str, str], build_args: dict[str, str]) -> None:
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


# The push without gzip. `docker push` compresses every layer on one core (the 2.3 GB ML image: ~4 min of a cold
# run on the 2-core CI machine, and each lab host's engine then decompresses it again). OCI allows uncompressed
# layers, and the lab hosts' engines pull them as they are: the OCI Image Format's media types (opencontainers/
# image-spec v1.0.2, media-types.md: application/vnd.oci.image.manifest.v1+json, ...config.v1+json,
# ...layer.v1.tar "uncompressed"), and the OCI Distribution Spec's push (opencontainers/distribution-spec v1.0.1,
# spec.md, "Pushing blobs in chunks": POST /v2/<name>/blobs/uploads/ -> 202 + Location, PATCH <location> -> 202 +
# Location, PUT <location>?digest=<digest> -> 201; "Pushing Manifests": PUT /v2/<name>/manifests/<reference> -> 201).
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def _in_registry(port: int, name: str, tag: str) -> bool:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v2/{name}/manifests/{tag}", method="HEAD",
                                 headers={"Accept": f"{DOCKER_MANIFEST}, {OCI_MANIFEST}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status == 200
    except urllib.error.HTTPError:
        return False


class _Hashing:
    """A file object that hashes what http.client reads from it (the digest is sent after the data)."""

    def __init__(self, fh):
        self.fh, self.sha = fh, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.sha.update(data)
        return data


def _request(port: int, method: str, url: str, body=None, headers: dict | None = None):
    import http.client

    import urllib.parse

    parts = urllib.parse.urlsplit(url)  # the registry's Location may be absolute
    url = parts.path + ("?" + parts.query if parts.query else "")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600, blocksize=1 << 20)
    try:
        conn.request(method, url, body=body, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        if resp.status not in (201, 202):
            raise SystemExit(f"lab registry: {method} {url.split('?')[0]} answered {resp.status} {resp.reason}")
        return resp.getheader("Location", "")
    finally:
        conn.close()


def _upload_blob(port: int, name: str, fh, size: int) -> str:
    """One blob, streamed: POST starts the upload, PATCH sends the data, PUT closes it with the digest."""
    location = _request(port, "POST", f"/v2/{name}/blobs/uploads/")
    body = _Hashing(fh)
    location = _request(port, "PATCH", location, body=body,
                        headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)})
    digest = "sha256:" + body.sha.hexdigest()
    _request(port, "PUT", location + ("&" if "?" in location else "?") + "digest=" + digest,
             headers={"Content-Length": "0"})
    return digest


def _push(port: int, ref: str) -> None:
    """`docker save` streamed into the registry with the layers uncompressed (see above)."""
    import tarfile

    name, tag = ref.rsplit(":", 1)
    if _in_registry(port, name, tag):
        return
    t0 = time.monotonic()
    blobs: dict[str, tuple[str, int]] = {}  # member name in the saved tar -> (digest, size)
    links: dict[str, str] = {}              # docker save links a repeated layer to its first copy
    manifest = None
    proc = subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for member in tar:
            if member.issym() or member.islnk():
                links[member.name] = os.path.normpath(os.path.join(os.path.dirname(member.name), member.linkname))
            elif member.isfile() and (member.name.endswith("/layer.tar") or member.name.endswith(".json")):
                if member.name == "manifest.json":
                    manifest = json.load(tar.extractfile(member))[0]
                else:
                    blobs[member.name] = (_upload_blob(port, name, tar.extractfile(member), member.size), member.size)
    if proc.wait() != 0 or manifest is None:
        raise SystemExit(f"docker save {ref} failed")
    layers = [blobs[links.get(path, path)] for path in manifest["Layers"]]
    config = blobs[manifest["Config"]]
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
           "config": {"mediaType": OCI_CONFIG, "digest": config[0], "size": config[1]},
           "layers": [{"mediaType": OCI_LAYER, "digest": digest, "size": size} for digest, size in layers]}
    _request(port, "PUT", f"/v2/{name}/manifests/{tag}", body=json.dumps(doc).encode(),
             headers={"Content-Type": OCI_MANIFEST})
    print(f"{ref}: pushed uncompressed in {time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)


def ml_recipe_hash() -> str:
    """Hash of the ML image's recipe: the suffix of the default dask_compose_image tag (tests/e2e/test_ml_image.py)."""
    h = hashlib.sha256()
    for name in ML_RECIPE_FILES:
        h.update(name.encode() + b"\0" + hashlib.sha256(_read(ML_RECIPE, name)).digest())
    return h.hexdigest()[:12]


def ml_default_image() -> str:
    return f"{ML_REPOSITORY}:{ML_TAG_PREFIX}{ml_recipe_hash()}"


def build(port: int, upstream_like: bool = False) -> dict[str, str]:
    base = _base_recipe().encode()
    constraints = os.path.join(ROOT, "constraints.txt")
    dask_dir, nb_dir, prom_dir = (os.path.join(IMAGES, d) for d in ("dask", "notebook", "prometheus"))

    dask_hash = _digest(base, _read(dask_dir, "Dockerfile"), _read(dask_dir, "requirements.txt"), _read(constraints))
    dask = f"daskmetal-lab/dask:{dask_hash}"
    _build(dask, {"Dockerfile": os.path.join(dask_dir, "Dockerfile"),
                  "requirements.txt": os.path.join(dask_dir, "requirements.txt"),
                  "constraints.txt": constraints}, {"BASE": BASE})

    ml = f"daskmetal-lab/dask-ml:{_digest(dask_hash.encode(), ml_recipe_hash().encode())}"
    _build(ml, {name: os.path.join(ML_RECIPE, name) for name in ML_RECIPE_FILES}, {"BASE": dask})
    images = {"dask": dask, "ml": ml}

    if upstream_like:
        nb_hash = _digest(dask_hash.encode(), _read(nb_dir, "Dockerfile"), _read(nb_dir, "requirements.txt"))
        images["notebook"] = f"daskmetal-lab/dask-notebook:{nb_hash}"
        _build(images["notebook"], {"Dockerfile": os.path.join(nb_dir, "Dockerfile"),
                                    "requirements.txt": os.path.join(nb_dir, "requirements.txt")}, {"BASE": dask})

    prom_hash = _digest(base, _read(prom_dir, "Dockerfile"))
    prometheus = f"daskmetal-lab/prometheus:{prom_hash}"
    _build(prometheus, {"Dockerfile": os.path.join(prom_dir, "Dockerfile")}, {"BASE": BASE})

    images["prometheus"] = prometheus
    # the Dask stand-in is only the ML image's base: its layers reach the registry with the ML image
    for name, ref in images.items():
        if name != "dask":
            _push(port, ref)
    return images


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=("build", "ml-tag"))
    ap.add_argument("--port", type=int, default=5000, help="port of the lab registry (tests.lab.registry)")
    ap.add_argument("--upstream-like", action="store_true",
                    help="also build the dask-notebook stand-in without the ML packages")
    args = ap.parse_args(argv)
    if args.action == "ml-tag":
        print(ml_default_image())
        return 0
    print(json.dumps(build(args.port, args.upstream_like)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
