"""Bad input everywhere: NaN/Inf feeds, empty arrays and zero-size batches, non-numeric objects,
ragged nested lists, Python objects as fetches. Each is computed as NumPy would, or refused with
a chainrule.errors error that names what is wrong, never an exception from deep inside NumPy.
"""

from __future__ import annotations

import datetime
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.errors import ChainruleError, InvalidArgumentError, NotFoundError

SPECIAL = np.array([[np.nan, 1.0, -2.0], [np.inf, 0.5, -np.inf], [-np.inf, -np.inf, -np.inf]])


def run(fetches, feed=None, **session_options):
    with cr.Session(**session_options) as session:
        return session.run(fetches, feed)


# -- NaN and Inf in a feed: computed through as NumPy would ------------------------------------------
def _np_softmax(v, axis=-1):
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


ELEMENTWISE = [
    ("exp", cr.exp, np.exp),
    ("log", cr.log, np.log),
    ("sqrt", cr.sqrt, np.sqrt),
    ("tanh", cr.tanh, np.tanh),
    ("sigmoid", cr.sigmoid, lambda v: 1 / (1 + np.exp(-v))),
    ("relu", cr.nn.relu, lambda v: np.where(np.isnan(v), np.nan, np.maximum(v, 0))),
    ("abs", cr.abs, np.abs),
    ("square", cr.square, np.square),
    ("reciprocal", cr.reciprocal, np.reciprocal),
    ("mul_zero", lambda x: x * 0.0, lambda v: v * 0.0),
    ("sub_self", lambda x: x - x, lambda v: v - v),
    ("maximum", lambda x: cr.maximum(x, 0.0), lambda v: np.maximum(v, 0.0)),
    ("sum", lambda x: cr.reduce_sum(x, axis=1), lambda v: v.sum(axis=1)),
    ("mean", lambda x: cr.reduce_mean(x, axis=0), lambda v: v.mean(axis=0)),
    ("max", lambda x: cr.reduce_max(x, axis=1), lambda v: v.max(axis=1)),
    ("min", lambda x: cr.reduce_min(x), lambda v: v.min()),
    ("prod", lambda x: cr.reduce_prod(x, axis=1), lambda v: v.prod(axis=1)),
    ("matmul", lambda x: cr.matmul(x, x), lambda v: v @ v),
    ("softmax", cr.nn.softmax, _np_softmax),
]


@pytest.mark.parametrize("name, cr_fn, np_fn", ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_nan_and_inf_feeds_compute_through_as_numpy_does(name, cr_fn, np_fn):
    x = cr.placeholder(cr.float64, shape=[3, 3])
    with np.errstate(all="ignore"):
        expected = np_fn(SPECIAL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow/invalid warnings escape a run
        got = run(cr_fn(x), {x: SPECIAL})
    np.testing.assert_array_equal(got, expected)


def test_nan_and_inf_feeds_through_the_stable_ops_match_pytorch():
    x = cr.placeholder(cr.float64, shape=[3, 3])
    outputs = [
        cr.reduce_logsumexp(x, axis=1),
        cr.nn.log_softmax(x),
        cr.nn.softplus(x),
        cr.nn.sparse_softmax_cross_entropy_with_logits(labels=[1, 1, 0], logits=x),
    ]
    t = torch.tensor(SPECIAL)
    expected = [
        torch.logsumexp(t, 1),
        torch.log_softmax(t, -1),
        F.softplus(t, threshold=50.0),
        F.cross_entropy(t, torch.tensor([1, 1, 0]), reduction="none"),
    ]
    for got, want in zip(run(outputs, {x: SPECIAL}), expected, strict=True):
        np.testing.assert_array_equal(got, want.numpy())


def test_the_numerics_option_stops_at_the_first_node_a_bad_feed_reaches():
    x = cr.placeholder(cr.float64, shape=[3], name="x")
    scaled = cr.multiply(x, 2.0, name="scaled")  # bad-feed-line
    loss = cr.reduce_sum(cr.exp(scaled), name="loss")
    (grad,) = cr.gradients(loss, [x])
    with cr.Session(check_numerics=True) as session:
        assert session.run(loss, {x: np.zeros(3)}) == 3.0
        for bad in (np.nan, np.inf, -np.inf):
            with pytest.raises(InvalidArgumentError) as info:
                session.run([loss, grad], {x: np.array([0.0, bad, 1.0])})
            message = str(info.value)
            assert "Mul 'scaled'" in message and "test_bad_inputs.py" in message
            assert ("NaN" if np.isnan(bad) else "Inf") in message


def test_a_nan_fed_to_a_training_step_is_caught_before_the_weights_change():
    x = cr.placeholder(cr.float64, shape=[None, 2])
    w = cr.Variable(np.ones((2, 1)))
    loss = cr.reduce_mean(cr.square(cr.matmul(x, w)))
    train = cr.train.GradientDescentOptimizer(0.1).minimize(loss)
    with cr.Session(check_numerics=True) as session:
        with pytest.raises(InvalidArgumentError, match="NaN"):
            session.run(train, {x: np.array([[1.0, np.nan]])})
        np.testing.assert_array_equal(session.run(w), np.ones((2, 1)))


# -- empty arrays and zero-size batches -------------------------------------------------------------
def test_reductions_over_a_zero_size_batch_follow_numpy():
    x = cr.placeholder(cr.float64, shape=[None, 3])
    empty = np.zeros((0, 3))
    fetches = {
        "sum": cr.reduce_sum(x, axis=0),
        "mean": cr.reduce_mean(x, axis=0),
        "mean_all": cr.reduce_mean(x),
        "prod": cr.reduce_prod(x, axis=0),
        "logsumexp": cr.reduce_logsumexp(x, axis=0),
        "max_rows": cr.reduce_max(x, axis=1),
        "softmax": cr.nn.softmax(x),
        "square": cr.square(x) + 1.0,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "Mean of empty slice"
        got = run(fetches, {x: empty})
    np.testing.assert_array_equal(got["sum"], np.zeros(3))
    assert got["mean"].shape == (3,) and np.all(np.isnan(got["mean"]))
    assert np.isnan(got["mean_all"])
    np.testing.assert_array_equal(got["prod"], np.ones(3))
    np.testing.assert_array_equal(got["logsumexp"], np.full(3, -np.inf))
    assert got["max_rows"].shape == (0,)
    assert got["softmax"].shape == (0, 3) and got["square"].shape == (0, 3)


def test_reducing_nothing_with_max_or_argmax_is_refused_with_the_node_named():
    x = cr.placeholder(cr.float64, shape=[None, 3])
    for op in (cr.reduce_max(x, axis=0, name="peak"), cr.argmax(x, axis=0, name="where_peak")):
        with pytest.raises(InvalidArgumentError, match=f"'{op.op.name}'.*test_bad_inputs.py"):
            run(op, {x: np.zeros((0, 3))})


def test_a_training_step_on_a_zero_size_batch_matches_pytorch():
    """Loss NaN (mean of nothing), zero gradients, weights unchanged: as PyTorch."""
    x = cr.placeholder(cr.float64, shape=[None, 3])
    labels = cr.placeholder(cr.int32, shape=[None])
    w = cr.Variable(np.arange(6.0).reshape(3, 2))
    b = cr.Variable(np.array([0.5, -0.5]))
    logits = cr.matmul(x, w) + b
    loss = cr.reduce_mean(
        cr.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    grads = cr.gradients(loss, [w, b])
    train = cr.train.GradientDescentOptimizer(0.1).minimize(loss)
    feed = {x: np.zeros((0, 3)), labels: np.zeros(0, np.int32)}
    with cr.Session() as session, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        loss_value, g_w, g_b = session.run([loss, *grads], feed)
        session.run(train, feed)
        w_after = session.run(w)

    t_w = torch.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    t_b = torch.tensor([0.5, -0.5], dtype=torch.float64, requires_grad=True)
    t_loss = F.cross_entropy(
        torch.zeros(0, 3, dtype=torch.float64) @ t_w + t_b, torch.zeros(0).long()
    )
    t_gw, t_gb = torch.autograd.grad(t_loss, [t_w, t_b])
    assert np.isnan(loss_value) and torch.isnan(t_loss)
    np.testing.assert_array_equal(g_w, t_gw.numpy())
    np.testing.assert_array_equal(g_b, t_gb.numpy())
    np.testing.assert_array_equal(w_after, np.arange(6.0).reshape(3, 2))


def test_empty_arrays_through_array_ops_and_their_gradients():
    x = cr.placeholder(cr.float64, shape=[None, 2])
    pieces = cr.split(x, [0, 2], axis=1)
    joined = cr.concat([x, x], axis=0)
    picked = cr.gather(x, np.zeros(0, np.int32))
    outputs = [
        pieces[0],
        joined,
        picked,
        cr.reshape(x, [-1]),
        cr.transpose(x),
        cr.tile(x, [2, 1]),
        cr.pad(x, [[1, 0], [0, 0]]),
        x[1:, :],
    ]
    loss = cr.add_n([cr.reduce_sum(o) for o in outputs])
    (grad,) = cr.gradients(loss, [x])
    got = run([*outputs, loss, grad], {x: np.zeros((0, 2))})
    shapes = [(0, 0), (0, 2), (0, 2), (0,), (2, 0), (0, 2), (1, 2), (0, 2)]
    assert [g.shape for g in got[: len(shapes)]] == shapes
    assert got[-2] == 0.0 and got[-1].shape == (0, 2)


def test_gradients_with_empty_gather_indices_on_a_nonempty_tensor():
    x = cr.placeholder(cr.float64, shape=[3, 2])
    (grad,) = cr.gradients(cr.reduce_sum(cr.gather(x, np.zeros(0, np.int32))), [x])
    np.testing.assert_array_equal(run(grad, {x: np.ones((3, 2))}), np.zeros((3, 2)))


def test_gather_gradient_from_a_tensor_with_an_empty_axis():
    """Found by the differential run: GatherGrad reshaped its rows with -1 and an empty axis."""
    x = cr.placeholder(cr.float64, shape=[1, 0])
    (grad,) = cr.gradients(cr.reduce_sum(cr.gather(x, [0, 0])), [x])
    assert run(grad, {x: np.zeros((1, 0))}).shape == (1, 0)


def test_integer_mean_over_nothing_is_refused():
    i = cr.placeholder(cr.int32, shape=[None])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(InvalidArgumentError):
            run(cr.reduce_mean(i), {i: np.zeros(0, np.int32)})


# -- non-numeric objects and ragged lists -------------------------------------------------------------
class Opaque:
    """A Python object NumPy can only wrap as dtype=object."""


NON_NUMERIC = [
    "abc",
    b"bytes",
    None,
    {"a": 1},
    {1, 2},
    Opaque(),
    1 + 2j,
    [1, "a"],
    np.array(["1"]),
    np.array([1, None], dtype=object),
    np.array(["2020-01-01"], dtype="M8[D]"),
    (k for k in range(3)),
    datetime.date(2020, 1, 1),
]
RAGGED = [[[1, 2], [3]], [[[1]], [2]], [np.zeros(2), np.zeros(3)], [[1.0, 2.0], 3.0]]


def _label(value: object) -> str:
    """A test id that is the same in every process (no memory addresses)."""
    text = repr(value)
    return type(value).__name__ if " at 0x" in text else text[:40]


@pytest.mark.parametrize("value", NON_NUMERIC + RAGGED, ids=_label)
def test_non_numeric_and_ragged_feeds_are_refused_naming_the_placeholder(value):
    untyped = cr.placeholder(name="untyped")
    typed = cr.placeholder(cr.float32, shape=[None, 2], name="typed")
    for target in (untyped, typed):
        with pytest.raises(InvalidArgumentError, match=f"Placeholder '{target.op.name}'"):
            run(target * 2.0, {target: value})


@pytest.mark.parametrize("value", NON_NUMERIC + RAGGED, ids=_label)
def test_non_numeric_and_ragged_values_in_the_graph_are_refused(value):
    x = cr.placeholder(cr.float64, shape=[2])
    builders = [
        lambda: cr.constant(value),
        lambda: x + value,
        lambda: value * x,
        lambda: cr.Variable(value),
        lambda: cr.maximum(x, value),
    ]
    for build in builders:
        with pytest.raises(ChainruleError, match="cannot make a tensor|needs an initial_value"):
            build()


def test_lossy_feeds_to_typed_placeholders_are_refused():
    i = cr.placeholder(cr.int32, shape=[None], name="counts")
    for bad in ([0.5], [np.nan], [2**40], np.array([2**31], np.int64), [-(2**31) - 1]):
        with pytest.raises(InvalidArgumentError, match="Placeholder 'counts'.*int32"):
            run(i * 2, {i: bad})
    got = run(i * 2, {i: np.array([2**30 - 1, -(2**30)], np.int64)})  # int64 that fits
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, [2**31 - 2, -(2**31)])


def test_wrong_shapes_are_refused_naming_the_placeholder_expected_and_got():
    x = cr.placeholder(cr.float64, shape=[None, 3], name="features")
    with pytest.raises(InvalidArgumentError, match=r"'features'.*\(\?, 3\).*\(2, 2\)"):
        run(x * 1.0, {x: np.zeros((2, 2))})
    with pytest.raises(InvalidArgumentError, match=r"'features'.*\(\?, 3\).*\(\)"):
        run(x * 1.0, {x: 1.0})


# -- Python objects as fetches and as feed keys -------------------------------------------------------
BAD_FETCHES = [object(), None, 3.0, 7, {1, 2}, b"x", Opaque(), print, [None], {"a": object()}]


@pytest.mark.parametrize("fetch", BAD_FETCHES, ids=_label)
def test_python_objects_as_fetches_are_refused(fetch):
    x = cr.placeholder(cr.float64, shape=[2], name="x")
    with pytest.raises(InvalidArgumentError, match="cannot fetch"):
        run(fetch, {x: np.zeros(2)})
    with pytest.raises(InvalidArgumentError, match="cannot fetch"):
        run([x, fetch], {x: np.zeros(2)})


def test_missing_names_and_bad_feed_keys_are_refused():
    x = cr.placeholder(cr.float64, shape=[2], name="x")
    with pytest.raises(NotFoundError, match="no operation named 'nope'"):
        run("nope")
    with pytest.raises(NotFoundError, match="no tensor named 'nope:0'"):
        run(x, {"nope:0": 1.0})
    with pytest.raises(InvalidArgumentError, match="did you mean 'x:0'"):
        run(x, {"x": 1.0})
    for key in (object(), None, 3, (x, 1.0)):
        with pytest.raises(InvalidArgumentError, match="cannot feed"):
            run(x, {key: 1.0})
    with pytest.raises(InvalidArgumentError, match="cannot feed"):
        run(x, [(x, np.zeros(2))])


def test_run_time_shape_errors_name_the_node():
    a = cr.placeholder(cr.float64, name="a")
    b = cr.placeholder(cr.float64, name="b")
    cases = [
        (cr.matmul(a, b, name="product"), {a: np.zeros((2, 3)), b: np.zeros((2, 3))}),
        (cr.add(a, b, name="total"), {a: np.zeros((2, 2)), b: np.zeros((2, 3))}),
        (cr.reshape(a, [4, -1], name="reshaped"), {a: np.zeros((2, 3))}),
        (cr.gather(a, [5], name="picked"), {a: np.zeros((2, 3))}),
    ]
    for node, feed in cases:
        with pytest.raises(ChainruleError, match=f"'{node.op.name}'.*test_bad_inputs.py"):
            run(node, feed)


# -- random bad inputs: never anything but a result or a chainrule error ------------------------------
scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.complex_numbers(max_magnitude=1e3),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.none(),
    st.just(Opaque()),
)
nested = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=8)


def _filled(shape: tuple[int, ...], fill: float, dtype: type) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):  # NaN or 1e300 cast to ints, on purpose
        return np.full(shape, fill).astype(dtype)


arrays = st.builds(
    _filled,
    st.lists(st.integers(0, 3), max_size=3).map(tuple),
    st.sampled_from([0.0, 1.5, np.nan, np.inf, -np.inf, 3, -1, 1e300]),
    st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int32, np.bool_, np.uint8]),
)
bad_values = st.one_of(nested, arrays, st.dictionaries(st.text(max_size=2), scalars, max_size=2))


def _graph_of_every_kind():
    """Placeholders of each kind feeding a small computation with a gradient."""
    untyped = cr.placeholder(name="untyped")
    floats = cr.placeholder(cr.float32, shape=[None, 2], name="floats")
    ints = cr.placeholder(cr.int32, shape=[None], name="ints")
    flags = cr.placeholder(cr.bool, name="flags")
    outputs = [
        cr.reduce_mean(cr.nn.softmax(cr.cast(untyped, cr.float64) * 2.0 + 1.0, axis=0)),
        cr.gradients(cr.reduce_sum(cr.tanh(floats)), [floats])[0],
        cr.reduce_sum(ints * 3),
        cr.logical_not(flags),
    ]
    return [untyped, floats, ints, flags], outputs


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=bad_values, target=st.integers(0, 3), numerics=st.booleans())
def test_any_fed_value_gives_a_result_or_a_chainrule_error(value, target, numerics):
    with cr.Graph().as_default():
        placeholders, outputs = _graph_of_every_kind()
        node, out = placeholders[target], outputs[target]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # e.g. NumPy's mean of nothing
            try:
                result = run(out, {node: value}, check_numerics=numerics)
            except ChainruleError as err:
                assert err.node is not None or "cannot" in str(err), err
                return
        assert isinstance(result, np.ndarray | np.generic)


fetch_objects = st.recursive(
    st.one_of(scalars, st.just("x"), st.just("missing"), st.sampled_from(["NODE", "SUM"])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=2), inner, max_size=2),
        st.frozensets(st.integers(), max_size=2),
    ),
    max_leaves=6,
)


def _resolve(spec, nodes):
    if isinstance(spec, str) and spec in nodes:
        return nodes[spec]
    if isinstance(spec, list):
        return [_resolve(s, nodes) for s in spec]
    if isinstance(spec, tuple):
        return tuple(_resolve(s, nodes) for s in spec)
    if isinstance(spec, dict):
        return {k: _resolve(v, nodes) for k, v in spec.items()}
    return spec


@settings(max_examples=200, deadline=None, derandomize=True)
@given(spec=fetch_objects)
def test_any_fetch_structure_gives_its_shape_back_or_a_chainrule_error(spec):
    with cr.Graph().as_default():
        x = cr.placeholder(cr.float64, shape=[2], name="x")
        nodes = {"NODE": x, "SUM": cr.reduce_sum(x)}
        fetches = _resolve(spec, nodes)
        try:
            result = run(fetches, {x: np.array([1.0, 2.0])})
        except ChainruleError:
            return
    assert type(result) is type(fetches) or isinstance(fetches, str | cr.Tensor | cr.Node)
