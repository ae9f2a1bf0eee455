"""A chainrule graph as a TensorFlow ``GraphDef``, the form TensorBoard's graph tab draws."""

from __future__ import annotations

from typing import Any

from ..dtypes import DType
from ..errors import require_module
from ..graph import Graph, Node, Tensor

#: TensorFlow's ``DataType`` names of chainrule's dtypes
_TF_TYPES = {
    "float16": "DT_HALF",
    "float32": "DT_FLOAT",
    "float64": "DT_DOUBLE",
    "int8": "DT_INT8",
    "int16": "DT_INT16",
    "int32": "DT_INT32",
    "int64": "DT_INT64",
    "uint8": "DT_UINT8",
    "bool": "DT_BOOL",
    "string": "DT_STRING",
}


def _protos(name: str) -> Any:
    return require_module(
        f"tensorboard.compat.proto.{name}", "tensorboard", "a TensorBoard graph", "tensorboard"
    )


def graph_def(graph: Graph) -> Any:
    """A ``GraphDef`` with one ``NodeDef`` per node: name, op type, inputs (``^name`` for
    control inputs), and dtype and shape attributes where they are known."""
    graph_pb2 = _protos("graph_pb2")
    return graph_pb2.GraphDef(node=[node_def(node) for node in graph.get_operations()])


def node_def(node: Node) -> Any:
    """The ``NodeDef`` of one chainrule node."""
    inputs = [_input_name(t) for t in node.inputs] + [f"^{c.name}" for c in node.control_inputs]
    attr = {}
    if node.dtype is not None:
        attr["dtype"] = _protos("attr_value_pb2").AttrValue(type=_tf_type(node.dtype))
    attr["_output_shapes"] = _protos("attr_value_pb2").AttrValue(
        list=_protos("attr_value_pb2").AttrValue.ListValue(shape=[_shape_proto(node.shape)])
    )
    return _protos("node_def_pb2").NodeDef(name=node.name, op=node.op_type, input=inputs, attr=attr)


def _tf_type(dtype: DType) -> int:
    types_pb2 = _protos("types_pb2")
    return types_pb2.DataType.Value(_TF_TYPES.get(dtype.name, "DT_INVALID"))


def _shape_proto(shape: tuple[int | None, ...] | None) -> Any:
    """A ``TensorShapeProto``: ``-1`` for unknown sizes, ``unknown_rank`` for unknown shapes."""
    tensor_shape_pb2 = _protos("tensor_shape_pb2")
    if shape is None:
        return tensor_shape_pb2.TensorShapeProto(unknown_rank=True)
    dims = [tensor_shape_pb2.TensorShapeProto.Dim(size=-1 if d is None else int(d)) for d in shape]
    return tensor_shape_pb2.TensorShapeProto(dim=dims)


def _input_name(tensor: Tensor) -> str:
    """How a GraphDef names an input: ``op`` for an op's first output, ``op:i`` for the others."""
    return tensor.op.name if tensor.value_index == 0 else tensor.name
