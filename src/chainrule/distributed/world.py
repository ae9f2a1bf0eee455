"""The MPI job this process belongs to: ``init``, ``rank``, ``size``, and collectives that end.

Every collective goes through ``World``. Before the data moves, each rank tells every other
rank that it has arrived (a small point-to-point note: the collective's number and a
signature of its name, kind, dtype and shape). A rank waits for the notes with a deadline,
so a rank that never comes is named instead of waited for forever, and two ranks in different
collectives are told apart before any buffer is exchanged. Once every rank has arrived, the
data moves with one blocking MPI collective on a contiguous NumPy buffer (MPI's buffer
interface: nothing is pickled), which ends unless a rank dies in it, and then ``mpirun`` ends
the job. (MPI's non-blocking collectives could be waited for with a deadline too, but they
advance only while polled, several times slower for the gradients of a step.)

``init`` also makes an unhandled error on any rank end the whole job (``MPI_Abort``), as
``python -m mpi4py`` does, after writing which rank failed and why.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Sequence
from types import ModuleType, TracebackType
from typing import Any

import numpy as np

from ..errors import ChainruleError, FailedPreconditionError, MissingDependencyError

__all__ = [
    "CollectiveError",
    "CollectiveTimeoutError",
    "World",
    "init",
    "is_initialized",
    "world",
    "rank",
    "size",
    "local_rank",
    "local_size",
    "barrier",
    "abort",
    "DEFAULT_TIMEOUT",
]

#: seconds a collective may wait for the other ranks (``CHAINRULE_COLLECTIVE_TIMEOUT`` overrides)
DEFAULT_TIMEOUT = 60.0

#: the tag of the arrival notes on chainrule's own communicator
_NOTE_TAG = 7301

#: a waiting rank polls for this long, then yields the processor between polls until
#: ``_YIELD_SECONDS``, then sleeps between polls (at most ``_LONGEST_NAP``)
_SPIN_SECONDS = 0.0002
_YIELD_SECONDS = 0.002
_LONGEST_NAP = 0.001


class CollectiveError(ChainruleError, RuntimeError):
    """A collective that could not complete: ``ranks`` are the ranks at fault."""

    def __init__(self, message: str, node: Any = None, ranks: Sequence[int] = ()):
        self.ranks = tuple(ranks)
        super().__init__(message, node)

    def at(self, node: Any) -> CollectiveError:
        """The same error naming the graph op whose collective failed."""
        return type(self)(self.message, node, self.ranks)


class CollectiveTimeoutError(CollectiveError):
    """Some ranks did not reach a collective in time; ``ranks`` are the ones that did not."""


class World:
    """This process's place in the MPI job and chainrule's own communicator."""

    def __init__(self, mpi: ModuleType, timeout: float):
        self.MPI = mpi
        self.comm = mpi.COMM_WORLD.Dup()
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        local = mpi.COMM_WORLD.Split_type(mpi.COMM_TYPE_SHARED)
        self.local_rank, self.local_size = local.Get_rank(), local.Get_size()
        local.Free()
        self.timeout = timeout
        self.count = 0
        self.broken: str | None = None
        self.buffers: dict[tuple[Any, ...], np.ndarray] = {}
        #: one collective at a time per process (MPI forbids two at once on a communicator)
        self.lock = threading.RLock()

    # -- the collectives -----------------------------------------------------------------------
    def allreduce(self, array: np.ndarray, average: bool, name: str) -> np.ndarray:
        """The elementwise sum (or mean) of ``array`` over all ranks, as a fresh array."""
        with self.lock:
            buffer = self._buffer("allreduce", np.asarray(array))
            self._collective(
                "allreduce", name, buffer, lambda: self.comm.Allreduce(self.MPI.IN_PLACE, buffer)
            )
            if average:
                return np.divide(buffer, self.size, dtype=buffer.dtype)
            return buffer.copy()

    def allgather(self, array: np.ndarray, name: str) -> np.ndarray:
        """Every rank's ``array`` joined along the first axis, in rank order."""
        send = np.ascontiguousarray(array)
        if send.ndim == 0:
            send = send.reshape(1)
        with self.lock:
            counts = self._collective("allgather", name, send, None, first_dim_may_differ=True)
            out = np.empty((int(sum(counts)), *send.shape[1:]), send.dtype)
            row = int(np.prod(send.shape[1:], dtype=np.int64))
            sizes = [int(c) * row for c in counts]
            offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
            self.comm.Allgatherv(send, [out, sizes, offsets, None])
            return out

    def broadcast(self, array: np.ndarray, root: int, name: str) -> np.ndarray:
        """Rank ``root``'s ``array`` on every rank, as a fresh array."""
        self._check_root(root)
        with self.lock:
            buffer = self._buffer("broadcast", np.asarray(array))
            self._collective("broadcast", name, buffer, lambda: self.comm.Bcast(buffer, root))
            return buffer.copy()

    def barrier(self, name: str = "barrier") -> None:
        """Return once every rank has called ``barrier`` (or raise naming those that did not):
        the arrival notes are the barrier."""
        with self.lock:
            self._collective("barrier", name, np.zeros(0), None)

    def _buffer(self, kind: str, array: np.ndarray) -> np.ndarray:
        """A copy of ``array`` in a buffer kept for collectives of its kind, shape and dtype.

        MPI moves data from memory it has used before several times faster than from fresh
        memory (a new array each step is 20-30 times slower for a step's gradients), so the
        data moves through kept buffers and the result is copied out.
        """
        key = (kind, array.shape, array.dtype.str)
        buffer = self.buffers.get(key)
        if buffer is None:
            buffer = self.buffers[key] = np.empty(array.shape, array.dtype)
        np.copyto(buffer, array)
        return buffer

    # -- how a collective runs ----------------------------------------------------------------
    def _collective(
        self,
        kind: str,
        name: str,
        array: np.ndarray,
        start: Callable[[], Any] | None,
        first_dim_may_differ: bool = False,
    ) -> list[int]:
        """Exchange arrival notes, then move the data (``start()``); every rank's first
        dimension (from the notes)."""
        if self.broken:
            raise FailedPreconditionError(
                f"rank {self.rank} cannot run the {kind} '{name}': {self.broken}"
            )
        shape = array.shape[1:] if first_dim_may_differ else array.shape
        signature = zlib.crc32(f"{kind}|{name}|{array.dtype.str}|{shape}".encode())
        first = array.shape[0] if array.ndim else 1
        counts = self._arrive(kind, name, signature, first)
        if start is not None:
            start()
        return counts

    def _arrive(self, kind: str, name: str, signature: int, first: int) -> list[int]:
        """Send this rank's note to every other rank and wait for theirs."""
        number, self.count = self.count, self.count + 1
        if self.size == 1:
            return [first]
        note = np.array([number, signature, first], np.int64)
        notes = np.zeros((self.size, 3), np.int64)
        notes[self.rank] = note
        others = [r for r in range(self.size) if r != self.rank]
        received = [self.comm.Irecv(notes[r], source=r, tag=_NOTE_TAG) for r in others]
        sent = [self.comm.Isend(note, dest=r, tag=_NOTE_TAG) for r in others]
        deadline = time.monotonic() + self.timeout
        if not self._poll(received, deadline):
            waiting = [r for r, req in zip(others, received, strict=True) if not req.Test()]
            self._fail(
                CollectiveTimeoutError(
                    f"the {kind} '{name}' on rank {self.rank} waited {self.timeout:g} s for "
                    f"{_ranks_text(waiting)}, which did not arrive ("
                    + ("it has" if len(waiting) == 1 else "they have")
                    + " failed, finished early or gone to another part of the program)",
                    ranks=waiting,
                )
            )
        self.MPI.Request.Waitall(sent)
        different = [r for r in others if notes[r, 1] != signature or notes[r, 0] != number]
        if different:
            self._fail(
                CollectiveError(
                    f"rank {self.rank} is in the {kind} '{name}' (collective number {number}) "
                    f"but {_ranks_text(different)} called a different collective (another op, "
                    "dtype or shape): every rank must run the same collectives in the same order",
                    ranks=different,
                )
            )
        return notes[:, 2].tolist()

    def _poll(self, requests: list[Any], deadline: float) -> bool:
        """Test ``requests`` until all are done (True) or ``deadline`` passes (False), yielding
        the processor meanwhile, so that ranks sharing cores do not starve the one computing."""
        test_all = self.MPI.Request.Testall
        started = time.monotonic()
        nap = 0.0
        while not test_all(requests):
            now = time.monotonic()
            if now > deadline:
                return False
            waited = now - started
            if waited < _SPIN_SECONDS:
                continue
            if waited < _YIELD_SECONDS:
                os.sched_yield()
            else:
                nap = min(_LONGEST_NAP, max(1e-5, nap * 2))
                time.sleep(nap)
        return True

    def _fail(self, error: CollectiveError) -> None:
        """Raise ``error``; later collectives refuse to run (MPI cannot take a half-done one back)."""
        self.broken = f"an earlier collective failed ({error.message})"
        raise error

    def _check_root(self, root: int) -> None:
        if not 0 <= root < self.size:
            raise FailedPreconditionError(
                f"root rank {root} is not a rank of this job (ranks 0 to {self.size - 1})"
            )


def _ranks_text(ranks: Sequence[int]) -> str:
    return ("rank " if len(ranks) == 1 else "ranks ") + ", ".join(map(str, ranks))


# -- the process's job -------------------------------------------------------------------------
_world: list[World] = []


def _import_mpi() -> ModuleType:
    """mpi4py's MPI module, or an error saying what to install."""
    try:
        from mpi4py import MPI
    except ImportError as err:
        if "mpi4py" in str(getattr(err, "name", "")) or "No module named" in str(err):
            raise MissingDependencyError(
                "chainrule.distributed needs mpi4py, which is not installed: "
                "pip install 'chainrule[mpi]'"
            ) from err
        raise MissingDependencyError(
            "chainrule.distributed needs an MPI library; install OpenMPI "
            f"(apt-get install openmpi-bin libopenmpi-dev): {err}"
        ) from err
    except RuntimeError as err:
        raise MissingDependencyError(
            "chainrule.distributed could not load an MPI library; install OpenMPI "
            f"(apt-get install openmpi-bin libopenmpi-dev): {err}"
        ) from err
    return MPI


def init(timeout: float | None = None, abort_on_error: bool = True) -> World:
    """Join the MPI job (started by ``mpirun``; a lone process is a job of one rank).

    ``timeout``: seconds a collective waits for the other ranks before raising
    ``CollectiveTimeoutError`` (default ``CHAINRULE_COLLECTIVE_TIMEOUT`` or 60).
    ``abort_on_error``: an unhandled error on this rank ends the whole job with ``MPI_Abort``,
    after writing the rank and the error, so that the other ranks do not wait for it.
    Calling ``init`` again only changes the timeout.
    """
    if timeout is None:
        timeout = float(os.environ.get("CHAINRULE_COLLECTIVE_TIMEOUT", DEFAULT_TIMEOUT))
    if not timeout > 0:
        raise FailedPreconditionError(f"the collective timeout must be positive, got {timeout}")
    if _world:
        _world[0].timeout = timeout
        return _world[0]
    mpi = _import_mpi()
    _world.append(World(mpi, timeout))
    if abort_on_error:
        sys.excepthook = _aborting_hook(_world[0], sys.excepthook)
    return _world[0]


def is_initialized() -> bool:
    """Whether ``init()`` has run in this process."""
    return bool(_world)


def world() -> World:
    """The job ``init()`` joined; an error if it has not been called."""
    if not _world:
        raise FailedPreconditionError(
            "chainrule.distributed is not initialised: call chainrule.distributed.init() first"
        )
    return _world[0]


def rank() -> int:
    """This process's number in the job, 0 to ``size() - 1``."""
    return world().rank


def size() -> int:
    """How many processes the job has."""
    return world().size


def local_rank() -> int:
    """This process's number among the job's processes on the same machine."""
    return world().local_rank


def local_size() -> int:
    """How many of the job's processes run on this machine."""
    return world().local_size


def barrier() -> None:
    """Wait until every rank has reached its ``barrier()`` (checkpoints: rank 0 writes, all wait)."""
    world().barrier()


def abort(message: str, status: int = 1) -> None:
    """Write ``message`` naming this rank, then end the whole job with ``status``."""
    job = world()
    sys.stdout.flush()
    sys.stderr.write(f"chainrule.distributed: rank {job.rank} of {job.size}: {message}\n")
    sys.stderr.flush()
    job.MPI.COMM_WORLD.Abort(status)


def _aborting_hook(job: World, previous: Callable[..., Any]) -> Callable[..., None]:
    """An ``excepthook`` that reports the error with its rank, then aborts the job."""

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        sys.stdout.flush()
        text = "".join(traceback.format_exception(kind, error, tb))
        first = f"{kind.__name__}: {error}".splitlines()[0] if str(error) else kind.__name__
        sys.stderr.write(
            f"chainrule.distributed: rank {job.rank} of {job.size} failed with {first}\n{text}"
            f"chainrule.distributed: ending the job (MPI_Abort) so that no rank waits for "
            f"rank {job.rank}\n"
        )
        sys.stderr.flush()
        job.MPI.COMM_WORLD.Abort(1)
        previous(kind, error, tb)

    return hook
