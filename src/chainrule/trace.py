"""Backpropagation made visible: every node's value, its gradient and each edge's local derivative.

``explain(target, feed)`` runs the forward pass and the backward pass (the same symbolic
gradients ``gradients()`` builds) in one ``Session.run`` and returns a ``Trace``:

    t = explain(expr.parse("(4*x+1)^2"), {"x": 1.0})
    t.value            # 25.0
    t.gradient("x")    # 40.0
    t.paths("x")       # x -> Mul -> Add -> Pow, factors [4, 1, 10], product 40

For scalar nodes the local derivative d(dst)/d(src) of every edge is computed by the op's own
registered gradient function (fed a gradient of one), so the products of the factors along
all paths from a variable to the output add up to that variable's gradient: the chain rule.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .autodiff import backprop
from .errors import InvalidArgumentError, NotFoundError
from .expr import BUILD_LOCK, Expression, expression_value, parse
from .graph import Graph, Node, Tensor, topological_order
from .ops import array_ops
from .ops.base import Constant, Placeholder, convert_to_tensor
from .ops.control_flow_ops import While, WhileGrad
from .ops.registry import gradient_function
from .ops.state_ops import VariableOp
from .runtime.session import Session
from .stats import Stats, tensor_stats

__all__ = ["explain", "Trace", "TraceNode", "Edge", "Path", "format_value", "scope_of"]

#: ``Trace.paths`` lists at most this many paths unless asked for more
MAX_PATHS = 1000
#: arrays with at most this many elements are shown by value in tables and pictures
SMALL_ARRAY = 6
#: arrays with at most this many elements are written out in a trace's JSON (else statistics)
INLINE_ARRAY = 64
#: ``TraceNode.array_text`` prints arrays up to this many elements in full
FULL_ARRAY_LIMIT = 100_000
#: a variable whose gradient norm is below this share of its value norm may be vanishing
VANISHING_RATIO = 1e-5
#: ... and above this share may be exploding
EXPLODING_RATIO = 1e3


# -- the trace's parts ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Edge:
    """``src`` is input ``index`` of ``dst``; ``local_derivative`` is d(dst)/d(src) for scalars.

    ``flows`` says whether a gradient passes along the edge at all (not into integer inputs,
    not through comparisons or fed nodes). ``local_derivative`` is ``None`` when either end
    is not a scalar or no gradient flows.
    """

    src: str
    dst: str
    index: int
    local_derivative: float | None
    flows: bool


@dataclass(frozen=True)
class Path:
    """One way from a variable to the output: the nodes, the local derivative of each step
    and their product (``None`` if some factor is unknown because values are not scalars).

    ``indices[i]`` says which input of ``nodes[i + 1]`` the step enters (``x*x`` has two).
    """

    nodes: tuple[str, ...]
    factors: tuple[float | None, ...]
    product: float | None
    indices: tuple[int, ...] = ()


@dataclass
class TraceNode:
    """One node of a trace: what it is, what it computed and d(target)/d(node).

    ``kind`` is ``placeholder``, ``variable``, ``constant`` or ``op``; ``label`` is what a
    picture shows (the variable's name, a constant's value, an op's type).
    """

    name: str
    op_type: str
    label: str
    kind: str
    inputs: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str | None
    value: Any
    gradient: Any
    source: str = ""
    consumers: list[str] = field(default_factory=list)
    #: a loop's variables after 0, 1, 2, ... iterations (the first row its inputs, the last
    #: its results); ``None`` for nodes that are not loops
    iterations: list[tuple[Any, ...]] | None = None
    #: the target's gradient with respect to those loop variables, row by row (``None`` for
    #: integer variables, and for every row when no gradient flows through the loop)
    iteration_gradients: list[tuple[Any, ...]] | None = None

    @property
    def scope(self) -> str:
        """The name scope the node was made in (``""`` at the top level)."""
        return scope_of(self.name)

    @property
    def size(self) -> int:
        """How many numbers the value holds."""
        return int(np.size(self.value))

    @cached_property
    def value_stats(self) -> Stats | None:
        """Mean, std, min, max, norm, zero fraction and histogram of the value."""
        return tensor_stats(self.value)

    @cached_property
    def gradient_stats(self) -> Stats | None:
        """The same statistics of the gradient (``None`` where no gradient flows)."""
        return tensor_stats(self.gradient)

    def array_text(self, which: str = "value", limit: int = FULL_ARRAY_LIMIT) -> str:
        """The whole value (or ``which="gradient"``) as NumPy prints it, up to ``limit`` numbers."""
        if which not in ("value", "gradient"):
            raise InvalidArgumentError(f"which must be 'value' or 'gradient', got {which!r}")
        data = self.value if which == "value" else self.gradient
        if data is None:
            return "-"
        if np.size(data) > limit:
            raise InvalidArgumentError(
                f"the {which} of '{self.name}' holds {np.size(data)} numbers, more than the "
                f"limit of {limit}; pass a larger limit or read trace.node(...).{which}"
            )
        return np.array2string(np.asarray(data), threshold=limit + 1, max_line_width=100)

    @property
    def is_variable(self) -> bool:
        """A leaf one can vary: an expression's variable, a placeholder or a ``Variable``."""
        return self.kind in ("placeholder", "variable")

    @property
    def is_constant(self) -> bool:
        return self.kind == "constant"

    def to_dict(self, array_limit: int = INLINE_ARRAY) -> dict[str, Any]:
        """JSON-ready data; a value or gradient of more than ``array_limit`` numbers is left
        out (``null``) and only its statistics are given."""
        data = {
            "name": self.name,
            "op_type": self.op_type,
            "label": self.label,
            "kind": self.kind,
            "scope": self.scope,
            "inputs": list(self.inputs),
            "consumers": list(self.consumers),
            "shape": list(self.shape),
            "dtype": self.dtype,
            "value": _limited_json(self.value, array_limit),
            "gradient": _limited_json(self.gradient, array_limit),
            "value_stats": None if self.value_stats is None else self.value_stats.to_dict(),
            "gradient_stats": None
            if self.gradient_stats is None
            else self.gradient_stats.to_dict(),
            "is_variable": self.is_variable,
            "is_constant": self.is_constant,
            "source": self.source,
        }
        if self.iterations is not None:
            data["iterations"] = [
                [_limited_json(v, array_limit) for v in row] for row in self.iterations
            ]
        if self.iteration_gradients is not None:
            data["iteration_gradients"] = [
                [_limited_json(v, array_limit) for v in row] for row in self.iteration_gradients
            ]
        return data


def _limited_json(value: Any, limit: int) -> Any:
    return None if value is None or np.size(value) > limit else to_json(value)


def scope_of(name: str) -> str:
    """``"layer/dense/MatMul"`` → ``"layer/dense"``; a top-level name has the scope ``""``."""
    return name.rpartition("/")[0]


# -- what is built once per (target, fed nodes) -----------------------------------------------------
@dataclass
class _EdgeSpec:
    src: Node
    dst: Node
    index: int
    flows: bool
    local: Node | None


@dataclass
class Structure:
    """The graph side of a trace: forward order, gradient nodes and local-derivative nodes."""

    target: Node
    order: list[Node]
    grads: dict[Node, Node]
    edges: list[_EdgeSpec]
    stateless: bool
    #: each loop of ``order`` and where its kept values hold its loop variables
    loops: dict[Node, list[int]] = field(default_factory=dict)
    #: each loop's gradient loop, which keeps the loop variables' gradient per iteration
    loop_gradients: dict[Node, WhileGrad] = field(default_factory=dict)
    session: Session | None = None


def _maybe_scalar(node: Node) -> bool:
    """Statically a single number, or possibly one (shape unknown until run time)."""
    return node.shape is None or all(d in (None, 1) for d in node.shape)


def _takes_gradient(value: Tensor) -> bool:
    return value.dtype is None or value.dtype.is_floating


def _edge_flows(src: Tensor, dst: Node) -> bool:
    """Whether a gradient can flow from ``dst`` back into its input ``src`` (through any of
    ``dst``'s outputs: a loop's counter is an integer, its other variables need not be)."""
    if not (dst.differentiable and _takes_gradient(src)):
        return False
    if not any(_takes_gradient(out) for out in dst.outputs):
        return False
    try:
        return gradient_function(dst) is not None
    except NotFoundError:
        return False


def _edge_specs(order: list[Node], fed: frozenset[Node]) -> list[_EdgeSpec]:
    specs: list[_EdgeSpec] = []
    for dst in order:
        if not dst.inputs or any(out in fed for out in dst.outputs):
            continue
        flows = [_edge_flows(src, dst) for src in dst.inputs]
        locals_: list[Node | None] = [None] * len(dst.inputs)
        wanted = [f and _maybe_scalar(src) for f, src in zip(flows, dst.inputs, strict=True)]
        if len(dst.outputs) == 1 and _maybe_scalar(dst) and any(wanted):
            locals_ = _scalar_local_derivatives(dst)
        for index, src in enumerate(dst.inputs):
            local = locals_[index] if wanted[index] else None
            specs.append(_EdgeSpec(src.op, dst, index, flows[index], local))
    return specs


def _scalar_local_derivatives(dst: Node) -> list[Node | None]:
    """d(dst)/d(input) for each input of a single-number ``dst``: its gradient fed a one."""
    grads = gradient_function(dst)(dst, array_ops.ones_like(dst.outputs[0]))
    if len(dst.inputs) == 1 and not isinstance(grads, list | tuple):
        grads = [grads]
    return [
        None if g is None else convert_to_tensor(g, graph=dst.graph, dtype_hint=inp.dtype)
        for g, inp in zip(grads, dst.inputs, strict=True)
    ]


def _build_structure(target: Node, fed: frozenset[Node]) -> Structure:
    graph = target.graph
    order = topological_order([target], stop_at={t.op for t in fed})
    start = len(graph.get_operations())
    with graph.as_default():
        with graph.name_scope("gradients"):
            grads = backprop([target], [None], stop_gradients=list(fed))
        with graph.name_scope("local_derivatives"):
            edges = _edge_specs(order, fed)
    stateless = all(node.pure and not isinstance(node, VariableOp) for node in order)
    loops = _loops(order)
    loop_gradients = _loop_gradients(loops, graph.get_operations()[start:])
    return Structure(target, order, grads, edges, stateless, loops, loop_gradients)


def _loops(order: list[Node]) -> dict[Node, list[int]]:
    """Have each loop of ``order`` keep its variables at every iteration (the learner sees
    them); loops built with ``back_prop=False`` keep nothing and are left out."""
    return {
        node: node.keep_for_gradient(list(node.body.inputs[: node.count]))
        for node in order
        if isinstance(node, While) and node.back_prop
    }


def _loop_gradients(loops: dict[Node, list[int]], made: list[Node]) -> dict[Node, WhileGrad]:
    """The gradient loop that the trace's backpropagation made for each loop, set to keep
    the gradient it carries (the loop variables') at every iteration."""
    found: dict[Node, WhileGrad] = {}
    for op in made:
        if isinstance(op, WhileGrad) and op.inputs[0].op in loops:
            op.keep_carried()
            found[op.inputs[0].op] = op
    return found


def _gradient_rows(loop: While, started: Any, first: list[Any]) -> list[tuple[Any, ...]]:
    """Per row of the loop's iterations (after 0, 1, ... iterations), the gradient with
    respect to each loop variable: the gradient loop's result, then what it started each
    iteration from (the gradient after that iteration)."""
    floats = loop.floating_variables()
    rows = [first, *(entry[: len(floats)] for entry in started.items)]
    table = []
    for row in rows:
        by_variable = dict(zip(floats, row, strict=True))
        table.append(
            tuple(_plain(by_variable[j]) if j in by_variable else None for j in range(loop.count))
        )
    return table


def structure_for(target: Node, fed: frozenset[Node] = frozenset()) -> Structure:
    """The (cached) gradient and local-derivative nodes of ``target`` with ``fed`` nodes fixed.

    Built once per graph, target and set of fed nodes, so explaining the same target again
    (a slider moving in the explorer) adds nothing to the graph.
    """
    with BUILD_LOCK:
        cache = _structure_cache(target.graph)
        key = (target, fed)
        structure = cache.get(key)
        if structure is None:
            structure = _build_structure(target, fed)
            cache[key] = structure
        return structure


def _structure_cache(graph: Graph) -> dict[tuple[Node, frozenset[Node]], Structure]:
    # kept on the graph itself so that it lives and dies with the graph's nodes
    cache = graph.__dict__.get("_explain_structures")
    if cache is None:
        cache = graph.__dict__["_explain_structures"] = {}
    return cache


# -- running ---------------------------------------------------------------------------------------
def explain(
    target: Node | Expression | str,
    feed: Mapping[Any, Any] | None = None,
    session: Session | None = None,
) -> Trace:
    """Trace the forward and backward pass of ``target`` (a node, an expression or its text).

    ``feed`` maps placeholders, nodes, node names or an expression's variable names to values.
    Variables are read from a fresh session (their initial values) unless fed or unless a
    ``session`` holding trained values is given. A non-scalar target is summed, as TF1 does.
    """
    if isinstance(target, str):
        target = parse(target)
    expression = target if isinstance(target, Expression) else None
    output = expression.output if expression is not None else target
    if not isinstance(output, Tensor):
        raise InvalidArgumentError(
            f"explain() needs a graph node or an expression, got {type(target).__name__}"
        )
    feed_dict = _resolve_feed(output.graph, expression, feed or {})
    structure = structure_for(output, frozenset(feed_dict))
    values, grads, locals_, kept, gradient_rows = _run(structure, feed_dict, session)
    trace = Trace(structure, expression, frozenset(feed_dict), values, grads, locals_)
    for loop, positions in structure.loops.items():
        history, *final = kept[loop]
        rows = [tuple(_plain(entry[k]) for k in positions) for entry in history.items]
        trace.node(loop.name).iterations = [*rows, tuple(_plain(v) for v in final)]
    for loop, (started, *first) in gradient_rows.items():
        trace.node(loop.name).iteration_gradients = _gradient_rows(loop, started, first)
    return trace


def _resolve_feed(
    graph: Graph, expression: Expression | None, feed: Mapping[Any, Any]
) -> dict[Node, Any]:
    if not isinstance(feed, Mapping):
        raise InvalidArgumentError(f"feed must be a dict, got {type(feed).__name__}")
    resolved: dict[Node, Any] = {}
    for key, value in feed.items():
        node = _feed_node(graph, expression, key)
        if isinstance(node.op, Placeholder) and expression is not None:
            value = expression_value(node.op.name, value)
        resolved[node] = value
    if expression is not None:
        missing = [name for name, node in expression.variables.items() if node not in resolved]
        if missing:
            raise InvalidArgumentError(
                f"variable '{missing[0]}' of '{expression.text}' needs a value, "
                f"e.g. {{'{missing[0]}': 1.0}}"
            )
    return resolved


def _feed_node(graph: Graph, expression: Expression | None, key: Any) -> Node:
    if isinstance(key, Tensor):
        if key.graph is not graph:
            raise InvalidArgumentError(f"the fed node '{key.name}' belongs to another graph")
        return key
    if isinstance(key, str):
        if expression is not None and key in expression.variables:
            return expression.variables[key]
        try:
            return graph.get_tensor_by_name(key if ":" in key else key + ":0")
        except NotFoundError:
            if expression is not None:
                known = ", ".join(expression.variables) or "none"
                raise NotFoundError(
                    f"'{key}' is not a variable of '{expression.text}' (its variables: {known})"
                ) from None
            raise
    raise InvalidArgumentError(f"cannot feed {key!r}: use graph nodes or their names as keys")


def _shown_tensor(op: Node, target: Tensor) -> Any:
    """The tensor a trace shows for ``op``: the target itself, else the op's first output a
    gradient can flow into (a loop's result rather than its counter), else its first output
    (an op without outputs, such as an update, is run for its effect)."""
    if op is target.op:
        return target
    floating = [t for t in op.outputs if t.dtype is not None and t.dtype.is_floating]
    return floating[0] if floating else (op.outputs[0] if op.outputs else op)


def _run(
    structure: Structure, feed: dict[Node, Any], session: Session | None
) -> tuple[list[Any], dict[Node, Any], dict[int, Any], dict[Node, Any], dict[Node, Any]]:
    """One ``Session.run`` of every value, every gradient, every local derivative, what each
    loop kept of its iterations and what each gradient loop kept of its own."""
    shown = {n: _shown_tensor(n, structure.target) for n in structure.order}
    grad_nodes = [n for n in structure.order if shown[n] in structure.grads]
    local_specs = [i for i, spec in enumerate(structure.edges) if spec.local is not None]
    loop_grads = structure.loop_gradients
    fetches = (
        [shown[n] for n in structure.order],
        [structure.grads[shown[n]] for n in grad_nodes],
        [structure.edges[i].local for i in local_specs],
        [[loop.outputs[-1], *loop.outputs[: loop.count]] for loop in structure.loops],
        [
            [g.outputs[-1], *g.outputs[: len(loop.floating_variables())]]
            for loop, g in loop_grads.items()
        ],
    )
    if session is not None:
        values, grads, locals_, kept, gradient_kept = session.run(fetches, feed)
    elif structure.stateless:
        if structure.session is None:
            structure.session = Session(graph=structure.target.graph)
        values, grads, locals_, kept, gradient_kept = structure.session.run(fetches, feed)
    else:
        with Session(graph=structure.target.graph) as fresh:
            values, grads, locals_, kept, gradient_kept = fresh.run(fetches, feed)
    return (
        values,
        dict(zip(grad_nodes, grads, strict=True)),
        dict(zip(local_specs, locals_, strict=True)),
        dict(zip(structure.loops, kept, strict=True)),
        dict(zip(loop_grads, gradient_kept, strict=True)),
    )


# -- the trace ---------------------------------------------------------------------------------------
class Trace:
    """Values, gradients, orders, edges and chain-rule paths of one forward and backward pass."""

    def __init__(
        self,
        structure: Structure,
        expression: Expression | None,
        fed: frozenset[Node],
        values: list[Any],
        grads: dict[Node, Any],
        locals_: dict[int, Any],
    ):
        self.structure = structure
        self.expression = expression
        self.target = structure.target
        self.fed = fed
        self.graph = self.target.graph
        self.nodes: list[TraceNode] = [
            _trace_node(
                node, _shown_tensor(node, self.target), value, grads.get(node), node in grads
            )
            for node, value in zip(structure.order, values, strict=True)
        ]
        self._by_name = {tn.name: tn for tn in self.nodes}
        self.edges: list[Edge] = [
            Edge(
                spec.src.name, spec.dst.name, spec.index, self._local(i, spec, locals_), spec.flows
            )
            for i, spec in enumerate(structure.edges)
        ]
        for edge in self.edges:
            self._by_name[edge.src].consumers.append(edge.dst)

    def _local(self, index: int, spec: _EdgeSpec, locals_: dict[int, Any]) -> float | None:
        """The edge's local derivative if both its ends turned out to be single numbers."""
        if index not in locals_:
            return None
        src, dst = self._by_name[spec.src.name], self._by_name[spec.dst.name]
        if np.size(src.value) != 1 or np.size(dst.value) != 1 or np.size(locals_[index]) != 1:
            return None
        return _as_float(locals_[index])

    # -- lookups ------------------------------------------------------------------------------------
    @property
    def value(self) -> Any:
        """The target's value (a float for scalars)."""
        return self.nodes[-1].value

    @property
    def output(self) -> str:
        return self.target.op.name

    @property
    def forward_order(self) -> list[str]:
        """Node names in the order the forward pass computes them (inputs first)."""
        return [tn.name for tn in self.nodes]

    @property
    def backward_order(self) -> list[str]:
        """Node names in the order backpropagation reaches them (the output first)."""
        return [tn.name for tn in reversed(self.nodes) if tn.gradient is not None]

    @property
    def variables(self) -> list[str]:
        """An expression's variables; for a graph, its placeholders and ``Variable``s."""
        if self.expression is not None:
            return list(self.expression.variables)
        return [tn.name for tn in self.nodes if tn.is_variable]

    def node(self, node_or_name: Node | str) -> TraceNode:
        """The ``TraceNode`` of a node, given the node or its name (or a variable's name)."""
        name = self._name_of(node_or_name)
        try:
            return self._by_name[name]
        except KeyError:
            raise NotFoundError(
                f"'{name}' is not part of this trace of '{self.output}' "
                f"(it does not feed the output or sits behind a fed node)"
            ) from None

    def gradient(self, node_or_name: Node | str) -> Any:
        """d(target)/d(node): a float for scalars, an array otherwise, ``None`` if none flows."""
        name = self._name_of(node_or_name)
        if name not in self._by_name:
            self.graph.get_operation_by_name(name)  # unknown names are an error, others None
            return None
        return self._by_name[name].gradient

    def _name_of(self, node_or_name: Node | str) -> str:
        if isinstance(node_or_name, Tensor):
            return node_or_name.op.name
        if isinstance(node_or_name, Node):
            return node_or_name.name
        if not isinstance(node_or_name, str):
            raise InvalidArgumentError(f"expected a node or a node name, got {node_or_name!r}")
        if self.expression is not None and node_or_name in self.expression.variables:
            return self.expression.variables[node_or_name].op.name
        return node_or_name[:-2] if node_or_name.endswith(":0") else node_or_name

    # -- the chain rule ------------------------------------------------------------------------------
    def path_count(self, variable: Node | str) -> int:
        """How many paths gradients flow along from ``variable`` to the output."""
        return self._counts().get(self.node(variable).name, 0)

    def paths(self, variable: Node | str, limit: int = MAX_PATHS) -> list[Path]:
        """The paths from ``variable`` to the output (at most ``limit``), each with its factors.

        For scalar graphs the products of all paths add up to ``gradient(variable)``.
        """
        return list(self._iter_paths(self.node(variable).name, limit))

    def _flowing_edges(self) -> dict[str, list[Edge]]:
        out: dict[str, list[Edge]] = {}
        for edge in self.edges:
            if edge.flows:
                out.setdefault(edge.src, []).append(edge)
        return out

    def _counts(self) -> dict[str, int]:
        """Number of flowing paths from each node to the output (dynamic programming)."""
        out = self._flowing_edges()
        counts = {self.output: 1}
        for tn in reversed(self.nodes[:-1]):
            counts[tn.name] = sum(counts.get(e.dst, 0) for e in out.get(tn.name, []))
        return counts

    def _iter_paths(self, start: str, limit: int) -> Iterator[Path]:
        counts = self._counts()
        if counts.get(start, 0) == 0:
            return
        out = {
            src: [e for e in edges if counts.get(e.dst, 0) > 0]
            for src, edges in self._flowing_edges().items()
        }
        produced = 0
        stack: list[tuple[str, list[Edge]]] = [(start, [])]
        while stack and produced < limit:
            name, steps = stack.pop()
            if name == self.output:
                produced += 1
                yield _make_path(start, steps)
                continue
            for edge in reversed(out.get(name, [])):
                stack.append((edge.dst, [*steps, edge]))

    # -- presentation -------------------------------------------------------------------------------
    @property
    def holds_tensors(self) -> bool:
        """True when some node holds more numbers than a table shows by value."""
        return any(tn.size > SMALL_ARRAY for tn in self.nodes)

    def table(self, digits: int = 6, stats: bool | None = None) -> str:
        """A plain-text table of every node, in forward order.

        For numbers and small arrays: op, inputs, value and gradient. For tensors (``stats``,
        by default when some node holds more than a few numbers): shape, dtype and, on one
        line for the value and one for the gradient, mean, std, min, max, norm, the fraction
        of zeros and a histogram.
        """
        if stats is None:
            stats = self.holds_tensors
        if stats:
            return _stats_table(self.nodes)
        header = ("node", "op", "inputs", "value", "gradient")
        rows: list[tuple[str, ...]] = []
        for tn in self.nodes:
            value = format_value(tn.value, digits)
            gradient = "-" if tn.gradient is None else format_value(tn.gradient, digits)
            rows.append((tn.name, tn.op_type, ", ".join(tn.inputs), value, gradient))
            rows.extend(("", label, "", *texts) for label, *texts in _iteration_rows(tn, digits))
        return _format_table(header, rows)

    def summary(self) -> str:
        """Per variable: value norm, gradient norm and their ratio, which shows vanishing
        (a tiny ratio) and exploding (a huge one) gradients; the ``Variable``s of a network,
        or every variable of an expression or a graph without ``Variable``s."""
        header = ("variable", "shape", "|value|", "|gradient|", "|gradient|/|value|", "note")
        return _format_table(header, [_summary_row(tn) for tn in self.summary_nodes()])

    def summary_nodes(self) -> list[TraceNode]:
        """The nodes ``summary`` reports on."""
        trained = [tn for tn in self.nodes if tn.kind == "variable"]
        return trained or [self.node(name) for name in self.variables]

    def to_dict(self, max_paths: int = 64, array_limit: int = INLINE_ARRAY) -> dict[str, Any]:
        """Everything as JSON-ready data (non-finite numbers as "NaN", "Infinity", "-Infinity").

        Values and gradients of more than ``array_limit`` numbers are given by their
        statistics only.
        """
        return {
            "expression": None if self.expression is None else self.expression.text,
            "output": self.output,
            "value": _limited_json(self.value, array_limit),
            "variables": self.variables,
            "nodes": [tn.to_dict(array_limit) for tn in self.nodes],
            "edges": [
                {
                    "src": e.src,
                    "dst": e.dst,
                    "index": e.index,
                    "local_derivative": to_json(e.local_derivative),
                    "flows": e.flows,
                }
                for e in self.edges
            ],
            "forward_order": self.forward_order,
            "backward_order": self.backward_order,
            "gradients": {tn.name: _limited_json(tn.gradient, array_limit) for tn in self.nodes},
            "paths": {name: self._paths_dict(name, max_paths) for name in self.variables},
        }

    def _paths_dict(self, variable: str, limit: int) -> dict[str, Any]:
        count = self.path_count(variable)
        return {
            "count": count,
            "truncated": count > limit,
            "paths": [
                {
                    "nodes": list(p.nodes),
                    "factors": [to_json(f) for f in p.factors],
                    "product": to_json(p.product),
                    "indices": list(p.indices),
                }
                for p in self.paths(variable, limit)
            ],
        }

    def __str__(self) -> str:
        return self.table()

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the trace as JSON data (``chainrule serve --trace FILE`` opens it)."""
        from .tracefile import save

        return save(self, path)

    def _repr_html_(self) -> str:
        """Jupyter: the graph with every value, gradient and local derivative, and a table."""
        from .notebook import trace_html

        return trace_html(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain-text view: the table."""
        printer.text(repr(self) if cycle else f"{self!r}\n{self.table()}")

    def __repr__(self) -> str:
        return f"<chainrule.Trace of '{self.output}' value={format_value(self.value)}>"


def _make_path(start: str, steps: list[Edge]) -> Path:
    factors = tuple(e.local_derivative for e in steps)
    known = all(f is not None for f in factors)
    product = math.prod(factors, start=1.0) if known else None  # type: ignore[arg-type]
    nodes = (start, *(e.dst for e in steps))
    return Path(nodes, factors, product, tuple(e.index for e in steps))


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def _format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [_row(header, widths), _row(tuple("-" * w for w in widths), widths)]
    lines.extend(_row(r, widths) for r in rows)
    return "\n".join(lines)


_STATS_HEADER = (
    "node", "op", "shape", "dtype", "", "mean", "std", "min", "max", "norm", "zeros", "histogram"
)  # fmt: skip


def _stats_table(nodes: list[TraceNode]) -> str:
    """Two lines per node, its value's statistics and its gradient's."""
    rows: list[tuple[str, ...]] = []
    for tn in nodes:
        shape = "x".join(str(d) for d in tn.shape) or "scalar"
        first = (tn.name, tn.op_type, shape, tn.dtype or "-")
        rows.append((*first, "value", *_stats_cells(tn.value_stats, tn.value)))
        rows.append(("", "", "", "", "grad", *_stats_cells(tn.gradient_stats, tn.gradient)))
        for label, values, gradients in _iteration_rows(tn, 4):
            rows.append(("", label, "", "", "loop", values, *[""] * 6))
            if gradients:
                rows.append(("", "", "", "", "loop grad", gradients, *[""] * 6))
    return _format_table(_STATS_HEADER, rows)


def _iteration_rows(tn: TraceNode, digits: int) -> list[tuple[str, str, str]]:
    """A loop's variables after each iteration and the target's gradient with respect to
    them, one (label, values, gradients) row per iteration (``""``: no gradients)."""
    if tn.iterations is None:
        return []
    gradients = tn.iteration_gradients or [None] * len(tn.iterations)
    return [
        (f"after {k}", _row_text(row, digits), "" if grads is None else _row_text(grads, digits))
        for k, (row, grads) in enumerate(zip(tn.iterations, gradients, strict=True))
    ]


def _row_text(row: tuple[Any, ...], digits: int) -> str:
    return "(" + ", ".join("-" if v is None else format_value(v, digits) for v in row) + ")"


def _stats_cells(stats: Stats | None, value: Any) -> tuple[str, ...]:
    if stats is None or stats.size == 1:
        return ("-" if value is None else format_value(value, 4), "", "", "", "", "", "")
    numbers = (stats.mean, stats.std, stats.min, stats.max, stats.norm)
    cells = tuple(f"{x:.4g}" for x in numbers)
    return (*cells, f"{stats.zero_fraction:.0%}", stats.sparkline.replace(" ", "·"))


def _summary_row(tn: TraceNode) -> tuple[str, ...]:
    shape = "x".join(str(d) for d in tn.shape) or "scalar"
    value, grad = tn.value_stats, tn.gradient_stats
    if value is None or grad is None:
        return (tn.name, shape, "-", "-", "-", "no gradient flows" if grad is None else "")
    if value.norm == 0:
        note = "the value is zero (a fresh bias?): no ratio"
        return (tn.name, shape, "0", f"{grad.norm:.4g}", "-", note)
    ratio = grad.norm / value.norm
    return (tn.name, shape, f"{value.norm:.4g}", f"{grad.norm:.4g}", f"{ratio:.3g}", _note(ratio))


def _note(ratio: float) -> str:
    """A learner's hint for a ratio far from the usual range."""
    if math.isnan(ratio):
        return "NaN: look for a division by zero or a log of zero"
    if ratio == 0.0:
        return "no gradient reaches it"
    if ratio < VANISHING_RATIO:
        return "vanishing: steps barely change it"
    if ratio > EXPLODING_RATIO:
        return "exploding: steps overshoot"
    return ""


def node_kind(node: Node) -> str:
    """placeholder, variable, constant or op."""
    if isinstance(node, Placeholder):
        return "placeholder"
    if isinstance(node, VariableOp):
        return "variable"
    if isinstance(node, Constant):
        return "constant"
    return "op"


def node_label(node: Node) -> str:
    """What a picture shows for ``node``: a leaf's name, a scalar constant's value, an op's type."""
    kind = node_kind(node)
    if kind in ("placeholder", "variable"):
        return node.name
    if kind == "constant":
        value = np.asarray(node.value)
        base = node.name.rsplit("/", 1)[-1]
        if value.size == 1 and (base == "Const" or base.startswith("Const_")):
            return format_value(value.reshape(()).item())
        return node.name
    return node.op_type


def _trace_node(node: Node, shown: Any, value: Any, gradient: Any, has_gradient: bool) -> TraceNode:
    dtype = shown.dtype if isinstance(shown, Tensor) else node.dtype
    return TraceNode(
        name=node.name,
        op_type=node.op_type,
        label=node_label(node),
        kind=node_kind(node),
        inputs=tuple(inp.op.name for inp in node.inputs),
        shape=tuple(np.shape(value)),
        dtype=None if dtype is None else dtype.name,
        value=_plain(value),
        gradient=_plain(gradient) if has_gradient else None,
        source=node.source,
    )


def _plain(value: Any) -> Any:
    """0-d results as Python numbers, everything else as NumPy arrays."""
    if value is None:
        return None
    array = np.asarray(value)
    return array.item() if array.ndim == 0 else array


def _as_float(value: Any) -> float:
    return float(np.asarray(value).reshape(()))


# -- formatting --------------------------------------------------------------------------------------
def format_value(value: Any, digits: int = 6) -> str:
    """A number with ``digits`` significant digits; a small array by value, a large one by shape."""
    if value is None:
        return "-"
    array = np.asarray(value)
    if array.ndim == 0:
        return _format_scalar(array.item(), digits)
    shape = "x".join(str(d) for d in array.shape)
    if array.size <= SMALL_ARRAY and array.dtype.kind in "biuf":
        return _format_nested(array.tolist(), digits)
    stats = tensor_stats(array)
    if stats is None:
        return f"array[{shape}]"
    return f"{shape} array, mean {stats.mean:.4g}, std {stats.std:.4g}"


def _format_scalar(value: Any, digits: int) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}g}"


def _format_nested(value: Any, digits: int) -> str:
    if isinstance(value, list):
        return "[" + " ".join(_format_nested(v, digits) for v in value) + "]"
    return _format_scalar(value, digits)


def to_json(value: Any) -> Any:
    """Floats, ints, bools and nested lists; non-finite floats as JavaScript spells them."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    array = np.asarray(value)
    if array.ndim == 0:
        return to_json(array.item())
    return [to_json(v) for v in array]
