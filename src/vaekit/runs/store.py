"""Model files and run folders: saving, loading, and the helpers every run shares.

The names stored in files are mapped onto classes through the registry of model kinds
(:mod:`vaekit.runs.registry`); everything below it passes objects.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from vaekit._io import atomic_torch_save, safe_torch_load
from vaekit._version import __version__
from vaekit.errors import RunError, VaekitError
from vaekit.inference import FitResult, TrainConfig
from vaekit.models import VAE
from vaekit.runs.folder import mark_run_folder
from vaekit.runs.registry import kind_of_name, model_kinds


class _ModelTypes(Mapping[str, tuple[type[VAE], type]]):
    """The model classes a run folder or model file may name, with their config classes: a live
    view of the registered model kinds (:mod:`vaekit.runs.registry`)."""

    def __getitem__(self, name: str) -> tuple[type[VAE], type]:
        kind = kind_of_name(name)
        classes = kind.classes_named(name) if kind is not None else None
        if classes is None:
            raise KeyError(name)
        return classes

    def __iter__(self) -> Iterator[str]:
        return iter([name for kind in model_kinds() for name in kind.model_names()])

    def __len__(self) -> int:
        return len(list(iter(self)))


#: The model classes a run folder or model file may name, with their config classes.
MODEL_TYPES: Mapping[str, tuple[type[VAE], type]] = _ModelTypes()

MODEL_FILE_FORMAT = "vaekit-model"
MODEL_FILE_VERSION = 1
#: Default importance samples per example for the test log-likelihood.
DEFAULT_IW_SAMPLES = 1000
#: Default number of test examples (the first ones, in file order) the IWAE estimate is computed on;
#: the test ELBO always uses the whole test set.
DEFAULT_IW_EXAMPLES = 2000


# --- model files -----------------------------------------------------------------------------------


def save_model(model: VAE, path: str | Path) -> Path:
    """Write the model's architecture and weights to ``path`` atomically.

    The file holds only tensors, strings and numbers, so :func:`load_model` can read it with
    ``torch.load(weights_only=True)``: loading a model never runs code from the file.
    """
    name = type(model).__name__
    if name not in MODEL_TYPES:
        raise VaekitError(f"cannot save a {name}: only {sorted(MODEL_TYPES)} can be saved")
    payload = {
        "format": MODEL_FILE_FORMAT,
        "version": MODEL_FILE_VERSION,
        "vaekit_version": __version__,
        "model": name,
        "config": asdict(model.config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    return atomic_torch_save(path, payload)


def load_model(path: str | Path, *, map_location: str | torch.device = "cpu") -> VAE:
    """Rebuild a model saved by :func:`save_model`; refuses files that would need unpickling code."""
    path = Path(path)
    payload = safe_torch_load(path, map_location=map_location, what="vaekit model file")
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FILE_FORMAT:
        raise RunError(f"{path} is not a vaekit model file")
    if payload.get("version") != MODEL_FILE_VERSION:
        raise RunError(f"{path} has model file version {payload.get('version')}; this vaekit reads version 1")
    name = payload.get("model")
    if name not in MODEL_TYPES:
        raise RunError(f"{path} holds an unknown model type {name!r}; known: {sorted(MODEL_TYPES)}")
    model_class, config_class = MODEL_TYPES[name]
    try:
        config = config_class(**payload["config"])
        _check_weight_shapes(model_class, config, payload["state_dict"])
        model = model_class(config)
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as error:
        message = " ".join(str(error).split())  # load_state_dict lists its complaints on several lines
        written_by = payload.get("vaekit_version", "an unknown version")
        raise RunError(
            f"the architecture or weights in {path} do not fit together: the file is damaged, or "
            f"was written by a vaekit whose {name} had another layout (it says {written_by}; "
            f"this is {__version__}): {type(error).__name__}: {message[:300]}"
        ) from None
    return model.eval()


def _check_weight_shapes(model_class: type[VAE], config: Any, state_dict: Any) -> None:
    """Compare the file's tensors with the architecture its config describes, before building it.

    The model is first built on the meta device, which allocates nothing: a crafted config
    announcing billions of weights is refused instead of exhausting the memory.
    """
    if not isinstance(state_dict, dict):
        raise TypeError(f"state_dict is a {type(state_dict).__name__}, not a dict")
    try:
        with torch.device("meta"):
            skeleton = model_class(config)
    except Exception:  # noqa: BLE001 - a model that cannot be built without real tensors: the real build decides
        return
    expected = {key: tuple(value.shape) for key, value in skeleton.state_dict().items()}
    found = {key: tuple(getattr(value, "shape", ())) for key, value in state_dict.items()}
    if found != expected:
        differing = sorted(set(expected.items()) ^ set(found.items()), key=repr)[0][0]
        raise ValueError(
            f"the config describes {sum(math.prod(s) for s in expected.values())} weights in "
            f"{len(expected)} tensors, the file holds {sum(math.prod(s) for s in found.values())} in "
            f"{len(found)} (first difference: {differing!r})"
        )


# --- runs --------------------------------------------------------------------------------------------


@dataclass
class Run:
    """A run folder's model and settings, loaded or just trained."""

    path: Path
    model: VAE
    config: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def figures(self) -> Path:
        return self.path / "figures"


#: What the commands read from any run's config.json: dotted key -> type(s) of its value; each model
#: kind adds its own (:meth:`vaekit.runs.registry.ModelKind.config_shape`).
_CONFIG_SHAPE: dict[str, type | tuple[type, ...]] = {
    "model": str,
    "model_config": dict,
    "train_config": dict,
    "data": dict,
    "train_config.seed": int,
}


def check_config_shape(config: Any, path: Path, *, complete: bool = True) -> dict[str, Any]:
    """Refuse a config.json that is valid JSON of the wrong shape (a list, a missing or mistyped
    setting) with a :class:`RunError` naming the first wrong key, before any command reads it.

    With ``complete=False`` missing settings pass and only those present are checked: what
    :func:`load_run` asks of any run folder (``graph`` needs the model alone). The commands that read
    the settings (``sample``, ``score``, ``impute``, ``evaluate``, ``--resume``) ask for all of them.
    """
    if not isinstance(config, dict):
        raise RunError(
            f"{path} is not a vaekit run config: it holds a JSON {type(config).__name__}, not an object"
        )
    shape = dict(_CONFIG_SHAPE)
    model = config.get("model")
    kind_of_model = kind_of_name(model) if isinstance(model, str) else None
    if kind_of_model is not None:
        shape.update(kind_of_model.config_shape(config))
    for key, expected in shape.items():
        value: Any = config
        for name in key.split("."):
            value = value.get(name, _MISSING) if isinstance(value, dict) else _MISSING
        if value is _MISSING and not complete:
            continue
        if value is _MISSING:
            raise RunError(f"{path} is not a complete vaekit run config: it lacks {key!r}")
        if not isinstance(value, expected) or isinstance(value, bool):
            raise RunError(
                f"{path} is not a vaekit run config: {key!r} is a {type(value).__name__}, where "
                f"vaekit wrote a {expected.__name__ if isinstance(expected, type) else expected[0].__name__}"
            )
    return config


_MISSING = object()


def load_run(run_dir: str | Path) -> Run:
    """Load a run folder written by :func:`train_image_vae`."""
    path = Path(run_dir)
    config_path = path / "config.json"
    if not config_path.is_file():
        raise RunError(f"{path} is not a vaekit run folder: {config_path.name} is missing")
    try:
        config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"{config_path} is not valid JSON: {error}") from None
    check_config_shape(config, config_path, complete=False)
    model = load_model(path / "model.pt")
    metrics_path = path / "metrics.json"
    try:
        metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    except json.JSONDecodeError as error:
        raise RunError(
            f"{metrics_path} is not valid JSON: {error}; delete it and run vaekit evaluate"
        ) from None
    return Run(path=path, model=model, config=config, metrics=metrics)


#: Marks a setting in :data:`ADDED_SETTINGS` that changes nothing whatever its value.
ANY_VALUE = object()
#: (section of config.json, key, the value that does what runs started without the key did).
ADDED_SETTINGS: tuple[tuple[str, str, Any], ...] = (
    ("model_config", "story_sha256", ANY_VALUE),
    ("model_config", "image_encoder", "cnn"),
    ("model_config", "classifier_dropout", 0.0),
    ("data", "columns", ANY_VALUE),
    ("data", "sha256", ANY_VALUE),
)


def split_train_val(num_examples: int, val_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random split of ``range(num_examples)`` into training and validation indices."""
    num_val = max(1, round(num_examples * val_fraction))
    if num_val >= num_examples:
        raise VaekitError(f"cannot hold out a validation set from {num_examples} training examples")
    order = torch.randperm(num_examples, generator=torch.Generator().manual_seed(seed))
    return order[num_val:].sort().values, order[:num_val].sort().values


def unused_name(name: str, taken: Iterable[str]) -> str:
    """``name``, or ``name_``, ``name__``, ...: the first that is not in ``taken``.

    An output column vaekit adds (``log_likelihood``, ``imputation``, ...) never replaces a column
    of the user's table that happens to have its name.
    """
    taken = set(taken)
    while name in taken:
        name += "_"
    return name


def training_metrics(result: FitResult, train_config: TrainConfig) -> dict[str, Any]:
    epochs = len(result.history)
    return {
        "train_examples": result.train_examples // epochs if epochs else 0,
        "epochs": epochs,
        "best_epoch": result.best_epoch,
        "kept_epoch": result.kept_epoch,
        "stopped_early": epochs < train_config.epochs,
        "train_seconds": round(result.train_seconds, 3),
        "seconds_per_epoch": round(result.train_seconds / epochs, 3) if epochs else None,
        "train_examples_per_second": round(result.examples_per_second, 1),
        "best_val_elbo": max((row["val_elbo"] for row in result.history), default=None),
        "selected_on": result.selected_on,
        f"best_{result.selected_on}": max((row[result.selected_on] for row in result.history), default=None),
        "processes": result.world_size,
        "device": result.device,
    }


class progress_bar:
    """A tqdm bar used as ``update`` callback; silent when disabled."""

    def __init__(self, total: int, description: str, enabled: bool) -> None:
        self.total, self.description, self.enabled = total, description, enabled

    def __enter__(self) -> Callable[[int], None] | None:
        if not self.enabled:
            return None
        from tqdm.auto import tqdm

        self._bar = tqdm(total=self.total, desc=self.description, unit="ex", leave=False)
        return self._bar.update

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._bar.close()


def build_model(model_class: type[VAE], config: Any) -> VAE:
    """Build a model, turning an architecture that does not fit the data into a user error."""
    try:
        return model_class(config)
    except ValueError as error:
        raise VaekitError(f"cannot build {model_class.__name__}: {error}") from None


#: Training settings a resumed run may change (see ``vaekit train --resume``).
RESUMABLE_TRAIN_SETTINGS = ("lr", "accelerator", "devices", "strategy", "num_nodes", "progress_bar")


def write_run_config(run_path: Path, config: dict[str, Any], *, resume: bool) -> None:
    """Write ``config.json``, or, when resuming, check that nothing but the resumable settings changed.

    A resumed run continues the weights of the one that started it, so its data (the file's hash
    included), schema, architecture and training settings must be the same; anything else is
    refused before any file is touched. The folder is marked as a vaekit run folder
    (:func:`vaekit.runs.folder.mark_run_folder`), so that ``--force`` may later replace it. Only the
    global rank 0 writes.
    """
    from vaekit._distributed import is_global_zero
    from vaekit._io import atomic_write_json

    if resume:
        try:
            stored = json.loads((run_path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise RunError(f"cannot resume {run_path}: its config.json is missing or unreadable") from None
        check_config_shape(stored, run_path / "config.json")

        # Every setting is resolved before config.json is first written, so each must match; but a
        # 0.2 semi-supervised run wrote alpha as null until training ended (the objective chose it)
        # and no classifier weight: it resumes with what the paper's alpha resolves to.
        written_by_0_2 = "alpha" in stored and "classifier_weight" not in stored
        unresolved_in_0_2 = ("alpha", "classifier_weight") if written_by_0_2 else ()

        def comparable(settings: dict[str, Any]) -> dict[str, Any]:
            settings = json.loads(json.dumps(settings))  # tuples and lists alike
            for key in ("vaekit_version", *unresolved_in_0_2):
                settings.pop(key, None)
            for key in RESUMABLE_TRAIN_SETTINGS:
                settings.get("train_config", {}).pop(key, None)
            # How the table spells its levels and the grid its numbers are snapped to are no part
            # of the model: a run started before vaekit kept the spellings or the grid resumes.
            schema = settings.get("model_config", {}).get("schema")
            for column in schema.get("columns", []) if isinstance(schema, dict) else []:
                if isinstance(column, dict):
                    column.pop("step", None)
                    if not column.get("spikes"):  # a column of a kind without spikes
                        column.pop("spikes", None)
                    if column.get("levels"):
                        column.pop("format", None)
            return settings

        before, now = comparable(stored), comparable(config)
        # Settings a later vaekit records that change nothing for a run started without them: a
        # story's file hash (checked on its own when recorded), the training columns' names (read
        # to find them in new tables), the guide's image body when it is the one used before.
        for section, key, neutral in ADDED_SETTINGS:
            stored_section, section_now = before.get(section), now.get(section)
            if not (isinstance(stored_section, dict) and isinstance(section_now, dict)):
                continue
            if key not in stored_section and (neutral is ANY_VALUE or section_now.get(key) == neutral):
                section_now.pop(key, None)
        changed = sorted(key for key in set(before) | set(now) if before.get(key) != now.get(key))
        if changed:
            raise RunError(
                f"cannot resume {run_path}: its {', '.join(changed)} differ from those the run started "
                "with (changed data, schema or settings); start a new run with --out instead"
            )
    if is_global_zero():
        mark_run_folder(run_path)
        atomic_write_json(run_path / "config.json", config)
