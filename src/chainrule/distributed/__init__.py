"""Data-parallel training over MPI, the Horovod way (``pip install 'chainrule[mpi]'``).

A program runs once per process under ``mpirun``; each process (rank) trains on its shard
of the data, and ``DistributedOptimizer`` averages the gradients over the ranks every step,
so all ranks take the same step. See docs/distributed.md.

    import chainrule.distributed as dist
    dist.init()
    X_mine, y_mine = dist.shard(X, y)
    train = dist.DistributedOptimizer(cr.train.AdamOptimizer(0.001 * dist.size())).minimize(loss)
    sync = dist.broadcast_global_variables(0)
    session.run(sync)   # once: every rank starts from rank 0's variables
"""

from .ops import (
    MPIAllgather,
    MPIAllgatherGrad,
    MPIAllreduce,
    MPIBroadcast,
    MPIBroadcastGrad,
    allgather,
    allreduce,
    broadcast,
    broadcast_global_variables,
    broadcast_variables,
)
from .optimizer import DistributedOptimizer
from .sharding import shard
from .world import (
    DEFAULT_TIMEOUT,
    CollectiveError,
    CollectiveTimeoutError,
    abort,
    barrier,
    init,
    is_initialized,
    local_rank,
    local_size,
    rank,
    size,
)

__all__ = [
    "init",
    "is_initialized",
    "rank",
    "size",
    "local_rank",
    "local_size",
    "barrier",
    "abort",
    "DistributedOptimizer",
    "allreduce",
    "allgather",
    "broadcast",
    "broadcast_variables",
    "broadcast_global_variables",
    "shard",
    "CollectiveError",
    "CollectiveTimeoutError",
    "DEFAULT_TIMEOUT",
    "MPIAllreduce",
    "MPIAllgather",
    "MPIAllgatherGrad",
    "MPIBroadcast",
    "MPIBroadcastGrad",
]
