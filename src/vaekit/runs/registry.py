"""The model kinds vaekit knows: one registered object per kind of model, read by every command.

A :class:`ModelKind` says everything the command line and the run store need to know about one kind
of model: its command name (``vaekit train NAME``), its model and config classes, its flags, how it
trains from them, and what ``evaluate``, ``sample``, ``score``, ``impute``, ``encode``, ``predict``,
``graph`` and ``report`` do with a run of it. Nothing above this module asks which class a model
is: it asks the registry for the model's kind and calls it.

To add a model to vaekit, write one module with a :class:`ModelKind` subclass and register an
instance::

    class ToyKind(ModelKind):
        command = "toy"
        model_class = ToyVAE
        config_class = ToyVAEConfig
        help = "a toy model"
        noun = "a toy run"

        def add_arguments(self, parser): ...
        def train(self, request): ...
        def evaluate(self, run, *, iw_samples, iw_examples, progress, data=None): ...

    register_model_kind(ToyKind())

The built-in kinds live in :mod:`vaekit.runs.kinds`; a package of its own can also announce its
kinds under the ``vaekit.model_kinds`` entry-point group (each entry point names a module that
registers its kinds when imported).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from vaekit.errors import VaekitError

if TYPE_CHECKING:
    import pandas as pd

    from vaekit.models import VAE
    from vaekit.runs.store import Run

#: The commands a run can be given after training; a kind lists those it answers in ``commands``.
RUN_COMMANDS = ("evaluate", "sample", "score", "impute", "encode", "predict", "graph", "report")
#: The metrics a finished run reports on its one summary line, unless its kind says otherwise.
SUMMARY_KEYS = (
    "test_elbo",
    "test_log_likelihood",
    "epochs",
    "best_epoch",
    "kept_epoch",
    "seconds_per_epoch",
    "train_examples_per_second",
)
#: Arguments that may hold paths of files a training command reads, whatever the kind.
PATH_ARGUMENTS = ("data_dir", "csv", "schema", "parquet")


@dataclass(frozen=True)
class TrainRequest:
    """A training command, parsed and with its run folder claimed, handed to :meth:`ModelKind.train`.

    ``args`` holds the parsed flags (with a resumed run's stored settings restored); ``begin`` must
    be called once every input has been read and checked, and before anything is written: it moves
    an old run aside and records the command in the run folder (rank 0 only).
    """

    args: Any
    run_dir: Path
    resume: bool
    begin: Callable[[], None]

    @property
    def progress(self) -> bool:
        return not self.args.no_progress


@dataclass(frozen=True)
class SampleRequest:
    """What ``vaekit sample`` asks of a run: ``num_samples`` draws seeded by ``seed``, of class
    ``label`` (kinds that have labels), meeting ``conditions`` (kinds that take them: ``--given``),
    with the training data's missing cells (kinds that keep them: ``--keep-missing``)."""

    num_samples: int
    seed: int = 0
    label: int | None = None
    conditions: Sequence[str] = ()
    keep_missing: bool = False


@dataclass(frozen=True)
class ReportRequest:
    """What ``vaekit report`` asks of a run: ``num_samples`` synthetic rows (``None``: as many as the
    held-out rows) seeded by ``seed``, ``target`` the column of the machine-learning efficacy
    (``None``: the kind's default), ``held_out_name`` how the page names the held-out table, and
    whether an earlier report may be replaced (``force``) and progress shown."""

    num_samples: int | None = None
    seed: int = 0
    target: str | None = None
    held_out_name: str = "the held-out table"
    force: bool = False
    progress: bool = True


class ModelKind(ABC):
    """One kind of model: what vaekit's commands and run folders need to know about it.

    Subclasses set the class attributes and implement :meth:`add_arguments`, :meth:`train` and
    :meth:`evaluate`; the other methods have defaults for a kind that cannot answer them (the
    command then says which kinds can). Register an instance with :func:`register_model_kind`.
    """

    #: ``vaekit train COMMAND``; also the name stored in ``command.json``.
    command: ClassVar[str]
    #: The model class, whose name ``config.json`` and model files store, and its config class.
    model_class: ClassVar[type[VAE]]
    config_class: ClassVar[type]
    #: Other (model class, config class) pairs this kind trains, as its flags ask (the tabular
    #: kind's model with a target column): run folders and model files may name them too.
    other_models: ClassVar[tuple[tuple[type[VAE], type], ...]] = ()
    #: One line for ``vaekit train --help``.
    help: ClassVar[str]
    #: How messages name a run of this kind: "a tabular run".
    noun: ClassVar[str]
    #: Which of :data:`RUN_COMMANDS` a run of this kind answers.
    commands: ClassVar[frozenset[str]] = frozenset({"evaluate", "sample", "graph"})
    #: What ``vaekit sample --out`` writes: ``.png`` (a picture grid) or ``.csv`` (a table).
    sample_suffix: ClassVar[str] = ".csv"
    #: Whether its model has a class label that ``vaekit sample --label`` can fix.
    has_labels: ClassVar[bool] = False
    #: Whether ``vaekit sample --given`` can condition its samples on some of their values.
    takes_conditions: ClassVar[bool] = False
    #: Whether ``vaekit sample --keep-missing`` can give its samples the training data's missing cells.
    keeps_missing: ClassVar[bool] = False
    #: The metrics the training command prints when it ends.
    summary_keys: ClassVar[tuple[str, ...]] = SUMMARY_KEYS
    #: What the plate diagram's legend says of a site seen both observed and latent.
    partial_note: ClassVar[str] = ""
    #: Settings added to the command after 0.2, with the value that repeats what a 0.2 run did
    #: without them, so that a 0.2 run resumes as it started.
    legacy_arguments: ClassVar[Mapping[str, Any]] = {}

    @property
    def model_name(self) -> str:
        """The name ``config.json`` and model files store for this kind's model."""
        return self.model_class.__name__

    def model_classes(self) -> tuple[tuple[type[VAE], type], ...]:
        """Every (model class, config class) pair of this kind, its own first."""
        return ((self.model_class, self.config_class), *self.other_models)

    def model_names(self) -> tuple[str, ...]:
        """The names run folders and model files store for this kind's models."""
        return tuple(model_class.__name__ for model_class, _ in self.model_classes())

    def classes_named(self, name: str) -> tuple[type[VAE], type] | None:
        """The (model class, config class) pair of the model stored as ``name``, or ``None``."""
        for model_class, config_class in self.model_classes():
            if model_class.__name__ == name:
                return model_class, config_class
        return None

    @abstractmethod
    def add_arguments(self, parser: Any) -> None:
        """Add this kind's flags (and defaults) to its ``vaekit train`` sub-parser."""

    def train_config(self, args: Any) -> Any:
        """The :class:`~vaekit.inference.TrainConfig` of parsed ``vaekit train`` flags, each unset
        setting at this kind's default."""
        from vaekit.runs.kinds.flags import train_config_from

        return train_config_from(args)

    @abstractmethod
    def train(self, request: TrainRequest) -> Run | None:
        """Train from parsed flags and write the run folder; ``None`` on ranks other than 0."""

    @abstractmethod
    def evaluate(
        self, run: Run, *, iw_samples: int, iw_examples: int | None, progress: bool, data: Any = None
    ) -> dict[str, Any]:
        """Recompute the run's test metrics and rewrite ``metrics.json``; returns the metrics.

        ``data`` is the run's data when the caller holds it already (read from the run's settings
        otherwise); ``iw_examples`` bounds the examples of the importance-weighted estimate where the
        kind has such a bound.
        """

    def write_figures(self, run: Run, *, data: Any = None) -> dict[str, Path]:
        """Write the run's figures under ``figures/``; returns their paths by name."""
        return {}

    def path_arguments(self, args: Any) -> tuple[str, ...]:
        """Names of the arguments of ``args`` that hold paths of files the training reads."""
        return tuple(name for name in PATH_ARGUMENTS if getattr(args, name, None) is not None)

    def config_shape(self, config: Mapping[str, Any]) -> dict[str, type | tuple[type, ...]]:
        """What the commands read from a run's ``config.json``: dotted key -> type(s) of its value."""
        return {}

    def input_files(self, config: Mapping[str, Any]) -> list[str]:
        """The user's files a run was trained on, as named in its ``config.json``: outputs of the
        run's commands must never replace them."""
        data = config.get("data")
        if not isinstance(data, dict):
            return []
        return [data[key] for key in ("csv", "schema") if isinstance(data.get(key), str)]

    def sample_suffix_of(self, run: Run) -> str:
        """The file suffix ``vaekit sample --out`` must have for this run (``sample_suffix``, unless
        the kind's runs differ: a story of images draws a picture, a story of a table a CSV)."""
        return self.sample_suffix

    def write_samples(self, run: Run, out: Path, request: SampleRequest) -> Path:
        """Draw the samples ``request`` asks for and write them to ``out`` (``sample_suffix``)."""
        raise VaekitError(f"vaekit cannot draw samples from {self.noun}")

    def score(self, run: Run, table: pd.DataFrame, *, iw_samples: int, progress: bool) -> pd.DataFrame:
        """Each row's (or sequence's) log-likelihood under the model, as a table to write."""
        raise VaekitError(f"vaekit cannot score data under {self.noun}")

    def impute(self, run: Run, table: pd.DataFrame, *, draws: int, seed: int) -> pd.DataFrame:
        """``table`` with its missing cells filled from the model."""
        raise VaekitError(f"vaekit cannot impute with {self.noun}")

    def encode(self, run: Run, table: pd.DataFrame) -> pd.DataFrame:
        """Each row's (or sequence's) q(z | x): the means and scales of its latent code, as a table."""
        raise VaekitError(f"vaekit cannot encode data with {self.noun}")

    def predict(self, run: Run, table: pd.DataFrame) -> pd.DataFrame:
        """Each row's class probabilities under the run's classifier, as a table."""
        raise VaekitError(f"vaekit cannot predict with {self.noun}")

    def report(
        self, run: Run, held_out: pd.DataFrame, out: Path, request: ReportRequest
    ) -> tuple[Path, Path]:
        """Judge the run's synthetic data against ``held_out`` rows: an HTML page at ``out`` and its
        numbers as JSON beside it; returns both paths."""
        raise VaekitError(f"vaekit cannot report on the synthetic data of {self.noun}")

    def example_arguments(self, model: VAE) -> list[tuple[Any, ...]]:
        """Arguments of ``model.model`` for its plate diagram, one tuple per case the diagram merges."""
        raise VaekitError(f"no plate diagram for a {self.model_name}")

    def site_notes(self, model: VAE) -> dict[str, str]:
        """Extra legend text of the plate diagram, by site name."""
        return {}


_KINDS: dict[str, ModelKind] = {}
_BUILTINS_LOADED = False
#: The group under which other packages announce modules that register model kinds.
ENTRY_POINT_GROUP = "vaekit.model_kinds"


def register_model_kind(kind: ModelKind) -> ModelKind:
    """Add ``kind`` to the registry (by its command name) and return it.

    Refuses a second kind with a command or model name already taken: two kinds must never answer
    to one name in a run folder.
    """
    for other in _KINDS.values():
        if other.command == kind.command or set(other.model_names()) & set(kind.model_names()):
            if other is kind:
                return kind
            raise ValueError(
                f"a model kind named {kind.command!r} (model {kind.model_name}) is already registered"
            )
    _KINDS[kind.command] = kind
    return kind


def unregister_model_kind(command: str) -> None:
    """Remove a registered kind (tests and plug-ins that register one for a while)."""
    _KINDS.pop(command, None)


def _load_builtins() -> None:
    """Register the built-in kinds, and those other packages announce, on first use.

    Lazy, because the kinds import the run store, which imports this module.
    """
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    importlib.import_module("vaekit.runs.kinds")
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        entry.load()


def model_kinds() -> Iterator[ModelKind]:
    """Every registered kind, in the order of registration."""
    _load_builtins()
    return iter(list(_KINDS.values()))


def model_kind(command: str) -> ModelKind:
    """The kind trained by ``vaekit train COMMAND``."""
    _load_builtins()
    try:
        return _KINDS[command]
    except KeyError:
        raise VaekitError(f"no model kind {command!r}; known: {', '.join(sorted(_KINDS))}") from None


def kind_of_name(model_name: str) -> ModelKind | None:
    """The kind whose model classes include ``model_name`` (as stored in files), or ``None``."""
    for kind in model_kinds():
        if model_name in kind.model_names():
            return kind
    return None


def find_kind(model: Any) -> ModelKind | None:
    """The kind of a model object (the nearest registered class among its classes), or ``None``."""
    by_class = {model_class: kind for kind in model_kinds() for model_class, _ in kind.model_classes()}
    for cls in type(model).__mro__:
        if cls in by_class:
            return by_class[cls]
    return None


def kind_of(model: VAE) -> ModelKind:
    """The kind of a model object; a :class:`VaekitError` when no registered kind has its class."""
    kind = find_kind(model)
    if kind is None:
        raise VaekitError(f"{type(model).__name__} is not a registered vaekit model kind")
    return kind


def kinds_answering(command: str) -> list[ModelKind]:
    """The kinds whose runs answer ``command`` (one of :data:`RUN_COMMANDS`)."""
    return [kind for kind in model_kinds() if command in kind.commands]


def require_command(run: Run, command: str) -> ModelKind:
    """The kind of ``run``'s model, if its runs answer ``command``; otherwise a message naming the
    kinds whose runs do."""
    kind = kind_of(run.model)
    if command not in kind.commands:
        wanted = " or ".join(other.noun for other in kinds_answering(command))
        raise VaekitError(f"{run.path} holds a {type(run.model).__name__}; this command needs {wanted}")
    return kind
