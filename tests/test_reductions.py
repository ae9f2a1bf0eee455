"""Reductions: every axis form, keepdims and the TF1 aliases, against PyTorch and finite
differences, with static shapes and with shapes known only at run time."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.errors import DTypeError, InvalidArgumentError, ShapeError
from oracle import HiddenShape, check_op, run


def torch_dims(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, list | tuple) else [axis]
    return tuple(sorted(a % ndim for a in axes))


def torch_prod(t, dims, keepdim):
    for d in sorted(dims, reverse=True):
        t = t.prod(dim=d, keepdim=True)
    return t if keepdim else t.squeeze(dims)


REDUCTIONS = {
    "sum": (cr.reduce_sum, lambda t, d, k: t.sum(dim=d, keepdim=k)),
    "mean": (cr.reduce_mean, lambda t, d, k: t.mean(dim=d, keepdim=k)),
    "max": (cr.reduce_max, lambda t, d, k: torch.amax(t, dim=d, keepdim=k)),
    "min": (cr.reduce_min, lambda t, d, k: torch.amin(t, dim=d, keepdim=k)),
    "prod": (cr.reduce_prod, torch_prod),
    "logsumexp": (cr.reduce_logsumexp, lambda t, d, k: torch.logsumexp(t, dim=d, keepdim=k)),
}
AXES = [None, 0, 1, -1, [0, 2], (-1, 0), [1]]
HIDDEN = {"static": "keep", "unknown_rank": None, "unknown_dims": (None, 3, None)}


def reduction_input(rng, name, shape=(2, 3, 4)):
    if name == "prod":  # no zeros, moderate magnitudes
        return rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return rng.standard_normal(shape)


@pytest.mark.parametrize("hidden", list(HIDDEN))
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_reduction_matches_torch(name, axis, keepdims, hidden, rng):
    cr_reduce, torch_reduce = REDUCTIONS[name]
    shape = HIDDEN[hidden]

    def cr_fn(x):
        if shape != "keep":
            x = HiddenShape(x, shape)
        return cr.square(cr_reduce(x, axis=axis, keepdims=keepdims))

    def torch_fn(t):
        return torch_reduce(t, torch_dims(axis, 3), keepdims) ** 2

    check_op(cr_fn, torch_fn, [reduction_input(rng, name)], second_order=True)


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_static_shapes_of_reductions(name):
    reduce = REDUCTIONS[name][0]
    x = cr.placeholder(cr.float32, shape=[2, None, 4])
    assert reduce(x).shape == ()
    assert reduce(x, axis=1).shape == (2, 4)
    assert reduce(x, axis=-1, keepdims=True).shape == (2, None, 1)
    assert reduce(x, axis=[0, -1]).shape == (None,)
    assert reduce(x, axis=[]).shape == (2, None, 4)
    assert reduce(x).dtype == cr.float32
    assert reduce(cr.placeholder(cr.float32), axis=1).shape is None
    with pytest.raises(ShapeError, match="axis 3 is out of range for rank 3"):
        reduce(x, axis=3)


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_tf1_aliases_reduction_indices_and_keep_dims(name, rng):
    reduce = REDUCTIONS[name][0]
    value = reduction_input(rng, name)
    x = cr.constant(value)
    by_alias = reduce(x, reduction_indices=[1], keep_dims=True)
    by_name = reduce(x, axis=[1], keepdims=True)
    assert by_alias.shape == (2, 1, 4)
    np.testing.assert_allclose(run(by_alias), run(by_name), rtol=1e-12)
    with pytest.raises(InvalidArgumentError, match="either axis or reduction_indices"):
        reduce(x, axis=0, reduction_indices=0)
    with pytest.raises(InvalidArgumentError, match="disagree"):
        reduce(x, keepdims=True, keep_dims=False)


def test_empty_axis_list_reduces_nothing(rng):
    value = rng.standard_normal((2, 3))
    x = cr.constant(value)
    np.testing.assert_allclose(run(cr.reduce_sum(x, axis=[])), value)
    np.testing.assert_allclose(run(cr.gradients(cr.reduce_max(x, axis=[]), x)[0]), np.ones((2, 3)))


def test_axis_given_as_numpy_values_or_constant_node(rng):
    value = rng.standard_normal((2, 3))
    x = cr.constant(value)
    for axis in (np.int64(1), np.array([1]), cr.constant([1])):
        np.testing.assert_allclose(run(cr.reduce_sum(x, axis=axis)), value.sum(axis=1))
    with pytest.raises(InvalidArgumentError, match="axis must be known"):
        cr.reduce_sum(x, axis=cr.placeholder(cr.int32))
    with pytest.raises(InvalidArgumentError, match="integers"):
        cr.reduce_sum(x, axis=1.0)


@pytest.mark.parametrize("name", list(REDUCTIONS))
def test_gradient_with_shapes_fed_at_run_time(name, rng):
    """One graph, fed inputs of different ranks and sizes; gradients take each input's shape."""
    cr_reduce, torch_reduce = REDUCTIONS[name]
    x = cr.placeholder(cr.float64, shape=None)
    y = cr_reduce(x, axis=-1)
    loss = cr.reduce_sum(y * y)
    (g,) = cr.gradients(loss, [x])
    assert g is not None
    with cr.Session() as s:
        for shape in [(2, 3), (4, 2, 5), (3,)]:
            value = reduction_input(rng, name, shape)
            t = torch.tensor(value, requires_grad=True)
            (torch_reduce(t, (len(shape) - 1,), False) ** 2).sum().backward()
            got = s.run(g, {x: value})
            assert got.shape == shape
            np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-10)


def test_mean_gradient_counts_elements_at_run_time():
    x = cr.placeholder(cr.float64, shape=[None, 2])
    (g,) = cr.gradients(cr.reduce_mean(x, axis=0), [x])
    np.testing.assert_allclose(run(g, {x: np.ones((4, 2))}), np.full((4, 2), 0.25))
    np.testing.assert_allclose(run(g, {x: np.ones((5, 2))}), np.full((5, 2), 0.2))


# -- max and min ---------------------------------------------------------------------------
def test_max_and_min_split_the_gradient_among_ties():
    value = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x = cr.constant(value)
    expected = [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]
    np.testing.assert_allclose(run(cr.gradients(cr.reduce_max(x, axis=1), x)[0]), expected)
    min_grad = run(cr.gradients(cr.reduce_min(-x, axis=1), x)[0])
    np.testing.assert_allclose(min_grad, -np.array(expected))
    full = run(cr.gradients(cr.reduce_max(x), x)[0])
    np.testing.assert_allclose(full, [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]])
    t = torch.tensor(value, requires_grad=True)
    torch.amax(t, dim=1).sum().backward()
    np.testing.assert_allclose(run(cr.gradients(cr.reduce_max(x, axis=1), x)[0]), t.grad.numpy())


def test_max_of_integers_keeps_dtype():
    x = cr.constant(np.array([[1, 5], [7, 2]], np.int32))
    y = cr.reduce_max(x, axis=0)
    assert y.dtype == cr.int32
    np.testing.assert_array_equal(run(y), [7, 5])


# -- prod ----------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [None, 0, 1, [0, 1]], ids=str)
def test_prod_gradient_is_right_with_zeros(axis):
    value = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 5.0], [1.5, -2.0, 0.5], [0.0, 4.0, 0.0]])
    check_op(
        lambda x: cr.reduce_prod(x, axis=axis),
        lambda t: torch_prod(t, torch_dims(axis, 2), False),
        [value],
    )


def test_prod_of_integers_keeps_dtype():
    x = cr.constant(np.array([2, 3, 4], np.int32))
    y = cr.reduce_prod(x)
    assert y.dtype == cr.int32
    assert run(y) == 24 and run(y).dtype == np.int32


# -- logsumexp -----------------------------------------------------------------------------
def test_logsumexp_is_stable():
    x = cr.constant(np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [-np.inf, -np.inf]]))
    value = run(cr.reduce_logsumexp(x, axis=1))
    np.testing.assert_allclose(value[:2], [1000.0 + np.log(2.0), -1000.0 + np.log(2.0)])
    assert value[2] == -np.inf
    grad = run(cr.gradients(cr.reduce_logsumexp(x[:2], axis=1), x)[0])
    np.testing.assert_allclose(grad[:2], np.full((2, 2), 0.5))
    big = cr.constant(np.array([1e4, 0.0], np.float32))
    assert run(cr.reduce_logsumexp(big)) == np.float32(1e4)


def test_logsumexp_needs_floats():
    with pytest.raises(DTypeError, match="floating"):
        cr.reduce_logsumexp(cr.constant([1, 2]))


# -- integer sum and mean ------------------------------------------------------------------
def test_integer_sum_and_mean_keep_the_input_dtype():
    x = cr.constant(np.array([[-3, 0], [4, 5]], np.int32))
    total, mean = cr.reduce_sum(x, axis=0), cr.reduce_mean(x, axis=0)
    assert total.dtype == cr.int32 and mean.dtype == cr.int32
    total_value, mean_value = run([total, mean])
    assert total_value.dtype == np.int32 and mean_value.dtype == np.int32
    np.testing.assert_array_equal(total_value, [1, 5])
    np.testing.assert_array_equal(mean_value, [0, 2])  # -1/2 and 5/2 truncate toward zero
    assert run(cr.reduce_mean(cr.constant(np.array([-3, 0], np.int32)))) == -1


def test_arithmetic_reductions_refuse_bools():
    with pytest.raises(DTypeError, match="numeric"):
        cr.reduce_sum(cr.constant([True, False]))


# -- any and all ---------------------------------------------------------------------------
def test_reduce_any_and_all():
    value = np.array([[True, False], [True, True]])
    x = cr.constant(value)
    np.testing.assert_array_equal(run(cr.reduce_any(x, axis=1)), [True, True])
    np.testing.assert_array_equal(run(cr.reduce_all(x, axis=1)), [False, True])
    np.testing.assert_array_equal(run(cr.reduce_all(x, axis=0, keepdims=True)), [[True, False]])
    assert run(cr.reduce_any(x)) and not run(cr.reduce_all(x))
    assert cr.reduce_all(x).dtype == cr.bool
    with pytest.raises(DTypeError, match="bool"):
        cr.reduce_any(cr.constant([1.0]))


# -- argmax and argmin ---------------------------------------------------------------------
def test_argmax_argmin_follow_tf1_signature(rng):
    value = rng.standard_normal((3, 4, 5))
    x = cr.constant(value)
    assert cr.argmax(x).shape == (4, 5)  # axis 0 by default, as TF1
    np.testing.assert_array_equal(run(cr.argmax(x)), value.argmax(0))
    for axis in (0, 1, 2, -1, -3):
        np.testing.assert_array_equal(run(cr.argmax(x, axis)), value.argmax(axis))
        np.testing.assert_array_equal(run(cr.argmin(x, axis=axis)), value.argmin(axis))
    np.testing.assert_array_equal(run(cr.argmax(x, dimension=2)), value.argmax(2))
    np.testing.assert_array_equal(run(cr.argmin(x, None, None, 1)), value.argmin(1))
    assert cr.argmax(x, 1).dtype == cr.int64 and run(cr.argmax(x, 1)).dtype == np.int64
    as32 = cr.argmin(x, 1, output_type=cr.int32)
    assert as32.dtype == cr.int32 and run(as32).dtype == np.int32
    assert cr.argmax(x, 1, name="best").name == "best:0"


def test_argmax_errors():
    x = cr.constant(np.ones((2, 3)))
    with pytest.raises(InvalidArgumentError, match="one integer axis"):
        cr.argmax(x, [0, 1])
    with pytest.raises(InvalidArgumentError, match="either axis or dimension"):
        cr.argmax(x, 0, dimension=1)
    with pytest.raises(DTypeError, match="int32 or int64"):
        cr.argmax(x, 0, output_type=cr.float32)
    with pytest.raises(ShapeError, match="out of range"):
        cr.argmin(x, 2)
    with pytest.raises(ShapeError, match="rank >= 1"):
        cr.argmax(cr.constant(1.0))


def test_argmax_with_unknown_shape_and_ties():
    x = cr.placeholder(cr.float32)
    assert cr.argmax(x, 1).shape is None
    np.testing.assert_array_equal(run(cr.argmax(x, 1), {x: [[1, 3, 3], [2, 2, 0]]}), [1, 0])


def test_reductions_without_gradient_give_none():
    x = cr.placeholder(cr.float64, shape=[2, 3])
    flags = cr.reduce_any(x > 0.0, axis=1)
    assert cr.gradients(cr.reduce_sum(cr.cast(flags, cr.float64)), [x]) == [None]
    assert cr.gradients(cr.reduce_sum(cr.cast(cr.argmax(x, 1), cr.float64)), [x]) == [None]


def test_second_derivative_of_max_of_a_nonlinear_function(rng):
    value = rng.standard_normal((3, 4))
    check_op(
        lambda x: cr.reduce_max(cr.sin(x) * x, axis=1),
        lambda t: torch.amax(torch.sin(t) * t, dim=1),
        [value],
        second_order=True,
    )
