"""Broadcasting: every binary op's gradient is summed back to each input's shape (statically
and at run time), with second derivatives, and incompatible shapes fail where they are built."""

import inspect

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.errors import ShapeError
from oracle import BINARY_OPS, HiddenShape, away_from_zero, check_op, normal, positive, run

BINARY = BINARY_OPS + [
    ("operator_add", lambda a, b: a + b, lambda a, b: a + b, normal, normal),
    ("operator_rsub", lambda a, b: b.__rsub__(a), lambda a, b: a - b, normal, normal),
    ("operator_truediv", lambda a, b: a / b, lambda a, b: a / b, normal, away_from_zero),
    ("operator_pow", lambda a, b: a**b, lambda a, b: a**b, positive, normal),
]
SHAPES = [
    ("column_row", (3, 1), (1, 4)),
    ("tensor_vector", (2, 3, 4), (4,)),
    ("vector_tensor", (4,), (2, 3, 4)),
    ("scalar_matrix", (), (3, 4)),
    ("matrix_scalar", (3, 4), ()),
]


@pytest.mark.parametrize("x_shape, y_shape", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
@pytest.mark.parametrize(
    "name, cr_fn, torch_fn, make_x, make_y", BINARY, ids=[b[0] for b in BINARY]
)
def test_binary_op_broadcasts_with_second_derivatives(
    name, cr_fn, torch_fn, make_x, make_y, x_shape, y_shape, rng
):
    x, y = make_x(rng, x_shape), make_y(rng, y_shape)
    check_op(cr_fn, torch_fn, [x, y])
    check_op(
        lambda a, b: cr.square(cr_fn(a, b)) * b,
        lambda a, b: torch_fn(a, b) ** 2 * b,
        [x, y],
        second_order=True,
    )


@pytest.mark.parametrize("x_shape, y_shape", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
@pytest.mark.parametrize(
    "name, cr_fn, torch_fn, make_x, make_y", BINARY[:9], ids=[b[0] for b in BINARY[:9]]
)
def test_binary_op_broadcasts_when_shapes_are_known_only_at_run_time(
    name, cr_fn, torch_fn, make_x, make_y, x_shape, y_shape, rng
):
    x, y = make_x(rng, x_shape), make_y(rng, y_shape)
    check_op(
        lambda a, b: cr.square(cr_fn(HiddenShape(a), HiddenShape(b, (None,) * len(y_shape)))),
        lambda a, b: torch_fn(a, b) ** 2,
        [x, y],
        second_order=True,
    )


def test_one_graph_fed_with_different_broadcasts(rng):
    x = cr.placeholder(cr.float64)
    b = cr.placeholder(cr.float64, shape=[None])
    gx, gb = cr.gradients(cr.reduce_sum(cr.square(x * b)), [x, b])
    with cr.Session() as s:
        for x_shape, b_shape in [((2, 3), (3,)), ((4, 1), (5,)), ((), (2,)), ((2, 1, 1), (1,))]:
            x_value, b_value = normal(rng, x_shape), normal(rng, b_shape)
            tx = torch.tensor(x_value, requires_grad=True)
            tb = torch.tensor(b_value, requires_grad=True)
            ((tx * tb) ** 2).sum().backward()
            gx_value, gb_value = s.run([gx, gb], {x: x_value, b: b_value})
            assert np.shape(gx_value) == x_shape and np.shape(gb_value) == b_shape
            np.testing.assert_allclose(gx_value, tx.grad.numpy(), rtol=1e-12)
            np.testing.assert_allclose(gb_value, tb.grad.numpy(), rtol=1e-12)


def test_where_broadcasts_condition_and_branches(rng):
    condition = rng.standard_normal((3, 1)) > 0
    check_op(
        lambda a, b: cr.square(cr.where(condition, a, b)),
        lambda a, b: torch.where(torch.tensor(condition), a, b) ** 2,
        [normal(rng, (1, 4)), normal(rng, ())],
        second_order=True,
    )


def test_clip_by_value_broadcasts_its_bounds(rng):
    check_op(
        lambda t, lo, hi: cr.square(cr.clip_by_value(t, lo, hi)),
        lambda t, lo, hi: torch.clamp(t, lo, hi) ** 2,
        [
            rng.uniform(-2.0, 2.0, size=(3, 4)),
            rng.uniform(-1.0, -0.1, size=(4,)),
            rng.uniform(0.1, 1.0, size=(3, 1)),
        ],
        second_order=True,
    )


def test_comparisons_broadcast(rng):
    a, b = normal(rng, (3, 1)), normal(rng, (1, 4))
    node = cr.constant(a) < cr.constant(b)
    assert node.shape == (3, 4) and node.dtype == cr.bool
    np.testing.assert_array_equal(run(node), a < b)


def test_static_broadcast_shapes():
    a = cr.placeholder(cr.float32, shape=[None, 1, 4])
    b = cr.placeholder(cr.float32, shape=[3, 1])
    assert (a + b).shape == (None, 3, 4)
    assert (a * cr.placeholder(cr.float32)).shape is None
    assert (a - 1.0).shape == (None, 1, 4)


def test_add_shape_error_names_op_node_line_and_both_shapes():
    x = cr.constant(np.ones(3, np.float32), name="x")
    y = cr.constant(np.ones(4, np.float32), name="y")
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(ShapeError) as caught:
        cr.add(x, y)
    assert str(caught.value) == (
        f"Add 'Add' (test_broadcasting.py:{line}): shapes (3,) and (4,) cannot be broadcast together"
    )
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(ShapeError, match=rf"^Add 'Add_1' \(test_broadcasting.py:{line}\)"):
        x + y


def test_shape_error_quotes_the_shapes_as_written():
    with pytest.raises(ShapeError, match=r"shapes \(2, 3\) and \(4,\) cannot"):
        cr.constant(np.ones((2, 3))) * cr.constant(np.ones(4))
    with pytest.raises(ShapeError, match=r"shapes \(2,\) and \(2, 1\) and \(3,\) cannot"):
        cr.where(cr.constant([True, False]), cr.constant(np.ones((2, 1))), cr.constant(np.ones(3)))
