"""Saved traces are data with a strict schema: what is written reads back; nothing else does."""

from __future__ import annotations

import copy
import json

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
        (lambda d: d.update(version=2), "of version 1"),
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
