"""Random graphs for the differential test: programs of §2 ops built in chainrule and PyTorch.

A program is plain data (a seed, the inputs' shapes and a list of steps ``(op, a, b, c)``), so
Hypothesis can shrink it and a shrunk failure pastes into a regression test. A step's op reads
the integers ``a, b, c`` to choose its operand (``a``: 0 is the newest value), its partner (the
same node again, an earlier node, a new placeholder, a NumPy constant or a Python scalar), axes,
shapes and flags. Every step is built twice, as a chainrule node and as a float64 PyTorch
tensor. A step whose PyTorch value would leave the safe domain (non-finite, larger than
``LIMIT``, a hair away from a kink such as relu at 0 or a near-tie of maximum) is replaced by
``tanh`` of its operand, so a disagreement between the two is a bug, not a rounding accident.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import chainrule as cr

LIMIT = 1e3  # largest magnitude a step may produce
MARGIN = 1e-6  # how far a value must stay from a kink, unless it sits exactly on it
MAX_SIZE = 256  # largest number of elements a step may produce
MAX_RANK = 5

Step = tuple[str, int, int, int]


@dataclass(frozen=True)
class Program:
    """A random graph: ``inputs`` are ``(shape, static)`` pairs, ``steps`` are ops to apply.

    ``static`` says what the placeholder declares: 0 the full shape, 1 an unknown first
    dimension, 2 every dimension unknown, 3 an unknown rank.
    """

    seed: int
    inputs: tuple[tuple[tuple[int, ...], int], ...]
    steps: tuple[Step, ...]


@dataclass
class Value:
    """One node of the random graph: its chainrule node and the matching PyTorch tensor."""

    node: cr.Tensor
    tensor: torch.Tensor
    consumed: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape)


@dataclass
class Operand:
    """What a step passes to an op: a Value, or a raw constant (ndarray or Python float)."""

    cr: Any
    tensor: torch.Tensor
    value: Value | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.tensor.shape)


def tensor_of(array: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array, dtype=np.float64))


def _static_shape(shape: tuple[int, ...], mode: int) -> Any:
    if mode == 1 and shape:
        return (None, *shape[1:])
    if mode == 2:
        return (None,) * len(shape)
    if mode == 3:
        return None
    return shape


def _near(t: torch.Tensor, points: tuple[float, ...]) -> bool:
    """True when some element is within MARGIN of a kink point without sitting exactly on it."""
    for p in points:
        d = (t.detach() - p).abs()
        if bool(((d > 0) & (d < MARGIN)).any()):
            return True
    return False


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    """True when some pair of elements is tied or within MARGIN."""
    return bool(((a.detach() - b.detach()).abs() < MARGIN).any())


def _near_tie(a: torch.Tensor, b: torch.Tensor) -> bool:
    d = (a.detach() - b.detach()).abs()
    return bool(((d > 0) & (d < MARGIN)).any())


class Builder:
    """Builds a Program into a chainrule graph (in the default graph) and PyTorch tensors."""

    def __init__(self, program: Program):
        self.rng = np.random.default_rng(program.seed)
        self.values: list[Value] = []
        self.leaves: list[tuple[cr.Tensor, torch.Tensor, np.ndarray]] = []
        self.fallbacks = 0
        self.pending: list[Value] = []
        for shape, static in program.inputs:
            self.values.append(self.new_placeholder(tuple(shape), static))
        for step in program.steps:
            self.apply(step)

    # -- leaves ---------------------------------------------------------------------------------
    def random_array(self, shape: tuple[int, ...]) -> np.ndarray:
        return self.rng.uniform(-2.0, 2.0, size=shape)

    def new_placeholder(self, shape: tuple[int, ...], static: int = 0) -> Value:
        array = self.random_array(shape)
        node = cr.placeholder(cr.float64, shape=_static_shape(shape, static))
        leaf = torch.tensor(array, requires_grad=True)
        self.leaves.append((node, leaf, array))
        return Value(node, leaf)

    def new_operand(self, shape: tuple[int, ...], kind: int) -> Operand:
        """A fresh partner: a placeholder (kind 0), a NumPy constant (1) or a scalar (2)."""
        if kind == 2 and not shape:
            number = float(self.rng.uniform(-2.0, 2.0))
            return Operand(number, tensor_of(number))
        if kind == 1:
            array = self.random_array(shape)
            return Operand(array, tensor_of(array))
        value = self.new_placeholder(shape, static=int(self.rng.integers(0, 3)))
        return Operand(value.node, value.tensor, value)

    # -- choosing operands ----------------------------------------------------------------------
    def pick(self, a: int) -> Value:
        return self.values[-1 - a % len(self.values)]

    def of(self, value: Value) -> Operand:
        return Operand(value.node, value.tensor, value)

    def broadcast_variant(self, shape: tuple[int, ...], seed: int) -> tuple[int, ...]:
        """A shape that broadcasts with ``shape``: leading axes dropped or added, some set to 1."""
        rng = np.random.default_rng(seed)
        dropped = int(rng.integers(0, len(shape) + 1))
        dims = [1 if rng.random() < 0.3 else d for d in shape[dropped:]]
        if not dropped and rng.random() < 0.2 and len(shape) < MAX_RANK:
            dims = [int(rng.integers(1, 4))] + dims
        return tuple(dims)

    def partner(self, x: Value, b: int, c: int) -> Operand:
        """A second operand broadcast-compatible with ``x``, chosen by ``b``."""
        kind = b % 5
        if kind == 0:
            return self.of(x)
        if kind == 1:
            start = b // 5
            n = len(self.values)
            for k in range(n):
                other = self.values[-1 - (start + k) % n]
                if other is not x and _broadcastable(x.shape, other.shape):
                    return self.of(other)
        shape = self.broadcast_variant(x.shape, c)
        if prod(np.broadcast_shapes(shape, x.shape)) > MAX_SIZE:
            shape = x.shape
        return self.new_operand(shape, {1: 0, 2: 0, 3: 1, 4: 2}[kind])

    def same_shape_partner(self, x: Value, b: int) -> Operand:
        """A second operand of exactly ``x``'s shape: x itself, an earlier node, or a new leaf."""
        kind = b % 4
        if kind == 0:
            return self.of(x)
        if kind == 1:
            for other in reversed(self.values):
                if other is not x and other.shape == x.shape:
                    return self.of(other)
        return self.new_operand(x.shape, 0 if kind < 3 else 1)

    def positive(self, operand: Operand) -> Operand:
        """``operand`` itself when safely positive, else ``operand**2 + 0.25`` (never near 0)."""
        if bool((operand.tensor.detach() > 0.05).all()):
            return operand
        return self.mapped(operand, lambda v: cr.square(v) + 0.25, lambda t: t * t + 0.25)

    def mapped(self, operand: Operand, cr_fn: Callable, torch_fn: Callable) -> Operand:
        """Apply an elementwise map to an operand, keeping constants as constants."""
        if operand.value is None:
            raw = operand.cr
            if isinstance(raw, float):
                number = float(torch_fn(torch.tensor(raw, dtype=torch.float64)))
                return Operand(number, tensor_of(number))
            array = torch_fn(tensor_of(raw)).numpy()
            return Operand(array, tensor_of(array))
        return Operand(cr_fn(operand.cr), torch_fn(operand.tensor), None)

    # -- applying a step ------------------------------------------------------------------------
    def apply(self, step: Step) -> None:
        name, a, b, c = step
        x = self.pick(a)
        try:
            built = OPS[name](self, x, b, c)
        except (RuntimeError, IndexError) as err:  # PyTorch refuses (e.g. amax of nothing)
            if isinstance(err, cr.errors.ChainruleError):
                raise
            built = None
        results = built if isinstance(built, list) else [built]
        if built is None or not all(self.acceptable(r) for r in results):
            self.fallbacks += 1
            results = [self.node(cr.tanh(x.node), torch.tanh(x.tensor))]
        else:
            for used in self.pending:
                used.consumed = True
        self.pending.clear()
        x.consumed = True
        for r in results:
            self.values.append(r)

    def node(self, node: cr.Tensor, tensor: torch.Tensor) -> Value:
        """A new Value; a PyTorch result that *is* an earlier tensor is cloned so that
        gradients with respect to it mean the same thing as for the distinct chainrule node."""
        if any(tensor is v.tensor for v in self.values):
            tensor = tensor.clone()
        return Value(node, tensor)

    @staticmethod
    def acceptable(value: Value | None) -> bool:
        if value is None:
            return False
        t = value.tensor.detach()
        return (
            t.numel() <= MAX_SIZE
            and t.dim() <= MAX_RANK
            and bool(torch.isfinite(t).all())
            and (t.numel() == 0 or float(t.abs().max()) <= LIMIT)
        )

    def mark(self, *operands: Operand) -> None:
        """Note partners a step consumes (they count as consumed if the step is kept)."""
        self.pending.extend(o.value for o in operands if o.value is not None)

    # -- the loss -------------------------------------------------------------------------------
    def outputs(self) -> list[Value]:
        """The newest value and every value no step consumed (so every branch matters)."""
        last = self.values[-1]
        return [v for v in self.values if not v.consumed and v is not last] + [last]


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        return prod(np.broadcast_shapes(a, b)) <= MAX_SIZE
    except ValueError:
        return False


def _axis(rank: int, k: int, extra: int = 0) -> int:
    """An axis of a rank-``rank`` tensor (``extra`` more for ops that insert one), maybe < 0."""
    n = rank + extra
    axis = k % n
    return axis - n if (k // n) % 2 else axis


# -- unary elementwise ------------------------------------------------------------------------
@dataclass(frozen=True)
class Unary:
    cr_fn: Callable
    torch_fn: Callable
    domain: str = "any"  # "any", "positive", "above_minus_one", "bounded"
    kinks: tuple[float, ...] = ()

    def __call__(self, builder: Builder, x: Value, b: int, c: int) -> Value | None:
        operand = builder.of(x)
        if self.domain == "positive":
            operand = builder.positive(operand)
        elif self.domain == "above_minus_one":
            operand = builder.mapped(operand, cr.square, torch.square)
        elif self.domain == "bounded":
            operand = builder.mapped(operand, cr.tanh, torch.tanh)
        if _near(operand.tensor, self.kinks):
            return None
        return builder.node(self.cr_fn(operand.cr), self.torch_fn(operand.tensor))


def _rounding(kind: str) -> Callable:
    def op(builder: Builder, x: Value, b: int, c: int) -> Value | None:
        t = x.tensor.detach()
        frac = t - torch.floor(t)
        if kind == "round":
            frac = (frac - 0.5).abs()
        else:
            frac = torch.minimum(frac, 1 - frac)
        if bool(((frac > 0) & (frac < MARGIN)).any()):
            return None
        cr_fn = {"floor": cr.floor, "ceil": cr.ceil, "round": cr.round}[kind]
        th_fn = {"floor": torch.floor, "ceil": torch.ceil, "round": torch.round}[kind]
        return builder.node(cr_fn(x.node), th_fn(x.tensor))

    return op


def _scalar(c: int) -> float:
    """A Python scalar from ``c``: one of a few simple or irregular numbers."""
    return [2.0, -0.5, 1.5, 3.0, -1.25, 0.75, 10.0, 0.1][c % 8]


def op_scalar_arith(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """``x * s``, ``s - x``, ``x / s``, ``s / x``, ``x + s``, ``x - s`` with a Python scalar."""
    s = _scalar(c)
    n, t = x.node, x.tensor
    kind = b % 6
    if kind == 3:
        safe = builder.positive(builder.of(x))
        return builder.node(s / safe.cr, s / safe.tensor)
    forms = [
        (lambda: n * s, lambda: t * s),
        (lambda: s - n, lambda: s - t),
        (lambda: n / s, lambda: t / s),
        None,
        (lambda: s + n, lambda: s + t),
        (lambda: n - s, lambda: t - s),
    ]
    cr_form, th_form = forms[kind]
    return builder.node(cr_form(), th_form())


def op_scalar_pow(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """``x ** k`` for integer k on any x, real k on positive x; ``s ** x`` for positive s."""
    kind = b % 4
    if kind == 0:
        k = [2, 3, 1, 4][c % 4]
        return builder.node(x.node**k, x.tensor**k)
    if kind == 1:
        k = [-1, -2][c % 2]
        safe = builder.positive(builder.of(x))
        return builder.node(cr.pow(safe.cr, float(k)), torch.pow(safe.tensor, float(k)))
    if kind == 2:
        k = [0.5, 1.5, -0.5, 2.5][c % 4]
        safe = builder.positive(builder.of(x))
        return builder.node(safe.cr**k, safe.tensor**k)
    s = [2.0, 0.5, 3.0][c % 3]
    return builder.node(s**x.node, torch.pow(torch.tensor(s, dtype=torch.float64), x.tensor))


def op_clip(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    lo = [-1.0, -0.5, 0.0, -1.5][b % 4]
    hi = lo + [0.5, 1.0, 2.0][c % 3]
    if _near(x.tensor, (lo, hi)):
        return None
    return builder.node(cr.clip_by_value(x.node, lo, hi), torch.clamp(x.tensor, lo, hi))


# -- binary elementwise with broadcasting -------------------------------------------------------
@dataclass(frozen=True)
class Binary:
    cr_fn: Callable
    torch_fn: Callable
    safe_right: str = "any"  # "positive": the right operand is made safely positive
    safe_left: str = "any"
    ties: bool = False

    def __call__(self, builder: Builder, x: Value, b: int, c: int) -> Value | None:
        """Ties of distinct nodes are refused: TF1 gives a tie of maximum to x, PyTorch splits it."""
        left, right = builder.of(x), builder.partner(x, b, c)
        if (c // 7) % 2:
            left, right = right, left
        if self.safe_left == "positive":
            left = builder.positive(left)
        if self.safe_right == "positive":
            right = builder.positive(right)
        if self.ties and left.value is not right.value and _close(left.tensor, right.tensor):
            return None
        builder.mark(left, right)
        return builder.node(self.cr_fn(left.cr, right.cr), self.torch_fn(left.tensor, right.tensor))


def _sqdiff(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b) ** 2


def op_where(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """``where(x > y, f(x), y)``: a comparison picks between two broadcast operands."""
    y = builder.partner(x, b, c)
    if y.value is not x and _near_tie(x.tensor, y.tensor):
        return None
    builder.mark(y)
    shifted_cr, shifted_t = x.node * 2.0 - 1.0, x.tensor * 2.0 - 1.0
    node = cr.where(cr.greater(x.node, y.cr), shifted_cr, y.cr)
    tensor = torch.where(x.tensor > y.tensor, shifted_t, y.tensor)
    return builder.node(node, tensor)


def op_add_n(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """``add_n`` of x (maybe twice) and same-shape partners."""
    others = [builder.same_shape_partner(x, b + k) for k in range(1 + c % 3)]
    operands = [builder.of(x)] + others
    builder.mark(*others)
    node = cr.add_n([o.cr if o.value is not None else cr.constant(o.cr) for o in operands])
    return builder.node(node, sum(o.tensor for o in operands[1:]) + operands[0].tensor)


# -- reductions ---------------------------------------------------------------------------------
def _reduce_axes(rank: int, b: int) -> tuple[Any, tuple[int, ...]]:
    """An axis argument in one of TF1's forms, and the normalized axes it reduces."""
    kind = b % 6
    if rank == 0:
        kind = 0 if kind % 2 == 0 else 4
    if kind == 0:
        return None, tuple(range(rank))
    if kind == 4:
        return [], ()
    if kind in (1, 2):
        axis = _axis(rank, b // 6)
        axis = axis - rank if kind == 2 and axis >= 0 else axis
        return axis, (axis % rank,)
    rng = np.random.default_rng(b)
    count = int(rng.integers(1, rank + 1))
    chosen = [int(a) for a in rng.permutation(rank)[:count]]
    chosen = [a - rank if rng.random() < 0.4 else a for a in chosen]
    spec: Any = chosen if kind == 3 else tuple(chosen)
    return spec, tuple(sorted(a % rank for a in chosen))


def _torch_prod(t: torch.Tensor, dims: tuple[int, ...], keep: bool) -> torch.Tensor:
    for d in sorted(dims, reverse=True):
        t = t.prod(dim=d, keepdim=keep)
    return t


_TORCH_REDUCE = {
    "sum": lambda t, d, k: t.sum(dim=d, keepdim=k),
    "mean": lambda t, d, k: t.mean(dim=d, keepdim=k),
    "max": lambda t, d, k: torch.amax(t, dim=d, keepdim=k),
    "min": lambda t, d, k: torch.amin(t, dim=d, keepdim=k),
    "prod": _torch_prod,
    "logsumexp": lambda t, d, k: torch.logsumexp(t, dim=d, keepdim=k),
}
_CR_REDUCE = {
    "sum": cr.reduce_sum,
    "mean": cr.reduce_mean,
    "max": cr.reduce_max,
    "min": cr.reduce_min,
    "prod": cr.reduce_prod,
    "logsumexp": cr.reduce_logsumexp,
}


def _has_near_tie(t: torch.Tensor, dims: tuple[int, ...], largest: bool) -> bool:
    """Whether the top two entries of some reduced group differ by less than MARGIN (not 0)."""
    rest = [d for d in range(t.dim()) if d not in dims]
    flat = t.detach().permute((*rest, *dims)).reshape(-1, prod(t.shape[d] for d in dims) or 1)
    if flat.shape[1] < 2:
        return False
    ordered = torch.sort(flat, dim=1, descending=largest).values
    return _near_tie(ordered[:, 0], ordered[:, 1])


def _reduction(kind: str) -> Callable:
    def op(builder: Builder, x: Value, b: int, c: int) -> Value | None:
        spec, dims = _reduce_axes(len(x.shape), b)
        keep = bool(c % 2)
        if kind in ("max", "min") and _has_near_tie(x.tensor, dims, kind == "max"):
            return None
        if c // 2 % 2:  # the TF1 aliases old tutorials use
            node = _CR_REDUCE[kind](x.node, reduction_indices=spec, keep_dims=keep)
        else:
            node = _CR_REDUCE[kind](x.node, axis=spec, keepdims=keep)
        tensor = _TORCH_REDUCE[kind](x.tensor, dims, keep) if dims else x.tensor
        return builder.node(node, tensor)

    return op


# -- linear algebra -----------------------------------------------------------------------------
def op_matmul(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """``x @ y`` with transposes: y is x itself, an earlier node, or a new leaf."""
    if len(x.shape) < 2:
        return None
    ta, tb = bool(c % 2), bool(c // 2 % 2)
    rows, inner = x.shape[-2:][:: -1 if ta else 1]
    kind = b % 4
    if kind == 0:  # x with itself: x x^T or x^T x, a node used twice by one op
        y = builder.of(x)
        tb = not ta
    else:
        cols = 1 + (b // 4) % 4
        batch = builder.broadcast_variant(x.shape[:-2], c) if len(x.shape) > 2 else ()
        shape = (*batch, *((cols, inner) if tb else (inner, cols)))
        y = None
        if kind == 1:
            y = next(
                (
                    builder.of(v)
                    for v in reversed(builder.values)
                    if v is not x and v.shape == shape
                ),
                None,
            )
        if y is None:
            y = builder.new_operand(shape, 0 if kind < 3 else 1)
    builder.mark(y)
    if not ta and not tb and c // 4 % 2:
        node = x.node @ y.cr
    else:
        node = cr.matmul(x.node, y.cr, transpose_a=ta, transpose_b=tb)
    tx = x.tensor.transpose(-1, -2) if ta else x.tensor
    ty = y.tensor.transpose(-1, -2) if tb else y.tensor
    return builder.node(node, torch.matmul(tx, ty))


def op_einsum(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """A random einsum: x's axes get letters, y shares some, the output keeps a subset."""
    rng = np.random.default_rng(b * 7919 + c)
    letters = iter(string.ascii_lowercase)
    x_letters = [next(letters) for _ in x.shape]
    sizes = dict(zip(x_letters, x.shape, strict=True))
    if b % 3 == 0:  # unary: a sum and a transpose in one
        inputs = [x_letters]
        operands = [builder.of(x)]
    else:
        shared = [a for a in x_letters if rng.random() < 0.6]
        fresh = [next(letters) for _ in range(int(rng.integers(0, 2)))]
        for f in fresh:
            sizes[f] = int(rng.integers(1, 4))
        y_letters = list(rng.permutation(shared + fresh))
        y_shape = tuple(sizes[a] for a in y_letters)
        if prod(y_shape) > MAX_SIZE:
            return None
        y = builder.new_operand(y_shape, 0 if b % 3 == 1 else 1)
        inputs, operands = [x_letters, y_letters], [builder.of(x), y]
    every = sorted({a for letters_ in inputs for a in letters_})
    out = [a for a in rng.permutation(every) if rng.random() < 0.5]
    equation = ",".join("".join(s) for s in inputs) + "->" + "".join(out)
    node = cr.einsum(equation, *[o.cr for o in operands])
    return builder.node(node, torch.einsum(equation, *[o.tensor for o in operands]))


def op_tensordot(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """``tensordot(x, y, axes=k)``: x's last k axes against y's first k."""
    if x.node.shape is None:  # tensordot needs a known rank
        return None
    k = min(len(x.shape), b % 3)
    cols = tuple(int(d) for d in np.random.default_rng(c).integers(1, 4, size=c % 2 + 1))
    y = builder.new_operand(x.shape[len(x.shape) - k :] + cols, b // 3 % 2)
    node = cr.tensordot(x.node, y.cr, axes=k)
    return builder.node(node, torch.tensordot(x.tensor, y.tensor, dims=k))


# -- shapes -------------------------------------------------------------------------------------
def _factorize(size: int, rng: np.random.Generator) -> list[int]:
    """A random shape of ``size`` elements (rank 0 to 4; an empty one has a 0 somewhere)."""
    if size == 0:
        dims = [int(d) for d in rng.integers(1, 4, size=int(rng.integers(1, 4)))]
        dims[int(rng.integers(0, len(dims)))] = 0
        return dims
    factors = []
    n, p = size, 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    rank = int(rng.integers(0 if size == 1 else 1, 5))
    dims = [1] * max(rank, 1)
    for f in factors:
        dims[int(rng.integers(0, len(dims)))] *= f
    return dims[:rank] if rank else []


def op_reshape(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    rng = np.random.default_rng(b)
    dims = _factorize(prod(x.shape), rng)
    spec = list(dims)
    if spec and c % 2 and all(dims):  # -1 next to a 0 is ambiguous (refused, as TF1)
        spec[int(rng.integers(0, len(spec)))] = -1
    return builder.node(cr.reshape(x.node, spec), x.tensor.reshape(dims))


def op_transpose(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    rank = len(x.shape)
    if c % 3 == 0:
        return builder.node(cr.transpose(x.node), x.tensor.permute(tuple(reversed(range(rank)))))
    perm = [int(p) for p in np.random.default_rng(b).permutation(rank)]
    return builder.node(cr.transpose(x.node, perm), x.tensor.permute(tuple(perm)))


def op_expand_dims(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    axis = _axis(len(x.shape), b, extra=1)
    return builder.node(cr.expand_dims(x.node, axis), x.tensor.unsqueeze(axis))


def op_squeeze(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    ones = [d for d, n in enumerate(x.shape) if n == 1]
    if not ones:
        return None
    if b % 3 == 0:
        kept = [n for n in x.shape if n != 1]
        return builder.node(cr.squeeze(x.node), x.tensor.reshape(kept))
    axis = ones[b % len(ones)]
    spec = axis - len(x.shape) if c % 2 else axis
    return builder.node(cr.squeeze(x.node, [spec]), x.tensor.squeeze(axis))


def _random_key(shape: tuple[int, ...], rng: np.random.Generator) -> tuple:  # noqa: C901
    """A basic-indexing key: ints, slices with steps (negative too), None and Ellipsis."""
    key: list[Any] = []
    dims = list(shape)
    use_ellipsis = bool(dims) and rng.random() < 0.25
    if use_ellipsis:
        dims = dims[: int(rng.integers(0, len(dims) + 1))]
    for n in dims:
        r = rng.random() if n else 0.4  # an empty axis can only be sliced
        if r < 0.1:
            key.append(None)
        if r < 0.3:
            i = int(rng.integers(0, n))
            key.append(i - n if rng.random() < 0.5 else i)
        elif r < 0.5:
            key.append(slice(None))
        else:
            step = int(rng.choice([1, 1, 2, -1, -2]))
            if not n:
                key.append(slice(None, None, step))
                continue
            start = int(rng.integers(-n, n))
            stop = int(rng.integers(-n - 1, n + 1))
            if not range(*slice(start, stop, step).indices(n)):
                start, stop = None, None
            key.append(slice(start, stop, step))
    if use_ellipsis:
        key.append(Ellipsis)
    if rng.random() < 0.15:
        key.append(None)
    return tuple(key)


def _torch_index(t: torch.Tensor, key: tuple) -> torch.Tensor:
    """PyTorch's equivalent of NumPy basic indexing, negative steps included."""
    dims_used = sum(1 for k in key if k is not None and k is not Ellipsis)
    full: list[Any] = []
    for k in key:
        if k is Ellipsis:
            full.extend([slice(None)] * (t.dim() - dims_used))
        else:
            full.append(k)
    full.extend([slice(None)] * (t.dim() - sum(1 for k in full if k is not None)))
    axis = 0
    for k in full:
        if k is None:
            t = t.unsqueeze(axis)
            axis += 1
        elif isinstance(k, int):
            t = t.select(axis, k)
        else:
            index = torch.tensor(list(range(*k.indices(t.shape[axis]))), dtype=torch.long)
            t = t.index_select(axis, index)
            axis += 1
    return t


def op_getitem(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    key = _random_key(x.shape, np.random.default_rng(b))
    return builder.node(x.node[key], _torch_index(x.tensor, key))


def op_slice(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """TF1's ``slice(x, begin, size)``, where a size of ``-1`` means "to the end"."""
    if not all(x.shape):
        return None
    rng = np.random.default_rng(b)
    begin = [int(rng.integers(0, n)) for n in x.shape]
    size = [int(rng.integers(1, n - s + 1)) for n, s in zip(x.shape, begin, strict=True)]
    size_arg = [
        -1 if s + k == n and rng.random() < 0.5 else k
        for n, s, k in zip(x.shape, begin, size, strict=True)
    ]
    key = tuple(slice(s, s + k) for s, k in zip(begin, size, strict=True))
    return builder.node(cr.slice(x.node, begin, size_arg), x.tensor[key])


def op_concat(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """``concat`` of x with itself and/or partners that differ only along the axis."""
    if not x.shape:
        return None
    axis = _axis(len(x.shape), c)
    a = axis % len(x.shape)
    pieces = [builder.of(x)]
    for k in range(1 + b % 2):
        if (b // 2 + k) % 3 == 0:
            pieces.append(builder.of(x))
        else:
            shape = list(x.shape)
            shape[a] = 1 + (b // 4 + k) % 3
            pieces.append(builder.new_operand(tuple(shape), (b // 2 + k) % 3 - 1))
    if c // 8 % 2:
        pieces.reverse()
    builder.mark(*pieces)
    node = cr.concat([p.cr for p in pieces], axis=axis)
    return builder.node(node, torch.cat([p.tensor for p in pieces], dim=a))


def op_stack(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    axis = _axis(len(x.shape), c, extra=1)
    pieces = [builder.of(x), builder.same_shape_partner(x, b)]
    if b // 4 % 2:
        pieces.append(builder.of(x))
    builder.mark(*pieces)
    node = cr.stack([p.cr for p in pieces], axis=axis)
    return builder.node(node, torch.stack([p.tensor for p in pieces], dim=axis))


def op_unstack(builder: Builder, x: Value, b: int, c: int) -> Value | list[Value] | None:
    """``unstack`` then either one piece, or all pieces stacked back in reverse order."""
    if not x.shape:
        return None
    axis = _axis(len(x.shape), c)
    if not x.shape[axis]:
        return None
    static = x.node.shape
    known = static is not None and static[axis] is not None
    num = None if known and b // 4 % 2 else x.shape[axis]  # TF1 needs num for unknown sizes
    pieces = cr.unstack(x.node, num=num, axis=axis)
    torch_pieces = torch.unbind(x.tensor, dim=axis)
    if b % 2:
        i = (b // 2) % len(pieces)
        return builder.node(pieces[i], torch_pieces[i])
    node = cr.stack(pieces[::-1], axis=axis)
    return builder.node(node, torch.stack(torch_pieces[::-1], dim=axis))


def op_split(builder: Builder, x: Value, b: int, c: int) -> Value | list[Value] | None:
    """``split`` into equal parts or given sizes; then one part, all parts, or reversed concat."""
    if not x.shape:
        return None
    axis = _axis(len(x.shape), c)
    n = x.shape[axis]
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    if b % 2 and divisors:
        num: Any = divisors[(b // 2) % len(divisors)]
        sizes = [n // num] * num
    else:
        cut = sorted(np.random.default_rng(b).integers(0, n + 1, size=2).tolist())
        sizes = [cut[0], cut[1] - cut[0], n - cut[1]]
        num = list(sizes)
        if c // 8 % 2:
            num[int(np.argmax(sizes))] = -1
    parts = cr.split(x.node, num, axis=axis)
    torch_parts = torch.split(x.tensor, sizes, dim=axis)
    how = (c // 16) % 3
    if how == 0:
        i = (b // 4) % len(parts)
        return builder.node(parts[i], torch_parts[i])
    if how == 1:
        return [builder.node(p, t) for p, t in zip(parts, torch_parts, strict=True)]
    node = cr.concat(parts[::-1], axis=axis)
    return builder.node(node, torch.cat(torch_parts[::-1], dim=axis))


def op_tile(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    multiples = [int(m) for m in np.random.default_rng(b).integers(1, 3, size=len(x.shape))]
    return builder.node(
        cr.tile(x.node, multiples), x.tensor.repeat(*multiples) if multiples else x.tensor
    )


def op_pad(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """Constant, REFLECT or SYMMETRIC padding (PyTorch side built from NumPy's index maps)."""
    if not x.shape:
        return None
    rng = np.random.default_rng(b)
    mode = ["CONSTANT", "REFLECT", "SYMMETRIC"][c % 3]
    if mode != "CONSTANT" and not all(x.shape):
        return None  # as TF1, mirror padding refuses an empty axis
    slack = {"CONSTANT": 3, "REFLECT": 0, "SYMMETRIC": 1}[mode]
    paddings = []
    for n in x.shape:
        top = max(0, min(2, n - 1 + slack)) if mode != "CONSTANT" else 2
        paddings.append([int(rng.integers(0, top + 1)), int(rng.integers(0, top + 1))])
    if mode == "CONSTANT":
        fill = [0.0, 1.5][c // 3 % 2]
        node = cr.pad(x.node, paddings, constant_values=fill)
        flat = [p for pair in reversed(paddings) for p in pair]
        return builder.node(node, F.pad(x.tensor, flat, value=fill))
    t = x.tensor
    for axis, (n, (before, after)) in enumerate(zip(x.shape, paddings, strict=True)):
        index = np.pad(np.arange(n), (before, after), mode=mode.lower())
        t = t.index_select(axis, torch.as_tensor(index, dtype=torch.long))
    return builder.node(cr.pad(x.node, paddings, mode=mode), t)


def op_broadcast_to(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    rng = np.random.default_rng(b)
    dims = [int(rng.integers(1, 4)) if n == 1 else n for n in x.shape]
    if rng.random() < 0.4:
        dims = [int(rng.integers(1, 4))] + dims
    return builder.node(cr.broadcast_to(x.node, dims), torch.broadcast_to(x.tensor, dims))


def op_gather(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """``gather`` along an axis with repeated indices (their gradients must add up)."""
    if not x.shape:
        return None
    axis = _axis(len(x.shape), c)
    n = x.shape[axis]
    if not n:
        return None
    rng = np.random.default_rng(b)
    index_shape = [(), (int(rng.integers(1, 5)),), (2, int(rng.integers(1, 3)))][b % 3]
    indices = rng.integers(0, n, size=index_shape)
    node = cr.gather(x.node, indices.astype(np.int32), axis=axis)
    a = axis % len(x.shape)
    flat = x.tensor.index_select(a, torch.as_tensor(indices.reshape(-1), dtype=torch.long))
    shape = x.shape[:a] + tuple(index_shape) + x.shape[a + 1 :]
    return builder.node(node, flat.reshape(shape))


# -- nn -------------------------------------------------------------------------------------------
def op_softmax(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """softmax or log_softmax along an axis given as ``axis=``, ``dim=`` or the default."""
    if not x.shape:
        return None
    axis = _axis(len(x.shape), c)
    log = bool(b % 2)
    cr_fn = cr.nn.log_softmax if log else cr.nn.softmax
    form = b // 2 % 3
    if form == 0:
        axis = -1
        node = cr_fn(x.node)
    else:
        node = cr_fn(x.node, axis=axis) if form == 1 else cr_fn(x.node, dim=axis)
    th_fn = torch.log_softmax if log else torch.softmax
    return builder.node(node, th_fn(x.tensor, dim=axis))


def op_softmax_xent(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """Softmax cross-entropy: v2 (gradient into labels too) or v1, labels a softmax of a node."""
    # an empty class axis breaks the fused kernel: see
    # test_fused_softmax_cross_entropy_over_an_empty_class_axis
    if not x.shape or not x.shape[-1]:
        return None
    partner = builder.same_shape_partner(x, b)
    builder.mark(partner)
    labels_t = torch.softmax(partner.tensor, dim=-1)
    labels = cr.nn.softmax(partner.cr) if partner.value is not None else labels_t.numpy()
    logp = torch.log_softmax(x.tensor, dim=-1)
    if c % 2:
        node = cr.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=x.node)
        return builder.node(node, -(labels_t * logp).sum(-1))
    node = cr.nn.softmax_cross_entropy_with_logits(labels=labels, logits=x.node)
    return builder.node(node, -(labels_t.detach() * logp).sum(-1))


def op_sparse_xent(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    if not x.shape or not x.shape[-1]:
        return None
    rng = np.random.default_rng(b)
    labels = rng.integers(0, x.shape[-1], size=x.shape[:-1])
    node = cr.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels.astype(np.int64 if c % 2 else np.int32), logits=x.node
    )
    index = torch.as_tensor(labels, dtype=torch.long).unsqueeze(-1)
    tensor = -torch.log_softmax(x.tensor, dim=-1).gather(-1, index).squeeze(-1)
    return builder.node(node, tensor)


def op_sigmoid_xent(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    partner = builder.same_shape_partner(x, b)
    builder.mark(partner)
    labels_t = torch.sigmoid(partner.tensor)
    labels = cr.sigmoid(partner.cr) if partner.value is not None else labels_t.numpy()
    node = cr.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=x.node)
    return builder.node(
        node, F.binary_cross_entropy_with_logits(x.tensor, labels_t, reduction="none")
    )


def op_l2_loss(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    return builder.node(cr.nn.l2_loss(x.node), (x.tensor**2).sum() / 2)


def op_bias_add(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    if len(x.shape) < 2:  # TF1's bias_add needs rank >= 2
        return None
    bias = builder.new_operand((x.shape[-1],), b % 2)
    return builder.node(cr.nn.bias_add(x.node, bias.cr), x.tensor + bias.tensor)


def op_moments(builder: Builder, x: Value, b: int, c: int) -> list[Value] | None:
    if not x.shape:
        return None
    spec, dims = _reduce_axes(len(x.shape), b)
    if not dims or spec is None:
        dims = tuple(range(len(x.shape)))
        spec = list(dims)
    keep = bool(c % 2)
    mean, variance = cr.nn.moments(x.node, axes=spec, keep_dims=keep)
    t_mean = x.tensor.mean(dim=dims, keepdim=True)
    t_var = ((x.tensor - t_mean) ** 2).mean(dim=dims, keepdim=keep)
    t_mean = t_mean if keep else x.tensor.mean(dim=dims)
    return [builder.node(mean, t_mean), builder.node(variance, t_var)]


def op_floormod(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """``x % y`` (floor modulo) for a safely positive y, away from its jumps."""
    right = builder.positive(builder.partner(x, b, c))
    quotient = (x.tensor / right.tensor).detach()
    gap = (quotient - torch.round(quotient)).abs()
    if bool((gap < MARGIN).any()):
        return None
    builder.mark(right)
    node = cr.floormod(x.node, right.cr) if b // 5 % 2 else x.node % right.cr
    return builder.node(node, torch.remainder(x.tensor, right.tensor))


def op_one_hot_mul(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """``one_hot(labels, depth) * x`` along the last axis (an int op feeding a float one)."""
    if not x.shape or not x.shape[-1]:
        return None
    labels = np.random.default_rng(b).integers(-1, x.shape[-1], size=x.shape[:-1])
    on, off = [(1.0, 0.0), (2.0, -0.5)][c % 2]
    depth = x.shape[-1]
    mask = cr.one_hot(labels.astype(np.int32), depth, on, off, dtype=cr.float64)
    expected = np.where(np.arange(x.shape[-1]) == labels[..., None], on, off)
    return builder.node(
        mask * x.node if c // 2 % 2 else x.node * mask, x.tensor * tensor_of(expected)
    )


def op_twice(builder: Builder, x: Value, b: int, c: int) -> Value | None:
    """The same unary op built twice on x (separate nodes a plan may merge), then combined."""
    unary = [op for op in OPS.values() if isinstance(op, Unary)]
    op = unary[b % len(unary)]
    first, second = op(builder, x, b, c), op(builder, x, b, c)
    if first is None or second is None:
        return None
    if c % 2:
        return builder.node(first.node * second.node, first.tensor * second.tensor)
    return builder.node(first.node - 0.5 * second.node, first.tensor - 0.5 * second.tensor)


def _stop(t: torch.Tensor) -> torch.Tensor:
    return t.detach()


OPS: dict[str, Callable[[Builder, Value, int, int], Any]] = {
    "negative": Unary(cr.negative, torch.neg),
    "neg_operator": Unary(lambda v: -v, torch.neg),
    "square": Unary(cr.square, torch.square),
    "exp": Unary(cr.exp, torch.exp),
    "sin": Unary(cr.sin, torch.sin),
    "cos": Unary(cr.cos, torch.cos),
    "tan": Unary(cr.tan, torch.tan, domain="bounded"),
    "tanh": Unary(cr.tanh, torch.tanh),
    "sigmoid": Unary(cr.sigmoid, torch.sigmoid),
    "erf": Unary(cr.erf, torch.erf),
    "softplus": Unary(cr.nn.softplus, lambda t: F.softplus(t, threshold=50.0)),
    "relu": Unary(cr.nn.relu, torch.relu, kinks=(0.0,)),
    "relu6": Unary(cr.nn.relu6, F.relu6, kinks=(0.0, 6.0)),
    "leaky_relu": Unary(
        cr.nn.leaky_relu, lambda t: F.leaky_relu(t, float(np.float32(0.2))), kinks=(0.0,)
    ),
    "elu": Unary(cr.nn.elu, F.elu, kinks=(0.0,)),
    "abs": Unary(cr.abs, torch.abs, kinks=(0.0,)),
    "abs_builtin": Unary(abs, torch.abs, kinks=(0.0,)),
    "sign": Unary(cr.sign, torch.sign, kinks=(0.0,)),
    "identity": Unary(cr.identity, lambda t: t),
    "stop_gradient": Unary(cr.stop_gradient, _stop),
    "log": Unary(cr.log, torch.log, domain="positive"),
    "sqrt": Unary(cr.sqrt, torch.sqrt, domain="positive"),
    "rsqrt": Unary(cr.rsqrt, torch.rsqrt, domain="positive"),
    "reciprocal": Unary(cr.reciprocal, torch.reciprocal, domain="positive"),
    "log1p": Unary(cr.log1p, torch.log1p, domain="above_minus_one"),
    "floor": _rounding("floor"),
    "ceil": _rounding("ceil"),
    "round": _rounding("round"),
    "scalar_arith": op_scalar_arith,
    "scalar_pow": op_scalar_pow,
    "clip_by_value": op_clip,
    "add": Binary(cr.add, torch.add),
    "add_operator": Binary(lambda p, q: p + q, torch.add),
    "subtract": Binary(cr.subtract, torch.sub),
    "sub_operator": Binary(lambda p, q: p - q, torch.sub),
    "multiply": Binary(cr.multiply, torch.mul),
    "mul_operator": Binary(lambda p, q: p * q, torch.mul),
    "divide": Binary(cr.divide, torch.div, safe_right="positive"),
    "div_operator": Binary(lambda p, q: p / q, torch.div, safe_right="positive"),
    "pow": Binary(cr.pow, torch.pow, safe_left="positive"),
    "pow_operator": Binary(lambda p, q: p**q, torch.pow, safe_left="positive"),
    "maximum": Binary(cr.maximum, torch.maximum, ties=True),
    "minimum": Binary(cr.minimum, torch.minimum, ties=True),
    "squared_difference": Binary(cr.squared_difference, _sqdiff),
    "floormod": op_floormod,
    "where": op_where,
    "one_hot_mul": op_one_hot_mul,
    "twice": op_twice,
    "add_n": op_add_n,
    **{f"reduce_{k}": _reduction(k) for k in _CR_REDUCE},
    "matmul": op_matmul,
    "einsum": op_einsum,
    "tensordot": op_tensordot,
    "reshape": op_reshape,
    "transpose": op_transpose,
    "expand_dims": op_expand_dims,
    "squeeze": op_squeeze,
    "getitem": op_getitem,
    "slice": op_slice,
    "concat": op_concat,
    "stack": op_stack,
    "unstack": op_unstack,
    "split": op_split,
    "tile": op_tile,
    "pad": op_pad,
    "broadcast_to": op_broadcast_to,
    "gather": op_gather,
    "softmax": op_softmax,
    "softmax_cross_entropy": op_softmax_xent,
    "sparse_softmax_cross_entropy": op_sparse_xent,
    "sigmoid_cross_entropy": op_sigmoid_xent,
    "l2_loss": op_l2_loss,
    "bias_add": op_bias_add,
    "moments": op_moments,
}
