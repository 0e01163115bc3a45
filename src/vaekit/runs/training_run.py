"""One training run, whatever the model: the steps every kind of run shares, written once.

A run makes its folder, writes (or, when resuming, checks) ``config.json``, seeds, builds the model,
fits it, and on the global rank 0 keeps the weights in ``model.pt`` and the training figures in
``metrics.json``. What differs between kinds (the data, how the model is fitted, the extra
settings and metrics) comes in as arguments; evaluation and figures follow in each kind's run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from vaekit._io import atomic_write_json
from vaekit._version import __version__
from vaekit.inference import FitResult, TrainConfig
from vaekit.models import VAE
from vaekit.runs.store import Run, build_model, save_model, training_metrics, write_run_config

#: Share of a user's table (or of its sequences) held out, seeded, as the test set.
TEST_FRACTION = 0.1
#: Fewer examples than this have no test split: all are training examples.
MIN_EXAMPLES_FOR_TEST_SPLIT = 10


def held_out_split(num_examples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the training examples and of the test ones (a seeded tenth), each in order.

    A table's rows and a long table's sequences are split the same way; fewer than
    :data:`MIN_EXAMPLES_FOR_TEST_SPLIT` examples have no test split.
    """
    order = np.random.default_rng(seed).permutation(num_examples)
    test_count = (
        int(round(num_examples * TEST_FRACTION)) if num_examples >= MIN_EXAMPLES_FOR_TEST_SPLIT else 0
    )
    return np.sort(order[test_count:]), np.sort(order[:test_count])


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes: a run stores it to refuse a data file changed since training."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_config(
    model_class: type[VAE],
    model_config: Any,
    train_config: TrainConfig,
    data: Mapping[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """The content of ``config.json``: every setting, resolved, before the run starts."""
    return {
        "vaekit_version": __version__,
        "model": model_class.__name__,
        "model_config": asdict(model_config),
        "train_config": asdict(train_config),
        "data": dict(data),
        **extra,
    }


def train_run(
    model_class: type[VAE],
    model_config: Any,
    train_config: TrainConfig,
    run_dir: str | Path,
    *,
    data: Mapping[str, Any],
    fit_model: Callable[[VAE, Path], FitResult],
    resume: bool = False,
    extra_config: Mapping[str, Any] | None = None,
    check_result: Callable[[FitResult], None] | None = None,
    extra_metrics: Callable[[FitResult], Mapping[str, Any]] | None = None,
) -> Run | None:
    """Train one model and write its run folder, up to evaluation.

    Parameters
    ----------
    model_class, model_config:
        The model to build, after seeding with ``train_config.seed``.
    train_config:
        Training settings.
    run_dir:
        Folder to write (created if needed); with ``resume`` the run in it continues from its last
        checkpoint, once ``config.json`` is shown to hold the same settings.
    data:
        How to find the data again, stored under ``"data"`` in ``config.json``.
    fit_model:
        Fits the built model, given it and the run folder (:func:`vaekit.inference.fit`, with the
        kind's data and objective).
    extra_config:
        Settings of the kind beyond the model and training configs, stored at the top of
        ``config.json``; every one already resolved (no ``null`` filled in later).
    check_result:
        Raises when the fitted model is unusable (a diverged run), before anything is saved.
    extra_metrics:
        Figures of the fit the kind adds to ``metrics.json``.

    Returns the run (``metrics.json`` holds the training figures; the kind adds its test metrics),
    or ``None`` on the processes other than the global rank 0 of a distributed run: only rank 0
    writes the run folder.
    """
    import lightning as L

    run_path = Path(run_dir)
    run_path.mkdir(parents=True, exist_ok=True)
    config = run_config(model_class, model_config, train_config, data, **(extra_config or {}))
    write_run_config(run_path, config, resume=resume)

    L.seed_everything(train_config.seed, verbose=False)
    model = build_model(model_class, model_config)
    result = fit_model(model, run_path)
    if not result.is_global_zero:
        return None
    if check_result is not None:
        check_result(result)
    model = model.cpu().eval()
    save_model(model, run_path / "model.pt")
    run = Run(path=run_path, model=model, config=config)
    run.metrics = training_metrics(result, train_config)
    if extra_metrics is not None:
        run.metrics.update(extra_metrics(result))
    atomic_write_json(run_path / "metrics.json", run.metrics)
    return run
