"""Several threads calling ``run`` on one session: reads and optimizer steps never corrupt
variables, never raise, and results stay the caller's own (the guarantee in docs/threads.md)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest

import chainrule as cr
import chainrule.runtime.session as session_module
from chainrule.errors import ChainruleError, FailedPreconditionError
from chainrule.ops.base import Operation

THREADS = 6


def run_threads(target: Callable[[int], None], count: int = THREADS) -> None:
    """Run ``target(i)`` in ``count`` threads started together; re-raise the first failure."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as err:  # noqa: BLE001 - reported to the test below
            errors.append(err)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def test_concurrent_reads_with_different_feeds_get_their_own_results():
    x = cr.placeholder(cr.float64, shape=[None, 3])
    w = cr.Variable(np.arange(6.0).reshape(3, 2))
    y = cr.nn.softmax(cr.matmul(x, w) + 1.0)
    total = cr.reduce_sum(y * y)
    session = cr.Session()
    w_value = np.arange(6.0).reshape(3, 2)

    def expected(feed: np.ndarray) -> np.ndarray:
        z = feed @ w_value + 1.0
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def reader(i: int) -> None:
        rng = np.random.default_rng(i)
        kept = []
        for k in range(150):
            feed = rng.standard_normal((1 + (i + k) % 4, 3))
            got_y, got_total = session.run([y, total], {x: feed})
            np.testing.assert_allclose(got_y, expected(feed), rtol=1e-12)
            assert got_total == pytest.approx(np.sum(expected(feed) ** 2), rel=1e-12)
            kept.append((feed, got_y))
        for feed, got_y in kept:  # results are never overwritten by later runs
            np.testing.assert_allclose(got_y, expected(feed), rtol=1e-12)

    run_threads(reader)
    session.close()


def test_concurrent_assign_add_counts_every_update():
    counter = cr.Variable(np.zeros(4), name="counter")
    bump = cr.assign_add(counter, np.ones(4))
    session = cr.Session()
    steps = 300

    def worker(i: int) -> None:
        for _ in range(steps):
            session.run(bump)

    run_threads(worker)
    np.testing.assert_array_equal(session.run(counter), np.full(4, THREADS * steps))


def test_concurrent_optimizer_steps_and_reads_never_see_a_partial_update():
    """Each step moves every weight by exactly -lr: a read sees some whole number of steps."""
    w = cr.Variable(np.full((8, 8), 1000.0), name="w")
    global_step = cr.Variable(0, dtype=cr.int64, trainable=False, name="global_step")
    loss = cr.reduce_sum(w)  # gradient 1 everywhere, so each step subtracts lr exactly
    train = cr.train.GradientDescentOptimizer(0.5).minimize(loss, global_step=global_step)
    session = cr.Session()
    steps_per_thread = 200
    trainers = THREADS - 2
    seen: list[list[float]] = [[] for _ in range(THREADS)]
    held: list[tuple[np.ndarray, float]] = []

    def worker(i: int) -> None:
        if i < trainers:
            for _ in range(steps_per_thread):
                assert session.run(train) is None  # as TF1: the train op is an operation
            return
        for _ in range(steps_per_thread):
            value = session.run(w)
            assert np.all(value == value.flat[0]), "a read saw a partially applied update"
            assert (1000.0 - value.flat[0]) % 0.5 == 0.0
            seen[i].append(float(value.flat[0]))
            held.append((value, float(value.flat[0])))

    run_threads(worker)
    done = trainers * steps_per_thread
    final_w, final_step = session.run([w, global_step])
    np.testing.assert_array_equal(final_w, np.full((8, 8), 1000.0 - 0.5 * done))
    assert final_step == done
    for values in seen[trainers:]:
        assert values == sorted(values, reverse=True), "a reader saw the weights go back"
    for value, first in held:  # later steps never wrote into an array a reader holds
        np.testing.assert_array_equal(value, np.full((8, 8), first))


def test_adam_steps_from_threads_match_the_same_steps_in_one_thread():
    """Adam's slots and bias corrections survive concurrent steps: same numbers as serial."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((16, 3))
    target = data @ np.array([1.0, -2.0, 0.5])

    def build() -> tuple[cr.Tensor, cr.Tensor, cr.Tensor]:
        x = cr.constant(data)
        w = cr.Variable(np.zeros(3))
        loss = cr.reduce_mean(
            cr.square(cr.reshape(cr.matmul(x, cr.reshape(w, [3, 1])), [-1]) - target)
        )
        return w, loss, cr.train.AdamOptimizer(0.01).minimize(loss)

    steps = 40
    with cr.Graph().as_default():
        w, loss, train = build()
        with cr.Session() as serial:
            for _ in range(THREADS * steps):
                serial.run(train)
            expected = serial.run(w)
    with cr.Graph().as_default():
        w, loss, train = build()
        with cr.Session() as shared:

            def worker(i: int) -> None:
                for _ in range(steps):
                    shared.run(train)

            run_threads(worker)
            got = shared.run(w)
    # Every step uses the same full-batch gradient formula: the order of steps does not matter
    # for the result, only that each one is applied whole.
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_first_runs_racing_compile_each_plan_once_and_initialize_variables_once(monkeypatch):
    built: list[object] = []
    real_plan = session_module.Plan

    def counting_plan(*args, **kwargs):
        plan = real_plan(*args, **kwargs)
        built.append(plan)
        return plan

    monkeypatch.setattr(session_module, "Plan", counting_plan)
    v = cr.Variable(np.arange(5.0))
    outputs = [v * float(k) + cr.reduce_sum(v) for k in range(4)]
    session = cr.Session()

    def worker(i: int) -> None:
        for k in range(4):
            np.testing.assert_array_equal(
                session.run(outputs[(i + k) % 4]), np.arange(5.0) * ((i + k) % 4) + 10.0
            )

    run_threads(worker)
    fetch_plans = [p for p in built if any(f in outputs for f in p.fetches)]
    assert len(fetch_plans) == 4


def test_make_callable_is_safe_from_many_threads():
    x = cr.placeholder(cr.float64, shape=[2])
    v = cr.Variable(np.zeros(2))
    step = cr.assign_add(v, x)
    session = cr.Session()
    add = session.make_callable(step, [x])
    read = session.make_callable(v * 1.0)

    def worker(i: int) -> None:
        for _ in range(200):
            add(np.array([1.0, 2.0]))
            value = read()
            assert value[1] == 2 * value[0]

    run_threads(worker)
    np.testing.assert_array_equal(session.run(v), [THREADS * 200.0, THREADS * 400.0])


def test_two_sessions_in_two_threads_keep_independent_variables():
    v = cr.Variable(0.0, dtype=cr.float64)
    inc = cr.assign_add(v, 1.0)
    sessions = [cr.Session(), cr.Session()]

    def worker(i: int) -> None:
        for _ in range(100 * (i + 1)):
            sessions[i].run(inc)

    run_threads(worker, count=2)
    assert sessions[0].run(v) == 100.0
    assert sessions[1].run(v) == 200.0


def test_growing_the_graph_in_one_thread_while_others_run():
    """One thread adds nodes (and runs them); the others keep running their fetches."""
    x = cr.placeholder(cr.float64, shape=[3])
    y = cr.reduce_sum(cr.exp(x))
    session = cr.Session()
    feed = np.array([0.0, 1.0, 2.0])
    expected = np.exp(feed).sum()

    def worker(i: int) -> None:
        if i == 0:
            node = x
            for k in range(60):
                node = cr.tanh(node) + float(k)
                assert np.all(np.isfinite(session.run(node, {x: feed})))
            return
        for _ in range(200):
            assert session.run(y, {x: feed}) == pytest.approx(expected, rel=1e-14)

    run_threads(worker)


class Block(Operation):
    """A user op that signals it started, then waits to be released (holds a run open)."""

    def __init__(self, x, started: threading.Event, release: threading.Event):
        self.started, self.release = started, release
        super().__init__([x])

    def compute(self, x):
        self.started.set()
        self.release.wait(10)
        return x


def test_close_waits_for_a_run_in_progress():
    v = cr.Variable(np.ones(3))
    started, release = threading.Event(), threading.Event()
    blocked = Block(v * 1.0, started, release) + v
    session = cr.Session()
    session.run(v)
    results: list[object] = []
    runner = threading.Thread(target=lambda: results.append(_run_or_error(session, blocked)))
    runner.start()
    assert started.wait(10)
    closer = threading.Thread(target=session.close)
    closer.start()
    closer.join(timeout=1.0)
    closed_under_the_run = not closer.is_alive()
    release.set()
    runner.join(10)
    closer.join(10)
    assert not closed_under_the_run, "close() returned while a run was still executing"
    np.testing.assert_array_equal(results[0], [2.0, 2.0, 2.0])
    with pytest.raises(FailedPreconditionError):
        session.run(v)


def _run_or_error(session, fetch):
    try:
        return session.run(fetch)
    except Exception as err:  # noqa: BLE001 - the test inspects it
        return err


def test_runs_racing_close_raise_only_chainrule_errors():
    """Runs racing close() either finish or raise a chainrule error; later runs are refused."""
    v = cr.Variable(np.ones(3))
    step = cr.assign_add(v, np.ones(3))
    read = v * 2.0
    session = cr.Session()
    session.run([step, read])
    started = threading.Event()
    unexpected: list[BaseException] = []

    def worker(i: int) -> None:
        started.set()
        for _ in range(5000):
            try:
                session.run(step if i % 2 else read)
            except FailedPreconditionError:
                return
            except ChainruleError:
                continue
            except BaseException as err:  # noqa: BLE001 - collected and reported below
                unexpected.append(err)
                return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    started.wait()
    session.close()
    for t in threads:
        t.join(timeout=60)
    assert not unexpected, f"runs racing close() raised {unexpected[0]!r}"
    with pytest.raises(FailedPreconditionError):
        session.run(read)
