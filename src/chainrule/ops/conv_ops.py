"""Convolution and pooling ops: ``conv2d`` and its two gradient ops, ``max_pool`` (also
``max_pool_with_argmax``), ``avg_pool``, ``fused_batch_norm``; built on them: ``conv1d``,
``conv2d_transpose``, ``depthwise_conv2d``, ``separable_conv2d``, ``batch_normalization``,
``local_response_normalization`` and ``embedding_lookup``.

Every op keeps its shape rule, NumPy kernel and gradient side by side. The kernels work in
NHWC (NCHW is transposed on the way in and out) and follow TF1's output sizes exactly: VALID
keeps the windows that fit, SAME gives ``ceil(size / stride)`` outputs and pads the missing
rows and columns with the odd one at the end (bottom, right). A convolution is one matrix
product: the input's windows (a ``sliding_window_view``, copied once into an im2col matrix)
times the filter; its gradients take the same route, adding each filter tap's contribution back
with one strided slice per tap (never a loop over pixels).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..dtypes import DType, as_dtype, int32, int64
from ..errors import DTypeError, InvalidArgumentError, ShapeError
from ..graph import FusedKernels, PlanValue, Tensor
from . import array_ops, shape_ops
from .base import Operation, convert_to_tensor, known_value
from .clip_ops import clip_by_norm
from .elementwise import _require_float
from .linalg_ops import matmul
from .math_ops import cast, rsqrt, square
from .math_ops import pow as pow_
from .reduction_ops import reduce_mean, reduce_sum
from .registry import RegisterGradient
from .shapes import Shape, fmt
from .slice_ops import gather

__all__ = [
    "conv2d",
    "conv2d_backprop_input",
    "conv2d_backprop_filter",
    "conv1d",
    "max_pool",
    "avg_pool",
    "batch_normalization",
    "fused_batch_norm",
    "embedding_lookup",
    "conv2d_transpose",
    "depthwise_conv2d",
    "separable_conv2d",
    "max_pool_with_argmax",
    "local_response_normalization",
]


# -- window geometry ------------------------------------------------------------------------------
class Span(NamedTuple):
    """One spatial axis of a windowed op: its output size and the padding before and after."""

    out: int
    before: int
    after: int


def _c_div(a: int, b: int) -> int:
    """Integer division rounding toward zero, as TF's C++ size rules divide."""
    return -(-a // b) if a < 0 else a // b


def span(size: int, window: int, stride: int, dilation: int, padding: Any) -> Span:
    """TF1's output size and padding along one axis (``padding``: "SAME", "VALID" or a pair)."""
    effective = (window - 1) * dilation + 1
    if padding == "SAME":
        out = _c_div(size + stride - 1, stride)
        needed = max((out - 1) * stride + effective - size, 0)
        return Span(out, needed // 2, needed - needed // 2)
    before, after = (0, 0) if padding == "VALID" else padding
    padded = size + before + after
    if padded < effective:
        raise ShapeError(
            f"the window spans {effective} (size {window}, dilation {dilation}) but the input "
            f"has only {padded} along an axis ({size} plus padding {before}+{after}); "
            "use padding='SAME' or a smaller window"
        )
    return Span(_c_div(padded - effective, stride) + 1, before, after)


def _pair(values: Any, what: str, channels_first: bool) -> tuple[int, int]:
    """The spatial (height, width) pair of a TF1 attribute: an int, 1, 2 or 4 values (4 as
    ``[1, h, w, 1]``, or ``[1, 1, h, w]`` for NCHW, whose batch and channel entries must be 1)."""
    if isinstance(values, int | np.integer):
        values = [int(values)]
    try:
        items = [int(v) for v in values]
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{what} must be ints, got {values!r}") from None
    if len(items) == 4:
        outer = (items[0], items[1]) if channels_first else (items[0], items[3])
        if outer != (1, 1):
            raise InvalidArgumentError(
                f"{what} {items} must be 1 in the batch and channel dimensions"
            )
        pair = (items[2], items[3]) if channels_first else (items[1], items[2])
    elif len(items) in (1, 2):
        pair = (items[0], items[-1])
    else:
        raise InvalidArgumentError(f"{what} must have 1, 2 or 4 values, got {values!r}")
    if min(pair) <= 0:
        raise InvalidArgumentError(f"{what} must be positive, got {values!r}")
    return pair


def _padding(padding: Any, channels_first: bool) -> tuple[Any, Any]:
    """``"SAME"``, ``"VALID"`` or explicit ``[[0, 0], [top, bottom], [left, right], [0, 0]]``
    (NHWC order; NCHW puts the two spatial pairs last), per spatial axis."""
    if isinstance(padding, bytes):
        padding = padding.decode()
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise InvalidArgumentError(
                f"padding must be 'SAME', 'VALID' or explicit pairs, got {padding!r}"
            )
        return padding.upper(), padding.upper()
    try:
        rows = [tuple(int(v) for v in row) for row in padding]
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"padding must be 'SAME', 'VALID' or pairs, got {padding!r}"
        ) from None
    if len(rows) != 4 or any(len(r) != 2 for r in rows) or min(min(r) for r in rows) < 0:
        raise InvalidArgumentError(
            f"explicit padding must be 4 pairs of non-negative ints, got {padding!r}"
        )
    outer = [rows[0], rows[1]] if channels_first else [rows[0], rows[3]]
    if outer != [(0, 0), (0, 0)]:
        raise InvalidArgumentError(
            f"explicit padding {padding!r} must be 0 in the batch and channel dimensions"
        )
    return (rows[2], rows[3]) if channels_first else (rows[1], rows[2])


def _data_format(data_format: str | None, allowed: Sequence[str] = ("NHWC", "NCHW")) -> bool:
    """Whether ``data_format`` puts the channels first (NCHW)."""
    fmt_ = (data_format or allowed[0]).upper()
    if fmt_ not in allowed:
        raise InvalidArgumentError(f"data_format must be one of {list(allowed)}, got {fmt_!r}")
    return fmt_ == allowed[1]


class Window:
    """A windowed op's attributes: strides, dilations, padding, layout (checked when built)."""

    def set_window(
        self, strides: Any, padding: Any, data_format: str | None, dilations: Any
    ) -> None:
        self.spec = (strides, padding, data_format, dilations)

    def parse_window(self) -> None:
        strides, padding, data_format, dilations = self.spec
        self.channels_first = _data_format(data_format)
        self.strides = _pair(strides, "strides", self.channels_first)
        self.dilations = _pair(dilations, "dilations", self.channels_first)
        self.pads = _padding(padding, self.channels_first)

    def window_key(self) -> Hashable:
        """The attributes that decide which windows the op reads."""
        return (self.strides, self.dilations, self.pads, self.channels_first)

    def attrs(self) -> dict[str, Any]:
        """The attributes again, to build the gradient ops alike."""
        strides, padding, data_format, dilations = self.spec
        return {
            "strides": strides,
            "padding": padding,
            "data_format": data_format,
            "dilations": dilations,
        }

    def spans(self, hw: Sequence[int], window: Sequence[int]) -> tuple[Span, Span]:
        """The rows' and the columns' spans for an input of (height, width) ``hw``."""
        return tuple(  # type: ignore[return-value]
            span(hw[a], window[a], self.strides[a], self.dilations[a], self.pads[a]) for a in (0, 1)
        )

    def static_spans(self, hw: Sequence[Any], window: Sequence[Any]) -> tuple[Any, Any]:
        """Output sizes where the sizes are known (``None`` elsewhere); checks them."""
        return tuple(
            None
            if hw[a] is None or window[a] is None
            else span(hw[a], window[a], self.strides[a], self.dilations[a], self.pads[a]).out
            for a in (0, 1)
        )

    def nhwc(self, shape: Shape) -> Shape:
        """A 4-D shape in NHWC order."""
        if shape is None or not self.channels_first:
            return shape
        n, c, h, w = shape
        return (n, h, w, c)

    def layout(self, shape: Shape) -> Shape:
        """An NHWC shape in the op's layout."""
        if shape is None or not self.channels_first:
            return shape
        n, h, w, c = shape
        return (n, c, h, w)

    def to_nhwc(self, x: Any) -> np.ndarray:
        """A value in the op's layout as an NHWC view (the kernels' layout)."""
        x = np.asarray(x)
        return x.transpose(0, 2, 3, 1) if self.channels_first else x

    def from_nhwc(self, x: np.ndarray) -> np.ndarray:
        """An NHWC result in the op's layout, contiguous."""
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2) if self.channels_first else x)


def _require_rank(node: Tensor, rank: int, what: str) -> None:
    """Refuse a tensor of known rank other than ``rank`` when the graph is built."""
    if node.shape is not None and len(node.shape) != rank:
        raise ShapeError(f"{what} must be {rank}-D, got shape {fmt(node.shape)}")


def _sizes_input(sizes: Tensor, what: str) -> Shape:
    """What the graph knows of a 4-vector of sizes (``input_sizes``, ``filter_sizes``)."""
    if sizes.dtype is not None and not sizes.dtype.is_integer:
        raise DTypeError(f"{what} must be int32 or int64, got {sizes.dtype.name}")
    if sizes.shape is not None and sizes.shape not in ((4,), (None,)):
        raise ShapeError(f"{what} must be a vector of 4 sizes, got shape {fmt(sizes.shape)}")
    known = known_value(sizes)
    return (None,) * 4 if known is None else tuple(known)


def _merge(a: Any, b: Any, what: str) -> Any:
    """Two sizes of the same thing, either possibly unknown: the known one, or an error."""
    if a is not None and b is not None and a != b:
        raise ShapeError(f"{what}: {a} and {b} differ")
    return a if a is not None else b


def _padded(x: np.ndarray, rows: Span, cols: Span, fill: Any = 0) -> np.ndarray:
    """``x`` (NHWC) with the spans' padding around its rows and columns."""
    if not (rows.before or rows.after or cols.before or cols.after):
        return x
    widths = ((0, 0), (rows.before, rows.after), (cols.before, cols.after), (0, 0))
    return np.pad(x, widths, constant_values=fill)


def _windows(
    xp: np.ndarray,
    window: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    out: Sequence[int],
) -> np.ndarray:
    """A view (N, OH, OW, C, KH, KW) of the padded input's windows, one per output pixel."""
    (kh, kw), (sh, sw), (dh, dw) = window, strides, dilations
    view = sliding_window_view(xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(1, 2))
    return view[:, : (out[0] - 1) * sh + 1 : sh, : (out[1] - 1) * sw + 1 : sw, :, ::dh, ::dw]


def _im2col(xp: np.ndarray, window, strides, dilations, out) -> np.ndarray:
    """The windows as an (N*OH*OW, KH*KW*C) matrix, in the filter's (kh, kw, c) order."""
    n, c = xp.shape[0], xp.shape[3]
    cols = _windows(xp, window, strides, dilations, out).transpose(0, 1, 2, 4, 5, 3)
    return cols.reshape(n * out[0] * out[1], window[0] * window[1] * c)


def _col2im(
    taps: Any, shape: Sequence[int], window, strides, dilations, out, dtype: Any
) -> np.ndarray:
    """Add each tap's (N, OH, OW, C) contribution back into a zero (N, HP, WP, C) array:
    one strided slice per filter tap. ``taps(i, j)`` gives tap (i, j)'s values."""
    (kh, kw), (sh, sw), (dh, dw) = window, strides, dilations
    total = np.zeros(shape, dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + (out[0] - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (out[1] - 1) * sw + 1, sw)
            total[:, rows, cols, :] += taps(i, j)
    return total


def _cropped(xp: np.ndarray, rows: Span, cols: Span, h: int, w: int) -> np.ndarray:
    """The (h, w) input inside a padded array: gradients for the padding are dropped."""
    return xp[:, rows.before : rows.before + h, cols.before : cols.before + w, :]


def _empty(*sizes: int) -> bool:
    """Whether any size is 0 (nothing to multiply: the result is zeros)."""
    return any(s == 0 for s in sizes)


# -- conv2d --------------------------------------------------------------------------------------
class ConvOp(Window, Operation):
    """Shared parts of Conv2D and its gradient ops: attributes and checks."""

    alias_inputs = ()
    numeric = True

    def check_conv(self, x: Shape, f: Shape, dtypes: Sequence[Tensor]) -> Shape:
        """The NHWC output shape of convolving an input of shape ``x`` (op layout) with a
        filter of shape ``f``; checks ranks, channels, dtypes and attributes."""
        self.parse_window()
        for node in dtypes:
            _require_float(node, self.op_type)
        kinds = {n.dtype for n in dtypes if n.dtype is not None}
        if len(kinds) > 1:
            raise DTypeError(
                f"{self.op_type} needs one floating dtype, got {sorted(k.name for k in kinds)}"
            )
        n, h, w, c = self.nhwc(x) if x is not None else (None,) * 4
        kh, kw, ci, co = f if f is not None else (None,) * 4
        if c is not None and ci is not None and c != ci:
            raise ShapeError(
                f"the filter {fmt(f)} expects {ci} input channels but the input {fmt(x)} has {c}"
            )
        oh, ow = self.static_spans((h, w), (kh, kw))
        return (n, oh, ow, co)


class Conv2D(ConvOp):
    """2-D cross-correlation of ``input`` (NHWC or NCHW) with ``filter`` (KH, KW, C, O)."""

    op_type = "Conv2D"

    def __init__(self, input, filter, strides, padding, data_format=None, dilations=1, name=None):  # noqa: A002
        self.set_window(strides, padding, data_format, dilations)
        super().__init__([input, filter], name=name)

    def infer(self, x: Tensor, f: Tensor) -> tuple[Shape, DType | None]:
        _require_rank(x, 4, "conv2d's input")
        _require_rank(f, 4, "conv2d's filter")
        out = self.check_conv(x.shape, f.shape, (x, f))
        return self.layout(out), x.dtype or f.dtype

    def compute(self, x: Any, f: Any) -> np.ndarray:
        return self.from_nhwc(self.conv(self.to_nhwc(x), np.asarray(f))[0])

    def conv(self, x: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The NHWC convolution: im2col times the filter, one matrix product; and the im2col
        matrix, which the filter's gradient needs too."""
        self.check_channels(x.shape[3], f.shape[2])
        n, h, w, c = x.shape
        kh, kw, _, o = f.shape
        rows, cols = self.spans((h, w), (kh, kw))
        out = (rows.out, cols.out)
        dtype = np.result_type(x, f)
        if _empty(n, *out, o, kh * kw * c):
            matrix = np.zeros((n * out[0] * out[1], kh * kw * c), dtype=x.dtype)
            return np.zeros((n, *out, o), dtype=dtype), matrix
        xp = _padded(x, rows, cols)
        matrix = _im2col(xp, (kh, kw), self.strides, self.dilations, out)
        return (matrix @ f.reshape(kh * kw * c, o)).reshape(n, *out, o), matrix

    def fusion_key(self, args: Sequence[PlanValue]) -> Hashable:
        """Shared with the filter's gradient on the same input: one im2col for both."""
        window = _static_window(args[1].sym)
        return None if window is None else (Conv2D, args[0], window, self.window_key())

    def fused_kernels(self, args: Sequence[PlanValue]) -> FusedKernels | None:
        """The convolution hands its im2col matrix to the filter's gradient, which then
        costs one matrix product (the matrix lives from the forward to the backward pass)."""
        window = _static_window(args[1].sym)
        if window is None:
            return None
        kh, kw, c = window

        def conv_and_im2col(x: Any, f: Any) -> tuple[np.ndarray, np.ndarray]:
            y, matrix = self.conv(self.to_nhwc(x), np.asarray(f))
            return self.from_nhwc(y), matrix

        def filter_gradient(matrix: np.ndarray, dy: Any) -> np.ndarray:
            dy = self.to_nhwc(dy)
            o = dy.shape[3]
            if dy.shape[0] * dy.shape[1] * dy.shape[2] != matrix.shape[0]:
                raise InvalidArgumentError(
                    f"out_backprop has shape {fmt(dy.shape)} (NHWC), which does not match "
                    "the convolution's output"
                )
            return (matrix.T @ dy.reshape(-1, o)).reshape(kh, kw, c, o)

        return FusedKernels(conv_and_im2col, filter_gradient, (2,))

    def check_channels(self, c: int, ci: int) -> None:
        if c != ci:
            raise InvalidArgumentError(
                f"the filter expects {ci} input channels but the input has {c}"
            )


class Conv2DBackpropInput(ConvOp):
    """The gradient of ``conv2d`` with respect to its input, of shape ``input_sizes``."""

    op_type = "Conv2DBackpropInput"

    def __init__(
        self,
        input_sizes,
        filter,  # noqa: A002
        out_backprop,
        strides,
        padding,
        data_format=None,
        dilations=1,
        name=None,
    ):
        self.set_window(strides, padding, data_format, dilations)
        super().__init__([_int_sizes(input_sizes), filter, out_backprop], name=name)

    def infer(self, sizes: Tensor, f: Tensor, dy: Tensor) -> tuple[Shape, DType | None]:
        shape = _sizes_input(sizes, "input_sizes")
        _require_rank(f, 4, "the filter")
        _require_rank(dy, 4, "out_backprop")
        out = self.check_conv(shape, f.shape, (f, dy))
        _check_out_backprop(self, out, dy.shape)
        return shape, f.dtype or dy.dtype

    def compute(self, sizes: Any, f: Any, dy: Any) -> np.ndarray:
        shape = self.nhwc(tuple(int(s) for s in np.asarray(sizes).reshape(-1)))
        return self.from_nhwc(self.backprop(shape, np.asarray(f), self.to_nhwc(dy)))

    def backprop(self, shape: Sequence[int], f: np.ndarray, dy: np.ndarray) -> np.ndarray:
        """col2im of ``dy`` times the filter's transpose (one matrix product per tap)."""
        n, h, w, c = shape
        kh, kw, ci, o = f.shape
        if ci != c:
            raise InvalidArgumentError(f"the filter has {ci} input channels, input_sizes {c}")
        rows, cols = self.spans((h, w), (kh, kw))
        out = (rows.out, cols.out)
        _check_run_out_backprop(dy.shape, (n, *out, o))
        dtype = np.result_type(f, dy)
        if _empty(n, h, w, c):
            return np.zeros(shape, dtype=dtype)
        padded = (n, h + rows.before + rows.after, w + cols.before + cols.after, c)
        # one (N*OH*OW, C) block per tap, each contiguous for its strided add
        taps = np.matmul(dy.reshape(-1, o), f.reshape(kh * kw, c, o).transpose(0, 2, 1))
        xp = _col2im(
            lambda i, j: taps[i * kw + j].reshape(n, *out, c),
            padded,
            (kh, kw),
            self.strides,
            self.dilations,
            out,
            dtype,
        )
        return _cropped(xp, rows, cols, h, w)


class Conv2DBackpropFilter(ConvOp):
    """The gradient of ``conv2d`` with respect to its filter, of shape ``filter_sizes``."""

    op_type = "Conv2DBackpropFilter"

    def __init__(
        self,
        input,  # noqa: A002
        filter_sizes,
        out_backprop,
        strides,
        padding,
        data_format=None,
        dilations=1,
        name=None,
    ):
        self.set_window(strides, padding, data_format, dilations)
        super().__init__([input, _int_sizes(filter_sizes), out_backprop], name=name)

    def fusion_key(self, args: Sequence[PlanValue]) -> Hashable:
        """The key of the convolution of the same input (it computes the im2col matrix)."""
        shape = known_value(self.inputs[1])
        window = None if shape is None else _static_window(shape)
        return None if window is None else (Conv2D, args[0], window, self.window_key())

    def infer(self, x: Tensor, sizes: Tensor, dy: Tensor) -> tuple[Shape, DType | None]:
        shape = _sizes_input(sizes, "filter_sizes")
        _require_rank(x, 4, "the input")
        _require_rank(dy, 4, "out_backprop")
        out = self.check_conv(x.shape, shape, (x, dy))
        _check_out_backprop(self, out, dy.shape)
        return shape, x.dtype or dy.dtype

    def compute(self, x: Any, sizes: Any, dy: Any) -> np.ndarray:
        shape = tuple(int(s) for s in np.asarray(sizes).reshape(-1))
        return self.backprop(self.to_nhwc(x), shape, self.to_nhwc(dy))

    def backprop(self, x: np.ndarray, shape: Sequence[int], dy: np.ndarray) -> np.ndarray:
        """The im2col matrix's transpose times ``dy``: one matrix product."""
        n, h, w, c = x.shape
        kh, kw, ci, o = shape
        if ci != c:
            raise InvalidArgumentError(f"filter_sizes has {ci} input channels, the input {c}")
        rows, cols = self.spans((h, w), (kh, kw))
        out = (rows.out, cols.out)
        _check_run_out_backprop(dy.shape, (n, *out, o))
        dtype = np.result_type(x, dy)
        if _empty(n, *out, kh * kw * c, o):
            return np.zeros(shape, dtype=dtype)
        matrix = _im2col(_padded(x, rows, cols), (kh, kw), self.strides, self.dilations, out)
        return (matrix.T @ dy.reshape(-1, o)).reshape(shape)


def _static_window(shape: Any) -> tuple[int, int, int] | None:
    """A filter's (height, width, input channels) when the plan knows them."""
    if shape is None or len(shape) != 4 or not all(isinstance(d, int) for d in shape[:3]):
        return None
    return (shape[0], shape[1], shape[2])


def _int_sizes(sizes: Any) -> Any:
    """A list of sizes as an int32 constant; tensors stay as they are."""
    if isinstance(sizes, Tensor):
        return sizes
    return convert_to_tensor(np.asarray(sizes, dtype=np.int32))


def _check_out_backprop(op: ConvOp, out_nhwc: Shape, dy: Shape) -> None:
    """``out_backprop`` must have the convolution's output shape, where both are known."""
    if dy is None:
        return
    for want, got in zip(out_nhwc, op.nhwc(dy), strict=True):
        if want is not None and got is not None and want != got:
            raise ShapeError(
                f"out_backprop has shape {fmt(dy)} but the convolution gives "
                f"{fmt(op.layout(out_nhwc))}"
            )


def _check_run_out_backprop(got: Sequence[int], want: Sequence[int]) -> None:
    if tuple(got) != tuple(want):
        raise InvalidArgumentError(
            f"out_backprop has shape {fmt(tuple(got))} (NHWC) but the convolution gives "
            f"{fmt(tuple(want))}"
        )


@RegisterGradient("Conv2D")
def _conv2d_grad(op: Conv2D, grad: Tensor) -> list[Tensor]:
    x, f = op.inputs
    return [
        Conv2DBackpropInput(shape_ops.shape(x), f, grad, **op.attrs()),
        Conv2DBackpropFilter(x, shape_ops.shape(f), grad, **op.attrs()),
    ]


@RegisterGradient("Conv2DBackpropInput")
def _conv2d_backprop_input_grad(op: Conv2DBackpropInput, grad: Tensor) -> list[Tensor | None]:
    _, f, dy = op.inputs
    return [
        None,
        Conv2DBackpropFilter(grad, shape_ops.shape(f), dy, **op.attrs()),
        Conv2D(grad, f, **op.attrs()),
    ]


@RegisterGradient("Conv2DBackpropFilter")
def _conv2d_backprop_filter_grad(op: Conv2DBackpropFilter, grad: Tensor) -> list[Tensor | None]:
    x, _, dy = op.inputs
    return [
        Conv2DBackpropInput(shape_ops.shape(x), grad, dy, **op.attrs()),
        None,
        Conv2D(x, grad, **op.attrs()),
    ]


def conv2d(
    input: Any,  # noqa: A002 - TF1's name
    filter: Any = None,  # noqa: A002
    strides: Any = None,
    padding: Any = None,
    use_cudnn_on_gpu: bool = True,
    data_format: str = "NHWC",
    dilations: Any = 1,
    name: str | None = None,
    filters: Any = None,
) -> Tensor:
    """2-D convolution (cross-correlation, as TF1): ``input`` NHWC (or NCHW), ``filter``
    (height, width, in channels, out channels), ``strides`` ``[1, sh, sw, 1]``, ``padding``
    "SAME", "VALID" or explicit pairs per dimension."""
    filter = filters if filter is None else filter  # noqa: A001
    if strides is None or padding is None:
        raise InvalidArgumentError("conv2d needs strides and padding, e.g. [1, 1, 1, 1], 'SAME'")
    return Conv2D(input, filter, strides, padding, data_format, dilations, name=name)


def conv2d_backprop_input(
    input_sizes: Any,
    filter: Any,  # noqa: A002
    out_backprop: Any,
    strides: Any,
    padding: Any,
    use_cudnn_on_gpu: bool = True,
    data_format: str = "NHWC",
    dilations: Any = 1,
    name: str | None = None,
) -> Tensor:
    """The gradient of ``conv2d`` with respect to its input (of shape ``input_sizes``)."""
    return Conv2DBackpropInput(
        input_sizes, filter, out_backprop, strides, padding, data_format, dilations, name=name
    )


def conv2d_backprop_filter(
    input: Any,  # noqa: A002
    filter_sizes: Any,
    out_backprop: Any,
    strides: Any,
    padding: Any,
    use_cudnn_on_gpu: bool = True,
    data_format: str = "NHWC",
    dilations: Any = 1,
    name: str | None = None,
) -> Tensor:
    """The gradient of ``conv2d`` with respect to its filter (of shape ``filter_sizes``)."""
    return Conv2DBackpropFilter(
        input, filter_sizes, out_backprop, strides, padding, data_format, dilations, name=name
    )


def conv1d(
    value: Any = None,
    filters: Any = None,
    stride: Any = None,
    padding: Any = None,
    use_cudnn_on_gpu: bool = True,
    data_format: str | None = None,
    name: str | None = None,
    input: Any = None,  # noqa: A002
    dilations: Any = 1,
) -> Tensor:
    """1-D convolution of ``value`` (NWC or NCW) with ``filters`` (width, in, out): a conv2d
    over a height of 1, as TF1 computes it."""
    value = input if value is None else value
    channels_first = _data_format(data_format, ("NWC", "NCW"))
    value = convert_to_tensor(value)
    graph = value.graph
    with graph.as_default(), graph.name_scope(name or "conv1d"):
        axis = 2 if channels_first else 1
        x = shape_ops.expand_dims(value, axis)
        f = shape_ops.expand_dims(filters, 0)
        stride = _one(stride, "stride", channels_first)
        dilation = _one(dilations, "dilations", channels_first)
        y = Conv2D(
            x,
            f,
            [1, 1, stride, 1] if not channels_first else [1, 1, 1, stride],
            padding,
            "NCHW" if channels_first else "NHWC",
            [1, 1, dilation, 1] if not channels_first else [1, 1, 1, dilation],
        )
        return shape_ops.squeeze(y, [axis])


def _one(value: Any, what: str, channels_first: bool) -> int:
    """conv1d's stride or dilation: an int, or TF1's 1- or 3-list (``[1, s, 1]``)."""
    if isinstance(value, int | np.integer):
        return int(value)
    items = [int(v) for v in value]
    if len(items) == 1:
        return items[0]
    if len(items) == 3:
        return items[2] if channels_first else items[1]
    raise InvalidArgumentError(f"conv1d's {what} must be an int or 1 or 3 values, got {value!r}")


# -- pooling -------------------------------------------------------------------------------------
class PoolOp(Window, Operation):
    """Shared parts of the pooling ops: ``ksize`` and ``strides`` as 4-lists, SAME or VALID."""

    alias_inputs = ()
    numeric = True

    def set_pool(self, ksize: Any, strides: Any, padding: Any, data_format: str | None) -> None:
        self.ksize_spec = ksize
        self.set_window(strides, padding, data_format, 1)

    def parse_pool(self) -> None:
        self.parse_window()
        if not isinstance(self.pads[0], str):
            raise InvalidArgumentError("pooling takes padding 'SAME' or 'VALID'")
        self.ksize = _pair(self.ksize_spec, "ksize", self.channels_first)

    def pool_attrs(self) -> dict[str, Any]:
        strides, padding, data_format, _ = self.spec
        return {
            "ksize": self.ksize_spec,
            "strides": strides,
            "padding": padding,
            "data_format": data_format,
        }

    def pooled_shape(self, x: Tensor) -> Shape:
        """The output shape in the op's layout; checks the attributes and the window."""
        self.parse_pool()
        _require_rank(x, 4, f"{self.op_type}'s input")
        if x.shape is None:
            return None
        n, h, w, c = self.nhwc(x.shape)
        oh, ow = self.static_spans((h, w), self.ksize)
        return self.layout((n, oh, ow, c))

    def geometry(self, h: int, w: int) -> tuple[Span, Span, tuple[int, int]]:
        rows, cols = self.spans((h, w), self.ksize)
        return rows, cols, (rows.out, cols.out)

    def tiles(self, h: int, w: int, rows: Span, cols: Span) -> bool:
        """Whether the windows tile the input exactly (reshape instead of windows)."""
        return (
            self.ksize == self.strides
            and not (rows.before or rows.after or cols.before or cols.after)
            and h == rows.out * self.ksize[0]
            and w == cols.out * self.ksize[1]
        )


def _lowest(dtype: np.dtype) -> Any:
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


class MaxPool(PoolOp):
    """The largest value in each window."""

    op_type = "MaxPool"

    def __init__(self, value, ksize, strides, padding, data_format=None, name=None):
        self.set_pool(ksize, strides, padding, data_format)
        super().__init__([value], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        if x.dtype is not None and x.dtype.is_bool:
            raise DTypeError("max_pool needs numbers, got bool")
        return self.pooled_shape(x), x.dtype

    def compute(self, x: Any) -> np.ndarray:
        x = self.to_nhwc(x)
        n, h, w, c = x.shape
        rows, cols, out = self.geometry(h, w)
        if _empty(n, h, w, c):
            return self.from_nhwc(np.zeros((n, *out, c), dtype=x.dtype))
        if self.tiles(h, w, rows, cols):
            (kh, kw) = self.ksize
            blocks = x.reshape(n, out[0], kh, out[1], kw, c)
            return self.from_nhwc(blocks.max(axis=(2, 4)))
        xp = _padded(x, rows, cols, _lowest(x.dtype))
        windows = _windows(xp, self.ksize, self.strides, (1, 1), out)
        return self.from_nhwc(windows.max(axis=(4, 5)))


def _argmax(op: PoolOp, x: np.ndarray) -> tuple[np.ndarray, Span, Span, tuple[int, int]]:
    """Per window (N, OH, OW, C), the tap holding its first largest value (row-major order
    within the window, as TF1's kernel scans it: ties go to the first)."""
    n, h, w, c = x.shape
    rows, cols, out = op.geometry(h, w)
    xp = _padded(x, rows, cols, _lowest(x.dtype))
    windows = _windows(xp, op.ksize, op.strides, (1, 1), out)
    flat = windows.reshape(n, *out, c, op.ksize[0] * op.ksize[1])
    return np.argmax(flat, axis=-1), rows, cols, out


class MaxPoolGrad(PoolOp):
    """``grad`` sent to the first largest entry of each max-pool window (repeats add up)."""

    op_type = "MaxPoolGrad"

    def __init__(self, orig_input, orig_output, grad, ksize, strides, padding, data_format=None):
        self.set_pool(ksize, strides, padding, data_format)
        super().__init__([orig_input, orig_output, grad])

    def infer(self, x: Tensor, y: Tensor, grad: Tensor) -> tuple[Shape, DType | None]:
        self.pooled_shape(x)
        return x.shape, grad.dtype

    def compute(self, x: Any, y: Any, grad: Any) -> np.ndarray:
        x, y, grad = self.to_nhwc(x), self.to_nhwc(y), self.to_nhwc(grad)
        n, h, w, c = x.shape
        rows, cols, out = self.geometry(h, w)
        _check_run_grad(grad.shape, (n, *out, c))
        if self.tiles(h, w, rows, cols) and np.shape(y) == grad.shape:
            kh, kw = self.ksize
            blocks = x.reshape(n, out[0], kh, out[1], kw, c)
            first = _first_hits(blocks == y[:, :, None, :, None, :], (2, 4))
            if first is not None:
                return self.from_nhwc((first * grad[:, :, None, :, None, :]).reshape(x.shape))
        taps = self.taps(x, y, grad)
        padded = (n, h + rows.before + rows.after, w + cols.before + cols.after, c)
        dx = _col2im(taps, padded, self.ksize, self.strides, (1, 1), out, grad.dtype)
        return self.from_nhwc(_cropped(dx, rows, cols, h, w))

    def taps(self, x: np.ndarray, y: np.ndarray, grad: np.ndarray) -> Callable[[int, int], Any]:
        """Tap (i, j)'s share of ``grad``: where each window's first largest entry is, found
        by comparing with the pooled ``y`` (``argmax`` when a window has NaNs)."""
        n, h, w, c = x.shape
        rows, cols, out = self.geometry(h, w)
        if np.shape(y) == grad.shape:
            xp = _padded(x, rows, cols, _lowest(x.dtype))
            windows = _windows(xp, self.ksize, self.strides, (1, 1), out)
            first = _first_hits(windows == y[..., None, None], (4, 5))
            if first is not None:
                return lambda i, j: grad * first[..., i, j]
        best = _argmax(self, x)[0]
        kw = self.ksize[1]
        return lambda i, j: np.where(best == i * kw + j, grad, 0)


def _first_hits(hits: np.ndarray, axes: tuple[int, int]) -> np.ndarray | None:
    """Of the window entries equal to the window's largest (``hits``; the window spans
    ``axes``), only the first in row-major order, as TF1's kernel keeps it; None when some
    window has no hit (NaNs)."""
    first = np.zeros_like(hits)
    seen = None
    index: list[Any] = [slice(None)] * hits.ndim
    for i in range(hits.shape[axes[0]]):
        for j in range(hits.shape[axes[1]]):
            index[axes[0]], index[axes[1]] = i, j
            tap = hits[tuple(index)]
            first[tuple(index)] = tap if seen is None else tap & ~seen
            seen = tap.copy() if seen is None else seen | tap
    return first if seen is None or seen.all() else None


class MaxPoolGradGrad(PoolOp):
    """Of each max-pool window, ``grad``'s entry where the first largest input is: the
    gradient of MaxPoolGrad with respect to its ``grad``."""

    op_type = "MaxPoolGradGrad"

    def __init__(self, orig_input, orig_output, grad, ksize, strides, padding, data_format=None):
        self.set_pool(ksize, strides, padding, data_format)
        super().__init__([orig_input, orig_output, grad])

    def infer(self, x: Tensor, y: Tensor, grad: Tensor) -> tuple[Shape, DType | None]:
        return self.pooled_shape(x), grad.dtype

    def compute(self, x: Any, y: Any, grad: Any) -> np.ndarray:
        x, grad = self.to_nhwc(x), self.to_nhwc(grad)
        best, rows, cols, out = _argmax(self, x)
        windows = _windows(_padded(grad, rows, cols), self.ksize, self.strides, (1, 1), out)
        flat = windows.reshape(*best.shape, -1)
        return self.from_nhwc(np.take_along_axis(flat, best[..., None], axis=-1)[..., 0])


def _check_run_grad(got: Sequence[int], want: Sequence[int]) -> None:
    if tuple(got) != tuple(want):
        raise InvalidArgumentError(
            f"the gradient has shape {fmt(tuple(got))} (NHWC) but the pooling gives "
            f"{fmt(tuple(want))}"
        )


@RegisterGradient("MaxPool")
def _max_pool_grad(op: MaxPool, grad: Tensor) -> Tensor:
    return MaxPoolGrad(op.inputs[0], op.outputs[0], grad, **op.pool_attrs())


@RegisterGradient("MaxPoolGrad")
def _max_pool_grad_grad(op: MaxPoolGrad, grad: Tensor) -> list[Tensor | None]:
    x, y, _ = op.inputs
    return [None, None, MaxPoolGradGrad(x, y, grad, **op.pool_attrs())]


@RegisterGradient("MaxPoolGradGrad")
def _max_pool_grad_grad_grad(op: MaxPoolGradGrad, grad: Tensor) -> list[Tensor | None]:
    x, y, _ = op.inputs
    return [None, None, MaxPoolGrad(x, y, grad, **op.pool_attrs())]


class AvgPool(PoolOp):
    """The mean of each window; SAME windows average only the entries inside the input."""

    op_type = "AvgPool"

    def __init__(self, value, ksize, strides, padding, data_format=None, name=None):
        self.set_pool(ksize, strides, padding, data_format)
        super().__init__([value], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        _require_float(x, "avg_pool")
        return self.pooled_shape(x), x.dtype

    def compute(self, x: Any) -> np.ndarray:
        x = self.to_nhwc(x)
        n, h, w, c = x.shape
        rows, cols, out = self.geometry(h, w)
        if _empty(n, h, w, c):
            return self.from_nhwc(np.zeros((n, *out, c), dtype=x.dtype))
        if self.tiles(h, w, rows, cols):
            kh, kw = self.ksize
            return self.from_nhwc(x.reshape(n, out[0], kh, out[1], kw, c).mean(axis=(2, 4)))
        windows = _windows(_padded(x, rows, cols), self.ksize, self.strides, (1, 1), out)
        sums = windows.sum(axis=(4, 5))
        return self.from_nhwc(sums / _counts(self, h, w).astype(x.dtype))


def _counts(op: PoolOp, h: int, w: int) -> np.ndarray:
    """How many input entries each average-pool window holds, shaped (1, OH, OW, 1)."""
    rows, cols, out = op.geometry(h, w)
    ones = _padded(np.ones((1, h, w, 1)), rows, cols)
    return _windows(ones, op.ksize, op.strides, (1, 1), out).sum(axis=(4, 5))


class AvgPoolGrad(PoolOp):
    """``grad`` spread evenly over each average-pool window, into ``orig_input_shape``."""

    op_type = "AvgPoolGrad"

    def __init__(self, orig_input_shape, grad, ksize, strides, padding, data_format=None):
        self.set_pool(ksize, strides, padding, data_format)
        super().__init__([_int_sizes(orig_input_shape), grad])

    def infer(self, sizes: Tensor, grad: Tensor) -> tuple[Shape, DType | None]:
        shape = _sizes_input(sizes, "orig_input_shape")
        self.parse_pool()
        return shape, grad.dtype

    def compute(self, sizes: Any, grad: Any) -> np.ndarray:
        n, h, w, c = self.nhwc(tuple(int(s) for s in np.asarray(sizes).reshape(-1)))
        grad = self.to_nhwc(grad)
        rows, cols, out = self.geometry(h, w)
        _check_run_grad(grad.shape, (n, *out, c))
        share = grad / _counts(self, h, w).astype(grad.dtype)
        padded = (n, h + rows.before + rows.after, w + cols.before + cols.after, c)
        dx = _col2im(lambda i, j: share, padded, self.ksize, self.strides, (1, 1), out, grad.dtype)
        return self.from_nhwc(_cropped(dx, rows, cols, h, w))


@RegisterGradient("AvgPool")
def _avg_pool_grad(op: AvgPool, grad: Tensor) -> Tensor:
    return AvgPoolGrad(shape_ops.shape(op.inputs[0]), grad, **op.pool_attrs())


@RegisterGradient("AvgPoolGrad")
def _avg_pool_grad_grad(op: AvgPoolGrad, grad: Tensor) -> list[Tensor | None]:
    return [None, AvgPool(grad, **op.pool_attrs())]


class MaxPoolWithArgmax(PoolOp):
    """Max pooling (NHWC) that also gives where each maximum came from, as a flat index
    ``(y * width + x) * channels + c`` (plus ``batch * height * width * channels`` with
    ``include_batch_in_index``); ties go to the first largest entry, as in TF1."""

    op_type = "MaxPoolWithArgmax"

    def __init__(self, value, ksize, strides, padding, targmax, include_batch_in_index, name):
        self.set_pool(ksize, strides, padding, "NHWC")
        self.targmax = as_dtype(targmax)
        self.include_batch_in_index = bool(include_batch_in_index)
        super().__init__([value], name=name)

    def infer(self, x: Tensor) -> list[tuple[Shape, DType | None]]:
        if self.targmax not in (int32, int64):
            raise DTypeError(f"Targmax must be int32 or int64, got {self.targmax}")
        if x.dtype is not None and x.dtype.is_bool:
            raise DTypeError("max_pool_with_argmax needs numbers, got bool")
        shape = self.pooled_shape(x)
        return [(shape, x.dtype), (shape, self.targmax)]

    def compute(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x)
        n, h, w, c = x.shape
        best, rows, cols, out = _argmax(self, x)
        kw = self.ksize[1]
        row = np.arange(out[0]).reshape(-1, 1, 1) * self.strides[0] - rows.before + best // kw
        col = np.arange(out[1]).reshape(-1, 1) * self.strides[1] - cols.before + best % kw
        flat = (row * w + col) * c + np.arange(c)
        if self.include_batch_in_index:
            flat = flat + np.arange(n).reshape(-1, 1, 1, 1) * (h * w * c)
        windows = _windows(
            _padded(x, rows, cols, _lowest(x.dtype)), self.ksize, self.strides, (1, 1), out
        )
        value = np.take_along_axis(windows.reshape(*best.shape, -1), best[..., None], -1)
        return value[..., 0], flat.astype(self.targmax.np)


@RegisterGradient("MaxPoolWithArgmax")
def _max_pool_with_argmax_grad(op: MaxPoolWithArgmax, grad: Tensor, _: Any) -> Tensor:
    return MaxPoolGrad(op.inputs[0], op.outputs[0], grad, **op.pool_attrs())


def max_pool_with_argmax(
    input: Any,  # noqa: A002
    ksize: Any,
    strides: Any,
    padding: Any,
    Targmax: Any = None,  # noqa: N803 - TF1's name
    name: str | None = None,
    output_dtype: Any = None,
    include_batch_in_index: bool = False,
) -> tuple[Tensor, Tensor]:
    """``(output, argmax)``: max pooling and the flat index of each maximum in the input."""
    targmax = Targmax or output_dtype or int64
    op = MaxPoolWithArgmax(input, ksize, strides, padding, targmax, include_batch_in_index, name)
    output, argmax = op.outputs
    return output, argmax


def max_pool(
    value: Any,
    ksize: Any,
    strides: Any,
    padding: Any,
    data_format: str = "NHWC",
    name: str | None = None,
    input: Any = None,  # noqa: A002
) -> Tensor:
    """The largest value of each ``ksize`` window (``[1, kh, kw, 1]``) moved by ``strides``."""
    value = input if value is None else value
    return MaxPool(value, ksize, strides, padding, data_format, name=name)


def avg_pool(
    value: Any,
    ksize: Any,
    strides: Any,
    padding: Any,
    data_format: str = "NHWC",
    name: str | None = None,
    input: Any = None,  # noqa: A002
) -> Tensor:
    """The mean of each ``ksize`` window (``[1, kh, kw, 1]``) moved by ``strides``."""
    value = input if value is None else value
    return AvgPool(value, ksize, strides, padding, data_format, name=name)


# -- batch normalization ---------------------------------------------------------------------------
def batch_normalization(
    x: Any,
    mean: Any,
    variance: Any,
    offset: Any,
    scale: Any,
    variance_epsilon: float,
    name: str | None = None,
) -> Tensor:
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` (``offset``/``scale`` may be
    None), from elementwise ops as TF1 builds it."""
    x = convert_to_tensor(x)
    graph = x.graph
    with graph.as_default(), graph.name_scope(name or "batchnorm"):
        inv = rsqrt(variance + variance_epsilon)
        if scale is not None:
            inv = inv * scale
        shift = -mean * inv if offset is None else offset - mean * inv
        return x * inv + shift


class FusedBatchNorm(Operation):
    """Batch normalization in one op, per channel: ``y``, the batch's mean and its variance.

    Training: ``x`` is normalized by its own mean and (biased) variance over all axes but the
    channels; the variance output is Bessel-corrected (``n / (n - 1)``), as TF1's kernel
    gives it to the moving averages. Inference: by the ``mean`` and ``variance`` given, which
    come back as the second and third outputs.
    """

    op_type = "FusedBatchNorm"
    alias_inputs = ()
    numeric = True

    def __init__(
        self,
        x,
        scale,
        offset,
        mean=None,
        variance=None,
        epsilon=0.001,
        data_format=None,
        is_training=True,
        name=None,
    ):
        self.epsilon = float(epsilon)
        self.data_format = data_format
        self.is_training = bool(is_training)
        extra = [] if self.is_training else [mean, variance]
        super().__init__([x, scale, offset, *extra], name=name)

    def infer(self, x: Tensor, *params: Tensor) -> list[tuple[Shape, DType | None]]:
        self.channels_first = _data_format(self.data_format)
        _require_rank(x, 4, "fused_batch_norm's input")
        _require_float(x, "fused_batch_norm")
        if not self.is_training and any(p is None for p in params):
            raise InvalidArgumentError("fused_batch_norm needs mean and variance for inference")
        channels = None if x.shape is None else x.shape[1 if self.channels_first else 3]
        for p in params:
            _require_rank(p, 1, "scale, offset, mean and variance")
            _require_float(p, "fused_batch_norm")
            if p.shape is not None:
                channels = _merge(channels, p.shape[0], "channels of x and of its parameters")
        stat = ((channels,), params[0].dtype or x.dtype)
        return [(x.shape, x.dtype), stat, stat]

    def axes(self) -> list[int]:
        return [0, 2, 3] if self.channels_first else [0, 1, 2]

    def per_channel(self, v: np.ndarray) -> np.ndarray:
        return v.reshape(-1, 1, 1) if self.channels_first else v

    def compute(self, x: Any, scale: Any, offset: Any, *stats: Any):
        x = np.asarray(x)
        axes = tuple(self.axes())
        if self.is_training:
            count = x.size // max(x.shape[1 if self.channels_first else 3], 1)
            mean = x.mean(axis=axes) if x.size else np.zeros(np.shape(scale), x.dtype)
            centered = x - self.per_channel(mean)
            variance = np.square(centered).mean(axis=axes) if x.size else mean.copy()
            reported = variance * (count / max(count - 1, 1))
        else:
            mean, variance = (np.asarray(s) for s in stats)
            centered = x - self.per_channel(mean)
            reported = variance
        inv = 1.0 / np.sqrt(variance + self.epsilon)
        y = centered * self.per_channel(inv * scale) + self.per_channel(np.asarray(offset))
        return y.astype(x.dtype), np.array(mean), np.array(reported)


@RegisterGradient("FusedBatchNorm")
def _fused_batch_norm_grad(op: FusedBatchNorm, dy, dmean, dvar) -> list[Tensor | None]:
    x, scale, offset = op.inputs[:3]
    axes = op.axes()

    def channel(v: Tensor) -> Tensor:
        return shape_ops.reshape(v, [-1, 1, 1]) if op.channels_first else v

    if op.is_training:
        mean = reduce_mean(x, axes, keepdims=True)
        centered = x - mean
        inv = rsqrt(reduce_mean(square(centered), axes, keepdims=True) + op.epsilon)
        xhat = centered * inv
    else:
        mean, variance = op.inputs[3:]
        centered = x - channel(mean)
        inv = channel(rsqrt(variance + op.epsilon))
        xhat = centered * inv
    if dy is None:
        dy = x * 0.0
    dx = _bn_dx(op, dy, xhat, inv, channel(scale), axes)
    dscale = reduce_sum(dy * xhat, axes)
    doffset = reduce_sum(dy, axes)
    if op.is_training:
        count = _count_per_channel(x, op)
        if dmean is not None:
            dx = dx + channel(dmean) / count
        if dvar is not None:
            dx = dx + channel(dvar) * centered * (2.0 / (count - 1.0))
        return [dx, dscale, doffset]
    scale_inv = reduce_sum(dy, axes) * scale
    dmean_in = -scale_inv * shape_ops.reshape(inv, [-1])
    dvar_in = reduce_sum(dy * centered, axes) * scale * (-0.5) * shape_ops.reshape(inv, [-1]) ** 3
    if dmean is not None:
        dmean_in = dmean_in + dmean
    if dvar is not None:
        dvar_in = dvar_in + dvar
    return [dx, dscale, doffset, dmean_in, dvar_in]


def _bn_dx(op: FusedBatchNorm, dy, xhat, inv, scale, axes) -> Tensor:
    """The input gradient through ``y`` (batch statistics depend on ``x`` while training)."""
    if not op.is_training:
        return dy * scale * inv
    mean_dy = reduce_mean(dy, axes, keepdims=True)
    mean_dy_xhat = reduce_mean(dy * xhat, axes, keepdims=True)
    return scale * inv * (dy - mean_dy - xhat * mean_dy_xhat)


def _count_per_channel(x: Tensor, op: FusedBatchNorm) -> Tensor:
    """How many entries each channel has (all axes but the channels), as ``x``'s dtype."""
    channels = gather(shape_ops.shape(x), 1 if op.channels_first else 3)
    return cast(shape_ops.size(x), x.dtype) / cast(channels, x.dtype)


def fused_batch_norm(
    x: Any,
    scale: Any,
    offset: Any = None,
    mean: Any = None,
    variance: Any = None,
    epsilon: float = 0.001,
    data_format: str = "NHWC",
    is_training: bool = True,
    name: str | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """``(y, batch_mean, batch_variance)``: 4-D batch normalization per channel in one op."""
    if offset is None:
        offset = array_ops.zeros_like(scale)
    op = FusedBatchNorm(
        x, scale, offset, mean, variance, epsilon, data_format, is_training, name=name
    )
    y, batch_mean, batch_variance = op.outputs
    return y, batch_mean, batch_variance


def local_response_normalization(
    input: Any,  # noqa: A002
    depth_radius: int = 5,
    bias: float = 1.0,
    alpha: float = 1.0,
    beta: float = 0.5,
    name: str | None = None,
) -> Tensor:
    """``input / (bias + alpha * sum of squares over the 2 * depth_radius + 1 nearest
    channels) ** beta`` (the last axis), from ops: the windowed sum is a product with a band
    matrix of ones."""
    x = convert_to_tensor(input)
    _require_float(x, "local_response_normalization")
    if x.shape is None or len(x.shape) != 4 or x.shape[3] is None:
        raise ShapeError(
            f"local_response_normalization needs a 4-D input with known channels, got "
            f"{fmt(x.shape)}"
        )
    channels = int(x.shape[3])
    offsets = np.arange(channels)
    band = (np.abs(offsets[:, None] - offsets[None, :]) <= int(depth_radius)).astype(x.dtype.np)
    graph = x.graph
    with graph.as_default(), graph.name_scope(name or "LRN"):
        squares = shape_ops.reshape(square(x), [-1, channels])
        sums = shape_ops.reshape(matmul(squares, band), shape_ops.shape(x))
        return x / pow_(bias + alpha * sums, beta)


# -- embedding_lookup ------------------------------------------------------------------------------
def embedding_lookup(
    params: Any,
    ids: Any,
    partition_strategy: str = "mod",
    name: str | None = None,
    validate_indices: bool = True,
    max_norm: Any = None,
) -> Tensor:
    """The rows of ``params`` at integer ``ids`` (any shape); its gradient adds into the rows
    looked up (a dense gradient). Ids out of range fail when the graph runs.

    ``params`` may be a list of partitions, as TF1 shards a large table: with "mod", id ``i``
    is row ``i // n`` of partition ``i % n``; with "div", the partitions hold consecutive ids.
    With ``max_norm``, each row found is scaled down to that L2 norm if longer.
    """
    ids = convert_to_tensor(ids)
    graph = ids.graph
    with graph.as_default(), graph.name_scope(name or "embedding_lookup"):
        table, ids = _partitioned(params, ids, partition_strategy)
        rows = gather(table, ids)
        if max_norm is None:
            return rows
        rank = len(rows.shape) if rows.shape is not None else None
        ids_rank = len(ids.shape) if ids.shape is not None else None
        if rank is None or ids_rank is None:
            raise ShapeError("embedding_lookup with max_norm needs ids and params of known rank")
        return clip_by_norm(rows, max_norm, axes=list(range(ids_rank, rank)))


def _partitioned(params: Any, ids: Tensor, strategy: str) -> tuple[Tensor, Tensor]:
    """One table and the ids into it, for one params tensor or a list of partitions."""
    if not isinstance(params, list | tuple):
        return convert_to_tensor(params), ids
    if not params:
        raise InvalidArgumentError("embedding_lookup needs at least one params tensor")
    parts = [convert_to_tensor(p) for p in params]
    if len(parts) == 1:
        return parts[0], ids
    if strategy not in ("mod", "div"):
        raise InvalidArgumentError(f"partition_strategy must be 'mod' or 'div', got {strategy!r}")
    table = array_ops.concat(parts, 0)
    if strategy == "div":
        return table, ids
    sizes = [None if p.shape is None or not p.shape else p.shape[0] for p in parts]
    if None in sizes:
        raise ShapeError("embedding_lookup with 'mod' partitions needs their row counts known")
    offsets = np.cumsum([0, *sizes[:-1]])
    count = len(parts)
    every = np.arange(sum(sizes))
    order = offsets[every % count] + every // count
    return table, gather(order.astype(np.int64), ids)


# -- transposed, depthwise and separable convolution ---------------------------------------------
def conv2d_transpose(
    value: Any,
    filter: Any = None,  # noqa: A002
    output_shape: Any = None,
    strides: Any = None,
    padding: Any = "SAME",
    data_format: str = "NHWC",
    name: str | None = None,
    input: Any = None,  # noqa: A002
    filters: Any = None,
    dilations: Any = None,
) -> Tensor:
    """The transpose of ``conv2d`` (its gradient with respect to the input), as TF1: the
    ``filter`` is (height, width, output channels, input channels), ``output_shape`` the
    shape of the result."""
    value = input if value is None else value
    filter = filters if filter is None else filter  # noqa: A001
    if output_shape is None or strides is None:
        raise InvalidArgumentError("conv2d_transpose needs output_shape and strides")
    return Conv2DBackpropInput(
        output_shape,
        filter,
        value,
        strides,
        padding,
        data_format,
        1 if dilations is None else dilations,
        name=name or "conv2d_transpose",
    )


def depthwise_conv2d(
    input: Any,  # noqa: A002
    filter: Any,  # noqa: A002
    strides: Any,
    padding: Any,
    rate: Any = None,
    name: str | None = None,
    data_format: str | None = None,
    dilations: Any = None,
) -> Tensor:
    """Each input channel convolved with its own ``channel_multiplier`` filters: ``filter``
    is (height, width, channels, multiplier), the output has channels * multiplier.

    Computed as a conv2d whose filter is block-diagonal over the channels (channel ``c``'s
    outputs are ``c * multiplier ...``, TF1's order), so its gradients are conv2d's.
    """
    f = convert_to_tensor(filter)
    if f.shape is None or len(f.shape) != 4 or None in f.shape:
        raise ShapeError(f"depthwise_conv2d needs a 4-D filter of known shape, got {fmt(f.shape)}")
    kh, kw, channels, multiplier = (int(d) for d in f.shape)
    graph = f.graph
    with graph.as_default(), graph.name_scope(name or "depthwise"):
        mask = np.eye(channels, dtype=f.dtype.np)[:, :, None]  # (C, C, 1)
        spread = shape_ops.expand_dims(f, 3) * mask  # (kh, kw, C, C, M)
        full = shape_ops.reshape(spread, [kh, kw, channels, channels * multiplier])
        rate = dilations if rate is None else rate
        return Conv2D(input, full, strides, padding, data_format, _rate(rate, data_format))


def _rate(rate: Any, data_format: str | None) -> Any:
    """TF1's ``rate`` (an int or an (h, w) pair) as conv2d's dilations."""
    if rate is None:
        return 1
    if isinstance(rate, int | np.integer):
        return int(rate)
    pair = [int(r) for r in rate]
    if len(pair) == 2:
        first = (data_format or "NHWC").upper() == "NCHW"
        return [1, 1, *pair] if first else [1, *pair, 1]
    return pair


def separable_conv2d(
    input: Any,  # noqa: A002
    depthwise_filter: Any,
    pointwise_filter: Any,
    strides: Any,
    padding: Any,
    rate: Any = None,
    name: str | None = None,
    data_format: str | None = None,
    dilations: Any = None,
) -> Tensor:
    """A depthwise convolution followed by a 1x1 convolution mixing the channels."""
    graph = convert_to_tensor(input).graph
    with graph.as_default(), graph.name_scope(name or "separable_conv2d"):
        depthwise = depthwise_conv2d(
            input,
            depthwise_filter,
            strides,
            padding,
            rate,
            data_format=data_format,
            dilations=dilations,
        )
        return Conv2D(depthwise, pointwise_filter, 1, "VALID", data_format)
