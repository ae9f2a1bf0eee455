"""The backprop notebook: backpropagation on small networks, checked against the slow way (perturbation).

Run:

    python examples/backprop_numbers.py [OUT_DIR]

1. The notebook's logistic-regression graph (x1=1.5, x2=2.5, w1=-4, w2=3, b=-1, y=1):
   forward values and the gradients of the log loss.
2. The 1-D interval network (1 -> 2 sigmoid -> 1 sigmoid) in its partly trained state: the
   loss, every parameter's gradient by backprop, and the notebook's perturbation study for each
   parameter (loss over a small range of the parameter, fitted slope) side by side. The
   picture goes to OUT_DIR/perturbation.png (default: the current folder).
3. One gradient-descent step with the slopes, as the notebook takes it, and the trained network.
"""

import sys
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import perturb, plots

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
out.mkdir(parents=True, exist_ok=True)

# -- 1. logistic regression ---------------------------------------------------------------
graph = cr.Graph()
with graph.as_default():
    x1 = cr.constant(1.5, cr.float64, name="x1")
    x2 = cr.constant(2.5, cr.float64, name="x2")
    y = cr.constant(1.0, cr.float64, name="y")
    w1 = cr.Variable(-4.0, dtype=cr.float64, name="w1")
    w2 = cr.Variable(3.0, dtype=cr.float64, name="w2")
    b = cr.Variable(-1.0, dtype=cr.float64, name="b")
    yhat = cr.sigmoid(w1 * x1 + w2 * x2 + b, name="yhat")
    L = cr.subtract(-y * cr.log(yhat), (1 - y) * cr.log(1 - yhat), name="L")
    dL_dw1, dL_dw2, dL_db = cr.gradients(L, [w1, w2, b])
    with cr.Session() as session:
        values = session.run({"yhat": yhat, "L": L, "w1": dL_dw1, "w2": dL_dw2, "b": dL_db})
print("Logistic regression")
print(f"  yhat = {values['yhat']:.4f}   L = {values['L']:.4f}")
print(f"  dL/dw1 = {values['w1']:.4f}   dL/dw2 = {values['w2']:.4f}   dL/db = {values['b']:.4f}")
# by hand: dL/db = yhat - y, dL/dw = (yhat - y) * x
assert np.isclose(values["b"], values["yhat"] - 1.0)
assert np.isclose(values["w1"], (values["yhat"] - 1.0) * 1.5)

# -- 2. the interval network: backprop and the perturbation study -------------------------
X, Y = cr.data.interval_task(51)  # X (1, 51) in [-1, 1]; Y = 1 where |x| > 0.5


def interval_network(weights, biases):
    """The notebook's Network: A = sigmoid(W @ A + b) per layer, log loss summed over points."""
    graph = cr.Graph()
    with graph.as_default():
        A = cr.constant(X, name="X")
        params = []
        for layer, (W_value, b_value) in enumerate(zip(weights, biases, strict=True), 1):
            W = cr.Variable(np.array(W_value), name=f"w{layer}")
            B = cr.Variable(np.array(b_value), name=f"b{layer}")
            A = cr.sigmoid(cr.matmul(W, A) + B)
            params += [W, B]
        loss = -cr.reduce_sum(Y * cr.log(A) + (1 - Y) * cr.log(1 - A), name="loss")
    return loss, params


weights = [[[-7.8751], [-8.3499]], [[5.0297, -4.0937]]]
biases = [[[-3.9181], [3.8380]], [[1.6347]]]
loss, params = interval_network(weights, biases)
with cr.Session(graph=loss.graph) as session:
    print(f"\nInterval network: original loss {session.run(loss):.3f}")
    results = perturb.perturbation_studies(loss, params, session=session)
print(perturb.table(results))
worst = max(r.difference for r in results)
print(f"largest difference between slope and backprop: {worst:.1e}")
print("Wrote", plots.perturbation(results, out / "perturbation.png"))

# -- 3. one step along the slopes, then the trained network -------------------------------
learning_rate = 0.002
# the parameters' values in the order of ``params`` (w1, b1, w2, b2), moved by -lr * slope
moved = [np.array(v, dtype=float) for pair in zip(weights, biases, strict=True) for v in pair]
stepped = dict(zip(params, moved, strict=True))
for r in results:
    stepped[r.variable][r.index] -= learning_rate * r.slope
new_loss, _ = interval_network(moved[0::2], moved[1::2])
with cr.Session(graph=new_loss.graph) as session:
    print(f"\nAfter one step: loss {session.run(new_loss):.3f}")

trained, _ = interval_network(
    [[[27.6292], [29.6453]], [[18.5647, -16.8853]]], [[[-13.8410], [14.6499]], [[7.7300]]]
)
with cr.Session(graph=trained.graph) as session:
    print(f"Trained network loss: {session.run(trained):.3f}")
