# ruff: noqa: F403, F405  (the tutorial imports everything with *)
"""Deep Learning From Scratch, part IV: a perceptron separating two point clouds, trained by gradient descent.

Written as the tutorial writes it (``from chainrule import *``). Run:

    python examples/perceptron.py [OUT_DIR]

It prints the falling loss and the learnt weights and writes perceptron_line.png (the tutorial's
separating line) and perceptron_boundary.png into OUT_DIR (default: the current folder).
"""

import sys
from pathlib import Path

import matplotlib
import numpy as np

from chainrule import *
from chainrule import plots

matplotlib.use("Agg")  # write files, open no window
import matplotlib.pyplot as plt  # noqa: E402

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
out.mkdir(parents=True, exist_ok=True)

# Create red points centered at (-2, -2) and blue points centered at (2, 2)
np.random.seed(0)
red_points = np.random.randn(50, 2) - 2 * np.ones((50, 2))
blue_points = np.random.randn(50, 2) + 2 * np.ones((50, 2))

# Create a new graph
Graph().as_default()

X = placeholder()
c = placeholder()

# Initialize weights randomly
W = Variable(np.random.randn(2, 2))
b = Variable(np.random.randn(2))

# Build perceptron
p = softmax(add(matmul(X, W), b))

# Build cross-entropy loss
J = negative(reduce_sum(reduce_sum(multiply(c, log(p)), axis=1)))

# Build minimization op
minimization_op = GradientDescentOptimizer(learning_rate=0.01).minimize(J)

# Build placeholder inputs
feed_dict = {
    X: np.concatenate((blue_points, red_points)),
    c: [[1, 0]] * len(blue_points) + [[0, 1]] * len(red_points),
}

# Create session
session = Session()

# Perform 100 gradient descent steps
losses = []
for step in range(100):
    J_value = session.run(J, feed_dict)
    losses.append(J_value)
    if step % 10 == 0:
        print("Step:", step, " Loss:", J_value)
    session.run(minimization_op, feed_dict)

# Print final result
W_value = session.run(W)
print("Weight matrix:\n", W_value)
b_value = session.run(b)
print("Bias:\n", b_value)

labels = np.array([0] * len(blue_points) + [1] * len(red_points))
accuracy = np.mean(session.run(p, {X: feed_dict[X]}).argmax(axis=1) == labels)
print("Accuracy:", accuracy)

# The tutorial's picture: the line where both classes are equally likely, and the points.
# (p is 1/2 for both classes where x·(W[:,0] - W[:,1]) + b[0] - b[1] = 0.)
x_axis = np.linspace(-4, 4, 100)
w = W_value[:, 0] - W_value[:, 1]
y_axis = -w[0] / w[1] * x_axis - (b_value[0] - b_value[1]) / w[1]
plt.plot(x_axis, y_axis)
plt.scatter(red_points[:, 0], red_points[:, 1], color="red")
plt.scatter(blue_points[:, 0], blue_points[:, 1], color="blue")
plt.savefig(out / "perceptron_line.png")
print("Wrote", out / "perceptron_line.png")

# The same separation as chainrule draws it: the class of every point of a grid, one run.
picture = plots.decision_boundary(
    lambda points: session.run(p, {X: points}),
    feed_dict[X],
    labels,
    out / "perceptron_boundary.png",
    title="Perceptron",
)
print("Wrote", picture)
