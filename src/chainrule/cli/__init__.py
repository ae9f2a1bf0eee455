"""The ``chainrule`` command: ``chainrule explain``, ``demo``, ``train``, ``serve``.

Each subcommand lives in its own module with ``register(subparsers)``; the module's
``run(args)`` returns the exit code.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from pathlib import Path

from .. import __version__
from ..errors import ChainruleError, InvalidArgumentError

SUBCOMMANDS = ["explain_cmd", "demo_cmd", "train_cmd", "serve_cmd"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Computational graphs and backpropagation you can see.",
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{module_name}")
        except ModuleNotFoundError as err:
            if err.name == f"{__name__}.{module_name}":
                continue
            raise
        module.register(subparsers)
    return parser


def prepare_words(words: list[str]) -> list[str]:
    """Let ``chainrule explain "-x^2" x=3`` through: see ``explain_cmd.shield_leading_minus``."""
    from .explain_cmd import shield_leading_minus

    commands = [i for i, word in enumerate(words) if not word.startswith("-")]
    if not commands or words[commands[0]] != "explain":
        return words
    start = commands[0] + 1
    return words[:start] + shield_leading_minus(words[start:])


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(prepare_words(sys.argv[1:] if argv is None else list(argv)))
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """Run a subcommand; what goes wrong becomes one line on stderr and an exit code, no traceback."""
    try:
        return int(args.run(args) or 0)
    except ChainruleError as err:
        print(f"chainrule {args.command}: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"chainrule {args.command}: {os_error_message(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())


def os_error_message(err: OSError, path: str | os.PathLike | None = None) -> str:
    """``cannot write 'out/x.svg': Not a directory``: the file at fault and the system's reason."""
    name = err.filename if err.filename is not None else path
    reason = err.strerror or str(err)
    return f"cannot write '{os.fspath(name)}': {reason}" if name is not None else reason


def output_folder(path: str | os.PathLike, option: str = "--out") -> Path:
    """The folder ``path`` (created if needed), or a clear error naming ``option`` when it is a
    file, lies under a file, or cannot be created."""
    folder = Path(path).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        hint = "give a folder (it is created if needed)" if option.startswith("--") else "move it"
        raise InvalidArgumentError(f"{option} '{path}' is a file, not a folder; {hint}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        reason = (
            "a part of it is a file, not a folder"
            if err.errno in (errno.ENOTDIR, errno.EEXIST)
            else err.strerror or str(err)
        )
        raise InvalidArgumentError(
            f"{option} '{path}': cannot create this folder: {reason}"
        ) from None
    if not os.access(folder, os.W_OK):
        raise InvalidArgumentError(f"{option} '{path}': this folder is not writable")
    return folder
