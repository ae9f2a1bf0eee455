"""TF1 programs on ``tf.summary``: the tags summaries get in name scopes, and the buckets of
a histogram (the serialized bytes themselves are not compared)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import program

_VALUES = np.array([-3.5, -0.2, 0.0, 0.0, 1e-13, 0.7, 1.0, 2.5, 2.5, 1000.0], np.float32)


def _summary(tf: Any, serialized: bytes) -> Any:
    return tf.summary.Summary.FromString(serialized)


@program("summary_tags_in_name_scopes")
def tags(tf: Any) -> dict[str, Any]:
    """Tags of scalars, histograms and images in nested and repeated name scopes."""
    with tf.Graph().as_default():
        x = tf.constant(_VALUES, name="x")
        images = tf.reshape(tf.tile(x[:6], [2]), [2, 2, 3, 1])
        with tf.name_scope("train"):
            loss = tf.reduce_mean(x, name="loss")
            first = tf.summary.scalar("loss", loss)
            again = tf.summary.scalar("loss", loss)
            with tf.name_scope("layer"):
                weights = tf.summary.histogram("weights", x)
        odd = tf.summary.scalar("odd name!", loss)
        one = tf.summary.image("digits", images, max_outputs=1)
        many = tf.summary.image("digits", images, max_outputs=3)
        merged = tf.summary.merge_all()
        with tf.Session() as sess:
            tags_of_merged = [v.tag for v in _summary(tf, sess.run(merged)).value]
        return {
            "op names": [op.op.name for op in (first, again, weights, odd, one, many)],
            "merged tags": tags_of_merged,
            "collection size": len(tf.get_default_graph().get_collection("summaries")),
        }


@program("summary_histogram_buckets")
def histogram_buckets(tf: Any) -> dict[str, Any]:
    """TF1's exponential bucket edges, empty runs collapsed, and the statistics."""
    with tf.Graph().as_default():
        summary = tf.summary.histogram("values", tf.constant(_VALUES))
        with tf.Session() as sess:
            histo = _summary(tf, sess.run(summary)).value[0].histo
    return {
        "bucket_limit": np.array(histo.bucket_limit, np.float64),
        "bucket": np.array(histo.bucket, np.float64),
        "stats": np.array([histo.min, histo.max, histo.num, histo.sum, histo.sum_squares]),
    }
