"""Every graph-building mistake is a chainrule error that points at the user's line.

A sweep over the public op constructors with each kind of bad argument (wrong rank, bad
axis, negative size, wrong dtype, ``None``, an unknown option): the error names the op when
one was being built, and in every case the line of this file that made the call.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import (
    ChainruleError,
    DTypeError,
    FailedPreconditionError,
    InvalidArgumentError,
    ShapeError,
)


def _x() -> cr.Tensor:
    return cr.placeholder(cr.float32, [2, 3], name="x")


BAD_CALLS = {
    "concat of nothing": (InvalidArgumentError, lambda x: cr.concat([], 0)),
    "pad mode FOO": (InvalidArgumentError, lambda x: cr.pad(x, [[0, 0], [1, 1]], mode="FOO")),
    "split in 0 parts": (InvalidArgumentError, lambda x: cr.split(x, 0)),
    "axis 'a'": (InvalidArgumentError, lambda x: cr.reduce_sum(x, axis="a")),
    "axis 1.7": (InvalidArgumentError, lambda x: cr.reduce_sum(x, axis=1.7)),
    "axis 5 of rank 2": (ShapeError, lambda x: cr.reduce_mean(x, axis=5)),
    "argmax axis 'z'": (InvalidArgumentError, lambda x: cr.argmax(x, axis="z")),
    "zeros of negative size": (ShapeError, lambda x: cr.zeros([-2, 3])),
    "zeros of rank 100": (ShapeError, lambda x: cr.zeros([1] * 100)),
    "fill of negative size": (ShapeError, lambda x: cr.fill([2, -1], 1.0)),
    "random_normal of negative size": (ShapeError, lambda x: cr.random_normal([-1])),
    "Variable(None)": (InvalidArgumentError, lambda x: cr.Variable(None)),
    "assign to a constant": (FailedPreconditionError, lambda x: cr.assign(cr.constant(1.0), 2.0)),
    "einsum operand count": (InvalidArgumentError, lambda x: cr.einsum("ij,jk->ik", x)),
    "einsum subscripts": (InvalidArgumentError, lambda x: cr.einsum("ij->q", x)),
    "dense with -1 units": (ShapeError, lambda x: cr.layers.dense(x, units=-1)),
    "dropout keep_prob 1.5": (InvalidArgumentError, lambda x: cr.nn.dropout(x, keep_prob=1.5)),
    "mean_squared_error shapes": (
        ShapeError,
        lambda x: cr.losses.mean_squared_error(x, cr.ones([3, 2])),
    ),
    "reshape to another size": (ShapeError, lambda x: cr.reshape(x, [5])),
    "transpose by a non-permutation": (ShapeError, lambda x: cr.transpose(x, [0, 0])),
    "one_hot depth -1": (ShapeError, lambda x: cr.one_hot([1], -1)),
    "tile multiples of the wrong rank": (ShapeError, lambda x: cr.tile(x, [1])),
    "gather axis 5": (ShapeError, lambda x: cr.gather(x, [0], axis=5)),
    "expand_dims axis 7": (ShapeError, lambda x: cr.expand_dims(x, 7)),
    "squeeze a size-2 axis": (ShapeError, lambda x: cr.squeeze(x, [0])),
    "matmul inner mismatch": (ShapeError, lambda x: cr.matmul(x, cr.ones([4, 2]))),
    "cast to no dtype": (DTypeError, lambda x: cr.cast(x, "foo")),
    "placeholder of no dtype": (DTypeError, lambda x: cr.placeholder("foo")),
    "slice begin and size lengths": (ShapeError, lambda x: cr.slice(x, [0], [1, 1])),
    "stack of nothing": (InvalidArgumentError, lambda x: cr.stack([])),
    "clip bounds that do not broadcast": (
        ShapeError,
        lambda x: cr.clip_by_value(x, 1.0, cr.ones([5])),
    ),
    "softmax axis 4": (ShapeError, lambda x: cr.nn.softmax(x, axis=4)),
    "range with delta 0": (InvalidArgumentError, lambda x: cr.range(0, 5, 0)),
    "where with shapes that do not broadcast": (
        ShapeError,
        lambda x: cr.where(cr.ones([3], cr.bool), x, x),
    ),
    "constant shape mismatch": (ShapeError, lambda x: cr.constant([1, 2, 3], shape=[2, 2])),
    "placeholder shape 'abc'": (ShapeError, lambda x: cr.placeholder(cr.float32, shape="abc")),
    "add of float and int tensors": (DTypeError, lambda x: x + cr.constant(1)),
}


@pytest.mark.parametrize("case", list(BAD_CALLS), ids=list(BAD_CALLS))
def test_a_bad_argument_is_a_chainrule_error_naming_the_users_line(case):
    expected, build = BAD_CALLS[case]
    x = _x()
    with pytest.raises(ChainruleError) as info:
        build(x)
    assert type(info.value) is expected, f"{case}: {type(info.value).__name__}: {info.value}"
    assert "test_graph_building_errors.py:" in str(info.value), str(info.value)


def test_errors_name_a_line_of_the_users_program_and_never_one_of_a_library():
    """The command line tools and the explorer call chainrule from no program of the user's:
    their errors show no line (none of chainrule's, Python's or an installed package's)."""
    import inspect

    from chainrule.errors import user_source_line

    line = inspect.currentframe().f_lineno + 1
    assert user_source_line() == f"test_graph_building_errors.py:{line}"
    from_a_library: dict = {}
    code = "from chainrule.errors import user_source_line\nline = user_source_line()"
    exec(compile(code, np.__file__, "exec"), from_a_library)
    assert from_a_library["line"] is None


def test_a_huge_fill_costs_nothing_to_build_and_fails_clearly_when_run():
    huge = cr.ones([10**6, 10**6], name="huge")
    assert huge.shape == (10**6, 10**6) and huge.dtype == cr.float32
    small = cr.zeros([2000, 1000], cr.float64) + 1.0
    with cr.Session() as sess:
        with pytest.raises(InvalidArgumentError) as info:
            sess.run(huge)
        assert "Fill 'huge'" in str(info.value) and "3.6 TiB" in str(info.value)
        assert "test_graph_building_errors.py:" in str(info.value)
        np.testing.assert_array_equal(sess.run(small), np.ones((2000, 1000)))


def test_an_op_name_holding_a_colon_is_refused_as_tf1_does():
    """``a:0`` names the first output of ``a``, so no op may be called ``a:0``."""
    with pytest.raises(InvalidArgumentError, match="'a:0' is not a valid op name") as info:
        cr.constant(1.0, name="a:0")
    assert "test_graph_building_errors.py:" in str(info.value)
    first = cr.constant(2.0, name="a")
    assert cr.get_default_graph().get_tensor_by_name("a:0") is first


def test_shapes_that_do_not_broadcast_at_run_time_are_a_shape_error_as_at_build_time():
    """A metric's update on labels and predictions of different lengths, fed at run time."""
    labels = cr.placeholder(cr.int64, [None])
    predictions = cr.placeholder(cr.int64, [None])
    _, update = cr.metrics.accuracy(labels, predictions)
    x, y = cr.placeholder(cr.float32), cr.placeholder(cr.float32)
    with cr.Session() as sess:
        sess.run(cr.local_variables_initializer())
        with pytest.raises(ShapeError, match=r"shapes \(2,\) and \(3,\) cannot be broadcast"):
            sess.run(update, {labels: [1, 2, 3], predictions: [1, 2]})
        with pytest.raises(ShapeError, match=r"Add 'Add' .*shapes \(1, 3\) and \(2,\) cannot"):
            sess.run(x + y, {x: [[1.0, 2.0, 3.0]], y: [1.0, 2.0]})
