"""Neural-network ops: activations, l2_loss, bias_add, dropout, moments.

Every op keeps its shape rule, NumPy kernel and gradient side by side. Softmax and the
cross-entropies live in ``softmax_ops``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType
from ..errors import DTypeError, InvalidArgumentError, ShapeError
from ..graph import InplaceKernel, PlanValue, Tensor
from . import array_ops, broadcast_ops
from .base import Operation, convert_to_tensor, lift_operands
from .elementwise import Broadcasting, SameShape, _require_float, common_dtype
from .logic_ops import where
from .math_ops import sigmoid
from .plan_facts import broadcasts_to
from .reduction_ops import Moments, reduce_sum
from .registry import NotDifferentiable, RegisterGradient
from .shapes import Shape, broadcast_shapes, fmt

__all__ = ["relu"]


# -- activations ---------------------------------------------------------------------------------
class Activation(SameShape, Operation):
    """An elementwise activation of one input (``float_only`` ones refuse integers)."""

    float_only = True
    numeric = True

    def __init__(self, features: Any, name: str | None = None):
        super().__init__([features], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        if self.float_only:
            _require_float(x, self.op_type)
        elif x.dtype is not None and x.dtype.is_bool:
            raise DTypeError(f"{self.op_type} needs a numeric dtype, got bool")
        return self.shape_rule(x.shape), x.dtype


class ActivationGrad(Broadcasting, Operation):
    """``grad`` times an activation's derivative, read off ``ref`` (its input or output)."""

    numeric = True

    def __init__(self, grad: Tensor, ref: Tensor, name: str | None = None):
        super().__init__([grad, ref], name=name)

    def infer(self, grad: Tensor, ref: Tensor) -> tuple[Shape, DType | None]:
        return self.shape_rule(grad.shape, ref.shape), grad.dtype


class Relu(Activation):
    """``max(x, 0)``."""

    op_type = "Relu"
    float_only = False
    alias_inputs = ()

    def compute(self, x: Any) -> np.ndarray:
        return np.maximum(x, 0)

    def inplace_kernel(self, args: Sequence[PlanValue], store: Any) -> InplaceKernel:
        return InplaceKernel((0,), _relu_into_input)


def _relu_into_input(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, out=x)


class ReluGrad(ActivationGrad):
    """``grad`` where the relu's output is positive, else 0."""

    op_type = "ReluGrad"
    alias_inputs = ()

    def compute(self, grad: Any, y: Any) -> np.ndarray:
        return grad * (y > 0)

    def inplace_kernel(self, args: Sequence[PlanValue], store: Any) -> InplaceKernel:
        return InplaceKernel((0,), _relu_grad_into_input)

    def takes_broadcast(self, position: int, syms: Sequence[Any], out_sym: Any) -> bool:
        return broadcasts_to(syms, out_sym)


def _relu_grad_into_input(grad: np.ndarray, y: Any) -> np.ndarray:
    return np.multiply(grad, y > 0, out=grad)


@RegisterGradient("Relu")
def _relu_grad(op: Operation, grad: Tensor) -> Tensor:
    return ReluGrad(grad, op.outputs[0])


@RegisterGradient("ReluGrad")
def _relu_grad_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [ReluGrad(grad, op.inputs[1]), None]


class Relu6(Activation):
    """``min(max(x, 0), 6)``."""

    op_type = "Relu6"
    float_only = False

    def compute(self, x: Any) -> np.ndarray:
        return np.clip(x, 0, 6)


class Relu6Grad(ActivationGrad):
    """``grad`` where the input lies strictly between 0 and 6, else 0."""

    op_type = "Relu6Grad"

    def compute(self, grad: Any, x: Any) -> np.ndarray:
        return grad * ((x > 0) & (x < 6))


@RegisterGradient("Relu6")
def _relu6_grad(op: Operation, grad: Tensor) -> Tensor:
    return Relu6Grad(grad, op.inputs[0])


@RegisterGradient("Relu6Grad")
def _relu6_grad_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [Relu6Grad(grad, op.inputs[1]), None]


class LeakyRelu(Activation):
    """``x`` where positive, else ``alpha * x``."""

    op_type = "LeakyRelu"

    def __init__(self, features: Any, alpha: float = 0.2, name: str | None = None):
        self.alpha = float(np.float32(alpha))  # a float32 attribute in TF1, whatever x's dtype
        super().__init__(features, name=name)

    def compute(self, x: Any) -> np.ndarray:
        return np.where(x > 0, x, self.alpha * x)


class LeakyReluGrad(ActivationGrad):
    """``grad`` where the input is positive, else ``alpha * grad``."""

    op_type = "LeakyReluGrad"

    def __init__(self, grad: Tensor, x: Tensor, alpha: float, name: str | None = None):
        self.alpha = alpha
        super().__init__(grad, x, name=name)

    def compute(self, grad: Any, x: Any) -> np.ndarray:
        return np.where(x > 0, grad, self.alpha * grad)


@RegisterGradient("LeakyRelu")
def _leaky_relu_grad(op: Operation, grad: Tensor) -> Tensor:
    return LeakyReluGrad(grad, op.inputs[0], op.alpha)


@RegisterGradient("LeakyReluGrad")
def _leaky_relu_grad_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [LeakyReluGrad(grad, op.inputs[1], op.alpha), None]


class Elu(Activation):
    """``x`` where positive, else ``exp(x) - 1``."""

    op_type = "Elu"

    def compute(self, x: Any) -> np.ndarray:
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


class EluGrad(ActivationGrad):
    """``grad`` where the elu's output is positive, else ``grad * (output + 1)``."""

    op_type = "EluGrad"

    def compute(self, grad: Any, y: Any) -> np.ndarray:
        return np.where(y > 0, grad, grad * (y + 1))


@RegisterGradient("Elu")
def _elu_grad(op: Operation, grad: Tensor) -> Tensor:
    return EluGrad(grad, op.outputs[0])


@RegisterGradient("EluGrad")
def _elu_grad_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    upstream, y = op.inputs
    negative_part = where(y < 0, grad * upstream, array_ops.zeros_like(grad))
    return [EluGrad(grad, y), negative_part]


class Softplus(Activation):
    """``log(1 + exp(x))``, computed as ``logaddexp(0, x)`` so it never overflows."""

    op_type = "Softplus"

    def kernel(self) -> Callable[..., Any]:
        return _softplus_kernel


def _softplus_kernel(x: Any) -> np.ndarray:
    return np.logaddexp(0, x)


@RegisterGradient("Softplus")
def _softplus_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad * sigmoid(op.inputs[0])


def relu(features: Any, name: str | None = None) -> Tensor:
    """``max(features, 0)``."""
    return Relu(features, name=name)


def relu6(features: Any, name: str | None = None) -> Tensor:
    """``min(max(features, 0), 6)``."""
    return Relu6(features, name=name)


def leaky_relu(features: Any, alpha: float = 0.2, name: str | None = None) -> Tensor:
    """``features`` where positive, else ``alpha * features`` (TF1's default alpha is 0.2)."""
    return LeakyRelu(features, alpha=alpha, name=name)


def elu(features: Any, name: str | None = None) -> Tensor:
    """Exponential linear unit: ``x`` for ``x > 0``, else ``exp(x) - 1``."""
    return Elu(features, name=name)


def softplus(features: Any, name: str | None = None) -> Tensor:
    """``log(exp(features) + 1)``, stable for large inputs of either sign."""
    return Softplus(features, name=name)


# -- l2_loss, bias_add ------------------------------------------------------------------------------
class L2Loss(Operation):
    """``sum(t ** 2) / 2``: a scalar, the usual weight-decay term."""

    op_type = "L2Loss"

    def __init__(self, t: Any, name: str | None = None):
        super().__init__([t], name=name)

    def infer(self, t: Tensor) -> tuple[Shape, DType | None]:
        _require_float(t, self.op_type)
        return (), t.dtype

    def compute(self, t: Any) -> np.ndarray:
        t = np.asarray(t)
        return np.asarray(np.vdot(t, t) / 2, dtype=t.dtype)


@RegisterGradient("L2Loss")
def _l2_loss_grad(op: Operation, grad: Tensor) -> Tensor:
    return grad * op.inputs[0]


def l2_loss(t: Any, name: str | None = None) -> Tensor:
    """``sum(t ** 2) / 2``."""
    return L2Loss(t, name=name)


class BiasAdd(Operation):
    """``value + bias`` with a 1-D ``bias`` along the channel axis (last, or 1 for NCHW)."""

    op_type = "BiasAdd"
    numeric = True
    alias_inputs = ()  # np.add makes a new array

    def __init__(
        self, value: Any, bias: Any, data_format: str | None = None, name: str | None = None
    ):
        self.channels_first = (data_format or "NHWC").upper().startswith("NC")
        super().__init__(lift_operands([value, bias]), name=name)

    def infer(self, value: Tensor, bias: Tensor) -> tuple[Shape, DType | None]:
        dtype = common_dtype([value, bias])
        if bias.shape is not None and len(bias.shape) != 1:
            raise ShapeError(f"bias must be 1-D, got shape {fmt(bias.shape)}")
        if value.shape is None:
            if self.channels_first:
                raise ShapeError("bias_add with data_format NCHW needs a value of known rank")
            return None, dtype
        if len(value.shape) < 2:
            raise ShapeError(f"bias_add needs a value of rank >= 2, got {fmt(value.shape)}")
        channels = value.shape[self.channel_axis(len(value.shape))]
        size = None if bias.shape is None else bias.shape[0]
        if channels is not None and size is not None and channels != size:
            raise ShapeError(
                f"bias of size {size} does not match the {channels} channels of "
                f"value {fmt(value.shape)}"
            )
        return self.shape_rule(value.shape, bias.shape), dtype

    def shape_rule(self, value: Shape, bias: Shape) -> Shape:
        return value

    def channel_axis(self, rank: int) -> int:
        return 1 if self.channels_first else rank - 1

    def compute(self, value: Any, bias: Any) -> np.ndarray:
        if self.channels_first:
            bias = np.reshape(bias, (-1,) + (1,) * (np.ndim(value) - 2))
        return np.add(value, bias)

    def inplace_kernel(self, args: Sequence[PlanValue], store: Any) -> InplaceKernel | None:
        """Channels last, the sum may go into ``value`` (a dying matmul result)."""
        return None if self.channels_first else InplaceKernel((0,), _bias_add_into_value)


def _bias_add_into_value(value: np.ndarray, bias: Any) -> np.ndarray:
    return np.add(value, bias, out=value)


@RegisterGradient("BiasAdd")
def _bias_add_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    value, bias = op.inputs
    if not op.channels_first:
        return [grad, broadcast_ops.sum_to_like(grad, bias)]
    rank = len(value.shape)
    axes = [a for a in range(rank) if a != 1]
    return [grad, reduce_sum(grad, axis=axes)]


def bias_add(value: Any, bias: Any, data_format: str | None = None, name: str | None = None):
    """Add a 1-D ``bias`` to ``value`` along its channel axis (last by default)."""
    return BiasAdd(value, bias, data_format=data_format, name=name)


# -- dropout ----------------------------------------------------------------------------------------
class DropoutMask(Operation):
    """Random ``{0, 1/keep_prob}`` mask: each unit is kept with probability ``keep_prob``.

    The mask is its own node, so the forward pass and the gradient share one draw per run.
    Draws come from the session's generator for this op, seeded as TF1 seeds random ops.
    """

    op_type = "DropoutMask"
    pure = False
    differentiable = False

    def __init__(
        self,
        x: Tensor,
        keep_prob: Tensor,
        noise_shape: tuple[int, ...] | None,
        seed: int | None,
        name: str | None = None,
    ):
        from .random_ops import get_seed

        self.noise_shape = noise_shape
        self.seeds = get_seed(seed, x.graph)
        super().__init__([x, keep_prob], name=name)

    def infer(self, x: Tensor, keep_prob: Tensor) -> tuple[Shape, DType | None]:
        if keep_prob.shape is not None and len(keep_prob.shape) != 0:
            raise ShapeError(f"keep_prob must be a scalar, got shape {fmt(keep_prob.shape)}")
        if self.noise_shape is None:
            return x.shape, x.dtype
        broadcast_shapes(x.shape, self.noise_shape)
        return self.noise_shape, x.dtype

    def writes(self) -> tuple[Tensor, ...]:
        return (self,)  # the op's generator in the session

    def bind(self, context: Any) -> Callable[[Any, Any], np.ndarray]:
        rng = context.store.rng(self, self.seeds)
        noise_shape = self.noise_shape

        def draw_mask(x: Any, keep_prob: Any) -> np.ndarray:
            keep = float(keep_prob)
            if not 0.0 < keep <= 1.0:
                raise InvalidArgumentError(f"keep_prob must be in (0, 1], got {keep}")
            x = np.asarray(x)
            shape = np.shape(x) if noise_shape is None else noise_shape
            kept = rng.random(shape, dtype=np.float32) < keep
            return np.multiply(kept, 1.0 / keep, dtype=x.dtype)

        return draw_mask


NotDifferentiable("DropoutMask")


def _dropout_keep_prob(keep_prob: Any, rate: Any) -> Any:
    if (keep_prob is None) == (rate is None):
        raise InvalidArgumentError("dropout needs exactly one of keep_prob and rate")
    if rate is None:
        if isinstance(keep_prob, int | float) and not 0.0 < keep_prob <= 1.0:
            raise InvalidArgumentError(f"keep_prob must be in (0, 1], got {keep_prob}")
        return keep_prob
    if isinstance(rate, int | float) and not 0.0 <= rate < 1.0:
        raise InvalidArgumentError(f"rate must be in [0, 1), got {rate}")
    return 1.0 - rate


def dropout(
    x: Any,
    keep_prob: Any = None,
    noise_shape: Any = None,
    seed: int | None = None,
    name: str | None = None,
    rate: Any = None,
) -> Tensor:
    """Zero each unit with probability ``1 - keep_prob`` and scale the rest by ``1/keep_prob``.

    ``keep_prob`` (or ``rate = 1 - keep_prob``) may be a number or a scalar node such as a
    placeholder fed 1.0 at test time. Each run draws a new mask.
    """
    keep = _dropout_keep_prob(keep_prob, rate)
    x = convert_to_tensor(x)
    _require_float(x, "dropout")
    if isinstance(keep, int | float) and keep == 1.0:
        return x
    graph = x.graph
    with graph.as_default(), graph.name_scope(name or "dropout"):
        keep_node = convert_to_tensor(keep, graph=graph, dtype_hint=x.dtype)
        shape = None if noise_shape is None else tuple(int(d) for d in noise_shape)
        mask = DropoutMask(x, keep_node, shape, seed, name="mask")
        return x * mask


# -- moments ----------------------------------------------------------------------------------------
def moments(
    x: Any,
    axes: Any,
    shift: Any = None,
    name: str | None = None,
    keep_dims: bool | None = None,
    keepdims: bool | None = None,
) -> tuple[Tensor, Tensor]:
    """``(mean, variance)`` of ``x`` over ``axes`` (variance uses the mean, divides by n)."""
    keep = bool(keepdims if keepdims is not None else keep_dims)
    x = convert_to_tensor(x)
    _require_float(x, "moments")
    op = Moments(x, axis=axes, keepdims=keep, name=name or "moments")
    mean, variance = op.outputs
    return mean, variance
