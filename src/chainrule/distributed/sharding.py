"""Each rank's share of the data: every ``size``-th example, starting at the rank's own."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data import Dataset
from ..errors import InvalidArgumentError
from .world import world

__all__ = ["shard"]


def shard(*arrays: Any, rank: int | None = None, size: int | None = None) -> Any:
    """This rank's examples of ``arrays`` (split along the first axis): ``a[rank::size]``.

    As ``tf.data.Dataset.shard(size, rank)`` does: rank ``r`` of ``k`` takes examples
    ``r, r + k, r + 2k...``, so the shards differ in length by one at most and together hold
    every example once. ``rank`` and ``size`` default to this process's place in the job.
    One array gives one array back, several a tuple; a ``tf.data`` ``Dataset`` gives
    ``dataset.shard(size, rank)``.
    """
    if not arrays:
        raise InvalidArgumentError("shard() needs at least one array")
    if rank is None or size is None:
        job = world()
        rank = job.rank if rank is None else rank
        size = job.size if size is None else size
    if size < 1 or not 0 <= rank < size:
        raise InvalidArgumentError(f"shard: rank {rank} is not one of {size} ranks")
    if any(isinstance(a, Dataset) for a in arrays):
        if len(arrays) != 1:
            raise InvalidArgumentError("shard: give a Dataset alone, not with arrays")
        return arrays[0].shard(size, rank)
    values = [np.asarray(a) for a in arrays]
    lengths = {len(v) if v.ndim else None for v in values}
    if None in lengths or len(lengths) != 1:
        raise InvalidArgumentError(
            "shard: every array needs the same number of examples (first dimension), got "
            + ", ".join(str(np.shape(v)) for v in values)
        )
    shards = tuple(v[rank::size] for v in values)
    return shards[0] if len(shards) == 1 else shards
