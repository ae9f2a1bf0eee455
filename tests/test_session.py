"""Sessions: nested fetches, feeds, per-session variables, initialisers, assign ops, callables."""

import collections

import numpy as np
import pytest

import chainrule as cr


def test_nested_fetches_keep_their_structure():
    a, b = cr.constant(1.0), cr.constant(2.0)
    Pair = collections.namedtuple("Pair", "first second")
    with cr.Session() as s:
        out = s.run({"a": a, "list": [a, (b, a)], "pair": Pair(a, b)})
    assert out["a"] == 1.0
    assert isinstance(out["list"], list) and isinstance(out["list"][1], tuple)
    assert out["list"][1] == (2.0, 1.0)
    assert out["pair"] == Pair(1.0, 2.0)


def test_results_are_numpy_values_and_scalars():
    x = cr.constant(np.arange(3.0))
    with cr.Session() as s:
        vector, total = s.run([x, cr.reduce_sum(x)])
    assert isinstance(vector, np.ndarray) and vector.dtype == np.float64
    assert isinstance(total, np.floating) and total == 3.0


def test_any_node_can_be_fed_to_override_its_value():
    x = cr.placeholder(cr.float64, shape=[])
    hidden = x * 2.0
    out = hidden + 1.0
    with cr.Session() as s:
        assert s.run(out, {x: 3.0}) == 7.0
        assert s.run(out, {hidden: 10.0}) == 11.0  # x need not be fed


def test_feeds_and_fetches_by_name():
    x = cr.placeholder(cr.float64, shape=[], name="x")
    cr.multiply(x, 3.0, name="tripled")
    with cr.Session() as s:
        assert s.run("tripled:0", {"x:0": 2.0}) == 6.0


def test_variables_live_in_each_session_independently():
    v = cr.Variable(np.array([1.0, 2.0]), name="v")
    step = cr.assign_add(v, [1.0, 1.0])
    s1, s2 = cr.Session(), cr.Session()
    s1.run(step)
    s1.run(step)
    np.testing.assert_array_equal(s1.run(v), [3.0, 4.0])
    np.testing.assert_array_equal(s2.run(v), [1.0, 2.0])


def test_initializers_reset_variables():
    v = cr.Variable(5.0, dtype=cr.float64)
    w = cr.Variable(7.0, dtype=cr.float64)
    with cr.Session() as s:
        s.run([cr.assign(v, 1.0), cr.assign_sub(w, 2.0)])
        assert s.run([v, w]) == [1.0, 5.0]
        s.run(cr.variables_initializer([v]))
        assert s.run([v, w]) == [5.0, 5.0]
        assert s.run(cr.global_variables_initializer()) is None
        assert s.run([v, w]) == [5.0, 7.0]


def test_assign_returns_the_new_value_and_checks_shapes():
    v = cr.Variable(np.zeros(2))
    with cr.Session() as s:
        np.testing.assert_array_equal(s.run(v.assign([3.0, 4.0])), [3.0, 4.0])
        np.testing.assert_array_equal(s.run(v.assign_add([1.0, 1.0])), [4.0, 5.0])
        np.testing.assert_array_equal(s.run(v.assign_sub([4.0, 5.0])), [0.0, 0.0])
    with pytest.raises(cr.errors.ShapeError):
        cr.assign(v, np.zeros(3))


def test_fetched_values_never_alias_session_state():
    v = cr.Variable(np.zeros(3))
    with cr.Session() as s:
        first = s.run(v)
        first[:] = 99.0
        np.testing.assert_array_equal(s.run(v), np.zeros(3))
        s.run(cr.assign_add(v, np.ones(3)))
        np.testing.assert_array_equal(first, [99.0, 99.0, 99.0])
        ident = s.run(cr.identity(v))
        ident += 5
        np.testing.assert_array_equal(s.run(v), np.ones(3))


def test_make_callable_runs_with_little_overhead_and_the_same_results():
    x = cr.placeholder(cr.float64, shape=[None])
    y = cr.reduce_sum(x * x)
    with cr.Session() as s:
        f = s.make_callable([y, x], [x])
        total, echoed = f(np.array([1.0, 2.0]))
        assert total == 5.0
        np.testing.assert_array_equal(echoed, [1.0, 2.0])
        with pytest.raises(cr.errors.InvalidArgumentError):
            f()


def test_eval_and_run_with_a_default_session():
    v = cr.Variable(1.0, dtype=cr.float64)
    inc = cr.assign_add(v, 1.0)
    with cr.Session():
        inc.op.run()
        assert v.eval() == 2.0
        assert (v * 3).eval() == 6.0
    s = cr.InteractiveSession()
    assert v.eval() == 1.0
    s.close()


def test_plans_are_compiled_once_per_fetches_and_feeds_and_the_graph_may_grow():
    x = cr.placeholder(cr.float64, shape=[])
    y = x * 2.0
    with cr.Session() as s:
        s.run(y, {x: 1.0})
        assert len(s._plans) == 1
        s.run(y, {x: 2.0})
        assert len(s._plans) == 1
        z = y + 1.0  # the graph grows after the first run
        assert s.run(z, {x: 1.0}) == 3.0
        assert len(s._plans) == 2


def test_variables_initialise_lazily_from_random_initial_values_once():
    w = cr.Variable(np.random.default_rng(0).standard_normal((2, 2)))
    with cr.Session() as s:
        first = s.run(w)
        np.testing.assert_array_equal(s.run(w), first)
