"""Numerical gradient checks: backprop's Jacobians against central finite differences.

Like ``tf.test.compute_gradient_error`` and ``torch.autograd.gradcheck``, for any graph:

    cr.checks.gradient_error(lambda x, w: cr.reduce_sum(cr.tanh(x @ w)), [x0, w0])
    cr.checks.gradient_error(loss, [W, b], feed_dict={X: data})
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .autodiff import gradients
from .dtypes import float64
from .errors import InvalidArgumentError
from .graph import Graph, Node, Tensor
from .ops.base import placeholder
from .runtime.session import Session

__all__ = ["compute_gradient", "gradient_error", "check_gradients"]

Jacobians = list[tuple[np.ndarray, np.ndarray]]


def compute_gradient(
    f: Callable[..., Node] | Node,
    inputs: Sequence[Any],
    feed_dict: dict | None = None,
    delta: float = 1e-6,
) -> Jacobians:
    """``[(theoretical, numerical)]`` Jacobians of ``f`` for each input, in float64.

    ``f`` is either a function of nodes (``inputs`` are then arrays) or an output node
    (``inputs`` are then nodes of its graph: placeholders, variables or any node).
    """
    if isinstance(f, Tensor):
        graph, y, xs = f.graph, f, list(inputs)
        session = Session(graph=graph)
        base_feed = dict(feed_dict or {})
        points = [np.asarray(v, dtype=np.float64) for v in session.run(xs, base_feed)]
    else:
        graph = Graph()
        points = [np.array(v, dtype=np.float64) for v in inputs]
        with graph.as_default():
            xs = [placeholder(float64, shape=p.shape, name=f"x{i}") for i, p in enumerate(points)]
            y = f(*xs)
        session, base_feed = Session(graph=graph), {}
    return _jacobians(session, graph, y, xs, points, base_feed, delta)


def _jacobians(
    session: Session,
    graph: Graph,
    y: Node,
    xs: list[Node],
    points: list[np.ndarray],
    base_feed: dict,
    delta: float,
) -> Jacobians:
    def evaluate(values: list[np.ndarray]) -> np.ndarray:
        feed = dict(base_feed)
        feed.update(zip(xs, values, strict=True))
        return np.asarray(session.run(y, feed), dtype=np.float64)

    y0 = evaluate(points)
    with graph.as_default():
        dy = placeholder(y.dtype, shape=y0.shape, name="check_dy")
        grads = gradients(y, xs, grad_ys=dy)
    theoretical = [np.zeros((p.size, y0.size)) for p in points]
    for j in range(y0.size):
        unit = np.zeros(y0.size)
        unit[j] = 1.0
        feed = dict(base_feed)
        feed.update(zip(xs, points, strict=True))
        feed[dy] = unit.reshape(y0.shape)
        live = [g for g in grads if g is not None]
        values = iter(session.run(live, feed))
        for k, g in enumerate(grads):
            if g is not None:
                theoretical[k][:, j] = np.asarray(next(values), dtype=np.float64).reshape(-1)
    numerical = []
    for k, point in enumerate(points):
        jac = np.zeros((point.size, y0.size))
        for i in range(point.size):
            shifted = [p.copy() for p in points]
            flat = shifted[k].reshape(-1)
            flat[i] = point.reshape(-1)[i] + delta
            up = evaluate(shifted)
            flat[i] = point.reshape(-1)[i] - delta
            down = evaluate(shifted)
            jac[i] = ((up - down) / (2 * delta)).reshape(-1)
        numerical.append(jac)
    return list(zip(theoretical, numerical, strict=True))


def gradient_error(
    f: Callable[..., Node] | Node,
    inputs: Sequence[Any],
    feed_dict: dict | None = None,
    delta: float = 1e-6,
) -> float:
    """The largest absolute difference between backprop and finite-difference Jacobians."""
    pairs = compute_gradient(f, inputs, feed_dict=feed_dict, delta=delta)
    return max((float(np.max(np.abs(t - n))) if t.size else 0.0) for t, n in pairs)


def check_gradients(
    f: Callable[..., Node] | Node,
    inputs: Sequence[Any],
    feed_dict: dict | None = None,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    delta: float = 1e-6,
) -> float:
    """Raise ``InvalidArgumentError`` when backprop and finite differences disagree.

    Returns the largest absolute error when they agree within ``atol + rtol * |numerical|``.
    """
    pairs = compute_gradient(f, inputs, feed_dict=feed_dict, delta=delta)
    worst = 0.0
    for k, (theoretical, numerical) in enumerate(pairs):
        error = np.abs(theoretical - numerical)
        bad = error > atol + rtol * np.abs(numerical)
        if np.any(bad):
            i, j = np.argwhere(bad)[0]
            raise InvalidArgumentError(
                f"gradient check failed for input {k}: d(output[{j}])/d(input[{i}]) is "
                f"{theoretical[i, j]:.6g} by backprop but {numerical[i, j]:.6g} by finite "
                f"differences"
            )
        worst = max(worst, float(error.max()) if error.size else 0.0)
    return worst
