"""``chainrule explain``: through ``python -m chainrule`` and in-process."""

import json
import os
import shutil
import subprocess
import sys

import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.cli.explain_cmd import chain_rule_lines, parse_assignments
from chainrule.errors import InvalidArgumentError


def chainrule(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_seed_command_prints_table_value_and_gradient():
    result = chainrule("(4*x+1)^2", "x=1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["node", "op", "inputs", "value", "gradient"]
    assert "value = 25" in lines
    assert "d/dx = 40" in lines
    assert "  x -> Mul -> Add -> Pow: 4 * 1 * 10 = 40" in lines
    pow_row = next(line for line in lines if line.startswith("Pow "))
    assert pow_row.split()[-2:] == ["25", "1"]


def test_syntax_error_goes_to_stderr_with_a_caret_and_exit_2():
    result = chainrule("(4*x+1", "x=1")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert "missing ')'" in lines[0] and "position 6" in lines[0]
    assert lines[1] == "  (4*x+1"
    assert lines[2] == "        ^"


def test_missing_or_malformed_values_exit_2(capsys):
    assert main(["explain", "x+y", "x=1"]) == 2
    assert "'y'" in capsys.readouterr().err
    assert main(["explain", "x", "x=one"]) == 2
    assert "not a number" in capsys.readouterr().err
    assert main(["explain", "x", "x"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err


def test_several_variables_and_negative_values(capsys):
    assert main(["explain", "x*y + y", "x=-2", "y=3"]) == 0
    out = capsys.readouterr().out
    assert "value = -3" in out.splitlines()
    assert "d/dx = 3" in out.splitlines()
    assert "d/dy = -1" in out.splitlines()


def test_expression_starting_with_minus_after_double_dash(capsys):
    assert main(["explain", "--", "-x^2", "x=3"]) == 0
    assert "value = -9" in capsys.readouterr().out.splitlines()


def test_expression_starting_with_minus_without_double_dash():
    result = chainrule("-x^2", "x=3")
    assert result.returncode == 0, result.stderr
    assert "value = -9" in result.stdout.splitlines()
    assert "d/dx = -6" in result.stdout.splitlines()


def test_leading_minus_keeps_options_and_negative_values(tmp_path, capsys):
    dot_file = tmp_path / "g.dot"
    assert main(["explain", "--dot", str(dot_file), "-x*y", "x=-2", "y=3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["value"] == 6.0
    assert "digraph chainrule" in dot_file.read_text()


def test_missing_value_hint_is_written_as_the_command_line_wants_it(capsys):
    assert main(["explain", "x*y + z", "y=2"]) == 2
    err = capsys.readouterr().err
    assert "e.g. x=1 z=1" in err
    assert "{" not in err


def test_a_variable_given_twice_is_refused(capsys):
    assert main(["explain", "x^2", "x=1", "x=2"]) == 2
    captured = capsys.readouterr()
    assert "'x' is given twice (x=1 and x=2)" in captured.err
    assert captured.out == ""


@pytest.mark.parametrize(
    "expression, value, words",
    [
        ("sqrt(x)", "x=-1", ["Sqrt got -1 and gave nan", "not a number"]),
        ("log(x)", "x=0", ["Log got 0 and gave -inf", "infinite"]),
        ("sqrt(x)", "x=0", ["d/dx is inf", "infinitely steep"]),
        ("x*2", "x=inf", ["x is inf; the computation starts from it"]),
    ],
)
def test_nan_and_infinity_are_explained(capsys, expression, value, words):
    assert main(["explain", expression, value]) == 0
    err = capsys.readouterr().err
    for word in words:
        assert word in err


def test_values_too_large_for_floats_are_refused(capsys):
    assert main(["explain", "x*2", "x=1" + "0" * 400]) == 2
    err = capsys.readouterr().err
    assert "the value of 'x' is too large for a float64" in err and "Traceback" not in err


def test_finite_results_have_no_note(capsys):
    assert main(["explain", "(4*x+1)^2", "x=1"]) == 0
    assert "note:" not in capsys.readouterr().err


def test_version():
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"chainrule {cr.__version__}"


def test_json_output(capsys):
    assert main(["explain", "(4*x+1)^2", "x=1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["value"] == 25.0 and data["gradients"]["x"] == 40.0
    assert data["paths"]["x"]["paths"][0]["factors"] == [4.0, 1.0, 10.0]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")
def test_svg_and_png_files(tmp_path):
    svg, png, dot = tmp_path / "g.svg", tmp_path / "g.png", tmp_path / "g.dot"
    result = chainrule("(4*x+1)^2", "x=1", "--svg", str(svg), "--png", str(png), "--dot", str(dot))
    assert result.returncode == 0, result.stderr
    text = svg.read_text()
    for label in ("Pow", "Add", "Mul", "value = 25", "grad = 40", "∂ 10"):
        assert label in text
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "digraph chainrule" in dot.read_text()
    assert f"wrote {svg}" in result.stderr


def test_svg_without_graphviz_prints_install_hint_and_keeps_dot(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path / "empty")}
    svg = tmp_path / "g.svg"
    result = chainrule("x^2", "x=3", "--svg", str(svg), env=env)
    assert result.returncode == 1
    assert "d/dx = 6" in result.stdout
    assert "apt-get install graphviz" in result.stderr
    assert not svg.exists()
    assert "digraph chainrule" in (tmp_path / "g.dot").read_text()


def test_unwritable_picture_path_is_reported(tmp_path, capsys):
    missing = tmp_path / "no" / "such" / "dir" / "g.dot"
    assert main(["explain", "x^2", "x=3", "--dot", str(missing)]) == 1
    captured = capsys.readouterr()
    assert "d/dx = 6" in captured.out
    assert "No such file or directory" in captured.err


def test_chain_rule_lines_are_bounded():
    trace = cr.explain("x*x + 3x", {"x": 2.0})
    assert chain_rule_lines(trace, "x") == [
        "  x -> Mul -> Add: 2 * 1 = 2",
        "  x -> Mul -> Add: 2 * 1 = 2",
        "  x -> Mul_1 -> Add: 3 * 1 = 3",
    ]
    assert chain_rule_lines(trace, "x", limit=1) == [
        "  x -> Mul -> Add: 2 * 1 = 2",
        "  ... and 2 more paths",
    ]


def test_parse_assignments():
    assert parse_assignments(["x=1", " y = -2.5", "z=1e-3"]) == {"x": 1.0, "y": -2.5, "z": 1e-3}
    with pytest.raises(InvalidArgumentError):
        parse_assignments(["=1"])
    with pytest.raises(InvalidArgumentError, match="twice"):
        parse_assignments(["x=1", "x=1"])
