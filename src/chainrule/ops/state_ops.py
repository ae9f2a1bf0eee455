"""Variables and the ops that change them: assign, assign_add, assign_sub, groups, initialisers.

A variable's value lives in each Session (two sessions hold independent values); it is
initialised from its initial value on first use or by an initializer op.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType, as_dtype
from ..errors import (
    ChainruleError,
    FailedPreconditionError,
    GraphError,
    InvalidArgumentError,
    ShapeError,
)
from ..graph import (
    Graph,
    GraphKeys,
    Node,
    Tensor,
    default_session_for,
    get_default_graph,
    with_node,
)
from .base import Operation, convert_to_tensor, default_dtype_for, graph_of, shape_matches
from .registry import NotDifferentiable
from .shapes import Shape, as_shape, fmt

__all__ = [
    "Variable",
    "assign",
    "assign_add",
    "assign_sub",
    "group",
    "no_op",
    "global_variables",
    "trainable_variables",
    "local_variables",
    "global_variables_initializer",
    "local_variables_initializer",
    "variables_initializer",
    "initialize_all_variables",
    "get_variable",
    "variable_scope",
    "AUTO_REUSE",
]


class VariableOp(Node):
    """The ``VariableV2`` operation: its one output is the ``Variable`` (whose value it reads)."""

    op_type = "VariableV2"
    pure = False
    changes_state = False

    def __init__(self, variable: Variable, graph: Graph, name: str):
        self.variable = variable
        self._setup(graph, (), name)

    def bind(self, context: Any) -> Callable[[], Any]:
        """The kernel reading the variable's array in the session (the live one)."""
        return context.store.reader(self.variable)


class Variable(Tensor):
    """A trainable (or not) value held by each session; ``Variable(np.random.randn(2, 2))``.

    The output tensor (``v.name`` is ``"v:0"``) of its ``VariableV2`` operation (``v.op``,
    named ``"v"``): usable in arithmetic and as a feed or fetch, and the key of its value in a
    session's store.
    """

    def __init__(
        self,
        initial_value: Any = None,
        trainable: bool = True,
        name: str | None = None,
        dtype: Any = None,
        validate_shape: bool = True,
        collections: Sequence[str] | None = None,
        shape: Any = None,
    ):
        if initial_value is None:
            raise InvalidArgumentError("Variable needs an initial_value")
        graph = graph_of([initial_value])
        op = VariableOp(self, graph, name or "Variable")
        super().__init__(op, 0)
        op.outputs = (self,)
        try:
            with graph.as_default(), graph.name_scope(op.name + "/"):
                if callable(initial_value) and not isinstance(initial_value, Tensor):
                    initial_value = initial_value()
                self.initial_value = _initial_node(initial_value, as_dtype(dtype), graph)
            op.dtype = as_dtype(dtype) or self.initial_value.dtype
            op.shape = as_shape(shape) if shape is not None else self.initial_value.shape
            if not validate_shape:
                op.shape = None
        except ChainruleError as err:
            raise with_node(err, op) from None
        self.trainable = trainable
        self._initializer: Node | None = None
        op._register()
        graph.add_to_collections(_collections_of_variable(collections, trainable), self)

    def new_value(self, value: Any) -> np.ndarray:
        """``value`` as a fresh array this variable may hold (dtype cast, shape checked)."""
        array = np.array(value, dtype=None if self.dtype is None else self.dtype.np, copy=True)
        if self.shape is not None and not shape_matches(self.shape, array.shape):
            raise ShapeError(
                f"cannot hold a value of shape {fmt(array.shape)}; "
                f"the variable has shape {fmt(self.shape)}",
                self,
            )
        return array

    @property
    def initializer(self) -> Node:
        """The op that (re)sets this variable to its initial value."""
        if self._initializer is None:
            with self.graph.as_default(), self.graph.name_scope(self.op.name + "/"):
                self._initializer = Assign(self, self.initial_value, name="Assign").op
        return self._initializer

    def initialized_value(self) -> Node:
        return self.initial_value

    def value(self) -> Node:
        return self

    read_value = value

    def assign(self, value: Any, name: str | None = None) -> Node:
        return assign(self, value, name=name)

    def assign_add(self, delta: Any, name: str | None = None) -> Node:
        return assign_add(self, delta, name=name)

    def assign_sub(self, delta: Any, name: str | None = None) -> Node:
        return assign_sub(self, delta, name=name)

    def load(self, value: Any, session: Any = None) -> None:
        """Put ``value`` into this variable in ``session`` (or the default session)."""
        default_session_for(self, session).set_variable(self, value)

    def __repr__(self) -> str:
        shape = "<unknown>" if self.shape is None else tuple(self.shape)
        dtype = self.dtype.name if self.dtype is not None else "?"
        return f"<chainrule.Variable '{self.name}' shape={shape} dtype={dtype}>"


def _collections_of_variable(collections: Sequence[str] | None, trainable: bool) -> list[str]:
    """TF1's rule: ``collections`` (global variables by default), plus trainable variables."""
    keys = list(collections) if collections is not None else [GraphKeys.GLOBAL_VARIABLES]
    if trainable and GraphKeys.TRAINABLE_VARIABLES not in keys:
        keys.append(GraphKeys.TRAINABLE_VARIABLES)
    return keys


def _initial_node(value: Any, dtype: DType | None, graph: Graph) -> Node:
    hint = dtype or default_dtype_for(value)
    node = convert_to_tensor(value, graph=graph, name="initial_value", dtype_hint=hint)
    if dtype is not None and node.dtype is not None and node.dtype != dtype:
        from .math_ops import cast

        node = cast(node, dtype)
    return node


class _VariableUpdate(Operation):
    """Base of ops that write a variable in the running session; their value is the new value."""

    pure = False

    def __init__(self, ref: Variable, value: Any, name: str | None = None):
        if not isinstance(ref, Variable):
            raise FailedPreconditionError(f"{type(self).__name__} needs a Variable, got {ref!r}")
        self.ref = ref
        value = convert_to_tensor(value, graph=ref.graph, dtype_hint=ref.dtype)
        super().__init__([value], name=name, control_inputs=())

    def infer(self, value: Node) -> tuple[Shape, DType | None]:
        if self.ref.shape is not None and value.shape is not None and self.validate_shape():
            if len(value.shape) != len(self.ref.shape) or any(
                a is not None and b is not None and a != b
                for a, b in zip(value.shape, self.ref.shape, strict=True)
            ):
                raise ShapeError(
                    f"cannot assign a value of shape {fmt(value.shape)} to variable "
                    f"'{self.ref.name}' of shape {fmt(self.ref.shape)}"
                )
        return self.ref.shape, self.ref.dtype

    def validate_shape(self) -> bool:
        return True

    def writes(self) -> tuple[Node, ...]:
        return (self.ref,)

    def bind(self, context: Any) -> Callable[[Any], Any]:
        ref, update, store = self.ref, self.update, context.store

        def run_update(value: Any) -> Any:
            current = store.get(ref)
            result = update(current, value)
            if result is not current:
                store.set(ref, result)
            return result

        return run_update

    def update(self, current: np.ndarray | None, value: Any) -> np.ndarray:
        raise NotImplementedError


class Assign(_VariableUpdate):
    op_type = "Assign"

    def write_check(self, context: Any) -> Callable[[Any], None]:
        """The value must fit the variable's static shape (any shape if it has none)."""
        ref = self.ref

        def check_assign(value: Any) -> None:
            shape = np.shape(value)
            if ref.shape is not None and not shape_matches(ref.shape, shape):
                raise ShapeError(
                    f"cannot assign a value of shape {fmt(shape)} to variable '{ref.name}' "
                    f"of shape {fmt(ref.shape)}",
                    self,
                )

        return check_assign

    def update(self, current: np.ndarray | None, value: Any) -> np.ndarray:
        new = self.ref.new_value(value)
        if current is not None and current.shape == new.shape:
            np.copyto(current, new)
            return current
        return new


class AssignAdd(_VariableUpdate):
    op_type = "AssignAdd"

    @property
    def refs(self) -> tuple[Variable, ...]:
        """Variables the session initialises before running this op."""
        return (self.ref,)

    def write_check(self, context: Any) -> Callable[[Any], None]:
        """The variable must hold a value, and the delta must broadcast to its shape."""
        store, ref = context.store, self.ref

        def check_delta(delta: Any) -> None:
            check_fits(self, _require_initialized(self, store.get(ref)), delta, "unsafe")

        return check_delta

    def update(self, current: np.ndarray | None, value: Any) -> np.ndarray:
        current = _require_initialized(self, current)
        np.add(current, value, out=current, casting="unsafe")
        return current


class AssignSub(AssignAdd):
    op_type = "AssignSub"

    def update(self, current: np.ndarray | None, value: Any) -> np.ndarray:
        current = _require_initialized(self, current)
        np.subtract(current, value, out=current, casting="unsafe")
        return current


def _require_initialized(op: Node, current: np.ndarray | None) -> np.ndarray:
    if current is None:
        raise FailedPreconditionError("the variable is not initialised in this session", op)
    return current


def check_fits(op: Node, target: np.ndarray, value: Any, casting: str = "same_kind") -> None:
    """Raise unless ``value`` broadcasts to ``target``'s shape and casts to its dtype by
    ``casting`` (what an in-place update of ``target`` by ``value`` needs)."""
    shape = getattr(value, "shape", ())
    if shape != target.shape and shape != ():
        try:
            fits = np.broadcast_shapes(target.shape, shape) == target.shape
        except ValueError:
            fits = False
        if not fits:
            raise InvalidArgumentError(
                f"a value of shape {fmt(shape)} cannot update a variable of shape "
                f"{fmt(target.shape)}",
                op,
            )
    dtype = getattr(value, "dtype", None)
    if dtype is not None and dtype != target.dtype:
        if not np.can_cast(dtype, target.dtype, casting):
            raise InvalidArgumentError(
                f"a value of dtype {dtype} cannot update a variable of dtype {target.dtype}", op
            )


for _update_type in ("Assign", "AssignAdd", "AssignSub"):
    NotDifferentiable(_update_type)


def assign(ref: Variable, value: Any, name: str | None = None) -> Node:
    """Set ``ref`` to ``value`` when run; the node's value is the new value."""
    return Assign(ref, value, name=name)


def assign_add(ref: Variable, delta: Any, name: str | None = None) -> Node:
    return AssignAdd(ref, delta, name=name)


def assign_sub(ref: Variable, delta: Any, name: str | None = None) -> Node:
    return AssignSub(ref, delta, name=name)


class NoOp(Operation):
    """Does nothing itself; runs its control inputs (``group``). Fetching it gives ``None``."""

    op_type = "NoOp"
    is_update = True
    pure = False
    can_fail = False

    def __init__(self, control_inputs: Sequence[Node] = (), name: str | None = None):
        self._control = tuple(control_inputs)
        super().__init__([], name=name, control_inputs=self._control)

    def compute(self) -> None:
        return None


NotDifferentiable("NoOp")


def no_op(name: str | None = None) -> Node:
    return NoOp(name=name)


def group(*inputs: Any, name: str | None = None) -> Node:
    """An op that runs all ``inputs`` (nested lists allowed) and has no value."""
    flat: list[Node] = []
    stack = list(inputs)
    while stack:
        item = stack.pop(0)
        if isinstance(item, list | tuple):
            stack[:0] = list(item)
        elif item is not None:
            flat.append(item)
    if flat:
        with flat[0].graph.as_default():
            return NoOp(flat, name=name or "group_deps")
    return NoOp(name=name or "group_deps")


def global_variables(graph: Graph | None = None) -> list[Variable]:
    return (graph or get_default_graph()).get_collection(GraphKeys.GLOBAL_VARIABLES)


all_variables = global_variables


def trainable_variables(graph: Graph | None = None) -> list[Variable]:
    return (graph or get_default_graph()).get_collection(GraphKeys.TRAINABLE_VARIABLES)


def local_variables(graph: Graph | None = None) -> list[Variable]:
    return (graph or get_default_graph()).get_collection(GraphKeys.LOCAL_VARIABLES)


def variables_initializer(var_list: Sequence[Variable], name: str = "init") -> Node:
    """An op that (re)initialises ``var_list`` from their initial values."""
    return group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer() -> Node:
    return variables_initializer(global_variables())


initialize_all_variables = global_variables_initializer


def local_variables_initializer() -> Node:
    return variables_initializer(local_variables())


class _ReuseMode(enum.Enum):
    """``AUTO_REUSE``: ``get_variable`` returns the variable if it exists, else creates it."""

    AUTO_REUSE = 1


AUTO_REUSE = _ReuseMode.AUTO_REUSE

Reuse = bool | _ReuseMode | None


class _VariableScope:
    """``with variable_scope("layer", reuse=...)``: names variables ``layer/name`` for reuse."""

    def __init__(self, name: str, reuse: Reuse, absolute: bool = False):
        self.name = name
        self.reuse = reuse
        self.absolute = absolute

    def __enter__(self) -> _VariableScope:
        graph = get_default_graph()
        stack = graph.variable_scope_stack
        outer = stack[-1] if stack else None
        if outer is None or self.absolute:
            self.full_name = self.name
        else:
            self.full_name = f"{outer.full_name}/{self.name}"
        if outer is not None:
            self.reuse = self.reuse or outer.reuse  # TF1: inside a reusing scope, scopes reuse
        stack.append(self)
        self._names = graph.name_scope(self.full_name + "/")
        self._names.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._names.__exit__(*exc)
        get_default_graph().variable_scope_stack.pop()

    def reuse_variables(self) -> None:
        """From now on ``get_variable`` in this scope (and scopes opened inside) reuses."""
        self.reuse = True


def variable_scope(
    name_or_scope: str | _VariableScope, reuse: Reuse = None, **unused: Any
) -> _VariableScope:
    """TF1's variable scope: ``get_variable`` names inside it are ``scope/name``.

    A scope object captured with ``as`` re-opens that same scope, wherever it is entered.
    """
    if isinstance(name_or_scope, _VariableScope):
        return _VariableScope(name_or_scope.full_name, reuse or name_or_scope.reuse, True)
    return _VariableScope(str(name_or_scope), reuse)


def get_variable(
    name: str,
    shape: Any = None,
    dtype: Any = None,
    initializer: Any = None,
    trainable: bool = True,
    collections: Sequence[str] | None = None,
    **unused: Any,
) -> Variable:
    """TF1's ``get_variable``: create ``scope/name``, or return it inside a reusing scope.

    Nothing is added to the graph when the scope's reuse rules refuse the request.
    """
    graph = get_default_graph()
    scope = graph.variable_scope_stack[-1] if graph.variable_scope_stack else None
    full_name = f"{scope.full_name}/{name}" if scope else name
    reuse = scope.reuse if scope else None
    existing = graph.variables_by_name.get(full_name)
    if existing is not None:
        return _reused_variable(existing, full_name, reuse, shape)
    if reuse is True:
        raise GraphError(
            f"variable '{full_name}' does not exist, or was not created with get_variable(); "
            "did you mean to set reuse=AUTO_REUSE in the variable scope?"
        )
    with _variable_scope_names(graph, scope):
        variable = _new_variable(name, shape, dtype, initializer, trainable, collections)
    graph.variables_by_name[full_name] = variable
    return variable


def _variable_scope_names(graph: Graph, scope: Any) -> contextlib.AbstractContextManager[str]:
    """Name by the variable scope alone: TF1's ``get_variable`` ignores name scopes."""
    if scope is None:
        return graph.top_level_name_scope()
    return graph.name_scope(scope.full_name + "/")


def _reused_variable(variable: Variable, full_name: str, reuse: Reuse, shape: Any) -> Variable:
    """``variable`` if the scope reuses and ``shape`` (if given) is its shape, else an error."""
    if not reuse:
        raise GraphError(
            f"variable '{full_name}' already exists; use variable_scope(..., reuse=True) "
            "to share it"
        )
    wanted = None if shape is None else as_shape(shape)
    if wanted is not None and variable.shape is not None and wanted != variable.shape:
        raise ShapeError(
            f"trying to share variable '{full_name}' with shape {fmt(wanted)}, "
            f"but it has shape {fmt(variable.shape)}",
            variable,
        )
    return variable


def _new_variable(
    name: str,
    shape: Any,
    dtype: Any,
    initializer: Any,
    trainable: bool,
    collections: Sequence[str] | None,
) -> Variable:
    """A variable made from ``initializer`` (Glorot uniform by default), as ``get_variable`` does."""
    from . import init_ops

    dtype = as_dtype(dtype) or as_dtype("float32")
    if initializer is None:
        initializer = init_ops.glorot_uniform_initializer()
    initializer = init_ops.as_initializer(initializer)
    if callable(initializer) and not isinstance(initializer, Tensor):
        value = initializer(as_shape(shape), dtype=dtype)
    else:
        value = initializer
    return Variable(value, trainable=trainable, name=name, dtype=dtype, collections=collections)
