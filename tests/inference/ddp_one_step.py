"""One optimisation step under distributed data parallel on 2 CPU processes (gloo).

Run by ``test_distributed.py`` as ``python ddp_one_step.py OUT_DIR``; Lightning starts the second
rank as a copy of this command. Each rank records the rows and the random state of its step, so
that the test can recompute the step in one process on the whole batch with the same draws of z;
rank 0 saves the parameters and the averaged gradients after the step.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from vaekit import ImageVAE, ImageVAEConfig, TrainConfig, fit

ROWS_PER_RANK = 8


def data() -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.rand((3 * ROWS_PER_RANK, 1, 8, 8), generator=torch.Generator().manual_seed(1))
    return images[: 2 * ROWS_PER_RANK], images[2 * ROWS_PER_RANK :]


def model() -> ImageVAE:
    torch.manual_seed(0)
    return ImageVAE(ImageVAEConfig((1, 8, 8), z_dim=3, hidden=(16,)))


def main(out: Path) -> None:
    train, val = data()
    vae = model()

    def record(batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        rank = dist.get_rank()
        torch.save({"rows": batch[0].clone(), "rng": torch.get_rng_state()}, out / f"rank{rank}.pt")
        return batch

    config = TrainConfig(
        epochs=1,
        batch_size=ROWS_PER_RANK,
        accelerator="cpu",
        strategy="ddp",
        devices=2,
        progress_bar=False,
    )
    averaged_gradients: dict[str, torch.Tensor] = {}
    names = {id(p): name for name, p in vae.named_parameters()}
    adam_step = torch.optim.Adam.step

    def step_recording_gradients(self, *args, **kwargs):  # the gradients DDP averaged, as Adam sees them
        for group in self.param_groups:
            for p in group["params"]:
                averaged_gradients[names[id(p)]] = p.grad.detach().clone()
        return adam_step(self, *args, **kwargs)

    torch.optim.Adam.step = step_recording_gradients
    result = fit(vae, (train,), (val,), config, batch_transform=record)
    if result.is_global_zero:
        torch.save(
            {
                "world_size": result.world_size,
                "parameters": {name: p.detach().clone() for name, p in vae.named_parameters()},
                "gradients": averaged_gradients,
                "history": result.history,
            },
            out / "result.pt",
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
