"""Atomic writes: leftovers of killed writes are cleaned, live ones never."""

from __future__ import annotations

import os
import time

from vaekit._io import atomic_write_text, remove_stale_temporaries, temporary_path


def _leftover(target, *, age: float = 60.0):
    """A temporary file as a killed atomic write of ``target`` leaves it, ``age`` seconds old."""
    leftover = temporary_path(target)
    leftover.write_bytes(b"x" * 1000)
    old = time.time() - age
    os.utime(leftover, (old, old))
    return leftover


def test_a_write_removes_the_leftovers_of_killed_writes_of_the_same_file(tmp_path):
    target = tmp_path / "samples.csv"
    killed = _leftover(target)
    other = _leftover(tmp_path / "other.csv")
    atomic_write_text(target, "a\n1\n")
    assert target.read_text() == "a\n1\n"
    assert not killed.exists()
    assert other.exists()  # another file's leftover is left to that file's next write
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, other.name])


def test_a_locked_or_fresh_temporary_file_is_not_a_leftover(tmp_path):
    import fcntl

    target = tmp_path / "model.pt"
    fresh = _leftover(target, age=0)
    locked = _leftover(target)
    with open(locked, "rb") as held:  # another process's write in progress holds its lock
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert remove_stale_temporaries(tmp_path, target="model.pt") == []
    assert fresh.exists() and locked.exists()
    assert remove_stale_temporaries(tmp_path, target="model.pt") == [locked]


def test_user_files_that_look_temporary_are_never_removed(tmp_path):
    mine = tmp_path / ".notes.tmp"
    mine.write_text("mine")
    old = time.time() - 60
    os.utime(mine, (old, old))
    assert remove_stale_temporaries(tmp_path) == []
    assert mine.exists()
