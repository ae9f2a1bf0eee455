"""Symbolic gradients: paths, sums, None for unconnected, grad_ys, stop_gradients, higher order."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import checks


def _run(fetches, feed=None):
    with cr.Session() as s:
        return s.run(fetches, feed or {})


def test_multiple_paths_add_up_as_the_multivariable_chain_rule():
    # f(x) = x^2 (3x + 1) - sin(x^2), seed 002's example: f' = 3x^2 + 2x(3x + 1 - cos(x^2))
    x = cr.placeholder(cr.float64, shape=[])
    h = x * x
    g = 3.0 * x + 1.0
    f = h * g - cr.sin(h)
    (df,) = cr.gradients(f, [x])
    value = 0.7
    expected = 3 * value**2 + 2 * value * (3 * value + 1 - np.cos(value**2))
    assert _run(df, {x: value}) == pytest.approx(expected, rel=1e-12)


def test_gradient_with_respect_to_an_intermediate_node():
    x = cr.placeholder(cr.float64, shape=[])
    e = 4.0 * x + 1.0
    y = e**2
    dy_de, dy_dx = cr.gradients(y, [e, x])
    assert _run([dy_de, dy_dx], {x: 1.0}) == [10.0, 40.0]


def test_unconnected_and_non_differentiable_paths_give_none():
    x = cr.placeholder(cr.float64, shape=[3])
    unrelated = cr.placeholder(cr.float64, shape=[3])
    y = cr.reduce_sum(x * 2.0)
    assert cr.gradients(y, [unrelated]) == [None]
    index = cr.cast(x > 0.0, cr.float64)
    assert cr.gradients(cr.reduce_sum(index), [x]) == [None]
    assert cr.gradients(cr.reduce_sum(cr.stop_gradient(x)), [x]) == [None]


def test_non_scalar_and_list_ys_are_summed():
    x = cr.placeholder(cr.float64, shape=[2])
    (g1,) = cr.gradients(x * 3.0, [x])
    (g2,) = cr.gradients([x * 3.0, cr.reduce_sum(x * x)], [x])
    v = np.array([1.0, 2.0])
    np.testing.assert_allclose(_run(g1, {x: v}), [3.0, 3.0])
    np.testing.assert_allclose(_run(g2, {x: v}), [5.0, 7.0])


def test_grad_ys_weights_the_outputs():
    x = cr.placeholder(cr.float64, shape=[2])
    (g,) = cr.gradients(x * x, [x], grad_ys=np.array([1.0, 10.0]))
    np.testing.assert_allclose(_run(g, {x: np.array([1.0, 2.0])}), [2.0, 40.0])


def test_stop_gradients_treats_nodes_as_constants():
    a = cr.placeholder(cr.float64, shape=[])
    b = 2.0 * a
    c = a + b
    ga, gb = cr.gradients(c, [a, b], stop_gradients=[a, b])
    assert _run([ga, gb], {a: 1.0}) == [1.0, 1.0]
    (full,) = cr.gradients(c, [a])
    assert _run(full, {a: 1.0}) == 3.0


def test_second_derivatives_and_hessian_vector_products():
    x = cr.placeholder(cr.float64, shape=[3])
    y = cr.reduce_sum(cr.sin(x) * x * x)
    (g,) = cr.gradients(y, [x])
    (h,) = cr.gradients(cr.reduce_sum(g * np.array([1.0, 0.0, 2.0])), [x])
    v = np.array([0.3, -1.2, 2.0])
    hess_diag = 2 * np.sin(v) + 4 * v * np.cos(v) - v * v * np.sin(v)
    np.testing.assert_allclose(_run(h, {x: v}), hess_diag * np.array([1.0, 0.0, 2.0]))


def test_compute_gradients_covers_every_node_the_loss_depends_on():
    x = cr.placeholder(cr.float64, shape=[], name="x")
    w = cr.Variable(2.0, dtype=cr.float64, name="w")
    hidden = x * w
    loss = cr.square(hidden)
    table = cr.compute_gradients(loss)
    assert set(table) >= {x, w, hidden, loss}
    values = _run({n.op.name: t for n, t in table.items()}, {x: 3.0})
    assert values["w"] == 2 * 6.0 * 3.0 and values["x"] == 2 * 6.0 * 2.0
    assert values[loss.op.name] == 1.0


def test_the_gradient_graph_lives_in_the_ys_graph_even_outside_its_context():
    g = cr.Graph()
    with g.as_default():
        x = cr.placeholder(cr.float64, shape=[])
        y = x * x
    (dx,) = cr.gradients(y, [x])
    assert dx.graph is g
    assert dx.name.startswith("gradients/")
    with cr.Session(graph=g) as s:
        assert s.run(dx, {x: 3.0}) == 6.0


def test_gradient_error_on_a_function_and_on_a_graph_node():
    err = checks.gradient_error(
        lambda a, b: cr.reduce_sum(cr.tanh(cr.matmul(a, b))),
        [np.ones((2, 3)) * 0.1, np.arange(6.0).reshape(3, 2) / 10],
    )
    assert err < 1e-8
    X = cr.placeholder(cr.float64, shape=[4, 2])
    W = cr.Variable(np.full((2, 1), 0.3))
    loss = cr.reduce_sum(cr.sigmoid(cr.matmul(X, W)))
    err = checks.gradient_error(loss, [W], feed_dict={X: np.arange(8.0).reshape(4, 2) / 8})
    assert err < 1e-8
    assert checks.check_gradients(loss, [W], feed_dict={X: np.ones((4, 2))}) < 1e-8


def test_check_gradients_catches_a_wrong_gradient():
    class Doubler(cr.Operation):
        def __init__(self, x):
            super().__init__([x])

        def compute(self, x):
            return 2.0 * x

    @cr.RegisterGradient("Doubler")
    def _wrong(op, grad):
        return grad * 3.0

    with pytest.raises(cr.errors.InvalidArgumentError, match="finite differences"):
        checks.check_gradients(lambda a: Doubler(a), [np.ones(3)])
