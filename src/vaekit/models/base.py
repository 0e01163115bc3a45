"""The contract every vaekit model follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import pyro.distributions as dist
import torch
from torch import nn


class VAE(nn.Module, ABC):
    """A latent variable model p(x, z) = p(x | z) p(z) with an amortized posterior q(z | x).

    A subclass writes the generative story in :meth:`model` and the posterior in :meth:`guide`,
    with matching sample-site names, as in the Pyro documentation. Both take the same arguments:
    a batch of data (``None`` in ``model`` to generate) and keyword-only options. Parameters belong
    to the module's bodies and heads: neither method calls ``pyro.param`` or ``pyro.module``, so
    Pyro's global parameter store is never involved and two models never share weights by name.

    The first argument's leading dimension is the data plate; sites inside it are per example.
    ``config`` holds everything needed to rebuild the module before loading its ``state_dict``.
    """

    #: Largest number of nested plates in ``model``/``guide``; ELBOs and the importance-weighted
    #: bound put their particle dimension to the left of these.
    max_plate_nesting: ClassVar[int] = 1
    config: Any

    @abstractmethod
    def model(self, x: torch.Tensor | None = None, **kwargs: Any) -> None:
        """The generative story p(x, z); observed sites use ``obs=``."""

    @abstractmethod
    def guide(self, x: torch.Tensor | None = None, **kwargs: Any) -> None:
        """The amortized posterior q(z | x) over every latent site of :meth:`model`."""

    def prior(self, batch_shape: torch.Size | tuple[int, ...]) -> dist.Independent:
        """p(z) = Normal(0, I) over ``config.z_dim`` dimensions, with the given batch shape."""
        loc = torch.zeros((*batch_shape, self.config.z_dim), device=self.device)
        return dist.Normal(loc, torch.ones_like(loc)).to_event(1)

    @property
    def device(self) -> torch.device:
        """Device of the module's parameters."""
        return next(self.parameters()).device


def check_image_architecture(
    image_shape: tuple[int, ...],
    z_dim: int,
    hidden: tuple[int, ...],
    encoder: str,
    conv_channels: tuple[int, ...],
    rnn_cell: str = "gru",
) -> None:
    """The checks every image model's config shares: a clear ValueError for an unbuildable setting."""
    if len(image_shape) != 3 or min(image_shape) < 1:
        raise ValueError(f"image_shape must be positive (channels, height, width), got {image_shape}")
    if not isinstance(z_dim, int) or z_dim < 1:
        raise ValueError(f"z_dim must be at least 1, got {z_dim}")
    if not hidden or min(hidden) < 1:
        raise ValueError(f"hidden must list positive layer widths, got {hidden}")
    if encoder not in ("mlp", "cnn", "rnn"):
        raise ValueError(f"encoder must be 'mlp', 'cnn' or 'rnn', got {encoder!r}")
    if rnn_cell not in ("gru", "lstm"):
        raise ValueError(f"rnn_cell must be 'gru' or 'lstm', got {rnn_cell!r}")
    if encoder == "cnn" and (not conv_channels or min(conv_channels) < 1):
        raise ValueError(f"conv_channels must list positive channel counts, got {conv_channels}")
