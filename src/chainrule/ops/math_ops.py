"""Elementwise math: arithmetic, transcendental functions, clipping, add_n, casts.

Each op's shape/dtype rule, NumPy kernel and gradient rule stand together. Gradients are
built from ops themselves, so gradients of gradients work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType, as_dtype, float64
from ..errors import InvalidArgumentError, ShapeError
from ..graph import PlanValue, Tensor
from . import array_ops, broadcast_ops
from .base import Operation, convert_to_tensor, is_constant, known_value, lift_operands
from .elementwise import Binary, Broadcasting, SameShape, Unary, _broadcast_all, common_dtype
from .logic_ops import equal, logical_not, logical_or, where
from .plan_facts import unchanged_shape
from .registry import NotDifferentiable, RegisterGradient
from .shapes import Shape, fmt

__all__ = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "truediv",
    "realdiv",
    "floordiv",
    "floormod",
    "mod",
    "negative",
    "pow",
    "exp",
    "log",
    "log1p",
    "sqrt",
    "rsqrt",
    "square",
    "abs",
    "sign",
    "sin",
    "cos",
    "tan",
    "tanh",
    "sigmoid",
    "reciprocal",
    "maximum",
    "minimum",
    "clip_by_value",
    "add_n",
    "cast",
    "to_float",
    "identity",
    "stop_gradient",
    "sub",
    "mul",
    "div",
    "neg",
    "squared_difference",
    "floor",
    "ceil",
    "round",
    "erf",
]


def _sum_to(grad: Tensor, like: Tensor) -> Tensor:
    """Reduce a broadcast gradient back to ``like``'s shape (statically when shapes are known)."""
    return broadcast_ops.sum_to_like(grad, like)


def _unary(
    op_type: str, fn: Callable[..., Any], float_only: bool = True, fresh: bool = False
) -> type[Unary]:
    """A Unary op class named ``op_type`` whose kernel is ``fn`` (never bound as a method);
    ``fresh`` when ``fn`` (not a ufunc) always returns a new array."""
    attributes = {
        "op_type": op_type,
        "fn": staticmethod(fn),
        "float_only": float_only,
        "fresh": fresh,
    }
    cls = type(op_type, (Unary,), attributes)
    cls.__module__ = __name__
    return cls


def _binary(
    op_type: str, fn: Callable[..., Any], neutral: tuple[int, tuple[int, ...]] | None = None
) -> type[Binary]:
    """A Binary op class named ``op_type`` whose kernel is ``fn`` (never bound as a method);
    ``neutral`` as on ``Binary``."""
    attributes = {"op_type": op_type, "fn": staticmethod(fn), "neutral": neutral}
    cls = type(op_type, (Binary,), attributes)
    cls.__module__ = __name__
    return cls


# -- arithmetic ---------------------------------------------------------------------------
Add = _binary("Add", np.add, neutral=(0, (1, 0)))
Sub = _binary("Sub", np.subtract, neutral=(0, (1,)))
Mul = _binary("Mul", np.multiply, neutral=(1, (1, 0)))


def _refuse_integer_zero_divisor(x: Any, y: Any) -> None:
    """TF1 refuses an integer division by zero (NumPy would quietly give 0)."""
    divisor = np.asarray(y)
    if divisor.dtype.kind in "iub" and np.asarray(x).dtype.kind in "iub" and not divisor.all():
        raise InvalidArgumentError(
            "integer division by zero: the divisor holds a 0 (only float division gives inf)"
        )


def _integer_floor_divide(x: Any, y: Any) -> Any:
    _refuse_integer_zero_divisor(x, y)
    return np.floor_divide(x, y)


def _integer_mod(x: Any, y: Any) -> Any:
    _refuse_integer_zero_divisor(x, y)
    return np.mod(x, y)


class IntegerDivision(Binary):
    """Floor division and modulo: floats follow IEEE; integers (or inputs not typed until the
    run) go through ``checked_fn``, which refuses a zero divisor as TF1 does."""

    checked_fn: Callable[..., Any]

    def kernel(self) -> Callable[..., Any]:
        if self.dtype is not None and self.dtype.is_floating:
            return self.fn
        return self.checked_fn


class FloorDiv(IntegerDivision):
    op_type = "FloorDiv"
    fn = np.floor_divide
    checked_fn = staticmethod(_integer_floor_divide)


class FloorMod(IntegerDivision):
    op_type = "FloorMod"
    fn = np.mod
    checked_fn = staticmethod(_integer_mod)


Maximum = _binary("Maximum", np.maximum)
Minimum = _binary("Minimum", np.minimum)


def _squared_difference_kernel(x: Any, y: Any) -> Any:
    return np.square(np.subtract(x, y))


SquaredDifference = _binary("SquaredDifference", _squared_difference_kernel)


class RealDiv(Binary):
    """``x / y``; integers divide to float64 as in TF1's ``truediv``."""

    op_type = "RealDiv"
    fn = np.true_divide
    neutral = (1, (1,))

    def out_dtype(self, dtype: DType | None) -> DType | None:
        return float64 if dtype is not None and not dtype.is_floating else dtype


class Pow(Binary):
    op_type = "Pow"
    fn = np.power


@RegisterGradient("Add")
def _add_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    x, y = op.inputs
    return [_sum_to(grad, x), _sum_to(grad, y)]


@RegisterGradient("Sub")
def _sub_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    x, y = op.inputs
    return [_sum_to(grad, x), _sum_to(negative(grad), y)]


@RegisterGradient("Mul")
def _mul_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    x, y = op.inputs
    return [_sum_to(grad * y, x), _sum_to(grad * x, y)]


@RegisterGradient("RealDiv")
def _div_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    x, y = op.inputs
    return [_sum_to(grad / y, x), _sum_to(negative(grad) * x / (y * y), y)]


@RegisterGradient("FloorMod")
def _floormod_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    x, y = op.inputs
    return [_sum_to(grad, x), _sum_to(negative(grad) * floor(x / y), y)]


NotDifferentiable("FloorDiv")


@RegisterGradient("Pow")
def _pow_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    x, y = op.inputs
    exponent = y - 1
    if not _nonzero_constant(y):  # d/dx x**0 is 0, also at x = 0, where 0 * 0**-1 is NaN
        exponent = where(equal(y, 0), array_ops.ones_like(exponent), exponent)
    dx = grad * y * pow(x, exponent)
    safe_log = where(x > 0, log(where(x > 0, x, array_ops.ones_like(x))), array_ops.zeros_like(x))
    dy = grad * op.outputs[0] * safe_log
    return [_sum_to(dx, x), _sum_to(dy, y)]


def _nonzero_constant(node: Tensor) -> bool:
    return is_constant(node) and bool(np.all(np.asarray(node.op.value) != 0))


def _select_grad(op: Operation, grad: Tensor, x_wins: Tensor) -> list[Tensor]:
    x, y = op.inputs
    zeros = array_ops.zeros_like(grad)
    return [_sum_to(where(x_wins, grad, zeros), x), _sum_to(where(x_wins, zeros, grad), y)]


@RegisterGradient("Maximum")
def _maximum_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    return _select_grad(op, grad, op.inputs[0] >= op.inputs[1])


@RegisterGradient("Minimum")
def _minimum_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    return _select_grad(op, grad, op.inputs[0] <= op.inputs[1])


@RegisterGradient("SquaredDifference")
def _squared_difference_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    x, y = op.inputs
    d = grad * 2.0 * (x - y)
    return [_sum_to(d, x), _sum_to(negative(d), y)]


# -- unary --------------------------------------------------------------------------------
Neg = _unary("Neg", np.negative, float_only=False)
Abs = _unary("Abs", np.abs, float_only=False)
Sign = _unary("Sign", np.sign, float_only=False)
Square = _unary("Square", np.square, float_only=False)
Exp = _unary("Exp", np.exp)
Log = _unary("Log", np.log)
Log1p = _unary("Log1p", np.log1p)
Sqrt = _unary("Sqrt", np.sqrt)
Sin = _unary("Sin", np.sin)
Cos = _unary("Cos", np.cos)
Tan = _unary("Tan", np.tan)
Tanh = _unary("Tanh", np.tanh)
Reciprocal = _unary("Reciprocal", np.reciprocal)
Floor = _unary("Floor", np.floor)
Ceil = _unary("Ceil", np.ceil)
Round = _unary("Round", np.round)


def _sigmoid_kernel(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function: never overflows for large ``|x|``. With
    ``e = exp(-|x|)``, ``1 / (1 + e)`` for ``x >= 0`` and ``e / (1 + e)`` below (the numerator
    is ``max(e, x >= 0)``), computed in place: an LSTM calls it three times per time step."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    if x.ndim == 0:
        e = np.exp(-np.abs(x))
        return np.asarray(1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e), x.dtype)
    e = np.abs(x)
    np.negative(e, out=e)
    np.exp(e, out=e)
    denominator = e + 1.0
    return np.divide(np.maximum(e, x >= 0, out=e), denominator, out=denominator)


Sigmoid = _unary("Sigmoid", _sigmoid_kernel, fresh=True)


def _rsqrt_kernel(x: np.ndarray) -> np.ndarray:
    return 1.0 / np.sqrt(x)


Rsqrt = _unary("Rsqrt", _rsqrt_kernel)


def _erf_kernel(x: np.ndarray) -> np.ndarray:
    from math import erf as scalar_erf

    return np.vectorize(scalar_erf, otypes=[np.asarray(x).dtype])(x)


Erf = _unary("Erf", _erf_kernel)


@RegisterGradient("Neg")
def _neg_grad(op: Operation, grad: Tensor) -> Tensor:
    return negative(grad)


@RegisterGradient("Abs")
def _abs_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad * sign(op.inputs[0])


@RegisterGradient("Sign")
def _sign_grad(op: Operation, grad: Tensor) -> Tensor:
    """Zero, as TF1: sign is flat wherever it is differentiable."""
    return array_ops.zeros_like(grad)


# TF1 declares rounding ops non-differentiable: their inputs get ``None``.
for _rounding in ("Floor", "Ceil", "Round"):
    NotDifferentiable(_rounding)


@RegisterGradient("Square")
def _square_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad * (2.0 * op.inputs[0])


@RegisterGradient("Exp")
def _exp_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad * op.outputs[0]


@RegisterGradient("Log")
def _log_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad / op.inputs[0]


@RegisterGradient("Log1p")
def _log1p_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad / (1.0 + op.inputs[0])


@RegisterGradient("Sqrt")
def _sqrt_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad * 0.5 / op.outputs[0]


@RegisterGradient("Rsqrt")
def _rsqrt_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad * -0.5 * op.outputs[0] * op.outputs[0] * op.outputs[0]


@RegisterGradient("Reciprocal")
def _reciprocal_grad(op: Operation, grad: Tensor) -> Tensor:
    return negative(grad) * op.outputs[0] * op.outputs[0]


@RegisterGradient("Sin")
def _sin_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad * cos(op.inputs[0])


@RegisterGradient("Cos")
def _cos_grad(op: Operation, grad: Tensor) -> Tensor:
    return negative(grad) * sin(op.inputs[0])


@RegisterGradient("Tan")
def _tan_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad * (1.0 + op.outputs[0] * op.outputs[0])


@RegisterGradient("Tanh")
def _tanh_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad * (1.0 - op.outputs[0] * op.outputs[0])


@RegisterGradient("Sigmoid")
def _sigmoid_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad * op.outputs[0] * (1.0 - op.outputs[0])


@RegisterGradient("Erf")
def _erf_grad(op: Operation, grad: Tensor) -> Tensor:
    x = op.inputs[0]
    return grad * _TWO_OVER_SQRT_PI * exp(negative(square(x)))


_TWO_OVER_SQRT_PI = float(2.0 / np.sqrt(np.pi))


# -- clipping, sums, casts ---------------------------------------------------------------------
class ClipByValue(Broadcasting, Operation):
    """``t`` limited to ``[lo, hi]``; the bounds broadcast against ``t`` but never grow it."""

    op_type = "ClipByValue"
    numeric = True

    def __init__(self, t: Any, lo: Any, hi: Any, name: str | None = None):
        super().__init__(lift_operands([t, lo, hi]), name=name)

    def infer(self, t: Tensor, lo: Tensor, hi: Tensor) -> tuple[Shape, DType | None]:
        shape = _broadcast_all([t, lo, hi])
        if t.shape is not None and shape is not None and len(shape) != len(t.shape):
            raise ShapeError(
                f"clip bounds {fmt(lo.shape)} and {fmt(hi.shape)} must broadcast to the "
                f"clipped tensor's shape {fmt(t.shape)}"
            )
        return shape, common_dtype([t, lo, hi])

    def kernel(self) -> Callable[..., Any]:
        return np.clip


@RegisterGradient("ClipByValue")
def _clip_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    t, lo, hi = op.inputs
    zeros = array_ops.zeros_like(grad)
    below, above = t < lo, t > hi
    inside = logical_not(logical_or(below, above))
    return [
        _sum_to(where(inside, grad, zeros), t),
        _sum_to(where(below, grad, zeros), lo),
        _sum_to(where(above, grad, zeros), hi),
    ]


class AddN(Broadcasting, Operation):
    """The sum of several tensors of one shape (how gradient contributions are added up)."""

    op_type = "AddN"
    alias_inputs = ()
    numeric = True

    def __init__(self, inputs: Sequence[Any], name: str | None = None):
        super().__init__(lift_operands(list(inputs)), name=name)

    def infer(self, *inputs: Tensor) -> tuple[Shape, DType | None]:
        return _broadcast_all(inputs), common_dtype(list(inputs))

    def compute(self, *values: Any) -> Any:
        total = np.add(values[0], values[1])
        for value in values[2:]:
            if isinstance(total, np.ndarray) and np.shape(value) == total.shape:
                np.add(total, value, out=total, casting="unsafe")
            else:
                total = np.add(total, value)
        return total


@RegisterGradient("AddN")
def _add_n_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    return [_sum_to(grad, x) for x in op.inputs]


class Cast(SameShape, Operation):
    op_type = "Cast"
    numeric = True

    def __init__(self, x: Any, dtype: Any, name: str | None = None):
        self.to = as_dtype(dtype)
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        return self.shape_rule(x.shape), self.to

    def passthrough(self, args: Sequence[PlanValue], out: PlanValue) -> int | None:
        """A cast to the dtype the value already has, unless the value is a variable's
        memory (the cast's copy must not follow the variable's later updates)."""
        return None if args[0].state else unchanged_shape(args, out)

    def compute(self, x: Any) -> np.ndarray:
        return np.asarray(x).astype(self.to.np)

    def known_value(self) -> Any:
        """Sizes cast from one int type to another keep what is known of them."""
        return known_value(self.inputs[0]) if self.to.is_integer else None


@RegisterGradient("Cast")
def _cast_grad(op: Operation, grad: Tensor) -> Tensor | None:
    x = op.inputs[0]
    if not op.dtype.is_floating or (x.dtype is not None and not x.dtype.is_floating):
        return None
    return cast(grad, x.dtype) if x.dtype is not None else grad


class Identity(Unary):
    """Its input, unchanged (the very value: a plan passes the input on)."""

    op_type = "Identity"
    float_only = False
    numeric = False  # the input itself, whatever it is

    def kernel(self) -> Callable[..., Any]:
        return _identity_kernel

    def passthrough(self, args: Sequence[PlanValue], out: PlanValue) -> int | None:
        return 0

    def known_value(self) -> Any:
        return known_value(self.inputs[0])


def _identity_kernel(x: Any) -> Any:
    return x


@RegisterGradient("Identity")
def _identity_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad


class StopGradient(Identity):
    """Passes its value forward; no gradient flows back through it."""

    op_type = "StopGradient"
    differentiable = False


NotDifferentiable("StopGradient")


# -- public functions -------------------------------------------------------------------------
def add(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x + y`` elementwise, broadcasting."""
    return Add(x, y, name=name)


def subtract(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x - y`` elementwise, broadcasting."""
    return Sub(x, y, name=name)


def multiply(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x * y`` elementwise, broadcasting."""
    return Mul(x, y, name=name)


def divide(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x / y`` elementwise; integer inputs give float64, as TF1's ``truediv``."""
    return RealDiv(x, y, name=name)


def floordiv(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x // y``: the floor of the quotient (no gradient, as TF1)."""
    return FloorDiv(x, y, name=name)


def div(x: Any, y: Any, name: str | None = None) -> Tensor:
    """TF1's ``div``: Python 2 division, so integers floor-divide and floats divide."""
    x, y = lift_operands([x, y])
    if x.dtype is not None and x.dtype.is_integer:
        return FloorDiv(x, y, name=name)
    return RealDiv(x, y, name=name)


def floormod(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``x % y`` with the sign of ``y``, as Python and TF1."""
    return FloorMod(x, y, name=name)


def pow(x: Any, y: Any, name: str | None = None) -> Tensor:  # noqa: A001 - TF1's name
    """``x ** y`` elementwise, broadcasting."""
    return Pow(x, y, name=name)


def maximum(x: Any, y: Any, name: str | None = None) -> Tensor:
    """The larger of ``x`` and ``y``; on ties the gradient goes to ``x``, as TF1."""
    return Maximum(x, y, name=name)


def minimum(x: Any, y: Any, name: str | None = None) -> Tensor:
    """The smaller of ``x`` and ``y``; on ties the gradient goes to ``x``, as TF1."""
    return Minimum(x, y, name=name)


def squared_difference(x: Any, y: Any, name: str | None = None) -> Tensor:
    """``(x - y) ** 2`` elementwise."""
    return SquaredDifference(x, y, name=name)


def negative(x: Any, name: str | None = None) -> Tensor:
    """``-x``."""
    return Neg(x, name=name)


def abs(x: Any, name: str | None = None) -> Tensor:  # noqa: A001 - TF1's name
    """``|x|``; its gradient at 0 is 0, as TF1."""
    return Abs(x, name=name)


def sign(x: Any, name: str | None = None) -> Tensor:
    """-1, 0 or 1 by the sign of ``x``."""
    return Sign(x, name=name)


def square(x: Any, name: str | None = None) -> Tensor:
    """``x * x``."""
    return Square(x, name=name)


def exp(x: Any, name: str | None = None) -> Tensor:
    """``e ** x``."""
    return Exp(x, name=name)


def log(x: Any, name: str | None = None) -> Tensor:
    """Natural logarithm."""
    return Log(x, name=name)


def log1p(x: Any, name: str | None = None) -> Tensor:
    """``log(1 + x)``, accurate for small ``x``."""
    return Log1p(x, name=name)


def sqrt(x: Any, name: str | None = None) -> Tensor:
    """Square root."""
    return Sqrt(x, name=name)


def rsqrt(x: Any, name: str | None = None) -> Tensor:
    """``1 / sqrt(x)``."""
    return Rsqrt(x, name=name)


def reciprocal(x: Any, name: str | None = None) -> Tensor:
    """``1 / x``."""
    return Reciprocal(x, name=name)


def sin(x: Any, name: str | None = None) -> Tensor:
    """Sine."""
    return Sin(x, name=name)


def cos(x: Any, name: str | None = None) -> Tensor:
    """Cosine."""
    return Cos(x, name=name)


def tan(x: Any, name: str | None = None) -> Tensor:
    """Tangent."""
    return Tan(x, name=name)


def tanh(x: Any, name: str | None = None) -> Tensor:
    """Hyperbolic tangent."""
    return Tanh(x, name=name)


def sigmoid(x: Any, name: str | None = None) -> Tensor:
    """``1 / (1 + exp(-x))``, computed without overflow for large ``|x|``."""
    return Sigmoid(x, name=name)


def floor(x: Any, name: str | None = None) -> Tensor:
    """Largest integer not above ``x`` (no gradient, as TF1)."""
    return Floor(x, name=name)


def ceil(x: Any, name: str | None = None) -> Tensor:
    """Smallest integer not below ``x`` (no gradient, as TF1)."""
    return Ceil(x, name=name)


def round(x: Any, name: str | None = None) -> Tensor:  # noqa: A001 - TF1's name
    """Round half to even, as TF1 (no gradient)."""
    return Round(x, name=name)


def erf(x: Any, name: str | None = None) -> Tensor:
    """The Gauss error function."""
    return Erf(x, name=name)


def clip_by_value(
    t: Any, clip_value_min: Any, clip_value_max: Any, name: str | None = None
) -> Tensor:
    """``t`` limited to ``[clip_value_min, clip_value_max]``; clipped elements get no gradient."""
    return ClipByValue(t, clip_value_min, clip_value_max, name=name)


def add_n(inputs: Sequence[Any], name: str | None = None) -> Tensor:
    """Sum a list of tensors of the same shape."""
    inputs = list(inputs)
    if not inputs:
        raise InvalidArgumentError("add_n needs at least one input")
    if len(inputs) == 1:
        return convert_to_tensor(inputs[0])
    return AddN(inputs, name=name)


def cast(x: Any, dtype: Any, name: str | None = None) -> Tensor:
    """``x`` converted to ``dtype`` (floats to ints truncate); ``x`` itself if already so."""
    x = convert_to_tensor(x)
    if x.dtype is not None and x.dtype == as_dtype(dtype):
        return x
    return Cast(x, dtype, name=name)


def to_float(x: Any, name: str | None = None) -> Tensor:
    """``cast(x, float32)``, TF1's shorthand."""
    return cast(x, "float32", name=name)


def identity(x: Any, name: str | None = None) -> Tensor:
    """The same value as a new node (a named point in the graph)."""
    return Identity(x, name=name)


def stop_gradient(x: Any, name: str | None = None) -> Tensor:
    """The same value, but treated as a constant by ``gradients``."""
    return StopGradient(x, name=name)


truediv = realdiv = divide
sub, mul, neg, mod = subtract, multiply, negative, floormod
