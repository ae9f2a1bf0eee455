"""What a loop hands from one iteration to the next without copying stays safe: the growing
accumulator of map_fn and scan, body results passed on uncopied, NumPy scalars fed as
scalars. Values fetched by a user never change afterwards, whatever later runs do."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.accumulator_ops import append


def test_append_grows_in_place_without_changing_earlier_values():
    acc = np.zeros(0, np.float32)
    seen = []
    for i in range(40):
        acc = append(acc, np.full((2, 3), i, np.float32))
        seen.append(acc)
    for i, value in enumerate(seen):
        np.testing.assert_array_equal(value.reshape(-1, 6)[:, 0], np.arange(i + 1))
    assert seen[-1].base is seen[-2].base  # the last append wrote into the same buffer


def test_appending_twice_to_the_same_value_gives_two_independent_results():
    acc = append(np.zeros(0), np.array([1.0, 2.0]))
    first = append(acc, np.array([3.0]))
    second = append(acc, np.array([4.0]))
    np.testing.assert_array_equal(first, [1, 2, 3])
    np.testing.assert_array_equal(second, [1, 2, 4])
    np.testing.assert_array_equal(acc, [1, 2])


def test_append_promotes_as_concatenate_does():
    grown = append(append(np.zeros(0, np.float32), np.ones(2, np.float32)), np.ones(1))
    assert grown.dtype == np.float64
    np.testing.assert_array_equal(grown, [1, 1, 1])


def test_fetched_map_fn_results_never_change_in_later_runs():
    x = cr.placeholder(cr.float32, [None, 3])
    out = cr.map_fn(lambda row: row * 2.0, x)
    flat = cr.reshape(out, [-1])
    with cr.Session() as s:
        first, first_flat = s.run([out, flat], {x: np.ones((5, 3))})
        kept, kept_flat = first.copy(), first_flat.copy()
        for k in range(3):
            s.run([out, flat], {x: np.full((7, 3), k + 5.0)})
        np.testing.assert_array_equal(first, kept)
        np.testing.assert_array_equal(first_flat, kept_flat)
        first[:] = -1  # the user's array: writing into it changes no later result
        np.testing.assert_array_equal(s.run(out, {x: np.ones((5, 3))}), kept)


def test_a_body_that_returns_a_constant_hands_out_copies():
    table = np.array([1.0, 2.0, 3.0])
    start = cr.placeholder(cr.int32, [])
    first = cr.zeros([3], cr.float64) * cr.cast(start, cr.float64)  # computed: not shared
    _, out = cr.while_loop(
        lambda i, v: i < 2, lambda i, v: (i + 1, cr.constant(table)), [start * 1, first]
    )
    with cr.Session() as s:
        got = s.run(out, {start: 0})
        got[:] = 0  # the user's copy, not the body's constant
        np.testing.assert_array_equal(s.run(out, {start: 0}), table)


def test_a_body_that_passes_a_captured_value_on_keeps_it_for_the_gradient():
    """The loop keeps what its gradient reads, copied where it may be a captured value that
    the run changes in place before the gradient reads it."""
    w = cr.Variable(np.array([2.0, 3.0]))
    _, _, v = cr.while_loop(
        lambda i, u, v: i < 3,
        lambda i, u, v: (i + 1, cr.identity(w), v * u),
        [0, cr.ones([2], cr.float64), cr.ones([2], cr.float64)],
    )
    loss = cr.reduce_sum(v)  # w * w: the second and third iterations multiply by w
    with cr.get_default_graph().control_dependencies([cr.assign_add(w, [10.0, 10.0])]):
        (grad,) = cr.gradients(loss, [w])
    with cr.Session() as s:
        s.run(cr.global_variables_initializer())
        got_loss, got_grad = s.run([loss, grad])
    np.testing.assert_allclose(got_loss, 2.0**2 + 3.0**2)
    np.testing.assert_allclose(got_grad, [4.0, 6.0])


def test_scan_and_its_gradient_over_many_steps(rng):
    x = rng.standard_normal((300, 4))
    xs = cr.constant(x)
    sums = cr.scan(lambda a, row: a * 0.5 + row, xs, initializer=cr.zeros([4], cr.float64))
    (grad,) = cr.gradients(cr.reduce_sum(sums * sums), [xs])
    expected = np.zeros(4)
    rows = []
    for row in x:
        expected = expected * 0.5 + row
        rows.append(expected)
    with cr.Session() as s:
        got, got_grad = s.run([sums, grad])
    np.testing.assert_allclose(got, np.array(rows))
    assert got_grad.shape == x.shape


def test_a_scalar_placeholder_takes_numpy_scalars_and_refuses_other_types():
    x = cr.placeholder(cr.int32, [])
    y = x * 2
    with cr.Session() as s:
        assert s.run(y, {x: np.int32(4)}) == 8
        assert s.run(y, {x: np.array(5, np.int32)}) == 10
        assert s.run(y, {x: 6}) == 12
        with pytest.raises(cr.errors.InvalidArgumentError, match="expected dtype int32"):
            s.run(y, {x: np.float64(1.5)})
        with pytest.raises(cr.errors.InvalidArgumentError, match="expected shape"):
            s.run(y, {x: np.array([1, 2], np.int32)})


def test_gather_of_one_index_checks_it():
    params = cr.constant(np.arange(6.0).reshape(3, 2))
    i = cr.placeholder(cr.int32, [])
    row = cr.gather(params, i)
    with cr.Session() as s:
        np.testing.assert_array_equal(s.run(row, {i: 2}), [4, 5])
        with pytest.raises(cr.errors.InvalidArgumentError, match=r"index 3 is out of range"):
            s.run(row, {i: 3})
        with pytest.raises(cr.errors.InvalidArgumentError, match=r"index -1 is out of range"):
            s.run(row, {i: -1})


def test_the_gradient_of_split_pieces_joins_them_in_place_of_a_scatter(rng):
    x = cr.constant(rng.standard_normal((3, 8)))
    a, b, c = cr.split(x, [2, 4, 2], axis=1)
    (whole,) = cr.gradients(cr.reduce_sum(a) + 2.0 * cr.reduce_sum(b) + 3.0 * cr.reduce_sum(c), [x])
    (part,) = cr.gradients(cr.reduce_sum(b), [x])  # one piece: the others stay zero
    with cr.Session() as s:
        got_whole, got_part = s.run([whole, part])
    np.testing.assert_array_equal(got_whole[0], [1, 1, 2, 2, 2, 2, 3, 3])
    np.testing.assert_array_equal(got_part[0], [0, 0, 1, 1, 1, 1, 0, 0])


def _op_types_run(session):
    return {term.node.op_type for plan in session._plans.values() for term in plan.program}


def test_a_loop_gradient_computes_only_the_captured_gradients_a_run_reads(rng):
    x_value, w_value = rng.standard_normal((5, 3)), rng.standard_normal(3)
    x, w = cr.constant(x_value), cr.constant(w_value)
    out = cr.map_fn(lambda row: cr.tanh(row * w), x)
    grad_x, grad_w = cr.gradients(cr.reduce_sum(out), [x, w])
    slope = 1 - np.tanh(x_value * w_value) ** 2
    with cr.Session() as s:
        np.testing.assert_allclose(s.run(grad_w), (slope * x_value).sum(axis=0))
        assert "GatherGrad" not in _op_types_run(s)  # x's gradient: neither computed nor summed
        np.testing.assert_allclose(s.run(grad_x), slope * w_value)
        assert "GatherGrad" in _op_types_run(s)
