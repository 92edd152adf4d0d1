"""The ML image's recipe (images/ml) against what consumes it: the role's default tag and the pins.

The build itself (`pip install --no-deps` of the lock, then `pip check`) is exercised by molecule compose_e2e,
whose stack_images step builds this recipe on the lab's Dask stand-in.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from packaging.requirements import Requirement

from tests.e2e import stack_images

ROOT = Path(__file__).resolve().parents[2]
ML = ROOT / "images" / "ml"
ROLE = ROOT / "roles" / "dask_compose"
# documented in images/ml/requirements.txt: soupsieve 4.x needs Python >= 3.11.5, the lab's Debian 12 has 3.11.2
KNOWN_DIFFERENCES = {"soupsieve"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{path.name}: {line!r} is not an exact pin"
        assert _norm(req.name) not in pins, f"{path.name}: {req.name} twice"
        pins[_norm(req.name)] = specs[0].version
    return pins


def test_default_image_tag_is_the_recipes_hash():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    expected = stack_images.ml_default_image()
    assert defaults["dask_compose_image"] == expected, "recipe changed: update dask_compose_image (and its docs)"
    assert specs["argument_specs"]["main"]["options"]["dask_compose_image"]["default"] == expected
    assert expected in (ROLE / "README.md").read_text()


def test_the_lock_pins_every_package_and_keeps_the_wanted_versions():
    lock = _pins(ML / "requirements.txt")
    wanted = _pins(ML / "requirements.in")
    assert {k: lock.get(k) for k in wanted} == wanted
    assert {"scikit-learn", "dask-ml", "tpot", "matplotlib", "prometheus-client", "jupyterlab", "nbclient",
            "ipykernel", "dask-kubernetes", "xgboost", "lightgbm"} <= set(lock)


def test_the_lock_agrees_with_the_projects_constraints():
    lock = _pins(ML / "requirements.txt")
    constraints = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            req = Requirement(line)
            constraints[_norm(req.name)] = next(iter(req.specifier)).version
    differ = {k: (v, constraints[k]) for k, v in lock.items() if k in constraints and constraints[k] != v}
    assert set(differ) == KNOWN_DIFFERENCES, differ

