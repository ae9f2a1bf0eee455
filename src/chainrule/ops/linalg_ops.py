"""Linear algebra: matmul (2-D and batched, with transposes), tensordot, einsum.

Each gradient is again a matmul or an einsum of the other operands, so second derivatives
work and broadcast batch dimensions are summed back to each input's shape.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..dtypes import DType
from ..errors import InvalidArgumentError, ShapeError
from ..graph import Tensor
from . import array_ops, broadcast_ops
from .base import Constant, Operation, lift_operands
from .elementwise import common_dtype
from .registry import NotDifferentiable, RegisterGradient
from .shapes import Shape, broadcast_dims, fmt, is_known

__all__ = ["matmul", "tensordot", "einsum"]


def _swap_last(x: Any) -> Any:
    return np.swapaxes(x, -1, -2)


class MatMul(Operation):
    """``a @ b`` on the last two axes (leading axes broadcast); optional transposes of a, b."""

    op_type = "MatMul"
    alias_inputs = ()
    numeric = True

    def __init__(
        self,
        a: Any,
        b: Any,
        transpose_a: bool = False,
        transpose_b: bool = False,
        name: str | None = None,
    ):
        self.transpose_a = bool(transpose_a)
        self.transpose_b = bool(transpose_b)
        super().__init__(lift_operands([a, b]), name=name)

    def infer(self, a: Tensor, b: Tensor) -> tuple[Shape, DType | None]:
        dtype = common_dtype([a, b])
        if a.shape is None or b.shape is None:
            return None, dtype
        problem = self._shape_problem(a.shape, b.shape)
        if problem is not None:
            raise ShapeError(problem)
        return self.shape_rule(a.shape, b.shape), dtype

    def _shape_problem(self, a: Shape, b: Shape) -> str | None:
        """Why shapes ``a`` and ``b`` cannot be multiplied (``None`` if they can or may).

        The same words at graph-build time (static shapes) and at run time (actual shapes).
        """
        assert a is not None and b is not None
        if len(a) < 2 or len(b) < 2:
            return f"matmul needs inputs of rank >= 2, got {fmt(a)} @ {fmt(b)}"
        a_inner = a[-2 if self.transpose_a else -1]
        b_inner = b[-1 if self.transpose_b else -2]
        if a_inner is not None and b_inner is not None and a_inner != b_inner:
            return f"inner dimensions differ: {self._shapes_text(a, b)}"
        try:
            broadcast_dims(a[:-2], b[:-2])
        except ShapeError:
            return (
                f"batch dimensions {fmt(a[:-2])} and {fmt(b[:-2])} cannot be "
                f"broadcast together: {self._shapes_text(a, b)}"
            )
        return None

    def shape_rule(self, a: Shape, b: Shape) -> Shape:
        """Batch axes broadcast, then ``a``'s rows and ``b``'s columns (after transposes)."""
        if a is None or b is None or len(a) < 2 or len(b) < 2:
            return None
        rows = a[-1] if self.transpose_a else a[-2]
        cols = b[-2] if self.transpose_b else b[-1]
        return broadcast_dims(a[:-2], b[:-2]) + (rows, cols)

    def _shapes_text(self, a: Shape, b: Shape) -> str:
        """``(3, 2) @ (3, 2)``, with ``transpose_a``/``transpose_b`` noted when set."""
        text = f"{fmt(a)} @ {fmt(b)}"
        flags = [
            f
            for f, on in (("transpose_a", self.transpose_a), ("transpose_b", self.transpose_b))
            if on
        ]
        return text + (f" ({', '.join(flags)})" if flags else "")

    def compute(self, a: Any, b: Any) -> Any:
        if self.transpose_a:
            a = _swap_last(a)
        if self.transpose_b:
            b = _swap_last(b)
        return np.matmul(a, b)

    def kernel(self) -> Any:
        if not self._statically_checked():
            return self._checked_compute
        if not self.transpose_a and not self.transpose_b:
            return np.matmul
        return self.compute

    def _statically_checked(self) -> bool:
        """Whether the graph-build check covered every shape a run can feed: known ranks,
        inner dimensions and batch dimensions."""
        a, b = (x.shape for x in self.inputs)
        if a is None or b is None:
            return False
        inner = (a[-2 if self.transpose_a else -1], b[-1 if self.transpose_b else -2])
        return is_known(inner) and is_known(a[:-2]) and is_known(b[:-2])

    def _checked_compute(self, a: Any, b: Any) -> Any:
        """``compute``, with NumPy's shape errors reported as at graph-build time."""
        if np.ndim(a) < 2 or np.ndim(b) < 2:
            raise ShapeError(self._shape_problem(np.shape(a), np.shape(b)))
        try:
            return self.compute(a, b)
        except ValueError:
            problem = self._shape_problem(np.shape(a), np.shape(b))
            if problem is None:
                raise
            raise ShapeError(problem) from None


def matmul(
    a: Any,
    b: Any,
    transpose_a: bool = False,
    transpose_b: bool = False,
    name: str | None = None,
    adjoint_a: bool = False,
    adjoint_b: bool = False,
) -> Tensor:
    """Matrix product of the last two axes; ``transpose_a/b`` transpose an input first.

    Both inputs need rank >= 2 (as TF1); leading batch axes broadcast as in NumPy.
    """
    return MatMul(a, b, transpose_a or adjoint_a, transpose_b or adjoint_b, name=name)


@RegisterGradient("MatMul")
def _matmul_grad(op: Operation, grad: Tensor) -> list[Tensor]:
    a, b = op.inputs
    ta, tb = op.transpose_a, op.transpose_b
    if not ta and not tb:
        ga, gb = matmul(grad, b, transpose_b=True), matmul(a, grad, transpose_a=True)
    elif not ta and tb:
        ga, gb = matmul(grad, b), matmul(grad, a, transpose_a=True)
    elif ta and not tb:
        ga, gb = matmul(b, grad, transpose_b=True), matmul(a, grad)
    else:
        ga, gb = (
            matmul(b, grad, transpose_a=True, transpose_b=True),
            matmul(grad, a, transpose_a=True, transpose_b=True),
        )
    return [broadcast_ops.sum_to_like(ga, a), broadcast_ops.sum_to_like(gb, b)]


# -- einsum -----------------------------------------------------------------------------------
def _parse_equation(equation: str, n_inputs: int) -> tuple[list[str], str]:
    """Split ``"ij,jk->ik"`` into input subscripts and the output (implicit: NumPy's rule)."""
    text = equation.replace(" ", "")
    if "." in text:
        raise InvalidArgumentError(
            f"einsum '{equation}': '...' is not supported; name every axis with a letter"
        )
    lhs, arrow, out = text.partition("->")
    subscripts = lhs.split(",")
    if len(subscripts) != n_inputs:
        raise InvalidArgumentError(
            f"einsum '{equation}' names {len(subscripts)} operands but got {n_inputs}"
        )
    used = "".join(subscripts)
    if any(c not in string.ascii_letters for c in used + out):
        raise InvalidArgumentError(f"einsum '{equation}': subscripts must be letters a-z, A-Z")
    if not arrow:
        out = "".join(sorted(c for c in set(used) if used.count(c) == 1))
    if len(set(out)) != len(out):
        raise InvalidArgumentError(f"einsum '{equation}': the output repeats an axis")
    missing = [c for c in out if c not in used]
    if missing:
        raise InvalidArgumentError(
            f"einsum '{equation}': output axis '{missing[0]}' is in no operand"
        )
    return subscripts, out


class Einsum(Operation):
    """Einstein summation over lettered axes; its gradient is an einsum of the other operands."""

    op_type = "Einsum"

    def __init__(self, equation: str, inputs: Sequence[Any], name: str | None = None):
        self.subscripts, self.output_subscript = _parse_equation(equation, len(inputs))
        self.equation = ",".join(self.subscripts) + "->" + self.output_subscript
        self._paths: dict[tuple[tuple[int, ...], ...], Any] = {}
        super().__init__(lift_operands(list(inputs)), name=name)

    def infer(self, *inputs: Tensor) -> tuple[Shape, DType | None]:
        sizes = self._axis_sizes(inputs)
        self.static = all(is_known(x.shape) for x in inputs)
        return tuple(sizes.get(c) for c in self.output_subscript), common_dtype(inputs)

    def _axis_sizes(self, inputs: Sequence[Tensor]) -> dict[str, int]:
        """Each letter's size, checked to agree wherever it is known."""
        sizes: dict[str, int] = {}
        for k, (sub, x) in enumerate(zip(self.subscripts, inputs, strict=True)):
            if x.shape is None:
                continue
            if len(x.shape) != len(sub):
                raise ShapeError(
                    f"einsum '{self.equation}': operand {k} has shape {fmt(x.shape)} but "
                    f"'{sub}' names {len(sub)} axes"
                )
            for c, d in zip(sub, x.shape, strict=True):
                if d is None:
                    continue
                if c in sizes and sizes[c] != d:
                    raise ShapeError(
                        f"einsum '{self.equation}': axis '{c}' has size {sizes[c]} in one "
                        f"operand but {d} in operand {k} of shape {fmt(x.shape)}"
                    )
                sizes[c] = d
        return sizes

    def compute(self, *values: Any) -> Any:
        shapes = tuple(np.shape(v) for v in values)
        path = self._paths.get(shapes)
        if path is None:
            if not self.static:
                self._check_run_time_sizes(shapes)
            path = self._paths[shapes] = (
                np.einsum_path(self.equation, *values, optimize="greedy")[0]
                if len(values) > 1
                else False
            )
        return np.einsum(self.equation, *values, optimize=path)

    def _check_run_time_sizes(self, shapes: tuple[tuple[int, ...], ...]) -> None:
        """NumPy would silently broadcast a size-1 axis against a longer one; refuse that."""
        sizes: dict[str, int] = {}
        for k, (sub, shape) in enumerate(zip(self.subscripts, shapes, strict=True)):
            if len(shape) != len(sub):
                raise ShapeError(
                    f"einsum '{self.equation}': operand {k} has shape {fmt(shape)} but "
                    f"'{sub}' names {len(sub)} axes",
                    self,
                )
            for c, d in zip(sub, shape, strict=True):
                if sizes.setdefault(c, d) != d:
                    raise ShapeError(
                        f"einsum '{self.equation}': axis '{c}' has size {sizes[c]} in one "
                        f"operand but {d} in operand {k} of shape {fmt(shape)}",
                        self,
                    )


class EinsumMask(Operation):
    """Ones shaped like ``x``, zero off the diagonals where ``x``'s subscript repeats a letter."""

    op_type = "EinsumMask"
    differentiable = False

    def __init__(self, x: Tensor, pairs: Sequence[tuple[int, int]], name: str | None = None):
        self.pairs = tuple(pairs)
        super().__init__([x], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        return x.shape, x.dtype

    def compute(self, x: Any) -> np.ndarray:
        return _diagonal_mask(np.shape(x), self.pairs, np.result_type(x))


NotDifferentiable("EinsumMask")


def _diagonal_mask(
    shape: tuple[int, ...], pairs: Sequence[tuple[int, int]], dtype: Any
) -> np.ndarray:
    """1 where axis ``p`` and axis ``q`` hold the same index, for every pair; else 0."""
    mask = np.ones(shape, dtype=dtype)
    for p, q in pairs:
        eye_shape = [1] * len(shape)
        eye_shape[p], eye_shape[q] = shape[p], shape[q]
        eye = np.equal.outer(np.arange(shape[p]), np.arange(shape[q])).reshape(eye_shape)
        mask = mask * eye.astype(dtype)
    return mask


def _distinct_subscript(sub: str, unused: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """``"iij"`` -> ``"iAj"`` and the position pairs ``[(0, 1)]`` that must stay equal."""
    first: dict[str, int] = {}
    letters: list[str] = []
    pairs: list[tuple[int, int]] = []
    for position, c in enumerate(sub):
        if c in first:
            pairs.append((first[c], position))
            letters.append(unused.pop())
        else:
            first[c] = position
            letters.append(c)
    return "".join(letters), pairs


def _mask_for(x: Tensor, pairs: list[tuple[int, int]]) -> Tensor:
    if not pairs:
        return array_ops.ones_like(x)
    if is_known(x.shape) and x.dtype is not None:
        return Constant(
            _diagonal_mask(x.shape, pairs, x.dtype.np), graph=x.graph, name="EinsumMask"
        )
    return EinsumMask(x, pairs)


def _einsum_operand_grad(op: Einsum, grad: Tensor, k: int) -> Tensor | None:
    """d/d(operand k): the einsum of ``grad`` with every other operand, back to k's axes.

    Axes of operand k found nowhere else are restored by a ones mask; repeated letters
    (diagonals, traces) by a mask that is one on the diagonal only.
    """
    x = op.inputs[k]
    if (x.dtype is not None and not x.dtype.is_floating) or isinstance(x, EinsumMask):
        return None
    used = set(op.equation)
    unused = [c for c in string.ascii_letters if c not in used]
    target, pairs = _distinct_subscript(op.subscripts[k], unused)
    terms = [op.output_subscript]
    operands = [grad]
    for i, (sub, other) in enumerate(zip(op.subscripts, op.inputs, strict=True)):
        if i != k:
            terms.append(sub)
            operands.append(other)
    if pairs or not set(target) <= set("".join(terms)):
        terms.append(target)
        operands.append(_mask_for(x, pairs))
    return Einsum(",".join(terms) + "->" + target, operands)


@RegisterGradient("Einsum")
def _einsum_grad(op: Operation, grad: Tensor) -> list[Tensor | None]:
    return [_einsum_operand_grad(op, grad, k) for k in range(len(op.inputs))]


def einsum(equation: str, *inputs: Any, name: str | None = None) -> Tensor:
    """Einstein summation, e.g. ``einsum("bij,bjk->bik", a, b)`` or ``einsum("ii", m)`` (trace).

    Axes are single letters; without ``->`` the output is NumPy's (letters used once, sorted).
    """
    if len(inputs) == 1 and isinstance(inputs[0], list | tuple):
        inputs = tuple(inputs[0])
    if not inputs:
        raise InvalidArgumentError(f"einsum '{equation}' needs at least one operand")
    return Einsum(equation, inputs, name=name)


# -- tensordot --------------------------------------------------------------------------------
def _tensordot_axes(axes: Any, rank_a: int, rank_b: int) -> tuple[list[int], list[int]]:
    """TF1's ``axes``: an int n (last n of a with first n of b) or a pair of axis lists."""
    if isinstance(axes, int | np.integer):
        n = int(axes)
        if not 0 <= n <= min(rank_a, rank_b):
            raise InvalidArgumentError(
                f"tensordot axes={n} needs 0 <= axes <= min(ranks) = {min(rank_a, rank_b)}"
            )
        return list(range(rank_a - n, rank_a)), list(range(n))
    if isinstance(axes, list | tuple) and len(axes) == 2:
        a_axes, b_axes = (
            [int(i) for i in np.atleast_1d(np.asarray(side)).reshape(-1)] for side in axes
        )
        if len(a_axes) != len(b_axes):
            raise InvalidArgumentError(
                f"tensordot contracts {len(a_axes)} axes of a but {len(b_axes)} of b"
            )
        return _check_axes(a_axes, rank_a, "a"), _check_axes(b_axes, rank_b, "b")
    raise InvalidArgumentError(f"tensordot axes must be an int or a pair of lists, got {axes!r}")


def _check_axes(axes: list[int], rank: int, which: str) -> list[int]:
    for axis in axes:
        if not -rank <= axis < rank:
            raise InvalidArgumentError(
                f"tensordot: axis {axis} of {which} is out of range for rank {rank}"
            )
    normal = [axis % rank for axis in axes]
    if len(set(normal)) != len(normal):
        raise InvalidArgumentError(f"tensordot: the axes of {which} repeat: {axes}")
    return normal


class Tensordot(Einsum):
    """Contract ``axes`` of ``a`` with ``axes`` of ``b`` (an einsum with a readable error)."""

    op_type = "Tensordot"

    def __init__(
        self, a: Tensor, b: Tensor, a_axes: list[int], b_axes: list[int], name: str | None
    ):
        self.a_axes, self.b_axes = a_axes, b_axes
        letters = iter(string.ascii_letters)
        a_sub = [next(letters) for _ in a.shape]
        b_sub = [next(letters) for _ in b.shape]
        for i, j in zip(a_axes, b_axes, strict=True):
            b_sub[j] = a_sub[i]
        out = [c for i, c in enumerate(a_sub) if i not in a_axes]
        out += [c for j, c in enumerate(b_sub) if j not in b_axes]
        equation = f"{''.join(a_sub)},{''.join(b_sub)}->{''.join(out)}"
        super().__init__(equation, [a, b], name=name)

    def infer(self, a: Tensor, b: Tensor) -> tuple[Shape, DType | None]:
        for i, j in zip(self.a_axes, self.b_axes, strict=True):
            if a.shape[i] is not None and b.shape[j] is not None and a.shape[i] != b.shape[j]:
                raise ShapeError(
                    f"contracted dimensions differ: axes {self.a_axes} of {fmt(a.shape)} "
                    f"and axes {self.b_axes} of {fmt(b.shape)}"
                )
        return super().infer(a, b)


RegisterGradient("Tensordot")(_einsum_grad)


def tensordot(a: Any, b: Any, axes: Any, name: str | None = None) -> Tensor:
    """Sum of products over ``axes``: an int n pairs the last n axes of a with the first n of b.

    ``axes=[[1], [0]]`` names the axes explicitly; ``axes=0`` is the outer product. Both
    ranks must be known when the graph is built.
    """
    a, b = lift_operands([a, b])
    if a.shape is None or b.shape is None:
        raise ShapeError(
            f"tensordot needs inputs of known rank; '{a.name}' is {fmt(a.shape)} and "
            f"'{b.name}' is {fmt(b.shape)}"
        )
    a_axes, b_axes = _tensordot_axes(axes, len(a.shape), len(b.shape))
    return Tensordot(a, b, a_axes, b_axes, name=name)
