"""Reference data with a known density: three columns drawn from a small generative model whose
exact log-density is known, so that a model's log-likelihood on them can be compared with the truth.

x1 is Gamma-distributed, x2 Normal and x3 Normal around x2 with x1 as its scale
(:class:`SeedDataParameters`); :func:`seed_table` draws rows and :func:`seed_log_density` gives
each row's exact log-density.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from vaekit.errors import DataError


@dataclass(frozen=True)
class SeedDataParameters:
    """x1 ~ Gamma(shape k0, scale theta0), x2 ~ Normal(mu0, sigma0), x3 ~ Normal(loc x2, scale x1)."""

    k0: float = 2.0
    theta0: float = 1.0
    mu0: float = 0.0
    sigma0: float = 1.0

    def __post_init__(self) -> None:
        for name in ("k0", "theta0", "sigma0"):
            if not getattr(self, name) > 0:
                raise DataError(f"{name} must be positive, got {getattr(self, name)}")


def seed_table(rows: int, *, seed: int = 0, parameters: SeedDataParameters | None = None) -> pd.DataFrame:
    """Draw ``rows`` rows of the reference data (columns x1, x2, x3)."""
    parameters = parameters or SeedDataParameters()
    rng = np.random.default_rng(seed)
    x1 = rng.gamma(parameters.k0, parameters.theta0, size=rows)
    x2 = rng.normal(parameters.mu0, parameters.sigma0, size=rows)
    x3 = rng.normal(x2, x1)
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3})


def seed_log_density(table: pd.DataFrame, parameters: SeedDataParameters | None = None) -> np.ndarray:
    """Exact log-density of each row of the reference data, in nats."""
    parameters = parameters or SeedDataParameters()
    x1, x2, x3 = (table[name].to_numpy(dtype=float) for name in ("x1", "x2", "x3"))
    k, theta = parameters.k0, parameters.theta0
    log_gamma = (k - 1) * np.log(x1) - x1 / theta - math.lgamma(k) - k * math.log(theta)
    log_x2 = _normal_log_density(x2, parameters.mu0, parameters.sigma0)
    log_x3 = _normal_log_density(x3, x2, x1)
    return log_gamma + log_x2 + log_x3


def _normal_log_density(x: np.ndarray, loc: Any, scale: Any) -> np.ndarray:
    return -0.5 * ((x - loc) / scale) ** 2 - np.log(scale) - 0.5 * math.log(2 * math.pi)
