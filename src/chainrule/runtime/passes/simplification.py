"""Simplification: constant folding, no-op removal and common-subexpression merging.

One pass over the plan order, so that each term sees its inputs already simplified:

- a pure op whose inputs are all constants is evaluated once, at compile time;
- an op that declares it passes an input on here (``Node.passthrough``: ``x*1``, ``x+0``,
  identities, reshapes and broadcasts to the shape the value already has, reductions that
  reduce nothing...) is dropped;
- terms with the same op, attributes and (merged) inputs are merged, and small constants by
  value. Values read from variables merge only between the same two state changes.

``live_program`` then keeps the calls the fetches need, plus every update and impure call.
Random ops, variable reads and updates, fed nodes and nodes with control inputs are never
folded, merged or dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .terms import CALL, CONST, FEED, ITEM, Stats, Term

#: folded constants larger than this stay computed at run time (keeps plans small)
_FOLD_LIMIT_BYTES = 1 << 20
#: constants up to this size are merged by value
_MERGE_CONST_BYTES = 256


def simplify(terms: list[Term], stats: Stats, fold: bool = True) -> None:
    """Fold constants, drop no-ops and merge duplicates in one pass over the plan order.

    Values computed from variables are merged only between the same two state changes
    (``epoch``): a read after an update must not be replaced by a read before it.
    """
    seen: dict[Any, Term] = {}
    epoch = 0
    after_state: dict[int, int] = {}
    for term in terms:
        if term.kind == ITEM:
            term.args = (term.args[0].resolved(),)
            if term.pure:
                key = ("item", id(term.args[0]), term.index)
                first = seen.setdefault(key, term)
                if first is not term:
                    term.same = first
            continue
        if term.kind == CALL:
            term.args = tuple(a.resolved() for a in term.args)
            if not term.pure:
                if term.node.changes_state:
                    epoch += 1
                after_state[id(term)] = epoch
                continue
            if term.outputs:
                pass  # several values: neither folded nor passed through (merged below)
            elif fold and _fold(term):
                stats.folded += 1
            else:
                source = _noop_source(term)
                if source is not None:
                    term.same = source
                    stats.dropped += 1
                    continue
        if term.kind == FEED:
            continue
        key = _merge_key(term)
        if key is None:
            continue
        if any(id(a) in after_state for a in term.args):
            after_state[id(term)] = epoch
            key = (key, epoch)
        first = seen.get(key)
        if first is None:
            seen[key] = term
        else:
            term.same = first
            stats.merged += term.kind == CALL


def live_program(
    terms: list[Term], fetches: Sequence[Term], control_roots: Sequence[Term]
) -> list[Term]:
    """The calls the fetches need (by data), plus every impure or control-dependency call."""
    live: set[int] = set()
    stack = list(fetches) + [t.resolved() for t in control_roots]
    stack += [t for t in terms if t.kind == CALL and t.same is None and not t.node.pure]
    stack += [t for t in terms if t.kind == CALL and t.same is None and t.node.is_update]
    while stack:
        term = stack.pop()
        if id(term) in live:
            continue
        live.add(id(term))
        stack.extend(term.args)
    return [t for t in terms if t.kind in (CALL, ITEM) and t.same is None and id(t) in live]


def _fold(term: Term) -> bool:
    """Evaluate ``term`` now if it is a pure op of constants only."""
    if any(a.kind != CONST for a in term.args):
        return False
    try:
        with np.errstate(all="ignore"):
            value = term.fn(*(a.value for a in term.args))
    except Exception:  # the run will raise it, naming the node
        return False
    if isinstance(value, np.ndarray):
        if value.nbytes > _FOLD_LIMIT_BYTES:
            return False
        if value.flags.writeable:
            value.flags.writeable = False
    elif not isinstance(value, np.generic):
        return False
    term.kind, term.value, term.args, term.fn = CONST, value, (), None
    term.external, term.owned, term.numeric = True, False, True
    return True


# -- no-op nodes ----------------------------------------------------------------------------------
def _noop_source(term: Term) -> Term | None:
    """The input whose value ``term`` merely passes on, if its op says it is a no-op here."""
    position = term.node.passthrough(term.args, term)
    return None if position is None else term.args[position]


# -- merging --------------------------------------------------------------------------------------
_ATOMS = (type(None), bool, int, float, str, bytes)
_UNHASHABLE = object()


def _merge_key(term: Term) -> Any:
    """Equal keys mean equal values: same op, same attributes, same (merged) inputs.

    ``vars(node)`` holds exactly the op's own attributes (its structural fields are slots).
    """
    if term.kind == CONST:
        return _const_key(term.value)
    if term.kind != CALL or not term.pure:
        return None
    node = term.node
    attributes = []
    for name, value in vars(node).items():
        key = _hashable(value)
        if key is _UNHASHABLE:
            return None
        attributes.append((name, key))
    return (type(node), term.args, node.shape, node.dtype, tuple(attributes))


def _const_key(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.nbytes > _MERGE_CONST_BYTES:
            return None
        return ("const", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, np.generic):
        return ("const", value.dtype.str, (), value.tobytes())
    if isinstance(value, bool | int | float):
        return ("weak", type(value), value)
    return None


def _hashable(value: Any) -> Any:
    if type(value) in _ATOMS:
        return (type(value), value)
    if isinstance(value, list | tuple):
        items = tuple(_hashable(v) for v in value)
        return _UNHASHABLE if _UNHASHABLE in items else (type(value), items)
    if isinstance(value, slice):
        return ("slice", _hashable(value.start), _hashable(value.stop), _hashable(value.step))
    if isinstance(value, np.ndarray | np.generic):
        key = _const_key(value)
        return _UNHASHABLE if key is None else key
    if isinstance(value, dict):
        return _UNHASHABLE
    try:
        hash(value)
    except TypeError:
        return _UNHASHABLE
    return ("object", value) if type(value).__eq__ is not object.__eq__ else ("id", id(value))
