"""The semi-supervised VAE (M2, Kingma et al. 2014) written as a story only: the label is a
partially observed variable, observed where given and summed out where not.

    y ~ Categorical(uniform over 10 classes)   (observed where the label is given: y >= 0)
    z ~ Normal(0, I)                            (50 dimensions)
    x ~ Bernoulli(decoder(z, y))                (one hidden layer of 500, as `vaekit train ssvae`'s)

vaekit builds q(y | x), a classifier, and q(z | x, y) from it, and trains the classifier on the given
labels as M2 does (``--classifier-weight``, 46 per labelled image by default):

    vaekit train model --model examples/stories/m2.py:M2 --data fashion-mnist \\
        --data-dir ../shared/data/fashion-mnist --labels 3000 --image-encoder mlp \\
        --data-hidden 500 --latent-hidden none --out runs/m2-story
"""

import pyro
import pyro.distributions as dist
import torch
from torch import nn

CLASSES = 10
Z_DIM = 50
HIDDEN = 500
IMAGE = (1, 28, 28)


class M2(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        pixels = IMAGE[0] * IMAGE[1] * IMAGE[2]
        self.decoder = nn.Sequential(
            nn.Linear(Z_DIM + CLASSES, HIDDEN), nn.Softplus(), nn.Linear(HIDDEN, pixels)
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> None:
        with pyro.plate("data", x.shape[0]):
            prior = dist.Categorical(logits=torch.zeros(CLASSES))
            label = pyro.sample("y", prior, obs=y.clamp(min=0), obs_mask=y >= 0)
            z = pyro.sample("z", dist.Normal(torch.zeros(Z_DIM), 1.0).to_event(1))
            one_hot = nn.functional.one_hot(label, CLASSES).to(z.dtype)
            # The summed-out label carries a dimension of its own, left of the batch: broadcast both.
            shape = torch.broadcast_shapes(z.shape[:-1], one_hot.shape[:-1])
            codes = torch.cat([z.expand(*shape, Z_DIM), one_hot.expand(*shape, CLASSES)], -1)
            logits = self.decoder(codes).unflatten(-1, IMAGE)
            # validate_args=False: grey levels between 0 and 1 are scored by the cross-entropy.
            pixels = dist.Bernoulli(logits=logits, validate_args=False)
            pyro.sample("x", pixels.to_event(3), obs=x)
