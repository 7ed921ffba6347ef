"""Shared test settings: deterministic threads, the real data sets (skip locally, fail in CI), and a
writer of .tar.gz archives for the fake data layouts."""

from __future__ import annotations

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
