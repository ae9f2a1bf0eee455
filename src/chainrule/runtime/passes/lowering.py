"""Lowering: one term per operation of a plan, with its kernel bound to the session's store once.

Besides the kernel, lowering records what the passes decide on, from what the op declares:
whether it is pure (only pure ops are folded, merged or dropped), whether its output is a
fresh array only the plan holds (``alias_inputs == ()``, ``owned``: a later op may write into
it), and whether it may share memory with feeds, constants or variables (``external``,
``state``: fetched values are then copied, and no pass lets such a value stand in for a copy
that an update would change).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...graph import Node, Tensor
from ...ops.base import Constant, check_user_value
from .symbolic_shapes import from_static, symbolic_shape
from .terms import CALL, CONST, FEED, ITEM, Term, aliased_inputs, is_array


def lower(
    order: Sequence[Node], feeds: Sequence[Tensor], context: Any, symbolic: bool
) -> tuple[list[Term], dict[int, Term]]:
    """One term per operation of the plan, in order, and the terms by ``id`` of their
    operation and of each of its output tensors (an op with several outputs has one ``ITEM``
    term per output, after its call).

    Kernels are bound to the run ``context`` (the session's store) here, once per plan; ``symbolic`` works out shapes with
    unknown sizes as symbols (what the rewrites decide on).
    """
    feed_index = {id(tensor.op): i for i, tensor in enumerate(feeds)}
    terms: list[Term] = []
    term_of: dict[int, Term] = {}
    for node in order:
        if id(node) in feed_index:
            term = Term(node, FEED)
            term.index = feed_index[id(node)]
            term.external = term.numeric = True
        elif isinstance(node, Constant):
            term = Term(node, CONST)
            term.value = node.value
            term.external = True
            term.numeric = isinstance(node.value, np.ndarray | np.generic)
        else:
            term = _call_term(node, tuple([term_of[id(t)] for t in node.inputs]), context)
        outputs = node.outputs
        if symbolic and not node.tuple_outputs:
            term.sym = symbolic_shape(term)
        term.owned = term.owned and is_array(term)
        terms.append(term)
        term_of[id(node)] = term
        if node.tuple_outputs and term.kind == CALL:
            term.outputs = len(outputs)
            term.owned = False
            for tensor in outputs:
                item = _item_term(term, tensor, symbolic)
                terms.append(item)
                term_of[id(tensor)] = item
        else:
            for tensor in outputs:
                term_of[id(tensor)] = term
    return terms, term_of


def _item_term(call: Term, tensor: Tensor, symbolic: bool) -> Term:
    """Output ``tensor.value_index`` of a multi-output call."""
    item = Term(call.node, ITEM, (call,))
    item.index = tensor.value_index
    item.dtype = None if tensor.dtype is None else tensor.dtype.np
    if symbolic:
        item.sym = from_static(tensor.shape)
    item.pure, item.numeric = call.pure, call.numeric
    item.external, item.state = call.external, call.state
    item.owned = call.node.alias_inputs == () and is_array(item)
    return item


def _call_term(node: Node, args: tuple[Term, ...], context: Any) -> Term:
    stateful = hasattr(node, "bind")
    if binds_by_outputs(node):
        fn = None  # bound once the plan knows which outputs it reads (``bind_outputs``)
    else:
        fn = node.bind(context) if stateful else node.kernel()
    if is_user_op(node):
        fn = checked_user_kernel(node, fn)
    term = Term(node, CALL, args, fn)
    term.pure = node.pure and not stateful and not node.is_update and not node.control_inputs
    term.numeric = node.numeric and not node.is_update
    fresh = node.alias_inputs == ()
    term.owned = fresh
    if not node.pure:
        term.external = term.state = True
    elif not fresh:
        sources = aliased_inputs(term)
        term.external = any(a.external for a in sources)
        term.state = any(a.state for a in sources)
    return term


def binds_by_outputs(node: Node) -> bool:
    """An op whose kernel computes only the outputs a plan reads (``bind_outputs``)."""
    return hasattr(node, "bind_outputs") and not is_user_op(node)


def is_user_op(node: Node) -> bool:
    """An op whose results a run checks (``check_results``), unless it vouches for them."""
    return node.check_results and not node.numeric and not node.is_update


def checked_user_kernel(node: Node, fn: Any) -> Any:
    """``fn`` with its result checked against what ``node`` declared (see ``check_user_value``)."""

    def kernel(*values: Any) -> Any:
        return check_user_value(node, fn(*values))

    return kernel
