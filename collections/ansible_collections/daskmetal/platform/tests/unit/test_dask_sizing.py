"""Unit tests for the Dask worker sizing (module_utils/dask_sizing.py and its filter)."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.daskmetal.platform.plugins.filter.dask_sizing import FilterModule, dask_worker_resources
from ansible_collections.daskmetal.platform.plugins.module_utils.dask_sizing import worker_resources

EPYC = {"vcpus": 16, "memory_mb": 64000}


def test_fifteen_workers_on_two_nodes():
    r = worker_resources([EPYC, EPYC], 15)
    # 8 workers per node; (16 - 1) // 8 = 1 thread; (64000 - 2048) * 0.9 / 8 = 6969 Mi
    assert r == {"threads": 1, "memory": "6969Mi", "workers_per_node": 8, "nodes": 2}


def test_smallest_node_bounds_the_size():
    r = worker_resources([EPYC, {"vcpus": 8, "memory_mb": 16000}], 2)
    assert r["threads"] == 7
    assert r["memory"] == "%dMi" % int((16000 - 2048) * 0.9)


def test_explicit_values_win_and_need_no_facts():
    assert worker_resources([], 4, threads=2, memory="8Gi") == {"threads": 2, "memory": "8Gi", "workers_per_node": 1,
                                                                "nodes": 0}


def test_nodes_without_facts_are_ignored():
    r = worker_resources([EPYC, {"vcpus": None, "memory_mb": None}, {}], 4)
    assert r["nodes"] == 1 and r["workers_per_node"] == 4


@pytest.mark.parametrize("kwargs, match", [
    ({"nodes": [], "replicas": 3}, "dask_worker_threads"),
    ({"nodes": [], "replicas": 3, "threads": 1}, "dask_worker_memory"),
    ({"nodes": [EPYC], "replicas": 0}, "dask_worker_replicas"),
    ({"nodes": [{"vcpus": 2, "memory_mb": 4096}], "replicas": 10}, "fewer replicas"),
])
def test_errors_name_the_variable(kwargs, match):
    with pytest.raises(AnsibleFilterError, match=match):
        dask_worker_resources(**kwargs)


def test_filter_is_registered():
    assert FilterModule().filters()["dask_worker_resources"] is dask_worker_resources


def test_host_facts_are_accepted():
    facts = {"ansible_processor_vcpus": 16, "ansible_memtotal_mb": 64000, "inventory_hostname": "epyc-agent-1"}
    assert worker_resources([facts, facts], 15) == worker_resources([EPYC, EPYC], 15)
