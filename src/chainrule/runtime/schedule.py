"""Runs that never half-apply: where a plan's writes go, and what protects them.

A *write* is a step whose op changes session state (``Node.writes``: variable updates, random
draws). The plan's order puts every write after every computation that does not depend on one
(``writes_last``). What a run still needs is then decided per plan (``guard_writes``):

- the trailing writes, after the last step that can fail, are *validated*: each op's
  ``write_check`` runs on its input values before the first of them changes anything;
- writes that come before something that can still fail (a random draw feeding the forward
  pass, an ``assign`` read later in the same run) are *journaled*: the store keeps a copy of
  what they change (``VariableStore.keep``) and the run puts it back if it raises;
- a write that reads a value which may share memory with a variable that an earlier write of
  the run changes (a gradient that is another variable's own array) reads a copy of it taken
  before the first write, unless it depends on that write (then it is meant to see it).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any

from ..graph import Node
from ..ops.state_ops import VariableOp
from .passes import CALL, ITEM, Term
from .passes.terms import aliased_inputs

__all__ = ["writes_last", "after_writes", "WriteGuards", "guard_writes"]


def writes_last(order: list[Node], fed: set[Node]) -> list[Node]:
    """``order`` (topological) rearranged so that every write comes after every computation that
    does not depend on it; writes whose values feed computations (random draws) go first."""
    writers = [bool(node.writes()) for node in order]
    if not any(writers):
        return order
    index = {id(node): i for i, node in enumerate(order)}
    users: list[list[int]] = [[] for _ in order]
    waiting = [0] * len(order)
    for i, node in enumerate(order):
        if node in fed:
            continue
        deps = {
            index[id(d)]
            for d in (*(t.op for t in node.inputs), *node.control_inputs)
            if id(d) in index
        }
        waiting[i] = len(deps)
        for d in deps:
            users[d].append(i)
    feeds_computation = [w and any(not writers[u] for u in users[i]) for i, w in enumerate(writers)]
    plain: list[int] = []
    writes: list[tuple[bool, int]] = []

    def ready(i: int) -> None:
        if writers[i]:
            heapq.heappush(writes, (not feeds_computation[i], i))
        else:
            heapq.heappush(plain, i)

    for i in range(len(order)):
        if waiting[i] == 0:
            ready(i)
    result: list[Node] = []
    while plain or writes:
        i = heapq.heappop(plain) if plain else heapq.heappop(writes)[1]
        result.append(order[i])
        for u in users[i]:
            waiting[u] -= 1
            if waiting[u] == 0:
                ready(u)
    return result


def after_writes(order: Sequence[Node]) -> set[int]:
    """The ids of the nodes of ``order`` that depend (by data or control) on a write."""
    found: set[int] = set()
    for node in order:
        for dep in (*(t.op for t in node.inputs), *node.control_inputs):
            if id(dep) in found or dep.writes():
                found.add(id(node))
                break
    return found


class WriteGuards:
    """What a plan does around its writes, by program position.

    ``keep[pos]``: the owners whose state the store keeps before the write at ``pos``;
    ``checks``: the validated writes' positions and check functions, run before
    ``checks_at``; ``detached``: the values copied before ``first_write``, and
    ``detached_args[pos]``: the ids of the arguments the write at ``pos`` reads as copies.
    """

    def __init__(self) -> None:
        self.keep: dict[int, tuple[Any, ...]] = {}
        self.checks: list[tuple[int, Any]] = []
        self.checks_at = -1
        self.first_write = -1
        self.detached: list[Term] = []
        self.detached_args: dict[int, set[int]] = {}

    @property
    def journaled(self) -> bool:
        """Whether a run keeps a journal (some write comes before a step that can fail)."""
        return bool(self.keep)

    def before(self, pos: int) -> tuple[list[Term], list[tuple[int, Any]], tuple[Any, ...]]:
        """What runs just before the step at ``pos``: copies, checks, owners to keep."""
        detached = self.detached if pos == self.first_write else []
        checks = self.checks if pos == self.checks_at else []
        return detached, checks, self.keep.get(pos, ())


def guard_writes(program: list[Term], context: Any, after_write: set[int]) -> WriteGuards:
    """Decide which writes of ``program`` are validated, journaled, or read copies."""
    guards = WriteGuards()
    written = [t.node.writes() if t.kind == CALL else () for t in program]
    positions = [pos for pos, owners in enumerate(written) if owners]
    if not positions:
        return guards
    checkers = {pos: program[pos].node.write_check(context) for pos in positions}
    boundary = _validated_from(program, written, checkers)
    guards.first_write = positions[0]
    for pos in positions:
        if pos < boundary:
            guards.keep[pos] = written[pos]
        else:
            guards.checks.append((pos, checkers[pos]))
    if guards.checks:
        guards.checks_at = boundary
    _detach_shared_values(program, written, positions, after_write, guards)
    return guards


def _validated_from(
    program: list[Term], written: list[tuple[Any, ...]], checkers: dict[int, Any]
) -> int:
    """The first position from which every step is a checked write or cannot fail, and every
    write reads only values computed before it."""
    boundary = 0
    for pos, term in enumerate(program):
        if term.kind != CALL:
            continue
        if written[pos] and checkers[pos] is None or not written[pos] and term.node.can_fail:
            boundary = pos + 1
    moved = True
    while moved:
        moved = False
        for pos in range(boundary, len(program)):
            if written[pos] and any(a.pos >= boundary for a in program[pos].args):
                boundary, moved = pos + 1, True
                break
    return boundary


#: the variables a value may share memory with are not known (any of them)
_ANY = None


def _detach_shared_values(
    program: list[Term],
    written: list[tuple[Any, ...]],
    positions: list[int],
    after_write: set[int],
    guards: WriteGuards,
) -> None:
    first = positions[0]
    changed: set[Any] = set(written[first])
    shared: dict[int, set[Any] | None] = {}
    detached: dict[int, Term] = {}
    for pos in positions[1:]:
        term = program[pos]
        if id(term.node) not in after_write:
            for arg in term.args:
                if not arg.state or not 0 <= arg.pos < first:
                    continue
                variables = _shared_variables(arg, shared)
                if variables is _ANY or variables & changed:
                    detached[id(arg)] = arg
                    guards.detached_args.setdefault(pos, set()).add(id(arg))
        changed.update(written[pos])
    guards.detached = list(detached.values())


def _shared_variables(term: Term, memo: dict[int, set[Any] | None]) -> set[Any] | None:
    """The variables whose memory ``term``'s value may share (``_ANY``: unknown)."""
    key = id(term)
    if key in memo:
        return memo[key]
    found: set[Any] | None
    if not term.state or term.kind not in (CALL, ITEM):
        found = set()
    elif isinstance(term.node, VariableOp):
        found = {term.node.variable}
    elif term.kind == CALL and not term.node.pure:
        found = _ANY
    else:
        found = set()
        sources = term.args[:1] if term.kind == ITEM else aliased_inputs(term)
        for source in sources:
            more = _shared_variables(source, memo)
            if more is _ANY:
                found = _ANY
                break
            found |= more
    memo[key] = found
    return found
