"""Seeing training: ``cr.watch`` measurements, the live page's event stream, the page in
Chromium updating while a network trains, ``chainrule train --watch`` and the example of
vanishing gradients."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main as cli_main
from chainrule.web.watch import Watch

ROOT = Path(__file__).resolve().parents[1]


def relu_network():
    rng = np.random.default_rng(0)
    graph = cr.Graph()
    with graph.as_default():
        X = cr.placeholder(cr.float64, shape=(None, 2), name="X")
        c = cr.placeholder(cr.float64, shape=(None, 2), name="c")
        with cr.name_scope("hidden"):
            W = cr.Variable(rng.normal(size=(2, 8)), name="W")
            h = cr.nn.relu(cr.matmul(X, W))
        with cr.name_scope("output"):
            V = cr.Variable(rng.normal(size=(8, 2)), name="W")
            logits = cr.matmul(h, V)
        loss = cr.reduce_mean(
            cr.nn.softmax_cross_entropy_with_logits_v2(labels=c, logits=logits), name="loss"
        )
        train = cr.GradientDescentOptimizer(0.1).minimize(loss)
    points, labels = cr.data.xor_clouds(seed=1)
    return loss, train, (W, V), {X: points, c: cr.data.one_hot(labels)}


def test_update_measures_loss_gradient_norms_and_activations():
    loss, train, (W, V), feed = relu_network()
    with cr.Session(graph=loss.graph) as session:
        watcher = Watch(session, loss)
        record = watcher.update(feed)
        grads = session.run(cr.gradients(loss, [W, V]), feed)
        assert record["step"] == 1 and record["loss"] == pytest.approx(session.run(loss, feed))
        assert record["grad_norms"]["hidden/W"] == pytest.approx(np.linalg.norm(grads[0]))
        assert record["grad_norms"]["output/W"] == pytest.approx(np.linalg.norm(grads[1]))
        relu = record["activations"]["hidden/Relu"]
        h = session.run(loss.graph.get_tensor_by_name("hidden/Relu:0"), feed)
        assert relu["op"] == "Relu" and relu["zero_fraction"] == pytest.approx(np.mean(h == 0))
        before = session.run(W)
        assert watcher.update(feed, step=10)["step"] == 10
        np.testing.assert_array_equal(session.run(W), before)  # measuring does not train
        assert [r["step"] for r in watcher.since(1)[0]] == [10]
    with pytest.raises(cr.errors.InvalidArgumentError, match="needs the loss node"):
        Watch(session, "loss")


def test_old_records_are_thinned_out(monkeypatch):
    from chainrule.web import watch as watch_module

    monkeypatch.setattr(watch_module, "MAX_RECORDS", 8)
    loss, train, _, feed = relu_network()
    with cr.Session(graph=loss.graph) as session:
        watcher = Watch(session, loss)
        for step in range(9):
            watcher.update(feed, step=step)
        assert [r["step"] for r in watcher.records] == [0, 2, 4, 6, 8]


def test_the_event_stream_sends_history_then_new_records():
    loss, train, _, feed = relu_network()
    with cr.Session(graph=loss.graph) as session:
        watcher = Watch(session, loss)
        watcher.update(feed)
        url = watcher.serve(open_browser=False)
        try:
            page = httpx.get(url, timeout=10)
            assert page.status_code == 200 and "/static/watch.js" in page.text
            assert "default-src 'self'" in page.headers["content-security-policy"]
            events = []
            with httpx.stream("GET", f"{url}api/watch/events", timeout=10) as stream:
                for line in stream.iter_lines():
                    if line.startswith("event:"):
                        events.append(line.split(": ", 1)[1])
                    elif line.startswith("data:") and events[-1] == "start":
                        start = json.loads(line[5:])
                        assert start["variables"] == ["hidden/W", "output/W"]
                        assert start["activations"] == ["hidden/Relu"]
                        assert len(start["records"]) == 1
                        watcher.update(feed)
                    elif line.startswith("data:") and events[-1] == "records":
                        assert [r["step"] for r in json.loads(line[5:])] == [2]
                        break
        finally:
            watcher.close()
    assert events == ["start", "records"]


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no Chromium")
def test_the_watch_page_updates_while_training_runs():
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    loss, train, _, feed = relu_network()
    session = cr.Session(graph=loss.graph)
    watcher = cr.watch(session, loss, open_browser=False)
    done = threading.Event()

    def training():
        for step in range(400):
            session.run(train, feed)
            if step % 10 == 0:
                watcher.update(feed, step=step)
            if step % 40 == 0:
                done.wait(0.3)  # slow enough for the page to see it happen

    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1200, "height": 500})
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(watcher.url)
            expect(page.locator("#status")).to_contain_text("live", timeout=15_000)
            worker = threading.Thread(target=training)
            worker.start()
            partial = re.compile(r"^([2-9]|[1-3][0-9])$")  # some records, more to come
            expect(page.locator("body")).to_have_attribute("data-steps", partial, timeout=15_000)
            expect(page.locator("body")).to_have_attribute("data-steps", "40", timeout=30_000)
            worker.join()
            chart = page.locator("#loss-chart")
            assert int(chart.get_attribute("data-points")) == 40
            expect(page.locator("#grad-chart path.series")).to_have_count(2)
            expect(page.locator('#activations tr[data-node="hidden/Relu"]')).to_contain_text("Relu")
            expect(page.locator("#status")).to_contain_text("step 390")
            watcher.close()
            expect(page.locator("#status")).to_contain_text("finished", timeout=15_000)
            if os.environ.get("CHAINRULE_UPDATE_SCREENSHOT"):
                page.screenshot(path=str(ROOT / "docs" / "watch.png"), full_page=True)
            browser.close()
            assert errors == []
    finally:
        done.set()
        watcher.close()
        session.close()


def test_train_digits_with_watch(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sklearn")
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    args = ["train", "digits", "--epochs", "1", "--watch", "--quiet", "--out", str(tmp_path)]
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    url = re.search(r"chainrule watch: (http://127\.0\.0\.1:\d+/)", out).group(1)
    assert opened == [url]  # opened from a background thread while the epoch ran
    assert "test accuracy" in out


def test_the_vanishing_gradients_example():
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "vanishing_gradients.py"), "--steps", "300"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    ratios = [float(v) for v in re.findall(r"first layer / last layer: ([\d.e+-]+)", done.stdout)]
    losses = [float(v) for v in re.findall(r"-> ([\d.]+) after", done.stdout)]
    sigmoid, relu = ratios
    assert sigmoid < 1e-3 < 0.3 < relu  # the sigmoid network's first layer hardly learns
    assert losses[0] > 0.69 and losses[1] < 0.1
    assert "vanishing" in done.stdout.split("ReLU network")[0]
