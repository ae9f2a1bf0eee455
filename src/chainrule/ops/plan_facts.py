"""Facts several ops declare to the plan compiler, written once (see the hooks on ``Tensor``).

The helpers take the plan's values of an op's inputs (``PlanValue``: symbolic shape, dtype,
whether the value may be a variable's memory, constants' values) and answer for the op: which
input it passes on unchanged, whether it merely stretches its input, and so on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..graph import InplaceKernel, PlanValue
from .shapes import all_ones, broadcast_dims


def same_sym(a: Any, b: Any) -> bool:
    """Two symbolic shapes known to be equal."""
    return a is not None and b is not None and a == b


def unchanged_shape(args: Sequence[PlanValue], out: PlanValue) -> int | None:
    """0 when the op gives input 0 back with the shape and dtype it already has (a reshape,
    broadcast or gradient reduction to its own shape), else None."""
    x = args[0]
    if same_sym(x.sym, out.sym) and x.dtype is not None and x.dtype == out.dtype:
        return 0
    return None


def neutral_operand(
    args: Sequence[PlanValue], out: PlanValue, neutral: int, positions: Sequence[int]
) -> int | None:
    """The input ``x`` of ``x op c`` when the constant ``c`` (at one of ``positions``) is all
    ``neutral`` and does not widen ``x``.

    The op makes a copy; ``x`` itself may stand in only if it does not share memory with a
    variable (a later update would otherwise change what the copy had captured).
    """
    for const_at in positions:
        c, x = args[const_at], args[1 - const_at]
        if not c.is_constant or x.state or x.dtype is None or x.dtype != out.dtype:
            continue
        if same_sym(x.sym, out.sym) and all_equal(c.value, neutral):
            return 1 - const_at
    return None


def all_equal(value: Any, neutral: int) -> bool:
    """Whether the constant ``value`` is numbers all equal to ``neutral``."""
    if isinstance(value, bool | int | float | np.generic):
        return bool(value == neutral)
    if not isinstance(value, np.ndarray) or not value.size or value.dtype.kind not in "biuf":
        return False
    return bool((value == neutral).all())


def reduces_nothing(
    args: Sequence[PlanValue], out: PlanValue, axes: tuple[int, ...] | None, keepdims: bool
) -> int | None:
    """0 when a float reduction keeps dims over axes of size 1 only (or over no axis), so its
    value is its input's; None otherwise (or when the input may be a variable's memory)."""
    x = args[0]
    if axes is None or x.state or x.sym is None or x.dtype is None or x.dtype.kind != "f":
        return None
    if not (keepdims or not axes) or x.dtype != out.dtype:
        return None
    return 0 if all_ones([x.sym[a] for a in axes]) else None


def stretches_input(args: Sequence[PlanValue], out_sym: Any) -> bool:
    """Whether ``out_sym`` is input 0's shape stretched by NumPy's right-aligned broadcasting."""
    source = args[0].sym
    if source is None or out_sym is None:
        return False
    try:
        return broadcast_dims(source, out_sym) == out_sym
    except ValueError:
        return False


def adds_leading_ones(args: Sequence[PlanValue], out_sym: Any) -> bool:
    """Whether ``out_sym`` is input 0's shape with only size-1 axes put in front (a reshape
    that NumPy broadcasting would do by itself)."""
    source = args[0].sym
    if source is None or out_sym is None:
        return False
    lead = len(out_sym) - len(source)
    return lead >= 0 and tuple(out_sym[lead:]) == tuple(source) and all_ones(out_sym[:lead])


def broadcasts_to(syms: Sequence[Any], out_sym: Any) -> bool:
    """Whether inputs of shapes ``syms`` broadcast to exactly ``out_sym``."""
    try:
        return broadcast_dims(*syms) == out_sym
    except ValueError:
        return False


def elementwise_ufunc(fn: Any, arity: int) -> bool:
    """A NumPy ufunc of ``arity`` broadcasting inputs and one output (not a gufunc: matmul)."""
    return isinstance(fn, np.ufunc) and fn.signature is None and fn.nout == 1 and fn.nin == arity


def ufunc_inplace(fn: Callable[..., Any], arity: int) -> InplaceKernel | None:
    """Any input may receive the result of an elementwise ufunc (called with ``out=``)."""
    if not elementwise_ufunc(fn, arity):
        return None
    return InplaceKernel(tuple(range(arity)), fn)
