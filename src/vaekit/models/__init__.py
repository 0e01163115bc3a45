"""Models: a generative story ``model()`` and its amortized posterior ``guide()``, built from
bodies (:mod:`vaekit.nn`) and heads (:mod:`vaekit.heads`)."""

from vaekit.models.base import VAE as VAE
from vaekit.models.image_vae import ImageVAE as ImageVAE
from vaekit.models.image_vae import ImageVAEConfig as ImageVAEConfig

__all__ = ["VAE", "ImageVAE", "ImageVAEConfig"]
