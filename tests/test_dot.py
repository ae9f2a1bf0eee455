"""Graph pictures: DOT text, SVG/PNG through Graphviz, and the fallback without Graphviz."""

import re
import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule import expr
from chainrule.dot import top_level_scopes
from chainrule.errors import ChainruleError, FailedPreconditionError, InvalidArgumentError

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")


def node_lines(text):
    return {
        m.group(1): m.group(2) for m in re.finditer(r"^\s+(n\d+) \[label=\"(.*?)\"", text, re.M)
    }


def edge_lines(text):
    return re.findall(r"^\s+(\w+) -> (\w+)(?: \[(.*)\])?;$", text, re.M)


def test_trace_picture_shows_values_gradients_and_local_derivatives():
    t = cr.explain(expr.parse("(4*x+1)^2"), {"x": 1.0})
    text = cr.to_dot(t)
    assert text.startswith("digraph chainrule {") and text.rstrip().endswith("}")
    labels = node_lines(text)
    assert len(labels) == len(t.nodes)
    assert labels["n1"] == "x\\nvalue = 1\\ngrad = 40"
    assert labels["n6"] == "Pow\\nvalue = 25\\ngrad = 1"
    assert labels["n0"] == "4\\nConst\\nvalue = 4\\ngrad = 10"
    edges = edge_lines(text)
    assert len(edges) == len(t.edges)
    assert ("n1", "n2", 'label=" ∂ 4"') in edges
    assert ("n4", "n6", 'label=" ∂ 10"') in edges
    assert "penwidth=2.5" in text.splitlines()[4 + 6]  # the output is drawn bold


def test_without_gradients():
    t = cr.explain(expr.parse("x*y"), {"x": 2.0, "y": 3.0})
    text = cr.to_dot(t, show_gradients=False)
    assert "grad =" not in text and "∂" not in text
    assert "value = 6" in text


def test_structure_only_without_values():
    text = cr.to_dot(expr.parse("sin(x)*y"))
    assert node_lines(text) == {"n0": "x", "n1": "Sin", "n2": "y", "n3": "Mul"}
    assert "value" not in text
    assert sorted(e[:2] for e in edge_lines(text)) == [("n0", "n1"), ("n1", "n3"), ("n2", "n3")]


def test_feed_computes_a_trace_and_constant_expressions_need_none():
    assert "grad = 2" in cr.to_dot(expr.parse("x^2"), feed={"x": 1.0})
    assert "value = 512" in cr.to_dot("2^3^2")


def test_graph_node_picture_with_shapes():
    x = cr.placeholder(cr.float32, shape=[None, 3], name="inputs")
    w = cr.Variable(np.ones((3, 2), np.float32), name="w")
    y = cr.reduce_sum(cr.matmul(x, w), name="loss")
    text = cr.to_dot(y)
    assert "inputs\\nshape (?, 3)" in text
    assert "w\\nshape (3, 2)" in text
    assert "Sum\\nloss" in text
    t = cr.explain(y, {x: np.ones((4, 3), np.float32)})
    traced = cr.to_dot(t)
    assert "inputs\\nshape (4, 3)\\nvalue mean 1, std 0\\n" in traced
    assert "zeros 0%\\ngrad norm 6.928, std 0" in traced
    assert "w\\nshape (3, 2)\\nvalue = [[1 1] [1 1] [1 1]]\\ngrad = [[4 4] [4 4] [4 4]]" in traced


def test_untaken_edges_are_dashed():
    x = cr.placeholder(cr.float64, shape=(), name="x")
    k = cr.placeholder(cr.int32, shape=(), name="k")
    y = x * cr.cast(k, cr.float64)
    text = cr.to_dot(cr.explain(y, {x: 1.0, k: 2}))
    dashed = [e for e in edge_lines(text) if "dashed" in (e[2] or "")]
    assert len(dashed) == 1


def test_gradient_subgraph():
    t = cr.explain(expr.parse("x*y"), {"x": 2.0, "y": 3.0})
    plain = cr.to_dot(t)
    text = cr.to_dot(t, include_gradient_graph=True)
    assert "cluster_gradients" not in plain
    assert "subgraph cluster_gradients" in text
    gradient_nodes = re.findall(r"^\s+(g\d+) \[label=\"(.*?)\"", text, re.M)
    assert gradient_nodes and all("gradients/" in label for _, label in gradient_nodes)
    links = re.findall(r"(g\d+) -> (n\d+) \[style=dotted", text)
    assert len(links) == len(t.nodes)  # every node's gradient points at it
    x = cr.placeholder(cr.float64, shape=(), name="a")
    assert "subgraph cluster_gradients" in cr.to_dot(cr.sin(x), include_gradient_graph=True)


def test_labels_are_escaped():
    x = cr.placeholder(cr.float64, shape=(), name='we"ird\\name')
    text = cr.to_dot(cr.sin(x))
    assert 'label="we\\"ird\\\\name"' in text


def test_bad_target_is_a_clear_error():
    with pytest.raises(
        InvalidArgumentError, match="needs a graph, a node, an expression or a trace"
    ):
        cr.to_dot(42)


@needs_dot
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_render_writes_pictures(tmp_path, fmt):
    t = cr.explain(expr.parse("(4*x+1)^2"), {"x": 1.0})
    path = tmp_path / f"graph.{fmt}"
    assert cr.render(t, path) == str(path)
    data = path.read_bytes()
    if fmt == "svg":
        text = data.decode()
        assert "<svg" in text and "Pow" in text and "value = 25" in text and "grad = 40" in text
    else:
        assert data.startswith(b"\x89PNG")
    assert not (tmp_path / "graph.dot").exists()


@needs_dot
def test_render_format_argument_wins_over_suffix(tmp_path):
    path = tmp_path / "picture.out"
    cr.render(expr.parse("x+1"), path, format="svg")
    assert "<svg" in path.read_text()
    with pytest.raises(InvalidArgumentError, match="choose one of svg, png"):
        cr.render(expr.parse("x+1"), tmp_path / "picture.gif")


def test_render_without_graphviz_program_keeps_the_dot_text(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    t = cr.explain(expr.parse("(4*x+1)^2"), {"x": 1.0})
    with pytest.raises(FailedPreconditionError) as info:
        cr.render(t, tmp_path / "graph.svg")
    message = str(info.value)
    assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert "graph.dot" in message
    assert isinstance(info.value, ChainruleError)
    assert not (tmp_path / "graph.svg").exists()
    dot_file = tmp_path / "graph.dot"
    assert dot_file.read_text() == cr.to_dot(t)
    assert info.value.dot_path == str(dot_file)


def test_render_without_graphviz_package(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_graphviz(name, *args, **kwargs):
        if name == "graphviz":
            raise ImportError("No module named 'graphviz'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_graphviz)
    with pytest.raises(FailedPreconditionError, match="pip install"):
        cr.render(expr.parse("x+1"), tmp_path / "g.png")
    assert (tmp_path / "g.dot").exists()


def test_a_whole_graph_in_name_scopes_and_collapsed_scopes():
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float64, shape=(None, 2), name="x")
        with cr.name_scope("layer"):
            w = cr.Variable(np.ones((2, 1)), name="w")
            y = cr.reduce_sum(cr.matmul(x, w), name="total")
        z = cr.identity(y, name="z")
    text = cr.to_dot(graph)
    assert "subgraph cluster_scope0 {" in text and 'label="layer";' in text
    assert text.count("[label=") == len(graph.get_operations())
    collapsed = cr.to_dot(graph, collapsed_scopes=["layer"])
    assert "layer/total" not in collapsed and "subgraph" not in collapsed
    n = sum(1 for node in graph.get_operations() if node.name.startswith("layer/"))
    assert f'scope_layer [label="layer\\n{n} nodes", shape=box3d' in collapsed
    edges = [(src, dst) for src, dst, _ in edge_lines(collapsed)]
    assert edges.count(("scope_layer", "n" + str(graph.get_operations().index(z.op)))) == 1
    assert ("n0", "scope_layer") in edges and all(src != dst for src, dst in edges)
    assert top_level_scopes(graph.get_operations()) == ["layer"]
    assert "layer/w" in cr.to_dot(cr.explain(z, {x: np.ones((3, 2))}))


def test_a_loop_is_drawn_as_a_box_holding_its_condition_and_body():
    a = cr.placeholder(cr.float64, [], name="a")
    _, root = cr.while_loop(
        lambda k, x: cr.abs(x * x - a) > 1e-12,
        lambda k, x: (k + 1, (x + a / x) / 2.0),
        [cr.constant(0), a],
    )
    for text in (cr.to_dot(root), cr.to_dot(cr.explain(root, {"a": 2.0}))):
        assert 'label="while";' in text and 'label="cond";' in text and 'label="body";' in text
        assert "while/body/RealDiv_1" in text and "while/cond/Greater" in text
    assert "value = 1.4142" in cr.to_dot(cr.explain(root, {"a": 2.0}))
