"""A bookworm stand-in of Docker's apt repository (download.docker.com/linux/debian), for the offline lab.

    python -m tests.lab.docker_ce_standin build --out DIR [--version 5:28.5.2-1~debian.12~bookworm]

Docker's repository cannot be reached offline, and bookworm's own engine (docker.io 20.10) is too old for the stack
(role dask_compose needs Engine >= 25: healthcheck start_interval). Trixie's Docker packages are new enough and run
on bookworm: their Go binaries need only glibc >= 2.34 (bookworm has 2.36). So this downloads them from the lab's
Debian mirror (in a lab trixie container) and repackages them under Docker CE's names, the names role docker
installs on its default `upstream` path:

    trixie docker.io 26.1.5     -> docker-ce              at --version (role docker's docker_version pin)
    trixie docker-cli 26.1.5    -> docker-ce-cli          at --version
    trixie containerd 1.7.24    -> containerd.io          1.7.24-1~debian.12~bookworm
    trixie docker-compose 2.26.1 -> docker-compose-plugin 2.26.1-1~debian.12~bookworm
    trixie docker-buildx 0.13.1 -> docker-buildx-plugin   0.13.1-1~debian.12~bookworm

Each control file keeps its Depends, with the trixie names renamed to Docker CE's (containerd -> containerd.io, ...);
Conflicts/Breaks/Replaces/Provides/Source go (they name trixie's packages, and docker.io's Conflicts: docker-ce would
refuse itself). runc and tini stay bookworm's own (trixie's need glibc 2.38); docker-ce depends on them unversioned
enough for bookworm's runc 1.1.5. What stays different from Docker's real packages: the engine reports 26.1.5+dfsg1
(not 28.5.2), and containerd.io does not ship runc.

The repackaged .debs are cached under .cache/docker-ce-standin/ (keyed by this file and the version); the signed
repository (tests/lab/aptrepo.py: suite bookworm, component stable, a fresh key) is written to DIR each time and its
key's fingerprint printed last.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

from tests.lab import aptrepo

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, ".cache", "docker-ce-standin")
IMAGE = "daskmetal-lab/debian:trixie"
SUFFIX = "-1~debian.12~bookworm"
DEFAULT_VERSION = "5:28.5.2" + SUFFIX    # roles/docker/defaults docker_version 28.5.2 + vars/Debian-12.yml suffix
BOOKWORM_GLIBC = "2.36"
# trixie package -> (Docker CE name, the upstream version trixie must carry; None: --version)
PACKAGES = {
    "docker.io": ("docker-ce", "26.1.5"),
    "docker-cli": ("docker-ce-cli", "26.1.5"),
    "containerd": ("containerd.io", "1.7.24"),
    "docker-compose": ("docker-compose-plugin", "2.26.1"),
    "docker-buildx": ("docker-buildx-plugin", "0.13.1"),
}
RENAME = {src: dst for src, (dst, _) in PACKAGES.items()}
DROP = ("Conflicts", "Breaks", "Replaces", "Provides", "Source")
RELATIONS = ("Pre-Depends", "Depends", "Recommends", "Suggests")


def parse_control(text: str) -> list[list[str]]:
    """[[field, value], ...] in order; continuation lines stay in the value."""
    fields: list[list[str]] = []
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and fields:
            fields[-1][1] += "\n" + line
        elif ":" in line:
            key, value = line.split(":", 1)
            fields.append([key, value.strip()])
    return fields


def rename_relations(value: str) -> str:
    """containerd (>= 1.4~) -> containerd.io (>= 1.4~), keeping versions and alternatives."""
    def one(atom: str) -> str:
        m = re.match(r"\s*([a-z0-9][a-z0-9+.-]*)(.*)$", atom, re.S)
        return (RENAME.get(m.group(1), m.group(1)) + m.group(2)) if m else atom
    return ", ".join(" | ".join(one(a.strip()) for a in group.split("|")) for group in value.split(","))


def needed_glibc(fields: list[list[str]]) -> str | None:
    depends = dict((k, v) for k, v in fields).get("Depends", "")
    m = re.search(r"\blibc6 \(>= ([0-9.]+)\)", depends)
    return m.group(1) if m else None


def rewrite_control(text: str, package: str, version: str) -> str:
    out = []
    for key, value in parse_control(text):
        if key in DROP:
            continue
        if key == "Package":
            value = package
        elif key == "Version":
            value = version
        elif key in RELATIONS:
            value = rename_relations(value)
        out.append(f"{key}: {value}")
    return "\n".join(out) + "\n"


def _vtuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def download(work: str, image: str = IMAGE) -> dict[str, str]:
    """apt-get download the trixie packages in a lab trixie container (its sources: the lab's Debian mirror)."""
    subprocess.run(["docker", "run", "--rm", "-v", f"{work}:/out", image, "bash", "-ec",
                    "cd /out && apt-get update -qq && apt-get download -qq " + " ".join(PACKAGES) + " 2>/dev/null"],
                   check=True, stdout=sys.stderr)
    found = {}
    for src in PACKAGES:
        debs = glob.glob(os.path.join(work, f"{src}_*.deb"))
        if len(debs) != 1:
            raise SystemExit(f"docker_ce_standin: expected one {src} .deb from trixie, found {debs}")
        found[src] = debs[0]
    return found


def repackage(deb: str, src: str, version: str, out_dir: str) -> str:
    """The trixie .deb under its Docker CE name and version, with the relations rewritten (see the module doc)."""
    name, upstream = PACKAGES[src]
    control = subprocess.run(["dpkg-deb", "-f", deb], check=True, capture_output=True, text=True).stdout
    fields = parse_control(control)
    have = dict((k, v) for k, v in fields)["Version"]
    if not re.match(re.escape(upstream) + r"[+~-]", have):
        raise SystemExit(f"docker_ce_standin: trixie's {src} is {have}, not {upstream}: review the stand-in")
    glibc = needed_glibc(fields)
    if glibc and _vtuple(glibc) > _vtuple(BOOKWORM_GLIBC):
        raise SystemExit(f"docker_ce_standin: trixie's {src} needs glibc {glibc}; bookworm has {BOOKWORM_GLIBC}")
    tree = tempfile.mkdtemp(prefix=f"standin-{name}-", dir=out_dir)
    try:
        subprocess.run(["dpkg-deb", "-R", deb, tree], check=True)
        with open(os.path.join(tree, "DEBIAN", "control"), "w", encoding="utf-8") as fh:
            fh.write(rewrite_control(control, name, version))
        target = os.path.join(out_dir, f"{name}_{version.split(':')[-1]}_amd64.deb")
        subprocess.run(["dpkg-deb", "-Zgzip", "-z1", "-b", tree, target], check=True, stdout=subprocess.DEVNULL)
        return target
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def versions(version: str) -> dict[str, str]:
    """The version each Docker CE package gets: the engine and CLI at the role's pin, the rest at their own."""
    return {src: version if name in ("docker-ce", "docker-ce-cli") else upstream + SUFFIX
            for src, (name, upstream) in PACKAGES.items()}


def debs(version: str, image: str = IMAGE) -> list[str]:
    """The five repackaged .debs, from the cache when this file and the version have not changed."""
    with open(__file__, "rb") as fh:
        key = hashlib.sha256(fh.read() + version.encode()).hexdigest()[:12]
    cached = os.path.join(CACHE, key)
    if os.path.isfile(os.path.join(cached, ".done")):
        return sorted(glob.glob(os.path.join(cached, "*.deb")))
    shutil.rmtree(cached, ignore_errors=True)
    os.makedirs(cached)
    work = tempfile.mkdtemp(prefix="standin-src-", dir=CACHE)
    try:
        wanted = versions(version)
        out = [repackage(deb, src, wanted[src], cached) for src, deb in download(work, image).items()]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    open(os.path.join(cached, ".done"), "w").close()
    return sorted(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="the signed stand-in repository in --out; prints the key's fingerprint")
    b.add_argument("--out", required=True)
    b.add_argument("--version", default=DEFAULT_VERSION, help="docker-ce and docker-ce-cli (role docker's pin)")
    b.add_argument("--image", default=IMAGE, help="the lab trixie image whose mirror the packages come from")
    args = ap.parse_args(argv)
    shutil.rmtree(args.out, ignore_errors=True)
    print(aptrepo.build(args.out, debs(args.version, args.image), suite="bookworm", component="stable"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
