"""TF1 programs on everything around the model: graph collections, streaming metrics,
hessians and placeholders with defaults. Names are compared as operation names (``v.op.name``),
which TF and chainrule spell alike."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import program


def _op_names(items: list[Any]) -> list[str]:
    return [item.op.name for item in items]


@program("collections")
def collections(tf: Any) -> dict[str, Any]:
    """What variables, losses, the global step and user code put into which collection."""
    with tf.Graph().as_default():
        with tf.variable_scope("net"):
            w = tf.get_variable("w", shape=[2], initializer=tf.zeros_initializer())
            tf.Variable(1.0, trainable=False, name="frozen")
        with tf.variable_scope("net", reuse=True):
            shared = tf.get_variable("w")
        tf.Variable(0.0, collections=[tf.GraphKeys.LOCAL_VARIABLES], name="local")
        tf.train.get_or_create_global_step()
        loss = tf.losses.mean_squared_error(tf.constant([1.0, 2.0]), w)
        tf.add_to_collection("mine", w)
        tf.add_to_collections(["mine", "theirs"], tf.constant(3.0, name="three"))
        keys = tf.GraphKeys
        return {
            "keys": [
                keys.GLOBAL_VARIABLES,
                keys.TRAINABLE_VARIABLES,
                keys.LOCAL_VARIABLES,
                keys.UPDATE_OPS,
                keys.LOSSES,
                keys.REGULARIZATION_LOSSES,
                keys.SUMMARIES,
                keys.GLOBAL_STEP,
                keys.MODEL_VARIABLES,
            ],
            "shared is w": shared is w,
            "global": _op_names(tf.global_variables()),
            "trainable": _op_names(tf.trainable_variables()),
            "local": _op_names(tf.local_variables()),
            "global_step": _op_names(tf.get_collection(tf.GraphKeys.GLOBAL_STEP)),
            "losses are the loss": tf.get_collection(tf.GraphKeys.LOSSES) == [loss],
            "global in scope net": _op_names(tf.get_collection("variables", scope="net")),
            "global matching .*l": _op_names(tf.get_collection("variables", scope=".*l")),
            "mine": _op_names(tf.get_collection("mine")),
            "theirs": _op_names(tf.get_collection_ref("theirs")),
            "collection keys": sorted(tf.get_default_graph().get_all_collection_keys()),
        }


@program("collections_reuse")
def collections_reuse(tf: Any) -> dict[str, Any]:
    """reuse_variables, AUTO_REUSE and a refused reuse leave one variable per name."""
    with tf.Graph().as_default():
        with tf.variable_scope("model") as scope:
            tf.get_variable("w", shape=[1])
            scope.reuse_variables()
            again = tf.get_variable("w", shape=[1])
        for _ in range(2):
            with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
                tf.get_variable("v", shape=[1])
        refused = False
        with tf.variable_scope("missing", reuse=True):
            try:
                tf.get_variable("x", shape=[1])
            except ValueError:
                refused = True
        return {
            "reused name": again.op.name,
            "refused": refused,
            "trainable": _op_names(tf.trainable_variables()),
        }


_LABELS = [np.array([1, 0, 1, 1]), np.array([0, 0, 1]), np.array([1, 1, 0, 0, 1])]
_CLASSES = [np.array([1, 1, 0, 1]), np.array([0, 1, 1]), np.array([1, 0, 0, 1, 1])]
_SCORES = [
    np.array([0.9, 0.6, 0.3, 0.8]),
    np.array([0.1, 0.7, 0.55]),
    np.array([0.95, 0.2, 0.4, 0.65, 0.5]),
]
_WEIGHTS = [np.array([1.0, 2.0, 0.5, 1.0]), np.array([1.0, 1.0, 3.0]), np.array([0, 1, 2, 1, 1.0])]


def _metrics(tf: Any, labels: Any, classes: Any, scores: Any, weights: Any) -> dict[str, Any]:
    """Every metric, unweighted and weighted, on the same batch placeholders."""
    as_float = tf.cast(labels, tf.float32)
    return {
        "accuracy": tf.metrics.accuracy(labels, classes),
        "accuracy weighted": tf.metrics.accuracy(labels, classes, weights=weights),
        "mean": tf.metrics.mean(scores),
        "mean weighted": tf.metrics.mean(scores, weights=weights),
        "precision": tf.metrics.precision(labels, classes),
        "precision weighted": tf.metrics.precision(labels, classes, weights=weights),
        "recall": tf.metrics.recall(labels, classes),
        "recall weighted": tf.metrics.recall(labels, classes, weights=weights),
        "auc": tf.metrics.auc(labels, scores),
        "auc weighted": tf.metrics.auc(labels, scores, weights=weights, num_thresholds=50),
        "auc PR majoring": tf.metrics.auc(labels, scores, curve="PR", summation_method="majoring"),
        "auc PR careful": tf.metrics.auc(
            labels, scores, curve="PR", summation_method="careful_interpolation"
        ),
        "auc ROC careful": tf.metrics.auc(labels, scores, summation_method="careful_interpolation"),
        "mse": tf.metrics.mean_squared_error(as_float, scores),
        "mse weighted": tf.metrics.mean_squared_error(as_float, scores, weights=weights),
    }


@program("metrics")
def metrics(tf: Any) -> dict[str, Any]:
    """Metric values after each update, the values read after all batches, and the names of
    the metrics' local variables."""
    with tf.Graph().as_default():
        labels = tf.placeholder(tf.int64, [None])
        classes = tf.placeholder(tf.int64, [None])
        scores = tf.placeholder(tf.float32, [None])
        weights = tf.placeholder(tf.float32, [None])
        found = _metrics(tf, labels, classes, scores, weights)
        updates = {name: update for name, (_, update) in found.items()}
        values = {name: value for name, (value, _) in found.items()}
        results: dict[str, Any] = {
            "local variables": _op_names(tf.local_variables()),
            "metric variables": _op_names(tf.get_collection("metric_variables")),
            "trainable": _op_names(tf.trainable_variables()),
            "value names": sorted(value.op.name for value in values.values()),
            "update names": sorted(update.op.name for update in updates.values()),
        }
        with tf.Session() as sess:
            sess.run(tf.local_variables_initializer())
            results["before any update"] = sess.run(values)
            steps = []
            for batch in zip(_LABELS, _CLASSES, _SCORES, _WEIGHTS, strict=True):
                feed = dict(zip((labels, classes, scores, weights), batch, strict=True))
                steps.append(sess.run(updates, feed))
            for name in updates:
                results[f"{name} after each update"] = np.array([s[name] for s in steps])
            results["values after all updates"] = sess.run(values)
            sess.run(tf.local_variables_initializer())
            results["values after reset"] = sess.run(values)
        return results


@program("hessians")
def hessians(tf: Any) -> dict[str, Any]:
    """Hessians of a small function of a vector and a matrix, one per x."""
    with tf.Graph().as_default():
        x = tf.constant(np.array([1.0, -2.0, 0.5]))
        m = tf.constant(np.array([[1.0, 2.0], [0.5, -1.0]]))
        y = (
            tf.reduce_sum(x**3)
            + x[0] * x[1] * x[2]
            + tf.reduce_sum(tf.matmul(m, m) * m)
            + tf.reduce_sum(tf.sin(m))
        )
        hx, hm = tf.hessians(y, [x, m])
        (hs,) = tf.hessians(tf.reduce_sum(tf.exp(x) * tf.exp(2.0 * x[0])), x)
        with tf.Session() as sess:
            return dict(zip(("of x", "of m", "of exp"), sess.run([hx, hm, hs]), strict=True))


@program("placeholder_with_default")
def placeholder_with_default(tf: Any) -> dict[str, Any]:
    """Its value is the default unless fed; fed values may take any size the shape allows."""
    with tf.Graph().as_default():
        value = tf.placeholder_with_default(tf.constant([1.0, 2.0]), shape=[None])
        doubled = value * 2.0
        with tf.Session() as sess:
            return {
                "not fed": sess.run(doubled),
                "fed": sess.run(doubled, {value: [3.0, 4.0, 5.0]}),
                "not fed again": sess.run(doubled),
                "static shape": [str(d) for d in value.get_shape().as_list()],
            }


@program("regularization_loss")
def regularization_loss(tf: Any) -> dict[str, Any]:
    """Layer regularizers collect their terms; ``get_regularization_loss`` sums them."""
    with tf.Graph().as_default():
        empty = tf.losses.get_regularization_loss()
        x = tf.constant(np.arange(6, dtype=np.float32).reshape(1, 2, 3, 1) / 6.0)
        penalty = lambda w: 0.01 * tf.nn.l2_loss(w)  # noqa: E731 - as TF1 programs write it
        ones = tf.ones_initializer()
        h = tf.layers.conv2d(x, 2, 2, kernel_initializer=ones, kernel_regularizer=penalty)
        tf.layers.dense(
            tf.layers.flatten(h), 3, kernel_initializer=ones, kernel_regularizer=penalty
        )
        total = tf.losses.get_regularization_loss()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values = sess.run({"empty": empty, "total": total})
        return {
            "values": values,
            "names": [empty.name, total.name],
            "terms": len(tf.losses.get_regularization_losses()),
        }
