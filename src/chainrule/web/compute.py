"""The explorer's computation: explain an expression, in worker processes with a time limit.

Each request is parsed and differentiated in a separate process so that a slow or runaway
computation can be stopped (the process is killed and replaced), the server's event loop keeps
answering other requests, and requests never share a default graph.
"""

from __future__ import annotations

import importlib
import math
import multiprocessing
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any

from ..errors import ChainruleError, ExprSyntaxError, InvalidArgumentError

__all__ = [
    "DEFAULT_VARIABLE_VALUE",
    "ComputeTimeout",
    "WorkerCrashed",
    "WorkerPool",
    "explain_payload",
    "json_safe",
]

#: the value a variable takes until the user sets it (backprop-vis evaluates at x = 1)
DEFAULT_VARIABLE_VALUE = 1.0
#: the most chain-rule paths per variable sent to the page (their count is always sent)
MAX_PATHS = 64
#: what a worker process sends once it is ready for jobs
READY = "ready"
#: seconds a new worker process may take to start (importing NumPy and chainrule)
STARTUP_TIMEOUT = 60.0

Compute = Callable[[str, Mapping[str, float]], dict[str, Any]]


def explain_payload(text: str, values: Mapping[str, float]) -> dict[str, Any]:
    """Parse ``text``, evaluate it at ``values`` and return the trace as JSON-ready data.

    The trace's ``to_dict()`` (nodes, edges, orders, gradients, paths per variable) plus
    ``variable_info``: each variable's node name, the value used and its gradient, and
    ``layout``: where the page draws each node and edge (by Graphviz). Variables
    missing from ``values`` take ``DEFAULT_VARIABLE_VALUE``; names in ``values`` that the
    expression does not use are ignored (the page keeps them while one edits).
    """
    from ..expr import parse
    from ..trace import explain
    from .layout import layout

    expression = parse(text)
    feed = {name: float(values.get(name, DEFAULT_VARIABLE_VALUE)) for name in expression.variables}
    trace = explain(expression, feed)
    data = trace.to_dict(max_paths=MAX_PATHS)
    data["variable_info"] = [
        {
            "name": name,
            "node": placeholder.op.name,
            "value": feed[name],
            "gradient": trace.gradient(name),
        }
        for name, placeholder in expression.variables.items()
    ]
    data["layout"] = layout(data)
    return json_safe(data)


def json_safe(value: Any) -> Any:
    """Plain JSON: NumPy scalars and arrays become Python numbers and lists; NaN and
    infinities become the strings "NaN", "Infinity" and "-Infinity" (JSON has no such numbers).
    """
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "tolist"):
        return json_safe(value.tolist())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    return str(value)


def error_response(err: BaseException) -> tuple[int, dict[str, Any]]:
    """The HTTP status and JSON body for an error raised while explaining."""
    if isinstance(err, ExprSyntaxError):
        message = err.message.split("\n", 1)[0]
        return 400, {"error": message, "position": err.position}
    if isinstance(err, ChainruleError):
        return 400, {"error": str(err), "position": None}
    return 500, {"error": f"internal error: {type(err).__name__}: {err}", "position": None}


def run_compute(compute: Compute, text: str, values: Mapping[str, float]) -> tuple[int, Any]:
    """Call ``compute`` and turn its result or error into an HTTP status and JSON body."""
    try:
        return 200, compute(text, values)
    except Exception as err:
        status, body = error_response(err)
        if status == 500:
            traceback.print_exc(file=sys.stderr)
        return status, body


def _worker_main(conn: Connection, compute: Compute) -> None:
    """A worker process: answer ``(text, values)`` jobs until the pipe closes.

    Ctrl+C in the terminal reaches the workers too; they ignore it and the server stops them.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _warm_up()
    conn.send(READY)
    while True:
        try:
            text, values = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(run_compute(compute, text, values))


def _warm_up() -> None:
    """Import the parser and the tracer before the first job, so that it does not wait."""
    importlib.import_module("chainrule.expr")
    importlib.import_module("chainrule.trace")
    importlib.import_module("chainrule.web.layout")


class ComputeTimeout(ChainruleError, TimeoutError):
    """A computation ran past its time limit (the worker that ran it was stopped)."""


class WorkerCrashed(ChainruleError, RuntimeError):
    """A worker process ended while computing (it is replaced by a fresh one)."""


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: Any, compute: Compute):
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child_conn, compute), daemon=True, name="chainrule-worker"
        )
        self.process.start()
        child_conn.close()
        self.ready = False

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the process has started and imported chainrule (not part of any job)."""
        if not self.ready:
            if not self.conn.poll(timeout):
                return False
            self.ready = self.conn.recv() == READY
        return self.ready

    def call(self, job: tuple[str, dict[str, float]], timeout: float) -> tuple[int, Any] | None:
        """Send a job and wait for its answer; ``None`` if none came within ``timeout``."""
        self.conn.send(job)
        if self.conn.poll(timeout):
            return self.conn.recv()
        return None

    def stop(self) -> None:
        """Kill the process (it may be stuck in a computation) and close the pipe."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


def checked_timeout(timeout: Any) -> float:
    """``timeout`` as seconds, refused unless finite and positive: nan would strand a worker
    on every failing request and inf would never stop a runaway computation."""
    try:
        seconds = float(timeout)
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidArgumentError(
            f"the time limit must be a positive, finite number of seconds, got {timeout!r}"
        )
    return seconds


class WorkerPool:
    """A fixed number of worker processes, each running one computation at a time.

    ``run`` blocks (call it from a thread, not the event loop): it waits at most ``timeout``
    seconds for an idle worker, then at most ``timeout`` seconds for the answer, and replaces
    the worker if it ran out of time.
    """

    def __init__(self, compute: Compute = explain_payload, workers: int = 2, timeout: float = 5.0):
        if workers < 1:
            raise InvalidArgumentError(f"the explorer needs at least one worker, got {workers}")
        self.compute = compute
        self.size = workers
        self.timeout = checked_timeout(timeout)
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    def start(self) -> None:
        """Start the worker processes (they import chainrule while the server starts)."""
        with self._lock:
            if self._closed:
                raise InvalidArgumentError("this worker pool has been closed")
            while len(self._all) < self.size:
                self._add_worker()

    @property
    def pids(self) -> list[int]:
        """The process ids of the current workers."""
        with self._lock:
            return [worker.process.pid for worker in self._all]

    def _add_worker(self) -> None:
        worker = _Worker(self._context, self.compute)
        self._all.add(worker)
        self._idle.put(worker)

    def run(self, text: str, values: Mapping[str, float]) -> tuple[int, Any]:
        """Explain ``text`` at ``values`` in a worker: ``(status, body)``.

        Raises ComputeTimeout when no worker is free or the computation runs out of time, and
        WorkerCrashed when the worker process dies.
        """
        if not self._all:
            self.start()
        try:
            worker = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise ComputeTimeout(
                f"the explorer is busy: no worker became free within {self.timeout:g} s"
            ) from None
        try:
            if not worker.wait_ready(STARTUP_TIMEOUT):
                self._replace(worker)
                raise WorkerCrashed(f"a worker process did not start within {STARTUP_TIMEOUT:g} s")
            answer = worker.call((text, dict(values)), self.timeout)
        except (EOFError, OSError):
            self._replace(worker)
            raise WorkerCrashed("the worker process stopped while computing") from None
        if answer is None:
            self._replace(worker)
            raise ComputeTimeout(
                f"the computation took longer than {self.timeout:g} s and was stopped"
            )
        self._idle.put(worker)
        return answer

    def _replace(self, worker: _Worker) -> None:
        """Stop a worker that ran out of time and start a fresh one in its place."""
        worker.stop()
        with self._lock:
            self._all.discard(worker)
            if not self._closed:
                self._add_worker()

    def close(self) -> None:
        """Stop every worker process."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.stop()
