"""The Lightning training loop: the ELBO improves, best weights are kept, runs repeat exactly."""

from __future__ import annotations

import csv

import pytest
import torch

from vaekit import ImageVAE, ImageVAEConfig, TermwiseELBO, TrainConfig, fit, load_image_dataset
from vaekit.errors import TrainingDivergedError, VaekitError
from vaekit.inference import ELBOObjective, StepResult
from vaekit.inference.lightning_module import DIVERGENCE_CHECK_STEPS
from vaekit.inference.optimizer import build_optimizer


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

    with pytest.raises(
        TrainingDivergedError, match=r"became nan at epoch 1, step 3; likely causes: a learning"
    ):
        fit(model, (train,), (val,), TrainConfig(epochs=1, progress_bar=False), batch_transform=poison)


def test_divergence_is_seen_within_the_check_interval_not_at_every_step(digits):
    """The flag is read every DIVERGENCE_CHECK_STEPS steps: a bad step 3 stops the run by step 25."""
    train, val = digits
    steps = {"n": 0}

    def poison(batch):
        steps["n"] += 1
        return (batch[0] * float("nan"),) if steps["n"] == 3 else batch

    config = TrainConfig(epochs=1, batch_size=4, progress_bar=False)
    assert len(train) // 4 > 2 * DIVERGENCE_CHECK_STEPS
    with pytest.raises(TrainingDivergedError, match="step 3;"):
        fit(_model(), (train,), (val,), config, batch_transform=poison)
    assert 3 < steps["n"] <= DIVERGENCE_CHECK_STEPS


@pytest.mark.parametrize(
    "bad",
    [{"epochs": 0}, {"batch_size": 0}, {"lr": 0.0}, {"val_fraction": 1.0}, {"weight_decay": -0.1}],
)
def test_bad_training_settings_are_refused(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def _crash_at_step(step: int):
    """A batch transform that fails like a killed process would, at the given training step."""
    seen = {"n": 0}

    def transform(batch):
        seen["n"] += 1
        if seen["n"] == step:
            raise RuntimeError("simulated crash")
        return batch

    return transform


def test_a_run_stopped_mid_epoch_resumes_to_the_same_weights(digits, tmp_path):
    train, val = digits
    # 1000 rows in batches of 128: 8 steps per epoch. Cosine: the schedule must resume too.
    config = TrainConfig(epochs=4, lr_schedule="cosine", seed=5, progress_bar=False)
    whole = _model(2)
    uninterrupted = fit(whole, (train,), (val,), config, run_dir=tmp_path / "whole")

    stopped = _model(2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(
            stopped,
            (train,),
            (val,),
            config,
            run_dir=tmp_path / "stopped",
            batch_transform=_crash_at_step(21),
        )
    assert torch.load(tmp_path / "stopped/checkpoints/last.ckpt", weights_only=True)["epoch"] == 1
    resumed_model = _model(99)  # other initial weights: everything must come from the checkpoint
    resumed = fit(resumed_model, (train,), (val,), config, run_dir=tmp_path / "stopped", resume=True)

    assert [row["epoch"] for row in resumed.history] == [1, 2, 3, 4]
    for before, after in zip(uninterrupted.history, resumed.history, strict=True):
        assert before["val_elbo"] == after["val_elbo"]
    assert all(torch.equal(a, b) for a, b in zip(_params(whole), _params(resumed_model), strict=True))
    last = [
        torch.load(tmp_path / run / "checkpoints/last.ckpt", weights_only=True)
        for run in ("whole", "stopped")
    ]
    assert last[0]["state_dict"].keys() == last[1]["state_dict"].keys()
    assert all(torch.equal(last[0]["state_dict"][k], last[1]["state_dict"][k]) for k in last[0]["state_dict"])
    with open(tmp_path / "stopped" / "log.csv") as stream:
        assert [int(float(row["epoch"])) for row in csv.DictReader(stream)] == [1, 2, 3, 4]


def test_resume_without_a_checkpoint_is_a_clear_error(digits, tmp_path):
    train, val = digits
    with pytest.raises(VaekitError, match="holds no checkpoint"):
        fit(
            _model(),
            (train,),
            (val,),
            TrainConfig(epochs=1, progress_bar=False),
            run_dir=tmp_path,
            resume=True,
        )


def test_divergence_keeps_the_last_good_checkpoint(digits, tmp_path):
    train, val = digits
    steps = {"n": 0}

    def poison_in_epoch_two(batch):
        steps["n"] += 1
        return (batch[0] * float("nan"),) if steps["n"] == 11 else batch

    config = TrainConfig(epochs=3, progress_bar=False)
    with pytest.raises(
        TrainingDivergedError, match=r"epoch 2, step 3.*last good checkpoint is kept: .*last.ckpt"
    ):
        fit(_model(), (train,), (val,), config, run_dir=tmp_path, batch_transform=poison_in_epoch_two)
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["epoch"] == 0 and checkpoint["vaekit"]["history"][0]["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values())
    resumed = fit(_model(), (train,), (val,), config, run_dir=tmp_path, resume=True)
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]


class _RunsCode:
    """Unpickling this object would call ``Path.touch`` on the marker: code run by loading a file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (type(self.marker).touch, (self.marker,))


def test_a_crafted_checkpoint_is_refused_before_it_runs_anything(digits, tmp_path):
    train, val = digits
    marker = tmp_path / "code-ran"
    (tmp_path / "checkpoints").mkdir()
    torch.save({"epoch": 0, "state_dict": _RunsCode(marker)}, tmp_path / "checkpoints" / "last.ckpt")
    with pytest.raises(VaekitError, match="crafted to run code.*refusing to unpickle it"):
        fit(
            _model(),
            (train,),
            (val,),
            TrainConfig(epochs=1, progress_bar=False),
            run_dir=tmp_path,
            resume=True,
        )
    assert not marker.exists()


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_a_resumed_run_takes_the_new_learning_rate_where_the_schedule_has_got_to(digits, tmp_path, schedule):
    train, val = digits
    config = TrainConfig(epochs=4, lr=1e-2, lr_schedule=schedule, progress_bar=False)
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(_model(), (train,), (val,), config, run_dir=tmp_path, batch_transform=_crash_at_step(21))
    stopped = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    lr_then = stopped["optimizer_states"][0]["param_groups"][0]["lr"]
    lower = TrainConfig(epochs=4, lr=1e-4, lr_schedule=schedule, progress_bar=False)
    fit(_model(), (train,), (val,), lower, run_dir=tmp_path, resume=True)
    resumed = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    lr_now = resumed["optimizer_states"][0]["param_groups"][0]["lr"]
    if schedule == "constant":
        assert lr_then == pytest.approx(1e-2) and lr_now == pytest.approx(1e-4)
    else:  # cosine over 4 epochs: after 2 epochs half the base, after 4 epochs zero
        assert lr_then == pytest.approx(0.5e-2) and lr_now == pytest.approx(0.0, abs=1e-12)
        assert resumed["lr_schedulers"][0]["base_lrs"] == [pytest.approx(1e-4)]


def test_every_process_needs_a_training_and_a_validation_row():
    from vaekit.inference.training import _check_rows_per_process

    _check_rows_per_process(1, (torch.zeros(1, 2),), (torch.zeros(1, 2),))
    _check_rows_per_process(2, (torch.zeros(2, 2),), (torch.zeros(2, 2),))
    with pytest.raises(VaekitError, match="validation set has 1 rows, fewer than the 2 processes"):
        _check_rows_per_process(2, (torch.zeros(8, 2),), (torch.zeros(1, 2),))
    with pytest.raises(VaekitError, match="training set has 3 rows, fewer than the 4 processes"):
        _check_rows_per_process(4, {"a": (torch.zeros(3, 2),)}, (torch.zeros(9, 2),))


def test_the_optimiser_is_fused_adam_and_adamw_decays_the_weights():
    weight = torch.nn.Parameter(torch.ones(3))
    plain = build_optimizer([weight], lr=0.1)
    assert type(plain) is torch.optim.Adam and plain.defaults["fused"]
    decayed = build_optimizer([weight], lr=0.1, weight_decay=0.5)
    assert type(decayed) is torch.optim.AdamW
    weight.grad = torch.zeros(3)  # no gradient: only the decay moves the weight
    decayed.step()
    assert torch.allclose(weight.detach(), torch.full((3,), 1 - 0.1 * 0.5))


def test_weight_decay_shrinks_the_trained_weights(digits):
    train, val = digits[0][:300], digits[1][:100]
    norms = {}
    for decay in (0.0, 1.0):
        model = _model()
        fit(model, (train,), (val,), TrainConfig(epochs=3, weight_decay=decay, progress_bar=False))
        norms[decay] = sum(float(p.detach().norm()) for p in model.parameters())
    assert norms[1.0] < norms[0.0]


def test_validation_draws_the_same_z_every_epoch(digits):
    # With weights that barely move, two epochs' validation ELBOs can differ only by their draws.
    config = TrainConfig(epochs=3, lr=1e-12, progress_bar=False)
    history = fit(_model(), (digits[0][:200],), (digits[1][:100],), config).history
    val = [row["val_elbo"] for row in history]
    assert val[0] == pytest.approx(val[1], abs=1e-4) and val[1] == pytest.approx(val[2], abs=1e-4)
    # ... while fresh draws of z on the same weights give another estimate.
    model = _model()
    elbo = TermwiseELBO()
    with torch.no_grad():
        fresh = [-float(elbo(model.model, model.guide, digits[1][:100]).loss) for _ in range(2)]
    assert abs(fresh[0] - fresh[1]) > 1e-3


def test_last_checkpoint_is_written_after_every_epoch_even_without_a_better_one(digits, tmp_path):
    # Weights that barely move and the same validation draws: no epoch after the first is better.
    config = TrainConfig(epochs=3, lr=1e-12, progress_bar=False)
    result = fit(_model(), (digits[0][:200],), (digits[1][:100],), config, run_dir=tmp_path)
    assert result.best_epoch == 1
    checkpoints = tmp_path / "checkpoints"
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["epoch"] == 2
    assert torch.load(checkpoints / "best.ckpt", weights_only=True)["epoch"] == 0
    assert sorted(path.name for path in checkpoints.iterdir()) == ["best.ckpt", "last.ckpt"]


class _WorseEveryValidation(ELBOObjective):
    """Trains on the ELBO; its validation term only falls, so the first epoch is the best."""

    def __init__(self) -> None:
        super().__init__(TermwiseELBO())
        self.validations = 0

    def validation(self, vae, batch):
        self.validations += 1
        return StepResult(torch.tensor(0.0), {"elbo": torch.tensor(-float(self.validations))}, 1)


@pytest.mark.parametrize("keep", ["best", "last"])
def test_keep_chooses_the_best_or_the_last_epochs_weights(digits, tmp_path, keep):
    train, val = digits[0][:300], digits[1][:100]  # one validation batch per epoch
    config = TrainConfig(epochs=3, keep=keep, progress_bar=False)
    model = _model()
    result = fit(model, (train,), (val,), config, objective=_WorseEveryValidation(), run_dir=tmp_path)
    assert result.best_epoch == 1 and result.kept_epoch == (1 if keep == "best" else 3)
    saved = torch.load(tmp_path / f"checkpoints/{keep}.ckpt", weights_only=True)["state_dict"]
    other = torch.load(
        tmp_path / "checkpoints/{}.ckpt".format({"best": "last", "last": "best"}[keep]), weights_only=True
    )["state_dict"]
    assert all(torch.equal(p, saved[f"vae.{name}"]) for name, p in model.state_dict().items())
    assert not all(torch.equal(p, other[f"vae.{name}"]) for name, p in model.state_dict().items())


def test_keep_must_be_best_or_last():
    with pytest.raises(ValueError, match="keep must be 'best' or 'last'"):
        TrainConfig(keep="middle")


def test_validation_leaves_the_training_draws_untouched(digits):
    # Validation sets of different sizes draw different numbers of z; training must not notice.
    train = digits[0][:300]
    results = []
    for val in (digits[1][:50], digits[1][:150]):
        model = _model()
        history = fit(model, (train,), (val,), TrainConfig(epochs=3, progress_bar=False)).history
        results.append(([row["train_elbo"] for row in history], _params(model)))
    assert results[0][0] == results[1][0]
    assert all(torch.equal(a, b) for a, b in zip(results[0][1], results[1][1], strict=True))


_SYNCHRONISING = ("item", "__bool__", "__float__", "__int__", "__index__", "tolist", "cpu", "numpy")


def _host_reads_during_fit(monkeypatch, steps: int) -> int:
    """Tensor methods that wait for the device, called while fitting one epoch of ``steps`` steps."""
    calls = {"n": 0}
    for name in _SYNCHRONISING:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, **kwargs):
            calls["n"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    images = torch.rand(8 * steps, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    fit(_model(), (images,), (images[:8],), TrainConfig(epochs=1, batch_size=8, progress_bar=True))
    monkeypatch.undo()
    return calls["n"]


def test_a_training_step_does_not_wait_for_the_device(monkeypatch):
    """Per-epoch reads (metrics, the schedule, the progress bar's end) are allowed; per-step reads are
    not: 100 more steps may add only the divergence checks of DIVERGENCE_CHECK_STEPS."""
    few = _host_reads_during_fit(monkeypatch, 10)
    many = _host_reads_during_fit(monkeypatch, 110)
    assert many - few <= 100 // DIVERGENCE_CHECK_STEPS


class _TermOverSomeExamples(ELBOObjective):
    """Validation term ``share``: batch b's value is b + 1, averaged over b of its examples (batch 0
    counts none: its value, NaN-free but meaningless, must be left out)."""

    def __init__(self) -> None:
        super().__init__(TermwiseELBO())
        self.batch = 0

    def validation(self, vae, batch):
        result = super().validation(vae, batch)
        value, count = float(self.batch + 1), self.batch
        self.batch = (self.batch + 1) % 3
        terms = {**result.terms, "share": torch.tensor(value)}
        return StepResult(result.loss, terms, result.num_examples, {"share": torch.tensor(count)})


def test_a_term_over_some_examples_is_averaged_over_those_alone(digits):
    # Three validation batches of 100: values 1, 2, 3 over 0, 1, 2 examples -> (2 * 1 + 3 * 2) / 3.
    config = TrainConfig(epochs=1, batch_size=100, progress_bar=False)
    result = fit(_model(), (digits[0][:100],), (digits[1][:300],), config, objective=_TermOverSomeExamples())
    assert result.history[-1]["val_share"] == pytest.approx(8 / 3)
    assert "val_elbo" in result.history[-1]
