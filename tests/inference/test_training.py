"""The Lightning training loop: the ELBO improves, best weights are kept, runs repeat exactly."""

from __future__ import annotations

import csv

import pytest
import torch

from vaekit import ImageVAE, ImageVAEConfig, TrainConfig, fit, load_image_dataset
from vaekit.inference.training import batch_loader


@pytest.fixture(scope="module")
def digits():
    data = load_image_dataset("digits")
    return data.train_images[:1000], data.train_images[1000:]


def _model(seed: int = 0) -> ImageVAE:
    torch.manual_seed(seed)
    return ImageVAE(ImageVAEConfig((1, 8, 8), z_dim=8, hidden=(64,)))


def _params(model: ImageVAE) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_elbo_improves_on_digits_within_a_few_epochs(digits):
    train, val = digits
    result = fit(_model(), (train,), (val,), TrainConfig(epochs=6, batch_size=64, progress_bar=False))
    val_elbos = [row["val_elbo"] for row in result.history]
    train_elbos = [row["train_elbo"] for row in result.history]
    assert len(result.history) == 6
    # A real improvement, not noise: the untrained model scores about -44 nats on these 64 pixels.
    assert val_elbos[-1] > val_elbos[0] + 3
    assert sum(train_elbos[3:]) / 3 > sum(train_elbos[:3]) / 3


def test_history_holds_every_term_and_the_log_file_matches(digits, tmp_path):
    train, val = digits
    result = fit(_model(), (train,), (val,), TrainConfig(epochs=2, progress_bar=False), run_dir=tmp_path)
    expected = {"epoch", "seconds"} | {
        f"{stage}_{term}" for stage in ("train", "val") for term in ("elbo", "log_likelihood_x", "kl_z")
    }
    assert set(result.history[0]) == expected
    with open(tmp_path / "log.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(float(row["epoch"])) for row in rows] == [1, 2]
    assert float(rows[1]["val_elbo"]) == pytest.approx(result.history[1]["val_elbo"])
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert (tmp_path / "checkpoints" / "best.ckpt").is_file()


def test_best_weights_are_the_ones_kept(digits):
    train, val = digits
    # A learning rate this high makes the validation ELBO jump around, so the last epoch is rarely best.
    model = _model()
    result = fit(model, (train,), (val,), TrainConfig(epochs=6, lr=0.05, progress_bar=False))
    best = max(result.history, key=lambda row: row["val_elbo"])
    assert result.best_epoch == best["epoch"]
    refit = fit(model, (train,), (val,), TrainConfig(epochs=1, lr=1e-12, progress_bar=False))
    # One more epoch at a negligible learning rate re-measures the kept weights on the validation set.
    assert refit.history[0]["val_elbo"] == pytest.approx(best["val_elbo"], abs=0.5)


def test_seeded_runs_repeat_exactly_on_the_cpu(digits):
    train, val = digits
    config = TrainConfig(epochs=2, seed=3, progress_bar=False)
    first, second = _model(1), _model(1)
    fit(first, (train,), (val,), config)
    fit(second, (train,), (val,), config)
    assert all(torch.equal(a, b) for a, b in zip(_params(first), _params(second), strict=True))


def test_early_stopping_stops_before_the_last_epoch(digits):
    train, val = digits
    config = TrainConfig(epochs=40, lr=0.2, early_stopping=1, progress_bar=False)
    result = fit(_model(), (train,), (val,), config)
    assert len(result.history) < 40


def test_a_non_finite_loss_stops_with_the_epoch_and_step(digits):
    train, val = digits
    model = _model()
    steps = {"n": 0}

    def poison(batch):
        steps["n"] += 1
        return (batch[0] * float("nan"),) if steps["n"] == 3 else batch

    before = _params(model)
    with pytest.raises(FloatingPointError, match=r"epoch 1, step 2"):
        fit(model, (train,), (val,), TrainConfig(epochs=1, progress_bar=False), batch_transform=poison)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, _params(model), strict=True))


def test_batch_loader_covers_every_row_once_per_epoch():
    rows = torch.arange(10).float().unsqueeze(1)
    loader = batch_loader((rows,), 4, shuffle=True, generator=torch.Generator().manual_seed(0))
    batches = [batch[0] for batch in loader]
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(torch.cat(batches).squeeze(1).tolist()) == list(range(10))
    in_order = [batch[0] for batch in batch_loader((rows,), 4, shuffle=False)]
    assert torch.equal(torch.cat(in_order), rows)


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"batch_size": 0}, {"lr": 0.0}, {"val_fraction": 1.0}])
def test_bad_training_settings_are_refused(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)
