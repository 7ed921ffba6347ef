"""Noisy label files of the CIFAR-10 training images, in CIFAR-10's original order: CIFAR-10N's
``CIFAR-10_human.pt`` and the fixed instance-dependent labels ``cifar10-idn/cifar10_dependent_<rate>.json``,
both checksum-verified."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from anl.data.checksums import Canonical, verify
from anl.data.images import CIFAR10_CLASSES
from anl.data.layouts import DataNotFoundError, data_root


CIFAR10N_SOURCE = "UCSC-REAL/cifar-10-100n (file CIFAR-10_human.pt)"
_CIFAR10N_LABELS = Canonical(
    2401007, "873e69c39cb9b5e97fb6bae2d60bb59b38a5cbc31d2b868f7903dcb2b9dd2310", "sha256",
    f"get CIFAR-10_human.pt again from {CIFAR10N_SOURCE}")
CIFAR10_IDN_FOLDER = "cifar10-idn"
CIFAR10_IDN_SOURCE = ("the code of the Joint Asymmetric Loss paper (ICCV 2025), repository "
                      "cswjl/joint-asymmetric-loss, folder datasets/data_dependent/config")
_CIFAR10_IDN_PREFIX = "cifar10_dependent_"
_CIFAR10_TRAIN_SIZE = 50_000
# sha256 as ../shared/data/README.md lists them, by rate.
_CIFAR10_IDN_LABELS = {rate: Canonical(150000, digest, "sha256",
                                        f"get {_CIFAR10_IDN_PREFIX}{rate:g}.json again from {CIFAR10_IDN_SOURCE}")
                       for rate, digest in {
    0.2: "5e90711bcd9a70a0a71a0d101703629a17b6feb5e66948ee3345bb6ea888017c",
    0.4: "8806ba3346b2f0a97cf7f0c80fbaa1246d0cf8eb21939828cb8688a9d3422e21",
    0.6: "9daf24bef47eb6fc7fc843355e3c18fb12e0b496298c4d3657f362849dcba402",
}.items()}


def verify_cifar10n_labels(path: str | os.PathLike) -> None:
    """Raise DataChecksumError if ``path`` has the size of CIFAR-10N's CIFAR-10_human.pt but not its
    sha256 (see the module docstring: checked once per path, size and mtime)."""
    verify(Path(path), _CIFAR10N_LABELS)


def read_cifar10n_labels(path: str | os.PathLike, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The int64 label columns ``columns`` of CIFAR-10N's CIFAR-10_human.pt at ``path`` (a torch
    pickle of a dict of arrays indexed in CIFAR-10's original training order), checksum-verified
    (verify_cifar10n_labels). FileNotFoundError naming the path and where to get the file;
    ValueError for a file that lacks a column."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10N labels not found at {path}; get them from {CIFAR10N_SOURCE}")
    verify_cifar10n_labels(path)
    table = torch.load(path, weights_only=False)
    missing = set(columns) - set(table)
    if missing:
        raise ValueError(f"{path} is not a CIFAR-10N label file: it lacks {sorted(missing)}")
    return {column: np.asarray(table[column], dtype=np.int64) for column in columns}


def cifar10_idn_rates(root: str | os.PathLike | None = None) -> tuple[float, ...]:
    """The rates with a fixed instance-dependent label file in data_root(root)/cifar10-idn, ascending."""
    folder = data_root(root) / CIFAR10_IDN_FOLDER
    rates = []
    for path in folder.glob(f"{_CIFAR10_IDN_PREFIX}*.json") if folder.is_dir() else ():
        try:
            rates.append(float(path.stem.removeprefix(_CIFAR10_IDN_PREFIX)))
        except ValueError:
            continue  # another file in the folder, not a label file of ours
    return tuple(sorted(rates))


def read_cifar10_idn_labels(rate: float, root: str | os.PathLike | None = None) -> np.ndarray:
    """The fixed instance-dependent noisy labels at ``rate`` of the 50,000 CIFAR-10 training images,
    as int64 in CIFAR-10's original training order.

    Read from data_root(root)/cifar10-idn/cifar10_dependent_<rate>.json (rate as ``{rate:g}``), one
    JSON list of 50,000 ints in [0, 10); the three published files (0.2, 0.4, 0.6) are
    sha256-checked. Their generator (Joint Asymmetric Loss paper's code): exactly int(rate x 50,000)
    images chosen uniformly, each flipped to a class drawn from softmax(x W_y) without the true
    class, x the augmented, mean/std-normalised image. DataNotFoundError (one line: the path and the
    rates with a file there) when the file is missing; ValueError for a malformed file.
    """
    path = data_root(root) / CIFAR10_IDN_FOLDER / f"{_CIFAR10_IDN_PREFIX}{float(rate):g}.json"
    if not path.is_file():
        available = ", ".join(f"{known:g}" for known in cifar10_idn_rates(root)) or "none"
        raise DataNotFoundError(f"fixed CIFAR-10 IDN labels at rate {float(rate):g} not found: {path}; rates with "
                                f"a file there: {available} (the files come from {CIFAR10_IDN_SOURCE})")
    verify(path, _CIFAR10_IDN_LABELS.get(float(rate)))
    try:
        labels = np.asarray(json.loads(path.read_text()))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a JSON file ({error})") from None
    valid = (labels.shape == (_CIFAR10_TRAIN_SIZE,) and np.issubdtype(labels.dtype, np.integer)
             and 0 <= labels.min() and labels.max() < len(CIFAR10_CLASSES))
    if not valid:
        raise ValueError(f"{path}: expected a JSON list of {_CIFAR10_TRAIN_SIZE} labels in [0, "
                         f"{len(CIFAR10_CLASSES)}), got shape {labels.shape} of {labels.dtype}")
    return labels.astype(np.int64)
