# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Filters dask_processes, dask_compose_services, dask_k8s_manifests, dask_jupyter_server_config: the one Dask
process model (module_utils/dask_processes.py) and its two renderings (module_utils/dask_render.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: dask_k8s_manifests
short_description: Render the platform's Dask processes (scheduler, workers, JupyterLab) for Compose or Kubernetes
version_added: 0.2.0
description:
  - The scheduler, worker and JupyterLab processes (argv, env, ports, probes, image) are defined once, in
    C(module_utils/dask_processes.py), from a platform-neutral O(_input) spec documented in that module's docstring.
  - C(dask_k8s_manifests) returns the Kubernetes objects, in apply order. A DaskCluster (kubernetes.dask.org/v1) with
    the scheduler Service of type LoadBalancer on C(exposure.scheduler_ip). A DaskAutoscaler when
    C(adaptive.enabled). When C(jupyter.enabled), JupyterLab's ServiceAccount, Role, RoleBinding, config Secret,
    Deployment and LoadBalancer Service. PodMonitors for scheduler and workers when C(kubernetes.monitors).
  - C(dask_compose_services) returns C({scheduler, worker, notebook}) with C(command), C(environment), C(expose),
    C(ports) and C(healthcheck) for roles/dask_compose/templates/compose.yml.j2.
  - C(dask_processes) returns the process model itself for O(platform) (C(compose) or C(kubernetes)).
  - C(dask_jupyter_server_config) returns the JupyterLab server config (the JSON mounted at C(jupyter.config_path)).
  - An invalid spec (unknown key, unpinned package, bad CIDR, missing address) fails the task.
options:
  _input:
    description: The spec (see C(module_utils/dask_processes.py)).
    type: dict
    required: true
  platform:
    description: For C(dask_processes) only.
    type: str
    choices: [compose, kubernetes]
"""

EXAMPLES = r"""
- name: Dask objects for Kubernetes
  ansible.builtin.set_fact:
    manifests: "{{ {'name': 'dask', 'image': 'ghcr.io/dask/dask:2026.8.0', 'jupyter': {'password_hash': h},
                    'exposure': {'scheduler_ip': '10.0.0.10', 'jupyter_ip': '10.0.0.11',
                                 'source_ranges': ['10.147.17.0/24']}} | daskmetal.platform.dask_k8s_manifests }}"
"""

RETURN = r"""
_value:
  description: A list of Kubernetes objects (dask_k8s_manifests) or a dict (the other filters).
  type: raw
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.daskmetal.platform.plugins.module_utils.dask_processes import (
    SpecError, jupyter_server_config, processes)
from ansible_collections.daskmetal.platform.plugins.module_utils.dask_render import compose_services, k8s_manifests


def _plain(value):
    """Ansible's lazy containers and tagged strings as plain Python data."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _call(name, func, spec, *args):
    try:
        return func(_plain(spec), *args)
    except SpecError as exc:
        raise AnsibleFilterError("%s: %s" % (name, exc))


def dask_processes(spec, platform):
    return _call("dask_processes", processes, spec, platform)


def dask_compose_services(spec):
    return _call("dask_compose_services", compose_services, spec)


def dask_k8s_manifests(spec):
    return _call("dask_k8s_manifests", k8s_manifests, spec)


def dask_jupyter_server_config(spec):
    return _call("dask_jupyter_server_config", jupyter_server_config, spec)


class FilterModule(object):
    def filters(self):
        return {"dask_processes": dask_processes, "dask_compose_services": dask_compose_services,
                "dask_k8s_manifests": dask_k8s_manifests, "dask_jupyter_server_config": dask_jupyter_server_config}
