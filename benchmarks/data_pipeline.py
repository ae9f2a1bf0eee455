"""What reading training data through ``tf.data`` costs, against slicing it into ``feed_dict``.

    .venv/bin/python benchmarks/data_pipeline.py             # about a minute
    .venv/bin/python benchmarks/data_pipeline.py --repeats 3  # a smoke check

One epoch of the digits (1,797 images of 64 pixels, a 64-64-10 ReLU MLP, softmax
cross-entropy, SGD, batch 32, float32) is trained five ways: NumPy slices fed through
``feed_dict`` (the reference), and ``Dataset.from_tensor_slices`` read by an initializable
iterator with ``batch(32)``, with ``shuffle(1000).batch(32)``, with a per-example
``map(one_hot)`` before ``batch(32)``, and with the ``map`` after ``batch(32)``. The ways take
turns in a new random order for every sample; the table shows the median seconds per training
step over the samples and the ratio to the ``feed_dict`` loop. The model is small on
purpose: the per-step cost of the input pipeline is what is measured.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
import chainrule.compat.v1 as tf  # noqa: E402
from chainrule import data  # noqa: E402

BATCH = 32


def _train_op(images: Any, targets: Any) -> Any:
    """A 64-64-10 MLP's SGD step on ``images`` and one-hot ``targets``."""
    tf.set_random_seed(0)
    hidden = tf.layers.dense(images, 64, activation=tf.nn.relu)
    logits = tf.layers.dense(hidden, 10)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=targets, logits=logits))
    return tf.train.GradientDescentOptimizer(0.1).minimize(loss)


def feed_dict_epoch(X: np.ndarray, Y: np.ndarray) -> Callable[[], int]:
    """An epoch of ``sess.run(train, {x: X[i:i+32], y: Y[i:i+32]})``."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 64])
        y = tf.placeholder(tf.float32, [None, 10])
        train = _train_op(x, y)
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())

    def epoch() -> int:
        steps = 0
        for start in range(0, len(X), BATCH):
            sess.run(train, {x: X[start : start + BATCH], y: Y[start : start + BATCH]})
            steps += 1
        return steps

    return epoch


def dataset_epoch(
    X: np.ndarray, labels: np.ndarray, build: Callable[[Any], Any]
) -> Callable[[], int]:
    """An epoch of ``sess.run(train)`` until ``OutOfRangeError``, on ``build(slices)``."""
    graph = tf.Graph()
    with graph.as_default():
        dataset = build(tf.data.Dataset.from_tensor_slices((X, labels)))
        iterator = dataset.make_initializable_iterator()
        images, targets = iterator.get_next()
        train = _train_op(images, targets)
        sess = tf.Session()
        sess.run(tf.global_variables_initializer())

    def epoch() -> int:
        sess.run(iterator.initializer)
        steps = 0
        while True:
            try:
                sess.run(train)
            except tf.errors.OutOfRangeError:
                return steps
            steps += 1

    return epoch


def _one_hot(x: Any, y: Any) -> tuple[Any, Any]:
    return x, tf.one_hot(y, 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed epochs per way")
    args = parser.parse_args()
    X, labels = data.load_digits()
    Y = np.eye(10, dtype=np.float32)[labels]
    ways: dict[str, Callable[[], int]] = {
        "feed_dict slices": feed_dict_epoch(X, Y),
        "batch": dataset_epoch(X, Y, lambda d: d.batch(BATCH)),
        "shuffle(1000).batch": dataset_epoch(X, Y, lambda d: d.shuffle(1000, seed=1).batch(BATCH)),
        "map(one_hot).batch": dataset_epoch(X, labels, lambda d: d.map(_one_hot).batch(BATCH)),
        "batch.map(one_hot)": dataset_epoch(X, labels, lambda d: d.batch(BATCH).map(_one_hot)),
    }
    samples: dict[str, list[float]] = {name: [] for name in ways}
    for epoch in ways.values():  # warm up: plans compiled
        epoch()
    for _ in range(args.repeats):
        names = list(ways)
        random.shuffle(names)
        for name in names:
            start = time.perf_counter()
            steps = ways[name]()
            samples[name].append((time.perf_counter() - start) / steps)
    reference = statistics.median(samples["feed_dict slices"])
    print(f"{'way':<22} {'per step':>10} {'ratio':>6}")
    for name, times in samples.items():
        median = statistics.median(times)
        print(f"{name:<22} {median * 1e6:>8.1f} µs {median / reference:>6.2f}")


if __name__ == "__main__":
    main()
