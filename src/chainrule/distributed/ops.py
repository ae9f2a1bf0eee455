"""Collectives as graph ops: ``allreduce``, ``allgather``, ``broadcast``, with gradients.

Each is an ordinary op in the plan of ``Session.run``. It declares that it communicates
(``pure = False``: never folded, merged with another or dropped, so every rank runs the
same collectives) but changes nothing in the session (``changes_state = False``), and that it
can fail (a collective that times out): a run whose collective fails changes no variable, as
every run that raises. Every rank must run the same collectives in the same order, as in
Horovod; ops built by the same program on every rank have the same names, which the
collectives check before moving any data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType, float32, uint8
from ..errors import DTypeError, InvalidArgumentError
from ..graph import Node
from ..ops.array_ops import concat
from ..ops.base import Operation, convert_to_tensor
from ..ops.math_ops import cast
from ..ops.registry import NotDifferentiable, RegisterGradient
from ..ops.shape_ops import reshape
from ..ops.shapes import Shape
from ..ops.slice_ops import split
from ..ops.state_ops import Variable, assign, global_variables, group
from .world import CollectiveError, world

__all__ = [
    "allreduce",
    "allgather",
    "broadcast",
    "broadcast_variables",
    "broadcast_global_variables",
    "reduce_packed",
]

#: the dtypes MPI has a datatype for (it has no 16-bit float)
_MPI_KINDS = "iuf"


def _check_dtype(op: Node, x: Node) -> None:
    dtype = x.dtype
    if dtype is not None and (
        dtype.np.kind not in _MPI_KINDS or dtype.np.itemsize < 4 and dtype.np.kind == "f"
    ):
        raise DTypeError(
            f"MPI collectives take integer or 32/64-bit float tensors, got {dtype.name}"
            + ("; cast it to float32 first" if dtype.np.kind == "f" else ""),
            op,
        )


class _Collective(Operation):
    """What every collective declares to the plan compiler."""

    pure = False  # it communicates: never folded, merged or dropped
    changes_state = False  # but it changes nothing in the session
    numeric = True
    alias_inputs = ()  # a fresh array every time

    def compute(self, *values: Any) -> Any:
        try:
            return self.communicate(*values)
        except CollectiveError as err:
            raise err.at(self) from None

    def communicate(self, *values: Any) -> Any:
        raise NotImplementedError


class MPIAllreduce(_Collective):
    """The sum (``average``: the mean) of ``x`` over all ranks."""

    def __init__(self, x: Any, average: bool, name: str | None = None):
        self.average = bool(average)
        super().__init__([x], name=name)

    def infer(self, x: Node) -> tuple[Shape, DType | None]:
        _check_dtype(self, x)
        if self.average and x.dtype is not None and not x.dtype.is_floating:
            raise DTypeError(
                f"the average of {x.dtype.name} tensors is not an integer; use average=False "
                "for a sum, or cast to a float first",
                self,
            )
        return x.shape, x.dtype

    def shape_rule(self, shape: Shape) -> Shape:
        return shape

    def communicate(self, x: Any) -> np.ndarray:
        return world().allreduce(np.asarray(x), self.average, self.name)


@RegisterGradient("MPIAllreduce")
def _allreduce_grad(op: Node, grad: Node) -> list[Node]:
    """The loss is the sum of every rank's loss, so each rank's input gets every rank's
    gradient: the allreduce of the gradients (averaged as the forward one was)."""
    return [MPIAllreduce(grad, op.average)]


class MPIAllgather(_Collective):
    """Every rank's ``x`` joined along the first axis in rank order (first sizes may differ)."""

    def __init__(self, x: Any, name: str | None = None):
        super().__init__([x], name=name)

    def infer(self, x: Node) -> tuple[Shape, DType | None]:
        _check_dtype(self, x)
        if x.shape is not None and len(x.shape) == 0:
            raise InvalidArgumentError(
                "allgather joins along the first axis: give it a vector or more", self
            )
        return (None if x.shape is None else (None, *x.shape[1:])), x.dtype

    def communicate(self, x: Any) -> np.ndarray:
        return world().allgather(np.asarray(x), self.name)


class MPIAllgatherGrad(_Collective):
    """This rank's rows of the sum over ranks of the gradient of an allgather's result."""

    def __init__(self, grad: Any, x: Any, name: str | None = None):
        super().__init__([grad, x], name=name)

    def infer(self, grad: Node, x: Node) -> tuple[Shape, DType | None]:
        return x.shape, grad.dtype

    def communicate(self, grad: Any, x: Any) -> np.ndarray:
        job = world()
        rows = np.shape(x)[0]
        counts = job.allgather(np.array([rows], np.int64), f"{self.name}/rows")
        total = job.allreduce(np.asarray(grad), False, self.name)
        start = int(counts[: job.rank].sum())
        return total[start : start + rows].copy()


@RegisterGradient("MPIAllgather")
def _allgather_grad(op: Node, grad: Node) -> list[Node]:
    return [MPIAllgatherGrad(grad, op.inputs[0])]


NotDifferentiable("MPIAllgatherGrad")


class MPIBroadcast(_Collective):
    """Rank ``root``'s ``x`` on every rank (the others' ``x`` gives only the shape)."""

    def __init__(self, x: Any, root: int, name: str | None = None):
        self.root = int(root)
        super().__init__([x], name=name)

    def infer(self, x: Node) -> tuple[Shape, DType | None]:
        _check_dtype(self, x)
        size = world().size
        if not 0 <= self.root < size:
            raise InvalidArgumentError(
                f"root rank {self.root} is not a rank of this job (ranks 0 to {size - 1})", self
            )
        return x.shape, x.dtype

    def shape_rule(self, shape: Shape) -> Shape:
        return shape

    def communicate(self, x: Any) -> np.ndarray:
        return world().broadcast(np.asarray(x), self.root, self.name)


class MPIBroadcastGrad(_Collective):
    """The gradient of a broadcast's input: on the root, the sum over ranks of the gradient
    of the result (every rank's result is the root's input); zeros on the others, which
    still take part in the sum."""

    def __init__(self, grad: Any, root: int, name: str | None = None):
        self.root = root
        super().__init__([grad], name=name)

    def infer(self, grad: Node) -> tuple[Shape, DType | None]:
        return grad.shape, grad.dtype

    def communicate(self, grad: Any) -> np.ndarray:
        job = world()
        total = job.allreduce(np.asarray(grad), False, self.name)
        return total if job.rank == self.root else np.zeros_like(total)


@RegisterGradient("MPIBroadcast")
def _broadcast_grad(op: Node, grad: Node) -> list[Node]:
    return [MPIBroadcastGrad(grad, op.root)]


NotDifferentiable("MPIBroadcastGrad")


# -- the public functions -----------------------------------------------------------------------
def allreduce(tensor: Any, average: bool = True, name: str | None = None) -> Node:
    """The mean over all ranks of ``tensor`` (the sum with ``average=False``), as Horovod's
    ``hvd.allreduce``; its gradient is the allreduce of the gradient."""
    world()
    return MPIAllreduce(convert_to_tensor(tensor), average, name=name)


def allgather(tensor: Any, name: str | None = None) -> Node:
    """Every rank's ``tensor`` joined along the first axis, in rank order (``hvd.allgather``)."""
    world()
    return MPIAllgather(convert_to_tensor(tensor), name=name)


def broadcast(tensor: Any, root_rank: int, name: str | None = None) -> Node:
    """Rank ``root_rank``'s value of ``tensor`` on every rank (``hvd.broadcast``)."""
    world()
    return MPIBroadcast(convert_to_tensor(tensor), root_rank, name=name)


def reduce_packed(
    tensors: Sequence[Node], collective: Callable[[Node], Node], name: str
) -> list[Node]:
    """``collective`` applied to every tensor, with one call per dtype: the tensors of a dtype
    are packed flat into one contiguous buffer, which the collective moves in one message,
    then cut back into their shapes. Tensors of unknown shape get a collective each."""
    results: dict[int, Node] = {}
    groups: dict[Any, list[int]] = {}
    for i, tensor in enumerate(tensors):
        if tensor.shape is None or None in tensor.shape:
            results[i] = collective(tensor)
        else:
            groups.setdefault(tensor.dtype, []).append(i)
    for positions in groups.values():
        if len(positions) == 1:
            results[positions[0]] = collective(tensors[positions[0]])
            continue
        shapes = [tuple(tensors[i].shape) for i in positions]
        sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
        flat = [reshape(tensors[i], [-1]) for i in positions]
        packed = collective(concat(flat, 0, name=f"{name}/pack"))
        pieces = split(packed, sizes, name=f"{name}/unpack")
        for i, piece, shape in zip(positions, pieces, shapes, strict=True):
            results[i] = reshape(piece, list(shape))
    return [results[i] for i in range(len(tensors))]


def broadcast_variables(
    variables: Sequence[Variable], root_rank: int, name: str | None = None
) -> Node:
    """An op that sets every variable to rank ``root_rank``'s value: one broadcast per dtype."""
    world()
    variables = list(variables)
    for var in variables:
        if not isinstance(var, Variable):
            raise InvalidArgumentError(f"broadcast_variables takes Variables, got {var!r}")
    if not variables:
        return group(name=name or "broadcast_variables")
    graph = variables[0].graph
    with graph.as_default(), graph.name_scope(name or "broadcast_variables"):
        sent = [_on_the_wire(v) for v in variables]
        values = reduce_packed(
            sent, lambda t: MPIBroadcast(t, root_rank, name="MPIBroadcast"), "broadcast"
        )
        updates = [
            assign(v, value if value.dtype == v.dtype else cast(value, v.dtype))
            for v, value in zip(variables, values, strict=True)
        ]
        return group(*updates, name="group")


def _on_the_wire(var: Variable) -> Node:
    """``var``, or its value in a dtype MPI has (booleans as bytes, float16 as float32)."""
    kind = None if var.dtype is None else var.dtype.np
    if kind is not None and kind == np.bool_:
        return cast(var, uint8)
    if kind is not None and kind == np.float16:
        return cast(var, float32)
    return var


def broadcast_global_variables(root_rank: int = 0) -> Node:
    """An op to run once after the variables are initialised: every global variable of the
    default graph (optimizer slots included) takes rank ``root_rank``'s value, so that all
    ranks start from the same point (``hvd.broadcast_global_variables``)."""
    return broadcast_variables(global_variables(), root_rank, name="broadcast_global_variables")
