"""A TensorFlow 1.x program on the 8x8 handwritten digits that reads its data with tf.data.

The same network as ``tf1_digits.py``, fed by an input pipeline instead of ``feed_dict``: one
iterator switches between the training set (shuffled again each epoch, in batches) and the
test set, and each epoch ends when the iterator raises ``OutOfRangeError``. Only the import
differs from the TF1 original (``import tensorflow.compat.v1 as tf``). Run:

    python examples/tf1_digits_dataset.py
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import chainrule.compat.v1 as tf

tf.disable_eager_execution()
tf.set_random_seed(0)

digits = load_digits()
images = digits.data.astype(np.float32) / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    images, digits.target, test_size=0.2, random_state=0
)

train_data = tf.data.Dataset.from_tensor_slices((X_train, y_train)).shuffle(1000, seed=0).batch(32)
test_data = tf.data.Dataset.from_tensor_slices((X_test, y_test)).batch(len(X_test))

iterator = tf.data.Iterator.from_structure(
    tf.data.get_output_types(train_data), tf.data.get_output_shapes(train_data)
)
x, y = iterator.get_next()
use_train_data = iterator.make_initializer(train_data)
use_test_data = iterator.make_initializer(test_data)

hidden = tf.layers.dense(x, 64, activation=tf.nn.relu, name="hidden")
logits = tf.layers.dense(hidden, 10, name="logits")

loss = tf.reduce_mean(
    tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.one_hot(y, 10), logits=logits)
)
train_op = tf.train.AdamOptimizer(learning_rate=0.001).minimize(loss)

correct = tf.equal(tf.argmax(logits, 1), y)
accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for epoch in range(20):
        sess.run(use_train_data)
        losses = []
        while True:
            try:
                _, batch_loss = sess.run([train_op, loss])
            except tf.errors.OutOfRangeError:
                break
            losses.append(batch_loss)
        sess.run(use_test_data)
        test_accuracy = sess.run(accuracy)
        print(
            f"epoch {epoch + 1:2d}  loss {np.mean(losses):.4f}  "
            f"test accuracy {test_accuracy:.4f}  ({len(losses)} batches)"
        )

print(f"final test accuracy {test_accuracy:.4f}")
