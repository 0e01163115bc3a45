"""The Lightning module around a VAE: the training step, the epoch's terms, the best weights and
what a checkpoint carries beyond the weights.

The model knows nothing of Lightning, so it can be tested with a plain loss call; this module holds
everything Lightning needs from vaekit: manual optimisation, the divergence watch, common random
numbers for validation, and the history, best weights and random state saved in each checkpoint.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import pyro
import torch

from vaekit._distributed import rank_and_world_size
from vaekit.errors import TrainingDivergedError, VaekitError
from vaekit.inference.objectives import Batch, Objective, StepResult
from vaekit.inference.optimizer import build_optimizer
from vaekit.inference.random_state import current_random_state, restore_random_state, seed_draws
from vaekit.models.base import VAE

#: Applied to each training batch before the loss (dynamic binarization, for instance).
BatchTransform = Callable[[Batch], Batch]

#: Added to the seed of the validation draws, so that they are not the first training draws again.
_VALIDATION_SEED_OFFSET = 104_729
#: Training steps between two looks at the non-finite-loss flag. Reading a flag held on the device
#: waits for the device to finish; looking once per this many steps (and before every validation,
#: so that no checkpoint is written after a bad step) keeps the step free of host round trips,
#: and still stops a diverged run within this many steps.
DIVERGENCE_CHECK_STEPS = 25


def lightning_module_class() -> type:
    """The ``LightningModule`` class that trains a VAE (built on first use: Lightning is imported late)."""
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
            self._counts: dict[str, torch.Tensor | None] = {"train": None, "val": None}
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
            values = torch.stack(list(terms.values()))
            counts = torch.stack(
                [torch.as_tensor(result.term_counts.get(name, n), dtype=values.dtype) for name in terms]
            ).to(values.device)
            stacked = values * counts
            current, counted = self._sums[stage], self._counts[stage]
            self._sums[stage] = stacked if current is None else current + stacked
            self._counts[stage] = counts if counted is None else counted + counts
            self._names[stage] = list(terms)
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
            self._training_random_state = current_random_state(self.device)
            seed_draws(self.device, self.seed + self.global_rank + _VALIDATION_SEED_OFFSET)

        def on_validation_epoch_end(self) -> None:
            if self._training_random_state is not None:
                restore_random_state(self._training_random_state)
                self._training_random_state = None
            self._record_epoch()

        def _epoch_means(self, stage: str) -> dict[str, float]:
            counts, sums = self._counts[stage], self._sums[stage]
            if sums is None or counts is None:
                return {}
            rank, world = rank_and_world_size()
            if world > 1:
                # Every rank saw its own share: sum the shares so that all ranks agree on the
                # epoch's ELBO, and so on the best epoch and on early stopping.
                import torch.distributed as dist

                totals = torch.cat([sums.detach(), counts])
                dist.all_reduce(totals)
                sums, counts = totals[: len(sums)], totals[len(sums) :]
            # A term no example of the epoch counted for (no labelled row seen) has no mean: left out.
            means = {
                f"{stage}_{name}": float(total) / float(count)
                for name, total, count in zip(self._names[stage], sums.tolist(), counts.tolist(), strict=True)
                if count > 0
            }
            self._sums[stage] = None
            self._counts[stage] = None
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
                # Lightning has put the model back in training mode after validation: the epoch's
                # figures are those of the model as it predicts (no dropout).
                training = self.vae.training
                self.vae.eval()
                with torch.no_grad():
                    row.update(self.epoch_metrics(self.vae))
                self.vae.train(training)
            self.log_dict({k: v for k, v in row.items() if k != "epoch"}, sync_dist=True)
            self.history.append(row)
            if row[self.selection_metric] > self.best_val_score:
                self.best_val_score = row[self.selection_metric]
                self.best_epoch = int(row["epoch"])
                self.best_state = copy.deepcopy(self.vae.state_dict())

    return _VAETrainingModule
