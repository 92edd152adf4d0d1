#!/usr/bin/env python3
"""Exit 0 when every collection in requirements.yml is installed in a satisfying version.

Used by scripts/setup (offline: the `ansible` bundle is enough) and by the test suite."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def installed() -> dict[str, str]:
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    out = subprocess.run([galaxy, "collection", "list", "--format", "json"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    found: dict[str, str] = {}
    for _path, cols in json.loads(out).items():
        for name, info in cols.items():
            found.setdefault(name, info.get("version", "*"))
    return found


def missing(requirements: str = os.path.join(ROOT, "requirements.yml")) -> list[str]:
    with open(requirements, encoding="utf-8") as fh:
        reqs = yaml.safe_load(fh)["collections"]
    have = installed()
    problems = []
    for req in reqs:
        name, want = req["name"], req.get("version", "*")
        if name not in have:
            problems.append(f"{name} {want}: not installed")
        elif not meets_requirements(have[name], want):
            problems.append(f"{name} {want}: installed {have[name]}")
    return problems


def main() -> int:
    problems = missing()
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
