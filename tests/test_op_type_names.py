"""Op-type names written as strings in the sources: each names a registered op type, and the
runtime (plan, session, passes) names none, since the op facts it needs live on the op classes.

The names are found with ``ast`` where the code refers to op types: comparisons with
``.op_type`` (or ``.op.type``), ``op_type = "X"`` and ``op_type="X"``, ``RegisterGradient``/``NotDifferentiable``
arguments (also through a loop over a literal tuple), and in the runtime the CamelCase strings
of dict, set and tuple literals (rule tables keyed by op type).
"""

import ast
import importlib
import re
from pathlib import Path

import pytest

import chainrule as cr  # registers the built-in op types
import chainrule.distributed.ops  # noqa: F401 - registers the collectives' op types
import chainrule.train  # noqa: F401 - registers the optimizers' op types
from chainrule.graph import Node
from chainrule.ops.base import Constant, Operation, Placeholder
from chainrule.ops.registry import gradient_function, op_types
from chainrule.ops.state_ops import VariableOp

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
TESTS = ROOT / "tests"
RUNTIME = SRC / "chainrule" / "runtime"
PASSES = RUNTIME / "passes"
GRADIENT_DECLARATIONS = {"RegisterGradient", "NotDifferentiable", "no_gradient"}
OP_TYPE_LIKE = re.compile(r"[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*")
#: names that tests give to op types that must not exist (to test the error)
NAMES_OF_ABSENT_OP_TYPES = {"NoSuchOp"}
#: graph nodes that are not operations (so not in the op registry) but have an op type
LEAF_NODE_KINDS = (Node, Constant, Placeholder, VariableOp)


def strings_in(node):
    """Every string constant inside ``node`` (nested tuples, lists, sets, dicts included)."""
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and type(n.value) is str]


def reads_op_type(node):
    """``x.op_type`` or TF1's ``x.op.type``."""
    if not isinstance(node, ast.Attribute):
        return False
    return node.attr == "op_type" or (
        node.attr == "type" and isinstance(node.value, ast.Attribute) and node.value.attr == "op"
    )


def called_name(call):
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def loop_literals(tree):
    """Loop variable -> the strings of the literal tuple it runs over (``for t in ("A", "B")``)."""
    loops = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            if isinstance(node.iter, ast.Tuple | ast.List | ast.Set):
                loops[node.target.id] = strings_in(node.iter)
    return loops


def op_type_references(tree):
    """Strings used as op types: compared with ``.op_type``, assigned or passed as
    ``op_type``, or given to ``RegisterGradient``/``NotDifferentiable``."""
    loops = loop_literals(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            map(reads_op_type, [node.left, *node.comparators])
        ):
            found += strings_in(node)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is not None and any(
                getattr(t, "id", getattr(t, "attr", None)) == "op_type" for t in targets
            ):
                found += strings_in(node.value)
        elif isinstance(node, ast.Call):
            found += [s for k in node.keywords if k.arg == "op_type" for s in strings_in(k.value)]
            if called_name(node) in GRADIENT_DECLARATIONS and node.args:
                argument = node.args[0]
                if isinstance(argument, ast.Name):
                    found += loops.get(argument.id, [])
                else:
                    found += strings_in(argument)
    return found


def table_literals(tree):
    """CamelCase strings in dict, set and tuple literals and ``frozenset``/``set`` calls."""
    found = []
    for node in ast.walk(tree):
        is_table = isinstance(node, ast.Dict | ast.Set | ast.Tuple) or (
            isinstance(node, ast.Call) and called_name(node) in {"frozenset", "set"}
        )
        if is_table:
            found += [s for s in strings_in(node) if OP_TYPE_LIKE.fullmatch(s)]
    return found


def python_files(*folders):
    return sorted(p for folder in folders for p in folder.rglob("*.py"))


def parse(path):
    return ast.parse(path.read_text(), filename=str(path))


def named_op_types():
    """(file, name) for every op-type name written in ``src/`` and ``tests/``."""
    names = set()
    for path in python_files(SRC, TESTS):
        tree = parse(path)
        found = op_type_references(tree)
        if path.is_relative_to(RUNTIME):
            found += table_literals(tree)
        names |= {(path.relative_to(ROOT).as_posix(), name) for name in found}
    return sorted(names)


def classes_defined_in(relative_path):
    """Names of the classes a file defines anywhere (tests define ops inside test functions)."""
    tree = parse(ROOT / relative_path)
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}


def defined_by_the_test_module(where, name):
    """Test modules register their op types when imported, or when the test defining one runs."""
    if not (ROOT / where).is_relative_to(TESTS):
        return False
    importlib.import_module(Path(where).stem)
    return name in op_types or name in classes_defined_in(where)


def test_leaf_node_kinds_are_not_operations():
    """The op types outside the registry are those of the graph's leaves, which do not compute."""
    for kind in LEAF_NODE_KINDS:
        assert not issubclass(kind, Operation) and kind.op_type not in op_types


def test_the_scan_finds_the_names_it_should():
    """The scan sees each kind of reference (else the registry test below proves nothing)."""
    names = {name for _, name in named_op_types()}
    assert {
        "SoftmaxCrossEntropyWithLogitsGrad",  # a table of pairs in the fusion pass
        "ReluGrad",  # compared with .op_type in a pass
        "Softmax",  # RegisterGradient and op_type = in the op module
        "AssignAdd",  # NotDifferentiable in a loop over a tuple
        "HiddenShape",  # RegisterGradient in the test oracle
        "MatMul",  # a rule table in the runtime, and compared in tests
    } <= names


@pytest.mark.parametrize("where, name", named_op_types())
def test_every_named_op_type_is_registered(where, name):
    """A name that no op registers is a typo or a stale rule: it silently never matches."""
    if name in NAMES_OF_ABSENT_OP_TYPES:
        assert name not in op_types
    elif name not in {kind.op_type for kind in LEAF_NODE_KINDS}:
        assert name in op_types or defined_by_the_test_module(where, name), (
            f"{where} names op type {name!r}, which no Operation registers"
        )


def runtime_op_type_names():
    """Where the runtime names an op type as a string, reads ``.op_type`` in a pass or
    compares class names."""
    names = set(op_types) | {name for _, name in named_op_types()}
    found = []
    for path in python_files(RUNTIME):
        tree = parse(path)
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append((where, node.lineno, f"string {node.value!r}"))
            is_pass = path.is_relative_to(PASSES)
            if is_pass and isinstance(node, ast.Attribute) and node.attr in {"op_type", "__name__"}:
                found.append((where, node.lineno, f"reads .{node.attr}"))
    return [f"{where}:{line}: {what}" for where, line, what in sorted(found)]


def test_runtime_names_no_op_type():
    assert runtime_op_type_names() == []


def test_every_optimizer_update_op_type_is_registered_without_gradient():
    """Each optimizer's update op is a class of its own, so its type is in the registry."""
    var = cr.Variable([1.0, 2.0])
    loss = cr.reduce_sum(var * var)
    optimizers = [
        cr.train.GradientDescentOptimizer(0.1),
        cr.train.MomentumOptimizer(0.1, 0.9),
        cr.train.AdamOptimizer(),
        cr.train.RMSPropOptimizer(0.1),
        cr.train.RMSPropOptimizer(0.1, centered=True),
        cr.train.AdagradOptimizer(0.1),
    ]
    for optimizer in optimizers:
        optimizer.minimize(loss)
    kinds = {n.op_type for n in cr.get_default_graph().get_operations()}
    updates = {k for k in kinds if k.startswith("Apply")}
    assert len(updates) == 6, updates
    for kind in updates:
        assert kind in op_types
        assert gradient_function(op_types[kind]) is None
