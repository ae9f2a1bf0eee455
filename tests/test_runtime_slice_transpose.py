"""``tf.slice`` with begin and size known only at run time, and ``tf.transpose`` by a perm
tensor: TF1's static shapes, values and gradients (second order too) against PyTorch, and
arguments that do not fit the tensor refused at run time naming the op."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.errors import InvalidArgumentError, ShapeError
from oracle import check_op, normal, run

RNG = np.random.default_rng(0)


def test_slice_by_sizes_of_the_input_matches_torch():
    def cr_fn(x):
        s = cr.shape(x)
        return cr.slice(x, [1, s[1] - 3], [s[0] - 1, 2])

    check_op(cr_fn, lambda x: x[1:, -3:-1], [normal(RNG, (4, 5))], second_order=True)


def test_slice_to_the_end_from_a_run_time_begin_matches_torch():
    def cr_fn(x):
        return cr.slice(cr.sin(x), cr.stack([0, cr.shape(x)[1] // 2, 1]), [-1, -1, 2]) ** 2

    check_op(
        cr_fn, lambda x: torch.sin(x)[:, 2:, 1:3] ** 2, [normal(RNG, (3, 4, 5))], second_order=True
    )


def test_transpose_by_a_run_time_perm_matches_torch():
    def cr_fn(x):
        one = cr.shape(x)[0] // cr.shape(x)[0]  # 1, known only at run time for a fed batch
        return cr.transpose(cr.sin(x), cr.stack([2, 1 - one, one])) * cr.range(
            1.0, 3.0, dtype=cr.float64
        )

    check_op(
        cr_fn,
        lambda x: torch.sin(x).permute(2, 0, 1) * torch.arange(1.0, 3.0, dtype=torch.float64),
        [normal(RNG, (3, 2, 4))],
        second_order=True,
    )


@pytest.mark.parametrize(
    ("begin", "size", "expected"),
    [
        ("[0, 0]", "[s[0], 2]", (None, 2)),
        ("[s[0] - 1, 1]", "[1, -1]", (1, 2)),
        ("[n, 0]", "[2, -1]", (2, 3)),
        ("[0, n]", "[-1, 2]", (None, 2)),
        ("b", "[2, -1]", (2, None)),
        ("[0, 0]", "b", (None, None)),
        ("[0, 0]", "unranked", (None, None)),
        ("[0, 0]", "cr.stack([s[0], s[1] - 1])", (None, 2)),
    ],
)
def test_slice_static_shapes_are_tf1s(begin, size, expected):
    x = cr.placeholder(cr.float32, [None, 3])
    env = {
        "cr": cr,
        "s": cr.shape(x),
        "n": cr.placeholder(cr.int32, []),
        "b": cr.placeholder(cr.int32, [2]),
        "unranked": cr.placeholder(cr.int32),
    }
    assert cr.slice(x, eval(begin, env), eval(size, env)).shape == expected


def test_transpose_static_shapes_are_tf1s():
    x = cr.placeholder(cr.float32, [None, 3])
    y = cr.placeholder(cr.float32, [None, 6, 5])
    n = cr.placeholder(cr.int32, [])
    assert cr.transpose(x, cr.constant([1, 0])).shape == (3, None)
    assert cr.transpose(x, cr.placeholder(cr.int32, [2])).shape == (None, None)
    assert cr.transpose(y, [2, n, 0]).shape == (None, None, None)
    assert cr.transpose(cr.placeholder(cr.float32), cr.placeholder(cr.int32, [3])).shape == (
        None,
        None,
        None,
    )
    with pytest.raises(ShapeError, match="perm has 2 entries"):
        cr.transpose(y, cr.placeholder(cr.int32, [2]))
    with pytest.raises(ShapeError, match="differ in length"):
        cr.slice(y, cr.placeholder(cr.int32, [2]), [1, 1, 1])


def test_fed_perm_and_begin_give_numpy_values_and_gradients():
    x = cr.placeholder(cr.float64, [None, None, None])
    perm = cr.placeholder(cr.int32, [3])
    begin = cr.placeholder(cr.int32, [3])
    value = normal(RNG, (2, 3, 4))
    turned = cr.transpose(x, perm)
    window = cr.slice(x, begin, [1, 2, -1])
    loss = cr.reduce_sum(turned**3) + cr.reduce_sum(window * 5.0)
    feed = {x: value, perm: [1, 2, 0], begin: [1, 0, 2]}
    got_turned, got_window, grad = run([turned, window, cr.gradients(loss, x)[0]], feed)
    np.testing.assert_array_equal(got_turned, value.transpose(1, 2, 0))
    np.testing.assert_array_equal(got_window, value[1:2, 0:2, 2:])
    expected = 3 * value**2
    expected[1:2, 0:2, 2:] += 5.0
    np.testing.assert_allclose(grad, expected)


def test_run_time_arguments_that_do_not_fit_are_refused_naming_the_op():
    x = cr.placeholder(cr.float32, [None, 3])
    n = cr.placeholder(cr.int32, [])
    perm = cr.placeholder(cr.int32, [2])
    window = cr.slice(x, [0, n], [-1, 2], name="window")
    turned = cr.transpose(x, perm, name="turned")
    ones = np.ones((4, 3), np.float32)
    with pytest.raises(InvalidArgumentError, match=r"'window'.*out of bounds for shape \(4, 3\)"):
        run(window, {x: ones, n: 2})
    with pytest.raises(InvalidArgumentError, match=r"'turned'.*\[1, 1\] is not a permutation"):
        run(turned, {x: ones, perm: [1, 1]})
    with pytest.raises(InvalidArgumentError, match="'window'.*must be >= 0"):
        run(window, {x: ones, n: -1})
    np.testing.assert_array_equal(run(cr.invert_permutation([2, 0, 1])), [1, 2, 0])
