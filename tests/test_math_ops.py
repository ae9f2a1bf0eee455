"""Elementwise math: values, gradients and second derivatives against PyTorch and finite
differences; dtype rules; None gradients; operator overloading."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.errors import DTypeError, InvalidArgumentError, ShapeError
from oracle import BINARY_OPS, away_from_zero, check_op, normal, positive


def run(fetches, feed=None):
    with cr.Session() as s:
        return s.run(fetches, feed)


def small(rng, shape):
    return rng.uniform(-1.2, 1.2, size=shape)


UNARY = [
    ("negative", cr.negative, torch.neg, normal),
    ("exp", cr.exp, torch.exp, normal),
    ("log", cr.log, torch.log, positive),
    ("log1p", cr.log1p, torch.log1p, positive),
    ("sqrt", cr.sqrt, torch.sqrt, positive),
    ("rsqrt", cr.rsqrt, torch.rsqrt, positive),
    ("reciprocal", cr.reciprocal, torch.reciprocal, away_from_zero),
    ("square", cr.square, torch.square, normal),
    ("abs", cr.abs, torch.abs, away_from_zero),
    ("sin", cr.sin, torch.sin, normal),
    ("cos", cr.cos, torch.cos, normal),
    ("tan", cr.tan, torch.tan, small),
    ("tanh", cr.tanh, torch.tanh, normal),
    ("sigmoid", cr.sigmoid, torch.sigmoid, normal),
    ("erf", cr.erf, torch.erf, normal),
    ("identity", cr.identity, lambda t: t * 1.0, normal),
]


@pytest.mark.parametrize("name, cr_fn, torch_fn, make", UNARY, ids=[u[0] for u in UNARY])
def test_unary_op_matches_torch_with_second_derivatives(name, cr_fn, torch_fn, make, rng):
    x = make(rng, (3, 4))
    # Squaring the output gives linear ops (negative, abs, identity) a second derivative too.
    check_op(lambda a: cr.square(cr_fn(a)), lambda a: torch_fn(a) ** 2, [x], second_order=True)
    check_op(cr_fn, torch_fn, [x])


@pytest.mark.parametrize(
    "name, cr_fn, torch_fn, make_x, make_y", BINARY_OPS, ids=[b[0] for b in BINARY_OPS]
)
def test_binary_op_matches_torch_with_second_derivatives(
    name, cr_fn, torch_fn, make_x, make_y, rng
):
    x, y = make_x(rng, (3, 4)), make_y(rng, (3, 4))
    check_op(cr_fn, torch_fn, [x, y])
    check_op(
        lambda a, b: cr.square(cr_fn(a, b)) * a,
        lambda a, b: torch_fn(a, b) ** 2 * a,
        [x, y],
        second_order=True,
    )


def test_sign_has_zero_gradient_and_abs_gradient_is_sign(rng):
    x = away_from_zero(rng, (5,))
    check_op(lambda a: cr.sign(a) * a, lambda a: torch.sign(a) * a, [x], second_order=True)
    xs = cr.constant(np.array([-2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(run(cr.gradients(cr.abs(xs), xs)[0]), [-1.0, 0.0, 1.0])


def test_pow_with_negative_base_and_integer_exponent(rng):
    x = away_from_zero(rng, (6,))
    check_op(lambda a: a**3.0, lambda a: a**3.0, [x], second_order=True)


def test_pow_gradient_wrt_exponent_is_finite_at_zero_base():
    x = cr.constant(np.array([0.0, 2.0]))
    y = cr.constant(np.array([2.0, 3.0]))
    dx, dy = run(cr.gradients(cr.pow(x, y), [x, y]))
    np.testing.assert_allclose(dx, [0.0, 12.0])
    np.testing.assert_allclose(dy, [0.0, 8.0 * np.log(2.0)])


def test_maximum_and_minimum_give_ties_to_x_as_tf1():
    x = cr.constant(np.array([1.0, 2.0, 3.0]))
    y = cr.constant(np.array([1.0, 1.0, 4.0]))
    gx, gy = run(cr.gradients(cr.maximum(x, y), [x, y]))
    np.testing.assert_array_equal(gx, [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(gy, [0.0, 0.0, 1.0])
    gx, gy = run(cr.gradients(cr.minimum(x, y), [x, y]))
    np.testing.assert_array_equal(gx, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(gy, [0.0, 1.0, 0.0])


def test_sigmoid_is_stable_for_large_inputs():
    x = cr.constant(np.array([-1000.0, 0.0, 1000.0], np.float32))
    value, grad = run([cr.sigmoid(x), cr.gradients(cr.sigmoid(x), x)[0]])
    np.testing.assert_array_equal(value, [0.0, 0.5, 1.0])
    assert value.dtype == np.float32
    np.testing.assert_array_equal(grad, [0.0, 0.25, 0.0])


def test_where_selects_and_routes_gradients(rng):
    c = rng.standard_normal((3, 4)) > 0
    x, y = normal(rng, (3, 4)), normal(rng, (3, 4))
    check_op(
        lambda a, b: cr.where(c, a * a, b * a),
        lambda a, b: torch.where(torch.tensor(c), a * a, b * a),
        [x, y],
        second_order=True,
    )


def test_where_with_condition_alone_gives_coordinates():
    c = cr.constant(np.array([[True, False], [False, True]]))
    indices = cr.where(c)
    assert indices.dtype == cr.int64 and indices.shape == (None, 2)
    np.testing.assert_array_equal(run(indices), [[0, 0], [1, 1]])
    with pytest.raises(InvalidArgumentError):
        cr.where(c, 1.0)


def test_where_needs_a_bool_condition():
    with pytest.raises(DTypeError, match="bool condition"):
        cr.where(cr.constant([1.0, 0.0]), 1.0, 2.0)


def test_clip_by_value_matches_torch(rng):
    x = rng.uniform(-2, 2, size=(4, 5))
    lo, hi = rng.uniform(-1.5, -0.2, size=(4, 5)), rng.uniform(0.2, 1.5, size=(4, 5))
    check_op(
        lambda t, a, b: cr.square(cr.clip_by_value(t, a, b)),
        lambda t, a, b: torch.clamp(t, a, b) ** 2,
        [x, lo, hi],
        second_order=True,
    )
    check_op(lambda t: cr.clip_by_value(t, -0.5, 0.7), lambda t: torch.clamp(t, -0.5, 0.7), [x])


def test_clip_by_value_refuses_bounds_that_grow_the_tensor():
    with pytest.raises(ShapeError, match="must broadcast"):
        cr.clip_by_value(cr.constant([1.0, 2.0]), cr.constant(np.zeros((3, 2), np.float32)), 1.0)


def test_add_n_sums_and_passes_gradients(rng):
    a, b, c = (normal(rng, (2, 3)) for _ in range(3))
    check_op(
        lambda x, y, z: cr.add_n([x, y * y, z * x]),
        lambda x, y, z: x + y * y + z * x,
        [a, b, c],
        second_order=True,
    )
    single = cr.constant([1.0])
    assert cr.add_n([single]) is single
    with pytest.raises(InvalidArgumentError):
        cr.add_n([])


def test_add_n_broadcasts_later_inputs():
    total = cr.add_n(
        [cr.constant([1.0, 2.0]), cr.constant([1.0, 1.0]), cr.constant(np.ones((2, 2), np.float32))]
    )
    np.testing.assert_array_equal(run(total), [[3.0, 4.0], [3.0, 4.0]])


def test_cast_between_floats_passes_the_gradient_and_to_int_stops_it():
    x = cr.constant(np.array([1.5, -2.5]))
    as32 = cr.cast(x, cr.float32)
    assert as32.dtype == cr.float32
    (g,) = cr.gradients(cr.reduce_sum(as32 * as32), [x])
    assert g.dtype == cr.float64
    np.testing.assert_allclose(run(g), [3.0, -5.0])
    as_int = cr.cast(x, cr.int32)
    np.testing.assert_array_equal(run(as_int), [1, -2])
    assert cr.gradients(cr.reduce_sum(cr.cast(as_int, cr.float64)), [x]) == [None]
    assert cr.cast(x, cr.float64) is x


def test_stop_gradient_blocks_and_identity_passes():
    x = cr.constant(np.array([2.0]))
    assert cr.gradients(cr.stop_gradient(x) * x, [x])[0] is not None
    np.testing.assert_allclose(run(cr.gradients(cr.stop_gradient(x) * x, [x])[0]), [2.0])
    assert cr.gradients(cr.stop_gradient(x * x), [x]) == [None]
    np.testing.assert_allclose(run(cr.gradients(cr.identity(x * x), [x])[0]), [4.0])


# -- None gradients -------------------------------------------------------------------------
NON_DIFFERENTIABLE = [
    ("equal", lambda x: cr.cast(cr.equal(x, 1.0), cr.float64)),
    ("not_equal", lambda x: cr.cast(cr.not_equal(x, 1.0), cr.float64)),
    ("less", lambda x: cr.cast(x < 1.0, cr.float64)),
    ("less_equal", lambda x: cr.cast(x <= 1.0, cr.float64)),
    ("greater", lambda x: cr.cast(x > 1.0, cr.float64)),
    ("greater_equal", lambda x: cr.cast(x >= 1.0, cr.float64)),
    ("logical", lambda x: cr.cast(cr.logical_and(x > 0.0, cr.logical_not(x > 2.0)), cr.float64)),
    ("argmax", lambda x: cr.cast(cr.argmax(x, 0), cr.float64)),
    ("argmin", lambda x: cr.cast(cr.argmin(x, 0), cr.float64)),
    ("cast_to_int", lambda x: cr.cast(cr.cast(x, cr.int32), cr.float64)),
    ("floor", cr.floor),
    ("ceil", cr.ceil),
    ("round", cr.round),
    ("floordiv", lambda x: x // 2.0),
    ("stop_gradient", cr.stop_gradient),
]


@pytest.mark.parametrize("name, fn", NON_DIFFERENTIABLE, ids=[n[0] for n in NON_DIFFERENTIABLE])
def test_non_differentiable_ops_give_none_not_zero(name, fn):
    x = cr.placeholder(cr.float64, shape=[3])
    assert cr.gradients(cr.reduce_sum(fn(x)), [x]) == [None]


def test_gradient_is_none_for_unconnected_inputs():
    x = cr.placeholder(cr.float64, shape=[2])
    z = cr.placeholder(cr.float64, shape=[2])
    y = cr.reduce_sum(x * x)
    gx, gz = cr.gradients(y, [x, z])
    assert gz is None
    np.testing.assert_allclose(run(gx, {x: [1.0, 2.0]}), [2.0, 4.0])


def test_comparisons_and_logic_build_bool_nodes():
    x = cr.constant(np.array([1.0, 2.0, 3.0]))
    checks = {
        x < 2.0: [True, False, False],
        x <= 2.0: [True, True, False],
        x > 2.0: [False, False, True],
        x >= 2.0: [False, True, True],
        cr.equal(x, 2.0): [False, True, False],
        cr.not_equal(x, 2.0): [True, False, True],
        (x > 1.0) & (x < 3.0): [False, True, False],
        (x < 1.5) | (x > 2.5): [True, False, True],
        (x > 1.5) ^ (x > 2.5): [False, True, False],
        ~(x > 1.5): [True, False, False],
    }
    for node, expected in checks.items():
        assert node.dtype == cr.bool
        np.testing.assert_array_equal(run(node), expected)


def test_logical_ops_need_bool_inputs():
    x = cr.constant([1.0, 0.0])
    with pytest.raises(DTypeError, match="bool"):
        cr.logical_and(x, x)
    with pytest.raises(DTypeError, match="bool"):
        cr.logical_not(x)


# -- dtype rules ----------------------------------------------------------------------------
def test_mixing_float32_and_float64_nodes_is_a_dtype_error():
    a = cr.placeholder(cr.float32, shape=[2], name="a32")
    b = cr.placeholder(cr.float64, shape=[2], name="b64")
    for build in (cr.add, cr.multiply, cr.maximum, cr.pow, cr.less, cr.matmul):
        with pytest.raises(DTypeError, match="a32.*float32.*b64.*float64"):
            build(a, b)
    with pytest.raises(DTypeError):
        cr.where(cr.constant([True, False]), a, b)
    with pytest.raises(DTypeError):
        cr.add_n([a, b])


def test_mixing_int_and_float_nodes_is_a_dtype_error():
    with pytest.raises(DTypeError):
        cr.constant([1, 2]) + cr.constant([1.0, 2.0])


def test_python_scalars_are_weak():
    a32 = cr.placeholder(cr.float32, shape=[2])
    a64 = cr.placeholder(cr.float64, shape=[2])
    i32 = cr.constant(np.array([3, 4], np.int32))
    assert (a32 * 2.0).dtype == cr.float32
    assert (2 * a32).dtype == cr.float32
    assert (a64 + 1).dtype == cr.float64
    assert (1.5 - a64).dtype == cr.float64
    assert (i32 + 1).dtype == cr.int32
    assert (a32**2).dtype == cr.float32
    assert cr.add(1.0, 2.0).dtype == cr.float32
    with pytest.raises(DTypeError):
        i32 + 1.5


def test_numpy_values_take_the_node_dtype():
    a32 = cr.placeholder(cr.float32, shape=[3])
    product = np.ones(3) * a32
    assert isinstance(product, cr.Tensor) and product.dtype == cr.float32
    assert (a32 + np.float64(1.0)).dtype == cr.float32
    out = run(np.arange(3.0) - a32, {a32: [1.0, 1.0, 1.0]})
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [-1.0, 0.0, 1.0])


def test_integer_division_follows_tf1():
    a = cr.constant(np.array([7, -7], np.int32))
    b = cr.constant(np.array([2, 2], np.int32))
    assert (a / b).dtype == cr.float64
    np.testing.assert_array_equal(run(a / b), [3.5, -3.5])
    np.testing.assert_array_equal(run(a // b), [3, -4])
    np.testing.assert_array_equal(run(a % b), [1, 1])
    np.testing.assert_array_equal(run(cr.div(a, b)), [3, -4])
    np.testing.assert_array_equal(run(cr.div(cr.constant([7.0]), 2.0)), [3.5])


def test_float_functions_refuse_integers():
    with pytest.raises(DTypeError, match="floating"):
        cr.exp(cr.constant([1, 2]))
    assert cr.square(cr.constant([1, 2])).dtype == cr.int32
    assert cr.abs(cr.constant([-1, 2])).dtype == cr.int32


def test_untyped_placeholders_accept_any_numbers():
    x = cr.placeholder()
    y = x * 2.0 + 1
    assert y.dtype is None
    np.testing.assert_array_equal(run(y, {x: [1, 2]}), [3.0, 5.0])


# -- operator overloading -------------------------------------------------------------------
def test_operators_on_both_sides_match_numpy(rng):
    xv = rng.uniform(0.5, 2.0, size=(3,))
    yv = rng.uniform(0.5, 2.0, size=(3,))
    x, y = cr.constant(xv), cr.constant(yv)
    cases = [
        (x + y, xv + yv),
        (x - 1.0, xv - 1.0),
        (1.0 - x, 1.0 - xv),
        (2.0 * x, 2.0 * xv),
        (x / y, xv / yv),
        (1.0 / x, 1.0 / xv),
        (x // 0.3, xv // 0.3),
        (5.0 // x, 5.0 // xv),
        (x % 0.3, xv % 0.3),
        (5.0 % x, 5.0 % xv),
        (x**2, xv**2),
        (2.0**x, 2.0**xv),
        (x**y, xv**yv),
        (-x, -xv),
        (abs(-x), xv),
        (+x, xv),
        (yv - x, yv - xv),
        (yv / x, yv / xv),
        (yv**x, yv**xv),
        (yv // x, yv // xv),
        (yv % x, yv % xv),
    ]
    for node, expected in cases:
        assert isinstance(node, cr.Tensor)
        np.testing.assert_allclose(run(node), expected, rtol=1e-12)


def test_numpy_array_on_the_left_makes_a_node(rng):
    x = cr.constant(rng.standard_normal((3, 3)))
    a = rng.standard_normal((3, 3))
    for node in (np.ones(3) * x, a + x, a - x, a / x, a @ x, a < x, a**x):
        assert isinstance(node, cr.Tensor), type(node)
    np.testing.assert_allclose(run(a @ x), a @ run(x))
    np.testing.assert_allclose(run(a - x), a - run(x))
    np.testing.assert_array_equal(run(a < x), a < run(x))


def test_matmul_operator(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    node = cr.constant(a) @ cr.constant(b)
    assert node.op.type == "MatMul" and node.shape == (2, 4)
    np.testing.assert_allclose(run(node), a @ b)


def test_double_equals_stays_identity_and_nodes_are_dict_keys():
    x = cr.constant([1.0])
    y = cr.constant([1.0])
    assert (x == x) is True
    assert (x == y) is False
    assert x != y
    table = {x: "x", y: "y"}
    assert table[x] == "x" and table[y] == "y"
    assert x in {x} and y not in {x}


def test_gradients_through_operators(rng):
    x, y = normal(rng, (3,)), away_from_zero(rng, (3,))
    check_op(
        lambda a, b: (2.0 - a) * b / (1.0 + a * a) - b**2 + abs(a) * -b,
        lambda a, b: (2.0 - a) * b / (1.0 + a * a) - b**2 + torch.abs(a) * -b,
        [x, y],
        second_order=True,
    )


def test_builtin_shadowing_names_are_exported_but_not_star_imported():
    import chainrule.ops.math_ops as math_ops

    for name in ("abs", "pow", "round"):
        assert name in math_ops.__all__ and hasattr(cr, name)
    namespace: dict = {}
    exec("from chainrule import *", namespace)
    assert namespace.get("abs") is None or namespace["abs"] is abs
    assert "reduce_sum" in namespace and "matmul" in namespace
