"""The parts of chainrule.distributed that need no MPI job: sharding, and refusing to build
collectives before ``init()`` (the MPI jobs are in test_distributed.py)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import distributed as dist
from chainrule.errors import ChainruleError, FailedPreconditionError, InvalidArgumentError


def test_shards_take_every_size_th_example_from_the_rank_and_cover_the_data_once():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    shards = [dist.shard(X, y, rank=r, size=3) for r in range(3)]
    np.testing.assert_array_equal(shards[1][0], X[1::3])
    np.testing.assert_array_equal(shards[1][1], [1, 4, 7])
    assert sorted(np.concatenate([s[1] for s in shards]).tolist()) == list(range(10))
    assert [len(s[1]) for s in shards] == [4, 3, 3]


def test_one_array_gives_one_array():
    np.testing.assert_array_equal(dist.shard(np.arange(6), rank=0, size=2), [0, 2, 4])


@pytest.mark.parametrize(
    ("arrays", "rank", "size", "words"),
    [
        ((np.zeros(4), np.zeros(5)), 0, 2, "same number of examples"),
        ((np.float64(3.0),), 0, 2, "same number of examples"),
        ((np.zeros(4),), 2, 2, "rank 2 is not one of 2 ranks"),
        ((), 0, 1, "at least one array"),
    ],
)
def test_bad_shards_are_refused(arrays, rank, size, words):
    with pytest.raises(InvalidArgumentError, match=words):
        dist.shard(*arrays, rank=rank, size=size)


@pytest.mark.parametrize(
    "build",
    [
        lambda: dist.allreduce(cr.constant([1.0])),
        lambda: dist.allgather(cr.constant([1.0])),
        lambda: dist.broadcast(cr.constant([1.0]), 0),
        lambda: dist.broadcast_global_variables(0),
        lambda: dist.DistributedOptimizer(cr.train.GradientDescentOptimizer(0.1)),
        lambda: dist.rank(),
        lambda: dist.shard(np.zeros(3)),
    ],
)
def test_collectives_need_init_first(build):
    if dist.is_initialized():
        pytest.skip("this process has joined an MPI job")
    with pytest.raises(FailedPreconditionError, match=r"call chainrule.distributed.init\(\) first"):
        build()


def test_collective_errors_are_chainrule_errors_naming_the_ranks():
    error = dist.CollectiveTimeoutError("late", ranks=[1, 2])
    assert isinstance(error, ChainruleError)
    node = cr.constant(1.0, name="c")
    located = error.at(node)
    assert located.ranks == (1, 2) and located.node is node.op and "Const 'c'" in str(located)


def test_collectives_refuse_what_mpi_cannot_add_naming_the_op():
    with pytest.raises(cr.errors.DTypeError, match="MPIAllreduce.*float16; cast it to float32"):
        dist.MPIAllreduce(cr.constant(np.ones(2, np.float16)), average=True)
    with pytest.raises(cr.errors.DTypeError, match="use average=False"):
        dist.MPIAllreduce(cr.constant(np.ones(2, np.int32)), average=True)
    with pytest.raises(cr.errors.DTypeError, match="bool"):
        dist.MPIAllgather(cr.constant(np.ones(2, bool)))
    with pytest.raises(InvalidArgumentError, match="first axis"):
        dist.MPIAllgather(cr.constant(1.0))
    assert dist.MPIAllreduce(cr.constant(np.ones(2, np.int32)), average=False).dtype == cr.int32


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
def test_a_timeout_must_be_positive(timeout):
    with pytest.raises(FailedPreconditionError, match="timeout must be positive"):
        dist.init(timeout=timeout)
