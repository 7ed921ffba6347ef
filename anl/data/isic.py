"""The lesion segmentation set ISIC 2017 Part 1: images (uint8, (N, 3, H, W)) with boolean lesion
masks, for the train, validation and test splits, and load_segmentation.

Layouts read (under the data root), first match wins:

- ``isic2017-256x192.tar.gz`` or its extracted folder ``isic2017-256x192/``: the resized copy,
  ``{train,validation,test}{x,y}/img{x,y}<N>.jpg``, image N paired with mask N, N = 1..n;
- the original ISIC 2017 Part 1 folders (``ISIC-2017_Training_Data/ISIC_<id>.jpg`` with
  ``ISIC-2017_Training_Part1_GroundTruth/ISIC_<id>_segmentation.png``, likewise Validation and
  Test_v2 or Test) in ``<root>/ISIC-2017`` or in the root itself, sorted by id.

Every layout is brought to 256x192 (images bilinear, masks nearest); masks are lesion where the
grey value is > 127 (the copy's masks are JPEG, hence not exactly 0/255).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image

from anl.data.cache import cache_dir, cached_tensors, fingerprint
from anl.data.checksums import Canonical, verify
from anl.data.formats import JPEG_SUFFIXES, jpeg_files
from anl.data.layouts import DataNotFoundError, DatasetSpec, Layout, data_root, not_found_message


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
    for name, payload in jpeg_files(path):
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
        image_files = sorted(file for file in image_folder.glob("ISIC_*") if file.suffix.lower() in JPEG_SUFFIXES)
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


def _isic_layouts(root: Path) -> list[Layout]:
    copy = f"{_ISIC_COPY}/{_ISIC_COPY_EXPECTS}"
    return [
        Layout(root / f"{_ISIC_COPY}.tar.gz", copy, Path.is_file, _decode_isic_copy, "resized copy, JPEG masks",
                _ISIC_COPY_ARCHIVE),
        Layout(root / _ISIC_COPY, _ISIC_COPY_EXPECTS, Path.is_dir, _decode_isic_copy, "resized copy, JPEG masks"),
        Layout(root / "ISIC-2017", _ISIC_ORIGINAL_EXPECTS, _has_isic_original, _decode_isic_original,
                "original ISIC 2017 Part 1 files, resized to 256x192"),
        Layout(root, _ISIC_ORIGINAL_EXPECTS, _has_isic_original, _decode_isic_original,
                "original ISIC 2017 Part 1 files, resized to 256x192"),
    ]


_ISIC2017 = DatasetSpec(
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
_ISIC_COPY_ARCHIVE = Canonical(
    17122232, "a7ccaaa051a4c0146968f59d43f88f4485da6adb80ef37e9650a90e23ff099a9", "sha256",
    f"copy {_ISIC_COPY}.tar.gz again from the project's shared data (its README lists the sha256 of every "
    f"file), or {_ISIC2017.how_to_get}")


def _resized_segmentation(layout: Layout, size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """The layout's 256x192 tensors (cached) resized to ``size``."""
    tensors = _read_segmentation(layout, ISIC2017_SIZE)
    resized = {}
    for split in SEGMENTATION_SPLITS:
        resized[f"{split}_images"] = resize_images(tensors[f"{split}_images"], size)
        resized[f"{split}_masks"] = resize_masks(tensors[f"{split}_masks"], size)
    return resized


def _read_segmentation(layout: Layout, size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """The layout's tensors at ``size``, from cache_dir()/isic2017-<fingerprint>-<W>x<H>.pt, else
    decoded (256x192) or resized from the 256x192 tensors, and cached."""
    cache = cache_dir() / f"isic2017-{fingerprint(layout.path)}-{size[0]}x{size[1]}.pt"
    build = partial(layout.read, layout.path) if size == ISIC2017_SIZE else partial(_resized_segmentation, layout, size)
    return cached_tensors(cache, build, f"ISIC 2017 at {size[0]}x{size[1]}")


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
        raise DataNotFoundError(not_found_message(_ISIC2017, folder, root, layouts))
    verify(found.path, found.canonical)
    tensors = _read_segmentation(found, size)
    return SegmentationDataset(name=name, **tensors, mean=_ISIC2017.mean, std=_ISIC2017.std,
                               source=f"{found.path} ({found.format}) at {size[0]}x{size[1]}")
