"""TF1's RNN cells, dynamic_rnn, static_rnn and bidirectional_dynamic_rnn: values and gradients
against PyTorch's nn.RNN / nn.LSTM (weights mapped from TF1's kernel layout and gate order),
loops written out, and central finite differences; TF1's variable names."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import checks
from oracle import check_op

rnn_cell = cr.nn.rnn_cell
B, T, D, H = 3, 5, 4, 6


def _inputs(rng, batch=B, steps=T):
    return rng.standard_normal((batch, steps, D))


def _run_rnn(cell, x, lengths=None, time_major=False, extra=()):
    """Outputs, final state and gradients of a fixed loss w.r.t. inputs and variables."""
    xs = cr.placeholder(cr.float64, [None, None, D])
    feed_x = np.transpose(x, (1, 0, 2)) if time_major else x
    seq = None if lengths is None else cr.constant(np.asarray(lengths, np.int32))
    out, state = cr.nn.dynamic_rnn(
        cell, xs, sequence_length=seq, dtype=cr.float64, time_major=time_major
    )
    flat_state = cr.ops.control_flow_ops.flatten(state)
    loss = cr.reduce_sum(out * out) + cr.add_n([cr.reduce_sum(cr.sin(s)) for s in flat_state])
    variables = cr.trainable_variables()
    grads = cr.gradients(loss, [xs, *variables])
    with cr.Session() as s:
        s.run(cr.global_variables_initializer())
        weights = s.run(variables)
        values = s.run([out, *flat_state, *grads, *extra], {xs: feed_x})
    n = len(flat_state)
    out_value = values[0]
    grad_x = values[1 + n]
    if time_major:
        out_value = np.transpose(out_value, (1, 0, 2))
        grad_x = np.transpose(grad_x, (1, 0, 2))
    return {
        "names": [v.op.name for v in variables],
        "weights": weights,
        "out": out_value,
        "state": values[1 : 1 + n],
        "grad_x": grad_x,
        "grad_w": values[2 + n : 2 + n + len(variables)],
    }


def _torch_loss(out, states):
    return (out * out).sum() + sum(torch.sin(s).sum() for s in states)


def _lstm_to_torch(kernel, bias, forget_bias=1.0):
    """TF1's [D + H, 4H] kernel with gates i, j, f, o as PyTorch's nn.LSTM (gates i, f, g, o)."""
    i, j, f, o = np.split(kernel, 4, axis=1)
    bi, bj, bf, bo = np.split(bias, 4)
    w = np.concatenate([i, f, j, o], axis=1)
    b = np.concatenate([bi, bf + forget_bias, bj, bo])
    depth = kernel.shape[0] - H
    lstm = torch.nn.LSTM(depth, H, batch_first=True).double()
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(w[:depth].T))
        lstm.weight_hh_l0.copy_(torch.tensor(w[depth:].T))
        lstm.bias_ih_l0.copy_(torch.tensor(b))
        lstm.bias_hh_l0.zero_()
    return lstm


def _lstm_grads_to_tf(lstm):
    """PyTorch's weight gradients in TF1's kernel layout and gate order."""
    w = np.concatenate([lstm.weight_ih_l0.grad.numpy().T, lstm.weight_hh_l0.grad.numpy().T], axis=0)
    b = lstm.bias_ih_l0.grad.numpy()  # bias_hh has the same gradient: both add to the gates
    i, f, j, o = np.split(w, 4, axis=1)
    bi, bf, bj, bo = np.split(b, 4)
    return np.concatenate([i, j, f, o], axis=1), np.concatenate([bi, bj, bf, bo])


@pytest.mark.parametrize("time_major", [False, True])
def test_basic_lstm_matches_torch_lstm(rng, time_major):
    x = _inputs(rng)
    got = _run_rnn(rnn_cell.BasicLSTMCell(H), x, time_major=time_major)
    assert got["names"] == ["rnn/basic_lstm_cell/kernel", "rnn/basic_lstm_cell/bias"]
    kernel, bias = got["weights"]
    assert kernel.shape == (D + H, 4 * H) and bias.shape == (4 * H,)
    lstm = _lstm_to_torch(kernel, bias)
    tx = torch.tensor(x, requires_grad=True)
    out, (h, c) = lstm(tx)
    _torch_loss(out, [c[0], h[0]]).backward()
    np.testing.assert_allclose(got["out"], out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(got["state"][0], c[0].detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(got["state"][1], h[0].detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(got["grad_x"], tx.grad.numpy(), atol=1e-12)
    grad_kernel, grad_bias = _lstm_grads_to_tf(lstm)
    np.testing.assert_allclose(got["grad_w"][0], grad_kernel, atol=1e-12)
    np.testing.assert_allclose(got["grad_w"][1], grad_bias, atol=1e-12)


def test_sequence_length_zeroes_outputs_and_carries_the_state(rng):
    x = _inputs(rng)
    lengths = [5, 0, 2]
    got = _run_rnn(rnn_cell.BasicLSTMCell(H), x, lengths=lengths)
    lstm = _lstm_to_torch(*got["weights"])
    for b, n in enumerate(lengths):
        row = torch.tensor(x[b : b + 1, :n])
        if n:
            out, (h, c) = lstm(row)
            np.testing.assert_allclose(got["out"][b, :n], out[0].detach().numpy(), atol=1e-12)
            np.testing.assert_allclose(got["state"][1][b], h[0, 0].detach().numpy(), atol=1e-12)
        else:
            np.testing.assert_array_equal(got["state"][0][b], np.zeros(H))
        np.testing.assert_array_equal(got["out"][b, n:], 0.0)
    np.testing.assert_array_equal(got["grad_x"][1], 0.0)
    np.testing.assert_array_equal(got["grad_x"][2, 2:], 0.0)


def test_batch_size_one_and_a_single_step(rng):
    got = _run_rnn(rnn_cell.BasicLSTMCell(H), _inputs(rng, batch=1, steps=1))
    lstm = _lstm_to_torch(*got["weights"])
    out, _ = lstm(torch.tensor(_inputs(np.random.default_rng(1234), batch=1, steps=1)))
    assert got["out"].shape == (1, 1, H)
    np.testing.assert_allclose(got["out"], out.detach().numpy(), atol=1e-12)


def test_basic_rnn_matches_torch_rnn(rng):
    x = _inputs(rng)
    got = _run_rnn(rnn_cell.BasicRNNCell(H), x)
    assert got["names"] == ["rnn/basic_rnn_cell/kernel", "rnn/basic_rnn_cell/bias"]
    kernel, bias = got["weights"]
    net = torch.nn.RNN(D, H, batch_first=True).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.tensor(kernel[:D].T))
        net.weight_hh_l0.copy_(torch.tensor(kernel[D:].T))
        net.bias_ih_l0.copy_(torch.tensor(bias))
        net.bias_hh_l0.zero_()
    tx = torch.tensor(x, requires_grad=True)
    out, h = net(tx)
    _torch_loss(out, [h[0]]).backward()
    np.testing.assert_allclose(got["out"], out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(got["grad_x"], tx.grad.numpy(), atol=1e-12)
    grad_kernel = np.concatenate([net.weight_ih_l0.grad.T, net.weight_hh_l0.grad.T], axis=0)
    np.testing.assert_allclose(got["grad_w"][0], grad_kernel, atol=1e-12)


def _torch_gru(x, gate_kernel, gate_bias, cand_kernel, cand_bias):
    """TF1's GRU written out: the reset gate scales the state before the candidate's product."""
    h = torch.zeros(x.shape[0], H, dtype=torch.float64)
    outs = []
    for t in range(x.shape[1]):
        gates = torch.sigmoid(torch.cat([x[:, t], h], 1) @ gate_kernel + gate_bias)
        r, u = gates.split(H, 1)
        c = torch.tanh(torch.cat([x[:, t], r * h], 1) @ cand_kernel + cand_bias)
        h = u * h + (1 - u) * c
        outs.append(h)
    return torch.stack(outs, 1), h


def test_gru_matches_a_loop_written_out(rng):
    x = _inputs(rng)
    got = _run_rnn(rnn_cell.GRUCell(H), x)
    assert got["names"] == [
        "rnn/gru_cell/gates/kernel",
        "rnn/gru_cell/gates/bias",
        "rnn/gru_cell/candidate/kernel",
        "rnn/gru_cell/candidate/bias",
    ]
    np.testing.assert_array_equal(got["weights"][1], np.ones(2 * H))
    weights = [torch.tensor(w, requires_grad=True) for w in got["weights"]]
    tx = torch.tensor(x, requires_grad=True)
    out, h = _torch_gru(tx, *weights)
    _torch_loss(out, [h]).backward()
    np.testing.assert_allclose(got["out"], out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(got["grad_x"], tx.grad.numpy(), atol=1e-12)
    for g, w in zip(got["grad_w"], weights, strict=True):
        np.testing.assert_allclose(g, w.grad.numpy(), atol=1e-12)


def test_lstm_cell_with_peepholes_and_projection_matches_a_loop_written_out(rng):
    x = _inputs(rng)
    proj = 3
    cell = rnn_cell.LSTMCell(H, use_peepholes=True, num_proj=proj, cell_clip=2.0)
    got = _run_rnn(cell, x)
    assert got["names"] == [
        "rnn/lstm_cell/kernel",
        "rnn/lstm_cell/bias",
        "rnn/lstm_cell/w_f_diag",
        "rnn/lstm_cell/w_i_diag",
        "rnn/lstm_cell/w_o_diag",
        "rnn/lstm_cell/projection/kernel",
    ]
    kernel, bias, wf, wi, wo, pk = [torch.tensor(w, requires_grad=True) for w in got["weights"]]
    tx = torch.tensor(x, requires_grad=True)
    c = torch.zeros(B, H, dtype=torch.float64)
    m = torch.zeros(B, proj, dtype=torch.float64)
    outs = []
    for t in range(T):
        i, j, f, o = (torch.cat([tx[:, t], m], 1) @ kernel + bias).split(H, 1)
        c = torch.sigmoid(f + 1.0 + wf * c) * c + torch.sigmoid(i + wi * c) * torch.tanh(j)
        c = torch.clamp(c, -2.0, 2.0)
        m = (torch.sigmoid(o + wo * c) * torch.tanh(c)) @ pk
        outs.append(m)
    out = torch.stack(outs, 1)
    _torch_loss(out, [c, m]).backward()
    np.testing.assert_allclose(got["out"], out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(got["grad_x"], tx.grad.numpy(), atol=1e-12)
    for g, w in zip(got["grad_w"], (kernel, bias, wf, wi, wo, pk), strict=True):
        np.testing.assert_allclose(g, w.grad.numpy(), atol=1e-12)


def test_static_rnn_matches_dynamic_rnn(rng):
    x = _inputs(rng)
    lengths = np.array([5, 1, 3], np.int32)
    steps = [cr.constant(x[:, t]) for t in range(T)]
    cell = rnn_cell.BasicLSTMCell(H)
    outs, state = cr.nn.static_rnn(cell, steps, dtype=cr.float64, sequence_length=lengths)
    with cr.variable_scope("rnn", reuse=True):
        dyn_out, dyn_state = cr.nn.dynamic_rnn(
            cell, cr.constant(x), sequence_length=lengths, dtype=cr.float64
        )
    assert len(cr.global_variables()) == 2
    with cr.Session() as s:
        s.run(cr.global_variables_initializer())
        a, b = s.run([cr.stack(outs, 1), dyn_out])
        sa, sb = s.run([state, dyn_state])
    np.testing.assert_allclose(a, b, atol=1e-14)
    np.testing.assert_allclose(sa.h, sb.h, atol=1e-14)


def test_multi_rnn_cell_names_and_values(rng):
    cell = rnn_cell.MultiRNNCell([rnn_cell.BasicLSTMCell(H), rnn_cell.BasicLSTMCell(H)])
    x = _inputs(rng)
    got = _run_rnn(cell, x)
    assert got["names"] == [
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel",
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias",
        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/kernel",
        "rnn/multi_rnn_cell/cell_1/basic_lstm_cell/bias",
    ]
    first = _lstm_to_torch(*got["weights"][:2])
    second = _lstm_to_torch(*got["weights"][2:])
    out, _ = second(first(torch.tensor(x))[0])
    np.testing.assert_allclose(got["out"], out.detach().numpy(), atol=1e-12)


def test_lstm_state_not_as_tuple(rng):
    x = _inputs(rng)
    got = _run_rnn(rnn_cell.BasicLSTMCell(H, state_is_tuple=False), x)
    out, (h, c) = _lstm_to_torch(*got["weights"])(torch.tensor(x))
    assert got["state"][0].shape == (B, 2 * H)
    np.testing.assert_allclose(got["state"][0][:, H:], h[0].detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(got["state"][0][:, :H], c[0].detach().numpy(), atol=1e-12)


def test_weights_loaded_by_name_give_the_same_network(rng):
    """Weights kept by their TF1 names (as a TF1 checkpoint holds them) load into the same
    variables and give PyTorch's outputs for those weights."""
    fixture = {
        "rnn/basic_lstm_cell/kernel": rng.standard_normal((D + H, 4 * H)) * 0.5,
        "rnn/basic_lstm_cell/bias": rng.standard_normal(4 * H) * 0.1,
    }
    x = _inputs(rng)
    out, _ = cr.nn.dynamic_rnn(rnn_cell.BasicLSTMCell(H), cr.constant(x), dtype=cr.float64)
    with cr.Session() as s:
        s.run(cr.global_variables_initializer())
        for var in cr.global_variables():
            var.load(fixture[var.op.name], s)
        got = s.run(out)
    lstm = _lstm_to_torch(
        fixture["rnn/basic_lstm_cell/kernel"], fixture["rnn/basic_lstm_cell/bias"]
    )
    np.testing.assert_allclose(got, lstm(torch.tensor(x))[0].detach().numpy(), atol=1e-12)


def _lstm_with_kernel(xs, k):
    """``dynamic_rnn`` of a ``BasicLSTMCell`` whose kernel is the tensor ``k`` (bias zero):
    outputs and state, differentiable with respect to the kernel."""
    cell = rnn_cell.BasicLSTMCell(H, name=f"cell_{len(cr.global_variables())}")
    cell.dtype = cr.float64
    cell.built = True
    cell.kernel, cell.bias = k, cr.zeros([4 * H], cr.float64)
    return cr.nn.dynamic_rnn(cell, xs, dtype=cr.float64)


def _lstm_loss(xs, k):
    out, state = _lstm_with_kernel(xs, k)
    return cr.reduce_sum(out * out) + cr.reduce_sum(state.c)


def test_dynamic_rnn_gradient_matches_finite_differences(rng):
    x = _inputs(rng, batch=2, steps=3)
    kernel = rng.standard_normal((D + H, 4 * H)) * 0.3
    assert checks.gradient_error(_lstm_loss, [x, kernel]) < 1e-6


def test_dynamic_rnn_second_derivatives_match_torch_lstm(rng):
    """Second derivatives through the LSTM's loop, against PyTorch's ``nn.LSTM``."""
    x0 = _inputs(rng, batch=2, steps=3)
    kernel0 = rng.standard_normal((D + H, 4 * H)) * 0.3

    def torch_fn(xs, k):
        i, j, f, o = torch.split(k, H, dim=1)
        w = torch.cat([i, f, j, o], dim=1)  # PyTorch's gate order
        lstm = torch.nn.LSTM(D, H, batch_first=True).double()
        bias = torch.cat([torch.zeros(H), torch.ones(H), torch.zeros(2 * H)]).double()
        weights = {
            "weight_ih_l0": w[:D].T,
            "weight_hh_l0": w[D:].T,
            "bias_ih_l0": bias,
            "bias_hh_l0": torch.zeros_like(bias),
        }
        return torch.func.functional_call(lstm, weights, (xs,))[0]

    check_op(
        lambda xs, k: _lstm_with_kernel(xs, k)[0],
        torch_fn,
        [x0, kernel0],
        second_order=True,
        finite_differences=False,
    )


def test_dynamic_rnn_second_derivatives_match_finite_differences(rng):
    x0 = _inputs(rng, batch=2, steps=3)
    kernel0 = rng.standard_normal((D + H, 4 * H)) * 0.3
    v = rng.standard_normal((D + H, 4 * H))

    def directional_gradient(xs, k):
        return cr.reduce_sum(cr.gradients(_lstm_loss(xs, k), k)[0] * v)

    assert checks.gradient_error(directional_gradient, [x0, kernel0]) < 1e-6


def test_bidirectional_dynamic_rnn_reads_each_sequence_backwards(rng):
    x = _inputs(rng)
    lengths = np.array([5, 2, 0], np.int32)
    fw, bw = rnn_cell.BasicLSTMCell(H), rnn_cell.BasicLSTMCell(H)
    (out_fw, out_bw), (state_fw, state_bw) = cr.nn.bidirectional_dynamic_rnn(
        fw, bw, cr.constant(x), sequence_length=lengths, dtype=cr.float64
    )
    names = [v.op.name for v in cr.global_variables()]
    assert names == [
        "bidirectional_rnn/fw/basic_lstm_cell/kernel",
        "bidirectional_rnn/fw/basic_lstm_cell/bias",
        "bidirectional_rnn/bw/basic_lstm_cell/kernel",
        "bidirectional_rnn/bw/basic_lstm_cell/bias",
    ]
    with cr.Session() as s:
        s.run(cr.global_variables_initializer())
        weights = s.run(cr.global_variables())
        got_bw, got_state = s.run([out_bw, state_bw])
    lstm = _lstm_to_torch(*weights[2:])
    for b, n in enumerate(lengths):
        if not n:
            np.testing.assert_array_equal(got_bw[b], 0.0)
            continue
        out, (h, _) = lstm(torch.tensor(x[b : b + 1, :n][:, ::-1].copy()))
        np.testing.assert_allclose(got_bw[b, :n], out[0].detach().numpy()[::-1], atol=1e-12)
        np.testing.assert_allclose(got_state.h[b], h[0, 0].detach().numpy(), atol=1e-12)
        np.testing.assert_array_equal(got_bw[b, n:], 0.0)


def test_dropout_wrapper_keeps_everything_at_keep_prob_one(rng):
    x = _inputs(rng)
    plain = _run_rnn(rnn_cell.BasicLSTMCell(H), x)
    cr.reset_default_graph()
    wrapped = _run_rnn(rnn_cell.DropoutWrapper(rnn_cell.BasicLSTMCell(H), output_keep_prob=1.0), x)
    assert wrapped["names"] == plain["names"]


def test_zero_state_has_the_state_structure():
    cell = rnn_cell.LSTMCell(H, num_proj=2)
    state = cell.zero_state(4, cr.float32)
    assert isinstance(state, rnn_cell.LSTMStateTuple)
    with cr.Session() as s:
        c, h = s.run(state)
    assert c.shape == (4, H) and h.shape == (4, 2)


def test_dropout_wrapper_drops_outputs_and_refuses_what_it_cannot_do(rng):
    x = cr.constant(np.ones((B, T, D)))
    cell = rnn_cell.DropoutWrapper(rnn_cell.BasicRNNCell(H), output_keep_prob=0.5, seed=3)
    out, _ = cr.nn.dynamic_rnn(cell, x, dtype=cr.float64)
    g = cr.gradients(cr.reduce_sum(out), x)[0]
    with cr.Session() as s:
        s.run(cr.global_variables_initializer())
        value, grad = s.run([out, g])
    assert 0 < np.count_nonzero(value) < value.size
    assert np.all(np.isfinite(grad))
    with pytest.raises(cr.errors.InvalidArgumentError, match="variational_recurrent"):
        rnn_cell.DropoutWrapper(rnn_cell.BasicRNNCell(H), variational_recurrent=True)
    with pytest.raises(cr.errors.InvalidArgumentError, match="state_is_tuple"):
        rnn_cell.MultiRNNCell([rnn_cell.BasicRNNCell(H)], state_is_tuple=False)
