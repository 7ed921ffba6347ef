"""Data loading: every on-disk format from tiny files written here, the cache, the search order, errors,
stratified subsets, and the real data sets (regression checksums)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import random
import re
import shutil
import struct
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import anl._torchvision
from anl.data import checksums, images, isic
from anl.data import labels as label_files
from anl.data import (
    CIFAR10_CLASSES,
    DATASETS,
    DataChecksumError,
    DataNotFoundError,
    ImageDataset,
    cache_dir,
    data_root,
    cifar10_idn_rates,
    load_dataset,
    read_cifar10_idn_labels,
    stratified_subset,
    verify_cifar10n_labels,
)

@pytest.fixture(autouse=True)
def isolated_env(request, tmp_path, monkeypatch):
    """No real data root or cache leaks into the synthetic tests; real-data tests keep the machine's settings."""
    if request.node.get_closest_marker("realdata"):
        return
    monkeypatch.setenv("ANL_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ANL_DATA", raising=False)


# --- writers, straight from the format specifications ----------------------------------------

def idx_bytes(array: np.ndarray) -> bytes:
    """IDX: 0x00 0x00, type 0x08 (unsigned byte), ndim, big-endian uint32 sizes, row-major data."""
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_set(folder: Path, seed: int, gz: bool, sizes=(7, 3), side=5) -> dict[str, np.ndarray]:
    """Write train/t10k images (N, side, side) and labels into ``folder``; return the arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, count in zip(("train", "t10k"), sizes):
        arrays[f"{prefix}-images-idx3-ubyte"] = rng.integers(0, 256, (count, side, side), dtype=np.uint8)
        arrays[f"{prefix}-labels-idx1-ubyte"] = rng.integers(0, 10, count, dtype=np.uint8)
    for stem, array in arrays.items():
        raw = idx_bytes(array)
        (folder / (stem + ".gz" if gz else stem)).write_bytes(gzip.compress(raw) if gz else raw)
    return arrays


def py2_pickle(entry: dict) -> bytes:
    """Protocol-2 pickle of a dict whose keys are Python 2 byte strings, like the official CIFAR files."""
    parts = [b"\x80\x02}("]  # PROTO 2, EMPTY_DICT, MARK
    for key, value in entry.items():
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=2)
        pickler.fast = True  # no memo, so the value pickles can be spliced together
        pickler.dump(value)
        parts += [b"U" + bytes([len(key)]) + key.encode(), buffer.getvalue()[2:-1]]  # SHORT_BINSTRING key
    return b"".join(parts) + b"u."  # SETITEMS, STOP


def cifar_rows(count: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, (count, 3072), dtype=np.uint8)


def flat_jpeg(colour: tuple[int, int, int], side: int = 32) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), colour).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def colour_of(label: int, number: int) -> tuple[int, int, int]:
    return (20 * label + 10, 20 * number + 5, 200)  # channels stay below 256


JPEG_LAYOUT = {  # split -> class -> how many images
    "train": {"airplane": 3, "cat": 12, "truck": 2},
    "test": {"cat": 1, "ship": 2},
}


def jpeg_members(padded: bool = True) -> list[tuple[str, bytes]]:
    """(cifar10-jpeg/<split>/<class>/<n>.jpg, flat JPEG) in shuffled order; colour encodes class and n."""
    members = []
    for split, classes in JPEG_LAYOUT.items():
        for name, count in classes.items():
            for number in range(count):
                stem = f"{number:04d}" if padded else str(number)
                jpeg = flat_jpeg(colour_of(CIFAR10_CLASSES.index(name), number))
                members.append((f"cifar10-jpeg/{split}/{name}/{stem}.jpg", jpeg))
    random.Random(0).shuffle(members)
    return members


def write_jpeg_folder(root: Path, members: list[tuple[str, bytes]]) -> None:
    for name, payload in members:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(payload)


def expected_jpeg_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Expected labels and (N, 3) colours: class-major in official class order, numeric order inside a class."""
    items = sorted((CIFAR10_CLASSES.index(name), number)
                   for name, count in JPEG_LAYOUT[split].items() for number in range(count))
    return np.array([label for label, _ in items]), np.array([colour_of(*item) for item in items])


def check_jpeg_dataset(dataset: ImageDataset) -> None:
    assert dataset.classes == CIFAR10_CLASSES
    assert "JPEG q75 copy" in dataset.source
    for split in ("train", "test"):
        images, labels = getattr(dataset, f"{split}_images"), getattr(dataset, f"{split}_labels")
        expected_labels, expected_colours = expected_jpeg_split(split)
        assert images.dtype == torch.uint8 and images.shape == (len(expected_labels), 3, 32, 32)
        assert images.is_contiguous()
        assert labels.dtype == torch.int64 and labels.tolist() == expected_labels.tolist()
        # JPEG is lossy: a flat colour comes back within a few levels (4:2:0 chroma, rounding).
        error = (images.double() - torch.from_numpy(expected_colours).double()[:, :, None, None]).abs()
        assert error.max() <= 4


# --- IDX -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "subfolder", "gz"), [
    ("mnist", "mnist", True),
    ("mnist", "MNIST/raw", False),
    ("mnist", ".", True),
    ("fashion_mnist", "fashion_mnist", False),
    ("fashion_mnist", "fashion-mnist", True),
    ("fashion_mnist", "FashionMNIST/raw", True),
])
def test_idx_layouts_read_back(tmp_path, name, subfolder, gz):
    arrays = write_idx_set(tmp_path / subfolder, seed=1, gz=gz)
    dataset = load_dataset(name, root=tmp_path)
    assert dataset.name == name and dataset.num_classes == 10 and dataset.image_shape == (1, 5, 5)
    assert dataset.source.startswith(str((tmp_path / subfolder)))
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = getattr(dataset, f"{split}_images"), getattr(dataset, f"{split}_labels")
        assert images.dtype == torch.uint8 and images.is_contiguous()
        assert labels.dtype == torch.int64
        np.testing.assert_array_equal(images[:, 0].numpy(), arrays[f"{prefix}-images-idx3-ubyte"])
        np.testing.assert_array_equal(labels.numpy(), arrays[f"{prefix}-labels-idx1-ubyte"])


def test_idx_search_order_and_raw_preferred(tmp_path):
    first = write_idx_set(tmp_path / "mnist", seed=1, gz=True)
    write_idx_set(tmp_path / "MNIST" / "raw", seed=2, gz=False)
    dataset = load_dataset("mnist", root=tmp_path)
    np.testing.assert_array_equal(dataset.train_labels.numpy(), first["train-labels-idx1-ubyte"])
    # both forms of a file present: the uncompressed one is read
    raw = write_idx_set(tmp_path / "mnist", seed=3, gz=False)
    dataset = load_dataset("mnist", root=tmp_path)
    np.testing.assert_array_equal(dataset.train_labels.numpy(), raw["train-labels-idx1-ubyte"])


@pytest.mark.parametrize("corruption", ["magic", "truncated", "gzip", "label_count"])
def test_corrupt_idx_raises_value_error_naming_file(tmp_path, corruption):
    folder = tmp_path / "mnist"
    arrays = write_idx_set(folder, seed=1, gz=True)
    target = folder / "train-images-idx3-ubyte.gz"
    raw = idx_bytes(arrays["train-images-idx3-ubyte"])
    if corruption == "magic":
        target.write_bytes(gzip.compress(b"\x00\x00\x0d\x03" + raw[4:]))  # float type code
    elif corruption == "truncated":
        target.write_bytes(gzip.compress(raw[:-1]))
    elif corruption == "gzip":
        target.write_bytes(gzip.compress(raw)[:30])
    else:
        target = folder / "train-labels-idx1-ubyte.gz"
        target.write_bytes(gzip.compress(idx_bytes(arrays["train-labels-idx1-ubyte"][:-1])))
    with pytest.raises(ValueError, match=re.escape(str(target))):
        load_dataset("mnist", root=tmp_path)


# --- CIFAR pickles ---------------------------------------------------------------------------

def test_cifar10_batches_read_back_in_file_order(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    rows, labels = [], []
    for name in [f"data_batch_{index}" for index in range(1, 6)] + ["test_batch"]:
        batch_rows, batch_labels = cifar_rows(2, rng), rng.integers(0, 10, 2).tolist()
        (folder / name).write_bytes(py2_pickle({"batch_label": "x", "labels": batch_labels, "data": batch_rows}))
        rows.append(batch_rows)
        labels.append(batch_labels)
    dataset = load_dataset("cifar10", root=tmp_path)
    assert dataset.classes == CIFAR10_CLASSES and "JPEG" not in dataset.source
    assert dataset.train_images.shape == (10, 3, 32, 32) and dataset.test_images.shape == (2, 3, 32, 32)
    # row layout: 1024 red, 1024 green, 1024 blue, each 32x32 row-major
    train_rows = np.concatenate(rows[:5])
    np.testing.assert_array_equal(dataset.train_images[:, 1, 2, 3].numpy(), train_rows[:, 1024 + 2 * 32 + 3])
    np.testing.assert_array_equal(dataset.train_images.reshape(10, -1).numpy(), train_rows)
    np.testing.assert_array_equal(dataset.test_images.reshape(2, -1).numpy(), rows[5])
    assert dataset.train_labels.tolist() == sum(labels[:5], []) and dataset.test_labels.tolist() == labels[5]
    assert dataset.train_labels.dtype == torch.int64


def test_cifar100_fine_labels_and_class_names(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = [f"class_{index:03d}" for index in range(100)]
    splits = {}
    for split, count in (("train", 4), ("test", 3)):
        splits[split] = (cifar_rows(count, rng), rng.integers(0, 100, count).tolist())
        entry = {"data": splits[split][0], "fine_labels": splits[split][1], "coarse_labels": [19] * count}
        (folder / split).write_bytes(py2_pickle(entry))
    (folder / "meta").write_bytes(py2_pickle({"fine_label_names": names, "coarse_label_names": ["c"] * 20}))
    dataset = load_dataset("cifar100", root=tmp_path)
    assert dataset.classes == tuple(names) and dataset.num_classes == 100
    assert dataset.mean == (0.5071, 0.4865, 0.4409)
    for split, (rows, labels) in splits.items():
        np.testing.assert_array_equal(getattr(dataset, f"{split}_images").reshape(len(labels), -1).numpy(), rows)
        assert getattr(dataset, f"{split}_labels").tolist() == labels


def test_cifar_pickle_without_data_key_is_value_error(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{index}" for index in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(py2_pickle({"labels": [0]}))
    with pytest.raises(ValueError, match="data_batch_1.*'data'"):
        load_dataset("cifar10", root=tmp_path)


# --- CIFAR-10 JPEG copy ----------------------------------------------------------------------

def test_jpeg_tar_read_back_class_major_numeric_order(tmp_path, write_tar_gz):
    write_tar_gz(tmp_path / "cifar10-jpeg.tar.gz", jpeg_members())
    dataset = load_dataset("cifar10", root=tmp_path)
    check_jpeg_dataset(dataset)
    assert dataset.source == f"{tmp_path / 'cifar10-jpeg.tar.gz'} (JPEG q75 copy of CIFAR-10)"


def test_jpeg_folder_read_back_with_unpadded_numbers(tmp_path):
    write_jpeg_folder(tmp_path, jpeg_members(padded=False))  # 10.jpg must come after 9.jpg
    dataset = load_dataset("cifar10", root=tmp_path)
    check_jpeg_dataset(dataset)
    assert dataset.source.startswith(str(tmp_path / "cifar10-jpeg"))


def test_official_batches_win_over_jpeg_copy(tmp_path, write_tar_gz):
    write_tar_gz(tmp_path / "cifar10-jpeg.tar.gz", jpeg_members())
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{index}" for index in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(py2_pickle({"labels": [1], "data": np.zeros((1, 3072), np.uint8)}))
    assert load_dataset("cifar10", root=tmp_path).source.startswith(str(folder))


def test_jpeg_cache_written_once_reused_and_invalidated(tmp_path, monkeypatch, write_tar_gz):
    archive = tmp_path / "cifar10-jpeg.tar.gz"
    write_tar_gz(archive, jpeg_members())
    decoded = []
    real_decode = images._decode_jpeg
    monkeypatch.setattr(images, "_decode_jpeg", lambda payload: decoded.append(1) or real_decode(payload))
    first = load_dataset("cifar10", root=tmp_path)
    cached = list((tmp_path / "cache").iterdir())
    assert len(decoded) == 20 and len(cached) == 1 and cached[0].suffix == ".pt"  # no temporary file left

    def refuse(payload):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(images, "_decode_jpeg", refuse)
    second = load_dataset("cifar10", root=tmp_path)
    assert torch.equal(first.train_images, second.train_images)
    assert torch.equal(first.test_labels, second.test_labels)
    check_jpeg_dataset(second)

    os.utime(archive, ns=(archive.stat().st_atime_ns, archive.stat().st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="decoded although cached"):
        load_dataset("cifar10", root=tmp_path)


@pytest.mark.parametrize("damage", [b"", b"garbage\n", b"\x80\x02garbage" * 10], ids=["empty", "text", "pickle"])
def test_a_damaged_cache_is_named_decoded_again_and_rewritten(damage, tmp_path, monkeypatch, write_tar_gz):
    write_tar_gz(tmp_path / "cifar10-jpeg.tar.gz", jpeg_members())
    first = load_dataset("cifar10", root=tmp_path)
    [cache] = (tmp_path / "cache").iterdir()
    cache.write_bytes(damage)
    with pytest.warns(UserWarning, match=rf"^the decoded CIFAR-10 JPEG copy cached at {re.escape(str(cache))} "
                                         r"cannot be read \(\w+: .*\); decoding it again$"):
        second = load_dataset("cifar10", root=tmp_path)
    assert torch.equal(first.train_images, second.train_images)

    def refuse(payload):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(images, "_decode_jpeg", refuse)
    assert torch.equal(load_dataset("cifar10", root=tmp_path).test_labels, first.test_labels)  # the cache was rewritten


@pytest.mark.parametrize("problem", ["gap", "unknown_class", "wrong_size"])
def test_jpeg_copy_layout_problems_are_value_errors(tmp_path, problem, write_tar_gz):
    members = [member for member in jpeg_members() if member[0] != "cifar10-jpeg/train/cat/0004.jpg"
               or problem != "gap"]
    if problem == "unknown_class":
        members.append(("cifar10-jpeg/train/unicorn/0000.jpg", flat_jpeg((1, 2, 3))))
    if problem == "wrong_size":
        members.append(("cifar10-jpeg/test/ship/0002.jpg", flat_jpeg((1, 2, 3), side=16)))
    write_tar_gz(tmp_path / "cifar10-jpeg.tar.gz", members)
    expected = {"gap": "train/cat files are not numbered", "unknown_class": "unicorn",
                "wrong_size": "16x16"}[problem]
    with pytest.raises(ValueError, match=expected):
        load_dataset("cifar10", root=tmp_path)


# --- checksums -------------------------------------------------------------------------------

def count_digests(monkeypatch) -> list[Path]:
    """Count checksums._digest calls: the returned list gets the path of every file hashed."""
    hashed, real_digest = [], checksums._digest
    monkeypatch.setattr(checksums, "_digest", lambda path, *args: hashed.append(path) or real_digest(path, *args))
    return hashed


def flip_byte(payload: bytes, offset: int) -> bytes:
    """``payload`` with the byte at ``offset`` inverted: same size, other content."""
    return payload[:offset] + bytes([payload[offset] ^ 0xFF]) + payload[offset + 1:]


def make_canonical(monkeypatch, arrays: dict[str, np.ndarray]) -> None:
    """Take the IDX files written from ``arrays`` as MNIST's canonical files (their sha256 and size)."""
    for stem, array in arrays.items():
        raw = idx_bytes(array)
        canonical = checksums.Canonical(len(raw), hashlib.sha256(raw).hexdigest(), "sha256", "HOW TO GET MNIST")
        monkeypatch.setitem(images._MNIST_IDX, stem, canonical)


def test_checksum_mismatch_names_file_both_checksums_and_remedy(tmp_path, monkeypatch):
    arrays = write_idx_set(tmp_path / "mnist", seed=1, gz=True)
    make_canonical(monkeypatch, arrays)
    load_dataset("mnist", root=tmp_path)  # the canonical files pass
    tampered = flip_byte(idx_bytes(arrays["train-labels-idx1-ubyte"]), 8)  # the first label
    target = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    target.write_bytes(gzip.compress(tampered))
    with pytest.raises(DataChecksumError) as caught:
        load_dataset("mnist", root=tmp_path)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert f"{target} (decompressed)" in message and "HOW TO GET MNIST" in message
    expected = images._MNIST_IDX["train-labels-idx1-ubyte"].digest
    assert f"expected sha256 {expected}, got {hashlib.sha256(tampered).hexdigest()}" in message


def test_verified_file_is_not_hashed_again_until_it_changes(tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    make_canonical(monkeypatch, write_idx_set(folder, seed=1, gz=False))
    hashed = count_digests(monkeypatch)
    load_dataset("mnist", root=tmp_path)
    assert sorted(path.name for path in hashed) == sorted(images._MNIST_IDX)
    assert len(list((tmp_path / "cache" / "verified").iterdir())) == 4
    load_dataset("mnist", root=tmp_path)
    assert len(hashed) == 4  # remembered by path, size and mtime
    changed = folder / "t10k-labels-idx1-ubyte"
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    load_dataset("mnist", root=tmp_path)
    assert hashed[4:] == [changed]


def test_file_of_another_size_is_read_unchecked(tmp_path, monkeypatch):
    write_idx_set(tmp_path / "mnist", seed=1, gz=True)  # fixtures, not the size of the canonical files
    hashed = count_digests(monkeypatch)
    assert load_dataset("mnist", root=tmp_path).train_images.shape == (7, 1, 5, 5)
    assert hashed == [] and not (tmp_path / "cache" / "verified").exists()


def test_cifar10_batches_checked_by_md5(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in images._CIFAR10_BATCH_FILES:
        payload = py2_pickle({"labels": [1], "data": np.zeros((1, 3072), np.uint8)})
        (folder / name).write_bytes(payload)
        monkeypatch.setitem(images._CIFAR10_BATCH_FILES, name, checksums.Canonical(
            len(payload), hashlib.md5(payload).hexdigest(), "md5", "HOW TO GET CIFAR-10"))
    load_dataset("cifar10", root=tmp_path)
    tampered = (folder / "test_batch").read_bytes().replace(b"labels", b"labelz")  # same size
    (folder / "test_batch").write_bytes(tampered)
    expected = images._CIFAR10_BATCH_FILES["test_batch"].digest
    message = f"{folder / 'test_batch'}: expected md5 {expected}, got {hashlib.md5(tampered).hexdigest()}"
    with pytest.raises(DataChecksumError, match=re.escape(message)):
        load_dataset("cifar10", root=tmp_path)


# --- search paths, errors, settings ----------------------------------------------------------

@pytest.mark.parametrize(("name", "expected_paths"), [
    ("mnist", ["mnist", "MNIST/raw", "."]),
    ("cifar10", ["cifar-10-batches-py", "cifar10-jpeg", "cifar10-jpeg.tar.gz"]),
    ("cifar100", ["cifar-100-python"]),
])
def test_missing_dataset_names_every_path_searched(tmp_path, name, expected_paths):
    with pytest.raises(DataNotFoundError) as caught:
        load_dataset(name, root=tmp_path)
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    for relative in expected_paths:
        assert f"  {tmp_path / relative}  (" in message
    assert "root argument" in message and "download=True" in message


def test_missing_fashion_mnist_lists_debian_location_and_package(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "DEBIAN_FASHION_MNIST", tmp_path / "not-installed")
    monkeypatch.setenv("ANL_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError) as caught:
        load_dataset("fashion_mnist")
    message = str(caught.value)
    for relative in ("fashion_mnist", "fashion-mnist", "FashionMNIST/raw", "not-installed"):
        assert str(tmp_path / relative) in message
    assert "$ANL_DATA" in message and "apt-get install dataset-fashion-mnist" in message


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown data set 'svhn'.*mnist, fashion_mnist, cifar10, cifar100"):
        load_dataset("svhn")
    assert DATASETS == ("mnist", "fashion_mnist", "cifar10", "cifar100")


def test_data_root_and_cache_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ANL_CACHE")
    assert data_root() == tmp_path / "home" / ".cache" / "anl" / "data"
    assert cache_dir() == tmp_path / "home" / ".cache" / "anl"
    monkeypatch.setenv("ANL_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("ANL_CACHE", str(tmp_path / "cache-env"))
    assert data_root() == tmp_path / "env" and cache_dir() == tmp_path / "cache-env"
    assert data_root(tmp_path / "argument") == tmp_path / "argument"
    assert data_root(str(tmp_path / "argument")) == tmp_path / "argument"


def test_root_argument_beats_anl_data_beats_default(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    sets = {place: write_idx_set(tmp_path / place / "mnist", seed=index, gz=True)
            for index, place in enumerate(("home/.cache/anl/data", "env", "argument"))}

    def train_labels(**kwargs):
        return load_dataset("mnist", **kwargs).train_labels.numpy()

    np.testing.assert_array_equal(train_labels(), sets["home/.cache/anl/data"]["train-labels-idx1-ubyte"])
    monkeypatch.setenv("ANL_DATA", str(tmp_path / "env"))
    np.testing.assert_array_equal(train_labels(), sets["env"]["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(train_labels(root=tmp_path / "argument"),
                                  sets["argument"]["train-labels-idx1-ubyte"])


def test_download_uses_torchvision_then_own_reader(tmp_path, monkeypatch):
    calls = []

    def fake_mnist(root, train, download):
        calls.append((root, train, download))
        write_idx_set(Path(root) / "MNIST" / "raw", seed=5, gz=False)

    fake = SimpleNamespace(datasets=SimpleNamespace(MNIST=fake_mnist))
    monkeypatch.setattr(anl._torchvision, "import_torchvision", lambda: fake)
    with pytest.raises(DataNotFoundError):
        load_dataset("mnist", root=tmp_path / "data")
    assert calls == []
    dataset = load_dataset("mnist", root=tmp_path / "data", download=True)
    assert calls == [(str(tmp_path / "data"), True, True)]
    assert dataset.source.startswith(str(tmp_path / "data" / "MNIST" / "raw"))


def test_image_dataset_validates_and_reports_shape():
    images, labels = torch.zeros(2, 3, 4, 5, dtype=torch.uint8), torch.tensor([0, 1])
    dataset = ImageDataset("x", images, labels, images, labels, ("a", "b"), (0.5,) * 3, (0.2,) * 3, "here")
    assert dataset.num_classes == 2 and dataset.image_shape == (3, 4, 5)
    with pytest.raises(ValueError, match="uint8"):
        ImageDataset("x", images.float(), labels, images, labels, ("a", "b"), (0.5,) * 3, (0.2,) * 3, "here")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\)"):
        ImageDataset("x", images, labels, images, labels, ("a",), (0.5,) * 3, (0.2,) * 3, "here")


# --- stratified_subset -----------------------------------------------------------------------

def largest_remainder(counts: list[int], size: int) -> list[int]:
    """Reference: exact quotas size * n_c / N as fractions; floors, then +1 by largest fraction (ties: smaller c)."""
    quotas = [Fraction(size * count, sum(counts)) for count in counts]
    floors = [int(quota) for quota in quotas]
    order = sorted(range(len(counts)), key=lambda c: (-(quotas[c] - floors[c]), c))
    for c in order[: size - sum(floors)]:
        floors[c] += 1
    return floors


def test_stratified_subset_exact_counts():
    shuffle = torch.randperm(20, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0] * 7 + [1] * 7 + [2] * 6)[shuffle]
    indices = stratified_subset(labels, 10)
    assert labels[indices].bincount().tolist() == [4, 3, 3]  # 3.5, 3.5, 3.0: the spare one to class 0
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    assert labels[stratified_subset(labels, 10)].bincount().tolist() == [5, 3, 2]
    rng = np.random.default_rng(0)
    for _ in range(20):
        counts = rng.integers(1, 40, rng.integers(2, 8)).tolist()
        labels = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
        size = int(rng.integers(0, sum(counts) + 1))
        indices = stratified_subset(labels, size, seed=int(rng.integers(100)))
        assert labels[indices].bincount(minlength=len(counts)).tolist() == largest_remainder(counts, size)


def test_stratified_subset_sorted_unique_deterministic():
    labels = torch.randint(0, 5, (300,), generator=torch.Generator().manual_seed(1)) * 3  # labels 0, 3, ..., 12
    first = stratified_subset(labels, 50, seed=7)
    assert first.dtype == torch.int64 and first.tolist() == sorted(set(first.tolist())) and len(first) == 50
    assert torch.equal(first, stratified_subset(labels, 50, seed=7))
    assert not torch.equal(first, stratified_subset(labels, 50, seed=8))
    assert stratified_subset(labels, 300).tolist() == list(range(300))
    assert stratified_subset(labels, 0).tolist() == []


@pytest.mark.parametrize(("labels", "size", "message"), [
    (torch.zeros(5), 2, "integer tensor"),
    (torch.zeros(2, 2, dtype=torch.int64), 2, "1-D"),
    (torch.zeros(5, dtype=torch.int64), 6, r"size must be an integer in \[0, 5\]"),
    (torch.zeros(5, dtype=torch.int64), -1, "size"),
])
def test_stratified_subset_bad_input(labels, size, message):
    with pytest.raises(ValueError, match=message):
        stratified_subset(labels, size)


# --- fixed instance-dependent CIFAR-10 labels -------------------------------------------------

def write_idn_file(root: Path, name: str, payload: str) -> Path:
    path = root / "cifar10-idn" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(payload)
    return path


def test_read_cifar10_idn_labels_round_trip_and_rates(tmp_path):
    labels = np.random.default_rng(2).integers(0, 10, 50_000)
    write_idn_file(tmp_path, "cifar10_dependent_0.6.json", json.dumps(labels.tolist(), separators=(",", ":")))
    write_idn_file(tmp_path, "cifar10_dependent_0.2.json", "[]")
    write_idn_file(tmp_path, "cifar10_dependent_notes.json", "{}")  # not a rate: ignored
    read = read_cifar10_idn_labels(0.6, root=tmp_path)
    assert read.dtype == np.int64
    np.testing.assert_array_equal(read, labels)
    assert cifar10_idn_rates(tmp_path) == (0.2, 0.6)
    assert cifar10_idn_rates(tmp_path / "nowhere") == ()


def test_read_cifar10_idn_labels_missing_rate_is_one_line(tmp_path, monkeypatch):
    write_idn_file(tmp_path, "cifar10_dependent_0.4.json", "[]")
    monkeypatch.setenv("ANL_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError) as caught:
        read_cifar10_idn_labels(0.3)
    message = str(caught.value)
    assert "\n" not in message
    assert f"rate 0.3 not found: {tmp_path / 'cifar10-idn' / 'cifar10_dependent_0.3.json'}" in message
    assert "rates with a file there: 0.4" in message and "cswjl/joint-asymmetric-loss" in message


@pytest.mark.parametrize("payload, problem", [
    ("[1, 2", "not a JSON file"),
    ("[1, 2, 3]", r"expected a JSON list of 50000 labels in \[0, 10\), got shape \(3,\) of int64"),
    (json.dumps([10] * 50_000, separators=(",", ":")), "labels in \\[0, 10\\)"),
    (json.dumps([0.5] * 50_000, separators=(",", ":")), "of float64"),
])
def test_read_cifar10_idn_labels_rejects_malformed_files(tmp_path, payload, problem):
    path = write_idn_file(tmp_path, "cifar10_dependent_0.4.json", payload)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + problem):
        read_cifar10_idn_labels(0.4, root=tmp_path)


def test_read_cifar10_idn_labels_checks_the_published_files(tmp_path, monkeypatch):
    monkeypatch.setenv("ANL_CACHE", str(tmp_path / "cache"))
    labels = [3] * 50_000  # json.dumps writes "3, " per label: the published files' 150,000 bytes
    path = write_idn_file(tmp_path, "cifar10_dependent_0.4.json", json.dumps(labels))
    assert path.stat().st_size == label_files._CIFAR10_IDN_LABELS[0.4].size
    with pytest.raises(DataChecksumError, match=f"checksum mismatch for {re.escape(str(path))}: expected sha256 "
                                                f"{label_files._CIFAR10_IDN_LABELS[0.4].digest}"):
        read_cifar10_idn_labels(0.4, root=tmp_path)
    other = write_idn_file(tmp_path, "cifar10_dependent_0.5.json", json.dumps(labels))  # no published file: unchecked
    assert read_cifar10_idn_labels(0.5, root=tmp_path).tolist() == labels and other.is_file()


# --- the real data sets ----------------------------------------------------------------------

def sha256_of(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.contiguous().numpy().tobytes()).hexdigest()


REAL = {  # name: (train shape, train counts per class, test count per class or None, sha256 images, labels)
    "mnist": ((60000, 1, 28, 28), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949], None,
              "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
              "e474323ac02fc156161b0bbb1f8c9cfeb327a74bcd9f9680a8385269a24f566c"),
    "fashion_mnist": ((60000, 1, 28, 28), [6000] * 10, 1000,
                      "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
                      "e3245b63f7c40d1c8b652835f19744d970c1613b40ddac6bcfc87b9c46e16a0b"),
    # decoded by Pillow's libjpeg-turbo: a different JPEG decoder may change some pixels by one level
    "cifar10": ((50000, 3, 32, 32), [5000] * 10, 1000,
                "f12bc101717acd0df836682c335adf2f0f589f6a84917c61c9d2512d7b4bae09",
                "a2084e87c76d1d22ef5ac30a81addb49027565cdc65f0e1b451ae5969d56117e"),
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", list(REAL))
def test_real_dataset_shapes_counts_checksums(real_dataset, name):
    train_shape, train_counts, test_per_class, images_sha, labels_sha = REAL[name]
    dataset = real_dataset(name)
    assert tuple(dataset.train_images.shape) == train_shape
    assert tuple(dataset.test_images.shape) == (10000, *train_shape[1:])
    assert dataset.train_labels.bincount().tolist() == train_counts
    if test_per_class is not None:
        assert dataset.test_labels.bincount().tolist() == [test_per_class] * 10
    assert sha256_of(dataset.train_labels) == labels_sha
    assert sha256_of(dataset.train_images) == images_sha


@pytest.mark.realdata
def test_real_fashion_mnist_mean_std_constants(real_dataset):
    dataset = real_dataset("fashion_mnist")
    pixels = dataset.train_images.double() / 255
    assert dataset.mean[0] == pytest.approx(pixels.mean().item(), abs=5e-5)
    assert dataset.std[0] == pytest.approx(pixels.std(unbiased=False).item(), abs=5e-5)


@pytest.mark.realdata
def test_real_cifar10_jpeg_copy_is_labelled_and_rgb(real_dataset):
    dataset = real_dataset("cifar10")
    if "cifar-10-batches-py" not in dataset.source:
        assert "JPEG q75 copy" in dataset.source
    channel_means = (dataset.train_images.double() / 255).mean(dim=(0, 2, 3))
    # red, green, blue in that order: close to the official per-channel means
    assert channel_means.tolist() == pytest.approx(dataset.mean, abs=2e-3)


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_real_repeat_load_neither_hashes_nor_decodes(real_dataset, monkeypatch, name):
    """A repeat load does no slow work: checksums are remembered, decoded JPEGs come from the cache."""
    first = real_dataset(name)  # skips when missing; verifies and caches

    def refuse(*args):
        raise AssertionError("a repeat load hashed or decoded again")

    monkeypatch.setattr(checksums, "_digest", refuse)
    monkeypatch.setattr(images, "_decode_jpeg", refuse)
    again = load_dataset(name)
    assert torch.equal(again.train_images, first.train_images) and torch.equal(again.test_labels, first.test_labels)


def real_file(relative: str) -> Path:
    """``relative`` under the data root; where it is missing, skip (fail under CI) as real_dataset does."""
    path = data_root() / relative
    if not path.is_file():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"real data missing: {path}")
    return path


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_real_idx_files_pass_their_checksums(real_dataset, tmp_path, monkeypatch, name):
    real_dataset(name)  # skips when missing
    monkeypatch.setenv("ANL_CACHE", str(tmp_path / "cache"))
    hashed = count_digests(monkeypatch)
    load_dataset(name)
    assert len(hashed) == 4


@pytest.mark.realdata
@pytest.mark.parametrize(("relative", "verify"), [
    ("cifar10-jpeg.tar.gz", lambda path: checksums.verify(path, images._CIFAR10_JPEG_ARCHIVE)),
    ("isic2017-256x192.tar.gz", lambda path: checksums.verify(path, isic._ISIC_COPY_ARCHIVE)),
    ("cifar-n/CIFAR-10_human.pt", verify_cifar10n_labels),
    *[(f"cifar10-idn/cifar10_dependent_{rate:g}.json",
       lambda path, rate=rate: read_cifar10_idn_labels(rate, root=path.parent.parent)) for rate in (0.2, 0.4, 0.6)],
])
def test_real_single_files_pass_their_checksums(tmp_path, monkeypatch, relative, verify):
    path = real_file(relative)
    monkeypatch.setenv("ANL_CACHE", str(tmp_path / "cache"))
    hashed = count_digests(monkeypatch)
    verify(path)
    assert hashed == [path]


@pytest.mark.realdata
def test_tampered_copy_of_real_archive_raises_mismatch(tmp_path, monkeypatch):
    source = real_file("cifar10-jpeg.tar.gz")
    monkeypatch.setenv("ANL_CACHE", str(tmp_path / "cache"))
    payload = source.read_bytes()
    payload = flip_byte(payload, len(payload) // 2)
    target = tmp_path / "fake-root" / source.name
    target.parent.mkdir()
    target.write_bytes(payload)
    with pytest.raises(DataChecksumError) as caught:
        load_dataset("cifar10", root=tmp_path / "fake-root")
    message = str(caught.value)
    assert f"checksum mismatch for {target}: expected sha256 {images._CIFAR10_JPEG_ARCHIVE.digest}" in message
    assert f"got {hashlib.sha256(payload).hexdigest()}" in message and "shared data" in message


@pytest.mark.realdata
def test_tampered_copy_of_real_mnist_labels_raises_mismatch(tmp_path, monkeypatch):
    monkeypatch.setenv("ANL_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "fake-root" / "mnist"
    folder.mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        shutil.copy(real_file(f"mnist/{stem}.gz"), folder)
    payload = flip_byte(gzip.decompress(real_file("mnist/train-labels-idx1-ubyte.gz").read_bytes()), 8)
    target = folder / "train-labels-idx1-ubyte"  # uncompressed: its bytes are the ones checked
    target.write_bytes(payload)
    with pytest.raises(DataChecksumError) as caught:
        load_dataset("mnist", root=tmp_path / "fake-root")
    message = str(caught.value)
    expected = images._MNIST_IDX["train-labels-idx1-ubyte"].digest
    assert f"checksum mismatch for {target}: expected sha256 {expected}, got {hashlib.sha256(payload).hexdigest()}" \
        in message and "download=True" in message
