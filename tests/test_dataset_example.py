"""examples/tf1_digits_dataset.py: a TF1 program fed by tf.data, run as a user runs it."""

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tf1_digits_dataset.py"


def test_the_tf1_data_example_trains_epochs_that_end_with_out_of_range(tmp_path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    epochs = re.findall(r"^epoch\s+\d+\s+loss ([\d.]+)\s+.*\((\d+) batches\)$", done.stdout, re.M)
    assert len(epochs) == 20
    assert {batches for _, batches in epochs} == {"45"}  # ceil(1437 / 32), every epoch
    assert float(epochs[-1][0]) < 0.5 * float(epochs[0][0])
    assert float(re.search(r"final test accuracy ([\d.]+)", done.stdout)[1]) >= 0.95
