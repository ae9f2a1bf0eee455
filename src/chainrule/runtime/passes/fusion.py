"""Fusion: work that two ops would each do is done once.

Softmax cross-entropy (dense or sparse labels) and its gradient each compute the softmax of
the same logits; fused, one kernel gives the loss and the residual ``softmax - labels``, and
the gradient scales that residual in place. Broadcasts that feed only consumers which broadcast
their inputs themselves (the mean's gradient: a scalar stretched to the batch, then multiplied)
are skipped: the consumer takes the smaller input directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .symbolic_shapes import broadcast_sym
from .terms import CALL, ITEM, Stats, Term, elementwise, is_array


def _cross_entropy_pairs() -> dict[str, tuple[str, Callable[[Term], Any]]]:
    """Loss op type -> (its gradient's op type, maker of the kernel giving loss and residual)."""
    return {
        "SoftmaxCrossEntropyWithLogits": ("SoftmaxCrossEntropyWithLogitsGrad", _dense_both),
        "SparseSoftmaxCrossEntropyWithLogits": (
            "SparseSoftmaxCrossEntropyWithLogitsGrad",
            _sparse_both,
        ),
    }


def fuse_softmax_cross_entropy(program: list[Term], stats: Stats) -> list[Term]:
    """Compute softmax cross-entropy and its gradient's softmax in one kernel.

    The loss op and its gradient op (same labels, logits and axis) each compute the softmax;
    fused, the first of the two computes the loss and ``softmax - labels`` (dense labels) or
    ``softmax - one_hot(labels)`` (sparse labels) once, and the gradient scales that residual
    in place.
    """
    pairs = _cross_entropy_pairs()
    forward: dict[Any, int] = {}
    for pos, term in enumerate(program):
        if term.builtin and term.kind == CALL and term.op_type in pairs:
            key = (pairs[term.op_type][0], term.args[0], term.args[1], _axis_of(term))
            forward.setdefault(key, pos)
    if not forward:
        return program
    inserts: dict[int, tuple[Term, Term]] = {}
    for pos, grad_term in enumerate(program):
        if not grad_term.builtin or grad_term.kind != CALL or len(grad_term.args) != 3:
            continue
        upstream, labels, logits = grad_term.args
        at = forward.pop((grad_term.op_type, labels, logits, _axis_of(grad_term)), None)
        if at is None:
            continue
        loss = program[at]
        kernel = pairs[loss.op_type][1](loss)
        if kernel is None:
            continue
        inserts[min(at, pos)] = _fuse_pair(loss, grad_term, kernel)
        stats.fused += 1
    fused: list[Term] = []
    for pos, term in enumerate(program):
        fused.extend(inserts.get(pos, ()))
        fused.append(term)
    return fused


def _axis_of(term: Term) -> int:
    return getattr(term.node, "axis", -1)


def _fuse_pair(loss: Term, grad: Term, kernel: Any) -> tuple[Term, Term]:
    labels, logits = loss.args
    both = Term(loss.node, CALL, (labels, logits), kernel)
    both.outputs, both.pure, both.builtin = 2, True, True
    residual = Term(grad.node, ITEM, (both,))
    residual.index = 1
    residual.sym, residual.dtype = logits.sym, grad.dtype
    residual.owned = is_array(residual)
    loss.kind, loss.args, loss.fn, loss.index = ITEM, (both,), None, 0
    grad.args = (residual, grad.args[0])
    grad.fn = ScaleResidual(_axis_of(loss))
    grad.inplace = -1
    return both, residual


def _dense_both(loss: Term) -> Callable[[Any, Any], tuple[np.ndarray, np.ndarray]]:
    """Loss and ``softmax - labels`` from one max, exp and sum (the unfused kernels' steps)."""
    axis = loss.node.axis

    def softmax_xent_and_residual(labels: Any, logits: Any) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(logits)
        shifted = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)
        e = np.exp(shifted)
        total = np.sum(e, axis=axis, keepdims=True)
        shifted -= np.log(total)
        np.negative(shifted, out=shifted)
        shifted *= labels
        e /= total
        e -= labels
        return np.sum(shifted, axis=axis), e

    return softmax_xent_and_residual


def _sparse_both(loss: Term) -> Callable[[Any, Any], tuple[np.ndarray, np.ndarray]] | None:
    """Loss and ``softmax - one_hot(labels)`` for integer labels, from one max, exp and sum."""
    from ...ops import softmax_ops

    checked_labels = getattr(softmax_ops, "_checked_labels", None)
    if checked_labels is None:
        return None
    take, put = np.take_along_axis, np.put_along_axis

    def sparse_softmax_xent_and_residual(labels: Any, logits: Any) -> tuple[Any, Any]:
        x = np.asarray(logits)
        index = checked_labels(labels, x.shape[-1])
        shifted = x - np.max(x, axis=-1, keepdims=True, initial=-np.inf)
        e = np.exp(shifted)
        total = np.sum(e, axis=-1, keepdims=True)
        shifted -= np.log(total)
        losses = -take(shifted, index, axis=-1)[..., 0]
        e /= total
        put(e, index, take(e, index, axis=-1) - 1, axis=-1)
        return losses, e

    return sparse_softmax_xent_and_residual


class ScaleResidual:
    """``residual * upstream`` along the cross-entropy's rows, written into ``residual``."""

    def __init__(self, axis: int):
        self.axis = axis

    def __call__(self, residual: np.ndarray, upstream: Any) -> np.ndarray:
        if np.ndim(upstream) == 0:
            residual *= upstream
        else:
            residual *= np.expand_dims(upstream, self.axis)
        return residual


# -- broadcasts that the consumers would do anyway ------------------------------------------------------
#: ops whose value is their input broadcast to a larger shape (the data is not changed)
BROADCASTS = frozenset({"BroadcastLike", "BroadcastTo", "Reshape", "ExpandReduced"})


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
    """A view of its input stretched by NumPy's right-aligned broadcasting (data unchanged)."""
    if term.kind != CALL or not term.builtin or not term.pure or term.op_type not in BROADCASTS:
        return False
    source = term.args[0]
    if source.sym is None or term.sym is None or source.dtype != term.dtype:
        return False
    if term.op_type in ("Reshape", "ExpandReduced"):  # only size-1 axes added in front
        lead = len(term.sym) - len(source.sym)
        return lead >= 0 and term.sym[lead:] == source.sym and _all_ones(term.sym[:lead])
    return broadcast_sym([source.sym, term.sym]) == term.sym


def _all_ones(sym: Sequence[Any]) -> bool:
    return all(isinstance(d, int) and d == 1 for d in sym)


def _takes_smaller(user: Term, old: Term, new: Term) -> bool:
    """Whether ``user`` computes the same value with ``new`` in place of ``old``."""
    if user.kind != CALL or not user.builtin or user.sym is None or user.inplace >= 0:
        return False
    syms = [new.sym if a is old else a.sym for a in user.args]
    if any(sym is None for sym in syms):
        return False
    if isinstance(user.fn, ScaleResidual):  # the upstream gradient, one value for all rows
        return user.args[1] is old and _all_ones(new.sym)
    if elementwise(user.fn, len(user.args)):
        return broadcast_sym(syms) == user.sym
    if user.op_type == "ReluGrad":
        return broadcast_sym(syms) == user.sym
    return False
