"""vaekit: variational autoencoders as latent variable models fitted with amortized inference.

The anatomy: an encoder is a body (:mod:`vaekit.nn`) and a projection head (:mod:`vaekit.heads`)
returning q(z | x); a decoder is a body and a head returning p(x | z). A model
(:mod:`vaekit.models`) tells the generative story in ``model()`` and the amortized posterior in
``guide()``; given only a story, :func:`auto` builds the guide. :func:`fit` trains a model with
Lightning, :func:`estimate_log_likelihood` evaluates it.

Ready-made models, each with a function that trains it into a run folder (:mod:`vaekit.runs`) and
functions that use the trained run: images (:class:`ImageVAE`, :func:`train_image_vae`,
:func:`sample_images`), images with a few labels (:class:`SemiSupervisedVAE`,
:func:`train_ssvae`), tables (:class:`TabularVAE`, :func:`train_tabular`, :func:`sample_rows`,
:func:`score_rows`, :func:`impute_rows`; :class:`TabularModel` does it all on pandas DataFrames,
and :class:`vaekit.sklearn.VAEImputer` is its scikit-learn imputer) and sequences (:class:`SequenceVAE`,
:func:`train_sequence`, :func:`sample_sequences`, :func:`score_sequences`).
"""

from vaekit._version import __version__ as __version__
from vaekit.auto import AutoVAE as AutoVAE
from vaekit.auto import auto as auto
from vaekit.data import ImageDataset as ImageDataset
from vaekit.data import load_image_dataset as load_image_dataset
from vaekit.errors import DataError as DataError
from vaekit.errors import RunError as RunError
from vaekit.errors import VaekitError as VaekitError
from vaekit.evaluation import estimate_log_likelihood as estimate_log_likelihood
from vaekit.inference import FitResult as FitResult
from vaekit.inference import TermwiseELBO as TermwiseELBO
from vaekit.inference import TrainConfig as TrainConfig
from vaekit.inference import fit as fit
from vaekit.models import VAE as VAE
from vaekit.models import ImageVAE as ImageVAE
from vaekit.models import ImageVAEConfig as ImageVAEConfig
from vaekit.models import SemiSupervisedVAE as SemiSupervisedVAE
from vaekit.models import SemiSupervisedVAEConfig as SemiSupervisedVAEConfig
from vaekit.models import SequenceVAE as SequenceVAE
from vaekit.models import SequenceVAEConfig as SequenceVAEConfig
from vaekit.models import TabularVAE as TabularVAE
from vaekit.models import TabularVAEConfig as TabularVAEConfig
from vaekit.runs import Run as Run
from vaekit.runs import evaluate_run as evaluate_run
from vaekit.runs import fit_semi_supervised as fit_semi_supervised
from vaekit.runs import load_model as load_model
from vaekit.runs import load_run as load_run
from vaekit.runs import sample_images as sample_images
from vaekit.runs import save_model as save_model
from vaekit.runs import train_image_vae as train_image_vae
from vaekit.runs import train_ssvae as train_ssvae
from vaekit.runs.frame import TabularModel as TabularModel
from vaekit.runs.sequence import sample_sequences as sample_sequences
from vaekit.runs.sequence import score_sequences as score_sequences
from vaekit.runs.sequence import train_sequence as train_sequence
from vaekit.runs.tabular import impute_rows as impute_rows
from vaekit.runs.tabular import sample_rows as sample_rows
from vaekit.runs.tabular import score_rows as score_rows
from vaekit.runs.tabular import train_tabular as train_tabular

__all__ = [
    "__version__",
    "AutoVAE",
    "DataError",
    "FitResult",
    "ImageDataset",
    "ImageVAE",
    "ImageVAEConfig",
    "Run",
    "RunError",
    "SemiSupervisedVAE",
    "SemiSupervisedVAEConfig",
    "SequenceVAE",
    "SequenceVAEConfig",
    "TabularModel",
    "TabularVAE",
    "TabularVAEConfig",
    "TermwiseELBO",
    "TrainConfig",
    "VAE",
    "VaekitError",
    "auto",
    "estimate_log_likelihood",
    "evaluate_run",
    "fit",
    "fit_semi_supervised",
    "impute_rows",
    "load_image_dataset",
    "load_model",
    "load_run",
    "sample_images",
    "sample_rows",
    "sample_sequences",
    "save_model",
    "score_rows",
    "score_sequences",
    "train_image_vae",
    "train_sequence",
    "train_ssvae",
    "train_tabular",
]
