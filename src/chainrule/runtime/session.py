"""Sessions: run fetches with feeds, hold variable values, cache one compiled plan per request."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import ChainruleError, FailedPreconditionError, GraphError, InvalidArgumentError
from ..graph import (
    Graph,
    Node,
    Tensor,
    get_default_graph,
    get_default_session,
    pop_default_session,
    push_default_session,
)
from ..ops.state_ops import Variable
from . import passes
from .context import RunContext, SubgraphRun
from .plan import Plan
from .store import VariableStore

__all__ = ["Session", "InteractiveSession", "get_default_session"]


#: how deeply fetches may nest: well within Python's recursion limit, as the results are
#: rebuilt in the same shape
MAX_FETCH_DEPTH = 200


class _Fetches:
    """Flattens nested fetches (lists, tuples, dicts of tensors, operations and their names)
    and rebuilds the structure."""

    def __init__(self, graph: Graph, fetches: Any):
        self.graph = graph
        self.nodes: list[Tensor | Node] = []
        self.structure = self._flatten(fetches)
        self.flat = isinstance(self.structure, tuple) and all(
            isinstance(i, int) for i in self.structure[2]
        )

    def _flatten(self, item: Any, depth: int = 0) -> Any:
        if isinstance(item, Tensor | Node):
            self.nodes.append(item)
            return len(self.nodes) - 1
        if isinstance(item, str):  # "x:0" names a tensor, "x" an operation (as TF1)
            return self._flatten(self.graph.as_graph_element(item), depth)
        if isinstance(item, dict | list | tuple) and depth >= MAX_FETCH_DEPTH:
            raise InvalidArgumentError(
                f"the fetches are nested more than {MAX_FETCH_DEPTH} lists, tuples or dicts "
                "deep (does one contain itself?); fetch a flatter structure"
            )
        if isinstance(item, dict):
            return (dict, type(item), [(k, self._flatten(v, depth + 1)) for k, v in item.items()])
        if isinstance(item, list | tuple):
            kind = type(item)
            return (list, kind, [self._flatten(v, depth + 1) for v in item])
        raise InvalidArgumentError(
            f"cannot fetch {item!r} (a {type(item).__name__}); fetch tensors, operations, "
            "their names, or lists/tuples/dicts of them"
        )

    def rebuild(self, values: list[Any], structure: Any = None) -> Any:
        structure = self.structure if structure is None else structure
        if isinstance(structure, int):
            return values[structure]
        container, kind, items = structure
        if container is dict:
            return kind((k, self.rebuild(values, v)) for k, v in items)
        rebuilt = [self.rebuild(values, v) for v in items]
        if kind is list:
            return rebuilt
        if hasattr(kind, "_fields"):
            return kind(*rebuilt)
        return kind(rebuilt)


#: at most this many (fetches, feeds) shapes of ``run`` calls keep a ready-made runner
_MAX_RUNNERS = 512


class Session:
    """Runs parts of a graph. Variables live here: two sessions hold independent values.

    ``optimize`` (default: on, unless the environment sets ``CHAINRULE_REWRITES=0``) applies
    the plan rewrites of ``chainrule.runtime.passes``; results are the same either way.
    """

    def __init__(
        self,
        target: str = "",
        graph: Graph | None = None,
        config: Any = None,
        check_numerics: bool = False,
        optimize: bool | None = None,
    ):
        if isinstance(target, Graph):
            target, graph = "", target
        self.graph = graph or get_default_graph()
        self.check_numerics = check_numerics
        self.optimize = passes.enabled_by_default() if optimize is None else bool(optimize)
        self.store = VariableStore()
        self.context = RunContext(self.store, self._compile_subgraph)
        self._plans: dict[tuple, Plan] = {}
        self._runners: dict[Any, Callable[[Any], Any]] = {}
        self._lock = self.store.lock
        self._closed = False
        self._context_graph: Any = None

    # -- context management -------------------------------------------------------------------
    def __enter__(self) -> Session:
        push_default_session(self)
        self._context_graph = self.graph.as_default()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._context_graph is not None:
            self._context_graph.__exit__()
            self._context_graph = None
        pop_default_session(self)
        self.close()

    def as_default(self) -> _SessionDefault:
        return _SessionDefault(self)

    def close(self) -> None:
        """Release the variables' values and plans; later runs are refused."""
        with self._lock:  # a run in progress finishes first
            self._closed = True
            self.store.clear()
            self._plans.clear()
            self._runners.clear()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- running -------------------------------------------------------------------------------
    def run(
        self,
        fetches: Any,
        feed_dict: dict | None = None,
        options: Any = None,
        run_metadata: Any = None,
    ) -> Any:
        """Evaluate ``fetches`` (a node or any nesting of lists/tuples/dicts of nodes).

        ``feed_dict`` maps placeholders (or any node, or names) to values. The result has the
        structure of ``fetches``: NumPy arrays or scalars, ``None`` for update ops. A run that
        raises leaves the session's state as it was (``docs/runs.md``).
        """
        try:
            try:
                runner = self._runners.get(_runner_key(fetches, feed_dict))
            except TypeError:  # not iterable or not hashable: the full path reports it
                runner = None
            if runner is None:
                return self._run_first(fetches, feed_dict)
            return runner(feed_dict)
        except ChainruleError as err:
            _drop_library_frames(err)
            raise

    def _run_first(self, fetches: Any, feed_dict: dict | None) -> Any:
        """Validate a new kind of call, build (or find) its plan and keep a runner for it."""
        self._check_open()
        spec = _Fetches(self.graph, fetches)
        feed_nodes = [self._feed_key(k) for k in feed_dict] if feed_dict else []
        plan = self._plan(spec.nodes, feed_nodes)
        runner = self._runner(plan, spec, fetches)
        if _reusable(fetches, feed_dict):
            if len(self._runners) >= _MAX_RUNNERS:
                self._runners.clear()
            self._runners[_runner_key(fetches, feed_dict)] = runner
        return runner(feed_dict)

    def _runner(self, plan: Plan, spec: _Fetches, fetches: Any) -> Callable[[Any], Any]:
        """A function of the feed dict that runs ``plan`` and shapes its results as fetched."""
        run, shape = self._run, _shaper(spec, fetches)

        def run_plan(feed_dict: Any) -> Any:
            return shape(run(plan, feed_dict.values() if feed_dict else ()))

        return run_plan

    def make_callable(self, fetches: Any, feed_list: Sequence[Any] | None = None) -> Callable:
        """A function of the ``feed_list`` values that runs ``fetches`` with little overhead.

        The graph checks and the plan are done once here; each call only checks the values.
        """
        self._check_open()
        spec = _Fetches(self.graph, fetches)
        feed_nodes = [self._feed_key(k) for k in (feed_list or [])]
        plan = self._plan(spec.nodes, feed_nodes)
        count = len(feed_nodes)
        run, shape = self._run, _shaper(spec, fetches)

        def run_callable(*values: Any) -> Any:
            if len(values) != count:
                raise InvalidArgumentError(f"expected {count} feed values, got {len(values)}")
            try:
                return shape(run(plan, values))
            except ChainruleError as err:
                _drop_library_frames(err)
                raise

        return run_callable

    def _run(self, plan: Plan, feed_values: Any) -> list[Any]:
        """The one way a plan runs: under the lock, in an open session, with its variables
        initialised; if anything raises, the session's state is left as it was."""
        with self._lock:
            if self._closed:
                self._check_open()
            if plan.ready:
                return plan(feed_values)
            return self._run_initializing(plan, feed_values)

    def _run_initializing(self, plan: Plan, feed_values: Any) -> list[Any]:
        """Initialise the plan's variables and run it; a failure forgets those values again."""
        store = self.store
        journal = store.begin()
        try:
            self._initialize(plan.variables)
            outputs = plan(feed_values)
        except BaseException:
            store.rollback(journal)
            raise
        store.commit(journal)
        plan.ready = not store.journaling  # a nested run may still be undone with its caller
        return outputs

    def _plan(
        self,
        fetches: list[Node],
        feeds: list[Node],
        shared_feeds: frozenset[int] | None = None,
    ) -> Plan:
        key = (tuple(map(id, fetches)), tuple(map(id, feeds)), shared_feeds)
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = self._plans.get(key)
                if plan is None:
                    for node in fetches:
                        self._check_graph(node)
                    plan = Plan(
                        self.context,
                        fetches,
                        feeds,
                        check_numerics=self.check_numerics,
                        optimize=self.optimize,
                        shared_feeds=shared_feeds,
                    )
                    self._plans[key] = plan
        return plan

    def _compile_subgraph(
        self,
        fetches: Sequence[Node],
        feeds: Sequence[Node],
        shared_feeds: Sequence[int] | None = None,
    ) -> SubgraphRun:
        """A function of the feed values running ``fetches`` in this session (for ``bind``)."""
        shared = None if shared_feeds is None else frozenset(shared_feeds)
        plan = self._plan(list(fetches), list(feeds), shared)
        run = self._run

        def run_subgraph(*values: Any) -> list[Any]:
            return run(plan, values)

        return run_subgraph

    def _feed_key(self, key: Any) -> Tensor:
        if isinstance(key, str):
            key = self.graph.get_tensor_by_name(key)
        if not isinstance(key, Tensor):
            raise InvalidArgumentError(f"cannot feed {key!r}: feed_dict keys must be tensors")
        self._check_graph(key)
        return key

    def _check_graph(self, node: Tensor | Node) -> None:
        if node.graph is not self.graph:
            raise GraphError(
                "this node belongs to another graph than the session's; create the session "
                "with Session(graph=...) or build the node in the session's graph",
                node,
            )

    def _check_open(self) -> None:
        if self._closed:
            raise FailedPreconditionError("this session is closed; create a new Session")

    # -- variables -----------------------------------------------------------------------------
    def _initialize(self, variables: Sequence[Variable]) -> None:
        """Give each variable not yet set in this session its initial value (journaled, so that
        a run that fails leaves it uninitialised)."""
        store = self.store
        for var in variables:
            if var not in store:
                value = self._run(self._plan([var.initial_value], []), ())[0]
                store.keep((var,))
                store.set(var, var.new_value(value))

    def set_variable(self, var: Variable, value: Any) -> None:
        with self._lock:
            self.store.set(var, var.new_value(value))

    def variable_values(self) -> dict[Variable, np.ndarray]:
        """A copy of every variable value held by this session."""
        with self._lock:
            return self.store.copies()


def _drop_library_frames(err: ChainruleError) -> None:
    """Forget where in the library ``err`` was raised: re-raised, its traceback then ends at
    the user's call (its message names the op's line); its cause and context are kept."""
    err.with_traceback(None)


def _runner_key(fetches: Any, feed_dict: Any) -> Any:
    """Identifies a call by the identity of its fetched nodes and fed keys.

    Runners are kept only for calls whose fetches are nodes (or flat lists/tuples of them) and
    whose feed keys are nodes: the plan holds those nodes, so their ids cannot be reused.
    """
    kind = type(fetches)
    key = (kind, *map(id, fetches)) if kind is list or kind is tuple else id(fetches)
    return (key, *map(id, feed_dict)) if feed_dict else key


def _shaper(spec: _Fetches, fetches: Any) -> Callable[[list[Any]], Any]:
    """Turns a plan's flat list of results into the structure of ``fetches``."""
    if isinstance(fetches, Tensor | Node):
        return operator.itemgetter(0)
    if type(fetches) is list and spec.flat:
        return _unchanged
    if type(fetches) is tuple and spec.flat:
        return tuple
    return spec.rebuild


def _unchanged(values: list[Any]) -> list[Any]:
    return values


def _reusable(fetches: Any, feed_dict: Any) -> bool:
    if not isinstance(fetches, Tensor | Node):
        if type(fetches) not in (list, tuple) or not all(
            isinstance(f, Tensor | Node) for f in fetches
        ):
            return False
    return (
        type(feed_dict) is dict and all(isinstance(k, Tensor) for k in feed_dict) or not feed_dict
    )


class _SessionDefault:
    def __init__(self, session: Session):
        self.session = session

    def __enter__(self) -> Session:
        push_default_session(self.session)
        return self.session

    def __exit__(self, *exc: object) -> None:
        pop_default_session(self.session)


class InteractiveSession(Session):
    """A session that makes itself the default at once (for notebooks and shells)."""

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None):
        super().__init__(target, graph, config)
        push_default_session(self)

    def close(self) -> None:
        super().close()
        pop_default_session(self)
