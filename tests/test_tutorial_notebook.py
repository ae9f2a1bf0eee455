"""docs/tutorial.ipynb runs in a real Jupyter kernel and shows the lesson's numbers and pictures."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest

import chainrule

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "tutorial.ipynb"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The executed notebook's outputs by cell tag: (text, html) per cell."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path_factory.mktemp("tutorial"))}},
    )
    # the kernel imports the chainrule under test, wherever this process found it
    source = str(Path(chainrule.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    client.execute(env={**os.environ, "PYTHONPATH": path})
    by_tag = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        (tag,) = cell.metadata["tags"]
        text, rich = [], []
        for output in cell.outputs:
            assert output.output_type != "error", "".join(output.get("traceback", []))
            if output.output_type == "stream":
                text.append(output.text)
            else:
                rich.append(output.data.get("text/html", ""))
                text.append(output.data.get("text/plain", ""))
        by_tag[tag] = ("".join(text), "".join(rich))
    return by_tag


def numbers_after(label: str, text: str) -> float:
    match = re.search(re.escape(label) + r"\s*(-?[0-9.]+)", text)
    assert match, f"{label!r} not in {text!r}"
    return float(match.group(1))


def test_the_chain_rule_cell_draws_values_gradients_and_local_derivatives(outputs):
    text, html = outputs["chain-rule-picture"]
    assert "<svg" in html and "value = 25" in html and "grad = 40" in html
    assert "∂ 4" in html and "∂ 10" in html  # local derivatives on the edges
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing fetched
    numbers, _ = outputs["chain-rule-numbers"]
    assert "factors (4.0, 1.0, 10.0)" in numbers and "product 40.0" in numbers
    assert numbers.strip().endswith("value 25.0 gradient 40.0")


def test_perturbation_slope_matches_backprop(outputs):
    text, _ = outputs["perturbation"]
    slope = numbers_after("by perturbation:", text)
    gradient = numbers_after("by backpropagation:", text)
    assert gradient == 40.0 and slope == pytest.approx(40.0, abs=1e-4)


def test_logistic_regression_numbers_are_the_backprop_notebooks(outputs):
    text, _ = outputs["logistic-numbers"]
    yhat = 1 / (1 + math.exp(-(-4 * 1.5 + 3 * 2.5 - 1)))
    assert numbers_after("yhat =", text) == pytest.approx(yhat, abs=1e-4)
    assert numbers_after("L =", text) == pytest.approx(-math.log(yhat), abs=1e-4)
    assert numbers_after("dL/dw1 =", text) == pytest.approx((yhat - 1) * 1.5, abs=1e-4)
    assert numbers_after("dL/dw2 =", text) == pytest.approx((yhat - 1) * 2.5, abs=1e-4)
    assert numbers_after("dL/db =", text) == pytest.approx(yhat - 1, abs=1e-4)
    _, html = outputs["logistic-picture"]
    assert "<svg" in html and "yhat" in html
    _, html = outputs["logistic-graph"]
    assert "Graph</b> with" in html and ">gradients</text>" in html


def test_the_trained_network_and_its_tensor_trace(outputs):
    text, _ = outputs["mlp-train"]
    assert numbers_after("accuracy", text) >= 0.95
    _, html = outputs["mlp-trace"]
    assert "<svg" in html and "hidden/W" in html and "histogram" in html
    assert "array[" not in html and "value mean" in html
    summary, _ = outputs["mlp-summary"]
    rows = [line.split()[0] for line in summary.splitlines()[2:]]
    assert rows == ["hidden/W", "hidden/b", "output/W", "output/b"]
