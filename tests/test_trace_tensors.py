"""Traces of real networks: statistics of every tensor, the stats table and the per-variable
summary of gradient norm against value norm."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import InvalidArgumentError
from chainrule.stats import HISTOGRAM_BINS, sparkline, tensor_stats


def relu_mlp(scale: float = 1.0):
    """A two-layer ReLU network on 8 examples, in name scopes, with zero biases."""
    rng = np.random.default_rng(0)
    graph = cr.Graph()
    with graph.as_default():
        X = cr.placeholder(cr.float64, shape=(None, 4), name="X")
        y = cr.placeholder(cr.float64, shape=(None, 3), name="y")
        with cr.name_scope("hidden"):
            W1 = cr.Variable(scale * rng.normal(size=(4, 5)), name="W")
            b1 = cr.Variable(np.zeros(5), name="b")
            h = cr.nn.relu(cr.matmul(X, W1) + b1)
        with cr.name_scope("output"):
            W2 = cr.Variable(rng.normal(size=(5, 3)), name="W")
            logits = cr.matmul(h, W2)
        loss = cr.reduce_mean(
            cr.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits), name="loss"
        )
    feed = {X: rng.normal(size=(8, 4)), y: np.eye(3)[rng.integers(0, 3, 8)]}
    return {"X": X, "W1": W1, "b1": b1, "h": h, "W2": W2, "loss": loss}, feed


def test_stats_of_an_array():
    stats = tensor_stats(np.array([[0.0, 3.0], [-4.0, 0.0]]))
    assert stats.size == 4 and stats.mean == -0.25 and stats.min == -4.0 and stats.max == 3.0
    assert stats.norm == 5.0 and stats.zero_fraction == 0.5 and stats.nonfinite == 0
    assert stats.std == pytest.approx(np.std([0.0, 3.0, -4.0, 0.0]))
    assert sum(stats.histogram) == 4 and len(stats.histogram) == HISTOGRAM_BINS
    assert stats.histogram[0] == 1 and stats.histogram[-1] == 1
    assert (stats.low, stats.high) == (-4.0, 3.0)


def test_stats_show_non_finite_numbers_and_skip_non_numbers():
    stats = tensor_stats(np.array([1.0, np.inf, np.nan]))
    assert stats.nonfinite == 2 and math.isnan(stats.mean) and sum(stats.histogram) == 1
    assert "2 NaN or infinite" in str(stats)
    json.dumps(stats.to_dict(), allow_nan=False)
    assert tensor_stats(None) is None and tensor_stats(np.array(["a", "b"])) is None
    assert tensor_stats(np.zeros((0, 3))) is None
    assert tensor_stats(np.array([True, False])).mean == 0.5


def test_sparkline_scales_to_the_fullest_bin():
    assert sparkline([0, 1, 8, 4]) == " ▁█▄"
    assert sparkline([0, 0]) == "  "
    constant = tensor_stats(np.full(7, 2.5))
    assert constant.histogram.count(7) == 1 and constant.sparkline.strip() == "█"


def test_relu_layer_statistics_count_dead_units():
    nodes, feed = relu_mlp()
    t = cr.explain(nodes["loss"], feed)
    h = t.node(nodes["h"])
    assert h.scope == "hidden" and h.shape == (8, 5)
    assert h.value_stats.zero_fraction == pytest.approx(np.mean(h.value == 0))
    assert h.value_stats.zero_fraction > 0
    g = t.node(nodes["W1"]).gradient_stats
    assert g.norm == pytest.approx(np.linalg.norm(t.gradient(nodes["W1"])))
    assert g.mean == pytest.approx(np.mean(t.gradient(nodes["W1"])))


def test_table_of_a_network_prints_statistics_not_shapes():
    nodes, feed = relu_mlp()
    t = cr.explain(nodes["loss"], feed)
    table = t.table()
    lines = table.splitlines()
    assert lines[0].split() == [
        "node", "op", "shape", "dtype", "mean", "std", "min", "max", "norm", "zeros", "histogram"
    ]  # fmt: skip
    assert len(lines) == 2 + 2 * len(t.nodes) and "array[" not in table
    w1 = t.node(nodes["W1"])
    (row,) = [line for line in lines if line.startswith(w1.name + " ")]
    cells = row.split()
    assert cells[1:5] == ["VariableV2", "4x5", "float64", "value"]
    assert float(cells[5]) == pytest.approx(w1.value_stats.mean, rel=1e-3)
    grad_row = lines[lines.index(row) + 1].split()
    assert grad_row[0] == "grad" and float(grad_row[5]) == pytest.approx(
        w1.gradient_stats.norm, rel=1e-3
    )
    assert lines[-2].split()[-2:] == ["value", f"{t.value:.4g}"]
    assert "inputs" in t.table(stats=False).splitlines()[0]


def test_summary_compares_gradient_and_value_norms():
    nodes, feed = relu_mlp()
    t = cr.explain(nodes["loss"], feed)
    rows = {line.split()[0]: line for line in t.summary().splitlines()[2:]}
    assert set(rows) == {"hidden/W", "hidden/b", "output/W"}
    w1 = t.node(nodes["W1"])
    ratio = w1.gradient_stats.norm / w1.value_stats.norm
    assert rows["hidden/W"].split()[4] == f"{ratio:.3g}"
    assert "value is zero" in rows["hidden/b"]


def test_summary_flags_vanishing_gradients():
    nodes, feed = relu_mlp(scale=1e7)
    t = cr.explain(nodes["loss"], feed)
    rows = {line.split()[0]: line for line in t.summary().splitlines()[2:]}
    assert "vanishing" in rows["hidden/W"]
    scalar = cr.explain("x*y", {"x": 2.0, "y": 3.0}).summary()
    assert [line.split()[0] for line in scalar.splitlines()[2:]] == ["x", "y"]


def test_full_array_on_demand_up_to_a_limit():
    nodes, feed = relu_mlp()
    t = cr.explain(nodes["loss"], feed)
    w1 = t.node(nodes["W1"])
    text = w1.array_text()
    assert np.allclose(np.array(json.loads(",".join(text.split()).replace("[,", "["))), w1.value)
    assert w1.array_text("gradient").count("\n") == 3
    with pytest.raises(InvalidArgumentError, match="20 numbers, more than the limit of 10"):
        w1.array_text(limit=10)
    with pytest.raises(InvalidArgumentError, match="'value' or 'gradient'"):
        w1.array_text("values")


def test_json_leaves_out_large_arrays_but_keeps_their_statistics():
    nodes, feed = relu_mlp()
    t = cr.explain(nodes["loss"], feed)
    data = json.loads(json.dumps(t.to_dict(array_limit=16), allow_nan=False))
    by_name = {n["name"]: n for n in data["nodes"]}
    w1 = by_name[nodes["W1"].op.name]
    assert w1["value"] is None and w1["gradient"] is None and w1["scope"] == "hidden"
    assert w1["value_stats"]["size"] == 20 and len(w1["value_stats"]["histogram"]) == 16
    b1 = by_name[nodes["b1"].op.name]
    assert b1["value"] == [0.0] * 5 and len(b1["gradient"]) == 5
    assert data["gradients"][nodes["W1"].op.name] is None
