"""cond, case and while_loop: values and gradients against PyTorch's Python control flow and
central finite differences (float64), rewrites on and off; effects, nesting and bad input."""

import collections

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import checks, errors
from oracle import check_op


def run(fetches, feed=None):
    with cr.Session() as s:
        return s.run(fetches, feed)


# -- cond ---------------------------------------------------------------------------------------
def _cr_branchy(x, y):
    return cr.cond(cr.reduce_sum(x) > 0, lambda: cr.sin(x) * y + x * x, lambda: cr.exp(y) * 2.0 - x)


def _torch_branchy(x, y):
    return torch.sin(x) * y + x * x if x.sum() > 0 else torch.exp(y) * 2.0 - x


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["true branch", "false branch"])
def test_cond_value_and_gradients_match_torch_and_finite_differences(rng, sign):
    x = sign * np.abs(rng.standard_normal((2, 3))) + sign * 0.1
    y = rng.standard_normal((2, 3))
    check_op(_cr_branchy, _torch_branchy, [x, y], second_order=True)


def test_cond_untaken_branch_gets_zero_gradients():
    x = cr.placeholder(cr.float64, [3])
    y = cr.placeholder(cr.float64, [3])
    p = cr.placeholder(cr.bool, [])
    out = cr.cond(p, lambda: x * 2.0, lambda: y * 3.0)
    gx, gy = cr.gradients(cr.reduce_sum(out), [x, y])
    feed = {x: np.ones(3), y: np.ones(3)}
    np.testing.assert_array_equal(run([gx, gy], {**feed, p: True}), [[2, 2, 2], [0, 0, 0]])
    np.testing.assert_array_equal(run([gx, gy], {**feed, p: False}), [[0, 0, 0], [3, 3, 3]])


def test_nested_cond_matches_torch(rng):
    def cr_fn(x):
        total = cr.reduce_sum(x)
        return cr.cond(
            total > 0,
            lambda: cr.cond(total > 1.0, lambda: x**3, lambda: cr.tanh(x)),
            lambda: cr.cond(total < -1.0, lambda: -x * x, lambda: cr.sigmoid(x) * x),
        )

    def torch_fn(x):
        total = x.sum()
        if total > 0:
            return x**3 if total > 1.0 else torch.tanh(x)
        return -x * x if total < -1.0 else torch.sigmoid(x) * x

    for shift in (2.0, 0.1, -0.1, -2.0):
        x = rng.uniform(-0.01, 0.01, (4,)) + shift / 4
        check_op(cr_fn, torch_fn, [x], second_order=True)


def test_only_the_taken_branch_runs_its_assignments():
    v = cr.Variable(0.0, dtype=cr.float64)
    w = cr.Variable(0.0, dtype=cr.float64)
    p = cr.placeholder(cr.bool, [])
    out = cr.cond(p, lambda: cr.assign_add(v, 1.0), lambda: cr.assign_add(w, 10.0))
    with cr.Session() as s:
        s.run([v.initializer, w.initializer])
        assert s.run(out, {p: True}) == 1.0
        assert s.run(out, {p: True}) == 2.0
        assert s.run(out, {p: False}) == 10.0
        assert s.run([v, w]) == [2.0, 10.0]


def test_a_failing_branch_leaves_the_variables_unchanged():
    v = cr.Variable(np.zeros(2))
    x = cr.placeholder(cr.float64, [None])

    def update_then_fail():
        with cr.control_dependencies([cr.assign_add(v, [1.0, 1.0])]):
            return cr.reshape(x, [2]) + v

    out = cr.cond(cr.reduce_sum(x) > 0, update_then_fail, lambda: x + v)
    with cr.Session() as s:
        s.run(v.initializer)
        np.testing.assert_array_equal(s.run(out, {x: [1.0, 1.0]}), [2.0, 2.0])
        with pytest.raises(errors.InvalidArgumentError):
            s.run(out, {x: [1.0, 1.0, 1.0]})
        np.testing.assert_array_equal(s.run(v), [1.0, 1.0])


def test_cond_returns_nested_structures_and_tf1_single_values():
    x = cr.constant(2.0)
    Pair = collections.namedtuple("Pair", "a b")
    out = cr.cond(x > 0, lambda: Pair(x, {"k": [x * 2]}), lambda: Pair(-x, {"k": [x]}))
    assert isinstance(out, Pair)
    assert run([out.a, out.b["k"][0]]) == [2.0, 4.0]
    single = cr.cond(x > 0, lambda: [x], lambda: [x * 3])
    assert isinstance(single, cr.Tensor)
    assert isinstance(cr.cond(x > 0, lambda: [x], lambda: [x], strict=True), list)


def test_cond_branch_may_return_outer_tensors_and_numbers():
    x = cr.placeholder(cr.float32, [])
    out = cr.cond(x > 0, lambda: x, lambda: 7.0)
    assert run(out, {x: 3.0}) == 3.0
    assert run(out, {x: -3.0}) == 7.0


def test_cond_branches_with_different_structures_name_both():
    x = cr.constant(1.0)
    with pytest.raises(
        errors.InvalidArgumentError, match=r"true_fn returned \(\*, \*\).*false_fn returned \*"
    ) as err:
        cr.cond(x > 0, lambda: (x, x), lambda: x * 2)
    assert "test_control_flow.py" in str(err.value)


def test_cond_branches_with_different_dtypes_name_both():
    x = cr.constant(1.0)
    with pytest.raises(errors.DTypeError, match="float32 in true_fn.*int32 in false_fn"):
        cr.cond(x > 0, lambda: x, lambda: cr.constant(1))


def test_cond_predicate_must_be_a_boolean_scalar():
    x = cr.constant([1.0, 2.0])
    with pytest.raises(errors.DTypeError, match="must be a bool tensor") as bad_type:
        cr.cond(cr.reduce_sum(x), lambda: x, lambda: x)
    assert bad_type.value.node is not None and "test_control_flow.py" in str(bad_type.value)
    with pytest.raises(errors.ShapeError, match="must be a scalar"):
        cr.cond(x > 0, lambda: x, lambda: x)


def test_case_picks_the_first_true_predicate_else_default():
    x = cr.placeholder(cr.float32, [])
    out = cr.case([(x < 0, lambda: cr.constant(-1.0)), (x < 10, lambda: x * 2)], default=lambda: x)
    assert [run(out, {x: v}) for v in (-5.0, 3.0, 20.0)] == [-1.0, 6.0, 20.0]


def test_case_exclusive_refuses_two_true_predicates():
    x = cr.placeholder(cr.float32, [])
    out = cr.case(
        {x < 0: lambda: cr.constant(-1.0), x < 10: lambda: x * 2},
        default=lambda: x,
        exclusive=True,
    )
    assert run(out, {x: 3.0}) == 6.0
    with pytest.raises(errors.InvalidArgumentError, match="hold at once"):
        run(out, {x: -3.0})


def test_case_gradient_matches_torch(rng):
    def cr_fn(x):
        s = cr.reduce_sum(x)
        return cr.case([(s < -1, lambda: x * x), (s < 1, lambda: cr.sin(x))], default=lambda: x**3)

    def torch_fn(x):
        s = x.sum()
        return x * x if s < -1 else torch.sin(x) if s < 1 else x**3

    for shift in (-3.0, 0.0, 3.0):
        check_op(cr_fn, torch_fn, [rng.uniform(-0.1, 0.1, (3,)) + shift / 3])


# -- while_loop -----------------------------------------------------------------------------------
def _cr_power_loop(x, a):
    """x <- x * a + sin(x), while the sum of x stays below 20, at most 6 times."""
    _, out = cr.while_loop(
        lambda i, v: cr.logical_and(i < 6, cr.reduce_sum(v) < 20.0),
        lambda i, v: (i + 1, v * a + cr.sin(v)),
        [cr.constant(0), x],
    )
    return out


def _torch_power_loop(x, a):
    i, v = 0, x
    while i < 6 and v.sum() < 20.0:
        i, v = i + 1, v * a + torch.sin(v)
    return v


def test_while_loop_value_and_gradients_match_torch_and_finite_differences(rng):
    x = rng.uniform(0.1, 0.5, (2, 2))
    a = rng.uniform(1.0, 1.5, (2, 2))
    check_op(_cr_power_loop, _torch_power_loop, [x, a], second_order=True)


def test_while_loop_count_is_known_only_at_run_time():
    n = cr.placeholder(cr.int32, [])
    x = cr.placeholder(cr.float64, [])
    _, y = cr.while_loop(
        lambda i, y: i < n, lambda i, y: (i + 1, y * x), [0, cr.constant(1.0, cr.float64)]
    )
    g = cr.gradients(y, x)[0]
    with cr.Session() as s:
        for steps in (0, 1, 4):
            value, grad = s.run([y, g], {n: steps, x: 1.5})
            assert value == pytest.approx(1.5**steps)
            assert grad == pytest.approx(steps * 1.5 ** max(steps - 1, 0))


def test_a_loop_that_runs_zero_times_passes_its_inputs_and_gradients_through():
    x = cr.placeholder(cr.float64, [3])
    c = cr.placeholder(cr.float64, [3])
    y = cr.while_loop(lambda v: cr.reduce_sum(v) > 100.0, lambda v: v * c, [x])
    gx, gc = cr.gradients(cr.reduce_sum(y * y), [x, c])
    out = run([y, gx, gc], {x: [1.0, 2.0, 3.0], c: [2.0, 2.0, 2.0]})
    np.testing.assert_array_equal(out[0], [1, 2, 3])
    np.testing.assert_array_equal(out[1], [2, 4, 6])
    np.testing.assert_array_equal(out[2], [0, 0, 0])


def test_maximum_iterations_stops_the_loop():
    i = cr.while_loop(lambda i: i < 100, lambda i: i + 1, [0], maximum_iterations=7)
    assert run(i) == 7


def test_nested_loop_variables_keep_their_structure():
    State = collections.namedtuple("State", "h c")
    x = cr.constant(np.ones(2))

    def body(i, state, extras):
        return i + 1, State(state.h * 2.0, state.c + state.h), {"n": extras["n"] + 1.0}

    out = cr.while_loop(
        lambda i, state, extras: i < 3,
        body,
        (cr.constant(0), State(x, x), {"n": cr.constant(0.0)}),
    )
    assert isinstance(out, tuple) and isinstance(out[1], State) and isinstance(out[2], dict)
    i, state, extras = run(out)
    assert i == 3 and extras["n"] == 3.0
    np.testing.assert_array_equal(state.h, [8, 8])
    np.testing.assert_array_equal(state.c, [8, 8])


def test_gradients_reach_a_variable_used_inside_and_outside_the_loop(rng):
    w0 = rng.uniform(0.5, 1.0, (3,))
    w = cr.Variable(w0)
    y = cr.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * w + 1.0), [0, w])[1]
    loss = cr.reduce_sum(y * w)
    g = cr.gradients(loss, w)[0]
    tw = torch.tensor(w0, requires_grad=True)
    v = tw
    for _ in range(3):
        v = v * tw + 1.0
    (expected,) = torch.autograd.grad((v * tw).sum(), tw)
    with cr.Session() as s:
        s.run(w.initializer)
        np.testing.assert_allclose(s.run(g), expected.numpy(), rtol=1e-12)


def test_gradients_reach_constants_captured_by_a_cond_and_a_loop():
    c = cr.constant(np.array([1.0, -2.0]))
    k = cr.constant(0.5, dtype=cr.float64)
    branch = cr.cond(cr.constant(True), lambda: c * c, lambda: c)
    loop = cr.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, v * k), [0, c])[1]
    gc, gk = cr.gradients(cr.reduce_sum(branch) + cr.reduce_sum(loop), [c, k])
    np.testing.assert_allclose(run(gc), 2 * np.array([1.0, -2.0]) + 0.25)
    np.testing.assert_allclose(run(gk), 2 * 0.5 * (1.0 - 2.0))


def test_shape_invariants_let_a_loop_variable_grow():
    x = cr.constant([1.0])
    out = cr.while_loop(
        lambda v: cr.size(v) < 8,
        lambda v: cr.concat([v, v * 2.0], 0),
        [x],
        shape_invariants=[cr.TensorShape([None])],
    )
    assert out.shape == (None,)
    np.testing.assert_array_equal(run(out), [1, 2, 2, 4, 2, 4, 4, 8])


def test_a_changing_shape_without_an_invariant_is_refused():
    x = cr.constant([1.0])
    with pytest.raises(errors.ShapeError, match="shape_invariants") as err:
        cr.while_loop(lambda v: cr.size(v) < 8, lambda v: cr.concat([v, v], 0), [x])
    assert "test_control_flow.py" in str(err.value)


def test_a_shape_change_seen_only_at_run_time_is_refused():
    x = cr.placeholder(cr.float32, [None, 2])
    new_shape = cr.placeholder(cr.int32, [2])
    y = cr.while_loop(lambda v: cr.size(v) < 8, lambda v: cr.reshape(v, new_shape) * 2.0, [x])
    with pytest.raises(errors.ShapeError, match="shape_invariants"):
        run(y, {x: [[1.0, 2.0]], new_shape: [2, 1]})


def test_an_unknown_initial_size_may_change_as_in_tf1():
    x = cr.placeholder(cr.float32, [None])
    y = cr.while_loop(lambda v: cr.size(v) < 8, lambda v: cr.concat([v, v], 0), [x])
    assert len(run(y, {x: [1.0]})) == 8


def test_a_body_returning_the_wrong_number_of_values_is_refused():
    with pytest.raises(errors.InvalidArgumentError, match="2 tensors.*3 tensors") as err:
        cr.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v, v), [0, cr.constant(1.0)])
    assert "test_control_flow.py" in str(err.value)


def test_a_non_boolean_loop_condition_is_refused():
    with pytest.raises(errors.DTypeError, match="must be a bool tensor") as err:
        cr.while_loop(lambda i: i * 2, lambda i: i + 1, [0])
    assert "test_control_flow.py" in str(err.value)


def test_a_failed_run_leaves_no_variable_half_updated():
    v = cr.Variable(0.0, dtype=cr.float64)
    limit = cr.placeholder(cr.float64, [])

    def body(i):
        with cr.control_dependencies([cr.assign_add(v, 1.0)]):
            checked = cr.check_numerics(cr.log(limit - cr.cast(i, cr.float64)), "log")
        with cr.control_dependencies([checked]):
            return i + 1

    i = cr.while_loop(lambda i: i < 5, body, [0])
    with cr.Session() as s:
        s.run(v.initializer)
        assert s.run(i, {limit: 10.0}) == 5 and s.run(v) == 5.0
        with pytest.raises(errors.InvalidArgumentError):
            s.run(i, {limit: 2.0})
        assert s.run(v) == 5.0


def test_cond_inside_while_loop_matches_torch(rng):
    def cr_fn(x):
        def body(i, v):
            return i + 1, cr.cond(
                cr.reduce_sum(v) > 0, lambda: v * 0.9 - 0.3, lambda: cr.sin(v) + 0.5
            )

        return cr.while_loop(lambda i, v: i < 5, body, [0, x])[1]

    def torch_fn(x):
        v = x
        for _ in range(5):
            v = v * 0.9 - 0.3 if v.sum() > 0 else torch.sin(v) + 0.5
        return v

    check_op(cr_fn, torch_fn, [rng.uniform(0.1, 0.3, (3,))], second_order=True)


def test_while_loop_inside_cond_matches_torch(rng):
    def cr_fn(x, c):
        def looped():
            return cr.while_loop(lambda v: cr.reduce_sum(v) < 10.0, lambda v: v * c + 0.1, [x])

        return cr.cond(cr.reduce_sum(c) > 0, looped, lambda: x * c)

    def torch_fn(x, c):
        if c.sum() <= 0:
            return x * c
        v = x
        while v.sum() < 10.0:
            v = v * c + 0.1
        return v

    x = rng.uniform(0.5, 1.0, (3,))
    check_op(cr_fn, torch_fn, [x, rng.uniform(1.2, 1.5, (3,))], second_order=True)
    check_op(cr_fn, torch_fn, [x, -rng.uniform(1.2, 1.5, (3,))], second_order=True)


def _torch_derivatives(fn, x0, order):
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    value, found = fn(x), []
    for _ in range(order):
        (value,) = torch.autograd.grad(value, x, create_graph=True)
        found.append(value.item())
    return found


def test_second_and_third_derivatives_through_a_loop_match_torch():
    x = cr.placeholder(cr.float64, [])
    y = cr.while_loop(lambda v: v < 50.0, lambda v: v * v + cr.exp(v * 0.1), [x])
    first = cr.gradients(y, x)[0]
    second = cr.gradients(first, x)[0]
    third = cr.gradients(second, x)[0]

    def torch_loop(v):
        while v < 50.0:
            v = v * v + torch.exp(v * 0.1)
        return v

    got = run([first, second, third], {x: 1.5})
    np.testing.assert_allclose(got, _torch_derivatives(torch_loop, 1.5, 3), rtol=1e-12)


def test_second_derivatives_through_a_loop_match_finite_differences(rng):
    """The loop's gradient, differentiated again, against central differences of it."""
    x0, a0 = rng.uniform(0.1, 0.5, (2, 2)), rng.uniform(1.0, 1.5, (2, 2))
    w, v = rng.standard_normal((2, 2)), rng.standard_normal((2, 2))

    def directional_gradient(x, a):
        first = cr.gradients(cr.reduce_sum(_cr_power_loop(x, a) * w), [x, a])
        return cr.reduce_sum(first[0] * v) + cr.reduce_sum(first[1] * v)

    assert checks.gradient_error(directional_gradient, [x0, a0]) < 1e-6


def test_second_derivatives_of_two_losses_through_one_loop_add_up():
    x = cr.placeholder(cr.float64, [])
    y = cr.while_loop(lambda v: v < 50.0, lambda v: v * v + cr.exp(v * 0.1), [x])
    both = cr.gradients([cr.gradients(y, x)[0], cr.gradients(cr.sin(y), x)[0]], x)[0]

    def torch_both(v):
        while v < 50.0:
            v = v * v + torch.exp(v * 0.1)
        return v + torch.sin(v)

    expected = _torch_derivatives(torch_both, 1.5, 2)[1]
    assert run(both, {x: 1.5}) == pytest.approx(expected, rel=1e-12)


def test_hessian_through_nested_loops_matches_torch(rng):
    x = cr.placeholder(cr.float64, [3])

    def inner(v):
        step = lambda j, u: (j + 1, cr.sin(u) * v + u)  # noqa: E731
        return cr.while_loop(lambda j, u: j < 2, step, [0, v])[1]

    y = cr.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, inner(v) * 0.5), [0, x])[1]
    hessian = cr.hessians(cr.reduce_sum(y * y), x)[0]

    def torch_loss(v):
        for _ in range(3):
            u = v
            for _ in range(2):
                u = torch.sin(u) * v + u
            v = u * 0.5
        return (v * v).sum()

    x0 = rng.uniform(-0.5, 0.5, (3,))
    expected = torch.autograd.functional.hessian(torch_loss, torch.tensor(x0)).numpy()
    np.testing.assert_allclose(run(hessian, {x: x0}), expected, rtol=1e-10, atol=1e-12)


def test_back_prop_false_gives_no_gradient():
    x = cr.placeholder(cr.float64, [])
    y = cr.while_loop(lambda v: v < 10.0, lambda v: v * 2.0, [x], back_prop=False)
    assert cr.gradients(y, x)[0] is None


class _InterruptAfter(cr.Operation):
    """Passes its input on, and raises KeyboardInterrupt (as Ctrl-C does) on call ``limit``."""

    def __init__(self, x, limit):
        self.limit, self.calls = limit, 0
        super().__init__([x])

    def infer(self, x):
        return x.shape, x.dtype

    def compute(self, x):
        self.calls += 1
        if self.calls == self.limit:
            raise KeyboardInterrupt
        return x


def test_ctrl_c_stops_an_endless_loop_and_leaves_the_session_as_it_was():
    v = cr.Variable(0.0, dtype=cr.float64)

    def body(i):
        with cr.control_dependencies([cr.assign_add(v, 1.0)]):
            return _InterruptAfter(i + 1, limit=50)

    endless = cr.while_loop(lambda i: i >= 0, body, [0])
    with cr.Session() as s:
        s.run(v.initializer)
        with pytest.raises(KeyboardInterrupt):
            s.run(endless)
        assert s.run(v) == 0.0
        assert s.run(v + 1.0) == 1.0


# -- TF1's auto-packing, and Python's if on a tensor ------------------------------------------------
def test_a_list_of_tensors_is_packed_as_tf1_packs_it(rng):
    a = cr.placeholder(cr.float64, [])
    b = cr.placeholder(cr.float64, [])
    mean = cr.reduce_mean([a * a, b * 3.0])
    ga, gb = cr.gradients(mean, [a, b])
    assert run([mean, ga, gb], {a: 2.0, b: 1.0}) == [3.5, 2.0, 1.5]
    mixed = cr.convert_to_tensor([[a, 1.0], [2.0, b]])
    assert mixed.shape == (2, 2) and mixed.dtype == cr.float64
    np.testing.assert_array_equal(run(mixed, {a: 5.0, b: 6.0}), [[5, 1], [2, 6]])
    rows = [cr.constant(rng.standard_normal(3)) for _ in range(4)]
    assert cr.reduce_sum(rows, axis=1).shape == (4,)


def test_python_if_on_a_tensor_points_at_cond():
    x = cr.constant(1.0)
    with pytest.raises(errors.GraphError, match=r"cr\.cond\(pred, true_fn, false_fn\)") as err:
        if x > 0:
            pass
    assert "cond-style" not in str(err.value) and "cr.while_loop" in str(err.value)


def test_gradients_reach_variables_made_inside_a_branch_and_a_loop():
    x = cr.placeholder(cr.float64, [2])

    def branch():
        w = cr.get_variable("w", initializer=np.array([2.0, 3.0]), dtype=cr.float64)
        return x * w

    y = cr.cond(cr.reduce_sum(x) > 0, branch, lambda: x)

    def body(i, v):
        with cr.variable_scope("cell", reuse=cr.AUTO_REUSE):
            u = cr.get_variable("u", initializer=np.array([0.5, 0.5]), dtype=cr.float64)
        return i + 1, v * u

    z = cr.while_loop(lambda i, v: i < 3, body, [0, y])[1]
    w, u = cr.global_variables()
    gw, gu = cr.gradients(cr.reduce_sum(z), [w, u])
    with cr.Session() as s:
        s.run(cr.global_variables_initializer())
        value, grad_w, grad_u = s.run([z, gw, gu], {x: [1.0, 1.0]})
    np.testing.assert_allclose(value, [0.25, 0.375])
    np.testing.assert_allclose(grad_w, [0.125, 0.125])
    np.testing.assert_allclose(grad_u, [3 * 2 * 0.25, 3 * 3 * 0.25])


def test_a_python_bool_predicate_works():
    x = cr.constant(2.0)
    assert run(cr.cond(True, lambda: x, lambda: -x)) == 2.0
    assert run(cr.cond(False, lambda: x, lambda: -x)) == -2.0


def test_branches_may_return_operations_run_for_their_effects():
    v = cr.Variable(0.0, dtype=cr.float64)
    p = cr.placeholder(cr.bool, [])
    step = cr.cond(p, lambda: cr.group(cr.assign_add(v, 1.0)), lambda: cr.no_op())
    both = cr.cond(p, lambda: (cr.group(cr.assign_add(v, 5.0)), v * 2), lambda: (cr.no_op(), v))
    with cr.Session() as s:
        s.run(v.initializer)
        assert s.run(step, {p: True}) is None
        s.run(step, {p: False})
        assert s.run(v) == 1.0
        assert s.run(both[1], {p: True}) == 2.0  # computed from v as the run found it
        assert s.run(v) == 6.0  # the taken branch runs as a whole, its operations too
        s.run(both[0], {p: False})
        assert s.run(v) == 6.0
    with pytest.raises(
        errors.InvalidArgumentError, match=r"true_fn returned op.*false_fn returned \*"
    ):
        cr.cond(p, lambda: cr.no_op(), lambda: v)


def test_a_loop_body_returning_none_or_an_operation_is_refused():
    with pytest.raises(errors.InvalidArgumentError, match="returned None"):
        cr.while_loop(lambda i: i < 3, lambda i: None, [0])
    with pytest.raises(errors.InvalidArgumentError, match="returned the operation NoOp"):
        cr.while_loop(lambda i: i < 3, lambda i: cr.no_op(), [0])


def test_integer_loop_variables_and_captures_get_no_gradient():
    x = cr.placeholder(cr.float64, [])
    k = cr.placeholder(cr.int32, [])
    i, y = cr.while_loop(
        lambda i, y: i < k, lambda i, y: (i + 1, y * cr.cast(k, cr.float64)), [0, x]
    )
    assert cr.gradients(y, k)[0] is None
    gx = cr.gradients(y, x)[0]
    assert run(gx, {x: 1.0, k: 3}) == 27.0


def test_gradients_of_two_losses_through_one_loop_each_keep_what_they_need():
    x = cr.placeholder(cr.float64, [])
    y = cr.while_loop(lambda v: v < 50.0, lambda v: v * v + cr.exp(v * 0.1), [x])
    first = cr.gradients(y, x)[0]
    second_loss = cr.gradients(cr.sin(y), x)[0]
    with cr.Session() as s:
        a, b, value = s.run([first, second_loss, y], {x: 1.5})
    v, d = 1.5, 1.0
    while v < 50.0:
        v, d = v * v + np.exp(v * 0.1), d * (2 * v + 0.1 * np.exp(v * 0.1))
    assert value == pytest.approx(v) and a == pytest.approx(d)
    assert b == pytest.approx(np.cos(v) * d)


def test_the_gradient_of_a_branch_sees_the_same_random_draw(rng):
    x = cr.placeholder(cr.float64, [200])
    training = cr.placeholder(cr.bool, [])
    y = cr.cond(training, lambda: cr.nn.dropout(x * x, keep_prob=0.5), lambda: x * x)
    g = cr.gradients(cr.reduce_sum(y), x)[0]
    ones = np.ones(200)
    with cr.Session() as s:
        value, grad = s.run([y, g], {x: ones, training: True})
        assert 0 < np.count_nonzero(value) < 200
        np.testing.assert_array_equal(grad, 2 * value)  # d(mask * x * x / keep) = 2 * that
        value, grad = s.run([y, g], {x: ones, training: False})
        np.testing.assert_array_equal(grad, 2 * ones)


def test_an_update_in_a_branch_runs_once_even_when_its_gradient_reads_it():
    v = cr.Variable(1.0, dtype=cr.float64)
    x = cr.placeholder(cr.float64, [])
    y = cr.cond(x > 0, lambda: x * cr.assign_add(v, 1.0), lambda: x)
    g = cr.gradients(y, x)[0]
    with cr.Session() as s:
        s.run(v.initializer)
        assert s.run([y, g], {x: 3.0}) == [6.0, 2.0]
        assert s.run(v) == 2.0


def test_control_flow_in_a_session_that_checks_numerics():
    x = cr.placeholder(cr.float64, [2])
    y = cr.cond(cr.reduce_sum(x) > 0, lambda: cr.nn.dropout(x, 0.5) * 2.0, lambda: x)
    z = cr.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 1.5), [0, y])[1]
    g = cr.gradients(cr.reduce_sum(z), x)[0]
    with cr.Session(check_numerics=True) as s:
        np.testing.assert_array_equal(
            s.run([z, g], {x: [-1.0, -2.0]}), [[-3.375, -6.75]] + [[3.375] * 2]
        )
        with pytest.raises(errors.InvalidArgumentError, match="NaN"):
            s.run(z, {x: [np.nan, -1.0]})


def test_the_gradient_of_a_loop_sees_each_iteration_s_random_draw():
    x = cr.placeholder(cr.float64, [200])
    body = lambda i, v: (i + 1, cr.nn.dropout(v * v, keep_prob=0.5))  # noqa: E731
    y = cr.while_loop(lambda i, v: i < 1, body, [0, x])[1]
    g = cr.gradients(cr.reduce_sum(y), x)[0]
    with cr.Session() as s:
        value, grad = s.run([y, g], {x: np.ones(200)})
    assert 0 < np.count_nonzero(value) < 200
    np.testing.assert_array_equal(grad, 2 * value)


def test_case_without_default_takes_the_last_pair_and_checks_its_predicate():
    x = cr.placeholder(cr.float32, [])
    out = cr.case([(x < 0, lambda: x * 2), (x > 10, lambda: x * 3)])
    assert run(out, {x: -1.0}) == -2.0
    assert run(out, {x: 20.0}) == 60.0
    with pytest.raises(errors.InvalidArgumentError, match="none of its predicates holds"):
        run(out, {x: 5.0})
    only = cr.case([(x > 0, lambda: x + 1)])
    assert run(only, {x: 1.0}) == 2.0
    with pytest.raises(errors.InvalidArgumentError, match="none of its predicates holds"):
        run(only, {x: -1.0})


# -- seeing a loop's iterations -------------------------------------------------------------------
def _powers(start):
    x = cr.placeholder(cr.float64, [], name="x")
    loop = cr.while_loop(
        lambda i, v: v < 10.0,
        lambda i, v: (i + 1, v * x),
        [0, cr.constant(start, cr.float64)],
        name="powers",
    )
    return x, loop[1] * 1.0


def test_explain_shows_the_loop_variables_of_every_iteration():
    x, y = _powers(1.0)
    trace = cr.explain(y, {x: 2.0})
    loop = trace.node("powers/While")
    assert loop.iterations == [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0)]
    assert trace.gradient("x") == 32.0
    # the node shows the loop's result, not its counter: a gradient flows into it
    assert (loop.value, loop.dtype, loop.gradient) == (16.0, "float64", 1.0)
    table = trace.table()
    assert "after 0" in table and "(3, 8)" in table and "after 5" not in table
    assert "(2, 4)" in trace.table(stats=True)
    (entry,) = [n for n in trace.to_dict()["nodes"] if n["name"] == "powers/While"]
    assert entry["iterations"] == [[0, 1.0], [1, 2.0], [2, 4.0], [3, 8.0], [4, 16.0]]


def test_explain_shows_the_gradient_with_respect_to_every_iteration_s_variables():
    x, y = _powers(1.0)
    trace = cr.explain(y, {x: 2.0})
    loop = trace.node("powers/While")
    # y = v after 4 iterations, and v_(k+1) = v_k * x: dy/dv_k = x ** (4 - k)
    assert loop.iteration_gradients == [
        (None, 16.0),
        (None, 8.0),
        (None, 4.0),
        (None, 2.0),
        (None, 1.0),
    ]
    assert "(-, 8)" in trace.table() and "loop grad" in trace.table(stats=True)
    (entry,) = [n for n in trace.to_dict()["nodes"] if n["name"] == "powers/While"]
    assert entry["iteration_gradients"][0] == [None, 16.0]


def test_the_iteration_gradients_of_an_rnn_are_backpropagation_through_time(rng):
    x = cr.placeholder(cr.float64, [1, 4, 2], name="x")
    cell = cr.nn.rnn_cell.BasicRNNCell(3)
    out, state = cr.nn.dynamic_rnn(cell, x, dtype=cr.float64)
    loss = cr.reduce_sum(state * state)
    with cr.Session() as s:
        s.run(cr.global_variables_initializer())
        trace = cr.explain(loss, {x: rng.standard_normal((1, 4, 2))}, session=s)
        loop = next(n for n in trace.nodes if n.op_type == "While")
        kernel = s.run(cell.kernel)
    hidden = [row[1] for row in loop.iterations]
    grads = [row[1] for row in loop.iteration_gradients]
    np.testing.assert_allclose(grads[-1], 2 * hidden[-1])
    for k in range(len(hidden) - 1, 0, -1):  # one step back: through tanh and the kernel
        through_tanh = grads[k] * (1.0 - hidden[k] ** 2)
        np.testing.assert_allclose(grads[k - 1], through_tanh @ kernel[2:].T, rtol=1e-10)


def test_a_loop_that_runs_zero_times_shows_its_inputs_only():
    x, y = _powers(20.0)
    loop = cr.explain(y, {x: 2.0}).node("powers/While")
    assert loop.iterations == [(0, 20.0)] and loop.iteration_gradients == [(None, 1.0)]


def test_traces_without_loops_show_no_iterations():
    x = cr.placeholder(cr.float64, [], name="x")
    trace = cr.explain(x * x + 1.0, {x: 3.0})
    assert all(node.iterations is node.iteration_gradients is None for node in trace.nodes)
    assert all("iterations" not in node for node in trace.to_dict()["nodes"])
    assert all("iteration_gradients" not in node for node in trace.to_dict()["nodes"])
    assert "after" not in trace.table() and "loop" not in trace.table(stats=True)


def test_explaining_a_loop_in_a_session_leaves_its_gradients_as_they_were():
    w = cr.Variable(1.5, dtype=cr.float64)
    loop = cr.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, cr.sin(v) * w), [0, w])
    loss = loop[1] * 1.0
    g = cr.gradients(loss, w)[0]
    with cr.Session() as s:
        s.run(w.initializer)
        before = s.run([loss, g])
        trace = cr.explain(loss, session=s)
        assert s.run([loss, g]) == before
    assert trace.gradient(w.op.name) == pytest.approx(before[1], rel=1e-12)
    assert [row[1] for row in trace.node(loop[1].op.name).iterations][-1] == before[0]
