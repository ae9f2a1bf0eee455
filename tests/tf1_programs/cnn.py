"""TF1 programs on convolutional networks: conv2d's output sizes and SAME padding placement,
its gradients, pooling (max-pool ties, SAME average pooling), fused batch normalization, the
conv and batch-normalization layers (names, moving averages in UPDATE_OPS), embeddings."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import program

#: input shape (NHWC), filter shape, strides, dilations, padding
CONVS = [
    ((2, 7, 6, 3), (3, 3, 3, 2), (1, 1), (1, 1), "SAME"),
    ((1, 7, 6, 2), (3, 2, 2, 3), (2, 2), (1, 1), "SAME"),
    ((2, 6, 7, 1), (3, 3, 1, 2), (2, 3), (1, 1), "SAME"),
    ((1, 8, 8, 2), (5, 5, 2, 2), (3, 3), (1, 1), "SAME"),
    ((1, 6, 6, 2), (2, 2, 2, 1), (1, 1), (1, 1), "SAME"),
    ((2, 7, 5, 2), (3, 3, 2, 2), (1, 1), (2, 2), "SAME"),
    ((2, 7, 6, 2), (3, 3, 2, 3), (2, 1), (1, 1), "VALID"),
    ((1, 9, 8, 1), (2, 3, 1, 2), (1, 1), (2, 1), "VALID"),
]

#: input shape, window, strides, padding
POOLS = [
    ((1, 6, 6, 2), (2, 2), (2, 2), "VALID"),
    ((1, 7, 5, 2), (3, 3), (2, 2), "SAME"),
    ((2, 7, 6, 1), (2, 3), (2, 1), "SAME"),
    ((1, 8, 7, 2), (3, 2), (3, 2), "SAME"),
    ((1, 6, 6, 1), (2, 2), (1, 1), "SAME"),
    ((2, 7, 7, 2), (3, 3), (2, 2), "VALID"),
]


def _values(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.RandomState(seed).uniform(-1.0, 1.0, size=shape).astype(np.float32)


def _weights(tf: Any, y: Any) -> Any:
    """Different weights for every entry of ``y``: sin(0), sin(1), ... in its shape."""
    count = tf.cast(tf.range(tf.size(y)), tf.float32)
    return tf.reshape(tf.sin(count), tf.shape(y))


def _name(case: tuple) -> str:
    return " ".join(str(part) for part in case)


@program("cnn_conv2d")
def cnn_conv2d(tf: Any) -> dict[str, Any]:
    """conv2d's values and both gradients on odd sizes, uneven SAME padding, strides and
    dilations; the gradients of a weighted sum, so every output counts differently."""
    results: dict[str, Any] = {}
    for i, case in enumerate(CONVS):
        x_shape, f_shape, strides, dilations, padding = case
        with tf.Graph().as_default():
            x = tf.constant(_values(x_shape, i))
            f = tf.constant(_values(f_shape, 100 + i))
            y = tf.nn.conv2d(x, f, [1, *strides, 1], padding, dilations=[1, *dilations, 1])
            weights = _weights(tf, y)
            grads = tf.gradients(tf.reduce_sum(y * weights), [x, f])
            with tf.Session() as sess:
                value, dx, df = sess.run([y, *grads])
        results[f"{_name(case)} value"] = value
        results[f"{_name(case)} input gradient"] = dx
        results[f"{_name(case)} filter gradient"] = df
    return results


@program("cnn_pooling")
def cnn_pooling(tf: Any) -> dict[str, Any]:
    """max_pool and avg_pool with their gradients; max-pool inputs rounded to few values so
    windows hold ties (TF1 sends the gradient to the first largest entry)."""
    results: dict[str, Any] = {}
    for i, case in enumerate(POOLS):
        x_shape, window, strides, padding = case
        ties = np.round(_values(x_shape, 300 + i) * 2.0) / 2.0
        with tf.Graph().as_default():
            x = tf.constant(ties)
            for kind, pool in (("max", tf.nn.max_pool), ("avg", tf.nn.avg_pool)):
                y = pool(x, [1, *window, 1], [1, *strides, 1], padding)
                weights = _weights(tf, y)
                (grad,) = tf.gradients(tf.reduce_sum(y * weights), [x])
                with tf.Session() as sess:
                    value, dx = sess.run([y, grad])
                results[f"{kind} {_name(case)} value"] = value
                results[f"{kind} {_name(case)} gradient"] = dx
    return results


@program("cnn_batch_norm")
def cnn_batch_norm(tf: Any) -> dict[str, Any]:
    """fused_batch_norm in training (batch mean, Bessel-corrected variance) and inference,
    with gradients; nn.batch_normalization."""
    x = _values((3, 4, 5, 2), 500) * 3.0 + 1.0
    scale, offset = _values((2,), 501), _values((2,), 502)
    mean, variance = _values((2,), 503), _values((2,), 504) + 1.5
    with tf.Graph().as_default():
        xs = tf.constant(x)
        y, batch_mean, batch_var = tf.nn.fused_batch_norm(xs, scale, offset, epsilon=0.001)
        weights = tf.constant(_values((3, 4, 5, 2), 505))
        (dx,) = tf.gradients(tf.reduce_sum(y * weights), [xs])
        y_inf, _, _ = tf.nn.fused_batch_norm(
            xs, scale, offset, mean, variance, epsilon=0.001, is_training=False
        )
        plain = tf.nn.batch_normalization(xs, mean, variance, offset, scale, 0.001)
        with tf.Session() as sess:
            got = sess.run([y, batch_mean, batch_var, dx, y_inf, plain])
    keys = ["y", "batch mean", "batch variance", "input gradient", "inference y", "plain"]
    return dict(zip(keys, got, strict=True))


@program("cnn_embedding_lookup")
def cnn_embedding_lookup(tf: Any) -> dict[str, Any]:
    """Rows looked up by ids of any shape; repeated ids add their gradients."""
    params = _values((5, 3), 600)
    with tf.Graph().as_default():
        p = tf.constant(params)
        rows = tf.nn.embedding_lookup(p, tf.constant([[1, 4], [1, 1], [0, 2]]))
        (grad,) = tf.gradients(tf.reduce_sum(rows * rows), [p])
        with tf.Session() as sess:
            value, dense = sess.run([rows, tf.convert_to_tensor(grad)])
    return {"rows": value, "gradient": dense}


@program("cnn_layers")
def cnn_layers(tf: Any) -> dict[str, Any]:
    """tf.layers conv2d, pooling and batch_normalization: variable names, shapes, the update
    ops' collection, moving averages after training steps, and the outputs in inference."""
    images = _values((4, 9, 9, 2), 700) + 0.5
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 9, 9, 2])
        training = tf.placeholder(tf.bool, [])
        ones = tf.constant_initializer(0.1)
        h = tf.layers.conv2d(x, 3, 3, padding="same", kernel_initializer=ones)
        h = tf.layers.batch_normalization(h, training=training, momentum=0.9)
        h = tf.layers.max_pooling2d(tf.nn.relu(h), 2, 2, padding="same")
        h = tf.layers.conv2d(h, 2, (2, 3), strides=2, kernel_initializer=ones)
        h = tf.layers.average_pooling2d(h, 2, 1, padding="same")
        flat = tf.layers.batch_normalization(tf.reshape(h, [-1, 4]), training=True)
        loss = tf.reduce_mean(tf.square(h))
        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(update_ops):
            train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        results: dict[str, Any] = {
            "global variables": [v.name for v in tf.global_variables()],
            "trainable variables": [v.name for v in tf.trainable_variables()],
            "update ops": str(len(update_ops)),
            "output shape": str([None if d is None else int(d) for d in h.shape]),
        }
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                sess.run(train, {x: images, training: True})
            inference, flat_value = sess.run([h, flat], {x: images, training: False})
            for v in tf.global_variables():
                results[v.name] = sess.run(v)
        results["inference output"] = inference
        results["flat batch norm"] = flat_value
    return results


@program("cnn_transpose_depthwise")
def cnn_transpose_depthwise(tf: Any) -> dict[str, Any]:
    """conv2d_transpose (SAME with odd output sizes, VALID), depthwise_conv2d with a channel
    multiplier and a rate, separable_conv2d; values and gradients."""
    results: dict[str, Any] = {}
    with tf.Graph().as_default():
        value = tf.constant(_values((2, 4, 3, 4), 800))
        f = tf.constant(_values((3, 3, 2, 4), 801))
        images = tf.constant(_values((2, 7, 6, 3), 802))
        dw = tf.constant(_values((3, 2, 3, 2), 803))
        pw = tf.constant(_values((1, 1, 6, 4), 804))
        outputs = {
            "transpose SAME": tf.nn.conv2d_transpose(value, f, [2, 7, 6, 2], [1, 2, 2, 1]),
            "transpose VALID": tf.nn.conv2d_transpose(
                value, f, [2, 9, 7, 2], [1, 2, 2, 1], padding="VALID"
            ),
            "depthwise stride 2": tf.nn.depthwise_conv2d(images, dw, [1, 2, 2, 1], "SAME"),
            "depthwise rate 2": tf.nn.depthwise_conv2d(
                images, dw, [1, 1, 1, 1], "SAME", rate=[2, 2]
            ),
            "separable": tf.nn.separable_conv2d(images, dw, pw, [1, 1, 1, 1], "VALID"),
        }
        with tf.Session() as sess:
            for key, y in outputs.items():
                grads = tf.gradients(tf.reduce_sum(y * _weights(tf, y)), [value, f, images, dw])
                live = [g for g in grads if g is not None]
                got = sess.run([y, *live])
                results[f"{key} value"] = got[0]
                for i, g in enumerate(got[1:]):
                    results[f"{key} gradient {i}"] = g
    return results


@program("cnn_more_layers")
def cnn_more_layers(tf: Any) -> dict[str, Any]:
    """tf.layers conv2d_transpose ('same' and 'valid', strided) and conv1d: names, shapes,
    values and gradients, with an unknown batch size."""
    images = _values((2, 4, 3, 2), 900)
    signal = _values((2, 9, 3), 901)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4, 3, 2])
        s = tf.placeholder(tf.float32, [None, 9, 3])
        init = tf.constant_initializer(0.1)
        bias = tf.constant_initializer(0.2)
        outputs = {
            "transpose same": tf.layers.conv2d_transpose(
                x,
                3,
                3,
                strides=2,
                padding="same",
                kernel_initializer=init,
                bias_initializer=bias,
            ),
            "transpose valid": tf.layers.conv2d_transpose(
                x, 2, (3, 2), strides=(2, 3), kernel_initializer=init
            ),
            "conv1d same": tf.layers.conv1d(
                s, 4, 3, strides=2, padding="same", kernel_initializer=init
            ),
            "conv1d valid": tf.layers.conv1d(s, 2, 4, dilation_rate=2, kernel_initializer=init),
        }
        results: dict[str, Any] = {
            "variables": [v.name for v in tf.global_variables()],
            "shapes": [
                str([None if d is None else int(d) for d in y.shape]) for y in outputs.values()
            ],
        }
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            feed = {x: images, s: signal}
            for key, y in outputs.items():
                source = x if key.startswith("transpose") else s
                (grad,) = tf.gradients(tf.reduce_sum(y * _weights(tf, y)), [source])
                results[f"{key} value"], results[f"{key} gradient"] = sess.run([y, grad], feed)
    return results


@program("cnn_max_pool_with_argmax")
def cnn_max_pool_with_argmax(tf: Any) -> dict[str, Any]:
    """max_pool_with_argmax on windows with ties and SAME padding: values, flat indices
    (with and without the batch), and the gradient through the values."""
    results: dict[str, Any] = {}
    for i, case in enumerate(POOLS[:4]):
        x_shape, window, strides, padding = case
        ties = np.round(_values(x_shape, 950 + i) * 2.0) / 2.0
        with tf.Graph().as_default():
            x = tf.constant(ties)
            args = ([1, *window, 1], [1, *strides, 1], padding)
            y, argmax = tf.nn.max_pool_with_argmax(x, *args)
            _, with_batch = tf.nn.max_pool_with_argmax(x, *args, include_batch_in_index=True)
            (grad,) = tf.gradients(tf.reduce_sum(y * _weights(tf, y)), [x])
            with tf.Session() as sess:
                got = sess.run([y, argmax, with_batch, grad])
        for key, value in zip(
            ["value", "argmax", "argmax with batch", "gradient"], got, strict=True
        ):
            results[f"{_name(case)} {key}"] = value
    return results


@program("cnn_local_response_normalization")
def cnn_local_response_normalization(tf: Any) -> dict[str, Any]:
    """local_response_normalization with TF1's defaults and with a small radius."""
    x = _values((2, 3, 3, 7), 990) * 2.0
    with tf.Graph().as_default():
        xs = tf.constant(x)
        small = tf.nn.local_response_normalization(xs, 2, 0.5, 0.3, 0.75)
        (grad,) = tf.gradients(tf.reduce_sum(small * _weights(tf, small)), [xs])
        with tf.Session() as sess:
            got = sess.run([tf.nn.lrn(xs), small, grad])
    return dict(zip(["defaults", "radius 2", "gradient"], got, strict=True))


@program("cnn_partitioned_embeddings")
def cnn_partitioned_embeddings(tf: Any) -> dict[str, Any]:
    """embedding_lookup over a table split in three ('mod' and 'div'), and with max_norm."""
    parts = [_values((3, 2), 1000), _values((3, 2), 1001), _values((2, 2), 1002)]
    ids = [[0, 4, 7], [5, 1, 1]]
    results: dict[str, Any] = {}
    with tf.Graph().as_default():
        tables = [tf.constant(p * 3.0) for p in parts]
        with tf.Session() as sess:
            for strategy in ("mod", "div"):
                rows = tf.nn.embedding_lookup(tables, ids, partition_strategy=strategy)
                grads = tf.gradients(tf.reduce_sum(rows * _weights(tf, rows)), tables)
                dense = [tf.convert_to_tensor(g) for g in grads]
                got = sess.run([rows, *dense])
                results[f"{strategy} rows"] = got[0]
                for i, g in enumerate(got[1:]):
                    results[f"{strategy} gradient {i}"] = g
            clipped = tf.nn.embedding_lookup(tables[0], [[0, 2], [1, 1]], max_norm=1.0)
            results["max_norm rows"] = sess.run(clipped)
    return results
