"""Models: a generative story ``model()`` and its amortized posterior ``guide()``, built from
bodies (:mod:`vaekit.nn`) and heads (:mod:`vaekit.heads`)."""

from vaekit.models.auxiliary_ss_vae import AuxiliarySemiSupervisedVAE as AuxiliarySemiSupervisedVAE
from vaekit.models.auxiliary_ss_vae import (
    AuxiliarySemiSupervisedVAEConfig as AuxiliarySemiSupervisedVAEConfig,
)
from vaekit.models.base import VAE as VAE
from vaekit.models.image_vae import ImageVAE as ImageVAE
from vaekit.models.image_vae import ImageVAEConfig as ImageVAEConfig
from vaekit.models.sequence_vae import SequenceVAE as SequenceVAE
from vaekit.models.sequence_vae import SequenceVAEConfig as SequenceVAEConfig
from vaekit.models.ss_vae import SemiSupervisedVAE as SemiSupervisedVAE
from vaekit.models.ss_vae import SemiSupervisedVAEConfig as SemiSupervisedVAEConfig
from vaekit.models.stacked_ss_vae import StackedSemiSupervisedVAE as StackedSemiSupervisedVAE
from vaekit.models.stacked_ss_vae import (
    StackedSemiSupervisedVAEConfig as StackedSemiSupervisedVAEConfig,
)
from vaekit.models.tabular_vae import TabularVAE as TabularVAE
from vaekit.models.tabular_vae import TabularVAEConfig as TabularVAEConfig
from vaekit.models.targeted_tabular_vae import TargetedTabularVAE as TargetedTabularVAE
from vaekit.models.targeted_tabular_vae import TargetedTabularVAEConfig as TargetedTabularVAEConfig

__all__ = [
    "AuxiliarySemiSupervisedVAE",
    "AuxiliarySemiSupervisedVAEConfig",
    "VAE",
    "ImageVAE",
    "ImageVAEConfig",
    "SemiSupervisedVAE",
    "SemiSupervisedVAEConfig",
    "SequenceVAE",
    "StackedSemiSupervisedVAE",
    "StackedSemiSupervisedVAEConfig",
    "SequenceVAEConfig",
    "TabularVAE",
    "TabularVAEConfig",
    "TargetedTabularVAE",
    "TargetedTabularVAEConfig",
]
