"""An LSTM training step in chainrule (``dynamic_rnn``'s loop and a Python-unrolled graph), in
NumPy written by hand and in PyTorch eager.

    .venv/bin/python benchmarks/lstm_bench.py            # a few seconds
    .venv/bin/python benchmarks/lstm_bench.py --quick    # fewer samples

The step: sequences of 20 steps, batch 32, input width 32, a ``BasicLSTMCell`` of 128 units
(TF1's gate order and forget bias 1.0), a dense readout of the last output to 10 classes,
softmax cross-entropy, SGD; one BLAS thread on every side. All sides start from the same
weights (PyTorch's ``nn.LSTM`` gets them mapped to its gate order) and must agree on the first
step's loss. The sides take turns in a new random order for every sample; the table shows
median milliseconds per step and the ratios to hand-written NumPy and to PyTorch.
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
    return parser.parse_known_args()[0]


ARGS = _parse_args()
from timing import alternate, load_torch, pin_blas_threads  # noqa: E402

pin_blas_threads(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

import chainrule.compat.v1 as tf  # noqa: E402

torch = load_torch(ARGS.threads, wanted=not ARGS.no_torch)

STEPS, BATCH, WIDTH, UNITS, CLASSES, LR = 20, 32, 32, 128, 10, 0.05
FORGET_BIAS = 1.0


def problem(seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs, labels and the starting weights (TF1 layout: kernel rows are [x; h], gate
    columns i, j, f, o)."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((BATCH, STEPS, WIDTH)).astype(np.float32),
        "y": np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, BATCH)],
        "kernel": (rng.standard_normal((WIDTH + UNITS, 4 * UNITS)) * 0.08).astype(np.float32),
        "bias": np.zeros(4 * UNITS, np.float32),
        "w_out": (rng.standard_normal((UNITS, CLASSES)) * 0.1).astype(np.float32),
        "b_out": np.zeros(CLASSES, np.float32),
    }


def chainrule_step(data: dict[str, np.ndarray], unrolled: bool) -> Callable[[], Any]:
    """``dynamic_rnn`` (a ``while_loop``) or ``static_rnn`` (one graph node per step)."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [BATCH, STEPS, WIDTH])
        y = tf.placeholder(tf.float32, [BATCH, CLASSES])
        cell = tf.nn.rnn_cell.BasicLSTMCell(UNITS, forget_bias=FORGET_BIAS)
        if unrolled:
            outputs, _ = tf.nn.static_rnn(cell, tf.unstack(x, axis=1), dtype=tf.float32)
            last = outputs[-1]
        else:
            outputs, _ = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
            last = outputs[:, -1, :]
        w_out = tf.Variable(data["w_out"])
        b_out = tf.Variable(data["b_out"])
        logits = tf.matmul(last, w_out) + b_out
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
        train = tf.train.GradientDescentOptimizer(LR).minimize(loss)
        session = tf.Session(graph=graph)
        session.run(tf.global_variables_initializer())
        kernel, bias = (v for v in tf.trainable_variables() if v.op.name.startswith("rnn/"))
        session.run([tf.assign(kernel, data["kernel"]), tf.assign(bias, data["bias"])])
    step = session.make_callable([loss, train], [x, y])
    return lambda: step(data["x"], data["y"])[0]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * z) + 1.0)


def numpy_step(data: dict[str, np.ndarray]) -> Callable[[], Any]:
    """Forward through time keeping each step's gates, backward through time, SGD."""
    w = {k: data[k].copy() for k in ("kernel", "bias", "w_out", "b_out")}
    x, y, n = data["x"], data["y"], UNITS

    def step() -> float:
        h = np.zeros((BATCH, n), np.float32)
        c = np.zeros((BATCH, n), np.float32)
        saved = []
        for t in range(STEPS):
            xh = np.concatenate([x[:, t], h], axis=1)
            z = xh @ w["kernel"] + w["bias"]
            i, j, f, o = (z[:, k * n : (k + 1) * n] for k in range(4))
            si, tj, sf, so = _sigmoid(i), np.tanh(j), _sigmoid(f + FORGET_BIAS), _sigmoid(o)
            c_prev = c
            c = c_prev * sf + si * tj
            tc = np.tanh(c)
            h = tc * so
            saved.append((xh, c_prev, si, tj, sf, so, tc))
        logits = h @ w["w_out"] + w["b_out"]
        shifted = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        p /= p.sum(axis=1, keepdims=True)
        loss = float(np.mean(-np.sum(y * np.log(p), axis=1)))
        dlogits = (p - y) / BATCH
        d_w_out, d_b_out = h.T @ dlogits, dlogits.sum(axis=0)
        dh = dlogits @ w["w_out"].T
        dc = np.zeros_like(dh)
        d_kernel = np.zeros_like(w["kernel"])
        d_bias = np.zeros_like(w["bias"])
        for xh, c_prev, si, tj, sf, so, tc in reversed(saved):
            do = dh * tc
            dc = dc + dh * so * (1.0 - tc * tc)
            dz = np.concatenate(
                [
                    dc * tj * si * (1.0 - si),
                    dc * si * (1.0 - tj * tj),
                    dc * c_prev * sf * (1.0 - sf),
                    do * so * (1.0 - so),
                ],
                axis=1,
            )
            d_kernel += xh.T @ dz
            d_bias += dz.sum(axis=0)
            dxh = dz @ w["kernel"].T
            dh = dxh[:, WIDTH:]
            dc = dc * sf
        w["kernel"] -= LR * d_kernel
        w["bias"] -= LR * d_bias
        w["w_out"] -= LR * d_w_out
        w["b_out"] -= LR * d_b_out
        return loss

    return step


def torch_step(data: dict[str, np.ndarray]) -> Callable[[], Any]:
    """``nn.LSTM`` with the TF1 weights mapped to PyTorch's gate order (i, f, g, o)."""
    lstm = torch.nn.LSTM(WIDTH, UNITS, batch_first=True)
    readout = torch.nn.Linear(UNITS, CLASSES)
    n = UNITS
    blocks = [data["kernel"][:, k * n : (k + 1) * n] for k in range(4)]  # i, j, f, o
    biases = [data["bias"][k * n : (k + 1) * n] for k in range(4)]
    order = (0, 2, 1, 3)  # PyTorch: i, f, g (TF1's j), o
    kernel = np.concatenate([blocks[k] for k in order], axis=1)
    bias = np.concatenate([biases[k] + (FORGET_BIAS if k == 2 else 0.0) for k in order])
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.from_numpy(kernel[:WIDTH].T.copy()))
        lstm.weight_hh_l0.copy_(torch.from_numpy(kernel[WIDTH:].T.copy()))
        lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
        lstm.bias_hh_l0.zero_()
        readout.weight.copy_(torch.from_numpy(data["w_out"].T.copy()))
        readout.bias.copy_(torch.from_numpy(data["b_out"]))
    params = list(lstm.parameters()) + list(readout.parameters())
    x = torch.from_numpy(data["x"])
    labels = torch.from_numpy(data["y"].argmax(axis=1))

    def step() -> float:
        out, _ = lstm(x)
        loss = torch.nn.functional.cross_entropy(readout(out[:, -1]), labels)
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
        return float(loss)

    return step


def first_losses(data: dict[str, np.ndarray]) -> dict[str, float]:
    """The first step's loss on every side, from the same weights: they must agree."""
    fresh = {
        "chainrule dynamic_rnn": chainrule_step(data, unrolled=False),
        "chainrule unrolled": chainrule_step(data, unrolled=True),
        "numpy": numpy_step(data),
    }
    if torch is not None:
        fresh["torch"] = torch_step(data)
    return {name: round(float(np.ravel(fn())[0]), 5) for name, fn in fresh.items()}


def main() -> None:
    samples = ARGS.repeats or (5 if ARGS.quick else 20)
    data = problem()
    print(f"first-step losses (same weights): {first_losses(data)}")
    sides = {
        "chainrule dynamic_rnn": chainrule_step(data, unrolled=False),
        "chainrule unrolled": chainrule_step(data, unrolled=True),
        "numpy": numpy_step(data),
    }
    if torch is not None:
        sides["torch"] = torch_step(data)
    med = alternate(sides, samples)
    print(
        f"LSTM training step: T={STEPS}, batch {BATCH}, width {WIDTH}, {UNITS} units, "
        f"{ARGS.threads} BLAS thread(s), {samples} samples"
    )
    print("| side | median ms/step | vs NumPy | vs PyTorch |")
    print("|---|---|---|---|")
    for name, seconds in med.items():
        vs_torch = f"{seconds / med['torch']:.2f}" if "torch" in med else "n/a"
        print(f"| {name} | {seconds * 1e3:.1f} | {seconds / med['numpy']:.2f} | {vs_torch} |")


if __name__ == "__main__":
    main()
