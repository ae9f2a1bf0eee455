"""Specialised kernels: general kernels replaced by ones fixed to the shapes the plan knows.

A gradient's ``sum_to_like`` works out on every run which axes were broadcast; when the
symbolic shapes already say so, it reduces those axes directly. A mean and the count of a
reduction skip the axis bookkeeping the general kernels redo on every run. The results are
the same; only the per-call overhead goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...errors import ChainruleError
from ...ops.shapes import normalize_axes
from .terms import CALL, Stats, Term, is_array


def specialize(program: list[Term], stats: Stats) -> None:
    """Replace general kernels by ones fixed to this plan's shapes (the same results, faster).

    A gradient's ``sum_to_like`` whose reduced axes are known reduces them directly; a mean
    and its count skip the axis bookkeeping that the general kernels redo on every run.
    """
    for term in program:
        if term.kind != CALL or not term.builtin or not term.pure:
            continue
        rule = _SPECIALIZATIONS.get(term.op_type)
        fn = rule(term) if rule is not None else None
        if fn is not None:
            term.fn = fn
            stats.specialized += 1


def _static_sum_to(term: Term) -> Callable[..., Any] | None:
    grad, like = term.args
    if grad.sym is None or like.sym is None or grad.dtype is None or grad.dtype.kind != "f":
        return None
    if term.dtype != grad.dtype:
        return None
    lead = len(grad.sym) - len(like.sym)
    if lead < 0:
        return None
    inner = []
    for i, d in enumerate(like.sym):
        g = grad.sym[lead + i]
        if isinstance(d, int) and d == 1:
            inner.append(lead + i)  # summing a size-1 axis is harmless
        elif not (d is g or (isinstance(d, int) and isinstance(g, int) and d == g)):
            return None  # only known at run time whether this axis was broadcast
    axes = tuple(range(lead)) + tuple(inner)
    if not axes:
        return None
    term.owned = is_array(term)
    term.external = term.state = False
    reduce = np.add.reduce
    if not inner:

        def sum_leading_axes(g: Any, like: Any) -> Any:
            return reduce(g, axis=axes)

        return sum_leading_axes

    def sum_to_shape(g: Any, like: Any) -> Any:
        return reduce(g, axis=axes, keepdims=True).reshape(np.shape(like))

    return sum_to_shape


def _static_axes(term: Term, axis: Any) -> tuple[int, ...] | None:
    x = term.args[0]
    if x.sym is None:
        return None
    rank = len(x.sym)
    try:
        return normalize_axes(axis, rank)
    except ChainruleError:
        return None


def _static_count(term: Term) -> Callable[..., Any] | None:
    axes = _static_axes(term, term.node.axis)
    if axes is None or term.node.to is None:
        return None
    dtype = term.node.to.np

    def reduced_count(x: Any) -> np.ndarray:
        shape, count = np.shape(x), 1
        for a in axes:
            count *= shape[a]
        return np.asarray(count, dtype=dtype)

    return reduced_count


def _static_mean(term: Term) -> Callable[..., Any] | None:
    """NumPy's mean for float32/float64 (sum, then divide by the count), without its overhead."""
    x = term.args[0]
    axes = _static_axes(term, term.node.axis)
    if axes is None or x.dtype is None or x.dtype not in (np.float32, np.float64):
        return None
    if term.dtype != x.dtype:
        return None
    keepdims, reduce, intp = term.node.keepdims, np.add.reduce, np.intp

    def mean(x: Any) -> Any:
        shape, count = np.shape(x), 1
        for a in axes:
            count *= shape[a]
        total = reduce(x, axis=axes, keepdims=keepdims)
        if isinstance(total, np.ndarray):
            return np.true_divide(total, intp(count), out=total, casting="unsafe")
        return total.dtype.type(total / intp(count))

    return mean


_SPECIALIZATIONS: dict[str, Callable[[Term], Callable[..., Any] | None]] = {
    "SumToLike": _static_sum_to,
    "ReducedCount": _static_count,
    "Mean": _static_mean,
}
