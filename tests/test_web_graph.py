"""The explorer opens any graph: Graphviz layouts with collapsible scopes, node details,
gradient paths, ``chainrule serve --trace`` and ``cr.show``'s data."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule import tracefile
from chainrule.cli import main as cli_main
from chainrule.web.compute import explain_payload
from chainrule.web.layout import EXPAND_ALL_LIMIT, layout
from chainrule.web.server import create_app
from chainrule.web.show import view_data

if shutil.which("dot") is None:
    pytest.skip("the explorer's layouts need Graphviz's dot", allow_module_level=True)

testclient = pytest.importorskip("starlette.testclient")


def network(layers: int = 2):
    """Tanh layers in name scopes ``layer0``, ``layer1``...; a placeholder fed, no gradient
    into an integer count."""
    rng = np.random.default_rng(0)
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float64, shape=(None, 3), name="x")
        h = x
        for k in range(layers):
            with cr.name_scope(f"layer{k}"):
                w = cr.Variable(rng.normal(size=(3, 3)), name="w")
                h = cr.tanh(cr.matmul(h, w))
        loss = cr.reduce_sum(h * h, name="loss")
    return graph, x, loss, {x: rng.normal(size=(5, 3))}


@pytest.fixture
def trace():
    graph, x, loss, feed = network()
    return cr.explain(loss, feed)


@pytest.fixture
def client(trace):
    app = create_app(graph=tracefile.validate(tracefile.trace_data(trace)))
    return testclient.TestClient(app, base_url="http://127.0.0.1")


def test_a_small_graph_opens_with_every_scope_expanded(client, trace):
    answer = client.get("/api/graph").json()
    placed = answer["layout"]
    assert placed["expanded"] == ["layer0", "layer1"] == placed["scopes"]
    assert {item["id"] for item in placed["items"]} == set(trace.forward_order)
    assert {c["scope"] for c in placed["clusters"]} == {"layer0", "layer1"}
    assert answer["output"] == "loss" and answer["value"] == pytest.approx(trace.value)
    w = answer["nodes"]["layer0/w"]
    assert w["value_stats"]["norm"] == pytest.approx(np.linalg.norm(trace.node("layer0/w").value))
    assert len(w["gradient"]) == 3  # small arrays come inline
    x = answer["nodes"]["x"]
    assert x["value"] is not None and len(placed["edges"]) == len(trace.edges)
    for item in placed["items"]:
        assert 0 <= item["x"] and item["x"] + item["w"] <= placed["width"] + 1
        assert 0 <= item["y"] and item["y"] + item["h"] <= placed["height"] + 1
    edge = next(e for e in placed["edges"] if e["id"] == "layer0/w->layer0/MatMul#1")
    assert re.fullmatch(
        r"M[-\d.]+,[-\d.]+( C[-\d.]+,[-\d.]+ [-\d.]+,[-\d.]+ [-\d.]+,[-\d.]+)+", edge["path"]
    )


def test_collapsed_scopes_are_boxes_with_merged_edges(client):
    answer = client.get("/api/graph", params={"open": ""}).json()
    placed = answer["layout"]
    boxes = {item["id"]: item for item in placed["items"] if item["kind"] == "scope"}
    assert set(boxes) == {"scope:layer0", "scope:layer1"} and placed["expanded"] == []
    assert boxes["scope:layer0"]["count"] == 3  # w, MatMul, Tanh
    ids = {edge["id"] for edge in placed["edges"]}
    assert "scope:layer0->scope:layer1" in ids and "x->scope:layer0" in ids
    merged = next(e for e in placed["edges"] if e["id"] == "scope:layer1->Mul")
    assert sorted(merged["members"]) == ["layer1/Tanh->Mul#0", "layer1/Tanh->Mul#1"]
    assert placed["item_of"]["layer1/w"] == "scope:layer1"
    assert set(answer["nodes"]) == {"x", "Mul", "loss"}
    one = client.get("/api/graph", params=[("open", "layer1")]).json()["layout"]
    assert {i["id"] for i in one["items"]} >= {"scope:layer0", "layer1/w", "layer1/Tanh"}


def test_unknown_scopes_and_nodes_are_refused(client):
    answer = client.get("/api/graph", params={"open": "<script>"})
    assert answer.status_code == 400 and "not a name scope" in answer.json()["error"]
    assert client.get("/api/node", params={"name": "ghost"}).status_code == 404
    assert client.get("/api/paths", params={"variable": "ghost"}).status_code == 404
    assert client.post("/api/graph").status_code == 405


def test_node_details_carry_the_saved_arrays(client, trace):
    node = client.get("/api/node", params={"name": "layer1/Tanh"}).json()
    np.testing.assert_allclose(node["value"], trace.node("layer1/Tanh").value)
    np.testing.assert_allclose(node["gradient"], trace.node("layer1/Tanh").gradient)
    assert node["scope"] == "layer1" and node["shape"] == [5, 3]


def test_gradient_paths_of_a_variable(client):
    paths = client.get("/api/paths", params={"variable": "layer0/w"}).json()
    assert set(paths["nodes"]) == {
        "layer0/w", "layer0/MatMul", "layer0/Tanh", "layer1/MatMul", "layer1/Tanh", "Mul", "loss"
    }  # fmt: skip
    assert "layer1/w->layer1/MatMul#1" not in paths["edges"]
    assert "layer1/Tanh->Mul#0" in paths["edges"] and "layer1/Tanh->Mul#1" in paths["edges"]
    later = client.get("/api/paths", params={"variable": "layer1/w"}).json()
    assert "layer0/Tanh" not in later["nodes"]


def test_a_graph_without_values_is_served_alike():
    graph, *_ = network()
    app = create_app(graph=view_data(graph))
    answer = testclient.TestClient(app, base_url="http://127.0.0.1").get("/api/graph").json()
    assert answer["value"] is None and answer["node_count"] == len(graph.get_operations())
    assert answer["nodes"]["x"]["value_stats"] is None


def test_big_graphs_open_collapsed():
    graph, x, loss, feed = network(layers=EXPAND_ALL_LIMIT // 3 + 1)
    data = tracefile.trace_data(cr.explain(loss, feed))
    placed = layout(data)
    assert placed["expanded"] == [] and len(placed["items"]) == EXPAND_ALL_LIMIT // 3 + 4


def test_expressions_are_laid_out_the_same_way():
    answer = explain_payload("(4*x+1)^2", {"x": 1.0})
    placed = answer["layout"]
    assert {item["id"] for item in placed["items"]} == {n["name"] for n in answer["nodes"]}
    assert placed["clusters"] == [] and placed["scopes"] == []
    output = next(i for i in placed["items"] if i["id"] == answer["output"])
    assert output["y"] == min(i["y"] for i in placed["items"])  # the output on top
    labelled = [e for e in placed["edges"] if e["local_derivative"] is not None]
    assert len(labelled) == 6 and all("label_x" in e for e in labelled)


def test_view_data_of_traces_graphs_nodes_and_expressions(trace):
    graph, x, loss, _ = network()
    assert view_data(trace)["value"] == pytest.approx(trace.value)
    assert len(view_data(loss)["nodes"]) == len(graph.get_operations())
    assert view_data("2^3")["value"] == 8.0
    with pytest.raises(cr.errors.InvalidArgumentError, match="show\\(\\) needs a trace"):
        view_data(42)


def test_serve_refuses_bad_trace_files(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "chainrule-trace"}')
    assert cli_main(["serve", "--no-browser", "--trace", str(bad)]) == 2
    assert "missing fields" in capsys.readouterr().err
    assert cli_main(["serve", "--no-browser", "--trace", str(tmp_path / "none.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("opened", [None, ()])
def test_every_edge_runs_from_its_source_box_to_its_consumer_box(client, opened):
    params = {} if opened is None else {"open": ""}
    placed = client.get("/api/graph", params=params).json()["layout"]
    items = {item["id"]: item for item in placed["items"]}
    for edge in placed["edges"]:
        numbers = [float(v) for v in re.findall(r"-?[\d.]+", edge["path"])]
        (x0, y0), (x1, y1) = numbers[:2], numbers[-2:]
        src, dst = items[edge["src"]], items[edge["dst"]]
        assert src["x"] - 1 <= x0 <= src["x"] + src["w"] + 1, edge["id"]
        assert abs(y0 - src["y"]) < 2, edge["id"]  # leaves the top of its source
        assert dst["x"] - 1 <= x1 <= dst["x"] + dst["w"] + 1, edge["id"]
        assert abs(y1 - (dst["y"] + dst["h"])) < 2, edge["id"]  # enters the consumer's bottom


def test_show_serves_a_trace_on_loopback(trace, capsys):
    import httpx

    url = cr.show(trace, open_browser=False)
    assert url.startswith("http://127.0.0.1:")
    assert capsys.readouterr().out.strip() == f"chainrule explorer: {url}"
    answer = httpx.get(f"{url}api/graph", timeout=30).json()
    assert answer["output"] == "loss" and answer["node_count"] == len(trace.nodes)
    assert httpx.get(url, timeout=30).status_code == 200


def loops_trace():
    """Two loops: Newton's method for sqrt(2) (steps, x) and powers of x = [1, 2, 3]
    (i, p = p * x three times); the output adds the root and the powers' sum."""
    graph = cr.Graph()
    with graph.as_default():
        a = cr.placeholder(cr.float64, [], name="a")
        x = cr.placeholder(cr.float64, [3], name="x")
        with cr.name_scope("newton"):
            _, root = cr.while_loop(
                lambda steps, r: cr.abs(r * r - a) > 1e-12,
                lambda steps, r: (steps + 1, (r + a / r) / 2.0),
                [cr.constant(0), a],
                maximum_iterations=100,
            )
        with cr.name_scope("powers"):
            _, p = cr.while_loop(
                lambda i, p: i < 3, lambda i, p: (i + 1, p * x), [cr.constant(0), x / x]
            )
        output = cr.add(root, cr.reduce_sum(p), name="output")
    return cr.explain(output, {a: 2.0, x: np.array([1.0, 2.0, 3.0])})


@pytest.mark.parametrize("source", ["show", "file"])
def test_a_loops_iterations_come_with_its_node(source, tmp_path):
    trace = loops_trace()
    if source == "show":
        data = view_data(trace)
    else:
        data = tracefile.load(trace.save(tmp_path / "loops.json"))
    client = testclient.TestClient(create_app(graph=data), base_url="http://127.0.0.1")
    inline = client.get("/api/graph").json()["nodes"]
    assert inline["powers/while/While"]["iteration_count"] == 3
    assert "iterations" not in inline["powers/while/While"]  # asked for on a click
    assert "iteration_count" not in inline["output"]
    powers = client.get("/api/node", params={"name": "powers/while/While"}).json()
    assert powers["iterations"] == [
        [0, [1, 1, 1]], [1, [1, 2, 3]], [2, [1, 4, 9]], [3, [1, 8, 27]]
    ]  # fmt: skip
    assert powers["iteration_gradients"] == [
        [None, [1, 8, 27]], [None, [1, 4, 9]], [None, [1, 2, 3]], [None, [1, 1, 1]]
    ]  # fmt: skip
    newton = client.get("/api/node", params={"name": "newton/while/While"}).json()
    assert newton["iteration_count"] == 5
    assert [x for _, x in newton["iterations"][:3]] == pytest.approx([2, 1.5, 17 / 12])
    assert newton["iteration_gradients"][-1] == [None, 1.0]
    assert "iterations" not in client.get("/api/node", params={"name": "output"}).json()
