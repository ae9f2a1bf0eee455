"""A TensorFlow 1.x "Deep MNIST" convolutional network, run by chainrule.

Only the import differs from the TF1 original (``import tensorflow.compat.v1 as tf``). Run:

    python examples/tf1_cnn_digits.py                 # the bundled 8x8 digits
    python examples/tf1_cnn_digits.py --data DIR      # MNIST IDX files in DIR (28x28)

conv 5x5 (32) + ReLU + 2x2 max-pool, conv 5x5 (64) + ReLU + 2x2 max-pool, dense 128 ReLU,
dropout, dense 10; Adam on softmax cross-entropy. It prints the loss and test accuracy per
epoch.
"""

import argparse

import numpy as np

import chainrule.compat.v1 as tf
from chainrule import data


def load(directory):
    """Images (n, side, side, 1) and labels for training and testing."""
    if directory is None:
        images, labels = data.load_digits()
        x_train, x_test, y_train, y_test = data.train_test_split(images, labels, 0.2, seed=0)
        side = 8
    else:
        x_train, y_train = data.load_mnist(directory, "train")
        x_test, y_test = data.load_mnist(directory, "test")
        side = 28
    shape = (-1, side, side, 1)
    return x_train.reshape(shape), y_train, x_test.reshape(shape), y_test, side


def deep_cnn(x, keep_prob):
    """The Deep MNIST tutorial's network, written with tf.nn ops and explicit variables."""

    def weight(shape):
        return tf.Variable(tf.truncated_normal(shape, stddev=0.1))

    def bias(shape):
        return tf.Variable(tf.constant(0.1, shape=shape))

    def conv_pool(inputs, channels_in, channels_out):
        w, b = weight([5, 5, channels_in, channels_out]), bias([channels_out])
        h = tf.nn.relu(tf.nn.conv2d(inputs, w, strides=[1, 1, 1, 1], padding="SAME") + b)
        return tf.nn.max_pool(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")

    h = conv_pool(x, 1, 32)
    h = conv_pool(h, 32, 64)
    size = int(np.prod(h.shape[1:]))
    flat = tf.reshape(h, [-1, size])
    w1, b1 = weight([size, 128]), bias([128])
    hidden = tf.nn.dropout(tf.nn.relu(tf.matmul(flat, w1) + b1), keep_prob=keep_prob)
    w2, b2 = weight([128, 10]), bias([10])
    return tf.matmul(hidden, w2) + b2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a directory of MNIST IDX files (default: 8x8 digits)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    x_train, y_train, x_test, y_test, side = load(args.data)
    tf.set_random_seed(0)
    x = tf.placeholder(tf.float32, [None, side, side, 1], name="images")
    y = tf.placeholder(tf.int64, [None], name="labels")
    keep_prob = tf.placeholder_with_default(1.0, [], name="keep_prob")
    logits = deep_cnn(x, keep_prob)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    train_op = tf.train.AdamOptimizer(1e-3).minimize(loss)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for epoch in range(args.epochs):
            total = 0.0
            for xb, yb in data.batches(x_train, y_train, args.batch_size, seed=[0, epoch]):
                _, batch_loss = sess.run([train_op, loss], {x: xb, y: yb, keep_prob: 0.5})
                total += batch_loss * len(xb)
            test_accuracy = _accuracy(sess, accuracy, x, y, x_test, y_test)
            print(
                f"epoch {epoch + 1:2d}  loss {total / len(x_train):.4f}  "
                f"test accuracy {test_accuracy:.4f}"
            )


def _accuracy(sess, accuracy, x, y, images, labels):
    """Test accuracy over batches of 1000, weighted by their sizes."""
    correct = 0.0
    for xb, yb in data.batches(images, labels, 1000, shuffle=False):
        correct += sess.run(accuracy, {x: xb, y: yb}) * len(xb)
    return correct / len(images)


if __name__ == "__main__":
    main()
