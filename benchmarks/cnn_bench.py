"""A CNN training step in chainrule, in NumPy written by hand (im2col) and in PyTorch eager.

    .venv/bin/python benchmarks/cnn_bench.py            # about a minute
    .venv/bin/python benchmarks/cnn_bench.py --quick    # fewer samples

The step (the Deep MNIST network): conv 5x5x32 SAME + ReLU + 2x2 max-pool, conv 5x5x64 SAME +
ReLU + 2x2 max-pool, dense 128 ReLU, dense 10; softmax cross-entropy, SGD; a batch of 64
28x28x1 float32 images; one BLAS thread on every side. The sides take turns in a new random
order for every sample; the table shows median milliseconds per step, the ratios to NumPy
and to PyTorch, and the peak memory of one step (tracemalloc, NumPy and chainrule).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads, every side")
    parser.add_argument("--repeats", type=int, default=None, help="timed samples per side")
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    return parser.parse_known_args()[0]  # bench.py imports this module with its own options


ARGS = _parse_args()
from timing import alternate, load_torch, peak_bytes, pin_blas_threads  # noqa: E402

pin_blas_threads(ARGS.threads)

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

import chainrule.compat.v1 as tf  # noqa: E402

torch = load_torch(ARGS.threads, wanted=not ARGS.no_torch)
F = torch.nn.functional if torch is not None else None

BATCH, SIDE, LR = 64, 28, 0.01


def weights(seed: int = 0) -> dict[str, np.ndarray]:
    """The same starting weights and batch for every side (HWIO kernels, NHWC images)."""
    rng = np.random.default_rng(seed)

    def he(*shape: int) -> np.ndarray:
        fan_in = int(np.prod(shape[:-1]))
        return (rng.standard_normal(shape) * np.sqrt(2 / fan_in)).astype(np.float32)

    return {
        "x": rng.standard_normal((BATCH, SIDE, SIDE, 1)).astype(np.float32),
        "y": rng.integers(0, 10, BATCH),
        "K1": he(5, 5, 1, 32),
        "c1": np.zeros(32, np.float32),
        "K2": he(5, 5, 32, 64),
        "c2": np.zeros(64, np.float32),
        "W1": he(7 * 7 * 64, 128),
        "b1": np.zeros(128, np.float32),
        "W2": he(128, 10),
        "b2": np.zeros(10, np.float32),
    }


# -- chainrule -------------------------------------------------------------------------------------
def chainrule_step(data: dict[str, np.ndarray]) -> Callable[[], Any]:
    """The TF1 program: tf.nn ops on variables, minimize, ``session.run([loss, train])``."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None, SIDE, SIDE, 1])
        y = tf.placeholder(tf.int64, [None])
        v = {k: tf.Variable(data[k]) for k in data if k not in ("x", "y")}

        def conv_pool(h: Any, k: str, c: str) -> Any:
            h = tf.nn.relu(tf.nn.conv2d(h, v[k], [1, 1, 1, 1], "SAME") + v[c])
            return tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")

        h = conv_pool(conv_pool(x, "K1", "c1"), "K2", "c2")
        h = tf.nn.relu(tf.matmul(tf.reshape(h, [-1, 7 * 7 * 64]), v["W1"]) + v["b1"])
        logits = tf.matmul(h, v["W2"]) + v["b2"]
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        )
        train = tf.train.GradientDescentOptimizer(LR).minimize(loss)
        session = tf.Session(graph=graph)
        session.run(tf.global_variables_initializer())
    feed = {x: data["x"], y: data["y"]}
    return lambda: session.run([loss, train], feed)


# -- NumPy by hand ---------------------------------------------------------------------------------
def _conv_same(x: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """5x5 SAME convolution, stride 1: the im2col matrix times the kernel."""
    n, h, w, c = x.shape
    xp = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    cols = sliding_window_view(xp, (5, 5), axis=(1, 2)).transpose(0, 1, 2, 4, 5, 3)
    cols = cols.reshape(n * h * w, 25 * c)
    return (cols @ k.reshape(25 * c, -1)).reshape(n, h, w, -1), cols


def _conv_input_grad(dy: np.ndarray, k: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """col2im: each of the 25 taps' share added back into the padded input."""
    n, h, w, c = shape
    taps = (dy.reshape(-1, k.shape[3]) @ k.reshape(-1, k.shape[3]).T).reshape(n, h, w, 5, 5, c)
    dxp = np.zeros((n, h + 4, w + 4, c), np.float32)
    for i in range(5):
        for j in range(5):
            dxp[:, i : i + h, j : j + w] += taps[:, :, :, i, j]
    return dxp[:, 2:-2, 2:-2]


def _pool(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, h, w, c = x.shape
    blocks = x.reshape(n, h // 2, 2, w // 2, 2, c)
    y = blocks.max(axis=(2, 4))
    return y, blocks == y[:, :, None, :, None]


def numpy_step(data: dict[str, np.ndarray]) -> Callable[[], Any]:
    """Forward, softmax cross-entropy, backward and SGD written out with im2col."""
    p = {k: data[k].copy() for k in data if k not in ("x", "y")}
    x, labels = data["x"], data["y"]

    def step() -> float:
        a1, cols1 = _conv_same(x, p["K1"])
        a1 += p["c1"]
        np.maximum(a1, 0, out=a1)
        h1, mask1 = _pool(a1)
        a2, cols2 = _conv_same(h1, p["K2"])
        a2 += p["c2"]
        np.maximum(a2, 0, out=a2)
        h2, mask2 = _pool(a2)
        flat = h2.reshape(BATCH, -1)
        z = flat @ p["W1"]
        z += p["b1"]
        np.maximum(z, 0, out=z)
        logits = z @ p["W2"]
        logits += p["b2"]
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        probs = e / e.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(probs[np.arange(BATCH), labels]))
        dlogits = probs
        dlogits[np.arange(BATCH), labels] -= 1
        dlogits /= BATCH
        dW2, db2 = z.T @ dlogits, dlogits.sum(axis=0)
        dz = dlogits @ p["W2"].T
        dz *= z > 0
        dW1, db1 = flat.T @ dz, dz.sum(axis=0)
        dh2 = (dz @ p["W1"].T).reshape(h2.shape)
        da2 = (mask2 * dh2[:, :, None, :, None]).reshape(a2.shape)
        da2 *= a2 > 0
        dK2 = (cols2.T @ da2.reshape(-1, 64)).reshape(p["K2"].shape)
        dc2 = da2.sum(axis=(0, 1, 2))
        dh1 = _conv_input_grad(da2, p["K2"], h1.shape)
        da1 = (mask1 * dh1[:, :, None, :, None]).reshape(a1.shape)
        da1 *= a1 > 0
        dK1 = (cols1.T @ da1.reshape(-1, 32)).reshape(p["K1"].shape)
        dc1 = da1.sum(axis=(0, 1, 2))
        grads = {"K1": dK1, "c1": dc1, "K2": dK2, "c2": dc2}
        grads.update({"W1": dW1, "b1": db1, "W2": dW2, "b2": db2})
        for k, g in grads.items():
            p[k] -= LR * g
        return float(loss)

    return step


# -- PyTorch eager ---------------------------------------------------------------------------------
def torch_step(data: dict[str, np.ndarray]) -> Callable[[], Any]:
    """Eager autograd in NCHW, PyTorch's own layout."""
    p = {k: torch.tensor(data[k]) for k in data if k not in ("x", "y")}
    p["K1"] = p["K1"].permute(3, 2, 0, 1).contiguous()
    p["K2"] = p["K2"].permute(3, 2, 0, 1).contiguous()
    for t in p.values():
        t.requires_grad_()
    x = torch.tensor(data["x"]).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor(data["y"])

    def step() -> float:
        h = F.max_pool2d(F.relu(F.conv2d(x, p["K1"], p["c1"], padding=2)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, p["K2"], p["c2"], padding=2)), 2)
        h = F.relu(h.permute(0, 2, 3, 1).reshape(BATCH, -1) @ p["W1"] + p["b1"])
        loss = F.cross_entropy(h @ p["W2"] + p["b2"], labels)
        loss.backward()
        with torch.no_grad():
            for t in p.values():
                t -= LR * t.grad
                t.grad = None
        return float(loss.detach())

    return step


# -- timing ----------------------------------------------------------------------------------------
def main() -> None:
    samples = ARGS.repeats or (7 if ARGS.quick else 25)
    data = weights()
    sides = {"chainrule": chainrule_step(data), "numpy": numpy_step(data)}
    if torch is not None:
        sides["torch"] = torch_step(data)
    losses = {name: float(np.ravel(fn())[0]) for name, fn in weights_fresh(data).items()}
    print(f"first-step losses (same weights): {losses}")
    med = alternate(sides, samples)
    memory = {name: peak_bytes(sides[name]) for name in ("chainrule", "numpy")}
    print(f"CNN training step, batch {BATCH}, {ARGS.threads} BLAS thread(s), {samples} samples")
    print("| side | median ms/step | vs NumPy | vs PyTorch | peak memory |")
    print("|---|---|---|---|---|")
    for name, seconds in med.items():
        vs_torch = f"{seconds / med['torch']:.2f}" if "torch" in med else "n/a"
        peak = f"{memory[name] / 2**20:.1f} MiB" if name in memory else "n/a"
        print(
            f"| {name} | {seconds * 1e3:.1f} | {seconds / med['numpy']:.2f} | {vs_torch} | {peak} |"
        )


def weights_fresh(data: dict[str, np.ndarray]) -> dict[str, Callable[[], Any]]:
    """A first step on each side from the same weights: their losses must agree."""
    fresh = {"chainrule": chainrule_step(data), "numpy": numpy_step(data)}
    if torch is not None:
        fresh["torch"] = torch_step(data)
    return fresh


if __name__ == "__main__":
    main()
