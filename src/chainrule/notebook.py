"""Graphs, nodes and traces shown in Jupyter: a picture and a table, all inline, no network.

``Trace`` has its own ``_repr_html_``. ``Graph`` and ``Node`` belong to the graph model,
which knows nothing of pictures, so their HTML display is registered with IPython's
formatters when chainrule is imported inside IPython (``register_ipython``). The picture is
SVG drawn by Graphviz in this process; without Graphviz the page says so and shows the
tables alone.
"""

from __future__ import annotations

import html
import sys
from typing import Any

from .dot import to_dot, top_level_scopes
from .graph import Graph, Node, Tensor, as_operation, topological_order
from .stats import Stats
from .trace import Trace, TraceNode, format_value

__all__ = ["trace_html", "graph_html", "node_html", "svg_of", "register_ipython"]

#: graphs with more nodes than this are drawn with their top-level name scopes collapsed
PICTURE_LIMIT = 120
#: pictures with more boxes than this (even collapsed) are not drawn in a notebook
PICTURE_MAX_BOXES = 600
#: the most rows a table in a notebook lists
TABLE_ROWS = 200
_HIST_W, _HIST_H = 64, 16


def svg_of(subject: Any, collapsed: list[str] | None = None) -> str | None:
    """Inline SVG of a graph, node or trace drawn by Graphviz; ``None`` if it cannot draw."""
    try:
        import graphviz
    except ImportError:
        return None
    text = to_dot(subject, collapsed_scopes=collapsed or ())
    try:
        picture = graphviz.Source(text).pipe(format="svg").decode("utf-8")
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError):
        return None
    return picture[picture.index("<svg") :]


def _picture(subject: Any, nodes: list[Node]) -> str:
    """The picture block: collapsed scopes for big graphs, or a note when Graphviz is missing."""
    collapsed = top_level_scopes(nodes) if len(nodes) > PICTURE_LIMIT else []
    boxes = len(collapsed) + sum(1 for n in nodes if "/" not in n.name)
    if len(nodes) > PICTURE_LIMIT and boxes > PICTURE_MAX_BOXES:
        return (
            f"<p>{len(nodes)} nodes, {boxes} of them outside any name scope: too many to draw "
            "here. <code>cr.show(...)</code> opens the graph in the explorer.</p>"
        )
    svg = svg_of(subject, collapsed)
    if svg is None:
        return (
            '<p class="chainrule-note">Install Graphviz (<code>pip install graphviz</code> and '
            "the <code>dot</code> program) to see the graph drawn here.</p>"
        )
    note = ""
    if collapsed:
        note = (
            f"<p>{len(nodes)} nodes: each top-level name scope is drawn as one box "
            "(<code>cr.show(...)</code> opens them one by one).</p>"
        )
    return f'{note}<div style="max-width:100%;overflow:auto">{svg}</div>'


def histogram_svg(stats: Stats | None) -> str:
    """A tiny inline bar chart of a tensor's histogram."""
    if stats is None or stats.size <= 1:
        return ""
    top = max(stats.histogram) or 1
    width = _HIST_W / len(stats.histogram)
    bars = "".join(
        f'<rect x="{i * width:.2f}" y="{_HIST_H - _HIST_H * c / top:.2f}" '
        f'width="{width * 0.9:.2f}" height="{_HIST_H * c / top:.2f}"/>'
        for i, c in enumerate(stats.histogram)
        if c
    )
    title = html.escape(f"from {stats.low:.4g} to {stats.high:.4g}")
    return (
        f'<svg width="{_HIST_W}" height="{_HIST_H}" fill="#4a7ab5">'
        f"<title>{title}</title>{bars}</svg>"
    )


def _stats_cells(stats: Stats | None, value: Any) -> str:
    if stats is None or stats.size == 1:
        return f'<td colspan="7">{html.escape(format_value(value, 6))}</td>'
    numbers = (stats.mean, stats.std, stats.min, stats.max, stats.norm)
    cells = "".join(f"<td>{x:.4g}</td>" for x in numbers)
    return f"{cells}<td>{stats.zero_fraction:.0%}</td><td>{histogram_svg(stats)}</td>"


def _node_rows(tn: TraceNode) -> str:
    shape = "&times;".join(str(d) for d in tn.shape) or "scalar"
    head = (
        f'<td rowspan="2"><code>{html.escape(tn.name)}</code></td>'
        f'<td rowspan="2">{html.escape(tn.op_type)}</td>'
        f'<td rowspan="2">{shape}</td><td rowspan="2">{html.escape(tn.dtype or "-")}</td>'
    )
    value = f"<tr>{head}<th>value</th>{_stats_cells(tn.value_stats, tn.value)}</tr>"
    grad = f"<tr><th>grad</th>{_stats_cells(tn.gradient_stats, tn.gradient)}</tr>"
    return value + grad


def _table(trace: Trace) -> str:
    header = "".join(
        f"<th>{h}</th>"
        for h in ("node", "op", "shape", "dtype", "", "mean", "std", "min", "max", "norm")
    )
    rows = "".join(_node_rows(tn) for tn in trace.nodes[:TABLE_ROWS])
    more = len(trace.nodes) - TABLE_ROWS
    tail = (
        f"<p>… and {more} more nodes (<code>trace.table()</code> lists all)</p>" if more > 0 else ""
    )
    return (
        '<table class="chainrule-trace"><thead><tr>'
        f"{header}<th>zeros</th><th>histogram</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{tail}"
    )


def _summary(trace: Trace) -> str:
    return (
        "<details><summary>gradient norm against value norm per variable</summary>"
        f"<pre>{html.escape(trace.summary())}</pre></details>"
    )


def trace_html(trace: Trace) -> str:
    """A trace in a notebook: the graph with values, gradients and local derivatives, then
    each node's statistics and the per-variable norms."""
    title = (
        f"<p><b>Trace of <code>{html.escape(trace.output)}</code></b>: value "
        f"{html.escape(format_value(trace.value))}, {len(trace.nodes)} nodes</p>"
    )
    return (
        f'<div class="chainrule">{title}{_picture(trace, trace.structure.order)}'
        f"{_table(trace)}{_summary(trace)}</div>"
    )


def graph_html(graph: Graph) -> str:
    """A graph in a notebook: its nodes in their name scopes."""
    nodes = graph.get_operations()
    title = f"<p><b>Graph</b> with {len(nodes)} nodes</p>"
    if not nodes:
        return f'<div class="chainrule">{title}</div>'
    return f'<div class="chainrule">{title}{_picture(graph, nodes)}</div>'


def node_html(node: Node) -> str:
    """A node in a notebook: what it is and the part of the graph it is computed from."""
    op = as_operation(node)
    shape = "unknown" if node.shape is None else str(tuple(node.shape))
    dtype = "?" if node.dtype is None else node.dtype.name
    title = (
        f"<p><b>{html.escape(op.op_type)}</b> <code>{html.escape(op.name)}</code>, "
        f"shape {html.escape(shape)}, dtype {dtype}</p>"
    )
    return f'<div class="chainrule">{title}{_picture(node, topological_order([node]))}</div>'


def register_ipython(shell: Any | None = None) -> bool:
    """Show graphs and nodes as pictures in IPython and Jupyter; False outside IPython."""
    if shell is None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return False
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.for_type(Graph, graph_html)
    for kind in (Node, Tensor):
        formatter.for_type(kind, node_html)
    return True
