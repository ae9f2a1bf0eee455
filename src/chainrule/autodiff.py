"""Symbolic reverse-mode differentiation, as TF1's ``gradients``.

Gradient ops are added to the graph: only operations on a path from ``xs`` to ``ys`` are
visited, in reverse topological order; the contributions reaching each tensor are summed
(``AddN``), and each op's gradient function gets the gradients of all its outputs at once.
Because gradients are ordinary tensors, gradients of gradients work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import ChainruleError, GraphError, InvalidArgumentError, ShapeError, describe
from .graph import Node, Tensor, topological_order
from .ops import array_ops, control_flow_ops, shape_ops, slice_ops
from .ops.base import convert_to_tensor
from .ops.math_ops import add_n
from .ops.registry import gradient_function
from .ops.shapes import fmt, is_known

__all__ = ["gradients", "compute_gradients", "hessians"]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _flows_into(tensor: Tensor) -> bool:
    """Gradients flow into floating (or not yet typed) tensors only."""
    return tensor.dtype is None or tensor.dtype.is_floating


def _initial_grad(y: Tensor, grad_y: Any) -> Tensor:
    if grad_y is None:
        if y.dtype is not None and not y.dtype.is_floating:
            raise InvalidArgumentError("cannot differentiate a non-floating output", y)
        return array_ops.ones_like(y)
    return convert_to_tensor(grad_y, graph=y.graph, dtype_hint=y.dtype)


def _ops_between(order: list[Node], xs: Sequence[Tensor] | None) -> set[Node]:
    """Operations of ``order`` (the ancestors of ys) that depend on some x (all of them when
    xs is None), with the operations of the xs themselves."""
    if xs is None:
        return set(order)
    reach = {x.op for x in xs}
    reached_tensors = set(xs)
    for op in order:
        if op not in reach and any(t in reached_tensors for t in op.inputs):
            reach.add(op)
            reached_tensors.update(op.outputs)
    return reach


def _sum(contributions: list[Tensor]) -> Tensor:
    if len(contributions) > 1:
        contributions = slice_ops.merge_slice_gradients(contributions)
    return contributions[0] if len(contributions) == 1 else add_n(contributions)


def backprop(
    ys: Sequence[Tensor],
    grad_ys: Sequence[Any],
    xs: Sequence[Tensor] | None = None,
    stop_gradients: Sequence[Tensor] = (),
) -> dict[Tensor, Tensor]:
    """d(sum of ys)/d(tensor) for every tensor between xs and ys, as gradient tensors.

    Contributions are pending per tensor; operations are visited in reverse topological
    order, and each gradient function is called once per operation, with the summed
    gradients of its outputs (``None`` for an output no gradient reaches).
    """
    graph = ys[0].graph
    order = topological_order(ys)
    between = _ops_between(order, xs)
    stop = set(stop_gradients)
    pending: dict[Tensor, list[Tensor]] = {}
    table: dict[Tensor, Tensor] = {}
    with graph.as_default():
        for y, grad_y in zip(ys, grad_ys, strict=True):
            pending.setdefault(y, []).append(_initial_grad(y, grad_y))
        for op in reversed(order):
            if op not in between:
                continue
            grads: list[Tensor | None] = []
            for out in op.outputs:
                contributions = pending.pop(out, None)
                if contributions is None:
                    grads.append(None)
                    continue
                grad = _sum(contributions)
                table[out] = grad
                grads.append(None if out in stop else grad)
            if any(g is not None for g in grads):
                _propagate(op, grads, between, pending)
    return table


def _propagate(op: Node, grads: list[Tensor | None], between: set[Node], pending: dict) -> None:
    wanted = [t.op in between and _flows_into(t) for t in op.inputs]
    if not any(wanted):
        return
    fn = gradient_function(op)
    if fn is None:
        return
    input_grads = _call_gradient_function(fn, op, grads)
    if len(op.inputs) == 1 and not isinstance(input_grads, list | tuple):
        input_grads = [input_grads]
    if len(input_grads) != len(op.inputs):
        raise GraphError(
            f"the gradient function of {op.op_type} returned {len(input_grads)} gradients "
            f"for {len(op.inputs)} inputs",
            op,
        )
    for inp, inp_grad, want in zip(op.inputs, input_grads, wanted, strict=True):
        if inp_grad is None or not want:
            continue
        inp_grad = convert_to_tensor(inp_grad, graph=op.graph, dtype_hint=inp.dtype)
        _require_input_shape(op, inp, inp_grad)
        pending.setdefault(inp, []).append(inp_grad)


def _call_gradient_function(fn: Any, op: Node, grads: list[Tensor | None]) -> Any:
    """``fn(op, *grads)``; a plain Python error inside it is reported naming the op."""
    try:
        return fn(op, *grads)
    except ChainruleError:
        raise
    except Exception as err:
        raise GraphError(
            f"the gradient function of {op.op_type} raised {type(err).__name__}: {err}", op
        ) from err


def _require_input_shape(node: Node, inp: Tensor, inp_grad: Tensor) -> None:
    """A gradient has its input's shape; checked where both are known when the graph is built."""
    if is_known(inp.shape) and is_known(inp_grad.shape) and inp.shape != inp_grad.shape:
        raise ShapeError(
            f"the gradient function of {node.op_type} returned a gradient of shape "
            f"{fmt(inp_grad.shape)} for its input '{inp.name}' of shape {fmt(inp.shape)}; "
            f"a gradient has the shape of its input",
            node,
        )


def gradients(
    ys: Any,
    xs: Any,
    grad_ys: Any = None,
    name: str = "gradients",
    stop_gradients: Any = None,
    **unused_tf1_options: Any,
) -> list[Tensor | None]:
    """Symbolic d(sum(ys))/dx for each x in ``xs``; ``None`` where x does not affect ys.

    ``grad_ys`` weights each y (default: ones); ``stop_gradients`` are treated as constants.
    """
    ys_list = _ys_of(ys, "gradients")
    xs_list = _as_list(xs)
    for x in xs_list:
        if not isinstance(x, Tensor):
            raise InvalidArgumentError(f"gradients() needs tensors as xs, got {x!r}")
        _require_same_graph(ys_list[0], x)
    grad_list = _as_list(grad_ys) if grad_ys is not None else [None] * len(ys_list)
    if len(grad_list) != len(ys_list):
        raise InvalidArgumentError(f"{len(grad_list)} grad_ys for {len(ys_list)} ys")
    graph = ys_list[0].graph
    with graph.as_default(), graph.name_scope(name):
        table = backprop(ys_list, grad_list, xs_list, _as_list(stop_gradients or []))
    return [table.get(x) for x in xs_list]


def _ys_of(ys: Any, caller: str) -> list[Tensor]:
    """The ys of ``gradients()`` or ``hessians()`` as nodes of one graph (at least one)."""
    ys_list = [convert_to_tensor(y) for y in _as_list(ys)]
    if not ys_list:
        raise InvalidArgumentError(f"{caller}() needs at least one y to differentiate, got none")
    for y in ys_list[1:]:
        _require_same_graph(ys_list[0], y)
    return ys_list


def _require_same_graph(first: Tensor, other: Tensor) -> None:
    """A derivative exists only within one graph: nodes of two graphs are a mistake."""
    if other.graph is not first.graph:
        raise GraphError(
            f"it is in another graph than {describe(first)}, so neither can be differentiated "
            f"with respect to the other; build both in the same graph",
            other,
        )


def hessians(
    ys: Any, xs: Any, name: str = "hessians", **unused_tf1_options: Any
) -> list[Tensor | None]:
    """TF1's ``hessians``: for each x, the second derivatives of sum(ys), shaped
    ``x.shape + x.shape``, built as gradients of each element of the gradient.

    ``None`` where x does not affect ys; an x whose shape is known only at run time gets a
    loop over the elements of its gradient.
    """
    ys_list = _ys_of(ys, "hessians")
    graph = ys_list[0].graph
    with graph.as_default(), graph.name_scope(name):
        firsts = gradients(ys_list, xs)
        return [
            None if first is None else _hessian_of(first, x)
            for first, x in zip(firsts, _as_list(xs), strict=True)
        ]


def _hessian_of(first: Tensor, x: Tensor) -> Tensor:
    """Stack d(first[i])/dx for each element i of the gradient ``first`` of x: one gradient
    per element when x's shape is fully known, else a loop over the elements at run time."""
    shape = x.shape
    if shape is None or any(d is None for d in shape):
        return _hessian_at_run_time(first, x)
    size = 1
    for d in shape:
        size *= d
    rows = slice_ops.unstack(shape_ops.reshape(first, [size]), num=size)
    second = [_gradient_or_zeros(row, x) for row in rows]
    return shape_ops.reshape(array_ops.stack(second), list(shape) * 2)


def _hessian_at_run_time(first: Tensor, x: Tensor) -> Tensor:
    """The Hessian of an x whose size is known only at run time, as TF1 builds it: a loop
    over the flattened gradient whose body differentiates entry j, rows stacked and reshaped
    to ``shape(x) + shape(x)``."""
    flat = shape_ops.reshape(first, [-1])

    def row(j: Tensor) -> Tensor:
        return shape_ops.reshape(_gradient_or_zeros(slice_ops.gather(flat, j), x), [-1])

    rows = control_flow_ops.map_fn(
        row, array_ops.range(shape_ops.size(x)), dtype=x.dtype, name="hessian_rows"
    )
    x_shape = shape_ops.shape(x)
    return shape_ops.reshape(rows, array_ops.concat([x_shape, x_shape], 0))


def _gradient_or_zeros(y: Tensor, x: Tensor) -> Tensor:
    """dy/dx, or zeros like x where y does not depend on x (a constant gradient)."""
    grad = gradients(y, x)[0]
    return array_ops.zeros_like(x) if grad is None else grad


def compute_gradients(loss: Tensor) -> dict[Tensor, Tensor]:
    """The form of the Deep Learning From Scratch series: ``{node: d(loss)/d(node)}`` for every node the loss depends on."""
    graph = loss.graph
    with graph.as_default(), graph.name_scope("gradients"):
        return backprop([loss], [None])


# Conditionals and loops build their gradients with ``backprop`` on their sub-graphs; the ops
# layer may not import this module, so it is handed down.
control_flow_ops.set_differentiator(backprop)
