"""chainrule.losses against PyTorch: values, gradients, weights and reductions."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from chainrule.errors import InvalidArgumentError, ShapeError
from chainrule.losses import Reduction
from oracle import ANY_SHAPE_UNKNOWN, RANK_KNOWN, check_op


def _t(a):
    return torch.tensor(a)


def test_mean_squared_error_matches_torch(rng):
    labels = rng.standard_normal((5, 3))
    check_op(
        lambda p: cr.losses.mean_squared_error(labels, p),
        lambda p: F.mse_loss(p, _t(labels)),
        [rng.standard_normal((5, 3))],
        second_order=True,
    )


def test_absolute_difference_and_huber_match_torch(rng):
    labels = rng.standard_normal((4, 3)) * 2
    predictions = labels + rng.choice([-1, 1], size=(4, 3)) * rng.uniform(0.1, 3, (4, 3))
    check_op(
        lambda p: cr.losses.absolute_difference(labels, p),
        lambda p: F.l1_loss(p, _t(labels)),
        [predictions],
    )
    check_op(
        lambda p: cr.losses.huber_loss(labels, p, delta=1.5),
        lambda p: F.huber_loss(p, _t(labels), delta=1.5),
        [predictions],
    )


def test_log_loss_matches_torch(rng):
    labels = rng.integers(0, 2, size=(6, 1)).astype(np.float64)
    eps = 1e-7

    def torch_log_loss(p):
        z = _t(labels)
        return (-(z * torch.log(p + eps)) - (1 - z) * torch.log(1 - p + eps)).mean()

    check_op(
        lambda p: cr.losses.log_loss(labels, p),
        torch_log_loss,
        [rng.uniform(0.05, 0.95, (6, 1))],
        second_order=True,
    )


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_softmax_cross_entropy_matches_torch(smoothing, rng):
    classes = rng.integers(0, 4, size=5)
    onehot = np.eye(4)[classes]
    check_op(
        lambda x: cr.losses.softmax_cross_entropy(onehot, x, label_smoothing=smoothing),
        lambda x: F.cross_entropy(x, _t(classes), label_smoothing=smoothing),
        [rng.standard_normal((5, 4)) * 2],
        second_order=True,
        unknown_shapes=RANK_KNOWN if smoothing else ANY_SHAPE_UNKNOWN,
    )


def test_sparse_softmax_cross_entropy_matches_torch(rng):
    labels = rng.integers(0, 3, size=7)
    check_op(
        lambda x: cr.losses.sparse_softmax_cross_entropy(labels, x),
        lambda x: F.cross_entropy(x, _t(labels)),
        [rng.standard_normal((7, 3))],
        second_order=True,
    )


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_sigmoid_cross_entropy_matches_torch(smoothing, rng):
    labels = rng.integers(0, 2, size=(4, 3)).astype(np.float64)
    smoothed = labels * (1 - smoothing) + 0.5 * smoothing
    check_op(
        lambda x: cr.losses.sigmoid_cross_entropy(labels, x, label_smoothing=smoothing),
        lambda x: F.binary_cross_entropy_with_logits(x, _t(smoothed)),
        [rng.standard_normal((4, 3)) * 3],
        second_order=True,
    )


def test_softmax_cross_entropy_is_stable_at_1e4():
    logits = cr.constant([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    loss = cr.losses.softmax_cross_entropy([[0, 1, 0], [0, 0, 1]], logits)
    (grad,) = cr.gradients(loss, [logits])
    value, g = cr.Session().run([loss, grad])
    assert value == pytest.approx((2e4 + np.log(2)) / 2, rel=1e-6)
    np.testing.assert_allclose(g, [[0.5, -0.5, 0], [0, 0.25, -0.25]], atol=1e-6)


# -- weights and reductions ------------------------------------------------------------------------
LOSSES = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
WEIGHTS = np.array([[0.0], [2.0]])


@pytest.mark.parametrize(
    "reduction,expected",
    [
        (Reduction.NONE, LOSSES * WEIGHTS),
        (Reduction.SUM, 30.0),
        (Reduction.MEAN, 30.0 / 6.0),
        (Reduction.SUM_OVER_BATCH_SIZE, 30.0 / 6.0),
        (Reduction.SUM_BY_NONZERO_WEIGHTS, 30.0 / 3.0),
    ],
)
def test_reductions_with_tensor_weights(reduction, expected):
    loss = cr.losses.compute_weighted_loss(LOSSES, weights=WEIGHTS, reduction=reduction)
    np.testing.assert_allclose(cr.Session().run(loss), expected)


@pytest.mark.parametrize(
    "reduction,expected",
    [
        (Reduction.NONE, LOSSES * 3),
        (Reduction.SUM, 63.0),
        (Reduction.MEAN, 3.5),
        (Reduction.SUM_OVER_BATCH_SIZE, 10.5),
        (Reduction.SUM_BY_NONZERO_WEIGHTS, 10.5),
    ],
)
def test_reductions_with_a_number_weight(reduction, expected):
    loss = cr.losses.compute_weighted_loss(LOSSES, weights=3.0, reduction=reduction)
    np.testing.assert_allclose(cr.Session().run(loss), expected)


def test_default_reduction_is_the_mean_and_weighted_mse_matches_numpy(rng):
    labels = rng.standard_normal((4, 2))
    predictions = rng.standard_normal((4, 2))
    weights = np.array([[1.0], [0.0], [3.0], [0.5]])
    plain = cr.losses.mean_squared_error(labels, predictions)
    weighted = cr.losses.mean_squared_error(labels, predictions, weights=weights)
    squared = (predictions - labels) ** 2
    v_plain, v_weighted = cr.Session().run([plain, weighted])
    assert v_plain == pytest.approx(squared.mean())
    assert v_weighted == pytest.approx((squared * weights).sum() / 6.0)


def test_all_zero_weights_give_zero_loss_and_finite_gradients():
    p = cr.placeholder(cr.float64, [3])
    for reduction in (Reduction.MEAN, Reduction.SUM_BY_NONZERO_WEIGHTS):
        loss = cr.losses.mean_squared_error(
            [1.0, 2.0, 3.0], p, weights=np.zeros(3), reduction=reduction
        )
        (grad,) = cr.gradients(loss, [p])
        value, g = cr.Session().run([loss, grad], {p: np.zeros(3)})
        assert value == 0.0
        np.testing.assert_array_equal(g, np.zeros(3))


def test_losses_are_collected_and_summed():
    a = cr.losses.mean_squared_error([1.0], cr.constant([3.0]))
    b = cr.losses.absolute_difference([1.0], cr.constant([3.0]))
    assert cr.losses.get_losses() == [a, b]
    assert cr.Session().run(cr.losses.get_total_loss()) == pytest.approx(6.0)
    c = cr.losses.mean_squared_error([1.0], cr.constant([2.0]), loss_collection=None)
    assert c not in cr.losses.get_losses()


def test_loss_argument_errors():
    with pytest.raises(ShapeError, match="labels and predictions"):
        cr.losses.mean_squared_error(cr.zeros([2, 3]), cr.zeros([3, 2]))
    with pytest.raises(ShapeError, match="weights"):
        cr.losses.compute_weighted_loss(cr.zeros([3]), weights=cr.ones([2, 3]))
    with pytest.raises(InvalidArgumentError, match="invalid reduction"):
        cr.losses.compute_weighted_loss(cr.zeros([3]), reduction="average")


def test_integer_labels_are_cast_to_the_predictions_dtype():
    loss = cr.losses.mean_squared_error(cr.constant([1, 0]), cr.constant([0.5, 0.5]))
    assert loss.dtype == cr.float32
    assert cr.Session().run(loss) == pytest.approx(0.25)
