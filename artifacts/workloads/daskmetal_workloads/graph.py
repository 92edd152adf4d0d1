"""Draw a Dask collection's task graph as a PNG with matplotlib (no graphviz needed)."""

from __future__ import annotations


def _layers(deps: dict) -> dict:
    depth: dict = {}

    def d(k):
        if k not in depth:
            depth[k] = 0  # guard against cycles (none in a valid graph)
            depth[k] = 1 + max((d(p) for p in deps[k]), default=-1)
        return depth[k]

    for k in deps:
        d(k)
    return depth


def draw_task_graph(collection, path: str) -> int:
    """Write the low-level task graph of `collection` to `path` (PNG); return the number of tasks drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from dask.core import get_dependencies

    graph = dict(collection.__dask_graph__())
    deps = {k: [p for p in get_dependencies(graph, k) if p in graph] for k in graph}
    depth = _layers(deps)
    rows: dict[int, list] = {}
    for k, lvl in sorted(depth.items(), key=lambda kv: (kv[1], str(kv[0]))):
        rows.setdefault(lvl, []).append(k)
    pos = {}
    for lvl, keys in rows.items():
        for i, k in enumerate(keys):
            pos[k] = ((i + 1) / (len(keys) + 1), -lvl)
    fig, ax = plt.subplots(figsize=(10, 1.5 + 1.2 * len(rows)))
    for k, parents in deps.items():
        for p in parents:
            ax.plot([pos[p][0], pos[k][0]], [pos[p][1], pos[k][1]], color="0.7", lw=0.6, zorder=1)
    xs, ys = zip(*pos.values()) if pos else ((), ())
    ax.scatter(xs, ys, s=40, zorder=2)
    for lvl, keys in rows.items():
        name = keys[0][0] if isinstance(keys[0], tuple) else str(keys[0])
        ax.text(1.01, -lvl, f"{str(name).split('-')[0]} x{len(keys)}", va="center", fontsize=8,
                transform=ax.get_yaxis_transform())
    ax.set_axis_off()
    ax.set_title(f"Task graph: {len(graph)} tasks in {len(rows)} layers")
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return len(graph)
