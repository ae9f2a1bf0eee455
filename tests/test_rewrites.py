"""Plan rewrites: each one fires where it should, never where it must not, and changes no value.

The op and gradient suite at the end runs every case with rewrites on and off and compares
values, first and second derivatives.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule.graph import InplaceKernel
from chainrule.runtime import passes as rewrites


def _plan(session):
    """The session's plan with the most steps (variables' initial values have their own)."""
    return max(session._plans.values(), key=lambda plan: len(plan.order))


def _run_both(build, feed_arrays, fetch_grads=True):
    """Values (and gradients wrt the placeholders) with rewrites on and off, and the stats."""
    results, stats = [], None
    for optimize in (True, False):
        graph = cr.Graph()
        with graph.as_default():
            xs = [
                cr.placeholder(cr.as_dtype(a.dtype), shape=[None] + list(a.shape[1:]))
                if a.ndim
                else cr.placeholder(cr.as_dtype(a.dtype), shape=[])
                for a in feed_arrays
            ]
            y = build(*xs)
            fetches = [y]
            if fetch_grads:
                grads = [g for g in cr.gradients(y, xs) if g is not None]
                fetches += grads
                curvature = cr.add_n([cr.reduce_sum(g * g) for g in grads])
                fetches += [g for g in cr.gradients(curvature, xs) if g is not None]
        with cr.Session(graph=graph, optimize=optimize) as s:
            results.append(s.run(fetches, dict(zip(xs, feed_arrays, strict=True))))
            if optimize:
                stats = _plan(s).stats
    return results[0], results[1], stats


def _assert_same(on, off):
    assert len(on) == len(off)
    for a, b in zip(on, off, strict=True):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# -- each rewrite fires ----------------------------------------------------------------------------
def test_neutral_arithmetic_is_dropped(rng):
    x = cr.placeholder(cr.float64, [None, 3])
    y = ((x * 1.0 + 0.0) - 0.0) / 1.0
    y = 1.0 * (0.0 + y)
    value = rng.standard_normal((4, 3))
    with cr.Session(optimize=True) as s:
        np.testing.assert_array_equal(s.run(y, {x: value}), value)
        plan = _plan(s)
    assert plan.stats["dropped"] == 6
    assert len(plan.program) == 0


def test_neutral_operand_that_broadcasts_is_kept():
    x = cr.placeholder(cr.float64, [3])
    y = x * np.ones((2, 3))
    z = x + np.zeros((2, 1))
    with cr.Session(optimize=True) as s:
        out_y, out_z = s.run([y, z], {x: [1.0, 2.0, 3.0]})
        assert _plan(s).stats["dropped"] == 0
    assert out_y.shape == (2, 3) and out_z.shape == (2, 3)
    np.testing.assert_array_equal(out_z[1], [1.0, 2.0, 3.0])


def test_multiplying_by_a_non_neutral_constant_is_kept():
    x = cr.placeholder(cr.float64, [None])
    with cr.Session(optimize=True) as s:
        np.testing.assert_array_equal(s.run(x * 1.5, {x: [2.0]}), [3.0])
        assert _plan(s).stats["dropped"] == 0


def test_constants_are_folded():
    x = cr.placeholder(cr.float64, [])
    y = x + cr.exp(cr.constant(0.0, cr.float64)) * cr.constant(3.0, cr.float64)
    with cr.Session(optimize=True) as s:
        assert s.run(y, {x: 1.0}) == 4.0
        plan = _plan(s)
    assert plan.stats["folded"] == 2
    assert len(plan.program) == 1


def test_common_subexpressions_are_merged(rng):
    x = cr.placeholder(cr.float64, [None, 4])
    a = cr.reduce_sum(cr.tanh(x) * 2.0, axis=1)
    b = cr.reduce_sum(cr.tanh(x) * 2.0, axis=1)
    c = cr.reduce_sum(cr.tanh(x) * 2.0, axis=0)  # another axis: not the same value
    value = rng.standard_normal((3, 4))
    with cr.Session(optimize=True) as s:
        out_a, out_b, out_c = s.run([a, b, c], {x: value})
        plan = _plan(s)
    assert plan.stats["merged"] == 5  # b's tanh, mul and sum; c's tanh and mul
    np.testing.assert_allclose(out_a, np.sum(np.tanh(value) * 2.0, axis=1))
    np.testing.assert_array_equal(out_a, out_b)
    np.testing.assert_allclose(out_c, np.sum(np.tanh(value) * 2.0, axis=0))
    out_a[0] = 99.0  # merged fetches are still distinct arrays
    assert out_b[0] != 99.0


def test_same_shape_reshape_and_gradient_reductions_are_dropped(rng):
    x = cr.placeholder(cr.float64, [None, 5])
    b = cr.Variable(np.zeros(5))
    y = cr.reshape(x + b, [-1, 5])
    loss = cr.reduce_sum(y * y)
    gx, gb = cr.gradients(loss, [x, b])
    value = rng.standard_normal((6, 5))
    with cr.Session(optimize=True) as s:
        out_x, out_b = s.run([gx, gb], {x: value})
        stats = _plan(s).stats
    np.testing.assert_allclose(out_x, 2 * value)
    np.testing.assert_allclose(out_b, 2 * value.sum(axis=0))
    # the reshape, its gradient's reshape and the sum_to_like of x's gradient: (?, 5) == (?, 5)
    assert stats["dropped"] >= 3


def _symbols(fetch, feeds):
    from chainrule.graph import topological_order

    order = topological_order([fetch], stop_at=set(feeds))
    _, term_of = rewrites.lower(order, feeds, cr.Session().context, symbolic=True)
    return lambda node: term_of[id(node)].sym


def test_batch_dimension_symbols_follow_the_feed():
    x = cr.placeholder(cr.float32, [None, 784])
    other = cr.placeholder(cr.float32, [None, 10])
    w = cr.Variable(np.zeros((784, 10), np.float32))
    h = cr.matmul(x, w)
    flat = cr.reshape(cr.reshape(h, [-1, 2, 5]), [-1, 10])
    total = cr.reduce_sum(flat, axis=1, keepdims=True) + other
    sym = _symbols(total, [x, other])
    batch = sym(x)[0]
    assert isinstance(batch, rewrites.Dim)
    assert sym(h) == (batch, 10) and sym(flat) == (batch, 10)
    assert sym(other)[0] is not batch
    assert sym(total)[0] is not batch and sym(total)[1] == 10  # two batches: a new symbol


def test_sparse_softmax_cross_entropy_is_fused_and_checks_its_labels(rng):
    logits = cr.placeholder(cr.float64, [None, 4])
    labels = cr.placeholder(cr.int64, [None])
    loss = cr.reduce_sum(
        cr.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    (grad,) = cr.gradients(loss, [logits])
    value = rng.standard_normal((3, 4))
    with cr.Session(optimize=True) as s:
        out_loss, out_grad = s.run([loss, grad], {logits: value, labels: [0, 3, 1]})
        assert _plan(s).stats["fused"] == 1
        with pytest.raises(cr.errors.InvalidArgumentError, match="valid range"):
            s.run([loss, grad], {logits: value, labels: [0, 4, 1]})
    p = np.exp(value) / np.exp(value).sum(1, keepdims=True)
    assert np.isclose(out_loss, -np.log(p[[0, 1, 2], [0, 3, 1]]).sum())
    np.testing.assert_allclose(out_grad, p - np.eye(4)[[0, 3, 1]], rtol=1e-12)


def test_softmax_cross_entropy_is_fused_with_its_gradient(rng):
    results = []
    data = rng.standard_normal((8, 6)), np.eye(3)[rng.integers(0, 3, 8)]
    for optimize in (True, False):
        graph = cr.Graph()
        with graph.as_default():
            x = cr.placeholder(cr.float64, [None, 6])
            y = cr.placeholder(cr.float64, [None, 3])
            w = cr.Variable(np.random.default_rng(0).standard_normal((6, 3)))
            loss = cr.reduce_mean(
                cr.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=cr.matmul(x, w))
            )
            train = cr.GradientDescentOptimizer(0.5).minimize(loss)
        feed = dict(zip([x, y], data, strict=True))
        with cr.Session(graph=graph, optimize=optimize) as s:
            losses = [s.run([loss, train], feed)[0] for _ in range(5)]
            results.append((losses, s.run(w)))
            if optimize:
                assert _plan(s).stats["fused"] == 1
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def _mean_xent_training(optimize, data, steps=3, optimizer=None):
    x_value, y_value = data
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float32, [None, 5])
        y = cr.placeholder(cr.float32, [None, 3])
        w = cr.Variable(np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32))
        b = cr.Variable(np.zeros(3, np.float32))
        logits = cr.matmul(x, w) + b
        loss = cr.reduce_mean(cr.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
        train = (optimizer or cr.GradientDescentOptimizer(0.5)).minimize(loss)
    with cr.Session(graph=graph, optimize=optimize) as s:
        losses = [s.run([loss, train], {x: x_value, y: y_value})[0] for _ in range(steps)]
        return losses, s.run([w, b]), _plan(s).stats


def test_the_mean_gradient_skips_its_broadcasts_and_general_kernels(rng):
    data = (
        rng.standard_normal((7, 5)).astype(np.float32),
        np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2, 0]],
    )
    losses, weights, stats = _mean_xent_training(True, data)
    plain_losses, plain_weights, plain_stats = _mean_xent_training(False, data)
    assert stats["broadcasts"] == 2  # reshape to (1,) and broadcast to the batch
    assert stats["specialized"] == 3  # the mean, its count and the bias gradient's sum
    assert stats["fused"] == 1
    assert stats["inplace"] >= 2  # both descent steps consume their gradients
    assert not any(plain_stats.values())
    np.testing.assert_array_equal(losses, plain_losses)
    for got, expected in zip(weights, plain_weights, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_other_optimizers_give_the_same_steps_with_rewrites(rng):
    data = rng.standard_normal((4, 5)).astype(np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    for make in (
        lambda: cr.train.MomentumOptimizer(0.1, 0.9),
        lambda: cr.train.AdamOptimizer(0.01),
    ):
        on = _mean_xent_training(True, data, steps=4, optimizer=make())
        off = _mean_xent_training(False, data, steps=4, optimizer=make())
        np.testing.assert_allclose(on[0], off[0], rtol=1e-6)
        for got, expected in zip(on[1], off[1], strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_a_gradient_that_is_a_variable_is_copied_before_the_updates(rng):
    u = cr.Variable(np.array([1.0, 2.0]))
    v = cr.Variable(np.array([3.0, 4.0]))
    loss = cr.reduce_sum(u * v)  # d/du is v's value, d/dv is u's value
    train = cr.GradientDescentOptimizer(0.1).minimize(loss)
    with cr.Session(optimize=True) as s:
        s.run(train)
        np.testing.assert_allclose(s.run(u), [1.0 - 0.3, 2.0 - 0.4])
        np.testing.assert_allclose(s.run(v), [3.0 - 0.1, 4.0 - 0.2])


def test_matmul_is_not_treated_as_elementwise(rng):
    a = cr.placeholder(cr.float64, [3, 3])
    b = cr.placeholder(cr.float64, [1, 3])
    y = cr.matmul(cr.exp(a), cr.broadcast_to(b, [3, 3]))  # the broadcast is needed
    z = cr.matmul(cr.exp(a), cr.exp(a))  # square: never written into an input
    a_value, b_value = rng.standard_normal((3, 3)), rng.standard_normal((1, 3))
    with cr.Session(optimize=True) as s:
        out_y, out_z = s.run([y, z], {a: a_value, b: b_value})
    np.testing.assert_allclose(out_y, np.exp(a_value) @ np.broadcast_to(b_value, (3, 3)))
    np.testing.assert_allclose(out_z, np.exp(a_value) @ np.exp(a_value))


def test_a_broadcast_is_kept_where_the_consumer_needs_its_shape():
    s_ = cr.placeholder(cr.float64, [1])
    x = cr.placeholder(cr.float64, [None])
    wide = cr.broadcast_to(s_, [4])
    total = x * wide  # x may be (1,) at run time: the broadcast decides the shape
    col = cr.reshape(s_, [1, 1])
    grid = col * cr.constant(np.ones((1, 3)))
    with cr.Session(optimize=True) as s:
        out_total, out_grid = s.run([total, grid], {s_: [2.0], x: [3.0]})
    np.testing.assert_array_equal(out_total, [6.0] * 4)
    assert out_grid.shape == (1, 3)


def test_elementwise_ops_reuse_dying_buffers(rng):
    x = cr.placeholder(cr.float64, [None, 8])
    y = cr.exp(cr.sin(x) * 2.0 + 1.0)
    value = rng.standard_normal((3, 8))
    with cr.Session(optimize=True) as s:
        out = s.run(y, {x: value})
        plan = _plan(s)
    np.testing.assert_allclose(out, np.exp(np.sin(value) * 2.0 + 1.0))
    assert plan.stats["inplace"] == 3
    assert "out=" in plan.source
    assert value.flags.writeable and np.isfinite(value).all()  # the feed was not written


def test_a_buffer_still_read_through_a_view_is_not_overwritten(rng):
    x = cr.placeholder(cr.float64, [4, 3])
    a = x * 2.0
    view = cr.reshape(a, [3, 4])  # shares a's memory
    b = a + 1.0  # a's last direct reader, but the view is read later
    c = view * 3.0
    value = rng.standard_normal((4, 3))
    with cr.Session(optimize=True) as s:
        out_b, out_c = s.run([b, c], {x: value})
    np.testing.assert_allclose(out_b, value * 2.0 + 1.0)
    np.testing.assert_allclose(out_c, (value * 2.0).reshape(3, 4) * 3.0)


def test_fetched_intermediates_are_not_overwritten(rng):
    x = cr.placeholder(cr.float64, [2, 2])
    a = cr.exp(x)
    b = a * 2.0
    value = rng.standard_normal((2, 2))
    with cr.Session(optimize=True) as s:
        out_a, out_b = s.run([a, b], {x: value})
    np.testing.assert_allclose(out_a, np.exp(value))
    np.testing.assert_allclose(out_b, 2 * np.exp(value))


def test_softmax_cross_entropy_gradient_is_exact_for_labels_that_do_not_sum_to_one():
    logits_value = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]], np.float32)
    labels_value = np.array([[2.0, 0.0, 0.0], [0.5, 0.5, 1.0]], np.float32)
    p = np.exp(logits_value) / np.exp(logits_value).sum(1, keepdims=True)
    grad = (p * labels_value.sum(1, keepdims=True) - labels_value) / len(labels_value)
    expected = logits_value - 1.0 * grad
    for optimize in (False, True):
        graph = cr.Graph()
        with graph.as_default():
            w = cr.Variable(logits_value)
            y = cr.placeholder(cr.float32, [None, 3])
            loss = cr.reduce_mean(cr.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=w))
            train = cr.GradientDescentOptimizer(1.0).minimize(loss)
        with cr.Session(graph=graph, optimize=optimize) as s:
            s.run(train, {y: labels_value})
            np.testing.assert_allclose(s.run(w), expected, rtol=1e-5)
            if optimize:
                assert _plan(s).stats["fused"] == 1
    np.testing.assert_allclose(expected[0], [1.77, 1.37, 0.36], atol=0.01)


def test_removed_counts_the_kernel_calls_the_rewrites_saved(rng):
    data = rng.standard_normal((4, 5)).astype(np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    *_, stats = _mean_xent_training(True, data, steps=1)
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float32, [None, 5])
        y = cr.placeholder(cr.float32, [None, 3])
        w = cr.Variable(np.zeros((5, 3), np.float32))
        logits = cr.matmul(x, w) + cr.Variable(np.zeros(3, np.float32))
        loss = cr.reduce_mean(cr.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
        train = cr.GradientDescentOptimizer(0.5).minimize(loss)
    calls = {}
    for optimize in (False, True):
        with cr.Session(graph=graph, optimize=optimize) as s:
            s.run([loss, train], {x: data[0], y: data[1]})
            plan = _plan(s)
            calls[optimize] = sum(1 for t in plan.program if t.kind == rewrites.CALL)
    assert stats["fused"] == 1 and stats["removed"] > 0
    assert stats["removed"] == calls[False] - calls[True]


def test_tiny_arrays_are_not_reused_nor_freed_early(rng):
    x = cr.placeholder(cr.float64, [1])
    y = x
    for _ in range(5):
        y = cr.sin(y) * 1.01 + 0.1
    (g,) = cr.gradients(y, [x])
    value = rng.standard_normal(1)
    with cr.Session(optimize=True) as s:
        out_y, out_g = s.run([y, g], {x: value})
        plan = _plan(s)
    assert "out=" not in plan.source and "del " not in plan.source
    assert plan.stats["inplace"] == 0
    expected_y, expected_g = value, np.ones(1)
    for _ in range(5):
        expected_g = expected_g * np.cos(expected_y) * 1.01
        expected_y = np.sin(expected_y) * 1.01 + 0.1
    np.testing.assert_allclose(out_y, expected_y)
    np.testing.assert_allclose(out_g, expected_g)


# -- a user's op takes part through the hooks it declares ------------------------------------------
class ScaleBy(cr.Operation):
    """A user's op: ``x * factor``, declaring every plan fact it can."""

    alias_inputs = ()  # the result is always a fresh array
    numeric = True

    def __init__(self, x, factor):
        self.factor = float(factor)
        super().__init__([x])

    def infer(self, x):
        return self.shape_rule(x.shape), x.dtype

    def shape_rule(self, x):
        return x

    def compute(self, x):
        return np.multiply(x, self.factor)

    def passthrough(self, args, out):
        return 0 if self.factor == 1.0 and args[0].sym == out.sym else None

    def inplace_kernel(self, args, store):
        factor = self.factor

        def scale_in_place(x):
            return np.multiply(x, factor, out=x)

        return InplaceKernel((0,), scale_in_place)


def test_a_users_op_declares_its_shape_rule_and_passthrough():
    x = cr.placeholder(cr.float64, [None, 4])
    scaled = ScaleBy(x, 2.0)
    same = ScaleBy(x, 1.0)
    assert scaled.shape == (None, 4)
    sym = _symbols(scaled, [x])
    assert sym(scaled) == sym(x)  # the batch symbol flows through the user's rule
    y = cr.reduce_sum(cr.reshape(scaled, [-1, 4]) + same)
    value = np.arange(8.0).reshape(2, 4)
    with cr.Session(optimize=True) as s:
        out = s.run(y, {x: value})
        stats = _plan(s).stats
    assert out == 3 * value.sum()
    assert stats["dropped"] == 2  # ScaleBy(x, 1) and the reshape to the shape it has


def test_a_users_op_gives_fresh_arrays_and_writes_in_place(rng):
    x = cr.placeholder(cr.float64, [None, 8])
    into_user_op = ScaleBy(cr.exp(x), 3.0)  # the exp's dying result takes the scaling
    from_user_op = cr.sin(ScaleBy(x, 2.0))  # the user op's fresh result takes the sin
    value = rng.standard_normal((3, 8))
    results, plans = [], []
    for optimize in (True, False):
        with cr.Session(optimize=optimize) as s:
            results.append(s.run([into_user_op, from_user_op], {x: value}))
            plans.append(_plan(s))
    _assert_same(*results)
    plan = plans[0]
    np.testing.assert_allclose(results[0][0], 3.0 * np.exp(value))
    np.testing.assert_allclose(results[0][1], np.sin(2.0 * value))
    steps = {t.node: t for t in plan.program}
    into, from_ = steps[into_user_op.op], steps[from_user_op.op]
    assert into.inplace == 0 and "scale_in_place" in into.fn.__name__
    assert from_.inplace == 0  # sin(..., out=) into the user op's result
    assert f"out=v{steps[from_user_op.op.inputs[0].op].pos}" in plan.source
    assert plan.stats["inplace"] == 2


# -- and never where it must not -------------------------------------------------------------------
def test_random_ops_are_never_merged_or_folded():
    a = cr.random_normal([5])
    b = cr.random_normal([5])
    with cr.Session(optimize=True) as s:
        out_a, out_b = s.run([a, b])
        again = s.run(a)
    assert not np.allclose(out_a, out_b)
    assert not np.allclose(out_a, again)


def test_reads_of_a_variable_around_an_update_are_not_merged():
    v = cr.Variable(1.0, dtype=cr.float64)
    before = v * 2.0
    step = cr.assign_add(v, 1.0)
    with cr.control_dependencies([step]):
        after = v * 2.0  # same op and inputs as ``before``, but runs after the update
    with cr.Session(optimize=True) as s:
        out_before, _, out_after = s.run([before, step, after])
    assert (out_before, out_after) == (2.0, 4.0)


def test_a_copy_of_a_variable_is_not_replaced_by_the_variable():
    v = cr.Variable(np.array([1.0, 2.0]))
    copy = v * 1.0
    with cr.control_dependencies([copy]):
        step = cr.assign_add(v, [10.0, 10.0])
    with cr.control_dependencies([step]):
        later = cr.identity(copy)
    with cr.Session(optimize=True) as s:
        np.testing.assert_array_equal(s.run(later), [1.0, 2.0])


def test_nodes_with_control_inputs_are_kept_and_ordered():
    v = cr.Variable(0.0, dtype=cr.float64)
    inc = cr.assign_add(v, 1.0)
    with cr.control_dependencies([inc]):
        read = cr.identity(v) * 1.0
    with cr.Session(optimize=True) as s:
        assert s.run(read) == 1.0
        assert s.run(read) == 2.0


def test_pure_nodes_reached_only_by_control_edges_still_run():
    x = cr.placeholder(cr.float64, [2])
    check = cr.check_numerics(cr.log(x), "log of x")
    with cr.control_dependencies([check]):
        y = x + 1.0
    with cr.Session(optimize=True) as s:
        np.testing.assert_array_equal(s.run(y, {x: [1.0, 2.0]}), [2.0, 3.0])
        with pytest.raises(cr.errors.InvalidArgumentError, match="log of x"):
            s.run(y, {x: [-1.0, 2.0]})


def test_rewrites_never_change_the_graph(rng):
    x = cr.placeholder(cr.float64, [None, 3])
    y = cr.reduce_sum(cr.identity(x * 1.0) + cr.tanh(x) + cr.tanh(x))
    (g,) = cr.gradients(y, [x])
    graph = cr.get_default_graph()
    before = [(n.name, n.inputs, n.control_inputs) for n in graph.get_operations()]
    with cr.Session(optimize=True) as s:
        s.run([y, g], {x: rng.standard_normal((2, 3))})
    assert [(n.name, n.inputs, n.control_inputs) for n in graph.get_operations()] == before


def test_errors_still_name_the_failing_node_after_rewrites():
    x = cr.placeholder(cr.float64, [None])
    bad = cr.reshape(x * 1.0, [4])
    with cr.Session() as s, pytest.raises(cr.errors.ShapeError) as info:
        s.run(bad, {x: [1.0, 2.0, 3.0]})
    assert info.value.node is bad.op
    assert f"Reshape '{bad.op.name}' (test_rewrites.py:" in str(info.value)


# -- the switch -------------------------------------------------------------------------------------
def test_the_switch_turns_every_rewrite_off(monkeypatch):
    x = cr.placeholder(cr.float64, [None])
    y = cr.identity(x * 1.0) + 0.0
    with cr.Session(optimize=False) as s:
        s.run(y, {x: [1.0]})
        assert not any(_plan(s).stats.values())
        assert len(_plan(s).program) == 3
    monkeypatch.setenv(rewrites.ENV_VAR, "0")
    assert not rewrites.enabled_by_default()
    assert cr.Session().optimize is False
    monkeypatch.setenv(rewrites.ENV_VAR, "1")
    assert cr.Session().optimize is True
    assert cr.Session(optimize=False).optimize is False


# -- the op and gradient suite, rewrites on and off -------------------------------------------------
def _positive(*shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def _normal(*shape):
    return lambda rng: rng.standard_normal(shape)


CASES = {
    "add broadcast": (lambda a, b: a + b * 1.0, [_normal(4, 3), _normal(3)]),
    "sub mul div": (lambda a, b: (a - b) * a / (b + 3.0), [_normal(4, 3), _positive(4, 3)]),
    "pow": (lambda a, b: cr.pow(a, b), [_positive(3, 2), _normal(3, 2)]),
    "unary": (
        lambda a: cr.exp(a) + cr.log(a) + cr.sqrt(a) + cr.square(a) + cr.sin(a) * cr.cos(a),
        [_positive(3, 4)],
    ),
    "tanh sigmoid": (lambda a: cr.tanh(a) * cr.sigmoid(a) - cr.negative(a), [_normal(5, 2)]),
    "maximum minimum where": (
        lambda a, b: cr.maximum(a, b) + cr.minimum(a, b) * cr.where(a > b, a, b),
        [_normal(4, 3), _normal(4, 3)],
    ),
    "clip abs": (lambda a: cr.clip_by_value(a, -0.5, 0.5) + cr.abs(a), [_normal(4, 4)]),
    "reductions": (
        lambda a: (
            cr.reduce_sum(a, axis=1, keepdims=True) * cr.reduce_mean(a, axis=0)
            + cr.reduce_max(a, axis=1, keepdims=True)
        ),
        [_normal(4, 3)],
    ),
    "reduce over size-1 axis": (
        lambda a: cr.reduce_sum(cr.reshape(a, [-1, 1, 3]), axis=1, keepdims=True) * 2.0,
        [_normal(4, 3)],
    ),
    "matmul": (lambda a, b: cr.matmul(a, b) + 1.0, [_normal(5, 3), _normal(3, 4)]),
    "matmul transposes": (
        lambda a, b: cr.matmul(a, b, transpose_a=True, transpose_b=True),
        [_normal(3, 5), _normal(4, 3)],
    ),
    "mlp layer": (
        lambda a, w: cr.nn.relu(cr.matmul(a, w) + 0.1) * cr.nn.relu(cr.matmul(a, w) + 0.1),
        [_normal(6, 4), _normal(4, 3)],
    ),
    "softmax log_softmax": (
        lambda a: cr.nn.softmax(a) * 3.0 + cr.nn.log_softmax(a, axis=0),
        [_normal(4, 5)],
    ),
    "softmax cross-entropy": (
        lambda a, b: cr.nn.softmax_cross_entropy_with_logits_v2(labels=cr.nn.softmax(b), logits=a),
        [_normal(4, 5), _normal(4, 5)],
    ),
    "sparse cross-entropy": (
        lambda a, b: cr.nn.sparse_softmax_cross_entropy_with_logits(labels=b, logits=a * 2.0),
        [_normal(4, 5), lambda rng: rng.integers(0, 5, (4,))],
    ),
    "seed-style cross-entropy": (
        lambda a, b: -cr.reduce_sum(cr.nn.softmax(b) * cr.log(cr.nn.softmax(a)), axis=1),
        [_normal(4, 3), _normal(4, 3)],
    ),
    "sigmoid cross-entropy": (
        lambda a, b: cr.nn.sigmoid_cross_entropy_with_logits(labels=cr.sigmoid(b), logits=a),
        [_normal(3, 2), _normal(3, 2)],
    ),
    "reshape transpose": (
        lambda a: cr.transpose(cr.reshape(a, [-1, 2, 3]), [0, 2, 1]) * 2.0,
        [_normal(4, 6)],
    ),
    "slicing concat": (
        lambda a: cr.concat([a[:, :2], a[:, 1:] * 3.0], axis=1),
        [_normal(3, 4)],
    ),
    "broadcast_to identity stop_gradient": (
        lambda a, b: cr.broadcast_to(b, [4, 3]) * cr.identity(a) + cr.stop_gradient(a) * a,
        [_normal(4, 3), _normal(1, 3)],
    ),
    "shared subexpressions": (
        lambda a: cr.tanh(a) * cr.tanh(a) + cr.tanh(a) * 1.0 + cr.add_n([a, a, a]),
        [_normal(3, 3)],
    ),
    "l2_loss moments": (
        lambda a: cr.nn.l2_loss(a) + cr.reduce_sum(cr.nn.moments(a, axes=[0])[1]),
        [_normal(5, 3)],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_derivatives_are_the_same_with_rewrites_on_and_off(name):
    build, makers = CASES[name]
    rng = np.random.default_rng(7)
    arrays = [make(rng) for make in makers]
    on, off, _ = _run_both(build, arrays)
    _assert_same(on, off)


def test_the_op_suite_harness_runs_with_rewrites_off(monkeypatch, rng):
    """The oracle-based op tests use ``Session()``: the environment switch reaches them."""
    import torch

    from oracle import check_op

    monkeypatch.setenv(rewrites.ENV_VAR, "0")
    check_op(
        lambda a, b: cr.reduce_sum(cr.tanh(a * 1.0) * b, axis=1),
        lambda a, b: torch.sum(torch.tanh(a) * b, dim=1),
        [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))],
        second_order=True,
    )
