"""tf.data under chainrule.compat.v1: data sets, iterators, their session state, TF1's loop."""

import collections

import numpy as np
import pytest

import chainrule as cr
import chainrule.compat.v1 as tf
from chainrule import data
from chainrule import distributed as dist
from chainrule.errors import ChainruleError


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as graph:
        yield graph


def drain(sess, fetch, feed_dict=None, limit=1000):
    """Every value ``fetch`` gives until the iterator raises OutOfRangeError."""
    out = []
    for _ in range(limit):
        try:
            out.append(sess.run(fetch, feed_dict))
        except tf.errors.OutOfRangeError:
            return out
    raise AssertionError(f"no end after {limit} runs")


def listed(values):
    return [np.asarray(v).tolist() for v in values]


def elements(dataset):
    nxt = tf.data.make_one_shot_iterator(dataset).get_next()
    with tf.Session() as sess:
        return listed(drain(sess, nxt))


# -- sources and the shape of elements ------------------------------------------------------
def test_tf_data_is_chainrule_data_and_keeps_the_bundled_data_sets():
    assert tf.data is data
    assert callable(data.load_digits) and callable(data.blob_clouds)
    assert tf.data.experimental.AUTOTUNE == tf.data.AUTOTUNE
    assert issubclass(tf.errors.OutOfRangeError, ChainruleError)


def test_slices_of_an_array_a_tuple_and_a_dict():
    X = np.arange(12.0).reshape(4, 3)
    y = np.array([0, 1, 0, 1])
    single = tf.data.Dataset.from_tensor_slices(X)
    pair = tf.data.Dataset.from_tensor_slices((X, y))
    named = tf.data.Dataset.from_tensor_slices({"image": X, "label": y})
    assert single.output_types == tf.float64 and single.output_shapes == [3]
    assert pair.output_types == (tf.float64, tf.int64)
    assert named.output_shapes == {"image": tf.TensorShape([3]), "label": tf.TensorShape([])}
    assert elements(single) == X.tolist()
    got = tf.data.make_one_shot_iterator(named).get_next()
    assert set(got) == {"image", "label"}
    with tf.Session() as sess:
        first = sess.run(got)
    assert first["image"].tolist() == [0.0, 1.0, 2.0] and first["label"] == 0


def test_get_next_is_one_op_with_an_output_per_component():
    X, y = np.zeros((5, 2), np.float32), np.arange(5)
    Point = collections.namedtuple("Point", "x y")
    dataset = tf.data.Dataset.from_tensor_slices(Point(X, {"a": y, "b": y * 2}))
    point = tf.data.make_one_shot_iterator(dataset).get_next()
    assert isinstance(point, Point)
    tensors = [point.x, point.y["a"], point.y["b"]]
    op = tensors[0].op
    assert op.type == "IteratorGetNext" and list(op.outputs) == tensors
    assert [t.name for t in tensors] == [f"{op.name}:{i}" for i in range(3)]
    assert [t.shape for t in tensors] == [(2,), (), ()]
    with tf.Session() as sess:
        assert listed(sess.run([point.y["b"], point.y["a"]])) == [0, 0]
        assert listed(sess.run([point.y["b"], point.y["a"]])) == [2, 1]


def test_from_tensors_range_and_zip():
    assert elements(tf.data.Dataset.from_tensors([1, 2, 3])) == [[1, 2, 3]]
    assert elements(tf.data.Dataset.range(4)) == [0, 1, 2, 3]
    assert elements(tf.data.Dataset.range(2, 9, 3)) == [2, 5, 8]
    assert elements(tf.data.Dataset.range(5, 0, -2)) == [5, 3, 1]
    assert tf.data.Dataset.range(3).output_types == tf.int64
    letters = tf.data.Dataset.from_tensor_slices(np.array([10, 20, 30]))
    zipped = tf.data.Dataset.zip((tf.data.Dataset.range(5), letters))
    assert elements(zipped) == [[0, 10], [1, 20], [2, 30]]
    named = tf.data.Dataset.zip({"n": tf.data.Dataset.range(2), "pair": zipped})
    assert named.output_types == {"n": tf.int64, "pair": (tf.int64, tf.int64)}
    assert elements(named) == [{"n": 0, "pair": (0, 10)}, {"n": 1, "pair": (1, 20)}]


def test_slices_of_different_lengths_are_refused():
    with pytest.raises(tf.errors.InvalidArgumentError, match="one first size"):
        tf.data.Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="rank 1 or more"):
        tf.data.Dataset.from_tensor_slices(np.float32(1.0))


# -- transformations -------------------------------------------------------------------------
def test_batch_with_and_without_drop_remainder():
    dataset = tf.data.Dataset.range(10)
    kept = dataset.batch(4)
    dropped = dataset.batch(4, drop_remainder=True)
    assert kept.output_shapes == [None] and dropped.output_shapes == [4]
    assert elements(kept) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert elements(dropped) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    images = tf.data.Dataset.from_tensor_slices((np.ones((5, 2, 2)), np.arange(5))).batch(2)
    assert images.output_shapes == ([None, 2, 2], [None])
    assert [(x.shape, y.shape) for x, y in _pairs(images)] == [
        ((2, 2, 2), (2,)),
        ((2, 2, 2), (2,)),
        ((1, 2, 2), (1,)),
    ]


def _pairs(dataset):
    nxt = tf.data.make_one_shot_iterator(dataset).get_next()
    with tf.Session() as sess:
        return drain(sess, nxt)


def test_repeat_then_batch_crosses_epochs_and_batch_then_repeat_does_not():
    dataset = tf.data.Dataset.range(5)
    assert elements(dataset.repeat(2).batch(3)) == [[0, 1, 2], [3, 4, 0], [1, 2, 3], [4]]
    assert elements(dataset.batch(3).repeat(2)) == [[0, 1, 2], [3, 4], [0, 1, 2], [3, 4]]
    assert elements(dataset.repeat(0)) == []
    forever = tf.data.make_one_shot_iterator(dataset.repeat()).get_next()
    with tf.Session() as sess:
        assert [sess.run(forever) for _ in range(12)] == [0, 1, 2, 3, 4] * 2 + [0, 1]
    assert elements(dataset.take(0).repeat()) == []  # an empty data set repeated ends


def test_take_skip_filter_map_prefetch():
    dataset = tf.data.Dataset.range(10)
    assert elements(dataset.take(3)) == [0, 1, 2]
    assert elements(dataset.take(-1)) == list(range(10))
    assert elements(dataset.skip(7)) == [7, 8, 9]
    assert elements(dataset.skip(-1)) == []
    assert elements(dataset.skip(3).take(2)) == [3, 4]
    evens = dataset.filter(lambda n: tf.equal(n % 2, 0))
    assert elements(evens) == [0, 2, 4, 6, 8]
    assert elements(dataset.map(lambda n: n * n).prefetch(tf.data.AUTOTUNE).take(4)) == [
        0,
        1,
        4,
        9,
    ]
    assert elements(dataset.shard(3, 1)) == [1, 4, 7]


def test_map_is_traced_once_into_the_graph_and_restructures(fresh_graph):
    calls = []
    scale = tf.Variable(2.0, name="scale")

    def normalise(image, label):
        calls.append(image)
        return {"x": tf.cast(image, tf.float32) * scale, "y": tf.one_hot(label, 3)}

    X = np.arange(6).reshape(3, 2)
    dataset = tf.data.Dataset.from_tensor_slices((X, np.array([0, 2, 1]))).map(normalise)
    assert len(calls) == 1 and calls[0].op.type == "Placeholder"
    assert calls[0].name.startswith("Dataset_map_normalise/")
    assert dataset.output_types == {"x": tf.float32, "y": tf.float32}
    assert dataset.output_shapes == {"x": tf.TensorShape([2]), "y": tf.TensorShape([3])}
    batch = tf.data.make_one_shot_iterator(dataset.batch(3)).get_next()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out = sess.run(batch)
    np.testing.assert_allclose(out["x"], X * 2.0)
    np.testing.assert_array_equal(out["y"], np.eye(3)[[0, 2, 1]])
    names = [op.name for op in fresh_graph.get_operations()]
    assert any(n.startswith("Dataset_map_normalise/") and "Mul" in n for n in names)
    assert len(calls) == 1


def test_map_unpacks_a_tuple_but_passes_a_namedtuple_whole():
    Pair = collections.namedtuple("Pair", "a b")
    ones, twos = np.ones(2), np.full(2, 2.0)
    pairs = tf.data.Dataset.from_tensor_slices(Pair(ones, twos)).map(lambda p: p.a + p.b)
    tuples = tf.data.Dataset.from_tensor_slices((ones, twos)).map(lambda a, b: a - b)
    assert elements(pairs) == [3.0, 3.0] and elements(tuples) == [-1.0, -1.0]


def test_padded_batch_pads_to_the_longest_or_to_given_shapes():
    lengths = tf.data.Dataset.range(1, 5)
    rows = lengths.map(lambda n: tf.fill(tf.stack([n]), n))
    assert rows.output_shapes == [None]
    longest = rows.padded_batch(2, padded_shapes=[None])
    assert longest.output_shapes == [None, None]
    assert elements(longest) == [[[1, 0], [2, 2]], [[3, 3, 3, 0], [4, 4, 4, 4]]]
    fixed = rows.padded_batch(3, padded_shapes=[5], padding_values=tf.constant(-1, tf.int64))
    assert fixed.output_shapes == [None, 5]
    assert elements(fixed)[1] == [[4, 4, 4, 4, -1]]
    pairs = tf.data.Dataset.zip((rows, lengths)).padded_batch(4, padded_shapes=([-1], []))
    assert pairs.output_shapes == ([None, None], [None])
    [(padded, sizes)] = _pairs(pairs)
    assert padded.shape == (4, 4) and sizes.tolist() == [1, 2, 3, 4]
    too_short = rows.padded_batch(4, padded_shapes=[2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="larger than the padded shape"):
        elements(too_short)
    with pytest.raises(tf.errors.InvalidArgumentError, match="nested as the elements are"):
        tf.data.Dataset.zip((rows, lengths)).padded_batch(2, padded_shapes=[None])


def test_unbatch_undoes_batch():
    batches = tf.data.Dataset.range(5).batch(2)
    assert batches.unbatch().output_shapes == tf.TensorShape([])
    assert elements(batches.unbatch()) == [0, 1, 2, 3, 4]
    pairs = tf.data.Dataset.from_tensor_slices((np.ones((3, 2, 4)), np.zeros((3, 2)))).unbatch()
    assert pairs.output_shapes == ([4], [])
    assert len(_pairs(pairs)) == 6


def test_cache_gives_the_first_pass_again_in_later_epochs():
    noisy = tf.data.Dataset.range(4).map(lambda n: tf.random_uniform([]) + tf.cast(n, tf.float32))
    fresh = np.array(elements(noisy.repeat(2))).reshape(2, 4)
    cached = np.array(elements(noisy.cache().repeat(3))).reshape(3, 4)
    assert (fresh[0] != fresh[1]).all()  # without cache each epoch draws anew
    assert (cached[0] == cached[1]).all() and (cached[1] == cached[2]).all()
    partial = elements(noisy.cache().take(2).repeat(2))  # a pass that stops early keeps nothing
    assert partial[0] != partial[2] and partial[1] != partial[3]


def test_a_failed_run_leaves_a_cache_as_it_was():
    x = tf.data.Dataset.range(3).cache().repeat(2).make_one_shot_iterator().get_next()
    other = tf.placeholder(tf.float32, [None, None])
    fails = tf.matmul(tf.reshape(tf.cast(x, tf.float32), [1, 1]), other)
    with tf.Session() as sess:
        got = []
        for _ in range(6):
            with pytest.raises(tf.errors.InvalidArgumentError):
                sess.run([x, fails], {other: np.ones((2, 2))})
            got.append(sess.run(x))
        assert got == [0, 1, 2, 0, 1, 2]


def test_the_distributed_shard_helper_shards_a_dataset():
    numbers = tf.data.Dataset.range(10)
    assert elements(dist.shard(numbers, rank=1, size=3)) == [1, 4, 7]
    with pytest.raises(tf.errors.InvalidArgumentError, match="Dataset alone"):
        dist.shard(numbers, np.arange(3), rank=0, size=2)


def test_concatenate_runs_one_data_set_after_the_other():
    first = tf.data.Dataset.from_tensor_slices((np.zeros((2, 3)), np.arange(2)))
    second = tf.data.Dataset.from_tensor_slices((np.ones((1, 3)), np.arange(1) + 5))
    both = first.concatenate(second).repeat(2)
    assert both.output_shapes == ([3], [])
    assert [int(y) for _, y in _pairs(both)] == [0, 1, 5, 0, 1, 5]
    wider = tf.data.Dataset.from_tensor_slices((np.zeros((1, 4)), np.arange(1)))
    assert first.concatenate(wider).output_shapes == ([None], [])
    with pytest.raises(tf.errors.InvalidArgumentError, match="one structure and dtypes"):
        first.concatenate(tf.data.Dataset.range(3))


def test_explain_and_gradients_work_on_a_graph_fed_by_an_iterator():
    def with_gradient(x):  # a map function may take gradients of its own ops
        return x, tf.gradients(tf.reduce_sum(tf.square(x)), x)[0]

    dataset = tf.data.Dataset.from_tensor_slices(np.array([[1.0, 2.0], [3.0, 4.0]]))
    x, dx = dataset.map(with_gradient).make_one_shot_iterator().get_next()
    w = tf.Variable(np.array([0.5, -0.5]), name="w")
    loss = tf.square(tf.reduce_sum(x * w) - 1.0)
    (grad,) = tf.gradients(loss, [w])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(dx).tolist() == [2.0, 4.0]
        trace = cr.explain(loss, session=sess)  # runs the graph: takes the next element
    assert "IteratorGetNext" in str(trace)
    np.testing.assert_allclose(trace.gradient(w), [2 * -1.5 * 3.0, 2 * -1.5 * 4.0])
    assert grad is not None


def test_filter_needs_a_boolean_scalar():
    with pytest.raises(tf.errors.DTypeError, match="boolean scalar"):
        tf.data.Dataset.range(3).filter(lambda n: n + 1)


# -- shuffle ---------------------------------------------------------------------------------
def _epochs(dataset, count, session=None):
    nxt = tf.data.make_one_shot_iterator(dataset.repeat(count)).get_next()
    with session or tf.Session() as sess:
        return np.array(drain(sess, nxt)).reshape(count, -1).tolist()


def test_shuffle_with_a_seed_is_the_same_in_every_session_and_new_each_epoch():
    dataset = tf.data.Dataset.range(20).shuffle(20, seed=7)
    iterator = dataset.repeat(3).make_initializable_iterator()
    nxt = iterator.get_next()
    orders = []
    for _ in range(2):
        with tf.Session() as sess:
            sess.run(iterator.initializer)
            orders.append(np.array(drain(sess, nxt)).reshape(3, 20).tolist())
            sess.run(iterator.initializer)  # a restart draws the first epoch's order again
            assert sess.run(nxt) == orders[-1][0][0]
    assert orders[0] == orders[1]
    for epoch in orders[0]:
        assert sorted(epoch) == list(range(20))
    assert orders[0][0] != orders[0][1] != orders[0][2]


def test_shuffle_without_reshuffling_repeats_its_order():
    dataset = tf.data.Dataset.range(15).shuffle(15, seed=3, reshuffle_each_iteration=False)
    first, second = _epochs(dataset, 2)
    assert first == second and first != list(range(15))


def test_shuffle_with_a_small_buffer_moves_elements_only_so_far():
    order = elements(tf.data.Dataset.range(100).shuffle(5, seed=1))
    assert sorted(order) == list(range(100)) and order != list(range(100))
    assert all(value <= position + 4 for position, value in enumerate(order))


def test_shuffled_batches_of_slices_keep_rows_together_and_survive_failed_runs():
    X = np.arange(20.0).reshape(10, 2)
    dataset = tf.data.Dataset.from_tensor_slices((X, np.arange(10)))
    batches = dataset.shuffle(4, seed=3).batch(3, drop_remainder=True).repeat(2)
    x, y = batches.make_one_shot_iterator().get_next()
    other = tf.placeholder(tf.float64, [None, None])
    fails = tf.matmul(x, other)  # (3, 2) @ a fed (3, 3): fails after the draw
    with tf.Session() as plain, tf.Session() as failing:
        expected = drain(plain, [x, y])
        got = []
        for _ in range(len(expected)):
            with pytest.raises(tf.errors.InvalidArgumentError):
                failing.run([y, fails], {other: np.ones((3, 3))})
            got.append(failing.run([x, y]))
    assert len(expected) == 6
    for (rows, labels), (rows_again, labels_again) in zip(expected, got, strict=True):
        np.testing.assert_array_equal(rows[:, 0], 2 * labels)  # each row with its label
        np.testing.assert_array_equal(rows, rows_again)
        np.testing.assert_array_equal(labels, labels_again)
    epochs = [np.concatenate([lab for _, lab in expected[i : i + 3]]) for i in (0, 3)]
    assert all(len(set(e.tolist())) == 9 for e in epochs)
    assert epochs[0].tolist() != epochs[1].tolist()


def test_shuffle_follows_the_graph_seed_and_is_random_without_any_seed(fresh_graph):
    unseeded = tf.data.Dataset.range(30).shuffle(30)
    assert _epochs(unseeded, 1) != _epochs(unseeded, 1)
    tf.set_random_seed(5)
    seeded = tf.data.Dataset.range(30).shuffle(30)
    assert _epochs(seeded, 1) == _epochs(seeded, 1)


# -- iterators -------------------------------------------------------------------------------
def test_out_of_range_then_reinitialisation():
    dataset = tf.data.Dataset.from_tensor_slices(np.array([1, 2, 3]))
    iterator = dataset.make_initializable_iterator()
    nxt = iterator.get_next()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="not been initialized"):
            sess.run(nxt)
        sess.run(iterator.initializer)
        assert [sess.run(nxt) for _ in range(3)] == [1, 2, 3]
        for _ in range(2):  # the end stays the end
            with pytest.raises(tf.errors.OutOfRangeError, match="End of sequence") as caught:
                sess.run(nxt)
        assert caught.value.node is nxt.op
        sess.run(iterator.initializer)
        assert sess.run(nxt) == 1


def test_placeholders_are_fed_when_the_iterator_is_initialised():
    features = tf.placeholder(tf.float32, [None, 2])
    size = tf.placeholder(tf.int64, [])
    dataset = tf.data.Dataset.from_tensor_slices(features).batch(size)
    assert dataset.output_shapes == [None, 2]
    iterator = tf.data.make_initializable_iterator(dataset)
    nxt = iterator.get_next()
    with tf.Session() as sess:
        sess.run(iterator.initializer, {features: np.ones((5, 2)), size: 2})
        assert [b.shape[0] for b in drain(sess, nxt)] == [2, 2, 1]
        sess.run(iterator.initializer, {features: np.zeros((3, 2)), size: 3})
        assert listed(drain(sess, nxt)) == [[[0.0, 0.0]] * 3]
        with pytest.raises(tf.errors.InvalidArgumentError, match="positive batch size"):
            sess.run(iterator.initializer, {features: np.zeros((3, 2)), size: 0})
        assert drain(sess, nxt) == []  # the failed start left the iterator where it was


def test_elements_are_copies_of_what_the_iterator_was_started_with():
    features = tf.placeholder(tf.float32, [None])
    iterator = tf.data.Dataset.from_tensor_slices(features).batch(2).repeat(2)
    iterator = iterator.make_initializable_iterator()
    nxt = iterator.get_next()
    fed = np.array([1.0, 2.0, 3.0], np.float32)
    with tf.Session() as sess:
        sess.run(iterator.initializer, {features: fed})
        fed[:] = -1.0  # the caller reuses its array: the data set kept its own copy
        first = sess.run(nxt)
        first[:] = 99.0  # the caller changes a result: the next epoch is unchanged
        assert listed(drain(sess, nxt)) == [[3.0], [1.0, 2.0], [3.0]]


def test_a_one_shot_iterator_starts_itself_and_refuses_placeholders():
    nxt = tf.data.Dataset.range(2).make_one_shot_iterator().get_next()
    assert [op.name for op in nxt.op.control_inputs] == ["OneShotIterator"]
    with tf.Session() as sess:
        assert [sess.run(nxt), sess.run(nxt)] == [0, 1]
    x = tf.placeholder(tf.float32, [None], name="x")
    with pytest.raises(tf.errors.GraphError, match="cannot read placeholders \\(x\\)"):
        tf.data.Dataset.from_tensor_slices(x * 2.0).make_one_shot_iterator()
    with pytest.raises(tf.errors.GraphError, match="starts itself"):
        tf.data.Dataset.range(2).make_one_shot_iterator().initializer  # noqa: B018


def test_an_iterator_from_structure_switches_data_sets():
    train = tf.data.Dataset.from_tensor_slices((np.zeros((4, 2)), np.arange(4))).batch(3)
    test = tf.data.Dataset.from_tensor_slices((np.ones((2, 2)), np.arange(2) + 10)).batch(3)
    iterator = tf.data.Iterator.from_structure(train.output_types, train.output_shapes)
    assert iterator.output_shapes == train.output_shapes
    _, labels = iterator.get_next()
    use_train, use_test = iterator.make_initializer(train), iterator.make_initializer(test)
    with tf.Session() as sess:
        sess.run(use_train)
        assert listed(drain(sess, labels)) == [[0, 1, 2], [3]]
        sess.run(use_test)
        assert listed(drain(sess, labels)) == [[10, 11]]
    other = tf.data.Dataset.from_tensor_slices(np.zeros((2, 2), np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="do not fit"):
        iterator.make_initializer(other)


def test_two_sessions_have_independent_iterators():
    nxt = tf.data.Dataset.range(5).make_one_shot_iterator().get_next()
    with tf.Session() as first, tf.Session() as second:
        assert [first.run(nxt), first.run(nxt)] == [0, 1]
        assert second.run(nxt) == 0
        assert first.run(nxt) == 2


def test_a_run_that_raises_does_not_advance_the_iterator():
    x = tf.data.Dataset.range(5).make_one_shot_iterator().get_next()
    other = tf.placeholder(tf.float32, [None, None])
    broken = tf.matmul(tf.reshape(tf.cast(x, tf.float32), [1, 1]), other)
    with tf.Session() as sess:
        assert sess.run(x) == 0
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run([x, broken], {other: np.ones((3, 3))})  # matmul fails after the draw
        assert sess.run(x) == 1
        assert sess.run(broken, {other: np.ones((1, 2))}).tolist() == [[2.0, 2.0]]
        assert sess.run(x) == 3


def test_a_failed_run_keeps_the_shuffle_buffer_and_the_epoch():
    dataset = tf.data.Dataset.range(6).shuffle(4, seed=2).repeat(2)
    x = dataset.make_one_shot_iterator().get_next()
    other = tf.placeholder(tf.float32, [None, None])
    fails = tf.matmul(tf.reshape(tf.cast(x, tf.float32), [1, 1]), other)  # after the draw
    with tf.Session() as plain, tf.Session() as failing:
        expected = drain(plain, x)
        got = []
        for _ in range(len(expected)):
            with pytest.raises(tf.errors.InvalidArgumentError):
                failing.run([x, fails], {other: np.ones((2, 2))})
            got.append(failing.run(x))
        assert got == expected
        with pytest.raises(tf.errors.OutOfRangeError):
            failing.run(x)


# -- a TF1 training loop ---------------------------------------------------------------------
def test_a_tf1_training_loop_trains_an_mlp_on_digits_until_out_of_range():
    X, labels = data.load_digits()
    tf.set_random_seed(0)
    dataset = (
        tf.data.Dataset.from_tensor_slices((X, labels))
        .shuffle(500, seed=1)
        .map(lambda x, y: (x, tf.one_hot(y, 10)))
        .batch(32)
        .repeat(8)
        .prefetch(1)
    )
    iterator = dataset.make_initializable_iterator()
    images, targets = iterator.get_next()
    hidden = tf.layers.dense(images, 64, activation=tf.nn.relu)
    logits = tf.layers.dense(hidden, 10)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=targets, logits=logits))
    train = tf.train.AdamOptimizer(0.01).minimize(loss)
    correct = tf.equal(tf.argmax(logits, 1), tf.argmax(targets, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    steps = 0
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(iterator.initializer)
        while True:
            try:
                sess.run(train)
            except tf.errors.OutOfRangeError:
                break
            steps += 1
        assert steps == 8 * int(np.ceil(len(X) / 32))
        evaluation = tf.data.Dataset.from_tensor_slices((X, labels)).map(
            lambda x, y: (x, tf.one_hot(y, 10))
        )
        everything = iterator_for_all(evaluation)
        sess.run(iterator.make_initializer(everything))
        assert sess.run(accuracy) > 0.95


def iterator_for_all(dataset):
    """The whole data set as one batch."""
    return dataset.batch(10_000)
