# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Filter dask_worker_resources: threads and memory per Dask worker from node capacity."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: dask_worker_resources
short_description: Threads and memory per Dask worker pod, derived from the capacity of the worker nodes
version_added: 0.1.0
description:
  - Workers are spread evenly over the nodes, C(ceil(replicas / nodes)) per node; the smallest node bounds the
    size after reserving O(reserve_cpus) and O(reserve_memory_mb) for the system and Kubernetes, and using
    O(memory_fraction) of the rest.
  - Explicit O(threads) / O(memory) win. Fails when nothing is known and nothing is set, or when a worker would
    get less than 512 Mi.
options:
  _input:
    description: List of C({vcpus, memory_mb}) for the worker nodes (e.g. from ansible_processor_vcpus / ansible_memtotal_mb).
    type: list
    elements: dict
    required: true
  replicas:
    description: Number of workers.
    type: int
    required: true
  threads:
    description: Threads per worker when set (no derivation).
    type: int
  memory:
    description: Memory per worker when set, a Kubernetes quantity such as C(8Gi).
    type: str
  reserve_cpus:
    type: int
    default: 1
    description: CPUs left per node for the system.
  reserve_memory_mb:
    type: int
    default: 2048
    description: MiB left per node for the system.
  memory_fraction:
    type: float
    default: 0.9
    description: Share of the remaining memory given to workers.
"""

EXAMPLES = r"""
- name: Size the workers
  ansible.builtin.set_fact:
    sizing: "{{ [{'vcpus': 16, 'memory_mb': 64000}] * 2 | daskmetal.platform.dask_worker_resources(15) }}"
"""

RETURN = r"""
_value:
  description: C({threads, memory, workers_per_node, nodes}).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.daskmetal.platform.plugins.module_utils.dask_sizing import SizingError, worker_resources


def dask_worker_resources(nodes, replicas, threads=None, memory=None, reserve_cpus=1, reserve_memory_mb=2048,
                          memory_fraction=0.9):
    try:
        return worker_resources(nodes, replicas, threads, memory, reserve_cpus, reserve_memory_mb, memory_fraction)
    except SizingError as exc:
        raise AnsibleFilterError("dask_worker_resources: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"dask_worker_resources": dask_worker_resources}
