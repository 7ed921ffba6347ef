"""The public surface of ``anl``: every name ``__all__`` lists resolves to its module's object, and
``import anl`` alone stays cheap (names are imported on first use)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import anl


def test_every_public_name_resolves_to_its_module_object():
    namespace: dict = {}
    exec("from anl import *", namespace)
    assert set(anl.__all__) <= set(namespace)
    assert namespace["build"] is anl.losses.build and namespace["apply_noise"] is anl.noise.apply_noise
    assert namespace["load_dataset"] is anl.data.load_dataset and namespace["Objective"] is anl.losses.Objective
    assert len(anl.__all__) == len(set(anl.__all__))
    assert anl.__version__.count(".") == 2


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'anl' has no attribute 'bulid'"):
        anl.bulid  # noqa: B018


def test_import_anl_does_not_import_torch():
    code = "import sys, anl; assert 'torch' not in sys.modules; anl.build; assert 'torch' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
