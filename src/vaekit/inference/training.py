"""The one training loop: :func:`fit` a VAE with Lightning around a termwise ELBO, and what it returns.

Lightning owns the loop, the progress bar, checkpoints, accelerators, devices and strategies; the
model knows nothing of Lightning, so it can be tested with a plain loss call. This module puts the
pieces together: data's in-memory loaders (:mod:`vaekit.data.loaders`), the Lightning module
(:mod:`~vaekit.inference.lightning_module`), the CSV log (:mod:`~vaekit.inference.epoch_log`), the
checkpoint files (:mod:`~vaekit.inference.checkpoints`) and the trainer
(:mod:`~vaekit.inference.trainer`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyro
import torch
from torch.utils.data import DataLoader

from vaekit.data.loaders import batch_loader, move_to_device_once
from vaekit.errors import TrainingDivergedError, VaekitError
from vaekit.inference.checkpoints import last_checkpoint, last_checkpoint_or_none
from vaekit.inference.config import TrainConfig
from vaekit.inference.epoch_log import EpochLogWriter
from vaekit.inference.lightning_module import BatchTransform, lightning_module_class
from vaekit.inference.losses import TermwiseELBO
from vaekit.inference.objectives import ELBOObjective, ImportanceWeightedObjective, Objective
from vaekit.inference.trainer import make_trainer, tensorboard_logger
from vaekit.models.base import VAE


@dataclass(frozen=True)
class FitResult:
    """What a training run produced.

    Attributes
    ----------
    history:
        One dict per epoch: ``epoch``, ``train_*`` and ``val_*`` terms in nats per example,
        ``seconds`` of training (validation excluded).
    best_epoch:
        Epoch with the best ``selected_on``.
    train_seconds:
        Wall-clock seconds of all training epochs (validation excluded).
    train_examples:
        Training examples seen, over all epochs.
    is_global_zero:
        Whether this process is the global rank 0; under distributed training only that one
        should write the run folder.
    world_size, device:
        How many processes trained together, and the device of this one (``"cuda:0"``, ...).
    selected_on:
        The validation term the best epoch was chosen on (``"val_elbo"``, or ``"val_iwae"`` for
        the importance-weighted objective).
    kept_epoch:
        Epoch whose weights the model holds on return: ``best_epoch``, or the last epoch when
        the config says ``keep="last"``.
    """

    history: list[dict[str, float]]
    best_epoch: int
    train_seconds: float
    train_examples: int
    is_global_zero: bool = True
    world_size: int = 1
    device: str = "cpu"
    selected_on: str = "val_elbo"
    kept_epoch: int = -1

    @property
    def examples_per_second(self) -> float:
        return self.train_examples / self.train_seconds if self.train_seconds > 0 else float("nan")


def fit(
    vae: VAE,
    train: Sequence[torch.Tensor] | Mapping[str, Sequence[torch.Tensor]] | DataLoader,
    val: Sequence[torch.Tensor] | DataLoader,
    config: TrainConfig,
    *,
    objective: Objective | None = None,
    run_dir: str | Path | None = None,
    batch_transform: BatchTransform | None = None,
    epoch_metrics: Callable[[VAE], dict[str, float]] | None = None,
    resume: bool = False,
) -> FitResult:
    """Fit ``vae`` by maximising the ELBO with Adam, keeping the weights of the best validation ELBO
    (of the best validation bound for another objective: its ``selection_term``), or of the last
    epoch with ``config.keep="last"``.

    Parameters
    ----------
    vae:
        The model; trained in place, and left holding the kept weights (see ``config.keep``).
    train, val:
        Tensors whose rows are examples, passed to ``vae.model``/``vae.guide`` in this order
        (``(images,)`` for the image VAE). ``train`` may also map names to such tensors (the
        labelled and unlabelled parts of a data set): every step then gets one batch of each,
        as a mapping, the shorter sets cycling until the longest is through. Either may also be
        a ready ``DataLoader`` yielding such batches (a table streamed from Parquet, for instance);
        it is used as it is.
    config:
        Training settings.
    objective:
        How a batch becomes a loss; the ELBO of ``vae.model``/``vae.guide`` by default.
    run_dir:
        When given, ``log.csv`` (one row per epoch), Lightning checkpoints under ``checkpoints/``
        and, if TensorBoard is installed, its logs under ``tensorboard/`` are written there.
    batch_transform:
        Applied to each training batch before the loss (dynamic binarization, for instance).
    epoch_metrics:
        Called with the model after each epoch; what it returns joins that epoch's row of the
        history (test accuracy per epoch, for instance). It never influences training.
    resume:
        Continue from ``run_dir/checkpoints/last.ckpt`` (weights, optimiser, schedule, history,
        random state) instead of starting afresh. Checkpoints are written atomically after every
        epoch, so a run killed at any moment resumes from its last finished epoch; on the CPU the
        resumed run ends with the same weights as an uninterrupted one.

    Raises
    ------
    TrainingDivergedError
        When the loss becomes NaN or infinite; the checkpoints of the epochs before are left
        in place.
    """
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    checkpoint_path: Path | None = None
    if resume:
        if run_dir is None:
            raise ValueError("resume needs the run_dir whose checkpoint to continue from")
        checkpoint_path = last_checkpoint(run_dir)

    # Seeds the draws of z (and anything else on the global generators) so that a seeded fit of the
    # same initial model repeats exactly on the CPU; the shuffling has its own generator.
    pyro.set_rng_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    generators = [generator]
    train_loader: Any
    if isinstance(train, DataLoader):
        train_loader = train
    elif isinstance(train, Mapping):
        from lightning.pytorch.utilities import CombinedLoader

        parts = {name: tensors for name, tensors in train.items() if tensors[0].shape[0] > 0}
        if not parts:
            raise ValueError("the training set is empty")
        # One generator per part: how many draws one part's shuffling takes never shifts another's.
        generators = [torch.Generator().manual_seed(config.seed + i) for i in range(len(parts))]
        loaders = {
            name: batch_loader(tensors, config.batch_size, shuffle=True, generator=part_generator)
            for (name, tensors), part_generator in zip(parts.items(), generators, strict=True)
        }
        train_loader = CombinedLoader(loaders, mode="max_size_cycle")
    else:
        train_loader = batch_loader(train, config.batch_size, shuffle=True, generator=generator)
    if isinstance(val, DataLoader):
        val_loader = val
    else:
        val_loader = batch_loader(val, config.batch_size, shuffle=False)
    if objective is None and config.objective == "iwae":
        objective = ImportanceWeightedObjective(config.num_particles)
    elif objective is None:
        objective = ELBOObjective(
            TermwiseELBO(max_plate_nesting=vae.max_plate_nesting, num_particles=config.num_particles)
        )
    module = lightning_module_class()(
        vae,
        objective,
        config.lr,
        config.lr_schedule,
        config.epochs,
        batch_transform,
        epoch_metrics,
        seed=config.seed,
        generators=generators,
        weight_decay=config.weight_decay,
    )

    callbacks: list[Any] = []
    logger: Any = False
    if run_dir is not None:
        run_dir = Path(run_dir)
        callbacks.append(EpochLogWriter.callback(run_dir / "log.csv"))
        # Two callbacks: Lightning's save_last only writes last.ckpt in an epoch that also wrote a
        # new best, so after the best epoch a crash would lose every later one. A resumed run (in
        # a moved folder too) overwrites both files instead of starting versioned copies.
        callbacks.append(
            ModelCheckpoint(
                dirpath=run_dir / "checkpoints",
                filename="best",
                monitor=module.selection_metric,
                mode="max",
                enable_version_counter=False,
            )
        )
        callbacks.append(
            ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="last", enable_version_counter=False)
        )
        logger = tensorboard_logger(run_dir)
    if config.early_stopping is not None:
        callbacks.append(
            EarlyStopping(monitor=module.selection_metric, mode="max", patience=config.early_stopping)
        )

    from lightning.pytorch.utilities.exceptions import MisconfigurationException

    try:
        trainer = make_trainer(config, callbacks, logger, checkpointing=run_dir is not None)
    except (MisconfigurationException, ValueError, TypeError) as error:
        # A device that is not there, an accelerator or strategy Lightning does not know, --devices -3.
        message = " ".join(str(error).split())
        raise VaekitError(
            f"cannot set up training with accelerator {config.accelerator!r}, devices {config.devices!r}, "
            f"strategy {config.strategy!r}: {message[:300]}"
        ) from None
    _check_rows_per_process(trainer.world_size, train, val)
    move_to_device_once(trainer.strategy.root_device, train_loader, val_loader)
    # Lightning's deterministic mode switches PyTorch's global flag on; leave it as the caller had it.
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    with warnings.catch_warnings():
        # Lightning suggests worker processes for loaders; the data are in memory, workers only add cost.
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*`isinstance\\(treespec, LeafSpec\\)` is deprecated.*")
        try:
            trainer.fit(module, train_loader, val_loader, ckpt_path=checkpoint_path, weights_only=True)
        except (TrainingDivergedError, ValueError) as error:
            if not isinstance(error, TrainingDivergedError):
                # Weights thrown to huge or non-finite values by a step (a huge --lr) fail the
                # distributions' checks of the next step before its loss can be seen (the data were
                # checked finite when read): a diverged run, not a bug.
                if "found invalid values" not in str(error):
                    raise
                error = TrainingDivergedError(
                    "the model's outputs became invalid (not finite or out of range) at epoch "
                    f"{trainer.current_epoch + 1}, "
                    f"step {trainer.global_step}; likely causes: a learning rate too high for this model "
                    "(try a lower --lr) or non-finite values in the data"
                )
            kept = last_checkpoint_or_none(run_dir)
            where = (
                f"; the last good checkpoint is kept: {kept} (resume with a lower --lr)"
                if kept is not None
                else ""
            )
            raise TrainingDivergedError(f"{error}{where}") from None
        finally:
            torch.use_deterministic_algorithms(was_deterministic)
    kept_epoch = len(module.history)
    if config.keep == "best" and module.best_state is not None:
        vae.load_state_dict(module.best_state)
        kept_epoch = module.best_epoch
    train_seconds = sum(row["seconds"] for row in module.history)
    return FitResult(
        history=module.history,
        best_epoch=module.best_epoch,
        kept_epoch=kept_epoch,
        train_seconds=train_seconds,
        # Each rank counted its own share (all ranks take the same number of steps).
        train_examples=module.examples_seen * trainer.world_size,
        is_global_zero=trainer.is_global_zero,
        world_size=trainer.world_size,
        device=str(trainer.strategy.root_device),
        selected_on=module.selection_metric,
    )


def _check_rows_per_process(world_size: int, *data: Any) -> None:
    """Every process needs a training and a validation row: one without would fail alone."""
    if world_size == 1:
        return
    for name, part in zip(("training", "validation"), data, strict=True):
        parts = part.values() if isinstance(part, Mapping) else [part]
        for tensors in parts:
            if isinstance(tensors, DataLoader):
                continue
            if 0 < tensors[0].shape[0] < world_size:
                raise VaekitError(
                    f"the {name} set has {tensors[0].shape[0]} rows, fewer than the {world_size} "
                    "processes training together; train on fewer devices or on more data"
                )
