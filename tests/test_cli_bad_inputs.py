"""The ``chainrule`` command given unusable files, folders and sizes: one clear line on stderr
naming what to change, a non-zero exit and no traceback."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.cli import main


def run_cli(capsys, *words: str) -> tuple[int, str]:
    """The exit code and stderr of ``chainrule WORDS`` run in this process."""
    code = main(list(words))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("a file, not a folder")
    return path


@pytest.mark.parametrize("command", [["train", "digits", "--epochs", "1"], ["demo"]])
def test_out_naming_a_file_is_refused(capsys, a_file, command):
    code, err = run_cli(capsys, *command, "--quiet", "--out", str(a_file))
    assert code != 0
    assert f"--out '{a_file}' is a file, not a folder" in err
    assert a_file.read_text() == "a file, not a folder"


@pytest.mark.parametrize("command", [["train", "digits", "--epochs", "1"], ["demo"]])
@pytest.mark.parametrize("where", ["/proc/no-such-folder", "/proc/self/status/out"])
def test_out_that_cannot_be_created_is_refused(capsys, command, where):
    code, err = run_cli(capsys, *command, "--quiet", "--out", where)
    assert code != 0
    assert f"--out '{where}'" in err and "cannot create this folder" in err


def test_out_under_a_file_is_refused(capsys, a_file):
    code, err = run_cli(capsys, "demo", "--quiet", "--out", str(a_file / "pictures"))
    assert code != 0
    assert "a part of it is a file, not a folder" in err


def test_a_file_where_the_checkpoints_folder_goes_is_refused(capsys, tmp_path):
    (tmp_path / "checkpoints").write_text("")
    code, err = run_cli(capsys, "train", "digits", "--quiet", "--out", str(tmp_path))
    assert code != 0
    assert f"the checkpoints folder '{tmp_path / 'checkpoints'}' is a file" in err


@pytest.mark.parametrize("option", ["--svg", "--png", "--dot"])
def test_pictures_that_cannot_be_written_name_the_file(capsys, a_file, option):
    target = str(a_file / "graph")
    code, err = run_cli(capsys, "explain", "x*2", "x=1", option, target)
    assert code == 1
    assert f"cannot write '{target}'" in err


def test_a_network_too_big_for_memory_is_refused_before_allocating(capsys, tmp_path):
    code, err = run_cli(
        capsys, "train", "digits", "--quiet", "--hidden", "100000000", "--out", str(tmp_path)
    )
    assert code == 2
    assert "--hidden 100000000 needs about" in err and "choose a smaller --hidden" in err


def idx_header(code: int, *shape: int) -> bytes:
    return bytes([0, 0, 8, code]) + struct.pack(f">{len(shape)}I", *shape)


def test_mnist_files_holding_no_images_are_refused(capsys, tmp_path):
    data = tmp_path / "mnist"
    data.mkdir()
    for prefix in ("train", "t10k"):
        (data / f"{prefix}-images-idx3-ubyte").write_bytes(idx_header(3, 0, 28, 28))
        (data / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_header(1, 0))
    code, err = run_cli(
        capsys, "train", "mnist", "--data", str(data), "--quiet", "--out", str(tmp_path / "o")
    )
    assert code == 2
    assert "train-images-idx3-ubyte' holds no images" in err


def test_a_bad_out_exits_cleanly_as_a_program(a_file):
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", "digits", "--quiet", "--out", str(a_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "is a file, not a folder" in done.stderr
