"""Atomic file writes: a crash never leaves a half-written file in place of a good one."""

from __future__ import annotations

import json
import os
import pickle
import re
import secrets
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from vaekit.errors import RunError

#: The temporary file of an atomic write: ``.NAME.RANDOM.tmp`` beside its target ``NAME`` (RANDOM: 16 hex
#: digits; 8 characters in the files of vaekit 0.2.0 and earlier).
_TEMPORARY = re.compile(r"^\.(?P<target>.+)\.(?:[0-9a-f]{16}|[a-z0-9_]{8})\.tmp$")
#: A temporary file younger than this is never taken for a leftover, locked or not.
STALE_AFTER_SECONDS = 5.0


def is_temporary_of(name: str, target: str | None = None) -> bool:
    """Whether ``name`` names the temporary file of an atomic write (of the file ``target``, if given)."""
    match = _TEMPORARY.match(name)
    return match is not None and (target is None or match.group("target") == target)


def temporary_path(path: str | os.PathLike[str]) -> Path:
    """A fresh name for the temporary file of an atomic write of ``path``: ``.NAME.RANDOM.tmp`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write`` on a temporary file beside ``path``, then rename it onto ``path``.

    The rename is atomic on POSIX file systems, so readers see either the old file or the complete
    new one. On any error the temporary file is removed and the old file is left untouched. The
    temporary file is locked while it is written; the temporary files that earlier writes of
    ``path`` left behind when their process was killed (unlocked, so no process writes them any
    more) are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, target=path.name)
    temporary = temporary_path(path)
    # Mode "x" refuses an existing file and, unlike tempfile.mkstemp, honours the umask.
    stream = open(temporary, "xb")  # closed by the with block below
    try:
        with stream:
            _lock(stream.fileno(), blocking=True)
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
            os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _lock(descriptor: int, *, blocking: bool) -> bool:
    """``flock`` the file exclusively; ``False`` when another process holds it (never blocks then)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no locks, and no leftover is ever taken for stale
        return not blocking
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def remove_stale_temporaries(
    folder: str | os.PathLike[str], *, target: str | None = None, recursive: bool = False
) -> list[Path]:
    """Remove the temporary files of atomic writes whose process was killed; return their paths.

    A temporary file is stale when no process holds its lock and it is older than
    :data:`STALE_AFTER_SECONDS`. ``target`` restricts the search to the temporary files of one
    file name; ``recursive`` searches the subfolders too. Files that cannot be read are skipped.
    """
    folder = Path(folder)
    candidates = folder.rglob(".*.tmp") if recursive else folder.glob(".*.tmp")
    removed = []
    now = time.time()
    for candidate in candidates:
        if not is_temporary_of(candidate.name, target):
            continue
        try:
            if not candidate.is_file() or now - candidate.stat().st_mtime < STALE_AFTER_SECONDS:
                continue
            descriptor = os.open(candidate, os.O_RDONLY)
            try:
                if _lock(descriptor, blocking=False):
                    candidate.unlink()
                    removed.append(candidate)
            finally:
                os.close(descriptor)
        except OSError:
            continue
    return removed


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def atomic_torch_save(path: str | os.PathLike[str], obj: Any) -> Path:
    """``torch.save`` to ``path`` atomically."""
    import torch

    return atomic_write(path, lambda stream: torch.save(obj, stream))


def safe_torch_load(
    path: str | os.PathLike[str], *, map_location: Any = "cpu", what: str = "vaekit model file"
) -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain values only, never code.

    Every file vaekit reads with torch (model files, training checkpoints) goes through here. A file
    that asks the unpickler for anything else (a crafted file whose loading would run code, or one
    written by other software) is refused before any of it runs.

    Raises
    ------
    RunError
        If the file is missing, corrupt, or holds more than tensors and plain values; the message
        is one line that names the file.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise RunError(f"{what} not found: {path}")
    try:
        with warnings.catch_warnings():
            # torch warns about the pickle protocol of files it is about to refuse anyway.
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if "Weights only load failed" not in str(error):
            raise RunError(
                f"cannot load {path}: it is not a {what} or is corrupt ({_first_line(error)})"
            ) from None
        culprit = re.search(r"GLOBAL (\S+)", str(error))
        asks = f" (it asks for {culprit.group(1)})" if culprit else ""
        raise RunError(
            f"{path} is not a {what} or was crafted to run code: it holds objects other than tensors "
            f"and plain values{asks}; refusing to unpickle it"
        ) from None
    except Exception as error:  # torch raises RuntimeError, EOFError, ValueError... for damaged files
        raise RunError(
            f"cannot load {path}: it is not a {what} or is corrupt ({_first_line(error)})"
        ) from None


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__
