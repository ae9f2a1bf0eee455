"""Training watched live: the loss, each variable's gradient norm and the activations, on a
page that updates itself (server-sent events) while a program trains.

    watch = cr.watch(session, loss)          # serves the page on 127.0.0.1 and opens it
    for step in range(1000):
        session.run(train_op, feed)
        if step % 10 == 0:
            watch.update(feed)               # one run: loss, gradient norms, activations
    watch.close()

``update`` measures with the session's current values and does not train. The page reads
``/api/watch/events``: every record so far, then each new one as it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import threading
import webbrowser
from collections.abc import AsyncIterator, Sequence
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..autodiff import gradients
from ..errors import InvalidArgumentError
from ..graph import Tensor, topological_order
from ..ops.state_ops import Variable, trainable_variables
from ..runtime.session import Session
from ..stats import tensor_stats
from .server import SECURITY_HEADERS, STATIC_DIR, HostCheck, RequestGuard, serve_in_background

__all__ = ["Watch", "watch", "ACTIVATION_OPS"]

#: op types whose outputs the page describes as activations
ACTIVATION_OPS = ("Relu", "Relu6", "Elu", "Selu", "Sigmoid", "Tanh", "Softplus", "LeakyRelu")
#: the most records kept (older ones are thinned out, every second one dropped)
MAX_RECORDS = 4000
#: how often the event stream looks for new records, in seconds
POLL_SECONDS = 0.2


class Watch:
    """Measures a training session on request and serves the measurements to the live page."""

    def __init__(
        self,
        session: Session,
        loss: Tensor,
        var_list: Sequence[Variable] | None = None,
        activations: Sequence[Tensor] | None = None,
    ):
        if not isinstance(loss, Tensor):
            raise InvalidArgumentError(f"watch() needs the loss node, got {type(loss).__name__}")
        self.session = session
        self.loss = loss
        with loss.graph.as_default():
            variables = list(var_list) if var_list is not None else trainable_variables()
            pairs = [
                (v, g)
                for v, g in zip(variables, gradients(loss, variables), strict=True)
                if g is not None
            ]
        if not pairs:
            raise InvalidArgumentError(f"no variable's gradient reaches '{loss.op.name}'")
        self.variables = [v for v, _ in pairs]
        self._grads = [g for _, g in pairs]
        self.activations = list(activations) if activations is not None else _activations(loss)
        self.records: list[dict[str, Any]] = []
        self.dropped = 0
        self.closed = False
        self._lock = threading.Lock()
        self._step = 0
        self.url: str | None = None
        self._server = contextlib.ExitStack()

    def update(self, feed_dict: dict | None = None, step: int | None = None) -> dict[str, Any]:
        """Measure once (no training): the loss, gradient norms and activation statistics."""
        loss, grads, acts = self.session.run(
            [self.loss, self._grads, self.activations], feed_dict or {}
        )
        self._step = self._step + 1 if step is None else int(step)
        record = {
            "step": self._step,
            "loss": _number(loss),
            "grad_norms": {
                v.op.name: _number(np.linalg.norm(np.asarray(g, dtype=np.float64)))
                for v, g in zip(self.variables, grads, strict=True)
            },
            "activations": {
                a.op.name: _activation(a.op.op_type, value)
                for a, value in zip(self.activations, acts, strict=True)
            },
        }
        with self._lock:
            self.records.append(record)
            if len(self.records) > MAX_RECORDS:
                self.records = self.records[::2]
                self.dropped += 1
        return record

    def since(self, index: int) -> tuple[list[dict[str, Any]], int]:
        """Records from ``index`` on (from the start if they were thinned out meanwhile)."""
        with self._lock:
            if index > len(self.records):
                index = 0
            return self.records[index:], len(self.records)

    def serve(self, open_browser: bool = True) -> str:
        """Serve the live page on 127.0.0.1 (in a background thread); its URL."""
        if self.url is None:
            self.url = self._server.enter_context(serve_in_background(self.app()))
            if open_browser:
                threading.Thread(target=webbrowser.open, args=(self.url,), daemon=True).start()
        return self.url

    def close(self) -> None:
        """End the event streams and stop the page's server."""
        self.closed = True
        self._server.close()

    def app(self) -> Starlette:
        """The live page's web app, behind the explorer's Host/Origin check and headers."""
        return Starlette(
            routes=[
                Route("/", self._page),
                Route("/api/watch/state", self._state),
                Route("/api/watch/events", self._events),
                Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
            ],
            middleware=[Middleware(RequestGuard, check=HostCheck())],
        )

    async def _page(self, request: Request) -> Response:
        return FileResponse(STATIC_DIR / "watch.html", headers=SECURITY_HEADERS)

    async def _state(self, request: Request) -> Response:
        records, _ = self.since(0)
        return JSONResponse(self._header(records), headers={"Cache-Control": "no-store"})

    def _header(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "loss": self.loss.op.name,
            "variables": [v.op.name for v in self.variables],
            "activations": [a.op.name for a in self.activations],
            "records": records,
            "closed": self.closed,
        }

    async def _events(self, request: Request) -> Response:
        return StreamingResponse(
            self._stream(request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _stream(self, request: Request) -> AsyncIterator[str]:
        records, sent = self.since(0)
        yield f"event: start\ndata: {json.dumps(self._header(records))}\n\n"
        while not self.closed and not await request.is_disconnected():
            await asyncio.sleep(POLL_SECONDS)
            records, total = self.since(sent)
            if total < sent:  # thinned out: start again
                records, total = self.since(0)
                yield f"event: start\ndata: {json.dumps(self._header(records))}\n\n"
            elif records:
                yield f"event: records\ndata: {json.dumps(records)}\n\n"
            sent = total
        yield "event: end\ndata: {}\n\n"


def _activations(loss: Tensor) -> list[Tensor]:
    return [n.outputs[0] for n in topological_order([loss]) if n.op_type in ACTIVATION_OPS]


def _number(value: Any) -> float | str:
    number = float(value)
    if math.isfinite(number):
        return number
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")


def _activation(op_type: str, value: Any) -> dict[str, Any]:
    stats = tensor_stats(value)
    if stats is None:
        return {"op": op_type}
    keep = ("mean", "std", "zero_fraction", "histogram", "low", "high")
    return {"op": op_type, **{key: stats.to_dict()[key] for key in keep}}


def watch(
    session: Session,
    loss: Tensor,
    var_list: Sequence[Variable] | None = None,
    activations: Sequence[Tensor] | None = None,
    open_browser: bool = True,
) -> Watch:
    """Watch ``session`` train ``loss`` on a live page; call ``update(feed)`` as it trains.

    The page (on 127.0.0.1) shows the loss curve, each variable's gradient norm over the
    steps (on a log scale: vanishing gradients sink, exploding ones climb) and the statistics
    of every activation (ReLU, sigmoid, tanh... outputs: mean, spread, share of zeros).
    """
    watcher = Watch(session, loss, var_list, activations)
    url = watcher.serve(open_browser)
    print(f"chainrule watch: {url}", flush=True)
    return watcher
