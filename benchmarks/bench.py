"""chainrule against the same computations written by hand in NumPy (and PyTorch), in one run.

    .venv/bin/python benchmarks/bench.py            # every workload, about two minutes
    .venv/bin/python benchmarks/bench.py --quick    # fewer repetitions, for a smoke check

Workloads (see README.md for the method): an MLP 784-256-128-10 training step (ReLU, softmax
cross-entropy, SGD, float32) at batch 128 and 16, a 60-op chain with its gradient on a
float64 scalar and on a shape-(1,) array, the plan compile time of a 10,000-node and a 100,000-node graph, and the peak
memory of the MLP batch-128 step. Each side runs alternately with the others, many times;
the table shows medians and the ratio chainrule / NumPy.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads, both sides")
    parser.add_argument("--repeats", type=int, default=None, help="timed samples per side")
    parser.add_argument("--quick", action="store_true", help="fewer samples, smaller graphs")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--no-rewrites", action="store_true", help="chainrule without rewrites")
    parser.add_argument(
        "--interpret", action="store_true", help="run every plan in the step loop, not compiled"
    )
    parser.add_argument("--only", default="", help="comma-separated workload names")
    return parser.parse_args()


ARGS = _parse_args()
from timing import alternate, load_torch, peak_bytes, pin_blas_threads  # noqa: E402

pin_blas_threads(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

import chainrule as cr  # noqa: E402
import chainrule.runtime.plan  # noqa: E402
from chainrule.runtime.plan import Plan  # noqa: E402

torch = load_torch(ARGS.threads, wanted=not ARGS.no_torch)

OPTIMIZE = not ARGS.no_rewrites
LEARNING_RATE = 0.01
if ARGS.interpret:
    chainrule.runtime.plan.COMPILE_LIMIT = 0


# -- timing ---------------------------------------------------------------------------------------
def mlp_data(batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = [(784, 256), (256, 128), (128, 10)]
    data = {"x": rng.standard_normal((batch, 784)).astype(np.float32)}
    data["y"] = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    for i, (n_in, n_out) in enumerate(sizes, 1):
        data[f"W{i}"] = (rng.standard_normal((n_in, n_out)) * np.sqrt(2 / n_in)).astype(np.float32)
        data[f"b{i}"] = np.zeros(n_out, np.float32)
    return data


def chainrule_mlp(data: dict[str, np.ndarray]) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """The TF1 way: graph, loss, minimize, then ``Session.run([loss, train], feed)``."""
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float32, [None, 784], name="x")
        y = cr.placeholder(cr.float32, [None, 10], name="y")
        h = x
        for i in (1, 2, 3):
            w = cr.Variable(data[f"W{i}"], name=f"W{i}")
            b = cr.Variable(data[f"b{i}"], name=f"b{i}")
            h = cr.matmul(h, w) + b
            if i < 3:
                h = cr.nn.relu(h)
        xent = cr.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=h)
        loss = cr.reduce_mean(xent)
        train = cr.GradientDescentOptimizer(LEARNING_RATE).minimize(loss)
    session = cr.Session(graph=graph, optimize=OPTIMIZE)
    feed = {x: data["x"], y: data["y"]}
    fetches = [loss, train]
    step_callable = session.make_callable(fetches, [x, y])
    return (lambda: session.run(fetches, feed)), (lambda: step_callable(data["x"], data["y"]))


def numpy_mlp(data: dict[str, np.ndarray]) -> Callable[[], Any]:
    """The same step by hand: forward, softmax cross-entropy, backward, SGD, in place."""
    W1, b1, W2, b2, W3, b3 = (data[k].copy() for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    x, y = data["x"], data["y"]
    lr = np.float32(LEARNING_RATE)

    def step() -> float:
        nonlocal W1, b1, W2, b2, W3, b3  # updated in place
        n = x.shape[0]
        h1 = x @ W1
        h1 += b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ W2
        h2 += b2
        a2 = np.maximum(h2, 0)
        z = a2 @ W3
        z += b3
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        total = e.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(total[:, 0]) - (y * z).sum(axis=1))
        dz = e / total
        dz -= y
        dz /= n
        dW3 = a2.T @ dz
        db3 = dz.sum(axis=0)
        da2 = dz @ W3.T
        da2 *= h2 > 0
        dW2 = a1.T @ da2
        db2 = da2.sum(axis=0)
        da1 = da2 @ W2.T
        da1 *= h1 > 0
        dW1 = x.T @ da1
        db1 = da1.sum(axis=0)
        W3 -= lr * dW3
        b3 -= lr * db3
        W2 -= lr * dW2
        b2 -= lr * db2
        W1 -= lr * dW1
        b1 -= lr * db1
        return float(loss)

    return step


def torch_mlp(data: dict[str, np.ndarray]) -> Callable[[], Any]:
    """PyTorch eager: autograd backward and a plain SGD update."""
    params = [torch.tensor(data[k]).requires_grad_() for k in ("W1", "b1", "W2", "b2", "W3", "b3")]
    x, y = torch.tensor(data["x"]), torch.tensor(data["y"])
    W1, b1, W2, b2, W3, b3 = params

    def step() -> float:
        h = torch.relu(x @ W1 + b1)
        h = torch.relu(h @ W2 + b2)
        loss = torch.nn.functional.cross_entropy(h @ W3 + b3, y)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LEARNING_RATE * p.grad
                p.grad = None
        return loss.item()

    return step


# -- the scalar chain -------------------------------------------------------------------------------
CHAIN_LINKS = 20  # sin, *1.01, +0.1: 60 ops


def chainrule_chain(x0: np.ndarray) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """The chain on a placeholder of ``x0``'s shape: a scalar, or a shape-(1,) array."""
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float64, list(x0.shape), name="x")
        y = x
        for _ in range(CHAIN_LINKS):
            y = cr.sin(y) * 1.01 + 0.1
        dx = cr.gradients(y, [x])[0]
    session = cr.Session(graph=graph, optimize=OPTIMIZE)
    fetches, feed = [y, dx], {x: x0}
    fast = session.make_callable(fetches, [x])
    return (lambda: session.run(fetches, feed)), (lambda: fast(x0))


def numpy_chain(x0: np.ndarray) -> Callable[[], Any]:
    """Forward keeping each sin's input, then the chain rule backwards."""

    def step() -> tuple[Any, Any]:
        inputs = []
        y = x0
        for _ in range(CHAIN_LINKS):
            inputs.append(y)
            y = np.sin(y) * 1.01 + 0.1
        grad = 1.0
        for value in reversed(inputs):
            grad = grad * 1.01 * np.cos(value)
        return y, grad

    return step


def torch_chain(x0: np.ndarray) -> Callable[[], Any]:
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)

    def step() -> tuple[Any, Any]:
        y = x
        for _ in range(CHAIN_LINKS):
            y = torch.sin(y) * 1.01 + 0.1
        (grad,) = torch.autograd.grad(y, x, torch.ones_like(y))
        return y.detach().numpy(), grad.numpy()

    return step


# -- plan compile time ----------------------------------------------------------------------------
def _chain(links: int) -> tuple[cr.Graph, list[cr.Node], cr.Node]:
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float64, [], name="x")
        y = x
        for _ in range(links):
            y = cr.sin(y) * 1.01 + 0.1
        dx = cr.gradients(y, [x])[0]
    return graph, [y, dx], x


def chain_graph(nodes: int) -> tuple[cr.Graph, list[cr.Node], cr.Node]:
    """A graph of about ``nodes`` nodes: a deep chain of sin/mul/add and its gradient."""
    small, large = len(_chain(10)[0]), len(_chain(20)[0])
    per_link = (large - small) / 10
    links = max(1, round((nodes - (small - 10 * per_link)) / per_link))
    return _chain(links)


def compile_seconds(nodes: int, repeats: int) -> tuple[str, float, float]:
    """Median seconds to build the plan of a graph of ``nodes`` nodes, and its first run."""
    graph, fetches, x = chain_graph(nodes)
    session = cr.Session(graph=graph, optimize=OPTIMIZE)
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        plan = Plan(session.context, fetches, [x], optimize=OPTIMIZE)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    plan([np.array(0.5)])
    how = "interpreted" if plan.interpreted else "compiled"
    label = f"{len(graph):,}-node graph ({len(plan.program):,} steps, {how})"
    return label, statistics.median(times), time.perf_counter() - start


# -- report ---------------------------------------------------------------------------------------
def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def _mb(size: int) -> str:
    return f"{size / 2**20:.2f} MB"


def main() -> None:
    quick = ARGS.quick
    samples = ARGS.repeats or (15 if quick else 60)
    only = {w for w in ARGS.only.split(",") if w}
    rows: list[tuple[str, str, str, str, str, str]] = []

    def wanted(name: str) -> bool:
        return not only or name in only

    mode = "interpreted" if ARGS.interpret else "compiled"
    print(
        f"chainrule {cr.__version__} (rewrites {'on' if OPTIMIZE else 'off'}, plans {mode}), "
        f"NumPy {np.__version__}, PyTorch {torch.__version__ if torch else 'absent'}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, BLAS threads {ARGS.threads}"
    )
    tuning = {
        k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ
    }
    if tuning:
        print("BLAS environment (left as found, same for every side):", tuning)
    for batch, target in ((128, 1.10), (16, 1.25)):
        name = f"mlp{batch}"
        if not wanted(name):
            continue
        data = mlp_data(batch)
        run, call = chainrule_mlp(data)
        sides = {"chainrule run": run, "chainrule callable": call, "numpy": numpy_mlp(data)}
        if torch is not None:
            sides["torch"] = torch_mlp(data)
        med = alternate(sides, samples, inner=5 if batch == 128 else 20)
        rows.append(_row(f"MLP batch {batch} step", med, target))
        rows.append(
            _row(f"MLP batch {batch} step (make_callable)", med, target, "chainrule callable")
        )
    for name, x0, label in (
        ("chain", np.array(0.5), "60-op scalar chain"),
        ("chain1", np.array([0.5]), "60-op shape-(1,) chain"),
    ):
        if not wanted(name):
            continue
        run, call = chainrule_chain(x0)
        sides = {"chainrule run": run, "chainrule callable": call, "numpy": numpy_chain(x0)}
        if torch is not None:
            sides["torch"] = torch_chain(x0)
        med = alternate(sides, samples * 4, inner=50)
        rows.append(_row(f"{label} + gradient", med, 1.5))
        rows.append(_row(f"{label} (make_callable)", med, 1.5, "chainrule callable"))
    if wanted("cnn"):
        _cnn_rows(rows, samples=5 if quick else 15)
    if wanted("memory"):
        data = mlp_data(128)
        run, _ = chainrule_mlp(data)
        cr_peak, np_peak = peak_bytes(run), peak_bytes(numpy_mlp(data))
        ratio = cr_peak / np_peak
        rows.append(
            (
                "MLP batch 128 peak memory",
                _mb(cr_peak),
                _mb(np_peak),
                "n/a",
                f"{ratio:.2f}",
                "≤ 1.20 " + ("met" if ratio <= 1.2 else "MISSED"),
            )
        )
    if wanted("compile"):
        sizes = (2_000, 20_000) if quick else (10_000, 100_000)
        small_n, small_s, small_run = compile_seconds(sizes[0], 1 if quick else 5)
        big_n, big_s, big_run = compile_seconds(sizes[1], 1 if quick else 2)
        rows.append(
            (
                f"plan compile, {small_n}",
                f"{small_s:.3f} s",
                "n/a",
                "n/a",
                "",
                "≤ 0.5 s " + ("met" if small_s <= 0.5 else "MISSED"),
            )
        )
        growth = big_s / small_s
        rows.append(
            (
                f"plan compile, {big_n}",
                f"{big_s:.3f} s",
                "n/a",
                "n/a",
                f"{growth:.1f}× the small one",
                "≤ 12× " + ("met" if growth <= 12 else "MISSED"),
            )
        )
        rows.append(("first run of that plan", f"{big_run:.3f} s", "n/a", "n/a", "", ""))
        if not quick and not ARGS.interpret:  # for reference: the same plan compiled to Python
            limit, chainrule.runtime.plan.COMPILE_LIMIT = (
                chainrule.runtime.plan.COMPILE_LIMIT,
                10**9,
            )
            try:
                forced_n, forced_s, forced_run = compile_seconds(sizes[1], 1)
            finally:
                chainrule.runtime.plan.COMPILE_LIMIT = limit
            rows.append(
                (
                    f"(reference) plan compile, {forced_n}",
                    f"{forced_s:.3f} s",
                    "n/a",
                    "n/a",
                    f"{forced_s / small_s:.1f}× the small one",
                    f"first run {forced_run:.3f} s",
                )
            )
    _print_table(rows)


def _cnn_rows(rows: list[tuple[str, ...]], samples: int) -> None:
    """The Deep MNIST training step of ``cnn_bench.py`` (batch 64): time and peak memory."""
    import cnn_bench

    data = cnn_bench.weights()
    step, by_hand = cnn_bench.chainrule_step(data), cnn_bench.numpy_step(data)
    sides = {"chainrule run": step, "numpy": by_hand}
    if torch is not None:
        sides["torch"] = cnn_bench.torch_step(data)
    med = alternate(sides, samples, inner=1)
    rows.append(_row("CNN batch 64 step (Deep MNIST)", med, 1.15))
    if "torch" in med:
        ratio = med["chainrule run"] / med["torch"]
        target = "≤ 2.00 vs PyTorch " + ("met" if ratio <= 2.0 else "MISSED")
        rows.append(("CNN step, chainrule/PyTorch", "", "", "", f"{ratio:.2f}", target))
    cr_peak, np_peak = peak_bytes(step, runs=2), peak_bytes(by_hand, runs=2)
    ratio = cr_peak / np_peak
    target = "≤ 2.00 " + ("met" if ratio <= 2.0 else "MISSED")
    rows.append(("CNN step peak memory", _mb(cr_peak), _mb(np_peak), "n/a", f"{ratio:.2f}", target))


def _row(label: str, med: dict[str, float], target: float, side: str = "chainrule run"):
    ratio = med[side] / med["numpy"]
    verdict = f"≤ {target:.2f} " + ("met" if ratio <= target else "MISSED")
    torch_time = _us(med["torch"]) if "torch" in med else "n/a"
    return (label, _us(med[side]), _us(med["numpy"]), torch_time, f"{ratio:.2f}", verdict)


def _print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("workload", "chainrule", "NumPy by hand", "PyTorch", "chainrule/NumPy", "target")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
