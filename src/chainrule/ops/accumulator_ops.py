"""The flat accumulator that ``loop_and_stack`` (``map_fn``, ``scan``, ``dynamic_rnn``) grows by
one loop iteration's output at a time, and its gradients.

``Append(acc, y)`` is ``acc`` with ``y``'s entries appended. Copying the whole accumulator
every iteration would cost time quadratic in the number of iterations, so the kernel grows a
buffer with room to spare: appending to the value it last returned for a buffer writes ``y``
just past that value's end and returns a longer view of the same buffer (amortised, a copy of
``y`` only). Any other ``acc`` (a fed array, a value appended to a second time) is copied into
a new buffer. No value ever changes: the kernel writes only past the end of every view of the
buffer it has returned, where no value lies. Its result shares memory with ``acc``
(``alias_inputs = (0,)``), so that no other op writes into it in place.

The gradient needs only ``y``'s size: ``AppendHead`` and ``AppendTail`` are views of ``Append``'s
incoming gradient, so that backpropagation through a loop takes O(1) per iteration too.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from ..dtypes import DType
from ..graph import Tensor
from .array_ops import zeros_like
from .base import Operation
from .registry import RegisterGradient
from .shapes import Shape

__all__ = ["Append", "AppendHead", "AppendTail"]

#: the smallest buffer ``Append`` allocates, in entries
MIN_CAPACITY = 16

#: for the view ``Append`` returned last from each buffer, by the view's ``id``: a weak
#: reference to the view (the entry goes when the view does) and its buffer
_latest: dict[int, tuple[weakref.ref, np.ndarray]] = {}


def append(acc: Any, y: Any) -> np.ndarray:
    """``acc`` (flat) with ``y``'s entries appended: in ``acc``'s buffer when ``acc`` is the view
    this function returned last from it and the buffer has room, else in a new buffer."""
    if not isinstance(y, np.ndarray | np.generic):
        y = np.asarray(y)
    entry = _latest.pop(id(acc), None)
    if entry is not None and entry[0]() is acc:
        buffer = entry[1]
        start = acc.shape[0]
        stop = start + y.size
        if stop <= buffer.shape[0] and y.dtype == buffer.dtype:
            buffer[start:stop] = y.reshape(-1)
            return _handed_out(buffer, stop)
    acc = np.asarray(acc)
    start = acc.size
    stop = start + y.size
    buffer = np.empty(max(2 * stop, MIN_CAPACITY), np.result_type(acc, y))
    buffer[:start] = acc
    buffer[start:stop] = y.reshape(-1)
    return _handed_out(buffer, stop)


def _handed_out(buffer: np.ndarray, size: int) -> np.ndarray:
    """The view of ``buffer``'s first ``size`` entries, recorded as its latest."""
    view = buffer[:size]
    key = id(view)
    _latest[key] = (weakref.ref(view, lambda _, key=key: _latest.pop(key, None)), buffer)
    return view


class Append(Operation):
    """The flat vector ``acc`` with ``y``'s entries appended: how ``loop_and_stack``
    accumulates (its gradient needs only ``y``'s size, so a loop keeps no accumulator)."""

    op_type = "Append"
    numeric = True
    #: the result may be a longer view of ``acc``'s buffer
    alias_inputs = (0,)

    def __init__(self, first: Any, y: Any, name: str | None = None):
        super().__init__([first, y], name=name)

    def infer(self, acc: Tensor, y: Tensor) -> tuple[Shape, DType | None]:
        return (None,), acc.dtype

    def compute(self, acc: Any, y: Any) -> np.ndarray:
        return append(acc, y)


class AppendHead(Operation):
    """All but the last ``size(y)`` entries of ``g`` (what ``Append``'s ``acc`` gets back)."""

    op_type = "AppendHead"
    numeric = True
    alias_inputs = None

    def __init__(self, first: Any, y: Any, name: str | None = None):
        super().__init__([first, y], name=name)

    def infer(self, g: Tensor, y: Tensor) -> tuple[Shape, DType | None]:
        return (None,), g.dtype

    def compute(self, g: Any, y: Any) -> np.ndarray:
        return g[: np.size(g) - np.size(y)]


class AppendTail(Operation):
    """The last ``size(y)`` entries of ``g``, shaped like ``y`` (what ``Append``'s ``y`` gets)."""

    op_type = "AppendTail"
    numeric = True
    alias_inputs = None

    def __init__(self, first: Any, y: Any, name: str | None = None):
        super().__init__([first, y], name=name)

    def infer(self, g: Tensor, y: Tensor) -> tuple[Shape, DType | None]:
        return y.shape, g.dtype

    def compute(self, g: Any, y: Any) -> np.ndarray:
        return np.reshape(g[np.size(g) - np.size(y) :], np.shape(y))


@RegisterGradient("Append")
def _append_grad(op: Append, grad: Tensor) -> list[Tensor]:
    y = op.inputs[1]
    return [AppendHead(grad, y), AppendTail(grad, y)]


@RegisterGradient("AppendHead")
def _append_head_grad(op: AppendHead, grad: Tensor) -> list[Tensor | None]:
    return [Append(grad, zeros_like(op.inputs[1])), None]


@RegisterGradient("AppendTail")
def _append_tail_grad(op: AppendTail, grad: Tensor) -> list[Tensor | None]:
    g, y = op.inputs
    return [Append(AppendHead(zeros_like(g), y), grad), None]
