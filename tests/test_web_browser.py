"""The explorer page in a real headless Chromium: typing, sliders, shared links, errors, paths.

Set CHAINRULE_UPDATE_SCREENSHOT=1 to rewrite docs/explorer.png (the README's picture).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "explorer.png"

if not os.path.exists(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
expect.set_options(timeout=15_000)

from chainrule.web.server import create_app, serve_in_background  # noqa: E402


@pytest.fixture(scope="module")
def server_url():
    with serve_in_background(create_app()) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page; the test fails if the page's script throws."""
    context = browser.new_context(viewport={"width": 1280, "height": 780})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == []


def node(page, name: str):
    return page.locator(f'g.node[data-node="{name}"]')


def slider(page, variable: str):
    return page.locator(f'[data-var="{variable}"] input[type=range]')


def number_field(page, variable: str):
    return page.locator(f'[data-var="{variable}"] input[type=number]')


def expect_seed_values(page, x: float) -> None:
    """The seed's (4*x+1)^2 at ``x``: value (4x+1)^2 and gradient 8(4x+1)."""
    value = (4 * x + 1) ** 2
    gradient = 8 * (4 * x + 1)
    expect(page.locator("#result .result-value")).to_have_text(f"f = {value:g}")
    expect(page.locator('#result [data-grad="x"]')).to_have_text(f"∂f/∂x = {gradient:g}")
    expect(node(page, "Pow").locator(".val")).to_have_text(f"{value:g}")
    expect(node(page, "x").locator(".grad")).to_have_text(f"{gradient:g}")


def test_typing_an_expression_shows_values_and_gradients(page, server_url):
    page.goto(server_url)
    box = page.locator("#expr")
    box.fill("")
    box.press_sequentially("(4*x+1)^2", delay=15)
    expect_seed_values(page, 1.0)
    expect(node(page, "Add").locator(".val")).to_have_text("5")
    expect(node(page, "Add").locator(".grad")).to_have_text("10")
    expect(node(page, "Mul").locator(".grad")).to_have_text("10")
    expect(page.locator('[data-edge-id="Add->Pow#0"][data-part="label"] text')).to_have_text("10")
    expect(page.locator("#error")).to_be_hidden()
    box.fill("sin(x)*x")
    expect(page.locator("#result .result-value")).to_have_text("f = 0.84147")
    expect(page.locator('#result [data-grad="x"]')).to_have_text("∂f/∂x = 1.3818")


def test_slider_and_number_field_update_the_graph(page, server_url):
    page.goto(f"{server_url}?expr=(4*x%2B1)^2&v.x=1")
    expect_seed_values(page, 1.0)
    slider(page, "x").fill("2")
    expect(number_field(page, "x")).to_have_value("2")
    expect_seed_values(page, 2.0)
    number_field(page, "x").fill("0.5")
    expect(slider(page, "x")).to_have_value("0.5")
    expect_seed_values(page, 0.5)
    box = slider(page, "x").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2, steps=5)
    page.mouse.move(box["x"] + box["width"] + 40, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    expect(number_field(page, "x")).to_have_value("5")
    expect_seed_values(page, 5.0)
    assert parse_qs(urlsplit(page.url).query)["v.x"] == ["5"]


def test_shared_link_restores_the_view(page, browser, server_url):
    page.goto(server_url)
    page.locator("#expr").fill("x*y + sin(x)")
    expect(page.locator('[data-var="y"]')).to_be_visible()
    number_field(page, "x").fill("0.5")
    number_field(page, "y").fill("-2")
    node(page, "y").click()
    expect(page.locator('#result [data-grad="x"]')).to_have_text("∂f/∂x = −1.1224")
    shared = page.url
    query = parse_qs(urlsplit(shared).query)
    assert query == {"expr": ["x*y + sin(x)"], "v.x": ["0.5"], "v.y": ["-2"], "sel": ["y"]}

    other = browser.new_page()
    try:
        other.goto(shared)
        expect(other.locator("#expr")).to_have_value("x*y + sin(x)")
        expect(number_field(other, "x")).to_have_value("0.5")
        expect(number_field(other, "y")).to_have_value("-2")
        expect(slider(other, "y")).to_have_value("-2")
        expect(other.locator("#result .result-value")).to_have_text("f = −0.52057")
        expect(other.locator('#result [data-grad="x"]')).to_have_text("∂f/∂x = −1.1224")
        expect(node(other, "y")).to_have_class(re.compile(r"\bselected\b"))
        expect(other.locator("#paths")).to_contain_text("∂f/∂c · ∂c/∂y = 1 · 0.5 = 0.5")
    finally:
        other.close()


def test_bad_input_shows_the_error_at_its_position(page, server_url):
    page.goto(server_url)
    expect_seed_values(page, 1.0)
    page.locator("#expr").fill("(4*x+1))^2")
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("data-position", "7")
    expect(error.locator(".error-message")).to_contain_text("unmatched ')'")
    expect(error.locator(".bad")).to_have_text(")")
    expect(error.locator(".caret")).to_have_text(" " * 7 + "^")
    expect(page.locator("#expr")).to_have_class(re.compile(r"\binvalid\b"))
    expect(page.locator("#graph")).to_have_class(re.compile(r"\bstale\b"))
    page.locator("#expr").fill("2^")
    expect(error).to_have_attribute("data-position", "2")
    expect(error.locator(".error-message")).to_contain_text("ends too early")
    page.locator("#expr").fill("(4*x+1)^2")
    expect(error).to_be_hidden()
    expect_seed_values(page, 1.0)
    expect(page.locator("#graph")).not_to_have_class(re.compile(r"\bstale\b"))


def test_clicking_a_variable_highlights_its_paths_and_products(page, server_url):
    page.goto(f"{server_url}?expr=(4*x%2B1)^2")
    expect_seed_values(page, 1.0)
    node(page, "x").click()
    for name in ("x", "Mul", "Add", "Pow"):
        expect(node(page, name)).to_have_class(re.compile(r"\bhighlighted\b"))
    for name in ("Const", "Const_1", "Const_2"):
        expect(node(page, name)).not_to_have_class(re.compile(r"\bhighlighted\b"))
    for edge in ("x->Mul#1", "Mul->Add#0", "Add->Pow#0"):
        line = page.locator(f'[data-edge-id="{edge}"][data-part="line"]')
        expect(line).to_have_class(re.compile(r"\bhighlighted\b"))
    expect(page.locator('[data-edge-id="Const_2->Pow#1"][data-part="line"]')).not_to_have_class(
        re.compile(r"\bhighlighted\b")
    )
    paths = page.locator("#paths li.path")
    expect(paths).to_have_count(1)
    expect(paths.first).to_have_text("∂f/∂e · ∂e/∂c · ∂c/∂x = 10 · 1 · 4 = 40")
    expect(page.locator("#path-sum")).to_have_text("∂f/∂x = 40")
    assert parse_qs(urlsplit(page.url).query)["sel"] == ["x"]

    page.locator("#expr").fill("x*y + sin(x)*x")
    expect(page.locator("#paths li.path")).to_have_count(3)
    expect(page.locator("#path-sum")).to_have_text("∂f/∂x = 1 + 0.5403 + 0.84147 = 2.3818")
    node(page, "x").click()
    expect(page.locator("#paths li.path")).to_have_count(0)
    expect(node(page, "x")).not_to_have_class(re.compile(r"\bhighlighted\b"))
    assert "sel" not in parse_qs(urlsplit(page.url).query)


def test_screenshot_of_the_explorer(page, server_url, tmp_path):
    page.goto(f"{server_url}?expr=(4*x%2B1)^2&v.x=1&sel=x")
    expect(page.locator("#path-sum")).to_have_text("∂f/∂x = 40")
    page.mouse.move(0, 0)
    target = SCREENSHOT if os.environ.get("CHAINRULE_UPDATE_SCREENSHOT") else tmp_path / "x.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), clip={"x": 0, "y": 0, "width": 1280, "height": 640})
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) < 200_000
