"""Active Negative Loss: the losses and what a study of them needs, as a package behind a compendium.

The public surface, for use in your own training code, is what ``__all__`` lists: the losses and
the objective (:mod:`anl.losses`), the label- and mask-noise models (:mod:`anl.noise`,
:mod:`anl.mask_noise`), the data readers (:mod:`anl.data`) and the paper's networks
(:mod:`anl.models`); ``from anl import build`` and ``anl.losses.build`` are the same function.
Every other module (the trainer, the results store, the experiments and the book's helpers) is
internal to this compendium: its docstring starts with "Internal:", and it may change without notice.
Names are imported on first use, so ``import anl`` alone does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Each public name -> the module that defines it.
_PUBLIC = {
    "losses": ("build", "preset", "Objective", "Loss", "LOSSES", "PIXEL_LOSSES", "REDUCTIONS", "DATASETS",
               "NOISE_TYPES", "noise_type_of", "display_name", "canonical_name", "entropy_regulariser",
               "l1_norm"),
    "noise": ("apply_noise", "parse_noise", "NoisyLabels", "NOISE_KINDS", "NOISE_GRAMMAR"),
    "mask_noise": ("apply_mask_noise", "parse_mask_noise", "NoisyMasks", "MASK_NOISE_KINDS"),
    "data": ("load_dataset", "load_segmentation", "ImageDataset", "SegmentationDataset", "stratified_subset",
             "DataNotFoundError"),
    "models": ("build_model",),
}
_DEFINED_IN = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = ["__version__", *_PUBLIC, *_DEFINED_IN]


def __getattr__(name: str) -> Any:
    """A public name or module, imported on first use (PEP 562)."""
    if name in _PUBLIC:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _DEFINED_IN:
        return getattr(importlib.import_module(f"{__name__}.{_DEFINED_IN[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
