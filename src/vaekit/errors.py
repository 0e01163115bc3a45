"""The project's own error types.

Every error a user can cause (a bad file, a bad argument, missing data) is raised as a
:class:`VaekitError` with a message that says what went wrong and how to fix it; the CLI prints
that message on one line and exits non-zero instead of showing a traceback.
"""

from __future__ import annotations


class VaekitError(Exception):
    """Base class for errors caused by user input, files or the environment."""


class DataError(VaekitError):
    """A data file or data set is missing, corrupt or inconsistent."""


class RunError(VaekitError):
    """A run folder is missing, incomplete or was written by an incompatible version."""


class GraphvizError(VaekitError):
    """Graphviz, the Python package or its ``dot`` program, is missing or failed to draw."""


class TrainingDivergedError(VaekitError):
    """The training loss became NaN or infinite; the last good checkpoint is left in place."""


class VaekitWarning(UserWarning):
    """Something in the user's input that vaekit works around but the user should know about
    (a column left out of the model, a setting adjusted); the CLI prints it on one line."""
