"""Bad input that used to give a silent wrong answer or a bare Python exception: each is now
computed as TF1 does or refused with a chainrule.errors error that names what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import GraphError, InvalidArgumentError, ShapeError


def run(fetches, feed=None):
    with cr.Session() as session:
        return session.run(fetches, feed)


# -- Python integers wider than int32 ----------------------------------------------------------------
def test_python_ints_that_do_not_fit_int32_become_int64():
    big = cr.constant(2**40)
    mixed = cr.constant([1, 2**33 + 5])
    assert big.dtype == cr.int64 and mixed.dtype == cr.int64
    assert run(big) == 2**40
    np.testing.assert_array_equal(run(mixed), [1, 2**33 + 5])
    assert run(cr.constant(-(2**63))) == -(2**63)
    assert cr.constant(7).dtype == cr.int32


def test_a_wide_python_int_as_an_operand_is_int64():
    assert run(cr.add(2**40, 1)) == 2**40 + 1
    assert cr.Variable(2**40).dtype == cr.int64


@pytest.mark.parametrize("value", [2**63, 2**70, [1, -(2**64)]])
def test_python_ints_that_do_not_fit_int64_are_refused(value):
    with pytest.raises(InvalidArgumentError, match="does not fit int64") as info:
        cr.constant(value, name="huge")
    assert "Const 'huge'" in str(info.value)
    assert "test_silent_wrong_answers.py" in str(info.value)


# -- integer division by zero --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "op_type"), [(cr.floordiv, "FloorDiv"), (cr.floormod, "FloorMod")]
)
def test_integer_division_by_zero_is_refused_naming_the_node(build, op_type):
    with pytest.raises(InvalidArgumentError, match="division by zero") as info:
        run(build(7, 0, name="q"))
    assert f"{op_type} 'q'" in str(info.value)
    assert "test_silent_wrong_answers.py" in str(info.value)


@pytest.mark.parametrize("dtype", [cr.int32, None])
def test_a_zero_fed_as_an_integer_divisor_is_refused(dtype):
    x = cr.placeholder(dtype, shape=[3])
    y = cr.placeholder(dtype, shape=[3])
    quotient, remainder = x // y, x % y
    feed = {x: np.array([7, 8, 9], np.int32), y: np.array([2, 0, 3], np.int32)}
    for fetch in (quotient, remainder):
        with pytest.raises(InvalidArgumentError, match="division by zero"):
            run(fetch, feed)
    feed[y] = np.array([2, 3, -4], np.int32)
    np.testing.assert_array_equal(run([quotient, remainder], feed), [[3, 2, -3], [1, 2, -3]])


def test_float_division_by_zero_stays_ieee():
    assert run(cr.floordiv(7.0, 0.0)) == np.inf
    assert np.isnan(run(cr.floormod(7.0, 0.0)))


# -- shapes that are not shapes ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "says"),
    [
        ([2.5, 3], "2.5 in shape .* not a whole number"),
        ([-5], "-5 in shape .* negative"),
        ("abc", "list of sizes"),
        ([[1], [2]], r"\[1\] in shape .* not a whole number"),
        (2.5, "list of sizes"),
    ],
)
def test_a_placeholder_refuses_a_shape_that_is_not_one(shape, says):
    with pytest.raises(ShapeError, match=says) as info:
        cr.placeholder(cr.float32, shape=shape, name="images")
    assert "Placeholder 'images'" in str(info.value)
    assert "test_silent_wrong_answers.py" in str(info.value)


def test_whole_sizes_of_any_number_type_and_unknown_sizes_are_accepted():
    shape = [np.int64(2), 3.0, None, -1]
    assert cr.placeholder(cr.float32, shape=shape).shape == (2, 3, None, None)


@pytest.mark.parametrize(
    ("value", "shape", "says"),
    [
        (1.0, [2.5], "2.5 in shape .* not a whole number"),
        (1.0, [-3], "-3 in shape .* negative"),
        ([1, 2, 3], [2, 2], r"cannot give 3 values the shape \(2, 2\)"),
        (np.ones(3), [None], "must be fully known"),
    ],
)
def test_a_constant_refuses_a_shape_its_value_cannot_take(value, shape, says):
    with pytest.raises(ShapeError, match=says) as info:
        cr.constant(value, shape=shape, name="table")
    assert "Const 'table'" in str(info.value)


def test_a_constant_fills_or_reshapes_to_a_good_shape():
    np.testing.assert_array_equal(run(cr.constant(7, shape=[2])), [7, 7])
    np.testing.assert_array_equal(run(cr.constant([1, 2, 3, 4], shape=[2, 2])), [[1, 2], [3, 4]])


# -- gradients across graphs, and of nothing -----------------------------------------------------------
def test_gradients_between_two_graphs_are_refused_naming_both_nodes():
    with cr.Graph().as_default():
        y = cr.square(cr.constant(3.0), name="loss")
    with cr.Graph().as_default():
        x = cr.placeholder(cr.float32, name="weights")
        with pytest.raises(GraphError) as info:
            cr.gradients(y, [x])
    message = str(info.value)
    assert "Placeholder 'weights'" in message and "Square 'loss'" in message
    assert "another graph" in message


def test_gradients_of_no_ys_is_refused():
    x = cr.placeholder(cr.float32)
    with pytest.raises(InvalidArgumentError, match="at least one y"):
        cr.gradients([], [x])


# -- user gradient functions ---------------------------------------------------------------------------
def _user_op(op_type, gradient):
    """A user op computing 2 * x, registered under ``op_type`` with the gradient given."""
    cls = type(op_type, (cr.Operation,), {"compute": lambda self, x: 2 * x})
    cls.infer = lambda self, x: (x.shape, x.dtype)
    cr.RegisterGradient(op_type)(gradient)
    return cls


def test_a_user_gradient_of_the_wrong_shape_is_refused_naming_the_op():
    Doubled = _user_op("DoubledWrongGradShape", lambda op, grad: cr.ones([3]))
    x = cr.placeholder(cr.float32, shape=[2], name="x")
    y = Doubled([x], name="doubled")
    with pytest.raises(ShapeError) as info:
        cr.gradients(y, [x])
    message = str(info.value)
    assert "DoubledWrongGradShape 'doubled'" in message
    assert "shape (3,) for its input 'x:0' of shape (2,)" in message


def test_a_user_gradient_function_that_raises_is_reported_naming_the_op():
    def broken(op, grad):
        return {}["missing"]

    Doubled = _user_op("DoubledBrokenGrad", broken)
    x = cr.placeholder(cr.float32, shape=[2])
    y = Doubled([x], name="doubled")
    with pytest.raises(GraphError, match="raised KeyError: 'missing'") as info:
        cr.gradients(y, [x])
    assert "DoubledBrokenGrad 'doubled'" in str(info.value)
    assert isinstance(info.value.__cause__, KeyError)


# -- user ops whose compute() disagrees with infer() ---------------------------------------------------
class ReturnsWhatItIsGiven(cr.Operation):
    """A user op returning ``result`` whatever its input, declaring the input's shape."""

    def __init__(self, x, result, name=None):
        self.result = result
        super().__init__([x], name=name)

    def infer(self, x):
        return x.shape, x.dtype

    def compute(self, x):
        return self.result


@pytest.mark.parametrize(
    ("result", "says"),
    [
        (np.zeros(3, np.float32), r"shape \(3,\), but infer\(\) declared \(2,\)"),
        ("abc", r"returned a str \('abc'\)"),
        (None, "returned a NoneType"),
        (np.array(["a", "b"]), "returned a ndarray"),
    ],
)
def test_a_user_op_returning_what_it_did_not_declare_is_refused_naming_it(result, says):
    x = cr.placeholder(cr.float32, shape=[2])
    y = ReturnsWhatItIsGiven(x, result, name="mine")
    with pytest.raises(InvalidArgumentError, match=says) as info:
        run(y * 2.0, {x: [1.0, 2.0]})
    assert "ReturnsWhatItIsGiven 'mine'" in str(info.value)
    assert "test_silent_wrong_answers.py" in str(info.value)


def test_a_user_op_returning_what_it_declared_runs():
    x = cr.placeholder(cr.float32, shape=[2])
    y = ReturnsWhatItIsGiven(x, np.array([3.0, 4.0], np.float32))
    np.testing.assert_array_equal(run(y * 2.0, {x: [1.0, 2.0]}), [6.0, 8.0])
    unknown = cr.placeholder(cr.float32)
    assert run(ReturnsWhatItIsGiven(unknown, 5.0), {unknown: [1.0]}) == 5.0


# -- learning rates that are not scalars ---------------------------------------------------------------
OPTIMIZERS = [
    lambda lr: cr.train.GradientDescentOptimizer(lr),
    lambda lr: cr.train.MomentumOptimizer(lr, 0.9),
    lambda lr: cr.train.AdamOptimizer(lr),
    lambda lr: cr.train.RMSPropOptimizer(lr),
    lambda lr: cr.train.AdagradOptimizer(lr),
]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_vector_learning_rate_is_refused_when_the_graph_is_built(optimizer):
    w = cr.Variable([1.0, 2.0])
    with pytest.raises(ShapeError, match="learning_rate must be a scalar, got shape"):
        optimizer([0.1, 0.2]).minimize(cr.reduce_sum(w * w))


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_vector_fed_as_the_learning_rate_is_refused_and_nothing_changes(optimizer):
    w = cr.Variable([1.0, 2.0])
    lr = cr.placeholder(cr.float32, name="rate")
    step = optimizer(lr).minimize(cr.reduce_sum(w * w))
    with cr.Session() as session:
        session.run(cr.global_variables_initializer())
        with pytest.raises(InvalidArgumentError, match="'rate' must be a scalar") as info:
            session.run(step, {lr: [0.1, 0.2]})
        assert "update_Variable" in str(info.value)
        np.testing.assert_array_equal(session.run(w), [1.0, 2.0])
        session.run(step, {lr: 0.1})
        assert not np.array_equal(session.run(w), [1.0, 2.0])


# -- registering gradients and saving: arguments of the wrong kind -------------------------------------
def test_registering_a_gradient_under_a_number_is_refused():
    with pytest.raises(InvalidArgumentError, match="op type name .* got 123"):
        cr.RegisterGradient(123)


@pytest.mark.parametrize("var_list", [5, "weights"])
def test_a_saver_of_something_that_is_not_variables_is_refused(var_list):
    cr.Variable(1.0)
    with pytest.raises(InvalidArgumentError, match="var_list is a list of Variables"):
        cr.train.Saver(var_list=var_list)


def test_a_single_variable_as_var_list_is_refused_naming_what_to_pass():
    w = cr.Variable(1.0)
    with pytest.raises(InvalidArgumentError, match="var_list is a list of Variables"):
        cr.train.Saver(var_list=w)
    assert cr.train.Saver(var_list={"w": w}.values()) is not None


@pytest.mark.parametrize("path", [12345, None])
def test_restoring_or_saving_from_something_that_is_not_a_path_is_refused(path):
    cr.Variable(1.0)
    saver = cr.train.Saver()
    with cr.Session() as session:
        session.run(cr.global_variables_initializer())
        with pytest.raises(InvalidArgumentError, match="restore\\(\\) needs a checkpoint path"):
            saver.restore(session, path)
        with pytest.raises(InvalidArgumentError, match="save\\(\\) needs a checkpoint path"):
            saver.save(session, path)


# -- fetches nested too deeply -------------------------------------------------------------------------
def _nested(fetch, depth):
    for _ in range(depth):
        fetch = [fetch]
    return fetch


@pytest.mark.parametrize("depth", [5000, 201])
def test_fetches_nested_too_deeply_are_refused(depth):
    with pytest.raises(InvalidArgumentError, match="nested more than 200"):
        run(_nested(cr.constant(1.0), depth))


def test_a_fetch_list_that_contains_itself_is_refused():
    fetches = [cr.constant(1.0)]
    fetches.append(fetches)
    with pytest.raises(InvalidArgumentError, match="contain itself"):
        run(fetches)


def test_fetches_nested_200_deep_come_back_in_their_structure():
    assert run(_nested(cr.constant(1.0), 200)) == _nested(1.0, 200)
