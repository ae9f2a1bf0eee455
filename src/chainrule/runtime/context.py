"""The run context: what an op's ``bind`` receives, so that kernels never import the runtime."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..graph import Node
from .store import VariableStore

__all__ = ["RunContext", "SubgraphRun"]

#: a compiled sub-graph: called with the feed values, returns the fetched values in order
SubgraphRun = Callable[..., list[Any]]


class RunContext:
    """A session as its kernels see it: its ``store``, and ``compile`` for sub-graphs.

    ``compile(fetches, feeds)`` returns a function of the feed values that runs the sub-graph
    in the same session (same variables and generators, same rewrites, one plan kept per
    sub-graph) and returns the fetched values: a conditional or a loop binds its branches or
    body with it once, then calls them from its kernel as often as it needs.

    The fetched values come back as ``Session.run`` returns them (copied where they may share
    memory with anything else), unless ``shared_feeds`` lists positions of feeds: they then
    go to the calling kernel, which promises to write into none of them nor into the feeds.
    Values that may share memory only with the listed feeds come back uncopied (a loop's next
    iteration reads them); values that may share memory with state, constants or other feeds
    are copied.
    """

    __slots__ = ("store", "_compile")

    def __init__(
        self,
        store: VariableStore,
        compile: Callable[..., SubgraphRun],
    ):
        self.store = store
        self._compile = compile

    def compile(
        self,
        fetches: Sequence[Node],
        feeds: Sequence[Node],
        shared_feeds: Sequence[int] | None = None,
    ) -> SubgraphRun:
        """A function of ``feeds``' values returning ``fetches``' values, run in this session."""
        return self._compile(fetches, feeds, shared_feeds)
