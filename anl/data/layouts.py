"""Where a data set is looked for: the data root, the places and formats (layouts) a set may be in
under it, and the one-message DataNotFoundError listing every place searched and how to get it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from anl.data.checksums import Canonical
from anl.data.formats import Arrays


class DataNotFoundError(FileNotFoundError):
    """A data set is in none of the places searched; the message lists them and how to get it."""


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Folder holding the data sets: ``root`` if given, else ``$ANL_DATA``, else ``~/.cache/anl/data``."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get("ANL_DATA"):
        return Path(os.environ["ANL_DATA"]).expanduser()
    return Path.home() / ".cache" / "anl" / "data"


@dataclass(frozen=True)
class Layout:
    """One place and format a data set may be in."""

    path: Path
    expects: str  # what must be there, for the not-found message
    present: Callable[[Path], bool]
    read: Callable[[Path], Arrays | dict[str, torch.Tensor]]  # the dict for segmentation sets
    format: str  # for ImageDataset.source
    canonical: Canonical | None = None  # the path is this one file, verified before every read


@dataclass(frozen=True)
class DatasetSpec:
    """A data set: its title, per-channel mean and std (pixels in [0, 1]), torchvision's class that
    downloads it (empty: none), how to get it, and the layouts it may be in under a data root."""

    title: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    torchvision_class: str
    how_to_get: str
    layouts: Callable[[Path], list[Layout]]


def _root_origin(root: str | os.PathLike | None) -> str:
    if root is not None:
        return "from the root argument"
    if os.environ.get("ANL_DATA"):
        return "from $ANL_DATA"
    return "the default; set $ANL_DATA or pass root= to change it"


def not_found_message(spec: DatasetSpec, folder: Path, root: str | os.PathLike | None, layouts: list[Layout]) -> str:
    looked = "\n".join(f"  {layout.path}  ({layout.expects})" for layout in layouts)
    return (f"{spec.title} not found. Data root: {folder} ({_root_origin(root)}). Looked in:\n{looked}\n"
            f"To get it: {spec.how_to_get}.")
