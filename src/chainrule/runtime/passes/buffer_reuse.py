"""Buffer reuse: an op writes its result into an input buffer that dies at that op.

An op that offers an in-place kernel (``Node.inplace_kernel``: elementwise ufuncs, ReLU and
its gradient, a gradient-descent update consuming its gradient) gets it where the input is a
fresh array that nothing reads afterwards (neither it nor any view of it, nor a fetch). A
training step then allocates fewer arrays; the values are the same. Arrays known to be small
are left alone: allocating them costs less than the ``out=`` call would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .terms import CALL, Stats, Term, aliased_inputs, is_small


def reuse_buffers(program: list[Term], fetches: Sequence[Term], stats: Stats, store: Any) -> None:
    """Let ops write into an input buffer that nothing reads afterwards.

    A buffer is free at a step when neither its value nor any value that may share its
    memory (views, pass-throughs) is read later or fetched.
    """
    buffer_end = _buffer_ends(program, fetches)
    for pos, term in enumerate(program):
        if term.kind != CALL or term.inplace >= 0 or term.outputs:
            continue
        offer = term.node.inplace_kernel(term.args, store)
        if offer is None:
            continue
        for k in offer.inputs:
            arg = term.args[k]
            if arg.owned and arg.pos >= 0 and buffer_end[arg.pos] == pos and _fits(arg, term):
                term.inplace = k
                if not isinstance(offer.kernel, np.ufunc):
                    term.fn = offer.kernel
                stats.inplace += 1
                break


def _fits(arg: Term, term: Term) -> bool:
    """Whether ``term``'s result may go into ``arg``'s buffer: the same shape and dtype, and
    big enough to be worth it. An update has no result: it consumes the buffer."""
    if term.node.is_update:
        return True
    return arg.dtype == term.dtype and arg.sym == term.sym and not is_small(arg)


def _buffer_ends(program: list[Term], fetches: Sequence[Term]) -> list[int]:
    """For each step, the last step that reads its buffer (directly or through a value that
    may share its memory); ``len(program)`` for fetched values."""
    never = len(program)
    last_use = list(range(len(program)))
    for pos, term in enumerate(program):
        for arg in term.args:
            if arg.pos >= 0:
                last_use[arg.pos] = pos
    for term in fetches:
        if term.pos >= 0:
            last_use[term.pos] = never
    bases: list[tuple[Term, ...]] = []
    buffer_end = list(last_use)
    for pos, term in enumerate(program):
        if term.owned:
            shared: tuple[Term, ...] = (term,)
        else:
            inputs = aliased_inputs(term) if term.kind == CALL else term.args
            found = {id(b): b for a in inputs if a.pos >= 0 for b in bases[a.pos]}
            shared = tuple(found.values())
        bases.append(shared)
        for base in shared:
            if last_use[pos] > buffer_end[base.pos]:
                buffer_end[base.pos] = last_use[pos]
    return buffer_end
