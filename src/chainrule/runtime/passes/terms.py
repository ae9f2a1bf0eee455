"""The representation the rewrites work on: terms (one per value of a plan) and their kinds.

A plan's nodes are lowered to ``Term``s (``lowering.py``); the passes rewrite terms only, never
the graph. A term that turns out to equal another points to it (``same``); the calls left to run
form the program, whose steps are numbered by ``number``. Shapes are symbolic: an unknown size
is a ``Dim``, equal only to itself, so that two values computed from the same input can be
known to have the same shape (``symbolic_shapes.py``). ``Stats`` counts what each pass did.

The passes learn everything about an op from the hooks it declares (see ``Node``): terms are
what those hooks see of the op's inputs (``PlanValue``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...graph import Node

FEED, CONST, CALL, ITEM = "feed", "const", "call", "item"

#: arrays known to hold at most this many bytes are too small for buffer reuse to pay: NumPy
#: allocates them from its cache of small blocks, faster than a kernel call with ``out=``
SMALL_ARRAY_BYTES = 256

SymShape = tuple[Any, ...] | None


class Term:
    """One value of a plan: a feed, a constant, a kernel call, or one output of a call.

    ``same`` points to the term whose value this one turned out to equal (merged or dropped).
    ``owned`` marks a fresh, writable array of rank >= 1 that only the plan holds, which a
    later op may overwrite once nothing else reads it (``inplace`` names that input).
    ``external`` marks values that may share memory with session state, constants or feeds:
    fetched, they are copied. ``state`` marks values that may share memory with variables,
    which updates change in place during a run.
    """

    __slots__ = (
        "node",
        "kind",
        "args",
        "fn",
        "value",
        "index",
        "outputs",
        "sym",
        "dtype",
        "pure",
        "owned",
        "external",
        "state",
        "numeric",
        "same",
        "inplace",
        "pos",
    )

    def __init__(self, node: Node, kind: str, args: tuple[Term, ...] = (), fn: Any = None):
        self.node = node
        self.kind = kind
        self.args = args
        self.fn = fn
        self.value: Any = None
        self.index = 0
        #: how many values its kernel returns as a tuple (0: one value, not a tuple)
        self.outputs = 0
        self.sym: SymShape = None
        self.dtype: np.dtype | None = None if node.dtype is None else node.dtype.np
        self.pure = False
        self.owned = False
        self.external = False
        self.state = False
        self.numeric = False
        self.same: Term | None = None
        self.inplace = -1
        self.pos = -1

    @property
    def is_constant(self) -> bool:
        """Known when the plan is compiled: ``value`` holds it."""
        return self.kind == CONST

    def resolved(self) -> Term:
        """The term whose value this one is (following merges and dropped no-ops)."""
        term = self
        while term.same is not None:
            term = term.same
        return term

    def __repr__(self) -> str:
        return f"<Term {self.kind} {self.node!r}>"


class Stats:
    """What the rewrites did to one plan (shown by ``Plan.stats``; tests assert on it)."""

    def __init__(self) -> None:
        self.folded = 0
        self.merged = 0
        self.dropped = 0
        self.fused = 0
        self.broadcasts = 0
        self.specialized = 0
        self.inplace = 0
        self.removed = 0

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def number(program: list[Term]) -> None:
    """Give each step its position in the program (``pos``)."""
    for pos, term in enumerate(program):
        term.pos = pos


def aliased_inputs(term: Term) -> tuple[Term, ...]:
    """The inputs whose memory ``term``'s value may share (as its op declares)."""
    positions = term.node.alias_inputs
    if positions is None:
        return term.args
    return tuple(term.args[i] for i in positions if i < len(term.args))


def is_array(term: Term) -> bool:
    """Known to be an ndarray (rank >= 1) of a known dtype, so ``out=`` may target it."""
    return term.sym is not None and len(term.sym) >= 1 and term.dtype is not None


def is_small(term: Term) -> bool:
    """Known from its symbolic shape to hold at most ``SMALL_ARRAY_BYTES`` (scalars too)."""
    if term.sym == ():
        return True
    if term.sym is None or term.dtype is None:
        return False
    size = term.dtype.itemsize
    for d in term.sym:
        if not isinstance(d, int):
            return False
        size *= d
    return size <= SMALL_ARRAY_BYTES
