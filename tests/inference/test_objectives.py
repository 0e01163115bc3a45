"""The importance-weighted training objective: its bound, its relation to the ELBO, and training."""

from __future__ import annotations

import pytest
import torch

from vaekit import ImageVAE, ImageVAEConfig, TrainConfig, fit, load_image_dataset
from vaekit.inference import ImportanceWeightedObjective, StepResult


@pytest.fixture(scope="module")
def digits():
    data = load_image_dataset("digits")
    return data.train_images[:600], data.train_images[600:900]


def _model() -> ImageVAE:
    torch.manual_seed(0)
    return ImageVAE(ImageVAEConfig((1, 8, 8), z_dim=4, hidden=(32,)))


def test_with_one_particle_the_bound_is_the_elbo(digits):
    result = ImportanceWeightedObjective(1).training(_model(), (digits[0][:50],))
    assert result.terms["iwae"] == pytest.approx(float(result.terms["elbo"]), abs=1e-5)
    assert float(result.loss) == pytest.approx(-float(result.terms["iwae"]), abs=1e-5)
    assert result.num_examples == 50


def test_the_bound_is_at_least_the_elbo_of_the_same_draws_and_tightens_with_more(digits):
    model, images = _model(), (digits[0][:100],)
    torch.manual_seed(1)
    few = ImportanceWeightedObjective(2).training(model, images).terms
    torch.manual_seed(1)
    many = ImportanceWeightedObjective(64).training(model, images).terms
    # log mean exp >= mean, example by example (Jensen), for the very same draws.
    assert few["iwae"] >= few["elbo"] and many["iwae"] >= many["elbo"]
    assert many["iwae"] > few["iwae"] + 0.2  # 32 times the draws: a clearly tighter bound (0.43 nats here)


def test_the_bound_has_gradients_for_model_and_guide(digits):
    model = _model()
    ImportanceWeightedObjective(4).training(model, (digits[0][:20],)).loss.backward()
    encoder = [p for name, p in model.named_parameters() if name.startswith("encoder")]
    decoder = [p for name, p in model.named_parameters() if name.startswith("decoder")]
    assert encoder and decoder
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder + decoder)


def test_training_on_the_bound_improves_it(digits):
    train, val = digits
    config = TrainConfig(epochs=5, objective="iwae", num_particles=4, progress_bar=False)
    result = fit(_model(), (train,), (val,), config)
    bounds = [row["val_iwae"] for row in result.history]
    assert bounds[-1] > bounds[0] + 2
    assert all(row["val_iwae"] >= row["val_elbo"] for row in result.history)


def test_an_unknown_objective_is_refused():
    with pytest.raises(ValueError, match="objective must be 'elbo' or 'iwae'"):
        TrainConfig(objective="renyi")


class _BoundFallsWhileELBORises(ImportanceWeightedObjective):
    """Validation terms that disagree: the bound is best at the first epoch, the ELBO at the last."""

    def __init__(self) -> None:
        super().__init__(2)
        self.validations = 0

    def validation(self, vae, batch):
        self.validations += 1
        count = float(self.validations)
        terms = {"elbo": torch.tensor(count), "iwae": torch.tensor(-count)}
        return StepResult(torch.tensor(0.0), terms, 1)


def test_the_best_weights_of_an_iwae_run_are_chosen_on_the_bound(digits):
    train, val = digits[0][:300], digits[1][:100]  # one validation batch per epoch
    config = TrainConfig(epochs=3, objective="iwae", num_particles=2, progress_bar=False)
    result = fit(_model(), (train,), (val,), config, objective=_BoundFallsWhileELBORises())
    assert result.selected_on == "val_iwae" and result.best_epoch == 1 and result.kept_epoch == 1
    elbo_run = fit(_model(), (train,), (val,), TrainConfig(epochs=2, progress_bar=False))
    assert elbo_run.selected_on == "val_elbo"
