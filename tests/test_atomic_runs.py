"""Atomic runs: a run that raises leaves variables, slots, the global step, random generators and
other resources exactly as they were (docs/runs.md); kernels run sub-graphs through their bind."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import train

SHAPES = [(2,), (3,), (4,)]

OPTIMIZERS = {
    "gd": lambda lr: train.GradientDescentOptimizer(lr),
    "momentum": lambda lr: train.MomentumOptimizer(lr, 0.9),
    "nesterov": lambda lr: train.MomentumOptimizer(lr, 0.9, use_nesterov=True),
    "adam": lambda lr: train.AdamOptimizer(lr),
    "rmsprop": lambda lr: train.RMSPropOptimizer(lr, momentum=0.5),
    "centered_rmsprop": lambda lr: train.RMSPropOptimizer(lr, momentum=0.5, centered=True),
    "adagrad": lambda lr: train.AdagradOptimizer(lr),
}


# -- user ops that fail on demand ----------------------------------------------------------------
class Tripwire(cr.Operation):
    """The identity; its gradient raises when ``armed`` is fed True."""

    def __init__(self, x, armed):
        super().__init__([x, armed])

    def infer(self, x, armed):
        return x.shape, x.dtype

    def compute(self, x, armed):
        return x


class TripwireGrad(cr.Operation):
    def __init__(self, grad, armed):
        super().__init__([grad, armed])

    def infer(self, grad, armed):
        return grad.shape, grad.dtype

    def compute(self, grad, armed):
        if armed:
            raise RuntimeError("tripped")
        return grad


@cr.RegisterGradient("Tripwire")
def _tripwire_grad(op, grad):
    return [TripwireGrad(grad, op.inputs[1]), None]


class Lengthen(cr.Operation):
    """The identity; its gradient gets one element too many when ``armed`` is fed True."""

    def __init__(self, x, armed):
        super().__init__([x, armed])

    def infer(self, x, armed):
        return x.shape, x.dtype

    def compute(self, x, armed):
        return x


class LengthenGrad(cr.Operation):
    def __init__(self, grad, armed):
        super().__init__([grad, armed])

    def compute(self, grad, armed):
        return np.concatenate([grad, grad[:1]]) if armed else grad


@cr.RegisterGradient("Lengthen")
def _lengthen_grad(op, grad):
    return [LengthenGrad(grad, op.inputs[1]), None]


# -- a training graph with three variables, a global step and a random draw -------------------
def _build(optimizer, failing, wrap):
    armed = cr.placeholder(cr.bool, [], name="armed")
    lr = cr.placeholder(cr.float32, name="lr")  # any shape: a wrong one fails at run time
    variables = [
        cr.Variable(np.linspace(0.5, 1.5, n, dtype=np.float32) * (k + 1), name=f"w{k}")
        for k, (n,) in enumerate(SHAPES)
    ]
    noise = cr.random_normal([3], seed=7)
    terms = []
    for k, var in enumerate(variables):
        value = wrap(var, armed) if k == failing else var
        terms.append(cr.reduce_sum(cr.square(value)))
    loss = cr.add_n(terms) + cr.reduce_sum(noise * variables[1])
    step = train.get_or_create_global_step()
    opt = OPTIMIZERS[optimizer](lr)
    train_op = opt.minimize(loss, global_step=step)
    return armed, lr, variables, noise, opt, step, train_op, loss


def _state(s, opt, variables, step):
    tracked = [*variables, *opt.variables(), step]
    return {v.name: s.run(v) for v in tracked}


FAILURES = {
    "first": (0, Tripwire, {}),
    "middle": (1, Tripwire, {}),
    "last": (2, Tripwire, {}),
    "wrong_gradient_shape": (2, Lengthen, {}),
    "wrong_learning_rate_shape": (None, Tripwire, {"lr": [0.1, 0.1]}),
}


@pytest.fixture(params=["compiled", "interpreted"])
def backend(request, monkeypatch):
    if request.param == "interpreted":
        from chainrule.runtime import plan as plan_module

        monkeypatch.setattr(plan_module, "COMPILE_LIMIT", 0)
    return request.param


@pytest.mark.parametrize("optimize", [True, False], ids=["rewrites", "plain"])
@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_a_failed_training_step_changes_nothing(optimizer, failure, optimize, backend):
    failing, wrap, bad_feed = FAILURES[failure]
    armed, lr, variables, noise, opt, step, train_op, loss = _build(
        optimizer, failing if failing is not None else -1, wrap
    )
    good = {armed: False, lr: 0.1}
    bad = {armed: failing is not None, lr: bad_feed.get("lr", 0.1)}
    with cr.Session(optimize=optimize) as s, cr.Session(optimize=optimize) as reference:
        for session in (s, reference):
            session.run([loss, train_op], good)
        before = _state(s, opt, variables, step)
        with pytest.raises(cr.errors.ChainruleError):
            s.run([loss, train_op], bad)
        after = _state(s, opt, variables, step)
        assert after.keys() == before.keys()
        for name, value in before.items():
            np.testing.assert_array_equal(after[name], value, err_msg=name)
        # the generator is where it was: both sessions continue with the same numbers
        for session in (s, reference):
            session.run([loss, train_op], good)
        np.testing.assert_array_equal(s.run(noise), reference.run(noise))
        for var in [*variables, *opt.variables(), step]:
            np.testing.assert_array_equal(s.run(var), reference.run(var), err_msg=var.name)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_a_failed_callable_step_changes_nothing(optimizer, backend):
    armed, lr, variables, noise, opt, step, train_op, loss = _build(optimizer, 1, Tripwire)
    with cr.Session() as s:
        run_step = s.make_callable([loss, train_op], [armed, lr])
        run_step(False, 0.1)
        before = _state(s, opt, variables, step)
        with pytest.raises(cr.errors.InvalidArgumentError):
            run_step(True, 0.1)
        with pytest.raises(cr.errors.InvalidArgumentError):
            run_step(False, np.array([0.1, 0.1], np.float32))
        after = _state(s, opt, variables, step)
        for name, value in before.items():
            np.testing.assert_array_equal(after[name], value, err_msg=name)
        run_step(False, 0.1)
        assert s.run(step) == 2


def test_the_first_update_is_not_applied_when_the_second_cannot_be():
    lr = cr.placeholder(cr.float32)
    a = cr.Variable(np.ones(2, np.float32))
    b = cr.Variable(np.ones(3, np.float32))
    loss = cr.reduce_sum(a) + cr.reduce_sum(b)
    step = train.get_or_create_global_step()
    train_op = train.GradientDescentOptimizer(lr).minimize(loss, global_step=step)
    with cr.Session() as s:
        with pytest.raises(cr.errors.InvalidArgumentError) as info:
            s.run(train_op, {lr: [0.1, 0.1]})
        assert "shape" in str(info.value)
        np.testing.assert_array_equal(s.run(a), np.ones(2))
        assert s.run(step) == 0


# -- reads after writes, lazy initialisation, resources ------------------------------------------
@pytest.mark.parametrize("optimize", [True, False], ids=["rewrites", "plain"])
def test_a_failed_run_that_reads_a_variable_after_assigning_it(optimize, backend):
    v = cr.Variable(np.array([1.0, 2.0]))
    x = cr.placeholder(cr.float64, [None])
    set_v = cr.assign(v, [5.0, 6.0])
    with cr.control_dependencies([set_v]):
        y = v + x  # sees the assigned value; fails when x has the wrong length
    with cr.Session(optimize=optimize) as s:
        s.run(v)
        with pytest.raises(cr.errors.InvalidArgumentError):
            s.run(y, {x: [1.0, 1.0, 1.0]})
        np.testing.assert_array_equal(s.run(v), [1.0, 2.0])
        np.testing.assert_array_equal(s.run(y, {x: [1.0, 1.0]}), [6.0, 7.0])
        np.testing.assert_array_equal(s.run(v), [5.0, 6.0])


def test_variables_initialised_by_a_failed_run_are_uninitialised_again(backend):
    w = cr.Variable(cr.random_normal([3], seed=3))
    x = cr.placeholder(cr.float64, [None])
    y = cr.cast(w, cr.float64) + x
    with cr.Session() as s, cr.Session() as reference:
        with pytest.raises(cr.errors.InvalidArgumentError):
            s.run(y, {x: [1.0, 2.0]})
        assert w not in s.store
        np.testing.assert_array_equal(s.run(w), reference.run(w))


class Counter:
    """A resource: how many times its op ran in a session."""

    def __init__(self):
        self.count = 0

    def snapshot(self):
        return self.count

    def restore(self, state):
        self.count = state


class Tick(cr.Operation):
    """Counts its runs in a resource of the session; its value is the new count."""

    pure = False

    def __init__(self, x):
        super().__init__([x])

    def infer(self, x):
        return (), cr.int64

    def writes(self):
        return (self,)

    def bind(self, context):
        counter = context.store.resource(self, Counter)

        def tick(x):
            counter.count += 1
            return np.int64(counter.count)

        return tick


def test_resources_are_put_back_when_a_run_fails(backend):
    x = cr.placeholder(cr.float64, [None])
    ticks = Tick(x)
    checked = cr.cast(ticks, cr.float64) + x  # fails for a feed of the wrong length
    with cr.Session() as s:
        assert s.run(ticks, {x: [1.0]}) == 1
        with pytest.raises(cr.errors.InvalidArgumentError):
            s.run([ticks, checked, x * cr.ones([2], cr.float64)], {x: [1.0, 2.0, 3.0]})
        assert s.run(ticks, {x: [1.0]}) == 2


def test_a_gradient_that_is_another_variable_is_read_before_any_update(backend):
    u = cr.Variable(np.array([1.0, 2.0]))
    v = cr.Variable(np.array([3.0, 4.0]))
    w = cr.Variable(np.array([5.0, 6.0]))
    loss = cr.reduce_sum(u * v * 1.0) + cr.reduce_sum(v * w)  # d/du = v, d/dw = v
    train_op = train.GradientDescentOptimizer(0.1).minimize(loss)
    with cr.Session() as s:
        s.run(train_op)
        np.testing.assert_allclose(s.run(u), [1.0 - 0.3, 2.0 - 0.4])
        np.testing.assert_allclose(s.run(v), [3.0 - 0.6, 4.0 - 0.8])
        np.testing.assert_allclose(s.run(w), [5.0 - 0.3, 6.0 - 0.4])


def test_writes_come_after_the_computations_that_do_not_depend_on_them():
    v = cr.Variable(1.0, dtype=cr.float64)
    step = cr.assign_add(v, 1.0)
    doubled = v * 2.0
    with cr.control_dependencies([step]):
        after = v * 2.0
    with cr.Session() as s:
        assert s.run([step, doubled, after]) == [2.0, 2.0, 4.0]


# -- sub-graphs through the run context ------------------------------------------------------------
class Repeat(cr.Operation):
    """``body`` (a sub-graph from ``body_in`` to ``body_out``) applied ``times`` times to ``x``."""

    def __init__(self, x, body_in, body_out, times):
        self.body_in, self.body_out, self.times = body_in, body_out, times
        super().__init__([x])

    def infer(self, x):
        return x.shape, x.dtype

    def bind(self, context):
        body = context.compile([self.body_out], [self.body_in])
        times = self.times

        def repeat(x):
            for _ in range(times):
                x = body(x)[0]
            return x

        return repeat


@pytest.mark.parametrize("optimize", [True, False], ids=["rewrites", "plain"])
def test_an_op_runs_a_sub_graph_through_its_run_context(optimize, backend):
    scale = cr.Variable(np.array([2.0, 3.0]))
    body_in = cr.placeholder(cr.float64, [2])
    body_out = body_in * scale + 1.0
    x = cr.placeholder(cr.float64, [2])
    y = Repeat(x, body_in, body_out, times=3) * 10.0
    with cr.Session(optimize=optimize) as s:
        out = s.run(y, {x: [1.0, 1.0]})
        expected = np.array([1.0, 1.0])
        for _ in range(3):
            expected = expected * [2.0, 3.0] + 1.0
        np.testing.assert_allclose(out, expected * 10.0)
        s.run(cr.assign(scale, [1.0, 1.0]))
        np.testing.assert_allclose(s.run(y, {x: [0.0, 0.0]}), [30.0, 30.0])


# -- checkpoints -----------------------------------------------------------------------------------
def test_a_restore_that_fails_midway_restores_nothing(tmp_path, monkeypatch):
    from chainrule.runtime.store import VariableStore

    a = cr.Variable(np.zeros(2))
    b = cr.Variable(np.zeros(3))
    with cr.Session() as s:
        s.run([a, b])
        path = train.Saver([a, b]).save(s, str(tmp_path / "model"))
        s.run([cr.assign(a, [1.0, 1.0]), cr.assign(b, [2.0, 2.0, 2.0])])
        load = VariableStore.load

        failures = [MemoryError("no room for b")]

        def fail_on_b(store, var, value):
            if var is b and failures:
                raise failures.pop()
            load(store, var, value)

        monkeypatch.setattr(VariableStore, "load", fail_on_b)
        with pytest.raises(MemoryError):
            train.Saver([a, b]).restore(s, path)
        monkeypatch.setattr(VariableStore, "load", load)
        np.testing.assert_array_equal(s.run(a), [1.0, 1.0])
        np.testing.assert_array_equal(s.run(b), [2.0, 2.0, 2.0])
