"""A TensorFlow 1.x program trained on several processes the Horovod way, run by chainrule.

A Horovod program (``import horovod.tensorflow as hvd``) runs with ``chainrule.distributed``
in its place; the changes to a one-process program are the lines marked ``# hvd``. Run it on
2 processes of this machine:

    mpirun -n 2 python examples/horovod_digits.py [EPOCHS [FOLDER]]  # root: --allow-run-as-root

Each process (rank) trains on its own shard of the 8x8 handwritten digits; the optimizer
averages the gradients of all ranks each step, so every rank takes the same step. Rank 0
prints and saves the model in FOLDER (./horovod-digits). ``python examples/horovod_digits.py`` alone is a job of one rank.
"""

import os
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import chainrule.compat.v1 as tf
import chainrule.distributed as hvd

tf.disable_eager_execution()
hvd.init()  # hvd: join the job started by mpirun
tf.set_random_seed(0)

digits = load_digits()
images = digits.data.astype(np.float32) / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    images, digits.target, test_size=0.2, random_state=0
)
X_train, y_train = hvd.shard(X_train, y_train)  # hvd: every size()-th example, from rank()
X_test, y_test = hvd.shard(X_test, y_test)  # hvd: each rank tests its share

x = tf.placeholder(tf.float32, shape=[None, 64], name="x")
y = tf.placeholder(tf.int64, shape=[None], name="y")

hidden = tf.layers.dense(x, 64, activation=tf.nn.relu, name="hidden")
logits = tf.layers.dense(hidden, 10, name="logits")

loss = tf.reduce_mean(
    tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.one_hot(y, 10), logits=logits)
)
# hvd: k ranks of 32 examples take steps of 32k examples: scale the learning rate with k
optimizer = tf.train.AdamOptimizer(learning_rate=0.001 * hvd.size())
optimizer = hvd.DistributedOptimizer(optimizer)  # hvd: average the gradients over the ranks
train_op = optimizer.minimize(loss)

correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
# hvd: the correct answers and the examples of every rank, added up over the ranks
totals = hvd.allreduce(tf.stack([correct, tf.cast(tf.shape(y)[0], tf.float32)]), average=False)
accuracy = totals[0] / totals[1]

sync = hvd.broadcast_global_variables(0)  # hvd: every rank starts from rank 0's weights
saver = tf.train.Saver()

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
out = sys.argv[2] if len(sys.argv) > 2 else "horovod-digits"
batch_size = 32
rng = np.random.RandomState(0)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    sess.run(sync)
    # hvd: every rank takes the same number of steps (shards differ by one example at most)
    steps = len(X_train) // batch_size
    for epoch in range(epochs):
        order = rng.permutation(len(X_train))
        epoch_loss = 0.0
        for step in range(steps):
            batch = order[step * batch_size : (step + 1) * batch_size]
            _, batch_loss = sess.run(
                [train_op, loss], feed_dict={x: X_train[batch], y: y_train[batch]}
            )
            epoch_loss += batch_loss
        test_accuracy = sess.run(accuracy, feed_dict={x: X_test, y: y_test})
        if hvd.rank() == 0:  # hvd: one rank prints
            print(
                f"epoch {epoch + 1:2d}  loss {epoch_loss / steps:.4f} (rank 0's examples)  "
                f"test accuracy {test_accuracy:.4f} (all ranks)",
                flush=True,
            )
    if hvd.rank() == 0:  # hvd: only rank 0 writes the checkpoint ...
        os.makedirs(out, exist_ok=True)
        path = saver.save(sess, os.path.join(out, "model"))
        print(f"final test accuracy {test_accuracy:.4f}; saved {path} from {hvd.size()} ranks")
    hvd.barrier()  # hvd: ... while the others wait for it
