"""tf.Print and tf.print write when run (and are never folded away); placeholder_with_default;
hessians."""

import sys

import numpy as np
import pytest

import chainrule.compat.v1 as tf
from chainrule.errors import InvalidArgumentError, ShapeError


def test_print_passes_its_input_on_and_writes_tf1_summaries_to_stderr(capsys):
    x = tf.constant([1.5, 2.0, 3.0, 4.0, 5.0])
    m = tf.constant([[1, 2], [3, 4]])
    printed = tf.Print(x, [x, m, tf.constant(7)], "vals: ")
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(printed), [1.5, 2.0, 3.0, 4.0, 5.0])
    captured = capsys.readouterr()
    assert captured.err == "vals: [1.5 2 3...][[1 2][3...]...][7]\n"
    assert captured.out == ""


def test_print_of_constants_prints_on_every_run_up_to_first_n(capsys):
    x = tf.constant([1.0, 2.0])
    once = tf.Print(x, [x], first_n=1, summarize=-1)
    always = tf.Print(x, [x], "again ")
    with tf.Session() as sess:
        for _ in range(3):
            sess.run([once * 2.0, always * 2.0])
    lines = capsys.readouterr().err.splitlines()
    assert lines.count("[1 2]") == 1
    assert lines.count("again [1 2]") == 3


def test_print_keeps_gradients_flowing():
    x = tf.Variable(np.array([1.0, 2.0]))
    y = tf.reduce_sum(tf.Print(x, [x]) ** 2)
    grad = tf.gradients(y, x)[0]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(grad), [2.0, 4.0])


def test_tf_print_returns_an_op_that_prints_when_run(capsys):
    x = tf.constant([1.5, 2.0, 3.0, 4.0, 5.0])
    op = tf.print("hello", x, tf.constant([[1, 2], [3, 4]]), 3)
    long = tf.print(tf.constant(np.arange(10)), summarize=2)
    assert capsys.readouterr().err == ""
    with tf.Session() as sess:
        assert sess.run(op) is None
        sess.run(long)
    assert capsys.readouterr().err == "hello [1.5 2 3 4 5] [[1 2]\n [3 4]] 3\n[0 1 ... 8 9]\n"


def test_tf_print_as_a_control_dependency_and_to_stdout(capsys):
    x = tf.placeholder(tf.float32, shape=[])
    with tf.control_dependencies([tf.print("x is", x, output_stream=sys.stdout)]):
        y = x * 2.0
    with tf.Session() as sess:
        assert sess.run(y, {x: 0.5}) == 1.0
    assert capsys.readouterr().out == "x is 0.5\n"


def test_tf_print_refuses_a_stream_it_cannot_write_to():
    with pytest.raises(InvalidArgumentError, match="cannot write"):
        tf.print("x", output_stream=42)


def test_placeholder_with_default_gives_its_input_unless_fed():
    value = tf.placeholder_with_default(tf.constant([1.0, 2.0]), shape=[None])
    doubled = value * 2.0
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(doubled), [2.0, 4.0])
        np.testing.assert_allclose(sess.run(doubled, {value: [3.0, 4.0, 5.0]}), [6.0, 8.0, 10.0])
        np.testing.assert_allclose(sess.run(doubled), [2.0, 4.0])


def test_placeholder_with_default_checks_fed_values_against_its_shape():
    value = tf.placeholder_with_default(tf.constant([1.0, 2.0]), shape=[None], name="v")
    with tf.Session() as sess, pytest.raises(InvalidArgumentError, match="'v'.*expected shape"):
        sess.run(value, {value: [[1.0]]})


def test_placeholder_with_default_refuses_a_default_of_another_shape():
    with pytest.raises(ShapeError, match="PlaceholderWithDefault 'v'.*does not fit"):
        tf.placeholder_with_default(tf.constant([1.0, 2.0]), shape=[3], name="v")


def test_hessians_one_per_x_shaped_x_shape_twice():
    x = tf.Variable(np.array([1.0, 2.0, 3.0]))
    m = tf.Variable(np.array([[1.0, 2.0], [3.0, 4.0]]))
    unused = tf.Variable(1.0)
    y = tf.reduce_sum(x**3) + x[0] * x[1] + tf.reduce_sum(m * m)
    hx, hm, hu = tf.hessians(y, [x, m, unused])
    assert hx.shape == (3, 3) and hm.shape == (2, 2, 2, 2) and hu is None
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(hx), [[6.0, 1.0, 0.0], [1.0, 12.0, 0.0], [0, 0, 18.0]])
        np.testing.assert_allclose(sess.run(hm), 2.0 * np.eye(4).reshape(2, 2, 2, 2))


def test_hessians_of_a_linear_function_are_zero():
    x = tf.Variable(np.array([1.0, 2.0]))
    (h,) = tf.hessians(3.0 * tf.reduce_sum(x), x)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(h), np.zeros((2, 2)))
