"""Checkpoints: ``Saver`` writes variables to NPZ files and restores them, safely.

- Named as in TF1: a checkpoint is known by its prefix (``model.ckpt-15``), which ``save``
  returns and ``restore``, ``latest_checkpoint`` and the ``checkpoint`` index use; its one
  file is the prefix plus ``.npz``. A path to that file is accepted wherever a prefix is.

- No pickle: arrays are written and read with ``allow_pickle=False``.
- Atomic: a checkpoint is written to a temporary file in the same directory, flushed and
  fsynced, then renamed over the final name (and the directory fsynced), so a crash mid-save
  leaves the previous checkpoint intact. The small ``checkpoint`` index file (TF1's format:
  ``model_checkpoint_path: "..."`` lines) is replaced the same way, one thread at a time;
  temporary files left by an interrupted save are removed by the next save to the folder.
- Kept as TF1 keeps them: ``max_to_keep`` counts the checkpoints of the prefix that the index
  lists, so a new Saver (a resumed run) also deletes the oldest files of earlier ones.
- Validated: ``restore`` checks every name, shape and dtype, from the arrays' headers and before
  inflating any data, and reports every mismatch at once; a truncated or corrupt file (one
  whose sizes disagree with its headers) is a clear error. The values are
  loaded through the session's store all at once: a load that fails midway loads nothing.

Unlike TF1, the index names checkpoints in its own directory relative to it (TF1 writes the
paths as given), so a run's folder can be moved; and restoring a checkpoint that does not
exist raises ``NotFoundError`` (TF1: ``ValueError``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import IO, Any

import numpy as np

from ..errors import (
    FailedPreconditionError,
    GraphError,
    InvalidArgumentError,
    NotFoundError,
)
from ..graph import Tensor
from ..ops.base import shape_matches
from ..ops.shapes import fmt
from ..ops.state_ops import Variable, global_variables

__all__ = [
    "Saver",
    "latest_checkpoint",
    "get_checkpoint_state",
    "CheckpointState",
    "checkpoint_exists",
    "list_variables",
    "load_variable",
    "read_checkpoint",
]

SUFFIX = ".npz"
INDEX_FILENAME = "checkpoint"
#: the temporary files ``_write_atomically`` writes: ``.model-3.npz.0123456789ab.tmp``
TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")
#: a temporary file this old, that no save holds, was left by an interrupted save
STALE_AFTER_SECONDS = 1.0

try:
    import fcntl
except ImportError:  # Windows: an interrupted save's files are recognised by their age alone
    fcntl = None  # type: ignore[assignment]


class Saver:
    """Saves and restores variables (by default every global variable, optimizer slots too).

    ``var_list`` is a list of variables (saved under their names) or a dict
    ``{name in the file: variable}``. ``max_to_keep`` checkpoints are kept; older ones are
    deleted (``None`` or 0 keeps all). TF1's other options are accepted and have no effect.
    """

    def __init__(
        self,
        var_list: Sequence[Variable] | Mapping[str, Variable] | None = None,
        max_to_keep: int | None = 5,
        allow_empty: bool = False,
        pad_step_number: bool = False,
        **tf1_options: Any,
    ):
        self._variables = _name_variables(var_list)
        if not self._variables and not allow_empty:
            raise InvalidArgumentError("there are no variables to save")
        self._max_to_keep = max_to_keep
        self._pad_step_number = pad_step_number
        self._last_checkpoints: list[str] = []

    @property
    def last_checkpoints(self) -> list[str]:
        """The checkpoints this saver has written and not deleted, oldest first."""
        return list(self._last_checkpoints)

    def recover_last_checkpoints(self, checkpoint_paths: Sequence[str]) -> None:
        """Take over ``checkpoint_paths`` (those that exist) as if this saver had written them."""
        self._last_checkpoints = [_prefix(p) for p in checkpoint_paths if checkpoint_exists(p)]

    # -- saving ----------------------------------------------------------------------------------
    def save(
        self,
        sess: Any,
        save_path: str | os.PathLike,
        global_step: Any = None,
        latest_filename: str | None = None,
        write_state: bool = True,
        **tf1_options: Any,
    ) -> str:
        """Write the variables' values in ``sess`` to ``save_path[-step].npz``; return the
        checkpoint's prefix ``save_path[-step]``, as TF1 does.

        ``global_step`` (a number or a node, e.g. the global step variable) is appended to the
        name as TF1 does. The ``checkpoint`` index next to it names the latest checkpoint.
        """
        self._check_session(sess)
        index_name = _index_name(latest_filename)
        base = _prefix(_checkpoint_path(save_path, "save"))
        prefix = base + self._step_suffix(sess, global_step)
        path = _data_file(prefix)
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise NotFoundError(
                f"cannot save checkpoint '{path}': the directory '{directory}' does not exist"
            )
        arrays = self._current_values(sess)
        try:
            _remove_interrupted_saves(directory)
            _write_atomically(path, lambda f: _write_npz(f, arrays))
            if write_state:
                with _index_lock(os.path.join(directory, index_name)):
                    self._record(base, prefix, index_name)
        except OSError as err:
            raise FailedPreconditionError(f"could not write checkpoint '{path}': {err}") from err
        return prefix

    def _step_suffix(self, sess: Any, global_step: Any) -> str:
        if global_step is None:
            return ""
        step = sess.run(global_step) if isinstance(global_step, Tensor) else global_step
        kind = (
            np.asarray(step).dtype.kind if isinstance(step, int | np.ndarray | np.generic) else ""
        )
        if kind not in ("i", "u") or np.ndim(step) != 0:
            raise InvalidArgumentError(
                f"global_step must be an integer (a Python int or an integer variable), got "
                f"{step!r}: the step number goes into the checkpoint's file name"
            )
        number = int(step)
        return f"-{number:08d}" if self._pad_step_number else f"-{number}"

    def _current_values(self, sess: Any) -> dict[str, np.ndarray]:
        """Every saved variable's value in ``sess`` (initialised on first use, as any run)."""
        names = list(self._variables)
        values = sess.run([self._variables[n] for n in names]) if names else []
        return {n: np.asarray(v) for n, v in zip(names, values, strict=True)}

    def _record(self, base: str, prefix: str, index_name: str) -> None:
        """Note ``prefix`` as the latest checkpoint, update the index, delete the oldest ones.

        The checkpoints of ``base`` that the index lists count too, written by this Saver or an
        earlier one (run under the index's lock).
        """
        directory = os.path.dirname(os.path.abspath(prefix))
        listed = _listed_checkpoints(directory, index_name, base)
        known = listed + [p for p in self._last_checkpoints if p not in listed]
        kept = [p for p in known if p != prefix and checkpoint_exists(p)] + [prefix]
        dropped: list[str] = []
        if not self._max_to_keep:
            kept = [prefix]
        elif len(kept) > self._max_to_keep:
            dropped = kept[: -self._max_to_keep]
            kept = kept[-self._max_to_keep :]
        self._last_checkpoints = kept
        _write_index(directory, index_name, prefix, kept)
        for old in dropped:
            with contextlib.suppress(FileNotFoundError):
                os.remove(_data_file(old))

    # -- restoring -------------------------------------------------------------------------------
    def restore(self, sess: Any, save_path: str | os.PathLike | None) -> None:
        """Load the checkpoint ``save_path`` (its prefix, or its ``.npz`` file) into ``sess``.

        Nothing is assigned unless every variable is present with the right shape and dtype;
        otherwise one error lists every problem.
        """
        self._check_session(sess)
        path = _find_checkpoint(_checkpoint_path(save_path, "restore"))
        arrays, _ = _load_checkpoint(
            path,
            list(self._variables),
            check=lambda entries: _check_compatible(path, self._variables, entries),
        )
        new_values = {var: var.new_value(arrays[name]) for name, var in self._variables.items()}
        sess.store.load_all(new_values)

    def _check_session(self, sess: Any) -> None:
        if not hasattr(sess, "store") or not hasattr(sess, "graph"):
            raise InvalidArgumentError(f"expected a Session, got {sess!r}")
        if sess.closed:
            raise FailedPreconditionError("this session is closed; create a new Session")
        for var in self._variables.values():
            if var.graph is not sess.graph:
                raise GraphError(
                    "the variable belongs to another graph than the session's; build the "
                    "Saver in the session's graph",
                    var,
                )


def _name_variables(
    var_list: Sequence[Variable] | Mapping[str, Variable] | None,
) -> dict[str, Variable]:
    """``{name in the checkpoint: variable}``, checked."""
    if var_list is None:
        var_list = global_variables()
    if isinstance(var_list, Tensor | str | bytes) or not isinstance(var_list, Iterable):
        raise InvalidArgumentError(
            f"var_list is a list of Variables or a dict {{name: Variable}}, got {var_list!r}"
        )
    if isinstance(var_list, Mapping):
        named = dict(var_list)
    else:
        named = {}
        for var in var_list:
            name = var.op.name if isinstance(var, Variable) else getattr(var, "name", None)
            if name in named:
                raise InvalidArgumentError(f"two variables to save are named '{name}'", var)
            named[name] = var  # type: ignore[index]
    for name, var in named.items():
        if not isinstance(var, Variable):
            raise InvalidArgumentError(f"Saver saves Variables; got {var!r} for '{name}'")
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"checkpoint names must be non-empty strings, got {name!r}")
    return named


# -- files -----------------------------------------------------------------------------------------
def _index_name(latest_filename: Any) -> str:
    """The index's file name (``checkpoint`` by default): a plain name, so it stays in the
    checkpoints' folder."""
    if latest_filename is None:
        return INDEX_FILENAME
    if (
        not isinstance(latest_filename, str)
        or latest_filename in ("", ".", "..")
        or any(sep and sep in latest_filename for sep in (os.sep, os.altsep, "/"))
    ):
        raise InvalidArgumentError(
            f"latest_filename must be a plain file name such as 'checkpoint' (it is written "
            f"next to the checkpoints), got {latest_filename!r}"
        )
    return latest_filename


_INDEX_LOCKS: dict[str, threading.Lock] = {}
_INDEX_LOCKS_GUARD = threading.Lock()


def _index_lock(index_path: str) -> threading.Lock:
    """The lock that serialises updates of the index ``index_path`` across threads."""
    with _INDEX_LOCKS_GUARD:
        return _INDEX_LOCKS.setdefault(os.path.abspath(index_path), threading.Lock())


def _listed_checkpoints(directory: str, index_name: str, base: str) -> list[str]:
    """The checkpoints of ``base`` (``base`` or ``base-STEP``) that the index lists, oldest
    first; none if the index is missing or unreadable (it is about to be rewritten)."""
    try:
        state = get_checkpoint_state(directory, index_name)
    except InvalidArgumentError:
        return []
    if state is None:
        return []
    stem = os.path.abspath(base)
    pattern = re.compile(re.escape(stem) + r"(-\d+)?")
    paths = state.all_model_checkpoint_paths or [state.model_checkpoint_path]
    return [p for p in paths if pattern.fullmatch(os.path.abspath(p))]


def _remove_interrupted_saves(directory: str) -> None:
    """Delete the temporary files that interrupted saves left in ``directory``: those no
    running save holds (POSIX: locked by their writer) and not written in the last second."""
    try:
        names = [n for n in os.listdir(directory) if TEMPORARY.match(n)]
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        with contextlib.suppress(OSError):
            if time.time() - os.stat(path).st_mtime < STALE_AFTER_SECONDS:
                continue
            if fcntl is None:
                os.remove(path)
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while a save writes it
                os.remove(path)
            finally:
                os.close(fd)


def _checkpoint_path(save_path: Any, caller: str) -> str | os.PathLike:
    """``save_path`` if it is a path (a string or ``os.PathLike``), else a clear error."""
    if not isinstance(save_path, str | os.PathLike):
        raise InvalidArgumentError(
            f"{caller}() needs a checkpoint path such as 'model.ckpt', got {save_path!r}"
        )
    return save_path


def _prefix(path: str | os.PathLike) -> str:
    """A checkpoint's prefix from its prefix or its file: ``model-3.npz`` -> ``model-3``."""
    prefix = os.fspath(path)
    if prefix.endswith(SUFFIX):
        prefix = prefix[: -len(SUFFIX)]
    if not os.path.basename(prefix):
        raise InvalidArgumentError(f"'{path}' names a directory, not a checkpoint")
    return prefix


def _data_file(prefix: str) -> str:
    """The file holding the checkpoint ``prefix``: ``model-3`` -> ``model-3.npz``."""
    return prefix + SUFFIX


def _candidate_files(path: str | os.PathLike) -> list[str]:
    """The files that the checkpoint named ``path`` (a prefix or a file) may be, in order."""
    path = os.fspath(path)
    data_file = _data_file(_prefix(path))
    return [data_file] if data_file == path else [data_file, path]


def _existing_file(path: str | os.PathLike) -> str | None:
    """The checkpoint file ``path`` names (as a prefix or a file), if it exists."""
    return next((f for f in _candidate_files(path) if os.path.isfile(f)), None)


def _find_checkpoint(save_path: str | os.PathLike) -> str:
    found = _existing_file(save_path)
    if found is None:
        looked_for = " or ".join(f"'{f}'" for f in _candidate_files(save_path))
        raise NotFoundError(
            f"no checkpoint at '{os.fspath(save_path)}': looked for {looked_for} and found "
            "no such file"
        )
    return found


def checkpoint_exists(checkpoint_prefix: str | os.PathLike) -> bool:
    """Whether the checkpoint ``checkpoint_prefix`` (a prefix or its file) exists."""
    return _existing_file(checkpoint_prefix) is not None


def _write_npz(f: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """An uncompressed NPZ archive (the layout of ``np.savez``) written without pickle."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in arrays.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


def _write_atomically(path: str, write: Any) -> None:
    """Write ``path`` through ``write(file)`` so that it is either complete or untouched."""
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
    )
    try:
        if fcntl is not None:  # a later save's clean-up leaves a file alone while it is held
            fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def read_checkpoint(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of the checkpoint at ``path`` (with or without ``.npz``), by name."""
    return _load_checkpoint(_find_checkpoint(path), None)[0]


def list_variables(ckpt_dir_or_file: str | os.PathLike) -> list[tuple[str, list[int]]]:
    """``[(name, shape)]`` of every variable in a checkpoint (or a directory's latest), sorted
    by name as TF1 does; only the arrays' headers are read."""
    path = _find_checkpoint(_resolve_checkpoint(ckpt_dir_or_file))
    return sorted(_read_shapes(path).items())


def load_variable(ckpt_dir_or_file: str | os.PathLike, name: str) -> np.ndarray:
    """The value of the variable ``name`` in a checkpoint (or a directory's latest).

    A trailing ``:0`` is dropped, as TF1 does, so a tensor's name works too.
    """
    path = _find_checkpoint(_resolve_checkpoint(ckpt_dir_or_file))
    key = name[:-2] if name.endswith(":0") else name
    arrays, available = _load_checkpoint(path, [key])
    if key not in arrays:
        hint = get_close_matches(key, available, n=1)
        suggestion = f"; it has '{hint[0]}'" if hint else ""
        raise NotFoundError(f"'{key}' is not in the checkpoint '{path}'{suggestion}")
    return arrays[key]


def _resolve_checkpoint(ckpt_dir_or_file: str | os.PathLike) -> str:
    """A checkpoint named by itself, or the latest one of a directory (TF1's convention)."""
    path = os.fspath(ckpt_dir_or_file)
    if not os.path.isdir(path):
        return path
    latest = latest_checkpoint(path)
    if latest is None:
        raise NotFoundError(f"no 'checkpoint' index or no checkpoint in the directory '{path}'")
    return latest


_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


@dataclass(frozen=True)
class _Entry:
    """One array of a checkpoint archive, as its header declares it (nothing inflated)."""

    member: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype


@contextlib.contextmanager
def _open_archive(path: str) -> Iterator[tuple[zipfile.ZipFile, dict[str, _Entry]]]:
    """The checkpoint archive at ``path`` and its entries by name, checked from the headers:
    each entry's declared size must be that of its declared shape and dtype."""
    # the file is opened here, not by zipfile, so that it is closed even when the archive
    # turns out to be damaged
    with open(path, "rb") as f:
        if f.read(len(np.lib.format.MAGIC_PREFIX)) == np.lib.format.MAGIC_PREFIX:
            raise _corrupt(path, "it holds a single array, not a set of named variables")
        try:
            archive = zipfile.ZipFile(f)
        except Exception as err:  # zipfile's format errors: all mean a bad file
            raise _corrupt(path, f"{type(err).__name__}: {err}") from None
        with archive:
            yield archive, _read_entries(archive, path)


def _read_entries(archive: zipfile.ZipFile, path: str) -> dict[str, _Entry]:
    entries = {}
    for member in archive.infolist():
        name = member.filename.removesuffix(".npy")
        try:
            with archive.open(member) as f:
                read_header = _HEADER_READERS[np.lib.format.read_magic(f)]
                shape, _, dtype = read_header(f)
                header_size = f.tell()
        except Exception as err:  # zipfile's and numpy's format errors: all mean a bad file
            raise _corrupt(path, f"the entry '{name}': {type(err).__name__}: {err}") from None
        if dtype.hasobject:
            raise _corrupt(path, f"the entry '{name}' holds Python objects, not numbers")
        size = math.prod(shape) * dtype.itemsize
        if member.file_size != header_size + size:
            raise _corrupt(
                path,
                f"the entry '{name}' declares shape {fmt(shape)} of {dtype} ({size} bytes) "
                f"but holds {member.file_size - header_size} bytes",
            )
        entries[name] = _Entry(member, tuple(shape), dtype)
    return entries


def _read_shapes(path: str) -> dict[str, list[int]]:
    """The shape of every array in the checkpoint file ``path``, from the headers alone."""
    with _open_archive(path) as (_, entries):
        return {name: list(entry.shape) for name, entry in entries.items()}


def _load_checkpoint(
    path: str, names: Sequence[str] | None, check: Any = None
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The arrays ``names`` (all by default; those present) of the checkpoint file ``path``,
    and the names it holds. ``check(entries)`` runs on the headers before any array is
    inflated. Any file that is not a readable NPZ archive is a clear error.
    """
    with _open_archive(path) as (archive, entries):
        available = list(entries)
        if check is not None:
            check(entries)
        wanted = available if names is None else [n for n in names if n in entries]
        arrays = {}
        for name in wanted:
            try:
                with archive.open(entries[name].member) as f:
                    arrays[name] = np.lib.format.read_array(f, allow_pickle=False)
            except Exception as err:  # a damaged entry: bad CRC, short data...
                raise _corrupt(path, f"the entry '{name}': {type(err).__name__}: {err}") from None
    return arrays, available


def _corrupt(path: str, reason: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"'{path}' is not a valid checkpoint (truncated, corrupt or not written by Saver): {reason}"
    )


def _check_compatible(
    path: str, variables: Mapping[str, Variable], entries: Mapping[str, _Entry]
) -> None:
    """Raise one error listing every missing name and every shape or dtype mismatch."""
    missing, mismatched = [], []
    unused = sorted(set(entries) - set(variables))
    for name, var in variables.items():
        if name not in entries:
            hint = get_close_matches(name, unused, n=1)
            suggestion = f" (the checkpoint has '{hint[0]}')" if hint else ""
            missing.append(f"'{name}' is not in the checkpoint{suggestion}")
            continue
        array = entries[name]
        if var.shape is not None and not shape_matches(var.shape, array.shape):
            mismatched.append(
                f"'{name}': the checkpoint has shape {fmt(array.shape)}, "
                f"the variable has shape {fmt(var.shape)}"
            )
        if var.dtype is not None and array.dtype != var.dtype.np:
            mismatched.append(
                f"'{name}': the checkpoint has dtype {array.dtype}, "
                f"the variable has dtype {var.dtype.name}"
            )
    problems = missing + mismatched
    if not problems:
        return
    listing = "\n".join(f"  - {p}" for p in problems)
    message = (
        f"checkpoint '{path}' does not match the variables to restore "
        f"({len(problems)} problem{'s' if len(problems) > 1 else ''}); nothing was restored:\n"
        f"{listing}"
    )
    raise (NotFoundError if missing else InvalidArgumentError)(message)


# -- the checkpoint index --------------------------------------------------------------------------
@dataclass
class CheckpointState:
    """What the ``checkpoint`` index says: the latest checkpoint and all those kept."""

    model_checkpoint_path: str
    all_model_checkpoint_paths: list[str] = field(default_factory=list)


def _write_index(directory: str, index_name: str, latest: str, kept: Sequence[str]) -> None:
    """Write the index naming the prefix ``latest`` and those ``kept``, TF1's text format."""
    lines = [f"model_checkpoint_path: {json.dumps(_relative(latest, directory))}"]
    lines += [f"all_model_checkpoint_paths: {json.dumps(_relative(p, directory))}" for p in kept]
    text = "\n".join(lines) + "\n"
    _write_atomically(os.path.join(directory, index_name), lambda f: f.write(text.encode()))


def _relative(path: str, directory: str) -> str:
    """``path`` relative to ``directory`` when it lies there, so the folder can be moved."""
    absolute = os.path.abspath(path)
    if os.path.dirname(absolute) == directory:
        return os.path.basename(absolute)
    return absolute


def get_checkpoint_state(
    checkpoint_dir: str | os.PathLike, latest_filename: str | None = None
) -> CheckpointState | None:
    """The ``checkpoint`` index of ``checkpoint_dir``, or ``None`` if there is none."""
    directory = os.fspath(checkpoint_dir)
    index = os.path.join(directory, _index_name(latest_filename))
    try:
        with open(index, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidArgumentError(f"cannot read the checkpoint index '{index}': {err}") from None
    latest, kept = None, []
    for key, value in _index_entries(index, text):
        # indexes written before checkpoints were named by prefix hold file names
        path = _prefix(value if os.path.isabs(value) else os.path.join(directory, value))
        if key == "model_checkpoint_path":
            latest = path
        elif key == "all_model_checkpoint_paths":
            kept.append(path)
    if latest is None:
        raise InvalidArgumentError(f"the checkpoint index '{index}' names no checkpoint")
    return CheckpointState(latest, kept)


def _index_entries(index: str, text: str) -> Iterator[tuple[str, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, _, value = line.partition(":")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, str):
            raise InvalidArgumentError(
                f"the checkpoint index '{index}' is malformed at line {number}: {line!r}"
            )
        yield key.strip(), parsed


def latest_checkpoint(
    checkpoint_dir: str | os.PathLike, latest_filename: str | None = None
) -> str | None:
    """The prefix of the latest checkpoint saved in ``checkpoint_dir``, or ``None`` if there is
    none or its file is missing."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is None or not checkpoint_exists(state.model_checkpoint_path):
        return None
    return state.model_checkpoint_path
