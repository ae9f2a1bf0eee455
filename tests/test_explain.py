"""Traces: values, gradients, orders, local derivatives and chain-rule paths."""

import json
import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import expr
from chainrule.errors import InvalidArgumentError, NotFoundError
from chainrule.trace import Edge, Path, Trace, TraceNode, format_value, to_json


def trace_of(text, **values):
    return cr.explain(expr.parse(text), values)


# -- seed 003 ------------------------------------------------------------------------------------------
def test_seed_expression_numbers():
    t = trace_of("(4*x+1)^2", x=1.0)
    assert isinstance(t, Trace)
    assert t.value == 25.0
    assert t.gradient("x") == 40.0
    assert t.node("Add").value == 5.0 and t.node("Add").gradient == 10.0
    assert t.node("Mul").value == 4.0 and t.node("Mul").gradient == 10.0
    assert t.node("Pow").gradient == 1.0


def test_seed_checks():
    assert trace_of("x*x + 3x", x=2.0).gradient("x") == 7.0
    assert trace_of("-x^2", x=3.0).value == -9.0
    assert trace_of("2^3^2").value == pytest.approx(512.0, abs=1e-9)
    t = trace_of("1/(1+e^(-x))", x=0.0)
    assert t.value == 0.5 and t.gradient("x") == 0.25


def test_seed_local_derivatives_and_path():
    t = trace_of("(4*x+1)^2", x=1.0)
    local = {(e.src, e.dst): e.local_derivative for e in t.edges}
    assert local[("Add", "Pow")] == 10.0  # dg/de = f e^(f-1) = 2 * 5
    assert local[("Mul", "Add")] == 1.0  # de/dc = 1
    assert local[("x", "Mul")] == 4.0  # dc/db = a = 4
    assert local[("Const", "Mul")] == 1.0  # d(4x)/d4 = x
    assert local[("Const_2", "Pow")] == pytest.approx(25 * math.log(5))
    (path,) = t.paths("x")
    assert isinstance(path, Path)
    assert path.nodes == ("x", "Mul", "Add", "Pow")
    assert path.factors == (4.0, 1.0, 10.0)
    assert path.product == 40.0
    assert path.indices == (1, 0, 0)


def test_variable_used_twice_has_one_path_per_use():
    t = trace_of("x*x + 3x", x=2.0)
    paths = t.paths("x")
    assert [p.nodes for p in paths] == [("x", "Mul", "Add")] * 2 + [("x", "Mul_1", "Add")]
    assert [p.indices for p in paths] == [(0, 0), (1, 0), (1, 1)]
    assert [p.product for p in paths] == [2.0, 2.0, 3.0]
    assert sum(p.product for p in paths) == t.gradient("x")
    assert t.path_count("x") == 3
    assert t.node("x").consumers == ["Mul", "Mul", "Mul_1"]


@pytest.mark.parametrize(
    "text, values",
    [
        ("(4*x+1)^2", {"x": 1.0}),
        ("x*y + sin(x*y) / (1 + y^2)", {"x": 0.7, "y": -1.3}),
        ("sigmoid(tanh(x) * exp(-y)) - sqrt(abs(x*y)) + ln(x^2 + 1)", {"x": 1.1, "y": 0.4}),
        ("((x*x)*(x*x))*((x*x)*(x*x))", {"x": 1.2}),
        ("relu(x - y) * cos(y) + 2^x", {"x": 2.0, "y": 0.5}),
    ],
)
def test_paths_multiply_and_add_up_to_the_gradient(text, values):
    t = trace_of(text, **values)
    for name in values:
        paths = t.paths(name)
        assert len(paths) == t.path_count(name)
        assert all(p.nodes[0] == name and p.nodes[-1] == t.output for p in paths)
        for p in paths:
            assert p.product == pytest.approx(math.prod(p.factors), rel=1e-14)
        total = sum(p.product for p in paths)
        assert total == pytest.approx(t.gradient(name), rel=1e-12, abs=1e-12)


def test_gradients_match_pytorch():
    t = trace_of("x*y + sin(x*y) / (1 + y^2)", x=0.7, y=-1.3)
    x = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(-1.3, dtype=torch.float64, requires_grad=True)
    out = x * y + torch.sin(x * y) / (1 + y**2)
    out.backward()
    assert t.value == pytest.approx(out.item(), rel=1e-14)
    assert t.gradient("x") == pytest.approx(x.grad.item(), rel=1e-13)
    assert t.gradient("y") == pytest.approx(y.grad.item(), rel=1e-13)


def test_path_enumeration_is_bounded():
    t = trace_of("((x*x)*(x*x))*((x*x)*(x*x))", x=1.0)
    assert t.path_count("x") == 8  # two per x*x, four of them
    assert len(t.paths("x", limit=5)) == 5
    limited = t.to_dict(max_paths=4)["paths"]["x"]
    assert limited["count"] == 8 and limited["truncated"] and len(limited["paths"]) == 4


def test_orders():
    t = trace_of("(4*x+1)^2", x=1.0)
    assert t.forward_order == ["Const", "x", "Mul", "Const_1", "Add", "Const_2", "Pow"]
    assert t.backward_order == list(reversed(t.forward_order))
    assert [tn.name for tn in t.nodes] == t.forward_order
    position = {name: i for i, name in enumerate(t.forward_order)}
    for e in t.edges:
        assert position[e.src] < position[e.dst]


def test_trace_nodes_describe_each_node():
    t = trace_of("3sin(x)", x=0.5)
    x, three, sin, mul = (t.node(n) for n in ("x", "Const", "Sin", "Mul"))
    assert isinstance(x, TraceNode)
    assert (x.label, x.kind, x.is_variable, x.is_constant) == ("x", "placeholder", True, False)
    assert (three.label, three.kind, three.is_constant) == ("3", "constant", True)
    assert (sin.label, sin.op_type, sin.inputs) == ("Sin", "Sin", ("x",))
    assert mul.inputs == ("Const", "Sin") and mul.shape == () and mul.dtype == "float64"
    assert sin.value == pytest.approx(math.sin(0.5))
    assert x.gradient == pytest.approx(3 * math.cos(0.5))
    assert three.gradient == pytest.approx(math.sin(0.5))


def test_lookup_by_node_and_name():
    e = expr.parse("x*y")
    t = cr.explain(e, {e.variables["x"]: 2.0, "y": 5.0})
    assert t.gradient(e.variables["x"]) == 5.0
    assert t.gradient("y") == 2.0
    assert t.gradient("Mul:0") == 1.0
    assert t.node(e.output).value == 10.0
    with pytest.raises(NotFoundError):
        t.gradient("nope")
    with pytest.raises(NotFoundError):
        t.node("nope")
    with pytest.raises(InvalidArgumentError):
        t.gradient(3)


def test_feed_errors():
    e = expr.parse("x + y")
    with pytest.raises(InvalidArgumentError, match="variable 'y'"):
        cr.explain(e, {"x": 1.0})
    with pytest.raises(NotFoundError, match="'z' is not a variable"):
        cr.explain(e, {"x": 1.0, "y": 1.0, "z": 1.0})
    with pytest.raises(InvalidArgumentError, match="single number"):
        cr.explain(e, {"x": [1.0, 2.0], "y": 1.0})
    with pytest.raises(InvalidArgumentError, match="cannot feed"):
        cr.explain(e, {1: 1.0})
    with pytest.raises(InvalidArgumentError, match="another graph"):
        cr.explain(e, {cr.placeholder(cr.float64): 1.0, "x": 1.0, "y": 1.0})
    with pytest.raises(InvalidArgumentError, match="needs a graph node or an expression"):
        cr.explain(3.0)


def test_expression_text_is_accepted():
    assert cr.explain("(4*x+1)^2", {"x": 1.0}).gradient("x") == 40.0


def test_explain_stays_the_function_after_the_trace_module_is_imported():
    import chainrule.trace  # noqa: F401 - the module behind cr.explain

    assert cr.explain("x^2", {"x": 3.0}).gradient("x") == 6.0
    assert cr.explain("x^2", {"x": 4.0}).gradient("x") == 8.0


def test_repeated_explains_reuse_the_gradient_graph():
    e = expr.parse("sin(x) * x")
    first = cr.explain(e, {"x": 0.3})
    size = len(e.graph)
    for v in (0.1, 0.2, 0.5):
        t = cr.explain(e, {"x": v})
        assert t.gradient("x") == pytest.approx(math.cos(v) * v + math.sin(v))
    assert len(e.graph) == size
    assert first.gradient("x") == pytest.approx(math.cos(0.3) * 0.3 + math.sin(0.3))


def test_domain_errors_show_as_non_finite_values():
    t = trace_of("log(x)", x=0.0)
    assert t.value == -math.inf and t.gradient("x") == math.inf
    data = json.loads(json.dumps(t.to_dict(), allow_nan=False))
    assert data["value"] == "-Infinity" and data["gradients"]["x"] == "Infinity"


def test_table_lists_every_node():
    t = trace_of("(4*x+1)^2", x=1.0)
    lines = t.table().splitlines()
    assert lines[0].split() == ["node", "op", "inputs", "value", "gradient"]
    assert len(lines) == 2 + len(t.nodes)
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["Pow"][-2:] == ["25", "1"]
    assert rows["x"][-2:] == ["1", "40"]
    assert rows["Add"][-2:] == ["5", "10"]
    assert str(t) == t.table()


def test_to_dict_is_json_ready_and_complete():
    t = trace_of("x*x + 3x", x=2.0)
    data = json.loads(json.dumps(t.to_dict(), allow_nan=False))
    assert data["expression"] == "x*x + 3x" and data["output"] == "Add" and data["value"] == 10.0
    assert data["variables"] == ["x"]
    assert [n["name"] for n in data["nodes"]] == t.forward_order
    x = data["nodes"][0]
    assert x == {
        "name": "x",
        "op_type": "Placeholder",
        "label": "x",
        "kind": "placeholder",
        "scope": "",
        "inputs": [],
        "consumers": ["Mul", "Mul", "Mul_1"],
        "shape": [],
        "dtype": "float64",
        "value": 2.0,
        "gradient": 7.0,
        "value_stats": x["value_stats"],
        "gradient_stats": x["gradient_stats"],
        "is_variable": True,
        "is_constant": False,
        "source": x["source"],
    }
    assert x["value_stats"]["mean"] == 2.0 and x["gradient_stats"]["norm"] == 7.0
    assert {"src": "x", "dst": "Mul", "index": 1, "local_derivative": 2.0, "flows": True} in data[
        "edges"
    ]
    assert data["gradients"]["x"] == 7.0
    assert data["backward_order"] == t.backward_order
    paths = data["paths"]["x"]
    assert paths["count"] == 3 and not paths["truncated"]
    assert sum(p["product"] for p in paths["paths"]) == 7.0
    assert paths["paths"][2] == {
        "nodes": ["x", "Mul_1", "Add"],
        "factors": [3.0, 1.0],
        "product": 3.0,
        "indices": [1, 1],
    }


# -- graphs --------------------------------------------------------------------------------------------
def perceptron():
    """The seed's perceptron (part IV) with its feed."""
    rng = np.random.RandomState(0)
    red = rng.randn(50, 2) - 2
    blue = rng.randn(50, 2) + 2
    X = cr.placeholder()
    c = cr.placeholder()
    W = cr.Variable(rng.randn(2, 2))
    b = cr.Variable(rng.randn(2))
    p = cr.softmax(cr.add(cr.matmul(X, W), b))
    J = cr.negative(cr.reduce_sum(cr.reduce_sum(cr.multiply(c, cr.log(p)), axis=1)))
    feed = {X: np.concatenate((blue, red)), c: [[1, 0]] * 50 + [[0, 1]] * 50}
    return X, c, W, b, p, J, feed


def test_perceptron_loss_matches_compute_gradients():
    X, c, W, b, p, J, feed = perceptron()
    t = cr.explain(J, feed)
    grads = cr.compute_gradients(J)
    with cr.Session() as s:
        expected = s.run({"J": J, "W": grads[W], "b": grads[b], "p": grads[p]}, feed)
    assert t.value == pytest.approx(expected["J"], rel=1e-12)
    np.testing.assert_allclose(t.gradient(W), expected["W"], rtol=1e-12)
    np.testing.assert_allclose(t.gradient(b.name), expected["b"], rtol=1e-12)
    np.testing.assert_allclose(t.gradient(p), expected["p"], rtol=1e-12)
    assert t.node(X).shape == (100, 2) and t.node(W).kind == "variable"
    assert t.node(W).is_variable and t.node(X).is_variable
    assert set(t.variables) == {X.op.name, c.op.name, W.op.name, b.op.name}
    assert t.forward_order[-1] == J.op.name and t.backward_order[0] == J.op.name
    json.dumps(t.to_dict(), allow_nan=False)


def test_perceptron_local_derivatives_only_where_scalar():
    X, c, W, b, p, J, feed = perceptron()
    t = cr.explain(J, feed)
    last = [e for e in t.edges if e.dst == J.op.name]
    assert len(last) == 1 and last[0].local_derivative == -1.0
    matmul = [e for e in t.edges if e.src == W.op.name]
    assert matmul[0].local_derivative is None and matmul[0].flows
    (path,) = t.paths(W)
    assert path.nodes[0] == W.op.name and path.nodes[-1] == J.op.name
    assert path.factors[-1] == -1.0 and path.product is None
    table = t.table()
    assert "array[" not in table and "histogram" in table.splitlines()[0]
    assert format_value(t.gradient(b)).startswith("[")


def test_variables_read_from_a_fresh_session_unless_a_session_is_given():
    w = cr.Variable(3.0, dtype=cr.float64, name="w")
    x = cr.placeholder(cr.float64, shape=(), name="x")
    loss = w * w * x
    assert cr.explain(loss, {"x": 2.0}).gradient("w") == 12.0
    with cr.Session() as s:
        s.run(cr.assign(w, 5.0))
        assert cr.explain(loss, {"x": 2.0}, session=s).gradient("w") == 20.0
        assert cr.explain(loss, {"x": 2.0}).gradient("w") == 12.0
    assert cr.explain(loss, {"x": 2.0, "w": 1.0}).gradient(w) == 4.0


def test_fed_intermediate_node_stops_backpropagation():
    x = cr.placeholder(cr.float64, shape=(), name="x")
    h = cr.square(x, name="h")
    y = cr.multiply(h, 3.0, name="y")
    t = cr.explain(y, {"h": 2.0})
    assert t.value == 6.0
    assert t.gradient("h") == 3.0
    assert t.gradient("x") is None
    assert "x" not in t.forward_order
    with pytest.raises(NotFoundError):
        t.node("x")


def test_unfed_placeholder_is_a_clear_error():
    x = cr.placeholder(cr.float64, shape=(), name="x")
    with pytest.raises(InvalidArgumentError, match="placeholder 'x'"):
        cr.explain(x * 2.0)


def test_non_scalar_target_is_summed_as_tf():
    x = cr.placeholder(cr.float64, shape=(3,), name="x")
    y = x * x
    t = cr.explain(y, {x: [1.0, 2.0, 3.0]})
    np.testing.assert_array_equal(t.value, [1.0, 4.0, 9.0])
    np.testing.assert_array_equal(t.gradient(x), [2.0, 4.0, 6.0])
    assert all(e.local_derivative is None for e in t.edges)


def test_integer_inputs_get_no_gradient_and_no_flow():
    x = cr.placeholder(cr.float64, shape=(), name="x")
    k = cr.placeholder(cr.int32, shape=(), name="k")
    y = x * cr.cast(k, cr.float64)
    t = cr.explain(y, {x: 1.5, k: 4})
    assert t.gradient(x) == 4.0
    assert t.gradient(k) is None
    edge = next(e for e in t.edges if e.src == "k")
    assert not edge.flows and edge.local_derivative is None
    assert t.paths("k") == []


def test_unrelated_node_has_no_gradient():
    x = cr.placeholder(cr.float64, shape=(), name="x")
    other = cr.placeholder(cr.float64, shape=(), name="other")
    t = cr.explain(x * 2.0, {x: 1.0})
    assert t.gradient(other) is None


def test_format_value_and_to_json():
    assert format_value(25.0) == "25"
    assert format_value(0.1 + 0.2) == "0.3"
    assert format_value(np.array([[1.0, 2.5], [3.0, 4.0]])) == "[[1 2.5] [3 4]]"
    assert format_value(np.zeros((10, 2))) == "10x2 array, mean 0, std 0"
    assert format_value(np.array(["a"] * 10)) == "array[10]"
    assert format_value(None) == "-"
    assert format_value(True) == "True" and format_value(np.int32(3)) == "3"
    assert to_json(np.array([1.0, np.nan])) == [1.0, "NaN"]
    assert to_json(np.float64(2.0)) == 2.0 and to_json(-math.inf) == "-Infinity"
    assert isinstance(Edge("a", "b", 0, None, False), Edge)


def test_single_node_path_is_the_empty_product():
    assert cr.explain("x", {"x": 2.0}).paths("x") == [Path(("x",), (), 1.0, ())]


def test_parsing_and_explaining_from_several_threads():
    from concurrent.futures import ThreadPoolExecutor

    def job(i):
        t = cr.explain(f"x^2 * {i} + sin(y)", {"x": 3.0, "y": 0.0})
        return t.value, t.gradient("x"), t.gradient("y")

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(job, range(24)))
    assert results == [(9.0 * i, 6.0 * i, 1.0) for i in range(24)]
    assert len(cr.get_default_graph().get_operations()) == 0


def test_explaining_a_later_output_of_an_op_shows_that_output():
    """``moments`` is one op of two outputs: a trace of the variance is about the variance."""
    mean, variance = cr.nn.moments(cr.constant([1.0, 2.0, 4.0], dtype=cr.float64), [0])
    assert cr.explain(variance).value == pytest.approx(42 / 27)
    assert cr.explain(mean).value == pytest.approx(7 / 3)
    assert cr.explain(variance).gradient(variance) == 1.0


def test_gradients_flow_into_a_loop_whose_counter_is_an_integer():
    """A loop's first output is its int counter; its float variable still takes a gradient."""
    a = cr.placeholder(cr.float64, [], name="a")
    _, root = cr.while_loop(
        lambda k, x: k < 3,
        lambda k, x: (k + 1, x * a),
        [cr.constant(0), cr.constant(1.0, cr.float64)],
    )
    trace = cr.explain(root, {"a": 2.0})
    assert trace.value == 8.0 and trace.gradient("a") == pytest.approx(12.0)
    into_loop = {e.src: e.flows for e in trace.edges if e.dst == root.op.name}
    assert into_loop["a"] is True
