"""``chainrule demo`` and the example programs, run as a user runs them (subprocesses)."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_plots import assert_valid_png

from chainrule.cli import main
from chainrule.cli.progress import progress_bar

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run(args, cwd, timeout=120):
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def test_demo_trains_both_networks_and_writes_pictures(tmp_path):
    out = tmp_path / "pictures"
    done = run(["-m", "chainrule", "demo", "--out", str(out)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    # the seed's perceptron (np.random.seed(0) stream): loss 95.69 at step 0, then falling
    steps = [float(v) for v in re.findall(r"step\s+\d+\s+loss\s+([\d.]+)", text)]
    assert len(steps) == 10 + 10
    assert steps[0] == pytest.approx(95.6868, abs=1e-3)
    assert steps[:10] == sorted(steps[:10], reverse=True)
    assert steps[10:] == sorted(steps[10:], reverse=True)
    accuracies = [float(v) for v in re.findall(r"accuracy ([\d.]+)%", text)]
    assert accuracies[0] == 100.0 and accuracies[1] >= 95.0
    final_losses = [float(v) for v in re.findall(r"final loss ([\d.]+)", text)]
    assert text.count("(summed over 100 points, ") == 2
    assert "seed" not in text
    assert final_losses[0] < 2.0 and final_losses[1] < 10.0
    assert f"to {out.resolve()}" in text.splitlines()[-1]
    for name in ["perceptron_loss", "perceptron_boundary", "mlp_loss", "mlp_boundary"]:
        assert_valid_png(out / f"{name}.png")
    graph = out / "perceptron_graph.png"
    assert graph.is_file() or "graph picture skipped" in text
    if graph.is_file():
        assert_valid_png(graph, min_bytes=500, min_side=50)
    assert "it/s" not in done.stderr  # no progress bar when stderr is not a terminal


def test_progress_bar_only_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    assert not progress_bar("chainrule demo", False, range(3)).disable
    assert progress_bar("chainrule demo", True, range(3)).disable
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_bar("chainrule demo", False, range(3)).disable


def test_demo_help_names_the_tutorial_series():
    done = run(["-m", "chainrule", "demo", "--help"], cwd=ROOT)
    assert "Deep Learning From Scratch" in done.stdout and "seed" not in done.stdout


def test_demo_quiet_prints_only_the_folder(tmp_path):
    done = run(["-m", "chainrule", "demo", "--quiet", "--out", "q"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip()
        == f"wrote {len(list((tmp_path / 'q').glob('*.png')))} pictures to {tmp_path / 'q'}"
    )
    assert done.stderr == ""


def test_demo_without_graphviz_still_draws_the_training_pictures(tmp_path):
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # no 'dot' program
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "demo", "--out", "pics"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "(graph picture skipped:" in done.stdout and "Graphviz" in done.stdout
    assert sorted(p.name for p in (tmp_path / "pics").glob("*.png")) == [
        "mlp_boundary.png",
        "mlp_loss.png",
        "perceptron_boundary.png",
        "perceptron_loss.png",
    ]
    assert "wrote 4 pictures to" in done.stdout


# -- the example programs ---------------------------------------------------------------------


def run_example(name, tmp_path, *args):
    done = run([str(EXAMPLES / name), *args], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_perceptron_example_is_the_seed_part_iv(tmp_path):
    text = run_example("perceptron.py", tmp_path)
    first = float(re.search(r"Step: 0  Loss: ([\d.]+)", text)[1])
    assert first == pytest.approx(95.6868, abs=1e-3)
    assert "Accuracy: 1.0" in text
    assert_valid_png(tmp_path / "perceptron_line.png")
    assert_valid_png(tmp_path / "perceptron_boundary.png")


def test_mlp_example_is_the_seed_part_v(tmp_path):
    text = run_example("mlp.py", tmp_path, "out")
    final = float(re.search(r"Final loss: ([\d.]+)", text)[1])
    assert final == pytest.approx(4.4536, abs=1e-3)
    assert float(re.search(r"Accuracy: ([\d.]+)", text)[1]) >= 0.95
    assert_valid_png(tmp_path / "out" / "mlp_boundary.png")
    assert_valid_png(tmp_path / "out" / "mlp_loss.png")


def test_backprop_numbers_example_gives_the_seed_002_numbers(tmp_path):
    text = run_example("backprop_numbers.py", tmp_path)
    assert "yhat = 0.6225   L = 0.4741" in text
    assert "dL/dw1 = -0.5663   dL/dw2 = -0.9439   dL/db = -0.3775" in text
    assert "original loss 12.017" in text
    assert "After one step: loss 12.010" in text
    assert "Trained network loss: 0.347" in text
    rows = re.findall(r"^[wb]\d\[\d,\d\]\s+(\S+)\s+(\S+)\s+(\S+)$", text, re.M)
    assert len(rows) == 7
    for slope, backprop, _ in rows:
        assert abs(float(slope) - float(backprop)) < 1e-4
    assert_valid_png(tmp_path / "perturbation.png")


def test_tf1_digits_example_runs_with_the_import_swapped(tmp_path):
    text = run_example("tf1_digits.py", tmp_path)
    assert len(re.findall(r"^epoch\s+\d+", text, re.M)) == 20
    assert float(re.search(r"final test accuracy ([\d.]+)", text)[1]) >= 0.95


def test_unusable_output_folder_is_one_line_without_traceback(tmp_path, capsys):
    occupied = tmp_path / "a-file"
    occupied.write_text("not a folder")
    assert main(["demo", "--quiet", "--out", str(occupied)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chainrule demo: ") and "Traceback" not in err


def test_char_rnn_example_learns_its_text(tmp_path):
    text = run_example("char_rnn.py", tmp_path, "--epochs", "75")
    losses = [float(v) for v in re.findall(r"^epoch +\d+ +loss (\S+)$", text, re.M)]
    assert losses[0] > 3.0 and losses[-1] < 0.5, losses
    written = re.search(r"the network writes: '(.*)'$", text, re.M).group(1)
    assert written.startswith("backpropagation is the chain")


def test_newton_example_shows_every_iteration_and_the_gradient_through_the_loop(tmp_path):
    text = run_example("newton_sqrt.py", tmp_path, "2")
    assert re.findall(r"^  after (\d+):", text, re.M) == ["0", "1", "2", "3", "4", "5"]
    assert "root = 1.414213562373095" in text
    assert "d root / d a = 0.353553390593274" in text
