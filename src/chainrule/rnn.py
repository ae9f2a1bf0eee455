"""TF1's recurrent networks (``tf.nn.rnn_cell``, ``tf.nn.dynamic_rnn``, ``tf.nn.static_rnn``).

The cells compute exactly what TF1's do, with TF1's variable names (``rnn/basic_lstm_cell/
kernel``, ``.../bias``), kernel layout (``[input + units, gates * units]``) and gate order
(LSTM: ``i, j, f, o``; GRU: ``r, u``), so weights saved by a TF1 program mean the same here.
``dynamic_rnn`` runs the cell in a ``while_loop`` over time; ``static_rnn`` unrolls it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .dtypes import as_dtype, float32, int32
from .errors import InvalidArgumentError
from .graph import Tensor
from .ops import init_ops
from .ops.array_ops import concat, fill, range, zeros
from .ops.base import Operation, convert_to_tensor
from .ops.control_flow_ops import flatten, loop_and_stack, pack_sequence_as
from .ops.linalg_ops import matmul
from .ops.logic_ops import less
from .ops.math_ops import cast, clip_by_value, sigmoid, tanh
from .ops.nn_ops import bias_add, dropout
from .ops.registry import RegisterGradient
from .ops.shape_ops import shape, transpose
from .ops.slice_ops import gather, split
from .ops.state_ops import AUTO_REUSE, get_variable, variable_scope

__all__ = [
    "RNNCell",
    "BasicRNNCell",
    "BasicLSTMCell",
    "LSTMCell",
    "GRUCell",
    "MultiRNNCell",
    "DropoutWrapper",
    "LSTMStateTuple",
    "dynamic_rnn",
    "static_rnn",
    "bidirectional_dynamic_rnn",
    "reverse_sequence",
]


class LSTMStateTuple(NamedTuple):
    """An LSTM's state: the cell state ``c`` and the output ``h`` (TF1's order)."""

    c: Any
    h: Any

    @property
    def dtype(self) -> Any:
        return self.c.dtype


class RNNCell:
    """A recurrent cell: ``output, new_state = cell(inputs, state)``; variables are made on the
    first call, in the variable scope of the caller plus the cell's name."""

    default_name = "rnn_cell"

    def __init__(
        self,
        num_units: int,
        activation: Callable[[Tensor], Tensor] | None = None,
        reuse: Any = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        self.num_units = int(num_units)
        self.activation = activation or tanh
        self.name = name or self.default_name
        self.dtype = as_dtype(dtype)
        self.built = False

    @property
    def state_size(self) -> Any:
        return self.num_units

    @property
    def output_size(self) -> int:
        return self.num_units

    def zero_state(self, batch_size: Any, dtype: Any) -> Any:
        """Zeros shaped like the state, for a batch of ``batch_size``."""
        sizes = self.state_size
        return pack_sequence_as(sizes, [zeros([batch_size, s], dtype) for s in flatten(sizes)])

    def __call__(self, inputs: Any, state: Any, scope: Any = None) -> tuple[Tensor, Any]:
        inputs = convert_to_tensor(inputs)
        if not self.built:
            self.build(inputs, scope)
        return self.call(inputs, state)

    def build(self, inputs: Tensor, scope: Any = None) -> None:
        """Make the variables for inputs of ``inputs``' width (once)."""
        depth = inputs.shape[-1] if inputs.shape is not None else None
        if depth is None:
            raise InvalidArgumentError(
                f"{type(self).__name__} needs inputs whose last size is known, got "
                f"'{inputs.name}' of shape {inputs.shape}"
            )
        self.dtype = self.dtype or inputs.dtype or float32
        with variable_scope(scope or self.name, reuse=AUTO_REUSE):
            self.make_variables(int(depth))
        self.built = True

    def weight(self, name: str, shape: Sequence[int], initializer: Any = None) -> Tensor:
        return get_variable(name, shape, dtype=self.dtype, initializer=initializer)

    def make_variables(self, depth: int) -> None:
        raise NotImplementedError

    def call(self, inputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        raise NotImplementedError


class BasicRNNCell(RNNCell):
    """``h = activation([x, h] @ kernel + bias)``."""

    default_name = "basic_rnn_cell"

    def make_variables(self, depth: int) -> None:
        self.kernel = self.weight("kernel", [depth + self.num_units, self.num_units])
        self.bias = self.weight("bias", [self.num_units], init_ops.zeros_initializer())

    def call(self, inputs: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        out = self.activation(bias_add(matmul(concat([inputs, state], 1), self.kernel), self.bias))
        return out, out


class BasicLSTMCell(RNNCell):
    """TF1's ``BasicLSTMCell``: gates ``i, j, f, o`` from one kernel; ``forget_bias`` is added
    to the forget gate; the state is ``LSTMStateTuple(c, h)`` (or ``[c, h]`` concatenated)."""

    default_name = "basic_lstm_cell"

    def __init__(
        self,
        num_units: int,
        forget_bias: float = 1.0,
        state_is_tuple: bool = True,
        activation: Callable[[Tensor], Tensor] | None = None,
        reuse: Any = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(num_units, activation, reuse, name, dtype)
        self.forget_bias = forget_bias
        self.state_is_tuple = state_is_tuple

    @property
    def state_size(self) -> Any:
        n = self.num_units
        return LSTMStateTuple(n, n) if self.state_is_tuple else 2 * n

    def make_variables(self, depth: int) -> None:
        self.kernel = self.weight("kernel", [depth + self.num_units, 4 * self.num_units])
        self.bias = self.weight("bias", [4 * self.num_units], init_ops.zeros_initializer())

    def _split_state(self, state: Any) -> tuple[Tensor, Tensor]:
        if self.state_is_tuple:
            c, h = state
            return c, h
        c, h = split(state, 2, axis=1)
        return c, h

    def _join_state(self, c: Tensor, h: Tensor) -> Any:
        return LSTMStateTuple(c, h) if self.state_is_tuple else concat([c, h], 1)

    def call(self, inputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        c, h = self._split_state(state)
        gates = bias_add(matmul(concat([inputs, h], 1), self.kernel), self.bias)
        i, j, f, o = split(gates, 4, axis=1)
        new_c = c * sigmoid(f + self.forget_bias) + sigmoid(i) * self.activation(j)
        new_h = self.activation(new_c) * sigmoid(o)
        return new_h, self._join_state(new_c, new_h)


class LSTMCell(BasicLSTMCell):
    """TF1's ``LSTMCell``: ``BasicLSTMCell`` plus optional peepholes (``w_f_diag``, ``w_i_diag``,
    ``w_o_diag``), clipping, and a projection of the output to ``num_proj`` units."""

    default_name = "lstm_cell"

    def __init__(
        self,
        num_units: int,
        use_peepholes: bool = False,
        cell_clip: float | None = None,
        initializer: Any = None,
        num_proj: int | None = None,
        proj_clip: float | None = None,
        forget_bias: float = 1.0,
        state_is_tuple: bool = True,
        activation: Callable[[Tensor], Tensor] | None = None,
        reuse: Any = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(num_units, forget_bias, state_is_tuple, activation, reuse, name, dtype)
        self.use_peepholes = use_peepholes
        self.cell_clip = cell_clip
        self.initializer = initializer
        self.num_proj = num_proj
        self.proj_clip = proj_clip

    @property
    def state_size(self) -> Any:
        out = self.num_proj or self.num_units
        return LSTMStateTuple(self.num_units, out) if self.state_is_tuple else self.num_units + out

    @property
    def output_size(self) -> int:
        return self.num_proj or self.num_units

    def make_variables(self, depth: int) -> None:
        out = self.num_proj or self.num_units
        n = self.num_units
        self.kernel = self.weight("kernel", [depth + out, 4 * n], self.initializer)
        self.bias = self.weight("bias", [4 * n], init_ops.zeros_initializer())
        if self.use_peepholes:
            self.w_f_diag = self.weight("w_f_diag", [n], self.initializer)
            self.w_i_diag = self.weight("w_i_diag", [n], self.initializer)
            self.w_o_diag = self.weight("w_o_diag", [n], self.initializer)
        if self.num_proj is not None:
            with variable_scope("projection"):
                self.projection = self.weight("kernel", [n, self.num_proj], self.initializer)

    def _split_state(self, state: Any) -> tuple[Tensor, Tensor]:
        if self.state_is_tuple:
            c, h = state
            return c, h
        c, h = split(state, [self.num_units, self.output_size], axis=1)
        return c, h

    def call(self, inputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        c_prev, m_prev = self._split_state(state)
        gates = bias_add(matmul(concat([inputs, m_prev], 1), self.kernel), self.bias)
        i, j, f, o = split(gates, 4, axis=1)
        if self.use_peepholes:
            f = f + self.w_f_diag * c_prev
            i = i + self.w_i_diag * c_prev
        c = sigmoid(f + self.forget_bias) * c_prev + sigmoid(i) * self.activation(j)
        if self.cell_clip is not None:
            c = _clip(c, self.cell_clip)
        if self.use_peepholes:
            o = o + self.w_o_diag * c
        m = sigmoid(o) * self.activation(c)
        if self.num_proj is not None:
            m = matmul(m, self.projection)
            if self.proj_clip is not None:
                m = _clip(m, self.proj_clip)
        return m, self._join_state(c, m)


def _clip(x: Tensor, bound: float) -> Tensor:
    return clip_by_value(x, -bound, bound)


class GRUCell(RNNCell):
    """TF1's ``GRUCell``: the reset gate ``r`` scales the state before the candidate's matrix
    product; ``h = u * h_prev + (1 - u) * candidate`` (gates' bias starts at one)."""

    default_name = "gru_cell"

    def __init__(
        self,
        num_units: int,
        activation: Callable[[Tensor], Tensor] | None = None,
        reuse: Any = None,
        kernel_initializer: Any = None,
        bias_initializer: Any = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(num_units, activation, reuse, name, dtype)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    def make_variables(self, depth: int) -> None:
        n = self.num_units
        with variable_scope("gates"):
            self.gate_kernel = self.weight("kernel", [depth + n, 2 * n], self.kernel_initializer)
            self.gate_bias = self.weight(
                "bias", [2 * n], self.bias_initializer or init_ops.ones_initializer()
            )
        with variable_scope("candidate"):
            self.candidate_kernel = self.weight("kernel", [depth + n, n], self.kernel_initializer)
            self.candidate_bias = self.weight(
                "bias", [n], self.bias_initializer or init_ops.zeros_initializer()
            )

    def call(self, inputs: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        gates = sigmoid(
            bias_add(matmul(concat([inputs, state], 1), self.gate_kernel), self.gate_bias)
        )
        r, u = split(gates, 2, axis=1)
        candidate = bias_add(
            matmul(concat([inputs, r * state], 1), self.candidate_kernel), self.candidate_bias
        )
        c = self.activation(candidate)
        new_h = u * state + (1 - u) * c
        return new_h, new_h


class MultiRNNCell(RNNCell):
    """Cells stacked: each one's output is the next one's input (``cell_0``, ``cell_1``...)."""

    default_name = "multi_rnn_cell"

    def __init__(self, cells: Sequence[RNNCell], state_is_tuple: bool = True):
        if not cells:
            raise InvalidArgumentError("MultiRNNCell needs at least one cell")
        if not state_is_tuple:
            raise InvalidArgumentError(
                "MultiRNNCell(state_is_tuple=False) is deprecated in TF1 and not supported; "
                "use the default state_is_tuple=True"
            )
        self.cells = list(cells)
        self.state_is_tuple = state_is_tuple
        self.name = self.default_name
        self.built = False
        self.dtype = None

    @property
    def state_size(self) -> Any:
        return tuple(cell.state_size for cell in self.cells)

    @property
    def output_size(self) -> int:
        return self.cells[-1].output_size

    def build(self, inputs: Tensor, scope: Any = None) -> None:
        self.built = True  # each cell makes its variables on its first call

    def call(self, inputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        new_states = []
        with variable_scope(self.name, reuse=AUTO_REUSE):
            for k, (cell, cell_state) in enumerate(zip(self.cells, state, strict=True)):
                with variable_scope(f"cell_{k}"):
                    inputs, new_state = cell(inputs, cell_state)
                new_states.append(new_state)
        return inputs, tuple(new_states)


class DropoutWrapper(RNNCell):
    """Dropout on a cell's inputs, outputs and state (keep probabilities as TF1's); a new mask
    each time step (TF1's ``variational_recurrent=False``)."""

    def __init__(
        self,
        cell: RNNCell,
        input_keep_prob: Any = 1.0,
        output_keep_prob: Any = 1.0,
        state_keep_prob: Any = 1.0,
        variational_recurrent: bool = False,
        input_size: Any = None,
        dtype: Any = None,
        seed: int | None = None,
    ):
        if variational_recurrent:
            raise InvalidArgumentError(
                "DropoutWrapper(variational_recurrent=True) is not supported: each time step "
                "draws its own mask"
            )
        self.cell = cell
        self.keep = (input_keep_prob, output_keep_prob, state_keep_prob)
        self.seed = seed
        self.name = cell.name
        self.built = False
        self.dtype = None

    @property
    def state_size(self) -> Any:
        return self.cell.state_size

    @property
    def output_size(self) -> int:
        return self.cell.output_size

    def build(self, inputs: Tensor, scope: Any = None) -> None:
        self.built = True

    def _dropped(self, x: Any, keep: Any) -> Any:
        if isinstance(keep, int | float) and keep == 1.0:
            return x
        return dropout(x, keep_prob=keep, seed=self.seed)

    def call(self, inputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        keep_in, keep_out, keep_state = self.keep
        output, new_state = self.cell(self._dropped(inputs, keep_in), state)
        flat = [self._dropped(s, keep_state) for s in flatten(new_state)]
        return self._dropped(output, keep_out), pack_sequence_as(new_state, flat)


# -- running a cell over time ------------------------------------------------------------------
def _initial_state(cell: RNNCell, batch: Any, initial_state: Any, dtype: Any) -> Any:
    if initial_state is not None:
        return initial_state
    if dtype is None:
        raise InvalidArgumentError("give initial_state or dtype to run an RNN")
    return cell.zero_state(batch, dtype)


def _masked(mask: Tensor | None, new: Any, old: Any) -> Any:
    """``new`` where ``mask`` is 1 (the step is within the sequence), else ``old``."""
    if mask is None:
        return new
    pairs = zip(flatten(new), flatten(old), strict=True)
    return pack_sequence_as(new, [o + mask * (n - o) for n, o in pairs])


def dynamic_rnn(
    cell: RNNCell,
    inputs: Any,
    sequence_length: Any = None,
    initial_state: Any = None,
    dtype: Any = None,
    parallel_iterations: Any = None,
    swap_memory: bool = False,
    time_major: bool = False,
    scope: Any = None,
) -> tuple[Tensor, Any]:
    """Run ``cell`` over the time steps of ``inputs`` in a ``while_loop`` (TF1's
    ``tf.nn.dynamic_rnn``): ``(outputs, final_state)``; past a row's ``sequence_length`` its
    outputs are zero and its state is carried through unchanged."""
    with variable_scope(scope or "rnn"):
        return _dynamic_rnn(cell, inputs, sequence_length, initial_state, dtype, time_major)


def _dynamic_rnn(
    cell: RNNCell,
    inputs: Any,
    sequence_length: Any,
    initial_state: Any,
    dtype: Any,
    time_major: bool,
) -> tuple[Tensor, Any]:
    """``dynamic_rnn`` in the current variable scope."""
    inputs = convert_to_tensor(inputs)
    steps = inputs if time_major else transpose(inputs, [1, 0, 2])
    batch = gather(shape(steps), 1)
    state = _initial_state(cell, batch, initial_state, dtype)
    out_dtype = flatten(state)[0].dtype
    if not cell.built:
        cell.build(gather(steps, 0))
    length = None if sequence_length is None else cast(sequence_length, int32)
    time = range(gather(shape(steps), 0))

    def step(element: Any, carry: Any) -> tuple[Any, Any]:
        x_t, t = element
        output, new_state = cell(x_t, carry)
        if length is None:
            return new_state, output
        mask = cast(less(t, length), out_dtype)[:, None]
        return _masked(mask, new_state, carry), output * mask

    final, (outputs,) = loop_and_stack(step, (steps, time), state, False, [out_dtype], "while")
    if not time_major:
        outputs = transpose(outputs, [1, 0, 2])
    return outputs, final


def static_rnn(
    cell: RNNCell,
    inputs: Sequence[Any],
    initial_state: Any = None,
    dtype: Any = None,
    sequence_length: Any = None,
    scope: Any = None,
) -> tuple[list[Tensor], Any]:
    """Run ``cell`` over a Python list of time steps, unrolled in the graph (TF1's
    ``tf.nn.static_rnn``): ``(list of outputs, final state)``."""
    inputs = [convert_to_tensor(x) for x in inputs]
    if not inputs:
        raise InvalidArgumentError("static_rnn needs at least one time step")
    with variable_scope(scope or "rnn"):
        state = _initial_state(cell, gather(shape(inputs[0]), 0), initial_state, dtype)
        out_dtype = flatten(state)[0].dtype
        length = None if sequence_length is None else cast(sequence_length, int32)
        outputs = []
        for t, x_t in enumerate(inputs):
            output, new_state = cell(x_t, state)
            if length is not None:
                mask = cast(less(t, length), out_dtype)[:, None]
                new_state, output = _masked(mask, new_state, state), output * mask
            state = new_state
            outputs.append(output)
    return outputs, state


class ReverseSequence(Operation):
    """Each row's first ``lengths[b]`` steps reversed along ``seq_axis`` (the rest kept)."""

    op_type = "ReverseSequence"
    numeric = True
    alias_inputs = ()

    def __init__(self, x: Any, lengths: Any, seq_axis: int, batch_axis: int, name: Any = None):
        self.seq_axis, self.batch_axis = seq_axis, batch_axis
        super().__init__([x, lengths], name=name)

    def infer(self, x: Tensor, lengths: Tensor) -> tuple[Any, Any]:
        return x.shape, x.dtype

    def compute(self, x: Any, lengths: Any) -> Any:
        out = np.array(x, copy=True)
        moved = np.moveaxis(out, (self.batch_axis, self.seq_axis), (0, 1))
        source = np.moveaxis(np.asarray(x), (self.batch_axis, self.seq_axis), (0, 1))
        for b, n in enumerate(np.asarray(lengths).reshape(-1)):
            moved[b, : int(n)] = source[b, : int(n)][::-1]
        return out


@RegisterGradient("ReverseSequence")
def _reverse_sequence_grad(op: ReverseSequence, grad: Tensor) -> list[Any]:
    return [ReverseSequence(grad, op.inputs[1], op.seq_axis, op.batch_axis), None]


def reverse_sequence(
    input: Any,
    seq_lengths: Any,
    seq_axis: int = 1,
    batch_axis: int = 0,  # noqa: A002
    name: Any = None,
) -> Tensor:
    """TF1's ``tf.reverse_sequence``: reverse each row's first ``seq_lengths[b]`` steps."""
    return ReverseSequence(input, seq_lengths, seq_axis, batch_axis, name=name)


def bidirectional_dynamic_rnn(
    cell_fw: RNNCell,
    cell_bw: RNNCell,
    inputs: Any,
    sequence_length: Any = None,
    initial_state_fw: Any = None,
    initial_state_bw: Any = None,
    dtype: Any = None,
    parallel_iterations: Any = None,
    swap_memory: bool = False,
    time_major: bool = False,
    scope: Any = None,
) -> tuple[tuple[Tensor, Tensor], tuple[Any, Any]]:
    """TF1's ``tf.nn.bidirectional_dynamic_rnn``: ``((out_fw, out_bw), (state_fw, state_bw))``;
    the backward cell reads each sequence from its last valid step to its first."""
    inputs = convert_to_tensor(inputs)
    seq_axis, batch_axis = (0, 1) if time_major else (1, 0)
    with variable_scope(scope or "bidirectional_rnn"):
        with variable_scope("fw"):
            out_fw, state_fw = _dynamic_rnn(
                cell_fw, inputs, sequence_length, initial_state_fw, dtype, time_major=time_major
            )
        lengths = _lengths(inputs, sequence_length, seq_axis, batch_axis)
        with variable_scope("bw"):
            reversed_inputs = reverse_sequence(inputs, lengths, seq_axis, batch_axis)
            out, state_bw = _dynamic_rnn(
                cell_bw,
                reversed_inputs,
                sequence_length,
                initial_state_bw,
                dtype,
                time_major=time_major,
            )
            out_bw = reverse_sequence(out, lengths, seq_axis, batch_axis)
    return (out_fw, out_bw), (state_fw, state_bw)


def _lengths(inputs: Tensor, sequence_length: Any, seq_axis: int, batch_axis: int) -> Tensor:
    """The rows' lengths: as given, else every row the full number of steps."""
    if sequence_length is not None:
        return cast(sequence_length, int32)
    return fill([gather(shape(inputs), batch_axis)], gather(shape(inputs), seq_axis))
