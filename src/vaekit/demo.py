"""``vaekit demo``: the flagship models on bundled data, with figures and a short report."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vaekit._io import atomic_write_text
from vaekit.data import load_image_dataset
from vaekit.data.tabular import SeedDataParameters
from vaekit.errors import GraphvizError
from vaekit.inference import TrainConfig
from vaekit.models import ImageVAEConfig, SemiSupervisedVAEConfig
from vaekit.runs import Run, train_image_vae, train_ssvae
from vaekit.runs.folder import mark_run_folder
from vaekit.runs.graph import write_model_graph
from vaekit.runs.tabular import default_train_config, train_tabular

#: Epochs of the demo's image VAE runs on the 1,437 training digits (about 40 s each on 2 cores).
DEMO_EPOCHS = 500
#: Epochs of the demo's semi-supervised run (about 40 s on 2 cores).
DEMO_SS_EPOCHS = 100
#: Rows and epochs of the demo's tabular run on the reference data, otherwise trained with the
#: defaults of `vaekit train tabular` (about a minute and a half on 2 cores).
DEMO_TABLE_ROWS = 5000
DEMO_TABLE_EPOCHS = 600
#: File (in each flagship run's figures/) of its plate diagram, and what the diagram shows.
DIAGRAM = "plate_diagram"
DIAGRAM_CAPTIONS = {
    "image-vae": "Plate diagram, drawn by Pyro from the model: inside the plate over the images, "
    "the latent code z (white) generates the observed pixels x (grey)",
    "ss-vae": "Plate diagram: the latent style z (white) and the label y generate the observed "
    "pixels x (grey); y is partially observed (half grey): given for the labelled digits, "
    "summed out for the others",
    "tabular-vae": "Plate diagram: the latent z (white) generates one site per family, x_gamma (column x1) "
    "and x_normal (columns x2, x3); each is observed where a cell is present and masked where it is "
    "missing (half grey)",
}


def run_demo(
    out_dir: Path, *, epochs: int | None = None, iw_samples: int = 1000, progress: bool = True
) -> Path:
    """Train the demo models under ``out_dir`` and write ``out_dir/report.md``; return its path.

    ``epochs`` overrides every model's epochs and ``iw_samples`` the importance samples of the
    test log-likelihoods (a quick check of the whole pipeline uses small values of both).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mark_run_folder(out_dir, "demo")
    ss_epochs = epochs or DEMO_SS_EPOCHS
    table_epochs = epochs or DEMO_TABLE_EPOCHS
    epochs = epochs or DEMO_EPOCHS
    digits = load_image_dataset("digits")
    runs: dict[str, Run] = {}
    for name, z_dim in (("image-vae", 20), ("image-vae-2d", 2)):
        runs[name] = train_image_vae(
            digits,
            ImageVAEConfig(image_shape=digits.image_shape, z_dim=z_dim, hidden=(400,)),
            TrainConfig(epochs=epochs, batch_size=128, lr=1e-3, seed=0, progress_bar=progress),
            out_dir / name,
            data_settings={"data": "digits", "data_dir": None},
            iw_samples=iw_samples,
            progress=progress,
        )
    train_size = round(len(digits.train_images) * (1 - TrainConfig().val_fraction))
    runs["ss-vae"] = train_ssvae(
        digits,
        SemiSupervisedVAEConfig(digits.image_shape, num_classes=digits.num_classes, z_dim=8, hidden=(256,)),
        TrainConfig(
            epochs=ss_epochs,
            batch_size=100,
            seed=0,
            progress_bar=progress,
        ),
        out_dir / "ss-vae",
        num_labels=round(train_size / 10),
        data_settings={"data": "digits", "data_dir": None},
        iw_samples=iw_samples,
        progress=progress,
    )
    runs["tabular-vae"] = train_tabular(
        {
            "dataset": "seed",
            "seed_parameters": asdict(SeedDataParameters()),
            "rows": DEMO_TABLE_ROWS,
            "split_seed": 0,
        },
        default_train_config(epochs=table_epochs, seed=0, progress_bar=progress),
        out_dir / "tabular-vae",
        iw_samples=iw_samples,
        progress=progress,
    )
    _draw_diagrams(runs)
    report = out_dir / "report.md"
    atomic_write_text(report, _report(runs, out_dir))
    return report


def _draw_diagrams(runs: dict[str, Run]) -> None:
    """Each flagship's plate diagram in its figures/; without Graphviz, one line says why there are none."""
    for name in DIAGRAM_CAPTIONS:
        (runs[name].figures / f"{DIAGRAM}.png").unlink(missing_ok=True)
    for name in DIAGRAM_CAPTIONS:
        try:
            write_model_graph(runs[name], runs[name].figures / f"{DIAGRAM}.png")
        except GraphvizError as error:
            print(f"vaekit: the report has no plate diagrams: {error}", file=sys.stderr)
            return


def _metrics_table(run: Run) -> str:
    rows = [
        ("test ELBO (nats per image)", run.metrics["test_elbo"]),
        (
            f"test log-likelihood, IWAE K={run.metrics['iw_samples']} on {run.metrics['iw_examples']} images",
            run.metrics["test_log_likelihood"],
        ),
        ("epochs (best)", f"{run.metrics['epochs']} ({run.metrics['best_epoch']})"),
        ("seconds per epoch", run.metrics["seconds_per_epoch"]),
        ("training examples per second", run.metrics["train_examples_per_second"]),
    ]
    return "\n".join(["| metric | value |", "|---|---|"] + [f"| {name} | {value} |" for name, value in rows])


def _ss_section(run: Run, figure: Any) -> str:
    m = run.metrics
    history = ", ".join(
        f"{a:.2f}" for a in m["accuracy_history"][:: max(1, len(m["accuracy_history"]) // 10)]
    )
    return "\n".join(
        [
            "## Semi-supervised VAE (Kingma et al. 2014, M2)\n",
            "The class label y is one more variable of the story: z ~ N(0, I), y ~ Categorical(uniform), "
            "x ~ Bernoulli(decoder(z, y)). It is observed for a tenth of the training digits "
            f"({m['labels']}, balanced over the classes) and summed out exactly, by enumeration, "
            "for the rest; "
            f"q(y | x) is the classifier; its log-likelihood weighs {m['classifier_weight']:g} per "
            f"labelled digit (alpha = {m['alpha']:.0f}). "
            f"Run folder: `{run.path.name}/`.\n",
            "| metric | value |\n|---|---|",
            f"| test accuracy of q(y \\| x) | {m['test_accuracy']:.3f} |",
            f"| test accuracy every few epochs | {history} |",
            f"| test ELBO (nats per image) | {m['test_elbo']} |",
            f"| seconds per epoch | {m['seconds_per_epoch']} |\n",
            figure(
                run, "conditional_samples", "p(x | z, y): one row per class, the same z along each column"
            ),
            figure(run, "confusion_matrix", "Confusion matrix of q(y | x) on the test digits"),
            figure(run, "accuracy", "Test and validation accuracy per epoch"),
        ]
    )


def _tabular_section(run: Run, figure: Any) -> str:
    m = run.metrics
    distances = ", ".join(
        f"{name} {next(iter(value.values())):.3f}" for name, value in m["synthetic_vs_test"].items() if value
    )
    return "\n".join(
        [
            "## Tabular VAE on the reference data\n",
            "Three observed variables with their own likelihoods, tied together by z: "
            "x1 ~ Gamma(2, scale 1), x2 ~ Normal(0, 1), x3 ~ Normal(x2, x1), whose exact density is known. "
            "The model has one Gamma site for x1 and one Normal site for x2 and x3 together, "
            f"a {run.model.config.z_dim}-dimensional z, and learns "
            f"from {m['train_examples']:,} training rows. Run folder: `{run.path.name}/`.\n",
            "| metric | value |\n|---|---|",
            f"| test log-likelihood, IWAE K={m['iw_samples']} (nats per row) | {m['test_log_likelihood']} |",
            f"| true test log-likelihood (nats per row) | {m['true_test_log_likelihood']} |",
            f"| gap (nats per row) | {m['gap']} ± {m['gap_standard_error']} |",
            f"| Kolmogorov-Smirnov distance, synthetic vs test rows | {distances} |",
            f"| largest correlation difference | {m['max_correlation_difference']} |\n",
            figure(run, "x3_against_x2", "x3 against x2 for held-out data and the model's synthetic rows"),
            figure(run, "marginals", "Each column's marginal: data beside the model"),
        ]
    )


def _report(runs: dict[str, Run], out_dir: Path) -> str:
    main, flat = runs["image-vae"], runs["image-vae-2d"]

    def figure(run: Run, name: str, caption: str) -> str:
        path = (run.figures / f"{name}.png").relative_to(out_dir)
        return f"![{caption}]({path.as_posix()})\n\n*{caption}*\n"

    def diagram(name: str) -> str:
        drawn = (runs[name].figures / f"{DIAGRAM}.png").is_file()
        return figure(runs[name], DIAGRAM, DIAGRAM_CAPTIONS[name]) if drawn else ""

    config = main.config["model_config"]
    sections = [
        "# vaekit demo\n",
        "Models trained on scikit-learn's bundled 8x8 handwritten digits "
        f"({main.metrics['train_examples']:,} training images after a tenth were held out for validation, "
        "and "
        f"{main.metrics['test_examples']:,} test images; intensities in [0, 1]) by `vaekit demo`.\n",
        "## Image VAE (Kingma & Welling 2013)\n",
        "z ~ N(0, I), pixels ~ Bernoulli(decoder(z)); MLP bodies with "
        f"{config['hidden']} hidden units, z of {config['z_dim']} dimensions. "
        f"Run folder: `{main.path.name}/`.\n",
        _metrics_table(main) + "\n",
        figure(main, "samples", "Samples from the prior (pixel probabilities)"),
        figure(main, "reconstructions", "Test digits (top) and their reconstructions (bottom)"),
        figure(main, "training_curves", "ELBO, reconstruction log-likelihood and KL per epoch"),
        diagram("image-vae"),
        "### The same model with a 2-D latent space\n",
        f"Run folder: `{flat.path.name}/`.\n",
        _metrics_table(flat) + "\n",
        figure(flat, "latent_manifold", "Digits decoded over a grid of the 2-D latent space"),
        figure(flat, "latent_means", "Posterior means of the test digits, coloured by class"),
        _ss_section(runs["ss-vae"], figure),
        diagram("ss-vae"),
        _tabular_section(runs["tabular-vae"], figure),
        diagram("tabular-vae"),
        "## Metrics as JSON\n",
        "```json\n" + json.dumps({name: run.metrics for name, run in runs.items()}, indent=2) + "\n```\n",
    ]
    return "\n".join(sections)
