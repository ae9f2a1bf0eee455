"""Shape rules shared by the ops: broadcasting, axis normalisation, known-ness.

A size is an int, ``None`` (unknown) or a ``Dim``: a symbol for a size known only at run
time, equal only to itself. The same rules serve the static shapes of the graph (ints and
``None``) and the symbolic shapes of a plan (ints and ``Dim``s).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ShapeError

Shape = tuple[int | None, ...] | None


class Dim:
    """An unknown dimension size: equal only to itself, wherever it flows in one plan."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "?"


def is_int(d: Any) -> bool:
    """Whether the size ``d`` is a known number (not ``None``, not a symbol)."""
    return isinstance(d, int)


def all_ones(shape: Sequence[Any]) -> bool:
    """Every size known to be 1 (true of the empty shape)."""
    return all(is_int(d) and d == 1 for d in shape)


def as_shape(shape: Any) -> Shape:
    """Normalise a user's shape (list, tuple, int, ``None``) into a tuple with ``None`` dims."""
    if shape is None:
        return None
    if isinstance(shape, int):
        return (_as_size(shape, shape),)
    dims = getattr(shape, "dims", shape)
    if dims is None:
        return None
    if isinstance(dims, str | bytes) or not hasattr(dims, "__iter__"):
        raise ShapeError(f"a shape is a list of sizes such as [2, 3], not {dims!r}")
    return tuple(_as_size(d, shape) for d in dims)


def _as_size(d: Any, shape: Any) -> int | None:
    """One size of a user's shape: a whole number >= 0, or ``None``/-1 for unknown."""
    if d is None:
        return None
    try:
        size = int(d)
        whole = size == d and not isinstance(d, str | bytes)
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise ShapeError(f"the size {d!r} in shape {shape!r} is not a whole number")
    if size == -1:
        return None
    if size < 0:
        raise ShapeError(f"the size {size} in shape {shape!r} is negative; sizes are >= 0")
    return size


def is_known(shape: Shape) -> bool:
    return shape is not None and all(d is not None for d in shape)


def broadcast_shapes(a: Shape, b: Shape) -> Shape:
    """NumPy broadcasting of two shapes (static or symbolic), or a ShapeError."""
    return broadcast_dims(a, b)


def broadcast_dims(*shapes: Shape) -> Shape:
    """NumPy broadcasting of static or symbolic shapes; ``None`` where a size cannot be told.

    An unknown size against ``k > 1`` is ``k`` (or the run fails); two different unknown sizes
    give an unknown one. Two different known sizes other than 1 are a ShapeError.
    """
    if any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(rank):
        dims = [s[axis - rank + len(s)] for s in shapes if axis >= rank - len(s)]
        out.append(_broadcast_dim(dims, shapes))
    return tuple(out)


def _broadcast_dim(dims: Sequence[Any], shapes: Sequence[Shape]) -> Any:
    result: Any = 1
    for d in dims:
        if is_int(d) and d == 1:
            continue
        if is_int(result) and result == 1 or d is result:
            result = d
        elif is_int(result) and is_int(d):
            if d != result:
                shown = " and ".join(fmt(s) for s in shapes)
                raise ShapeError(f"shapes {shown} cannot be broadcast together")
        elif is_int(d):
            result = d
        elif not is_int(result):
            result = None
    return result


def fmt(shape: Shape) -> str:
    """``(3, 2)`` / ``(?, 2)`` / ``<unknown>``: shapes as error messages show them."""
    if shape is None:
        return "<unknown>"
    inner = ", ".join(str(d) if is_int(d) else "?" for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def normalize_axes(axis: Any, rank: int | None) -> tuple[int, ...] | None:
    """``axis`` (None, int, list, negative) as a sorted tuple of non-negative axes; None = all."""
    if axis is None:
        return None if rank is None else tuple(range(rank))
    axes = [int(a) for a in (axis if isinstance(axis, Sequence) else [axis])]
    if rank is None:
        if any(a < 0 for a in axes):
            return None
        return tuple(sorted(set(axes)))
    for a in axes:
        if not -rank <= a < max(rank, 1):
            raise ShapeError(f"axis {a} is out of range for rank {rank}")
    return tuple(sorted({a % rank if rank else 0 for a in axes}))


def reduced_shape(shape: Shape, axes: tuple[int, ...] | None, keepdims: bool) -> Shape:
    if shape is None:
        return None
    if axes is None:
        axes = tuple(range(len(shape)))
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def merge_dims(a: int | None, b: int | None) -> int | None:
    return a if a is not None else b
