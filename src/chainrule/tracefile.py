"""Traces and graphs as files: JSON data with a strict schema, never code.

``Trace.save(path)`` writes every node (name, op, scope, shape, dtype, value and gradient
statistics, arrays up to ``SAVED_ARRAY_LIMIT`` numbers) and every edge (with its local
derivative where it is a number). A ``while_loop``'s node also keeps its variables after
each iteration and the gradient with respect to them (backpropagation through time): of a
loop that ran long, the first ``SAVED_ITERATIONS - 1`` rows and the last. ``load(path)``
reads such a file back as plain data and refuses anything the schema does not allow:
unknown or missing fields, wrong types, names that do not refer to nodes, arrays that do not
fit their shape. ``graph_data(graph)`` is the same data for a graph without values, so the
explorer shows both alike.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from .errors import InvalidArgumentError
from .graph import Graph, Node
from .trace import Trace, node_kind, node_label, scope_of

__all__ = [
    "FORMAT",
    "VERSION",
    "SAVED_ARRAY_LIMIT",
    "SAVED_ITERATIONS",
    "save",
    "load",
    "validate",
    "graph_data",
]

FORMAT = "chainrule-trace"
#: version 2 added the loops' iterations; version 1 files (without them) still load
VERSION = 2
READABLE_VERSIONS = (1, 2)
#: values and gradients with at most this many numbers are saved in full
SAVED_ARRAY_LIMIT = 4096
#: the largest trace file ``load`` reads
MAX_FILE_BYTES = 256 * 1024 * 1024
#: the most nodes a trace file may hold
MAX_NODES = 200_000
#: the most numbers one saved value or gradient may hold
MAX_SAVED_NUMBERS = 1_000_000
#: the most rows of a loop's iterations a file keeps (the first ones and the last)
SAVED_ITERATIONS = 100
#: the most variables one loop may carry in a file
MAX_LOOP_VARIABLES = 1000
_MAX_DEPTH = 32
_MAX_TEXT = 4096
_KINDS = ("placeholder", "variable", "constant", "op")
_NON_FINITE = ("NaN", "Infinity", "-Infinity")
_STATS_KEYS = {
    "size": "int",
    "mean": "number",
    "std": "number",
    "min": "number",
    "max": "number",
    "norm": "number",
    "zero_fraction": "number",
    "nonfinite": "int",
    "histogram": "ints",
    "low": "number",
    "high": "number",
}


class TraceFileError(InvalidArgumentError):
    """A trace file that is not valid trace data (it names the first problem found)."""


# -- writing ------------------------------------------------------------------------------------
def trace_data(trace: Trace, array_limit: int = SAVED_ARRAY_LIMIT) -> dict[str, Any]:
    """The trace as data in the file's schema."""
    full = trace.to_dict(max_paths=0, array_limit=array_limit)
    keep = ("name", "op_type", "label", "kind", "scope", "inputs", "shape", "dtype", "source")
    nodes = [
        {
            **{key: node[key] for key in keep},
            **{key: node[key] for key in ("value", "gradient", "value_stats", "gradient_stats")},
            **_loop_fields(node),
        }
        for node in full["nodes"]
    ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "output": full["output"],
        "expression": full["expression"],
        "value": full["value"],
        "variables": full["variables"],
        "nodes": nodes,
        "edges": full["edges"],
    }


def _loop_fields(node: dict[str, Any]) -> dict[str, Any]:
    """A loop's iterations as saved: how many it ran, and its rows (after 0, 1, ... iterations)
    of variables and gradients, at most ``SAVED_ITERATIONS`` of them (the first and the last)."""
    if "iterations" not in node:
        return {}
    rows = node["iterations"]
    fields = {"iteration_count": len(rows) - 1, "iterations": _kept_rows(rows)}
    if "iteration_gradients" in node:
        fields["iteration_gradients"] = _kept_rows(node["iteration_gradients"])
    return fields


def _kept_rows(rows: list[Any]) -> list[Any]:
    return rows if len(rows) <= SAVED_ITERATIONS else [*rows[: SAVED_ITERATIONS - 1], rows[-1]]


def graph_data(graph: Graph) -> dict[str, Any]:
    """A graph without values in the file's schema: its nodes, scopes and edges."""
    nodes = graph.get_operations()
    if not nodes:
        raise InvalidArgumentError("the graph is empty: build some nodes first")
    return {
        "format": FORMAT,
        "version": VERSION,
        "output": nodes[-1].name,
        "expression": None,
        "value": None,
        "variables": [n.name for n in nodes if node_kind(n) in ("placeholder", "variable")],
        "nodes": [_graph_node(n) for n in nodes],
        "edges": [
            {
                "src": src.op.name,
                "dst": n.name,
                "index": i,
                "local_derivative": None,
                "flows": True,
            }
            for n in nodes
            for i, src in enumerate(n.inputs)
        ],
    }


def _graph_node(node: Node) -> dict[str, Any]:
    shape = None if node.shape is None else [-1 if d is None else int(d) for d in node.shape]
    return {
        "name": node.name,
        "op_type": node.op_type,
        "label": node_label(node),
        "kind": node_kind(node),
        "scope": scope_of(node.name),
        "inputs": [inp.op.name for inp in node.inputs],
        "shape": shape,
        "dtype": None if node.dtype is None else node.dtype.name,
        "source": node.source,
        "value": None,
        "gradient": None,
        "value_stats": None,
        "gradient_stats": None,
    }


def save(trace: Trace, path: str | os.PathLike[str]) -> str:
    """Write ``trace`` as JSON to ``path`` (atomically: a partial file never replaces one)."""
    target = Path(path)
    data = validate(trace_data(trace))
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(data, allow_nan=False, separators=(",", ":")), "utf-8")
    os.replace(partial, target)
    return str(target)


# -- reading --------------------------------------------------------------------------------------
def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a trace file; the data, or a ``TraceFileError`` naming the problem."""
    source = Path(path)
    size = source.stat().st_size
    if size > MAX_FILE_BYTES:
        raise TraceFileError(f"{source} is {size} bytes; trace files may hold {MAX_FILE_BYTES}")
    try:
        data = json.loads(source.read_bytes(), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as err:
        raise TraceFileError(f"{source} is not a trace file: {err}") from None
    return validate(data)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (non-finite numbers are written as strings)")


def validate(data: Any) -> dict[str, Any]:
    """``data`` if it follows the trace schema exactly, else a ``TraceFileError``."""
    top = _object(data, "the trace", {
        "format": "text", "version": "int", "output": "text", "expression": "text?",
        "value": "value", "variables": "texts", "nodes": "list", "edges": "list",
    })  # fmt: skip
    if top["format"] != FORMAT or top["version"] not in READABLE_VERSIONS:
        raise TraceFileError(
            f"not a {FORMAT} file of version {' or '.join(map(str, READABLE_VERSIONS))} "
            f"(format {top['format']!r}, version {top['version']!r})"
        )
    if len(top["nodes"]) > MAX_NODES:
        raise TraceFileError(f"the trace holds {len(top['nodes'])} nodes; the limit is {MAX_NODES}")
    known: set[str] = set()
    for number, node in enumerate(top["nodes"]):
        _check_node(node, f"node {number}", known, loops=top["version"] >= 2)
        known.add(node["name"])
    for number, edge in enumerate(top["edges"]):
        _check_edge(edge, f"edge {number}", known)
    for name in [top["output"], *top["variables"]]:
        if name not in known:
            raise TraceFileError(f"'{name}' is named as output or variable but is no node")
    return top


_NODE_FIELDS = {
    "name": "text", "op_type": "text", "label": "text", "kind": "text", "scope": "text",
    "inputs": "texts", "shape": "shape", "dtype": "text?", "source": "text",
    "value": "value", "gradient": "value", "value_stats": "stats", "gradient_stats": "stats",
}  # fmt: skip
#: a loop's node also has these (a file of version 2 or later)
_LOOP_FIELDS = {"iteration_count": "int", "iterations": "list"}
_LOOP_GRADIENT_FIELDS = {**_LOOP_FIELDS, "iteration_gradients": "list"}


def _check_node(node: Any, where: str, known: set[str], loops: bool = True) -> None:
    fields = _NODE_FIELDS
    if loops and isinstance(node, dict) and "iterations" in node:
        extra = _LOOP_GRADIENT_FIELDS if "iteration_gradients" in node else _LOOP_FIELDS
        fields = {**_NODE_FIELDS, **extra}
    node = _object(node, where, fields)
    where = f"node '{node['name']}'"
    if node["name"] in known:
        raise TraceFileError(f"{where} appears twice")
    if node["kind"] not in _KINDS:
        raise TraceFileError(f"{where}: kind must be one of {', '.join(_KINDS)}")
    for name in node["inputs"]:
        if name not in known:
            raise TraceFileError(f"{where}: its input '{name}' is not a node listed before it")
    for key in ("value", "gradient"):
        _check_array(node[key], node["shape"], f"{where}: {key}")
    if "iterations" in node:
        _check_iterations(node, where)


def _check_iterations(node: dict[str, Any], where: str) -> None:
    """A loop's rows: as many as it ran iterations plus one (at most ``SAVED_ITERATIONS``),
    each a list of one entry per loop variable; gradients row for row alike."""
    count, rows = node["iteration_count"], node["iterations"]
    if count < 0:
        raise TraceFileError(f"{where}: 'iteration_count' must not be negative")
    if len(rows) != min(count + 1, SAVED_ITERATIONS):
        raise TraceFileError(
            f"{where}: 'iterations' holds {len(rows)} rows; a loop that ran {count} "
            f"iterations has {min(count + 1, SAVED_ITERATIONS)} in a file"
        )
    width = len(rows[0]) if rows and isinstance(rows[0], list) else 0
    if not 1 <= width <= MAX_LOOP_VARIABLES:
        raise TraceFileError(
            f"{where}: each row of 'iterations' must be a list of 1 to {MAX_LOOP_VARIABLES} "
            "loop variables"
        )
    for key in ("iterations", "iteration_gradients"):
        if key in node:
            _check_rows(node[key], len(rows), width, f"{where}: {key}")


def _check_rows(rows: list[Any], count: int, width: int, where: str) -> None:
    if len(rows) != count:
        raise TraceFileError(f"{where} holds {len(rows)} rows, not {count}")
    for k, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise TraceFileError(
                f"{where}: row {k} must be a list of {width} entries, one per loop variable"
            )
        for entry in row:
            if entry is not None and not _is_number(entry) and not _is_array(entry):
                raise TraceFileError(
                    f"{where}: row {k} holds an entry that is not a number, nested lists of "
                    f"numbers (of at most {MAX_SAVED_NUMBERS}) or null"
                )


def _is_array(value: Any) -> bool:
    """Nested lists of numbers, rectangular, of at most ``MAX_SAVED_NUMBERS`` numbers."""
    dims: list[int] = []
    inner = value
    while isinstance(inner, list) and len(dims) < _MAX_DEPTH:
        dims.append(len(inner))
        inner = inner[0] if inner else None
    if isinstance(inner, list) or math.prod(dims) > MAX_SAVED_NUMBERS:
        return False
    return _nested_fits(value, dims)


def _check_edge(edge: Any, where: str, known: set[str]) -> None:
    edge = _object(edge, where, {
        "src": "text", "dst": "text", "index": "int", "local_derivative": "number?",
        "flows": "bool",
    })  # fmt: skip
    for end in ("src", "dst"):
        if edge[end] not in known:
            raise TraceFileError(f"{where}: '{edge[end]}' is not a node")


def _object(value: Any, where: str, fields: dict[str, str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TraceFileError(f"{where} must be a JSON object")
    unknown = sorted(set(value) - set(fields))
    missing = sorted(set(fields) - set(value))
    if unknown or missing:
        problem = f"unknown fields {unknown}" if unknown else f"missing fields {missing}"
        raise TraceFileError(f"{where} has {problem}")
    for key, kind in fields.items():
        if not _fits(value[key], kind):
            raise TraceFileError(f"{where}: '{key}' must be {_DESCRIPTIONS[kind]}")
    return value


_DESCRIPTIONS = {
    "text": "a string",
    "text?": "a string or null",
    "texts": "a list of strings",
    "int": "an integer",
    "bool": "true or false",
    "list": "a list",
    "number": "a number",
    "number?": "a number or null",
    "ints": "a list of integers",
    "shape": "a list of sizes (-1 for unknown) or null",
    "value": "a number, nested lists of numbers or null",
    "stats": "an object of statistics or null",
}


def _fits(value: Any, kind: str) -> bool:
    if kind.endswith("?"):
        return value is None or _fits(value, kind[:-1])
    if kind == "text":
        return isinstance(value, str) and len(value) <= _MAX_TEXT
    if kind == "texts":
        return isinstance(value, list) and all(_fits(v, "text") for v in value)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "number":
        return _is_number(value)
    if kind == "ints":
        return isinstance(value, list) and all(_fits(v, "int") and v >= 0 for v in value)
    if kind == "shape":
        return value is None or (
            isinstance(value, list) and all(_fits(v, "int") and v >= -1 for v in value)
        )
    if kind == "value":
        return value is None or _is_number(value) or isinstance(value, list)
    if kind == "stats":
        return value is None or _stats_fit(value)
    raise AssertionError(kind)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return value in _NON_FINITE


def _stats_fit(value: Any) -> bool:
    if not isinstance(value, dict) or set(value) != set(_STATS_KEYS):
        return False
    return all(_fits(value[key], kind) for key, kind in _STATS_KEYS.items())


def _check_array(value: Any, shape: list[int] | None, where: str) -> None:
    """A value must be a number (for a shape of one element) or nested lists of its shape."""
    if value is None:
        return
    dims = shape if shape is not None else []
    if not isinstance(value, list):
        if _is_number(value) and math.prod(dims) == 1:
            return
        raise TraceFileError(f"{where} does not fit the shape {dims}")
    if math.prod(dims) > MAX_SAVED_NUMBERS:
        raise TraceFileError(f"{where} holds more than {MAX_SAVED_NUMBERS} numbers")
    if not _nested_fits(value, list(dims)):
        raise TraceFileError(f"{where} is not nested lists of numbers of shape {dims}")


def _nested_fits(value: Any, dims: list[int]) -> bool:
    if not dims:
        return _is_number(value)
    if not isinstance(value, list) or len(value) != dims[0]:
        return False
    return all(_nested_fits(item, dims[1:]) for item in value)
