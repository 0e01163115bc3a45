"""The one training loop: Lightning around a termwise ELBO.

Lightning owns the loop, the progress bar, checkpoints, accelerators, devices and strategies; the
model knows nothing of Lightning, so it can be tested with a plain loss call.
"""

from __future__ import annotations

import copy
import csv
import io
import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyro
import torch
from torch.utils.data import DataLoader

from vaekit._distributed import rank_and_world_size
from vaekit._io import atomic_torch_save, atomic_write_text, safe_torch_load
from vaekit.data.loaders import batch_loader, move_to_device_once
from vaekit.errors import TrainingDivergedError, VaekitError
from vaekit.inference.config import TrainConfig
from vaekit.inference.losses import TermwiseELBO
from vaekit.inference.objectives import (
    Batch,
    ELBOObjective,
    ImportanceWeightedObjective,
    Objective,
    StepResult,
)
from vaekit.models.base import VAE

BatchTransform = Callable[[Batch], Batch]


#: Added to the seed of the validation draws, so that they are not the first training draws again.
_VALIDATION_SEED_OFFSET = 104_729
#: Training steps between two looks at the non-finite-loss flag. Reading a flag held on the device
#: waits for the device to finish; looking once per this many steps (and before every validation,
#: so that no checkpoint is written after a bad step) keeps the step free of host round trips,
#: and still stops a diverged run within this many steps.
DIVERGENCE_CHECK_STEPS = 25


def _random_state(device: torch.device) -> tuple[torch.device, torch.Tensor, torch.Tensor | None]:
    """The generators draws of z come from: the CPU's, and the device's own on a CUDA device."""
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return device, torch.get_rng_state(), cuda


def _seed_draws(device: torch.device, seed: int) -> None:
    """Seed only the generators :func:`_random_state` saves (``torch.manual_seed`` would reseed
    every device's, Apple's MPS included, which nothing would then put back)."""
    torch.default_generator.manual_seed(seed)
    if device.type == "cuda":
        with torch.cuda.device(device):
            torch.cuda.manual_seed(seed)


def _set_random_state(state: tuple[torch.device, torch.Tensor, torch.Tensor | None]) -> None:
    device, cpu, cuda = state
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state(cuda, device)


def build_optimizer(
    parameters: Iterable[torch.nn.Parameter], *, lr: float, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """Adam, or AdamW when ``weight_decay`` is positive, as every vaekit training step uses it.

    PyTorch's fused implementation is taken where the parameters' device has one (CPU and CUDA):
    it updates all parameters in one kernel, about six times faster on the CPU than the default
    loop over parameters, which matters for wide tables whose heads hold millions of weights.
    """
    parameters = list(parameters)
    fused = {"fused": True} if all(p.device.type in ("cpu", "cuda") for p in parameters) else {}
    if weight_decay > 0:
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay, **fused)
    return torch.optim.Adam(parameters, lr=lr, **fused)


def _lightning_module_class() -> type:
    import lightning as L

    class _VAETrainingModule(L.LightningModule):
        """Optimises a :class:`~vaekit.models.VAE` with a termwise ELBO and keeps the best weights."""

        def __init__(
            self,
            vae: VAE,
            objective: Objective,
            lr: float,
            lr_schedule: str,
            max_epochs: int,
            batch_transform: BatchTransform | None = None,
            epoch_metrics: Callable[[VAE], dict[str, float]] | None = None,
            seed: int = 0,
            generators: Sequence[torch.Generator] = (),
            weight_decay: float = 0.0,
        ) -> None:
            super().__init__()
            # Manual optimisation: Lightning's automatic closure machinery costs a tenth of a
            # small model's step, and one optimiser with one backward pass needs none of it.
            self.automatic_optimization = False
            self.vae = vae
            self.objective = objective
            self.lr = lr
            self.lr_schedule = lr_schedule
            self.weight_decay = weight_decay
            self.max_epochs = max_epochs
            self.batch_transform = batch_transform
            self.epoch_metrics = epoch_metrics
            self.history: list[dict[str, float]] = []
            self.best_state: dict[str, torch.Tensor] | None = None
            # The validation term the best weights are chosen on: the bound being maximised.
            self.selection_metric = f"val_{objective.selection_term}"
            self.best_val_score = -math.inf
            self.best_epoch = -1
            # Running sums of the ELBO terms, one stacked tensor per stage: one add per step.
            self._sums: dict[str, torch.Tensor | None] = {"train": None, "val": None}
            # First step of the epoch with a non-finite loss (-1: none yet) and that loss, on the
            # device: see DIVERGENCE_CHECK_STEPS.
            self._first_bad_step: torch.Tensor | None = None
            self._first_bad_loss: torch.Tensor | None = None
            self._names: dict[str, list[str]] = {"train": [], "val": []}
            self._counts = {"train": 0, "val": 0}
            self.examples_seen = 0
            self._epoch_start = 0.0
            self._train_seconds = 0.0
            self.seed = seed
            # The shuffling generators and the global generator are saved in every checkpoint, so
            # that a resumed run on the CPU draws exactly what the uninterrupted run would have.
            self.generators = list(generators)
            self._resumed = False
            self._training_random_state: tuple[Any, ...] | None = None

        def configure_optimizers(self) -> Any:
            optimizer = build_optimizer(self.vae.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            if self.lr_schedule == "constant":
                return optimizer
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.max_epochs)
            return {"optimizer": optimizer, "lr_scheduler": schedule}

        def on_train_start(self) -> None:
            if self._resumed:
                self._apply_learning_rate()
            else:
                # Each rank draws its own z: identical draws on every rank would correlate the
                # gradient noise that data parallelism is meant to average away.
                pyro.set_rng_seed(self.seed + self.global_rank)

        def _apply_learning_rate(self) -> None:
            """Rescale a resumed run's learning rate to the one asked for now (a lower one after a
            diverging loss, say), keeping where the schedule has got to."""
            optimizer = self.optimizers().optimizer
            for group in optimizer.param_groups:
                base = group.get("initial_lr", group["lr"])
                if math.isclose(base, self.lr, rel_tol=1e-12):
                    continue
                group["lr"] *= self.lr / base
                if "initial_lr" in group:
                    group["initial_lr"] = self.lr
            if self.lr_schedule != "constant":
                schedule = self.lr_schedulers()
                schedule.base_lrs = [self.lr for _ in schedule.base_lrs]

        def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
            # Only tensors and plain Python values: the file must load with weights_only=True.
            checkpoint["vaekit"] = {
                "history": [dict(row) for row in self.history],
                "best_state": self.best_state,
                "best_val_score": float(self.best_val_score),
                "best_epoch": int(self.best_epoch),
                "examples_seen": int(self.examples_seen),
                "random_state": {
                    "torch": torch.get_rng_state(),
                    "generators": [generator.get_state() for generator in self.generators],
                },
            }

        def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
            state = checkpoint.get("vaekit")
            if state is None:
                raise VaekitError("the checkpoint was not written by vaekit's training loop")
            self.history = [dict(row) for row in state["history"]]
            self.best_state = state["best_state"]
            # Checkpoints of vaekit 0.1 named it for the ELBO, the only selection term then.
            self.best_val_score = state.get("best_val_score", state.get("best_val_elbo", -math.inf))
            self.best_epoch = state["best_epoch"]
            self.examples_seen = state["examples_seen"]
            # Restored here, before Lightning creates the epoch's data iterator (which draws from
            # the global generator), so that the draws continue exactly where the run stopped.
            random_state = state["random_state"]
            for generator, saved in zip(self.generators, random_state["generators"], strict=True):
                generator.set_state(saved)
            if self.global_rank == 0:
                torch.set_rng_state(random_state["torch"])
            else:  # only rank 0's state is saved; the others start a fresh stream per epoch
                pyro.set_rng_seed(self.seed + self.global_rank + 7919 * int(checkpoint["epoch"] + 1))
            self._resumed = True

        def _accumulate(self, stage: str, result: StepResult) -> torch.Tensor:
            n, terms = result.num_examples, result.terms
            stacked = torch.stack(list(terms.values())) * n
            current = self._sums[stage]
            self._sums[stage] = stacked if current is None else current + stacked
            self._names[stage] = list(terms)
            self._counts[stage] += n
            if stage == "train":
                self.examples_seen += n
            return result.loss

        def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
            if self.batch_transform is not None:
                batch = self.batch_transform(batch)
            loss = self._accumulate("train", self.objective.training(self.vae, batch))
            self._watch_loss(loss.detach(), batch_idx)
            if (batch_idx + 1) % DIVERGENCE_CHECK_STEPS == 0:
                self._stop_if_diverged()
            optimizer = self.optimizers()
            optimizer.zero_grad()
            self.manual_backward(loss)
            optimizer.step()
            return loss.detach()

        def _watch_loss(self, loss: torch.Tensor, batch_idx: int) -> None:
            """Remember, on the device, the first step of this epoch whose loss was not finite."""
            if self._first_bad_step is None or self._first_bad_step.device != loss.device:
                self._first_bad_step = torch.full((), -1, dtype=torch.long, device=loss.device)
                self._first_bad_loss = torch.zeros((), dtype=loss.dtype, device=loss.device)
            first = (self._first_bad_step < 0) & ~torch.isfinite(loss)
            self._first_bad_step = torch.where(first, batch_idx, self._first_bad_step)
            self._first_bad_loss = torch.where(first, loss, self._first_bad_loss)

        def _stop_if_diverged(self) -> None:
            """Raise if a step since the epoch began had a non-finite loss (one host round trip)."""
            if self._first_bad_step is None:
                return
            bad = self._first_bad_step.clone()
            _, world = rank_and_world_size()
            if world > 1:
                # Every rank must stop together: one that raised alone would leave the others
                # waiting for its gradients forever. All ranks look at the same steps.
                import torch.distributed as dist

                dist.all_reduce(bad, op=dist.ReduceOp.MAX)
            step = int(bad)
            if step < 0:
                return
            value = float(self._first_bad_loss) if int(self._first_bad_step) >= 0 else float("nan")
            self._first_bad_step = None
            raise TrainingDivergedError(
                f"the training loss became {value} at epoch {self.current_epoch + 1}, "
                f"step {step + 1}; likely causes: a learning rate too high for this model "
                "(try a lower --lr) or non-finite values in the data"
            )

        def validation_step(self, batch: Batch, batch_idx: int) -> None:
            self._accumulate("val", self.objective.validation(self.vae, batch))

        def on_train_epoch_start(self) -> None:
            self._epoch_start = time.perf_counter()
            self._first_bad_step = None

        def on_validation_epoch_start(self) -> None:
            if not self.trainer.sanity_checking:
                self._train_seconds = time.perf_counter() - self._epoch_start
                # Before this epoch's weights are validated, chosen or checkpointed.
                self._stop_if_diverged()
            # The same draws of z every epoch (common random numbers): epochs are then compared on
            # their weights, not on the luck of their draws, which would otherwise pick a lucky
            # epoch as the best one. The training stream is put back untouched afterwards.
            self._training_random_state = _random_state(self.device)
            _seed_draws(self.device, self.seed + self.global_rank + _VALIDATION_SEED_OFFSET)

        def on_validation_epoch_end(self) -> None:
            if self._training_random_state is not None:
                _set_random_state(self._training_random_state)
                self._training_random_state = None
            self._record_epoch()

        def _epoch_means(self, stage: str) -> dict[str, float]:
            count, sums = self._counts[stage], self._sums[stage]
            if sums is None:
                return {}
            rank, world = rank_and_world_size()
            if world > 1:
                # Every rank saw its own share: sum the shares so that all ranks agree on the
                # epoch's ELBO, and so on the best epoch and on early stopping.
                import torch.distributed as dist

                totals = torch.cat([sums.detach(), sums.new_tensor([count])])
                dist.all_reduce(totals)
                sums, count = totals[:-1], float(totals[-1])
            means = {
                f"{stage}_{name}": float(total) / count
                for name, total in zip(self._names[stage], sums, strict=True)
            }
            self._sums[stage] = None
            self._counts[stage] = 0
            return means

        def _record_epoch(self) -> None:
            if self.trainer.sanity_checking:
                return
            # With manual optimisation Lightning leaves stepping the schedule to the module; it is
            # stepped here, before the epoch's checkpoint is written, so that a resumed run
            # continues with the schedule where the uninterrupted one would be.
            if self.lr_schedule != "constant":
                self.lr_schedulers().step()
            row: dict[str, float] = {"epoch": self.current_epoch + 1}
            row.update(self._epoch_means("train"))
            row.update(self._epoch_means("val"))
            row["seconds"] = self._train_seconds
            if self.epoch_metrics is not None:
                row.update(self.epoch_metrics(self.vae))
            self.log_dict({k: v for k, v in row.items() if k != "epoch"}, sync_dist=True)
            self.history.append(row)
            if row[self.selection_metric] > self.best_val_score:
                self.best_val_score = row[self.selection_metric]
                self.best_epoch = int(row["epoch"])
                self.best_state = copy.deepcopy(self.vae.state_dict())

    return _VAETrainingModule


class _EpochLogWriter:
    """Rewrites ``log.csv`` after every epoch, atomically, so a crash keeps every finished epoch."""

    @staticmethod
    def callback(path: Path) -> Any:
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
    module = _lightning_module_class()(
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
        callbacks.append(_EpochLogWriter.callback(run_dir / "log.csv"))
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
        logger = _tensorboard_logger(run_dir)
    if config.early_stopping is not None:
        callbacks.append(
            EarlyStopping(monitor=module.selection_metric, mode="max", patience=config.early_stopping)
        )

    from lightning.pytorch.utilities.exceptions import MisconfigurationException

    try:
        trainer = _make_trainer(config, callbacks, logger, checkpointing=run_dir is not None)
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


def _checkpoint_io() -> Any:
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


def _make_trainer(config: TrainConfig, callbacks: list[Any], logger: Any, *, checkpointing: bool) -> Any:
    import lightning as L

    return L.Trainer(
        max_epochs=config.epochs,
        accelerator=config.accelerator,
        devices=config.devices,
        strategy=config.strategy,
        num_nodes=config.num_nodes,
        callbacks=callbacks,
        logger=logger,
        plugins=[_checkpoint_io()],
        enable_checkpointing=checkpointing,
        enable_progress_bar=config.progress_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=True,
        # vaekit's batch sampler shards the rows itself, without padding the evaluation shards.
        use_distributed_sampler=False,
    )


def _tensorboard_logger(run_dir: Path) -> Any:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    from lightning.pytorch.loggers import TensorBoardLogger

    return TensorBoardLogger(save_dir=str(run_dir), name="tensorboard", version="")
