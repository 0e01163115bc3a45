"""The registry of model kinds: a model added in this file alone is trained, saved, loaded, evaluated,
sampled and drawn through the command line, exactly as the built-in ones are."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyro
import pyro.distributions as dist
import pytest
import torch
from torch import nn

from vaekit._io import atomic_write_json
from vaekit.cli.main import main
from vaekit.errors import VaekitError
from vaekit.evaluation import estimate_log_likelihood
from vaekit.inference import FitResult, fit
from vaekit.models import VAE
from vaekit.runs import load_model, load_run, save_model
from vaekit.runs.graph import diagram_sites, example_arguments
from vaekit.runs.kinds.flags import add_training_flags, positive_int, train_config_from
from vaekit.runs.registry import (
    RUN_COMMANDS,
    ModelKind,
    SampleRequest,
    TrainRequest,
    kind_of,
    model_kind,
    model_kinds,
    register_model_kind,
    unregister_model_kind,
)
from vaekit.runs.store import Run
from vaekit.runs.tabular import write_table
from vaekit.runs.training_run import train_run


@dataclass(frozen=True)
class LineVAEConfig:
    dim: int = 3
    z_dim: int = 1
    hidden: int = 8


class LineVAE(VAE):
    """x ~ Normal(W z + b, 0.5): points near a line, a model none of the flagships is."""

    def __init__(self, config: LineVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.decoder = nn.Linear(config.z_dim, config.dim)
        self.encoder = nn.Sequential(nn.Linear(config.dim, config.hidden), nn.Tanh())
        self.z_loc = nn.Linear(config.hidden, config.z_dim)
        self.z_scale = nn.Linear(config.hidden, config.z_dim)

    def model(self, x: torch.Tensor | None = None, **kwargs: Any) -> None:
        rows = len(x) if x is not None else 1
        with pyro.plate("data", rows):
            z = pyro.sample("z", self.prior((rows,)))
            pyro.sample("x", dist.Normal(self.decoder(z), 0.5).to_event(1), obs=x)

    def guide(self, x: torch.Tensor | None = None, **kwargs: Any) -> None:
        with pyro.plate("data", len(x)):
            hidden = self.encoder(x)
            scale = nn.functional.softplus(self.z_scale(hidden)) + 1e-4
            pyro.sample("z", dist.Normal(self.z_loc(hidden), scale).to_event(1))


def line_points(rows: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    t = torch.randn(rows, 1, generator=generator)
    return t * torch.tensor([[1.0, -2.0, 0.5]]) + 0.1 * torch.randn(rows, 3, generator=generator)


class LineKind(ModelKind):
    command = "line"
    model_class = LineVAE
    config_class = LineVAEConfig
    help = "points near a line (a test model)"
    noun = "a line run"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--rows", type=positive_int, default=200)
        add_training_flags(parser)

    def train(self, request: TrainRequest) -> Run | None:
        args = request.args
        train_config = train_config_from(args)
        points = line_points(args.rows, args.seed)
        request.begin()

        def fit_model(model: VAE, run_path: Path) -> FitResult:
            return fit(model, (points[20:],), (points[:20],), train_config, run_dir=run_path)

        run = train_run(
            LineVAE,
            LineVAEConfig(),
            train_config,
            request.run_dir,
            data={"rows": args.rows, "seed": args.seed},
            fit_model=fit_model,
            resume=request.resume,
        )
        if run is None:
            return None
        self.evaluate(run, iw_samples=10, iw_examples=None, progress=False)
        return run

    def evaluate(
        self, run: Run, *, iw_samples: int, iw_examples: int | None, progress: bool, data: Any = None
    ) -> dict[str, Any]:
        test = line_points(50, run.config["data"]["seed"] + 1)
        estimate = estimate_log_likelihood(run.model, test, num_samples=iw_samples)
        run.metrics["test_log_likelihood"] = round(float(estimate.log_likelihood.mean()), 4)
        atomic_write_json(run.path / "metrics.json", run.metrics)
        return run.metrics

    def write_samples(self, run: Run, out: Path, request: SampleRequest) -> Path:
        torch.manual_seed(request.seed)
        model: LineVAE = run.model  # type: ignore[assignment]
        with torch.no_grad():
            points = model.decoder(model.prior((request.num_samples,)).sample())
        return write_table(pd.DataFrame(points.numpy(), columns=["a", "b", "c"]), out)

    def example_arguments(self, model: VAE) -> list[tuple[Any, ...]]:
        return [(torch.zeros(2, 3),)]


@pytest.fixture
def line_kind():
    kind = register_model_kind(LineKind())
    yield kind
    unregister_model_kind("line")


def test_a_model_registered_in_a_test_trains_and_serves_every_command(line_kind, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", "line", "--out", str(run_dir), "--epochs", "3", "--no-progress"]) == 0
    summary = capsys.readouterr().out
    assert "test_log_likelihood=" in summary
    for name in ("config.json", "model.pt", "metrics.json", "command.json", ".vaekit-run", "log.csv"):
        assert (run_dir / name).is_file(), name

    run = load_run(run_dir)  # the model file names LineVAE: the registry rebuilds it
    assert isinstance(run.model, LineVAE) and kind_of(run.model) is line_kind
    assert run.config["model"] == "LineVAE" and run.config["data"] == {"rows": 200, "seed": 0}
    assert torch.isfinite(torch.tensor(run.metrics["test_log_likelihood"]))

    assert main(["evaluate", str(run_dir), "--iw-samples", "5"]) == 0
    out = tmp_path / "points.csv"
    assert main(["sample", str(run_dir), "--n", "7", "--out", str(out)]) == 0
    assert pd.read_csv(out).shape == (7, 3)

    # What the kind does not answer is refused with the kinds that do.
    table = tmp_path / "rows.csv"
    pd.DataFrame({"a": [1.0]}).to_csv(table, index=False)
    capsys.readouterr()
    assert main(["score", str(run_dir), "--csv", str(table), "--out", str(tmp_path / "s.csv")]) == 2
    assert "holds a LineVAE; this command needs a tabular run or a sequence run" in capsys.readouterr().err
    assert main(["sample", str(run_dir), "--out", str(tmp_path / "p.png")]) == 2
    assert "--out must name a .csv file for a line run" in capsys.readouterr().err
    assert main(["sample", str(run_dir), "--given", "a=1", "--out", str(tmp_path / "p.csv")]) == 2
    assert "--given conditions the columns of a table; a line run has none" in capsys.readouterr().err
    assert main(["sample", str(run_dir), "--keep-missing", "--out", str(tmp_path / "p.csv")]) == 2
    assert (
        "--keep-missing gives a table's rows its missing cells; a line run has none"
        in capsys.readouterr().err
    )

    # --resume finds its kind again by the command name it stored.
    assert main(["train", "line", "--resume", str(run_dir), "--no-progress"]) == 0


def test_a_registered_model_is_saved_loaded_and_drawn(line_kind, tmp_path):
    model = LineVAE(LineVAEConfig())
    loaded = load_model(save_model(model, tmp_path / "line.pt"))
    assert isinstance(loaded, LineVAE)
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True)
    )
    sites = {site.name: site.role for site in diagram_sites(model, example_arguments(model))}
    assert sites == {"z": "latent", "x": "observed"}


def test_an_unregistered_model_is_unknown_to_the_commands(tmp_path, capsys):
    assert "line" not in [kind.command for kind in model_kinds()]
    with pytest.raises(SystemExit):
        main(["train", "line", "--out", str(tmp_path / "run")])
    with pytest.raises(VaekitError, match="cannot save a LineVAE"):
        save_model(LineVAE(LineVAEConfig()), tmp_path / "line.pt")


def test_two_kinds_never_answer_to_one_name(line_kind):
    class Impostor(LineKind):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register_model_kind(Impostor())
    assert model_kind("line") is line_kind


def test_the_built_in_kinds_are_listed_in_the_order_of_the_command_line():
    assert [kind.command for kind in model_kinds()][:4] == ["vae", "ssvae", "tabular", "sequence"]
    for kind in model_kinds():
        assert kind.commands <= set(RUN_COMMANDS)
        assert kind.sample_suffix in (".png", ".csv")
