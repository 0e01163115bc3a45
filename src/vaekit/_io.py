"""Atomic file writes: a crash never leaves a half-written file in place of a good one."""

from __future__ import annotations

import json
import os
import pickle
import re
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

from vaekit.errors import RunError


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write`` on a temporary file beside ``path``, then rename it onto ``path``.

    The rename is atomic on POSIX file systems, so readers see either the old file or the complete
    new one. On any error the temporary file is removed and the old file is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); give it the permissions a plain open() would.
        os.chmod(temporary, 0o666 & ~_umask())
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def atomic_torch_save(path: str | os.PathLike[str], obj: Any) -> Path:
    """``torch.save`` to ``path`` atomically."""
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
