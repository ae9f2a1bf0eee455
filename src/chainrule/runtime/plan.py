"""Execution plans: a (fetches, feeds) pair compiled once into one generated Python function.

The plan keeps only what the fetches need, in topological order; the rewrites of the
``rewrites`` package simplify it; then it is written out as straight-line Python: feed checks, one
line per kernel call (``a + b`` for arithmetic on NumPy values, ``k(a, b, out=a)`` where a
buffer is reused), ``del`` of each intermediate after its last use, and the fetched results.
A kernel's error is reported for the node of the failing line. Plans of more than
``COMPILE_LIMIT`` steps run in a loop over a list of steps instead (compiling them would
cost more than it saves).
"""

from __future__ import annotations

import gc
import itertools
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import ChainruleError, InvalidArgumentError
from ..graph import Node, topological_order
from ..ops.base import Placeholder, check_feed_value
from ..ops.state_ops import Variable
from . import passes
from .passes import CALL, CONST, FEED, ITEM, Term

_plan_ids = itertools.count()

#: plans with more steps than this run in a loop over their steps instead of being compiled to
#: Python: CPython's compiler costs ~15 µs a line, more than such plans save over their runs
COMPILE_LIMIT = 20_000

try:  # NumPy >= 2: floating-point error state is a context variable, cheap to set per run
    from numpy._core._multiarray_umath import _extobj_contextvar, _make_extobj

    _IGNORE_FP: Any = _make_extobj(all="ignore")
    _set_fp: Callable[[Any], Any] = _extobj_contextvar.set
    _reset_fp: Callable[[Any], None] = _extobj_contextvar.reset

except (ImportError, TypeError):  # pragma: no cover - older NumPy
    _IGNORE_FP = {"all": "ignore"}

    def _set_fp(settings: Any) -> Any:
        state = np.errstate(**settings)
        state.__enter__()
        return state

    def _reset_fp(token: Any) -> None:
        token.__exit__(None, None, None)


class Plan:
    """A compiled run of ``fetches`` given values for ``feeds`` within one session.

    ``optimize`` applies the rewrites; ``stats`` says what they did, ``program`` lists the
    steps and ``source`` is the generated function (handy to see what a run does; empty when
    the plan is ``interpreted``).
    """

    def __init__(
        self,
        store: Any,
        fetches: Sequence[Node],
        feeds: Sequence[Node],
        check_numerics: bool = False,
        optimize: bool = True,
    ):
        self.fetches = list(fetches)
        self.feeds = list(feeds)
        collecting = gc.isenabled()
        gc.disable()  # compiling makes many objects and no cycles: keep the collector out
        try:
            self._compile(store, check_numerics, optimize)
        finally:
            if collecting:
                gc.enable()

    def _compile(self, store: Any, check_numerics: bool, optimize: bool) -> None:
        fed = set(self.feeds)
        self.order = topological_order(self.fetches, include_control=True, stop_at=fed)
        _check_all_fed(self.order, fed, self.fetches)
        self.variables = _variables_to_initialize(self.order, fed)
        self.ready = not self.variables
        self.is_update = [f.is_update for f in self.fetches]
        terms, term_of = passes.lower(self.order, self.feeds, store, symbolic=optimize)
        fetch_terms = [term_of[id(f)] for f in self.fetches]
        if optimize:
            controls = [
                term_of[id(c)] for n in self.order for c in n.control_inputs if id(c) in term_of
            ]
            program, stats = passes.optimize(
                terms, fetch_terms, controls, store, fold=not check_numerics
            )
            fetch_terms = [t.resolved() for t in fetch_terms]
        else:
            program, stats = [t for t in terms if t.kind == CALL], passes.Stats()
            passes.number(program)
        self.program = program
        self.stats = stats.as_dict()
        self.filename = f"<chainrule plan {next(_plan_ids)}>"
        self.interpreted = len(program) > COMPILE_LIMIT
        if self.interpreted:
            runner = _Interpreter(program, fetch_terms, self.fetches, self.feeds, check_numerics)
            self.source, self.function = "", runner.run
            self._interpreter: _Interpreter | None = runner
            self.line_nodes: dict[int, Node] = {}
        else:
            writer = _Writer(self.filename, check_numerics)
            self.source, self.function, self.line_nodes = writer.write(
                program, fetch_terms, self.fetches, self.feeds
            )
            self._interpreter = None

    def __call__(self, feed_values: Sequence[Any]) -> list[Any]:
        token = _set_fp(_IGNORE_FP)
        try:
            return self.function(*feed_values)
        except ChainruleError as err:
            if err.node is None:
                node = self._failing_node(sys.exc_info()[2])
                if node is not None:
                    raise type(err)(err.message, node) from None
            raise
        except Exception as err:  # a kernel failed: say which node, op type and source line
            node = self._failing_node(sys.exc_info()[2])
            if node is None:
                raise
            raise InvalidArgumentError(f"{type(err).__name__}: {err}", node) from err
        finally:
            _reset_fp(token)

    def _failing_node(self, tb: Any) -> Node | None:
        if self._interpreter is not None:
            return self._interpreter.failed_at
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.filename:
                return self.line_nodes.get(tb.tb_lineno)
            tb = tb.tb_next
        return None


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


def _variables_to_initialize(order: list[Node], fed: set[Node]) -> list[Variable]:
    found: dict[Node, None] = {}
    for node in order:
        if isinstance(node, Variable) and node not in fed:
            found[node] = None
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

    def __init__(self, filename: str, check_numerics: bool):
        self.filename = filename
        self.check_numerics = check_numerics
        self.namespace: dict[str, Any] = {
            "CHK": check_feed_value,
            "ND": np.ndarray,
            "CP": _copied_result,
            "RS": _plain_result,
            "check": _check_finite,
        }
        self.names: dict[int, str] = {}  # constants' names, by term id
        self.kernels: dict[int, str] = {}
        self.lines: list[str] = []
        self.line_nodes: dict[int, Node] = {}

    def write(
        self,
        program: list[Term],
        fetch_terms: list[Term],
        fetch_nodes: list[Node],
        feeds: list[Node],
    ) -> tuple[str, Callable[..., list[Any]], dict[int, Node]]:
        self.lines.append(f"def plan({', '.join(f'f{i}' for i in range(len(feeds)))}):")
        for i, node in enumerate(feeds):
            self._feed_check(i, node)
        dying = _dying_after(program, fetch_terms)
        items = _items_of(program)
        for pos, term in enumerate(program):
            if term.kind == CALL:
                self._call(term, items.get(pos))
            gone = dying.get(pos)
            if gone:
                self.lines.append(f"    del {', '.join(f'v{t.pos}' for t in gone)}")
        self.lines.append(f"    return [{self._results(fetch_terms, fetch_nodes)}]")
        source = "\n".join(self.lines) + "\n"
        code = compile(source, self.filename, "exec")
        exec(code, self.namespace)
        return source, self.namespace["plan"], self.line_nodes

    # -- pieces -----------------------------------------------------------------------------
    def _emit(self, line: str, node: Node) -> None:
        self.lines.append(line)
        self.line_nodes[len(self.lines)] = node

    def _feed_check(self, i: int, node: Node) -> None:
        """Fast acceptance of arrays of the right dtype and shape; anything else is converted."""
        name = f"f{i}"
        self.namespace[f"nf{i}"] = node
        full = f"        {name} = CHK(nf{i}, {name})"
        if node.dtype is None or node.shape is None:
            self._emit(full.replace("        ", "    ", 1), node)
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
        self._emit(f"    if {' or '.join(tests)}:", node)
        self._emit(full, node)

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

    def _kernel(self, fn: Any) -> str:
        name = self.kernels.get(id(fn))
        if name is None:
            name = f"k{len(self.kernels)}"
            self.kernels[id(fn)] = name
            self.namespace[name] = fn
        return name

    def _call(self, term: Term, items: list[Term | None] | None) -> None:
        target = f"v{term.pos}"
        if term.outputs > 1:
            outs = items or []
            target = ", ".join(f"v{t.pos}" if t is not None else "_" for t in outs)
        line = f"    {target} = {self._expression(term)}"
        self._emit(line, term.node)
        if self.check_numerics and not term.node.is_update:
            values = [term] if term.outputs == 1 else [t for t in items or [] if t is not None]
            self.namespace[f"n{term.pos}"] = term.node
            for value in values:
                self._emit(f"    check(v{value.pos}, n{term.pos})", term.node)

    def _expression(self, term: Term) -> str:
        fn, args = term.fn, term.args
        operator = _OPERATORS.get(fn) if isinstance(fn, np.ufunc) else None
        if (
            operator is not None
            and term.inplace < 0
            and len(args) == 2
            and all(a.numeric for a in args)
            and not all(_is_weak(a) for a in args)
        ):
            return f"{self._ref(args[0], True)} {operator} {self._ref(args[1], True)}"
        refs = [self._ref(a) for a in args]
        if term.inplace >= 0 and isinstance(fn, np.ufunc):
            refs.append(f"out={refs[term.inplace]}")
        return f"{self._kernel(fn)}({', '.join(refs)})"

    def _results(self, fetch_terms: list[Term], fetch_nodes: list[Node]) -> str:
        parts = []
        returned: set[int] = set()
        for term, node in zip(fetch_terms, fetch_nodes, strict=True):
            if node.is_update:
                parts.append("None")
                continue
            name = self._ref(term)
            again = id(term) in returned
            returned.add(id(term))
            if term.external or (again and not term.owned):
                parts.append(f"CP({name})")
            elif term.owned:
                parts.append(f"{name}.copy()" if again else name)
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
        if id(term) in kept or term.outputs > 1 or term.node.is_update:
            continue
        if passes.is_small(term):
            continue
        dying.setdefault(last[term.pos], []).append(term)
    return dying


class _Interpreter:
    """Runs a plan step by step from a list: for plans too large to compile quickly."""

    def __init__(
        self,
        program: list[Term],
        fetch_terms: list[Term],
        fetch_nodes: list[Node],
        feeds: list[Node],
        check_numerics: bool,
    ):
        self.failed_at: Node | None = None
        self.feeds = list(feeds)
        self.size = len(program)
        dying = _dying_after(program, fetch_terms)
        items = _items_of(program)
        self.steps: list[tuple[Any, ...]] = []
        for pos, term in enumerate(program):
            if term.kind != CALL:
                continue
            args = tuple(self._source(a) for a in term.args)
            outs = (
                (pos,)
                if term.outputs == 1
                else tuple(
                    -1 if t is None else t.pos for t in items.get(pos, [None] * term.outputs)
                )
            )
            free = tuple(t.pos for t in dying.get(pos, ()))
            out_arg = term.inplace if term.inplace >= 0 and isinstance(term.fn, np.ufunc) else -1
            check = check_numerics and not term.node.is_update
            self.steps.append((term.fn, args, outs, out_arg, free, term.node, check))
        returned: set[int] = set()
        self.results = []
        for term, node in zip(fetch_terms, fetch_nodes, strict=True):
            self.results.append(self._result(term, node, id(term) in returned))
            returned.add(id(term))

    def _source(self, term: Term) -> tuple[bool, Any]:
        """(True, register) for computed values, (False, value) for constants; feeds by index."""
        if term.kind == CONST:
            return (False, term.value)
        if term.kind == FEED:
            return (True, -1 - term.index)
        return (True, term.pos)

    def _result(self, term: Term, node: Node, again: bool) -> tuple[Any, Any]:
        if node.is_update:
            return (None, None)
        convert = _copied_result if term.external or again else _plain_result
        return (self._source(term), convert)

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
                if len(outs) == 1:
                    regs[outs[0]] = result
                    if check:
                        _check_finite(result, node)
                else:
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


def _check_finite(value: Any, node: Node) -> None:
    array = np.asarray(value)
    if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
        bad = "NaN" if np.isnan(array).any() else "Inf"
        raise InvalidArgumentError(f"check_numerics: the value contains {bad}", node)
