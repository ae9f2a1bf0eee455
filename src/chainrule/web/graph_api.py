"""The explorer's view of one graph or trace: layout, node details and gradient paths.

``graph_routes(data)`` serves a trace (or graph) already checked by ``tracefile.validate``:

- ``GET /api/graph?open=SCOPE...`` the layout with the given name scopes expanded (without
  ``open``: the default, everything open for small graphs and nothing for big ones; ``open=``
  alone: everything collapsed) and the details of each shown node;
- ``GET /api/node?name=NAME`` one node in full: statistics and its arrays as saved (a
  loop's node also its variables and their gradients after each iteration, which the
  layout's node details leave out: only ``iteration_count`` says they are there);
- ``GET /api/paths?variable=NAME`` the nodes and edges the variable's gradient flows along.

Only GET with short query strings: nothing a request sends is evaluated, and every answer
comes from the data loaded at start. Layouts run Graphviz with a time limit, at most
``LAYOUTS_AT_ONCE`` at a time, and are remembered per set of open scopes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import ChainruleError
from .layout import layout, scope_prefixes

__all__ = ["graph_routes", "GraphView"]

#: Graphviz runs at the same time at most
LAYOUTS_AT_ONCE = 2
#: layouts remembered (by their set of open scopes)
CACHED_LAYOUTS = 32
#: a node's arrays are sent inline in /api/graph up to this many numbers
INLINE_NUMBERS = 64
NO_STORE = {"Cache-Control": "no-store"}


class GraphView:
    """One loaded trace or graph and what the page asks of it."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.nodes = {node["name"]: node for node in data["nodes"]}
        self.scopes = {p for node in data["nodes"] for p in scope_prefixes(node["scope"])}
        self._layouts: OrderedDict[tuple[str, ...] | None, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._running = threading.Semaphore(LAYOUTS_AT_ONCE)

    def layout(self, expanded: tuple[str, ...] | None) -> dict[str, Any]:
        """The (remembered) layout with ``expanded`` scopes open."""
        with self._lock:
            if expanded in self._layouts:
                self._layouts.move_to_end(expanded)
                return self._layouts[expanded]
        with self._running:
            result = layout(self.data, expanded)
        with self._lock:
            self._layouts[expanded] = result
            while len(self._layouts) > CACHED_LAYOUTS:
                self._layouts.popitem(last=False)
        return result

    def page_data(self, expanded: tuple[str, ...] | None) -> dict[str, Any]:
        """Everything the page draws: the layout and the shown nodes' details."""
        placed = self.layout(expanded)
        shown = [item["name"] for item in placed["items"] if item["kind"] == "node"]
        return {
            "title": self.data["expression"] or self.data["output"],
            "output": self.data["output"],
            "value": self.data["value"],
            "variables": self.data["variables"],
            "node_count": len(self.nodes),
            "layout": placed,
            "nodes": {name: self.node(name, INLINE_NUMBERS) for name in shown},
        }

    def node(self, name: str, limit: int | None = None) -> dict[str, Any]:
        """A node's details; with a ``limit``, arrays of more than ``limit`` numbers and a
        loop's iterations left out (the page asks for them when the node is clicked)."""
        node = dict(self.nodes[name])
        if limit is not None:
            for key in ("value", "gradient"):
                stats = node[f"{key}_stats"]
                if stats is not None and stats["size"] > limit:
                    node[key] = None
            node.pop("iterations", None)
            node.pop("iteration_gradients", None)
        return node

    def gradient_paths(self, variable: str) -> dict[str, Any]:
        """Nodes and edges on the paths from ``variable`` to the output along flowing edges."""
        flowing = [e for e in self.data["edges"] if e["flows"]]
        reach = _reachable(variable, flowing, "src", "dst")
        back = _reachable(self.data["output"], flowing, "dst", "src")
        on_path = reach & back
        edges = [
            f"{e['src']}->{e['dst']}#{e['index']}"
            for e in flowing
            if e["src"] in on_path and e["dst"] in on_path
        ]
        return {"variable": variable, "nodes": sorted(on_path), "edges": edges}


def _reachable(start: str, edges: list[dict[str, Any]], frm: str, to: str) -> set[str]:
    following: dict[str, list[str]] = {}
    for edge in edges:
        following.setdefault(edge[frm], []).append(edge[to])
    seen = {start}
    todo = [start]
    while todo:
        for nxt in following.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "position": None}, status_code=status)


def graph_routes(data: dict[str, Any]) -> list[Route]:
    """The API routes serving ``data`` (checked trace-file data)."""
    view = GraphView(data)

    async def graph_endpoint(request: Request) -> Response:
        params = request.query_params
        expanded = None
        if "open" in params:
            chosen = [s for s in params.getlist("open") if s]
            unknown = [s for s in chosen if s not in view.scopes]
            if unknown:
                return _error(400, f"'{unknown[0][:200]}' is not a name scope of this graph")
            expanded = tuple(sorted(set(chosen)))
        try:
            answer = await run_in_threadpool(view.page_data, expanded)
        except ChainruleError as err:
            return _error(503, str(err))
        return JSONResponse(answer, headers=NO_STORE)

    async def node_endpoint(request: Request) -> Response:
        name = request.query_params.get("name", "")
        if name not in view.nodes:
            return _error(404, f"no node named '{name[:200]}'")
        return JSONResponse(view.node(name), headers=NO_STORE)

    async def paths_endpoint(request: Request) -> Response:
        name = request.query_params.get("variable", "")
        if name not in view.nodes:
            return _error(404, f"no node named '{name[:200]}'")
        return JSONResponse(view.gradient_paths(name), headers=NO_STORE)

    return [
        Route("/api/graph", graph_endpoint, methods=["GET"]),
        Route("/api/node", node_endpoint, methods=["GET"]),
        Route("/api/paths", paths_endpoint, methods=["GET"]),
    ]
