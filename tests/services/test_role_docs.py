"""Every variable of the platform-service roles is in meta/argument_specs.yml and in the role's README."""

from __future__ import annotations

import pytest
import yaml

from .conftest import ROOT


@pytest.mark.parametrize("role", ["metallb", "dask", "monitoring"])
def test_defaults_are_specified_and_documented(role):
    base = ROOT / "roles" / role
    defaults = set(yaml.safe_load((base / "defaults" / "main.yml").read_text()))
    spec = yaml.safe_load((base / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    readme = (base / "README.md").read_text()
    assert defaults - set(spec) == set(), "in defaults but not in argument_specs"
    assert set(spec) - defaults == set(), "in argument_specs but without a default"
    assert [v for v in defaults if v not in readme] == [], "not in README.md"
    assert all(v.startswith(f"{role}_") for v in defaults)
    for name, opt in spec.items():
        assert opt.get("description"), name
        assert set(opt) <= {"type", "default", "choices", "description", "elements", "required"}, name
