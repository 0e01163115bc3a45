"""Training the semi-supervised VAE on partly labelled digits, and its errors."""

from __future__ import annotations

import json
import math

import pytest
import torch

from vaekit import (
    SemiSupervisedVAE,
    SemiSupervisedVAEConfig,
    TrainConfig,
    VaekitError,
    fit_semi_supervised,
    load_image_dataset,
    load_run,
    sample_images,
    train_ssvae,
)
from vaekit.runs import choose_labelled


@pytest.fixture(scope="module")
def digits():
    return load_image_dataset("digits")


def _config(digits, **kwargs) -> SemiSupervisedVAEConfig:
    return SemiSupervisedVAEConfig(digits.image_shape, num_classes=10, z_dim=8, hidden=(128,), **kwargs)


def test_choose_labelled_is_balanced_and_seeded():
    labels = torch.arange(10).repeat(50)
    chosen = choose_labelled(labels, 35, 10, seed=4)
    counts = torch.bincount(labels[chosen], minlength=10)
    assert len(chosen) == 35 and counts.max() - counts.min() <= 1
    assert torch.equal(chosen, choose_labelled(labels, 35, 10, seed=4))
    assert not torch.equal(chosen, choose_labelled(labels, 35, 10, seed=5))


@pytest.fixture(scope="module")
def ten_percent_run(digits, tmp_path_factory):
    return train_ssvae(
        digits,
        _config(digits),
        TrainConfig(epochs=25, batch_size=100, progress_bar=False),
        tmp_path_factory.mktemp("ss") / "run",
        num_labels=130,
        iw_samples=20,
        progress=False,
    )


def test_accuracy_with_a_tenth_of_the_labels_is_far_above_chance(ten_percent_run):
    # Chance is 0.1; with the fixed seed this run reaches about 0.8 (a broken classifier or a
    # model that ignores the labels stays near 0.1-0.3).
    assert ten_percent_run.metrics["test_accuracy"] > 0.6
    assert ten_percent_run.metrics["labels"] == 130


def test_run_records_accuracy_per_epoch_and_figures(ten_percent_run):
    metrics = json.loads((ten_percent_run.path / "metrics.json").read_text())
    assert len(metrics["accuracy_history"]) == metrics["epochs"] == 25
    assert metrics["accuracy_history"][-1] > metrics["accuracy_history"][0]
    assert "test_accuracy" in (ten_percent_run.path / "log.csv").read_text().splitlines()[0]
    for figure in ("conditional_samples", "confusion_matrix", "accuracy", "training_curves", "samples"):
        assert (ten_percent_run.path / "figures" / f"{figure}.png").is_file(), figure
    matrix = torch.tensor(metrics["confusion_matrix"])
    assert matrix.sum() == 360
    assert math.isclose(float(matrix.diag().sum()) / 360, metrics["test_accuracy"], abs_tol=1e-3)


def test_conditional_samples_and_reload(ten_percent_run):
    run = load_run(ten_percent_run.path)
    assert isinstance(run.model, SemiSupervisedVAE)
    images = sample_images(run, 6, label=3)
    assert images.shape == (6, 1, 8, 8) and images.min() >= 0 and images.max() <= 1
    with pytest.raises(VaekitError, match="--label must be a class"):
        sample_images(run, 2, label=10)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (torch.full((20,), 10), "outside the classes"),
        (torch.zeros(19, dtype=torch.long), "one entry per image"),
        (torch.full((20,), 1.5), "whole numbers"),
    ],
)
def test_bad_label_vectors_get_a_clear_error(digits, labels, message):
    model = SemiSupervisedVAE(_config(digits))
    images = digits.train_images[:20]
    with pytest.raises(VaekitError, match=message):
        fit_semi_supervised(
            model, images, labels, images, digits.train_labels[:20], TrainConfig(epochs=1, progress_bar=False)
        )


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_no_labels_and_all_labels_both_train(digits, fraction):
    images, labels = digits.train_images[:300], digits.train_labels[:300].clone().float()
    labels[int(300 * fraction) :] = float("nan")
    model = SemiSupervisedVAE(_config(digits))
    result, objective = fit_semi_supervised(
        model,
        images,
        labels,
        digits.test_images,
        digits.test_labels,
        TrainConfig(epochs=2, progress_bar=False),
    )
    assert objective.num_labelled == int(300 * fraction)
    assert len(result.history) == 2


def test_unsupervised_run_reports_clustering_accuracy(digits, tmp_path):
    run = train_ssvae(
        digits,
        _config(digits),
        TrainConfig(epochs=2, progress_bar=False),
        tmp_path / "run",
        num_labels=0,
        iw_samples=2,
        figures=False,
        progress=False,
    )
    assert run.metrics["accuracy_kind"].startswith("clustering accuracy")
    assert sorted(run.metrics["cluster_to_class"]) == list(range(10))


@pytest.mark.parametrize(
    ("num_labels", "message"),
    [(5000, "more than the 1293 training images"), (7, "fewer than the 10 classes")],
)
def test_a_label_budget_that_cannot_be_honoured_is_refused_before_writing(
    digits, tmp_path, num_labels, message
):
    with pytest.raises(VaekitError, match=message):
        train_ssvae(
            digits,
            _config(digits),
            TrainConfig(epochs=1, progress_bar=False),
            tmp_path / "run",
            num_labels=num_labels,
            progress=False,
        )
    assert not (tmp_path / "run").exists()


def test_a_class_without_labels_is_named_in_a_warning(digits):
    images, labels = digits.train_images[:200], digits.train_labels[:200].clone().float()
    labels[labels >= 8] = float("nan")  # classes 8 and 9 keep no label
    model = SemiSupervisedVAE(_config(digits))
    with pytest.warns(UserWarning, match=r"2 of 10 classes have no labelled example \(\[8, 9\]\)"):
        fit_semi_supervised(
            model,
            images,
            labels,
            images[:20],
            digits.train_labels[:20],
            TrainConfig(epochs=1, progress_bar=False),
        )


def test_the_run_records_both_forms_of_the_classification_weight(digits, tmp_path):
    run = train_ssvae(
        digits,
        _config(digits),
        TrainConfig(epochs=1, progress_bar=False),
        tmp_path / "run",
        num_labels=50,
        iw_samples=2,
        figures=False,
        progress=False,
    )
    # 46 per label would make alpha 2,300; the floor of 2.5 per training image makes it 3,232.5.
    config = json.loads((run.path / "config.json").read_text())
    assert config["alpha"] == pytest.approx(2.5 * 1293)
    assert config["classifier_weight"] == pytest.approx(2.5 * 1293 / 50)
    assert run.metrics["alpha"] == config["alpha"]


def test_the_accuracy_of_each_epoch_is_measured_without_dropout(digits):
    modes = []

    def record(model):
        modes.append(model.training)
        return {"mode_seen": float(model.training)}

    model = SemiSupervisedVAE(_config(digits, classifier_dropout=0.5))
    labels = torch.full((200,), float("nan"))
    labels[:50] = digits.train_labels[:50].float()
    fit_semi_supervised(
        model,
        digits.train_images[:200],
        labels,
        digits.train_images[200:240],
        digits.train_labels[200:240],
        TrainConfig(epochs=2, batch_size=50, progress_bar=False),
        epoch_metrics=record,
    )
    assert modes == [False, False]
    assert model.training  # and training mode is given back after each epoch's figures


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"classifier_dropout": 1.0}, r"in \[0, 1\)"),
        ({"classifier_dropout": 0.5, "encoder": "rnn"}, "mlp or cnn"),
    ],
)
def test_a_classifier_dropout_that_cannot_be_built_is_refused(digits, kwargs, message):
    with pytest.raises(ValueError, match=message):
        _config(digits, **kwargs)
