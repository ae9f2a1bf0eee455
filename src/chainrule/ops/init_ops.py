"""Initializers, as TF1's: objects called as ``init(shape, dtype=...)`` giving an initial value.

Each call returns a graph node (a constant or a random op) usable as a Variable's initial
value; random initializers draw again whenever the variable is (re)initialised, seeded by
``set_random_seed`` and their own ``seed`` like every random op.

    w = cr.Variable(cr.glorot_uniform_initializer()((784, 128)))
    b = cr.get_variable("b", [128], initializer=cr.zeros_initializer())
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..dtypes import DType, as_dtype, float32
from ..errors import DTypeError, InvalidArgumentError, ShapeError
from ..graph import Tensor
from . import random_ops
from .base import Constant as ConstantNode

__all__ = [
    "zeros_initializer",
    "ones_initializer",
    "constant_initializer",
    "random_normal_initializer",
    "random_uniform_initializer",
    "truncated_normal_initializer",
    "glorot_uniform_initializer",
    "glorot_normal_initializer",
    "variance_scaling_initializer",
]


def _full_shape(shape: Any) -> tuple[int, ...]:
    """``shape`` as a tuple of ints; initializers need every dimension known."""
    dims = getattr(shape, "dims", shape)
    if isinstance(dims, int | np.integer):
        return (int(dims),)
    if dims is None or any(d is None or int(d) < 0 for d in dims):
        raise ShapeError(f"an initializer needs a fully known shape, got {shape!r}")
    return tuple(int(d) for d in dims)


def _float(dtype: Any, who: str) -> DType:
    resolved = as_dtype(dtype)
    if resolved is None or not resolved.is_floating:
        raise DTypeError(f"{who} needs a floating dtype, got {dtype!r}")
    return resolved


class Initializer:
    """Base class: ``init(shape, dtype=None, partition_info=None)`` returns a node."""

    def __init__(self, dtype: Any = float32):
        self.dtype = as_dtype(dtype) or float32

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dtype = as_dtype(dtype) or self.dtype
        return ConstantNode(np.zeros(_full_shape(shape), dtype.np), name="zeros")

    def get_config(self) -> dict[str, Any]:
        return {"dtype": self.dtype.name}


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dtype = as_dtype(dtype) or self.dtype
        return ConstantNode(np.ones(_full_shape(shape), dtype.np), name="ones")

    def get_config(self) -> dict[str, Any]:
        return {"dtype": self.dtype.name}


class Constant(Initializer):
    """A scalar broadcast to the shape, or an array (or list) with exactly that many values."""

    def __init__(self, value: Any = 0, dtype: Any = float32, verify_shape: bool = False):
        super().__init__(dtype)
        self.value = np.array(value)
        self.verify_shape = verify_shape

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dtype = as_dtype(dtype) or self.dtype
        shape = _full_shape(shape)
        value = self.value
        if value.size == 1 and not self.verify_shape:
            array = np.full(shape, value.reshape(()), dtype=dtype.np)
        elif value.size == int(np.prod(shape, dtype=np.int64)) and (
            not self.verify_shape or value.shape == shape
        ):
            array = value.reshape(shape).astype(dtype.np)
        else:
            raise ShapeError(
                f"constant_initializer has a value of shape {value.shape} "
                f"({value.size} values); it cannot fill shape {shape}"
            )
        return ConstantNode(array, name="Const")

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value.tolist(), "dtype": self.dtype.name}


class RandomNormal(Initializer):
    """Samples of ``N(mean, stddev**2)``."""

    def __init__(
        self, mean: float = 0.0, stddev: float = 1.0, seed: int | None = None, dtype: Any = float32
    ):
        super().__init__(_float(dtype, "random_normal_initializer"))
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dtype = _float(dtype or self.dtype, "random_normal_initializer")
        return random_ops.random_normal(
            _full_shape(shape), self.mean, self.stddev, dtype, seed=self.seed
        )

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Samples uniform on ``[minval, maxval)``."""

    def __init__(
        self,
        minval: float = 0.0,
        maxval: float | None = None,
        seed: int | None = None,
        dtype: Any = float32,
    ):
        super().__init__(dtype)
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dtype = as_dtype(dtype) or self.dtype
        return random_ops.random_uniform(
            _full_shape(shape), self.minval, self.maxval, dtype, seed=self.seed
        )

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal samples, redrawn when more than two standard deviations from the mean."""

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dtype = _float(dtype or self.dtype, "truncated_normal_initializer")
        return random_ops.truncated_normal(
            _full_shape(shape), self.mean, self.stddev, dtype, seed=self.seed
        )


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("normal", "uniform", "truncated_normal", "untruncated_normal")
#: the standard deviation of a unit normal truncated to [-2, 2]
_TRUNCATED_STDDEV = 0.87962566103423978


def compute_fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """``(fan_in, fan_out)`` as TF1 counts them (convolution kernels: times the window size)."""
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = float(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(Initializer):
    """Samples whose variance is ``scale / n``, n being fan_in, fan_out or their mean.

    ``distribution``: "truncated_normal" (also "normal", TF1's old name for it),
    "untruncated_normal" or "uniform" (on ``±sqrt(3 * scale / n)``).
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
        dtype: Any = float32,
    ):
        if scale <= 0.0:
            raise InvalidArgumentError(f"scale must be positive, got {scale}")
        if mode not in _MODES:
            raise InvalidArgumentError(f"mode must be one of {_MODES}, got {mode!r}")
        if distribution.lower() not in _DISTRIBUTIONS:
            raise InvalidArgumentError(
                f"distribution must be one of {_DISTRIBUTIONS}, got {distribution!r}"
            )
        super().__init__(_float(dtype, "variance_scaling_initializer"))
        self.scale, self.mode, self.seed = scale, mode, seed
        self.distribution = distribution.lower()

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        dtype = _float(dtype or self.dtype, type(self).__name__)
        shape = _full_shape(shape)
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        scale = self.scale / max(1.0, fan[self.mode])
        if self.distribution in ("normal", "truncated_normal"):
            stddev = math.sqrt(scale) / _TRUNCATED_STDDEV
            return random_ops.truncated_normal(shape, 0.0, stddev, dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return random_ops.random_normal(shape, 0.0, math.sqrt(scale), dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return random_ops.random_uniform(shape, -limit, limit, dtype, seed=self.seed)

    def get_config(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
        }


class GlorotUniform(VarianceScaling):
    """Xavier/Glorot uniform: uniform on ``±sqrt(6 / (fan_in + fan_out))``."""

    def __init__(self, seed: int | None = None, dtype: Any = float32):
        super().__init__(1.0, "fan_avg", "uniform", seed=seed, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


class GlorotNormal(VarianceScaling):
    """Xavier/Glorot normal: truncated normal of variance ``2 / (fan_in + fan_out)``."""

    def __init__(self, seed: int | None = None, dtype: Any = float32):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed=seed, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


def he_normal(seed: int | None = None) -> VarianceScaling:
    """He et al.: truncated normal of variance ``2 / fan_in`` (for relu networks)."""
    return VarianceScaling(2.0, "fan_in", "truncated_normal", seed=seed)


def he_uniform(seed: int | None = None) -> VarianceScaling:
    """He et al.: uniform on ``±sqrt(6 / fan_in)``."""
    return VarianceScaling(2.0, "fan_in", "uniform", seed=seed)


def lecun_normal(seed: int | None = None) -> VarianceScaling:
    """LeCun: truncated normal of variance ``1 / fan_in``."""
    return VarianceScaling(1.0, "fan_in", "truncated_normal", seed=seed)


def lecun_uniform(seed: int | None = None) -> VarianceScaling:
    """LeCun: uniform on ``±sqrt(3 / fan_in)``."""
    return VarianceScaling(1.0, "fan_in", "uniform", seed=seed)


def as_initializer(init: Any) -> Any:
    """An initializer instance from an instance, an initializer class, or any callable."""
    if isinstance(init, type) and issubclass(init, Initializer):
        return init()
    return init


zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_normal_initializer = RandomNormal
random_uniform_initializer = RandomUniform
truncated_normal_initializer = TruncatedNormal
variance_scaling_initializer = VarianceScaling
glorot_uniform_initializer = GlorotUniform
glorot_normal_initializer = GlorotNormal
