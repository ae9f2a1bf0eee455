"""Node kinds: Operation (the base of every op, built in or the user's), Constant, Placeholder.

An op is defined once: ``infer`` (static shape and dtype), ``compute`` (the NumPy kernel), and
its gradient registered beside it with ``@RegisterGradient``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType, as_dtype, float32, int32, int64, is_lossless_cast
from ..dtypes import bool as bool_
from ..errors import ChainruleError, DTypeError, InvalidArgumentError, ShapeError
from ..graph import Graph, Node, Tensor, get_default_graph, with_node
from .registry import register_op_type
from .shapes import Shape, as_shape, fmt, is_known

__all__ = [
    "Operation",
    "Constant",
    "Placeholder",
    "constant",
    "placeholder",
    "convert_to_tensor",
    "is_constant",
]


#: ops defined in these modules are checked by the library's own test suite
_LIBRARY = "chainrule."


class Operation(Node):
    """Base of every computing operation.

    Subclass it, call ``super().__init__([inputs...])``, implement ``compute(self, *values)``
    (and optionally ``infer(self, *inputs) -> (shape, dtype)``), then register the gradient
    with ``@RegisterGradient("ClassName")``. Non-tensor inputs are lifted to constants.
    Calling the class returns the output tensor (``cube(x) * 2.0`` works).

    An op with several outputs returns a list of ``(shape, dtype)`` from ``infer``, one per
    output (or sets ``num_outputs`` when it does not infer), its ``compute`` a tuple of values,
    and its gradient function takes ``(op, *grads)`` (``None`` for an output not used).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "op_type" not in cls.__dict__:
            cls.op_type = cls.__name__
        if "check_results" not in cls.__dict__:
            cls.check_results = not cls.__module__.startswith(_LIBRARY)
        register_op_type(cls.op_type, cls)

    def __init__(
        self,
        input_nodes: Sequence[Any] = (),
        name: str | None = None,
        control_inputs: Sequence[Node] = (),
    ):
        graph = graph_of(input_nodes)
        inputs = [convert_to_tensor(x, graph=graph) for x in input_nodes]
        self._setup(graph, inputs, name, control_inputs)
        try:
            self._set_output_specs(self.infer(*self.inputs))
        except ChainruleError as err:
            raise with_node(err, self) from None
        self._register()

    def _set_output_specs(self, inferred: Any) -> None:
        """One ``(shape, dtype)``, or a list of them for an op whose ``compute`` returns a
        tuple (its length is the number of outputs)."""
        if self.num_outputs != 1 and inferred == (None, None):
            inferred = [(None, None)] * self.num_outputs
        if isinstance(inferred, list):
            self.num_outputs = len(inferred)
            self.tuple_outputs = True
            self.set_output_specs([(as_shape(sh), as_dtype(dt)) for sh, dt in inferred])
        else:
            shape, dtype = inferred
            self.shape = as_shape(shape)
            self.dtype = as_dtype(dtype)

    def infer(self, *inputs: Tensor) -> Any:
        """Static output shape and dtype; unknown by default (user ops need not say)."""
        return None, None

    def compute(self, *values: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement compute(*values)")

    def kernel(self) -> Callable[..., Any]:
        """The function a compiled plan calls with the input values (``compute`` by default)."""
        return self.compute


def check_user_value(node: Node, value: Any) -> Any:
    """A user op's result must be numbers, shaped as its ``infer`` said when that was fully
    known: a wrong value would otherwise flow on silently into the ops that read it."""
    kind = np.asarray(value).dtype.kind if _is_numbers(value) else None
    if kind is None or kind not in "biuf":
        raise InvalidArgumentError(
            f"compute() returned {_describe_value(value)}; it must return a NumPy array or number",
            node,
        )
    if is_known(node.shape) and np.shape(value) != node.shape:
        raise InvalidArgumentError(
            f"compute() returned a value of shape {fmt(np.shape(value))}, but infer() "
            f"declared {fmt(node.shape)}",
            node,
        )
    return value


def _is_numbers(value: Any) -> bool:
    return isinstance(value, np.ndarray | np.generic | int | float | bool | list | tuple)


def _describe_value(value: Any) -> str:
    return f"a {type(value).__name__} ({_short(value)})"


def graph_of(values: Sequence[Any]) -> Graph:
    """The graph of the first tensor among ``values``, else the default graph."""
    for value in values:
        if isinstance(value, Tensor | Node):
            return value.graph
    return get_default_graph()


class Constant(Node):
    """A fixed value stored in the graph (read-only)."""

    op_type = "Const"

    def __init__(
        self,
        value: Any,
        dtype: Any = None,
        shape: Any = None,
        name: str | None = None,
        graph: Graph | None = None,
        weak: bool = False,
    ):
        graph = graph or get_default_graph()
        self._setup(graph, (), name)
        try:
            self.value = _constant_value(value, as_dtype(dtype), as_shape(shape), weak)
        except ChainruleError as err:
            raise with_node(err, self) from None
        self.weak = weak and dtype is None and isinstance(self.value, int | float | bool)
        if self.weak:
            self.shape, self.dtype = (), None
        else:
            self.shape, self.dtype = self.value.shape, as_dtype(self.value.dtype)
        self._register()

    def compute(self) -> Any:
        return self.value

    def kernel(self) -> Callable[[], Any]:
        return self.compute

    def known_value(self) -> Any:
        """Its ints as nested tuples (scalars, vectors and matrices of sizes)."""
        value = np.asarray(self.value)
        if value.dtype.kind not in "iu" or value.ndim > 2:
            return None
        return _as_tuples(value.tolist())


def _as_tuples(value: Any) -> Any:
    """Nested lists as nested tuples (ints and ``None`` stay as they are)."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, list) else value


def known_value(node: Tensor) -> Any:
    """What the graph tells of the int tensor ``node`` before it runs: an int (or ``None``) for
    a scalar, nested tuples of ints and ``None``s for a vector or matrix of known shape, ``None``
    when not even the shape is known. The ops say what they know of their first output
    (``Node.known_value``)."""
    if node.dtype is not None and not node.dtype.is_integer:
        return None
    found = node.op.known_value() if node.value_index == 0 else None
    if found is not None:
        return found
    if node.shape is None or None in node.shape or not node.shape or len(node.shape) > 2:
        return None
    return _as_tuples(np.full(node.shape, None, dtype=object).tolist())


def fully_known(value: Any) -> bool:
    """Whether a ``known_value`` holds no unknown entry."""
    if isinstance(value, tuple):
        return all(fully_known(v) for v in value)
    return value is not None


def is_constant(value: Any) -> bool:
    """Whether ``value`` is the output of a ``Const`` op (its value known at build time)."""
    return isinstance(value, Tensor) and isinstance(value.op, Constant)


def _constant_value(value: Any, dtype: DType | None, shape: Shape, weak: bool) -> Any:
    if weak and dtype is None and type(value) in (int, float, bool):
        return value
    array = _to_array(value, dtype)
    if shape is not None:
        array = _shaped(array, shape)
    array = np.array(array, copy=True)
    array.flags.writeable = False
    return array


def _shaped(array: np.ndarray, shape: tuple[int | None, ...]) -> np.ndarray:
    """``array`` in the constant's requested ``shape``: one value fills it, else a reshape."""
    if None in shape:
        raise ShapeError(f"a constant's shape must be fully known, got {fmt(shape)}")
    if array.size == 1:
        return np.full(shape, array.reshape(()), dtype=array.dtype)
    if array.size != int(np.prod(shape)):
        raise ShapeError(
            f"cannot give {array.size} values the shape {fmt(shape)}; pass one value to fill "
            f"it or exactly {int(np.prod(shape))}"
        )
    return array.reshape(shape)


def _to_array(value: Any, dtype: DType | None) -> np.ndarray:
    """Python values follow TF1 (floats are float32, ints int32); NumPy values keep their dtype."""
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
    else:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError):  # NumPy refuses ragged nesting outright
            raise InvalidArgumentError(
                f"cannot make a tensor of {_short(value)} (ragged or non-numeric)"
            ) from None
        if array.dtype == object:
            _refuse_oversized_ints(value)
            raise InvalidArgumentError(f"cannot make a tensor of {value!r} (ragged or non-numeric)")
        if array.dtype.kind == "f" and dtype is None:
            array = array.astype(np.float32)
        elif array.dtype.kind in "iu" and dtype is None:
            array = array.astype(_python_int_dtype(array, value))
    if array.dtype.kind not in "biuf":
        raise InvalidArgumentError(f"cannot make a tensor of {value!r} (dtype {array.dtype})")
    if dtype is not None and array.dtype != dtype.np:
        if not is_lossless_cast(array, dtype.np):
            raise DTypeError(f"cannot convert {_short(value)} to {dtype.name} without loss")
        array = array.astype(dtype.np)
    return array


def _python_int_dtype(array: np.ndarray, value: Any) -> type:
    """TF1's dtype for Python ints: int32 when every one fits, else int64, else an error."""
    if array.size == 0:
        return np.int32
    low, high = int(array.min()), int(array.max())
    if _INT32.min <= low and high <= _INT32.max:
        return np.int32
    if _INT64.min <= low and high <= _INT64.max:
        return np.int64
    raise InvalidArgumentError(_too_large_message(value))


def _refuse_oversized_ints(value: Any) -> None:
    """Python ints beyond int64 come out of NumPy as objects: say so, not "non-numeric"."""
    flat = np.asarray(value, dtype=object).ravel()
    if flat.size and all(type(v) is int for v in flat):
        raise InvalidArgumentError(_too_large_message(value))


def _too_large_message(value: Any) -> str:
    return (
        f"cannot make a tensor of {_short(value)}: an integer there does not fit int64 "
        f"(from {_INT64.min} to {_INT64.max}); use a float, e.g. constant(float(n))"
    )


_INT32 = np.iinfo(np.int32)
_INT64 = np.iinfo(np.int64)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def constant(value: Any, dtype: Any = None, shape: Any = None, name: str | None = None) -> Tensor:
    """The output of a ``Const`` op; ``constant(1.0)`` is float32 as in TF1, NumPy values keep
    their dtype."""
    return Constant(value, dtype=dtype, shape=shape, name=name or "Const")


def convert_to_tensor(
    value: Any,
    dtype: Any = None,
    name: str | None = None,
    graph: Graph | None = None,
    dtype_hint: DType | None = None,
) -> Tensor:
    """Return ``value`` if it is a tensor, else a constant; ``dtype_hint`` types weak values."""
    if isinstance(value, Node):
        if len(value.outputs) != 1:
            raise InvalidArgumentError(
                f"{value.op_type} '{value.name}' is an operation with {len(value.outputs)} "
                "outputs, not a tensor; use op.outputs[i]"
            )
        value = value.outputs[0]
    if isinstance(value, Tensor):
        dtype = as_dtype(dtype)
        if dtype is not None and value.dtype is not None and value.dtype != dtype:
            raise DTypeError(f"expected {dtype.name}, got {value.dtype.name}", value)
        return value
    if hasattr(value, "_as_node"):
        return value._as_node()
    if isinstance(value, list | tuple) and _holds_tensor(value):
        return _packed(value, dtype, name)
    if dtype is None and dtype_hint is not None:
        return Constant(value, dtype=dtype_hint, name=name or "Const", graph=graph)
    weak = dtype is None and type(value) in (int, float, bool)
    return Constant(value, dtype=dtype, name=name or "Const", graph=graph, weak=weak)


def _holds_tensor(value: Any) -> bool:
    """Whether nested lists or tuples hold a tensor somewhere."""
    if isinstance(value, Tensor | Node):
        return True
    return isinstance(value, list | tuple) and any(_holds_tensor(v) for v in value)


def _packed(value: list | tuple, dtype: Any, name: str | None) -> Tensor:
    """TF1's auto-packing: a list holding tensors (and numbers) is their ``stack``, so that
    ``reduce_mean([loss1, loss2])`` works; nested lists stack level by level."""
    from .array_ops import stack

    items = [
        _packed(v, dtype, None) if isinstance(v, list | tuple) and _holds_tensor(v) else v
        for v in value
    ]
    packed = stack(items, name=name or "packed")
    return convert_to_tensor(packed, dtype=dtype)


def lift_operands(values: Sequence[Any]) -> list[Tensor]:
    """Lift the non-tensor operands of an elementwise op, typed like the tensor operands (TF1)."""
    graph = graph_of(values)
    hint = next((v.dtype for v in values if isinstance(v, Tensor) and v.dtype is not None), None)
    has_node = any(isinstance(v, Tensor) for v in values)
    lifted: list[Tensor] = []
    for value in values:
        if isinstance(value, Tensor):
            lifted.append(value)
        elif not has_node and not lifted:
            lifted.append(
                convert_to_tensor(value, graph=graph, dtype_hint=default_dtype_for(value))
            )
            hint = lifted[0].dtype
            has_node = True
        else:
            lifted.append(convert_to_tensor(value, graph=graph, dtype_hint=hint))
    return lifted


def default_dtype_for(value: Any) -> DType | None:
    """TF1's dtype for a bare Python scalar: bool, int32 (int64 when it does not fit) or float32
    (None for anything else)."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int32 if _INT32.min <= value <= _INT32.max else int64
    if isinstance(value, float):
        return float32
    return None


class Placeholder(Node):
    """A value supplied at run time through ``feed_dict``."""

    op_type = "Placeholder"

    def __init__(self, dtype: Any = None, shape: Any = None, name: str | None = None):
        self._setup(get_default_graph(), (), name)
        try:
            self.dtype = as_dtype(dtype)
            self.shape = as_shape(shape)
        except ChainruleError as err:
            raise with_node(err, self) from None
        self._register()

    def check_feed(self, value: Any) -> np.ndarray:
        """Convert a fed value, refusing lossy casts and incompatible shapes."""
        return check_feed_value(self, value)


def check_feed_value(node: Any, value: Any) -> np.ndarray:
    """The fed ``value`` as an array of ``node``'s dtype and shape, or a clear error."""
    try:
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (ValueError, TypeError) as err:
        raise InvalidArgumentError(f"cannot use the fed value as a tensor: {err}", node) from None
    if array.dtype.kind not in "biuf":
        raise InvalidArgumentError(
            f"fed a value of dtype {array.dtype} ({_short(value)}); expected numbers", node
        )
    if node.dtype is not None and array.dtype != node.dtype.np:
        if not is_lossless_cast(array, node.dtype.np):
            raise InvalidArgumentError(
                f"expected dtype {node.dtype.name}, got {array.dtype} values that do not "
                f"convert without loss",
                node,
            )
        array = array.astype(node.dtype.np)
    if node.shape is not None and not shape_matches(node.shape, array.shape):
        raise InvalidArgumentError(
            f"expected shape {fmt(node.shape)}, got {fmt(array.shape)}", node
        )
    return array


def shape_matches(static: tuple[int | None, ...], actual: tuple[int, ...]) -> bool:
    return len(static) == len(actual) and all(
        s is None or s == a for s, a in zip(static, actual, strict=True)
    )


def placeholder(dtype: Any = None, shape: Any = None, name: str | None = None) -> Tensor:
    """The output of a ``Placeholder`` op, fed at run time; untyped placeholders accept any
    numeric value (as the Deep Learning From Scratch programs feed lists)."""
    return Placeholder(dtype=dtype, shape=shape, name=name)


def require_shape(condition: bool, message: str) -> None:
    if not condition:
        raise ShapeError(message)
