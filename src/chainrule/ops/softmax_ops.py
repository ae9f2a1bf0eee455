"""Softmax, log-softmax and the cross-entropies: softmax (dense and sparse labels) and sigmoid.

Every op keeps its shape rule, NumPy kernel and gradient side by side. The softmax family
subtracts the maximum before exponentiating and the cross-entropies work in log space, so
logits of any size (±1e4 in float32) give finite values and gradients. Softmax and
cross-entropy are one fused op whose gradient, ``(softmax - labels) * grad`` for labels that
are distributions, is itself one fused op with a registered (graph-built) gradient, so
second derivatives work too.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType
from ..errors import DTypeError, InvalidArgumentError, ShapeError
from ..graph import FusedKernels, PlanValue, Tensor
from . import array_ops, shape_ops
from .base import Constant, Operation, convert_to_tensor, lift_operands
from .elementwise import SameShape, _require_float, common_dtype
from .math_ops import exp, sigmoid, stop_gradient
from .reduction_ops import ExpandReduced, reduce_sum
from .registry import RegisterGradient
from .shapes import Shape, fmt, is_known, normalize_axes, reduced_shape

__all__ = ["softmax"]


# -- helpers shared by the kernels and the gradients -------------------------------------------
def stable_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """``exp(x) / sum(exp(x))`` with the maximum subtracted first, so it never overflows."""
    e = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)  # -inf: an empty axis
    np.exp(e, out=e)
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def stable_log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """``x - logsumexp(x)`` computed from the max-shifted logits (finite for any finite x)."""
    shifted = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    shifted -= np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return shifted


def softmax_cross_entropy_parts(
    labels: Any, logits: Any, axis: int, loss: bool = True, residual: bool = True
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The loss ``-sum(labels * log_softmax(logits))`` and the residual
    ``softmax(logits) * sum(labels) - labels`` (the loss's gradient for the logits) along
    ``axis``, each if asked for, from one max, exp and sum. The residual is a fresh array.
    """
    x = np.asarray(logits)
    shifted = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)  # -inf: an empty axis
    e = np.exp(shifted)
    total = np.sum(e, axis=axis, keepdims=True)
    loss_value = residual_value = None
    if loss:
        shifted -= np.log(total)
        np.negative(shifted, out=shifted)
        shifted *= labels
        loss_value = np.sum(shifted, axis=axis)
    if residual:
        e /= total
        e *= np.sum(labels, axis=axis, keepdims=True)
        e -= labels
        residual_value = e
    return loss_value, residual_value


def sparse_softmax_cross_entropy_parts(
    labels: Any, logits: Any, loss: bool = True, residual: bool = True
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """For integer class ``labels`` (last axis): the loss ``-log_softmax(logits)[label]`` and
    the residual ``softmax(logits) - one_hot(labels)``, each if asked for, from one max, exp
    and sum. Labels outside ``[0, classes)`` are an error. The residual is a fresh array."""
    x = np.asarray(logits)
    index = _checked_labels(labels, x.shape[-1])
    shifted = x - np.max(x, axis=-1, keepdims=True, initial=-np.inf)
    e = np.exp(shifted)
    total = np.sum(e, axis=-1, keepdims=True)
    loss_value = residual_value = None
    if loss:
        shifted -= np.log(total)
        loss_value = -np.take_along_axis(shifted, index, axis=-1)[..., 0]
    if residual:
        e /= total
        np.put_along_axis(e, index, np.take_along_axis(e, index, axis=-1) - 1, axis=-1)
        residual_value = e
    return loss_value, residual_value


def scale_rows(residual: np.ndarray, upstream: Any, axis: int) -> np.ndarray:
    """``residual * upstream`` with one upstream value per row along ``axis`` (or one value
    for all rows), written into ``residual``."""
    if np.ndim(upstream) == 0:
        residual *= upstream
    else:
        residual *= np.expand_dims(upstream, axis)
    return residual


def _scales_rows(position: int, syms: Sequence[Any], out_sym: Any) -> bool:
    """A cross-entropy gradient takes its upstream gradient (input 0) as one value for all
    rows: any shape of size-1 axes of lower rank than the logits."""
    upstream = syms[0]
    if position != 0 or upstream is None or out_sym is None or len(upstream) >= len(out_sym):
        return False
    return all(isinstance(d, int) and d == 1 for d in upstream)


def _check_axis(x: Tensor, axis: int, op_name: str) -> None:
    if x.shape is not None:
        if len(x.shape) == 0:
            raise ShapeError(f"{op_name} needs an input of rank >= 1, got a scalar")
        normalize_axes(axis, len(x.shape))


def _expand_like(grad: Tensor, like: Tensor, axis: int) -> Tensor:
    """Put back the size-1 ``axis`` that a per-row op removed, so ``grad`` broadcasts on ``like``."""
    if like.shape is not None and is_known(like.shape):
        kept = reduced_shape(like.shape, normalize_axes(axis, len(like.shape)), True)
        return shape_ops.reshape(grad, kept)
    return ExpandReduced(grad, like, axis)


def _softmax_vjp(s: Tensor, u: Tensor, axis: int) -> Tensor:
    """``u`` pulled back through softmax: ``s * (u - sum(u * s))`` along ``axis``."""
    return s * (u - reduce_sum(u * s, axis=axis, keepdims=True))


# -- softmax and log-softmax -------------------------------------------------------------------
class Softmax(SameShape, Operation):
    """``exp(x) / sum(exp(x))`` along ``axis`` (the last by default), computed stably."""

    op_type = "Softmax"
    alias_inputs = ()
    numeric = True

    def __init__(self, logits: Any, axis: int = -1, name: str | None = None):
        self.axis = int(axis)
        super().__init__([logits], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        _require_float(x, "Softmax")
        _check_axis(x, self.axis, "Softmax")
        return self.shape_rule(x.shape), x.dtype

    def compute(self, x: Any) -> np.ndarray:
        return stable_softmax(np.asarray(x), self.axis)


@RegisterGradient("Softmax")
def _softmax_grad(op: Operation, grad: Tensor) -> Tensor:
    return _softmax_vjp(op.outputs[0], grad, op.axis)


class LogSoftmax(SameShape, Operation):
    """``x - log(sum(exp(x)))`` along ``axis``, computed stably."""

    op_type = "LogSoftmax"
    alias_inputs = ()
    numeric = True

    def __init__(self, logits: Any, axis: int = -1, name: str | None = None):
        self.axis = int(axis)
        super().__init__([logits], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        _require_float(x, "LogSoftmax")
        _check_axis(x, self.axis, "LogSoftmax")
        return self.shape_rule(x.shape), x.dtype

    def compute(self, x: Any) -> np.ndarray:
        return stable_log_softmax(np.asarray(x), self.axis)


@RegisterGradient("LogSoftmax")
def _log_softmax_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad - reduce_sum(grad, axis=op.axis, keepdims=True) * exp(op.outputs[0])


def _resolve_axis(axis: int | None, dim: int | None) -> int:
    if axis is not None and dim is not None and axis != dim:
        raise InvalidArgumentError(
            f"pass either axis or dim (its old name), not both: {axis}, {dim}"
        )
    chosen = axis if axis is not None else dim
    return -1 if chosen is None else int(chosen)


def softmax(logits: Any, axis: int | None = None, name: str | None = None, dim: int | None = None):
    """Softmax along ``axis`` (default: last axis); stable for large logits."""
    return Softmax(logits, axis=_resolve_axis(axis, dim), name=name)


def log_softmax(
    logits: Any, axis: int | None = None, name: str | None = None, dim: int | None = None
) -> Tensor:
    """Log of the softmax along ``axis`` (default: last), without overflow or ``log(0)``."""
    return LogSoftmax(logits, axis=_resolve_axis(axis, dim), name=name)


# -- softmax cross-entropy (dense labels), fused with its gradient -------------------------------
def merged_shape(a: Shape, b: Shape, what: str) -> Shape:
    """The shape both ``a`` and ``b`` describe (unknown sizes merged), or a ShapeError."""
    if a is None:
        return b
    if b is None:
        return a
    if len(a) != len(b) or any(
        isinstance(x, int) and isinstance(y, int) and x != y for x, y in zip(a, b, strict=True)
    ):
        raise ShapeError(f"{what} must have the same shape, got {fmt(a)} and {fmt(b)}")
    return tuple(y if x is None or isinstance(y, int) else x for x, y in zip(a, b, strict=True))


def _xent_rows_shape(logits_shape: Shape, axis: int, op_name: str) -> Shape:
    if logits_shape is None:
        return None
    if len(logits_shape) == 0:
        raise ShapeError(f"{op_name} needs logits of rank >= 1, got a scalar")
    return reduced_shape(logits_shape, normalize_axes(axis, len(logits_shape)), False)


class SoftmaxCrossEntropyWithLogits(Operation):
    """``-sum(labels * log_softmax(logits))`` along ``axis``: one loss per row.

    In a plan that also computes its gradient (same labels, logits and axis), both come
    from one kernel that computes the softmax once (``fused_kernels``).
    """

    op_type = "SoftmaxCrossEntropyWithLogits"
    alias_inputs = ()
    numeric = True

    def __init__(self, labels: Any, logits: Any, axis: int = -1, name: str | None = None):
        self.axis = int(axis)
        super().__init__(lift_operands([labels, logits]), name=name)

    def infer(self, labels: Tensor, logits: Tensor) -> tuple[Shape, DType | None]:
        dtype = common_dtype([labels, logits])
        _require_float(logits, self.op_type)
        return self.shape_rule(labels.shape, logits.shape), dtype

    def shape_rule(self, labels: Shape, logits: Shape) -> Shape:
        shape = merged_shape(labels, logits, "labels and logits")
        return _xent_rows_shape(shape, self.axis, self.op_type)

    def compute(self, labels: Any, logits: Any) -> np.ndarray:
        return softmax_cross_entropy_parts(labels, logits, self.axis, residual=False)[0]

    def fusion_key(self, args: Sequence[PlanValue]) -> Hashable:
        return (SoftmaxCrossEntropyWithLogits, args[0], args[1], self.axis)

    def fused_kernels(self, args: Sequence[PlanValue]) -> FusedKernels:
        """The loss and the residual from one softmax; the gradient scales the residual."""
        axis = self.axis

        def loss_and_residual(labels: Any, logits: Any) -> tuple[Any, Any]:
            return softmax_cross_entropy_parts(labels, logits, axis)

        return _fused_with_gradient(loss_and_residual, axis)


class SoftmaxCrossEntropyWithLogitsGrad(Operation):
    """``grad * (softmax(logits) * sum(labels) - labels)`` in one kernel.

    For labels that are distributions (rows summing to 1) this is TF's ``softmax - labels``;
    the ``sum(labels)`` factor keeps it the exact gradient for any labels.
    """

    op_type = "SoftmaxCrossEntropyWithLogitsGrad"
    alias_inputs = ()
    numeric = True

    def __init__(
        self, grad: Tensor, labels: Tensor, logits: Tensor, axis: int, name: str | None = None
    ):
        self.axis = axis
        super().__init__([grad, labels, logits], name=name)

    def infer(self, grad: Tensor, labels: Tensor, logits: Tensor) -> tuple[Shape, DType | None]:
        return self.shape_rule(grad.shape, labels.shape, logits.shape), logits.dtype

    def shape_rule(self, grad: Shape, labels: Shape, logits: Shape) -> Shape:
        return logits

    def compute(self, grad: Any, labels: Any, logits: Any) -> np.ndarray:
        _, residual = softmax_cross_entropy_parts(labels, logits, self.axis, loss=False)
        return scale_rows(residual, grad, self.axis)

    def fusion_key(self, args: Sequence[PlanValue]) -> Hashable:
        return (SoftmaxCrossEntropyWithLogits, args[1], args[2], self.axis)

    def takes_broadcast(self, position: int, syms: Sequence[Any], out_sym: Any) -> bool:
        return _scales_rows(position, syms, out_sym)


def _fused_with_gradient(parts: Callable[[Any, Any], tuple[Any, Any]], axis: int) -> FusedKernels:
    """A cross-entropy and its gradient op together: ``parts(labels, logits)`` gives the loss
    and the residual; the gradient scales the residual by its upstream gradient in place."""

    def scale_residual(residual: np.ndarray, upstream: Any) -> np.ndarray:
        return scale_rows(residual, upstream, axis)

    return FusedKernels(shared=parts, finish=scale_residual, finish_inputs=(0,))


@RegisterGradient("SoftmaxCrossEntropyWithLogits")
def _softmax_xent_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    labels, logits = op.inputs
    d_logits = SoftmaxCrossEntropyWithLogitsGrad(grad, labels, logits, op.axis)
    d_labels = -_expand_like(grad, logits, op.axis) * LogSoftmax(logits, op.axis)
    return [d_labels, d_logits]


@RegisterGradient("SoftmaxCrossEntropyWithLogitsGrad")
def _softmax_xent_grad_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    upstream, labels, logits = op.inputs
    axis = op.axis
    residual = SoftmaxCrossEntropyWithLogitsGrad(
        array_ops.ones_like(upstream), labels, logits, axis
    )
    weighted = grad * _expand_like(upstream, logits, axis)
    s = Softmax(logits, axis)
    label_mass = reduce_sum(labels, axis=axis, keepdims=True)
    return [
        reduce_sum(grad * residual, axis=axis),
        reduce_sum(weighted * s, axis=axis, keepdims=True) - weighted,
        label_mass * _softmax_vjp(s, weighted, axis),
    ]


def _labels_like(labels: Any, logits: Tensor) -> Tensor:
    """Labels as a node of the logits' dtype (arrays and lists are converted, nodes checked)."""
    if isinstance(labels, Tensor) or logits.dtype is None:
        return convert_to_tensor(labels, graph=logits.graph)
    return Constant(np.asarray(labels, dtype=logits.dtype.np), graph=logits.graph, name="labels")


def _require_named(sentinel: Any, fn_name: str, **arguments: Any) -> None:
    if sentinel is not None:
        raise InvalidArgumentError(
            f"{fn_name} takes named arguments only: {fn_name}(labels=..., logits=...)"
        )
    missing = [k for k, v in arguments.items() if v is None]
    if missing:
        raise InvalidArgumentError(f"{fn_name} needs {' and '.join(missing)}")


def softmax_cross_entropy_with_logits_v2(
    _sentinel: Any = None,
    labels: Any = None,
    logits: Any = None,
    axis: int | None = None,
    name: str | None = None,
    dim: int | None = None,
) -> Tensor:
    """Per-row ``-sum(labels * log_softmax(logits))``; gradients flow into labels too (TF1)."""
    _require_named(_sentinel, "softmax_cross_entropy_with_logits_v2", labels=labels, logits=logits)
    logits = convert_to_tensor(logits)
    labels = _labels_like(labels, logits)
    return SoftmaxCrossEntropyWithLogits(labels, logits, axis=_resolve_axis(axis, dim), name=name)


def softmax_cross_entropy_with_logits(
    _sentinel: Any = None,
    labels: Any = None,
    logits: Any = None,
    dim: int = -1,
    name: str | None = None,
    axis: int | None = None,
) -> Tensor:
    """Per-row softmax cross-entropy; as in TF1, no gradient flows into ``labels``."""
    _require_named(_sentinel, "softmax_cross_entropy_with_logits", labels=labels, logits=logits)
    logits = convert_to_tensor(logits)
    labels = stop_gradient(_labels_like(labels, logits))
    chosen = axis if axis is not None else dim
    return SoftmaxCrossEntropyWithLogits(labels, logits, axis=int(chosen), name=name)


# -- sparse softmax cross-entropy (integer labels) -----------------------------------------------
def _checked_labels(labels: np.ndarray, classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = labels.min() if labels.min() < 0 else labels.max()
        raise InvalidArgumentError(
            f"received a label value of {bad} which is outside the valid range of [0, {classes})"
        )
    return labels[..., None]


class SparseSoftmaxCrossEntropyWithLogits(Operation):
    """``-log_softmax(logits)[label]`` per row, for integer class labels (last axis).

    Fused with its gradient in a plan, as the dense cross-entropy is.
    """

    op_type = "SparseSoftmaxCrossEntropyWithLogits"
    alias_inputs = ()
    numeric = True

    def __init__(self, labels: Any, logits: Any, name: str | None = None):
        super().__init__([labels, logits], name=name)

    def infer(self, labels: Tensor, logits: Tensor) -> tuple[Shape, DType | None]:
        _require_float(logits, self.op_type)
        if labels.dtype is not None and not labels.dtype.is_integer:
            raise DTypeError(
                f"labels must be integer class indices, got {labels.dtype.name}; "
                "for one-hot or probability labels use softmax_cross_entropy_with_logits"
            )
        rows = self.shape_rule(labels.shape, logits.shape)
        merged_shape(labels.shape, rows, "labels and logits without their last axis")
        return rows, logits.dtype

    def shape_rule(self, labels: Shape, logits: Shape) -> Shape:
        return _xent_rows_shape(logits, -1, self.op_type)

    def compute(self, labels: Any, logits: Any) -> np.ndarray:
        return sparse_softmax_cross_entropy_parts(labels, logits, residual=False)[0]

    def fusion_key(self, args: Sequence[PlanValue]) -> Hashable:
        return (SparseSoftmaxCrossEntropyWithLogits, args[0], args[1])

    def fused_kernels(self, args: Sequence[PlanValue]) -> FusedKernels:
        """The loss and the residual from one softmax; the gradient scales the residual."""
        return _fused_with_gradient(sparse_softmax_cross_entropy_parts, -1)


class SparseSoftmaxCrossEntropyWithLogitsGrad(Operation):
    """``grad * (softmax(logits) - one_hot(labels))`` in one kernel."""

    op_type = "SparseSoftmaxCrossEntropyWithLogitsGrad"
    alias_inputs = ()
    numeric = True

    def __init__(self, grad: Tensor, labels: Tensor, logits: Tensor, name: str | None = None):
        super().__init__([grad, labels, logits], name=name)

    def infer(self, grad: Tensor, labels: Tensor, logits: Tensor) -> tuple[Shape, DType | None]:
        return self.shape_rule(grad.shape, labels.shape, logits.shape), logits.dtype

    def shape_rule(self, grad: Shape, labels: Shape, logits: Shape) -> Shape:
        return logits

    def compute(self, grad: Any, labels: Any, logits: Any) -> np.ndarray:
        _, residual = sparse_softmax_cross_entropy_parts(labels, logits, loss=False)
        return scale_rows(residual, grad, -1)

    def fusion_key(self, args: Sequence[PlanValue]) -> Hashable:
        return (SparseSoftmaxCrossEntropyWithLogits, args[1], args[2])

    def takes_broadcast(self, position: int, syms: Sequence[Any], out_sym: Any) -> bool:
        return _scales_rows(position, syms, out_sym)


@RegisterGradient("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_xent_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    labels, logits = op.inputs
    return [None, SparseSoftmaxCrossEntropyWithLogitsGrad(grad, labels, logits)]


@RegisterGradient("SparseSoftmaxCrossEntropyWithLogitsGrad")
def _sparse_xent_grad_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    upstream, labels, logits = op.inputs
    residual = SparseSoftmaxCrossEntropyWithLogitsGrad(
        array_ops.ones_like(upstream), labels, logits
    )
    weighted = grad * _expand_like(upstream, logits, -1)
    return [
        reduce_sum(grad * residual, axis=-1),
        None,
        _softmax_vjp(Softmax(logits, -1), weighted, -1),
    ]


def sparse_softmax_cross_entropy_with_logits(
    _sentinel: Any = None,
    labels: Any = None,
    logits: Any = None,
    name: str | None = None,
) -> Tensor:
    """Per-row cross-entropy for integer ``labels`` (class indices into the last axis)."""
    _require_named(
        _sentinel, "sparse_softmax_cross_entropy_with_logits", labels=labels, logits=logits
    )
    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(labels, graph=logits.graph)
    return SparseSoftmaxCrossEntropyWithLogits(labels, logits, name=name)


# -- sigmoid cross-entropy -------------------------------------------------------------------------
class SigmoidCrossEntropyWithLogits(Operation):
    """Elementwise ``max(x, 0) - x * z + log(1 + exp(-|x|))`` for logits x and labels z."""

    op_type = "SigmoidCrossEntropyWithLogits"

    def __init__(self, labels: Any, logits: Any, name: str | None = None):
        super().__init__(lift_operands([labels, logits]), name=name)

    def infer(self, labels: Tensor, logits: Tensor) -> tuple[Shape, DType | None]:
        dtype = common_dtype([labels, logits])
        _require_float(logits, self.op_type)
        return merged_shape(labels.shape, logits.shape, "labels and logits"), dtype

    def compute(self, labels: Any, x: Any) -> np.ndarray:
        out = np.maximum(x, 0) - x * labels
        out += np.log1p(np.exp(-np.abs(x)))
        return out


@RegisterGradient("SigmoidCrossEntropyWithLogits")
def _sigmoid_xent_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    labels, logits = op.inputs
    return [-grad * logits, grad * (sigmoid(logits) - labels)]


def sigmoid_cross_entropy_with_logits(
    _sentinel: Any = None,
    labels: Any = None,
    logits: Any = None,
    name: str | None = None,
) -> Tensor:
    """Elementwise logistic loss of ``logits`` against ``labels`` in [0, 1], stable for any x."""
    _require_named(_sentinel, "sigmoid_cross_entropy_with_logits", labels=labels, logits=logits)
    logits = convert_to_tensor(logits)
    labels = _labels_like(labels, logits)
    return SigmoidCrossEntropyWithLogits(labels, logits, name=name)
