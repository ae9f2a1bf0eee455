"""Shape ops: shape, size and rank queries, reshape, transpose, expand_dims, squeeze.

Also the argument helpers the other array op modules share: static ints and axes, static shapes
and shape arguments that may be int vector nodes. Each op states its static shape rule
(``infer``), its NumPy kernel and, right below it, its gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..dtypes import DType, as_dtype, int32
from ..errors import DTypeError, InvalidArgumentError, ShapeError
from ..graph import Node, PlanValue, Tensor
from .base import Operation, fully_known, is_constant, known_value
from .plan_facts import adds_leading_ones, unchanged_shape
from .registry import NotDifferentiable, RegisterGradient
from .shapes import Shape, fmt, is_int, is_known

__all__ = [
    "reshape",
    "transpose",
    "invert_permutation",
    "expand_dims",
    "squeeze",
    "shape",
    "size",
    "rank",
]


# -- argument helpers -------------------------------------------------------------------------------
def _static_int(value: Any, what: str) -> int:
    """``value`` as a Python int (ints, NumPy integers and integer constants are accepted)."""
    if is_constant(value):
        value = value.op.value
    if isinstance(value, bool | np.bool_):
        raise InvalidArgumentError(f"{what} must be an int, got {value!r}")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
        return int(value)
    if isinstance(value, Tensor):
        raise InvalidArgumentError(f"{what} must be a static int, not the node '{value.name}'")
    raise InvalidArgumentError(f"{what} must be an int, got {value!r}")


def _static_ints(values: Any, what: str) -> tuple[int, ...]:
    """A list of static ints (a single int becomes a one-element list)."""
    if is_constant(values):
        values = values.op.value
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if isinstance(values, int | np.integer) and not isinstance(values, bool | np.bool_):
        return (int(values),)
    if not isinstance(values, Sequence) or isinstance(values, str):
        return (_static_int(values, what),)
    return tuple(_static_int(v, what) for v in values)


def _axis(axis: int, rank: int, what: str, extra: int = 0) -> int:
    """``axis`` made non-negative for a tensor of ``rank``; ``extra=1`` where a new axis goes."""
    n = rank + extra
    if not -n <= axis < n:
        valid = f"[{-n}, {n - 1}]" if n else "none (the tensor is a scalar)"
        raise ShapeError(f"{what} {axis} is out of range for rank {rank}; valid axes: {valid}")
    return axis % n


def _common_dtype(nodes: Sequence[Tensor]) -> DType | None:
    from .elementwise import common_dtype

    return common_dtype(list(nodes))


# -- shape arguments --------------------------------------------------------------------------------
#: the most dimensions a NumPy array (so a tensor) can have
MAX_RANK = 64


def _static_shape(shape: Any, what: str) -> tuple[int, ...]:
    """A fully known static shape from an int, list, tuple, array or ``TensorShape``."""
    dims = getattr(shape, "dims", shape)
    if dims is None:
        raise ShapeError(f"{what} must be fully known, got an unknown shape")
    if is_constant(dims):
        dims = dims.op.value
    if isinstance(dims, np.ndarray):
        dims = dims.tolist()
    if not isinstance(dims, Sequence):
        dims = [dims]
    if any(d is None for d in dims):
        raise ShapeError(f"{what} must be fully known, got {fmt(tuple(dims))}")
    out = tuple(_static_int(d, what) for d in dims)
    if any(d < 0 for d in out):
        raise ShapeError(f"{what} has a negative dimension: {fmt(out)}")
    if len(out) > MAX_RANK:
        raise ShapeError(f"{what} has {len(out)} dimensions; arrays have at most {MAX_RANK}")
    return out


def _holds_node(value: Any) -> bool:
    """Whether a (nested) list holds a node somewhere."""
    if isinstance(value, Tensor):
        return True
    return isinstance(value, list | tuple) and any(_holds_node(v) for v in value)


def _shape_operand(shape: Any) -> Any:
    """A size argument as given, or one int node when its (nested) list holds scalar nodes
    (``[shape(x)[0], 10]``, ``[[0, n], [1, 1]]``), stacked as TF1 packs such lists."""
    if isinstance(shape, list | tuple) and _holds_node(shape):
        from .array_ops import stack

        return stack([_shape_operand(d) for d in shape], axis=0)
    return shape


def _static_or_node(value: Any) -> Any:
    """A size argument as a static value when the graph already tells all of it (ints, lists,
    constants, ``shape(x)`` of a known shape), else as the int node that holds it at run time."""
    value = _shape_operand(value)
    if not isinstance(value, Tensor):
        return value
    known = known_value(value)
    return known if fully_known(known) else value


def _check_int_node(node: Node, what: str) -> None:
    """A DTypeError unless ``node`` holds integers."""
    if node.dtype is not None and not node.dtype.is_integer:
        raise DTypeError(f"{what} must be integers, got {node.dtype.name}")


def constant_value_as_shape(shape_node: Node) -> Shape:
    """The static shape an int vector node describes: the entries the graph already knows
    (constants, ``shape(x)`` of a partly known ``x``, stacks, concats and slices of those),
    ``None`` for the others, or ``None`` when even its length is unknown (TF1's
    ``constant_value_as_shape``)."""
    _check_int_node(shape_node, "a shape")
    if shape_node.shape is not None and len(shape_node.shape) != 1:
        raise ShapeError(f"a shape must be a vector, got a tensor of shape {fmt(shape_node.shape)}")
    known = known_value(shape_node)
    return None if known is None else tuple(known)


def runtime_sizes(value: Any, what: str, node: Node, lowest: int = 0) -> tuple[int, ...]:
    """The ints of a size argument given at run time, or an InvalidArgumentError naming
    ``node`` when one is below ``lowest`` or not an integer."""
    array = np.asarray(value)
    if array.dtype.kind not in "iu":
        raise InvalidArgumentError(f"{what} must be integers, got {array.dtype}", node)
    sizes = tuple(int(v) for v in array.reshape(-1))
    if any(v < lowest for v in sizes):
        raise InvalidArgumentError(f"{what} must be >= {lowest}, got {list(sizes)}", node)
    return sizes


# -- shape, size, rank ------------------------------------------------------------------------------
class ShapeOf(Operation):
    """The run-time shape of ``x`` as an int32 vector."""

    op_type = "Shape"
    differentiable = False

    def __init__(self, x: Any, out_type: Any = int32, name: str | None = None):
        self.out_type = as_dtype(out_type)
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        return (None if x.shape is None else len(x.shape),), self.out_type

    def compute(self, x: Any) -> np.ndarray:
        return np.array(np.shape(x), dtype=self.out_type.np)

    def known_value(self) -> Any:
        """The static shape of ``x``: its known sizes are known values."""
        x = self.inputs[0]
        return None if x.shape is None else tuple(x.shape)


NotDifferentiable("Shape")


def shape(input: Any, name: str | None = None, out_type: Any = int32) -> Tensor:  # noqa: A002
    """The run-time shape of ``input`` as an int vector (``x.shape`` is the static one)."""
    return ShapeOf(input, out_type=out_type, name=name)


class Size(Operation):
    """The number of elements of ``x`` at run time."""

    op_type = "Size"
    differentiable = False

    def __init__(self, x: Any, out_type: Any = int32, name: str | None = None):
        self.out_type = as_dtype(out_type)
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        return (), self.out_type

    def compute(self, x: Any) -> np.ndarray:
        return np.array(np.size(x), dtype=self.out_type.np)


class Rank(Size):
    """The number of dimensions of ``x`` at run time."""

    op_type = "Rank"

    def compute(self, x: Any) -> np.ndarray:
        return np.array(np.ndim(x), dtype=self.out_type.np)


NotDifferentiable("Size")
NotDifferentiable("Rank")


def size(input: Any, name: str | None = None, out_type: Any = int32) -> Tensor:  # noqa: A002
    """The number of elements of ``input``."""
    return Size(input, out_type=out_type, name=name)


def rank(input: Any, name: str | None = None) -> Tensor:  # noqa: A002
    """The number of dimensions of ``input``."""
    return Rank(input, name=name)


# -- reshape ------------------------------------------------------------------------------------
def _reshape_back(grad: Tensor, x: Tensor) -> Tensor:
    """``grad`` reshaped to ``x``'s shape, statically when known, else at run time."""
    if is_known(x.shape):
        return grad if grad.shape == x.shape else reshape(grad, x.shape)
    return ReshapeLike(grad, x)


class Reshape(Operation):
    """Reshape to a static target (``-1`` allowed once) or to a shape given by a node."""

    op_type = "Reshape"
    alias_inputs = (0,)
    numeric = True

    def __init__(self, x: Any, shape: Any, name: str | None = None):
        self.target_spec = shape
        inputs = [x, shape] if isinstance(shape, Tensor) else [x]
        super().__init__(inputs, name=name)

    def infer(self, x: Tensor, shape_node: Tensor | None = None) -> tuple[Shape, DType | None]:
        if shape_node is None:
            self.target = _reshape_target(self.target_spec)
            _check_reshape(x.shape, self.target)
            return self.shape_rule(x.shape), x.dtype
        self.target = None
        self.partial_target = constant_value_as_shape(shape_node)
        if self.partial_target is not None and None not in self.partial_target:
            _check_reshape(x.shape, self.partial_target)
        return self.shape_rule(x.shape), x.dtype

    def shape_rule(self, x: Shape, *shape_node: Shape) -> Shape:
        """The target, its ``-1`` worked out from ``x``; for a target given by a node, the
        entries the graph knows (a ``-1`` beside unknown entries stays unknown, as in TF1)."""
        if self.target is not None:
            return _reshaped(x, self.target)
        target = self.partial_target
        if target is None or None not in target:
            return None if target is None else _reshaped(x, target)
        return tuple(None if d == -1 else d for d in target)

    def passthrough(self, args: Sequence[PlanValue], out: PlanValue) -> int | None:
        return unchanged_shape(args, out)

    def broadcast_source(self, args: Sequence[PlanValue], out_sym: Any) -> bool:
        return adds_leading_ones(args, out_sym)

    def compute(self, x: Any, shape_value: Any = None) -> np.ndarray:
        target = self.target
        if shape_value is not None:
            target = runtime_sizes(shape_value, "a reshape target", self, lowest=-1)
        try:
            return np.reshape(x, target)
        except ValueError:
            raise ShapeError(
                f"cannot reshape a value of shape {fmt(np.shape(x))} ({np.size(x)} elements) "
                f"into {fmt(target)}",
                self,
            ) from None


def _reshape_target(shape: Any) -> tuple[int, ...]:
    dims = getattr(shape, "dims", shape)
    if is_constant(dims):
        dims = dims.op.value
    if isinstance(dims, np.ndarray):
        dims = dims.reshape(-1).tolist()
    if not isinstance(dims, Sequence):
        dims = [dims]
    if any(d is None for d in dims):
        raise ShapeError(f"reshape target {fmt(tuple(dims))} has unknown dimensions; use -1 once")
    target = tuple(_static_int(d, "reshape target") for d in dims)
    if any(d < -1 for d in target):
        raise ShapeError(f"reshape target {fmt(target)} has a negative dimension")
    return target


def _reshaped(source: Shape, target: tuple[int, ...]) -> Shape:
    """``target`` with its ``-1`` (if any) worked out from the ``source`` shape: known sizes
    divide out, one unknown size (or symbol) may remain; None where it cannot be told."""
    if -1 not in target:
        return tuple(target)
    rest = int(np.prod([d for d in target if d != -1], dtype=np.int64))
    return tuple(_inferred_dim(source, rest) if d == -1 else d for d in target)


def _inferred_dim(source: Shape, rest: int) -> Any:
    if source is None:
        return None
    unknown = [d for d in source if not is_int(d)]
    known = int(np.prod([d for d in source if is_int(d)], dtype=np.int64))
    if not unknown:
        return known // rest if rest else None
    if len(unknown) == 1 and known == rest:
        return unknown[0]
    return None


def _check_reshape(in_shape: Shape, target: tuple[int, ...]) -> None:
    """A ShapeError unless a value of ``in_shape`` may be reshaped into ``target``."""
    if target.count(-1) > 1:
        raise ShapeError(f"reshape target {fmt(target)} has more than one -1")
    if in_shape is None:
        return
    if not is_known(in_shape):
        _check_partial_reshape(in_shape, target)
        return
    total = int(np.prod(in_shape, dtype=np.int64))
    if -1 in target:
        rest = int(np.prod([d for d in target if d != -1], dtype=np.int64))
        if rest == 0 or total % rest:
            raise ShapeError(
                f"cannot reshape {fmt(in_shape)} ({total} elements) into {fmt(target)}"
            )
    elif int(np.prod(target, dtype=np.int64)) != total:
        raise ShapeError(
            f"cannot reshape {fmt(in_shape)} ({total} elements) into {fmt(target)} "
            f"({int(np.prod(target, dtype=np.int64))} elements)"
        )


def _check_partial_reshape(in_shape: tuple[int | None, ...], target: tuple[int, ...]) -> None:
    """With some input dims unknown, the known ones must still divide a fixed target's size."""
    known = int(np.prod([d for d in in_shape if d is not None], dtype=np.int64))
    if -1 in target or known == 0:
        return
    wanted = int(np.prod(target, dtype=np.int64))
    if wanted % known:
        raise ShapeError(
            f"cannot reshape {fmt(in_shape)} (a multiple of {known} elements) into "
            f"{fmt(target)} ({wanted} elements)"
        )


@RegisterGradient("Reshape")
def _reshape_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [_reshape_back(grad, op.inputs[0])] + [None] * (len(op.inputs) - 1)


class ReshapeLike(Operation):
    """Reshape ``x`` to the run-time shape of ``like``."""

    op_type = "ReshapeLike"
    alias_inputs = (0,)
    numeric = True

    def __init__(self, x: Tensor, like: Tensor, name: str | None = None):
        super().__init__([x, like], name=name)

    def infer(self, x: Tensor, like: Tensor) -> tuple[Shape, DType | None]:
        return self.shape_rule(x.shape, like.shape), x.dtype

    def shape_rule(self, x: Shape, like: Shape) -> Shape:
        return like

    def passthrough(self, args: Sequence[PlanValue], out: PlanValue) -> int | None:
        return unchanged_shape(args, out)

    def compute(self, x: Any, like: Any) -> np.ndarray:
        return np.reshape(x, np.shape(like))


@RegisterGradient("ReshapeLike")
def _reshape_like_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [_reshape_back(grad, op.inputs[0]), None]


def reshape(tensor: Any, shape: Any, name: str | None = None) -> Tensor:
    """Reshape; one dimension may be ``-1``. ``shape`` may also be a node (e.g. ``shape(y)``)."""
    return Reshape(tensor, _shape_operand(shape), name=name)


# -- transpose, expand_dims, squeeze --------------------------------------------------------------
class Transpose(Operation):
    """Permute the axes: output axis ``i`` is input axis ``perm[i]`` (reversed when ``perm`` is
    None). A ``perm`` known only at run time is a second input, an int vector."""

    op_type = "Transpose"

    def __init__(self, x: Any, perm: Any = None, name: str | None = None):
        self.perm_spec = perm
        super().__init__([x] if not isinstance(perm, Tensor) else [x, perm], name=name)

    def infer(self, x: Tensor, perm_node: Tensor | None = None) -> tuple[Shape, DType | None]:
        if perm_node is not None:
            self.perm = None
            return _runtime_perm_shape(x.shape, perm_node), x.dtype
        if self.perm_spec is None:
            self.perm = None
            return (None if x.shape is None else x.shape[::-1]), x.dtype
        perm = self.perm = _static_ints(self.perm_spec, "transpose perm")
        if x.shape is not None and len(perm) != len(x.shape):
            raise ShapeError(
                f"perm {list(perm)} has {len(perm)} entries for a tensor of shape "
                f"{fmt(x.shape)} (rank {len(x.shape)})"
            )
        if sorted(perm) != list(range(len(perm))):
            raise ShapeError(f"perm {list(perm)} is not a permutation of 0..{len(perm) - 1}")
        if x.shape is None:
            return (None,) * len(perm), x.dtype
        return tuple(x.shape[p] for p in perm), x.dtype

    def compute(self, x: Any, perm: Any = None) -> np.ndarray:
        if perm is None:
            return np.transpose(x, self.perm)
        return np.transpose(x, _runtime_perm(perm, np.ndim(x), self))


def _runtime_perm_shape(shape: Shape, perm: Tensor) -> Shape:
    """TF1's static shape of a transpose by a perm known only at run time: its rank (from the
    input or the perm's length), every dimension unknown."""
    _check_int_node(perm, "transpose perm")
    if perm.shape is not None and len(perm.shape) != 1:
        raise ShapeError(f"transpose perm must be a vector, got shape {fmt(perm.shape)}")
    length = None if perm.shape is None else perm.shape[0]
    if shape is not None and length is not None and length != len(shape):
        raise ShapeError(
            f"perm has {length} entries for a tensor of shape {fmt(shape)} (rank {len(shape)})"
        )
    rank = len(shape) if shape is not None else length
    return None if rank is None else (None,) * rank


def _runtime_perm(value: Any, rank: int, node: Node) -> tuple[int, ...]:
    """The permutation a perm input holds at run time, or an InvalidArgumentError naming
    ``node`` unless it permutes 0..rank-1."""
    perm = runtime_sizes(value, "transpose perm", node)
    if sorted(perm) != list(range(rank)):
        raise InvalidArgumentError(
            f"transpose perm {list(perm)} is not a permutation of 0..{rank - 1} "
            f"(the tensor has rank {rank})",
            node,
        )
    return perm


@RegisterGradient("Transpose")
def _transpose_grad(op: Operation, grad: Tensor) -> Tensor | list[Tensor | None]:
    if len(op.inputs) == 2:
        return [transpose(grad, invert_permutation(op.inputs[1])), None]
    inverse = None if op.perm is None else [int(i) for i in np.argsort(op.perm)]
    return transpose(grad, inverse)


def transpose(a: Any, perm: Any = None, name: str | None = None) -> Tensor:
    """Permute the dimensions of ``a`` (reverse them when ``perm`` is None), as ``tf.transpose``;
    ``perm`` may be an int vector node known only at run time."""
    if perm is not None:
        perm = _static_or_node(perm)
    return Transpose(a, perm, name=name)


class InvertPermutation(Operation):
    """The inverse of an int vector permutation: ``y[x[i]] = i`` (the gradient of a transpose by
    a run-time perm transposes back by it)."""

    op_type = "InvertPermutation"
    differentiable = False

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        _check_int_node(x, "invert_permutation input")
        if x.shape is not None and len(x.shape) != 1:
            raise ShapeError(f"invert_permutation needs a vector, got shape {fmt(x.shape)}")
        return x.shape, x.dtype

    def compute(self, x: Any) -> np.ndarray:
        perm = np.asarray(x)
        _runtime_perm(perm, perm.size, self)
        return np.argsort(perm).astype(perm.dtype)


def invert_permutation(x: Any, name: str | None = None) -> Tensor:
    """``tf.invert_permutation``: the permutation that undoes the int vector ``x``."""
    return InvertPermutation([x], name=name)


class ExpandDims(Operation):
    """Insert an axis of size 1 at ``axis`` (``-1`` appends)."""

    op_type = "ExpandDims"

    def __init__(self, x: Any, axis: Any, name: str | None = None):
        self.axis_spec = axis
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        self.axis = _static_int(self.axis_spec, "expand_dims axis")
        if x.shape is None:
            return None, x.dtype
        a = _axis(self.axis, len(x.shape), "expand_dims axis", extra=1)
        return x.shape[:a] + (1,) + x.shape[a:], x.dtype

    def compute(self, x: Any) -> np.ndarray:
        return np.expand_dims(x, self.axis)


@RegisterGradient("ExpandDims")
def _expand_dims_grad(op: Operation, grad: Tensor) -> Tensor:
    return _reshape_back(grad, op.inputs[0])


def expand_dims(
    input: Any,  # noqa: A002
    axis: Any = None,
    name: str | None = None,
    dim: Any = None,
) -> Tensor:
    """Insert a size-1 axis at ``axis`` (TF1's older keyword ``dim`` is accepted)."""
    if axis is None:
        axis = dim
    if axis is None:
        raise InvalidArgumentError("expand_dims needs an axis")
    return ExpandDims(input, axis, name=name)


class Squeeze(Operation):
    """Remove axes of size 1: all of them, or those listed in ``axis``."""

    op_type = "Squeeze"

    def __init__(self, x: Any, axis: Any = None, name: str | None = None):
        self.axis_spec = axis
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        self.axes = None if self.axis_spec is None else _static_ints(self.axis_spec, "squeeze axis")
        if x.shape is None:
            return None, x.dtype
        if self.axes is None:
            if not is_known(x.shape):
                return None, x.dtype
            return tuple(d for d in x.shape if d != 1), x.dtype
        axes = {_axis(a, len(x.shape), "squeeze axis") for a in self.axes}
        for a in sorted(axes):
            if x.shape[a] not in (None, 1):
                raise ShapeError(
                    f"cannot squeeze axis {a} of shape {fmt(x.shape)}: its size is "
                    f"{x.shape[a]}, not 1"
                )
        return tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype

    def compute(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        if self.axes is None:
            return np.squeeze(x)
        axes = tuple(sorted({a % max(x.ndim, 1) for a in self.axes}))
        if any(x.shape[a] != 1 for a in axes):
            raise ShapeError(f"cannot squeeze axes {list(axes)} of a value of shape {fmt(x.shape)}")
        return np.squeeze(x, axis=axes)


@RegisterGradient("Squeeze")
def _squeeze_grad(op: Operation, grad: Tensor) -> Tensor:
    return _reshape_back(grad, op.inputs[0])


def squeeze(
    input: Any,  # noqa: A002
    axis: Any = None,
    name: str | None = None,
    squeeze_dims: Any = None,
) -> Tensor:
    """Remove size-1 axes (all, or those in ``axis``; TF1's ``squeeze_dims`` is accepted)."""
    if axis is None:
        axis = squeeze_dims
    return Squeeze(input, axis, name=name)
