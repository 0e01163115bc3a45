"""Run folders and model files: complete, reloadable to identical outputs, and safe to load."""

from __future__ import annotations

import json

import pytest
import torch

from vaekit import (
    ImageVAE,
    ImageVAEConfig,
    RunError,
    TrainConfig,
    evaluate_run,
    load_image_dataset,
    load_model,
    load_run,
    save_model,
    train_image_vae,
)


@pytest.fixture(scope="module")
def digits():
    return load_image_dataset("digits")


@pytest.fixture(scope="module")
def trained_run(digits, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    config = ImageVAEConfig(digits.image_shape, z_dim=2, hidden=(64,))
    return train_image_vae(
        digits, config, TrainConfig(epochs=3, progress_bar=False), run_dir, iw_samples=20, progress=False
    )


@pytest.mark.parametrize("encoder", ["mlp", "cnn"])
def test_saved_model_reloads_to_identical_outputs(tmp_path, encoder):
    torch.manual_seed(0)
    model = ImageVAE(ImageVAEConfig((1, 8, 8), z_dim=3, hidden=(16,), encoder=encoder)).eval()
    save_model(model, tmp_path / "model.pt")
    loaded = load_model(tmp_path / "model.pt")
    x = torch.rand(5, 1, 8, 8)
    z = torch.randn(5, 3)
    with torch.no_grad():
        assert torch.equal(model.encode(x).mean, loaded.encode(x).mean)
        assert torch.equal(model.encode(x).stddev, loaded.encode(x).stddev)
        assert torch.equal(model.decode(z).mean, loaded.decode(z).mean)
    assert loaded.config == model.config
    # The file holds only tensors and plain values: the strict loader reads it.
    torch.load(tmp_path / "model.pt", weights_only=True)


class _RunsCode:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_file_that_would_run_code_when_unpickled_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "model.pt"
    torch.save({"format": "vaekit-model", "payload": _RunsCode(str(marker))}, evil)
    with pytest.raises(RunError, match="not a vaekit model file|holds objects"):
        load_model(evil)
    assert not marker.exists()
    # Plain pickle would have run it: the test's payload is real.
    with open(evil, "rb") as stream:
        try:
            torch.load(stream, weights_only=False)
        except Exception:
            pass
    assert marker.exists()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"something": "else"}, "not a vaekit model file"),
        ({"format": "vaekit-model", "version": 99}, "version 99"),
        ({"format": "vaekit-model", "version": 1, "model": "Nope"}, "unknown model type"),
    ],
)
def test_files_that_are_not_vaekit_models_are_refused(tmp_path, payload, message):
    path = tmp_path / "model.pt"
    torch.save(payload, path)
    with pytest.raises(RunError, match=message):
        load_model(path)


def test_a_truncated_model_file_is_refused(tmp_path):
    model = ImageVAE(ImageVAEConfig((1, 8, 8), z_dim=2, hidden=(8,)))
    save_model(model, tmp_path / "model.pt")
    data = (tmp_path / "model.pt").read_bytes()
    (tmp_path / "model.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(RunError, match="cannot load"):
        load_model(tmp_path / "model.pt")
    with pytest.raises(RunError, match="not found"):
        load_model(tmp_path / "missing.pt")


def test_run_folder_is_complete(trained_run):
    path = trained_run.path
    for name in ("config.json", "model.pt", "metrics.json", "log.csv", "checkpoints/last.ckpt"):
        assert (path / name).is_file(), name
    for figure in ("samples", "reconstructions", "training_curves", "latent_manifold", "latent_means"):
        assert (path / "figures" / f"{figure}.png").is_file(), figure
    metrics = json.loads((path / "metrics.json").read_text())
    for key in ("test_elbo", "test_log_likelihood", "epochs", "train_seconds", "train_examples_per_second"):
        assert key in metrics, key
    assert metrics["epochs"] == 3
    # The bound is computed on the same test images; with 20 samples it is above the 1-sample ELBO.
    assert metrics["test_log_likelihood"] > metrics["test_elbo_on_iw_subset"]
    assert not list(path.rglob("*.tmp")), "temporary files left behind"


def test_evaluate_rewrites_metrics_and_keeps_training_entries(trained_run):
    run = load_run(trained_run.path)
    metrics = evaluate_run(run, iw_samples=5, iw_examples=50, progress=False)
    assert metrics["iw_samples"] == 5 and metrics["iw_examples"] == 50
    stored = json.loads((trained_run.path / "metrics.json").read_text())
    assert stored["iw_samples"] == 5
    assert stored["train_seconds"] == trained_run.metrics["train_seconds"]


def test_loading_a_folder_that_is_not_a_run_fails_clearly(tmp_path):
    with pytest.raises(RunError, match="config.json is missing"):
        load_run(tmp_path)
