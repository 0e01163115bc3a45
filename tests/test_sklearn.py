"""The scikit-learn imputer: arrays and DataFrames in, the same type out, and a place in a Pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline

from vaekit.errors import VaekitError
from vaekit.sklearn import VAEImputer


def _iris_with_holes(share: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    X, y = load_iris(return_X_y=True)
    X = X.copy()
    X[np.random.default_rng(0).random(X.shape) < share] = np.nan
    return X, y


def test_the_imputer_fits_in_a_pipeline_with_a_classifier_under_cross_validation():
    X, y = _iris_with_holes()
    assert np.isnan(X).any()
    pipeline = Pipeline(
        [
            ("impute", VAEImputer(epochs=3, z_dim=2, hidden=(16,))),
            ("classify", LogisticRegression(max_iter=500)),
        ]
    )
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all()


def test_arrays_and_dataframes_come_back_as_given_with_present_cells_kept():
    X, _ = _iris_with_holes()
    imputer = VAEImputer(epochs=2, z_dim=2, hidden=(8,)).fit(X)
    filled = imputer.transform(X)
    assert isinstance(filled, np.ndarray) and filled.dtype == float and not np.isnan(filled).any()
    present = ~np.isnan(X)
    assert np.allclose(filled[present], X[present])
    assert list(imputer.get_feature_names_out()) == ["x0", "x1", "x2", "x3"]
    assert not hasattr(imputer, "feature_names_in_")

    frame = pd.DataFrame(X, columns=["sepal_length", "sepal_width", "petal_length", "petal_width"])
    frame.index = frame.index + 1000
    frame_imputer = VAEImputer(epochs=2, z_dim=2, hidden=(8,)).fit(frame)
    out = frame_imputer.transform(frame)
    assert isinstance(out, pd.DataFrame) and out.index.equals(frame.index)
    assert list(out.columns) == list(frame.columns) and out.notna().all().all()
    assert list(frame_imputer.feature_names_in_) == list(frame.columns)
    with pytest.raises(VaekitError, match="are not those the imputer was fitted on"):
        frame_imputer.transform(frame[frame.columns[::-1]])
    with pytest.raises(VaekitError, match="X has 3 columns; the imputer was fitted on 4"):
        imputer.transform(X[:, :3])


def test_parameters_follow_scikit_learns_rules_and_transform_needs_fit():
    imputer = VAEImputer(epochs=7, hidden=(4, 4))
    assert imputer.get_params()["epochs"] == 7 and clone(imputer).get_params() == imputer.get_params()
    with pytest.raises(NotFittedError, match="not fitted yet"):
        imputer.transform(np.zeros((2, 2)))
    with pytest.raises(VaekitError, match="not fitted yet"):
        imputer.get_feature_names_out()
    with pytest.raises(VaekitError, match="2-D array"):
        imputer.fit(np.zeros(5))
