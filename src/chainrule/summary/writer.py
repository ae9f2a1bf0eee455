"""``FileWriter``: summaries and graphs into a TensorBoard event file, by TensorBoard's writer."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

from ..errors import FailedPreconditionError, InvalidArgumentError, require_module
from ..graph import Graph
from ..ops.summary_ops import tensorboard_protos
from .graph_def import graph_def


def event_protos() -> ModuleType:
    """TensorBoard's ``event_pb2``, or an error saying to install the ``tensorboard`` extra."""
    return require_module(
        "tensorboard.compat.proto.event_pb2",
        "tensorboard",
        "TensorBoard event files",
        "tensorboard",
    )


def _event_file_writer(logdir: str, max_queue: int, flush_secs: float, suffix: str) -> Any:
    """TensorBoard's ``EventFileWriter`` on a new event file in ``logdir`` (made if missing)."""
    module = require_module(
        "tensorboard.summary.writer.event_file_writer",
        "tensorboard",
        "FileWriter",
        "tensorboard",
    )
    try:
        return module.EventFileWriter(logdir, max_queue, flush_secs, suffix)
    except OSError as err:
        raise FailedPreconditionError(
            f"cannot write TensorBoard files in '{logdir}': {err.strerror or err}; "
            "give FileWriter a folder you can write to"
        ) from None


class FileWriter:
    """Writes summaries (``add_summary``) and graphs (``add_graph``) for TensorBoard to read.

    Events go to a new ``events.out.tfevents.*`` file in ``logdir`` in the background, at the
    latest every ``flush_secs`` seconds, on ``flush()`` and on ``close()`` (or the end of
    ``with FileWriter(...) as writer:``).
    """

    def __init__(
        self,
        logdir: str,
        graph: Graph | None = None,
        max_queue: int = 10,
        flush_secs: float = 120,
        filename_suffix: str = "",
    ):
        self.logdir = str(logdir)
        self._writer = _event_file_writer(self.logdir, max_queue, flush_secs, filename_suffix)
        self._closed = False
        if graph is not None:
            self.add_graph(graph)

    def get_logdir(self) -> str:
        return self.logdir

    def add_summary(self, summary: bytes | Any, global_step: int | None = None) -> None:
        """Record a summary (what ``sess.run(summary_op)`` returns) at ``global_step``."""
        proto = _as_summary(summary)
        step = 0 if global_step is None else int(global_step)
        self._add_event(event_protos().Event(wall_time=time.time(), step=step, summary=proto))

    def add_graph(self, graph: Graph, global_step: int | None = None) -> None:
        """Record ``graph`` for TensorBoard's graph tab (name scopes become boxes there)."""
        if not isinstance(graph, Graph):
            raise InvalidArgumentError(f"add_graph takes a chainrule Graph, got {graph!r}")
        serialized = graph_def(graph).SerializeToString()
        step = 0 if global_step is None else int(global_step)
        self._add_event(
            event_protos().Event(wall_time=time.time(), step=step, graph_def=serialized)
        )

    def flush(self) -> None:
        """Write the pending events to disk now."""
        if not self._closed:
            self._writer.flush()

    def close(self) -> None:
        """Write the pending events and close the event file."""
        if not self._closed:
            self._writer.close()
            self._closed = True

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _add_event(self, event: Any) -> None:
        if self._closed:
            raise FailedPreconditionError(f"the FileWriter for '{self.logdir}' is closed")
        self._writer.add_event(event)


def _as_summary(summary: Any) -> Any:
    """A ``Summary`` protobuf from its serialized bytes (or the protobuf itself)."""
    summary_class = tensorboard_protos().Summary
    if isinstance(summary, summary_class):
        return summary
    if isinstance(summary, bytes | bytearray):
        return summary_class.FromString(bytes(summary))
    raise InvalidArgumentError(
        "add_summary takes what running a summary op returns (bytes) or a Summary, "
        f"got {type(summary).__name__}"
    )
