"""``chainrule.nn``: TF1's ``tf.nn`` — activations, softmax, cross-entropies, dropout, moments,
convolution, pooling, batch normalization and embeddings.

logits = cr.matmul(x, w) + b
loss = cr.reduce_mean(cr.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
"""

from typing import Any

from . import rnn as rnn_cell  # noqa: F401 - TF1's tf.nn.rnn_cell namespace
from .graph import Tensor
from .ops.conv_ops import (
    avg_pool,
    batch_normalization,
    conv1d,
    conv2d,
    conv2d_backprop_filter,
    conv2d_backprop_input,
    conv2d_transpose,
    depthwise_conv2d,
    embedding_lookup,
    fused_batch_norm,
    local_response_normalization,
    max_pool,
    max_pool_with_argmax,
    separable_conv2d,
)
from .ops.logic_ops import where
from .ops.math_ops import abs, maximum, rsqrt, sigmoid, square, tanh
from .ops.nn_ops import bias_add, dropout, elu, l2_loss, leaky_relu, moments, relu, relu6, softplus
from .ops.reduction_ops import reduce_sum
from .ops.softmax_ops import (
    log_softmax,
    sigmoid_cross_entropy_with_logits,
    softmax,
    softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_v2,
    sparse_softmax_cross_entropy_with_logits,
)
from .rnn import bidirectional_dynamic_rnn, dynamic_rnn, static_rnn

__all__ = [
    "sigmoid",
    "tanh",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "softplus",
    "softmax",
    "log_softmax",
    "softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits_v2",
    "sparse_softmax_cross_entropy_with_logits",
    "sigmoid_cross_entropy_with_logits",
    "l2_loss",
    "dropout",
    "moments",
    "bias_add",
    "l2_normalize",
    "selu",
    "softsign",
    "conv2d",
    "conv2d_backprop_input",
    "conv2d_backprop_filter",
    "conv1d",
    "max_pool",
    "avg_pool",
    "batch_normalization",
    "fused_batch_norm",
    "embedding_lookup",
    "conv2d_transpose",
    "depthwise_conv2d",
    "separable_conv2d",
    "max_pool_with_argmax",
    "local_response_normalization",
    "lrn",
    "dynamic_rnn",
    "static_rnn",
    "bidirectional_dynamic_rnn",
]

#: TF1's short name
lrn = local_response_normalization

#: SELU's constants (Klambauer et al.), as TF1 uses them
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def l2_normalize(
    x: Any,
    axis: Any = None,
    epsilon: float = 1e-12,
    name: str | None = None,
    dim: Any = None,
) -> Tensor:
    """``x / sqrt(max(sum(x**2, axis), epsilon))``: unit L2 norm along ``axis``, as TF1."""
    axis = dim if axis is None else axis
    square_sum = reduce_sum(square(x), axis=axis, keepdims=True)
    return x * rsqrt(maximum(square_sum, epsilon))


def selu(features: Any, name: str | None = None) -> Tensor:
    """Scaled exponential linear unit: ``scale * x`` for ``x > 0``, else
    ``scale * alpha * (exp(x) - 1)``."""
    return _SELU_SCALE * where(features < 0, _SELU_ALPHA * elu(features), features)


def softsign(features: Any, name: str | None = None) -> Tensor:
    """``x / (1 + |x|)``."""
    return features / (1.0 + abs(features))
