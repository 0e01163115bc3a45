"""The image VAE written as a story only: z ~ Normal(0, I), each pixel ~ Bernoulli(decoder(z)).

The same decoder as ``vaekit train vae`` builds by default (one hidden layer of 400, z of 50), so
that the guide vaekit builds with the flagship's encoder shape (``--latent-hidden none``: the head
reads the 400-wide MLP body directly) can be set beside the hand-written flagship:

    vaekit train model --model examples/stories/image_vae.py:ImageVAE --data fashion-mnist \
        --data-dir ../shared/data/fashion-mnist --image-encoder mlp --latent-hidden none \
        --out runs/image-story

Grey levels in [0, 1] are scored with the Bernoulli's cross-entropy, as the flagship scores them.
"""

import pyro
import pyro.distributions as dist
import torch
from torch import nn

Z_DIM = 50
HIDDEN = 400
IMAGE = (1, 28, 28)


class ImageVAE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        pixels = IMAGE[0] * IMAGE[1] * IMAGE[2]
        self.decoder = nn.Sequential(nn.Linear(Z_DIM, HIDDEN), nn.Softplus(), nn.Linear(HIDDEN, pixels))

    def forward(self, x: torch.Tensor) -> None:
        with pyro.plate("data", x.shape[0]):
            z = pyro.sample("z", dist.Normal(torch.zeros(Z_DIM), 1.0).to_event(1))
            logits = self.decoder(z).unflatten(-1, IMAGE)
            # validate_args=False: grey levels between 0 and 1 are scored by the cross-entropy.
            pixels = dist.Bernoulli(logits=logits, validate_args=False)
            pyro.sample("x", pixels.to_event(3), obs=x)
