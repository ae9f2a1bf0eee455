"""Random ops: random_normal, random_uniform, truncated_normal, random_shuffle, set_random_seed.

Random ops are stateful: each draws from a generator that the running session keeps for it,
so successive runs give new numbers. Seeds follow TF1's rules, fixed when the op is built:

- graph seed and op seed: deterministic;
- graph seed only: the op seed is derived from the op's position in the graph;
- op seed only: the graph seed takes a fixed default;
- neither: every session draws a different sequence.

Two sessions on one seeded graph therefore draw the same sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType, as_dtype, float32, int32
from ..errors import DTypeError, FailedPreconditionError, InvalidArgumentError, ShapeError
from ..graph import Graph, Tensor, get_default_graph
from . import math_ops
from .base import Operation, convert_to_tensor, graph_of, known_value
from .registry import NotDifferentiable
from .shapes import Shape

__all__ = [
    "set_random_seed",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "random_shuffle",
]

#: the graph seed used when only an op seed is given (TF1's value)
DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2**31 - 1

Seeds = tuple[int, int] | None


def set_random_seed(seed: int | None) -> None:
    """Set the default graph's seed: random ops built afterwards become reproducible."""
    get_default_graph().seed = None if seed is None else int(seed)


def get_seed(op_seed: int | None, graph: Graph | None = None) -> Seeds:
    """TF1's ``(graph seed, op seed)`` pair for an op about to be built; ``None``: unseeded."""
    graph = graph or get_default_graph()
    if graph.seed is not None:
        if op_seed is None:
            op_seed = len(graph)
        return (int(graph.seed) % _MAXINT32, int(op_seed) % _MAXINT32)
    if op_seed is not None:
        return (DEFAULT_GRAPH_SEED, int(op_seed) % _MAXINT32)
    return None


# -- shapes given as lists, TensorShapes or nodes ---------------------------------------------
class PackShape(Operation):
    """An int32 shape vector assembled from ints and scalar nodes (``[shape(x)[0], 10]``)."""

    op_type = "PackShape"
    differentiable = False

    def __init__(self, parts: Sequence[Any], name: str | None = None):
        super().__init__(list(parts), name=name)

    def infer(self, *parts: Tensor) -> tuple[Shape, DType | None]:
        for part in parts:
            if part.dtype is not None and not part.dtype.is_integer:
                raise DTypeError(f"shape entries must be integers, got {part.dtype.name}")
        return (len(parts),), int32

    def compute(self, *parts: Any) -> np.ndarray:
        return np.array([int(p) for p in parts], dtype=np.int32)

    def known_value(self) -> Any:
        return tuple(known_value(p) for p in self.inputs)


NotDifferentiable("PackShape")


def _resolve_shape(shape: Any) -> tuple[Shape, Tensor | None]:
    """``(static shape, shape node)``: a node when the shape is only known at run time."""
    if isinstance(shape, Tensor):
        length = None if shape.shape is None or len(shape.shape) != 1 else shape.shape[0]
        return (None if length is None else (None,) * length), shape
    dims = getattr(shape, "dims", shape)
    if isinstance(dims, int | np.integer):
        dims = [dims]
    if dims is None:
        raise ShapeError("random ops need a shape; got None")
    dims = list(np.asarray(dims).reshape(-1)) if isinstance(dims, np.ndarray) else list(dims)
    if any(isinstance(d, Tensor) for d in dims):
        return (None,) * len(dims), PackShape(dims, name="shape")
    if any(d is None or int(d) < 0 for d in dims):
        raise ShapeError(f"random ops need a fully known shape, got {dims}")
    return tuple(int(d) for d in dims), None


def _float_dtype(dtype: Any, op_name: str) -> DType:
    resolved = as_dtype(dtype)
    if resolved is None or not resolved.is_floating:
        raise DTypeError(f"{op_name} needs a floating dtype, got {dtype!r}")
    return resolved


def _draw_dtype(dtype: DType) -> np.dtype:
    """NumPy's generators draw float32 or float64; float16 is drawn as float32 and cast."""
    return np.dtype(np.float64) if dtype.np == np.float64 else np.dtype(np.float32)


class RandomOp(Operation):
    """Base of the random ops: stateful, not differentiable, seeded per TF1's rules."""

    pure = False
    differentiable = False

    def __init__(
        self,
        shape: Any,
        dtype: DType,
        seed: int | None,
        name: str | None,
        extra_inputs: Sequence[Any] = (),
    ):
        self.out_dtype = dtype
        self.static_shape, shape_node = _resolve_shape(shape)
        self.has_shape_input = shape_node is not None
        inputs = ([shape_node] if shape_node is not None else []) + list(extra_inputs)
        graph = graph_of(inputs)
        self.op_seed = seed
        self.seeds = get_seed(seed, graph)
        super().__init__(inputs, name=name)

    def infer(self, *inputs: Tensor) -> tuple[Shape, DType | None]:
        return self.static_shape, self.out_dtype

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...], *values: Any) -> Any:
        raise NotImplementedError

    def compute(self, *values: Any) -> Any:
        raise FailedPreconditionError("random ops draw their numbers inside a Session.run", self)

    def writes(self) -> tuple[Tensor, ...]:
        return (self,)  # the op's generator in the session

    def bind(self, context: Any) -> Callable[..., Any]:
        """The kernel for a session: it draws from this op's generator in the session's store."""
        rng = context.store.rng(self, self.seeds)
        draw = self.draw
        if self.has_shape_input:

            def draw_dynamic(shape_value: Any, *values: Any) -> Any:
                shape = tuple(int(d) for d in np.asarray(shape_value).reshape(-1))
                if any(d < 0 for d in shape):
                    raise InvalidArgumentError(f"negative dimension in shape {shape}", self)
                return draw(rng, shape, *values)

            return draw_dynamic
        fixed = self.static_shape

        def draw_fixed(*values: Any) -> Any:
            return draw(rng, fixed, *values)

        return draw_fixed


class RandomNormal(RandomOp):
    """Samples of ``N(mean, stddev**2)``."""

    op_type = "RandomNormal"

    def __init__(
        self,
        shape: Any,
        mean: float,
        stddev: float,
        dtype: DType,
        seed: int | None,
        name: str | None = None,
    ):
        self.mean, self.stddev = float(mean), float(stddev)
        super().__init__(shape, dtype, seed, name)

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        out = rng.standard_normal(shape, dtype=_draw_dtype(self.out_dtype))
        return _scale(out, self.stddev, self.mean, self.out_dtype)


class TruncatedNormal(RandomNormal):
    """Normal samples; any beyond two standard deviations is drawn again."""

    op_type = "TruncatedNormal"

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        dtype = _draw_dtype(self.out_dtype)
        out = rng.standard_normal(shape, dtype=dtype)
        outside = np.abs(out) > 2.0
        while outside.any():
            out[outside] = rng.standard_normal(int(outside.sum()), dtype=dtype)
            outside = np.abs(out) > 2.0
        return _scale(out, self.stddev, self.mean, self.out_dtype)


def _scale(out: np.ndarray, stddev: float, mean: float, dtype: DType) -> np.ndarray:
    if stddev != 1.0:
        out *= stddev
    if mean != 0.0:
        out += mean
    return out if out.dtype == dtype.np else out.astype(dtype.np)


class RandomUniform(RandomOp):
    """Samples uniform on ``[minval, maxval)`` (integers when ``dtype`` is an integer type)."""

    op_type = "RandomUniform"

    def __init__(
        self,
        shape: Any,
        minval: float | int,
        maxval: float | int,
        dtype: DType,
        seed: int | None,
        name: str | None = None,
    ):
        self.minval, self.maxval = minval, maxval
        super().__init__(shape, dtype, seed, name)

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        if self.out_dtype.is_integer:
            return rng.integers(self.minval, self.maxval, size=shape, dtype=self.out_dtype.np)
        out = rng.random(shape, dtype=_draw_dtype(self.out_dtype))
        return _scale(out, self.maxval - self.minval, self.minval, self.out_dtype)


class RandomShuffle(Operation):
    """``value`` with its first axis randomly permuted (a new permutation on every run)."""

    op_type = "RandomShuffle"
    pure = False
    differentiable = False

    def __init__(self, value: Any, seed: int | None = None, name: str | None = None):
        value = convert_to_tensor(value)
        self.seeds = get_seed(seed, value.graph)
        super().__init__([value], name=name)

    def infer(self, value: Tensor) -> tuple[Shape, DType | None]:
        return value.shape, value.dtype

    def compute(self, value: Any) -> Any:
        raise FailedPreconditionError("random ops draw their numbers inside a Session.run", self)

    def writes(self) -> tuple[Tensor, ...]:
        return (self,)  # the op's generator in the session

    def bind(self, context: Any) -> Callable[[Any], np.ndarray]:
        rng = context.store.rng(self, self.seeds)

        def shuffle(value: Any) -> np.ndarray:
            value = np.asarray(value)
            return value.copy() if value.ndim == 0 else rng.permutation(value, axis=0)

        return shuffle


for _random_type in ("RandomNormal", "TruncatedNormal", "RandomUniform", "RandomShuffle"):
    NotDifferentiable(_random_type)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _with_moments(
    make: Callable[[float, float], Tensor], mean: Any, stddev: Any, dtype: DType, name: str | None
) -> Tensor:
    """Samples from ``make``; node-valued mean/stddev are applied as ops (gradients flow)."""
    if _is_number(mean) and _is_number(stddev):
        return make(float(mean), float(stddev))
    samples = make(0.0, 1.0)
    scaled = math_ops.multiply(samples, convert_to_tensor(stddev, dtype_hint=dtype))
    return math_ops.add(scaled, convert_to_tensor(mean, dtype_hint=dtype), name=name)


def random_normal(
    shape: Any,
    mean: Any = 0.0,
    stddev: Any = 1.0,
    dtype: Any = float32,
    seed: int | None = None,
    name: str | None = None,
) -> Tensor:
    """Samples of a normal distribution; a new draw on each run."""
    dtype = _float_dtype(dtype, "random_normal")
    label = name or "random_normal"
    return _with_moments(
        lambda m, s: RandomNormal(shape, m, s, dtype, seed, name=label), mean, stddev, dtype, name
    )


def truncated_normal(
    shape: Any,
    mean: Any = 0.0,
    stddev: Any = 1.0,
    dtype: Any = float32,
    seed: int | None = None,
    name: str | None = None,
) -> Tensor:
    """Normal samples with every value beyond two standard deviations drawn again."""
    dtype = _float_dtype(dtype, "truncated_normal")
    label = name or "truncated_normal"
    return _with_moments(
        lambda m, s: TruncatedNormal(shape, m, s, dtype, seed, name=label),
        mean,
        stddev,
        dtype,
        name,
    )


def random_uniform(
    shape: Any,
    minval: Any = 0,
    maxval: Any = None,
    dtype: Any = float32,
    seed: int | None = None,
    name: str | None = None,
) -> Tensor:
    """Uniform samples on ``[minval, maxval)``; ``maxval`` defaults to 1 for floats."""
    resolved = as_dtype(dtype)
    if resolved is None or not (resolved.is_floating or resolved.is_integer):
        raise DTypeError(f"random_uniform needs a float or integer dtype, got {dtype!r}")
    label = name or "random_uniform"
    if resolved.is_integer:
        if maxval is None or not (_is_number(minval) and _is_number(maxval)):
            raise InvalidArgumentError("random_uniform with an integer dtype needs int bounds")
        if int(maxval) <= int(minval):
            raise InvalidArgumentError(f"need minval < maxval, got {minval} >= {maxval}")
        return RandomUniform(shape, int(minval), int(maxval), resolved, seed, name=label)
    maxval = 1.0 if maxval is None else maxval
    if _is_number(minval) and _is_number(maxval):
        return RandomUniform(shape, float(minval), float(maxval), resolved, seed, name=label)
    low = convert_to_tensor(minval, dtype_hint=resolved)
    high = convert_to_tensor(maxval, dtype_hint=resolved)
    unit = RandomUniform(shape, 0.0, 1.0, resolved, seed, name=label)
    return math_ops.add(math_ops.multiply(unit, high - low), low, name=name)


def random_shuffle(value: Any, seed: int | None = None, name: str | None = None) -> Tensor:
    """``value`` shuffled along its first axis; a new permutation on each run."""
    return RandomShuffle(value, seed=seed, name=name)
