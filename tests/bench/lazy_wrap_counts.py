"""How many dict entries ansible-core's templating wraps to template one host's plan entry, against N.

    /work/main/.venv/bin/python tests/bench/lazy_wrap_counts.py [100,500,1000,2000]

ansible-core 2.19 hands templates lazy containers: each time a template reaches a dict stored in a variable,
``_AnsibleLazyTemplateMixin._try_create`` builds a new ``_AnsibleLazyTemplateDict`` of the whole level, every
value wrapped in a ``_LazyValue`` (ansible/_internal/_templating/_lazy_containers.py, ``_lazy_values`` of the
dict class), whatever single key the template then reads. This counts the entries passed through
``_lazy_values`` while one host templates its entry the way the zerotier role does
(``zerotier_plan.hosts[inventory_hostname]``, ``zerotier_plan`` from roles/zerotier/defaults/main.yml), and
for comparison the same entry read straight from the fact, a read that does not go through ``hosts`` and
join.yml's ``active_bridges`` expression; beside each, the ``TemplateEngine.template`` calls.
Counts, not times: deterministic on a shared machine. A measurement tool, not a test.
"""
from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "collections"))

import bench_scale  # noqa: E402
from ansible._internal._datatag._tags import TrustedAsTemplate  # noqa: E402
from ansible._internal._templating import _engine, _lazy_containers  # noqa: E402
from ansible.template import Templar  # noqa: E402
from ansible_collections.daskmetal.platform.plugins.filter.plan import plan_derive  # noqa: E402

ROLE_DEFAULT = "{{ daskmetal_plan_derived | default({}) }}"  # roles/zerotier/defaults/main.yml zerotier_plan
READS = {
    "zerotier_plan.hosts[inventory_hostname]": "{{ zerotier_plan.hosts[inventory_hostname] }}",
    "daskmetal_plan_derived.hosts[inventory_hostname]": "{{ daskmetal_plan_derived.hosts[inventory_hostname] }}",
    "zerotier_plan.network (no hosts level)": "{{ zerotier_plan.network }}",
    # roles/zerotier/tasks/join.yml active_bridges: every entry is rendered, not only wrapped
    "join.yml active_bridges (dict2items|selectattr)":
        "{{ zerotier_plan.hosts | dict2items | selectattr('value.active_bridge') | map(attribute='key') | list }}",
}
_wrapped = [0]
_templated = [0]


def _count(original):
    def counting(values, lazy_options):
        _wrapped[0] += len(values)
        return original(values, lazy_options)
    return staticmethod(counting)


def _count_templates(original):
    def counting(self, *args, **kwargs):
        _templated[0] += 1
        return original(self, *args, **kwargs)
    return counting


def wrapped_entries(derived: dict, host: str, expression: str) -> tuple[int, int]:
    trusted = TrustedAsTemplate().tag
    variables = {"daskmetal_plan_derived": derived, "inventory_hostname": host,
                 "zerotier_plan": trusted(ROLE_DEFAULT)}
    _wrapped[0] = _templated[0] = 0
    result = Templar(loader=None, variables=variables).template(trusted(expression))
    assert result, expression
    return _wrapped[0], _templated[0]


def main(argv: list[str]) -> int:
    sizes = [int(s) for s in argv[1].split(",")] if len(argv) > 1 else [100, 500, 1000, 2000]
    cls = _lazy_containers._AnsibleLazyTemplateDict
    cls._lazy_values = _count(cls.__dict__["_lazy_values"].__func__)
    _engine.TemplateEngine.template = _count_templates(_engine.TemplateEngine.template)
    print("per host: dict entries wrapped in _LazyValue / TemplateEngine.template calls (ansible-core lazy containers)")
    print("%-50s %s" % ("read", "  ".join("%11d" % n for n in sizes)))
    for name, expression in READS.items():
        counts = []
        for n in sizes:
            derived = plan_derive(bench_scale.plan_for(n), bench_scale.groups_for(n))
            counts.append(wrapped_entries(derived, bench_scale.hostnames(n)[n // 2], expression))
        print("%-50s %s" % (name, "  ".join("%11s" % ("%d/%d" % c) for c in counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
