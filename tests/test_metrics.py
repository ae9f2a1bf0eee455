"""tf.metrics: local counters, update ops whose value is the updated metric, bad inputs."""

import numpy as np
import pytest

import chainrule.compat.v1 as tf
from chainrule.errors import InvalidArgumentError, ShapeError


def test_accuracy_streams_over_batches_and_resets_with_local_initializer():
    labels = tf.placeholder(tf.int64, [None])
    predictions = tf.placeholder(tf.int64, [None])
    value, update_op = tf.metrics.accuracy(labels, predictions)
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        assert sess.run(value) == 0.0
        assert sess.run(update_op, {labels: [1, 0], predictions: [1, 1]}) == 0.5
        assert sess.run(update_op, {labels: [1, 1], predictions: [1, 1]}) == 0.75
        assert sess.run(value) == 0.75
        sess.run(tf.local_variables_initializer())
        assert sess.run(value) == 0.0


def test_metric_counters_are_local_non_trainable_metric_variables():
    tf.metrics.precision(tf.constant([1, 0]), tf.constant([1, 1]))
    names = [v.name for v in tf.local_variables()]
    assert names == ["precision/true_positives/count:0", "precision/false_positives/count:0"]
    assert tf.get_collection("metric_variables") == tf.local_variables()
    assert tf.trainable_variables() == [] and tf.global_variables() == []


def test_metrics_collections_receive_value_and_update():
    value, update_op = tf.metrics.mean(
        tf.constant([1.0, 2.0]), metrics_collections=["m"], updates_collections="u"
    )
    assert tf.get_collection("m") == [value] and tf.get_collection("u") == [update_op]


def test_mismatched_static_shapes_fail_when_built_naming_the_predictions():
    labels = tf.constant([1, 0, 1], name="labels")
    predictions = tf.constant([1, 0], name="predictions")
    with pytest.raises(ShapeError, match="Const 'predictions'.*labels 'labels:0'"):
        tf.metrics.accuracy(labels, predictions)
    with pytest.raises(ShapeError, match="predictions"):
        tf.metrics.mean_squared_error(tf.constant([1.0, 2.0]), tf.constant([[1.0, 2.0]]))


def test_mismatched_shapes_known_only_at_run_time_fail_naming_a_node():
    labels = tf.placeholder(tf.int64, [None])
    predictions = tf.placeholder(tf.int64, [None])
    _, update_op = tf.metrics.accuracy(labels, predictions)
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        with pytest.raises(InvalidArgumentError, match="'accuracy/|'Equal"):
            sess.run(update_op, {labels: [1, 0, 1], predictions: [1, 0]})


def test_weights_that_do_not_broadcast_to_the_values_are_refused():
    with pytest.raises(ShapeError, match="weights of shape"):
        tf.metrics.mean(tf.constant([1.0, 2.0]), weights=tf.constant([1.0, 2.0, 3.0]))


def test_squeezable_last_dimension_of_predictions_is_removed():
    value, update_op = tf.metrics.accuracy(tf.constant([1, 0]), tf.constant([[1], [1]]))
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        assert sess.run(update_op) == 0.5


def test_auc_rejects_unknown_curves_and_summations():
    labels, scores = tf.constant([1, 0]), tf.constant([0.8, 0.3])
    with pytest.raises(InvalidArgumentError, match="curve"):
        tf.metrics.auc(labels, scores, curve="XY")
    with pytest.raises(InvalidArgumentError, match="summation_method"):
        tf.metrics.auc(labels, scores, summation_method="simpson")


def test_auc_of_perfectly_ranked_scores_is_one():
    _, update_op = tf.metrics.auc(tf.constant([1, 0, 1, 0]), tf.constant([0.9, 0.1, 0.8, 0.3]))
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        np.testing.assert_allclose(sess.run(update_op), 1.0, atol=1e-5)


def test_precision_is_zero_before_anything_is_predicted():
    value, _ = tf.metrics.precision(tf.constant([1, 0]), tf.constant([0, 0]))
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        assert sess.run(value) == 0.0
