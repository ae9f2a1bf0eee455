"""TF1 programs on arguments known only at run time (tile multiples, paddings, one_hot depth,
split sizes, shapes built from ``tf.shape``) and the static shapes TF1 infers from their
constant parts, fed through placeholders of unknown batch size."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import program

_X = np.arange(12, dtype=np.float32).reshape(2, 6) / 4.0
_Y = np.arange(60, dtype=np.float32).reshape(2, 6, 5) / 10.0


def _shapes_and_values(tf: Any, build: Any) -> dict[str, Any]:
    """Each tensor ``build`` makes from ``x`` (?, 6) and ``y`` (?, 6, 5): its static shape
    as TF1 infers it and its value for a batch of 2."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, shape=[None, 6])
        y = tf.placeholder(tf.float32, shape=[None, 6, 5])
        tensors = build(tf, x, y)
        with tf.Session() as sess:
            values = sess.run(tensors, {x: _X, y: _Y})
    results: dict[str, Any] = {}
    for key, tensor in tensors.items():
        results[f"{key} static shape"] = str(tensor.get_shape().as_list())
        results[key] = values[key]
    return results


@program("dynamic_shape_arguments")
def dynamic_shape_arguments(tf: Any) -> dict[str, Any]:
    """Shapes built from ``tf.shape``: reshape, fill, zeros, ones, broadcast_to, concat."""

    def build(tf: Any, x: Any, y: Any) -> dict[str, Any]:
        batch = tf.shape(x)[0]
        return {
            "reshape stack": tf.reshape(x, tf.stack([batch, 2, 3])),
            "reshape list": tf.reshape(x, [batch, 2, 3]),
            "reshape -1": tf.reshape(x, [batch, -1, 3]),
            "reshape concat": tf.reshape(x, tf.concat([tf.shape(x)[:1], [3, 2]], 0)),
            "concat ones": tf.concat([x, tf.ones([batch, 1])], 1),
            "fill slice": tf.fill(tf.shape(y)[1:], 2.0),
            "zeros shape": tf.zeros(tf.shape(y)),
            "zeros cast shape": tf.zeros(tf.cast(tf.shape(y), tf.int64)),
            "zeros last dim": tf.zeros(tf.stack([tf.shape(y)[-1], 4])),
            "zeros known shape": tf.zeros(tf.shape(tf.ones([2, 3]))),
            "broadcast_to": tf.broadcast_to(x[:, :1], tf.shape(x)),
        }

    return _shapes_and_values(tf, build)


@program("dynamic_size_arguments")
def dynamic_size_arguments(tf: Any) -> dict[str, Any]:
    """Tile multiples, paddings, one_hot depth and split sizes given as tensors."""

    def build(tf: Any, x: Any, y: Any) -> dict[str, Any]:
        batch = tf.shape(x)[0]
        labels = tf.cast(x[:, 0] * 4.0, tf.int32) % 6
        split_sizes = tf.split(x, tf.stack([2, 4]), axis=1)
        return {
            "tile batch": tf.tile(x, [batch, 1]),
            "tile unknown": tf.tile(x, [1, batch]),
            "tile shape": tf.tile(x, tf.shape(x)),
            "pad": tf.pad(x, [[0, batch], [1, 2]], constant_values=-1.0),
            "pad reflect": tf.pad(x, [[batch - 1, 0], [2, 1]], mode="REFLECT"),
            "one_hot known depth": tf.one_hot(labels, tf.shape(x)[1]),
            "one_hot batch depth": tf.one_hot(labels, batch),
            "split first": split_sizes[0],
            "split second": split_sizes[1],
        }

    return _shapes_and_values(tf, build)


@program("dynamic_size_gradients")
def dynamic_size_gradients(tf: Any) -> dict[str, Any]:
    """Gradients through tile, pad and split with run-time arguments."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, shape=[None, 6])
        batch = tf.shape(x)[0]
        tiled = tf.tile(x, [batch, 1])
        padded = tf.pad(x, [[0, batch], [1, 2]], mode="SYMMETRIC")
        first, rest = tf.split(x, tf.stack([2, 4]), axis=1)
        loss = (
            tf.reduce_sum(tiled * tiled)
            + tf.reduce_sum(tf.sin(padded))
            + tf.reduce_sum(first * 3.0)
            + tf.reduce_sum(rest**2)
        )
        grad = tf.gradients(loss, x)[0]
        with tf.Session() as sess:
            return {"loss": sess.run(loss, {x: _X}), "gradient": sess.run(grad, {x: _X})}


@program("shape_arithmetic")
def shape_arithmetic(tf: Any) -> dict[str, Any]:
    """Static sizes TF1 computes from known parts of ``tf.shape(x)`` with + - * // max min."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3])
        s = tf.shape(x)
        built = {
            "times": tf.reshape(x, [-1, s[1] * 2]),
            "unknown times": tf.reshape(x, [s[0] * 3]),
            "floordiv and minus": tf.zeros([s[0], s[1] // 2 + 3, s[1] - 1]),
            "max and min": tf.zeros([tf.maximum(s[1], 5), tf.minimum(s[1], 2)]),
        }
        plus = tf.reshape(x, [s[0], s[1] + 1, 1])
        with tf.Session() as sess:
            ran = sess.run(built, {x: np.ones((4, 3), np.float32)})
        return {
            "static": {k: v.get_shape().as_list() for k, v in built.items()},
            "static of plus": plus.get_shape().as_list(),
            "run shapes": {k: list(v.shape) for k, v in ran.items()},
        }


@program("dynamic_slice_and_transpose")
def dynamic_slice_and_transpose(tf: Any) -> dict[str, Any]:
    """``tf.slice`` whose begin and size hold tensors and ``tf.transpose`` by a perm tensor:
    the static shapes TF1 infers, the values, and first and second gradients through them."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, shape=[None, 6])
        y = tf.placeholder(tf.float32, shape=[None, 6, 5])
        start = tf.placeholder(tf.int32, shape=[])
        begin = tf.placeholder(tf.int32, shape=[2])
        perm = tf.placeholder(tf.int32, shape=[3])
        batch = tf.shape(x)[0]
        built = {
            "slice batch size": tf.slice(x, [0, 0], [batch, 2]),
            "slice last row": tf.slice(x, [batch - 1, 1], [1, -1]),
            "slice from start": tf.slice(x, [0, start], [-1, 2]),
            "slice begin tensor": tf.slice(x, begin, [1, -1]),
            "slice stacked": tf.slice(y, tf.stack([0, start, 0]), tf.stack([batch, 2, -1])),
            "slice y rest": tf.slice(y, [0, 1, start], [-1, -1, 2]),
            "transpose constant": tf.transpose(x, tf.constant([1, 0])),
            "transpose perm": tf.transpose(y, perm),
            "transpose stacked": tf.transpose(y, tf.stack([start, 0, 1])),
        }
        window = tf.slice(x, [0, start], [batch - 1, 3])
        turned = tf.transpose(y, perm)
        loss = tf.reduce_sum(tf.sin(window) * window) + tf.reduce_sum(
            tf.cos(turned) * tf.range(1.0, 7.0)[None, :, None]
        )
        first_x, first_y = tf.gradients(loss, [x, y])
        second_x, second_y = tf.gradients(
            tf.reduce_sum(first_x * first_x) + tf.reduce_sum(first_y * first_y), [x, y]
        )
        feed = {x: _X, y: _Y, start: 2, begin: [1, 3], perm: [2, 1, 0]}
        with tf.Session() as sess:
            values = sess.run(built, feed)
            gradients = sess.run(
                {
                    "first x": first_x,
                    "first y": first_y,
                    "second x": second_x,
                    "second y": second_y,
                },
                feed,
            )
    results: dict[str, Any] = {
        f"{k} static shape": str(v.get_shape().as_list()) for k, v in built.items()
    }
    results |= values
    results |= {f"gradient {k}": v for k, v in gradients.items()}
    return results


@program("dynamic_hessians")
def dynamic_hessians(tf: Any) -> dict[str, Any]:
    """``tf.hessians`` of an x whose batch size is known only at run time (TF1 loops over the
    flattened gradient): its static shape and its value for a batch of 2."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, shape=[None, 6])
        y = tf.reduce_sum(tf.sin(x) * tf.reduce_sum(x * x, axis=1, keepdims=True))
        (hessian,) = tf.hessians(y, x)
        with tf.Session() as sess:
            value = sess.run(hessian, {x: _X})
    return {"static shape": str(hessian.get_shape().as_list()), "hessian": value}
