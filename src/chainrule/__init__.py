"""chainrule: computational graphs and reverse-mode autodiff in the style of TensorFlow 1.x,
with tools that show backpropagation.

    import chainrule as cr
    x = cr.placeholder(cr.float32, shape=[None, 2])
    ...
"""

import builtins as _builtins
import sys as _sys

from . import errors, layers, losses, metrics, nn, summary, train  # noqa: E402
from .autodiff import compute_gradients, gradients, hessians
from .dtypes import (  # noqa: A004
    DType,
    as_dtype,
    bool,
    float16,
    float32,
    float64,
    int32,
    int64,
    string,
)
from .graph import (
    Graph,
    GraphKeys,
    Node,
    Tensor,
    TensorShape,
    add_to_collection,
    add_to_collections,
    control_dependencies,
    get_collection,
    get_collection_ref,
    get_default_graph,
    name_scope,
    reset_default_graph,
)
from .ops import operators as _operators  # noqa: F401 - gives nodes + - * / @ < ~ [...]
from .ops.array_ops import *  # noqa: F403
from .ops.base import Constant, Operation, Placeholder, constant, convert_to_tensor, placeholder
from .ops.broadcast_ops import *  # noqa: F403
from .ops.clip_ops import *  # noqa: F403
from .ops.control_flow_ops import *  # noqa: F403
from .ops.debug_ops import *  # noqa: F403
from .ops.init_ops import *  # noqa: F403
from .ops.linalg_ops import *  # noqa: F403
from .ops.logic_ops import *  # noqa: F403
from .ops.math_ops import *  # noqa: F403
from .ops.nn_ops import *  # noqa: F403
from .ops.pad_ops import *  # noqa: F403
from .ops.random_ops import *  # noqa: F403
from .ops.reduction_ops import *  # noqa: F403
from .ops.registry import NotDifferentiable, RegisterGradient, no_gradient
from .ops.shape_ops import *  # noqa: F403
from .ops.slice_ops import *  # noqa: F403
from .ops.softmax_ops import *  # noqa: F403
from .ops.state_ops import *  # noqa: F403
from .rnn import reverse_sequence
from .runtime.session import InteractiveSession, Session, get_default_session
from .train import GradientDescentOptimizer

_LAZY = {
    "checks": ("checks", None),
    "expr": ("expr", None),
    "data": ("data", None),
    "explain": ("trace", "explain"),
    "trace": ("trace", None),
    "to_dot": ("dot", "to_dot"),
    "render": ("dot", "render"),
    "compat": ("compat", None),
    "plots": ("plots", None),
    "perturb": ("perturb", None),
    "show": ("web.show", "show"),
    "watch": ("web.watch", "watch"),
}


def __getattr__(name: str):
    """Import the heavier tools (pictures, expressions, data) on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module 'chainrule' has no attribute '{name}'")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(f"{__name__}.{module_name}")
    return module if attribute is None else getattr(module, attribute)


__version__ = "0.1.0"

if "IPython" in _sys.modules:  # show graphs and nodes as pictures in Jupyter
    from .notebook import register_ipython as _register_ipython

    _register_ipython()

# ``from chainrule import *`` (as the Deep Learning From Scratch programs do) must not hide Python's builtins
# such as abs, pow, round or bool; those stay reachable as ``cr.abs`` etc.
__all__ = sorted(
    name
    for name, value in list(globals().items())
    if not name.startswith("_") and name not in dir(_builtins)
)
