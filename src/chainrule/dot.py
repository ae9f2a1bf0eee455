"""Pictures of graphs: DOT text with no dependency, SVG or PNG through Graphviz.

Each node shows its label (op type, variable name or constant value), its name, its shape
when it is not a single number, and, from a trace, its value and gradient; each edge shows
the local derivative d(consumer)/d(input) when both are single numbers. Optionally the
gradient subgraph that ``gradients()`` added is drawn beside the forward graph.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import FailedPreconditionError, InvalidArgumentError
from .expr import Expression, parse
from .graph import Graph, Node, Tensor, topological_order
from .trace import (
    SMALL_ARRAY,
    Trace,
    TraceNode,
    explain,
    format_value,
    node_kind,
    node_label,
    scope_of,
    structure_for,
)

__all__ = ["to_dot", "render"]

FORMATS = ("svg", "png", "pdf")
DIGITS = 5

_STYLE = {
    "placeholder": 'shape=ellipse, style=filled, fillcolor="#fff2c2"',
    "variable": 'shape=ellipse, style=filled, fillcolor="#cfe6ff"',
    "constant": 'shape=box, style="rounded,filled", fillcolor="#eeeeee", color="#999999"',
    "op": 'shape=box, style="rounded,filled", fillcolor="#ffffff"',
}
_BOX_STYLE = 'shape=box3d, style=filled, fillcolor="#eef2f7", color="#8899aa"'
_GRADIENT_STYLE = (
    'shape=box, style="rounded,filled", fillcolor="#fde8e8", color="#c0392b", fontsize=10'
)


def _quote(text: str) -> str:
    """A DOT double-quoted string; ``\\n`` separates lines."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def _shape_text(shape: Any) -> str:
    if shape is None:
        return "shape ?"
    dims = ", ".join("?" if d is None else str(d) for d in shape)
    return f"shape ({dims}{',' if len(shape) == 1 else ''})"


def _as_trace_or_node(target: Any, feed: Mapping[Any, Any] | None) -> Trace | Node | Graph:
    """A trace when there are values to show (a trace, or a feed was given), else the node."""
    if isinstance(target, Trace | Graph):
        return target
    if isinstance(target, str):
        target = parse(target)
    if feed is not None or (isinstance(target, Expression) and not target.variables):
        return explain(target, feed)
    if isinstance(target, Expression):
        return target.output
    if isinstance(target, Tensor):
        return target
    if isinstance(target, Node) and len(target.outputs) == 1:
        return target.outputs[0]
    raise InvalidArgumentError(
        f"to_dot() needs a graph, a node, an expression or a trace, got {type(target).__name__}"
    )


def to_dot(
    target_or_trace: Trace | Node | Graph | Expression | str,
    show_gradients: bool = True,
    include_gradient_graph: bool = False,
    feed: Mapping[Any, Any] | None = None,
    collapsed_scopes: Iterable[str] = (),
) -> str:
    """The graph as Graphviz DOT text: inputs at the bottom, the output at the top.

    Given a trace (or a ``feed``), nodes show values and, with ``show_gradients``, gradients
    and edges the local derivatives. ``include_gradient_graph`` adds the gradient nodes.
    A whole ``Graph`` draws every node in it. Each name scope is a box around its nodes;
    the scopes in ``collapsed_scopes`` are drawn as one box each.
    """
    subject = _as_trace_or_node(target_or_trace, feed)
    trace = subject if isinstance(subject, Trace) else None
    if isinstance(subject, Graph):
        output, forward = None, subject.get_operations()
    else:
        output = trace.target if trace is not None else subject
        forward = trace.structure.order if trace is not None else topological_order([output])
    forward = with_subgraphs(forward)
    ids = {node: f"n{i}" for i, node in enumerate(forward)}
    boxes = _collapsed_boxes(forward, collapsed_scopes)
    shown = [node for node in forward if node not in boxes]
    lines = [
        "digraph chainrule {",
        "  rankdir=BT;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    node_lines = {
        node: _node_line(
            node, ids[node], trace, show_gradients, output is not None and node is output.op
        )
        for node in shown
    }
    node_lines.update(_box_lines(boxes))
    lines.extend(_scoped_lines(forward, node_lines, boxes))
    ids.update({node: _box_id(scope) for node, scope in boxes.items()})
    lines.extend(_edge_lines(forward, ids, trace, show_gradients))
    if include_gradient_graph and output is not None:
        lines.extend(_gradient_graph_lines(output, forward, ids, trace))
    lines.append("}")
    return "\n".join(lines) + "\n"


def top_level_scopes(nodes: Iterable[Node]) -> list[str]:
    """The outermost name scopes of ``nodes``, in the order they first appear."""
    return list(dict.fromkeys(s.split("/")[0] for s in (scope_of(n.name) for n in nodes) if s))


def _collapsed_boxes(forward: list[Node], collapsed: Iterable[str]) -> dict[Node, str]:
    """Each node inside a collapsed scope, mapped to the outermost such scope."""
    scopes = sorted(set(collapsed), key=len)
    boxes = {}
    for node in forward:
        name = node.name
        for scope in scopes:
            if name.startswith(scope + "/"):
                boxes[node] = scope
                break
    return boxes


def _box_id(scope: str) -> str:
    return "scope_" + "".join(c if c.isalnum() else f"_{ord(c):x}_" for c in scope)


def _box_lines(boxes: dict[Node, str]) -> dict[str, str]:
    """One box per collapsed scope, saying how many nodes it holds."""
    counts: dict[str, int] = {}
    for scope in boxes.values():
        counts[scope] = counts.get(scope, 0) + 1
    lines = {}
    for scope, count in counts.items():
        label = _quote(f"{scope}\n{count} nodes")
        lines[scope] = f"  {_box_id(scope)} [label={label}, {_BOX_STYLE}];"
    return lines


def with_subgraphs(forward: list[Node]) -> list[Node]:
    """``forward`` with the operations of every sub-graph (a loop's condition and body, a
    conditional's branches) placed before the op that runs them; their name scopes put them
    inside that op's box."""
    drawn: dict[Node, None] = {}
    for op in forward:
        for subgraph in op.subgraphs():
            inner = [t.op for t in subgraph.inputs] + subgraph.operations()
            drawn.update((node, None) for node in with_subgraphs(inner) if node not in drawn)
        drawn.setdefault(op, None)
    return list(drawn)


def _node_line(
    node: Node, node_id: str, trace: Trace | None, show_gradients: bool, is_output: bool
) -> str:
    label = node_label(node)
    parts = [label]
    if node.name != label:
        parts.append(node.name)
    if trace is not None and node in trace.structure.order:
        info = trace.node(node)
        if info.shape != ():
            parts.append(_shape_text(info.shape))
        parts.extend(_value_lines(info, show_gradients))
    elif node.shape != ():
        parts.append(_shape_text(node.shape))
    style = _STYLE[node_kind(node)] + (", penwidth=2.5" if is_output else "")
    return f"  {node_id} [label={_quote(chr(10).join(parts))}, {style}];"


def _value_lines(info: TraceNode, show_gradients: bool) -> list[str]:
    """A value and gradient by number, or for a tensor by its statistics and histogram."""
    if info.size <= SMALL_ARRAY or info.value_stats is None:
        lines = [f"value = {format_value(info.value, DIGITS)}"]
        if show_gradients:
            lines.append(f"grad = {format_value(info.gradient, DIGITS)}")
        return lines
    value = info.value_stats
    lines = [
        f"value mean {value.mean:.4g}, std {value.std:.4g}",
        f"{value.sparkline}  zeros {value.zero_fraction:.0%}",
    ]
    grad = info.gradient_stats
    if show_gradients:
        lines.append(
            "grad = -" if grad is None else f"grad norm {grad.norm:.4g}, std {grad.std:.4g}"
        )
    return lines


def _scoped_lines(
    forward: list[Node], node_lines: dict[Any, str], boxes: dict[Node, str]
) -> list[str]:
    """Node lines grouped into nested boxes, one per name scope, labelled with its name;
    a collapsed scope's line stands in its parent scope, once."""
    tree: dict[str, Any] = {"": ([], {})}
    placed: set[str] = set()
    for node in forward:
        if node in boxes:
            scope = boxes[node]
            if scope not in placed:
                placed.add(scope)
                _scope_entry(tree, scope_of(scope))[0].append(node_lines[scope])
            continue
        _scope_entry(tree, scope_of(node.name))[0].append(node_lines[node])
    return _cluster_lines(tree[""], 1, iter(range(len(forward))))


def _scope_entry(tree: dict[str, Any], scope: str) -> tuple[list[str], dict[str, Any]]:
    entry = tree[""]
    path = ""
    for part in scope.split("/") if scope else []:
        path = f"{path}/{part}" if path else part
        entry = entry[1].setdefault(path, ([], {}))
    return entry


def _cluster_lines(
    entry: tuple[list[str], dict[str, Any]], depth: int, numbers: Iterator[int]
) -> list[str]:
    indent = "  " * depth
    own, children = entry
    lines = [indent + line.strip() for line in own]
    for child, child_entry in children.items():
        lines.append(f"{indent}subgraph cluster_scope{next(numbers)} {{")
        label = child.rsplit("/", 1)[-1]
        lines.append(
            f'{indent}  label={_quote(label)}; style="rounded,dashed"; color="#8899aa"; '
            'fontcolor="#556677";'
        )
        lines.extend(_cluster_lines(child_entry, depth + 1, numbers))
        lines.append(f"{indent}}}")
    return lines


def _edge_lines(
    forward: list[Node], ids: dict[Node, str], trace: Trace | None, show_gradients: bool
) -> list[str]:
    if trace is not None:
        by_position = {(e.src, e.dst, e.index): e for e in trace.edges}
    lines = []
    seen: set[tuple[str, str]] = set()
    for dst in forward:
        if trace is not None and any(out in trace.fed for out in dst.outputs):
            continue
        for index, src in enumerate(t.op for t in dst.inputs):
            pair = (ids[src], ids[dst])
            if pair[0].startswith("scope_") or pair[1].startswith("scope_"):
                if pair[0] != pair[1] and pair not in seen:
                    seen.add(pair)
                    lines.append(f"  {pair[0]} -> {pair[1]};")
                continue
            attributes = []
            edge = by_position.get((src.name, dst.name, index)) if trace is not None else None
            if edge is not None and not edge.flows:
                attributes.append('style=dashed, color="#999999"')
            if show_gradients and edge is not None and edge.local_derivative is not None:
                local = format_value(edge.local_derivative, DIGITS)
                attributes.append(f"label={_quote(' ∂ ' + local)}")
            suffix = f" [{', '.join(attributes)}]" if attributes else ""
            lines.append(f"  {ids[src]} -> {ids[dst]}{suffix};")
    return lines


def _gradient_graph_lines(
    output: Node, forward: list[Node], ids: dict[Node, str], trace: Trace | None
) -> list[str]:
    """The nodes ``gradients()`` added for ``output``, in a cluster, linked to what they use."""
    structure = trace.structure if trace is not None else structure_for(output)
    grads = {t.op: g for t, g in structure.grads.items() if t.op in ids and t.value_index == 0}
    known = set(ids)
    added = [n for n in topological_order(list(grads.values()), stop_at=known) if n not in known]
    gids = {node: f"g{i}" for i, node in enumerate(added)}
    lines = [
        "  subgraph cluster_gradients {",
        '    label="gradient graph"; style=dashed; color="#c0392b"; fontcolor="#c0392b";',
    ]
    for node in added:
        label = node_label(node)
        text = label if node.name == label else f"{label}\n{node.name}"
        lines.append(f"    {gids[node]} [label={_quote(text)}, {_GRADIENT_STYLE}];")
    lines.append("  }")
    every = {**ids, **gids}
    for node in added:
        for src in (t.op for t in node.inputs):
            if src in every:
                lines.append(f'  {every[src]} -> {gids[node]} [color="#bbbbbb"];')
    for node, grad in grads.items():
        if grad.op in every:
            lines.append(
                f"  {every[grad.op]} -> {ids[node]} "
                '[style=dotted, color="#c0392b", label="gradient", constraint=false];'
            )
    return lines


def render(
    target_or_trace: Trace | Node | Expression | str,
    path: str | os.PathLike[str],
    format: str | None = None,  # noqa: A002 - the Graphviz word
    show_gradients: bool = True,
    include_gradient_graph: bool = False,
    feed: Mapping[Any, Any] | None = None,
) -> str:
    """Draw the graph to ``path`` as SVG or PNG (from the suffix unless ``format`` says).

    Needs the ``graphviz`` package and the Graphviz program ``dot``; without them the DOT
    text is written next to ``path`` (suffix ``.dot``) and a clear error says what to install.
    """
    target = Path(path)
    fmt = (format or target.suffix.lstrip(".") or "svg").lower()
    if fmt not in FORMATS:
        raise InvalidArgumentError(f"cannot draw '{fmt}'; choose one of {', '.join(FORMATS)}")
    text = to_dot(target_or_trace, show_gradients, include_gradient_graph, feed)
    picture = _pipe(text, fmt, target)
    target.write_bytes(picture)
    return str(target)


def _pipe(text: str, fmt: str, target: Path) -> bytes:
    """Run Graphviz; if it cannot run, keep the DOT text and say how to install it."""
    try:
        import graphviz
    except ImportError:
        raise _missing(
            text,
            target,
            "the Python package 'graphviz' is not installed; install it with "
            "pip install 'chainrule[viz]' (or pip install graphviz) and the Graphviz program",
        ) from None
    try:
        return graphviz.Source(text).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise _missing(
            text,
            target,
            "the Graphviz program 'dot' was not found on PATH; install Graphviz with "
            "'sudo apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS) "
            "or 'conda install graphviz'",
        ) from None
    except graphviz.CalledProcessError as err:
        detail = (err.stderr or b"").decode(errors="replace").strip()
        raise _missing(text, target, f"Graphviz could not draw the graph: {detail}") from None


def _missing(text: str, target: Path, reason: str) -> FailedPreconditionError:
    dot_path = target.with_suffix(".dot")
    dot_path.write_text(text, encoding="utf-8")
    fmt = target.suffix.lstrip(".") or "svg"
    error = FailedPreconditionError(
        f"cannot draw {target}: {reason}. The graph was written as DOT text to {dot_path}; "
        f"once Graphviz is installed, 'dot -T{fmt} {dot_path} -o {target}' draws it."
    )
    error.dot_path = str(dot_path)  # type: ignore[attr-defined]
    return error
