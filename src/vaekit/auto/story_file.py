"""A story written in a file of its own (``FILE.py:NAME``), made a VAE that a run folder and a model
file can rebuild: what ``vaekit train model --model FILE.py:NAME`` trains."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from vaekit.auto.story import read_story
from vaekit.auto.vae import AutoVAE, AutoVAEConfig
from vaekit.errors import VaekitError

#: The dtypes an example argument may have, by the names the config stores.
EXAMPLE_DTYPES = {"float32": torch.float32, "int64": torch.int64}


def split_story_reference(reference: str) -> tuple[Path, str]:
    """``FILE.py:NAME`` -> the file (made absolute) and the name; a clear error for anything else."""
    path_text, separator, name = reference.rpartition(":")
    if not separator or not path_text or not name.isidentifier():
        raise VaekitError(f"--model {reference!r}: give the story as FILE.py:NAME (a file and a name in it)")
    path = Path(path_text).expanduser().resolve()
    if path.suffix != ".py":
        raise VaekitError(f"--model {reference!r}: {path.name} is not a Python file (.py)")
    if not path.is_file():
        raise VaekitError(f"--model {reference!r}: no such file {path}")
    return path, name


def load_story(reference: str) -> Callable[..., Any]:
    """The story ``FILE.py:NAME`` names: a function, or an ``nn.Module`` class built with no
    arguments (its decoder's weights are then the VAE's). Runs the file's code, as importing it would."""
    path, name = split_story_reference(reference)
    # A module name of its own per file, so that two stories of the same file name never collide.
    module_name = f"vaekit_story_{hashlib.sha256(str(path).encode()).hexdigest()[:16]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise VaekitError(f"--model {reference!r}: {path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's file: whatever it raises is theirs to fix
        sys.modules.pop(module_name, None)
        raise VaekitError(
            f"--model {reference!r}: importing {path.name} failed: {type(error).__name__}: {error}"
        ) from None
    story = getattr(module, name, None)
    if story is None:
        defined = sorted(
            key
            for key, value in vars(module).items()
            if not key.startswith("_")
            and callable(value)
            and getattr(value, "__module__", None) == module_name
        )
        raise VaekitError(
            f"--model {reference!r}: {path.name} defines no {name!r}; it defines: "
            f"{', '.join(defined) or 'nothing callable'}"
        )
    if inspect.isclass(story):
        if not issubclass(story, nn.Module):
            raise VaekitError(f"--model {reference!r}: {name} is a class but not a torch.nn.Module")
        try:
            return story()
        except TypeError as error:
            raise VaekitError(
                f"--model {reference!r}: {name}() must build with no arguments: {error}"
            ) from None
    if not callable(story):
        raise VaekitError(f"--model {reference!r}: {name} is neither a function nor an nn.Module class")
    return story


def story_file_hash(path: Path) -> str:
    """The SHA-256 of a story's file, which a run records so that it never rebuilds a changed story."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise VaekitError(f"cannot read the story file {path}: {error.strerror or error}") from None


def story_arity(story: Callable[..., Any]) -> int:
    """How many data arguments the story takes (its positional parameters)."""
    function = story.forward if isinstance(story, nn.Module) else story
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds for p in inspect.signature(function).parameters.values())


@dataclass(frozen=True)
class StoryVAEConfig:
    """What rebuilds a :class:`StoryVAE`: the story's file and name, an example batch to read the
    story on (a few rows of the training data, as nested lists, with their dtypes), the sizes
    of the guide's networks (:class:`~vaekit.auto.AutoVAEConfig`) and the SHA-256 of the story's
    file when the model was trained (``None``: not checked)."""

    story: str
    examples: tuple[Any, ...]
    dtypes: tuple[str, ...]
    data_hidden: tuple[int, ...] = AutoVAEConfig.data_hidden
    conv_channels: tuple[int, ...] = AutoVAEConfig.conv_channels
    latent_hidden: tuple[int, ...] = field(default=AutoVAEConfig.latent_hidden)
    story_sha256: str | None = None
    image_encoder: Literal["cnn", "mlp"] = AutoVAEConfig.image_encoder

    def __post_init__(self) -> None:
        object.__setattr__(self, "examples", tuple(self.examples))
        object.__setattr__(self, "dtypes", tuple(str(d) for d in self.dtypes))
        if len(self.examples) != len(self.dtypes):
            raise ValueError("one dtype per example argument")
        unknown = [d for d in self.dtypes if d not in EXAMPLE_DTYPES]
        if unknown:
            raise ValueError(f"example dtypes must be among {sorted(EXAMPLE_DTYPES)}, got {unknown}")
        self.guide_config()  # the network sizes, checked

    def guide_config(self) -> AutoVAEConfig:
        return AutoVAEConfig(
            self.data_hidden,
            self.conv_channels,
            self.latent_hidden,
            image_encoder=self.image_encoder,
        )

    def example_arguments(self) -> tuple[torch.Tensor, ...]:
        return tuple(
            torch.tensor(values, dtype=EXAMPLE_DTYPES[dtype])
            for values, dtype in zip(self.examples, self.dtypes, strict=True)
        )


def example_rows(arguments: tuple[torch.Tensor, ...], rows: int = 2) -> torch.Tensor:
    """Positions of ``rows`` rows to read the story on: the first row whose every value is given (no
    NaN, no negative integer: the marks of a missing label) and the first row with a missing one,
    when the data have such rows, then the first rows. Reading a story on rows that all miss a
    partially observed value could not tell which argument holds it."""
    size = arguments[0].shape[0]
    missing = torch.zeros(size, dtype=torch.bool)
    for argument in arguments:
        flat = argument.reshape(size, -1)
        missing |= (torch.isnan(flat) if flat.is_floating_point() else flat < 0).any(-1)
    chosen: list[int] = []
    for candidates in (torch.nonzero(~missing), torch.nonzero(missing)):
        if len(candidates):
            chosen.append(int(candidates[0]))
    chosen += [i for i in range(size) if i not in chosen]
    return torch.tensor(sorted(chosen[:rows]), dtype=torch.long)


def example_of(arguments: tuple[torch.Tensor, ...], rows: int = 2) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """``rows`` rows of each data argument (:func:`example_rows`), as a :class:`StoryVAEConfig`
    stores them."""
    examples, dtypes = [], []
    index = example_rows(arguments, rows)
    for argument in arguments:
        dtype = "int64" if not argument.is_floating_point() else "float32"
        examples.append(argument[index].to(EXAMPLE_DTYPES[dtype]).tolist())
        dtypes.append(dtype)
    return tuple(examples), tuple(dtypes)


class StoryVAE(AutoVAE):
    """An :class:`~vaekit.auto.AutoVAE` of a story in a file, rebuilt from its config alone, so that
    run folders and model files (``torch.load(weights_only=True)``) hold it as any other model.

    Loading one imports the story's file again: the file must still be where the config says, and
    hold the code it held when the model was trained (its SHA-256 is checked before it runs).
    """

    def __init__(self, config: StoryVAEConfig) -> None:
        recorded_path = Path(config.story.rpartition(":")[0])
        if not recorded_path.is_file():
            raise VaekitError(
                f"the story file {recorded_path} this model was trained with is missing: vaekit rebuilds "
                "the model by running it, so put it back where it was"
            )
        if config.story_sha256 is not None:
            path, _ = split_story_reference(config.story)
            found = story_file_hash(path)
            if found != config.story_sha256:
                # The weights belong to the story as it was: a changed story would load them into
                # other networks, or worse, into the same shapes with another meaning.
                raise VaekitError(
                    f"the story file {path} changed since this model was trained (SHA-256 "
                    f"{config.story_sha256[:12]}..., now {found[:12]}...): vaekit rebuilds the model by "
                    "running that file, so restore it as it was, or train again"
                )
        story_fn = load_story(config.story)
        example = config.example_arguments()
        story = read_story(story_fn, example, {}, owns_parameters=isinstance(story_fn, nn.Module))
        super().__init__(story_fn, story, example, {}, config.guide_config())
        self.config = config  # type: ignore[assignment]
