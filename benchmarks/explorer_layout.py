"""How long the explorer takes to lay out a graph of 2,000 nodes (goal: under a second).

Run:

    .venv/bin/python benchmarks/explorer_layout.py [--nodes 2000] [--repeats 5]

It builds a deep residual network in nested name scopes (ten blocks of layers, about 2,000
nodes in its trace), saves its trace and prints the median seconds (of ``--repeats`` runs) of:
loading the saved trace file, the layout the page opens with (every block collapsed) and the
layout after expanding one block; then the layout of a graph of as many nodes in no name
scope at all, where every node is drawn.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import tracefile
from chainrule.web.layout import layout

#: nodes one residual layer adds to the trace
NODES_PER_LAYER = 10
BLOCKS = 10


def deep_network(nodes: int) -> cr.Trace:
    """Residual tanh layers in ``BLOCKS`` blocks: about ``nodes`` nodes in the trace."""
    rng = np.random.default_rng(0)
    graph = cr.Graph()
    with graph.as_default():
        h = x = cr.placeholder(cr.float64, shape=(None, 8), name="x")
        per_block = max(1, nodes // (NODES_PER_LAYER * BLOCKS))
        for block in range(BLOCKS):
            with cr.name_scope(f"block{block}"):
                for k in range(per_block):
                    with cr.name_scope(f"layer{k}"):
                        w = cr.Variable(rng.normal(size=(8, 8)) / 3, name="w")
                        b = cr.Variable(np.zeros(8), name="b")
                        gate = cr.sigmoid(cr.matmul(h, w) + b)
                        h = h + 0.5 * gate * cr.tanh(h)
        loss = cr.reduce_mean(h * h, name="loss")
    return cr.explain(loss, {x: rng.normal(size=(16, 8))})


def flat_graph(nodes: int) -> dict:
    """A chain of about ``nodes`` nodes outside any name scope, as trace-file data."""
    graph = cr.Graph()
    with graph.as_default():
        h = cr.placeholder(cr.float64, shape=(), name="x")
        for _ in range(nodes // 3):
            h = cr.sin(h) * 2.0
    return tracefile.graph_data(graph)


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    trace = deep_network(args.nodes)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trace.json"
        trace.save(path)
        data = tracefile.load(path)
        size = path.stat().st_size
        load = median_seconds(lambda: tracefile.load(path), args.repeats)
    collapsed = layout(data)
    assert not collapsed["expanded"], "a graph this big opens collapsed"
    first = sorted(collapsed["scopes"], key=len)[0]
    opened = layout(data, expanded=[first])
    print(f"{len(data['nodes'])} nodes, {len(data['edges'])} edges, trace file {size / 1e6:.1f} MB")
    print(f"  load and check the trace file      {load:.3f} s")
    closed_s = median_seconds(lambda: layout(data), args.repeats)
    print(f"  layout, collapsed ({len(collapsed['items'])} boxes)    {closed_s:.3f} s")
    opened_s = median_seconds(lambda: layout(data, expanded=[first]), args.repeats)
    print(f"  layout, '{first}' expanded ({len(opened['items'])} boxes) {opened_s:.3f} s")
    flat = flat_graph(args.nodes)
    flat_s = median_seconds(lambda: layout(flat), args.repeats)
    print(f"  layout, {len(flat['nodes'])} nodes in no scope, all drawn   {flat_s:.3f} s")


if __name__ == "__main__":
    main()
