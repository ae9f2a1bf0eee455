"""The base classes of elementwise ops and the dtype and broadcasting rules they share.

``Unary`` and ``Binary`` wrap a NumPy ufunc as an op's kernel; ``math_ops`` and ``logic_ops``
build their arithmetic, comparison and logic ops on them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType
from ..errors import DTypeError, ShapeError
from ..graph import InplaceKernel, PlanValue, Tensor
from .base import Operation, known_value, lift_operands
from .plan_facts import broadcasts_to, elementwise_ufunc, neutral_operand, ufunc_inplace
from .shapes import Shape, broadcast_dims, fmt


def _require_float(node: Tensor, op_name: str) -> None:
    if node.dtype is not None and not node.dtype.is_floating:
        raise DTypeError(f"{op_name} needs a floating dtype, got {node.dtype.name}; use cast()")


def _require_bool(node: Tensor, op_name: str) -> None:
    if node.dtype is not None and not node.dtype.is_bool:
        raise DTypeError(f"{op_name} needs bool inputs, got {node.dtype.name}; compare or cast()")


def _broadcast_all(nodes: Sequence[Tensor]) -> Shape:
    """The broadcast shape of ``nodes``; the error quotes the shapes as the user wrote them."""
    try:
        return broadcast_dims(*(node.shape for node in nodes))
    except ShapeError:
        shapes = " and ".join(fmt(node.shape) for node in nodes)
        raise ShapeError(f"shapes {shapes} cannot be broadcast together") from None


class SameShape:
    """Mixin: the output has the shape of input 0 (elementwise ops of one input, ...)."""

    def shape_rule(self, x: Shape, *rest: Shape) -> Shape:
        return x


class Broadcasting:
    """Mixin: the output has the broadcast shape of all inputs."""

    def shape_rule(self, *shapes: Shape) -> Shape:
        return broadcast_dims(*shapes)


class UfuncKernel:
    """Mixin for ops whose kernel may be a NumPy ufunc: then the result is a fresh array, any
    input may receive it (``out=``), and inputs may come in smaller, broadcasting shapes."""

    numeric = True
    #: True when the kernel, not a ufunc, always returns a new array all the same
    fresh = False

    def kernel(self) -> Callable[..., Any]:
        return self.fn

    @property
    def alias_inputs(self) -> tuple[int, ...] | None:
        fresh = self.fresh or elementwise_ufunc(self.kernel(), len(self.inputs))
        return () if fresh else None

    def inplace_kernel(self, args: Sequence[PlanValue], store: Any) -> InplaceKernel | None:
        return ufunc_inplace(self.kernel(), len(args))

    def takes_broadcast(self, position: int, syms: Sequence[Any], out_sym: Any) -> bool:
        return elementwise_ufunc(self.kernel(), len(syms)) and broadcasts_to(syms, out_sym)


def common_dtype(inputs: Sequence[Tensor]) -> DType | None:
    """The one dtype shared by ``inputs`` (TF1 does not promote), ``None`` if any is unknown."""
    known = [n for n in inputs if n.dtype is not None]
    if len(known) < len(inputs):
        return None
    first = known[0]
    for other in known[1:]:
        if other.dtype != first.dtype:
            raise DTypeError(
                f"input '{first.name}' is {first.dtype.name} but '{other.name}' is "
                f"{other.dtype.name}; convert one with cast()"
            )
    return first.dtype


class Unary(UfuncKernel, SameShape, Operation):
    """An elementwise op of one input whose kernel is a NumPy ufunc (``fn``)."""

    fn: Callable[..., Any]
    float_only = True

    def __init__(self, x: Any, name: str | None = None):
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        if self.float_only:
            _require_float(x, self.op_type)
        return self.shape_rule(x.shape), x.dtype


class Binary(UfuncKernel, Broadcasting, Operation):
    """An elementwise, broadcasting op of two inputs whose kernel is a NumPy ufunc (``fn``).

    ``neutral``: ``(n, positions)`` when ``x op n`` is ``x`` for the constant ``n`` at one of
    ``positions`` (``x * 1``, ``x + 0``), so that a plan may drop the op.
    """

    fn: Callable[..., Any]
    neutral: tuple[int, tuple[int, ...]] | None = None

    def __init__(self, x: Any, y: Any, name: str | None = None):
        super().__init__(lift_operands([x, y]), name=name)

    def infer(self, x: Tensor, y: Tensor) -> tuple[Shape, DType | None]:
        return _broadcast_all([x, y]), self.out_dtype(common_dtype([x, y]))

    def out_dtype(self, dtype: DType | None) -> DType | None:
        return dtype

    def passthrough(self, args: Sequence[PlanValue], out: PlanValue) -> int | None:
        if self.neutral is None:
            return None
        value, positions = self.neutral
        return neutral_operand(args, out, value, positions)

    def known_value(self) -> Any:
        """Sizes computed from sizes the graph knows (``shape(x)[1] * 2``), as TF1 infers them."""
        if self.fn not in SIZE_ARITHMETIC:
            return None
        x, y = (known_value(t) for t in self.inputs)
        return _combine_known(self.fn, x, y)


#: the ufuncs whose results on known sizes are known too
SIZE_ARITHMETIC = frozenset(
    {np.add, np.subtract, np.multiply, np.floor_divide, np.maximum, np.minimum}
)


def _combine_known(fn: Callable[..., Any], x: Any, y: Any) -> Any:
    """``fn`` on two known values (ints, ``None`` for unknown, tuples for vectors),
    broadcasting a scalar; unknown where either side is, or where ``fn`` cannot say."""
    if x is None or y is None:
        return None
    if isinstance(x, tuple) or isinstance(y, tuple):
        xs = x if isinstance(x, tuple) else (x,) * len(y)
        ys = y if isinstance(y, tuple) else (y,) * len(x)
        if len(xs) != len(ys):
            return None
        return tuple(_combine_known(fn, a, b) for a, b in zip(xs, ys, strict=True))
    if fn is np.floor_divide and y == 0:
        return None
    return int(fn(x, y))
