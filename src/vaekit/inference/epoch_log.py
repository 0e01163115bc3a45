"""The per-epoch log of a run, ``log.csv``: one row per epoch, rewritten atomically after each."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vaekit._io import atomic_write_text


class EpochLogWriter:
    """Rewrites ``log.csv`` after every epoch, atomically, so a crash keeps every finished epoch."""

    @staticmethod
    def callback(path: Path) -> Any:
        """A Lightning callback that writes ``path`` after each validation, on rank 0 only."""
        import lightning as L

        class _Writer(L.Callback):
            def on_validation_end(self, trainer: L.Trainer, pl_module: Any) -> None:
                if trainer.sanity_checking or not trainer.is_global_zero or not pl_module.history:
                    return
                atomic_write_text(path, history_to_csv(pl_module.history))

        return _Writer()


def history_to_csv(history: Sequence[dict[str, float]]) -> str:
    """One row per epoch; columns in first-seen order."""
    columns: list[str] = []
    for row in history:
        columns += [name for name in row if name not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return buffer.getvalue()
