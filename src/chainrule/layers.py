"""``chainrule.layers``: TF1's ``tf.layers`` — dense, flatten, dropout, conv1d, conv2d,
conv2d_transpose, pooling and batch normalization, as functions and classes.

A layer creates its variables under its name, as TF does: the first ``dense`` layer owns
``dense/kernel`` and ``dense/bias``, the next ``dense_1/kernel`` and ``dense_1/bias``.

    hidden = cr.layers.dense(x, 64, activation=cr.nn.relu)
    logits = cr.layers.dense(hidden, 10)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .dtypes import DType, float32
from .errors import DTypeError, InvalidArgumentError, ShapeError
from .graph import GraphKeys, Tensor
from .ops import array_ops, conv_ops, init_ops, nn_ops, shape_ops, state_ops
from .ops.base import Operation, convert_to_tensor
from .ops.linalg_ops import matmul
from .ops.logic_ops import where
from .ops.registry import RegisterGradient
from .ops.shapes import Shape, fmt, is_known
from .ops.state_ops import Variable

__all__ = [
    "Dense",
    "dense",
    "Flatten",
    "flatten",
    "Dropout",
    "dropout",
    "Conv2D",
    "conv2d",
    "MaxPooling2D",
    "max_pooling2d",
    "AveragePooling2D",
    "average_pooling2d",
    "BatchNormalization",
    "batch_normalization",
    "Conv2DTranspose",
    "conv2d_transpose",
    "Conv1D",
    "conv1d",
]


class Layer:
    """Base of the layer classes: a name scope, created variables, and ``__call__``."""

    default_name = "layer"

    def __init__(self, trainable: bool = True, name: str | None = None):
        self.trainable = trainable
        self.name = name
        self.built = False
        self._variables: list[Variable] = []

    def __call__(self, inputs: Any) -> Tensor:
        inputs = convert_to_tensor(inputs)
        graph = inputs.graph
        with graph.as_default(), graph.name_scope(self.name or self.default_name) as scope:
            if not self.built:
                self.name = scope.rstrip("/")
                self.build(inputs)
                self.built = True
            return self.call(inputs)

    def build(self, inputs: Tensor) -> None:
        """Create the variables (on the first call, inside the layer's name scope)."""

    def call(self, inputs: Tensor) -> Tensor:
        raise NotImplementedError

    def add_weight(
        self,
        name: str,
        shape: tuple[int, ...],
        dtype: DType,
        initializer: Any,
        regularizer: Callable[[Tensor], Tensor] | None = None,
    ) -> Variable:
        """A variable named ``<layer>/<name>`` with its initial value from ``initializer``."""
        initializer = init_ops.as_initializer(initializer)
        initial = initializer(shape, dtype=dtype) if callable(initializer) else initializer
        var = Variable(initial, trainable=self.trainable, name=name, dtype=dtype)
        self._variables.append(var)
        if regularizer is not None:
            penalty = regularizer(var)
            if penalty is not None:
                var.graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, penalty)
        return var

    @property
    def variables(self) -> list[Variable]:
        return list(self._variables)

    weights = variables

    @property
    def trainable_variables(self) -> list[Variable]:
        return [v for v in self._variables if v.trainable]

    trainable_weights = trainable_variables


class Dense(Layer):
    """``activation(inputs @ kernel + bias)``; the kernel is ``(input size, units)``."""

    default_name = "dense"

    def __init__(
        self,
        units: int,
        activation: Callable[[Tensor], Tensor] | None = None,
        use_bias: bool = True,
        kernel_initializer: Any = None,
        bias_initializer: Any = None,
        kernel_regularizer: Callable[[Tensor], Tensor] | None = None,
        bias_regularizer: Callable[[Tensor], Tensor] | None = None,
        trainable: bool = True,
        name: str | None = None,
    ):
        super().__init__(trainable=trainable, name=name)
        if int(units) <= 0:
            raise ShapeError(f"dense needs a positive number of units, got {units}")
        self.units = int(units)
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer or init_ops.glorot_uniform_initializer()
        self.bias_initializer = bias_initializer or init_ops.zeros_initializer()
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel: Variable | None = None
        self.bias: Variable | None = None

    def build(self, inputs: Tensor) -> None:
        if inputs.shape is None or len(inputs.shape) < 2 or inputs.shape[-1] is None:
            raise ShapeError(
                f"dense needs an input of rank >= 2 whose last dimension is known, got "
                f"{fmt(inputs.shape)}",
                inputs,
            )
        if inputs.dtype is not None and not inputs.dtype.is_floating:
            raise DTypeError(
                f"dense needs a floating input, got {inputs.dtype.name}; use cast()", inputs
            )
        dtype = inputs.dtype or float32
        self.kernel = self.add_weight(
            "kernel",
            (int(inputs.shape[-1]), self.units),
            dtype,
            self.kernel_initializer,
            self.kernel_regularizer,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", (self.units,), dtype, self.bias_initializer, self.bias_regularizer
            )

    def call(self, inputs: Tensor) -> Tensor:
        outputs = matmul(inputs, self.kernel)
        if self.use_bias:
            outputs = nn_ops.bias_add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


def dense(
    inputs: Any,
    units: int,
    activation: Callable[[Tensor], Tensor] | None = None,
    use_bias: bool = True,
    kernel_initializer: Any = None,
    bias_initializer: Any = None,
    kernel_regularizer: Callable[[Tensor], Tensor] | None = None,
    bias_regularizer: Callable[[Tensor], Tensor] | None = None,
    trainable: bool = True,
    name: str | None = None,
) -> Tensor:
    """A fully connected layer: ``activation(inputs @ kernel + bias)``, creating its variables.

    The kernel starts Glorot-uniform and the bias at zero unless initializers are given.
    """
    layer = Dense(
        units,
        activation=activation,
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        bias_initializer=bias_initializer,
        kernel_regularizer=kernel_regularizer,
        bias_regularizer=bias_regularizer,
        trainable=trainable,
        name=name,
    )
    return layer(inputs)


# -- flatten ---------------------------------------------------------------------------------
class FlattenBatch(Operation):
    """``x`` reshaped to ``(batch, everything else)`` when the other sizes are only known late."""

    op_type = "FlattenBatch"

    def __init__(self, x: Tensor, name: str | None = None):
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        if x.shape is None:
            return (None, None), x.dtype
        if len(x.shape) == 0:
            raise ShapeError("flatten needs an input of rank >= 1, got a scalar")
        rest = x.shape[1:]
        size = int(np.prod(rest, dtype=np.int64)) if is_known(rest) else None
        return (x.shape[0], size), x.dtype

    def compute(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        return np.reshape(x, (x.shape[0], -1))


@RegisterGradient("FlattenBatch")
def _flatten_batch_grad(op: Tensor, grad: Tensor) -> Tensor:
    return shape_ops.ReshapeLike(grad, op.inputs[0])


class Flatten(Layer):
    """Keep the first (batch) axis and flatten the others into one."""

    default_name = "flatten"

    def call(self, inputs: Tensor) -> Tensor:
        shape = inputs.shape
        if shape is not None and len(shape) >= 1 and is_known(shape[1:]):
            return shape_ops.reshape(inputs, (-1, int(np.prod(shape[1:], dtype=np.int64))))
        return FlattenBatch(inputs)


def flatten(inputs: Any, name: str | None = None) -> Tensor:
    """``(batch, d1, d2, ...)`` to ``(batch, d1 * d2 * ...)``."""
    return Flatten(name=name)(inputs)


# -- dropout ---------------------------------------------------------------------------------
class Dropout(Layer):
    """Dropout that is active only while ``training`` (a bool or a boolean scalar node)."""

    default_name = "dropout"

    def __init__(
        self,
        rate: float = 0.5,
        noise_shape: Any = None,
        seed: int | None = None,
        name: str | None = None,
    ):
        super().__init__(trainable=False, name=name)
        self.rate, self.noise_shape, self.seed = rate, noise_shape, seed
        self.training: Any = False

    def __call__(self, inputs: Any, training: Any = False) -> Tensor:
        self.training = training
        return super().__call__(inputs)

    def call(self, inputs: Tensor) -> Tensor:
        if self.training is False or self.rate == 0:
            return inputs
        dropped = nn_ops.dropout(
            inputs, rate=self.rate, noise_shape=self.noise_shape, seed=self.seed
        )
        if self.training is True:
            return dropped
        return where(self.training, dropped, inputs)


def dropout(
    inputs: Any,
    rate: float = 0.5,
    noise_shape: Any = None,
    seed: int | None = None,
    training: Any = False,
    name: str | None = None,
) -> Tensor:
    """Drop units with probability ``rate`` while ``training``; identity otherwise (TF1)."""
    return Dropout(rate=rate, noise_shape=noise_shape, seed=seed, name=name)(
        inputs, training=training
    )


# -- convolution and pooling --------------------------------------------------------------------
def _two(value: Any, what: str) -> tuple[int, int]:
    """A layer's (height, width) argument: one int for both, or two."""
    items = [int(value)] * 2 if isinstance(value, int | np.integer) else [int(v) for v in value]
    if len(items) != 2 or min(items) <= 0:
        raise InvalidArgumentError(f"{what} must be one or two positive ints, got {value!r}")
    return items[0], items[1]


def _layer_padding(padding: str) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("same", "valid"):
        raise InvalidArgumentError(f"padding must be 'same' or 'valid', got {padding!r}")
    return padding.upper()


def _layer_format(data_format: str | None) -> str:
    """TF1's layer ``data_format`` ('channels_last' or 'channels_first') as NHWC or NCHW."""
    given = (data_format or "channels_last").lower()
    if given not in ("channels_last", "channels_first"):
        raise InvalidArgumentError(
            f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}"
        )
    return "NHWC" if given == "channels_last" else "NCHW"


def _require_4d(inputs: Tensor, layer: str, channel_axis: int) -> int:
    """The channel count of a 4-D input whose channels are known."""
    shape = inputs.shape
    if shape is None or len(shape) != 4 or shape[channel_axis] is None:
        raise ShapeError(
            f"{layer} needs a 4-D input whose channel count is known, got {fmt(shape)}", inputs
        )
    if inputs.dtype is not None and not inputs.dtype.is_floating:
        raise DTypeError(f"{layer} needs a floating input, got {inputs.dtype.name}", inputs)
    return int(shape[channel_axis])


class Conv2D(Layer):
    """``activation(conv2d(inputs, kernel) + bias)``; the kernel is (kh, kw, in, filters)."""

    default_name = "conv2d"

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        data_format: str | None = "channels_last",
        dilation_rate: Any = (1, 1),
        activation: Callable[[Tensor], Tensor] | None = None,
        use_bias: bool = True,
        kernel_initializer: Any = None,
        bias_initializer: Any = None,
        kernel_regularizer: Callable[[Tensor], Tensor] | None = None,
        bias_regularizer: Callable[[Tensor], Tensor] | None = None,
        trainable: bool = True,
        name: str | None = None,
    ):
        super().__init__(trainable=trainable, name=name)
        if int(filters) <= 0:
            raise ShapeError(f"conv2d needs a positive number of filters, got {filters}")
        self.filters = int(filters)
        self.kernel_size = _two(kernel_size, "kernel_size")
        self.strides = _two(strides, "strides")
        self.dilation_rate = _two(dilation_rate, "dilation_rate")
        self.padding = _layer_padding(padding)
        self.data_format = _layer_format(data_format)
        self.activation = activation
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer or init_ops.glorot_uniform_initializer()
        self.bias_initializer = bias_initializer or init_ops.zeros_initializer()
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel: Variable | None = None
        self.bias: Variable | None = None

    def build(self, inputs: Tensor) -> None:
        channels = _require_4d(inputs, "conv2d", 1 if self.data_format == "NCHW" else 3)
        dtype = inputs.dtype or float32
        self.kernel = self.add_weight(
            "kernel",
            (*self.kernel_size, channels, self.filters),
            dtype,
            self.kernel_initializer,
            self.kernel_regularizer,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", (self.filters,), dtype, self.bias_initializer, self.bias_regularizer
            )

    def call(self, inputs: Tensor) -> Tensor:
        outputs = conv_ops.conv2d(
            inputs,
            self.kernel,
            self._four(self.strides),
            self.padding,
            data_format=self.data_format,
            dilations=self._four(self.dilation_rate),
        )
        if self.use_bias:
            outputs = nn_ops.bias_add(outputs, self.bias, data_format=self.data_format)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def _four(self, pair: tuple[int, int]) -> list[int]:
        return [1, 1, *pair] if self.data_format == "NCHW" else [1, *pair, 1]


def conv2d(
    inputs: Any,
    filters: int,
    kernel_size: Any,
    strides: Any = (1, 1),
    padding: str = "valid",
    data_format: str | None = "channels_last",
    dilation_rate: Any = (1, 1),
    activation: Callable[[Tensor], Tensor] | None = None,
    use_bias: bool = True,
    kernel_initializer: Any = None,
    bias_initializer: Any = None,
    kernel_regularizer: Callable[[Tensor], Tensor] | None = None,
    bias_regularizer: Callable[[Tensor], Tensor] | None = None,
    trainable: bool = True,
    name: str | None = None,
) -> Tensor:
    """A 2-D convolution layer owning ``conv2d/kernel`` (Glorot uniform) and ``conv2d/bias``
    (zeros); ``padding`` is 'valid' (TF1's default) or 'same'."""
    layer = Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilation_rate=dilation_rate,
        activation=activation,
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        bias_initializer=bias_initializer,
        kernel_regularizer=kernel_regularizer,
        bias_regularizer=bias_regularizer,
        trainable=trainable,
        name=name,
    )
    return layer(inputs)


class Pooling2D(Layer):
    """A pooling layer: ``pool_size`` windows moved by ``strides``; no variables."""

    pool = staticmethod(conv_ops.max_pool)

    def __init__(
        self,
        pool_size: Any,
        strides: Any,
        padding: str = "valid",
        data_format: str | None = "channels_last",
        name: str | None = None,
    ):
        super().__init__(trainable=False, name=name)
        self.pool_size = _two(pool_size, "pool_size")
        self.strides = _two(strides, "strides")
        self.padding = _layer_padding(padding)
        self.data_format = _layer_format(data_format)

    def call(self, inputs: Tensor) -> Tensor:
        first = self.data_format == "NCHW"
        ksize = [1, 1, *self.pool_size] if first else [1, *self.pool_size, 1]
        strides = [1, 1, *self.strides] if first else [1, *self.strides, 1]
        return type(self).pool(inputs, ksize, strides, self.padding, self.data_format)


class MaxPooling2D(Pooling2D):
    """The largest value of each window."""

    default_name = "max_pooling2d"
    pool = staticmethod(conv_ops.max_pool)


class AveragePooling2D(Pooling2D):
    """The mean of each window (SAME windows average the entries inside the input)."""

    default_name = "average_pooling2d"
    pool = staticmethod(conv_ops.avg_pool)


def max_pooling2d(
    inputs: Any,
    pool_size: Any,
    strides: Any,
    padding: str = "valid",
    data_format: str | None = "channels_last",
    name: str | None = None,
) -> Tensor:
    """Max pooling over ``pool_size`` windows moved by ``strides``, as ``tf.layers``."""
    return MaxPooling2D(pool_size, strides, padding, data_format, name=name)(inputs)


def average_pooling2d(
    inputs: Any,
    pool_size: Any,
    strides: Any,
    padding: str = "valid",
    data_format: str | None = "channels_last",
    name: str | None = None,
) -> Tensor:
    """Average pooling over ``pool_size`` windows moved by ``strides``, as ``tf.layers``."""
    return AveragePooling2D(pool_size, strides, padding, data_format, name=name)(inputs)


# -- batch normalization ------------------------------------------------------------------------
class BatchNormalization(Layer):
    """Normalize by the batch's statistics while ``training``, by the moving averages
    otherwise; the moving-average updates go to ``GraphKeys.UPDATE_OPS`` (run them with the
    train op: ``with tf.control_dependencies(update_ops)``)."""

    default_name = "batch_normalization"

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = None,
        gamma_initializer: Any = None,
        moving_mean_initializer: Any = None,
        moving_variance_initializer: Any = None,
        beta_regularizer: Callable[[Tensor], Tensor] | None = None,
        gamma_regularizer: Callable[[Tensor], Tensor] | None = None,
        trainable: bool = True,
        name: str | None = None,
    ):
        super().__init__(trainable=trainable, name=name)
        self.axis, self.momentum, self.epsilon = int(axis), float(momentum), float(epsilon)
        self.center, self.scale = center, scale
        self.initializers = {
            "gamma": gamma_initializer or init_ops.ones_initializer(),
            "beta": beta_initializer or init_ops.zeros_initializer(),
            "moving_mean": moving_mean_initializer or init_ops.zeros_initializer(),
            "moving_variance": moving_variance_initializer or init_ops.ones_initializer(),
        }
        self.regularizers = {"gamma": gamma_regularizer, "beta": beta_regularizer}
        self.training: Any = False
        self.updates: list[Any] = []

    def __call__(self, inputs: Any, training: Any = False) -> Tensor:
        self.training = training
        return super().__call__(inputs)

    def build(self, inputs: Tensor) -> None:
        shape = inputs.shape
        if shape is None:
            raise ShapeError("batch_normalization needs an input of known rank", inputs)
        self.rank = len(shape)
        self.axis_index = self.axis % self.rank
        channels = shape[self.axis_index]
        if channels is None:
            raise ShapeError(
                f"batch_normalization needs the size of axis {self.axis} known, got {fmt(shape)}",
                inputs,
            )
        dtype = inputs.dtype or float32
        size = (int(channels),)
        self.gamma = self._weight("gamma", size, dtype) if self.scale else None
        self.beta = self._weight("beta", size, dtype) if self.center else None
        trainable, self.trainable = self.trainable, False
        self.moving_mean = self._weight("moving_mean", size, dtype)
        self.moving_variance = self._weight("moving_variance", size, dtype)
        self.trainable = trainable

    def _weight(self, name: str, size: tuple[int, ...], dtype: DType) -> Variable:
        return self.add_weight(
            name, size, dtype, self.initializers[name], self.regularizers.get(name)
        )

    def fused(self) -> str | None:
        """The data format of TF1's fused kernel for this input, if it takes it."""
        if self.rank != 4:
            return None
        return {3: "NHWC", 1: "NCHW"}.get(self.axis_index)

    def call(self, inputs: Tensor) -> Tensor:
        if self.training is False:
            return self.normalize(inputs, self.moving_mean, self.moving_variance)
        outputs, mean, variance = self.batch_statistics(inputs)
        if self.training is not True:
            moving = self.normalize(inputs, self.moving_mean, self.moving_variance)
            outputs = where(self.training, outputs, moving)
        for var, value in ((self.moving_mean, mean), (self.moving_variance, variance)):
            decay = convert_to_tensor(1.0 - self.momentum, dtype=var.dtype)
            if self.training is not True:
                decay = where(self.training, decay, array_ops.zeros_like(decay))
            update = state_ops.assign_sub(var, (var - value) * decay)
            self.updates.append(update)
            var.graph.add_to_collection(GraphKeys.UPDATE_OPS, update)
        return outputs

    def batch_statistics(self, inputs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The output normalized by the batch, the batch mean and the variance that feeds
        the moving average (Bessel-corrected by the fused kernel, as in TF1)."""
        scale, offset = self._scale_offset(inputs)
        data_format = self.fused()
        if data_format is not None:
            return conv_ops.fused_batch_norm(
                inputs, scale, offset, epsilon=self.epsilon, data_format=data_format
            )
        axes = [a for a in range(self.rank) if a != self.axis_index]
        mean, variance = nn_ops.moments(inputs, axes)
        outputs = self.normalize(inputs, mean, variance)
        return outputs, mean, variance

    def normalize(self, inputs: Tensor, mean: Tensor, variance: Tensor) -> Tensor:
        """``(inputs - mean) / sqrt(variance + epsilon) * gamma + beta`` along the axis."""
        shape = [1] * self.rank
        shape[self.axis_index] = -1

        def along(v: Tensor | None) -> Tensor | None:
            if v is None or self.axis_index == self.rank - 1:
                return v
            return shape_ops.reshape(v, shape)

        return conv_ops.batch_normalization(
            inputs,
            along(mean),
            along(variance),
            along(self.beta),
            along(self.gamma),
            self.epsilon,
        )

    def _scale_offset(self, inputs: Tensor) -> tuple[Any, Any]:
        size = int(inputs.shape[self.axis_index])
        dtype = (inputs.dtype or float32).np
        scale = self.gamma if self.gamma is not None else np.ones(size, dtype)
        offset = self.beta if self.beta is not None else np.zeros(size, dtype)
        return scale, offset


def batch_normalization(
    inputs: Any,
    axis: int = -1,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
    center: bool = True,
    scale: bool = True,
    beta_initializer: Any = None,
    gamma_initializer: Any = None,
    moving_mean_initializer: Any = None,
    moving_variance_initializer: Any = None,
    beta_regularizer: Callable[[Tensor], Tensor] | None = None,
    gamma_regularizer: Callable[[Tensor], Tensor] | None = None,
    training: Any = False,
    trainable: bool = True,
    name: str | None = None,
) -> Tensor:
    """Batch normalization as ``tf.layers``: variables ``gamma``, ``beta``, ``moving_mean`` and
    ``moving_variance``; with ``training`` (a bool or a boolean tensor) it normalizes by the
    batch and puts the moving-average updates in ``GraphKeys.UPDATE_OPS``."""
    layer = BatchNormalization(
        axis=axis,
        momentum=momentum,
        epsilon=epsilon,
        center=center,
        scale=scale,
        beta_initializer=beta_initializer,
        gamma_initializer=gamma_initializer,
        moving_mean_initializer=moving_mean_initializer,
        moving_variance_initializer=moving_variance_initializer,
        beta_regularizer=beta_regularizer,
        gamma_regularizer=gamma_regularizer,
        trainable=trainable,
        name=name,
    )
    return layer(inputs, training=training)


# -- conv2d_transpose and conv1d ------------------------------------------------------------------
def _transposed_length(size: Any, kernel: int, stride: int, padding: str) -> Any:
    """TF1's output length of a transposed convolution (``None`` when ``size`` is)."""
    if size is None:
        return None
    if padding == "SAME":
        return size * stride
    return size * stride + max(kernel - stride, 0)


class Conv2DTranspose(Conv2D):
    """The transpose of a convolution (upsampling): the kernel is (kh, kw, filters, in)."""

    default_name = "conv2d_transpose"

    def build(self, inputs: Tensor) -> None:
        channels = _require_4d(inputs, "conv2d_transpose", 1 if self.data_format == "NCHW" else 3)
        dtype = inputs.dtype or float32
        self.kernel = self.add_weight(
            "kernel",
            (*self.kernel_size, self.filters, channels),
            dtype,
            self.kernel_initializer,
            self.kernel_regularizer,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", (self.filters,), dtype, self.bias_initializer, self.bias_regularizer
            )

    def call(self, inputs: Tensor) -> Tensor:
        first = self.data_format == "NCHW"
        h_axis, w_axis = (2, 3) if first else (1, 2)
        sizes = shape_ops.shape(inputs)
        lengths = []
        for axis, k, s in zip((h_axis, w_axis), self.kernel_size, self.strides, strict=True):
            static = _transposed_length(inputs.shape[axis], k, s, self.padding)
            if static is None:
                static = _transposed_length(sizes[axis], k, s, self.padding)
            lengths.append(static)
        batch = sizes[0]
        dims = [batch, self.filters, *lengths] if first else [batch, *lengths, self.filters]
        outputs = conv_ops.conv2d_transpose(
            inputs,
            self.kernel,
            array_ops.stack(dims),
            self._four(self.strides),
            self.padding,
            data_format=self.data_format,
            dilations=self._four(self.dilation_rate),
        )
        if self.use_bias:
            outputs = nn_ops.bias_add(outputs, self.bias, data_format=self.data_format)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


def conv2d_transpose(
    inputs: Any,
    filters: int,
    kernel_size: Any,
    strides: Any = (1, 1),
    padding: str = "valid",
    data_format: str | None = "channels_last",
    activation: Callable[[Tensor], Tensor] | None = None,
    use_bias: bool = True,
    kernel_initializer: Any = None,
    bias_initializer: Any = None,
    kernel_regularizer: Callable[[Tensor], Tensor] | None = None,
    bias_regularizer: Callable[[Tensor], Tensor] | None = None,
    trainable: bool = True,
    name: str | None = None,
) -> Tensor:
    """A transposed 2-D convolution layer (``conv2d_transpose/kernel`` and ``/bias``); 'same'
    multiplies the size by the stride."""
    layer = Conv2DTranspose(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        data_format=data_format,
        activation=activation,
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        bias_initializer=bias_initializer,
        kernel_regularizer=kernel_regularizer,
        bias_regularizer=bias_regularizer,
        trainable=trainable,
        name=name,
    )
    return layer(inputs)


class Conv1D(Layer):
    """``activation(conv1d(inputs, kernel) + bias)`` over (batch, width, channels)."""

    default_name = "conv1d"

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = "channels_last",
        dilation_rate: Any = 1,
        activation: Callable[[Tensor], Tensor] | None = None,
        use_bias: bool = True,
        kernel_initializer: Any = None,
        bias_initializer: Any = None,
        kernel_regularizer: Callable[[Tensor], Tensor] | None = None,
        bias_regularizer: Callable[[Tensor], Tensor] | None = None,
        trainable: bool = True,
        name: str | None = None,
    ):
        super().__init__(trainable=trainable, name=name)
        self.filters = int(filters)
        self.kernel_size = _one_int(kernel_size, "kernel_size")
        self.strides = _one_int(strides, "strides")
        self.dilation_rate = _one_int(dilation_rate, "dilation_rate")
        self.padding = _layer_padding(padding)
        self.channels_first = _layer_format(data_format) == "NCHW"
        self.activation, self.use_bias = activation, use_bias
        self.kernel_initializer = kernel_initializer or init_ops.glorot_uniform_initializer()
        self.bias_initializer = bias_initializer or init_ops.zeros_initializer()
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer

    def build(self, inputs: Tensor) -> None:
        shape = inputs.shape
        axis = 1 if self.channels_first else 2
        if shape is None or len(shape) != 3 or shape[axis] is None:
            raise ShapeError(
                f"conv1d needs a 3-D input whose channel count is known, got {fmt(shape)}",
                inputs,
            )
        dtype = inputs.dtype or float32
        self.kernel = self.add_weight(
            "kernel",
            (self.kernel_size, int(shape[axis]), self.filters),
            dtype,
            self.kernel_initializer,
            self.kernel_regularizer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", (self.filters,), dtype, self.bias_initializer, self.bias_regularizer
            )

    def call(self, inputs: Tensor) -> Tensor:
        data_format = "NCW" if self.channels_first else "NWC"
        outputs = conv_ops.conv1d(
            inputs,
            self.kernel,
            self.strides,
            self.padding,
            data_format=data_format,
            dilations=self.dilation_rate,
        )
        if self.bias is not None:
            outputs = nn_ops.bias_add(
                outputs, self.bias, data_format="NCW" if self.channels_first else None
            )
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


def _one_int(value: Any, what: str) -> int:
    items = [int(value)] if isinstance(value, int | np.integer) else [int(v) for v in value]
    if len(items) != 1 or items[0] <= 0:
        raise InvalidArgumentError(f"{what} must be one positive int, got {value!r}")
    return items[0]


def conv1d(
    inputs: Any,
    filters: int,
    kernel_size: Any,
    strides: Any = 1,
    padding: str = "valid",
    data_format: str | None = "channels_last",
    dilation_rate: Any = 1,
    activation: Callable[[Tensor], Tensor] | None = None,
    use_bias: bool = True,
    kernel_initializer: Any = None,
    bias_initializer: Any = None,
    kernel_regularizer: Callable[[Tensor], Tensor] | None = None,
    bias_regularizer: Callable[[Tensor], Tensor] | None = None,
    trainable: bool = True,
    name: str | None = None,
) -> Tensor:
    """A 1-D convolution layer owning ``conv1d/kernel`` (width, in, filters) and ``/bias``."""
    layer = Conv1D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        data_format=data_format,
        dilation_rate=dilation_rate,
        activation=activation,
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        bias_initializer=bias_initializer,
        kernel_regularizer=kernel_regularizer,
        bias_regularizer=bias_regularizer,
        trainable=trainable,
        name=name,
    )
    return layer(inputs)
