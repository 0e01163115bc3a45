"""A story a user writes, with the guide vaekit builds for it, as a model kind
(``vaekit train model --model FILE.py:NAME``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaekit._io import atomic_write_json
from vaekit.auto.story_file import StoryVAE, StoryVAEConfig, example_of, load_story, story_arity
from vaekit.errors import VaekitError
from vaekit.inference.config import DEFAULT_CLASSIFIER_WEIGHT
from vaekit.models import VAE
from vaekit.runs.kinds.flags import (
    add_training_flags,
    check_input_file,
    layer_widths,
    non_negative_float,
    non_negative_int,
    positive_int,
)
from vaekit.runs.registry import ModelKind, TrainRequest
from vaekit.runs.store import Run, progress_bar, split_train_val

#: Rows of the training data the config keeps, to read the story on when the model is rebuilt.
EXAMPLE_ROWS = 2


def story_data(settings: Mapping[str, Any]) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """The training and test arguments of the story, from the data settings ``config.json`` stores.

    A CSV table is one argument, ``(rows, columns)`` 32-bit floats (missing cells NaN), or with
    ``"arguments": "columns"`` one argument ``(rows,)`` per column, a seeded tenth of its rows held
    out; an image set is its images ``(N, C, H, W)``, and with ``labels``
    set a second argument of class indices, -1 where the label is hidden (all but the first
    ``labels`` of a seeded order), the test images keeping all of theirs.
    """
    if settings["dataset"] == "csv":
        import pandas as pd

        from vaekit.data.table_files import read_table
        from vaekit.runs.training_run import held_out_split

        table = read_table(settings["csv"])
        numbers = {}
        for name in table.columns:
            converted = pd.to_numeric(table[name], errors="coerce")
            bad = converted.isna() & table[name].notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise VaekitError(
                    f"column {name!r} holds {table[name].iloc[row]!r} at row {row + 1}: a story reads a "
                    "table of numbers (one tensor); encode this column as numbers, or drop it"
                )
            numbers[name] = converted.to_numpy(dtype=np.float32)
        values = torch.from_numpy(np.stack(list(numbers.values()), axis=1))
        train_index, test_index = held_out_split(len(values), settings["split_seed"])
        if settings.get("arguments") == "columns":
            return tuple(values[train_index].unbind(1)), tuple(values[test_index].unbind(1))
        return (values[train_index],), (values[test_index],)
    from vaekit.runs.images import ImageSource

    dataset = ImageSource.from_settings(settings["images"]).load()
    labels = settings.get("labels")
    if labels is None:
        return (dataset.train_images,), (dataset.test_images,)
    hidden = torch.randperm(
        len(dataset.train_labels), generator=torch.Generator().manual_seed(settings["split_seed"])
    )
    train_labels = dataset.train_labels.clone().long()
    train_labels[hidden[labels:]] = -1
    return (dataset.train_images, train_labels), (dataset.test_images, dataset.test_labels.long())


class StoryKind(ModelKind):
    """A generative story from a file, ``FILE.py:NAME``, with vaekit's automatic amortized guide."""

    command = "model"
    model_class = StoryVAE
    config_class = StoryVAEConfig
    help = "your own generative story (--model FILE.py:NAME), with the guide built from it"
    noun = "a run of a story"
    commands = frozenset({"evaluate", "graph"})
    summary_keys = ("test_elbo", "test_log_likelihood", "test_accuracy_y", "epochs", "seconds_per_epoch")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--model",
            required=True,
            metavar="FILE.py:NAME",
            help="the story: a function or nn.Module class (built with no arguments) in FILE.py, "
            "written with a pyro.plate over the examples and obs= on the data",
        )
        source = parser.add_argument_group("data").add_mutually_exclusive_group(required=True)
        source.add_argument(
            "--csv",
            metavar="FILE",
            help="a table of numbers: one argument (rows, columns), or one per column when the story "
            "takes as many arguments as the table has columns",
        )
        source.add_argument(
            "--data", help="images: digits (bundled), mnist, fashion-mnist, or a folder of IDX files"
        )
        parser.add_argument("--data-dir", help="folder holding the MNIST / Fashion-MNIST IDX files")
        parser.add_argument(
            "--labels",
            type=non_negative_int,
            metavar="N",
            help="images: pass the labels as the story's second argument, N of them given, -1 elsewhere",
        )
        parser.add_argument(
            "--classifier-weight",
            type=non_negative_float,
            default=DEFAULT_CLASSIFIER_WEIGHT,
            metavar="W",
            help="weight of log q(label | x) per row that gives a partially observed label (46, as M2's)",
        )
        guide = parser.add_argument_group("the automatic guide")
        guide.add_argument("--data-hidden", type=layer_widths, default=(400,), help="body widths (400)")
        guide.add_argument(
            "--latent-hidden", type=layer_widths, default=(200,), help="latent body widths (200)"
        )
        add_training_flags(parser)
        parser.add_argument(
            "--iw-samples", type=positive_int, default=100, metavar="K", help="importance samples (100)"
        )

    def path_arguments(self, args: Any) -> tuple[str, ...]:
        return tuple(name for name in ("csv",) if getattr(args, name, None) is not None)

    def data_settings(self, args: Any) -> dict[str, Any]:
        if args.csv is not None:
            check_input_file(args.csv, "--csv")
            if args.labels is not None:
                raise VaekitError("--labels gives the labels of an image set (--data)")
            return {"dataset": "csv", "csv": str(Path(args.csv).resolve()), "split_seed": args.seed}
        from vaekit.runs.images import ImageSource

        source = ImageSource.given(args.data, args.data_dir)
        return {
            "dataset": "images",
            "images": {"data": source.data, "data_dir": source.data_dir},
            "labels": args.labels,
            "split_seed": args.seed,
        }

    def train(self, request: TrainRequest) -> Run | None:
        from vaekit.inference import fit
        from vaekit.runs.training_run import train_run

        args = request.args
        train_config = self.train_config(args)
        if train_config.objective != "elbo":
            raise VaekitError(
                "a story trains with the ELBO (its discrete latents summed out): --objective elbo"
            )
        story = load_story(args.model)
        arity = story_arity(story)
        settings = self.data_settings(args)
        train, test = story_data(settings)
        if settings["dataset"] == "csv" and arity > 1 and arity == train[0].shape[1]:
            settings["arguments"] = "columns"  # one argument per column, in the table's order
            train, test = story_data(settings)
        if arity != len(train):
            given = (
                "a table"
                if settings["dataset"] == "csv"
                else "images" + (" and labels" if len(train) > 1 else "")
            )
            raise VaekitError(
                f"--model {args.model}: the story takes {arity} data argument(s) and the data give "
                f"{len(train)} ({given}); an image story with a label takes (x, y) and needs --labels N"
            )
        examples, dtypes = example_of(train, EXAMPLE_ROWS)
        config = StoryVAEConfig(
            story=f"{Path(args.model.rpartition(':')[0]).resolve()}:{args.model.rpartition(':')[2]}",
            examples=examples,
            dtypes=dtypes,
            data_hidden=args.data_hidden,
            latent_hidden=args.latent_hidden,
        )
        StoryVAE(config)  # the story read, its guide built: errors before anything is written
        print(
            f"story {config.story}: {len(train[0])} training and {len(test[0])} test examples",
            file=sys.stderr,
        )
        request.begin()

        def fit_model(model: VAE, run_path: Path) -> Any:
            train_index, val_index = split_train_val(
                len(train[0]), train_config.val_fraction, train_config.seed
            )
            return fit(
                model,
                tuple(t[train_index] for t in train),
                tuple(t[val_index] for t in train),
                train_config,
                run_dir=run_path,
                resume=request.resume,
                objective=model.training_objective(  # type: ignore[operator]
                    train_config.num_particles, classifier_weight=args.classifier_weight
                ),
            )

        run = train_run(
            StoryVAE,
            config,
            train_config,
            request.run_dir,
            data=settings,
            fit_model=fit_model,
            resume=request.resume,
        )
        if run is None:
            return None
        self.evaluate(run, iw_samples=args.iw_samples, iw_examples=None, progress=request.progress, data=test)
        self.write_figures(run)
        return run

    def config_shape(self, config: Mapping[str, Any]) -> dict[str, type | tuple[type, ...]]:
        return {"model_config.story": str, "data.dataset": str}

    def evaluate(
        self, run: Run, *, iw_samples: int, iw_examples: int | None, progress: bool, data: Any = None
    ) -> dict[str, Any]:
        from vaekit.evaluation import estimate_log_likelihood

        test = data if data is not None else story_data(run.config["data"])[1]
        if len(test[0]) == 0:
            raise VaekitError(f"{run.path}: its data have no test examples to evaluate on")
        model: StoryVAE = run.model  # type: ignore[assignment]
        torch.manual_seed(run.config["train_config"]["seed"])
        limit = len(test[0]) if iw_examples is None else min(iw_examples, len(test[0]))
        with progress_bar(limit, f"IWAE, K={iw_samples}", progress) as bar:
            try:
                estimate = estimate_log_likelihood(
                    model, tuple(t[:limit] for t in test), num_samples=iw_samples, progress=bar
                )
            except (ValueError, RuntimeError, IndexError) as error:
                raise VaekitError(
                    "the story does not run with importance samples stacked in front of its batch: "
                    "write it for any leading dimensions (h[..., 0], not h[:, 0]; x.shape[-1], not "
                    f"x.shape[1]); Pyro said: {' '.join(str(error).split())[:300]}"
                ) from None
        run.metrics.update(
            {
                # Both from the same K draws per example: the ELBO their mean log-weight.
                "test_elbo": round(float(estimate.elbo.mean()), 4),
                "test_log_likelihood": round(float(estimate.log_likelihood.mean()), 4),
                "iw_samples": iw_samples,
                "iw_examples": limit,
            }
        )
        if model.partial_sites:
            with torch.no_grad():
                for name, (q, values, given) in model.classifiers(*test).items():
                    right = (q.mode == values) & given
                    accuracy = float(right.sum()) / max(int(given.sum()), 1)
                    run.metrics[f"test_accuracy_{name.removesuffix('_unobserved')}"] = round(accuracy, 4)
        atomic_write_json(run.path / "metrics.json", run.metrics)
        return run.metrics

    def write_figures(self, run: Run, *, data: Any = None) -> dict[str, Path]:
        import pandas as pd

        from vaekit import plots

        log_path = run.path / "log.csv"
        if not log_path.is_file():
            return {}
        figure = plots.training_curves(pd.read_csv(log_path), title="ELBO per epoch")
        return {"training_curves": plots.save_figure(figure, run.figures / "training_curves.png")}

    def example_arguments(self, model: VAE) -> list[tuple[Any, ...]]:
        config: StoryVAEConfig = model.config  # type: ignore[assignment]
        return [tuple(t.to(model.device) for t in config.example_arguments())]
