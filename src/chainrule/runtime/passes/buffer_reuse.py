"""Buffer reuse: an op writes its result into an input buffer that dies at that op.

An elementwise op (or a ReLU and its gradient) whose input is a fresh array that nothing
reads afterwards (neither it nor any view of it, nor a fetch) computes with ``out=`` into that
input, and a gradient-descent update whose gradient dies there scales the gradient in place
before subtracting it. A training step then allocates fewer arrays; the values are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .terms import CALL, Stats, Term, aliased_inputs, elementwise


def _relu_into_input(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, out=x)


def _relu_grad_into_input(grad: np.ndarray, y: Any) -> np.ndarray:
    return np.multiply(grad, y > 0, out=grad)


#: op type -> (inputs that may receive the result, kernel writing into that input)
INPLACE_KERNELS: dict[str, tuple[tuple[int, ...], Callable[..., Any]]] = {
    "Relu": ((0,), _relu_into_input),
    "ReluGrad": ((0,), _relu_grad_into_input),
}


def _inplace_candidates(term: Term) -> tuple[tuple[int, ...], Any]:
    if term.kind != CALL or not term.builtin or term.dtype is None or term.sym is None:
        return (), None
    if term.inplace >= 0 or term.outputs != 1:
        return (), None
    fn = term.fn
    if elementwise(fn, len(term.args)):
        return tuple(range(len(term.args))), fn
    return INPLACE_KERNELS.get(term.op_type, ((), None))


def _consuming_descent(term: Term, store: Any) -> Callable[[Any, Any], None] | None:
    """``var -= lr * grad`` as ``grad *= lr; var -= grad`` (no temporary), if ``grad`` is ours."""
    from ...train import optimizers

    node = term.node
    if not term.builtin or getattr(node, "apply", None) is not optimizers.gradient_descent_kernel:
        return None
    grad, lr = term.args
    var = node.refs[0]
    if not grad.owned or grad.pos < 0 or var.dtype is None or grad.dtype != var.dtype.np:
        return None
    if var.shape is None or grad.sym != tuple(var.shape) or lr.sym != () or lr.dtype != grad.dtype:
        return None
    read = store.reader(var)
    multiply, subtract = np.multiply, np.subtract

    def descend_consuming_gradient(grad: np.ndarray, lr: Any) -> None:
        multiply(grad, lr, out=grad)
        value = read()
        subtract(value, grad, out=value)

    return descend_consuming_gradient


def reuse_buffers(program: list[Term], fetches: Sequence[Term], stats: Stats, store: Any) -> None:
    """Let elementwise ops write into an input buffer that nothing reads afterwards.

    A buffer is free at a step when neither its value nor any value that may share its
    memory (views, pass-throughs) is read later or fetched. A gradient-descent update whose
    gradient dies there scales the gradient in place before subtracting it.
    """
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
    for pos, term in enumerate(program):
        if term.kind == CALL and term.op_type == "ApplyGradientDescent":
            kernel = _consuming_descent(term, store)
            if kernel is not None and buffer_end[term.args[0].pos] == pos:
                term.fn, term.inplace = kernel, 0
                stats.inplace += 1
            continue
        positions, kernel = _inplace_candidates(term)
        for k in positions:
            arg = term.args[k]
            if (
                arg.owned
                and buffer_end[arg.pos] == pos
                and arg.dtype == term.dtype
                and arg.sym == term.sym
            ):
                term.inplace = k
                if not isinstance(kernel, np.ufunc):
                    term.fn = kernel
                stats.inplace += 1
                break
