"""A Gaussian-mixture VAE: a discrete cluster c, then z given c, then the data given z.

    c ~ Categorical(uniform over K clusters)
    z | c ~ Normal(mean_c, scale_c)            (a learned centre and spread per cluster)
    x_j | z ~ Binomial(16, sigmoid(decoder(z)_j))   for each of the 64 pixels of an 8x8 digit (ink 0..16)

The story marks c to be summed out in the model, so the guide vaekit builds is q(z | x) alone,
and the cluster of a row follows from z exactly. Train it on the bundled digits as a table of 64
counts (``benchmarks/stories.py`` writes one):

    vaekit train model --model examples/stories/gaussian_mixture_vae.py:GaussianMixtureVAE \
        --csv digits.csv --out runs/gmvae

``vaekit encode`` then gives each row's cluster probabilities (``c_p_0`` ...) and its cluster (``c``).
"""

import pyro
import pyro.distributions as dist
import torch
from torch import nn

CLUSTERS = 10
Z_DIM = 10
PIXELS = 64
MAX_INK = 16


class GaussianMixtureVAE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        # Centres spread apart at the start, so that the clusters do not begin as one.
        self.cluster_means = nn.Parameter(2.0 * torch.randn(CLUSTERS, Z_DIM))
        self.cluster_log_scales = nn.Parameter(torch.zeros(CLUSTERS, Z_DIM))
        self.decoder = nn.Sequential(
            nn.Linear(Z_DIM, 256), nn.Softplus(), nn.Linear(256, 256), nn.Softplus(), nn.Linear(256, PIXELS)
        )

    def forward(self, x: torch.Tensor) -> None:
        with pyro.plate("data", x.shape[0]):
            # Marked to be summed out in the model: the guide then infers z from x alone, and the
            # cluster follows from z exactly, rather than a classifier guessing c before z.
            c = pyro.sample(
                "c", dist.Categorical(logits=torch.zeros(CLUSTERS)), infer={"enumerate": "parallel"}
            )
            scale = self.cluster_log_scales[c].exp()
            z = pyro.sample("z", dist.Normal(self.cluster_means[c], scale).to_event(1))
            ink = dist.Binomial(MAX_INK, logits=self.decoder(z), validate_args=False)
            pyro.sample("x", ink.to_event(1), obs=x)
