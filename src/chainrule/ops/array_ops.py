"""Array ops: creation, joining (concat, stack), one_hot, tile and range.

Shapes and reshaping live in ``shape_ops``, broadcasting in ``broadcast_ops``, slicing,
splitting and gathering in ``slice_ops``, padding in ``pad_ops``. Each op states its static
shape rule (``infer``), its NumPy kernel and, right below it, its gradient. Gradients are built
from ops, so second derivatives work; where a shape is only known at run time, the gradient ops
read it from their inputs then.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..dtypes import DType, as_dtype, float32, float64, int32, int64
from ..errors import DTypeError, InvalidArgumentError, ShapeError
from ..graph import Node, Tensor
from .base import (
    Constant,
    Operation,
    _to_array,
    convert_to_tensor,
    is_constant,
    known_value,
    lift_operands,
)
from .registry import NotDifferentiable, RegisterGradient
from .shape_ops import (
    _axis,
    _check_int_node,
    _common_dtype,
    _shape_operand,
    _static_int,
    _static_ints,
    _static_or_node,
    _static_shape,
    constant_value_as_shape,
    runtime_sizes,
)
from .shapes import Shape, as_shape, fmt, is_known
from .slice_ops import StridedSlice, _AxisPiece, unstack

# ``range`` is a TF1 op name defined below; the module uses Python's through this.
_range = builtins.range

__all__ = [
    "concat",
    "stack",
    "one_hot",
    "tile",
    "range",
    "zeros",
    "ones",
    "fill",
    "zeros_like",
    "ones_like",
    "placeholder_with_default",
]


# -- joining helpers ----------------------------------------------------------------------------
def _merge_dim(a: int | None, b: int | None) -> int | None:
    return b if a is None else a


def _shapes_text(nodes: Sequence[Tensor]) -> str:
    return ", ".join(fmt(n.shape) for n in nodes)


def _floating(node: Tensor) -> bool:
    return node.dtype is None or node.dtype.is_floating


def _common_rank(values: Sequence[Tensor]) -> int | None:
    ranks = {len(v.shape) for v in values if v.shape is not None}
    if len(ranks) > 1:
        raise ShapeError(f"inputs have different ranks: shapes {_shapes_text(values)}")
    return ranks.pop() if ranks else None


# -- creation -----------------------------------------------------------------------------------
class ZerosLike(Operation):
    """Zeros of ``x``'s run-time shape (used when that shape is not known statically)."""

    op_type = "ZerosLike"
    alias_inputs = ()
    numeric = True

    def __init__(self, x: Any, dtype: Any = None, name: str | None = None):
        self.to = as_dtype(dtype)
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        return self.shape_rule(x.shape), self.to or x.dtype

    def shape_rule(self, x: Shape) -> Shape:
        return x

    def compute(self, x: Any) -> np.ndarray:
        return np.zeros_like(x, dtype=None if self.to is None else self.to.np)


class OnesLike(ZerosLike):
    """Ones of ``x``'s run-time shape."""

    op_type = "OnesLike"

    def compute(self, x: Any) -> np.ndarray:
        return np.ones_like(x, dtype=None if self.to is None else self.to.np)


NotDifferentiable("ZerosLike")
NotDifferentiable("OnesLike")


def zeros_like(tensor: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    """Zeros shaped like ``tensor``; a constant when its shape and dtype are known."""
    x = convert_to_tensor(tensor)
    to = as_dtype(dtype) or x.dtype
    if is_known(x.shape) and to is not None:
        return Constant(np.zeros(x.shape, to.np), graph=x.graph, name=name or "zeros_like")
    return ZerosLike(x, dtype=dtype, name=name)


def ones_like(tensor: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    """Ones shaped like ``tensor``; a constant when its shape and dtype are known."""
    x = convert_to_tensor(tensor)
    to = as_dtype(dtype) or x.dtype
    if is_known(x.shape) and to is not None:
        return Constant(np.ones(x.shape, to.np), graph=x.graph, name=name or "ones_like")
    return OnesLike(x, dtype=dtype, name=name)


class Fill(Operation):
    """A tensor of the run-time shape ``dims`` (an int vector) filled with the scalar ``value``."""

    op_type = "Fill"

    def __init__(self, dims: Any, value: Any, name: str | None = None):
        super().__init__([dims, value], name=name)

    def infer(self, dims: Tensor, value: Tensor) -> tuple[Shape, DType | None]:
        if value.shape is not None and value.shape != ():
            raise ShapeError(f"fill value must be a scalar, got shape {fmt(value.shape)}")
        shape = constant_value_as_shape(dims)
        if shape is not None and any(d is not None and d < 0 for d in shape):
            raise ShapeError(f"fill dims has a negative dimension: {fmt(shape)}")
        return shape, value.dtype

    def compute(self, dims: Any, value: Any) -> np.ndarray:
        shape = runtime_sizes(dims, "fill dims", self)
        dtype = np.result_type(value)
        try:
            return np.full(shape, value, dtype)
        except MemoryError:
            size = math.prod(shape) * dtype.itemsize
            raise InvalidArgumentError(
                f"not enough memory for a fill of shape {fmt(shape)} ({_bytes_text(size)})", self
            ) from None


def _bytes_text(size: int) -> str:
    """``3.6 TiB``: a size in bytes as people read it."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{size} B"
        size /= 1024
    raise AssertionError("unreachable")


@RegisterGradient("Fill")
def _fill_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    from .reduction_ops import reduce_sum

    return [None, reduce_sum(grad)]


def _typed_value(value: Any, dtype: DType | None) -> Tensor:
    """A scalar constant of ``dtype`` (TF1 defaults: Python floats float32, ints int32)."""
    if isinstance(value, Tensor):
        return value
    return Constant(value, dtype=dtype, name="value")


#: static fills with more elements than this are made when the graph runs, not when it is built
LAZY_FILL_SIZE = 1 << 20


def _filled(shape: Any, value: Any, dtype: DType | None, name: str) -> Tensor:
    """A constant when the shape and value are static and the fill small, else a ``Fill`` op
    (a huge fill then costs nothing until it runs, and fails there if it cannot be made)."""
    shape = _shape_operand(shape)
    if isinstance(shape, Tensor) or isinstance(value, Tensor):
        dims = (
            shape
            if isinstance(shape, Tensor)
            else Constant(np.asarray(_static_shape(shape, name + " shape"), np.int64), name="shape")
        )
        return Fill(dims, _typed_value(value, dtype), name=name)
    dims = _static_shape(shape, name + " shape")
    if math.prod(dims) > LAZY_FILL_SIZE:
        return Fill(
            Constant(np.asarray(dims, np.int64), name="shape"),
            _typed_value(value, dtype),
            name=name,
        )
    return Constant(np.full(dims, _to_array(value, dtype)), name=name)


def zeros(shape: Any, dtype: Any = float32, name: str | None = None) -> Tensor:
    """Zeros of ``shape`` (a list, an int, or an int vector node such as ``shape(x)``)."""
    return _filled(shape, 0, as_dtype(dtype), name or "zeros")


def ones(shape: Any, dtype: Any = float32, name: str | None = None) -> Tensor:
    """Ones of ``shape`` (a list, an int, or an int vector node)."""
    return _filled(shape, 1, as_dtype(dtype), name or "ones")


def fill(dims: Any, value: Any, name: str | None = None) -> Tensor:
    """A tensor of shape ``dims`` filled with ``value`` (whose dtype it takes, as in TF1)."""
    return _filled(dims, value, None, name or "Fill")


# -- concat, stack ------------------------------------------------------------------------------
class Concat(Operation):
    """Join tensors along an existing ``axis``; the other dimensions must agree."""

    op_type = "Concat"
    numeric = True
    alias_inputs = ()  # np.concatenate always makes a new array

    def __init__(self, values: Sequence[Any], axis: Any, name: str | None = None):
        self.axis_spec = axis
        super().__init__(lift_operands(list(values)), name=name)

    def infer(self, *values: Tensor) -> tuple[Shape, DType | None]:
        self.axis = _static_int(self.axis_spec, "concat axis")
        dtype = _common_dtype(values)
        rank_ = _common_rank(values)
        if rank_ is None:
            return None, dtype
        if rank_ == 0:
            raise ShapeError("cannot concatenate scalars (shapes ()); use stack() instead")
        a = _axis(self.axis, rank_, "concat axis")
        known = [v.shape for v in values if v.shape is not None]
        out: list[int | None] = []
        for d in _range(rank_):
            dims = [s[d] for s in known]
            if d == a:
                total = None if None in dims or len(known) < len(values) else sum(dims)
                out.append(total)
                continue
            merged = None
            for dim in dims:
                if dim is not None and merged is not None and dim != merged:
                    raise ShapeError(
                        f"dimension {d} differs ({merged} vs {dim}); all dimensions but axis "
                        f"{a} must agree: shapes {_shapes_text(values)}"
                    )
                merged = _merge_dim(merged, dim)
            out.append(merged)
        return tuple(out), dtype

    def compute(self, *values: Any) -> np.ndarray:
        return np.concatenate(values, axis=self.axis)

    def known_value(self) -> Any:
        """Vectors the graph knows in part, joined (``concat([shape(x)[:1], [7]], 0)``)."""
        parts = [known_value(v) for v in self.inputs]
        if self.axis != 0 or any(not isinstance(p, tuple) for p in parts):
            return None
        return sum(parts, ())


@RegisterGradient("Concat")
def _concat_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    values = op.inputs
    sizes = None
    if op.shape is not None and all(v.shape is not None for v in values):
        a = op.axis % len(op.shape)
        dims = [v.shape[a] for v in values]
        sizes = tuple(dims) if None not in dims else None
    grads: list[Tensor | None] = []
    for i, value in enumerate(values):
        if not _floating(value):
            grads.append(None)
        elif sizes is not None:
            grads.append(StridedSlice(grad, _AxisPiece(op.axis, i, sizes=sizes)))
        else:
            grads.append(ConcatSlice(grad, values, op.axis, i))
    return grads


class ConcatSlice(Operation):
    """Piece ``index`` of a concatenation's gradient, cut where the run-time shapes of ``values`` say."""

    op_type = "ConcatSlice"

    def __init__(
        self, grad: Tensor, values: Sequence[Tensor], axis: int, index: int, name: str | None = None
    ):
        self.axis, self.index = axis, index
        super().__init__([grad, *values], name=name)

    def infer(self, grad: Tensor, *values: Tensor) -> tuple[Shape, DType | None]:
        piece = values[self.index].shape
        if piece is None or grad.shape is None or len(piece) != len(grad.shape):
            return piece, grad.dtype
        a = self.axis % len(piece)
        merged = tuple(
            p if i == a else _merge_dim(p, g)
            for i, (p, g) in enumerate(zip(piece, grad.shape, strict=True))
        )
        return merged, grad.dtype

    def compute(self, grad: Any, *values: Any) -> Any:
        a = self.axis % np.ndim(grad)
        sizes = [np.shape(v)[a] for v in values]
        start = sum(sizes[: self.index])
        return grad[(slice(None),) * a + (slice(start, start + sizes[self.index]),)]


@RegisterGradient("ConcatSlice")
def _concat_slice_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    values = op.inputs[1:]
    parts = [
        grad if j == op.index else zeros_like(v, dtype=grad.dtype) for j, v in enumerate(values)
    ]
    return [concat(parts, op.axis)] + [None] * len(values)


def concat(values: Sequence[Any], axis: Any, name: str | None = None) -> Tensor:
    """Join ``values`` along the existing ``axis`` (TF1's argument order: values, then axis)."""
    values = list(values)
    if not values:
        raise InvalidArgumentError("concat needs at least one value")
    if len(values) == 1:
        from .math_ops import identity

        _static_int(axis, "concat axis")
        return identity(values[0], name=name)
    return Concat(values, axis, name=name)


class Stack(Operation):
    """Join tensors of one shape along a new ``axis``."""

    op_type = "Stack"

    def __init__(self, values: Sequence[Any], axis: Any = 0, name: str | None = None):
        self.axis_spec = axis
        super().__init__(lift_operands(list(values)), name=name)

    def infer(self, *values: Tensor) -> tuple[Shape, DType | None]:
        self.axis = _static_int(self.axis_spec, "stack axis")
        dtype = _common_dtype(values)
        rank_ = _common_rank(values)
        if rank_ is None:
            return None, dtype
        merged: list[int | None] = [None] * rank_
        for v in values:
            for d, dim in enumerate(v.shape or ()):
                if dim is not None and merged[d] is not None and dim != merged[d]:
                    raise ShapeError(
                        f"all inputs must have the same shape, got shapes {_shapes_text(values)}"
                    )
                merged[d] = _merge_dim(merged[d], dim)
        a = _axis(self.axis, rank_, "stack axis", extra=1)
        return tuple(merged[:a]) + (len(values),) + tuple(merged[a:]), dtype

    def compute(self, *values: Any) -> np.ndarray:
        return np.stack(values, axis=self.axis)

    def known_value(self) -> Any:
        """Scalars (or vectors) the graph knows in part, stacked (``[shape(x)[0], 2, 3]``)."""
        parts = [known_value(v) for v in self.inputs]
        unknown_vector = any(
            p is None and v.shape != () for p, v in zip(parts, self.inputs, strict=True)
        )
        return None if self.axis != 0 or unknown_vector else tuple(parts)


@RegisterGradient("Stack")
def _stack_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    pieces = unstack(grad, num=len(op.inputs), axis=op.axis)
    return [piece if _floating(v) else None for piece, v in zip(pieces, op.inputs, strict=True)]


def stack(values: Sequence[Any], axis: Any = 0, name: str | None = None) -> Tensor:
    """Stack tensors of one shape along a new ``axis`` (TF1's ``tf.stack``)."""
    values = list(values)
    if not values:
        raise InvalidArgumentError("stack needs at least one value")
    return Stack(values, axis, name=name)


# -- one_hot ------------------------------------------------------------------------------------
class OneHot(Operation):
    """``on_value`` where ``indices`` equals the position along a new axis of size ``depth``."""

    op_type = "OneHot"
    differentiable = False

    def __init__(
        self,
        indices: Any,
        depth: Any,
        on_value: Any,
        off_value: Any,
        axis: Any,
        dtype: DType,
        name: str | None = None,
    ):
        self.depth_spec, self.axis_spec, self.to = depth, axis, dtype
        self.on_spec, self.off_spec = on_value, off_value
        super().__init__([indices, *_size_input(depth)], name=name)

    def infer(self, indices: Node, depth: Node | None = None) -> tuple[Shape, DType | None]:
        self.on = _to_array(self.on_spec, self.to)
        self.off = _to_array(self.off_spec, self.to)
        self.depth = None if depth is not None else _static_int(self.depth_spec, "one_hot depth")
        self.axis = _static_int(self.axis_spec, "one_hot axis")
        if depth is not None:
            _check_int_node(depth, "one_hot depth")
            if depth.shape not in (None, ()):
                raise ShapeError(f"depth must be a scalar, got shape {fmt(depth.shape)}")
        elif self.depth < 0:
            raise ShapeError(f"depth must be >= 0, got {self.depth}")
        if self.on.shape != () or self.off.shape != ():
            raise ShapeError("on_value and off_value must be scalars")
        if indices.dtype is not None and not indices.dtype.is_integer:
            raise DTypeError(f"indices must be integers, got {indices.dtype.name}")
        if indices.shape is None:
            return None, self.to
        n = len(indices.shape)
        if not -1 <= self.axis <= n:
            raise ShapeError(f"axis {self.axis} must be -1 or in [0, {n}] for indices of rank {n}")
        a = n if self.axis == -1 else self.axis
        return indices.shape[:a] + (self.depth,) + indices.shape[a:], self.to

    def compute(self, indices: Any, depth: Any = None) -> np.ndarray:
        indices = np.asarray(indices)
        n = self.depth if depth is None else runtime_sizes(depth, "one_hot depth", self)[0]
        hot = indices[..., None] == np.arange(n)
        out = np.where(hot, self.on, self.off).astype(self.to.np, copy=False)
        return out if self.axis == -1 else np.moveaxis(out, -1, self.axis)


NotDifferentiable("OneHot")


def one_hot(
    indices: Any,
    depth: Any,
    on_value: Any = None,
    off_value: Any = None,
    axis: Any = None,
    dtype: Any = None,
    name: str | None = None,
) -> Tensor:
    """One-hot vectors of length ``depth`` (indices outside [0, depth) give all ``off_value``).

    ``dtype`` defaults to that of ``on_value``/``off_value`` when given, else float32 (TF1).
    """
    if dtype is None:
        given = on_value if on_value is not None else off_value
        dtype = float32 if given is None else _value_dtype(given)
    dtype = as_dtype(dtype)
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    axis = -1 if axis is None else axis
    return OneHot(indices, _static_or_node(depth), on, off, axis, dtype, name=name)


def _value_dtype(value: Any) -> DType:
    if isinstance(value, Tensor):
        raise InvalidArgumentError("on_value and off_value must be static numbers")
    return as_dtype(_to_array(value, None).dtype)


# -- tile ---------------------------------------------------------------------------------------
def _times(d: int | None, k: int | None) -> int | None:
    """A size times a multiple, as TF1 knows it: 0 and 1 decide alone, else both must be known."""
    if d == 0 or k == 0:
        return 0
    if k == 1 or d == 1:
        return d if k == 1 else k
    return None if d is None or k is None else d * k


def _size_input(value: Any) -> list[Node]:
    """The extra input of an op whose size argument is known only at run time."""
    return [value] if isinstance(value, Tensor) else []


class Tile(Operation):
    """Repeat ``x`` ``multiples[i]`` times along each axis ``i`` (static, or an int vector node)."""

    op_type = "Tile"

    def __init__(self, x: Any, multiples: Any, name: str | None = None):
        self.multiples_spec = multiples
        super().__init__([x, *_size_input(multiples)], name=name)

    def infer(self, x: Node, multiples: Node | None = None) -> tuple[Shape, DType | None]:
        if multiples is None:
            self.multiples = _static_ints(self.multiples_spec, "tile multiples")
            if any(k < 0 for k in self.multiples):
                raise ShapeError(f"multiples {list(self.multiples)} must be >= 0")
            m: Shape = self.multiples
        else:
            self.multiples = None
            m = constant_value_as_shape(multiples)
            if m is None:
                return None if x.shape is None else (None,) * len(x.shape), x.dtype
        if x.shape is None:
            return (None,) * len(m), x.dtype
        if len(m) != len(x.shape):
            raise ShapeError(
                f"multiples {list(m)} has {len(m)} entries for a tensor of shape "
                f"{fmt(x.shape)} (rank {len(x.shape)})"
            )
        return tuple(_times(d, k) for d, k in zip(x.shape, m, strict=True)), x.dtype

    def compute(self, x: Any, multiples: Any = None) -> np.ndarray:
        m = self.multiples
        if multiples is not None:
            m = runtime_sizes(multiples, "tile multiples", self)
        if np.ndim(x) != len(m):
            raise ShapeError(
                f"multiples {list(m)} do not match a value of shape {fmt(np.shape(x))}"
            )
        return np.tile(x, m)


@RegisterGradient("Tile")
def _tile_grad(op: Node, grad: Node) -> list[Node | None]:
    return [TileGrad(grad, op.inputs[0], op.multiples_spec)] + [None] * (len(op.inputs) - 1)


class TileGrad(Operation):
    """Sum the ``multiples`` tiles of ``grad`` back onto one copy shaped like ``like``."""

    op_type = "TileGrad"

    def __init__(self, grad: Node, like: Node, multiples: Any, name: str | None = None):
        self.multiples_spec = multiples
        self.multiples = None if isinstance(multiples, Tensor) else multiples
        super().__init__([grad, like, *_size_input(multiples)], name=name)

    def infer(self, grad: Node, like: Node, *multiples: Node) -> tuple[Shape, DType | None]:
        return like.shape, grad.dtype

    def compute(self, grad: Any, like: Any, multiples: Any = None) -> np.ndarray:
        m = self.multiples if multiples is None else np.reshape(multiples, -1)
        shape = np.shape(like)
        split_axes = [n for d, k in zip(shape, m, strict=True) for n in (int(k), d)]
        tiles = np.reshape(grad, split_axes)
        return tiles.sum(axis=tuple(_range(0, 2 * len(shape), 2)))


@RegisterGradient("TileGrad")
def _tile_grad_grad(op: Node, grad: Node) -> list[Node | None]:
    return [tile(grad, op.multiples_spec)] + [None] * (len(op.inputs) - 1)


def tile(input: Any, multiples: Any, name: str | None = None) -> Node:  # noqa: A002
    """Repeat ``input`` ``multiples[i]`` times along axis ``i`` (one entry per axis); the
    multiples may be a node or a list holding scalar nodes (``[shape(x)[0], 1]``)."""
    multiples = _static_or_node(multiples)
    if isinstance(multiples, Tensor):
        _check_int_node(multiples, "tile multiples")
    return Tile(input, multiples, name=name)


# -- range ----------------------------------------------------------------------------------------
_RANGE_DTYPES = (int32, int64, float32, float64)


class Range(Operation):
    """``start, start + delta, ...`` up to but excluding ``limit``."""

    op_type = "Range"
    differentiable = False

    def __init__(self, start: Tensor, limit: Tensor, delta: Tensor, name: str | None = None):
        super().__init__([start, limit, delta], name=name)

    def infer(self, start: Tensor, limit: Tensor, delta: Tensor) -> tuple[Shape, DType | None]:
        for label, node in (("start", start), ("limit", limit), ("delta", delta)):
            if node.shape not in (None, ()):
                raise ShapeError(f"{label} must be a scalar, got shape {fmt(node.shape)}")
        self.to = start.dtype
        if all(is_constant(n) for n in (start, limit, delta)):
            return (len(self.compute(start.op.value, limit.op.value, delta.op.value)),), self.to
        return (None,), self.to

    def compute(self, start: Any, limit: Any, delta: Any) -> np.ndarray:
        if delta == 0:
            raise InvalidArgumentError("delta must not be 0")
        if (delta > 0 and start > limit) or (delta < 0 and start < limit):
            raise InvalidArgumentError(
                f"start {start} and limit {limit} are in the wrong order for delta {delta}"
            )
        return np.arange(start, limit, delta, dtype=self.to.np)


NotDifferentiable("Range")


def range(  # noqa: A001 - TF1's name
    start: Any,
    limit: Any = None,
    delta: Any = 1,
    dtype: Any = None,
    name: str | None = None,
) -> Tensor:
    """``tf.range``: ``[start, limit)`` in steps of ``delta``; ``range(n)`` is ``0..n-1``.

    The dtype is ``dtype`` or the widest of the arguments' (Python ints int32, floats float32).
    """
    if limit is None:
        start, limit = 0, start
    args = [start, limit, delta]
    found = [d for d in (_range_arg_dtype(a) for a in args) if d is not None]
    to = as_dtype(dtype) or max(found, key=_RANGE_DTYPES.index, default=int32)
    nodes = [_range_arg(a, to) for a in args]
    return Range(*nodes, name=name or "range")


def _range_arg_dtype(value: Any) -> DType | None:
    found = value.dtype if isinstance(value, Tensor) else as_dtype(_to_array(value, None).dtype)
    if found is not None and found not in _RANGE_DTYPES:
        raise DTypeError(f"range arguments must be int32/64 or float32/64, got {found!r}")
    return found


def _range_arg(value: Any, to: DType) -> Tensor:
    if isinstance(value, Tensor):
        from .math_ops import cast

        return cast(value, to)
    return Constant(value, dtype=to, name="range_arg")


# -- placeholder_with_default -------------------------------------------------------------------
class PlaceholderWithDefault(Operation):
    """``input`` unless a value is fed for it; fed values are checked against ``shape``."""

    op_type = "PlaceholderWithDefault"

    def __init__(self, input: Any, shape: Any, name: str | None = None):  # noqa: A002
        self.declared = as_shape(shape)
        super().__init__([input], name=name)

    def infer(self, x: Node) -> tuple[Shape, DType | None]:
        if not _compatible_shapes(x.shape, self.declared):
            raise ShapeError(
                f"the default value has shape {fmt(x.shape)}, which does not fit the "
                f"declared shape {fmt(self.declared)}"
            )
        return self.declared, x.dtype

    def compute(self, x: Any) -> Any:
        return x


def _compatible_shapes(actual: Shape, declared: Shape) -> bool:
    """Whether a value of static shape ``actual`` may stand where ``declared`` is expected."""
    if actual is None or declared is None:
        return True
    return len(actual) == len(declared) and all(
        a is None or d is None or a == d for a, d in zip(actual, declared, strict=True)
    )


@RegisterGradient("PlaceholderWithDefault")
def _placeholder_with_default_grad(op: Node, grad: Node) -> Node:
    return grad


def placeholder_with_default(input: Any, shape: Any, name: str | None = None) -> Node:  # noqa: A002
    """A placeholder that need not be fed: its value is ``input`` unless fed (TF1)."""
    return PlaceholderWithDefault(input, shape, name=name)
