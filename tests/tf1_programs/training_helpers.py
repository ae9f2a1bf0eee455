"""TF1 programs on what surrounds a model: learning-rate schedules, the global step and
checkpoints (prefixes, the index, ``max_to_keep``, reading variables back)."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from . import program

#: steps on both sides of every boundary and decay period the schedules below use
STEPS = [0, 1, 2, 5, 9, 10, 11, 15, 19, 20, 21, 25, 29, 30, 31, 40, 55, 100]


def _at_steps(sess: Any, schedule: Any, step: Any, steps: list[int] = STEPS) -> np.ndarray:
    return np.array([sess.run(schedule, {step: s}) for s in steps])


@program("decay_schedules")
def decay_schedules(tf: Any) -> dict[str, Any]:
    """Every TF1 decay schedule at many steps: smooth, staircase, cycling, float32 and float64."""
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, shape=[])
        train = tf.train
        schedules = {
            "exponential float64": train.exponential_decay(np.float64(0.1), step, 10, 0.96),
            "exponential staircase": train.exponential_decay(0.1, step, 7, 0.5, staircase=True),
            "natural_exp": train.natural_exp_decay(0.1, step, 10, 0.5),
            "natural_exp staircase": train.natural_exp_decay(0.1, step, 10, 0.5, staircase=True),
            "natural_exp float64": train.natural_exp_decay(np.float64(0.1), step, 10, 0.3),
            "inverse_time": train.inverse_time_decay(0.1, step, 10, 0.5),
            "inverse_time staircase": train.inverse_time_decay(0.1, step, 10, 0.5, True),
            "inverse_time float64": train.inverse_time_decay(np.float64(0.1), step, 3, 0.7),
            "polynomial": train.polynomial_decay(0.1, step, 20),
            "polynomial power 2": train.polynomial_decay(0.1, step, 20, 0.01, power=2.0),
            "polynomial power 0.5 float64": train.polynomial_decay(
                np.float64(0.1), step, 20, 0.01, power=0.5
            ),
            "polynomial cycle": train.polynomial_decay(0.1, step, 10, 0.01, cycle=True),
            "polynomial cycle power 3": train.polynomial_decay(0.2, step, 7, 0.0, 3.0, cycle=True),
            "cosine": train.cosine_decay(0.1, step, 30),
            "cosine alpha": train.cosine_decay(0.1, step, 20, alpha=0.1),
        }
        with tf.Session() as sess:
            return {name: _at_steps(sess, s, step) for name, s in schedules.items()}


@program("piecewise_constant_schedules")
def piecewise_constant_schedules(tf: Any) -> dict[str, Any]:
    """``piecewise_constant`` with steps exactly at the boundaries, int64 and int32 steps,
    integer values and float boundaries."""
    with tf.Graph().as_default():
        step64 = tf.placeholder(tf.int64, shape=[])
        step32 = tf.placeholder(tf.int32, shape=[])
        ratio = tf.placeholder(tf.float32, shape=[])
        piecewise = tf.train.piecewise_constant
        with tf.Session() as sess:
            return {
                "int64 step": _at_steps(
                    sess, piecewise(step64, [10, 20, 30], [1.0, 0.5, 0.1, 0.01]), step64
                ),
                "int32 step, int values": _at_steps(
                    sess, piecewise(step32, [9, 21], [3, 2, 1]), step32
                ),
                "one boundary": _at_steps(sess, piecewise(step64, [19], [0.3, 0.2]), step64),
                "float64 values": _at_steps(
                    sess, piecewise(step64, [5], [np.float64(0.7), np.float64(0.07)]), step64
                ),
                "float boundaries": np.array(
                    [
                        sess.run(piecewise(ratio, [0.25, 0.5], [1.0, 2.0, 3.0]), {ratio: r})
                        for r in [0.0, 0.25, 0.3, 0.5, 0.75]
                    ]
                ),
            }


@program("global_step_helpers")
def global_step_helpers(tf: Any) -> dict[str, Any]:
    """``get_global_step`` / ``get_or_create_global_step``: one int64 scalar, global and not
    trainable, driving a schedule as training steps it."""
    with tf.Graph().as_default():
        before = tf.train.get_global_step()
        step = tf.train.get_or_create_global_step()
        w = tf.Variable(np.array([1.0, -2.0], dtype=np.float32), name="w")
        lr = tf.train.exponential_decay(0.5, step, 2, 0.5, staircase=True)
        train = tf.train.GradientDescentOptimizer(lr).minimize(
            tf.reduce_sum(tf.square(w)), global_step=step
        )
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            rates = []
            for _ in range(5):
                rates.append(sess.run(lr))
                sess.run(train)
            return {
                "none before": before is None,
                "same variable again": tf.train.get_or_create_global_step() is step,
                "get_global_step finds it": tf.train.get_global_step() is step,
                "name": step.op.name,
                "dtype": step.dtype.name,
                "rank": len(step.shape),
                "trainable": step in tf.trainable_variables(),
                "global": step in tf.global_variables(),
                "learning rates": np.array(rates),
                "step after training": sess.run(step),
                "w after training": sess.run(w),
            }


def _checkpoint_model(tf: Any) -> tuple[Any, Any, Any]:
    """Variables of three dtypes and shapes, initialised from constants, and the global step."""
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3) / 4.0, name="w")
    b = tf.Variable(np.array([0.5, -1.5, 2.25]), name="b")
    tf.Variable(np.int32(7), name="counter")
    step = tf.train.get_or_create_global_step()
    return w, b, step


@program("checkpoint_prefixes")
def checkpoint_prefixes(tf: Any) -> dict[str, Any]:
    """What ``save`` returns and the index records, with ``max_to_keep``, step numbers
    parsed back from prefixes, and restoring from the latest prefix."""
    with tf.Graph().as_default(), tempfile.TemporaryDirectory() as directory:
        w, b, step = _checkpoint_model(tf)
        advance = tf.assign_add(step, 5)
        scale = tf.assign(w, w * 2.0)
        saver = tf.train.Saver(max_to_keep=2)
        prefix = os.path.join(directory, "model.ckpt")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            saved = []
            for _ in range(4):
                sess.run([advance, scale])
                saved.append(saver.save(sess, prefix, global_step=step))
            saved.append(saver.save(sess, prefix, global_step=99))
            latest = tf.train.latest_checkpoint(directory)
            state = tf.train.get_checkpoint_state(directory)
            sess.run(tf.assign(w, tf.zeros_like(w)))
            saver.restore(sess, latest)
            restored_w = sess.run(w)
            unsaved = tf.train.Saver().save(sess, os.path.join(directory, "plain"))
            padded = tf.train.Saver(pad_step_number=True).save(sess, prefix, global_step=3)
        return {
            "saved": [os.path.basename(p) for p in saved],
            "steps parsed from prefixes": np.array([int(p.split("-")[-1]) for p in saved]),
            "latest_checkpoint": os.path.basename(latest),
            "latest is the last saved": latest == saved[-1],
            "model_checkpoint_path": os.path.basename(state.model_checkpoint_path),
            "all_model_checkpoint_paths": [
                os.path.basename(p) for p in state.all_model_checkpoint_paths
            ],
            "kept checkpoints exist": [str(tf.train.checkpoint_exists(p)) for p in saved],
            "last_checkpoints": [os.path.basename(p) for p in saver.last_checkpoints],
            "restored w": restored_w,
            "without a step": os.path.basename(unsaved),
            "padded step": os.path.basename(padded),
        }


@program("checkpoint_reading")
def checkpoint_reading(tf: Any) -> dict[str, Any]:
    """``list_variables`` and ``load_variable`` on a prefix and on a directory."""
    with tf.Graph().as_default(), tempfile.TemporaryDirectory() as directory:
        w, b, step = _checkpoint_model(tf)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(tf.assign(step, 42))
            prefix = tf.train.Saver().save(sess, os.path.join(directory, "model"), step)
        listed = tf.train.list_variables(prefix)
        return {
            "names": [name for name, _ in listed],
            "shapes": [str(list(shape)) for _, shape in listed],
            "same from the directory": tf.train.list_variables(directory) == listed,
            "w": tf.train.load_variable(prefix, "w"),
            "b from the directory": tf.train.load_variable(directory, "b"),
            "counter": tf.train.load_variable(prefix, "counter"),
            "global_step": tf.train.load_variable(prefix, "global_step"),
        }
