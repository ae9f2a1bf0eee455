"""``tf.hessians`` for an x whose shape is known only at run time: a loop over the flattened
gradient (as TF1 builds it), checked against ``torch.autograd.functional.hessian``."""

import numpy as np
import pytest
import torch

import chainrule.compat.v1 as tf

RNG = np.random.default_rng(0)


def torch_hessian(fn, value):
    return torch.autograd.functional.hessian(fn, torch.tensor(value)).numpy()


@pytest.mark.parametrize("shape", [[None, 3], [None, None], None])
def test_hessian_of_a_batch_unknown_x_matches_torch(shape):
    value = RNG.standard_normal((2, 3))
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, shape)
        y = tf.reduce_sum(tf.sin(x) * tf.reduce_sum(x**2)) + tf.reduce_prod(x[:, :2])
        (h,) = tf.hessians(y, x)
        with tf.Session() as sess:
            got = sess.run(h, {x: value})
    expected = torch_hessian(lambda t: (torch.sin(t) * (t**2).sum()).sum() + t[:, :2].prod(), value)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_static_shape_is_tf1s():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3])
        unknown = tf.placeholder(tf.float32)
        hx, hu = tf.hessians(tf.reduce_sum(tf.sin(x)) + tf.reduce_sum(unknown**3), [x, unknown])
        assert hx.shape == (None, 3, None, 3)
        assert hu.shape is None


def test_one_graph_gives_hessians_of_every_size_it_is_fed():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [None])
        w = tf.placeholder(tf.float64, [None])
        (h,) = tf.hessians(tf.reduce_sum(tf.exp(x * w)) * tf.reduce_sum(x), x)
        with tf.Session() as sess:
            for n in (1, 4, 7):
                xv, wv = RNG.standard_normal(n), RNG.standard_normal(n)
                expected = torch_hessian(
                    lambda t, wv=wv: torch.exp(t * torch.tensor(wv)).sum() * t.sum(), xv
                )
                np.testing.assert_allclose(sess.run(h, {x: xv, w: wv}), expected, rtol=1e-10)


def test_hessian_of_a_linear_function_is_zero_and_float32_stays_float32():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2])
        (h,) = tf.hessians(3.0 * tf.reduce_sum(x), x)
        with tf.Session() as sess:
            got = sess.run(h, {x: np.ones((3, 2), np.float32)})
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.zeros((3, 2, 3, 2)))
