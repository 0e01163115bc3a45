"""The columns of a schema as tensors: the encoder's input features and the decoder's heads.

Shared by the models whose observations are columns of mixed kinds (rows of a table, steps of a
sequence): given a fitted :class:`~vaekit.schema.Schema`, :class:`ColumnFeatures` turns encoded
values into standardised encoder inputs, and :class:`ColumnHeads` projects a hidden representation
onto one distribution per family, batched over that family's columns, in the columns' units. Both
loop over the registered families (:mod:`vaekit.models.families`), which say what each does.
"""

from __future__ import annotations

import pyro.distributions as dist
import torch
from torch import nn

from vaekit.models.families import ColumnFamily, Constants, families_in, family_named
from vaekit.schema import Schema


def _longs(values: list[int]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long)


class _FamilyConstants:
    """Registers a family's constants (:meth:`ColumnFamily.column_constants`) and the positions of
    its columns as buffers of a module, and reads them back. The buffers are not persistent: they
    derive from the schema, which the model config stores, so they are no part of the state dict."""

    def __init__(self, module: nn.Module, family: ColumnFamily, schema: Schema, index: list[int]) -> None:
        self._module = module
        self._names = {}
        constants = family.column_constants([schema.columns[j] for j in index])
        for key, value in {"index": _longs(index), **constants}.items():
            self._names[key] = f"_{key}_{family.name}"
            module.register_buffer(self._names[key], value, persistent=False)

    @property
    def index(self) -> torch.Tensor:
        return getattr(self._module, self._names["index"])

    def constants(self) -> Constants:
        return {key: getattr(self._module, name) for key, name in self._names.items() if key != "index"}


class ColumnFeatures(nn.Module):
    """Encoder input of encoded columns: ``(values, observed)`` ``(..., columns)`` -> ``(..., out_features)``.

    Each column's family gives its inputs (:meth:`ColumnFamily.encoder_inputs`): numeric columns
    standardised (on the log scale for positive columns, ``log(1 + x)`` for counts), binary
    columns as 0/1, categorical columns as one-hot vectors; missing cells are 0 and the
    missingness mask is appended. The inputs come in blocks (numbers, then indicators, then
    one-hot levels; :data:`~vaekit.models.families.NUMBER_INPUTS` ...), each in column order.
    Parameters only where a family learns its inputs (the embeddings of the ``many_levels``
    family, in :attr:`encoder_modules`); otherwise only the schema's constants.
    :meth:`value_features` gives the values' part alone (``value_features_count`` wide), for a
    body that takes the mask as a separate input.
    """

    def __init__(self, schema: Schema) -> None:
        super().__init__()
        columns = schema.columns
        families = families_in(schema)
        # Per block: its families with their stored constants, the width of a column's inputs, and
        # the name of the buffer that puts the families' inputs, concatenated, back in column order.
        self._blocks: list[tuple[list[tuple[ColumnFamily, _FamilyConstants]], int, str]] = []
        # Learned parts of some families' inputs (embeddings of many levels), by family name.
        self.encoder_modules = nn.ModuleDict()
        self.value_features_count = 0
        for block in sorted({family.encoder_block for family, _ in families}):
            members = [(family, index) for family, index in families if family.encoder_block == block]
            in_block = sorted(j for _, index in members for j in index)
            width = max(family_named(columns[j].family).encoder_width(columns[j]) for j in in_block)
            stored = [(family, _FamilyConstants(self, family, schema, index)) for family, index in members]
            for family, index in members:
                module = family.make_encoder_module([columns[j] for j in index], width)
                if module is not None:
                    self.encoder_modules[family.name] = module
            concatenated = {
                j: position for position, j in enumerate(j for _, index in members for j in index)
            }
            self.register_buffer(
                f"_order_{block}", _longs([concatenated[j] for j in in_block]), persistent=False
            )
            self._blocks.append((stored, width, f"_order_{block}"))
            self.value_features_count += len(in_block) * width
        self.out_features = self.value_features_count + len(columns)

    def _module_of(self, family: ColumnFamily) -> dict[str, nn.Module]:
        # Only a family with a module is passed one: a family from before modules existed takes none.
        return {"module": self.encoder_modules[family.name]} if family.name in self.encoder_modules else {}

    def forward(self, values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """Standardised values (0 where missing), one-hot levels and the missingness mask: ``(..., F)``."""
        missing = 1.0 - observed.to(values.dtype)
        return torch.cat([self.value_features(values, observed), missing], dim=-1)

    def value_features(self, values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """Standardised values (0 where missing) and one-hot levels, without the mask: ``(..., V)``."""
        parts = []
        present = observed.to(values.dtype)
        for members, width, order in self._blocks:
            inputs = [
                family.encoder_inputs(
                    values[..., stored.index],
                    present[..., stored.index],
                    stored.constants(),
                    width,
                    **self._module_of(family),
                )
                for family, stored in members
            ]
            block = inputs[0] if len(inputs) == 1 else torch.cat(inputs, dim=-2)[..., getattr(self, order), :]
            parts.append(block.flatten(-2))
        return torch.cat(parts, dim=-1)


class ColumnHeads(nn.ModuleDict):
    """Projection of a hidden representation onto every column: ``(..., in_features)`` -> one
    distribution per family present, with batch shape ``(..., columns of the family)``.

    The heads are kept by family name (``heads["normal"]``), in the order of the registered
    families (:func:`~vaekit.models.families.registered_families`); each is batched over its
    family's columns, so there is no Python loop over columns. The heads work in standardised
    units and each family maps its parameters into the columns' own units
    (:meth:`ColumnFamily.distribution`): a real column's loc is ``center + spread * loc``, a gamma
    rate is in units of the column's geometric mean, and so on.

    Parameters
    ----------
    schema:
        A fitted schema (centres, spreads and levels known).
    in_features:
        Size of the hidden representation.
    """

    def __init__(self, schema: Schema, in_features: int) -> None:
        super().__init__()
        self.num_columns = len(schema.columns)
        families = families_in(schema)
        self.families = [family.name for family, _ in families]
        self._family: dict[str, ColumnFamily] = {}
        self._stored: dict[str, _FamilyConstants] = {}
        for family, index in families:
            self._family[family.name] = family
            self._stored[family.name] = _FamilyConstants(self, family, schema, index)
        # The heads are made after every buffer, in site order: their initialisation draws from the
        # random generator in this order, which seeded runs depend on.
        for family, index in families:
            self[family.name] = family.make_head(in_features, [schema.columns[j] for j in index])

    def index(self, family: str) -> torch.Tensor:
        """Positions of the family's columns among all columns."""
        return self._stored[family].index

    def site_name(self, family: str) -> str:
        """The name of the family's sample site."""
        return self._family[family].site_name

    def observations(self, family: str, values: torch.Tensor) -> torch.Tensor:
        """The family's cells of encoded ``values`` ``(..., columns)`` as its distribution scores them."""
        return self._family[family].observations(values[..., self.index(family)])

    def forward(self, hidden: torch.Tensor) -> dict[str, dist.TorchDistribution]:
        """p(x | hidden) per family: distributions with batch shape ``(..., columns of the family)``."""
        return {
            name: family.distribution(self[name].project(hidden), self._stored[name].constants())
            for name, family in self._family.items()
        }

    def assemble(self, per_family: dict[str, torch.Tensor]) -> torch.Tensor:
        """Each family's cells ``(..., columns of the family)`` back in column order: ``(..., columns)``."""
        first = next(iter(per_family.values()))
        table = torch.zeros((*first.shape[:-1], self.num_columns), device=first.device)
        for family, cells in per_family.items():
            table[..., self.index(family)] = cells.to(table.dtype)
        return table

    def point_estimates(self, distributions: dict[str, dist.TorchDistribution]) -> dict[str, torch.Tensor]:
        """Each cell's point estimate (:meth:`ColumnFamily.point_estimate`): the expected value of a
        number, the most probable level of a binary or categorical column."""
        return {family: self._family[family].point_estimate(d) for family, d in distributions.items()}
