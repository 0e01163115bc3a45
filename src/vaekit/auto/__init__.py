"""Write the story, get the VAE: an amortized guide built automatically for a Pyro model.

:func:`auto` traces a model written with a data plate on an example batch, reads its latent and
observed sites, and returns an :class:`AutoVAE` whose guide has a body per data argument (CNN
for images, MLP for vectors) and a head per latent chosen by its support. This layer sits above
the models and inference: it builds on their pieces, and nothing below imports it.
"""

from vaekit.auto.heads import DiscreteHead as DiscreteHead
from vaekit.auto.heads import SupportHead as SupportHead
from vaekit.auto.objective import EnumeratedELBOObjective as EnumeratedELBOObjective
from vaekit.auto.story import DataPlate as DataPlate
from vaekit.auto.story import LatentSite as LatentSite
from vaekit.auto.story import ObservedSite as ObservedSite
from vaekit.auto.story import Story as Story
from vaekit.auto.story import read_story as read_story
from vaekit.auto.vae import AutoVAE as AutoVAE
from vaekit.auto.vae import AutoVAEConfig as AutoVAEConfig
from vaekit.auto.vae import auto as auto

__all__ = [
    "AutoVAE",
    "AutoVAEConfig",
    "DataPlate",
    "DiscreteHead",
    "EnumeratedELBOObjective",
    "LatentSite",
    "ObservedSite",
    "Story",
    "SupportHead",
    "auto",
    "read_story",
]
