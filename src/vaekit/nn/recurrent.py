"""Recurrent bodies for sequences: an encoder that reads steps, a decoder that unrolls a code into steps."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

CELLS: dict[str, type[nn.RNNBase]] = {"gru": nn.GRU, "lstm": nn.LSTM}


def _recurrent_layer(cell: str, input_size: int, hidden_size: int, num_layers: int) -> nn.RNNBase:
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
    if input_size < 1 or hidden_size < 1 or num_layers < 1:
        raise ValueError(
            f"recurrent body sizes must be positive, got input_size={input_size}, "
            f"hidden_size={hidden_size}, num_layers={num_layers}"
        )
    return CELLS[cell](input_size, hidden_size, num_layers=num_layers, batch_first=True)


class RNNEncoder(nn.Module):
    """Recurrent body: sequences ``(..., T, in_features)`` -> ``(..., out_features)``.

    A GRU (or LSTM) reads the steps in order; the representation is the last layer's hidden state
    after a sequence's last real step. Sequences of different lengths are padded to ``T`` and
    passed with their ``lengths``: they are packed (``pack_padded_sequence``), so the recurrence
    never sees a padded step and padding cannot change a sequence's encoding.

    Parameters
    ----------
    in_features:
        Features per step.
    hidden_size:
        Size of the recurrent state, which is also ``out_features``.
    cell:
        ``"gru"`` (default) or ``"lstm"``.
    num_layers:
        Stacked recurrent layers.
    """

    def __init__(self, in_features: int, hidden_size: int = 128, *, cell: str = "gru", num_layers: int = 1):
        super().__init__()
        self.rnn = _recurrent_layer(cell, in_features, hidden_size, num_layers)
        self.cell = cell
        self.in_features = in_features
        self.out_features = hidden_size

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Encode ``x`` ``(..., T, in_features)``; ``lengths`` (batch shape ``...``, each in ``1..T``)
        gives each sequence's real steps, all ``T`` when ``None``."""
        batch_shape, steps = x.shape[:-2], x.shape[-2]
        flat = x.reshape(-1, steps, x.shape[-1])
        if lengths is None:
            _, state = self.rnn(flat)
        else:
            lengths = torch.as_tensor(lengths).expand(batch_shape).reshape(-1).to("cpu", torch.int64)
            if len(lengths) and (lengths.min() < 1 or lengths.max() > steps):
                raise ValueError(f"lengths must lie in 1..{steps}, got {lengths.min()}..{lengths.max()}")
            packed = pack_padded_sequence(flat, lengths, batch_first=True, enforce_sorted=False)
            _, state = self.rnn(packed)
        # The final states come back in the original order (pack_padded_sequence unsorts them).
        hidden = state[0] if isinstance(state, tuple) else state
        return hidden[-1].reshape(batch_shape + (self.out_features,))


class ImageRowEncoder(nn.Module):
    """Recurrent body for images: reads ``(..., C, H, W)`` row by row, ``H`` steps of ``C * W`` features.

    A 28x28 image is 28 steps of 28 features; the output is the :class:`RNNEncoder`'s
    ``(..., hidden_size)``.

    Parameters
    ----------
    image_shape:
        ``(channels, height, width)``.
    hidden_size, cell, num_layers:
        See :class:`RNNEncoder`.
    """

    def __init__(
        self, image_shape: Sequence[int], hidden_size: int = 128, *, cell: str = "gru", num_layers: int = 1
    ) -> None:
        super().__init__()
        if len(image_shape) != 3 or min(image_shape) < 1:
            raise ValueError(f"image_shape must be (channels, height, width), got {tuple(image_shape)}")
        channels, _, width = (int(s) for s in image_shape)
        self.rows = RNNEncoder(channels * width, hidden_size, cell=cell, num_layers=num_layers)
        self.out_features = hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``(..., C, H, W)`` to ``(..., hidden_size)``."""
        rows = x.transpose(-3, -2).flatten(start_dim=-2)  # (..., H, C * W): row h holds every channel's row h
        return self.rows(rows)


class RNNDecoder(nn.Module):
    """Recurrent body that unrolls a code into steps: ``(..., in_features)`` -> ``(..., T, out_features)``.

    The code sets the initial state (through a linear map and tanh) and is the input at every
    step, so each step's output is a function of the code and of the step's position; a head
    projects each step's output onto that step's distribution parameters. Step ``t`` depends on
    steps ``< t`` only, so unrolling further never changes the earlier steps: decode the longest
    length of a batch and mask each sequence's steps past its own length.

    Parameters
    ----------
    in_features:
        Size of the code (the latent z).
    hidden_size:
        Size of the recurrent state, which is also ``out_features``.
    cell:
        ``"gru"`` (default) or ``"lstm"``.
    num_layers:
        Stacked recurrent layers.
    """

    def __init__(self, in_features: int, hidden_size: int = 128, *, cell: str = "gru", num_layers: int = 1):
        super().__init__()
        self.rnn = _recurrent_layer(cell, in_features, hidden_size, num_layers)
        # An LSTM's state is (hidden, cell): the code initialises both.
        states = 2 if cell == "lstm" else 1
        self.initial_state = nn.Linear(in_features, states * num_layers * hidden_size)
        self.cell, self.num_layers = cell, num_layers
        self.in_features = in_features
        self.out_features = hidden_size

    def forward(self, z: torch.Tensor, num_steps: int) -> torch.Tensor:
        """Unroll codes ``(..., in_features)`` into steps: ``(..., num_steps, out_features)``."""
        if num_steps < 1:
            raise ValueError(f"num_steps must be at least 1, got {num_steps}")
        batch_shape = z.shape[:-1]
        flat = z.reshape(-1, z.shape[-1])
        initial = torch.tanh(self.initial_state(flat))
        # (batch, states * layers * hidden) -> states x (layers, batch, hidden), contiguous for cuDNN.
        initial = initial.unflatten(-1, (-1, self.num_layers, self.out_features)).permute(1, 2, 0, 3)
        state = tuple(s.contiguous() for s in initial) if self.cell == "lstm" else initial[0].contiguous()
        outputs, _ = self.rnn(flat.unsqueeze(1).expand(-1, num_steps, -1), state)
        return outputs.reshape(batch_shape + (num_steps, self.out_features))
