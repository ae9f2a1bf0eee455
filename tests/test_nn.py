"""chainrule.nn against PyTorch: values, gradients, finite differences, second order, stability."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from chainrule.errors import DTypeError, InvalidArgumentError, ShapeError
from oracle import RANK_KNOWN, check_op


def _away_from(x, points, gap=0.05):
    """Nudge values away from kinks (0, 6) so finite differences stay on one side."""
    for p in points:
        close = np.abs(x - p) < gap
        x = np.where(close, p + np.sign(x - p + 1e-12) * gap * 2, x)
    return x


# -- activations -------------------------------------------------------------------------------
SMOOTH_ACTIVATIONS = [
    ("softplus", cr.nn.softplus, F.softplus),
    ("elu", cr.nn.elu, F.elu),
    ("sigmoid", cr.nn.sigmoid, torch.sigmoid),
    ("tanh", cr.nn.tanh, torch.tanh),
]

PIECEWISE_ACTIVATIONS = [
    ("relu", cr.nn.relu, F.relu),
    ("relu6", cr.nn.relu6, F.relu6),
    # TF1 keeps leaky_relu's alpha as a float32 attribute, also for float64 inputs
    ("leaky_relu", cr.nn.leaky_relu, lambda x: F.leaky_relu(x, float(np.float32(0.2)))),
    (
        "leaky_relu_0.01",
        lambda x: cr.nn.leaky_relu(x, alpha=0.01),
        lambda x: F.leaky_relu(x, float(np.float32(0.01))),
    ),
]


@pytest.mark.parametrize("name,cr_fn,torch_fn", SMOOTH_ACTIVATIONS)
def test_smooth_activations_match_torch(name, cr_fn, torch_fn, rng):
    x = _away_from(rng.uniform(-4, 4, size=(3, 4)), [0.0])
    check_op(cr_fn, torch_fn, [x], second_order=True)


@pytest.mark.parametrize("name,cr_fn,torch_fn", PIECEWISE_ACTIVATIONS)
def test_piecewise_activations_match_torch(name, cr_fn, torch_fn, rng):
    x = _away_from(rng.uniform(-8, 8, size=(4, 5)), [0.0, 6.0])
    check_op(cr_fn, torch_fn, [x], second_order=True)


def test_relu_values_and_gradient_at_known_points():
    x = cr.constant([-2.0, -0.5, 0.5, 3.0, 7.0])
    relu, relu6, leaky = cr.nn.relu(x), cr.nn.relu6(x), cr.nn.leaky_relu(x)
    grads = cr.gradients([relu, relu6, leaky], x)
    with cr.Session() as s:
        r, r6, lk, g = s.run([relu, relu6, leaky, grads[0]])
    np.testing.assert_allclose(r, [0, 0, 0.5, 3, 7])
    np.testing.assert_allclose(r6, [0, 0, 0.5, 3, 6])
    np.testing.assert_allclose(lk, [-0.4, -0.1, 0.5, 3, 7], rtol=1e-6)
    np.testing.assert_allclose(g, [0.2, 0.2, 3, 3, 2])


def test_relu_keeps_integer_dtype():
    y = cr.relu(cr.constant([-3, 2], dtype=cr.int32))
    assert y.dtype == cr.int32
    np.testing.assert_array_equal(cr.Session().run(y), [0, 2])


def test_elu_gradient_of_gradient_uses_the_output(rng):
    x = rng.uniform(-3, -0.1, size=(6,))
    check_op(cr.nn.elu, F.elu, [x], second_order=True)


# -- softmax / log-softmax -------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_match_torch(axis, rng):
    x = rng.standard_normal((3, 4))
    check_op(
        lambda t: cr.nn.softmax(t, axis=axis),
        lambda t: F.softmax(t, dim=axis),
        [x],
        second_order=True,
    )
    check_op(
        lambda t: cr.nn.log_softmax(t, axis=axis),
        lambda t: F.log_softmax(t, dim=axis),
        [x],
        second_order=True,
    )


def test_softmax_accepts_tf1_dim_and_rank_3(rng):
    x = rng.standard_normal((2, 3, 4))
    check_op(lambda t: cr.nn.log_softmax(t, dim=1), lambda t: F.log_softmax(t, dim=1), [x])


def test_softmax_refuses_integers_and_bad_axes():
    with pytest.raises(DTypeError):
        cr.nn.softmax(cr.constant([1, 2]))
    with pytest.raises(ShapeError):
        cr.nn.log_softmax(cr.constant([[1.0, 2.0]]), axis=2)


# -- cross-entropies ------------------------------------------------------------------------------
def _dense_xent_torch(labels, logits, dim=-1):
    return -(labels * F.log_softmax(logits, dim=dim)).sum(dim)


@pytest.mark.parametrize("normalized", [True, False])
def test_softmax_cross_entropy_v2_matches_torch_for_labels_and_logits(normalized, rng):
    labels = rng.dirichlet(np.ones(5), size=4) if normalized else rng.uniform(0, 1, (4, 5))
    logits = rng.standard_normal((4, 5)) * 3
    check_op(
        lambda y, x: cr.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=x),
        _dense_xent_torch,
        [labels, logits],
        second_order=True,
    )


def test_softmax_cross_entropy_along_axis_0(rng):
    labels = rng.dirichlet(np.ones(3), size=4).T
    logits = rng.standard_normal((3, 4))
    check_op(
        lambda y, x: cr.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=x, axis=0),
        lambda y, x: _dense_xent_torch(y, x, dim=0),
        [labels, logits],
        second_order=True,
    )


def test_softmax_cross_entropy_matches_torch_cross_entropy(rng):
    labels = np.eye(4)[rng.integers(0, 4, size=6)]
    logits = rng.standard_normal((6, 4))
    check_op(
        lambda x: cr.nn.softmax_cross_entropy_with_logits(labels=labels, logits=x),
        lambda x: F.cross_entropy(x, torch.tensor(labels), reduction="none"),
        [logits],
        second_order=True,
    )


def test_v1_cross_entropy_sends_no_gradient_to_labels(rng):
    labels = cr.placeholder(cr.float64, [2, 3])
    logits = cr.placeholder(cr.float64, [2, 3])
    v1 = cr.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    v2 = cr.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
    assert cr.gradients(v1, [labels])[0] is None
    assert cr.gradients(v2, [labels])[0] is not None


def test_cross_entropy_gradient_is_one_fused_op(rng):
    labels = rng.dirichlet(np.ones(3), size=2)
    logits_value = rng.standard_normal((2, 3))
    logits = cr.placeholder(cr.float64, [2, 3])
    loss = cr.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
    upstream = np.array([0.5, -2.0])
    (grad,) = cr.gradients(loss, [logits], grad_ys=upstream)
    assert grad.op.type == "SoftmaxCrossEntropyWithLogitsGrad"
    value = cr.Session().run(grad, {logits: logits_value})
    e = np.exp(logits_value - logits_value.max(1, keepdims=True))
    softmax = e / e.sum(1, keepdims=True)
    np.testing.assert_allclose(value, (softmax - labels) * upstream[:, None], rtol=1e-12)


def test_sparse_softmax_cross_entropy_matches_torch(rng):
    labels = rng.integers(0, 5, size=(4,))
    logits = rng.standard_normal((4, 5)) * 2
    check_op(
        lambda x: cr.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=x),
        lambda x: F.cross_entropy(x, torch.tensor(labels), reduction="none"),
        [logits],
        second_order=True,
    )


def test_sparse_cross_entropy_on_rank_3_logits(rng):
    labels = rng.integers(0, 3, size=(2, 4))
    logits = rng.standard_normal((2, 4, 3))
    check_op(
        lambda x: cr.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=x),
        lambda x: F.cross_entropy(x.permute(0, 2, 1), torch.tensor(labels), reduction="none"),
        [logits],
        second_order=True,
    )


def test_sparse_cross_entropy_gradient_is_fused_and_labels_get_none():
    labels = cr.placeholder(cr.int32, [3])
    logits = cr.placeholder(cr.float32, [3, 4])
    loss = cr.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    g_labels, g_logits = cr.gradients(loss, [labels, logits])
    assert g_labels is None
    assert g_logits.op.type == "SparseSoftmaxCrossEntropyWithLogitsGrad"


def test_sparse_cross_entropy_rejects_out_of_range_labels():
    logits = cr.constant([[1.0, 2.0, 3.0]])
    loss = cr.nn.sparse_softmax_cross_entropy_with_logits(labels=[3], logits=logits)
    with pytest.raises(InvalidArgumentError, match=r"label value of 3 .*\[0, 3\)") as info:
        cr.Session().run(loss)
    assert info.value.node is loss.op


def test_sparse_cross_entropy_needs_integer_labels_of_matching_shape():
    logits = cr.constant([[1.0, 2.0, 3.0]])
    with pytest.raises(DTypeError, match="integer"):
        cr.nn.sparse_softmax_cross_entropy_with_logits(labels=[1.0], logits=logits)
    with pytest.raises(ShapeError):
        cr.nn.sparse_softmax_cross_entropy_with_logits(labels=[1, 2], logits=logits)


def test_sigmoid_cross_entropy_matches_torch(rng):
    labels = rng.uniform(0, 1, size=(3, 4))
    logits = rng.standard_normal((3, 4)) * 3
    check_op(
        lambda z, x: cr.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x),
        lambda z, x: F.binary_cross_entropy_with_logits(x, z, reduction="none"),
        [labels, logits],
        second_order=True,
    )


def test_cross_entropies_take_named_arguments_only():
    logits = cr.constant([[1.0, 2.0]])
    labels = cr.constant([[0.0, 1.0]])
    for fn in (
        cr.nn.softmax_cross_entropy_with_logits,
        cr.nn.softmax_cross_entropy_with_logits_v2,
        cr.nn.sigmoid_cross_entropy_with_logits,
    ):
        with pytest.raises(InvalidArgumentError, match="named arguments"):
            fn(labels, logits)
    with pytest.raises(InvalidArgumentError, match="needs logits"):
        cr.nn.softmax_cross_entropy_with_logits_v2(labels=labels)


def test_cross_entropy_shape_mismatch_is_reported_at_construction():
    with pytest.raises(ShapeError, match=r"labels and logits .* \(2, 3\) and \(2, 4\)"):
        cr.nn.softmax_cross_entropy_with_logits_v2(labels=cr.zeros([2, 3]), logits=cr.zeros([2, 4]))


# -- stability at +-1e4 ------------------------------------------------------------------------------
BIG = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4], [-1e4, 5.0, -3.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_is_finite_and_exact_at_1e4(dtype):
    x_value = BIG.astype(dtype)
    labels = np.eye(3, dtype=dtype)[[1, 0, 2, 0]]
    sparse = np.array([1, 0, 2, 0])
    x = cr.placeholder(dtype, BIG.shape)
    outputs = [
        cr.nn.softmax(x),
        cr.nn.log_softmax(x),
        cr.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=x),
        cr.nn.sparse_softmax_cross_entropy_with_logits(labels=sparse, logits=x),
        cr.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=x),
        cr.nn.softplus(x),
        cr.nn.elu(x),
    ]
    grads = [cr.gradients(cr.reduce_sum(y), [x])[0] for y in outputs]
    values = cr.Session().run(outputs + grads, {x: x_value})
    for v in values:
        assert np.all(np.isfinite(v)), v

    t = torch.tensor(x_value, requires_grad=True)
    t_labels = torch.tensor(labels)
    expected = [
        F.softmax(t, -1),
        F.log_softmax(t, -1),
        F.cross_entropy(t, t_labels, reduction="none"),
        F.cross_entropy(t, torch.tensor(sparse), reduction="none"),
        F.binary_cross_entropy_with_logits(t, t_labels, reduction="none"),
        F.softplus(t),
        F.elu(t),
    ]
    expected_grads = [torch.autograd.grad(e.sum(), t)[0] for e in expected]
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    for got, want in zip(values, expected + expected_grads, strict=True):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=rtol, atol=rtol)


# -- l2_loss, bias_add, moments --------------------------------------------------------------------
def test_l2_loss_matches_torch(rng):
    check_op(
        cr.nn.l2_loss, lambda t: (t**2).sum() / 2, [rng.standard_normal((3, 2))], second_order=True
    )


def test_bias_add_matches_torch(rng):
    check_op(
        cr.nn.bias_add,
        lambda v, b: v + b,
        [rng.standard_normal((2, 3, 4)), rng.standard_normal(4)],
    )
    check_op(
        lambda v, b: cr.nn.bias_add(v, b, data_format="NCHW"),
        lambda v, b: v + b[None, :, None, None],
        [rng.standard_normal((2, 3, 2, 2)), rng.standard_normal(3)],
        unknown_shapes=RANK_KNOWN,
    )


def test_bias_add_checks_the_channel_size():
    with pytest.raises(ShapeError, match="bias of size 3"):
        cr.nn.bias_add(cr.zeros([2, 4]), cr.zeros([3]))


@pytest.mark.parametrize("axes,keep", [([0], False), ([0, 2], True), ([1], False)])
def test_moments_match_torch(axes, keep, rng):
    x = rng.standard_normal((4, 3, 2))
    check_op(
        lambda t: cr.nn.moments(t, axes, keep_dims=keep)[0],
        lambda t: t.mean(dim=axes, keepdim=keep),
        [x],
    )
    check_op(
        lambda t: cr.nn.moments(t, axes, keepdims=keep)[1],
        lambda t: t.var(dim=axes, unbiased=False, keepdim=keep),
        [x],
        second_order=True,
    )


# -- dropout -----------------------------------------------------------------------------------------
def test_dropout_keeps_the_right_fraction_and_scales_kept_units():
    x = cr.ones([100_000])
    y = cr.nn.dropout(x, keep_prob=0.8)
    value = cr.Session().run(y)
    kept = value != 0
    assert abs(kept.mean() - 0.8) < 0.01
    np.testing.assert_allclose(value[kept], 1 / 0.8, rtol=1e-6)
    assert abs(value.mean() - 1.0) < 0.02


def test_dropout_rate_and_gradient_use_the_same_mask():
    x = cr.placeholder(cr.float64, [1000])
    y = cr.nn.dropout(x, rate=0.25)
    (grad,) = cr.gradients(cr.reduce_sum(y), [x])
    x_value = np.linspace(1.0, 2.0, 1000)
    with cr.Session() as s:
        y1, g1 = s.run([y, grad], {x: x_value})
        y2 = s.run(y, {x: x_value})
    np.testing.assert_allclose(g1, y1 / x_value)
    assert set(np.round(np.unique(g1), 6)) == {0.0, round(1 / 0.75, 6)}
    assert not np.array_equal(y1, y2), "each run draws a new mask"


def test_dropout_with_a_fed_keep_prob_of_one_is_the_identity(rng):
    keep = cr.placeholder(cr.float32, [])
    x_value = rng.standard_normal((5, 4)).astype(np.float32)
    y = cr.nn.dropout(cr.constant(x_value), keep_prob=keep)
    np.testing.assert_array_equal(cr.Session().run(y, {keep: 1.0}), x_value)
    assert np.any(cr.Session().run(y, {keep: 0.5}) == 0)


def test_dropout_noise_shape_drops_whole_columns():
    y = cr.nn.dropout(cr.ones([50, 40]), keep_prob=0.5, noise_shape=[1, 40], seed=3)
    value = cr.Session().run(y)
    assert np.all(value == value[0])
    assert 0 < np.count_nonzero(value[0]) < 40


def test_dropout_is_reproducible_with_seeds():
    cr.set_random_seed(7)
    y = cr.nn.dropout(cr.ones([64]), keep_prob=0.5)
    first = cr.Session().run(y)
    np.testing.assert_array_equal(first, cr.Session().run(y))


def test_dropout_argument_errors():
    x = cr.ones([3])
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        cr.nn.dropout(x, keep_prob=0.5, rate=0.5)
    with pytest.raises(InvalidArgumentError, match="keep_prob"):
        cr.nn.dropout(x, keep_prob=0.0)
    with pytest.raises(InvalidArgumentError, match="rate"):
        cr.nn.dropout(x, rate=1.0)
    keep = cr.placeholder(cr.float32, [])
    with pytest.raises(InvalidArgumentError, match="keep_prob must be in"):
        cr.Session().run(cr.nn.dropout(x, keep_prob=keep), {keep: 1.5})


# -- namespaces ------------------------------------------------------------------------------------------
def test_top_level_and_nn_namespaces():
    for name in ("softmax", "relu", "sigmoid", "tanh"):
        assert callable(getattr(cr, name))
    for name in ("relu6", "leaky_relu", "elu", "l2_loss", "dropout", "moments"):
        assert not hasattr(cr, name), name
    for name in cr.nn.__all__:
        assert callable(getattr(cr.nn, name)), name
    assert cr.nn.sigmoid is cr.sigmoid
