"""Image data sets as uint8 tensors (N, C, H, W) and int64 labels, read from their usual on-disk formats.

Data root: the ``root`` argument, else ``$ANL_DATA``, else ``~/.cache/anl/data``. Decoded caches live
in ``$ANL_CACHE``, else ``~/.cache/anl``. Formats read (nothing is extracted to disk):

- MNIST / Fashion-MNIST: the four IDX files under torchvision's names, gzipped or not.
- CIFAR-10: the official ``cifar-10-batches-py`` pickles (original order), or the ImageFolder JPEG
  copy ``cifar10-jpeg/{train,test}/<class>/NNNN.jpg`` as a folder or ``cifar10-jpeg.tar.gz``. The copy
  is read in class-major order (official class order), files in numeric order inside each class; its
  k-th image of class c is the k-th image of class c in CIFAR-10's original order, so labels indexed
  in original order (CIFAR-10N) join through the clean labels. Its ``source`` says "JPEG q75 copy".
- CIFAR-100: the official ``cifar-100-python`` pickles, fine labels.
- Label files of the CIFAR-10 training images, in CIFAR-10's original order: CIFAR-10N's
  ``CIFAR-10_human.pt`` (read_cifar10n_labels) and the fixed instance-dependent labels
  ``cifar10-idn/cifar10_dependent_<rate>.json`` (read_cifar10_idn_labels).

``download=True`` lets torchvision fetch a missing set (online only); the files it writes are then
read by the readers here.

Checksums: a file read here that has the size of a known canonical file must have its checksum, else
DataChecksumError (which names the file, both checksums and how to get the right one). Checked: the
MNIST and Fashion-MNIST IDX files (sha256 of the decompressed bytes, so any gzip encoding of them
and torchvision's extracted files pass), the official CIFAR-10 python batches (md5 as torchvision
lists them), the CIFAR-10 JPEG copy and the ISIC 2017 copy as archives (sha256), CIFAR-10N's
label file (verify_cifar10n_labels) and the fixed instance-dependent CIFAR-10 labels (sha256). Not checked: CIFAR-100, extracted folders, the original ISIC
files. A file of another size is other data (a subset, a test fixture) and is read unchecked. A
file that passed is remembered in the cache by path, size and mtime and not hashed again.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
import os
import pickle
import tarfile
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

from anl.atomic import atomic_write_bytes


DATASETS = ("mnist", "fashion_mnist", "cifar10", "cifar100")
MNIST_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

_IDX_STEMS = {  # split -> (images, labels)
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_EXPECTS = "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-*: IDX, optionally .gz"
_CIFAR10_BATCHES = tuple(f"data_batch_{index}" for index in range(1, 6))
_CIFAR_SIDE = 32
_JPEG_SUFFIXES = (".jpg", ".jpeg")
_JPEG_COPY = "JPEG q75 copy of CIFAR-10"
_JPEG_EXPECTS = "{train,test}/<class>/NNNN.jpg"
_CACHE_FORMAT = 1  # bump when the cached tensors change meaning


class DataNotFoundError(FileNotFoundError):
    """A data set is in none of the places searched; the message lists them and how to get it."""


class DataChecksumError(ValueError):
    """A data file has the size of a canonical file but not its checksum; the message names the file,
    the expected and the actual checksum, and how to get the right file."""


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Train and test images (uint8, (N, C, H, W), contiguous) with int64 labels in [0, num_classes)."""

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    mean: tuple[float, ...]  # per channel, pixels scaled to [0, 1]
    std: tuple[float, ...]
    source: str  # where it was read from, and in which format

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
            if images.dtype != torch.uint8 or images.dim() != 4 or not images.is_contiguous():
                raise ValueError(f"{self.name} {split} images must be contiguous uint8 (N, C, H, W), "
                                 f"got {images.dtype} {tuple(images.shape)}")
            if labels.dtype != torch.int64 or labels.shape != images.shape[:1]:
                raise ValueError(f"{self.name} {split} labels must be int64 of shape ({images.shape[0]},), "
                                 f"got {labels.dtype} {tuple(labels.shape)}")
            if labels.numel() and not 0 <= int(labels.min()) <= int(labels.max()) < len(self.classes):
                raise ValueError(f"{self.name} {split} labels must lie in [0, {len(self.classes)}), "
                                 f"got [{int(labels.min())}, {int(labels.max())}] from {self.source}")
        if not len(self.mean) == len(self.std) == self.train_images.shape[1]:
            raise ValueError(f"{self.name}: mean and std need one value per channel "
                             f"({self.train_images.shape[1]}), got {len(self.mean)} and {len(self.std)}")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        channels, height, width = self.train_images.shape[1:]
        return channels, height, width


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Folder holding the data sets: ``root`` if given, else ``$ANL_DATA``, else ``~/.cache/anl/data``."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get("ANL_DATA"):
        return Path(os.environ["ANL_DATA"]).expanduser()
    return Path.home() / ".cache" / "anl" / "data"


def cache_dir() -> Path:
    """Folder for decoded caches: ``$ANL_CACHE``, else ``~/.cache/anl``."""
    if os.environ.get("ANL_CACHE"):
        return Path(os.environ["ANL_CACHE"]).expanduser()
    return Path.home() / ".cache" / "anl"


class _Arrays(NamedTuple):
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]


@dataclass(frozen=True)
class _Layout:
    """One place and format a data set may be in."""

    path: Path
    expects: str  # what must be there, for the not-found message
    present: Callable[[Path], bool]
    read: Callable[[Path], _Arrays | dict[str, torch.Tensor]]  # the dict for segmentation sets
    format: str  # for ImageDataset.source
    canonical: _Canonical | None = None  # the path is this one file, verified before every read


@dataclass(frozen=True)
class _Spec:
    title: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    torchvision_class: str
    how_to_get: str
    layouts: Callable[[Path], list[_Layout]]


def _split_tensors(images: np.ndarray, labels: np.ndarray, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Contiguous uint8 image tensor (N, C, H, W) and int64 label tensor, checked to match in length."""
    if len(images) != len(labels):
        raise ValueError(f"{where}: {len(images)} images but {len(labels)} labels")
    image_tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8).copy())
    return image_tensor, torch.from_numpy(np.asarray(labels, dtype=np.int64).copy())


# --- checksums ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Canonical:
    """A canonical data file: ``size`` bytes whose ``algorithm`` digest is ``digest``."""

    size: int
    digest: str
    algorithm: str  # a hashlib name
    how_to_get: str  # for the mismatch message


def _canonical_files(algorithm: str, how_to_get: str, files: dict[str, tuple[int, str]]) -> dict[str, _Canonical]:
    """{name: (size, digest)} as _Canonical entries sharing ``algorithm`` and ``how_to_get``."""
    return {name: _Canonical(size, digest, algorithm, how_to_get) for name, (size, digest) in files.items()}


def _digest(path: Path, algorithm: str, content: bytes | None = None) -> str:
    """Hex digest of ``content`` if given, else of the file at ``path``."""
    if content is not None:
        return hashlib.new(algorithm, content).hexdigest()
    with path.open("rb") as file:
        return hashlib.file_digest(file, algorithm).hexdigest()


def _verify(path: Path, canonical: _Canonical | None, content: bytes | None = None) -> None:
    """Raise DataChecksumError if the bytes of ``path`` (``content`` where given: an IDX file's
    decompressed bytes) have ``canonical``'s size but not its digest.

    A pass is recorded in cache_dir()/verified, keyed by path, size and mtime, and not hashed again.
    Nothing is checked without ``canonical`` or when the size differs (other data, not a copy of it).
    """
    if canonical is None or (path.stat().st_size if content is None else len(content)) != canonical.size:
        return
    marker = cache_dir() / "verified" / f"{path.name}-{_fingerprint(path)}-{canonical.digest[:16]}"
    if marker.is_file():
        return
    actual = _digest(path, canonical.algorithm, content)
    if actual != canonical.digest:
        what = f"{path} (decompressed)" if content is not None and path.suffix == ".gz" else str(path)
        raise DataChecksumError(f"checksum mismatch for {what}: expected {canonical.algorithm} {canonical.digest}, "
                                f"got {actual}. The file is corrupt or altered; replace it: {canonical.how_to_get}.")
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError as error:
        warnings.warn(f"could not record the verified checksum of {path} at {marker}: {error}", stacklevel=2)


# --- IDX (MNIST, Fashion-MNIST) ---------------------------------------------------------------

def _idx_path(folder: Path, stem: str) -> Path | None:
    """The IDX file ``stem`` in ``folder``, uncompressed preferred, else ``stem.gz``; None if neither."""
    return next((path for path in (folder / stem, folder / f"{stem}.gz") if path.is_file()), None)


def _has_idx_files(folder: Path) -> bool:
    return all(_idx_path(folder, stem) is not None for stems in _IDX_STEMS.values() for stem in stems)


def _read_idx(path: Path, ndim: int, canonical: _Canonical) -> np.ndarray:
    """Array of an IDX file of unsigned bytes: magic 0x00 0x00 0x08 <ndim>, ndim big-endian int32 sizes,
    data. Its decompressed bytes are verified against ``canonical`` first."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{path}: corrupt gzip file ({error})") from None
    _verify(path, canonical, raw)
    header_size = 4 + 4 * ndim
    if len(raw) < header_size or raw[:3] != b"\x00\x00\x08" or raw[3] != ndim:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes with {ndim} dimension(s) "
                         f"(magic {raw[:4].hex()}, expected 000008{ndim:02x})")
    shape = tuple(int(size) for size in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    payload = np.frombuffer(raw, np.uint8, offset=header_size)
    if payload.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but the file holds {payload.size} data bytes")
    return payload.reshape(shape)


def _read_idx_folder(folder: Path, classes: tuple[str, ...], canonical: dict[str, _Canonical]) -> _Arrays:
    splits = []
    for images_stem, labels_stem in _IDX_STEMS.values():
        images_path, labels_path = _idx_path(folder, images_stem), _idx_path(folder, labels_stem)
        images = _read_idx(images_path, 3, canonical[images_stem])[:, None]
        labels = _read_idx(labels_path, 1, canonical[labels_stem])
        splits += _split_tensors(images, labels, f"{images_path} and {labels_path}")
    return _Arrays(*splits, classes=classes)


def _idx_layouts(folders: list[Path], classes: tuple[str, ...], canonical: dict[str, _Canonical]) -> list[_Layout]:
    read = partial(_read_idx_folder, classes=classes, canonical=canonical)
    return [_Layout(folder, _IDX_EXPECTS, _has_idx_files, read, "IDX") for folder in folders]


# --- CIFAR python pickles -------------------------------------------------------------------

def _has_files(names: tuple[str, ...]) -> Callable[[Path], bool]:
    return lambda folder: all((folder / name).is_file() for name in names)


def _unpickle(path: Path, keys: tuple[str, ...]) -> dict:
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


def _cifar_pickle_split(paths: list[Path], label_key: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (rows of 3072 bytes: 1024 red, 1024 green, 1024 blue, row-major) and labels, in file order."""
    entries = [_unpickle(path, ("data", label_key)) for path in paths]
    images, labels = [], []
    for path, entry in zip(paths, entries):
        rows = np.asarray(entry["data"], dtype=np.uint8)
        if rows.ndim != 2 or rows.shape[1] != 3 * _CIFAR_SIDE**2:
            raise ValueError(f"{path}: 'data' must have shape (N, {3 * _CIFAR_SIDE**2}), got {rows.shape}")
        images.append(rows.reshape(-1, 3, _CIFAR_SIDE, _CIFAR_SIDE))
        labels.append(np.asarray(entry[label_key]))
    return _split_tensors(np.concatenate(images), np.concatenate(labels), ", ".join(map(str, paths)))


def _read_cifar10_batches(folder: Path) -> _Arrays:
    for name, canonical in _CIFAR10_BATCH_FILES.items():
        _verify(folder / name, canonical)
    train = _cifar_pickle_split([folder / name for name in _CIFAR10_BATCHES], "labels")
    test = _cifar_pickle_split([folder / "test_batch"], "labels")
    return _Arrays(*train, *test, classes=CIFAR10_CLASSES)


def _read_cifar100(folder: Path) -> _Arrays:
    train = _cifar_pickle_split([folder / "train"], "fine_labels")
    test = _cifar_pickle_split([folder / "test"], "fine_labels")
    classes = tuple(_unpickle(folder / "meta", ("fine_label_names",))["fine_label_names"])
    return _Arrays(*train, *test, classes=classes)


# --- CIFAR-10 JPEG copy (folder or tar), decoded once and cached ----------------------------

def _jpeg_files(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name relative to ``path``, bytes) of every JPEG in a folder or a tar archive, read in place."""
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.suffix.lower() in _JPEG_SUFFIXES and file.is_file():
                yield file.relative_to(path).as_posix(), file.read_bytes()
        return
    try:
        with tarfile.open(path, "r|*") as archive:
            for member in archive:
                if member.isfile() and PurePosixPath(member.name).suffix.lower() in _JPEG_SUFFIXES:
                    yield member.name, archive.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: unreadable tar archive ({error})") from None


def _decode_jpeg(data: bytes) -> np.ndarray:
    """RGB pixels (H, W, 3) uint8 of one JPEG file."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def _decode_cifar10_jpeg(path: Path) -> dict[str, torch.Tensor]:
    """Decode every image of the copy: per split, class-major, numeric file order inside a class.

    Inside each class the files must be numbered 0..n-1 (the original CIFAR-10 order), else ValueError.
    """
    found: dict[str, list[tuple[int, int, np.ndarray]]] = {"train": [], "test": []}
    for name, data in _jpeg_files(path):
        member = PurePosixPath(name)
        parts = member.parts
        if (len(parts) < 3 or parts[-3] not in found or parts[-2] not in CIFAR10_CLASSES
                or not (member.stem.isascii() and member.stem.isdigit())):
            raise ValueError(f"{path}: unexpected image {name}; expected {_JPEG_EXPECTS} "
                             f"with <class> one of {', '.join(CIFAR10_CLASSES)}")
        try:
            pixels = _decode_jpeg(data)
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: cannot decode {name} ({error})") from None
        if pixels.shape != (_CIFAR_SIDE, _CIFAR_SIDE, 3):
            raise ValueError(f"{path}: {name} is {pixels.shape[1]}x{pixels.shape[0]}, "
                             f"expected {_CIFAR_SIDE}x{_CIFAR_SIDE}")
        found[parts[-3]].append((CIFAR10_CLASSES.index(parts[-2]), int(member.stem), pixels))
    tensors = {}
    for split, items in found.items():
        items.sort(key=lambda item: item[:2])
        for label, group in itertools.groupby(items, key=lambda item: item[0]):
            numbers = [number for _, number, _ in group]
            if numbers != list(range(len(numbers))):
                raise ValueError(f"{path}: {split}/{CIFAR10_CLASSES[label]} files are not numbered "
                                 f"0..{len(numbers) - 1} without gaps; the original order is lost")
        if not items:
            raise ValueError(f"{path}: no {split} images; expected {_JPEG_EXPECTS}")
        images = np.stack([pixels for _, _, pixels in items]).transpose(0, 3, 1, 2)
        labels = np.array([label for label, _, _ in items])
        tensors[f"{split}_images"], tensors[f"{split}_labels"] = _split_tensors(images, labels, str(path))
    return tensors


def _fingerprint(path: Path) -> str:
    """Short hash of the resolved path and the size + mtime of the archive, or of every file in the folder."""
    path = path.resolve()
    files = sorted(file for file in path.rglob("*") if file.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256(f"format {_CACHE_FORMAT}\n{path}\n".encode())
    for file in files:
        stat = file.stat()
        digest.update(f"{file.relative_to(path)}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _cached_tensors(cache: Path, build: Callable[[], dict[str, torch.Tensor]], what: str) -> dict[str, torch.Tensor]:
    """The tensors saved at ``cache``; if absent or unreadable (a damaged cache is decoded again,
    with a warning naming it), ``build()`` them and save them atomically (a failed save only warns)."""
    if cache.is_file():
        try:
            return torch.load(cache, weights_only=True)
        except Exception as error:  # torch.load of damaged bytes: EOFError, KeyError, UnpicklingError, RuntimeError...
            warnings.warn(f"the decoded {what} cached at {cache} cannot be read ({type(error).__name__}: "
                          f"{str(error).splitlines()[0] if str(error) else 'no detail'}); decoding it again",
                          stacklevel=4)
    tensors = build()
    try:
        buffer = io.BytesIO()
        torch.save(tensors, buffer)
        atomic_write_bytes(cache, buffer.getvalue())
    except OSError as error:
        warnings.warn(f"could not cache decoded {what} at {cache}: {error}", stacklevel=4)
    return tensors


def _read_cifar10_jpeg(path: Path) -> _Arrays:
    """The JPEG copy, from cache_dir()/cifar10-jpeg-<fingerprint>.pt, decoding and caching it if absent."""
    cache = cache_dir() / f"cifar10-jpeg-{_fingerprint(path)}.pt"
    tensors = _cached_tensors(cache, partial(_decode_cifar10_jpeg, path), "CIFAR-10 JPEG copy")
    return _Arrays(**tensors, classes=CIFAR10_CLASSES)


# --- the data sets --------------------------------------------------------------------------

def _cifar10_layouts(root: Path) -> list[_Layout]:
    return [
        _Layout(root / "cifar-10-batches-py", "data_batch_1..5, test_batch",
                _has_files(_CIFAR10_BATCHES + ("test_batch",)), _read_cifar10_batches,
                "official CIFAR-10 python batches"),
        _Layout(root / "cifar10-jpeg", _JPEG_EXPECTS, Path.is_dir, _read_cifar10_jpeg, _JPEG_COPY),
        _Layout(root / "cifar10-jpeg.tar.gz", f"cifar10-jpeg/{_JPEG_EXPECTS}", Path.is_file, _read_cifar10_jpeg,
                _JPEG_COPY, _CIFAR10_JPEG_ARCHIVE),
    ]


def _cifar100_layouts(root: Path) -> list[_Layout]:
    return [_Layout(root / "cifar-100-python", "train, test, meta", _has_files(("train", "test", "meta")),
                    _read_cifar100, "official CIFAR-100 python files, fine labels")]


_TORONTO = "the official CIFAR page (www.cs.toronto.edu/~kriz/cifar.html)"
_SPECS = {
    "mnist": _Spec(
        "MNIST", (0.1307,), (0.3081,), "MNIST",
        "load_dataset('mnist', download=True) when online (torchvision fetches the IDX files), "
        "or put the four IDX files from Yann LeCun's MNIST page in <data root>/mnist",
        lambda root: _idx_layouts([root / "mnist", root / "MNIST" / "raw", root], MNIST_CLASSES, _MNIST_IDX)),
    "fashion_mnist": _Spec(
        "Fashion-MNIST", (0.2860,), (0.3530,), "FashionMNIST",
        "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or load_dataset('fashion_mnist', "
        "download=True) when online, or put the four IDX files from Zalando Research's fashion-mnist "
        "GitHub repository in <data root>/fashion_mnist",
        lambda root: _idx_layouts([root / "fashion_mnist", root / "fashion-mnist", root / "FashionMNIST" / "raw",
                                   DEBIAN_FASHION_MNIST], FASHION_MNIST_CLASSES, _FASHION_MNIST_IDX)),
    "cifar10": _Spec(
        "CIFAR-10", (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), "CIFAR10",
        f"load_dataset('cifar10', download=True) when online, or extract cifar-10-python.tar.gz from "
        f"{_TORONTO} into <data root>",
        _cifar10_layouts),
    "cifar100": _Spec(
        "CIFAR-100", (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762), "CIFAR100",
        f"load_dataset('cifar100', download=True) when online, or extract cifar-100-python.tar.gz from "
        f"{_TORONTO} into <data root>",
        _cifar100_layouts),
}

# The IDX files' decompressed bytes, computed from the canonical files: ../shared/data/mnist (whose
# README lists the sha256 of the .gz files) and Debian's dataset-fashion-mnist.
_MNIST_IDX = _canonical_files("sha256", _SPECS["mnist"].how_to_get, {
    "train-images-idx3-ubyte": (47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
})
_FASHION_MNIST_IDX = _canonical_files("sha256", _SPECS["fashion_mnist"].how_to_get, {
    "train-images-idx3-ubyte": (47040016, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels-idx1-ubyte": (60008, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "t10k-images-idx3-ubyte": (7840016, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "t10k-labels-idx1-ubyte": (10008, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
})
# md5 as torchvision.datasets.CIFAR10 lists them; sizes as published listings of the extracted
# archive give them (a wrong size would only leave a file unchecked, never reject a good one).
_CIFAR10_BATCH_FILES = _canonical_files("md5", _SPECS["cifar10"].how_to_get, {
    "data_batch_1": (31035704, "c99cafc152244af753f735de768cd75f"),
    "data_batch_2": (31035320, "d4bba439e000b95fd0a9bffe97cbabec"),
    "data_batch_3": (31035999, "54ebc095f3ab1f0389bbae665268c751"),
    "data_batch_4": (31035696, "634d18415352ddfa80567beed471001a"),
    "data_batch_5": (31035623, "482c414d41f54cd18b22e5b47cb7c3cb"),
    "test_batch": (31035526, "40351d587109b95175f43aff81a1287e"),
})
# sha256 as ../shared/data/README.md lists it.
_CIFAR10_JPEG_ARCHIVE = _Canonical(
    19434847, "04573a13a3e489ab931f4158073892b52438bc10cae51e746f630b0b6487340f", "sha256",
    "copy cifar10-jpeg.tar.gz again from the project's shared data (its README lists the sha256 of every "
    f"file), or use the official batches instead: {_SPECS['cifar10'].how_to_get}")
CIFAR10N_SOURCE = "UCSC-REAL/cifar-10-100n (file CIFAR-10_human.pt)"
_CIFAR10N_LABELS = _Canonical(
    2401007, "873e69c39cb9b5e97fb6bae2d60bb59b38a5cbc31d2b868f7903dcb2b9dd2310", "sha256",
    f"get CIFAR-10_human.pt again from {CIFAR10N_SOURCE}")
CIFAR10_IDN_FOLDER = "cifar10-idn"
CIFAR10_IDN_SOURCE = ("the code of the Joint Asymmetric Loss paper (ICCV 2025), repository "
                      "cswjl/joint-asymmetric-loss, folder datasets/data_dependent/config")
_CIFAR10_IDN_PREFIX = "cifar10_dependent_"
_CIFAR10_TRAIN_SIZE = 50_000
# sha256 as ../shared/data/README.md lists them, by rate.
_CIFAR10_IDN_LABELS = {rate: _Canonical(150000, digest, "sha256",
                                        f"get {_CIFAR10_IDN_PREFIX}{rate:g}.json again from {CIFAR10_IDN_SOURCE}")
                       for rate, digest in {
    0.2: "5e90711bcd9a70a0a71a0d101703629a17b6feb5e66948ee3345bb6ea888017c",
    0.4: "8806ba3346b2f0a97cf7f0c80fbaa1246d0cf8eb21939828cb8688a9d3422e21",
    0.6: "9daf24bef47eb6fc7fc843355e3c18fb12e0b496298c4d3657f362849dcba402",
}.items()}


def _root_origin(root: str | os.PathLike | None) -> str:
    if root is not None:
        return "from the root argument"
    if os.environ.get("ANL_DATA"):
        return "from $ANL_DATA"
    return "the default; set $ANL_DATA or pass root= to change it"


def _not_found_message(spec: _Spec, folder: Path, root: str | os.PathLike | None, layouts: list[_Layout]) -> str:
    looked = "\n".join(f"  {layout.path}  ({layout.expects})" for layout in layouts)
    return (f"{spec.title} not found. Data root: {folder} ({_root_origin(root)}). Looked in:\n{looked}\n"
            f"To get it: {spec.how_to_get}.")


def _download(spec: _Spec, folder: Path) -> None:
    """Let torchvision fetch the data set into ``folder`` in its own layout (which the readers search)."""
    from anl._torchvision import import_torchvision

    folder.mkdir(parents=True, exist_ok=True)
    getattr(import_torchvision().datasets, spec.torchvision_class)(root=str(folder), train=True, download=True)


def load_dataset(name: str, root: str | os.PathLike | None = None, download: bool = False) -> ImageDataset:
    """Load ``name`` (one of DATASETS) from the first place under data_root(root) that holds it.

    Raises DataNotFoundError (listing every place searched and how to get the data) when it is
    nowhere and ``download`` is false or torchvision could not fetch it; ValueError for an unknown
    name or a corrupt file, DataChecksumError (a ValueError) for a file failing its checksum.
    """
    if name not in _SPECS:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(DATASETS)}")
    spec, folder = _SPECS[name], data_root(root)
    layouts = spec.layouts(folder)
    found = next((layout for layout in layouts if layout.present(layout.path)), None)
    if found is None and download:
        _download(spec, folder)
        found = next((layout for layout in layouts if layout.present(layout.path)), None)
    if found is None:
        raise DataNotFoundError(_not_found_message(spec, folder, root, layouts))
    _verify(found.path, found.canonical)
    arrays = found.read(found.path)
    return ImageDataset(name=name, train_images=arrays.train_images, train_labels=arrays.train_labels,
                        test_images=arrays.test_images, test_labels=arrays.test_labels, classes=arrays.classes,
                        mean=spec.mean, std=spec.std, source=f"{found.path} ({found.format})")


def verify_cifar10n_labels(path: str | os.PathLike) -> None:
    """Raise DataChecksumError if ``path`` has the size of CIFAR-10N's CIFAR-10_human.pt but not its
    sha256 (see the module docstring: checked once per path, size and mtime)."""
    _verify(Path(path), _CIFAR10N_LABELS)


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
    _verify(path, _CIFAR10_IDN_LABELS.get(float(rate)))
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


def stratified_subset(labels: torch.Tensor, size: int, seed: int = 0) -> torch.Tensor:
    """Sorted int64 indices of ``size`` items drawn per class, deterministic in ``seed``.

    Class c with n_c of the N items gets floor(size * n_c / N) items; the size - sum of floors items
    left go one each to the classes with the largest remainders (size * n_c mod N; ties to the
    smaller label). Within a class the items are a uniform draw without replacement.
    """
    dtype = labels.dtype
    if labels.dim() != 1 or dtype.is_floating_point or dtype.is_complex or dtype == torch.bool:
        raise ValueError(f"labels must be a 1-D integer tensor, got {labels.dtype} {tuple(labels.shape)}")
    labels, total = labels.cpu(), labels.numel()
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= total:
        raise ValueError(f"size must be an integer in [0, {total}], got {size!r}")
    classes, counts = torch.unique(labels, return_counts=True)
    quotas = [size * int(count) // total for count in counts]
    remainders = [size * int(count) % total for count in counts]
    by_remainder = sorted(range(len(quotas)), key=lambda index: (-remainders[index], index))
    for index in by_remainder[: size - sum(quotas)]:
        quotas[index] += 1
    generator = torch.Generator().manual_seed(seed)
    chosen = [torch.empty(0, dtype=torch.int64)]
    for label, quota in zip(classes, quotas):
        members = torch.nonzero(labels == label).flatten()
        chosen.append(members[torch.randperm(len(members), generator=generator)[:quota]])
    return torch.sort(torch.cat(chosen)).values


# === Segmentation: ISIC 2017 Part 1 (lesion masks) ==========================================
# Layouts read (under the data root), first match wins:
# - ``isic2017-256x192.tar.gz`` or its extracted folder ``isic2017-256x192/``: the resized copy,
#   ``{train,validation,test}{x,y}/img{x,y}<N>.jpg``, image N paired with mask N, N = 1..n;
# - the original ISIC 2017 Part 1 folders (``ISIC-2017_Training_Data/ISIC_<id>.jpg`` with
#   ``ISIC-2017_Training_Part1_GroundTruth/ISIC_<id>_segmentation.png``, likewise Validation and
#   Test_v2 or Test) in ``<root>/ISIC-2017`` or in the root itself, sorted by id.
# Every layout is brought to 256x192 (images bilinear, masks nearest); masks are lesion where the
# grey value is > 127 (the copy's masks are JPEG, hence not exactly 0/255).

SEGMENTATION_DATASETS = ("isic2017",)
SEGMENTATION_SPLITS = ("train", "validation", "test")
ISIC2017_SIZE = (256, 192)  # (width, height) of every load without ``size``
MASK_THRESHOLD = 127
_ISIC_COPY = "isic2017-256x192"
_ISIC_COPY_EXPECTS = "{train,validation,test}{x,y}/img{x,y}<N>.jpg, image N with mask N"
_ISIC_ORIGINAL_SPLITS = {  # split -> (image folder, mask folder) suffixes after "ISIC-2017_"
    "train": ("Training_Data", "Training_Part1_GroundTruth"),
    "validation": ("Validation_Data", "Validation_Part1_GroundTruth"),
    "test": ("Test_v2_Data", "Test_v2_Part1_GroundTruth"),
}
_ISIC_ORIGINAL_EXPECTS = ("ISIC-2017_{Training,Validation,Test_v2}_Data/ISIC_<id>.jpg and "
                          "ISIC-2017_*_Part1_GroundTruth/ISIC_<id>_segmentation.png")


@dataclass(frozen=True, eq=False)
class SegmentationDataset:
    """Images (uint8, (N, 3, H, W), contiguous) and boolean lesion masks (N, H, W) for the train,
    validation and test splits; mask n belongs to image n."""

    name: str
    train_images: torch.Tensor
    train_masks: torch.Tensor
    validation_images: torch.Tensor
    validation_masks: torch.Tensor
    test_images: torch.Tensor
    test_masks: torch.Tensor
    mean: tuple[float, ...]  # per channel, pixels scaled to [0, 1]
    std: tuple[float, ...]
    source: str

    def __post_init__(self) -> None:
        height, width = self.train_images.shape[2:]
        for split in SEGMENTATION_SPLITS:
            images, masks = self.split(split)
            if (images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3
                    or not images.is_contiguous() or tuple(images.shape[2:]) != (height, width)):
                raise ValueError(f"{self.name} {split} images must be contiguous uint8 (N, 3, {height}, "
                                 f"{width}), got {images.dtype} {tuple(images.shape)}")
            if masks.dtype != torch.bool or tuple(masks.shape) != (len(images), height, width):
                raise ValueError(f"{self.name} {split} masks must be bool ({len(images)}, {height}, {width}), "
                                 f"got {masks.dtype} {tuple(masks.shape)}")

    def split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(images, masks) of ``split`` (one of SEGMENTATION_SPLITS)."""
        if split not in SEGMENTATION_SPLITS:
            raise ValueError(f"unknown split {split!r}; valid: {', '.join(SEGMENTATION_SPLITS)}")
        return getattr(self, f"{split}_images"), getattr(self, f"{split}_masks")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the images and masks."""
        return int(self.train_images.shape[3]), int(self.train_images.shape[2])


def _check_size(size) -> tuple[int, int]:
    """``size`` as (width, height) of positive ints, else ValueError."""
    valid = (isinstance(size, (tuple, list)) and len(size) == 2
             and all(isinstance(side, int) and not isinstance(side, bool) and side >= 1 for side in size))
    if not valid:
        raise ValueError(f"size must be (width, height) with positive integers, e.g. (128, 96), got {size!r}")
    return int(size[0]), int(size[1])


def _pil_resize(pixels: np.ndarray, size: tuple[int, int], resample: int) -> np.ndarray:
    """(H, W[, C]) uint8 pixels resized to (width, height) by PIL."""
    if pixels.shape[1::-1] == size:
        return pixels
    return np.asarray(Image.fromarray(pixels).resize(size, resample))


def resize_images(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """uint8 (N, C, H, W) images resized to size = (width, height), bilinear (PIL, antialiased
    when shrinking)."""
    size = _check_size(size)
    pixels = images.permute(0, 2, 3, 1).numpy()
    resized = [_pil_resize(image, size, Image.BILINEAR) for image in pixels]
    stacked = np.stack(resized) if resized else np.zeros((0, size[1], size[0], images.shape[1]), np.uint8)
    return torch.from_numpy(np.ascontiguousarray(stacked.transpose(0, 3, 1, 2)))


def resize_masks(masks: torch.Tensor | np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """Boolean (N, H, W) masks resized to size = (width, height), nearest neighbour (PIL)."""
    size = _check_size(size)
    pixels = np.asarray(masks, dtype=bool).astype(np.uint8)
    resized = [_pil_resize(mask, size, Image.NEAREST) for mask in pixels]
    stacked = np.stack(resized) if resized else np.zeros((0, size[1], size[0]), np.uint8)
    return torch.from_numpy(stacked.astype(bool))


def _decode_resized(data: bytes, mode: str, size: tuple[int, int]) -> np.ndarray:
    """Pixels of one image file in PIL ``mode`` ("RGB" or "L") at size = (width, height): bilinear
    for RGB, nearest for L. Large JPEGs are first reduced by JPEG draft mode (a DCT scaling, never
    below twice the target size)."""
    with Image.open(io.BytesIO(data)) as image:
        image.draft(mode, (2 * size[0], 2 * size[1]))
        pixels = np.asarray(image.convert(mode))
    return _pil_resize(pixels, size, Image.BILINEAR if mode == "RGB" else Image.NEAREST)


def _segmentation_pairs(pairs: list[tuple[bytes, bytes]], where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode (image bytes, mask bytes) pairs at 256x192: uint8 (N, 3, H, W) and bool (N, H, W) masks."""
    images, masks = [], []
    for index, (image_bytes, mask_bytes) in enumerate(pairs):
        try:
            images.append(_decode_resized(image_bytes, "RGB", ISIC2017_SIZE))
            masks.append(_decode_resized(mask_bytes, "L", ISIC2017_SIZE) > MASK_THRESHOLD)
        except (OSError, ValueError) as error:
            raise ValueError(f"{where}: cannot decode pair {index} ({error})") from None
    width, height = ISIC2017_SIZE
    image_array = np.stack(images).transpose(0, 3, 1, 2) if images else np.zeros((0, 3, height, width), np.uint8)
    mask_array = np.stack(masks) if masks else np.zeros((0, height, width), bool)
    return torch.from_numpy(np.ascontiguousarray(image_array)), torch.from_numpy(mask_array)


def _decode_isic_copy(path: Path) -> dict[str, torch.Tensor]:
    """The resized copy (folder or tar): per split, image N with mask N, N = 1..n without gaps."""
    found: dict[tuple[str, str], dict[int, bytes]] = {
        (split, kind): {} for split in SEGMENTATION_SPLITS for kind in "xy"}
    for name, payload in _jpeg_files(path):
        member = PurePosixPath(name)
        folder, stem = member.parent.name, member.stem
        split, kind = folder[:-1], folder[-1:]
        number = stem[4:]
        if (split, kind) not in found or stem[:4] != f"img{kind}" or not (number.isascii() and number.isdigit()):
            raise ValueError(f"{path}: unexpected file {name}; expected {_ISIC_COPY_EXPECTS}")
        found[split, kind][int(number)] = payload
    tensors = {}
    for split in SEGMENTATION_SPLITS:
        images, masks = found[split, "x"], found[split, "y"]
        expected = list(range(1, len(images) + 1))
        if not images or sorted(images) != expected or sorted(masks) != expected:
            raise ValueError(f"{path}: {split}x and {split}y must hold img{{x,y}}1..n for the same n, "
                             f"got {len(images)} images and {len(masks)} masks")
        pairs = [(images[number], masks[number]) for number in expected]
        tensors[f"{split}_images"], tensors[f"{split}_masks"] = _segmentation_pairs(pairs, f"{path} {split}")
    return tensors


def _isic_original_folders(folder: Path, split: str) -> tuple[Path, Path]:
    """(image folder, mask folder) of ``split`` in the original layout; Test_v2 or Test for the test split."""
    images, masks = _ISIC_ORIGINAL_SPLITS[split]
    if split == "test" and not (folder / f"ISIC-2017_{images}").is_dir():
        images, masks = images.replace("_v2", ""), masks.replace("_v2", "")
    return folder / f"ISIC-2017_{images}", folder / f"ISIC-2017_{masks}"


def _has_isic_original(folder: Path) -> bool:
    return all(part.is_dir() for split in SEGMENTATION_SPLITS for part in _isic_original_folders(folder, split))


def _decode_isic_original(folder: Path) -> dict[str, torch.Tensor]:
    """The original Part 1 folders: every ISIC_<id>.jpg with its ISIC_<id>_segmentation.png, by id."""
    tensors = {}
    for split in SEGMENTATION_SPLITS:
        image_folder, mask_folder = _isic_original_folders(folder, split)
        image_files = sorted(file for file in image_folder.glob("ISIC_*") if file.suffix.lower() in _JPEG_SUFFIXES)
        if not image_files:
            raise ValueError(f"{image_folder}: no ISIC_<id>.jpg images")
        pairs = []
        for image_file in image_files:
            mask_file = mask_folder / f"{image_file.stem}_segmentation.png"
            if not mask_file.is_file():
                raise ValueError(f"{image_folder}: {image_file.name} has no mask {mask_file}")
            pairs.append((image_file.read_bytes(), mask_file.read_bytes()))
        tensors[f"{split}_images"], tensors[f"{split}_masks"] = _segmentation_pairs(pairs, str(image_folder))
    return tensors


def _isic_layouts(root: Path) -> list[_Layout]:
    copy = f"{_ISIC_COPY}/{_ISIC_COPY_EXPECTS}"
    return [
        _Layout(root / f"{_ISIC_COPY}.tar.gz", copy, Path.is_file, _decode_isic_copy, "resized copy, JPEG masks",
                _ISIC_COPY_ARCHIVE),
        _Layout(root / _ISIC_COPY, _ISIC_COPY_EXPECTS, Path.is_dir, _decode_isic_copy, "resized copy, JPEG masks"),
        _Layout(root / "ISIC-2017", _ISIC_ORIGINAL_EXPECTS, _has_isic_original, _decode_isic_original,
                "original ISIC 2017 Part 1 files, resized to 256x192"),
        _Layout(root, _ISIC_ORIGINAL_EXPECTS, _has_isic_original, _decode_isic_original,
                "original ISIC 2017 Part 1 files, resized to 256x192"),
    ]


_ISIC2017 = _Spec(
    "ISIC 2017 Part 1 (lesion segmentation)",
    # per-channel mean and std of the 2,000 training images of the resized copy at 256x192
    (0.7079, 0.5915, 0.5470), (0.1531, 0.1613, 0.1758),
    "",  # torchvision has no ISIC loader
    "download the Part 1 training, validation and test images and ground truth from the ISIC 2017 "
    "challenge (challenge.isic-archive.com/data/#2017; cite Codella et al. 2017, arXiv:1710.05006) and "
    "extract the six folders into <data root>/ISIC-2017, or put the 256x192 copy "
    "isic2017-256x192.tar.gz (from github.com/manideep2510/melanoma_segmentation) in <data root>",
    _isic_layouts)
# sha256 as ../shared/data/README.md lists it.
_ISIC_COPY_ARCHIVE = _Canonical(
    17122232, "a7ccaaa051a4c0146968f59d43f88f4485da6adb80ef37e9650a90e23ff099a9", "sha256",
    f"copy {_ISIC_COPY}.tar.gz again from the project's shared data (its README lists the sha256 of every "
    f"file), or {_ISIC2017.how_to_get}")


def _resized_segmentation(layout: _Layout, size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """The layout's 256x192 tensors (cached) resized to ``size``."""
    tensors = _read_segmentation(layout, ISIC2017_SIZE)
    resized = {}
    for split in SEGMENTATION_SPLITS:
        resized[f"{split}_images"] = resize_images(tensors[f"{split}_images"], size)
        resized[f"{split}_masks"] = resize_masks(tensors[f"{split}_masks"], size)
    return resized


def _read_segmentation(layout: _Layout, size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """The layout's tensors at ``size``, from cache_dir()/isic2017-<fingerprint>-<W>x<H>.pt, else
    decoded (256x192) or resized from the 256x192 tensors, and cached."""
    cache = cache_dir() / f"isic2017-{_fingerprint(layout.path)}-{size[0]}x{size[1]}.pt"
    build = partial(layout.read, layout.path) if size == ISIC2017_SIZE else partial(_resized_segmentation, layout, size)
    return _cached_tensors(cache, build, f"ISIC 2017 at {size[0]}x{size[1]}")


def load_segmentation(name: str = "isic2017", root: str | os.PathLike | None = None,
                      size: tuple[int, int] | None = None) -> SegmentationDataset:
    """Load a segmentation data set (one of SEGMENTATION_DATASETS) from the first layout under
    data_root(root) that holds it, at 256x192 or at size = (width, height) (images bilinear, masks
    nearest, from the 256x192 tensors). Decoded once per size and cached in cache_dir().

    Raises DataNotFoundError (listing every place searched and how to get the data) when it is
    nowhere; ValueError for an unknown name, a bad size or a malformed layout, DataChecksumError
    (a ValueError) for an archive failing its checksum.
    """
    if name not in SEGMENTATION_DATASETS:
        raise ValueError(f"unknown segmentation data set {name!r}; valid names: {', '.join(SEGMENTATION_DATASETS)}")
    size = ISIC2017_SIZE if size is None else _check_size(size)
    folder = data_root(root)
    layouts = _isic_layouts(folder)
    found = next((layout for layout in layouts if layout.present(layout.path)), None)
    if found is None:
        raise DataNotFoundError(_not_found_message(_ISIC2017, folder, root, layouts))
    _verify(found.path, found.canonical)
    tensors = _read_segmentation(found, size)
    return SegmentationDataset(name=name, **tensors, mean=_ISIC2017.mean, std=_ISIC2017.std,
                               source=f"{found.path} ({found.format}) at {size[0]}x{size[1]}")
