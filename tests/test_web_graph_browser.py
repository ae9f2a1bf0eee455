"""The explorer in headless Chromium: saved traces of real networks, name scopes that open and
close, gradient paths, a graph of 2,000 nodes, and the expression explorer's rough edges."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import tracefile

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "network_explorer.png"

if not os.path.exists(CHROMIUM) or shutil.which("dot") is None:
    pytest.skip("needs Chromium and Graphviz", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("sklearn")
expect = sync_api.expect
expect.set_options(timeout=15_000)

from test_web_graph import loops_trace  # noqa: E402

from chainrule.cli.train_cmd import build_model  # noqa: E402
from chainrule.web.server import create_app, serve_in_background  # noqa: E402
from chainrule.web.show import view_data  # noqa: E402


def digits_trace_file(folder) -> str:
    """The digits MLP of ``chainrule train digits`` after a few steps, traced on 64 images."""
    images, labels = cr.data.load_digits()
    model = build_model(64, 32, 10, seed=0)
    feed = {
        model.images: images[:64],
        model.targets: cr.data.one_hot(labels[:64], 10).astype(np.float32),
    }
    with cr.Session(graph=model.graph) as session:
        for _ in range(5):
            session.run(model.train_op, feed)
        trace = cr.explain(model.loss, feed, session=session)
    return trace.save(folder / "digits.json")


def big_graph_data() -> dict:
    """About 2,000 nodes: ten blocks of 23 small layers, every block a name scope."""
    graph = cr.Graph()
    with graph.as_default():
        h = cr.placeholder(cr.float64, shape=(None, 4), name="x")
        for block in range(10):
            with cr.name_scope(f"block{block}"):
                for layer in range(23):
                    with cr.name_scope(f"layer{layer}"):
                        w = cr.Variable(np.eye(4) * 0.5, name="w")
                        h = h + 0.5 * cr.tanh(cr.matmul(h, w) + 0.1)
        cr.reduce_sum(h, name="loss")
    data = tracefile.validate(tracefile.graph_data(graph))
    assert len(data["nodes"]) >= 2000
    return data


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, url, width=1280, height=800):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(url)
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return page


@pytest.fixture(scope="module")
def digits_url(tmp_path_factory):
    path = digits_trace_file(tmp_path_factory.mktemp("trace"))
    with serve_in_background(create_app(workers=1, graph=tracefile.load(path))) as url:
        yield url


@pytest.fixture(scope="module")
def expression_url():
    with serve_in_background(create_app(workers=1)) as url:
        yield url


@pytest.fixture(scope="module")
def loops_url(tmp_path_factory):
    path = loops_trace().save(tmp_path_factory.mktemp("loops") / "loops.json")
    with serve_in_background(create_app(workers=1, graph=tracefile.load(path))) as url:
        yield url


def node(page, name):
    return page.locator(f'g.node[data-node="{name}"]')


def test_a_saved_digits_trace_opens_with_statistics(browser, digits_url):
    page = open_page(browser, digits_url)
    assert page.locator("body").get_attribute("data-mode") == "graph"
    expect(page.locator("#expr")).to_be_hidden()
    expect(page.locator("#result .result-value")).to_contain_text("Mean = ")
    for name in ("images", "hidden/W", "Relu", "output/MatMul", "Mean"):
        expect(node(page, name)).to_be_visible()
    expect(page.locator(".frame", has_text="hidden")).to_have_count(1)
    expect(node(page, "hidden/W")).to_contain_text("64×32")
    node(page, "Relu").click()
    details = page.locator("#node-details")
    expect(details.locator("h3")).to_have_text("Relu")
    expect(details).to_contain_text("shape 64×32")
    expect(details.locator(".stats-block.value table.stats")).to_contain_text("zeros")
    expect(details.locator(".stats-block.value svg.histogram rect").first).to_be_visible()
    details.locator('.show-array[data-which="value"]').click()
    expect(details.locator(".stats-block.value pre.array")).to_be_visible()
    rows = details.locator(".stats-block.value pre.array").inner_text().splitlines()
    assert len(rows) == 64 and len(rows[0].split()) == 32
    assert page.errors == []


def test_a_variable_lights_up_its_gradient_paths(browser, digits_url):
    page = open_page(browser, digits_url)
    node(page, "hidden/W").click()
    expect(page.locator("#graph")).to_have_class("has-selection")
    lit = ["hidden/W", "hidden/MatMul", "hidden/Add", "Relu", "output/MatMul", "output/Add", "Mean"]
    for name in lit:
        expect(node(page, name)).to_have_class(has_class("highlighted"))
    for name in ("images", "targets", "output/W", "hidden/b"):
        expect(node(page, name)).not_to_have_class(has_class("highlighted"))
    edge = page.locator('[data-edge-id="hidden/W->hidden/MatMul#1"][data-part="line"]')
    expect(edge).to_have_class(has_class("highlighted"))
    other = page.locator('[data-edge-id="images->hidden/MatMul#0"][data-part="line"]')
    expect(other).not_to_have_class(has_class("highlighted"))
    expect(page.locator("#path-summary")).to_contain_text("flows back along 7 edges through 8")
    assert page.errors == []


def has_class(name):
    """Matches a class attribute holding ``name``."""
    return re.compile(rf"(^|\s){name}(\s|$)")


def test_a_name_scope_closes_into_a_box_and_opens_again(browser, digits_url):
    page = open_page(browser, digits_url)
    page.locator(".frame", has_text="hidden").locator("text").click()
    box = page.locator('.scope-box[data-scope="hidden"]')
    expect(box).to_be_visible()
    expect(box).to_contain_text("4 nodes")
    expect(node(page, "hidden/W")).to_have_count(0)
    node(page, "images").click()  # a path through a closed scope lights its box up
    expect(box).to_have_class(has_class("highlighted"))
    box.click()
    expect(node(page, "hidden/W")).to_be_visible()
    expect(page.locator('.scope-box[data-scope="hidden"]')).to_have_count(0)
    assert page.errors == []


def test_two_thousand_nodes_open_collapsed_and_stay_interactive(browser):
    with serve_in_background(create_app(workers=1, graph=big_graph_data())) as url:
        page = open_page(browser, url)
        boxes = page.locator(".scope-box")
        expect(boxes).to_have_count(10)
        expect(page.locator("#result")).to_contain_text("boxes shown")
        page.locator('.scope-box[data-scope="block3"]').click()
        expect(page.locator('.scope-box[data-scope^="block3/layer"]')).to_have_count(23)
        page.locator('.scope-box[data-scope="block3/layer7"]').click()
        expect(node(page, "block3/layer7/w")).to_be_visible()
        node(page, "block3/layer7/Tanh").click()
        expect(page.locator("#node-details h3")).to_have_text("block3/layer7/Tanh")
        expect(page.locator("#node-details")).to_contain_text("this graph has no values")
        node(page, "block3/layer7/w").click()
        expect(page.locator('.scope-box[data-scope="block9"]')).to_have_class(
            has_class("highlighted")
        )
        expect(page.locator('.scope-box[data-scope="block0"]')).not_to_have_class(
            has_class("highlighted")
        )
        assert page.errors == []


def iteration_cells(details, k):
    return details.locator(f'table.iterations tr[data-iteration="{k}"] td').all_inner_texts()


def test_a_loops_node_shows_its_iterations_and_their_gradients(browser, loops_url):
    page = open_page(browser, loops_url)
    node(page, "newton/while/While").click()
    details = page.locator("#node-details")
    expect(details.locator("h3")).to_have_text("newton/while/While")
    block = details.locator(".stats-block.iterations")
    expect(block.locator("h4")).to_contain_text("backpropagation through time")
    expect(block.locator("table.iterations tr")).to_have_count(7)  # a heading and 6 rows
    assert block.locator("th").all_inner_texts() == ["iteration", "loop variables", "gradient"]
    assert iteration_cells(details, 0) == ["after 0", "(0, 2)", "(–, 4.069e−23)"]
    assert iteration_cells(details, 2) == ["after 2", "(2, 1.4167)", "(–, 2.93e−21)"]
    assert iteration_cells(details, 5) == ["after 5", "(5, 1.4142)", "(–, 1)"]
    node(page, "powers/while/While").click()
    expect(details.locator("h3")).to_have_text("powers/while/While")
    expect(details.locator("table.iterations tr")).to_have_count(5)
    assert iteration_cells(details, 0) == ["after 0", "(0, [1 1 1])", "(–, [1 8 27])"]
    assert iteration_cells(details, 3) == ["after 3", "(3, [1 8 27])", "(–, [1 1 1])"]
    node(page, "output").click()
    expect(details.locator("h3")).to_have_text("output")
    expect(details.locator(".stats-block.iterations")).to_have_count(0)
    assert page.errors == []


def test_a_long_loop_shows_its_first_iterations_and_its_last(browser):
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float64, [], name="x")
        _, total = cr.while_loop(lambda i, s: i < 150, lambda i, s: (i + 1, s + x), [0, x])
        cr.multiply(total, 2.0, name="double")
    data = view_data(cr.explain(graph.get_tensor_by_name("double:0"), {x: 0.5}))
    with serve_in_background(create_app(workers=1, graph=data)) as url:
        page = open_page(browser, url)
        node(page, "while/While").click()
        details = page.locator("#node-details")
        rows = details.locator("table.iterations tr[data-iteration]")
        expect(rows).to_have_count(tracefile.SAVED_ITERATIONS)
        expect(details.locator("tr.gap")).to_have_text(
            "… iterations 99 to 149 are not kept in the file …"
        )
        assert iteration_cells(details, 98) == ["after 98", "(98, 49.5)", "(–, 2)"]
        assert iteration_cells(details, 150) == ["after 150", "(150, 75.5)", "(–, 2)"]
        assert page.errors == []


# -- the expression explorer's rough edges ------------------------------------------------------
def test_the_output_is_f_and_edges_have_arrowheads(browser, expression_url):
    page = open_page(browser, f"{expression_url}?expr=(4*x%2B1)^2")
    expect(page.locator("#result .result-value")).to_have_text("f = 25")
    expect(node(page, "Pow").locator(".tag")).to_have_text("f")
    lines = page.locator('.edge[data-part="line"] path')
    expect(lines).to_have_count(6)
    ends = lines.evaluate_all("(paths) => paths.map((p) => getComputedStyle(p).markerEnd)")
    assert all('url("#arrow")' in end for end in ends)
    expect(page.locator("marker#arrow path")).to_have_count(1)


def test_a_constants_gradient_is_explained_not_shown(browser, expression_url):
    page = open_page(browser, f"{expression_url}?expr=(4*x%2B1)^2")
    exponent = page.locator('g.node.const[data-node="Const_2"]')
    expect(exponent.locator(".grad")).to_have_text("—")
    note = exponent.locator(".const-grad title")
    assert "A constant never changes" in note.text_content()
    assert "40.236" in note.text_content()


def test_an_invalid_expression_greys_the_old_result(browser, expression_url):
    page = open_page(browser, f"{expression_url}?expr=x*2")
    expect(page.locator("#result")).not_to_have_class(has_class("stale"))
    page.locator("#expr").fill("x*(2+")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#result")).to_have_class(has_class("stale"))
    assert float(page.locator("#result").evaluate("(e) => getComputedStyle(e).opacity")) < 1
    page.locator("#expr").fill("x*3")
    expect(page.locator("#result")).not_to_have_class(has_class("stale"))


def test_an_empty_expression_leaves_no_variable_rows(browser, expression_url):
    page = open_page(browser, f"{expression_url}?expr=x*y")
    expect(page.locator(".var-row")).to_have_count(2)
    page.locator("#expr").fill("")
    expect(page.locator(".var-row")).to_have_count(0)
    expect(page.locator("#result")).to_contain_text("Type an expression")


def test_a_narrow_window_never_scrolls_sideways(browser, expression_url, digits_url):
    for url in (f"{expression_url}?expr=x*y%2Bsin(x)*cos(y)%2Bexp(x*y)", digits_url):
        page = open_page(browser, url, width=420)
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], url


def test_infinity_and_nan_are_explained(browser, expression_url):
    page = open_page(browser, f"{expression_url}?expr=log(x)&v.x=0")
    expect(page.locator('.nonfinite-note [data-kind="Infinity"]')).to_contain_text(
        "division by zero"
    )
    expect(page.locator('.nonfinite-note [data-kind="NaN"]')).to_have_count(0)
    page = open_page(browser, f"{expression_url}?expr=sqrt(x)&v.x=-1")
    expect(page.locator('.nonfinite-note [data-kind="NaN"]')).to_contain_text("not a number")
    page = open_page(browser, f"{expression_url}?expr=x*2")
    expect(page.locator(".nonfinite-note")).to_have_count(0)


def test_screenshot_of_a_network_trace(browser, digits_url, tmp_path):
    """The README's picture (rewritten with CHAINRULE_UPDATE_SCREENSHOT=1)."""
    page = open_page(browser, digits_url, height=900)
    node(page, "hidden/W").click()
    expect(page.locator("#node-details h3")).to_have_text("hidden/W")
    expect(page.locator("#path-summary")).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")
    page.mouse.move(0, 0)
    target = SCREENSHOT if os.environ.get("CHAINRULE_UPDATE_SCREENSHOT") else tmp_path / "n.png"
    page.screenshot(path=str(target), clip={"x": 0, "y": 0, "width": 1280, "height": 900})
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) < 300_000
