"""Saved traces are data with a strict schema: what is written reads back; nothing else does."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import tracefile
from chainrule.tracefile import TraceFileError


def small_network():
    rng = np.random.default_rng(3)
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float64, shape=(None, 3), name="x")
        with cr.name_scope("dense"):
            w = cr.Variable(rng.normal(size=(3, 2)), name="w")
            h = cr.nn.relu(cr.matmul(x, w))
        loss = cr.reduce_sum(h * h, name="loss")
    return graph, x, w, loss, {x: rng.normal(size=(4, 3))}


@pytest.fixture
def saved(tmp_path):
    graph, x, w, loss, feed = small_network()
    trace = cr.explain(loss, feed)
    path = tmp_path / "trace.json"
    assert trace.save(path) == str(path)
    return trace, path


def test_a_saved_trace_reads_back_with_values_gradients_and_statistics(saved):
    trace, path = saved
    data = tracefile.load(path)
    assert data["output"] == trace.output and data["value"] == pytest.approx(trace.value)
    by_name = {node["name"]: node for node in data["nodes"]}
    assert list(by_name) == trace.forward_order
    w = by_name["dense/w"]
    assert w["scope"] == "dense" and w["shape"] == [3, 2] and w["kind"] == "variable"
    np.testing.assert_allclose(w["gradient"], trace.gradient("dense/w"))
    assert w["gradient_stats"]["norm"] == pytest.approx(np.linalg.norm(trace.gradient("dense/w")))
    assert len(data["edges"]) == len(trace.edges)
    assert not list(path.parent.glob("*.partial"))


def test_large_arrays_are_saved_as_statistics(tmp_path):
    graph, x, w, loss, _ = small_network()
    feed = {x: np.ones((tracefile.SAVED_ARRAY_LIMIT, 3))}
    path = cr.explain(loss, feed).save(tmp_path / "big.json")
    x_node = next(n for n in tracefile.load(path)["nodes"] if n["name"] == "x")
    assert x_node["value"] is None and x_node["value_stats"]["mean"] == 1.0


def test_a_graph_without_values_follows_the_same_schema():
    graph, *_ = small_network()
    data = tracefile.validate(tracefile.graph_data(graph))
    assert len(data["nodes"]) == len(graph.get_operations())
    assert data["nodes"][0]["shape"] == [-1, 3] and data["value"] is None
    with pytest.raises(cr.errors.InvalidArgumentError, match="empty"):
        tracefile.graph_data(cr.Graph())


def broken(data, change):
    data = copy.deepcopy(data)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(code="import os"), r"unknown fields \['code'\]"),
        (lambda d: d.pop("edges"), r"missing fields \['edges'\]"),
        (lambda d: d.update(format="pickle"), "not a chainrule-trace file"),
        (lambda d: d.update(version=3), "of version 1 or 2"),
        (lambda d: d.update(output="nowhere"), "'nowhere' is named as output"),
        (lambda d: d["nodes"][0].update(kind="lambda"), "kind must be one of"),
        (lambda d: d["nodes"][0].update(name=7), "'name' must be a string"),
        (lambda d: d["nodes"][-1].update(inputs=["ghost"]), "input 'ghost' is not a node"),
        (lambda d: d["nodes"].reverse(), "is not a node listed before it"),
        (lambda d: d["nodes"].append(d["nodes"][0]), "appears twice"),
        (lambda d: d["nodes"][1].update(value=[[1.0, 2.0]]), "not nested lists of numbers"),
        (lambda d: d["nodes"][1].update(value=[["1"] * 2] * 3), "not nested lists of numbers"),
        (lambda d: d["nodes"][1].update(value_stats={"mean": 1}), "object of statistics"),
        (lambda d: d["edges"][0].update(dst="ghost"), "'ghost' is not a node"),
        (lambda d: d["edges"][0].update(flows="yes"), "'flows' must be true or false"),
        (lambda d: d["edges"][0].update(local_derivative="1e3"), "a number or null"),
    ],
)
def test_anything_outside_the_schema_is_refused(saved, change, message):
    _, path = saved
    data = json.loads(path.read_text())
    with pytest.raises(TraceFileError, match=message):
        tracefile.validate(broken(data, change))


def test_files_that_are_not_json_data_are_refused(tmp_path, saved, monkeypatch):
    _, path = saved
    bad = tmp_path / "bad.json"
    bad.write_text(path.read_text().replace('"value":', '"value":NaN,"x":', 1))
    with pytest.raises(TraceFileError, match="not a trace file: NaN is not JSON"):
        tracefile.load(bad)
    bad.write_bytes(b"\x80\x81 not text")
    with pytest.raises(TraceFileError, match="not a trace file"):
        tracefile.load(bad)
    monkeypatch.setattr(tracefile, "MAX_FILE_BYTES", 100)
    with pytest.raises(TraceFileError, match="trace files may hold 100"):
        tracefile.load(path)


def test_a_file_of_version_1_still_reads(saved):
    _, path = saved
    data = json.loads(path.read_text())
    assert data["version"] == tracefile.VERSION == 2
    old = tracefile.validate(broken(data, lambda d: d.update(version=1)))
    assert old["nodes"] == data["nodes"]


# -- loops: their variables and gradients after each iteration -----------------------------------
def newton_trace():
    """Newton's method for sqrt(2) as a while_loop: (steps, x) after 0, 1, ... 5 iterations."""
    graph = cr.Graph()
    with graph.as_default():
        a = cr.placeholder(cr.float64, [], name="a")
        with cr.name_scope("newton"):
            _, root = cr.while_loop(
                lambda steps, x: cr.abs(x * x - a) > 1e-12,
                lambda steps, x: (steps + 1, (x + a / x) / 2.0),
                [cr.constant(0), a],
                maximum_iterations=100,
            )
    return cr.explain(root, {a: 2.0})


def loop_node(data):
    (node,) = [node for node in data["nodes"] if node["op_type"] == "While"]
    return node


@pytest.fixture
def saved_loop(tmp_path):
    trace = newton_trace()
    return trace, Path(trace.save(tmp_path / "newton.json"))


def test_a_loops_iterations_and_their_gradients_read_back(saved_loop):
    trace, path = saved_loop
    loop = trace.node("newton/while/While")
    node = loop_node(tracefile.load(path))
    assert node["name"] == loop.name and node["iteration_count"] == 5
    assert [steps for steps, _ in node["iterations"]] == [0, 1, 2, 3, 4, 5]
    np.testing.assert_allclose([x for _, x in node["iterations"]], [x for _, x in loop.iterations])
    assert node["iterations"][2][1] == pytest.approx(17 / 12)
    assert [steps for steps, _ in node["iteration_gradients"]] == [None] * 6
    grads = [g for _, g in node["iteration_gradients"]]
    np.testing.assert_allclose(grads, [g for _, g in loop.iteration_gradients])
    assert grads[-1] == 1.0
    others = [n for n in tracefile.load(path)["nodes"] if n["op_type"] != "While"]
    assert all("iterations" not in n and "iteration_count" not in n for n in others)


def test_a_long_loop_keeps_its_first_iterations_and_its_last(tmp_path):
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float64, [2], name="x")
        _, total = cr.while_loop(
            lambda i, s: i < 250, lambda i, s: (i + 1, s + x), [cr.constant(0), x * 0.0]
        )
        loss = cr.reduce_sum(total * total, name="loss")
    path = cr.explain(loss, {x: np.array([1.0, -1.0])}).save(tmp_path / "long.json")
    node = loop_node(tracefile.load(path))
    rows = node["iterations"]
    assert node["iteration_count"] == 250 and len(rows) == tracefile.SAVED_ITERATIONS
    assert [i for i, _ in rows] == [*range(tracefile.SAVED_ITERATIONS - 1), 250]
    assert rows[-1][1] == [250.0, -250.0] and rows[3][1] == [3.0, -3.0]
    assert node["iteration_gradients"][-1] == [None, [500.0, -500.0]]


def at_loop(change):
    """A change to the loop's node of the data."""
    return lambda d: change(loop_node(d))


def set_row(key, k, row):
    return at_loop(lambda node: node[key].__setitem__(k, row))


WHERE = "node 'newton/while/While'"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (set_row("iterations", 2, [2]), f"{WHERE}: iterations: row 2 must be a list of 2"),
        (set_row("iterations", 2, [2, "1.4"]), f"{WHERE}: iterations: row 2 holds an entry"),
        (set_row("iterations", 1, [1, [[1.0], [2.0, 3.0]]]), "iterations: row 1 holds an entry"),
        (set_row("iterations", 1, [1, {"x": 1}]), "iterations: row 1 holds an entry"),
        (set_row("iterations", 0, 0), "each row of 'iterations' must be a list"),
        (set_row("iteration_gradients", 4, [None]), "iteration_gradients: row 4 must be a list"),
        (set_row("iteration_gradients", 4, [None, True, 1]), "iteration_gradients: row 4"),
        (set_row("iteration_gradients", 3, ["x", 1.0]), "iteration_gradients: row 3 holds"),
        (at_loop(lambda n: n["iteration_gradients"].pop()), "iteration_gradients holds 5 rows"),
        (at_loop(lambda n: n.update(iteration_count=7)), f"{WHERE}: 'iterations' holds 6 rows"),
        (at_loop(lambda n: n.update(iteration_count=-1)), "must not be negative"),
        (at_loop(lambda n: n.update(iteration_count=2.5)), "'iteration_count' must be an int"),
        (at_loop(lambda n: n.update(iterations=[])), "'iterations' holds 0 rows"),
        (at_loop(lambda n: n.update(iterations={})), "'iterations' must be a list"),
        (at_loop(lambda n: n.pop("iteration_count")), r"missing fields \['iteration_count'\]"),
        (at_loop(lambda n: n.pop("iterations")), r"unknown fields \['iteration_count', 'iter"),
        (
            at_loop(lambda n: n.update(iterations=[[]] * 6, iteration_gradients=[[]] * 6)),
            "each row of 'iterations' must be a list of 1 to",
        ),
        (lambda d: d.update(version=1), r"node 4 has unknown fields \['iteration_count', 'iter"),
    ],
)
def test_malformed_iterations_are_refused(saved_loop, change, message):
    _, path = saved_loop
    data = json.loads(path.read_text())
    with pytest.raises(TraceFileError, match=message):
        tracefile.validate(broken(data, change))


def test_iterations_of_arrays_and_nulls_are_accepted(saved_loop):
    _, path = saved_loop
    data = json.loads(path.read_text())
    good = broken(data, set_row("iterations", 1, [1, [[1.0, "NaN"], [2.0, 3.0]]]))
    good = broken(good, set_row("iterations", 2, [2, None]))
    good = broken(good, set_row("iteration_gradients", 2, [None, []]))
    assert loop_node(tracefile.validate(good))["iterations"][1][1][0][1] == "NaN"
