"""Progress bars for the commands: on a terminal only, so logs never fill with bar fragments."""

from __future__ import annotations

import sys
from typing import Any

from chainrule import data


def progress_bar(command: str, quiet: bool, iterable: Any = None, **options: Any) -> Any:
    """A tqdm bar on stderr that vanishes when done; off with ``--quiet`` or without a terminal.

    ``disable=None`` is tqdm's "only when stderr is a terminal": piped into a file or a CI log,
    the bar would write a fragment for every refresh.
    """
    tqdm = data.require_module("tqdm", "viz", command, "tqdm").tqdm
    disable = True if quiet else None
    return tqdm(iterable, disable=disable, leave=False, file=sys.stderr, **options)
