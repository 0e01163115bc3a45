"""The tabular VAE as a scikit-learn imputer: :class:`VAEImputer` fills missing cells in a ``Pipeline``.

It sits on top of :mod:`vaekit.runs`, as the command line does: each :meth:`VAEImputer.fit` trains a
:class:`vaekit.runs.frame.TabularModel` on the rows given, and :meth:`VAEImputer.transform` fills
the missing cells of new rows from the model's posterior predictive (a point estimate).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError

from vaekit.errors import VaekitError
from vaekit.runs.defaults import TABULAR_DEFAULTS
from vaekit.runs.frame import TabularModel


class VAEImputerNotFittedError(VaekitError, NotFittedError):
    """``transform`` before ``fit``: a vaekit error that scikit-learn also knows as not fitted."""


class VAEImputer(TransformerMixin, BaseEstimator):
    """Fill missing cells (NaN, None) with a tabular VAE's point estimates.

    ``fit`` takes a DataFrame (its columns keep their names and kinds: numbers, counts, levels as
    text) or a 2-D numpy array (its columns named ``x0``, ``x1``, ...); ``transform`` returns the
    same type as it is given, with present cells as they were and missing ones filled by each
    cell's expected value (numbers) or most probable level under p(x | z), z ~ q(z | the row's
    present cells). The parameters are those of :meth:`TabularModel.fit`; a seeded tenth of the
    rows given to ``fit`` is held out for the model's test metrics (``model_.metrics``).
    """

    def __init__(
        self,
        *,
        epochs: int | None = None,
        z_dim: int = TABULAR_DEFAULTS["z_dim"],
        hidden: Sequence[int] = TABULAR_DEFAULTS["hidden"],
        batch_size: int = TABULAR_DEFAULTS["batch_size"],
        seed: int = 0,
        schema: Mapping[str, Any] | None = None,
        progress: bool = False,
    ) -> None:
        # scikit-learn's rule: store the parameters as given; fit checks them.
        self.epochs = epochs
        self.z_dim = z_dim
        self.hidden = hidden
        self.batch_size = batch_size
        self.seed = seed
        self.schema = schema
        self.progress = progress

    def fit(self, X: pd.DataFrame | np.ndarray, y: Any = None) -> VAEImputer:
        """Train the model on the rows of ``X`` (``y`` is ignored: a pipeline passes it)."""
        frame = self._frame(X, fitting=True)
        self.model_ = TabularModel.fit(
            frame,
            epochs=self.epochs,
            z_dim=self.z_dim,
            hidden=self.hidden,
            batch_size=self.batch_size,
            seed=self.seed,
            schema=self.schema,
            progress=self.progress,
        )
        return self

    def transform(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame | np.ndarray:
        """``X`` with its missing cells filled, of the type given (a DataFrame keeps its index)."""
        if not hasattr(self, "model_"):
            raise VAEImputerNotFittedError("this VAEImputer is not fitted yet: call fit first")
        frame = self._frame(X, fitting=False)
        filled = self.model_.impute(frame)[list(frame.columns)]
        if isinstance(X, pd.DataFrame):
            return filled
        numeric = all(pd.api.types.is_numeric_dtype(dtype) for dtype in filled.dtypes)
        return filled.to_numpy(dtype=float if numeric else object)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> np.ndarray:
        """The output columns: the input's (``x0``, ``x1``, ... for an array)."""
        if not hasattr(self, "model_"):
            raise VAEImputerNotFittedError("this VAEImputer is not fitted yet: call fit first")
        names = list(self._names)
        if input_features is not None:
            if len(input_features) != len(names):
                raise VaekitError(
                    f"input_features has {len(input_features)} names; the imputer has {len(names)}"
                )
            names = [str(name) for name in input_features]
        return np.asarray(names, dtype=object)

    def _frame(self, X: Any, *, fitting: bool) -> pd.DataFrame:
        """``X`` as a DataFrame with string column names; fixes (when fitting) or checks its columns."""
        if isinstance(X, pd.DataFrame):
            frame = X
            if not all(isinstance(name, str) for name in frame.columns):
                raise VaekitError("VAEImputer needs a DataFrame with string column names")
        else:
            array = np.asarray(X)
            if array.ndim != 2:
                raise VaekitError(f"VAEImputer needs a 2-D array or a DataFrame, got {array.ndim} dimensions")
            frame = pd.DataFrame(array, columns=[f"x{j}" for j in range(array.shape[1])])
            if array.dtype == object:
                frame = frame.infer_objects()
        if fitting:
            self.n_features_in_ = frame.shape[1]
            self._names = [str(name) for name in frame.columns]
            if isinstance(X, pd.DataFrame):
                self.feature_names_in_ = np.asarray(self._names, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return frame
        if frame.shape[1] != self.n_features_in_:
            raise VaekitError(
                f"X has {frame.shape[1]} columns; the imputer was fitted on {self.n_features_in_}"
            )
        if not isinstance(X, pd.DataFrame):
            # An array holds the columns in the order fitted, whatever they were called then.
            frame.columns = self._names
        if isinstance(X, pd.DataFrame) and list(frame.columns) != self._names:
            raise VaekitError(
                f"X's columns ({', '.join(map(str, frame.columns))}) are not those the imputer was fitted on "
                f"({', '.join(self._names)})"
            )
        return frame


__all__ = ["VAEImputer", "VAEImputerNotFittedError"]
