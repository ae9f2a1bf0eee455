"""Broadcast ops: ``broadcast_to`` and the helpers every broadcasting op's gradient uses.

``sum_to_like`` reduces a broadcast gradient back to an input's shape and ``broadcast_like``
stretches a value to one; both work statically when shapes are known and at run time
(``SumToLike``, ``BroadcastLike``) when they are not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType
from ..errors import ShapeError
from ..graph import PlanValue, Specialized, Tensor
from .base import Operation
from .plan_facts import stretches_input, unchanged_shape
from .registry import RegisterGradient
from .shape_ops import (
    _shape_operand,
    _static_shape,
    constant_value_as_shape,
    reshape,
    runtime_sizes,
)
from .shapes import Shape, fmt, is_int, is_known

__all__ = ["broadcast_to"]


# -- broadcasting helpers used by every broadcasting op's gradient ------------------------------
def _sum_to_shape(grad: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched to reach ``shape``."""
    grad_shape = np.shape(grad)
    if grad_shape == shape:
        return grad
    lead = len(grad_shape) - len(shape)
    if lead < 0:
        return np.broadcast_to(grad, shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, d in enumerate(shape) if d == 1 and grad_shape[i + lead] != 1
    )
    return np.sum(grad, axis=axes, keepdims=True).reshape(shape)


class LikeSecond:
    """Mixin: the output has the shape of input 1 (``like``); the value may be input 0's
    memory (a view, or input 0 itself), never ``like``'s."""

    alias_inputs = (0,)
    numeric = True

    def shape_rule(self, x: Shape, like: Shape) -> Shape:
        return like


class SumToLike(LikeSecond, Operation):
    """Reduce a broadcast gradient to the run-time shape of ``like`` (shapes unknown statically)."""

    op_type = "SumToLike"

    def __init__(self, grad: Tensor, like: Tensor, name: str | None = None):
        super().__init__([grad, like], name=name)

    def infer(self, grad: Tensor, like: Tensor) -> tuple[Shape, DType | None]:
        return self.shape_rule(grad.shape, like.shape), grad.dtype

    def compute(self, grad: np.ndarray, like: np.ndarray) -> np.ndarray:
        return _sum_to_shape(grad, np.shape(like))

    def passthrough(self, args: Sequence[PlanValue], out: PlanValue) -> int | None:
        return unchanged_shape(args, out)

    def specialize(self, args: Sequence[PlanValue]) -> Specialized | None:
        """When the plan's shapes say which axes were broadcast, reduce those directly."""
        grad, like = args
        if grad.sym is None or like.sym is None or grad.dtype is None or grad.dtype.kind != "f":
            return None
        if self.dtype is None or self.dtype.np != grad.dtype:
            return None
        axes = _broadcast_axes(grad.sym, like.sym)
        if not axes:
            return None
        kept_rank = len(grad.sym) - len(like.sym)
        return Specialized(_fixed_sum_to(axes, kept_rank), fresh=True)


def _broadcast_axes(grad: Sequence[Any], like: Sequence[Any]) -> tuple[int, ...] | None:
    """The axes of ``grad`` that broadcasting added or stretched from ``like``, if the
    symbolic shapes tell (a size-1 axis of ``like`` counts: summing it is harmless)."""
    lead = len(grad) - len(like)
    if lead < 0:
        return None
    inner = []
    for i, d in enumerate(like):
        g = grad[lead + i]
        if is_int(d) and d == 1:
            inner.append(lead + i)
        elif not (d is g or (is_int(d) and is_int(g) and d == g)):
            return None  # only known at run time whether this axis was broadcast
    return tuple(range(lead)) + tuple(inner)


def _fixed_sum_to(axes: tuple[int, ...], lead: int) -> Callable[[Any, Any], Any]:
    """``sum_to_like`` over axes known in advance (the leading ``lead`` ones, then others)."""
    reduce = np.add.reduce
    if len(axes) == lead:

        def sum_leading_axes(g: Any, like: Any) -> Any:
            return reduce(g, axis=axes)

        return sum_leading_axes

    def sum_to_shape(g: Any, like: Any) -> Any:
        return reduce(g, axis=axes, keepdims=True).reshape(np.shape(like))

    return sum_to_shape


@RegisterGradient("SumToLike")
def _sum_to_like_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [broadcast_like(grad, op.inputs[0]), None]


class BroadcastLike(LikeSecond, Operation):
    """Broadcast ``x`` to the run-time shape of ``like``."""

    op_type = "BroadcastLike"

    def __init__(self, x: Tensor, like: Tensor, name: str | None = None):
        super().__init__([x, like], name=name)

    def infer(self, x: Tensor, like: Tensor) -> tuple[Shape, DType | None]:
        return self.shape_rule(x.shape, like.shape), x.dtype

    def passthrough(self, args: Sequence[PlanValue], out: PlanValue) -> int | None:
        return unchanged_shape(args, out)

    def broadcast_source(self, args: Sequence[PlanValue], out_sym: Any) -> bool:
        return stretches_input(args, out_sym)

    def compute(self, x: np.ndarray, like: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, np.shape(like))


@RegisterGradient("BroadcastLike")
def _broadcast_like_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [sum_to_like(grad, op.inputs[0]), None]


def sum_to_like(grad: Tensor, like: Tensor) -> Tensor:
    """``grad`` summed down to ``like``'s shape; a no-op when both shapes are known and equal."""
    if grad.shape is not None and like.shape is not None and is_known(grad.shape):
        if grad.shape == like.shape:
            return grad
        if is_known(like.shape):
            return _static_sum_to(grad, like.shape)
    return SumToLike(grad, like)


def _static_sum_to(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    from .reduction_ops import reduce_sum

    lead = len(grad.shape) - len(shape)
    if lead < 0:
        return broadcast_to(grad, shape)
    axes = list(range(lead)) + [
        i + lead for i, d in enumerate(shape) if d == 1 and grad.shape[i + lead] != 1
    ]
    summed = reduce_sum(grad, axis=axes, keepdims=True) if axes else grad
    return reshape(summed, shape) if summed.shape != shape else summed


def broadcast_like(x: Tensor, like: Tensor) -> Tensor:
    """``x`` broadcast to ``like``'s shape (statically when known, else at run time)."""
    if x.shape is not None and x.shape == like.shape and is_known(x.shape):
        return x
    if like.shape is not None and is_known(like.shape):
        return broadcast_to(x, like.shape)
    return BroadcastLike(x, like)


def _check_broadcastable(shape: Shape, target: tuple[int | None, ...]) -> None:
    if shape is None:
        return
    if len(shape) > len(target):
        raise ShapeError(f"cannot broadcast {fmt(shape)} to {fmt(target)}: too many dimensions")
    for d, t in zip(shape[::-1], target[::-1], strict=False):
        if d is not None and d != 1 and t is not None and d != t:
            raise ShapeError(f"cannot broadcast {fmt(shape)} to {fmt(target)}")


class BroadcastTo(Operation):
    """``x`` broadcast to a static shape, or to the shape held by an int vector node."""

    op_type = "BroadcastTo"
    alias_inputs = (0,)
    numeric = True

    def __init__(self, x: Any, shape: Any, name: str | None = None):
        self.target_spec = shape
        inputs = [x, shape] if isinstance(shape, Tensor) else [x]
        super().__init__(inputs, name=name)

    def infer(self, x: Tensor, shape_node: Tensor | None = None) -> tuple[Shape, DType | None]:
        if shape_node is None:
            self.target = _static_shape(self.target_spec, "broadcast_to shape")
            _check_broadcastable(x.shape, self.target)
            return self.shape_rule(x.shape), x.dtype
        self.target = None
        target = constant_value_as_shape(shape_node)
        if target is not None:
            _check_broadcastable(x.shape, target)
        return target, x.dtype

    def shape_rule(self, x: Shape, *shape_node: Shape) -> Shape:
        """The static target (a target given by a node is known only at run time)."""
        return None if self.target is None else tuple(self.target)

    def compute(self, x: Any, shape_value: Any = None) -> np.ndarray:
        target = self.target
        if shape_value is not None:
            target = runtime_sizes(shape_value, "broadcast_to shape", self)
        return np.broadcast_to(x, target)

    def passthrough(self, args: Sequence[PlanValue], out: PlanValue) -> int | None:
        return unchanged_shape(args, out)

    def broadcast_source(self, args: Sequence[PlanValue], out_sym: Any) -> bool:
        return stretches_input(args, out_sym)


@RegisterGradient("BroadcastTo")
def _broadcast_to_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [sum_to_like(grad, op.inputs[0])] + [None] * (len(op.inputs) - 1)


def broadcast_to(input: Any, shape: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """Broadcast ``input`` to ``shape`` (NumPy rules); ``shape`` may be a node such as ``shape(y)``."""
    return BroadcastTo(input, _shape_operand(shape), name=name)
