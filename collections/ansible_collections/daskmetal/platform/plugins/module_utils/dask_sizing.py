# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Size Dask worker pods from node capacity (pure functions, no I/O)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

# The memory string ("3000Mi") is a Kubernetes quantity and parses with dask.utils.parse_bytes too.


class SizingError(ValueError):
    pass


def _capacity(node):
    """{vcpus, memory_mb} from a plain dict or from a host's facts (ansible_processor_vcpus, ansible_memtotal_mb)."""
    node = node or {}
    return {"vcpus": node.get("vcpus") or node.get("ansible_processor_vcpus"),
            "memory_mb": node.get("memory_mb") or node.get("ansible_memtotal_mb")}


def worker_resources(nodes, replicas, threads=None, memory=None, reserve_cpus=1, reserve_memory_mb=2048,
                     memory_fraction=0.9):
    """Return {"threads": int, "memory": "<n>Mi", "workers_per_node": int, "nodes": int}.

    nodes: list of {"vcpus": int, "memory_mb": int} (or hosts' facts) for the nodes that run workers. Workers are spread evenly, so
    each node holds ceil(replicas / len(nodes)) of them; the smallest node bounds the size. `threads` / `memory`
    given explicitly win over the derived values.
    """
    if int(replicas) < 1:
        raise SizingError("dask_worker_replicas must be >= 1, got %r" % (replicas,))
    replicas = int(replicas)
    usable = [_capacity(n) for n in (nodes or [])]
    usable = [n for n in usable if n["vcpus"] and n["memory_mb"]]
    per_node = math.ceil(replicas / len(usable)) if usable else 1
    if threads in (None, "", 0):
        if not usable:
            raise SizingError("no node capacity known: set dask_worker_threads or gather facts on the worker nodes")
        cpus = min(int(n["vcpus"]) for n in usable) - int(reserve_cpus)
        threads = max(1, cpus // per_node)
    if memory in (None, ""):
        if not usable:
            raise SizingError("no node capacity known: set dask_worker_memory or gather facts on the worker nodes")
        mem_mb = (min(int(n["memory_mb"]) for n in usable) - int(reserve_memory_mb)) * float(memory_fraction)
        mem_mi = int(mem_mb / per_node)  # ansible_memtotal_mb is MiB
        if mem_mi < 512:
            raise SizingError(
                "%d workers on %d node(s) leave %d Mi each; fewer replicas or set dask_worker_memory"
                % (replicas, len(usable), mem_mi))
        memory = "%dMi" % mem_mi
    return {"threads": int(threads), "memory": str(memory), "workers_per_node": per_node, "nodes": len(usable)}
