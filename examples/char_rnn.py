"""A character-level LSTM, written as a TF1 program: it learns to continue a short text.

Every window of 12 characters of the text is one training sequence; at each step the LSTM
(``tf.nn.dynamic_rnn``, a ``while_loop`` over the characters) predicts the next character.
The loss falls from about ln(number of characters) to near zero in under a minute, and the
trained network then writes the text back, one character at a time, from its first letters.

    .venv/bin/python examples/char_rnn.py [--epochs 150]
"""

from __future__ import annotations

import argparse

import numpy as np

import chainrule.compat.v1 as tf

TEXT = "backpropagation is the chain rule, applied from the loss back to every weight. "
WINDOW, UNITS = 12, 64


def windows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every window of the text (inputs) and the same window shifted by one (targets)."""
    starts = range(len(codes) - WINDOW)
    inputs = np.stack([codes[s : s + WINDOW] for s in starts])
    targets = np.stack([codes[s + 1 : s + WINDOW + 1] for s in starts])
    return inputs, targets


def build(vocabulary: int) -> dict[str, tf.Tensor]:
    """One-hot characters in, an LSTM, a readout per step, mean cross-entropy, Adam."""
    chars = tf.placeholder(tf.int32, [None, None], name="chars")
    targets = tf.placeholder(tf.int32, [None, None], name="targets")
    cell = tf.nn.rnn_cell.BasicLSTMCell(UNITS)
    outputs, state = tf.nn.dynamic_rnn(cell, tf.one_hot(chars, vocabulary), dtype=tf.float32)
    logits = tf.layers.dense(outputs, vocabulary, name="readout")
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
    )
    train = tf.train.AdamOptimizer(0.01).minimize(loss)
    return {"chars": chars, "targets": targets, "logits": logits, "loss": loss, "train": train}


def continue_text(sess: tf.Session, model: dict, start: str, alphabet: list[str], n: int) -> str:
    """Greedy continuation: feed the text so far, append the most likely next character."""
    index = {c: i for i, c in enumerate(alphabet)}
    text = start
    for _ in range(n):
        codes = np.array([[index[c] for c in text[-WINDOW:]]])
        logits = sess.run(model["logits"], {model["chars"]: codes})
        text += alphabet[int(np.argmax(logits[0, -1]))]
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=150)
    args = parser.parse_args()
    alphabet = sorted(set(TEXT))
    codes = np.array([alphabet.index(c) for c in TEXT])
    inputs, targets = windows(codes)
    model = build(len(alphabet))
    feed = {model["chars"]: inputs, model["targets"]: targets}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        print(f"{len(alphabet)} characters; loss of a uniform guess: {np.log(len(alphabet)):.3f}")
        for epoch in range(1, args.epochs + 1):
            loss, _ = sess.run([model["loss"], model["train"]], feed)
            if epoch == 1 or epoch % 25 == 0:
                print(f"epoch {epoch:4d}  loss {loss:.4f}")
        print("the network writes:", repr(continue_text(sess, model, TEXT[:WINDOW], alphabet, 60)))


if __name__ == "__main__":
    main()
