"""A TF1 program runs after changing only its import."""

import numpy as np

import chainrule.compat.v1 as tf


def test_tf1_style_program_with_variable_scopes_and_initializer():
    tf.disable_eager_execution()
    tf.disable_v2_behavior()
    assert tf.executing_eagerly() is False
    x = tf.placeholder(tf.float32, shape=[None, 2], name="x")
    with tf.variable_scope("layer"):
        w = tf.get_variable("w", shape=[2, 1], initializer=tf.constant(np.ones((2, 1), np.float32)))
    with tf.variable_scope("layer", reuse=True):
        assert tf.get_variable("w") is w
    assert w.name == "layer/w:0"
    y = tf.reduce_sum(tf.matmul(x, w), reduction_indices=[1], keep_dims=True)
    loss = tf.reduce_mean(tf.square(y - 1.0))
    train = tf.train.GradientDescentOptimizer(1.0).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        data = np.array([[0.5, 0.0], [0.0, 0.5]], np.float32)
        before = sess.run(loss, feed_dict={x: data})
        for _ in range(100):
            sess.run(train, feed_dict={x: data})
        after = sess.run(loss, feed_dict={x: data})
    assert before == np.float32(0.25)
    assert after < 1e-3


def test_builtin_named_functions_are_reachable():
    assert tf.abs is not abs and tf.bool.name == "bool"
    with tf.Session() as sess:
        assert sess.run(tf.abs(tf.constant(-2.0))) == 2.0
        assert sess.run(tf.pow(tf.constant(2.0), 3.0)) == 8.0
