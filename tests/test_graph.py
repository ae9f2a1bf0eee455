"""The graph model: default graphs, names, scopes, source lines, static shapes, dtypes, operators."""

import numpy as np
import pytest

import chainrule as cr


def test_as_default_works_as_a_statement_and_as_a_context_manager():
    original = cr.get_default_graph()
    g = cr.Graph()
    g.as_default()
    assert cr.get_default_graph() is g
    h = cr.Graph()
    with h.as_default() as entered:
        assert entered is h and cr.get_default_graph() is h
        node = cr.constant(1.0)
    assert node.graph is h
    assert cr.get_default_graph() is g
    original.as_default()


def test_reset_default_graph_gives_an_empty_graph():
    cr.constant(1.0)
    g = cr.reset_default_graph()
    assert cr.get_default_graph() is g and len(g) == 0


def test_names_are_unique_tf_style_and_scoped():
    a = cr.constant(np.ones((2, 2)))
    products = [cr.matmul(a, a) for _ in range(3)]
    assert [p.op.name for p in products] == ["MatMul", "MatMul_1", "MatMul_2"]
    assert [p.name for p in products] == ["MatMul:0", "MatMul_1:0", "MatMul_2:0"]
    with cr.name_scope("layer1"):
        inner = cr.matmul(a, a)
        with cr.name_scope("sub"):
            deeper = cr.add(a, a, name="total")
    assert inner.name == "layer1/MatMul:0" and inner.op.name == "layer1/MatMul"
    assert deeper.op.name == "layer1/sub/total"
    with cr.name_scope("layer1"):
        again = cr.matmul(a, a)
    assert again.op.name == "layer1_1/MatMul"
    graph = cr.get_default_graph()
    assert graph.get_tensor_by_name("layer1/MatMul:0") is inner
    assert graph.get_operation_by_name("layer1/MatMul") is inner.op


def test_every_node_remembers_the_users_source_line():
    import inspect

    line = inspect.currentframe().f_lineno + 1
    node = cr.placeholder(cr.float32, shape=[None, 3], name="X")
    assert node.op.source == f"test_graph.py:{line}"
    assert node.op.location[0].endswith("test_graph.py")


def test_operations_and_tensors_and_the_tutorials_vocabulary():
    x = cr.placeholder(cr.float32, shape=[None, 3])
    w = cr.Variable(np.zeros((3, 2), np.float32))
    y = cr.matmul(x, w)
    op = y.op
    assert isinstance(y, cr.Tensor) and isinstance(op, cr.Node) and op.type == "MatMul"
    assert op.inputs == (x, w) and op.input_nodes == (x, w)
    assert op.outputs == (y,) and op.output is y and y.value_index == 0
    assert x.consumers() == [op] and w.consumers() == [op]
    assert op in x.op.consumers and op in w.op.consumers
    assert y.shape == (None, 2)
    assert y.get_shape().as_list() == [None, 2]
    assert y.dtype == cr.float32


def test_static_shape_inference_with_unknown_dims_and_rank():
    x = cr.placeholder(cr.float64, shape=[None, 3])
    assert (x + cr.constant(np.ones((1, 3)))).shape == (None, 3)
    assert (x * np.ones((4, 1, 3))).shape == (4, None, 3)
    assert cr.reduce_sum(x, axis=1).shape == (None,)
    assert cr.reduce_sum(x, axis=[0, 1], keepdims=True).shape == (1, 1)
    untyped = cr.placeholder()
    assert untyped.shape is None and untyped.dtype is None
    assert cr.reduce_sum(untyped * 2.0).shape is None or cr.reduce_sum(untyped).shape == ()


def test_dtype_rules_follow_tf1():
    assert cr.constant(1.0).dtype == cr.float32
    assert cr.constant(1).dtype == cr.int32
    assert cr.constant([1.0, 2.0]).dtype == cr.float32
    assert cr.constant(np.ones(2)).dtype == cr.float64
    assert cr.constant(np.ones(2, np.float32)).dtype == cr.float32
    assert cr.constant(1.5, cr.float64).dtype == cr.float64
    x64 = cr.constant(np.ones(2))
    assert (x64 * 2).dtype == cr.float64  # Python scalars are weak
    assert (2.0 - x64).dtype == cr.float64
    i32 = cr.constant([1, 2])
    assert (i32 + 1).dtype == cr.int32
    assert (i32 < 2).dtype == cr.bool
    v = cr.Variable(-4.0, dtype=cr.float64)
    assert v.dtype == cr.float64
    assert cr.Variable(1.0).dtype == cr.float32


def test_numpy_values_on_either_side_of_an_operator_become_nodes():
    x = cr.constant(np.array([1.0, 2.0]))
    for expr in (np.ones(2) * x, x * np.ones(2), np.ones(2) + x, np.float64(3.0) * x):
        assert isinstance(expr, cr.Tensor)
    with cr.Session() as s:
        np.testing.assert_allclose(s.run(np.array([2.0, 3.0]) * x), [2.0, 6.0])
        np.testing.assert_allclose(s.run(1.0 / x), [1.0, 0.5])
        np.testing.assert_allclose(s.run(x**2), [1.0, 4.0])
        np.testing.assert_allclose(s.run(2.0**x), [2.0, 4.0])
        np.testing.assert_allclose(s.run(-x), [-1.0, -2.0])
        np.testing.assert_allclose(s.run(abs(-x)), [1.0, 2.0])
        np.testing.assert_array_equal(s.run(x >= 2.0), [False, True])
        np.testing.assert_allclose(s.run(x[1]), 2.0)


def test_equality_stays_identity_so_nodes_are_dict_keys():
    a, b = cr.constant(1.0), cr.constant(1.0)
    assert a == a and a != b
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b"


def test_collections_of_variables():
    w = cr.Variable(np.ones(2), name="w")
    counter = cr.Variable(0, trainable=False, name="counter")
    assert cr.trainable_variables() == [w]
    assert cr.global_variables() == [w, counter]


def test_control_dependencies_order_updates():
    v = cr.Variable(1.0, dtype=cr.float64)
    inc = cr.assign_add(v, 1.0)
    with cr.control_dependencies([inc]):
        read = cr.identity(v)
    with cr.Session() as s:
        assert s.run(read) == 2.0
        assert s.run(read) == 3.0


def test_a_chain_of_100000_nodes_builds_runs_and_differentiates():
    x = cr.Variable(1.0, dtype=cr.float64)
    y = x
    for _ in range(50000):
        y = cr.sin(y) + 0.5
    assert len(cr.get_default_graph()) > 100000
    grad = cr.gradients(y, [x])[0]
    with cr.Session() as s:
        value, slope = s.run([y, grad])
    expected, d = 1.0, 1.0
    for _ in range(50000):
        d *= np.cos(expected)
        expected = np.sin(expected) + 0.5
    assert value == pytest.approx(expected, rel=1e-12)
    assert slope == pytest.approx(d, rel=1e-9, abs=1e-300)
