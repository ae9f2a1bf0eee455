"""TF1 programs on control flow: ``cond`` (values, gradients, side effects of the taken branch
only), ``while_loop`` (values, gradients with respect to inputs and captured tensors,
``maximum_iterations``, shape invariants), ``map_fn``/``scan``/``foldl``, and LSTM and GRU
``dynamic_rnn`` with constant-initialized weights (outputs, state, gradients, variable names)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import program

_X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=np.float32)


@program("control_cond")
def control_cond(tf: Any) -> dict[str, Any]:
    """Both branches of a ``cond`` on a fed predicate: values and gradients of each input."""
    results: dict[str, Any] = {}
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, [])
        x = tf.constant(_X)
        w = tf.constant(np.array([2.0, -1.0, 0.5], np.float32))
        y = tf.cond(pred, lambda: tf.reduce_sum(tf.sin(x) * w), lambda: tf.reduce_sum(x * x))
        nested = tf.cond(
            pred,
            lambda: tf.cond(tf.reduce_sum(x) > 0.0, lambda: x * 3.0, lambda: x),
            lambda: tf.exp(x),
        )
        grads = tf.gradients([y, nested], [x, w])
        with tf.Session() as sess:
            for taken in (True, False):
                value, nested_value, gx, gw = sess.run([y, nested, *grads], {pred: taken})
                results[f"value {taken}"] = value
                results[f"nested {taken}"] = nested_value
                results[f"d/dx {taken}"] = gx
                results[f"d/dw {taken}"] = gw
    return results


@program("control_cond_side_effects")
def control_cond_side_effects(tf: Any) -> dict[str, Any]:
    """An ``assign_add`` inside a branch happens only when that branch is taken."""
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, [])
        taken = tf.Variable(0.0, name="taken")
        untaken = tf.Variable(0.0, name="untaken")

        def true_fn() -> Any:
            return tf.assign_add(taken, 1.0) * 2.0

        def false_fn() -> Any:
            return tf.assign_add(untaken, 10.0) + 1.0

        out = tf.cond(pred, true_fn, false_fn)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            ran = [sess.run(out, {pred: p}) for p in (True, True, False, True)]
            return {"outputs": np.array(ran), "counters": np.array(sess.run([taken, untaken]))}


@program("control_while")
def control_while(tf: Any) -> dict[str, Any]:
    """A loop whose count is known only at run time: values and gradients with respect to the
    loop's input and to a tensor captured from outside."""
    results: dict[str, Any] = {}
    with tf.Graph().as_default():
        limit = tf.placeholder(tf.float32, [])
        x = tf.constant(_X[0])
        scale = tf.constant(np.float32(0.7))

        def body(i: Any, v: Any) -> Any:
            return i + 1, tf.tanh(v) * scale + v * 1.2

        steps, final = tf.while_loop(lambda i, v: tf.reduce_sum(v) < limit, body, [0, x])
        loss = tf.reduce_sum(final * final)
        gx, gscale = tf.gradients(loss, [x, scale])
        with tf.Session() as sess:
            for bound in (0.0, 3.0, 6.0):
                feed = {limit: bound}
                n, value, dx, dscale = sess.run([steps, final, gx, gscale], feed)
                results[f"steps {bound}"] = n
                results[f"final {bound}"] = value
                results[f"d/dx {bound}"] = dx
                results[f"d/dscale {bound}"] = dscale
    return results


@program("control_while_limits")
def control_while_limits(tf: Any) -> dict[str, Any]:
    """``maximum_iterations`` stops a loop; shape invariants let a dimension grow."""
    with tf.Graph().as_default():
        x = tf.constant(np.float32(1.5))
        capped = tf.while_loop(lambda v: v < 1e6, lambda v: v * v, [x], maximum_iterations=3)
        gx = tf.gradients(capped, x)[0]
        grown = tf.while_loop(
            lambda i, r: i < 3,
            lambda i, r: (i + 1, tf.concat([r, r * 2.0], 0)),
            [tf.constant(0), tf.constant([1.0, -1.0])],
            shape_invariants=[tf.TensorShape([]), tf.TensorShape([None])],
        )[1]
        with tf.Session() as sess:
            return {
                "capped": sess.run(capped),
                "d capped/dx": sess.run(gx),
                "grown": sess.run(grown),
                "grown static shape": str(grown.get_shape().as_list()),
            }


@program("control_nested")
def control_nested(tf: Any) -> dict[str, Any]:
    """``cond`` inside ``while_loop`` and ``while_loop`` inside ``cond``, with the gradients of
    a variable used both inside and outside the loop."""
    with tf.Graph().as_default():
        w = tf.Variable(np.array([0.8, -0.6, 1.1], np.float32), name="w")

        def body(i: Any, v: Any) -> Any:
            bent = tf.cond(tf.reduce_sum(v) > 0.0, lambda: v * w, lambda: v + w)
            return i + 1, bent

        looped = tf.while_loop(lambda i, v: i < 4, body, [0, w])[1]
        pred = tf.placeholder(tf.bool, [])
        branched = tf.cond(
            pred,
            lambda: tf.while_loop(lambda k, v: k < 3, lambda k, v: (k + 1, tf.sin(v) * w), [0, w])[
                1
            ],
            lambda: w * w,
        )
        loss = tf.reduce_sum(looped * w) + tf.reduce_sum(branched)
        grad = tf.gradients(loss, w)[0]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            results: dict[str, Any] = {"looped": sess.run(looped)}
            for taken in (True, False):
                value, g = sess.run([branched, grad], {pred: taken})
                results[f"branched {taken}"] = value
                results[f"d/dw {taken}"] = g
    return results


@program("control_map_scan_fold")
def control_map_scan_fold(tf: Any) -> dict[str, Any]:
    """``map_fn``, ``scan``, ``foldl`` and ``foldr`` with their gradients."""
    with tf.Graph().as_default():
        x = tf.constant(_X)
        mapped = tf.map_fn(lambda row: tf.reduce_sum(row * row) + row[0], x)
        scanned = tf.scan(lambda acc, row: acc * 0.5 + tf.sin(row), x)
        summed = tf.foldl(lambda acc, row: acc + row * row, x, initializer=tf.zeros([3]))
        reversed_ = tf.foldr(lambda acc, row: acc * 2.0 - row, x)
        loss = (
            tf.reduce_sum(mapped)
            + tf.reduce_sum(scanned * scanned)
            + tf.reduce_sum(summed)
            + tf.reduce_sum(tf.square(reversed_))
        )
        gx = tf.gradients(loss, x)[0]
        with tf.Session() as sess:
            values = sess.run(
                {"map_fn": mapped, "scan": scanned, "foldl": summed, "foldr": reversed_, "d/dx": gx}
            )
    return values


def _rnn(tf: Any, cell_name: str) -> dict[str, Any]:
    """A ``dynamic_rnn`` of a cell with constant weights on a fed batch with lengths."""
    inputs = np.sin(np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3) * 0.3)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 4, 3])
        with tf.variable_scope("model"):
            if cell_name == "lstm":
                cell = tf.nn.rnn_cell.BasicLSTMCell(4, forget_bias=1.0)
            else:
                cell = tf.nn.rnn_cell.GRUCell(4)
            outputs, state = tf.nn.dynamic_rnn(
                cell, x, sequence_length=tf.constant([4, 2]), dtype=tf.float32
            )
        flat_state = list(state) if isinstance(state, tuple) else [state]
        loss = tf.reduce_sum(outputs * outputs) + sum(tf.reduce_sum(s) for s in flat_state)
        variables = tf.trainable_variables()
        grads = tf.gradients(loss, [x, *variables])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for v in variables:
                shape = v.get_shape().as_list()
                fixed = np.linspace(-0.5, 0.5, int(np.prod(shape)), dtype=np.float32)
                sess.run(v.assign(fixed.reshape(shape)))
            out, states, grad_values = sess.run([outputs, flat_state, grads], {x: inputs})
    results: dict[str, Any] = {
        "outputs": out,
        "variable names": [v.name for v in variables],
        "d/dinputs": grad_values[0],
    }
    for k, value in enumerate(states):
        results[f"state {k}"] = value
    for v, g in zip(variables, grad_values[1:], strict=True):
        results[f"d/d{v.op.name}"] = g
    return results


@program("control_dynamic_rnn_lstm")
def control_dynamic_rnn_lstm(tf: Any) -> dict[str, Any]:
    """``BasicLSTMCell`` in ``dynamic_rnn``: TF1's gate order, names and sequence lengths."""
    return _rnn(tf, "lstm")


@program("control_dynamic_rnn_gru")
def control_dynamic_rnn_gru(tf: Any) -> dict[str, Any]:
    """``GRUCell`` in ``dynamic_rnn``: TF1's reset-before-product and its variable names."""
    return _rnn(tf, "gru")
