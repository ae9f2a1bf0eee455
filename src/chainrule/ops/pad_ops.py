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
from ..graph import Tensor
from .base import Operation, is_constant, lift_operands
from .registry import RegisterGradient
from .shape_ops import _common_dtype, _static_ints
from .shapes import Shape, fmt
from .slice_ops import StridedSlice

__all__ = ["pad"]


def _paddings(value: Any) -> tuple[tuple[int, int], ...]:
    if is_constant(value):
        value = value.value
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


def _padded_shape(shape: Shape, paddings: tuple[tuple[int, int], ...]) -> Shape:
    if shape is None:
        return (None,) * len(paddings)
    if len(paddings) != len(shape):
        raise ShapeError(
            f"paddings has {len(paddings)} rows for a tensor of shape {fmt(shape)} "
            f"(rank {len(shape)}); it needs one [before, after] row per axis"
        )
    return tuple(
        None if d is None else d + b + a for d, (b, a) in zip(shape, paddings, strict=True)
    )


class Pad(Operation):
    """Pad with ``constant_values`` (``mode="CONSTANT"``)."""

    op_type = "Pad"

    def __init__(self, x: Any, paddings: Any, constant_values: Any = 0, name: str | None = None):
        self.paddings_spec = paddings
        super().__init__(lift_operands([x, constant_values]), name=name)

    def infer(self, x: Tensor, constant_values: Tensor) -> tuple[Shape, DType | None]:
        self.paddings = _paddings(self.paddings_spec)
        if constant_values.shape not in (None, ()):
            raise ShapeError(
                f"constant_values must be a scalar, got shape {fmt(constant_values.shape)}"
            )
        return _padded_shape(x.shape, self.paddings), _common_dtype([x, constant_values])

    def compute(self, x: Any, constant_values: Any) -> np.ndarray:
        _padded_shape(np.shape(x), self.paddings)
        return np.pad(x, self.paddings, mode="constant", constant_values=constant_values)


@RegisterGradient("Pad")
def _pad_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    key = tuple(slice(b, -a if a else None) for b, a in op.paddings)
    return [StridedSlice(grad, key), None]


_MIRROR_MODES = {"REFLECT": "reflect", "SYMMETRIC": "symmetric"}


class MirrorPad(Operation):
    """Pad with a mirror image of ``x``: REFLECT leaves out the edge, SYMMETRIC repeats it."""

    op_type = "MirrorPad"

    def __init__(self, x: Any, paddings: Any, mode: str, name: str | None = None):
        self.paddings_spec, self.mode = paddings, mode
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        self.paddings = _paddings(self.paddings_spec)
        out = _padded_shape(x.shape, self.paddings)
        if x.shape is not None:
            _check_mirror(x.shape, self.paddings, self.mode)
        return out, x.dtype

    def compute(self, x: Any) -> np.ndarray:
        _padded_shape(np.shape(x), self.paddings)
        _check_mirror(np.shape(x), self.paddings, self.mode)
        return np.pad(x, self.paddings, mode=_MIRROR_MODES[self.mode])


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
def _mirror_pad_grad(op: Operation, grad: Tensor) -> Tensor:
    return MirrorPadGrad(grad, op.inputs[0], op.paddings, op.mode)


class MirrorPadGrad(Operation):
    """Fold a mirror-padded gradient back: each padded entry adds onto the entry it copied."""

    op_type = "MirrorPadGrad"

    def __init__(
        self,
        grad: Tensor,
        like: Tensor,
        paddings: tuple[tuple[int, int], ...],
        mode: str,
        name: str | None = None,
    ):
        self.paddings, self.mode = paddings, mode
        super().__init__([grad, like], name=name)

    def infer(self, grad: Tensor, like: Tensor) -> tuple[Shape, DType | None]:
        return like.shape, grad.dtype

    def compute(self, grad: Any, like: Any) -> np.ndarray:
        out = np.asarray(grad)
        shift = 1 if self.mode == "REFLECT" else 0
        for axis, (n, (b, a)) in enumerate(zip(np.shape(like), self.paddings, strict=True)):
            if not b and not a:
                continue
            moved = np.moveaxis(out, axis, 0)
            folded = moved[b : b + n].copy()
            folded[np.arange(b, 0, -1) - 1 + shift] += moved[:b]
            folded[n - 1 - shift - np.arange(a)] += moved[b + n :]
            out = np.moveaxis(folded, 0, axis)
        return out


@RegisterGradient("MirrorPadGrad")
def _mirror_pad_grad_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [MirrorPad(grad, op.paddings, op.mode), None]


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
    if upper == "CONSTANT":
        return Pad(tensor, paddings, constant_values, name=name)
    if upper in _MIRROR_MODES:
        return MirrorPad(tensor, paddings, upper, name=name)
    raise InvalidArgumentError(f"pad mode must be CONSTANT, REFLECT or SYMMETRIC, got {mode!r}")
