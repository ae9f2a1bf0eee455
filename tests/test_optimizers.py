"""Optimizers against NumPy re-implementations of TF1's documented update rules, and clipping."""

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule import train
from chainrule.errors import InvalidArgumentError, ShapeError

# -- a small fixed problem: a tanh layer with a quadratic loss and an L2 penalty ------------------
X = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [-0.2, 0.8, 0.1], [1.0, 1.0, -1.0]])
TARGET = np.array([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2], [0.0, 0.6]])
W0 = np.array([[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]])
B0 = np.array([0.05, -0.02])
STEPS = 20


def build_problem(dtype=np.float64):
    w = cr.Variable(W0.astype(dtype), name="W")
    b = cr.Variable(B0.astype(dtype), name="b")
    y = cr.tanh(cr.matmul(cr.constant(X.astype(dtype)), w) + b)
    loss = cr.reduce_sum(cr.square(y - TARGET.astype(dtype))) + 0.5 * cr.reduce_sum(cr.square(w))
    return w, b, loss


def numpy_loss(w, b):
    y = np.tanh(X @ w + b)
    return np.sum((y - TARGET) ** 2) + 0.5 * np.sum(w**2)


def numpy_grads(w, b):
    y = np.tanh(X @ w + b)
    dz = 2 * (y - TARGET) * (1 - y**2)
    return [X.T @ dz + w, dz.sum(axis=0)]


# -- TF1's documented update rules, one step for one variable -------------------------------------
def tf1_number(value):
    """A Python hyper-parameter as TF1 sees it: a float32 tensor, then cast to float64."""
    return float(np.float32(value))


def float32_power(base, t):
    """``base**t`` accumulated in float32, as TF1's Adam keeps ``beta1_power``."""
    power = np.float32(base)
    for _ in range(t - 1):
        power = np.float32(power * np.float32(base))
    return float(power)


def sgd_rule(lr):
    def step(var, g, state, t):
        return var - lr * g

    return step


def momentum_rule(lr, momentum, nesterov=False):
    def step(var, g, state, t):
        accum = state.get("momentum", np.zeros_like(var)) * momentum + g
        state["momentum"] = accum
        if nesterov:
            return var - lr * (g + momentum * accum)
        return var - lr * accum

    return step


def adam_rule(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam as TF1 runs it: Python numbers through float32, the betas' powers in float32."""
    lr, beta1, beta2, eps = map(tf1_number, (lr, beta1, beta2, eps))
    powers = (beta1, beta2)

    def step(var, g, state, t):
        beta1_power, beta2_power = (float32_power(p, t) for p in powers)
        lr_t = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
        m = beta1 * state.get("m", 0.0) + (1 - beta1) * g
        v = beta2 * state.get("v", 0.0) + (1 - beta2) * g * g
        state["m"], state["v"] = m, v
        return var - lr_t * m / (np.sqrt(v) + eps)

    return step


def rmsprop_rule(lr, decay=0.9, momentum=0.0, eps=1e-10, centered=False):
    """RMSProp as TF1 runs it: Python numbers through float32."""
    lr, decay, momentum, eps = map(tf1_number, (lr, decay, momentum, eps))

    def step(var, g, state, t):
        ms = decay * state.get("rms", np.ones_like(var)) + (1 - decay) * g * g
        state["rms"] = ms
        denominator = ms + eps
        if centered:
            mg = decay * state.get("mg", 0.0) + (1 - decay) * g
            state["mg"] = mg
            denominator = ms - mg * mg + eps
        mom = momentum * state.get("momentum", 0.0) + lr * g / np.sqrt(denominator)
        state["momentum"] = mom
        return var - mom

    return step


def adagrad_rule(lr, initial=0.1):
    def step(var, g, state, t):
        accum = state.get("accumulator", np.full_like(var, initial)) + g * g
        state["accumulator"] = accum
        return var - lr * g / np.sqrt(accum)

    return step


def run_numpy(rule, steps=STEPS):
    """Reference trajectory: the variables and every slot after ``steps`` steps."""
    params = [W0.copy(), B0.copy()]
    states = [{}, {}]
    for t in range(1, steps + 1):
        grads = numpy_grads(*params)
        params = [rule(p, g, s, t) for p, g, s in zip(params, grads, states, strict=True)]
    return params, states


CASES = {
    "sgd": (lambda: train.GradientDescentOptimizer(0.1), sgd_rule(tf1_number(0.1))),
    "momentum": (
        lambda: train.MomentumOptimizer(0.05, 0.9),
        momentum_rule(tf1_number(0.05), tf1_number(0.9)),
    ),
    "nesterov": (
        lambda: train.MomentumOptimizer(0.05, 0.9, use_nesterov=True),
        momentum_rule(tf1_number(0.05), tf1_number(0.9), nesterov=True),
    ),
    "adam_defaults": (lambda: train.AdamOptimizer(), adam_rule()),
    "adam": (
        lambda: train.AdamOptimizer(0.05, beta1=0.8, beta2=0.99, epsilon=1e-6),
        adam_rule(tf1_number(0.05), tf1_number(0.8), tf1_number(0.99), tf1_number(1e-6)),
    ),
    "rmsprop": (lambda: train.RMSPropOptimizer(0.01), rmsprop_rule(tf1_number(0.01))),
    "rmsprop_momentum": (
        lambda: train.RMSPropOptimizer(0.01, decay=0.8, momentum=0.5, epsilon=1e-6),
        rmsprop_rule(tf1_number(0.01), tf1_number(0.8), tf1_number(0.5), tf1_number(1e-6)),
    ),
    "rmsprop_centered_momentum": (
        lambda: train.RMSPropOptimizer(0.01, momentum=0.7, centered=True),
        rmsprop_rule(tf1_number(0.01), momentum=tf1_number(0.7), centered=True),
    ),
    "adagrad": (lambda: train.AdagradOptimizer(0.3), adagrad_rule(tf1_number(0.3))),
    "adagrad_initial": (
        lambda: train.AdagradOptimizer(0.3, initial_accumulator_value=0.5),
        adagrad_rule(tf1_number(0.3), 0.5),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_twenty_steps_match_tf1_update_rule(case):
    make_optimizer, rule = CASES[case]
    w, b, loss = build_problem()
    optimizer = make_optimizer()
    train_op = optimizer.minimize(loss)
    (w_ref, b_ref), states = run_numpy(rule)
    with cr.Session() as sess:
        for _ in range(STEPS):
            sess.run(train_op)
        w_val, b_val = sess.run([w, b])
        np.testing.assert_allclose(w_val, w_ref, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(b_val, b_ref, rtol=1e-9, atol=1e-9)
        for var, state in zip([w, b], states, strict=True):
            for slot_name, expected in state.items():
                slot = optimizer.get_slot(var, slot_name)
                assert slot is not None, slot_name
                np.testing.assert_allclose(sess.run(slot), expected, rtol=1e-9, atol=1e-9)
    assert not np.allclose(w_ref, W0)  # the problem really moves


def test_adam_powers_are_updated_after_all_variables():
    w, b, loss = build_problem()
    optimizer = train.AdamOptimizer(0.01, beta1=0.8, beta2=0.95)
    train_op = optimizer.minimize(loss)
    powers = cr.get_default_graph().get_tensor_by_name
    beta1_power, beta2_power = powers("beta1_power:0"), powers("beta2_power:0")
    assert not beta1_power.trainable and beta1_power in cr.global_variables()
    with cr.Session() as sess:
        assert sess.run([beta1_power, beta2_power]) == pytest.approx([0.8, 0.95])
        for _ in range(3):
            sess.run(train_op)
        assert sess.run([beta1_power, beta2_power]) == pytest.approx([0.8**4, 0.95**4])


def test_default_hyper_parameters_are_tf1s():
    def defaults(cls):
        return {
            name: p.default
            for name, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty
        }

    assert defaults(train.GradientDescentOptimizer) == {
        "use_locking": False,
        "name": "GradientDescent",
    }
    assert defaults(train.MomentumOptimizer) == {
        "use_locking": False,
        "name": "Momentum",
        "use_nesterov": False,
    }
    assert defaults(train.AdamOptimizer) == {
        "learning_rate": 0.001,
        "beta1": 0.9,
        "beta2": 0.999,
        "epsilon": 1e-08,
        "use_locking": False,
        "name": "Adam",
    }
    assert defaults(train.RMSPropOptimizer) == {
        "decay": 0.9,
        "momentum": 0.0,
        "epsilon": 1e-10,
        "use_locking": False,
        "centered": False,
        "name": "RMSProp",
    }
    assert defaults(train.AdagradOptimizer) == {
        "initial_accumulator_value": 0.1,
        "use_locking": False,
        "name": "Adagrad",
    }
    positional = list(inspect.signature(train.MomentumOptimizer.__init__).parameters)
    assert positional[:6] == [
        "self",
        "learning_rate",
        "momentum",
        "use_locking",
        "name",
        "use_nesterov",
    ]


def test_slots_are_named_like_tf1_and_saved_as_global_variables():
    w, b, loss = build_problem()
    adam = train.AdamOptimizer()
    adam.minimize(loss)
    names = [v.name for v in cr.global_variables()]
    for expected in ["W/Adam", "W/Adam_1", "b/Adam", "b/Adam_1", "beta1_power", "beta2_power"]:
        assert expected + ":0" in names
    assert adam.get_slot(w, "m").name == "W/Adam:0"
    assert adam.get_slot(w, "v").name == "W/Adam_1:0"
    assert adam.get_slot_names() == ["m", "v"]
    assert {v.name for v in cr.trainable_variables()} == {"W:0", "b:0"}

    train.MomentumOptimizer(0.1, 0.9).minimize(loss)
    rms = train.RMSPropOptimizer(0.1, centered=True)
    rms.minimize(loss)
    assert rms.get_slot(w, "rms").name == "W/RMSProp:0"
    assert rms.get_slot(w, "mg").name == "W/RMSProp_1:0"
    assert rms.get_slot(w, "momentum").name == "W/RMSProp_2:0"
    ada = train.AdagradOptimizer(0.1)
    ada.minimize(loss, var_list=[b])
    assert ada.get_slot(b, "accumulator").name == "b/Adagrad:0"
    assert ada.get_slot(w, "accumulator") is None
    names = [v.name for v in cr.global_variables()]
    assert "W/Momentum:0" in names and "b/Momentum:0" in names
    assert {v.name for v in cr.trainable_variables()} == {"W:0", "b:0"}


def test_slots_ignore_the_name_scope_of_minimize():
    w, b, loss = build_problem()
    with cr.name_scope("training"):
        optimizer = train.MomentumOptimizer(0.1, 0.9)
        optimizer.minimize(loss)
    assert optimizer.get_slot(w, "momentum").name == "W/Momentum:0"


def test_global_step_increments_once_per_run_of_the_train_op():
    w, b, loss = build_problem()
    step = train.get_or_create_global_step()
    assert step.name == "global_step:0" and step.dtype == cr.int64 and not step.trainable
    assert train.get_global_step() is step
    assert train.get_or_create_global_step() is step
    with pytest.raises(InvalidArgumentError):
        train.create_global_step()
    train_op = train.AdamOptimizer(0.01).minimize(loss, global_step=step)
    with cr.Session() as sess:
        assert sess.run(step) == 0
        values = [(sess.run(train_op), sess.run(step)) for _ in range(5)]
        assert values == [(None, 1), (None, 2), (None, 3), (None, 4), (None, 5)]
        assert sess.run(step) == 5


def test_no_global_step_in_a_fresh_graph():
    assert train.get_global_step() is None


def test_learning_rate_placeholder():
    w, b, loss = build_problem()
    lr = cr.placeholder(cr.float64, shape=[], name="lr")
    train_op = train.MomentumOptimizer(lr, 0.9).minimize(loss)
    rates = [0.1 / (1 + t) for t in range(STEPS)]
    params, state = [W0.copy(), B0.copy()], [{}, {}]
    with cr.Session() as sess:
        for t, rate in enumerate(rates, start=1):
            sess.run(train_op, {lr: rate})
            grads = numpy_grads(*params)
            rule = momentum_rule(rate, tf1_number(0.9))
            params = [rule(p, g, s, t) for p, g, s in zip(params, grads, state, strict=True)]
        np.testing.assert_allclose(sess.run(w), params[0], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(sess.run(b), params[1], rtol=1e-9, atol=1e-9)


def test_untyped_and_float32_learning_rate_nodes_are_cast_to_the_variable_dtype():
    w, b, loss = build_problem()
    untyped = cr.placeholder(name="lr")
    train_op = train.GradientDescentOptimizer(untyped).minimize(loss)
    with cr.Session() as sess:
        sess.run(train_op, {untyped: 0.1})
        w_ref = W0 - 0.1 * numpy_grads(W0, B0)[0]
        np.testing.assert_allclose(sess.run(w), w_ref, rtol=1e-12)
        assert sess.run(w).dtype == np.float64


def test_exponential_decay_learning_rate():
    w, b, loss = build_problem()
    step = train.get_or_create_global_step()
    lr = train.exponential_decay(0.1, step, decay_steps=4, decay_rate=0.5)
    stairs = train.exponential_decay(0.1, step, decay_steps=4, decay_rate=0.5, staircase=True)
    assert lr.dtype == cr.float32
    train_op = train.GradientDescentOptimizer(lr).minimize(loss, global_step=step)
    with cr.Session() as sess:
        for t in range(6):
            assert sess.run(lr) == pytest.approx(0.1 * 0.5 ** (t / 4), rel=1e-6)
            assert sess.run(stairs) == pytest.approx(0.1 * 0.5 ** (t // 4), rel=1e-6)
            sess.run(train_op)


SCHEDULES = {
    "exponential_decay": lambda step: train.exponential_decay(0.1, step, 10, 0.5),
    "natural_exp_decay": lambda step: train.natural_exp_decay(0.1, step, 10, 0.5),
    "inverse_time_decay": lambda step: train.inverse_time_decay(0.1, step, 10, 0.5),
    "polynomial_decay": lambda step: train.polynomial_decay(0.1, step, 10, cycle=True),
    "cosine_decay": lambda step: train.cosine_decay(0.1, step, 10, alpha=0.1),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_follow_the_global_step_in_the_learning_rates_dtype(name):
    step = train.get_or_create_global_step()
    lr = SCHEDULES[name](step)
    assert lr.dtype == cr.float32
    with cr.Session() as sess:
        first = sess.run(lr)
        sess.run(cr.assign(step, 5))
        assert first == pytest.approx(0.1) and sess.run(lr) < first
    with pytest.raises(InvalidArgumentError, match="needs a global_step"):
        SCHEDULES[name](None)


def test_schedule_formulas_at_a_step():
    with cr.Session() as sess:

        def value(node):
            return float(sess.run(node))

        assert value(train.natural_exp_decay(0.1, 15, 10, 0.5)) == pytest.approx(
            0.1 * np.exp(-0.5 * 1.5), rel=1e-6
        )
        assert value(train.inverse_time_decay(0.1, 15, 10, 0.5, staircase=True)) == (
            pytest.approx(0.1 / 1.5, rel=1e-6)
        )
        assert value(train.polynomial_decay(0.1, 15, 10, 0.01, power=2.0)) == pytest.approx(0.01)
        assert value(train.polynomial_decay(0.1, 15, 10, 0.0, cycle=True)) == pytest.approx(
            0.1 * 0.25, rel=1e-6
        )
        assert value(train.cosine_decay(0.1, 5, 10)) == pytest.approx(0.05, rel=1e-6)


def test_piecewise_constant_turns_after_each_boundary():
    step = cr.placeholder(cr.int64, shape=[])
    lr = train.piecewise_constant(step, [10, 20], [1.0, 0.5, 0.1])
    assert lr.dtype == cr.float32
    with cr.Session() as sess:
        got = [float(sess.run(lr, {step: s})) for s in (0, 10, 11, 20, 21)]
    assert got == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.1])


def test_piecewise_constant_checks_its_arguments_as_tf1():
    step = cr.placeholder(cr.int64, shape=[])
    with pytest.raises(InvalidArgumentError, match="one boundary less than values"):
        train.piecewise_constant(step, [10, 20], [1.0, 0.5])
    with pytest.raises(InvalidArgumentError, match="boundaries must have the dtype of x"):
        train.piecewise_constant(step, [10.5], [1.0, 0.5])
    with pytest.raises(InvalidArgumentError, match="values must all have one dtype"):
        train.piecewise_constant(step, [10], [1, 0.5])


def test_updates_happen_in_place():
    w, b, loss = build_problem()
    train_op = train.AdamOptimizer(0.1).minimize(loss)
    with cr.Session() as sess:
        sess.run(train_op)
        arrays = {v: sess.store.get(v) for v in cr.global_variables()}
        before = {v: a.copy() for v, a in arrays.items()}
        sess.run(train_op)
        for var, array in arrays.items():
            assert sess.store.get(var) is array, var.name
        assert not np.array_equal(before[w], arrays[w])


def test_float32_variables_stay_float32():
    w, b, loss = build_problem(np.float32)
    optimizer = train.RMSPropOptimizer(0.01, momentum=0.5, centered=True)
    train_op = optimizer.minimize(loss)
    with cr.Session() as sess:
        for _ in range(3):
            sess.run(train_op)
        assert sess.run(w).dtype == np.float32
        assert sess.run(optimizer.get_slot(w, "mg")).dtype == np.float32
    (w_ref, _), _ = run_numpy(rmsprop_rule(0.01, momentum=0.5, centered=True), steps=3)
    with cr.Session() as sess:
        for _ in range(3):
            sess.run(train_op)
        np.testing.assert_allclose(sess.run(w), w_ref, rtol=1e-5)


def test_loss_fetched_with_the_train_op_is_the_loss_before_the_step():
    w, b, loss = build_problem()
    train_op = train.GradientDescentOptimizer(0.1).minimize(loss)
    params = [W0.copy(), B0.copy()]
    with cr.Session() as sess:
        for t in range(1, 4):
            _, value = sess.run([train_op, loss])
            assert value == pytest.approx(numpy_loss(*params), rel=1e-12)
            grads = numpy_grads(*params)
            params = [
                sgd_rule(tf1_number(0.1))(p, g, {}, t) for p, g in zip(params, grads, strict=True)
            ]


def test_all_gradients_use_the_values_before_the_step():
    u = cr.Variable(np.array([1.0, 2.0]), name="u")
    v = cr.Variable(np.array([3.0, -1.0]), name="v")
    loss = cr.reduce_sum(u * v)
    train_op = train.GradientDescentOptimizer(0.5).minimize(loss)
    with cr.Session() as sess:
        sess.run(train_op)
        np.testing.assert_allclose(sess.run(u), [1.0 - 1.5, 2.0 + 0.5])
        np.testing.assert_allclose(sess.run(v), [3.0 - 0.5, -1.0 - 1.0])


def test_gradients_that_are_views_of_variables_are_copied_before_updates():
    u = cr.Variable(np.array([1.0, 2.0]), name="u")
    v = cr.Variable(np.array([10.0, 20.0]), name="v")
    optimizer = train.GradientDescentOptimizer(1.0)
    swap = optimizer.apply_gradients([(cr.identity(v), u), (cr.identity(u), v)])
    with cr.Session() as sess:
        sess.run(swap)
        np.testing.assert_allclose(sess.run(u), [-9.0, -18.0])
        np.testing.assert_allclose(sess.run(v), [9.0, 18.0])


def test_compute_and_apply_gradients():
    w, b, loss = build_problem()
    optimizer = train.GradientDescentOptimizer(0.1)
    unused = cr.Variable(np.zeros(3), name="unused")
    pairs = optimizer.compute_gradients(loss)
    assert [v for _, v in pairs] == [w, b, unused]
    assert pairs[2][0] is None
    train_op = optimizer.apply_gradients(pairs)
    with cr.Session() as sess:
        sess.run(train_op)
        np.testing.assert_allclose(
            sess.run(w), W0 - tf1_number(0.1) * numpy_grads(W0, B0)[0], rtol=1e-12
        )


def test_clear_errors():
    w, b, loss = build_problem()
    other = cr.Variable(np.ones(2), name="other")
    with pytest.raises(InvalidArgumentError, match="no gradients"):
        train.GradientDescentOptimizer(0.1).minimize(loss, var_list=[other])
    with pytest.raises(InvalidArgumentError, match="positive"):
        train.AdagradOptimizer(0.1, initial_accumulator_value=0.0)
    with pytest.raises(ShapeError, match="gradient has shape"):
        train.GradientDescentOptimizer(0.1).apply_gradients([(cr.constant(np.ones(3)), b)])
    with pytest.raises(InvalidArgumentError, match="Variables"):
        train.GradientDescentOptimizer(0.1).minimize(loss, var_list=[loss])


# -- clipping ----------------------------------------------------------------------------------
def test_clip_by_global_norm_values(rng):
    a_val, b_val = rng.standard_normal((3, 4)), rng.standard_normal(5)
    a, b = cr.constant(a_val), cr.constant(b_val)
    norm_ref = np.sqrt(np.sum(a_val**2) + np.sum(b_val**2))
    (ca, none, cb), norm = cr.train.clip_by_global_norm([a, None, b], 1.5)
    (ua, ub), unclipped_norm = train.clip_by_global_norm([a, b], 100.0)
    assert none is None
    with cr.Session() as sess:
        values = sess.run([ca, cb, norm, ua, ub, unclipped_norm])
    scale = 1.5 / norm_ref
    np.testing.assert_allclose(values[0], a_val * scale, rtol=1e-12)
    np.testing.assert_allclose(values[1], b_val * scale, rtol=1e-12)
    assert values[2] == pytest.approx(norm_ref, rel=1e-12)
    np.testing.assert_allclose(values[3], a_val, rtol=1e-12)
    np.testing.assert_allclose(values[4], b_val, rtol=1e-12)
    assert values[5] == pytest.approx(norm_ref, rel=1e-12)


def test_clip_by_global_norm_with_use_norm_and_infinite_norm():
    a = cr.constant(np.array([3.0, 4.0]))
    (clipped,), norm = train.clip_by_global_norm([a], 1.0, use_norm=cr.constant(10.0, cr.float64))
    (nan_clipped,), _ = train.clip_by_global_norm([cr.constant(np.array([np.inf, 1.0]))], 1.0)
    with cr.Session() as sess:
        np.testing.assert_allclose(sess.run(clipped), [0.3, 0.4])
        assert sess.run(norm) == 10.0
        assert np.isnan(sess.run(nan_clipped)).all()


def test_clip_by_global_norm_gradient_flows(rng):
    a_val, b_val = rng.standard_normal((2, 3)), rng.standard_normal(3)
    a = cr.placeholder(cr.float64, shape=(2, 3))
    b = cr.placeholder(cr.float64, shape=(3,))
    w_val = rng.standard_normal(3)
    (ca, cb), _ = cr.train.clip_by_global_norm([a, b], 0.5)
    out = cr.reduce_sum(ca * ca * 2.0) + cr.reduce_sum(cb * w_val)
    grads = cr.gradients(out, [a, b])

    def f(av, bv):
        n = np.sqrt(np.sum(av**2) + np.sum(bv**2))
        s = 0.5 * min(1.0 / n, 1.0 / 0.5)
        return np.sum((av * s) ** 2 * 2.0) + np.sum(bv * s * w_val)

    def numeric(which):
        base = [a_val.copy(), b_val.copy()]
        result = np.zeros_like(base[which])
        for index in np.ndindex(result.shape):
            plus = [x.copy() for x in base]
            minus = [x.copy() for x in base]
            plus[which][index] += 1e-6
            minus[which][index] -= 1e-6
            result[index] = (f(*plus) - f(*minus)) / 2e-6
        return result

    with cr.Session() as sess:
        ga, gb = sess.run(grads, {a: a_val, b: b_val})
    np.testing.assert_allclose(ga, numeric(0), atol=1e-7)
    np.testing.assert_allclose(gb, numeric(1), atol=1e-7)
    assert np.abs(ga).max() > 1e-3


def test_clip_by_norm_and_global_norm(rng):
    t_val = rng.standard_normal((3, 4))
    t = cr.constant(t_val)
    whole = cr.train.clip_by_norm(t, 1.0)
    rows = cr.train.clip_by_norm(t, 1.0, axes=[1])
    zero = cr.train.clip_by_norm(cr.constant(np.zeros(3)), 1.0)
    norm = cr.train.global_norm([t, None, t])
    with cr.Session() as sess:
        whole_v, rows_v, zero_v, norm_v = sess.run([whole, rows, zero, norm])
    np.testing.assert_allclose(whole_v, t_val / np.linalg.norm(t_val), rtol=1e-12)
    row_norms = np.linalg.norm(t_val, axis=1, keepdims=True)
    np.testing.assert_allclose(rows_v, t_val / np.maximum(row_norms, 1.0), rtol=1e-12)
    np.testing.assert_array_equal(zero_v, np.zeros(3))
    assert norm_v == pytest.approx(np.sqrt(2) * np.linalg.norm(t_val), rel=1e-12)


def test_clip_by_global_norm_feeds_an_optimizer():
    w, b, loss = build_problem()
    optimizer = train.GradientDescentOptimizer(0.1)
    grads, variables = zip(*optimizer.compute_gradients(loss), strict=True)
    clipped, norm = train.clip_by_global_norm(list(grads), 0.25)
    train_op = optimizer.apply_gradients(zip(clipped, variables, strict=True))
    gw, gb = numpy_grads(W0, B0)
    scale = min(1.0, 0.25 / np.sqrt(np.sum(gw**2) + np.sum(gb**2)))
    with cr.Session() as sess:
        sess.run(train_op)
        np.testing.assert_allclose(sess.run(w), W0 - tf1_number(0.1) * scale * gw, rtol=1e-12)
        np.testing.assert_allclose(sess.run(b), B0 - tf1_number(0.1) * scale * gb, rtol=1e-12)


def test_clip_errors():
    with pytest.raises(InvalidArgumentError, match="list of tensors"):
        train.clip_by_global_norm(cr.constant(np.ones(2)), 1.0)
    with pytest.raises(InvalidArgumentError, match="not None"):
        train.clip_by_global_norm([None], 1.0)
