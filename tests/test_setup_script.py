"""``scripts/setup.sh``: what a newcomer sees before anything is installed."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "scripts" / "setup.sh"


def test_setup_script_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(SETUP)]).returncode == 0


def test_too_old_python_is_refused_before_installing_anything(tmp_path):
    old_python = tmp_path / "python3.9"
    old_python.write_text(
        '#!/bin/sh\n[ "$1" = --version ] && echo "Python 3.9.2" && exit 0\nexit 1\n'
    )
    old_python.chmod(0o755)
    done = subprocess.run(
        ["bash", str(SETUP)],
        env={"PATH": "/usr/bin:/bin", "PYTHON": str(old_python)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "needs Python 3.11 or newer" in done.stderr and "Python 3.9.2" in done.stderr
    assert "installing" not in done.stdout


def test_setup_says_how_to_activate_and_announces_sudo():
    text = SETUP.read_text()
    assert "source .venv/bin/activate" in text
    assert "sudo may ask for your password" in text
    assert " -q -e " not in text  # the long install shows its progress
