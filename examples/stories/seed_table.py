"""The founding document's three-column example written as a story only, one argument per column:

    z ~ Normal(0, I)                 (4 dimensions)
    x1 | z ~ Gamma(a(z), b(z))       (positive)
    x2 | z ~ Normal(m2(z), s2(z))
    x3 | z ~ Normal(m3(z), s3(z))    (tied to x1 and x2 through z alone)

with the tabular flagship's decoder shape (two hidden layers of 128). A table of three columns goes
in as three arguments, in the table's order:

    vaekit train model --model examples/stories/seed_table.py:SeedTable --csv seed.csv \\
        --data-hidden 128,128 --latent-hidden none --out runs/seed-story
"""

import pyro
import pyro.distributions as dist
import torch
from torch import nn

Z_DIM = 4
HIDDEN = 128


class SeedTable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.decoder = nn.Sequential(
            nn.Linear(Z_DIM, HIDDEN),
            nn.Softplus(),
            nn.Linear(HIDDEN, HIDDEN),
            nn.Softplus(),
            nn.Linear(HIDDEN, 6),
        )

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, x3: torch.Tensor) -> None:
        positive = nn.functional.softplus
        with pyro.plate("data", x1.shape[0]):
            z = pyro.sample("z", dist.Normal(torch.zeros(Z_DIM), 1.0).to_event(1))
            h = self.decoder(z)
            pyro.sample("x1", dist.Gamma(positive(h[..., 0]) + 1e-3, positive(h[..., 1]) + 1e-3), obs=x1)
            pyro.sample("x2", dist.Normal(h[..., 2], positive(h[..., 3]) + 1e-3), obs=x2)
            pyro.sample("x3", dist.Normal(h[..., 4], positive(h[..., 5]) + 1e-3), obs=x3)
