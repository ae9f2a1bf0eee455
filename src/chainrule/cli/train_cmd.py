"""``chainrule train digits``: a multi-layer perceptron or a small CNN on handwritten digits.

A 64-64-10 ReLU network (784-… for MNIST), or with ``--model cnn`` a conv-pool-conv-pool-dense
network on the images as squares (NHWC), with softmax cross-entropy, trained in mini-batches
on a seeded train/test split. Every epoch prints the loss and the test accuracy and writes a
checkpoint; ``--resume`` continues from the latest one (the epoch count is a variable saved
with the weights). The loss curve is written as a PNG; ``--logdir`` also writes TensorBoard
files: the graph, and per epoch the loss, the accuracy and histograms of weights and gradients.
Under ``mpirun``, ``--distributed`` splits each batch across the ranks (docs/distributed.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import data
from chainrule.errors import ChainruleError

from . import output_folder
from .progress import progress_bar

CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_PREFIX = "model"
HISTORY_FILE = "history.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a multi-layer perceptron or a small CNN on handwritten digits",
        description=(
            "Train a ReLU multi-layer perceptron (or, with --model cnn, a small convolutional "
            "network) on handwritten digits (scikit-learn's 8x8 "
            "digits, or MNIST from IDX files you have), printing the loss and test accuracy "
            "each epoch, checkpointing each epoch and drawing the loss curve."
        ),
    )
    parser.add_argument("dataset", choices=["digits", "mnist"], help="what to train on")
    parser.add_argument("--data", help="folder with the MNIST IDX files (for 'mnist')")
    parser.add_argument(
        "--epochs", type=_positive, default=None, help="epochs in all (20; 40 for --model cnn)"
    )
    parser.add_argument("--batch-size", type=_positive, default=32, help="batch size (32)")
    parser.add_argument(
        "--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="optimizer (adam)"
    )
    parser.add_argument(
        "--lr",
        type=_learning_rate,
        default=None,
        help="learning rate, a positive number (default: the optimizer's own)",
    )
    parser.add_argument(
        "--model",
        choices=MODELS,
        default="mlp",
        help="mlp: one ReLU hidden layer; cnn: conv-pool-conv-pool-dense on the images (mlp)",
    )
    parser.add_argument(
        "--hidden", type=_positive, default=64, help="hidden units (of the dense layer) (64)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of split, weights, shuffling")
    parser.add_argument("--out", default=None, help="output folder (./chainrule-train-DATASET)")
    parser.add_argument(
        "--resume", action="store_true", help="continue from the latest checkpoint in --out"
    )
    parser.add_argument(
        "--logdir",
        default=None,
        help="also write TensorBoard files here (view them with: tensorboard --logdir DIR)",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="watch training live in the browser: loss, gradient norms, activations",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="split each batch across the processes of an MPI job "
        "(mpirun -n 2 chainrule train digits --distributed); rank 0 prints and writes",
    )
    parser.set_defaults(run=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _learning_rate(text: str) -> float:
    """A finite, positive learning rate: nan, inf, 0 or a negative rate cannot train a network."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"must be a positive number such as 0.001, got {text}: gradient descent steps "
            "against the gradient by this much, so it must be above 0 and finite"
        )
    return value


@dataclass
class Model:
    """The network's graph and the nodes the training loop runs."""

    graph: cr.Graph
    images: cr.Node
    targets: cr.Node
    logits: cr.Node
    loss: cr.Node
    train_op: cr.Node
    epoch: cr.Variable
    next_epoch: cr.Node
    optimizer: str


#: the networks ``--model`` chooses from
MODELS = ("mlp", "cnn")

OPTIMIZERS = {
    # name: (what it builds, its default learning rate: TF1's for Adam, usual ones otherwise)
    "adam": (lambda lr: cr.train.AdamOptimizer(learning_rate=lr), 0.001),
    "momentum": (lambda lr: cr.train.MomentumOptimizer(lr, momentum=0.9), 0.05),
    "sgd": (lambda lr: cr.train.GradientDescentOptimizer(lr), 0.1),
}


def _dense(x: cr.Node, n_in: int, n_out: int, rng: np.random.Generator, name: str) -> cr.Node:
    """``x @ W + b`` with He-initialised float32 weights drawn from ``rng``."""
    with cr.name_scope(name):
        W = cr.Variable(
            (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(np.float32),
            name="W",
        )
        b = cr.Variable(np.zeros(n_out, np.float32), name="b")
        return cr.matmul(x, W) + b


def _mlp_logits(images: cr.Node, n_hidden: int, n_classes: int, seed: int) -> cr.Node:
    """One ReLU hidden layer of ``n_hidden`` units, He-initialised from ``seed``."""
    rng = np.random.default_rng(seed)
    n_inputs = int(images.shape[1])
    hidden = cr.nn.relu(_dense(images, n_inputs, n_hidden, rng, "hidden"))
    return _dense(hidden, n_hidden, n_classes, rng, "output")


def image_side(n_inputs: int) -> int:
    """The side of the square images whose pixels are the ``n_inputs`` columns."""
    side = math.isqrt(n_inputs)
    if side * side != n_inputs:
        raise cr.errors.InvalidArgumentError(
            f"--model cnn needs square images, and {n_inputs} pixels are not a square"
        )
    return side


def _cnn_logits(images: cr.Node, n_hidden: int, n_classes: int, seed: int) -> cr.Node:
    """conv 3x3 (32) + ReLU + 2x2 max-pool, conv 3x3 (64) + ReLU + 2x2 max-pool, a dense ReLU
    layer of ``n_hidden`` units and the logits, on the images as (batch, side, side, 1)."""
    cr.set_random_seed(seed)
    side = image_side(int(images.shape[1]))
    h = cr.reshape(images, [-1, side, side, 1], name="squares")
    for filters in (32, 64):
        h = cr.layers.conv2d(h, filters, 3, padding="same", activation=cr.nn.relu)
        h = cr.layers.max_pooling2d(h, 2, 2, padding="same")
    h = cr.layers.dense(cr.layers.flatten(h), n_hidden, activation=cr.nn.relu, name="hidden")
    return cr.layers.dense(h, n_classes, name="output")


def build_model(
    n_inputs: int,
    n_hidden: int,
    n_classes: int,
    optimizer: str = "adam",
    lr: float | None = None,
    seed: int = 0,
    distributed: bool = False,
    model: str = "mlp",
) -> Model:
    """The ``model`` network (see ``MODELS``) and softmax cross-entropy on its logits, weights
    drawn from ``seed``."""
    graph = cr.Graph()
    with graph.as_default():
        images = cr.placeholder(cr.float32, shape=[None, n_inputs], name="images")
        targets = cr.placeholder(cr.float32, shape=[None, n_classes], name="targets")
        network = _cnn_logits if model == "cnn" else _mlp_logits
        logits = network(images, n_hidden, n_classes, seed)
        loss = cr.reduce_mean(
            cr.nn.softmax_cross_entropy_with_logits_v2(labels=targets, logits=logits)
        )
        global_step = cr.Variable(0, dtype=cr.int64, trainable=False, name="global_step")
        epoch = cr.Variable(0, dtype=cr.int64, trainable=False, name="epoch")
        make_optimizer, default_lr = OPTIMIZERS[optimizer]
        lr = default_lr if lr is None else lr
        optimizer_op = make_optimizer(lr)
        if distributed:
            from chainrule.distributed import DistributedOptimizer

            optimizer_op = DistributedOptimizer(optimizer_op)
        train_op = optimizer_op.minimize(loss, global_step=global_step)
        next_epoch = cr.assign_add(epoch, 1)
    description = f"{optimizer} (learning rate {lr})"
    return Model(graph, images, targets, logits, loss, train_op, epoch, next_epoch, description)


@dataclass
class Summaries:
    """What ``--logdir`` writes each epoch: loss, test accuracy, weights and their gradients."""

    merged: cr.Node
    epoch_loss: cr.Node
    test_accuracy: cr.Node


def build_summaries(model: Model) -> Summaries:
    """Scalars of the epoch's loss and accuracy (fed in) and histograms of every weight and of
    its gradient on the training set, merged into one summary op."""
    with model.graph.as_default():
        epoch_loss = cr.placeholder(cr.float32, shape=[], name="epoch_loss")
        test_accuracy = cr.placeholder(cr.float32, shape=[], name="test_accuracy")
        cr.summary.scalar("loss", epoch_loss)
        cr.summary.scalar("accuracy", test_accuracy)
        weights = cr.trainable_variables()
        for weight, gradient in zip(weights, cr.gradients(model.loss, weights), strict=True):
            cr.summary.histogram(f"weights/{weight.op.name}", weight)
            cr.summary.histogram(f"gradients/{weight.op.name}", gradient)
        return Summaries(cr.summary.merge_all(), epoch_loss, test_accuracy)


def write_summaries(
    session: cr.Session,
    model: Model,
    summaries: Summaries,
    writer: Any,
    epoch: int,
    values: dict[str, Any],
) -> None:
    """Record the epoch's loss and accuracy, and the weights and gradients at its end."""
    feeds = {
        summaries.epoch_loss: values["loss"],
        summaries.test_accuracy: values["accuracy"],
        model.images: values["images"],
        model.targets: values["targets"],
    }
    writer.add_summary(session.run(summaries.merged, feeds), global_step=epoch)


def load_dataset(args: argparse.Namespace) -> tuple[np.ndarray, ...]:
    """``X_train, X_test, y_train, y_test`` for the chosen data set."""
    if args.dataset == "digits":
        X, y = data.load_digits()
        return data.train_test_split(X, y, test_size=0.2, seed=args.seed)
    if not args.data:
        raise cr.errors.InvalidArgumentError("'mnist' needs --data DIR with the IDX files")
    X_train, y_train = data.load_mnist(args.data, "train")
    X_test, y_test = data.load_mnist(args.data, "test")
    return X_train, X_test, y_train, y_test


class History:
    """Per-epoch losses and accuracies, kept next to the checkpoints for the loss curve."""

    def __init__(self, path: Path, resume_epoch: int):
        self.path = path
        self.epochs: list[dict[str, Any]] = []
        if resume_epoch and path.is_file():
            try:
                stored = json.loads(path.read_text())["epochs"]
            except (ValueError, KeyError, TypeError):
                stored = []
            self.epochs = [
                e for e in stored if isinstance(e, dict) and e.get("epoch", 0) <= resume_epoch
            ]

    def add(self, epoch: int, step_losses: list[float], test_accuracy: float) -> None:
        self.epochs.append(
            {
                "epoch": epoch,
                "loss": float(np.mean(step_losses)),
                "test_accuracy": test_accuracy,
                "step_losses": step_losses,
            }
        )
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"epochs": self.epochs}))
        os.replace(temporary, self.path)

    def step_losses(self) -> list[float]:
        return [loss for e in self.epochs for loss in e["step_losses"]]


def _test_accuracy(session: cr.Session, model: Model, X: np.ndarray, y: np.ndarray) -> float:
    logits = session.run(model.logits, {model.images: X})
    return float(np.mean(np.argmax(logits, axis=1) == y))


def train_epoch(
    session: cr.Session,
    model: Model,
    X: np.ndarray,
    targets: np.ndarray,
    batch_size: int,
    seed: list[int],
    progress: Any,
    after_step: Callable[[], None] | None = None,
    ranks: tuple[int, int] = (0, 1),
) -> list[float]:
    """One pass over the shuffled training set; the loss of every batch (of this rank's
    share of every batch, for ``ranks`` = (rank, size) of an MPI job)."""
    step = session.make_callable([model.loss, model.train_op], [model.images, model.targets])
    losses = []
    rank, size = ranks
    for X_batch, t_batch in data.batches(X, targets, batch_size, seed=seed):
        if len(X_batch) < size:  # a last batch too small to give every rank an example
            continue
        loss_value, _ = step(X_batch[rank::size], t_batch[rank::size])
        losses.append(float(loss_value))
        progress.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
        progress.update(1)
        if after_step is not None:
            after_step()
    return losses


#: ``--watch`` measures the network every this many steps
WATCH_EVERY = 10
#: ... on this many training images
WATCH_IMAGES = 256


def _watcher(session: cr.Session, model: Model, X: np.ndarray, targets: np.ndarray) -> Any:
    """The live page of ``--watch`` and the step hook that feeds it."""
    from chainrule.web.watch import watch

    watcher = watch(session, model.loss)
    feed = {model.images: X[:WATCH_IMAGES], model.targets: targets[:WATCH_IMAGES]}
    steps = [0]

    def after_step() -> None:
        steps[0] += 1
        if steps[0] % WATCH_EVERY == 1:
            watcher.update(feed, step=steps[0])

    return watcher, after_step


def resume(session: cr.Session, saver: Any, model: Model, checkpoints: Path) -> int:
    """Restore the latest checkpoint, if any; the number of epochs it had trained."""
    latest = cr.train.latest_checkpoint(str(checkpoints))
    if latest is None:
        print(f"no checkpoint in {checkpoints}; starting from scratch")
        return 0
    saver.restore(session, latest)
    epoch = int(session.run(model.epoch))
    print(f"resumed from {latest} at epoch {epoch}")
    return epoch


#: epochs when ``--epochs`` is not given: the CNN needs more to pass 98.5 % on the digits
DEFAULT_EPOCHS = {"mlp": 20, "cnn": 40}


def run(args: argparse.Namespace) -> int:
    if args.epochs is None:
        args.epochs = DEFAULT_EPOCHS[args.model]
    try:
        return _train(args)
    except ChainruleError as err:
        if args.distributed:
            _abort_job(f"error: {err}")
        print(f"error: {err}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            f"error: not enough memory for a network with {args.hidden} hidden units; "
            "choose a smaller --hidden (or --batch-size)",
            file=sys.stderr,
        )
        return 2


#: bytes per weight while training: float64 while drawn, float32 value, gradient, two Adam slots
BYTES_PER_WEIGHT = 8 + 4 * 4


def check_fits_in_memory(n_inputs: int, n_hidden: int, n_classes: int, n_rows: int) -> None:
    """Refuse a network that cannot fit in this machine's memory before allocating any of it."""
    weights = (n_inputs + 1) * n_hidden + (n_hidden + 1) * n_classes
    needed = weights * BYTES_PER_WEIGHT + 2 * 4 * n_rows * n_hidden
    available = _physical_memory()
    if available is not None and needed > available:
        raise cr.errors.InvalidArgumentError(
            f"--hidden {n_hidden} needs about {needed / 1e9:.0f} GB of memory for a "
            f"{n_inputs}-{n_hidden}-{n_classes} network, and this machine has "
            f"{available / 1e9:.0f} GB; choose a smaller --hidden"
        )


def _physical_memory() -> int | None:
    """This machine's memory in bytes, where the system says (``None`` elsewhere)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _join_job() -> Any:
    """Join the MPI job started by mpirun; the ``chainrule.distributed`` module."""
    from chainrule import distributed

    distributed.init()
    return distributed


def _abort_job(message: str) -> None:
    """End every rank of the job (after ``message``), so that none waits for this one."""
    from chainrule import distributed

    if distributed.is_initialized():
        distributed.abort(message, 2)


def _silent(*args: Any, **kwargs: Any) -> None:
    """``print`` for the ranks other than 0, which train without writing."""


def _start_together(session: cr.Session, model: Model, distributed: Any) -> int:
    """Every rank takes rank 0's variables (restored or initialised); the epoch reached."""
    with model.graph.as_default():
        session.run(distributed.broadcast_global_variables(0))
    return int(session.run(model.epoch))


def _train(args: argparse.Namespace) -> int:
    from chainrule import plots

    dist = _join_job() if args.distributed else None
    ranks = (dist.rank(), dist.size()) if dist else (0, 1)
    chief = ranks[0] == 0  # prints, and writes checkpoints, history and pictures
    if args.batch_size < ranks[1]:
        raise cr.errors.InvalidArgumentError(
            f"--batch-size {args.batch_size} cannot be split across {ranks[1]} ranks: "
            "each rank needs at least one example of every batch"
        )
    say = print if chief else _silent
    out = Path(args.out or f"chainrule-train-{args.dataset}").expanduser().resolve()
    checkpoints = out / CHECKPOINT_DIR
    if chief:
        out = output_folder(args.out or f"chainrule-train-{args.dataset}")
        checkpoints = output_folder(out / CHECKPOINT_DIR, "the checkpoints folder")

    X_train, X_test, y_train, y_test = load_dataset(args)
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    if args.model == "mlp":
        check_fits_in_memory(X_train.shape[1], args.hidden, n_classes, len(X_test))
    model = build_model(
        X_train.shape[1],
        args.hidden,
        n_classes,
        args.optimizer,
        args.lr,
        args.seed,
        args.distributed,
        args.model,
    )
    targets = data.one_hot(y_train, n_classes).astype(np.float32)
    summaries = build_summaries(model) if args.logdir else None
    with model.graph.as_default():
        saver = cr.train.Saver(max_to_keep=3)
    say(
        f"{args.dataset}: {len(X_train)} training and {len(X_test)} test images, "
        f"{_describe_network(args.model, X_train.shape[1], args.hidden, n_classes)}, "
        f"{model.optimizer}" + (f", each batch split across {ranks[1]} ranks" if dist else "")
    )

    with (
        cr.Session(graph=model.graph) as session,
        _file_writer(args.logdir if chief else None, model.graph) as writer,
    ):
        start = resume(session, saver, model, checkpoints) if args.resume and chief else 0
        if dist:
            start = _start_together(session, model, dist)
        watcher, after_step = (
            _watcher(session, model, X_train, targets) if args.watch and chief else (None, None)
        )
        history = History(out / HISTORY_FILE, start)
        batches_per_epoch = -(-len(X_train) // args.batch_size)
        accuracy = _test_accuracy(session, model, X_test, y_test)
        for epoch in range(start + 1, args.epochs + 1):
            with progress_bar(
                "chainrule train",
                args.quiet or not chief,
                total=batches_per_epoch,
                desc=f"epoch {epoch}/{args.epochs}",
            ) as progress:
                losses = train_epoch(
                    session,
                    model,
                    X_train,
                    targets,
                    args.batch_size,
                    [args.seed, epoch],
                    progress,
                    after_step,
                    ranks,
                )
            session.run(model.next_epoch)
            accuracy = _test_accuracy(session, model, X_test, y_test)
            if chief:
                path = saver.save(session, str(checkpoints / CHECKPOINT_PREFIX), global_step=epoch)
                history.add(epoch, losses, accuracy)
                if summaries is not None:
                    epoch_values = {"loss": np.mean(losses), "accuracy": accuracy}
                    epoch_values |= {"images": X_train, "targets": targets}
                    write_summaries(session, model, summaries, writer, epoch, epoch_values)
                print(
                    f"epoch {epoch:3d}/{args.epochs}  loss {np.mean(losses):.4f}  "
                    f"test accuracy {accuracy:.4f}  checkpoint {Path(path).name}",
                    flush=True,
                )
            if dist:  # the others wait while rank 0 writes the checkpoint
                dist.barrier()
        if watcher is not None:
            _close_watch(watcher)
    if not chief:
        return 0
    curve = history.step_losses()
    if curve:
        picture = plots.loss_curve(
            curve, out / "loss.png", title=f"{args.dataset}: training loss", xlabel="batch"
        )
        print(f"loss curve: {picture}")
    print(f"test accuracy {accuracy:.4f}")
    print(f"wrote checkpoints to {checkpoints}")
    if args.logdir:
        print(
            f"TensorBoard files in {args.logdir}; see them with: tensorboard --logdir {args.logdir}"
        )
    return 0


def _describe_network(model: str, n_inputs: int, n_hidden: int, n_classes: int) -> str:
    """How the start of a run names the network it trains."""
    if model == "cnn":
        side = image_side(n_inputs)
        return f"conv-pool-conv-pool-{n_hidden}-{n_classes} CNN on {side}x{side} images"
    return f"{n_inputs}-{n_hidden}-{n_classes} ReLU network"


def _close_watch(watcher: Any) -> None:
    """Keep the watch page open until the user is done with it (at a terminal), then stop it."""
    if sys.stdin.isatty():
        with contextlib.suppress(EOFError, KeyboardInterrupt):
            input(f"training done; the watch page stays at {watcher.url}: press Enter to close it ")
    watcher.close()


def _file_writer(logdir: str | None, graph: cr.Graph) -> contextlib.AbstractContextManager[Any]:
    """A ``FileWriter`` holding ``graph`` for ``--logdir``, or nothing without it."""
    if not logdir:
        return contextlib.nullcontext()
    return cr.summary.FileWriter(logdir, graph)
