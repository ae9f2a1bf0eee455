"""The chainrule exception family: every error names the node, its op type and the user's line."""

from __future__ import annotations

import importlib
import os
import sys
import sysconfig
from types import ModuleType
from typing import Any

__all__ = [
    "ChainruleError",
    "ShapeError",
    "DTypeError",
    "InvalidArgumentError",
    "NotFoundError",
    "GraphError",
    "FailedPreconditionError",
    "OutOfRangeError",
    "ExprSyntaxError",
    "MissingDependencyError",
    "require_module",
]


def describe(node: Any) -> str:
    """``MatMul 'MatMul_3' (model.py:12)``: how errors name a node (a tensor by its operation)."""
    node = getattr(node, "op", node)
    where = getattr(node, "source", None)
    place = f" ({where})" if where else ""
    return f"{node.op_type} '{node.name}'{place}"


def _library_dirs() -> tuple[str, ...]:
    """Where Python's own modules and installed packages live (never the user's program)."""
    paths = sysconfig.get_paths()
    dirs = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    return tuple(dirs | {os.path.join(sys.prefix, "bin"), _PACKAGE_DIR})


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_LIBRARY_DIRS = _library_dirs()


def user_source_line() -> str | None:
    """``model.py:12``: the line of the user's program that led here, or ``None`` when the
    call came from no program of the user's (the command line tools, the explorer server)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None or frame.f_code.co_filename.startswith((*_LIBRARY_DIRS, "<frozen")):
        return None
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


class ChainruleError(Exception):
    """Base of all chainrule errors; ``node`` is the graph node at fault, if any.

    An error about no node (raised before the op exists, or about an argument) names the
    user's line instead, so every error points into the user's program.
    """

    def __init__(self, message: str, node: Any = None):
        node = getattr(node, "op", node)  # a tensor's error names its operation
        self.node = node
        self.message = message
        if node is not None:
            super().__init__(f"{describe(node)}: {message}")
            return
        line = user_source_line()
        super().__init__(f"{line}: {message}" if line else message)


class DTypeError(ChainruleError, TypeError):
    """Incompatible or unsupported dtypes."""


class InvalidArgumentError(ChainruleError, ValueError):
    """A bad argument to ``Session.run`` or an op: missing or malformed feeds, bad values."""


class ShapeError(InvalidArgumentError):
    """Shapes that cannot work together (found at construction or at run time).

    An ``InvalidArgumentError`` too, as in TF1, so ``except tf.errors.InvalidArgumentError``
    catches it.
    """


class NotFoundError(ChainruleError, LookupError):
    """A name, op type, gradient or checkpoint that does not exist."""


class GraphError(ChainruleError, ValueError):
    """Misuse of graphs: mixing nodes of two graphs, building on a finalized graph, etc."""


class FailedPreconditionError(ChainruleError, RuntimeError):
    """An operation on an object in the wrong state, e.g. running a closed session."""


class OutOfRangeError(ChainruleError, IndexError):
    """An iterator ran past its last element (TF1's end of a ``tf.data`` input pipeline)."""


class ExprSyntaxError(ChainruleError, ValueError):
    """A malformed expression; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, text: str = "", position: int = 0):
        self.text = text
        self.position = position
        caret = f"\n  {text}\n  {' ' * position}^" if text else ""
        super().__init__(f"{message} at position {position}{caret}")


class MissingDependencyError(NotFoundError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""


def require_module(module: str, extra: str, purpose: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or say which ``pip install 'chainrule[extra]'`` provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(
            f"{purpose} needs {package or module}, which is not installed: "
            f"pip install 'chainrule[{extra}]'"
        ) from err
