"""``cr.show(trace_or_graph)``: open a trace or a graph in the explorer from Python.

The explorer runs on this machine (127.0.0.1) in a background thread for as long as the
Python process lives (a notebook's kernel, say); each call serves one trace or graph on a
page of its own and returns its URL. Its expression computations run in a spawned process,
so a script that calls ``show`` must do so under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import webbrowser
from typing import Any

from ..errors import InvalidArgumentError
from ..expr import Expression, parse
from ..graph import Graph, Node, Tensor
from ..trace import Trace, explain
from ..tracefile import graph_data, trace_data, validate
from .server import create_app, serve_in_background

__all__ = ["show", "view_data"]

_servers = contextlib.ExitStack()
atexit.register(_servers.close)


def view_data(subject: Trace | Graph | Node | Expression | str) -> dict[str, Any]:
    """What the explorer shows of ``subject``: a trace's values, or a graph's structure."""
    if isinstance(subject, str | Expression):
        subject = explain(parse(subject) if isinstance(subject, str) else subject)
    if isinstance(subject, Trace):
        return validate(trace_data(subject))
    if isinstance(subject, Tensor | Node):
        subject = subject.graph
    if isinstance(subject, Graph):
        return validate(graph_data(subject))
    raise InvalidArgumentError(
        f"show() needs a trace, a graph, a node or an expression, got {type(subject).__name__}"
    )


def show(subject: Trace | Graph | Node | Expression | str, open_browser: bool = True) -> str:
    """Serve ``subject`` in the explorer on 127.0.0.1 and return the page's URL.

    A trace shows every node's value and gradient statistics; a graph (or a node's graph)
    its nodes in their name scopes. ``open_browser`` opens the page in the web browser.
    """
    data = view_data(subject)
    url = _servers.enter_context(serve_in_background(create_app(workers=1, graph=data)))
    print(f"chainrule explorer: {url}", flush=True)
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    return url
