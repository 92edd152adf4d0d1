"""Regenerate the chart key lists from a pinned chart's values.yaml and templates.

    python tests/services/chart_keys/generate.py NAME-VERSION CHART_DIR [--prefix grafana. SUBCHART_DIR ...]

CHART_DIR holds values.yaml and templates/ of exactly the pinned version (e.g. `helm pull --untar`, or a git
checkout of the chart's release tag). Output: chart_keys/NAME-VERSION.txt, one `path<TAB>kind` per line:
`map` (a mapping whose keys are checked one by one) or `leaf` (anything below is free-form: scalars, lists,
empty maps, null). Keys read by templates but missing from values.yaml (e.g. dask's scheduler.env) are added.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REF = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def walk(node, prefix, out):
    for key, value in (node or {}).items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out[path] = "map"
            walk(value, path + ".", out)
        else:
            out.setdefault(path, "leaf")


def add_refs(templates: Path, prefix: str, out: dict) -> None:
    for tpl in sorted(templates.rglob("*")):
        if not tpl.is_file():
            continue
        for m in REF.finditer(tpl.read_text(errors="replace")):
            parts = m.group(1).strip(".").split(".")
            for i in range(1, len(parts) + 1):
                path = prefix + ".".join(parts[:i])
                kind = out.get(path)
                if kind == "leaf" and i < len(parts):
                    break  # a free-form value: deeper references are inside it
                if kind is None:
                    out[path] = "map" if i < len(parts) else "leaf"


def keys_for(chart_dir: Path, prefix: str = "") -> dict:
    out: dict = {}
    walk(yaml.safe_load((chart_dir / "values.yaml").read_text()), prefix, out)
    if (chart_dir / "templates").is_dir():
        add_refs(chart_dir / "templates", prefix, out)
    return out


def main(argv: list[str]) -> int:
    name, chart_dir, rest = argv[0], Path(argv[1]), argv[2:]
    keys = keys_for(chart_dir)
    while rest:
        assert rest[0] == "--prefix", "usage: NAME-VERSION CHART_DIR [--prefix P SUBCHART_DIR]..."
        sub = keys_for(Path(rest[2]), rest[1])
        for k, v in sub.items():
            if keys.get(k) != "map":
                keys[k] = v if k not in keys or v == "map" else keys[k]
        rest = rest[3:]
    dest = Path(__file__).with_name(f"{name}.txt")
    dest.write_text("".join(f"{k}\t{v}\n" for k, v in sorted(keys.items())))
    print(dest, len(keys))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
