"""Convolutional bodies for images: an encoder and the matching deconvolutional decoder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def _check_image_shape(image_shape: Sequence[int], num_layers: int) -> tuple[int, int, int]:
    if len(image_shape) != 3 or min(image_shape) < 1:
        raise ValueError(f"image_shape must be (channels, height, width), got {tuple(image_shape)}")
    channels, height, width = (int(s) for s in image_shape)
    factor = 2**num_layers
    if height % factor or width % factor:
        raise ValueError(
            f"a convolutional body with {num_layers} stride-2 layers needs height and width divisible by "
            f"{factor}, got {height}x{width}; use the MLP body or fewer conv channels"
        )
    return channels, height, width


def _check_sizes(channels: tuple[int, ...], **sizes: int) -> None:
    if not channels or min(channels) < 1:
        raise ValueError(
            f"a convolutional body needs at least one layer of positive channels, got {channels}"
        )
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be positive, got {value}")


def _apply_to_images(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply a 4-D conv stack to ``(..., C, H, W)`` with any number of leading batch dims."""
    batch_shape = x.shape[:-3]
    y = module(x.reshape((-1,) + x.shape[-3:]))
    return y.reshape(batch_shape + y.shape[1:])


class ConvEncoder(nn.Module):
    """Convolutional body: ``(..., C, H, W) -> (..., out_features)``.

    Each conv layer halves height and width (kernel 4, stride 2, padding 1); a fully connected
    layer then maps the flattened feature maps onto ``out_features``.

    Parameters
    ----------
    image_shape:
        ``(channels, height, width)``; height and width must be divisible by ``2 ** len(channels)``.
    channels:
        Output channels of each conv layer.
    out_features:
        Size of the hidden representation passed to the projection head.
    activation:
        Activation module class (ReLU by default: it trains conv stacks faster than Softplus).
    dropout:
        Probability of zeroing each of the ``out_features`` units in training; 0 adds no dropout
        layer.
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        channels: Sequence[int] = (32, 64),
        out_features: int = 400,
        *,
        activation: type[nn.Module] = nn.ReLU,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        channels = tuple(int(c) for c in channels)
        _check_sizes(channels, out_features=out_features)
        in_channels, height, width = _check_image_shape(image_shape, len(channels))
        layers: list[nn.Module] = []
        previous = in_channels
        for c in channels:
            layers += [nn.Conv2d(previous, c, kernel_size=4, stride=2, padding=1), activation()]
            previous = c
        self.convs = nn.Sequential(*layers)
        flat = previous * (height >> len(channels)) * (width >> len(channels))
        regularised = [nn.Dropout(dropout)] if dropout > 0 else []
        self.fc = nn.Sequential(nn.Linear(flat, out_features), activation(), *regularised)
        self.out_features = out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``(..., C, H, W)`` to ``(..., out_features)``."""
        features = _apply_to_images(self.convs, x)
        return self.fc(features.flatten(start_dim=-3))


class ConvDecoder(nn.Module):
    """Deconvolutional body: ``(..., in_features) -> (..., out_channels, H, W)``.

    The mirror image of :class:`ConvEncoder`: a fully connected layer onto small feature maps, then
    transposed convolutions that each double height and width. The output is a stack of feature
    maps at full resolution; a head built with ``in_shape=decoder.out_shape`` projects each pixel's
    features onto that pixel's distribution parameters with a 1x1 convolution.

    Parameters
    ----------
    in_features:
        Size of the input (the latent code, or latent and label together).
    image_shape:
        ``(channels, height, width)`` of the images to generate.
    channels:
        Channels of the encoder's conv layers, in encoder order; the decoder runs them backwards.
    out_channels:
        Feature maps at full resolution handed to the head.
    activation:
        Activation module class.
    """

    def __init__(
        self,
        in_features: int,
        image_shape: Sequence[int],
        channels: Sequence[int] = (32, 64),
        out_channels: int = 32,
        *,
        activation: type[nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        _check_sizes(channels, in_features=in_features, out_channels=out_channels)
        _, height, width = _check_image_shape(image_shape, len(channels))
        self.start_shape = (channels[-1], height >> len(channels), width >> len(channels))
        self.fc = nn.Sequential(
            nn.Linear(in_features, channels[-1] * self.start_shape[1] * self.start_shape[2]), activation()
        )
        layers: list[nn.Module] = []
        reversed_channels = channels[::-1][1:] + (out_channels,)
        previous = channels[-1]
        for c in reversed_channels:
            layers += [nn.ConvTranspose2d(previous, c, kernel_size=4, stride=2, padding=1), activation()]
            previous = c
        self.deconvs = nn.Sequential(*layers)
        self.out_shape = (out_channels, height, width)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map ``(..., in_features)`` to feature maps ``(..., out_channels, H, W)``."""
        maps = self.fc(z).unflatten(-1, self.start_shape)
        return _apply_to_images(self.deconvs, maps)
