"""Graph collections and variable scopes, with TF1's keys and reuse rules."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.compat.v1 as tf
from chainrule.errors import GraphError, ShapeError


def test_graph_keys_are_tf1_strings():
    keys = tf.GraphKeys
    assert keys.GLOBAL_VARIABLES == "variables"
    assert keys.TRAINABLE_VARIABLES == "trainable_variables"
    assert keys.LOCAL_VARIABLES == "local_variables"
    assert keys.UPDATE_OPS == "update_ops"
    assert keys.LOSSES == "losses"
    assert keys.REGULARIZATION_LOSSES == "regularization_losses"
    assert keys.SUMMARIES == "summaries"
    assert keys.GLOBAL_STEP == "global_step"
    assert keys.MODEL_VARIABLES == "model_variables"


def test_variables_losses_and_global_step_register_themselves():
    w = tf.Variable(np.ones(2), name="w")
    counter = tf.Variable(0, trainable=False, name="counter")
    local = tf.Variable(0.0, collections=[tf.GraphKeys.LOCAL_VARIABLES], name="local")
    step = tf.train.get_or_create_global_step()
    loss = tf.losses.mean_squared_error(tf.constant([1.0]), tf.constant([0.5]))
    assert tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) == [w, counter, step]
    assert tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES) == [w, local]
    assert tf.local_variables() == [local]
    assert tf.get_collection(tf.GraphKeys.GLOBAL_STEP) == [step]
    assert tf.get_collection(tf.GraphKeys.LOSSES) == [loss]


def test_trainable_variable_listed_once_when_its_collections_name_trainable():
    v = tf.Variable(1.0, collections=["variables", "trainable_variables"])
    assert tf.trainable_variables() == [v]


def test_get_collection_scope_matches_name_from_the_start_as_a_regex():
    with tf.variable_scope("net"):
        a = tf.get_variable("a", shape=[1])
        b = tf.get_variable("b", shape=[1])
    c = tf.Variable(1.0, name="other_net")
    tf.add_to_collection("things", "a string has no name")
    tf.add_to_collection("things", a)
    assert tf.get_collection("variables", scope="net") == [a, b]
    assert tf.get_collection("variables", scope=".*net") == [a, b, c]
    assert tf.get_collection("variables", scope="net/b") == [b]
    assert tf.get_collection("things", scope="net") == [a]


def test_get_collection_is_a_copy_and_get_collection_ref_the_list_itself():
    tf.add_to_collection("k", 1)
    tf.get_collection("k").append(2)
    assert tf.get_collection("k") == [1]
    tf.get_collection_ref("k").append(3)
    assert tf.get_collection("k") == [1, 3]
    assert tf.get_collection("missing") == []


def test_add_to_collections_adds_once_per_distinct_name():
    tf.add_to_collections(["a", "b", "a"], 7)
    tf.add_to_collections("c", 8)
    graph = tf.get_default_graph()
    assert graph.get_collection("a") == [7] and graph.get_collection("b") == [7]
    assert graph.get_collection("c") == [8]
    graph.add_to_collections(("a",), 9)
    assert graph.get_collection("a") == [7, 9]


def test_variable_scope_bookkeeping_is_not_a_collection():
    with tf.variable_scope("layer"):
        tf.get_variable("w", shape=[2])
    keys = tf.get_default_graph().get_all_collection_keys()
    assert sorted(keys) == ["trainable_variables", "variables"]


def test_reuse_of_a_missing_variable_fails_and_adds_nothing():
    graph = tf.get_default_graph()
    with tf.variable_scope("layer", reuse=True):
        with pytest.raises(GraphError, match="'layer/w' does not exist"):
            tf.get_variable("w", shape=[2])
    assert tf.trainable_variables() == [] and tf.global_variables() == []
    assert len(graph) == 0


def test_creating_an_existing_variable_without_reuse_fails():
    with tf.variable_scope("layer"):
        tf.get_variable("w", shape=[2])
    with tf.variable_scope("layer"), pytest.raises(GraphError, match="already exists"):
        tf.get_variable("w", shape=[2])


def test_sharing_with_another_shape_fails_naming_the_variable():
    with tf.variable_scope("layer"):
        tf.get_variable("w", shape=[2])
    with tf.variable_scope("layer", reuse=True), pytest.raises(ShapeError, match="layer/w"):
        tf.get_variable("w", shape=[3])


def test_reuse_variables_makes_the_open_scope_and_inner_scopes_reuse():
    with tf.variable_scope("model") as scope:
        with tf.variable_scope("dense"):
            w = tf.get_variable("w", shape=[2])
        scope.reuse_variables()
        with tf.variable_scope("dense"):
            assert tf.get_variable("w") is w
    assert tf.trainable_variables() == [w]


def test_a_captured_scope_reopens_the_same_names():
    with tf.variable_scope("model") as scope:
        w = tf.get_variable("w", shape=[2])
    with tf.variable_scope("elsewhere"), tf.variable_scope(scope, reuse=True):
        assert tf.get_variable("w") is w


def test_auto_reuse_creates_once_then_shares():
    def layer():
        with tf.variable_scope("layer", reuse=tf.AUTO_REUSE):
            return tf.get_variable("w", shape=[2])

    first, second = layer(), layer()
    assert first is second
    assert tf.AUTO_REUSE is not True
    assert tf.trainable_variables() == [first]


def test_local_variables_initializer_resets_local_variables():
    local = tf.Variable(1.0, collections=[tf.GraphKeys.LOCAL_VARIABLES], dtype=tf.float32)
    bump = tf.assign_add(local, 2.0)
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        sess.run(bump)
        assert sess.run(local) == 3.0
        sess.run(cr.local_variables_initializer())
        assert sess.run(local) == 1.0
