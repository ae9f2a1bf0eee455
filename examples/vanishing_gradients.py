"""Vanishing gradients, seen: a deep sigmoid network next to the same network with ReLUs.

Each layer's gradient is its input's gradient times the local derivative of its activation.
A sigmoid's derivative is at most 0.25, so through eight sigmoid layers the gradient reaching
the first layer shrinks by a factor of thousands and that layer barely learns; a ReLU's
derivative is 1 where the unit is active, so the gradient keeps its size. Run:

    python examples/vanishing_gradients.py [--steps 300] [--watch]

It prints, for both networks, each layer's gradient norm against its weights' norm (from
``trace.summary()``), then trains both and prints their losses. ``--watch`` opens the live
page for each network while it trains (the gradient-norm chart shows the sigmoid layers'
lines far below the ReLU ones).
"""

import argparse

import numpy as np

import chainrule as cr

LAYERS = 8
WIDTH = 16


def network(activation, points, labels):
    """``LAYERS`` dense layers of ``WIDTH`` units with ``activation``, a softmax output."""
    rng = np.random.default_rng(0)
    graph = cr.Graph()
    with graph.as_default():
        X = cr.placeholder(cr.float64, shape=(None, 2), name="X")
        c = cr.placeholder(cr.float64, shape=(None, 2), name="c")
        h, width = X, 2
        for k in range(LAYERS):
            with cr.name_scope(f"layer{k}"):
                W = cr.Variable(rng.normal(size=(width, WIDTH)) * np.sqrt(2.0 / width), name="W")
                b = cr.Variable(np.zeros(WIDTH), name="b")
                h = activation(cr.matmul(h, W) + b)
            width = WIDTH
        with cr.name_scope("output"):
            W = cr.Variable(rng.normal(size=(width, 2)) * np.sqrt(1.0 / width), name="W")
            logits = cr.matmul(h, W)
        loss = cr.reduce_mean(
            cr.nn.softmax_cross_entropy_with_logits_v2(labels=c, logits=logits), name="loss"
        )
        train = cr.GradientDescentOptimizer(learning_rate=0.1).minimize(loss)
    return loss, train, {X: points, c: cr.data.one_hot(labels)}


def first_and_last(trace):
    """Gradient norms of the first and the last hidden layer's weights."""
    norms = {tn.name: tn.gradient_stats.norm for tn in trace.summary_nodes()}
    return norms["layer0/W"], norms[f"layer{LAYERS - 1}/W"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps (300)")
    parser.add_argument("--watch", action="store_true", help="watch each network train live")
    args = parser.parse_args()
    points, labels = cr.data.xor_clouds(seed=1)
    for name, activation in (("sigmoid", cr.sigmoid), ("ReLU", cr.nn.relu)):
        loss, train, feed = network(activation, points, labels)
        with cr.Session(graph=loss.graph) as session:
            trace = cr.explain(loss, feed, session=session)
            first, last = first_and_last(trace)
            print(f"\n{name} network, {LAYERS} layers, before training")
            print(trace.summary())
            print(f"gradient norm, first layer / last layer: {first / last:.2g}")
            watcher = cr.watch(session, loss) if args.watch else None
            start = session.run(loss, feed)
            for step in range(args.steps):
                session.run(train, feed)
                if watcher is not None and step % 5 == 0:
                    watcher.update(feed, step=step)
            print(f"loss {start:.4f} -> {session.run(loss, feed):.4f} after {args.steps} steps")
            if watcher is not None:
                input("press Enter to go on ")
                watcher.close()


if __name__ == "__main__":
    main()
