"""Two layers of latents against one: z2 -> z1 -> x, beside the one-layer VAE z -> x.

    z2 ~ Normal(0, I)                         (4 dimensions)
    z1 | z2 ~ Normal(mean(z2), scale(z2))     (16 dimensions, a small network of z2)
    x_j | z1 ~ Binomial(16, sigmoid(decoder(z1)_j))

``OneLayerVAE`` is the same decoder on z ~ Normal(0, I) (16 dimensions). vaekit builds q(z2 | x) and
then q(z1 | x, z2), in the story's order. Compare their test log-likelihoods (``metrics.json``):

    vaekit train model --model examples/stories/hierarchical_vae.py:HierarchicalVAE \
        --csv digits.csv --out runs/two
    vaekit train model --model examples/stories/hierarchical_vae.py:OneLayerVAE \
        --csv digits.csv --out runs/one
"""

import pyro
import pyro.distributions as dist
import torch
from torch import nn

TOP_DIM = 4
Z_DIM = 16
PIXELS = 64
MAX_INK = 16


def _decoder() -> nn.Module:
    return nn.Sequential(
        nn.Linear(Z_DIM, 256), nn.Softplus(), nn.Linear(256, 256), nn.Softplus(), nn.Linear(256, PIXELS)
    )


class HierarchicalVAE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.middle = nn.Sequential(nn.Linear(TOP_DIM, 64), nn.Softplus(), nn.Linear(64, 2 * Z_DIM))
        self.decoder = _decoder()

    def forward(self, x: torch.Tensor) -> None:
        with pyro.plate("data", x.shape[0]):
            z2 = pyro.sample("z2", dist.Normal(torch.zeros(TOP_DIM), 1.0).to_event(1))
            loc, raw_scale = self.middle(z2).chunk(2, dim=-1)
            z1 = pyro.sample("z1", dist.Normal(loc, nn.functional.softplus(raw_scale) + 1e-3).to_event(1))
            ink = dist.Binomial(MAX_INK, logits=self.decoder(z1), validate_args=False)
            pyro.sample("x", ink.to_event(1), obs=x)


class OneLayerVAE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.decoder = _decoder()

    def forward(self, x: torch.Tensor) -> None:
        with pyro.plate("data", x.shape[0]):
            z = pyro.sample("z", dist.Normal(torch.zeros(Z_DIM), 1.0).to_event(1))
            ink = dist.Binomial(MAX_INK, logits=self.decoder(z), validate_args=False)
            pyro.sample("x", ink.to_event(1), obs=x)
