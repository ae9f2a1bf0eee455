"""Comparisons, logic and selection: ``equal`` … ``greater_equal``, ``logical_*``, ``where``.

Comparisons and logic give bool tensors and have no gradient; ``where`` (TF1's ``Select``)
routes the gradient to whichever input each element came from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..dtypes import DType, int64
from ..dtypes import bool as bool_
from ..errors import DTypeError, InvalidArgumentError
from ..graph import Tensor
from . import array_ops, broadcast_ops
from .base import Operation, convert_to_tensor, lift_operands
from .elementwise import (
    Binary,
    Broadcasting,
    Unary,
    _broadcast_all,
    _require_bool,
    common_dtype,
)
from .registry import NotDifferentiable, RegisterGradient
from .shapes import Shape

__all__ = [
    "div_no_nan",
    "where",
    "where_v2",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_not",
    "logical_xor",
]


# -- comparisons and logic (no gradient) ------------------------------------------------------
class Compare(Binary):
    """Elementwise comparison: a boolean result, no gradient."""

    differentiable = False

    def out_dtype(self, dtype: DType | None) -> DType | None:
        return bool_


class Logical(Compare):
    """Elementwise logic on bool tensors (TF1 refuses other dtypes)."""

    def infer(self, x: Tensor, y: Tensor) -> tuple[Shape, DType | None]:
        _require_bool(x, self.op_type)
        _require_bool(y, self.op_type)
        return super().infer(x, y)


def _compare(op_type: str, fn: Callable[..., Any], base: type[Compare] = Compare) -> type:
    cls = type(op_type, (base,), {"op_type": op_type, "fn": staticmethod(fn)})
    cls.__module__ = __name__
    NotDifferentiable(op_type)
    return cls


Equal = _compare("Equal", np.equal)
NotEqual = _compare("NotEqual", np.not_equal)
Less = _compare("Less", np.less)
LessEqual = _compare("LessEqual", np.less_equal)
Greater = _compare("Greater", np.greater)
GreaterEqual = _compare("GreaterEqual", np.greater_equal)
LogicalAnd = _compare("LogicalAnd", np.logical_and, Logical)
LogicalOr = _compare("LogicalOr", np.logical_or, Logical)
LogicalXor = _compare("LogicalXor", np.logical_xor, Logical)


class LogicalNot(Unary):
    op_type = "LogicalNot"
    fn = np.logical_not
    float_only = False
    differentiable = False

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        _require_bool(x, self.op_type)
        return x.shape, bool_


NotDifferentiable("LogicalNot")


# -- selection ----------------------------------------------------------------------------------
class Select(Broadcasting, Operation):
    """``where(condition, x, y)``: elements of x where condition holds, else of y (broadcasts)."""

    op_type = "Select"
    alias_inputs = ()
    numeric = True

    def __init__(self, condition: Any, x: Any, y: Any, name: str | None = None):
        x, y = lift_operands([x, y])
        condition = convert_to_tensor(condition, graph=x.graph)
        super().__init__([condition, x, y], name=name)

    def infer(self, c: Tensor, x: Tensor, y: Tensor) -> tuple[Shape, DType | None]:
        if c.dtype is not None and not c.dtype.is_bool:
            raise DTypeError(f"where() needs a bool condition, got {c.dtype.name}")
        return _broadcast_all([c, x, y]), common_dtype([x, y])

    def kernel(self) -> Callable[..., Any]:
        return np.where


@RegisterGradient("Select")
def _select_op_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    c, x, y = op.inputs
    zeros = array_ops.zeros_like(grad)
    return [
        None,
        broadcast_ops.sum_to_like(where(c, grad, zeros), x),
        broadcast_ops.sum_to_like(where(c, zeros, grad), y),
    ]


class WhereIndices(Operation):
    """``where(condition)``: the coordinates of true elements, an int64 ``(count, rank)`` matrix."""

    op_type = "Where"
    differentiable = False

    def __init__(self, condition: Any, name: str | None = None):
        super().__init__([condition], name=name)

    def infer(self, c: Tensor) -> tuple[Shape, DType | None]:
        return (None, None if c.shape is None else len(c.shape)), int64

    def compute(self, c: Any) -> np.ndarray:
        return np.argwhere(c).astype(np.int64)


NotDifferentiable("Where")


# -- public functions -------------------------------------------------------------------------
def equal(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x == y`` elementwise, as a bool node (the ``==`` operator stays identity)."""
    return Equal(x, y, name=name)


def not_equal(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x != y`` elementwise, as a bool node."""
    return NotEqual(x, y, name=name)


def less(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x < y`` elementwise."""
    return Less(x, y, name=name)


def less_equal(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x <= y`` elementwise."""
    return LessEqual(x, y, name=name)


def greater(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x > y`` elementwise."""
    return Greater(x, y, name=name)


def greater_equal(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x >= y`` elementwise."""
    return GreaterEqual(x, y, name=name)


def logical_and(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x and y`` on bool tensors."""
    return LogicalAnd(x, y, name=name)


def logical_or(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x or y`` on bool tensors."""
    return LogicalOr(x, y, name=name)


def logical_xor(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x != y`` on bool tensors."""
    return LogicalXor(x, y, name=name)


def logical_not(x: Any, name: str | None = None) -> Tensor:
    """``not x`` on a bool tensor."""
    return LogicalNot(x, name=name)


def where(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> Tensor:
    """TF1's ``where``: elements of ``x`` where ``condition`` holds, else of ``y``.

    A vector ``condition`` with ``x`` and ``y`` of one higher rank picks whole rows, as in
    TF1; otherwise the three broadcast. With ``condition`` alone, the int64 coordinates of its
    true elements.
    """
    if x is None and y is None:
        return WhereIndices(condition, name=name)
    if x is None or y is None:
        raise InvalidArgumentError("where() needs both x and y, or neither")
    x, y = lift_operands([x, y])
    condition = convert_to_tensor(condition, graph=x.graph)
    return Select(_row_condition(condition, x, y), x, y, name=name)


def where_v2(condition: Any, x: Any = None, y: Any = None, name: str | None = None) -> Tensor:
    """``where`` with NumPy broadcasting of all three inputs (TF2's ``where``)."""
    if x is None and y is None:
        return WhereIndices(condition, name=name)
    if x is None or y is None:
        raise InvalidArgumentError("where_v2() needs both x and y, or neither")
    return Select(condition, x, y, name=name)


def div_no_nan(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x / y``, and 0 where ``y`` is 0 (TF1's ``div_no_nan``: averages over nothing are 0)."""
    x, y = lift_operands([x, y])
    empty = equal(y, 0.0)
    safe = where_v2(empty, array_ops.ones_like(y), y)
    return where_v2(empty, array_ops.zeros_like(x), x / safe, name=name)


def _row_condition(condition: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """A vector condition for values of one higher rank, shaped to choose their rows (TF1)."""
    if condition.shape is None or len(condition.shape) != 1:
        return condition
    if x.shape is None or y.shape is None or len(x.shape) < 2 or len(x.shape) != len(y.shape):
        return condition
    from .shape_ops import reshape

    return reshape(condition, [-1] + [1] * (len(x.shape) - 1))
