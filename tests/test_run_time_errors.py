"""Errors found while a graph runs: a ``ShapeError`` worded as at graph-build time, naming the
node, its op type and the user's line, under a traceback that ends at the user's call."""

from __future__ import annotations

import inspect
import traceback
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import InvalidArgumentError, ShapeError


def unknown_placeholders():
    return cr.placeholder(cr.float32, name="a"), cr.placeholder(cr.float32, name="b")


def test_matmul_inner_mismatch_at_run_time_is_worded_as_at_build_time():
    with pytest.raises(ShapeError) as built:
        cr.matmul(cr.zeros([2, 3]), cr.zeros([4, 5]))
    a, b = unknown_placeholders()
    product = cr.matmul(a, b, name="product")
    line = inspect.currentframe().f_lineno - 1
    with cr.Session() as sess, pytest.raises(ShapeError) as ran:
        sess.run(product, {a: np.ones((2, 3)), b: np.ones((4, 5))})
    assert isinstance(ran.value, InvalidArgumentError)
    assert ran.value.node.name == "product"
    message = str(ran.value)
    assert message.startswith(f"MatMul 'product' ({Path(__file__).name}:{line}): ")
    assert ran.value.message == built.value.message == "inner dimensions differ: (2, 3) @ (4, 5)"
    assert "gufunc" not in message


@pytest.mark.parametrize(
    "a_shape, b_shape, transpose_b, expected",
    [
        ((3,), (3, 2), False, "matmul needs inputs of rank >= 2, got (3,) @ (3, 2)"),
        ((2, 3), (2, 3), True, None),
        ((2, 3), (3, 2), True, "inner dimensions differ: (2, 3) @ (3, 2) (transpose_b)"),
        (
            (2, 2, 3),
            (3, 3, 4),
            False,
            "batch dimensions (2,) and (3,) cannot be broadcast together: (2, 2, 3) @ (3, 3, 4)",
        ),
    ],
)
def test_matmul_run_time_shape_errors(a_shape, b_shape, transpose_b, expected):
    a, b = unknown_placeholders()
    product = cr.matmul(a, b, transpose_b=transpose_b)
    feed = {a: np.ones(a_shape), b: np.ones(b_shape)}
    with cr.Session() as sess:
        if expected is None:
            np.testing.assert_allclose(sess.run(product, feed), np.full((2, 2), 3.0))
            return
        with pytest.raises(ShapeError) as ran:
            sess.run(product, feed)
    assert ran.value.message == expected
    assert ran.value.node.type == "MatMul"


def test_matmul_with_unknown_batch_dimensions_is_checked_at_run_time():
    a = cr.placeholder(cr.float32, shape=[None, 2, 3])
    b = cr.placeholder(cr.float32, shape=[None, 3, 4])
    product = cr.matmul(a, b)
    with cr.Session() as sess, pytest.raises(ShapeError, match=r"batch dimensions \(2,\)"):
        sess.run(product, {a: np.ones((2, 2, 3)), b: np.ones((3, 3, 4))})


def test_a_failed_matmul_leaves_the_session_as_it_was():
    a, b = unknown_placeholders()
    v = cr.Variable(1.0)
    update = cr.assign_add(v, 1.0)
    with cr.control_dependencies([update]):
        product = cr.matmul(a, b)
    with cr.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(ShapeError):
            sess.run(product, {a: np.ones((2, 3)), b: np.ones((4, 5))})
        assert sess.run(v) == 1.0


def frames_of(err: BaseException) -> list[traceback.FrameSummary]:
    return traceback.extract_tb(err.__traceback__)


def test_run_time_error_traceback_starts_at_the_users_call():
    a, b = unknown_placeholders()
    product = cr.matmul(a, b)
    with cr.Session() as sess:
        with pytest.raises(ShapeError) as ran:
            sess.run(product, {a: np.ones((2, 3)), b: np.ones((4, 5))})
        step = sess.make_callable(product, [a, b])
        with pytest.raises(ShapeError) as called:
            step(np.ones((2, 3)), np.ones((4, 5)))
    for err in (ran.value, called.value):
        frames = frames_of(err)
        # only the test's own frame: no session, plan, schedule or kernel frames
        assert [f.filename for f in frames] == [__file__]
        assert frames[-1].line.startswith(("sess.run(product", "step(np.ones"))
        assert err.__cause__ is None


def test_feed_errors_are_trimmed_too_and_keep_their_class():
    x = cr.placeholder(cr.float32, shape=[2], name="x")
    with cr.Session() as sess, pytest.raises(InvalidArgumentError) as ran:
        sess.run(x * 2, {x: np.ones(3)})
    assert not isinstance(ran.value, ShapeError)  # a wrong feed shape stays a feed error
    assert "'x'" in str(ran.value)
    assert [f.filename for f in frames_of(ran.value)] == [__file__]
