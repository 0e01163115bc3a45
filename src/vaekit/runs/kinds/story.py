"""A story a user writes, with the guide vaekit builds for it, as a model kind
(``vaekit train model --model FILE.py:NAME``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from vaekit._io import atomic_write_json
from vaekit.auto.heads import SupportHead
from vaekit.auto.story import argument_value
from vaekit.auto.story_file import (
    StoryVAE,
    StoryVAEConfig,
    example_of,
    load_story,
    split_story_reference,
    story_arity,
    story_file_hash,
)
from vaekit.errors import VaekitError
from vaekit.inference.config import DEFAULT_CLASSIFIER_WEIGHT
from vaekit.models import VAE
from vaekit.runs.kinds.flags import (
    add_training_flags,
    check_input_file,
    layer_widths,
    non_negative_float,
    non_negative_int,
    optional_layer_widths,
    positive_int,
)
from vaekit.runs.registry import ModelKind, SampleRequest, TrainRequest
from vaekit.runs.store import Run, progress_bar, split_train_val

if TYPE_CHECKING:
    import pandas as pd

#: Rows of the training data the config keeps, to read the story on when the model is rebuilt.
EXAMPLE_ROWS = 2
#: Test rows the classifier of a partially observed site is scored on (all of Fashion-MNIST's 10,000).
CLASSIFIER_ROWS = 100_000
#: Rows ``vaekit sample`` draws from a table story at most (about 2 GB for a few columns).
MAX_SAMPLE_ROWS = 1_000_000
#: Examples drawn or encoded at a time, so that memory stays bounded whatever the number asked.
SAMPLE_CHUNK_ROWS = 10_000


def _posterior_columns(model: StoryVAE, posterior: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The columns :meth:`StoryKind.encode` writes, from :meth:`~vaekit.auto.AutoVAE.posterior`."""
    columns: dict[str, np.ndarray] = {}
    for latent in (*model.story.summed, *model.story.latents):
        fn = posterior[latent.name]
        name = latent.name.removesuffix("_unobserved")
        if latent.is_discrete:
            logits = fn.logits
            probs = torch.sigmoid(logits)[..., None] if latent.kind == "bernoulli" else logits.softmax(-1)
            if latent.kind == "bernoulli":
                probs = torch.cat([1 - probs, probs], -1)
            array = probs.double().cpu().numpy()
            for value in range(array.shape[1]):
                columns[f"{name}_p_{value}"] = array[:, value]
            columns[name] = array.argmax(1)
            continue
        base = fn.base_dist if hasattr(fn, "transforms") else fn
        loc, scale = _flat_columns(base.mean), _flat_columns(base.stddev)
        for k in range(loc.shape[1]):
            columns[f"{name}_loc_{k + 1}"] = loc[:, k]
        for k in range(scale.shape[1]):
            columns[f"{name}_scale_{k + 1}"] = scale[:, k]
        if hasattr(fn, "transforms"):
            values = _flat_columns(SupportHead.centre(fn))
            for k in range(values.shape[1]):
                columns[f"{name}_{k + 1}"] = values[:, k]
    return columns


def story_data(settings: Mapping[str, Any]) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """The training and test arguments of the story, from the data settings ``config.json`` stores.

    A CSV table is one argument, ``(rows, columns)`` 32-bit floats (missing cells NaN), or with
    ``"arguments": "columns"`` one argument ``(rows,)`` per column, a seeded tenth of its rows held
    out; an image set is its images ``(N, C, H, W)``, and with ``labels`` set a second argument of
    class indices, -1 where the label is hidden: ``labels`` of them given, balanced over the classes,
    all among the rows that :func:`~vaekit.runs.store.split_train_val` keeps for training (the
    validation rows give none, so that the kept weights are chosen without labels beyond the
    budget), the test images keeping all of theirs.
    """
    if settings["dataset"] == "csv":
        from vaekit.data.table_files import read_table
        from vaekit.runs.training_run import file_sha256

        recorded = settings.get("sha256")
        if recorded is not None and file_sha256(settings["csv"]) != recorded:
            raise VaekitError(
                f"{settings['csv']} has changed since the run was trained: its test rows can no longer be "
                "told apart from its training rows; restore it, or train a new run"
            )
        return _split_table(table_numbers(read_table(settings["csv"])), settings)
    from vaekit.runs.images import ImageSource
    from vaekit.runs.ss_vae import MISSING_LABEL, check_label_budget, choose_labelled

    dataset = ImageSource.from_settings(settings["images"]).load()
    labels = settings.get("labels")
    if labels is None:
        return (dataset.train_images,), (dataset.test_images,)
    # The rows fit() will train on: the labels are chosen among them, never among the validation rows.
    fit_index, _ = split_train_val(
        len(dataset.train_labels), settings.get("val_fraction", 0.1), settings["split_seed"]
    )
    check_label_budget(labels, len(fit_index), dataset.num_classes)
    chosen = fit_index[
        choose_labelled(dataset.train_labels[fit_index], labels, dataset.num_classes, settings["split_seed"])
    ]
    train_labels = torch.full_like(dataset.train_labels.long(), MISSING_LABEL)
    train_labels[chosen] = dataset.train_labels[chosen].long()
    return (dataset.train_images, train_labels), (dataset.test_images, dataset.test_labels.long())


def table_numbers(table: pd.DataFrame) -> torch.Tensor:
    """A table of numbers as one ``(rows, columns)`` tensor of 32-bit floats, missing cells NaN; a
    cell that is not a number is an error naming its column and row."""
    import pandas as pd

    numbers = []
    for name in table.columns:
        converted = pd.to_numeric(table[name], errors="coerce")
        bad = converted.isna() & table[name].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise VaekitError(
                f"column {name!r} holds {table[name].iloc[row]!r} at row {row + 1}: a story reads a "
                "table of numbers (one tensor); encode this column as numbers, or drop it"
            )
        numbers.append(converted.to_numpy(dtype=np.float32))
    if not numbers:
        raise VaekitError("the table has no columns")
    return torch.from_numpy(np.stack(numbers, axis=1))


def _split_table(
    values: torch.Tensor, settings: Mapping[str, Any]
) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """A table's values as the story's training and test arguments (a seeded tenth held out)."""
    from vaekit.runs.training_run import held_out_split

    train_index, test_index = held_out_split(len(values), settings["split_seed"])
    return _as_arguments(values[train_index], settings), _as_arguments(values[test_index], settings)


def _as_arguments(values: torch.Tensor, settings: Mapping[str, Any]) -> tuple[torch.Tensor, ...]:
    """A table's values as the story's arguments: one ``(rows, columns)`` tensor, or one per column."""
    if settings.get("arguments") == "columns":
        return tuple(values.unbind(1))
    return (values,)


def table_arguments(
    settings: Mapping[str, Any], table: pd.DataFrame, model: StoryVAE
) -> tuple[torch.Tensor, ...]:
    """The story's arguments for a new table (``score``, ``encode``): the training table's columns,
    found by name and put in the training order; extra columns are ignored. A run trained before
    vaekit recorded the columns' names takes the table's columns in order, as many as it was
    trained on."""
    columns = settings.get("columns")
    if columns is not None:
        names = [str(name) for name in table.columns]
        missing = [name for name in columns if name not in names]
        if missing:
            raise VaekitError(
                f"the table lacks the column(s) {', '.join(map(repr, missing[:5]))} the story was "
                f"trained on (it was trained on {', '.join(map(repr, columns[:10]))})"
            )
        table = table.set_axis(names, axis=1)[list(columns)]
    else:
        examples = model.config.examples
        expected = len(examples) if settings.get("arguments") == "columns" else len(examples[0][0])
        if table.shape[1] != expected:
            raise VaekitError(f"the table has {table.shape[1]} columns; the story was trained on {expected}")
    arguments = _as_arguments(table_numbers(table), settings)
    check_no_missing_inputs(model, arguments, [str(name) for name in table.columns])
    return arguments


def check_no_missing_inputs(
    model: StoryVAE, arguments: tuple[torch.Tensor, ...], columns: Sequence[str]
) -> None:
    """Refuse a missing cell in a column the guide reads: its networks cannot read NaN yet (a
    partially observed site's column, whose missing cells the story sums out, may have them)."""
    for ref in model.data_arguments:
        values = argument_value(ref, arguments, {})
        flat = values.reshape(len(values), -1)
        missing = ~torch.isfinite(flat)
        if bool(missing.any()):
            row, position = (int(i) for i in torch.nonzero(missing)[0])
            index = ref if len(arguments) > 1 else position
            name = columns[index] if isinstance(index, int) and index < len(columns) else str(ref)
            what = (
                "a missing cell"
                if bool(torch.isnan(flat[row, position]))
                else f"{float(flat[row, position])}"
            )
            raise VaekitError(
                f"column {name!r} has {what} at row {row + 1}: the automatic guide reads this column and "
                "cannot read missing or infinite cells (nor numbers beyond 32-bit floats); fill them or "
                "drop those rows"
            )


def _flat_columns(values: torch.Tensor, dtype: torch.dtype = torch.float64) -> np.ndarray:
    """``(rows, ...)`` -> a ``(rows, k)`` array."""
    return values.reshape(values.shape[0], -1).to(dtype).cpu().numpy()


def classifier_accuracies(model: StoryVAE, data: tuple[torch.Tensor, ...]) -> dict[str, float]:
    """``test_accuracy_SITE`` per partially observed site: the share of the rows that give it whose
    value the guide's classifier q(site | x) puts first (none for a story without such a site)."""
    accuracies = {}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            rows = tuple(t[:CLASSIFIER_ROWS].to(model.device) for t in data)
            for name, (q, values, given) in (model.classifiers(*rows) if model.partial_sites else {}).items():
                if not bool(given.any()):
                    continue  # no test row gives it: no accuracy to report
                right = (q.mode == values) & given
                accuracies[f"test_accuracy_{name.removesuffix('_unobserved')}"] = float(right.sum()) / int(
                    given.sum()
                )
    finally:
        model.train(was_training)
    return accuracies


def _check_stacked_draws(model: StoryVAE, example: tuple[torch.Tensor, ...]) -> None:
    """Score the example rows with two importance draws stacked in front of the batch, as the
    run's evaluation will: a story written for one leading dimension fails here, before training."""
    from vaekit.evaluation import estimate_log_likelihood

    try:
        with torch.no_grad():
            estimate_log_likelihood(model, example, num_samples=2)
    except (ValueError, RuntimeError, IndexError) as error:
        raise VaekitError(
            "the story does not run with importance samples stacked in front of its batch: write it for "
            "any leading dimensions (h[..., 0], not h[:, 0]; x.shape[-1], not x.shape[1]); Pyro said: "
            f"{' '.join(str(error).split())[:300]}"
        ) from None


def _check_resumed_story(run_dir: Path, story_path: Path) -> None:
    """A resumed run must continue the story it started: the same file, holding the same code."""
    import json

    try:
        stored = json.loads((run_dir / "config.json").read_text())["model_config"]
    except (OSError, ValueError, KeyError, TypeError):
        return  # no readable config: the resume's own checks say what is wrong
    recorded = stored.get("story_sha256") if isinstance(stored, dict) else None
    if not isinstance(recorded, str):
        return  # a run from before the hash was recorded
    found = story_file_hash(story_path)
    if recorded != found:
        raise VaekitError(
            f"cannot resume {run_dir}: the story file {story_path} is not the one the run started with "
            f"(SHA-256 {recorded[:12]}..., now {found[:12]}...); restore it, or start a new run with --out"
        )


class StoryKind(ModelKind):
    """A generative story from a file, ``FILE.py:NAME``, with vaekit's automatic amortized guide."""

    command = "model"
    model_class = StoryVAE
    config_class = StoryVAEConfig
    help = "your own generative story (--model FILE.py:NAME), with the guide built from it"
    noun = "a run of a story"
    commands = frozenset({"evaluate", "graph", "sample", "score", "encode"})
    has_labels = True  # when the story has a partially observed label: checked per run
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
            "--image-encoder",
            choices=("cnn", "mlp"),
            default="cnn",
            help="body for images: cnn (default, where the shape allows) or mlp, as `train vae`'s default",
        )
        guide.add_argument(
            "--latent-hidden",
            type=optional_layer_widths,
            default=(200,),
            help="widths of each latent's own body (200); none: each head reads the data body directly",
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
            from vaekit.runs.training_run import file_sha256

            return {
                "dataset": "csv",
                "csv": str(Path(args.csv).resolve()),
                # A changed table would mix test rows into training ones and shift the columns.
                "sha256": file_sha256(args.csv),
                "split_seed": args.seed,
            }
        from vaekit.runs.images import ImageSource

        source = ImageSource.given(args.data, args.data_dir)
        return {
            "dataset": "images",
            "images": {"data": source.data, "data_dir": source.data_dir},
            "labels": args.labels,
            "split_seed": args.seed,
            # The labels are chosen among the rows this split keeps for training.
            "val_fraction": args.val_fraction,
        }

    def train(self, request: TrainRequest) -> Run | None:
        from vaekit.inference import ImportanceWeightedObjective, fit
        from vaekit.runs.training_run import train_run

        args = request.args
        train_config = self.train_config(args)
        if request.resume:  # before the story's code runs: a changed file is refused unread
            _check_resumed_story(request.run_dir, split_story_reference(args.model)[0])
        story = load_story(args.model)
        arity = story_arity(story)
        settings = self.data_settings(args)
        whole: torch.Tensor | None = None  # a table's values, read once here
        if settings["dataset"] == "csv":
            from vaekit.data.table_files import read_table

            table = read_table(settings["csv"])
            # The columns' names, to find them in the tables given to score and encode.
            settings["columns"] = [str(name) for name in table.columns]
            whole = table_numbers(table)
            if arity > 1 and arity == whole.shape[1]:
                settings["arguments"] = "columns"  # one argument per column, in the table's order
            train, test = _split_table(whole, settings)
        else:
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
        story_path, story_name = split_story_reference(args.model)
        config = StoryVAEConfig(
            story=f"{story_path}:{story_name}",
            story_sha256=story_file_hash(story_path),
            examples=examples,
            dtypes=dtypes,
            data_hidden=args.data_hidden,
            latent_hidden=args.latent_hidden,
            image_encoder=args.image_encoder,
        )
        built = StoryVAE(config)  # the story read, its guide built: errors before anything is written
        guided_discrete = [latent.name for latent in built.story.latents if latent.is_discrete]
        if train_config.objective == "iwae" and guided_discrete:
            raise VaekitError(
                f"--objective iwae: the guide enumerates {guided_discrete[0]!r}, which the importance-"
                "weighted bound would sample instead; train this story with --objective elbo (a site the "
                "story marks infer={'enumerate': 'parallel'} itself is summed out by both)"
            )
        if not built.story.latents:
            raise VaekitError(
                f"--model {args.model}: the story has no latent site for the guide to infer (a site it "
                "sums out itself needs none); add a latent, or fit the model by maximum likelihood elsewhere"
            )
        if len(test[0]) == 0:
            raise VaekitError(
                f"the data give {len(train[0])} examples, too few to hold out a test set; give more rows"
            )
        _check_stacked_draws(built, config.example_arguments())
        if whole is not None:  # the whole table, so that the message names its own rows
            check_no_missing_inputs(built, _as_arguments(whole, settings), settings["columns"])
        print(
            f"story {config.story}: {len(train[0])} training and {len(test[0])} test examples",
            file=sys.stderr,
        )
        request.begin()

        def fit_model(model: VAE, run_path: Path) -> Any:
            train_index, val_index = split_train_val(
                len(train[0]), train_config.val_fraction, train_config.seed
            )
            rows = tuple(t[train_index] for t in train)
            # With a label given for some rows only, every step takes a batch of labelled rows and
            # one of the others, each weighted by its share (as the semi-supervised flagship does):
            # random batches of all rows would hold few labels, and the classifier learn slowly.
            parts = model.split_by_label(*rows)  # type: ignore[operator]
            shares = None if parts is None else {k: len(v[0]) / len(train_index) for k, v in parts.items()}
            return fit(
                model,
                rows if parts is None else parts,
                tuple(t[val_index] for t in train),
                train_config,
                run_dir=run_path,
                resume=request.resume,
                objective=(
                    ImportanceWeightedObjective(train_config.num_particles)
                    if train_config.objective == "iwae"
                    else model.training_objective(  # type: ignore[operator]
                        train_config.num_particles, classifier_weight=args.classifier_weight, shares=shares
                    )
                ),
                # The classifier's test accuracy after every epoch, as the semi-supervised flagship
                # records it: the validation rows give no label, and this never steers training.
                epoch_metrics=(lambda m: classifier_accuracies(m, test)) if model.partial_sites else None,  # type: ignore[attr-defined]
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
        run.metrics.update(
            {name: round(value, 4) for name, value in classifier_accuracies(model, test).items()}
        )
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

    def input_files(self, config: Mapping[str, Any]) -> list[str]:
        files = super().input_files(config)
        model_config = config.get("model_config")
        story = model_config.get("story") if isinstance(model_config, dict) else None
        if isinstance(story, str) and ":" in story:
            files.append(story.rpartition(":")[0])  # the user's code: never an output's name
        return files

    def sample_suffix_of(self, run: Run) -> str:
        return ".png" if run.config["data"]["dataset"] == "images" else ".csv"

    def write_samples(self, run: Run, out: Path, request: SampleRequest) -> Path:
        import pandas as pd

        from vaekit import plots
        from vaekit.runs.tabular import write_table

        model: StoryVAE = run.model  # type: ignore[assignment]
        images = run.config["data"]["dataset"] == "images"
        if images and request.num_samples > plots.MAX_GRID_IMAGES:
            raise VaekitError(
                f"--n {request.num_samples}: a picture grid shows at most {plots.MAX_GRID_IMAGES:,} images; "
                "draw fewer, or several grids with different --seed"
            )
        if not images and request.num_samples > MAX_SAMPLE_ROWS:
            raise VaekitError(
                f"--n {request.num_samples:,}: a story writes at most {MAX_SAMPLE_ROWS:,} rows at a time "
                "(they are held in memory before the CSV is written); draw several files with another --seed"
            )
        fixed = {}
        if request.label is not None:
            sites = model.partial_sites
            if not sites:
                raise VaekitError(
                    f"--label needs a story with a partially observed label; {model.config.story} has none"
                )
            site = sites[0]
            if not 0 <= request.label < site.num_categories:
                raise VaekitError(
                    f"--label {request.label}: the story's label {site.name.removesuffix('_unobserved')!r} "
                    f"takes the values 0 to {site.num_categories - 1}"
                )
            fixed[site.name.removesuffix("_unobserved")] = request.label
        example = model.config.example_arguments()
        chunks: list[dict[str, tuple[torch.Tensor, torch.Tensor | None]]] = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(request.seed)
            remaining = request.num_samples
            while remaining > 0:  # in chunks, so that one draw's networks see a bounded batch
                size = min(remaining, SAMPLE_CHUNK_ROWS)
                drawn = model.draw(size, example, partial_values=fixed)
                # A table keeps the draws only; an image grid shows the means.
                chunks.append(drawn if images else {k: (v[0], None) for k, v in drawn.items()})
                remaining -= size
        # What each drawn site observes: its argument of the story (images are argument 0).
        sites = [(site.name, site.argument) for site in model.story.observed]
        sites += [(p.name.removesuffix("_unobserved"), p.partial_argument) for p in model.partial_sites]
        if images:
            # The mean of each pixel's distribution reads better than a draw of it (as the flagships show).
            name = next((name for name, ref in sites if ref == 0), sites[0][0])
            pictures = torch.cat([c[name][1] if c[name][1] is not None else c[name][0] for c in chunks])
            pictures = pictures.reshape(len(pictures), *example[0].shape[1:]).clamp(0.0, 1.0)
            what = f"{request.num_samples} draws from the story"
            if request.label is not None:
                what += f" with label {request.label}"
            plots.save_figure(plots.image_grid(pictures.cpu().numpy(), title=what), out)
            return out
        columns = list(run.config["data"].get("columns") or [])
        arguments = run.config["data"].get("arguments")
        frame: dict[str, np.ndarray] = {}
        for name, ref in sites:
            # float32, the story's own precision: the CSV then spells 1.1364598, not 1.1364598274230957
            values = _flat_columns(torch.cat([c[name][0] for c in chunks]), torch.float32)
            if arguments == "columns" and isinstance(ref, int) and ref < len(columns):
                names = [columns[ref]] if values.shape[1] == 1 else []
            elif ref == 0 and values.shape[1] == len(columns):
                names = columns
            else:
                names = []
            names = names or [f"{name}_{k + 1}" for k in range(values.shape[1])]
            for k, column in enumerate(names):
                # Two sites observing one argument: the second keeps its own name.
                frame[column if column not in frame else f"{name}_{k + 1}"] = values[:, k]
        order = [name for name in columns if name in frame] + [name for name in frame if name not in columns]
        write_table(pd.DataFrame({name: frame[name] for name in order}), out)
        return out

    def _table_only(self, run: Run, command: str) -> None:
        if run.config["data"]["dataset"] != "csv":
            raise VaekitError(
                f"vaekit {command} reads a table (--csv); this story was trained on images, so "
                "evaluate it with vaekit evaluate"
            )

    def score(self, run: Run, table: pd.DataFrame, *, iw_samples: int, progress: bool) -> pd.DataFrame:
        import pandas as pd

        from vaekit.evaluation import estimate_log_likelihood

        self._table_only(run, "score")
        arguments = table_arguments(run.config["data"], table, run.model)  # type: ignore[arg-type]
        # Seeded as evaluate is: the same table scores the same, whatever order its columns have.
        bar_title = f"IWAE, K={iw_samples}"
        with torch.random.fork_rng(devices=[]), progress_bar(len(table), bar_title, progress) as bar:
            torch.manual_seed(run.config["train_config"]["seed"])
            try:
                estimate = estimate_log_likelihood(run.model, arguments, num_samples=iw_samples, progress=bar)
            except (ValueError, RuntimeError, IndexError) as error:
                raise VaekitError(
                    "the story cannot score these rows (a value outside a site's support, or a story that "
                    f"does not run with draws stacked in front of its batch); Pyro said: "
                    f"{' '.join(str(error).split())[:300]}"
                ) from None
        return pd.DataFrame(
            {"row": range(1, len(table) + 1), "log_likelihood": estimate.log_likelihood.double().numpy()}
        )

    def encode(self, run: Run, table: pd.DataFrame) -> pd.DataFrame:
        """Per row and latent site: a discrete site's probabilities (``c_p_0`` ...) and most
        probable value (``c``); a continuous site's Normal in unconstrained space (``z_loc_1`` ...,
        ``z_scale_1`` ...) and, where the support is not the real line, that Normal's centre mapped
        into the support (``theta_1`` ...), all given the most probable discrete values."""
        import pandas as pd

        self._table_only(run, "encode")
        model: StoryVAE = run.model  # type: ignore[assignment]
        arguments = table_arguments(run.config["data"], table, model)
        parts: dict[str, list[np.ndarray]] = {}
        model.eval()
        for start in range(0, len(table), SAMPLE_CHUNK_ROWS):
            rows = tuple(a[start : start + SAMPLE_CHUNK_ROWS].to(model.device) for a in arguments)
            for name, columns in _posterior_columns(model, model.posterior(*rows)).items():
                parts.setdefault(name, []).append(columns)
        frame = {"row": np.arange(1, len(table) + 1)}
        frame.update({name: np.concatenate(chunks) for name, chunks in parts.items()})
        return pd.DataFrame(frame)

    def example_arguments(self, model: VAE) -> list[tuple[Any, ...]]:
        config: StoryVAEConfig = model.config  # type: ignore[assignment]
        return [tuple(t.to(model.device) for t in config.example_arguments())]
