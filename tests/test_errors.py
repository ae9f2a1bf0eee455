"""Bad input gets a clear chainrule error naming the node, op type and the user's line."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import (
    ChainruleError,
    DTypeError,
    FailedPreconditionError,
    GraphError,
    InvalidArgumentError,
    NotFoundError,
    ShapeError,
)

THIS_FILE = "test_errors.py"


def _line_of(marker: str) -> int:
    with open(__file__) as f:
        for number, line in enumerate(f, start=1):
            if marker in line and "_line_of" not in line:
                return number
    raise AssertionError(marker)


def test_missing_feed_names_the_placeholder_its_line_and_the_target():
    inputs = cr.placeholder(cr.float32, shape=[None, 2], name="inputs")  # feed-line
    loss = cr.reduce_sum(inputs * 2.0, name="loss")
    with pytest.raises(InvalidArgumentError) as info:
        cr.Session().run(loss)
    message = str(info.value)
    assert "placeholder 'inputs'" in message
    assert f"{THIS_FILE}:{_line_of('# feed-line')}" in message
    assert "'loss'" in message
    assert info.value.node is inputs.op


def test_wrong_feed_shape_names_expected_and_got():
    x = cr.placeholder(cr.float32, shape=[None, 2], name="inputs")
    with pytest.raises(InvalidArgumentError) as info:
        cr.Session().run(x * 2, {x: np.ones((4, 3))})
    assert "inputs" in str(info.value)
    assert "(?, 2)" in str(info.value) and "(4, 3)" in str(info.value)


def test_lossy_feed_dtype_is_refused_but_exact_values_convert():
    n = cr.placeholder(cr.int32, shape=[], name="count")
    with pytest.raises(InvalidArgumentError) as info:
        cr.Session().run(n + 1, {n: 0.5})
    assert "count" in str(info.value) and "int32" in str(info.value)
    assert cr.Session().run(n + 1, {n: 3.0}) == 4
    f = cr.placeholder(cr.float32, shape=[2])
    out = cr.Session().run(f * 2, {f: [1, 2]})
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [2.0, 4.0])


def test_ragged_or_non_numeric_feeds_are_refused():
    x = cr.placeholder(name="x")
    with pytest.raises(InvalidArgumentError):
        cr.Session().run(x * 2, {x: [[1, 2], [3]]})
    with pytest.raises(InvalidArgumentError):
        cr.Session().run(x * 2, {x: "text"})


def test_matmul_shape_error_at_construction_names_op_name_line_and_shapes():
    a = cr.constant(np.ones((3, 2)))
    with pytest.raises(ShapeError) as info:
        cr.matmul(a, a)  # matmul-line
    message = str(info.value)
    assert message.startswith("MatMul 'MatMul'")
    assert f"({THIS_FILE}:{_line_of('# matmul-line')})" in message
    assert "inner dimensions differ: (3, 2) @ (3, 2)" in message


def test_add_reshape_concat_shape_errors_at_construction():
    with pytest.raises(ShapeError, match=r"Add .*\(3,\).*\(4,\)"):
        cr.add(cr.constant(np.ones(3)), cr.constant(np.ones(4)))
    with pytest.raises(ShapeError, match=r"Reshape .*6 elements"):
        cr.reshape(cr.constant(np.ones((2, 3))), [4, 2])
    with pytest.raises(ShapeError, match=r"Concat .*\(2, 3\), \(2, 4\)"):
        cr.concat([cr.constant(np.ones((2, 3))), cr.constant(np.ones((2, 4)))], axis=0)


def test_run_time_shape_errors_name_the_failing_node():
    x = cr.placeholder(cr.float64, shape=None, name="x")
    y = cr.placeholder(cr.float64, shape=None, name="y")
    total = cr.add(x, y, name="total")  # runtime-line
    with pytest.raises(InvalidArgumentError) as info:
        cr.Session().run(total, {x: np.ones(3), y: np.ones(4)})
    assert "Add 'total'" in str(info.value)
    assert f"{THIS_FILE}:{_line_of('# runtime-line')}" in str(info.value)


def test_mixing_nodes_of_two_graphs_names_both():
    g1, g2 = cr.Graph(), cr.Graph()
    with g1.as_default():
        a = cr.constant(1.0, name="a")
    with g2.as_default():
        b = cr.constant(2.0, name="b")
        with pytest.raises(GraphError) as info:
            cr.add(b, a)
    assert "'a'" in str(info.value) and "'b'" in str(info.value)
    with pytest.raises(GraphError):
        cr.Session(graph=g2).run(a)


def test_dtype_mismatch_between_nodes_is_refused_like_tf1():
    a = cr.constant(1.0)  # float32
    b = cr.constant(np.float64(2.0))
    with pytest.raises(DTypeError, match="float32.*float64"):
        a + b
    with pytest.raises(DTypeError):
        cr.constant(0.5, cr.int32)


def test_closed_session_refuses_to_run():
    s = cr.Session()
    c = cr.constant(1.0)
    assert s.run(c) == 1.0
    s.close()
    with pytest.raises(FailedPreconditionError, match="closed"):
        s.run(c)
    with cr.Session() as s2:
        s2.run(c)
    with pytest.raises(FailedPreconditionError):
        s2.run(c)


def test_registering_a_gradient_for_an_unknown_op_type():
    with pytest.raises(NotFoundError, match="NoSuchOp"):
        cr.RegisterGradient("NoSuchOp")(lambda op, grad: grad)


def test_missing_gradient_is_reported_only_when_needed():
    class Twice(cr.Operation):
        def __init__(self, x):
            super().__init__([x])

        def compute(self, x):
            return 2 * x

    x = cr.placeholder(cr.float64, shape=[])
    y = Twice(x)
    with pytest.raises(NotFoundError, match="Twice"):
        cr.gradients(y, [x])
    # not on the path from x: no error, and None
    z = cr.constant(3.0, cr.float64)
    assert cr.gradients(y + z, [z])[0] is not None


def test_fetching_a_python_object_is_a_clear_error():
    with pytest.raises(InvalidArgumentError, match="cannot fetch"):
        cr.Session().run(object())
    with pytest.raises(NotFoundError, match="nope"):
        cr.Session().run("nope")


def test_node_has_no_truth_value_and_is_not_iterable():
    x = cr.constant([1.0, 2.0])
    with pytest.raises(GraphError):
        bool(x < 3.0)
    with pytest.raises(GraphError):
        list(x)


def test_every_error_is_a_chainrule_error():
    for cls in (
        ShapeError,
        DTypeError,
        InvalidArgumentError,
        NotFoundError,
        GraphError,
        FailedPreconditionError,
        cr.errors.ExprSyntaxError,
    ):
        assert issubclass(cls, ChainruleError)


def test_no_default_session_for_eval():
    with pytest.raises(FailedPreconditionError, match="default session"):
        cr.constant(1.0).eval()


def test_shape_errors_are_caught_as_invalid_argument_errors_as_in_tf1():
    """TF1 programs catch ``tf.errors.InvalidArgumentError``; a shape error is one."""
    a = cr.constant(np.ones((3, 2)))
    with pytest.raises(InvalidArgumentError) as info:
        cr.matmul(a, a)
    assert isinstance(info.value, ShapeError)
    assert "MatMul" in str(info.value)
