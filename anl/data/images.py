"""The image classification sets (MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100) as uint8 tensors
(N, C, H, W) and int64 labels: their places, formats and checksums, and load_dataset."""

from __future__ import annotations

import io
import itertools
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image

from anl.data.cache import cache_dir, cached_tensors, fingerprint
from anl.data.checksums import Canonical, canonical_files, verify
from anl.data.formats import (
    CIFAR_SIDE, IDX_EXPECTS, Arrays, cifar_pickle_split, has_files, has_idx_files, jpeg_files, read_idx_folder,
    split_tensors, unpickle,
)
from anl.data.layouts import DataNotFoundError, DatasetSpec, Layout, data_root, not_found_message


DATASETS = ("mnist", "fashion_mnist", "cifar10", "cifar100")
MNIST_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
_CIFAR10_BATCHES = tuple(f"data_batch_{index}" for index in range(1, 6))
_JPEG_COPY = "JPEG q75 copy of CIFAR-10"
_JPEG_EXPECTS = "{train,test}/<class>/NNNN.jpg"


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


def _idx_layouts(folders: list[Path], classes: tuple[str, ...], canonical: dict[str, Canonical]) -> list[Layout]:
    read = partial(read_idx_folder, classes=classes, canonical=canonical)
    return [Layout(folder, IDX_EXPECTS, has_idx_files, read, "IDX") for folder in folders]


def _read_cifar10_batches(folder: Path) -> Arrays:
    for name, canonical in _CIFAR10_BATCH_FILES.items():
        verify(folder / name, canonical)
    train = cifar_pickle_split([folder / name for name in _CIFAR10_BATCHES], "labels")
    test = cifar_pickle_split([folder / "test_batch"], "labels")
    return Arrays(*train, *test, classes=CIFAR10_CLASSES)


def _read_cifar100(folder: Path) -> Arrays:
    train = cifar_pickle_split([folder / "train"], "fine_labels")
    test = cifar_pickle_split([folder / "test"], "fine_labels")
    classes = tuple(unpickle(folder / "meta", ("fine_label_names",))["fine_label_names"])
    return Arrays(*train, *test, classes=classes)


def _decode_jpeg(data: bytes) -> np.ndarray:
    """RGB pixels (H, W, 3) uint8 of one JPEG file."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def _decode_cifar10_jpeg(path: Path) -> dict[str, torch.Tensor]:
    """Decode every image of the copy: per split, class-major, numeric file order inside a class.

    Inside each class the files must be numbered 0..n-1 (the original CIFAR-10 order), else ValueError.
    """
    found: dict[str, list[tuple[int, int, np.ndarray]]] = {"train": [], "test": []}
    for name, data in jpeg_files(path):
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
        if pixels.shape != (CIFAR_SIDE, CIFAR_SIDE, 3):
            raise ValueError(f"{path}: {name} is {pixels.shape[1]}x{pixels.shape[0]}, "
                             f"expected {CIFAR_SIDE}x{CIFAR_SIDE}")
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
        tensors[f"{split}_images"], tensors[f"{split}_labels"] = split_tensors(images, labels, str(path))
    return tensors


def _read_cifar10_jpeg(path: Path) -> Arrays:
    """The JPEG copy, from cache_dir()/cifar10-jpeg-<fingerprint>.pt, decoding and caching it if absent."""
    cache = cache_dir() / f"cifar10-jpeg-{fingerprint(path)}.pt"
    tensors = cached_tensors(cache, partial(_decode_cifar10_jpeg, path), "CIFAR-10 JPEG copy")
    return Arrays(**tensors, classes=CIFAR10_CLASSES)


def _cifar10_layouts(root: Path) -> list[Layout]:
    return [
        Layout(root / "cifar-10-batches-py", "data_batch_1..5, test_batch",
                has_files(_CIFAR10_BATCHES + ("test_batch",)), _read_cifar10_batches,
                "official CIFAR-10 python batches"),
        Layout(root / "cifar10-jpeg", _JPEG_EXPECTS, Path.is_dir, _read_cifar10_jpeg, _JPEG_COPY),
        Layout(root / "cifar10-jpeg.tar.gz", f"cifar10-jpeg/{_JPEG_EXPECTS}", Path.is_file, _read_cifar10_jpeg,
                _JPEG_COPY, _CIFAR10_JPEG_ARCHIVE),
    ]


def _cifar100_layouts(root: Path) -> list[Layout]:
    return [Layout(root / "cifar-100-python", "train, test, meta", has_files(("train", "test", "meta")),
                    _read_cifar100, "official CIFAR-100 python files, fine labels")]


_TORONTO = "the official CIFAR page (www.cs.toronto.edu/~kriz/cifar.html)"
_SPECS = {
    "mnist": DatasetSpec(
        "MNIST", (0.1307,), (0.3081,), "MNIST",
        "load_dataset('mnist', download=True) when online (torchvision fetches the IDX files), "
        "or put the four IDX files from Yann LeCun's MNIST page in <data root>/mnist",
        lambda root: _idx_layouts([root / "mnist", root / "MNIST" / "raw", root], MNIST_CLASSES, _MNIST_IDX)),
    "fashion_mnist": DatasetSpec(
        "Fashion-MNIST", (0.2860,), (0.3530,), "FashionMNIST",
        "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or load_dataset('fashion_mnist', "
        "download=True) when online, or put the four IDX files from Zalando Research's fashion-mnist "
        "GitHub repository in <data root>/fashion_mnist",
        lambda root: _idx_layouts([root / "fashion_mnist", root / "fashion-mnist", root / "FashionMNIST" / "raw",
                                   DEBIAN_FASHION_MNIST], FASHION_MNIST_CLASSES, _FASHION_MNIST_IDX)),
    "cifar10": DatasetSpec(
        "CIFAR-10", (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), "CIFAR10",
        f"load_dataset('cifar10', download=True) when online, or extract cifar-10-python.tar.gz from "
        f"{_TORONTO} into <data root>",
        _cifar10_layouts),
    "cifar100": DatasetSpec(
        "CIFAR-100", (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762), "CIFAR100",
        f"load_dataset('cifar100', download=True) when online, or extract cifar-100-python.tar.gz from "
        f"{_TORONTO} into <data root>",
        _cifar100_layouts),
}
# The IDX files' decompressed bytes, computed from the canonical files: ../shared/data/mnist (whose
# README lists the sha256 of the .gz files) and Debian's dataset-fashion-mnist.
_MNIST_IDX = canonical_files("sha256", _SPECS["mnist"].how_to_get, {
    "train-images-idx3-ubyte": (47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
})
_FASHION_MNIST_IDX = canonical_files("sha256", _SPECS["fashion_mnist"].how_to_get, {
    "train-images-idx3-ubyte": (47040016, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels-idx1-ubyte": (60008, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "t10k-images-idx3-ubyte": (7840016, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "t10k-labels-idx1-ubyte": (10008, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
})
# md5 as torchvision.datasets.CIFAR10 lists them; sizes as published listings of the extracted
# archive give them (a wrong size would only leave a file unchecked, never reject a good one).
_CIFAR10_BATCH_FILES = canonical_files("md5", _SPECS["cifar10"].how_to_get, {
    "data_batch_1": (31035704, "c99cafc152244af753f735de768cd75f"),
    "data_batch_2": (31035320, "d4bba439e000b95fd0a9bffe97cbabec"),
    "data_batch_3": (31035999, "54ebc095f3ab1f0389bbae665268c751"),
    "data_batch_4": (31035696, "634d18415352ddfa80567beed471001a"),
    "data_batch_5": (31035623, "482c414d41f54cd18b22e5b47cb7c3cb"),
    "test_batch": (31035526, "40351d587109b95175f43aff81a1287e"),
})
# sha256 as ../shared/data/README.md lists it.
_CIFAR10_JPEG_ARCHIVE = Canonical(
    19434847, "04573a13a3e489ab931f4158073892b52438bc10cae51e746f630b0b6487340f", "sha256",
    "copy cifar10-jpeg.tar.gz again from the project's shared data (its README lists the sha256 of every "
    f"file), or use the official batches instead: {_SPECS['cifar10'].how_to_get}")


def _download(spec: DatasetSpec, folder: Path) -> None:
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
        raise DataNotFoundError(not_found_message(spec, folder, root, layouts))
    verify(found.path, found.canonical)
    arrays = found.read(found.path)
    return ImageDataset(name=name, train_images=arrays.train_images, train_labels=arrays.train_labels,
                        test_images=arrays.test_images, test_labels=arrays.test_labels, classes=arrays.classes,
                        mean=spec.mean, std=spec.std, source=f"{found.path} ({found.format})")
