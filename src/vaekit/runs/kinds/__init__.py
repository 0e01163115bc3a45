"""The built-in model kinds, one module each, and the flags they share.

:mod:`vaekit.runs.registry` imports this package on first use, which registers the kinds in the
order the command line lists them. A new built-in kind is one module here and one entry in
:data:`BUILTIN_KINDS`.
"""

from vaekit.runs.kinds.image import ImageVAEKind
from vaekit.runs.kinds.semi_supervised import SemiSupervisedKind
from vaekit.runs.kinds.sequence import SequenceKind
from vaekit.runs.kinds.story import StoryKind
from vaekit.runs.kinds.tabular import TabularKind
from vaekit.runs.registry import ModelKind, register_model_kind

BUILTIN_KINDS: tuple[ModelKind, ...] = (
    ImageVAEKind(),
    SemiSupervisedKind(),
    TabularKind(),
    SequenceKind(),
    StoryKind(),
)
for _kind in BUILTIN_KINDS:
    register_model_kind(_kind)

__all__ = ["BUILTIN_KINDS", "ImageVAEKind", "SemiSupervisedKind", "SequenceKind", "StoryKind", "TabularKind"]
