"""Run folders and the Python API that mirrors the command line.

A run folder holds everything one training run produced::

    RUN_DIR/
      config.json        model, training and data settings
      model.pt           kept weights (best or last epoch) + architecture; torch.load(weights_only=True)
      checkpoints/       Lightning checkpoints (best.ckpt, last.ckpt)
      log.csv            the objective and its terms per epoch, train and validation
      metrics.json       test ELBO, IWAE log-likelihood, timing (and accuracy for classifiers)
      figures/           PNG figures
      .vaekit-run        the marker that lets --force replace what vaekit wrote (vaekit.runs.folder)

Every kind of model is a registered :class:`ModelKind` (:mod:`vaekit.runs.registry`): the command
line, the run store, ``evaluate``, ``sample`` and ``graph`` ask it what to do with a run of it, and
:func:`train_run` holds the steps every training run shares.
"""

from vaekit.runs.evaluate import evaluate_run as evaluate_run
from vaekit.runs.evaluate import sample_images as sample_images
from vaekit.runs.evaluate import write_figures as write_figures
from vaekit.runs.image_vae import train_image_vae as train_image_vae
from vaekit.runs.registry import ModelKind as ModelKind
from vaekit.runs.registry import ReportRequest as ReportRequest
from vaekit.runs.registry import SampleRequest as SampleRequest
from vaekit.runs.registry import TrainRequest as TrainRequest
from vaekit.runs.registry import kind_of as kind_of
from vaekit.runs.registry import model_kind as model_kind
from vaekit.runs.registry import model_kinds as model_kinds
from vaekit.runs.registry import register_model_kind as register_model_kind
from vaekit.runs.ss_vae import choose_labelled as choose_labelled
from vaekit.runs.ss_vae import fit_semi_supervised as fit_semi_supervised
from vaekit.runs.ss_vae import train_ssvae as train_ssvae
from vaekit.runs.store import DEFAULT_IW_EXAMPLES as DEFAULT_IW_EXAMPLES
from vaekit.runs.store import DEFAULT_IW_SAMPLES as DEFAULT_IW_SAMPLES
from vaekit.runs.store import MODEL_TYPES as MODEL_TYPES
from vaekit.runs.store import Run as Run
from vaekit.runs.store import load_model as load_model
from vaekit.runs.store import load_run as load_run
from vaekit.runs.store import save_model as save_model
from vaekit.runs.training_run import train_run as train_run

__all__ = [
    "DEFAULT_IW_EXAMPLES",
    "DEFAULT_IW_SAMPLES",
    "MODEL_TYPES",
    "ModelKind",
    "Run",
    "ReportRequest",
    "SampleRequest",
    "TrainRequest",
    "choose_labelled",
    "evaluate_run",
    "fit_semi_supervised",
    "kind_of",
    "load_model",
    "load_run",
    "model_kind",
    "model_kinds",
    "register_model_kind",
    "sample_images",
    "save_model",
    "train_image_vae",
    "train_run",
    "train_ssvae",
    "write_figures",
]
