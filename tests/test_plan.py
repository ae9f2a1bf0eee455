"""Compiled plans and the session's fast paths: caching, feeds, results, errors, threads, depth."""

import threading
import tracemalloc

import numpy as np
import pytest

import chainrule as cr
from chainrule.runtime.plan import Plan


@pytest.fixture(params=[True, False], ids=["rewrites", "plain"])
def optimize(request):
    return request.param


# -- caching and fetch structures ------------------------------------------------------------------
def test_each_kind_of_call_builds_one_plan_and_reuses_it(optimize):
    x = cr.placeholder(cr.float64, [None])
    y = x * 2.0
    z = y + 1.0
    with cr.Session(optimize=optimize) as s:
        for value in ([1.0], [2.0, 3.0]):
            expected = np.asarray(value) * 2.0
            np.testing.assert_array_equal(s.run(y, {x: value}), expected)
            np.testing.assert_array_equal(s.run([y], {x: value})[0], expected)
            assert isinstance(s.run((y, z), {x: value}), tuple)
            assert s.run({"y": y, "z": [z]}, {x: value})["z"][0][0] == expected[0] + 1
            np.testing.assert_array_equal(s.run(y.name, {x.name: value}), expected)
        assert len(s._plans) == 2  # y (also by name); (y, z) shared by the tuple and the dict


def test_a_list_of_fetches_may_change_between_calls():
    a, b = cr.constant(1.0), cr.constant(2.0)
    fetches = [a]
    with cr.Session() as s:
        assert s.run(fetches) == [1.0]
        fetches.append(b)
        assert s.run(fetches) == [1.0, 2.0]
        fetches[0] = b
        assert s.run(fetches) == [2.0, 2.0]


def test_plans_see_a_graph_that_grew_after_the_first_run(optimize):
    x = cr.placeholder(cr.float64, [])
    y = x * 2.0
    with cr.Session(optimize=optimize) as s:
        assert s.run(y, {x: 1.0}) == 2.0
        z = y * y
        assert s.run([y, z], {x: 3.0}) == [6.0, 36.0]


def test_the_runner_cache_is_bounded():
    from chainrule.runtime import session as session_module

    x = cr.placeholder(cr.float64, [])
    nodes = [x + float(i) for i in range(session_module._MAX_RUNNERS + 5)]
    with cr.Session() as s:
        for i, node in enumerate(nodes):
            assert s.run(node, {x: 0.0}) == float(i)
        assert len(s._runners) <= session_module._MAX_RUNNERS


# -- results -----------------------------------------------------------------------------------------
def test_results_never_alias_session_state(optimize):
    v = cr.Variable(np.arange(4.0))
    views = [v, cr.identity(v), cr.reshape(v, [2, 2]), v * 1.0, v[1:], cr.stop_gradient(v)]
    with cr.Session(optimize=optimize) as s:
        for fetched in s.run(views):
            fetched[...] = -1.0
        np.testing.assert_array_equal(s.run(v), np.arange(4.0))


def test_results_never_alias_feeds_constants_or_each_other(optimize):
    x = cr.placeholder(cr.float64, [3])
    c = cr.constant(np.ones(3))
    y = x * 2.0
    value = np.arange(3.0)
    with cr.Session(optimize=optimize) as s:
        out_x, out_c, out_y, again = s.run([x, c, y, y], {x: value})
    out_x[0] = out_c[0] = out_y[0] = 42.0
    np.testing.assert_array_equal(value, np.arange(3.0))
    assert again[0] == 0.0


def test_scalars_come_back_as_numpy_scalars_and_updates_as_none(optimize):
    v = cr.Variable(1.0, dtype=cr.float64)
    step = cr.assign_add(v, 1.0)
    train = cr.group(step)
    total = cr.reduce_sum(cr.constant(np.array([1.0, 2.0])) * v)
    with cr.Session(optimize=optimize) as s:
        out_total, out_train = s.run([total, train])
        assert isinstance(out_total, np.floating) and out_train is None
        assert s.run(v) == 2.0


# -- feeds --------------------------------------------------------------------------------------------
def test_feed_values_are_checked_on_every_call(optimize):
    x = cr.placeholder(cr.float32, [None, 2], name="inputs")
    y = x * 2.0
    with cr.Session(optimize=optimize) as s:
        s.run(y, {x: np.ones((3, 2), np.float32)})
        with pytest.raises(cr.errors.InvalidArgumentError, match="inputs.*shape"):
            s.run(y, {x: np.ones((3, 3), np.float32)})
        out = s.run(y, {x: [[1, 2]]})  # lists and lossless casts are converted
        assert out.dtype == np.float32 and out.tolist() == [[2.0, 4.0]]
        ints = cr.placeholder(cr.int32, [2])
        with pytest.raises(cr.errors.InvalidArgumentError):
            s.run(ints + 1, {ints: [0.5, 1.0]})


def test_untyped_placeholders_and_fed_intermediates(optimize):
    x = cr.placeholder()
    y = x * 2
    z = y + 1
    with cr.Session(optimize=optimize) as s:
        assert s.run(z, {x: [1.0, 2.0]}).tolist() == [3.0, 5.0]
        assert s.run(z, {y: [10.0]}).tolist() == [11.0]


def test_a_missing_feed_names_the_placeholder():
    x = cr.placeholder(cr.float64, [], name="needed")
    with cr.Session() as s, pytest.raises(cr.errors.InvalidArgumentError, match="needed"):
        s.run(x + 1.0)


# -- make_callable --------------------------------------------------------------------------------------
def test_make_callable_runs_and_validates(optimize):
    x = cr.placeholder(cr.float64, [None], name="x")
    v = cr.Variable(0.0, dtype=cr.float64)
    step = cr.assign_add(v, cr.reduce_sum(x))
    with cr.Session(optimize=optimize) as s:
        run_step = s.make_callable([step, v * 1.0], [x])
        assert run_step(np.array([1.0, 2.0]))[0] == 3.0
        # v * 1.0 does not depend on the step: it reads v as the run found it
        assert run_step([4.0]) == [7.0, 3.0]
        single = s.make_callable(v)
        assert single() == 7.0
        with pytest.raises(cr.errors.InvalidArgumentError, match="expected 1 feed"):
            run_step()
        with pytest.raises(cr.errors.InvalidArgumentError, match="x"):
            run_step(np.ones((2, 2)))
    with pytest.raises(cr.errors.FailedPreconditionError):
        single()


def test_a_closed_session_refuses_cached_calls():
    x = cr.constant(1.0)
    s = cr.Session()
    assert s.run(x) == 1.0
    s.close()
    with pytest.raises(cr.errors.FailedPreconditionError):
        s.run(x)


# -- errors --------------------------------------------------------------------------------------------
class Exploding(cr.Operation):
    def __init__(self, x):
        super().__init__([x])

    def compute(self, x):
        raise ValueError("boom")


def test_a_failing_kernel_is_reported_for_its_node(optimize):
    x = cr.placeholder(cr.float64, [2])
    bad = Exploding(x * 1.0 + 1.0)
    with cr.Session(optimize=optimize) as s, pytest.raises(cr.errors.InvalidArgumentError) as info:
        s.run(cr.exp(bad), {x: [1.0, 2.0]})
    assert info.value.node is bad.op
    assert "boom" in str(info.value) and "test_plan.py:" in str(info.value)


def test_check_numerics_stops_at_the_first_bad_value(optimize):
    x = cr.placeholder(cr.float64, [2])
    logged = cr.log(x)
    y = logged * 2.0
    with cr.Session(check_numerics=True, optimize=optimize) as s:
        np.testing.assert_allclose(s.run(y, {x: [1.0, 2.0]}), 2 * np.log([1.0, 2.0]))
        with pytest.raises(cr.errors.InvalidArgumentError) as info:
            s.run(y, {x: [-1.0, 2.0]})
    assert info.value.node is logged.op


def test_floating_point_warnings_are_silenced_during_a_run():
    x = cr.placeholder(cr.float64, [2])
    with cr.Session() as s, np.errstate(all="raise"):
        out = s.run(cr.log(x), {x: [0.0, -1.0]})
        assert np.isneginf(out[0]) and np.isnan(out[1])
        with pytest.raises(FloatingPointError):
            np.log(np.array(0.0))  # the caller's error state is back


# -- variables ----------------------------------------------------------------------------------------
def test_variables_are_initialised_lazily_and_updated_in_place(optimize):
    w = cr.Variable(np.ones(3))
    loss = cr.reduce_sum(w * w)
    train = cr.GradientDescentOptimizer(0.25).minimize(loss)
    with cr.Session(optimize=optimize) as s:
        s.run(train)
        array = s.store.get(w)
        s.run(train)
        assert s.store.get(w) is array  # the same array, changed in place
        np.testing.assert_allclose(s.run(w), np.full(3, 0.25))


def test_several_threads_may_run_one_session():
    v = cr.Variable(0.0, dtype=cr.float64)
    x = cr.placeholder(cr.float64, [])
    step = cr.assign_add(v, x)
    doubled = v * 2.0
    with cr.Session() as s:
        s.run(v)
        errors = []

        def work():
            try:
                for _ in range(200):
                    s.run(step, {x: 1.0})
                    s.run(doubled)
            except Exception as err:  # pragma: no cover - reported below
                errors.append(err)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert s.run(v) == 800.0


# -- memory ----------------------------------------------------------------------------------------------
def test_intermediates_are_freed_after_their_last_use(optimize):
    x = cr.placeholder(cr.float64, [1000, 1000])
    y = x
    for _ in range(8):
        y = cr.sin(y) + cr.cos(y)
    value = np.full((1000, 1000), 0.5)
    with cr.Session(optimize=optimize) as s:
        s.run(y, {x: value})
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            s.run(y, {x: value})
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
    megabytes = peak / 2**20
    assert megabytes < 4 * 8.0  # never more than a few of the 8 MB arrays alive at once


# -- deep graphs ----------------------------------------------------------------------------------------
def test_a_chain_of_100000_nodes_builds_compiles_runs_and_differentiates():
    x = cr.placeholder(cr.float64, [])
    rate = cr.constant(1.00001, cr.float64)
    y = x
    for i in range(100_000):
        y = y * rate if i % 2 else cr.sin(y)
    (dx,) = cr.gradients(y, [x])
    with cr.Session() as s:
        value, grad = s.run([y, dx], {x: 0.3})
        plan = max(s._plans.values(), key=lambda p: len(p.order))
    assert plan.interpreted
    expected, slope = 0.3, 1.0
    for i in range(100_000):
        if i % 2:
            expected, slope = expected * 1.00001, slope * 1.00001
        else:
            expected, slope = np.sin(expected), slope * np.cos(expected)
    assert np.isclose(value, expected, rtol=1e-9)
    assert np.isclose(grad, slope, rtol=1e-6)


@pytest.fixture
def interpret_everything(monkeypatch):
    from chainrule.runtime import plan as plan_module

    monkeypatch.setattr(plan_module, "COMPILE_LIMIT", 0)


@pytest.mark.usefixtures("interpret_everything")
def test_interpreted_plans_compute_what_compiled_plans_compute(rng, optimize):
    x = cr.placeholder(cr.float64, [None, 4])
    y = cr.placeholder(cr.float64, [None, 4])
    w = cr.Variable(rng.standard_normal((4, 4)))
    logits = cr.nn.relu(cr.matmul(x, w) * 1.0 + 0.5)
    loss = cr.reduce_mean(cr.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
    train = cr.GradientDescentOptimizer(0.1).minimize(loss)
    feed = {x: rng.standard_normal((5, 4)), y: np.eye(4)[rng.integers(0, 4, 5)]}
    with cr.Session(optimize=optimize) as s:
        first, _, same = s.run([loss, train, loss], feed)
        assert first == same
        plan = max(s._plans.values(), key=lambda p: len(p.order))
        assert plan.interpreted and plan.source == ""
        weights = s.run(w)
    x_value, y_value = feed[x], feed[y]
    z = np.maximum(x_value @ w.initial_value.op.value + 0.5, 0)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert np.isclose(first, np.mean(-np.sum(y_value * np.log(p), axis=1)))
    grad = x_value.T @ (((p - y_value) / 5) * (z > 0))
    np.testing.assert_allclose(
        weights, w.initial_value.op.value - float(np.float32(0.1)) * grad, rtol=1e-10
    )


@pytest.mark.usefixtures("interpret_everything")
def test_interpreted_plans_name_the_failing_node_and_check_numerics():
    x = cr.placeholder(cr.float64, [2])
    bad = Exploding(x + 1.0)
    logged = cr.log(x)
    with cr.Session(check_numerics=True) as s:
        with pytest.raises(cr.errors.InvalidArgumentError) as info:
            s.run(bad, {x: [1.0, 2.0]})
        assert info.value.node is bad.op
        with pytest.raises(cr.errors.InvalidArgumentError) as info:
            s.run(logged * 2.0, {x: [-1.0, 2.0]})
        assert info.value.node is logged.op
        with pytest.raises(cr.errors.InvalidArgumentError, match="shape"):
            s.run(logged, {x: [1.0]})


def test_a_plan_can_be_built_and_inspected_directly():
    x = cr.placeholder(cr.float64, [None])
    y = cr.tanh(x * 1.0) + cr.tanh(x)
    s = cr.Session(optimize=True)
    plan = Plan(s.context, [y], [x], optimize=True)
    assert plan.stats["dropped"] == 1 and plan.stats["merged"] == 1
    assert "def plan(f0)" in plan.source
    np.testing.assert_allclose(plan([np.array([0.5])])[0], 2 * np.tanh([0.5]))
