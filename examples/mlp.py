# ruff: noqa: F403, F405  (the tutorial imports everything with *)
"""Deep Learning From Scratch, part V: a multi-layer perceptron learns the XOR-like clusters no line can separate.

Written in the tutorial's style (``from chainrule import *``). Run:

    python examples/mlp.py [OUT_DIR]

It prints the loss every 100 steps and the accuracy, and writes mlp_boundary.png and
mlp_loss.png into OUT_DIR (default: the current folder).
"""

import sys
from pathlib import Path

import numpy as np

from chainrule import *
from chainrule import plots

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
out.mkdir(parents=True, exist_ok=True)

# Red points in the corners (0, 0) and (1, 1), blue points in the corners (0, 1) and (1, 0)
np.random.seed(1)
red_points = np.concatenate(
    (
        0.2 * np.random.randn(25, 2) + np.array([[0, 0]] * 25),
        0.2 * np.random.randn(25, 2) + np.array([[1, 1]] * 25),
    )
)
blue_points = np.concatenate(
    (
        0.2 * np.random.randn(25, 2) + np.array([[0, 1]] * 25),
        0.2 * np.random.randn(25, 2) + np.array([[1, 0]] * 25),
    )
)

# Create a new graph
Graph().as_default()

# Create training input placeholder
X = placeholder()

# Create placeholder for the training classes
c = placeholder()

# Build a hidden layer
W_hidden = Variable(np.random.randn(2, 2))
b_hidden = Variable(np.random.randn(2))
p_hidden = sigmoid(add(matmul(X, W_hidden), b_hidden))

# Build the output layer
W_output = Variable(np.random.randn(2, 2))
b_output = Variable(np.random.randn(2))
p_output = softmax(add(matmul(p_hidden, W_output), b_output))

# Build cross-entropy loss
J = negative(reduce_sum(reduce_sum(multiply(c, log(p_output)), axis=1)))

# Build minimization op
minimization_op = GradientDescentOptimizer(learning_rate=0.03).minimize(J)

# Build placeholder inputs
feed_dict = {
    X: np.concatenate((blue_points, red_points)),
    c: [[1, 0]] * len(blue_points) + [[0, 1]] * len(red_points),
}

# Create session
session = Session()

# Perform 1000 gradient descent steps
losses = []
for step in range(1000):
    J_value = session.run(J, feed_dict)
    losses.append(J_value)
    if step % 100 == 0:
        print("Step:", step, " Loss:", J_value)
    session.run(minimization_op, feed_dict)

# Print final result
W_hidden_value = session.run(W_hidden)
print("Hidden layer weight matrix:\n", W_hidden_value)
b_hidden_value = session.run(b_hidden)
print("Hidden layer bias:\n", b_hidden_value)
W_output_value = session.run(W_output)
print("Output layer weight matrix:\n", W_output_value)
b_output_value = session.run(b_output)
print("Output layer bias:\n", b_output_value)

labels = np.array([0] * len(blue_points) + [1] * len(red_points))
accuracy = np.mean(session.run(p_output, feed_dict).argmax(axis=1) == labels)
print("Final loss:", session.run(J, feed_dict), " Accuracy:", accuracy)

# The tutorial colours a grid point by point; one batched run over the whole grid is the same
# picture, much faster.
print(
    "Wrote",
    plots.decision_boundary(
        lambda points: session.run(p_output, {X: points}),
        feed_dict[X],
        labels,
        out / "mlp_boundary.png",
        title="Multi-layer perceptron",
    ),
)
print("Wrote", plots.loss_curve(losses, out / "mlp_loss.png", title="Multi-layer perceptron"))
