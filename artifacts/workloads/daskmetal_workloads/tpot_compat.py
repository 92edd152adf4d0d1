"""Let TPOT 1.x use a Client connected to a remote scheduler.

TPOT 1.1.0 sizes its work queue with `len(client.cluster.workers)` (tpot/utils/eval_utils.py and
tpot/evolvers/steady_state_evolver.py). A Client created from an address (the Jupyter pod connecting to the
Kubernetes scheduler, or any `Client("tcp://...")`) has `client.cluster = None`, so TPOT fails with
"'NoneType' object has no attribute 'workers'". This attaches a read-only view of the scheduler's workers.
"""

from __future__ import annotations


class _RemoteWorkers:
    """Stands in for `client.cluster`: exposes `.workers` as the scheduler currently reports them."""

    def __init__(self, client):
        self._client = client

    @property
    def workers(self) -> dict:
        return dict(self._client.scheduler_info().get("workers", {}))

    def __repr__(self) -> str:
        return f"<remote cluster at {self._client.scheduler.address}: {len(self.workers)} workers>"


def tpot_ready(client):
    """Return `client`, with a `cluster` view attached when it has none (remote scheduler)."""
    if getattr(client, "cluster", None) is None:
        client.cluster = _RemoteWorkers(client)
    return client
