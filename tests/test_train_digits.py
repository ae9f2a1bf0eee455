"""``chainrule train digits``: accuracy, checkpoints each epoch, and resuming after a kill."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_data import write_mnist
from test_plots import assert_valid_png

from chainrule.train import latest_checkpoint

EPOCH_LINE = re.compile(r"^epoch\s+(\d+)/(\d+)\s+loss ([\d.]+)\s+test accuracy ([\d.]+)", re.M)


def train(out: Path, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chainrule", "train", "digits", "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def epochs(text: str) -> dict[int, tuple[str, str]]:
    """``{epoch: (loss, accuracy)}`` as printed."""
    return {int(m[1]): (m[3], m[4]) for m in EPOCH_LINE.finditer(text)}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits")
    done = train(out, "--epochs", "20")
    assert done.returncode == 0, done.stderr
    return out, done.stdout


def test_reaches_95_percent_test_accuracy(full_run):
    out, text = full_run
    per_epoch = epochs(text)
    assert sorted(per_epoch) == list(range(1, 21))
    final = float(re.search(r"^test accuracy ([\d.]+)$", text, re.M)[1])
    assert final >= 0.95, text
    assert float(per_epoch[20][1]) == final
    assert float(per_epoch[20][0]) < 0.5 * float(per_epoch[1][0])  # the loss fell
    assert "1437 training and 360 test images" in text


def test_writes_checkpoints_history_and_loss_curve(full_run):
    out, _ = full_run
    kept = sorted(p.name for p in (out / "checkpoints").glob("model-*.npz"))
    assert kept == ["model-18.npz", "model-19.npz", "model-20.npz"]
    history = json.loads((out / "history.json").read_text())["epochs"]
    assert [e["epoch"] for e in history] == list(range(1, 21))
    assert all(len(e["step_losses"]) == 45 for e in history)  # ceil(1437 / 32) batches
    assert_valid_png(out / "loss.png")


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path, full_run):
    _, reference = full_run
    out = tmp_path / "run"
    command = [sys.executable, "-m", "chainrule", "train", "digits", "--out", str(out)]
    process = subprocess.Popen(
        [*command, "--epochs", "500"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while latest_checkpoint(out / "checkpoints") is None:  # the index names a checkpoint
            assert process.poll() is None, "training ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint after 60 s"
            time.sleep(0.01)
        process.kill()
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode != 0  # killed mid-run, not finished
    # a kill between writing a model file and the index leaves the previous one the latest
    saved = int(latest_checkpoint(out / "checkpoints").split("-")[-1])
    assert 1 <= saved < 20

    resumed = train(out, "--epochs", "20", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert re.search(rf"resumed from .*model-{saved} at epoch {saved}$", resumed.stdout, re.M)
    continued = epochs(resumed.stdout)
    assert sorted(continued) == list(range(saved + 1, 21))
    # same seed, same shuffles, restored weights and Adam slots: the uninterrupted numbers
    expected = epochs(reference)
    assert continued == {e: expected[e] for e in continued}
    history = json.loads((out / "history.json").read_text())["epochs"]
    assert [e["epoch"] for e in history][-1] == 20


def test_resume_without_checkpoint_starts_from_scratch(tmp_path):
    done = train(tmp_path, "--epochs", "1", "--resume", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "no checkpoint in" in done.stdout
    assert sorted(epochs(done.stdout)) == [1]


@pytest.mark.parametrize("rate", ["nan", "inf", "-5", "0", "fast"])
def test_unusable_learning_rates_are_refused(tmp_path, rate):
    done = train(tmp_path, "--lr", rate, "--epochs", "1", "--quiet")
    assert done.returncode == 2
    assert "--lr" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "checkpoints").exists()


def test_progress_bar_stays_out_of_logs(tmp_path):
    done = train(tmp_path, "--epochs", "1")
    assert done.returncode == 0, done.stderr
    assert "it/s" not in done.stderr and "\r" not in done.stderr


def test_mnist_needs_a_data_folder(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", "mnist", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--data DIR" in done.stderr


def test_mnist_from_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in [("train", 64), ("t10k", 16)]:
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
        write_mnist(tmp_path, images, labels, prefix, compress=prefix == "t10k")
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", "mnist", "--data", str(tmp_path)]
        + ["--out", str(tmp_path / "out"), "--epochs", "2", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "64 training and 16 test images, 784-64-10 ReLU network" in done.stdout
    assert sorted(epochs(done.stdout)) == [1, 2]


def test_logdir_writes_tensorboard_scalars_histograms_and_graph(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logdir = tmp_path / "logs"
    done = train(tmp_path / "out", "--epochs", "2", "--quiet", "--logdir", str(logdir))
    assert done.returncode == 0, done.stderr
    assert f"tensorboard --logdir {logdir}" in done.stdout
    events = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    per_epoch = epochs(done.stdout)
    for tag, column in (("loss", 0), ("accuracy", 1)):
        written = events.Scalars(tag)
        assert [e.step for e in written] == [1, 2]
        printed = [float(per_epoch[epoch][column]) for epoch in (1, 2)]
        assert [e.value for e in written] == pytest.approx(printed, abs=6e-5)
    histograms = set(events.Tags()["histograms"])
    for weight in ("hidden/W", "hidden/b", "output/W", "output/b"):
        assert {f"weights/{weight}", f"gradients/{weight}"} <= histograms
        assert [e.step for e in events.Histograms(f"gradients/{weight}")] == [1, 2]
    nodes = {node.name for node in events.Graph().node}
    assert {"images", "hidden/W", "output/W", "loss", "accuracy"} <= nodes
