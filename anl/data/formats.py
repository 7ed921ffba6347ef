"""The on-disk formats read: IDX files (MNIST, Fashion-MNIST), the official CIFAR python pickles,
and JPEG files in a folder or a tar archive, read in place."""

from __future__ import annotations

import gzip
import pickle
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import numpy as np
import torch

from anl.data.checksums import Canonical, verify


IDX_STEMS = {  # split -> (images, labels)
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_EXPECTS = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-*: IDX, optionally .gz"
CIFAR_SIDE = 32
JPEG_SUFFIXES = (".jpg", ".jpeg")


class Arrays(NamedTuple):
    """What an image set's reader returns: train and test images (N, C, H, W) and labels, and the class names."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]


def split_tensors(images: np.ndarray, labels: np.ndarray, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Contiguous uint8 image tensor (N, C, H, W) and int64 label tensor, checked to match in length."""
    if len(images) != len(labels):
        raise ValueError(f"{where}: {len(images)} images but {len(labels)} labels")
    image_tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8).copy())
    return image_tensor, torch.from_numpy(np.asarray(labels, dtype=np.int64).copy())


def _idx_path(folder: Path, stem: str) -> Path | None:
    """The IDX file ``stem`` in ``folder``, uncompressed preferred, else ``stem.gz``; None if neither."""
    return next((path for path in (folder / stem, folder / f"{stem}.gz") if path.is_file()), None)


def has_idx_files(folder: Path) -> bool:
    return all(_idx_path(folder, stem) is not None for stems in IDX_STEMS.values() for stem in stems)


def _read_idx(path: Path, ndim: int, canonical: Canonical) -> np.ndarray:
    """Array of an IDX file of unsigned bytes: magic 0x00 0x00 0x08 <ndim>, ndim big-endian int32 sizes,
    data. Its decompressed bytes are verified against ``canonical`` first."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{path}: corrupt gzip file ({error})") from None
    verify(path, canonical, raw)
    header_size = 4 + 4 * ndim
    if len(raw) < header_size or raw[:3] != b"\x00\x00\x08" or raw[3] != ndim:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes with {ndim} dimension(s) "
                         f"(magic {raw[:4].hex()}, expected 000008{ndim:02x})")
    shape = tuple(int(size) for size in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    payload = np.frombuffer(raw, np.uint8, offset=header_size)
    if payload.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but the file holds {payload.size} data bytes")
    return payload.reshape(shape)


def read_idx_folder(folder: Path, classes: tuple[str, ...], canonical: dict[str, Canonical]) -> Arrays:
    splits = []
    for images_stem, labels_stem in IDX_STEMS.values():
        images_path, labels_path = _idx_path(folder, images_stem), _idx_path(folder, labels_stem)
        images = _read_idx(images_path, 3, canonical[images_stem])[:, None]
        labels = _read_idx(labels_path, 1, canonical[labels_stem])
        splits += split_tensors(images, labels, f"{images_path} and {labels_path}")
    return Arrays(*splits, classes=classes)


def has_files(names: tuple[str, ...]) -> Callable[[Path], bool]:
    return lambda folder: all((folder / name).is_file() for name in names)


def unpickle(path: Path, keys: tuple[str, ...]) -> dict:
    """The dict in an official CIFAR python pickle (Python 2 strings read as latin-1), with ``keys``."""
    with path.open("rb") as file:
        try:
            entry = pickle.load(file, encoding="latin1")
        except (pickle.UnpicklingError, EOFError, ValueError) as error:
            raise ValueError(f"{path}: not a CIFAR python pickle ({error})") from None
    missing = [key for key in keys if not isinstance(entry, dict) or key not in entry]
    if missing:
        raise ValueError(f"{path}: CIFAR pickle lacks key(s) {missing}")
    return entry


def cifar_pickle_split(paths: list[Path], label_key: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (rows of 3072 bytes: 1024 red, 1024 green, 1024 blue, row-major) and labels, in file order."""
    entries = [unpickle(path, ("data", label_key)) for path in paths]
    images, labels = [], []
    for path, entry in zip(paths, entries):
        rows = np.asarray(entry["data"], dtype=np.uint8)
        if rows.ndim != 2 or rows.shape[1] != 3 * CIFAR_SIDE**2:
            raise ValueError(f"{path}: 'data' must have shape (N, {3 * CIFAR_SIDE**2}), got {rows.shape}")
        images.append(rows.reshape(-1, 3, CIFAR_SIDE, CIFAR_SIDE))
        labels.append(np.asarray(entry[label_key]))
    return split_tensors(np.concatenate(images), np.concatenate(labels), ", ".join(map(str, paths)))


def jpeg_files(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name relative to ``path``, bytes) of every JPEG in a folder or a tar archive, read in place."""
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.suffix.lower() in JPEG_SUFFIXES and file.is_file():
                yield file.relative_to(path).as_posix(), file.read_bytes()
        return
    try:
        with tarfile.open(path, "r|*") as archive:
            for member in archive:
                if member.isfile() and PurePosixPath(member.name).suffix.lower() in JPEG_SUFFIXES:
                    yield member.name, archive.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: unreadable tar archive ({error})") from None
