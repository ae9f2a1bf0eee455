"""A Deep-MNIST-style TF1 program (conv-pool-conv-pool-dense with batch normalization) trains
on the bundled 8x8 digits: its loss falls and it classifies held-out digits; the example runs."""

import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import chainrule.compat.v1 as tf
from chainrule import data

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _digits():
    pytest.importorskip("sklearn")
    images, labels = data.load_digits()
    x_train, x_test, y_train, y_test = data.train_test_split(images, labels, 0.2, seed=0)
    return x_train.reshape(-1, 8, 8, 1), y_train, x_test.reshape(-1, 8, 8, 1), y_test


def test_a_tf1_cnn_trains_on_the_digits():
    x_train, y_train, x_test, y_test = _digits()
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        x = tf.placeholder(tf.float32, [None, 8, 8, 1])
        y = tf.placeholder(tf.int64, [None])
        training = tf.placeholder_with_default(False, [])
        h = tf.layers.conv2d(x, 8, 3, padding="same", activation=tf.nn.relu)
        h = tf.layers.max_pooling2d(h, 2, 2)
        h = tf.layers.conv2d(h, 16, 3, padding="same")
        h = tf.nn.relu(tf.layers.batch_normalization(h, momentum=0.9, training=training))
        h = tf.layers.max_pooling2d(h, 2, 2)
        h = tf.layers.dense(tf.layers.flatten(h), 32, activation=tf.nn.relu)
        logits = tf.layers.dense(h, 10)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        )
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            train = tf.train.AdamOptimizer(0.01).minimize(loss)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
        losses = []
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for epoch in range(4):
                epoch_losses = [
                    sess.run([train, loss], {x: xb, y: yb, training: True})[1]
                    for xb, yb in data.batches(x_train, y_train, 64, seed=[0, epoch])
                ]
                losses.append(float(np.mean(epoch_losses)))
            test_accuracy = sess.run(accuracy, {x: x_test, y: y_test})
            moving_mean = sess.run(
                tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, "batch_normalization/moving_mean")[
                    0
                ]
            )
    assert losses[-1] < 0.5 * losses[0], losses
    assert losses == sorted(losses, reverse=True), losses
    assert test_accuracy > 0.9, test_accuracy
    assert np.abs(moving_mean).max() > 0  # the updates ran with the train op


def test_the_cnn_example_trains():
    pytest.importorskip("sklearn")
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "tf1_cnn_digits.py"), "--epochs", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    found = re.findall(r"epoch\s+\d+\s+loss ([\d.]+)\s+test accuracy ([\d.]+)", done.stdout)
    assert len(found) == 2, done.stdout
    assert float(found[1][0]) < float(found[0][0])
    assert float(found[1][1]) > 0.5


def test_explain_and_to_dot_show_a_small_cnn():
    from chainrule import dot, trace

    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 6, 6, 1], name="images")
        kernel = tf.Variable(np.full((3, 3, 1, 2), 0.1, np.float32), name="kernel")
        h = tf.nn.relu(tf.nn.conv2d(x, kernel, [1, 1, 1, 1], "SAME"))
        h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
        loss = tf.reduce_mean(tf.square(h))
        picture = dot.to_dot(loss)
        table = str(trace.explain(loss, {x: np.ones((2, 6, 6, 1), np.float32)}))
    assert "Conv2D" in picture and "MaxPool" in picture
    rows = {line.split()[0]: line for line in table.splitlines() if line.strip()}
    assert "2x6x6x2" in rows["Conv2D"] and "value" in rows["Conv2D"]
    assert "2x3x3x2" in rows["MaxPool"]
    assert "3x3x1x2" in rows["kernel"]


def test_the_cnn_example_reads_mnist_idx_files(tmp_path):
    from test_data import write_mnist

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 96).astype(np.uint8)
    images = np.zeros((96, 28, 28), np.uint8)
    for i, label in enumerate(labels):  # each digit a bright bar at its own height
        images[i, 2 + 2 * label : 4 + 2 * label, 4:24] = 255
    write_mnist(tmp_path, images[:64], labels[:64], "train")
    write_mnist(tmp_path, images[64:], labels[64:], "t10k")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "tf1_cnn_digits.py"),
            "--data",
            str(tmp_path),
            "--epochs",
            "1",
            "--batch-size",
            "32",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"epoch\s+1\s+loss [\d.]+\s+test accuracy [\d.]+", done.stdout), done.stdout
