"""Shared fixtures: every test starts from a clean Pyro state with validation on and fixed seeds."""

from __future__ import annotations

from collections.abc import Iterator

import pyro
import pytest


@pytest.fixture(autouse=True)
def pyro_state() -> Iterator[None]:
    """Clear Pyro's global parameter store, seed every RNG and enable validation for one test."""
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    with pyro.validation_enabled(True):
        yield
    pyro.clear_param_store()
