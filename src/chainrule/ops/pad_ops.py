"""Pad ops: ``pad`` with a constant (``Pad``) or a mirror image (``MirrorPad``).

Each op states its static shape rule (``infer``), its NumPy kernel and, right below it, its
gradient: a slice for constant padding, a fold of the mirrored entries for mirror padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..dtypes import DType
from ..errors import InvalidArgumentError, ShapeError
from ..graph import Node, Tensor
from .base import Operation, is_constant, known_value, lift_operands
from .registry import RegisterGradient
from .shape_ops import (
    _check_int_node,
    _common_dtype,
    _static_ints,
    _static_or_node,
    runtime_sizes,
)
from .shapes import Shape, fmt
from .slice_ops import StridedSlice

__all__ = ["pad"]


def _paddings(value: Any) -> tuple[tuple[int, int], ...]:
    if is_constant(value):
        value = value.op.value
    rows = np.asarray(value).tolist() if isinstance(value, np.ndarray) else value
    if isinstance(rows, Tensor) or not isinstance(rows, Sequence):
        raise InvalidArgumentError(
            f"paddings must be a static [[before, after], ...] list, got {value!r}"
        )
    pairs = []
    for row in rows:
        pair = _static_ints(row, "paddings")
        if len(pair) != 2:
            raise ShapeError(f"paddings must have shape (rank, 2), got {value!r}")
        if pair[0] < 0 or pair[1] < 0:
            raise ShapeError(f"paddings must be >= 0, got {value!r}")
        pairs.append(pair)
    return tuple(pairs)  # type: ignore[return-value]


def _padded_shape(shape: Shape, paddings: Any) -> Shape:
    """The padded shape; a row of ``paddings`` may hold ``None`` (known only at run time)."""
    if paddings is None:
        return None if shape is None else (None,) * len(shape)
    if shape is None:
        return (None,) * len(paddings)
    if len(paddings) != len(shape):
        raise ShapeError(
            f"paddings has {len(paddings)} rows for a tensor of shape {fmt(shape)} "
            f"(rank {len(shape)}); it needs one [before, after] row per axis"
        )
    return tuple(
        None if None in (d, b, a) else d + b + a for d, (b, a) in zip(shape, paddings, strict=True)
    )


def _paddings_node(paddings: Node) -> Any:
    """What the graph knows of a paddings node: rows of ints and ``None``s, or ``None``."""
    _check_int_node(paddings, "paddings")
    if paddings.shape is not None and (len(paddings.shape) != 2 or paddings.shape[1] != 2):
        raise ShapeError(f"paddings must have shape (rank, 2), got {fmt(paddings.shape)}")
    known = known_value(paddings)
    if known is not None and any(v is not None and v < 0 for row in known for v in row):
        raise ShapeError(f"paddings must be >= 0, got {[list(row) for row in known]}")
    return known


def _runtime_paddings(value: Any, node: Node) -> tuple[tuple[int, int], ...]:
    """Paddings given at run time as rows of ints, or an InvalidArgumentError naming ``node``."""
    flat = runtime_sizes(value, "paddings", node)
    if np.ndim(value) != 2 or np.shape(value)[1] != 2:
        raise InvalidArgumentError(
            f"paddings must have shape (rank, 2), got {np.shape(value)}", node
        )
    return tuple(zip(flat[::2], flat[1::2], strict=True))


def _paddings_of(op: Node, values: Sequence[Any]) -> tuple[tuple[int, int], ...]:
    """The op's static paddings, or those its last input gives at run time."""
    if op.paddings is not None:
        return op.paddings
    return _runtime_paddings(values[-1], op)


class Pad(Operation):
    """Pad with ``constant_values`` (``mode="CONSTANT"``)."""

    op_type = "Pad"

    def __init__(self, x: Any, paddings: Any, constant_values: Any = 0, name: str | None = None):
        self.paddings_spec = paddings
        extra = [paddings] if isinstance(paddings, Tensor) else []
        super().__init__(lift_operands([x, constant_values]) + extra, name=name)

    def infer(
        self, x: Node, constant_values: Node, paddings: Node | None = None
    ) -> tuple[Shape, DType | None]:
        self.paddings = None if paddings is not None else _paddings(self.paddings_spec)
        if constant_values.shape not in (None, ()):
            raise ShapeError(
                f"constant_values must be a scalar, got shape {fmt(constant_values.shape)}"
            )
        known = self.paddings if paddings is None else _paddings_node(paddings)
        return _padded_shape(x.shape, known), _common_dtype([x, constant_values])

    def compute(self, x: Any, constant_values: Any, *paddings: Any) -> np.ndarray:
        rows = _paddings_of(self, paddings)
        _padded_shape(np.shape(x), rows)
        return np.pad(x, rows, mode="constant", constant_values=constant_values)


@RegisterGradient("Pad")
def _pad_grad(op: Node, grad: Node) -> list[Node | None]:
    if op.paddings is None:
        return [PadGrad(grad, op.paddings_spec), None, None]
    key = tuple(slice(b, -a if a else None) for b, a in op.paddings)
    return [StridedSlice(grad, key), None]


class PadGrad(Operation):
    """The unpadded middle of ``grad``, for paddings known only at run time."""

    op_type = "PadGrad"

    def __init__(self, grad: Node, paddings: Node, name: str | None = None):
        super().__init__([grad, paddings], name=name)

    def infer(self, grad: Node, paddings: Node) -> tuple[Shape, DType | None]:
        return None if grad.shape is None else (None,) * len(grad.shape), grad.dtype

    def compute(self, grad: Any, paddings: Any) -> Any:
        rows = _runtime_paddings(paddings, self)
        return np.asarray(grad)[
            tuple(slice(b, d - a) for d, (b, a) in zip(np.shape(grad), rows, strict=True))
        ]


@RegisterGradient("PadGrad")
def _pad_grad_grad(op: Node, grad: Node) -> list[Node | None]:
    return [Pad(grad, op.inputs[1]), None]


_MIRROR_MODES = {"REFLECT": "reflect", "SYMMETRIC": "symmetric"}


class MirrorPad(Operation):
    """Pad with a mirror image of ``x``: REFLECT leaves out the edge, SYMMETRIC repeats it."""

    op_type = "MirrorPad"

    def __init__(self, x: Any, paddings: Any, mode: str, name: str | None = None):
        self.paddings_spec, self.mode = paddings, mode
        super().__init__([x, *([paddings] if isinstance(paddings, Tensor) else [])], name=name)

    def infer(self, x: Node, paddings: Node | None = None) -> tuple[Shape, DType | None]:
        if paddings is not None:
            self.paddings = None
            return _padded_shape(x.shape, _paddings_node(paddings)), x.dtype
        self.paddings = _paddings(self.paddings_spec)
        out = _padded_shape(x.shape, self.paddings)
        if x.shape is not None:
            _check_mirror(x.shape, self.paddings, self.mode)
        return out, x.dtype

    def compute(self, x: Any, *paddings: Any) -> np.ndarray:
        rows = _paddings_of(self, paddings)
        _padded_shape(np.shape(x), rows)
        _check_mirror(np.shape(x), rows, self.mode)
        return np.pad(x, rows, mode=_MIRROR_MODES[self.mode])


def _check_mirror(shape: Shape, paddings: tuple[tuple[int, int], ...], mode: str) -> None:
    """REFLECT pads must be smaller than the dimension, SYMMETRIC pads at most as large."""
    slack = 1 if mode == "REFLECT" else 0
    for axis, (d, (b, a)) in enumerate(zip(shape, paddings, strict=True)):
        if d is not None and max(b, a) > d - slack:
            limit = "smaller than" if slack else "at most"
            raise ShapeError(
                f"{mode} padding {[b, a]} on axis {axis} of shape {fmt(shape)} must be "
                f"{limit} the dimension's size {d}"
            )


@RegisterGradient("MirrorPad")
def _mirror_pad_grad(op: Node, grad: Node) -> list[Node | None]:
    paddings = op.paddings_spec if op.paddings is None else op.paddings
    return [MirrorPadGrad(grad, op.inputs[0], paddings, op.mode)] + [None] * (len(op.inputs) - 1)


class MirrorPadGrad(Operation):
    """Fold a mirror-padded gradient back: each padded entry adds onto the entry it copied."""

    op_type = "MirrorPadGrad"

    def __init__(
        self,
        grad: Node,
        like: Node,
        paddings: Any,
        mode: str,
        name: str | None = None,
    ):
        self.paddings_spec, self.mode = paddings, mode
        self.paddings = None if isinstance(paddings, Tensor) else paddings
        super().__init__([grad, like, *([paddings] if self.paddings is None else [])], name=name)

    def infer(self, grad: Node, like: Node, *paddings: Node) -> tuple[Shape, DType | None]:
        return like.shape, grad.dtype

    def compute(self, grad: Any, like: Any, *paddings: Any) -> np.ndarray:
        out = np.asarray(grad)
        shift = 1 if self.mode == "REFLECT" else 0
        rows = _paddings_of(self, paddings)
        for axis, (n, (b, a)) in enumerate(zip(np.shape(like), rows, strict=True)):
            if not b and not a:
                continue
            moved = np.moveaxis(out, axis, 0)
            folded = moved[b : b + n].copy()
            folded[np.arange(b, 0, -1) - 1 + shift] += moved[:b]
            folded[n - 1 - shift - np.arange(a)] += moved[b + n :]
            out = np.moveaxis(folded, 0, axis)
        return out


@RegisterGradient("MirrorPadGrad")
def _mirror_pad_grad_grad(op: Node, grad: Node) -> list[Node | None]:
    return [MirrorPad(grad, op.paddings_spec, op.mode)] + [None] * (len(op.inputs) - 1)


def pad(
    tensor: Any,
    paddings: Any,
    mode: str = "CONSTANT",
    name: str | None = None,
    constant_values: Any = 0,
) -> Tensor:
    """Pad each axis ``i`` with ``paddings[i] = [before, after]`` entries.

    ``mode`` is CONSTANT (``constant_values``), REFLECT or SYMMETRIC (case-insensitive), as TF1.
    """
    upper = str(mode).upper()
    paddings = _static_or_node(paddings)
    if upper == "CONSTANT":
        return Pad(tensor, paddings, constant_values, name=name)
    if upper in _MIRROR_MODES:
        return MirrorPad(tensor, paddings, upper, name=name)
    raise InvalidArgumentError(f"pad mode must be CONSTANT, REFLECT or SYMMETRIC, got {mode!r}")
