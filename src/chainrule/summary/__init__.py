"""TF1's ``tf.summary``: summary ops and a ``FileWriter`` for TensorBoard event files.

    loss_summary = cr.summary.scalar("loss", loss)
    merged = cr.summary.merge_all()
    with cr.summary.FileWriter("logs", graph) as writer:
        writer.add_summary(sess.run(merged), global_step=step)

Then ``tensorboard --logdir logs``. Needs the ``tensorboard`` extra:
``pip install 'chainrule[tensorboard]'``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..graph import Graph, Node, get_default_graph
from ..ops.base import graph_of
from ..ops.summary_ops import (
    SUMMARIES,
    HistogramSummary,
    ImageSummary,
    MergeSummary,
    ScalarSummary,
    SummaryOp,
    TensorSummaryV2,
    tensorboard_protos,
)
from .graph_def import graph_def
from .writer import FileWriter, event_protos

__all__ = [
    "SUMMARIES",
    "scalar",
    "histogram",
    "image",
    "text",
    "merge",
    "merge_all",
    "FileWriter",
    "graph_def",
]

Collections = Sequence[str] | None


def scalar(name: str, tensor: Any, collections: Collections = None) -> Node:
    """A summary of one number (a loss, an accuracy) for TensorBoard's scalars tab."""
    return _collected(ScalarSummary([tensor], name=clean_tag(name)), collections)


def histogram(name: str, values: Any, collections: Collections = None) -> Node:
    """A summary of the distribution of ``values`` (weights, gradients, activations)."""
    return _collected(HistogramSummary([values], name=clean_tag(name)), collections)


def image(name: str, tensor: Any, max_outputs: int = 3, collections: Collections = None) -> Node:
    """A summary of the first ``max_outputs`` images of ``[batch, height, width, channels]``."""
    op = ImageSummary([tensor], name=clean_tag(name), max_outputs=max_outputs)
    return _collected(op, collections)


def text(name: str, data: str | Sequence[str], collections: Collections = None) -> Node:
    """A summary of text (Markdown) for TensorBoard's text tab."""
    return _collected(TensorSummaryV2(data, name=clean_tag(name)), collections)


def merge(inputs: Sequence[Node], collections: Collections = None, name: str | None = None) -> Node:
    """One summary holding the values of all ``inputs`` (run it instead of each one)."""
    op = MergeSummary(list(inputs), name=name or "Merge/MergeSummary")
    return _collected(op, collections or ())


def merge_all(key: str = SUMMARIES, graph: Graph | None = None) -> Node | None:
    """All the summaries in collection ``key`` merged into one, or None if there are none."""
    summaries = (graph or get_default_graph()).get_collection(key)
    if not summaries:
        return None
    with graph_of(summaries).as_default():
        return merge(summaries)


def clean_tag(name: str) -> str:
    """``name`` with characters TF1 refuses in tags replaced by ``_`` (and no leading ``/``)."""
    return re.sub(r"[^-/\w.]", "_", name).lstrip("/") or "summary"


def _collected(op: SummaryOp, collections: Collections) -> Node:
    """Add ``op`` to the graph collections given (``"summaries"`` by default)."""
    for key in [SUMMARIES] if collections is None else collections:
        op.graph.add_to_collection(key, op)
    return op


def __getattr__(name: str) -> Any:
    """TensorBoard's protobufs under TF1's names (``tf.summary.Summary``, ``Event``...)."""
    if name in ("Summary", "SummaryMetadata", "HistogramProto"):
        return getattr(tensorboard_protos(), name)
    if name == "Event":
        return getattr(event_protos(), name)
    raise AttributeError(f"module 'chainrule.summary' has no attribute '{name}'")
