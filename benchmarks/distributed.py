"""Data-parallel training over MPI: one process against 2 ranks on this machine.

    .venv/bin/python benchmarks/distributed.py            # about a minute
    .venv/bin/python benchmarks/distributed.py --quick    # a smoke check

Workload: the MLP 784-256-128-10 training step of bench.py (ReLU, softmax cross-entropy, SGD,
float32), through ``make_callable``. One process steps on batches of 128; under
``mpirun -n 2`` each rank steps on 64 examples with ``DistributedOptimizer``, fused (one
allreduce of all the gradients packed) and per variable (one allreduce each), and without
any allreduce (to tell the allreduce's share of the step). Also one epoch (60 batches of 128)
each way, and the allreduce of the packed gradients alone. BLAS runs on one thread. See
README.md for the method and the latest results.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy loads its BLAS: the same for both sides

import numpy as np  # noqa: E402

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
sys.path.insert(0, SOURCE)
import chainrule as cr  # noqa: E402

SIZES = (784, 256, 128, 10)
BATCH = 128
EPOCH_BATCHES = 60


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=None, help="timed samples per measure")
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    parser.add_argument("--ranks", action="store_true", help=argparse.SUPPRESS)  # under mpirun
    return parser.parse_args()


def mlp(distributed: bool, fused: bool = True) -> tuple[cr.Graph, Any, Any, Any]:
    """The bench.py MLP and its SGD step; weights from a fixed seed (the same on every rank)."""
    rng = np.random.default_rng(0)
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float32, shape=[None, SIZES[0]])
        y = cr.placeholder(cr.float32, shape=[None, SIZES[-1]])
        h = x
        for i, (n_in, n_out) in enumerate(zip(SIZES, SIZES[1:], strict=False)):
            W = cr.Variable((rng.standard_normal((n_in, n_out)) * 0.05).astype(np.float32))
            b = cr.Variable(np.zeros(n_out, np.float32))
            h = cr.matmul(h, W) + b
            if i < len(SIZES) - 2:
                h = cr.nn.relu(h)
        loss = cr.reduce_mean(cr.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=h))
        optimizer = cr.train.GradientDescentOptimizer(0.01)
        if distributed:
            from chainrule import distributed as dist

            optimizer = dist.DistributedOptimizer(optimizer, fused=fused)
        train = optimizer.minimize(loss)
    return graph, x, y, train


def data(examples: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((examples, SIZES[0])).astype(np.float32)
    Y = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], examples)]
    return X, Y


def stepper(graph: cr.Graph, x: Any, y: Any, train: Any) -> tuple[cr.Session, Callable]:
    session = cr.Session(graph=graph)
    return session, session.make_callable(train, [x, y])


def median_seconds(run: Callable[[], Any], samples: int, inner: int, sync: Callable) -> float:
    """Median over ``samples`` of the seconds per call of ``inner`` calls (after a warm-up);
    ``sync`` starts every rank's sample together and gives the slowest rank's time."""
    for _ in range(3):
        run()
    times = []
    for _ in range(samples):
        sync(0.0)
        started = time.perf_counter()
        for _ in range(inner):
            run()
        times.append(sync((time.perf_counter() - started) / inner))
    return statistics.median(times)


def alone(samples: int) -> dict[str, float]:
    """One process: the batch-128 step and an epoch."""
    graph, x, y, train = mlp(distributed=False)
    _, step = stepper(graph, x, y, train)
    X, Y = data(BATCH * EPOCH_BATCHES)

    def epoch() -> None:
        for i in range(EPOCH_BATCHES):
            step(X[i * BATCH : (i + 1) * BATCH], Y[i * BATCH : (i + 1) * BATCH])

    return {
        "step": median_seconds(lambda: step(X[:BATCH], Y[:BATCH]), samples, 5, lambda t: t),
        "epoch": median_seconds(epoch, max(3, samples // 10), 1, lambda t: t),
    }


def ranks(samples: int) -> dict[str, float]:
    """Under mpirun: each rank's half-batch step, fused, per variable and without allreduce,
    the packed allreduce alone, and an epoch (each rank its half of every batch)."""
    from chainrule import distributed as dist

    job = dist.init()
    MPI, comm = job.MPI, job.comm
    rank, size = job.rank, job.size

    def slowest(seconds: float) -> float:
        return comm.allreduce(seconds, op=MPI.MAX)

    X, Y = data(BATCH * EPOCH_BATCHES)
    Xr, Yr = dist.shard(X[:BATCH], Y[:BATCH])
    found: dict[str, float] = {}
    for name, distributed, fused in [
        ("fused", True, True),
        ("per_variable", True, False),
        ("no_allreduce", False, True),
    ]:
        _, step = stepper(*mlp(distributed, fused))
        found[name] = median_seconds(lambda s=step: s(Xr, Yr), samples, 5, slowest)
        if name == "fused":
            epoch_step = step
    parameters = sum(a * b + b for a, b in zip(SIZES, SIZES[1:], strict=False))
    packed = np.ones(parameters, np.float32)
    found["allreduce"] = median_seconds(
        lambda: job.allreduce(packed, True, "bench"), samples, 5, slowest
    )

    def epoch() -> None:
        for i in range(EPOCH_BATCHES):
            lo = i * BATCH
            epoch_step(X[lo + rank : lo + BATCH : size], Y[lo + rank : lo + BATCH : size])

    found["epoch"] = median_seconds(epoch, max(3, samples // 10), 1, slowest)
    found["parameters"] = parameters
    return found


def launch_ranks(samples: int) -> dict[str, float]:
    """Run ``ranks`` under ``mpirun -n 2`` on loopback; rank 0's results."""
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        sys.exit("mpirun is not installed: run scripts/setup.sh (it installs OpenMPI)")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env["PYTHONPATH"] = os.pathsep.join([SOURCE, env.get("PYTHONPATH", "")])
    command = [mpirun, "-n", "2", "--mca", "btl", "self,vader"]
    command += ["--mca", "oob_tcp_if_include", "lo", "--mca", "mpi_yield_when_idle", "1"]
    command += [sys.executable, os.path.abspath(__file__), "--ranks", "--repeats", str(samples)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"the MPI job failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def report(one: dict[str, float], two: dict[str, float]) -> None:
    speedup = one["step"] / two["fused"]
    share = (two["fused"] - two["no_allreduce"]) / two["fused"]
    rows = [
        ("MLP step, 1 process, batch 128", _us(one["step"])),
        ("MLP step, 2 ranks x 64, fused allreduce", _us(two["fused"])),
        ("MLP step, 2 ranks x 64, one allreduce per variable", _us(two["per_variable"])),
        ("MLP step, 2 ranks x 64, no allreduce (local gradients)", _us(two["no_allreduce"])),
        (
            f"allreduce of the {int(two['parameters']):,} packed gradients alone",
            _us(two["allreduce"]),
        ),
        ("speedup of the step (1 process / 2 ranks)", f"{speedup:.2f}"),
        ("scaling efficiency (speedup / 2)", f"{speedup / 2:.2f}"),
        ("allreduce share of the 2-rank step", f"{share:.0%}"),
        ("per-variable / fused step", f"{two['per_variable'] / two['fused']:.2f}"),
        (f"epoch of {EPOCH_BATCHES} batches of 128, 1 process", f"{one['epoch'] * 1e3:,.1f} ms"),
        (f"epoch of {EPOCH_BATCHES} batches of 128, 2 ranks", f"{two['epoch'] * 1e3:,.1f} ms"),
        ("epoch time, 2 ranks / 1 process", f"{two['epoch'] / one['epoch']:.2f}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure':<{width}} | value |\n|{'-' * (width + 2)}|-------|")
    for label, value in rows:
        print(f"| {label:<{width}} | {value} |")


def main() -> None:
    args = _parse_args()
    samples = args.repeats or (5 if args.quick else 40)
    if args.ranks:
        found = ranks(samples)
        from chainrule import distributed as dist

        if dist.rank() == 0:
            print(json.dumps(found))
        return
    print(f"{os.cpu_count()} CPUs, 1 BLAS thread, NumPy {np.__version__}, {samples} samples")
    before = os.getloadavg()[0]
    two = launch_ranks(samples)
    one = alone(samples)
    report(one, two)
    # other programs running meanwhile take cores the two ranks need at the same moment
    print(f"load average (1 min) {before:.2f} before, {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
