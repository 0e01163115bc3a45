"""Projections (heads): map a hidden representation onto one distribution family.

Each head projects a body's output onto the parameters of its family, maps each parameter into
its domain (``transform_to`` of the parameter's constraint: logits in R, scales and rates in R+)
and returns the Pyro distribution, with ``event_shape`` declared so that one head can yield one
multivariate sample site (a whole image, say).
"""

from vaekit.heads.base import DistributionHead as DistributionHead
from vaekit.heads.families import BernoulliHead as BernoulliHead
from vaekit.heads.families import CategoricalHead as CategoricalHead
from vaekit.heads.families import GammaHead as GammaHead
from vaekit.heads.families import LogNormalHead as LogNormalHead
from vaekit.heads.families import LogNormalMixtureHead as LogNormalMixtureHead
from vaekit.heads.families import NegativeBinomialHead as NegativeBinomialHead
from vaekit.heads.families import NormalHead as NormalHead
from vaekit.heads.families import NormalMixtureHead as NormalMixtureHead
from vaekit.heads.families import PoissonHead as PoissonHead
from vaekit.heads.families import SpikedNormalHead as SpikedNormalHead
from vaekit.heads.families import ZeroInflatedLogNormalHead as ZeroInflatedLogNormalHead
from vaekit.heads.families import ZeroInflatedNegativeBinomialHead as ZeroInflatedNegativeBinomialHead

__all__ = [
    "DistributionHead",
    "BernoulliHead",
    "CategoricalHead",
    "GammaHead",
    "LogNormalHead",
    "LogNormalMixtureHead",
    "NegativeBinomialHead",
    "NormalHead",
    "NormalMixtureHead",
    "PoissonHead",
    "SpikedNormalHead",
    "ZeroInflatedLogNormalHead",
    "ZeroInflatedNegativeBinomialHead",
]
