"""The explorer's web server: the page, its static files and ``POST /api/explain``.

Safety: the server listens on loopback by default, refuses request bodies over
``MAX_BODY_BYTES`` before reading them, runs every computation in a worker process with a time
limit (so the event loop keeps answering) and never evaluates user text as Python: expressions
go through ``chainrule.expr.parse``. Requests must address the explorer by a name of this
machine (against DNS rebinding), and every answer forbids content sniffing and outside content.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode, urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ChainruleError, InvalidArgumentError
from .compute import Compute, ComputeTimeout, WorkerCrashed, WorkerPool, explain_payload
from .graph_api import graph_routes

__all__ = [
    "MAX_BODY_BYTES",
    "DEFAULT_TIMEOUT",
    "create_app",
    "HostCheck",
    "bind_socket",
    "url_of",
    "serve",
    "serve_in_background",
]

STATIC_DIR = Path(__file__).parent / "static"
#: the largest request body accepted (an expression and its variable values fit easily)
MAX_BODY_BYTES = 16 * 1024
#: seconds one computation may take before its worker is stopped
DEFAULT_TIMEOUT = 5.0
#: the page may load only its own scripts, styles and images
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class RequestError(Exception):
    """A request the API refuses: an HTTP status and a message for the page."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def error_json(status: int, message: str, position: int | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "position": position}, status_code=status)


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise RequestError(400, "the Content-Length header is not a number") from None
        if size > limit:
            raise RequestError(413, f"the request body is {size} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(413, f"the request body exceeds the limit of {limit} bytes")
    return bytes(body)


def _refuse_constant(name: str) -> float:
    raise RequestError(400, f"{name} is not a number the explorer accepts")


def parse_explain_request(body: bytes) -> tuple[str, dict[str, float]]:
    """``{"expr": "...", "values": {"x": 1.0}}`` checked: a string and finite numbers."""
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise RequestError(
            400, 'the request body is nested too deeply; send a flat {"expr", "values"} object'
        ) from None
    except ValueError as err:  # bad UTF-8, bad JSON, or an integer of over 4300 digits
        raise RequestError(400, f"the request body is not valid JSON: {err}") from None
    if not isinstance(payload, dict):
        raise RequestError(400, 'the request must be a JSON object {"expr": ..., "values": ...}')
    text = payload.get("expr")
    if not isinstance(text, str):
        raise RequestError(400, '"expr" must be a string holding the expression')
    values = payload.get("values", {})
    if not isinstance(values, dict):
        raise RequestError(400, '"values" must be an object mapping variable names to numbers')
    return text, {name: _finite_number(name, value) for name, value in values.items()}


def _finite_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RequestError(400, f"the value of {name!r} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise RequestError(
            400, f"the value of {name!r} must be finite (at most about 1.8e308 in size)"
        )
    return number


def host_name(authority: str) -> str:
    """The name in a Host header or an origin's authority: ``'[::1]:80'`` -> ``'::1'``."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1:].partition("]")[0]
    return authority.partition(":")[0] if authority.count(":") == 1 else authority


@dataclass(frozen=True)
class HostCheck:
    """Which names a request may address the explorer by, against DNS rebinding.

    A page of another site can point its own name at 127.0.0.1; its requests then reach the
    explorer but carry that name in ``Host`` (and its origin in ``Origin``), so they are
    refused. Loopback names are always accepted; ``names`` and (when ``any_ip``) addresses
    written as IP numbers, which no DNS answer can redirect, are added when serving other
    machines.
    """

    names: frozenset[str] = frozenset()
    any_ip: bool = False

    def allows(self, name: str) -> bool:
        if is_loopback(name) or name in self.names:
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return self.any_ip

    def problem(self, headers: Headers) -> str | None:
        """Why a request with ``headers`` is refused (``None`` if it is not)."""
        host = headers.get("host")
        if host is None or not self.allows(host_name(host)):
            return (
                f"this explorer answers only requests addressed to this machine (got Host "
                f"{host!r}); open the URL that 'chainrule serve' printed"
            )
        origin = headers.get("origin")
        if origin is None:
            return None
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not self.allows(host_name(parts.netloc)):
            return f"requests from pages of other sites are refused (Origin {origin!r})"
        return None


class RequestGuard:
    """ASGI middleware: refuses requests that ``check`` refuses (403) and adds the security
    headers (no content sniffing, the page's content policy) to every answer, static files
    included."""

    def __init__(self, app: ASGIApp, check: HostCheck):
        self.app = app
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        problem = self.check.problem(Headers(scope=scope))
        if problem is not None:
            await error_json(403, problem)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def create_app(
    compute: Compute = explain_payload,
    *,
    workers: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    max_body_bytes: int = MAX_BODY_BYTES,
    hosts: HostCheck | None = None,
    graph: dict[str, Any] | None = None,
) -> Starlette:
    """The explorer's ASGI app; ``compute(text, values)`` runs in ``workers`` processes.

    ``compute`` must be a module-level function (it is sent to the worker processes).
    ``hosts`` says which names requests may use (by default: this machine's loopback names).
    ``graph`` is a trace or graph as checked trace-file data, which the page then opens.
    """
    pool = WorkerPool(compute, workers=workers, timeout=timeout)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html")

    async def explain_endpoint(request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type != "application/json":
            return error_json(415, "send the request as application/json")
        try:
            body = await read_limited_body(request, max_body_bytes)
            text, values = parse_explain_request(body)
        except RequestError as err:
            return error_json(err.status, err.message)
        try:
            status, answer = await run_in_threadpool(pool.run, text, values)
        except ComputeTimeout as err:
            return error_json(503, err.message)
        except WorkerCrashed as err:
            return error_json(500, err.message)
        return JSONResponse(answer, status_code=status, headers={"Cache-Control": "no-store"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(pool.start)
        try:
            yield
        finally:
            await run_in_threadpool(pool.close)

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/api/explain", explain_endpoint, methods=["POST"]),
            *(graph_routes(graph) if graph is not None else []),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        lifespan=lifespan,
        middleware=[Middleware(RequestGuard, check=hosts or HostCheck())],
    )
    app.state.pool = pool
    return app


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0: the system picks a free one)."""
    if not 0 <= port <= 65535:
        raise InvalidArgumentError(f"port must be between 0 and 65535, got {port}")
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket, path: str = "/") -> str:
    """The URL a local browser opens for a server on ``sock`` (any-address becomes loopback)."""
    host, port = sock.getsockname()[:2]
    address = ipaddress.ip_address(host)
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{shown}:{port}{path}"


def is_loopback(host: str) -> bool:
    """True when ``host`` names only this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _names_of_this_machine(host: str) -> frozenset[str]:
    """The names other machines may use for this one: ``host`` and its host names."""
    return frozenset(
        name.lower() for name in (host, socket.gethostname(), socket.getfqdn()) if name
    )


def _server_for(app: Starlette) -> uvicorn.Server:
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3)
    return uvicorn.Server(config)


@contextlib.contextmanager
def serve_in_background(
    app: Starlette | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 60.0,
) -> Iterator[str]:
    """Run the explorer in a background thread (for notebooks and tests); yields its URL.

    The computations run in spawned processes, so a script that calls this (or ``serve``)
    must do so under ``if __name__ == "__main__":``, as with any ``multiprocessing`` code.
    """
    sock = bind_socket(host, port)
    server = _server_for(app if app is not None else create_app())
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="chainrule-serve"
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ChainruleError("the explorer server did not start")
            time.sleep(0.02)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=startup_timeout)
        sock.close()


def page_url(base: str, expr: str | None = None) -> str:
    """The explorer's URL, opening on ``expr`` when one is given."""
    return f"{base}?{urlencode({'expr': expr})}" if expr else base


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = True,
    expr: str | None = None,
    workers: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    out: TextIO | None = None,
    graph: dict[str, Any] | None = None,
) -> None:
    """Serve the explorer until interrupted, printing its URL (and opening it in a browser).

    With ``graph`` (checked trace-file data) the page opens that trace or graph.
    """
    out = out or sys.stdout
    hosts = None if is_loopback(host) else HostCheck(_names_of_this_machine(host), any_ip=True)
    app = create_app(workers=workers, timeout=timeout, hosts=hosts, graph=graph)
    sock = bind_socket(host, port)
    url = page_url(url_of(sock), expr)
    print(f"chainrule explorer: {url}", file=out, flush=True)
    if not is_loopback(host):
        print(
            f"warning: listening on {host}, so other machines can reach the explorer",
            file=out,
            flush=True,
        )
    print("press Ctrl+C to stop", file=out, flush=True)
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    server = _server_for(app)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
