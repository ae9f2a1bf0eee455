"""Random ops: TF1 seeding rules, statistics on 10^5 samples, truncation, no gradients."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DTypeError, InvalidArgumentError, ShapeError

N = 100_000


def _draw_twice(node, feed=None):
    """Two runs in one session, and one run in a second session."""
    with cr.Session() as s:
        first, second = s.run(node, feed), s.run(node, feed)
    with cr.Session() as s:
        other = s.run(node, feed)
    return first, second, other


def test_graph_and_op_seed_repeat_across_sessions_and_advance_within_one():
    cr.set_random_seed(42)
    x = cr.random_normal([5], seed=7)
    first, second, other = _draw_twice(x)
    np.testing.assert_array_equal(first, other)
    assert not np.array_equal(first, second)


def test_graph_seed_only_is_reproducible_across_graphs_built_the_same_way():
    def build():
        graph = cr.Graph()
        with graph.as_default():
            cr.set_random_seed(3)
            a = cr.random_uniform([4])
            b = cr.random_uniform([4])
        return graph, a, b

    g1, a1, b1 = build()
    g2, a2, b2 = build()
    v1 = cr.Session(graph=g1).run([a1, b1])
    v2 = cr.Session(graph=g2).run([a2, b2])
    np.testing.assert_array_equal(v1[0], v2[0])
    np.testing.assert_array_equal(v1[1], v2[1])
    assert not np.array_equal(v1[0], v1[1]), "ops at different positions draw differently"


def test_op_seed_only_uses_the_default_graph_seed():
    x = cr.random_normal([6], seed=11)
    y = cr.random_normal([6], seed=11)
    first, _, other = _draw_twice(x)
    np.testing.assert_array_equal(first, other)
    np.testing.assert_array_equal(cr.Session().run(y), first)


def test_unseeded_ops_differ_between_sessions():
    x = cr.random_normal([8])
    first, second, other = _draw_twice(x)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, second)


def test_graph_seed_is_read_when_the_op_is_built():
    x = cr.random_uniform([5])
    cr.set_random_seed(1)
    first, _, other = _draw_twice(x)
    assert not np.array_equal(first, other), "an op built before set_random_seed stays unseeded"


def test_random_ops_are_not_merged_or_folded():
    cr.set_random_seed(5)
    a = cr.random_normal([3], seed=1)
    b = cr.random_normal([3], seed=2)
    va, vb = cr.Session().run([a, b])
    assert not np.array_equal(va, vb)
    assert not a.op.pure and not b.op.pure


def test_random_normal_statistics():
    x = cr.random_normal([N], mean=2.0, stddev=3.0, seed=1)
    v = cr.Session().run(x)
    assert v.dtype == np.float32 and v.shape == (N,)
    assert abs(v.mean() - 2.0) < 0.05
    assert abs(v.std() - 3.0) < 0.05


def test_random_uniform_statistics_and_bounds():
    x = cr.random_uniform([N], minval=-1.0, maxval=3.0, dtype=cr.float64, seed=2)
    v = cr.Session().run(x)
    assert v.dtype == np.float64
    assert v.min() >= -1.0 and v.max() < 3.0
    assert abs(v.mean() - 1.0) < 0.03
    assert abs(v.std() - 4 / np.sqrt(12)) < 0.02


def test_random_uniform_integers():
    x = cr.random_uniform([N], minval=2, maxval=6, dtype=cr.int32, seed=3)
    v = cr.Session().run(x)
    assert v.dtype == np.int32
    assert set(np.unique(v)) == {2, 3, 4, 5}
    assert abs(np.mean(v == 5) - 0.25) < 0.01
    with pytest.raises(InvalidArgumentError):
        cr.random_uniform([3], dtype=cr.int32)


def test_truncated_normal_bounds_and_statistics():
    x = cr.truncated_normal([N], mean=1.0, stddev=0.5, seed=4)
    v = cr.Session().run(x)
    assert v.min() >= 0.0 and v.max() <= 2.0
    assert abs(v.mean() - 1.0) < 0.01
    assert abs(v.std() - 0.5 * 0.8796) < 0.01
    assert v.max() > 1.95 and v.min() < 0.05


def test_float16_draws():
    v = cr.Session().run(cr.random_normal([1000], dtype=cr.float16, seed=1))
    assert v.dtype == np.float16 and np.all(np.isfinite(v))


def test_shape_from_a_node_and_from_a_mixed_list():
    x = cr.placeholder(cr.float32, [None, 3])
    a = cr.random_normal(cr.shape(x), seed=1)
    b = cr.random_uniform([cr.shape(x)[0], 2], seed=2)
    assert a.shape == (None, None) and b.shape == (None, None)
    va, vb = cr.Session().run([a, b], {x: np.zeros((4, 3))})
    assert va.shape == (4, 3) and vb.shape == (4, 2)


def test_node_valued_mean_and_stddev_let_gradients_flow():
    mu = cr.Variable(np.float32(1.5))
    sigma = cr.Variable(np.float32(2.0))
    z = cr.random_normal([1000], mean=mu, stddev=sigma, seed=9)
    g_mu, g_sigma = cr.gradients(cr.reduce_sum(z), [mu, sigma])
    with cr.Session() as s:
        z_value, gm, gs = s.run([z, g_mu, g_sigma])
    assert gm == pytest.approx(1000.0)
    assert gs == pytest.approx(float(np.sum((z_value - 1.5) / 2.0)), rel=1e-3)


def test_random_shuffle_has_no_gradient():
    p = cr.placeholder(cr.float32, [3])
    shuffled = cr.random_shuffle(p)
    assert cr.gradients(cr.reduce_sum(shuffled), [p]) == [None]


def test_random_shuffle_permutes_rows():
    rows = np.arange(20).reshape(10, 2)
    y = cr.random_shuffle(cr.constant(rows), seed=1)
    with cr.Session() as s:
        a, b = s.run(y), s.run(y)
    assert sorted(map(tuple, a)) == sorted(map(tuple, rows))
    assert not np.array_equal(a, b) or not np.array_equal(a, rows)


def test_variables_initialised_from_random_ops_reinitialise_with_new_draws():
    cr.set_random_seed(0)
    w = cr.Variable(cr.random_normal([4, 4]))
    with cr.Session() as s:
        first = s.run(w)
        s.run(cr.global_variables_initializer())
        second = s.run(w)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(cr.Session().run(w), first)


def test_argument_errors():
    with pytest.raises(DTypeError):
        cr.random_normal([2], dtype=cr.int32)
    with pytest.raises(ShapeError):
        cr.random_normal([None, 2])
    with pytest.raises(InvalidArgumentError, match="minval < maxval"):
        cr.random_uniform([2], 5, 5, dtype=cr.int64)
