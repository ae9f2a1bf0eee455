"""Symbolic shapes: each term's shape with unknown sizes as symbols that flow through the ops.

The static shapes of the graph say ``(?, 256)`` for both the input of a reshape and its
result; the rules here say that both ``?`` are the same ``Dim``, which is what lets the
simplification drop a reshape, broadcast or gradient reduction to the shape its input already
has, and lets buffer reuse and the specialised kernels rely on shapes known for the whole plan.
A rule that cannot tell gives the static shape (unknown sizes as fresh symbols).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...ops.elementwise import Binary, Unary
from ...ops.reduction_ops import Reduce
from .terms import CALL, Dim, SymShape, Term


def _from_static(shape: Any) -> SymShape:
    if shape is None:
        return None
    return tuple(Dim() if d is None else d for d in shape)


def symbolic_shape(term: Term) -> SymShape:
    """``term``'s shape with unknown sizes as symbols, consistent with the static shape."""
    static = term.node.shape
    if term.kind != CALL:
        return _from_static(static)
    rule = _shape_rule(term)
    try:
        sym = rule(term) if rule is not None else None
    except (AttributeError, IndexError, TypeError, ValueError):
        sym = None
    return _merge_static(sym, static)


def _merge_static(sym: SymShape, static: Any) -> SymShape:
    if sym is None:
        return _from_static(static)
    if static is None:
        return sym
    if len(sym) != len(static):
        return _from_static(static)
    merged = []
    for s, d in zip(sym, static, strict=True):
        if d is None:
            merged.append(s)
        elif isinstance(s, int) and s != d:
            return _from_static(static)
        else:
            merged.append(d)
    return tuple(merged)


def _broadcast_dim(dims: Sequence[Any]) -> Any:
    result: Any = 1
    for d in dims:
        if isinstance(d, int) and d == 1:
            continue
        if isinstance(result, int) and result == 1:
            result = d
        elif d is result or (isinstance(d, int) and isinstance(result, int) and d == result):
            continue
        elif isinstance(result, int):
            continue  # an unknown size broadcast against k > 1 is k (or the run fails)
        elif isinstance(d, int):
            result = d
        else:
            return Dim()
    return result


def broadcast_sym(shapes: Sequence[SymShape]) -> SymShape:
    """NumPy broadcasting on symbolic shapes."""
    if any(s is None for s in shapes):
        return None
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        out.append(
            _broadcast_dim([s[axis - rank + len(s)] for s in shapes if axis >= rank - len(s)])
        )
    return tuple(out)


def _same_as_first(term: Term) -> SymShape:
    return term.args[0].sym


def _broadcast_args(term: Term) -> SymShape:
    return broadcast_sym([a.sym for a in term.args])


def _like_second(term: Term) -> SymShape:
    return term.args[1].sym


def _matmul_shape(term: Term) -> SymShape:
    a, b = term.args[0].sym, term.args[1].sym
    if a is None or b is None or len(a) < 2 or len(b) < 2:
        return None
    if term.node.transpose_a:
        a = a[:-2] + (a[-1], a[-2])
    if term.node.transpose_b:
        b = b[:-2] + (b[-1], b[-2])
    batch = broadcast_sym([a[:-2], b[:-2]])
    return batch + (a[-2], b[-1])


def _reduce_shape(term: Term) -> SymShape:
    x, axes = term.args[0].sym, term.node.axes
    if x is None or axes is None:
        return None
    if term.node.keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(x))
    return tuple(d for i, d in enumerate(x) if i not in axes)


def _reshape_shape(term: Term) -> SymShape:
    target = term.node.target
    if target is None or len(term.args) != 1:
        return None
    if -1 not in target:
        return tuple(target)
    rest = int(np.prod([d for d in target if d != -1], dtype=np.int64))
    return tuple(_inferred_dim(term.args[0].sym, rest) if d == -1 else d for d in target)


def _inferred_dim(source: SymShape, rest: int) -> Any:
    """The size a ``-1`` stands for: known sizes divide out, one symbol may remain."""
    if source is None:
        return Dim()
    unknown = [d for d in source if not isinstance(d, int)]
    known = int(np.prod([d for d in source if isinstance(d, int)], dtype=np.int64))
    if not unknown:
        return known // rest if rest else Dim()
    if len(unknown) == 1 and known == rest:
        return unknown[0]
    return Dim()


def _broadcast_to_shape(term: Term) -> SymShape:
    target = term.node.target
    return tuple(target) if target is not None and len(term.args) == 1 else None


def _expand_reduced_shape(term: Term) -> SymShape:
    like, axis = term.args[1].sym, term.node.axis
    if like is None:
        return None
    rank = len(like)
    axes = range(rank) if axis is None else [int(a) % max(rank, 1) for a in np.atleast_1d(axis)]
    return tuple(1 if i in set(axes) else d for i, d in enumerate(like))


def _drop_axis(shape: SymShape, axis: int) -> SymShape:
    if shape is None or not shape:
        return None
    axis %= len(shape)
    return shape[:axis] + shape[axis + 1 :]


def _xent_shape(term: Term) -> SymShape:
    return _drop_axis(term.args[1].sym, term.node.axis)


def _sparse_xent_shape(term: Term) -> SymShape:
    return _drop_axis(term.args[1].sym, -1)


def _logits_shape(term: Term) -> SymShape:
    return term.args[2].sym


_SHAPE_RULES: dict[str, Callable[[Term], SymShape]] = {
    "MatMul": _matmul_shape,
    "Reshape": _reshape_shape,
    "BroadcastTo": _broadcast_to_shape,
    "ExpandReduced": _expand_reduced_shape,
    "SumToLike": _like_second,
    "BroadcastLike": _like_second,
    "ReshapeLike": _like_second,
    "StridedSliceGrad": _like_second,
    "ZerosLike": _same_as_first,
    "OnesLike": _same_as_first,
    "Softmax": _same_as_first,
    "LogSoftmax": _same_as_first,
    "Cast": _same_as_first,
    "CheckNumerics": _same_as_first,
    "Relu": _same_as_first,
    "BiasAdd": _same_as_first,
    "Select": _broadcast_args,
    "AddN": _broadcast_args,
    "ClipByValue": _broadcast_args,
    "ReluGrad": _broadcast_args,
    "SoftmaxCrossEntropyWithLogits": _xent_shape,
    "SparseSoftmaxCrossEntropyWithLogits": _sparse_xent_shape,
    "SoftmaxCrossEntropyWithLogitsGrad": _logits_shape,
    "SparseSoftmaxCrossEntropyWithLogitsGrad": _logits_shape,
}


def _shape_rule(term: Term) -> Callable[[Term], SymShape] | None:
    if not term.builtin:
        return None
    node = term.node
    rule = _SHAPE_RULES.get(node.op_type)
    if rule is not None:
        return rule
    if isinstance(node, Unary):
        return _same_as_first
    if isinstance(node, Binary):
        return _broadcast_args
    if isinstance(node, Reduce):
        return _reduce_shape
    return None
