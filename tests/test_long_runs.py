"""Long runs: a training step run many times keeps memory flat, the graph does not grow, and
each (fetches, feeds) pair is compiled once however often it repeats.

The RSS test runs ``CHAINRULE_LONG_RUNS`` steps (default 20,000; set 100000 for the full soak).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import chainrule as cr
import chainrule.runtime.session as session_module

RUNS = int(os.environ.get("CHAINRULE_LONG_RUNS", "20000"))
WARMUP = 2000
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def training_step() -> tuple[cr.Tensor, cr.Tensor, cr.Tensor, cr.Tensor, cr.Tensor]:
    """A small MLP with softmax cross-entropy and Adam (slots, bias corrections, global step)."""
    x = cr.placeholder(cr.float32, shape=[None, 8], name="x")
    labels = cr.placeholder(cr.int32, shape=[None], name="labels")
    hidden = cr.layers.dense(x, 16, activation=cr.nn.relu)
    logits = cr.layers.dense(hidden, 4)
    loss = cr.reduce_mean(
        cr.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    global_step = cr.Variable(0, dtype=cr.int64, trainable=False, name="global_step")
    train = cr.train.AdamOptimizer(1e-3).minimize(loss, global_step=global_step)
    return x, labels, loss, train, global_step


@pytest.fixture
def count_plans(monkeypatch):
    """A list that receives every Plan a session compiles during the test."""
    built: list[object] = []
    real_plan = session_module.Plan

    def counting_plan(*args, **kwargs):
        plan = real_plan(*args, **kwargs)
        built.append(plan)
        return plan

    monkeypatch.setattr(session_module, "Plan", counting_plan)
    return built


def test_training_step_memory_stays_flat():
    x, labels, loss, train, global_step = training_step()
    graph = cr.get_default_graph()
    rng = np.random.default_rng(0)
    batches = [
        (rng.standard_normal((32, 8)).astype(np.float32), rng.integers(0, 4, 32).astype(np.int32))
        for _ in range(16)
    ]
    with cr.Session() as session:
        for i in range(WARMUP):
            bx, by = batches[i % 16]
            session.run([loss, train], {x: bx, labels: by})
        nodes = len(graph)
        start = rss_bytes()
        halfway = start
        for i in range(RUNS):
            bx, by = batches[i % 16]
            session.run([loss, train], {x: bx, labels: by})
            if i == RUNS // 2:
                halfway = rss_bytes()
        end = rss_bytes()
        steps, final_loss = session.run(
            [global_step, loss], {x: batches[0][0], labels: batches[0][1]}
        )
    assert steps == WARMUP + RUNS
    assert np.isfinite(final_loss)
    assert len(graph) == nodes, "running added nodes to the graph"
    growth = end - start
    assert growth < 4 * 2**20, f"RSS grew by {growth / 2**20:.1f} MiB over {RUNS} steps"
    assert end - halfway < 2 * 2**20, f"RSS still growing: {(end - halfway) / 2**20:.1f} MiB"


def test_make_callable_memory_stays_flat():
    x, labels, loss, train, _ = training_step()
    rng = np.random.default_rng(1)
    bx = rng.standard_normal((16, 8)).astype(np.float32)
    by = rng.integers(0, 4, 16).astype(np.int32)
    with cr.Session() as session:
        step = session.make_callable([loss, train], [x, labels])
        for _ in range(WARMUP):
            step(bx, by)
        start = rss_bytes()
        for _ in range(RUNS // 2):
            step(bx, by)
        growth = rss_bytes() - start
    assert growth < 4 * 2**20, f"RSS grew by {growth / 2**20:.1f} MiB"


def test_repeated_runs_compile_each_plan_once(count_plans):
    x, labels, loss, train, global_step = training_step()
    rng = np.random.default_rng(2)
    with cr.Session() as session:
        for _ in range(300):
            bx = rng.standard_normal((8, 8)).astype(np.float32)
            by = rng.integers(0, 4, 8).astype(np.int32)
            session.run([loss, train], {x: bx, labels: by})  # a new list and dict every time
            session.run(loss, {x: bx, labels: by})
            session.run((loss,), feed_dict={x: bx, labels: by})
            session.run({"loss": loss, "step": global_step}, {x: bx, labels: by})
            session.run(global_step)
        compiled = [p for p in count_plans if any(f in (loss, global_step) for f in p.fetches)]
        # [loss, train], loss, (loss,) (may share loss's plan), the dict, global_step alone
        assert 4 <= len(compiled) <= 5, [p.fetches for p in compiled]
        before = len(count_plans)
        for _ in range(50):
            session.run([loss, train], {x: bx, labels: by})
        assert len(count_plans) == before


def test_fetching_by_name_compiles_once(count_plans):
    x = cr.placeholder(cr.float64, shape=[2], name="x")
    cr.reduce_sum(cr.square(x), name="total")
    with cr.Session() as session:
        for k in range(200):
            assert session.run("total:0", {"x:0": np.array([k, 1.0])}) == k * k + 1.0
    assert len(count_plans) == 1


def test_check_numerics_session_memory_stays_flat():
    x, labels, loss, train, _ = training_step()
    rng = np.random.default_rng(3)
    bx = rng.standard_normal((16, 8)).astype(np.float32)
    by = rng.integers(0, 4, 16).astype(np.int32)
    with cr.Session(check_numerics=True) as session:
        for _ in range(WARMUP // 2):
            session.run([loss, train], {x: bx, labels: by})
        start = rss_bytes()
        for _ in range(RUNS // 4):
            session.run([loss, train], {x: bx, labels: by})
        growth = rss_bytes() - start
    assert growth < 4 * 2**20, f"RSS grew by {growth / 2**20:.1f} MiB"
