"""Distributed data parallel through Lightning on 2 CPU processes: correct, not only running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vaekit import TermwiseELBO
from vaekit._distributed import is_global_zero
from vaekit.inference.objectives import ELBOObjective

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import ddp_one_step  # noqa: E402


def _run_two_processes(out: Path) -> dict:
    environment = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE")}
    completed = subprocess.run(
        [sys.executable, str(HERE / "ddp_one_step.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return torch.load(out / "result.pt", weights_only=True)


def test_one_ddp_step_on_two_halves_equals_one_step_on_the_whole_batch(tmp_path):
    result = _run_two_processes(tmp_path)
    assert result["world_size"] == 2
    halves = [torch.load(tmp_path / f"rank{rank}.pt", weights_only=True) for rank in range(2)]
    train, _ = ddp_one_step.data()
    # The ranks saw disjoint halves that together make the whole batch.
    seen = torch.cat([half["rows"] for half in halves])
    assert seen.shape == train.shape
    assert sorted(seen.flatten(1).sum(1).tolist()) == pytest.approx(sorted(train.flatten(1).sum(1).tolist()))

    # One process, the whole batch, the same draws of z: the mean loss over all rows. One thread,
    # as each DDP process on the CPU uses, so that sums are taken in the same order.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _compare_with_one_process(result, halves)
    finally:
        torch.set_num_threads(threads)


def _compare_with_one_process(result: dict, halves: list[dict]) -> None:
    vae = ddp_one_step.model()
    objective = ELBOObjective(TermwiseELBO(max_plate_nesting=vae.max_plate_nesting))
    losses = []
    for half in halves:
        torch.set_rng_state(half["rng"])
        losses.append(objective.training(vae, (half["rows"],)).loss)
    whole_batch_loss = torch.stack(losses).mean()
    optimizer = torch.optim.Adam(vae.parameters(), lr=1e-3)
    optimizer.zero_grad()
    whole_batch_loss.backward()
    for name, p in vae.named_parameters():
        torch.testing.assert_close(result["gradients"][name], p.grad, rtol=1e-4, atol=1e-6, msg=name)
    optimizer.step()
    for name, p in vae.named_parameters():
        torch.testing.assert_close(result["parameters"][name], p.detach(), rtol=1e-4, atol=1e-6, msg=name)
    # The gradients are not trivially equal: the two halves' own gradients differ from their mean.
    vae_half = ddp_one_step.model()
    torch.set_rng_state(halves[0]["rng"])
    objective.training(vae_half, (halves[0]["rows"],)).loss.backward()
    assert any(
        not torch.allclose(p.grad, result["gradients"][name], rtol=1e-3)
        for name, p in vae_half.named_parameters()
    )


def test_rank_zero_is_read_from_the_launcher_environment(monkeypatch):
    for name in ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert is_global_zero()
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("NODE_RANK", "0")
    assert is_global_zero()
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert not is_global_zero()
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("RANK", "3")
    assert not is_global_zero()
