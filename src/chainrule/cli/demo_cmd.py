"""``chainrule demo``: train the perceptron and multi-layer perceptron of the "Deep Learning From
Scratch" tutorial series, and draw what they learnt.

Both networks are built exactly as the series writes them (placeholders, Variables from
``np.random.randn``, softmax, the cross-entropy summed over the points,
``GradientDescentOptimizer``) on its point clouds, with its random streams, so the numbers match
the tutorial's.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import data
from chainrule.errors import ChainruleError

from . import output_folder
from .progress import progress_bar

DEFAULT_OUT = "chainrule-demo"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="train the perceptron and MLP of 'Deep Learning From Scratch' and draw them",
        description=(
            "Train the perceptron (two Gaussian clouds) and the multi-layer perceptron "
            "(four XOR-like clusters) of the 'Deep Learning From Scratch' tutorial series with "
            "gradient descent, print the falling loss (summed over the points, as the tutorial "
            "computes it) and the accuracy, and write decision boundaries, loss curves and the "
            "graph as pictures."
        ),
    )
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help=f"folder for the pictures (default: ./{DEFAULT_OUT})"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the folder the pictures went to"
    )
    parser.set_defaults(run=run)


@dataclass
class Network:
    """A classifier as the tutorial builds it: its graph, input placeholders, output, loss and train op."""

    name: str
    title: str
    graph: cr.Graph
    X: cr.Node
    c: cr.Node
    p: cr.Node
    J: cr.Node
    minimization_op: cr.Node
    session: cr.Session = field(init=False)

    def __post_init__(self) -> None:
        self.session = cr.Session(graph=self.graph)

    def predict(self, points: np.ndarray) -> np.ndarray:
        """Class probabilities for many points in one run (used for the boundary grid)."""
        return self.session.run(self.p, {self.X: points})


def build_perceptron(rng: np.random.RandomState) -> Network:
    """Tutorial part IV: ``softmax(X W + b)`` with the summed cross-entropy, learning rate 0.01."""
    graph = cr.Graph()
    with graph.as_default():
        X = cr.placeholder()
        c = cr.placeholder()
        W = cr.Variable(rng.randn(2, 2), name="W")
        b = cr.Variable(rng.randn(2), name="b")
        p = cr.softmax(cr.add(cr.matmul(X, W), b))
        J = cr.negative(cr.reduce_sum(cr.reduce_sum(cr.multiply(c, cr.log(p)), axis=1)))
        minimization_op = cr.GradientDescentOptimizer(learning_rate=0.01).minimize(J)
    return Network("perceptron", "Perceptron", graph, X, c, p, J, minimization_op)


def build_mlp(rng: np.random.RandomState) -> Network:
    """Tutorial part V: a sigmoid hidden layer of two units under the softmax, learning rate 0.03."""
    graph = cr.Graph()
    with graph.as_default():
        X = cr.placeholder()
        c = cr.placeholder()
        W_hidden = cr.Variable(rng.randn(2, 2), name="W_hidden")
        b_hidden = cr.Variable(rng.randn(2), name="b_hidden")
        p_hidden = cr.sigmoid(cr.add(cr.matmul(X, W_hidden), b_hidden))
        W_output = cr.Variable(rng.randn(2, 2), name="W_output")
        b_output = cr.Variable(rng.randn(2), name="b_output")
        p = cr.softmax(cr.add(cr.matmul(p_hidden, W_output), b_output))
        J = cr.negative(cr.reduce_sum(cr.reduce_sum(cr.multiply(c, cr.log(p)), axis=1)))
        minimization_op = cr.GradientDescentOptimizer(learning_rate=0.03).minimize(J)
    return Network("mlp", "Multi-layer perceptron", graph, X, c, p, J, minimization_op)


def train(network: Network, feed: dict, steps: int, report_every: int, quiet: bool) -> list[float]:
    """Run ``steps`` gradient-descent steps; the bar shows the loss, a line every few steps."""
    losses: list[float] = []
    bar = progress_bar("chainrule demo", quiet, range(steps), desc=network.title)
    for step in bar:
        J_value, _ = network.session.run([network.J, network.minimization_op], feed)
        losses.append(float(J_value))
        bar.set_postfix(loss=f"{J_value:.4f}", refresh=False)
        if not quiet and step % report_every == 0:
            bar.write(f"  step {step:4d}  loss {J_value:10.4f}", file=sys.stdout)
    bar.close()
    losses.append(float(network.session.run(network.J, feed)))
    return losses


def accuracy(network: Network, X: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(network.predict(X).argmax(axis=1) == labels))


def graph_picture(network: Network, feed: dict, path: Path) -> tuple[Path | None, str]:
    """Draw the trained network's graph with every value and gradient (through Graphviz).

    Returns ``(None, why)`` when the picture cannot be drawn (no Graphviz, no graph tool).
    """
    trained = {**feed, **network.session.variable_values()}
    try:
        dot = importlib.import_module("chainrule.dot")
        written = dot.render(network.J, path, "png", feed=trained)
    except (ImportError, AttributeError, ChainruleError, RuntimeError, OSError) as err:
        return None, f"{type(err).__name__}: {err}".splitlines()[0]
    written = Path(written) if isinstance(written, str | Path) else path
    return (written, "") if written.is_file() else (None, f"no file at {written}")


def run_network(
    network: Network,
    X: np.ndarray,
    labels: np.ndarray,
    steps: int,
    report_every: int,
    out: Path,
    quiet: bool,
    draw_graph: bool = False,
) -> list[Path]:
    """Train one network, report it and draw its loss curve, decision boundary (and graph)."""
    from chainrule import plots

    if not quiet:
        print(
            f"{network.title}: {steps} steps of gradient descent on {len(X)} points "
            f"(the loss is summed over the points)"
        )
    feed = {network.X: X, network.c: data.one_hot(labels, 2)}
    with network.session:
        losses = train(network, feed, steps, report_every, quiet)
        final_accuracy = accuracy(network, X, labels)
        if not quiet:
            print(
                f"  final loss {losses[-1]:.4f} (summed over {len(X)} points, "
                f"{losses[-1] / len(X):.4f} per point), accuracy {final_accuracy:.1%}"
            )
        pictures = []
        if draw_graph:
            picture, why = graph_picture(network, feed, out / f"{network.name}_graph.png")
            if picture is not None:
                pictures.append(picture)
            elif not quiet:
                print(f"  (graph picture skipped: {why})")
        return pictures + [
            plots.loss_curve(
                losses, out / f"{network.name}_loss.png", title=f"{network.title}: loss"
            ),
            plots.decision_boundary(
                network.predict,
                X,
                labels,
                out / f"{network.name}_boundary.png",
                title=network.title,
            ),
        ]


def run(args: argparse.Namespace) -> int:
    out = output_folder(args.out)
    quiet = bool(args.quiet)

    rng = np.random.RandomState(0)
    X, labels = data.blob_clouds(seed=rng)
    perceptron = build_perceptron(rng)
    written = run_network(perceptron, X, labels, 100, 10, out, quiet, draw_graph=True)

    rng = np.random.RandomState(1)
    X, labels = data.xor_clouds(seed=rng)
    written += run_network(build_mlp(rng), X, labels, 1000, 100, out, quiet)

    if not quiet:
        for path in written:
            print(f"  {path.name}")
    print(f"wrote {len(written)} pictures to {out}")
    return 0
