"""The one place that imports torchvision.

The torchvision wheel that matches torch 2.13.0 is a CUDA build. On CPU torch its compiled
operators cannot load, and ``import torchvision`` fails while registering fake kernels for
``torchvision::nms`` and ``torchvision::qnms``. Defining those two schemas (no kernels) lets the
pure-Python parts (datasets, transforms, model definitions) import. Where the compiled ops do
load, nothing is defined.
"""

from __future__ import annotations

import sys
from types import ModuleType

import torch

_MISSING_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_library: torch.library.Library | None = None  # kept alive: dropping it drops the schemas


def import_torchvision() -> ModuleType:
    """Import and return torchvision, defining the op schemas its CPU-less wheel lacks."""
    global _library
    try:
        import torchvision
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        _library = torch.library.Library("torchvision", "DEF")
        for schema in _MISSING_SCHEMAS.values():
            _library.define(schema)
        import torchvision
    return torchvision
