# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Action daskmetal.platform.preflight: run every input rule (module_utils/validation.py) on the controller.

scope=inventory (playbooks/preflight.yml): for every host of every layer, the variables it would get (inventory,
group_vars and -e over the role's defaults, templated with that host's variables and the derived plan), checked
before any host is contacted. scope=self (a role's validate tasks): the current host's task variables, as the role
sees them. Either way one plain failure: every problem, one line each, and a ``problems`` list.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from collections.abc import Mapping

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.daskmetal.platform.plugins.module_utils import validation

_ARGS = {
    "scope": {"type": "str", "default": "inventory", "choices": ["inventory", "self"]},
    "roles": {"type": "list", "elements": "str"},
    "inputs": {"type": "dict", "default": {}},
}
_INPUTS = ("worker_replicas", "node", "node_groups", "teardown_layers", "restore_files", "allow_even_servers")


def _plain(value):
    """Ansible's tagged/lazy containers and scalars as plain Python values."""
    if isinstance(value, Mapping):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        _valid, args = self.validate_argument_spec(argument_spec=_ARGS)
        unknown = sorted(set(args["inputs"]) - set(_INPUTS))
        if unknown:
            raise AnsibleError("preflight: unknown inputs %s (known: %s)" % (", ".join(unknown), ", ".join(_INPUTS)))
        roles = list(validation.ROLES if args["roles"] is None else args["roles"])
        bad = sorted(set(roles) - set(validation.ROLES))
        if bad:
            raise AnsibleError("preflight: unknown roles %s" % ", ".join(bad))
        groups = _plain(task_vars.get("groups") or {})
        if args["scope"] == "self":
            # a role on itself: ansible-core checks its argument specs when the role starts
            ctx = self._self_context(task_vars, groups, roles, args["inputs"])
        else:
            role_dirs = self._role_dirs(task_vars, roles)
            specs = dict((role, validation.load_spec(role_dirs[role])) for role in roles)
            ctx = self._inventory_context(task_vars, groups, roles, specs, role_dirs, args["inputs"])
        problems = validation.check(ctx)
        result["changed"] = False
        result["problems"] = problems
        checked = sorted(set(h for role in roles for h in ctx.role_hosts(role)))
        if problems:
            result["failed"] = True
            # the problems first (a caller may match the first variable), then what the run did
            result["msg"] = "%s\n(preflight: %d problem%s, nothing was changed)" % (
                validation.render(problems), len(problems), "" if len(problems) == 1 else "s")
        else:
            result["msg"] = "preflight: every input of %d host(s) is valid" % len(checked)
        return result

    # --- where the roles are ----------------------------------------------------------------------------------------
    def _role_dirs(self, task_vars, roles):
        search = []
        if task_vars.get("role_path"):
            search.append(os.path.dirname(task_vars["role_path"]))
        playbook_dir = task_vars.get("playbook_dir") or ""
        search += [os.path.join(playbook_dir, "roles"), os.path.join(playbook_dir, "..", "roles")]
        search += list(C.DEFAULT_ROLES_PATH or [])
        found = {}
        for role in roles:
            for base in search:
                if os.path.isdir(os.path.join(base, role, "meta")):
                    found[role] = os.path.realpath(os.path.join(base, role))
                    break
            else:
                raise AnsibleError("preflight: role %s not found in %s" % (role, ", ".join(search)))
        return found

    def _load(self, path):
        if not os.path.isfile(path):
            return {}
        data = self._loader.load_from_file(path, trusted_as_template=True)
        return data if isinstance(data, Mapping) else {}

    # --- a role on itself: its task variables --------------------------------------------------------------------------
    def _self_context(self, task_vars, groups, roles, inputs):
        host = task_vars.get("inventory_hostname")
        values = {}
        for role in roles:
            for name in validation.ROLE_VARS.get(role, ()):
                if name in task_vars:
                    values.update(self._resolve(self._templar, task_vars, [name]))
        plan = self._resolve(self._templar, task_vars, ["daskmetal_plan"]).get("daskmetal_plan")
        return validation.Context(groups, {host: values}, plan=plan, inputs=inputs, roles=roles,
                                  hosts=dict((role, [host]) for role in roles))

    # --- every host of every layer -------------------------------------------------------------------------------------
    def _inventory_context(self, task_vars, groups, roles, specs, role_dirs, inputs):
        hostvars = task_vars.get("hostvars")
        probe = validation.Context(groups, {}, roles=roles)
        role_hosts = dict((role, probe.role_hosts(role)) for role in roles)
        hosts = sorted(set(h for these in role_hosts.values() for h in these))
        raw = dict((h, dict(hostvars.raw_get(h))) for h in hosts)
        plan = self._plan(raw, groups)
        derived = validation.derived_plan(plan, groups)
        defaults = dict((role, dict(self._load(os.path.join(role_dirs[role], "vars", "main.yml")),
                                    **self._load(os.path.join(role_dirs[role], "defaults", "main.yml"))))
                        for role in roles)
        values, explicit = {}, {}
        for host in hosts:
            mine = [role for role in roles if host in role_hosts[role]]
            variables = {}
            for role in mine:
                variables.update(defaults[role])
            variables.update(raw[host])
            variables["hostvars"] = hostvars
            if derived is not None:
                variables["daskmetal_plan_derived"] = derived
            explicit[host] = set(raw[host])
            names = set(validation.CAPACITY_VARS)
            for role in mine:
                names.update(validation.ROLE_VARS.get(role, ()))
                names.update(n for n, o in specs[role].items() if n in raw[host] or (o or {}).get("required"))
            templar = self._templar.copy_with_new_env(available_variables=variables)
            values[host] = self._resolve(templar, variables, sorted(names))
        return validation.Context(groups, values, explicit=explicit, specs=specs, plan=plan, inputs=inputs,
                                  roles=roles, hosts=role_hosts)

    def _plan(self, raw, groups):
        """daskmetal_plan as plan.yml reads it (the first inventory host that has it)."""
        for host in list(groups.get("all") or []) + sorted(raw):
            if host in raw and "daskmetal_plan" in raw[host]:
                variables = dict(raw[host])
                templar = self._templar.copy_with_new_env(available_variables=variables)
                return self._resolve(templar, variables, ["daskmetal_plan"]).get("daskmetal_plan")
        return None

    @staticmethod
    def _resolve(templar, variables, names):
        """The templated value of each defined name; a name whose template fails (undefined) is left out."""
        out = {}
        for name in names:
            if name not in variables:
                continue
            try:
                out[name] = _plain(templar.template(variables[name]))
            except Exception:  # undefined variables, failing lookups: the rules see the variable as undefined
                continue
        return out
