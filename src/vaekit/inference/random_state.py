"""The random state the draws of z come from: saved, seeded and put back around validation.

Validation draws the same z every epoch (common random numbers) and must leave the training
stream untouched; these helpers save, seed and restore only the generators those draws use.
"""

from __future__ import annotations

import torch

#: The device, the CPU generator's state, and the CUDA device's own state (``None`` off CUDA).
RandomState = tuple[torch.device, torch.Tensor, torch.Tensor | None]


def current_random_state(device: torch.device) -> RandomState:
    """The generators draws of z come from: the CPU's, and the device's own on a CUDA device."""
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return device, torch.get_rng_state(), cuda


def seed_draws(device: torch.device, seed: int) -> None:
    """Seed only the generators :func:`current_random_state` saves (``torch.manual_seed`` would reseed
    every device's, Apple's MPS included, which nothing would then put back)."""
    torch.default_generator.manual_seed(seed)
    if device.type == "cuda":
        with torch.cuda.device(device):
            torch.cuda.manual_seed(seed)


def restore_random_state(state: RandomState) -> None:
    """Put back the generators :func:`current_random_state` saved."""
    device, cpu, cuda = state
    torch.set_rng_state(cpu)
    if cuda is not None:
        torch.cuda.set_rng_state(cuda, device)
