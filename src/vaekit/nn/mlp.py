"""A multilayer perceptron body for flat data."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    """Fully connected body: ``(..., in_features) -> (..., out_features)``.

    Every layer is ``Linear`` followed by the activation, including the last one, because the
    output is a hidden representation that a projection head maps onto distribution parameters
    (the head supplies the final linear map).

    Parameters
    ----------
    in_features:
        Size of the last input dimension. Inputs with more trailing dimensions (an image
        ``(C, H, W)``) must be flattened by the caller or passed through ``flatten_dims``.
    hidden:
        Widths of the hidden layers, in order; ``(400,)`` is one layer of 400 units. Must not be
        empty.
    activation:
        Activation module class; ``nn.Softplus`` by default, as in Kingma & Welling (2013).
    flatten_dims:
        Number of trailing input dimensions to flatten before the first layer, so that the body
        accepts ``(..., C, H, W)`` images directly. ``in_features`` must equal their product.
    dropout:
        Probability of zeroing each hidden unit in training (after every activation); 0 adds no
        dropout layer at all.
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int] = (400,),
        *,
        activation: type[nn.Module] = nn.Softplus,
        flatten_dims: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        hidden = tuple(int(width) for width in hidden)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if not hidden:
            raise ValueError("MLP needs at least one hidden layer")
        if in_features < 1 or min(hidden) < 1:
            raise ValueError(f"MLP sizes must be positive, got in_features={in_features}, hidden={hidden}")
        if flatten_dims < 1:
            raise ValueError("flatten_dims must be at least 1")
        self.in_features = in_features
        self.out_features = hidden[-1]
        self.flatten_dims = flatten_dims
        layers: list[nn.Module] = []
        width = in_features
        for next_width in hidden:
            layers += [nn.Linear(width, next_width), activation()]
            width = next_width
        self.layers = nn.Sequential(*layers)
        # Applied in forward, not as layers: the weights keep their names with or without it.
        self.dropout = float(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(..., *input_dims)`` to ``(..., out_features)``."""
        if self.flatten_dims > 1:
            x = x.flatten(start_dim=-self.flatten_dims)
        if not (self.dropout and self.training):
            return self.layers(x)
        for linear, activation in zip(self.layers[::2], self.layers[1::2], strict=True):
            x = F.dropout(activation(linear(x)), self.dropout, training=True)
        return x


class ConditionalMLP(nn.Module):
    """Fully connected body over an input and a condition: ``(x, c) -> (..., out_features)``.

    The same as an :class:`MLP` on ``concat(x, c)``, but the first layer is computed as
    ``W_x x + W_c c``, so ``x`` and ``c`` may have different batch shapes that broadcast. That is
    what enumerating a discrete variable needs: the features of a batch of ``x``, shape
    ``(N, F)``, are computed once and combined with every value of a label ``c`` of shape
    ``(K, 1, C)``, giving ``(K, N, hidden)``, instead of copying ``x`` K times.

    Parameters
    ----------
    in_features:
        Size of ``x``'s last dimension.
    condition_features:
        Size of ``c``'s last dimension (the number of classes for a one-hot label).
    hidden:
        Widths of the hidden layers (at least one).
    activation:
        Activation module class; Softplus by default.
    """

    def __init__(
        self,
        in_features: int,
        condition_features: int,
        hidden: Sequence[int] = (400,),
        *,
        activation: type[nn.Module] = nn.Softplus,
    ) -> None:
        super().__init__()
        hidden = tuple(int(width) for width in hidden)
        if not hidden or min(hidden) < 1 or in_features < 1 or condition_features < 1:
            raise ValueError(
                f"ConditionalMLP sizes must be positive, got in_features={in_features}, "
                f"condition_features={condition_features}, hidden={hidden}"
            )
        self.input_layer = nn.Linear(in_features, hidden[0])
        self.condition_layer = nn.Linear(condition_features, hidden[0], bias=False)
        self.first_activation = activation()
        self.rest = MLP(hidden[0], hidden[1:], activation=activation) if len(hidden) > 1 else nn.Identity()
        self.out_features = hidden[-1]

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Map ``x`` ``(..., in_features)`` and ``condition`` ``(..., condition_features)``, whose
        batch shapes broadcast, to ``(broadcast batch shape..., out_features)``."""
        hidden = self.first_activation(self.input_layer(x) + self.condition_layer(condition))
        return self.rest(hidden)


class IndicatorMLP(ConditionalMLP):
    """Fully connected body over an input and 0/1 indicators that are mostly off: ``(x, m)``.

    The same function as an :class:`MLP` on ``concat(x, m)``, computed as ``W_x x + W_m m`` in
    the first layer, with the second term skipped when no indicator in the batch is on. The
    indicators of which cells of a table are missing are that kind of input: a batch of complete
    rows then costs nothing for them, which on a table of a thousand columns is a third of the
    first layer's work.

    Parameters
    ----------
    in_features:
        Size of ``x``'s last dimension.
    indicators:
        Number of indicators (``m``'s last dimension).
    hidden:
        Widths of the hidden layers (at least one).
    activation:
        Activation module class; Softplus by default.
    """

    def __init__(
        self,
        in_features: int,
        indicators: int,
        hidden: Sequence[int] = (400,),
        *,
        activation: type[nn.Module] = nn.Softplus,
    ) -> None:
        super().__init__(in_features, indicators, hidden, activation=activation)

    def forward(self, x: torch.Tensor, indicators: torch.Tensor) -> torch.Tensor:
        """Map ``x`` ``(..., in_features)`` and boolean (or 0/1) ``indicators`` ``(..., indicators)``
        with the same batch shape to ``(..., out_features)``."""
        before_activation = self.input_layer(x)
        if indicators.any():
            before_activation = before_activation + self.condition_layer(indicators.to(x.dtype))
        else:
            # A zero that keeps the indicator weights in the graph: their gradient is then 0, as
            # on the concatenation, rather than missing, which data-parallel training refuses.
            before_activation = before_activation + 0.0 * self.condition_layer.weight.sum()
        return self.rest(self.first_activation(before_activation))
