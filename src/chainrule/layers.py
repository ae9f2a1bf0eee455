"""``chainrule.layers``: TF1's ``tf.layers`` — dense, flatten and dropout, as functions and classes.

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
from .errors import DTypeError, ShapeError
from .graph import GraphKeys, Tensor
from .ops import init_ops, nn_ops, shape_ops
from .ops.base import Operation, convert_to_tensor
from .ops.linalg_ops import matmul
from .ops.logic_ops import where
from .ops.registry import RegisterGradient
from .ops.shapes import Shape, fmt, is_known
from .ops.state_ops import Variable

__all__ = ["Dense", "dense", "Flatten", "flatten", "Dropout", "dropout"]


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
