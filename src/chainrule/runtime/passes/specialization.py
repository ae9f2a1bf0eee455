"""Specialised kernels: general kernels replaced by ones fixed to the shapes the plan knows.

An op may offer a kernel fixed to its plan's shapes (``Node.specialize``): a gradient's
``sum_to_like`` whose broadcast axes the symbolic shapes tell reduces them directly; a mean
and the count of a reduction skip the axis bookkeeping the general kernels redo on every run.
The results are the same; only the per-call overhead goes.
"""

from __future__ import annotations

from .terms import CALL, Stats, Term, is_array


def specialize(program: list[Term], stats: Stats) -> None:
    """Replace general kernels by the fixed-shape ones their ops offer (same results, faster)."""
    for term in program:
        if term.kind != CALL or not term.pure:
            continue
        special = term.node.specialize(term.args)
        if special is None:
            continue
        term.fn = special.kernel
        if special.fresh:
            term.owned = is_array(term)
            term.external = term.state = False
        stats.specialized += 1
