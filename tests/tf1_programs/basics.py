"""TF1 programs on the basics: optimizers, schedules, reductions, losses, clipping, array ops,
gradients, names of variables, activations, dense layers and the nn helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import program


def _quadratic_problem(tf: Any, dtype: Any) -> tuple[Any, Any, Any]:
    """Two variables and a loss with a non-trivial gradient for each."""
    w = tf.Variable(np.array([[0.5, -1.0], [2.0, 0.25]]), dtype=dtype, name="w")
    b = tf.Variable(np.array([0.1, -0.3]), dtype=dtype, name="b")
    x = tf.constant(np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -0.7]]), dtype=dtype)
    y = tf.matmul(x, w) + b
    loss = tf.reduce_mean(tf.square(y - 1.0)) + 0.1 * tf.reduce_sum(tf.abs(w))
    return w, b, loss


def _train(tf: Any, make_optimizer: Callable[[], Any], dtype: Any, steps: int = 5) -> dict:
    """Variables, slots and losses after ``steps`` of an optimizer on the quadratic problem."""
    results: dict[str, Any] = {}
    with tf.Graph().as_default():
        w, b, loss = _quadratic_problem(tf, dtype)
        optimizer = make_optimizer()
        step = tf.train.get_or_create_global_step()
        train = optimizer.minimize(loss, global_step=step)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            losses = [sess.run([loss, train])[0] for _ in range(steps)]
            results["losses"] = np.array(losses)
            results["w"], results["b"], results["global_step"] = sess.run([w, b, step])
            for slot in sorted(optimizer.get_slot_names()):
                results[f"slot {slot} of w"] = sess.run(optimizer.get_slot(w, slot))
    return results


_OPTIMIZERS: dict[str, Callable[[Any], Any]] = {
    "gradient_descent": lambda tf: tf.train.GradientDescentOptimizer(0.1),
    "momentum": lambda tf: tf.train.MomentumOptimizer(0.1, momentum=0.9),
    "nesterov": lambda tf: tf.train.MomentumOptimizer(0.1, momentum=0.9, use_nesterov=True),
    "adam": lambda tf: tf.train.AdamOptimizer(0.05),
    "rmsprop": lambda tf: tf.train.RMSPropOptimizer(0.01, momentum=0.5),
    "rmsprop_centered": lambda tf: tf.train.RMSPropOptimizer(0.01, momentum=0.5, centered=True),
    "adagrad": lambda tf: tf.train.AdagradOptimizer(0.1),
}


def _optimizer_program(kind: str, dtype_name: str) -> None:
    @program(f"optimizer_{kind}_{dtype_name}")
    def run(tf: Any) -> dict[str, Any]:
        return _train(tf, lambda: _OPTIMIZERS[kind](tf), getattr(tf, dtype_name))


for _kind in _OPTIMIZERS:
    for _dtype in ("float32", "float64"):
        _optimizer_program(_kind, _dtype)


@program("learning_rate_schedules")
def learning_rate_schedules(tf: Any) -> dict[str, Any]:
    """Decayed learning rates at several steps, staircase and smooth."""
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, shape=[])
        smooth = tf.train.exponential_decay(0.1, step, 10, 0.5)
        stairs = tf.train.exponential_decay(0.1, step, 10, 0.5, staircase=True)
        with tf.Session() as sess:
            at = [0, 1, 9, 10, 25]
            return {
                "exponential": np.array([sess.run(smooth, {step: s}) for s in at]),
                "exponential staircase": np.array([sess.run(stairs, {step: s}) for s in at]),
            }


@program("reductions")
def reductions(tf: Any) -> dict[str, Any]:
    """Reductions with TF1's axis spellings and keep_dims."""
    x_value = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7.0 - 1.0
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, shape=[None, 3, 4])
        fetches = {
            "sum axis 1": tf.reduce_sum(x, axis=1),
            "mean reduction_indices": tf.reduce_mean(x, reduction_indices=[0, 2]),
            "max keep_dims": tf.reduce_max(x, axis=-1, keep_dims=True),
            "min all": tf.reduce_min(x),
            "prod axis 0": tf.reduce_prod(x, axis=0),
            "logsumexp axis 2": tf.reduce_logsumexp(x, axis=2),
            "argmax axis 1": tf.argmax(x, axis=1),
            "argmin axis 2": tf.argmin(x, axis=2),
        }
        with tf.Session() as sess:
            return sess.run(fetches, {x: x_value})


@program("losses")
def losses(tf: Any) -> dict[str, Any]:
    """``tf.losses`` with weights and the default reduction (SUM_BY_NONZERO_WEIGHTS)."""
    labels = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5]])
    logits = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0], [0.0, 0.0, 0.0], [-2.0, 1.0, 3.0]])
    weights = np.array([1.0, 0.0, 2.0, 0.5])
    with tf.Graph().as_default():
        lab = tf.constant(labels, dtype=tf.float32)
        log = tf.constant(logits, dtype=tf.float32)
        w = tf.constant(weights, dtype=tf.float32)
        probabilities = tf.nn.sigmoid(log)
        fetches = {
            "softmax_cross_entropy": tf.losses.softmax_cross_entropy(lab, log),
            "softmax_cross_entropy weighted": tf.losses.softmax_cross_entropy(lab, log, w),
            "softmax_cross_entropy smoothed": tf.losses.softmax_cross_entropy(
                lab, log, label_smoothing=0.1
            ),
            "sparse_softmax_cross_entropy": tf.losses.sparse_softmax_cross_entropy(
                tf.constant([1, 0, 2, 2]), log, w
            ),
            "sigmoid_cross_entropy": tf.losses.sigmoid_cross_entropy(lab, log),
            "mean_squared_error": tf.losses.mean_squared_error(lab, probabilities),
            "mean_squared_error weighted": tf.losses.mean_squared_error(
                lab, probabilities, tf.reshape(w, [4, 1])
            ),
            "log_loss": tf.losses.log_loss(lab, probabilities),
            "absolute_difference": tf.losses.absolute_difference(lab, probabilities),
            "huber_loss": tf.losses.huber_loss(lab, log, delta=0.5),
            "l2_loss": tf.nn.l2_loss(log),
        }
        with tf.Session() as sess:
            return sess.run(fetches)


@program("softmax_cross_entropy_gradients")
def softmax_cross_entropy_gradients(tf: Any) -> dict[str, Any]:
    """Cross-entropies and their gradients for labels that are distributions."""
    labels = np.array([[0.1, 0.6, 0.3], [1.0, 0.0, 0.0]])
    logits = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])
    with tf.Graph().as_default():
        lab = tf.placeholder(tf.float64, shape=[None, 3])
        log = tf.placeholder(tf.float64, shape=[None, 3])
        dense = tf.nn.softmax_cross_entropy_with_logits_v2(labels=lab, logits=log)
        sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.argmax(lab, axis=1), logits=log
        )
        sigmoid = tf.nn.sigmoid_cross_entropy_with_logits(labels=lab, logits=log)
        fetches = {
            "dense": dense,
            "dense gradient": tf.gradients(tf.reduce_mean(dense), log)[0],
            "sparse": sparse,
            "sparse gradient": tf.gradients(tf.reduce_sum(sparse), log)[0],
            "sigmoid": sigmoid,
            "sigmoid gradient": tf.gradients(tf.reduce_sum(sigmoid), log)[0],
        }
        with tf.Session() as sess:
            return sess.run(fetches, {lab: labels, log: logits})


@program("clipping")
def clipping(tf: Any) -> dict[str, Any]:
    """Clipping by value, by norm and by global norm."""
    a_value = np.array([[3.0, -4.0], [1.0, 2.0]])
    b_value = np.array([0.5, -12.0])
    with tf.Graph().as_default():
        a = tf.constant(a_value)
        b = tf.constant(b_value)
        clipped, norm = tf.clip_by_global_norm([a, b], 5.0)
        fetches = {
            "by value": tf.clip_by_value(a, -1.5, 2.5),
            "by norm": tf.clip_by_norm(a, 2.0),
            "by norm axis 1": tf.clip_by_norm(a, 2.0, axes=[1]),
            "global norm": norm,
            "by global norm a": clipped[0],
            "by global norm b": clipped[1],
        }
        with tf.Session() as sess:
            return sess.run(fetches)


@program("array_ops")
def array_ops(tf: Any) -> dict[str, Any]:
    """Shape-moving ops with TF1's conventions (padding modes, one_hot, gather, split)."""
    x_value = np.arange(12, dtype=np.float32).reshape(3, 4)
    with tf.Graph().as_default():
        x = tf.constant(x_value)
        ids = tf.constant([2, 0, 2])
        parts = tf.split(x, [1, 3], axis=1)
        fetches = {
            "pad constant": tf.pad(x, [[1, 0], [0, 2]], constant_values=-1.0),
            "pad reflect": tf.pad(x, [[1, 1], [2, 1]], mode="REFLECT"),
            "pad symmetric": tf.pad(x, [[2, 0], [0, 3]], mode="SYMMETRIC"),
            "one_hot": tf.one_hot(ids, 4, on_value=2.0, off_value=-1.0),
            "one_hot axis 0": tf.one_hot(ids, 3, axis=0),
            "gather": tf.gather(x, ids),
            "gather axis 1": tf.gather(x, [3, 1], axis=1),
            "split first": parts[0],
            "split second": parts[1],
            "tile": tf.tile(x, [2, 1]),
            "transpose": tf.transpose(x),
            "strided slice": x[::2, 1:-1],
            "reverse slice": x[::-1, ::-2],
            "concat": tf.concat([x, x * 2.0], axis=0),
            "stack axis 1": tf.stack([x[0], x[1]], axis=1),
            "expand_dims": tf.expand_dims(x, 1),
            "squeeze": tf.squeeze(tf.reshape(x, [1, 3, 1, 4]), axis=[0, 2]),
        }
        with tf.Session() as sess:
            return sess.run(fetches)


@program("broadcast_gradients")
def broadcast_gradients(tf: Any) -> dict[str, Any]:
    """Gradients reduced back to each input's shape, known or only at run time."""
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float64, shape=[None, 3])
        b = tf.placeholder(tf.float64, shape=[3])
        c = tf.placeholder(tf.float64, shape=[None, 1])
        y = tf.reduce_sum(tf.tanh(a * b + c) / (1.0 + b * b))
        grads = tf.gradients(y, [a, b, c])
        feed = {
            a: np.linspace(-1, 1, 6).reshape(2, 3),
            b: np.array([0.5, -1.0, 2.0]),
            c: np.array([[0.1], [-0.2]]),
        }
        with tf.Session() as sess:
            values = sess.run(grads, feed)
    return {"d/da": values[0], "d/db": values[1], "d/dc": values[2]}


@program("variable_scopes")
def variable_scopes(tf: Any) -> dict[str, Any]:
    """Operation names of variables made by get_variable in nested and reused scopes."""
    with tf.Graph().as_default():
        with tf.variable_scope("model"):
            with tf.variable_scope("layer1"):
                w1 = tf.get_variable("w", shape=[2, 3])
            with tf.variable_scope("layer2"):
                w2 = tf.get_variable("w", shape=[3, 1])
        with tf.variable_scope("model", reuse=True):
            with tf.variable_scope("layer1"):
                again = tf.get_variable("w", shape=[2, 3])
        trainable = [v.op.name for v in tf.trainable_variables()]
        return {
            "names": [w1.op.name, w2.op.name, again.op.name],
            "reused is the same": again is w1,
            "trainable": trainable,
        }


@program("integer_and_rounding_semantics")
def integer_and_rounding_semantics(tf: Any) -> dict[str, Any]:
    """Where TF1 differs from plain Python or NumPy habits: integer division, rounding, ties."""
    with tf.Graph().as_default():
        a = tf.constant([7, -7, 7, -7, 0])
        b = tf.constant([2, 2, -2, -2, 3])
        x = tf.constant([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999])
        ties = tf.constant([[1.0, 3.0, 3.0], [2.0, 2.0, 1.0]])
        fetches = {
            "floordiv": tf.floordiv(a, b),
            "floormod": tf.floormod(a, b),
            "truediv of ints": tf.truediv(a, b),
            "divide of ints": tf.divide(a, b),
            "integer mean": tf.reduce_mean(tf.constant([1, 2, 2])),
            "round half to even": tf.round(x),
            "sign": tf.sign(x),
            "argmax ties": tf.argmax(ties, axis=1),
            "argmin ties": tf.argmin(ties, axis=1),
            "one_hot of -1": tf.one_hot([1, -1], 3),
            "cast float to int": tf.cast(tf.constant([1.7, -1.7, 2.5]), tf.int32),
            "clip ints": tf.clip_by_value(a, -3, 4),
        }
        with tf.Session() as sess:
            return sess.run(fetches)


@program("activations")
def activations(tf: Any) -> dict[str, Any]:
    """TF1's activation functions and their defaults, with gradients."""
    x_value = np.array([-3.0, -1.0, -0.1, 0.0, 0.2, 1.0, 7.5])
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, shape=[None])
        outputs = {
            "relu": tf.nn.relu(x),
            "relu6": tf.nn.relu6(x),
            "leaky_relu": tf.nn.leaky_relu(x),
            "leaky_relu 0.1": tf.nn.leaky_relu(x, alpha=0.1),
            "elu": tf.nn.elu(x),
            "selu": tf.nn.selu(x),
            "softsign": tf.nn.softsign(x),
            "softplus": tf.nn.softplus(x),
            "sigmoid": tf.sigmoid(x),
            "tanh": tf.tanh(x),
        }
        fetches = dict(outputs)
        for name, y in outputs.items():
            fetches[f"d {name}"] = tf.gradients(tf.reduce_sum(y), x)[0]
        with tf.Session() as sess:
            return sess.run(fetches, {x: x_value})


@program("layers_dense")
def layers_dense(tf: Any) -> dict[str, Any]:
    """``tf.layers.dense``: variable names, shapes and the output for set weights."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, shape=[None, 3])
        first = tf.layers.dense(x, 4, activation=tf.nn.relu)
        second = tf.layers.dense(first, 2, use_bias=False, name="logits")
        third = tf.layers.dense(x, 1)
        variables = tf.trainable_variables()
        assigns = [
            v.assign(
                np.linspace(-1.0, 1.0, int(np.prod(v.get_shape().as_list()))).reshape(
                    v.get_shape().as_list()
                )
            )
            for v in variables
        ]
        with tf.Session() as sess:
            sess.run(assigns)
            outputs = sess.run([second, third], {x: np.array([[1.0, -2.0, 0.5]])})
        return {
            "variable names": [v.op.name for v in variables],
            "variable shapes": [str(v.get_shape().as_list()) for v in variables],
            "logits": outputs[0],
            "third": outputs[1],
        }


@program("nn_and_linear_algebra")
def nn_and_linear_algebra(tf: Any) -> dict[str, Any]:
    """TF1's nn helpers and products, with their axis and transpose conventions."""
    a_value = np.linspace(-2.0, 3.0, 12).reshape(3, 4)
    b_value = np.linspace(1.0, -1.0, 8).reshape(4, 2)
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float64, shape=[None, 4])
        b = tf.constant(b_value)
        batch = tf.reshape(tf.tile(a, [2, 1]), [2, 3, 4])
        mean, variance = tf.nn.moments(a, axes=[0])
        fetches = {
            "matmul": tf.matmul(a, b),
            "matmul transpose_a": tf.matmul(a, a, transpose_a=True),
            "matmul transpose_b": tf.matmul(a, a, transpose_b=True),
            "batch matmul": tf.matmul(batch, tf.transpose(batch, [0, 2, 1])),
            "tensordot": tf.tensordot(a, b, axes=1),
            "einsum": tf.einsum("ij,jk->ik", a, b),
            "bias_add": tf.nn.bias_add(a, tf.constant([1.0, 2.0, 3.0, 4.0], tf.float64)),
            "softmax axis 0": tf.nn.softmax(a, axis=0),
            "log_softmax": tf.nn.log_softmax(a),
            "moments mean": mean,
            "moments variance": variance,
            "l2_normalize": tf.nn.l2_normalize(a, axis=1),
            "where rows": tf.where(tf.constant([True, False, True]), a, -a),
            "where elementwise": tf.where(a > 0.0, a, tf.zeros_like(a)),
            "squared_difference": tf.squared_difference(a, 1.0),
            "rsqrt": tf.rsqrt(tf.abs(a) + 1.0),
            "log1p": tf.log1p(tf.abs(a)),
            "add_n": tf.add_n([a, a * 2.0, a * 3.0]),
        }
        grads = tf.gradients(tf.reduce_sum(fetches["l2_normalize"] * fetches["softmax axis 0"]), a)
        fetches["gradient"] = grads[0]
        fetches["where rows gradient"] = tf.gradients(
            tf.reduce_sum(fetches["where rows"] * fetches["where rows"]), a
        )[0]
        with tf.Session() as sess:
            return sess.run(fetches, {a: a_value})


@program("operations_and_tensors")
def operations_and_tensors(tf: Any) -> dict[str, Any]:
    """Tensor names ``op:i``, operation names, multi-output ops and train ops as operations."""
    with tf.Graph().as_default() as graph:
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        w = tf.Variable(tf.ones([4, 2]), name="w")
        with tf.variable_scope("layer"):
            v = tf.get_variable("v", shape=[2], initializer=tf.zeros_initializer())
        y = tf.add(tf.matmul(x, w, name="product"), v, name="y")
        left, right = tf.split(x, 2, axis=1)
        columns = tf.unstack(x, axis=1)
        loss = tf.reduce_sum(tf.square(y), name="loss")
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            ran = sess.run(train, {x: [[1.0, 2.0, 3.0, 4.0]]})
        return {
            "tensor names": [t.name for t in (x, w, v, y, left, right, columns[3], loss)],
            "op names": [t.op.name for t in (x, w, v, y, left, right, columns[3], loss)],
            "value indices": [left.value_index, right.value_index, columns[3].value_index],
            "outputs of split": len(left.op.outputs),
            "same split op": left.op is right.op,
            "op types": [x.op.type, left.op.type],
            "tensor by name is x": graph.get_tensor_by_name("x:0") is x,
            "operation by name is y's": graph.get_operation_by_name("y") is y.op,
            "train op is an operation": isinstance(train, tf.Operation),
            "running the train op gives": repr(ran),
            "input names of the product": [t.name for t in y.op.inputs[0].op.inputs[:1]],
        }


@program("names_in_scopes")
def names_in_scopes(tf: Any) -> dict[str, Any]:
    """get_variable follows variable scopes and ignores name scopes; the global step is made
    in the current variable scope; tf.losses name their result ``<loss>/value``."""
    with tf.Graph().as_default():
        with tf.variable_scope("a"):
            with tf.name_scope("b"):
                in_both = tf.get_variable("v", [1])
                op_in_both = tf.identity(in_both, name="read")
        with tf.name_scope("c"):
            in_name_scope = tf.get_variable("u", [1])
        with tf.variable_scope("net"):
            with tf.name_scope("inner"):
                step = tf.train.get_or_create_global_step()
        x = tf.placeholder(tf.float32, [None, 3])
        y = tf.placeholder(tf.float32, [None, 3])
        losses = [
            tf.losses.mean_squared_error(x, y),
            tf.losses.absolute_difference(x, y, weights=2.0),
            tf.losses.mean_squared_error(x, y, weights=tf.ones([1, 3])),
            tf.losses.softmax_cross_entropy(x, y),
            tf.losses.compute_weighted_loss(x),
        ]
        return {
            "variable names": [in_both.name, in_name_scope.name, step.name],
            "op in both scopes": op_in_both.op.name,
            "loss names": [loss.name for loss in losses],
            "collected losses": [loss.name for loss in tf.losses.get_losses()],
        }
