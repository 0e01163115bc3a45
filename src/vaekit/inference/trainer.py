"""The Lightning ``Trainer`` a fit runs in, and its optional TensorBoard logger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vaekit.inference.checkpoints import checkpoint_io
from vaekit.inference.config import TrainConfig


def make_trainer(config: TrainConfig, callbacks: list[Any], logger: Any, *, checkpointing: bool) -> Any:
    """The Lightning ``Trainer`` of a fit: ``config``'s devices and epochs, safe checkpoint files,
    deterministic algorithms, and vaekit's own sharding of the rows."""
    import lightning as L

    return L.Trainer(
        max_epochs=config.epochs,
        accelerator=config.accelerator,
        devices=config.devices,
        strategy=config.strategy,
        num_nodes=config.num_nodes,
        callbacks=callbacks,
        logger=logger,
        plugins=[checkpoint_io()],
        enable_checkpointing=checkpointing,
        enable_progress_bar=config.progress_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=True,
        # vaekit's batch sampler shards the rows itself, without padding the evaluation shards.
        use_distributed_sampler=False,
    )


def tensorboard_logger(run_dir: Path) -> Any:
    """A TensorBoard logger writing under ``run_dir/tensorboard``, or ``False`` without TensorBoard."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    from lightning.pytorch.loggers import TensorBoardLogger

    return TensorBoardLogger(save_dir=str(run_dir), name="tensorboard", version="")
