"""Every module and filter of the collection carries documentation that parses as YAML.

ansible-lint only logs a broken DOCUMENTATION block as an error line and still passes; ansible-doc
then shows nothing for the plugin. This makes it a test failure."""
import ast
import glob
import os

import pytest
import yaml

PLUGINS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "plugins"))
FILES = sorted(glob.glob(os.path.join(PLUGINS, "modules", "*.py")) + glob.glob(os.path.join(PLUGINS, "filter", "*.py")))


def _blocks(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN") and isinstance(node.value, ast.Constant):
                out[node.targets[0].id] = node.value.value
    return out


def test_there_are_plugins():
    assert len(FILES) >= 5


@pytest.mark.parametrize("path", [f for f in FILES if not f.endswith("__init__.py")], ids=os.path.basename)
def test_documentation_parses(path):
    blocks = _blocks(path)
    if "modules" in path:
        assert {"DOCUMENTATION", "EXAMPLES", "RETURN"} <= set(blocks), "a module needs DOCUMENTATION, EXAMPLES and RETURN"
    for name, text in blocks.items():
        data = yaml.safe_load(text)
        if name == "DOCUMENTATION":
            assert isinstance(data, dict) and data.get("short_description"), f"{name} has no short_description"
            assert isinstance(data.get("description", []), (list, str))
