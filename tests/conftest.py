"""Shared test settings: deterministic threads, the real data sets (skip locally, fail in CI), a
writer of .tar.gz archives for the fake data layouts, and a tiny fake MNIST in IDX files."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def real_dataset():
    """Return a loader of the real data sets; a missing one skips locally and fails under CI=true."""
    from anl.data import load_dataset

    loaded = {}

    def get(name: str):
        if name not in loaded:
            loaded[name] = _real_or_skip(load_dataset, name)
        return loaded[name]

    return get


@pytest.fixture(scope="session")
def isic():
    """The real ISIC 2017 set at 256x192; missing data skips locally and fails under CI=true."""
    from anl.data import load_segmentation

    return _real_or_skip(load_segmentation)


def _real_or_skip(load: Callable, *args):
    """load(*args), or skip the test (fail it under CI=true) when the data are not there."""
    from anl.data import DataNotFoundError

    try:
        return load(*args)
    except DataNotFoundError as error:
        if os.environ.get("CI"):
            pytest.fail(f"real data missing in CI: {error}")
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def write_tar_gz() -> Callable[[Path, list[tuple[str, bytes]]], None]:
    """A function writing (name, payload) members, in the order given, into a .tar.gz at a path."""
    def write(path: Path, members: list[tuple[str, bytes]]) -> None:
        with tarfile.open(path, "w:gz") as archive:
            for name, payload in members:
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))

    return write


@pytest.fixture
def fake_mnist(tmp_path) -> Path:
    """A data root holding a tiny MNIST in the IDX format: 200 training and 40 test images of
    random pixels, labels 0..9 in turn (for the GPU script's dry runs on CPU)."""
    import numpy as np

    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for stem, count in (("train", 200), ("t10k", 40)):
        for kind, array in (("images-idx3", rng.integers(0, 256, (count, 28, 28))),
                            ("labels-idx1", np.arange(count) % 10)):
            header = bytes([0, 0, 8, array.ndim]) + b"".join(int(size).to_bytes(4, "big") for size in array.shape)
            (folder / f"{stem}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))
    return folder.parent
