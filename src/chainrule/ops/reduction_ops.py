"""Reductions over axes: sum, mean, max, min, prod, logsumexp, any, all, argmax, argmin.

``axis`` may be None, an int, a negative int or a list; ``keepdims`` keeps reduced axes as 1.
TF1's aliases ``reduction_indices`` and ``keep_dims`` are accepted. Every gradient is built
from ops, so it works when shapes are only known at run time and can be differentiated again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType, as_dtype, int32, int64
from ..errors import ChainruleError, DTypeError, InvalidArgumentError, ShapeError
from ..graph import PlanValue, Specialized, Tensor
from . import array_ops, broadcast_ops, shape_ops
from .base import Operation, is_constant
from .plan_facts import adds_leading_ones, reduces_nothing, unchanged_shape
from .registry import NotDifferentiable, RegisterGradient
from .shapes import Shape, fmt, normalize_axes, reduced_shape

__all__ = [
    "reduce_sum",
    "reduce_mean",
    "reduce_max",
    "reduce_min",
    "reduce_prod",
    "reduce_logsumexp",
    "reduce_any",
    "reduce_all",
    "argmax",
    "argmin",
]


def _resolve_axis_args(
    axis: Any, keepdims: bool | None, reduction_indices: Any, keep_dims: bool | None
) -> tuple[Any, bool]:
    """Merge TF1's old argument names into ``axis`` and ``keepdims``."""
    if axis is not None and reduction_indices is not None:
        raise InvalidArgumentError("give either axis or reduction_indices, not both")
    if keepdims is not None and keep_dims is not None and bool(keepdims) != bool(keep_dims):
        raise InvalidArgumentError("keepdims and keep_dims disagree")
    if axis is None:
        axis = reduction_indices
    if keepdims is None:
        keepdims = bool(keep_dims)
    return axis, bool(keepdims)


def _static_axis(axis: Any) -> Any:
    """``axis`` as None, an int or a tuple of ints (constant nodes and arrays are unwrapped)."""
    if is_constant(axis):
        axis = axis.op.value
    elif isinstance(axis, Tensor):
        raise InvalidArgumentError(
            f"axis must be known when the graph is built; got the computed node '{axis.name}'"
        )
    if axis is None:
        return None
    if isinstance(axis, np.ndarray | np.generic):
        axis = axis.tolist()
    if isinstance(axis, Sequence) and not isinstance(axis, str):
        return tuple(_as_int_axis(a) for a in axis)
    return _as_int_axis(axis)


def _as_int_axis(a: Any) -> int:
    if isinstance(a, bool) or not isinstance(a, int | np.integer):
        raise InvalidArgumentError(f"axis entries must be integers, got {a!r}")
    return int(a)


class Reduce(Operation):
    """Base of reductions: ``axis`` as given (None, int or tuple), ``axes`` normalised, keepdims.

    ``axes`` is a sorted tuple of non-negative axes, or ``None`` when the input's rank is only
    known at run time and the axis is negative; ``numpy_fn(x, axis=, keepdims=)`` is the kernel.
    """

    numpy_fn: Callable[..., Any]
    #: the input dtypes accepted: numbers (as TF1's arithmetic reductions) or bools only
    bool_input = False
    numeric = True

    def __init__(self, x: Any, axis: Any = None, keepdims: bool = False, name: str | None = None):
        self.axis = _static_axis(axis)
        self.keepdims = bool(keepdims)
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        if x.dtype is not None and x.dtype.is_bool != self.bool_input:
            wanted = "a bool" if self.bool_input else "a numeric"
            raise DTypeError(f"{self.op_type} needs {wanted} input, got {x.dtype.name}")
        rank = None if x.shape is None else len(x.shape)
        self.axes = normalize_axes(self.axis, rank)
        return self.shape_rule(x.shape), self.out_dtype(x)

    def shape_rule(self, x: Shape) -> Shape:
        if x is None or self.axes is None:
            return None
        return reduced_shape(x, self.axes, self.keepdims)

    def out_dtype(self, x: Tensor) -> DType | None:
        return x.dtype

    def np_axis(self) -> Any:
        """The axis argument for NumPy: normalised (no duplicates) when the rank is known."""
        return self.axes if self.axes is not None else self.axis

    def compute(self, x: Any) -> Any:
        return type(self).numpy_fn(x, axis=self.np_axis(), keepdims=self.keepdims)


def _same_dtype_kernel(numpy_fn: Callable[..., Any]) -> Callable[..., Any]:
    """NumPy's sum/prod widen int32 to int64; TF1 keeps the input's dtype."""

    def reduce_keeping_dtype(x: Any, axis: Any, keepdims: bool) -> Any:
        dtype = np.result_type(x)
        keep = dtype if dtype.kind in "iu" else None
        return numpy_fn(x, axis=axis, keepdims=keepdims, dtype=keep)

    return reduce_keeping_dtype


def _keepdims_shape_grad(op: Reduce, grad: Tensor) -> Tensor:
    """Reshape a reduction's gradient so that it broadcasts against the reduction's input."""
    if op.keepdims:
        return grad
    x = op.inputs[0]
    if x.shape is not None and op.axes is not None:
        kept = reduced_shape(x.shape, op.axes, True)
        if None not in kept:
            return shape_ops.reshape(grad, kept)
    return ExpandReduced(grad, x, op.np_axis())


class ExpandReduced(Operation):
    """Put back the axes a reduction removed (size 1), using ``like``'s run-time rank."""

    op_type = "ExpandReduced"
    alias_inputs = (0,)
    numeric = True

    def __init__(self, grad: Tensor, like: Tensor, axis: Any, name: str | None = None):
        self.axis = axis
        super().__init__([grad, like], name=name)

    def infer(self, grad: Tensor, like: Tensor) -> tuple[Shape, DType | None]:
        return self.shape_rule(grad.shape, like.shape), grad.dtype

    def shape_rule(self, grad: Shape, like: Shape) -> Shape:
        if like is None:
            return None
        return reduced_shape(like, normalize_axes(self.axis, len(like)), True)

    def passthrough(self, args: Sequence[PlanValue], out: PlanValue) -> int | None:
        return unchanged_shape(args, out)

    def broadcast_source(self, args: Sequence[PlanValue], out_sym: Any) -> bool:
        return adds_leading_ones(args, out_sym)

    def compute(self, grad: Any, like: Any) -> Any:
        shape = np.shape(like)
        axes = normalize_axes(self.axis, len(shape))
        return np.reshape(grad, reduced_shape(shape, axes, True))


@RegisterGradient("ExpandReduced")
def _expand_reduced_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [shape_ops.ReshapeLike(grad, op.inputs[0]), None]


def _broadcast_back(op: Reduce, value: Tensor) -> Tensor:
    """A reduction's output (or its gradient) broadcast back to the input's shape."""
    return broadcast_ops.broadcast_like(_keepdims_shape_grad(op, value), op.inputs[0])


# -- sum and mean ---------------------------------------------------------------------------
class Sum(Reduce):
    op_type = "Sum"
    numpy_fn = staticmethod(_same_dtype_kernel(np.sum))
    alias_inputs = ()

    def passthrough(self, args: Sequence[PlanValue], out: PlanValue) -> int | None:
        return reduces_nothing(args, out, self.axes, self.keepdims)


@RegisterGradient("Sum")
def _sum_grad(op: Operation, grad: Tensor) -> Tensor:
    return _broadcast_back(op, grad)


class Mean(Reduce):
    """The mean; integer inputs give the truncated integer mean, as TF1."""

    op_type = "Mean"
    alias_inputs = ()

    def passthrough(self, args: Sequence[PlanValue], out: PlanValue) -> int | None:
        return reduces_nothing(args, out, self.axes, self.keepdims)

    def specialize(self, args: Sequence[PlanValue]) -> Specialized | None:
        """NumPy's mean for float32/float64 (sum, then divide by the count) without the
        axis bookkeeping of the general kernel."""
        x = args[0]
        axes = _plan_axes(x, self.axis)
        if axes is None or x.dtype is None or x.dtype not in (np.float32, np.float64):
            return None
        if self.dtype is None or self.dtype.np != x.dtype:
            return None
        return Specialized(_fixed_axes_mean(axes, self.keepdims), fresh=True)

    def compute(self, x: Any) -> Any:
        x = np.asarray(x)
        total = np.sum(x, axis=self.np_axis(), keepdims=self.keepdims, dtype=_mean_dtype(x))
        count = x.size // max(np.size(total), 1) if x.size else 0
        if x.dtype.kind in "iu":
            if count == 0 and np.size(total):
                raise InvalidArgumentError("the integer mean of no elements has no value", self)
            return np.trunc(total / max(count, 1)).astype(x.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):  # an empty mean is NaN, as NumPy
            result = np.true_divide(total, count)
        return result.astype(x.dtype, copy=False) if x.dtype.kind == "f" else result


def _mean_dtype(x: np.ndarray) -> Any:
    """Integers are summed in float64 (then truncated); floats in their own dtype."""
    return np.float64 if x.dtype.kind in "iub" else None


class ReducedCount(Operation):
    """How many elements each output of a reduction over ``axis`` averages (run time)."""

    op_type = "ReducedCount"
    differentiable = False
    numeric = True

    def specialize(self, args: Sequence[PlanValue]) -> Specialized | None:
        """The count over axes known from the plan's shapes (no axis bookkeeping per run)."""
        axes = _plan_axes(args[0], self.axis)
        if axes is None or self.to is None:
            return None
        return Specialized(_fixed_axes_count(axes, self.to.np), fresh=True)

    def __init__(self, x: Tensor, axis: Any, dtype: DType | None, name: str | None = None):
        self.axis = axis
        self.to = dtype
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        return (), self.to

    def compute(self, x: Any) -> Any:
        shape = np.shape(x)
        axes = normalize_axes(self.axis, len(shape))
        count = int(np.prod([shape[a] for a in axes], dtype=np.int64))
        return np.asarray(count, dtype=self.to.np if self.to is not None else np.float64)


NotDifferentiable("ReducedCount")


def _plan_axes(x: PlanValue, axis: Any) -> tuple[int, ...] | None:
    """``axis`` normalised for the rank ``x`` has in a plan; None when that rank is unknown."""
    if x.sym is None:
        return None
    try:
        return normalize_axes(axis, len(x.sym))
    except ChainruleError:
        return None


def _fixed_axes_count(axes: tuple[int, ...], dtype: Any) -> Callable[[Any], np.ndarray]:
    def reduced_count(x: Any) -> np.ndarray:
        shape, count = np.shape(x), 1
        for a in axes:
            count *= shape[a]
        return np.asarray(count, dtype=dtype)

    return reduced_count


def _fixed_axes_mean(axes: tuple[int, ...], keepdims: bool) -> Callable[[Any], Any]:
    reduce, intp = np.add.reduce, np.intp

    def mean(x: Any) -> Any:
        shape, count = np.shape(x), 1
        for a in axes:
            count *= shape[a]
        total = reduce(x, axis=axes, keepdims=keepdims)
        if isinstance(total, np.ndarray):
            return np.true_divide(total, intp(count), out=total, casting="unsafe")
        return total.dtype.type(total / intp(count))

    return mean


def _reduced_count(op: Reduce) -> Tensor | int:
    """The number of input elements behind each output of ``op`` (static when known)."""
    x = op.inputs[0]
    if x.shape is not None and op.axes is not None:
        dims = [x.shape[a] for a in op.axes]
        if None not in dims:
            return int(np.prod(dims, dtype=np.int64))
    return ReducedCount(x, op.np_axis(), x.dtype)


@RegisterGradient("Mean")
def _mean_grad(op: Operation, grad: Tensor) -> Tensor:
    count = _reduced_count(op)
    if isinstance(count, int):
        scaled = grad if count == 1 else grad / float(max(count, 1))
    else:
        scaled = grad / count
    return _broadcast_back(op, scaled)


# -- moments: the mean and the variance, one op with two outputs ------------------------------
class Moments(Reduce):
    """``moments``: the mean and the variance (about the mean, divided by n) of ``x`` over
    ``axis``: one op, two outputs (``op.outputs[0]`` the mean, ``op.outputs[1]`` the variance)."""

    op_type = "Moments"
    num_outputs = 2
    alias_inputs = ()

    def infer(self, x: Tensor) -> list[tuple[Shape, DType | None]]:
        shape, dtype = super().infer(x)
        if dtype is not None and not dtype.is_floating:
            raise DTypeError(f"moments needs a floating input, got {dtype.name}")
        return [(shape, dtype), (shape, dtype)]

    def compute(self, x: Any) -> tuple[Any, Any]:
        x = np.asarray(x)
        axis = self.np_axis()
        mean = np.mean(x, axis=axis, keepdims=True)
        variance = np.mean(np.square(x - mean), axis=axis, keepdims=self.keepdims)
        return np.reshape(mean, np.shape(variance)), variance


@RegisterGradient("Moments")
def _moments_grad(op: Operation, grad_mean: Tensor | None, grad_variance: Tensor | None) -> Tensor:
    """d/dx of the mean is 1/n; of the variance 2 (x - mean) / n (the mean's own change
    sums to zero). An output the loss does not use has no gradient (``None``)."""
    x = op.inputs[0]
    parts: list[Tensor] = []
    if grad_mean is not None:
        parts.append(_broadcast_back(op, grad_mean))
    if grad_variance is not None:
        centered = x - _keepdims_shape_grad(op, op.outputs[0])
        parts.append(_keepdims_shape_grad(op, grad_variance) * 2.0 * centered)
    total = parts[0] if len(parts) == 1 else parts[0] + parts[1]
    count = _reduced_count(op)
    if isinstance(count, int):
        return total if count == 1 else total / float(max(count, 1))
    return total / count


# -- max and min ----------------------------------------------------------------------------
class Max(Reduce):
    op_type = "Max"
    numpy_fn = np.max
    alias_inputs = ()


class Min(Reduce):
    op_type = "Min"
    alias_inputs = ()
    numpy_fn = np.min


def _extremum_grad(op: Operation, grad: Tensor) -> Tensor:
    """The gradient goes to the elements equal to the extremum, split equally among ties (TF1)."""
    from .logic_ops import equal
    from .math_ops import cast

    x = op.inputs[0]
    winners = cast(equal(_keepdims_shape_grad(op, op.outputs[0]), x), x.dtype)
    ties = reduce_sum(winners, axis=op.axis, keepdims=True)
    return winners / ties * _keepdims_shape_grad(op, grad)


RegisterGradient("Max")(_extremum_grad)
RegisterGradient("Min")(_extremum_grad)


# -- product ----------------------------------------------------------------------------------
class Prod(Reduce):
    op_type = "Prod"
    numpy_fn = staticmethod(_same_dtype_kernel(np.prod))
    alias_inputs = ()


@RegisterGradient("Prod")
def _prod_grad(op: Operation, grad: Tensor) -> Tensor:
    """d prod / d x_i is the product of the other elements, computed without dividing by zero.

    With no zero among the others it is the product of the non-zero elements divided by
    ``x_i`` (or not divided, when ``x_i`` is the zero); with a zero among the others it is 0.
    """
    from .logic_ops import equal, where
    from .math_ops import cast

    x = op.inputs[0]
    is_zero = equal(x, 0.0)
    nonzero = where(is_zero, array_ops.ones_like(x), x)
    nonzero_prod = reduce_prod(nonzero, axis=op.axis, keepdims=True)
    is_zero_count = cast(is_zero, x.dtype)
    zeros_elsewhere = reduce_sum(is_zero_count, axis=op.axis, keepdims=True) - is_zero_count
    others = where(is_zero, nonzero_prod, nonzero_prod / nonzero)
    others = where(equal(zeros_elsewhere, 0.0), others, array_ops.zeros_like(x))
    return others * _keepdims_shape_grad(op, grad)


# -- logsumexp --------------------------------------------------------------------------------
class LogSumExp(Reduce):
    """``log(sum(exp(x)))`` over ``axis``, with the maximum subtracted first (no overflow)."""

    op_type = "LogSumExp"

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        if x.dtype is not None and not x.dtype.is_floating:
            raise DTypeError(f"reduce_logsumexp needs a floating dtype, got {x.dtype.name}")
        return super().infer(x)

    def compute(self, x: Any) -> Any:
        x = np.asarray(x)
        axis = self.np_axis()
        peak = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros((1,) * x.ndim)
        peak = np.where(np.isfinite(peak), peak, 0.0).astype(x.dtype, copy=False)
        total = np.sum(np.exp(x - peak), axis=axis, keepdims=True)
        result = np.log(total) + peak
        if not self.keepdims:
            result = np.squeeze(result, axis=axis)
        return result.astype(x.dtype, copy=False)


@RegisterGradient("LogSumExp")
def _logsumexp_grad(op: Operation, grad: Tensor) -> Tensor:
    from .math_ops import exp

    x = op.inputs[0]
    return exp(x - _keepdims_shape_grad(op, op.outputs[0])) * _keepdims_shape_grad(op, grad)


# -- any and all ------------------------------------------------------------------------------
class BoolReduce(Reduce):
    """A logical reduction of a bool tensor (no gradient)."""

    differentiable = False
    bool_input = True


class ReduceAny(BoolReduce):
    op_type = "Any"
    numpy_fn = np.any


class ReduceAll(BoolReduce):
    op_type = "All"
    numpy_fn = np.all


NotDifferentiable("Any")
NotDifferentiable("All")


# -- argmax and argmin ------------------------------------------------------------------------
class ArgReduce(Operation):
    """The index of the extremum along one axis (no gradient); ties give the first index."""

    differentiable = False
    numpy_fn: Callable[..., Any]

    def __init__(self, x: Any, axis: int, output_type: Any, name: str | None = None):
        axis = _static_axis(axis)
        if not isinstance(axis, int):
            raise InvalidArgumentError(f"{type(self).op_type} takes one integer axis, got {axis!r}")
        self.axis = axis
        self.output_type = as_dtype(output_type)
        if self.output_type is None or self.output_type not in (int32, int64):
            raise DTypeError(f"output_type must be int32 or int64, got {output_type!r}")
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        if x.dtype is not None and x.dtype.is_bool:
            raise DTypeError(f"{self.op_type} needs a numeric input, got bool")
        if x.shape is None:
            return None, self.output_type
        if not x.shape:
            raise ShapeError(f"{self.op_type} needs an input of rank >= 1, got {fmt(x.shape)}")
        (axis,) = normalize_axes(self.axis, len(x.shape))
        return x.shape[:axis] + x.shape[axis + 1 :], self.output_type

    def compute(self, x: Any) -> np.ndarray:
        return np.asarray(type(self).numpy_fn(x, axis=self.axis), dtype=self.output_type.np)


class ArgMax(ArgReduce):
    op_type = "ArgMax"
    numpy_fn = np.argmax


class ArgMin(ArgReduce):
    op_type = "ArgMin"
    numpy_fn = np.argmin


NotDifferentiable("ArgMax")
NotDifferentiable("ArgMin")


# -- public functions -------------------------------------------------------------------------
def _reduction_function(op: type[Reduce], name: str, doc: str) -> Any:
    """The public ``reduce_*`` function of a reduction op, with TF1's signature and aliases."""

    def reduce(
        input_tensor: Any,
        axis: Any = None,
        keepdims: bool | None = None,
        name: str | None = None,
        reduction_indices: Any = None,
        keep_dims: bool | None = None,
    ) -> Tensor:
        axis, keepdims = _resolve_axis_args(axis, keepdims, reduction_indices, keep_dims)
        return op(input_tensor, axis=axis, keepdims=keepdims, name=name)

    reduce.__name__ = reduce.__qualname__ = name
    reduce.__doc__ = doc
    return reduce


reduce_sum = _reduction_function(Sum, "reduce_sum", "Sum over ``axis`` (all axes when None).")
reduce_mean = _reduction_function(
    Mean,
    "reduce_mean",
    "Mean over ``axis`` (all axes when None); integer means truncate, as TF1.",
)
reduce_max = _reduction_function(
    Max,
    "reduce_max",
    "Maximum over ``axis``; the gradient is shared equally by tied maxima, as TF1.",
)
reduce_min = _reduction_function(
    Min,
    "reduce_min",
    "Minimum over ``axis``; the gradient is shared equally by tied minima, as TF1.",
)
reduce_prod = _reduction_function(
    Prod,
    "reduce_prod",
    "Product over ``axis``; the gradient is exact also where elements are zero.",
)
reduce_logsumexp = _reduction_function(
    LogSumExp,
    "reduce_logsumexp",
    "``log(sum(exp(x)))`` over ``axis``, stable for large inputs.",
)
reduce_any = _reduction_function(
    ReduceAny, "reduce_any", "Logical or over ``axis`` of a bool tensor."
)
reduce_all = _reduction_function(
    ReduceAll, "reduce_all", "Logical and over ``axis`` of a bool tensor."
)


def _arg_axis(axis: Any, dimension: Any) -> Any:
    """TF1: ``dimension`` is the old name of ``axis``; with neither, axis 0."""
    if axis is not None and dimension is not None:
        raise InvalidArgumentError("give either axis or dimension, not both")
    if axis is None:
        axis = dimension
    return 0 if axis is None else axis


def argmax(
    input: Any,  # noqa: A002 - TF1's name
    axis: Any = None,
    name: str | None = None,
    dimension: Any = None,
    output_type: Any = int64,
) -> Tensor:
    """Index of the largest value along ``axis`` (default 0, as TF1); no gradient."""
    return ArgMax(input, _arg_axis(axis, dimension), output_type, name=name)


def argmin(
    input: Any,  # noqa: A002 - TF1's name
    axis: Any = None,
    name: str | None = None,
    dimension: Any = None,
    output_type: Any = int64,
) -> Tensor:
    """Index of the smallest value along ``axis`` (default 0, as TF1); no gradient."""
    return ArgMin(input, _arg_axis(axis, dimension), output_type, name=name)
