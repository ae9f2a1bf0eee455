"""Saver: NPZ checkpoints without pickle, atomic writes, validated restores."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import train
from chainrule.errors import GraphError, InvalidArgumentError, NotFoundError
from chainrule.train.saver import read_checkpoint


def build_model(seed=0):
    """A tiny model trained with Adam, so that slots and powers exist."""
    rng = np.random.default_rng(seed)
    w = cr.Variable(rng.standard_normal((3, 2)), name="W")
    b = cr.Variable(rng.standard_normal(2).astype(np.float32), name="b")
    x = cr.constant(rng.standard_normal((4, 3)))
    loss = cr.reduce_sum(cr.square(cr.tanh(cr.matmul(x, w) + cr.cast(b, cr.float64))))
    step = train.get_or_create_global_step()
    train_op = train.AdamOptimizer(0.05).minimize(loss, global_step=step)
    return w, b, step, train_op


def all_values(sess):
    return {v.op.name: np.array(sess.run(v)) for v in cr.global_variables()}


def assert_same_values(left, right):
    assert left.keys() == right.keys()
    for name in left:
        np.testing.assert_array_equal(left[name], right[name], err_msg=name)
        assert left[name].dtype == right[name].dtype, name


def trained_session(train_op, steps=3):
    sess = cr.Session()
    for _ in range(steps):
        sess.run(train_op)
    return sess


def test_save_and_restore_into_a_fresh_session(tmp_path):
    w, b, step, train_op = build_model()
    sess = trained_session(train_op)
    saver = train.Saver()
    path = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=step)
    assert path == str(tmp_path / "model.ckpt-3")  # the prefix, as TF1 returns
    assert int(path.split("-")[-1]) == 3
    assert os.path.isfile(path + ".npz")
    saved = all_values(sess)
    assert {"W/Adam", "W/Adam_1", "b/Adam", "beta1_power", "global_step"} <= saved.keys()

    fresh = cr.Session()
    assert fresh.run(step) == 0
    saver.restore(fresh, path)
    assert_same_values(all_values(fresh), saved)
    # training continues identically from the restored state
    sess.run(train_op)
    fresh.run(train_op)
    assert_same_values(all_values(fresh), all_values(sess))


def test_restore_into_a_rebuilt_graph(tmp_path):
    w, b, step, train_op = build_model()
    sess = trained_session(train_op)
    train.Saver().save(sess, str(tmp_path / "model"))
    saved = all_values(sess)

    with cr.Graph().as_default():
        _, _, _, train_op2 = build_model(seed=1)
        fresh = cr.Session()
        train.Saver().restore(fresh, str(tmp_path / "model"))  # the prefix works too
        assert_same_values(all_values(fresh), saved)


def test_files_are_plain_npz_without_pickle(tmp_path):
    w, b, step, train_op = build_model()
    sess = trained_session(train_op)
    path = train.Saver().save(sess, str(tmp_path / "model.npz"))
    assert path == str(tmp_path / "model")
    with np.load(path + ".npz", allow_pickle=False) as data:
        assert set(data.files) == {v.op.name for v in cr.global_variables()}
        np.testing.assert_array_equal(data["W"], sess.run(w))
        assert data["b"].dtype == np.float32
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_var_list_as_list_and_dict(tmp_path):
    w, b, step, train_op = build_model()
    sess = trained_session(train_op)
    train.Saver({"weights": w}).save(sess, str(tmp_path / "renamed"))
    with np.load(tmp_path / "renamed.npz") as data:
        assert data.files == ["weights"]
    train.Saver([w, b]).save(sess, str(tmp_path / "pair"))
    with np.load(tmp_path / "pair.npz") as data:
        assert sorted(data.files) == ["W", "b"]

    fresh = cr.Session()
    train.Saver({"weights": w}).restore(fresh, str(tmp_path / "renamed.npz"))
    np.testing.assert_array_equal(fresh.run(w), sess.run(w))


def test_max_to_keep_and_latest_checkpoint(tmp_path):
    w, b, step, train_op = build_model()
    sess = cr.Session()
    saver = train.Saver(max_to_keep=2)
    prefix = str(tmp_path / "model")
    assert train.latest_checkpoint(str(tmp_path)) is None
    paths = []
    for _ in range(4):
        sess.run(train_op)
        paths.append(saver.save(sess, prefix, global_step=step))
    assert paths == [f"{prefix}-{i}" for i in range(1, 5)]
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model-3.npz", "model-4.npz"]
    assert saver.last_checkpoints == paths[2:]
    assert train.latest_checkpoint(str(tmp_path)) == paths[3]
    state = train.get_checkpoint_state(str(tmp_path))
    assert state.model_checkpoint_path == paths[3]
    assert state.all_model_checkpoint_paths == paths[2:]
    index = (tmp_path / "checkpoint").read_text()
    assert 'model_checkpoint_path: "model-4"' in index
    assert 'all_model_checkpoint_paths: "model-3"' in index

    fresh = cr.Session()
    train.Saver().restore(fresh, train.latest_checkpoint(str(tmp_path)))
    assert fresh.run(step) == 4


def test_max_to_keep_none_keeps_every_file(tmp_path):
    w, b, step, train_op = build_model()
    sess = cr.Session()
    saver = train.Saver(max_to_keep=None)
    for i in range(3):
        saver.save(sess, str(tmp_path / "m"), global_step=i)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "m-0.npz", "m-1.npz", "m-2.npz"]
    assert train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "m-2")


def _error_leaves_session_unchanged(sess, saver, path, error, *fragments):
    before = all_values(sess)
    with pytest.raises(error) as info:
        saver.restore(sess, path)
    assert_same_values(all_values(sess), before)
    for fragment in fragments:
        assert fragment in str(info.value)
    return str(info.value)


def test_truncated_file_is_a_clear_error_and_changes_nothing(tmp_path):
    w, b, step, train_op = build_model()
    sess = trained_session(train_op)
    saver = train.Saver()
    path = saver.save(sess, str(tmp_path / "model"))
    file = Path(path + ".npz")
    data = file.read_bytes()
    for size in (len(data) // 2, len(data) - 30, 10, 0):
        file.write_bytes(data[:size])
        _error_leaves_session_unchanged(
            sess, saver, path, InvalidArgumentError, "not a valid checkpoint"
        )


def test_corrupted_bytes_and_foreign_files_are_clear_errors(tmp_path):
    w, b, step, train_op = build_model()
    sess = trained_session(train_op)
    saver = train.Saver()
    path = saver.save(sess, str(tmp_path / "model"))
    file = Path(path + ".npz")
    data = bytearray(file.read_bytes())
    with zipfile.ZipFile(file) as archive:
        info = archive.getinfo("W.npy")
    data[info.header_offset + 30 + len("W.npy") + 140] ^= 0xFF  # a byte of W's data
    file.write_bytes(bytes(data))
    _error_leaves_session_unchanged(sess, saver, path, InvalidArgumentError, "CRC")

    np.save(tmp_path / "single.npy", np.ones(3))
    _error_leaves_session_unchanged(
        sess, saver, str(tmp_path / "single.npy"), InvalidArgumentError, "single array"
    )
    (tmp_path / "text.npz").write_text("hello, not a checkpoint")
    _error_leaves_session_unchanged(
        sess, saver, str(tmp_path / "text.npz"), InvalidArgumentError, "not a valid checkpoint"
    )
    with pytest.raises(NotFoundError, match="no checkpoint"):
        saver.restore(sess, str(tmp_path / "missing"))


def test_altered_arrays_report_every_mismatch_and_change_nothing(tmp_path):
    w, b, step, train_op = build_model()
    sess = trained_session(train_op)
    saver = train.Saver()
    path = saver.save(sess, str(tmp_path / "model")) + ".npz"  # the file works as the prefix
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["W"] = np.zeros((2, 3))  # wrong shape
    arrays["b/Adam"] = arrays["b/Adam"].astype(np.float64)  # wrong dtype
    arrays["W/Adam_1"] = np.zeros((3, 2, 1))  # wrong rank
    np.savez(path, **arrays)
    message = _error_leaves_session_unchanged(
        sess,
        saver,
        path,
        InvalidArgumentError,
        "3 problems",
        "'W': the checkpoint has shape (2, 3), the variable has shape (3, 2)",
        "'b/Adam': the checkpoint has dtype float64, the variable has dtype float32",
        "'W/Adam_1': the checkpoint has shape (3, 2, 1)",
        "nothing was restored",
    )
    assert "Traceback" not in message


def test_missing_and_renamed_variables_are_all_listed(tmp_path):
    w, b, step, train_op = build_model()
    sess = trained_session(train_op)
    path = train.Saver().save(sess, str(tmp_path / "model"))

    with cr.Graph().as_default():
        rng = np.random.default_rng(5)
        weights = cr.Variable(rng.standard_normal((3, 2)), name="weights")  # renamed W
        extra = cr.Variable(np.zeros(4), name="extra")  # not in the checkpoint
        bias = cr.Variable(np.zeros(3, np.float32), name="b")  # wrong shape
        fresh = cr.Session()
        before = all_values(fresh)
        with pytest.raises(NotFoundError) as info:
            train.Saver([weights, extra, bias]).restore(fresh, path)
        message = str(info.value)
        assert "'weights' is not in the checkpoint" in message
        assert "'extra' is not in the checkpoint" in message
        assert "'b': the checkpoint has shape (2,), the variable has shape (3,)" in message
        assert "3 problems" in message
        assert_same_values(all_values(fresh), before)


def test_saver_errors(tmp_path):
    w, b, step, train_op = build_model()
    sess = cr.Session()
    saver = train.Saver()
    with pytest.raises(NotFoundError, match="does not exist"):
        saver.save(sess, str(tmp_path / "no" / "such" / "dir" / "model"))
    with pytest.raises(InvalidArgumentError, match="None"):
        saver.restore(sess, None)
    with pytest.raises(InvalidArgumentError, match="Variables"):
        train.Saver([w, cr.constant(1.0)])
    with cr.Graph().as_default():
        with pytest.raises(InvalidArgumentError, match="no variables"):
            train.Saver()
        other = cr.Session()
    with pytest.raises(GraphError):
        saver.save(other, str(tmp_path / "model"))


def test_malformed_index_is_a_clear_error(tmp_path):
    (tmp_path / "checkpoint").write_text("model_checkpoint_path: model-3\n")
    with pytest.raises(InvalidArgumentError, match="malformed at line 1"):
        train.latest_checkpoint(str(tmp_path))


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import chainrule as cr

    directory = sys.argv[1]
    big = cr.Variable(np.zeros(3_000_000), name="big")
    counter = cr.Variable(np.int64(0), name="counter")
    saver = cr.train.Saver(max_to_keep=2)
    sess = cr.Session()
    for i in range(1, 1000):
        sess.set_variable(big, np.full(3_000_000, float(i)))
        sess.set_variable(counter, i)
        saver.save(sess, directory + "/model", global_step=i)
        print(i, flush=True)
    """
)


def _kill_mid_write(directory, attempts=5):
    """Run a process that saves large checkpoints and SIGKILL it while a file is half written."""
    for _ in range(attempts):
        for name in os.listdir(directory):
            os.remove(os.path.join(directory, name))
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(directory)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout.readline().strip() == "1"
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if any(name.endswith(".tmp") for name in os.listdir(directory)):
                    child.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.0005)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()
        if any(name.endswith(".tmp") for name in os.listdir(directory)):
            return
    pytest.fail("could not interrupt a save mid-write")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killing_a_save_midway_leaves_the_last_checkpoint_loadable(tmp_path):
    _kill_mid_write(tmp_path)
    latest = train.latest_checkpoint(str(tmp_path))
    assert latest is not None
    big = cr.Variable(np.zeros(3_000_000), name="big")
    counter = cr.Variable(np.int64(0), name="counter")
    sess = cr.Session()
    train.Saver().restore(sess, latest)
    i = sess.run(counter)
    assert i >= 1
    assert latest.endswith(f"model-{i}")
    values = sess.run(big)
    assert values.min() == values.max() == float(i)
    for kept in train.get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths:
        assert train.checkpoint_exists(kept)


def test_checkpoints_are_named_by_prefix_as_in_tf1(tmp_path):
    w, b, step, train_op = build_model()
    sess = trained_session(train_op)
    saver = train.Saver()
    prefix = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=15)
    assert prefix == str(tmp_path / "model.ckpt-15")
    assert train.checkpoint_exists(prefix)
    assert train.checkpoint_exists(prefix + ".npz")
    assert not train.checkpoint_exists(str(tmp_path / "model.ckpt-16"))
    assert train.latest_checkpoint(str(tmp_path)) == prefix
    state = train.get_checkpoint_state(str(tmp_path))
    assert state.model_checkpoint_path == prefix
    assert state.all_model_checkpoint_paths == [prefix]

    fresh = cr.Session()
    saver.restore(fresh, prefix)
    saver.restore(fresh, prefix + ".npz")  # the file still works
    assert_same_values(all_values(fresh), all_values(sess))


def test_restoring_a_missing_prefix_lists_what_it_looked_for(tmp_path):
    w, b, step, train_op = build_model()
    sess = cr.Session()
    missing = str(tmp_path / "model.ckpt-7")
    with pytest.raises(NotFoundError) as info:
        train.Saver().restore(sess, missing)
    assert f"'{missing}.npz' or '{missing}'" in str(info.value)


def test_list_variables_and_load_variable(tmp_path):
    w, b, step, train_op = build_model()
    sess = trained_session(train_op)
    prefix = train.Saver().save(sess, str(tmp_path / "model"), global_step=step)
    listed = train.list_variables(prefix)
    assert listed == sorted(listed)
    assert ("W", [3, 2]) in listed and ("global_step", []) in listed
    assert train.list_variables(str(tmp_path)) == listed  # a directory: its latest checkpoint
    np.testing.assert_array_equal(train.load_variable(str(tmp_path), "W"), sess.run(w))
    assert train.load_variable(prefix, "b:0").dtype == np.float32  # a tensor's name works too
    assert train.load_variable(prefix + ".npz", "global_step") == 3
    with pytest.raises(NotFoundError, match="'W/Adm' is not in the checkpoint .* it has 'W/Adam'"):
        train.load_variable(prefix, "W/Adm")
    with pytest.raises(NotFoundError, match="no checkpoint"):
        train.list_variables(str(tmp_path / "nothing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError, match="directory"):
        train.load_variable(str(tmp_path / "empty"), "W")


def test_an_index_naming_npz_files_still_works(tmp_path):
    """Directories written when the index held file names resume as before."""
    w, b, step, train_op = build_model()
    sess = trained_session(train_op)
    saver = train.Saver(max_to_keep=2)
    for i in (1, 2):
        saver.save(sess, str(tmp_path / "model"), global_step=i)
    (tmp_path / "checkpoint").write_text(
        'model_checkpoint_path: "model-2.npz"\n'
        'all_model_checkpoint_paths: "model-1.npz"\n'
        'all_model_checkpoint_paths: "model-2.npz"\n'
    )
    state = train.get_checkpoint_state(str(tmp_path))
    assert state.all_model_checkpoint_paths == [
        str(tmp_path / "model-1"),
        str(tmp_path / "model-2"),
    ]
    resumed = train.Saver(max_to_keep=2)
    resumed.recover_last_checkpoints(state.all_model_checkpoint_paths)
    resumed.save(sess, str(tmp_path / "model"), global_step=3)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model-2.npz", "model-3.npz"]
    assert train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "model-3")


# -- several savers and threads, interrupted saves, untrusted files (a newcomer's bad inputs) ----
def small_session():
    v = cr.Variable(np.arange(4.0), name="v")
    sess = cr.Session()
    sess.run(v.initializer)
    return v, sess


def checkpoint_files(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".npz"))


def test_threads_saving_to_one_prefix_keep_the_index_true(tmp_path, monkeypatch):
    from chainrule.train import saver as saver_module

    original = saver_module._write_index
    delays = iter(np.random.default_rng(0).uniform(0, 0.01, size=100))

    def slow_write_index(*args):
        time.sleep(next(delays))  # widen the window between choosing the files and writing them
        original(*args)

    monkeypatch.setattr(saver_module, "_write_index", slow_write_index)
    _, sess = small_session()
    saver = train.Saver(max_to_keep=2)
    for round_ in range(10):  # each round: three threads save at once
        start = threading.Barrier(3)

        def save(step, start=start):
            start.wait()
            saver.save(sess, str(tmp_path / "model"), global_step=step)

        threads = [threading.Thread(target=save, args=(10 * round_ + k,)) for k in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        state = train.get_checkpoint_state(str(tmp_path))
        listed = [*state.all_model_checkpoint_paths, state.model_checkpoint_path]
        assert all(train.checkpoint_exists(path) for path in listed), (round_, listed)
        assert checkpoint_files(tmp_path) == sorted(
            os.path.basename(p) + ".npz" for p in state.all_model_checkpoint_paths
        )


def test_a_new_saver_deletes_what_earlier_savers_kept_beyond_max_to_keep(tmp_path):
    _, sess = small_session()
    train.Saver().save(sess, str(tmp_path / "best"))  # another prefix's file is left alone
    first = train.Saver(max_to_keep=3)
    for step in (1, 2, 3):
        first.save(sess, str(tmp_path / "model"), global_step=step)
    resumed = train.Saver(max_to_keep=3)  # e.g. the same training, restarted
    resumed.save(sess, str(tmp_path / "model"), global_step=3)  # first ones listed again
    resumed.save(sess, str(tmp_path / "model"), global_step=4)
    assert checkpoint_files(tmp_path) == ["best.npz", "model-2.npz", "model-3.npz", "model-4.npz"]
    assert resumed.last_checkpoints == [str(tmp_path / f"model-{i}") for i in (2, 3, 4)]
    state = train.get_checkpoint_state(str(tmp_path))
    assert state.all_model_checkpoint_paths == resumed.last_checkpoints


def interrupted_save_file(directory, name="model-1.npz", age=60.0):
    path = Path(directory) / f".{name}.0123456789ab.tmp"
    path.write_bytes(b"half a checkpoint")
    when = time.time() - age
    os.utime(path, (when, when))
    return path


def test_the_next_save_removes_what_interrupted_saves_left(tmp_path):
    _, sess = small_session()
    left_over = interrupted_save_file(tmp_path)
    index_left_over = interrupted_save_file(tmp_path, "checkpoint")
    just_started = interrupted_save_file(tmp_path, "model-9.npz", age=0.0)
    not_ours = tmp_path / ".notes.tmp"
    not_ours.write_text("a user's file")
    train.Saver().save(sess, str(tmp_path / "model"), global_step=2)
    assert not left_over.exists() and not index_left_over.exists()
    assert just_started.exists()  # perhaps another save's, still being written
    assert not_ours.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file locks")
def test_a_save_in_progress_keeps_its_temporary_file(tmp_path):
    import fcntl

    _, sess = small_session()
    in_progress = interrupted_save_file(tmp_path, "model-7.npz")
    with open(in_progress, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as _write_atomically holds it
        train.Saver().save(sess, str(tmp_path / "model"), global_step=2)
        assert in_progress.exists()
    train.Saver().save(sess, str(tmp_path / "model"), global_step=3)
    assert not in_progress.exists()


@pytest.mark.parametrize("name", ["../../x", "sub/checkpoint", "", "..", ".", 7])
def test_latest_filename_must_be_a_plain_name(tmp_path, name):
    _, sess = small_session()
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    with pytest.raises(InvalidArgumentError, match="latest_filename must be a plain file name"):
        train.Saver().save(sess, str(folder / "model"), latest_filename=name)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []
    with pytest.raises(InvalidArgumentError, match=repr(name).replace(".", r"\.")):
        train.latest_checkpoint(str(folder), latest_filename=name)


def test_latest_filename_names_another_index_in_the_folder(tmp_path):
    _, sess = small_session()
    path = train.Saver().save(sess, str(tmp_path / "model"), latest_filename="best_index")
    assert (tmp_path / "best_index").is_file() and not (tmp_path / "checkpoint").exists()
    assert train.latest_checkpoint(str(tmp_path), latest_filename="best_index") == path


@pytest.mark.parametrize("step", [1.5, 2.0, np.float32(3.0), True, "4", np.array([5])])
def test_global_step_must_be_an_integer(tmp_path, step):
    _, sess = small_session()
    with pytest.raises(InvalidArgumentError, match="global_step must be an integer") as info:
        train.Saver().save(sess, str(tmp_path / "model"), global_step=step)
    assert repr(step) in str(info.value)
    assert checkpoint_files(tmp_path) == []


def test_global_step_as_an_integer_or_an_integer_variable(tmp_path):
    _, sess = small_session()
    saver = train.Saver(max_to_keep=None)
    float_step = cr.Variable(2.5, name="float_step")
    int_step = cr.Variable(7, dtype=cr.int64, name="int_step")
    sess.run([float_step.initializer, int_step.initializer])
    assert saver.save(sess, str(tmp_path / "m"), global_step=np.int64(3)).endswith("m-3")
    assert saver.save(sess, str(tmp_path / "m"), global_step=int_step).endswith("m-7")
    with pytest.raises(InvalidArgumentError, match=r"got .*2\.5"):
        saver.save(sess, str(tmp_path / "m"), global_step=float_step)


def npz_with_member(path, name, header_shape, payload, compression=zipfile.ZIP_DEFLATED):
    """A checkpoint whose one entry's header declares ``header_shape`` (float64) and whose data
    is ``payload``: a hand-made archive, as an attacker or a damaged disk may produce."""
    import io

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": header_shape}
    )
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr(name + ".npy", header.getvalue() + payload)


def test_restore_checks_shapes_before_inflating_anything(tmp_path, monkeypatch):
    v, sess = small_session()
    big = 4_000_000  # 32 MB of zeros in a few KB of deflate
    npz_with_member(tmp_path / "bomb.npz", "v", (big,), bytes(8 * big))
    assert (tmp_path / "bomb.npz").stat().st_size < 100_000

    def no_inflating(*args, **kwargs):
        raise AssertionError("an array was read before the shapes were checked")

    monkeypatch.setattr(np.lib.format, "read_array", no_inflating)
    with pytest.raises(InvalidArgumentError) as info:
        train.Saver([v]).restore(sess, str(tmp_path / "bomb"))
    assert "checkpoint has shape (4000000,), the variable has shape (4,)" in str(info.value)
    np.testing.assert_array_equal(sess.run(v), np.arange(4.0))


@pytest.mark.parametrize(
    "header_shape, payload",
    [((10**9,), bytes(80)), ((2,), bytes(8 * 1000)), ((4,), bytes(8 * 3))],
)
def test_entries_whose_size_disagrees_with_their_header_are_refused(
    tmp_path, header_shape, payload
):
    v, sess = small_session()
    npz_with_member(tmp_path / "lying.npz", "v", header_shape, payload)
    expected = f"declares shape ({header_shape[0]},) of float64 ({8 * header_shape[0]} bytes)"
    for read in (
        lambda: read_checkpoint(str(tmp_path / "lying")),
        lambda: train.load_variable(str(tmp_path / "lying"), "v"),
        lambda: train.list_variables(str(tmp_path / "lying")),
        lambda: train.Saver([v]).restore(sess, str(tmp_path / "lying")),
    ):
        with pytest.raises(InvalidArgumentError, match="not a valid checkpoint") as info:
            read()
        assert expected in str(info.value) and "'v'" in str(info.value)
