"""tf.layers for CNNs: conv2d, max/average pooling and batch normalization — TF1's variable
names and initializers, UPDATE_OPS and the control_dependencies idiom, training as a tensor."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule.compat.v1 as tf
from chainrule.errors import InvalidArgumentError, ShapeError


def _images(shape=(4, 8, 8, 3), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_conv2d_layer_names_its_variables_and_starts_glorot_uniform_with_zero_bias():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 8, 8, 3])
        y = tf.layers.conv2d(x, 16, 5, padding="same", activation=tf.nn.relu)
        tf.layers.conv2d(y, 4, (3, 1))
        names = [v.name for v in tf.trainable_variables()]
        assert names == ["conv2d/kernel:0", "conv2d/bias:0", "conv2d_1/kernel:0", "conv2d_1/bias:0"]
        assert y.shape == (None, 8, 8, 16)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            kernel, bias = sess.run(tf.trainable_variables()[:2])
    limit = np.sqrt(6.0 / (5 * 5 * 3 + 5 * 5 * 16))
    assert kernel.shape == (5, 5, 3, 16)
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.8 * limit
    np.testing.assert_array_equal(bias, np.zeros(16))


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv2d_layer_computes_a_biased_convolution(padding):
    x = _images()
    kernel = np.random.default_rng(1).standard_normal((3, 3, 3, 2)).astype(np.float32)
    with tf.Graph().as_default():
        y = tf.layers.conv2d(
            x,
            2,
            3,
            strides=2,
            padding=padding,
            kernel_initializer=tf.constant_initializer(kernel),
            bias_initializer=tf.constant_initializer([0.5, -1.0]),
        )
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(y)
    pads = (0, 1, 0, 1) if padding == "same" else (0, 0, 0, 0)  # 8 by 2 with 3: pad 1 after
    want = F.conv2d(
        F.pad(torch.tensor(x).permute(0, 3, 1, 2), pads),
        torch.tensor(kernel).permute(3, 2, 0, 1),
        torch.tensor([0.5, -1.0]),
        stride=2,
    ).permute(0, 2, 3, 1)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5)


def test_channels_first_layers_match_channels_last():
    x = _images()
    init = tf.constant_initializer(np.linspace(-1, 1, 3 * 3 * 3 * 4).reshape(3, 3, 3, 4))
    results = []
    for fmt, images in (("channels_last", x), ("channels_first", x.transpose(0, 3, 1, 2))):
        with tf.Graph().as_default():
            h = tf.layers.conv2d(
                images, 4, 3, padding="same", data_format=fmt, kernel_initializer=init
            )
            h = tf.layers.max_pooling2d(h, 3, 2, padding="same", data_format=fmt)
            h = tf.layers.average_pooling2d(h, 2, 1, data_format=fmt)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                results.append(sess.run(h))
    np.testing.assert_allclose(results[1].transpose(0, 2, 3, 1), results[0], rtol=1e-5)


def test_pooling_layers_match_the_ops():
    x = _images((2, 7, 7, 3))
    with tf.Graph().as_default():
        pairs = [
            (
                tf.layers.max_pooling2d(x, 3, 2, padding="same"),
                tf.nn.max_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME"),
            ),
            (
                tf.layers.average_pooling2d(x, (2, 3), (1, 2)),
                tf.nn.avg_pool(x, [1, 2, 3, 1], [1, 1, 2, 1], "VALID"),
            ),
        ]
        assert pairs[0][0].op.name.startswith("max_pooling2d")
        with tf.Session() as sess:
            for layer, op in sess.run(pairs):
                np.testing.assert_array_equal(layer, op)


def test_batch_normalization_updates_run_through_update_ops():
    x = _images() * 2.0 + 3.0
    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, [None, 8, 8, 3])
        training = tf.placeholder(tf.bool, [])
        y = tf.layers.batch_normalization(images, training=training, momentum=0.5)
        names = [v.name for v in tf.global_variables()]
        assert names == [
            "batch_normalization/gamma:0",
            "batch_normalization/beta:0",
            "batch_normalization/moving_mean:0",
            "batch_normalization/moving_variance:0",
        ]
        assert [v.name for v in tf.trainable_variables()] == names[:2]
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        assert len(update_ops) == 2
        loss = tf.reduce_mean(tf.square(y))
        with tf.control_dependencies(update_ops):
            train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        mean_var = tf.global_variables()[2]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(y, {images: x, training: True})  # no train op: no update
            np.testing.assert_array_equal(sess.run(mean_var), np.zeros(3))
            sess.run(train, {images: x, training: True})
            batch_mean = x.mean(axis=(0, 1, 2))
            np.testing.assert_allclose(sess.run(mean_var), 0.5 * batch_mean, rtol=1e-5)
            sess.run(train, {images: x, training: False})  # not training: no change
            np.testing.assert_allclose(sess.run(mean_var), 0.5 * batch_mean, rtol=1e-5)
            out = sess.run(y, {images: x, training: True})
            beta = sess.run(tf.global_variables()[1])
            np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), beta, atol=1e-5)


def test_batch_normalization_with_training_false_adds_no_updates():
    with tf.Graph().as_default():
        y = tf.layers.batch_normalization(_images(), training=False)
        assert tf.get_collection(tf.GraphKeys.UPDATE_OPS) == []
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run(y), _images() / np.sqrt(1.001), rtol=1e-6)


def test_kernel_regularizer_adds_to_the_regularization_losses():
    with tf.Graph().as_default():
        tf.layers.conv2d(
            _images(),
            2,
            3,
            kernel_initializer=tf.ones_initializer(),
            kernel_regularizer=lambda w: 0.5 * tf.reduce_sum(w),
        )
        (penalty,) = tf.losses.get_regularization_losses()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(penalty) == pytest.approx(0.5 * 3 * 3 * 3 * 2)


def test_layers_refuse_bad_input():
    with tf.Graph().as_default():
        with pytest.raises(ShapeError, match="4-D input"):
            tf.layers.conv2d(tf.placeholder(tf.float32, [None, 8, 3]), 2, 3)
        with pytest.raises(InvalidArgumentError, match="padding"):
            tf.layers.conv2d(_images(), 2, 3, padding="full")
        with pytest.raises(InvalidArgumentError, match="pool_size"):
            tf.layers.max_pooling2d(_images(), 0, 2)


def test_batch_normalization_over_channels_first_matches_channels_last():
    x = _images() * 3.0 - 1.0
    results = []
    for axis, images in ((-1, x), (1, x.transpose(0, 3, 1, 2))):
        with tf.Graph().as_default():
            y = tf.layers.batch_normalization(images, axis=axis, training=True, momentum=0.5)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                out = sess.run(y)
                sess.run(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
                moving = sess.run(tf.global_variables()[2:])
        results.append((out if axis == -1 else out.transpose(0, 2, 3, 1), moving))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-4, atol=1e-5)
    for a, b in zip(results[0][1], results[1][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)
    n = x.size // 3
    np.testing.assert_allclose(
        results[0][1][1], 0.5 + 0.5 * x.var(axis=(0, 1, 2)) * n / (n - 1), rtol=1e-5
    )


def test_conv2d_layer_on_images_of_unknown_size():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, None, None, 3])
        y = tf.layers.max_pooling2d(tf.layers.conv2d(x, 4, 3, padding="same"), 2, 2)
        assert y.shape == (None, None, None, 4)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(y, {x: _images((2, 9, 7, 3))}).shape == (2, 4, 3, 4)
