"""Symbolic shapes: each term's shape with unknown sizes as symbols that flow through the ops.

The static shapes of the graph say ``(?, 256)`` for both the input of a reshape and its
result; symbolic shapes say that both ``?`` are the same ``Dim``, which is what lets the
simplification drop a reshape, broadcast or gradient reduction to the shape its input already
has, and lets buffer reuse and the specialised kernels rely on shapes known for the whole plan.
Each op's own ``shape_rule`` (the one that gives its static shape) works them out; a size the
rule cannot tell becomes a fresh symbol, and the static shape fills in what it knows.
"""

from __future__ import annotations

from typing import Any

from ...errors import ChainruleError
from ...ops.shapes import Dim
from .terms import CALL, SymShape, Term


def from_static(shape: Any) -> SymShape:
    if shape is None:
        return None
    return tuple(Dim() if d is None else d for d in shape)


def symbolic_shape(term: Term) -> SymShape:
    """``term``'s shape with unknown sizes as symbols, consistent with the static shape."""
    static = term.node.shape
    if term.kind != CALL:
        return from_static(static)
    try:
        sym = term.node.shape_rule(*[a.sym for a in term.args])
    except (ChainruleError, AttributeError, IndexError, TypeError, ValueError):
        sym = None
    return _merge_static(sym, static)


def _merge_static(sym: SymShape, static: Any) -> SymShape:
    """The rule's shape where it says more than the static one; fresh symbols for the rest."""
    if sym is None:
        return from_static(static)
    if static is None:
        return tuple(Dim() if s is None else s for s in sym)
    if len(sym) != len(static):
        return from_static(static)
    merged = []
    for s, d in zip(sym, static, strict=True):
        if d is None:
            merged.append(Dim() if s is None else s)
        elif isinstance(s, int) and s != d:
            return from_static(static)
        else:
            merged.append(d)
    return tuple(merged)
