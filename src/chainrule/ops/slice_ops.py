"""Slice ops: ``x[...]`` (StridedSlice), ``slice``, ``unstack``, ``split`` and ``gather``.

Every slicing op is a ``StridedSlice`` with a different slicer; their gradients scatter into
zeros (``StridedSliceGrad``, or one ``ScatterSlices`` for many pieces of one tensor). Each op
states its static shape rule (``infer``), its NumPy kernel and, right below it, its gradient.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType
from ..errors import DTypeError, InvalidArgumentError, ShapeError
from ..graph import Node, Tensor
from .base import Operation, convert_to_tensor, fully_known, known_value
from .registry import RegisterGradient
from .shape_ops import (
    ShapeOf,
    _axis,
    _check_int_node,
    _common_dtype,
    _static_int,
    _static_ints,
    _static_or_node,
    runtime_sizes,
)
from .shapes import Shape, fmt

# ``slice`` is a TF1 op name defined below; the module uses Python's through this.
_slice = builtins.slice

#: a slicer keeps the NumPy keys of at most this many shapes
MAX_KEPT_KEYS = 64

__all__ = [
    "unstack",
    "split",
    "gather",
    "slice",
]


# -- slicing ----------------------------------------------------------------------------------------
class _BasicKey:
    """NumPy basic indexing: ints (negative too), slices with steps, ``...`` and ``None``."""

    def __init__(self, key: Any):
        self.key = _normalize_key(key)

    def resolve(self, shape: tuple[int, ...]) -> tuple[Any, ...]:
        return self.key

    def out_shape(self, shape: Shape) -> Shape:
        return _sliced_shape(shape, self.key)


def _normalize_key(key: Any) -> tuple[Any, ...]:
    key = key if isinstance(key, tuple) else (key,)
    out: list[Any] = []
    for k in key:
        if k is None or k is Ellipsis:
            out.append(k)
        elif isinstance(k, bool | np.bool_):
            raise InvalidArgumentError("boolean indices are not supported; use where() instead")
        elif isinstance(k, int | np.integer):
            out.append(int(k))
        elif isinstance(k, _slice):
            out.append(_normalize_slice(k))
        elif isinstance(k, Tensor):
            raise InvalidArgumentError(
                f"indexing with the node '{k.name}' is not supported; use gather()"
            )
        else:
            raise InvalidArgumentError(
                f"unsupported index {k!r}; use ints, slices, ... or None (lists: use gather())"
            )
    if sum(1 for k in out if k is Ellipsis) > 1:
        raise InvalidArgumentError("an index can only have a single ellipsis ('...')")
    return tuple(out)


def _normalize_slice(k: builtins.slice) -> builtins.slice:
    parts = [
        None if p is None else _static_int(p, "slice bound") for p in (k.start, k.stop, k.step)
    ]
    if parts[2] == 0:
        raise InvalidArgumentError("slice step cannot be zero")
    return _slice(*parts)


def _sliced_shape(shape: Shape, key: tuple[Any, ...]) -> Shape:
    if shape is None:
        return None
    consumed = sum(1 for k in key if k is not None and k is not Ellipsis)
    if consumed > len(shape):
        raise ShapeError(f"too many indices ({consumed}) for a tensor of shape {fmt(shape)}")
    fill = (_slice(None),) * (len(shape) - consumed)
    ellipsis = [i for i, k in enumerate(key) if k is Ellipsis]
    if ellipsis:
        key = key[: ellipsis[0]] + fill + key[ellipsis[0] + 1 :]
    else:
        key = key + fill
    out: list[int | None] = []
    dim = 0
    for k in key:
        if k is None:
            out.append(1)
            continue
        size_ = shape[dim]
        dim += 1
        if isinstance(k, int):
            if size_ is not None and not -size_ <= k < size_:
                raise ShapeError(
                    f"index {k} is out of bounds for axis {dim - 1} of shape {fmt(shape)}"
                )
            continue
        out.append(None if size_ is None else len(range(*k.indices(size_))))
    return tuple(out)


class _AxisPiece:
    """Piece ``index`` along ``axis``: of ``num`` equal parts, of static ``sizes`` (one may be
    -1), or with ``drop`` the single entry ``index`` (the axis removed, as ``unstack``)."""

    def __init__(
        self,
        axis: int,
        index: int,
        num: int | None = None,
        sizes: tuple[int, ...] | None = None,
        drop: bool = False,
    ):
        self.axis, self.index, self.num, self.sizes, self.drop = axis, index, num, sizes, drop
        #: the keys ``resolve`` gave, by shape (a kernel runs on the same shapes again and again)
        self.keys: dict[tuple[int, ...], tuple[Any, ...]] = {}

    def bounds(self, shape: tuple[int | None, ...], a: int) -> tuple[int, int]:
        """Start and stop of the piece along axis ``a`` (known) of ``shape``, or a ShapeError."""
        dim = shape[a]

        def where() -> str:
            return f"axis {a} of shape {fmt(shape)}"

        if self.drop:
            if self.num is not None and dim != self.num:
                raise ShapeError(f"expected {self.num} entries along {where()}, got {dim}")
            return self.index, self.index + 1
        sizes = _split_sizes(dim, self.num, self.sizes, where)
        start = sum(sizes[: self.index])
        return start, start + sizes[self.index]

    def resolve(self, shape: tuple[int, ...]) -> tuple[Any, ...]:
        key = self.keys.get(shape)
        if key is None:
            a = _axis(self.axis, len(shape), "axis")
            start, stop = self.bounds(shape, a)
            key = (_slice(None),) * a + (start if self.drop else _slice(start, stop),)
            if len(self.keys) >= MAX_KEPT_KEYS:
                self.keys.clear()
            self.keys[shape] = key
        return key

    def out_shape(self, shape: Shape) -> Shape:
        if shape is None:
            if self.drop and self.num is None:
                raise ShapeError("cannot infer num from a tensor of unknown shape; pass num")
            return None
        a = _axis(self.axis, len(shape), "axis")
        dim = shape[a]
        if self.drop:
            if dim is None and self.num is None:
                raise ShapeError(f"cannot infer num from shape {fmt(shape)}; pass num")
            if dim is not None:
                self.bounds(shape, a)
            return shape[:a] + shape[a + 1 :]
        if dim is not None:
            start, stop = self.bounds(shape, a)
            piece: int | None = stop - start
        elif self.sizes is not None and self.sizes[self.index] != -1:
            piece = self.sizes[self.index]
        else:
            piece = None
        return shape[:a] + (piece,) + shape[a + 1 :]


def _split_sizes(
    dim: int, num: int | None, sizes: tuple[int, ...] | None, where: Callable[[], str]
) -> list[int]:
    """The sizes of the pieces of a dimension of size ``dim``, or a ShapeError saying
    ``where()`` (built only then: kernels call this on every run)."""
    if sizes is None:
        if num is None or num <= 0 or dim % num:
            raise ShapeError(f"cannot split size {dim} into {num} equal parts ({where()})")
        return [dim // num] * num
    if sizes.count(-1) > 1 or any(s < -1 for s in sizes):
        raise ShapeError(f"split sizes {list(sizes)} may hold at most one -1 and no other negative")
    known = sum(s for s in sizes if s != -1)
    if -1 in sizes:
        if known > dim:
            raise ShapeError(f"split sizes {list(sizes)} exceed size {dim} ({where()})")
        return [dim - known if s == -1 else s for s in sizes]
    if known != dim:
        raise ShapeError(f"split sizes {list(sizes)} add up to {known}, not to {dim} ({where()})")
    return list(sizes)


class _BeginSize:
    """``tf.slice``'s window: ``size[i]`` entries from ``begin[i]`` (``-1``: to the end)."""

    def __init__(self, begin: tuple[int, ...], size_: tuple[int, ...]):
        if len(begin) != len(size_):
            raise ShapeError(f"begin {list(begin)} and size {list(size_)} differ in length")
        if any(b < 0 for b in begin) or any(s < -1 for s in size_):
            raise ShapeError(
                f"begin {list(begin)} and size {list(size_)} must be >= 0 (size -1 = rest)"
            )
        self.begin, self.size = begin, size_

    def _stops(self, shape: Shape) -> list[int | None]:
        if len(shape) != len(self.begin):
            raise ShapeError(
                f"begin {list(self.begin)} has {len(self.begin)} entries for shape {fmt(shape)}"
            )
        stops: list[int | None] = []
        for b, s, d in zip(self.begin, self.size, shape, strict=True):
            stop = None if s == -1 else b + s
            if d is not None and (b > d or (stop is not None and stop > d)):
                raise ShapeError(
                    f"slice begin {list(self.begin)}, size {list(self.size)} is out of bounds "
                    f"for shape {fmt(shape)}"
                )
            stops.append(stop)
        return stops

    def resolve(self, shape: tuple[int, ...]) -> tuple[Any, ...]:
        stops = self._stops(shape)
        return tuple(_slice(b, e) for b, e in zip(self.begin, stops, strict=True))

    def out_shape(self, shape: Shape) -> Shape:
        if shape is None:
            return (None,) * len(self.begin)
        stops = self._stops(shape)
        return tuple(
            (None if d is None else d - b) if e is None else e - b
            for b, e, d in zip(self.begin, stops, shape, strict=True)
        )


Slicer = _BasicKey | _AxisPiece | _BeginSize


class StridedSlice(Operation):
    """``x[key]`` with ints, slices, ``...`` and ``None`` (NumPy basic indexing, a view)."""

    op_type = "StridedSlice"

    def __init__(self, x: Any, key: Any, name: str | None = None):
        self.key_spec = key
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        spec = self.key_spec
        self.slicer = spec if isinstance(spec, Slicer) else _BasicKey(spec)
        self.key = getattr(self.slicer, "key", None)
        return self.slicer.out_shape(x.shape), x.dtype

    def compute(self, x: Any) -> Any:
        x = np.asarray(x)
        return x[self.slicer.resolve(x.shape)]

    def known_value(self) -> Any:
        """An entry or a slice of a vector the graph knows in part (``shape(x)[1:]``)."""
        known = known_value(self.inputs[0])
        key = self.key
        if not isinstance(known, tuple) or key is None or len(key) != 1:
            return None
        if isinstance(key[0], int | _slice) and known and not isinstance(known[0], tuple):
            return known[key[0]]
        return None


class _Pieces(Operation):
    """One op, one output per piece of its input along an axis (views, as NumPy slices)."""

    def __init__(self, x: Any, pieces: Sequence[_AxisPiece], name: str | None = None):
        self.pieces = tuple(pieces)
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> list[tuple[Shape, DType | None]]:
        return [(piece.out_shape(x.shape), x.dtype) for piece in self.pieces]

    def compute(self, x: Any) -> tuple[Any, ...]:
        x = np.asarray(x)
        return tuple(x[piece.resolve(x.shape)] for piece in self.pieces)


class Unstack(_Pieces):
    """``unstack``: the entries along ``axis``, one output each (the axis removed); how many
    is ``num``, or the static size of that axis."""

    op_type = "Unstack"

    def __init__(self, x: Any, num: int | None, axis: int, name: str | None = None):
        self.num, self.axis = num, axis
        super().__init__(x, (), name=name)

    def infer(self, x: Tensor) -> list[tuple[Shape, DType | None]]:
        num = _static_dim(x.shape, self.axis) if self.num is None else self.num
        if num is None:
            what = "a tensor of unknown shape" if x.shape is None else f"shape {fmt(x.shape)}"
            raise ShapeError(f"cannot infer num from {what}; pass num")
        self.pieces = tuple(_AxisPiece(self.axis, i, num=num, drop=True) for i in range(num))
        return super().infer(x)


class Split(_Pieces):
    """``split``: the pieces along ``axis``, one output each."""

    op_type = "Split"


def _pieces_grad(op: Operation, *grads: Tensor | None) -> Tensor:
    """The gradients of the pieces scattered back in one op (zeros where none arrives)."""
    used = [(g, piece) for g, piece in zip(grads, op.pieces, strict=True) if g is not None]
    return ScatterSlices([g for g, _ in used], op.inputs[0], [piece for _, piece in used])


RegisterGradient("Unstack")(_pieces_grad)
RegisterGradient("Split")(_pieces_grad)


def _output_list(result: Any) -> list[Tensor]:
    """The outputs of a just-built op: the metaclass returns the tensor of a one-output op."""
    return [result] if isinstance(result, Tensor) else list(result.outputs)


class Slice(StridedSlice):
    """``tf.slice``: a window given by ``begin`` and ``size``: a static ``_BeginSize``, or a
    ``(begin, size)`` pair of int vector nodes known only at run time (two more inputs)."""

    op_type = "Slice"

    def __init__(self, x: Any, window: Any, name: str | None = None):
        if isinstance(window, _BeginSize):
            super().__init__(x, window, name=name)
        else:
            self.key_spec = None
            Operation.__init__(self, [x, *window], name=name)

    def infer(
        self, x: Tensor, begin: Tensor | None = None, size_: Tensor | None = None
    ) -> tuple[Shape, DType | None]:
        if begin is None or size_ is None:
            return super().infer(x)
        self.slicer, self.key = None, None
        return _runtime_window_shape(x.shape, begin, size_), x.dtype

    def compute(self, x: Any, begin: Any = None, size_: Any = None) -> Any:
        if begin is None:
            return super().compute(x)
        x = np.asarray(x)
        return x[_runtime_window(self, x.shape, begin, size_).resolve(x.shape)]


def _vector_known(node: Tensor, what: str) -> Any:
    """What the graph knows of an int vector argument (entries ``None`` where unknown)."""
    _check_int_node(node, what)
    if node.shape is not None and len(node.shape) != 1:
        raise ShapeError(f"{what} must be a vector, got a tensor of shape {fmt(node.shape)}")
    return known_value(node)


def _runtime_window_shape(shape: Shape, begin: Tensor, size_: Tensor) -> Shape:
    """TF1's static shape of ``tf.slice`` with run-time arguments: the sizes the graph knows;
    a size of -1 gives the rest of a known dimension after a known begin."""
    begin_known = _vector_known(begin, "slice begin")
    size_known = _vector_known(size_, "slice size")
    lengths = {len(v) for v in (begin_known, size_known) if v is not None}
    if shape is not None:
        lengths.add(len(shape))
    if len(lengths) > 1:
        raise ShapeError(
            f"slice begin, size and the input's shape {fmt(shape)} differ in length "
            f"({sorted(lengths)})"
        )
    if not lengths:
        return None
    rank = lengths.pop()
    if size_known is None:
        return (None,) * rank
    if not fully_known(size_known):
        return tuple(None if s is None or s == -1 else s for s in size_known)
    out: list[int | None] = []
    for i, s in enumerate(size_known):
        b = None if begin_known is None else begin_known[i]
        d = None if shape is None else shape[i]
        if s != -1:
            out.append(s)
        else:
            out.append(None if b is None or d is None else d - b)
    return tuple(out)


def _runtime_window(op: Node, shape: tuple[int, ...], begin: Any, size_: Any) -> _BeginSize:
    """The window of a slice from its run-time ``begin`` and ``size``, or an
    InvalidArgumentError naming ``op`` when it does not fit ``shape``."""
    begin_ints = runtime_sizes(begin, "slice begin", op)
    size_ints = runtime_sizes(size_, "slice size", op, -1)
    try:
        window = _BeginSize(begin_ints, size_ints)
        window.out_shape(shape)
    except ShapeError as err:
        raise InvalidArgumentError(err.message, op) from None
    return window


class SliceGrad(Operation):
    """Scatter ``grad`` into zeros shaped like ``like`` from the run-time ``begin`` of a slice
    (the gradient of ``tf.slice`` with run-time arguments; TF1 pads)."""

    op_type = "SliceGrad"

    def __init__(self, grad: Tensor, like: Tensor, begin: Tensor, name: str | None = None):
        super().__init__([grad, like, begin], name=name)

    def infer(self, grad: Tensor, like: Tensor, begin: Tensor) -> tuple[Shape, DType | None]:
        return like.shape, grad.dtype

    def compute(self, grad: Any, like: Any, begin: Any) -> np.ndarray:
        out = np.zeros(np.shape(like), dtype=np.result_type(grad))
        window = _runtime_window(self, out.shape, begin, np.array(np.shape(grad), np.int64))
        out[window.resolve(out.shape)] = grad
        return out


@RegisterGradient("SliceGrad")
def _slice_grad_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [Slice(grad, (op.inputs[2], ShapeOf(op.inputs[0]))), None, None]


class StridedSliceGrad(Operation):
    """Scatter ``grad`` into zeros shaped like ``like`` where the slice came from."""

    op_type = "StridedSliceGrad"
    numeric = True

    def __init__(self, grad: Tensor, like: Tensor, slicer: Slicer, name: str | None = None):
        self.slicer = slicer
        super().__init__([grad, like], name=name)

    def infer(self, grad: Tensor, like: Tensor) -> tuple[Shape, DType | None]:
        return self.shape_rule(grad.shape, like.shape), grad.dtype

    def shape_rule(self, grad: Shape, like: Shape) -> Shape:
        return like

    def compute(self, grad: Any, like: Any) -> np.ndarray:
        out = np.zeros(np.shape(like), dtype=np.result_type(grad))
        out[self.slicer.resolve(out.shape)] = grad
        return out


def _slice_grad(op: Operation, grad: Tensor) -> Tensor | list[Tensor | None]:
    if len(op.inputs) == 3:  # a tf.slice with run-time begin and size
        return [SliceGrad(grad, op.inputs[0], op.inputs[1]), None, None]
    return StridedSliceGrad(grad, op.inputs[0], op.slicer)


for _op_type in ("StridedSlice", "Slice"):
    RegisterGradient(_op_type)(_slice_grad)


@RegisterGradient("StridedSliceGrad")
def _strided_slice_grad_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [StridedSlice(grad, op.slicer), None]


class ScatterSlices(Operation):
    """Several slice gradients of one tensor scattered into one zero tensor (overlaps add up)."""

    op_type = "ScatterSlices"

    def __init__(
        self,
        grads: Sequence[Tensor],
        like: Tensor,
        slicers: Sequence[Slicer],
        name: str | None = None,
    ):
        self.slicers = tuple(slicers)
        super().__init__([*grads, like], name=name)

    def infer(self, *inputs: Tensor) -> tuple[Shape, DType | None]:
        return inputs[-1].shape, _common_dtype(inputs[:-1])

    def compute(self, *values: Any) -> np.ndarray:
        *grads, like = values
        shape = np.shape(like)
        keys = [slicer.resolve(shape) for slicer in self.slicers]
        axis = _tiling_axis(keys, grads, shape)
        if axis is not None:  # the pieces of a split, in order: joined, not scattered
            return np.concatenate(grads, axis=axis)
        out = np.zeros(shape, dtype=np.result_type(*grads))
        for grad, key in zip(grads, keys, strict=True):
            out[key] += grad
        return out


def _tiling_axis(
    keys: Sequence[tuple[Any, ...]], grads: Sequence[Any], shape: tuple[int, ...]
) -> int | None:
    """The axis along which the slices ``keys`` of ``shape`` follow each other from its start
    to its end with nothing else sliced, each filled by a ``grad`` of exactly its shape;
    ``None`` if they do not."""
    axis = len(keys[0]) - 1
    at = 0
    for key, grad in zip(keys, grads, strict=True):
        if len(key) != axis + 1 or not isinstance(key[axis], _slice):
            return None
        piece = key[axis]
        if piece.start != at or piece.step is not None or piece.stop is None:
            return None
        if np.shape(grad) != (*shape[:axis], piece.stop - at, *shape[axis + 1 :]):
            return None
        at = piece.stop
    return axis if at == shape[axis] else None


@RegisterGradient("ScatterSlices")
def _scatter_slices_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [StridedSlice(grad, slicer) for slicer in op.slicers] + [None]


def merge_slice_gradients(contributions: Sequence[Tensor]) -> list[Tensor]:
    """Gradient contributions with the slice gradients of each tensor merged into one scatter.

    Summing the dense ``StridedSliceGrad`` of every piece of an ``unstack`` or ``split`` costs
    pieces x size; one ``ScatterSlices`` writes every piece once.
    """
    groups: dict[Tensor, list[Tensor]] = {}
    for node in contributions:
        if type(node.op) is StridedSliceGrad:
            groups.setdefault(node.op.inputs[1], []).append(node)
    merged: list[Tensor] = []
    done: set[Tensor] = set()
    for node in contributions:
        group = groups.get(node.op.inputs[1]) if type(node.op) is StridedSliceGrad else None
        if group is None or len(group) == 1:
            merged.append(node)
        elif node.op.inputs[1] not in done:
            done.add(node.op.inputs[1])
            grads = [g.op.inputs[0] for g in group]
            merged.append(ScatterSlices(grads, node.op.inputs[1], [g.op.slicer for g in group]))
    return merged


def slice_with(x: Tensor, key: Any) -> Tensor:
    """``x[key]``: NumPy basic slicing on a node."""
    return StridedSlice(x, key)


def slice(input_: Any, begin: Any, size: Any, name: str | None = None) -> Tensor:  # noqa: A001
    """``tf.slice``: ``size[i]`` entries of ``input_`` from ``begin[i]`` (``-1``: to the end);
    ``begin`` and ``size`` may hold nodes known only at run time (``[tf.shape(x)[0], 2]``)."""
    begin, size = _static_or_node(begin), _static_or_node(size)
    if isinstance(begin, Tensor) or isinstance(size, Tensor):
        return Slice(input_, (_int_vector(begin), _int_vector(size)), name=name)
    window = _BeginSize(_static_ints(begin, "slice begin"), _static_ints(size, "slice size"))
    return Slice(input_, window, name=name)


def _int_vector(value: Any) -> Tensor:
    """A slice argument as an int vector node (static lists become int32 constants)."""
    if isinstance(value, Tensor):
        return value
    return convert_to_tensor(np.asarray(value, dtype=np.int32).reshape(-1))


# -- unstack, split -----------------------------------------------------------------------------
def unstack(value: Any, num: Any = None, axis: Any = 0, name: str | None = None) -> list[Tensor]:
    """The entries of ``value`` along ``axis`` as a list of nodes (rank one less)."""
    value = convert_to_tensor(value)
    axis = _static_int(axis, "unstack axis")
    num = _static_dim(value.shape, axis) if num is None else _static_int(num, "unstack num")
    if num == 0:
        return []
    return _output_list(Unstack(value, num, axis, name=name or "unstack"))


def _static_dim(shape: Shape, axis: int) -> int | None:
    """``shape[axis]`` when known (``None`` for unknown ranks, dims or out-of-range axes)."""
    if shape is None or not -len(shape) <= axis < len(shape):
        return None
    return shape[axis]


def split(
    value: Any,
    num_or_size_splits: Any,
    axis: Any = 0,
    num: Any = None,
    name: str | None = None,
) -> list[Tensor]:
    """Split ``value`` along ``axis`` into equal parts (an int) or parts of the given sizes."""
    value = convert_to_tensor(value)
    axis = _static_int(axis, "split axis")
    spec = _static_or_node(num_or_size_splits)
    if isinstance(spec, Tensor):
        return _split_at_run_time(value, spec, axis, num, name or "split")
    if not isinstance(spec, Tensor) and np.ndim(spec) == 0:
        parts, sizes = _static_int(spec, "split num_or_size_splits"), None
    else:
        sizes = _static_ints(spec, "split num_or_size_splits")
        parts = len(sizes)
    if num is not None and _static_int(num, "split num") != parts:
        raise InvalidArgumentError(f"split: num={num} but num_or_size_splits gives {parts} parts")
    if parts <= 0:
        raise InvalidArgumentError(f"split: the number of parts must be positive, got {parts}")
    piece_num = None if sizes is not None else parts
    pieces = [_AxisPiece(axis, i, num=piece_num, sizes=sizes) for i in range(parts)]
    return _output_list(Split(value, pieces, name=name or "split"))


def _split_at_run_time(value: Node, sizes: Node, axis: int, num: Any, name: str) -> list[Node]:
    """The pieces of sizes held by an int vector node; how many must be known statically."""
    _check_int_node(sizes, "split sizes")
    if sizes.shape is not None and len(sizes.shape) != 1:
        raise ShapeError(f"split sizes must be a vector, got a tensor of shape {fmt(sizes.shape)}")
    parts = None if sizes.shape is None else sizes.shape[0]
    if num is not None:
        parts = _static_int(num, "split num")
    if parts is None:
        raise InvalidArgumentError("split: cannot tell the number of pieces of sizes; pass num")
    return [SplitPiece(value, sizes, axis, i, name=name) for i in range(parts)]


class SplitPiece(Operation):
    """Piece ``index`` along ``axis`` of a split whose sizes an int vector gives at run time
    (one size may be -1: the rest)."""

    op_type = "SplitV"

    def __init__(self, x: Any, sizes: Node, axis: int, index: int, name: str | None = None):
        self.axis, self.index = axis, index
        super().__init__([x, sizes], name=name)

    def infer(self, x: Node, sizes: Node) -> tuple[Shape, DType | None]:
        known = known_value(sizes)
        if x.shape is None:
            return None, x.dtype
        a = _axis(self.axis, len(x.shape), "split axis")
        piece = known[self.index] if known is not None else None
        if fully_known(known) and x.shape[a] is not None:
            start, stop = _AxisPiece(a, self.index, sizes=known).bounds(x.shape, a)
            piece = stop - start
        return x.shape[:a] + (None if piece == -1 else piece,) + x.shape[a + 1 :], x.dtype

    def compute(self, x: Any, sizes: Any) -> Any:
        x = np.asarray(x)
        return x[_piece_at(self, sizes).resolve(x.shape)]


def _piece_at(op: Node, sizes: Any) -> _AxisPiece:
    """Where piece ``op.index`` of a split lies, from the sizes given at run time."""
    return _AxisPiece(op.axis, op.index, sizes=runtime_sizes(sizes, "split sizes", op, -1))


@RegisterGradient("SplitV")
def _split_piece_grad(op: Node, grad: Node) -> list[Node | None]:
    return [SplitPieceGrad(grad, op.inputs[0], op.inputs[1], op.axis, op.index), None]


class SplitPieceGrad(Operation):
    """Scatter ``grad`` into zeros shaped like ``like`` where piece ``index`` of a split was."""

    op_type = "SplitVGrad"

    def __init__(
        self, grad: Node, like: Node, sizes: Node, axis: int, index: int, name: str | None = None
    ):
        self.axis, self.index = axis, index
        super().__init__([grad, like, sizes], name=name)

    def infer(self, grad: Node, like: Node, sizes: Node) -> tuple[Shape, DType | None]:
        return like.shape, grad.dtype

    def compute(self, grad: Any, like: Any, sizes: Any) -> np.ndarray:
        out = np.zeros(np.shape(like), dtype=np.result_type(grad))
        out[_piece_at(self, sizes).resolve(out.shape)] = grad
        return out


@RegisterGradient("SplitVGrad")
def _split_piece_grad_grad(op: Node, grad: Node) -> list[Node | None]:
    return [SplitPiece(grad, op.inputs[2], op.axis, op.index), None, None]


# -- gather -------------------------------------------------------------------------------------
class Gather(Operation):
    """Entries of ``params`` along ``axis`` at integer ``indices`` (output: indices' shape inside)."""

    op_type = "Gather"
    numeric = True
    alias_inputs = ()

    def __init__(self, params: Any, indices: Any, axis: Any = 0, name: str | None = None):
        self.axis_spec = axis
        super().__init__([params, indices], name=name)

    def infer(self, params: Tensor, indices: Tensor) -> tuple[Shape, DType | None]:
        self.axis = _static_int(self.axis_spec, "gather axis")
        if indices.dtype is not None and not indices.dtype.is_integer:
            raise DTypeError(f"indices must be integers, got {indices.dtype.name}")
        if params.shape is None:
            return None, params.dtype
        a = _axis(self.axis, len(params.shape), "gather axis")
        if indices.shape is None:
            return None, params.dtype
        return params.shape[:a] + indices.shape + params.shape[a + 1 :], params.dtype

    def compute(self, params: Any, indices: Any) -> np.ndarray:
        params = np.asarray(params)
        a = _axis(self.axis, params.ndim, "gather axis")
        if (
            isinstance(indices, np.integer)
            or type(indices) is int
            or (
                isinstance(indices, np.ndarray) and indices.ndim == 0 and indices.dtype.kind in "iu"
            )
        ):  # one index (a loop's step): checked and taken in plain Python
            i = int(indices)
            if not 0 <= i < params.shape[a]:
                raise InvalidArgumentError(f"index {i} is out of range [0, {params.shape[a]})")
            return params[(_slice(None),) * a + (i,)].copy()
        indices = np.asarray(indices)
        _check_indices(indices, params.shape[a])
        return np.take(params, indices, axis=a)


def _check_indices(indices: np.ndarray, n: int) -> None:
    if indices.dtype.kind not in "iu":
        raise InvalidArgumentError(f"indices must be integers, got {indices.dtype}")
    bad = indices[(indices < 0) | (indices >= n)]
    if bad.size:
        raise InvalidArgumentError(f"index {int(bad.flat[0])} is out of range [0, {n})")


@RegisterGradient("Gather")
def _gather_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    params, indices = op.inputs
    return [GatherGrad(grad, indices, params, op.axis), None]


class GatherGrad(Operation):
    """Add the rows of ``grad`` into zeros shaped like ``like`` at ``indices`` (repeats add up)."""

    op_type = "GatherGrad"

    def __init__(
        self, grad: Tensor, indices: Tensor, like: Tensor, axis: int, name: str | None = None
    ):
        self.axis = axis
        super().__init__([grad, indices, like], name=name)

    def infer(self, grad: Tensor, indices: Tensor, like: Tensor) -> tuple[Shape, DType | None]:
        return like.shape, grad.dtype

    def compute(self, grad: Any, indices: Any, like: Any) -> np.ndarray:
        shape = np.shape(like)
        a = self.axis % len(shape)
        k = np.ndim(indices)
        out = np.zeros(shape, dtype=np.result_type(grad))
        if k == 0:  # one index: one entry, no repeats to add up
            out[(_slice(None),) * a + (int(indices),)] = grad
            return out
        rows = np.moveaxis(np.asarray(grad), list(range(a, a + k)), list(range(k)))
        rows = rows.reshape((np.size(indices),) + shape[:a] + shape[a + 1 :])  # -1 fails if empty
        np.add.at(np.moveaxis(out, a, 0), np.reshape(indices, -1), rows)
        return out


@RegisterGradient("GatherGrad")
def _gather_grad_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [gather(grad, op.inputs[1], axis=op.axis), None, None]


def gather(
    params: Any,
    indices: Any,
    validate_indices: Any = None,
    name: str | None = None,
    axis: Any = 0,
    batch_dims: int = 0,
) -> Tensor:
    """``params`` entries along ``axis`` at ``indices`` (ints of any shape), as ``tf.gather``.

    Indices are always validated (TF1's ``validate_indices`` is accepted and ignored).
    """
    if batch_dims != 0:
        raise InvalidArgumentError("gather: batch_dims other than 0 is not supported")
    return Gather(params, indices, 0 if axis is None else axis, name=name)
