"""A real, signed apt repository built from .deb files, for lab tests of roles that install from
vendor repositories (the role's key, source, pin and install tasks run for real against it).

    python -m tests.lab.aptrepo build --out DIR [--suite S] [--component main] DEB [DEB...]
    python -m tests.lab.aptrepo build-equivs --out DIR NAME=VERSION[:Depends] ...   (see make_equivs)

Layout written to DIR (flat-free "dists" layout, like download.docker.com/linux/debian):
    dists/<suite>/{Release,InRelease,Release.gpg}
    dists/<suite>/<component>/binary-<arch>/{Packages,Packages.gz}
    pool/<component>/<name>_<version>_<arch>.deb
    key.asc   armored public key        key.gpg   binary keyring (for /etc/apt/keyrings)
    fingerprint.txt                      the signing key's fingerprint (40 hex)

The signing key is generated at build time in a throw-away GNUPGHOME: nothing secret outlives
the build.  The repository is plain files: serve it with any HTTP server (see serve_container in
molecule/shared/tasks/apt_repo.yml) or use it as file:// inside a container.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

HASHES = (("MD5Sum", hashlib.md5), ("SHA256", hashlib.sha256))


def _control(deb: str) -> dict[str, str]:
    out = subprocess.run(["dpkg-deb", "-f", deb], check=True, capture_output=True, text=True).stdout
    fields: dict[str, str] = {}
    key = None
    for line in out.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line
        elif ":" in line:
            key, val = line.split(":", 1)
            fields[key] = val.strip()
    return fields


def _digest(path: str, algo) -> str:
    h = algo()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_equivs(workdir: str, name: str, version: str, depends: str = "", arch: str = "all",
                description: str = "lab package", files: dict[str, str] | None = None) -> str:
    """Build a small .deb with dpkg-deb (an 'equivs'-style package: metadata, optional Depends,
    optional files {absolute path in package: content}). Returns the .deb path."""
    root = tempfile.mkdtemp(dir=workdir)
    os.makedirs(os.path.join(root, "DEBIAN"))
    control = [f"Package: {name}", f"Version: {version}", f"Architecture: {arch}",
               "Maintainer: daskmetal lab <lab@daskmetal.invalid>", "Section: misc", "Priority: optional"]
    if depends:
        control.append(f"Depends: {depends}")
    control.append(f"Description: {description}")
    with open(os.path.join(root, "DEBIAN", "control"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(control) + "\n")
    for path, content in (files or {}).items():
        dest = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "w", encoding="utf-8") as fh:
            fh.write(content)
        if "/bin/" in path or "/sbin/" in path or path.startswith("/DEBIAN/"):  # maintainer scripts too
            os.chmod(dest, 0o755)
    out = os.path.join(workdir, f"{name}_{version.replace(':', '%3a')}_{arch}.deb")
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, out], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.rmtree(root)
    return out


def build(out: str, debs: list[str], suite: str = "stable", component: str = "main",
          archs: tuple[str, ...] = ("amd64",), origin: str = "daskmetal-lab") -> str:
    """Write a signed repository into `out`; returns the signing key fingerprint."""
    os.makedirs(out, exist_ok=True)
    pool = os.path.join(out, "pool", component)
    os.makedirs(pool, exist_ok=True)
    entries = []
    for deb in debs:
        ctl = _control(deb)
        arch = ctl.get("Architecture", "all")
        fname = f"{ctl['Package']}_{ctl['Version'].split(':')[-1]}_{arch}.deb"
        dest = os.path.join(pool, fname)
        shutil.copyfile(deb, dest)
        rel = os.path.relpath(dest, out)
        stanza = dict(ctl)
        stanza["Filename"] = rel
        stanza["Size"] = str(os.path.getsize(dest))
        stanza["MD5sum"] = _digest(dest, hashlib.md5)
        stanza["SHA256"] = _digest(dest, hashlib.sha256)
        entries.append((arch, stanza))

    index_files = []
    for arch in archs:
        bdir = os.path.join(out, "dists", suite, component, f"binary-{arch}")
        os.makedirs(bdir, exist_ok=True)
        text = "\n".join(
            "\n".join(f"{k}: {v}" for k, v in st.items()) + "\n"
            for a, st in entries if a in (arch, "all")
        )
        plain = os.path.join(bdir, "Packages")
        with open(plain, "w", encoding="utf-8") as fh:
            fh.write(text)
        with open(plain + ".gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
            fh.write(text.encode())
        index_files += [plain, plain + ".gz"]

    dist = os.path.join(out, "dists", suite)
    date = _dt.datetime.now(_dt.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S UTC")
    lines = [f"Origin: {origin}", f"Label: {origin}", f"Suite: {suite}", f"Codename: {suite}",
             f"Date: {date}", f"Architectures: {' '.join(archs)}", f"Components: {component}"]
    for field, algo in HASHES:
        lines.append(f"{field}:")
        for path in index_files:
            lines.append(f" {_digest(path, algo)} {os.path.getsize(path)} {os.path.relpath(path, dist)}")
    release = os.path.join(dist, "Release")
    with open(release, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return _sign(out, dist, release)


def _sign(out: str, dist: str, release: str) -> str:
    home = tempfile.mkdtemp(prefix="daskmetal-gpg-")
    env = dict(os.environ, GNUPGHOME=home)
    gpg = ["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""]
    try:
        subprocess.run(gpg + ["--quick-gen-key", "daskmetal lab repository <lab@daskmetal.invalid>",
                              "ed25519", "sign", "1d"], check=True, env=env)
        fpr = subprocess.run(["gpg", "--batch", "--with-colons", "--list-keys"], check=True, env=env,
                             capture_output=True, text=True).stdout
        fingerprint = next(l.split(":")[9] for l in fpr.splitlines() if l.startswith("fpr:"))
        for path in ("InRelease", "Release.gpg"):
            p = os.path.join(dist, path)
            if os.path.exists(p):
                os.unlink(p)
        subprocess.run(gpg + ["--clearsign", "-o", os.path.join(dist, "InRelease"), release], check=True, env=env)
        subprocess.run(gpg + ["-abs", "-o", os.path.join(dist, "Release.gpg"), release], check=True, env=env)
        subprocess.run(gpg + ["--armor", "--export", "-o", os.path.join(out, "key.asc.tmp"), fingerprint],
                       check=True, env=env)
        subprocess.run(gpg + ["--export", "-o", os.path.join(out, "key.gpg.tmp"), fingerprint], check=True, env=env)
        os.replace(os.path.join(out, "key.asc.tmp"), os.path.join(out, "key.asc"))
        os.replace(os.path.join(out, "key.gpg.tmp"), os.path.join(out, "key.gpg"))
        with open(os.path.join(out, "fingerprint.txt"), "w", encoding="utf-8") as fh:
            fh.write(fingerprint + "\n")
        return fingerprint
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build a signed repo from .deb files")
    b.add_argument("--out", required=True)
    b.add_argument("--suite", default="stable")
    b.add_argument("--component", default="main")
    b.add_argument("debs", nargs="+")
    e = sub.add_parser("build-equivs", help="build metadata-only packages NAME=VERSION[=DEPENDS] and a repo of them")
    e.add_argument("--out", required=True)
    e.add_argument("--suite", default="stable")
    e.add_argument("--component", default="main")
    e.add_argument("--extra-deb", action="append", default=[])
    e.add_argument("packages", nargs="+")
    args = ap.parse_args(argv)
    if args.cmd == "build":
        print(build(args.out, args.debs, args.suite, args.component))
        return 0
    work = tempfile.mkdtemp(prefix="daskmetal-equivs-")
    try:
        debs = list(args.extra_deb)
        for spec in args.packages:
            name, version, *dep = spec.split("=", 2)
            debs.append(make_equivs(work, name, version, dep[0] if dep else ""))
        print(build(args.out, debs, args.suite, args.component))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
