"""Debugging ops: ``check_numerics`` stops a run at the first NaN or Inf, naming the node;
``Print`` and ``print`` write values when they run (side effects: never folded or dropped)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, Any

import numpy as np

from ..dtypes import DType
from ..errors import InvalidArgumentError, describe
from ..graph import Node, Tensor
from .base import Operation, convert_to_tensor
from .registry import NotDifferentiable, RegisterGradient
from .shapes import Shape

__all__ = ["check_numerics", "verify_tensor_all_finite", "Print", "print"]


class CheckNumerics(Operation):
    """Passes its input through unchanged, or fails naming itself if it holds NaN or Inf."""

    op_type = "CheckNumerics"

    def __init__(self, tensor: Any, message: str, name: str | None = None):
        self.message = message
        super().__init__([tensor], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        return self.shape_rule(x.shape), x.dtype

    def shape_rule(self, x: Shape) -> Shape:
        return x

    def compute(self, x: Any) -> Any:
        array = np.asarray(x)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            found = "NaN" if np.isnan(array).any() else "Inf"
            source = self.inputs[0]
            raise InvalidArgumentError(
                f"{self.message}: {describe(source)} produced {found}",
                self,
            )
        return x


@RegisterGradient("CheckNumerics")
def _check_numerics_grad(op: Operation, grad: Tensor) -> Tensor:
    return CheckNumerics(grad, f"{op.message} (gradient)")


def check_numerics(tensor: Any, message: str, name: str | None = None) -> Tensor:
    """``tensor`` unchanged; running it fails with ``message`` if it contains NaN or Inf."""
    return CheckNumerics(tensor, message, name=name)


def verify_tensor_all_finite(t: Any, msg: str, name: str | None = None) -> Tensor:
    return CheckNumerics(t, msg, name=name)


# -- printing -------------------------------------------------------------------------------------
def _element_text(value: Any) -> str:
    """One number as TF prints it: the shortest of 6 (float32) or 15 (float64) significant
    digits that reads back exactly, else 9 or 17; integers and booleans as integers."""
    if isinstance(value, np.floating):
        short, long = (15, 17) if value.dtype == np.float64 else (6, 9)
        text = f"{float(value):.{short}g}"
        return text if value.dtype.type(text) == value else f"{float(value):.{long}g}"
    if isinstance(value, np.bool_ | bool):
        return str(int(value))
    return str(value)


def summarize_v1(value: Any, limit: int) -> str:
    """TF1 ``Print``'s summary: the first ``limit`` elements (all if negative) in row order,
    nested brackets for each dimension, ``...`` where elements were left out."""
    array = np.asarray(value)
    flat = array.reshape(-1)
    limit = flat.size if limit < 0 else min(limit, flat.size)
    if array.ndim == 0:
        text = " ".join(_element_text(v) for v in flat[:limit])
    else:
        parts: list[str] = []
        _summarize_dim_v1(array.shape, 0, flat, limit, [0], parts)
        text = "".join(parts)
    return text + "..." if flat.size > limit else text


def _summarize_dim_v1(
    shape: tuple[int, ...], dim: int, flat: np.ndarray, limit: int, at: list[int], out: list[str]
) -> None:
    if at[0] >= limit:
        return
    if dim == len(shape) - 1:
        for i in range(shape[dim]):
            if at[0] >= limit:
                if dim != 0:
                    out.append("...")
                return
            out.append((" " if i else "") + _element_text(flat[at[0]]))
            at[0] += 1
        return
    for _ in range(shape[dim]):
        opened = at[0] < limit
        if opened:
            out.append("[")
        _summarize_dim_v1(shape, dim + 1, flat, limit, at, out)
        if at[0] < limit or opened:
            out.append("]")


def summarize_v2(value: Any, edge: int) -> str:
    """``tf.print``'s summary: ``edge`` elements at each end of every dimension around
    ``...`` (all if negative), rows on their own lines as NumPy prints them."""
    array = np.asarray(value)
    if array.ndim == 0:
        return _element_text(array[()])
    edge = max(array.shape) if edge < 0 else edge
    return _summarize_dim_v2(array, 0, edge)


def _summarize_dim_v2(array: np.ndarray, dim: int, edge: int) -> str:
    """``array`` is the part of the printed tensor at depth ``dim`` (rank = depth left)."""
    if array.ndim == 0:
        return _element_text(array[()])
    count = len(array)
    spacing = " " if array.ndim == 1 else "\n" * (array.ndim - 1) + " " * (dim + 1)
    head = range(min(edge, count))
    tail = range(max(edge, count - edge), count)
    shown = [_summarize_dim_v2(array[i], dim + 1, edge) for i in head]
    if count > 2 * edge:
        shown.append("...")
    shown += [_summarize_dim_v2(array[i], dim + 1, edge) for i in tail]
    return "[" + spacing.join(shown) + "]"


class PrintV1(Operation):
    """TF1's ``Print``: passes ``input`` on and writes ``message`` and ``data`` to stderr."""

    op_type = "Print"
    pure = False
    changes_state = False

    def __init__(
        self,
        input: Any,
        data: Sequence[Any],
        message: str,
        first_n: int,
        summarize: int,
        name: str | None,
    ):  # noqa: A002
        self.message = message
        self.first_n = first_n
        self.summarize = summarize
        self.printed = 0
        super().__init__([input, *data], name=name)

    def infer(self, x: Node, *data: Node) -> tuple[Shape, DType | None]:
        return x.shape, x.dtype

    def compute(self, x: Any, *data: Any) -> Any:
        if self.first_n < 0 or self.printed < self.first_n:
            self.printed += 1
            line = self.message + "".join(f"[{summarize_v1(d, self.summarize)}]" for d in data)
            sys.stderr.write(line + "\n")
        return x


@RegisterGradient("Print")
def _print_grad(op: Node, grad: Node) -> list[Node | None]:
    return [grad] + [None] * (len(op.inputs) - 1)


def Print(  # noqa: N802 - TF1's name
    input_: Any,
    data: Sequence[Any],
    message: str | None = None,
    first_n: int = -1,
    summarize: int | None = 3,
    name: str | None = None,
) -> Node:
    """``input_`` unchanged; each run writes ``message`` and the first ``summarize`` values of
    each of ``data`` to stderr (only the first ``first_n`` runs if ``first_n`` >= 0)."""
    limit = 3 if summarize is None else summarize
    return PrintV1(input_, list(data), message or "", first_n, limit, name)


class PrintV2(Operation):
    """``tf.print``: writes its inputs (text given at build time, tensors at run time)."""

    op_type = "PrintV2"
    is_update = True
    pure = False
    changes_state = False

    def __init__(
        self,
        parts: Sequence[Any],
        stream: Any,
        summarize: int,
        sep: str,
        end: str,
        name: str | None,
    ):
        self.texts = [None if isinstance(p, Tensor) else _literal_text(p) for p in parts]
        self.stream = stream
        self.summarize = summarize
        self.sep = sep
        self.end = end
        super().__init__([p for p in parts if isinstance(p, Tensor)], name=name)

    def infer(self, *tensors: Node) -> tuple[Shape, DType | None]:
        return (), None

    def compute(self, *values: Any) -> None:
        pending = iter(values)
        texts = [
            summarize_v2(next(pending), self.summarize) if text is None else text
            for text in self.texts
        ]
        _write(self.stream, self.sep.join(texts) + self.end)


NotDifferentiable("PrintV2")


def _literal_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _write(stream: Any, text: str) -> None:
    """Write to ``stream``: ``sys.stderr``/``sys.stdout`` as they are when the op runs (so
    redirections apply), a ``file://`` path (appended to), or any object with ``write``."""
    target: IO[str]
    if isinstance(stream, str) and stream.startswith("file://"):
        with open(stream[len("file://") :], "a") as file:
            file.write(text)
        return
    target = getattr(sys, stream) if stream in ("stderr", "stdout") else stream
    target.write(text)


#: the streams ``print``'s default argument may hold: ``sys.stderr`` when it was defined
_STDERRS = (sys.stderr, sys.__stderr__)
_STDOUTS = (sys.stdout, sys.__stdout__)


def _stream_key(output_stream: Any) -> Any:
    """The stream to write to at run time; the current ``sys`` streams are looked up then."""
    if output_stream is sys.stderr or any(output_stream is s for s in _STDERRS):
        return "stderr"
    if output_stream is sys.stdout or any(output_stream is s for s in _STDOUTS):
        return "stdout"
    if isinstance(output_stream, str) and output_stream.startswith("file://"):
        return output_stream
    if not hasattr(output_stream, "write"):
        raise InvalidArgumentError(f"print() cannot write to {output_stream!r}")
    return output_stream


def print(  # noqa: A001 - TF's name
    *inputs: Any,
    output_stream: Any = sys.stderr,
    summarize: int = 3,
    sep: str = " ",
    end: str = "\n",
    name: str | None = None,
) -> Node:
    """An op that writes ``inputs`` (strings as they are, tensors summarized) when run;
    run it, or make it a control dependency, for it to print (TF1 graph mode)."""
    parts = [x if isinstance(x, str) else _printable(x) for x in inputs]
    return PrintV2(parts, _stream_key(output_stream), summarize, sep, end, name)


def _printable(value: Any) -> Any:
    """Nodes and arrays become tensors printed at run time; other Python values are text."""
    if isinstance(value, Tensor | np.ndarray):
        return convert_to_tensor(value)
    return value
