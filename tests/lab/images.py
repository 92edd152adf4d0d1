"""Build the offline lab's base images with debootstrap + `docker import`.

Each image is rebuilt only when its recipe changes: the recipe (suite, variant, package list,
mirror, extra CA bundle contents, this file's build steps version) is hashed, and the hash is
stored as an image label and as a second tag.  A matching image is reused as is.

    python -m tests.lab.images build [--suite bookworm --suite trixie] [--ca-bundle FILE]
    python -m tests.lab.images list

Images: daskmetal-lab/debian:<suite> (systemd + python3, for Molecule hosts) and
daskmetal-lab/minbase:<suite> (no systemd, a small root for application images).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

# Bump a kind's version when its build steps change (the cache key includes it).
RECIPE_VERSION = {"debian": "4", "minbase": "3"}
DEFAULT_MIRROR = os.environ.get("DASKMETAL_LAB_MIRROR", "http://deb.debian.org/debian")
DEFAULT_SUITES = ("bookworm", "trixie")
HOST_PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "python3", "python3-apt", "sudo", "iproute2",
    "ca-certificates", "gnupg", "procps", "kmod", "iptables",
)
MINBASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "tini", "curl")
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@dataclass(frozen=True)
class Recipe:
    kind: str  # "debian" (systemd host) or "minbase" (application root)
    suite: str
    packages: tuple[str, ...]
    mirror: str = DEFAULT_MIRROR
    ca_bundle: bytes = field(default=b"", repr=False)

    @property
    def repo(self) -> str:
        return f"daskmetal-lab/{self.kind}"

    @property
    def tag(self) -> str:
        return f"{self.repo}:{self.suite}"

    def digest(self) -> str:
        h = hashlib.sha256()
        for part in (RECIPE_VERSION[self.kind], self.kind, self.suite, self.mirror, *sorted(self.packages)):
            h.update(part.encode() + b"\0")
        h.update(hashlib.sha256(self.ca_bundle).digest())
        return h.hexdigest()[:12]


def recipes(suites, ca_bundle: bytes, kinds=("debian", "minbase")) -> list[Recipe]:
    out = []
    for suite in suites:
        if "debian" in kinds:
            out.append(Recipe("debian", suite, HOST_PACKAGES, ca_bundle=ca_bundle))
        if "minbase" in kinds:
            out.append(Recipe("minbase", suite, MINBASE_PACKAGES, ca_bundle=ca_bundle))
    return out


def _run(cmd, **kw):
    print("+", " ".join(cmd) if isinstance(cmd, list) else cmd, flush=True)
    return subprocess.run(cmd, check=True, **kw)


def current_digest(tag: str) -> str | None:
    res = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", tag],
        capture_output=True, text=True,
    )
    if res.returncode != 0:
        return None
    labels = json.loads(res.stdout.strip() or "null") or {}
    return labels.get("io.daskmetal.lab.recipe")


def _install_ca(root: str, bundle: bytes) -> None:
    """Make the image trust an extra CA bundle (TLS-inspecting proxies) and point pip at it."""
    target = os.path.join(root, "usr/local/share/ca-certificates/daskmetal-extra.crt")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as fh:
        fh.write(bundle)
    _run(["chroot", root, "update-ca-certificates", "--fresh"], stdout=subprocess.DEVNULL)
    pipconf = os.path.join(root, "etc/pip.conf")
    with open(pipconf, "w", encoding="utf-8") as fh:
        fh.write("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")


def _finish_host_root(root: str) -> None:
    """Trim units that fail or hang without real hardware in a container."""
    for unit in ("systemd-udevd.service", "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
                 "getty.target", "console-getty.service", "systemd-firstboot.service",
                 "systemd-remount-fs.service", "sys-kernel-config.mount", "sys-kernel-debug.mount"):
        link = os.path.join(root, "etc/systemd/system", unit)
        if not os.path.lexists(link):
            os.symlink("/dev/null", link)
    # A lab host gets a machine-id at first boot, not a copy baked into every container.
    with open(os.path.join(root, "etc/machine-id"), "w", encoding="utf-8"):
        pass


def _clean_root(root: str) -> None:
    _run(["chroot", root, "apt-get", "clean"])
    for sub in ("var/lib/apt/lists", "var/cache/apt/archives", "usr/share/doc", "usr/share/man"):
        path = os.path.join(root, sub)
        if os.path.isdir(path):
            for entry in os.listdir(path):
                p = os.path.join(path, entry)
                if os.path.isdir(p) and not os.path.islink(p):
                    shutil.rmtree(p, ignore_errors=True)
                elif entry not in ("lock", "partial"):
                    os.unlink(p)
    # Empty package lists must look stale, so `apt update_cache ... cache_valid_time` refreshes them
    # as it would on a real host (an empty folder with a new mtime looks freshly updated).
    lists = os.path.join(root, "var/lib/apt/lists")
    if os.path.isdir(lists):
        os.utime(lists, (0, 0))


def build(recipe: Recipe, force: bool = False) -> str:
    digest = recipe.digest()
    if not force and current_digest(recipe.tag) == digest:
        print(f"{recipe.tag}: up to date ({digest})", flush=True)
        return recipe.tag
    work = tempfile.mkdtemp(prefix=f"daskmetal-{recipe.kind}-{recipe.suite}-")
    root = os.path.join(work, "root")
    try:
        _run(["debootstrap", "--variant=minbase", "--include=" + ",".join(recipe.packages),
              recipe.suite, root, recipe.mirror], stdout=subprocess.DEVNULL)
        if recipe.ca_bundle:
            _install_ca(root, recipe.ca_bundle)
        if recipe.kind == "debian":
            _finish_host_root(root)
            cmd = '["/lib/systemd/systemd"]'
        else:
            cmd = '["/bin/bash"]'
        _clean_root(root)
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        _run(["docker", "import",
              "-c", f"CMD {cmd}",
              "-c", f"LABEL io.daskmetal.lab.recipe={digest}",
              "-c", "ENV container=docker",
              "-", f"{recipe.repo}:{recipe.suite}-{digest}"], stdin=tar.stdout, stdout=subprocess.DEVNULL)
        tar.stdout.close()
        if tar.wait() != 0:
            raise RuntimeError("tar of the root failed")
        _run(["docker", "tag", f"{recipe.repo}:{recipe.suite}-{digest}", recipe.tag])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return recipe.tag


def read_ca(path: str | None) -> bytes:
    if path is None:
        path = os.environ.get("DASKMETAL_LAB_CA_BUNDLE", SYSTEM_CA_BUNDLE)
    if not path or path == "none" or not os.path.exists(path):
        return b""
    with open(path, "rb") as fh:
        return fh.read()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=("build", "list"))
    ap.add_argument("--suite", action="append", help="Debian suite (repeatable); default bookworm and trixie")
    ap.add_argument("--kind", action="append", choices=("debian", "minbase"))
    ap.add_argument("--ca-bundle", help="extra CA bundle to trust inside the images "
                    "(default: $DASKMETAL_LAB_CA_BUNDLE, else the host's system bundle; 'none' for none)")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--jobs", type=int, default=2, help="builds at a time (default 2)")
    args = ap.parse_args(argv)
    todo = recipes(args.suite or DEFAULT_SUITES, read_ca(args.ca_bundle), tuple(args.kind or ("debian", "minbase")))
    if args.action == "list":
        for r in todo:
            print(r.tag, r.digest(), "present" if current_digest(r.tag) == r.digest() else "missing")
        return 0
    # debootstrap mostly waits on the network: two builds at a time roughly halve a cold start.
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for tag in pool.map(lambda r: build(r, force=args.force), todo):
            print(f"ready: {tag}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
