"""Which rows of a streamed table are held out: a seeded hash of the row number picks each row's part.

Deterministic, independent of chunk sizes, ranks and workers, and spread evenly over the table,
without a permutation of the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vaekit.errors import DataError

#: The parts a row may belong to.
PARTS = ("train", "val", "test")


def _uniform(rows: np.ndarray, seed: int) -> np.ndarray:
    """A number in [0, 1) for each row number: the splitmix64 hash of (row, seed), deterministic."""
    with np.errstate(over="ignore"):
        z = rows.astype(np.uint64) + np.uint64((seed * 0x9E3779B97F4A7C15 + 0x9E3779B97F4A7C15) % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


@dataclass(frozen=True)
class StreamSplit:
    """Test, validation and training parts by a seeded hash of the row number.

    A row with hash ``u`` is a test row when ``u < test_fraction``, a validation row when
    ``u < test_fraction + (1 - test_fraction) * val_fraction``, a training row otherwise: the
    shares of the in-memory path, without a permutation of the whole table.
    """

    seed: int
    val_fraction: float = 0.1
    test_fraction: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.val_fraction < 1:
            raise DataError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if not 0 <= self.test_fraction < 1:
            raise DataError(f"test_fraction must be in [0, 1), got {self.test_fraction}")

    def bounds(self, part: str) -> tuple[float, float]:
        """The range of hash values of ``part``."""
        val_end = self.test_fraction + (1 - self.test_fraction) * self.val_fraction
        return {
            "test": (0.0, self.test_fraction),
            "val": (self.test_fraction, val_end),
            "train": (val_end, 1.0),
        }[part]

    def uniform(self, rows: np.ndarray) -> np.ndarray:
        return _uniform(rows, self.seed)

    def mask(self, part: str, rows: np.ndarray) -> np.ndarray:
        low, high = self.bounds(part)
        u = self.uniform(rows)
        return (u >= low) & (u < high)

    def count(self, part: str, start: int, stop: int, *, step: int = 1 << 20) -> int:
        """Rows of ``part`` among the table rows ``[start, stop)``, computed in bounded pieces."""
        return sum(
            int(self.mask(part, np.arange(low, min(low + step, stop), dtype=np.uint64)).sum())
            for low in range(start, stop, step)
        )
