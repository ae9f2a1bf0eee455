"""``tf.summary`` writes event files that TensorBoard's own reader reads back."""

import io
import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.compat.v1 as tf
from chainrule.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    MissingDependencyError,
    ShapeError,
)
from chainrule.ops.registry import gradient_function

pytest.importorskip("tensorboard")
from PIL import Image  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)
from tensorboard.util import tensor_util  # noqa: E402


def read_back(logdir) -> EventAccumulator:
    """Everything in ``logdir``, as TensorBoard loads it (no sampling)."""
    accumulator = EventAccumulator(
        str(logdir), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0}
    )
    accumulator.Reload()
    return accumulator


def write(logdir, graph, summary, feeds_per_step):
    """Run ``summary`` once per feed dict and write each value at its step."""
    with cr.Session(graph=graph) as sess, tf.summary.FileWriter(str(logdir)) as writer:
        for step, feeds in enumerate(feeds_per_step):
            writer.add_summary(sess.run(summary, feeds), global_step=step)


def test_scalars_are_read_back_with_their_steps(tmp_path):
    graph = cr.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [], name="x")
        with tf.name_scope("train"):
            tf.summary.scalar("loss", x * 2.0)
        merged = tf.summary.merge_all()
    write(tmp_path, graph, merged, [{x: 1.5}, {x: -0.25}, {x: 4.0}])
    events = read_back(tmp_path).Scalars("train/loss")
    assert [(e.step, e.value) for e in events] == [(0, 3.0), (1, -0.5), (2, 8.0)]


def test_a_histogram_counts_every_value_and_knows_min_and_max(tmp_path):
    values = np.random.default_rng(0).normal(size=(50, 7)).astype(np.float32)
    graph = cr.Graph()
    with graph.as_default():
        summary = tf.summary.histogram("weights", tf.constant(values))
    write(tmp_path, graph, summary, [{}])
    (event,) = read_back(tmp_path).Histograms("weights")
    histo = event.histogram_value
    assert sum(histo.bucket) == histo.num == values.size
    assert histo.min == pytest.approx(values.min()) and histo.max == pytest.approx(values.max())
    assert histo.sum == pytest.approx(float(values.astype(np.float64).sum()))
    assert list(histo.bucket_limit) == sorted(histo.bucket_limit)


def test_a_histogram_of_nan_fails_naming_the_summary():
    with cr.Graph().as_default(), cr.Session() as sess:
        summary = tf.summary.histogram("bad", tf.constant([1.0, np.nan]))
        with pytest.raises(InvalidArgumentError, match="NaN in the values of histogram 'bad'"):
            sess.run(summary)


def test_images_are_png_with_tf1_scaling_and_tags(tmp_path):
    pixels = np.array([0.0, 0.25, 0.5, 1.0, 2.0], np.float32).reshape(1, 1, 5, 1)
    graph = cr.Graph()
    with graph.as_default():
        batch = tf.constant(np.concatenate([pixels, -pixels]))
        tf.summary.image("one", batch, max_outputs=1)
        tf.summary.image("some", batch, max_outputs=3)
        merged = tf.summary.merge_all()
    write(tmp_path, graph, merged, [{}])
    loaded = read_back(tmp_path)
    assert sorted(loaded.Tags()["images"]) == ["one/image", "some/image/0", "some/image/1"]
    (event,) = loaded.Images("one/image")
    assert (event.width, event.height) == (5, 1)
    decoded = np.asarray(Image.open(io.BytesIO(event.encoded_image_string)))
    assert decoded.ravel().tolist() == [0, 31, 63, 127, 255]  # what TF1 writes for these floats
    negative = loaded.Images("some/image/1")[0].encoded_image_string
    assert np.asarray(Image.open(io.BytesIO(negative))).ravel().tolist() == [128, 112, 96, 64, 1]


def test_text_is_a_string_tensor_for_the_text_plugin(tmp_path):
    graph = cr.Graph()
    with graph.as_default():
        summary = tf.summary.text("notes", "a *Markdown* note")
    write(tmp_path, graph, summary, [{}])
    loaded = read_back(tmp_path)
    (event,) = loaded.Tensors("notes")
    assert tensor_util.make_ndarray(event.tensor_proto).item() == b"a *Markdown* note"
    assert loaded.SummaryMetadata("notes").plugin_data.plugin_name == "text"


def test_the_graph_keeps_node_names_scopes_inputs_and_control_inputs(tmp_path):
    graph = cr.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        with tf.name_scope("layer"):
            w = tf.Variable(np.ones((3, 2), np.float32), name="W")
            y = tf.matmul(x, w, name="y")
        with tf.control_dependencies([y]):
            done = tf.identity(x, name="done")
    with tf.summary.FileWriter(str(tmp_path), graph):
        pass
    nodes = {n.name: n for n in read_back(tmp_path).Graph().node}
    assert {"x", "layer/W", "layer/y", "done"} <= set(nodes)
    product = nodes[y.op.name]
    assert product.op == y.op.type and list(product.input) == ["x", "layer/W"]
    assert list(nodes["done"].input) == ["x", "^layer/y"]
    shape = nodes["x"].attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [-1, 3]
    assert done.op.name == "done"


def test_summary_ops_are_scalar_strings_in_the_summaries_collection():
    with cr.Graph().as_default() as graph:
        loss = tf.reduce_sum(tf.constant([1.0, 2.0]))
        summary = tf.summary.scalar("loss", loss)
        assert summary.shape == () and summary.dtype == tf.string
        assert graph.get_collection("summaries") == [summary]
        assert tf.summary.merge_all(key="other") is None
        assert gradient_function(summary.op) is None  # NotDifferentiable


def test_fetching_a_summary_gives_its_bytes_whole_also_under_check_numerics():
    """NumPy's bytes scalar would drop trailing zero bytes; the fetch returns the kernel's."""
    with cr.Graph().as_default():
        summary = tf.summary.scalar("zero", tf.constant(0.0))
        merged = tf.summary.merge([summary])
        for options in ({}, {"check_numerics": True}, {"optimize": False}):
            with cr.Session(**options) as sess:
                first, again = sess.run([merged, summary])
            assert type(first) is bytes and type(again) is bytes
            value = tf.summary.Summary.FromString(first).value[0]
            assert (value.tag, value.simple_value) == ("zero", 0.0)
            assert first.endswith(b"\x00")  # the float 0.0, last in the message


def test_a_scalar_of_a_vector_is_a_shape_error_when_built():
    with cr.Graph().as_default():
        with pytest.raises(ShapeError, match=r"single number.*shape \(2,\).*reduce_mean"):
            tf.summary.scalar("loss", tf.constant([1.0, 2.0]))


def test_an_image_needs_four_dimensions():
    with cr.Graph().as_default():
        with pytest.raises(ShapeError, match="batch, height, width, channels"):
            tf.summary.image("picture", tf.constant(np.zeros((4, 4), np.float32)))


def test_merging_two_summaries_with_one_tag_fails_on_the_duplicate():
    with cr.Graph().as_default(), cr.Session() as sess:
        one = tf.summary.scalar("a", tf.constant(1.0))
        merged = tf.summary.merge([one, one])
        with pytest.raises(InvalidArgumentError, match="two summaries have the tag 'a'"):
            sess.run(merged)


def test_a_file_writer_on_a_folder_it_cannot_make_says_so(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(FailedPreconditionError, match="cannot write TensorBoard files in"):
        tf.summary.FileWriter(str(blocker / "logs"))


def test_add_summary_refuses_values_that_are_not_summaries(tmp_path):
    with tf.summary.FileWriter(str(tmp_path)) as writer:
        with pytest.raises(InvalidArgumentError, match="got float"):
            writer.add_summary(1.5, global_step=0)


def test_a_closed_writer_refuses_more_events(tmp_path):
    writer = tf.summary.FileWriter(str(tmp_path))
    writer.close()
    with pytest.raises(FailedPreconditionError, match="is closed"):
        writer.add_graph(cr.Graph())


def test_without_tensorboard_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard.compat.proto.summary_pb2", None)
    with cr.Graph().as_default():
        with pytest.raises(MissingDependencyError, match=r"pip install 'chainrule\[tensorboard\]'"):
            tf.summary.scalar("loss", tf.constant(1.0))
