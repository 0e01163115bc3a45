"""Checkpoint files: where a run's last checkpoint lies, and Lightning's reader and writer made safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vaekit._io import atomic_torch_save, safe_torch_load
from vaekit.errors import VaekitError


def last_checkpoint_or_none(run_dir: str | Path | None) -> Path | None:
    """``run_dir/checkpoints/last.ckpt`` if it exists."""
    if run_dir is None:
        return None
    path = Path(run_dir) / "checkpoints" / "last.ckpt"
    return path if path.is_file() else None


def last_checkpoint(run_dir: str | Path) -> Path:
    """The checkpoint a resumed run continues from; a clear error when there is none."""
    path = last_checkpoint_or_none(run_dir)
    if path is None:
        raise VaekitError(
            f"cannot resume {run_dir}: it holds no checkpoint (checkpoints/last.ckpt); "
            "a run writes one after its first epoch"
        )
    return path


def checkpoint_io() -> Any:
    """Lightning's checkpoint reader and writer, made safe.

    Lightning writes through a temporary file in the system's temporary folder and moves it into
    place, which is a copy, not an atomic rename, when that folder is on another file system; and it
    reads checkpoints with whatever ``weights_only`` it is given. Here the temporary file lies beside
    the checkpoint and is renamed onto it, and reading never unpickles code.
    """
    from lightning.pytorch.plugins.io import TorchCheckpointIO

    class _SafeCheckpointIO(TorchCheckpointIO):
        def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
            atomic_torch_save(path, checkpoint)

        def load_checkpoint(
            self, path: Any, map_location: Any = None, weights_only: Any = None
        ) -> dict[str, Any]:
            return safe_torch_load(path, map_location=map_location or "cpu", what="vaekit checkpoint")

    return _SafeCheckpointIO()
