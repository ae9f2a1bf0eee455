"""Summary ops: their value is a serialized ``Summary`` protobuf (bytes), as in TF1.

``chainrule.summary`` builds them and writes their values to TensorBoard event files. The
protobufs are TensorBoard's own (the ``tensorboard`` extra), imported when a summary is built,
so the core stays NumPy-only. No gradient flows through a summary.
"""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from ..dtypes import DType, string
from ..errors import InvalidArgumentError, ShapeError, require_module
from ..graph import GraphKeys, Node
from .base import Operation
from .registry import NotDifferentiable
from .shapes import Shape, fmt

__all__: list[str] = []

#: the graph collection summaries join
SUMMARIES = GraphKeys.SUMMARIES


def tensorboard_protos() -> ModuleType:
    """TensorBoard's ``summary_pb2``, or an error saying to install the ``tensorboard`` extra."""
    return require_module(
        "tensorboard.compat.proto.summary_pb2",
        "tensorboard",
        "TensorBoard summaries",
        "tensorboard",
    )


class SummaryOp(Operation):
    """A scalar string: the serialized ``Summary`` that ``FileWriter.add_summary`` takes.

    The op's name (unique in its graph, name scopes included) is the summary's tag.
    """

    alias_inputs = ()  # every run serializes a fresh bytes value

    def __init__(self, inputs: Sequence[Any], name: str):
        tensorboard_protos()  # a missing extra is reported where the summary is built
        super().__init__(inputs, name=name)
        self.tag = self.name

    def infer(self, *inputs: Node) -> tuple[Shape, DType | None]:
        return self.shape_rule(*(x.shape for x in inputs)), string

    def shape_rule(self, *shapes: Shape) -> Shape:
        return ()

    def serialize(self, *values: Any) -> bytes:
        """The ``Summary`` of the input values, serialized."""
        summary = tensorboard_protos().Summary(value=self.values(*values))
        return summary.SerializeToString()

    def values(self, *inputs: Any) -> list[Any]:
        """The ``Summary.Value`` entries this op writes."""
        raise NotImplementedError

    def compute(self, *values: Any) -> bytes:
        return self.serialize(*values)


class ScalarSummary(SummaryOp):
    """One number for TensorBoard's scalars tab."""

    def infer(self, x: Node) -> tuple[Shape, DType | None]:
        if x.shape is not None and x.shape != ():
            raise ShapeError(
                f"a scalar summary needs a single number, got a tensor of shape {fmt(x.shape)}; "
                "reduce it first (for example with reduce_mean)"
            )
        return self.shape_rule(x.shape), string

    def values(self, x: Any) -> list[Any]:
        number = np.asarray(x)
        if number.size != 1:
            raise InvalidArgumentError(
                f"a scalar summary needs a single number, got shape {fmt(number.shape)}", self
            )
        return [tensorboard_protos().Summary.Value(tag=self.tag, simple_value=float(number))]


class HistogramSummary(SummaryOp):
    """The distribution of a tensor's values, in TF1's exponential buckets."""

    def values(self, x: Any) -> list[Any]:
        numbers = np.asarray(x, dtype=np.float64).ravel()
        if not np.isfinite(numbers).all():
            bad = "NaN" if np.isnan(numbers).any() else "Inf"
            raise InvalidArgumentError(f"{bad} in the values of histogram '{self.tag}'", self)
        histo = histogram_proto(numbers, tensorboard_protos())
        return [tensorboard_protos().Summary.Value(tag=self.tag, histo=histo)]


@functools.cache
def default_bucket_limits() -> np.ndarray:
    """TF1's histogram bucket edges: +-1e-12 growing by 10% to +-1e20, then +-DBL_MAX, and 0."""
    positive = []
    edge = 1.0e-12
    while edge < 1.0e20:
        positive.append(edge)
        edge *= 1.1
    positive.append(sys.float_info.max)
    return np.array([-e for e in reversed(positive)] + [0.0] + positive)


def histogram_proto(numbers: np.ndarray, protos: ModuleType) -> Any:
    """A ``HistogramProto`` as TF1 encodes one: runs of empty buckets collapsed into one."""
    limits = default_bucket_limits()
    index = np.minimum(np.searchsorted(limits, numbers, side="right"), len(limits) - 1)
    counts = np.bincount(index, minlength=len(limits))
    empty = counts == 0
    ends_a_run = np.append(~empty[1:], True)
    kept = ~empty | ends_a_run
    return protos.HistogramProto(
        min=float(numbers.min()) if numbers.size else limits[-1],
        max=float(numbers.max()) if numbers.size else limits[0],
        num=float(numbers.size),
        sum=float(numbers.sum()),
        sum_squares=float(np.dot(numbers, numbers)),
        bucket_limit=limits[kept].tolist(),
        bucket=counts[kept].astype(np.float64).tolist(),
    )


class ImageSummary(SummaryOp):
    """Up to ``max_outputs`` images of a ``[batch, height, width, channels]`` tensor, as PNG."""

    def __init__(self, inputs: Sequence[Any], name: str, max_outputs: int):
        if max_outputs < 1:
            raise InvalidArgumentError(f"max_outputs must be at least 1, got {max_outputs}")
        self.max_outputs = max_outputs
        super().__init__(inputs, name)

    def infer(self, images: Node) -> tuple[Shape, DType | None]:
        shape = images.shape
        if shape is not None and (len(shape) != 4 or shape[3] not in (1, 3, 4, None)):
            raise ShapeError(
                "an image summary needs a tensor of shape [batch, height, width, channels] "
                f"with 1 (grey), 3 (RGB) or 4 (RGBA) channels, got {fmt(shape)}"
            )
        return self.shape_rule(shape), string

    def values(self, images: Any) -> list[Any]:
        batch = np.asarray(images)
        if batch.ndim != 4 or batch.shape[3] not in (1, 3, 4):
            raise InvalidArgumentError(
                f"expected images of shape [batch, height, width, 1, 3 or 4], got "
                f"{fmt(batch.shape)}",
                self,
            )
        shown = batch[: self.max_outputs]
        return [
            self.image_value(self.image_tag(i), as_uint8(image)) for i, image in enumerate(shown)
        ]

    def image_tag(self, index: int) -> str:
        """``name/image`` for one image at most, else ``name/image/0``, ``name/image/1``..."""
        return f"{self.tag}/image" if self.max_outputs == 1 else f"{self.tag}/image/{index}"

    def image_value(self, tag: str, pixels: np.ndarray) -> Any:
        protos = tensorboard_protos()
        height, width, channels = pixels.shape
        image = protos.Summary.Image(
            height=height, width=width, colorspace=channels, encoded_image_string=png(pixels)
        )
        return protos.Summary.Value(tag=tag, image=image)


def as_uint8(image: np.ndarray) -> np.ndarray:
    """Pixels as TF1 shows them: uint8 as given; floats scaled so the largest is 255, or, with
    negative values, so that 0 is mid-grey (128) and the largest magnitude reaches the end."""
    if image.dtype == np.uint8:
        return image
    values = np.nan_to_num(np.asarray(image, dtype=np.float32))
    low, high = float(values.min()), float(values.max())
    if low < 0:
        largest = max(-low, high)
        scale, offset = (127.0 / largest if largest > 1e-6 else 0.0), 128.0
    else:
        scale, offset = (255.0 / high if high > 1e-6 else 0.0), 0.0
    return np.clip(values * scale + offset, 0, 255).astype(np.uint8)


def png(pixels: np.ndarray) -> bytes:
    """PNG bytes of ``[height, width, channels]`` uint8 pixels, by Pillow (matplotlib's PNG
    library, so it comes with the ``viz`` extra)."""
    image_module = require_module("PIL.Image", "viz", "image summaries", "Pillow")
    picture = pixels[:, :, 0] if pixels.shape[2] == 1 else pixels
    buffer = io.BytesIO()
    image_module.fromarray(np.ascontiguousarray(picture)).save(buffer, format="PNG")
    return buffer.getvalue()


class TensorSummaryV2(SummaryOp):
    """Text (Markdown) for TensorBoard's text tab; TF1's op type for ``tf.summary.text``."""

    def __init__(self, text: str | Sequence[str], name: str):
        texts = [text] if isinstance(text, str) else list(text)
        if not all(isinstance(t, str) for t in texts):
            raise InvalidArgumentError(f"a text summary takes a string or strings, got {text!r}")
        self.text = text if isinstance(text, str) else tuple(texts)
        super().__init__([], name)

    def values(self) -> list[Any]:
        tensor_util = require_module(
            "tensorboard.util.tensor_util", "tensorboard", "text", "tensorboard"
        )
        metadata = require_module(
            "tensorboard.plugins.text.metadata", "tensorboard", "text", "tensorboard"
        )
        strings = np.array(
            [t.encode() for t in ([self.text] if isinstance(self.text, str) else self.text)],
            dtype=object,
        ).reshape(() if isinstance(self.text, str) else (-1,))
        return [
            tensorboard_protos().Summary.Value(
                tag=self.tag,
                metadata=metadata.create_summary_metadata(display_name="", description=""),
                tensor=tensor_util.make_tensor_proto(strings),
            )
        ]


class MergeSummary(SummaryOp):
    """The values of several summaries in one ``Summary`` (tags must differ, as in TF1)."""

    def infer(self, *summaries: Node) -> tuple[Shape, DType | None]:
        for node in summaries:
            if node.dtype != string:
                raise InvalidArgumentError(
                    f"merge takes summaries, got {node.op_type} '{node.name}' ({node.source})"
                )
        return self.shape_rule(), string

    def values(self, *serialized: bytes) -> list[Any]:
        protos = tensorboard_protos()
        merged: list[Any] = []
        seen: set[str] = set()
        for data in serialized:
            for value in protos.Summary.FromString(data).value:
                if value.tag in seen:
                    raise InvalidArgumentError(f"two summaries have the tag '{value.tag}'", self)
                seen.add(value.tag)
                merged.append(value)
        return merged


for _summary_op in (ScalarSummary, HistogramSummary, ImageSummary, TensorSummaryV2, MergeSummary):
    NotDifferentiable(_summary_op.op_type)
