"""The generic projection head that every family head specialises."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

import torch
from pyro.distributions import TorchDistribution, constraints
from torch import nn
from torch.distributions import Distribution, transform_to

InShape = int | tuple[int, int, int]

# Softplus of a very negative pre-activation underflows to exactly 0 in float32, and a zero scale
# or rate turns a log-probability into -inf/NaN; this floor keeps the parameter strictly positive.
POSITIVE_FLOOR = 1e-6
_POSITIVE_CONSTRAINTS = (constraints.positive, constraints.softplus_positive)


class DistributionHead(nn.Module, ABC):
    """Projection P: hidden representation -> parameters in their domains -> distribution.

    To add a family, subclass and define

    * ``param_constraints``: a mapping from parameter name (named as in ``torch.distributions``)
      to its constraint, e.g. ``{"loc": constraints.real, "scale": constraints.positive}``;
    * ``make_distribution(**params)``: build the (non-batched-event) Pyro distribution from
      parameters of shape ``batch_shape + param_shape``; the base class declares the event
      dimensions with ``to_event``.

    Optionally override ``param_shape(name)`` when a parameter has more dimensions than the
    event (the logits of a categorical variable carry one more for the levels).

    Parameters
    ----------
    in_shape:
        ``int``: the hidden vector's size; parameters come from one linear layer.
        ``(C, H, W)``: feature maps from a deconvolutional body; each pixel's parameters come from a
        1x1 convolution over its ``C`` features, and ``event_shape`` must be ``(c, H, W)``.
    event_shape:
        Shape of one draw of the variable, e.g. ``(784,)`` for a flat image or ``(1, 28, 28)``;
        ``()`` for a scalar. All of it is declared as event dimensions of one sample site.
    """

    param_constraints: Mapping[str, constraints.Constraint] = {}

    def __init__(self, in_shape: InShape, event_shape: Sequence[int] = ()) -> None:
        super().__init__()
        self.event_shape = tuple(int(s) for s in event_shape)
        self.in_shape = in_shape
        names = list(self.param_constraints)
        if not names:
            raise TypeError(f"{type(self).__name__} declares no param_constraints")
        self._sizes = [math.prod(self.param_shape(name)) for name in names]
        if isinstance(in_shape, int):
            self.projection: nn.Module = nn.Linear(in_shape, sum(self._sizes))
            self._spatial = False
        else:
            in_shape = tuple(in_shape)
            if len(in_shape) != 3 or len(self.event_shape) != 3 or in_shape[1:] != self.event_shape[1:]:
                raise ValueError(
                    f"a per-pixel head needs feature maps (C, H, W) and an event_shape (c, H, W) of the same "
                    f"height and width, got in_shape={in_shape}, event_shape={self.event_shape}"
                )
            if any(self.param_shape(name) != self.event_shape for name in names):
                raise ValueError(f"{type(self).__name__} has parameters that cannot be projected per pixel")
            self.projection = nn.Conv2d(in_shape[0], len(names) * self.event_shape[0], kernel_size=1)
            self._spatial = True
        self._transforms = {name: transform_to(self.param_constraints[name]) for name in names}

    def param_shape(self, name: str) -> tuple[int, ...]:
        """Shape of one parameter for one draw; the event shape unless a family says otherwise."""
        return self.event_shape

    def project(self, hidden: torch.Tensor) -> dict[str, torch.Tensor]:
        """Parameters of shape ``batch_shape + param_shape(name)``, each in its domain.

        ``hidden`` has shape ``batch_shape + (in_shape,)`` or ``batch_shape + (C, H, W)``.
        """
        if self._spatial:
            batch_shape = hidden.shape[:-3]
            raw = self.projection(hidden.reshape((-1,) + hidden.shape[-3:]))
            raw = raw.reshape(batch_shape + (-1,))
        else:
            batch_shape = hidden.shape[:-1]
            raw = self.projection(hidden)
        params = {}
        chunks = raw.split(self._sizes, dim=-1)
        for (name, transform), chunk in zip(self._transforms.items(), chunks, strict=True):
            value = transform(chunk.reshape(batch_shape + self.param_shape(name)))
            if self.param_constraints[name] in _POSITIVE_CONSTRAINTS:
                value = value.clamp_min(POSITIVE_FLOOR)
            params[name] = value
        return params

    @abstractmethod
    def make_distribution(self, **params: torch.Tensor) -> TorchDistribution:
        """Build the distribution from parameters in their domains (no event dims declared)."""

    def forward(self, hidden: torch.Tensor) -> Distribution:
        """Return the distribution with ``batch_shape`` from ``hidden`` and ``event_shape``."""
        return self.make_distribution(**self.project(hidden)).to_event(len(self.event_shape))

    def extra_repr(self) -> str:
        return f"in_shape={self.in_shape}, event_shape={self.event_shape}"
