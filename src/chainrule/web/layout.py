"""Where the explorer draws each node and edge: laid out by Graphviz, name scopes collapsible.

The page sends no layout work to the browser: this module turns a trace's data (the
``tracefile`` schema, or ``Trace.to_dict()`` of an expression) into boxes with coordinates,
edges as Graphviz splines and the frames of expanded name scopes. A scope that is not
expanded is drawn as one box standing for all its nodes; big graphs start that way.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import ChainruleError, FailedPreconditionError

__all__ = ["layout", "LayoutError", "EXPAND_ALL_LIMIT", "scope_prefixes"]

#: graphs with at most this many nodes open with every name scope expanded
EXPAND_ALL_LIMIT = 80
#: seconds Graphviz may take for one layout
LAYOUT_TIMEOUT = 20.0
#: node and scope-box sizes in points (the page draws one point as one pixel)
NODE_SIZE = (128, 66)
BOX_SIZE = (150, 52)


class LayoutError(ChainruleError, RuntimeError):
    """Graphviz could not lay the graph out (missing, too slow or failing)."""


@dataclass
class _Item:
    id: str
    kind: str  # "node" or "scope"
    name: str
    cluster: str  # the expanded scope it is drawn inside ("" at the top)
    count: int = 1


def scope_prefixes(scope: str) -> list[str]:
    """``"a/b/c"`` → ``["a", "a/b", "a/b/c"]``."""
    parts = scope.split("/") if scope else []
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def layout(
    data: dict[str, Any],
    expanded: Iterable[str] | None = None,
    node_size: tuple[int, int] = NODE_SIZE,
) -> dict[str, Any]:
    """Coordinates for every shown node, scope box, edge and scope frame of ``data``.

    ``expanded`` lists the name scopes drawn open; ``None`` opens all of them in graphs of
    up to ``EXPAND_ALL_LIMIT`` nodes and none in bigger ones.
    """
    nodes = data["nodes"]
    scopes = sorted({p for node in nodes for p in scope_prefixes(node["scope"])})
    if expanded is None:
        expanded = scopes if len(nodes) <= EXPAND_ALL_LIMIT else []
    open_scopes = set(expanded) & set(scopes)
    items: dict[str, _Item] = {}
    item_of: dict[str, str] = {}
    for node in nodes:
        item = _item_for(node, open_scopes)
        item_of[node["name"]] = item.id
        if item.id in items:
            items[item.id].count += 1
        else:
            items[item.id] = item
    edges = _shown_edges(data["edges"], item_of)
    drawn = _run_graphviz(_dot_text(items, edges, node_size))
    result = _placed(drawn, items, edges)
    result.update(item_of=item_of, expanded=sorted(open_scopes), scopes=scopes)
    return result


def _item_for(node: dict[str, Any], open_scopes: set[str]) -> _Item:
    """The node itself, or the box of its outermost closed scope."""
    cluster = ""
    for prefix in scope_prefixes(node["scope"]):
        if prefix not in open_scopes:
            return _Item(f"scope:{prefix}", "scope", prefix, cluster)
        cluster = prefix
    return _Item(node["name"], "node", node["name"], cluster)


def _shown_edges(edges: list[dict[str, Any]], item_of: dict[str, str]) -> list[dict[str, Any]]:
    """Edges between shown items; edges into or out of a box are merged, inner ones dropped."""
    shown: dict[str, dict[str, Any]] = {}
    for edge in edges:
        src, dst = item_of[edge["src"]], item_of[edge["dst"]]
        if src == dst:
            continue
        edge_id = f"{edge['src']}->{edge['dst']}#{edge['index']}"
        boxed = src.startswith("scope:") or dst.startswith("scope:")
        key = f"{src}->{dst}" if boxed else edge_id
        entry = shown.setdefault(
            key,
            {
                "id": key,
                "src": src,
                "dst": dst,
                "local_derivative": None if boxed else edge["local_derivative"],
                "flows": False,
                "members": [],
            },
        )
        entry["flows"] = entry["flows"] or edge["flows"]
        entry["members"].append(edge_id)
    return list(shown.values())


def _label_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return {"Infinity": "∞", "-Infinity": "−∞"}.get(value, value)
    return f"{value:.5g}"


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _dot_text(
    items: dict[str, _Item], edges: list[dict[str, Any]], node_size: tuple[int, int]
) -> str:
    ids = {item_id: f"i{k}" for k, item_id in enumerate(items)}
    w, h = (size / 72 for size in node_size)
    bw, bh = (size / 72 for size in BOX_SIZE)
    lines = [
        "digraph g {",
        "  rankdir=BT; nodesep=0.35; ranksep=0.45; fontsize=11;",
        f'  node [shape=box, fixedsize=true, width={w:.4f}, height={h:.4f}, label=""];',
        "  edge [fontsize=10, arrowhead=none];",
    ]
    tree: dict[str, list[str]] = {}
    for item_id, item in items.items():
        size = f" [width={bw:.4f}, height={bh:.4f}]" if item.kind == "scope" else ""
        tree.setdefault(item.cluster, []).append(f"{ids[item_id]}{size};")
    framed = {prefix for scope in tree for prefix in scope_prefixes(scope)}
    lines.extend(_clusters(tree, framed, ""))
    for number, edge in enumerate(edges):
        label = _label_text(edge["local_derivative"])
        suffix = f", label={_quote(label)}" if label else ""
        lines.append(f"  {ids[edge['src']]} -> {ids[edge['dst']]} [id=e{number}{suffix}];")
    lines.append("}")
    return "\n".join(lines)


def _clusters(tree: dict[str, list[str]], framed: set[str], scope: str) -> list[str]:
    """The items of ``scope`` and, nested, the frames of its open sub-scopes."""
    lines = [f"  {line}" for line in tree.get(scope, [])]
    for child in sorted(s for s in framed if s.rpartition("/")[0] == scope):
        lines.append(f"  subgraph {_quote('cluster_' + child)} {{")
        lines.append(f"    label={_quote(child.rpartition('/')[2])};")
        lines.extend(f"  {line}" for line in _clusters(tree, framed, child))
        lines.append("  }")
    return lines


def _run_graphviz(text: str) -> dict[str, Any]:
    dot = shutil.which("dot")
    if dot is None:
        raise FailedPreconditionError(
            "the explorer lays graphs out with Graphviz, and its 'dot' program was not found: "
            "install Graphviz ('sudo apt-get install graphviz' on Debian or Ubuntu, "
            "'brew install graphviz' on macOS)"
        )
    try:
        done = subprocess.run(
            [dot, "-Tjson0"], input=text.encode(), capture_output=True, timeout=LAYOUT_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise LayoutError(f"Graphviz took longer than {LAYOUT_TIMEOUT:g} s") from None
    if done.returncode != 0:
        raise LayoutError(f"Graphviz failed: {done.stderr.decode(errors='replace').strip()}")
    return json.loads(done.stdout)


def _numbers(text: str) -> list[float]:
    return [float(v) for v in text.replace(",", " ").split()]


def _placed(
    drawn: dict[str, Any], items: dict[str, _Item], edges: list[dict[str, Any]]
) -> dict[str, Any]:
    """Graphviz's answer in page coordinates (y down, top-left corners, SVG path data)."""
    _, _, width, height = _numbers(drawn["bb"])
    item_ids = list(items)
    placed_items, clusters = [], []
    for obj in drawn.get("objects", []):
        if "bb" in obj and obj["name"].startswith("cluster_"):
            x0, y0, x1, y1 = _numbers(obj["bb"])
            lx, ly = _numbers(obj["lp"]) if "lp" in obj else ((x0 + x1) / 2, y1 - 8)
            clusters.append(
                {
                    "scope": obj["name"][len("cluster_") :],
                    "x": x0,
                    "y": height - y1,
                    "w": x1 - x0,
                    "h": y1 - y0,
                    "label_x": lx,
                    "label_y": height - ly,
                }
            )
        elif obj.get("pos"):
            item = items[item_ids[int(obj["name"][1:])]]
            x, y = _numbers(obj["pos"])
            w, h = float(obj["width"]) * 72, float(obj["height"]) * 72
            placed_items.append(
                {
                    "id": item.id,
                    "kind": item.kind,
                    "name": item.name,
                    "count": item.count,
                    "x": round(x - w / 2, 2),
                    "y": round(height - y - h / 2, 2),
                    "w": round(w, 2),
                    "h": round(h, 2),
                }
            )
    # Graphviz lists edges in its own order; each carries the id it was given
    by_id = {drawn_edge["id"]: drawn_edge for drawn_edge in drawn.get("edges", [])}
    for number, edge in enumerate(edges):
        drawn_edge = by_id[f"e{number}"]
        edge["path"] = _path(drawn_edge["pos"], height)
        if "lp" in drawn_edge:
            lx, ly = _numbers(drawn_edge["lp"])
            edge["label_x"], edge["label_y"] = lx, height - ly
    clusters.sort(key=lambda c: c["scope"].count("/"))
    return {"width": width, "height": height, "items": placed_items, "edges": edges,
            "clusters": clusters}  # fmt: skip


def _path(pos: str, height: float) -> str:
    """A Graphviz spline (``x,y x,y ...``, cubic Bézier pieces) as SVG path data, y flipped.

    Edges are laid out without arrowheads, so the spline ends on the consumer's border,
    where the page puts the arrowhead.
    """
    points = [_numbers(part) for part in pos.split() if not part.startswith(("e,", "s,"))]
    flip = [(x, height - y) for x, y in points]
    d = f"M{flip[0][0]:.1f},{flip[0][1]:.1f}"
    for k in range(1, len(flip) - 2, 3):
        (ax, ay), (bx, by), (cx, cy) = flip[k : k + 3]
        d += f" C{ax:.1f},{ay:.1f} {bx:.1f},{by:.1f} {cx:.1f},{cy:.1f}"
    return d
