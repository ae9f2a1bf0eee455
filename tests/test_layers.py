"""chainrule.layers and initializers: TF naming, shapes, initial values, training."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.errors import DTypeError, InvalidArgumentError, ShapeError
from oracle import RANK_KNOWN, check_op


# -- initializers ------------------------------------------------------------------------------
def _value(init, shape, dtype=cr.float32):
    return cr.Session().run(init(shape, dtype=dtype))


def test_constant_initializers():
    np.testing.assert_array_equal(_value(cr.zeros_initializer(), (2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(_value(cr.ones_initializer(), [4]), np.ones(4))
    np.testing.assert_array_equal(_value(cr.constant_initializer(0.5), (2,)), [0.5, 0.5])
    grid = _value(cr.constant_initializer([1, 2, 3, 4]), (2, 2), dtype=cr.float64)
    assert grid.dtype == np.float64
    np.testing.assert_array_equal(grid, [[1, 2], [3, 4]])
    with pytest.raises(ShapeError, match="cannot fill"):
        cr.constant_initializer([1, 2, 3])((2, 2))


def test_random_initializer_statistics():
    normal = _value(cr.random_normal_initializer(1.0, 0.5, seed=1), (100_000,))
    assert abs(normal.mean() - 1.0) < 0.01 and abs(normal.std() - 0.5) < 0.01
    uniform = _value(cr.random_uniform_initializer(-2.0, 2.0, seed=2), (100_000,))
    assert uniform.min() >= -2 and uniform.max() < 2 and abs(uniform.mean()) < 0.02
    truncated = _value(cr.truncated_normal_initializer(stddev=0.1, seed=3), (100_000,))
    assert np.abs(truncated).max() <= 0.2


def test_glorot_and_variance_scaling_match_their_formulas():
    fan_in, fan_out = 300, 200
    glorot = _value(cr.glorot_uniform_initializer(seed=1), (fan_in, fan_out))
    limit = np.sqrt(6 / (fan_in + fan_out))
    assert np.abs(glorot).max() <= limit and np.abs(glorot).max() > 0.99 * limit
    assert abs(glorot.std() - limit / np.sqrt(3)) < 0.002

    glorot_normal = _value(cr.glorot_normal_initializer(seed=2), (fan_in, fan_out))
    assert abs(glorot_normal.std() - np.sqrt(2 / (fan_in + fan_out))) < 0.002

    he = cr.variance_scaling_initializer(2.0, "fan_in", "untruncated_normal", seed=3)
    assert abs(_value(he, (fan_in, fan_out)).std() - np.sqrt(2 / fan_in)) < 0.002

    conv = cr.variance_scaling_initializer(1.0, "fan_out", "uniform", seed=4)
    kernel = _value(conv, (3, 3, 16, 32))
    assert np.abs(kernel).max() <= np.sqrt(3 / (3 * 3 * 32))


def test_initializers_are_seeded_by_the_graph_seed():
    cr.set_random_seed(10)
    a = cr.glorot_uniform_initializer()((3, 3))
    np.testing.assert_array_equal(cr.Session().run(a), cr.Session().run(a))


def test_initializer_argument_errors():
    with pytest.raises(InvalidArgumentError, match="mode"):
        cr.variance_scaling_initializer(mode="fan_middle")
    with pytest.raises(InvalidArgumentError, match="distribution"):
        cr.variance_scaling_initializer(distribution="cauchy")
    with pytest.raises(DTypeError):
        cr.random_normal_initializer()((2,), dtype=cr.int32)
    with pytest.raises(ShapeError, match="fully known"):
        cr.zeros_initializer()((None, 2))


def test_get_variable_uses_glorot_uniform_by_default():
    v = cr.get_variable("w", shape=[20, 30])
    value = cr.Session().run(v)
    assert value.shape == (20, 30) and value.dtype == np.float32
    assert np.abs(value).max() <= np.sqrt(6 / 50) and value.std() > 0.1


# -- dense -----------------------------------------------------------------------------------
def test_dense_names_variables_as_tf_does():
    x = cr.placeholder(cr.float32, [None, 3])
    h = cr.layers.dense(x, 4, activation=cr.nn.relu)
    cr.layers.dense(h, 2, use_bias=False)
    cr.layers.dense(h, 5, name="logits")
    names = [v.name for v in cr.trainable_variables()]
    assert names == [
        "dense/kernel:0",
        "dense/bias:0",
        "dense_1/kernel:0",
        "logits/kernel:0",
        "logits/bias:0",
    ]
    assert h.name == "dense/Relu:0" and h.op.name == "dense/Relu"
    kernel = cr.get_default_graph().get_tensor_by_name("dense/kernel:0")
    assert kernel.shape == (3, 4)


def test_dense_computes_activation_of_affine_map(rng):
    kernel = rng.standard_normal((3, 2))
    bias = rng.standard_normal(2)
    check_op(
        lambda x: cr.layers.dense(
            x,
            2,
            activation=cr.tanh,
            kernel_initializer=cr.constant_initializer(kernel),
            bias_initializer=cr.constant_initializer(bias),
        ),
        lambda x: torch.tanh(x @ torch.tensor(kernel) + torch.tensor(bias)),
        [rng.standard_normal((4, 3))],
        second_order=True,
        unknown_shapes=RANK_KNOWN,
    )


def test_dense_on_rank_3_inputs(rng):
    x = cr.placeholder(cr.float64, [None, 5, 3])
    y = cr.layers.dense(x, 2)
    assert y.shape == (None, 5, 2)
    x_value = rng.standard_normal((2, 5, 3))
    with cr.Session() as s:
        out, kernel, bias = s.run([y, "dense/kernel:0", "dense/bias:0"], {x: x_value})
    np.testing.assert_allclose(out, x_value @ kernel + bias)


def test_dense_class_reuses_its_variables():
    layer = cr.layers.Dense(3, name="shared")
    a = layer(cr.placeholder(cr.float32, [None, 2]))
    b = layer(cr.placeholder(cr.float32, [None, 2]))
    assert a is not b
    assert [v.name for v in layer.trainable_variables] == ["shared/kernel:0", "shared/bias:0"]
    assert len(cr.trainable_variables()) == 2
    assert layer.kernel.shape == (2, 3)


def test_dense_trainable_false_and_regularizer():
    x = cr.placeholder(cr.float32, [None, 2])
    cr.layers.dense(x, 3, trainable=False, kernel_regularizer=cr.nn.l2_loss)
    assert cr.trainable_variables() == []
    assert len(cr.global_variables()) == 2
    assert len(cr.losses.get_regularization_losses()) == 1


def test_dense_errors():
    with pytest.raises(ShapeError, match="last dimension is known"):
        cr.layers.dense(cr.placeholder(cr.float32, [None, None]), 3)
    with pytest.raises(ShapeError, match="rank >= 2"):
        cr.layers.dense(cr.placeholder(cr.float32, [3]), 3)
    with pytest.raises(DTypeError):
        cr.layers.dense(cr.placeholder(cr.int32, [None, 3]), 3)


def test_two_layer_network_trains_with_gradient_descent():
    cr.set_random_seed(0)
    rng = np.random.default_rng(0)
    points = rng.uniform(-1, 1, size=(200, 2)).astype(np.float32)
    labels = (points[:, 0] * points[:, 1] > 0).astype(np.int32)  # XOR-like quadrants

    x = cr.placeholder(cr.float32, [None, 2])
    y = cr.placeholder(cr.int32, [None])
    hidden = cr.layers.dense(x, 16, activation=cr.nn.relu)
    logits = cr.layers.dense(hidden, 2)
    loss = cr.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)
    train = cr.train.GradientDescentOptimizer(0.5).minimize(loss)
    accuracy = cr.reduce_mean(
        cr.cast(cr.equal(cr.argmax(logits, 1), cr.cast(y, cr.int64)), cr.float32)
    )

    feed = {x: points, y: labels}
    with cr.Session() as s:
        start = s.run(loss, feed)
        for _ in range(300):
            s.run(train, feed)
        end, acc = s.run([loss, accuracy], feed)
    assert [v.name for v in cr.trainable_variables()] == [
        "dense/kernel:0",
        "dense/bias:0",
        "dense_1/kernel:0",
        "dense_1/bias:0",
    ]
    assert start > 0.6
    assert end < 0.5 * start, (start, end)
    assert acc > 0.9


# -- flatten, dropout ------------------------------------------------------------------------------
def test_flatten_static_and_dynamic(rng):
    x = rng.standard_normal((2, 3, 4))
    check_op(cr.layers.flatten, lambda t: t.reshape(2, -1), [x])
    p = cr.placeholder(cr.float64, [None, None, 4])
    flat = cr.layers.flatten(p)
    assert flat.shape == (None, None)
    (grad,) = cr.gradients(cr.reduce_sum(flat * 2.0), [p])
    out, g = cr.Session().run([flat, grad], {p: x})
    np.testing.assert_array_equal(out, x.reshape(2, 12))
    np.testing.assert_array_equal(g, np.full(x.shape, 2.0))


def test_layers_dropout_only_while_training():
    x = cr.ones([1000])
    assert cr.layers.dropout(x, rate=0.5) is x
    dropped = cr.Session().run(cr.layers.dropout(x, rate=0.5, training=True))
    assert set(np.unique(dropped)) == {0.0, 2.0}
    training = cr.placeholder(cr.bool, [])
    maybe = cr.layers.dropout(x, rate=0.5, training=training)
    with cr.Session() as s:
        np.testing.assert_array_equal(s.run(maybe, {training: False}), np.ones(1000))
        assert np.count_nonzero(s.run(maybe, {training: True}) == 0) > 300
