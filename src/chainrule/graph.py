"""The graph model, as TF1's: graphs own operations; an operation (``Node``) has input tensors,
control inputs and its output tensors (``Tensor``: ``op.outputs[i]``, named ``op_name:i``)."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, Protocol

from .dtypes import DType
from .errors import (
    ChainruleError,
    FailedPreconditionError,
    GraphError,
    InvalidArgumentError,
    NotFoundError,
)

__all__ = [
    "Graph",
    "GraphKeys",
    "add_to_collection",
    "add_to_collections",
    "get_collection",
    "get_collection_ref",
    "Node",
    "Tensor",
    "TensorShape",
    "get_default_graph",
    "reset_default_graph",
    "name_scope",
    "control_dependencies",
    "get_default_session",
    "PlanValue",
    "InplaceKernel",
    "Specialized",
    "FusedKernels",
]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

Shape = tuple[int | None, ...] | None


def user_frame_location() -> tuple[str, int]:
    """The file and line of the first caller outside chainrule: where the user built a node."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return ("<unknown>", 0)
    return (frame.f_code.co_filename, frame.f_lineno)


class TensorShape:
    """A static shape: ``dims`` is a tuple (``None`` for unknown sizes) or ``None`` (unknown rank)."""

    def __init__(self, dims: Shape):
        self.dims = None if dims is None else tuple(dims)

    @property
    def ndims(self) -> int | None:
        return None if self.dims is None else len(self.dims)

    rank = ndims

    def as_list(self) -> list[int | None]:
        if self.dims is None:
            raise GraphError("as_list() is not defined on an unknown rank shape")
        return list(self.dims)

    def is_fully_defined(self) -> bool:
        return self.dims is not None and all(d is not None for d in self.dims)

    def __iter__(self) -> Iterator[int | None]:
        if self.dims is None:
            raise GraphError("cannot iterate over a shape of unknown rank")
        return iter(self.dims)

    def __len__(self) -> int:
        if self.dims is None:
            raise GraphError("len() of a shape of unknown rank")
        return len(self.dims)

    def __getitem__(self, index: int) -> int | None:
        if self.dims is None:
            return None
        return self.dims[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TensorShape):
            return self.dims == other.dims
        if isinstance(other, list | tuple):
            return self.dims == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.dims)

    def __repr__(self) -> str:
        return "TensorShape(<unknown>)" if self.dims is None else f"TensorShape({list(self.dims)})"


class PlanValue(Protocol):
    """What an op's compiler hooks see of each input in a plan (the runtime's terms)."""

    #: the symbolic shape: sizes are ints or symbols (equal only to themselves); None: unknown
    sym: tuple[Any, ...] | None
    #: the NumPy dtype, None if unknown
    dtype: Any
    #: True when the value may share memory with a variable (which updates change in place)
    state: bool
    #: True for a fresh array only the plan holds (a later op may overwrite it)
    owned: bool
    #: the value of a constant (see ``is_constant``)
    value: Any

    @property
    def is_constant(self) -> bool:
        """Whether the value is known when the plan is compiled (``value`` holds it)."""
        ...


class InplaceKernel(NamedTuple):
    """``kernel`` returns the op's result in the memory of one of the ``inputs`` it is given."""

    inputs: tuple[int, ...]
    kernel: Callable[..., Any]


class Specialized(NamedTuple):
    """A kernel fixed to a plan's shapes; ``fresh``: its result is always a new array."""

    kernel: Callable[..., Any]
    fresh: bool


class FusedKernels(NamedTuple):
    """How a forward op and its partner (same ``fusion_key``) are computed together.

    ``shared(*forward args)`` returns ``(forward value, intermediate)``; the partner's value is
    ``finish(intermediate, *partner args at finish_inputs)``. The intermediate is a fresh
    array of the partner's shape and dtype, which ``finish`` may overwrite with its result.
    """

    shared: Callable[..., tuple[Any, Any]]
    finish: Callable[..., Any]
    finish_inputs: tuple[int, ...]


_shared_default: list[Graph] = []  # one slot: the default graph, shared by all threads


class _DefaultGraphContext:
    """Returned by ``Graph.as_default()``: already in effect; ``with`` restores the previous one."""

    def __init__(self, graph: Graph, previous: Graph):
        self.graph = graph
        self.previous = previous

    def __enter__(self) -> Graph:
        return self.graph

    def __exit__(self, *exc: object) -> None:
        _set_default_graph(self.previous)


def _set_default_graph(graph: Graph) -> None:
    _shared_default[0] = graph


def get_default_graph() -> Graph:
    """The graph new nodes join when none is given (one exists from import time)."""
    return _shared_default[0]


def reset_default_graph() -> Graph:
    """Replace the default graph with a fresh, empty one and return it."""
    graph = Graph()
    _set_default_graph(graph)
    return graph


class GraphKeys:
    """TF1's names of the standard collections (the same strings, so TF1 programs' keys work)."""

    GLOBAL_VARIABLES = "variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    LOCAL_VARIABLES = "local_variables"
    MODEL_VARIABLES = "model_variables"
    METRIC_VARIABLES = "metric_variables"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    REGULARIZATION_LOSSES = "regularization_losses"
    SUMMARIES = "summaries"
    GLOBAL_STEP = "global_step"
    TRAIN_OP = "train_op"


class Graph:
    """Owns nodes, their unique names, name scopes, collections and control-dependency scopes."""

    def __init__(self) -> None:
        self._nodes: list[Node] = []
        self._by_name: dict[str, Node] = {}
        self._name_counts: dict[str, int] = {}
        self._scopes: list[str] = []
        self._control_scopes: list[tuple[Node, ...]] = []
        self._collections: dict[str, list[Any]] = {}
        #: the open ``variable_scope``s, innermost last (``get_variable`` names and reuse)
        self.variable_scope_stack: list[Any] = []
        #: the variables ``get_variable`` made, by full name, for reuse
        self.variables_by_name: dict[str, Any] = {}
        self.seed: int | None = None
        self.version = 0

    def as_default(self) -> _DefaultGraphContext:
        """Make this the default graph now; used with ``with``, the previous default returns after."""
        previous = get_default_graph()
        _set_default_graph(self)
        return _DefaultGraphContext(self, previous)

    @contextlib.contextmanager
    def name_scope(self, name: str | None) -> Iterator[str]:
        """Prefix the names of nodes created inside with ``name/`` (nested scopes join with ``/``).

        A new scope gets a unique name (``layer``, ``layer_1``); ``"layer/"`` re-enters exactly.
        """
        if not name:
            yield self._current_scope()
            return
        if name.endswith("/"):  # TF1: a trailing slash re-enters that exact scope
            scope = name.rstrip("/")
        else:
            scope = self._unique_scope(name)
        self._scopes.append(scope)
        try:
            yield scope + "/"
        finally:
            self._scopes.pop()

    @contextlib.contextmanager
    def top_level_name_scope(self) -> Iterator[str]:
        """Build outside every name scope (TF1's ``name_scope(None)``): what ``get_variable``
        names by variable scope alone, optimizer slots named after their variable."""
        saved, self._scopes = self._scopes, []
        try:
            yield ""
        finally:
            self._scopes = saved

    @contextlib.contextmanager
    def control_dependencies(self, nodes: Sequence[Node] | None) -> Iterator[None]:
        """Nodes created inside run only after ``nodes`` (``None`` clears outer dependencies)."""
        self._control_scopes.append(
            None if nodes is None else tuple(as_operation(n) for n in nodes)
        )
        try:
            yield
        finally:
            self._control_scopes.pop()

    def current_control_inputs(self) -> tuple[Node, ...]:
        deps: list[Node] = []
        for scope in self._control_scopes:
            if scope is None:
                deps = []
            else:
                deps.extend(scope)
        return tuple(deps)

    def _current_scope(self) -> str:
        return self._scopes[-1] + "/" if self._scopes else ""

    def _unique_scope(self, name: str) -> str:
        full = self._current_scope() + name
        count = self._name_counts.get(full, 0)
        self._name_counts[full] = count + 1
        return full if count == 0 else f"{full}_{count}"

    def unique_name(self, base: str) -> str:
        """``MatMul``, then ``MatMul_1``, ``MatMul_2``... inside the current name scope."""
        if ":" in base:
            raise InvalidArgumentError(
                f"'{base}' is not a valid op name: ':' separates an op's name from the index of "
                f"its output ('{base.split(':')[0]}:0' is the first output of '{base.split(':')[0]}')"
            )
        full = self._current_scope() + base
        count = self._name_counts.get(full, 0)
        name = full if count == 0 else f"{full}_{count}"
        while name in self._by_name:
            count += 1
            name = f"{full}_{count}"
        self._name_counts[full] = count + 1
        return name

    def _add(self, node: Node) -> None:
        self._nodes.append(node)
        self._by_name[node.name] = node
        self.version += 1

    def get_operations(self) -> list[Node]:
        """The operations of the graph, in the order they were created."""
        return list(self._nodes)

    def get_operation_by_name(self, name: str) -> Node:
        """The operation named ``name`` (``MatMul_2``; a tensor's ``name:0`` is refused)."""
        if ":" in name:
            raise InvalidArgumentError(
                f"'{name}' names a tensor, not an operation; use get_tensor_by_name()"
            )
        try:
            return self._by_name[name]
        except KeyError:
            raise NotFoundError(f"the graph has no operation named '{name}'") from None

    def get_tensor_by_name(self, name: str) -> Tensor:
        """The tensor named ``name`` (``op_name:index``, as TF1: ``MatMul_2:0``)."""
        op_name, sep, index = name.rpartition(":")
        if not sep or not index.isdigit():
            raise InvalidArgumentError(
                f"'{name}' is not a tensor name; tensor names have the form 'op_name:index' "
                f"(did you mean '{name}:0'?)"
            )
        try:
            op = self._by_name[op_name]
        except KeyError:
            raise NotFoundError(f"the graph has no tensor named '{name}'") from None
        if int(index) >= len(op.outputs):
            raise NotFoundError(
                f"the graph has no tensor named '{name}': {op.op_type} '{op_name}' has "
                f"{len(op.outputs)} output(s)"
            )
        return op.outputs[int(index)]

    def as_graph_element(self, obj: Any) -> Tensor | Node:
        """A tensor or operation, given one or its name (``"x:0"`` a tensor, ``"x"`` an op)."""
        if isinstance(obj, Tensor | Node):
            return obj
        if isinstance(obj, str):
            return self.get_tensor_by_name(obj) if ":" in obj else self.get_operation_by_name(obj)
        raise InvalidArgumentError(f"{obj!r} is neither a tensor nor an operation")

    def add_to_collection(self, name: str, value: Any) -> None:
        """Append ``value`` to the collection ``name`` (made if missing)."""
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names: str | Iterable[str], value: Any) -> None:
        """Add ``value`` to each collection in ``names`` once (a single name works too)."""
        for name in _distinct_names(names):
            self.add_to_collection(name, value)

    def get_collection(self, name: str, scope: str | None = None) -> list[Any]:
        """A copy of the collection ``name``; with ``scope``, only the items whose ``name``
        matches that regular expression at its start (items without a name are left out)."""
        items = self._collections.get(name, [])
        if scope is None:
            return list(items)
        pattern = re.compile(scope)
        return [item for item in items if _name_matches(pattern, item)]

    def get_collection_ref(self, name: str) -> list[Any]:
        """The collection ``name`` itself (made if missing): changing the list changes it."""
        return self._collections.setdefault(name, [])

    def get_all_collection_keys(self) -> list[str]:
        """The names of all collections made so far (``get_collection_ref`` makes empty ones)."""
        return list(self._collections)

    def clear_collection(self, name: str) -> None:
        self._collections.pop(name, None)

    def __len__(self) -> int:
        return len(self._nodes)

    def __repr__(self) -> str:
        return f"<chainrule.Graph with {len(self._nodes)} nodes>"


def _distinct_names(names: str | Iterable[str]) -> list[str]:
    """``names`` as a list without repeats, in order; a single string is one name."""
    return [names] if isinstance(names, str) else list(dict.fromkeys(names))


def _name_matches(pattern: re.Pattern[str], item: Any) -> bool:
    name = getattr(item, "name", None)
    return isinstance(name, str) and pattern.match(name) is not None


_shared_default.append(Graph())


def add_to_collection(name: str, value: Any) -> None:
    """Add ``value`` to the default graph's collection ``name``."""
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names: str | Iterable[str], value: Any) -> None:
    """Add ``value`` to each of the default graph's collections in ``names``."""
    get_default_graph().add_to_collections(names, value)


def get_collection(key: str, scope: str | None = None) -> list[Any]:
    """A copy of the default graph's collection ``key`` (filtered by ``scope``, a name regex)."""
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key: str) -> list[Any]:
    """The default graph's collection ``key`` itself, for changing it in place."""
    return get_default_graph().get_collection_ref(key)


# The default session is graph-building context too (TF1 keeps it beside the default graph):
# ``tensor.eval()`` finds it here, and the runtime pushes sessions onto it.
_default_sessions: list[Any] = []


def get_default_session() -> Any:
    """The innermost session entered with ``with Session():`` (or ``as_default()``), or None."""
    return _default_sessions[-1] if _default_sessions else None


def push_default_session(session: Any) -> None:
    _default_sessions.append(session)


def pop_default_session(session: Any) -> None:
    """Forget ``session`` as a default (the innermost entry for it)."""
    for i in range(len(_default_sessions) - 1, -1, -1):
        if _default_sessions[i] is session:
            del _default_sessions[i]
            return


def default_session_for(node: Any, session: Any) -> Any:
    """``session`` if given, else the default session, else an error naming ``node``."""
    session = session or get_default_session()
    if session is None:
        raise FailedPreconditionError(
            "no default session: run this inside 'with Session():' or pass session=", node
        )
    return session


def name_scope(name: str | None) -> contextlib.AbstractContextManager[str]:
    """``with name_scope("layer1"):`` prefixes node names in the default graph."""
    return get_default_graph().name_scope(name)


def control_dependencies(nodes: Sequence[Node] | None) -> contextlib.AbstractContextManager[None]:
    """``with control_dependencies([train_op]):`` orders new nodes after ``nodes``."""
    return get_default_graph().control_dependencies(nodes)


class OperationType(type):
    """The metaclass of operations: calling an op class builds the operation and returns what
    a TF1 op function returns: its output tensor when it has exactly one (``Softmax(x)`` is a
    tensor, so is the user's ``cube(x)``), else the operation itself (no outputs: updates,
    groups; several: the op functions return ``list(op.outputs)``)."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        op = super().__call__(*args, **kwargs)
        outputs = op.outputs
        return outputs[0] if len(outputs) == 1 else op


class Node(metaclass=OperationType):
    """An operation of the graph (placeholder, variable, constant or computation): its input
    tensors, control inputs (operations) and output tensors ``outputs`` (``output`` is
    ``outputs[0]``, the tutorials' name). ``num_outputs`` says how many it has (0 for updates).

    Besides its shape rule, kernel and gradient, an op declares here every fact the plan
    compiler needs about it; the plan passes ask these hooks and name no op type. The
    defaults are safe for any op (a user's op included): nothing is assumed that the op does
    not say. ``args`` in the hooks are the plan's values of the op's inputs (see
    ``PlanValue``), so a fact may depend on what the plan knows: symbolic shapes, constants.

    An op whose kernel needs the session defines ``bind(self, context) -> kernel`` instead of
    ``compute``; a plan calls it once. ``context.store`` is the session's ``VariableStore``
    (variables, random generators, other resources); ``context.compile(fetches, feeds)``
    returns a function of the feed values that runs that sub-graph in the same session and
    returns the fetched values, so that conditionals and loops need not import the runtime.
    A multi-output op may define ``bind_outputs(self, context, used) -> kernel`` as well: a
    plan then calls that instead, ``used`` marking the outputs it reads, and the kernel may
    return ``None`` for the others (a loop's gradient skips the tensors nobody asked for).
    An op that changes session state says what it changes (``writes``) and how to check its
    inputs beforehand (``write_check``): a run that raises then leaves the session unchanged.
    """

    # Structural fields live in slots, so that ``vars(node)`` holds exactly the op's own
    # attributes (axis, keepdims, ...): two pure ops with equal attributes and inputs are equal.
    __slots__ = (
        "graph",
        "name",
        "inputs",
        "control_inputs",
        "location",
        "consumers",
        "weak",
        "shape",
        "dtype",
        "outputs",
        "_specs",
        "__dict__",
        "__weakref__",
    )

    op_type = "Node"
    #: True for ops that have no output and run for their effects (updates, groups)
    is_update = False
    #: how many output tensors the op has (an op with several sets it before ``_register``,
    #: and its ``infer`` returns one ``(shape, dtype)`` pair per output)
    num_outputs = 1
    #: True when ``compute`` returns a tuple, one value per output (set from ``infer``)
    tuple_outputs = False
    #: False for ops through which no gradient flows (argmax, comparisons, ...)
    differentiable = True
    #: False for ops whose kernel draws random numbers or reads or changes state: never
    #: merged, folded or dropped. Ops are pure unless they say otherwise, as in TF1.
    pure = True
    #: the inputs whose memory the kernel's result may share (views, the input itself):
    #: ``None`` for any input (the safe default), ``()`` for a result that is always a fresh
    #: array (which a later op may then overwrite in place), ``(0,)`` for the first only
    alias_inputs: tuple[int, ...] | None = None
    #: True when the kernel always returns NumPy arrays or NumPy scalars (never lists or
    #: Python numbers), so a plan may write arithmetic on the value as Python operators
    numeric = False
    #: for an op that is not pure: False when it only reads state (a variable's value), so
    #: that values computed before and after it may still be merged
    changes_state = True
    #: False for ops whose kernel cannot raise (groups): a run may run them after its writes
    #: without keeping a copy of what it wrote
    can_fail = True
    #: True when a run checks the kernel's results against what ``infer`` declared (numbers,
    #: the static shape): the default for ops defined outside chainrule, unless ``numeric``
    check_results = False

    graph: Graph
    name: str
    inputs: tuple[Tensor, ...]
    control_inputs: tuple[Node, ...]
    outputs: tuple[Tensor, ...]
    #: the static shape and dtype of output 0 (the op's value for single-output ops)
    shape: Shape
    dtype: DType | None
    weak: bool

    # -- what is known of the value when the graph is built -------------------------------------
    def subgraphs(self) -> tuple[Any, ...]:
        """The sub-graphs the op runs (a loop's condition and body, a conditional's branches),
        each with ``inputs`` and ``operations()``; pictures draw them inside the op's scope."""
        return ()

    def known_value(self) -> Any:
        """The value as far as the graph tells it (TF1's constant-value-partial inference), for
        int scalars, vectors and matrices holding sizes: an int, or nested tuples of ints and
        ``None`` for entries known only at run time; ``None`` when the op does not say."""
        return None

    # -- facts for the plan compiler ----------------------------------------------------------
    def shape_rule(self, *shapes: Shape) -> Shape:
        """The output shape from the input shapes, each a tuple of sizes or ``None`` (unknown
        rank). A size is an int, ``None`` (unknown) or a symbol standing for an unknown size
        (equal only to itself): the same rule serves the static shapes of the graph and the
        symbolic shapes of a plan. ``None``: the op does not say (the static shape is used).
        """
        return None

    def passthrough(self, args: Sequence[PlanValue], out: PlanValue) -> int | None:
        """The input whose value this op merely passes on in a plan (``x * 1``, a reshape to
        the shape ``x`` already has), so the plan may drop the op; ``None`` if it computes.
        ``out`` is the op's own value in the plan (its symbolic shape and dtype)."""
        return None

    def broadcast_source(self, args: Sequence[PlanValue], out_sym: Any) -> bool:
        """Whether the value is input 0 stretched by NumPy broadcasting, the data unchanged
        (a consumer that broadcasts its inputs itself may take input 0 instead)."""
        return False

    def takes_broadcast(self, position: int, syms: Sequence[Any], out_sym: Any) -> bool:
        """Whether the kernel gives the same value when input ``position`` is given with the
        smaller symbolic shape in ``syms`` (it broadcasts that input itself)."""
        return False

    def inplace_kernel(self, args: Sequence[PlanValue], store: Any) -> InplaceKernel | None:
        """A kernel that returns its result in the memory of one of ``inputs`` (a NumPy ufunc
        is called with ``out=``). The plan uses it only for an input that is a fresh array of
        the result's shape and dtype that nothing reads afterwards (for an update, which has
        no result, any fresh array the update consumes). ``None``: no in-place form."""
        return None

    def specialize(self, args: Sequence[PlanValue]) -> Specialized | None:
        """A kernel fixed to the shapes this plan knows, and whether its result is always a
        fresh array; ``None`` to keep the general kernel."""
        return None

    def fusion_key(self, args: Sequence[PlanValue]) -> Hashable | None:
        """Ops of a plan with equal, non-``None`` keys are computed together by the kernels
        that ``fused_kernels`` of the forward one gives (an op and its gradient)."""
        return None

    def fused_kernels(self, args: Sequence[PlanValue]) -> FusedKernels | None:
        """On the forward op of a fusion (see ``fusion_key``): how it and its partner are
        computed together; ``None`` on every other op."""
        return None

    def writes(self) -> tuple[Any, ...]:
        """What running this op changes in the session: the variables it updates, and the
        owners of the resources it advances (a random op names itself, for its generator).
        A run puts every write after every computation that does not depend on it."""
        return ()

    def write_check(self, context: Any) -> Callable[..., None] | None:
        """For an op that writes: a function of its input values that raises if the write
        would fail, so that a run checks all its writes before the first one changes anything.
        ``None``: the op cannot say, and a run keeps a copy of what it writes instead."""
        return None

    def _setup(
        self,
        graph: Graph,
        inputs: Sequence[Tensor],
        name: str | None,
        control_inputs: Sequence[Any] = (),
    ) -> None:
        """Name the op, remember where the user built it (``_register`` adds it to ``graph``)."""
        self.graph = graph
        self.inputs = tuple(inputs)
        self.control_inputs = (
            tuple(as_operation(c) for c in control_inputs) + graph.current_control_inputs()
        )
        self.name = graph.unique_name(name or self.op_type)
        self.location = user_frame_location()
        self.consumers: list[Node] = []
        self.weak = getattr(self, "weak", False)
        self.shape = None
        self.dtype = None
        self.outputs = ()
        self._specs = None
        anchor = self.inputs[0].op if self.inputs else None
        for tensor in self.inputs:
            check_same_graph(graph, tensor, self, anchor)
        for op in self.control_inputs:
            if not isinstance(op, Node) or op.graph is not graph:
                check_same_graph(graph, op, self, anchor)

    def _register(self) -> None:
        """Make the output tensors and add the op to its graph."""
        count = 0 if self.is_update else self.num_outputs
        if not self.outputs:
            self.outputs = tuple(Tensor(self, i) for i in range(count))
        for tensor in self.inputs:
            tensor.op.consumers.append(self)
        self.graph._add(self)

    def set_output_specs(self, specs: Sequence[tuple[Shape, DType | None]]) -> None:
        """The static shape and dtype of each output of a multi-output op."""
        self._specs = [tuple(spec) for spec in specs]
        if self._specs:
            self.shape, self.dtype = self._specs[0]

    # -- TF1's and the tutorials' vocabulary -------------------------------------------------
    @property
    def type(self) -> str:
        return self.op_type

    @property
    def input_nodes(self) -> tuple[Tensor, ...]:
        return self.inputs

    @property
    def output(self) -> Tensor:
        """The first output tensor (the tutorials' ``op.output``)."""
        if not self.outputs:
            raise GraphError(f"{self.op_type} '{self.name}' has no output tensor", self)
        return self.outputs[0]

    @property
    def source(self) -> str:
        """``file.py:12``: the user's line that created this op."""
        path, line = self.location
        return f"{os.path.basename(path)}:{line}"

    def output_shape(self, index: int) -> Shape:
        return self.shape if index == 0 or self._specs is None else self._specs[index][0]

    def output_dtype(self, index: int) -> DType | None:
        return self.dtype if index == 0 or self._specs is None else self._specs[index][1]

    def run(self, feed_dict: dict | None = None, session: Any = None) -> None:
        """Run this operation in ``session`` or the default session."""
        default_session_for(self, session).run(self, feed_dict)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __bool__(self) -> bool:
        raise GraphError("an operation has no truth value until it is run; use Session.run()", self)

    def __iter__(self) -> Iterator[Tensor]:
        raise GraphError("operations are not iterable; iterate over op.outputs", self)

    def __repr__(self) -> str:
        shape = "<unknown>" if self.shape is None else tuple(self.shape)
        dtype = self.dtype.name if self.dtype is not None else "?"
        return f"<chainrule.Operation {self.op_type} '{self.name}' shape={shape} dtype={dtype}>"


class Tensor:
    """Output ``value_index`` of operation ``op``: what ops take as inputs and a run fetches.

    Named ``op_name:value_index`` (``MatMul_2:0``); its op type, source line and compiler
    facts are its operation's (``t.op.type``, ``t.op.source``), and errors name the operation.
    """

    __slots__ = ("op", "value_index", "__weakref__")

    def __init__(self, op: Node, value_index: int):
        self.op = op
        self.value_index = value_index

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self.value_index}"

    @property
    def graph(self) -> Graph:
        return self.op.graph

    @property
    def shape(self) -> Shape:
        return self.op.output_shape(self.value_index)

    @shape.setter
    def shape(self, value: Shape) -> None:
        if self.value_index == 0:
            self.op.shape = value
        else:
            self.op._specs[self.value_index] = (value, self.op._specs[self.value_index][1])

    @property
    def dtype(self) -> DType | None:
        return self.op.output_dtype(self.value_index)

    @dtype.setter
    def dtype(self, value: DType | None) -> None:
        if self.value_index == 0:
            self.op.dtype = value
        else:
            self.op._specs[self.value_index] = (self.op._specs[self.value_index][0], value)

    @property
    def weak(self) -> bool:
        return self.op.weak

    @property
    def output(self) -> Tensor:
        return self

    def get_shape(self) -> TensorShape:
        return TensorShape(self.shape)

    @property
    def ndim(self) -> int | None:
        shape = self.shape
        return None if shape is None else len(shape)

    def consumers(self) -> list[Node]:
        """The operations that take this tensor as an input."""
        found: list[Node] = []
        for op in self.op.consumers:
            if op not in found and any(t is self for t in op.inputs):
                found.append(op)
        return found

    def eval(self, feed_dict: dict | None = None, session: Any = None) -> Any:
        """Evaluate in ``session`` or the default session (``with Session():``)."""
        return default_session_for(self.op, session).run(self, feed_dict)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __bool__(self) -> bool:
        raise GraphError(
            "a tensor has no truth value until it is run: Python's 'if' and 'while' cannot "
            "test it. Use cr.cond(pred, true_fn, false_fn) to branch, cr.while_loop to loop, "
            "cr.where(cond, x, y) to choose elementwise, or Session.run() to get the value",
            self.op,
        )

    def __iter__(self) -> Iterator[Tensor]:
        raise GraphError("tensors are not iterable; use unstack() or slicing", self.op)

    __array_priority__ = 1000
    __array_ufunc__ = None  # ``ndarray * tensor`` defers to ``tensor.__rmul__``

    def __repr__(self) -> str:
        shape = "<unknown>" if self.shape is None else tuple(self.shape)
        dtype = self.dtype.name if self.dtype is not None else "?"
        return f"<chainrule.Tensor '{self.name}' shape={shape} dtype={dtype}>"


def as_operation(value: Any) -> Any:
    """The operation of a tensor (control dependencies name operations, as in TF1)."""
    return value.op if isinstance(value, Tensor) else value


def check_same_graph(
    graph: Graph, value: object, consumer: Node, anchor: Node | None = None
) -> None:
    """Refuse inputs that are not tensors, and tensors of another graph, naming both ops."""
    if isinstance(value, Tensor):
        op = value.op
    elif isinstance(value, Node):
        op = value
    else:
        raise GraphError(f"input {value!r} is not a graph tensor", consumer)
    if op.graph is not graph:
        other = (
            f"{anchor.op_type} '{anchor.name}' ({anchor.source})"
            if anchor is not None and anchor is not op
            else "this op's graph"
        )
        raise GraphError(
            f"{op.op_type} '{op.name}' ({op.source}) and {other} belong to different "
            "graphs; nodes from two graphs cannot be mixed",
            consumer,
        )


def with_node(err: ChainruleError, node: Any) -> ChainruleError:
    """Re-issue an error raised while ``node`` was being built so that it names the node."""
    node = as_operation(node)
    if err.node is not None:
        return err
    return type(err)(err.message, node) if not hasattr(err, "position") else err


def topological_order(
    roots: Sequence[Any], include_control: bool = False, stop_at: frozenset | set = frozenset()
) -> list[Node]:
    """Every operation ``roots`` (operations or tensors) need, roots included, each after the
    operations of its inputs.

    Iterative, so graphs of any depth work. Operations in ``stop_at`` are kept but not entered.
    """
    roots = [as_operation(r) for r in roots]
    order: list[Node] = []
    done: set[int] = set()
    entered: set[int] = set()
    for root in roots:
        if id(root) in done:
            continue
        stack: list[Node] = [root]
        while stack:
            node = stack[-1]
            key = id(node)
            if key in done:
                stack.pop()
                continue
            if key not in entered:
                entered.add(key)
                if node not in stop_at:
                    deps = [t.op for t in node.inputs]
                    if include_control:
                        deps += node.control_inputs
                    for dep in reversed(deps):
                        if id(dep) not in done:
                            stack.append(dep)
                continue
            stack.pop()
            done.add(key)
            order.append(node)
    return order
