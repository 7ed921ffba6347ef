"""Shared test settings: deterministic threads, and the real data sets (skip locally, fail in CI)."""

from __future__ import annotations

import os

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def real_dataset():
    """Return a loader of the real data sets; a missing one skips locally and fails under CI=true."""
    from anl.data import DataNotFoundError, load_dataset

    loaded = {}

    def get(name: str):
        if name not in loaded:
            try:
                loaded[name] = load_dataset(name)
            except DataNotFoundError as error:
                if os.environ.get("CI"):
                    pytest.fail(f"real data missing in CI: {error}")
                pytest.skip(str(error))
        return loaded[name]

    return get
