"""Graphs, nodes and traces display themselves in Jupyter: inline SVG and tables, offline."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import notebook

pytest.importorskip("graphviz")
interactiveshell = pytest.importorskip("IPython.core.interactiveshell")


@pytest.fixture(scope="module")
def shell():
    shell = interactiveshell.InteractiveShell.instance()
    assert notebook.register_ipython(shell)
    return shell


def scoped_graph():
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float64, shape=(None, 2), name="x")
        with cr.name_scope("layer"):
            w = cr.Variable(np.ones((2, 1)), name="w")
            y = cr.reduce_sum(cr.matmul(x, w), name="total")
    return graph, x, w, y


def test_graph_shows_its_nodes_in_name_scopes(shell):
    graph, x, w, y = scoped_graph()
    data, _ = shell.display_formatter.format(graph)
    assert data["text/plain"] == repr(graph)
    html = data["text/html"]
    assert html.count("<svg") == 1 and "Graph</b> with" in html
    assert ">layer</text>" in html  # the name scope's box is labelled
    for name in ("layer/w", "layer/total", "x"):
        assert f">{name}</text>" in html


def test_node_shows_what_it_is_computed_from(shell):
    graph, x, w, y = scoped_graph()
    data, _ = shell.display_formatter.format(y)
    html = data["text/html"]
    assert "<code>layer/total</code>" in html and "<svg" in html and ">layer/w</text>" in html
    data, _ = shell.display_formatter.format(x)
    assert ">layer/w</text>" not in data["text/html"]  # only what x is computed from


def test_trace_shows_values_gradients_local_derivatives_and_statistics(shell):
    t = cr.explain("(4*x+1)^2", {"x": 1.0})
    data, _ = shell.display_formatter.format(t)
    html = data["text/html"]
    assert "value = 25" in html and "grad = 40" in html and "∂ 4" in html
    assert data["text/plain"].splitlines()[0] == repr(t)
    assert data["text/plain"].splitlines()[1].split() == [
        "node",
        "op",
        "inputs",
        "value",
        "gradient",
    ]
    graph, x, w, y = scoped_graph()
    tensors = cr.explain(y, {x: np.arange(12.0).reshape(6, 2)})
    html = tensors._repr_html_()
    assert "value mean 5.5, std 3.452" in html  # the picture's label
    assert "<td>5.5</td><td>3.452</td><td>0</td><td>11</td>" in html  # the table
    assert html.count('fill="#4a7ab5"') == 6  # x, w and MatMul: value and gradient; not the sum
    assert "gradient norm against value norm" in html and "http" not in html.replace(
        "http://www.w3.org", ""
    )


def test_a_large_graph_is_drawn_with_collapsed_scopes():
    graph = cr.Graph()
    with graph.as_default():
        h = cr.placeholder(cr.float64, shape=(None, 3), name="x")
        for layer in range(notebook.PICTURE_LIMIT // 4):
            with cr.name_scope(f"layer{layer}"):
                h = cr.tanh(h * 2.0 + 1.0)
    html = notebook.graph_html(graph)
    assert "each top-level name scope is drawn as one box" in html
    assert ">layer0</text>" in html and "nodes</text>" in html
    assert ">Tanh</text>" not in html


def test_without_graphviz_the_tables_still_show(monkeypatch):
    import graphviz

    def missing(*args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Source, "pipe", missing)
    html = cr.explain("x*y", {"x": 2.0, "y": 3.0})._repr_html_()
    assert "<svg" not in html.split("<table")[0] and "Install Graphviz" in html
    assert '<td colspan="7">6</td>' in html


def test_outside_ipython_nothing_is_registered(monkeypatch):
    import sys

    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert notebook.register_ipython() is False


def test_a_huge_graph_without_scopes_is_not_drawn():
    graph = cr.Graph()
    with graph.as_default():
        h = cr.placeholder(cr.float64, shape=(), name="x")
        for _ in range(notebook.PICTURE_MAX_BOXES // 2 + 1):
            h = cr.sin(h) * 2.0
    html = notebook.graph_html(graph)
    assert "too many to draw here" in html and "<svg" not in html
