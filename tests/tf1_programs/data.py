"""TF1 programs on ``tf.data``: sources, transformations, iterators, the end of the data, and
a training loop that runs until ``OutOfRangeError``. Shuffled orders are TF's random numbers,
so only their properties are compared (a seed reproduces them, epochs are permutations)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import program

_X = np.arange(30, dtype=np.float32).reshape(10, 3) / 4.0
_Y = np.arange(10, dtype=np.int64) % 3


def _drain(tf: Any, sess: Any, fetch: Any, feed_dict: Any = None) -> list[Any]:
    """Every value ``fetch`` gives until the end of the data."""
    out = []
    while True:
        try:
            out.append(sess.run(fetch, feed_dict))
        except tf.errors.OutOfRangeError:
            return out


def _shapes(structure: Any) -> str:
    """Static shapes of a nested structure, as text that both libraries print alike."""
    if isinstance(structure, dict):
        return str({k: _shapes(structure[k]) for k in sorted(structure)})
    if isinstance(structure, tuple):
        return str(tuple(_shapes(s) for s in structure))
    return str(structure.as_list())


def _types(structure: Any) -> str:
    if isinstance(structure, dict):
        return str({k: _types(structure[k]) for k in sorted(structure)})
    if isinstance(structure, tuple):
        return str(tuple(_types(s) for s in structure))
    return structure.name


def _all(tf: Any, dataset: Any) -> list[Any]:
    nxt = tf.data.make_one_shot_iterator(dataset).get_next()
    with tf.Session() as sess:
        return _drain(tf, sess, nxt)


@program("data_batches_and_epochs")
def data_batches_and_epochs(tf: Any) -> dict[str, Any]:
    """batch with and without drop_remainder, repeat before and after batch, names, shapes."""
    results: dict[str, Any] = {}
    with tf.Graph().as_default():
        dataset = tf.data.Dataset.from_tensor_slices((_X, _Y))
        for drop in (False, True):
            batched = dataset.batch(4, drop_remainder=drop)
            results[f"shapes drop={drop}"] = _shapes(tf.data.get_output_shapes(batched))
            batches = _all(tf, batched)
            results[f"batch count drop={drop}"] = np.int64(len(batches))
            for i, (x, y) in enumerate(batches):
                results[f"batch {i} drop={drop} x"], results[f"batch {i} drop={drop} y"] = x, y
        numbers = tf.data.Dataset.range(5)
        results["repeat then batch"] = np.concatenate(_all(tf, numbers.repeat(2).batch(3)))
        results["repeat then batch sizes"] = np.array(
            [len(b) for b in _all(tf, numbers.repeat(2).batch(3))]
        )
        results["batch then repeat sizes"] = np.array(
            [len(b) for b in _all(tf, numbers.batch(3).repeat(2))]
        )
        iterator = tf.data.make_one_shot_iterator(dataset.batch(4))
        x, y = iterator.get_next()
        results["get_next names"] = [x.name, y.name]
        results["get_next op type"] = x.op.type
        results["same op"] = x.op is y.op
        results["types"] = _types(tf.data.get_output_types(dataset))
    return results


@program("data_transformations")
def data_transformations(tf: Any) -> dict[str, Any]:
    """map (to a dict, with one_hot), filter, take, skip, zip, range, from_tensors, shard,
    concatenate, cache, unbatch, padded_batch."""
    results: dict[str, Any] = {}
    with tf.Graph().as_default():
        dataset = tf.data.Dataset.from_tensor_slices({"x": _X, "y": _Y})
        mapped = dataset.map(lambda d: {"x": d["x"] * 2.0, "y": tf.one_hot(d["y"], 3)})
        results["map shapes"] = _shapes(tf.data.get_output_shapes(mapped))
        results["map types"] = _types(tf.data.get_output_types(mapped))
        out = _all(tf, mapped.skip(2).take(3).batch(5))[0]
        results["map skip take x"], results["map skip take y"] = out["x"], out["y"]
        numbers = tf.data.Dataset.range(3, 20, 2)
        kept = numbers.filter(lambda n: tf.equal(n % 3, 0))
        results["filter"] = np.array(_all(tf, kept))
        results["take -1"] = np.array(_all(tf, numbers.take(-1)))
        results["skip past the end"] = np.int64(len(_all(tf, numbers.skip(100))))
        results["shard"] = np.array(_all(tf, tf.data.Dataset.range(10).shard(3, 2)))
        zipped = tf.data.Dataset.zip((numbers, dataset.map(lambda d: d["y"])))
        results["zip shapes"] = _shapes(tf.data.get_output_shapes(zipped))
        results["zip"] = np.array(_all(tf, zipped))
        results["from_tensors"] = np.array(_all(tf, tf.data.Dataset.from_tensors(_X[:2])))
        joined = numbers.take(2).concatenate(tf.data.Dataset.range(100, 102)).repeat(2)
        results["concatenate repeat"] = np.array(_all(tf, joined))
        rows = tf.data.Dataset.range(1, 6).map(lambda n: tf.fill(tf.stack([n]), n))
        padded = tf.data.Dataset.zip((rows, tf.data.Dataset.range(5))).padded_batch(
            2, padded_shapes=([-1], []), padding_values=(tf.constant(-1, tf.int64), np.int64(0))
        )
        results["padded_batch shapes"] = _shapes(tf.data.get_output_shapes(padded))
        for i, (values, index) in enumerate(_all(tf, padded)):
            results[f"padded_batch {i}"], results[f"padded_batch {i} index"] = values, index
        fixed = rows.padded_batch(3, padded_shapes=[6], drop_remainder=True)
        results["padded_batch fixed shapes"] = _shapes(tf.data.get_output_shapes(fixed))
        results["padded_batch fixed"] = np.array(_all(tf, fixed))
        results["cache repeat"] = np.array(_all(tf, numbers.take(3).cache().repeat(2)))
        unbatched = dataset.batch(4).unbatch()
        results["unbatch shapes"] = _shapes(tf.data.get_output_shapes(unbatched))
        results["unbatch y"] = np.array([d["y"] for d in _all(tf, unbatched)])
        squares = tf.data.Dataset.range(6).map(lambda n: tf.cast(n * n, tf.float32) / 2.0)
        results["map range prefetch"] = np.array(_all(tf, squares.prefetch(2)))
    return results


@program("data_iterators")
def data_iterators(tf: Any) -> dict[str, Any]:
    """Placeholders fed at initialisation, the end of the data, re-initialisation, and an
    iterator from a structure switching between two data sets."""
    results: dict[str, Any] = {}
    with tf.Graph().as_default():
        features = tf.placeholder(tf.float32, [None, 3])
        size = tf.placeholder(tf.int64, [])
        dataset = tf.data.Dataset.from_tensor_slices(features).batch(size)
        iterator = tf.data.make_initializable_iterator(dataset)
        nxt = iterator.get_next()
        results["initializer type"] = iterator.initializer.type
        results["placeholder batch shape"] = str(nxt.get_shape().as_list())
        with tf.Session() as sess:
            sess.run(iterator.initializer, {features: _X, size: 3})
            first = _drain(tf, sess, nxt)
            results["sizes"] = np.array([len(b) for b in first])
            try:
                sess.run(nxt)
                results["still at the end"] = False
            except tf.errors.OutOfRangeError:
                results["still at the end"] = True
            sess.run(iterator.initializer, {features: _X[:4] + 1.0, size: 4})
            results["after re-initialisation"] = sess.run(nxt)
        train = tf.data.Dataset.from_tensor_slices((_X, _Y)).batch(4)
        test = tf.data.Dataset.from_tensor_slices((_X[:3] * 0.5, _Y[:3])).batch(4)
        shared = tf.data.Iterator.from_structure(
            tf.data.get_output_types(train), tf.data.get_output_shapes(train)
        )
        x, y = shared.get_next()
        use_train, use_test = shared.make_initializer(train), shared.make_initializer(test)
        with tf.Session() as sess:
            sess.run(use_train)
            results["train labels"] = np.concatenate(_drain(tf, sess, y))
            sess.run(use_test)
            results["test x"] = sess.run(x)
        results["structure shapes"] = _shapes(shared.output_shapes)
    return results


@program("data_shuffle_properties")
def data_shuffle_properties(tf: Any) -> dict[str, Any]:
    """What a seeded shuffle guarantees, whatever its random numbers."""
    results: dict[str, Any] = {}
    with tf.Graph().as_default():
        shuffled = tf.data.Dataset.range(20).shuffle(20, seed=7).repeat(3)
        iterator = tf.data.make_initializable_iterator(shuffled)
        nxt = iterator.get_next()
        runs = []
        for _ in range(2):
            with tf.Session() as sess:
                sess.run(iterator.initializer)
                runs.append(np.array(_drain(tf, sess, nxt)).reshape(3, 20))
                sess.run(iterator.initializer)
                restarted = np.array(_drain(tf, sess, nxt)).reshape(3, 20)
        results["same orders in two sessions"] = bool((runs[0] == runs[1]).all())
        results["same orders after re-initialisation"] = bool((restarted == runs[1]).all())
        results["each epoch a permutation"] = all(
            sorted(epoch.tolist()) == list(range(20)) for epoch in runs[0]
        )
        results["a new order each epoch"] = not (runs[0][0] == runs[0][1]).all()
        fixed = tf.data.Dataset.range(20).shuffle(20, seed=3, reshuffle_each_iteration=False)
        twice = np.array(_all(tf, fixed.repeat(2))).reshape(2, 20)
        results["one order without reshuffling"] = bool((twice[0] == twice[1]).all())
        window = np.array(_all(tf, tf.data.Dataset.range(200).shuffle(5, seed=1)))
        results["a buffer of 5 moves elements at most 4 ahead"] = bool(
            (window <= np.arange(200) + 4).all()
        )
        results["shuffled"] = bool((window != np.arange(200)).any())
    return results


@program("data_training_loop")
def data_training_loop(tf: Any) -> dict[str, Any]:
    """The TF1 loop ``while True: try: sess.run(train) except OutOfRangeError: break``."""
    results: dict[str, Any] = {}
    with tf.Graph().as_default():
        targets = (_X @ np.array([[0.5], [-1.0], [0.25]], np.float32) + 0.1).astype(np.float32)
        dataset = tf.data.Dataset.from_tensor_slices((_X, targets)).batch(4).repeat(3)
        x, y = tf.data.make_one_shot_iterator(dataset).get_next()
        w = tf.Variable(np.zeros((3, 1), np.float32), name="w")
        b = tf.Variable(np.zeros(1, np.float32), name="b")
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
        train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
        steps = 0
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            while True:
                try:
                    sess.run(train)
                except tf.errors.OutOfRangeError:
                    break
                steps += 1
            results["steps"] = np.int64(steps)
            results["w"], results["b"] = sess.run([w, b])
    return results
