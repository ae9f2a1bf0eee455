"""Imports only go down the layers: a module never imports one of a higher layer.

Every import is counted, also those inside functions. The layer order is written once here and
once in docs/architecture.md.
"""

import ast
import pathlib

import pytest

SOURCE = pathlib.Path(__file__).resolve().parent.parent / "src" / "chainrule"

#: lowest first; a module may import its own layer and the layers before it
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("errors", "dtypes")),
    ("graph model", ("graph",)),
    ("ops", ("ops",)),
    ("TF1 library", ("nn", "rnn", "losses", "layers", "metrics", "summary")),
    ("autodiff", ("autodiff",)),
    ("runtime", ("runtime",)),
    ("training", ("train",)),
    ("data", ("data",)),
    ("distributed training", ("distributed",)),
    (
        "seeing",
        (
            "checks",
            "stats",
            "trace",
            "tracefile",
            "expr",
            "dot",
            "notebook",
            "perturb",
            "plots",
            "web",
        ),
    ),
    ("command line and namespaces", ("cli", "compat", "__init__", "__main__")),
]

LAYER_OF = {top: rank for rank, (_, tops) in enumerate(LAYERS) for top in tops}


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top(module: str) -> str:
    """The first component below ``chainrule`` (``ops`` for ``chainrule.ops.base``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imported_modules(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every chainrule import in ``path``, wherever it stands."""
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("chainrule")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("chainrule"):
                module = node.module
            else:
                continue
            if node.module is None or module == "chainrule":  # from . import x: x is a module
                found += [(node.lineno, f"{module}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, module))
    return found


def _layer(module: str) -> int:
    return LAYER_OF[_top(module)]


SOURCES = sorted(SOURCE.rglob("*.py"))


def test_every_module_belongs_to_a_layer():
    unplaced = {_top(_module_name(p)) for p in SOURCES} - set(LAYER_OF)
    assert not unplaced, f"add these to LAYERS and docs/architecture.md: {sorted(unplaced)}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SOURCE)))
def test_imports_only_go_down_the_layers(path):
    own = _layer(_module_name(path))
    upward = [
        f"line {line}: {module} ({LAYERS[_layer(module)][0]})"
        for line, module in _imported_modules(path)
        if _top(module) in LAYER_OF and _layer(module) > own
    ]
    assert not upward, f"{path.name} ({LAYERS[own][0]}) imports upward: {upward}"


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
    """The parser resolves ``from ..x import y`` and finds imports inside functions."""
    module = SOURCE / "ops" / "state_ops.py"
    imported = {m for _, m in _imported_modules(module)}
    assert "chainrule.graph" in imported
    assert "chainrule.ops.init_ops" in imported  # imported inside get_variable


def test_architecture_doc_lists_the_same_layers():
    doc = (SOURCE.parent.parent / "docs" / "architecture.md").read_text()
    for name, tops in LAYERS:
        assert name in doc, name
        for top in tops:
            assert top in doc, top
