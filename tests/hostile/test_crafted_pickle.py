"""Crafted model and checkpoint files: whatever they ask the unpickler for, nothing of theirs runs.

Each crafted file holds an object whose unpickling would create a marker file (through
``os.system``, ``builtins.exec`` or a ``pathlib`` method). The test first proves the file is armed (a
plain ``pickle`` load, on a copy aimed at another marker, creates that marker), then shows that
vaekit refuses it with a clear one-line error and that the marker never appears.
"""

from __future__ import annotations

import builtins
import json
import os
import pickle
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from vaekit._io import safe_torch_load
from vaekit.cli.main import main
from vaekit.errors import RunError
from vaekit.models import ImageVAE, ImageVAEConfig
from vaekit.runs import load_run
from vaekit.runs.store import MODEL_FILE_FORMAT, MODEL_FILE_VERSION, load_model, save_model

REFUSAL = "was crafted to run code"


class ViaSystem:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class ViaExec:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",))


class ViaPathlib:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


GADGETS = {"os.system": ViaSystem, "builtins.exec": ViaExec, "pathlib": ViaPathlib}


def model_payload(gadget: object) -> dict:
    """A model file's payload with the gadget where the config belongs."""
    return {
        "format": MODEL_FILE_FORMAT,
        "version": MODEL_FILE_VERSION,
        "model": "ImageVAE",
        "config": gadget,
        "state_dict": {},
    }


def write_crafted(path: Path, gadget_class: type, marker: Path, *, how: str) -> None:
    """Write a crafted file, after checking that a plain unpickler would create ``marker``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    armed = path.with_name(path.name + ".armed")
    proof = marker.with_name(marker.name + ".proof")
    for target, aim in ((armed, proof), (path, marker)):
        payload = model_payload(gadget_class(aim))
        if how == "torch.save":
            torch.save(payload, target)
        else:  # a bare pickle, as torch.load's legacy format
            target.write_bytes(pickle.dumps(payload, protocol=4))
    # What an unguarded loader would do.
    if how == "torch.save":
        torch.load(armed, weights_only=False)
    else:
        pickle.loads(armed.read_bytes())
    assert proof.exists(), "the crafted file is not armed; the test would prove nothing"
    armed.unlink()


@pytest.fixture(
    params=[(g, how) for g in GADGETS for how in ("torch.save", "pickle")], ids=lambda p: f"{p[0]}-{p[1]}"
)
def crafted_run(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path]:
    """A run folder whose model.pt and checkpoints/last.ckpt are crafted; returns (run, marker)."""
    gadget, how = request.param
    marker = tmp_path / "MARKER"
    run = tmp_path / "run"
    write_crafted(run / "model.pt", GADGETS[gadget], marker, how=how)
    write_crafted(run / "checkpoints" / "last.ckpt", GADGETS[gadget], marker, how=how)
    (run / "config.json").write_text(json.dumps({"model": "ImageVAE"}))
    return run, marker


def test_load_model_refuses_a_crafted_file(crafted_run: tuple[Path, Path]) -> None:
    run, marker = crafted_run
    with pytest.raises(RunError, match=REFUSAL) as refused:
        load_model(run / "model.pt")
    message = str(refused.value)
    assert "model.pt" in message and "refusing to unpickle it" in message and "\n" not in message
    assert not marker.exists()


def test_load_run_refuses_a_crafted_model(crafted_run: tuple[Path, Path]) -> None:
    run, marker = crafted_run
    with pytest.raises(RunError, match=REFUSAL):
        load_run(run)
    assert not marker.exists()


def test_a_crafted_checkpoint_is_refused(crafted_run: tuple[Path, Path]) -> None:
    run, marker = crafted_run
    with pytest.raises(RunError, match=REFUSAL) as refused:
        safe_torch_load(run / "checkpoints" / "last.ckpt", what="training checkpoint")
    assert "last.ckpt is not a training checkpoint" in str(refused.value)
    assert not marker.exists()


@pytest.mark.parametrize("command", [["evaluate", "{run}"], ["sample", "{run}", "--out", "{tmp}/s.png"]])
def test_the_cli_refuses_a_crafted_model_in_one_line(
    crafted_run: tuple[Path, Path], command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    run, marker = crafted_run
    argv = [part.format(run=run, tmp=run.parent) for part in command]
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("vaekit: error: ") and REFUSAL in err[0], err
    with pytest.raises(RunError, match=REFUSAL):  # --debug: the exception and its traceback
        main(["--debug", *argv])
    assert not marker.exists()


def test_the_installed_command_refuses_it_and_shows_a_traceback_only_with_debug(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    run = tmp_path / "run"
    write_crafted(run / "model.pt", ViaSystem, marker, how="pickle")
    (run / "config.json").write_text("{}")
    command = [sys.executable, "-m", "vaekit.cli"]
    plain = subprocess.run([*command, "evaluate", str(run)], capture_output=True, text=True, timeout=300)
    assert plain.returncode == 2
    assert plain.stderr.splitlines() == [plain.stderr.strip()], plain.stderr  # one line, no warnings
    assert REFUSAL in plain.stderr and "Traceback" not in plain.stderr
    debug = subprocess.run(
        [*command, "--debug", "evaluate", str(run)], capture_output=True, text=True, timeout=300
    )
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr and REFUSAL in debug.stderr
    assert not marker.exists()


# --- files that load with weights_only=True but describe a hostile model ---------------------------------


@pytest.fixture
def saved(tmp_path: Path) -> dict:
    model = ImageVAE(ImageVAEConfig(image_shape=(1, 4, 4), z_dim=2, hidden=(8,)))
    save_model(model, tmp_path / "model.pt")
    return torch.load(tmp_path / "model.pt", weights_only=True)


def test_a_config_announcing_billions_of_weights_is_refused_without_allocating(
    saved: dict, tmp_path: Path
) -> None:
    config = {**saved["config"], "z_dim": 100_000, "hidden": [100_000, 100_000]}  # about 80 GB of float32
    torch.save({**saved, "config": config}, tmp_path / "huge.pt")
    with pytest.raises(RunError, match="damaged") as refused:
        load_model(tmp_path / "huge.pt")
    assert "weights" in str(refused.value) and "\n" not in str(refused.value)


def test_weights_of_the_wrong_shape_are_one_line(saved: dict, tmp_path: Path) -> None:
    state = {key: torch.zeros(3) for key in saved["state_dict"]}
    torch.save({**saved, "state_dict": state}, tmp_path / "shapes.pt")
    with pytest.raises(RunError, match="damaged") as refused:
        load_model(tmp_path / "shapes.pt")
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "change",
    [
        {"config": "not a dict"},
        {"config": {"image_shape": None}},
        {"state_dict": "not a dict"},
        {"state_dict": {"extra": torch.zeros(1)}},
        {"model": "os.system"},
        {"version": 99},
        {"format": "something else"},
    ],
    ids=repr,
)
def test_other_damage_is_a_run_error(saved: dict, tmp_path: Path, change: dict) -> None:
    torch.save({**saved, **change}, tmp_path / "damaged.pt")
    with pytest.raises(RunError) as refused:
        load_model(tmp_path / "damaged.pt")
    assert "damaged.pt" in str(refused.value) and "\n" not in str(refused.value)


def test_a_saved_model_still_loads(tmp_path: Path) -> None:
    model = ImageVAE(ImageVAEConfig(image_shape=(1, 4, 4), z_dim=2, hidden=(8,)))
    loaded = load_model(save_model(model, tmp_path / "model.pt"))
    assert asdict(loaded.config) == asdict(model.config)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
