"""Gradient oracles for the tests: central finite differences (float64) and PyTorch autograd.

``check_op(cr_fn, torch_fn, inputs)`` runs the same function in chainrule and in PyTorch on
the same float64 inputs and compares the value, the first gradients of ``sum(y * w)`` for a
random ``w``, the finite-difference Jacobians and (``second_order=True``) Hessian-vector
products. It then fetches the value and every gradient again in one run, with the plan
rewrites on and off, from placeholders of static, batch-unknown and fully unknown shape, and
requires the numbers of the separate fetches: rewrites that pair ops fetched together (such
as the fused cross-entropy) or that only see the graph when shapes are unknown are checked too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

import chainrule as cr
from chainrule import checks


def run(fetches, feed=None):
    """Run ``fetches`` in a fresh session of the default graph."""
    with cr.Session() as s:
        return s.run(fetches, feed)


_run = run


class HiddenShape(cr.Operation):
    """Identity whose static shape is replaced, as if its input were fed with unknown shape."""

    def __init__(self, x, shape=None):
        self.static_shape = shape
        super().__init__([x])

    def infer(self, x):
        return self.static_shape, x.dtype

    def compute(self, x):
        return x


@cr.RegisterGradient("HiddenShape")
def _hidden_shape_grad(op, grad):
    return grad


STATIC = "static"
BATCH_UNKNOWN = "batch unknown"
UNKNOWN = "unknown"

#: the unknown-shape variants ``check_op`` builds besides the static one, by default
ANY_SHAPE_UNKNOWN = (BATCH_UNKNOWN, UNKNOWN)
#: for functions that need the rank or a non-batch size when the graph is built (tensordot's
#: axes, unstack's count, bias_add NCHW, dense's units in, label smoothing's class count)
RANK_KNOWN = (BATCH_UNKNOWN,)


def placeholder_shape(array: np.ndarray, variant: str) -> tuple | None:
    """The placeholder shape under which ``array`` is fed in the given shape variant."""
    if variant == STATIC:
        return array.shape
    if variant == BATCH_UNKNOWN:
        return (None, *array.shape[1:]) if array.ndim else ()
    return None


class OpGraph:
    """``cr_fn`` on placeholders of one shape variant, with its gradients (built on request)."""

    def __init__(self, cr_fn, arrays, variant):
        self.cr_fn, self.arrays = cr_fn, arrays
        self.w_value, self.vs = None, None
        self.graph = cr.Graph()
        with self.graph.as_default():
            self.xs = [
                cr.placeholder(cr.float64, shape=placeholder_shape(a, variant)) for a in arrays
            ]
            self.y = cr_fn(*self.xs)
        self.feed = dict(zip(self.xs, arrays, strict=True))
        self.first: list = []
        self.second: list = []

    def differentiate(self, w_value, vs):
        """First gradients of ``sum(y * w)``; with ``vs``, those of ``sum_k <grad_k, v_k>`` too."""
        self.w_value, self.vs = w_value, vs
        with self.graph.as_default():
            self.first = cr.gradients(cr.reduce_sum(self.y * cr.constant(w_value)), self.xs)
            if vs is not None:
                pairs = zip(self.first, vs, strict=True)
                total = cr.add_n([cr.reduce_sum(g * v) for g, v in pairs if g is not None])
                self.second = cr.gradients(total, self.xs)

    def rebuilt(self, variant):
        """The same function and gradients on placeholders of another shape variant."""
        other = OpGraph(self.cr_fn, self.arrays, variant)
        other.differentiate(self.w_value, self.vs)
        return other

    def fetch(self, fetches, optimize=None):
        """The values of ``fetches`` from one run of a fresh session (rewrites as asked)."""
        if not fetches:
            return []
        with cr.Session(graph=self.graph, optimize=optimize) as s:
            return s.run(list(fetches), self.feed)

    def everything(self):
        """The value, the first gradients and the second-order ones that are not ``None``."""
        return [self.y, *live(self.first), *live(self.second)]

    def fetch_names(self):
        """Names of the fetches of ``everything``, for messages and to compare variants."""
        return [
            "the value",
            *(f"gradient {i}" for i, g in enumerate(self.first) if g is not None),
            *(f"second-order gradient {i}" for i, g in enumerate(self.second) if g is not None),
        ]


def live(nodes):
    """The gradients that flow (``cr.gradients`` gives ``None`` for inputs it does not reach)."""
    return [n for n in nodes if n is not None]


def shape_variants(arrays, unknown_shapes):
    """The static variant and the asked unknown ones that differ from it (scalars have no
    batch dim to hide)."""
    has_batch = any(a.ndim for a in arrays)
    return [STATIC, *(v for v in unknown_shapes if v != BATCH_UNKNOWN or has_batch)]


def check_op(
    cr_fn: Callable[..., cr.Tensor],
    torch_fn: Callable[..., torch.Tensor],
    inputs: Sequence[np.ndarray],
    second_order: bool = False,
    finite_differences: bool = True,
    atol: float = 1e-8,
    fd_atol: float = 1e-5,
    seed: int = 0,
    unknown_shapes: Sequence[str] = ANY_SHAPE_UNKNOWN,
) -> None:
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=np.float64) for a in inputs]
    static = OpGraph(cr_fn, arrays, STATIC)
    y_value = np.asarray(static.fetch([static.y])[0])
    w_value = rng.standard_normal(y_value.shape)
    vs = [rng.standard_normal(a.shape) for a in arrays] if second_order else None
    static.differentiate(w_value, vs)
    grad_values = static.fetch(live(static.first))
    second_values = static.fetch(live(static.second))

    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    y_torch = torch_fn(*tensors)
    np.testing.assert_allclose(y_value, y_torch.detach().numpy(), rtol=1e-10, atol=atol)
    loss_torch = (y_torch * torch.tensor(w_value)).sum()
    torch_grads = torch.autograd.grad(loss_torch, tensors, create_graph=True, allow_unused=True)
    it = iter(grad_values)
    for g, tg, a in zip(static.first, torch_grads, arrays, strict=True):
        if g is None:
            assert tg is None or np.allclose(tg.detach().numpy(), 0.0)
            continue
        value = np.asarray(next(it))
        assert value.shape == a.shape, (value.shape, a.shape)
        expected = np.zeros_like(a) if tg is None else tg.detach().numpy()
        np.testing.assert_allclose(value, expected, rtol=1e-7, atol=atol)

    if finite_differences:
        err = checks.gradient_error(lambda *v: cr.reduce_sum(cr_fn(*v) * w_value), arrays)
        assert err < fd_atol, f"finite-difference error {err}"

    if second_order:
        _check_second_order(static.second, second_values, tensors, torch_grads, arrays, vs, atol)

    apart = [y_value, *grad_values, *second_values]
    _check_fetched_together(static, apart, shape_variants(arrays, unknown_shapes))


def _check_second_order(second, second_values, tensors, torch_grads, arrays, vs, atol):
    """Hessian-vector products: d/dx of sum_k <grad_k, v_k>, against PyTorch."""
    values = iter(second_values)
    total_torch = sum(
        (tg * torch.tensor(v)).sum()
        for tg, v in zip(torch_grads, vs, strict=True)
        if tg is not None
    )
    if not total_torch.requires_grad:  # the second derivative is identically zero
        expected = [None] * len(tensors)
    else:
        expected = torch.autograd.grad(total_torch, tensors, allow_unused=True)
    for g, e, a in zip(second, expected, arrays, strict=True):
        want = np.zeros_like(a) if e is None else e.detach().numpy()
        got = np.zeros_like(a) if g is None else np.asarray(next(values))
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=max(atol, 1e-7))


def _check_fetched_together(static, apart, variants):
    """One run of the value and all gradients, rewrites on and off, for every shape variant,
    gives the numbers of the separate runs."""
    names = static.fetch_names()
    for variant in variants:
        op_graph = static if variant == STATIC else static.rebuilt(variant)
        assert op_graph.fetch_names() == names, (variant, op_graph.fetch_names(), names)
        for optimize in (True, False):
            together = op_graph.fetch(op_graph.everything(), optimize=optimize)
            for name, got, want in zip(names, together, apart, strict=True):
                np.testing.assert_allclose(
                    np.asarray(got),
                    np.asarray(want),
                    rtol=1e-12,
                    atol=1e-12,
                    strict=True,
                    err_msg=f"{name} fetched with everything else ({variant} shapes, rewrites "
                    f"{'on' if optimize else 'off'}) differs from {name} fetched alone",
                )


# -- inputs in each op's safe domain, and the binary ops with their PyTorch twins ---------------
def normal(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


def away_from_zero(rng, shape):
    return rng.uniform(0.3, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)


BINARY_OPS = [
    ("add", cr.add, torch.add, normal, normal),
    ("subtract", cr.subtract, torch.sub, normal, normal),
    ("multiply", cr.multiply, torch.mul, normal, normal),
    ("divide", cr.divide, torch.div, normal, away_from_zero),
    ("pow", cr.pow, torch.pow, positive, normal),
    ("maximum", cr.maximum, torch.maximum, normal, normal),
    ("minimum", cr.minimum, torch.minimum, normal, normal),
    ("squared_difference", cr.squared_difference, lambda a, b: (a - b) ** 2, normal, normal),
    ("floormod", cr.floormod, torch.remainder, normal, away_from_zero),
]
