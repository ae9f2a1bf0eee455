"""chainrule.distributed on real MPI jobs: ``mpirun -n 2`` and ``-n 3 --oversubscribe``.

The jobs run this file's own programs (``python tests/test_distributed.py PROGRAM ...``, the
``__main__`` block at the end) on loopback only. The tests share one xdist group, so they
run one after another on one worker, and waiting ranks yield the processor
(``mpi_yield_when_idle``). Without ``mpirun`` or mpi4py they are skipped, saying which.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve()
MPIRUN = shutil.which("mpirun")
STEPS, BATCH = 4, 12  # BATCH divides among 2 and 3 ranks
OPTIMIZERS = ("sgd", "momentum", "adam")

pytestmark = [
    pytest.mark.skipif(
        MPIRUN is None, reason="mpirun is not installed (apt-get install openmpi-bin)"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("mpi4py") is None,
        reason="mpi4py is not installed (pip install 'chainrule[mpi]')",
    ),
    pytest.mark.xdist_group("mpi"),
]


# -- the model both sides train -----------------------------------------------------------------
def build(optimizer: str, seed: int, distributed: bool, fused: bool = True):
    """A tanh layer and a softmax cross-entropy, biases broadcast over the batch, in float64."""
    rng = np.random.default_rng(seed)
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float64, shape=[None, 4], name="x")
        y = cr.placeholder(cr.float64, shape=[None, 3], name="y")
        W1 = cr.Variable(rng.standard_normal((4, 5)), name="W1")
        b1 = cr.Variable(rng.standard_normal(5), name="b1")
        W2 = cr.Variable(rng.standard_normal((5, 3)), name="W2")
        b2 = cr.Variable(rng.standard_normal(3), name="b2")
        logits = cr.matmul(cr.tanh(cr.matmul(x, W1) + b1), W2) + b2
        loss = cr.reduce_mean(cr.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
        opt = {
            "sgd": lambda: cr.train.GradientDescentOptimizer(0.5),
            "momentum": lambda: cr.train.MomentumOptimizer(0.2, momentum=0.9),
            "adam": lambda: cr.train.AdamOptimizer(0.05),
        }[optimizer]()
        if distributed:
            from chainrule import distributed as dist

            opt = dist.DistributedOptimizer(opt, fused=fused)
        train = opt.minimize(loss)
    return graph, x, y, train, [W1, b1, W2, b2]


def batches() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.standard_normal((STEPS, BATCH, 4))
    Y = np.eye(3)[rng.integers(0, 3, (STEPS, BATCH))]
    return X, Y


def train_alone(optimizer: str) -> list[np.ndarray]:
    """One process training on every step's whole batch, from rank 0's starting point."""
    graph, x, y, train, variables = build(optimizer, 100, distributed=False)
    with cr.Session(graph=graph) as session:
        for X, Y in zip(*batches(), strict=True):
            session.run(train, {x: X, y: Y})
        return session.run(variables)


# -- running jobs -------------------------------------------------------------------------------
def mpirun(n: int, *args: str, limit: float = 90) -> tuple[int, str, float]:
    """Run ``args`` on ``n`` ranks on loopback: exit status, output, seconds taken."""
    env = dict(os.environ)
    env |= {
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]),
    }
    command = [MPIRUN, "-n", str(n), "--oversubscribe", "--mca", "mpi_yield_when_idle", "1"]
    command += ["--mca", "btl", "self,vader", "--mca", "oob_tcp_if_include", "lo", *args]
    started = time.monotonic()
    job = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = job.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)
        output, _ = job.communicate()
        pytest.fail(f"the MPI job did not end within {limit} s:\n{output}")
    return job.returncode, output, time.monotonic() - started


def program(n: int, name: str, *args: str, limit: float = 90) -> tuple[int, str, float]:
    """Run this file's program ``name`` on ``n`` ranks."""
    return mpirun(n, sys.executable, str(THIS), name, *args, limit=limit)


@pytest.fixture(scope="module", params=[2, 3], ids=["2ranks", "3ranks"])
def job(request, tmp_path_factory):
    """The 'train' program's results on 2 and 3 ranks (one job each, shared by the tests)."""
    out = tmp_path_factory.mktemp(f"ranks{request.param}")
    status, output, _ = program(request.param, "train", str(out))
    assert status == 0, output
    return request.param, out


def stored(out: Path, rank: int, what: str) -> list[np.ndarray]:
    with np.load(out / f"rank{rank}-{what}.npz") as found:
        return [found[f"arr_{i}"] for i in range(len(found.files))]


# -- training -----------------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_k_ranks_with_shards_train_as_one_process_on_the_whole_batch(job, optimizer):
    ranks, out = job
    expected = train_alone(optimizer)
    for rank in range(ranks):
        for got, want in zip(stored(out, rank, optimizer), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_without_mpirun_a_program_is_a_job_of_one_rank(tmp_path):
    done = subprocess.run(
        [sys.executable, str(THIS), "train", str(tmp_path)],
        env=dict(
            os.environ,
            PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        ),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    for optimizer in OPTIMIZERS:
        for got, want in zip(stored(tmp_path, 0, optimizer), train_alone(optimizer), strict=True):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_every_rank_ends_with_the_same_variables(job):
    ranks, out = job
    for optimizer in OPTIMIZERS:
        first = stored(out, 0, optimizer)
        for rank in range(1, ranks):
            for a, b in zip(first, stored(out, rank, optimizer), strict=True):
                np.testing.assert_array_equal(a, b)


def test_broadcast_gives_every_rank_rank_0s_values_whatever_it_initialised(job):
    ranks, out = job
    graph, *_, variables = build("adam", 100, distributed=False)
    with cr.Session(graph=graph) as session:
        rank0 = session.run(variables)
    for rank in range(ranks):
        own = stored(out, rank, "own-start")
        started = stored(out, rank, "start")
        for value, want in zip(started, rank0, strict=True):
            np.testing.assert_array_equal(value, want)
        if rank:
            assert not np.array_equal(own[0], rank0[0])  # it did start elsewhere


def test_ranks_know_their_place_and_all_run_on_this_machine(job):
    ranks, out = job
    for rank in range(ranks):
        (places,) = stored(out, rank, "places")
        assert places.tolist() == [rank, ranks, rank, ranks]


def test_one_fused_allreduce_per_step(job):
    ranks, out = job
    for rank in range(ranks):
        (collectives,) = stored(out, rank, "collectives-per-step")
        assert collectives.tolist() == [1, 4]  # fused, then one per variable


# -- the collectives' values and gradients ------------------------------------------------------
def test_allreduce_allgather_and_broadcast_and_their_gradients(job):
    ranks, out = job
    c = [np.arange(6.0).reshape(2, 3) * (r + 1) + r for r in range(ranks)]
    w = [
        np.linspace(-1, 1, sum(range(1, ranks + 1)) * 2).reshape(-1, 2) * (r + 2)
        for r in range(ranks)
    ]
    for rank in range(ranks):
        x = _op_input(rank)
        reduced, d_reduced, gathered, d_gathered, cast, d_cast = stored(out, rank, "ops")
        np.testing.assert_allclose(reduced, np.mean([_op_input(r) for r in range(ranks)], 0))
        np.testing.assert_allclose(d_reduced, np.mean(c, 0))
        rows = [np.full((r + 1, 2), float(r)) for r in range(ranks)]
        np.testing.assert_array_equal(gathered, np.concatenate(rows))
        start = sum(range(1, rank + 1))
        np.testing.assert_allclose(d_gathered, np.sum(w, 0)[start : start + rank + 1])
        root = ranks - 1  # the last rank broadcasts
        np.testing.assert_array_equal(cast, _op_input(root))
        np.testing.assert_allclose(d_cast, np.sum(c, 0) if rank == root else np.zeros_like(x))


def test_booleans_and_float16_are_broadcast_through_dtypes_mpi_has(job):
    ranks, out = job
    root = ranks - 1
    for rank in range(ranks):
        flag, half = stored(out, rank, "flags")
        np.testing.assert_array_equal(flag, [root % 2 == 0, root > 0])
        assert flag.dtype == bool and half.dtype == np.float16
        np.testing.assert_array_equal(half, np.full(3, root, np.float16))


def _op_input(rank: int) -> np.ndarray:
    return np.arange(6.0).reshape(2, 3) - 2.0 * rank


# -- failures end the job -----------------------------------------------------------------------
def test_a_rank_that_raises_mid_run_ends_the_job_naming_itself():
    status, output, seconds = program(2, "raise")
    assert status != 0, output
    assert seconds < 30
    assert "rank 1 of 2 failed with RuntimeError: deliberate failure at step 3" in output
    assert "finished" not in output


def test_a_rank_killed_with_sigkill_ends_the_job():
    status, output, seconds = program(2, "kill")
    assert status != 0, output
    assert seconds < 30
    assert "finished" not in output


def test_a_collective_that_times_out_names_the_missing_rank_and_changes_nothing():
    status, output, seconds = program(2, "timeout")
    assert status != 0, output
    assert seconds < 30
    assert "CollectiveTimeoutError" in output
    assert "waited 1 s for rank 1, which did not arrive" in output
    assert "MPIAllreduce" in output  # the op whose collective failed
    assert "variables unchanged" in output


def test_ranks_in_different_collectives_are_told_apart():
    status, output, _ = program(2, "mismatch")
    assert status != 0, output
    assert "called a different collective" in output


# -- the command line ---------------------------------------------------------------------------
def test_train_digits_distributed_splits_each_batch_and_only_rank_0_writes(tmp_path):
    pytest.importorskip("sklearn")
    together = tmp_path / "together"
    command = [sys.executable, "-m", "chainrule", "train", "digits", "--epochs", "1", "--quiet"]
    command += ["--optimizer", "sgd"]
    status, output, _ = mpirun(2, *command, "--distributed", "--out", str(together))
    assert status == 0, output
    assert output.count("epoch   1/1") == 1, output  # only rank 0 prints
    assert "2 ranks" in output
    alone = tmp_path / "alone"
    done = subprocess.run(
        [*command, "--out", str(alone)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    saved = {}
    for name in ("together", "alone"):
        where = str(tmp_path / name / "checkpoints")
        names = [key for key, _ in cr.train.list_variables(where)]
        saved[name] = {key: cr.train.load_variable(where, key) for key in names}
    assert saved["together"].keys() == saved["alone"].keys()
    # equal but for float32 sums in another order and the last batch of 1437 % 32 = 29
    # examples, split 15 + 14 (so its two halves weigh a little differently)
    for key, value in saved["alone"].items():
        np.testing.assert_allclose(saved["together"][key], value, rtol=0, atol=1e-3)


def test_train_digits_distributed_resumes_from_rank_0s_checkpoint(tmp_path):
    pytest.importorskip("sklearn")
    command = [sys.executable, "-m", "chainrule", "train", "digits", "--quiet"]
    command += ["--distributed", "--out", str(tmp_path), "--epochs"]
    status, output, _ = mpirun(2, *command, "1")
    assert status == 0, output
    status, output, _ = mpirun(2, *command, "2", "--resume")
    assert status == 0, output
    assert output.count("resumed from") == 1 and "at epoch 1" in output, output
    assert output.count("epoch   2/2") == 1 and "epoch   1/2" not in output, output


def test_the_horovod_style_example_trains_and_rank_0_saves(tmp_path):
    pytest.importorskip("sklearn")
    example = str(ROOT / "examples" / "horovod_digits.py")
    status, output, _ = mpirun(2, sys.executable, example, "3", str(tmp_path))
    assert status == 0, output
    assert output.count("epoch  3") == 1, output
    accuracy = float(output.split("final test accuracy ")[1].split(";")[0])
    assert accuracy > 0.8
    assert (tmp_path / "model.npz").is_file()


# -- the programs the jobs run ------------------------------------------------------------------
def _train_program(out: str) -> None:
    """Each optimizer: start from a different point per rank, broadcast, train on shards."""
    from chainrule import distributed as dist

    job = dist.init(timeout=30)
    rank = dist.rank()
    X, Y = batches()
    for optimizer in OPTIMIZERS:
        graph, x, y, train, variables = build(optimizer, 100 + rank, distributed=True)
        with graph.as_default():
            sync = dist.broadcast_global_variables(0)
        with cr.Session(graph=graph) as session:
            np.savez(f"{out}/rank{rank}-own-start", *session.run(variables))
            session.run(sync)
            np.savez(f"{out}/rank{rank}-start", *session.run(variables))
            for step in range(STEPS):
                session.run(train, dict(zip([x, y], dist.shard(X[step], Y[step]), strict=True)))
            np.savez(f"{out}/rank{rank}-{optimizer}", *session.run(variables))
    per_step = []
    for fused in (True, False):
        graph, x, y, train, _ = build("sgd", 0, distributed=True, fused=fused)
        with cr.Session(graph=graph) as session:
            feed = dict(zip([x, y], dist.shard(X[0], Y[0]), strict=True))
            session.run(train, feed)
            before = job.count
            session.run(train, feed)
            per_step.append(job.count - before)
    np.savez(f"{out}/rank{rank}-collectives-per-step", np.array(per_step))
    _ops_program(out, rank, dist.size())
    places = [dist.rank(), dist.size(), dist.local_rank(), dist.local_size()]
    np.savez(f"{out}/rank{rank}-places", np.array(places))


def _ops_program(out: str, rank: int, ranks: int) -> None:
    """Values and gradients of the three collectives, each rank with its own inputs."""
    from chainrule import distributed as dist

    c = np.arange(6.0).reshape(2, 3) * (rank + 1) + rank
    w = np.linspace(-1, 1, sum(range(1, ranks + 1)) * 2).reshape(-1, 2) * (rank + 2)
    graph = cr.Graph()
    with graph.as_default():
        x = cr.Variable(_op_input(rank), name="x")
        rows = cr.Variable(np.full((rank + 1, 2), float(rank)), name="rows")
        reduced = dist.allreduce(x)
        gathered = dist.allgather(rows)
        cast = dist.broadcast(x, ranks - 1)
        fetches = [
            reduced,
            cr.gradients(cr.reduce_sum(reduced * c), [x])[0],
            gathered,
            cr.gradients(cr.reduce_sum(gathered * w), [rows])[0],
            cast,
            cr.gradients(cr.reduce_sum(cast * c), [x])[0],
        ]
        flag = cr.Variable(np.array([rank % 2 == 0, rank > 0]), name="flag")
        half = cr.Variable(np.full(3, rank, np.float16), name="half")
        sync = dist.broadcast_variables([flag, half], ranks - 1)
    with cr.Session(graph=graph) as session:
        np.savez(f"{out}/rank{rank}-ops", *session.run(fetches))
        session.run(sync)
        np.savez(f"{out}/rank{rank}-flags", *session.run([flag, half]))


def _failing_program(how: str) -> None:
    """Train; rank 1 fails at step 3 (raises, is killed, or skips the collective)."""
    from chainrule import distributed as dist

    dist.init(timeout=1 if how == "timeout" else 30)
    rank = dist.rank()
    graph, x, y, train, variables = build("sgd", 0, distributed=True)
    X, Y = batches()
    with cr.Session(graph=graph) as session:
        for step in range(STEPS):
            if rank == 1 and step == 3:
                if how == "raise":
                    raise RuntimeError(f"deliberate failure at step {step}")
                if how == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                time.sleep(20)
            before = session.run(variables)
            try:
                session.run(train, dict(zip([x, y], dist.shard(X[step], Y[step]), strict=True)))
            except dist.CollectiveTimeoutError:
                same = all(
                    np.array_equal(a, b)
                    for a, b in zip(before, session.run(variables), strict=True)
                )
                print("variables unchanged" if same else "variables CHANGED", flush=True)
                raise
    print(f"rank {rank} finished", flush=True)


def _mismatch_program() -> None:
    from chainrule import distributed as dist

    dist.init(timeout=10)
    value = dist.allreduce(np.ones(3), name=f"sum_on_rank_{dist.rank()}")
    cr.Session().run(value)


if __name__ == "__main__":
    name, *arguments = sys.argv[1:]
    if name == "train":
        _train_program(*arguments)
    elif name == "mismatch":
        _mismatch_program()
    else:
        _failing_program(name)
