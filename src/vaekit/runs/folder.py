"""Run folders as vaekit owns them: a marker, a lock, and what ``--force`` may remove.

vaekit marks every run folder it writes with a small file, :data:`MARKER`, and removes only the
files and folders that a run (or the demo) writes, under their own names: a folder without the
marker is never cleared, a file vaekit never writes inside one of its folders blocks ``--force``,
and anything else beside a run is left where it is.

A training command claims its folder with :func:`claim_run_folder` before it reads its data: the
claim takes a lock (:data:`LOCK`), so a second training on the same folder stops with a clear
error; it removes the temporary files of earlier writes that were killed, finishes what a killed
``--force`` left, and checks the folder. :meth:`RunFolder.begin` then moves the previous run aside
(into :data:`PREVIOUS`) instead of deleting it, and :meth:`RunFolder.close` deletes it only once
the new run has written a checkpoint; a command that fails before puts the previous run back, and
a folder that held nothing before is left as it was. Nothing is removed before every check of the
command has passed.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vaekit._io import atomic_write_json, is_temporary_of, remove_stale_temporaries
from vaekit._version import __version__
from vaekit.errors import RunError

#: The file that marks a folder as written by vaekit (JSON: format, kind, vaekit_version).
MARKER = ".vaekit-run"
#: The lock file a training holds while it writes the folder.
LOCK = ".vaekit-lock"
#: Where the previous run waits while a ``--force`` run replaces it.
PREVIOUS = ".vaekit-previous"
#: vaekit's bookkeeping entries: not a run's content.
BOOKKEEPING = (MARKER, LOCK, PREVIOUS)
MARKER_FORMAT = "vaekit-run-folder"

#: The table a run fitted on a DataFrame trains from (:class:`vaekit.runs.frame.TabularModel`).
TABLE_FILE = "table.csv"
#: The files a training run writes at the top of its folder.
RUN_FILES = ("config.json", "command.json", "model.pt", "metrics.json", "log.csv", TABLE_FILE)
#: The folders a training run writes, with the names of the files vaekit writes in them.
RUN_FOLDERS: dict[str, tuple[str, ...]] = {
    "checkpoints": ("*.ckpt",),
    "figures": ("*.png",),
    "tensorboard": ("events.out.tfevents.*", "hparams.yaml"),
}
#: The files and run folders ``vaekit demo`` writes.
DEMO_FILES = ("report.md",)
DEMO_RUNS = ("image-vae", "image-vae-2d", "ss-vae", "tabular-vae")
KINDS = ("run", "demo")


def _say(message: str) -> None:
    print(f"vaekit: {message}", file=sys.stderr)


# --- the marker and what a folder holds -------------------------------------------------------------


def mark_run_folder(folder: str | Path, kind: str = "run") -> None:
    """Write the marker that lets a later ``--force`` recognise the folder as vaekit's (once)."""
    folder = Path(folder)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if marker_kind(folder) != kind:
        atomic_write_json(
            folder / MARKER, {"format": MARKER_FORMAT, "kind": kind, "vaekit_version": __version__}
        )


def marker_kind(folder: str | Path) -> str | None:
    """The kind (``run`` or ``demo``) the folder's marker names; ``None`` without a valid marker."""
    try:
        marker = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("format") != MARKER_FORMAT:
        return None
    kind = marker.get("kind")
    return kind if kind in KINDS else None


@dataclass
class Inventory:
    """A folder's entries: vaekit's own, files vaekit never writes inside its folders, the rest."""

    owned: list[Path] = field(default_factory=list)
    foreign: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def inventory(folder: str | Path, kind: str = "run") -> Inventory:
    """Sort the entries of ``folder`` (a run or a demo folder) by who wrote them.

    ``owned`` are the top-level entries vaekit writes, under their names, holding nothing else;
    ``foreign`` the files inside vaekit's folders that it never writes (a user's file in
    ``figures/``, a symbolic link); ``kept`` every other top-level entry. The bookkeeping entries
    (:data:`BOOKKEEPING`) are in none of them.
    """
    folder = Path(folder)
    result = Inventory()
    files, folders = (RUN_FILES, RUN_FOLDERS) if kind == "run" else (DEMO_FILES, dict.fromkeys(DEMO_RUNS))
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if name in BOOKKEEPING:
            continue
        if entry.is_symlink():
            (result.foreign if name in files or name in folders else result.kept).append(entry)
        elif name in files or any(is_temporary_of(name, owned) for owned in files):
            (result.owned if entry.is_file() else result.foreign).append(entry)
        elif name in folders and entry.is_dir():
            foreign = _foreign_in(entry, folders[name]) if kind == "run" else _foreign_in_run(entry)
            if foreign:
                result.foreign.extend(foreign)
            else:
                result.owned.append(entry)
        else:
            result.kept.append(entry)
    return result


def _foreign_in(folder: Path, patterns: Iterable[str]) -> list[Path]:
    """Entries of one of a run's folders that vaekit does not write there."""
    patterns = tuple(patterns)
    foreign = []
    for entry in sorted(folder.iterdir()):
        written = any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in patterns)
        if entry.is_symlink() or not entry.is_file() or not (written or is_temporary_of(entry.name)):
            foreign.append(entry)
    return foreign


def _foreign_in_run(folder: Path) -> list[Path]:
    """Everything in a demo's run folder that is not the run's own."""
    if marker_kind(folder) != "run":
        return [folder]
    found = inventory(folder, "run")
    return found.foreign + found.kept


def has_trained(folder: str | Path, kind: str = "run") -> bool:
    """Whether the folder holds a run with a checkpoint or a model (a demo: any such run, or its report)."""
    folder = Path(folder)
    if kind == "demo":
        return (folder / "report.md").is_file() or any(has_trained(folder / name) for name in DEMO_RUNS)
    return (folder / "checkpoints" / "last.ckpt").is_file() or (folder / "model.pt").is_file()


def _describe(entries: Iterable[Path]) -> str:
    names = []
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            count = sum(1 for path in entry.rglob("*") if path.is_file())
            names.append(f"{entry.name}/ ({count} file{'s' * (count != 1)})")
        else:
            names.append(entry.name)
    return ", ".join(names)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


# --- claiming a folder ------------------------------------------------------------------------------


class RunFolder:
    """A run folder claimed by one training command: locked, checked, and replaced safely.

    Made by :func:`claim_run_folder`; :meth:`begin` when every check has passed and the command
    starts writing; :meth:`close` when it ends (``failed=True`` when it raised).
    """

    def __init__(self, path: Path, kind: str, *, created: Path | None, resume: bool) -> None:
        self.path, self.kind, self.resume = path, kind, resume
        #: The topmost folder the claim created (``path`` or one of its parents), to remove on failure.
        self.created = created
        self.replace: list[Path] = []
        self.kept: list[Path] = []
        self.never_trained = False
        self.begun = False
        self._had_marker = marker_kind(path) is not None
        self._lock: int | None = None

    # - the lock -

    def _acquire(self) -> None:
        import fcntl

        lock = self.path / LOCK
        while True:
            try:
                descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as error:
                raise RunError(f"cannot write in {self.path}: {error.strerror}") from None
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(descriptor, 32).decode("ascii", "replace").strip()
                os.close(descriptor)
                process = f" (process {holder})" if holder.isdigit() else ""
                raise RunError(
                    f"{self.path} is in use by another vaekit training{process}; wait for it to end "
                    "or choose another folder"
                ) from None
            try:
                same = os.fstat(descriptor).st_ino == os.stat(lock).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a lock file its last holder removed between our open and our lock
                break
            os.close(descriptor)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        self._lock = descriptor

    def _release(self) -> None:
        if self._lock is None:
            return
        (self.path / LOCK).unlink(missing_ok=True)
        os.close(self._lock)
        self._lock = None

    # - recovery, checks, replacement -

    def _recover(self) -> None:
        """Remove killed writes' temporary files; finish or undo what a killed ``--force`` left."""
        _remove_leftovers(self.path, self.kind)
        previous = self.path / PREVIOUS
        if not previous.is_dir():
            return
        if has_trained(self.path, self.kind):
            shutil.rmtree(previous)
            _say(f"removed the previous {self.kind} in {self.path} that a killed --force run had kept aside")
            return
        for entry in inventory(self.path, self.kind).owned:
            _remove(entry)
        for entry in previous.iterdir():
            os.replace(entry, self.path / entry.name)
        previous.rmdir()
        _say(
            f"put back the previous {self.kind} in {self.path}: the run that was to replace it was "
            "stopped before its first checkpoint"
        )

    def _check(self, *, force: bool, inputs: Iterable[str | os.PathLike[str]]) -> None:
        resolved = self.path.resolve()
        for given in inputs:
            if _inside(Path(given).resolve(), resolved):
                raise RunError(
                    f"--out {self.path} holds {given}, an input of this command; vaekit does not write "
                    "a run over its own input: choose another --out"
                )
        content = [entry for entry in self.path.iterdir() if entry.name not in BOOKKEEPING]
        if not content:
            return
        found = marker_kind(self.path)
        if found is None:
            if not force:
                raise RunError(
                    f"--out {self.path} already exists and is not empty; choose another folder or pass "
                    "--force"
                )
            raise RunError(
                f"--force refuses to clear {self.path}: it has no {MARKER} marker, so vaekit cannot tell "
                "its own files from others (run folders of vaekit 0.2.0 and earlier have none); remove it "
                "yourself or choose another --out"
            )
        if found != self.kind:
            raise RunError(
                f"--out {self.path} holds a vaekit {found}, not a {self.kind}; choose another folder"
            )
        trained = has_trained(self.path, self.kind)
        if trained and not force:
            raise RunError(
                f"--out {self.path} already exists and is not empty; choose another folder or pass --force "
                f"(which replaces only the files vaekit wrote there)"
            )
        found_entries = inventory(self.path, self.kind)
        if found_entries.foreign:
            first, more = found_entries.foreign[0], len(found_entries.foreign) - 1
            others = f" (and {more} more)" if more else ""
            raise RunError(
                f"{'--force' if trained else 'vaekit'} refuses to replace the {self.kind} in {self.path}: "
                f"{first}{others} was not written by vaekit; move it out first"
            )
        self.replace, self.kept, self.never_trained = found_entries.owned, found_entries.kept, not trained

    def begin(self) -> None:
        """Move the previous run aside (it is kept until the new one has a checkpoint) and mark the folder.

        Call it once every check of the command has passed, just before the new run writes.
        """
        if self.begun:
            return
        self.begun = True
        if self.replace:
            names = _describe(self.replace)
            if self.never_trained:
                _say(f"{self.path} holds a {self.kind} that never trained; replacing its files: {names}")
            else:
                _say(
                    f"--force: replacing the {self.kind} in {self.path}: {names}; they are kept in "
                    f"{PREVIOUS}/ until the new {self.kind} has a checkpoint, and put back if it fails before"
                )
            if self.kept:
                _say(f"left in place, not written by vaekit: {_describe(self.kept)}")
            previous = self.path / PREVIOUS
            previous.mkdir()
            for entry in self.replace:
                os.replace(entry, previous / entry.name)
        mark_run_folder(self.path, self.kind)

    def close(self, *, failed: bool) -> None:
        """End the claim: drop the previous run, or (on a failure before a checkpoint) put it back."""
        try:
            previous = self.path / PREVIOUS
            if self.begun and not self.resume:
                if failed and not has_trained(self.path, self.kind):
                    for entry in inventory(self.path, self.kind).owned:
                        _remove(entry)
                    if previous.is_dir():
                        for entry in previous.iterdir():
                            os.replace(entry, self.path / entry.name)
                        previous.rmdir()
                        _say(f"the previous {self.kind} in {self.path} is back in place")
                    elif not self._had_marker:
                        (self.path / MARKER).unlink(missing_ok=True)
                elif previous.is_dir():
                    shutil.rmtree(previous)
        except OSError as error:
            _say(f"warning: could not tidy {self.path} after the run: {error}")
        finally:
            self._release()
        if failed and self.created is not None:
            _remove_empty(self.path, self.created)


def claim_run_folder(
    path: str | Path,
    *,
    kind: str = "run",
    force: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
    resume: bool = False,
) -> RunFolder:
    """Lock ``path`` for one training command, tidy what killed commands left, and check it.

    A new run (``resume=False``) may start in a folder that does not exist, is empty, or holds a
    vaekit run that never trained; a trained run is replaced only with ``force``, and only when
    the folder bears vaekit's marker and holds no file vaekit never writes inside its folders.
    No input of the command may lie inside the folder. Nothing is moved or removed here except
    leftovers of killed commands; :meth:`RunFolder.begin` replaces the previous run.

    Raises
    ------
    RunError
        If the folder is in use by another training, is not a folder, or may not be replaced; the
        message says why and what to do.
    """
    path = Path(path)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if path.exists() and not path.is_dir():
        raise RunError(f"--out {path} exists and is not a folder")
    created = None
    if not path.exists():
        created = path
        while not created.parent.exists() and created.parent != created:
            created = created.parent
        try:
            path.mkdir(parents=True)
        except OSError as error:
            raise RunError(f"cannot create {path}: {error.strerror}") from None
    folder = RunFolder(path, kind, created=created, resume=resume)
    try:
        folder._acquire()
        folder._recover()
        if not resume:
            folder._check(force=force, inputs=inputs)
    except BaseException:
        folder.close(failed=True)
        raise
    return folder


# --- helpers ----------------------------------------------------------------------------------------


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink(missing_ok=True)


def _remove_leftovers(folder: Path, kind: str) -> None:
    """Remove the temporary files killed writes left in the folder and in vaekit's folders in it."""
    remove_stale_temporaries(folder)
    names: Iterable[str] = RUN_FOLDERS if kind == "run" else DEMO_RUNS
    for name in names:
        if (folder / name).is_dir() and not (folder / name).is_symlink():
            if kind == "run":
                remove_stale_temporaries(folder / name, recursive=True)
            else:
                _remove_leftovers(folder / name, "run")


def _remove_empty(path: Path, top: Path) -> None:
    """Remove ``path`` and its parents up to ``top`` while they are empty (a failed start's folders)."""
    current = path
    while True:
        try:
            current.rmdir()
        except OSError:
            return
        if current == top:
            return
        current = current.parent
