"""Control flow as TF1 writes it (``cond``, ``case``, ``while_loop``, ``map_fn``, ``scan``,
``foldl``, ``foldr``), built from functional ops that hold sub-graphs.

A branch or loop body is traced into the same graph, under its own name scope. Every tensor it
uses from outside (a *capture*) is replaced inside it by a placeholder and becomes an input of
the ``Cond`` or ``While`` op, so that the sub-graph is self-contained: its kernel compiles it
once with ``context.compile`` (feeding the placeholders) and runs it as often as it needs. Only
the taken branch runs, effects included; a loop runs its body once per iteration, in a plain
Python loop that Ctrl-C interrupts (the run then leaves the session as it was, ``docs/runs.md``).

Gradients are sub-graphs too, built by autodiff on the branch or body (the autodiff layer
hands its ``backprop`` to ``set_differentiator``, as the ops layer may not import it):

- a ``Cond``'s gradient is a ``Cond`` on the same predicate whose branches are the branches'
  gradients (the untaken one gives zeros); so nested conds and second derivatives work;
- a ``While`` keeps the loop variables of each iteration (TF1 keeps them on a stack), and its
  gradient ``WhileGrad`` runs the body's vector-Jacobian product backwards over them,
  summing the gradients of the captured tensors;
- a ``WhileGrad`` is a loop over kept iterations, and its gradient is another one, running
  the other way: it gives the gradients of the kept values too (per iteration), which the
  ``While``'s gradient then feeds into its own product. So second (and higher) derivatives
  go through loops.

What a gradient reads of the forward pass is kept by the forward op (``keep_for_gradient``):
a ``Cond`` keeps the values of impure operations (random draws, updates) so that its gradient
sees the same ones, and computes pure values again (so that second derivatives see their
dependence on the inputs); a ``While`` keeps the body values its gradient reads, per
iteration, and a second derivative sees their dependence through their own gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..dtypes import DType, as_dtype, int32
from ..errors import ChainruleError, DTypeError, GraphError, InvalidArgumentError, ShapeError
from ..graph import Node, Tensor, get_default_graph, topological_order, with_node
from . import array_ops
from .accumulator_ops import Append
from .array_ops import concat, zeros_like
from .base import (
    Operation,
    Placeholder,
    convert_to_tensor,
    default_dtype_for,
    shape_matches,
)
from .math_ops import AddN, cast, identity
from .registry import NotDifferentiable, RegisterGradient
from .shape_ops import expand_dims, reshape, shape
from .shapes import Shape, fmt
from .slice_ops import gather
from .state_ops import VariableOp

__all__ = ["cond", "case", "while_loop", "map_fn", "scan", "foldl", "foldr"]

#: autodiff's ``backprop(ys, grad_ys, xs)``: set by the autodiff layer when it is imported
_differentiate: Callable[..., dict[Tensor, Tensor]] | None = None


def set_differentiator(backprop: Callable[..., dict[Tensor, Tensor]]) -> None:
    """Called once by the autodiff layer: how the gradients of sub-graphs are built."""
    global _differentiate
    _differentiate = backprop


# -- nested structures ---------------------------------------------------------------------------
def _is_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple | dict)


def flatten(structure: Any) -> list[Any]:
    """The leaves of nested lists, tuples (named too) and dicts (by sorted key), in order."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, list | tuple):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_sequence_as(structure: Any, flat: Sequence[Any]) -> Any:
    """``flat``'s leaves in the nesting of ``structure``."""
    return _pack(structure, iter(flat))


def _pack(structure: Any, leaves: Any) -> Any:
    if isinstance(structure, dict):
        values = {key: _pack(structure[key], leaves) for key in sorted(structure)}
        return type(structure)((key, values[key]) for key in structure)
    if isinstance(structure, list | tuple):
        items = [_pack(item, leaves) for item in structure]
        if hasattr(structure, "_fields"):
            return type(structure)(*items)
        return type(structure)(items)
    return next(leaves)


def _structure_text(structure: Any) -> str:
    """The nesting of ``structure``, tensors as ``*`` and operations as ``op`` (for errors)."""
    if isinstance(structure, dict):
        return "{" + ", ".join(f"{k!r}: {_structure_text(structure[k])}" for k in structure) + "}"
    if isinstance(structure, list | tuple):
        inner = ", ".join(_structure_text(item) for item in structure)
        return f"[{inner}]" if isinstance(structure, list) else f"({inner})"
    return "op" if _is_effect(structure) else "*"


def _same_structure(a: Any, b: Any) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        return (
            isinstance(a, dict)
            and isinstance(b, dict)
            and sorted(a) == sorted(b)
            and all(_same_structure(a[k], b[k]) for k in a)
        )
    if _is_sequence(a) or _is_sequence(b):
        return (
            _is_sequence(a)
            and _is_sequence(b)
            and len(a) == len(b)
            and all(_same_structure(x, y) for x, y in zip(a, b, strict=True))
        )
    return _is_effect(a) == _is_effect(b)


# -- sub-graphs ----------------------------------------------------------------------------------
class Subgraph(NamedTuple):
    """A traced branch or body: fed through ``inputs`` (placeholders), giving ``outputs``."""

    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    #: operations run for their effects (a branch that returns ``group(...)`` or an update)
    effects: tuple[Node, ...] = ()

    def operations(self) -> list[Node]:
        """The operations the sub-graph runs (its inputs' placeholders excluded)."""
        fed = {t.op for t in self.inputs}
        roots = (*self.outputs, *self.effects)
        order = topological_order(roots, include_control=True, stop_at=fed)
        return [op for op in order if op not in fed]

    def writes(self) -> tuple[Any, ...]:
        found: dict[Any, None] = {}
        for op in self.operations():
            for owner in op.writes():
                found[owner] = None
        return tuple(found)

    def pure(self) -> bool:
        return all(op.pure for op in self.operations())


class _Captures:
    """Outer tensors used inside traced functions, each replaced by one placeholder."""

    def __init__(self, scope: str):
        self.scope = scope
        self.outer: list[Tensor] = []
        self.inner: list[Tensor] = []
        self.control: list[Node] = []

    def placeholder_for(self, tensor: Tensor) -> Tensor:
        for outer, inner in zip(self.outer, self.inner, strict=True):
            if outer is tensor:
                return inner
        graph = tensor.graph
        with graph.name_scope(self.scope + "/"), graph.control_dependencies(None):
            inner = Placeholder(tensor.dtype, tensor.shape, name="capture")
        self.outer.append(tensor)
        self.inner.append(inner)
        return inner


def _trace(
    fn: Callable[..., Any], args: Sequence[Tensor], scope: str, captures: _Captures
) -> tuple[Any, list[Tensor], list[Node]]:
    """Call ``fn(*args)`` inside ``scope``; its result, the flat output tensors and the
    operations it returned (run for their effects).

    ``args`` are the sub-graph's own placeholders (a loop's variables). The operations it made
    that the outputs need and that use tensors from outside get placeholders instead (listed
    in ``captures``); control inputs from outside move to the op holding the sub-graph.
    Variables, even those made inside, are read outside and captured: their gradients then
    flow through the op, and the sub-graph sees their values as the run found them.
    """
    graph = get_default_graph()
    start = len(graph.get_operations())
    with graph.name_scope(scope + "/"), graph.control_dependencies(None):
        result = fn(*args)
        leaves = flatten(result)
        effects = [leaf for leaf in leaves if _is_effect(leaf)]
        flat = [_as_output(leaf) for leaf in leaves if not _is_effect(leaf)]
        own = {id(t.op) for t in args}
        inside = own | _made_since(graph, start)
        flat = [t if id(t.op) in inside else identity(t) for t in flat]
    inside = own | _made_since(graph, start)
    for op in _needed([*flat, *effects], inside):
        _rewire(op, inside, captures)
    return result, flat, effects


def _is_effect(leaf: Any) -> bool:
    """An operation without output tensors: a branch returns it to have it run."""
    return isinstance(leaf, Node) and not leaf.outputs


def _made_since(graph: Any, start: int) -> set[int]:
    """The ids of the operations made since ``start``, variables left out."""
    return {id(op) for op in graph.get_operations()[start:] if not isinstance(op, VariableOp)}


def _needed(outputs: Sequence[Tensor | Node], inside: set[int]) -> list[Node]:
    """The operations of ``inside`` that ``outputs`` need (by data or control)."""
    found: dict[int, Node] = {}
    stack = [t.op if isinstance(t, Tensor) else t for t in outputs]
    while stack:
        op = stack.pop()
        if id(op) in found or id(op) not in inside:
            continue
        found[id(op)] = op
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return list(found.values())


def _as_output(leaf: Any) -> Tensor:
    if leaf is None:
        raise InvalidArgumentError(
            "a branch or loop body returned None; return tensors (or numbers)"
        )
    return _typed(leaf)


def _typed(value: Any) -> Tensor:
    """``value`` as a tensor; Python numbers typed as TF1 types them (``0`` is int32)."""
    return convert_to_tensor(value, dtype_hint=default_dtype_for(value))


def _rewire(op: Node, inside: set[int], captures: _Captures) -> None:
    """Give ``op`` the captures' placeholders for its inputs from outside the sub-graph."""
    inputs = list(op.inputs)
    changed = False
    for i, tensor in enumerate(inputs):
        if id(tensor.op) in inside:
            continue
        inner = captures.placeholder_for(tensor)
        inputs[i] = inner
        tensor.op.consumers[:] = [c for c in tensor.op.consumers if c is not op]
        inner.op.consumers.append(op)
        changed = True
    if changed:
        op.inputs = tuple(inputs)
    outer_controls = [c for c in op.control_inputs if id(c) not in inside]
    if outer_controls:
        op.control_inputs = tuple(c for c in op.control_inputs if id(c) in inside)
        captures.control.extend(c for c in outer_controls if c not in captures.control)


def _placeholders_like(tensors: Sequence[Tensor], scope: str, name: str) -> list[Tensor]:
    graph = get_default_graph()
    with graph.name_scope(scope + "/"), graph.control_dependencies(None):
        return [Placeholder(t.dtype, t.shape, name=name) for t in tensors]


def _merged_shape(a: Shape, b: Shape) -> Shape:
    """The static shape both may have (unknown sizes where they differ)."""
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(x if x == y else None for x, y in zip(a, b, strict=True))


def _floating(tensor: Tensor) -> bool:
    return tensor.dtype is None or tensor.dtype.is_floating


def _grad_or_zeros(table: dict[Tensor, Tensor], x: Tensor) -> Tensor:
    grad = table.get(x)
    return zeros_like(x) if grad is None else grad


def _backprop(
    ys: Sequence[Tensor],
    grad_ys: Sequence[Tensor],
    xs: Sequence[Tensor],
    stop_gradients: Sequence[Tensor] = (),
) -> dict:
    """The gradient table of ``ys`` (seeded with ``grad_ys``) for the tensors down to ``xs``;
    gradients stop at ``stop_gradients`` (values fed to a sub-graph)."""
    if _differentiate is None:  # pragma: no cover - chainrule's import sets it
        raise GraphError("gradients of control flow need chainrule.autodiff")
    if not ys:
        return {}
    return _differentiate(list(ys), list(grad_ys), list(xs), list(stop_gradients))


class Kept:
    """What a ``Cond`` or ``While`` keeps for its gradient (``items``): one value, opaque to
    NumPy, so that a run's checks see an object, not numbers. A gradient of kept values is
    one too: per iteration, a dict from slot to gradient."""

    __slots__ = ("items",)

    def __init__(self, items: Any):
        self.items = items

    def __add__(self, other: Kept) -> Kept:
        """Two gradients of the same kept values summed, slot by slot (``AddN`` adds them)."""
        return Kept([_add_slots(a, b) for a, b in zip(self.items, other.items, strict=True)])


def _add_slots(a: dict[int, Any], b: dict[int, Any]) -> dict[int, Any]:
    total = dict(a)
    for slot, value in b.items():
        total[slot] = total[slot] + value if slot in total else value
    return total


# -- cond ----------------------------------------------------------------------------------------
class Cond(Operation):
    """Runs one of two sub-graphs on its inputs: ``branches[0]`` when ``pred`` holds, else
    ``branches[1]``; its outputs are the branch's outputs (TF2 calls this op ``If``), then
    the values the taken branch kept for its gradient (``keep_for_gradient``).

    A gradient's ``Cond`` also takes kept values: its last inputs are forward ops' kept
    outputs (``kept_sources``), and ``kept_feeds[k]`` lists the (source, position) of each
    value branch ``k`` is fed beyond the op's other inputs.
    """

    op_type = "Cond"
    numeric = True
    alias_inputs = ()

    def __init__(
        self,
        pred: Any,
        inputs: Sequence[Tensor],
        branches: tuple[Subgraph, Subgraph],
        control_inputs: Sequence[Node] = (),
        name: str | None = None,
        kept_sources: Sequence[Tensor] = (),
        kept_feeds: tuple[tuple[tuple[int, int], ...], ...] = ((), ()),
    ):
        self.branches = branches
        self.value_count = len(branches[0].outputs)
        self.kept_count = len(kept_sources)
        self.kept_feeds = kept_feeds
        #: per branch, the values inside it a run keeps for the gradient
        self.saved: tuple[list[Tensor], list[Tensor]] = ([], [])
        self.pure = all(b.pure() for b in branches)
        self.changes_state = any(b.writes() for b in branches)
        super().__init__([pred, *inputs, *kept_sources], name=name, control_inputs=control_inputs)

    def infer(self, pred: Tensor, *inputs: Tensor) -> list[tuple[Shape, DType | None]]:
        _check_predicate(pred)
        true, false = self.branches
        values = [
            (_merged_shape(a.shape, b.shape), a.dtype)
            for a, b in zip(true.outputs, false.outputs, strict=True)
        ]
        return [*values, (None, None)]

    def writes(self) -> tuple[Any, ...]:
        return tuple(dict.fromkeys(w for b in self.branches for w in b.writes()))

    def subgraphs(self) -> tuple[Subgraph, ...]:
        return tuple(self.branches)

    def keep_for_gradient(self, branch: int, tensors: Sequence[Tensor]) -> list[int]:
        """Have runs that take ``branch`` keep ``tensors`` (values inside it) in the last
        output; their positions there. Plans compiled from then on keep them."""
        saved = self.saved[branch]
        for tensor in tensors:
            if tensor not in saved:
                saved.append(tensor)
        return [saved.index(t) for t in tensors]

    def bind(self, context: Any) -> Callable[..., tuple[Any, ...]]:
        """Compile both branches once; each run calls the taken one."""
        runs = [
            context.compile([*b.outputs, *saved, *b.effects], b.inputs)
            for b, saved in zip(self.branches, self.saved, strict=True)
        ]
        counts = [len(saved) for saved in self.saved]
        values, kept_count, kept_feeds = self.value_count, self.kept_count, self.kept_feeds

        def run_cond(pred: Any, *inputs: Any) -> tuple[Any, ...]:
            k = 0 if pred else 1
            if kept_count:
                kept = inputs[len(inputs) - kept_count :]
                inputs = (
                    *inputs[: len(inputs) - kept_count],
                    *(kept[source].items[at] for source, at in kept_feeds[k]),
                )
            results = runs[k](*inputs)
            return (*results[:values], Kept(tuple(results[values : values + counts[k]])))

        return run_cond


def _check_predicate(pred: Tensor) -> None:
    if pred.dtype is not None and pred.dtype.name != "bool":
        raise DTypeError(
            f"the predicate '{pred.name}' must be a bool tensor, got {pred.dtype.name}; "
            "compare it first (for example x > 0)"
        )
    if pred.shape is not None and pred.shape != ():
        raise ShapeError(
            f"the predicate '{pred.name}' must be a scalar, got shape {fmt(pred.shape)}; "
            "use reduce_all/reduce_any, or where() to choose elementwise"
        )


@RegisterGradient("Cond")
def _cond_grad(op: Cond, *grads: Tensor | None) -> list[Tensor | None]:
    """A ``Cond`` on the same predicate whose branches are the branches' gradients, fed
    with what the forward run kept of values that cannot be computed again."""
    plain = len(op.inputs) - 1 - op.kept_count
    inputs = op.inputs[1 : 1 + plain]
    wanted = [i for i, x in enumerate(inputs) if _floating(x)]
    used = [i for i in range(op.value_count) if _floating(op.outputs[i])]
    result: list[Tensor | None] = [None] * len(op.inputs)
    if not wanted or not used:
        return result
    grad_ys = [grads[i] if grads[i] is not None else zeros_like(op.outputs[i]) for i in used]
    scope = op.name + "_grad"
    seeds = _placeholders_like(grad_ys, scope, "grad")
    branches, feeds = [], []
    graph = op.graph
    for k, branch in enumerate(op.branches):
        with graph.name_scope(f"{scope}/{'true' if k == 0 else 'false'}/"):
            table = _backprop([branch.outputs[i] for i in used], seeds, branch.inputs)
            outs = tuple(_grad_or_zeros(table, branch.inputs[i]) for i in wanted)
        own, fed = branch.inputs[:plain], branch.inputs[plain:]
        saved = _impure_values(branch, Subgraph((*branch.inputs, *seeds), outs))
        positions = op.keep_for_gradient(k, saved)
        branches.append(Subgraph((*own, *seeds, *fed, *saved), outs))
        feeds.append((*op.kept_feeds[k], *((op.kept_count, p) for p in positions)))
    with graph.name_scope(scope + "/"):
        grad_op = Cond(
            op.inputs[0],
            [*inputs, *grad_ys],
            tuple(branches),
            name="Cond",
            kept_sources=[*op.inputs[1 + plain :], op.outputs[-1]],
            kept_feeds=tuple(feeds),
        )
    for out, i in zip(_values(grad_op), wanted, strict=True):
        result[i + 1] = out
    return result


def _impure_values(branch: Subgraph, gradient: Subgraph) -> list[Tensor]:
    """Values of ``branch``'s impure operations (random draws, updates) that ``gradient``
    would compute again: the run keeps them instead, so that the gradient sees the same
    draw. (Pure values are computed again: kept, they would hide their dependence on the
    inputs from second derivatives.)"""
    forward = {id(op) for op in branch.operations()}
    return [
        op.outputs[0]
        for op in gradient.operations()
        if id(op) in forward and not op.pure and len(op.outputs) == 1
    ]


def _values(value: Any) -> tuple[Tensor, ...]:
    """The value outputs of a ``Cond`` (what an op class returned: a tensor or the op)."""
    op = value.op if isinstance(value, Tensor) else value
    return tuple(op.outputs[: op.value_count])


def _outputs(value: Any) -> tuple[Tensor, ...]:
    """The output tensors of what an op class returned (its tensor, or the operation)."""
    return (value,) if isinstance(value, Tensor) else tuple(value.outputs)


def cond(
    pred: Any,
    true_fn: Callable[[], Any] | None = None,
    false_fn: Callable[[], Any] | None = None,
    strict: bool = False,
    name: str | None = None,
    fn1: Callable[[], Any] | None = None,
    fn2: Callable[[], Any] | None = None,
) -> Any:
    """``true_fn()`` if ``pred`` else ``false_fn()``, as TF1's ``tf.cond``: only the taken
    branch runs (its assignments too), and both must return the same structure and dtypes.

    A result of one tensor comes back as that tensor unless ``strict`` (TF1's rule). The taken
    branch runs as a whole: operations it returns (``group``, updates) run with its tensors.
    """
    true_fn = true_fn or fn1
    false_fn = false_fn or fn2
    if not callable(true_fn) or not callable(false_fn):
        raise InvalidArgumentError("cond needs true_fn and false_fn, functions of no arguments")
    pred = _typed(pred)
    graph = pred.graph
    with graph.as_default(), graph.name_scope(name or "cond") as scope:
        scope = scope.rstrip("/")
        captures = _Captures(scope)
        true_result, true_out, true_effects = _trace(true_fn, (), scope + "/true", captures)
        false_result, false_out, false_effects = _trace(false_fn, (), scope + "/false", captures)
        _check_branches(true_result, false_result, true_out, false_out)
        branches = (
            Subgraph(tuple(captures.inner), tuple(true_out), tuple(true_effects)),
            Subgraph(tuple(captures.inner), tuple(false_out), tuple(false_effects)),
        )
        op = Cond(pred, captures.outer, branches, control_inputs=captures.control, name="Cond")
    cond_op = op.op if isinstance(op, Tensor) else op
    outputs = iter(_values(op))
    flat = [cond_op if _is_effect(leaf) else next(outputs) for leaf in flatten(true_result)]
    result = pack_sequence_as(true_result, flat)
    if not strict and isinstance(result, list | tuple) and len(result) == 1:
        return result[0]
    return result


def _check_branches(
    true_result: Any, false_result: Any, true_out: list[Tensor], false_out: list[Tensor]
) -> None:
    """Both branches give the same nesting and dtypes, else an error naming both."""
    if not _same_structure(true_result, false_result) or len(true_out) != len(false_out):
        raise InvalidArgumentError(
            f"true_fn and false_fn must return the same structure: true_fn returned "
            f"{_structure_text(true_result)} ({len(true_out)} tensors), false_fn returned "
            f"{_structure_text(false_result)} ({len(false_out)} tensors)",
            _first(false_out or true_out),
        )
    for i, (a, b) in enumerate(zip(true_out, false_out, strict=True)):
        if a.dtype is not None and b.dtype is not None and a.dtype != b.dtype:
            raise DTypeError(
                f"true_fn and false_fn must return the same dtypes: output {i} is "
                f"{a.dtype.name} in true_fn ('{a.name}') and {b.dtype.name} in false_fn "
                f"('{b.name}')",
                a,
            )


def _first(tensors: Sequence[Tensor]) -> Tensor | None:
    """A tensor an error about a branch or body can name (its operation and the user's line)."""
    return tensors[0] if tensors else None


def case(
    pred_fn_pairs: Any,
    default: Callable[[], Any] | None = None,
    exclusive: bool = False,
    strict: bool = False,
    name: str = "case",
) -> Any:
    """The function of the first predicate that holds, else ``default()`` (TF1's ``tf.case``);
    with ``exclusive``, a run where more than one predicate holds is an error."""
    pairs = list(pred_fn_pairs.items()) if isinstance(pred_fn_pairs, dict) else list(pred_fn_pairs)
    if not pairs:
        raise InvalidArgumentError("case needs at least one (predicate, function) pair")
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2 or not callable(pair[1]):
            raise InvalidArgumentError(f"case takes (predicate, function) pairs, got {pair!r}")
    graph = get_default_graph()
    with graph.name_scope(name):
        if default is None:  # TF1: the last pair serves as the default, its predicate checked
            *pairs, (last_pred, last_fn) = pairs
            default = _checked_default(_typed(last_pred), last_fn)
            if not pairs:
                return cond(True, default, default, strict=strict)
        preds = [_typed(p) for p, _ in pairs]
        if exclusive:
            preds = _exclusive(preds)
        return _case_chain(list(zip(preds, (f for _, f in pairs), strict=True)), default, strict)


def _checked_default(pred: Tensor, fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` as ``case``'s default, whose results wait for a check that ``pred`` holds."""

    def default() -> Any:
        result = fn()
        with get_default_graph().control_dependencies([CaseDefaultCheck(pred)]):
            leaves = [leaf if _is_effect(leaf) else identity(leaf) for leaf in flatten(result)]
        return pack_sequence_as(result, leaves)

    return default


class CaseDefaultCheck(Operation):
    """Refuses a run of ``case`` without ``default`` where no predicate holds (as TF1)."""

    op_type = "CaseDefaultCheck"
    pure = False
    changes_state = False
    differentiable = False

    def __init__(self, pred: Any, name: str | None = None):
        super().__init__([pred], name=name)

    def infer(self, pred: Tensor) -> tuple[Shape, DType | None]:
        _check_predicate(pred)
        return pred.shape, pred.dtype

    def compute(self, pred: Any) -> Any:
        if not pred:
            raise InvalidArgumentError(
                "case() was given no default and none of its predicates holds"
            )
        return pred


NotDifferentiable("CaseDefaultCheck")
NotDifferentiable("ExclusivePredicates")


def _case_chain(pairs: list[tuple[Tensor, Callable[[], Any]]], default: Any, strict: bool) -> Any:
    pred, fn = pairs[0]
    if len(pairs) == 1:
        return cond(pred, fn, default, strict=strict)
    return cond(pred, fn, lambda: _case_chain(pairs[1:], default, strict), strict=strict)


class ExclusivePredicates(Operation):
    """Passes the predicates on, refusing a run where more than one of them holds."""

    op_type = "ExclusivePredicates"
    alias_inputs = None
    numeric = True
    differentiable = False

    def infer(self, *preds: Tensor) -> list[tuple[Shape, DType | None]]:
        for pred in preds:
            _check_predicate(pred)
        return [(p.shape, p.dtype) for p in preds]

    def compute(self, *preds: Any) -> tuple[Any, ...]:
        held = [i for i, p in enumerate(preds) if p]
        if len(held) > 1:
            raise InvalidArgumentError(
                f"case(exclusive=True): predicates {held} hold at once; only one may"
            )
        return preds


def _exclusive(preds: list[Tensor]) -> list[Tensor]:
    return list(_outputs(ExclusivePredicates(preds)))


# -- while_loop ----------------------------------------------------------------------------------
class While(Operation):
    """Runs ``body`` on the loop variables while ``cond`` holds (at most ``maximum_iterations``
    times); outputs: the final loop variables, then the kept loop variables of every iteration
    (what the gradient needs; nothing is kept without ``back_prop``)."""

    op_type = "While"
    alias_inputs = None  # a loop that runs zero times gives its inputs back

    def __init__(
        self,
        inputs: Sequence[Tensor],
        count: int,
        cond: Subgraph,
        body: Subgraph,
        maximum_iterations: Tensor | None,
        back_prop: bool,
        control_inputs: Sequence[Node] = (),
        name: str | None = None,
    ):
        self.count = count
        self.cond = cond
        self.body = body
        self.back_prop = back_prop
        self.limited = maximum_iterations is not None
        #: what each iteration keeps for the gradients (``keep_for_gradient``)
        self.saved: list[Tensor] = []
        self.pure = cond.pure() and body.pure()
        self.changes_state = bool(self.writes())
        extra = [maximum_iterations] if maximum_iterations is not None else []
        super().__init__([*inputs, *extra], name=name, control_inputs=control_inputs)

    def infer(self, *inputs: Tensor) -> list[tuple[Shape, DType | None]]:
        specs = [(p.shape, p.dtype) for p in self.body.inputs[: self.count]]
        return [*specs, (None, None)]

    def writes(self) -> tuple[Any, ...]:
        return tuple(dict.fromkeys((*self.cond.writes(), *self.body.writes())))

    def subgraphs(self) -> tuple[Subgraph, ...]:
        return (self.cond, self.body)

    def bind(self, context: Any) -> Callable[..., tuple[Any, ...]]:
        """Compile the condition and the body once; each run loops in Python.

        The body's results go straight to the next iteration, uncopied, unless the loop
        changes state. With ``back_prop`` the loop starts from copies of its initial values,
        and body results that may share memory with captured values are copied: what the
        loop keeps for the gradient is then its own, whatever the run writes later.
        """
        feeds = range(len(self.body.inputs))
        keep = self.back_prop
        test = context.compile(self.cond.outputs, self.cond.inputs, shared_feeds=feeds)
        saved = list(self.saved) if keep else []
        loop_vars = {id(t): j for j, t in enumerate(self.body.inputs[: self.count])}
        computed = [t for t in saved if id(t) not in loop_vars]
        shared = None if self.changes_state else (range(self.count) if keep else feeds)
        step = context.compile(
            [*self.body.outputs, *computed], self.body.inputs, shared_feeds=shared
        )
        count, limited = self.count, self.limited
        # where each kept value comes from: (True, loop variable j) or (False, fetched j)
        sources = [
            (True, loop_vars[id(t)]) if id(t) in loop_vars else (False, count + computed.index(t))
            for t in saved
        ]
        check = self._shape_check()

        def run_while(*values: Any) -> tuple[Any, ...]:
            if limited:
                *values, limit = values
            else:
                limit = None
            loop, captured = list(values[:count]), list(values[count:])
            history: list[tuple[Any, ...]] = []
            i = 0
            while (limit is None or i < limit) and test(*loop, *captured)[0]:
                if keep and i == 0:
                    loop = [np.array(v) for v in loop]
                results = step(*loop, *captured)
                if keep:
                    history.append(tuple(loop[j] if own else results[j] for own, j in sources))
                loop = results[:count]
                if check is not None:
                    check(loop)
                i += 1
            return (*loop, Kept(history))

        return run_while

    def floating_variables(self) -> list[int]:
        """The loop variables a gradient flows into, in the order the gradient loop carries
        their gradients."""
        return [i for i in range(self.count) if _floating(self.outputs[i])]

    def keep_for_gradient(self, tensors: Sequence[Tensor]) -> list[int]:
        """Have each iteration keep ``tensors`` (loop variables as the iteration starts, and
        values inside the body), so that a gradient reads them instead of computing them
        again; their positions among the kept values. Plans compiled from then on keep them."""
        for tensor in tensors:
            if tensor not in self.saved:
                self.saved.append(tensor)
        return [self.saved.index(t) for t in tensors]

    def _shape_check(self) -> Callable[[list[Any]], None] | None:
        """What checks the body's values against the loop variables' shapes: only those whose
        static shape does not already fit (``None`` if none)."""
        checked = [
            (j, inner)
            for j, (out, inner) in enumerate(
                zip(self.body.outputs, self.body.inputs[: self.count], strict=True)
            )
            if not _always_fits(out.shape, inner.shape)
        ]
        if not checked:
            return None

        def check(values: list[Any]) -> None:
            for j, inner in checked:
                if not shape_matches(inner.shape, np.shape(values[j])):
                    raise ShapeError(
                        f"the loop variable '{inner.name}' has shape {fmt(inner.shape)} but the "
                        f"body returned a value of shape {fmt(np.shape(values[j]))}; pass "
                        f"shape_invariants with None for the sizes that change",
                        self,
                    )

        return check


def _always_fits(static: Shape, invariant: Shape) -> bool:
    """Whether every value of the static shape ``static`` has the shape ``invariant``."""
    if invariant is None:
        return True
    if static is None or len(static) != len(invariant):
        return False
    return all(b is None or a == b for a, b in zip(static, invariant, strict=True))


@RegisterGradient("While")
def _while_grad(op: While, *grads: Tensor | None) -> list[Tensor | None]:
    """A ``WhileGrad`` running the body's vector-Jacobian product backwards over the kept
    iterations, carrying the loop variables' gradients and summing the captured tensors'.
    A gradient of the kept values themselves (on the way to second derivatives) seeds each
    iteration's product too."""
    result: list[Tensor | None] = [None] * len(op.inputs)
    count, body_inputs = op.count, op.body.inputs
    loop_vars = op.floating_variables()
    captured = [i for i in range(count, len(body_inputs)) if _floating(op.inputs[i])]
    if not op.back_prop or not loop_vars:
        return result
    kept_grad = grads[count]
    kept_slots = _kept_slots(kept_grad) if kept_grad is not None else []
    scope, graph = op.name + "_grad", op.graph
    seeds = _placeholders_like([body_inputs[i] for i in loop_vars], scope, "grad")
    kept_seeds = _placeholders_like([op.saved[k] for k in kept_slots], scope, "kept_grad")
    sums = _placeholders_like([body_inputs[i] for i in captured], scope, "sum")
    ys = [*(op.body.outputs[i] for i in loop_vars), *(op.saved[k] for k in kept_slots)]
    with graph.name_scope(scope + "/body/"):
        table = _backprop(ys, [*seeds, *kept_seeds], body_inputs)
        carried = [_grad_or_zeros(table, body_inputs[i]) for i in loop_vars]
        carried += [
            s + _grad_or_zeros(table, body_inputs[i]) for s, i in zip(sums, captured, strict=False)
        ]
    fed = (*kept_seeds, *seeds, *sums)
    saved = _read_by_gradient(op.body, Subgraph((*body_inputs, *fed), tuple(carried)))
    read = _reached(carried, (*body_inputs, *saved, *fed))
    loop_inputs = [t for t in body_inputs[:count] if id(t) in read]
    kept = [(op.outputs[count], op.keep_for_gradient([*loop_inputs, *saved]))]
    if kept_grad is not None:
        kept.append((kept_grad, kept_slots))
    fn = Subgraph(
        (*loop_inputs, *saved, *kept_seeds, *body_inputs[count:], *seeds, *sums), tuple(carried)
    )
    start = [
        *(grads[i] if grads[i] is not None else zeros_like(op.outputs[i]) for i in loop_vars),
        *(zeros_like(op.inputs[i]) for i in captured),
    ]
    with graph.name_scope(scope + "/"):
        grad_op = WhileGrad(kept, op.inputs[count : len(body_inputs)], start, fn, backwards=True)
    for i, out in zip((*loop_vars, *captured), grad_op.outputs, strict=False):
        result[i] = out
    return result


def _reached(outputs: Sequence[Tensor], inputs: Sequence[Tensor]) -> set[int]:
    """The ids of the ``inputs`` that computing ``outputs`` reads, fed with ``inputs``."""
    fed = {t.op for t in inputs}
    order = topological_order(outputs, include_control=True, stop_at=fed)
    reached = {id(op) for op in order}
    return {id(t) for t in inputs if id(t.op) in reached}


def _read_by_gradient(body: Subgraph, vjp: Subgraph) -> list[Tensor]:
    """The body's values that the gradient's own operations read (single outputs, which a
    sub-graph can be fed): kept by the loop, the gradient need not compute them again."""
    forward = {id(op) for op in body.operations()}
    found: dict[int, Tensor] = {}
    for op in vjp.operations():
        if id(op) in forward:
            continue
        for tensor in op.inputs:
            if id(tensor.op) in forward and len(tensor.op.outputs) == 1:
                found.setdefault(id(tensor), tensor)
    return list(found.values())


def _kept_slots(grad: Tensor) -> list[int]:
    """The slots of kept values that ``grad`` (a gradient of a ``While``'s or ``WhileGrad``'s
    kept values) holds for every iteration."""
    op = grad.op
    if isinstance(op, WhileGrad):
        return list(op.emits[grad.value_index - op.carries])
    if isinstance(op, AddN):
        return sorted(set().union(*(_kept_slots(t) for t in op.inputs)))
    raise GraphError(f"'{grad.name}' is not a gradient of the values a loop kept", op)


class WhileGrad(Operation):
    """A loop over the iterations that a ``While`` kept: the gradient of a ``While``, and of a
    ``WhileGrad`` (second derivatives).

    Inputs: kept values (``Kept`` tensors, each read at its ``kept_slots``), captured tensors
    and the carried values' start. Each iteration, last first when ``backwards``, feeds ``fn``
    that iteration's kept values, the captured tensors and the carried values; ``fn`` gives
    the next carried values, then the values ``emits`` names, which are kept per iteration.
    Outputs: the final carried values, one ``Kept`` per ``emits`` entry (a dict of slot to
    value per iteration) and the carried values each iteration started from (kept only once
    this op's own gradient needs them).
    """

    op_type = "WhileGrad"
    alias_inputs = None

    def __init__(
        self,
        kept: Sequence[tuple[Tensor, Sequence[int]]],
        captured: Sequence[Tensor],
        start: Sequence[Tensor],
        fn: Subgraph,
        backwards: bool,
        emits: Sequence[Sequence[int]] = (),
        name: str | None = None,
    ):
        self.kept_slots = tuple(tuple(slots) for _, slots in kept)
        self.captures = len(captured)
        self.carries = len(start)
        self.fn = fn
        self.backwards = backwards
        self.emits = tuple(tuple(keys) for keys in emits)
        #: whether each iteration keeps the carried values it starts from (``keep_carried``)
        self.keeps_carried = False
        self.pure = fn.pure()
        super().__init__([*(t for t, _ in kept), *captured, *start], name=name)

    def infer(self, *inputs: Tensor) -> list[tuple[Shape, DType | None]]:
        carried = inputs[len(inputs) - self.carries :]
        opaque = [(None, None)] * (len(self.emits) + 1)
        return [*((t.shape, t.dtype) for t in carried), *opaque]

    def writes(self) -> tuple[Any, ...]:
        return self.fn.writes()

    def subgraphs(self) -> tuple[Subgraph, ...]:
        return (self.fn,)

    def keep_carried(self) -> None:
        """Have each iteration keep the carried values it starts from (for this op's
        gradient); plans compiled from then on keep them."""
        self.keeps_carried = True

    def bind(self, context: Any) -> Callable[..., tuple[Any, ...]]:
        return self.bind_outputs(context, (True,) * len(self.outputs))

    def bind_outputs(self, context: Any, used: Sequence[bool]) -> Callable[..., tuple[Any, ...]]:
        """The kernel for a plan that reads only the outputs marked in ``used``: a carried
        value that it does not read and that nothing else depends on (the gradient sum of a
        captured tensor nobody asked for: a ``dynamic_rnn``'s inputs, when training) is not
        computed; it comes back as it started."""
        reads = [(j, k) for j, slots in enumerate(self.kept_slots) for k in slots]
        kept_count, captures, carries = len(self.kept_slots), self.captures, self.carries
        emits, keep, backwards = self.emits, self.keeps_carried, self.backwards
        # results go uncopied to the next iteration, unless they may be captured values
        first, last = len(reads), len(reads) + captures
        shared = [j for j in range(len(self.fn.inputs)) if not first <= j < last]
        unread = self._unread_carries(used, last)
        fn = self._compile_fn(context, unread, last, None if self.writes() else shared)

        def run_while_grad(*values: Any) -> tuple[Any, ...]:
            kept = [v.items for v in values[:kept_count]]
            captured = values[kept_count : kept_count + captures]
            carried = list(values[kept_count + captures :])
            if keep:  # the first start is kept: a later write must not change it
                carried = [np.array(v) for v in carried]
            n = len(kept[0]) if kept else 0
            emitted: list[list[Any]] = [[None] * n for _ in emits]
            started: list[Any] = [None] * n if keep else []
            for i in reversed(range(n)) if backwards else range(n):
                if keep:
                    started[i] = tuple(carried)
                out = fn(*[kept[j][i][k] for j, k in reads], *captured, *carried)
                carried = out[:carries]
                at = carries
                for e, keys in enumerate(emits):
                    emitted[e][i] = dict(zip(keys, out[at : at + len(keys)], strict=True))
                    at += len(keys)
            return (*carried, *(Kept(e) for e in emitted), Kept(started))

        return run_while_grad

    def _unread_carries(self, used: Sequence[bool], first: int) -> set[int]:
        """The carried values (by position) that need not be computed: not read by the plan
        (``used``), not kept for this op's gradient, and read by no other value ``fn`` gives
        (``first``: where the carried values start among ``fn``'s inputs)."""
        if self.keeps_carried or self.writes():
            return set()
        unread = {j for j in range(self.carries) if not used[j]}
        changed = True
        while changed:
            live = [out for m, out in enumerate(self.fn.outputs) if m not in unread]
            needed = _reached(live, self.fn.inputs)
            still = {j for j in unread if id(self.fn.inputs[first + j]) not in needed}
            changed, unread = still != unread, still
        return unread

    def _compile_fn(
        self, context: Any, unread: set[int], first: int, shared: Sequence[int] | None
    ) -> Callable[..., Any]:
        """``fn`` compiled without the ``unread`` carried values (fed from ``first`` on): the
        function returned gives each of them back as it was fed."""
        outputs = self.fn.outputs
        computed = [m for m in range(len(outputs)) if m not in unread]
        run = context.compile([outputs[m] for m in computed], self.fn.inputs, shared_feeds=shared)
        if not unread:
            return run

        def run_without_unread(*values: Any) -> list[Any]:
            out = [values[first + m] if m in unread else None for m in range(len(outputs))]
            for m, value in zip(computed, run(*values), strict=True):
                out[m] = value
            return out

        return run_without_unread


@RegisterGradient("WhileGrad")
def _while_grad_grad(op: WhileGrad, *grads: Tensor | None) -> list[Tensor | None]:
    """Another ``WhileGrad``, running the other way: it carries the gradients of ``op``'s
    carried values, sums its captured tensors' and emits its kept values'."""
    kept_count, captures, carries = len(op.kept_slots), op.captures, op.carries
    fn = op.fn
    reads = sum(len(slots) for slots in op.kept_slots)
    x_inputs = fn.inputs[:reads]
    fn_captured = fn.inputs[reads : reads + captures]
    fn_carried = fn.inputs[reads + captures :]
    captured_inputs = op.inputs[kept_count : kept_count + captures]
    floats = [j for j in range(carries) if _floating(fn_carried[j])]
    summed = [j for j in range(captures) if _floating(captured_inputs[j])]
    scope, graph = op.name + "_grad", op.graph
    lambdas = _placeholders_like([fn_carried[j] for j in floats], scope, "grad")
    ys, seeds = [*(fn.outputs[j] for j in floats)], [*lambdas]
    op.keep_carried()
    kept = [
        *zip(op.inputs[:kept_count], op.kept_slots, strict=False),
        (op.outputs[-1], tuple(range(carries))),
    ]
    extra: list[Tensor] = []
    at = carries
    cotangents = [
        *zip(op.emits, grads[carries:-1], strict=False),
        (tuple(range(carries)), grads[-1]),
    ]
    for e, (keys, grad) in enumerate(cotangents):
        values = fn.outputs[at : at + len(keys)] if e < len(op.emits) else fn_carried
        at += len(keys)
        if grad is None:
            continue
        slots = _kept_slots(grad)
        targets = [values[keys.index(k)] for k in slots]
        placeholders = _placeholders_like(targets, scope, "kept_grad")
        ys += targets
        seeds += placeholders
        extra += placeholders
        kept.append((grad, slots))
    sums = _placeholders_like([fn_captured[j] for j in summed], scope, "sum")
    with graph.name_scope(scope + "/body/"):
        table = _backprop(ys, seeds, fn.inputs, stop_gradients=x_inputs)
        carried = [_grad_or_zeros(table, fn_carried[j]) for j in floats]
        carried += [
            s + _grad_or_zeros(table, fn_captured[j]) for s, j in zip(sums, summed, strict=False)
        ]
        emits, emitted = _emitted(op.kept_slots, x_inputs, table)
    start = [
        *(grads[j] if grads[j] is not None else zeros_like(op.outputs[j]) for j in floats),
        *(zeros_like(captured_inputs[j]) for j in summed),
    ]
    inputs = (*x_inputs, *fn_carried, *extra, *fn_captured, *lambdas, *sums)
    with graph.name_scope(scope + "/"):
        grad_op = WhileGrad(
            kept,
            captured_inputs,
            start,
            Subgraph(inputs, (*carried, *emitted)),
            backwards=not op.backwards,
            emits=emits,
        )
    outputs = grad_op.outputs
    result: list[Tensor | None] = [*outputs[len(carried) :][:kept_count]]
    result += [None] * captures
    for k, j in enumerate(summed):
        result[kept_count + j] = outputs[len(floats) + k]
    result += [None] * carries
    for k, j in enumerate(floats):
        result[kept_count + captures + j] = outputs[k]
    return result


def _emitted(
    kept_slots: Sequence[Sequence[int]], x_inputs: Sequence[Tensor], table: dict
) -> tuple[list[list[int]], list[Tensor]]:
    """For each kept input: the slots whose values are floats, and their gradients."""
    emits: list[list[int]] = []
    values: list[Tensor] = []
    at = 0
    for slots in kept_slots:
        xs = x_inputs[at : at + len(slots)]
        at += len(slots)
        floating = [(k, x) for k, x in zip(slots, xs, strict=True) if _floating(x)]
        emits.append([k for k, _ in floating])
        values += [_grad_or_zeros(table, x) for _, x in floating]
    return emits, values


def while_loop(
    cond: Callable[..., Any],
    body: Callable[..., Any],
    loop_vars: Any,
    shape_invariants: Any = None,
    parallel_iterations: int = 10,
    back_prop: bool = True,
    swap_memory: bool = False,
    name: str | None = None,
    maximum_iterations: Any = None,
    return_same_structure: bool = False,
) -> Any:
    """Repeat ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``, as TF1's
    ``tf.while_loop``; the number of iterations is known only when the graph runs.

    A loop variable keeps its shape unless its ``shape_invariants`` entry leaves sizes
    ``None``; ``maximum_iterations`` stops the loop; gradients flow to the initial loop
    variables and to tensors the body uses from outside (with ``back_prop``).
    """
    if not callable(cond) or not callable(body):
        raise InvalidArgumentError("while_loop needs cond and body functions")
    single = not isinstance(loop_vars, list | tuple) or (
        len(loop_vars) == 1 and not return_same_structure
    )
    structure = list(loop_vars) if isinstance(loop_vars, list | tuple) else [loop_vars]
    if hasattr(loop_vars, "_fields"):
        structure = loop_vars
    graph = get_default_graph()
    with graph.name_scope(name or "while") as scope:
        scope = scope.rstrip("/")
        initial = [_typed(v) for v in flatten(structure)]
        if not initial:
            raise InvalidArgumentError("while_loop needs at least one loop variable")
        invariants = _invariants(shape_invariants, structure, initial)
        with graph.name_scope(scope + "/"), graph.control_dependencies(None):
            inner = [
                Placeholder(t.dtype, s, name="loop_var")
                for t, s in zip(initial, invariants, strict=True)
            ]
        args = pack_sequence_as(structure, inner)
        captures = _Captures(scope)
        pred_out = _loop_part(cond, args, inner, scope + "/cond", captures)[1]
        _check_loop_predicate(pred_out)
        body_result, body_out = _loop_part(body, args, inner, scope + "/body", captures)
        body_result = _body_structure(body_result, structure)
        _check_body(body_result, structure, body_out, inner)
        feeds = (*inner, *captures.inner)
        limit = None
        if maximum_iterations is not None:
            limit = cast(convert_to_tensor(maximum_iterations), "int64")
        op = While(
            [*initial, *captures.outer],
            len(initial),
            Subgraph(feeds, tuple(pred_out)),
            Subgraph(feeds, tuple(body_out)),
            limit,
            back_prop,
            control_inputs=captures.control,
            name="While",
        )
    outputs = _outputs(op)[: len(initial)]
    result = pack_sequence_as(structure, outputs)
    if single and not return_same_structure:
        return result[0] if isinstance(result, list | tuple) and len(result) == 1 else result
    if isinstance(loop_vars, tuple) and not hasattr(loop_vars, "_fields"):
        return tuple(result)
    return result


def _loop_part(
    fn: Callable[..., Any], args: Any, inner: list[Tensor], scope: str, captures: _Captures
) -> tuple[Any, list[Tensor]]:
    """Trace a loop's cond or body; they return tensors, not operations."""
    result, flat, effects = _trace(lambda *_: fn(*args), inner, scope, captures)
    if effects:
        raise InvalidArgumentError(
            f"a loop's cond and body return tensors, but {scope.rsplit('/', 1)[-1]} returned "
            f"the operation {effects[0].op_type} '{effects[0].name}'; return a tensor that "
            "depends on it (with control_dependencies)"
        )
    return result, flat


def _invariants(shape_invariants: Any, structure: Any, initial: list[Tensor]) -> list[Shape]:
    """Each loop variable's shape inside the loop: its invariant, else its initial shape."""
    if shape_invariants is None:
        return [t.shape for t in initial]
    flat = _flatten_shapes(shape_invariants)
    if len(initial) == 1 and len(flat) != 1:
        flat = [shape_invariants]
    if len(flat) != len(initial):
        raise InvalidArgumentError(
            f"shape_invariants gives {len(flat)} shapes for {len(initial)} loop variables"
        )
    shapes: list[Shape] = []
    for t, inv in zip(initial, flat, strict=True):
        inv = _as_shape(inv)
        if inv is not None and t.shape is not None and not _compatible(t.shape, inv):
            raise ShapeError(
                f"the loop variable '{t.name}' of shape {fmt(t.shape)} does not fit its "
                f"shape invariant {fmt(inv)}",
                t,
            )
        shapes.append(inv)
    return shapes


def _flatten_shapes(structure: Any) -> list[Any]:
    """Leaves of a structure of shapes (a shape is a TensorShape, or a list of sizes)."""
    if hasattr(structure, "dims") or structure is None or _is_sizes(structure):
        return [structure]
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in _flatten_shapes(structure[key])]
    return [leaf for item in structure for leaf in _flatten_shapes(item)]


def _is_sizes(value: Any) -> bool:
    """A shape written as sizes: a tuple (``()`` for scalars) or a non-empty list of ints or
    ``None``s (an empty list is an empty structure of loop variables)."""
    if not isinstance(value, list | tuple) or (isinstance(value, list) and not value):
        return False
    return all(isinstance(d, int | type(None)) for d in value)


def _as_shape(value: Any) -> Shape:
    if value is None:
        return None
    dims = value.dims if hasattr(value, "dims") else value
    return None if dims is None else tuple(None if d is None else int(d) for d in dims)


def _compatible(shape: tuple[Any, ...], invariant: tuple[Any, ...]) -> bool:
    return len(shape) == len(invariant) and all(
        b is None or a is None or a == b for a, b in zip(shape, invariant, strict=True)
    )


def _check_loop_predicate(pred_out: list[Tensor]) -> None:
    if len(pred_out) != 1:
        raise InvalidArgumentError(
            f"the loop's cond must return one boolean scalar, got {len(pred_out)} values",
            _first(pred_out),
        )
    try:
        _check_predicate(pred_out[0])
    except ChainruleError as err:
        raise with_node(err, pred_out[0]) from None


def _body_structure(result: Any, structure: Any) -> Any:
    """TF1 accepts a bare tensor from the body of a one-variable loop."""
    if len(flatten(structure)) == 1 and not _is_sequence(result) and _is_sequence(structure):
        return type(structure)([result]) if not hasattr(structure, "_fields") else result
    if isinstance(result, tuple) and isinstance(structure, list) and not hasattr(result, "_fields"):
        return list(result)
    return result


def _check_body(result: Any, structure: Any, outputs: list[Tensor], inner: list[Tensor]) -> None:
    """The body returns the loop variables' structure, dtypes and (invariant) shapes."""
    if not _same_structure(result, structure) or len(outputs) != len(inner):
        raise InvalidArgumentError(
            f"the loop body must return the loop variables' structure "
            f"{_structure_text(structure)} ({len(inner)} tensors), but returned "
            f"{_structure_text(result)} ({len(outputs)} tensors)",
            _first(outputs),
        )
    for out, var in zip(outputs, inner, strict=True):
        if out.dtype is not None and var.dtype is not None and out.dtype != var.dtype:
            raise DTypeError(
                f"the loop body returned {out.dtype.name} for the loop variable "
                f"'{var.name}' of dtype {var.dtype.name}",
                out,
            )
        if (
            out.shape is not None
            and var.shape is not None
            and not _compatible(out.shape, var.shape)
        ):
            raise ShapeError(
                f"the loop body changes the shape of the loop variable '{var.name}' from "
                f"{fmt(var.shape)} to {fmt(out.shape)}; pass shape_invariants with None "
                f"for the sizes that change",
                out,
            )


# -- functional ops on the loop --------------------------------------------------------------------
def _first_dim(elems_flat: list[Tensor]) -> Tensor:
    return gather(shape(elems_flat[0]), 0)


def loop_and_stack(
    step: Callable[[Tensor, Any], tuple[Any, Any]],
    elems: Any,
    carry: Any,
    reverse: bool,
    dtype: Any,
    name: str,
    back_prop: bool = True,
) -> tuple[Any, Any]:
    """Run ``carry, out = step(elems[i], carry)`` over ``i`` in a ``while_loop`` (backwards
    with ``reverse``); the final carry and the outs, of the dtypes ``dtype`` (elems' when
    ``None``), each stacked along a new first axis (an empty list when ``step`` gives
    ``None``). What ``map_fn``, ``scan``, the folds and ``dynamic_rnn`` run on; without
    ``back_prop`` no gradient goes through the loop, and it keeps nothing for one."""
    graph = get_default_graph()
    with graph.name_scope(name):
        elems_flat = [_typed(e) for e in flatten(elems)]
        n = _first_dim(elems_flat)
        out_dtypes = flatten(dtype) if dtype is not None else [e.dtype for e in elems_flat]
        carry_flat = [_typed(c) for c in flatten(carry)]
        accumulators = [_empty(dt) for dt in out_dtypes]
        shapes_of = [convert_to_tensor(np.zeros([0], np.int32)) for _ in out_dtypes]
        out_shapes: list[Shape] = [None] * len(out_dtypes)

        def body(i: Tensor, carry_vars: list[Tensor], accs: list[Tensor], sizes: list[Tensor]):
            index = n - 1 - i if reverse else i
            element = pack_sequence_as(elems, [gather(e, index) for e in elems_flat])
            new_carry, out = step(element, pack_sequence_as(carry, carry_vars))
            new_carry_flat = [_typed(c) for c in flatten(new_carry)]
            if out is None:
                return i + 1, new_carry_flat, accs, sizes
            out_flat = [convert_to_tensor(o) for o in flatten(out)]
            if len(out_flat) != len(accs):
                raise InvalidArgumentError(
                    f"{name}: fn returned {len(out_flat)} tensors, but dtype names "
                    f"{len(accs)}; pass dtype with fn's output structure"
                )
            for k, (o, acc) in enumerate(zip(out_flat, accs, strict=True)):
                if o.dtype is not None and o.dtype != acc.dtype:
                    raise DTypeError(
                        f"{name}: fn returned {o.dtype.name} where {acc.dtype.name} was "
                        "expected; pass dtype= with fn's output dtypes",
                        o,
                    )
                out_shapes[k] = o.shape
            new_accs = [Append(a, o) for a, o in zip(accs, out_flat, strict=True)]
            new_sizes = [  # what _restack needs: only the sizes the graph does not know
                s if _fully_known(o.shape) else shape(o)
                for o, s in zip(out_flat, sizes, strict=True)
            ]
            return i + 1, new_carry_flat, new_accs, new_sizes

        start_t = convert_to_tensor(np.int32(0))
        invariants = [
            start_t.shape,
            [c.shape for c in carry_flat],
            [(None,) for _ in accumulators],
            [(None,) for _ in shapes_of],
        ]
        _, carry_final, accs, sizes = while_loop(
            lambda i, *_: i < cast(n, int32),
            body,
            [start_t, carry_flat, accumulators, shapes_of],
            shape_invariants=invariants,
            back_prop=back_prop,
            return_same_structure=True,
        )
        stacked = [
            _restack(a, s, known) for a, s, known in zip(accs, sizes, out_shapes, strict=True)
        ]
    return pack_sequence_as(carry, carry_final), stacked


def _fully_known(static: Shape) -> bool:
    return static is not None and all(d is not None for d in static)


def _empty(dt: Any) -> Tensor:
    return convert_to_tensor(np.zeros([0], as_dtype(dt).np))


def _restack(acc: Tensor, size: Tensor, known: Shape) -> Tensor:
    """The flat accumulator as ``[n, *element shape]``."""
    if known is None:
        return reshape(acc, concat([[-1], size], 0))
    return reshape(acc, [-1, *(gather(size, k) if d is None else d for k, d in enumerate(known))])


def map_fn(
    fn: Callable[[Any], Any],
    elems: Any,
    dtype: Any = None,
    parallel_iterations: Any = None,
    back_prop: bool = True,
    swap_memory: bool = False,
    infer_shape: bool = True,
    name: str | None = None,
) -> Any:
    """``fn`` applied to each slice ``elems[i]`` along the first axis, results stacked
    (TF1's ``tf.map_fn``; ``dtype`` gives fn's output dtypes when they differ from elems')."""
    out_structure = dtype if dtype is not None else elems
    _, stacked = loop_and_stack(
        lambda x, carry: (carry, fn(x)), elems, [], False, dtype, name or "map", back_prop
    )
    return pack_sequence_as(out_structure, stacked)


def scan(
    fn: Callable[[Any, Any], Any],
    elems: Any,
    initializer: Any = None,
    parallel_iterations: Any = None,
    back_prop: bool = True,
    swap_memory: bool = False,
    infer_shape: bool = True,
    reverse: bool = False,
    name: str | None = None,
) -> Any:
    """Every ``a = fn(a, elems[i])``, stacked (TF1's ``tf.scan``); without ``initializer``
    the first element starts the scan and is the first result."""
    if initializer is None:
        return _scan_from_first(fn, elems, reverse, name or "scan", back_prop)
    dtypes = [_typed(a).dtype for a in flatten(initializer)]

    def step(x: Any, a: Any) -> tuple[Any, Any]:
        new = fn(a, x)
        return new, new

    _, stacked = loop_and_stack(
        step, elems, initializer, reverse, dtypes, name or "scan", back_prop
    )
    if reverse:  # result i belongs to element i
        stacked = [_reversed(t) for t in stacked]
    return pack_sequence_as(initializer, stacked)


def _reversed(t: Tensor) -> Tensor:
    """``t`` with its first axis reversed."""
    n = _first_dim([t])
    return gather(t, array_ops.range(n - 1, -1, -1))


def _scan_from_first(
    fn: Callable[[Any, Any], Any], elems: Any, reverse: bool, name: str, back_prop: bool
) -> Any:
    first = pack_sequence_as(elems, [_edge(e, reverse) for e in flatten(elems)])
    rest = pack_sequence_as(elems, [_rest(e, reverse) for e in flatten(elems)])
    scanned = scan(fn, rest, first, back_prop=back_prop, reverse=reverse, name=name)
    joined = [
        concat([_expand(f), s], 0) if not reverse else concat([s, _expand(f)], 0)
        for f, s in zip(flatten(first), flatten(scanned), strict=True)
    ]
    return pack_sequence_as(elems, joined)


def _edge(e: Any, last: bool) -> Tensor:
    e = convert_to_tensor(e)
    return gather(e, _first_dim([e]) - 1) if last else gather(e, 0)


def _rest(e: Any, last: bool) -> Tensor:
    e = convert_to_tensor(e)
    return e[:-1] if last else e[1:]


def _expand(t: Tensor) -> Tensor:
    return expand_dims(t, 0)


def foldl(
    fn: Callable[[Any, Any], Any],
    elems: Any,
    initializer: Any = None,
    parallel_iterations: Any = None,
    back_prop: bool = True,
    swap_memory: bool = False,
    name: str | None = None,
) -> Any:
    """``a = fn(a, elems[i])`` from the first element to the last; the final ``a`` (TF1)."""
    return _fold(fn, elems, initializer, False, name or "foldl", back_prop)


def foldr(
    fn: Callable[[Any, Any], Any],
    elems: Any,
    initializer: Any = None,
    parallel_iterations: Any = None,
    back_prop: bool = True,
    swap_memory: bool = False,
    name: str | None = None,
) -> Any:
    """``a = fn(a, elems[i])`` from the last element to the first; the final ``a`` (TF1)."""
    return _fold(fn, elems, initializer, True, name or "foldr", back_prop)


def _fold(
    fn: Callable[[Any, Any], Any],
    elems: Any,
    initializer: Any,
    reverse: bool,
    name: str,
    back_prop: bool,
) -> Any:
    if initializer is None:
        initializer = pack_sequence_as(elems, [_edge(e, reverse) for e in flatten(elems)])
        elems = pack_sequence_as(elems, [_rest(e, reverse) for e in flatten(elems)])
    step = lambda x, a: (fn(a, x), None)  # noqa: E731
    carry, _ = loop_and_stack(step, elems, initializer, reverse, [], name, back_prop)
    return carry
