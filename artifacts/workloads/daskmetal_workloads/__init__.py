"""Workloads shipped with daskmetal (used by the notebooks, the validate Job and the Compose end-to-end test)."""

from daskmetal_workloads.bank import BANK_COLUMNS, load_bank_marketing, prepare_features, synthetic_bank_marketing
from daskmetal_workloads.cluster import cluster_spec, start_cluster
from daskmetal_workloads.graph import draw_task_graph
from daskmetal_workloads.scale import adapt_workers, scale_workers, shared_cluster
from daskmetal_workloads.smoke import array_mean_smoke
from daskmetal_workloads.tpot_compat import tpot_ready

__all__ = [
    "BANK_COLUMNS",
    "adapt_workers",
    "array_mean_smoke",
    "cluster_spec",
    "draw_task_graph",
    "load_bank_marketing",
    "prepare_features",
    "scale_workers",
    "shared_cluster",
    "start_cluster",
    "synthetic_bank_marketing",
    "tpot_ready",
]
