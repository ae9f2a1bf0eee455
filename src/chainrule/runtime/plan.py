"""Execution plans: a (fetches, feeds) pair compiled once into one generated Python function.

The plan keeps only what the fetches need, in topological order with every write after the
computations that do not depend on it (``schedule``); the rewrites of the ``passes`` package
simplify it; then it is written out as straight-line Python: feed checks, one line per kernel
call (``a + b`` for arithmetic on NumPy values, ``k(a, b, out=a)`` where a buffer is reused),
the checks and journal entries that keep a failed run from changing anything, ``del`` of each
intermediate after its last use, and the fetched results.
A kernel's error is reported for the node of the failing line. Plans of more than
``COMPILE_LIMIT`` steps run in a loop over a list of steps instead (compiling them would
cost more than it saves).
"""

from __future__ import annotations

import gc
import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import ChainruleError, InvalidArgumentError, ShapeError
from ..graph import Node, Tensor, as_operation, topological_order
from ..ops.base import Placeholder, check_feed_value
from ..ops.shapes import fmt
from ..ops.state_ops import Variable, VariableOp
from . import passes
from .passes import CALL, CONST, FEED, ITEM, Term, aliased_inputs
from .schedule import WriteGuards, after_writes, guard_writes, writes_last

_plan_ids = itertools.count()

#: plans with more steps than this run in a loop over their steps instead of being compiled to
#: Python: CPython's compiler costs ~15 µs a line, more than such plans save over their runs
COMPILE_LIMIT = 20_000


class Plan:
    """A compiled run of ``fetches`` given values for ``feeds`` within one session.

    ``context`` is what kernels are bound with (the session's store, sub-graph compilation).
    ``optimize`` applies the rewrites; ``stats`` says what they did, ``program`` lists the
    steps and ``source`` is the generated function (handy to see what a run does; empty when
    the plan is ``interpreted``). A run that raises changes nothing (``schedule``).
    ``shared_feeds`` makes a plan whose results go to a kernel rather than to a user (a loop's
    body): see ``result_kinds``.
    """

    def __init__(
        self,
        context: Any,
        fetches: Sequence[Tensor | Node],
        feeds: Sequence[Tensor],
        check_numerics: bool = False,
        optimize: bool = True,
        shared_feeds: frozenset[int] | None = None,
    ):
        self.fetches = list(fetches)
        self.feeds = list(feeds)
        self.shared_feeds = shared_feeds
        self._store = context.store
        collecting = gc.isenabled()
        gc.disable()  # compiling makes many objects and no cycles: keep the collector out
        try:
            self._compile(context, check_numerics, optimize)
        finally:
            if collecting:
                gc.enable()

    def _compile(self, context: Any, check_numerics: bool, optimize: bool) -> None:
        fed = {_fed_op(t) for t in self.feeds}
        fetch_ops = [as_operation(f) for f in self.fetches]
        order = topological_order(fetch_ops, include_control=True, stop_at=fed)
        _check_all_fed(order, fed, fetch_ops)
        self.order = writes_last(order, fed)
        self.variables = _variables_to_initialize(self.order, fed)
        self.ready = not self.variables
        #: fetches that give ``None``: operations (run for their effects), not tensors
        self.is_update = [isinstance(f, Node) for f in self.fetches]
        terms, term_of = passes.lower(self.order, self.feeds, context, symbolic=optimize)
        fetch_terms = [term_of[id(f)] for f in self.fetches]
        if optimize:
            controls = [
                term_of[id(c)] for n in self.order for c in n.control_inputs if id(c) in term_of
            ]
            program, stats = passes.optimize(
                terms, fetch_terms, controls, context.store, fold=not check_numerics
            )
            fetch_terms = [t.resolved() for t in fetch_terms]
        else:
            program = [t for t in terms if t.kind == CALL or t.kind == ITEM]
            stats = passes.Stats()
            passes.number(program)
        _bind_by_outputs(program, fetch_terms, context)
        self.program = program
        self.stats = stats.as_dict()
        guards = guard_writes(program, context, after_writes(self.order))
        self.journaled = guards.journaled
        self.filename = f"<chainrule plan {next(_plan_ids)}>"
        self.interpreted = len(program) > COMPILE_LIMIT
        results = result_kinds(fetch_terms, self.is_update, self.shared_feeds)
        if self.interpreted:
            runner = _Interpreter(
                program, guards, fetch_terms, results, self.feeds, self._store, check_numerics
            )
            self.source, self.function = "", runner.run
            self._interpreter: _Interpreter | None = runner
            self.line_nodes: dict[int, Node] = {}
        else:
            writer = _Writer(self.filename, self._store, check_numerics)
            self.source, self.function, self.line_nodes = writer.write(
                program, guards, fetch_terms, results, self.feeds
            )
            self._interpreter = None
        self._run = _IGNORE_FP_ERRORS(self.function)

    def __call__(self, feed_values: Sequence[Any]) -> list[Any]:
        """The fetched values; if the run raises, what it changed is put back first."""
        store = self._store
        journal = store.begin() if self.journaled else None
        try:
            outputs = self._run(*feed_values)
        except BaseException as err:
            if journal is not None:
                store.rollback(journal)
            located = self._located(err)
            if located is None:
                raise
            raise located from (None if isinstance(err, ChainruleError) else err)
        if journal is not None:
            store.commit(journal)
        return outputs

    def _located(self, err: BaseException) -> BaseException | None:
        """``err`` reissued naming the node whose step failed (``None``: raise it as it is)."""
        if not isinstance(err, Exception) or getattr(err, "node", None) is not None:
            return None
        node = self._failing_node(err.__traceback__)
        if node is None:
            return None
        if isinstance(err, ChainruleError):
            return type(err)(err.message, node)
        shapes = _BROADCAST_FAILURE.search(str(err)) if isinstance(err, ValueError) else None
        if shapes is not None:  # worded as the same mistake is when the graph is built
            found = " and ".join(
                fmt(tuple(int(d) for d in re.findall(r"\d+", shape)))
                for shape in re.findall(r"\([^)]*\)", shapes.group(1))
            )
            return ShapeError(f"shapes {found} cannot be broadcast together", node)
        return InvalidArgumentError(f"{type(err).__name__}: {err}", node)

    def _failing_node(self, tb: Any) -> Node | None:
        if self._interpreter is not None:
            return self._interpreter.failed_at
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.filename:
                return self.line_nodes.get(tb.tb_lineno)
            tb = tb.tb_next
        return None


#: NumPy's words for values whose shapes do not broadcast (shapes known only at run time)
_BROADCAST_FAILURE = re.compile(
    r"operands could not be broadcast together with shapes ((?:\([^)]*\) ?)+)"
)

#: a plan's kernels run with NumPy's floating-point errors ignored (as NumPy code usually
#: does); the decorator form of ``np.errstate`` sets this cheaply on every call
_IGNORE_FP_ERRORS = np.errstate(all="ignore")


def _bind_by_outputs(program: list[Term], fetch_terms: Sequence[Term], context: Any) -> None:
    """Bind the ops whose kernel computes only the outputs a plan reads (``bind_outputs``),
    now that the plan's steps are known: outputs no step reads nor the run fetches may come
    back as ``None``."""
    read = {id(t) for t in fetch_terms}
    for term in program:
        read.update(id(a) for a in term.args)
    used: dict[int, set[int]] = {}
    for term in program:
        if term.kind == ITEM and id(term) in read:
            used.setdefault(id(term.args[0]), set()).add(term.index)
    for term in program:
        if term.kind == CALL and passes.binds_by_outputs(term.node):
            read_here = used.get(id(term), set())
            marks = tuple(i in read_here for i in range(term.outputs)) if term.outputs else (True,)
            term.fn = term.node.bind_outputs(context, marks)


def _check_all_fed(order: list[Node], fed: set[Node], fetches: Sequence[Node]) -> None:
    for node in order:
        if isinstance(node, Placeholder) and node not in fed:
            target = next(
                (f for f in fetches if node in topological_order([f], True, stop_at=fed)),
                fetches[0],
            )
            raise InvalidArgumentError(
                f"placeholder '{node.name}' ({node.source}) needs a value to compute "
                f"'{target.name}'; pass it in feed_dict",
                node,
            )


def _fed_op(tensor: Tensor) -> Node:
    """The operation whose value a fed tensor replaces (its only output)."""
    op = tensor.op
    if len(op.outputs) != 1:
        raise InvalidArgumentError(
            f"cannot feed '{tensor.name}': feeding one output of an operation with "
            f"{len(op.outputs)} outputs is not supported",
            op,
        )
    return op


def _variables_to_initialize(order: list[Node], fed: set[Node]) -> list[Variable]:
    found: dict[Any, None] = {}
    for node in order:
        if isinstance(node, VariableOp) and node not in fed:
            found[node.variable] = None
        for ref in getattr(node, "refs", ()):
            found[ref] = None
    return list(found)  # type: ignore[arg-type]


def result_value(value: Any, copy: bool) -> Any:
    """A fetched value as returned to the user: scalars for rank 0, arrays (copied if shared);
    bytes (a summary) unchanged, since NumPy's bytes scalar would drop trailing zero bytes."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return value[()]
        return value.copy() if copy else value
    if isinstance(value, np.generic) or value is None:
        return value
    array = np.asarray(value)
    return array[()] if array.ndim == 0 else array


def _copied_result(value: Any) -> Any:
    return result_value(value, True)


def _plain_result(value: Any) -> Any:
    return result_value(value, False)


#: how a fetched value is returned: ``None`` (an update), a copy (it may share memory with
#: state, constants, feeds or another result), as it is (a fresh array only the plan held), or
#: converted without a copy (scalars, arrays of unknown origin)
NOTHING, COPY, OWNED, PLAIN = "nothing", "copy", "owned", "plain"


def result_kinds(
    fetch_terms: Sequence[Term],
    nothing: Sequence[bool],
    shared_feeds: frozenset[int] | None = None,
) -> list[str]:
    """How each fetched value is returned (``nothing``: an operation, fetched for its effect):
    the one rule both backends follow.

    With ``shared_feeds`` (positions of feeds), the values go to the kernel that runs the plan,
    which writes into none of them: only values that may share memory with state (which
    writes change in place), with the plan's constants or with a feed not listed are copied;
    numeric values are returned as they are, the same value twice included.
    """
    if shared_feeds is not None:
        return [
            _kernel_result_kind(t, no_value, shared_feeds)
            for t, no_value in zip(fetch_terms, nothing, strict=True)
        ]
    kinds: list[str] = []
    returned: set[int] = set()
    for term, no_value in zip(fetch_terms, nothing, strict=True):
        if no_value:
            kinds.append(NOTHING)
            continue
        again = id(term) in returned
        returned.add(id(term))
        if term.external or again:
            kinds.append(COPY)
        else:
            kinds.append(OWNED if term.owned else PLAIN)
    return kinds


def _kernel_result_kind(term: Term, no_value: bool, shared_feeds: frozenset[int]) -> str:
    """How a plan whose results go to a kernel returns ``term`` (see ``result_kinds``)."""
    if no_value:
        return NOTHING
    if term.state or _may_share_unlisted(term, shared_feeds):
        return COPY
    return OWNED if term.numeric else PLAIN


def _may_share_unlisted(term: Term, shared_feeds: frozenset[int]) -> bool:
    """Whether ``term``'s value may share memory with a constant or a feed not listed."""
    if not term.external:
        return False
    if term.kind == CONST:
        return isinstance(term.value, np.ndarray)
    if term.kind == FEED:
        return term.index not in shared_feeds
    if term.owned:
        return False
    inputs = aliased_inputs(term) if term.kind == CALL else term.args
    return any(_may_share_unlisted(a, shared_feeds) for a in inputs)


def _detached(value: Any) -> Any:
    """A copy of an array that a write is about to change (other values are immutable)."""
    return value.copy() if isinstance(value, np.ndarray) else value


#: ufuncs written as Python operators: the same NumPy call for arrays, and the scalar fast path
#: for NumPy scalars (a chain of scalar ops runs several times faster)
_OPERATORS: dict[Any, str] = {
    np.add: "+",
    np.subtract: "-",
    np.multiply: "*",
    np.true_divide: "/",
    np.floor_divide: "//",
    np.remainder: "%",
    np.power: "**",
    np.less: "<",
    np.less_equal: "<=",
    np.greater: ">",
    np.greater_equal: ">=",
}


def _is_weak(term: Term) -> bool:
    return term.kind == CONST and isinstance(term.value, bool | int | float)


class _Writer:
    """Writes a plan's terms as one Python function and compiles it."""

    def __init__(self, filename: str, store: Any, check_numerics: bool):
        self.filename = filename
        self.check_numerics = check_numerics
        self.namespace: dict[str, Any] = {
            "CHK": check_feed_value,
            "ND": np.ndarray,
            "CP": _copied_result,
            "RS": _plain_result,
            "KEEP": store.keep,
            "DETACH": _detached,
            "check": _check_finite,
        }
        self.names: dict[int, str] = {}  # constants' names, by term id
        self.kernels: dict[int, str] = {}
        self.lines: list[str] = []
        self.line_nodes: dict[int, Node] = {}

    def write(
        self,
        program: list[Term],
        guards: WriteGuards,
        fetch_terms: list[Term],
        results: list[str],
        feeds: list[Node],
    ) -> tuple[str, Callable[..., list[Any]], dict[int, Node]]:
        self.lines.append(f"def plan({', '.join(f'f{i}' for i in range(len(feeds)))}):")
        for i, node in enumerate(feeds):
            self._feed_check(i, node)
        dying = _dying_after(program, fetch_terms)
        items = _items_of(program)
        for pos, term in enumerate(program):
            if term.kind == CALL:
                self._guards(pos, term, program, guards)
                self._call(term, items.get(pos), guards.detached_args.get(pos, ()))
            gone = dying.get(pos)
            if gone:
                self.lines.append(f"    del {', '.join(f'v{t.pos}' for t in gone)}")
        self.lines.append(f"    return [{self._results(fetch_terms, results)}]")
        source = "\n".join(self.lines) + "\n"
        code = compile(source, self.filename, "exec")
        exec(code, self.namespace)
        return source, self.namespace["plan"], self.line_nodes

    # -- pieces -----------------------------------------------------------------------------
    def _emit(self, line: str, node: Node) -> None:
        self.lines.append(line)
        self.line_nodes[len(self.lines)] = node

    def _feed_check(self, i: int, node: Node) -> None:
        """Fast acceptance of arrays of the right dtype and shape (and of NumPy scalars of the
        right type for scalars: a loop's counter); anything else is converted."""
        name = f"f{i}"
        self.namespace[f"nf{i}"] = node
        convert = f"{name} = CHK(nf{i}, {name})"
        if node.dtype is None or node.shape is None:
            self._emit(f"    {convert}", node)
            return
        self.namespace[f"dt{i}"] = node.dtype.np
        tests = [f"{name}.__class__ is not ND", f"{name}.dtype is not dt{i}"]
        if all(d is not None for d in node.shape):
            self.namespace[f"sh{i}"] = tuple(node.shape)
            tests.append(f"{name}.shape != sh{i}")
        else:
            tests.append(f"len({name}.shape) != {len(node.shape)}")
            tests += [
                f"{name}.shape[{a}] != {d}" for a, d in enumerate(node.shape) if d is not None
            ]
        refused = " or ".join(tests)
        if node.shape == ():
            self.namespace[f"st{i}"] = node.dtype.np.type
            refused = f"{name}.__class__ is not st{i} and ({refused})"
        self._emit(f"    if {refused}:", node)
        self._emit(f"        {convert}", node)

    def _guards(self, pos: int, term: Term, program: list[Term], guards: WriteGuards) -> None:
        """Before a write: copies of shared values, the checks of every validated write, and
        the journal entry of this write."""
        detached, checks, keep = guards.before(pos)
        for value in detached:
            self._emit(f"    d{value.pos} = DETACH(v{value.pos})", term.node)
        for at, checker in checks:
            write = program[at]
            self.namespace[f"x{at}"] = checker
            args = self._args(write, guards.detached_args.get(at, ()))
            self._emit(f"    x{at}({', '.join(args)})", write.node)
        if keep:
            self.namespace[f"w{pos}"] = keep
            self._emit(f"    KEEP(w{pos})", term.node)

    def _ref(self, term: Term, as_operand: bool = False) -> str:
        """The expression naming ``term``'s value inside the generated function."""
        if term.kind == FEED:
            return f"f{term.index}"
        if term.kind == CONST:
            key = id(term)
            name = self.names.get(key)
            if name is None:
                name = f"c{len(self.names)}"
                self.names[key] = name
                self.namespace[name] = term.value
                value = term.value
                if isinstance(value, np.ndarray) and value.ndim == 0:
                    self.namespace["s" + name] = value[()]
            return "s" + name if as_operand and ("s" + name) in self.namespace else name
        return f"v{term.pos}"

    def _args(self, term: Term, detached: Any) -> list[str]:
        """The arguments of ``term``'s call; those in ``detached`` (ids) read their copies."""
        return [f"d{a.pos}" if id(a) in detached else self._ref(a) for a in term.args]

    def _kernel(self, fn: Any) -> str:
        name = self.kernels.get(id(fn))
        if name is None:
            name = f"k{len(self.kernels)}"
            self.kernels[id(fn)] = name
            self.namespace[name] = fn
        return name

    def _call(self, term: Term, items: list[Term | None] | None, detached: Any) -> None:
        target = f"v{term.pos}"
        if term.outputs:
            outs = items or [None] * term.outputs
            target = "".join(f"v{t.pos}, " if t is not None else "_, " for t in outs)
            if items is None:
                target = "_"  # run for its effect only (the operation is fetched)
        line = f"    {target} = {self._expression(term, detached)}"
        self._emit(line, term.node)
        if self.check_numerics and not term.node.is_update and not term.node.writes():
            values = [term] if not term.outputs else [t for t in items or [] if t is not None]
            self.namespace[f"n{term.pos}"] = term.node
            for value in values:
                self._emit(f"    check(v{value.pos}, n{term.pos})", term.node)

    def _expression(self, term: Term, detached: Any) -> str:
        fn, args = term.fn, term.args
        operator = _OPERATORS.get(fn) if isinstance(fn, np.ufunc) else None
        if (
            operator is not None
            and term.inplace < 0
            and len(args) == 2
            and all(a.numeric for a in args)
            and not all(_is_weak(a) for a in args)
            and not detached
        ):
            return f"{self._ref(args[0], True)} {operator} {self._ref(args[1], True)}"
        refs = self._args(term, detached)
        if term.inplace >= 0 and isinstance(fn, np.ufunc):
            refs.append(f"out={refs[term.inplace]}")
        return f"{self._kernel(fn)}({', '.join(refs)})"

    def _results(self, fetch_terms: list[Term], results: list[str]) -> str:
        parts = []
        for term, kind in zip(fetch_terms, results, strict=True):
            name = self._ref(term)
            if kind == NOTHING:
                parts.append("None")
            elif kind == COPY:
                parts.append(f"CP({name})")
            elif kind == OWNED:
                parts.append(name)
            else:
                parts.append(f"RS({name})")
        return ", ".join(parts)


def _items_of(program: list[Term]) -> dict[int, list[Term | None]]:
    """For each multi-output call (by position), its output terms by index (``None`` if unused)."""
    items: dict[int, list[Term | None]] = {}
    for term in program:
        if term.kind == ITEM:
            source = term.args[0]
            slots = items.setdefault(source.pos, [None] * source.outputs)
            slots[term.index] = term
    return items


def _last_reads(program: list[Term]) -> list[int]:
    """For each step, the position of the last step that reads its value (itself if none)."""
    last = list(range(len(program)))
    for pos, term in enumerate(program):
        if term.kind == ITEM:
            continue
        for arg in term.args:
            if arg.kind == CALL or arg.kind == ITEM:
                last[arg.pos] = pos
    return last


def _dying_after(program: list[Term], fetch_terms: list[Term]) -> dict[int, list[Term]]:
    """Position -> the intermediates whose last reader is there (freed right after it).

    Scalars and arrays known to be tiny are left to the end of the run: freeing them early
    saves less than the ``del`` costs.
    """
    kept = {id(t) for t in fetch_terms}
    last = _last_reads(program)
    dying: dict[int, list[Term]] = {}
    for term in program:
        if id(term) in kept or term.outputs or term.node.is_update:
            continue
        if passes.is_small(term):
            continue
        dying.setdefault(last[term.pos], []).append(term)
    return dying


class _Interpreter:
    """Runs a plan step by step from a list: for plans too large to compile quickly.

    A step is ``(kernel, argument sources, output registers, out= argument, registers freed
    after it, node, check numerics)``; the guards of the writes are steps too.
    """

    def __init__(
        self,
        program: list[Term],
        guards: WriteGuards,
        fetch_terms: list[Term],
        results: list[str],
        feeds: list[Node],
        store: Any,
        check_numerics: bool,
    ):
        self.failed_at: Node | None = None
        self.feeds = list(feeds)
        self.size = len(program) + len(guards.detached)
        self.copies = {id(t): len(program) + k for k, t in enumerate(guards.detached)}
        dying = _dying_after(program, fetch_terms)
        items = _items_of(program)
        self.steps: list[tuple[Any, ...]] = []
        for pos, term in enumerate(program):
            if term.kind != CALL:
                continue
            self._add_guards(pos, term, program, guards, store)
            args = self._args(term, guards.detached_args.get(pos, ()))
            outs: int | tuple[int, ...] = (
                pos
                if not term.outputs
                else tuple(
                    -1 if t is None else t.pos for t in items.get(pos, [None] * term.outputs)
                )
            )
            free = tuple(t.pos for t in dying.get(pos, ()))
            out_arg = term.inplace if term.inplace >= 0 and isinstance(term.fn, np.ufunc) else -1
            check = check_numerics and not term.node.is_update and not term.node.writes()
            self.steps.append((term.fn, args, outs, out_arg, free, term.node, check))
        self.results = [
            (None, None) if kind == NOTHING else (self._source(term), _CONVERTERS[kind])
            for term, kind in zip(fetch_terms, results, strict=True)
        ]

    def _add_guards(
        self, pos: int, term: Term, program: list[Term], guards: WriteGuards, store: Any
    ) -> None:
        detached, checks, keep = guards.before(pos)
        for value in detached:
            copy = (self.copies[id(value)],)
            self.steps.append((_detached, (self._source(value),), copy, -1, (), term.node, False))
        for at, checker in checks:
            write = program[at]
            args = self._args(write, guards.detached_args.get(at, ()))
            self.steps.append((checker, args, (), -1, (), write.node, False))
        if keep:
            self.steps.append((store.keep, ((False, keep),), (), -1, (), term.node, False))

    def _args(self, term: Term, detached: Any) -> tuple[tuple[bool, Any], ...]:
        return tuple(
            (True, self.copies[id(a)]) if id(a) in detached else self._source(a) for a in term.args
        )

    def _source(self, term: Term) -> tuple[bool, Any]:
        """(True, register) for computed values, (False, value) for constants; feeds by index."""
        if term.kind == CONST:
            return (False, term.value)
        if term.kind == FEED:
            return (True, -1 - term.index)
        return (True, term.pos)

    def run(self, *feed_values: Any) -> list[Any]:
        feeds = [check_feed_value(n, v) for n, v in zip(self.feeds, feed_values, strict=True)]
        regs: list[Any] = [None] * self.size

        def value(source: tuple[bool, Any]) -> Any:
            computed, where = source
            if not computed:
                return where
            return feeds[-1 - where] if where < 0 else regs[where]

        for fn, args, outs, out_arg, free, node, check in self.steps:
            try:
                inputs = [value(a) for a in args]
                result = fn(*inputs, out=inputs[out_arg]) if out_arg >= 0 else fn(*inputs)
                if isinstance(outs, int):
                    regs[outs] = result
                    if check:
                        _check_finite(result, node)
                elif outs:
                    for at, part in zip(outs, result, strict=True):
                        if at >= 0:
                            regs[at] = part
                            if check:
                                _check_finite(part, node)
            except BaseException:
                self.failed_at = node
                raise
            for at in free:
                regs[at] = None
        self.failed_at = None
        return [
            None if source is None else convert(value(source)) for source, convert in self.results
        ]


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    COPY: _copied_result,
    OWNED: _plain_result,
    PLAIN: _plain_result,
}


def _check_finite(value: Any, node: Node) -> None:
    array = np.asarray(value)
    if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
        bad = "NaN" if np.isnan(array).any() else "Inf"
        raise InvalidArgumentError(f"check_numerics: the value contains {bad}", node)
