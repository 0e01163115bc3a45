"""A topic model with a simplex latent: each document's topic proportions, then its word counts.

    theta ~ Dirichlet(0.5, ..., 0.5)                        (proportions of K topics, on the simplex)
    counts | theta ~ Multinomial(n, theta @ topics)         (topics: K distributions over the words)

The "documents" here are the bundled 8x8 digits read as counts of 64 "words" (the ink of each pixel),
so each topic is a stroke that can be drawn as an 8x8 picture. vaekit guides theta with a Normal in
unconstrained space pushed onto the simplex (stick-breaking), amortized over documents (an encoder,
not one set of numbers per document):

    vaekit train model --model examples/stories/topic_model.py:TopicModel --csv digits.csv --out runs/topics

As in Pyro's ProdLDA example, n is the largest document length of the batch: the Multinomial's
density depends on each document's own counts, and n only bounds them; ``vaekit sample`` draws
documents of the first training document's length.
"""

import pyro
import pyro.distributions as dist
import torch
from torch import nn

TOPICS = 10
WORDS = 64


class TopicModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.topic_logits = nn.Parameter(0.1 * torch.randn(TOPICS, WORDS))

    def topics(self) -> torch.Tensor:
        """Each topic's distribution over the words, ``(TOPICS, WORDS)``."""
        return self.topic_logits.softmax(-1)

    def forward(self, counts: torch.Tensor) -> None:
        length = int(counts.sum(-1).max())
        with pyro.plate("data", counts.shape[0]):
            theta = pyro.sample("theta", dist.Dirichlet(torch.full((TOPICS,), 0.5)))
            words = theta @ self.topics()
            pyro.sample("counts", dist.Multinomial(length, probs=words), obs=counts)
