"""Fusion: work that two ops would each do is done once.

An op and its partner (a loss and its gradient) that declare the same ``fusion_key`` are
computed together by the kernels the forward op gives (``fused_kernels``): one kernel computes
the forward value and an intermediate (softmax cross-entropy: the loss and the residual, from
one softmax), and the partner finishes from that intermediate in place. Broadcasts that feed
only consumers which broadcast their inputs themselves (the mean's gradient: a scalar
stretched to the batch, then multiplied) are skipped: the consumer takes the smaller input.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from ...graph import FusedKernels
from .terms import CALL, ITEM, Stats, Term, is_array


def fuse(program: list[Term], stats: Stats) -> list[Term]:
    """Compute each pair of terms with equal fusion keys by their forward op's fused kernels.

    The shared kernel and the partner's intermediate are placed where the first of the two
    was; the forward term becomes that kernel's first output, and the partner finishes from
    the second.
    """
    groups: dict[Hashable, list[int]] = {}
    for pos, term in enumerate(program):
        if term.kind == CALL and term.pure:
            key = term.node.fusion_key(term.args)
            if key is not None:
                groups.setdefault(key, []).append(pos)
    inserts: dict[int, tuple[Term, Term]] = {}
    place = {id(term): pos for pos, term in enumerate(program)}
    for positions in groups.values():
        pair = _forward_and_partner(program, positions)
        if pair is None:
            continue
        forward, partner, kernels = pair
        at = min(forward, partner)
        if any(place.get(id(a), -1) >= at for a in program[forward].args):
            continue  # the shared kernel's inputs are not ready where the partner needs it
        inserts[at] = _fuse_pair(program[forward], program[partner], kernels)
        stats.fused += 1
    if not inserts:
        return program
    fused: list[Term] = []
    for pos, term in enumerate(program):
        fused.extend(inserts.get(pos, ()))
        fused.append(term)
    return fused


def _forward_and_partner(
    program: list[Term], positions: list[int]
) -> tuple[int, int, FusedKernels] | None:
    """The first term of the group whose op gives fused kernels, and the first other term."""
    for forward in positions:
        term = program[forward]
        kernels = term.node.fused_kernels(term.args)
        if kernels is None:
            continue
        partner = next((p for p in positions if p != forward), None)
        if partner is None:
            return None
        if program[partner].node.fused_kernels(program[partner].args) is not None:
            continue
        return forward, partner, kernels
    return None


def _fuse_pair(forward: Term, partner: Term, kernels: FusedKernels) -> tuple[Term, Term]:
    """The shared term and the intermediate it hands the partner; rewires both terms."""
    both = Term(forward.node, CALL, forward.args, kernels.shared)
    both.outputs, both.pure = 2, True
    intermediate = Term(partner.node, ITEM, (both,))
    intermediate.index = 1
    intermediate.sym, intermediate.dtype = partner.sym, partner.dtype
    intermediate.owned = is_array(intermediate)
    forward.kind, forward.args, forward.fn, forward.index = ITEM, (both,), None, 0
    partner.args = (intermediate,) + tuple(partner.args[i] for i in kernels.finish_inputs)
    partner.fn = kernels.finish
    partner.inplace = 0  # the result is written into the intermediate
    return both, intermediate


# -- broadcasts that the consumers would do anyway ------------------------------------------------------
def drop_broadcasts(program: list[Term], stats: Stats) -> bool:
    """Feed a broadcast's input straight to consumers that broadcast their inputs themselves.

    ``x * broadcast_like(s, x)`` computes ``x * s``: when every value a consumer produces keeps
    its shape with the smaller input, the broadcast (a Python call and a view) is skipped. The
    mean's gradient is the usual case: a scalar reshaped and broadcast to the batch, then
    multiplied into the cross-entropy's gradient.
    """
    changed = False
    for _ in range(3):  # chains such as reshape -> broadcast: one link per round
        consumers: dict[int, list[Term]] = {}
        for term in program:
            for arg in term.args:
                consumers.setdefault(id(arg), []).append(term)
        round_changed = False
        for term in reversed(program):
            if not _is_broadcast(term):
                continue
            source = term.args[0]
            for user in consumers.get(id(term), ()):
                if _takes_smaller(user, term, source):
                    user.args = tuple(source if a is term else a for a in user.args)
                    stats.broadcasts += 1
                    round_changed = True
        if not round_changed:
            break
        changed = True
    return changed


def _is_broadcast(term: Term) -> bool:
    """A view of its input stretched by NumPy broadcasting (its op says so; data unchanged)."""
    if term.kind != CALL or not term.pure or not term.args or term.sym is None:
        return False
    if term.args[0].dtype != term.dtype:
        return False
    return term.node.broadcast_source(term.args, term.sym)


def _takes_smaller(user: Term, old: Term, new: Term) -> bool:
    """Whether ``user`` computes the same value with ``new`` in place of ``old``."""
    if user.kind != CALL or user.sym is None or user.inplace >= 0:
        return False
    syms: list[Any] = [new.sym if a is old else a.sym for a in user.args]
    if any(sym is None for sym in syms):
        return False
    positions = [k for k, a in enumerate(user.args) if a is old]
    return all(user.node.takes_broadcast(k, syms, user.sym) for k in positions)
