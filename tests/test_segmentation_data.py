"""ISIC 2017 loader (anl.data.isic): both layouts from tiny files written here,
image/mask pairing, the 127 threshold, resizing, the per-size cache, errors, and the real data
(counts, statistics, regression sums) when it is there."""

from __future__ import annotations

import io
import os
import random

import numpy as np
import pytest
import torch
from PIL import Image

from anl.data import isic
from anl.data import (
    ISIC2017_SIZE, DataNotFoundError, SegmentationDataset, load_segmentation, resize_images, resize_masks,
)

WIDTH, HEIGHT = ISIC2017_SIZE
COUNTS = {"train": 3, "validation": 2, "test": 2}


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("ANL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ANL_DATA", raising=False)
    return tmp_path


def encode(pixels: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def pair_pixels(split: str, number: int, width: int = WIDTH, height: int = HEIGHT) -> tuple[np.ndarray, np.ndarray]:
    """A flat-coloured image that names its pair, and a mask: lesion (255) in the left
    (number + 1) / 8 of the width, a grey 110 band (background) and a grey 150 band (lesion)."""
    split_code = {"train": 0, "validation": 1, "test": 2}[split]
    image = np.empty((height, width, 3), np.uint8)
    image[...] = (40 + 60 * split_code, 20 * number, 200)
    mask = np.zeros((height, width), np.uint8)
    mask[:, : width * (number + 1) // 8] = 255
    mask[: height // 4, -width // 4:] = 110
    mask[-height // 4:, -width // 4:] = 150
    return image, mask


def expected_mask(number: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    mask[:, : width * (number + 1) // 8] = True
    mask[-height // 4:, -width // 4:] = True
    return mask


def copy_members(numbering=None) -> list[tuple[str, bytes]]:
    members = []
    for split, count in COUNTS.items():
        for number in numbering or range(1, count + 1):
            image, mask = pair_pixels(split, number)
            members.append((f"isic2017-256x192/{split}x/imgx{number}.jpg", encode(image, "JPEG")))
            members.append((f"isic2017-256x192/{split}y/imgy{number}.jpg", encode(mask, "JPEG")))
    random.Random(0).shuffle(members)  # archive order must not matter
    return members


def check_copy(dataset: SegmentationDataset) -> None:
    assert dataset.size == (WIDTH, HEIGHT)
    for split, count in COUNTS.items():
        images, masks = dataset.split(split)
        assert images.shape == (count, 3, HEIGHT, WIDTH) and images.dtype == torch.uint8
        assert masks.shape == (count, HEIGHT, WIDTH) and masks.dtype == torch.bool
        for index in range(count):
            image, _ = pair_pixels(split, index + 1)
            centre = images[index, :, HEIGHT // 2, WIDTH // 2].int()
            assert (centre - torch.from_numpy(image[0, 0]).int()).abs().max() <= 3, (split, index)
            np.testing.assert_array_equal(masks[index].numpy(), expected_mask(index + 1))


def test_copy_archive_pairs_images_with_masks_and_thresholds(isolated, write_tar_gz):
    write_tar_gz(isolated / "isic2017-256x192.tar.gz", copy_members())
    dataset = load_segmentation(root=isolated)
    check_copy(dataset)
    assert "isic2017-256x192.tar.gz" in dataset.source and "256x192" in dataset.source
    assert dataset.mean == isic._ISIC2017.mean and len(dataset.std) == 3


def test_extracted_copy_folder(isolated):
    for name, payload in copy_members():
        path = isolated / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
    dataset = load_segmentation(root=isolated)
    check_copy(dataset)
    assert dataset.source.startswith(str(isolated / "isic2017-256x192") + " ")


@pytest.mark.parametrize("where", ["ISIC-2017", "."])
def test_original_layout_resized_with_exact_threshold(isolated, monkeypatch, where):
    """Original files of another size (64x48, PNG masks with grey 127 and 128) are brought to
    256x192: masks by nearest neighbour (an exact 4x here), 127 is background and 128 lesion."""
    folder = isolated / where
    folders = {"train": ("Training", "Training"), "validation": ("Validation", "Validation"),
               "test": ("Test_v2", "Test_v2")}
    ids = {"train": [17, 3, 9], "validation": [5, 1], "test": [2, 40]}
    for split, (images_name, masks_name) in folders.items():
        image_folder = folder / f"ISIC-2017_{images_name}_Data"
        mask_folder = folder / f"ISIC-2017_{masks_name}_Part1_GroundTruth"
        image_folder.mkdir(parents=True)
        mask_folder.mkdir(parents=True)
        for isic_id in ids[split]:
            image = np.full((48, 64, 3), isic_id * 5, np.uint8)
            mask = np.zeros((48, 64), np.uint8)
            mask[:, :isic_id % 16 + 8] = 128
            mask[:10, 40:] = 127
            (image_folder / f"ISIC_{isic_id:07d}.jpg").write_bytes(encode(image, "JPEG"))
            (image_folder / f"ISIC_{isic_id:07d}_superpixels.png").write_bytes(encode(mask, "PNG"))
            (mask_folder / f"ISIC_{isic_id:07d}_segmentation.png").write_bytes(encode(mask, "PNG"))
    monkeypatch.setenv("ANL_DATA", str(isolated))
    dataset = load_segmentation()
    assert "original ISIC 2017" in dataset.source
    for split in folders:
        images, masks = dataset.split(split)
        for index, isic_id in enumerate(sorted(ids[split])):  # sorted by id
            expected = np.zeros((HEIGHT, WIDTH), bool)
            expected[:, : 4 * (isic_id % 16 + 8)] = True
            np.testing.assert_array_equal(masks[index].numpy(), expected)
            assert abs(int(images[index, 0, 100, 100]) - isic_id * 5) <= 2


def test_original_layout_missing_mask_is_a_value_error(isolated):
    for suffix in ("Training_Data", "Training_Part1_GroundTruth", "Validation_Data",
                   "Validation_Part1_GroundTruth", "Test_Data", "Test_Part1_GroundTruth"):
        (isolated / f"ISIC-2017_{suffix}").mkdir()
    (isolated / "ISIC-2017_Training_Data" / "ISIC_0000001.jpg").write_bytes(
        encode(np.zeros((8, 8, 3), np.uint8), "JPEG"))
    with pytest.raises(ValueError, match="ISIC_0000001.jpg has no mask"):
        load_segmentation(root=isolated)


def test_sizes_are_resized_from_256x192_and_cached_per_size(isolated, monkeypatch, write_tar_gz):
    write_tar_gz(isolated / "isic2017-256x192.tar.gz", copy_members())
    native = load_segmentation(root=isolated)
    small = load_segmentation(root=isolated, size=(64, 48))
    assert small.size == (64, 48) and small.train_images.shape == (3, 3, 48, 64)
    assert "at 64x48" in small.source
    for split in COUNTS:
        images, masks = native.split(split)
        assert torch.equal(small.split(split)[1], resize_masks(masks, (64, 48)))
        assert torch.equal(small.split(split)[0], resize_images(images, (64, 48)))
    cached = sorted(path.name for path in (isolated / "cache").iterdir())
    assert len(cached) == 2 and cached[0].endswith("-256x192.pt") and cached[1].endswith("-64x48.pt")

    def refuse(*args):
        raise AssertionError("decoded or resized although cached")

    monkeypatch.setattr(isic, "_decode_resized", refuse)
    monkeypatch.setattr(isic, "resize_images", refuse)
    again = load_segmentation(root=isolated, size=(64, 48))
    assert torch.equal(again.test_images, small.test_images) and torch.equal(again.train_masks, small.train_masks)
    assert torch.equal(load_segmentation(root=isolated).validation_masks, native.validation_masks)
    archive = isolated / "isic2017-256x192.tar.gz"
    os.utime(archive, ns=(archive.stat().st_atime_ns, archive.stat().st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="although cached"):
        load_segmentation(root=isolated)


def test_resize_functions():
    masks = torch.zeros(2, 4, 6, dtype=torch.bool)
    masks[0, :, :3] = True
    masks[1, 1, 1] = True
    big = resize_masks(masks, (12, 8))
    assert big.shape == (2, 8, 12) and big.dtype == torch.bool
    assert big[0, :, :6].all() and not big[0, :, 6:].any() and big[1].sum() == 4
    images = torch.full((1, 3, 4, 6), 77, dtype=torch.uint8)
    assert torch.equal(resize_images(images, (3, 2)), torch.full((1, 3, 2, 3), 77, dtype=torch.uint8))


@pytest.mark.parametrize("problem, message", [
    ("gap", "must hold img{x,y}1..n for the same n"),
    ("stray", "unexpected file"),
])
def test_copy_layout_problems(isolated, problem, message, write_tar_gz):
    members = copy_members()
    if problem == "gap":
        members = [m for m in members if m[0] != "isic2017-256x192/testy/imgy2.jpg"]
    else:
        members.append(("isic2017-256x192/trainx/notes.jpg", members[0][1]))
    write_tar_gz(isolated / "isic2017-256x192.tar.gz", members)
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}").replace(".", r"\.")):
        load_segmentation(root=isolated)


def test_not_found_lists_every_place_and_how_to_get_it(isolated):
    with pytest.raises(DataNotFoundError) as error:
        load_segmentation(root=isolated / "nowhere")
    message = str(error.value)
    for place in ("nowhere/isic2017-256x192.tar.gz", "nowhere/isic2017-256x192 ", "nowhere/ISIC-2017 "):
        assert place in message
    assert "from the root argument" in message and "challenge.isic-archive.com" in message


@pytest.mark.parametrize("call, message", [
    (lambda: load_segmentation("isic2018"), "unknown segmentation data set 'isic2018'; valid names: isic2017"),
    (lambda: load_segmentation(size=(128,)), "size must be (width, height)"),
    (lambda: load_segmentation(size=(0, 96)), "size must be (width, height)"),
    (lambda: load_segmentation(size=(128.0, 96)), "size must be (width, height)"),
])
def test_argument_errors(isolated, call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


def test_dataset_checks_its_tensors():
    images = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)
    masks = torch.zeros(2, 8, 8, dtype=torch.bool)
    fields = dict(name="isic2017", train_images=images, train_masks=masks, validation_images=images,
                  validation_masks=masks, test_images=images, test_masks=masks, mean=(0.5,) * 3, std=(0.2,) * 3,
                  source="test")
    assert SegmentationDataset(**fields).size == (8, 8)
    with pytest.raises(ValueError, match="test masks must be bool"):
        SegmentationDataset(**{**fields, "test_masks": masks.to(torch.uint8)})
    with pytest.raises(ValueError, match="validation images must be contiguous uint8"):
        SegmentationDataset(**{**fields, "validation_images": torch.zeros(2, 3, 8, 6, dtype=torch.uint8)})
    with pytest.raises(ValueError, match="unknown split 'val'"):
        SegmentationDataset(**fields).split("val")


# ----------------------------------------------------------------------------- real data (conftest: isic)
# lesion pixels per split at 256x192 after the > 127 threshold (regression values)
LESION_PIXELS = {"train": 19_058_992, "validation": 1_280_604, "test": 6_961_028}


@pytest.mark.realdata
def test_real_isic2017_counts_masks_and_statistics(isic):
    assert isic.size == (256, 192)
    for split, count in {"train": 2000, "validation": 150, "test": 600}.items():
        images, masks = isic.split(split)
        assert images.shape == (count, 3, 192, 256) and masks.shape == (count, 192, 256)
        assert masks.dtype == torch.bool
        assert int(masks.sum()) == pytest.approx(LESION_PIXELS[split], rel=1e-4)
        assert masks.flatten(1).any(1).all()  # every image has a lesion
    for channel in range(3):  # mean and std of pixels / 255 from the exact value histogram
        counts = torch.bincount(isic.train_images[:, channel].flatten(), minlength=256).double()
        values = torch.arange(256, dtype=torch.float64) / 255
        mean = (counts * values).sum() / counts.sum()
        std = ((counts * (values - mean) ** 2).sum() / counts.sum()).sqrt()
        assert (mean.item(), std.item()) == pytest.approx((isic.mean[channel], isic.std[channel]), abs=1e-3)
    assert "isic2017-256x192" in isic.source
